/* blkrand: test driver for the block layer, built by the tests/block
 * scripts against libvessel.a.
 *
 *   blkrand mirror IMAGE RAW SEED STEPS [snap]
 *       apply the same random writes / discards / write-zeroes (and, with
 *       "snap", snapshot create/apply/delete) to an image (format probed:
 *       qcow2, a dynamic VHD, a VDI) through the
 *       block layer and to a raw file, comparing after every step;
 *       exit 0 when they always matched.
 *   blkrand crash QCOW2 SEED
 *       random allocating writes/discards forever, printing "step N" after
 *       each completes (the caller SIGKILLs it at a random point).
 *   blkrand discard FILE OFF LEN
 *   blkrand aio QCOW2
 *       asynchronous writes + flush barriers, then verify.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void die(const char *what, struct block_dev *bd)
{
    fprintf(stderr, "blkrand: %s: %s\n", what, bd ? block_last_error(bd) : "");
    exit(1);
}

static int copy_file(const char *from, const char *to)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", from, to);
    return system(cmd);
}

static int mirror(const char *q, const char *raw, uint64_t seed, long steps,
                  bool snap)
{
    rng_state = seed * 2654435761u + 1;
    struct block_dev *bq, *br;
    char err[BLOCK_ERR_LEN];
    if (block_open(&bq, q, 0, BLOCK_FMT_PROBE, err, sizeof(err)) < 0 ||
        block_open(&br, raw, 0, BLOCK_FMT_RAW, err, sizeof(err)) < 0) {
        fprintf(stderr, "blkrand: open: %s\n", err);
        return 1;
    }
    uint64_t size = block_length(bq);
    if (block_length(br) != size) {
        fprintf(stderr, "blkrand: size mismatch\n");
        return 1;
    }
    size_t maxlen = 256 * 1024;
    uint8_t *a = malloc(maxlen), *b = malloc(maxlen);
    int nsnap = 0;
    char snapraw[64][4200];
    for (long step = 0; step < steps; step++) {
        unsigned op = (unsigned)(rnd() % 100);
        uint64_t len = 1 + rnd() % maxlen;
        if (rnd() % 2)
            len = (len + 511) & ~511ull;
        if (len > maxlen) len = maxlen;
        uint64_t off = rnd() % (size - len + 1);
        if (rnd() % 2)
            off &= ~4095ull;
        int r = 0;
        if (op < 60) {
            uint8_t pat = (uint8_t)rnd();
            for (uint64_t i = 0; i < len; i++)
                a[i] = (uint8_t)(pat + i * 7 + (i >> 9));
            r = block_pwrite(bq, off, a, len);
            if (r == 0) r = block_pwrite(br, off, a, len);
        } else if (op < 72) {
            r = block_discard(bq, off, len);
            if (r == 0) r = block_discard(br, off, len);
        } else if (op < 84) {
            r = block_write_zeroes(bq, off, len);
            if (r == 0) r = block_write_zeroes(br, off, len);
        } else if (op < 88) {
            r = block_flush(bq);
        } else if (snap && op < 92 && nsnap < 64) {
            char name[32];
            snprintf(name, sizeof(name), "s%d", nsnap);
            r = block_snapshot_create(bq, name);
            snprintf(snapraw[nsnap], sizeof(snapraw[0]), "%s.%s", raw, name);
            if (r == 0) {
                block_flush(br);
                r = copy_file(raw, snapraw[nsnap]) ? -EIO : 0;
            }
            nsnap++;
        } else if (snap && op < 95 && nsnap) {
            int k = (int)(rnd() % (uint64_t)nsnap);
            char name[32];
            snprintf(name, sizeof(name), "s%d", k);
            r = block_snapshot_apply(bq, name);
            if (r == -ENOENT) { r = 0; continue; }
            if (r == 0) {
                block_close(br);
                r = copy_file(snapraw[k], raw) ? -EIO : 0;
                if (block_open(&br, raw, 0, BLOCK_FMT_RAW, err,
                               sizeof(err)) < 0) {
                    fprintf(stderr, "blkrand: reopen: %s\n", err);
                    return 1;
                }
            }
        } else if (snap && op < 97 && nsnap) {
            int k = (int)(rnd() % (uint64_t)nsnap);
            char name[32];
            snprintf(name, sizeof(name), "s%d", k);
            r = block_snapshot_delete(bq, name);
            if (r == -ENOENT) r = 0;
        }
        if (r < 0) {
            fprintf(stderr, "blkrand: step %ld op %u off %llu len %llu: %s\n",
                    step, op, (unsigned long long)off,
                    (unsigned long long)len, block_last_error(bq));
            return 1;
        }
        /* compare a random range and the range just touched */
        for (int k = 0; k < 2; k++) {
            uint64_t coff = k ? off : rnd() % (size - len + 1);
            if (block_pread(bq, coff, a, len) < 0) die("read qcow2", bq);
            if (block_pread(br, coff, b, len) < 0) die("read raw", br);
            if (memcmp(a, b, len)) {
                fprintf(stderr, "blkrand: MISMATCH at step %ld op %u "
                        "range %llu+%llu\n", step, op,
                        (unsigned long long)coff, (unsigned long long)len);
                return 1;
            }
        }
    }
    /* full comparison */
    for (uint64_t o = 0; o < size; o += maxlen) {
        size_t n = (size_t)(size - o < maxlen ? size - o : maxlen);
        if (block_pread(bq, o, a, n) < 0 || block_pread(br, o, b, n) < 0)
            die("final read", bq);
        if (memcmp(a, b, n)) {
            fprintf(stderr, "blkrand: final MISMATCH at %llu\n",
                    (unsigned long long)o);
            return 1;
        }
    }
    for (int k = 0; k < nsnap; k++)
        unlink(snapraw[k]);
    if (block_flush(bq) < 0) die("flush", bq);
    block_close(bq);
    block_close(br);
    free(a); free(b);
    return 0;
}

static int crash(const char *q, uint64_t seed)
{
    rng_state = seed * 2654435761u + 1;
    struct block_dev *bq;
    char err[BLOCK_ERR_LEN];
    if (block_open(&bq, q, 0, BLOCK_FMT_PROBE, err, sizeof(err)) < 0) {
        fprintf(stderr, "blkrand: open: %s\n", err);
        return 1;
    }
    uint64_t size = block_length(bq);
    uint8_t buf[65536];
    for (long step = 0;; step++) {
        uint64_t len = 512 * (1 + rnd() % 128);
        uint64_t off = (rnd() % (size - len)) & ~511ull;
        memset(buf, (int)(step & 0xff), sizeof(buf));
        int r;
        unsigned op = (unsigned)(rnd() % 10);
        if (op < 7)
            r = block_pwrite(bq, off, buf, len);
        else if (op < 9)
            r = block_discard(bq, off, len * 4);
        else {
            char name[32];
            snprintf(name, sizeof(name), "c%ld", step % 3);
            r = block_snapshot_create(bq, name);
            if (r == -EEXIST)
                r = block_snapshot_delete(bq, name);
        }
        if (r < 0) die("crash writer", bq);
        printf("step %ld\n", step);
        fflush(stdout);
    }
}

struct aio_ctx {
    pthread_mutex_t m;
    pthread_cond_t c;
    int pending, err, order_bad, writes_done;
};

struct my_req {
    struct block_aio_req r;
    struct aio_ctx *ctx;
};

static void aio_cb(struct block_aio_req *req, int ret)
{
    struct my_req *m = (struct my_req *)req;
    struct aio_ctx *c = m->ctx;
    pthread_mutex_lock(&c->m);
    if (ret < 0) c->err = ret;
    if (req->op == BLOCK_AIO_WRITE)
        c->writes_done++;
    if (req->op == BLOCK_AIO_FLUSH && c->writes_done != (int)req->len)
        c->order_bad = 1; /* len holds the writes submitted before it */
    c->pending--;
    pthread_cond_broadcast(&c->c);
    pthread_mutex_unlock(&c->m);
}

static int aio_test(const char *q)
{
    struct block_dev *bq;
    char err[BLOCK_ERR_LEN];
    if (block_open(&bq, q, 0, BLOCK_FMT_PROBE, err, sizeof(err)) < 0) {
        fprintf(stderr, "blkrand: open: %s\n", err);
        return 1;
    }
    enum { N = 256, SZ = 8192 };
    static struct my_req reqs[N + N / 16];
    static uint8_t bufs[N][SZ];
    struct aio_ctx ctx = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                           0, 0, 0, 0 };
    int k = 0, writes = 0;
    for (int i = 0; i < N; i++) {
        memset(bufs[i], i & 0xff, SZ);
        struct my_req *m = &reqs[k++];
        m->ctx = &ctx;
        m->r.op = BLOCK_AIO_WRITE;
        m->r.off = (uint64_t)i * 3 * SZ;
        m->r.buf = bufs[i];
        m->r.len = SZ;
        m->r.cb = aio_cb;
        pthread_mutex_lock(&ctx.m); ctx.pending++; pthread_mutex_unlock(&ctx.m);
        if (block_aio_submit(bq, &m->r) < 0) return 1;
        writes++;
        if (i % 16 == 15) {
            struct my_req *f = &reqs[k++];
            f->ctx = &ctx;
            f->r.op = BLOCK_AIO_FLUSH;
            f->r.len = (uint64_t)writes;
            f->r.cb = aio_cb;
            pthread_mutex_lock(&ctx.m); ctx.pending++;
            pthread_mutex_unlock(&ctx.m);
            if (block_aio_submit(bq, &f->r) < 0) return 1;
        }
    }
    block_aio_drain(bq);
    if (ctx.pending || ctx.err || ctx.order_bad) {
        fprintf(stderr, "blkrand: aio pending %d err %d order_bad %d\n",
                ctx.pending, ctx.err, ctx.order_bad);
        return 1;
    }
    uint8_t chk[SZ];
    for (int i = 0; i < N; i++) {
        if (block_pread(bq, (uint64_t)i * 3 * SZ, chk, SZ) < 0) return 1;
        for (int j = 0; j < SZ; j++)
            if (chk[j] != (i & 0xff)) {
                fprintf(stderr, "blkrand: aio data mismatch req %d\n", i);
                return 1;
            }
    }
    block_close(bq);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && !strcmp(argv[1], "mirror"))
        return mirror(argv[2], argv[3], strtoull(argv[4], NULL, 0),
                      strtol(argv[5], NULL, 0),
                      argc > 6 && !strcmp(argv[6], "snap"));
    if (argc == 4 && !strcmp(argv[1], "crash"))
        return crash(argv[2], strtoull(argv[3], NULL, 0));
    if (argc == 5 && !strcmp(argv[1], "discard")) {
        struct block_dev *bd;
        char err[BLOCK_ERR_LEN];
        if (block_open(&bd, argv[2], 0, BLOCK_FMT_PROBE, err, sizeof(err)) < 0) {
            fprintf(stderr, "blkrand: %s\n", err);
            return 1;
        }
        int r = block_discard(bd, strtoull(argv[3], NULL, 0),
                              strtoull(argv[4], NULL, 0));
        if (r < 0)
            fprintf(stderr, "blkrand: %s\n", block_last_error(bd));
        block_close(bd);
        return r < 0;
    }
    if (argc == 3 && !strcmp(argv[1], "aio"))
        return aio_test(argv[2]);
    fprintf(stderr, "usage: blkrand mirror|crash|aio ...\n");
    return 2;
}
