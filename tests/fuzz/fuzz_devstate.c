/* libFuzzer target: the platform devices' restore (hw/: CLINT, PLIC,
 * NS16550A, goldfish RTC, sifive,test, HTIF) on hostile bytes.  The first
 * byte picks the device, the rest is its section.  A snapshot file is
 * input: no byte sequence may crash or read out of bounds; an accepted
 * section saves back to the same bytes; a refused one changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hw.h"
#include "util/sstate.h"

#define NHARTS 2

static void sink(void *opaque, unsigned hart, unsigned bit, bool level)
{
    if (hart >= NHARTS)
        abort();    /* a device drove a hart it does not have */
}

static void line(void *opaque, unsigned l, bool level)
{
}

static void save(const struct device_ops *ops, void *dev, struct sstate_writer *w)
{
    sstate_writer_init(w);
    if (ops->save(dev, w))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vclock clock;
    static struct {
        const struct device_ops *ops;
        void *dev;
    } devs[6];
    if (!devs[0].dev) {
        const struct hw_irq_sink s = { sink, NULL };
        const struct hw_line l = { line, NULL, 1 };
        vclock_init(&clock, VCLOCK_DEFAULT_HZ);
        devs[0].ops = &clint_device_ops, devs[0].dev = clint_new(NHARTS, &clock, &s);
        devs[1].ops = &plic_device_ops, devs[1].dev = plic_new(NHARTS, &s);
        devs[2].ops = &uart_device_ops, devs[2].dev = uart_new(&l, NULL);
        devs[3].ops = &rtc_device_ops, devs[3].dev = rtc_new(&l, NULL, NULL);
        devs[4].ops = &syscon_device_ops, devs[4].dev = syscon_new(NULL);
        devs[5].ops = &htif_device_ops, devs[5].dev = htif_new(NULL, NULL);
        for (int i = 0; i < 6; i++)
            if (!devs[i].dev)
                abort();
    }
    if (size < 1)
        return 0;
    const struct device_ops *ops = devs[data[0] % 6].ops;
    void *dev = devs[data[0] % 6].dev;
    ops->reset(dev);
    struct sstate_writer before, after;
    save(ops, dev, &before);
    struct sstate_reader r;
    sstate_reader_init(&r, data + 1, size - 1);
    int rc = ops->restore(dev, &r);
    save(ops, dev, &after);
    if (rc == 0) {
        if (after.len > size - 1 || memcmp(after.buf, data + 1, after.len))
            abort();    /* accepted, but saves back differently */
    } else if (after.len != before.len || memcmp(after.buf, before.buf, before.len)) {
        abort();        /* a refused restore changed the device */
    }
    sstate_writer_free(&before);
    sstate_writer_free(&after);
    return 0;
}
