/* The body shared by the VHD and VDI fuzz targets (fuzz_vhd.c,
 * fuzz_vdi.c): the input is an image file.  It is opened read-only
 * (without a parent), read at a few places, its block status walked, its
 * info taken and checked; then opened read-write, and a few writes and
 * zeroings land at places the input's last bytes choose and are read
 * back.  Every path must end in a clean error, never a crash, a leak or
 * an out-of-bounds access. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_read_all(struct block_dev *bd, const uint8_t *data, size_t size)
{
    static uint8_t buf[1 << 17];
    uint64_t len = block_length(bd);
    uint64_t offs[4] = { 0, len / 2, len > 4096 ? len - 4096 : 0,
                         size > 8 ? (uint64_t)data[size - 1] << 12 : 0 };
    for (int i = 0; i < 4; i++) {
        uint64_t o = offs[i] % (len ? len : 1);
        uint64_t n = len - o < sizeof(buf) ? len - o : sizeof(buf);
        if (n)
            block_pread(bd, o, buf, (size_t)n);
    }
    uint64_t off = 0, pnum;
    for (int i = 0; i < 64 && off < len; i++) {
        if (block_get_status(bd, off, len - off, false, &pnum) < 0)
            break;
        off += pnum;
    }
}

static int fuzz_vdisk(const uint8_t *data, size_t size, enum block_format fmt)
{
    int fd = memfd_create("fuzz.img", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct block_dev *bd;
    char err[BLOCK_ERR_LEN];
    if (block_open(&bd, path, BLOCK_O_RDONLY | BLOCK_O_NO_BACKING | BLOCK_O_CHECK,
                   fmt, err, sizeof(err)) == 0) {
        fuzz_read_all(bd, data, size);
        struct block_info info;
        if (block_get_info(bd, &info) == 0)
            block_info_free(&info);
        struct block_check_result res;
        block_check(bd, false, &res, NULL);
        block_close(bd);
    }
    if (block_open(&bd, path, BLOCK_O_NO_BACKING, fmt, err, sizeof(err)) == 0) {
        uint64_t len = block_length(bd);
        uint8_t pat[3000];
        memset(pat, 0xa5, sizeof(pat));
        for (size_t i = 0; len && i < 3 && size > 16; i++) {
            uint64_t o = ((uint64_t)data[size - 2 - i] << 16 |
                          (uint64_t)data[size - 5 - i] << 9) % len;
            size_t n = (size_t)(len - o < sizeof(pat) ? len - o : sizeof(pat));
            if (i == 2)
                block_write_zeroes(bd, o, n);
            else
                block_pwrite(bd, o, pat, n);
        }
        fuzz_read_all(bd, data, size);
        block_close(bd);
    }
    close(fd);
    return 0;
}
