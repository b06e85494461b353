/* machine-internal: the virt board's state, shared by virt.c (building,
 * loading, the running board) and state.c (reset, quiesce, save,
 * restore).  Not part of the module's API (virt.h). */
#ifndef VESSEL_MACHINE_VIRT_INT_H
#define VESSEL_MACHINE_VIRT_INT_H

#include "machine/board.h"
#include "machine/virt.h"

struct virt_wake {
    struct virt_machine *vm;
    unsigned cpu;
};

enum virt_slot_kind { SLOT_EMPTY, SLOT_BLK, SLOT_NET, SLOT_CONSOLE, SLOT_RNG, SLOT_BALLOON };

struct virt_slot {
    enum virt_slot_kind kind;
    void *dev;                      /* struct virtio_blk / _net / ... */
};

struct virt_machine {
    /* Callbacks used after create; the image paths and the command line
     * point at copies the board owns (virt_reset loads the images again),
     * the other borrowed pointers are cleared once the board is built. */
    struct virt_config cfg;
    char *paths[5];                 /* the copies: bios, firmware, kernel,
                                       initrd, append (each may be NULL) */
    struct vclock clock;
    /* Between virt_quiesce and virt_resume guest time stands still at
     * frozen_ticks (design rule 6): that is the time virt_save records. */
    bool quiesced;
    uint64_t frozen_ticks;
    struct mem *mem;
    unsigned ncpus;
    struct hart *harts[VIRT_MAX_CPUS];
    struct virt_wake wake[VIRT_MAX_CPUS];
    struct board_wiring wiring;
    struct board board;             /* platform devices, the device list */
    uint64_t tohost, fromhost;      /* HTIF windows (bare metal), 0: none */
    struct virt_slot slots[VIRT_VIRTIO_SLOTS];
    uint32_t virtio_mask;           /* bit n: slot n populated */
    struct virtio_console *vcon;    /* also in a slot, for console input */
    struct virtio_balloon *balloon; /* also in a slot, for its target and counters */
    struct virtio_input *power;     /* the power button (on the list) */
    void *dtb;
    size_t dtb_size;
    uint64_t dtb_addr;
    uint64_t entry, info;           /* every hart's boot pc and a2 */
};

/* Load the boot images into RAM and place the device tree (bare metal or
 * Linux, as configured), setting vm->entry, vm->info and the DTB.  The
 * first time (reload false) it also maps the HTIF; a reload (virt_reset)
 * reads the same files again and refuses (-ESTALE) a program whose
 * tohost/fromhost moved.  Errors as virt_create's, with the message in
 * err. */
int virt_load(struct virt_machine *vm, bool reload, char *err, size_t errlen);

/* Give every hart its boot registers: pc = entry, a0 = hartid, a1 = DTB,
 * a2 = fw_dynamic_info (Linux mode). */
void virt_boot_regs(struct virt_machine *vm);

#endif
