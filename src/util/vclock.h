/* vclock: a VM's virtual time base (design rule 6).
 *
 * Guest time (mtime, the `time` CSR) is the host's monotonic clock scaled
 * to the timebase frequency plus a per-VM offset, so pausing, snapshots and
 * migration can keep guest time continuous by adjusting the offset. */
#ifndef VESSEL_VCLOCK_H
#define VESSEL_VCLOCK_H

#include <stdint.h>

#include "util/util.h"

#define VCLOCK_DEFAULT_HZ 10000000ULL   /* 10 MHz, as the virt board uses */

struct vclock {
    uint64_t freq_hz;      /* ticks per second */
    int64_t offset_ticks;  /* added to the scaled host time */
};

/* Initialise so that the current time reads 0 ticks. */
static inline void vclock_init(struct vclock *c, uint64_t freq_hz)
{
    c->freq_hz = freq_hz;
    c->offset_ticks = 0;
    uint64_t ns = host_time_ns();
    c->offset_ticks = -(int64_t)((__uint128_t)ns * freq_hz / 1000000000ULL);
}

/* Current guest time in ticks. */
static inline uint64_t vclock_now(const struct vclock *c)
{
    uint64_t ns = host_time_ns();
    /* offset_ticks may be moved by another thread (a guest write to the
     * CLINT's mtime, pause/resume): read it atomically. */
    int64_t off = __atomic_load_n(&c->offset_ticks, __ATOMIC_RELAXED);
    return (uint64_t)((__uint128_t)ns * c->freq_hz / 1000000000ULL) + (uint64_t)off;
}

/* Host nanoseconds from now until guest time reaches `ticks` (0 if past). */
static inline uint64_t vclock_ns_until(const struct vclock *c, uint64_t ticks)
{
    uint64_t now = vclock_now(c);
    if (ticks <= now)
        return 0;
    __uint128_t ns = (__uint128_t)(ticks - now) * 1000000000ULL / c->freq_hz;
    return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

#endif
