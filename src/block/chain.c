/* block: backing chain operations, commit (merge an overlay into its
 * backing file) and rebase (change the backing file of a qcow2 image). */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"
#include "util/util.h"

#define CHUNK (1u << 20)

int block_commit(struct block_dev *bd,
                 void (*progress)(void *opaque, uint64_t done, uint64_t total),
                 void *opaque)
{
    struct block_dev *b = bd->backing;
    if (bd->drv->fmt != BLOCK_FMT_QCOW2 || !b)
        return block_seterr(bd, -EINVAL, "%s: image has no backing file to "
                            "commit into", bd->filename);
    if (bd->read_only || b->read_only)
        return block_seterr(bd, -EROFS, "%s: commit needs the image and its "
                            "backing file opened read-write", bd->filename);
    uint64_t size = block_length(bd);
    int r = 0;
    if (block_length(b) < size) {
        r = block_truncate(b, size);
        if (r < 0)
            return block_seterr(bd, r, "%s: growing backing file: %s",
                                bd->filename, block_last_error(b));
    }
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        return -ENOMEM;
    for (uint64_t off = 0; off < size && r == 0;) {
        uint64_t pnum;
        int st = block_get_status(bd, off, MIN((uint64_t)CHUNK, size - off),
                                  false, &pnum);
        if (st < 0) {
            r = st;
            break;
        }
        if (st == BLOCK_STATUS_DATA) {
            r = block_pread(bd, off, buf, (size_t)pnum);
            if (r == 0 && (r = block_pwrite(b, off, buf, (size_t)pnum)) < 0)
                block_seterr(bd, r, "%s", block_last_error(b));
        } else if (st == BLOCK_STATUS_ZERO) {
            r = block_write_zeroes(b, off, pnum);
            if (r < 0)
                block_seterr(bd, r, "%s", block_last_error(b));
        }
        off += pnum;
        if (progress)
            progress(opaque, off, size);
    }
    free(buf);
    if (r == 0) {
        r = block_flush(b);
        if (r < 0)
            block_seterr(bd, r, "%s", block_last_error(b));
    }
    if (r == 0) {
        pthread_mutex_lock(&bd->lock);
        r = qcow2_make_empty(bd->opaque);
        pthread_mutex_unlock(&bd->lock);
    }
    return r;
}

static int rebase_copy(struct block_dev *bd, struct block_dev *nb)
{
    struct qcow2 *s = bd->opaque;
    uint64_t cs = s->cluster_size, size = block_length(bd);
    uint64_t nsize = nb ? block_length(nb) : 0;
    uint8_t *a = malloc(cs), *b = malloc(cs);
    int r = (a && b) ? 0 : -ENOMEM;
    for (uint64_t off = 0; off < size && r == 0; off += cs) {
        uint64_t n = MIN(cs, size - off), pnum;
        int st = block_get_status(bd, off, n, false, &pnum);
        if (st < 0) {
            r = st;
            break;
        }
        if (st != BLOCK_STATUS_UNALLOCATED)
            continue;
        r = block_pread(bd, off, a, (size_t)n);
        if (r < 0)
            break;
        memset(b, 0, n);
        if (nb && off < nsize) {
            r = block_pread(nb, off, b, (size_t)MIN(n, nsize - off));
            if (r < 0) {
                block_seterr(bd, r, "%s", block_last_error(nb));
                break;
            }
        }
        if (memcmp(a, b, n))
            r = block_pwrite(bd, off, a, (size_t)n);
    }
    free(a);
    free(b);
    return r;
}

int block_rebase(struct block_dev *bd, const char *backing, const char *fmt,
                 bool unsafe)
{
    if (bd->drv->fmt != BLOCK_FMT_QCOW2)
        return block_seterr(bd, -ENOTSUP, "%s: only qcow2 images have a "
                            "backing file", bd->filename);
    if (bd->read_only)
        return block_seterr(bd, -EROFS, "%s: image is opened read-only",
                            bd->filename);
    if (backing && !*backing)
        backing = NULL;
    enum block_format bf = BLOCK_FMT_PROBE;
    if (fmt) {
        bf = block_format_by_name(fmt);
        if (bf == BLOCK_FMT_PROBE)
            return block_seterr(bd, -EINVAL, "backing format '%s': accepted: "
                                "raw, qcow2, vpc, vdi", fmt);
    }
    struct block_dev *nb = NULL;
    int r;
    if (backing) {
        char *full;
        if (backing[0] == '/') {
            full = strdup(backing);
        } else {
            char *copy = strdup(bd->filename);
            size_t n = strlen(bd->filename) + strlen(backing) + 2;
            full = malloc(n);
            if (copy && full)
                snprintf(full, n, "%s/%s", dirname(copy), backing);
            free(copy);
        }
        if (!full)
            return -ENOMEM;
        char err[BLOCK_ERR_LEN];
        r = block_open(&nb, full, BLOCK_O_RDONLY, bf, err, sizeof(err));
        free(full);
        if (r < 0)
            return block_seterr(bd, r, "%s: new backing file: %s",
                                bd->filename, err);
    }
    if (!unsafe) {
        r = rebase_copy(bd, nb);
        if (r < 0) {
            block_close(nb);
            return r;
        }
    }
    pthread_mutex_lock(&bd->lock);
    struct qcow2 *s = bd->opaque;
    char *nf = backing ? strdup(backing) : NULL;
    char *nfmt = (backing && fmt) ? strdup(fmt) : NULL;
    char *of = s->backing_file, *ofmt = s->backing_fmt;
    s->backing_file = nf;
    s->backing_fmt = nfmt;
    r = qcow2_write_header(s);
    if (r < 0) {
        s->backing_file = of;
        s->backing_fmt = ofmt;
        free(nf);
        free(nfmt);
        pthread_mutex_unlock(&bd->lock);
        block_close(nb);
        return r;
    }
    free(of);
    free(ofmt);
    struct block_dev *old = bd->backing;
    bd->backing = nb;
    pthread_mutex_unlock(&bd->lock);
    block_close(old);
    return 0;
}
