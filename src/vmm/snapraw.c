/* vmm: writable raw disks in memory snapshots, "disks":"external"
 * (snapdisk.h, docs/snapshot.md "Disks").
 *
 * A raw image has nowhere to put a freeze (no backing file, no internal
 * snapshot), so its content at the snapshot's moment is copied into the
 * snapshot directory as disk<i>.raw: only the ranges that hold data
 * (SEEK_DATA/SEEK_HOLE), with copy_file_range so that a filesystem that
 * can share extents (XFS, btrfs) or copy in the kernel does, holes kept.
 * A restore never writes the copy: the VM runs on a qcow2 overlay over it,
 * so one snapshot can be restored any number of times, also at once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "util/util.h"
#include "vmm/snapdisk.h"
#include "vmm/snapshot.h"
#include "vmm/vmm_int.h"

#define PIECE (8u << 20)            /* bytes per copy call, between progress */

/* ---- the copy ---- */

/* Where the next data starts at or after off, and where it ends: [*d, *h).
 * No data left: *d = size.  A file system without SEEK_DATA (EINVAL) is
 * all data. */
static int next_data(int fd, uint64_t off, uint64_t size, uint64_t *d, uint64_t *h)
{
    off_t a = lseek(fd, (off_t)off, SEEK_DATA);
    if (a < 0 && errno == ENXIO) {
        *d = *h = size;
        return 0;
    }
    if (a < 0 && errno == EINVAL) {
        *d = off;
        *h = size;
        return 0;
    }
    if (a < 0)
        return -errno;
    off_t b = lseek(fd, a, SEEK_HOLE);
    if (b < 0)
        return -errno;
    *d = (uint64_t)a < size ? (uint64_t)a : size;
    *h = (uint64_t)b < size ? (uint64_t)b : size;
    return 0;
}

/* pread/pwrite [off, off+len), leaving all-zero blocks as holes (the
 * output was sized with ftruncate: they read as zeros already). */
static int copy_rw(int in, int out, uint64_t off, uint64_t len, uint8_t *buf,
                   const char *what_in, const char *what_out, char *err, size_t elen)
{
    static const uint8_t zero[4096];
    while (len) {
        size_t n = len < (1u << 20) ? (size_t)len : (1u << 20);
        ssize_t r = pread(in, buf, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return errbuf(err, elen, r ? -errno : -EIO, "%s: reading at offset %llu: %s",
                          what_in, (unsigned long long)off,
                          r ? strerror(errno) : "the file ends before the disk's size");
        for (size_t k = 0; k < (size_t)r;) {
            size_t b = (size_t)r - k < sizeof(zero) ? (size_t)r - k : sizeof(zero);
            if (memcmp(buf + k, zero, b)) {
                ssize_t w = pwrite(out, buf + k, b, (off_t)(off + k));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w != (ssize_t)b)
                    return errbuf(err, elen, w < 0 ? -errno : -ENOSPC, "%s: writing at "
                                  "offset %llu: %s", what_out,
                                  (unsigned long long)(off + k),
                                  w < 0 ? strerror(errno) : "short write (disk full?)");
            }
            k += b;
        }
        off += (uint64_t)r;
        len -= (uint64_t)r;
    }
    return 0;
}

int snapraw_copy_fd(int in, int out, uint64_t size, const char *what_in,
                    const char *what_out, snap_progress_fn progress, void *opaque,
                    uint64_t *copied, char *err, size_t elen)
{
    struct stat st;
    uint8_t *buf = NULL;
    bool cfr = true;            /* copy_file_range until it is refused */
    uint64_t off = 0, done = 0, total;
    *copied = 0;
    if (fstat(in, &st) < 0)
        return errbuf(err, elen, -errno, "%s: stat: %s", what_in, strerror(errno));
    total = (uint64_t)st.st_blocks * 512;
    total = total < size ? total : size;
    if (ftruncate(out, (off_t)size) < 0)
        return errbuf(err, elen, -errno, "%s: sizing it to %llu bytes: %s", what_out,
                      (unsigned long long)size, strerror(errno));
    int rc = 0;
    while (!rc && off < size) {
        uint64_t d = size, h = size;
        if ((rc = next_data(in, off, size, &d, &h))) {
            errbuf(err, elen, rc, "%s: looking for data after offset %llu: %s", what_in,
                   (unsigned long long)off, strerror(-rc));
            break;
        }
        for (off = d; !rc && off < h;) {
            uint64_t n = h - off < PIECE ? h - off : PIECE;
            if (cfr) {
                loff_t io = (loff_t)off, oo = (loff_t)off;
                ssize_t r = copy_file_range(in, &io, out, &oo, (size_t)n, 0);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                              errno == EOPNOTSUPP || errno == EBADF)) {
                    cfr = false;    /* not between these files: read and write */
                    continue;
                }
                if (r < 0)
                    rc = errbuf(err, elen, -errno, "%s: copying %s at offset %llu: %s",
                                what_out, what_in, (unsigned long long)off, strerror(errno));
                else if (r == 0)
                    rc = errbuf(err, elen, -EIO, "%s: ends at offset %llu, before the "
                                "disk's size %llu", what_in, (unsigned long long)off,
                                (unsigned long long)size);
                else
                    n = (uint64_t)r;
            } else {
                if (!buf && !(buf = malloc(1u << 20)))
                    rc = errbuf(err, elen, -ENOMEM, "out of memory");
                else
                    rc = copy_rw(in, out, off, n, buf, what_in, what_out, err, elen);
            }
            if (rc)
                break;
            off += n;
            done += n;
            if (progress)
                progress(opaque, done, total > done ? total : done);
        }
        off = h;
    }
    free(buf);
    *copied = done;
    return rc;
}

/* ---- snapshot time ---- */

struct progress {
    struct vm *v;
    unsigned index;
    uint64_t t0, last;          /* host ns */
};

/* Log a copy's progress at most once a second, from its second on. */
static void log_progress(void *opaque, uint64_t done, uint64_t total)
{
    struct progress *p = opaque;
    uint64_t now = host_time_ns();
    if (now - p->last < 1000000000u)
        return;
    p->last = now;
    double secs = (double)(now - p->t0) / 1e9;
    double rate = secs > 0 ? (double)done / secs : 0;
    vm_log(p->v, VM_LOG_INFO, "disk %u: copied %.1f of about %.1f MiB of data (%.1f MiB/s, "
           "about %.0f s left)", p->index, (double)done / (1 << 20),
           (double)total / (1 << 20), rate / (1 << 20),
           rate > 0 ? (double)(total - done) / rate : 0.0);
}

int snapraw_snapshot(struct vm *v, unsigned i, struct vmm_disk_ent *e, const char *dir,
                     struct snapdisk_rec *rec, char *err, size_t elen)
{
    char name[32], tmp[4096], id[SNAPDISK_PATH_MAX + 64];
    snprintf(name, sizeof(name), "disk%u.raw", i);
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
    /* Every write the guest made is in the file before it is read. */
    block_aio_drain(e->bd);
    int rc = block_flush(e->bd);
    if (rc)
        return errbuf(err, elen, rc, "snapshot: disk %u (%s): flush: %s", i, rec->path,
                      strerror(-rc));
    int in = open(rec->path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errbuf(err, elen, -errno, "snapshot: disk %u: %s: %s", i, rec->path,
                      strerror(errno));
    int out = safefile_create(dir, name, 0600, err, elen);
    if (out < 0) {
        close(in);
        return out;
    }
    struct progress pr = { .v = v, .index = i, .t0 = host_time_ns() };
    pr.last = pr.t0;
    uint64_t copied = 0;
    char msg[VM_ERR_LEN];
    snprintf(id, sizeof(id), "disk %u (%s)", i, rec->path);
    rc = snapraw_copy_fd(in, out, rec->virtual_size, id, tmp, log_progress, &pr, &copied,
                         msg, sizeof(msg));
    close(in);
    if (rc)
        errbuf(err, elen, rc, "snapshot: copying disk %u for \"disks\":\"external\": %s", i,
               msg);
    else
        rc = safefile_commit(dir, name, out, err, elen);
    close(out);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    snprintf(tmp, sizeof(tmp), "%s/%s", dir, name);
    struct snapdisk_rec c;
    if ((rc = snapdisk_identity(tmp, &c, err, elen))) {
        unlink(tmp);
        return rc;
    }
    rec->copy_size = c.file_size;
    rec->copy_mtime_ns = c.mtime_ns;
    rec->copy_crc = c.crc;
    uint64_t ns = host_time_ns() - pr.t0;
    vm_log(v, VM_LOG_INFO, "disk %u: %s copied into %s: %llu bytes of data of %llu in %llu "
           "ms (%.1f MiB/s)", i, rec->path, tmp, (unsigned long long)copied,
           (unsigned long long)rec->virtual_size, (unsigned long long)(ns / 1000000),
           ns ? (double)copied / (1 << 20) / ((double)ns / 1e9) : 0.0);
    return 0;
}

/* ---- restore time ---- */

int snapraw_plan(struct vm *v, const char *dir, unsigned i, const struct snapdisk_rec *rec,
                 struct snapdisk_plan *p)
{
    char msg[VM_ERR_LEN];
    struct stat st;
    struct snapdisk_rec now;
    snprintf(p->base, sizeof(p->base), "%s/disk%u.raw", dir, i);
    p->size = rec->virtual_size;
    /* The copy is the disk's content: it must be the snapshot's own file. */
    if (lstat(p->base, &st) < 0)
        return vm_fail(v, -errno, "restore: %s (the copy of disk %u, %s, at the snapshot): "
                       "%s", p->base, i, rec->path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return vm_fail(v, -EINVAL, "restore: %s (the copy of disk %u): not a regular file; "
                       "expected the raw copy the snapshot wrote", p->base, i);
    int rc = snapdisk_identity(p->base, &now, msg, sizeof(msg));
    if (rc)
        return vm_fail(v, rc, "restore: the copy of disk %u: %s", i, msg);
    const char *diff = now.file_size != rec->copy_size ? "its size" :
                       now.crc != rec->copy_crc ? "its first 64 KiB" :
                       now.mtime_ns != rec->copy_mtime_ns ? "its modification time" : NULL;
    if (diff)
        return vm_fail(v, -EINVAL, "restore: %s (the copy of disk %u, %s) has changed since "
                       "the snapshot (%s differs from the disk section's copy fields: "
                       "%llu bytes expected, %llu found); refused", p->base, i, rec->path,
                       diff, (unsigned long long)rec->copy_size,
                       (unsigned long long)now.file_size);
    return 0;
}

int snapraw_open(struct vm *v, const struct vm_disk *d, const struct snapdisk_plan *p,
                 struct vmm_disk_ent *e, struct block_dev **bd)
{
    char err[BLOCK_ERR_LEN], path[4096], dir[4096];
    const char *tmpdir = getenv("TMPDIR");
    bool temp = !p->overlay;
    int fd, rc;
    *bd = NULL;
    char *copy = realpath(p->base, NULL);
    if (!copy)
        return vm_fail(v, -errno, "restore: %s: %s", p->base, strerror(errno));
    snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(copy, '/') - copy), copy);
    if (temp) {
        snprintf(path, sizeof(path), "%s/vessel-rawcopy-XXXXXX",
                 tmpdir && *tmpdir ? tmpdir : "/tmp");
        fd = mkstemp(path);
    } else {
        snprintf(path, sizeof(path), "%s", p->overlay);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (fd < 0) {
        rc = vm_fail(v, -errno, "restore: disk %s: cannot create its overlay %s: %s%s",
                     d->path, path, strerror(errno), temp ? " (set TMPDIR to a writable "
                     "directory, or give --disk-overlay FILE)" : "");
        free(copy);
        return rc;
    }
    close(fd);
    if (!temp && !(e->overlay = strdup(path))) {
        unlink(path);
        free(copy);
        return vm_fail(v, -ENOMEM, "out of memory");
    }
    struct block_create_opts o = {
        .format = BLOCK_FMT_QCOW2, .size = p->size, .backing_file = copy,
        .backing_format = "raw",
    };
    const char *dirs[] = { dir };
    struct block_open_opts oo = {
        .backing_dirs = dirs, .nbacking_dirs = 1, .allow_hint = "--disk FILE,backing-dir=DIR",
    };
    /* cache=none on the copy; a temporary overlay is often on a tmpfs. */
    unsigned flags = temp && (e->flags & BLOCK_O_DIRECT) ?
                     (e->flags & ~BLOCK_O_DIRECT) | BLOCK_O_BACKING_DIRECT : e->flags;
    rc = block_create(path, &o, err, sizeof(err));
    if (!rc)
        rc = block_open_with(bd, path, flags, BLOCK_FMT_QCOW2, &oo, err, sizeof(err));
    if (temp)
        unlink(path);
    if (rc) {
        vm_fail(v, rc, "restore: disk %s: overlay %s over %s: %s", d->path, path, copy, err);
    } else if (block_chain_find(*bd, copy, NULL) != 2 || block_length(*bd) != p->size) {
        rc = vm_fail(v, -EINVAL, "restore: disk %s: overlay %s does not lead to %s",
                     d->path, path, copy);
    } else if (!temp) {
        char *t = strdup(path);
        if (!t) {
            rc = vm_fail(v, -ENOMEM, "out of memory");
        } else {
            free(e->top);
            e->top = t;
        }
    }
    if (rc) {
        block_close(*bd);
        *bd = NULL;
    }
    e->temp_copy = temp;
    e->flags = flags;
    free(copy);
    return rc;
}
