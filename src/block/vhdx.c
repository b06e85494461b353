/* block: the VHDX driver (MS-VHDX, version 1): open, reads and writes
 * through the block allocation table, check.
 *
 * On-disk layout of the data (MS-VHDX 2.5; headers, regions and metadata
 * are summarised in vhdx_meta.c, the log in vhdx_log.c):
 *  - The virtual disk is cut into payload blocks of BlockSize bytes (a
 *    power of two, 1 to 256 MiB).  A chunk is 2^23 logical sectors, i.e.
 *    chunk_ratio = 2^23 * LogicalSectorSize / BlockSize payload blocks.
 *  - The BAT region holds 64-bit entries: per chunk, chunk_ratio payload
 *    block entries followed by one sector bitmap block entry; payload
 *    block b is entry b + b / chunk_ratio.  Bits 0-2 are the state, bits
 *    20-63 the file offset in MiB.
 *  - Payload states: NOT_PRESENT (0, no data: reads zeros here, the
 *    parent's data in a differencing disk), UNDEFINED (1) and UNMAPPED
 *    (3, contents not kept: we read zeros), ZERO (2), FULLY_PRESENT (6,
 *    the whole block at the offset) and PARTIALLY_PRESENT (7,
 *    differencing disks only: the sector bitmap says which sectors are
 *    here).  Sector bitmap entries are NOT_PRESENT (0) or PRESENT (6), and
 *    matter only in differencing disks, which we refuse.
 *  - A dynamic disk starts with no block present and appends a block at
 *    a 1 MiB-aligned offset at the end of the file when it is first
 *    written; a fixed disk has every block FULLY_PRESENT from creation.
 * Writes: a new block's data is written first, then its BAT entry through
 * the log (vhdx_log.c gives the order and why a crash cannot leave a BAT
 * entry naming a block the file does not hold).  A read-only open of a
 * file whose log needs replay replays it into memory and reads through
 * it; a read-write open replays it into the file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/vhdx.h"
#include "util/util.h"

struct vhdx_drv {
    struct vhdx_state s;
    bool replayed;            /* a read-write open replayed a dirty log */
};

static int bat_commit(struct block_dev *bd, struct vhdx_state *s);

static uint64_t bat_index(const struct vhdx_state *s, uint64_t b)
{
    return b + b / s->chunk_ratio;
}

static bool is_sb_index(const struct vhdx_state *s, uint64_t i)
{
    return i % ((uint64_t)s->chunk_ratio + 1) == s->chunk_ratio;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Validate the BAT: known states, present blocks whole inside the file,
 * past the header section, outside the log and the regions, no two on
 * the same bytes.  Returns the fault count (first in err, each on
 * report) or -ENOMEM; the FULLY_PRESENT count in *present. */
static int scan_bat(const struct vhdx_state *s, const char *file, FILE *report,
                    char *err, size_t elen, uint64_t *present)
{
    uint64_t *offs = malloc((s->nblocks + 1) * sizeof(*offs));
    if (!offs)
        return -ENOMEM;
    int n = 0;
    uint64_t np = 0;
    const uint64_t bs = s->block_size;
    for (uint64_t i = 0; i < s->nbat && n <= 1000; i++) {
        uint64_t e = s->bat[i], off = e & VHDX_BAT_OFF_MASK;
        unsigned st = (unsigned)(e & VHDX_BAT_STATE_MASK);
        if (is_sb_index(s, i)) {
            if (st != VHDX_SB_NOT_PRESENT && st != VHDX_SB_PRESENT)
                block_check_fault(report, err, elen, &n, "%s: BAT entry %llu (sector "
                                  "bitmap): state %u (accepted: 0, 6)", file,
                                  (unsigned long long)i, st);
            else if (st == VHDX_SB_PRESENT && off + VHDX_MIB > s->file_size)
                block_check_fault(report, err, elen, &n, "%s: BAT entry %llu (sector "
                                  "bitmap): offset %llu past the end of the file (%llu "
                                  "bytes)", file, (unsigned long long)i,
                                  (unsigned long long)off, (unsigned long long)s->file_size);
            continue;
        }
        uint64_t b = i - i / ((uint64_t)s->chunk_ratio + 1);
        if (st == VHDX_PAYLOAD_PARTIALLY_PRESENT || st == 4 || st == 5) {
            block_check_fault(report, err, elen, &n, "%s: BAT entry %llu (block %llu): "
                              "state %u (accepted without a parent: 0, 1, 2, 3, 6)", file,
                              (unsigned long long)i, (unsigned long long)b, st);
            continue;
        }
        if (st != VHDX_PAYLOAD_FULLY_PRESENT)
            continue;
        const char *bad = NULL;
        if (off < VHDX_HDR_SECTION)
            bad = "inside the header section";
        else if (off > s->file_size || bs > s->file_size - off)
            bad = "past the end of the file";
        else if (off < s->log_off + s->log_len && s->log_off < off + bs)
            bad = "over the log";
        else if (off < s->bat_off + s->bat_len && s->bat_off < off + bs)
            bad = "over the BAT region";
        else if (off < s->meta_off + s->meta_len && s->meta_off < off + bs)
            bad = "over the metadata region";
        if (bad) {
            block_check_fault(report, err, elen, &n, "%s: BAT entry %llu (block %llu): "
                              "offset %llu is %s (file: %llu bytes)", file,
                              (unsigned long long)i, (unsigned long long)b,
                              (unsigned long long)off, bad,
                              (unsigned long long)s->file_size);
            continue;
        }
        offs[np++] = off;
    }
    qsort(offs, np, sizeof(*offs), cmp_u64);
    for (uint64_t k = 1; k < np && n <= 1000; k++)
        if (offs[k] - offs[k - 1] < bs)
            block_check_fault(report, err, elen, &n, "%s: BAT: two blocks overlap (at "
                              "offsets %llu and %llu, %llu-byte blocks)", file,
                              (unsigned long long)offs[k - 1], (unsigned long long)offs[k],
                              (unsigned long long)bs);
    free(offs);
    if (present)
        *present = np;
    return n;
}

static int read_bat(struct block_dev *bd, struct vhdx_state *s, char *err, size_t elen)
{
    s->bat_bytes = (size_t)((s->nbat * 8 + VHDX_LOG_SECTOR - 1) / VHDX_LOG_SECTOR *
                            VHDX_LOG_SECTOR);
    s->bat = malloc(s->bat_bytes);
    s->bat_dirty = calloc(1, s->bat_bytes / VHDX_LOG_SECTOR);
    if (!s->bat || !s->bat_dirty)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory for a BAT of %llu "
                            "entries", bd->filename, (unsigned long long)s->nbat);
    int r = vhdx_file_read(&bd->file, s, s->bat_off, s->bat, s->bat_bytes);
    if (r < 0)
        return block_errbuf(err, elen, r, "%s: read of the BAT: %s", bd->filename,
                            strerror(-r));
    for (size_t i = 0; i < s->bat_bytes / 8; i++)
        s->bat[i] = le_get((const uint8_t *)&s->bat[i], 8);
    return 0;
}

/* A dirty log: replayed into memory (read-only) or into the file. */
static int open_log(struct block_dev *bd, struct vhdx_drv *v, char *err, size_t elen)
{
    struct vhdx_state *s = &v->s;
    if (vhdx_guid_zero(s->hdr + VHDX_H_LOG_GUID))
        return 0;
    s->log_dirty = true;
    struct vhdx_replay rp;
    int r = vhdx_log_read(&bd->file, bd->filename, s, &rp, err, elen);
    if (r < 0)
        return r;
    if (bd->read_only) {
        s->log_dirty = rp.entries > 0;
        s->ovl = rp;
        s->file_size = MAX(s->file_size, rp.last_file_off);
        return 0;
    }
    unsigned entries = rp.entries;
    r = vhdx_log_apply(&bd->file, bd->filename, &rp, err, elen);
    vhdx_replay_free(&rp);
    if (r < 0)
        return r;
    off_t end = lseek(bd->file.fd, 0, SEEK_END);
    if (end > 0)
        s->file_size = (uint64_t)end;
    static const uint8_t zero[16];
    r = vhdx_update_header(bd, s, NULL, zero);
    if (r < 0)
        return block_errbuf(err, elen, r, "%s", bd->err);
    v->replayed = entries > 0;
    s->log_dirty = false;
    return 0;
}

int vhdx_open(struct block_dev *bd, unsigned flags, char *err, size_t elen)
{
    const char *f = bd->filename;
    struct vhdx_drv *v = calloc(1, sizeof(*v));
    if (!v)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", f);
    struct vhdx_state *s = &v->s;
    int r;
    off_t end = lseek(bd->file.fd, 0, SEEK_END);
    if (end < 0) {
        r = block_errbuf(err, elen, -errno, "%s: cannot find the size: %s", f,
                         strerror(errno));
        goto fail;
    }
    s->file_size = (uint64_t)end;
    if ((r = vhdx_parse_headers(&bd->file, f, s, err, elen)) < 0 ||
        (r = open_log(bd, v, err, elen)) < 0 ||
        (r = vhdx_parse_regions(&bd->file, f, s, err, elen)) < 0 ||
        (r = read_bat(bd, s, err, elen)) < 0)
        goto fail;
    r = scan_bat(s, f, NULL, err, elen, NULL);
    if (r > 0 && !((flags & BLOCK_O_CHECK) && bd->read_only))
        r = -EINVAL;
    if (r < 0)
        goto fail;
    bd->size = s->disk_size;
    bd->opaque = v;
    return 0;
fail:
    free(s->bat_dirty);
    free(s->bat);
    vhdx_replay_free(&s->ovl);
    free(v);
    return r;
}

static void vhdx_close(struct block_dev *bd)
{
    struct vhdx_drv *v = bd->opaque;
    /* A clean close empties the log (LogGuid cleared), so that other
     * readers open the file without a replay. */
    if (!bd->read_only && bat_commit(bd, &v->s) == 0)
        vhdx_session_end(bd, &v->s);
    free(v->s.bat_dirty);
    free(v->s.bat);
    vhdx_replay_free(&v->s.ovl);
    free(v);
}

static int io_err(struct block_dev *bd, int r, const char *what, uint64_t at)
{
    return block_seterr(bd, r, "%s: %s at offset %llu: %s", bd->filename, what,
                        (unsigned long long)at, strerror(-r));
}

static int vhdx_pread(struct block_dev *bd, uint64_t off, void *buf, size_t len)
{
    struct vhdx_state *s = &((struct vhdx_drv *)bd->opaque)->s;
    uint8_t *p = buf;
    while (len) {
        uint64_t b = off / s->block_size, in = off % s->block_size;
        size_t n = (size_t)MIN((uint64_t)len, s->block_size - in);
        uint64_t e = s->bat[bat_index(s, b)];
        if ((e & VHDX_BAT_STATE_MASK) != VHDX_PAYLOAD_FULLY_PRESENT) {
            memset(p, 0, n);
        } else {
            uint64_t at = (e & VHDX_BAT_OFF_MASK) + in;
            int r = s->ovl.n ? vhdx_file_read(&bd->file, s, at, p, n)
                             : host_pread(&bd->file, at, p, n, false);
            if (r < 0)
                return io_err(bd, r, "read", at);
        }
        off += n; p += n; len -= n;
    }
    return 0;
}

/* Commit the changed BAT sectors through the log, at most
 * VHDX_LOG_MAX_SECTORS per entry. */
static int bat_commit(struct block_dev *bd, struct vhdx_state *s)
{
    size_t nsec = s->bat_bytes / VHDX_LOG_SECTOR;
    uint64_t offs[VHDX_LOG_MAX_SECTORS];
    uint8_t *buf = NULL;
    int r = 0;
    if (!s->ndirty)
        return 0;
    if (!(buf = malloc((size_t)VHDX_LOG_MAX_SECTORS * VHDX_LOG_SECTOR)))
        return block_seterr(bd, -ENOMEM, "%s: out of memory", bd->filename);
    unsigned n = 0;
    for (size_t k = 0; k < nsec && r == 0; k++) {
        if (s->bat_dirty[k]) {
            uint8_t *p = buf + (size_t)n * VHDX_LOG_SECTOR;
            for (size_t j = 0; j < VHDX_LOG_SECTOR / 8; j++)
                le_put(p + 8 * j, s->bat[k * (VHDX_LOG_SECTOR / 8) + j], 8);
            offs[n++] = s->bat_off + k * VHDX_LOG_SECTOR;
        }
        if (n && (n == VHDX_LOG_MAX_SECTORS || k + 1 == nsec)) {
            r = vhdx_log_write(bd, s, offs, buf, n);
            n = 0;
        }
    }
    free(buf);
    if (r == 0) {
        memset(s->bat_dirty, 0, nsec);
        s->ndirty = 0;
        s->pending = 0;
    }
    return r;
}

/* Set BAT entry i in memory; the log gets it at the next commit: a flush,
 * the close, or once enough has piled up (a write not yet flushed may
 * be lost in a crash, as with any write-back cache, but never leaves a
 * BAT entry naming a block whose data is not in the file). */
static int bat_set(struct block_dev *bd, struct vhdx_state *s, uint64_t i, uint64_t e)
{
    size_t k = (size_t)(i * 8 / VHDX_LOG_SECTOR);
    s->bat[i] = e;
    if (!s->bat_dirty[k]) {
        s->bat_dirty[k] = 1;
        s->ndirty++;
    }
    s->pending++;
    if (s->ndirty >= VHDX_LOG_MAX_SECTORS || s->pending >= 32)
        return bat_commit(bd, s);
    return 0;
}

/* Give payload block b a new block at the end of the file (1 MiB-aligned;
 * it reads zeros, as the block did), write `n` bytes of data at `in`
 * inside it, then its BAT entry. */
static int alloc_write(struct block_dev *bd, struct vhdx_state *s, uint64_t b,
                       uint64_t in, const uint8_t *p, size_t n)
{
    uint64_t at = (s->file_size + VHDX_MIB - 1) / VHDX_MIB * VHDX_MIB;
    uint64_t end = at + s->block_size;
    if (end > VHDX_BAT_OFF_MASK)
        return block_seterr(bd, -EFBIG, "%s: no room for block %llu: the file would "
                            "pass the largest offset a BAT entry holds", bd->filename,
                            (unsigned long long)b);
    if (ftruncate(bd->file.fd, (off_t)end) < 0)
        return io_err(bd, -errno, "growing the file", end);
    s->file_size = end;
    int r = host_pwrite(&bd->file, at + in, p, n);
    if (r < 0)
        return io_err(bd, r, "write", at + in);
    return bat_set(bd, s, bat_index(s, b), at | VHDX_PAYLOAD_FULLY_PRESENT);
}

static int vhdx_pwrite(struct block_dev *bd, uint64_t off, const void *buf, size_t len)
{
    struct vhdx_state *s = &((struct vhdx_drv *)bd->opaque)->s;
    int r = vhdx_session_start(bd, s);
    if (r < 0)
        return r;
    const uint8_t *p = buf;
    while (len) {
        uint64_t b = off / s->block_size, in = off % s->block_size;
        size_t n = (size_t)MIN((uint64_t)len, s->block_size - in);
        uint64_t e = s->bat[bat_index(s, b)];
        if ((e & VHDX_BAT_STATE_MASK) == VHDX_PAYLOAD_FULLY_PRESENT) {
            uint64_t at = (e & VHDX_BAT_OFF_MASK) + in;
            r = host_pwrite(&bd->file, at, p, n);
            if (r < 0)
                return io_err(bd, r, "write", at);
        } else if ((r = alloc_write(bd, s, b, in, p, n)) < 0) {
            return r;
        }
        off += n; p += n; len -= n;
    }
    return 0;
}

/* Blocks without data already read zeros; present ones are zeroed in
 * place (a hole punched where the host can), keeping their place. */
static int vhdx_zero(struct block_dev *bd, uint64_t off, uint64_t len)
{
    struct vhdx_state *s = &((struct vhdx_drv *)bd->opaque)->s;
    int r = vhdx_session_start(bd, s);
    if (r < 0)
        return r;
    while (len) {
        uint64_t b = off / s->block_size, in = off % s->block_size;
        uint64_t n = MIN(len, s->block_size - in);
        uint64_t e = s->bat[bat_index(s, b)];
        if ((e & VHDX_BAT_STATE_MASK) == VHDX_PAYLOAD_FULLY_PRESENT) {
            uint64_t at = (e & VHDX_BAT_OFF_MASK) + in;
            r = host_zero_range(&bd->file, at, n);
            if (r < 0)
                return io_err(bd, r, "zeroing", at);
        }
        off += n; len -= n;
    }
    return 0;
}

static int vhdx_flush(struct block_dev *bd)
{
    struct vhdx_state *s = &((struct vhdx_drv *)bd->opaque)->s;
    int r = bat_commit(bd, s);
    if (r == 0)
        r = block_flush_file(bd);
    if (r == 0) {
        s->log_unsynced = -1;
        s->synced_size = s->file_size;
    }
    return r;
}

static int status_of(uint64_t e)
{
    unsigned st = (unsigned)(e & VHDX_BAT_STATE_MASK);
    return st == VHDX_PAYLOAD_FULLY_PRESENT ? BLOCK_STATUS_DATA
         : st == VHDX_PAYLOAD_NOT_PRESENT ? BLOCK_STATUS_UNALLOCATED : BLOCK_STATUS_ZERO;
}

static int vhdx_status(struct block_dev *bd, uint64_t off, uint64_t len, uint64_t *pnum)
{
    struct vhdx_state *s = &((struct vhdx_drv *)bd->opaque)->s;
    int st = status_of(s->bat[bat_index(s, off / s->block_size)]);
    uint64_t done = 0;
    while (done < len) {
        uint64_t o = off + done;
        if (status_of(s->bat[bat_index(s, o / s->block_size)]) != st)
            break;
        done += MIN(len - done, s->block_size - o % s->block_size);
    }
    *pnum = done;
    return st;
}

static int vhdx_truncate(struct block_dev *bd, uint64_t size)
{
    (void)size;
    return block_seterr(bd, -ENOTSUP, "%s: resizing a VHDX is not supported; convert "
                        "it to qcow2 or raw first", bd->filename);
}

static int vhdx_info(struct block_dev *bd, struct block_info *info)
{
    struct vhdx_state *s = &((struct vhdx_drv *)bd->opaque)->s;
    info->cluster_size = s->block_size;
    info->dirty = s->log_dirty;
    return 0;
}

/* As qemu-img check: bad BAT entries are corruptions; a log that needs
 * replay is one too until a read-write open (check --repair) replays it,
 * which then counts as a fixed corruption. */
static int vhdx_check(struct block_dev *bd, bool repair, struct block_check_result *res,
                      FILE *report)
{
    struct vhdx_drv *v = bd->opaque;
    struct vhdx_state *s = &v->s;
    memset(res, 0, sizeof(*res));
    uint64_t np = 0;
    int n = scan_bat(s, bd->filename, report, NULL, 0, &np);
    if (n < 0)
        return block_seterr(bd, n, "%s: out of memory", bd->filename);
    res->corruptions = (uint64_t)n;
    if (s->log_dirty) {
        res->corruptions++;
        if (report)
            fprintf(report, "ERROR %s: the log holds %u entries not yet replayed (header "
                    "LogGuid is set); reads see the replayed data; vessel img check "
                    "--repair (or any read-write open) replays them into the file\n",
                    bd->filename, s->ovl.entries);
    }
    if (repair && n)
        return block_seterr(bd, -ENOTSUP, "%s: vessel img check cannot repair a VHDX's "
                            "BAT; convert it to a new image instead", bd->filename);
    if (repair && v->replayed) {
        res->corruptions_fixed = 1;
        v->replayed = false;
    }
    res->allocated_clusters = np;
    res->total_clusters = s->nblocks;
    res->image_end_offset = s->file_size;
    return 0;
}

const struct block_driver block_vhdx_driver = {
    .fmt = BLOCK_FMT_VHDX,
    .pread = vhdx_pread,
    .pwrite = vhdx_pwrite,
    .discard = vhdx_zero,
    .write_zeroes = vhdx_zero,
    .flush = vhdx_flush,
    .status = vhdx_status,
    .truncate = vhdx_truncate,
    .close = vhdx_close,
    .info = vhdx_info,
    .check = vhdx_check,
};

int vhdx_create(const char *path, const struct block_create_opts *o, char *err,
                size_t elen)
{
    return vhdx_create_file(path, o, err, elen);
}
