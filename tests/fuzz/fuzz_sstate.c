/* libFuzzer target: saved-state sections (util/sstate.h) and the hart's
 * restore (cpu/riscv/state.c) on hostile bytes.  A snapshot file is input:
 * no byte sequence may crash, read out of bounds or leave a hart in a
 * state it could not reach; a refused restore changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/riscv/hart.h"
#include "mem/mem.h"
#include "util/sstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mem *mem;
    static struct vclock clock;
    static struct hart *h;
    if (!h) {
        mem = mem_new();
        if (!mem || mem_add_ram(mem, 0x80000000ULL, 1 << 16))
            abort();
        vclock_init(&clock, VCLOCK_DEFAULT_HZ);
        struct hart_config cfg = { .hartid = 0, .mem = mem, .clock = &clock,
                                   .reset_pc = 0x80000000ULL };
        h = hart_new(&cfg);
        if (!h)
            abort();
    }
    hart_reset(h);
    struct sstate_writer before, after;
    sstate_writer_init(&before);
    sstate_writer_init(&after);
    if (hart_save(h, &before))
        abort();
    struct sstate_reader r;
    sstate_reader_init(&r, data, size);
    if (hart_restore(h, &r) == 0) {
        /* Accepted state must save back to the same bytes and run. */
        if (hart_save(h, &after) || after.len > size ||
            memcmp(after.buf, data, after.len))
            abort();
        hart_run(h, 1000);
    } else {
        if (hart_save(h, &after) || after.len != before.len ||
            memcmp(after.buf, before.buf, before.len))
            abort();   /* a refused restore changed the hart */
    }
    sstate_writer_free(&before);
    sstate_writer_free(&after);

    /* Walk arbitrary sections with the generic reader. */
    sstate_reader_init(&r, data, size);
    uint32_t v;
    while (sstate_open(&r, "dev", 5, &v) == 0) {
        while (!r.err && r.pos < r.end)
            sstate_get_u32(&r);
        sstate_close(&r);
        r.err = 0;
    }
    return 0;
}
