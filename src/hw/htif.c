/* HTIF (Berkeley host-target interface, as spike / riscv-fesvr implement
 * it): two 64-bit words in guest RAM named by the symbols `tohost` and
 * `fromhost`, each overlaid with an 8-byte MMIO window.
 *
 *   tohost   = dev[63:56] | cmd[55:48] | payload[47:0], written by the guest
 *   fromhost = the host's answer, cleared by the guest
 *
 *   dev 0 (syscall/exit) cmd 0: payload bit 0 = 1 -> halt, code payload>>1
 *   dev 1 (console)      cmd 1: putchar(payload & 0xff), answer
 *                               fromhost = 1<<56 | 1<<48 | 0x100 | byte
 * Everything else is accepted and ignored.  tohost reads 0 once a command
 * has been taken, as with spike's host loop. */
#include "hw/hw.h"

#include <pthread.h>
#include <stdlib.h>

#include "hw/lanes.h"

#define HTIF_DEV(v)      ((v) >> 56)
#define HTIF_CMD(v)      (((v) >> 48) & 0xff)
#define HTIF_PAYLOAD(v)  ((v) & 0xffffffffffffULL)
#define HTIF_DEV_SYSTEM  0
#define HTIF_DEV_CONSOLE 1
#define HTIF_CONSOLE_PUTC 1

struct htif {
    pthread_mutex_t lock;
    struct hw_console console;
    struct hw_notify notify;
    uint64_t tohost, fromhost;
    unsigned halves;            /* 32-bit halves of tohost written: bit 0 low */
    enum hw_shutdown state;
    int code;
};

struct htif *htif_new(const struct hw_console *console, const struct hw_notify *notify)
{
    struct htif *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    pthread_mutex_init(&h->lock, NULL);
    if (console)
        h->console = *console;
    if (notify)
        h->notify = *notify;
    return h;
}

void htif_free(struct htif *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h);
}

enum hw_shutdown htif_state(struct htif *h, int *code)
{
    pthread_mutex_lock(&h->lock);
    enum hw_shutdown st = h->state;
    if (code)
        *code = h->code;
    pthread_mutex_unlock(&h->lock);
    return st;
}

/* Carry out the command in tohost (lock held). */
static void command(struct htif *h)
{
    uint64_t v = h->tohost;
    h->tohost = 0;
    h->halves = 0;
    if (!v)
        return;
    if (HTIF_DEV(v) == HTIF_DEV_SYSTEM && HTIF_CMD(v) == 0) {
        uint64_t p = HTIF_PAYLOAD(v);
        if ((p & 1) && h->state == HW_RUNNING) {
            h->state = HW_POWEROFF;
            h->code = (int)((p >> 1) & 0x7fffffff);
            if (h->notify.fn)
                h->notify.fn(h->notify.opaque);
        }
    } else if (HTIF_DEV(v) == HTIF_DEV_CONSOLE && HTIF_CMD(v) == HTIF_CONSOLE_PUTC) {
        uint8_t c = (uint8_t)v;
        if (h->console.out)
            h->console.out(h->console.opaque, &c, 1);
        h->fromhost = (uint64_t)HTIF_DEV_CONSOLE << 56 |
                      (uint64_t)HTIF_CONSOLE_PUTC << 48 | 0x100 | c;
    }
}

static uint64_t tohost_read(void *opaque, uint64_t off, unsigned size)
{
    struct htif *h = opaque;
    if (!lane_ok(off, size))
        return 0;
    pthread_mutex_lock(&h->lock);
    uint64_t v = lane_extract(h->tohost, off, size);
    pthread_mutex_unlock(&h->lock);
    return v;
}

static void tohost_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct htif *h = opaque;
    if (!lane_ok(off, size))
        return;
    uint64_t mask = lane_mask(off, size);
    pthread_mutex_lock(&h->lock);
    h->tohost = lane_merge(h->tohost, off, size, val);
    if (mask & 0xffffffffULL)
        h->halves |= 1;
    if (mask >> 32)
        h->halves |= 2;
    if (h->halves == 3)
        command(h);
    pthread_mutex_unlock(&h->lock);
}

static uint64_t fromhost_read(void *opaque, uint64_t off, unsigned size)
{
    struct htif *h = opaque;
    if (!lane_ok(off, size))
        return 0;
    pthread_mutex_lock(&h->lock);
    uint64_t v = lane_extract(h->fromhost, off, size);
    pthread_mutex_unlock(&h->lock);
    return v;
}

static void fromhost_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct htif *h = opaque;
    if (!lane_ok(off, size))
        return;
    pthread_mutex_lock(&h->lock);
    h->fromhost = lane_merge(h->fromhost, off, size, val);
    pthread_mutex_unlock(&h->lock);
}

const struct mmio_ops htif_tohost_ops = { .read = tohost_read, .write = tohost_write };
const struct mmio_ops htif_fromhost_ops = { .read = fromhost_read, .write = fromhost_write };
