/* hw-internal: helpers for the devices' device-tree nodes (fdt_node ops).
 * Not part of the module API (hw.h).  Every node sits under a parent with
 * #address-cells = #size-cells = 2 (the board's /soc); the helpers write
 * with libfdt's sequential-write API and return 0 or a negative libfdt
 * error, as struct device_ops' fdt_node does. */
#ifndef VESSEL_HW_DT_H
#define VESSEL_HW_DT_H

#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>

#include "util/device.h"

/* Harts a per-hart interrupt list can name (the board's device tree
 * allows no more, machine/boot.h DTB_MAX_CPUS). */
#define HW_DT_MAX_CPUS 64

#define HW_DT_CHK(x)                            \
    do {                                        \
        int err_ = (x);                         \
        if (err_ < 0)                           \
            return err_;                        \
    } while (0)

/* Open the node `name@<base in hex>` (Devicetree Specification 2.2.1). */
static inline int hw_dt_begin(const struct device_fdt_ctx *ctx, const char *name)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s@%llx", name, (unsigned long long)ctx->base);
    return fdt_begin_node(ctx->fdt, buf);
}

/* reg = <base size>, two cells each. */
static inline int hw_dt_reg(const struct device_fdt_ctx *ctx)
{
    fdt64_t reg[2] = { cpu_to_fdt64(ctx->base), cpu_to_fdt64(ctx->size) };
    return fdt_property(ctx->fdt, "reg", reg, sizeof(reg));
}

/* interrupts = <irq>, interrupt-parent = <&plic>: one PLIC source. */
static inline int hw_dt_irq(const struct device_fdt_ctx *ctx)
{
    HW_DT_CHK(fdt_property_u32(ctx->fdt, "interrupts", ctx->irq));
    return fdt_property_u32(ctx->fdt, "interrupt-parent", ctx->plic_phandle);
}

/* interrupts-extended = <&intc(n) a &intc(n) b> for every hart n: the two
 * mip bits (HW_IRQ_*) a per-hart interrupt source drives. */
static inline int hw_dt_irqs_ext(const struct device_fdt_ctx *ctx, uint32_t a, uint32_t b)
{
    fdt32_t cells[4 * HW_DT_MAX_CPUS];
    unsigned k = 0;
    if (ctx->ncpus > HW_DT_MAX_CPUS)
        return -FDT_ERR_BADVALUE;
    for (unsigned n = 0; n < ctx->ncpus; n++) {
        cells[k++] = cpu_to_fdt32(ctx->cpu_intc_phandles[n]);
        cells[k++] = cpu_to_fdt32(a);
        cells[k++] = cpu_to_fdt32(ctx->cpu_intc_phandles[n]);
        cells[k++] = cpu_to_fdt32(b);
    }
    return fdt_property(ctx->fdt, "interrupts-extended", cells, (int)(k * sizeof(cells[0])));
}

#endif
