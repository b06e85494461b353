/* block: full-length I/O on the host file behind an image, buffered or
 * O_DIRECT (cache=none).
 *
 * With O_DIRECT the kernel takes a transfer only when its file offset,
 * its length and every memory segment are multiples of the file's
 * direct-I/O alignment.  Guest requests come in 512-byte sectors from
 * arbitrary guest pages and qcow2 updates single 8-byte table entries, so
 * whatever is not aligned goes through an aligned bounce buffer, a chunk
 * at a time: reads read the covering blocks, writes read the partial
 * blocks at either end first (read-modify-write).  The format drivers
 * run under bd->lock, so no other request of this process can touch the
 * same blocks in between, and the image lock keeps other processes out. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block_int.h"
#include "util/util.h"

/* Bounce chunk: bounds the memory an unaligned request costs. */
#define BOUNCE_CHUNK (1u << 20)
/* Alignment when the kernel does not report one (STATX_DIOALIGN is from
 * Linux 6.1): no host block device has a larger logical block. */
#define DIO_ALIGN_FALLBACK 4096u

int host_file_direct_align(int fd, unsigned *align)
{
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
        (sx.stx_mask & STATX_DIOALIGN)) {
        if (!sx.stx_dio_offset_align)
            return -EOPNOTSUPP;   /* this file cannot do direct I/O */
        unsigned a = MAX(sx.stx_dio_offset_align, sx.stx_dio_mem_align);
        *align = MAX(a, 512u);
        return 0;
    }
    *align = DIO_ALIGN_FALLBACK;
    return 0;
}

/* ---- buffered (or aligned direct) transfers ---- */

/* With O_DIRECT (align != 0) a short read is the end of the file: the
 * next offset would not be aligned. */
static int plain_pread(int fd, uint64_t off, void *buf, size_t len, bool zero_eof,
                       unsigned align)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (align && r > 0 && (size_t)r < len) {
            p += r; len -= (size_t)r;
            r = 0;
        }
        if (r == 0) {
            if (!zero_eof)
                return -EIO;
            memset(p, 0, len);
            return 0;
        }
        p += r; off += (uint64_t)r; len -= (size_t)r;
    }
    return 0;
}

/* A short O_DIRECT write (a filling disk) may end off the alignment: go on
 * from its last aligned byte, so that the retry is a valid transfer and
 * meets the real error (ENOSPC), not EINVAL.  Returns the bytes to count
 * as done; -EIO after a second round without aligned progress. */
static ssize_t direct_written(ssize_t r, unsigned align, unsigned *stalls)
{
    if (!align || (size_t)r % align == 0)
        return r;
    r -= (ssize_t)((size_t)r % align);
    if (r == 0 && ++*stalls > 1)
        return -EIO;
    return r;
}

static int plain_pwrite(int fd, uint64_t off, const void *buf, size_t len, unsigned align)
{
    const uint8_t *p = buf;
    unsigned stalls = 0;
    while (len) {
        ssize_t r = pwrite(fd, p, len, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        if ((r = direct_written(r, align, &stalls)) < 0)
            return (int)r;
        p += r; off += (uint64_t)r; len -= (size_t)r;
    }
    return 0;
}

/* Vectored transfer loop: works on a private copy of the iovecs so short
 * transfers can advance through them (a short direct read: end of file;
 * a short direct write: see direct_written). */
static int plain_rwv(int fd, uint64_t off, const struct iovec *iov, int iovcnt, bool write,
                     unsigned align)
{
    struct iovec small[64];
    struct iovec *v = iovcnt <= 64 ? small : malloc(sizeof(*v) * (size_t)iovcnt);
    if (!v)
        return -ENOMEM;
    memcpy(v, iov, sizeof(*v) * (size_t)iovcnt);
    struct iovec *cur = v;
    int n = iovcnt, ret = 0;
    unsigned stalls = 0;
    while (n > 0) {
        if (cur->iov_len == 0) {
            cur++; n--;
            continue;
        }
        int cnt = n > IOV_MAX ? IOV_MAX : n;
        ssize_t r = write ? pwritev(fd, cur, cnt, (off_t)off) : preadv(fd, cur, cnt, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            ret = -errno;
            break;
        }
        if (r == 0) {
            if (write) {
                ret = -EIO;
                break;
            }
            for (int i = 0; i < n; i++)   /* past EOF: zeros */
                memset(cur[i].iov_base, 0, cur[i].iov_len);
            break;
        }
        if (write && (r = direct_written(r, align, &stalls)) < 0) {
            ret = (int)r;
            break;
        }
        off += (uint64_t)r;
        bool eof = false;          /* a short direct read */
        if (!write && align) {
            size_t asked = 0;
            for (int i = 0; i < cnt; i++)
                asked += cur[i].iov_len;
            eof = (size_t)r < asked;
        }
        size_t left = (size_t)r;
        while (left && n > 0) {
            size_t k = left < cur->iov_len ? left : cur->iov_len;
            cur->iov_base = (uint8_t *)cur->iov_base + k;
            cur->iov_len -= k;
            left -= k;
            if (cur->iov_len == 0) {
                cur++; n--;
            }
        }
        if (eof) {
            for (int i = 0; i < n; i++)
                memset(cur[i].iov_base, 0, cur[i].iov_len);
            break;
        }
    }
    if (v != small)
        free(v);
    return ret;
}

/* ---- O_DIRECT bounce path ---- */

static bool is_aligned(const struct host_file *f, uint64_t off, const struct iovec *iov,
                       int iovcnt)
{
    uint64_t m = f->align - 1;
    if (off & m)
        return false;
    for (int i = 0; i < iovcnt; i++)
        if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & m)
            return false;
    return true;
}

/* Copy n bytes between b and the iovecs, starting `skip` bytes into them. */
static void iov_xfer(const struct iovec *iov, int iovcnt, size_t skip, uint8_t *b,
                     size_t n, bool to_iov)
{
    for (int i = 0; i < iovcnt && n; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t k = MIN(iov[i].iov_len - skip, n);
        uint8_t *p = (uint8_t *)iov[i].iov_base + skip;
        if (to_iov)
            memcpy(p, b, k);
        else
            memcpy(b, p, k);
        b += k; n -= k; skip = 0;
    }
}

/* Read the aligned range [c, c+n) into b; a short read means end of file:
 * the rest is zeros.  *got = bytes the file had. */
static int aligned_read(int fd, uint64_t c, uint8_t *b, size_t n, size_t *got)
{
    ssize_t r;
    do
        r = pread(fd, b, n, (off_t)c);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    memset(b + r, 0, n - (size_t)r);
    *got = (size_t)r;
    return 0;
}

static int direct_rw(const struct host_file *f, uint64_t off, const struct iovec *iov,
                     int iovcnt, size_t len, bool write, bool zero_eof)
{
    if (!len)
        return 0;
    const uint64_t a = f->align;
    const uint64_t lo = off & ~(a - 1), end = off + len;
    const uint64_t hi = (end + a - 1) & ~(a - 1);
    void *mem;
    if (posix_memalign(&mem, a, (size_t)MIN(hi - lo, (uint64_t)BOUNCE_CHUNK)))
        return -ENOMEM;
    uint8_t *b = mem;
    /* A write whose padded tail passes the end of a regular file would
     * grow it: the file's size is put back afterwards (to the write's end,
     * or to the old size if the write failed).  A block device has no
     * size to put back (st_size is 0). */
    struct stat st;
    bool trim = false;
    if (write && hi != end) {
        if (fstat(f->fd, &st) < 0) {
            free(mem);
            return -errno;
        }
        trim = S_ISREG(st.st_mode) && (uint64_t)st.st_size < hi;
    }
    int r = 0;
    for (uint64_t c = lo; c < hi && !r; ) {
        size_t n = (size_t)MIN(hi - c, (uint64_t)BOUNCE_CHUNK);
        uint64_t ua = MAX(c, off), ub = MIN(c + n, end);   /* the caller's part */
        size_t got;
        if (!write) {
            r = aligned_read(f->fd, c, b, n, &got);
            if (!r && !zero_eof && c + got < ub)
                r = -EIO;
            if (!r)
                iov_xfer(iov, iovcnt, (size_t)(ua - off), b + (ua - c), (size_t)(ub - ua), true);
        } else {
            if (ua != c || ub != c + n) {   /* partial blocks: read them first */
                if (ua != c)
                    r = aligned_read(f->fd, c, b, (size_t)a, &got);
                if (!r && ub != c + n)
                    r = aligned_read(f->fd, c + n - a, b + n - a, (size_t)a, &got);
            }
            if (!r) {
                iov_xfer(iov, iovcnt, (size_t)(ua - off), b + (ua - c), (size_t)(ub - ua), false);
                r = plain_pwrite(f->fd, c, b, n, f->align);
            }
        }
        c += n;
    }
    if (trim && ftruncate(f->fd, r ? st.st_size : (off_t)MAX((uint64_t)st.st_size, end)) < 0 &&
        !r)
        r = -errno;
    free(mem);
    return r;
}

/* ---- entry points ---- */

int host_pread(const struct host_file *f, uint64_t off, void *buf, size_t len, bool zero_eof)
{
    struct iovec v = { buf, len };
    if (f->align && !is_aligned(f, off, &v, 1))
        return direct_rw(f, off, &v, 1, len, false, zero_eof);
    return plain_pread(f->fd, off, buf, len, zero_eof, f->align);
}

int host_pwrite(const struct host_file *f, uint64_t off, const void *buf, size_t len)
{
    struct iovec v = { (void *)buf, len };
    if (f->align && !is_aligned(f, off, &v, 1))
        return direct_rw(f, off, &v, 1, len, true, false);
    return plain_pwrite(f->fd, off, buf, len, f->align);
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
    size_t t = 0;
    for (int i = 0; i < iovcnt; i++)
        t += iov[i].iov_len;
    return t;
}

int host_preadv(const struct host_file *f, uint64_t off, const struct iovec *iov, int iovcnt)
{
    if (f->align && !is_aligned(f, off, iov, iovcnt))
        return direct_rw(f, off, iov, iovcnt, iov_total(iov, iovcnt), false, true);
    return plain_rwv(f->fd, off, iov, iovcnt, false, f->align);
}

int host_pwritev(const struct host_file *f, uint64_t off, const struct iovec *iov, int iovcnt)
{
    if (f->align && !is_aligned(f, off, iov, iovcnt))
        return direct_rw(f, off, iov, iovcnt, iov_total(iov, iovcnt), true, false);
    return plain_rwv(f->fd, off, iov, iovcnt, true, f->align);
}

int host_zero_range(const struct host_file *f, uint64_t off, uint64_t len)
{
    if (!len || fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                          (off_t)off, (off_t)len) == 0)
        return 0;
    /* The host cannot punch holes here: write zeros. */
    static const uint8_t zeros[65536];
    while (len) {
        size_t n = (size_t)MIN(len, (uint64_t)sizeof(zeros));
        int r = host_pwrite(f, off, zeros, n);
        if (r < 0)
            return r;
        off += n;
        len -= n;
    }
    return 0;
}
