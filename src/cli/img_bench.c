/* vessel img bench: the same measurement as `qemu-img bench`, run through
 * the block layer's API: COUNT requests of SIZE bytes starting at OFFSET,
 * each STEP bytes after the previous one (modulo the disk size), DEPTH of
 * them in flight on the asynchronous interface. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/img_int.h"
#include "util/util.h"

/* Bytes of request buffers (SIZE x DEPTH) bench allocates at most: far
 * above any useful measurement, far below what would push the host into
 * swap or OOM. */
#define BENCH_MAX_BUFFERS (1ull << 30)

struct bench {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned inflight;
    unsigned low;      /* wake the submitter when inflight falls to this */
    bool waiting;      /* the submitter waits on cond */
    unsigned *free;    /* stack of request slots not in flight */
    unsigned nfree;
    int err;
};

struct bench_req {
    struct block_aio_req req;
    struct bench *b;
    unsigned slot;
};

static void bench_done(struct block_aio_req *req, int ret)
{
    struct bench_req *br = (struct bench_req *)req;
    struct bench *b = br->b;
    pthread_mutex_lock(&b->lock);
    if (ret < 0 && !b->err)
        b->err = ret;
    b->inflight--;
    b->free[b->nfree++] = br->slot;
    /* Refill in batches: waking the submitter for every completion costs
     * a context switch per request, more than a cached 4 KiB read. */
    if (b->waiting && b->inflight <= b->low)
        pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

int img_bench(int argc, char **argv)
{
    const char *fmt = NULL;
    uint64_t count = 75000, size = 4096, step = 0, offset = 0, depth = 64;
    bool write = false;
    enum img_lock lock = IMG_LOCK;
    int ch;
    while ((ch = getopt(argc, argv, "c:d:f:o:s:S:wt:i:nqU")) != -1) {
        uint64_t *dst = NULL;
        switch (ch) {
        case 'c': dst = &count; break;
        case 'd': dst = &depth; break;
        case 'o': dst = &offset; break;
        case 's': dst = &size; break;
        case 'S': dst = &step; break;
        case 'f': fmt = optarg; break;
        case 'w': write = true; break;
        case 'U': lock = IMG_FORCE_SHARE; break;
        case 't': case 'i': case 'n': case 'q': break;
        default:
            fprintf(stderr, "usage: vessel img bench [-c COUNT] [-d DEPTH] "
                    "[-s SIZE] [-S STEP] [-o OFFSET] [-U | -w] FILE\n");
            return 1;
        }
        if (dst && parse_size(optarg, dst) < 0) {
            fprintf(stderr, "vessel img bench: bad number '%s'\n", optarg);
            return 1;
        }
    }
    if (optind >= argc || !size || !depth || depth > 1024) {
        fprintf(stderr, "vessel img bench: need FILE (and SIZE > 0, DEPTH "
                "1..1024)\n");
        return 1;
    }
    if (!step)
        step = size;
    /* One buffer per request in flight; refuse what cannot be meant
     * before the product overflows or the allocation fails. */
    char hs[32], hl[32];
    if (size > BENCH_MAX_BUFFERS / depth) {
        img_human_size(size, hs, sizeof(hs));
        img_human_size(BENCH_MAX_BUFFERS, hl, sizeof(hl));
        fprintf(stderr, "vessel img bench: -s %llu (%s) with -d %llu needs "
                "a buffer per request in flight, more than the limit of %s "
                "(SIZE x DEPTH <= %llu bytes); lower -s or -d\n",
                (unsigned long long)size, hs, (unsigned long long)depth, hl,
                (unsigned long long)BENCH_MAX_BUFFERS);
        return 1;
    }
    struct block_dev *bd;
    if (img_open(&bd, argv[optind], write ? 0 : BLOCK_O_RDONLY, fmt,
                 lock) < 0)
        return 1;
    uint64_t disk = block_length(bd);
    if (size > disk) {
        fprintf(stderr, "vessel img bench: %s: request size %llu is larger "
                "than the disk (%llu bytes)\n", argv[optind],
                (unsigned long long)size, (unsigned long long)disk);
        block_close(bd);
        return 1;
    }
    struct bench_req *reqs = calloc(depth, sizeof(*reqs));
    uint8_t *bufs = malloc(depth * size);
    if (!reqs || !bufs) {
        img_human_size(depth * size, hs, sizeof(hs));
        fprintf(stderr, "vessel img bench: cannot allocate %s of request "
                "buffers (%llu x %llu bytes): out of memory; lower -s or "
                "-d\n", hs, (unsigned long long)depth,
                (unsigned long long)size);
        free(reqs);
        free(bufs);
        block_close(bd);
        return 1;
    }
    unsigned *freeslots = malloc(depth * sizeof(*freeslots));
    unsigned *grab = malloc(depth * sizeof(*grab));
    if (!freeslots || !grab) {
        fprintf(stderr, "vessel img bench: out of memory\n");
        free(freeslots);
        free(grab);
        free(reqs);
        free(bufs);
        block_close(bd);
        return 1;
    }
    struct bench b = { .low = (unsigned)depth / 2, .free = freeslots,
                       .nfree = (unsigned)depth, .err = 0 };
    for (unsigned i = 0; i < depth; i++)
        freeslots[i] = (unsigned)(depth - 1 - i);
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cond, NULL);
    memset(bufs, write ? 0xa5 : 0, depth * size);
    printf("Sending %llu %s requests, %llu bytes each, %llu in parallel "
           "(starting at offset %llu, step size %llu)\n",
           (unsigned long long)count, write ? "write" : "read",
           (unsigned long long)size, (unsigned long long)depth,
           (unsigned long long)offset, (unsigned long long)step);
    uint64_t t0 = host_time_ns(), off = offset;
    uint64_t submitted = 0;
    while (submitted < count && !b.err) {
        /* Take every free slot at once (a request's slot is free only
         * once its completion ran), then submit them outside the lock. */
        pthread_mutex_lock(&b.lock);
        while (!b.nfree) {
            b.waiting = true;
            pthread_cond_wait(&b.cond, &b.lock);
            b.waiting = false;
        }
        unsigned n = b.nfree;
        if (n > count - submitted)
            n = (unsigned)(count - submitted);
        for (unsigned i = 0; i < n; i++)
            grab[i] = b.free[--b.nfree];
        b.inflight += n;
        pthread_mutex_unlock(&b.lock);
        for (unsigned i = 0; i < n; i++) {
            struct bench_req *br = &reqs[grab[i]];
            if (off + size > disk)
                off = 0;
            br->b = &b;
            br->slot = grab[i];
            br->req = (struct block_aio_req){
                .op = write ? BLOCK_AIO_WRITE : BLOCK_AIO_READ,
                .off = off, .len = size, .cb = bench_done,
                .buf = bufs + (uint64_t)grab[i] * size };
            int r = block_aio_submit(bd, &br->req);
            if (r < 0) {
                fprintf(stderr, "vessel img bench: submit failed: %s\n",
                        strerror(-r));
                pthread_mutex_lock(&b.lock);
                b.inflight -= n - i;
                if (!b.err)
                    b.err = r;
                pthread_mutex_unlock(&b.lock);
                break;
            }
            submitted++;
            off = (off + step) % disk;
        }
    }
    block_aio_drain(bd); /* like qemu-img bench without --flush-interval */
    uint64_t t1 = host_time_ns();
    printf("Run completed in %.3f seconds.\n", (double)(t1 - t0) / 1e9);
    int err = b.err;
    block_close(bd);
    free(reqs);
    free(bufs);
    free(freeslots);
    free(grab);
    pthread_cond_destroy(&b.cond);
    pthread_mutex_destroy(&b.lock);
    if (err < 0) {
        fprintf(stderr, "vessel img bench: I/O error: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
