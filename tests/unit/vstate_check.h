/* Test helpers for the device model of the virtio devices (util/device.h):
 * save into a buffer, restore from one, check a round trip is
 * byte-identical, and check that hostile sections (a field out of range,
 * a truncation, a wrong tag or version) are refused with the device left
 * unchanged.  Header-only, for test programs that include cmocka.h first.
 *
 * Offsets of the transport's fields in a saved section (src/virtio/
 * device.c, docs/virtio.md "Saved state"), after the 16-byte section
 * header. */
#ifndef VESSEL_TEST_VSTATE_CHECK_H
#define VESSEL_TEST_VSTATE_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/device.h"
#include "util/sstate.h"

#define VS_ID       16u     /* u32 device ID */
#define VS_STATUS   20u     /* u8 */
#define VS_DRVF     21u     /* u64 DriverFeatures */
#define VS_SEL      29u     /* 4 x u32 selectors */
#define VS_ISR      45u     /* u32 */
#define VS_GEN      49u     /* u32 ConfigGeneration */
#define VS_NQ       53u     /* u32 queue count */
#define VS_QSIZE    37u     /* bytes per queue */
#define VS_Q(i)     (57u + VS_QSIZE * (i))
#define VS_Q_NUM    0u      /* u32 */
#define VS_Q_DESC   4u      /* u64 */
#define VS_Q_AVAIL  12u     /* u64 */
#define VS_Q_USED   20u     /* u64 */
#define VS_Q_FLAGS  28u     /* u8: ready 1, event idx 2, indirect 4, broken 8 */
#define VS_Q_LAST   29u     /* u32 last_avail */
#define VS_Q_UIDX   33u     /* u32 used_idx */
#define VS_DEV(nq)  VS_Q(nq) /* the device's own fields */

static inline uint64_t vs_get(const uint8_t *b, size_t off, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)b[off + i] << (8 * i);
    return v;
}

static inline void vs_put(uint8_t *b, size_t off, unsigned size, uint64_t v)
{
    for (unsigned i = 0; i < size; i++)
        b[off + i] = (uint8_t)(v >> (8 * i));
}

/* Save dv (quiesced) into w, which this initialises. */
static void vs_save(struct device dv, struct sstate_writer *w)
{
    sstate_writer_init(w);
    assert_int_equal(dv.ops->save(dv.opaque, w), 0);
    assert_true(w->len >= SSTATE_HDR_LEN);
}

static int vs_restore(struct device dv, const void *buf, size_t len)
{
    struct sstate_reader r;
    sstate_reader_init(&r, buf, len);
    return dv.ops->restore(dv.opaque, &r);
}

static void vs_assert_same(const struct sstate_writer *a, const struct sstate_writer *b)
{
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->buf, b->buf, a->len);
}

/* Restore `good` into dst (quiesced) and check dst saves the same bytes. */
static void vs_restore_identical(struct device dst, const struct sstate_writer *good)
{
    assert_int_equal(vs_restore(dst, good->buf, good->len), 0);
    struct sstate_writer again;
    vs_save(dst, &again);
    vs_assert_same(good, &again);
    sstate_writer_free(&again);
}

/* Restoring buf[0, len) into dst must fail and change nothing dst saves. */
static void vs_refused(struct device dst, const void *buf, size_t len)
{
    struct sstate_writer before, after;
    vs_save(dst, &before);
    int rc = vs_restore(dst, buf, len);
    if (rc == 0)
        fail_msg("hostile section of %zu bytes accepted", len);
    vs_save(dst, &after);
    vs_assert_same(&before, &after);
    sstate_writer_free(&before);
    sstate_writer_free(&after);
}

/* `good` with the `size`-byte field at `off` set to `val` must be refused. */
static void vs_refused_patch(struct device dst, const struct sstate_writer *good, size_t off,
                             unsigned size, uint64_t val)
{
    assert_true(off + size <= good->len);
    uint8_t *b = malloc(good->len);
    assert_non_null(b);
    memcpy(b, good->buf, good->len);
    vs_put(b, off, size, val);
    struct sstate_writer before, after;
    vs_save(dst, &before);
    if (vs_restore(dst, b, good->len) == 0)
        fail_msg("field at offset %zu (%u bytes) = %#llx accepted", off, size,
                 (unsigned long long)val);
    vs_save(dst, &after);
    vs_assert_same(&before, &after);
    sstate_writer_free(&before);
    sstate_writer_free(&after);
    free(b);
}

/* Truncations and framing: every shorter buffer (header length left as
 * is), every shorter payload (length patched), one byte too many, a
 * newer version, version 0, another tag. */
static void vs_refused_framing(struct device dst, const struct sstate_writer *good)
{
    size_t len = good->len;
    uint8_t *b = malloc(len + 1);
    assert_non_null(b);
    for (size_t cut = 0; cut < len; cut++)
        vs_refused(dst, good->buf, cut);
    for (size_t cut = SSTATE_HDR_LEN; cut < len; cut++) {
        memcpy(b, good->buf, cut);
        vs_put(b, 12, 4, cut - SSTATE_HDR_LEN);
        vs_refused(dst, b, cut);
    }
    memcpy(b, good->buf, len);
    b[len] = 0;
    vs_put(b, 12, 4, len + 1 - SSTATE_HDR_LEN);
    vs_refused(dst, b, len + 1);
    vs_refused_patch(dst, good, 8, 4, vs_get(good->buf, 8, 4) + 1);
    vs_refused_patch(dst, good, 8, 4, 0);
    vs_refused_patch(dst, good, 0, 1, good->buf[0] ^ 0x20);
    free(b);
}

/* The transport's fields out of range, on a section whose status has
 * FEATURES_OK and whose queue 0 is ready with size `qsize` (QueueNumMax
 * `qmax`), in RAM [ram, ram + ram_size). */
static void vs_refused_transport(struct device dst, const struct sstate_writer *good,
                                 unsigned qsize, unsigned qmax, uint64_t ram, uint64_t ram_size)
{
    const uint8_t *g = good->buf;
    uint32_t nq = (uint32_t)vs_get(g, VS_NQ, 4);
    uint8_t st = g[VS_STATUS];
    uint64_t drvf = vs_get(g, VS_DRVF, 8);
    assert_true(st & 8);            /* FEATURES_OK */
    assert_true(g[VS_Q(0) + VS_Q_FLAGS] & 1);   /* queue 0 ready */

    vs_refused_patch(dst, good, VS_ID, 4, vs_get(g, VS_ID, 4) + 1);
    vs_refused_patch(dst, good, VS_STATUS, 1, st | 0x10);      /* reserved */
    vs_refused_patch(dst, good, VS_STATUS, 1, st | 0x20);
    vs_refused_patch(dst, good, VS_STATUS, 1, 1 | 2 | 4);      /* DRIVER_OK, no FEATURES_OK */
    vs_refused_patch(dst, good, VS_DRVF, 8, drvf | (1ULL << 60));   /* not offered */
    vs_refused_patch(dst, good, VS_DRVF, 8, drvf & ~(1ULL << 32));  /* no VERSION_1 */
    vs_refused_patch(dst, good, VS_ISR, 4, 4);
    vs_refused_patch(dst, good, VS_ISR, 4, 0x80000001u);
    vs_refused_patch(dst, good, VS_NQ, 4, nq + 1);
    vs_refused_patch(dst, good, VS_NQ, 4, nq - 1);
    vs_refused_patch(dst, good, VS_NQ, 4, 0xffffffffu);

    size_t q = VS_Q(0);
    uint64_t desc = vs_get(g, q + VS_Q_DESC, 8);
    uint64_t avail = vs_get(g, q + VS_Q_AVAIL, 8);
    uint64_t used = vs_get(g, q + VS_Q_USED, 8);
    uint32_t uidx = (uint32_t)vs_get(g, q + VS_Q_UIDX, 4);
    vs_refused_patch(dst, good, q + VS_Q_NUM, 4, 0);
    vs_refused_patch(dst, good, q + VS_Q_NUM, 4, qsize + 1);      /* not a power of two */
    vs_refused_patch(dst, good, q + VS_Q_NUM, 4, qmax * 2);       /* over QueueNumMax */
    vs_refused_patch(dst, good, q + VS_Q_NUM, 4, 0x80000000u);
    vs_refused_patch(dst, good, q + VS_Q_DESC, 8, desc + 8);      /* 2.7: 16-byte aligned */
    vs_refused_patch(dst, good, q + VS_Q_AVAIL, 8, avail + 1);    /* 2-byte */
    vs_refused_patch(dst, good, q + VS_Q_USED, 8, used + 2);      /* 4-byte */
    vs_refused_patch(dst, good, q + VS_Q_DESC, 8, 0);             /* not RAM */
    vs_refused_patch(dst, good, q + VS_Q_DESC, 8, ram + ram_size - 16);  /* runs past RAM */
    vs_refused_patch(dst, good, q + VS_Q_AVAIL, 8, ram + ram_size - 2);
    vs_refused_patch(dst, good, q + VS_Q_USED, 8, ram + ram_size - 4);
    vs_refused_patch(dst, good, q + VS_Q_USED, 8, 0xfffffffffffffffcULL);  /* wraps */
    vs_refused_patch(dst, good, q + VS_Q_AVAIL, 8, 0x10000000ULL);  /* MMIO, not RAM */
    vs_refused_patch(dst, good, q + VS_Q_FLAGS, 1, g[q + VS_Q_FLAGS] | 0x10);
    vs_refused_patch(dst, good, q + VS_Q_LAST, 4, 0x10000);
    vs_refused_patch(dst, good, q + VS_Q_UIDX, 4, 0x10000);
    /* More chains outstanding than the ring holds. */
    vs_refused_patch(dst, good, q + VS_Q_LAST, 4, (uidx + qsize + 1) & 0xffff);
    vs_refused_patch(dst, good, q + VS_Q_LAST, 4, (uidx - 1) & 0xffff);
}

#endif
