/* vessel img commit / rebase: the subcommands that move data within a
 * chain (convert is img_convert.c). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/img_int.h"
#include "util/util.h"

void img_show_progress(void *opaque, uint64_t done, uint64_t total)
{
    struct img_progress *p = opaque;
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

int img_commit(int argc, char **argv)
{
    const char *fmt = NULL;
    struct img_progress pr = { isatty(1), -1 };
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
    int r = block_commit(bd, img_show_progress, &pr);
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
