/* block: virtual disk images (raw, qcow2 v2/v3) behind virtio-blk and
 * `vessel img`.
 *
 * A struct block_dev is one open image, plus (for qcow2) its open backing
 * chain.  All offsets and lengths are in BYTES unless a name says
 * otherwise.  Every function returns 0 (or a non-negative count) on success
 * and a negative errno on failure; when a function fails, a human-readable
 * message naming the image file and the field at fault is available from
 * block_last_error() (or, for block_open/block_create, in the caller's
 * error buffer).
 *
 * Thread safety: the synchronous I/O functions may be called from any
 * thread; each block_dev serialises them with its own lock.  There is no
 * global state: any number of images may be open in one process.
 *
 * The on-disk format is QEMU's docs/interop/qcow2.txt; section names below
 * ("Header", "Cluster mapping", "Host cluster management", "Snapshots")
 * refer to that document. */
#ifndef VESSEL_BLOCK_H
#define VESSEL_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct block_dev;

enum block_format {
    BLOCK_FMT_PROBE = 0, /* open: look at the magic; create: qcow2 */
    BLOCK_FMT_RAW,
    BLOCK_FMT_QCOW2,
};

/* block_open flags */
#define BLOCK_O_RDONLY      0x1u /* never write to the image (or its chain) */
#define BLOCK_O_NO_BACKING  0x2u /* do not open the backing chain */
#define BLOCK_O_BACKING_RW  0x4u /* open the direct backing image read-write
                                    (used by commit) */
#define BLOCK_O_CHECK       0x8u /* open for check/repair: accept the
                                    corrupt bit, do not auto-repair */
#define BLOCK_O_LOCK        0x10u /* lock the image (and its backing chain)
                                    against other processes, as qemu does:
                                    an OFD lock (fcntl F_OFD_SETLK) over the
                                    whole file, exclusive for a read-write
                                    open, shared for a read-only one; a
                                    conflicting lock fails with -EBUSY.
                                    Released by block_close (or exit). */
#define BLOCK_O_DIRECT      0x20u /* cache=none: O_DIRECT on the image and
                                    its backing chain, bypassing the host
                                    page cache (unaligned transfers are
                                    bounced); -EINVAL with a message if the
                                    host filesystem cannot do direct I/O */
#define BLOCK_O_BACKING_DIRECT 0x40u /* BLOCK_O_DIRECT for the backing
                                    chain only: a throwaway overlay (in a
                                    tmpfs that may lack O_DIRECT) stays
                                    buffered over a direct image */

#define BLOCK_ERR_LEN 512

/* Open the image at `path`.  `fmt` BLOCK_FMT_PROBE recognises qcow2 by its
 * magic and treats anything else as raw.  A qcow2 image's backing chain is
 * opened too (read-only), relative backing paths resolved against the
 * directory of the image that names them; chains that loop or are deeper
 * than 64 are refused.  A read-write open of a qcow2 v3 image whose dirty
 * bit is set rebuilds its refcounts first (qcow2.txt "Header",
 * incompatible feature bit 0); one whose corrupt bit (bit 1) is set is
 * refused with -EIO unless BLOCK_O_CHECK (for repair) or read-only.
 * On success *out owns the device (free with block_close).  On failure a
 * message is written to err (err_len bytes, may be NULL) and one of:
 * -ENOENT/-EACCES/... (open(2) errors), -EINVAL malformed header or
 * metadata, -ENOTSUP unsupported feature, -ELOOP backing chain loops or is
 * too deep, -ENOMEM. */
int block_open(struct block_dev **out, const char *path, unsigned flags,
               enum block_format fmt, char *err, size_t err_len);

/* Close the device and its backing chain; flushes pending metadata first.
 * NULL is a no-op. */
void block_close(struct block_dev *bd);

/* The last error message of a failed call on bd (never NULL). */
const char *block_last_error(struct block_dev *bd);

/* Virtual disk size in bytes. */
uint64_t block_length(struct block_dev *bd);

/* Format of the open image. */
enum block_format block_format(struct block_dev *bd);
const char *block_format_name(enum block_format fmt);

/* Vectored block_pread / block_pwrite: the `len` bytes at byte offset
 * `off` go to / come from iov[0..iovcnt) (borrowed; their lengths must add
 * up to len).  Raw images use preadv/pwritev directly; other formats go
 * through a bounce buffer.  Same errors as block_pread / block_pwrite, plus
 * -EINVAL when the iovec lengths do not add up to len, -ENOMEM. */
int block_preadv(struct block_dev *bd, uint64_t off, const struct iovec *iov,
                 int iovcnt, size_t len);
int block_pwritev(struct block_dev *bd, uint64_t off, const struct iovec *iov,
                  int iovcnt, size_t len);

/* Read/write `len` bytes at byte offset `off` of the virtual disk.  The
 * range must lie inside block_length().  qcow2: unallocated clusters read
 * from the backing chain (zeros past its end); writes allocate clusters and
 * copy-on-write clusters that are shared or live in a backing file
 * (qcow2.txt "Cluster mapping").  A qcow2 write that would land on the
 * image's metadata (a wrong refcount) is refused with -EIO and marks the
 * image corrupt (docs/block.md, "Metadata overlap checks"); so is every
 * later write of that open.  Errors: -EINVAL range outside the disk,
 * -EROFS device opened read-only, -EIO corrupt metadata or short host I/O,
 * -ENOSPC, other host errno. */
int block_pread(struct block_dev *bd, uint64_t off, void *buf, size_t len);
int block_pwrite(struct block_dev *bd, uint64_t off, const void *buf,
                 size_t len);

/* Make [off, off+len) read as zeros and release its host storage where
 * possible: whole qcow2 clusters are unmapped (refcounts drop, freed
 * clusters are punched out of the host file) or become zero clusters
 * (v3) when a backing file would otherwise show through; partial clusters
 * are zero-filled.  Raw files are punched.  Same errors as block_pwrite. */
int block_discard(struct block_dev *bd, uint64_t off, uint64_t len);

/* Make [off, off+len) read as zeros; whole clusters become qcow2 zero
 * clusters (v3, bit 0 of the standard cluster descriptor) or are unmapped
 * (v2 without backing).  Same errors as block_pwrite. */
int block_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len);

/* Make every completed write durable (fdatasync of the image; the backing
 * chain is never written).  Errors: host fdatasync errno. */
int block_flush(struct block_dev *bd);

/* Allocation status of the range starting at `off`: on return *pnum holds
 * how many bytes from off (>0, <= len) share the returned status.
 * With `chain` false only this image is looked at; with true, unallocated
 * ranges are resolved through the backing chain.  Errors: as block_pread. */
enum block_status {
    BLOCK_STATUS_UNALLOCATED = 0, /* falls through to the backing file */
    BLOCK_STATUS_DATA = 1,        /* data stored in this image */
    BLOCK_STATUS_ZERO = 2,        /* reads as zeros */
};
int block_get_status(struct block_dev *bd, uint64_t off, uint64_t len,
                     bool chain, uint64_t *pnum);

/* Resize the virtual disk to `size` bytes (qcow2: grows the L1 table when
 * needed; shrinking discards the clusters beyond the new end first).
 * Errors: -EROFS, -EINVAL size not a multiple of 512 / too large,
 * -ENOTSUP shrinking a qcow2 image that has snapshots. */
int block_truncate(struct block_dev *bd, uint64_t size);

/* ---------------------------------------------------------------------
 * Image information and creation.
 */

struct block_snapshot_info {
    char id[64];
    char name[256];
    uint64_t vm_state_size;   /* bytes */
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t disk_size;       /* bytes (virtual size when taken) */
};

struct block_info {
    enum block_format format;
    uint64_t virtual_size;    /* bytes */
    uint64_t actual_size;     /* bytes the host file occupies on disk */
    uint32_t cluster_size;    /* bytes (qcow2), 0 for raw */
    uint32_t qcow2_version;   /* 2 or 3 */
    uint32_t refcount_bits;
    bool lazy_refcounts, dirty, corrupt;
    char compression[8];      /* "zlib" or "zstd" */
    char backing_file[1024];  /* as stored in the header, "" if none */
    char backing_full[4096];  /* resolved path */
    char backing_format[32];
    unsigned nb_snapshots;
    struct block_snapshot_info *snapshots; /* owned; block_info_free */
};

/* Fill *info for the open image.  Errors: -ENOMEM. */
int block_get_info(struct block_dev *bd, struct block_info *info);
void block_info_free(struct block_info *info);

struct block_create_opts {
    enum block_format format;   /* BLOCK_FMT_PROBE means qcow2 */
    uint64_t size;              /* bytes; 0 with a backing file: its size */
    uint32_t cluster_size;      /* qcow2: 512..2 MiB power of two, 0 = 64 KiB */
    uint32_t version;           /* qcow2: 2 or 3, 0 = 3 */
    uint32_t refcount_bits;     /* qcow2: 1..64 power of two, 0 = 16 */
    bool lazy_refcounts;        /* qcow2 v3 compatible feature bit 0 */
    const char *backing_file;   /* stored as given; NULL = none */
    const char *backing_format; /* "raw"/"qcow2"; NULL = probe */
};

/* Create a new image file at `path` (truncating an existing file).  A new
 * qcow2 image holds a header cluster, one refcount table cluster, one
 * refcount block and the L1 table (qcow2.txt "Header", "Host cluster
 * management").  Errors: -EINVAL bad option, or a size the format cannot
 * hold (qcow2: 2^37 bytes with 512-byte clusters up to 2^61 with 2 MiB
 * ones; raw: 2^63 - 1) - the message gives the maximum, -EFBIG the host
 * filesystem cannot hold the raw size (an existing file is left as it
 * was), -ENOENT backing file not found, host errno. */
int block_create(const char *path, const struct block_create_opts *opts,
                 char *err, size_t err_len);

/* ---------------------------------------------------------------------
 * qcow2 internal snapshots (qcow2.txt "Snapshots").  All need a qcow2
 * image; others return -ENOTSUP.
 */

/* Take a snapshot called `name` (id assigned as qemu-img does: one more
 * than the largest numeric id).  Copies the active L1 table and increments
 * the refcount of every L2 table and data cluster it reaches.
 * Errors: -EEXIST name already used, -EROFS, -ENOSPC, -EIO. */
int block_snapshot_create(struct block_dev *bd, const char *name);

/* List the snapshots: *out (owned by caller, free()) gets *n entries. */
int block_snapshot_list(struct block_dev *bd,
                        struct block_snapshot_info **out, unsigned *n);

/* Revert the active disk to the snapshot whose id or name is `name`.
 * Errors: -ENOENT no such snapshot, -EROFS, -EIO. */
int block_snapshot_apply(struct block_dev *bd, const char *name);

/* Delete the snapshot whose id or name is `name`, releasing its clusters.
 * Errors: -ENOENT, -EROFS, -EIO. */
int block_snapshot_delete(struct block_dev *bd, const char *name);

/* ---------------------------------------------------------------------
 * Consistency check and repair (qcow2.txt "Host cluster management").
 */
struct block_check_result {
    uint64_t corruptions;      /* refcount too low, bad offsets, flags */
    uint64_t leaks;            /* clusters with refcount > references */
    uint64_t corruptions_fixed;
    uint64_t leaks_fixed;
    uint64_t allocated_clusters;
    uint64_t total_clusters;   /* virtual size in clusters */
    uint64_t image_end_offset; /* bytes */
};

/* Recompute every refcount from the L1/L2 tables of the active image and
 * of each snapshot and compare them with the refcount blocks; check the
 * COPIED flags.  With `repair` (device opened read-write) leaked clusters
 * are freed and wrong refcounts/flags corrected; when everything found was
 * fixed the corrupt bit (qcow2.txt "Header", incompatible bit 1) is
 * cleared and the image takes writes again.  Problems are described
 * on `report` (may be NULL) one per line.  Errors: -ENOMEM, -EIO,
 * -EROFS (repair on a read-only device). */
int block_check(struct block_dev *bd, bool repair,
                struct block_check_result *res, void *report_file);

/* ---------------------------------------------------------------------
 * Backing chain operations.
 */

/* Write every cluster allocated in bd's top image into its direct backing
 * image (which must have been opened with BLOCK_O_BACKING_RW), then make
 * the top image empty again.  `progress` (may be NULL) is called with
 * done/total bytes.  Errors: -EINVAL no backing file, -EROFS, I/O errors. */
int block_commit(struct block_dev *bd,
                 void (*progress)(void *opaque, uint64_t done, uint64_t total),
                 void *opaque);

/* Change the backing file recorded in the qcow2 header to `backing`
 * (NULL or "" = none) with format `fmt` (NULL = probe).  Unless `unsafe`,
 * first copies into the top image every unallocated cluster whose content
 * differs between the old and the new backing chain, so the guest-visible
 * content is unchanged.  Errors: -ENOTSUP raw image, -ENOENT new backing
 * file missing, -EROFS, I/O errors. */
int block_rebase(struct block_dev *bd, const char *backing, const char *fmt,
                 bool unsafe);

/* ---------------------------------------------------------------------
 * Asynchronous I/O: requests run on the device's worker threads, off the
 * caller's (vCPU) thread.  A flush completes only after every request
 * submitted before it has completed, and no request submitted after it
 * starts before it completes.
 */
enum block_aio_op { BLOCK_AIO_READ, BLOCK_AIO_WRITE, BLOCK_AIO_FLUSH,
                    BLOCK_AIO_DISCARD, BLOCK_AIO_WRITE_ZEROES };

struct block_aio_req {
    enum block_aio_op op;
    uint64_t off;            /* bytes */
    void *buf;               /* READ/WRITE: borrowed until completion */
    uint64_t len;            /* bytes */
    /* READ/WRITE: when iov is non-NULL the data is scattered over iov[0..
     * iovcnt) (borrowed until completion, `len` bytes in all) instead of
     * buf: device DMA without a bounce copy. */
    const struct iovec *iov;
    int iovcnt;
    /* Called once on a worker thread with the result (0 or -errno). */
    void (*cb)(struct block_aio_req *req, int ret);
    void *opaque;
    struct block_aio_req *next_; /* internal */
};

/* Queue a request (owned by the caller until its callback runs).  Starts
 * the worker threads on first use.  Errors: -EAGAIN threads could not be
 * started, -EINVAL unknown op. */
int block_aio_submit(struct block_dev *bd, struct block_aio_req *req);

/* Wait until every submitted request has completed. */
void block_aio_drain(struct block_dev *bd);

#endif
