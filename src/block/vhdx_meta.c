/* block: VHDX headers, region table and metadata (MS-VHDX 2.2, 2.3, 2.6),
 * and the creation of new VHDX files.
 *
 * On-disk layout (every integer little-endian, every checksum CRC-32C
 * computed with the checksum field itself zeroed):
 *  - The header section, the first 1 MiB, in five 64 KiB slots:
 *      0       file type identifier: "vhdxfile", then the creator, a
 *              UTF-16 string of at most 256 characters;
 *      64 KiB  header 1 and 128 KiB header 2: "head", the checksum over
 *              the first 4 KiB, a 64-bit sequence number, FileWriteGuid,
 *              DataWriteGuid, LogGuid, LogVersion (0), Version (1), the
 *              log's length (u32) and offset (u64).  The valid header
 *              with the higher sequence number is the current one; an
 *              update is written over the other one.
 *      192 KiB region table 1 and 256 KiB region table 2 (copies):
 *              "regi", the checksum over 64 KiB, an entry count
 *              (at most 2047), then 32-byte entries: a GUID, a file
 *              offset (u64), a length (u32) and a Required bit.  Two
 *              regions are defined: the BAT and the metadata region;
 *              an unknown region marked required must be refused.
 *  - Every region and the log start on a 1 MiB boundary and are whole
 *    MiBs long; none overlaps another or the header section.
 *  - The metadata region starts with a 64 KiB table: "metadata", a
 *    count (u16 at 10), then 32-byte entries: an item GUID, its offset
 *    inside the region (u32, past the table) and length (u32), flags
 *    (bit 0 IsUser, bit 1 IsVirtualDisk, bit 2 IsRequired).  The system
 *    items: file parameters (block size u32, then bit 0 LeaveBlocks-
 *    Allocated, bit 1 HasParent), virtual disk size (u64), the page 83
 *    data (a GUID), the logical and physical sector sizes (512 or
 *    4096) and, in differencing disks, the parent locator.
 * A new file (vhdx_create_file) is laid out as qemu-img lays it out:
 * header section, a 1 MiB log at 1 MiB, then the metadata region and
 * the BAT, whole MiBs each, then the payload blocks. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "block/vhdx.h"
#include "util/util.h"

/* GUID text a-b-c-d-e as stored: a, b, c byte-swapped, d and e as is. */
const uint8_t vhdx_guid_bat[16] = {       /* 2DC27766-F623-4200-9D64-115E9BFD4A08 */
    0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
    0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08 };
const uint8_t vhdx_guid_meta[16] = {      /* 8B7CA206-4790-4B9A-B8FE-575F050F886E */
    0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
    0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e };
static const uint8_t guid_file_params[16] = {   /* CAA16737-FA36-4D43-B3B6-33F0AA44E76B */
    0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
    0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b };
static const uint8_t guid_disk_size[16] = {     /* 2FA54224-CD1B-4876-B211-5DBED83BF4B8 */
    0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48,
    0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8 };
static const uint8_t guid_page83[16] = {        /* BECA12AB-B2E6-4523-93EF-C309E000C746 */
    0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45,
    0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46 };
static const uint8_t guid_lsec[16] = {          /* 8141BF1D-A96F-4709-BA47-F233A8FAAB5F */
    0x1d, 0xbf, 0x41, 0x81, 0x6f, 0xa9, 0x09, 0x47,
    0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f };
static const uint8_t guid_psec[16] = {          /* CDA348C7-445D-4471-9CC9-E9885251C556 */
    0xc7, 0x48, 0xa3, 0xcd, 0x5d, 0x44, 0x71, 0x44,
    0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56 };
static const uint8_t guid_parent[16] = {        /* A8D35F2D-B30B-454D-ABF7-D3D84834AB0C */
    0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45,
    0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c };

#define META_F_REQUIRED 4u

void vhdx_guid_new(uint8_t g[16])
{
    if (getrandom(g, 16, 0) != 16)
        for (int i = 0; i < 16; i++)
            g[i] = (uint8_t)rand();
    g[7] = (uint8_t)((g[7] & 0x0f) | 0x40);   /* version 4 (stored byte-swapped) */
    g[8] = (uint8_t)((g[8] & 0x3f) | 0x80);
}

bool vhdx_guid_zero(const uint8_t g[16])
{
    for (int i = 0; i < 16; i++)
        if (g[i])
            return false;
    return true;
}

/* CRC-32C of a structure of len bytes whose checksum field is at crc_at. */
static uint32_t sum_with_hole(const uint8_t *p, size_t len, size_t crc_at)
{
    static const uint8_t zero[4];
    uint32_t c = crc32c(0, p, crc_at);
    c = crc32c(c, zero, 4);
    return crc32c(c, p + crc_at + 4, len - crc_at - 4);
}

int vhdx_file_read(const struct host_file *f, const struct vhdx_state *s,
                   uint64_t off, void *buf, size_t len)
{
    int r = host_pread(f, off, buf, len, true);
    if (r < 0)
        return r;
    for (size_t i = 0; i < s->ovl.n; i++) {
        const struct vhdx_ovl *d = &s->ovl.d[i];
        uint64_t a = MAX(off, d->off), b = MIN(off + len, d->off + d->len);
        if (a >= b)
            continue;
        if (d->data)
            memcpy((uint8_t *)buf + (a - off), d->data + (a - d->off), b - a);
        else
            memset((uint8_t *)buf + (a - off), 0, b - a);
    }
    return 0;
}

int vhdx_parse_headers(const struct host_file *f, const char *file,
                       struct vhdx_state *s, char *err, size_t elen)
{
    uint8_t *h = malloc(2 * VHDX_HDR_LEN);
    if (!h)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", file);
    char id[8];
    int r = host_pread(f, 0, id, 8, true);
    if (r == 0)
        r = host_pread(f, VHDX_HDR1_OFF, h, VHDX_HDR_LEN, true);
    if (r == 0)
        r = host_pread(f, VHDX_HDR2_OFF, h + VHDX_HDR_LEN, VHDX_HDR_LEN, true);
    if (r < 0) {
        block_errbuf(err, elen, r, "%s: read of the headers: %s", file, strerror(-r));
        goto out;
    }
    if (memcmp(id, "vhdxfile", 8)) {
        r = block_errbuf(err, elen, -EINVAL, "%s: file type identifier: not \"vhdxfile\"",
                         file);
        goto out;
    }
    int best = -1;
    uint64_t best_seq = 0;
    for (int i = 0; i < 2; i++) {
        const uint8_t *p = h + i * VHDX_HDR_LEN;
        if (memcmp(p + VHDX_H_SIG, "head", 4) ||
            le_get(p + VHDX_H_CRC, 4) != sum_with_hole(p, VHDX_HDR_LEN, VHDX_H_CRC))
            continue;
        uint64_t seq = le_get(p + VHDX_H_SEQ, 8);
        if (best < 0 || seq > best_seq) {
            best = i;
            best_seq = seq;
        }
    }
    if (best < 0) {
        r = block_errbuf(err, elen, -EINVAL, "%s: headers 1 and 2 (at 64 and 128 KiB): "
                         "neither has the signature \"head\" and a right CRC-32C checksum",
                         file);
        goto out;
    }
    const uint8_t *p = h + best * VHDX_HDR_LEN;
    memcpy(s->hdr, p, VHDX_HDR_LEN);
    s->cur = (unsigned)best;
    s->seq = best_seq;
    unsigned ver = (unsigned)le_get(p + VHDX_H_VERSION, 2);
    unsigned lver = (unsigned)le_get(p + VHDX_H_LOG_VERSION, 2);
    s->log_len = (uint32_t)le_get(p + VHDX_H_LOG_LEN, 4);
    s->log_off = le_get(p + VHDX_H_LOG_OFF, 8);
    r = 0;
    if (ver != 1)
        r = block_errbuf(err, elen, -ENOTSUP, "%s: header %d field Version: %u "
                         "(accepted: 1)", file, best + 1, ver);
    else if (lver != 0)
        r = block_errbuf(err, elen, -ENOTSUP, "%s: header %d field LogVersion: %u "
                         "(accepted: 0)", file, best + 1, lver);
    else if (s->log_len % VHDX_MIB || s->log_off % VHDX_MIB || s->log_off < VHDX_HDR_SECTION ||
             s->log_off > (1ull << 62))
        r = block_errbuf(err, elen, -EINVAL, "%s: header %d fields LogOffset %llu, "
                         "LogLength %u (accepted: whole MiBs, past the first MiB)", file,
                         best + 1, (unsigned long long)s->log_off, s->log_len);
out:
    free(h);
    return r;
}

struct extent { uint64_t off, len; const char *name; };

/* The regions, the log and the header section must not overlap. */
static int check_overlaps(const struct extent *e, int n, const char *file,
                          char *err, size_t elen)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (e[i].len && e[j].len && e[i].off < e[j].off + e[j].len &&
                e[j].off < e[i].off + e[i].len)
                return block_errbuf(err, elen, -EINVAL, "%s: the %s (%llu bytes at %llu) "
                                    "overlaps the %s (%llu bytes at %llu)", file,
                                    e[i].name, (unsigned long long)e[i].len,
                                    (unsigned long long)e[i].off, e[j].name,
                                    (unsigned long long)e[j].len,
                                    (unsigned long long)e[j].off);
    return 0;
}

static int parse_region_table(const uint8_t *t, struct vhdx_state *s, const char *file,
                              int which, char *err, size_t elen)
{
    uint32_t n = (uint32_t)le_get(t + 8, 4);
    bool have_bat = false, have_meta = false;
    if (n > VHDX_RT_MAX_ENTRIES)
        return block_errbuf(err, elen, -EINVAL, "%s: region table %d field EntryCount: "
                            "%u (accepted: at most %u)", file, which, n,
                            VHDX_RT_MAX_ENTRIES);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = t + 16 + 32 * i;
        uint64_t off = le_get(e + 16, 8);
        uint32_t len = (uint32_t)le_get(e + 24, 4);
        bool required = le_get(e + 28, 4) & 1;
        bool bat = !memcmp(e, vhdx_guid_bat, 16), meta = !memcmp(e, vhdx_guid_meta, 16);
        if (!bat && !meta) {
            if (required)
                return block_errbuf(err, elen, -ENOTSUP, "%s: region table entry %u: "
                                    "an unknown region marked required (accepted: "
                                    "the BAT and metadata regions)", file, i);
            continue;
        }
        const char *name = bat ? "BAT" : "metadata";
        if ((bat && have_bat) || (meta && have_meta))
            return block_errbuf(err, elen, -EINVAL, "%s: region table entry %u: a second "
                                "%s region", file, i, name);
        if (off % VHDX_MIB || len % VHDX_MIB || !len || off < VHDX_HDR_SECTION ||
            off > (1ull << 62))
            return block_errbuf(err, elen, -EINVAL, "%s: region table entry %u (%s): "
                                "FileOffset %llu, Length %u (accepted: whole MiBs past "
                                "the first MiB)", file, i, name,
                                (unsigned long long)off, len);
        if (bat) {
            s->bat_off = off;
            s->bat_len = len;
            have_bat = true;
        } else {
            s->meta_off = off;
            s->meta_len = len;
            have_meta = true;
        }
    }
    if (!have_bat || !have_meta)
        return block_errbuf(err, elen, -EINVAL, "%s: region table %d: no %s region", file,
                            which, have_bat ? "metadata" : "BAT");
    return 0;
}

static int parse_metadata(const struct host_file *f, const char *file,
                          struct vhdx_state *s, char *err, size_t elen)
{
    uint8_t *m = malloc(VHDX_META_TABLE_LEN);
    if (!m)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", file);
    int r = vhdx_file_read(f, s, s->meta_off, m, VHDX_META_TABLE_LEN);
    if (r < 0) {
        block_errbuf(err, elen, r, "%s: read of the metadata table: %s", file, strerror(-r));
        goto out;
    }
    r = -EINVAL;
    unsigned n = (unsigned)le_get(m + 10, 2);
    if (memcmp(m, "metadata", 8)) {
        block_errbuf(err, elen, r, "%s: metadata table at %llu: no signature \"metadata\"",
                     file, (unsigned long long)s->meta_off);
        goto out;
    }
    if (n > VHDX_META_MAX_ENTRIES) {
        block_errbuf(err, elen, r, "%s: metadata table field EntryCount: %u (accepted: at "
                     "most %u)", file, n, VHDX_META_MAX_ENTRIES);
        goto out;
    }
    bool got_params = false, got_size = false;
    s->lsec = s->psec = 512;
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *e = m + 32 + 32 * i;
        uint32_t off = (uint32_t)le_get(e + 16, 4), len = (uint32_t)le_get(e + 20, 4);
        uint32_t flags = (uint32_t)le_get(e + 24, 4);
        const uint8_t *g = e;
        size_t want = !memcmp(g, guid_file_params, 16) ? 8 : !memcmp(g, guid_disk_size, 16) ? 8
                    : !memcmp(g, guid_page83, 16) ? 16 : !memcmp(g, guid_lsec, 16) ? 4
                    : !memcmp(g, guid_psec, 16) ? 4 : 0;
        if (!want) {
            if (!memcmp(g, guid_parent, 16)) {
                s->has_parent = true;
                continue;
            }
            if (flags & META_F_REQUIRED) {
                block_errbuf(err, elen, -ENOTSUP, "%s: metadata entry %u: an unknown "
                             "item marked required", file, i);
                r = -ENOTSUP;
                goto out;
            }
            continue;
        }
        if (len != want || off < VHDX_META_TABLE_LEN || (uint64_t)off + len > s->meta_len) {
            block_errbuf(err, elen, r, "%s: metadata entry %u: Offset %u, Length %u "
                         "(accepted: %zu bytes past the table, inside the %u-byte "
                         "region)", file, i, off, len, want, s->meta_len);
            goto out;
        }
        uint8_t v[16];
        int rr = vhdx_file_read(f, s, s->meta_off + off, v, want);
        if (rr < 0) {
            r = block_errbuf(err, elen, rr, "%s: read of metadata entry %u: %s", file, i,
                             strerror(-rr));
            goto out;
        }
        if (!memcmp(g, guid_file_params, 16)) {
            s->block_size = (uint32_t)le_get(v, 4);
            uint32_t fl = (uint32_t)le_get(v + 4, 4);
            s->leave_alloc = fl & 1;
            s->has_parent |= (fl & 2) != 0;
            got_params = true;
        } else if (!memcmp(g, guid_disk_size, 16)) {
            s->disk_size = le_get(v, 8);
            got_size = true;
        } else if (!memcmp(g, guid_page83, 16)) {
            memcpy(s->page83, v, 16);
        } else if (!memcmp(g, guid_lsec, 16)) {
            s->lsec = (uint32_t)le_get(v, 4);
        } else {
            s->psec = (uint32_t)le_get(v, 4);
        }
    }
    uint32_t bs = s->block_size;
    if (!got_params || !got_size)
        block_errbuf(err, elen, r, "%s: metadata: no %s item", file,
                     got_params ? "virtual disk size" : "file parameters");
    else if (s->has_parent)
        block_errbuf(err, elen, r = -ENOTSUP, "%s: metadata: a differencing VHDX (it has "
                     "a parent), which is not supported; convert it with its parent "
                     "into a new image elsewhere first", file);
    else if (bs < VHDX_MIB || bs > VHDX_MAX_BLOCK || (bs & (bs - 1)))
        block_errbuf(err, elen, r, "%s: metadata file parameters field BlockSize: %u "
                     "(accepted: a power of two from 1 MiB to 256 MiB)", file, bs);
    else if (s->lsec != 512 && s->lsec != 4096)
        block_errbuf(err, elen, r, "%s: metadata field logical sector size: %u "
                     "(accepted: 512, 4096)", file, s->lsec);
    else if (s->psec != 512 && s->psec != 4096)
        block_errbuf(err, elen, r, "%s: metadata field physical sector size: %u "
                     "(accepted: 512, 4096)", file, s->psec);
    else if (!s->disk_size || s->disk_size > VHDX_MAX_SIZE || s->disk_size % s->lsec)
        block_errbuf(err, elen, r, "%s: metadata field virtual disk size: %llu (accepted: "
                     "a multiple of the %u-byte logical sector, at most 64 TiB)", file,
                     (unsigned long long)s->disk_size, s->lsec);
    else
        r = 0;
out:
    free(m);
    return r;
}

int vhdx_parse_regions(const struct host_file *f, const char *file,
                       struct vhdx_state *s, char *err, size_t elen)
{
    uint8_t *t = malloc(VHDX_RT_LEN);
    if (!t)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", file);
    int r = -EINVAL, which = 0;
    for (int i = 0; i < 2 && which == 0; i++) {
        int rr = vhdx_file_read(f, s, i ? VHDX_RT2_OFF : VHDX_RT1_OFF, t, VHDX_RT_LEN);
        if (rr < 0) {
            r = block_errbuf(err, elen, rr, "%s: read of region table %d: %s", file, i + 1,
                             strerror(-rr));
            goto out;
        }
        if (!memcmp(t, "regi", 4) && le_get(t + 4, 4) == sum_with_hole(t, VHDX_RT_LEN, 4))
            which = i + 1;
    }
    if (!which) {
        block_errbuf(err, elen, r, "%s: region tables 1 and 2 (at 192 and 256 KiB): "
                     "neither has the signature \"regi\" and a right CRC-32C checksum",
                     file);
        goto out;
    }
    r = parse_region_table(t, s, file, which, err, elen);
    if (r < 0)
        goto out;
    struct extent e[4] = {
        { 0, VHDX_HDR_SECTION, "header section" },
        { s->log_off, s->log_len, "log" },
        { s->bat_off, s->bat_len, "BAT region" },
        { s->meta_off, s->meta_len, "metadata region" },
    };
    r = check_overlaps(e, 4, file, err, elen);
    if (r < 0)
        goto out;
    for (int i = 1; i < 4; i++)
        if (e[i].len && e[i].off + e[i].len > s->file_size) {
            r = block_errbuf(err, elen, -EINVAL, "%s: the %s (%llu bytes at %llu) runs "
                             "past the end of the file (%llu bytes)", file, e[i].name,
                             (unsigned long long)e[i].len, (unsigned long long)e[i].off,
                             (unsigned long long)s->file_size);
            goto out;
        }
    r = parse_metadata(f, file, s, err, elen);
    if (r < 0)
        goto out;
    s->chunk_ratio = (uint32_t)(((uint64_t)1 << 23) * s->lsec / s->block_size);
    s->nblocks = (s->disk_size + s->block_size - 1) / s->block_size;
    s->nbat = s->nblocks + (s->nblocks - 1) / s->chunk_ratio;
    if (s->nbat * 8 > s->bat_len)
        r = block_errbuf(err, elen, -EINVAL, "%s: region table: the BAT region (%u bytes) "
                         "cannot hold the %llu entries of a %llu-byte disk in %u-byte "
                         "blocks", file, s->bat_len, (unsigned long long)s->nbat,
                         (unsigned long long)s->disk_size, s->block_size);
out:
    free(t);
    return r;
}

static void header_fill(uint8_t *h, uint64_t seq)
{
    le_put(h + VHDX_H_SEQ, seq, 8);
    le_put(h + VHDX_H_CRC, 0, 4);
    le_put(h + VHDX_H_CRC, crc32c(0, h, VHDX_HDR_LEN), 4);
}

int vhdx_update_header(struct block_dev *bd, struct vhdx_state *s,
                       const uint8_t *data_guid, const uint8_t *log_guid)
{
    uint8_t *h = s->hdr;
    vhdx_guid_new(h + VHDX_H_FILE_GUID);
    if (data_guid)
        memcpy(h + VHDX_H_DATA_GUID, data_guid, 16);
    if (log_guid)
        memcpy(h + VHDX_H_LOG_GUID, log_guid, 16);
    for (int k = 0; k < 2; k++) {
        unsigned slot = s->cur ^ 1;
        header_fill(h, s->seq + 1);
        int r = host_pwrite(&bd->file, slot ? VHDX_HDR2_OFF : VHDX_HDR1_OFF, h, VHDX_HDR_LEN);
        if (r == 0)
            r = vhdx_order_sync(bd);
        if (r < 0)
            return block_seterr(bd, r, "%s: write of header %u: %s", bd->filename, slot + 1,
                                strerror(-r));
        s->cur = slot;
        s->seq++;
    }
    return 0;
}

/* The default block size qemu-img picks for a size (its vhdx_create). */
static uint32_t default_block(uint64_t size)
{
    if (size > (32ull << 40))
        return 64u << 20;
    if (size > (100ull << 30))
        return 32u << 20;
    if (size > (1ull << 30))
        return 16u << 20;
    return 8u << 20;
}

static void put_meta_entry(uint8_t *t, unsigned i, const uint8_t *g, uint32_t off,
                           uint32_t len, uint32_t flags)
{
    uint8_t *e = t + 32 + 32 * i;
    memcpy(e, g, 16);
    le_put(e + 16, off, 4);
    le_put(e + 20, len, 4);
    le_put(e + 24, flags, 4);
}

int vhdx_create_file(const char *path, const struct block_create_opts *o,
                     char *err, size_t elen)
{
    bool fixed = false;
    if (o->backing_file)
        return block_errbuf(err, elen, -ENOTSUP, "%s: a VHDX with a parent (backing file) "
                            "cannot be created", path);
    if (o->subformat && !strcmp(o->subformat, "fixed"))
        fixed = true;
    else if (o->subformat && strcmp(o->subformat, "dynamic"))
        return block_errbuf(err, elen, -EINVAL, "%s: subformat '%s' (accepted for vhdx: "
                            "dynamic, fixed)", path, o->subformat);
    uint64_t size = (o->size + 511) / 512 * 512;
    if (!size || size > VHDX_MAX_SIZE)
        return block_errbuf(err, elen, -EINVAL, "%s: size %llu (accepted for vhdx: 1 byte "
                            "to 64 TiB)", path, (unsigned long long)o->size);
    uint32_t bs = o->cluster_size ? o->cluster_size : default_block(size);
    if (bs < VHDX_MIB || bs > VHDX_MAX_BLOCK || (bs & (bs - 1)))
        return block_errbuf(err, elen, -EINVAL, "%s: block_size %u (accepted for vhdx: a "
                            "power of two from 1 MiB to 256 MiB)", path, bs);
    uint32_t chunk = (uint32_t)((1ull << 23) * 512 / bs);
    uint64_t nblocks = (size + bs - 1) / bs;
    uint64_t nbat = nblocks + (nblocks - 1) / chunk;
    uint64_t bat_len = (nbat * 8 + VHDX_MIB - 1) / VHDX_MIB * VHDX_MIB;
    uint64_t log_off = VHDX_MIB, meta_off = 2 * VHDX_MIB, bat_off = 3 * VHDX_MIB;
    uint64_t data_off = bat_off + bat_len;
    /* Header section, log (zeros) and metadata are built in memory; the
     * BAT (zeros: NOT_PRESENT, for a dynamic disk) is written apart. */
    size_t total = (size_t)bat_off;
    uint8_t *buf = calloc(1, total);
    if (!buf)
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", path);
    memcpy(buf, "vhdxfile", 8);
    static const char creator[] = "Vessel";
    for (size_t i = 0; i < sizeof(creator) - 1; i++)
        buf[8 + 2 * i] = (uint8_t)creator[i];
    uint8_t *h = buf + VHDX_HDR1_OFF;
    memcpy(h, "head", 4);
    vhdx_guid_new(h + VHDX_H_FILE_GUID);
    vhdx_guid_new(h + VHDX_H_DATA_GUID);
    le_put(h + VHDX_H_VERSION, 1, 2);
    le_put(h + VHDX_H_LOG_LEN, VHDX_MIB, 4);
    le_put(h + VHDX_H_LOG_OFF, log_off, 8);
    header_fill(h, 1);
    memcpy(buf + VHDX_HDR2_OFF, h, VHDX_HDR_LEN);
    header_fill(buf + VHDX_HDR2_OFF, 2);
    uint8_t *t = buf + VHDX_RT1_OFF;
    memcpy(t, "regi", 4);
    le_put(t + 8, 2, 4);
    memcpy(t + 16, vhdx_guid_bat, 16);
    le_put(t + 32, bat_off, 8);
    le_put(t + 40, bat_len, 4);
    le_put(t + 44, 1, 4);
    memcpy(t + 48, vhdx_guid_meta, 16);
    le_put(t + 64, meta_off, 8);
    le_put(t + 72, VHDX_MIB, 4);
    le_put(t + 76, 1, 4);
    le_put(t + 4, crc32c(0, t, VHDX_RT_LEN), 4);
    memcpy(buf + VHDX_RT2_OFF, t, VHDX_RT_LEN);
    uint8_t *m = buf + meta_off;
    memcpy(m, "metadata", 8);
    le_put(m + 10, 5, 2);
    uint32_t v = VHDX_META_TABLE_LEN;
    put_meta_entry(m, 0, guid_file_params, v, 8, META_F_REQUIRED);
    put_meta_entry(m, 1, guid_disk_size, v + 8, 8, META_F_REQUIRED | 2);
    put_meta_entry(m, 2, guid_page83, v + 16, 16, META_F_REQUIRED | 2);
    put_meta_entry(m, 3, guid_lsec, v + 32, 4, META_F_REQUIRED | 2);
    put_meta_entry(m, 4, guid_psec, v + 36, 4, META_F_REQUIRED | 2);
    le_put(m + v, bs, 4);
    le_put(m + v + 8, size, 8);
    vhdx_guid_new(m + v + 16);
    le_put(m + v + 32, 512, 4);
    le_put(m + v + 36, 512, 4);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(buf);
        return block_errbuf(err, elen, -e, "%s: cannot create: %s", path, strerror(e));
    }
    struct host_file hf = { .fd = fd };
    int r = host_pwrite(&hf, 0, buf, total);
    if (r == 0 && ftruncate(fd, (off_t)(fixed ? data_off + nblocks * bs : data_off)) < 0)
        r = -errno;
    /* A fixed disk maps block b to data_off + b * block size, written a
     * MiB of BAT at a time (buf is larger than that). */
    for (uint64_t at = 0; r == 0 && fixed && at < nbat * 8; at += VHDX_MIB) {
        memset(buf, 0, VHDX_MIB);
        for (uint64_t i = at / 8; i < MIN(nbat, (at + VHDX_MIB) / 8); i++)
            if (i % (chunk + 1) != chunk) {
                uint64_t b = i - i / (chunk + 1);
                le_put(buf + (i * 8 - at), (data_off + b * bs) | VHDX_PAYLOAD_FULLY_PRESENT, 8);
            }
        r = host_pwrite(&hf, bat_off + at, buf, VHDX_MIB);
    }
    free(buf);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r < 0) {
        unlink(path);
        return block_errbuf(err, elen, r, "%s: cannot write the new image: %s", path,
                            strerror(-r));
    }
    return 0;
}
