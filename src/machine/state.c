/* The virt board's life cycle: reset in place, quiesce/resume, saved
 * state.
 *
 * Saved state (util/sstate.h sections, docs/machine.md "Saved state"):
 *   "virt"   v2  u32 ncpus, u64 RAM bytes, u32 populated virtio slots
 *                (bit n = slot n), u32 device sections that follow the
 *                harts: the board's shape, which a restore must match.
 *                Version 1 is a board from before the power button: the
 *                same fields, one device fewer (no "vinput" section); it
 *                restores with the power button at its power-on state
 *   "vclock" v1  u64 ticks per second, u64 guest time in ticks
 *   "hart"       one per hart, in hartid order (cpu/riscv/state.c)
 *   then each device of the board's list, in table order (their layouts
 *                are in the hw/ device files)
 * The clock is saved as guest time, not as its offset: the offset is
 * relative to this host's monotonic clock, which means nothing to another
 * process or host.  A restore sets the offset so that guest time goes on
 * from the saved value (design rule 6). */
#include "machine/virt_int.h"

#include <errno.h>

#include "util/util.h"

#define VIRT_STATE_VERSION   2
#define VCLOCK_STATE_VERSION 1

/* Make the VM clock read `ticks` now.  Harts read the offset without a
 * lock, hence the atomic store (they are stopped, but the CLINT's guest
 * writes use the same discipline). */
static void clock_set(struct virt_machine *vm, uint64_t ticks)
{
    uint64_t now = vclock_now(&vm->clock);
    int64_t off = __atomic_load_n(&vm->clock.offset_ticks, __ATOMIC_RELAXED);
    __atomic_store_n(&vm->clock.offset_ticks, (int64_t)((uint64_t)off + (ticks - now)),
                     __ATOMIC_RELAXED);
}

int virt_reset(struct virt_machine *vm, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    /* Harts first: the devices' resets then drive every wire of the fresh
     * harts from their own power-on state. */
    for (unsigned i = 0; i < vm->ncpus; i++)
        hart_reset(vm->harts[i]);
    /* Guest time restarts at 0, as at power-on, before the CLINT's reset
     * compares it with mtimecmp. */
    clock_set(vm, 0);
    if (vm->quiesced)
        vm->frozen_ticks = 0;
    board_reset(&vm->board);
    int rc = virt_load(vm, true, err, errlen);
    if (rc)
        return rc;
    virt_boot_regs(vm);
    return 0;
}

int virt_quiesce(struct virt_machine *vm)
{
    if (vm->quiesced)
        return -EBUSY;
    /* The harts are stopped: guest time stops now, not once the devices
     * have drained, which the guest does not see either. */
    uint64_t ticks = vclock_now(&vm->clock);
    int rc = board_quiesce(&vm->board);
    if (rc)
        return rc;
    vm->frozen_ticks = ticks;
    vm->quiesced = true;
    return 0;
}

uint64_t virt_frozen_ticks(const struct virt_machine *vm)
{
    return vm->frozen_ticks;
}

void virt_resume(struct virt_machine *vm)
{
    if (!vm->quiesced)
        return;
    /* Time first: a device resuming may look at it. */
    clock_set(vm, vm->frozen_ticks);
    vm->quiesced = false;
    board_resume(&vm->board);
}

int virt_save(struct virt_machine *vm, struct sstate_writer *w)
{
    if (!vm->quiesced)
        return -EBUSY;
    sstate_begin(w, "virt", VIRT_STATE_VERSION);
    sstate_put_u32(w, vm->ncpus);
    sstate_put_u64(w, vm->cfg.ram_size);
    sstate_put_u32(w, vm->virtio_mask);
    sstate_put_u32(w, vm->board.ndevs);
    int rc = sstate_end(w);
    if (rc)
        return rc;
    sstate_begin(w, "vclock", VCLOCK_STATE_VERSION);
    sstate_put_u64(w, vm->clock.freq_hz);
    sstate_put_u64(w, vm->frozen_ticks);
    if ((rc = sstate_end(w)))
        return rc;
    for (unsigned i = 0; i < vm->ncpus; i++)
        if ((rc = hart_save(vm->harts[i], w)))
            return rc;
    return board_save(&vm->board, w);
}

/* Read and apply every section; stops at the first error with what came
 * before it applied. */
static int restore_all(struct virt_machine *vm, struct sstate_reader *r)
{
    uint32_t version;
    int rc = sstate_open(r, "virt", VIRT_STATE_VERSION, &version);
    if (rc)
        return rc;
    /* Version 1 was written by a board without the power button. */
    bool no_power = version == 1;
    uint32_t ncpus = sstate_get_u32(r);
    uint64_t ram = sstate_get_u64(r);
    uint32_t mask = sstate_get_u32(r), ndevs = sstate_get_u32(r);
    uint32_t want_ndevs = vm->board.ndevs - (no_power && vm->power ? 1 : 0);
    if (ncpus != vm->ncpus)
        sstate_failf(r, -EINVAL, "the snapshot has %u vCPUs, this VM %u", ncpus, vm->ncpus);
    else if (ram != vm->cfg.ram_size)
        sstate_failf(r, -EINVAL, "the snapshot has %llu bytes of RAM, this VM %llu",
                     (unsigned long long)ram, (unsigned long long)vm->cfg.ram_size);
    else if (mask != vm->virtio_mask)
        sstate_failf(r, -EINVAL, "the snapshot's virtio slots 0x%x, this VM's 0x%x "
                     "(a bit each: disks, cards, console, entropy, balloon)", mask,
                     vm->virtio_mask);
    else if (ndevs != want_ndevs)
        sstate_failf(r, -EINVAL, "the snapshot has %u devices, this VM %u", ndevs,
                     want_ndevs);
    if ((rc = sstate_close(r)))
        return rc;

    if ((rc = sstate_open(r, "vclock", VCLOCK_STATE_VERSION, &version)))
        return rc;
    if (sstate_get_u64(r) != vm->clock.freq_hz)
        sstate_fail(r, -EINVAL);
    uint64_t ticks = sstate_get_u64(r);   /* any value: the guest sets mtime */
    if ((rc = sstate_close(r)))
        return rc;
    /* Before the devices: the CLINT recomputes MTIP against it. */
    clock_set(vm, ticks);
    vm->frozen_ticks = ticks;

    for (unsigned i = 0; i < vm->ncpus; i++)
        if ((rc = hart_restore(vm->harts[i], r)))
            return rc;
    return board_restore(&vm->board, r, no_power ? board_row(BOARD_POWER, 0) : NULL);
}

int virt_restore(struct virt_machine *vm, struct sstate_reader *r)
{
    if (!vm->quiesced)
        return -EBUSY;
    /* The sections are applied one by one, so keep the current state to
     * put back when a later one is refused: all or nothing. */
    struct sstate_writer backup;
    sstate_writer_init(&backup);
    int rc = virt_save(vm, &backup);
    if (!rc && (rc = restore_all(vm, r))) {
        struct sstate_reader undo;
        sstate_reader_init(&undo, backup.buf, backup.len);
        if (restore_all(vm, &undo))
            rc = -ENOTRECOVERABLE;      /* virt.h: the VM must not run on */
    }
    sstate_writer_free(&backup);
    return rc;
}
