/* qcow2: header and header extensions (qcow2.txt "Header",
 * "Header extensions", "Feature name table"), validated field by field. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"
#include "util/util.h"

uint64_t qcow2_l1_needed(uint64_t size, uint32_t cluster_bits)
{
    uint64_t clusters = (size >> cluster_bits) +
                        ((size & ((1ull << cluster_bits) - 1)) != 0);
    uint64_t l2e = (1ull << cluster_bits) / 8;
    return (clusters + l2e - 1) / l2e;
}

static bool ranges_overlap(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
    return al && bl && a < b + bl && b < a + al;
}

/* True when [off, off+len) overlaps the header cluster, the active L1
 * table, the refcount table or the snapshot table. */
bool qcow2_overlaps_fixed(struct qcow2 *s, uint64_t off, uint64_t len)
{
    return ranges_overlap(off, len, 0, s->cluster_size) ||
           ranges_overlap(off, len, s->l1_offset, (uint64_t)s->l1_size * 8) ||
           ranges_overlap(off, len, s->rt_offset,
                          (uint64_t)s->rt_clusters << s->cluster_bits) ||
           ranges_overlap(off, len, s->snapshots_offset, s->snapshots_size);
}

static const char *feature_name(const uint8_t *table, uint32_t len,
                                unsigned type, unsigned bit, char *buf,
                                size_t blen)
{
    for (uint32_t i = 0; table && i + 48 <= len; i += 48) {
        if (table[i] == type && table[i + 1] == bit) {
            size_t n = strnlen((const char *)table + i + 2, 46);
            snprintf(buf, blen, "%.*s", (int)n, table + i + 2);
            return buf;
        }
    }
    snprintf(buf, blen, "unknown feature bit %u", bit);
    return buf;
}

int qcow2_parse_header(struct qcow2 *s, const uint8_t *h, size_t hlen,
                       uint64_t fsize, char *err, size_t elen)
{
    const char *f = s->file;
    if (hlen < 72)
        return block_errbuf(err, elen, -EINVAL,
                            "%s: file is %llu bytes, too short for a qcow2 "
                            "header (72 bytes at least)", f,
                            (unsigned long long)hlen);
    if (be32_get(h) != QCOW2_MAGIC)
        return block_errbuf(err, elen, -EINVAL, "%s: bad qcow2 magic", f);
    s->version = be32_get(h + 4);
    if (s->version != 2 && s->version != 3)
        return block_errbuf(err, elen, -ENOTSUP,
                            "%s: header field version is %u; accepted: 2 "
                            "or 3", f, s->version);
    uint64_t backing_off = be64_get(h + 8);
    uint32_t backing_len = be32_get(h + 16);
    s->cluster_bits = be32_get(h + 20);
    if (s->cluster_bits < 9 || s->cluster_bits > 21)
        return block_errbuf(err, elen, -EINVAL,
                            "%s: header field cluster_bits is %u; accepted: "
                            "9 to 21 (512 bytes to 2 MiB clusters)", f,
                            s->cluster_bits);
    s->cluster_size = 1ull << s->cluster_bits;
    uint64_t cs = s->cluster_size;
    s->size = be64_get(h + 24);
    uint32_t crypt = be32_get(h + 32);
    s->l1_size = be32_get(h + 36);
    s->l1_offset = be64_get(h + 40);
    s->rt_offset = be64_get(h + 48);
    s->rt_clusters = be32_get(h + 56);
    s->nb_snapshots = be32_get(h + 60);
    s->snapshots_offset = be64_get(h + 64);
    s->refcount_order = 4;
    s->header_length = 72;
    if (s->version >= 3) {
        if (hlen < 104)
            return block_errbuf(err, elen, -EINVAL,
                                "%s: file too short for a version 3 header "
                                "(104 bytes)", f);
        s->incompat = be64_get(h + 72);
        s->compat = be64_get(h + 80);
        s->autoclear = be64_get(h + 88);
        s->refcount_order = be32_get(h + 96);
        s->header_length = be32_get(h + 100);
        if (s->header_length < 104 || s->header_length % 8 ||
            s->header_length > cs || s->header_length > hlen)
            return block_errbuf(err, elen, -EINVAL,
                                "%s: header field header_length is %u; "
                                "accepted: a multiple of 8 from 104 to the "
                                "cluster size", f, s->header_length);
        if (s->header_length > 104)
            s->compression_type = h[104];
    }
    if (s->header_length > cs)
        return block_errbuf(err, elen, -EINVAL, "%s: header larger than "
                            "one cluster", f);
    /* Header extensions: parsed before feature checks so the feature name
     * table can be used in messages. */
    const uint8_t *ftable = NULL;
    uint32_t ftable_len = 0;
    uint64_t end = MIN((uint64_t)hlen, cs);
    uint64_t p = s->header_length;
    if (backing_off && backing_off < end)
        end = backing_off;
    while (p + 8 <= end) {
        uint32_t type = be32_get(h + p), len = be32_get(h + p + 4);
        p += 8;
        if (type == QCOW2_EXT_END)
            break;
        if (len > end - p)
            return block_errbuf(err, elen, -EINVAL,
                                "%s: header extension 0x%08x length %u "
                                "runs past the header area (%llu bytes)", f,
                                type, len, (unsigned long long)end);
        if (type == QCOW2_EXT_BACKING_FMT) {
            if (len > 31 || s->backing_fmt)
                return block_errbuf(err, elen, -EINVAL,
                                    "%s: backing format header extension: "
                                    "length %u (at most 31, once)", f, len);
            s->backing_fmt = strndup((const char *)h + p, len);
            if (!s->backing_fmt)
                return -ENOMEM;
        } else if (type == QCOW2_EXT_FEATURES) {
            ftable = h + p;
            ftable_len = len;
        } else {
            if (s->nb_exts >= 64)
                return block_errbuf(err, elen, -EINVAL, "%s: more than 64 "
                                    "header extensions", f);
            struct qcow2_ext *ne = realloc(s->exts,
                                           (s->nb_exts + 1) * sizeof(*ne));
            if (!ne)
                return -ENOMEM;
            s->exts = ne;
            ne[s->nb_exts].type = type;
            ne[s->nb_exts].len = len;
            ne[s->nb_exts].data = malloc(len ? len : 1);
            if (!ne[s->nb_exts].data)
                return -ENOMEM;
            memcpy(ne[s->nb_exts].data, h + p, len);
            s->nb_exts++;
        }
        p += ((uint64_t)len + 7) & ~7ull;
    }
    uint64_t unknown = s->incompat & ~QCOW2_INCOMPAT_KNOWN;
    if (unknown) {
        char name[64];
        unsigned bit = (unsigned)__builtin_ctzll(unknown);
        return block_errbuf(err, elen, -ENOTSUP,
                            "%s: unsupported incompatible feature: %s (header "
                            "field incompatible_features = 0x%llx; supported "
                            "bits: dirty, corrupt, compression type)", f,
                            feature_name(ftable, ftable_len, 0, bit, name,
                                         sizeof(name)),
                            (unsigned long long)s->incompat);
    }
    if (s->compression_type > 1 ||
        (!!(s->incompat & QCOW2_INCOMPAT_COMPRESSION) !=
         (s->compression_type != 0)))
        return block_errbuf(err, elen, -ENOTSUP,
                            "%s: header field compression_type is %u with "
                            "incompatible bit 3 %s; accepted: 0 (zlib), or 1 "
                            "(zstd) with bit 3 set", f, s->compression_type,
                            s->incompat & QCOW2_INCOMPAT_COMPRESSION ?
                            "set" : "clear");
    if (crypt)
        return block_errbuf(err, elen, -ENOTSUP,
                            "%s: header field crypt_method is %u; encrypted "
                            "images are not supported (accepted: 0)", f,
                            crypt);
    if (s->refcount_order > 6)
        return block_errbuf(err, elen, -EINVAL,
                            "%s: header field refcount_order is %u; accepted: "
                            "0 to 6", f, s->refcount_order);
    s->refcount_bits = 1u << s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX :
                      (1ull << s->refcount_bits) - 1;
    s->l2_entries = (uint32_t)(cs / 8);
    s->rb_entries = cs * 8 / s->refcount_bits;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ull << (s->cluster_bits - 8)) - 1;
    s->coffset_mask = (1ull << s->csize_shift) - 1;

    if (s->size > (1ull << 61) || s->size % 512)
        return block_errbuf(err, elen, -EINVAL,
                            "%s: header field size is %llu; accepted: a "
                            "multiple of 512 up to 2 EiB", f,
                            (unsigned long long)s->size);
    uint64_t need = qcow2_l1_needed(s->size, s->cluster_bits);
    if (s->l1_size < need || (uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return block_errbuf(err, elen, -EINVAL,
                            "%s: header field l1_size is %u; accepted: %llu "
                            "to %u for a %llu-byte disk", f, s->l1_size,
                            (unsigned long long)need, QCOW2_MAX_L1_BYTES / 8,
                            (unsigned long long)s->size);
    if (s->l1_size && (s->l1_offset % cs || s->l1_offset < cs ||
                       s->l1_offset > fsize ||
                       (uint64_t)s->l1_size * 8 > fsize - s->l1_offset))
        return block_errbuf(err, elen, -EINVAL,
                            "%s: header field l1_table_offset 0x%llx: the L1 "
                            "table (%u entries) must be cluster aligned, "
                            "after the header and inside the file (%llu "
                            "bytes)", f, (unsigned long long)s->l1_offset,
                            s->l1_size, (unsigned long long)fsize);
    if (s->rt_clusters == 0 ||
        ((uint64_t)s->rt_clusters << s->cluster_bits) > QCOW2_MAX_RT_BYTES ||
        s->rt_offset % cs || s->rt_offset < cs || s->rt_offset > fsize ||
        ((uint64_t)s->rt_clusters << s->cluster_bits) > fsize - s->rt_offset)
        return block_errbuf(err, elen, -EINVAL,
                            "%s: refcount table (header fields "
                            "refcount_table_offset 0x%llx, "
                            "refcount_table_clusters %u) must be cluster "
                            "aligned, 1 cluster to 8 MiB, after the header "
                            "and inside the file (%llu bytes)", f,
                            (unsigned long long)s->rt_offset, s->rt_clusters,
                            (unsigned long long)fsize);
    if (ranges_overlap(s->l1_offset, (uint64_t)s->l1_size * 8, s->rt_offset,
                       (uint64_t)s->rt_clusters << s->cluster_bits))
        return block_errbuf(err, elen, -EINVAL,
                            "%s: the L1 table (0x%llx) overlaps the refcount "
                            "table (0x%llx)", f,
                            (unsigned long long)s->l1_offset,
                            (unsigned long long)s->rt_offset);
    if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
        return block_errbuf(err, elen, -EINVAL,
                            "%s: header field nb_snapshots is %u; accepted: "
                            "at most %u", f, s->nb_snapshots,
                            QCOW2_MAX_SNAPSHOTS);
    if (s->nb_snapshots && (s->snapshots_offset % cs ||
                            s->snapshots_offset < cs ||
                            s->snapshots_offset >= fsize))
        return block_errbuf(err, elen, -EINVAL,
                            "%s: header field snapshots_offset 0x%llx must "
                            "be cluster aligned, after the header and inside "
                            "the file", f,
                            (unsigned long long)s->snapshots_offset);
    if (backing_off) {
        if (backing_len == 0 || backing_len > 1023 || backing_off > cs ||
            backing_len > cs - backing_off || backing_off + backing_len > hlen ||
            backing_off < s->header_length)
            return block_errbuf(err, elen, -EINVAL,
                                "%s: backing file name (header fields "
                                "backing_file_offset %llu, backing_file_size "
                                "%u) must lie in the first cluster after the "
                                "header and be 1 to 1023 bytes", f,
                                (unsigned long long)backing_off, backing_len);
        s->backing_file = strndup((const char *)h + backing_off, backing_len);
        if (!s->backing_file)
            return -ENOMEM;
        if (strlen(s->backing_file) != backing_len)
            return block_errbuf(err, elen, -EINVAL,
                                "%s: backing file name contains a NUL byte",
                                f);
    }
    return 0;
}

void qcow2_free_header(struct qcow2 *s)
{
    free(s->backing_file);
    free(s->backing_fmt);
    s->backing_file = s->backing_fmt = NULL;
    for (unsigned i = 0; i < s->nb_exts; i++)
        free(s->exts[i].data);
    free(s->exts);
    s->exts = NULL;
    s->nb_exts = 0;
}

static const struct { uint8_t type, bit; const char *name; } features[] = {
    {0, 0, "dirty bit"}, {0, 1, "corrupt bit"}, {0, 2, "external data file"},
    {0, 3, "compression type"}, {0, 4, "extended L2 entries"},
    {1, 0, "lazy refcounts"}, {2, 0, "bitmaps"}, {2, 1, "raw external data"},
};

/* Serialise the whole first cluster: header, extensions, backing name;
 * with `names`, the (optional) feature name table too. */
static int build_header_ext(struct qcow2 *s, uint8_t *h, bool names)
{
    uint64_t cs = s->cluster_size;
    memset(h, 0, cs);
    be32_put(h, QCOW2_MAGIC);
    be32_put(h + 4, s->version);
    be32_put(h + 20, s->cluster_bits);
    be64_put(h + 24, s->size);
    be32_put(h + 36, s->l1_size);
    be64_put(h + 40, s->l1_offset);
    be64_put(h + 48, s->rt_offset);
    be32_put(h + 56, s->rt_clusters);
    be32_put(h + 60, s->nb_snapshots);
    be64_put(h + 64, s->snapshots_offset);
    uint64_t p = 72;
    if (s->version >= 3) {
        be64_put(h + 72, s->incompat);
        be64_put(h + 80, s->compat);
        be64_put(h + 88, s->autoclear);
        be32_put(h + 96, s->refcount_order);
        be32_put(h + 100, 112);
        h[104] = (uint8_t)s->compression_type;
        p = 112;
    }
#define NEED(n) do { if (p + (n) > cs) return -ENOSPC; } while (0)
    if (s->backing_fmt) {
        uint32_t l = (uint32_t)strlen(s->backing_fmt);
        NEED(8 + ((l + 7) & ~7u));
        be32_put(h + p, QCOW2_EXT_BACKING_FMT);
        be32_put(h + p + 4, l);
        memcpy(h + p + 8, s->backing_fmt, l);
        p += 8 + ((l + 7) & ~7u);
    }
    if (s->version >= 3 && names) {
        uint32_t l = (uint32_t)(ARRAY_SIZE(features) * 48);
        NEED(8 + l);
        be32_put(h + p, QCOW2_EXT_FEATURES);
        be32_put(h + p + 4, l);
        for (size_t i = 0; i < ARRAY_SIZE(features); i++) {
            uint8_t *e = h + p + 8 + i * 48;
            e[0] = features[i].type;
            e[1] = features[i].bit;
            memcpy(e + 2, features[i].name, strlen(features[i].name));
        }
        p += 8 + l;
    }
    for (unsigned i = 0; i < s->nb_exts; i++) {
        uint32_t l = s->exts[i].len;
        NEED(8 + (((uint64_t)l + 7) & ~7ull));
        be32_put(h + p, s->exts[i].type);
        be32_put(h + p + 4, l);
        memcpy(h + p + 8, s->exts[i].data, l);
        p += 8 + (((uint64_t)l + 7) & ~7ull);
    }
    NEED(8);
    p += 8; /* end of extensions */
    if (s->backing_file) {
        uint32_t l = (uint32_t)strlen(s->backing_file);
        NEED(l);
        be64_put(h + 8, p);
        be32_put(h + 16, l);
        memcpy(h + p, s->backing_file, l);
        p += l;
    }
#undef NEED
    return 0;
}

/* The feature name table only helps tools name feature bits: leave it out
 * when the rest would not fit in one cluster (512-byte clusters with a
 * backing file). */
static int build_header(struct qcow2 *s, uint8_t *h)
{
    int r = build_header_ext(s, h, true);
    return r == -ENOSPC ? build_header_ext(s, h, false) : r;
}

int qcow2_write_header(struct qcow2 *s)
{
    uint8_t *h = malloc(s->cluster_size);
    if (!h)
        return -ENOMEM;
    int r = build_header(s, h);
    if (r == -ENOSPC)
        r = block_seterr(s->bd, -ENOSPC, "%s: header, extensions and "
                         "backing file name do not fit in one cluster",
                         s->file);
    if (!r) {
        r = host_pwrite(s->hf, 0, h, s->cluster_size);
        if (r < 0)
            block_seterr(s->bd, r, "%s: writing the header: %s", s->file,
                         strerror(-r));
    }
    free(h);
    return r;
}

/* Rewrite only header bytes [off, off+len) (a single small write, so that
 * related fields such as refcount_table_offset+clusters change together). */
int qcow2_write_header_fields(struct qcow2 *s, unsigned off, unsigned len)
{
    uint8_t h[112];
    uint8_t *full = malloc(s->cluster_size);
    if (!full)
        return -ENOMEM;
    int r = build_header(s, full);
    if (!r) {
        memcpy(h, full, sizeof(h));
        r = host_pwrite(s->hf, off, h + off, len);
        if (r < 0)
            block_seterr(s->bd, r, "%s: writing header fields: %s", s->file,
                         strerror(-r));
    }
    free(full);
    return r;
}
