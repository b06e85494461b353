/* libFuzzer target for the qcow2 write path on hostile images.
 *
 * Input: a little-endian u16 L, then L bytes of operations, then the image
 * file.  The image is opened read-write (without its backing chain: a
 * hostile image must not name host files for us to open) and the
 * operations are interpreted one after another: guest writes, discards,
 * write-zeroes, reads, snapshot create/apply/delete, resize, check, check
 * with repair, flush, block status, and close + reopen.  Every path must end
 * in success or a clean error: no crash, no leak, no sanitizer report.
 *
 * A second oracle catches false alarms of the metadata overlap checks: an
 * image that opens read-write and checks clean at the start is healthy;
 * no sequence of operations may then make it corrupt (overlap refused,
 * corrupt bit set) or leave check with a corruption.  A violation aborts.
 *
 * Bounds kept so that one input stays fast and small, not to hide bugs:
 * at most 32 operations, requests of at most 128 KiB, sizes of at most
 * 1 GiB, and the sequence ends once the host file has grown past 1 GiB
 * (check's memory is proportional to the host file, by design). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ops {
    const uint8_t *p;
    size_t n, at;
};

static uint64_t get(struct ops *o, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)(o->at < o->n ? o->p[o->at++] : 0) << (8 * i);
    return v;
}

/* The image is healthy: open read-write, not marked corrupt, check finds
 * nothing. */
static bool healthy(struct block_dev *bd)
{
    struct block_info info;
    if (block_get_info(bd, &info) < 0)
        return false;
    bool ok = !info.corrupt && !info.dirty;
    block_info_free(&info);
    struct block_check_result res;
    return ok && block_check(bd, false, &res, NULL) == 0 &&
           !res.corruptions && !res.leaks;
}

static void expect_healthy(struct block_dev *bd, int step, unsigned op)
{
    struct block_info info;
    struct block_check_result res;
    if (!bd || block_get_info(bd, &info) < 0)
        return;
    bool corrupt = info.corrupt;
    block_info_free(&info);
    int r = block_check(bd, false, &res, NULL);
    if (corrupt || r < 0 || res.corruptions) {
        fprintf(stderr, "healthy image damaged at step %d (op %u): corrupt "
                "bit %d, check %d, %llu corruptions: %s\n", step, op,
                corrupt, r, (unsigned long long)res.corruptions,
                block_last_error(bd));
        abort();
    }
}

/* Open read-write; a corrupt image only for check/repair; else
 * read-only. */
static struct block_dev *open_image(const char *path, bool *rw)
{
    static const unsigned tries[] = {
        BLOCK_O_NO_BACKING, BLOCK_O_NO_BACKING | BLOCK_O_CHECK,
        BLOCK_O_NO_BACKING | BLOCK_O_RDONLY,
    };
    char err[BLOCK_ERR_LEN];
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        struct block_dev *bd;
        if (block_open(&bd, path, tries[i], BLOCK_FMT_QCOW2, err,
                       sizeof(err)) == 0) {
            *rw = i == 0;
            return bd;
        }
    }
    *rw = false;
    return NULL;
}

static uint64_t file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t L = (size_t)(data[0] | data[1] << 8);
    if (L > size - 2)
        L = size - 2;
    struct ops o = { data + 2, L, 0 };
    const uint8_t *img = data + 2 + L;
    size_t ilen = size - 2 - L;
    int fd = memfd_create("fuzz-w.qcow2", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, img, ilen) != (ssize_t)ilen) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    bool rw;
    struct block_dev *bd = open_image(path, &rw);
    bool good = bd && rw && file_size(fd) <= (1ull << 30) && healthy(bd);
    static uint8_t buf[128 << 10];
    for (int step = 0; bd && step < 32 && o.at < o.n; step++) {
        unsigned op = (unsigned)get(&o, 1) % 14;
        uint64_t disk = block_length(bd);
        uint64_t off = disk ? ((get(&o, 4) << 9) | get(&o, 2) % 512) % disk
                            : 0;
        uint64_t len = 1 + get(&o, 3) % sizeof(buf);
        if (len > disk - off)
            len = disk - off;
        char name[8];
        snprintf(name, sizeof(name), "s%u", (unsigned)(get(&o, 1) % 4));
        struct block_check_result res;
        uint64_t pnum;
        switch (op) {
        case 0:
            memset(buf, (int)(off >> 9) | 1, (size_t)len);
            block_pwrite(bd, off, buf, (size_t)len);
            break;
        case 1:
            block_discard(bd, off, len);
            break;
        case 2:
            block_write_zeroes(bd, off, len);
            break;
        case 3:
            block_pread(bd, off, buf, (size_t)len);
            break;
        case 4:
            block_snapshot_create(bd, name);
            break;
        case 5:
            block_snapshot_apply(bd, name);
            break;
        case 6:
            block_snapshot_delete(bd, name);
            break;
        case 7:
            block_truncate(bd, (get(&o, 3) % (1u << 21)) << 9);
            break;
        case 8:
        case 9:
            if (file_size(fd) <= (1ull << 30))
                block_check(bd, op == 9, &res, NULL);
            break;
        case 10:
            block_close(bd);
            bd = open_image(path, &rw);
            if (good && !rw) {
                fprintf(stderr, "healthy image no longer opens read-write\n");
                abort();
            }
            break;
        case 11:
            block_flush(bd);
            break;
        case 12:
            for (int i = 0; i < 16 && off < disk; i++) {
                if (block_get_status(bd, off, disk - off, false, &pnum) < 0)
                    break;
                off += pnum;
            }
            break;
        case 13: {
            struct block_info info;
            if (block_get_info(bd, &info) == 0)
                block_info_free(&info);
            break;
        }
        }
        if (bd && file_size(fd) > (1ull << 30))
            break;   /* keep the memfd (and check) small */
        if (good)
            expect_healthy(bd, step, op);
    }
    block_close(bd);
    close(fd);
    return 0;
}
