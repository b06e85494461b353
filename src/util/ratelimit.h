/* ratelimit: a token bucket for log lines a guest can trigger.
 *
 * A misbehaving guest must not be able to flood the host's stderr
 * (conventions, rule 8): every warning caused by guest action goes through
 * one limiter per VM, which lives as long as the VM (across device and
 * guest resets) and is shared by all its devices.  It allows a burst of
 * `burst` lines, then refills at `per_sec` lines a second; lines refused
 * are counted and the count is printed with the next line allowed (and by
 * whoever owns the limiter when the VM ends).
 *
 * Thread-safe: any thread may take tokens (vCPU threads, block workers,
 * network threads).  No global state: the owner embeds the struct. */
#ifndef VESSEL_RATELIMIT_H
#define VESSEL_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* The defaults for guest-triggered warnings: 10 at once, then 2 a second. */
#define RATELIMIT_GUEST_BURST   10
#define RATELIMIT_GUEST_PER_SEC 2

struct ratelimit {
    pthread_mutex_t lock;
    uint64_t cost_ns;           /* refill time of one token */
    uint64_t cap_ns;            /* bucket size: burst * cost_ns */
    uint64_t level_ns;          /* tokens available, in refill time */
    uint64_t last_ns;           /* host time of the last refill */
    uint64_t suppressed;        /* refused since the last line allowed */
    uint64_t suppressed_total;  /* refused since init */
};

/* Initialise a full bucket: `burst` lines (>= 1) at once, then `per_sec`
 * a second (0: never refills).  Uses the host's monotonic clock. */
void ratelimit_init(struct ratelimit *rl, unsigned burst, unsigned per_sec);
void ratelimit_destroy(struct ratelimit *rl);

/* Take one token at host time `now_ns` (host_time_ns(); passed in so that
 * tests can drive the clock).  Returns true when the caller may log a
 * line; then *suppressed (if non-NULL) receives the number of lines
 * refused since the previous allowed one, which the caller should report.
 * Returns false, and counts the line as suppressed, when the bucket is
 * empty. */
bool ratelimit_take(struct ratelimit *rl, uint64_t now_ns, uint64_t *suppressed);

/* Count `n` lines as suppressed without taking a token (e.g. they could
 * not be written); they are reported with the next line allowed. */
void ratelimit_suppress(struct ratelimit *rl, uint64_t n);

/* Lines suppressed since the last allowed one, not yet reported; the
 * count restarts at 0.  For the owner's summary when the VM ends. */
uint64_t ratelimit_flush(struct ratelimit *rl);

/* Lines suppressed since ratelimit_init (for tests and statistics). */
uint64_t ratelimit_total_suppressed(struct ratelimit *rl);

/* Print a guest-triggered warning "vessel: warning: <message>" through
 * `rl`, preceded by "vessel: warning: N more guest-triggered warnings were
 * suppressed" when lines were refused since the last one.  The line is
 * dropped (and counted) when the bucket is empty, or when stderr is a
 * terminal or pipe that is not being read: a guest must never make the
 * thread that serves it block on the host's stderr. */
void vlog_guest(struct ratelimit *rl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
