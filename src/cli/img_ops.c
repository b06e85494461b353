/* vessel img convert / commit / rebase: the subcommands that move data. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/img_int.h"
#include "util/util.h"

struct progress {
    bool on;
    int last;
};

static void show_progress(void *opaque, uint64_t done, uint64_t total)
{
    struct progress *p = opaque;
    if (!p->on || !total)
        return;
    int pct = (int)(done * 100 / total);
    if (pct != p->last) {
        p->last = pct;
        printf("\r    (%d.00/100%%)", pct);
        if (pct == 100)
            printf("\n");
        fflush(stdout);
    }
}

static bool all_zero(const uint8_t *p, size_t n)
{
    /* p[0] is zero and every byte equals the next one */
    return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

int img_convert(int argc, char **argv)
{
    const char *ifmt = NULL, *ofmt = "raw";
    struct block_create_opts c = {0};
    struct progress pr = { isatty(1), -1 };
    enum img_lock lock = IMG_LOCK;
    char *opts = NULL;
    int ch;
    while ((ch = getopt(argc, argv, "f:O:o:pqcU")) != -1) {
        switch (ch) {
        case 'f': ifmt = optarg; break;
        case 'O': ofmt = optarg; break;
        case 'o': opts = optarg; break;
        case 'p': pr.on = true; break;
        case 'q': pr.on = false; break;
        case 'U': lock = IMG_FORCE_SHARE; break;
        case 'c': break;
        default:
            fprintf(stderr, "usage: vessel img convert [-U] [-f FMT] [-O "
                    "qcow2|raw|vpc|vdi|vhdx] [-o cluster_size=N,compat=..,subformat=..,"
                    "block_size=N] "
                    "[-p] SRC DST\n");
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
                        "subformat=dynamic|fixed|static, static=on|off)\n", kv);
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
    if ((guard < 0 && img_lock_output(dst, &guard) < 0) ||
        img_open(&out, dst, 0, block_format_name(c.format), IMG_NO_LOCK) < 0) {
        block_unlock_file(guard);
        block_close(in);
        return 1;
    }
    const size_t chunk = 1 << 20;
    uint8_t *buf = malloc(chunk);
    int r = buf ? 0 : -ENOMEM;
    if (!buf)
        fprintf(stderr, "vessel img convert: cannot allocate a %zu-byte "
                "buffer: out of memory\n", chunk);
    uint64_t size = c.size;
    for (uint64_t off = 0; off < size && r == 0;) {
        uint64_t n = MIN((uint64_t)chunk, size - off), pnum;
        int st = block_get_status(in, off, n, true, &pnum);
        if (st < 0) {
            r = st;
            fprintf(stderr, "vessel img: %s\n", img_errstr(in, r));
            break;
        }
        if (st != BLOCK_STATUS_ZERO) {
            r = block_pread(in, off, buf, (size_t)pnum);
            if (r < 0) {
                fprintf(stderr, "vessel img: %s\n", img_errstr(in, r));
                break;
            }
            /* keep the output thin: skip all-zero 64 KiB pieces, and
             * write each run of the others in one request */
            for (uint64_t p = 0, q; p < pnum && r == 0; p = q) {
                q = p + MIN(65536, pnum - p);
                if (all_zero(buf + p, (size_t)(q - p)))
                    continue;
                while (q < pnum && !all_zero(buf + q, (size_t)MIN(65536, pnum - q)))
                    q += MIN(65536, pnum - q);
                r = block_pwrite(out, off + p, buf + p, (size_t)(q - p));
                if (r < 0)
                    fprintf(stderr, "vessel img: %s\n", img_errstr(out, r));
            }
        }
        off += pnum;
        show_progress(&pr, off, size);
    }
    if (r == 0 && (r = block_flush(out)) < 0)
        fprintf(stderr, "vessel img: %s\n", img_errstr(out, r));
    free(buf);
    block_close(in);
    block_close(out);
    block_unlock_file(guard);
    return r < 0 ? 1 : 0;
}

int img_commit(int argc, char **argv)
{
    const char *fmt = NULL;
    struct progress pr = { isatty(1), -1 };
    int ch;
    while ((ch = getopt(argc, argv, "f:pqdt:")) != -1) {
        switch (ch) {
        case 'f': fmt = optarg; break;
        case 'p': pr.on = true; break;
        case 'q': pr.on = false; break;
        case 'd': case 't': break;
        default:
            fprintf(stderr, "usage: vessel img commit [-f FMT] [-p] FILE\n");
            return 1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "vessel img commit: missing FILE\n");
        return 1;
    }
    struct block_dev *bd;
    if (img_open(&bd, argv[optind], BLOCK_O_BACKING_RW, fmt, IMG_LOCK) < 0)
        return 1;
    int r = block_commit(bd, show_progress, &pr);
    if (r == 0)
        r = block_flush(bd);
    if (r < 0)
        fprintf(stderr, "vessel img: %s\n", img_errstr(bd, r));
    else
        printf("Image committed.\n");
    block_close(bd);
    return r < 0 ? 1 : 0;
}

int img_rebase(int argc, char **argv)
{
    const char *fmt = NULL, *bfmt = NULL, *backing = NULL;
    bool unsafe = false;
    enum img_lock lock = IMG_LOCK;
    int ch;
    while ((ch = getopt(argc, argv, "f:F:b:upqt:T:U")) != -1) {
        switch (ch) {
        case 'f': fmt = optarg; break;
        case 'F': bfmt = optarg; break;
        case 'b': backing = optarg; break;
        case 'u': unsafe = true; break;
        case 'U': lock = IMG_FORCE_SHARE; break;
        case 'p': case 'q': case 't': case 'T': break;
        default:
            fprintf(stderr, "usage: vessel img rebase [-u] [-U] -b BACKING "
                    "[-F FMT] FILE\n");
            return 1;
        }
    }
    if (optind >= argc || !backing) {
        fprintf(stderr, "vessel img rebase: need -b BACKING (\"\" for none) "
                "and FILE\n");
        return 1;
    }
    const char *file = argv[optind];
    if (img_check_backing(file, backing, bfmt, "rebase") < 0)
        return 1;
    struct block_dev *bd, *nb = NULL;
    unsigned fl = unsafe ? BLOCK_O_NO_BACKING : 0;
    if (img_open(&bd, file, fl, fmt, IMG_LOCK) < 0)
        return 1;
    /* A safe rebase reads the new backing chain: hold its read lock for
     * the whole copy, refusing a chain that is being written (its data
     * would end up half old, half new); -U reads it without a lock. */
    if (!unsafe && *backing) {
        char *full = img_backing_path(file, backing);
        enum block_format bf;
        char err[BLOCK_ERR_LEN] = "out of memory";
        int o = -ENOMEM;
        if (img_parse_fmt(bfmt, &bf) < 0) {
            free(full);
            block_close(bd);
            return 1;
        }
        if (full)
            o = block_open(&nb, full, BLOCK_O_RDONLY |
                           (lock == IMG_LOCK ? BLOCK_O_LOCK : 0), bf, err,
                           sizeof(err));
        free(full);
        if (o < 0) {
            fprintf(stderr, "vessel img rebase: new backing file: %s\n", err);
            block_close(bd);
            return 1;
        }
    }
    int r = block_rebase(bd, backing, bfmt, unsafe);
    if (r == 0)
        r = block_flush(bd);
    if (r < 0)
        fprintf(stderr, "vessel img: %s\n", img_errstr(bd, r));
    block_close(nb);
    block_close(bd);
    return r < 0 ? 1 : 0;
}
