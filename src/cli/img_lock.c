/* vessel img: how the subcommands lock the images they open and refuse
 * outputs that are their own inputs (docs/block.md "Image locking"). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/img_int.h"

/* The --backing-dir directories of this command.  The one piece of
 * process state in `vessel img`: a command is one process, and the
 * directories apply to every image it opens. */
static struct {
    const char *dirs[IMG_MAX_BACKING_DIRS];
    unsigned n;
} backing_allow;

int img_add_backing_dir(const char *dir)
{
    if (backing_allow.n == IMG_MAX_BACKING_DIRS) {
        fprintf(stderr, "vessel img: --backing-dir %s: at most %d directories "
                "may be given\n", dir, IMG_MAX_BACKING_DIRS);
        return -1;
    }
    backing_allow.dirs[backing_allow.n++] = dir;
    return 0;
}

/* block_open with the command's backing directories. */
static int open_allowed(struct block_dev **bd, const char *file,
                        unsigned flags, enum block_format f, char *err,
                        size_t elen)
{
    const struct block_open_opts opts = {
        .backing_dirs = backing_allow.dirs,
        .nbacking_dirs = backing_allow.n,
        .allow_hint = "vessel img --backing-dir DIR ...",
    };
    return block_open_with(bd, file, flags, f, &opts, err, elen);
}

int img_open(struct block_dev **bd, const char *file, unsigned flags,
             const char *fmt, enum img_lock lock)
{
    enum block_format f;
    if (img_parse_fmt(fmt, &f) < 0)
        return -1;
    bool ro = flags & BLOCK_O_RDONLY;
    if (!ro && lock == IMG_FORCE_SHARE) {
        fprintf(stderr, "vessel img: %s: -U (--force-share) is only for "
                "commands that read an image, and this one writes it\n", file);
        return -1;
    }
    char err[BLOCK_ERR_LEN];
    unsigned lf = lock == IMG_LOCK ? BLOCK_O_LOCK : 0;
    int r = open_allowed(bd, file, flags | lf, f, err, sizeof(err));
    if (r == -EBUSY && ro && lf) {
        /* A reader of an image a VM is using still works, as qemu-img -U
         * does, but must not pass for a consistent view. */
        char *tail = strstr(err, "; shared read access refused");
        if (tail)
            *tail = 0;
        fprintf(stderr, "vessel img: warning: %s\nvessel img: warning: "
                "reading it without a lock: the data may be changing while "
                "it is read (-U reads without a lock and without this "
                "warning)\n", err);
        r = open_allowed(bd, file, flags, f, err, sizeof(err));
    }
    if (r < 0) {
        if (*err)
            fprintf(stderr, "vessel img: %s\n", err);
        else
            fprintf(stderr, "vessel img: %s: %s\n", file, strerror(-r));
        return -1;
    }
    return 0;
}

int img_lock_output(const char *file, int *fd)
{
    char err[BLOCK_ERR_LEN];
    int r = block_lock_file(file, true, fd, err, sizeof(err));
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        fprintf(stderr, "vessel img: %s; not overwriting it\n", err);
        return -1;
    }
    return 0;
}

int img_check_output(struct block_dev *in, const char *src, const char *out,
                     const char *cmd)
{
    const char *member = NULL;
    int r = block_chain_find(in, out, &member);
    if (r < 0) {
        fprintf(stderr, "vessel img %s: %s: %s\n", cmd, out, strerror(-r));
        return -1;
    }
    if (r == 0)
        return 0;
    if (r == 1)
        fprintf(stderr, "vessel img %s: the output %s is the same file as the "
                "input image %s", cmd, out, src);
    else
        fprintf(stderr, "vessel img %s: the output %s is the same file as %s, "
                "a backing file of the input image %s", cmd, out, member, src);
    fprintf(stderr, "; writing it would destroy the data being read (give "
            "another output file)\n");
    return -1;
}

char *img_backing_path(const char *image, const char *backing)
{
    if (backing[0] == '/')
        return strdup(backing);
    char *copy = strdup(image);
    size_t n = strlen(image) + strlen(backing) + 2;
    char *full = malloc(n);
    if (copy && full)
        snprintf(full, n, "%s/%s", dirname(copy), backing);
    else {
        free(full);
        full = NULL;
    }
    free(copy);
    return full;
}

int img_check_backing(const char *image, const char *backing,
                      const char *bfmt, const char *cmd)
{
    if (!backing || !*backing)
        return 0;
    struct stat st;
    if (stat(image, &st) < 0)
        return 0;   /* a new image cannot be in anyone's chain */
    char *full = img_backing_path(image, backing);
    if (!full) {
        fprintf(stderr, "vessel img %s: out of memory\n", cmd);
        return -1;
    }
    enum block_format f = BLOCK_FMT_PROBE;
    if (bfmt && img_parse_fmt(bfmt, &f) < 0) {
        free(full);
        return -1;
    }
    /* No lock: only the identities of the chain's files are looked at
     * here; the command opens what it reads itself. */
    struct block_dev *b;
    char err[BLOCK_ERR_LEN];
    int r = 0;
    if (block_open(&b, full, BLOCK_O_RDONLY, f, err, sizeof(err)) == 0) {
        const char *member = NULL;
        int n = block_chain_find(b, image, &member);
        if (n == 1)
            fprintf(stderr, "vessel img %s: %s cannot be backed by %s: that "
                    "is the same file, and an image cannot be its own "
                    "backing file\n", cmd, image, backing);
        else if (n > 1)
            fprintf(stderr, "vessel img %s: %s cannot be backed by %s: the "
                    "backing chain of %s holds %s, which is the same file as "
                    "%s, so the chain would loop\n", cmd, image, backing,
                    backing, member, image);
        r = n > 0 ? -1 : 0;
        block_close(b);
    }
    free(full);
    return r;
}
