/* Unit tests for saved-state sections (util/sstate.h) and for the hart's
 * save/restore (cpu/riscv/state.c): round trips are byte-identical, a
 * restored hart continues exactly where the saved one was, and hostile
 * sections (truncated, wrong tag, newer version, out-of-range fields) are
 * refused without changing the hart. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/riscv/hart_internal.h"
#include "mem/mem.h"
#include "util/sstate.h"

#define RAM 0x80000000ULL

/* ---- sections ---- */

static void test_section_round_trip(void **state)
{
    (void)state;
    struct sstate_writer w;
    sstate_writer_init(&w);
    sstate_begin(&w, "dev", 3);
    sstate_put_u8(&w, 0xab);
    sstate_put_u32(&w, 0x01020304);
    sstate_put_u64(&w, 0x1122334455667788ULL);
    sstate_put_bytes(&w, "xyz", 3);
    assert_int_equal(sstate_end(&w), 0);
    sstate_begin(&w, "second", 1);
    assert_int_equal(sstate_end(&w), 0);
    assert_int_equal(w.len, 16 + 16 + 16);
    /* Little-endian on every host; tag NUL-padded. */
    static const uint8_t hdr[16] = { 'd', 'e', 'v', 0, 0, 0, 0, 0,
                                     3, 0, 0, 0, 16, 0, 0, 0 };
    assert_memory_equal(w.buf, hdr, 16);
    assert_int_equal(w.buf[17], 0x04);

    struct sstate_reader r;
    uint32_t v;
    sstate_reader_init(&r, w.buf, w.len);
    assert_int_equal(sstate_open(&r, "dev", 3, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(sstate_get_u8(&r), 0xab);
    assert_int_equal(sstate_get_u32(&r), 0x01020304);
    assert_true(sstate_get_u64(&r) == 0x1122334455667788ULL);
    char b[3];
    sstate_get_bytes(&r, b, 3);
    assert_memory_equal(b, "xyz", 3);
    assert_int_equal(sstate_close(&r), 0);
    assert_int_equal(sstate_open(&r, "second", 1, &v), 0);
    assert_int_equal(sstate_close(&r), 0);
    sstate_writer_free(&w);
}

/* r->why names the section at fault, for restore's messages. */
static void test_reader_why(void **state)
{
    (void)state;
    struct sstate_writer w;
    sstate_writer_init(&w);
    sstate_begin(&w, "dev", 2);
    sstate_put_u32(&w, 7);
    assert_int_equal(sstate_end(&w), 0);
    struct sstate_reader r;
    uint32_t v;
    /* another tag than expected */
    sstate_reader_init(&r, w.buf, w.len);
    assert_int_equal(sstate_open(&r, "vbal", 1, &v), -EINVAL);
    assert_string_equal(r.why, "section 'vbal' expected, 'dev' found");
    /* a newer version */
    sstate_reader_init(&r, w.buf, w.len);
    assert_int_equal(sstate_open(&r, "dev", 1, &v), -ENOTSUP);
    assert_string_equal(r.why, "section 'dev' version 2, newer than 1");
    /* a read past the section's end: the section is named */
    sstate_reader_init(&r, w.buf, w.len);
    assert_int_equal(sstate_open(&r, "dev", 2, &v), 0);
    (void)sstate_get_u64(&r);
    assert_int_equal(sstate_close(&r), -EINVAL);
    assert_string_equal(r.why, "in section 'dev'");
    /* a restorer's own words stick, the first error's */
    sstate_reader_init(&r, w.buf, w.len);
    assert_int_equal(sstate_open(&r, "dev", 2, &v), 0);
    assert_int_equal(sstate_failf(&r, -EINVAL, "value %u, expected 8", sstate_get_u32(&r)),
                     -EINVAL);
    assert_int_equal(sstate_failf(&r, -ERANGE, "later"), -EINVAL);
    assert_string_equal(r.why, "value 7, expected 8");
    /* the state ends where a section was expected */
    sstate_reader_init(&r, w.buf, w.len);
    assert_int_equal(sstate_open(&r, "dev", 2, &v), 0);
    (void)sstate_get_u32(&r);
    assert_int_equal(sstate_close(&r), 0);
    assert_int_equal(sstate_open(&r, "end", 1, &v), -EINVAL);
    assert_string_equal(r.why, "section 'end' expected, the state ends");
    sstate_writer_free(&w);
}

static void test_section_hostile(void **state)
{
    (void)state;
    struct sstate_writer w;
    sstate_writer_init(&w);
    sstate_begin(&w, "dev", 2);
    sstate_put_u64(&w, 7);
    assert_int_equal(sstate_end(&w), 0);
    struct sstate_reader r;
    uint32_t v;

    sstate_reader_init(&r, w.buf, w.len);            /* another tag */
    assert_int_equal(sstate_open(&r, "devx", 2, &v), -EINVAL);
    sstate_reader_init(&r, w.buf, w.len);            /* newer than we know */
    assert_int_equal(sstate_open(&r, "dev", 1, &v), -ENOTSUP);
    for (size_t cut = 0; cut < w.len; cut++) {       /* every truncation */
        sstate_reader_init(&r, w.buf, cut);
        if (sstate_open(&r, "dev", 2, &v) == 0)
            sstate_get_u64(&r);
        assert_int_equal(sstate_close(&r), -EINVAL);
    }
    sstate_reader_init(&r, w.buf, w.len);            /* read past the payload */
    assert_int_equal(sstate_open(&r, "dev", 2, &v), 0);
    sstate_get_u64(&r);
    assert_int_equal(sstate_get_u32(&r), 0);
    assert_int_equal(sstate_close(&r), -EINVAL);
    sstate_reader_init(&r, w.buf, w.len);            /* payload left unread */
    assert_int_equal(sstate_open(&r, "dev", 2, &v), 0);
    assert_int_equal(sstate_close(&r), -EINVAL);
    w.buf[12] = 0xff; w.buf[13] = 0xff; w.buf[14] = 0xff; w.buf[15] = 0x7f;
    sstate_reader_init(&r, w.buf, w.len);            /* absurd length */
    assert_int_equal(sstate_open(&r, "dev", 2, &v), -EINVAL);
    w.buf[8] = 0; w.buf[12] = 8; w.buf[13] = w.buf[14] = w.buf[15] = 0;
    sstate_reader_init(&r, w.buf, w.len);            /* version 0 */
    assert_int_equal(sstate_open(&r, "dev", 2, &v), -EINVAL);
    sstate_writer_free(&w);

    sstate_writer_init(&w);                          /* writer misuse */
    sstate_put_u8(&w, 1);
    assert_int_equal(sstate_end(&w), -EINVAL);
    sstate_writer_free(&w);
    sstate_writer_init(&w);
    sstate_begin(&w, "waytoolongtag", 1);
    assert_int_equal(sstate_end(&w), -EINVAL);
    sstate_writer_free(&w);
}

/* ---- harts ---- */

struct env {
    struct mem *mem;
    struct vclock clock;
    struct hart *a, *b;
};

static struct hart *new_hart(struct env *e, uint64_t id)
{
    struct hart_config cfg = { .hartid = id, .mem = e->mem, .clock = &e->clock,
                               .reset_pc = RAM };
    struct hart *h = hart_new(&cfg);
    assert_non_null(h);
    return h;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->mem = mem_new();
    assert_int_equal(mem_add_ram(e->mem, RAM, 1 << 20), 0);
    vclock_init(&e->clock, VCLOCK_DEFAULT_HZ);
    e->a = new_hart(e, 0);
    e->b = new_hart(e, 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    hart_free(e->a);
    hart_free(e->b);
    mem_free(e->mem);
    free(e);
    return 0;
}

static void put32(struct env *e, uint64_t gpa, uint32_t v)
{
    assert_int_equal(mem_write(e->mem, gpa, &v, 4), 0);
}

/* sum 1..1000 into a0, then ebreak (which traps to mtvec = RAM + 0x100,
 * where a `j .` waits). */
static void load_program(struct env *e)
{
    put32(e, RAM + 0x00, 0x00000513);   /* li a0,0 */
    put32(e, RAM + 0x04, 0x3e800593);   /* li a1,1000 */
    put32(e, RAM + 0x08, 0x00b50533);   /* loop: add a0,a0,a1 */
    put32(e, RAM + 0x0c, 0xfff58593);   /* addi a1,a1,-1 */
    put32(e, RAM + 0x10, 0xfe059ce3);   /* bnez a1,loop */
    put32(e, RAM + 0x14, 0x00100073);   /* ebreak */
    put32(e, RAM + 0x100, 0x0000006f);  /* j . */
}

static void save(const struct hart *h, struct sstate_writer *w)
{
    sstate_writer_init(w);
    assert_int_equal(hart_save(h, w), 0);
}

static void test_hart_round_trip(void **state)
{
    struct env *e = *state;
    load_program(e);
    e->a->mtvec = RAM + 0x100;
    e->a->mscratch = 0x5a5a;
    e->a->f[3] = 0xffffffff3f800000ULL;
    e->a->satp = (8ULL << 60) | 0x12345;
    e->a->pmpcfg[0] = 0x1f;
    e->a->pmpaddr[0] = 0x3ffff;
    e->a->menvcfg = MENVCFG_STCE;
    e->a->stimecmp = 12345;
    hart_run(e->a, 777);                 /* stop in the middle of the loop */

    struct sstate_writer wa, wb;
    save(e->a, &wa);
    struct sstate_reader r;
    sstate_reader_init(&r, wa.buf, wa.len);
    assert_int_equal(hart_restore(e->b, &r), 0);
    save(e->b, &wb);
    assert_int_equal(wa.len, wb.len);
    assert_memory_equal(wa.buf, wb.buf, wa.len);   /* byte-identical */

    /* Both continue identically from there. */
    e->a->satp = e->b->satp = 0;           /* no page tables in this test */
    e->a->pmpcfg[0] = e->b->pmpcfg[0] = 0;
    pmp_update(e->a);
    pmp_update(e->b);
    hart_run(e->a, 10000);
    hart_run(e->b, 10000);
    assert_int_equal(hart_get_x(e->a, 10), 500500);
    assert_int_equal(hart_get_x(e->b, 10), 500500);
    assert_int_equal(hart_get_pc(e->b), RAM + 0x100);
    assert_true(hart_instret(e->a) == hart_instret(e->b));
    sstate_writer_free(&wa);
    sstate_writer_free(&wb);
}

/* Corrupt one saved field at a time: each must be refused and leave the
 * target hart exactly as it was. */
static void test_hart_restore_refuses_bad_state(void **state)
{
    struct env *e = *state;
    struct sstate_writer w, before, after;
    save(e->a, &w);
    save(e->b, &before);
    /* Payload offsets (state.c's order): hartid 0, pc 8, priv 16, wfi 17,
     * x1..x31 18.., f 266.., instret 522, mstatus 530, misa 538. */
    struct { size_t off; uint8_t val; } bad[] = {
        { 16 + 0, 1 },      /* another hart's state */
        { 16 + 8, 1 },      /* odd pc */
        { 16 + 16, 2 },     /* priv 2 is reserved */
        { 16 + 17, 7 },     /* wfi not a bool */
        { 16 + 530 + 1, 0x10 },  /* mstatus.MPP = 2 (reserved) */
        { 16 + 530 + 4, 0x03 },  /* UXL = 3 */
        { 16 + 538, 0x00 },      /* misa without the A extension */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t *copy = malloc(w.len);
        memcpy(copy, w.buf, w.len);
        copy[bad[i].off] = bad[i].val;
        if (bad[i].off == 16 + 530 + 1)
            copy[bad[i].off] = (uint8_t)((copy[bad[i].off] & ~0x18) | 0x10);
        struct sstate_reader r;
        sstate_reader_init(&r, copy, w.len);
        if (hart_restore(e->b, &r) != -EINVAL)
            fail_msg("corruption %zu at payload offset %zu accepted", i,
                     bad[i].off - 16);
        save(e->b, &after);
        assert_memory_equal(before.buf, after.buf, before.len);
        sstate_writer_free(&after);
        free(copy);
    }
    /* Truncated anywhere: refused. */
    for (size_t cut = 0; cut < w.len; cut += 7) {
        struct sstate_reader r;
        sstate_reader_init(&r, w.buf, cut);
        assert_int_equal(hart_restore(e->b, &r), -EINVAL);
    }
    sstate_writer_free(&w);
    sstate_writer_free(&before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_section_round_trip),
        cmocka_unit_test(test_section_hostile),
        cmocka_unit_test(test_reader_why),
        cmocka_unit_test_setup_teardown(test_hart_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hart_restore_refuses_bad_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
