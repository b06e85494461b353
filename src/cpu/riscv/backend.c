/* cpu/riscv: the software hart as a CPU backend (cpu/cpu.h).
 *
 * Thin wrappers over hart.h: the VMM drives harts through this table and
 * never calls hart_* itself, so it holds no RISC-V names.  The only
 * RISC-V knowledge added here is which CSRs a trace line shows. */
#include <errno.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "cpu/riscv/hart.h"

/* CSRs shown by `describe` (Privileged spec 2.2, table 2.2-2.5): the last
 * supervisor trap cause and the machine interrupt pending/enable bits,
 * what tells a stuck guest's story besides its pc. */
enum {
    DESCRIBE_CSR_SCAUSE = 0x142,
    DESCRIBE_CSR_MIP = 0x344,
    DESCRIBE_CSR_MIE = 0x304,
};

static enum cpu_exit rv_run(void *cpu, uint64_t budget)
{
    switch (hart_run(cpu, budget)) {
    case HART_EXIT_WFI: return CPU_EXIT_IDLE;
    case HART_EXIT_KICK: return CPU_EXIT_KICK;
    default: return CPU_EXIT_BUDGET;
    }
}

static void rv_kick(void *cpu)
{
    hart_kick(cpu);
}

static void rv_set_irq(void *cpu, unsigned line, bool level)
{
    hart_set_irq(cpu, line, level);
}

static bool rv_irq_pending(void *cpu)
{
    return hart_irq_pending(cpu);
}

static uint64_t rv_next_deadline(void *cpu)
{
    return hart_timer_deadline(cpu);
}

static void rv_reset(void *cpu)
{
    hart_reset(cpu);
}

static int rv_configure(void *cpu, const struct cpu_options *o)
{
    if (o->jit_hot > 255)
        return -EINVAL;
    return hart_set_jit(cpu, o->jit, o->jit_hot);
}

static int rv_save(const void *cpu, struct sstate_writer *w)
{
    return hart_save(cpu, w);
}

static int rv_restore(void *cpu, struct sstate_reader *r)
{
    return hart_restore(cpu, r);
}

static uint64_t rv_instret(const void *cpu)
{
    return hart_instret(cpu);
}

static void rv_stats(const void *cpu, struct cpu_stats *st)
{
    st->instret = hart_instret(cpu);
    hart_cache_stats(cpu, &st->code_pages, &st->jit_bytes);
    hart_exec_stats(cpu, &st->jit_insns, &st->jit_blocks, &st->jit_translate_ns);
}

static int rv_describe(const void *cpu, char *buf, size_t len)
{
    static const unsigned csrs[] = {
        DESCRIBE_CSR_SCAUSE, DESCRIBE_CSR_MIP, DESCRIBE_CSR_MIE,
    };
    const struct hart *h = cpu;
    size_t used = 0;
    int n = snprintf(buf, len, "pc=%#llx priv=%u instret=%llu",
                     (unsigned long long)hart_get_pc(h), hart_priv(h),
                     (unsigned long long)hart_instret(h));
    if (n < 0 || (size_t)n >= len)
        return -ENOSPC;
    used = (size_t)n;
    for (size_t i = 0; i < sizeof(csrs) / sizeof(csrs[0]); i++) {
        char name[32];
        uint64_t val;
        if (hart_csr_name(csrs[i], name, sizeof(name)) || hart_peek_csr(h, csrs[i], &val))
            continue;
        n = snprintf(buf + used, len - used, " %s=%#llx", name, (unsigned long long)val);
        if (n < 0 || (size_t)n >= len - used)
            return -ENOSPC;
        used += (size_t)n;
    }
    return 0;
}

const struct cpu_ops cpu_riscv_ops = {
    .arch = "riscv64",
    .run = rv_run,
    .kick = rv_kick,
    .set_irq = rv_set_irq,
    .irq_pending = rv_irq_pending,
    .next_deadline = rv_next_deadline,
    .reset = rv_reset,
    .configure = rv_configure,
    .save = rv_save,
    .restore = rv_restore,
    .instret = rv_instret,
    .stats = rv_stats,
    .describe = rv_describe,
};
