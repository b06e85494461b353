/* vmm internal: the snapshot directory (docs/snapshot.md).
 *
 * A snapshot is a directory holding
 *   state   the VM's saved state: a header, then sections (util/sstate.h)
 *           each followed by its CRC-32C, then an "end" section;
 *   memory  guest RAM, the regions one after another in address order,
 *           never-written and all-zero pages left as holes (sparse).
 * Both are written crash-safe: memory.tmp is written and fsynced, then
 * state.tmp; memory.tmp is renamed to memory, state.tmp fsynced and
 * renamed to state, and the directory fsynced once for both.  A directory
 * with a valid `state` has a complete `memory`.  Readers treat both as
 * hostile input.
 *
 * Not thread-safe: one writer or reader per snapshot, on the VMM's control
 * thread, with the VM paused. */
#ifndef VESSEL_VMM_SNAPSHOT_H
#define VESSEL_VMM_SNAPSHOT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mem/mem.h"
#include "util/sstate.h"

#define SNAP_FORMAT_VERSION 1

/* Progress of a long write: bytes of guest RAM examined so far and in
 * all (the caller computes rate and time left). */
typedef void (*snap_progress_fn)(void *opaque, uint64_t done, uint64_t total);

/* Write every RAM region of m to DIR/memory.tmp (sparse, fsynced; the
 * snap_state_write that follows names it DIR/memory) and append a
 * "memory" section (the region table: gpa, size, offset in the file) to
 * w.  Returns 0, or -errno with a message in err (the file, the call that
 * failed).  Bytes written go to *written when non-NULL. */
int snap_memory_write(const char *dir, struct mem *m, struct sstate_writer *w,
                      snap_progress_fn progress, void *opaque,
                      uint64_t *written, char *err, size_t elen);

/* Read the "memory" section from r and map DIR/memory into m region by
 * region, copy-on-write: time independent of the RAM size.  Into an m
 * without RAM the regions are added (mem_add_ram_file); into one with RAM
 * its regions must be the snapshot's and are mapped over
 * (mem_ram_map_file; no hart may run).  Returns 0, or -EINVAL (malformed table,
 * file shorter than the table says), -ENOTSUP, -errno, with a message. */
int snap_memory_map(const char *dir, struct mem *m, struct sstate_reader *r,
                    char *err, size_t elen);

/* Write DIR/state: the header and the sections in w (whole sections, as
 * sstate_end left them), each followed by its CRC-32C, and the closing
 * "end" section.  Crash-safe; renames DIR/memory.tmp (written by
 * snap_memory_write or snap_diff_write) to DIR/memory first.  Returns 0
 * or -errno with a message. */
int snap_state_write(const char *dir, const struct sstate_writer *w,
                     char *err, size_t elen);

/* Read and check DIR/state (magic, format version, header and section
 * CRCs, the "end" section, nothing after it).  On success *buf (malloc'd,
 * the caller frees it) holds the sections without their CRCs, ready for
 * sstate_reader_init, and *len their length.  Returns 0, -EINVAL (not a
 * snapshot, corrupt: the message names the section and offset), -ENOTSUP
 * (a newer format), -errno. */
int snap_state_read(const char *dir, uint8_t **buf, size_t *len,
                    char *err, size_t elen);

/* snap_state_read that also gives, on success, the snapshot's identity
 * (a diff names its parent by it): the CRC-32C of the state file's
 * header (its first 24 bytes) followed by its sections, the stored CRCs
 * left out (docs/snapshot.md says why).  crc may be NULL. */
int snap_state_read_crc(const char *dir, uint8_t **buf, size_t *len,
                        uint32_t *crc, char *err, size_t elen);

/* ---- helpers the snapshot files share (snapshot.c) ---- */

/* Write guest RAM [gpa, gpa+len) to fd at byte off, through the mem/ API
 * (pinned while copied).  0 or -errno. */
int snap_write_ram(int fd, struct mem *m, uint64_t gpa, uint64_t len, off_t off);
/* Start write-back of what was written to fd in [*from, upto) once that
 * span reaches SNAP_WRITEBACK_STEP bytes (1 MiB), and move *from to upto.
 * The final fsync then waits for I/O that ran while later pages were still
 * being copied, instead of starting all of it at the end: about 40 % off
 * a full snapshot's time on a disk-bound host.  Offsets must grow from
 * call to call.  A failure here is not an error: the fsync still writes
 * everything and reports what fails. */
#define SNAP_WRITEBACK_STEP (1 << 20)
void snap_writeback_kick(int fd, off_t *from, off_t upto);

/* The same write-back, from a thread of its own (snapwb.c says why), so
 * that the file system's block allocation runs beside the copy.  One
 * writer: snap_wb_start on a file opened for writing, snap_wb_kick with
 * the file's growing written end (bytes; offsets must grow), and
 * snap_wb_stop before the final fsync (it waits for the thread; the fd
 * stays the caller's).  If no thread can be made the kicks run inline;
 * none of the three fails. */
struct snap_wb {
    int fd;
    bool threaded, stop;
    off_t kicked;           /* the writer's last posted end */
    off_t posted;           /* under lock: what the thread should reach */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};
void snap_wb_start(struct snap_wb *wb, int fd);
void snap_wb_kick(struct snap_wb *wb, off_t upto);
void snap_wb_stop(struct snap_wb *wb);
/* True when the MEM_PAGE_SIZE bytes at p (8-byte aligned) are all zero. */
bool snap_page_is_zero(const uint8_t *p);

/* ---- diff snapshots (snapdiff.c, docs/snapshot.md) ----
 *
 * A diff snapshot holds only the pages the guest dirtied since the
 * snapshot before it (its parent, full or diff), and names that parent
 * by absolute path and by the CRC-32C of its state file.  Its state file
 * starts with a "parent" section and a "memdiff" section (the dirty-page
 * bitmap of every region) instead of "memory"; its memory file has the
 * full snapshot's layout with only the dirty non-zero pages written. */

/* A chain is at most this many snapshots long, the full one included. */
#define SNAP_CHAIN_MAX 64

/* The dirty log of every RAM region of an address space, as fetched. */
struct snap_dirty;

/* Fetch and clear the dirty log of every RAM region of m (a memory
 * operation: mem_dirty_fetch with clear; the VM paused, from its control
 * thread).  *out (free with snap_dirty_free) holds the bits.  0, or
 * -ENOMEM, -E2BIG (too many regions), the shootdown's error, with a
 * message; on error the log is as it was. */
int snap_dirty_take(struct mem *m, struct snap_dirty **out, char *err, size_t elen);
/* Mark the pages of d dirty again (mem_mark_dirty): a snapshot that
 * failed after snap_dirty_take leaves the log as it found it. */
void snap_dirty_put_back(struct mem *m, const struct snap_dirty *d);
/* NULL is a no-op. */
void snap_dirty_free(struct snap_dirty *d);

/* Write a diff snapshot's memory: the pages of d that hold data go to
 * DIR/memory.tmp (sparse, at their usual offsets, fsynced; named by
 * snap_state_write); the "parent" section
 * (parent, an absolute path, and parent_crc) and the "memdiff" section
 * (region table and dirty bitmaps) are appended to w.  The VM is paused.
 * Bytes written go to *written when non-NULL.  0, or -errno with a
 * message naming the file. */
int snap_diff_write(const char *dir, struct mem *m, const struct snap_dirty *d,
                    const char *parent, uint32_t parent_crc,
                    struct sstate_writer *w, uint64_t *written,
                    char *err, size_t elen);

/* Map the memory of the snapshot in DIR into m, whose state file's
 * sections r reads (from the start): a full snapshot's "memory" as
 * snap_memory_map does; a diff's chain is walked to its full snapshot
 * (each parent's state file read, checked and its CRC-32C compared with
 * what its child recorded; at most SNAP_CHAIN_MAX snapshots; a loop
 * refused), every table checked against the others, the full one mapped,
 * then each diff laid over it oldest first: runs of dirty pages mapped
 * copy-on-write from its memory file (mem_ram_map_file), or copied in
 * with pread once the runs of the chain pass max_maps (host mappings are
 * a bounded resource).  The dirty log of m is clear afterwards.  r is left
 * after the memory sections.  0, or -EINVAL (malformed, a loop, too long,
 * a parent replaced since: the message names the snapshot and field),
 * -ENOTSUP, -errno.  No hart may run. */
int snap_chain_map(const char *dir, struct mem *m, struct sstate_reader *r,
                   unsigned max_maps, char *err, size_t elen);

/* Runs a restore maps before it copies the rest (snap_chain_map). */
#define SNAP_MAX_MAPS 8192

#endif
