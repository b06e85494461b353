/* ratelimit: token bucket for guest-triggered log lines. */
#include "util/ratelimit.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "util/util.h"

#define NS_PER_SEC 1000000000ULL

void ratelimit_init(struct ratelimit *rl, unsigned burst, unsigned per_sec)
{
    pthread_mutex_init(&rl->lock, NULL);
    if (!burst)
        burst = 1;
    /* per_sec 0: a token costs "forever"; the bucket never refills in any
     * realistic run (UINT64_MAX / burst ns is centuries). */
    rl->cost_ns = per_sec ? NS_PER_SEC / per_sec : UINT64_MAX / burst;
    rl->cap_ns = rl->cost_ns * burst;
    rl->level_ns = rl->cap_ns;
    rl->last_ns = host_time_ns();
    rl->suppressed = rl->suppressed_total = 0;
}

void ratelimit_destroy(struct ratelimit *rl)
{
    pthread_mutex_destroy(&rl->lock);
}

bool ratelimit_take(struct ratelimit *rl, uint64_t now_ns, uint64_t *suppressed)
{
    bool ok = false;
    pthread_mutex_lock(&rl->lock);
    if (now_ns > rl->last_ns) {
        uint64_t add = now_ns - rl->last_ns;
        rl->level_ns = add >= rl->cap_ns - rl->level_ns ? rl->cap_ns : rl->level_ns + add;
        rl->last_ns = now_ns;
    }
    if (rl->level_ns >= rl->cost_ns) {
        rl->level_ns -= rl->cost_ns;
        ok = true;
        if (suppressed)
            *suppressed = rl->suppressed;
        rl->suppressed = 0;
    } else {
        rl->suppressed++;
        rl->suppressed_total++;
    }
    pthread_mutex_unlock(&rl->lock);
    return ok;
}

void ratelimit_suppress(struct ratelimit *rl, uint64_t n)
{
    pthread_mutex_lock(&rl->lock);
    rl->suppressed += n;
    rl->suppressed_total += n;
    pthread_mutex_unlock(&rl->lock);
}

uint64_t ratelimit_flush(struct ratelimit *rl)
{
    pthread_mutex_lock(&rl->lock);
    uint64_t n = rl->suppressed;
    rl->suppressed = 0;
    pthread_mutex_unlock(&rl->lock);
    return n;
}

uint64_t ratelimit_total_suppressed(struct ratelimit *rl)
{
    pthread_mutex_lock(&rl->lock);
    uint64_t n = rl->suppressed_total;
    pthread_mutex_unlock(&rl->lock);
    return n;
}

/* stderr can take a short line now without blocking: a regular file
 * always can; a pipe or terminal only while its reader keeps up (POLLOUT
 * on a pipe guarantees PIPE_BUF bytes of room). */
static bool stderr_writable(void)
{
    struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

void vlog_guest(struct ratelimit *rl, const char *fmt, ...)
{
    uint64_t missed = 0;
    if (!ratelimit_take(rl, host_time_ns(), &missed))
        return;
    if (!stderr_writable()) {
        /* This line is lost too; report it and the earlier ones with the
         * next line that gets out. */
        pthread_mutex_lock(&rl->lock);
        rl->suppressed += missed + 1;
        rl->suppressed_total++;
        pthread_mutex_unlock(&rl->lock);
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (missed)
        vlog_warn("%llu more guest-triggered warnings were suppressed (at most %llu "
                  "a second after a burst)", (unsigned long long)missed,
                  (unsigned long long)(NS_PER_SEC / rl->cost_ns));
    vlog_warn("%s", msg);
}
