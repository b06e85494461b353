/* cpu/riscv: the block translator's guest memory accesses on x86-64
 * (see jit_x86_64.c): loads, stores and atomics probe the software TLB
 * inline (the same entries the interpreter uses) and call C slow paths on
 * a miss; atomics and CSR instructions that stay out of line run on a
 * copy of their slot.  A slow path stores the dirty held registers first
 * and reloads them after (jit_x86_64_regs.c). */
#include <stddef.h>
#include <string.h>

#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit.h"
#include "cpu/riscv/jit_x86_64_asm.h"

#if defined(__x86_64__)

/* ---- C helpers called from translated code ---- */

static unsigned mem_size(unsigned op)
{
    switch (op) {
    case OP_LB: case OP_LBU: case OP_SB: return 1;
    case OP_LH: case OP_LHU: case OP_SH: return 2;
    case OP_LW: case OP_LWU: case OP_SW: case OP_FLW: case OP_FSW: return 4;
    }
    return 8;
}

static bool op_is_fp_mem(unsigned op)
{
    return op == OP_FLW || op == OP_FLD || op == OP_FSW || op == OP_FSD;
}

static int jit_load(struct hart *h, uint64_t va, uint32_t desc)
{
    unsigned rd = desc & 0xff, op = desc >> 8;
    uint64_t v;
    int c = mmu_load(h, va, mem_size(op), &v);
    if (c)
        return c;
    switch (op) {
    case OP_LB: v = (uint64_t)(int64_t)(int8_t)v; break;
    case OP_LH: v = (uint64_t)(int64_t)(int16_t)v; break;
    case OP_LW: v = (uint64_t)(int64_t)(int32_t)v; break;
    case OP_FLW: h->f[rd] = 0xffffffff00000000ULL | v; return 0;   /* NaN-boxed */
    case OP_FLD: h->f[rd] = v; return 0;
    }
    h->x[rd] = v;
    h->x[32] = 0;
    return 0;
}

static int jit_store(struct hart *h, uint64_t va, uint32_t desc)
{
    unsigned rs2 = desc & 0xff, size = (desc >> 8) & 0xff;
    uint64_t v = (desc >> 16) ? h->f[rs2] : h->x[rs2];
    if (size < 8)
        v &= (1ULL << (8 * size)) - 1;
    return mmu_store(h, va, size, v);
}

/* Atomics (amo_exec, amo.c) and the CSR instructions jit_csr_in_block
 * accepts (sys_exec) run out of line on a copy of their slot kept in the
 * code buffer (emit_slot_call).  Returns the exception cause, or 0
 * (neither raises cause 0, instruction address misaligned). */
static int jit_exec_slot(struct hart *h, const struct insn *in)
{
    int r = op_is_amo(in->op) ? amo_exec(h, in)
                              : sys_exec(h, in, 0);   /* pc: EBREAK only */
    return r >= EXEC_EXC(0) ? r - EXEC_EXC(0) : 0;
}

/* rax = x[rs1] + imm */
static void emit_ea_at(struct jbuf *b, unsigned rs1, int32_t imm)
{
    int h = jit_host_x(b, rs1);
    if (h >= 0 && imm) {
        op_rm(b, 1, 0x8d, RAX, h, imm);                /* lea rax, [h + imm] */
        return;
    }
    jit_get_x(b, RAX, rs1);
    if (imm)
        alu_imm(b, 1, 0, RAX, imm);
}

/* rax = x[rs1] + imm (the effective address) */
static void emit_ea(struct jbuf *b, const struct insn *in)
{
    emit_ea_at(b, in->rs1, in->imm);
}

/* r14 points at the load entries of the current data TLB set; the store
 * entries are a fixed distance on (a displacement, not a register). */
#define TLB_LOAD 0
#define TLB_STORE ((int32_t)(offsetof(struct tlb_set, e[ACC_STORE]) - \
                             offsetof(struct tlb_set, e[ACC_LOAD])))

/* TLB probe for the address in rax against the entries `tlb` bytes from
 * r14 (TLB_LOAD, TLB_STORE): on a hit the host address is rax + rcx
 * (`index`: rcx = the page's addend) or rax (else: the addend added to
 * it); returns the jump to patch to the miss path, where rax still holds
 * the virtual address.  The entry is reached as [r14 + rdx]: no add of
 * its own on the way from the address to the data, a latency every
 * dependent load (a list's next pointer) pays.
 * The entry is picked by the first byte's page and its tag compared with
 * the last byte's page: they match only if the access stays in the
 * tagged page (an entry's tag and index agree in their low bits, and the
 * last byte's page is the first's or the next), so one compare covers
 * both the tag and the page-crossing check. */
static uint8_t *emit_tlb(struct jbuf *b, int32_t tlb, unsigned size, bool index)
{
    if (size > 1)
        op_rm(b, 1, 0x8d, RCX, RAX, (int32_t)size - 1);   /* lea rcx, [rax+size-1] */
    else
        op_rr(b, 1, 0x8b, RCX, RAX);                      /* mov rcx, rax */
    shift_imm(b, 1, 5, RCX, 12);             /* shr rcx, 12: last byte's page */
    op_rr(b, 0, 0x8b, RDX, RAX);             /* mov edx, eax */
    shift_imm(b, 0, 5, RDX, 7);              /* shr edx, 7 */
    alu_imm(b, 0, 4, RDX, (TLB_SIZE - 1) << 5);  /* and: tlb_index() * 32 */
    op_rmx(b, 1, 0x3b, RCX, R14, RDX, tlb);  /* cmp rcx, [r14 + rdx + tlb] (vtag) */
    uint8_t *miss = jcc_fwd(b, CC_NE);
    if (index)
        op_rmx(b, 1, 0x8b, RCX, R14, RDX, tlb + 8);   /* mov rcx, addend */
    else
        op_rmx(b, 1, 0x03, RAX, R14, RDX, tlb + 8);   /* add rax, addend */
    return miss;
}

/* FLW/FLD after the TLB probe (rax = host address on a hit, the virtual
 * address at `miss`): f[rd] = the value, a single NaN-boxed.  The f
 * registers are never held in host registers; the miss path stores and
 * reloads the held x registers around jit_load. */
static void fp_load_hit_and_miss(struct jbuf *b, const struct insn *in, uint8_t *miss,
                                 int32_t off, uint32_t count, uint8_t *epi)
{
    if (in->op == OP_FLW) {
        op_rm(b, 0, 0x8b, RCX, RAX, 0);                  /* mov ecx, dword [rax] */
        mov_imm64(b, RDX, 0xffffffff00000000ULL);
        op_rr(b, 1, 0x0b, RCX, RDX);                     /* or rcx, rdx */
    } else {
        op_rm(b, 1, 0x8b, RCX, RAX, 0);                  /* mov rcx, qword [rax] */
    }
    op_rm(b, 1, 0x89, RCX, JIT_HART, JIT_F_OFF(in->rd));      /* mov f[rd], rcx */
    uint8_t *done = jmp_fwd(b);
    patch(b, miss, b->p);
    struct jregs keep = b->ra;
    jit_regs_writeback(b);
    op_rm(b, 1, 0x8d, RDI, JIT_HART, -JIT_H_BIAS);
    op_rr(b, 1, 0x8b, RSI, RAX);
    b1(b, 0xba); b4(b, (uint32_t)(in->rd | (in->op << 8)));
    call_abs(b, (const void *)jit_load);
    jit_exc_check(b, off, count, epi);
    jit_regs_reload(b, keep.valid);
    b->ra = keep;
    patch(b, done, b->p);
}

/* Groups.  Most of a load's or store's code is its TLB probe (eight host
 * instructions: the entry's index, the tag compare, the addend).  Loads
 * (or stores) through one base register that nothing writes in between,
 * at offsets within GROUP_SPAN bytes of each other, are in one page when
 * the span from the lowest to the highest byte is: the first of them
 * probes that whole span once and keeps the page's addend in
 * h->jit_addend[] (0 when the probe misses: the span crosses a page, or
 * the page is not in the TLB) on its way to its own access; each of the
 * others then accesses x[rs1] + imm + addend after a test of the addend,
 * taking the ordinary probe when it is 0: five host instructions fewer
 * than a probe.  A busybox boot runs some 410 million loads and 230
 * million stores; 40% of the loads and 70% of the stores follow another
 * through the same base in the same block (a struct's fields, the
 * stack).  Loads and stores group apart (a load entry does not allow a
 * store; integer loads only, the F/D ones load differently).
 *
 * The addend stays good while the block runs.  The TLB entry it came
 * from may be replaced by a slow path's fill, but not the page's
 * mapping: only an SFENCE.VMA or a satp write changes that, and neither
 * runs inside a block; a CSR instruction inside the block (sstatus.SUM
 * and MXR change what may be read) ends the groups; memory operations
 * (dirty-log clears included) park every vCPU outside translated code
 * first (docs/mem.md).  A store entry is also taken away when its page is
 * decoded as code (wtlb_evict), so that the next store retires the
 * decoded page: on this hart that happens only outside blocks, before
 * the group's probe, which then misses; on another it is the FENCE.I of
 * the hart that decoded it that must see the store, and with two harts
 * in the cache every FENCE.I revalidates the decoded pages (dcache.c). */
#define GROUP_SPAN 256

/* Does `op` access memory as group kind `k` (0 loads, 1 stores)? */
static bool group_kind(unsigned op, unsigned k)
{
    return k ? op_is_store(op) : op_is_int_load(op);
}

#define H_ADDEND(k) hoff(offsetof(struct hart, jit_addend) + 8 * (k))

/* Site caches.  A load or store (or a group's first) runs again on each
 * pass of a loop and each run of its block, and its address is usually
 * in the page it was in last time: a list's nodes, an array, the stack,
 * a state machine's tables.  Such an access keeps that page and its
 * addend (from a load or a store TLB entry, as the access is) in a slot
 * of h->jit_site[] and tests them before the TLB probe:
 * an xor and a compare of the address with the page, and a test of the
 * addend.  None of that waits for a load that depends on the address,
 * so a load that hits reads its data straight from the address; through
 * the TLB it waits for the entry's index, then the entry, then the data.
 * CoreMark's list loops chase pointers, each load's address the last
 * one's data.  The probe fills the slot when it hits.
 *
 * A slot holds a fact about the address space (this page may be read,
 * or written, through this addend), true until a TLB flush, a store
 * entry's removal or a change of the data set (jit_sites_invalidate
 * moves h->jit_site_epoch on at each), not a fact about its block: so
 * blocks take slots from a ring shared by the code cache
 * (dc->jit_site_next, the same index in every hart's array), and two
 * blocks that come to share one only miss more.  Loads take even slots
 * and stores odd ones, so that a store never finds a load's fact (a
 * read-only page: copy-on-write after fork, a page of code); only a
 * looping block's stores take any.  Each block's run of slots starts
 * with a header, {the epoch they were filled in, tagged with the
 * block's lap of the ring, 0}; the block's head compares it with the
 * tagged epoch on both ways in and, when they differ, empties the slots
 * it took and writes the header (out of line, jit_emit_cold).  The
 * epoch is odd, so a header read as another block's slot never holds a
 * page, and its addend of 0 misses anyway.  Nothing
 * inside a block moves the epoch but a CSR instruction (sstatus.SUM and
 * MXR change what may be read, and the data TLB set with them): a block
 * with one takes no slots. */
#define H_SITE(s) hoff(offsetof(struct hart, jit_site) + sizeof(struct jit_site) * (s))
#define H_SITE_ADDEND(s) (H_SITE(s) + (int32_t)offsetof(struct jit_site, addend))
#define H_SITE_EPOCH hoff(offsetof(struct hart, jit_site_epoch))

/* The first slot of kind `store` (0 loads: even, 1 stores: odd) after
 * the block's header. */
static unsigned site_first(const struct jbuf *b, bool store)
{
    unsigned first = b->site_hdr + 1;
    return first + ((first & 1) ^ store);
}

void jit_sites_init(struct jbuf *b, struct dcache *dc)
{
    unsigned n[2] = { b->plan.nload, b->plan.nstore };   /* plan_walk's counts */
    b->nsite[0] = b->nsite[1] = b->maxsite[0] = b->maxsite[1] = 0;
    b->site_check = NULL;
    if (b->plan.csr)
        return;
    /* A store waits on nothing the TLB probe's latency would hold up:
     * only a looping block's stores, which run pass after pass, take
     * sites (a site costs code: the probe inline, and the TLB probe and
     * the fill out of line). */
    if (!b->ra.loops)
        n[1] = 0;
    for (unsigned k = 0; k < 2; k++)
        b->maxsite[k] = n[k] < JIT_BLOCK_SITES ? n[k] : JIT_BLOCK_SITES;
    unsigned most = b->maxsite[0] > b->maxsite[1] ? b->maxsite[0] : b->maxsite[1];
    if (!most)
        return;
    /* The header, then 2 * most + 1 slots: `most` even and odd ones
     * whatever the parity they start at. */
    if (dc->jit_site_next + 2 + 2 * most > JIT_SITES) {
        dc->jit_site_next = 0;
        dc->jit_site_lap++;
    }
    b->site_hdr = dc->jit_site_next;
    dc->jit_site_next += 2 + 2 * most;
    /* The header is tagged with the lap: after a wrap, a block of this
     * lap may start its run where one of an earlier lap (still in the
     * code cache) started a shorter one.  Refreshed by that block, an
     * untagged header would pass for this one's with its further slots
     * left from an old epoch. */
    uint64_t tag = dc->jit_site_lap << JIT_SITE_EPOCH_BITS;
    if (tag) {
        mov_imm64(b, RCX, tag);
        op_rm(b, 1, 0x03, RCX, JIT_HART, H_SITE_EPOCH);       /* add rcx, [epoch] */
    } else {
        op_rm(b, 1, 0x8b, RCX, JIT_HART, H_SITE_EPOCH);       /* mov rcx, [epoch] */
    }
    op_rm(b, 1, 0x3b, RCX, JIT_HART, H_SITE(b->site_hdr));    /* cmp rcx, [header] */
    b->site_check = jcc_fwd(b, CC_NE);
    b->site_back = b->p;
}

/* The block's head's way out when its slots are of another epoch
 * (rcx = the tagged epoch): empty them, write the header, go back. */
static void emit_sites_refresh(struct jbuf *b)
{
    patch(b, b->site_check, b->p);
    op_rr(b, 0, 0x31, RDX, RDX);                              /* xor edx, edx */
    for (unsigned k = 0; k < 2; k++)
        for (unsigned i = 0; i < b->nsite[k]; i++)   /* the slots it took: the rest of
                                                        its run are others' or none's */
            op_rm(b, 1, 0x89, RDX, JIT_HART, H_SITE_ADDEND(site_first(b, k) + 2 * i));
    op_rm(b, 1, 0x89, RDX, JIT_HART, H_SITE_ADDEND(b->site_hdr));   /* addend = 0 */
    op_rm(b, 1, 0x89, RCX, JIT_HART, H_SITE(b->site_hdr));    /* mov [header], rcx */
    b1(b, 0xe9); b4(b, (uint32_t)(int32_t)(b->site_back - (b->p + 4)));   /* jmp back */
    b->site_check = NULL;
}

/* The next site cache for a load (store: false) or store of the block,
 * or -1. */
static int site_take(struct jbuf *b, bool store)
{
    if (b->nsite[store] == b->maxsite[store])
        return -1;
    return (int)(site_first(b, store) + 2 * b->nsite[store]++);
}

/* With rax = the address of an access of `span` bytes: when site s
 * holds its page, rcx = the addend; else jump to the two returned sites
 * (patched by the caller).  rax ^ page is the page offset when rax is in
 * the page, else 4096 or more; the access stays in the page when that
 * offset is at most 4096 - span. */
static void emit_site_probe(struct jbuf *b, int s, unsigned span, uint8_t *miss[2])
{
    op_rr(b, 1, 0x8b, RCX, RAX);                            /* mov rcx, rax */
    op_rm(b, 1, 0x33, RCX, JIT_HART, H_SITE(s));            /* xor rcx, [page] */
    alu_imm(b, 1, 7, RCX, 4096 - (int32_t)span);            /* cmp rcx, 4096 - span */
    miss[0] = jcc_fwd(b, CC_A);
    op_rm(b, 1, 0x8b, RCX, JIT_HART, H_SITE_ADDEND(s));     /* mov rcx, [addend] */
    op_rr(b, 1, 0x85, RCX, RCX);                            /* test rcx, rcx */
    miss[1] = jcc_fwd(b, CC_E);
}

/* After a probe that hit (rax = the access's address, rcx = the addend):
 * site s holds rax's page.  Clobbers rdx. */
static void emit_site_fill(struct jbuf *b, int s)
{
    op_rm(b, 1, 0x89, RCX, JIT_HART, H_SITE_ADDEND(s));     /* mov [addend], rcx */
    op_rr(b, 1, 0x8b, RDX, RAX);                            /* mov rdx, rax */
    alu_imm(b, 1, 4, RDX, -4096);                           /* and rdx, ~0xfff */
    op_rm(b, 1, 0x89, RDX, JIT_HART, H_SITE(s));            /* mov [page], rdx */
}

unsigned jit_site_stub_off(bool store, unsigned size)
{
    return JIT_STUB_SITE + JIT_SITE_STUB_SIZE * (4 * store + (unsigned)__builtin_ctz(size));
}

void jit_emit_site_stub(struct jbuf *b, bool store, unsigned size)
{
    b1(b, 0x51);                                        /* push rcx: the site */
    uint8_t *miss = emit_tlb(b, store ? TLB_STORE : TLB_LOAD, size, true);
    b1(b, 0x5a);                                        /* pop rdx */
    op_rmx(b, 1, 0x89, RCX, JIT_HART, RDX, 8);          /* mov [rbx + rdx + 8], rcx: addend */
    op_rmx(b, 1, 0x89, RAX, JIT_HART, RDX, 0);          /* mov [rbx + rdx], rax */
    op_rmx(b, 1, 0x81, 4, JIT_HART, RDX, 0);
    b4(b, (uint32_t)-4096);                             /* and qword [rbx + rdx], ~0xfff */
    op_rr(b, 1, 0x85, RCX, RCX);                        /* test rcx, rcx: ZF clear */
    b1(b, 0xc3);                                        /* ret */
    patch(b, miss, b->p);
    b1(b, 0x5a);                                        /* pop rdx */
    op_rr(b, 0, 0x31, RCX, RCX);                        /* xor ecx, ecx: ZF set */
    b1(b, 0xc3);                                        /* ret */
}

void jit_emit_mem_thunks(struct jbuf *b, uint8_t *code)
{
    b->p = code + JIT_STUB_MEM;
    call_abs_thunk(b, (const void *)jit_load);
    b->p = code + JIT_STUB_MEM + JIT_MEM_THUNK;
    call_abs_thunk(b, (const void *)jit_store);
}

enum { GROUP_NONE, GROUP_JOIN, GROUP_START };
/* Is the access `in` (at block offset `off`, instruction `count`; kind
 * k) in the current group of its kind (GROUP_JOIN), or the first of a
 * new one (GROUP_START, the group's state set)? */
static int mem_group(struct jbuf *b, const struct insn *in, int32_t off, uint32_t count,
                     unsigned k)
{
    struct jgroup *g = &b->grp[k];
    int32_t size = (int32_t)mem_size(in->op);
    if (!in->rs1 || in->rs1 >= 32 || !group_kind(in->op, k))
        return GROUP_NONE;
    if (g->reg == in->rs1 && in->imm >= g->lo && in->imm + size <= g->hi)
        return GROUP_JOIN;
    if (!k && in->rd == in->rs1)
        return GROUP_NONE;   /* the load ends its own group */
    /* The accesses after it that would join, as far as the block goes
     * straight on and x[rs1] stays (the plan's walk: a difference costs
     * only speed, each access checks its offsets against the group's). */
    int32_t lo = in->imm, hi = in->imm + size;
    unsigned joined = 0, o = b->start + (unsigned)off + 2u * in->len;
    for (unsigned n = count + 1; n < b->plan.n && o < 4096; n++) {
        struct insn tmp;
        const struct insn *x = dcache_slot_insn(b->dp, o, &tmp);
        if ((x == &tmp && !b->through) || o + 2u * x->len > 4096 || op_is_csr(x->op) ||
            x->op == OP_JAL || x->op == OP_JALR)
            break;
        if (group_kind(x->op, k) && x->rs1 == in->rs1) {
            int32_t end = x->imm + (int32_t)mem_size(x->op);
            int32_t l = x->imm < lo ? x->imm : lo, h = end > hi ? end : hi;
            if (h - l <= GROUP_SPAN) {
                lo = l;
                hi = h;
                joined++;
            }
        }
        if (x->rd == in->rs1)
            break;   /* written (or a store's or branch's field: harmless) */
        o += 2u * x->len;
    }
    if (!joined)
        return GROUP_NONE;
    *g = (struct jgroup){ .reg = (uint8_t)in->rs1, .lo = lo, .hi = hi, .addend = H_ADDEND(k) };
    return GROUP_START;
}

/* The load itself, from [base + index + disp] (base: rax or x[rs1]'s
 * register; index: rcx or rdx, the page's addend) into x[rd]'s register
 * or rcx, and x[rd] set from it. */
static void emit_load_value(struct jbuf *b, const struct insn *in, int base, int index,
                            int32_t disp)
{
    int t = jit_dst_x(b, in->rd, 33);
    if (t == RAX)
        t = RCX;
    switch (in->op) {
    case OP_LB:  op_rmx2(b, 1, 0xbe, t, base, index, disp); break;   /* movsx t, byte */
    case OP_LBU: op_rmx2(b, 0, 0xb6, t, base, index, disp); break;   /* movzx t32, byte */
    case OP_LH:  op_rmx2(b, 1, 0xbf, t, base, index, disp); break;   /* movsx t, word */
    case OP_LHU: op_rmx2(b, 0, 0xb7, t, base, index, disp); break;   /* movzx t32, word */
    case OP_LW:  op_rmx(b, 1, 0x63, t, base, index, disp); break;    /* movsxd t, dword */
    case OP_LWU: op_rmx(b, 0, 0x8b, t, base, index, disp); break;    /* mov t32, dword */
    default:     op_rmx(b, 1, 0x8b, t, base, index, disp); break;    /* mov t, qword */
    }
    if (t == RCX)
        jit_put_x(b, RCX, in->rd);
    else
        jit_dst_done(b, t, in->rd);
}

static void emit_store_value(struct jbuf *b, const struct insn *in, int base, int index,
                             int32_t disp);

/* What an out-of-line way does first: the slow path (after the TLB
 * probe's miss); the TLB probe (after a site cache's or a group
 * addend's miss); a group's span probe (after its site cache's miss),
 * or what follows that probe's miss. */
enum { COLD_SLOW, COLD_PROBE, COLD_SPAN, COLD_SPAN_MISS };

/* An access's inline hit, at x[rs1] + imm + index (index: rcx or rdx,
 * the page's addend): from x[rs1]'s register when it has one, so that
 * the add into rax (the probe's address) is not on the way from x[rs1]
 * to the data (a list's next pointer at an offset, each node's address
 * the last one's data); else at rax + index + disp_rax (rax + disp_rax:
 * x[rs1] + imm). */
static void access_hit(struct jbuf *b, const struct insn *in,
                       void (*access)(struct jbuf *, const struct insn *, int, int, int32_t),
                       int index, int32_t disp_rax)
{
    int h = jit_host_x(b, in->rs1);
    if (h >= 0)
        access(b, in, h, index, in->imm);
    else
        access(b, in, RAX, index, disp_rax);
}

/* A load or store (`access` makes it at rax + index + disp), group kind
 * k (TLB entries `tlb` bytes from r14), with only the way that hits
 * inline; the rest goes out of line after the block (struct jcold,
 * jit_emit_cold), so that a hit runs straight on:
 * - GROUP_NONE: the site cache's probe (in a looping block; then the
 *   TLB's out of line) or the TLB's, and the access at rax + rcx
 *   (rax = x[rs1] + imm, rcx = the addend);
 * - GROUP_START: the site cache's probe or the probe of the group's
 *   whole span (keeping the addend in h->jit_addend[k]), and the access
 *   at rax + rcx + imm - lo (rax = x[rs1] + lo, the span's start); on a
 *   miss the span's probe and the access's own out of line;
 * - GROUP_JOIN: a test of the kept addend and the access at rax + rdx
 *   (rdx = the addend); when it is 0, the access's own probe out of
 *   line.
 * Each hit's access is made from x[rs1]'s register instead of rax when
 * x[rs1] has one (access_hit); a join then computes no rax inline.
 * One record per guest instruction: a block takes at most
 * JIT_MAX_INSNS. */
static void emit_access(struct jbuf *b, const struct insn *in, int group, unsigned k,
                        int32_t off, uint32_t count, int32_t tlb,
                        void (*access)(struct jbuf *, const struct insn *, int, int, int32_t))
{
    struct jcold *c = &b->cold[b->ncold++];
    *c = (struct jcold){ .in = *in, .off = off, .count = count, .site = -1 };
    if (group == GROUP_START) {
        struct jgroup *g = &b->grp[k];
        unsigned span = (unsigned)(g->hi - g->lo);
        c->lo = g->lo;
        c->hi = g->hi;
        c->site = site_take(b, k);
        emit_ea_at(b, in->rs1, g->lo);
        c->ra = b->ra;
        if (c->site >= 0) {
            g->addend = H_SITE_ADDEND(c->site);
            c->kind = COLD_SPAN;
            emit_site_probe(b, c->site, span, c->jumps);
        } else {
            c->kind = COLD_SPAN_MISS;
            c->jumps[0] = emit_tlb(b, tlb, span, true);
            op_rm(b, 1, 0x89, RCX, JIT_HART, g->addend);    /* mov [jit_addend], rcx */
        }
        c->addend = g->addend;
        access_hit(b, in, access, RCX, in->imm - g->lo);
    } else if (group == GROUP_JOIN) {
        /* With x[rs1] in a register the hit needs no rax: the way out
         * computes it (the same register state there). */
        c->ea_cold = jit_host_x(b, in->rs1) >= 0;
        if (!c->ea_cold)
            emit_ea(b, in);
        c->ra = b->ra;
        c->kind = COLD_PROBE;
        op_rm(b, 1, 0x8b, RDX, JIT_HART, b->grp[k].addend);  /* mov rdx, [addend] */
        op_rr(b, 1, 0x85, RDX, RDX);                       /* test rdx, rdx */
        c->jumps[0] = jcc_fwd(b, CC_E);
        access_hit(b, in, access, RDX, 0);
    } else {
        unsigned size = mem_size(in->op);
        emit_ea(b, in);
        c->ra = b->ra;
        c->site = site_take(b, k);
        if (c->site >= 0) {
            c->kind = COLD_PROBE;
            emit_site_probe(b, c->site, size, c->jumps);
        } else {
            c->kind = COLD_SLOW;
            c->jumps[0] = emit_tlb(b, tlb, size, true);
        }
        c->retry = b->p;
        access_hit(b, in, access, RCX, 0);
    }
    c->hit = b->ra;
    c->back = b->p;
}

/* jmp back */
static void jmp_to(struct jbuf *b, uint8_t *to)
{
    b1(b, 0xe9); b4(b, (uint32_t)(int32_t)(to - (b->p + 4)));
}

void jit_emit_cold(struct jbuf *b, uint8_t *epi)
{
    if (b->site_check)
        emit_sites_refresh(b);
    for (unsigned i = 0; i < b->ncold; i++) {
        const struct jcold *c = &b->cold[i];
        const struct insn *in = &c->in;
        bool store = op_is_store(in->op);
        unsigned size = mem_size(in->op);
        for (unsigned j = 0; j < 2; j++)
            if (c->jumps[j])
                patch(b, c->jumps[j], b->p);
        b->ra = c->ra;      /* rax = the address (a span's start), as at the jumps */
        if (c->ea_cold)
            emit_ea(b, in);
        int32_t tlb = store ? TLB_STORE : TLB_LOAD;
        void (*access)(struct jbuf *, const struct insn *, int, int, int32_t) =
            store ? emit_store_value : emit_load_value;
        if (c->kind == COLD_SPAN) {
            uint8_t *miss = emit_tlb(b, tlb, (unsigned)(c->hi - c->lo), true);
            emit_site_fill(b, c->site);
            access(b, in, RAX, RCX, in->imm - c->lo);
            jmp_to(b, c->back);
            patch(b, miss, b->p);
            b->ra = c->ra;
        }
        if (c->kind == COLD_SPAN || c->kind == COLD_SPAN_MISS) {
            mov_mem_imm(b, 1, JIT_HART, c->addend, 0);       /* addend = 0 */
            emit_ea(b, in);
        }
        if (c->kind == COLD_PROBE && c->site >= 0) {
            /* A lone access's site missed: the shared stub probes the
             * TLB and fills the site; the access is made again inline. */
            b1(b, 0xb9); b4(b, (uint32_t)H_SITE(c->site));    /* mov ecx, site */
            call_rel(b, epi + jit_site_stub_off(store, size));
            b1(b, 0x0f); b1(b, 0x85);                               /* jne retry */
            b4(b, (uint32_t)(int32_t)(c->retry - (b->p + 4)));
        } else if (c->kind != COLD_SLOW) {
            uint8_t *miss = emit_tlb(b, tlb, size, true);
            access(b, in, RAX, RCX, 0);
            jmp_to(b, c->back);
            patch(b, miss, b->p);
            b->ra = c->ra;
        }
        if (store)
            b->ra = c->hit;   /* a store changes no register's state */
        jit_regs_writeback(b);
        op_rm(b, 1, 0x8d, RDI, JIT_HART, -JIT_H_BIAS);   /* rdi = h */
        op_rr(b, 1, 0x8b, RSI, RAX);                     /* mov rsi, rax */
        b1(b, 0xba);                                     /* mov edx, desc */
        if (store)
            b4(b, (uint32_t)(in->rs2 | (size << 8) | ((uint32_t)op_is_fp_mem(in->op) << 16)));
        else
            b4(b, (uint32_t)(in->rd | (in->op << 8)));
        call_rel(b, epi + JIT_STUB_MEM + (store ? JIT_MEM_THUNK : 0));
        jit_exc_check(b, c->off, c->count, epi);
        jit_regs_reload(b, c->hit.valid);                /* a load's rd too */
        jmp_to(b, c->back);
    }
    b->ncold = 0;
}

void jit_emit_load(struct jbuf *b, const struct insn *in, int32_t off, uint32_t count,
                   uint8_t *epi)
{
    if (op_is_fp_mem(in->op)) {   /* in no group, with no site cache */
        emit_ea(b, in);
        fp_load_hit_and_miss(b, in, emit_tlb(b, TLB_LOAD, mem_size(in->op), false), off,
                             count, epi);
        return;
    }
    emit_access(b, in, mem_group(b, in, off, count, 0), 0, off, count, TLB_LOAD,
                emit_load_value);
}

/* The store itself, of x[rs2] (or f[rs2]) to [rax + index + disp]
 * (index: rcx or rdx, the page's addend; the value goes through the
 * other when x[rs2] is not held). */
static void emit_store_value(struct jbuf *b, const struct insn *in, int base, int index,
                             int32_t disp)
{
    unsigned size = mem_size(in->op);
    bool fp = op_is_fp_mem(in->op);
    int scratch = index == RCX ? RDX : RCX;
    int v = fp ? -1 : jit_host_x(b, in->rs2);
    if (fp) {
        v = scratch;
        op_rm(b, 1, 0x8b, v, JIT_HART, JIT_F_OFF(in->rs2));     /* mov v, f[rs2] */
    } else if (v < 0) {
        v = scratch;
        jit_get_x(b, v, in->rs2);
    }
    switch (size) {
    case 1:                                                 /* mov [...], v8 */
        if (v == RSI || v == RDI || v == RBP)
            b1(b, 0x40);                                    /* sil/dil/bpl, not dh/bh/ch */
        op_rmx(b, 0, 0x88, v, base, index, disp);
        break;
    case 2: b1(b, 0x66); op_rmx(b, 0, 0x89, v, base, index, disp); break;
    case 4: op_rmx(b, 0, 0x89, v, base, index, disp); break;
    default: op_rmx(b, 1, 0x89, v, base, index, disp); break;
    }
}

void jit_emit_store(struct jbuf *b, const struct insn *in, int32_t off, uint32_t count)
{
    emit_access(b, in, mem_group(b, in, off, count, 1), 1, off, count, TLB_STORE,
                emit_store_value);
}

/* Call jit_exec_slot(h, copy of `in`) with the copy kept (aligned) in
 * the code buffer: the slot itself may be cleared while the block runs.
 * eax = the exception cause or 0. */
void jit_emit_slot_call(struct jbuf *b, const struct insn *in)
{
    jit_emit_slot_call_fn(b, in, (const void *)jit_exec_slot);
}

void jit_emit_slot_call_fn(struct jbuf *b, const struct insn *in, const void *fn)
{
    uint8_t *over = jmp_fwd(b);
    while ((uintptr_t)b->p % _Alignof(struct insn))
        b1(b, 0xcc);                                        /* int3: jumped over */
    uint8_t *copy = b->p;
    memcpy(b->p + b->w, in, sizeof(*in));
    b->p += sizeof(*in);
    patch(b, over, b->p);
    op_rm(b, 1, 0x8d, RDI, JIT_HART, -JIT_H_BIAS);                  /* rdi = h */
    mov_imm64(b, RSI, (uint64_t)(uintptr_t)copy);
    call_abs(b, fn);
}

/* Atomics (Unprivileged ISA chapter 8) with their page in the data TLB:
 * inline, on the host pointer, with x86 locked instructions (every one
 * of them a full barrier, which covers any aq/rl).  LR takes the load
 * TLB, SC and the AMOs the store TLB: a store entry implies reading and
 * never maps a page holding decoded code (mmu_atomic_ptr), so no
 * translation can go stale.  The reservation records the host address
 * (amo.c).  A misaligned address or a TLB miss runs amo_exec out of line,
 * which raises the fault.  AMOMIN/MAX stay out of line: rare in practice. */
static bool amo_inline(unsigned op)
{
    switch (op) {
    case OP_LR_W: case OP_SC_W: case OP_LR_D: case OP_SC_D:
    case OP_AMOSWAP_W: case OP_AMOADD_W: case OP_AMOXOR_W: case OP_AMOAND_W: case OP_AMOOR_W:
    case OP_AMOSWAP_D: case OP_AMOADD_D: case OP_AMOXOR_D: case OP_AMOAND_D: case OP_AMOOR_D:
        return true;
    }
    return false;
}

void jit_emit_amo(struct jbuf *b, const struct insn *in, int32_t off, uint32_t count,
                  uint8_t *epi)
{
    if (!amo_inline(in->op)) {
        jit_regs_writeback(b);
        jit_emit_slot_call(b, in);
        jit_exc_check(b, off, count, epi);
        jit_regs_reload(b, b->ra.valid);    /* rd too, if held and valid */
        return;
    }
    int w = in->op >= OP_LR_D;
    unsigned op = w ? in->op - (OP_LR_D - OP_LR_W) : in->op;
    unsigned size = w ? 8 : 4;
    jit_get_x(b, RAX, in->rs1);
    struct jregs before = b->ra;
    b1(b, 0xa8); b1(b, (uint8_t)(size - 1));            /* test al, size-1 */
    uint8_t *mis = jcc_fwd(b, CC_NE);
    uint8_t *miss = emit_tlb(b, op == OP_LR_W ? TLB_LOAD : TLB_STORE, size, false);
    const int32_t valid = hoff(offsetof(struct hart, resv_valid));
    const int32_t rhost = hoff(offsetof(struct hart, resv_host));
    const int32_t rval = hoff(offsetof(struct hart, resv_val));
    switch (op) {
    case OP_LR_W:
        if (w)
            op_rm(b, 1, 0x8b, RCX, RAX, 0);             /* mov rcx, [rax] */
        else
            op_rm(b, 1, 0x63, RCX, RAX, 0);             /* movsxd rcx, [rax] */
        op_rm(b, 1, 0x89, RAX, JIT_HART, rhost);
        op_rm(b, 1, 0x89, RCX, JIT_HART, rval);
        rex(b, 0, 0, JIT_HART); b1(b, 0xc6); mem(b, 0, JIT_HART, valid); b1(b, 1);  /* mov byte, 1 */
        jit_put_x(b, RCX, in->rd);
        break;
    case OP_SC_W: {
        op_rr(b, 1, 0x8b, RDX, RAX);                    /* mov rdx, rax */
        b1(b, 0xb9); b4(b, 1);                          /* mov ecx, 1 (failed) */
        rex(b, 0, 0, JIT_HART); b1(b, 0x80); mem(b, 7, JIT_HART, valid); b1(b, 0);  /* cmp byte, 0 */
        uint8_t *f1 = jcc_fwd(b, CC_E);
        op_rm(b, 1, 0x3b, RDX, JIT_HART, rhost);             /* cmp rdx, [resv_host] */
        uint8_t *f2 = jcc_fwd(b, CC_NE);
        op_rm(b, 1, 0x8b, RAX, JIT_HART, rval);              /* rax = value LR read */
        jit_get_x(b, RCX, in->rs2);
        b1(b, 0xf0);                                    /* lock cmpxchg [rdx], rcx */
        op_rm2(b, w, 0xb1, RCX, RDX, 0);
        b1(b, 0x0f); b1(b, 0x95); b1(b, 0xc1);          /* setne cl */
        b1(b, 0x0f); b1(b, 0xb6); b1(b, 0xc9);          /* movzx ecx, cl */
        patch(b, f1, b->p);
        patch(b, f2, b->p);
        rex(b, 0, 0, JIT_HART); b1(b, 0xc6); mem(b, 0, JIT_HART, valid); b1(b, 0);  /* mov byte, 0 */
        jit_put_x(b, RCX, in->rd);
        break;
    }
    case OP_AMOSWAP_W: case OP_AMOADD_W:
        jit_get_x(b, RCX, in->rs2);
        if (op == OP_AMOADD_W) {
            b1(b, 0xf0);                                /* lock xadd [rax], rcx */
            op_rm2(b, w, 0xc1, RCX, RAX, 0);
        } else {
            op_rm(b, w, 0x87, RCX, RAX, 0);             /* xchg [rax], rcx (locked) */
        }
        if (in->rd != 32) {
            if (!w)
                op_rr(b, 1, 0x63, RCX, RCX);            /* movsxd rcx, ecx */
            jit_put_x(b, RCX, in->rd);
        }
        break;
    default: {                                          /* AMOXOR, AMOAND, AMOOR */
        uint8_t alu = op == OP_AMOXOR_W ? 0x31 : op == OP_AMOAND_W ? 0x21 : 0x09;
        if (in->rd == 32) {                             /* no old value: lock op [rax], rcx */
            jit_get_x(b, RCX, in->rs2);
            b1(b, 0xf0);
            op_rm(b, w, alu, RCX, RAX, 0);
            break;
        }
        op_rr(b, 1, 0x8b, RDX, RAX);                    /* mov rdx, rax */
        op_rm(b, w, 0x8b, RAX, RDX, 0);                 /* rax = old */
        uint8_t *again = b->p;
        op_rr(b, 1, 0x8b, RCX, RAX);                    /* rcx = old op x[rs2] */
        jit_op_x(b, w, (uint8_t)(alu + 2), RCX, in->rs2);
        b1(b, 0xf0);                                    /* lock cmpxchg [rdx], rcx */
        op_rm2(b, w, 0xb1, RCX, RDX, 0);
        b1(b, 0x75); b1(b, (uint8_t)(again - (b->p + 1)));   /* jne again (rax = current) */
        if (!w)
            movsxd_rax_eax(b);
        jit_put_x(b, RAX, in->rd);
        break;
    }
    }
    struct jregs hit = b->ra;
    uint8_t *done = jmp_fwd(b);
    patch(b, mis, b->p);
    patch(b, miss, b->p);
    b->ra = before;
    jit_regs_writeback(b);
    jit_emit_slot_call(b, in);
    jit_exc_check(b, off, count, epi);
    jit_regs_reload(b, hit.valid);           /* rd too: amo_exec wrote it */
    b->ra = hit;
    patch(b, done, b->p);
}

#endif
