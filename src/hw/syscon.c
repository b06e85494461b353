/* SiFive test finisher ("sifive,test0"/"sifive,test1"), the device behind
 * Linux's syscon-poweroff and syscon-reboot nodes on the virt board.
 *
 *   0x0  FINISHER  write 32-bit: bits 15:0 = status, bits 31:16 = code
 *        status 0x5555 PASS  -> power off, exit code 0
 *        status 0x3333 FAIL  -> power off, exit code = code (0 -> 1)
 *        status 0x7777 RESET -> reboot
 *        anything else is ignored.  Reads return 0.
 * The first request wins; later writes are ignored.
 *
 * Saved state, section "syscon" version 1: u8 state (HW_RUNNING,
 * HW_POWEROFF or HW_REBOOT), u32 exit code (0 unless powered off; 1..65535
 * after FAIL, 0 after PASS).  A restored request is seen by the board's
 * next virt_shutdown_state() poll; notify is not called again. */
#include "hw/hw.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "hw/dt.h"

#define SYSCON_FINISHER 0x0
#define SYSCON_STATE_VERSION 1

struct syscon {
    pthread_mutex_t lock;
    struct hw_notify notify;
    enum hw_shutdown state;
    int code;
};

struct syscon *syscon_new(const struct hw_notify *notify)
{
    struct syscon *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    if (notify)
        s->notify = *notify;
    return s;
}

void syscon_free(struct syscon *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

enum hw_shutdown syscon_state(struct syscon *s, int *code)
{
    pthread_mutex_lock(&s->lock);
    enum hw_shutdown st = s->state;
    if (code)
        *code = s->code;
    pthread_mutex_unlock(&s->lock);
    return st;
}

static uint64_t syscon_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

static void syscon_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct syscon *s = opaque;
    if (off != SYSCON_FINISHER || size < 4)
        return;
    uint32_t status = val & 0xffff, code = (val >> 16) & 0xffff;
    enum hw_shutdown st;
    int exit_code = 0;
    switch (status) {
    case SYSCON_PASS:
        st = HW_POWEROFF;
        break;
    case SYSCON_FAIL:
        st = HW_POWEROFF;
        exit_code = code ? (int)code : 1;
        break;
    case SYSCON_RESET:
        st = HW_REBOOT;
        break;
    default:
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (s->state == HW_RUNNING) {
        s->state = st;
        s->code = exit_code;
        if (s->notify.fn)
            s->notify.fn(s->notify.opaque);
    }
    pthread_mutex_unlock(&s->lock);
}

const struct mmio_ops syscon_mmio_ops = { .read = syscon_read, .write = syscon_write };

/* ------------------------------------------------------ device interface */

static void syscon_reset(void *opaque)
{
    struct syscon *s = opaque;
    pthread_mutex_lock(&s->lock);
    s->state = HW_RUNNING;
    s->code = 0;
    pthread_mutex_unlock(&s->lock);
}

static int syscon_save(const void *opaque, struct sstate_writer *w)
{
    struct syscon *s = (struct syscon *)opaque;     /* for the lock */
    pthread_mutex_lock(&s->lock);
    sstate_begin(w, "syscon", SYSCON_STATE_VERSION);
    sstate_put_u8(w, (uint8_t)s->state);
    sstate_put_u32(w, (uint32_t)s->code);
    pthread_mutex_unlock(&s->lock);
    return sstate_end(w);
}

static int syscon_restore(void *opaque, struct sstate_reader *r)
{
    struct syscon *s = opaque;
    uint32_t version;
    int rc = sstate_open(r, "syscon", SYSCON_STATE_VERSION, &version);
    if (rc)
        return rc;
    uint8_t state = sstate_get_u8(r);
    uint32_t code = sstate_get_u32(r);
    bool ok = state == HW_POWEROFF ? code <= 0xffff : state <= HW_REBOOT && code == 0;
    if (!ok)
        sstate_fail(r, -EINVAL);
    if ((rc = sstate_close(r)))
        return rc;
    pthread_mutex_lock(&s->lock);
    s->state = (enum hw_shutdown)state;
    s->code = (int)code;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* QEMU's sifive_test binding; ctx->phandle is what the board's
 * syscon-poweroff and syscon-reboot nodes name as their regmap
 * (Linux Documentation/devicetree/bindings/power/reset/). */
static int syscon_fdt_node(void *opaque, const struct device_fdt_ctx *ctx)
{
    static const char compat[] = "sifive,test1\0sifive,test0\0syscon";
    HW_DT_CHK(hw_dt_begin(ctx, "test"));
    HW_DT_CHK(fdt_property(ctx->fdt, "compatible", compat, sizeof(compat)));
    HW_DT_CHK(hw_dt_reg(ctx));
    HW_DT_CHK(fdt_property_u32(ctx->fdt, "phandle", ctx->phandle));
    return fdt_end_node(ctx->fdt);
}

static void syscon_destroy(void *opaque)
{
    syscon_free(opaque);
}

const struct device_ops syscon_device_ops = {
    .tag = "syscon",
    .reset = syscon_reset,
    .save = syscon_save,
    .restore = syscon_restore,
    .fdt_node = syscon_fdt_node,
    .destroy = syscon_destroy,
};
