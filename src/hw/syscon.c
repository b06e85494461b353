/* SiFive test finisher ("sifive,test0"/"sifive,test1"), the device behind
 * Linux's syscon-poweroff and syscon-reboot nodes on the virt board.
 *
 *   0x0  FINISHER  write 32-bit: bits 15:0 = status, bits 31:16 = code
 *        status 0x5555 PASS  -> power off, exit code 0
 *        status 0x3333 FAIL  -> power off, exit code = code (0 -> 1)
 *        status 0x7777 RESET -> reboot
 *        anything else is ignored.  Reads return 0.
 * The first request wins; later writes are ignored. */
#include "hw/hw.h"

#include <pthread.h>
#include <stdlib.h>

#define SYSCON_FINISHER 0x0

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
