/* daemon: the /events stream (daemon_int.h): a bounded queue of JSON
 * lines, each with a sequence number; every reader keeps its own cursor,
 * so readers never hold the writer up, and one that falls more than
 * EVENTS_KEEP behind skips what was dropped. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon_int.h"

#define EVENTS_KEEP 256

struct events {
    pthread_mutex_t lock;
    pthread_cond_t more;
    char *lines[EVENTS_KEEP];   /* line of seq s at s % EVENTS_KEEP */
    uint64_t next;              /* the next sequence number */
    bool down;
};

int events_new(struct events **out)
{
    struct events *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    pthread_mutex_init(&ev->lock, NULL);
    pthread_cond_init(&ev->more, NULL);
    *out = ev;
    return 0;
}

void events_free(struct events *ev)
{
    if (!ev)
        return;
    for (size_t i = 0; i < EVENTS_KEEP; i++)
        free(ev->lines[i]);
    pthread_mutex_destroy(&ev->lock);
    pthread_cond_destroy(&ev->more);
    free(ev);
}

void events_emit(struct events *ev, const char *vm, const char *event, const char *fmt, ...)
{
    char detail[512], when[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "time", when, "vm", vm, "event", event,
                          "detail", detail);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    char *line = text ? malloc(strlen(text) + 2) : NULL;
    if (line)
        sprintf(line, "%s\n", text);
    free(text);
    if (!line)
        return;     /* out of memory: the event is lost, the daemon goes on */
    pthread_mutex_lock(&ev->lock);
    free(ev->lines[ev->next % EVENTS_KEEP]);
    ev->lines[ev->next % EVENTS_KEEP] = line;
    ev->next++;
    pthread_cond_broadcast(&ev->more);
    pthread_mutex_unlock(&ev->lock);
}

uint64_t events_cursor(struct events *ev)
{
    pthread_mutex_lock(&ev->lock);
    uint64_t c = ev->next;
    pthread_mutex_unlock(&ev->lock);
    return c;
}

/* Has the peer on fd hung up? */
static bool hung_up(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLRDHUP };
    return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

size_t events_next(struct events *ev, uint64_t *cursor, char *buf, size_t len, int fd)
{
    size_t n = 0;
    bool gone = false;
    pthread_mutex_lock(&ev->lock);
    while (!ev->down && *cursor >= ev->next) {
        /* Wake each second to see whether the reader went away: its
         * thread and connection are freed then, not at the next event. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        if (pthread_cond_timedwait(&ev->more, &ev->lock, &ts) == ETIMEDOUT &&
            (gone = hung_up(fd)))
            break;
    }
    if (!ev->down && !gone) {
        if (ev->next - *cursor > EVENTS_KEEP)
            *cursor = ev->next - EVENTS_KEEP;
        const char *line = ev->lines[*cursor % EVENTS_KEEP];
        n = strlen(line);
        if (n > len)
            n = len;    /* lines are bounded (detail 512 bytes); buf holds one */
        memcpy(buf, line, n);
        (*cursor)++;
    }
    pthread_mutex_unlock(&ev->lock);
    return n;
}

void events_shutdown(struct events *ev)
{
    pthread_mutex_lock(&ev->lock);
    ev->down = true;
    pthread_cond_broadcast(&ev->more);
    pthread_mutex_unlock(&ev->lock);
}
