/* qcow2 driver internals (QEMU docs/interop/qcow2.txt). */
#ifndef VESSEL_BLOCK_QCOW2_H
#define VESSEL_BLOCK_QCOW2_H

#include "block/block_int.h"

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

#define QCOW2_INCOMPAT_DIRTY       (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT     (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | \
                              QCOW2_INCOMPAT_COMPRESSION)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

#define QCOW2_EXT_END          0x00000000u
#define QCOW2_EXT_BACKING_FMT  0xe2792acau
#define QCOW2_EXT_FEATURES     0x6803f857u

/* L1/L2 entry bits ("Cluster mapping") */
#define QCOW2_COPIED      (1ull << 63)
#define QCOW2_COMPRESSED  (1ull << 62)
#define QCOW2_ZERO        (1ull << 0)
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull /* bits 9-55 */
#define QCOW2_L1_RESERVED 0x7f000000000001ffull
#define QCOW2_L2_RESERVED 0x3f000000000001feull

#define QCOW2_MAX_L1_BYTES   (32u << 20)
#define QCOW2_MAX_RT_BYTES   (8u << 20)
#define QCOW2_MAX_SNAPSHOTS  65536u
#define QCOW2_MAX_SNAP_EXTRA 1024u

/* One cached metadata cluster (L2 table or refcount block), kept in the
 * on-disk (big-endian) layout.  Write-through: every change is written to
 * the image file at once. */
struct qcow2_cache_entry {
    uint64_t offset;  /* host offset, 0 = empty slot */
    uint64_t lru;
    uint8_t *data;    /* cluster_size bytes */
};

struct qcow2_cache {
    unsigned n;
    uint64_t tick;
    struct qcow2_cache_entry *e;
};

struct qcow2_snapshot {
    uint64_t l1_offset;
    uint32_t l1_size;
    char *id, *name;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t vm_state_size;
    uint64_t disk_size;
    uint32_t extra_size;
    uint8_t *extra;      /* extra data as read (preserved) */
};

/* Where the metadata lives, for the overlap checks (qcow2_overlap.c). */
struct qcow2_ol_slot;
struct qcow2_ol_range;
struct qcow2_overlap {
    struct qcow2_ol_slot *slot;    /* hash set: active L2s, refcount blocks */
    uint64_t cap, used;            /* slots (a power of two), occupied */
    unsigned bits;                 /* log2(cap) */
    struct qcow2_ol_range *rng;    /* large structures, sorted by start */
    uint64_t *maxend;              /* maxend[i] = max end of rng[0..i] */
    uint32_t nrng;
};

/* Metadata structures, for overlap checks and their messages. */
enum qcow2_meta {
    QCOW2_META_HEADER,    /* cluster 0 */
    QCOW2_META_L1,        /* the active L1 table */
    QCOW2_META_L2,        /* an L2 table the active L1 table names */
    QCOW2_META_RT,        /* the refcount table */
    QCOW2_META_RB,        /* a refcount block */
    QCOW2_META_SNAPTAB,   /* the snapshot table */
    QCOW2_META_SNAP_L1,   /* a snapshot's (inactive) L1 table */
    QCOW2_META_COUNT
};
#define QCOW2_OL(k) (1u << (k))
#define QCOW2_NO_GUEST UINT64_MAX  /* overlap check not for a guest offset */

struct qcow2_ext {           /* an unknown header extension, preserved */
    uint32_t type, len;
    uint8_t *data;
};

struct qcow2 {
    struct block_dev *bd;
    struct host_file *hf;    /* &bd->file */
    const char *file;        /* bd->filename, for messages */

    /* Header fields ("Header") */
    uint32_t version;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint64_t size;
    uint32_t l1_size;
    uint64_t l1_offset;
    uint64_t rt_offset;
    uint32_t rt_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t incompat, compat, autoclear;
    uint32_t refcount_order;
    uint32_t header_length;
    uint32_t compression_type; /* 0 zlib, 1 zstd */
    char *backing_file;        /* NULL if none */
    char *backing_fmt;         /* NULL if none */
    struct qcow2_ext *exts;
    unsigned nb_exts;

    /* Derived */
    uint32_t l2_entries;       /* entries per L2 table */
    uint64_t rb_entries;       /* entries per refcount block */
    uint32_t refcount_bits;
    uint64_t refcount_max;
    uint32_t csize_shift;      /* compressed descriptor: sector count shift */
    uint64_t csize_mask;
    uint64_t coffset_mask;

    /* In-memory copies (host endian) */
    uint64_t *l1;              /* l1_size entries */
    uint64_t *rt;              /* rt_entries entries */
    uint64_t rt_entries;
    struct qcow2_snapshot *snaps;
    uint64_t snapshots_size;   /* bytes the snapshot table occupies */

    struct qcow2_cache l2c, rbc;

    uint64_t host_size;        /* bytes: current host file length */
    uint64_t free_hint;        /* cluster index: no free cluster below */
    uint64_t alloc_floor;      /* cluster index: allocate only at/above */

    struct qcow2_overlap ol;   /* metadata map for the overlap checks */
    bool stopped;              /* corruption seen (or corrupt bit set):
                                  guest-visible writes are refused */
    bool repairing;            /* inside check --repair */

    /* Compressed cluster cache */
    uint64_t cdesc;            /* descriptor of the cluster in cbuf, 0 none */
    uint8_t *cbuf;             /* decompressed cluster */
    uint8_t *cin;              /* compressed input buffer */
    uint8_t *tmp;              /* one cluster of scratch */
    void *zstd_dctx;
};

static inline uint64_t be64_get(const void *p)
{
    const uint8_t *b = p;
    return ((uint64_t)b[0] << 56) | ((uint64_t)b[1] << 48) |
           ((uint64_t)b[2] << 40) | ((uint64_t)b[3] << 32) |
           ((uint64_t)b[4] << 24) | ((uint64_t)b[5] << 16) |
           ((uint64_t)b[6] << 8) | b[7];
}
static inline uint32_t be32_get(const void *p)
{
    const uint8_t *b = p;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
           ((uint32_t)b[2] << 8) | b[3];
}
static inline uint16_t be16_get(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)((b[0] << 8) | b[1]);
}
static inline void be64_put(void *p, uint64_t v)
{
    uint8_t *b = p;
    for (int i = 7; i >= 0; i--) { b[i] = (uint8_t)v; v >>= 8; }
}
static inline void be32_put(void *p, uint32_t v)
{
    uint8_t *b = p;
    for (int i = 3; i >= 0; i--) { b[i] = (uint8_t)v; v >>= 8; }
}
static inline void be16_put(void *p, uint16_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)(v >> 8); b[1] = (uint8_t)v;
}

/* The largest virtual size (bytes) a qcow2 image with 2^cluster_bits-byte
 * clusters can have: a 32 MiB L1 table of (cluster_size / 8)-entry L2
 * tables; 2^61 for 2 MiB clusters, 2^51 for 64 KiB ones (qcow2.txt
 * "Cluster mapping"). */
static inline uint64_t qcow2_max_size(uint32_t cluster_bits)
{
    return (uint64_t)(QCOW2_MAX_L1_BYTES / 8) << (2 * cluster_bits - 3);
}

static inline uint64_t qcow2_clusters(const struct qcow2 *s, uint64_t bytes)
{
    return (bytes + s->cluster_size - 1) >> s->cluster_bits;
}

/* qcow2_header.c */
int qcow2_parse_header(struct qcow2 *s, const uint8_t *hdr, size_t hlen,
                       uint64_t file_size, char *err, size_t elen);
int qcow2_load_snapshots(struct qcow2 *s, char *err, size_t elen);
int qcow2_write_header(struct qcow2 *s);
int qcow2_write_header_fields(struct qcow2 *s, unsigned off, unsigned len);
void qcow2_free_header(struct qcow2 *s);
bool qcow2_overlaps_fixed(struct qcow2 *s, uint64_t off, uint64_t len);
uint64_t qcow2_l1_needed(uint64_t size, uint32_t cluster_bits);

/* qcow2_cache.c */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t csize);
void qcow2_cache_free(struct qcow2_cache *c);
/* Load (or find) the cluster at host `off`; *data points into the cache. */
int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t off,
                    uint8_t **data, bool zero_new);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off);
void qcow2_cache_clear(struct qcow2_cache *c);

/* qcow2_refcount.c */
int qcow2_validate_meta(struct qcow2 *s, uint64_t off, const char *what);
int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *rc);
int qcow2_update_refcount(struct qcow2 *s, uint64_t cluster, int64_t delta,
                          uint64_t *newrc);
int qcow2_set_refcount(struct qcow2 *s, uint64_t cluster, uint64_t rc);
/* Allocate n contiguous host clusters (refcount 0 -> 1) and return the
 * byte offset of the first.  The run is checked against the metadata map
 * first: `what` names the new content and `voff` the guest offset it is for
 * (QCOW2_NO_GUEST if none) in the message when the run overlaps metadata,
 * which marks the image corrupt.  Errors: -EIO (overlap, bad metadata),
 * -ENOSPC (image file would exceed 2^56 bytes), -ENOMEM, host errno. */
int64_t qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, const char *what,
                             uint64_t voff);
int qcow2_free_clusters(struct qcow2 *s, uint64_t off, uint64_t bytes);
/* Drop one reference to the host clusters an L2 entry points to. */
int qcow2_free_l2_entry(struct qcow2 *s, uint64_t entry);
uint64_t qcow2_rb_get(const struct qcow2 *s, const uint8_t *blk, uint64_t i);
void qcow2_rb_set(const struct qcow2 *s, uint8_t *blk, uint64_t i,
                  uint64_t v);
/* Byte range [*boff, *boff+*blen) of a refcount block holding entry i. */
void qcow2_rb_span(const struct qcow2 *s, uint64_t i, uint64_t *boff,
                   uint64_t *blen);

/* qcow2_cluster.c */
int qcow2_read(struct block_dev *bd, uint64_t off, void *buf, size_t len);
int qcow2_write(struct block_dev *bd, uint64_t off, const void *buf,
                size_t len);
int qcow2_discard(struct block_dev *bd, uint64_t off, uint64_t len);
int qcow2_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len);
int qcow2_status(struct block_dev *bd, uint64_t off, uint64_t len,
                 uint64_t *pnum);
int qcow2_make_empty(struct qcow2 *s);
int qcow2_write_l1_entry(struct qcow2 *s, uint32_t i);
int qcow2_l2_entry_valid(struct qcow2 *s, uint64_t entry);
void qcow2_compressed_span(const struct qcow2 *s, uint64_t entry,
                           uint64_t *off, uint64_t *len);
int qcow2_resize(struct block_dev *bd, uint64_t size);

/* qcow2_snapshot.c */
/* Write a new snapshot table holding sn[0..n) (qcow2.txt "Snapshots"),
 * switch the header to it, then free the old table.  *switched is set once
 * the header names the new table: s owns sn from then on, even when the
 * function still fails (freeing the old table); else the caller keeps sn.
 * Errors: -ENOMEM, -ENOSPC, -EIO, host errno. */
int qcow2_write_snapshot_table(struct qcow2 *s, struct qcow2_snapshot *sn,
                               uint32_t n, bool *switched);
void qcow2_free_snapshots(struct qcow2_snapshot *sn, uint32_t n);
/* Add `addend` (-1, 0, +1) to the refcount of every L2 table and data
 * cluster reached from the L1 table at l1_offset; when the table is the
 * active one, recompute the COPIED flags from the refcounts. */
int qcow2_update_tree_refcounts(struct qcow2 *s, uint64_t l1_offset,
                                uint32_t l1_size, int addend);

/* qcow2_overlap.c: the metadata map and the corrupt bit. */
/* Rebuild the whole map from the in-memory L1 table, refcount table,
 * header fields and snapshot list.  Errors: -ENOMEM (message on s->bd). */
int qcow2_overlap_build(struct qcow2 *s);
/* Rebuild only the ranges of the large structures (header, active L1,
 * refcount table, snapshot table, snapshot L1 tables): call whenever one of
 * them moves, before the old place is freed.  Errors: -ENOMEM. */
int qcow2_overlap_update_ranges(struct qcow2 *s);
/* Count one more / one less reference to the cluster at host byte offset
 * `off` as an active L2 table (QCOW2_META_L2) or a refcount block
 * (QCOW2_META_RB); other kinds and off 0 are ignored.  Add before the
 * structure is linked in, delete before it is freed.  Errors: -ENOMEM. */
int qcow2_overlap_add(struct qcow2 *s, enum qcow2_meta k, uint64_t off);
void qcow2_overlap_del(struct qcow2 *s, enum qcow2_meta k, uint64_t off);
void qcow2_overlap_free(struct qcow2 *s);
/* How many table entries name the cluster at host offset `off` as an
 * active L2 table / a refcount block (0 for other kinds). */
uint32_t qcow2_overlap_refs(struct qcow2 *s, enum qcow2_meta k, uint64_t off);
/* The metadata kind (enum qcow2_meta) that host bytes [off, off+len)
 * overlap, at cluster granularity, skipping the kinds in the QCOW2_OL()
 * mask `ignore`; -1 if none.  *hit_off gets the first overlapping host
 * cluster's offset, *hit_idx the snapshot index for QCOW2_META_SNAP_L1. */
int qcow2_overlap_find(struct qcow2 *s, uint64_t off, uint64_t len,
                       unsigned ignore, uint64_t *hit_off, uint32_t *hit_idx);
/* 0 if host bytes [off, off+len) overlap no metadata (but the kinds in
 * `ignore`); else mark the image corrupt and return -EIO with a message
 * naming the file, `what` was to be written, the host offset, the guest
 * offset `voff` (QCOW2_NO_GUEST: none), the structure hit, and the repair
 * command. */
int qcow2_overlap_check(struct qcow2 *s, uint64_t off, uint64_t len,
                        unsigned ignore, uint64_t voff, const char *what);
/* Record corruption: set the corrupt bit in a v3 header (incompatible
 * feature bit 1, qcow2.txt "Header"), refuse further writes in this
 * session (v2 has no such bit), and set the message (printf-style `fmt`
 * describing the problem, then the repair command).  Returns -EIO. */
int qcow2_mark_corrupt(struct qcow2 *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Write s->incompat to the v3 header field incompatible_features (byte 72)
 * alone.  Errors: host errno (message on s->bd). */
int qcow2_write_incompat(struct qcow2 *s);
/* 0, or -EIO with a message when the image is marked corrupt (guest
 * writes, discards, resize and snapshot changes are refused). */
int qcow2_check_writable(struct qcow2 *s);
const char *qcow2_meta_name(enum qcow2_meta k);

/* qcow2_check.c */
int qcow2_check(struct qcow2 *s, bool repair, struct block_check_result *r,
                FILE *report);

#endif
