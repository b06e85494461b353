/* Unit tests for the hart: decoder (32-bit and compressed forms), the
 * software TLB and MMU slow paths, the decoded-page cache's coherence with
 * stores, and small programs run through hart_run. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "smaps.h"

#include "cpu/riscv/fpu.h"
#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit.h"
#include "mem/mem.h"

#define RAM 0x80000000ULL
#define CSR_SSTATUS 0x100   /* Privileged spec 2.2 (csr.c keeps its names private) */

struct env {
    struct mem *mem;
    struct vclock clock;
    struct hart *h;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->mem = mem_new();
    assert_int_equal(mem_add_ram(e->mem, RAM, 16 << 20), 0);
    vclock_init(&e->clock, VCLOCK_DEFAULT_HZ);
    struct hart_config cfg = { .hartid = 0, .mem = e->mem, .clock = &e->clock,
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

static void put32(struct env *e, uint64_t gpa, uint32_t v)
{
    assert_int_equal(mem_write(e->mem, gpa, &v, 4), 0);
}

static void put64(struct env *e, uint64_t gpa, uint64_t v)
{
    assert_int_equal(mem_write(e->mem, gpa, &v, 8), 0);
}

static uint64_t get64(struct env *e, uint64_t gpa)
{
    uint64_t v = 0;
    assert_int_equal(mem_read(e->mem, gpa, &v, 8), 0);
    return v;
}

/* ---- decoder ---- */

static void expect(uint32_t raw, unsigned op, unsigned rd, unsigned rs1,
                   unsigned rs2, int32_t imm, unsigned len)
{
    struct insn d;
    rv_decode(raw, &d);
    if (d.op != op)
        fail_msg("0x%08x decoded as %s, expected %s", raw, rv_op_name(d.op), rv_op_name(op));
    assert_int_equal(d.rd, rd);
    assert_int_equal(d.rs1, rs1);
    assert_int_equal(d.rs2, rs2);
    assert_int_equal(d.imm, imm);
    assert_int_equal(d.len, len);
}

static void test_decode_base(void **state)
{
    (void)state;
    expect(0x00a50513, OP_ADDI, 10, 10, 0, 10, 2);          /* addi a0,a0,10 */
    expect(0xfff00293, OP_ADDI, 5, 0, 0, -1, 2);            /* li t0,-1 */
    expect(0x00000013, OP_ADDI, 32, 0, 0, 0, 2);            /* nop: rd x0 -> sink */
    expect(0x123452b7, OP_LUI, 5, 0, 0, 0x12345000, 2);     /* lui t0,0x12345 */
    expect(0x00b50633, OP_ADD, 12, 10, 11, 0, 2);           /* add a2,a0,a1 */
    expect(0x40b50633, OP_SUB, 12, 10, 11, 0, 2);           /* sub a2,a0,a1 */
    expect(0x02b50633, OP_MUL, 12, 10, 11, 0, 2);           /* mul a2,a0,a1 */
    expect(0xff853583, OP_LD, 11, 10, 0, -8, 2);            /* ld a1,-8(a0) */
    expect(0x00b53423, OP_SD, 0, 10, 11, 8, 2);             /* sd a1,8(a0) */
    expect(0xfeb50ee3, OP_BEQ, 0, 10, 11, -4, 2);           /* beq a0,a1,-4 */
    expect(0x008000ef, OP_JAL, 1, 0, 0, 8, 2);              /* jal ra,8 */
    expect(0x03f51513, OP_SLLI, 10, 10, 0, 63, 2);          /* slli a0,a0,63 */
    expect(0x43f55513, OP_SRAI, 10, 10, 0, 63, 2);          /* srai a0,a0,63 */
    expect(0x20b54533, OP_SH2ADD, 10, 10, 11, 0, 2);        /* sh2add a0,a0,a1 */
    expect(0x60051513, OP_CLZ, 10, 10, 0, 0x600, 2);        /* clz a0,a0 */
    expect(0x6b855513, OP_REV8, 10, 10, 0, 0x6b8, 2);       /* rev8 a0,a0 */
    expect(0x00b5252f, OP_AMOADD_W, 10, 10, 11, 0, 2);        /* amoadd.w a0,a1,(a0) */
    expect(0x100525af, OP_LR_W, 11, 10, 0, 0, 2);           /* lr.w a1,(a0) */
    expect(0x30200073, OP_MRET, 32, 0, 2, 0x302, 2);        /* mret */
    expect(0x02b57553, OP_FADD_D, 10, 10, 11, 7, 2);        /* fadd.d fa0,fa0,fa1 (rm dyn) */
    expect(0xe2050553, OP_FMV_X_D, 10, 10, 0, 0, 2);        /* fmv.x.d a0,fa0 */
    /* Fences: only W-before-R ordering needs a host barrier (x86 TSO). */
    expect(0x0330000f, OP_FENCE, 0, 0, 0, 0, 2);           /* fence rw,rw */
    expect(0x0120000f, OP_FENCE, 0, 0, 0, 0, 2);           /* fence w,r */
    expect(0x0220000f, OP_NOP, 0, 0, 0, 0, 2);             /* fence r,r */
    expect(0x0110000f, OP_NOP, 0, 0, 0, 0, 2);             /* fence w,w */
    expect(0x8330000f, OP_NOP, 0, 0, 0, 0, 2);             /* fence.tso */
}

static void test_decode_illegal(void **state)
{
    (void)state;
    struct insn d;
    static const uint32_t bad[] = {
        0x00000000,   /* all-zero halfword: c.addi4spn with imm 0 */
        0xffffffff,   /* all ones */
        0x0000707b,   /* custom-3 opcode */
        0x00003067,   /* jalr with funct3 != 0 */
        0x00007003,   /* load funct3 7 */
        0x8000,       /* compressed quadrant 0, funct3 100: reserved */
        0x8002,       /* c.jr x0: reserved */
        0x6001,       /* c.lui x0 with imm 0: reserved */
        0x2001,       /* c.addiw x0: reserved */
        0x4002,       /* c.lwsp x0: reserved */
        0x9c41,       /* quadrant 1 funct3 100, bit12=1, funct2 10: reserved */
    };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        rv_decode(bad[i], &d);
        if (d.op != OP_ILLEGAL)
            fail_msg("0x%08x decoded as %s, expected ILLEGAL", bad[i], rv_op_name(d.op));
    }
    /* ILLEGAL keeps the raw bits for mtval. */
    rv_decode(0x0000707b, &d);
    assert_int_equal(d.raw, 0x0000707b);
    rv_decode(0x8002, &d);
    assert_int_equal(d.raw, 0x8002);
}

static void test_decode_compressed(void **state)
{
    (void)state;
    expect(0x0528, OP_ADDI, 10, 2, 0, 648, 1);   /* c.addi4spn a0,sp,648 */
    expect(0x4108, OP_LW, 10, 10, 0, 0, 1);      /* c.lw a0,0(a0) */
    expect(0x6508, OP_LD, 10, 10, 0, 8, 1);      /* c.ld a0,8(a0) */
    expect(0xe50c, OP_SD, 0, 10, 11, 8, 1);      /* c.sd a1,8(a0) */
    expect(0x0505, OP_ADDI, 10, 10, 0, 1, 1);    /* c.addi a0,1 */
    expect(0x0001, OP_ADDI, 32, 0, 0, 0, 1);     /* c.nop */
    expect(0x2505, OP_ADDIW, 10, 10, 0, 1, 1);   /* c.addiw a0,1 */
    expect(0x557d, OP_ADDI, 10, 0, 0, -1, 1);    /* c.li a0,-1 */
    expect(0x7139, OP_ADDI, 2, 2, 0, -64, 1);    /* c.addi16sp sp,-64 */
    expect(0x6505, OP_LUI, 10, 0, 0, 0x1000, 1); /* c.lui a0,1 */
    expect(0x8105, OP_SRLI, 10, 10, 0, 1, 1);    /* c.srli a0,1 */
    expect(0x8505, OP_SRAI, 10, 10, 0, 1, 1);    /* c.srai a0,1 */
    expect(0x897d, OP_ANDI, 10, 10, 0, 31, 1);   /* c.andi a0,31 */
    expect(0x8d0d, OP_SUB, 10, 10, 11, 0, 1);    /* c.sub a0,a1 */
    expect(0x9d2d, OP_ADDW, 10, 10, 11, 0, 1);   /* c.addw a0,a1 */
    expect(0xa001, OP_JAL, 32, 0, 0, 0, 1);      /* c.j . */
    expect(0xc111, OP_BEQ, 0, 10, 0, 4, 1);      /* c.beqz a0,+4 */
    expect(0x0506, OP_SLLI, 10, 10, 0, 1, 1);    /* c.slli a0,1 */
    expect(0x6522, OP_LD, 10, 2, 0, 8, 1);       /* c.ldsp a0,8(sp) */
    expect(0x8502, OP_JALR, 32, 10, 0, 0, 1);    /* c.jr a0 */
    expect(0x852e, OP_ADD, 10, 0, 11, 0, 1);     /* c.mv a0,a1 */
    expect(0x9502, OP_JALR, 1, 10, 0, 0, 1);     /* c.jalr a0 */
    expect(0x952e, OP_ADD, 10, 10, 11, 0, 1);    /* c.add a0,a1 */
    expect(0xe42a, OP_SD, 0, 2, 10, 8, 1);       /* c.sdsp a0,8(sp) */
    expect(0x9002, OP_EBREAK, 0, 0, 0, 0, 1);    /* c.ebreak */
}

/* ---- running code ---- */

static void run_until_ebreak(struct env *e)
{
    /* Programs end with ebreak; the trap handler is an ebreak too, so the
     * hart traps until the budget is spent (which must still end the
     * slice) and nothing more retires. */
    put32(e, RAM + 0x3000, 0x00100073);   /* ebreak */
    e->h->mtvec = RAM + 0x3000;
    hart_run(e->h, 100000);
    assert_int_equal(e->h->mcause, EXC_BREAKPOINT);
}

/* At RAM: a0 = the sum of 1..100 by a loop, then ebreak. */
static void put_sum_loop(struct env *e)
{
    put32(e, RAM + 0x00, 0x00000513);   /* li a0,0 */
    put32(e, RAM + 0x04, 0x06400593);   /* li a1,100 */
    put32(e, RAM + 0x08, 0x00b50533);   /* loop: add a0,a0,a1 */
    put32(e, RAM + 0x0c, 0xfff58593);   /* addi a1,a1,-1 */
    put32(e, RAM + 0x10, 0xfe059ce3);   /* bnez a1,loop */
    put32(e, RAM + 0x14, 0x00100073);   /* ebreak */
}

static void test_run_program(void **state)
{
    struct env *e = *state;
    put_sum_loop(e);
    run_until_ebreak(e);
    assert_int_equal(hart_get_x(e->h, 10), 5050);
    assert_int_equal(e->h->mepc, RAM + 0x3000);
    assert_int_equal(e->h->mtval, RAM + 0x3000);
    /* 2 + 3*100 instructions retired before the ebreak */
    assert_int_equal(hart_instret(e->h), 302);
}

static void test_self_modifying_store(void **state)
{
    struct env *e = *state;
    /* Execute `li a0,1` at 0x100, then overwrite it with `li a0,2` from
     * the guest and run it again: the decoded slot must be refreshed. */
    put32(e, RAM + 0x00, 0x00000297);   /* auipc t0,0 */
    put32(e, RAM + 0x04, 0x10028293);   /* addi t0,t0,0x100 */
    put32(e, RAM + 0x08, 0x000280e7);   /* jalr ra,0(t0) */
    put32(e, RAM + 0x0c, 0x00a00633);   /* add a2,x0,a0 */
    put32(e, RAM + 0x10, 0x00200537);   /* lui a0,0x200 */
    put32(e, RAM + 0x14, 0x51350513);   /* addi a0,a0,0x513: a0 = `li a0,2` */
    put32(e, RAM + 0x18, 0x00a2a023);   /* sw a0,0(t0) */
    put32(e, RAM + 0x1c, 0x000280e7);   /* jalr ra,0(t0) */
    put32(e, RAM + 0x20, 0x00100073);   /* ebreak */
    put32(e, RAM + 0x100, 0x00100513);  /* li a0,1 */
    put32(e, RAM + 0x104, 0x00008067);  /* ret */
    run_until_ebreak(e);
    assert_int_equal(hart_get_x(e->h, 12), 1);
    assert_int_equal(hart_get_x(e->h, 10), 2);
}

/* Sv39 with a 4 KiB page at VA 0x1000 -> PA RAM+0x10000, built by hand. */
static void map_sv39(struct env *e, uint64_t pte_flags)
{
    uint64_t root = RAM + 0x100000, l1 = RAM + 0x101000, l0 = RAM + 0x102000;
    put64(e, root + 0 * 8, ((l1 >> 12) << 10) | 1);
    put64(e, l1 + 0 * 8, ((l0 >> 12) << 10) | 1);
    put64(e, l0 + 1 * 8, (((RAM + 0x10000) >> 12) << 10) | pte_flags);
    e->h->satp = (8ULL << 60) | (root >> 12);
    e->h->priv = PRV_S;
    tlb_flush_all(e->h);
    hart_update_mode(e->h);
}

/* PMP: allow S-mode everything (NAPOT all ones, RWX). */
static void pmp_update_all(struct env *e)
{
    e->h->pmpaddr[0] = ~0ULL >> 10;
    e->h->pmpcfg[0] = 0x1f;
    pmp_update(e->h);
}

static void test_tlb_fill_and_flush(void **state)
{
    struct env *e = *state;
    /* PMP: allow S-mode everything (NAPOT all ones, RWX). */
    e->h->pmpaddr[0] = ~0ULL >> 10;
    e->h->pmpcfg[0] = 0x1f;
    pmp_update(e->h);
    put64(e, RAM + 0x10008, 0x1122334455667788ULL);
    map_sv39(e, 0x1 | 0x2 | 0x4 | 0x40 | 0x80);   /* V R W A D */
    uint64_t v = 0;
    assert_int_equal(mmu_load(e->h, 0x1008, 8, &v), 0);
    assert_int_equal(v, 0x1122334455667788ULL);
    struct tlb_entry *te = &e->h->dtlb->e[ACC_LOAD][1];
    assert_int_equal(te->vtag, 1);
    assert_int_equal(te->ppage, RAM + 0x10000);
    /* A hit is host = va + addend. */
    uint64_t hv;
    memcpy(&hv, (void *)(uintptr_t)(0x1008 + te->addend), 8);
    assert_int_equal(hv, v);
    /* A store fills the store TLB (D already set). */
    assert_int_equal(mmu_store(e->h, 0x1010, 4, 0xabcd), 0);
    assert_int_equal(e->h->dtlb->e[ACC_STORE][1].vtag, 1);
    /* satp write / flush empties it. */
    tlb_flush_all(e->h);
    assert_int_equal(e->h->dtlb->e[ACC_LOAD][1].vtag, ~0ULL);
    /* Unmapped VA: load page fault with tval = va, nothing cached. */
    assert_int_equal(mmu_load(e->h, 0x5000, 8, &v), EXC_LOAD_PAGE);
    assert_int_equal(e->h->exc_tval, 0x5000);
    assert_int_equal(e->h->dtlb->e[ACC_LOAD][5].vtag, ~0ULL);
}

/* A new hart's TLB is zeroed memory written only where a zero tag could
 * be compared: vpn 0's slot, and the last slot, which the JIT reads for
 * an access wrapping from the top page into page 0 (it indexes by the
 * first byte's page and compares the last byte's).  No zero tag may pass
 * for a translation of page 0, for any set or access, in the lookups
 * that trust a tag match (here the atomics' one). */
static void test_fresh_tlb_misses_page_0(void **state)
{
    struct env *e = *state;
    for (int m = 0; m < TLB_SETS; m++)
        for (int t = 0; t < 3; t++) {
            assert_int_not_equal(e->h->tlb[m].e[t][tlb_index(0)].vtag, 0);
            assert_int_not_equal(e->h->tlb[m].e[t][tlb_index(~0ULL >> 12)].vtag, 0);
        }
    pmp_update_all(e);
    map_sv39(e, 0x1 | 0x2 | 0x4 | 0x8 | 0x40 | 0x80);   /* page 1 only */
    void *host;
    uint64_t pa;
    assert_int_equal(mmu_atomic_ptr(e->h, 0x0, 8, false, &host, &pa), EXC_LOAD_PAGE);
    assert_int_equal(mmu_atomic_ptr(e->h, 0x8, 8, true, &host, &pa), EXC_STORE_PAGE);
    /* Page 1 walks and fills its slot, and the set counts as used. */
    assert_int_equal(mmu_atomic_ptr(e->h, 0x1000, 8, false, &host, &pa), 0);
    assert_int_equal(pa, RAM + 0x10000);
    assert_int_equal(e->h->dtlb->e[ACC_LOAD][1].vtag, 1);
    assert_true(e->h->dtlb->used);
}

static void test_mmu_ad_bits_and_perms(void **state)
{
    struct env *e = *state;
    e->h->pmpaddr[0] = ~0ULL >> 10;
    e->h->pmpcfg[0] = 0x1f;
    pmp_update(e->h);
    map_sv39(e, 0x1 | 0x2 | 0x4);   /* V R W, A=D=0 */
    uint64_t v;
    assert_int_equal(mmu_load(e->h, 0x1000, 8, &v), 0);
    uint64_t pte;
    mem_read(e->mem, RAM + 0x102000 + 8, &pte, 8);
    assert_true(pte & 0x40);     /* A set by the walk */
    assert_false(pte & 0x80);    /* D not yet */
    assert_int_equal(mmu_store(e->h, 0x1000, 8, 1), 0);
    mem_read(e->mem, RAM + 0x102000 + 8, &pte, 8);
    assert_true(pte & 0x80);     /* D set by the store */
    /* Read-only page: store page fault. */
    map_sv39(e, 0x1 | 0x2 | 0x40);
    assert_int_equal(mmu_store(e->h, 0x1000, 8, 1), EXC_STORE_PAGE);
    /* U page from S-mode without SUM: load page fault; with SUM: OK. */
    map_sv39(e, 0x1 | 0x2 | 0x10 | 0x40);
    assert_int_equal(mmu_load(e->h, 0x1000, 8, &v), EXC_LOAD_PAGE);
    e->h->mstatus |= MSTATUS_SUM;
    hart_update_mode(e->h);   /* as a CSR write of SUM does */
    assert_int_equal(mmu_load(e->h, 0x1000, 8, &v), 0);
    /* Non-canonical address: page fault. */
    assert_int_equal(mmu_load(e->h, 0x0000008000000000ULL, 8, &v), EXC_LOAD_PAGE);
}

static void test_pmp_denies_s_mode(void **state)
{
    struct env *e = *state;
    /* Entry 0: TOR up to RAM+0x1000, no permissions; entry 1: all RWX. */
    e->h->pmpaddr[0] = (RAM + 0x1000) >> 2;
    e->h->pmpcfg[0] = 0x08;
    e->h->pmpaddr[1] = ~0ULL >> 10;
    e->h->pmpcfg[1] = 0x1f;
    pmp_update(e->h);
    e->h->priv = PRV_S;
    hart_update_mode(e->h);
    uint64_t v;
    assert_int_equal(mmu_load(e->h, RAM + 0x10, 8, &v), EXC_LOAD_ACCESS);
    assert_int_equal(mmu_load(e->h, RAM + 0x2000, 8, &v), 0);
    /* M-mode ignores unlocked entries. */
    e->h->priv = PRV_M;
    hart_update_mode(e->h);
    assert_int_equal(mmu_load(e->h, RAM + 0x10, 8, &v), 0);
}

/* pmp_allows remembers an interval decided by one region: it must never
 * reach over an earlier region, across a region's edge, or past a PMP
 * write. */
static void test_pmp_hit_interval(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    /* 0: TOR [0, RAM+0x1000) nothing; 1: TOR [RAM+0x1000, RAM+0x2000)
     * read only; 2: NAPOT everything RWX. */
    h->pmpaddr[0] = (RAM + 0x1000) >> 2;
    h->pmpcfg[0] = 0x08;
    h->pmpaddr[1] = (RAM + 0x2000) >> 2;
    h->pmpcfg[1] = 0x09;
    h->pmpaddr[2] = ~0ULL >> 10;
    h->pmpcfg[2] = 0x1f;
    pmp_update(h);
    assert_true(pmp_allows(h, RAM + 0x3000, 8, ACC_STORE, PRV_S));     /* region 2 */
    assert_false(pmp_allows(h, RAM + 0x1800, 8, ACC_STORE, PRV_S));    /* region 1 first */
    assert_true(pmp_allows(h, RAM + 0x1800, 8, ACC_LOAD, PRV_S));
    assert_true(pmp_allows(h, RAM + 0x3000, 8, ACC_STORE, PRV_S));
    assert_false(pmp_allows(h, RAM + 0x1ffc, 8, ACC_LOAD, PRV_S));     /* across 1 and 2 */
    assert_false(pmp_allows(h, RAM + 0x10, 8, ACC_LOAD, PRV_S));       /* region 0 */
    assert_true(pmp_allows(h, RAM + 0x10, 8, ACC_LOAD, PRV_M));
    assert_true(pmp_allows(h, RAM + 0x2000, 8, ACC_FETCH, PRV_S));
    /* A PMP write forgets the interval. */
    h->pmpcfg[2] = 0x19;   /* NAPOT, read only */
    pmp_update(h);
    assert_false(pmp_allows(h, RAM + 0x3000, 8, ACC_STORE, PRV_S));
    assert_true(pmp_allows(h, RAM + 0x3000, 8, ACC_LOAD, PRV_S));
}

static void test_misaligned_cross_page(void **state)
{
    struct env *e = *state;
    uint64_t v = 0x0807060504030201ULL, r = 0;
    assert_int_equal(mmu_store(e->h, RAM + 0xffd, 8, v), 0);
    assert_int_equal(mmu_load(e->h, RAM + 0xffd, 8, &r), 0);
    assert_int_equal(r, v);
    /* Outside RAM: access fault. */
    assert_int_equal(mmu_load(e->h, 0x1000, 4, &r), EXC_LOAD_ACCESS);
}

/* csrs mip, SSIP while the PLIC's SEIP wire is high must not latch a
 * software SEIP (Privileged spec 3.1.9): that was an SMP interrupt storm. */
/* A 2 MiB megapage at VA 0x200000 -> PA RAM+0x200000 in the same tables
 * as map_sv39 (call map_sv39 first). */
static void map_sv39_mega(struct env *e, uint64_t pte_flags)
{
    put64(e, RAM + 0x101000 + 1 * 8, (((RAM + 0x200000) >> 12) << 10) | pte_flags);
}

static void test_sfence_vma_one_page(void **state)
{
    struct env *e = *state;
    pmp_update_all(e);
    map_sv39(e, 0x1 | 0x2 | 0x4 | 0x40 | 0x80);
    put64(e, RAM + 0x102000 + 2 * 8, (((RAM + 0x11000) >> 12) << 10) | 0xc7);
    uint64_t v;
    assert_int_equal(mmu_load(e->h, 0x1000, 8, &v), 0);
    assert_int_equal(mmu_load(e->h, 0x2000, 8, &v), 0);
    struct tlb_entry *t = e->h->dtlb->e[ACC_LOAD];
    assert_int_equal(t[1].vtag, 1);
    assert_int_equal(t[2].vtag, 2);
    /* SFENCE.VMA 0x1000 drops that page only. */
    tlb_flush_page(e->h, 0x1000);
    assert_int_equal(t[1].vtag, ~0ULL);
    assert_int_equal(t[2].vtag, 2);
    /* A superpage is cached in 4 KiB pieces: fencing one address in it
     * must drop the other pieces too. */
    map_sv39_mega(e, 0xc7);
    assert_int_equal(mmu_load(e->h, 0x200000, 8, &v), 0);
    assert_int_equal(mmu_load(e->h, 0x201000, 8, &v), 0);
    assert_int_equal(t[tlb_index(0x200)].vtag, 0x200);
    assert_int_equal(t[tlb_index(0x201)].vtag, 0x201);
    tlb_flush_page(e->h, 0x200000);
    assert_int_equal(t[tlb_index(0x201)].vtag, ~0ULL);
}

static void test_sum_selects_tlb_set(void **state)
{
    struct env *e = *state;
    pmp_update_all(e);
    map_sv39(e, 0x1 | 0x2 | 0x4 | 0x10 | 0x40 | 0x80);   /* a U page */
    uint64_t v, st;
    assert_int_equal(csr_read(e->h, CSR_SSTATUS, &st), 0);
    assert_int_equal(csr_write(e->h, CSR_SSTATUS, st | MSTATUS_SUM), 0);
    assert_int_equal(mmu_load(e->h, 0x1000, 8, &v), 0);
    /* SUM cleared by a CSR write: the U page must not hit any more. */
    assert_int_equal(csr_write(e->h, CSR_SSTATUS, st & ~MSTATUS_SUM), 0);
    assert_int_equal(mmu_load(e->h, 0x1000, 8, &v), EXC_LOAD_PAGE);
    /* Set again: the entry made under SUM=1 is still there, and a
     * one-page SFENCE.VMA reaches this set too. */
    assert_int_equal(csr_write(e->h, CSR_SSTATUS, st | MSTATUS_SUM), 0);
    assert_int_equal(e->h->dtlb->e[ACC_LOAD][1].vtag, 1);
    tlb_flush_page(e->h, 0x1000);
    assert_int_equal(e->h->dtlb->e[ACC_LOAD][1].vtag, ~0ULL);
}

static void test_amo_uses_tlb_permissions(void **state)
{
    struct env *e = *state;
    pmp_update_all(e);
    map_sv39(e, 0x1 | 0x2 | 0x40);   /* read-only, A set */
    put64(e, RAM + 0x10000, 7);
    struct insn amoadd, lr;
    rv_decode(0x00b2a52f, &amoadd);   /* amoadd.w a0,a1,(t0) */
    rv_decode(0x1002a52f, &lr);       /* lr.w a0,(t0) */
    hart_set_x(e->h, 5, 0x1000);
    hart_set_x(e->h, 11, 1);
    uint64_t v;
    assert_int_equal(mmu_load(e->h, 0x1000, 8, &v), 0);   /* a load entry */
    /* LR reads through it; an AMO needs write permission: page fault. */
    assert_int_equal(amo_exec(e->h, &lr), EXEC_NEXT);
    assert_int_equal(hart_get_x(e->h, 10), 7);
    assert_int_equal(amo_exec(e->h, &amoadd), EXEC_EXC(EXC_STORE_PAGE));
    /* Writable: the AMO fills a store entry and later ones hit it. */
    map_sv39(e, 0x1 | 0x2 | 0x4 | 0x40 | 0x80);
    assert_int_equal(amo_exec(e->h, &amoadd), EXEC_NEXT);
    assert_int_equal(e->h->dtlb->e[ACC_STORE][1].vtag, 1);
    assert_int_equal(amo_exec(e->h, &amoadd), EXEC_NEXT);
    assert_int_equal(hart_get_x(e->h, 10), 8);
    mem_read(e->mem, RAM + 0x10000, &v, 8);
    assert_int_equal(v, 9);
}

/* Translated blocks chain into each other (and link within a page) but
 * must still stop when the budget is spent. */
static void test_chained_blocks_keep_budget(void **state)
{
    struct env *e = *state;
    put32(e, RAM + 0x00, 0x00150513);   /* loop: addi a0,a0,1 */
    put32(e, RAM + 0x04, 0x0040006f);   /* j +4 */
    put32(e, RAM + 0x08, 0x00158593);   /* addi a1,a1,1 */
    put32(e, RAM + 0x0c, 0xff5ff06f);   /* j loop */
    e->h->jit_hot = 1;                  /* translate at first entry */
    uint64_t total = 0;
    for (int i = 0; i < 50; i++) {
        uint64_t ran = hart_interp(e->h, 1000);
        assert_true(ran >= 1000 && ran < 1000 + JIT_MAX_INSNS + 2);
        total += ran;
    }
    assert_int_equal(hart_instret(e->h), total);
    uint64_t a0 = hart_get_x(e->h, 10), a1 = hart_get_x(e->h, 11);
    assert_true(a0 == a1 || a0 == a1 + 1);
    assert_true(2 * (a0 + a1) >= total - 2 && 2 * (a0 + a1) <= total + 2);
}

/* The code pointer the slot at physical `pa` publishes, if it holds a
 * translated block's start (jit.h); else NULL. */
static const uint8_t *slot_code(struct env *e, uint64_t pa)
{
    struct hart *h = e->h;
    for (unsigned i = 0; i < h->dc->arena_used; i++) {
        const struct insn *in = &h->dc->arena[i].insn[(pa & 0xfff) >> 1];
        if (h->dc->arena[i].paddr == (pa & ~0xfffULL) && in->op == OP_JIT) {
            return h->dc->jit_code + in->raw;   /* jit.h: the code's offset */
        }
    }
    return NULL;
}

static bool translated_at(struct env *e, uint64_t pa)
{
    return slot_code(e, pa) != NULL;
}

/* A translated load that wraps from the top of the address space into
 * page 0 (ld a0,-4(zero)) on a new hart, whose TLB is zeroed memory:
 * the probe reads the last slot and compares page 0's tag, so that slot
 * must not hold a zero tag.  It faults (no RAM there), as interpreted. */
static void test_jit_wrapping_load_on_fresh_tlb(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    put32(e, RAM + 0x00, 0xffc03503);   /* ld a0,-4(zero) */
    put32(e, RAM + 0x04, 0x00100073);   /* ebreak */
    put32(e, RAM + 0x100, 0x0000006f);  /* handler: j . */
    h->mtvec = RAM + 0x100;
    h->jit_hot = 1;
    hart_run(h, 100);
    assert_true(translated_at(e, RAM));
    assert_true(h->mcause == EXC_LOAD_ACCESS || h->mcause == EXC_LOAD_MISALIGNED);
    assert_int_equal(h->mepc, RAM);
}

/* Translated loads and stores that cross into a page mapped elsewhere
 * take the slow path even when the first page is in the data TLB (the
 * probe compares the tag with the last byte's page). */
static void test_jit_cross_page_access(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    pmp_update_all(e);
    map_sv39(e, 0x1 | 0x2 | 0x4 | 0x40 | 0x80);   /* VA 0x1000 -> RAM + 0x10000 */
    uint64_t l0 = RAM + 0x102000;
    put64(e, l0 + 2 * 8, (((RAM + 0x20000) >> 12) << 10) | 0x1 | 0x2 | 0x4 | 0x40 | 0x80);
    put64(e, l0 + 3 * 8, ((RAM >> 12) << 10) | 0x1 | 0x8 | 0x40);   /* code: VA 0x3000 */
    put64(e, RAM + 0x10ff8, 0x1817161514131211ULL);
    put64(e, RAM + 0x20000, 0x2827262524232221ULL);
    put32(e, RAM + 0x00, 0x000022b7);   /* lui t0,0x2 */
    put32(e, RAM + 0x04, 0xff82b583);   /* ld a1,-8(t0): page 0x1000 into the TLB */
    put32(e, RAM + 0x08, 0xffd2b503);   /* ld a0,-3(t0): 0x1ffd..0x2004 */
    put32(e, RAM + 0x0c, 0xfeb2bf23);   /* sd a1,-2(t0): 0x1ffe..0x2005 */
    put32(e, RAM + 0x10, 0x00100073);   /* ebreak */
    put32(e, RAM + 0x3000, 0x0000006f); /* M-mode handler: j . */
    h->mtvec = RAM + 0x3000;
    h->jit_hot = 1;
    h->pc = 0x3000;
    hart_run(h, 1000);
    assert_true(translated_at(e, RAM));
    assert_int_equal(h->mcause, EXC_BREAKPOINT);
    assert_int_equal(hart_get_x(h, 10), 0x2524232221181716ULL);
    uint64_t lo, hi;
    mem_read(e->mem, RAM + 0x10ff8, &lo, 8);
    mem_read(e->mem, RAM + 0x20000, &hi, 8);
    assert_int_equal(lo, 0x1211161514131211ULL);
    assert_int_equal(hi, 0x2827181716151413ULL);
}

/* sstatus writes run inside a translated block, and clearing SUM there
 * must stop later loads of the block from using the data-TLB set that
 * SUM=1 filled (the block reloads the set after the write). */
static void test_jit_csr_sum_in_block(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    pmp_update_all(e);
    map_sv39(e, 0x1 | 0x2 | 0x4 | 0x10 | 0x40 | 0x80);   /* U data page at VA 0x1000 */
    put64(e, RAM + 0x102000 + 2 * 8,                     /* code: VA 0x2000 -> RAM */
          ((RAM >> 12) << 10) | 0x1 | 0x2 | 0x8 | 0x40);
    put64(e, RAM + 0x10000, 7);
    /* The block starts with SUM=1, so its loads begin on the SUM set. */
    uint64_t st;
    assert_int_equal(csr_read(h, CSR_SSTATUS, &st), 0);
    assert_int_equal(csr_write(h, CSR_SSTATUS, st | MSTATUS_SUM), 0);
    put32(e, RAM + 0x00, 0x000012b7);   /* lui t0,0x1 */
    put32(e, RAM + 0x04, 0x00040337);   /* lui t1,0x40 (SUM) */
    put32(e, RAM + 0x08, 0x0002b503);   /* ld a0,0(t0): fills the SUM set */
    put32(e, RAM + 0x0c, 0x10033073);   /* csrc sstatus,t1 */
    put32(e, RAM + 0x10, 0x0002b583);   /* ld a1,0(t0): page fault */
    put32(e, RAM + 0x14, 0x10032073);   /* csrs sstatus,t1 */
    put32(e, RAM + 0x18, 0x00100073);   /* ebreak */
    put32(e, RAM + 0x3000, 0x0000006f); /* M-mode handler: j . */
    h->mtvec = RAM + 0x3000;
    h->jit_hot = 1;
    h->pc = 0x2000;
    hart_run(h, 1000);
    assert_true(translated_at(e, RAM));
    assert_int_equal(hart_get_x(h, 10), 7);
    assert_int_equal(hart_get_x(h, 11), 0);
    assert_int_equal(h->mcause, EXC_LOAD_PAGE);
    assert_int_equal(h->mepc, 0x2010);
    /* Run again from the csrs: sets SUM inside a (new) block. */
    h->priv = PRV_S;
    hart_update_mode(h);
    h->pc = 0x2014;
    hart_run(h, 1000);
    assert_int_equal(h->mcause, EXC_BREAKPOINT);
    assert_int_equal(h->mepc, 0x2018);
    assert_int_equal(csr_read(h, CSR_SSTATUS, &st), 0);
    assert_true(st & MSTATUS_SUM);
}

/* A CSR write inside a translated block that enables a pending interrupt
 * traps before the next instruction (Privileged spec 3.1.9). */
static void test_jit_csr_write_takes_interrupt_at_once(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    pmp_update_all(e);
    assert_int_equal(csr_write(h, 0x303, 2), 0);   /* mideleg: SSIP to S */
    assert_int_equal(csr_write(h, 0x344, 2), 0);   /* mip.SSIP pending */
    assert_int_equal(csr_write(h, 0x104, 2), 0);   /* sie.SSIE */
    h->stvec = RAM + 0x400;
    put32(e, RAM + 0x00, 0x00200513);   /* li a0,2 (SIE) */
    put32(e, RAM + 0x04, 0x10052073);   /* csrs sstatus,a0 */
    put32(e, RAM + 0x08, 0x00100593);   /* li a1,1: must not run */
    put32(e, RAM + 0x0c, 0x0000006f);   /* j . */
    put32(e, RAM + 0x400, 0x0000006f);  /* S handler: j . */
    h->priv = PRV_S;
    hart_update_mode(h);
    h->jit_hot = 1;
    h->pc = RAM;
    hart_run(h, 1000);
    assert_true(translated_at(e, RAM));
    assert_int_equal(h->scause, (1ULL << 63) | 1);
    assert_int_equal(h->sepc, RAM + 0x08);
    assert_int_equal(hart_get_x(h, 11), 0);
}

/* Atomics inside translated blocks: the AMOs (with and without a result,
 * word results sign-extended), an LR/SC increment loop, a second SC after
 * a successful one (it fails although the memory still holds the value LR
 * read), and a misaligned AMO, which must trap at its own pc. */
static void test_jit_atomics_in_block(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    static const uint32_t prog[] = {
        0x00828913, 0x01028993, 0x01828a13, 0x02028a93, 0x02828b13, /* s2..s6 = t0+8..t0+40 */
        0x00b2a52f,   /* loop: amoadd.w a0,a1,(t0) */
        0x40c9302f,   /* amoor.d zero,a2,(s2) */
        0x0909b6af,   /* amoswap.d a3,a6,(s3) */
        0x20ba372f,   /* amoxor.d a4,a1,(s4) */
        0x60caa7af,   /* amoand.w a5,a2,(s5) */
        0x100b332f,   /* retry: lr.d t1,(s6) */
        0x00130313,   /* addi t1,t1,1 */
        0x186b33af,   /* sc.d t2,t1,(s6) */
        0xfe039ae3,   /* bnez t2,retry */
        0xfff80813,   /* addi a6,a6,-1 */
        0xfc081ce3,   /* bnez a6,loop */
        0x100b332f,   /* lr.d t1,(s6) */
        0x186b33af,   /* sc.d t2,t1,(s6): stores the value read */
        0x18bb3e2f,   /* sc.d t3,a1,(s6): the reservation is gone */
        0x00b938af,   /* amoadd.d a7,a1,(s2) */
        0x00100073,   /* ebreak */
        0x00228b93,   /* addi s7,t0,2 */
        0x00bba52f,   /* amoadd.w a0,a1,(s7): misaligned */
    };
    for (unsigned i = 0; i < sizeof(prog) / 4; i++)
        put32(e, RAM + 4 * i, prog[i]);
    put32(e, RAM + 0x3000, 0x0000006f);   /* M-mode handler: j . */
    h->mtvec = RAM + 0x3000;
    const uint64_t d = RAM + 0x10000;
    put64(e, d + 0, 0x7ffffff0);
    put64(e, d + 8, 1);
    put64(e, d + 16, 0x55);
    put64(e, d + 24, 0x10);
    put64(e, d + 32, 0xfffffff3);
    put64(e, d + 40, 1000);
    hart_set_x(h, 5, d);
    hart_set_x(h, 11, 1);
    hart_set_x(h, 12, 0x800000f0);
    hart_set_x(h, 16, 100);
    h->jit_hot = 1;
    hart_run(h, 100000);
    assert_int_equal(h->mcause, EXC_BREAKPOINT);
    assert_true(translated_at(e, RAM + 0x14));
    assert_true(translated_at(e, RAM + 0x40));
    /* Each word at d + 8 * i ends as mem, with the old value last read
     * into register reg. */
    static const struct { uint64_t mem; unsigned reg; uint64_t old; } want[] = {
        { 0x80000054, 10, 0xffffffff80000053 },   /* amoadd.w: wrapped, sign-extended */
        { 0x800000f2, 17, 0x800000f1 },           /* amoor.d, then amoadd.d */
        { 1, 13, 2 },                             /* amoswap.d */
        { 0x10, 14, 0x11 },                       /* amoxor.d */
        { 0x800000f0, 15, 0xffffffff800000f0 },   /* amoand.w */
        { 1100, 7, 0 },                           /* lr/sc loop: sc's result */
    };
    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        uint64_t v;
        mem_read(e->mem, d + 8 * i, &v, 8);
        assert_int_equal(v, want[i].mem);
        assert_int_equal(hart_get_x(h, want[i].reg), want[i].old);
    }
    assert_int_equal(hart_get_x(h, 28), 1);                   /* second SC failed */
    /* The misaligned AMO, in a block of its own. */
    h->pc = RAM + 0x54;
    hart_run(h, 1000);
    assert_true(translated_at(e, RAM + 0x54));
    assert_int_equal(h->mcause, EXC_STORE_MISALIGNED);
    assert_int_equal(h->mepc, RAM + 0x58);
    assert_int_equal(h->mtval, d + 2);
}

/* ---- guest registers held in host registers (jit_x86_64_regs.c) ---- */

/* Put `n` words at RAM and run them translated from RAM to the M-mode
 * handler (j . at RAM + 0x3000). */
static void run_block(struct env *e, const uint32_t *prog, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        put32(e, RAM + 4 * i, prog[i]);
    put32(e, RAM + 0x3000, 0x0000006f);   /* j . */
    e->h->mtvec = RAM + 0x3000;
    e->h->jit_hot = 1;
    e->h->pc = RAM;
    hart_run(e->h, 10000);
    assert_true(translated_at(e, RAM));
}

/* run_block, which must end at the ebreak at byte `at` of the program. */
static void run_block_to_ebreak(struct env *e, const uint32_t *prog, unsigned n, uint64_t at)
{
    run_block(e, prog, n);
    assert_int_equal(e->h->mcause, EXC_BREAKPOINT);
    assert_int_equal(e->h->mepc, RAM + at);
}

/* W instructions' results in a straight-line block are left unextended
 * in their host registers while only W operations, 32-bit logic and
 * 32-bit stores read them: every other reader (a 64-bit add, a shift
 * right, a compare), every eviction of the eight host registers and the
 * block's exit must still see (and h->x[] hold) the sign-extended
 * values. */
static void test_jit_w_results_sign_extended(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x80000537,   /* lui a0,0x80000 */
        0xfff5051b,   /* addiw a0,a0,-1: 0x7fffffff */
        0x0015059b,   /* addiw a1,a0,1: wraps, negative */
        0x0015161b,   /* slliw a2,a0,1 */
        0x00c5c6b3,   /* xor a3,a1,a2: logic on two 32-bit values */
        0x00c582bb,   /* addw t0,a1,a2 */
        0x40b6033b,   /* subw t1,a2,a1 */
        0x4045d39b,   /* sraiw t2,a1,4 */
        0x0045d41b,   /* srliw s0,a1,4 */
        0x007364b3,   /* or s1,t1,t2 */
        0xff05f913,   /* andi s2,a1,-16 */
        0x00b58733,   /* add a4,a1,a1: 64-bit, needs a1 extended */
        0x0205d793,   /* srli a5,a1,32: 64-bit, needs a1 extended */
        0x012489bb,   /* addw s3,s1,s2 */
        0x00b7b833,   /* sltu a6,a5,a1 */
        0x02a50a3b,   /* mulw s4,a0,a0 */
        0x00751abb,   /* sllw s5,a0,t2 */
        0x00fa48b3,   /* xor a7,s4,a5: a5 is not 32-bit */
        0x00100073,   /* ebreak */
    };
    run_block_to_ebreak(e, prog, sizeof(prog) / 4, 18 * 4);
    assert_true(translated_at(e, RAM));
    struct hart *h = e->h;
    int64_t a0 = 0x7fffffff;
    int64_t a1 = (int32_t)(uint32_t)(a0 + 1), a2 = (int32_t)((uint32_t)a0 << 1);
    int64_t t1 = (int32_t)(uint32_t)(a2 - a1), t2 = (int32_t)a1 >> 4;
    int64_t s1 = t1 | t2, s2 = a1 & -16;
    uint64_t a5 = (uint64_t)a1 >> 32;
    int64_t s4 = (int32_t)(uint32_t)((uint64_t)a0 * (uint64_t)a0);
    assert_int_equal(hart_get_x(h, 10), a0);
    assert_int_equal(hart_get_x(h, 11), a1);
    assert_int_equal(hart_get_x(h, 11), 0xffffffff80000000ULL);
    assert_int_equal(hart_get_x(h, 12), a2);
    assert_int_equal(hart_get_x(h, 13), a1 ^ a2);
    assert_int_equal(hart_get_x(h, 5), (int32_t)(uint32_t)(a1 + a2));
    assert_int_equal(hart_get_x(h, 6), t1);
    assert_int_equal(hart_get_x(h, 7), t2);
    assert_int_equal(hart_get_x(h, 8), (int32_t)((uint32_t)a1 >> 4));
    assert_int_equal(hart_get_x(h, 9), s1);
    assert_int_equal(hart_get_x(h, 18), s2);
    assert_int_equal(hart_get_x(h, 14), (uint64_t)a1 * 2);
    assert_int_equal(hart_get_x(h, 15), a5);
    assert_int_equal(hart_get_x(h, 19), (int32_t)(uint32_t)(s1 + s2));
    assert_int_equal(hart_get_x(h, 16), a5 < (uint64_t)a1);
    assert_int_equal(hart_get_x(h, 20), s4);
    assert_int_equal(hart_get_x(h, 21), (int32_t)((uint32_t)a0 << (t2 & 31)));
    assert_int_equal(hart_get_x(h, 17), (uint64_t)s4 ^ a5);
}

/* A block that loops keeps a W result unextended round the loop too: the
 * jump back to its head must extend it, because the head's code (an add
 * reading it as 64 bits) assumes every held register extended. */
static void test_jit_w_result_extended_round_loop(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00d60633,   /* loop: add a2,a2,a3 */
        0xf9c5069b,   /* addiw a3,a0,-100: negative */
        0xfff50513,   /* addi a0,a0,-1 */
        0xfe051ae3,   /* bnez a0,loop */
        0x00100073,   /* ebreak */
    };
    hart_set_x(e->h, 10, 10);
    run_block_to_ebreak(e, prog, sizeof(prog) / 4, 4 * 4);
    assert_int_equal(hart_get_x(e->h, 12), (uint64_t)-(90 + 91 + 92 + 93 + 94 + 95 + 96 + 97 + 98));
    assert_int_equal(hart_get_x(e->h, 13), (uint64_t)-99);
}

/* A load that faults after several register writes in its block: h->x[]
 * holds every earlier result and not the faulting load's. */
static void test_jit_regs_written_back_at_fault(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00100513,   /* li a0,1 */
        0x00250513,   /* addi a0,a0,2 */
        0x00450593,   /* addi a1,a0,4 */
        0x00858593,   /* addi a1,a1,8 */
        0x00b50633,   /* add a2,a0,a1 */
        0x00160693,   /* addi a3,a2,1 */
        0x00003683,   /* ld a3,0(zero): access fault */
        0x06450513,   /* addi a0,a0,100: not reached */
        0x00100073,   /* ebreak */
    };
    run_block(e, prog, sizeof(prog) / 4);
    assert_int_equal(e->h->mcause, EXC_LOAD_ACCESS);
    assert_int_equal(e->h->mepc, RAM + 0x18);
    assert_int_equal(hart_get_x(e->h, 10), 3);
    assert_int_equal(hart_get_x(e->h, 11), 15);
    assert_int_equal(hart_get_x(e->h, 12), 18);
    assert_int_equal(hart_get_x(e->h, 13), 19);
}

/* Helper calls inside a block: DIV (a C helper that clobbers the host's
 * caller-saved registers) after register writes, then a CSR write that
 * reads a register written in the block and a CSR read into a register
 * the block holds, both used afterwards. */
static void test_jit_regs_around_helper_calls(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x06400513,   /* li a0,100 */
        0x01750513,   /* addi a0,a0,23 */
        0x00700593,   /* li a1,7 */
        0x00500693,   /* li a3,5 */
        0x00168693,   /* addi a3,a3,1 */
        0x02b54633,   /* div a2,a0,a1 */
        0x00a60733,   /* add a4,a2,a0 */
        0x14071073,   /* csrw sscratch,a4 */
        0x140026f3,   /* csrr a3,sscratch */
        0x00e687b3,   /* add a5,a3,a4 */
        0x00a787b3,   /* add a5,a5,a0 */
        0x00100073,   /* ebreak */
    };
    run_block_to_ebreak(e, prog, sizeof(prog) / 4, 0x2c);
    assert_int_equal(hart_get_x(e->h, 12), 17);
    assert_int_equal(hart_get_x(e->h, 14), 140);
    assert_int_equal(hart_get_x(e->h, 13), 140);
    assert_int_equal(hart_get_x(e->h, 15), 403);
    uint64_t v;
    assert_int_equal(csr_read(e->h, 0x140, &v), 0);   /* sscratch */
    assert_int_equal(v, 140);
}

/* Blocks that leave with registers they wrote held: a linked jump, a
 * linked branch and a JALR through the chain stub, round a loop. */
static void test_jit_regs_across_chained_exits(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00150513,   /* A: addi a0,a0,1 */
        0x00258593,   /* addi a1,a1,2 */
        0x00b50633,   /* add a2,a0,a1 */
        0x0040006f,   /* j B */
        0x00c686b3,   /* B: add a3,a3,a2 */
        0x00158593,   /* addi a1,a1,1 */
        0x00551463,   /* bne a0,t0,C */
        0x00100073,   /* ebreak */
        0x00030067,   /* C: jr t1 (A) */
    };
    hart_set_x(e->h, 5, 10);
    hart_set_x(e->h, 6, RAM);
    run_block_to_ebreak(e, prog, sizeof(prog) / 4, 0x1c);
    assert_true(translated_at(e, RAM + 0x10));
    assert_true(translated_at(e, RAM + 0x20));
    assert_int_equal(hart_get_x(e->h, 10), 10);
    assert_int_equal(hart_get_x(e->h, 11), 30);
    assert_int_equal(hart_get_x(e->h, 12), 39);
    assert_int_equal(hart_get_x(e->h, 13), 210);
}

/* F/D instructions inside a block (jit_x86_64_fp.c): an inline FLD, FSD,
 * FMV.X.D, FMV.D.X and FLW and an FADD.D through fp_exec, then a CSR write
 * that turns sstatus.FS off: the FLD after it must raise the illegal-
 * instruction exception (the block tests FS again after any CSR call),
 * with everything before it done and retired in translated code (as is
 * the trap handler's `j .`: no instruction is left to the interpreter). */
static void test_jit_fp_in_block(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00100613,   /* 0x00: li a2,1 */
        0x00053087,   /* 0x04: fld f1,0(a0) */
        0x0210f153,   /* 0x08: fadd.d f2,f1,f1 */
        0x00253427,   /* 0x0c: fsd f2,8(a0) */
        0xe20105d3,   /* 0x10: fmv.x.d a1,f2 */
        0x00158593,   /* 0x14: addi a1,a1,1 */
        0xf20581d3,   /* 0x18: fmv.d.x f3,a1 */
        0x01052287,   /* 0x1c: flw f5,16(a0) */
        0x000062b7,   /* 0x20: lui t0,6 (mstatus.FS) */
        0x1002b073,   /* 0x24: csrc sstatus,t0 */
        0x00053207,   /* 0x28: fld f4,0(a0): illegal, FS is off */
        0x00100073,   /* 0x2c: ebreak: not reached */
    };
    put64(e, RAM + 0x2000, 0x3ff8000000000000ULL);     /* 1.5 */
    put64(e, RAM + 0x2010, 0x40200000);                  /* 2.5f */
    hart_set_x(e->h, 10, RAM + 0x2000);
    e->h->mstatus |= MSTATUS_FS / 3;                     /* Initial */
    run_block(e, prog, sizeof(prog) / 4);
    assert_int_equal(e->h->mcause, EXC_ILLEGAL);
    assert_int_equal(e->h->mepc, RAM + 0x28);
    assert_int_equal(e->h->mtval, 0x00053207);
    assert_int_equal(e->h->instret - e->h->jit_insns, 0);   /* none interpreted */
    assert_int_equal(hart_get_f(e->h, 2), 0x4008000000000000ULL);   /* 3.0 */
    uint64_t v = 0;
    assert_int_equal(mem_read(e->mem, RAM + 0x2008, &v, 8), 0);
    assert_int_equal(v, 0x4008000000000000ULL);
    assert_int_equal(hart_get_x(e->h, 11), 0x4008000000000001ULL);
    assert_int_equal(hart_get_f(e->h, 3), 0x4008000000000001ULL);
    assert_int_equal(hart_get_f(e->h, 5), 0xffffffff40200000ULL);  /* NaN-boxed */
    assert_int_equal(hart_get_f(e->h, 4), 0);
    assert_int_equal(e->h->mstatus & MSTATUS_FS, 0);
}

/* Run `li a2,1; <op>; ebreak` translated, f1, f2, f4 = a, b, c, fflags =
 * NX (so the inline fast path is tried) and frm = RNE; returns f3, and
 * the flags in *fl. */
static uint64_t run_fp_op(struct env *e, uint32_t op, uint64_t a, uint64_t b, uint64_t c,
                          uint32_t *fl)
{
    const uint32_t prog[] = { 0x00100613, op, 0x00100073 };
    hart_reset(e->h);   /* no decoded or translated code from the last call */
    e->h->f[1] = a;
    e->h->f[2] = b;
    e->h->f[4] = c;
    e->h->mstatus |= MSTATUS_FS / 3;
    e->h->fflags = FFLAG_NX;
    e->h->frm = FRM_RNE;
    run_block_to_ebreak(e, prog, 3, 8);
    assert_int_equal(e->h->instret - e->h->jit_insns, 0);
    *fl = e->h->fflags;
    return e->h->f[3];
}

/* run_fp_op must give `exp` and flags `expfl`, which include `must`. */
static void check_fp_op(struct env *e, uint32_t op, uint64_t a, uint64_t b, uint64_t c,
                        uint64_t exp, uint32_t expfl, uint32_t must)
{
    uint32_t fl;
    assert_true((expfl & must) == must);
    assert_int_equal(run_fp_op(e, op, a, b, c, &fl), exp);
    assert_int_equal(fl, expfl);
}

/* The inline fast path (jit_x86_64_fp.c) at its edges, each operation in
 * its own block with NX already raised so that the fast path is tried:
 * subnormal products, quotient and fused result (UF), an overflowing sum
 * (OF), a division by zero (DZ), a single operand that is not NaN-boxed
 * (the canonical NaN): result and flags must be the soft-float's; and
 * compares at equality, signed zeros, infinities and NaNs. */
static void test_jit_fp_fast_path_edges(void **state)
{
    struct env *e = *state;
    const uint64_t B = 0xffffffff00000000ULL;   /* NaN-boxing */
    uint32_t fl, sf;
    uint64_t r, x;
    /* fmul.s f3,f1,f2: 2^-71 (1 + 2^-23) x 1.5 2^-71, subnormal, inexact */
    sf = FFLAG_NX;
    x = B | f32_mul(0x1c000001, 0x1c400000, FRM_RNE, &sf);
    check_fp_op(e, 0x1020f1d3, B | 0x1c000001, B | 0x1c400000, 0, x, sf, FFLAG_UF);
    /* fmul.d f3,f1,f2: 2^-600 x 2^-450 (1 + 2^-52) */
    sf = FFLAG_NX;
    x = f64_mul(0x1a70000000000000ULL, 0x23d0000000000001ULL, FRM_RNE, &sf);
    check_fp_op(e, 0x1220f1d3, 0x1a70000000000000ULL, 0x23d0000000000001ULL, 0, x, sf, FFLAG_UF);
    /* fdiv.d f3,f1,f2: 2^-1000 (1 + 2^-52) / 2^60 */
    sf = FFLAG_NX;
    x = f64_div(0x0170000000000001ULL, 0x43b0000000000000ULL, FRM_RNE, &sf);
    check_fp_op(e, 0x1a20f1d3, 0x0170000000000001ULL, 0x43b0000000000000ULL, 0, x, sf, FFLAG_UF);
    /* fmadd.d f3,f1,f2,f4: the same tiny product plus +0 */
    if (fpu_host_units() & FPU_HOST_FMA) {
        sf = FFLAG_NX;
        x = f64_fma(0x1a70000000000000ULL, 0x23d0000000000001ULL, 0, 0, 0, FRM_RNE, &sf);
        check_fp_op(e, 0x2220f1c3, 0x1a70000000000000ULL, 0x23d0000000000001ULL, 0, x, sf,
                    FFLAG_UF);
    }
    /* fadd.d f3,f1,f2: the largest double twice */
    sf = FFLAG_NX;
    x = f64_add(0x7fefffffffffffffULL, 0x7fefffffffffffffULL, FRM_RNE, &sf);
    check_fp_op(e, 0x0220f1d3, 0x7fefffffffffffffULL, 0x7fefffffffffffffULL, 0, x, sf, FFLAG_OF);
    /* fdiv.s f3,f1,f2: 1.0f / +0 */
    sf = FFLAG_NX;
    x = B | f32_div(0x3f800000, 0, FRM_RNE, &sf);
    check_fp_op(e, 0x1820f1d3, B | 0x3f800000, B, 0, x, sf, FFLAG_DZ);
    /* fsub.s f3,f1,f2: an unboxed f1 reads as the canonical NaN */
    r = run_fp_op(e, 0x0820f1d3, 0x3f800000, B | 0x3f800000, 0, &fl);
    assert_int_equal(r, B | F32_CANON_NAN);
    assert_int_equal(fl, FFLAG_NX);
    /* compares into x3: equal operands, -0 and +0, a quiet NaN, a
     * signalling one, an unboxed single */
    static const struct { uint32_t op; uint64_t a, b; uint64_t x; uint32_t fl; } cmp[] = {
        { 0xa22091d3, 0x3ff0000000000000ULL, 0x3ff0000000000000ULL, 0, 0 },   /* flt.d 1,1 */
        { 0xa22081d3, 0x3ff0000000000000ULL, 0x3ff0000000000000ULL, 1, 0 },   /* fle.d 1,1 */
        { 0xa220a1d3, 0x8000000000000000ULL, 0, 1, 0 },                       /* feq.d -0,+0 */
        { 0xa22091d3, 0x8000000000000000ULL, 0, 0, 0 },                       /* flt.d -0,+0 */
        { 0xa220a1d3, 0x7ff8000000000000ULL, 0x7ff8000000000000ULL, 0, 0 },   /* feq.d qNaN */
        { 0xa22081d3, 0x7ff8000000000000ULL, 0x3ff0000000000000ULL, 0, FFLAG_NV },  /* fle.d */
        { 0xa220a1d3, 0x7ff0000000000001ULL, 0x3ff0000000000000ULL, 0, FFLAG_NV },  /* feq.d sNaN */
        { 0xa22091d3, 0xfff0000000000000ULL, 0x3ff0000000000000ULL, 1, 0 },   /* flt.d -inf,1 */
        { 0xa02091d3, 0x3f800000, 0xffffffff3f800000ULL, 0, FFLAG_NV },       /* flt.s unboxed */
        { 0xa020a1d3, 0xffffffff3f800000ULL, 0xffffffff3f800000ULL, 1, 0 },   /* feq.s 1,1 */
    };
    for (unsigned i = 0; i < sizeof(cmp) / sizeof(cmp[0]); i++) {
        run_fp_op(e, cmp[i].op, cmp[i].a, cmp[i].b, 0, &fl);
        assert_int_equal(hart_get_x(e->h, 3), cmp[i].x);
        assert_int_equal(fl, FFLAG_NX | cmp[i].fl);
    }
    /* and the fast path itself: 1.5 x 1.5 = 2.25, no new flag */
    r = run_fp_op(e, 0x1220f1d3, 0x3ff8000000000000ULL, 0x3ff8000000000000ULL, 0, &fl);
    assert_int_equal(r, 0x4002000000000000ULL);
    assert_int_equal(fl, FFLAG_NX);
}

/* A block that starts with an F/D instruction while mstatus.FS is Off:
 * the illegal-instruction exception at its first instruction, from the
 * translated code (handing over to the interpreter there would enter the
 * same block again, for ever). */
static void test_jit_fp_block_start_fs_off(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00053087,   /* fld f1,0(a0) */
        0x00100073,   /* ebreak */
    };
    hart_set_x(e->h, 10, RAM + 0x2000);
    e->h->mstatus &= ~MSTATUS_FS;
    run_block(e, prog, sizeof(prog) / 4);
    assert_int_equal(e->h->mcause, EXC_ILLEGAL);
    assert_int_equal(e->h->mepc, RAM);
    assert_int_equal(e->h->mtval, 0x00053087);
}

/* mstatus.FS Clean at a block's entry: FMV.X.W (through fp_exec) only
 * reads the F state and leaves it Clean; the FLD after it writes an f
 * register and must make it Dirty, with SD. */
static void test_jit_fp_dirties_fs(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00100613,   /* li a2,1 */
        0xe00085d3,   /* fmv.x.w a1,f1 */
        0x00053107,   /* fld f2,0(a0) */
        0x00100073,   /* ebreak */
    };
    put64(e, RAM + 0x2000, 0x3ff8000000000000ULL);
    hart_set_x(e->h, 10, RAM + 0x2000);
    e->h->mstatus |= 2ULL << MSTATUS_FS_SHIFT;           /* Clean */
    run_block_to_ebreak(e, prog, sizeof(prog) / 4, 0x0c);
    assert_int_equal(e->h->instret - e->h->jit_insns, 0);
    assert_int_equal(hart_get_f(e->h, 2), 0x3ff8000000000000ULL);
    assert_int_equal(e->h->mstatus & MSTATUS_FS, MSTATUS_FS);
    assert_true(e->h->mstatus & MSTATUS_SD);
}

/* Superblocks: a block goes on past its conditional branches, each a
 * side exit that writes the held registers back before it leaves.  The
 * loop runs through both side exits (odd a0 to C, the last pass to D)
 * and the fall-through: the block at A covers 0x0c and 0x14, so no
 * block starts there, and every value the exits leave in h->x[] holds. */
static void test_jit_superblock_side_exits(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00150513,   /* A 0x00: addi a0,a0,1 */
        0x00258593,   /* 0x04: addi a1,a1,2 */
        0x02550063,   /* 0x08: beq a0,t0,D (side exit, the last pass) */
        0x00157393,   /* 0x0c: andi t2,a0,1 */
        0x00039863,   /* 0x10: bne t2,zero,C (side exit, odd a0) */
        0x00160613,   /* 0x14: addi a2,a2,1 */
        0x00b686b3,   /* 0x18: add a3,a3,a1 */
        0x00030067,   /* 0x1c: jr t1 (A) */
        0x00170713,   /* C 0x20: addi a4,a4,1 */
        0x00030067,   /* 0x24: jr t1 (A) */
        0x00100073,   /* D 0x28: ebreak */
    };
    hart_set_x(e->h, 5, 20);
    hart_set_x(e->h, 6, RAM);
    run_block_to_ebreak(e, prog, sizeof(prog) / 4, 0x28);
    assert_false(translated_at(e, RAM + 0x0c));
    assert_false(translated_at(e, RAM + 0x14));
    assert_true(translated_at(e, RAM + 0x20));
    assert_int_equal(hart_get_x(e->h, 10), 20);
    assert_int_equal(hart_get_x(e->h, 11), 40);
    assert_int_equal(hart_get_x(e->h, 12), 9);      /* a0 = 2, 4, ..., 18 */
    assert_int_equal(hart_get_x(e->h, 13), 180);    /* the sum of 2 a0 there */
    assert_int_equal(hart_get_x(e->h, 14), 10);     /* a0 = 1, 3, ..., 19 */
    assert_int_equal(hart_get_x(e->h, 7), 1);       /* from a0 = 19 */
}

/* Forward branches over one and over two instructions stay inside their
 * block (emit_branch_over): no block starts at either join, on passes
 * that take the branch and passes that do not.  The skipped ADDIW leaves
 * a W result, which the join must extend before the 64-bit ADD reads
 * it; minstret counts only the instructions that ran (the skipped ones
 * are given back to the budget). */
static void test_jit_branch_over_stays_in_block(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0xfff50513,   /* loop 0x00: addi a0,a0,-1 */
        0x00157293,   /* 0x04: andi t0,a0,1 */
        0x00028463,   /* 0x08: beqz t0,0x10 (over one: even a0) */
        0xff95859b,   /* 0x0c: addiw a1,a1,-7 */
        0x00c53333,   /* 0x10: sltu t1,a0,a2 */
        0x00031663,   /* 0x14: bnez t1,0x20 (over two: a0 < 5) */
        0x00b686b3,   /* 0x18: add a3,a3,a1 */
        0x00170713,   /* 0x1c: addi a4,a4,1 */
        0xfe0510e3,   /* 0x20: bnez a0,loop */
        0xb02027f3,   /* 0x24: csrr a5,minstret */
        0x00100073,   /* 0x28: ebreak */
    };
    int64_t a1 = 0, a3 = 0, a4 = 0, n = 0;
    for (int64_t a0 = 19; a0 >= 0; a0--) {   /* the program, in C */
        n += 6;
        if (a0 & 1) {
            a1 -= 7;
            n++;
        }
        if (a0 >= 5) {
            a3 += a1;
            a4++;
            n += 2;
        }
    }
    hart_set_x(e->h, 10, 20);
    hart_set_x(e->h, 12, 5);
    run_block_to_ebreak(e, prog, sizeof(prog) / 4, 0x28);
    assert_false(translated_at(e, RAM + 0x10));
    assert_false(translated_at(e, RAM + 0x20));
    assert_int_equal(hart_get_x(e->h, 11), (uint64_t)a1);
    assert_int_equal(hart_get_x(e->h, 13), (uint64_t)a3);
    assert_int_equal(hart_get_x(e->h, 14), (uint64_t)a4);
    assert_int_equal(hart_get_x(e->h, 15), (uint64_t)n);
}

/* The same outside a loop, where the budget is in memory: a branch over
 * an instruction whose register is used after it, taken and not taken;
 * minstret, read right after the block, must count only what ran. */
static void test_jit_branch_over_select_budget(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00157293,   /* 0x00: andi t0,a0,1 */
        0x00028463,   /* 0x04: beqz t0,0x0c */
        0x00558593,   /* 0x08: addi a1,a1,5 */
        0x00b58633,   /* 0x0c: add a2,a1,a1 */
        0xb02027f3,   /* 0x10: csrr a5,minstret */
        0x00100073,   /* 0x14: ebreak */
    };
    for (uint64_t a0 = 0; a0 < 2; a0++) {
        hart_set_x(e->h, 10, a0);
        hart_set_x(e->h, 11, 1);
        uint64_t before = hart_instret(e->h);
        run_block_to_ebreak(e, prog, sizeof(prog) / 4, 0x14);
        assert_int_equal(hart_get_x(e->h, 12), a0 ? 12 : 2);
        assert_int_equal(hart_get_x(e->h, 15) - before, a0 ? 4 : 3);
    }
}

/* A test value for slot i of the group tests (every byte distinct per
 * slot, sign bits set in both halves and in the low byte). */
static uint64_t group_value(unsigned i)
{
    return 0x0102030405060708ULL * (i + 1) ^ 0x8000000080000080ULL;
}

/* Run a group test's loop (s4 = base, a1 = 8 bytes before base's page
 * ends, a2 = 3 passes) to its ebreak at byte `at`. */
static void run_group_loop(struct env *e, const uint32_t *prog, unsigned n, uint64_t at)
{
    hart_set_x(e->h, 20, RAM + 0x4000);
    hart_set_x(e->h, 11, RAM + 0x4ff8);
    hart_set_x(e->h, 12, 3);
    run_block_to_ebreak(e, prog, n, at);
}

/* Load groups (jit_x86_64_mem.c): loads through one base register share
 * one TLB probe of their span.  Three passes of a loop block (the first
 * finds the TLB cold, the others hit): a group of four loads of
 * different widths; a group whose span crosses into the next page, so
 * its probe misses every time and each load takes its own probe; and a
 * base register written in the block, which starts a new group at the
 * new address.  Every load must read what the C side wrote. */
static void test_jit_load_groups(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x000a0513,   /* loop: addi a0,s4,0 */
        0x00853303,   /* ld t1,8(a0): the first, above the span's start */
        0x00053283,   /* ld t0,0(a0) */
        0x01052383,   /* lw t2,16(a0) */
        0x01854e03,   /* lbu t3,24(a0) */
        0x0005be83,   /* ld t4,0(a1): a1 8 bytes before a page's end */
        0x0085bf03,   /* ld t5,8(a1): in the next page */
        0x04050513,   /* addi a0,a0,64: the group through a0 ends */
        0x00053f83,   /* ld t6,0(a0) */
        0x00853983,   /* ld s3,8(a0) */
        0x01f90933,   /* add s2,s2,t6 */
        0xfff60613,   /* addi a2,a2,-1 */
        0xfc0618e3,   /* bnez a2,loop */
        0x00100073,   /* ebreak */
    };
    const uint64_t base = RAM + 0x4000, end = RAM + 0x4ff8;
    uint64_t v[10];
    for (unsigned i = 0; i < 10; i++)
        put64(e, base + 8 * i, v[i] = group_value(i));
    put64(e, end, 0x0123456789abcdefULL);
    put64(e, end + 8, 0xfedcba9876543210ULL);
    run_group_loop(e, prog, sizeof(prog) / 4, 0x34);
    assert_int_equal(hart_get_x(e->h, 5), v[0]);
    assert_int_equal(hart_get_x(e->h, 6), v[1]);
    assert_int_equal(hart_get_x(e->h, 7), (uint64_t)(int64_t)(int32_t)(uint32_t)v[2]);
    assert_int_equal(hart_get_x(e->h, 28), v[3] & 0xff);
    assert_int_equal(hart_get_x(e->h, 29), 0x0123456789abcdefULL);
    assert_int_equal(hart_get_x(e->h, 30), 0xfedcba9876543210ULL);
    assert_int_equal(hart_get_x(e->h, 31), v[8]);
    assert_int_equal(hart_get_x(e->h, 19), v[9]);
    assert_int_equal(hart_get_x(e->h, 18), 3 * v[8]);
}

/* A write of a load group's base register ends the group: the loads
 * after it probe again.  Here the base moves from RAM's last 16 bytes to
 * past RAM's end, so the next load must raise a load access fault; with
 * the old page's addend kept, it would read host memory instead. */
static void test_jit_load_group_ends_at_base_write(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00053283,   /* ld t0,0(a0) */
        0x00853303,   /* ld t1,8(a0) */
        0x01050513,   /* addi a0,a0,16: past RAM */
        0x00053383,   /* ld t2,0(a0): access fault */
        0x00853e03,   /* ld t3,8(a0) */
        0x00100073,   /* ebreak */
    };
    const uint64_t last = RAM + (16 << 20) - 16;
    put64(e, last, 0x5555aaaa5555aaaaULL);
    put64(e, last + 8, 0x0f0f0f0ff0f0f0f0ULL);
    for (unsigned pass = 0; pass < 2; pass++) {   /* the TLB cold, then warm */
        hart_set_x(e->h, 10, last);
        run_block(e, prog, sizeof(prog) / 4);
        assert_int_equal(e->h->mcause, EXC_LOAD_ACCESS);
        assert_int_equal(e->h->mepc, RAM + 0x0c);
        assert_int_equal(hart_get_x(e->h, 5), 0x5555aaaa5555aaaaULL);
        assert_int_equal(hart_get_x(e->h, 6), 0x0f0f0f0ff0f0f0f0ULL);
        assert_int_equal(hart_get_x(e->h, 10), RAM + (16 << 20));
    }
}

/* A group whose probe misses keeps no addend: after a group that hit
 * (through a0), one through a1 spans RAM's last 8 bytes and what lies
 * past them; its first load reads RAM, its second must fault, and would
 * read host memory with the first group's addend. */
static void test_jit_load_group_miss_keeps_no_addend(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00053283,   /* ld t0,0(a0) */
        0x00853303,   /* ld t1,8(a0) */
        0x0005b383,   /* ld t2,0(a1): RAM's last 8 bytes */
        0x0085be03,   /* ld t3,8(a1): past RAM, access fault */
        0x00100073,   /* ebreak */
    };
    const uint64_t end = RAM + (16 << 20);
    put64(e, end - 8, 0x7777777777777777ULL);
    for (unsigned pass = 0; pass < 2; pass++) {   /* the TLB cold, then warm */
        hart_set_x(e->h, 10, RAM + 0x4000);
        hart_set_x(e->h, 11, end - 8);
        run_block(e, prog, sizeof(prog) / 4);
        assert_int_equal(e->h->mcause, EXC_LOAD_ACCESS);
        assert_int_equal(e->h->mepc, RAM + 0x0c);
        assert_int_equal(hart_get_x(e->h, 7), 0x7777777777777777ULL);
    }
}

/* The same for a store group: the store past RAM's end must fault. */
static void test_jit_store_group_ends_at_base_write(void **state)
{
    struct env *e = *state;
    const uint64_t last = RAM + (16 << 20) - 16;
    static const uint32_t sprog[] = {
        0x00553023,   /* sd t0,0(a0) */
        0x00653423,   /* sd t1,8(a0) */
        0x01050513,   /* addi a0,a0,16: past RAM */
        0x00753023,   /* sd t2,0(a0): access fault */
        0x01c53423,   /* sd t3,8(a0) */
        0x00100073,   /* ebreak */
    };
    hart_set_x(e->h, 5, 1);
    hart_set_x(e->h, 6, 2);
    for (unsigned pass = 0; pass < 2; pass++) {
        hart_set_x(e->h, 10, last);
        run_block(e, sprog, sizeof(sprog) / 4);
        assert_int_equal(e->h->mcause, EXC_STORE_ACCESS);
        assert_int_equal(e->h->mepc, RAM + 0x0c);
        assert_int_equal(get64(e, last), 1);
        assert_int_equal(get64(e, last + 8), 2);
    }
}

/* Store groups: the stores of test_jit_load_groups' shape (a group of
 * four widths whose first store is above the span's start, a span that
 * crosses a page, a new group after the base is written), three passes;
 * every byte lands where the interpreter would put it. */
static void test_jit_store_groups(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x000a0513,   /* loop: addi a0,s4,0 */
        0x00553423,   /* sd t0,8(a0) */
        0x00653023,   /* sd t1,0(a0) */
        0x00752823,   /* sw t2,16(a0) */
        0x01c50c23,   /* sb t3,24(a0) */
        0x01d5b023,   /* sd t4,0(a1): a1 8 bytes before a page's end */
        0x01e5b423,   /* sd t5,8(a1): in the next page */
        0x04050513,   /* addi a0,a0,64 */
        0x01f53023,   /* sd t6,0(a0) */
        0x01353423,   /* sd s3,8(a0) */
        0xfff60613,   /* addi a2,a2,-1 */
        0xfc061ae3,   /* bnez a2,loop */
        0x00100073,   /* ebreak */
    };
    const uint64_t base = RAM + 0x4000, end = RAM + 0x4ff8;
    static const unsigned regs[] = { 5, 6, 7, 28, 29, 30, 31, 19 };
    uint64_t v[8];
    for (unsigned i = 0; i < 8; i++)
        hart_set_x(e->h, regs[i], v[i] = group_value(i));
    run_group_loop(e, prog, sizeof(prog) / 4, 0x30);
    assert_int_equal(get64(e, base + 8), v[0]);
    assert_int_equal(get64(e, base), v[1]);
    assert_int_equal(get64(e, base + 16), (uint32_t)v[2]);
    assert_int_equal(get64(e, base + 24), v[3] & 0xff);
    assert_int_equal(get64(e, end), v[4]);
    assert_int_equal(get64(e, end + 8), v[5]);
    assert_int_equal(get64(e, base + 64), v[6]);
    assert_int_equal(get64(e, base + 72), v[7]);
}

/* A store group through a page the hart then runs as code: each pass
 * writes `addi a0,a0,k; ret` there with two stores of one group, runs
 * FENCE.I and calls it, k one more each pass.  From the second pass the
 * page is decoded, its store TLB entry gone, so the group's probe must
 * miss and the stores retire the decoded page (a hart alone in its cache
 * skips FENCE.I's revalidation: docs/cpu.md); kept from the first pass,
 * the addend would let them write behind the decoded copy's back, and
 * the call would run the old code. */
static void test_jit_store_group_into_code(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00542023,   /* loop: sw t0,0(s0) */
        0x00642223,   /* sw t1,4(s0) */
        0x0000100f,   /* fence.i */
        0x000400e7,   /* jalr ra,0(s0) */
        0x007282b3,   /* add t0,t0,t2: the addi's immediate + 1 */
        0xfff48493,   /* addi s1,s1,-1 */
        0xfe0494e3,   /* bnez s1,loop */
        0x00100073,   /* ebreak */
    };
    hart_set_x(e->h, 8, RAM + 0x5000);
    hart_set_x(e->h, 9, 4);
    hart_set_x(e->h, 5, 0x00150513);     /* addi a0,a0,1 */
    hart_set_x(e->h, 6, 0x00008067);     /* ret */
    hart_set_x(e->h, 7, 1 << 20);
    run_block_to_ebreak(e, prog, sizeof(prog) / 4, 0x1c);
    assert_int_equal(hart_get_x(e->h, 10), 1 + 2 + 3 + 4);
}

/* Site caches (jit_x86_64_mem.c): a looping block's accesses keep last
 * pass's page and addend.  A list walk (a group of two loads through a0,
 * the second a0's own next pointer) whose nodes go from page to page,
 * back to a page seen before, and last to RAM's final 8 bytes, whose
 * value, 8 bytes on, lies past RAM: the two nodes before it are in the
 * same page (the first finds the TLB cold, the second fills the site),
 * so the site holds that page, and only the check that the whole span
 * fits in it stops a read of host memory past guest RAM there.  The
 * load must raise a load access fault with the sum of the values before. */
static void test_jit_site_cache_follows_pages(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00853283,   /* loop: ld t0,8(a0) */
        0x005585b3,   /* add a1,a1,t0 */
        0x00053503,   /* ld a0,0(a0) */
        0xfe051ae3,   /* bnez a0,loop */
        0x00100073,   /* ebreak */
    };
    const uint64_t end = RAM + (16 << 20);
    const uint64_t node[] = { RAM + 0x5000, RAM + 0x5100, RAM + 0x6ff0, RAM + 0x5200,
                              RAM + 0x8000, end - 0x200, end - 0x100, end - 8 };
    enum { N = sizeof(node) / sizeof(node[0]) };
    uint64_t sum = 0;
    for (unsigned i = 0; i < N; i++) {
        put64(e, node[i], i + 1 < N ? node[i + 1] : 0);
        if (i + 1 < N) {
            put64(e, node[i] + 8, 0x1111ULL << i);
            sum += 0x1111ULL << i;
        }
    }
    hart_set_x(e->h, 10, node[0]);
    run_block(e, prog, sizeof(prog) / 4);
    assert_int_equal(e->h->mcause, EXC_LOAD_ACCESS);
    assert_int_equal(e->h->mepc, RAM);
    assert_int_equal(hart_get_x(e->h, 10), end - 8);
    assert_int_equal(hart_get_x(e->h, 11), sum);
}

/* A site cache is good until the TLB is flushed: S-mode sums a word at
 * VA 0x1000 three times in a loop, the page-table entry is changed to
 * another physical page (with the TLB flushed, as SFENCE.VMA does), and
 * the same block runs again: it must read the new page, not the page
 * its site held at the end of the first run. */
static void test_jit_site_cache_emptied_at_entry(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    uint64_t l0 = RAM + 0x102000;
    pmp_update_all(e);
    map_sv39(e, 0x1 | 0x2 | 0x40);                      /* VA 0x1000 -> RAM + 0x10000, R */
    put64(e, l0 + 2 * 8, ((RAM >> 12) << 10) | 0x1 | 0x2 | 0x8 | 0x40);   /* VA 0x2000: code */
    put64(e, RAM + 0x10000, 5);
    put64(e, RAM + 0x11000, 7);
    static const uint32_t prog[] = {
        0x00053283,   /* loop: ld t0,0(a0) */
        0x005585b3,   /* add a1,a1,t0 */
        0xfff60613,   /* addi a2,a2,-1 */
        0xfe061ae3,   /* bnez a2,loop */
        0x00100073,   /* ebreak */
    };
    for (unsigned i = 0; i < sizeof(prog) / 4; i++)
        put32(e, RAM + 4 * i, prog[i]);
    put32(e, RAM + 0x3000, 0x0000006f);  /* M-mode handler: j . */
    h->mtvec = RAM + 0x3000;
    h->jit_hot = 1;
    for (unsigned pass = 0; pass < 2; pass++) {
        if (pass) {
            put64(e, l0 + 1 * 8, (((RAM + 0x11000) >> 12) << 10) | 0x1 | 0x2 | 0x40);
            h->priv = PRV_S;
            tlb_flush_all(h);
            hart_update_mode(h);
        }
        hart_set_x(h, 10, 0x1000);
        hart_set_x(h, 11, 0);
        hart_set_x(h, 12, 3);
        h->pc = 0x2000;
        hart_run(h, 10000);
        assert_int_equal(h->mcause, EXC_BREAKPOINT);
        assert_int_equal(h->mepc, 0x2010);
        assert_int_equal(hart_get_x(h, 11), pass ? 21 : 15);
    }
    assert_true(translated_at(e, RAM));
}

/* Sets up S-mode code at VA 0x2000 (RAM) that adds the word at VA 0x1000
 * (`flags`: its PTE's, to RAM + 0x10000, which holds 5; RAM + 0x11000
 * holds 7) to a1 and spins in S-mode at 0x2008, so that runs of the block
 * at 0x2000 follow each other with no trap and no change of privilege. */
static void site_setup(struct env *e, uint64_t flags)
{
    static const uint32_t prog[] = {
        0x00053283,   /* ld t0,0(a0) */
        0x005585b3,   /* add a1,a1,t0 */
        0x0000006f,   /* j . */
    };
    pmp_update_all(e);
    map_sv39(e, flags);
    put64(e, RAM + 0x102000 + 2 * 8, ((RAM >> 12) << 10) | 0x1 | 0x2 | 0x8 | 0x40);
    put64(e, RAM + 0x10000, 5);
    put64(e, RAM + 0x11000, 7);
    for (unsigned i = 0; i < sizeof(prog) / 4; i++)
        put32(e, RAM + 4 * i, prog[i]);
    put32(e, RAM + 0x3000, 0x0000006f);  /* M-mode handler: j . */
    e->h->mtvec = RAM + 0x3000;
    e->h->jit_hot = 1;
}

/* One run of site_setup's block from 0x2000 with a0 = 0x1000, a1 = 0. */
static void site_run(struct env *e)
{
    hart_set_x(e->h, 10, 0x1000);
    hart_set_x(e->h, 11, 0);
    e->h->pc = 0x2000;
    hart_run(e->h, 1000);
}

/* A block's site caches are kept from one run to the next (a block that
 * does not loop has them too), until the TLB is flushed: after three
 * runs read VA 0x1000's page, its PTE is changed to another physical
 * page and SFENCE.VMA of the address runs; the next run must read the
 * new page, not the one its site held; then the same back, with the
 * whole TLB flushed. */
static void test_jit_site_cache_kept_until_sfence(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    site_setup(e, 0x1 | 0x2 | 0x40);
    for (unsigned i = 0; i < 3; i++) {
        site_run(e);
        assert_int_equal(hart_get_x(h, 11), 5);
        assert_int_equal(h->priv, PRV_S);
        assert_int_equal(h->pc, 0x2008);
    }
    assert_true(translated_at(e, RAM));
    put64(e, RAM + 0x102000 + 1 * 8, (((RAM + 0x11000) >> 12) << 10) | 0x1 | 0x2 | 0x40);
    tlb_flush_page(h, 0x1000);
    for (unsigned i = 0; i < 3; i++) {   /* the second fills the site again */
        site_run(e);
        assert_int_equal(hart_get_x(h, 11), 7);
    }
    /* Back, with the whole TLB flushed (a satp or PMP write). */
    put64(e, RAM + 0x102000 + 1 * 8, (((RAM + 0x10000) >> 12) << 10) | 0x1 | 0x2 | 0x40);
    tlb_flush_all(h);
    site_run(e);
    assert_int_equal(hart_get_x(h, 11), 5);
}

/* One pass of the store loop at VA 0x2100: sd a1 (`v`) to `va`. */
static void store_loop_run(struct env *e, uint64_t va, uint64_t v)
{
    hart_set_x(e->h, 10, va);
    hart_set_x(e->h, 11, v);
    hart_set_x(e->h, 12, 1);
    e->h->pc = 0x2100;
    hart_run(e->h, 1000);
}

/* Blocks share site slots (the ring wraps), but a store must never find
 * a load's: S-mode code stores to a writable page at VA 0x3000 from one
 * block (a loop, one pass a run: only a looping block's stores take
 * sites), then reads a read-only page at VA 0x1000 from another that takes
 * the same slots (the ring's cursor set back for each), until its site
 * holds that page; then the first block stores to VA 0x1000.  The store
 * must raise a store page fault and leave the page as it was; through
 * the load's addend it would write a page the guest cannot (copy-on-write
 * after fork). */
static void test_jit_store_site_apart_from_loads(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    site_setup(e, 0x1 | 0x2 | 0x40);   /* V R A: read-only */
    put64(e, RAM + 0x102000 + 3 * 8, (((RAM + 0x12000) >> 12) << 10) | 0xc7);   /* VA 0x3000: RW */
    put32(e, RAM + 0x100, 0x00b53023);   /* loop: sd a1,0(a0) */
    put32(e, RAM + 0x104, 0xfff60613);   /* addi a2,a2,-1 */
    put32(e, RAM + 0x108, 0xfe061ce3);   /* bnez a2,loop */
    put32(e, RAM + 0x10c, 0x0000006f);   /* j . */
    h->dc->jit_site_next = 0;
    for (unsigned i = 0; i < 3; i++) {
        store_loop_run(e, 0x3000, 0x1234 + i);
        assert_int_equal(h->pc, 0x210c);
        assert_int_equal(get64(e, RAM + 0x12000), 0x1234 + i);
    }
    assert_true(translated_at(e, RAM + 0x100));
    h->dc->jit_site_next = 0;
    for (unsigned i = 0; i < 3; i++) {
        site_run(e);
        assert_int_equal(hart_get_x(h, 11), 5);
    }
    assert_true(translated_at(e, RAM));
    store_loop_run(e, 0x1000, 0x1234);
    assert_int_equal(h->mcause, EXC_STORE_PAGE);
    assert_int_equal(h->mepc, 0x2100);
    assert_int_equal(get64(e, RAM + 0x10000), 5);
}

/* Runs the block at VA `pc` three times (the first fills the TLB, the
 * second the block's sites) with a0 = 0x1000, a2 = 0x3000, a1 = 0. */
static void site_runs(struct env *e, uint64_t pc, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        hart_set_x(e->h, 10, 0x1000);
        hart_set_x(e->h, 12, 0x3000);
        hart_set_x(e->h, 11, 0);
        e->h->pc = pc;
        hart_run(e->h, 1000);
    }
}

/* When the ring of site slots wraps, a block may start its run where a
 * block of the last lap, still translated, started a shorter one.  That
 * block's refresh after a TLB flush must not pass for the new one's:
 * block A (one load) takes the ring's start, block B (two loads) takes
 * it again on the next lap; B fills both its sites, VA 0x3000 is mapped
 * to another page (SFENCE.VMA of it), A runs (its head refreshes the
 * shared header), then B runs: its second load must read the new page,
 * not the one its slot (beyond A's run) held. */
static void test_jit_site_header_tagged_by_lap(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    site_setup(e, 0x1 | 0x2 | 0x40);
    put64(e, RAM + 0x102000 + 3 * 8, (((RAM + 0x12000) >> 12) << 10) | 0x1 | 0x2 | 0x40);
    put64(e, RAM + 0x12000, 100);
    put64(e, RAM + 0x13000, 200);
    put32(e, RAM + 0x100, 0x00053583);   /* A: ld a1,0(a0) */
    put32(e, RAM + 0x104, 0x0000006f);   /*    j . */
    put32(e, RAM + 0x200, 0x00053283);   /* B: ld t0,0(a0) */
    put32(e, RAM + 0x204, 0x00063303);   /*    ld t1,0(a2) */
    put32(e, RAM + 0x208, 0x006285b3);   /*    add a1,t0,t1 */
    put32(e, RAM + 0x20c, 0x0000006f);   /*    j . */
    h->dc->jit_site_next = 0;
    site_runs(e, 0x2100, 3);
    assert_true(translated_at(e, RAM + 0x100));
    assert_int_equal(hart_get_x(h, 11), 5);
    h->dc->jit_site_next = JIT_SITES;    /* B's run wraps to the start */
    site_runs(e, 0x2200, 3);
    assert_true(translated_at(e, RAM + 0x200));
    assert_int_equal(hart_get_x(h, 11), 105);
    put64(e, RAM + 0x102000 + 3 * 8, (((RAM + 0x13000) >> 12) << 10) | 0x1 | 0x2 | 0x40);
    tlb_flush_page(h, 0x3000);
    site_runs(e, 0x2100, 1);
    assert_int_equal(hart_get_x(h, 11), 5);
    site_runs(e, 0x2200, 1);
    assert_int_equal(hart_get_x(h, 11), 205);
    assert_int_equal(h->pc, 0x220c);
}

/* The sites' epoch starts again at 1 after 2^23 moves: no header
 * written at an old epoch 1 may pass then.  The block at VA 0x2000 fills
 * its site at epoch 1, VA 0x1000 is mapped to another page, and the
 * SFENCE.VMA of it is the move that wraps the epoch: the next run must
 * read the new page. */
static void test_jit_site_epoch_wraps(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    site_setup(e, 0x1 | 0x2 | 0x40);
    h->jit_site_epoch = 1;
    for (unsigned i = 0; i < 3; i++) {
        site_run(e);
        assert_int_equal(hart_get_x(h, 11), 5);
    }
    assert_true(translated_at(e, RAM));
    assert_int_equal(h->jit_site_epoch, 1);
    put64(e, RAM + 0x102000 + 1 * 8, (((RAM + 0x11000) >> 12) << 10) | 0x1 | 0x2 | 0x40);
    h->jit_site_epoch = (1u << JIT_SITE_EPOCH_BITS) - 1;
    tlb_flush_page(h, 0x1000);
    assert_int_equal(h->jit_site_epoch, 1);
    site_run(e);
    assert_int_equal(hart_get_x(h, 11), 7);
}

/* A store's site kept from earlier runs must not outlive its page
 * becoming code: M-mode stores `addi a0,a0,1; ret` to RAM + 0x5000 with
 * a group of two stores in a loop that makes one pass a run (its site
 * filled on the second of three runs),
 * calls it after FENCE.I (the page is decoded: its store entry goes),
 * then stores `addi a0,a0,2` there with the same block and calls it
 * again.  Through the site, the store would write behind the decoded
 * page's back (a hart alone in its cache skips FENCE.I's revalidation),
 * and the call would add 1. */
static void test_jit_store_site_into_code(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    static const uint32_t prog[] = {
        0x00542023,   /* 0x00: loop: sw t0,0(s0) */
        0x00642223,   /* 0x04: sw t1,4(s0) */
        0xfff60613,   /* 0x08: addi a2,a2,-1 */
        0xfe061ae3,   /* 0x0c: bnez a2,loop (one pass a run) */
        0x0000006f,   /* 0x10: j . */
        0x0000100f,   /* 0x14: fence.i */
        0x000400e7,   /* 0x18: jalr ra,0(s0) */
        0x0000006f,   /* 0x1c: j . */
    };
    for (unsigned i = 0; i < sizeof(prog) / 4; i++)
        put32(e, RAM + 4 * i, prog[i]);
    put32(e, RAM + 0x3000, 0x0000006f);   /* trap handler: j . */
    h->mtvec = RAM + 0x3000;
    h->jit_hot = 1;
    hart_set_x(h, 8, RAM + 0x5000);
    hart_set_x(h, 6, 0x00008067);         /* ret */
    hart_set_x(h, 10, 0);
    for (unsigned k = 1; k <= 2; k++) {
        hart_set_x(h, 5, 0x00050513 | k << 20);   /* addi a0,a0,k */
        for (unsigned i = 0; i < 3; i++) {
            hart_set_x(h, 12, 1);
            h->pc = RAM;
            hart_run(h, 1000);
            assert_int_equal(h->pc, RAM + 0x10);
        }
        h->pc = RAM + 0x14;
        hart_run(h, 1000);
        assert_int_equal(h->pc, RAM + 0x1c);
    }
    assert_true(translated_at(e, RAM));
    assert_int_equal(hart_get_x(h, 10), 1 + 2);
}

/* A site filled through the data set of S-mode with sstatus.SUM = 1 (a
 * user page, readable then) must not serve the same block after SUM is
 * cleared: the load must raise a load page fault. */
static void test_jit_site_cache_emptied_at_set_change(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    site_setup(e, 0x1 | 0x2 | 0x10 | 0x40);   /* V R U A */
    h->mstatus |= MSTATUS_SUM;
    hart_update_mode(h);
    for (unsigned i = 0; i < 3; i++) {
        site_run(e);
        assert_int_equal(hart_get_x(h, 11), 5);
        assert_int_equal(h->pc, 0x2008);
    }
    assert_true(translated_at(e, RAM));
    h->mstatus &= ~MSTATUS_SUM;
    hart_update_mode(h);
    site_run(e);
    assert_int_equal(h->mcause, EXC_LOAD_PAGE);
    assert_int_equal(h->mepc, 0x2000);
    assert_int_equal(hart_get_x(h, 11), 0);
}

/* A block with a CSR instruction takes no site caches: its loop loads a
 * user page at VA 0x1000 in S-mode with sstatus.SUM set, then clears SUM
 * (csrc sstatus, in the block).  After runs that keep SUM (t1 = 0) warm
 * the TLB and the load's site, a run of two passes with t1 = SUM must
 * fault on the second pass's load; a site filled on the first would
 * serve it. */
static void test_jit_csr_block_takes_no_sites(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    static const uint32_t prog[] = {
        0x00053283,   /* loop: ld t0,0(a0) */
        0x10033073,   /* csrc sstatus,t1 */
        0xfff60613,   /* addi a2,a2,-1 */
        0xfe061ae3,   /* bnez a2,loop */
        0x0000006f,   /* j . */
    };
    site_setup(e, 0x1 | 0x2 | 0x10 | 0x40);   /* V R U A */
    for (unsigned i = 0; i < sizeof(prog) / 4; i++)
        put32(e, RAM + 4 * i, prog[i]);
    h->mstatus |= MSTATUS_SUM;
    hart_update_mode(h);
    for (unsigned i = 0; i < 4; i++) {
        bool last = i == 3;
        hart_set_x(h, 10, 0x1000);
        hart_set_x(h, 5, 0);
        hart_set_x(h, 6, last ? MSTATUS_SUM : 0);
        hart_set_x(h, 12, last ? 2 : 1);
        h->pc = 0x2000;
        hart_run(h, 1000);
        if (!last) {
            assert_int_equal(h->pc, 0x2010);
            assert_int_equal(hart_get_x(h, 5), 5);
        }
    }
    assert_true(translated_at(e, RAM));
    assert_int_equal(h->mcause, EXC_LOAD_PAGE);
    assert_int_equal(h->mepc, 0x2000);
    assert_int_equal(hart_get_x(h, 12), 1);
}

/* MULH, MULHU and MULHSU translated inline (MUL/IMUL's rdx, and the
 * MULHSU correction) against 128-bit C arithmetic, on sign and size
 * edges, with the operands held in host registers and rd = rs1 last. */
static void test_jit_mul_high(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x02b51633,   /* mulh a2,a0,a1 */
        0x02b536b3,   /* mulhu a3,a0,a1 */
        0x02b52733,   /* mulhsu a4,a0,a1 */
        0x02a5a7b3,   /* mulhsu a5,a1,a0 */
        0x02b52533,   /* mulhsu a0,a0,a1 */
        0x00100073,   /* ebreak */
    };
    static const uint64_t v[] = {
        0, 1, 2, 3, ~0ULL, ~0ULL - 1, 1ULL << 63, (1ULL << 63) - 1, (1ULL << 63) + 1,
        0xffffffffULL, 1ULL << 32, 0x0123456789abcdefULL, 0xfedcba9876543210ULL,
    };
    const unsigned n = sizeof(v) / sizeof(v[0]);
    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = 0; j < n; j++) {
            uint64_t a = v[i], c = v[j];
            hart_set_x(e->h, 10, a);
            hart_set_x(e->h, 11, c);
            run_block_to_ebreak(e, prog, sizeof(prog) / 4, 0x14);
            uint64_t hs = (uint64_t)(((__int128)(int64_t)a * (int64_t)c) >> 64);
            uint64_t hu = (uint64_t)(((unsigned __int128)a * c) >> 64);
            uint64_t hsu = (uint64_t)(((__int128)(int64_t)a * (__int128)c) >> 64);
            uint64_t hsu2 = (uint64_t)(((__int128)(int64_t)c * (__int128)a) >> 64);
            assert_int_equal(hart_get_x(e->h, 12), hs);
            assert_int_equal(hart_get_x(e->h, 13), hu);
            assert_int_equal(hart_get_x(e->h, 14), hsu);
            assert_int_equal(hart_get_x(e->h, 15), hsu2);
            assert_int_equal(hart_get_x(e->h, 10), hsu);
            assert_int_equal(hart_get_x(e->h, 11), c);
        }
    }
}

/* An indirect call whose target changes every pass, translated: JALR
 * leaves through the chain stub, which must enter whichever block the
 * new target is (F1 on even t0, F2 on odd), and the returns come back
 * the same way. */
static void test_jit_indirect_target_changes(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0xfff28293,   /* A 0x00: addi t0,t0,-1 */
        0x04028e63,   /* 0x04: beqz t0,END */
        0x0012f393,   /* 0x08: andi t2,t0,1 */
        0x00439393,   /* 0x0c: slli t2,t2,4 */
        0x00730e33,   /* 0x10: add t3,t1,t2: F1 or F2 */
        0x000e00e7,   /* 0x14: jalr ra,0(t3) */
        0xfe9ff06f,   /* 0x18: j A */
        0x00000013, 0x00000013, 0x00000013, 0x00000013,   /* 0x1c-0x28 */
        0x00000013, 0x00000013, 0x00000013, 0x00000013,   /* 0x2c-0x38 */
        0x00000013,   /* 0x3c */
        0x00150513,   /* F1 0x40: addi a0,a0,1 */
        0x00008067,   /* 0x44: ret */
        0x00000013, 0x00000013,
        0x00158593,   /* F2 0x50: addi a1,a1,1 */
        0x00008067,   /* 0x54: ret */
        0x00000013, 0x00000013,
        0x00100073,   /* END 0x60: ebreak */
    };
    hart_set_x(e->h, 5, 21);
    hart_set_x(e->h, 6, RAM + 0x40);
    run_block_to_ebreak(e, prog, sizeof(prog) / 4, 0x60);
    assert_true(translated_at(e, RAM + 0x40));
    assert_true(translated_at(e, RAM + 0x50));
    assert_true(translated_at(e, RAM + 0x18));
    assert_int_equal(hart_get_x(e->h, 10), 10);     /* t0 = 20, 18, ..., 2 */
    assert_int_equal(hart_get_x(e->h, 11), 10);     /* t0 = 19, 17, ..., 1 */
    assert_int_equal(hart_get_x(e->h, 5), 0);
}

/* Code changed behind the hart's back (another hart's store, device DMA:
 * here a write to memory not through this hart) after it was translated:
 * FENCE.I makes this hart run the new code (Zifencei). */
/* Translate `li a0,1; ebreak` at page 0 and run it, then change it to
 * `li a0,2` behind the hart's back. */
static void translate_then_change(struct env *e)
{
    static const uint32_t prog[] = {
        0x00100513,   /* 0x00: li a0,1 (becomes li a0,2) */
        0x00100073,   /* 0x04: ebreak */
    };
    run_block_to_ebreak(e, prog, sizeof(prog) / 4, 0x04);
    assert_int_equal(hart_get_x(e->h, 10), 1);
    assert_true(translated_at(e, RAM));
    put32(e, RAM + 0x00, 0x00200513);   /* li a0,2 */
}

static void test_jit_fence_i_retranslates(void **state)
{
    struct env *e = *state;
    translate_then_change(e);
    /* In a page this hart has not decoded: its snapshot of page 0 would
     * hold no instructions at 0x100. */
    put32(e, RAM + 0x1000, 0x0000100f);  /* fence.i */
    put32(e, RAM + 0x1004, 0xffdfe06f);  /* j 0x00 */
    e->h->pc = RAM + 0x1000;
    hart_run(e->h, 10000);
    assert_int_equal(e->h->mcause, EXC_BREAKPOINT);
    assert_int_equal(e->h->mepc, RAM + 0x04);
    assert_int_equal(hart_get_x(e->h, 10), 2);
    assert_true(translated_at(e, RAM));   /* translated again, from the new bytes */
}

/* As above, but the changed page is entered from translated code, through
 * the chain stub: FENCE.I keeps the fetch-TLB entries, so the stub must see
 * that page 0 has not been revalidated since and leave to the
 * interpreter, not run page 0's old translation. */
static void test_jit_fence_i_via_chain_stub(void **state)
{
    struct env *e = *state;
    translate_then_change(e);
    put32(e, RAM + 0x1000, 0x0000100f);  /* fence.i */
    put32(e, RAM + 0x1004, 0x00000013);  /* nop: a block starts here */
    put32(e, RAM + 0x1008, 0xff9fe06f);  /* j 0x00: leaves it by the stub */
    e->h->jit_hot = 1;
    e->h->pc = RAM + 0x1000;
    hart_run(e->h, 10000);
    assert_int_equal(e->h->mcause, EXC_BREAKPOINT);
    assert_int_equal(e->h->mepc, RAM + 0x04);
    assert_true(translated_at(e, RAM + 0x1004));
    assert_int_equal(hart_get_x(e->h, 10), 2);
}

/* The jump-cache tests' pieces: eight calls through t1 adding a0 to a1
 * (li t0,8; loop: jalr ra,0(t1); add a1,a1,a0; addi t0,t0,-1;
 * bnez t0,loop), and functions `li a0,v; ret`. */
static const uint32_t call8[] = { 0x00800293, 0x000300e7, 0x00a585b3, 0xfff28293, 0xfe029ae3 };
#define CALL8_WORDS 5

static void put_words(struct env *e, uint64_t gpa, const uint32_t *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        put32(e, gpa + 4 * i, w[i]);
}

static void put_li_ret(struct env *e, uint64_t gpa, unsigned v)
{
    put32(e, gpa, v << 20 | 0x00000513);   /* li a0,v */
    put32(e, gpa + 4, 0x00008067);          /* ret */
}

/* The calls to `pc` went through the cache: its entry is there, current. */
static void assert_jcache_holds(const struct hart *h, uint64_t pc)
{
    const struct jc_entry *c = &h->jcache[(pc >> 1) % JC_SIZE];
    assert_int_equal(c->vpc, pc);
    assert_int_equal(c->epoch, h->jc_epoch);
}

/* Calls through the chain stub find their block in the jump cache
 * (h->jcache, jit_x86_64.c).  A function on page 0, called eight times
 * from page 1 by JALR (and returned from by JALR), is changed behind the
 * hart's back; the caller then runs FENCE.I and calls it eight times
 * more: every one of those must run the new code, not the block the
 * cache still names. */
static void test_jit_jump_cache_fence_i(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    put_li_ret(e, RAM, 1);                 /* F (li a0,1 becomes li a0,2) */
    put_words(e, RAM + 0x1000, call8, CALL8_WORDS);
    put32(e, RAM + 0x1014, 0x00100073);   /* ebreak */
    put32(e, RAM + 0x2000, 0x0000100f);   /* fence.i, then the same */
    put_words(e, RAM + 0x2004, call8, CALL8_WORDS);
    put32(e, RAM + 0x2018, 0x00100073);   /* ebreak */
    put32(e, RAM + 0x3000, 0x0000006f);   /* j . */
    h->mtvec = RAM + 0x3000;
    h->jit_hot = 1;
    hart_set_x(h, 6, RAM);
    h->pc = RAM + 0x1000;
    hart_run(h, 10000);
    assert_int_equal(h->mcause, EXC_BREAKPOINT);
    assert_int_equal(hart_get_x(h, 11), 8);
    assert_jcache_holds(h, RAM);
    put32(e, RAM, 0x00200513);            /* li a0,2 */
    hart_set_x(h, 11, 0);
    h->mcause = 0;
    h->pc = RAM + 0x2000;
    hart_run(h, 10000);
    assert_int_equal(h->mcause, EXC_BREAKPOINT);
    assert_int_equal(h->mepc, RAM + 0x2018);
    assert_int_equal(hart_get_x(h, 11), 16);
}

/* The same through a mapping: S-mode code at VA 0x2000 calls VA 0x1000
 * eight times, rewrites the page-table entry of VA 0x1000 to another
 * physical page, runs SFENCE.VMA and calls it eight times more, all in
 * one run (no trap that would change the privilege in between): the
 * cache must not keep the old page's block. */
static void test_jit_jump_cache_sfence_vma(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    uint64_t l0 = RAM + 0x102000;
    pmp_update_all(e);
    map_sv39(e, 0x1 | 0x2 | 0x8 | 0x40);               /* VA 0x1000 -> RAM + 0x10000, RX */
    put64(e, l0 + 2 * 8, ((RAM >> 12) << 10) | 0x1 | 0x2 | 0x8 | 0x40);   /* VA 0x2000: code */
    put64(e, l0 + 3 * 8, ((l0 >> 12) << 10) | 0xc7);   /* VA 0x3000: the table, RW */
    put_li_ret(e, RAM + 0x10000, 1);                    /* A */
    put_li_ret(e, RAM + 0x11000, 2);                    /* B */
    put_words(e, RAM, call8, CALL8_WORDS);              /* 0x00-0x10 */
    put32(e, RAM + 0x14, 0x01ceb423);    /* sd t3,8(t4): VA 0x1000 -> B */
    put32(e, RAM + 0x18, 0x12000073);    /* sfence.vma */
    put_words(e, RAM + 0x1c, call8, CALL8_WORDS);       /* 0x1c-0x2c */
    put32(e, RAM + 0x30, 0x00100073);    /* ebreak */
    put32(e, RAM + 0x3000, 0x0000006f);  /* M-mode handler: j . */
    h->mtvec = RAM + 0x3000;
    h->jit_hot = 1;
    hart_set_x(h, 6, 0x1000);
    hart_set_x(h, 28, (((RAM + 0x11000) >> 12) << 10) | 0x1 | 0x2 | 0x8 | 0x40);
    hart_set_x(h, 29, 0x3000);
    h->pc = 0x2000;
    hart_run(h, 10000);
    assert_int_equal(h->mcause, EXC_BREAKPOINT);
    assert_int_equal(h->mepc, 0x2030);
    assert_int_equal(hart_get_x(h, 11), 8 * 1 + 8 * 2);
}

/* And through a change of privilege: S-mode calls VA RAM + 0x20000,
 * mapped to function A, then ECALLs; the M-mode handler calls address
 * RAM + 0x20000 too, which untranslated is function C.  The handler
 * must run C, not the block the cache holds for S-mode's A. */
static void test_jit_jump_cache_privilege(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    uint64_t l1b = RAM + 0x103000, l0b = RAM + 0x104000, va = RAM + 0x20000;
    pmp_update_all(e);
    map_sv39(e, 0x1 | 0x2 | 0x40);
    put64(e, RAM + 0x102000 + 2 * 8, ((RAM >> 12) << 10) | 0x1 | 0x2 | 0x8 | 0x40);
    put64(e, RAM + 0x100000 + ((va >> 30) & 511) * 8, ((l1b >> 12) << 10) | 1);
    put64(e, l1b + ((va >> 21) & 511) * 8, ((l0b >> 12) << 10) | 1);
    put64(e, l0b + ((va >> 12) & 511) * 8, (((RAM + 0x10000) >> 12) << 10) | 0x1 | 0x2 | 0x8 | 0x40);
    put_li_ret(e, RAM + 0x10000, 1);      /* A */
    put_li_ret(e, RAM + 0x20000, 3);      /* C */
    put_words(e, RAM, call8, CALL8_WORDS);
    put32(e, RAM + 0x14, 0x00000073);     /* ecall */
    put32(e, RAM + 0x3000, 0x000300e7);   /* M handler: jalr ra,0(t1) */
    put32(e, RAM + 0x3004, 0x00a60633);   /* add a2,a2,a0 */
    put32(e, RAM + 0x3008, 0x0000006f);   /* j . */
    h->mtvec = RAM + 0x3000;
    h->jit_hot = 1;
    hart_set_x(h, 6, va);
    h->pc = 0x2000;
    hart_run(h, 10000);
    assert_int_equal(h->mcause, EXC_ECALL_S);
    assert_int_equal(h->priv, PRV_M);
    assert_int_equal(hart_get_x(h, 11), 8);
    assert_int_equal(hart_get_x(h, 12), 3);
}

/* Does the translated code at `code` (its first 512 bytes) hold a
 * patched jmp rel32 to `entry`? */
static bool jumps_to(const uint8_t *code, const uint8_t *entry)
{
    for (const uint8_t *p = code; p < code + 512; p++) {
        int32_t rel;
        memcpy(&rel, p + 1, 4);
        if (p[0] == 0xe9 && p + 5 + rel == entry)
            return true;
    }
    return false;
}

/* A block that runs into the start of another translated block ends there
 * with a linked exit: after one pass its code jumps straight into the
 * other block's chained entry, where it used to hand over to the
 * interpreter and be called back in on every pass. */
static void test_jit_runs_into_translated_block(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    put32(e, RAM + 0x00, 0x00150513);   /* addi a0,a0,1 */
    put32(e, RAM + 0x04, 0x00250513);   /* B: addi a0,a0,2 */
    put32(e, RAM + 0x08, 0x00100073);   /* ebreak */
    h->jit_hot = 1;
    h->pc = RAM + 0x04;                 /* B first */
    run_until_ebreak(e);
    assert_int_equal(hart_get_x(h, 10), 2);
    h->pc = RAM;                        /* then A, which runs into B */
    run_until_ebreak(e);
    assert_int_equal(hart_get_x(h, 10), 5);
    const uint8_t *a = slot_code(e, RAM), *bfn = slot_code(e, RAM + 0x04);
    assert_non_null(a);
    assert_non_null(bfn);
    assert_true(jumps_to(a, bfn + h->dc->jit_prologue));
    h->pc = RAM;
    run_until_ebreak(e);
    assert_int_equal(hart_get_x(h, 10), 8);
}

/* A loop entered at its test (j test; body: ...; test: bne ..., body):
 * the test's block is translated first, and the body's block goes on
 * through the test's start, since that closes its loop, instead of
 * leaving into the test's block on every pass. */
static void test_jit_loop_through_its_test(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    put32(e, RAM + 0x00, 0x00c0006f);   /* j test */
    put32(e, RAM + 0x04, 0x00150513);   /* body: addi a0,a0,1 */
    put32(e, RAM + 0x08, 0x00258593);   /* addi a1,a1,2 */
    put32(e, RAM + 0x0c, 0xfe551ce3);   /* test: bne a0,t0,body */
    put32(e, RAM + 0x10, 0x00100073);   /* ebreak */
    h->jit_hot = 1;
    hart_set_x(h, 5, 1000);
    run_until_ebreak(e);
    assert_int_equal(hart_get_x(h, 10), 1000);
    assert_int_equal(hart_get_x(h, 11), 2000);
    const uint8_t *body = slot_code(e, RAM + 0x04), *test = slot_code(e, RAM + 0x0c);
    assert_non_null(body);
    assert_non_null(test);
    assert_false(jumps_to(body, test + h->dc->jit_prologue));
    /* Again, all of it translated now: the same values and count. */
    hart_set_x(h, 10, 0);
    hart_set_x(h, 11, 0);
    h->pc = RAM;
    uint64_t before = hart_instret(h);
    run_until_ebreak(e);
    assert_int_equal(hart_get_x(h, 10), 1000);
    assert_int_equal(hart_get_x(h, 11), 2000);
    assert_int_equal(hart_instret(h) - before, 1 + 1001 + 2 * 1000);   /* j, bne, body */
}

/* A block that branches back to its own start keeps its registers held
 * round the loop; a load fault in its sixth iteration still finds h->x[]
 * exact. */
static void test_jit_regs_fault_inside_loop(void **state)
{
    struct env *e = *state;
    static const uint32_t prog[] = {
        0x00150513,   /* loop: addi a0,a0,1 */
        0x00a585b3,   /* add a1,a1,a0 */
        0x0006b603,   /* ld a2,0(a3): the sixth runs off the end of RAM */
        0x00868693,   /* addi a3,a3,8 */
        0xfe5518e3,   /* bne a0,t0,loop */
        0x00100073,   /* ebreak */
    };
    const uint64_t end = RAM + (16 << 20);
    put64(e, end - 8, 0x1234);
    hart_set_x(e->h, 5, 1000);
    hart_set_x(e->h, 13, end - 5 * 8);
    run_block(e, prog, sizeof(prog) / 4);
    assert_int_equal(e->h->mcause, EXC_LOAD_ACCESS);
    assert_int_equal(e->h->mepc, RAM + 8);
    assert_int_equal(hart_get_x(e->h, 10), 6);
    assert_int_equal(hart_get_x(e->h, 11), 21);
    assert_int_equal(hart_get_x(e->h, 12), 0x1234);
    assert_int_equal(hart_get_x(e->h, 13), end);
}

/* The jump back to a looping block's start stops when the budget is
 * spent and leaves the held registers stored. */
static void test_jit_regs_loop_keeps_budget(void **state)
{
    struct env *e = *state;
    put32(e, RAM + 0x00, 0x00150513);   /* loop: addi a0,a0,1 */
    put32(e, RAM + 0x04, 0x00258593);   /* addi a1,a1,2 */
    put32(e, RAM + 0x08, 0xfe551ce3);   /* bne a0,t0,loop */
    hart_set_x(e->h, 5, 1ULL << 40);
    e->h->jit_hot = 1;
    uint64_t total = 0;
    for (int i = 0; i < 50; i++) {
        uint64_t ran = hart_interp(e->h, 1000);
        assert_true(ran >= 1000 && ran < 1000 + JIT_MAX_INSNS + 2);
        total += ran;
        uint64_t a0 = hart_get_x(e->h, 10), a1 = hart_get_x(e->h, 11);
        assert_true(a1 == 2 * a0 || a1 + 2 == 2 * a0);
        assert_true(3 * a0 >= total && 3 * a0 <= total + 2);
    }
    assert_true(translated_at(e, RAM));
    assert_int_equal(hart_instret(e->h), total);
}

/* A block made of nothing but the most expensive instruction to
 * translate still fits what jit_translate reserves for a block. */
static void test_jit_block_size_bound(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    if (!h->jit_enabled)
        skip();
    static const uint32_t worst[] = {
        0x18bb3e2f,   /* sc.d t3,a1,(s6) */
        0x100b332f,   /* lr.d t1,(s6) */
        0x20ba372f,   /* amoxor.d a4,a1,(s4) */
        0x10032073,   /* csrs sstatus,t1 (after a first nop: not a block start) */
        0x0002b503,   /* ld a0,0(t0) */
        0x203170c3,   /* fmadd.s f1,f2,f3,f4 (dynamic rm: inline fast path and call) */
        0x00152427,   /* fsw f1,8(a0) */
    };
    enum { NWORST = sizeof(worst) / sizeof(worst[0]) };
    h->mstatus |= MSTATUS_FS;
    /* Each four times: as it is; with its rd cycling over eight
     * registers its sources are not (eight held registers, dirty at
     * every slow path: each one stores and reloads them all); the same
     * with an addiw to the next of them before each (a W result held
     * unextended: every store of it sign-extends it first); and the
     * second again as a loop, a jump back to the start as its last
     * instruction (its loads and stores take site caches). */
    for (unsigned k = 0; k < 4 * NWORST; k++) {
        uint64_t page = RAM + 0x200000 + k * 4096ULL;
        uint32_t insn = worst[k % NWORST];
        unsigned round = k / NWORST;
        for (unsigned w = 0; w < 1024; w++) {
            uint32_t rd = (round == 0 ? insn >> 7 : 12 + w % 8) & 31;   /* a2..a7, s2, s3 */
            uint32_t word = (insn & ~0xf80u) | rd << 7;
            if (round == 2 && w % 2)
                word = 0x0010001b | rd << 15 | rd << 7;                 /* addiw rd,rd,1 */
            put32(e, page + 4 * w, w ? word : 0x00000013);   /* nop first */
            /* The F/D ones write no integer register: eight addiw
             * first, and eight more at the end of the block (a later
             * use keeps them held), make eight held registers dirty
             * (unextended W results in the third round) for all their
             * calls. */
            bool fp = k % NWORST >= 5;
            if (round && fp && w >= 1 && w <= 8)
                put32(e, page + 4 * w, 0x0010001b | (11 + w) << 15 | (11 + w) << 7);
            if (round && fp && w >= JIT_MAX_INSNS - 8 && w < JIT_MAX_INSNS) {
                uint32_t r = 12 + (w - (JIT_MAX_INSNS - 8));
                put32(e, page + 4 * w, 0x0010001b | r << 15 | r << 7);
            }
            if (round == 2 && fp && w > 8 && w < JIT_MAX_INSNS - 8)
                put32(e, page + 4 * w, insn);   /* the F/D one itself, no addiw between */
            if (round == 3 && w == JIT_MAX_INSNS - 1) {   /* j to the block's start */
                uint32_t o = -4u * w;
                put32(e, page + 4 * w, 0x6f | (o >> 20 & 1) << 31 | (o >> 1 & 0x3ff) << 21 |
                                       (o >> 11 & 1) << 20 | (o >> 12 & 0xff) << 12);
            }
        }
        struct dpage *d;
        assert_int_equal(dcache_fetch_page(h, page, &d), 0);
        size_t before = h->dc->jit_used;
        assert_true(jit_translate(h, d, 0));
        assert_true(h->dc->jit_used > before);
        if (getenv("VESSEL_TEST_SHOW_SIZES"))
            print_message("%08x: %zu bytes\n", insn, h->dc->jit_used - before);
        assert_true(h->dc->jit_used - before <= (size_t)JIT_INSN_MAX * (JIT_MAX_INSNS + 4));
    }
}

/* ---- decoded-page cache replacement and code-buffer recycling ---- */

static void test_dcache_clock_eviction(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    struct dpage *d;
    unsigned n = h->dc->arena_pages;
    assert_true(n + 7 <= (16u << 20) / 4096);
    /* Page 0 holds `li a0,1; ebreak`, run (and translated) first. */
    put32(e, RAM + 0x0, 0x00100513);
    put32(e, RAM + 0x4, 0x00100073);
    put32(e, RAM + 0x3000, 0x00100073);
    h->mtvec = RAM + 0x3000;
    h->jit_hot = 1;
    hart_run(h, 1000);
    assert_int_equal(hart_get_x(h, 10), 1);
    for (unsigned i = 1; i < n; i++)
        assert_int_equal(dcache_fetch_page(h, RAM + i * 4096ULL, &d), 0);
    assert_int_equal(h->dc->arena_used, n);
    /* Full: the hand's first lap clears every reference bit and page 0,
     * the oldest, makes room; its arena slot now holds page pn (at another
     * fetch-TLB index than page 0, whose entry must go). */
    uint64_t pn = RAM + (uint64_t)(n + 5) * 4096;
    put32(e, pn + 0x0, 0x00200513);   /* li a0,2 */
    put32(e, pn + 0x4, 0x00100073);   /* ebreak */
    h->pc = pn;
    hart_run(h, 1000);
    assert_int_equal(hart_get_x(h, 10), 2);
    assert_false(dcache_is_code(h, RAM));
    assert_true(dcache_is_code(h, pn));
    assert_false(h->itlb->e[ACC_FETCH][tlb_index(RAM >> 12)].vtag == RAM >> 12);
    /* Page 0 runs its own code again, not page n's from the reused slot. */
    h->pc = RAM;
    hart_run(h, 1000);
    assert_int_equal(hart_get_x(h, 10), 1);
    /* Second chance: of the next two pages at the hand, A is used again
     * and B is not; the next miss evicts B and keeps A, clearing A's bit
     * and its fetch-TLB entry so that A's next use misses and sets it. */
    unsigned a = h->dc->arena_hand, b = (a + 1) % n;
    uint64_t pa = h->dc->arena[a].paddr, pb = h->dc->arena[b].paddr;
    h->dc->arena[b].ref = false;
    assert_int_equal(dcache_fetch_page(h, pa, &d), 0);
    assert_true(d->ref);
    assert_int_equal(dcache_fetch_page(h, pn + 4096, &d), 0);
    assert_true(dcache_is_code(h, pa));
    assert_false(dcache_is_code(h, pb));
    assert_ptr_equal(d, &h->dc->arena[b]);
    assert_false(h->dc->arena[a].ref);
    assert_false(h->itlb->e[ACC_FETCH][tlb_index(pa >> 12)].vtag == pa >> 12);
}

/* A store to a decoded page retires it: it leaves the decoded-page cache
 * (its slots and translations with it), so its further stores use the
 * write TLB (a boot's kernel reuses freed text pages as data), and when
 * it runs again it decodes afresh, from its new bytes.  Translated (every
 * block at its first entry) and interpreted. */
static void test_dcache_retires_stored_page(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    const uint64_t P = RAM + 0x2000;
    static const uint32_t prog[] = {
        0x00000297,   /* auipc t0,0 */
        0x00002337,   /* lui t1,0x2 */
        0x006282b3,   /* add t0,t0,t1: t0 = P */
        0x000280e7,   /* jalr ra,0(t0): P returns 1 */
        0x00050613,   /* mv a2,a0 */
        0x00800e13,   /* li t3,8 */
        0x40028e93,   /* addi t4,t0,0x400 */
        0x000eb023,   /* 1: sd zero,0(t4) */
        0x008e8e93,   /* addi t4,t4,8 */
        0xfffe0e13,   /* addi t3,t3,-1 */
        0xfe0e1ae3,   /* bnez t3,1b */
        0x00100073,   /* ebreak */
        0x00200f37,   /* RAM+0x30: lui t5,0x200 */
        0x513f0f13,   /* addi t5,t5,0x513: t5 = `li a0,2` */
        0x01e2a023,   /* sw t5,0(t0) */
        0x000280e7,   /* jalr ra,0(t0): P returns 2 now */
        0x00050693,   /* mv a3,a0 */
        0x00100073,   /* ebreak */
    };
    for (int jit = 1; jit >= 0; jit--) {
        if (!jit)
            assert_int_equal(hart_set_jit(h, false, 0), 0);
        for (unsigned i = 0; i < sizeof(prog) / 4; i++)
            put32(e, RAM + 4 * i, prog[i]);
        put32(e, P, 0x00100513);          /* li a0,1 */
        put32(e, P + 4, 0x00008067);      /* ret */
        hart_reset(h);
        h->jit_hot = 1;
        run_until_ebreak(e);
        assert_int_equal(hart_get_x(h, 12), 1);
        assert_false(dcache_is_code(h, P));
        /* the later stores went through the write TLB */
        const struct tlb_entry *w = &h->dtlb->e[ACC_STORE][tlb_index(P >> 12)];
        assert_true(w->vtag == P >> 12);
        assert_true(dcache_is_code(h, RAM));
        h->pc = RAM + 0x30;
        run_until_ebreak(e);
        assert_int_equal(hart_get_x(h, 13), 2);
        assert_true(dcache_is_code(h, P));
    }
}

/* The decoded-page arena is whole 2 MiB-aligned huge pages, advised
 * MADV_HUGEPAGE (dcache.c: block entries touch it all over), and a dpage
 * evicted or retired is cleared in place, not handed back. */
static void test_dcache_arena_huge_pages(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    assert_int_equal((uintptr_t)h->dc->arena % (2u << 20), 0);
    assert_int_equal(DARENA_BYTES % (2u << 20), 0);
    assert_true(h->dc->arena_pages * sizeof(struct dpage) <= DARENA_BYTES);
    assert_true(smaps_vmflag(h->dc->arena, "hg"));
    assert_true(smaps_vmflag((const uint8_t *)h->dc->arena + DARENA_BYTES - 1, "hg"));
}

/* The CLOCK hand clears a page's fetch-TLB entries through its reverse
 * map: the entries filled for it in every set (here M, S and U), and all
 * of them by a scan once the map overflowed. */
static void test_dcache_itlb_reverse_map(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    struct dpage *d;
    unsigned n = h->dc->arena_pages;
    pmp_update_all(e);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(dcache_fetch_page(h, RAM + i * 4096ULL, &d), 0);
    assert_int_equal(h->dc->arena_hand, 0);
    struct dpage *d0 = &h->dc->arena[0], *d1 = &h->dc->arena[1];
    /* Page 1 is fetched in all three privilege modes' sets. */
    struct tlb_set *sets[3];
    const unsigned privs[3] = { PRV_M, PRV_S, PRV_U };
    for (unsigned k = 0; k < 3; k++) {
        h->priv = privs[k];
        hart_update_mode(h);
        assert_int_equal(dcache_fetch_page(h, RAM + 4096, &d), 0);
        assert_ptr_equal(d, d1);
        sets[k] = h->itlb;
    }
    assert_true(sets[0] != sets[1] && sets[1] != sets[2]);
    assert_int_equal(h->rmap[1].n, 3);
    /* Page 0: entries the map missed (it overflowed). */
    struct tlb_entry *fe = h->tlb[0].e[ACC_FETCH];
    for (unsigned i = 100; i < 110; i++)
        fe[i] = (struct tlb_entry){ .vtag = 0x5000 + i, .ppage = RAM, .dp = d0 };
    h->rmap[0].n = DPAGE_ITLB_SLOTS + 1;
    d0->ref = d1->ref = false;
    assert_int_equal(dcache_fetch_page(h, RAM + (uint64_t)n * 4096, &d), 0);
    assert_ptr_equal(d, d0);
    for (unsigned i = 100; i < 110; i++)
        assert_int_equal(fe[i].vtag, ~0ULL);
    assert_int_equal(dcache_fetch_page(h, RAM + (uint64_t)(n + 1) * 4096, &d), 0);
    assert_ptr_equal(d, d1);
    uint64_t vpn = (RAM + 4096) >> 12;
    for (unsigned k = 0; k < 3; k++)
        assert_int_equal(sets[k]->e[ACC_FETCH][tlb_index(vpn)].vtag, ~0ULL);
}

/* Translate a block at every word of pages first.. (of `base`) until the
 * code buffer's ring has moved on into region `stop`; returns the next
 * unused page. */
static unsigned translate_pages(struct env *e, uint64_t base, unsigned first,
                                unsigned pages, unsigned stop,
                                uint8_t region[][1024])
{
    struct hart *h = e->h;
    unsigned p, start = h->dc->jit_region;
    bool moved = false, wrapped = false;
    for (p = first; p < pages && !(moved && h->dc->jit_region == stop); p++) {
        struct dpage *d;
        assert_int_equal(dcache_fetch_page(h, base + p * 4096ULL, &d), 0);
        for (unsigned w = 0; w < 1023; w++) {
            unsigned before = h->dc->jit_region;
            assert_true(jit_translate(h, d, w * 4));
            moved |= h->dc->jit_region != start;
            wrapped |= h->dc->jit_region < before;
            if (region)
                region[p][w] = (uint8_t)(wrapped ? 0xff : h->dc->jit_region);
        }
    }
    return p;
}

/* Pages at `base`: page p holds 1023 x `addi a0,a0,p+1` then ebreak (a
 * jump into another page's code shows in a0).  The trap handler is an
 * ebreak too, and blocks are translated at their first entry. */
static void put_addi_pages(struct env *e, uint64_t base, unsigned pages)
{
    for (unsigned p = 0; p < pages; p++) {
        for (unsigned w = 0; w < 1023; w++)
            put32(e, base + p * 4096ULL + w * 4, (p + 1) << 20 | 0x50513);
        put32(e, base + p * 4096ULL + 4092, 0x00100073);
    }
    put32(e, RAM + 0x3000, 0x00100073);
    e->h->mtvec = RAM + 0x3000;
    e->h->jit_hot = 1;
}

/* The code-buffer tests: PAGES addi pages at RAM + 1 MiB (returned);
 * skipped when the host has no translator. */
enum { PAGES = 64 };
static uint64_t put_addi_pages_or_skip(struct env *e)
{
    if (!e->h->jit_enabled)
        skip();
    put_addi_pages(e, RAM + 0x100000, PAGES);
    return RAM + 0x100000;
}

/* Run each page's code from its start: 1023 x `addi a0,a0,p+1`, ebreak. */
static void run_pages(struct env *e, uint64_t base, unsigned pages)
{
    struct hart *h = e->h;
    for (unsigned p = 0; p < pages; p++) {
        hart_set_x(h, 10, 0);
        h->pc = base + p * 4096ULL;
        hart_run(h, 5000);
        assert_int_equal(h->mcause, EXC_BREAKPOINT);
        assert_int_equal(hart_get_x(h, 10), 1023 * (p + 1));
    }
}

static void test_jit_region_recycling(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    /* Translating a block at every word of 64 pages fills the code
     * buffer's ring more than once. */
    uint64_t base = put_addi_pages_or_skip(e);
    /* Fill the ring until it wraps into region 0 (region[][] records where
     * each block went; 0xff from the wrap on). */
    static uint8_t region[PAGES][1024];
    assert_int_equal(h->dc->jit_region, 0);
    memset(region, 0, sizeof(region));
    unsigned lap1 = translate_pages(e, base, 0, PAGES, 0, region);
    assert_true(lap1 < PAGES);
    unsigned gone = 0, kept = 0;
    for (unsigned p = 0; p < lap1; p++) {
        struct dpage *d;
        assert_int_equal(dcache_fetch_page(h, base + p * 4096ULL, &d), 0);
        for (unsigned w = 0; w < 1023; w++) {
            if (region[p][w] == 0xff)
                continue;
            bool jit = d->insn[w * 2].op == OP_JIT;
            if (region[p][w] == 0) {   /* region 0's first-lap blocks are gone */
                assert_false(jit);
                gone++;
            } else {                   /* every other block remains */
                assert_true(jit);
                kept++;
            }
        }
    }
    assert_true(gone > 0 && kept > 0);
    /* Running patches links between old and new blocks; recycling more
     * regions afterwards must not leave a patched jump into one. */
    run_pages(e, base, lap1);
    unsigned used = translate_pages(e, base, lap1, PAGES, 5, NULL);
    assert_int_equal(h->dc->jit_region, 5);
    assert_true(used < PAGES);
    run_pages(e, base, lap1);
}

/* A jump-cache entry into a region that is then recycled: the hart
 * passes a quiescent point before the region is rewritten, and must
 * forget the entry there (jcache_invalidate in dcache_quiesce), or its
 * next JALR to that pc jumps into other code. */
static void test_jit_jump_cache_region_recycled(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    uint64_t base = put_addi_pages_or_skip(e);
    put32(e, RAM + 0x1000, 0x00030067);   /* jalr x0,0(t1): to page 0 */
    hart_set_x(h, 6, base);
    for (unsigned i = 0; i < 3; i++) {   /* translated, then cached, then hit */
        hart_set_x(h, 10, 0);
        h->pc = RAM + 0x1000;
        hart_run(h, 5000);
        assert_int_equal(h->mcause, EXC_BREAKPOINT);
        assert_int_equal(hart_get_x(h, 10), 1023);
    }
    assert_jcache_holds(h, base);
    /* Around the ring and into region 0 again, which held page 0's block. */
    unsigned used = translate_pages(e, base, 1, PAGES, 0, NULL);
    assert_true(used < PAGES);
    assert_int_equal(h->dc->jit_region, 0);
    hart_set_x(h, 10, 0);
    h->pc = RAM + 0x1000;
    hart_run(h, 5000);
    assert_int_equal(h->mcause, EXC_BREAKPOINT);
    assert_int_equal(hart_get_x(h, 10), 1023);
}

/* A linked exit into a block of an older region is patched, and the
 * site recorded so that recycling that region sets it back first. */
static void test_jit_link_into_older_region(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    uint64_t base = put_addi_pages_or_skip(e);
    /* Page 0: addi; j +256 (to word 65); ...; words 65.. addi; ebreak. */
    put32(e, base + 4, 0x1000006f);
    /* Y, the block at word 65, goes into region 0; X, the block at word 0
     * (its jump is a linked exit to Y), into region 1. */
    struct dpage *d;
    assert_int_equal(dcache_fetch_page(h, base, &d), 0);
    assert_true(jit_translate(h, d, 65 * 4));
    unsigned next = translate_pages(e, base, 1, PAGES, 1, NULL);
    assert_int_equal(h->dc->jit_region, 1);
    assert_int_equal(dcache_fetch_page(h, base, &d), 0);
    assert_true(jit_translate(h, d, 0));
    const uint8_t *x = slot_code(e, base), *y = slot_code(e, base + 65 * 4);
    assert_non_null(x);
    assert_non_null(y);
    /* Running X resolves its exit to Y, older: patched, with a record. */
    for (int pass = 0; pass < 2; pass++) {
        hart_set_x(h, 10, 0);
        h->pc = base;
        hart_run(h, 5000);
        assert_int_equal(h->mcause, EXC_BREAKPOINT);
        assert_int_equal(hart_get_x(h, 10), 1 + 1023 - 65);
        if (pass)
            break;
        assert_true(jumps_to(x, y + h->dc->jit_prologue));
        /* Recycle region 0 (Y) while region 1 (X) lives on: X's jump is
         * set back first, so X does not jump into the recycled memory. */
        next = translate_pages(e, base, next, PAGES, 0, NULL);
        assert_false(jumps_to(x, y + h->dc->jit_prologue));
        assert_true(next < PAGES);
        assert_int_equal(h->dc->jit_region, 0);
        assert_int_equal(d->insn[0].op, OP_JIT);
        assert_int_not_equal(d->insn[130].op, OP_JIT);
    }
}

/* ---- the cache shared by a VM's harts ---- */

/* A second hart of the same VM, sharing e->h's cache. */
static struct hart *second_hart(struct env *e)
{
    struct hart_config cfg = { .hartid = 1, .mem = e->mem, .clock = &e->clock,
                               .reset_pc = RAM, .share = e->h };
    struct hart *h1 = hart_new(&cfg);
    assert_non_null(h1);
    assert_ptr_equal(h1->dc, e->h->dc);
    return h1;
}

/* Hart 1 runs the blocks hart 0 translated: it translates none itself,
 * and the cache's figures are counted once, at hart 0. */
static void test_shared_cache_translates_once(void **state)
{
    struct env *e = *state;
    if (!e->h->jit_enabled)
        skip();
    struct hart *h1 = second_hart(e);
    put_sum_loop(e);
    e->h->jit_hot = h1->jit_hot = 1;
    run_until_ebreak(e);
    assert_int_equal(hart_get_x(e->h, 10), 5050);
    uint64_t ins0, blocks0, ns, ins1, blocks1, pages, bytes;
    hart_exec_stats(e->h, &ins0, &blocks0, &ns);
    assert_true(blocks0 > 0 && ins0 > 0);
    h1->mtvec = RAM + 0x3000;
    hart_run(h1, 100000);
    assert_int_equal(h1->mcause, EXC_BREAKPOINT);
    assert_int_equal(hart_get_x(h1, 10), 5050);
    hart_exec_stats(h1, &ins1, &blocks1, &ns);
    assert_int_equal(blocks1, 0);
    assert_true(ins1 > 0);              /* it ran translated code */
    hart_cache_stats(e->h, &pages, &bytes);
    assert_true(pages > 0 && bytes > 0);
    hart_cache_stats(h1, &pages, &bytes);
    assert_int_equal(pages, 0);
    assert_int_equal(bytes, 0);
    hart_free(h1);
}

/* A page one hart retires is not reused while another hart may still
 * hold it (its fetch TLB leads there and it has passed no quiescent point
 * since): the first hart decodes into its scratch page meanwhile.  Once
 * the other hart passes one, its entry is gone and the page is reused. */
static void test_shared_cache_waits_for_quiescence(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h, *h1 = second_hart(e);
    struct dpage *d;
    unsigned n = h->dc->arena_pages;
    pmp_update_all(e);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(dcache_fetch_page(h, RAM + i * 4096ULL, &d), 0);
    /* Hart 1 comes online and fetches page 0 through its TLB. */
    dcache_quiesce(h1, false);
    assert_int_equal(dcache_fetch_page(h1, RAM, &d), 0);
    assert_ptr_equal(d, &h->dc->arena[0]);
    struct tlb_entry *e1 = &h1->itlb->e[ACC_FETCH][tlb_index(RAM >> 12)];
    assert_true(e1->vtag == RAM >> 12 && e1->dp == d);
    /* Hart 0 needs a page: the hand retires some, page 0 among them, but
     * none can be reused yet. */
    uint64_t pn = RAM + (uint64_t)n * 4096;
    assert_int_equal(dcache_fetch_page(h, pn, &d), 0);
    assert_ptr_equal(d, h->scratch);
    assert_false(dcache_is_code(h, pn));
    assert_false(dcache_is_code(h, RAM));
    assert_true(e1->vtag == RAM >> 12);            /* not yet applied */
    assert_int_equal(h->dc->arena[0].paddr, RAM);  /* not reused */
    /* Hart 1's quiescent point: its entry goes, and the page is free. */
    dcache_quiesce(h1, false);
    assert_false(e1->vtag == RAM >> 12);
    assert_int_equal(dcache_fetch_page(h, pn, &d), 0);
    assert_true(d != h->scratch);
    assert_true(dcache_is_code(h, pn));
    /* Outside hart_run a hart is waited for by no one. */
    dcache_quiesce(h1, true);
    assert_int_equal(dcache_fetch_page(h1, RAM + 4096, &d), 0);
    hart_free(h1);
}

/* Code one hart rewrites runs on another sharing its cache once that
 * one has executed FENCE.I (Zifencei): the page is compared with memory
 * at its next entry and decoded afresh; the generation is counted over
 * both harts, so hart 1's FENCE.I after hart 0's validation still makes
 * it compare. */
static void test_shared_cache_fence_i_other_hart(void **state)
{
    struct env *e = *state;
    struct hart *h1 = second_hart(e);
    put32(e, RAM + 0x00, 0x00100513);   /* li a0,1 */
    put32(e, RAM + 0x04, 0x00100073);   /* ebreak */
    e->h->jit_hot = h1->jit_hot = 1;
    run_until_ebreak(e);
    assert_int_equal(hart_get_x(e->h, 10), 1);
    h1->mtvec = RAM + 0x3000;
    hart_run(h1, 1000);
    assert_int_equal(hart_get_x(h1, 10), 1);
    /* Rewritten behind both harts' backs (as another hart's store through
     * its write TLB would): hart 1 still runs the old code... */
    put32(e, RAM + 0x00, 0x00200513);   /* li a0,2 */
    h1->pc = RAM;
    hart_run(h1, 1000);
    assert_int_equal(hart_get_x(h1, 10), 1);
    /* ...hart 0 fences and sees it; then hart 1 fences and sees it too. */
    dcache_flush(e->h);
    e->h->pc = RAM;
    hart_run(e->h, 1000);
    assert_int_equal(hart_get_x(e->h, 10), 2);
    put32(e, RAM + 0x00, 0x00300513);   /* li a0,3 */
    dcache_flush(h1);
    h1->pc = RAM;
    hart_run(h1, 1000);
    assert_int_equal(hart_get_x(h1, 10), 3);
    hart_free(h1);
}

/* FENCE.I on a hart alone in its cache takes a new generation (every
 * page compared with memory again) only when RAM was written since the
 * last one by something other than its own stores (mem_write_count):
 * a copy, an iovec mapped for writing and unpinned as written, a write
 * noted through a held mapping.  With another hart in the cache, every
 * FENCE.I takes one. */
static void fence_i_run(struct hart *h)
{
    h->mtvec = RAM + 0x3000;
    h->pc = RAM;
    hart_run(h, 100);
    assert_int_equal(h->mcause, EXC_BREAKPOINT);
    assert_int_equal(h->mepc, RAM + 4);
}

static void test_fence_i_alone_after_writes_only(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    put32(e, RAM + 0x00, 0x0000100f);   /* fence.i */
    put32(e, RAM + 0x04, 0x00100073);   /* ebreak */
    put32(e, RAM + 0x3000, 0x0000006f); /* handler: j . */
    fence_i_run(h);
    uint64_t g = h->dgen;
    assert_true(g > 0);                 /* the puts came first */
    fence_i_run(h);
    assert_int_equal(h->dgen, g);       /* nothing written since */
    mem_mark_dirty(e->mem, RAM + 0x2000, 8);
    fence_i_run(h);
    assert_true(h->dgen > g);
    g = h->dgen;
    struct iovec v;
    int n;
    assert_int_equal(mem_map_iovec(e->mem, RAM + 0x2000, 16, true, &v, 1, &n), 0);
    fence_i_run(h);                  /* mapped for writing: may be written */
    assert_true(h->dgen > g);
    g = h->dgen;
    memset(v.iov_base, 0x13, 16);
    mem_unpin_iovec(e->mem, &v, n, true);
    fence_i_run(h);
    assert_true(h->dgen > g);
    g = h->dgen;
    mem_note_write(e->mem);
    fence_i_run(h);
    assert_true(h->dgen > g);
    g = h->dgen;
    fence_i_run(h);
    assert_int_equal(h->dgen, g);
    /* With company: a generation every time. */
    struct hart *h1 = second_hart(e);
    fence_i_run(h);
    assert_true(h->dgen > g);
    g = h->dgen;
    fence_i_run(h);
    assert_true(h->dgen > g);
    hart_free(h1);
}

static void test_tlb_holds_1mib_strides(void **state)
{
    struct env *e = *state;
    struct hart *h = e->h;
    /* Pages 1 MiB apart (Linux's vmemmap, linear map and stacks keep hot
     * data at such strides) both stay cached (M-mode, bare: the M set). */
    uint64_t a = RAM + 0x10, b = a + (1 << 20), v;
    assert_true(b < RAM + (16 << 20));
    assert_int_equal(mmu_load(h, a, 8, &v), 0);
    assert_int_equal(mmu_load(h, b, 8, &v), 0);
    assert_int_not_equal(tlb_index(a >> 12), tlb_index(b >> 12));
    assert_int_equal(h->dtlb->e[ACC_LOAD][tlb_index(a >> 12)].vtag, a >> 12);
    assert_int_equal(h->dtlb->e[ACC_LOAD][tlb_index(b >> 12)].vtag, b >> 12);
    /* A flush empties the set; a second one finds nothing filled since;
     * a fill after them is flushed again. */
    tlb_flush_all(h);
    assert_int_equal(h->dtlb->e[ACC_LOAD][tlb_index(a >> 12)].vtag, ~0ULL);
    tlb_flush_all(h);
    assert_int_equal(mmu_load(h, a, 8, &v), 0);
    assert_int_equal(h->dtlb->e[ACC_LOAD][tlb_index(a >> 12)].vtag, a >> 12);
    tlb_flush_all(h);
    assert_int_equal(h->dtlb->e[ACC_LOAD][tlb_index(a >> 12)].vtag, ~0ULL);
}

/* Stores to 32 pages: every page is in the dirty log, then again after a
 * fetch-and-clear (the store TLB entries of the first run must not let
 * the second run's stores bypass the log), translated or interpreted. */
static void dirty_round(struct env *e, uint64_t *bm)
{
    static const uint8_t prog[] = {
        0x13, 0x03, 0x00, 0x02,     /* 0:  addi t1,zero,32 */
        0x85, 0x63,                 /* 4:  c.lui t2,1 */
        0x23, 0xb0, 0x62, 0x00,     /* 6:  loop: sd t1,0(t0) */
        0x9e, 0x92,                 /* a:  c.add t0,t2 */
        0x7d, 0x13,                 /* c:  c.addi t1,-1 */
        0xe3, 0x1c, 0x03, 0xfe,     /* e:  bnez t1,loop */
        0x02, 0x90,                 /* 12: c.ebreak */
    };
    assert_int_equal(mem_write(e->mem, RAM, prog, sizeof(prog)), 0);
    put32(e, RAM + 0x100, 0x0000006f);  /* mtvec: j . */
    e->h->mtvec = RAM + 0x100;
    hart_set_pc(e->h, RAM);
    hart_set_x(e->h, 5, RAM + 0x100000);
    hart_run(e->h, 1000);
    assert_int_equal(hart_get_pc(e->h), RAM + 0x100);
    assert_int_equal(mem_dirty_fetch(e->mem, RAM, 16 << 20, bm, true), 0);
}

static void test_dirty_log_catches_stores(void **state)
{
    struct env *e = *state;
    uint64_t bm[(16 << 20) / 4096 / 64];
    for (int round = 0; round < 4; round++) {
        dirty_round(e, bm);
        for (unsigned p = 0; p < 32; p++) {
            unsigned page = 0x100 + p;             /* RAM + 1 MiB + p pages */
            if (!((bm[page / 64] >> (page % 64)) & 1))
                fail_msg("round %d: store to page %u not in the dirty log",
                         round, page);
        }
        unsigned after = 0x100 + 32;
        assert_false((bm[after / 64] >> (after % 64)) & 1);
    }
}

/* W^X: after the translator has emitted code, no mapping of the process
 * is writable and executable at once. */
static void test_jit_buffer_never_wx(void **state)
{
    struct env *e = *state;
    assert_true(e->h->jit_enabled);
    put_sum_loop(e);
    run_until_ebreak(e);
    assert_int_equal(hart_get_x(e->h, 10), 5050);
    assert_true(e->h->dc->jit_used > 0);
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        char perms[8] = "";
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' &&
            perms[2] == 'x')
            fail_msg("writable and executable mapping: %s", line);
    }
    fclose(f);
}

static void test_mip_rmw_keeps_wire_out(void **state)
{
    struct env *e = *state;
    put32(e, RAM + 0x00, 0x00200293);   /* li t0,2 (SSIP) */
    put32(e, RAM + 0x04, 0x3442a073);   /* csrs mip,t0 */
    put32(e, RAM + 0x08, 0x00100073);   /* ebreak */
    hart_set_irq(e->h, IRQ_SEI, true);
    run_until_ebreak(e);
    uint64_t mip;
    assert_int_equal(hart_peek_csr(e->h, 0x344, &mip), 0);
    assert_true(mip & (1u << IRQ_SEI));            /* the wire shows in reads */
    hart_set_irq(e->h, IRQ_SEI, false);
    assert_int_equal(hart_peek_csr(e->h, 0x344, &mip), 0);
    assert_int_equal(mip & 0x222, 0x2);            /* SSIP set, SEIP gone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_base),
        cmocka_unit_test(test_decode_illegal),
        cmocka_unit_test(test_decode_compressed),
        cmocka_unit_test_setup_teardown(test_run_program, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_modifying_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tlb_fill_and_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_tlb_misses_page_0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmu_ad_bits_and_perms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pmp_denies_s_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pmp_hit_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misaligned_cross_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mip_rmw_keeps_wire_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dirty_log_catches_stores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_buffer_never_wx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_cache_translates_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_cache_waits_for_quiescence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_cache_fence_i_other_hart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fence_i_alone_after_writes_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sfence_vma_one_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sum_selects_tlb_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amo_uses_tlb_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chained_blocks_keep_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_wrapping_load_on_fresh_tlb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_cross_page_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_csr_sum_in_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_csr_write_takes_interrupt_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_atomics_in_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_block_size_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_regs_written_back_at_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_regs_around_helper_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_regs_across_chained_exits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_superblock_side_exits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_branch_over_stays_in_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_branch_over_select_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_load_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_load_group_ends_at_base_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_load_group_miss_keeps_no_addend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_store_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_store_group_ends_at_base_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_store_group_into_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_site_cache_follows_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_site_cache_emptied_at_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_site_cache_kept_until_sfence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_site_cache_emptied_at_set_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_store_site_into_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_site_header_tagged_by_lap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_site_epoch_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_csr_block_takes_no_sites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_store_site_apart_from_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_fp_in_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_fp_dirties_fs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_fp_block_start_fs_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_fp_fast_path_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_mul_high, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_indirect_target_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_fence_i_retranslates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_fence_i_via_chain_stub, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_jump_cache_fence_i, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_jump_cache_sfence_vma, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_jump_cache_privilege, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_jump_cache_region_recycled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_runs_into_translated_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_loop_through_its_test, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_w_results_sign_extended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_w_result_extended_round_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_regs_fault_inside_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_regs_loop_keeps_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tlb_holds_1mib_strides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dcache_clock_eviction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dcache_itlb_reverse_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dcache_retires_stored_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dcache_arena_huge_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_region_recycling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jit_link_into_older_region, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
