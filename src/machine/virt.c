/* The "virt" board: building it, device wiring, boot loading.
 *
 * The memory map is one table (board.c) from which both the MMIO bus and
 * the device tree are built; see docs/machine.md.  In bare-metal mode the
 * HTIF windows over the program's `tohost`/`fromhost` come on top.
 *
 * Boot (docs/machine.md):
 *   bare-metal: ELF segments at p_paddr; every hart at e_entry in M-mode,
 *               a0 = hartid, a1 = DTB.
 *   Linux:      OpenSBI fw_dynamic at RAM base, Image at RAM base +
 *               text_offset, initrd and fw_dynamic_info below the DTB at
 *               the top of RAM; every hart at RAM base, a0 = hartid,
 *               a1 = DTB, a2 = &fw_dynamic_info.
 * Reset, quiesce, save and restore are in state.c. */
#include "machine/virt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "hw/hw.h"
#include "machine/board.h"
#include "machine/boot.h"
#include "machine/virt_int.h"
#include "util/util.h"
#include "util/vclock.h"
#include "virtio/virtio.h"
#if __has_include("virtio/net.h")
#include "virtio/net.h"
#define VIRT_HAVE_NET 1
#else
#define VIRT_HAVE_NET 0
#endif

_Static_assert((int)HW_IRQ_MSI == (int)IRQ_MSI && (int)HW_IRQ_MTI == (int)IRQ_MTI &&
               (int)HW_IRQ_SEI == (int)IRQ_SEI && (int)HW_IRQ_MEI == (int)IRQ_MEI,
               "hw/ and cpu/ disagree on mip bit numbers");
_Static_assert((int)HW_POWEROFF == VIRT_POWEROFF && (int)HW_REBOOT == VIRT_REBOOT &&
               (int)HW_RUNNING == VIRT_RUNNING, "shutdown states disagree");
_Static_assert(VIRT_MAX_CPUS <= DTB_MAX_CPUS && VIRT_MAX_CPUS <= PLIC_MAX_HARTS,
               "VIRT_MAX_CPUS too large for the device tree or PLIC");

#define MiB (1ULL << 20)
#define DTB_ALIGN (2 * MiB)         /* as QEMU's virt, leaves room above it */
/* The Devicetree Specification (5.1) and Linux's RISC-V boot protocol ask
 * for an 8-byte aligned blob; a page keeps fw_dynamic_info (the page below
 * the DTB in Linux mode) simple. */
#define DTB_MIN_ALIGN MEM_PAGE_SIZE
#define KERNEL_ALIGN (2 * MiB)      /* RV64 kernels run from a 2 MiB boundary */

/* OpenSBI fw_dynamic (docs/firmware/fw_dynamic.md, include/sbi/fw_dynamic.h) */
#define FW_DYNAMIC_INFO_MAGIC   0x4942534fULL   /* "OSBI" */
#define FW_DYNAMIC_INFO_VERSION 2
#define FW_DYNAMIC_NEXT_MODE_S  1
#define FW_DEBIAN_PATH "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"

/* ------------------------------------------------------------- wiring */

static void hart_wake(void *opaque)
{
    struct virt_wake *w = opaque;
    if (w->vm->cfg.wake)
        w->vm->cfg.wake(w->vm->cfg.wake_opaque, w->cpu);
}

static void board_set_irq(void *opaque, unsigned hart, unsigned bit, bool level)
{
    struct virt_machine *vm = opaque;
    if (hart < vm->ncpus && vm->harts[hart])
        hart_set_irq(vm->harts[hart], bit, level);
}

/* A device asked for poweroff/reboot: get every hart out of hart_run and
 * WFI so the VMM sees virt_shutdown_state() soon. */
static void board_stop(void *opaque)
{
    struct virt_machine *vm = opaque;
    for (unsigned i = 0; i < vm->ncpus; i++) {
        if (vm->harts[i])
            hart_kick(vm->harts[i]);
        hart_wake(&vm->wake[i]);
    }
}

static void board_console(void *opaque, const uint8_t *buf, size_t len)
{
    struct virt_machine *vm = opaque;
    if (vm->cfg.console_out)
        vm->cfg.console_out(vm->cfg.console_opaque, buf, len);
}

static int create_devices(struct virt_machine *vm, char *err, size_t errlen)
{
    vm->wiring = (struct board_wiring){
        .harts = { board_set_irq, vm },
        .console = { board_console, vm },
        .stop = { board_stop, vm },
    };
    return board_create(&vm->board, vm->ncpus, &vm->clock, &vm->wiring, vm->mem, err, errlen);
}

/* ------------------------------------------------------------- virtio */

_Static_assert(VIRT_VIRTIO_SLOTS <= 32, "virtio_mask has a bit per slot");

unsigned virt_virtio_slots_needed(const struct virt_config *cfg)
{
    return cfg->ndisks + cfg->nnics + (cfg->virtio_console ? 1 : 0) + 1 /* rng */ +
           (cfg->balloon != VIRT_BALLOON_NONE ? 1 : 0);
}

bool virt_net_available(void)
{
    return VIRT_HAVE_NET;
}

static struct virtio_dev *slot_transport(struct virt_slot *s)
{
    switch (s->kind) {
    case SLOT_BLK: return virtio_blk_transport(s->dev);
    case SLOT_CONSOLE: return virtio_console_transport(s->dev);
    case SLOT_RNG: return virtio_rng_transport(s->dev);
    case SLOT_BALLOON: return virtio_balloon_transport(s->dev);
#if VIRT_HAVE_NET
    case SLOT_NET: return virtio_net_transport(s->dev);
#endif
    default: return NULL;
    }
}

/* The device-model view of a slot's device (util/device.h). */
static struct device slot_device(struct virt_slot *s)
{
    switch (s->kind) {
    case SLOT_BLK: return virtio_blk_device(s->dev);
    case SLOT_CONSOLE: return virtio_console_device(s->dev);
    case SLOT_RNG: return virtio_rng_device(s->dev);
    case SLOT_BALLOON: return virtio_balloon_device(s->dev);
#if VIRT_HAVE_NET
    case SLOT_NET: return virtio_net_device(s->dev);
#endif
    default: return (struct device){ NULL, NULL };
    }
}

/* Put a new device in slot n and on the board's list, which owns it from
 * then on (so a later failure while building frees it too).  dev NULL:
 * its creation failed for lack of memory. */
static int slot_attach(struct virt_machine *vm, unsigned n, enum virt_slot_kind kind,
                       void *dev, char *err, size_t errlen)
{
    if (!dev)
        return errbuf(err, errlen, -ENOMEM, "virt: out of memory creating virtio slot %u",
                         n);
    vm->slots[n] = (struct virt_slot){ kind, dev };
    struct device d = slot_device(&vm->slots[n]);
    int rc = board_attach(&vm->board, d.ops, d.opaque, board_row(BOARD_VIRTIO, n));
    if (rc) {
        d.ops->destroy(d.opaque);
        vm->slots[n] = (struct virt_slot){ SLOT_EMPTY, NULL };
        errbuf(err, errlen, rc, "virt: no room for virtio slot %u in the device list", n);
    }
    return rc;
}

/* The interrupt line of virtio slot n: its PLIC source. */
static struct hw_line slot_irq(struct virt_machine *vm, unsigned n)
{
    return (struct hw_line){ plic_set_source, vm->board.plic, board_row(BOARD_VIRTIO, n)->irq };
}

/* The power button: virtio-input on its own row after the slots, on
 * every VM (docs/machine.md "Power button"). */
static int create_power_button(struct virt_machine *vm, char *err, size_t errlen)
{
    const struct board_row *row = board_row(BOARD_POWER, 0);
    const struct hw_line irq = { plic_set_source, vm->board.plic, row->irq };
    struct virtio_input *in = virtio_input_new(&irq, vm->mem);
    if (!in)
        return errbuf(err, errlen, -ENOMEM, "virt: out of memory creating the power button");
    struct device d = virtio_input_device(in);
    int rc = board_attach(&vm->board, d.ops, d.opaque, row);
    if (rc) {
        virtio_input_free(in);
        return errbuf(err, errlen, rc, "virt: no room for the power button in the device "
                      "list");
    }
    vm->power = in;
    virtio_dev_set_log_limit(virtio_input_transport(in), vm->cfg.log_limit);
    rc = mem_add_mmio(vm->mem, row->base, row->size, &virtio_mmio_ops,
                      virtio_input_transport(in));
    if (rc)
        return errbuf(err, errlen, rc, "virt: cannot map the power button at 0x%llx: %s",
                      (unsigned long long)row->base, strerror(-rc));
    return 0;
}

/* Attach the virtio devices to slots 0.. in order (disks, nets, console,
 * rng, balloon), map their transports and wire their interrupts. */
static int create_virtio(struct virt_machine *vm, char *err, size_t errlen)
{
    const struct virt_config *cfg = &vm->cfg;
    unsigned need = virt_virtio_slots_needed(cfg);
    if (need > VIRT_VIRTIO_SLOTS)
        return errbuf(err, errlen, -EINVAL, "too many virtio devices: %u disk(s), %u "
                         "network card(s)%s%s and the entropy device need %u slots; the "
                         "virt board has %d", cfg->ndisks, cfg->nnics,
                         cfg->virtio_console ? ", a virtio console" : "",
                         cfg->balloon != VIRT_BALLOON_NONE ? ", the balloon" : "", need,
                         VIRT_VIRTIO_SLOTS);
    if (cfg->nnics && !VIRT_HAVE_NET)
        return errbuf(err, errlen, -EINVAL, "--net: not available yet");
    const struct hw_console con = { board_console, vm };
    unsigned n = 0;
    for (unsigned i = 0; i < cfg->ndisks; i++, n++) {
        struct hw_line irq = slot_irq(vm, n);
        const struct virt_disk *d = &cfg->disks[i];
        int rc = slot_attach(vm, n, SLOT_BLK,
                             virtio_blk_new(d->bd, d->read_only, d->flush_noop,
                                            d->serial, &irq, vm->mem), err, errlen);
        if (rc)
            return rc;
    }
    for (unsigned i = 0; i < cfg->nnics; i++, n++) {
#if VIRT_HAVE_NET
        struct hw_line irq = slot_irq(vm, n);
        const struct virt_nic *nic = &cfg->nics[i];
        struct virtio_net *nd = NULL;
        int rc = virtio_net_new(nic->be, nic->mac, &irq, vm->mem, &nd);
        if (rc)
            return errbuf(err, errlen, rc, "network card %u: %s", i,
                             rc == -EBUSY ? "its backend is attached to another card" :
                             rc == -EINVAL ? "the MAC address is multicast or all zero" :
                             strerror(-rc));
        virtio_net_set_log_limit(nd, cfg->log_limit);
        if ((rc = slot_attach(vm, n, SLOT_NET, nd, err, errlen)))
            return rc;
#endif
    }
    if (cfg->virtio_console) {
        struct hw_line irq = slot_irq(vm, n);
        vm->vcon = virtio_console_new(&con, &irq, vm->mem);
        int rc = slot_attach(vm, n++, SLOT_CONSOLE, vm->vcon, err, errlen);
        if (rc)
            return rc;
    }
    struct hw_line irq = slot_irq(vm, n);
    int rc = slot_attach(vm, n++, SLOT_RNG, virtio_rng_new(&irq, vm->mem), err, errlen);
    if (rc)
        return rc;
    /* Last, so that a VM without one keeps the slot layout it had. */
    if (cfg->balloon != VIRT_BALLOON_NONE) {
        irq = slot_irq(vm, n);
        vm->balloon = virtio_balloon_new(cfg->balloon == VIRT_BALLOON_REPORTING, &irq, vm->mem);
        if ((rc = slot_attach(vm, n++, SLOT_BALLOON, vm->balloon, err, errlen)))
            return rc;
    }

    /* The devices are on the board's list (reset, quiesce, save, the
     * device tree and destroy walk it); map their transports. */
    for (unsigned i = 0; i < n; i++) {
        const struct board_row *row = board_row(BOARD_VIRTIO, i);
        uint64_t base = row->base;
        virtio_dev_set_log_limit(slot_transport(&vm->slots[i]), cfg->log_limit);
        rc = mem_add_mmio(vm->mem, base, row->size, &virtio_mmio_ops,
                          slot_transport(&vm->slots[i]));
        if (rc)
            return errbuf(err, errlen, rc, "virt: cannot map virtio slot %u at 0x%llx: %s",
                             i, (unsigned long long)base, strerror(-rc));
        vm->virtio_mask |= 1u << i;
    }
    return create_power_button(vm, err, errlen);
}

/* ------------------------------------------------------------- loading */

static uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static uint64_t ram_end(const struct virt_machine *vm)
{
    return VIRT_RAM_BASE + vm->cfg.ram_size;
}

/* The highest address in [lo, hi) where `size` bytes aligned to `align`
 * fit, or 0 when they do not. */
static uint64_t fit_top(uint64_t lo, uint64_t hi, uint64_t size, uint64_t align)
{
    if (hi <= lo || hi - lo < size)
        return 0;
    uint64_t a = align_down(hi - size, align);
    return a >= lo ? a : 0;
}

/* Where the DTB goes in a free range of RAM [lo, hi): as high as possible,
 * 2 MiB aligned when that fits (as QEMU's virt board does), else at the
 * DTB_MIN_ALIGN the boot protocols require.  0 when it does not fit. */
static uint64_t dtb_fit(uint64_t lo, uint64_t hi, size_t size)
{
    uint64_t a = fit_top(lo, hi, size, DTB_ALIGN);
    return a ? a : fit_top(lo, hi, size, DTB_MIN_ALIGN);
}

static int build_dtb(struct virt_machine *vm, struct dtb_params *p, char *err, size_t errlen)
{
    free(vm->dtb);
    vm->dtb = NULL;
    return board_build_dtb(&vm->board, p, &vm->dtb, &vm->dtb_size, err, errlen);
}

static int write_dtb(struct virt_machine *vm, char *err, size_t errlen)
{
    if (mem_write(vm->mem, vm->dtb_addr, vm->dtb, vm->dtb_size))
        return errbuf(err, errlen, -EFBIG, "virt: device tree (%zu bytes) does not fit "
                         "at 0x%llx", vm->dtb_size, (unsigned long long)vm->dtb_addr);
    return 0;
}

/* The HTIF words of the program: mapped the first time; on a reload they
 * must not have moved (the windows stay where they are). */
static int place_htif(struct virt_machine *vm, const struct elf_file *elf, bool reload,
                      char *err, size_t errlen)
{
    const char *path = vm->cfg.bios;
    uint64_t tohost = 0, fromhost = 0;
    int rc = elf_symbol(elf, "tohost", &tohost, err, errlen);
    if (rc == -ENOENT)
        tohost = 0;
    else if (rc)
        return rc;
    if (tohost && (rc = elf_symbol(elf, "fromhost", &fromhost, err, errlen)) &&
        rc != -ENOENT)
        return rc;
    if (reload) {
        if (tohost == vm->tohost && fromhost == vm->fromhost)
            return 0;
        return errbuf(err, errlen, -ESTALE, "%s: changed since the VM started: "
                         "tohost/fromhost at 0x%llx/0x%llx, were at 0x%llx/0x%llx", path,
                         (unsigned long long)tohost, (unsigned long long)fromhost,
                         (unsigned long long)vm->tohost, (unsigned long long)vm->fromhost);
    }
    if (!tohost)
        return 0;
    rc = board_add_htif(&vm->board, vm->mem, tohost, fromhost, &vm->wiring);
    if (rc)
        errbuf(err, errlen, rc, "%s: cannot place HTIF tohost/fromhost at 0x%llx: %s", path,
                  (unsigned long long)tohost, strerror(-rc));
    vm->tohost = tohost;
    vm->fromhost = fromhost;
    return rc;
}

static int boot_bare_metal(struct virt_machine *vm, bool reload, char *err, size_t errlen)
{
    const char *path = vm->cfg.bios;
    struct elf_file *elf = NULL;
    uint64_t lo, hi;
    int rc = elf_open(path, &elf, err, errlen);
    if (rc)
        return rc;
    rc = elf_load(elf, vm->mem, &lo, &hi, err, errlen);
    if (rc || (rc = place_htif(vm, elf, reload, err, errlen)))
        goto out;
    vm->entry = elf_entry(elf);
    vm->info = 0;

    struct dtb_params p = {
        .ncpus = vm->ncpus, .ram_base = VIRT_RAM_BASE, .ram_size = vm->cfg.ram_size,
        .bootargs = vm->cfg.append,
    };
    rc = build_dtb(vm, &p, err, errlen);
    if (rc)
        goto out;
    /* Above the program when it fits there (the usual case: programs are
     * linked at the RAM base), else below it. */
    if (!hi)
        lo = hi = VIRT_RAM_BASE;
    vm->dtb_addr = dtb_fit(hi, ram_end(vm), vm->dtb_size);
    if (!vm->dtb_addr)
        vm->dtb_addr = dtb_fit(VIRT_RAM_BASE, lo, vm->dtb_size);
    if (!vm->dtb_addr) {
        rc = errbuf(err, errlen, -EFBIG, "%s: no room for the %zu-byte device tree: the "
                       "program occupies 0x%llx-0x%llx of RAM 0x%llx-0x%llx (%llu KiB), "
                       "leaving %llu bytes above it and %llu below; use a larger --memory",
                       path, vm->dtb_size, (unsigned long long)lo, (unsigned long long)hi,
                       (unsigned long long)VIRT_RAM_BASE, (unsigned long long)ram_end(vm),
                       (unsigned long long)(vm->cfg.ram_size >> 10),
                       (unsigned long long)(hi < ram_end(vm) ? ram_end(vm) - hi : 0),
                       (unsigned long long)(lo > VIRT_RAM_BASE ? lo - VIRT_RAM_BASE : 0));
        goto out;
    }
    rc = write_dtb(vm, err, errlen);
out:
    elf_close(elf);
    return rc;
}

/* Find OpenSBI fw_dynamic.bin: cfg->firmware, else the guest cache, else
 * Debian's opensbi package. */
static int find_firmware(const char *given, char *buf, size_t len, char *err, size_t errlen)
{
    uint64_t size;
    if (given) {
        snprintf(buf, len, "%s", given);
        return 0;
    }
    const char *dir = getenv("VESSEL_GUEST_DIR");
    const char *home = getenv("HOME");
    char cache[4096];
    if (dir && *dir)
        snprintf(cache, sizeof(cache), "%s/opensbi/fw_dynamic.bin", dir);
    else
        snprintf(cache, sizeof(cache), "%s/.cache/vessel/guest/opensbi/fw_dynamic.bin",
                 home ? home : "");
    const char *tries[] = { cache, FW_DEBIAN_PATH };
    for (size_t i = 0; i < ARRAY_SIZE(tries); i++) {
        if (access(tries[i], R_OK) == 0 && file_size(tries[i], &size, NULL, 0) == 0) {
            snprintf(buf, len, "%s", tries[i]);
            return 0;
        }
    }
    return errbuf(err, errlen, -ENOENT, "no OpenSBI firmware: tried %s and %s (fetch it "
                     "with scripts/fetch-guest.sh, or pass --firmware)", cache, FW_DEBIAN_PATH);
}

static int put_u64s(struct mem *m, uint64_t gpa, const uint64_t *v, size_t n)
{
    uint8_t buf[64];
    for (size_t i = 0; i < n && i < 8; i++)
        for (int b = 0; b < 8; b++)
            buf[i * 8 + b] = (uint8_t)(v[i] >> (8 * b));
    return mem_write(m, gpa, buf, n * 8);
}

static int boot_linux(struct virt_machine *vm, char *err, size_t errlen)
{
    const struct virt_config *cfg = &vm->cfg;
    char fw[4096];
    struct linux_image_info img;
    uint64_t fw_size, initrd_size = 0;
    /* The files the user named first: a missing kernel is the error to
     * report, even where no default firmware is installed yet. */
    int rc = image_probe(cfg->kernel, &img, err, errlen);
    if (rc)
        return rc;
    if (cfg->initrd && (rc = file_size(cfg->initrd, &initrd_size, err, errlen)))
        return rc;
    if ((rc = find_firmware(cfg->firmware, fw, sizeof(fw), err, errlen)) ||
        (rc = file_size(fw, &fw_size, err, errlen)))
        return rc;
    /* An empty firmware runs zeros (illegal instructions in a trap loop):
     * the VM would spin silently.  An empty initrd is a mistake too (the
     * kernel would find no init and say so only deep in its boot). */
    if (!fw_size)
        return errbuf(err, errlen, -ENOEXEC, "--firmware %s: is empty (0 bytes); expected "
                         "an OpenSBI fw_dynamic image", fw);
    if (cfg->initrd && !initrd_size)
        return errbuf(err, errlen, -EINVAL, "--initrd %s: is empty (0 bytes); expected a "
                         "(compressed) cpio archive", cfg->initrd);

    /* Kernel: RAM base + text_offset, but never over the firmware. */
    uint64_t kaddr = VIRT_RAM_BASE + img.text_offset;
    uint64_t kmin = align_up(VIRT_RAM_BASE + fw_size, KERNEL_ALIGN);
    if (kaddr < kmin)
        kaddr = kmin;
    uint64_t kend = kaddr + MAX(img.image_size, img.file_size);

    /* Device tree at the top; its size does not depend on the values. */
    uint8_t seed[32];
    struct dtb_params p = {
        .ncpus = vm->ncpus, .ram_base = VIRT_RAM_BASE, .ram_size = cfg->ram_size,
        .bootargs = cfg->append, .has_initrd = cfg->initrd != NULL,
    };
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed)) {
        p.rng_seed = seed;
        p.rng_seed_len = sizeof(seed);
    }
    if ((rc = build_dtb(vm, &p, err, errlen)))
        return rc;
    /* Below the DTB: the fw_dynamic_info page, then the initrd; all of it
     * above the kernel. */
    uint64_t below = MEM_PAGE_SIZE + align_up(initrd_size, MEM_PAGE_SIZE);
    vm->dtb_addr = 0;
    if (initrd_size <= cfg->ram_size && kend <= ram_end(vm) && below <= ram_end(vm) - kend)
        vm->dtb_addr = dtb_fit(kend + below, ram_end(vm), vm->dtb_size);
    uint64_t info = vm->dtb_addr - MEM_PAGE_SIZE;   /* fw_dynamic_info page */
    uint64_t istart = info - align_up(initrd_size, MEM_PAGE_SIZE);
    if (!vm->dtb_addr)
        return errbuf(err, errlen, -EFBIG, "--memory %llu MiB is too small: OpenSBI %s "
                         "(%llu bytes) + kernel %s (%llu bytes at 0x%llx) + initrd %s (%llu "
                         "bytes) + device tree (%zu bytes) do not fit below 0x%llx",
                         (unsigned long long)(cfg->ram_size / MiB), fw,
                         (unsigned long long)fw_size, cfg->kernel,
                         (unsigned long long)MAX(img.image_size, img.file_size),
                         (unsigned long long)kaddr, cfg->initrd ? cfg->initrd : "(none)",
                         (unsigned long long)initrd_size, vm->dtb_size,
                         (unsigned long long)ram_end(vm));
    if (cfg->initrd) {
        p.initrd_start = istart;
        p.initrd_end = istart + initrd_size;
        size_t old = vm->dtb_size;
        if ((rc = build_dtb(vm, &p, err, errlen)))
            return rc;
        if (vm->dtb_size != old)    /* cannot happen: same properties, same sizes */
            return errbuf(err, errlen, -EINVAL, "virt: the device tree changed size "
                             "with the initrd's address");
    }

    if ((rc = file_load(fw, vm->mem, VIRT_RAM_BASE, kaddr - VIRT_RAM_BASE, err, errlen)) ||
        (rc = file_load(cfg->kernel, vm->mem, kaddr, info - kaddr, err, errlen)) ||
        (cfg->initrd &&
         (rc = file_load(cfg->initrd, vm->mem, istart, info - istart, err, errlen))) ||
        (rc = write_dtb(vm, err, errlen)))
        return rc;
    const uint64_t fdi[6] = {
        FW_DYNAMIC_INFO_MAGIC, FW_DYNAMIC_INFO_VERSION, kaddr,
        FW_DYNAMIC_NEXT_MODE_S, 0, UINT64_MAX /* boot_hart: any (lottery) */,
    };
    if (put_u64s(vm->mem, info, fdi, ARRAY_SIZE(fdi)))
        return errbuf(err, errlen, -EFBIG, "virt: fw_dynamic_info does not fit at 0x%llx",
                         (unsigned long long)info);
    vm->entry = VIRT_RAM_BASE;
    vm->info = info;
    return 0;
}

int virt_load(struct virt_machine *vm, bool reload, char *err, size_t errlen)
{
    return vm->cfg.bios ? boot_bare_metal(vm, reload, err, errlen) : boot_linux(vm, err, errlen);
}

void virt_boot_regs(struct virt_machine *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++) {
        hart_set_pc(vm->harts[i], vm->entry);
        hart_set_x(vm->harts[i], 10, i);                /* a0 = hartid */
        hart_set_x(vm->harts[i], 11, vm->dtb_addr);     /* a1 = DTB */
        if (vm->info)
            hart_set_x(vm->harts[i], 12, vm->info);     /* a2 = fw_dynamic_info */
    }
}

/* ------------------------------------------------------------ public API */

static int check_config(const struct virt_config *cfg, char *err, size_t errlen)
{
    if (!cfg->ncpus || cfg->ncpus > VIRT_MAX_CPUS)
        return errbuf(err, errlen, -EINVAL, "--cpus %u: expected 1..%d", cfg->ncpus,
                         VIRT_MAX_CPUS);
    if (!cfg->ram_size || cfg->ram_size % MEM_PAGE_SIZE || cfg->ram_size > VIRT_MAX_RAM)
        return errbuf(err, errlen, -EINVAL, "--memory %llu bytes: expected a multiple of "
                         "4 KiB, at most 1 TiB", (unsigned long long)cfg->ram_size);
    if (!cfg->bios == !cfg->kernel)
        return errbuf(err, errlen, -EINVAL, "give either a bare-metal program (--bios) or "
                         "a kernel (--kernel)");
    if (cfg->bios && cfg->initrd)
        return errbuf(err, errlen, -EINVAL, "--initrd needs --kernel, not --bios");
    if (cfg->nnics && !cfg->nics)
        return errbuf(err, errlen, -EINVAL, "nics: NULL with nnics %u", cfg->nnics);
    return 0;
}

/* Keep copies of the image paths and command line: virt_reset loads the
 * images again, after the caller's strings are gone. */
static int copy_paths(struct virt_machine *vm)
{
    const char **fields[] = {
        &vm->cfg.bios, &vm->cfg.firmware, &vm->cfg.kernel, &vm->cfg.initrd,
        &vm->cfg.append,
    };
    _Static_assert(ARRAY_SIZE(fields) == ARRAY_SIZE(vm->paths), "one copy per path");
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        if (!*fields[i])
            continue;
        if (!(vm->paths[i] = strdup(*fields[i])))
            return -ENOMEM;
        *fields[i] = vm->paths[i];
    }
    /* The default firmware is chosen once, here, so that every boot of
     * this board (resets included) loads the same file, and
     * virt_boot_files can name it before the first boot (a jail makes
     * only these files visible).  Not found: left to the boot, which
     * reports it after the kernel's own errors. */
    char fw[4096];
    if (vm->cfg.kernel && !vm->cfg.firmware &&
        !find_firmware(NULL, fw, sizeof(fw), NULL, 0)) {
        if (!(vm->paths[1] = strdup(fw)))
            return -ENOMEM;
        vm->cfg.firmware = vm->paths[1];
    }
    return 0;
}

size_t virt_boot_files(const struct virt_machine *vm, const char *out[4])
{
    size_t n = 0;
    for (size_t i = 0; i < 4; i++)  /* bios, firmware, kernel, initrd */
        if (vm->paths[i])
            out[n++] = vm->paths[i];
    return n;
}

int virt_create(const struct virt_config *cfg, struct virt_machine **out, char *err,
                size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    int rc = check_config(cfg, err, errlen);
    if (rc)
        return rc;
    struct virt_machine *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return errbuf(err, errlen, -ENOMEM, "virt: out of memory building the machine");
    vm->cfg = *cfg;
    vm->ncpus = cfg->ncpus;
    vclock_init(&vm->clock, VCLOCK_DEFAULT_HZ);
    if ((rc = copy_paths(vm)))
        goto fail;
    vm->mem = mem_new();
    if (!vm->mem) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = mem_add_ram(vm->mem, VIRT_RAM_BASE, cfg->ram_size);
    if (rc) {
        errbuf(err, errlen, rc, "--memory %llu MiB: cannot reserve guest RAM: %s",
                  (unsigned long long)(cfg->ram_size / MiB), strerror(-rc));
        goto fail;
    }
    for (unsigned i = 0; i < vm->ncpus; i++)
        vm->wake[i] = (struct virt_wake){ vm, i };
    if ((rc = create_devices(vm, err, errlen)) || (rc = create_virtio(vm, err, errlen)) ||
        (!(cfg->defer_load && !cfg->bios) && (rc = virt_load(vm, false, err, errlen))))
        goto fail;

    /* Harts last, so reset_pc is the entry point.  Until they exist the
     * interrupt sink drops levels; no device raises one while loading. */
    for (unsigned i = 0; i < vm->ncpus; i++) {
        /* One decoded-instruction and translated-code cache for the VM:
         * its harts run the same kernel. */
        struct hart_config hc = {
            .hartid = i, .mem = vm->mem, .clock = &vm->clock,
            .reset_pc = vm->entry, .wake = hart_wake, .wake_opaque = &vm->wake[i],
            .share = i ? vm->harts[0] : NULL,
        };
        vm->harts[i] = hart_new(&hc);
        if (!vm->harts[i]) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    /* Used only while building; they belong to the caller. */
    vm->cfg.disks = NULL;
    vm->cfg.nics = NULL;
    virt_boot_regs(vm);
    *out = vm;
    return 0;
fail:
    /* Every failure above wrote its message, except allocations that
     * have nothing to add. */
    if (err && errlen && !err[0])
        errbuf(err, errlen, rc, rc == -ENOMEM ? "virt: out of memory building the machine"
                  : "virt: cannot build the machine: %s", strerror(-rc));
    virt_destroy(vm);
    return rc;
}

void virt_destroy(struct virt_machine *vm)
{
    if (!vm)
        return;
    /* Devices before harts, the list in reverse (virtio first): a device
     * draining its work may still raise a line into the PLIC and from
     * there into a hart. */
    board_destroy(&vm->board);
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (vm->harts[i])
            hart_free(vm->harts[i]);
    mem_free(vm->mem);
    free(vm->dtb);
    for (size_t i = 0; i < ARRAY_SIZE(vm->paths); i++)
        free(vm->paths[i]);
    free(vm);
}

unsigned virt_ncpus(const struct virt_machine *vm)
{
    return vm->ncpus;
}

struct hart *virt_hart(struct virt_machine *vm, unsigned cpu)
{
    return cpu < vm->ncpus ? vm->harts[cpu] : NULL;
}

struct mem *virt_mem(struct virt_machine *vm)
{
    return vm->mem;
}

struct vclock *virt_clock(struct virt_machine *vm)
{
    return &vm->clock;
}

uint64_t virt_dtb_addr(const struct virt_machine *vm)
{
    return vm->dtb_addr;
}

void virt_update_timers(struct virt_machine *vm)
{
    clint_update(vm->board.clint);
    rtc_update(vm->board.rtc);
}

uint64_t virt_next_timer_ns(struct virt_machine *vm, unsigned cpu)
{
    if (cpu >= vm->ncpus)
        return UINT64_MAX;
    uint64_t t = MIN(clint_next_deadline(vm->board.clint, cpu),
                     hart_timer_deadline(vm->harts[cpu]));
    return t == UINT64_MAX ? UINT64_MAX : vclock_ns_until(&vm->clock, t);
}

int virt_power_button(struct virt_machine *vm)
{
    return vm->power ? virtio_input_power_button(vm->power) : -ENODEV;
}

int virt_balloon_set_target(struct virt_machine *vm, uint32_t pages)
{
    if (!vm->balloon)
        return -ENODEV;
    virtio_balloon_set_target(vm->balloon, pages);
    return 0;
}

int virt_balloon_stats(struct virt_machine *vm, struct virtio_balloon_stats *out)
{
    if (!vm->balloon)
        return -ENODEV;
    virtio_balloon_stats(vm->balloon, out);
    return 0;
}

void virt_console_input(struct virt_machine *vm, const uint8_t *buf, size_t len)
{
    if (vm->vcon)
        virtio_console_input(vm->vcon, buf, len);
    else
        uart_input(vm->board.uart, buf, len);
}

/* The slots hold the disks first, then the cards (create_virtio). */
int virt_disk_stats(struct virt_machine *vm, unsigned i, struct virtio_blk_stats *st)
{
    if (i >= vm->cfg.ndisks || i >= VIRT_VIRTIO_SLOTS || vm->slots[i].kind != SLOT_BLK)
        return -ENODEV;
    virtio_blk_get_stats(vm->slots[i].dev, st);
    return 0;
}

int virt_nic_stats(struct virt_machine *vm, unsigned i, struct virtio_net_stats *st)
{
#if VIRT_HAVE_NET
    unsigned n = vm->cfg.ndisks + i;
    if (i >= vm->cfg.nnics || n >= VIRT_VIRTIO_SLOTS || vm->slots[n].kind != SLOT_NET)
        return -ENODEV;
    virtio_net_get_stats(vm->slots[n].dev, st);
    return 0;
#else
    (void)vm; (void)i; (void)st;
    return -ENODEV;
#endif
}

int virt_shutdown_state(struct virt_machine *vm, int *code)
{
    int c = 0;
    enum hw_shutdown st = syscon_state(vm->board.syscon, &c);
    if (st == HW_RUNNING && vm->board.htif)
        st = htif_state(vm->board.htif, &c);
    if (code)
        *code = st == HW_RUNNING ? 0 : c;
    return (int)st;
}

int virt_dump_dtb(struct virt_machine *vm, const char *path, char *err, size_t errlen)
{
    /* O_NONBLOCK for the open only: a FIFO nobody reads would block it
     * forever (ENXIO instead); a pipe or FIFO with a reader is fine
     * (--dump-dtb /dev/stdout | dtc), so writes block as usual. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
                  0666);
    if (fd < 0) {
        int e = errno;
        if (e == ENXIO)
            return errbuf(err, errlen, -e, "--dump-dtb %s: is a FIFO that nobody reads; "
                             "expected a file, or a pipe or FIFO with a reader", path);
        return errbuf(err, errlen, -e, "--dump-dtb %s: %s", path, strerror(e));
    }
    int e = 0;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        e = errno;
    for (size_t done = 0; !e && done < vm->dtb_size;) {
        ssize_t n = write(fd, (const uint8_t *)vm->dtb + done, vm->dtb_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            e = n < 0 ? errno : EIO;
        else
            done += (size_t)n;
    }
    if (close(fd) && !e)
        e = errno;
    if (e)
        return errbuf(err, errlen, -e, "--dump-dtb %s: write failed: %s", path,
                         strerror(e));
    return 0;
}
