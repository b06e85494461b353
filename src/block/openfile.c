/* block: opening the host file behind an image, with the scrutiny that
 * files named by an image header get (docs/block.md "Backing files").
 *
 * An image header is data, possibly hostile (a guest may have written it,
 * or it came from elsewhere): a backing file name in it must not reach a
 * host device, a FIFO (whose open blocks forever), or a file the user did
 * not mean to expose.  So a backing file must be a regular file lying,
 * symlinks resolved, inside the directory of the image the user opened
 * (or a subdirectory), or inside a directory the user allowed.  Every
 * image, named by the user or not, is opened O_NONBLOCK after a stat
 * that checks its type, so nothing here can block on a FIFO. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block_int.h"
#include "util/util.h"

static const char *type_name(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

static int add_dir(struct block_open_ctx *ctx, const char *real)
{
    for (unsigned i = 0; i < ctx->ndirs; i++)
        if (!strcmp(ctx->dirs[i], real))
            return 0;
    char *d = strdup(real);
    char **v = realloc(ctx->dirs, sizeof(*v) * (ctx->ndirs + 1));
    if (!d || !v) {
        free(d);
        if (v)
            ctx->dirs = v;
        return -ENOMEM;
    }
    ctx->dirs = v;
    ctx->dirs[ctx->ndirs++] = d;
    return 0;
}

/* The directories of the home image: the one it is named in and the one
 * the file really is in (they differ when it is a symlink).  An image that
 * cannot be resolved adds nothing: its open fails later with the reason. */
static int add_home_dirs(struct block_open_ctx *ctx, const char *home)
{
    char *copy = strdup(home), real[PATH_MAX];
    if (!copy)
        return -ENOMEM;
    int r = 0;
    if (realpath(dirname(copy), real))
        r = add_dir(ctx, real);
    free(copy);
    if (!r && realpath(home, real))
        r = add_dir(ctx, dirname(real));
    return r;
}

int block_ctx_init(struct block_open_ctx *ctx, const char *path,
                   const struct block_open_opts *opts, char *err, size_t elen)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->allow_hint = opts ? opts->allow_hint : NULL;
    const char *home = opts && opts->home_image ? opts->home_image : path;
    int r = add_home_dirs(ctx, home);
    for (unsigned i = 0; !r && opts && i < opts->nbacking_dirs; i++) {
        const char *d = opts->backing_dirs[i];
        char real[PATH_MAX];
        struct stat st;
        if (!realpath(d, real)) {
            r = -errno;
            block_errbuf(err, elen, r, "%s: backing directory '%s': %s", path, d,
                         strerror(-r));
        } else if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
            r = block_errbuf(err, elen, -ENOTDIR, "%s: backing directory '%s': not "
                             "a directory", path, d);
        } else {
            r = add_dir(ctx, real);
        }
    }
    if (r == -ENOMEM)
        block_errbuf(err, elen, r, "%s: out of memory", path);
    if (r)
        block_ctx_free(ctx);
    return r;
}

void block_ctx_free(struct block_open_ctx *ctx)
{
    for (unsigned i = 0; i < ctx->ndirs; i++)
        free(ctx->dirs[i]);
    free(ctx->dirs);
    ctx->dirs = NULL;
    ctx->ndirs = 0;
}

static bool within(const char *dir, const char *p)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return true;
    return !strncmp(p, dir, n) && (p[n] == '/' || p[n] == 0);
}

/* Is the backing file at `path` one the rule allows?  *real receives its
 * resolved path (PATH_MAX bytes) for the open and the messages, *st what
 * it is. */
static int check_backing(const char *path, const struct block_open_ctx *ctx,
                         char *real, struct stat *pst, char *err, size_t elen)
{
    if (!realpath(path, real)) {
        int e = errno;
        return block_errbuf(err, elen, -e, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (stat(real, &st) < 0) {
        int e = errno;
        return block_errbuf(err, elen, -e, "%s: stat: %s", real, strerror(e));
    }
    if (!S_ISREG(st.st_mode))
        return block_errbuf(err, elen, -EPERM, "refused: it resolves to %s, which is %s; "
                            "a backing file must be a regular file", real,
                            type_name(st.st_mode));
    *pst = st;
    for (unsigned i = 0; i < ctx->ndirs; i++)
        if (within(ctx->dirs[i], real))
            return 0;
    char where[1024] = "";
    size_t used = 0;
    for (unsigned i = 0; i < ctx->ndirs && used < sizeof(where); i++)
        used += (size_t)snprintf(where + used, sizeof(where) - used, "%s%s",
                                 i ? ", " : "", ctx->dirs[i]);
    char *copy = strdup(real);
    const char *rdir = copy ? dirname(copy) : real;
    int r = block_errbuf(err, elen, -EPERM, "refused: it resolves to %s, outside the "
                         "directory of the image opened and the directories allowed "
                         "(%s; subdirectories included); to use it, allow its "
                         "directory %s (%s)", real,
                         ctx->ndirs ? where : "none", rdir,
                         ctx->allow_hint ? ctx->allow_hint
                                         : "vessel run: --disk FILE,backing-dir=DIR");
    free(copy);
    return r;
}

int block_open_file(const char *path, unsigned flags,
                    const struct block_open_ctx *ctx, struct stat *st,
                    char *err, size_t elen)
{
    bool ro = flags & BLOCK_O_RDONLY;
    bool direct = flags & BLOCK_O_DIRECT;
    bool backing = ctx->depth > 0;
    char real[PATH_MAX];
    const char *target = path;
    struct stat judged;
    if (backing) {
        int r = check_backing(path, ctx, real, &judged, err, elen);
        if (r < 0)
            return r;
        target = real;   /* the very file the rule judged */
    } else {
        /* Look before opening: opening a FIFO would block, a device may
         * act on being opened. */
        if (stat(path, st) < 0) {
            int e = errno;
            return block_errbuf(err, elen, -e, "%s: cannot open: %s", path, strerror(e));
        }
        if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))
            return block_errbuf(err, elen, -EINVAL, "%s: is %s, not a regular file or "
                                "block device", path, type_name(st->st_mode));
    }
    int fd = open(target, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK |
                  (direct ? O_DIRECT : 0) | (backing ? O_NOFOLLOW : 0));
    if (fd < 0 && direct && errno == EINVAL)
        return block_errbuf(err, elen, -EINVAL, "%s: cannot open with O_DIRECT "
                            "(cache=none): the host filesystem does not support "
                            "direct I/O; use cache=writeback", path);
    if (fd < 0) {
        int e = errno;
        return block_errbuf(err, elen, -e, "%s: cannot open: %s", path, strerror(e));
    }
    /* The file may have been replaced between the look and the open. */
    int r = 0;
    if (fstat(fd, st) < 0) {
        r = -errno;
        block_errbuf(err, elen, r, "%s: stat: %s", path, strerror(-r));
    } else if (backing && (st->st_dev != judged.st_dev || st->st_ino != judged.st_ino)) {
        r = block_errbuf(err, elen, -EAGAIN, "%s: the file changed while being opened",
                         path);
    } else if (!S_ISREG(st->st_mode) && (backing || !S_ISBLK(st->st_mode))) {
        r = block_errbuf(err, elen, backing ? -EPERM : -EINVAL, "%s: is %s, not a "
                         "regular file%s", path, type_name(st->st_mode),
                         backing ? "" : " or block device");
    } else {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
            r = -errno;
            block_errbuf(err, elen, r, "%s: fcntl: %s", path, strerror(-r));
        }
    }
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}
