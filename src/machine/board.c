/* The virt board's memory map and its platform devices.
 *
 * The table below is the one place an address of the board is written
 * (the RAM base excepted, virt.h).  It follows QEMU's virt machine, which
 * OpenSBI and Linux know:
 *
 *   0x0010_0000  sifive,test   poweroff/reboot    phandle 0x101
 *   0x0010_1000  goldfish RTC                     PLIC source 11
 *   0x0200_0000  CLINT
 *   0x0c00_0000  PLIC                             phandle 0x100
 *   0x1000_0000  NS16550A                         PLIC source 10
 *   0x1000_1000 + n*0x1000  virtio-mmio slot n    PLIC source 1 + n
 *   0x1000_9000  virtio-mmio: the power button     PLIC source 9
 *
 * Rows are in address order, which is also the order of the /soc nodes
 * in the device tree and of the devices' saved sections. */
#include "machine/board.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"
#include "virtio/virtio.h"

#define PH_PLIC (DTB_PHANDLE_BOARD + 0)
#define PH_TEST (DTB_PHANDLE_BOARD + 1)

#define VIRTIO_ROW(n)                                                       \
    { "virtio_mmio", 0x10001000ULL + (n) * (uint64_t)VIRTIO_MMIO_SIZE,      \
      VIRTIO_MMIO_SIZE, BOARD_IRQ_VIRTIO0 + (n), BOARD_VIRTIO, 0 }

const struct board_row board_map[BOARD_ROWS] = {
    { "test",   0x00100000ULL, SYSCON_SIZE, BOARD_IRQ_NONE, BOARD_SYSCON, PH_TEST },
    { "rtc",    0x00101000ULL, RTC_SIZE,    BOARD_IRQ_RTC,  BOARD_RTC,    0 },
    { "clint",  0x02000000ULL, CLINT_SIZE,  BOARD_IRQ_NONE, BOARD_CLINT,  0 },
    { "plic",   0x0c000000ULL, PLIC_SIZE,   BOARD_IRQ_NONE, BOARD_PLIC,   PH_PLIC },
    { "serial", 0x10000000ULL, UART_SIZE,   BOARD_IRQ_UART, BOARD_UART,   0 },
    VIRTIO_ROW(0), VIRTIO_ROW(1), VIRTIO_ROW(2), VIRTIO_ROW(3),
    VIRTIO_ROW(4), VIRTIO_ROW(5), VIRTIO_ROW(6), VIRTIO_ROW(7),
    /* After the slots, so that adding it moved no slot's address, IRQ or
     * probe order (the first disk is still /dev/vda). */
    { "virtio_mmio", 0x10009000ULL, VIRTIO_MMIO_SIZE, BOARD_IRQ_POWER, BOARD_POWER, 0 },
};

_Static_assert(VIRT_VIRTIO_SLOTS == 8, "one VIRTIO_ROW per slot");
_Static_assert(BOARD_IRQ_VIRTIO0 + VIRT_VIRTIO_SLOTS <= BOARD_IRQ_POWER &&
               BOARD_IRQ_POWER < BOARD_IRQ_UART &&
               BOARD_IRQ_RTC < PLIC_NSOURCES,
               "PLIC sources collide or do not exist");

const struct board_row *board_row(enum board_kind kind, unsigned n)
{
    for (size_t i = 0; i < BOARD_ROWS; i++)
        if (board_map[i].kind == kind && n-- == 0)
            return &board_map[i];
    return NULL;
}

int board_attach(struct board *b, const struct device_ops *ops, void *opaque,
                 const struct board_row *row)
{
    if (b->ndevs == BOARD_MAX_DEVS)
        return -ENOSPC;
    b->devs[b->ndevs] = (struct device){ ops, opaque };
    b->rows[b->ndevs++] = row;
    return 0;
}

/* The device of a platform row: its interfaces and state. */
struct row_device {
    const struct device_ops *ops;   /* NULL: a virtio slot */
    const struct mmio_ops *mmio;
    void *opaque;
};

static struct row_device row_device(struct board *b, const struct board_row *row)
{
    switch (row->kind) {
    case BOARD_SYSCON:
        return (struct row_device){ &syscon_device_ops, &syscon_mmio_ops, b->syscon };
    case BOARD_RTC:
        return (struct row_device){ &rtc_device_ops, &rtc_mmio_ops, b->rtc };
    case BOARD_CLINT:
        return (struct row_device){ &clint_device_ops, &clint_mmio_ops, b->clint };
    case BOARD_PLIC:
        return (struct row_device){ &plic_device_ops, &plic_mmio_ops, b->plic };
    case BOARD_UART:
        return (struct row_device){ &uart_device_ops, &uart_mmio_ops, b->uart };
    case BOARD_VIRTIO:
    case BOARD_POWER:
        break;
    }
    return (struct row_device){ NULL, NULL, NULL };
}

int board_create(struct board *b, unsigned ncpus, struct vclock *clock,
                 const struct board_wiring *w, struct mem *mem, char *err, size_t errlen)
{
    const struct board_row *uart_row = board_row(BOARD_UART, 0);
    const struct board_row *rtc_row = board_row(BOARD_RTC, 0);
    memset(b, 0, sizeof(*b));
    /* The PLIC first: the other devices' lines point at it. */
    b->plic = plic_new(ncpus, &w->harts);
    const struct hw_line uart_irq = { plic_set_source, b->plic, uart_row->irq };
    const struct hw_line rtc_irq = { plic_set_source, b->plic, rtc_row->irq };
    b->clint = clint_new(ncpus, clock, &w->harts);
    b->uart = uart_new(&uart_irq, &w->console);
    b->rtc = rtc_new(&rtc_irq, NULL, NULL);
    b->syscon = syscon_new(&w->stop);
    if (!b->plic || !b->clint || !b->uart || !b->rtc || !b->syscon)
        goto nomem;
    snprintf(b->stdout_path, sizeof(b->stdout_path), "/soc/%s@%llx", uart_row->name,
             (unsigned long long)uart_row->base);

    /* From here on the list owns them (board_destroy). */
    for (size_t i = 0; i < BOARD_ROWS; i++) {
        struct row_device d = row_device(b, &board_map[i]);
        if (!d.ops)
            continue;       /* a virtio device: virt.c makes it */
        int rc = board_attach(b, d.ops, d.opaque, &board_map[i]);
        if (rc)
            return rc;      /* cannot happen: the list holds every row */
    }
    for (unsigned i = 0; i < b->ndevs; i++) {
        const struct board_row *row = b->rows[i];
        struct row_device d = row_device(b, row);
        int rc = mem_add_mmio(mem, row->base, row->size, d.mmio, d.opaque);
        if (rc)
            return errbuf(err, errlen, rc, "virt: cannot map %s at 0x%llx (0x%llx bytes): "
                             "%s", row->name, (unsigned long long)row->base,
                             (unsigned long long)row->size, strerror(-rc));
    }
    return 0;
nomem:
    syscon_free(b->syscon);
    rtc_free(b->rtc);
    uart_free(b->uart);
    clint_free(b->clint);
    plic_free(b->plic);
    memset(b, 0, sizeof(*b));
    return errbuf(err, errlen, -ENOMEM, "virt: out of memory creating the platform devices");
}

int board_add_htif(struct board *b, struct mem *mem, uint64_t tohost, uint64_t fromhost,
                   const struct board_wiring *w)
{
    struct htif *h = htif_new(&w->console, &w->stop);
    if (!h)
        return -ENOMEM;
    int rc = board_attach(b, &htif_device_ops, h, NULL);
    if (rc) {
        htif_free(h);
        return rc;
    }
    b->htif = h;
    rc = mem_add_mmio(mem, tohost, HTIF_WORD, &htif_tohost_ops, h);
    if (!rc && fromhost)
        rc = mem_add_mmio(mem, fromhost, HTIF_WORD, &htif_fromhost_ops, h);
    return rc;
}

void board_destroy(struct board *b)
{
    /* Last attached first: a device that drains work as it goes may still
     * raise a line into the PLIC, which comes before it. */
    for (unsigned i = b->ndevs; i-- > 0;)
        b->devs[i].ops->destroy(b->devs[i].opaque);
    memset(b, 0, sizeof(*b));
}

/* The listed device of a table row, or NULL. */
static const struct device *row_dev(const struct board *b, const struct board_row *row)
{
    for (unsigned i = 0; i < b->ndevs; i++)
        if (b->rows[i] == row)
            return &b->devs[i];
    return NULL;
}

int board_build_dtb(const struct board *b, struct dtb_params *p, void **blob,
                    size_t *size, char *err, size_t errlen)
{
    struct dtb_soc_node soc[BOARD_ROWS];
    unsigned n = 0;
    for (size_t i = 0; i < BOARD_ROWS; i++) {
        const struct board_row *row = &board_map[i];
        const struct device *dev = row_dev(b, row);
        if (dev)
            soc[n++] = (struct dtb_soc_node){ dev, row->base, row->size, row->irq,
                                              row->phandle };
    }
    p->soc = soc;
    p->nsoc = n;
    p->stdout_path = b->stdout_path;
    p->plic_phandle = board_row(BOARD_PLIC, 0)->phandle;
    p->syscon_phandle = board_row(BOARD_SYSCON, 0)->phandle;
    int rc = dtb_build(p, blob, size, err, errlen);
    p->soc = NULL;      /* points into this frame */
    p->nsoc = 0;
    return rc;
}

void board_reset(struct board *b)
{
    for (unsigned i = 0; i < b->ndevs; i++)
        b->devs[i].ops->reset(b->devs[i].opaque);
}

int board_quiesce(struct board *b)
{
    for (unsigned i = 0; i < b->ndevs; i++) {
        const struct device *d = &b->devs[i];
        int rc = d->ops->quiesce ? d->ops->quiesce(d->opaque) : 0;
        if (rc) {
            while (i-- > 0)
                if (b->devs[i].ops->resume)
                    b->devs[i].ops->resume(b->devs[i].opaque);
            return rc;
        }
    }
    return 0;
}

void board_resume(struct board *b)
{
    for (unsigned i = 0; i < b->ndevs; i++)
        if (b->devs[i].ops->resume)
            b->devs[i].ops->resume(b->devs[i].opaque);
}

int board_save(const struct board *b, struct sstate_writer *w)
{
    for (unsigned i = 0; i < b->ndevs; i++) {
        int rc = b->devs[i].ops->save(b->devs[i].opaque, w);
        if (rc)
            return rc;
    }
    return 0;
}

int board_restore(struct board *b, struct sstate_reader *r, const struct board_row *absent)
{
    for (unsigned i = 0; i < b->ndevs; i++) {
        if (absent && b->rows[i] == absent) {
            b->devs[i].ops->reset(b->devs[i].opaque);
            continue;
        }
        int rc = b->devs[i].ops->restore(b->devs[i].opaque, r);
        if (rc)
            return rc;
    }
    return 0;
}
