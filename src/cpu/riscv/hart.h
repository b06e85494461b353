/* cpu/riscv: one RISC-V hart (RV64GC + Zicsr, Zifencei, Zicntr, Sstc,
 * Zba/Zbb/Zbs), machine/supervisor/user modes, Sv39/Sv48, PMP.
 *
 * Implements: RISC-V Unprivileged ISA 20191213, Privileged Architecture
 * 1.12 (20211203).
 *
 * A hart runs in bounded slices (design rule 3): hart_run() executes until
 * the budget is spent, the hart waits for an interrupt (WFI), or something
 * outside asked it to stop.  Interrupt lines are raised from any thread.
 * Guest memory is reached only through mem/ (design rule 2). */
#ifndef VESSEL_HART_H
#define VESSEL_HART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/mem.h"
#include "util/sstate.h"
#include "util/vclock.h"

struct hart;

/* Interrupt numbers: bit positions in mip/mie (Privileged spec 3.1.9). */
enum {
    IRQ_SSI = 1, IRQ_MSI = 3,
    IRQ_STI = 5, IRQ_MTI = 7,
    IRQ_SEI = 9, IRQ_MEI = 11,
};

struct hart_config {
    uint64_t hartid;            /* value of mhartid */
    struct mem *mem;            /* borrowed; outlives the hart */
    const struct vclock *clock; /* borrowed; source of `time` and Sstc */
    uint64_t reset_pc;          /* pc after reset (M-mode) */
    /* Called (from any thread) when an interrupt is raised on a hart that
     * may be waiting in WFI, so the VMM can wake the thread running it.
     * May be NULL. */
    void (*wake)(void *opaque);
    void *wake_opaque;
    /* Another hart of the same VM (same mem) whose decoded-instruction and
     * translated-code cache this one shares, so that the VM's code is
     * decoded and translated once; it must outlive hart_new.  NULL: a
     * cache of its own. */
    struct hart *share;
};

/* Why hart_run returned. */
enum hart_exit {
    HART_EXIT_BUDGET,   /* the instruction budget is spent */
    HART_EXIT_WFI,      /* WFI with no interrupt pending: wait, then run again */
    HART_EXIT_KICK,     /* hart_kick() was called */
};

/* Create a hart in its reset state.  Returns NULL on allocation failure.
 * The caller owns the hart and frees it with hart_free(). */
struct hart *hart_new(const struct hart_config *cfg);
void hart_free(struct hart *h);

/* Reset to the state after power-on: M-mode, pc = reset_pc, mstatus and
 * the other CSRs at their reset values (Privileged spec 3.4).  Integer
 * registers are zeroed; a0/a1 are left for the boot loader to set. */
void hart_reset(struct hart *h);

/* Run at most `budget` instructions on the calling thread. */
enum hart_exit hart_run(struct hart *h, uint64_t budget);

/* Set or clear an interrupt-pending wire (IRQ_MSI, IRQ_MTI, IRQ_MEI,
 * IRQ_SEI) from any thread.  These are the bits of mip that the platform
 * (CLINT, PLIC) drives; software-writable bits are the guest's. */
void hart_set_irq(struct hart *h, unsigned irq, bool level);

/* Ask the hart to return from hart_run() soon (any thread). */
void hart_kick(struct hart *h);

/* True when an enabled interrupt would be taken now (used by the VMM to
 * decide whether a hart in WFI can run). */
bool hart_irq_pending(struct hart *h);

/* Guest time (ticks) at which this hart's Sstc timer (stimecmp) fires, or
 * UINT64_MAX when disabled.  The VMM sleeps no longer than this in WFI. */
uint64_t hart_timer_deadline(struct hart *h);

/* Register access for loaders, tests and debuggers.  Register 0 reads 0
 * and ignores writes; reg must be < 32. */
uint64_t hart_get_x(const struct hart *h, unsigned reg);
void hart_set_x(struct hart *h, unsigned reg, uint64_t val);
uint64_t hart_get_pc(const struct hart *h);
void hart_set_pc(struct hart *h, uint64_t pc);
uint64_t hart_get_f(const struct hart *h, unsigned reg);

/* Number of instructions retired (minstret). */
uint64_t hart_instret(const struct hart *h);

/* Block translator settings (docs/cpu.md): `enabled` false turns it off
 * for good for this hart (it translates nothing more; once no hart
 * sharing its cache translates, the code buffer is freed and the
 * interpreter runs everything; enabling it again is a no-op); `hot` is
 * the number of entries before a block is translated, 1..255, or 0 to
 * keep the current value (default 128).  Drops the decoded and translated
 * code of every hart sharing the cache.  Only while none of them runs.  Returns 0, or -EINVAL when hot > 255 (nothing changed).  On
 * hosts without a translator, only the range check is done. */
int hart_set_jit(struct hart *h, bool enabled, unsigned hot);

/* Host memory held by the hart's caches, for benchmarks: decoded pages in
 * use (each sizeof(struct dpage) bytes, about 36 KiB, resident once used:
 * the arena is on huge pages) and bytes of translated host code.  A cache
 * shared by several harts (hart_config.share) is counted at the first of
 * them; the others report 0. */
void hart_cache_stats(const struct hart *h, uint64_t *dpages, uint64_t *jit_bytes);

/* Where the hart's time goes (docs/cpu.md "Where the time goes"):
 * instructions retired inside translated code (the rest of
 * hart_instret was interpreted), blocks translated, and host ns spent
 * translating.  Counted since the last reset, as hart_instret; any
 * thread (racy while it runs). */
void hart_exec_stats(const struct hart *h, uint64_t *jit_insns, uint64_t *jit_blocks,
                     uint64_t *translate_ns);

/* Privilege mode: 0 = U, 1 = S, 3 = M. */
unsigned hart_priv(const struct hart *h);

/* Read a CSR by number without side effects or privilege checks (for
 * tests, dumps and debugging): the value an M-mode read would give now
 * (mip/sip include STIP as Sstc computes it), changing nothing in the
 * hart.  Returns 0 and the value in *val, or -ENOENT when the CSR does not
 * exist.  Privileged spec 2.2 lists the CSR numbers. */
int hart_peek_csr(const struct hart *h, unsigned csr, uint64_t *val);

/* The spec's name of CSR `csr` ("sstatus", "pmpaddr12"), written with its
 * NUL into buf (at most len bytes).  Returns 0, -ENOENT when the CSR is not
 * implemented, -ENOSPC when buf is too short. */
int hart_csr_name(unsigned csr, char *buf, size_t len);

/* Save the hart's architectural state (registers, pc, privilege, WFI,
 * instret, every CSR's backing state; no caches) as one "hart" section,
 * version 1, appended to w (layout in state.c).  Call only while the hart
 * is not running (the vCPU thread between slices, or a paused VM).
 * Returns 0 or the writer's error (-ENOMEM). */
int hart_save(const struct hart *h, struct sstate_writer *w);

/* Restore what hart_save wrote, from the next section of r, into a hart
 * of the same mhartid.  Every field is validated against what the hart
 * could have reached itself; on any error nothing changes.  TLBs, decoded
 * pages and translated code are dropped; the LR/SC reservation is lost;
 * interrupt wires are left for the platform devices to re-drive.  Only
 * while the hart is not running.  Returns 0, -EINVAL (malformed, truncated
 * or out-of-range state, another hart's state), -ENOTSUP (a newer
 * version). */
int hart_restore(struct hart *h, struct sstate_reader *r);

#endif
