/* mem: the guest-physical address space of one VM.
 *
 * Guest RAM and MMIO device windows live here.  Design rule 2: every other
 * module reaches guest memory only through this API, one page at a time
 * (mem_gpa_to_hva gives a host pointer valid for at most the rest of a
 * 4 KiB page) or as an iovec for device DMA (mem_map_iovec).  Nothing
 * computes host addresses from a "RAM base", which is what later lets this
 * module share, balloon, swap and dirty-track pages behind the callers' back.
 *
 * Thread safety: regions are added while the VM is being built; after that
 * the map is read-only and every function here may be called from any
 * thread (the dirty log is atomic).  Concurrent accesses to the same guest bytes are the guest's
 * business (it is a shared-memory multiprocessor). */
#ifndef VESSEL_MEM_H
#define VESSEL_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define MEM_PAGE_SHIFT 12
#define MEM_PAGE_SIZE  (1ULL << MEM_PAGE_SHIFT)
#define MEM_PAGE_MASK  (~(MEM_PAGE_SIZE - 1))

struct mem;

/* A device's register window.  `off` is the byte offset from the window's
 * base, `size` is 1, 2, 4 or 8 bytes.  read returns the value zero-extended.
 * Callbacks run on the accessing vCPU's thread and must do their own
 * locking against other threads. */
struct mmio_ops {
    uint64_t (*read)(void *opaque, uint64_t off, unsigned size);
    void (*write)(void *opaque, uint64_t off, uint64_t val, unsigned size);
};

/* Create an empty address space.  Returns NULL on allocation failure.
 * The caller owns it and frees it with mem_free(). */
struct mem *mem_new(void);

/* Free the address space and all guest RAM it owns.  NULL is a no-op. */
void mem_free(struct mem *m);

/* At most this many RAM regions per address space. */
#define MEM_MAX_RAM_REGIONS 256

/* Add `size` bytes of zero-filled guest RAM at guest-physical address `gpa`.
 * Both must be multiples of MEM_PAGE_SIZE.  Host memory is reserved lazily
 * (anonymous private mmap): untouched guest pages cost no host RAM, and
 * the host may back it with transparent huge pages.  Only while the VM is
 * being built (not while harts run).
 * Errors: -EINVAL misaligned/zero size/wraps, -EEXIST overlaps an existing
 * RAM region, -ENOSPC more than MEM_MAX_RAM_REGIONS, -ENOMEM host mmap
 * failed. */
int mem_add_ram(struct mem *m, uint64_t gpa, uint64_t size);

/* Add guest RAM whose contents are `size` bytes of file `fd` from byte
 * `offset` (page aligned), mapped copy-on-write: pages are read from the
 * file (its page cache) on first access, and guest writes stay private to
 * this address space; the file is never written.  This is how a
 * snapshot's memory file is restored without copying it (holes read as
 * zeros).  fd is borrowed: it may be closed after the call.  Errors as
 * mem_add_ram, plus -EINVAL a misaligned or overflowing offset, and
 * mmap's errno (-EACCES, -ENODEV: a file that cannot be mapped). */
int mem_add_ram_file(struct mem *m, uint64_t gpa, uint64_t size, int fd,
                     uint64_t offset);

/* Replace the contents of the existing RAM region [gpa, gpa+size) (exactly
 * one region, as added) with `size` bytes of file `fd` from byte `offset`,
 * mapped copy-on-write at the same host addresses (as mem_add_ram_file
 * maps a new one): restoring a snapshot's memory into a built board in
 * time independent of its size.  Only while no hart runs; the region's
 * dirty bits are cleared and the map generation moves.  fd is borrowed.
 * Errors: -EINVAL no such region or a misaligned offset, mmap's -errno. */
int mem_ram_map_file(struct mem *m, uint64_t gpa, uint64_t size, int fd,
                     uint64_t offset);

/* One RAM region: guest-physical base and size, bytes. */
struct mem_ram_info {
    uint64_t gpa, size;
};
/* Copy up to `max` regions, in ascending gpa order, into out; returns the
 * number of regions there are (which may exceed max). */
int mem_ram_regions(const struct mem *m, struct mem_ram_info *out, int max);

/* Register a device window of `size` bytes at `gpa` (any alignment).
 * A window may lie over RAM (used for the HTIF tohost/fromhost words):
 * the RAM pages it touches are then reached only through mem_load /
 * mem_store, which try the window first.  `ops` and `opaque` are borrowed
 * and must outlive `m`.
 * Errors: -EINVAL zero size or wraps, -EEXIST overlaps another window,
 * -ENOSPC too many windows. */
int mem_add_mmio(struct mem *m, uint64_t gpa, uint64_t size,
                 const struct mmio_ops *ops, void *opaque);

/* Host pointer for guest-physical `gpa`, valid for the bytes up to the end
 * of its 4 KiB page; *avail (if non-NULL) receives that count.  Returns NULL
 * when gpa is not RAM, or is RAM overlaid by a device window (then use
 * mem_load/mem_store).  The pointer stays valid until mem_free().
 * `write`: the caller may write through the pointer, so the page is marked
 * in the dirty log (mem_dirty_fetch); a caller that keeps the pointer for
 * later writes (a CPU's store TLB) must drop it when mem_map_gen() changes,
 * and look it up again with write = true. */
void *mem_gpa_to_hva(struct mem *m, uint64_t gpa, uint64_t *avail, bool write);

/* Mark the pages of [gpa, gpa+len) dirty, for a write made through a
 * pointer looked up for reading (a page-table A/D update).  Non-RAM bytes
 * are ignored. */
void mem_mark_dirty(struct mem *m, uint64_t gpa, uint64_t len);

/* True when [gpa, gpa+len) is entirely guest RAM. */
bool mem_is_ram(struct mem *m, uint64_t gpa, uint64_t len);

/* One CPU-style access of `size` (1, 2, 4 or 8) bytes, little-endian: a
 * device window first, else RAM (an access may straddle two RAM pages).
 * Errors: -EFAULT nothing there or the access straddles a window's end
 * (the CPU turns this into an access fault). */
int mem_load(struct mem *m, uint64_t gpa, unsigned size, uint64_t *val);
int mem_store(struct mem *m, uint64_t gpa, unsigned size, uint64_t val);

/* Copy between a host buffer and guest RAM (RAM only, any length, any
 * alignment).  Errors: -EFAULT when any byte is not RAM (nothing is
 * copied in that case). */
int mem_read(struct mem *m, uint64_t gpa, void *buf, size_t len);
int mem_write(struct mem *m, uint64_t gpa, const void *buf, size_t len);

/* Describe the guest buffer [gpa, gpa+len) as host iovecs for DMA, merging
 * host-contiguous pages.  At most iov_max entries are written; *iov_cnt gets
 * the number used.  `write`: the device will write the buffer (a
 * device-writable descriptor, Virtio 1.2 2.7.5), so its pages are marked
 * dirty now; the state of a VM is saved only after its devices have
 * completed such requests (quiesce).  Errors: -EFAULT part of the range is
 * not RAM (or wraps), -E2BIG it needs more than iov_max entries. */
int mem_map_iovec(struct mem *m, uint64_t gpa, uint64_t len, bool write,
                  struct iovec *iov, int iov_max, int *iov_cnt);

/* ---- dirty log (snapshots, live migration) ----
 * Every write lookup (mem_gpa_to_hva with write, mem_map_iovec with
 * write), every mem_write/mem_store to RAM and mem_mark_dirty sets a bit
 * per 4 KiB page.  Always on: the cost is one bit test per write lookup,
 * not per store (CPU stores hit a TLB filled by a write lookup). */

/* Copy the dirty bits of the RAM range [gpa, gpa+size) (page aligned,
 * inside one RAM region) into bitmap: bit i (of 64-bit word i/64) is page
 * gpa + i * 4 KiB; the caller provides ceil(pages/64) words.  With
 * `clear`, the bits are cleared and every write mapping is revoked first:
 * map_gen is bumped and the shootdown callback (mem_set_shootdown) runs,
 * which must return only when no hart can still store through a mapping
 * made before; with no callback, the caller guarantees that no hart is
 * running (a paused VM) and harts drop their mappings when they next see
 * the new map_gen.  Errors: -EINVAL misaligned, empty or not one region's
 * RAM. */
int mem_dirty_fetch(struct mem *m, uint64_t gpa, uint64_t size,
                    uint64_t *bitmap, bool clear);

/* Which pages of the RAM range [gpa, gpa+size) (page aligned, one region)
 * may hold data: bit i set unless page gpa + i * 4 KiB was never written
 * (it is neither resident nor swapped out, so it reads as zeros).  For
 * writers of sparse memory files, which still check set pages for zeros.
 * Conservative: a file-backed region, or a host where this cannot be
 * known, reports every page.  The caller provides ceil(pages/64) words.
 * Errors: -EINVAL misaligned, empty or not one region's RAM. */
int mem_ram_populated(struct mem *m, uint64_t gpa, uint64_t size,
                      uint64_t *bitmap);

/* Generation of the address space's mappings: harts compare it before each
 * run slice and flush their TLBs when it changed. */
uint64_t mem_map_gen(const struct mem *m);

/* Register the VMM's shootdown: called (from the thread that revokes
 * mappings) to make every hart drop its write mappings before it stores
 * again; kick the harts and wait until each has seen mem_map_gen().  The
 * function and opaque are borrowed and must outlive m (or be unset with
 * NULL). */
void mem_set_shootdown(struct mem *m, void (*fn)(void *opaque), void *opaque);

/* Total bytes of guest RAM, and the lowest RAM address (for boot loaders
 * that must place images; they still write through mem_write). */
uint64_t mem_ram_size(const struct mem *m);

/* Bytes of guest RAM currently resident in host memory (pages the guest
 * has touched and the host has not reclaimed), by mincore(2). */
uint64_t mem_ram_resident(const struct mem *m);
uint64_t mem_ram_base(const struct mem *m);

#endif
