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
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

int img_convert(int argc, char **argv)
{
    const char *ifmt = NULL, *ofmt = "raw";
    struct block_create_opts c = {0};
    struct progress pr = { isatty(1), -1 };
    char *opts = NULL;
    int ch;
    while ((ch = getopt(argc, argv, "f:O:o:pqcU")) != -1) {
        switch (ch) {
        case 'f': ifmt = optarg; break;
        case 'O': ofmt = optarg; break;
        case 'o': opts = optarg; break;
        case 'p': pr.on = true; break;
        case 'q': pr.on = false; break;
        case 'c': case 'U': break;
        default:
            fprintf(stderr, "usage: vessel img convert [-f FMT] [-O qcow2|raw]"
                    " [-o cluster_size=N,compat=..] [-p] SRC DST\n");
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
            else if (v && !strcmp(kv, "compat=0.10"))
                c.version = 2;
            else if (v && !strcmp(kv, "compat=1.1"))
                c.version = 3;
            else {
                fprintf(stderr, "vessel img convert: unknown option '%s' "
                        "(accepted: cluster_size=N, compat=0.10|1.1)\n", kv);
                return 1;
            }
        }
    }
    struct block_dev *in, *out;
    if (img_open(&in, src, BLOCK_O_RDONLY, ifmt) < 0)
        return 1;
    c.size = block_length(in);
    char err[BLOCK_ERR_LEN];
    if (block_create(dst, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "vessel img: %s\n", err);
        block_close(in);
        return 1;
    }
    if (img_open(&out, dst, 0, block_format_name(c.format)) < 0) {
        block_close(in);
        return 1;
    }
    const size_t chunk = 1 << 20;
    uint8_t *buf = malloc(chunk);
    int r = buf ? 0 : -ENOMEM;
    uint64_t size = c.size;
    for (uint64_t off = 0; off < size && r == 0;) {
        uint64_t n = MIN((uint64_t)chunk, size - off), pnum;
        int st = block_get_status(in, off, n, true, &pnum);
        if (st < 0) {
            r = st;
            fprintf(stderr, "vessel img: %s\n", block_last_error(in));
            break;
        }
        if (st != BLOCK_STATUS_ZERO) {
            r = block_pread(in, off, buf, (size_t)pnum);
            if (r < 0) {
                fprintf(stderr, "vessel img: %s\n", block_last_error(in));
                break;
            }
            /* keep the output thin: skip all-zero 64 KiB pieces */
            for (uint64_t p = 0; p < pnum && r == 0; p += 65536) {
                size_t k = (size_t)MIN(65536, pnum - p);
                if (!all_zero(buf + p, k)) {
                    r = block_pwrite(out, off + p, buf + p, k);
                    if (r < 0)
                        fprintf(stderr, "vessel img: %s\n",
                                block_last_error(out));
                }
            }
        }
        off += pnum;
        show_progress(&pr, off, size);
    }
    if (r == 0 && (r = block_flush(out)) < 0)
        fprintf(stderr, "vessel img: %s\n", block_last_error(out));
    free(buf);
    block_close(in);
    block_close(out);
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
    if (img_open(&bd, argv[optind], BLOCK_O_BACKING_RW, fmt) < 0)
        return 1;
    int r = block_commit(bd, show_progress, &pr);
    if (r == 0)
        r = block_flush(bd);
    if (r < 0)
        fprintf(stderr, "vessel img: %s\n", block_last_error(bd));
    else
        printf("Image committed.\n");
    block_close(bd);
    return r < 0 ? 1 : 0;
}

int img_rebase(int argc, char **argv)
{
    const char *fmt = NULL, *bfmt = NULL, *backing = NULL;
    bool unsafe = false;
    int ch;
    while ((ch = getopt(argc, argv, "f:F:b:upqt:T:U")) != -1) {
        switch (ch) {
        case 'f': fmt = optarg; break;
        case 'F': bfmt = optarg; break;
        case 'b': backing = optarg; break;
        case 'u': unsafe = true; break;
        case 'p': case 'q': case 't': case 'T': case 'U': break;
        default:
            fprintf(stderr, "usage: vessel img rebase [-u] -b BACKING [-F FMT]"
                    " FILE\n");
            return 1;
        }
    }
    if (optind >= argc || !backing) {
        fprintf(stderr, "vessel img rebase: need -b BACKING (\"\" for none) "
                "and FILE\n");
        return 1;
    }
    struct block_dev *bd;
    unsigned fl = unsafe ? BLOCK_O_NO_BACKING : 0;
    if (img_open(&bd, argv[optind], fl, fmt) < 0)
        return 1;
    int r = block_rebase(bd, backing, bfmt, unsafe);
    if (r == 0)
        r = block_flush(bd);
    if (r < 0)
        fprintf(stderr, "vessel img: %s\n", block_last_error(bd));
    block_close(bd);
    return r < 0 ? 1 : 0;
}
