/* vmm internal: the snapshot directory (docs/snapshot.md).
 *
 * A snapshot is a directory holding
 *   state   the VM's saved state: a header, then sections (util/sstate.h)
 *           each followed by its CRC-32C, then an "end" section;
 *   memory  guest RAM, the regions one after another in address order,
 *           never-written and all-zero pages left as holes (sparse).
 * Both are written crash-safe (temporary file, fsync, rename, fsync of the
 * directory), memory first: a directory with a valid `state` has a
 * complete `memory`.  Readers treat both as hostile input.
 *
 * Not thread-safe: one writer or reader per snapshot, on the VMM's control
 * thread, with the VM paused. */
#ifndef VESSEL_VMM_SNAPSHOT_H
#define VESSEL_VMM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "mem/mem.h"
#include "util/sstate.h"

#define SNAP_FORMAT_VERSION 1

/* Progress of a long write: bytes of guest RAM examined so far and in
 * all (the caller computes rate and time left). */
typedef void (*snap_progress_fn)(void *opaque, uint64_t done, uint64_t total);

/* Write every RAM region of m to DIR/memory (sparse) and append a
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
 * "end" section.  Crash-safe.  Returns 0 or -errno with a message. */
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

#endif
