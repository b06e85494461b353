/* libFuzzer target for the VHDX parsers (src/block/vhdx*.c).
 *
 * A VHDX keeps its structures at MiB offsets (MS-VHDX 2.1), so a flat
 * input of a few KiB could never reach past the header checks.  The input
 * is instead a list of fixed-size pieces, each written at its place in a
 * sparse file (the segs table: the file type identifier, both headers,
 * both region tables, the start of the log, the metadata table and items
 * and the BAT at 2 and 3 MiB, where qemu-img and Vessel put them), the
 * rest of the input at 4 MiB (payload).  tests/fuzz/make-vhdx-seeds.py
 * cuts seeds from real images the same way.  Unless the last byte of the
 * first piece has bit 0 set, the header, region table and first log entry
 * checksums are recomputed so that mutations reach the parsers behind
 * them.  The image is then opened read-only (read, status, info, check)
 * and read-write (writes, zeroing, reads): every path must end in a clean
 * error, never a crash, a leak or an out-of-bounds access. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIB (1u << 20)

static const struct { uint32_t off, len; } segs[] = {
    { 0, 512 }, { 64 << 10, 4096 }, { 128 << 10, 4096 }, { 192 << 10, 1024 },
    { 256 << 10, 1024 }, { MIB, 16384 }, { 2 * MIB, 4096 }, { 2 * MIB + (64 << 10), 64 },
    { 3 * MIB, 4096 }, { 3 * MIB + (64 << 10), 64 },
};

/* Recompute the CRC-32C (at +4) of the n bytes at off of the file. */
static void reseal(int fd, uint32_t off, uint32_t n)
{
    uint8_t *b = calloc(1, n);
    if (!b)
        return;
    if (pread(fd, b, n, off) == (ssize_t)n) {
        le_put(b + 4, 0, 4);
        le_put(b + 4, crc32c(0, b, n), 4);
        if (pwrite(fd, b, n, off) != (ssize_t)n)
            abort();
    }
    free(b);
}

static void exercise(struct block_dev *bd, const uint8_t *data, size_t size, bool write)
{
    static uint8_t buf[1 << 17];
    uint64_t len = block_length(bd);
    if (!len)
        return;
    for (size_t i = 0; write && i < 3 && size > 16; i++) {
        uint64_t o = ((uint64_t)data[size - 2 - i] << 24 |
                      (uint64_t)data[size - 5 - i] << 12) % len;
        size_t n = (size_t)MIN(len - o, 3000u);
        memset(buf, 0xa5, n);
        if (i == 2)
            block_write_zeroes(bd, o, n);
        else
            block_pwrite(bd, o, buf, n);
    }
    uint64_t offs[3] = { 0, len / 2, len > 4096 ? len - 4096 : 0 };
    for (int i = 0; i < 3; i++) {
        uint64_t n = MIN(len - offs[i], (uint64_t)sizeof(buf));
        block_pread(bd, offs[i], buf, (size_t)n);
    }
    uint64_t off = 0, pnum;
    for (int i = 0; i < 64 && off < len; i++) {
        if (block_get_status(bd, off, len - off, false, &pnum) < 0 || !pnum)
            break;
        off += pnum;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.vhdx", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t at = 0;
    for (size_t i = 0; i < ARRAY_SIZE(segs) && at < size; i++) {
        size_t n = MIN((size_t)segs[i].len, size - at);
        if (pwrite(fd, data + at, n, segs[i].off) != (ssize_t)n)
            goto out;
        at += n;
    }
    if (at < size && pwrite(fd, data + at, size - at, 4 * MIB) != (ssize_t)(size - at))
        goto out;
    if (ftruncate(fd, 4 * MIB + MAX((off_t)(size - at), (off_t)(2 * MIB))) < 0)
        goto out;
    if (!(size >= 512 && (data[511] & 1))) {
        reseal(fd, 64 << 10, 4096);
        reseal(fd, 128 << 10, 4096);
        reseal(fd, 192 << 10, 64 << 10);
        reseal(fd, 256 << 10, 64 << 10);
        uint8_t h[12];
        if (pread(fd, h, 12, MIB) == 12 && le_get(h + 8, 4) <= 16384 && le_get(h + 8, 4) >= 64)
            reseal(fd, MIB, (uint32_t)le_get(h + 8, 4));
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct block_dev *bd;
    char err[BLOCK_ERR_LEN];
    if (block_open(&bd, path, BLOCK_O_RDONLY | BLOCK_O_CHECK, BLOCK_FMT_VHDX, err,
                   sizeof(err)) == 0) {
        exercise(bd, data, size, false);
        struct block_info info;
        if (block_get_info(bd, &info) == 0)
            block_info_free(&info);
        struct block_check_result res;
        block_check(bd, false, &res, NULL);
        block_close(bd);
    }
    if (block_open(&bd, path, 0, BLOCK_FMT_VHDX, err, sizeof(err)) == 0) {
        exercise(bd, data, size, true);
        block_close(bd);
    }
out:
    close(fd);
    return 0;
}
