/* Unit tests of virtio-balloon (src/virtio/balloon.c, Virtio 1.2 section
 * 5.5), driven through its virtio-mmio registers as Linux's
 * virtio_balloon does: the features offered; the config space (num_pages
 * the device's, only `actual` the driver's, any width and offset);
 * inflate drops the pages of RAM frames (zeros read back, no longer
 * resident, marked dirty) and skips and counts every other frame number;
 * deflate counted; free page reports drop the whole pages of writable
 * buffers and keep partial ones; chains in the wrong direction or on a
 * queue not negotiated put the device in DEVICE_NEEDS_RESET; a new target
 * interrupts only when it changed; reset clears `actual`; save/restore
 * round trip byte-identical, hostile sections refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/util.h"
#include "virtio_fake.h"
#include "vstate_check.h"

#define PAGE 4096u
#define RING_INF (FAKE_RAM + 0x20000)
#define RING_DEF (FAKE_RAM + 0x30000)
#define RING_REP (FAKE_RAM + 0x40000)
#define PFNBUF   (FAKE_RAM + 0x100000)     /* frame number arrays */
#define DATA     (FAKE_RAM + 0x200000)     /* pages the tests give away */
#define QSIZE 16u
#define QMAX 128u

/* Feature bits of 5.5.3 this device must not offer. */
#define F_MUST_TELL_HOST 0
#define F_STATS_VQ 1
#define F_FREE_PAGE_HINT 3
#define F_PAGE_POISON 4

#define CFG_NUM_PAGES 0u
#define CFG_ACTUAL 4u

struct side {
    struct fake_driver f;
    struct fk_ring inf, def, rep;
    struct virtio_balloon *b;
    struct device dv;
};

static struct mem *new_ram(void)
{
    struct mem *m = mem_new();
    assert_non_null(m);
    assert_int_equal(mem_add_ram(m, FAKE_RAM, FAKE_RAM_SIZE), 0);
    return m;
}

static void make(struct side *s, struct mem *m, bool reporting)
{
    s->f.mem = m;
    struct hw_line irq = { fake_irq_set, &s->f.irq, 9 };
    s->b = virtio_balloon_new(reporting, &irq, m);
    assert_non_null(s->b);
    s->dv = virtio_balloon_device(s->b);
    s->f.dev = virtio_balloon_transport(s->b);
}

static void side_free(struct side *s)
{
    if (s->dv.ops)
        s->dv.ops->destroy(s->dv.opaque);
    mem_free(s->f.mem);
    memset(s, 0, sizeof(*s));
}

/* A device offering reporting when `offer`, negotiated with
 * DEFLATE_ON_OOM (and PAGE_REPORTING when `take`), its queues set up as
 * Linux numbers them (reporting_vq is queue 2), DRIVER_OK. */
static void setup(struct side *s, bool offer, bool take)
{
    make(s, new_ram(), offer);
    uint64_t feat = VIRTIO_F_COMMON | 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
    if (take)
        feat |= 1ULL << VIRTIO_BALLOON_F_PAGE_REPORTING;
    assert_true(fk_negotiate(&s->f, feat) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&s->f, &s->inf, 0, QSIZE, RING_INF);
    fk_ring_init(&s->f, &s->def, 1, QSIZE, RING_DEF);
    if (take)
        fk_ring_init(&s->f, &s->rep, 2, QSIZE, RING_REP);
    fk_driver_ok(&s->f);
}

static struct virtio_balloon_stats stats(struct side *s)
{
    struct virtio_balloon_stats st;
    virtio_balloon_stats(s->b, &st);
    return st;
}

static uint64_t cfg_rd(struct side *s, uint32_t off, unsigned size)
{
    return virtio_mmio_ops.read(s->f.dev, VIRTIO_MMIO_CONFIG + off, size);
}

static void cfg_wr(struct side *s, uint32_t off, uint64_t v, unsigned size)
{
    virtio_mmio_ops.write(s->f.dev, VIRTIO_MMIO_CONFIG + off, v, size);
}

/* Fill page `gpa` with a pattern named by `seed`; check it. */
static void fill(struct mem *m, uint64_t gpa, unsigned seed)
{
    uint32_t buf[PAGE / 4];
    for (unsigned k = 0; k < PAGE / 4; k++)
        buf[k] = seed * 2654435761u + k + 1;
    assert_int_equal(mem_write(m, gpa, buf, sizeof(buf)), 0);
}

static bool holds(struct mem *m, uint64_t gpa, unsigned seed)
{
    uint32_t buf[PAGE / 4];
    assert_int_equal(mem_read(m, gpa, buf, sizeof(buf)), 0);
    for (unsigned k = 0; k < PAGE / 4; k++)
        if (buf[k] != seed * 2654435761u + k + 1)
            return false;
    return true;
}

static bool zeros(struct mem *m, uint64_t gpa, uint64_t len)
{
    uint8_t buf[PAGE];
    for (uint64_t off = 0; off < len; off += sizeof(buf)) {
        size_t n = (size_t)MIN(len - off, sizeof(buf));
        assert_int_equal(mem_read(m, gpa + off, buf, n), 0);
        for (size_t i = 0; i < n; i++)
            if (buf[i])
                return false;
    }
    return true;
}

/* The dirty bits of all of RAM (peek, not clear). */
static void dirty(struct mem *m, uint64_t bm[FAKE_RAM_SIZE / PAGE / 64])
{
    assert_int_equal(mem_dirty_fetch(m, FAKE_RAM, FAKE_RAM_SIZE, bm, false), 0);
}

static bool is_dirty(const uint64_t *bm, uint64_t gpa)
{
    uint64_t i = (gpa - FAKE_RAM) / PAGE;
    return (bm[i / 64] >> (i % 64)) & 1;
}

static void clear_dirty(struct mem *m)
{
    uint64_t bm[FAKE_RAM_SIZE / PAGE / 64];
    assert_int_equal(mem_dirty_fetch(m, FAKE_RAM, FAKE_RAM_SIZE, bm, true), 0);
}

/* Make one device-readable chain holding `n` bytes of `bytes` (split in
 * two descriptors at `split` when non-zero) available on ring r. */
static void stage_out(struct side *s, struct fk_ring *r, const void *bytes, uint32_t n,
                      uint32_t split)
{
    assert_int_equal(mem_write(s->f.mem, PFNBUF, bytes, n), 0);
    uint64_t g[2] = { PFNBUF, PFNBUF + split };
    uint32_t l[2] = { split ? split : n, n - split };
    fk_ring_add(&s->f, r, g, l, split ? 2 : 1, split ? 2 : 1);
}

static void kick(struct side *s, const struct fk_ring *r)
{
    fk_wr(&s->f, VIRTIO_MMIO_QUEUE_NOTIFY, r->q);
}

static void post_out(struct side *s, struct fk_ring *r, const void *bytes, uint32_t n,
                     uint32_t split)
{
    stage_out(s, r, bytes, n, split);
    kick(s, r);
}

static void pfns(uint32_t *out, const uint64_t *gpa, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        le_put((uint8_t *)&out[i], (uint32_t)(gpa[i] >> 12), 4);
}

/* ---------------------------------------------------------- features */

static uint64_t offered(struct side *s)
{
    fk_wr(&s->f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t lo = fk_rd(&s->f, VIRTIO_MMIO_DEVICE_FEATURES);
    fk_wr(&s->f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    return lo | (uint64_t)fk_rd(&s->f, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static void test_features(void **state)
{
    (void)state;
    for (int rep = 0; rep < 2; rep++) {
        struct side s = { 0 };
        make(&s, new_ram(), rep);
        assert_int_equal(fk_rd(&s.f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
        uint64_t f = offered(&s);
        assert_true(f & 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
        assert_true(f & 1ULL << VIRTIO_F_VERSION_1);
        assert_int_equal(!!(f & 1ULL << VIRTIO_BALLOON_F_PAGE_REPORTING), rep);
        assert_false(f & (1ULL << F_MUST_TELL_HOST | 1ULL << F_STATS_VQ |
                          1ULL << F_FREE_PAGE_HINT | 1ULL << F_PAGE_POISON));
        fk_wr(&s.f, VIRTIO_MMIO_QUEUE_SEL, 0);
        assert_int_equal(fk_rd(&s.f, VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
        /* PAGE_REPORTING only when offered: a driver asking for it on a
         * plain balloon does not reach FEATURES_OK. */
        uint32_t st = fk_negotiate(&s.f, 1ULL << VIRTIO_BALLOON_F_PAGE_REPORTING);
        assert_int_equal(!!(st & VIRTIO_STATUS_FEATURES_OK), rep);
        assert_int_equal(stats(&s).reporting, rep);
        side_free(&s);
    }
    struct side s = { 0 };
    setup(&s, true, true);
    assert_true(stats(&s).reporting);
    side_free(&s);
    setup(&s, true, false);                     /* offered, not taken */
    assert_false(stats(&s).reporting);
    side_free(&s);
}

/* ---------------------------------------------------------- config space */

static void test_config_space(void **state)
{
    (void)state;
    struct side s = { 0 };
    setup(&s, false, false);
    assert_int_equal(cfg_rd(&s, 0, 8), 0);
    virtio_balloon_set_target(s.b, 0x04030201);
    assert_int_equal(cfg_rd(&s, CFG_NUM_PAGES, 4), 0x04030201);
    assert_int_equal(cfg_rd(&s, CFG_ACTUAL, 4), 0);
    /* The driver writes actual (Linux: virtio_cwrite_le, 4 bytes). */
    cfg_wr(&s, CFG_ACTUAL, 0x0a0b0c0d, 4);
    assert_int_equal(cfg_rd(&s, 0, 8), 0x0a0b0c0d04030201ULL);
    /* Partial and odd-offset reads. */
    assert_int_equal(cfg_rd(&s, 1, 1), 0x02);
    assert_int_equal(cfg_rd(&s, 3, 2), 0x0d04);
    assert_int_equal(cfg_rd(&s, 6, 2), 0x0a0b);
    assert_int_equal(cfg_rd(&s, 2, 4), 0x0c0d0403);
    assert_int_equal(cfg_rd(&s, 7, 1), 0x0a);
    /* num_pages is the device's: writes to it are dropped, also when they
     * straddle into actual, whose bytes are taken. */
    cfg_wr(&s, CFG_NUM_PAGES, 0xffffffff, 4);
    cfg_wr(&s, 1, 0xee, 1);
    cfg_wr(&s, 2, 0x55667788, 4);          /* bytes 2..5: actual's low two */
    assert_int_equal(cfg_rd(&s, CFG_NUM_PAGES, 4), 0x04030201);
    assert_int_equal(cfg_rd(&s, CFG_ACTUAL, 4), 0x0a0b5566);
    cfg_wr(&s, 7, 0x99, 1);
    assert_int_equal(cfg_rd(&s, CFG_ACTUAL, 4), 0x990b5566);
    cfg_wr(&s, 0, 0x1122334455667788ULL, 8);
    assert_int_equal(cfg_rd(&s, 0, 8), 0x1122334404030201ULL);
    assert_int_equal(stats(&s).actual_pages, 0x11223344);
    assert_int_equal(stats(&s).target_pages, 0x04030201);
    /* Past the 8 bytes: reads 0, writes ignored; odd sizes likewise. */
    assert_int_equal(cfg_rd(&s, 8, 1), 0);
    assert_int_equal(cfg_rd(&s, 6, 4), 0);
    assert_int_equal(cfg_rd(&s, 4, 3), 0);
    cfg_wr(&s, 6, 0, 4);
    cfg_wr(&s, 4, 0, 3);
    cfg_wr(&s, 8, 0, 1);
    assert_int_equal(cfg_rd(&s, CFG_ACTUAL, 4), 0x11223344);
    side_free(&s);
}

/* ---------------------------------------------------------- inflate */

static void test_inflate_drops_pages(void **state)
{
    (void)state;
    struct side s = { 0 };
    setup(&s, false, false);
    struct mem *m = s.f.mem;
    for (unsigned i = 0; i < 8; i++)
        fill(m, DATA + i * PAGE, i);
    uint64_t give[3] = { DATA + 1 * PAGE, DATA + 2 * PAGE, DATA + 6 * PAGE };
    uint32_t arr[3];
    pfns(arr, give, 3);
    /* A frame number split across the two descriptors (6 + 6 bytes). */
    stage_out(&s, &s.inf, arr, sizeof(arr), 6);
    clear_dirty(m);
    uint64_t before = mem_ram_resident(m);
    kick(&s, &s.inf);
    assert_int_equal(fk_ring_used_idx(&s.f, &s.inf), 1);
    uint32_t id, len;
    fk_ring_used_elem(&s.f, &s.inf, 0, &id, &len);
    assert_int_equal(len, 0);
    assert_false(fk_needs_reset(&s.f));
    struct virtio_balloon_stats st = stats(&s);
    assert_int_equal(st.inflated_pages, 3);
    assert_int_equal(st.bad_pfns, 0);
    /* Gone from the host (mincore), and the pages read as zeros. */
    assert_true(mem_ram_resident(m) + 3 * PAGE <= before);
    uint64_t bm[FAKE_RAM_SIZE / PAGE / 64];
    dirty(m, bm);
    for (unsigned i = 0; i < 8; i++) {
        bool given = i == 1 || i == 2 || i == 6;
        assert_int_equal(given ? zeros(m, DATA + i * PAGE, PAGE) : holds(m, DATA + i * PAGE, i),
                         true);
        /* Their contents changed, so a diff snapshot must record them. */
        assert_int_equal(is_dirty(bm, DATA + i * PAGE), given);
    }
    assert_false(is_dirty(bm, PFNBUF));     /* the array was only read */
    /* A page given back is usable again (deflate needs no host action). */
    fill(m, DATA + PAGE, 42);
    assert_true(holds(m, DATA + PAGE, 42));
    side_free(&s);
}

static void test_inflate_bad_pfns(void **state)
{
    (void)state;
    struct side s = { 0 };
    setup(&s, false, false);
    struct mem *m = s.f.mem;
    fill(m, FAKE_RAM + FAKE_RAM_SIZE - PAGE, 7);        /* last page of RAM */
    fill(m, DATA, 3);
    uint64_t give[6] = {
        0x1000,                                  /* below RAM */
        FAKE_RAM - PAGE,                         /* just below */
        FAKE_RAM + FAKE_RAM_SIZE,                /* just past the end */
        0xffffffffULL << 12,                     /* the largest frame number */
        0x10000000ULL,                           /* a device window */
        DATA,                                    /* the one good frame */
    };
    uint8_t arr[6 * 4 + 3];
    pfns((uint32_t *)arr, give, 6);
    memcpy(arr + 24, "\x01\x02\x08", 3);         /* a trailing partial word */
    stage_out(&s, &s.inf, arr, sizeof(arr), 0);
    clear_dirty(m);
    kick(&s, &s.inf);
    assert_int_equal(fk_ring_used_idx(&s.f, &s.inf), 1);
    assert_false(fk_needs_reset(&s.f));
    struct virtio_balloon_stats st = stats(&s);
    assert_int_equal(st.inflated_pages, 1);
    assert_int_equal(st.bad_pfns, 6);            /* five frames and the partial word */
    assert_true(zeros(m, DATA, PAGE));
    assert_true(holds(m, FAKE_RAM + FAKE_RAM_SIZE - PAGE, 7));
    /* Nothing but the good page (and the used ring) was written. */
    uint64_t bm[FAKE_RAM_SIZE / PAGE / 64];
    dirty(m, bm);
    for (uint64_t a = FAKE_RAM; a < FAKE_RAM + FAKE_RAM_SIZE; a += PAGE)
        assert_int_equal(is_dirty(bm, a), a == DATA || a == s.inf.used);
    /* A one-byte array is a partial word only. */
    post_out(&s, &s.inf, "\x05", 1, 0);
    assert_int_equal(stats(&s).bad_pfns, 7);
    assert_int_equal(stats(&s).inflated_pages, 1);
    side_free(&s);
}

static void test_deflate(void **state)
{
    (void)state;
    struct side s = { 0 };
    setup(&s, false, false);
    fill(s.f.mem, DATA, 1);
    uint64_t back[3] = { DATA, DATA + PAGE, 0x1000 };
    uint32_t arr[3];
    pfns(arr, back, 3);
    post_out(&s, &s.def, arr, sizeof(arr), 0);
    assert_int_equal(fk_ring_used_idx(&s.f, &s.def), 1);
    struct virtio_balloon_stats st = stats(&s);
    assert_int_equal(st.deflated_pages, 3);
    assert_int_equal(st.inflated_pages, 0);
    assert_true(holds(s.f.mem, DATA, 1));        /* deflate touches nothing */
    post_out(&s, &s.def, arr, 6, 0);             /* one and a half */
    assert_int_equal(stats(&s).deflated_pages, 4);
    assert_int_equal(stats(&s).bad_pfns, 1);
    side_free(&s);
}

/* ---------------------------------------------------------- reporting */

static void post_report(struct side *s, const uint64_t *gpa, const uint32_t *len, unsigned n)
{
    fk_ring_add(&s->f, &s->rep, gpa, len, n, 0);
    fk_wr(&s->f, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
}

static void test_report(void **state)
{
    (void)state;
    struct side s = { 0 };
    setup(&s, true, true);
    struct mem *m = s.f.mem;
    for (unsigned i = 0; i < 12; i++)
        fill(m, DATA + i * PAGE, i);
    clear_dirty(m);
    uint64_t before = mem_ram_resident(m);
    /* Pages 0..3 whole (what Linux reports: aligned runs), then a buffer
     * from 100 bytes into page 5 to 100 bytes into page 8: only pages 6
     * and 7 are whole. */
    uint64_t g[2] = { DATA, DATA + 5 * PAGE + 100 };
    uint32_t l[2] = { 4 * PAGE, 3 * PAGE };
    post_report(&s, g, l, 2);
    /* Before any read: a read maps the zero page, which mincore counts. */
    assert_true(mem_ram_resident(m) + 6 * PAGE <= before);
    assert_int_equal(fk_ring_used_idx(&s.f, &s.rep), 1);
    uint32_t id, len;
    fk_ring_used_elem(&s.f, &s.rep, 0, &id, &len);
    assert_int_equal(len, 0);                   /* nothing written */
    assert_false(fk_needs_reset(&s.f));
    struct virtio_balloon_stats st = stats(&s);
    assert_int_equal(st.reports, 1);
    assert_int_equal(st.reported_bytes, 6 * PAGE);
    assert_int_equal(st.bad_pfns, 0);
    assert_true(zeros(m, DATA, 4 * PAGE));
    assert_true(holds(m, DATA + 4 * PAGE, 4));
    assert_true(holds(m, DATA + 5 * PAGE, 5));  /* partial: its bytes kept */
    assert_true(zeros(m, DATA + 6 * PAGE, 2 * PAGE));
    assert_true(holds(m, DATA + 8 * PAGE, 8));  /* partial at the other end */
    assert_true(holds(m, DATA + 9 * PAGE, 9));
    uint64_t bm[FAKE_RAM_SIZE / PAGE / 64];
    dirty(m, bm);
    for (unsigned i = 0; i < 8; i++)
        assert_true(is_dirty(bm, DATA + i * PAGE) || i == 4);
    /* A buffer inside one page drops nothing. */
    uint64_t g1 = DATA + 10 * PAGE + 8;
    uint32_t l1 = PAGE - 16;
    post_report(&s, &g1, &l1, 1);
    st = stats(&s);
    assert_int_equal(st.reports, 2);
    assert_int_equal(st.reported_bytes, 6 * PAGE);
    assert_true(holds(m, DATA + 10 * PAGE, 10));
    side_free(&s);
}

/* ---------------------------------------------------------- hostile */

static void expect_broken(struct side *s, unsigned data_pages)
{
    assert_true(fk_needs_reset(&s->f));
    for (unsigned i = 0; i < data_pages; i++)
        assert_true(holds(s->f.mem, DATA + i * PAGE, i));
}

static void test_hostile_chains(void **state)
{
    (void)state;
    struct side s = { 0 };
    uint64_t g[2] = { DATA, DATA + PAGE };
    uint32_t l[2] = { PAGE, PAGE };

    /* A readable buffer on reporting_vq (before a writable one, or
     * alone): not a report; the device needs a reset. */
    for (unsigned nout = 1; nout <= 2; nout++) {
        setup(&s, true, true);
        fill(s.f.mem, DATA, 0);
        fill(s.f.mem, DATA + PAGE, 1);
        fk_ring_add(&s.f, &s.rep, g, l, 2, nout);
        fk_wr(&s.f, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
        expect_broken(&s, 2);
        assert_int_equal(fk_ring_used_idx(&s.f, &s.rep), 0);
        assert_int_equal(stats(&s).reported_bytes, 0);
        assert_true(s.f.irq.level);             /* config change interrupt */
        side_free(&s);
    }
    /* A writable buffer on inflateq: its frame numbers are not used. */
    setup(&s, false, false);
    fill(s.f.mem, DATA, 0);
    uint32_t pfn = (uint32_t)(DATA >> 12);
    assert_int_equal(mem_write(s.f.mem, PFNBUF, &pfn, 4), 0);
    uint64_t gp[2] = { PFNBUF, PFNBUF + 64 };
    uint32_t lp[2] = { 4, 4 };
    fk_ring_add(&s.f, &s.inf, gp, lp, 2, 1);
    fk_wr(&s.f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    expect_broken(&s, 1);
    assert_int_equal(stats(&s).inflated_pages, 0);
    side_free(&s);
    /* Reports on queue 2 when PAGE_REPORTING was not negotiated. */
    setup(&s, true, false);
    fill(s.f.mem, DATA, 0);
    fk_ring_init(&s.f, &s.rep, 2, QSIZE, RING_REP);
    post_report(&s, g, l, 1);
    expect_broken(&s, 1);
    assert_int_equal(stats(&s).reports, 0);
    side_free(&s);
    /* The walker's checks: a report buffer running out of RAM, a loop on
     * deflateq, a head out of range on inflateq. */
    setup(&s, true, true);
    fill(s.f.mem, FAKE_RAM + FAKE_RAM_SIZE - PAGE, 0);
    uint64_t ge = FAKE_RAM + FAKE_RAM_SIZE - PAGE;
    uint32_t le = 2 * PAGE;
    post_report(&s, &ge, &le, 1);
    assert_true(fk_needs_reset(&s.f));
    assert_true(holds(s.f.mem, FAKE_RAM + FAKE_RAM_SIZE - PAGE, 0));
    side_free(&s);
    setup(&s, false, false);
    fk_desc_at(&s.f, s.def.desc, 0, PFNBUF, 8, VIRTQ_DESC_F_NEXT, 0);
    fk_put16(&s.f, s.def.avail + 4, 0);
    fk_put16(&s.f, s.def.avail + 2, 1);
    fk_wr(&s.f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    assert_true(fk_needs_reset(&s.f));
    side_free(&s);
    setup(&s, false, false);
    fk_put16(&s.f, s.inf.avail + 4, QSIZE + 3);
    fk_put16(&s.f, s.inf.avail + 2, 1);
    fk_wr(&s.f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_true(fk_needs_reset(&s.f));
    /* A driver reset brings it back. */
    fk_wr(&s.f, VIRTIO_MMIO_STATUS, 0);
    assert_true(fk_negotiate(&s.f, 0) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&s.f, &s.inf, 0, QSIZE, RING_INF);
    fk_driver_ok(&s.f);
    assert_false(fk_needs_reset(&s.f));
    fill(s.f.mem, DATA, 0);
    uint32_t one = (uint32_t)(DATA >> 12);
    post_out(&s, &s.inf, &one, 4, 0);
    assert_true(zeros(s.f.mem, DATA, PAGE));
    side_free(&s);
}

/* ---------------------------------------------------------- target, reset */

static void test_set_target(void **state)
{
    (void)state;
    struct side s = { 0 };
    make(&s, new_ram(), false);
    /* Before DRIVER_OK: the value is there to read, no interrupt. */
    virtio_balloon_set_target(s.b, 10);
    assert_int_equal(cfg_rd(&s, CFG_NUM_PAGES, 4), 10);
    assert_int_equal(s.f.irq.raised, 0);
    assert_true(fk_negotiate(&s.f, 0) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&s.f, &s.inf, 0, QSIZE, RING_INF);
    fk_driver_ok(&s.f);
    uint32_t gen = fk_rd(&s.f, VIRTIO_MMIO_CONFIG_GENERATION);
    virtio_balloon_set_target(s.b, 25600);
    assert_int_equal(s.f.irq.raised, 1);
    assert_int_equal(fk_rd(&s.f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
    assert_int_not_equal(fk_rd(&s.f, VIRTIO_MMIO_CONFIG_GENERATION), gen);
    assert_int_equal(cfg_rd(&s, CFG_NUM_PAGES, 4), 25600);
    fk_ack(&s.f);
    assert_false(s.f.irq.level);
    /* The same value again: nothing to tell the driver. */
    gen = fk_rd(&s.f, VIRTIO_MMIO_CONFIG_GENERATION);
    virtio_balloon_set_target(s.b, 25600);
    assert_int_equal(s.f.irq.raised, 1);
    assert_int_equal(fk_rd(&s.f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_int_equal(fk_rd(&s.f, VIRTIO_MMIO_CONFIG_GENERATION), gen);
    virtio_balloon_set_target(s.b, 0);
    assert_int_equal(s.f.irq.raised, 2);
    assert_int_equal(stats(&s).target_pages, 0);
    side_free(&s);
}

static void test_reset(void **state)
{
    (void)state;
    struct side s = { 0 };
    setup(&s, true, true);
    virtio_balloon_set_target(s.b, 500);
    cfg_wr(&s, CFG_ACTUAL, 400, 4);
    /* A driver reset: a new driver starts with an empty balloon; the
     * host's target stays. */
    fk_wr(&s.f, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(cfg_rd(&s, CFG_ACTUAL, 4), 0);
    assert_int_equal(cfg_rd(&s, CFG_NUM_PAGES, 4), 500);
    assert_false(stats(&s).reporting);
    /* The VM's reset (device model) likewise. */
    cfg_wr(&s, CFG_ACTUAL, 300, 4);
    assert_int_equal(s.dv.ops->quiesce(s.dv.opaque), 0);
    s.dv.ops->reset(s.dv.opaque);
    s.dv.ops->resume(s.dv.opaque);
    assert_int_equal(cfg_rd(&s, CFG_ACTUAL, 4), 0);
    assert_int_equal(fk_rd(&s.f, VIRTIO_MMIO_STATUS), 0);
    side_free(&s);
}

/* ---------------------------------------------------------- device model */

/* Reporting negotiated, pages inflated and reported, a target and an
 * actual set, an inflate chain waiting (not notified): quiesced. */
static void busy(struct side *s)
{
    setup(s, true, true);
    fill(s->f.mem, DATA, 0);
    uint32_t pfn = (uint32_t)(DATA >> 12);
    post_out(s, &s->inf, &pfn, 4, 0);
    uint64_t g = DATA + 4 * PAGE;
    uint32_t l = 2 * PAGE;
    post_report(s, &g, &l, 1);
    virtio_balloon_set_target(s->b, 300);
    cfg_wr(s, CFG_ACTUAL, 200, 4);
    fill(s->f.mem, DATA + 8 * PAGE, 8);
    pfn = (uint32_t)((DATA + 8 * PAGE) >> 12);
    assert_int_equal(mem_write(s->f.mem, PFNBUF + 64, &pfn, 4), 0);
    uint64_t gp = PFNBUF + 64;
    uint32_t lp = 4;
    fk_ring_add(&s->f, &s->inf, &gp, &lp, 1, 1);
    assert_int_equal(s->dv.ops->quiesce(s->dv.opaque), 0);
}

static void test_save_restore(void **state)
{
    (void)state;
    struct side a = { 0 }, b = { 0 };
    busy(&a);
    struct sstate_writer good;
    vs_save(a.dv, &good);
    assert_string_equal((const char *)good.buf, "vbal");
    size_t dev = VS_DEV(3);                      /* u32 num_pages, u32 actual */
    assert_int_equal(good.len, dev + 8);
    assert_int_equal(vs_get(good.buf, dev, 4), 300);
    assert_int_equal(vs_get(good.buf, dev + 4, 4), 200);

    struct mem *m = fk_clone_ram(a.f.mem);
    assert_non_null(m);
    make(&b, m, true);
    b.inf = a.inf;
    assert_int_equal(b.dv.ops->quiesce(b.dv.opaque), 0);
    vs_restore_identical(b.dv, &good);
    assert_int_equal(cfg_rd(&b, 0, 8), 300 | 200ULL << 32);
    struct virtio_balloon_stats st = stats(&b);
    assert_int_equal(st.target_pages, 300);
    assert_int_equal(st.actual_pages, 200);
    assert_true(st.reporting);
    /* Both go on alike: the waiting inflate is served on resume. */
    struct side *sides[2] = { &a, &b };
    for (int i = 0; i < 2; i++) {
        struct side *s = sides[i];
        s->dv.ops->resume(s->dv.opaque);
        assert_int_equal(fk_ring_used_idx(&s->f, &s->inf), 2);
        assert_true(zeros(s->f.mem, DATA + 8 * PAGE, PAGE));
        assert_false(fk_needs_reset(&s->f));
    }
    assert_true(fk_ram_equal(a.f.mem, b.f.mem, FAKE_RAM, FAKE_RAM_SIZE));
    sstate_writer_free(&good);
    side_free(&a);
    side_free(&b);
}

static void test_restore_hostile(void **state)
{
    (void)state;
    struct side a = { 0 }, b = { 0 };
    busy(&a);
    struct sstate_writer good;
    vs_save(a.dv, &good);
    setup(&b, true, false);
    virtio_balloon_set_target(b.b, 7);
    assert_int_equal(b.dv.ops->quiesce(b.dv.opaque), 0);

    vs_refused_framing(b.dv, &good);
    vs_refused_transport(b.dv, &good, QSIZE, QMAX, FAKE_RAM, FAKE_RAM_SIZE);
    /* Any target and actual are values a host and a driver could set. */
    size_t dev = VS_DEV(3);
    uint8_t *p = malloc(good.len);
    assert_non_null(p);
    memcpy(p, good.buf, good.len);
    vs_put(p, dev, 4, 0xffffffffu);
    vs_put(p, dev + 4, 4, 0xfffffffeu);
    assert_int_equal(vs_restore(b.dv, p, good.len), 0);
    assert_int_equal(cfg_rd(&b, 0, 8), 0xfffffffeffffffffULL);
    free(p);

    /* A section that negotiated PAGE_REPORTING, into a balloon without
     * it (a restore without --balloon reporting): refused. */
    struct side c = { 0 };
    setup(&c, false, false);
    assert_int_equal(c.dv.ops->quiesce(c.dv.opaque), 0);
    vs_refused(c.dv, good.buf, good.len);
    side_free(&c);
    sstate_writer_free(&good);
    side_free(&a);
    side_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_config_space),
        cmocka_unit_test(test_inflate_drops_pages),
        cmocka_unit_test(test_inflate_bad_pfns),
        cmocka_unit_test(test_deflate),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_hostile_chains),
        cmocka_unit_test(test_set_target),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_save_restore),
        cmocka_unit_test(test_restore_hostile),
    };
    return cmocka_run_group_tests_name("virtio_balloon", tests, NULL, NULL);
}
