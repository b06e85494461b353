/* RISC-V PLIC (Platform-Level Interrupt Controller Specification 1.0.0).
 *
 * Register map (spec ch. "Memory Map"):
 *   0x000000 + 4*s       Interrupt Source Priority s (source 0 reserved)
 *   0x001000 + 4*w       Interrupt Pending Bits, sources 32w..32w+31 (RO)
 *   0x002000 + 0x80*c    Interrupt Enable Bits of context c
 *   0x200000 + 0x1000*c  Priority Threshold of context c
 *   0x200004 + 0x1000*c  Interrupt Claim (read) / Completion (write)
 * Context 2h = hart h M-mode (MEIP), 2h+1 = hart h S-mode (SEIP).
 *
 * Gateways (spec ch. "Interrupt Gateways"): level-triggered.  While a
 * source's line is high and it is not in service, it is pending; a claim
 * moves it from pending to in-service (the gateway closes); completion
 * reopens the gateway and, if the line is still high, it is pending again.
 * A line dropping before the claim withdraws the request.
 *
 * Target notification (ch. "Interrupt Notifications"): a context's EIP is
 * high when some pending source enabled for it has priority > threshold. */
#include "hw/hw.h"

#include <pthread.h>
#include <stdlib.h>

#define PLIC_PRIORITY   0x000000
#define PLIC_PENDING    0x001000
#define PLIC_ENABLE     0x002000
#define PLIC_ENABLE_STRIDE 0x80
#define PLIC_CONTEXT    0x200000
#define PLIC_CONTEXT_STRIDE 0x1000
#define PLIC_THRESHOLD  0x0
#define PLIC_CLAIM      0x4

#define PLIC_WORDS ((PLIC_NSOURCES + 31) / 32)

struct plic_ctx {
    uint32_t enable[PLIC_WORDS];
    uint32_t threshold;
    bool eip;                   /* output level last driven */
};

struct plic {
    pthread_mutex_t lock;
    struct hw_irq_sink sink;
    unsigned nctx;
    uint32_t priority[PLIC_NSOURCES];
    uint32_t level[PLIC_WORDS];     /* input line levels */
    uint32_t pending[PLIC_WORDS];
    uint32_t active[PLIC_WORDS];    /* claimed, not completed (gateway shut) */
    struct plic_ctx *ctx;           /* [nctx] */
};

static bool bit_get(const uint32_t *w, unsigned s)
{
    return w[s / 32] >> (s % 32) & 1;
}

static void bit_set(uint32_t *w, unsigned s, bool v)
{
    if (v)
        w[s / 32] |= 1u << (s % 32);
    else
        w[s / 32] &= ~(1u << (s % 32));
}

struct plic *plic_new(unsigned nharts, const struct hw_irq_sink *sink)
{
    if (!nharts || nharts > PLIC_MAX_HARTS)
        return NULL;
    struct plic *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->nctx = 2 * nharts;
    p->ctx = calloc(p->nctx, sizeof(*p->ctx));
    if (!p->ctx) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    if (sink)
        p->sink = *sink;
    return p;
}

void plic_free(struct plic *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->ctx);
    free(p);
}

/* Highest-priority pending source enabled for context c above its
 * threshold; ties go to the lowest id (spec: "Interrupt Priorities").
 * 0 when none. */
static unsigned best_source(const struct plic *p, unsigned c)
{
    const struct plic_ctx *x = &p->ctx[c];
    unsigned best = 0;
    uint32_t best_prio = x->threshold;
    for (unsigned w = 0; w < PLIC_WORDS; w++) {
        uint32_t cand = p->pending[w] & x->enable[w];
        while (cand) {
            unsigned s = w * 32 + (unsigned)__builtin_ctz(cand);
            cand &= cand - 1;
            if (p->priority[s] > best_prio) {
                best_prio = p->priority[s];
                best = s;
            }
        }
    }
    return best;
}

/* Recompute every context's output and drive changes (lock held). */
static void update(struct plic *p)
{
    for (unsigned c = 0; c < p->nctx; c++) {
        bool eip = best_source(p, c) != 0;
        if (eip != p->ctx[c].eip) {
            p->ctx[c].eip = eip;
            if (p->sink.set_irq)
                p->sink.set_irq(p->sink.opaque, c / 2,
                                c & 1 ? HW_IRQ_SEI : HW_IRQ_MEI, eip);
        }
    }
}

void plic_set_source(void *opaque, unsigned src, bool level)
{
    struct plic *p = opaque;
    if (src == 0 || src >= PLIC_NSOURCES)
        return;
    pthread_mutex_lock(&p->lock);
    bit_set(p->level, src, level);
    if (!bit_get(p->active, src))
        bit_set(p->pending, src, level);
    update(p);
    pthread_mutex_unlock(&p->lock);
}

static uint32_t claim(struct plic *p, unsigned c)
{
    unsigned s = best_source(p, c);
    if (s) {
        bit_set(p->pending, s, false);
        bit_set(p->active, s, true);
        update(p);
    }
    return s;
}

static void complete(struct plic *p, unsigned c, uint32_t s)
{
    /* Spec: a completion for a source not enabled for the context, or not
     * in service, is silently ignored. */
    if (s == 0 || s >= PLIC_NSOURCES || !bit_get(p->ctx[c].enable, s) ||
        !bit_get(p->active, s))
        return;
    bit_set(p->active, s, false);
    if (bit_get(p->level, s))
        bit_set(p->pending, s, true);
    update(p);
}

static uint64_t plic_read(void *opaque, uint64_t off, unsigned size)
{
    struct plic *p = opaque;
    uint32_t v = 0;
    if (size != 4 || (off & 3))
        return 0;
    pthread_mutex_lock(&p->lock);
    if (off < PLIC_PENDING) {
        uint64_t s = off / 4;
        if (s < PLIC_NSOURCES)
            v = p->priority[s];
    } else if (off < PLIC_ENABLE) {
        uint64_t w = (off - PLIC_PENDING) / 4;
        if (w < PLIC_WORDS)
            v = p->pending[w];
    } else if (off < PLIC_CONTEXT) {
        uint64_t c = (off - PLIC_ENABLE) / PLIC_ENABLE_STRIDE;
        uint64_t w = (off - PLIC_ENABLE) % PLIC_ENABLE_STRIDE / 4;
        if (c < p->nctx && w < PLIC_WORDS)
            v = p->ctx[c].enable[w];
    } else {
        uint64_t c = (off - PLIC_CONTEXT) / PLIC_CONTEXT_STRIDE;
        uint64_t r = (off - PLIC_CONTEXT) % PLIC_CONTEXT_STRIDE;
        if (c < p->nctx && r == PLIC_THRESHOLD)
            v = p->ctx[c].threshold;
        else if (c < p->nctx && r == PLIC_CLAIM)
            v = claim(p, (unsigned)c);
    }
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void plic_write(void *opaque, uint64_t off, uint64_t val64, unsigned size)
{
    struct plic *p = opaque;
    uint32_t val = (uint32_t)val64;
    if (size != 4 || (off & 3))
        return;
    pthread_mutex_lock(&p->lock);
    if (off < PLIC_PENDING) {
        uint64_t s = off / 4;
        if (s > 0 && s < PLIC_NSOURCES) {
            p->priority[s] = MIN(val, (uint32_t)PLIC_MAX_PRIO);
            update(p);
        }
    } else if (off < PLIC_ENABLE) {
        /* pending bits are read-only */
    } else if (off < PLIC_CONTEXT) {
        uint64_t c = (off - PLIC_ENABLE) / PLIC_ENABLE_STRIDE;
        uint64_t w = (off - PLIC_ENABLE) % PLIC_ENABLE_STRIDE / 4;
        if (c < p->nctx && w < PLIC_WORDS) {
            if (w == 0)
                val &= ~1u;     /* source 0 does not exist */
            if (w == PLIC_WORDS - 1 && PLIC_NSOURCES % 32)
                val &= (1u << (PLIC_NSOURCES % 32)) - 1;
            p->ctx[c].enable[w] = val;
            update(p);
        }
    } else {
        uint64_t c = (off - PLIC_CONTEXT) / PLIC_CONTEXT_STRIDE;
        uint64_t r = (off - PLIC_CONTEXT) % PLIC_CONTEXT_STRIDE;
        if (c < p->nctx && r == PLIC_THRESHOLD) {
            p->ctx[c].threshold = MIN(val, (uint32_t)PLIC_MAX_PRIO);
            update(p);
        } else if (c < p->nctx && r == PLIC_CLAIM) {
            complete(p, (unsigned)c, val);
        }
    }
    pthread_mutex_unlock(&p->lock);
}

const struct mmio_ops plic_mmio_ops = { .read = plic_read, .write = plic_write };
