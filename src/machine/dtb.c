/* Device tree for the virt board, built with libfdt's sequential-write API.
 *
 * Follows the Devicetree Specification 0.4 and the Linux bindings:
 * riscv/cpus.yaml + riscv/extensions.yaml (cpu nodes, riscv,cpu-intc),
 * interrupt-controller/sifive,plic-1.0.0.yaml, timer/sifive,clint.yaml,
 * serial/8250.yaml (ns16550a), power/reset/syscon-{poweroff,reboot}.yaml,
 * rtc/trivial-rtc (google,goldfish-rtc), virtio/mmio.yaml.
 * Addresses and interrupt numbers come from the constants in hw/hw.h, the
 * same ones virt.c maps the devices with. */
#include "machine/boot.h"
#include "machine/virt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>

#include "hw/hw.h"
#include "util/util.h"
#include "util/vclock.h"

/* The ISA the CPU implements (cpu/riscv/hart.h): RV64GC + Zicntr, Zicsr,
 * Zifencei, Zba, Zbb, Zbs, Sstc.  This is the only place it is spelled
 * out; the list below must match it. */
const char dtb_riscv_isa[] = "rv64imafdc_zicntr_zicond_zicsr_zifencei_zba_zbb_zbs_sstc";
static const char isa_extensions[] =
    "i\0m\0a\0f\0d\0c\0zicntr\0zicond\0zicsr\0zifencei\0zba\0zbb\0zbs\0sstc";

/* virtio-mmio slots: the board's constants (machine/virt.h). */
#define VIRTIO_MMIO_BASE  VIRT_VIRTIO_BASE
#define VIRTIO_MMIO_SIZE  0x1000ULL
#define VIRTIO_MMIO_SLOTS VIRT_VIRTIO_SLOTS
#define VIRTIO_MMIO_IRQ0  VIRT_VIRTIO_IRQ0

/* phandles */
#define VIRT_CELLS_MAX (4 * DTB_MAX_CPUS)

#define PH_CPU_INTC(n) (1u + (n))
#define PH_PLIC        0x100u
#define PH_TEST        0x101u

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

/* interrupts-extended = <&intc(n) a &intc(n) b> for every cpu n. */
static int prop_irqs_ext(void *fdt, unsigned ncpus, uint32_t a, uint32_t b)
{
    fdt32_t cells[VIRT_CELLS_MAX];
    unsigned k = 0;
    for (unsigned n = 0; n < ncpus; n++) {
        cells[k++] = cpu_to_fdt32(PH_CPU_INTC(n));
        cells[k++] = cpu_to_fdt32(a);
        cells[k++] = cpu_to_fdt32(PH_CPU_INTC(n));
        cells[k++] = cpu_to_fdt32(b);
    }
    return fdt_property(fdt, "interrupts-extended", cells, k * sizeof(cells[0]));
}

static int device_irq(void *fdt, uint32_t irq)
{
    CHK(fdt_property_u32(fdt, "interrupts", irq));
    return fdt_property_u32(fdt, "interrupt-parent", PH_PLIC);
}

static int soc(void *fdt, const struct dtb_params *p)
{
    CHK(fdt_begin_node(fdt, "soc"));
    CHK(fdt_property_u32(fdt, "#address-cells", 2));
    CHK(fdt_property_u32(fdt, "#size-cells", 2));
    CHK(fdt_property_string(fdt, "compatible", "simple-bus"));
    CHK(fdt_property(fdt, "ranges", NULL, 0));

    CHK(begin_node_at(fdt, "test", SYSCON_BASE));
    static const char test_compat[] = "sifive,test1\0sifive,test0\0syscon";
    CHK(fdt_property(fdt, "compatible", test_compat, sizeof(test_compat)));
    CHK(prop_reg(fdt, SYSCON_BASE, SYSCON_SIZE));
    CHK(fdt_property_u32(fdt, "phandle", PH_TEST));
    CHK(fdt_end_node(fdt));

    CHK(begin_node_at(fdt, "rtc", RTC_BASE));
    CHK(fdt_property_string(fdt, "compatible", "google,goldfish-rtc"));
    CHK(prop_reg(fdt, RTC_BASE, RTC_SIZE));
    CHK(device_irq(fdt, RTC_IRQ));
    CHK(fdt_end_node(fdt));

    CHK(begin_node_at(fdt, "clint", CLINT_BASE));
    static const char clint_compat[] = "sifive,clint0\0riscv,clint0";
    CHK(fdt_property(fdt, "compatible", clint_compat, sizeof(clint_compat)));
    CHK(prop_reg(fdt, CLINT_BASE, CLINT_SIZE));
    CHK(prop_irqs_ext(fdt, p->ncpus, HW_IRQ_MSI, HW_IRQ_MTI));
    CHK(fdt_end_node(fdt));

    CHK(begin_node_at(fdt, "plic", PLIC_BASE));
    static const char plic_compat[] = "sifive,plic-1.0.0\0riscv,plic0";
    CHK(fdt_property(fdt, "compatible", plic_compat, sizeof(plic_compat)));
    CHK(prop_reg(fdt, PLIC_BASE, PLIC_SIZE));
    CHK(fdt_property_u32(fdt, "#address-cells", 0));
    CHK(fdt_property_u32(fdt, "#interrupt-cells", 1));
    CHK(fdt_property(fdt, "interrupt-controller", NULL, 0));
    CHK(fdt_property_u32(fdt, "riscv,ndev", PLIC_NSOURCES - 1));
    CHK(prop_irqs_ext(fdt, p->ncpus, HW_IRQ_MEI, HW_IRQ_SEI));
    CHK(fdt_property_u32(fdt, "phandle", PH_PLIC));
    CHK(fdt_end_node(fdt));

    CHK(begin_node_at(fdt, "serial", UART_BASE));
    CHK(fdt_property_string(fdt, "compatible", "ns16550a"));
    CHK(prop_reg(fdt, UART_BASE, UART_SIZE));
    CHK(fdt_property_u32(fdt, "clock-frequency", UART_CLOCK_HZ));
    CHK(device_irq(fdt, UART_IRQ));
    CHK(fdt_end_node(fdt));

    /* Ascending slot order: Linux registers the platform devices in DT
     * order, so slot 0 probes first and the first disk is /dev/vda. */
    for (unsigned n = 0; n < VIRTIO_MMIO_SLOTS; n++) {
        if (!(p->virtio_mask >> n & 1))
            continue;
        uint64_t base = VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SIZE;
        CHK(begin_node_at(fdt, "virtio_mmio", base));
        CHK(fdt_property_string(fdt, "compatible", "virtio,mmio"));
        CHK(prop_reg(fdt, base, VIRTIO_MMIO_SIZE));
        CHK(device_irq(fdt, VIRTIO_MMIO_IRQ0 + n));
        CHK(fdt_end_node(fdt));
    }
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
    CHK(fdt_property_string(fdt, "stdout-path", "/soc/serial@10000000"));
    if (p->has_initrd) {
        CHK(fdt_property_u64(fdt, "linux,initrd-start", p->initrd_start));
        CHK(fdt_property_u64(fdt, "linux,initrd-end", p->initrd_end));
    }
    if (p->rng_seed && p->rng_seed_len)
        CHK(fdt_property(fdt, "rng-seed", p->rng_seed, (int)p->rng_seed_len));
    CHK(fdt_end_node(fdt));

    CHK(fdt_begin_node(fdt, "aliases"));
    CHK(fdt_property_string(fdt, "serial0", "/soc/serial@10000000"));
    CHK(fdt_end_node(fdt));

    CHK(begin_node_at(fdt, "memory", p->ram_base));
    CHK(fdt_property_string(fdt, "device_type", "memory"));
    CHK(prop_reg(fdt, p->ram_base, p->ram_size));
    CHK(fdt_end_node(fdt));

    CHK(cpus(fdt, p));
    CHK(soc(fdt, p));

    CHK(fdt_begin_node(fdt, "poweroff"));
    CHK(fdt_property_string(fdt, "compatible", "syscon-poweroff"));
    CHK(fdt_property_u32(fdt, "regmap", PH_TEST));
    CHK(fdt_property_u32(fdt, "offset", 0));
    CHK(fdt_property_u32(fdt, "value", SYSCON_PASS));
    CHK(fdt_end_node(fdt));

    CHK(fdt_begin_node(fdt, "reboot"));
    CHK(fdt_property_string(fdt, "compatible", "syscon-reboot"));
    CHK(fdt_property_u32(fdt, "regmap", PH_TEST));
    CHK(fdt_property_u32(fdt, "offset", 0));
    CHK(fdt_property_u32(fdt, "value", SYSCON_RESET));
    CHK(fdt_end_node(fdt));

    CHK(fdt_end_node(fdt));
    return fdt_finish(fdt);
}

int dtb_build(const struct dtb_params *p, void **blob, size_t *size)
{
    if (!p->ncpus || p->ncpus > DTB_MAX_CPUS) {
        vlog_error("device tree: %u cpus, expected 1..%d", p->ncpus, DTB_MAX_CPUS);
        return -EINVAL;
    }
    for (size_t bufsize = 16384; bufsize <= (1u << 24); bufsize *= 2) {
        void *fdt = calloc(1, bufsize);
        if (!fdt)
            return -ENOMEM;
        int err = build(fdt, bufsize, p);
        if (err == -FDT_ERR_NOSPACE) {
            free(fdt);
            continue;
        }
        if (err < 0) {
            vlog_error("device tree: libfdt: %s", fdt_strerror(err));
            free(fdt);
            return -EINVAL;
        }
        /* Grow the blob's totalsize so firmware can edit it in place. */
        size_t total = fdt_totalsize(fdt) + DTB_SLACK;
        void *out = calloc(1, total);
        if (!out) {
            free(fdt);
            return -ENOMEM;
        }
        err = fdt_open_into(fdt, out, (int)total);
        free(fdt);
        if (err < 0) {
            vlog_error("device tree: libfdt: %s", fdt_strerror(err));
            free(out);
            return -EINVAL;
        }
        *blob = out;
        *size = total;
        return 0;
    }
    vlog_error("device tree: larger than 16 MiB");
    return -EINVAL;
}
