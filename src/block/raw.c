/* block: the raw format driver, the virtual disk is the host file. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block_int.h"
#include "util/util.h"

int raw_open(struct block_dev *bd, char *err, size_t elen)
{
    off_t end = lseek(bd->file.fd, 0, SEEK_END);
    if (end < 0) {
        int e = errno;
        return block_errbuf(err, elen, -e, "%s: cannot find size: %s",
                            bd->filename, strerror(e));
    }
    bd->size = (uint64_t)end;
    return 0;
}

static int raw_pread(struct block_dev *bd, uint64_t off, void *buf,
                     size_t len)
{
    int r = host_pread(&bd->file, off, buf, len, true);
    if (r < 0)
        return block_seterr(bd, r, "%s: read at %llu: %s", bd->filename,
                            (unsigned long long)off, strerror(-r));
    return 0;
}

static int raw_pwrite(struct block_dev *bd, uint64_t off, const void *buf,
                      size_t len)
{
    int r = host_pwrite(&bd->file, off, buf, len);
    if (r < 0)
        return block_seterr(bd, r, "%s: write at %llu: %s", bd->filename,
                            (unsigned long long)off, strerror(-r));
    return 0;
}

static int raw_preadv(struct block_dev *bd, uint64_t off, const struct iovec *iov,
                      int iovcnt, size_t len)
{
    int r = host_preadv(&bd->file, off, iov, iovcnt);
    if (r < 0)
        return block_seterr(bd, r, "%s: read of %zu bytes at %llu: %s", bd->filename,
                            len, (unsigned long long)off, strerror(-r));
    return 0;
}

static int raw_pwritev(struct block_dev *bd, uint64_t off, const struct iovec *iov,
                       int iovcnt, size_t len)
{
    int r = host_pwritev(&bd->file, off, iov, iovcnt);
    if (r < 0)
        return block_seterr(bd, r, "%s: write of %zu bytes at %llu: %s", bd->filename,
                            len, (unsigned long long)off, strerror(-r));
    return 0;
}

static int raw_zero(struct block_dev *bd, uint64_t off, uint64_t len)
{
    if (fallocate(bd->file.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  (off_t)off, (off_t)len) == 0)
        return 0;
    /* No hole punching here: write zeros. */
    static const uint8_t zeros[65536];
    while (len) {
        size_t n = (size_t)MIN(len, sizeof(zeros));
        int r = raw_pwrite(bd, off, zeros, n);
        if (r < 0)
            return r;
        off += n; len -= n;
    }
    return 0;
}

static int raw_status(struct block_dev *bd, uint64_t off, uint64_t len,
                      uint64_t *pnum)
{
    off_t d = lseek(bd->file.fd, (off_t)off, SEEK_DATA);
    if (d < 0) {
        if (errno == ENXIO) { /* hole up to the end */
            *pnum = len;
            return BLOCK_STATUS_ZERO;
        }
        *pnum = len;
        return BLOCK_STATUS_DATA;
    }
    if ((uint64_t)d > off) {
        *pnum = MIN(len, (uint64_t)d - off);
        return BLOCK_STATUS_ZERO;
    }
    off_t h = lseek(bd->file.fd, (off_t)off, SEEK_HOLE);
    if (h < 0 || (uint64_t)h <= off)
        *pnum = len;
    else
        *pnum = MIN(len, (uint64_t)h - off);
    return BLOCK_STATUS_DATA;
}

static int raw_truncate(struct block_dev *bd, uint64_t size)
{
    if (size > (uint64_t)INT64_MAX)  /* would be a negative off_t */
        return block_seterr(bd, -EINVAL, "%s: size %llu is too large: a raw "
                            "image holds at most %lld bytes (the largest host "
                            "file offset)", bd->filename,
                            (unsigned long long)size, (long long)INT64_MAX);
    if (ftruncate(bd->file.fd, (off_t)size) < 0)
        return block_seterr(bd, -errno, "%s: resize: %s", bd->filename,
                            strerror(errno));
    bd->size = size;
    return 0;
}

const struct block_driver block_raw_driver = {
    .fmt = BLOCK_FMT_RAW,
    .pread = raw_pread,
    .pwrite = raw_pwrite,
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .discard = raw_zero,
    .write_zeroes = raw_zero,
    .flush = block_flush_file,
    .status = raw_status,
    .truncate = raw_truncate,
};
