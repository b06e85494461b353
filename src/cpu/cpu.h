/* cpu: the CPU backend interface, the one view of a virtual CPU that the
 * layers above the board (vmm/) have.
 *
 * A backend implements one vCPU kind behind an ops table: today the
 * software RISC-V hart (cpu/riscv, `cpu_riscv_ops`); later a
 * hardware-assisted one (KVM) would add a table without touching vmm/.
 * Nothing here names an architecture's registers: what the VMM needs is
 * running a bounded slice (design rule 3), stopping one early, interrupt
 * lines, the next timer deadline, architectural save/restore, counters
 * and a one-line description for traces.
 *
 * Threads: `run` only on the thread that owns the vCPU (its vCPU thread),
 * at most one at a time.  `kick`, `set_irq` and `irq_pending` from any
 * thread.  Everything else (save, restore, reset, configure, and the
 * reads instret, stats, describe) only while the vCPU is not running:
 * from its own thread between slices, or from the control thread while
 * the vCPU thread is parked; `instret` and `stats` may also be read from
 * another thread while it runs, as a racy snapshot for statistics. */
#ifndef VESSEL_CPU_H
#define VESSEL_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/sstate.h"

/* Why `run` returned. */
enum cpu_exit {
    CPU_EXIT_BUDGET,    /* the instruction budget is spent */
    CPU_EXIT_IDLE,      /* the vCPU waits for an interrupt (RISC-V WFI):
                           sleep until irq_pending, a wake-up or the next
                           deadline, then run again */
    CPU_EXIT_KICK,      /* `kick` was called (before or during the run) */
};

/* Per-vCPU settings a VM's configuration carries down (vmm.h struct
 * vm_config).  A backend ignores what it does not have. */
struct cpu_options {
    bool jit;               /* translate hot code to host code */
    unsigned jit_hot;       /* entries before a block is translated:
                               1..255, or 0 for the backend's default */
};

/* Host-side counters, for statistics and benchmarks. */
struct cpu_stats {
    uint64_t instret;       /* instructions retired since reset */
    uint64_t code_pages;    /* decoded-code pages in use */
    uint64_t jit_bytes;     /* bytes of translated host code */
    uint64_t jit_insns;     /* instructions retired in translated code
                               (the rest of instret was interpreted) */
    uint64_t jit_blocks;    /* blocks translated */
    uint64_t jit_translate_ns;  /* host time spent translating */
};

struct cpu_ops {
    const char *arch;       /* "riscv64" */
    /* Run at most `budget` instructions on the calling thread. */
    enum cpu_exit (*run)(void *cpu, uint64_t budget);
    /* Make `run` return soon (CPU_EXIT_KICK), or at once if it is not
     * running now; also wakes a thread sleeping for this vCPU through the
     * wake-up callback the board gave the vCPU. */
    void (*kick)(void *cpu);
    /* Drive interrupt line `line` (an architecture-defined number: on
     * RISC-V the mip bit of MSI, MTI, SEI or MEI). */
    void (*set_irq)(void *cpu, unsigned line, bool level);
    /* True when an interrupt would end an idle wait now. */
    bool (*irq_pending)(void *cpu);
    /* Guest time (ticks of the VM's clock, util/vclock.h) at which the
     * vCPU's own timer fires, or UINT64_MAX when none is armed.  Platform
     * timers (an interrupt controller's) are the board's to add. */
    uint64_t (*next_deadline)(void *cpu);
    /* Back to the power-on state (registers, privilege, caches). */
    void (*reset)(void *cpu);
    /* Apply `o`.  Drops translated code; before the first run or while
     * the vCPU is stopped.  Returns 0 or -EINVAL (a value out of range,
     * nothing changed). */
    int (*configure)(void *cpu, const struct cpu_options *o);
    /* Architectural state as one section (util/sstate.h); restore
     * validates every field and changes nothing on error (-EINVAL,
     * -ENOTSUP for a newer version). */
    int (*save)(const void *cpu, struct sstate_writer *w);
    int (*restore)(void *cpu, struct sstate_reader *r);
    uint64_t (*instret)(const void *cpu);
    void (*stats)(const void *cpu, struct cpu_stats *st);
    /* One line (no newline) describing where the vCPU is, for traces of a
     * stuck guest, e.g. "pc=0x80000000 priv=3 instret=12 scause=0 ...".
     * Returns 0, or -ENOSPC when `len` was too short (the text is cut). */
    int (*describe)(const void *cpu, char *buf, size_t len);
};

/* A vCPU: its backend and the backend's object (borrowed: the board owns
 * the hart; a struct cpu is a handle, copied freely). */
struct cpu {
    const struct cpu_ops *ops;
    void *impl;
};

/* The software RISC-V hart (cpu/riscv/hart.h) as a backend: `impl` is a
 * struct hart *. */
extern const struct cpu_ops cpu_riscv_ops;

static inline enum cpu_exit cpu_run(const struct cpu *c, uint64_t budget)
{
    return c->ops->run(c->impl, budget);
}

static inline void cpu_kick(const struct cpu *c)
{
    c->ops->kick(c->impl);
}

static inline bool cpu_irq_pending(const struct cpu *c)
{
    return c->ops->irq_pending(c->impl);
}

static inline uint64_t cpu_instret(const struct cpu *c)
{
    return c->ops->instret(c->impl);
}

#endif
