/* mem: the guest-physical address space of one VM.
 *
 * Guest RAM and MMIO device windows live here.  Design rule 2: every other
 * module reaches guest memory only through this API, one page at a time
 * (mem_gpa_to_hva gives a host pointer valid for at most the rest of a
 * 4 KiB page) or as an iovec for device DMA (mem_map_iovec).  Nothing
 * computes host addresses from a "RAM base", which is what lets this
 * module share, balloon, swap and dirty-track pages behind the callers'
 * back.
 *
 * Leases: a host pointer into guest RAM is lent, never owned, and lives
 * only as long as one of these:
 *   - a CPU's pointer (mem_gpa_to_hva, and what mem_load/mem_store touch)
 *     until the next shootdown: the vCPU thread that looked it up may use
 *     it until it leaves its run slice, and must drop it (its TLB, its
 *     LR/SC reservation, decoded code) before it runs again once
 *     mem_map_gen() changed;
 *   - a pinned page (mem_pin, mem_map_iovec) until it is unpinned
 *     (mem_unpin, mem_unpin_iovec), from any thread; a device keeps the
 *     iovecs of a request pinned while it is in flight;
 *   - a copy (mem_read, mem_write) for the call only (pinned inside).
 * A memory operation (mem_replace_page, mem_dirty_fetch with clear) runs
 * with the world stopped: it asks the shootdown callback to park every
 * vCPU, changes the page only when nothing pins it, moves the map
 * generation, then lets the vCPUs go (mem_set_shootdown has the whole
 * contract and the lock order).
 *
 * Thread safety: regions are added while the VM is being built; after that
 * the map is read-only and every function here may be called from any
 * thread unless its comment says otherwise (the dirty log and pin counts
 * are atomic).  Concurrent accesses to the same guest bytes are the
 * guest's business (it is a shared-memory multiprocessor). */
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

/* Free the address space and all guest RAM it owns.  NULL is a no-op.
 * Nothing may use it any more: no memory operation running, no pin. */
void mem_free(struct mem *m);

/* Alignment of anonymous guest RAM's host mapping, bytes: the host's
 * transparent huge page size on x86-64 and arm64 with 4 KiB pages. */
#define MEM_HUGE_ALIGN (2u << 20)

/* At most this many RAM regions per address space. */
#define MEM_MAX_RAM_REGIONS 256

/* Add `size` bytes of zero-filled guest RAM at guest-physical address `gpa`.
 * Both must be multiples of MEM_PAGE_SIZE.  Host memory is reserved lazily
 * (anonymous private mmap): untouched guest pages cost no host RAM (a
 * touched page costs up to its 2 MiB huge page).  Only while the VM is
 * being built (not while harts run).  The host mapping is congruent to
 * gpa modulo MEM_HUGE_ALIGN and advised MADV_HUGEPAGE: the host backs it
 * with 2 MiB transparent huge pages where its THP policy allows, until
 * the first mem_discard of part of a 2 MiB block.
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

/* Replace the contents of the RAM range [gpa, gpa+size) (page aligned,
 * inside one region: a whole region, or a run of its pages) with `size`
 * bytes of file `fd` from byte `offset`, mapped copy-on-write at the same
 * host addresses (as mem_add_ram_file maps a new one): restoring a
 * snapshot's memory into a built board in time independent of its size,
 * and laying a diff snapshot's pages over it.  Each call over part of a
 * region costs the host one more mapping (vm.max_map_count bounds them).
 * Only while no hart runs; the range's dirty bits are cleared and the map
 * generation moves.  fd is borrowed.
 * Errors: -EINVAL not inside one region, empty, or misaligned; mmap's
 * -errno (-ENOMEM: out of mappings). */
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

/* Host pointer for guest-physical `gpa`, for the bytes up to the end of
 * its 4 KiB page; *avail (if non-NULL) receives that count.  Returns NULL
 * when gpa is not RAM, or is RAM overlaid by a device window (then use
 * mem_load/mem_store).
 * Lease: until the next shootdown.  Only for a thread that the shootdown
 * stops (a vCPU thread, inside its run slice: its TLB fills, page-table
 * walks, AMOs), or while no memory operation can run (the VM is being
 * built, or the caller serialises with them); any other thread pins
 * (mem_pin).  A vCPU drops every such pointer before it runs again once
 * mem_map_gen() changed.
 * `write`: the caller may write through the pointer, so the page is marked
 * in the dirty log (mem_dirty_fetch); a store TLB looks pages up again
 * with write = true after a generation change, which marks them again. */
void *mem_gpa_to_hva(struct mem *m, uint64_t gpa, uint64_t *avail, bool write);

/* Pin the RAM page holding `gpa` (overlaid or not) and return a host
 * pointer to gpa, valid for the bytes up to the end of its page (*avail
 * if non-NULL) until mem_unpin().  While pinned the page keeps its host
 * backing: memory operations refuse it (-EBUSY).  If the page is being
 * moved right now, waits until the move is done (microseconds; the mover
 * never waits for a pinner, so this cannot deadlock).  `write` marks the
 * page dirty, as for mem_gpa_to_hva.  Returns NULL when gpa is not RAM.
 * Any thread.  Pins nest: each pin needs its own unpin. */
void *mem_pin(struct mem *m, uint64_t gpa, uint64_t *avail, bool write);

/* Release a pin taken by mem_pin: `hva` is any address inside the pinned
 * page (normally what mem_pin returned).  `written`: the caller wrote
 * through the pointer, so the page is marked dirty again (a dirty-log
 * clear may have run since the pin).  An address that is not guest RAM
 * is ignored.  Any thread. */
void mem_unpin(struct mem *m, const void *hva, bool written);

/* Mark the pages of [gpa, gpa+len) dirty, for a write made through a
 * pointer looked up for reading (a page-table A/D update) or through a
 * mapping held across dirty-log clears (a virtqueue's pinned used ring).
 * Call it after the write: a clear in between then misses nothing.
 * Non-RAM bytes are ignored. */
void mem_mark_dirty(struct mem *m, uint64_t gpa, uint64_t len);

/* True when [gpa, gpa+len) is entirely guest RAM. */
bool mem_is_ram(struct mem *m, uint64_t gpa, uint64_t len);

/* One CPU-style access of `size` (1, 2, 4 or 8) bytes, little-endian: a
 * device window first, else RAM (an access may straddle two RAM pages).
 * RAM is reached without a pin, as through mem_gpa_to_hva: for vCPU
 * threads (and threads that run while no memory operation can).
 * Errors: -EFAULT nothing there or the access straddles a window's end
 * (the CPU turns this into an access fault). */
int mem_load(struct mem *m, uint64_t gpa, unsigned size, uint64_t *val);
int mem_store(struct mem *m, uint64_t gpa, unsigned size, uint64_t val);

/* Copy between a host buffer and guest RAM (RAM only, any length, any
 * alignment), each page pinned while it is copied: any thread.
 * Errors: -EFAULT when any byte is not RAM (nothing is copied in that
 * case). */
int mem_read(struct mem *m, uint64_t gpa, void *buf, size_t len);
int mem_write(struct mem *m, uint64_t gpa, const void *buf, size_t len);

/* mem_read for a vCPU thread inside its run slice (a CPU's instruction
 * fetch into its decoded-code cache): no pin, the shootdown covers it as
 * it covers mem_gpa_to_hva.  A pin here would cost two atomics per copy
 * and make a memory operation refuse the page (-EBUSY) while nothing is
 * in flight on it. */
int mem_cpu_read(struct mem *m, uint64_t gpa, void *buf, size_t len);

/* Describe the guest buffer [gpa, gpa+len) as host iovecs for DMA, merging
 * host-contiguous pages, and pin every page of it (mem_pin): the iovecs
 * stay valid, from any thread, until mem_unpin_iovec() releases them,
 * which the caller must do exactly once (a device: when the request
 * completes, virtq_push).  At most iov_max entries are written; *iov_cnt
 * gets the number used.  `write`: the device will write the buffer (a
 * device-writable descriptor, Virtio 1.2 2.7.5), so its pages are marked
 * dirty now, and again at the unpin.  Errors (nothing is left pinned):
 * -EFAULT part of the range is not RAM (or wraps), -E2BIG it needs more
 * than iov_max entries. */
int mem_map_iovec(struct mem *m, uint64_t gpa, uint64_t len, bool write,
                  struct iovec *iov, int iov_max, int *iov_cnt);

/* Release the pins of iov[0..n), iovecs that mem_map_iovec gave (one call
 * each, in any grouping: each iovec is unpinned page by page).  `written`:
 * the device wrote them, so their pages are marked dirty again, which
 * makes a DMA write that a dirty-log clear raced with show in the next
 * fetch.  Zero-length entries and addresses that are not guest RAM are
 * ignored.  Any thread. */
void mem_unpin_iovec(struct mem *m, const struct iovec *iov, int n, bool written);

/* ---- dirty log (snapshots, live migration) ----
 * Every write lookup (mem_gpa_to_hva with write, mem_map_iovec with
 * write), every mem_write/mem_store to RAM and mem_mark_dirty sets a bit
 * per 4 KiB page.  Always on: the cost is one bit test per write lookup,
 * not per store (CPU stores hit a TLB filled by a write lookup). */

/* Copy the dirty bits of the RAM range [gpa, gpa+size) (page aligned,
 * inside one RAM region) into bitmap: bit i (of 64-bit word i/64) is page
 * gpa + i * 4 KiB; the caller provides ceil(pages/64) words.  With
 * `clear`, a memory operation (mem_set_shootdown): with the world
 * stopped, map_gen moves (every write mapping is revoked) and the bits
 * are fetched and cleared; a store after it needs a new write lookup,
 * which marks the page again.  A thread that may run with `clear` is one
 * that may call mem_replace_page.  Errors: -EINVAL misaligned, empty or
 * not one region's RAM; the shootdown's error (nothing cleared). */
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

/* Generation of the address space's mappings, moved by every memory
 * operation: a vCPU compares it at the start of each run slice and, when
 * it changed, drops its CPU leases (TLBs, LR/SC reservation) and
 * revalidates its decoded and translated code before it executes. */
uint64_t mem_map_gen(const struct mem *m);

/* A count that moves whenever guest RAM may have been written other than
 * by a vCPU's own stores (mem_store, and the pointers mem_gpa_to_hva
 * gives a vCPU): by mem_write, through iovecs mapped for writing (when
 * mapped, and again when unpinned as written), through a pinned page
 * unpinned as written, by mem_mark_dirty, and at mem_note_write.  A vCPU
 * that sees it unchanged since it last looked knows its decoded code
 * still matches RAM wherever its own stores did not reach (Zifencei:
 * FENCE.I).  Any thread; acquire. */
uint64_t mem_write_count(const struct mem *m);

/* Move mem_write_count: a device calls it after writing guest RAM and
 * before it makes the write known to the guest (a used-ring index), so
 * that a vCPU that has seen the news sees the count moved.  Any thread;
 * release. */
void mem_note_write(struct mem *m);

/* ---- memory operations and the shootdown ----
 *
 * A memory operation runs with the world stopped:
 *   1. it takes the address space's operation lock (operations are
 *      serialised);
 *   2. fn(opaque, MEM_SHOOTDOWN_STOP) makes every vCPU of the address
 *      space leave its run slice and stay parked, and returns only when
 *      all are parked; or it fails (-errno) and the operation changes
 *      nothing and returns that error;
 *   3. the operation changes pages that nothing pins (it marks each one
 *      moving first, so that a device thread's mem_pin waits instead of
 *      reaching the page mid-change) and moves mem_map_gen();
 *   4. fn(opaque, MEM_SHOOTDOWN_RELEASE) lets the vCPUs run again; each
 *      sees the new generation before its next guest instruction.
 * With no callback registered, the caller of an operation guarantees that
 * no vCPU runs meanwhile (the VM is being built, or a test drives its
 * harts itself).
 *
 * Threads and lock order.  Operations (and so the callback) run on the
 * calling thread, which must not be a vCPU thread of this address space,
 * nor hold anything a vCPU may wait for before it reaches its parking
 * point: no device or virtqueue lock, not inside an MMIO callback (the
 * VMM's STOP refuses a vCPU thread with -EDEADLK).  Order: the caller's
 * own locks (the VMM's control lock) -> the operation lock -> the
 * callback's locks (the VMM's parking lock, a vCPU's lock).  Pages are
 * marked moving only after STOP returned, so no vCPU (an MMIO callback
 * included) ever waits for a move; a device thread that does (mem_pin,
 * mem_map_iovec, mem_read/mem_write) may hold a virtqueue lock, since
 * the mover takes none and waits for no device thread.  The callback
 * must not call the operations or mem_set_shootdown. */
enum mem_shootdown_phase {
    MEM_SHOOTDOWN_STOP,         /* park every vCPU; 0 or -errno */
    MEM_SHOOTDOWN_RELEASE,      /* let them run (must succeed) */
};

/* Register the VMM's shootdown callback (NULL unsets it); waits for a
 * memory operation in progress.  fn and opaque are borrowed and must
 * outlive m or be unset first.  Any thread but a vCPU's. */
void mem_set_shootdown(struct mem *m,
                       int (*fn)(void *opaque, enum mem_shootdown_phase phase),
                       void *opaque);

/* Give the RAM page at `gpa` (page aligned) new host memory with the same
 * contents, a memory operation (see above): the old host page is freed
 * and a fresh one holds a copy, at the same host address (a pointer
 * leased before the shootdown still sees the same bytes, never freed
 * memory).  The dirty log is unchanged: the guest wrote nothing.  This is
 * the primitive under page sharing, swapping and ballooning, and what the
 * tests use to prove that the leases hold.
 * Errors: -EINVAL misaligned or not RAM; -EBUSY the page is pinned (a
 * device request is in flight on it: try again after it completes);
 * -EOPNOTSUPP the host's pages are not 4 KiB; the shootdown's error. */
int mem_replace_page(struct mem *m, uint64_t gpa);

/* Give the host back the RAM pages of [gpa, gpa+len) (page aligned, in
 * one region): the balloon's inflate and free-page reporting (Virtio 1.2
 * section 5.5.6).  The host address stays mapped; the pages read as zeros
 * afterwards (or as the file's bytes on a region mapped from a snapshot's
 * memory file, whose private copies are dropped), and the next write
 * faults in a fresh page.  The pages are marked dirty.  The first
 * discard of part of a 2 MiB block advises the whole region
 * MADV_NOHUGEPAGE, so the host's khugepaged does not fill the dropped
 * pages back in (docs/mem.md "Huge pages").  Not a memory
 * operation: no shootdown, any thread; only for pages the guest gave up
 * (a racing guest access is the guest's own bug, never the host's).
 * Errors: -EINVAL misaligned, empty-wrapped or not all in one RAM region;
 * -EOPNOTSUPP the host's pages are not 4 KiB (nothing dropped); madvise's
 * error. */
int mem_discard(struct mem *m, uint64_t gpa, uint64_t len);
/* The same for the whole pages inside host ranges that mem_map_iovec
 * gave (a virtqueue chain's buffers; partial pages at either end are
 * kept).  *discarded (may be NULL): bytes given back.  -EINVAL when a
 * range is empty or not inside one RAM region, or mem_discard's error
 * (nothing further is discarded). */
int mem_discard_iovec(struct mem *m, const struct iovec *iov, int n, uint64_t *discarded);

/* Total bytes of guest RAM, and the lowest RAM address (for boot loaders
 * that must place images; they still write through mem_write). */
uint64_t mem_ram_size(const struct mem *m);

/* Bytes of guest RAM currently resident in host memory (pages the guest
 * has touched and the host has not reclaimed), by mincore(2). */
uint64_t mem_ram_resident(const struct mem *m);
uint64_t mem_ram_base(const struct mem *m);

#endif
