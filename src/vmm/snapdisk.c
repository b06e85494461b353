/* vmm: disks in memory snapshots (snapdisk.h, docs/snapshot.md "Disks").
 *
 * The section codec and the identity of an image come first (pure, unit
 * tested), then snapshot time (freeze, copy, record), then restore time
 * (plan before anything is opened, open, check the sections). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "util/util.h"
#include "vmm/snapdisk.h"
#include "vmm/snapshot.h"
#include "vmm/vmm_int.h"

/* ---- the "disk" section ---- */

static const char *role_name(uint32_t role)
{
    switch (role) {
    case SNAPDISK_FROZEN: return "frozen writable qcow2";
    case SNAPDISK_TEMP: return "snapshot=on";
    case SNAPDISK_READONLY: return "readonly=on";
    case SNAPDISK_RAWCOPY: return "writable raw, copied (\"disks\":\"external\")";
    default: return "unknown";
    }
}

void snapdisk_put(struct sstate_writer *w, const struct snapdisk_rec *rec)
{
    size_t pl = strlen(rec->path);
    bool v2 = rec->role == SNAPDISK_RAWCOPY;
    sstate_begin(w, "disk", v2 ? 2 : 1);
    sstate_put_u32(w, rec->index);
    sstate_put_u32(w, rec->role);
    sstate_put_u32(w, (uint32_t)pl);
    sstate_put_bytes(w, rec->path, pl);
    sstate_put_u64(w, rec->virtual_size);
    sstate_put_u64(w, rec->file_size);
    sstate_put_u64(w, rec->mtime_ns);
    sstate_put_u32(w, rec->crc);
    if (v2) {
        sstate_put_u64(w, rec->copy_size);
        sstate_put_u64(w, rec->copy_mtime_ns);
        sstate_put_u32(w, rec->copy_crc);
    }
    (void)sstate_end(w);
}

int snapdisk_parse(struct sstate_reader *r, unsigned want_index, struct snapdisk_rec *rec,
                   char *err, size_t elen)
{
    uint32_t ver;
    memset(rec, 0, sizeof(*rec));
    int rc = sstate_open(r, "disk", SNAPDISK_VERSION, &ver);
    if (rc == -ENOTSUP)
        return errbuf(err, elen, rc, "disk section %u: a newer version than %u (this "
                      "Vessel reads version %u)", want_index, SNAPDISK_VERSION,
                      SNAPDISK_VERSION);
    if (rc)
        return errbuf(err, elen, rc, "disk section %u: missing or malformed header",
                      want_index);
    rec->index = sstate_get_u32(r);
    rec->role = sstate_get_u32(r);
    uint32_t pl = sstate_get_u32(r);
    if (r->err)
        return errbuf(err, elen, -EINVAL, "disk section %u: truncated", want_index);
    if (rec->index != want_index)
        return errbuf(err, elen, -EINVAL, "disk section %u: index %u; expected %u (one "
                      "section per disk, in order)", want_index, rec->index, want_index);
    if (rec->role < SNAPDISK_FROZEN || rec->role > (ver == 1 ? SNAPDISK_READONLY
                                                                : SNAPDISK_RAWCOPY))
        return errbuf(err, elen, -EINVAL, "disk section %u: role %u; expected 1 (frozen "
                      "qcow2), 2 (snapshot=on), 3 (readonly)%s", want_index, rec->role,
                      ver == 1 ? " (4, a raw copy, only in version 2)" : " or 4 (raw copy)");
    if (pl == 0 || pl > SNAPDISK_PATH_MAX)
        return errbuf(err, elen, -EINVAL, "disk section %u: path length %u; expected 1 "
                      "to %u", want_index, pl, SNAPDISK_PATH_MAX);
    sstate_get_bytes(r, rec->path, pl);
    rec->path[pl] = 0;
    rec->virtual_size = sstate_get_u64(r);
    rec->file_size = sstate_get_u64(r);
    rec->mtime_ns = sstate_get_u64(r);
    rec->crc = sstate_get_u32(r);
    if (ver >= 2) {
        rec->copy_size = sstate_get_u64(r);
        rec->copy_mtime_ns = sstate_get_u64(r);
        rec->copy_crc = sstate_get_u32(r);
    }
    if ((rc = sstate_close(r)))
        return errbuf(err, elen, rc, "disk section %u: %s", want_index,
                      r->pos > r->len ? "truncated" : "truncated or longer than its fields");
    if (strlen(rec->path) != pl || rec->path[0] != '/')
        return errbuf(err, elen, -EINVAL, "disk section %u: path is not an absolute path "
                      "without NUL bytes", want_index);
    if (rec->virtual_size == 0 || rec->virtual_size % 512)
        return errbuf(err, elen, -EINVAL, "disk section %u: virtual size %llu; expected a "
                      "non-zero multiple of 512", want_index,
                      (unsigned long long)rec->virtual_size);
    if (rec->role == SNAPDISK_RAWCOPY && rec->copy_size != rec->virtual_size)
        return errbuf(err, elen, -EINVAL, "disk section %u: copy size %llu; expected the "
                      "virtual size %llu", want_index, (unsigned long long)rec->copy_size,
                      (unsigned long long)rec->virtual_size);
    if (rec->role != SNAPDISK_RAWCOPY &&
        (rec->copy_size || rec->copy_mtime_ns || rec->copy_crc))
        return errbuf(err, elen, -EINVAL, "disk section %u: copy fields set for role %u; "
                      "expected 0 (only a raw copy, role 4, has them)", want_index,
                      rec->role);
    return 0;
}

int snapdisk_identity(const char *path, struct snapdisk_rec *rec, char *err, size_t elen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errbuf(err, elen, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    uint8_t *buf = malloc(SNAPDISK_ID_BYTES);
    if (!buf)
        rc = errbuf(err, elen, -ENOMEM, "out of memory");
    else if (fstat(fd, &st) < 0)
        rc = errbuf(err, elen, -errno, "%s: stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = errbuf(err, elen, -EINVAL, "%s: not a regular file", path);
    size_t got = 0;
    while (!rc && got < SNAPDISK_ID_BYTES) {
        ssize_t n = pread(fd, buf + got, SNAPDISK_ID_BYTES - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = errbuf(err, elen, -errno, "%s: read: %s", path, strerror(errno));
        else if (n == 0)
            break;
        else
            got += (size_t)n;
    }
    if (!rc) {
        rec->file_size = (uint64_t)st.st_size;
        rec->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u +
                        (uint64_t)st.st_mtim.tv_nsec;
        rec->crc = crc32c(0, buf, got);
    }
    free(buf);
    close(fd);
    return rc;
}

int snapdisk_scan(const uint8_t *buf, size_t len, struct snapdisk_rec **recs, unsigned *n,
                  char *err, size_t elen)
{
    *recs = NULL;
    *n = 0;
    size_t pos = 0;
    while (len - pos >= SSTATE_HDR_LEN) {
        uint64_t plen = le_get(buf + pos + 12, 4);
        if (plen > len - pos - SSTATE_HDR_LEN)
            break;  /* snap_state_read framed them: cannot happen */
        if (!memcmp(buf + pos, "disk\0\0\0\0", SSTATE_TAG_LEN)) {
            if (*n == VIRT_VIRTIO_SLOTS) {
                free(*recs);
                *recs = NULL;
                return errbuf(err, elen, -EINVAL, "more than %u disk sections",
                              VIRT_VIRTIO_SLOTS);
            }
            struct snapdisk_rec *nr = realloc(*recs, (*n + 1) * sizeof(**recs));
            if (!nr) {
                free(*recs);
                *recs = NULL;
                return errbuf(err, elen, -ENOMEM, "out of memory");
            }
            *recs = nr;
            struct sstate_reader r;
            sstate_reader_init(&r, buf, len);
            r.pos = pos;
            int rc = snapdisk_parse(&r, *n, &nr[*n], err, elen);
            if (rc) {
                free(*recs);
                *recs = NULL;
                *n = 0;
                return rc;
            }
            (*n)++;
        }
        pos += SSTATE_HDR_LEN + (size_t)plen;
    }
    return 0;
}

/* ---- snapshot time ---- */

/* A writable disk whose content the snapshot copies (disk<i>.raw). */
static bool is_raw_copy(const struct vmm_disk_ent *e)
{
    return !e->read_only && !e->snapshot && block_format(e->bd) == BLOCK_FMT_RAW;
}

int snapdisk_check(struct vm *v, bool raw_external, char *err, size_t elen)
{
    for (unsigned i = 0; v->disks && i < v->disks->n; i++) {
        const struct vmm_disk_ent *e = &v->disks->d[i];
        if (e->temp_copy)
            return errbuf(err, elen, -ENOTSUP, "snapshot: disk %u (%s) runs on a "
                          "temporary overlay over a snapshot's raw copy, which vanishes "
                          "with this process; restore with --disk-overlay FILE to keep "
                          "the disk and snapshot it", i, e->path);
        if (raw_external && is_raw_copy(e))
            continue;
        enum block_format f = block_format(e->bd);
        if (!e->read_only && !e->snapshot && f != BLOCK_FMT_QCOW2)
            return errbuf(err, elen, -ENOTSUP, "snapshot: disk %u (%s) is a writable %s "
                          "image, which cannot be frozen at the snapshot's moment; %s"
                          "convert it to qcow2 (vessel img convert -O qcow2), or give it "
                          "snapshot=on or readonly=on", i, e->path, block_format_name(f),
                          f == BLOCK_FMT_RAW ? "ask for a copy of it in the snapshot with "
                          "\"disks\":\"external\", " : "");
    }
    return 0;
}

/* Copy what the temporary overlay t holds (the guest's writes since boot)
 * into a new qcow2 image `dst` over the base image `base` (absolute). */
static int copy_temp(struct block_dev *t, const char *dst, const char *base,
                     enum block_format bfmt, char *err, size_t elen)
{
    struct block_create_opts o = {
        .format = BLOCK_FMT_QCOW2, .size = block_length(t), .backing_file = base,
        .backing_format = block_format_name(bfmt),
    };
    char sub[BLOCK_ERR_LEN];
    struct block_dev *out = NULL;
    int rc = block_create(dst, &o, sub, sizeof(sub));
    if (!rc)
        rc = block_open(&out, dst, BLOCK_O_NO_BACKING | BLOCK_O_LOCK, BLOCK_FMT_QCOW2, sub,
                        sizeof(sub));
    if (rc)
        return errbuf(err, elen, rc, "snapshot: %s", sub);
    const size_t chunk = 1u << 20;
    uint8_t *buf = malloc(chunk);
    uint64_t size = block_length(t), off = 0, pnum = 0;
    if (!buf)
        rc = -ENOMEM;
    while (!rc && off < size) {
        int st = block_get_status(t, off, size - off, false, &pnum);
        if (st < 0) {
            rc = st;
            break;
        }
        if (st == BLOCK_STATUS_ZERO) {
            rc = block_write_zeroes(out, off, pnum);
        } else if (st == BLOCK_STATUS_DATA) {
            for (uint64_t o2 = 0; !rc && o2 < pnum; o2 += chunk) {
                size_t n = (size_t)(pnum - o2 < chunk ? pnum - o2 : chunk);
                rc = block_pread(t, off + o2, buf, n);
                if (!rc)
                    rc = block_pwrite(out, off + o2, buf, n);
            }
        }
        off += pnum;
    }
    if (!rc)
        rc = block_flush(out);
    if (rc)
        errbuf(err, elen, rc, "snapshot: copying the snapshot=on overlay into %s: %s", dst,
               rc == -ENOMEM ? "out of memory" : strerror(-rc));
    free(buf);
    block_close(out);
    if (rc)
        unlink(dst);
    return rc;
}

/* DIR/../disk.qcow2 -> DIR/../disk.<id>.qcow2 */
static void frozen_name(const char *top, uint32_t id, char *out, size_t len)
{
    size_t tl = strlen(top);
    size_t stem = tl > 6 && !strcmp(top + tl - 6, ".qcow2") ? tl - 6 : tl;
    snprintf(out, len, "%.*s.%08x.qcow2", (int)stem, top, id);
}

int snapdisk_snapshot(struct vm *v, const char *dir, bool raw_external,
                      struct sstate_writer *w, uint32_t *frozen, char *err, size_t elen)
{
    struct vmm_disks *ds = v->disks;
    unsigned n = ds ? ds->n : 0;
    struct snapdisk_rec *recs = calloc(n ? n : 1, sizeof(*recs));
    char path[4096];
    int rc = recs ? 0 : errbuf(err, elen, -ENOMEM, "out of memory");
    *frozen = 0;
    uint32_t id = 0;
    if (!rc && getrandom(&id, sizeof(id), 0) != sizeof(id))
        id = (uint32_t)host_time_ns();
    /* First what has no effect on the running VM, then the freezes, the
     * only steps that change it, each undone if a later one fails. */
    for (unsigned pass = 0; pass < 2 && !rc; pass++) {
        for (unsigned i = 0; i < n && !rc; i++) {
            struct vmm_disk_ent *e = &ds->d[i];
            struct snapdisk_rec *rec = &recs[i];
            bool copy = raw_external && is_raw_copy(e);
            bool freeze = !e->read_only && !e->snapshot && !copy;
            if (freeze != (pass == 1))
                continue;
            rec->index = i;
            rec->role = freeze ? SNAPDISK_FROZEN : copy ? SNAPDISK_RAWCOPY
                      : e->snapshot ? SNAPDISK_TEMP : SNAPDISK_READONLY;
            rec->virtual_size = block_length(e->bd);
            char *real = realpath(e->top, NULL);
            if (!real || strlen(real) > SNAPDISK_PATH_MAX) {
                rc = errbuf(err, elen, real ? -ENAMETOOLONG : -errno, "snapshot: disk %u "
                            "(%s): %s", i, e->top, real ? "path too long" : strerror(errno));
                free(real);
                break;
            }
            snprintf(rec->path, sizeof(rec->path), "%s", real);
            free(real);
            if (rec->role == SNAPDISK_TEMP) {
                struct block_info bi;
                snprintf(path, sizeof(path), "%s/disk%u.qcow2", dir, i);
                /* The base is the overlay's backing image, the user's file. */
                rc = block_get_info(e->bd, &bi);
                if (!rc) {
                    enum block_format bf = strcmp(bi.backing_format, "raw") ?
                                           BLOCK_FMT_QCOW2 : BLOCK_FMT_RAW;
                    block_info_free(&bi);
                    rc = copy_temp(e->bd, path, rec->path, bf, err, elen);
                } else {
                    errbuf(err, elen, rc, "snapshot: disk %u: %s", i, strerror(-rc));
                }
            } else if (rec->role == SNAPDISK_RAWCOPY) {
                rc = snapraw_snapshot(v, i, e, dir, rec, err, elen);
            } else if (rec->role == SNAPDISK_FROZEN) {
                char top[4096], msg[BLOCK_ERR_LEN];
                frozen_name(rec->path, id, top, sizeof(top));
                const char *base = strrchr(rec->path, '/') + 1;
                block_aio_drain(e->bd);
                rc = block_overlay_push(e->bd, top, base, e->flags, msg, sizeof(msg));
                if (rc) {
                    errbuf(err, elen, rc, "snapshot: disk %u (%s): %s", i, e->path, msg);
                    break;
                }
                char *t = strdup(top);
                if (!t) {
                    (void)block_overlay_pop(e->bd, msg, sizeof(msg));
                    rc = errbuf(err, elen, -ENOMEM, "out of memory");
                    break;
                }
                free(e->prev_top);
                e->prev_top = e->top;
                e->top = t;
                *frozen |= 1u << i;
            }
            /* The identity after the freeze: nothing writes P any more. */
            if (!rc)
                rc = snapdisk_identity(rec->path, rec, err, elen);
        }
    }
    for (unsigned i = 0; !rc && i < n; i++)
        snapdisk_put(w, &recs[i]);
    if (!rc && w->err)
        rc = errbuf(err, elen, w->err, "snapshot: disk sections: %s", strerror(-w->err));
    if (rc) {
        snapdisk_unfreeze(v, *frozen);
        *frozen = 0;
    } else {
        for (unsigned i = 0; i < n; i++)
            if (*frozen & (1u << i))
                vm_log(v, VM_LOG_INFO, "disk %u: %s frozen for the snapshot; the VM "
                       "writes to %s now", i, recs[i].path, ds->d[i].top);
    }
    free(recs);
    return rc;
}

void snapdisk_unfreeze(struct vm *v, uint32_t frozen)
{
    for (unsigned i = 0; v->disks && i < v->disks->n; i++) {
        struct vmm_disk_ent *e = &v->disks->d[i];
        if (!(frozen & (1u << i)))
            continue;
        char msg[BLOCK_ERR_LEN];
        block_aio_drain(e->bd);
        if (!e->prev_top || block_overlay_pop(e->bd, msg, sizeof(msg))) {
            vm_log(v, VM_LOG_ERROR, "disk %u: cannot go back from %s to its image: %s; "
                   "the VM keeps writing to %s", i, e->top,
                   e->prev_top ? msg : "not frozen", e->top);
            continue;
        }
        free(e->top);
        e->top = e->prev_top;
        e->prev_top = NULL;
    }
}

void snapdisk_remove_files(const char *dir)
{
    static const char *const ext[] = { "qcow2", "raw", "raw.tmp" };
    char p[4096];
    for (unsigned i = 0; i < VIRT_VIRTIO_SLOTS; i++)
        for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++) {
            snprintf(p, sizeof(p), "%s/disk%u.%s", dir, i, ext[k]);
            unlink(p);
        }
}

const char *snapdisk_top(struct vm *v, unsigned i, char *buf, size_t len, bool *read_only)
{
    const char *r = NULL;
    pthread_mutex_lock(&v->lock);
    if (v->disks && i < v->disks->n) {
        snprintf(buf, len, "%s", v->disks->d[i].top);
        *read_only = v->disks->d[i].read_only;
        r = buf;
    }
    pthread_mutex_unlock(&v->lock);
    return r;
}

/* ---- restore time ---- */

/* What differs between the recorded identity and the file's now: NULL
 * when nothing does. */
static const char *identity_diff(const struct snapdisk_rec *want,
                                 const struct snapdisk_rec *now)
{
    if (now->file_size != want->file_size)
        return "its size";
    if (now->crc != want->crc)
        return "its first 64 KiB";
    if (now->mtime_ns != want->mtime_ns)
        return "its modification time";
    return NULL;
}

int snapdisk_plan(struct vm *v, const struct vm_config *cfg, struct snapdisk_plan *plan)
{
    const char *dir = cfg->restore_dir;
    char msg[VM_ERR_LEN];
    uint8_t *buf = NULL;
    size_t len = 0;
    struct snapdisk_rec *recs = NULL, now;
    unsigned n = 0, nwritable = 0;
    int rc = snap_state_read(dir, &buf, &len, msg, sizeof(msg));
    if (rc)
        return vm_fail(v, rc, "restore: %s", msg);
    rc = snapdisk_scan(buf, len, &recs, &n, msg, sizeof(msg));
    free(buf);
    if (rc)
        return vm_fail(v, rc, "restore: %s/state: %s", dir, msg);
    if (n != cfg->ndisks) {
        rc = vm_fail(v, -EINVAL, "restore: %s/state: the snapshot has %u disk%s, this VM "
                     "%u: give the --disk options the snapshotted VM had", dir, n,
                     n == 1 ? "" : "s", cfg->ndisks);
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        const struct vm_disk *d = &cfg->disks[i];
        const struct snapdisk_rec *rec = &recs[i];
        struct snapdisk_plan *p = &plan[i];
        p->role = (enum snapdisk_role)rec->role;
        snprintf(p->image, sizeof(p->image), "%s", rec->path);
        bool writable = rec->role == SNAPDISK_FROZEN || rec->role == SNAPDISK_RAWCOPY;
        bool ok = writable ? !d->read_only && !d->snapshot &&
                             (rec->role == SNAPDISK_FROZEN || d->format != VM_DISK_QCOW2) :
                  rec->role == SNAPDISK_TEMP ? d->snapshot : d->read_only && !d->snapshot;
        if (!ok) {
            rc = vm_fail(v, -EINVAL, "restore: --disk %s (disk %u): the snapshot's disk %u "
                         "is %s (%s); give the same options as when it was taken", d->path,
                         i, i, role_name(rec->role), rec->path);
            goto out;
        }
        char *real = realpath(d->path, NULL);
        if (!real || strcmp(real, rec->path)) {
            rc = vm_fail(v, -EINVAL, "restore: --disk %s (disk %u): %s; the snapshot's "
                         "disk %u is %s", d->path, i, real ? "another file" :
                         strerror(errno), i, rec->path);
            free(real);
            goto out;
        }
        free(real);
        /* A raw copy's restore never reads the image, which the first VM
         * goes on writing: only the copy must be as it was. */
        if (rec->role == SNAPDISK_RAWCOPY) {
            if ((rc = snapraw_plan(v, dir, i, rec, p)))
                goto out;
        } else if ((rc = snapdisk_identity(rec->path, &now, msg, sizeof(msg)))) {
            vm_fail(v, rc, "restore: disk %u (%s) of snapshot %s is missing or unreadable: "
                    "%s", i, rec->path, dir, msg);
            goto out;
        }
        const char *diff = rec->role == SNAPDISK_RAWCOPY ? NULL : identity_diff(rec, &now);
        if (diff) {
            rc = vm_fail(v, -EINVAL, "restore: disk %u (%s) of snapshot %s has changed "
                         "since the snapshot (%s differs): the memory of the snapshot does "
                         "not go with it any more; refused", i, rec->path, dir, diff);
            goto out;
        }
        if (rec->role == SNAPDISK_TEMP) {
            struct stat st;
            snprintf(p->base, sizeof(p->base), "%s/disk%u.qcow2", dir, i);
            if (stat(p->base, &st) < 0) {
                rc = vm_fail(v, -errno, "restore: %s (the guest's writes to disk %u, %s, "
                             "before the snapshot): %s", p->base, i, rec->path,
                             strerror(errno));
                goto out;
            }
        } else if (writable && nwritable < cfg->ndisk_overlays) {
            struct stat st;
            p->overlay = cfg->disk_overlays[nwritable];
            if (lstat(p->overlay, &st) == 0) {
                rc = vm_fail(v, -EEXIST, "restore: --disk-overlay %s (for disk %u, %s): "
                             "exists; give a new file name", p->overlay, i, rec->path);
                goto out;
            }
        }
        if (writable)
            nwritable++;
    }
    if (cfg->ndisk_overlays > nwritable)
        rc = vm_fail(v, -EINVAL, "restore: %u --disk-overlay options, but snapshot %s has "
                     "%u writable disk%s (qcow2 or raw copy): give at most one per such "
                     "disk", cfg->ndisk_overlays, dir, nwritable, nwritable == 1 ? "" : "s");
out:
    free(recs);
    return rc;
}

/* dirname() of a copy. */
static void dir_of(const char *path, char *out, size_t len)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    snprintf(out, len, "%s", dirname(tmp));
}

int snapdisk_open(struct vm *v, const struct vm_disk *d, const struct snapdisk_plan *p,
                  struct vmm_disk_ent *e, struct block_dev **bd)
{
    char err[BLOCK_ERR_LEN], dir[4096];
    int rc;
    if (p->role == SNAPDISK_RAWCOPY)
        return snapraw_open(v, d, p, e, bd);
    if (p->role == SNAPDISK_TEMP) {
        dir_of(p->base, dir, sizeof(dir));
        char *real = realpath(dir, NULL);
        if (!real)
            return vm_fail(v, -errno, "restore: %s: %s", dir, strerror(errno));
        rc = vmm_disk_open_temp(v, d, p->base, real, bd);
        free(real);
        /* The copy's header must lead to the recorded image, not elsewhere. */
        if (!rc && block_chain_find(*bd, p->image, NULL) != 3) {
            block_close(*bd);
            *bd = NULL;
            rc = vm_fail(v, -EINVAL, "restore: %s: its backing file is not %s, the disk "
                         "it was taken over", p->base, p->image);
        }
        return rc;
    }
    /* FROZEN with --disk-overlay: a new image over P, P read-only. */
    int fd = open(p->overlay, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return vm_fail(v, -errno, "restore: --disk-overlay %s: %s", p->overlay,
                       strerror(errno));
    close(fd);
    if (!(e->overlay = strdup(p->overlay))) {
        unlink(p->overlay);
        return vm_fail(v, -ENOMEM, "out of memory");
    }
    struct block_create_opts o = {
        .format = BLOCK_FMT_QCOW2, .backing_file = p->image, .backing_format = "qcow2",
    };
    if ((rc = block_create(p->overlay, &o, err, sizeof(err))))
        return vm_fail(v, rc, "restore: --disk-overlay %s", err);
    const char *dirs[VM_MAX_BACKING_DIRS + 1];
    for (unsigned i = 0; i < d->nbacking_dirs; i++)
        dirs[i] = d->backing_dirs[i];
    dir_of(p->image, dir, sizeof(dir));
    dirs[d->nbacking_dirs] = dir;
    struct block_open_opts oo = {
        .backing_dirs = dirs, .nbacking_dirs = d->nbacking_dirs + 1,
        .allow_hint = "--disk FILE,backing-dir=DIR",
    };
    if ((rc = block_open_with(bd, p->overlay, e->flags, BLOCK_FMT_QCOW2, &oo, err,
                              sizeof(err))))
        return vm_fail(v, rc, "restore: --disk-overlay: %s", err);
    char *t = strdup(p->overlay);
    if (!t)
        return vm_fail(v, -ENOMEM, "out of memory");
    free(e->top);
    e->top = t;
    return 0;
}

static bool peek_disk(const struct sstate_reader *r)
{
    return r->len - r->pos >= SSTATE_HDR_LEN &&
           !memcmp(r->buf + r->pos, "disk\0\0\0\0", SSTATE_TAG_LEN);
}

int snapdisk_restore(struct vm *v, const char *dir, struct sstate_reader *r, char *err,
                     size_t elen)
{
    struct vmm_disks *ds = v->disks;
    struct snapdisk_rec rec;
    unsigned n = 0;
    char msg[VM_ERR_LEN];
    while (peek_disk(r)) {
        int rc = snapdisk_parse(r, n, &rec, msg, sizeof(msg));
        if (rc)
            return errbuf(err, elen, rc, "restore: %s/state: %s", dir, msg);
        n++;
    }
    unsigned have = ds ? ds->n : 0;
    if (n == 0 && have == 0)
        return 0;
    char *real = realpath(dir, NULL);
    bool same = real && ds && ds->restore_dir && !strcmp(real, ds->restore_dir);
    free(real);
    if (!same)
        return errbuf(err, elen, -EINVAL, "restore: %s: the VM's disks were not opened "
                      "for this snapshot (vm_config restore_dir)", dir);
    if (n != have)
        return errbuf(err, elen, -EINVAL, "restore: %s/state: %u disk sections, the VM "
                      "has %u disks", dir, n, have);
    ds->restored = true;
    return 0;
}
