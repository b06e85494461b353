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
 * high when some pending source enabled for it has priority > threshold.
 *
 * Saved state, section "plic" version 1 (bitmaps as PLIC_WORDS u32 words,
 * bit s = source s):
 *   u32 nsources (PLIC_NSOURCES), u32 nctx (2 per hart, must match)
 *   u32 priority[s] for s = 1..nsources-1, each 0..PLIC_MAX_PRIO
 *   level[], pending[], active[] bitmaps
 *   per context: enable[] bitmap, u32 threshold (0..PLIC_MAX_PRIO)
 * A restore refuses bits for source 0 or past the last source, and
 * pending bits that disagree with the gateways: a source is pending
 * exactly when its line is high and it is not in service. */
#include "hw/hw.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hw/dt.h"

#define PLIC_PRIORITY   0x000000
#define PLIC_PENDING    0x001000
#define PLIC_ENABLE     0x002000
#define PLIC_ENABLE_STRIDE 0x80
#define PLIC_CONTEXT    0x200000
#define PLIC_CONTEXT_STRIDE 0x1000
#define PLIC_THRESHOLD  0x0
#define PLIC_CLAIM      0x4

#define PLIC_WORDS ((PLIC_NSOURCES + 31) / 32)
#define PLIC_STATE_VERSION 1

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

/* Recompute every context's output and drive changes, or with `all`
 * every output whatever was driven before (after a reset or restore).
 * Lock held. */
static void update_outputs(struct plic *p, bool all)
{
    for (unsigned c = 0; c < p->nctx; c++) {
        bool eip = best_source(p, c) != 0;
        if (all || eip != p->ctx[c].eip) {
            p->ctx[c].eip = eip;
            if (p->sink.set_irq)
                p->sink.set_irq(p->sink.opaque, c / 2,
                                c & 1 ? HW_IRQ_SEI : HW_IRQ_MEI, eip);
        }
    }
}

static void update(struct plic *p)
{
    update_outputs(p, false);
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

/* ------------------------------------------------------ device interface */

/* Bits of a source bitmap word that name real sources (not source 0, not
 * past the last one). */
static uint32_t word_valid_mask(unsigned w)
{
    uint32_t m = ~0u;
    if (w == 0)
        m &= ~1u;
    if (w == PLIC_WORDS - 1 && PLIC_NSOURCES % 32)
        m &= (1u << (PLIC_NSOURCES % 32)) - 1;
    return m;
}

static void plic_reset(void *opaque)
{
    struct plic *p = opaque;
    pthread_mutex_lock(&p->lock);
    memset(p->priority, 0, sizeof(p->priority));
    memset(p->active, 0, sizeof(p->active));
    /* The input lines keep their levels: the gateways see them again. */
    memcpy(p->pending, p->level, sizeof(p->pending));
    for (unsigned c = 0; c < p->nctx; c++) {
        memset(p->ctx[c].enable, 0, sizeof(p->ctx[c].enable));
        p->ctx[c].threshold = 0;
    }
    update_outputs(p, true);
    pthread_mutex_unlock(&p->lock);
}

static void put_words(struct sstate_writer *w, const uint32_t *v)
{
    for (unsigned i = 0; i < PLIC_WORDS; i++)
        sstate_put_u32(w, v[i]);
}

static int plic_save(const void *opaque, struct sstate_writer *w)
{
    struct plic *p = (struct plic *)opaque;     /* for the lock */
    pthread_mutex_lock(&p->lock);
    sstate_begin(w, "plic", PLIC_STATE_VERSION);
    sstate_put_u32(w, PLIC_NSOURCES);
    sstate_put_u32(w, p->nctx);
    for (unsigned s = 1; s < PLIC_NSOURCES; s++)
        sstate_put_u32(w, p->priority[s]);
    put_words(w, p->level);
    put_words(w, p->pending);
    put_words(w, p->active);
    for (unsigned c = 0; c < p->nctx; c++) {
        put_words(w, p->ctx[c].enable);
        sstate_put_u32(w, p->ctx[c].threshold);
    }
    pthread_mutex_unlock(&p->lock);
    return sstate_end(w);
}

/* Read PLIC_WORDS bitmap words, refusing bits of non-existent sources. */
static void get_words(struct sstate_reader *r, uint32_t *v)
{
    for (unsigned i = 0; i < PLIC_WORDS; i++) {
        v[i] = sstate_get_u32(r);
        if (v[i] & ~word_valid_mask(i))
            sstate_fail(r, -EINVAL);
    }
}

static int plic_restore(void *opaque, struct sstate_reader *r)
{
    struct plic *p = opaque;
    uint32_t version;
    int rc = sstate_open(r, "plic", PLIC_STATE_VERSION, &version);
    if (rc)
        return rc;
    if (sstate_get_u32(r) != PLIC_NSOURCES || sstate_get_u32(r) != p->nctx)
        return sstate_fail(r, -EINVAL);
    uint32_t prio[PLIC_NSOURCES] = { 0 };
    uint32_t level[PLIC_WORDS], pending[PLIC_WORDS], active[PLIC_WORDS];
    struct plic_ctx *ctx = calloc(p->nctx, sizeof(*ctx));
    if (!ctx)
        return sstate_fail(r, -ENOMEM);
    for (unsigned s = 1; s < PLIC_NSOURCES; s++)
        if ((prio[s] = sstate_get_u32(r)) > PLIC_MAX_PRIO)
            sstate_fail(r, -EINVAL);
    get_words(r, level);
    get_words(r, pending);
    get_words(r, active);
    for (unsigned i = 0; i < PLIC_WORDS; i++)
        if (pending[i] != (level[i] & ~active[i]))
            sstate_fail(r, -EINVAL);
    for (unsigned c = 0; c < p->nctx; c++) {
        get_words(r, ctx[c].enable);
        if ((ctx[c].threshold = sstate_get_u32(r)) > PLIC_MAX_PRIO)
            sstate_fail(r, -EINVAL);
    }
    if ((rc = sstate_close(r))) {
        free(ctx);
        return rc;
    }
    pthread_mutex_lock(&p->lock);
    memcpy(p->priority, prio, sizeof(prio));
    memcpy(p->level, level, sizeof(level));
    memcpy(p->pending, pending, sizeof(pending));
    memcpy(p->active, active, sizeof(active));
    memcpy(p->ctx, ctx, p->nctx * sizeof(*ctx));
    update_outputs(p, true);
    pthread_mutex_unlock(&p->lock);
    free(ctx);
    return 0;
}

/* Linux Documentation/devicetree/bindings/interrupt-controller/
 * sifive,plic-1.0.0.yaml; ctx->phandle is what the sources' interrupt-parent
 * names. */
static int plic_fdt_node(void *opaque, const struct device_fdt_ctx *ctx)
{
    static const char compat[] = "sifive,plic-1.0.0\0riscv,plic0";
    void *fdt = ctx->fdt;
    HW_DT_CHK(hw_dt_begin(ctx, "plic"));
    HW_DT_CHK(fdt_property(fdt, "compatible", compat, sizeof(compat)));
    HW_DT_CHK(hw_dt_reg(ctx));
    HW_DT_CHK(fdt_property_u32(fdt, "#address-cells", 0));
    HW_DT_CHK(fdt_property_u32(fdt, "#interrupt-cells", 1));
    HW_DT_CHK(fdt_property(fdt, "interrupt-controller", NULL, 0));
    HW_DT_CHK(fdt_property_u32(fdt, "riscv,ndev", PLIC_NSOURCES - 1));
    HW_DT_CHK(hw_dt_irqs_ext(ctx, HW_IRQ_MEI, HW_IRQ_SEI));
    HW_DT_CHK(fdt_property_u32(fdt, "phandle", ctx->phandle));
    return fdt_end_node(fdt);
}

static void plic_destroy(void *opaque)
{
    plic_free(opaque);
}

const struct device_ops plic_device_ops = {
    .tag = "plic",
    .reset = plic_reset,
    .save = plic_save,
    .restore = plic_restore,
    .fdt_node = plic_fdt_node,
    .destroy = plic_destroy,
};
