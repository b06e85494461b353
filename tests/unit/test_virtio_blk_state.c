/* Unit tests of virtio-blk's device model (src/virtio/blk.c,
 * util/device.h): requests through the virtio-mmio registers against raw
 * images in a temporary directory; quiesce completes the requests in
 * flight (held in the block layer by a gated driver) before it returns
 * and takes none while quiesced; save, restore into a fresh device over a
 * copy of the disk and of guest RAM, byte-identical save, then both
 * devices serve the same requests alike; hostile sections refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "block/block.h"
#include "block/block_int.h"    /* the gated driver wraps bd->drv */
#include "virtio_fake.h"
#include "vstate_check.h"

#define DISK_SIZE (1u << 20)
#define RING0 (FAKE_RAM + 0x20000)
#define REQ(i) (FAKE_RAM + 0x100000 + 0x4000ULL * (i))  /* header, status, data */
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define NO_STATUS 0xee
#define QSIZE 16
#define FEATURES (VIRTIO_F_COMMON | (1ULL << 9) | (1ULL << 13) | (1ULL << 14))

struct side {
    struct fake_driver f;
    struct fk_ring ring;
    char path[128];
    struct block_dev *bd;
    struct virtio_blk *blk;
    struct device dv;
};

struct fx {
    char dir[64];
    struct side a, b;
};

static void write_disk(const char *path, unsigned seed)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    assert_true(fd >= 0);
    uint8_t *buf = malloc(DISK_SIZE);
    for (unsigned i = 0; i < DISK_SIZE; i++)
        buf[i] = (uint8_t)(i * seed % 251);
    assert_int_equal(write(fd, buf, DISK_SIZE), DISK_SIZE);
    free(buf);
    close(fd);
}

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    assert_true(in >= 0 && out >= 0);
    uint8_t buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

static bool files_equal(const char *p, const char *q)
{
    int a = open(p, O_RDONLY), b = open(q, O_RDONLY);
    assert_true(a >= 0 && b >= 0);
    uint8_t x[65536], y[65536];
    bool same = true;
    for (;;) {
        ssize_t n = read(a, x, sizeof(x)), m = read(b, y, sizeof(y));
        if (n != m || (n > 0 && memcmp(x, y, (size_t)n))) {
            same = false;
            break;
        }
        if (n <= 0)
            break;
    }
    close(a);
    close(b);
    return same;
}

/* A device over the image at s->path, in RAM m. */
static void make_dev(struct side *s, struct mem *m, bool ro)
{
    char err[BLOCK_ERR_LEN];
    s->f.mem = m;
    assert_int_equal(block_open(&s->bd, s->path, ro ? BLOCK_O_RDONLY : 0, BLOCK_FMT_RAW,
                                err, sizeof(err)), 0);
    struct hw_line irq = { fake_irq_set, &s->f.irq, 1 };
    s->blk = virtio_blk_new(s->bd, ro, false, "state-test", &irq, m);
    assert_non_null(s->blk);
    s->f.dev = virtio_blk_transport(s->blk);
    s->dv = virtio_blk_device(s->blk);
}

static void side_free(struct side *s)
{
    if (s->dv.ops)
        s->dv.ops->destroy(s->dv.opaque);
    block_close(s->bd);
    mem_free(s->f.mem);
    unlink(s->path);
}

/* Publish request i (header, data, status in its own slot), optionally
 * notify.  Returns nothing; see finish(). */
static void submit(struct side *s, unsigned i, uint32_t type, uint64_t sector, uint32_t len,
                   bool data_in, bool notify)
{
    uint8_t hdr[16] = {0};
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    mem_write(s->f.mem, REQ(i), hdr, sizeof(hdr));
    uint8_t st = NO_STATUS;
    mem_write(s->f.mem, REQ(i) + 16, &st, 1);
    uint64_t gpa[3] = { REQ(i), REQ(i) + 0x1000, REQ(i) + 16 };
    uint32_t lens[3] = { 16, len, 1 };
    if (len) {
        fk_ring_add(&s->f, &s->ring, gpa, lens, 3, data_in ? 1 : 2);
    } else {
        gpa[1] = gpa[2];
        lens[1] = 1;
        fk_ring_add(&s->f, &s->ring, gpa, lens, 2, 1);
    }
    if (notify)
        fk_wr(&s->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static int status_of(struct side *s, unsigned i)
{
    uint8_t st;
    mem_read(s->f.mem, REQ(i) + 16, &st, 1);
    return st;
}

/* One request, waited for; returns its status byte. */
static int request(struct side *s, unsigned i, uint32_t type, uint64_t sector, uint32_t len,
                   bool data_in)
{
    uint16_t before = fk_ring_used_idx(&s->f, &s->ring);
    submit(s, i, type, sector, len, data_in, true);
    block_aio_drain(s->bd);
    assert_int_equal(fk_ring_used_idx(&s->f, &s->ring), (uint16_t)(before + 1));
    return status_of(s, i);
}

static void fill(struct side *s, unsigned i, uint32_t len, uint8_t seed)
{
    uint8_t buf[0x3000];
    for (uint32_t k = 0; k < len; k++)
        buf[k] = (uint8_t)(seed + k * 3);
    mem_write(s->f.mem, REQ(i) + 0x1000, buf, len);
}

/* Negotiated with EVENT_IDX, writes, reads, a flush and a GET_ID done,
 * an interrupt pending. */
static void drive(struct side *s)
{
    assert_true(fk_negotiate(&s->f, FEATURES) & VIRTIO_STATUS_FEATURES_OK);
    fk_ring_init(&s->f, &s->ring, 0, QSIZE, RING0);
    fk_driver_ok(&s->f);
    fill(s, 0, 4096, 1);
    assert_int_equal(request(s, 0, T_OUT, 8, 4096, false), 0);
    assert_int_equal(request(s, 1, T_IN, 0, 8192, true), 0);
    assert_int_equal(request(s, 2, T_FLUSH, 0, 0, false), 0);
    assert_int_equal(request(s, 3, T_GET_ID, 0, 20, true), 0);
    fill(s, 4, 1024, 7);
    assert_int_equal(request(s, 4, T_OUT, 100, 1024, false), 0);
    assert_int_equal(request(s, 5, T_IN, 2047, 512, true), 0);
    assert_true(s->f.irq.level);
}

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    snprintf(x->dir, sizeof(x->dir), "/tmp/vessel-blkst-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    snprintf(x->a.path, sizeof(x->a.path), "%s/a.raw", x->dir);
    snprintf(x->b.path, sizeof(x->b.path), "%s/b.raw", x->dir);
    write_disk(x->a.path, 7);
    struct mem *m = mem_new();
    assert_int_equal(mem_add_ram(m, FAKE_RAM, FAKE_RAM_SIZE), 0);
    make_dev(&x->a, m, false);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    side_free(&x->a);
    if (x->b.blk)
        side_free(&x->b);
    rmdir(x->dir);
    free(x);
    return 0;
}

/* Copy disk and RAM of a into b, create b's device, restore a's state. */
static void clone_side(struct fx *x, const struct sstate_writer *good, bool check_identical)
{
    copy_file(x->a.path, x->b.path);
    struct mem *m = fk_clone_ram(x->a.f.mem);
    assert_non_null(m);
    make_dev(&x->b, m, false);
    x->b.ring = x->a.ring;
    assert_int_equal(x->b.dv.ops->quiesce(x->b.dv.opaque), 0);
    if (check_identical)
        vs_restore_identical(x->b.dv, good);
}

static void test_round_trip(void **state)
{
    struct fx *x = *state;
    drive(&x->a);
    assert_int_equal(x->a.dv.ops->quiesce(x->a.dv.opaque), 0);
    struct sstate_writer good;
    vs_save(x->a.dv, &good);
    assert_memory_equal(good.buf, "vblk\0\0\0\0", 8);
    assert_int_equal(vs_get(good.buf, VS_DEV(1), 8), DISK_SIZE / 512);
    clone_side(x, &good, true);
    assert_true(x->b.f.irq.level);      /* the pending interrupt, raised again */

    /* Both serve the same requests alike. */
    x->a.dv.ops->resume(x->a.dv.opaque);
    x->b.dv.ops->resume(x->b.dv.opaque);
    struct side *sides[2] = { &x->a, &x->b };
    for (unsigned k = 0; k < 2; k++) {
        struct side *s = sides[k];
        fk_ack(&s->f);
        fk_ring_set_used_event(&s->f, &s->ring, 9);
        for (unsigned i = 0; i < 12; i++) {
            unsigned slot = 6 + i % 8;
            if (i % 3 == 0) {
                fill(s, slot, 2048, (uint8_t)i);
                assert_int_equal(request(s, slot, T_OUT, 64 + 4ULL * i, 2048, false), 0);
            } else {
                assert_int_equal(request(s, slot, T_IN, 60 + 4ULL * i, 4096, true), 0);
            }
            if (i == 2)     /* used_event 9 not reached yet: no interrupt */
                assert_false(s->f.irq.level);
        }
        assert_true(s->f.irq.level);
        assert_int_equal(fk_ring_used_idx(&s->f, &s->ring), 18);
    }
    assert_true(fk_ram_equal(x->a.f.mem, x->b.f.mem, RING0, 0x3000));
    assert_true(fk_ram_equal(x->a.f.mem, x->b.f.mem, REQ(0), 0x4000 * 14));
    assert_true(files_equal(x->a.path, x->b.path));
    assert_int_equal(x->a.dv.ops->quiesce(x->a.dv.opaque), 0);
    assert_int_equal(x->b.dv.ops->quiesce(x->b.dv.opaque), 0);
    struct sstate_writer sa, sb;
    vs_save(x->a.dv, &sa);
    vs_save(x->b.dv, &sb);
    vs_assert_same(&sa, &sb);
    sstate_writer_free(&sa);
    sstate_writer_free(&sb);
    sstate_writer_free(&good);
}

static void test_hostile(void **state)
{
    struct fx *x = *state;
    drive(&x->a);
    assert_int_equal(x->a.dv.ops->quiesce(x->a.dv.opaque), 0);
    struct sstate_writer good;
    vs_save(x->a.dv, &good);
    clone_side(x, &good, true);
    struct device dst = x->b.dv;
    vs_refused_framing(dst, &good);
    vs_refused_transport(dst, &good, QSIZE, 256, FAKE_RAM, FAKE_RAM_SIZE);
    size_t dev = VS_DEV(1);
    vs_refused_patch(dst, &good, dev, 8, DISK_SIZE / 512 + 1);     /* another disk size */
    vs_refused_patch(dst, &good, dev, 8, DISK_SIZE / 512 - 1);
    vs_refused_patch(dst, &good, dev + 8, 1, 1);                   /* read-only */
    vs_refused_patch(dst, &good, dev + 8, 1, 2);
    assert_int_equal(good.len, dev + 9);
    sstate_writer_free(&good);
}

/* A read-only device refuses a writable one's state (the negotiated
 * DISCARD / WRITE_ZEROES are not offered, and the flag differs). */
static void test_config_mismatch(void **state)
{
    struct fx *x = *state;
    drive(&x->a);
    assert_int_equal(x->a.dv.ops->quiesce(x->a.dv.opaque), 0);
    struct sstate_writer good;
    vs_save(x->a.dv, &good);
    copy_file(x->a.path, x->b.path);
    struct mem *m = fk_clone_ram(x->a.f.mem);
    make_dev(&x->b, m, true);
    assert_int_equal(x->b.dv.ops->quiesce(x->b.dv.opaque), 0);
    vs_refused(x->b.dv, good.buf, good.len);
    /* Patched to claim read-only, still refused: features not offered. */
    vs_refused_patch(x->b.dv, &good, VS_DEV(1) + 8, 1, 1);
    sstate_writer_free(&good);
}

/* ------------------------------------------------------------ quiesce */

/* A raw driver whose writes wait at a gate the test opens. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    unsigned entered;
    const struct block_driver *real;
    struct block_driver drv;
};
static struct gate gate = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void gate_pass(void)
{
    pthread_mutex_lock(&gate.lock);
    gate.entered++;
    pthread_cond_broadcast(&gate.cond);
    while (!gate.open)
        pthread_cond_wait(&gate.cond, &gate.lock);
    pthread_mutex_unlock(&gate.lock);
}

static unsigned gate_entered(void)
{
    pthread_mutex_lock(&gate.lock);
    unsigned n = gate.entered;
    pthread_mutex_unlock(&gate.lock);
    return n;
}

static int gated_pwrite(struct block_dev *bd, uint64_t off, const void *buf, size_t len)
{
    gate_pass();
    return gate.real->pwrite(bd, off, buf, len);
}

static int gated_pwritev(struct block_dev *bd, uint64_t off, const struct iovec *iov,
                         int iovcnt, size_t len)
{
    gate_pass();
    return gate.real->pwritev(bd, off, iov, iovcnt, len);
}

struct quiescer {
    struct side *s;
    pthread_t thread;
    unsigned slot;
    int rc;
    uint16_t used_at_return;
    int status_at_return;
};

static void *quiesce_thread(void *arg)
{
    struct quiescer *q = arg;
    /* Release the write and quiesce at once: a quiesce that did not wait
     * for it would mostly return before the woken worker completes it
     * (the test repeats this, so such a quiesce fails it). */
    pthread_mutex_lock(&gate.lock);
    gate.open = true;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.lock);
    q->rc = q->s->dv.ops->quiesce(q->s->dv.opaque);
    /* What the driver sees the moment quiesce returns. */
    q->used_at_return = fk_ring_used_idx(&q->s->f, &q->s->ring);
    q->status_at_return = status_of(q->s, q->slot);
    return NULL;
}

#define QUIESCE_ROUNDS 20

static void test_quiesce_drains(void **state)
{
    struct fx *x = *state;
    struct side *s = &x->a;
    drive(s);
    gate.real = s->bd->drv;
    gate.drv = *s->bd->drv;
    gate.drv.pwrite = gated_pwrite;
    gate.drv.pwritev = gated_pwritev;
    s->bd->drv = &gate.drv;

    for (unsigned k = 0; k < QUIESCE_ROUNDS; k++) {
        /* A write in flight, held in the block layer.  (One: the driver
         * runs under the block device's lock, which a second submission
         * would need.) */
        pthread_mutex_lock(&gate.lock);
        gate.open = false;
        gate.entered = 0;
        pthread_mutex_unlock(&gate.lock);
        uint16_t used = fk_ring_used_idx(&s->f, &s->ring);
        struct quiescer q = { .s = s, .slot = 10 + k % 3 };
        fill(s, q.slot, 4096, (uint8_t)(40 + k));
        submit(s, q.slot, T_OUT, 512 + 8ULL * k, 4096, false, true);
        pthread_mutex_lock(&gate.lock);
        while (!gate.entered)
            pthread_cond_wait(&gate.cond, &gate.lock);
        pthread_mutex_unlock(&gate.lock);
        assert_int_equal(fk_ring_used_idx(&s->f, &s->ring), used);

        assert_int_equal(pthread_create(&q.thread, NULL, quiesce_thread, &q), 0);
        assert_int_equal(pthread_join(q.thread, NULL), 0);
        assert_int_equal(q.rc, 0);
        /* The request was complete, status written and used entry
         * pushed, when quiesce returned. */
        assert_int_equal(q.used_at_return, (uint16_t)(used + 1));
        assert_int_equal(q.status_at_return, 0);
        s->dv.ops->resume(s->dv.opaque);
    }
    uint16_t used = (uint16_t)(6 + QUIESCE_ROUNDS);
    assert_int_equal(fk_ring_used_idx(&s->f, &s->ring), used);

    /* Quiesced: a new request is not taken (not popped, no I/O). */
    assert_int_equal(s->dv.ops->quiesce(s->dv.opaque), 0);
    pthread_mutex_lock(&gate.lock);
    gate.entered = 0;
    pthread_mutex_unlock(&gate.lock);
    fill(s, 13, 4096, 99);
    submit(s, 13, T_OUT, 0, 4096, false, true);
    block_aio_drain(s->bd);
    assert_int_equal(gate_entered(), 0);
    assert_int_equal(fk_ring_used_idx(&s->f, &s->ring), used);
    assert_int_equal(status_of(s, 13), NO_STATUS);
    struct sstate_writer w;
    vs_save(s->dv, &w);
    assert_int_equal(vs_get(w.buf, VS_Q(0) + VS_Q_LAST, 4), used);
    assert_int_equal(vs_get(w.buf, VS_Q(0) + VS_Q_UIDX, 4), used);
    sstate_writer_free(&w);

    /* Resume serves it. */
    s->dv.ops->resume(s->dv.opaque);
    block_aio_drain(s->bd);
    assert_int_equal(gate_entered(), 1);
    assert_int_equal(fk_ring_used_idx(&s->f, &s->ring), (uint16_t)(used + 1));
    assert_int_equal(status_of(s, 13), 0);
    s->bd->drv = gate.real;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiesce_drains, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
