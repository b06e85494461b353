/* block: the VMDK driver ("Virtual Disk Format 1.1").
 *
 * A VMDK disk is a descriptor (text, see vmdk_desc.c) naming extents that
 * follow one another in the disk's address space:
 *  - monolithicSparse and streamOptimized: one file, a hosted sparse
 *    extent whose header embeds the descriptor (vmdk_sparse.c,
 *    vmdk_stream.c).  Written here: monolithicSparse in place,
 *    streamOptimized append-only;
 *  - monolithicFlat: a descriptor file and one FLAT extent file, the raw
 *    disk ("NAME-flat.vmdk");
 *  - twoGbMaxExtentFlat / twoGbMaxExtentSparse: a descriptor file and
 *    extents of at most 2 GiB, raw ("NAME-fNNN.vmdk") or each a hosted
 *    sparse extent with no embedded descriptor ("NAME-sNNN.vmdk");
 *  - ZERO extents read zeros and have no file.
 * Descriptor files are written too: FLAT extents in place, SPARSE ones as
 * monolithicSparse (RDONLY and ZERO extents refuse writes).  Of the
 * descriptor only the CID changes, at the first write after the open
 * (vmdk_cid.c says why); a streamOptimized image keeps its own.  An
 * extent file is named relative to the descriptor's directory and must
 * obey the rule for backing files (docs/block.md "Backing files"): a
 * regular file inside that directory (symlinks resolved) or one the user
 * allowed; never the descriptor itself, never twice.  Disks with a
 * parent (parentCID other than ffffffff) are refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/vmdk.h"
#include "util/util.h"

struct vmdk_ext {
    enum vmdk_ext_type type;
    uint64_t start, len;      /* bytes of the disk */
    struct host_file file;    /* own fd, or bd->file for monolithic */
    bool own;
    char *path;               /* owned, for messages */
    uint64_t flat_off;        /* bytes into the file */
    bool writable;            /* RW extent of a read-write open */
    struct vmdk_sparse *sp;
};

struct vmdk_state {
    struct vmdk_ext *ext;
    unsigned n;
    bool desc_file;
    /* The descriptor text, kept by a read-write open until the first
     * write renews its CID (owned; NULL: nothing to renew): desc_len
     * bytes of text with room for desc_cap, at byte desc_off of bd->file,
     * in a region of desc_end bytes (the file, or the embedded
     * descriptor's sectors) where a NUL ends a shorter text; the CID
     * value, cid_old, is its bytes [cid_at, cid_at + cid_len). */
    char *desc;
    size_t desc_len, desc_cap, cid_at, cid_len;
    uint64_t desc_off, desc_end;
    uint32_t cid_old;
    bool cid_unsynced;        /* the descriptor file written since a flush */
};

/* Keep a read-write open's descriptor text (owned from here on) for the
 * CID renewal at the first write, or free it when there is nothing to
 * renew: a read-only open, a streamOptimized image, no CID line. */
static void keep_desc(struct block_dev *bd, struct vmdk_state *s, bool stream,
                      const struct vmdk_desc *d, char *text, size_t len, size_t cap,
                      uint64_t off, uint64_t end)
{
    if (bd->read_only || stream || !d->cid_len) {
        free(text);
        return;
    }
    s->desc = text;
    s->desc_len = len;
    s->desc_cap = cap;
    s->desc_off = off;
    s->desc_end = end;
    s->cid_at = d->cid_at;
    s->cid_len = d->cid_len;
    s->cid_old = d->cid;
}

static void free_state(struct vmdk_state *s, struct block_dev *bd)
{
    for (unsigned i = 0; s && i < s->n; i++) {
        struct vmdk_ext *e = &s->ext[i];
        if (e->sp)
            vmdk_sparse_close(bd, e->sp);
        if (e->own && e->file.fd >= 0)
            close(e->file.fd);
        free(e->path);
    }
    if (s) {
        free(s->ext);
        free(s->desc);
    }
    free(s);
}

static int check_parent(const char *f, const struct vmdk_desc *d, char *err, size_t elen)
{
    if (d->parent_cid != 0xffffffffu || d->parent_hint)
        return block_errbuf(err, elen, -ENOTSUP, "%s: descriptor parentCID %08x%s%s: a "
                            "VMDK with a parent disk, which is not supported (convert "
                            "it with qemu-img first)", f, d->parent_cid,
                            d->parent_hint ? ", parentFileNameHint " : "",
                            d->parent_hint ? d->parent_hint : "");
    return 0;
}

/* monolithicSparse / streamOptimized: the sparse extent is bd's file. */
static int open_monolithic(struct block_dev *bd, struct vmdk_state *s, char *err,
                           size_t elen)
{
    const char *f = bd->filename;
    char *text = NULL;
    size_t tlen = 0;
    struct vmdk_sparse *sp;
    int r = vmdk_sparse_open(&sp, &bd->file, f, !bd->read_only, &text, &tlen, err, elen);
    if (r < 0)
        return r;
    struct vmdk_desc d;
    r = vmdk_desc_parse(text, tlen, f, &d, err, elen);
    if (r < 0) {
        free(text);
        vmdk_sparse_close(bd, sp);
        return r;
    }
    /* text has the embedded descriptor's sectors of room (and one) */
    uint64_t dsize = le_get(sp->hdr + VMDK_H_DESC_SIZE, 8) * VMDK_SECTOR;
    keep_desc(bd, s, sp->compressed, &d, text, tlen, (size_t)dsize,
              le_get(sp->hdr + VMDK_H_DESC_OFF, 8) * VMDK_SECTOR, dsize);
    const char *want = sp->compressed ? "streamOptimized" : "monolithicSparse";
    if ((r = check_parent(f, &d, err, elen)) < 0)
        ;
    else if (strcmp(d.create_type, want))
        r = block_errbuf(err, elen, -ENOTSUP, "%s: descriptor createType \"%s\" (accepted "
                         "with these header flags: %s)", f, d.create_type, want);
    else if (d.next != 1 || d.ext[0].type != VMDK_EXT_SPARSE ||
             d.ext[0].sectors * VMDK_SECTOR != sp->capacity)
        r = block_errbuf(err, elen, -EINVAL, "%s: descriptor extents: %u lines, the first "
                         "of %llu sectors (accepted: one SPARSE extent of the header's "
                         "capacity, %llu sectors)", f, d.next,
                         (unsigned long long)d.ext[0].sectors,
                         (unsigned long long)(sp->capacity / VMDK_SECTOR));
    vmdk_desc_free(&d);
    if (r < 0 || !(s->ext = calloc(1, sizeof(*s->ext)))) {
        vmdk_sparse_close(bd, sp);
        return r < 0 ? r : block_errbuf(err, elen, -ENOMEM, "%s: out of memory", f);
    }
    s->n = 1;
    s->ext[0] = (struct vmdk_ext){ .type = VMDK_EXT_SPARSE, .len = sp->capacity,
                                   .file = bd->file, .sp = sp,
                                   .writable = !bd->read_only };
    bd->size = sp->capacity;
    return 0;
}

/* The path of extent file `name` named by descriptor `desc`: relative
 * names are taken from the descriptor's directory. */
static char *extent_path(const char *desc, const char *name)
{
    if (name[0] == '/')
        return strdup(name);
    const char *slash = strrchr(desc, '/');
    size_t dl = slash ? (size_t)(slash - desc) + 1 : 0;
    char *p = malloc(dl + strlen(name) + 1);
    if (p) {
        memcpy(p, desc, dl);
        strcpy(p + dl, name);
    }
    return p;
}

static int open_extent(struct block_dev *bd, struct vmdk_state *s, unsigned i,
                       const struct vmdk_desc_extent *de, uint64_t start, unsigned flags,
                       struct block_open_ctx *ctx, const struct stat *dst,
                       char *err, size_t elen)
{
    const char *f = bd->filename;
    struct vmdk_ext *e = &s->ext[i];
    e->type = de->type == VMDK_EXT_VMFS ? VMDK_EXT_FLAT : de->type;
    e->start = start;
    e->len = de->sectors * VMDK_SECTOR;
    e->file.fd = -1;
    if (de->type == VMDK_EXT_ZERO)
        return 0;
    if (de->access == VMDK_NOACCESS)
        return block_errbuf(err, elen, -ENOTSUP, "%s: extent %u (\"%s\") is NOACCESS "
                            "(accepted: RW, RDONLY)", f, i + 1, de->file);
    if (!(e->path = extent_path(f, de->file)))
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", f);
    char why[BLOCK_ERR_LEN];
    struct stat st;
    /* RDONLY extents stay read-only (writes into them fail); extents use
     * buffered I/O even under cache=none (no aligned bounce buffers) */
    e->writable = !bd->read_only && de->access == VMDK_RW;
    int fd = block_open_file(e->path, (flags & ~BLOCK_O_DIRECT) |
                             (e->writable ? 0 : BLOCK_O_RDONLY), ctx, &st, why,
                             sizeof(why));
    if (fd < 0)
        return block_errbuf(err, elen, fd, "%s: cannot open extent %u \"%s\" named in "
                            "the descriptor (%s): %s", f, i + 1, de->file, e->path, why);
    e->file.fd = fd;
    e->own = true;
    if (st.st_dev == dst->st_dev && st.st_ino == dst->st_ino)
        return block_errbuf(err, elen, -ELOOP, "%s: extent %u \"%s\" is the descriptor "
                            "file itself", f, i + 1, de->file);
    for (unsigned k = 0; k < i; k++) {
        struct stat o;
        if (s->ext[k].own && fstat(s->ext[k].file.fd, &o) == 0 &&
            o.st_dev == st.st_dev && o.st_ino == st.st_ino &&
            (e->type == VMDK_EXT_SPARSE || s->ext[k].type == VMDK_EXT_SPARSE))
            return block_errbuf(err, elen, -ELOOP, "%s: extents %u and %u are the same "
                                "file \"%s\"", f, k + 1, i + 1, de->file);
    }
    if ((flags & BLOCK_O_LOCK) &&
        block_lock_fd(fd, e->path, e->writable, why, sizeof(why)) < 0)
        return block_errbuf(err, elen, -EBUSY, "%s: extent %u: %s", f, i + 1, why);
    if (e->type == VMDK_EXT_FLAT) {
        e->flat_off = de->offset * VMDK_SECTOR;
        if ((uint64_t)st.st_size < e->flat_off + e->len)
            return block_errbuf(err, elen, -EINVAL, "%s: extent %u \"%s\": %llu sectors "
                                "at sector %llu run past the end of the file (%llu "
                                "bytes)", f, i + 1, de->file,
                                (unsigned long long)de->sectors,
                                (unsigned long long)de->offset,
                                (unsigned long long)st.st_size);
        return 0;
    }
    int r = vmdk_sparse_open(&e->sp, &e->file, e->path, e->writable, NULL, NULL, err,
                             elen);
    if (r < 0)
        return r;
    if (e->sp->compressed || e->sp->capacity != e->len)
        return block_errbuf(err, elen, -EINVAL, "%s: extent %u \"%s\": header capacity "
                            "%llu sectors%s (accepted: the descriptor's %llu, "
                            "uncompressed)", f, i + 1, de->file,
                            (unsigned long long)(e->sp->capacity / VMDK_SECTOR),
                            e->sp->compressed ? ", compressed" : "",
                            (unsigned long long)de->sectors);
    return 0;
}

static int open_descriptor(struct block_dev *bd, struct vmdk_state *s, unsigned flags,
                           struct block_open_ctx *ctx, char *err, size_t elen)
{
    const char *f = bd->filename;
    struct stat st;
    if (fstat(bd->file.fd, &st) < 0)
        return block_errbuf(err, elen, -errno, "%s: stat: %s", f, strerror(errno));
    if ((uint64_t)st.st_size > VMDK_DESC_FILE_MAX)
        return block_errbuf(err, elen, -EINVAL, "%s: neither a sparse extent (no \"KDMV\" "
                            "magic) nor a descriptor file (%llu bytes; accepted: at most "
                            "%u)", f, (unsigned long long)st.st_size, VMDK_DESC_FILE_MAX);
    /* room for a CID grown to 8 digits and its NUL */
    char *text = malloc((size_t)st.st_size + 9);
    if (!text)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", f);
    int r = host_pread(&bd->file, 0, text, (size_t)st.st_size, false);
    if (r < 0) {
        free(text);
        return block_errbuf(err, elen, r, "%s: read: %s", f, strerror(-r));
    }
    struct vmdk_desc d;
    r = vmdk_desc_parse(text, (size_t)st.st_size, f, &d, err, elen);
    if (r < 0) {
        free(text);
        return r;
    }
    keep_desc(bd, s, false, &d, text, strnlen(text, (size_t)st.st_size),
              (size_t)st.st_size + 8, 0, (uint64_t)st.st_size);
    s->desc_file = true;
    if ((r = check_parent(f, &d, err, elen)) < 0)
        goto out;
    if (!strcmp(d.create_type, "monolithicSparse") ||
        !strcmp(d.create_type, "streamOptimized")) {
        r = block_errbuf(err, elen, -EINVAL, "%s: descriptor file with createType \"%s\", "
                         "which lives inside a sparse extent (accepted in a descriptor "
                         "file: monolithicFlat, twoGbMaxExtentFlat, twoGbMaxExtentSparse, "
                         "vmfs)", f, d.create_type);
        goto out;
    }
    if (!(s->ext = calloc(d.next, sizeof(*s->ext)))) {
        r = block_errbuf(err, elen, -ENOMEM, "%s: out of memory", f);
        goto out;
    }
    uint64_t start = 0;
    for (unsigned i = 0; i < d.next && r == 0; i++) {
        s->n = i + 1;
        r = open_extent(bd, s, i, &d.ext[i], start, flags, ctx, &st, err, elen);
        start += d.ext[i].sectors * VMDK_SECTOR;
    }
    bd->size = start;
out:
    vmdk_desc_free(&d);
    return r;
}

int vmdk_open(struct block_dev *bd, unsigned flags, struct block_open_ctx *ctx,
              char *err, size_t elen)
{
    struct vmdk_state *s = calloc(1, sizeof(*s));
    if (!s)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", bd->filename);
    uint8_t magic[4];
    int r = host_pread(&bd->file, 0, magic, sizeof(magic), true);
    if (r < 0)
        r = block_errbuf(err, elen, r, "%s: cannot read the header", bd->filename);
    else if (le_get(magic, 4) == VMDK_MAGIC)
        r = open_monolithic(bd, s, err, elen);
    else
        r = open_descriptor(bd, s, flags, ctx, err, elen);
    if (r < 0) {
        free_state(s, bd);
        return r;
    }
    bd->opaque = s;
    return 0;
}

static void vmdk_close(struct block_dev *bd)
{
    free_state(bd->opaque, bd);
}

/* The extent holding byte `off` of the disk (which is below bd->size). */
static struct vmdk_ext *find(struct vmdk_state *s, uint64_t off)
{
    unsigned lo = 0, hi = s->n;
    while (hi - lo > 1) {
        unsigned mid = (lo + hi) / 2;
        if (s->ext[mid].start <= off)
            lo = mid;
        else
            hi = mid;
    }
    return &s->ext[lo];
}

static int vmdk_pread(struct block_dev *bd, uint64_t off, void *buf, size_t len)
{
    struct vmdk_state *s = bd->opaque;
    uint8_t *p = buf;
    while (len) {
        struct vmdk_ext *e = find(s, off);
        uint64_t in = off - e->start;
        size_t n = (size_t)MIN((uint64_t)len, e->len - in);
        int r = 0;
        if (e->type == VMDK_EXT_ZERO)
            memset(p, 0, n);
        else if (e->type == VMDK_EXT_FLAT)
            r = host_pread(&e->file, e->flat_off + in, p, n, false) < 0 ?
                block_seterr(bd, -EIO, "%s: read at offset %llu", e->path,
                             (unsigned long long)(e->flat_off + in)) : 0;
        else
            r = vmdk_sparse_read(bd, e->sp, in, p, n);
        if (r < 0)
            return r;
        off += n; p += n; len -= n;
    }
    return 0;
}

/* A write into extent e at byte `in` of it: `buf` NULL writes zeros. */
static int ext_write(struct block_dev *bd, struct vmdk_ext *e, uint64_t in,
                     const void *buf, size_t n)
{
    if (e->type == VMDK_EXT_ZERO || !e->writable)
        return block_seterr(bd, -EROFS, "%s: write at offset %llu: extent %s is %s",
                            bd->filename, (unsigned long long)(e->start + in),
                            e->path ? e->path : "(ZERO)", e->type == VMDK_EXT_ZERO ?
                            "a ZERO extent, which stores nothing" : "read-only (RDONLY)");
    if (e->type == VMDK_EXT_SPARSE)
        return buf ? vmdk_sparse_write(bd, e->sp, in, buf, n)
                   : vmdk_sparse_zero(bd, e->sp, in, n);
    uint64_t at = e->flat_off + in;
    int r = buf ? host_pwrite(&e->file, at, buf, n) : host_zero_range(&e->file, at, n);
    if (r < 0)
        return block_seterr(bd, r, "%s: write at offset %llu: %s", e->path,
                            (unsigned long long)at, strerror(-r));
    return 0;
}

/* Before the first change after the open: a new CID in the descriptor
 * (vmdk_cid.c).  A descriptor with no room left for 8 digits is left as
 * it is. */
static int renew_cid(struct block_dev *bd, struct vmdk_state *s)
{
    char *t = s->desc;
    if (!t)
        return 0;
    s->desc = NULL;
    size_t at = s->cid_at;
    long nl = vmdk_cid_set(t, s->desc_len, s->desc_cap, at, s->cid_len,
                           vmdk_cid_new(s->cid_old));
    if (nl < 0) {
        free(t);
        return 0;
    }
    size_t wl = (size_t)nl - at;
    if ((uint64_t)nl < s->desc_end) {
        t[nl] = 0;            /* ends the text before what followed it */
        wl++;
    }
    int r = host_pwrite(&bd->file, s->desc_off + at, t + at, wl);
    free(t);
    if (r < 0)
        return block_seterr(bd, r, "%s: write of the descriptor's new CID: %s",
                            bd->filename, strerror(-r));
    s->cid_unsynced = s->desc_file;
    return 0;
}

static int vmdk_pwrite(struct block_dev *bd, uint64_t off, const void *buf, size_t len)
{
    struct vmdk_state *s = bd->opaque;
    const uint8_t *p = buf;
    int rc = renew_cid(bd, s);
    if (rc < 0)
        return rc;
    while (len) {
        struct vmdk_ext *e = find(s, off);
        uint64_t in = off - e->start;
        size_t n = (size_t)MIN((uint64_t)len, e->len - in);
        int r = ext_write(bd, e, in, p, n);
        if (r < 0)
            return r;
        off += n; p += n; len -= n;
    }
    return 0;
}

static int vmdk_zero(struct block_dev *bd, uint64_t off, uint64_t len)
{
    struct vmdk_state *s = bd->opaque;
    int rc = renew_cid(bd, s);
    if (rc < 0)
        return rc;
    if (!s->desc_file && s->ext[0].sp->sw) {
        /* zeros in a stream are grains left out: write them as data,
         * which skips all-zero grains */
        static const uint8_t z[65536];
        while (len) {
            size_t n = (size_t)MIN(len, (uint64_t)sizeof(z));
            int r = vmdk_stream_write(bd, s->ext[0].sp, off, z, n);
            if (r < 0)
                return r;
            off += n; len -= n;
        }
        return 0;
    }
    while (len) {
        struct vmdk_ext *e = find(s, off);
        uint64_t in = off - e->start, n = MIN(len, e->len - in);
        int r = e->type == VMDK_EXT_ZERO ? 0 : ext_write(bd, e, in, NULL, (size_t)n);
        if (r < 0)
            return r;
        off += n; len -= n;
    }
    return 0;
}

static int vmdk_flush(struct block_dev *bd)
{
    struct vmdk_state *s = bd->opaque;
    if (s->cid_unsynced) {
        if (fdatasync(bd->file.fd) < 0)
            return block_seterr(bd, -errno, "%s: flush: %s", bd->filename, strerror(errno));
        s->cid_unsynced = false;
    }
    for (unsigned i = 0; i < s->n; i++) {
        struct vmdk_ext *e = &s->ext[i];
        int r = 0;
        if (e->sp)
            r = vmdk_sparse_flush(bd, e->sp);
        else if (e->writable && fdatasync(e->file.fd) < 0)
            r = block_seterr(bd, -errno, "%s: flush: %s", e->path, strerror(errno));
        if (r < 0)
            return r;
    }
    return 0;
}

static int vmdk_status(struct block_dev *bd, uint64_t off, uint64_t len, uint64_t *pnum)
{
    struct vmdk_state *s = bd->opaque;
    struct vmdk_ext *e = find(s, off);
    uint64_t in = off - e->start, n = MIN(len, e->len - in);
    if (e->type == VMDK_EXT_SPARSE)
        return vmdk_sparse_status(bd, e->sp, in, n, pnum);
    *pnum = n;
    return e->type == VMDK_EXT_ZERO ? BLOCK_STATUS_ZERO : BLOCK_STATUS_DATA;
}

static int vmdk_truncate(struct block_dev *bd, uint64_t size)
{
    (void)size;
    return block_seterr(bd, -ENOTSUP, "%s: resizing a VMDK is not supported; convert it "
                        "to qcow2 or raw first", bd->filename);
}

static int vmdk_info(struct block_dev *bd, struct block_info *info)
{
    struct vmdk_state *s = bd->opaque;
    for (unsigned i = 0; i < s->n; i++)
        if (s->ext[i].sp) {
            info->cluster_size = (uint32_t)s->ext[i].sp->grain;
            break;
        }
    /* A descriptor file's disk is its extents' files too (as qemu-img
     * counts it); each file once, though extents may share one. */
    for (unsigned i = 0; i < s->n; i++) {
        const struct vmdk_ext *e = &s->ext[i];
        bool seen = !e->own;
        for (unsigned j = 0; j < i && !seen; j++)
            seen = s->ext[j].own && s->ext[j].file.fd == e->file.fd;
        struct stat st;
        if (!seen && e->file.fd >= 0 && fstat(e->file.fd, &st) == 0)
            info->actual_size += (uint64_t)st.st_blocks * 512;
    }
    return 0;
}

static int vmdk_check(struct block_dev *bd, bool repair, struct block_check_result *res,
                      FILE *report)
{
    struct vmdk_state *s = bd->opaque;
    memset(res, 0, sizeof(*res));
    if (repair)
        return block_seterr(bd, -ENOTSUP, "%s: vessel img check cannot repair a VMDK; "
                            "convert it to a new image instead", bd->filename);
    uint64_t grain = 0;
    for (unsigned i = 0; i < s->n; i++) {
        struct vmdk_sparse *sp = s->ext[i].sp;
        if (!sp)
            continue;
        grain = sp->grain;
        int r = vmdk_sparse_check(bd, sp, report, &res->corruptions,
                                  &res->allocated_clusters);
        if (r < 0)
            return r;
    }
    if (grain)
        res->total_clusters = (bd->size + grain - 1) / grain;
    res->image_end_offset = s->ext[0].sp ? s->ext[0].sp->file_size : 0;
    return 0;
}

const struct block_driver block_vmdk_driver = {
    .fmt = BLOCK_FMT_VMDK,
    .pread = vmdk_pread,
    .pwrite = vmdk_pwrite,
    .discard = vmdk_zero,
    .write_zeroes = vmdk_zero,
    .flush = vmdk_flush,
    .status = vmdk_status,
    .truncate = vmdk_truncate,
    .close = vmdk_close,
    .info = vmdk_info,
    .check = vmdk_check,
};
