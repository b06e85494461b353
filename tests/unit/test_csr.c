/* Unit tests for the CSR table (csr.c): names as the Privileged spec
 * spells them, the access rules of the address bits and the gates, the
 * block translator's in-block set, and hart_peek_csr changing nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit.h"
#include "mem/mem.h"

#define RAM 0x80000000ULL

struct env {
    struct mem *mem;
    struct vclock clock;
    struct hart *h;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->mem = mem_new();
    assert_int_equal(mem_add_ram(e->mem, RAM, 1 << 20), 0);
    vclock_init(&e->clock, VCLOCK_DEFAULT_HZ);
    struct hart_config cfg = { .hartid = 3, .mem = e->mem, .clock = &e->clock,
                               .reset_pc = RAM };
    e->h = hart_new(&cfg);
    assert_non_null(e->h);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    hart_free(e->h);
    mem_free(e->mem);
    free(e);
    return 0;
}

static void expect_name(unsigned csr, const char *name)
{
    char buf[32];
    assert_int_equal(hart_csr_name(csr, buf, sizeof(buf)), 0);
    assert_string_equal(buf, name);
}

static void test_names(void **state)
{
    (void)state;
    expect_name(0x001, "fflags");
    expect_name(0x100, "sstatus");
    expect_name(0x14d, "stimecmp");
    expect_name(0x180, "satp");
    expect_name(0x300, "mstatus");
    expect_name(0x344, "mip");
    expect_name(0x3a0, "pmpcfg0");
    expect_name(0x3a2, "pmpcfg2");
    expect_name(0x3bc, "pmpaddr12");
    expect_name(0x3ef, "pmpaddr63");
    expect_name(0xc03, "hpmcounter3");
    expect_name(0xc1f, "hpmcounter31");
    expect_name(0x323, "mhpmevent3");
    expect_name(0xb1f, "mhpmcounter31");
    expect_name(0xf14, "mhartid");
    char buf[32], tiny[4];
    assert_int_equal(hart_csr_name(0x3a1, buf, sizeof(buf)), -ENOENT); /* odd pmpcfg: RV32 only */
    assert_int_equal(hart_csr_name(0x7c0, buf, sizeof(buf)), -ENOENT); /* custom, not ours */
    assert_int_equal(hart_csr_name(0x1000, buf, sizeof(buf)), -ENOENT);
    assert_int_equal(hart_csr_name(0x300, tiny, sizeof(tiny)), -ENOSPC);
}

/* Every named CSR reads through the instruction path in M-mode (FS on),
 * and only named ones do: the table is the one list of what exists. */
static void test_named_iff_readable(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    h->mstatus |= MSTATUS_FS;
    char buf[32];
    for (unsigned csr = 0; csr < 0x1000; csr++) {
        uint64_t v;
        bool named = hart_csr_name(csr, buf, sizeof(buf)) == 0;
        bool readable = csr_read(h, csr, &v) == 0;
        if (named != readable)
            fail_msg("csr 0x%03x: named %d, readable %d", csr, named, readable);
    }
}

static void test_access_rules(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    uint64_t v;
    /* Read-only by address (bits 11:10 == 3), even in M-mode. */
    assert_int_equal(csr_write(h, 0xf14, 1), -1);
    assert_int_equal(csr_write(h, 0xc01, 1), -1);
    assert_int_equal(csr_read(h, 0xf14, &v), 0);
    assert_int_equal(v, 3);
    /* Privilege from bits 9:8: S-mode cannot see mstatus. */
    h->priv = PRV_S;
    assert_int_equal(csr_read(h, 0x300, &v), -1);
    assert_int_equal(csr_read(h, 0x100, &v), 0);
    /* TVM gates satp from S-mode. */
    h->mstatus |= MSTATUS_TVM;
    assert_int_equal(csr_read(h, 0x180, &v), -1);
    h->mstatus &= ~MSTATUS_TVM;
    assert_int_equal(csr_read(h, 0x180, &v), 0);
    /* FS = Off makes the FP CSRs illegal. */
    h->mstatus &= ~MSTATUS_FS;
    assert_int_equal(csr_read(h, 0x003, &v), -1);
    /* Counters from S need mcounteren; stimecmp needs STCE and TM too. */
    h->mcounteren = 0;
    assert_int_equal(csr_read(h, 0xc01, &v), -1);
    assert_int_equal(csr_read(h, 0x14d, &v), -1);
    h->mcounteren = 2;
    assert_int_equal(csr_read(h, 0xc01, &v), 0);
    assert_int_equal(csr_read(h, 0x14d, &v), -1);
    h->menvcfg |= MENVCFG_STCE;
    assert_int_equal(csr_read(h, 0x14d, &v), 0);
    /* Writes keep only the writable bits. */
    h->priv = PRV_M;
    assert_int_equal(csr_write(h, 0x305, ~0ULL), 0);       /* mtvec */
    assert_int_equal(csr_read(h, 0x305, &v), 0);
    assert_int_equal(v, ~2ULL);
    assert_int_equal(csr_write(h, 0x303, ~0ULL), 0);       /* mideleg */
    assert_int_equal(csr_read(h, 0x303, &v), 0);
    assert_int_equal(v, 0x222);
    /* Hardwired and WARL-read-only CSRs ignore writes. */
    uint64_t misa = h->misa;
    assert_int_equal(csr_write(h, 0x301, 0), 0);
    assert_int_equal(csr_read(h, 0x301, &v), 0);
    assert_int_equal(v, misa);
    assert_int_equal(csr_write(h, 0xb03, 5), 0);
    assert_int_equal(csr_read(h, 0xb03, &v), 0);
    assert_int_equal(v, 0);
}

static void test_in_block_set(void **state)
{
    (void)state;
    static const unsigned yes[] = { 0x001, 0x002, 0x003, 0x100, 0x104, 0x140,
                                    0x141, 0x142, 0x143, 0x144, 0xc01 };
    static const unsigned no[] = { 0x180, 0x300, 0x344, 0xc00, 0xc02, 0x14d,
                                   0x105, 0x3b0, 0x7c0 };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(jit_csr_in_block(OP_CSRRS, (int32_t)yes[i]));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(jit_csr_in_block(OP_CSRRS, (int32_t)no[i]));
    assert_false(jit_csr_in_block(OP_ADDI, 0x100));
}

/* Peeking reads what an M-mode instruction would (STIP from stimecmp under
 * Sstc, sstatus through its mask) and leaves every byte of the hart's
 * architectural state as it was. */
static void test_peek_changes_nothing(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    h->priv = PRV_U;
    h->mstatus &= ~MSTATUS_FS;
    h->menvcfg = MENVCFG_STCE;
    h->stimecmp = 0;                         /* already due */
    h->mip = 0;
    uint64_t v;
    assert_int_equal(hart_peek_csr(h, 0x344, &v), 0);
    assert_true(v & (1ULL << IRQ_STI));
    assert_int_equal(h->mip, 0);             /* not latched by the peek */
    assert_int_equal(hart_peek_csr(h, 0x003, &v), 0);   /* FS off: still readable */
    assert_int_equal(h->priv, PRV_U);
    assert_int_equal(h->mstatus & MSTATUS_FS, 0);
    h->mstatus |= MSTATUS_SUM | MSTATUS_MIE;
    assert_int_equal(hart_peek_csr(h, 0x100, &v), 0);
    assert_true(v & MSTATUS_SUM);
    assert_false(v & MSTATUS_MIE);           /* not an S-mode field */
    assert_int_equal(hart_peek_csr(h, 0x3a1, &v), -ENOENT);
    assert_int_equal(hart_peek_csr(h, 0x7c0, &v), -ENOENT);
    /* An instruction's read does latch STIP, as before. */
    h->priv = PRV_M;
    assert_int_equal(csr_read(h, 0x344, &v), 0);
    assert_true(h->mip & (1ULL << IRQ_STI));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_in_block_set),
        cmocka_unit_test_setup_teardown(test_named_iff_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peek_changes_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
