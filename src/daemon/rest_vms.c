/* daemon: the REST route table and the handlers of /host and /vms
 * (daemon_int.h; the contract is docs/daemon-api.yaml).  One handler per
 * resource; each validates its body completely before changing anything. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "util/util.h"

void rest_console(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp);
void rest_events(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp);
void rest_metrics(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp);

static void fail(struct rest_reply *rp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct rest_reply *rp, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rp->err, sizeof(rp->err), fmt, ap);
    va_end(ap);
    rp->status = status;
}

static bool live(enum dvm_state s)
{
    return s == DVM_STARTING || s == DVM_RUNNING || s == DVM_PAUSED || s == DVM_STOPPING;
}

json_t *rest_vm_summary(const struct dvm *vm)
{
    bool up = vm->pid && live(vm->state);
    int64_t uptime = up ? (int64_t)time(NULL) - vm->started : 0;
    /* ip: the last the monitor or another GET /vm heard (daemon_int.h):
     * listing never asks the VMs. */
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:I,s:o,s:o,s:o}",
                          "name", vm->name, "uuid", vm->def.uuid ? vm->def.uuid : "",
                          "state", dvm_state_name(vm->state),
                          "vcpus", (int)vm->def.vcpus, "memory", (json_int_t)vm->def.memory,
                          "uptime", up ? json_integer(uptime < 0 ? 0 : uptime) : json_null(),
                          "pid", vm->pid ? json_integer(vm->pid) : json_null(),
                          "ip", up && vm->ip[0] ? json_string(vm->ip) : json_null());
    if (o && vm->error[0] && (vm->state == DVM_BROKEN || vm->state == DVM_CRASHED ||
                              vm->state == DVM_STARTING))
        json_object_set_new(o, "error", json_string(vm->error));
    return o;
}

/* The full VM object.  Takes d->lock itself; the instruction count comes
 * from the VM's own socket with the lock dropped. */
static json_t *vm_detail(struct vesseld *d, const char *name, char *err, size_t elen)
{
    char sock[4200];
    pthread_mutex_lock(&d->lock);
    struct dvm *vm = store_find(d, name);
    if (!vm) {
        pthread_mutex_unlock(&d->lock);
        snprintf(err, elen, "no VM named '%s'", name);
        return NULL;
    }
    json_t *o = rest_vm_summary(vm);
    json_t *config = NULL;
    if (vm->state != DVM_BROKEN) {
        char *text = NULL, e[256];
        if (!vmdef_to_json(&vm->def, &text, e, sizeof(e)))
            config = json_loads(text, 0, NULL);
        free(text);
    }
    bool ask = vm->state == DVM_RUNNING || vm->state == DVM_PAUSED;
    pid_t pid = vm->pid;
    sv_path(vm, "run/api.sock", sock, sizeof(sock));
    if (o) {
        json_object_set_new(o, "config", config ? config : json_null());
        json_object_set_new(o, "restarts", json_integer(vm->restarts));
        /* What the VM process says when it answers; else what it is started
         * with. */
        json_object_set_new(o, "sandbox", json_boolean(!d->no_sandbox));
        json_object_set_new(o, "jail_uid", vm->jail_uid ? json_integer(vm->jail_uid) :
                                                          json_null());
    } else {
        json_decref(config);
    }
    pthread_mutex_unlock(&d->lock);
    json_t *instr = json_null();
    if (ask) {
        int status = 0;
        json_t *r = NULL;
        char e[256];
        if (!vmapi_call(sock, "GET", "/vm", NULL, 2000, &status, &r, e, sizeof(e)) &&
            status == 200 && json_is_integer(json_object_get(r, "instructions")))
            instr = json_integer(json_integer_value(json_object_get(r, "instructions")));
        if (o && status == 200 && json_is_string(json_object_get(r, "sandbox")))
            json_object_set_new(o, "sandbox",
                                json_boolean(!strcmp(json_string_value(json_object_get(r,
                                             "sandbox")), "on")));
        if (status == 200) {
            /* The freshest address: this answer's, kept for GET /vms too. */
            vmapi_learn(d, name, pid, r);
            pthread_mutex_lock(&d->lock);
            struct dvm *now = store_find(d, name);
            if (o && now && now->pid == pid)
                json_object_set_new(o, "ip", now->ip[0] ? json_string(now->ip) : json_null());
            pthread_mutex_unlock(&d->lock);
        }
        json_decref(r);
    }
    if (o)
        json_object_set_new(o, "instructions", instr);
    else
        json_decref(instr);
    if (!o)
        snprintf(err, elen, "out of memory");
    return o;
}

static void reply_vm(struct vesseld *d, const char *name, int status, struct rest_reply *rp)
{
    rp->json = vm_detail(d, name, rp->err, sizeof(rp->err));
    rp->status = rp->json ? status : 404;
}

static void h_host(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp)
{
    (void)rq;
    unsigned total = 0, running = 0;
    pthread_mutex_lock(&d->lock);
    for (struct dvm *vm = d->vms; vm; vm = vm->next) {
        total++;
        running += vm->state == DVM_RUNNING || vm->state == DVM_PAUSED;
    }
    pthread_mutex_unlock(&d->lock);
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    rp->json = json_pack("{s:i,s:s,s:i,s:I,s:s,s:{s:i,s:i}}", "api_version", 1,
                         "version", VESSEL_VERSION, "cores",
                         (int)sysconf(_SC_NPROCESSORS_ONLN), "memory",
                         (json_int_t)pages * psize, "store", d->store, "vms", "total",
                         (int)total, "running", (int)running);
    rp->status = 200;
}

static void h_list(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp)
{
    (void)rq;
    json_t *a = json_array();
    pthread_mutex_lock(&d->lock);
    for (struct dvm *vm = d->vms; vm && a; vm = vm->next)
        json_array_append_new(a, rest_vm_summary(vm));
    pthread_mutex_unlock(&d->lock);
    rp->json = a ? json_pack("{s:o}", "vms", a) : NULL;
    rp->status = 200;
}

static void h_create(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp)
{
    struct dvm *vm;
    if (!rq->body)
        return fail(rp, 400, "a body is required: a vm.json document (docs/vm-json.md)");
    int rc = store_create(d, rq->body, &vm, rp->err, sizeof(rp->err));
    if (rc) {   /* rp->err holds the message */
        rp->status = rc == -EEXIST || rc == -EBUSY ? 409 :
                     rc == -EINVAL || rc == -ENOTSUP || rc == -EACCES ? 400 : 500;
        return;
    }
    events_emit(d->events, vm->name, "created", "%s", "");
    reply_vm(d, vm->name, 201, rp);
}

static void h_get(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp)
{
    reply_vm(d, rq->name, 200, rp);
}

/* PATCH: the fields a running VM may change any time, and those that
 * need it stopped.  The patched document is validated as a whole by
 * vmdef_parse before anything is written. */
static void h_patch(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp)
{
    static const char *const any_time[] = { "autostart", "restart" };
    static const char *const stopped[] = { "vcpus", "memory", "balloon" };
    if (!rq->body || !json_object_size(rq->body))
        return fail(rp, 400, "a body is required: an object with any of vcpus, memory, "
                    "balloon, autostart, restart");
    pthread_mutex_lock(&d->lock);
    struct dvm *vm = store_find(d, rq->name);
    char *text = NULL;
    json_t *doc = NULL;
    struct vmdef nd = { 0 };
    if (!vm) {
        fail(rp, 404, "no VM named '%s'", rq->name);
        goto out;
    }
    if (vm->state == DVM_BROKEN) {
        fail(rp, 409, "VM '%s' is broken (%s); fix its vm.json by hand", vm->name, vm->error);
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(rq->body, k, v) {
        bool ok = false;
        for (size_t i = 0; i < ARRAY_SIZE(any_time); i++)
            ok |= !strcmp(k, any_time[i]);
        for (size_t i = 0; i < ARRAY_SIZE(stopped); i++) {
            if (strcmp(k, stopped[i]))
                continue;
            ok = true;
            if (vm->state != DVM_STOPPED && vm->state != DVM_CRASHED) {
                fail(rp, 409, "%s: can change only while the VM is stopped; '%s' is %s", k,
                     vm->name, dvm_state_name(vm->state));
                goto out;
            }
        }
        if (!ok) {
            fail(rp, 400, "%s: unknown or not changeable; expected any of vcpus, memory, "
                 "balloon, autostart, restart", k);
            goto out;
        }
    }
    char e[256];
    if (vmdef_to_json(&vm->def, &text, e, sizeof(e)) || !(doc = json_loads(text, 0, NULL))) {
        fail(rp, 500, "%s", e);
        goto out;
    }
    json_object_foreach(rq->body, k, v)
        json_object_set(doc, k, v);
    free(text);
    if (!(text = json_dumps(doc, JSON_COMPACT))) {
        fail(rp, 500, "out of memory");
        goto out;
    }
    if (vmdef_parse("request body", text, strlen(text), &nd, rp->err, sizeof(rp->err))) {
        rp->status = 400;
        goto out;
    }
    if (vmdef_save(vm->dir, &nd, rp->err, sizeof(rp->err))) {
        rp->status = 500;
        goto out;
    }
    vmdef_free(&vm->def);
    vm->def = nd;
    memset(&nd, 0, sizeof(nd));
    events_emit(d->events, vm->name, "updated", "%s", "");
    rp->status = 200;
out:
    pthread_mutex_unlock(&d->lock);
    vmdef_free(&nd);
    json_decref(doc);
    free(text);
    if (rp->status == 200)
        reply_vm(d, rq->name, 200, rp);
}

static void h_delete(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp)
{
    pthread_mutex_lock(&d->lock);
    struct dvm *vm = store_find(d, rq->name);
    if (!vm) {
        fail(rp, 404, "no VM named '%s'", rq->name);
    } else if ((vm->state != DVM_STOPPED && vm->state != DVM_CRASHED &&
                vm->state != DVM_BROKEN) || vm->busy || vm->pid) {
        fail(rp, 409, "VM '%s' is %s; stop it first (delete takes stopped, crashed or "
             "broken VMs)", vm->name, dvm_state_name(vm->state));
    } else if (store_delete(d, vm, rq->keep_disks, rp->err, sizeof(rp->err))) {
        rp->status = 500;
    } else {
        events_emit(d->events, rq->name, "deleted", "%s", rq->keep_disks ?
                    "disks kept in orphans/" : "");
        rp->status = 204;
    }
    pthread_mutex_unlock(&d->lock);
}

static void h_state(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp)
{
    json_t *b = rq->body;
    const char *k;
    json_t *v;
    if (!b)
        return fail(rp, 400, "a body {\"action\": \"start\"|\"stop\"|\"kill\"|\"pause\"|"
                    "\"resume\"|\"reset\"} is required");
    json_object_foreach(b, k, v)
        if (strcmp(k, "action") && strcmp(k, "timeout"))
            return fail(rp, 400, "%s: unknown field; expected action, timeout", k);
    const char *action = json_string_value(json_object_get(b, "action"));
    if (!action)
        return fail(rp, 400, "action: missing or not a string; expected start, stop, kill, "
                    "pause, resume or reset");
    int timeout = 60;
    if ((v = json_object_get(b, "timeout"))) {
        if (strcmp(action, "stop"))
            return fail(rp, 400, "timeout: only with action stop");
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 3600)
            return fail(rp, 400, "timeout: expected seconds, an integer from 0 to 3600");
        timeout = (int)json_integer_value(v);
    }
    int st = sv_action(d, rq->name, action, timeout, rp->err, sizeof(rp->err));
    if (st != 200) {
        rp->status = st;    /* rp->err holds the message */
        return;
    }
    reply_vm(d, rq->name, 200, rp);
}

/* GET and PATCH /vms/{name}/balloon: the VM's own /balloon (docs/api.md
 * "Balloon"), passed through with its status; the body of a PATCH is
 * checked by the VM, which names the field at fault. */
static void h_balloon(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp)
{
    bool patch = !strcmp(rq->method, "PATCH");
    char *body = NULL;
    if (patch) {
        if (!rq->body)
            return fail(rp, 400, "a body {\"amount_mib\": N} is required");
        if (!(body = json_dumps(rq->body, JSON_COMPACT)))
            return fail(rp, 500, "out of memory");
    }
    int status;
    json_t *r;
    int rc = sv_vm_request(d, rq->name, rq->method, "/balloon", body, &status, &r, rp->err,
                           sizeof(rp->err));
    free(body);
    if (rc) {
        rp->status = rc;
        return;
    }
    const char *m = json_string_value(json_object_get(r, "error"));
    if (status >= 200 && status <= 299) {
        rp->status = status;
        rp->json = status == 204 ? NULL : r;
        if (status != 204)
            return;
    } else {
        fail(rp, status, "VM '%s': %s", rq->name, m ? m : "(no message)");
    }
    json_decref(r);
}

/* Each route with the least role that may call it (docs/daemon.md,
 * "Access control"): reading is viewer, the life cycle operator, changing
 * what exists admin.  The console is a GET for a viewer too: its input is
 * dropped below operator (rest_stream.c). */
const struct rest_route rest_routes[] = {
    { ACCESS_VIEWER, "GET", "/host", h_host, false },
    { ACCESS_VIEWER, "GET", "/vms", h_list, false },
    { ACCESS_ADMIN, "POST", "/vms", h_create, true },
    { ACCESS_VIEWER, "GET", "/vms/{name}", h_get, false },
    { ACCESS_ADMIN, "PATCH", "/vms/{name}", h_patch, true },
    { ACCESS_ADMIN, "DELETE", "/vms/{name}", h_delete, false },
    { ACCESS_OPERATOR, "PUT", "/vms/{name}/state", h_state, true },
    { ACCESS_VIEWER, "GET", "/vms/{name}/console", rest_console, false },
    { ACCESS_VIEWER, "GET", "/vms/{name}/balloon", h_balloon, false },
    { ACCESS_OPERATOR, "PATCH", "/vms/{name}/balloon", h_balloon, true },
    { ACCESS_VIEWER, "GET", "/events", rest_events, false },
    { ACCESS_VIEWER, "GET", "/metrics", rest_metrics, false },
};
const size_t rest_nroutes = ARRAY_SIZE(rest_routes);
