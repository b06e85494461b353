/* machine: the RISC-V "virt" board (the memory map QEMU, OpenSBI and Linux
 * agree on) built from harts (cpu/riscv), platform devices (hw/) and guest
 * memory (mem/).  It also loads what runs first: a bare-metal ELF, or
 * OpenSBI firmware + a Linux Image + initrd + a generated device tree.
 *
 * The memory map is one table (machine/board.c, docs/machine.md): the
 * platform devices and virtio-mmio slots below 0x8000_0000, RAM from
 * there.
 *
 * The VMM (vmm/) owns the threads: it runs each hart with hart_run() and
 * calls the functions below between slices.  Unless said otherwise they
 * are called by one thread at a time. */
#ifndef VESSEL_MACHINE_VIRT_H
#define VESSEL_MACHINE_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/riscv/hart.h"
#include "util/sstate.h"

#define VIRT_MAX_CPUS 16
#define VIRT_RAM_BASE 0x80000000ULL
/* Guest RAM: a multiple of MEM_PAGE_SIZE, VIRT_MIN_RAM to VIRT_MAX_RAM bytes. */
#define VIRT_MIN_RAM MEM_PAGE_SIZE
#define VIRT_MAX_RAM (1ULL << 40)

/* virtio-mmio slots (addresses and PLIC sources in the board's table).
 * Devices fill slots in this order: disks (in the order given, so the
 * first is /dev/vda), network cards, the virtio console (when selected),
 * the entropy device (always). */
#define VIRT_VIRTIO_SLOTS 8

struct block_dev;
struct net_backend;
struct ratelimit;

/* One virtio-blk disk.  The block device is opened (and closed) by the
 * caller, once per VM, so it survives the board being rebuilt on a guest
 * reboot. */
struct virt_disk {
    struct block_dev *bd;       /* borrowed: must outlive the board */
    bool read_only;             /* VIRTIO_BLK_F_RO, writes fail */
    bool flush_noop;            /* cache=unsafe: guest flushes do nothing */
    const char *serial;         /* GET_ID string (<= 20 bytes used), or NULL */
};

/* One virtio-net card.  The backend is opened (and closed) by the caller,
 * once per VM, so it outlives the board: guest reboots reset the card in
 * place and host port forwards stay bound. */
struct virt_nic {
    struct net_backend *be;     /* borrowed: must outlive the board; the
                                   card attaches to it (net_attach) */
    uint8_t mac[6];             /* unicast, not all zero */
};

struct virt_config {
    uint64_t ram_size;          /* bytes, multiple of 4 KiB */
    unsigned ncpus;             /* 1..VIRT_MAX_CPUS */
    /* Bare-metal mode: an ELF started in M-mode at its entry on every hart
     * with no firmware; HTIF tohost/fromhost found in its symbol table. */
    const char *bios;
    /* Linux mode: OpenSBI firmware (NULL: Debian's fw_dynamic.bin),
     * kernel Image, optional initrd and command line. */
    const char *firmware;
    const char *kernel;
    const char *initrd;
    const char *append;
    /* Console output (UART and HTIF console); called from vCPU threads. */
    void (*console_out)(void *opaque, const uint8_t *buf, size_t len);
    void *console_opaque;
    /* Wake the thread running hart `cpu` (it may be waiting in WFI). */
    void (*wake)(void *opaque, unsigned cpu);
    void *wake_opaque;
    /* virtio devices (slot order above; at most VIRT_VIRTIO_SLOTS in all,
     * counting the always-present entropy device). */
    const struct virt_disk *disks;
    unsigned ndisks;
    const struct virt_nic *nics;    /* see virt_net_available */
    unsigned nnics;
    bool virtio_console;        /* attach virtio-console; input goes there */
    /* Attach virtio-balloon after the entropy device (VIRT_BALLOON_*). */
    enum virt_balloon_mode { VIRT_BALLOON_NONE, VIRT_BALLOON_ON,
                             VIRT_BALLOON_REPORTING } balloon;
    /* The VM's limiter for warnings the guest can trigger (util/ratelimit.h;
     * borrowed, must outlive the board).  The VMM keeps it across guest
     * reboots so that rebooting does not refill it.  NULL: each device
     * limits its own. */
    struct ratelimit *log_limit;
    /* Linux mode: build the board but do not load the images into RAM
     * (a snapshot restore is about to map RAM and set the harts; reading
     * a 30 MB kernel first would cost most of a restore's time).  The
     * harts then sit at pc 0 until virt_restore or virt_reset, which
     * loads the images as at power-on. */
    bool defer_load;
};

struct virt_machine;

/* Build the board, load the images, and leave every hart at its reset pc
 * with the boot registers set.  Returns 0, or a negative errno (-ENOENT
 * missing file, -ENOEXEC not a RISC-V ELF/Image, -EFBIG does not fit in
 * RAM, -EINVAL bad value, -EBUSY a NIC's backend already has a card,
 * -ENOMEM) with one line in err (errlen bytes, always NUL-terminated; may
 * be NULL) naming the file or value at fault and what would be accepted,
 * e.g. "/tmp/x.elf: not a RISC-V ELF (e_machine 62, expected 243)".
 * Prints nothing. */
int virt_create(const struct virt_config *cfg, struct virt_machine **out, char *err,
                size_t errlen) __attribute__((warn_unused_result));
void virt_destroy(struct virt_machine *vm);

unsigned virt_ncpus(const struct virt_machine *vm);
struct hart *virt_hart(struct virt_machine *vm, unsigned cpu);

/* The board's guest-physical address space (borrowed; lives until
 * virt_destroy).  For attaching further devices (virtio) and debuggers. */
struct mem *virt_mem(struct virt_machine *vm);

/* The VM's clock (guest `time`, CLINT mtime base).  virt_quiesce and
 * virt_resume already keep guest time still across a pause, and
 * virt_restore sets it; a caller using them must not move offset_ticks
 * itself for the same pause. */
struct vclock *virt_clock(struct virt_machine *vm);

/* Guest-physical address of the device tree the harts got in a1. */
uint64_t virt_dtb_addr(const struct virt_machine *vm);

/* Raise or lower time-driven interrupt lines (CLINT mtimecmp vs mtime) for
 * every hart.  Called by the VMM between slices; cheap. */
void virt_update_timers(struct virt_machine *vm);

/* Host nanoseconds until the next timer of hart `cpu` (CLINT mtimecmp or
 * Sstc stimecmp) fires; UINT64_MAX when none is armed. */
uint64_t virt_next_timer_ns(struct virt_machine *vm, unsigned cpu);

/* Number of virtio slots a configuration needs (disks + nics + console +
 * the entropy device). */
unsigned virt_virtio_slots_needed(const struct virt_config *cfg);

/* True when this build has virtio-net (src/virtio/net.h). */
bool virt_net_available(void);

/* Feed bytes typed on the console to the console's receiver (any thread):
 * the UART's FIFO, or virtio-console port 0 with cfg->virtio_console. */
void virt_console_input(struct virt_machine *vm, const uint8_t *buf, size_t len);

/* Press and release the power button (virtio-input KEY_POWER, on every
 * VM; docs/machine.md "Power button"): the guest's input stack decides
 * what it means (Debian's systemd-logind powers off).  Any thread;
 * returns at once.  The events wait for the driver's buffers (a press
 * while paused or before the driver loaded is delivered later).  Returns
 * 0, -ENOSPC when the button has been pressed
 * VIRTIO_INPUT_PENDING_MAX / 4 times without the guest taking the
 * events (nothing queued), -ENODEV without the device. */
int virt_power_button(struct virt_machine *vm) __attribute__((warn_unused_result));

/* The balloon (cfg->balloon): ask the guest for a balloon of `pages`
 * 4 KiB pages (virtio_balloon_set_target), and read its counters
 * (virtio_balloon_stats).  Any thread while the board exists.  -ENODEV
 * without a balloon. */
struct virtio_balloon_stats;
int virt_balloon_set_target(struct virt_machine *vm, uint32_t pages);
int virt_balloon_stats(struct virt_machine *vm, struct virtio_balloon_stats *out);

/* The counters of disk `i` (0..ndisks-1, the order of cfg->disks) and of
 * network card `i` (0..nnics-1), with the guest address the card learnt
 * (virtio.h struct virtio_blk_stats, virtio/net.h struct
 * virtio_net_stats).  Cheap: atomic loads (and the card's rx lock for its
 * pending count), no system call.  Any thread while the board exists.
 * Returns 0, or -ENODEV when there is no such device. */
struct virtio_blk_stats;
struct virtio_net_stats;
int virt_disk_stats(struct virt_machine *vm, unsigned i, struct virtio_blk_stats *st);
int virt_nic_stats(struct virt_machine *vm, unsigned i, struct virtio_net_stats *st);

/* Has the guest asked to stop?  VIRT_RUNNING, VIRT_POWEROFF (exit status
 * in *code: 0 for a clean poweroff / HTIF pass, else the guest's code) or
 * VIRT_REBOOT. */
enum { VIRT_RUNNING = 0, VIRT_POWEROFF = 1, VIRT_REBOOT = 2 };
int virt_shutdown_state(struct virt_machine *vm, int *code);

/* Write the generated device tree blob to `path` (for --dump-dtb).
 * Returns 0, or -errno with one line in err as virt_create's. */
int virt_dump_dtb(struct virt_machine *vm, const char *path, char *err, size_t errlen);

/* ---- life cycle: reset, quiesce, saved state ----
 * Called by the thread that controls the VM while no hart is inside
 * hart_run (the caller stops and holds every vCPU thread); other threads
 * may still feed console input. */

/* The files the board loads at every boot (virt_reset reads them again):
 * the bare-metal ELF, or the firmware (the default one resolved at
 * create), kernel and initrd, as the paths it opens them by.  Fills out
 * with up to 4 pointers the board owns (valid until virt_destroy) and
 * returns how many.  Any thread; the set never changes. */
size_t virt_boot_files(const struct virt_machine *vm, const char *out[4]);

/* Guest reboot: reset every hart and device in place to its power-on
 * state, restart guest time at 0 and load the boot images (the files
 * named at create, read again) and a new device tree into RAM; every
 * hart is left at the entry point with its boot registers, as after
 * virt_create.  The board is not rebuilt: RAM stays mapped (its other
 * contents are kept, as on real hardware), disk and network backends stay
 * open and attached (host port forwards stay bound).  Returns 0, or the
 * loader's error with its message in err as virt_create's (-ENOENT a file
 * is gone, -ESTALE a bare-metal program's HTIF words moved, -EFBIG it no
 * longer fits): then the VM cannot run on. */
int virt_reset(struct virt_machine *vm, char *err, size_t errlen);

/* Quiesce the devices (struct device_ops.quiesce: in-flight work
 * finished, no new work taken) and stop guest time: from here until
 * virt_resume the VM's clock reads as frozen for virt_save, and resume
 * continues guest time from where it stopped (design rule 6), so a pause
 * is invisible to the guest's clocks.  Returns 0, -EBUSY already
 * quiesced, or a device's error (the others are resumed again). */
int virt_quiesce(struct virt_machine *vm);
/* The guest time (ticks) the clock stands at while quiesced: the moment
 * virt_quiesce was called. */
uint64_t virt_frozen_ticks(const struct virt_machine *vm);
/* Undo virt_quiesce.  No-op when not quiesced. */
void virt_resume(struct virt_machine *vm);

/* Append the VM's state (no RAM: that is mem/'s) to w as sections, in
 * this order (docs/machine.md "Saved state"): "virt" (the board's shape),
 * "vclock" (guest time when quiesced), one "hart" per hart, then one
 * section per device in the board's table order ("syscon", "rtc",
 * "clint", "plic", "uart", and "htif" for a bare-metal program with
 * HTIF).  Only while quiesced.  Returns 0, -EBUSY not quiesced, or the
 * writer's error (-ENOMEM). */
int virt_save(struct virt_machine *vm, struct sstate_writer *w);

/* Restore what virt_save wrote, from r, into a board created with the
 * same configuration.  Every section is validated; on any error the VM is
 * left exactly as it was.  Guest time continues from the saved time at
 * virt_resume; interrupt wires are re-driven from the restored devices.
 * Only while quiesced.  Returns 0, -EBUSY not quiesced, -EINVAL
 * malformed, truncated, out-of-range state or another board's shape,
 * -ENOTSUP a section newer than this build, -ENOMEM; or, should putting
 * the previous state back after such an error fail too (it cannot but
 * for lack of memory), -ENOTRECOVERABLE: the VM's state is then a mix
 * and it must not run on. */
int virt_restore(struct virt_machine *vm, struct sstate_reader *r);

#endif
