/* Randomised differential test of the block translator (docs/cpu.md):
 * random RV64IM(+Zba) programs run from the same state on a hart that
 * translates every block at its first entry (hot = 1) and on a hart that
 * only interprets; both must end in the same state: x1..x31, pc, mcause,
 * mepc, mtval, minstret and the two scratch pages the programs load from
 * and store to.
 *
 * A program: PROG_INSNS random instructions (ALU register and immediate
 * forms, 32-bit W forms, M, sh1add/sh2add/sh3add, LUI/AUIPC, loads and
 * stores of every width at aligned and misaligned offsets around x30,
 * forward branches and jumps, and an AUIPC+JALR pair whose target is
 * computed), the whole body repeated LOOPS times by a counter in x31 (so
 * translated blocks are re-entered and chained), then an ebreak.  One
 * program in TRAP_EVERY gets a load from address 0 somewhere in its body:
 * a load access fault in the middle of a block, where the translator must
 * have written back every register the instructions before it changed.
 * The trap handler is `j .`, so the first trap's mcause/mepc/mtval stay
 * and both harts spin until the same budget.
 *
 * One program in TIGHT_EVERY (none of those that get the load from 0) is
 * a tight loop instead: a short straight-line body over x5..x10 only (long
 * dependent chains, every register of the block held in a host register),
 * then the loop tail, so the block at PROG branches back to its own start
 * TIGHT_LOOPS times; the body also loads through x29, which walks 256
 * bytes a pass towards the end of RAM and faults in a random pass (or
 * never): a fault after the block has gone round its loop.  A tight
 * program ends within the first 1000-instruction slice (a slice may end
 * at a different instruction translated and interpreted, which would
 * show in minstret only).
 *
 * Seeds: SEEDS fixed ones; VESSEL_JIT_DIFF_SEED=N runs N only (to replay
 * a failure, whose message gives the seed and the first difference). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/riscv/hart_internal.h"
#include "mem/mem.h"
#include "util/vclock.h"

#define RAM 0x80000000ULL
#define PROG (RAM + 0x1000)
#define HANDLER (RAM + 0x100)
#define SCRATCH (RAM + 0x20000)        /* two pages; x30 points at the middle of the first */
#define PROG_INSNS 160
#define LOOPS 3
#define TRAP_EVERY 4
#define TIGHT_EVERY 4          /* seeds 2, 6, 10, ...: never a TRAP_EVERY seed */
#define TIGHT_LOOPS 24
#define RAM_SIZE (1u << 20)
#define SEEDS 300
#define BUDGET 20000

struct env {
    struct mem *mem;
    struct vclock clock;
    struct hart *h;
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
    /* xorshift64*: deterministic per seed, no libc state */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }

static uint32_t r_type(unsigned f7, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd,
                       unsigned op)
{
    return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static uint32_t i_type(int imm, unsigned rs1, unsigned f3, unsigned rd, unsigned op)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static uint32_t s_type(int imm, unsigned rs2, unsigned rs1, unsigned f3)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (u & 0x1f) << 7 | 0x23;
}
static uint32_t b_type(int imm, unsigned rs2, unsigned rs1, unsigned f3)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs2 << 20 | rs1 << 15 |
           f3 << 12 | ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7 | 0x63;
}
static uint32_t j_type(int imm, unsigned rd)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20 |
           ((u >> 12) & 0xff) << 12 | rd << 7 | 0x6f;
}

/* The body index each forward branch or jump targets (-1: none), to
 * keep targets off the JALR of an AUIPC+JALR pair: entering the pair in
 * the middle would jump through a random register, into bytes that are
 * not a program (both harts would still agree, but on what?). */
static int target_of[PROG_INSNS + 16];

/* A destination or source among x1..x29 (x30: scratch base, x31: loop),
 * or x5..x10 in a tight program (x29: its walking pointer). */
static bool tight;
static unsigned reg(void) { return tight ? 5 + pick(6) : 1 + pick(29); }

static bool is_tight(uint64_t seed) { return seed % TIGHT_EVERY == 2; }

/* Emit one random instruction (or a small group) at p[*n]; `left` is how
 * many slots remain before the loop tail, so forward targets stay inside
 * the body. */
static void gen_one(uint32_t *p, unsigned *n, unsigned left)
{
    static const struct { unsigned f7, f3, op; } rr[] = {
        { 0x00, 0, 0x33 }, { 0x20, 0, 0x33 }, { 0x00, 1, 0x33 }, { 0x00, 2, 0x33 },
        { 0x00, 3, 0x33 }, { 0x00, 4, 0x33 }, { 0x00, 5, 0x33 }, { 0x20, 5, 0x33 },
        { 0x00, 6, 0x33 }, { 0x00, 7, 0x33 },                         /* RV64I */
        { 0x00, 0, 0x3b }, { 0x20, 0, 0x3b }, { 0x00, 1, 0x3b }, { 0x00, 5, 0x3b },
        { 0x20, 5, 0x3b },                                            /* W forms */
        { 0x01, 0, 0x33 }, { 0x01, 1, 0x33 }, { 0x01, 2, 0x33 }, { 0x01, 3, 0x33 },
        { 0x01, 4, 0x33 }, { 0x01, 5, 0x33 }, { 0x01, 6, 0x33 }, { 0x01, 7, 0x33 },
        { 0x01, 0, 0x3b }, { 0x01, 4, 0x3b }, { 0x01, 5, 0x3b }, { 0x01, 6, 0x3b },
        { 0x01, 7, 0x3b },                                            /* M */
        { 0x10, 2, 0x33 }, { 0x10, 4, 0x33 }, { 0x10, 6, 0x33 },      /* Zba shNadd */
    };
    unsigned k = pick(100);
    if (k < 35) {
        unsigned i = pick(sizeof(rr) / sizeof(rr[0]));
        p[(*n)++] = r_type(rr[i].f7, reg(), reg(), rr[i].f3, reg(), rr[i].op);
    } else if (k < 55) {
        static const unsigned f3[] = { 0, 2, 3, 4, 6, 7 };     /* addi slti sltiu xori ori andi */
        unsigned w = pick(8);
        int imm = (int)(rnd() % 4096) - 2048;
        if (w == 0)
            p[(*n)++] = i_type(imm, reg(), 0, reg(), 0x1b);            /* addiw */
        else if (w == 1) {                                            /* shifts */
            unsigned f = pick(3), sh = pick(64), wf = pick(2);
            unsigned rd = reg(), rs = reg();
            if (wf)
                p[(*n)++] = i_type((f == 2 ? 0x400 : 0) | (sh & 31), rs, f == 0 ? 1 : 5,
                                   rd, 0x1b);
            else
                p[(*n)++] = i_type((f == 2 ? 0x400 : 0) | sh, rs, f == 0 ? 1 : 5, rd, 0x13);
        } else
            p[(*n)++] = i_type(imm, reg(), f3[pick(6)], reg(), 0x13);
    } else if (k < 60) {
        p[(*n)++] = (uint32_t)(rnd() & 0xfffff000) | reg() << 7 | (pick(2) ? 0x37 : 0x17);
    } else if (k < 72) {                                    /* loads around x30 */
        static const unsigned f3[] = { 0, 1, 2, 3, 4, 5, 6 };
        int off = (int)(rnd() % 4096) - 2048;
        if (pick(3))
            off &= ~7;                                      /* mostly aligned */
        p[(*n)++] = i_type(off, 30, f3[pick(7)], reg(), 0x03);
    } else if (k < 84) {                                    /* stores around x30 */
        int off = (int)(rnd() % 4096) - 2048;
        if (pick(3))
            off &= ~7;
        p[(*n)++] = s_type(off, reg(), 30, pick(4));
    } else if (tight) {                                     /* straight line only */
        p[(*n)++] = r_type(0, reg(), reg(), 0, reg(), 0x33);
    } else if (k < 93 && left > 4) {                        /* forward branch */
        static const unsigned f3[] = { 0, 1, 4, 5, 6, 7 };
        unsigned skip = 1 + pick(3);
        target_of[*n] = (int)(*n + skip + 1);
        p[(*n)++] = b_type(4 * (int)(skip + 1), reg(), reg(), f3[pick(6)]);
    } else if (k < 96 && left > 4) {                        /* jal forward, link in rd */
        unsigned skip = 2 + pick(2);
        target_of[*n] = (int)(*n + skip);
        p[(*n)++] = j_type(4 * (int)skip, pick(2) ? reg() : 0);
    } else if (k < 99 && left > 6) {                        /* computed jump: auipc+jalr */
        unsigned rd = reg(), skip = pick(3);
        p[(*n)++] = (uint32_t)rd << 7 | 0x17;               /* auipc rd, 0 */
        p[(*n)++] = i_type(8 + 4 * (int)skip, rd, 0, pick(2) ? reg() : 0, 0x67);
    } else {
        p[(*n)++] = r_type(0, reg(), reg(), 0, reg(), 0x33);
    }
}

/* Build a program for `seed` into prog[] (returns its length in words). */
static unsigned gen_program(uint64_t seed, uint32_t *prog, unsigned cap)
{
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    unsigned n = 0;
    bool trap = seed % TRAP_EVERY == 0;
    tight = is_tight(seed);
    unsigned len = tight ? 8 + pick(24) : PROG_INSNS;   /* tight: all within one slice */
    unsigned trap_at = trap ? 1 + pick(PROG_INSNS - 2) : ~0u;
    unsigned walk_at = tight ? pick(len) : ~0u;
    for (unsigned i = 0; i < cap && i < sizeof(target_of) / sizeof(target_of[0]); i++)
        target_of[i] = -1;
    while (n < len && n + 8 < cap) {
        if (n >= walk_at) {
            prog[n++] = i_type(0, 29, 3, reg(), 0x03);      /* ld rd, 0(x29) */
            prog[n++] = i_type(256, 29, 0, 29, 0x13);       /* addi x29, x29, 256 */
            walk_at = ~0u;
            continue;
        }
        if (n >= trap_at) {
            prog[n++] = i_type(0, 0, 3, reg(), 0x03);       /* ld rd, 0(x0): access fault */
            trap_at = ~0u;
            continue;
        }
        gen_one(prog, &n, PROG_INSNS - n);
    }
    for (unsigned i = 0; i < n; i++)
        if (target_of[i] >= 0 && (unsigned)target_of[i] < n &&
            (prog[target_of[i]] & 0x7f) == 0x67)
            prog[i] = 0x00000033;               /* add x0,x0,x0 instead */
    /* Loop tail: addi x31,x31,-1; bne x31,x0,PROG; ebreak. */
    prog[n] = i_type(-1, 31, 0, 31, 0x13);
    n++;
    prog[n] = b_type(-(int)(4 * n), 0, 31, 1);
    n++;
    prog[n++] = 0x00100073;
    return n;
}

static void env_init(struct env *e, bool jit, const uint32_t *prog, unsigned n,
                     uint64_t seed)
{
    e->mem = mem_new();
    assert_non_null(e->mem);
    assert_int_equal(mem_add_ram(e->mem, RAM, RAM_SIZE), 0);
    vclock_init(&e->clock, VCLOCK_DEFAULT_HZ);
    struct hart_config cfg = { .hartid = 0, .mem = e->mem, .clock = &e->clock,
                               .reset_pc = PROG };
    e->h = hart_new(&cfg);
    assert_non_null(e->h);
    assert_int_equal(hart_set_jit(e->h, jit, jit ? 1 : 0), 0);
    assert_int_equal(mem_write(e->mem, PROG, prog, n * 4), 0);
    uint32_t spin = j_type(0, 0);                            /* handler: j . */
    assert_int_equal(mem_write(e->mem, HANDLER, &spin, 4), 0);
    e->h->mtvec = HANDLER;
    /* The same pseudo-random registers and scratch bytes for both. */
    rng_state = seed ^ 0xA5A5A5A5DEADBEEFULL;
    for (unsigned r = 1; r < 30; r++) {
        uint64_t v = rnd();
        hart_set_x(e->h, r, pick(4) ? v : v & 0xff);    /* some small values */
    }
    hart_set_x(e->h, 30, SCRATCH + 2048);
    hart_set_x(e->h, 31, LOOPS);
    if (is_tight(seed)) {   /* x29 faults in pass 1..2*TIGHT_LOOPS (or never) */
        hart_set_x(e->h, 29, RAM + RAM_SIZE -
                             256ULL * (1 + seed / TIGHT_EVERY * 37 % (2 * TIGHT_LOOPS)));
        hart_set_x(e->h, 31, TIGHT_LOOPS);
    }
    uint8_t page[8192];
    for (size_t i = 0; i < sizeof(page); i++)
        page[i] = (uint8_t)rnd();
    assert_int_equal(mem_write(e->mem, SCRATCH, page, sizeof(page)), 0);
}

static void env_free(struct env *e)
{
    hart_free(e->h);
    mem_free(e->mem);
}

/* Run one seed on both harts; 0 when they agree, else a message. */
static int run_seed(uint64_t seed, char *msg, size_t len)
{
    uint32_t prog[PROG_INSNS + 16];
    unsigned n = gen_program(seed, prog, sizeof(prog) / sizeof(prog[0]));
    struct env a, b;
    env_init(&a, true, prog, n, seed);
    env_init(&b, false, prog, n, seed);
    /* Slices as the VMM runs them: several budgets in a row. */
    for (int i = 0; i < BUDGET / 1000; i++) {
        hart_run(a.h, 1000);
        hart_run(b.h, 1000);
    }
    int rc = 0;
    uint64_t dpages, jit_bytes;
    hart_cache_stats(a.h, &dpages, &jit_bytes);
    /* hart_exec_stats: the interpreting hart ran nothing translated; the
     * other ran at most its instret translated. */
    uint64_t ji, jb, jns, ii, ib, ins;
    hart_exec_stats(a.h, &ji, &jb, &jns);
    hart_exec_stats(b.h, &ii, &ib, &ins);
    if (ii || ib || ins || ji > hart_instret(a.h))
        rc = snprintf(msg, len, "seed %llu: exec stats: translated hart %llu insns in %llu "
                      "blocks of %llu; interpreting hart %llu, %llu", (unsigned long long)seed,
                      (unsigned long long)ji, (unsigned long long)jb,
                      (unsigned long long)hart_instret(a.h), (unsigned long long)ii,
                      (unsigned long long)ib);
#if defined(__x86_64__)                     /* a host with a translator translated */
    if (!rc && (!jit_bytes || !ji || !jb))
        rc = snprintf(msg, len, "seed %llu: nothing was translated", (unsigned long long)seed);
#endif
    for (unsigned r = 1; r < 32 && !rc; r++)
        if (hart_get_x(a.h, r) != hart_get_x(b.h, r))
            rc = snprintf(msg, len, "seed %llu: x%u translated 0x%llx, interpreted 0x%llx",
                          (unsigned long long)seed, r,
                          (unsigned long long)hart_get_x(a.h, r),
                          (unsigned long long)hart_get_x(b.h, r));
    const struct { const char *name; uint64_t x, y; } f[] = {
        { "pc", a.h->pc, b.h->pc }, { "mcause", a.h->mcause, b.h->mcause },
        { "mepc", a.h->mepc, b.h->mepc }, { "mtval", a.h->mtval, b.h->mtval },
        { "minstret", hart_instret(a.h), hart_instret(b.h) },
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]) && !rc; i++)
        if (f[i].x != f[i].y)
            rc = snprintf(msg, len, "seed %llu: %s translated 0x%llx, interpreted 0x%llx",
                          (unsigned long long)seed, f[i].name, (unsigned long long)f[i].x,
                          (unsigned long long)f[i].y);
    static uint8_t pa[8192], pb[8192];
    assert_int_equal(mem_read(a.mem, SCRATCH, pa, sizeof(pa)), 0);
    assert_int_equal(mem_read(b.mem, SCRATCH, pb, sizeof(pb)), 0);
    for (size_t i = 0; i < sizeof(pa) && !rc; i++)
        if (pa[i] != pb[i])
            rc = snprintf(msg, len, "seed %llu: scratch byte +%zu translated 0x%02x, "
                          "interpreted 0x%02x", (unsigned long long)seed, i, pa[i], pb[i]);
    env_free(&a);
    env_free(&b);
    return rc;
}

static void test_random_programs(void **state)
{
    (void)state;
    char msg[256];
    const char *one = getenv("VESSEL_JIT_DIFF_SEED");
    uint64_t first = one ? strtoull(one, NULL, 0) : 1, last = one ? first : SEEDS;
    for (uint64_t s = first; s <= last; s++)
        if (run_seed(s, msg, sizeof(msg)))
            fail_msg("%s (replay: VESSEL_JIT_DIFF_SEED=%llu)", msg, (unsigned long long)s);
}

/* The generator's programs do reach the states the test is about: some
 * trap in the middle of their body, and the others end at the ebreak
 * after LOOPS passes; tight loops fault in a later pass or end (a test
 * that cannot fail is no test). */
static void test_programs_cover_traps_and_loops(void **state)
{
    (void)state;
    unsigned faults = 0, ebreaks = 0, tight_faults = 0, tight_ends = 0;
    for (uint64_t s = 1; s <= 80; s++) {
        uint32_t prog[PROG_INSNS + 16];
        unsigned n = gen_program(s, prog, sizeof(prog) / sizeof(prog[0]));
        struct env e;
        env_init(&e, false, prog, n, s);
        hart_run(e.h, BUDGET);
        bool ended = e.h->mcause == 3 && e.h->mepc == PROG + 4ULL * (n - 1) &&
                     hart_get_x(e.h, 31) == 0;
        if (is_tight(s)) {
            /* a fault in a later pass: x31 counted down at least once */
            tight_faults += e.h->mcause == 5 && e.h->mtval >= RAM + RAM_SIZE &&
                            hart_get_x(e.h, 31) < TIGHT_LOOPS;
            tight_ends += ended;
            env_free(&e);
            continue;
        }
        if (e.h->mcause == 5 && e.h->mtval == 0)
            faults++;
        if (ended)
            ebreaks++;
        env_free(&e);
    }
    assert_true(faults >= 10);
    assert_true(ebreaks >= 40);
    assert_true(tight_faults >= 5);
    assert_true(tight_ends >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_programs_cover_traps_and_loops),
        cmocka_unit_test(test_random_programs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
