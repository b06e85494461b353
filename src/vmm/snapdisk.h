/* vmm internal: disks in memory snapshots (docs/snapshot.md "Disks").
 *
 * At snapshot time every disk of the VM gets one "disk" section in the
 * state file:
 *   - a writable qcow2 disk is frozen: its image P becomes the read-only
 *     backing file of a new overlay N beside it, on which the VM goes on
 *     (block_overlay_push); the snapshot names P;
 *   - a snapshot=on disk's temporary overlay is copied into the snapshot
 *     directory as disk<i>.qcow2 over the user's base image B;
 *   - a read-only disk is only recorded;
 *   - a writable raw disk is refused, unless the snapshot was asked for
 *     "disks":"external": then its content is copied, sparse, into the
 *     snapshot directory as disk<i>.raw (snapraw.c) and a restore runs
 *     on a qcow2 overlay over that copy.
 * Each section carries the image's identity (size, mtime, CRC-32C of its
 * first 64 KiB) so that a restore refuses an image changed since; a raw
 * copy's section carries the copy's identity too.
 *
 * Threads: the VMM's control calls (vm->lock held), like snapshot.h. */
#ifndef VESSEL_VMM_SNAPDISK_H
#define VESSEL_VMM_SNAPDISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/virt.h"
#include "util/sstate.h"
#include "vmm/snapshot.h"
#include "vmm/vmm.h"

struct block_dev;
struct vm;

/* The newest "disk" section version read and written.  Version 2 adds the
 * identity of a raw copy; roles 1-3 are still written as version 1, so
 * that their snapshots stay readable by a reader of version 1. */
#define SNAPDISK_VERSION 2
#define SNAPDISK_PATH_MAX 4095          /* bytes of a recorded path */
#define SNAPDISK_ID_BYTES (64u << 10)   /* bytes covered by the identity CRC */

enum snapdisk_role {
    SNAPDISK_FROZEN = 1,        /* writable qcow2: path is the frozen P */
    SNAPDISK_TEMP = 2,          /* snapshot=on: path is the base B; the
                                   data is DIR/disk<index>.qcow2 */
    SNAPDISK_READONLY = 3,      /* readonly=on: path is the image */
    SNAPDISK_RAWCOPY = 4,       /* writable raw, "disks":"external": path is
                                   the image (not used by a restore); the
                                   data is DIR/disk<index>.raw (version 2) */
};

/* One "disk" section (version 1, or 2 for SNAPDISK_RAWCOPY), host-independent. */
struct snapdisk_rec {
    uint32_t index;             /* the disk's position among --disk options */
    uint32_t role;              /* enum snapdisk_role */
    char path[SNAPDISK_PATH_MAX + 1];  /* absolute, NUL-terminated */
    uint64_t virtual_size;      /* bytes, a non-zero multiple of 512 */
    uint64_t file_size;         /* bytes of the host file */
    uint64_t mtime_ns;          /* its modification time, ns since the epoch */
    uint32_t crc;               /* CRC-32C of its first SNAPDISK_ID_BYTES */
    /* SNAPDISK_RAWCOPY only (version 2; 0 otherwise): the identity of
     * DIR/disk<index>.raw, whose size is virtual_size. */
    uint64_t copy_size;         /* bytes */
    uint64_t copy_mtime_ns;
    uint32_t copy_crc;
};

/* Append rec as a "disk" section to w (errors stick in w). */
void snapdisk_put(struct sstate_writer *w, const struct snapdisk_rec *rec);

/* Read the next section of r as a "disk" section into *rec and validate
 * every field (index == `want_index`, a known role (4 only in version 2),
 * an absolute path of 1 to SNAPDISK_PATH_MAX bytes without NUL, a virtual
 * size that is a non-zero multiple of 512; in version 2 a copy size equal
 * to the virtual size for role 4, copy fields all 0 for the others).  Returns 0, or -EINVAL / -ENOTSUP (a newer
 * version) with a message naming the field and the value. */
int snapdisk_parse(struct sstate_reader *r, unsigned want_index,
                   struct snapdisk_rec *rec, char *err, size_t elen);

/* Fill rec's file_size, mtime_ns and crc from the file at `path`.
 * Returns 0, or -errno (message names the file). */
int snapdisk_identity(const char *path, struct snapdisk_rec *rec, char *err,
                      size_t elen);

/* Every "disk" section in the sections buf[0, len) (as snap_state_read
 * returns them), in order: *recs (malloc'd, caller frees; NULL when none)
 * and *n.  Returns 0, or an error of snapdisk_parse. */
int snapdisk_scan(const uint8_t *buf, size_t len, struct snapdisk_rec **recs,
                  unsigned *n, char *err, size_t elen);

/* ---- the VM's disks (shared by disks.c and snapdisk.c) ---- */

struct vmm_disk_ent {
    struct block_dev *bd;       /* the top image the device uses */
    char *path;                 /* as the user gave it */
    char *top;                  /* the top image's file (GET /vm): path, or
                                   the overlay a snapshot or a restore put
                                   on top */
    char *prev_top;             /* top before the last snapshot's freeze */
    char *overlay;              /* --disk-overlay file this open created
                                   (removed if the VM is not created) */
    enum vm_disk_format format;
    bool read_only, snapshot;
    bool temp_copy;             /* runs on a temporary overlay over a
                                   snapshot's raw copy (nowhere to freeze) */
    unsigned flags;             /* block_open flags of the top image */
};

struct vmm_disks {
    unsigned n;
    struct vmm_disk_ent d[VIRT_VIRTIO_SLOTS];
    struct virt_disk vd[VIRT_VIRTIO_SLOTS];
    char serial[VIRT_VIRTIO_SLOTS][21];
    char *restore_dir;          /* real path of the snapshot the disks were
                                   opened for (vm_config restore_dir) */
    bool restored;              /* snapdisk_restore accepted the snapshot */
};

/* What vmm_disks_open does for one disk of a VM restored from a snapshot. */
struct snapdisk_plan {
    enum snapdisk_role role;
    const char *overlay;        /* FROZEN, RAWCOPY: --disk-overlay file, or NULL */
    char base[4096];            /* TEMP: DIR/disk<i>.qcow2; RAWCOPY: DIR/disk<i>.raw */
    uint64_t size;              /* RAWCOPY: the disk's virtual size, bytes */
    char image[SNAPDISK_PATH_MAX + 1];  /* the recorded image (P or B) */
};

/* Check the disks of cfg against the snapshot cfg->restore_dir before
 * anything is opened: one section per disk, each --disk naming the
 * snapshot's image (same real path, matching readonly/snapshot options),
 * each image with the recorded identity, each --disk-overlay file new.
 * Fills plan[0..cfg->ndisks).  Returns 0, or -errno with the message as
 * the VM's error (vm_fail): the disk, the file and what differs. */
int snapdisk_plan(struct vm *v, const struct vm_config *cfg,
                  struct snapdisk_plan *plan);

/* Open disk `i` of a restored VM as plan says (FROZEN with an overlay:
 * create it over the image; TEMP: a temporary overlay over plan->base);
 * *bd and e->top/e->overlay are set.  0 or -errno (vm_fail). */
int snapdisk_open(struct vm *v, const struct vm_disk *d, const struct snapdisk_plan *p,
                  struct vmm_disk_ent *e, struct block_dev **bd);

/* The temporary overlay of a snapshot=on disk over `base` (the user's
 * image, or a snapshot's disk<i>.qcow2), allowing backing files from
 * extra_dir besides d's own (NULL: none).  disks.c. */
int vmm_disk_open_temp(struct vm *v, const struct vm_disk *d, const char *base,
                       const char *extra_dir, struct block_dev **out);

/* Snapshot time, before anything is written: refuse a writable raw disk
 * unless raw_external (-ENOTSUP, message in err naming the disk and
 * "disks":"external"), and a disk on a temporary overlay over a raw copy. */
int snapdisk_check(struct vm *v, bool raw_external, char *err, size_t elen);

/* Snapshot time, VM paused and quiesced: the disks' part of the snapshot
 * in dir (disk<i>.qcow2 files, disk<i>.raw copies when raw_external,
 * frozen images) and their sections in w.
 * On failure everything it did is undone.  *frozen (bit i) tells
 * snapdisk_unfreeze what to undo if the snapshot fails later. */
int snapdisk_snapshot(struct vm *v, const char *dir, bool raw_external,
                      struct sstate_writer *w, uint32_t *frozen, char *err, size_t elen);

/* Undo the freezes of snapdisk_snapshot (bits of `frozen`): the VM goes
 * back to writing its images, the overlays are removed. */
void snapdisk_unfreeze(struct vm *v, uint32_t frozen);

/* Remove the disk<i>.qcow2 and disk<i>.raw files (and their .tmp) of a
 * failed snapshot in dir. */
void snapdisk_remove_files(const char *dir);

/* Restore time (vm_restore), after the machine state: read the "disk"
 * sections and check they are those the disks were opened for
 * (snapdisk_plan with the same directory).  0 or -EINVAL (message). */
int snapdisk_restore(struct vm *v, const char *dir, struct sstate_reader *r,
                     char *err, size_t elen);

/* The file the VM's disk i runs on now, copied into buf (GET /vm).
 * Returns buf, or NULL when there is no disk i. */
const char *snapdisk_top(struct vm *v, unsigned i, char *buf, size_t len,
                         bool *read_only);

/* ---- raw copies (snapraw.c) ---- */

/* Copy the `size` bytes of the open file `in` into `out` (both regular
 * files; out empty), sparse: only the data ranges SEEK_DATA/SEEK_HOLE
 * find in `in` are copied (copy_file_range, or pread/pwrite where the
 * kernel or the filesystems refuse it), holes stay holes, out is sized
 * to `size`.  progress (may be NULL) is called after each piece of at
 * most 8 MiB with the data bytes copied and an estimate of all of them
 * (in's allocated bytes).  *copied gets the data bytes.  Returns 0, or
 * -errno (-ENOSPC, -EFBIG, -EIO, ...; -EIO too when in ends before
 * `size`) with a message naming `what_in` or `what_out` and the offset. */
int snapraw_copy_fd(int in, int out, uint64_t size, const char *what_in,
                    const char *what_out, snap_progress_fn progress, void *opaque,
                    uint64_t *copied, char *err, size_t elen);

/* Snapshot time, VM paused: copy disk i's raw image (rec->path, open as
 * e->bd, drained and flushed first) into dir/disk<i>.raw crash-safe
 * (temporary file, fsync, rename) and fill rec's copy fields.  Progress
 * goes to the VM's log for a copy that takes more than a second.  On
 * failure nothing is left in dir.  0 or -errno with a message. */
int snapraw_snapshot(struct vm *v, unsigned i, struct vmm_disk_ent *e, const char *dir,
                     struct snapdisk_rec *rec, char *err, size_t elen);

/* Restore time, before anything is opened: check dir/disk<i>.raw against
 * rec (a regular file, not a symlink, of the recorded identity) and fill
 * p->base and p->size.  0 or -errno with the message as the VM's error. */
int snapraw_plan(struct vm *v, const char *dir, unsigned i, const struct snapdisk_rec *rec,
                 struct snapdisk_plan *p);

/* Open disk i of a restored VM on a new qcow2 overlay over p->base (raw,
 * read-only and read-locked): p->overlay when given (created, must not
 * exist), else a temporary file in $TMPDIR, unlinked at once.  The
 * user's raw image is not opened.  0 or -errno (vm_fail). */
int snapraw_open(struct vm *v, const struct vm_disk *d, const struct snapdisk_plan *p,
                 struct vmm_disk_ent *e, struct block_dev **bd);

#endif
