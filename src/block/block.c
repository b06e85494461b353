/* block: opening images, format probing, the locked public I/O entry
 * points that dispatch to the format drivers. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block_int.h"
#include "block/qcow2.h"
#include "util/util.h"

int block_seterr(struct block_dev *bd, int ret, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(bd->err, sizeof(bd->err), fmt, ap);
    va_end(ap);
    return ret;
}

int block_errbuf(char *err, size_t len, int ret, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return ret;
}

const char *block_format_name(enum block_format fmt)
{
    switch (fmt) {
    case BLOCK_FMT_RAW: return "raw";
    case BLOCK_FMT_QCOW2: return "qcow2";
    case BLOCK_FMT_VPC: return "vpc";
    case BLOCK_FMT_VDI: return "vdi";
    case BLOCK_FMT_VMDK: return "vmdk";
    case BLOCK_FMT_VHDX: return "vhdx";
    default: return "probe";
    }
}

enum block_format block_format_by_name(const char *name)
{
    static const enum block_format all[] = { BLOCK_FMT_RAW, BLOCK_FMT_QCOW2,
                                             BLOCK_FMT_VPC, BLOCK_FMT_VDI,
                                             BLOCK_FMT_VMDK, BLOCK_FMT_VHDX };
    for (size_t i = 0; i < ARRAY_SIZE(all); i++)
        if (!strcmp(name, block_format_name(all[i])))
            return all[i];
    return BLOCK_FMT_PROBE;
}

int block_open_internal(struct block_dev **out, const char *path,
                        unsigned flags, enum block_format fmt,
                        struct block_open_ctx *ctx, char *err, size_t elen)
{
    *out = NULL;
    bool ro = flags & BLOCK_O_RDONLY;
    bool direct = flags & BLOCK_O_DIRECT;
    struct stat st;
    int fd = block_open_file(path, flags, ctx, &st, err, elen);
    if (fd < 0)
        return fd;
    struct host_file hf = { .fd = fd };
    if (direct && host_file_direct_align(fd, &hf.align) < 0) {
        close(fd);
        return block_errbuf(err, elen, -EINVAL, "%s: the host filesystem cannot do "
                            "direct I/O on this file (cache=none); use "
                            "cache=writeback", path);
    }
    if (flags & BLOCK_O_LOCK) {
        int r = block_lock_fd(fd, path, !ro, err, elen);
        if (r < 0) {
            close(fd);
            return r;
        }
    }
    for (unsigned i = 0; i < ctx->depth; i++) {
        if (ctx->dev[i] == (uint64_t)st.st_dev &&
            ctx->ino[i] == (uint64_t)st.st_ino) {
            close(fd);
            return block_errbuf(err, elen, -ELOOP,
                                "%s: backing chain loops back to this image",
                                path);
        }
    }
    if (ctx->depth >= 64) {
        close(fd);
        return block_errbuf(err, elen, -ELOOP,
                            "%s: backing chain deeper than 64 images", path);
    }
    ctx->dev[ctx->depth] = (uint64_t)st.st_dev;
    ctx->ino[ctx->depth] = (uint64_t)st.st_ino;
    ctx->depth++;

    bool probed = fmt == BLOCK_FMT_PROBE;
    if (probed) {
        uint8_t sec[BLOCK_PROBE_LEN];
        int r = host_pread(&hf, 0, sec, sizeof(sec), true);
        if (r < 0) {
            close(fd);
            ctx->depth--;
            return block_errbuf(err, elen, r, "%s: read: %s", path,
                                strerror(-r));
        }
        const struct block_magic *m = block_probe_header(sec);
        if (m && m->fmt == BLOCK_FMT_PROBE) {
            close(fd);
            ctx->depth--;
            return block_errbuf(err, elen, -ENOTSUP, "%s: a %s image, a format "
                                "Vessel cannot open yet (accepted: raw, qcow2, vpc, vdi, vhdx, vmdk "
                                "sparse); give "
                                "format=raw to use the file itself as a raw disk",
                                path, m->name);
        }
        fmt = m ? m->fmt : BLOCK_FMT_RAW;
    }

    struct block_dev *bd = calloc(1, sizeof(*bd));
    if (!bd || !(bd->filename = strdup(path))) {
        free(bd);
        close(fd);
        ctx->depth--;
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", path);
    }
    pthread_mutex_init(&bd->lock, NULL);
    bd->file = hf;
    bd->read_only = ro;
    bd->unsafe = flags & BLOCK_O_UNSAFE;
    bd->locked = (flags & BLOCK_O_LOCK) != 0;
    bd->probed_raw = probed && fmt == BLOCK_FMT_RAW;
    int r;
    if (fmt == BLOCK_FMT_QCOW2) {
        bd->drv = &block_qcow2_driver;
        r = qcow2_open(bd, flags, ctx, err, elen);
    } else if (fmt == BLOCK_FMT_VPC) {
        bd->drv = &block_vhd_driver;
        r = vhd_open(bd, flags, ctx, err, elen);
    } else if (fmt == BLOCK_FMT_VDI) {
        bd->drv = &block_vdi_driver;
        r = vdi_open(bd, flags, err, elen);
    } else if (fmt == BLOCK_FMT_VHDX) {
        bd->drv = &block_vhdx_driver;
        r = vhdx_open(bd, flags, err, elen);
    } else if (fmt == BLOCK_FMT_VMDK) {
        bd->drv = &block_vmdk_driver;
        r = vmdk_open(bd, flags, ctx, err, elen);
    } else {
        bd->drv = &block_raw_driver;
        r = raw_open(bd, err, elen);
    }
    ctx->depth--;
    if (r < 0) {
        close(fd);
        pthread_mutex_destroy(&bd->lock);
        free(bd->filename);
        free(bd);
        return r;
    }
    *out = bd;
    return 0;
}

int block_open_with(struct block_dev **out, const char *path, unsigned flags,
                    enum block_format fmt, const struct block_open_opts *opts,
                    char *err, size_t err_len)
{
    struct block_open_ctx ctx;
    *out = NULL;
    if (err && err_len)
        err[0] = 0;
    int r = block_ctx_init(&ctx, path, opts, err, err_len);
    if (r < 0)
        return r;
    r = block_open_internal(out, path, flags, fmt, &ctx, err, err_len);
    block_ctx_free(&ctx);
    return r;
}

int block_open(struct block_dev **out, const char *path, unsigned flags,
               enum block_format fmt, char *err, size_t err_len)
{
    return block_open_with(out, path, flags, fmt, NULL, err, err_len);
}

void block_close(struct block_dev *bd)
{
    if (!bd)
        return;
    if (bd->aio)
        block_aio_destroy(bd->aio);
    if (bd->drv->close)
        bd->drv->close(bd);
    block_close(bd->backing);
    close(bd->file.fd);
    pthread_mutex_destroy(&bd->lock);
    free(bd->filename);
    free(bd);
}

const char *block_last_error(struct block_dev *bd)
{
    return bd->err;
}

uint64_t block_length(struct block_dev *bd)
{
    pthread_mutex_lock(&bd->lock);
    uint64_t s = bd->size;
    pthread_mutex_unlock(&bd->lock);
    return s;
}

enum block_format block_format(struct block_dev *bd)
{
    return bd->drv->fmt;
}

static int check_range(struct block_dev *bd, uint64_t off, uint64_t len,
                       bool write)
{
    if (write && bd->read_only)
        return block_seterr(bd, -EROFS, "%s: image is opened read-only",
                            bd->filename);
    if (off > bd->size || len > bd->size - off)
        return block_seterr(bd, -EINVAL,
                            "%s: request [%llu, +%llu) is outside the disk "
                            "(virtual size %llu bytes)", bd->filename,
                            (unsigned long long)off, (unsigned long long)len,
                            (unsigned long long)bd->size);
    return 0;
}

int block_pread(struct block_dev *bd, uint64_t off, void *buf, size_t len)
{
    pthread_mutex_lock(&bd->lock);
    int r = check_range(bd, off, len, false);
    if (!r && len)
        r = bd->drv->pread(bd, off, buf, len);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_pwrite(struct block_dev *bd, uint64_t off, const void *buf,
                 size_t len)
{
    pthread_mutex_lock(&bd->lock);
    int r = check_range(bd, off, len, true);
    if (!r && len) {
        struct iovec v = { (void *)buf, len };
        r = block_guard_header(bd, off, &v, 1, len);
    }
    if (!r && len)
        r = bd->drv->pwrite(bd, off, buf, len);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

static bool iov_adds_up(const struct iovec *iov, int iovcnt, size_t len)
{
    size_t t = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > len - t)
            return false;
        t += iov[i].iov_len;
    }
    return iovcnt >= 0 && t == len;
}

int block_preadv(struct block_dev *bd, uint64_t off, const struct iovec *iov,
                 int iovcnt, size_t len)
{
    if (!iov_adds_up(iov, iovcnt, len))
        return -EINVAL;
    pthread_mutex_lock(&bd->lock);
    int r = check_range(bd, off, len, false);
    if (!r && len) {
        if (bd->drv->preadv) {
            r = bd->drv->preadv(bd, off, iov, iovcnt, len);
        } else {
            uint8_t *tmp = malloc(len);
            r = tmp ? bd->drv->pread(bd, off, tmp, len) : -ENOMEM;
            for (int i = 0, at = 0; !r && i < iovcnt; at += (int)iov[i].iov_len, i++)
                memcpy(iov[i].iov_base, tmp + at, iov[i].iov_len);
            free(tmp);
        }
    }
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_pwritev(struct block_dev *bd, uint64_t off, const struct iovec *iov,
                  int iovcnt, size_t len)
{
    if (!iov_adds_up(iov, iovcnt, len))
        return -EINVAL;
    pthread_mutex_lock(&bd->lock);
    int r = check_range(bd, off, len, true);
    if (!r && len)
        r = block_guard_header(bd, off, iov, iovcnt, len);
    if (!r && len) {
        if (bd->drv->pwritev) {
            r = bd->drv->pwritev(bd, off, iov, iovcnt, len);
        } else {
            uint8_t *tmp = malloc(len);
            if (!tmp) {
                r = -ENOMEM;
            } else {
                size_t at = 0;
                for (int i = 0; i < iovcnt; at += iov[i].iov_len, i++)
                    memcpy(tmp + at, iov[i].iov_base, iov[i].iov_len);
                r = bd->drv->pwrite(bd, off, tmp, len);
                free(tmp);
            }
        }
    }
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_discard(struct block_dev *bd, uint64_t off, uint64_t len)
{
    pthread_mutex_lock(&bd->lock);
    int r = check_range(bd, off, len, true);
    if (!r && len)   /* zeros may complete a magic too */
        r = block_guard_header(bd, off, NULL, 0, (size_t)MIN(len, (uint64_t)BLOCK_PROBE_LEN));
    if (!r && len)
        r = bd->drv->discard(bd, off, len);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len)
{
    pthread_mutex_lock(&bd->lock);
    int r = check_range(bd, off, len, true);
    if (!r && len)   /* zeros may complete a magic too */
        r = block_guard_header(bd, off, NULL, 0, (size_t)MIN(len, (uint64_t)BLOCK_PROBE_LEN));
    if (!r && len)
        r = bd->drv->write_zeroes(bd, off, len);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_flush(struct block_dev *bd)
{
    if (bd->read_only)
        return 0;
    pthread_mutex_lock(&bd->lock);
    int r = bd->drv->flush(bd);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_get_status(struct block_dev *bd, uint64_t off, uint64_t len,
                     bool chain, uint64_t *pnum)
{
    pthread_mutex_lock(&bd->lock);
    int r = check_range(bd, off, len, false);
    if (!r && !len)
        r = -EINVAL;
    if (!r)
        r = bd->drv->status(bd, off, len, pnum);
    struct block_dev *b = bd->backing;
    uint64_t bsize = bd->size;
    pthread_mutex_unlock(&bd->lock);
    if (r == BLOCK_STATUS_UNALLOCATED && chain) {
        if (!b) {
            return BLOCK_STATUS_ZERO;
        }
        uint64_t blen = block_length(b);
        (void)bsize;
        if (off >= blen)
            return BLOCK_STATUS_ZERO;
        uint64_t n = MIN(*pnum, blen - off), m;
        r = block_get_status(b, off, n, true, &m);
        if (r >= 0)
            *pnum = m;
    }
    return r;
}

int block_truncate(struct block_dev *bd, uint64_t size)
{
    pthread_mutex_lock(&bd->lock);
    int r = 0;
    if (bd->read_only)
        r = block_seterr(bd, -EROFS, "%s: image is opened read-only",
                         bd->filename);
    else if (size % 512)
        r = block_seterr(bd, -EINVAL, "%s: size %llu is not a multiple of "
                         "512 bytes", bd->filename, (unsigned long long)size);
    else
        r = bd->drv->truncate(bd, size);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_read_backing(struct block_dev *bd, uint64_t off, void *buf,
                       size_t len)
{
    struct block_dev *b = bd->backing;
    uint64_t blen = b ? block_length(b) : 0;
    size_t n = 0;
    if (b && off < blen) {
        n = (size_t)MIN((uint64_t)len, blen - off);
        int r = block_pread(b, off, buf, n);
        if (r < 0)
            return block_seterr(bd, r, "%s: backing file: %s", bd->filename,
                                block_last_error(b));
    }
    memset((uint8_t *)buf + n, 0, len - n);
    return 0;
}

int block_get_info(struct block_dev *bd, struct block_info *info)
{
    memset(info, 0, sizeof(*info));
    info->format = bd->drv->fmt;
    info->virtual_size = block_length(bd);
    struct stat st;
    if (fstat(bd->file.fd, &st) == 0)
        info->actual_size = (uint64_t)st.st_blocks * 512;
    if (bd->drv->fmt == BLOCK_FMT_QCOW2) {
        pthread_mutex_lock(&bd->lock);
        int r = qcow2_get_info(bd, info);
        pthread_mutex_unlock(&bd->lock);
        return r;
    }
    if (bd->drv->info) {
        pthread_mutex_lock(&bd->lock);
        int r = bd->drv->info(bd, info);
        pthread_mutex_unlock(&bd->lock);
        return r;
    }
    return 0;
}

void block_info_free(struct block_info *info)
{
    free(info->snapshots);
    info->snapshots = NULL;
}

int block_create(const char *path, const struct block_create_opts *opts,
                 char *err, size_t err_len)
{
    if (opts->subformat && opts->format != BLOCK_FMT_VPC &&
        opts->format != BLOCK_FMT_VDI && opts->format != BLOCK_FMT_VMDK &&
        opts->format != BLOCK_FMT_VHDX)
        return block_errbuf(err, err_len, -EINVAL, "%s: option subformat is only "
                            "for vpc and vhdx (dynamic, fixed), vdi (dynamic, static) "
                            "and vmdk",
                            path);
    if (opts->format == BLOCK_FMT_RAW) {
        if (opts->backing_file)
            return block_errbuf(err, err_len, -EINVAL,
                                "%s: raw images cannot have a backing file",
                                path);
        /* The size becomes an off_t: refuse what would turn negative. */
        if (opts->size > (uint64_t)INT64_MAX)
            return block_errbuf(err, err_len, -EINVAL, "%s: size %llu is too "
                                "large: a raw image holds at most %lld bytes "
                                "(the largest host file offset)", path,
                                (unsigned long long)opts->size,
                                (long long)INT64_MAX);
        bool created = true;
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno == EEXIST) {
            created = false;
            fd = open(path, O_RDWR | O_CLOEXEC);
        }
        if (fd < 0) {
            int e = errno;
            return block_errbuf(err, err_len, -e, "%s: cannot create: %s",
                                path, strerror(e));
        }
        /* Growing first tells whether the host filesystem can hold the
         * size before an existing file's contents are dropped. */
        struct stat st;
        int r = 0;
        if ((fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
             (uint64_t)st.st_size < opts->size &&
             ftruncate(fd, (off_t)opts->size) < 0) ||
            ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)opts->size) < 0) {
            r = -errno;
            block_errbuf(err, err_len, r, "%s: cannot set the size to %llu "
                         "bytes: %s%s", path, (unsigned long long)opts->size,
                         strerror(-r), r == -EFBIG ? " (larger than the host "
                         "filesystem allows)" : "");
            if (created)
                unlink(path);
        }
        close(fd);
        return r;
    }
    if (opts->format == BLOCK_FMT_VPC)
        return vhd_create(path, opts, err, err_len);
    if (opts->format == BLOCK_FMT_VDI)
        return vdi_create(path, opts, err, err_len);
    if (opts->format == BLOCK_FMT_VHDX)
        return vhdx_create(path, opts, err, err_len);
    if (opts->format == BLOCK_FMT_VMDK)
        return vmdk_create(path, opts, err, err_len);
    return qcow2_create(path, opts, err, err_len);
}

int block_flush_file(struct block_dev *bd)
{
    if (fdatasync(bd->file.fd) < 0)
        return block_seterr(bd, -errno, "%s: flush: %s", bd->filename,
                            strerror(errno));
    return 0;
}

void block_check_fault(FILE *report, char *err, size_t elen, int *n, const char *fmt, ...)
{
    char msg[BLOCK_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (report && *n < 1000)   /* a hostile map must not flood the report */
        fprintf(report, "ERROR %s\n", msg);
    if (!*n && err && elen)
        snprintf(err, elen, "%s", msg);
    (*n)++;
}
