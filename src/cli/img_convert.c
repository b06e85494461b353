/* vessel img convert: copy an image (its whole backing chain flattened)
 * into a new image of any writable format, keeping it thin.
 *
 * The copy is a pipeline of two threads, as qemu-img runs its reads and
 * writes concurrently: a reader thread walks the source by block status
 * and reads the allocated ranges into a ring of buffers; the calling
 * thread skips all-zero pieces and writes the rest.  On a host the
 * copying in and out of the page cache is most of the time, and the two
 * halves then run on two cores.  Each device is used by one thread only
 * (block devices serialise their callers anyway, see block.h).
 *
 * Durability: by default the output is not synced before the command
 * returns (as qemu-img convert, whose default cache mode is "unsafe"):
 * the output is a new file nothing depends on until convert returns, the
 * source is never changed, and the sync cost as much as the copy.  -t
 * with any other cache mode fdatasyncs the output before success is
 * reported (docs/block.md "vessel img"). */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/img_int.h"
#include "util/util.h"

/* 2 MiB requests as qemu-img convert; 4 in flight keep the reader ahead
 * of the writer without holding much memory. */
#define CONV_CHUNK (2u << 20)
#define CONV_SLOTS 4
/* Granularity of the zero detection that keeps the output thin. */
#define CONV_ZERO_PIECE 65536u

struct conv_slot {
    uint64_t off, len;
    bool data;          /* buf holds len bytes; else the range reads as zeros */
    uint8_t *buf;
};

struct conv {
    struct block_dev *in;
    uint64_t size;
    pthread_mutex_t lock;
    pthread_cond_t filled, freed;
    struct conv_slot slot[CONV_SLOTS];
    unsigned head, count;   /* next slot the writer takes; slots filled */
    bool stop;              /* the writer failed: the reader stops */
    bool eof;               /* the reader is done (or failed) */
    int read_err;           /* 0 or -errno of the failed read/status */
};

static void *conv_reader(void *arg)
{
    struct conv *c = arg;
    unsigned tail = 0;
    int r = 0;
    for (uint64_t off = 0; off < c->size;) {
        pthread_mutex_lock(&c->lock);
        while (c->count == CONV_SLOTS && !c->stop)
            pthread_cond_wait(&c->freed, &c->lock);
        bool stop = c->stop;
        pthread_mutex_unlock(&c->lock);
        if (stop)
            break;
        /* The slot at tail is free: only this thread fills it. */
        struct conv_slot *s = &c->slot[tail];
        uint64_t n = MIN((uint64_t)CONV_CHUNK, c->size - off), pnum;
        int st = block_get_status(c->in, off, n, true, &pnum);
        if (st < 0) {
            r = st;
            break;
        }
        s->off = off;
        s->len = pnum;
        s->data = st != BLOCK_STATUS_ZERO;
        if (s->data && (r = block_pread(c->in, off, s->buf, (size_t)pnum)) < 0)
            break;
        off += pnum;
        tail = (tail + 1) % CONV_SLOTS;
        pthread_mutex_lock(&c->lock);
        c->count++;
        pthread_cond_signal(&c->filled);
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_lock(&c->lock);
    c->read_err = r;
    c->eof = true;
    pthread_cond_signal(&c->filled);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    /* p[0] is zero and every byte equals the next one */
    return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

/* Write the slot's data to out, skipping all-zero CONV_ZERO_PIECE pieces
 * (their range stays unallocated: the new image reads zeros there) and
 * writing each run of the others in one request. */
static int conv_write(struct block_dev *out, const struct conv_slot *s)
{
    if (!s->data)
        return 0;
    int r = 0;
    for (uint64_t p = 0, q; p < s->len && r == 0; p = q) {
        q = p + MIN(CONV_ZERO_PIECE, s->len - p);
        if (all_zero(s->buf + p, (size_t)(q - p)))
            continue;
        while (q < s->len &&
               !all_zero(s->buf + q, (size_t)MIN(CONV_ZERO_PIECE, s->len - q)))
            q += MIN(CONV_ZERO_PIECE, s->len - q);
        r = block_pwrite(out, s->off + p, s->buf + p, (size_t)(q - p));
    }
    return r;
}

/* Copy every byte of in (size bytes) to the empty image out.  0, or -1
 * with a message naming the image at fault. */
static int conv_copy(struct block_dev *in, struct block_dev *out,
                     uint64_t size, struct img_progress *pr)
{
    struct conv c = { .in = in, .size = size };
    int r = 0;
    for (unsigned i = 0; i < CONV_SLOTS; i++) {
        if (!(c.slot[i].buf = malloc(CONV_CHUNK))) {
            fprintf(stderr, "vessel img convert: cannot allocate a %u-byte "
                    "buffer: out of memory\n", CONV_CHUNK);
            r = -1;
            goto out_free;
        }
    }
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.filled, NULL);
    pthread_cond_init(&c.freed, NULL);
    pthread_t th;
    int e = pthread_create(&th, NULL, conv_reader, &c);
    if (e) {
        fprintf(stderr, "vessel img convert: cannot start the reader "
                "thread: %s\n", strerror(e));
        r = -1;
        goto out_sync;
    }
    for (;;) {
        pthread_mutex_lock(&c.lock);
        while (!c.count && !c.eof)
            pthread_cond_wait(&c.filled, &c.lock);
        bool have = c.count > 0;
        pthread_mutex_unlock(&c.lock);
        if (!have)
            break;          /* eof and everything written */
        const struct conv_slot *s = &c.slot[c.head];
        int w = conv_write(out, s);
        if (w < 0) {
            fprintf(stderr, "vessel img: %s\n", img_errstr(out, w));
            r = -1;
        }
        img_show_progress(pr, s->off + s->len, size);
        pthread_mutex_lock(&c.lock);
        c.head = (c.head + 1) % CONV_SLOTS;
        c.count--;
        c.stop = r < 0;
        pthread_cond_signal(&c.freed);
        pthread_mutex_unlock(&c.lock);
        if (r < 0)
            break;
    }
    pthread_join(th, NULL);
    if (c.read_err < 0) {
        fprintf(stderr, "vessel img: %s\n", img_errstr(in, c.read_err));
        r = -1;
    }
out_sync:
    pthread_cond_destroy(&c.freed);
    pthread_cond_destroy(&c.filled);
    pthread_mutex_destroy(&c.lock);
out_free:
    for (unsigned i = 0; i < CONV_SLOTS; i++)
        free(c.slot[i].buf);
    return r;
}

/* A failed convert removes the output it created (there was no file of
 * that name before), so that no partial image is left to be mistaken for
 * a copy; an existing file it overwrote is left as it is (already
 * truncated: qemu-img does the same).  Only when dst is still the file
 * locked through fd (nobody replaced it meanwhile). */
static void conv_remove_output(const char *dst, int fd)
{
    struct stat a, b;
    if (fd >= 0 && fstat(fd, &a) == 0 && stat(dst, &b) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino && unlink(dst) == 0)
        fprintf(stderr, "vessel img convert: removed the incomplete %s\n",
                dst);
}

/* -t/-T: qemu-img's cache modes.  *sync: whether the output is synced
 * before convert returns.  0, or -1 with a message. */
static int conv_cache_mode(const char *opt, const char *mode, bool *sync)
{
    static const char *const modes[] = {
        "writeback", "none", "writethrough", "directsync",
    };
    if (!strcmp(mode, "unsafe")) {
        *sync = false;
        return 0;
    }
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (!strcmp(mode, modes[i])) {
            *sync = true;
            return 0;
        }
    }
    fprintf(stderr, "vessel img convert: unknown cache mode '%s' for %s "
            "(accepted: unsafe, writeback, none, writethrough, directsync)\n",
            mode, opt);
    return -1;
}

int img_convert(int argc, char **argv)
{
    const char *ifmt = NULL, *ofmt = "raw";
    struct block_create_opts c = {0};
    struct img_progress pr = { isatty(1), -1 };
    enum img_lock lock = IMG_LOCK;
    bool sync = false, src_sync;
    char *opts = NULL;
    int ch;
    while ((ch = getopt(argc, argv, "f:O:o:t:T:pqcU")) != -1) {
        switch (ch) {
        case 'f': ifmt = optarg; break;
        case 'O': ofmt = optarg; break;
        case 'o': opts = optarg; break;
        case 'p': pr.on = true; break;
        case 'q': pr.on = false; break;
        case 'U': lock = IMG_FORCE_SHARE; break;
        case 't':
            if (conv_cache_mode("-t", optarg, &sync) < 0)
                return 1;
            break;
        case 'T':   /* the source is only read: any mode reads the same */
            if (conv_cache_mode("-T", optarg, &src_sync) < 0)
                return 1;
            break;
        case 'c': break;
        default:
            fprintf(stderr, "usage: vessel img convert [-U] [-f FMT] [-O "
                    "qcow2|raw|vpc|vdi|vmdk|vhdx] [-o cluster_size=N,compat=..,subformat=..,"
                    "block_size=N] "
                    "[-t unsafe|writeback|...] [-p] SRC DST\n");
            return 1;
        }
    }
    if (optind + 2 != argc) {
        fprintf(stderr, "vessel img convert: need SRC and DST\n");
        return 1;
    }
    const char *src = argv[optind], *dst = argv[optind + 1];
    if (img_parse_fmt(ofmt, &c.format) < 0)
        return 1;
    if (c.format == BLOCK_FMT_PROBE)
        c.format = BLOCK_FMT_QCOW2;
    if (opts) {
        for (char *save = NULL, *kv = strtok_r(opts, ",", &save); kv;
             kv = strtok_r(NULL, ",", &save)) {
            char *v = strchr(kv, '=');
            uint64_t n;
            if (v && !strncmp(kv, "cluster_size=", 13) &&
                parse_size(v + 1, &n) == 0)
                c.cluster_size = (uint32_t)n;
            else if (v && !strncmp(kv, "block_size=", 11) &&   /* vhdx */
                     parse_size(v + 1, &n) == 0 && n <= (256u << 20))
                c.cluster_size = (uint32_t)n;
            else if (v && !strcmp(kv, "compat=0.10"))
                c.version = 2;
            else if (v && !strcmp(kv, "compat=1.1"))
                c.version = 3;
            else if (v && !strncmp(kv, "subformat=", 10))
                c.subformat = v + 1;
            else if (v && !strncmp(kv, "static=", 7))   /* qemu-img's vdi option */
                c.subformat = strcmp(v + 1, "on") ? "dynamic" : "static";
            else {
                fprintf(stderr, "vessel img convert: unknown option '%s' "
                        "(accepted: cluster_size=N, block_size=N, compat=0.10|1.1, "
                        "subformat=dynamic|fixed|static|<vmdk subformat>, static=on|off)\n", kv);
                return 1;
            }
        }
    }
    struct block_dev *in, *out;
    if (img_open(&in, src, BLOCK_O_RDONLY, ifmt, lock) < 0)
        return 1;
    /* The output is truncated first: it must be no file the input reads.
     * Then it stays write-locked from before the truncation to the end. */
    int guard = -1;
    if (img_check_output(in, src, dst, "convert") < 0 ||
        img_lock_output(dst, &guard) < 0) {
        block_close(in);
        return 1;
    }
    bool created = guard < 0;   /* no file of that name yet */
    c.size = block_length(in);
    char err[BLOCK_ERR_LEN] = "";
    int cr = block_create(dst, &c, err, sizeof(err));
    if (cr < 0) {
        if (*err)
            fprintf(stderr, "vessel img: %s\n", err);
        else
            fprintf(stderr, "vessel img: %s: %s\n", dst, strerror(-cr));
        block_unlock_file(guard);
        block_close(in);
        return 1;
    }
    int r = -1;
    out = NULL;
    if ((guard < 0 && img_lock_output(dst, &guard) < 0) ||
        img_open(&out, dst, sync ? 0 : BLOCK_O_UNSAFE, block_format_name(c.format),
                 IMG_NO_LOCK) < 0)
        goto done;
    r = conv_copy(in, out, c.size, &pr);
    /* block_close completes the image's metadata; the flush only makes it
     * durable. */
    if (r == 0 && sync && (r = block_flush(out)) < 0)
        fprintf(stderr, "vessel img: %s\n", img_errstr(out, r));
done:
    block_close(in);
    block_close(out);
    if (r < 0 && created)
        conv_remove_output(dst, guard);
    block_unlock_file(guard);
    return r < 0 ? 1 : 0;
}
