/* A VM's event thread, its log lines and its error text.
 *
 * The event thread delivers events to the caller's callback one at a
 * time, in the order they were posted, with no lock held (so the callback
 * may call the API), and carries out what a vCPU cannot do itself: when
 * the guest asks for poweroff or reboot, the vCPU that saw it parks and
 * wakes this thread, which takes the control lock, stops or resets the
 * VM (vm_handle_guest) and posts the events. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vmm_int.h"

void vm_log(struct vm *v, enum vm_log_level level, const char *fmt, ...)
{
    if (!v->cfg.log || level > v->cfg.log_level)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    v->cfg.log(v->cfg.log_opaque, level, v->name, buf);
}

int vm_fail(struct vm *v, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&v->err_lock);
    vsnprintf(v->err, sizeof(v->err), fmt, ap);
    pthread_mutex_unlock(&v->err_lock);
    va_end(ap);
    return rc;
}

const char *vm_last_error(struct vm *v, char *buf, size_t len)
{
    if (!len)
        return buf;
    pthread_mutex_lock(&v->err_lock);
    snprintf(buf, len, "%s", v->err);
    pthread_mutex_unlock(&v->err_lock);
    return buf;
}

void vm_post(struct vm *v, enum vm_event_kind kind, int code)
{
    struct vm_event_node *n = malloc(sizeof(*n));
    if (!n) {
        /* The state is still right (vm_state); only the notice is lost. */
        vm_log(v, VM_LOG_ERROR, "out of memory: event %d lost", (int)kind);
        return;
    }
    n->ev = (struct vm_event){
        .kind = kind, .state = (enum vm_state)atomic_load(&v->state), .code = code,
    };
    n->next = NULL;
    pthread_mutex_lock(&v->ev_lock);
    if (v->ev_tail)
        v->ev_tail->next = n;
    else
        v->ev_head = n;
    v->ev_tail = n;
    pthread_cond_signal(&v->ev_cond);
    pthread_mutex_unlock(&v->ev_lock);
}

void vm_events_guest(struct vm *v)
{
    pthread_mutex_lock(&v->ev_lock);
    v->ev_guest = true;
    pthread_cond_signal(&v->ev_cond);
    pthread_mutex_unlock(&v->ev_lock);
}

static void *ev_main(void *arg)
{
    struct vm *v = arg;
    pthread_mutex_lock(&v->ev_lock);
    for (;;) {
        if (v->ev_destroy)
            break;
        if (v->ev_guest) {
            v->ev_guest = false;
            pthread_mutex_unlock(&v->ev_lock);
            vm_handle_guest(v);
            pthread_mutex_lock(&v->ev_lock);
            continue;
        }
        struct vm_event_node *n = v->ev_head;
        if (n) {
            v->ev_head = n->next;
            if (!v->ev_head)
                v->ev_tail = NULL;
            pthread_mutex_unlock(&v->ev_lock);
            if (v->cfg.on_event)
                v->cfg.on_event(v->cfg.event_opaque, v, &n->ev);
            free(n);
            pthread_mutex_lock(&v->ev_lock);
            continue;
        }
        if (v->ev_quit)
            break;
        pthread_cond_wait(&v->ev_cond, &v->ev_lock);
    }
    bool destroy = v->ev_destroy;
    pthread_mutex_unlock(&v->ev_lock);
    if (destroy) {
        /* vm_destroy was called from the callback: nobody will join us. */
        pthread_detach(pthread_self());
        v->ev_started = false;
        vm_teardown(v);
    }
    return NULL;
}

int vm_events_start(struct vm *v)
{
    int rc = pthread_create(&v->ev_thread, NULL, ev_main, v);
    if (rc)
        return -rc;
    v->ev_started = true;
    return 0;
}

void vm_events_stop(struct vm *v)
{
    if (!v->ev_started)
        return;
    pthread_mutex_lock(&v->ev_lock);
    v->ev_quit = true;
    pthread_cond_signal(&v->ev_cond);
    pthread_mutex_unlock(&v->ev_lock);
    pthread_join(v->ev_thread, NULL);
    v->ev_started = false;
}
