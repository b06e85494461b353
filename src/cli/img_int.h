/* vessel img: helpers shared by the subcommand files (not a public API). */
#ifndef VESSEL_CLI_IMG_INT_H
#define VESSEL_CLI_IMG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/block.h"

/* How img_open locks the image (docs/block.md "Image locking"). */
enum img_lock {
    /* A command that writes takes the write lock and is refused when the
     * image is in use.  One that only reads (BLOCK_O_RDONLY) takes the
     * shared read lock; when a writer (a running VM) holds the image it
     * opens it without a lock and warns that the data may be changing. */
    IMG_LOCK,
    /* -U/--force-share: read without any lock or warning (as qemu-img
     * -U); refused for a command that writes. */
    IMG_FORCE_SHARE,
    /* The caller already holds the file's write lock (block_lock_file). */
    IMG_NO_LOCK,
};

int img_parse_fmt(const char *s, enum block_format *out);
/* Allow backing files under `dir` for every image this command opens
 * (--backing-dir).  At most IMG_MAX_BACKING_DIRS; 0, or -1 with a
 * message. */
#define IMG_MAX_BACKING_DIRS 16
int img_add_backing_dir(const char *dir);
/* Open with an error message on stderr; 0 or -1. */
int img_open(struct block_dev **bd, const char *file, unsigned flags,
             const char *fmt, enum img_lock lock);
/* Before a command (re)creates the output file `file`: take its write
 * lock if it exists (*fd, else -1; release with block_unlock_file).
 * 0, or -1 with a message (in use by another process, not a regular
 * file). */
int img_lock_output(const char *file, int *fd);
/* Refuse an output that is one of the inputs: 0 when the file `out` is
 * neither the image `in` (opened from `src`) nor in its backing chain,
 * whatever the names (symlinks, hard links), else -1 with a message
 * naming both (`cmd` is the subcommand). */
int img_check_output(struct block_dev *in, const char *src, const char *out,
                     const char *cmd);
/* `backing` as the image `image` names it: relative names are relative
 * to the image's directory (malloc'd; NULL when out of memory). */
char *img_backing_path(const char *image, const char *backing);
/* Refuse a backing file that is `image` itself or has it in its backing
 * chain (which would make a loop): 0 when not, -1 with a message.
 * `backing` is resolved against image's directory; a backing file that
 * cannot be opened is left for the command to report. */
int img_check_backing(const char *image, const char *backing,
                      const char *bfmt, const char *cmd);
/* The message of a failed call on bd that returned r: its last error,
 * or strerror when the block layer left none (-ENOMEM). */
const char *img_errstr(struct block_dev *bd, int r);
void img_human_size(uint64_t v, char *buf, size_t n);

/* A progress line "(N.00/100%)" on stdout when on (-p, or a terminal);
 * last is the percentage shown last (-1 at first).  img_show_progress
 * matches the block_commit progress callback: opaque is the struct. */
struct img_progress {
    bool on;
    int last;
};
void img_show_progress(void *opaque, uint64_t done, uint64_t total);

int img_convert(int argc, char **argv);  /* img_convert.c */
int img_commit(int argc, char **argv);   /* img_ops.c */
int img_rebase(int argc, char **argv);   /* img_ops.c */
int img_bench(int argc, char **argv);    /* img_bench.c */

#endif
