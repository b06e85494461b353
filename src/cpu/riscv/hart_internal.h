/* cpu/riscv internal: hart state shared by the decoder, interpreter, CSR,
 * trap and MMU files.  Not part of the module's public API (hart.h). */
#ifndef VESSEL_RISCV_HART_INTERNAL_H
#define VESSEL_RISCV_HART_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cpu/riscv/hart.h"
#include "cpu/riscv/ops.h"
#include "util/util.h"

/* ---- privilege modes ---- */
enum { PRV_U = 0, PRV_S = 1, PRV_M = 3 };

/* ---- exception causes (Privileged spec table 3.6) ---- */
enum {
    EXC_INSN_MISALIGNED = 0, EXC_INSN_ACCESS = 1, EXC_ILLEGAL = 2,
    EXC_BREAKPOINT = 3, EXC_LOAD_MISALIGNED = 4, EXC_LOAD_ACCESS = 5,
    EXC_STORE_MISALIGNED = 6, EXC_STORE_ACCESS = 7, EXC_ECALL_U = 8,
    EXC_ECALL_S = 9, EXC_ECALL_M = 11, EXC_INSN_PAGE = 12,
    EXC_LOAD_PAGE = 13, EXC_STORE_PAGE = 15,
};

/* ---- mstatus fields ---- */
#define MSTATUS_SIE  (1ULL << 1)
#define MSTATUS_MIE  (1ULL << 3)
#define MSTATUS_SPIE (1ULL << 5)
#define MSTATUS_UBE  (1ULL << 6)
#define MSTATUS_MPIE (1ULL << 7)
#define MSTATUS_SPP  (1ULL << 8)
#define MSTATUS_VS   (3ULL << 9)
#define MSTATUS_MPP  (3ULL << 11)
#define MSTATUS_FS   (3ULL << 13)
#define MSTATUS_XS   (3ULL << 15)
#define MSTATUS_MPRV (1ULL << 17)
#define MSTATUS_SUM  (1ULL << 18)
#define MSTATUS_MXR  (1ULL << 19)
#define MSTATUS_TVM  (1ULL << 20)
#define MSTATUS_TW   (1ULL << 21)
#define MSTATUS_TSR  (1ULL << 22)
#define MSTATUS_UXL  (3ULL << 32)
#define MSTATUS_SXL  (3ULL << 34)
#define MSTATUS_SD   (1ULL << 63)
#define MSTATUS_FS_SHIFT 13
#define MSTATUS_MPP_SHIFT 11
/* Writable fields: what csr.c accepts and a restored state may hold. */
#define MSTATUS_WMASK (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | \
                       MSTATUS_SPP | MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV |   \
                       MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW |    \
                       MSTATUS_TSR)
#define SSTATUS_MASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS |     \
                      MSTATUS_XS | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL |      \
                      MSTATUS_SD)
#define SSTATUS_WMASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS |    \
                       MSTATUS_SUM | MSTATUS_MXR)
#define MIP_MASK  0xaaaULL   /* SSIP MSIP STIP MTIP SEIP MEIP */
#define S_INTS    0x222ULL   /* SSIP STIP SEIP */
#define MEDELEG_MASK 0xb3ffULL
/* misa: MXL = 2 (RV64) and extensions A, C, D, F, I, M, S, U. */
#define MISA_VALUE ((2ULL << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | \
                    (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20))

#define MENVCFG_FIOM (1ULL << 0)
#define MENVCFG_STCE (1ULL << 63)

#define SATP_MODE_BARE 0
#define SATP_MODE_SV39 8
#define SATP_MODE_SV48 9

#define PMP_ENTRIES 16

/* ---- decoded instruction: 16 bytes ----
 * op and raw share the first 8 bytes: an OP_JIT slot publishes its code's
 * offset in raw (jit.h), and a hart that may race with the slot being
 * published or unpublished reads both with one 8-byte load (insn_word). */
struct insn {
    uint16_t op;        /* enum rv_op */
    uint8_t len;        /* length in halfwords: 1 (compressed) or 2 */
    uint8_t aux;        /* aq/rl, CSR source field; for ops that can start a
                           translated block, the entry count (exec.c) */
    uint32_t raw;       /* the instruction bits (for mtval on illegal);
                           OP_JIT: the code's offset in the buffer */
    uint8_t rd;         /* 0..31, or 32 (the sink) when the ISA's rd is x0 */
    uint8_t rs1, rs2, rs3;
    int32_t imm;        /* immediate, CSR number, or F/D rounding mode */
};
_Static_assert(sizeof(struct insn) == 16, "a slot is 16 bytes");

/* A slot's op (low 16 bits) and raw (high 32 bits), read at once. */
static inline uint64_t insn_word(const struct insn *in)
{
    return __atomic_load_n((const uint64_t *)(const void *)in, __ATOMIC_ACQUIRE);
}

/* A physical page's decoded instructions: one slot per halfword, plus a
 * sentinel slot (index 2048) that decodes as "fell off the page".
 * Shared by the harts of a VM (struct dcache): while the page is in the
 * hash a slot changes only from OP_DECODE to decoded (dcache_decode_slot),
 * from decoded to OP_JIT and back to OP_DECODE when its code's region is
 * recycled (jit.h), so harts read slots without a lock. */
#define DPAGE_SLOTS 2049
/* About 36 KiB; cache-line aligned.  The arena is on transparent huge
 * pages (dcache.c), so a dpage is not page-aligned: evicting one clears
 * it rather than handing its memory back. */
struct __attribute__((aligned(64))) dpage {
    struct insn insn[DPAGE_SLOTS];
    uint64_t paddr;             /* physical page address */
    struct dpage *hash_next;    /* read without the lock (atomic) */
    struct dpage *retire_next;  /* on dc->retired, oldest first */
    uint64_t retired_at;        /* dc->epoch after its retirement was logged */
    uint64_t gen;               /* fence generation `code` was last validated
                                   at (dc->fence_gen; atomic) */
    bool ref;                   /* fetched since the clock hand last passed */
    bool live;                  /* in the hash (under the lock) */
    uint8_t jit_regions;        /* code-buffer regions holding its blocks */
    /* The page's bytes as instruction fetch sees them: slots decode from
     * here.  Never changed while the page is in the hash: a store to the
     * page retires it, and so does a FENCE.I that finds memory changed
     * (Zifencei semantics). */
    uint8_t code[4096];
};

/* ---- software TLB ----
 * Direct-mapped, per privilege mode (U, S, M) and access type.  A hit is a
 * tag compare and an add: host = vaddr + addend.  Tags are the virtual
 * page number; ~0 means empty. */
#define TLB_BITS 10
#define TLB_SIZE (1 << TLB_BITS)
#define TLB_SETS 4
#define JC_SIZE 256   /* jump-cache entries per hart (8 KiB) */
#define JIT_SITES 4096      /* site caches a hart keeps (64 KiB) */
#define JIT_SITE_EPOCH_BITS 24  /* a site header's epoch; the lap above it */
#define JIT_BLOCK_SITES 16  /* ... of which one block's loads take at most, and its stores */
#define TLB_SET_SUM 3
#define TLB_WFILTER_BITS 4096
enum { ACC_FETCH = 0, ACC_LOAD = 1, ACC_STORE = 2 };

/* The entry for virtual page number `vpn`.  1024 entries: with 256, a
 * guest dd loop did over a million page walks a second (a 1 MiB O_DIRECT
 * request alone touches a struct page for each of 256 scattered user
 * pages, and pages 1 MiB apart shared an entry).  Folding higher bits into
 * the index cured nothing more and cost 6% of bench/cpu (two instructions
 * on every translated load and store). */
static inline unsigned tlb_index(uint64_t vpn)
{
    return (unsigned)(vpn & (TLB_SIZE - 1));
}

struct tlb_entry {
    uint64_t vtag;      /* vaddr >> 12, or ~0 */
    union {
        uintptr_t addend;   /* data: host - vaddr */
        uint64_t dgen;      /* fetch: h->dgen when dp was last known valid
                               through this entry (FENCE.I moves h->dgen) */
    };
    uint64_t ppage;     /* physical page address */
    struct dpage *dp;   /* fetch TLB: the decoded page */
};

struct tlb_set {
    struct tlb_entry e[3][TLB_SIZE];   /* [access type][index] */
    /* Virtual range [super_lo, super_last] covering every superpage this
     * set's walks have translated since it was last flushed: entries are
     * 4 KiB pieces, so an SFENCE.VMA of one address in a superpage must
     * drop the other pieces too (the whole set, then). */
    uint64_t super_lo, super_last;
    /* The physical pages the store entries map, hashed to a bit
     * ((ppage >> 12) mod TLB_WFILTER_BITS), set at each store fill and
     * cleared with the set.  A page that becomes code (dcache.c
     * wtlb_evict) skips the scan of every set whose bit is clear: the
     * scans of 4,096 entries were 1.4% of a busybox boot's host
     * instructions. */
    uint64_t wfilter[TLB_WFILTER_BITS / 64];
    /* Filled since the last flush: Linux often flushes twice in a row
     * (satp write, SFENCE.VMA), and a set untouched since needs nothing. */
    bool used;
};

/* The word of tlb_set.wfilter holding physical page `ppage`'s bit, and
 * the bit (tlb_fill sets it, wtlb_evict tests it). */
static inline uint64_t *tlb_wfilter_word(struct tlb_set *s, uint64_t ppage, uint64_t *bit)
{
    unsigned k = (unsigned)(ppage >> 12) & (TLB_WFILTER_BITS - 1);
    *bit = 1ULL << (k % 64);
    return &s->wfilter[k / 64];
}

/* Where a hart's fetch-TLB entries for one arena page are (set << TLB_BITS
 * | index, possibly since overwritten), so that a shootdown of the page
 * clears them without scanning every set; n > DPAGE_ITLB_SLOTS: some went
 * unrecorded, scan.  One per arena page, per hart. */
#define DPAGE_ITLB_SLOTS 8
struct itlb_rmap {
    uint8_t n;
    uint16_t slot[DPAGE_ITLB_SLOTS];
};

/* Fetch-TLB shootdowns remembered (dcache.c): a hart that falls further
 * behind flushes its whole fetch TLB instead. */
#define DLOG_SIZE 4096
#define DLOG_NONE 0xffffu   /* a log entry that shoots nothing down */

/* The decoded-instruction and translated-code cache of a VM's harts
 * (dcache.c, jit_x86_64.c): every hart made with hart_config.share set to
 * another shares that one's, so a VM decodes and translates its code
 * once.  Harts read it without the lock (slots, the hash chains, the code
 * buffer); everything else changes under it.  Nothing a hart may still
 * hold is reused until it has passed a quiescent point (dcache_quiesce:
 * between slices, outside hart_run, at a refetch that needs a new page, or
 * translating in a live page): a page taken out of use is
 * retired, its fetch-TLB shootdown logged, and reused once every member
 * hart has seen the log that far. */
struct dcache {
    pthread_mutex_t lock;
    struct hart **member;       /* the harts sharing it (nmember; under
                                   the lock) */
    unsigned nmember;
    /* An arena of dpages (mmap, lazily backed), a hash from physical page
     * to dpage. */
    struct dpage *arena;
    unsigned arena_pages, arena_used;
    unsigned arena_hand;        /* CLOCK hand: next eviction candidate */
    struct dpage **dhash;       /* DHASH_SIZE buckets (atomic) */
    struct dpage *dfree;        /* reusable, linked by retire_next */
    struct dpage *retired, *retired_last;   /* not yet reusable, FIFO */
    /* Shootdowns logged so far; log[e % DLOG_SIZE] is the arena index of
     * shootdown e.  Written under the lock, read by every hart. */
    _Atomic uint64_t epoch;
    uint16_t log[DLOG_SIZE];
    /* FENCE.I generations, counted over all harts (dcache_flush). */
    _Atomic uint64_t fence_gen;
    /* mem_write_count() when the last generation was taken by
     * dcache_fence_i (under the lock). */
    uint64_t fence_writes;
    /* Block translator (jit.h): host code buffer, a ring of regions.
     * jit_code maps the memfd jit_fd read-execute; jit_wwin maps it
     * read-write at another address (W^X), its pages dropped a step behind
     * the translator, so they are not counted in RSS twice. */
    uint8_t *jit_code;
    uint8_t *jit_wwin;
    int jit_fd;
    size_t jit_size, jit_used;
    unsigned jit_site_next;     /* the next of each hart's jit_site[] a
                                   translated block takes (wrapping: the
                                   slots hold facts, not a block's own) */
    uint64_t jit_site_lap;      /* times jit_site_next wrapped: the tag of
                                   the blocks' headers (never reset, not
                                   even by jit_reset: a header of a block
                                   gone must not pass for a new one's) */
    size_t jit_populated;       /* mapped up to here (bytes into the buffer;
                                   jit_populate_ahead) */
    bool jit_empty;             /* nothing translated since init or reset */
    unsigned jit_region;        /* region of the ring being filled */
    /* The region being filled may still be run by a hart that has not
     * passed a quiescent point since it was recycled: translation waits
     * until every other member has seen dc->epoch reach this. */
    uint64_t jit_region_epoch;
    bool jit_region_pending;    /* ... and it has not yet */
    /* Linked exits patched into an older region, by region (private to
     * jit_x86_64.c; NULL: such exits stay unpatched). */
    struct jit_backrefs *jit_in;
    int32_t jit_prologue;       /* bytes of a block's prologue (chained
                                   entries start after it) */
};

/* ---- the hart ---- */
struct hart {
    uint64_t x[33];             /* x[32] is the sink for writes to x0 */
    uint64_t f[32];
    uint64_t pc;
    unsigned priv;

    /* Instruction accounting: instret counts retired instructions. */
    uint64_t instret;

    /* Pending-event flag polled on taken branches: non-zero when an
     * interrupt wire changed or hart_kick() was called. */
    atomic_uint events;
    atomic_bool kicked;
    /* Interrupt wires driven by the platform (MSIP, MTIP, MEIP, SEIP). */
    atomic_uint_fast64_t irq_wires;
    bool wfi;

    /* CSRs */
    uint64_t mstatus;
    uint64_t misa;
    uint64_t medeleg, mideleg;
    uint64_t mie, mip;          /* mip: software-writable bits only */
    uint64_t mtvec, stvec;
    uint64_t mscratch, sscratch;
    uint64_t mepc, sepc;
    uint64_t mcause, scause;
    uint64_t mtval, stval;
    uint32_t mcounteren, scounteren;
    uint64_t menvcfg, senvcfg;
    uint64_t satp;
    uint64_t stimecmp;
    uint32_t fflags, frm;
    uint64_t mcycle_offset;     /* mcycle = instret + offset (writes) */
    uint64_t minstret_offset;
    uint8_t pmpcfg[PMP_ENTRIES];
    uint64_t pmpaddr[PMP_ENTRIES];
    bool pmp_active;            /* any entry not OFF */
    /* Entries not OFF with a non-empty range, in priority order, their
     * [lo, hi) computed once per PMP CSR write (pmp_update) so the
     * check on every TLB fill and page-table read is a short scan. */
    struct pmp_region {
        uint64_t lo, hi;
        uint8_t cfg;
    } pmp_rgn[PMP_ENTRIES];
    unsigned pmp_nrgn;
    /* [pmp_hit_lo, pmp_hit_hi): an interval the last scan found decided
     * by one region (config pmp_hit_cfg), no other entry before it
     * overlapping; empty after pmp_update.  OpenSBI's regions put guest
     * RAM in the last of several, so the scan was most of a page walk. */
    uint64_t pmp_hit_lo, pmp_hit_hi;
    uint8_t pmp_hit_cfg;

    /* LR/SC reservation: the host address of the reserved word (one per
     * guest-physical address while its lease lasts; a memory operation
     * moves mem_map_gen and hart_run then clears resv_valid, so a host
     * address from before can never match) and the value LR loaded.
     * Translated code reads and writes these too (jit_x86_64.c). */
    uintptr_t resv_host;
    uint64_t resv_val;
    bool resv_valid;

    /* Current trap being raised by a helper (cause, tval). */
    uint64_t exc_cause, exc_tval;

    /* MMU/TLB */
    /* By privilege: 0 = U, 1 = S, 2 = M, and 3 = S-mode loads and stores
     * while mstatus.SUM = 1, which may reach U pages.  Linux sets and
     * clears SUM around every user-memory access; switching sets keeps
     * both warm where flushing U pages out of one set would empty it. */
    struct tlb_set tlb[TLB_SETS];
    struct tlb_set *itlb;       /* set for fetch at the current priv */
    struct tlb_set *dtlb;       /* set for loads/stores (MPRV applied) */
    unsigned data_priv;         /* effective privilege for loads/stores */

    /* Decoded-instruction and translated-code cache (shared, above) and
     * this hart's view of it. */
    struct dcache *dc;
    uint64_t dgen;              /* fence generation of this hart's last
                                   FENCE.I (dcache_flush) */
    _Atomic uint64_t qs;        /* dc->epoch at its last quiescent point;
                                   UINT64_MAX outside hart_run */
    uint64_t seen;              /* shootdowns applied to its fetch TLB */
    struct itlb_rmap *rmap;     /* [dc->arena_pages] */
    struct dpage *scratch;      /* a page decoded outside the cache when
                                   none is free (dcache.c) */
    bool jit_enabled;           /* this hart translates hot blocks */
    uint8_t jit_hot;            /* entries before a block is translated */
    uint32_t jit_exc;           /* cause + 1 of a fault inside a block */
    int64_t jit_left;           /* budget a chain of blocks may still retire
                                   (instructions; charged as they run) */
    uint64_t jit_vpc;           /* the running block's page's virtual address */
    /* The jump cache (jit_x86_64.c): guest pc -> chained entry of its
     * block, for jumps that leave their page and JALR; probed by each
     * such exit, filled by the chain stub.  An entry counts only while
     * its epoch is jc_epoch; jcache_invalidate (below) moves that on
     * whatever could make an entry wrong. */
    uint64_t jc_epoch;
    struct jc_entry {
        uint64_t vpc, entry, epoch, pad;
    } jcache[JC_SIZE];
    uintptr_t jit_addend[2];    /* host - virtual address of the page the
                                   block's current load [0] and store [1]
                                   group are in, or 0 (jit_x86_64_mem.c) */
    /* A block's accesses remember their last page from one run to the
     * next (jit_x86_64_mem.c, "Site caches"): the page's virtual address
     * and addend (0: none).  Each block's run of them starts with a
     * header holding the jit_site_epoch they were filled in, tagged with
     * the block's lap of the ring ({lap << JIT_SITE_EPOCH_BITS | epoch,
     * 0}); jit_sites_invalidate moves the epoch on. */
    uint64_t jit_site_epoch;    /* odd, below 2^JIT_SITE_EPOCH_BITS */
    struct jit_site {
        uint64_t page;
        uintptr_t addend;
    } jit_site[JIT_SITES];
    /* Where the time goes (hart_exec_stats): instructions retired inside
     * translated code, blocks translated, and host time spent translating
     * them.  Kept across jit_reset; zeroed by hart_reset, as instret. */
    uint64_t jit_insns, jit_blocks, jit_translate_ns;
    /* Scratch page for an instruction that straddles two pages. */
    struct insn cross[3];

    struct hart_config cfg;
    struct mem *mem;
    /* mem_map_gen() when the TLBs were last flushed for it: a change means
     * a memory operation revoked the leases (a dirty-log clear, a page
     * given new backing), so cached host pointers (TLBs, reservation) go
     * and decoded pages are revalidated before the next slice runs. */
    uint64_t map_gen;
};

#define DHASH_SIZE 4096
/* The arena's size per VM: 22 MiB, whole 2 MiB huge pages (dcache.c),
 * 624 decoded pages (2.4 MiB of guest code); when it is full, pages not
 * fetched lately are evicted one at a time (CLOCK) while the hot set stays
 * decoded and translated.  On huge pages the arena is resident once used,
 * so this is what bounds the boot benchmark's host memory above guest RAM
 * (bench/boot: under 40 MiB; docs/cpu.md): 768 pages (28 MiB) took it to
 * 43 MiB, and 512 evicted so much that re-translation filled the code
 * buffer. */
#define DARENA_BYTES (22u << 20)
#define DARENA_PAGES ((unsigned)(DARENA_BYTES / sizeof(struct dpage)))

/* ---- helpers shared across files ---- */

/* Effective interrupt-pending bits (mip as software sees it). */
uint64_t hart_mip(const struct hart *h);

/* Raise an exception: sets h->pc to the trap vector and switches mode.
 * `pc` is the address of the faulting instruction. (trap.c) */
void hart_take_trap(struct hart *h, uint64_t pc, uint64_t cause, uint64_t tval);

/* Take the highest-priority enabled interrupt if any; returns true if one
 * was taken (h->pc updated). (trap.c) */
bool hart_check_interrupts(struct hart *h);

/* Run until the budget (`n` instructions or traps, checked at taken
 * branches, traps and page changes) is spent, an event is flagged or the
 * hart enters WFI.  Returns the budget consumed. (exec.c) */
uint64_t hart_interp(struct hart *h, int64_t n);

/* Recompute mip.STIP from stimecmp when Sstc is on (menvcfg.STCE). (trap.c) */
void hart_update_stip(struct hart *h);


/* PMP CSR writes (WARL, locking) and the TLB flush they need. (pmp.c) */
void pmp_write_cfg(struct hart *h, int i, uint8_t v);
void pmp_write_addr(struct hart *h, int i, uint64_t v);
void pmp_update(struct hart *h);
/* Whether a pmpcfg byte is one a write could have left (no reserved bits,
 * not the reserved R=0 W=1 combination), for restored state. (pmp.c) */
bool pmp_cfg_valid(uint8_t v);

/* Privilege, MPRV/MPP or SUM changed: re-select TLB sets. (mmu.c) */
void hart_update_mode(struct hart *h);

/* Flush every TLB (satp write, SFENCE.VMA, SUM/MXR change). (mmu.c) */
void tlb_flush_all(struct hart *h);

/* SFENCE.VMA with rs1 != x0 (Privileged spec 4.2.1): drop the cached
 * translations of virtual address `va` in the U and S sets, for every
 * address space (the ASID is not tracked, which over-approximates). (mmu.c) */
void tlb_flush_page(struct hart *h, uint64_t va);

/* Slow-path data access: translate, check PMP, access memory, refill the
 * TLB when the page allows it.  size 1/2/4/8, any alignment.  Returns 0
 * or an exception cause (with h->exc_tval set); never 0 for a fault.
 * (mmu.c) */
int mmu_load(struct hart *h, uint64_t vaddr, unsigned size, uint64_t *val);
int mmu_store(struct hart *h, uint64_t vaddr, unsigned size, uint64_t val);

/* Translate vaddr for an access type at the data (or fetch) privilege.
 * Returns 0 and the physical address, or an exception cause with
 * h->exc_tval = vaddr. (mmu.c) */
int mmu_translate(struct hart *h, uint64_t vaddr, int acc, uint64_t *paddr);

/* Host pointer for an aligned atomic access of `size` bytes at vaddr, for
 * AMOs and LR/SC (store permission required when `write`).  Returns 0 or
 * an exception cause. (mmu.c) */
int mmu_atomic_ptr(struct hart *h, uint64_t vaddr, unsigned size, bool write,
                   void **host, uint64_t *paddr);

/* Fetch-side: find (or create) the decoded page for the instruction at
 * h->pc's page.  Returns 0 and sets *dp, or an exception cause.  Only at
 * the refetch (nothing of the old page runs any more). (dcache.c) */
int dcache_fetch_page(struct hart *h, uint64_t vaddr, struct dpage **dp);
/* Decode the slot of `dp` at page offset `off` (in bytes), if it is still
 * OP_DECODE: registers and immediate first, then op, length and raw by
 * compare-and-swap (release), so a hart reading the slot at the same time
 * sees OP_DECODE or the whole instruction, and a decode that loses a race
 * changes nothing.  No lock. (dcache.c) */
void dcache_decode_slot(struct dpage *dp, unsigned off);
/* The instruction at page offset `off` (bytes) of `dp`, decoding its slot
 * first if needed.  A slot that publishes a block (OP_JIT) no longer holds
 * its op and raw: that instruction is decoded again from the page's
 * snapshot into *tmp (caller-owned), and tmp is returned; otherwise the
 * slot itself.  For the translator, under dc->lock (no recycle can turn an
 * OP_JIT slot back meanwhile). (dcache.c) */
const struct insn *dcache_slot_insn(struct dpage *dp, unsigned off, struct insn *tmp);
/* FENCE.I: decoded pages are revalidated against memory before this
 * hart's next use of them: fetch-TLB entries stay, and whoever takes one
 * checks the entry's dgen against h->dgen. (dcache.c) */
void dcache_flush(struct hart *h);
/* The FENCE.I instruction (Unprivileged ISA, "Zifencei"): dcache_flush,
 * unless this hart shares its cache with none and nothing but its own
 * stores has written RAM since the cache's last FENCE.I generation
 * (mem_write_count): its stores retire the decoded pages they hit, so
 * its pages already match memory. (dcache.c) */
void dcache_fence_i(struct hart *h);
/* Forget every entry of h's jump cache (h->jcache, jit_x86_64.c):
 * called where a guest pc may come to mean other code or where a block
 * may be unpublished, that is wherever fetch-TLB entries go (SFENCE.VMA,
 * satp and PMP writes, shootdowns of decoded pages, resets), when the
 * fetch set changes with the privilege, at FENCE.I (h->dgen), and at a
 * quiescent point after any shootdown or unpublished region (whose code
 * is rewritten only once every hart has passed one).  On h's own thread,
 * or with h parked. */
static inline void jcache_invalidate(struct hart *h)
{
    h->jc_epoch++;
}

/* Forget every site cache of h (h->jit_site, jit_x86_64_mem.c): called
 * wherever a data-TLB entry may go or come to mean another page
 * (SFENCE.VMA, satp and PMP writes, memory-map changes, resets: every
 * TLB flush), where a store entry is taken away (wtlb_evict), and where
 * the data set changes (privilege, MPRV, SUM).  Never inside a block:
 * a block that runs a CSR instruction takes no site caches.  On h's own
 * thread. */
static inline void jit_sites_invalidate(struct hart *h)
{
    h->jit_site_epoch += 2;
    if (unlikely(h->jit_site_epoch >> JIT_SITE_EPOCH_BITS)) {
        /* Every 2^23 moves: start again at 1, with no header left that
         * an old epoch's run of slots could pass with. */
        h->jit_site_epoch = 1;
        memset(h->jit_site, 0, sizeof(h->jit_site));
    }
}

/* Bring `d` up to h->dgen: compare it with memory; if the page changed,
 * retire `d` (its slots and translations go with it).  Only at the
 * refetch.  1: `d` is current; 0: retired, the caller fetches the page
 * afresh; -1: the page is not RAM (the caller takes the miss path, which
 * raises the access fault). (dcache.c) */
int dcache_revalidate(struct hart *h, struct dpage *d);
/* The same through fetch-TLB entry `e` (whose dgen is older than
 * h->dgen): revalidate its page if need be, then mark the entry current,
 * which is what the chain stub checks.  False: take the miss path.
 * (dcache.c) */
bool dcache_revalidate_entry(struct hart *h, struct tlb_entry *e);
/* A quiescent point of this hart: apply the fetch-TLB shootdowns logged
 * since its last one and tell the other harts it holds nothing retired
 * before now.  hart_run calls it between slices; `offline` (hart_run
 * returning) stands for every later point until the next call. (dcache.c) */
void dcache_quiesce(struct hart *h, bool offline);
/* Forget every decoded page and translation of h's cache, for all the
 * harts sharing it (reset, restore).  Only while none of them runs.
 * (dcache.c) */
void dcache_reset(struct hart *h);
/* Is physical page `ppage` decoded in this hart's cache? (dcache.c) */
bool dcache_is_code(struct hart *h, uint64_t ppage);
/* This hart stored `size` bytes at physical `pa`, in a decoded page:
 * retire the page(s) touched (slots, translations and fetch-TLB entries
 * go; this hart's stores to them run from its write TLB again) and raise
 * an event, so that the slice ends and the next fetch decodes the new
 * bytes.  A block already running finishes from its old code, as
 * hardware may before a FENCE.I.  Other harts' write TLBs may map a
 * page this one decoded: their stores reach its instruction fetch at its
 * next FENCE.I, as the ISA requires (Zifencei). (dcache.c) */
void dcache_store_hit(struct hart *h, uint64_t pa, unsigned size);
/* Unpublish every block whose code lies at buffer offsets [lo, hi), in
 * code-buffer region `region` (jit_x86_64.c recycles it): their slots
 * decode afresh, the pages' other blocks stay.  Under dc->lock; returns
 * the epoch that every hart must have passed before the region is
 * rewritten. (dcache.c) */
uint64_t dcache_unpublish_region(struct hart *h, unsigned region, uint32_t lo, uint32_t hi);
/* Has every hart sharing h's cache (h too) passed a quiescent point at or
 * after `epoch`?  Under dc->lock. (dcache.c) */
bool dcache_all_past(struct hart *h, uint64_t epoch);
/* Set-up and tear-down.  dcache_init makes h's cache, or joins `share`'s
 * when not NULL; 0, or -1 (out of memory).  dcache_destroy leaves it, and
 * frees it with its last hart. (dcache.c) */
int dcache_init(struct hart *h, struct hart *share);
void dcache_destroy(struct hart *h);

/* Decode one instruction. raw16 is the first halfword; for 32-bit
 * instructions raw holds all 32 bits. (decode.c) */
void rv_decode(uint32_t raw, struct insn *out);

/* PMP check of [paddr, paddr+len) for access type `acc` at privilege
 * `priv`. (pmp.c) */
bool pmp_allows(struct hart *h, uint64_t paddr, uint64_t len, int acc, unsigned priv);

/* CSR access with privilege checks.  Return 0, or -1 for an illegal
 * instruction. (csr.c) */
int csr_read(struct hart *h, unsigned csr, uint64_t *val);
int csr_write(struct hart *h, unsigned csr, uint64_t val);
/* The value a CSRRS/CSRRC modifies: `read` (what csr_read gave), except
 * for mip/sip, whose SEIP read is the OR with the PLIC wire while the
 * read-modify-write uses the software bit alone (Privileged spec 3.1.9).
 * (csr.c) */
uint64_t csr_rmw_base(const struct hart *h, unsigned csr, uint64_t read);
/* Whether translated code may run an access to `csr` inside a block (its
 * table entry's in-block flag; jit.h jit_csr_in_block). (csr.c) */
bool csr_in_block(unsigned csr);

/* Out-of-line executors.  Return 0 to continue at the next instruction,
 * 1 when h->pc was set (jump/trap/xRET; resume from h->pc), or an
 * exception cause + 16 (see EXEC_EXC) with h->exc_tval set. */
#define EXEC_NEXT 0
#define EXEC_JUMP 1
#define EXEC_EXC(c) (16 + (c))
int sys_exec(struct hart *h, const struct insn *ip, uint64_t pc);
int amo_exec(struct hart *h, const struct insn *ip);
int fp_exec(struct hart *h, const struct insn *ip);
/* fp_exec without its mstatus.FS check and without setting FS = Dirty:
 * translated code does both inline, once per block (jit_x86_64_fp.c). */
int fp_exec_fs_on(struct hart *h, const struct insn *ip);

/* ORC.B (Zbb): each byte of v becomes 0xff if non-zero, else 0x00. */
static inline uint64_t rv_orc_b(uint64_t v)
{
    uint64_t r = 0;
    for (int i = 0; i < 64; i += 8)
        if ((v >> i) & 0xff)
            r |= 0xffULL << i;
    return r;
}

/* Current guest time in ticks. */
static inline uint64_t hart_time(const struct hart *h)
{
    return vclock_now(h->cfg.clock);
}

static inline void hart_set_event(struct hart *h)
{
    atomic_store_explicit(&h->events, 1, memory_order_release);
}

#endif
