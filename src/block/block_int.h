/* block: internals shared by the format drivers (not a public API). */
#ifndef VESSEL_BLOCK_INT_H
#define VESSEL_BLOCK_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "block/block.h"

struct block_dev;
struct block_aio;

/* The host file behind an image (hostio.c).  align = 0: buffered I/O.
 * Else the fd is O_DIRECT (cache=none) and the kernel takes only transfers
 * whose offset, length and memory are multiples of `align` bytes; the
 * host_* helpers bounce the others through an aligned buffer (a write
 * reads the partial blocks at its ends first, so callers must keep other
 * writers of the same blocks out: bd->lock does). */
struct host_file {
    int fd;
    unsigned align;   /* bytes, a power of two >= 512, or 0 */
};

struct block_driver {
    enum block_format fmt;
    /* All called with bd->lock held; ranges already checked. */
    int (*pread)(struct block_dev *bd, uint64_t off, void *buf, size_t len);
    int (*pwrite)(struct block_dev *bd, uint64_t off, const void *buf,
                  size_t len);
    /* Optional vectored forms (else block.c bounces through pread/pwrite). */
    int (*preadv)(struct block_dev *bd, uint64_t off, const struct iovec *iov,
                  int iovcnt, size_t len);
    int (*pwritev)(struct block_dev *bd, uint64_t off, const struct iovec *iov,
                   int iovcnt, size_t len);
    int (*discard)(struct block_dev *bd, uint64_t off, uint64_t len);
    int (*write_zeroes)(struct block_dev *bd, uint64_t off, uint64_t len);
    int (*flush)(struct block_dev *bd);
    int (*status)(struct block_dev *bd, uint64_t off, uint64_t len,
                  uint64_t *pnum);
    int (*truncate)(struct block_dev *bd, uint64_t size);
    void (*close)(struct block_dev *bd);
    /* Optional: the format's fields of block_get_info (info is zeroed and
     * holds format, sizes) and its block_check (repair false, or -ENOTSUP
     * when the driver cannot repair). */
    int (*info)(struct block_dev *bd, struct block_info *info);
    int (*check)(struct block_dev *bd, bool repair,
                 struct block_check_result *res, FILE *report);
};

struct block_dev {
    pthread_mutex_t lock;
    const struct block_driver *drv;
    char *filename;
    struct host_file file;
    bool read_only;
    bool unsafe;                 /* BLOCK_O_UNSAFE: no ordering syncs */
    bool probed_raw;             /* format probed and found raw: the first
                                    sector is guarded (block_probed_raw) */
    bool locked;                 /* opened with BLOCK_O_LOCK */
    uint64_t size;               /* virtual size, bytes */
    struct block_dev *backing;   /* owned */
    void *opaque;                /* driver state */
    struct block_aio *aio;       /* owned, lazily created */
    char err[BLOCK_ERR_LEN];
};

/* Record an error message on bd and return `ret` (a negative errno). */
int block_seterr(struct block_dev *bd, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same for an error buffer (may be NULL). */
int block_errbuf(char *err, size_t len, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The direct-I/O alignment (bytes) of O_DIRECT file `fd` (statx
 * STATX_DIOALIGN, else 4096).  Returns 0, or -EOPNOTSUPP if the file
 * cannot do direct I/O. */
int host_file_direct_align(int fd, unsigned *align);
/* Full pread/pwrite at byte offset `off`: -EIO on a short transfer (pread
 * past EOF zero-fills when `zero_eof`), else 0 or -errno. */
int host_pread(const struct host_file *f, uint64_t off, void *buf, size_t len, bool zero_eof);
int host_pwrite(const struct host_file *f, uint64_t off, const void *buf, size_t len);
/* preadv/pwritev until done (retrying short transfers); reads past EOF
 * read zeros.  Return 0 or -errno. */
int host_preadv(const struct host_file *f, uint64_t off, const struct iovec *iov, int iovcnt);
int host_pwritev(const struct host_file *f, uint64_t off, const struct iovec *iov, int iovcnt);

/* Open-time context: the chain of (dev, ino) pairs already open, to refuse
 * loops; and the directories backing files may come from (openfile.c). */
struct block_open_ctx {
    unsigned depth;
    uint64_t dev[65], ino[65];
    char **dirs;               /* owned, real paths; NULL before the first */
    unsigned ndirs;
    const char *allow_hint;    /* borrowed from block_open_opts */
};

/* openfile.c.  Fill ctx's directories for opening `path` with opts (may
 * be NULL); free them with block_ctx_free.  0, or -errno with a message
 * when a backing directory cannot be resolved. */
int block_ctx_init(struct block_open_ctx *ctx, const char *path,
                   const struct block_open_opts *opts, char *err, size_t elen);
void block_ctx_free(struct block_open_ctx *ctx);
/* Open the host file of an image: at depth 0 a regular file or block
 * device, deeper (a backing file) a regular file inside ctx's directories.
 * The type is checked with stat before the open and again on the open fd,
 * which is opened O_NONBLOCK (a FIFO cannot block) and switched back to
 * blocking.  Returns the fd (*st filled), or -errno with a message. */
int block_open_file(const char *path, unsigned flags,
                    const struct block_open_ctx *ctx, struct stat *st,
                    char *err, size_t elen);

/* probe.c.  Under bd->lock, for a write of `len` bytes at `off` whose data
 * is iov[0..iovcnt) (iov NULL: zeros): -EPERM with a message if bd is
 * probed raw and the first sector would hold a recognised header after
 * the write, else 0 (or a read error). */
int block_guard_header(struct block_dev *bd, uint64_t off,
                       const struct iovec *iov, int iovcnt, size_t len);

/* lock.c: take QEMU's image locks on the open image file `fd` (path for
 * messages): with `write`, those of a writer that lets others only read
 * (consistent read, write and resize taken; write and resize not
 * shared); else those of a reader that lets others only read (consistent
 * read taken; write and resize not shared).  The locks live as long as
 * the open file description.  Errors (message in err): -EBUSY another
 * opener conflicts (the message names the permission, the lock byte and
 * the holding process when /proc shows it), other -errno from fcntl. */
int block_lock_fd(int fd, const char *path, bool write, char *err, size_t elen);
/* lock.c: turn the locks block_lock_fd(write = true) took on fd into
 * those of block_lock_fd(write = false) without a moment unlocked (the
 * reader's bytes are a subset of the writer's: only bytes are dropped, so
 * this cannot conflict and cannot fail). */
void block_lock_downgrade(int fd);

/* qcow2.c: point the driver state of bd back at bd (its struct was moved
 * to another address by block_overlay_push/pop). */
void qcow2_rebind(struct block_dev *bd);

int block_open_internal(struct block_dev **out, const char *path,
                        unsigned flags, enum block_format fmt,
                        struct block_open_ctx *ctx, char *err, size_t elen);

/* The format a backing format name (as qcow2 headers and qemu-img store
 * it: "raw", "qcow2", "vpc", "vdi", "vmdk") names, or BLOCK_FMT_PROBE when none
 * (block.c). */
enum block_format block_format_by_name(const char *name);

/* The flush of a driver whose image is one file and whose metadata is
 * written in place: fdatasync of bd->file.  0 or -errno (message in bd). */
int block_flush_file(struct block_dev *bd);

/* One fault found by a driver's check: printed as "ERROR <msg>" on
 * report (at most 1000 of them: a hostile map must not flood it), the
 * first one copied into err (elen bytes); *n counts them all. */
void block_check_fault(FILE *report, char *err, size_t elen, int *n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Driver entry points. */
extern const struct block_driver block_raw_driver;
extern const struct block_driver block_qcow2_driver;
int raw_open(struct block_dev *bd, char *err, size_t elen);
int qcow2_open(struct block_dev *bd, unsigned flags,
               struct block_open_ctx *ctx, char *err, size_t elen);
int qcow2_create(const char *path, const struct block_create_opts *o,
                 char *err, size_t elen);
int qcow2_get_info(struct block_dev *bd, struct block_info *info);
/* vhd.c, vhd_create.c (docs/block.md "VHD") */
extern const struct block_driver block_vhd_driver;
int vhd_open(struct block_dev *bd, unsigned flags, struct block_open_ctx *ctx,
             char *err, size_t elen);
int vhd_create(const char *path, const struct block_create_opts *o,
               char *err, size_t elen);
/* vdi.c (docs/block.md "VDI") */
extern const struct block_driver block_vdi_driver;
int vdi_open(struct block_dev *bd, unsigned flags, char *err, size_t elen);
int vdi_create(const char *path, const struct block_create_opts *o,
               char *err, size_t elen);
/* vhdx.c, vhdx_meta.c, vhdx_log.c (docs/block.md "VHDX"): open replays
 * a dirty log (into memory when read-only) */
extern const struct block_driver block_vhdx_driver;
int vhdx_open(struct block_dev *bd, unsigned flags, char *err, size_t elen);
int vhdx_create(const char *path, const struct block_create_opts *o,
                char *err, size_t elen);
/* vmdk*.c (docs/block.md "VMDK"): monolithicSparse, streamOptimized
 * (append-only writes), descriptor files with FLAT, SPARSE and ZERO
 * extents */
extern const struct block_driver block_vmdk_driver;
int vmdk_open(struct block_dev *bd, unsigned flags, struct block_open_ctx *ctx,
              char *err, size_t elen);
int vmdk_create(const char *path, const struct block_create_opts *o,
                char *err, size_t elen);
/* Make [off, off+len) of the host file read as zeros: punch a hole, else
 * write zeros (hostio.c).  0 or -errno (no message). */
int host_zero_range(const struct host_file *f, uint64_t off, uint64_t len);

/* aio.c */
void block_aio_destroy(struct block_aio *aio);

/* Read from the backing chain for a qcow2 unallocated range: zeros past
 * the backing file's end or without backing file. */
int block_read_backing(struct block_dev *bd, uint64_t off, void *buf,
                       size_t len);

#endif
