/* libFuzzer target: the restore of the virtio devices' saved state
 * (src/virtio/device.c and the sections of blk.c, net.c, console.c,
 * rng.c, input.c, balloon.c) on hostile bytes.  The first byte picks the
 * device (blk, net, console, rng, input, balloon with free page
 * reporting), the rest is its section.  A snapshot file is input: no
 * byte sequence may crash or read out of bounds; a refused restore leaves
 * the device saving the same bytes as before; an accepted one saves back
 * exactly the bytes it read, and the device then runs (resume, a
 * notification on every queue, quiesce) without harm.
 *
 * With VSTATE_SEED_DIR set, LLVMFuzzerInitialize first writes one seed
 * per device into that directory: a section saved from a device a fake
 * driver brought into a busy state (tests/fuzz/run-vstate-fuzz.sh). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "virtio_fake.h"

#define NDEV 6
#define DISK_SIZE (64u << 10)
#define RING(q) (FAKE_RAM + 0x20000 + 0x4000ULL * (q))
#define BUF(i)  (FAKE_RAM + 0x100000 + 0x800ULL * (i))

struct fuzz_ctx {
    struct mem *mem;
    char disk[64];
    struct block_dev *bd;
    struct device dev[NDEV];
    struct virtio_dev *vdev[NDEV];
    unsigned nqueues[NDEV];
    struct virtio_net *net;
    struct virtio_console *con;
    struct virtio_input *in;
    struct virtio_balloon *bal;
};

static struct fuzz_ctx *ctx_get(void)
{
    static struct fuzz_ctx *c;
    if (c)
        return c;
    c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->mem = mem_new();
    if (!c->mem || mem_add_ram(c->mem, FAKE_RAM, FAKE_RAM_SIZE))
        abort();
    snprintf(c->disk, sizeof(c->disk), "/tmp/vessel-vstate-fuzz-XXXXXX");
    int fd = mkstemp(c->disk);
    if (fd < 0 || ftruncate(fd, DISK_SIZE))
        abort();
    close(fd);
    char err[BLOCK_ERR_LEN];
    if (block_open(&c->bd, c->disk, 0, BLOCK_FMT_RAW, err, sizeof(err)))
        abort();
    unlink(c->disk);    /* the open file lives on */
    struct hw_line irq = { 0 };
    struct virtio_blk *b = virtio_blk_new(c->bd, false, false, "fuzz", &irq, c->mem);
    struct virtio_rng *r = virtio_rng_new(&irq, c->mem);
    c->con = virtio_console_new(NULL, &irq, c->mem);
    c->in = virtio_input_new(&irq, c->mem);
    c->bal = virtio_balloon_new(true, &irq, c->mem);
    if (!b || !r || !c->con || !c->in || !c->bal || virtio_net_new(NULL, (const uint8_t[6]){ 0x52, 0x54, 0, 0, 0, 1 }, &irq, c->mem,
                                                     &c->net))
        abort();
    c->dev[0] = virtio_blk_device(b);
    c->vdev[0] = virtio_blk_transport(b);
    c->nqueues[0] = 1;
    c->dev[1] = virtio_net_device(c->net);
    c->vdev[1] = virtio_net_transport(c->net);
    c->nqueues[1] = 2;
    c->dev[2] = virtio_console_device(c->con);
    c->vdev[2] = virtio_console_transport(c->con);
    c->nqueues[2] = 2;
    c->dev[3] = virtio_rng_device(r);
    c->vdev[3] = virtio_rng_transport(r);
    c->nqueues[3] = 1;
    c->dev[4] = virtio_input_device(c->in);
    c->vdev[4] = virtio_input_transport(c->in);
    c->nqueues[4] = 2;
    c->dev[5] = virtio_balloon_device(c->bal);
    c->vdev[5] = virtio_balloon_transport(c->bal);
    c->nqueues[5] = 3;
    for (unsigned i = 0; i < NDEV; i++)
        if (c->dev[i].ops->quiesce(c->dev[i].opaque))
            abort();
    return c;
}

/* ------------------------------------------------------------ seeds */

static void seed_chain(struct fake_driver *f, struct fk_ring *r, unsigned i, bool writable,
                       uint32_t len)
{
    uint64_t g = BUF(i);
    fk_ring_add(f, r, &g, &len, 1, writable ? 0 : 1);
}

static void write_seed(const char *dir, struct fuzz_ctx *c, unsigned i)
{
    struct sstate_writer w;
    sstate_writer_init(&w);
    if (c->dev[i].ops->quiesce(c->dev[i].opaque) || c->dev[i].ops->save(c->dev[i].opaque, &w))
        abort();
    char path[512];
    snprintf(path, sizeof(path), "%s/seed-%s", dir, c->dev[i].ops->tag);
    FILE *fp = fopen(path, "wb");
    uint8_t sel = (uint8_t)i;
    if (!fp || fwrite(&sel, 1, 1, fp) != 1 || fwrite(w.buf, 1, w.len, fp) != w.len || fclose(fp))
        abort();
    sstate_writer_free(&w);
    c->dev[i].ops->reset(c->dev[i].opaque);
}

/* Bring each device up through its registers (EVENT_IDX negotiated),
 * serve a few requests, leave work pending, save. */
static void write_seeds(const char *dir, struct fuzz_ctx *c)
{
    for (unsigned i = 0; i < NDEV; i++) {
        struct fake_driver f = { .mem = c->mem, .dev = c->vdev[i] };
        struct fk_ring r[3];
        c->dev[i].ops->resume(c->dev[i].opaque);
        uint64_t feat = VIRTIO_F_COMMON;
        if (i == 1)
            feat |= 1ULL << VIRTIO_NET_F_MAC;
        if (i == 5)
            feat |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM |
                    1ULL << VIRTIO_BALLOON_F_PAGE_REPORTING;
        fk_negotiate(&f, feat);
        for (unsigned q = 0; q < c->nqueues[i]; q++)
            fk_ring_init(&f, &r[q], q, 16, RING(q));
        fk_driver_ok(&f);
        switch (i) {
        case 0: {   /* blk: a GET_ID */
            uint32_t type = 8;
            mem_write(c->mem, BUF(0), &type, 4);
            uint64_t g[2] = { BUF(0), BUF(1) };
            uint32_t l[2] = { 16, 21 };
            fk_ring_add(&f, &r[0], g, l, 2, 1);
            fk_wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
            block_aio_drain(c->bd);
            break;
        }
        case 1: {   /* net: a frame delivered, two waiting */
            uint8_t fr[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5 };
            seed_chain(&f, &r[0], 0, true, 0x800);
            fk_wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
            for (unsigned k = 0; k < 3; k++)
                virtio_net_rx(c->net, fr, sizeof(fr));
            break;
        }
        case 2:     /* console: input waiting */
            virtio_console_input(c->con, (const uint8_t *)"seed input", 10);
            break;
        case 4:     /* input: a config selection, a press half delivered */
            virtio_mmio_ops.write(c->vdev[i], VIRTIO_MMIO_CONFIG, 0x11, 1);
            virtio_mmio_ops.write(c->vdev[i], VIRTIO_MMIO_CONFIG + 1, 1, 1);
            seed_chain(&f, &r[0], 0, true, 8);
            seed_chain(&f, &r[0], 1, true, 8);
            fk_wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
            if (virtio_input_power_button(c->in))
                abort();
            break;
        case 5: {   /* balloon: a target, a page inflated, one waiting */
            uint32_t pfn = (uint32_t)(BUF(4) >> 12), actual = 1;
            mem_write(c->mem, BUF(0), &pfn, 4);
            virtio_balloon_set_target(c->bal, 2);
            virtio_mmio_ops.write(c->vdev[i], VIRTIO_MMIO_CONFIG + 4, actual, 4);
            seed_chain(&f, &r[0], 0, false, 4);
            fk_wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
            seed_chain(&f, &r[0], 0, false, 4);
            break;
        }
        default:    /* rng: two requests */
            seed_chain(&f, &r[0], 0, true, 32);
            seed_chain(&f, &r[0], 1, true, 32);
            fk_wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
            break;
        }
        write_seed(dir, c, i);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct fuzz_ctx *c = ctx_get();
    const char *dir = getenv("VSTATE_SEED_DIR");
    if (dir)
        write_seeds(dir, c);
    return 0;
}

/* ------------------------------------------------------------ target */

/* A little-endian u32 (a section header's version field, sstate.h). */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_ctx *c = ctx_get();
    if (size < 1)
        return 0;
    unsigned i = data[0] % NDEV;
    struct device dv = c->dev[i];
    struct sstate_writer before, after;
    sstate_writer_init(&before);
    sstate_writer_init(&after);
    if (dv.ops->save(dv.opaque, &before))
        abort();
    struct sstate_reader r;
    sstate_reader_init(&r, data + 1, size - 1);
    if (dv.ops->restore(dv.opaque, &r) == 0) {
        /* Accepted: a section of the version the device writes saves back
         * to exactly the bytes it read; an older one (still read) saves as
         * the current version, which must then be a fixed point: restored
         * and saved again, the same bytes. */
        if (dv.ops->save(dv.opaque, &after))
            abort();
        if (size - 1 >= 12 && le32(data + 1 + 8) == le32(before.buf + 8)) {
            if (after.len != r.pos || memcmp(after.buf, data + 1, after.len))
                abort();
        } else {
            struct sstate_writer again;
            struct sstate_reader ar;
            sstate_writer_init(&again);
            sstate_reader_init(&ar, after.buf, after.len);
            if (dv.ops->restore(dv.opaque, &ar) || ar.pos != after.len ||
                dv.ops->save(dv.opaque, &again) || again.len != after.len ||
                memcmp(again.buf, after.buf, after.len))
                abort();
            sstate_writer_free(&again);
        }
        /* ...and runs: pending work, a notification on every queue. */
        dv.ops->resume(dv.opaque);
        for (unsigned q = 0; q < c->nqueues[i]; q++)
            virtio_mmio_ops.write(c->vdev[i], VIRTIO_MMIO_QUEUE_NOTIFY, q, 4);
        for (uint64_t off = 0; off < 0x100; off += 4)
            (void)virtio_mmio_ops.read(c->vdev[i], off, 4);
        if (dv.ops->quiesce(dv.opaque))
            abort();
        dv.ops->reset(dv.opaque);
    } else {
        if (dv.ops->save(dv.opaque, &after) || after.len != before.len ||
            memcmp(after.buf, before.buf, before.len))
            abort();   /* a refused restore changed the device */
    }
    sstate_writer_free(&before);
    sstate_writer_free(&after);
    return 0;
}
