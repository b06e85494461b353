/* qcow2: opening (with the backing chain), closing, creating images and
 * reporting image information (qcow2.txt "Header", "Host cluster
 * management"). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "block/qcow2.h"
#include "util/util.h"

static void qcow2_free_state(struct qcow2 *s)
{
    if (!s)
        return;
    qcow2_free_header(s);
    qcow2_overlap_free(s);
    qcow2_free_snapshots(s->snaps, s->nb_snapshots);
    free(s->l1);
    free(s->rt);
    qcow2_cache_free(&s->l2c);
    qcow2_cache_free(&s->rbc);
    free(s->cbuf);
    free(s->cin);
    free(s->tmp);
    if (s->zstd_dctx)
        ZSTD_freeDCtx(s->zstd_dctx);
    free(s);
}

static void qcow2_close(struct block_dev *bd)
{
    qcow2_free_state(bd->opaque);
    bd->opaque = NULL;
}

void qcow2_rebind(struct block_dev *bd)
{
    struct qcow2 *s = bd->opaque;
    s->bd = bd;
    s->hf = &bd->file;
    s->file = bd->filename;
}

/* Resolve a backing file name against the directory of `image`. */
static char *resolve_backing(const char *image, const char *backing)
{
    if (backing[0] == '/')
        return strdup(backing);
    char *copy = strdup(image);
    if (!copy)
        return NULL;
    const char *dir = dirname(copy);
    size_t n = strlen(dir) + strlen(backing) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, backing);
    free(copy);
    return p;
}

static int load_table(struct qcow2 *s, uint64_t off, uint64_t n,
                      uint64_t **out, const char *what, char *err,
                      size_t elen)
{
    *out = calloc(n ? n : 1, 8);
    if (!*out)
        return -ENOMEM;
    if (!n)
        return 0;
    uint8_t *raw = malloc(n * 8);
    if (!raw)
        return -ENOMEM;
    int r = host_pread(s->hf, off, raw, n * 8, false);
    if (r < 0) {
        free(raw);
        return block_errbuf(err, elen, r, "%s: reading the %s at 0x%llx: %s",
                            s->file, what, (unsigned long long)off,
                            strerror(-r));
    }
    for (uint64_t i = 0; i < n; i++)
        (*out)[i] = be64_get(raw + i * 8);
    free(raw);
    return 0;
}

int qcow2_open(struct block_dev *bd, unsigned flags,
               struct block_open_ctx *ctx, char *err, size_t elen)
{
    struct stat st;
    if (fstat(bd->file.fd, &st) < 0)
        return block_errbuf(err, elen, -errno, "%s: stat failed",
                            bd->filename);
    uint64_t fsize = (uint64_t)st.st_size;
    struct qcow2 *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->bd = bd;
    s->hf = &bd->file;
    s->file = bd->filename;
    s->host_size = fsize;
    size_t hlen = (size_t)MIN(fsize, 2ull << 20);
    uint8_t *h = malloc(hlen ? hlen : 1);
    int r = h ? host_pread(s->hf, 0, h, hlen, false) : -ENOMEM;
    if (r < 0) {
        free(h);
        qcow2_free_state(s);
        return block_errbuf(err, elen, r, "%s: reading header: %s",
                            bd->filename, strerror(-r));
    }
    r = qcow2_parse_header(s, h, hlen, fsize, err, elen);
    free(h);
    if (r < 0)
        goto fail;
    uint64_t cs = s->cluster_size;
    s->rt_entries = ((uint64_t)s->rt_clusters << s->cluster_bits) / 8;
    r = load_table(s, s->l1_offset, s->l1_size, &s->l1, "L1 table", err,
                   elen);
    if (r < 0)
        goto fail;
    r = load_table(s, s->rt_offset, s->rt_entries, &s->rt, "refcount table",
                   err, elen);
    if (r < 0)
        goto fail;
    r = qcow2_load_snapshots(s, err, elen);
    if (r < 0)
        goto fail;
    r = qcow2_overlap_build(s);
    if (r < 0) {
        block_errbuf(err, elen, r, "%s", bd->err);
        goto fail;
    }
    /* A corrupt image opened for repair still refuses guest writes. */
    s->stopped = s->incompat & QCOW2_INCOMPAT_CORRUPT;
    unsigned nl2 = (unsigned)MAX(4ull, MIN(256ull, (4ull << 20) / cs));
    unsigned nrb = (unsigned)MAX(4ull, MIN(64ull, (2ull << 20) / cs));
    r = qcow2_cache_init(&s->l2c, nl2, cs);
    if (r == 0)
        r = qcow2_cache_init(&s->rbc, nrb, cs);
    s->cbuf = malloc(cs);
    s->cin = malloc(2 * cs + 512);
    s->tmp = malloc(cs);
    if (r < 0 || !s->cbuf || !s->cin || !s->tmp) {
        r = block_errbuf(err, elen, -ENOMEM, "%s: out of memory",
                         bd->filename);
        goto fail;
    }
    bd->opaque = s;
    bd->size = s->size;

    if (s->backing_file && !(flags & BLOCK_O_NO_BACKING)) {
        enum block_format bf = BLOCK_FMT_PROBE;
        if (s->backing_fmt) {
            bf = block_format_by_name(s->backing_fmt);
            if (bf == BLOCK_FMT_PROBE) {
                r = block_errbuf(err, elen, -ENOTSUP,
                                 "%s: backing format '%s' is not supported "
                                 "(accepted: raw, qcow2, vpc, vdi)", bd->filename,
                                 s->backing_fmt);
                goto fail_open;
            }
        }
        char *path = resolve_backing(bd->filename, s->backing_file);
        if (!path) {
            r = -ENOMEM;
            goto fail_open;
        }
        char sub[BLOCK_ERR_LEN];
        unsigned bflags = (flags & BLOCK_O_BACKING_RW) ? 0 : BLOCK_O_RDONLY;
        bflags |= flags & BLOCK_O_LOCK;     /* lock the whole chain */
        if (flags & (BLOCK_O_DIRECT | BLOCK_O_BACKING_DIRECT))
            bflags |= BLOCK_O_DIRECT;
        r = block_open_internal(&bd->backing, path, bflags, bf, ctx, sub,
                                sizeof(sub));
        if (r < 0) {
            block_errbuf(err, elen, r, "%s: cannot open backing file '%s' "
                         "named in its header (%s): %s", bd->filename,
                         s->backing_file, path, sub);
            free(path);
            goto fail_open;
        }
        free(path);
    }

    if (!bd->read_only) {
        if ((s->incompat & QCOW2_INCOMPAT_CORRUPT) &&
            !(flags & BLOCK_O_CHECK)) {
            r = block_errbuf(err, elen, -EIO, "%s: the image is marked "
                             "corrupt (incompatible feature bit 1) and cannot "
                             "be opened read-write; open it read-only, or "
                             "run 'vessel img check -r all %s' to repair it",
                             bd->filename, bd->filename);
            goto fail_open;
        }
        bool rewrite = false;
        if (s->autoclear) { /* we do not maintain any auto-clear feature */
            s->autoclear = 0;
            rewrite = true;
        }
        if ((s->incompat & QCOW2_INCOMPAT_DIRTY) && !(flags & BLOCK_O_CHECK)) {
            struct block_check_result res;
            r = qcow2_check(s, true, &res, NULL);
            if (r < 0) {
                block_errbuf(err, elen, r, "%s: dirty image could not be "
                             "repaired: %s", bd->filename, bd->err);
                goto fail_open;
            }
            if (res.corruptions > res.corruptions_fixed) {
                r = block_errbuf(err, elen, -EIO, "%s: the dirty bit is set "
                                 "and rebuilding the refcounts left %llu "
                                 "problems that need a look: see 'vessel img "
                                 "check %s'", bd->filename,
                                 (unsigned long long)(res.corruptions -
                                                      res.corruptions_fixed),
                                 bd->filename);
                goto fail_open;
            }
            s->incompat &= ~QCOW2_INCOMPAT_DIRTY;
            rewrite = true;
        }
        if (rewrite) {
            r = qcow2_write_header(s);
            if (r < 0) {
                block_errbuf(err, elen, r, "%s", bd->err);
                goto fail_open;
            }
        }
    }
    return 0;

fail_open:
    block_close(bd->backing);
    bd->backing = NULL;
    bd->opaque = NULL;
fail:
    qcow2_free_state(s);
    return r;
}

static int qcow2_flush(struct block_dev *bd)
{
    if (fdatasync(bd->file.fd) < 0)
        return block_seterr(bd, -errno, "%s: flush: %s", bd->filename,
                            strerror(errno));
    return 0;
}

const struct block_driver block_qcow2_driver = {
    .fmt = BLOCK_FMT_QCOW2,
    .pread = qcow2_read,
    .pwrite = qcow2_write,
    .discard = qcow2_discard,
    .write_zeroes = qcow2_write_zeroes,
    .flush = qcow2_flush,
    .status = qcow2_status,
    .truncate = qcow2_resize,
    .close = qcow2_close,
};

int qcow2_get_info(struct block_dev *bd, struct block_info *info)
{
    struct qcow2 *s = bd->opaque;
    info->cluster_size = (uint32_t)s->cluster_size;
    info->qcow2_version = s->version;
    info->refcount_bits = s->refcount_bits;
    info->lazy_refcounts = s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS;
    info->dirty = s->incompat & QCOW2_INCOMPAT_DIRTY;
    info->corrupt = s->incompat & QCOW2_INCOMPAT_CORRUPT;
    snprintf(info->compression, sizeof(info->compression), "%s",
             s->compression_type ? "zstd" : "zlib");
    if (s->backing_file) {
        snprintf(info->backing_file, sizeof(info->backing_file), "%s",
                 s->backing_file);
        char *full = resolve_backing(bd->filename, s->backing_file);
        if (full)
            snprintf(info->backing_full, sizeof(info->backing_full), "%s",
                     full);
        free(full);
    }
    if (s->backing_fmt)
        snprintf(info->backing_format, sizeof(info->backing_format), "%s",
                 s->backing_fmt);
    info->nb_snapshots = s->nb_snapshots;
    if (s->nb_snapshots) {
        info->snapshots = calloc(s->nb_snapshots, sizeof(*info->snapshots));
        if (!info->snapshots)
            return -ENOMEM;
        for (uint32_t i = 0; i < s->nb_snapshots; i++) {
            struct block_snapshot_info *o = &info->snapshots[i];
            struct qcow2_snapshot *sn = &s->snaps[i];
            snprintf(o->id, sizeof(o->id), "%s", sn->id);
            snprintf(o->name, sizeof(o->name), "%s", sn->name);
            o->vm_state_size = sn->vm_state_size;
            o->date_sec = sn->date_sec;
            o->date_nsec = sn->date_nsec;
            o->vm_clock_nsec = sn->vm_clock_nsec;
            o->disk_size = sn->disk_size;
        }
    }
    return 0;
}

int qcow2_create(const char *path, const struct block_create_opts *o,
                 char *err, size_t elen)
{
    uint32_t cs = o->cluster_size ? o->cluster_size : 65536;
    uint32_t version = o->version ? o->version : 3;
    uint32_t rbits = o->refcount_bits ? o->refcount_bits : 16;
    if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1)))
        return block_errbuf(err, elen, -EINVAL, "%s: cluster size %u: "
                            "accepted: a power of two from 512 to 2M", path,
                            cs);
    if (version != 2 && version != 3)
        return block_errbuf(err, elen, -EINVAL, "%s: version %u: accepted: "
                            "2 (compat=0.10) or 3 (compat=1.1)", path,
                            version);
    if (rbits > 64 || (rbits & (rbits - 1)) || (version == 2 && rbits != 16))
        return block_errbuf(err, elen, -EINVAL, "%s: refcount bits %u: "
                            "accepted: a power of two from 1 to 64 (16 for "
                            "version 2)", path, rbits);
    if (o->lazy_refcounts && version < 3)
        return block_errbuf(err, elen, -EINVAL, "%s: lazy refcounts need "
                            "version 3", path);
    uint64_t size = o->size;
    if (o->backing_format &&
        block_format_by_name(o->backing_format) == BLOCK_FMT_PROBE)
        return block_errbuf(err, elen, -EINVAL, "%s: backing format '%s': "
                            "accepted: raw, qcow2, vpc, vdi", path,
                            o->backing_format);
    if (o->backing_file && *o->backing_file) {
        char *full = resolve_backing(path, o->backing_file);
        if (!full)
            return -ENOMEM;
        struct block_dev *b;
        char sub[BLOCK_ERR_LEN];
        enum block_format bf = BLOCK_FMT_PROBE;
        if (o->backing_format)
            bf = block_format_by_name(o->backing_format);
        /* The file the user names is allowed by being named; its own
         * chain is judged when the new image is opened. */
        int r = block_open(&b, full, BLOCK_O_RDONLY | BLOCK_O_NO_BACKING, bf,
                           sub, sizeof(sub));
        free(full);
        if (r < 0)
            return block_errbuf(err, elen, r, "%s: backing file: %s", path,
                                sub);
        if (!size)
            size = block_length(b);
        block_close(b);
    }
    /* Checked before rounding up to whole sectors, which would wrap a size
     * near 2^64 to 0; the L1 table (at most 32 MiB) bounds the size. */
    uint32_t cbits = (uint32_t)__builtin_ctz(cs);
    uint64_t max = qcow2_max_size(cbits);
    if (size > max)
        return block_errbuf(err, elen, -EINVAL, "%s: size %llu is too large: "
                            "with %u-byte clusters a qcow2 image holds at "
                            "most %llu bytes (a 32 MiB L1 table)%s", path,
                            (unsigned long long)size, cs,
                            (unsigned long long)max,
                            cs < (2u << 20) ? "; a larger cluster_size "
                            "allows more (2M: 2^61 bytes)" : "");
    size = (size + 511) & ~511ull;

    struct qcow2 *s = calloc(1, sizeof(*s));
    struct block_dev *bd = calloc(1, sizeof(*bd));
    if (!s || !bd) {
        free(s); free(bd);
        return -ENOMEM;
    }
    s->bd = bd;
    s->file = path;
    s->version = version;
    s->cluster_bits = cbits;
    s->cluster_size = cs;
    s->size = size;
    s->refcount_order = (uint32_t)__builtin_ctz(rbits);
    s->refcount_bits = rbits;
    s->compat = o->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0;
    s->l1_size = (uint32_t)qcow2_l1_needed(size, s->cluster_bits);
    int r = 0;
    uint64_t rbe = (uint64_t)cs * 8 / rbits;
    uint64_t l1c = ((uint64_t)s->l1_size * 8 + cs - 1) / cs;
    uint64_t rtc = 1, nrb = 1;
    for (;;) {
        uint64_t total = 1 + rtc + nrb + l1c;
        uint64_t nnrb = (total + rbe - 1) / rbe;
        uint64_t nrtc = (nnrb * 8 + cs - 1) / cs;
        if (nnrb == nrb && nrtc == rtc)
            break;
        nrb = nnrb; rtc = nrtc;
    }
    uint64_t total = 1 + rtc + nrb + l1c;
    s->rt_offset = cs;
    s->rt_clusters = (uint32_t)rtc;
    s->l1_offset = s->l1_size ? (1 + rtc + nrb) * cs : 0;
    if (o->backing_file && *o->backing_file) {
        s->backing_file = strdup(o->backing_file);
        if (o->backing_format)
            s->backing_fmt = strdup(o->backing_format);
    }
    int fd = -1;
    uint8_t *buf = NULL;
    if (!r) {
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            r = block_errbuf(err, elen, -errno, "%s: cannot create: %s",
                             path, strerror(errno));
    }
    if (!r) {
        bd->file = (struct host_file){ .fd = fd };
        s->hf = &bd->file;
        buf = calloc(total - 1, cs);
        if (!buf)
            r = -ENOMEM;
    }
    if (!r) {
        /* refcount table, refcount blocks, L1 table (all zero) */
        for (uint64_t b = 0; b < nrb; b++)
            be64_put(buf + b * 8, (1 + rtc + b) * cs);
        for (uint64_t c = 0; c < total; c++) {
            uint8_t *blk = buf + (rtc + c / rbe) * cs;
            s->refcount_bits = rbits;
            qcow2_rb_set(s, blk, c % rbe, 1);
        }
        r = host_pwrite(s->hf, cs, buf, (total - 1) * cs);
        if (r < 0)
            block_errbuf(err, elen, r, "%s: write: %s", path, strerror(-r));
    }
    if (!r) {
        r = qcow2_write_header(s);
        if (r < 0)
            block_errbuf(err, elen, r, "%s", bd->err);
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    free(s->backing_file);
    free(s->backing_fmt);
    free(s);
    free(bd);
    return r;
}
