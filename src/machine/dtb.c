/* Device tree for the virt board, built with libfdt's sequential-write API.
 *
 * Follows the Devicetree Specification 0.4 and the Linux bindings:
 * riscv/cpus.yaml + riscv/extensions.yaml (cpu nodes, riscv,cpu-intc),
 * power/reset/syscon-{poweroff,reboot}.yaml, virtio/mmio.yaml.  The /soc
 * nodes of the platform devices are written by the devices themselves
 * (their fdt_node op, following their own bindings), at the addresses and
 * interrupts the caller passes: the board's table (board.c), the same one
 * the MMIO bus is built from.  Nothing here knows an address. */
#include "machine/boot.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>

#include "hw/hw.h"
#include "util/device.h"
#include "util/util.h"
#include "util/vclock.h"

/* The ISA the CPU implements (cpu/riscv/hart.h): RV64GC + Zicntr, Zicsr,
 * Zifencei, Zba, Zbb, Zbs, Sstc.  This is the only place it is spelled
 * out; the list below must match it. */
const char dtb_riscv_isa[] = "rv64imafdc_zicntr_zicond_zicsr_zifencei_zba_zbb_zbs_sstc";
static const char isa_extensions[] =
    "i\0m\0a\0f\0d\0c\0zicntr\0zicond\0zicsr\0zifencei\0zba\0zbb\0zbs\0sstc";

/* phandles of the harts' interrupt controllers; the board's nodes bring
 * their own, from DTB_PHANDLE_BOARD up. */
#define PH_CPU_INTC(n) (1u + (n))
_Static_assert(PH_CPU_INTC(DTB_MAX_CPUS - 1) < DTB_PHANDLE_BOARD,
               "hart phandles run into the board's");

#define CHK(x)                                  \
    do {                                        \
        int err_ = (x);                         \
        if (err_ < 0)                           \
            return err_;                        \
    } while (0)

/* #address-cells = #size-cells = 2 */
static int prop_reg(void *fdt, uint64_t addr, uint64_t size)
{
    fdt64_t reg[2] = { cpu_to_fdt64(addr), cpu_to_fdt64(size) };
    return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int begin_node_at(void *fdt, const char *name, uint64_t addr)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s@%llx", name, (unsigned long long)addr);
    return fdt_begin_node(fdt, buf);
}

static int cpus(void *fdt, const struct dtb_params *p)
{
    CHK(fdt_begin_node(fdt, "cpus"));
    CHK(fdt_property_u32(fdt, "#address-cells", 1));
    CHK(fdt_property_u32(fdt, "#size-cells", 0));
    CHK(fdt_property_u32(fdt, "timebase-frequency", (uint32_t)VCLOCK_DEFAULT_HZ));
    for (unsigned n = 0; n < p->ncpus; n++) {
        CHK(begin_node_at(fdt, "cpu", n));
        CHK(fdt_property_string(fdt, "device_type", "cpu"));
        CHK(fdt_property_u32(fdt, "reg", n));
        CHK(fdt_property_string(fdt, "status", "okay"));
        CHK(fdt_property_string(fdt, "compatible", "riscv"));
        CHK(fdt_property_string(fdt, "riscv,isa", dtb_riscv_isa));
        CHK(fdt_property_string(fdt, "riscv,isa-base", "rv64i"));
        CHK(fdt_property(fdt, "riscv,isa-extensions", isa_extensions,
                         sizeof(isa_extensions)));
        CHK(fdt_property_string(fdt, "mmu-type", "riscv,sv48"));
        CHK(fdt_begin_node(fdt, "interrupt-controller"));
        /* #address-cells 0: dtc's interrupt_provider check wants it. */
        CHK(fdt_property_u32(fdt, "#address-cells", 0));
        CHK(fdt_property_u32(fdt, "#interrupt-cells", 1));
        CHK(fdt_property(fdt, "interrupt-controller", NULL, 0));
        CHK(fdt_property_string(fdt, "compatible", "riscv,cpu-intc"));
        CHK(fdt_property_u32(fdt, "phandle", PH_CPU_INTC(n)));
        CHK(fdt_end_node(fdt));
        CHK(fdt_end_node(fdt));
    }
    return fdt_end_node(fdt);
}

static int soc(void *fdt, const struct dtb_params *p)
{
    uint32_t intc[DTB_MAX_CPUS];
    for (unsigned n = 0; n < p->ncpus; n++)
        intc[n] = PH_CPU_INTC(n);

    CHK(fdt_begin_node(fdt, "soc"));
    CHK(fdt_property_u32(fdt, "#address-cells", 2));
    CHK(fdt_property_u32(fdt, "#size-cells", 2));
    CHK(fdt_property_string(fdt, "compatible", "simple-bus"));
    CHK(fdt_property(fdt, "ranges", NULL, 0));
    /* In the order given: Linux registers platform devices in DT order, so
     * virtio slot 0 probes first and the first disk is /dev/vda. */
    for (unsigned i = 0; i < p->nsoc; i++) {
        const struct dtb_soc_node *n = &p->soc[i];
        if (!n->dev->ops->fdt_node)
            continue;
        const struct device_fdt_ctx ctx = {
            .fdt = fdt, .base = n->base, .size = n->size, .irq = n->irq,
            .plic_phandle = p->plic_phandle, .ncpus = p->ncpus,
            .cpu_intc_phandles = intc, .phandle = n->phandle,
        };
        CHK(n->dev->ops->fdt_node(n->dev->opaque, &ctx));
    }
    return fdt_end_node(fdt);
}

/* Linux Documentation/devicetree/bindings/power/reset/syscon-{poweroff,
 * reboot}.yaml: the sifive,test finisher's values. */
static int syscon_action(void *fdt, const char *name, const char *compat,
                         uint32_t regmap, uint32_t value)
{
    CHK(fdt_begin_node(fdt, name));
    CHK(fdt_property_string(fdt, "compatible", compat));
    CHK(fdt_property_u32(fdt, "regmap", regmap));
    CHK(fdt_property_u32(fdt, "offset", 0));
    CHK(fdt_property_u32(fdt, "value", value));
    return fdt_end_node(fdt);
}

static int build(void *fdt, size_t bufsize, const struct dtb_params *p)
{
    CHK(fdt_create(fdt, (int)bufsize));
    CHK(fdt_finish_reservemap(fdt));
    CHK(fdt_begin_node(fdt, ""));
    CHK(fdt_property_u32(fdt, "#address-cells", 2));
    CHK(fdt_property_u32(fdt, "#size-cells", 2));
    CHK(fdt_property_string(fdt, "compatible", "riscv-virtio"));
    CHK(fdt_property_string(fdt, "model", "Vessel RISC-V virt"));

    CHK(fdt_begin_node(fdt, "chosen"));
    if (p->bootargs)
        CHK(fdt_property_string(fdt, "bootargs", p->bootargs));
    if (p->stdout_path)
        CHK(fdt_property_string(fdt, "stdout-path", p->stdout_path));
    if (p->has_initrd) {
        CHK(fdt_property_u64(fdt, "linux,initrd-start", p->initrd_start));
        CHK(fdt_property_u64(fdt, "linux,initrd-end", p->initrd_end));
    }
    if (p->rng_seed && p->rng_seed_len)
        CHK(fdt_property(fdt, "rng-seed", p->rng_seed, (int)p->rng_seed_len));
    CHK(fdt_end_node(fdt));

    if (p->stdout_path) {
        CHK(fdt_begin_node(fdt, "aliases"));
        CHK(fdt_property_string(fdt, "serial0", p->stdout_path));
        CHK(fdt_end_node(fdt));
    }

    CHK(begin_node_at(fdt, "memory", p->ram_base));
    CHK(fdt_property_string(fdt, "device_type", "memory"));
    CHK(prop_reg(fdt, p->ram_base, p->ram_size));
    CHK(fdt_end_node(fdt));

    CHK(cpus(fdt, p));
    CHK(soc(fdt, p));

    if (p->syscon_phandle) {
        CHK(syscon_action(fdt, "poweroff", "syscon-poweroff", p->syscon_phandle,
                          SYSCON_PASS));
        CHK(syscon_action(fdt, "reboot", "syscon-reboot", p->syscon_phandle,
                          SYSCON_RESET));
    }

    CHK(fdt_end_node(fdt));
    return fdt_finish(fdt);
}

int dtb_build(const struct dtb_params *p, void **blob, size_t *size, char *err, size_t errlen)
{
    if (!p->ncpus || p->ncpus > DTB_MAX_CPUS)
        return errbuf(err, errlen, -EINVAL, "device tree: %u cpus, expected 1..%d",
                         p->ncpus, DTB_MAX_CPUS);
    for (unsigned i = 0; i < p->nsoc; i++) {
        if (p->soc[i].phandle && p->soc[i].phandle < DTB_PHANDLE_BOARD)
            return errbuf(err, errlen, -EINVAL, "device tree: /soc node at 0x%llx has "
                             "phandle 0x%x, which a hart's interrupt controller may use; "
                             "expected 0x%x or above", (unsigned long long)p->soc[i].base,
                             p->soc[i].phandle, DTB_PHANDLE_BOARD);
    }
    for (size_t bufsize = 16384; bufsize <= (1u << 24); bufsize *= 2) {
        void *fdt = calloc(1, bufsize);
        if (!fdt)
            return errbuf(err, errlen, -ENOMEM, "device tree: out of memory");
        int fe = build(fdt, bufsize, p);
        if (fe == -FDT_ERR_NOSPACE) {
            free(fdt);
            continue;
        }
        if (fe < 0) {
            free(fdt);
            return errbuf(err, errlen, -EINVAL, "device tree: libfdt: %s",
                             fdt_strerror(fe));
        }
        /* Grow the blob's totalsize so firmware can edit it in place. */
        size_t total = fdt_totalsize(fdt) + DTB_SLACK;
        void *out = calloc(1, total);
        if (!out) {
            free(fdt);
            return errbuf(err, errlen, -ENOMEM, "device tree: out of memory");
        }
        fe = fdt_open_into(fdt, out, (int)total);
        free(fdt);
        if (fe < 0) {
            free(out);
            return errbuf(err, errlen, -EINVAL, "device tree: libfdt: %s",
                             fdt_strerror(fe));
        }
        *blob = out;
        *size = total;
        return 0;
    }
    return errbuf(err, errlen, -EINVAL, "device tree: larger than 16 MiB");
}
