/* vmm: the snapshot directory's files (snapshot.h, docs/snapshot.md).
 *
 * state file layout (all integers little-endian):
 *   offset  size  field
 *   0       8     magic "VESSELSN"
 *   8       4     format version (SNAP_FORMAT_VERSION)
 *   12      4     flags, 0
 *   16      8     length of the records that follow, bytes
 *   24      4     CRC-32C of bytes 0..23
 *   28      4     0
 *   32      ...   records: one section (16-byte header + payload), then
 *                 the CRC-32C of the section's bytes (u32); the last
 *                 record is the section "end", version 1, whose payload is
 *                 the number of records before it (u64).
 *
 * memory file: region i's bytes at the offset the "memory" section gives
 * (regions in ascending gpa, each at the end of the previous one). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/util.h"
#include "vmm/snapshot.h"

#define SNAP_MAGIC "VESSELSN"
#define SNAP_HDR 32
#define SNAP_MAX_REGIONS MEM_MAX_RAM_REGIONS
#define SNAP_STATE_MAX (256u << 20)   /* a state file's upper bound */

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

int snap_write_ram(int fd, struct mem *m, uint64_t gpa, uint64_t len, off_t off)
{
    while (len) {
        struct iovec v[64];
        int n;
        uint64_t step = MIN(len, 64 * MEM_PAGE_SIZE);
        int rc = mem_map_iovec(m, gpa, step, false, v, 64, &n);
        if (rc)
            return rc;
        for (int k = 0; k < n && !rc; k++) {
            rc = write_all(fd, v[k].iov_base, v[k].iov_len, off);
            off += (off_t)v[k].iov_len;
        }
        mem_unpin_iovec(m, v, n, false);
        if (rc)
            return rc;
        gpa += step;
        len -= step;
    }
    return 0;
}

void snap_writeback_kick(int fd, off_t *from, off_t upto)
{
    if (upto - *from < SNAP_WRITEBACK_STEP)
        return;
    (void)sync_file_range(fd, *from, upto - *from, SYNC_FILE_RANGE_WRITE);
    *from = upto;
}

bool snap_page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    for (size_t i = 0; i < MEM_PAGE_SIZE / 8; i++)
        if (w[i])
            return false;
    return true;
}

int snap_memory_write(const char *dir, struct mem *m, struct sstate_writer *w,
                      snap_progress_fn progress, void *opaque,
                      uint64_t *written, char *err, size_t elen)
{
    struct mem_ram_info reg[SNAP_MAX_REGIONS];
    int n = mem_ram_regions(m, reg, SNAP_MAX_REGIONS);
    if (n > SNAP_MAX_REGIONS)
        return errbuf(err, elen, -E2BIG, "%d RAM regions; at most %d", n,
                    SNAP_MAX_REGIONS);
    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        total += reg[i].size;
    int fd = safefile_create(dir, "memory", 0600, err, elen);
    if (fd < 0)
        return fd;
    int rc = 0;
    uint64_t out = 0, seen = 0, bytes = 0;
    uint64_t *pop = NULL;
    struct snap_wb wb;
    snap_wb_start(&wb, fd);
    sstate_begin(w, "memory", 1);
    sstate_put_u32(w, (uint32_t)n);
    for (int i = 0; i < n && !rc; i++) {
        sstate_put_u64(w, reg[i].gpa);
        sstate_put_u64(w, reg[i].size);
        sstate_put_u64(w, out);
        /* One chunk of 1 GiB at a time keeps the bitmap small. */
        for (uint64_t at = 0; at < reg[i].size && !rc;) {
            uint64_t chunk = MIN(reg[i].size - at, 1ULL << 30);
            uint64_t pages = chunk >> MEM_PAGE_SHIFT;
            free(pop);
            pop = malloc((size_t)((pages + 63) / 64) * 8);
            if (!pop) {
                rc = errbuf(err, elen, -ENOMEM, "out of memory");
                break;
            }
            if ((rc = mem_ram_populated(m, reg[i].gpa + at, chunk, pop))) {
                errbuf(err, elen, rc, "RAM at 0x%llx: cannot read its page map",
                     (unsigned long long)(reg[i].gpa + at));
                break;
            }
            /* Coalesce runs of non-zero pages into one write each. */
            uint64_t run = 0, run_pages = 0;
            for (uint64_t p = 0; p < pages && !rc; p++) {
                uint64_t gpa = reg[i].gpa + at + p * MEM_PAGE_SIZE;
                bool data = false;
                if ((pop[p / 64] >> (p % 64)) & 1) {
                    struct iovec v;
                    int nv;
                    if (mem_map_iovec(m, gpa, MEM_PAGE_SIZE, false, &v, 1, &nv) == 0) {
                        data = !snap_page_is_zero(v.iov_base);
                        mem_unpin_iovec(m, &v, nv, false);
                    }
                }
                if (data && !run_pages)
                    run = p;
                run_pages += data;
                if (run_pages && (!data || p + 1 == pages)) {
                    rc = snap_write_ram(fd, m, reg[i].gpa + at + run * MEM_PAGE_SIZE,
                                   run_pages * MEM_PAGE_SIZE,
                                   (off_t)(out + at + run * MEM_PAGE_SIZE));
                    if (rc)
                        errbuf(err, elen, rc, "%s/memory.tmp: write: %s", dir,
                             strerror(-rc));
                    bytes += run_pages * MEM_PAGE_SIZE;
                    snap_wb_kick(&wb, (off_t)(out + at + (run + run_pages) * MEM_PAGE_SIZE));
                    run_pages = 0;
                }
            }
            at += chunk;
            seen += chunk;
            if (progress)
                progress(opaque, seen, total);
        }
        out += reg[i].size;
    }
    free(pop);
    snap_wb_stop(&wb);
    if (!rc && ftruncate(fd, (off_t)out) < 0)
        rc = errbuf(err, elen, -errno, "%s/memory.tmp: set size: %s", dir,
                  strerror(errno));
    /* Durable now, named by snap_state_write: one directory sync for both. */
    if (!rc && fsync(fd) < 0)
        rc = errbuf(err, elen, -errno, "%s/memory.tmp: fsync: %s", dir, strerror(errno));
    close(fd);
    int se = sstate_end(w);
    if (!rc && se)
        rc = errbuf(err, elen, se, "memory section: %s", strerror(-se));
    if (written)
        *written = bytes;
    return rc;
}

int snap_memory_map(const char *dir, struct mem *m, struct sstate_reader *r,
                    char *err, size_t elen)
{
    uint32_t ver;
    int rc = sstate_open(r, "memory", 1, &ver);
    if (rc)
        return errbuf(err, elen, rc, "%s/state: no valid memory section", dir);
    uint32_t n = sstate_get_u32(r);
    if (!n || n > SNAP_MAX_REGIONS) {
        sstate_fail(r, -EINVAL);
        return errbuf(err, elen, -EINVAL, "%s/state: memory section: %u "
                    "regions; expected 1 to %d", dir, n, SNAP_MAX_REGIONS);
    }
    struct mem_ram_info reg[SNAP_MAX_REGIONS];
    uint64_t off[SNAP_MAX_REGIONS], end = 0;
    for (uint32_t i = 0; i < n; i++) {
        reg[i].gpa = sstate_get_u64(r);
        reg[i].size = sstate_get_u64(r);
        off[i] = sstate_get_u64(r);
        bool ok = reg[i].size && !((reg[i].gpa | reg[i].size) & (MEM_PAGE_SIZE - 1)) &&
                  reg[i].gpa + reg[i].size > reg[i].gpa && off[i] == end &&
                  (i == 0 || reg[i].gpa >= reg[i - 1].gpa + reg[i - 1].size) &&
                  end + reg[i].size > end;
        if (!ok) {
            sstate_fail(r, -EINVAL);
            return errbuf(err, elen, -EINVAL, "%s/state: memory region %u "
                        "(gpa 0x%llx, %llu bytes, file offset %llu) is not "
                        "page aligned, overlaps, or is out of order", dir, i,
                        (unsigned long long)reg[i].gpa,
                        (unsigned long long)reg[i].size,
                        (unsigned long long)off[i]);
        }
        end += reg[i].size;
    }
    if ((rc = sstate_close(r)))
        return errbuf(err, elen, rc, "%s/state: memory section malformed", dir);
    char path[4096];
    snprintf(path, sizeof(path), "%s/memory", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errbuf(err, elen, -errno, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != end) {
        close(fd);
        return errbuf(err, elen, -EINVAL, "%s: not a regular file of %llu bytes, "
                    "as the state file says", path, (unsigned long long)end);
    }
    /* Into a board that has its RAM already: the layouts must agree, and
     * the file is mapped over it; into an empty space: regions are added. */
    struct mem_ram_info have[SNAP_MAX_REGIONS];
    int nhave = mem_ram_regions(m, have, SNAP_MAX_REGIONS);
    if (nhave) {
        bool same = (uint32_t)nhave == n;
        for (uint32_t i = 0; same && i < n; i++)
            same = have[i].gpa == reg[i].gpa && have[i].size == reg[i].size;
        if (!same) {
            close(fd);
            return errbuf(err, elen, -EINVAL, "%s/state: the snapshot's RAM (%u region(s), "
                        "the first %llu MiB at 0x%llx) differs from this VM's (%d, the "
                        "first %llu MiB at 0x%llx): give the --memory the VM had", dir, n,
                        (unsigned long long)(reg[0].size >> 20),
                        (unsigned long long)reg[0].gpa, nhave,
                        (unsigned long long)(have[0].size >> 20),
                        (unsigned long long)have[0].gpa);
        }
    }
    for (uint32_t i = 0; i < n && !rc; i++) {
        rc = nhave ? mem_ram_map_file(m, reg[i].gpa, reg[i].size, fd, off[i])
                   : mem_add_ram_file(m, reg[i].gpa, reg[i].size, fd, off[i]);
        if (rc)
            errbuf(err, elen, rc, "%s: cannot map region %u at 0x%llx: %s", path,
                 i, (unsigned long long)reg[i].gpa, strerror(-rc));
    }
    close(fd);
    return rc;
}

int snap_state_write(const char *dir, const struct sstate_writer *w,
                     char *err, size_t elen)
{
    if (w->err)
        return errbuf(err, elen, w->err, "saving the VM state: %s",
                    strerror(-w->err));
    /* Walk the sections to size the records. */
    size_t nsec = 0, body = 0;
    for (size_t at = 0; at < w->len; nsec++) {
        if (w->len - at < SSTATE_HDR_LEN)
            return errbuf(err, elen, -EINVAL, "saved state: truncated section");
        size_t sl = SSTATE_HDR_LEN + (size_t)le_get(w->buf + at + 12, 4);
        if (sl > w->len - at)
            return errbuf(err, elen, -EINVAL, "saved state: truncated section");
        body += sl + 4;
        at += sl;
    }
    body += SSTATE_HDR_LEN + 8 + 4;     /* the end record */
    uint8_t *out = malloc(SNAP_HDR + body);
    if (!out)
        return errbuf(err, elen, -ENOMEM, "out of memory");
    memset(out, 0, SNAP_HDR);
    memcpy(out, SNAP_MAGIC, 8);
    le_put(out + 8, SNAP_FORMAT_VERSION, 4);
    le_put(out + 16, body, 8);
    le_put(out + 24, crc32c(0, out, 24), 4);
    uint8_t *p = out + SNAP_HDR;
    for (size_t at = 0; at < w->len;) {
        size_t sl = SSTATE_HDR_LEN + (size_t)le_get(w->buf + at + 12, 4);
        memcpy(p, w->buf + at, sl);
        le_put(p + sl, crc32c(0, p, sl), 4);
        p += sl + 4;
        at += sl;
    }
    uint8_t *end = p;
    memset(end, 0, SSTATE_HDR_LEN);
    memcpy(end, "end", 3);
    le_put(end + 8, 1, 4);
    le_put(end + 12, 8, 4);
    le_put(end + SSTATE_HDR_LEN, nsec, 8);
    le_put(end + SSTATE_HDR_LEN + 8, crc32c(0, end, SSTATE_HDR_LEN + 8), 4);
    int fd = safefile_create(dir, "state", 0600, err, elen);
    int rc = fd < 0 ? fd : write_all(fd, out, SNAP_HDR + body, 0);
    if (fd >= 0 && rc)
        errbuf(err, elen, rc, "%s/state.tmp: write: %s", dir, strerror(-rc));
    if (fd >= 0 && !rc) {
        /* The memory file first: a state file never names a memory file
         * that is not there yet. */
        char m[4096];
        snprintf(m, sizeof(m), "%s/memory.tmp", dir);
        if (access(m, F_OK) == 0)       /* none: a state without memory */
            rc = safefile_rename(dir, "memory", err, elen);
    }
    if (fd >= 0 && !rc)
        rc = safefile_commit(dir, "state", fd, err, elen);
    if (fd >= 0)
        close(fd);
    free(out);
    return rc;
}

int snap_state_read(const char *dir, uint8_t **bufp, size_t *lenp,
                    char *err, size_t elen)
{
    return snap_state_read_crc(dir, bufp, lenp, NULL, err, elen);
}

int snap_state_read_crc(const char *dir, uint8_t **bufp, size_t *lenp,
                        uint32_t *crc, char *err, size_t elen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/state", dir);
    *bufp = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errbuf(err, elen, -errno, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < SNAP_HDR ||
        (uint64_t)st.st_size > SNAP_STATE_MAX) {
        close(fd);
        return errbuf(err, elen, -EINVAL, "%s: not a snapshot state file (a regular "
                    "file of %d bytes to %u MiB expected)", path, SNAP_HDR,
                    SNAP_STATE_MAX >> 20);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *f = malloc(size);
    ssize_t got = f ? pread(fd, f, size, 0) : -1;
    close(fd);
    if (got != (ssize_t)size) {
        free(f);
        return errbuf(err, elen, -EIO, "%s: cannot read", path);
    }
    int rc = -EINVAL;
    if (memcmp(f, SNAP_MAGIC, 8)) {
        errbuf(err, elen, rc, "%s: not a Vessel snapshot (bad magic)", path);
        goto out;
    }
    if ((uint32_t)le_get(f + 24, 4) != crc32c(0, f, 24)) {
        errbuf(err, elen, rc, "%s: header checksum mismatch", path);
        goto out;
    }
    uint32_t ver = (uint32_t)le_get(f + 8, 4);
    if (ver != SNAP_FORMAT_VERSION) {
        rc = ver > SNAP_FORMAT_VERSION ? -ENOTSUP : -EINVAL;
        errbuf(err, elen, rc, "%s: format version %u; this Vessel reads version %d",
             path, ver, SNAP_FORMAT_VERSION);
        goto out;
    }
    uint64_t body = le_get(f + 16, 8);
    if (le_get(f + 12, 4) || le_get(f + 28, 4) || body != size - SNAP_HDR) {
        errbuf(err, elen, rc, "%s: header flags or length (%llu bytes) wrong for a "
             "%zu-byte file", path, (unsigned long long)body, size);
        goto out;
    }
    uint8_t hdr_crc[4];
    memcpy(hdr_crc, f + 24, 4);
    /* Check every record's CRC, then compact the sections. */
    uint8_t *dst = f;
    size_t at = SNAP_HDR, nsec = 0;
    bool ended = false;
    while (at < size) {
        if (size - at < SSTATE_HDR_LEN + 4) {
            errbuf(err, elen, rc, "%s: truncated record at offset %zu", path, at);
            goto out;
        }
        uint64_t plen = le_get(f + at + 12, 4);
        if (plen > size - at - SSTATE_HDR_LEN - 4) {
            errbuf(err, elen, rc, "%s: record at offset %zu runs past the end", path, at);
            goto out;
        }
        size_t sl = SSTATE_HDR_LEN + (size_t)plen;
        char tag[9] = {0};
        memcpy(tag, f + at, 8);
        if ((uint32_t)le_get(f + at + sl, 4) != crc32c(0, f + at, sl)) {
            errbuf(err, elen, rc, "%s: section \"%s\" at offset %zu: checksum "
                 "mismatch (the file is corrupt)", path, tag, at);
            goto out;
        }
        if (!strcmp(tag, "end")) {
            if (plen != 8 || le_get(f + at + SSTATE_HDR_LEN, 8) != nsec ||
                at + sl + 4 != size) {
                errbuf(err, elen, rc, "%s: the end record at offset %zu does not "
                     "close the file (%zu sections)", path, at, nsec);
                goto out;
            }
            ended = true;
            break;
        }
        memmove(dst, f + at, sl);
        dst += sl;
        at += sl + 4;
        nsec++;
    }
    if (!ended) {
        errbuf(err, elen, rc, "%s: no end record (truncated file)", path);
        goto out;
    }
    /* The identity: header then sections, without the stored CRCs.  Not
     * the CRC of the whole file: a block followed by its own CRC-32C
     * leaves the CRC register in a state that does not depend on the
     * block's contents, so over a file of such records it would depend
     * on their lengths only. */
    if (crc)
        *crc = crc32c((uint32_t)le_get(hdr_crc, 4), f, (size_t)(dst - f));
    *bufp = f;
    *lenp = (size_t)(dst - f);
    return 0;
out:
    free(f);
    return rc;
}
