/* block: freezing an open image under a new overlay, in place
 * (block_overlay_push) and undoing it (block_overlay_pop).
 *
 * The struct block_dev that callers hold (a virtio-blk device, the VMM's
 * disk table) must stay the top of the chain, so the swap moves contents,
 * not pointers: the frozen image's fields go to a new struct that becomes
 * the backing image, and the new overlay's fields come into the caller's
 * struct.  The caller's lock and asynchronous workers stay with the
 * caller's struct: requests queued after the push reach the overlay. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block_int.h"

/* The fields that make up "which image this is", moved between structs. */
static void move_image(struct block_dev *dst, struct block_dev *src)
{
    dst->drv = src->drv;
    dst->filename = src->filename;
    dst->file = src->file;
    dst->read_only = src->read_only;
    dst->probed_raw = src->probed_raw;
    dst->locked = src->locked;
    dst->size = src->size;
    dst->backing = src->backing;
    dst->opaque = src->opaque;
    if (dst->drv == &block_qcow2_driver)
        qcow2_rebind(dst);
}

static struct block_dev *dev_alloc(void)
{
    struct block_dev *b = calloc(1, sizeof(*b));
    if (b)
        pthread_mutex_init(&b->lock, NULL);
    return b;
}

int block_overlay_push(struct block_dev *bd, const char *path,
                       const char *backing_name, unsigned flags, char *err,
                       size_t elen)
{
    if (bd->read_only)
        return block_errbuf(err, elen, -EROFS, "%s: opened read-only: only "
                            "a writable image is frozen under an overlay",
                            bd->filename);
    /* O_EXCL: never take over a file someone else made (block_create
     * would truncate it). */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        return block_errbuf(err, elen, -e, "%s: cannot create the overlay: "
                            "%s%s", path, strerror(e), e == EEXIST ?
                            " (remove it, or choose another name)" : "");
    }
    close(fd);
    struct block_dev *lower = dev_alloc(), *top = NULL;
    char sub[BLOCK_ERR_LEN];
    int r = lower ? 0 : block_errbuf(err, elen, -ENOMEM, "%s: out of memory", path);
    pthread_mutex_lock(&bd->lock);
    /* Everything written so far reaches the file before it is frozen. */
    if (!r && bd->drv->flush && (r = bd->drv->flush(bd)) < 0)
        block_errbuf(err, elen, r, "%s", bd->err);
    if (!r) {
        struct block_create_opts o = {
            .format = BLOCK_FMT_QCOW2, .size = bd->size,
            .backing_file = backing_name,
            .backing_format = block_format_name(bd->drv->fmt),
        };
        if ((r = qcow2_create(path, &o, sub, sizeof(sub))) < 0)
            block_errbuf(err, elen, r, "%s", sub);
    }
    if (!r) {
        /* The overlay alone: its backing image is bd's, already open. */
        struct block_open_ctx ctx;
        unsigned of = BLOCK_O_NO_BACKING | (flags & (BLOCK_O_LOCK | BLOCK_O_DIRECT));
        r = block_ctx_init(&ctx, path, NULL, sub, sizeof(sub));
        if (!r) {
            r = block_open_internal(&top, path, of, BLOCK_FMT_QCOW2, &ctx, sub,
                                    sizeof(sub));
            block_ctx_free(&ctx);
        }
        if (r < 0)
            block_errbuf(err, elen, r, "%s", sub);
    }
    if (!r && top->size != bd->size)
        r = block_errbuf(err, elen, -EIO, "%s: created with %llu bytes, not "
                         "%llu", path, (unsigned long long)top->size,
                         (unsigned long long)bd->size);
    if (r < 0) {
        pthread_mutex_unlock(&bd->lock);
        block_close(top);
        unlink(path);
        if (lower)
            pthread_mutex_destroy(&lower->lock);
        free(lower);
        return r;
    }
    /* Nothing can fail from here on. */
    move_image(lower, bd);
    lower->read_only = true;
    if (lower->locked)
        block_lock_downgrade(lower->file.fd);
    move_image(bd, top);
    bd->backing = lower;
    pthread_mutex_unlock(&bd->lock);
    pthread_mutex_destroy(&top->lock);
    free(top);
    return 0;
}

int block_overlay_pop(struct block_dev *bd, char *err, size_t elen)
{
    struct block_dev *top = dev_alloc();
    if (!top)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", bd->filename);
    pthread_mutex_lock(&bd->lock);
    struct block_dev *lower = bd->backing;
    int r = 0;
    if (!lower || bd->drv != &block_qcow2_driver || !lower->read_only)
        r = block_errbuf(err, elen, -EINVAL, "%s: not an overlay that "
                         "block_overlay_push made", bd->filename);
    /* The frozen image was shared for reading meanwhile: someone else may
     * have opened it, and then it cannot be written again. */
    if (!r && lower->locked &&
        (r = block_lock_fd(lower->file.fd, lower->filename, true, err, elen)) < 0) {
        char ign[8];
        (void)block_lock_fd(lower->file.fd, lower->filename, false, ign, sizeof(ign));
    }
    if (r < 0) {
        pthread_mutex_unlock(&bd->lock);
        pthread_mutex_destroy(&top->lock);
        free(top);
        return r;
    }
    move_image(top, bd);
    top->backing = NULL;
    move_image(bd, lower);
    bd->read_only = false;
    pthread_mutex_unlock(&bd->lock);
    pthread_mutex_destroy(&lower->lock);
    free(lower);
    char *name = strdup(top->filename);
    block_close(top);
    if (name)
        unlink(name);
    free(name);
    return 0;
}
