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
 * has been taken, as with spike's host loop.
 *
 * Saved state, section "htif" version 1:
 *   u64 tohost, u64 fromhost, u8 halves of tohost written since the last
 *   command (bit 0 low, bit 1 high), u8 state (HW_RUNNING or
 *   HW_POWEROFF), u32 exit code (0 while running, else 0..0x7fffffff).
 * A restore refuses a tohost with bits in a half not yet written (a
 * command clears both) and both halves written (that issues the
 * command). */
#include "hw/hw.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "hw/lanes.h"

#define HTIF_DEV(v)      ((v) >> 56)
#define HTIF_CMD(v)      (((v) >> 48) & 0xff)
#define HTIF_PAYLOAD(v)  ((v) & 0xffffffffffffULL)
#define HTIF_DEV_SYSTEM  0
#define HTIF_DEV_CONSOLE 1
#define HTIF_CONSOLE_PUTC 1
#define HTIF_STATE_VERSION 1

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

/* ------------------------------------------------------ device interface */

static void htif_reset(void *opaque)
{
    struct htif *h = opaque;
    pthread_mutex_lock(&h->lock);
    h->tohost = h->fromhost = 0;
    h->halves = 0;
    h->state = HW_RUNNING;
    h->code = 0;
    pthread_mutex_unlock(&h->lock);
}

static int htif_save(const void *opaque, struct sstate_writer *w)
{
    struct htif *h = (struct htif *)opaque;     /* for the lock */
    pthread_mutex_lock(&h->lock);
    sstate_begin(w, "htif", HTIF_STATE_VERSION);
    sstate_put_u64(w, h->tohost);
    sstate_put_u64(w, h->fromhost);
    sstate_put_u8(w, (uint8_t)h->halves);
    sstate_put_u8(w, (uint8_t)h->state);
    sstate_put_u32(w, (uint32_t)h->code);
    pthread_mutex_unlock(&h->lock);
    return sstate_end(w);
}

static int htif_restore(void *opaque, struct sstate_reader *r)
{
    struct htif *h = opaque;
    uint32_t version;
    int rc = sstate_open(r, "htif", HTIF_STATE_VERSION, &version);
    if (rc)
        return rc;
    uint64_t tohost = sstate_get_u64(r), fromhost = sstate_get_u64(r);
    uint8_t halves = sstate_get_u8(r), state = sstate_get_u8(r);
    uint32_t code = sstate_get_u32(r);
    uint64_t written = (halves & 1 ? 0xffffffffULL : 0) | (halves & 2 ? ~0ULL << 32 : 0);
    if (halves > 2 || (tohost & ~written) ||
        !(state == HW_RUNNING ? code == 0 : state == HW_POWEROFF && code <= 0x7fffffff))
        sstate_fail(r, -EINVAL);
    if ((rc = sstate_close(r)))
        return rc;
    pthread_mutex_lock(&h->lock);
    h->tohost = tohost;
    h->fromhost = fromhost;
    h->halves = halves;
    h->state = (enum hw_shutdown)state;
    h->code = (int)code;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

static void htif_destroy(void *opaque)
{
    htif_free(opaque);
}

/* No device-tree node: HTIF lives in the program's own RAM, found through
 * its symbol table. */
const struct device_ops htif_device_ops = {
    .tag = "htif",
    .reset = htif_reset,
    .save = htif_save,
    .restore = htif_restore,
    .destroy = htif_destroy,
};
