/* block: internals shared by the VMDK driver's files (not a public API).
 *
 *  vmdk_desc.c    the text descriptor parser ("Virtual Disk Format 1.1",
 *                 "The Descriptor File")
 *  vmdk_sparse.c  one hosted sparse extent: header, grain directories,
 *                 grain tables, read, allocate-on-write, check
 *  vmdk_stream.c  streamOptimized: compressed grains read, and the
 *                 append-only writer (markers, tables at the end, footer)
 *  vmdk_create.c  new images of every subformat
 *  vmdk.c         the driver: a descriptor's extents, I/O dispatched to
 *                 them
 *
 * Every function here is called with bd->lock held (or before the device
 * is shared), returns 0 or a negative errno and, given a bd, leaves the
 * message in bd->err naming the file and the field at fault. */
#ifndef VESSEL_BLOCK_VMDK_H
#define VESSEL_BLOCK_VMDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/block_int.h"

#define VMDK_SECTOR          512u
#define VMDK_MAGIC           0x564d444bu   /* "KDMV" read little-endian */
#define VMDK_FLAG_NL_TEST    (1u << 0)
#define VMDK_FLAG_RGD        (1u << 1)
#define VMDK_FLAG_ZERO_GTE   (1u << 2)
#define VMDK_FLAG_COMPRESSED (1u << 16)
#define VMDK_FLAG_MARKERS    (1u << 17)
#define VMDK_GD_AT_END       UINT64_MAX
#define VMDK_GTES            512u          /* entries per grain table we write */
#define VMDK_GRAIN_SECTORS   128u          /* 64 KiB grains, as qemu-img */

/* Header field offsets (bytes), "Hosted Sparse Extent Header". */
#define VMDK_H_VERSION    4
#define VMDK_H_FLAGS      8
#define VMDK_H_CAPACITY   12
#define VMDK_H_GRAIN      20
#define VMDK_H_DESC_OFF   28
#define VMDK_H_DESC_SIZE  36
#define VMDK_H_GTES       44
#define VMDK_H_RGD_OFF    48
#define VMDK_H_GD_OFF     56
#define VMDK_H_OVERHEAD   64
#define VMDK_H_UNCLEAN    72
#define VMDK_H_NL         73            /* '\n', ' ', '\r', '\n' */
#define VMDK_H_COMPRESS   77

/* Stream markers ("Stream-Optimized Compressed Sparse Extents"). */
#define VMDK_MARKER_LEN   12            /* grain marker: lba (8), size (4) */
#define VMDK_MARKER_EOS   0u
#define VMDK_MARKER_GT    1u
#define VMDK_MARKER_GD    2u
#define VMDK_MARKER_FOOTER 3u

/* Descriptor limits: beyond them a descriptor is refused as hostile. */
#define VMDK_DESC_FILE_MAX (1u << 20)   /* bytes of a descriptor file */
#define VMDK_DESC_LINE_MAX 1024u        /* bytes of one line */
#define VMDK_DESC_LINES_MAX 20000u
#define VMDK_DESC_EXTENTS_MAX 4096u     /* 2 GiB extents of an 8 TiB disk */

enum vmdk_access { VMDK_RW, VMDK_RDONLY, VMDK_NOACCESS };
enum vmdk_ext_type { VMDK_EXT_FLAT, VMDK_EXT_SPARSE, VMDK_EXT_ZERO, VMDK_EXT_VMFS };

struct vmdk_desc_extent {
    enum vmdk_access access;
    enum vmdk_ext_type type;
    uint64_t sectors;
    uint64_t offset;          /* sectors, FLAT/VMFS only */
    char *file;               /* owned; NULL for ZERO */
};

struct vmdk_desc_kv {
    char *key, *value;        /* owned; value without its quotes */
};

struct vmdk_desc {
    unsigned version;
    uint32_t cid, parent_cid;
    size_t cid_at, cid_len;   /* the CID value's bytes in the text (no
                                 quotes); cid_len 0: no CID line */
    char create_type[32];
    char *parent_hint;        /* owned, NULL when absent */
    struct vmdk_desc_extent *ext;
    unsigned next;
    uint64_t total_sectors;   /* sum of the extents */
    struct vmdk_desc_kv *ddb; /* the ddb.* keys, in file order */
    unsigned nddb;
};

/* Parse descriptor text[0..len) (not NUL-terminated; the first NUL ends
 * it, in a file as in an embedded descriptor, and what follows it is
 * ignored, as qemu-img does).
 * `name` is the file for messages.  Strict: every line blank, a comment,
 * a known key=value (version, encoding, CID, parentCID,
 * isNativeSnapshot, createType, parentFileNameHint, changeTrackPath,
 * ddb.*; each once) or an extent line; limits above.  On success *d is
 * filled (free with vmdk_desc_free); errors -EINVAL / -ENOTSUP / -ENOMEM
 * with the line number and what would be accepted in err. */
int vmdk_desc_parse(const char *text, size_t len, const char *name,
                    struct vmdk_desc *d, char *err, size_t elen)
    __attribute__((warn_unused_result));
void vmdk_desc_free(struct vmdk_desc *d);
/* The ddb value of `key` (e.g. "ddb.adapterType"), or NULL. */
const char *vmdk_desc_ddb(const struct vmdk_desc *d, const char *key);

/* Set the CID value that vmdk_desc_parse found at text[at..at+n) (its
 * cid_at and cid_len) to `cid` as 8 hex digits (Virtual Disk Format 1.1:
 * renewed at a disk's first change), the rest of the text[0..len), which
 * has room for cap bytes, kept (vmdk_cid.c).  Returns the new length
 * (len, or up to 7 bytes more when the old value was shorter); -ENOSPC
 * when the text would outgrow cap, -EINVAL at/n not 1 to 8 bytes inside
 * the text (nothing changed either way). */
long vmdk_cid_set(char *text, size_t len, size_t cap, size_t at, size_t n, uint32_t cid);
/* A new random CID: never 0, ffffffff (parentCID's "no parent") or
 * `old`. */
uint32_t vmdk_cid_new(uint32_t old);

struct vmdk_stream;

/* One hosted sparse extent (vmdk_sparse.c). */
struct vmdk_gt_slot {
    uint64_t idx;             /* grain directory entry, UINT64_MAX: empty */
    uint32_t *gt;             /* host order */
};
#define VMDK_GT_CACHE 16

struct vmdk_sparse {
    struct host_file *file;   /* borrowed */
    const char *name;         /* borrowed, for messages */
    uint8_t hdr[512];         /* the header as read (footer's for a stream) */
    uint32_t flags;
    uint64_t capacity;        /* bytes */
    uint64_t grain;           /* bytes */
    uint32_t gtes;
    uint32_t ngd;
    uint64_t gd_sec, rgd_sec; /* rgd_sec 0: no redundant directory */
    uint64_t overhead;        /* sectors */
    uint32_t *gd, *rgd;       /* host order; rgd NULL without */
    struct vmdk_gt_slot cache[VMDK_GT_CACHE];
    unsigned cache_next;
    uint64_t file_size;       /* bytes: grows with allocations */
    bool compressed;
    bool writable;
    bool unclean_set;         /* we set the unclean-shutdown byte */
    bool unclean_found;       /* it was set at open */
    uint8_t *zin;             /* compressed grain as read (marker + data) */
    uint8_t *grain_buf;       /* the inflated grain whose entry is grain_e */
    uint32_t grain_e;         /* 0: none */
    struct vmdk_stream *sw;   /* streamOptimized writer, NULL when reading */
};

/* Open the sparse extent in `file` (named `name`; both must outlive it),
 * `extent_sectors` the size its descriptor line gives (0: take the
 * header's).  write: prepare allocation (monolithicSparse) or the
 * append-only stream writer (an empty streamOptimized image; one with
 * data is refused, -EROFS).  *desc, when desc is non-NULL and the
 * header embeds a descriptor, gets it (malloc'd, NUL-terminated, length
 * in *dlen).  Errors -EINVAL (field named), -ENOTSUP, -EROFS, -ENOMEM,
 * -EIO. */
int vmdk_sparse_open(struct vmdk_sparse **out, struct host_file *file, const char *name,
                     bool write, char **desc, size_t *dlen, char *err, size_t elen)
    __attribute__((warn_unused_result));
/* Finish writes (stream trailer, unclean byte cleared) and free.  A
 * failure is logged into bd->err and returned. */
int vmdk_sparse_close(struct block_dev *bd, struct vmdk_sparse *s);
/* I/O at byte offset `off` of the extent (inside its capacity). */
int vmdk_sparse_read(struct block_dev *bd, struct vmdk_sparse *s, uint64_t off,
                     void *buf, size_t len);
int vmdk_sparse_write(struct block_dev *bd, struct vmdk_sparse *s, uint64_t off,
                      const void *buf, size_t len);
int vmdk_sparse_zero(struct block_dev *bd, struct vmdk_sparse *s, uint64_t off,
                     uint64_t len);
/* BLOCK_STATUS_DATA or _ZERO of [off, off+len), the run length in *pnum. */
int vmdk_sparse_status(struct block_dev *bd, struct vmdk_sparse *s, uint64_t off,
                       uint64_t len, uint64_t *pnum);
int vmdk_sparse_flush(struct block_dev *bd, struct vmdk_sparse *s);
/* Every table and grain checked: faults counted in *corrupt and reported
 * (block_check_fault), allocated grains added to *alloc. */
int vmdk_sparse_check(struct block_dev *bd, struct vmdk_sparse *s, FILE *report,
                      uint64_t *corrupt, uint64_t *alloc);

/* The grain entry of grain g (0: reads zeros), -errno (vmdk_sparse.c). */
int64_t vmdk_sparse_entry(struct block_dev *bd, struct vmdk_sparse *s, uint64_t g);

/* vmdk_stream.c.  Inflate the compressed grain whose entry is e (grain
 * g) into s->grain_buf. */
int vmdk_stream_load_grain(struct block_dev *bd, struct vmdk_sparse *s, uint32_t e,
                           uint64_t g);
/* Start the writer of an empty stream extent (appending from its
 * overhead). */
int vmdk_stream_start(struct vmdk_sparse *s, char *err, size_t elen);
/* Grain entry of grain g while writing (0 none, else a sector); a grain
 * still buffered reads from *pending (NULL otherwise). */
uint32_t vmdk_stream_entry(struct vmdk_sparse *s, uint64_t g, const uint8_t **pending);
int vmdk_stream_write(struct block_dev *bd, struct vmdk_sparse *s, uint64_t off,
                      const void *buf, size_t len);
/* Write the pending grain, the grain tables, directory, footer and
 * end-of-stream marker after the grains (later writes append over them). */
int vmdk_stream_finish(struct block_dev *bd, struct vmdk_sparse *s);
void vmdk_stream_free(struct vmdk_sparse *s);

/* vmdk_create.c: the descriptor text of a new image. */
int vmdk_desc_format(char *out, size_t n, const char *create_type, uint64_t sectors,
                     const char *extents);

#endif
