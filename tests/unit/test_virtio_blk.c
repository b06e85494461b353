/* Unit tests of virtio-blk (src/virtio/blk.c, Virtio 1.2 section 5.2):
 * requests built in fake guest RAM, sent through the virtio-mmio
 * registers, executed against a raw image in a temporary directory by the
 * block layer's worker threads.  Read, write, flush, discard,
 * write-zeroes, get-id, read-only disks, out-of-range sectors, bad
 * lengths, unknown types, a request without a status byte; a request in
 * flight keeps its pages pinned against memory operations. */
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
#include <time.h>
#include <sched.h>
#include <unistd.h>

#include <cmocka.h>

#include "block/block.h"
#include "block/block_int.h"   /* bd->lock: holds a request in flight */
#include "util/util.h"
#include "virtio_fake.h"

#define DISK_SIZE (1u << 20)
#define HDR    (FAKE_BUF)
#define STATUS (FAKE_BUF + 0x100)
#define DATA   (FAKE_BUF + 0x1000)
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define NO_STATUS 0xee

struct fx {
    struct fake_driver f;
    char dir[64], path[96];
    struct block_dev *bd;
    struct virtio_blk *blk;
    uint32_t used_len;
};

static int open_dev(struct fx *x, bool ro, bool unsafe)
{
    char err[BLOCK_ERR_LEN];
    assert_int_equal(block_open(&x->bd, x->path, ro ? BLOCK_O_RDONLY : 0, BLOCK_FMT_RAW,
                                err, sizeof(err)), 0);
    struct hw_line irq = { fake_irq_set, &x->f.irq, 1 };
    x->blk = virtio_blk_new(x->bd, ro, unsafe, "serial-0123456789abcdef", &irq, x->f.mem);
    assert_non_null(x->blk);
    x->f.dev = virtio_blk_transport(x->blk);
    uint32_t st = fk_negotiate(&x->f, VIRTIO_F_COMMON | (1ULL << 9) |
                                          (ro ? 1ULL << 5 : (1ULL << 13) | (1ULL << 14)));
    assert_true(st & VIRTIO_STATUS_FEATURES_OK);
    fk_queue(&x->f, 0, 16, FAKE_DESC, FAKE_AVAIL, FAKE_USED);
    fk_driver_ok(&x->f);
    return 0;
}

static int setup_common(void **state, bool ro)
{
    struct fx *x = calloc(1, sizeof(*x));
    snprintf(x->dir, sizeof(x->dir), "/tmp/vessel-blk-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    snprintf(x->path, sizeof(x->path), "%s/disk.raw", x->dir);
    int fd = open(x->path, O_CREAT | O_RDWR, 0644);
    assert_true(fd >= 0);
    /* Recognisable content: byte i = i * 7 mod 251. */
    uint8_t *buf = malloc(DISK_SIZE);
    for (unsigned i = 0; i < DISK_SIZE; i++)
        buf[i] = (uint8_t)(i * 7 % 251);
    assert_int_equal(write(fd, buf, DISK_SIZE), DISK_SIZE);
    free(buf);
    close(fd);
    x->f.mem = mem_new();
    assert_int_equal(mem_add_ram(x->f.mem, FAKE_RAM, FAKE_RAM_SIZE), 0);
    open_dev(x, ro, false);
    *state = x;
    return 0;
}

static int setup(void **state) { return setup_common(state, false); }
static int setup_ro(void **state) { return setup_common(state, true); }

static int teardown(void **state)
{
    struct fx *x = *state;
    virtio_blk_free(x->blk);
    block_close(x->bd);
    mem_free(x->f.mem);
    unlink(x->path);
    rmdir(x->dir);
    free(x);
    return 0;
}

/* Send one request: header, optional data (device-writable for reads
 * and get-id), status byte.  Waits for completion; returns the status
 * byte (NO_STATUS if never written) and sets x->used_len. */
static int request(struct fx *x, uint32_t type, uint64_t sector, uint32_t data_len,
                   bool data_in)
{
    uint8_t hdr[16] = {0};
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    mem_write(x->f.mem, HDR, hdr, sizeof(hdr));
    uint8_t st = NO_STATUS;
    mem_write(x->f.mem, STATUS, &st, 1);
    unsigned n = 0;
    fk_desc(&x->f, n, HDR, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(n + 1));
    n++;
    if (data_len) {
        fk_desc(&x->f, n, DATA, data_len,
                VIRTQ_DESC_F_NEXT | (data_in ? VIRTQ_DESC_F_WRITE : 0), (uint16_t)(n + 1));
        n++;
    }
    fk_desc(&x->f, n, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    uint16_t before = fk_used_idx(&x->f);
    fk_avail(&x->f, 0);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    block_aio_drain(x->bd);
    if (fk_used_idx(&x->f) != (uint16_t)(before + 1))
        return -1;
    uint32_t id;
    fk_used_elem(&x->f, before, &id, &x->used_len);
    mem_read(x->f.mem, STATUS, &st, 1);
    return st;
}

static void file_read(struct fx *x, uint64_t off, void *buf, size_t len)
{
    int fd = open(x->path, O_RDONLY);
    assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
}

static void test_config(void **state)
{
    struct fx *x = *state;
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, 0x100, 8), DISK_SIZE / 512);
    assert_int_equal(virtio_mmio_ops.read(x->f.dev, 0x100 + 20, 4), 512);  /* blk_size */
    fk_wr(&x->f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t f = fk_rd(&x->f, VIRTIO_MMIO_DEVICE_FEATURES);
    assert_true(f & (1u << 9));         /* FLUSH */
    assert_true(f & (1u << 13));        /* DISCARD */
    assert_true(f & (1u << 14));        /* WRITE_ZEROES */
    assert_false(f & (1u << 5));        /* not RO */
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
}

static void test_read(void **state)
{
    struct fx *x = *state;
    assert_int_equal(request(x, T_IN, 3, 4096, true), S_OK);
    assert_int_equal(x->used_len, 4097);
    uint8_t got[4096], want[4096];
    mem_read(x->f.mem, DATA, got, sizeof(got));
    file_read(x, 3 * 512, want, sizeof(want));
    assert_memory_equal(got, want, sizeof(got));
}

static bool page_dirty(const uint64_t *bm, uint64_t gpa)
{
    uint64_t p = (gpa - FAKE_RAM) >> 12;
    return (bm[p / 64] >> (p % 64)) & 1;
}

/* The dirty log sees what the device wrote by DMA (a read request's data
 * pages, the status byte, the used ring) and nothing it only read (a write
 * request's data pages).  The fake driver's own ring writes are logged
 * too, as the guest's would be. */
static void test_dma_marks_dirty(void **state)
{
    struct fx *x = *state;
    uint64_t bm[FAKE_RAM_SIZE / 4096 / 64];
    uint8_t junk[8192];
    memset(junk, 0x5a, sizeof(junk));
    mem_write(x->f.mem, DATA, junk, sizeof(junk));
    assert_int_equal(mem_dirty_fetch(x->f.mem, FAKE_RAM, FAKE_RAM_SIZE, bm, true), 0);
    assert_int_equal(request(x, T_OUT, 0, 8192, false), S_OK);
    assert_int_equal(mem_dirty_fetch(x->f.mem, FAKE_RAM, FAKE_RAM_SIZE, bm, true), 0);
    assert_false(page_dirty(bm, DATA));
    assert_false(page_dirty(bm, DATA + 4096));
    assert_true(page_dirty(bm, FAKE_USED));
    assert_true(page_dirty(bm, STATUS));     /* also the header's page */

    mem_write(x->f.mem, HDR, junk, 16);
    assert_int_equal(mem_dirty_fetch(x->f.mem, FAKE_RAM, FAKE_RAM_SIZE, bm, true), 0);
    assert_int_equal(request(x, T_IN, 0, 8192, true), S_OK);
    assert_int_equal(mem_dirty_fetch(x->f.mem, FAKE_RAM, FAKE_RAM_SIZE, bm, false), 0);
    assert_true(page_dirty(bm, DATA));
    assert_true(page_dirty(bm, DATA + 4096));
    assert_false(page_dirty(bm, DATA + 8192));
    assert_true(page_dirty(bm, FAKE_USED));
    assert_false(page_dirty(bm, FAKE_RAM + 0x20000));   /* untouched */
}

static void test_write_then_read(void **state)
{
    struct fx *x = *state;
    uint8_t pat[8192];
    for (unsigned i = 0; i < sizeof(pat); i++)
        pat[i] = (uint8_t)(i ^ 0x5a);
    mem_write(x->f.mem, DATA, pat, sizeof(pat));
    assert_int_equal(request(x, T_OUT, 100, sizeof(pat), false), S_OK);
    assert_int_equal(x->used_len, 1);
    assert_int_equal(request(x, T_FLUSH, 0, 0, false), S_OK);
    uint8_t disk[8192];
    file_read(x, 100 * 512, disk, sizeof(disk));
    assert_memory_equal(disk, pat, sizeof(pat));
    memset(disk, 0, sizeof(disk));
    mem_write(x->f.mem, DATA, disk, sizeof(disk));
    assert_int_equal(request(x, T_IN, 100, sizeof(pat), true), S_OK);
    mem_read(x->f.mem, DATA, disk, sizeof(disk));
    assert_memory_equal(disk, pat, sizeof(pat));
    /* Each request counted once, when it completed, with its bytes. */
    struct virtio_blk_stats st;
    virtio_blk_get_stats(x->blk, &st);
    assert_int_equal(st.write_requests, 1);
    assert_int_equal(st.write_bytes, sizeof(pat));
    assert_int_equal(st.flush_requests, 1);
    assert_int_equal(st.read_requests, 1);
    assert_int_equal(st.read_bytes, sizeof(pat));
    assert_int_equal(st.discard_requests, 0);
    assert_int_equal(st.errors, 0);
}

/* Data split over several descriptors (the bounce-buffer path). */
static void test_scattered_write(void **state)
{
    struct fx *x = *state;
    uint8_t hdr[16] = {0};
    uint32_t type = T_OUT;
    uint64_t sector = 7;
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    mem_write(x->f.mem, HDR, hdr, 16);
    uint8_t a[512], b[1024];
    memset(a, 0x11, sizeof(a));
    memset(b, 0x22, sizeof(b));
    mem_write(x->f.mem, DATA + 0x4000, a, sizeof(a));
    mem_write(x->f.mem, DATA, b, sizeof(b));
    fk_desc(&x->f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    fk_desc(&x->f, 1, DATA + 0x4000, sizeof(a), VIRTQ_DESC_F_NEXT, 2);
    fk_desc(&x->f, 2, DATA, sizeof(b), VIRTQ_DESC_F_NEXT, 3);
    fk_desc(&x->f, 3, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    fk_avail(&x->f, 0);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    block_aio_drain(x->bd);
    uint8_t st = 0xee;
    mem_read(x->f.mem, STATUS, &st, 1);
    assert_int_equal(st, S_OK);
    uint8_t disk[1536];
    file_read(x, 7 * 512, disk, sizeof(disk));
    assert_memory_equal(disk, a, sizeof(a));
    assert_memory_equal(disk + 512, b, sizeof(b));
}

static void seg(struct fx *x, uint64_t sector, uint32_t num, uint32_t flags)
{
    uint8_t s[16];
    memcpy(s, &sector, 8);
    memcpy(s + 8, &num, 4);
    memcpy(s + 12, &flags, 4);
    mem_write(x->f.mem, DATA, s, 16);
}

static void test_discard_and_write_zeroes(void **state)
{
    struct fx *x = *state;
    uint8_t disk[4096], zero[4096] = {0};
    seg(x, 16, 8, 0);
    assert_int_equal(request(x, T_DISCARD, 0, 16, false), S_OK);
    file_read(x, 16 * 512, disk, sizeof(disk));
    assert_memory_equal(disk, zero, sizeof(zero));
    seg(x, 64, 8, 1);   /* unmap allowed for write-zeroes */
    assert_int_equal(request(x, T_WRITE_ZEROES, 0, 16, false), S_OK);
    file_read(x, 64 * 512, disk, sizeof(disk));
    assert_memory_equal(disk, zero, sizeof(zero));
    /* Neighbours untouched. */
    file_read(x, 72 * 512, disk, 16);
    assert_int_equal(disk[0], (uint8_t)(72 * 512 * 7 % 251));
    /* Discard with the unmap flag, reserved flags: UNSUPP (5.2.6.2). */
    seg(x, 0, 1, 1);
    assert_int_equal(request(x, T_DISCARD, 0, 16, false), S_UNSUPP);
    seg(x, 0, 1, 2);
    assert_int_equal(request(x, T_WRITE_ZEROES, 0, 16, false), S_UNSUPP);
    /* Out of range, malformed segment. */
    seg(x, DISK_SIZE / 512 - 4, 8, 0);
    assert_int_equal(request(x, T_DISCARD, 0, 16, false), S_IOERR);
    assert_int_equal(request(x, T_DISCARD, 0, 12, false), S_IOERR);
    struct virtio_blk_stats st;
    virtio_blk_get_stats(x->blk, &st);
    assert_int_equal(st.discard_requests, 2);   /* discard and write-zeroes */
    assert_int_equal(st.errors, 4);             /* 2 UNSUPP, 2 IOERR */
    assert_int_equal(st.write_requests + st.write_bytes + st.read_requests, 0);
}

static void test_get_id(void **state)
{
    struct fx *x = *state;
    assert_int_equal(request(x, T_GET_ID, 0, 20, true), S_OK);
    assert_int_equal(x->used_len, 21);
    char id[20];
    mem_read(x->f.mem, DATA, id, 20);
    assert_memory_equal(id, "serial-0123456789abc", 20);     /* truncated to 20 */
    struct virtio_blk_stats st, zero = { 0 };
    virtio_blk_get_stats(x->blk, &st);
    assert_memory_equal(&st, &zero, sizeof(st));               /* no disk I/O */
}

static void test_out_of_range(void **state)
{
    struct fx *x = *state;
    uint64_t last = DISK_SIZE / 512;
    assert_int_equal(request(x, T_IN, last - 1, 512, true), S_OK);
    assert_int_equal(request(x, T_IN, last - 1, 1024, true), S_IOERR);
    assert_int_equal(request(x, T_IN, last, 512, true), S_IOERR);
    assert_int_equal(request(x, T_OUT, UINT64_MAX, 512, false), S_IOERR);
    assert_int_equal(request(x, T_OUT, UINT64_MAX / 512, 512, false), S_IOERR);
    assert_int_equal(x->used_len, 1);
}

static void test_bad_requests(void **state)
{
    struct fx *x = *state;
    /* Data not a multiple of 512. */
    assert_int_equal(request(x, T_IN, 0, 100, true), S_IOERR);
    assert_int_equal(request(x, T_OUT, 0, 513, false), S_IOERR);
    /* Read whose data buffer is device-readable (wrong direction). */
    assert_int_equal(request(x, T_IN, 0, 512, false), S_IOERR);
    /* Write whose data buffer is device-writable. */
    assert_int_equal(request(x, T_OUT, 0, 512, true), S_IOERR);
    /* Unknown type. */
    assert_int_equal(request(x, 99, 0, 0, false), S_UNSUPP);
    /* Short header: 8 bytes only. */
    fk_desc(&x->f, 0, HDR, 8, VIRTQ_DESC_F_NEXT, 1);
    fk_desc(&x->f, 1, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    fk_avail(&x->f, 0);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    block_aio_drain(x->bd);
    uint8_t st = 0;
    mem_read(x->f.mem, STATUS, &st, 1);
    assert_int_equal(st, S_IOERR);
    assert_false(fk_needs_reset(&x->f));
    /* No status byte at all: the device needs a reset, no crash. */
    fk_desc(&x->f, 0, HDR, 16, 0, 0);
    fk_avail(&x->f, 0);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    block_aio_drain(x->bd);
    assert_true(fk_needs_reset(&x->f));
    /* Every one of the seven is an error, none a read or write. */
    struct virtio_blk_stats bs;
    virtio_blk_get_stats(x->blk, &bs);
    assert_int_equal(bs.errors, 7);
    assert_int_equal(bs.read_requests + bs.write_requests + bs.read_bytes + bs.write_bytes, 0);
}

static void test_read_only(void **state)
{
    struct fx *x = *state;
    fk_wr(&x->f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t f = fk_rd(&x->f, VIRTIO_MMIO_DEVICE_FEATURES);
    assert_true(f & (1u << 5));         /* RO */
    assert_false(f & (1u << 13));
    uint8_t before[512], after[512];
    file_read(x, 0, before, sizeof(before));
    memset(after, 0x77, sizeof(after));
    mem_write(x->f.mem, DATA, after, sizeof(after));
    assert_int_equal(request(x, T_OUT, 0, 512, false), S_IOERR);
    seg(x, 0, 1, 0);
    assert_int_equal(request(x, T_DISCARD, 0, 16, false), S_IOERR);
    assert_int_equal(request(x, T_WRITE_ZEROES, 0, 16, false), S_IOERR);
    file_read(x, 0, after, sizeof(after));
    assert_memory_equal(before, after, sizeof(before));
    assert_int_equal(request(x, T_IN, 0, 512, true), S_OK);
    assert_int_equal(request(x, T_FLUSH, 0, 0, false), S_OK);
}

/* Reset with requests in flight: they complete first, nothing is lost. */
static void test_reset_drains(void **state)
{
    struct fx *x = *state;
    for (unsigned i = 0; i < 8; i++) {
        fk_desc(&x->f, 2 * i, HDR, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(2 * i + 1));
        fk_desc(&x->f, 2 * i + 1, STATUS + i, 1, VIRTQ_DESC_F_WRITE, 0);
        fk_avail(&x->f, (uint16_t)(2 * i));
    }
    uint8_t hdr[16] = { T_FLUSH };
    mem_write(x->f.mem, HDR, hdr, 16);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    fk_wr(&x->f, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(fk_used_idx(&x->f), 8);
    assert_int_equal(fk_rd(&x->f, VIRTIO_MMIO_STATUS), 0);
}

static void *notifier(void *arg)
{
    struct fx *x = arg;
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    return NULL;
}

/* A read held in flight (the block layer cannot take the disk's lock)
 * pins what it will write and what it read: memory operations refuse
 * those pages (-EBUSY), and the rings of the live queue, while they give
 * any other page new backing.  Once the request completed its pages move
 * too, and the data it read stays intact. */
static void test_inflight_request_pins(void **state)
{
    struct fx *x = *state;
    uint8_t hdr[16] = { 0 };
    uint32_t type = T_IN;
    uint64_t sector = 3;
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    mem_write(x->f.mem, HDR, hdr, sizeof(hdr));
    fk_desc(&x->f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    fk_desc(&x->f, 1, DATA, 8192, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    fk_desc(&x->f, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    uint16_t before = fk_used_idx(&x->f);
    fk_avail(&x->f, 0);

    pthread_mutex_lock(&x->bd->lock);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, notifier, x), 0);
    /* Until the device popped the request, DATA moves like any page. */
    uint64_t end = host_time_ns() + 10000000000ULL;
    int rc;
    /* Poll every millisecond, not back to back: a replace in flight makes
     * the device's pin wait, and a tight loop could keep it waiting (on a
     * loaded host, past the deadline). */
    while ((rc = mem_replace_page(x->f.mem, DATA)) == 0 && host_time_ns() < end) {
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
    if (rc != -EBUSY) {
        /* Let the device finish before failing, or teardown would wait
         * for it behind the lock held here. */
        pthread_mutex_unlock(&x->bd->lock);
        pthread_join(t, NULL);
        fail_msg("the device never pinned DATA (mem_replace_page: %d)", rc);
    }
    assert_int_equal(mem_replace_page(x->f.mem, DATA + 0x1000), -EBUSY);
    assert_int_equal(mem_replace_page(x->f.mem, HDR), -EBUSY);      /* and STATUS */
    assert_int_equal(mem_replace_page(x->f.mem, DATA + 0x2000), 0);
    assert_int_equal(mem_replace_page(x->f.mem, FAKE_BUF + 0x8000), 0);
    assert_int_equal(mem_replace_page(x->f.mem, FAKE_USED), -EBUSY);
    assert_int_equal(fk_used_idx(&x->f), before);
    pthread_mutex_unlock(&x->bd->lock);
    pthread_join(t, NULL);
    block_aio_drain(x->bd);

    assert_int_equal(fk_used_idx(&x->f), (uint16_t)(before + 1));
    uint8_t st = NO_STATUS;
    mem_read(x->f.mem, STATUS, &st, 1);
    assert_int_equal(st, S_OK);
    assert_int_equal(mem_replace_page(x->f.mem, DATA), 0);
    assert_int_equal(mem_replace_page(x->f.mem, DATA + 0x1000), 0);
    assert_int_equal(mem_replace_page(x->f.mem, HDR), 0);
    uint8_t got[8192], want[8192];
    mem_read(x->f.mem, DATA, got, sizeof(got));
    file_read(x, 3 * 512, want, sizeof(want));
    assert_memory_equal(got, want, sizeof(got));
}

/* A request the device cannot answer (no status byte) is dropped, and
 * its pages with it. */
static void test_unanswerable_request_unpins(void **state)
{
    struct fx *x = *state;
    fk_desc(&x->f, 0, HDR, 16, 0, 0);
    fk_avail(&x->f, 0);
    fk_wr(&x->f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_true(fk_needs_reset(&x->f));
    assert_int_equal(mem_replace_page(x->f.mem, HDR), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_config),
        T(test_read),
        T(test_dma_marks_dirty),
        T(test_write_then_read),
        T(test_scattered_write),
        T(test_discard_and_write_zeroes),
        T(test_get_id),
        T(test_out_of_range),
        T(test_bad_requests),
        cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
        T(test_reset_drains),
        T(test_inflight_request_pins),
        T(test_unanswerable_request_unpins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
