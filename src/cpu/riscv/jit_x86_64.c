/* cpu/riscv: block translator to x86-64 machine code (see jit.h).
 *
 * Guest registers live in h->x[]; up to ten at a time are held in host
 * registers while a block runs (jit_x86_64_regs.c).  Each guest
 * instruction becomes a few host instructions, with rax/rcx/rdx as
 * scratch.  Registers fixed for the whole block (callee-saved): rbx =
 * h + 128 bytes (JIT_HART; h->x[] is at its start, all a disp8 away),
 * r14 = the load TLB of the current data privilege (the store TLB a
 * fixed distance on).  The virtual address of the page the chain is in
 * (each block adds its own offset in the page, a constant) and the budget
 * the chain may still spend are in h->jit_vpc and h->jit_left.
 *
 * Chaining: a block that ends with a branch, a jump or by running off its
 * page does not return to the interpreter when it can help it.  It jumps
 * to a shared stub (at the start of the code buffer, with the shared
 * epilogue) that charges the block's count to the budget (h->jit_left),
 * polls h->events, looks the target up in the fetch TLB of the current
 * privilege, and, when the target's slot holds a translation, enters that
 * block past its prologue.  Privilege, translation and interrupt enables
 * cannot change inside translated code (nothing that changes them is
 * translated), so the TLB hit is as good as the interpreter's refetch;
 * every transition re-reads the slot, so a cleared slot (a store to the
 * page, FENCE.I) is never entered.
 *
 * Exits to a fixed target in the same page (branches, JAL, the block-size
 * cut) are linked directly: the first time the target is translated, the
 * exit's jump is patched to enter it, so only the budget's charge
 * remains (emit_link_exit): h->jit_vpc, the page's, stays as it is.  Blocks die together: every block of a page (a store to the
 * page or a changed page after FENCE.I retires the page, slots and all)
 * or every block of a code-buffer region (recycling, below), and a link
 * stays within one page and leads into the same or a newer region
 * (recycled no sooner), so a linked jump only leads from
 * dead code to dead code, which nothing enters any more; a block still
 * running when its own page is written
 * may finish into stale code of that page, as hardware may before a
 * FENCE.I (Zifencei).
 * Loads, stores and atomics (jit_x86_64_mem.c) look up the software TLB
 * inline (the same entries the interpreter uses) and call the C slow path
 * on a miss.
 * Division, CPOP and ORC.B call small C helpers: they are rare and full
 * of corner cases.  The high multiplies are inline (one-operand MUL/IMUL). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit.h"
#include "cpu/riscv/jit_x86_64_asm.h"

#if defined(__x86_64__)

/* The code buffer is a ring of JIT_REGIONS regions filled in turn (FIFO).
 * When the current one is full the next, the oldest, is recycled: the slots
 * publishing its blocks go back to OP_DECODE (dcache_unpublish_region),
 * the links patched into it from newer regions are set back (jit_in), and
 * since exits are linked only within one page, nothing else leads into
 * it.  It is rewritten once every hart has passed a quiescent point
 * (region_ready): one may still be running its old code.
 * Hot blocks are translated again after JIT_HOT entries; code of pages the
 * decoded-page cache evicted is reclaimed the same way.  The size bounds
 * the host memory translations cost (bench/boot: peak RSS). */
#define JIT_BUF_SIZE (16u << 20)
#define JIT_REGIONS 8
#define JIT_STUBS 4096   /* the shared stubs' page at the start; kept by resets */
#define JIT_REGION_SIZE (((JIT_BUF_SIZE - JIT_STUBS) / JIT_REGIONS) & ~4095u)
#define JIT_POPULATE_STEP (64u << 10)   /* bytes mapped ahead (jit_populate_ahead) */
/* Linux 5.14 uapi values, for C libraries whose headers predate them
 * (the kernel then refuses them, and pages fault in as before). */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* ---- C helpers called from translated code ---- */

static uint64_t jit_divrem(uint64_t a, uint64_t b, uint32_t op)
{
    switch (op) {
    case OP_DIV:
        if (!b) return ~0ULL;
        if ((int64_t)a == INT64_MIN && (int64_t)b == -1) return a;
        return (uint64_t)((int64_t)a / (int64_t)b);
    case OP_DIVU: return b ? a / b : ~0ULL;
    case OP_REM:
        if (!b) return a;
        if ((int64_t)a == INT64_MIN && (int64_t)b == -1) return 0;
        return (uint64_t)((int64_t)a % (int64_t)b);
    case OP_REMU: return b ? a % b : a;
    case OP_DIVW: {
        int32_t x = (int32_t)a, y = (int32_t)b;
        return (uint64_t)(int64_t)(y == 0 ? -1 : (x == INT32_MIN && y == -1) ? x : x / y);
    }
    case OP_DIVUW: {
        uint32_t x = (uint32_t)a, y = (uint32_t)b;
        return (uint64_t)(int64_t)(int32_t)(y ? x / y : ~0u);
    }
    case OP_REMW: {
        int32_t x = (int32_t)a, y = (int32_t)b;
        return (uint64_t)(int64_t)(y == 0 ? x : (x == INT32_MIN && y == -1) ? 0 : x % y);
    }
    case OP_REMUW: {
        uint32_t x = (uint32_t)a, y = (uint32_t)b;
        return (uint64_t)(int64_t)(int32_t)(y ? x % y : x);
    }
    }
    return 0;
}

/* The shared stubs' offsets in the code buffer: epilogue at 0, then
 * these. */
#define JIT_STUB_CHAIN 64
#define JIT_STUB_LEAVE 448   /* back to the interpreter at rcx, charged */
#define JIT_STUB_EXC 512   /* then the site stubs (JIT_STUB_SITE, jit_x86_64_asm.h) */
#define JIT_STUB_LINK 2048  /* a linked exit's resolver (emit_link_stub); then
                               the slow paths' thunks (JIT_STUB_MEM) */

/* The chain's budget and its page's virtual address live in the hart,
 * not in host registers: the callee-saved ones hold guest registers
 * instead (JIT_CACHED).  The page's, not the block's pc: a linked exit
 * stays in the page, so it leaves h->jit_vpc alone, where an `add
 * [vpc], rel` waited for the one before it (store forwarding) at every
 * block transition. */
#define H_LEFT JIT_H_LEFT
#define H_VPC hoff(offsetof(struct hart, jit_vpc))

/* op qword [hart + disp], imm; digit: 0 add, 5 sub (sets the flags) */
static void alu_hart_imm(struct jbuf *b, int digit, int32_t disp, int32_t imm)
{
    bool i8 = imm >= -128 && imm <= 127;
    rex(b, 1, 0, JIT_HART);
    b1(b, i8 ? 0x83 : 0x81);
    mem(b, digit, JIT_HART, disp);
    if (i8)
        b1(b, (uint8_t)imm);
    else
        b4(b, (uint32_t)imm);
}

/* Charge `count` retired instructions to the chain's budget; the flags
 * then say whether it is spent (jle). */
static void charge(struct jbuf *b, uint32_t count)
{
    alu_hart_imm(b, 5, H_LEFT, (int32_t)count);          /* sub qword [left], count */
}

/* reg = the block's virtual pc + disp: its page's, h->jit_vpc, plus its
 * offset in the page and disp. */
static void lea_vpc(struct jbuf *b, int reg, int32_t disp)
{
    op_rm(b, 1, 0x8b, reg, JIT_HART, H_VPC);             /* mov reg, [vpc] */
    if ((int32_t)b->start + disp)
        op_rm(b, 1, 0x8d, reg, reg, (int32_t)b->start + disp);   /* lea reg, [reg + ...] */
}

/* Exit the block: charge count, jump to the shared epilogue. */
static void emit_exit(struct jbuf *b, uint32_t count, uint8_t *epilogue)
{
    if (count)
        charge(b, count);
    b1(b, 0xe9);                           /* jmp epilogue */
    b4(b, (uint32_t)(int32_t)(epilogue - (b->p + 4)));
}

/* h->pc = vpc + off (via rcx) */
static void set_pc_rel(struct jbuf *b, int32_t off)
{
    lea_vpc(b, RCX, off);
    op_rm(b, 1, 0x89, RCX, JIT_HART, hoff(offsetof(struct hart, pc)));
}

/* cmp dword [events], 0 (h->events: any event raised) */
static void cmp_events(struct jbuf *b)
{
    rex(b, 0, 0, JIT_HART);
    b1(b, 0x83); mem(b, 7, JIT_HART, hoff(offsetof(struct hart, events))); b1(b, 0);
}

/* Leave the block before the instruction at `next` if an event is up.
 * After a write of sstatus, sie or sip that lets a pending interrupt in,
 * the trap must come before the next instruction (Privileged spec 3.1.9:
 * the conditions are evaluated "immediately following" such a write). */
static void emit_event_check(struct jbuf *b, int32_t next, uint32_t count, uint8_t *epilogue)
{
    cmp_events(b);
    uint8_t *none = jcc_fwd(b, CC_E);
    jit_regs_writeback(b);
    set_pc_rel(b, next);
    emit_exit(b, count, epilogue);
    patch(b, none, b->p);
}

/* After a helper call returning a cause in eax: on non-zero, record it and
 * leave with the faulting instruction's pc and the count before it.  No
 * write-back here: it came before the call, which clobbered the held
 * registers, and h->x[] is exact (the helper wrote nothing on a fault). */
void jit_exc_check(struct jbuf *b, int32_t off, uint32_t count, uint8_t *epilogue)
{
    /* 19 bytes a site (the shared stub does the rest): there is one
     * after every slow-path call, most loads and stores have one. */
    b1(b, 0x85); b1(b, 0xc0);                 /* test eax, eax */
    b1(b, 0x74); b1(b, 15);                   /* je over the next 15 bytes */
    b1(b, 0xba); b4(b, b->start + (uint32_t)off);   /* mov edx, offset in the page */
    b1(b, 0xb9); b4(b, count);                /* mov ecx, count */
    uint8_t *stub = epilogue + JIT_STUB_EXC;
    b1(b, 0xe9); b4(b, (uint32_t)(int32_t)(stub - (b->p + 4)));   /* jmp stub */
}

/* The shared tail of jit_exc_check: eax = the helper's cause, edx = the
 * faulting instruction's offset in the page at h->jit_vpc, ecx = the
 * count retired before it. */
static void emit_exc_stub(struct jbuf *b, uint8_t *epilogue)
{
    op_rm(b, 1, 0x29, RCX, JIT_HART, H_LEFT);      /* sub [left], rcx */
    b1(b, 0xff); b1(b, 0xc0);                 /* inc eax (cause + 1) */
    op_rm(b, 0, 0x89, RAX, JIT_HART, hoff(offsetof(struct hart, jit_exc)));
    op_rm(b, 1, 0x8b, RAX, JIT_HART, H_VPC);       /* mov rax, [vpc] */
    op_rr(b, 1, 0x63, RDX, RDX);              /* movsxd rdx, edx (a page offset) */
    op_rr(b, 1, 0x03, RAX, RDX);              /* add rax, rdx */
    op_rm(b, 1, 0x89, RAX, JIT_HART, hoff(offsetof(struct hart, pc)));
    b1(b, 0xe9); b4(b, (uint32_t)(int32_t)(epilogue - (b->p + 4)));
}

static bool op_commutes(unsigned op)
{
    switch (op) {
    case OP_ADD: case OP_ADDW: case OP_AND: case OP_OR: case OP_XOR:
    case OP_MUL: case OP_MULW:
        return true;
    }
    return false;
}

/* Two-source ALU: x[rd] = x[rs1] op x[rs2], computed in x[rd]'s host
 * register when it is held (opc2: a 0f-prefixed opcode). */
static void emit_rr(struct jbuf *b, const struct insn *in, int w, uint8_t opc, uint8_t opc2)
{
    struct insn sw;
    if (in->rd == in->rs2 && in->rd != in->rs1 && op_commutes(in->op)) {
        /* rd = rs2 op rs1: computed in rd's own register, not in rax and
         * copied back ("d += t1" in SHA-256's rounds). */
        sw = *in;
        sw.rs1 = in->rs2;
        sw.rs2 = in->rs1;
        in = &sw;
    }
    int t = jit_dst_x(b, in->rd, in->rs2);
    jit_get_x(b, t, in->rs1);
    if (opc2)
        jit_op2_x(b, w, opc2, t, in->rs2);
    else
        jit_op_x(b, w, opc, t, in->rs2);
    if (!w)
        jit_dst_done32(b, t, in->rd);
    else
        jit_dst_done(b, t, in->rd);
}

/* AND, OR, XOR (opc): of two sign-extended 32-bit values, the result is
 * one too, and its low half is the low halves' (so a W operation's
 * unextended result can feed it); else 64-bit. */
static void emit_logic(struct jbuf *b, const struct insn *in, uint8_t opc)
{
    emit_rr(b, in, !(jit_is32(b, in->rs1) && jit_is32(b, in->rs2)), opc, 0);
}

static void emit_shift_reg(struct jbuf *b, const struct insn *in, int w, int digit)
{
    jit_get_x(b, RCX, in->rs2);
    int t = jit_dst_x(b, in->rd, 33);
    jit_get_x(b, t, in->rs1);
    shift_cl(b, w, digit, t);
    if (!w)
        jit_dst_done32(b, t, in->rd);
    else
        jit_dst_done(b, t, in->rd);
}

/* One-source ALU with an immediate: t = x[rs1], then the caller's op on t. */
static int emit_ri_start(struct jbuf *b, const struct insn *in)
{
    int t = jit_dst_x(b, in->rd, 33);
    jit_get_x(b, t, in->rs1);
    return t;
}

/* r14 = the load entries of h->dtlb (the store entries follow at a fixed
 * distance, jit_x86_64_mem.c). */
static void emit_load_dtlb(struct jbuf *b)
{
    op_rm(b, 1, 0x8b, R14, JIT_HART, hoff(offsetof(struct hart, dtlb)));
    alu_imm(b, 1, 0, R14, (int32_t)offsetof(struct tlb_set, e[ACC_LOAD]));
}

/* Per-block prologue: save the callee-saved registers (six pushes and 8
 * bytes keep rsp 16-aligned for the helper calls), load the fixed
 * registers.  A chained entry skips all of it: it starts JIT_PROLOGUE
 * bytes in. */
static void emit_prologue(struct jbuf *b)
{
    b1(b, 0x53);                        /* push rbx */
    b1(b, 0x55);                        /* push rbp */
    b1(b, 0x41); b1(b, 0x54);           /* push r12 */
    b1(b, 0x41); b1(b, 0x55);           /* push r13 */
    b1(b, 0x41); b1(b, 0x56);           /* push r14 */
    b1(b, 0x41); b1(b, 0x57);           /* push r15 */
    b1(b, 0x48); b1(b, 0x83); b1(b, 0xec); b1(b, 0x08);   /* sub rsp, 8 */
    op_rm(b, 1, 0x8d, JIT_HART, RDI, JIT_H_BIAS);   /* lea rbx, [rdi + bias] */
    alu_imm(b, 1, 4, RSI, -4096);             /* and rsi, ~0xfff */
    op_rm(b, 1, 0x89, RSI, JIT_HART, H_VPC);  /* mov [vpc], rsi: the page's */
    emit_load_dtlb(b);
}

/* Shared epilogue.  What the chain retired is the budget it spent: the
 * caller reads h->jit_left. */
static void emit_epilogue(struct jbuf *b)
{
    b1(b, 0x48); b1(b, 0x83); b1(b, 0xc4); b1(b, 0x08);   /* add rsp, 8 */
    b1(b, 0x41); b1(b, 0x5f);           /* pop r15 */
    b1(b, 0x41); b1(b, 0x5e);           /* pop r14 */
    b1(b, 0x41); b1(b, 0x5d);           /* pop r13 */
    b1(b, 0x41); b1(b, 0x5c);           /* pop r12 */
    b1(b, 0x5d);                        /* pop rbp */
    b1(b, 0x5b);                        /* pop rbx */
    b1(b, 0xc3);                        /* ret */
}

_Static_assert(sizeof(struct insn) == 16, "chain stub indexes slots by off * 8");
_Static_assert(sizeof(struct tlb_entry) == 32, "chain stub indexes the TLB by << 5");
_Static_assert(offsetof(struct tlb_set, e) == 0 && ACC_FETCH == 0, "fetch TLB at offset 0");
_Static_assert(offsetof(struct dpage, insn) == 0, "slots at the start of a dpage");

/* Back to the interpreter at the guest pc in rcx; the chain's count is
 * already charged. */
static void emit_leave_at_rcx(struct jbuf *b, uint8_t *epi)
{
    op_rm(b, 1, 0x89, RCX, JIT_HART, hoff(offsetof(struct hart, pc)));
    b1(b, 0xe9); b4(b, (uint32_t)(int32_t)(epi - (b->p + 4)));
}

/* rdx = the offset of guest pc rcx's jump-cache entry in h->jcache[]:
 * (pc >> 1) mod JC_SIZE entries of 32 bytes. */
_Static_assert(sizeof(struct jc_entry) == 32 && (JC_SIZE & (JC_SIZE - 1)) == 0,
               "jump-cache entries are indexed by << 4");
#define H_JC(field) hoff(offsetof(struct hart, jcache) + offsetof(struct jc_entry, field))

static void emit_jc_index(struct jbuf *b)
{
    op_rr(b, 0, 0x8b, RDX, RCX);                        /* mov edx, ecx */
    alu_imm(b, 0, 4, RDX, (JC_SIZE - 1) << 1);          /* and edx, mask << 1 */
    shift_imm(b, 0, 4, RDX, 4);                         /* shl edx, 4 */
}

/* Shared chain stub.  In: eax = instructions retired by the block ending
 * here (including its branch), rcx = the next guest pc, which the jump
 * cache did not hold (emit_chain_exit).  It looks the pc up (the fetch
 * TLB's entry, its FENCE.I generation, the decoded slot: five dependent
 * loads) and, finding a translation, fills the pc's jump-cache entry on
 * its way there.  Returns (JALR), calls and jumps to another page leave
 * their blocks this way: before the jump cache, for CoreMark, this stub
 * was 9% of the host's time.  What the lookup checks stays true of an
 * entry until jcache_invalidate moves the epoch (hart_internal.h). */
static void emit_chain_stub(struct jbuf *b, int32_t prologue, uint8_t *code)
{
    op_rm(b, 1, 0x29, RAX, JIT_HART, H_LEFT);      /* sub [left], rax */
    uint8_t *s1 = jcc_fwd(b, CC_LE);          /* spent */
    cmp_events(b);
    uint8_t *s2 = jcc_fwd(b, CC_NE);          /* an event is up */
    op_rm(b, 1, 0x8b, RAX, JIT_HART, hoff(offsetof(struct hart, itlb)));  /* rax = itlb */
    op_rr(b, 1, 0x8b, RDX, RCX);              /* mov rdx, rcx */
    shift_imm(b, 1, 5, RDX, 12);              /* shr rdx, 12 */
    op_rr(b, 0, 0x8b, RSI, RDX);              /* mov esi, edx */
    alu_imm(b, 0, 4, RSI, TLB_SIZE - 1);      /* and esi, TLB_SIZE - 1: tlb_index() */
    shift_imm(b, 0, 4, RSI, 5);               /* shl esi, 5 */
    op_rr(b, 1, 0x03, RAX, RSI);              /* add rax, rsi */
    op_rm(b, 1, 0x3b, RDX, RAX, (int32_t)offsetof(struct tlb_entry, vtag));
    uint8_t *s3 = jcc_fwd(b, CC_NE);
    /* An entry not known valid since the last FENCE.I (dcache_flush) is
     * taken by the interpreter's refetch, which revalidates its page.
     * The generation is the entry's own (its cache line is loaded
     * already), not the dpage's. */
    op_rm(b, 1, 0x8b, RDX, RAX, (int32_t)offsetof(struct tlb_entry, dgen));
    op_rm(b, 1, 0x3b, RDX, JIT_HART, hoff(offsetof(struct hart, dgen)));
    uint8_t *s5 = jcc_fwd(b, CC_NE);
    op_rm(b, 1, 0x8b, RAX, RAX, (int32_t)offsetof(struct tlb_entry, dp));
    op_rr(b, 0, 0x8b, RDX, RCX);              /* mov edx, ecx */
    alu_imm(b, 0, 4, RDX, 0xffe);             /* and edx, 0xffe */
    shift_imm(b, 0, 4, RDX, 3);               /* shl edx, 3: slot = off/2 * 16 */
    op_rr(b, 1, 0x03, RAX, RDX);              /* add rax, rdx */
    /* op and raw in one load (insn_word): the slot may be unpublished
     * meanwhile, and then its raw is no offset */
    _Static_assert(offsetof(struct insn, op) == 0 && offsetof(struct insn, raw) == 4,
                   "insn_word's layout");
    op_rm(b, 1, 0x8b, RAX, RAX, 0);           /* mov rax, [rax] */
    b1(b, 0x66); b1(b, 0x3d);                 /* cmp ax, OP_JIT */
    b1(b, (uint8_t)OP_JIT); b1(b, (uint8_t)(OP_JIT >> 8));
    uint8_t *s4 = jcc_fwd(b, CC_NE);
    shift_imm(b, 1, 5, RAX, 32);              /* shr rax, 32: the code's offset */
    /* lea rdx, [rip + the buffer's start + prologue]: the stub is in the
     * buffer, 7 bytes of lea */
    b1(b, 0x48); b1(b, 0x8d); b1(b, 0x15);
    b4(b, (uint32_t)(int32_t)(code + prologue - (b->p + 4)));
    op_rr(b, 1, 0x03, RAX, RDX);              /* add rax, rdx */
    emit_jc_index(b);                         /* fill the jump-cache entry */
    op_rmx(b, 1, 0x89, RCX, JIT_HART, RDX, H_JC(vpc));
    op_rmx(b, 1, 0x89, RAX, JIT_HART, RDX, H_JC(entry));
    op_rm(b, 1, 0x8b, RSI, JIT_HART, hoff(offsetof(struct hart, jc_epoch)));
    op_rmx(b, 1, 0x89, RSI, JIT_HART, RDX, H_JC(epoch));
    alu_imm(b, 1, 4, RCX, -4096);             /* and rcx, ~0xfff */
    op_rm(b, 1, 0x89, RCX, JIT_HART, H_VPC);       /* mov [vpc], rcx: the page's */
    b1(b, 0xff); b1(b, 0xe0);                 /* jmp rax */
    /* Not taken: back to the interpreter at rcx (the leave stub). */
    uint8_t *leave = code + JIT_STUB_LEAVE;
    patch(b, s1, leave); patch(b, s2, leave); patch(b, s3, leave); patch(b, s4, leave);
    patch(b, s5, leave);
}

/* Byte offset of region r in the code buffer. */
static size_t region_start(unsigned r)
{
    return JIT_STUBS + (size_t)r * JIT_REGION_SIZE;
}

/* How many regions ago the one holding `p` was filled (0: the current). */
static unsigned region_age(const struct hart *h, const uint8_t *p)
{
    unsigned r = (unsigned)((size_t)(p - h->dc->jit_code - JIT_STUBS) / JIT_REGION_SIZE);
    return (h->dc->jit_region + JIT_REGIONS - r) % JIT_REGIONS;
}

/* The shared code at the start of the buffer: epilogue, chain stub,
 * exception exit. */
static uint8_t *jit_epilogue(struct hart *h) { return h->dc->jit_code; }
static uint8_t *jit_chain(struct hart *h) { return h->dc->jit_code + JIT_STUB_CHAIN; }

static int32_t prologue_size(void)
{
    uint8_t tmp[128];
    struct jbuf b = { .p = tmp };
    emit_prologue(&b);
    return (int32_t)(b.p - tmp);
}

/* Leave towards the guest pc in rcx: through the jump cache when it
 * holds the pc (the chain stub's first step, made here so that each exit
 * has an indirect jump of its own, which the host predicts by its own
 * history: a return's jump to its caller, not every return's through
 * one), else through the chain stub. */
static void emit_chain_exit(struct jbuf *b, uint32_t count, struct hart *h)
{
    uint8_t *leave = h->dc->jit_code + JIT_STUB_LEAVE;
    emit_jc_index(b);
    op_rmx(b, 1, 0x3b, RCX, JIT_HART, RDX, H_JC(vpc));      /* cmp rcx, [vpc] */
    uint8_t *m1 = jcc_fwd(b, CC_NE);
    op_rmx(b, 1, 0x8b, RAX, JIT_HART, RDX, H_JC(epoch));    /* mov rax, [epoch] */
    op_rm(b, 1, 0x3b, RAX, JIT_HART, hoff(offsetof(struct hart, jc_epoch)));
    uint8_t *m2 = jcc_fwd(b, CC_NE);
    charge(b, count);
    patch(b, jcc_fwd(b, CC_LE), leave);                     /* spent */
    cmp_events(b);
    patch(b, jcc_fwd(b, CC_NE), leave);                     /* an event is up */
    alu_imm(b, 1, 4, RCX, -4096);                           /* and rcx, ~0xfff */
    op_rm(b, 1, 0x89, RCX, JIT_HART, H_VPC);                /* mov [vpc], rcx: the page's */
    op_rmx(b, 0, 0xff, 4, JIT_HART, RDX, H_JC(entry));      /* jmp [entry] */
    patch(b, m1, b->p);
    patch(b, m2, b->p);
    b1(b, 0xb8); b4(b, count);                /* mov eax, count */
    b1(b, 0xe9);                              /* jmp chain stub */
    b4(b, (uint32_t)(int32_t)(jit_chain(h) - (b->p + 4)));
}

/* Writable address minus executable address: the read-write view maps
 * the whole buffer at another address (W^X). */
static ptrdiff_t jit_wdelta(const struct dcache *dc)
{
    return (ptrdiff_t)((intptr_t)dc->jit_wwin - (intptr_t)dc->jit_code);
}

/* Map the code buffer's next pages into both views ahead of the
 * translator, JIT_POPULATE_STEP at a time: two system calls instead of a
 * write fault in the read-write view and an instruction-fetch fault in the
 * read-execute view for each 4 KiB, which were a quarter of a Linux boot's
 * host page faults (docs/cpu.md).  The region fills front to back, so at
 * most one step is mapped before it is used.  Without MADV_POPULATE_*
 * (Linux < 5.14) the calls fail and the pages fault in as before. */
static void jit_populate_ahead(struct dcache *dc)
{
    size_t start = region_start(dc->jit_region), end = start + JIT_REGION_SIZE;
    if (dc->jit_populated >= end ||
        dc->jit_used + JIT_POPULATE_STEP / 2 < dc->jit_populated)
        return;
    size_t from = dc->jit_populated > dc->jit_used ? dc->jit_populated
                                                    : dc->jit_used & ~(size_t)4095;
    size_t to = from + JIT_POPULATE_STEP < end ? from + JIT_POPULATE_STEP : end;
    (void)madvise(dc->jit_wwin + from, to - from, MADV_POPULATE_WRITE);
    (void)madvise(dc->jit_code + from, to - from, MADV_POPULATE_READ);
    dc->jit_populated = to;
    /* And unmap the read-write view's pages a step behind the translator:
     * they are mapped in the read-execute view too, and each view counts
     * in RSS (up to a region, 2 MiB, twice).  The memfd keeps the bytes; a
     * link patched into one of them later faults it back in (a minor
     * fault), until the next region's start drops the view again. */
    if (from - start > JIT_POPULATE_STEP)
        (void)madvise(dc->jit_wwin + start, from - start - JIT_POPULATE_STEP, MADV_DONTNEED);
}

/* Linked exits whose jmp was patched to lead into an older region than
 * their own: their code-buffer offsets, listed under the region they lead
 * into.  Regions are recycled oldest first, so when that region goes,
 * every listed site's region is newer and still holds it: next_region
 * sets the sites back to their resolver (rel32 0) first.  Jumps into the
 * site's own or a newer region need no record (that region goes after
 * the site's).  Without them, an exit into an older region called
 * jit_link on every pass: 1.8 million calls on a busybox boot. */
struct jit_backrefs {
    uint32_t *site;
    unsigned n, cap;
};

static bool backref_add(struct hart *h, unsigned r, const uint8_t *site)
{
    struct jit_backrefs *br = &h->dc->jit_in[r];
    if (br->n == br->cap) {
        unsigned cap = br->cap ? 2 * br->cap : 256;
        uint32_t *p = realloc(br->site, cap * sizeof(*p));
        if (!p)
            return false;
        br->site = p;
        br->cap = cap;
    }
    br->site[br->n++] = (uint32_t)(site - h->dc->jit_code);
    return true;
}

static unsigned region_of(const struct hart *h, const uint8_t *p)
{
    return (unsigned)((size_t)(p - h->dc->jit_code - JIT_STUBS) / JIT_REGION_SIZE);
}

/* Set the rel32 of the linked exit's jmp at `site`, through the read-write
 * view, in one aligned 4-byte store (emit_link_exit aligns it): other
 * harts may be running the code, and x86 fetches an aligned 4-byte field
 * whole, the old value or the new. */
static void patch_site(struct hart *h, uint8_t *site, int32_t rel)
{
    __atomic_store_n((int32_t *)(void *)(site + 1 + jit_wdelta(h->dc)), rel, __ATOMIC_RELAXED);
}

/* Resolve a linked exit (see the header comment): when the target slot
 * holds a translation, patch the jmp at `site` to its chained entry and
 * return that entry; else NULL. */
static uint8_t *jit_link(const struct insn *slot, uint8_t *site, struct hart *h)
{
    struct dcache *dc = h->dc;
    const struct dpage *d = &dc->arena[((uintptr_t)slot - (uintptr_t)dc->arena) /
                                       sizeof(struct dpage)];
    if ((uint16_t)insn_word(slot) != OP_JIT)
        return NULL;        /* the common miss, without the lock */
    /* Read again under the lock: a region's recycling unpublishes its
     * blocks under it, and a link made after that would outlive the
     * region. */
    pthread_mutex_lock(&dc->lock);
    uint64_t w = insn_word(slot);
    if ((uint16_t)w != OP_JIT) {
        pthread_mutex_unlock(&dc->lock);
        return NULL;
    }
    uint8_t *entry = dc->jit_code + (w >> 32) + dc->jit_prologue;
    /* Only in a page still in use: a retired page's code may still run
     * (on a hart that has not passed a quiescent point since), and its
     * regions may be on their way to reuse.  Never in the old code of a
     * recycled region that waits to be rewritten (a hart that has not
     * passed a quiescent point may still run it): a record made for it
     * would later patch the region's new code.  Into an older region
     * only with a record to undo it (above); else the jump is taken but
     * not patched. */
    bool pending = dc->jit_region_pending && region_of(h, site) == dc->jit_region;
    if (d->live && !pending && (region_age(h, entry) <= region_age(h, site) ||
                    (dc->jit_in && backref_add(h, region_of(h, entry), site))))
        patch_site(h, site, (int32_t)(entry - (site + 5)));
    pthread_mutex_unlock(&dc->lock);
    return entry;
}

/* Leave for the guest pc vpc + rel.  A target in this page is linked;
 * any other goes through the chain stub.  A linked exit charges the
 * budget and leaves the chain when it is spent, but does not poll
 * h->events: the budget bounds how long an event waits (a slice's
 * chunk, hart.c), the chain stub polls too, and the poll cost two
 * instructions on each of some 240 million block transitions of a
 * busybox boot. */
static void emit_link_exit(struct jbuf *b, struct hart *h, int32_t rel, uint32_t count)
{
    int32_t abs = (int32_t)b->start + rel;
    if (abs < 0 || abs >= 4096) {
        lea_vpc(b, RCX, rel);
        emit_chain_exit(b, count, h);
        return;
    }
    charge(b, count);   /* h->jit_vpc, the page's, stays */
    uint8_t *spent = jcc_fwd(b, CC_LE);
    while (((uintptr_t)b->p + 1) & 3)
        b1(b, 0x90);                        /* nop: the rel32 4-aligned (patch_site) */
    b1(b, 0xe9); b4(b, 0);                                 /* jmp resolve (patched) */
    call_rel(b, jit_epilogue(h) + JIT_STUB_LINK);           /* resolve */
    b8(b, (uint64_t)(uintptr_t)&b->dp->insn[abs >> 1]);  /* the target's slot */
    patch(b, spent, b->p);
    lea_vpc(b, RCX, rel);
    emit_leave_at_rcx(b, jit_epilogue(h));
}

/* The linked exits' shared resolver, called from the instruction after
 * the exit's jmp (its `site`, 5 bytes before) with the target's slot in
 * the 8 bytes after the call: jit_link(slot, site, h); into the entry
 * it returns, else back past the slot (the exit's way to leave).  The
 * exit's registers are written back, so r12 (callee-saved: it outlives
 * the call) can hold the return address.  A call and a slot in every
 * exit instead of the call's arguments: 13 bytes, not 47. */
static void emit_link_stub(struct jbuf *b)
{
    b1(b, 0x41); b1(b, 0x5c);                               /* pop r12 */
    op_rm(b, 1, 0x8b, RDI, R12, 0);                         /* mov rdi, [r12]: slot */
    op_rm(b, 1, 0x8d, RSI, R12, -10);                       /* lea rsi, [r12 - 10]: site */
    op_rm(b, 1, 0x8d, RDX, JIT_HART, -JIT_H_BIAS);          /* rdx = h */
    call_abs(b, (const void *)jit_link);
    b1(b, 0x48); b1(b, 0x85); b1(b, 0xc0);                  /* test rax, rax */
    uint8_t *none = jcc_fwd(b, CC_E);
    b1(b, 0xff); b1(b, 0xe0);                               /* jmp rax */
    patch(b, none, b->p);
    op_rm(b, 1, 0x8d, RAX, R12, 8);                         /* lea rax, [r12 + 8] */
    b1(b, 0xff); b1(b, 0xe0);                               /* jmp rax */
}

/* Jump back to the start of a block that loops (b->loop), its guest
 * registers still held, after the charge a linked exit makes: with the
 * budget spent, store them and leave for the block's start instead.
 * The way back is the one jump taken (jg loop), the spent way falls
 * through. */
static void emit_loop_back(struct jbuf *b, struct hart *h, uint32_t count)
{
    jit_regs_extend_all(b);   /* the head's code assumes no lo32 register */
    if (b->left >= 0)
        alu_imm(b, 1, 5, b->left, (int32_t)count);     /* sub left, count */
    else
        charge(b, count);
    b1(b, 0x0f); b1(b, 0x80 | CC_G);                   /* jg loop */
    b4(b, (uint32_t)(int32_t)(b->loop - (b->p + 4)));
    jit_regs_writeback(b);
    lea_vpc(b, RCX, 0);
    emit_leave_at_rcx(b, jit_epilogue(h));
}

/* The x86 condition that takes a conditional branch after cmp rs1, rs2. */
static uint8_t branch_cc(unsigned op)
{
    return op == OP_BEQ ? CC_E : op == OP_BNE ? CC_NE : op == OP_BLT ? CC_L
         : op == OP_BGE ? CC_GE : op == OP_BLTU ? CC_B : CC_AE;
}

/* Compare for the conditional branch `in`; returns the x86 condition
 * that takes it.  Against x0 (beqz, bnez, bltz, bgtz... a third of a
 * CoreMark run's branches) a test of the other register: no load of
 * h->x[0].  test r, r sets the flags cmp r, 0 does (CF = OF = 0); with x0
 * as rs1 the comparison's sides swap (0 < r is r > 0). */
static uint8_t emit_branch_cmp(struct jbuf *b, const struct insn *in)
{
    uint8_t cc = branch_cc(in->op);
    if (in->rs1 && in->rs2) {
        jit_op_x(b, 1, 0x3b, jit_src_x(b, in->rs1, RAX), in->rs2);   /* cmp x[rs1], x[rs2] */
        return cc;
    }
    int r = jit_src_x(b, in->rs1 ? in->rs1 : in->rs2, RAX);
    op_rr(b, 1, 0x85, r, r);                                        /* test r, r */
    if (in->rs1)
        return cc;
    switch (cc) {
    case CC_L:  return CC_G;
    case CC_GE: return CC_LE;
    case CC_B:  return CC_A;
    case CC_AE: return CC_BE;
    }
    return cc;   /* E, NE */
}

/* `in` with its reads of x0 folded, in *tmp, or `in`: li (addi rd, x0,
 * imm) sets rd to the immediate, mv (add rd, x0, rs) copies, sext.w
 * (addw rd, x0, rs) is addiw rd, rs, 0; no load of h->x[0], which
 * always reads 0. */
static const struct insn *fold_x0(const struct insn *in, struct insn *tmp)
{
    switch (in->op) {
    case OP_ADDI: case OP_ORI: case OP_XORI: case OP_ADDIW:
        if (in->rs1)
            return in;
        *tmp = *in;
        tmp->op = OP_LUI;                    /* rd = imm (sign-extended 12 bits) */
        return tmp;
    case OP_ADD: case OP_OR: case OP_XOR: case OP_SUB: case OP_ADDW: case OP_SUBW:
        if (in->rs2 && (in->rs1 || in->op == OP_SUB || in->op == OP_SUBW))
            return in;                       /* 0 - rs is not rs */
        *tmp = *in;
        tmp->op = in->op == OP_ADDW || in->op == OP_SUBW ? OP_ADDIW : OP_ADDI;
        tmp->rs1 = in->rs2 ? in->rs2 : in->rs1;
        tmp->rs2 = 0;
        tmp->imm = 0;
        return tmp;
    }
    return in;
}

/* Returns false when `in` ends the block (it then emitted the exit). */
static bool emit_insn(struct hart *h, struct jbuf *b, const struct insn *in, int32_t off,
                      uint32_t count, uint8_t *epi)
{
    int32_t next = off + 2 * in->len;
    struct insn folded;
    in = fold_x0(in, &folded);
    jit_regs_sources(b, in);
    if (op_is_amo(in->op)) {
        jit_regs_prepare(b, in);
        jit_emit_amo(b, in, off, count, epi);
        return true;
    }
    if (op_is_fp(in->op)) {
        jit_emit_fp(b, in, off, count, epi);
        return true;
    }
    if (op_is_csr(in->op)) {
        b->fs_on = b->fs_dirty = false;   /* a write of sstatus may change FS */
        b->grp[0].reg = b->grp[1].reg = 0;   /* ... or SUM and MXR (groups) */
        jit_regs_writeback(b);
        jit_emit_slot_call(b, in);
        jit_exc_check(b, off, count, epi);
        jit_regs_reload(b, b->ra.valid);    /* rd too, if held and valid */
        emit_event_check(b, next, count + 1, epi);
        emit_load_dtlb(b);   /* a write of sstatus.SUM selects another set */
        return true;
    }
    jit_regs_prepare(b, in);
    if (jit_emit_bitmanip(b, in))
        return true;
    switch (in->op) {
    case OP_NOP:
        return true;
    case OP_FENCE:
        b1(b, 0x0f); b1(b, 0xae); b1(b, 0xf0);   /* mfence */
        return true;
    case OP_LUI:
        jit_put_imm_x(b, in->rd, in->imm);
        return true;
    case OP_AUIPC: {
        int t = jit_dst_x(b, in->rd, 33);
        lea_vpc(b, t, off + in->imm);
        jit_dst_done(b, t, in->rd);
        return true;
    }
    case OP_ADDI: {
        int t = jit_dst_x(b, in->rd, 33), h1 = jit_host_x(b, in->rs1);
        if (h1 >= 0 && in->imm)
            op_rm(b, 1, 0x8d, t, h1, in->imm);          /* lea t, [h1 + imm] */
        else {
            jit_get_x(b, t, in->rs1);
            if (in->imm)
                alu_imm(b, 1, 0, t, in->imm);
        }
        jit_dst_done(b, t, in->rd);
        return true;
    }
    case OP_XORI: case OP_ORI: case OP_ANDI: {
        /* The immediate is a sign-extended 12-bit value: on an is32
         * source the result is 32-bit too (see emit_logic). */
        bool w32 = jit_is32(b, in->rs1);
        int t = emit_ri_start(b, in);
        alu_imm(b, !w32, in->op == OP_XORI ? 6 : in->op == OP_ORI ? 1 : 4, t, in->imm);
        if (w32)
            jit_dst_done32(b, t, in->rd);
        else
            jit_dst_done(b, t, in->rd);
        return true;
    }
    case OP_SLTI: case OP_SLTIU:
        alu_imm(b, 1, 7, jit_src_x(b, in->rs1, RAX), in->imm);   /* cmp */
        setcc_store(b, in->op == OP_SLTI ? CC_L : CC_B, in->rd);
        return true;
    case OP_SLLI: case OP_SRLI: case OP_SRAI: {
        int t = emit_ri_start(b, in);
        shift_imm(b, 1, in->op == OP_SLLI ? 4 : in->op == OP_SRLI ? 5 : 7, t, (uint8_t)in->imm);
        jit_dst_done(b, t, in->rd);
        return true;
    }
    case OP_ADDIW: {
        int t = emit_ri_start(b, in);
        alu_imm(b, 0, 0, t, in->imm);
        jit_dst_done32(b, t, in->rd);
        return true;
    }
    case OP_SLLIW: case OP_SRLIW: case OP_SRAIW: {
        int t = emit_ri_start(b, in);
        shift_imm(b, 0, in->op == OP_SLLIW ? 4 : in->op == OP_SRLIW ? 5 : 7, t, (uint8_t)in->imm);
        jit_dst_done32(b, t, in->rd);
        return true;
    }
    case OP_ADD:  emit_rr(b, in, 1, 0x03, 0); return true;
    case OP_SUB:  emit_rr(b, in, 1, 0x2b, 0); return true;
    case OP_XOR:  emit_logic(b, in, 0x33); return true;
    case OP_OR:   emit_logic(b, in, 0x0b); return true;
    case OP_AND:  emit_logic(b, in, 0x23); return true;
    case OP_ADDW: emit_rr(b, in, 0, 0x03, 0); return true;
    case OP_SUBW: emit_rr(b, in, 0, 0x2b, 0); return true;
    case OP_MUL:  emit_rr(b, in, 1, 0, 0xaf); return true;   /* imul */
    case OP_MULW: emit_rr(b, in, 0, 0, 0xaf); return true;
    case OP_SLL:  emit_shift_reg(b, in, 1, 4); return true;
    case OP_SRL:  emit_shift_reg(b, in, 1, 5); return true;
    case OP_SRA:  emit_shift_reg(b, in, 1, 7); return true;
    case OP_SLLW: emit_shift_reg(b, in, 0, 4); return true;
    case OP_SRLW: emit_shift_reg(b, in, 0, 5); return true;
    case OP_SRAW: emit_shift_reg(b, in, 0, 7); return true;
    case OP_SLT: case OP_SLTU:
        jit_op_x(b, 1, 0x3b, jit_src_x(b, in->rs1, RAX), in->rs2);   /* cmp x[rs1], x[rs2] */
        setcc_store(b, in->op == OP_SLT ? CC_L : CC_B, in->rd);
        return true;
    case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD: {
        int t = jit_dst_x(b, in->rd, in->rs2);
        jit_get_x(b, t, in->rs1);
        shift_imm(b, 1, 4, t, (uint8_t)(in->op == OP_SH1ADD ? 1 : in->op == OP_SH2ADD ? 2 : 3));
        jit_op_x(b, 1, 0x03, t, in->rs2);
        jit_dst_done(b, t, in->rd);
        return true;
    }
    case OP_ADD_UW:
        jit_op_x(b, 0, 0x8b, RAX, in->rs1);     /* mov eax, [rs1] (zero-extends) */
        jit_op_x(b, 1, 0x03, RAX, in->rs2);
        jit_put_x(b, RAX, in->rd);
        return true;
    case OP_ANDN: case OP_ORN: case OP_XNOR:
        jit_get_x(b, RAX, in->rs2);
        if (in->op != OP_XNOR) {
            rex(b, 1, 0, RAX); b1(b, 0xf7); b1(b, 0xd0);   /* not rax */
            jit_op_x(b, 1, in->op == OP_ANDN ? 0x23 : 0x0b, RAX, in->rs1);
        } else {
            jit_op_x(b, 1, 0x33, RAX, in->rs1);
            rex(b, 1, 0, RAX); b1(b, 0xf7); b1(b, 0xd0);
        }
        jit_put_x(b, RAX, in->rd);
        return true;
    case OP_MULH: case OP_MULHU: case OP_MULHSU:
        /* The high half of the 128-bit product, inline: one-operand MUL
         * (unsigned) or IMUL (signed) leaves it in rdx.  MULHSU is the
         * unsigned product's high half less x[rs2] when x[rs1] is
         * negative (x[rs1] = its unsigned value - 2^64).  The bignum and
         * elliptic-curve code of a Linux boot's signature checks is full
         * of these; the helper call stored and reloaded every held
         * register around each one. */
        jit_get_x(b, RAX, in->rs1);
        jit_get_x(b, RCX, in->rs2);
        b1(b, 0x48); b1(b, 0xf7); b1(b, in->op == OP_MULH ? 0xe9 : 0xe1);   /* imul/mul rcx */
        if (in->op == OP_MULHSU) {
            jit_get_x(b, RAX, in->rs1);
            shift_imm(b, 1, 7, RAX, 63);                   /* sar rax, 63 */
            op_rr(b, 1, 0x21, RCX, RAX);                   /* and rax, rcx */
            op_rr(b, 1, 0x29, RAX, RDX);                   /* sub rdx, rax */
        }
        jit_put_x(b, RDX, in->rd);
        return true;
    case OP_DIV: case OP_DIVU: case OP_REM: case OP_REMU:
    case OP_DIVW: case OP_DIVUW: case OP_REMW: case OP_REMUW:
        jit_get_x(b, RAX, in->rs1);     /* via rax, rcx: rsi, rdi may hold registers */
        jit_get_x(b, RCX, in->rs2);
        jit_regs_writeback(b);
        op_rr(b, 1, 0x8b, RDI, RAX);
        op_rr(b, 1, 0x8b, RSI, RCX);
        b1(b, 0xba); b4(b, in->op);                        /* mov edx, op */
        call_abs(b, (const void *)jit_divrem);
        jit_regs_reload(b, b->ra.valid);
        jit_put_x(b, RAX, in->rd);
        return true;
    case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
        jit_emit_load(b, in, off, count, epi);
        return true;
    case OP_SB: case OP_SH: case OP_SW: case OP_SD:
        jit_emit_store(b, in, off, count);
        return true;
    case OP_JAL:
        lea_vpc(b, RAX, next);
        jit_put_x(b, RAX, in->rd);
        if (b->loop && off + in->imm == 0 && jit_regs_can_loop(b)) {
            emit_loop_back(b, h, count + 1);
            return false;
        }
        jit_regs_writeback(b);
        emit_link_exit(b, h, off + in->imm, count + 1);
        return false;
    case OP_JALR:
        jit_get_x(b, RCX, in->rs1);
        if (in->imm)
            alu_imm(b, 1, 0, RCX, in->imm);
        alu_imm(b, 1, 4, RCX, -2);                          /* and rcx, ~1 */
        lea_vpc(b, RAX, next);
        jit_put_x(b, RAX, in->rd);
        jit_regs_writeback(b);
        emit_chain_exit(b, count + 1, h);
        return false;
    case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU: {
        bool loop = b->loop && off + in->imm == 0 && jit_regs_can_loop(b);
        uint8_t cc = emit_branch_cmp(b, in);
        /* The writes-back below are movs: they leave the flags alone. */
        if (!loop && off + in->imm != 0) {
            /* A side exit: taken, write back and leave for the target;
             * not taken, the block goes on with its registers held (a
             * superblock: the fall-through costs no exit, no write-back
             * and no reload at the next block's entry).  The way out is
             * emitted after the block (emit_exits), so that the way on
             * takes no jump. */
            b->exits[b->nexit++] = (struct jexit){ .jump = jcc_fwd(b, cc), .ra = b->ra,
                                                   .rel = off + in->imm, .count = count + 1 };
            return true;
        }
        if (loop) {
            /* The way back first, so that a pass takes one jump (the
             * loop's), not two (this branch's and the loop's). */
            struct jregs st = b->ra;
            uint8_t *out = jcc_fwd(b, cc ^ 1);
            emit_loop_back(b, h, count + 1);
            patch(b, out, b->p);
            b->ra = st;
            jit_regs_writeback(b);
            emit_link_exit(b, h, next, count + 1);
            return false;
        }
        jit_regs_writeback(b);                  /* once, for both ways out */
        uint8_t *taken = jcc_fwd(b, cc);
        emit_link_exit(b, h, next, count + 1);
        patch(b, taken, b->p);
        emit_link_exit(b, h, off + in->imm, count + 1);
        return false;
    }
    }
    return false;
}

/* After the block's last exit: its side exits' ways out (b->exits),
 * each writing back the registers held at its branch. */
static void emit_exits(struct jbuf *b, struct hart *h)
{
    for (unsigned i = 0; i < b->nexit; i++) {
        const struct jexit *x = &b->exits[i];
        patch(b, x->jump, b->p);
        b->ra = x->ra;
        jit_regs_writeback(b);
        emit_link_exit(b, h, x->rel, x->count);
    }
    b->nexit = 0;
}

/* Instructions emit_insn computes inline, with no helper call, no trap
 * and no effect but the write of rd. */
static bool computes_inline(unsigned op)
{
    switch (op) {
    case OP_LUI: case OP_AUIPC: case OP_ADDI: case OP_XORI: case OP_ORI: case OP_ANDI:
    case OP_SLTI: case OP_SLTIU: case OP_SLLI: case OP_SRLI: case OP_SRAI:
    case OP_ADDIW: case OP_SLLIW: case OP_SRLIW: case OP_SRAIW:
    case OP_ADD: case OP_SUB: case OP_XOR: case OP_OR: case OP_AND: case OP_ADDW: case OP_SUBW:
    case OP_MUL: case OP_MULW: case OP_SLL: case OP_SRL: case OP_SRA:
    case OP_SLLW: case OP_SRLW: case OP_SRAW: case OP_SLT: case OP_SLTU:
    case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD: case OP_ADD_UW:
    case OP_ANDN: case OP_ORN: case OP_XNOR: case OP_MULH: case OP_MULHU: case OP_MULHSU:
        return true;
    }
    return false;
}

/* Forward branches inside a block jump over at most this many
 * instructions (emit_branch_over). */
#define JIT_SKIP_MAX 3

/* The k instructions a branch at byte `o` jumps over (nx, all computing
 * inline, destinations `rds`), emitted in their assignment; true when
 * their code left the register state s0 with only `rds` written
 * (jit_regs_join), the groups through their destinations ended.  False
 * with bytes emitted: the caller drops them. */
static bool emit_skipped(struct hart *h, struct jbuf *b, const struct insn *in,
                         const struct insn *const *nx, unsigned k, unsigned o, unsigned off,
                         uint32_t count, uint8_t *epi, uint64_t rds, const struct jregs *s0)
{
    for (unsigned i = 0, at = o + 2u * in->len; i < k; at += 2u * nx[i++]->len) {
        if (!emit_insn(h, b, nx[i], (int32_t)(at - off), count + 1 + i, epi))
            return false;
        jit_regs_after(b, nx[i]);
    }
    if (!jit_regs_join(b, s0, rds))
        return false;
    for (unsigned i = 0; i < k; i++)
        jit_group_written(b, nx[i]->rd);
    return true;
}

/* The branch over as a select, when every instruction it skips writes
 * a held register and none writes the branch's sources: the old values
 * of the destinations are stored to h->x[] (where a dirty one's is stale
 * anyway), the instructions run, the branch's compare follows and a
 * cmov per destination takes the old value back when the branch is
 * taken; the budget gets the skipped count back by a cmov too.  No jump:
 * a branch over that goes either way at random (CoreMark's CRC loops:
 * `if ((data ^ crc) & 1)`, 8 of them a byte; the carries of bignum
 * arithmetic) costs a misprediction, some 15-20 cycles, about half the
 * time.  Returns false with nothing emitted when the form does not
 * apply, or with bytes emitted when the instructions' code left another
 * register state than s0's (the caller drops them). */
static bool emit_select(struct hart *h, struct jbuf *b, const struct insn *in,
                        const struct insn *const *nx, unsigned k, unsigned o, unsigned off,
                        uint32_t count, uint8_t *epi, uint64_t rds, const struct jregs *s0)
{
    if (rds >> in->rs1 & 1 || rds >> in->rs2 & 1)
        return false;
    for (uint64_t m = rds; m; m &= m - 1)
        if (jit_host_x(b, (unsigned)__builtin_ctzll(m)) < 0)
            return false;
    for (uint64_t m = rds; m; m &= m - 1) {
        unsigned r = (unsigned)__builtin_ctzll(m);
        op_rm(b, 1, 0x89, jit_host_x(b, r), JIT_HART, xoff(r));   /* mov [x[r]], old */
    }
    if (!emit_skipped(h, b, in, nx, k, o, off, count, epi, rds, s0))
        return false;
    uint8_t cc = emit_branch_cmp(b, in);
    for (uint64_t m = rds; m; m &= m - 1) {
        unsigned r = (unsigned)__builtin_ctzll(m);
        op_rm2(b, 1, (uint8_t)(0x40 | cc), jit_host_x(b, r), JIT_HART, xoff(r));   /* cmovcc */
    }
    if (b->left >= 0) {
        op_rm(b, 1, 0x8d, RDX, b->left, (int32_t)k);        /* lea rdx, [left + k] */
        cmov(b, 1, cc, b->left, RDX);                       /* cmovcc left, rdx */
    } else {
        b1(b, 0xb9); b4(b, 0);                              /* mov ecx, 0 */
        b1(b, 0xba); b4(b, k);                              /* mov edx, k */
        cmov(b, 0, cc ^ 1, RDX, RCX);                       /* not taken: edx = 0 */
        op_rm(b, 1, 0x01, RDX, JIT_HART, H_LEFT);           /* add [left], rdx */
    }
    return true;
}

/* A conditional branch at byte `o` of the page (the block starts at
 * `off`) over the next one to JIT_SKIP_MAX instructions, each computing a
 * register inline: `if (x < y) carry++`, as C compilers write the carries
 * of bignum and elliptic-curve arithmetic (the hottest loop of a busybox
 * boot, mpihelp_submul_1's, is one).  As a side exit it left the block
 * on about half the passes, its registers written back, for a block made
 * of the rest.  Here it jumps over the instructions' code inside the
 * block instead:
 *
 *     cmp x[rs1], x[rs2]; jcc skip; <the instructions>; jmp join
 *     skip: add [left], k; join:
 *
 * Both ways reach the join with one register state: the assignment the
 * skipped instructions need is made, their sources loaded and their
 * destinations settled (jit_regs_settle) before the cmp, and
 * jit_regs_join checks that their code changed nothing but the writes.
 * The k skipped instructions, which the block's later charges count, are
 * given back to the budget, so minstret stays exact.  Returns how many
 * instructions it emitted, the branch's included, and their bytes in
 * *bytes, or 0 (nothing emitted: an ordinary branch follows). */
static unsigned emit_branch_over(struct hart *h, struct jbuf *b, const struct insn *in,
                                 unsigned o, unsigned off, uint32_t count, uint8_t *epi,
                                 unsigned *bytes)
{
    if (!op_is_branch(in->op))
        return 0;
    struct insn tmp[JIT_SKIP_MAX];
    const struct insn *nx[JIT_SKIP_MAX];
    unsigned k = 0, end = o + 2u * in->len;
    for (; end < o + (unsigned)in->imm; k++) {
        if (k == JIT_SKIP_MAX || end >= 4096 || count + 1 + k >= b->plan.n)
            return 0;
        nx[k] = dcache_slot_insn(b->dp, end, &tmp[k]);
        if ((nx[k] == &tmp[k] && !b->through) || end + 2u * nx[k]->len > 4096 ||
            !computes_inline(nx[k]->op) || !nx[k]->rd || nx[k]->rd >= 32)
            return 0;
        end += 2u * nx[k]->len;
    }
    if (!k || end != o + (unsigned)in->imm)
        return 0;
    struct jregs saved = b->ra;
    uint8_t *start = b->p;
    unsigned ncold = b->ncold, nexit = b->nexit;   /* none expected: they compute inline */
    uint64_t rds = 0;
    for (unsigned i = 0; i < k; i++)
        jit_regs_step(b, count + 1 + i);   /* the assignment they all run with */
    jit_regs_sources(b, in);
    jit_regs_prepare(b, in);
    for (unsigned i = 0; i < k; i++) {
        jit_regs_sources(b, nx[i]);
        jit_regs_prepare(b, nx[i]);
        jit_regs_settle(b, nx[i]->rd);
        rds |= 1ULL << nx[i]->rd;
    }
    struct jregs s0 = b->ra;
    if (emit_select(h, b, in, nx, k, o, off, count, epi, rds, &s0)) {
        *bytes = end - o;
        return k + 1;
    }
    if (b->p != start) {   /* emit_select gave up after emitting */
        b->p = start;
        b->ncold = ncold;
        b->nexit = nexit;
        b->ra = saved;
        b->plan.set32 = false;
        return 0;
    }
    uint8_t *skip = jcc_fwd(b, emit_branch_cmp(b, in));
    if (!emit_skipped(h, b, in, nx, k, o, off, count, epi, rds, &s0)) {
        b->p = start;       /* the bytes are dropped, not yet published */
        b->ncold = ncold;
        b->nexit = nexit;
        b->ra = saved;
        b->plan.set32 = false;
        return 0;
    }
    uint8_t *join = jmp_fwd(b);
    patch(b, skip, b->p);
    if (b->left >= 0)
        alu_imm(b, 1, 0, b->left, (int32_t)k);      /* add left, k */
    else
        alu_hart_imm(b, 0, H_LEFT, (int32_t)k);     /* add qword [left], k */
    patch(b, join, b->p);
    *bytes = end - o;
    return k + 1;
}

int jit_init(struct dcache *dc)
{
    /* W^X: the code buffer is a memfd mapped read-execute; the translator
     * writes it through a second, read-write view at another address, so
     * no page a guest could steer the translator into writing is ever
     * executable at the same address.  The read-write view's pages are
     * dropped behind the translator (jit_populate_ahead), so they are not
     * counted in RSS twice. */
    int fd = memfd_create("vessel-jit", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    void *rx = MAP_FAILED, *rw = MAP_FAILED;
    if (ftruncate(fd, JIT_BUF_SIZE) == 0) {
        rx = mmap(NULL, JIT_BUF_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_NORESERVE, fd, 0);
        rw = mmap(NULL, JIT_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    }
    if (rx == MAP_FAILED || rw == MAP_FAILED) {
        if (rx != MAP_FAILED)
            munmap(rx, JIT_BUF_SIZE);
        if (rw != MAP_FAILED)
            munmap(rw, JIT_BUF_SIZE);
        close(fd);
        return -1;
    }
    dc->jit_code = rx;
    dc->jit_wwin = rw;
    dc->jit_fd = fd;
    dc->jit_size = JIT_BUF_SIZE;
    /* The stubs' page: epilogue at the buffer's start (jit_epilogue),
     * then the chain stub (jit_chain), the leave stub (the chain stub's
     * and the jump-cache probes' way back to the interpreter) and the
     * exception exit. */
    struct jbuf b = { .p = dc->jit_code, .w = jit_wdelta(dc) };
    memset(dc->jit_wwin, 0xcc, JIT_STUBS);   /* int3 between the stubs */
    emit_epilogue(&b);
    b.p = dc->jit_code + JIT_STUB_CHAIN;
    dc->jit_prologue = prologue_size();
    emit_chain_stub(&b, dc->jit_prologue, dc->jit_code);
    if (b.p > dc->jit_code + JIT_STUB_LEAVE) {   /* the stubs overlap: a bug */
        jit_destroy(dc);
        return -1;
    }
    b.p = dc->jit_code + JIT_STUB_LEAVE;
    emit_leave_at_rcx(&b, dc->jit_code);
    if (b.p > dc->jit_code + JIT_STUB_EXC) {
        jit_destroy(dc);
        return -1;
    }
    b.p = dc->jit_code + JIT_STUB_EXC;
    emit_exc_stub(&b, dc->jit_code);
    for (unsigned store = 0; store < 2; store++)
        for (unsigned size = 1; size <= 8; size *= 2) {
            uint8_t *at = dc->jit_code + jit_site_stub_off(store, size);
            b.p = at;
            jit_emit_site_stub(&b, store, size);
            if (b.p > at + JIT_SITE_STUB_SIZE) {   /* the stubs overlap: a bug */
                jit_destroy(dc);
                return -1;
            }
        }
    b.p = dc->jit_code + JIT_STUB_LINK;
    emit_link_stub(&b);
    if (b.p > dc->jit_code + JIT_STUB_MEM) {
        jit_destroy(dc);
        return -1;
    }
    jit_emit_mem_thunks(&b, dc->jit_code);
    (void)madvise(dc->jit_wwin, JIT_STUBS, MADV_DONTNEED);
    dc->jit_region = 0;
    dc->jit_populated = JIT_STUBS;
    dc->jit_in = calloc(JIT_REGIONS, sizeof(*dc->jit_in));   /* optional */
    dc->jit_used = JIT_STUBS;
    dc->jit_empty = true;
    return 0;
}

void jit_destroy(struct dcache *dc)
{
    if (dc->jit_in) {
        for (unsigned q = 0; q < JIT_REGIONS; q++)
            free(dc->jit_in[q].site);
        free(dc->jit_in);
        dc->jit_in = NULL;
    }
    if (dc->jit_code) {
        munmap(dc->jit_wwin, dc->jit_size);
        munmap(dc->jit_code, dc->jit_size);
        close(dc->jit_fd);
    }
    dc->jit_wwin = NULL;
    dc->jit_code = NULL;
}

/* Give the host memory of [off, off+len) of the code buffer back (it
 * reads zeros afterwards). */
static void jit_discard(struct dcache *dc, size_t off, size_t len)
{
    fallocate(dc->jit_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
              (off_t)off, (off_t)len);
}

void jit_reset(struct dcache *dc)
{
    if (!dc->jit_code)
        return;
    /* Nothing translated since jit_init or the last reset (a new hart's
     * reset, a restore's): the buffer is empty. */
    if (dc->jit_empty)
        return;
    jit_discard(dc, JIT_STUBS, dc->jit_size - JIT_STUBS);
    (void)madvise(dc->jit_wwin, dc->jit_size, MADV_DONTNEED);
    if (dc->jit_in)
        for (unsigned q = 0; q < JIT_REGIONS; q++)
            dc->jit_in[q].n = 0;
    dc->jit_used = JIT_STUBS;
    dc->jit_populated = JIT_STUBS;
    dc->jit_region = 0;
    dc->jit_region_pending = false;
    dc->jit_empty = true;
}

/* Move on to the next region of the ring, the oldest (under the lock):
 * set the sites linked into it back to their resolver (rel32 0), and
 * unpublish every block in it, so that nothing leads into it any more.  Harts may still run its code until they pass a quiescent
 * point: it is rewritten only after that (region_ready). */
static void next_region(struct hart *h)
{
    struct dcache *dc = h->dc;
    unsigned r = (dc->jit_region + 1) % JIT_REGIONS;
    if (dc->jit_in) {
        struct jit_backrefs *br = &dc->jit_in[r];
        for (unsigned i = 0; i < br->n; i++)
            patch_site(h, dc->jit_code + br->site[i], 0);
        br->n = 0;
    }
    dc->jit_region_epoch = dcache_unpublish_region(h, r, (uint32_t)region_start(r),
                                                   (uint32_t)(region_start(r) + JIT_REGION_SIZE));
    dc->jit_region = r;
    dc->jit_used = region_start(r);
    dc->jit_populated = region_start(r);
    dc->jit_region_pending = true;
    /* Links patched into older regions left pages mapped in the
     * read-write view: drop them. */
    (void)madvise(dc->jit_wwin, dc->jit_size, MADV_DONTNEED);
}

/* May the region being filled be written?  Once every hart has passed a
 * quiescent point since it was recycled: its old bytes go then. */
static bool region_ready(struct hart *h)
{
    struct dcache *dc = h->dc;
    if (!dc->jit_region_pending)
        return true;
    if (!dcache_all_past(h, dc->jit_region_epoch))
        return false;
    size_t start = region_start(dc->jit_region);
    jit_discard(dc, start, JIT_REGION_SIZE);
    /* No record of a link may point into the old code (jit_link makes
     * none there; this is the backstop). */
    if (dc->jit_in)
        for (unsigned q = 0; q < JIT_REGIONS; q++) {
            struct jit_backrefs *br = &dc->jit_in[q];
            unsigned k = 0;
            for (unsigned i = 0; i < br->n; i++)
                if (br->site[i] < start || br->site[i] >= start + JIT_REGION_SIZE)
                    br->site[k++] = br->site[i];
            br->n = k;
        }
    dc->jit_region_pending = false;
    return true;
}

static bool translate(struct hart *h, struct dpage *dp, unsigned off)
{
    struct dcache *dc = h->dc;
    if (!h->jit_enabled || !dc->jit_code || dp == h->scratch)
        return false;
    struct insn *first = &dp->insn[off >> 1];
    dcache_decode_slot(dp, off);
    if (first->op == OP_JIT)
        return true;      /* another hart translated it meanwhile */
    if (!jit_can_translate(first->op))
        return false;
    size_t end = region_start(dc->jit_region) + JIT_REGION_SIZE;
    if (end - dc->jit_used < (size_t)JIT_INSN_MAX * (JIT_MAX_INSNS + 4))
        next_region(h);   /* may unpublish blocks of `dp` */
    /* This hart, in the interpreter, is at a quiescent point if the page
     * it runs in is live (no retired page's slots lead it into the
     * region): apply the shootdowns and count it, so that a hart alone
     * need not wait for its next slice. */
    if (dc->jit_region_pending && dp->live)
        dcache_quiesce(h, false);
    if (!region_ready(h))
        return false;
    jit_populate_ahead(dc);
    dp->jit_regions |= (uint8_t)(1u << dc->jit_region);
    dc->jit_empty = false;

    struct jcold cold[JIT_MAX_INSNS];
    struct jexit exits[JIT_MAX_INSNS];
    struct jbuf b = { .p = dc->jit_code + dc->jit_used, .dp = dp, .start = off,
                      .w = jit_wdelta(dc), .cold = cold, .exits = exits };
    uint8_t *entry = b.p;
    emit_prologue(&b);
    jit_regs_plan(h, &b, dp, off);
    jit_sites_init(&b, dc);
    if (b.ra.loops) {
        jit_regs_loop_head(&b);
        b.loop = b.p;
    }
    uint8_t *epi = jit_epilogue(h);

    unsigned o = off;
    uint32_t count = 0;
    for (;;) {
        struct insn tmp;
        const struct insn *in = dcache_slot_insn(dp, o, &tmp);
        if (in == &tmp && !b.through) {
            /* Another block starts here: go on into that block by a
             * linked exit (unless the plan found that going through it
             * closes this block's loop).  Handing over to the
             * interpreter instead cost a return to it and a call back
             * in each time: 41 million times on a busybox boot. */
            jit_regs_writeback(&b);
            emit_link_exit(&b, h, (int32_t)(o - off), count);
            break;
        }
        if (!jit_in_block(in->op, in->imm) || o + 2u * in->len > 4096) {
            /* Hand over to the interpreter at this instruction. */
            jit_regs_writeback(&b);
            set_pc_rel(&b, (int32_t)(o - off));
            emit_exit(&b, count, epi);
            break;
        }
        if (count == JIT_MAX_INSNS) {
            jit_regs_writeback(&b);
            emit_link_exit(&b, h, (int32_t)(o - off), count);
            break;
        }
        jit_regs_step(&b, count);
        unsigned len, n = emit_branch_over(h, &b, in, o, off, count, epi, &len);
        if (n) {
            count += n;
        } else {
            if (!emit_insn(h, &b, in, (int32_t)(o - off), count, epi))
                break;
            jit_regs_after(&b, in);
            jit_group_written(&b, in->rd);
            count++;
            len = 2u * in->len;
        }
        o += len;
        if (o >= 4096) {
            jit_regs_writeback(&b);
            lea_vpc(&b, RCX, (int32_t)(o - off));   /* on into the next page */
            emit_chain_exit(&b, count, h);
            break;
        }
    }
    emit_exits(&b, h);
    jit_emit_cold(&b, epi);
    dc->jit_used += (size_t)(b.p - entry);
    dc->jit_used = (dc->jit_used + 15) & ~(size_t)15;
    /* Publish: the first slot becomes OP_JIT, its raw field the code's
     * offset in the buffer (jit.h), written first. */
    first->raw = (uint32_t)(entry - dc->jit_code);
    __atomic_store_n(&first->op, (uint16_t)OP_JIT, __ATOMIC_RELEASE);
    return true;
}

/* Timed, for hart_exec_stats: a translation takes microseconds, the two
 * clock reads (vDSO) tens of nanoseconds. */
bool jit_translate(struct hart *h, struct dpage *dp, unsigned off)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (dp == h->scratch)
        return false;
    pthread_mutex_lock(&h->dc->lock);
    bool ok = translate(h, dp, off);
    pthread_mutex_unlock(&h->dc->lock);
    clock_gettime(CLOCK_MONOTONIC, &b);
    h->jit_translate_ns += (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000LL +
                                      (b.tv_nsec - a.tv_nsec));
    h->jit_blocks += ok;
    return ok;
}

#else /* not x86-64: no translator, the interpreter runs everything */

int jit_init(struct dcache *dc) { (void)dc; return -1; }
void jit_destroy(struct dcache *dc) { (void)dc; }
void jit_reset(struct dcache *dc) { (void)dc; }
bool jit_translate(struct hart *h, struct dpage *dp, unsigned off)
{
    (void)h; (void)dp; (void)off;
    return false;
}

#endif
