/* machine-internal: the virt board's memory-map table and its platform
 * devices.  Not part of the module's public API (that is virt.h); unit
 * tests include it to build the device tree of a real board.
 *
 * Conventions rule 4: one table (board_map, board.c) of {name, base,
 * size, IRQ, device} rows, in address order, with the PLIC source enum
 * beside it.  Both the MMIO bus (mem_add_mmio, which rejects overlaps) and
 * the device tree (each device's fdt_node op, at the row's base and IRQ)
 * are built from it; no other file knows an address of the board.
 *
 * A board keeps its devices as a per-VM list of struct device
 * (util/device.h) in table order, the HTIF of a bare-metal program last;
 * reset, quiesce, save and restore walk that list.  The virtio slots have
 * rows in the table; virt.c creates their devices, puts them on the list
 * (board_attach) and maps their transports, and the power button's.
 *
 * Threads: everything here is called by the thread that builds or
 * controls the VM, with every hart stopped (outside hart_run). */
#ifndef VESSEL_MACHINE_BOARD_H
#define VESSEL_MACHINE_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/hw.h"
#include "machine/boot.h"
#include "machine/virt.h"
#include "mem/mem.h"
#include "util/device.h"
#include "util/sstate.h"
#include "util/vclock.h"

/* PLIC sources of the board's devices (source 0 means "none"). */
enum board_irq {
    BOARD_IRQ_NONE = 0,
    BOARD_IRQ_VIRTIO0 = 1,      /* virtio slot n: BOARD_IRQ_VIRTIO0 + n */
    BOARD_IRQ_POWER = 9,        /* the power button (virtio-input) */
    BOARD_IRQ_UART = 10,
    BOARD_IRQ_RTC = 11,
};

enum board_kind {
    BOARD_SYSCON,               /* sifive,test (poweroff/reboot) */
    BOARD_RTC,                  /* goldfish RTC */
    BOARD_CLINT,
    BOARD_PLIC,
    BOARD_UART,                 /* NS16550A, the console */
    BOARD_VIRTIO,               /* a virtio-mmio slot */
    BOARD_POWER,                /* the power button: virtio-input on its own
                                   virtio-mmio window, on every VM, outside
                                   the slots the configuration fills */
};

struct board_row {
    const char *name;           /* device-tree node name (without @addr) */
    uint64_t base, size;        /* MMIO window, bytes */
    unsigned irq;               /* enum board_irq, or 0 */
    enum board_kind kind;
    uint32_t phandle;           /* device-tree phandle, 0: none */
};

#define BOARD_PLATFORM_ROWS 5
#define BOARD_ROWS (BOARD_PLATFORM_ROWS + VIRT_VIRTIO_SLOTS + 1 /* power button */)
extern const struct board_row board_map[BOARD_ROWS];

/* The row of the `n`th device of `kind` (n = the virtio slot; 0 for the
 * others), or NULL when there is none. */
const struct board_row *board_row(enum board_kind kind, unsigned n);

/* Where the devices' outputs go (copied). */
struct board_wiring {
    struct hw_irq_sink harts;   /* per-hart interrupt wires */
    struct hw_console console;  /* UART and HTIF output */
    struct hw_notify stop;      /* a poweroff/reboot request was made */
};

/* Capacity of the device list: the table's devices and the HTIF. */
#define BOARD_MAX_DEVS (BOARD_ROWS + 1)

struct board {
    struct clint *clint;
    struct plic *plic;
    struct uart *uart;
    struct syscon *syscon;
    struct rtc *rtc;
    struct htif *htif;          /* bare-metal programs with `tohost` only */
    /* Every device of the VM, in table order then the HTIF; rows[i] is
     * devs[i]'s table row (NULL for the HTIF). */
    struct device devs[BOARD_MAX_DEVS];
    const struct board_row *rows[BOARD_MAX_DEVS];
    unsigned ndevs;
    char stdout_path[48];       /* the UART's node, "/soc/serial@..." */
};

/* Create the platform devices of the table for `ncpus` harts whose mtime
 * is `clock` (borrowed), wire them as `w` says and map each at its row
 * with mem_add_mmio (which refuses overlaps).  On error (-ENOMEM, or
 * mem_add_mmio's, with its message in err as machine/boot.h describes)
 * the caller still calls board_destroy. */
int board_create(struct board *b, unsigned ncpus, struct vclock *clock,
                 const struct board_wiring *w, struct mem *mem, char *err, size_t errlen);

/* Append a device that implements device_ops to the list; `row` is its
 * table row (for its device-tree node), or NULL.  The board owns it from
 * then on (destroy).  -ENOSPC when the list is full. */
int board_attach(struct board *b, const struct device_ops *ops, void *opaque,
                 const struct board_row *row);

/* Create the HTIF over the program's `tohost` word (and `fromhost`,
 * unless 0), map it and append it to the list.  -ENOMEM, or
 * mem_add_mmio's error (not printed). */
int board_add_htif(struct board *b, struct mem *mem, uint64_t tohost, uint64_t fromhost,
                   const struct board_wiring *w);

/* Destroy every device (ops->destroy).  The board's memory stays the
 * caller's. */
void board_destroy(struct board *b);

/* Build the device tree: the /soc nodes are the table's rows, in order,
 * whose device is on the list, each written by its device's fdt_node op;
 * p's soc, stdout_path and phandles are filled in here, the rest is the
 * caller's.  As dtb_build. */
int board_build_dtb(const struct board *b, struct dtb_params *p, void **blob,
                    size_t *size, char *err, size_t errlen);

/* Walks of the device list, in its order (struct device_ops). */
void board_reset(struct board *b);
int board_quiesce(struct board *b);     /* on error, resumes those done */
void board_resume(struct board *b);
int board_save(const struct board *b, struct sstate_writer *w);
/* Restores each device from its section; stops at the first error,
 * leaving the devices before it restored (virt_restore undoes that).
 * The device of row `absent` (may be NULL) has no section in r (a state
 * saved before that device existed): it is reset to its power-on state
 * instead. */
int board_restore(struct board *b, struct sstate_reader *r, const struct board_row *absent);

#endif
