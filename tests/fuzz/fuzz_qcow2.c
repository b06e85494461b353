/* libFuzzer target for the qcow2 header and metadata parser: the input is
 * an image file; it is opened read-only (without its backing chain), a few
 * guest ranges are read, block status is walked and the image is checked.
 * Every path must end in a clean error, never a crash or an out-of-bounds
 * access. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.qcow2", MFD_CLOEXEC);
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
    if (block_open(&bd, path, BLOCK_O_RDONLY | BLOCK_O_NO_BACKING,
                   BLOCK_FMT_QCOW2, err, sizeof(err)) == 0) {
        uint64_t len = block_length(bd);
        static uint8_t buf[1 << 17];
        uint64_t offs[4] = { 0, len / 2, len > 4096 ? len - 4096 : 0,
                             size > 8 ? (uint64_t)data[size - 1] << 16 : 0 };
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
        struct block_info info;
        if (block_get_info(bd, &info) == 0)
            block_info_free(&info);
        struct block_check_result res;
        block_check(bd, false, &res, NULL);
        block_close(bd);
    }
    close(fd);
    return 0;
}
