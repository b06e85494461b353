/* block: virtual disk images (raw, qcow2 v2/v3, VHD, VDI, VMDK) behind virtio-blk and
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
    BLOCK_FMT_VPC,       /* VHD (Microsoft Virtual Hard Disk); qemu-img's
                            "vpc", also accepted as "vhd" */
    BLOCK_FMT_VDI,       /* VirtualBox Disk Image */
    BLOCK_FMT_VMDK,      /* VMware VMDK (docs/block.md "VMDK") */
    BLOCK_FMT_VHDX,      /* Hyper-V VHDX (MS-VHDX), dynamic and fixed */
};

/* block_open flags */
#define BLOCK_O_RDONLY      0x1u /* never write to the image (or its chain) */
#define BLOCK_O_NO_BACKING  0x2u /* do not open the backing chain */
#define BLOCK_O_BACKING_RW  0x4u /* open the direct backing image read-write
                                    (used by commit) */
#define BLOCK_O_CHECK       0x8u /* open for check/repair: accept the
                                    corrupt bit, do not auto-repair */
#define BLOCK_O_LOCK        0x10u /* lock the image (and its backing chain)
                                    against other processes with QEMU's
                                    byte-range protocol, so that Vessel,
                                    qemu-system, qemu-img and qemu-io
                                    exclude each other (docs/block.md
                                    "Image locking"): a read-write open
                                    refuses other writers and readers
                                    that refuse writers; a read-only open
                                    refuses writers.  A conflict fails
                                    with -EBUSY and a message naming the
                                    permission and the holder.  Released
                                    by block_close (or exit). */
#define BLOCK_O_DIRECT      0x20u /* cache=none: O_DIRECT on the image and
                                    its backing chain, bypassing the host
                                    page cache (unaligned transfers are
                                    bounced); -EINVAL with a message if the
                                    host filesystem cannot do direct I/O */
#define BLOCK_O_BACKING_DIRECT 0x40u /* BLOCK_O_DIRECT for the backing
                                    chain only: a throwaway overlay (in a
                                    tmpfs that may lack O_DIRECT) stays
                                    buffered over a direct image */
#define BLOCK_O_UNSAFE      0x80u /* cache=unsafe for the image itself: the
                                    caller does not need it consistent
                                    after a host crash (a new image being
                                    filled by `img convert`), so drivers
                                    skip the syncs that only order their
                                    own metadata writes (VHDX's log);
                                    block_flush still syncs */

#define BLOCK_ERR_LEN 512

/* ---------------------------------------------------------------------
 * Format probing (docs/block.md "Format probing").
 *
 * An image format is recognised by magic bytes in its first sector.  All
 * the magics Vessel knows live in ONE table (block/probe.c), used both by
 * probing at open and by the guard on disks probed as raw: a writable
 * disk whose format was probed as raw refuses any write that would leave
 * a recognised header in its first sector, so a guest can never turn its
 * raw disk into, say, a qcow2 image naming a host file as its backing
 * file (the class of CVE-2008-2004).  The table also holds formats that
 * have no driver yet (VHDX and ESX sparse extents): such a file is refused at
 * open instead of being taken for raw, and a guest cannot plant their
 * headers either.  A new format driver must be recognised through this
 * table and nowhere else, so that the guard covers it.
 */
#define BLOCK_PROBE_LEN 512 /* bytes probed and guarded: the first sector */

struct block_magic {
    const char *name;      /* format name as the user writes it: "qcow2" */
    enum block_format fmt; /* driver that opens it; BLOCK_FMT_PROBE: none
                              yet (the file is refused, not taken for raw) */
    uint16_t off;          /* byte offset of the magic; off + len <=
                              BLOCK_PROBE_LEN */
    uint16_t len;          /* bytes */
    const char *magic;
};

/* The table entry whose magic the first sector `buf` holds, or NULL (not
 * a recognised image: raw).  `buf` is BLOCK_PROBE_LEN bytes, the image's
 * first bytes zero-filled past its end.  The returned entry is static. */
const struct block_magic *block_probe_header(const uint8_t *buf);

/* The whole table: *n receives the number of entries (static storage). */
const struct block_magic *block_probe_table(size_t *n);

/* ---------------------------------------------------------------------
 * Opening images.
 */

/* Open the image at `path`.  `fmt` BLOCK_FMT_PROBE looks the first sector
 * up in the magic table above (qcow2, VHD, VDI and VMDK open with
 * their drivers, a recognised format
 * without a driver is refused with -ENOTSUP, anything else is raw: see
 * block_probed_raw for what that restricts).  The image must be a regular
 * file or a block device; its type is checked before anything is read
 * (the file is opened O_NONBLOCK, so a FIFO cannot hang the open).
 * VHD, VDI and VMDK: docs/block.md "VHD", "VDI", "VMDK" (a differencing
 * VHD opens read-only only: -ENOTSUP otherwise; a streamOptimized VMDK
 * holding data: -EROFS).
 * A qcow2 image's backing chain is opened too (read-only), relative
 * backing paths resolved against the directory of the image that names
 * them; every backing file must be a regular file and must lie, after
 * resolving symlinks, inside the directory of `path` (see block_open_with
 * for the exact rule) or one of its subdirectories, else the open fails
 * with -EPERM and a message naming the image, the name in its header, the
 * resolved path and how to allow it.  Chains that loop or are deeper
 * than 64 are refused.  A read-write open of a qcow2 v3 image whose dirty
 * bit is set rebuilds its refcounts first (qcow2.txt "Header",
 * incompatible feature bit 0); one whose corrupt bit (bit 1) is set is
 * refused with -EIO unless BLOCK_O_CHECK (for repair) or read-only.
 * On success *out owns the device (free with block_close).  On failure a
 * message is written to err (err_len bytes, may be NULL) and one of:
 * -ENOENT/-EACCES/... (open(2) errors), -EINVAL malformed header or
 * metadata, not a regular file or block device, -ENOTSUP unsupported
 * feature or format, -EPERM backing file refused by the rule above,
 * -ELOOP backing chain loops or is too deep, -ENOMEM. */
int block_open(struct block_dev **out, const char *path, unsigned flags,
               enum block_format fmt, char *err, size_t err_len);

/* Where the backing files of an image may come from (docs/block.md
 * "Backing files").  A backing file named by an image header must be a
 * regular file (never a device, FIFO, socket or directory) whose real
 * path (symlinks resolved) lies inside one of:
 *  - the directory of the home image, as named (its symlinks resolved);
 *  - the directory the home image file really is in (if it is a symlink);
 *  - backing_dirs[0..nbacking_dirs), each with symlinks resolved;
 * or a subdirectory of one.  The rule holds for every level of the chain,
 * all measured from the home image.  A file the user names himself (the
 * image opened, the backing file of `vessel img create -b` or
 * `rebase -b`) is opened as a top image and is allowed by being named. */
struct block_open_opts {
    const char *const *backing_dirs; /* borrowed for the call; may be NULL */
    unsigned nbacking_dirs;
    /* The image whose directory bounds the chain: NULL means `path`
     * itself.  A throwaway overlay (snapshot=on) names the user's disk
     * here, so that the overlay's own directory ($TMPDIR) allows
     * nothing. */
    const char *home_image;
    /* How the user allows a directory, quoted in the refusal, e.g.
     * "--disk FILE,backing-dir=DIR"; NULL: a generic hint. */
    const char *allow_hint;
};

/* block_open with `opts` (NULL: block_open's defaults).  Extra error:
 * -ENOENT (or another realpath errno) when a backing_dirs entry cannot be
 * resolved, with a message naming it. */
int block_open_with(struct block_dev **out, const char *path, unsigned flags,
                    enum block_format fmt, const struct block_open_opts *opts,
                    char *err, size_t err_len);

/* True when the format of bd was probed (BLOCK_FMT_PROBE) and found raw.
 * Such a device, when writable, refuses (-EPERM, from block_pwrite,
 * block_pwritev, block_discard, block_write_zeroes and the asynchronous
 * requests that use them) any write after which its first
 * BLOCK_PROBE_LEN bytes would hold a magic of the probe table, as QEMU
 * does; a write that covers the first sector only in part is judged on
 * the sector as it would be after the write.  The caller should tell the
 * user to give the format explicitly (format=raw), which lifts the
 * restriction. */
bool block_probed_raw(struct block_dev *bd);

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
    uint32_t cluster_size;    /* bytes (qcow2; the block size of a dynamic
                                 VHD or a VDI), 0 for raw */
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
    uint32_t cluster_size;      /* qcow2: 512..2 MiB power of two, 0 = 64 KiB;
                                   vhdx: the block size, 1..256 MiB power of
                                   two, 0 = as qemu-img picks for the size */
    uint32_t version;           /* qcow2: 2 or 3, 0 = 3 */
    uint32_t refcount_bits;     /* qcow2: 1..64 power of two, 0 = 16 */
    bool lazy_refcounts;        /* qcow2 v3 compatible feature bit 0 */
    const char *backing_file;   /* stored as given; NULL = none */
    const char *backing_format; /* "raw"/"qcow2"; NULL = probe */
    /* vpc, vhdx: "dynamic" (NULL) or "fixed"; vdi: "dynamic" (NULL) or "static"
     * (qemu-img's names).  Others: must be NULL. */
    const char *subformat;
};

/* Create a new image file at `path` (truncating an existing file).  A VHD
 * gets the CHS geometry that holds the size and its virtual size is
 * rounded up to it, as qemu-img does (docs/block.md "VHD").  A new
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
 * Image locks and file identity, for commands that write files they do
 * not open as images (docs/block.md "Image locking").
 */

/* Take the image locks of a writer (`write`) or of a reader on the
 * existing file at `path` without opening it as an image, e.g. before
 * `vessel img create` or `convert` overwrite it.  On success *fd is a
 * descriptor holding the locks (free with block_unlock_file).  Errors
 * (message in err): -ENOENT and other open(2) errors, -EINVAL not a
 * regular file or block device (a FIFO is never waited on), -EBUSY the
 * file is in use by a conflicting opener (as BLOCK_O_LOCK). */
int block_lock_file(const char *path, bool write, int *fd, char *err,
                    size_t err_len);

/* Drop the locks taken by block_lock_file (closes fd; -1 is a no-op). */
void block_unlock_file(int fd);

/* Whether the file at `path` (following symlinks; hard links count) is
 * the open image bd or one of the images of its open backing chain, by
 * device and inode number.  Returns n >= 1 when it is the n-th image of
 * the chain (1: bd itself, 2: its backing file, ...) and sets *member (may
 * be NULL; borrowed from bd) to that image's file name; 0 when not (or
 * when path does not exist); -errno when path cannot be looked at.  Not
 * while a rebase of bd is running. */
int block_chain_find(struct block_dev *bd, const char *path,
                     const char **member);

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
 * on `report` (may be NULL) one per line.  VHD, VDI and VMDK images get
 * their own checks (docs/block.md "VHD", "VDI", "VMDK"; clusters are their
 * blocks or grains) and cannot be repaired (-ENOTSUP).  Errors: -ENOMEM,
 * -EIO, -EROFS (repair on a read-only device). */
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

/* Freeze the writable open image bd under a new qcow2 overlay, in place
 * (docs/snapshot.md "Disks"): bd's image is flushed, a new qcow2 image is
 * created at `path` (which must not exist: -EEXIST) with bd's virtual
 * size, backing file `backing_name` (stored as given: the caller makes it
 * name bd's image relative to path's directory) and bd's format as
 * backing format, and bd becomes that overlay: the struct the caller
 * holds is now the overlay (opened read-write with `flags`' BLOCK_O_LOCK
 * and BLOCK_O_DIRECT), and the former image is its backing image, kept
 * open read-only (its write lock downgraded to a shared read lock without
 * a moment unlocked).  Requests in flight on bd must have completed
 * (block_aio_drain); later ones go to the overlay.  On failure the file
 * at path is removed and bd is unchanged; the message is in err.
 * Errors: -EROFS bd is read-only, -EEXIST path exists, -ENOMEM, host
 * errno (create, flush).  Any thread; bd's lock is held throughout. */
int block_overlay_push(struct block_dev *bd, const char *path,
                       const char *backing_name, unsigned flags, char *err,
                       size_t elen);

/* Undo block_overlay_push on bd (no request in flight): bd is its former
 * image again, writable and write-locked, and the overlay file is closed
 * and removed (with whatever was written to it).  Errors: -EINVAL bd is not a
 * qcow2 image over a read-only one, -EBUSY another process
 * opened the frozen image meanwhile (then bd stays on the overlay),
 * -ENOMEM. */
int block_overlay_pop(struct block_dev *bd, char *err, size_t elen);

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
