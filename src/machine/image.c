/* Raw image loading: the Linux RISC-V Image header
 * (Documentation/riscv/boot-image-header.rst) and copying files (firmware,
 * kernel, initrd) into guest RAM through mem_write(). */
#include "machine/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

/* Header layout (all little-endian). */
#define IMG_CODE0        0
#define IMG_TEXT_OFFSET  8
#define IMG_IMAGE_SIZE   16
#define IMG_FLAGS        24
#define IMG_VERSION      32
#define IMG_MAGIC        48      /* "RISCV\0\0\0", deprecated */
#define IMG_MAGIC2       56      /* "RSC\x05" */

/* What a file that is not a regular one is, for error messages. */
const char *file_type_name(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO (named pipe)";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    default: return "not a regular file";
    }
}

int file_open_regular(const char *path, uint64_t *size, char *err, size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer, forever; a device could block too.  It changes nothing for
     * the regular files accepted below. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return errbuf(err, errlen, -e, "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return errbuf(err, errlen, -e, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return errbuf(err, errlen, -EINVAL, "%s: is %s; expected a regular file", path,
                         file_type_name(st.st_mode));
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

int file_size(const char *path, uint64_t *size, char *err, size_t errlen)
{
    int fd = file_open_regular(path, size, err, errlen);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

int image_probe(const char *path, struct linux_image_info *info, char *err, size_t errlen)
{
    uint64_t size;
    int fd = file_open_regular(path, &size, err, errlen);
    if (fd < 0)
        return fd;
    uint8_t h[IMAGE_HEADER_SIZE];
    ssize_t n = pread(fd, h, sizeof(h), 0);
    close(fd);
    if (n < 0) {
        int e = errno;
        return errbuf(err, errlen, -e, "%s: read failed: %s", path, strerror(e));
    }
    if (n == 0)
        return errbuf(err, errlen, -ENOEXEC,
                         "%s: is empty (0 bytes); expected a RISC-V Linux Image", path);
    if ((size_t)n < sizeof(h))
        return errbuf(err, errlen, -ENOEXEC, "%s: not a RISC-V Linux Image (only %zd "
                         "bytes, the header alone is %d)", path, n, IMAGE_HEADER_SIZE);
    uint32_t magic2 = (uint32_t)le_get(h + IMG_MAGIC2, 4);
    if (magic2 != IMAGE_MAGIC2)
        return errbuf(err, errlen, -ENOEXEC, "%s: not a RISC-V Linux Image (magic2 at "
                         "offset 56 is 0x%08x, expected 0x%08x \"RSC\\x05\"; an ELF vmlinux "
                         "needs --bios or conversion with objcopy -O binary)",
                         path, magic2, IMAGE_MAGIC2);
    info->text_offset = le_get(h + IMG_TEXT_OFFSET, 8);
    info->image_size = le_get(h + IMG_IMAGE_SIZE, 8);
    info->file_size = size;
    if (info->text_offset & (MEM_PAGE_SIZE - 1) || info->text_offset >= (1ULL << 30))
        return errbuf(err, errlen, -ENOEXEC, "%s: RISC-V Image text_offset 0x%llx is not "
                         "a page-aligned offset below 1 GiB", path,
                         (unsigned long long)info->text_offset);
    if (info->image_size >= (1ULL << 40))
        return errbuf(err, errlen, -ENOEXEC,
                         "%s: RISC-V Image image_size 0x%llx is implausible", path,
                         (unsigned long long)info->image_size);
    return 0;
}

int file_load(const char *path, struct mem *m, uint64_t gpa, uint64_t max,
              char *err, size_t errlen)
{
    uint64_t size;
    int fd = file_open_regular(path, &size, err, errlen);
    if (fd < 0)
        return fd;
    int rc = 0;
    if (size > max || !mem_is_ram(m, gpa, size)) {
        rc = errbuf(err, errlen, -EFBIG, "%s: %llu bytes do not fit in guest RAM at "
                       "0x%llx (room: %llu bytes)", path, (unsigned long long)size,
                       (unsigned long long)gpa, (unsigned long long)max);
        goto out;
    }
    uint8_t *buf = malloc(1 << 20);
    if (!buf) {
        rc = errbuf(err, errlen, -ENOMEM, "%s: out of memory", path);
        goto out;
    }
    uint64_t done = 0;
    while (done < size) {
        ssize_t n = pread(fd, buf, (size_t)MIN(size - done, 1ULL << 20), (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            errbuf(err, errlen, rc, "%s: read failed at offset %llu: %s", path,
                      (unsigned long long)done, n < 0 ? strerror(-rc) : "file shrank");
            break;
        }
        if (mem_write(m, gpa + done, buf, (size_t)n)) {
            rc = errbuf(err, errlen, -EFBIG, "%s: cannot write guest RAM at 0x%llx", path,
                           (unsigned long long)(gpa + done));
            break;
        }
        done += (uint64_t)n;
    }
    free(buf);
out:
    close(fd);
    return rc;
}
