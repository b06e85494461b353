/* device: the small interface every device of a VM implements (platform
 * devices in hw/, virtio devices in virtio/), so that the board can keep a
 * per-VM list of them and reset, quiesce, save and restore a VM by walking
 * it (design rule 4: all device state lives in the device's struct).
 *
 * Every callback takes the device's own struct as `opaque`.  Callbacks are
 * called by the VMM's control thread while every vCPU is stopped (outside
 * hart_run), except where noted; a device with its own threads (block
 * workers, a network backend) synchronises with them itself.
 *
 * Saved state: one section per device (util/sstate.h), tagged with the
 * device's `tag` and versioned by the device; the section holds the
 * device's guest-visible state only (registers, queue indexes, pending
 * interrupts), never host pointers, file descriptors or caches.  save
 * followed by restore into a freshly created device of the same
 * configuration, then save again, gives byte-identical sections.  restore
 * validates every field (a snapshot file is untrusted input) and changes
 * nothing on error. */
#ifndef VESSEL_DEVICE_H
#define VESSEL_DEVICE_H

#include <stdint.h>

#include "util/sstate.h"

/* Where a device sits on the board, for its device-tree node (Linux
 * Documentation/devicetree/bindings for the device's compatible). */
struct device_fdt_ctx {
    void *fdt;                  /* libfdt blob being built (sequential
                                   write: fdt_begin_node ... fdt_end_node) */
    uint64_t base, size;        /* MMIO window, bytes */
    unsigned irq;               /* interrupt source number on the PLIC, or 0 */
    uint32_t plic_phandle;      /* interrupt parent for `irq` */
    unsigned ncpus;             /* harts, for per-hart interrupt lists */
    const uint32_t *cpu_intc_phandles;  /* [ncpus] each hart's interrupt
                                           controller */
    uint32_t phandle;           /* this node's phandle, if it needs one */
};

struct device_ops {
    const char *tag;            /* section tag: <= 8 ASCII bytes ("plic") */
    /* Back to the power-on state (guest reboot, VM reset).  Host
     * resources (files, sockets, threads) stay open. */
    void (*reset)(void *opaque);
    /* Finish in-flight work (complete started requests, push their used
     * elements) and take no new work until resume.  Returns 0 or -errno.
     * NULL: the device never has work in flight. */
    int (*quiesce)(void *opaque);
    void (*resume)(void *opaque);
    /* Append the device's state as one section (sstate_begin ...
     * sstate_end).  Only while quiesced.  Returns 0 or -errno. */
    int (*save)(const void *opaque, struct sstate_writer *w);
    /* Read the device's section from r and apply it; on any error
     * (-EINVAL malformed or out of range, -ENOTSUP newer version) the
     * device is unchanged.  Only while quiesced. */
    int (*restore)(void *opaque, struct sstate_reader *r);
    /* Write the device's node(s) into the device tree.  NULL: the device
     * has no node.  Returns 0 or a negative libfdt error. */
    int (*fdt_node)(void *opaque, const struct device_fdt_ctx *ctx);
    /* Free the device and everything it owns. */
    void (*destroy)(void *opaque);
};

/* One device of a VM: its interface and its state. */
struct device {
    const struct device_ops *ops;
    void *opaque;
};

#endif
