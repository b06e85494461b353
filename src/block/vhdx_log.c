/* block: the VHDX metadata log (MS-VHDX 2.3 "Log"): replay on open, and
 * the entries our writes of the BAT go through.
 *
 * On-disk layout (little-endian, 4 KiB log sectors):
 *  - The log is a circular buffer at the header's LogOffset, LogLength
 *    bytes (whole MiBs).  It is in use only while the header's LogGuid is
 *    non-zero; entries carry that GUID, so entries of an earlier use of
 *    the buffer never count.
 *  - An entry is a whole number of sectors: first the descriptor sectors
 *    (a 64-byte entry header, then 32-byte descriptors; (count + 2) / 128
 *    sectors rounded up), then one data sector per data descriptor.
 *    Entry header: "loge", CRC-32C over the whole entry (checksum field
 *    zeroed), EntryLength, Tail (log offset of the oldest entry still
 *    needed), SequenceNumber (u64, non-zero), DescriptorCount, reserved,
 *    LogGuid, FlushedFileOffset (the file size known durable when it was
 *    written) and LastFileOffset (the size the file must have).
 *  - Data descriptor: "desc", TrailingBytes (u32), LeadingBytes (u64),
 *    FileOffset (u64, 4 KiB-aligned), SequenceNumber.  Its data sector:
 *    "data", SequenceHigh, 4084 bytes, SequenceLow; the 4 KiB written to
 *    FileOffset are LeadingBytes, those 4084 bytes, TrailingBytes.
 *  - Zero descriptor: "zero", reserved, ZeroLength (u64, 4 KiB multiple),
 *    FileOffset, SequenceNumber.
 *  - The active sequence: the valid entry with the highest sequence
 *    number (the head) and the entries from its Tail up to it, each the
 *    next in the buffer with the next sequence number.  Replay writes
 *    their descriptors in order, grows the file to LastFileOffset, and
 *    the log is then emptied by clearing LogGuid.
 *
 * Our writes: BAT changes are collected in memory (vhdx.c) and committed
 * as one entry whose data sectors are the changed 4 KiB sectors of the
 * BAT.  Order: the payload data is written; the entry is written and one
 * fdatasync makes both durable; the BAT sectors are then written in
 * place.  The next fdatasync (the next
 * entry's, or a flush) makes that in-place write durable, so an entry's
 * Tail reaches back to the previous entry until then: a crash at any
 * point leaves a file whose replay gives either the old BAT or the new
 * one, never a BAT naming a block the file does not hold. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/vhdx.h"
#include "util/util.h"

#define LOG_SEC VHDX_LOG_SECTOR

/* Entry header fields. */
#define LE_SIG      0
#define LE_CRC      4
#define LE_LEN      8
#define LE_TAIL     12
#define LE_SEQ      16
#define LE_COUNT    24
#define LE_GUID     32
#define LE_FLUSHED  48
#define LE_LAST     56

static uint32_t desc_sectors(uint64_t count)
{
    return (uint32_t)((count + 2 + 127) / 128);
}

void vhdx_replay_free(struct vhdx_replay *rp)
{
    for (size_t i = 0; i < rp->n; i++)
        free(rp->d[i].data);
    free(rp->d);
    memset(rp, 0, sizeof(*rp));
}

/* The entry at log offset o of the in-memory log `log` (len bytes):
 * its bytes in order (it may wrap), into e (malloc'ed).  NULL if no
 * memory. */
static uint8_t *entry_copy(const uint8_t *log, uint32_t len, uint32_t o, uint32_t elen)
{
    uint8_t *e = malloc(elen);
    if (!e)
        return NULL;
    uint32_t first = MIN(elen, len - o);
    memcpy(e, log + o, first);
    memcpy(e + first, log, elen - first);
    return e;
}

/* Whether the entry at o is valid (2.3.1: signature, length, GUID, the
 * checksum, every descriptor and data sector consistent).  Its length,
 * sequence number and tail in *elen, *seq, *tail. */
static bool entry_valid(const uint8_t *log, uint32_t len, uint32_t o,
                        const uint8_t *guid, uint32_t *elen, uint64_t *seq,
                        uint32_t *tail)
{
    const uint8_t *h = log + o;
    if (memcmp(h + LE_SIG, "loge", 4) || memcmp(h + LE_GUID, guid, 16))
        return false;
    uint32_t el = (uint32_t)le_get(h + LE_LEN, 4), tl = (uint32_t)le_get(h + LE_TAIL, 4);
    uint64_t sq = le_get(h + LE_SEQ, 8), count = le_get(h + LE_COUNT, 4);
    uint32_t ds = desc_sectors(count);
    if (!el || el % LOG_SEC || el > len || !sq || tl % LOG_SEC || tl >= len ||
        (uint64_t)ds * LOG_SEC > el)
        return false;
    /* The descriptor sectors lie in one entry; read descriptors through a
     * copy since the entry may wrap. */
    uint8_t *e = entry_copy(log, len, o, el);
    if (!e)
        return false;
    bool ok = false;
    uint32_t want = (uint32_t)le_get(e + LE_CRC, 4);
    le_put(e + LE_CRC, 0, 4);
    if (crc32c(0, e, el) != want)
        goto out;
    uint64_t ndata = 0;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *d = e + 64 + 32 * i;
        if (le_get(d + 24, 8) != sq || le_get(d + 16, 8) % LOG_SEC)
            goto out;
        if (!memcmp(d, "desc", 4)) {
            const uint8_t *ds_ = e + ((uint64_t)ds + ndata) * LOG_SEC;
            if ((uint64_t)ds + ndata >= el / LOG_SEC || memcmp(ds_, "data", 4) ||
                le_get(ds_ + 4, 4) != sq >> 32 || le_get(ds_ + 4092, 4) != (sq & 0xffffffffu))
                goto out;
            ndata++;
        } else if (memcmp(d, "zero", 4) || le_get(d + 8, 8) % LOG_SEC) {
            goto out;
        }
    }
    if ((uint64_t)ds + ndata != el / LOG_SEC)
        goto out;
    *elen = el;
    *seq = sq;
    *tail = tl;
    ok = true;
out:
    free(e);
    return ok;
}

/* Append the descriptors of the entry at o to rp, checking where they
 * point: not into the headers or the log, not past 2^62, not past the
 * entry's LastFileOffset. */
static int entry_collect(const uint8_t *log, uint32_t len, uint32_t o, uint32_t el,
                         const struct vhdx_state *s, const char *file,
                         struct vhdx_replay *rp, uint64_t fsize, char *err, size_t elen)
{
    uint8_t *e = entry_copy(log, len, o, el);
    if (!e)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", file);
    int r = 0;
    uint64_t count = le_get(e + LE_COUNT, 4), ndata = 0;
    uint32_t ds = desc_sectors(count);
    uint64_t last = le_get(e + LE_LAST, 8), flushed = le_get(e + LE_FLUSHED, 8);
    struct vhdx_ovl *nd = realloc(rp->d, (rp->n + count + 1) * sizeof(*nd));
    if (!nd) {
        r = block_errbuf(err, elen, -ENOMEM, "%s: out of memory", file);
        goto out;
    }
    rp->d = nd;
    if (flushed > fsize || last > VHDX_LOG_MAX_FILE) {
        r = block_errbuf(err, elen, -EINVAL, "%s: log entry at log offset %u: "
                         "FlushedFileOffset %llu, LastFileOffset %llu (accepted: at most "
                         "the file's %llu bytes, and 128 TiB); was the file truncated?", file,
                         o, (unsigned long long)flushed, (unsigned long long)last,
                         (unsigned long long)fsize);
        goto out;
    }
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *d = e + 64 + 32 * i;
        bool data = !memcmp(d, "desc", 4);
        uint64_t off = le_get(d + 16, 8), n = data ? LOG_SEC : le_get(d + 8, 8);
        if (off < VHDX_RT1_OFF || off > (1ull << 62) || n > (1ull << 62) - off ||
            (off < s->log_off + s->log_len && s->log_off < off + n) ||
            off + n > MAX(last, fsize)) {   /* last <= VHDX_LOG_MAX_FILE */
            r = block_errbuf(err, elen, -EINVAL, "%s: log entry at log offset %u, "
                             "descriptor %llu: %llu bytes at file offset %llu (accepted: "
                             "inside the file's %llu bytes, past the headers, outside "
                             "the log)", file, o, (unsigned long long)i,
                             (unsigned long long)n, (unsigned long long)off,
                             (unsigned long long)MAX(last, fsize));
            goto out;
        }
        struct vhdx_ovl *v = &rp->d[rp->n];
        v->off = off;
        v->len = n;
        v->data = NULL;
        if (data) {
            if (!(v->data = malloc(LOG_SEC))) {
                r = block_errbuf(err, elen, -ENOMEM, "%s: out of memory", file);
                goto out;
            }
            const uint8_t *sec = e + ((uint64_t)ds + ndata++) * LOG_SEC;
            memcpy(v->data, d + 8, 8);              /* LeadingBytes */
            memcpy(v->data + 8, sec + 8, 4084);
            memcpy(v->data + 4092, d + 4, 4);       /* TrailingBytes */
        }
        rp->n++;
    }
    rp->last_file_off = MAX(rp->last_file_off, last);
out:
    free(e);
    return r;
}

int vhdx_log_read(const struct host_file *f, const char *file,
                  const struct vhdx_state *s, struct vhdx_replay *rp,
                  char *err, size_t elen)
{
    memset(rp, 0, sizeof(*rp));
    const uint8_t *guid = s->hdr + VHDX_H_LOG_GUID;
    uint32_t len = s->log_len;
    if (vhdx_guid_zero(guid) || !len)
        return 0;
    if (len > VHDX_LOG_MAX_LEN)
        return block_errbuf(err, elen, -ENOTSUP, "%s: header field LogLength %u: a log "
                            "to replay may be at most %u MiB", file, len,
                            VHDX_LOG_MAX_LEN >> 20);
    if (s->log_off + len > s->file_size)
        return block_errbuf(err, elen, -EINVAL, "%s: header fields LogOffset %llu, "
                            "LogLength %u: the log runs past the end of the file (%llu "
                            "bytes)", file, (unsigned long long)s->log_off, len,
                            (unsigned long long)s->file_size);
    uint8_t *log = malloc(len);
    if (!log)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory for a %u-byte log",
                            file, len);
    int r = host_pread(f, s->log_off, log, len, true);
    if (r < 0) {
        block_errbuf(err, elen, r, "%s: read of the log: %s", file, strerror(-r));
        goto out;
    }
    /* The head: the valid entry with the highest sequence number. */
    int64_t head = -1;
    uint64_t hseq = 0;
    uint32_t htail = 0;
    for (uint32_t o = 0; o < len; o += LOG_SEC) {
        uint32_t el, tl;
        uint64_t sq;
        if (entry_valid(log, len, o, guid, &el, &sq, &tl) && (head < 0 || sq > hseq)) {
            head = o;
            hseq = sq;
            htail = tl;
        }
    }
    if (head < 0)
        goto out;
    /* Walk from its tail to it; every step must be the next entry. */
    uint32_t o = htail, n = 0, max = len / LOG_SEC;
    uint64_t prev = 0;
    uint32_t *offs = malloc(2 * sizeof(uint32_t) * max), *lens = offs + max;
    if (!offs) {
        r = block_errbuf(err, elen, -ENOMEM, "%s: out of memory", file);
        goto out;
    }
    for (;;) {
        uint32_t el, tl;
        uint64_t sq;
        if (n == max || !entry_valid(log, len, o, guid, &el, &sq, &tl) ||
            (n && sq != prev + 1) || sq > hseq) {
            r = block_errbuf(err, elen, -EINVAL, "%s: log entry at log offset %lld "
                             "(sequence %llu): its Tail %u does not lead to it through "
                             "valid entries with consecutive sequence numbers", file,
                             (long long)head, (unsigned long long)hseq, htail);
            free(offs);
            goto out;
        }
        offs[n] = o;
        lens[n++] = el;
        prev = sq;
        if (o == (uint32_t)head)
            break;
        o = (uint32_t)(((uint64_t)o + el) % len);
    }
    for (uint32_t i = 0; i < n && r == 0; i++)
        r = entry_collect(log, len, offs[i], lens[i], s, file, rp, s->file_size, err, elen);
    free(offs);
    rp->entries = n;
    rp->next_seq = hseq + 1;
out:
    free(log);
    if (r < 0)
        vhdx_replay_free(rp);
    return r;
}

int vhdx_log_apply(const struct host_file *f, const char *file,
                   const struct vhdx_replay *rp, char *err, size_t elen)
{
    for (size_t i = 0; i < rp->n; i++) {
        const struct vhdx_ovl *d = &rp->d[i];
        int r = d->data ? host_pwrite(f, d->off, d->data, (size_t)d->len)
                        : host_zero_range(f, d->off, d->len);
        if (r < 0)
            return block_errbuf(err, elen, r, "%s: log replay: write of %llu bytes at "
                                "%llu: %s", file, (unsigned long long)d->len,
                                (unsigned long long)d->off, strerror(-r));
    }
    off_t end = lseek(f->fd, 0, SEEK_END);
    if (end >= 0 && (uint64_t)end < rp->last_file_off) {
        uint64_t sz = (rp->last_file_off + VHDX_MIB - 1) / VHDX_MIB * VHDX_MIB;
        if (ftruncate(f->fd, (off_t)sz) < 0)
            return block_errbuf(err, elen, -errno, "%s: log replay: growing the file to "
                                "%llu bytes: %s", file, (unsigned long long)sz,
                                strerror(errno));
    }
    if (fdatasync(f->fd) < 0)
        return block_errbuf(err, elen, -errno, "%s: log replay: flush: %s", file,
                            strerror(errno));
    return 0;
}

int vhdx_session_start(struct block_dev *bd, struct vhdx_state *s)
{
    if (s->session)
        return 0;
    uint8_t data[16], log[16];
    vhdx_guid_new(data);
    vhdx_guid_new(log);
    int r = vhdx_update_header(bd, s, data, log);
    if (r < 0)
        return r;
    s->session = true;
    s->log_head = 0;
    s->log_seq = 1;
    s->log_unsynced = -1;
    s->synced_size = s->file_size;
    return 0;
}

int vhdx_session_end(struct block_dev *bd, struct vhdx_state *s)
{
    if (!s->session)
        return 0;
    int e = vhdx_order_sync(bd);
    if (e < 0)
        return block_seterr(bd, e, "%s: flush: %s", bd->filename, strerror(-e));
    static const uint8_t zero[16];
    int r = vhdx_update_header(bd, s, NULL, zero);
    if (r == 0)
        s->session = false;
    return r;
}

int vhdx_log_write(struct block_dev *bd, struct vhdx_state *s, const uint64_t *offs,
                   const uint8_t *data, unsigned nsec)
{
    int r = vhdx_session_start(bd, s);
    if (r < 0)
        return r;
    uint32_t ds = desc_sectors(nsec), el = (ds + nsec) * LOG_SEC;
    if ((uint64_t)el * 2 > s->log_len)
        return block_seterr(bd, -ENOSPC, "%s: the log (%u bytes) is too small for an "
                            "entry of %u bytes", bd->filename, s->log_len, el);
    /* An entry that wraps around the buffer starts a new sequence (tail =
     * itself): some readers only follow a sequence forward from the
     * buffer's start. */
    if (s->log_head + el > s->log_len || s->log_head == 0) {
        int e = s->log_unsynced >= 0 ? vhdx_order_sync(bd) : 0;
        if (e < 0)
            return block_seterr(bd, e, "%s: flush: %s", bd->filename, strerror(-e));
        s->log_unsynced = -1;
    }
    uint8_t *e = calloc(1, el);
    if (!e)
        return block_seterr(bd, -ENOMEM, "%s: out of memory", bd->filename);
    uint64_t sq = s->log_seq;
    memcpy(e + LE_SIG, "loge", 4);
    le_put(e + LE_LEN, el, 4);
    le_put(e + LE_TAIL, s->log_unsynced >= 0 ? (uint64_t)s->log_unsynced : s->log_head, 4);
    le_put(e + LE_SEQ, sq, 8);
    le_put(e + LE_COUNT, nsec, 4);
    memcpy(e + LE_GUID, s->hdr + VHDX_H_LOG_GUID, 16);
    le_put(e + LE_FLUSHED, s->synced_size, 8);
    le_put(e + LE_LAST, s->file_size, 8);
    for (unsigned i = 0; i < nsec; i++) {
        uint8_t *d = e + 64 + 32 * i, *sec = e + (uint64_t)(ds + i) * LOG_SEC;
        const uint8_t *src = data + (uint64_t)i * LOG_SEC;
        memcpy(d, "desc", 4);
        memcpy(d + 4, src + 4092, 4);
        memcpy(d + 8, src, 8);
        le_put(d + 16, offs[i], 8);
        le_put(d + 24, sq, 8);
        memcpy(sec, "data", 4);
        le_put(sec + 4, sq >> 32, 4);
        memcpy(sec + 8, src + 8, 4084);
        le_put(sec + 4092, sq & 0xffffffffu, 4);
    }
    le_put(e + LE_CRC, crc32c(0, e, el), 4);
    for (uint32_t i = 0; i < el / LOG_SEC && r == 0; i++)
        r = host_pwrite(&bd->file, s->log_off + (s->log_head + (uint64_t)i * LOG_SEC) %
                        s->log_len, e + (uint64_t)i * LOG_SEC, LOG_SEC);
    free(e);
    if (r < 0)
        return block_seterr(bd, r, "%s: write of a log entry: %s", bd->filename,
                            strerror(-r));
    if ((r = vhdx_order_sync(bd)) < 0)
        return block_seterr(bd, r, "%s: flush: %s", bd->filename, strerror(-r));
    /* That fdatasync made the in-place writes of earlier entries durable:
     * only this entry's own is pending now. */
    s->synced_size = s->file_size;
    s->log_unsynced = s->log_head;
    s->log_head = (uint32_t)(((uint64_t)s->log_head + el) % s->log_len);
    s->log_seq++;
    for (unsigned i = 0; i < nsec; i++) {
        r = host_pwrite(&bd->file, offs[i], data + (uint64_t)i * LOG_SEC, LOG_SEC);
        if (r < 0)
            return block_seterr(bd, r, "%s: write of the log's sector at %llu: %s",
                                bd->filename, (unsigned long long)offs[i], strerror(-r));
    }
    return 0;
}
