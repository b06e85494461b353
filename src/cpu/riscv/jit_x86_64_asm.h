/* cpu/riscv internal: x86-64 instruction encoding for the block
 * translator (jit_x86_64.c and its _bits, _mem and _regs parts): the
 * code buffer cursor, register numbers, ModRM forms, guest-register
 * accesses (held in host registers or reached through rbx, the hart's base, JIT_HART),
 * forward jumps.  Only what those files share. */
#ifndef VESSEL_RISCV_JIT_X86_64_ASM_H
#define VESSEL_RISCV_JIT_X86_64_ASM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cpu/riscv/jit.h"

struct dpage;
struct hart;
struct insn;

enum { RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7,
       R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15 };

/* Guest registers held in host registers for one block (jit_x86_64_regs.c):
 * the translation-time state.  The host registers are ones the emitted
 * code never uses as scratch (rax, rcx, rdx are), six caller-saved and
 * r12, rbp, r13 and r15 (callee-saved, but stored and reloaded around
 * calls like the others); nothing is held at a block's entry, by either
 * way in. */
#define JIT_CACHED 10
struct jregs {
    uint8_t slot[33];   /* guest register -> 1 + index of its host register; 0: none */
    uint64_t valid;     /* bit r: x[r]'s host register holds its value */
    uint64_t dirty;     /* bit r: ... and h->x[r] is older (written back at exits) */
    uint64_t written;   /* held registers the block writes */
    bool loops;         /* the block branches or jumps back to its own start */
    /* RV64's W instructions sign-extend their 32-bit results; that is
     * left undone while only consumers of the low 32 bits follow (W
     * instructions, 32-bit stores, logic on such values).  is32 bit r:
     * x[r] is known to be a sign-extended 32-bit value; lo32 bit r: its
     * host register holds the right low 32 bits but not yet the upper
     * ones (extended before any other read, before every store to h->x[]
     * and before a jump back to a loop's head). */
    uint64_t is32;
    uint64_t lo32;
};

/* The block's instructions as jit_regs_plan saw them, for assigning host
 * registers as the translator goes (jit_regs_step): use[n] = the
 * registers instruction n reads or writes. */
struct jplan {
    bool dyn;           /* assign per instruction (a block that does not loop) */
    bool set32;         /* the current instruction's result was marked is32 */
    unsigned n;         /* instructions seen */
    unsigned nload, nstore;   /* ... of which integer loads, and stores */
    bool csr;           /* ... one a CSR instruction */
    uint32_t use[JIT_MAX_INSNS];
    uint8_t next[JIT_MAX_INSNS][32];   /* [k][r]: the first instruction after k using x[r], or n */
};

/* The cursor `p` is the address in the executable code buffer the byte
 * will run at (what jumps and calls are relative to); bytes are stored at
 * p + w, a writable mapping of the same memory (W^X: no mapping is
 * both). */
/* A load's or store's way out of line (jit_x86_64_mem.c): its TLB probe
 * after a site cache's miss, and its slow path, emitted after the
 * block's last exit (jit_emit_cold), so that the way through takes no
 * jump. */
struct jcold {
    uint8_t *jumps[2];     /* the jcc rel32s that lead to it (NULL: none) */
    uint8_t *back;         /* where it returns to */
    struct jregs ra, hit;  /* the register state at the jumps, and at back */
    struct insn in;        /* the access */
    int32_t off;           /* its offset from the block's start */
    uint32_t count;        /* instructions retired before it */
    int site;              /* its site cache, or -1 */
    uint8_t kind;          /* what it does first (jit_x86_64_mem.c) */
    int32_t lo, hi;        /* a group's span */
    int32_t addend;        /* where a group keeps its addend (rbx-relative) */
    bool ea_cold;          /* rax (the address) is computed here, not inline */
    uint8_t *retry;        /* a lone access's inline access (after its site's probe) */
};

struct jbuf {
    uint8_t *p;
    struct dpage *dp;   /* the page being translated */
    unsigned start;     /* byte offset of the block in it */
    ptrdiff_t w;        /* writable address minus executable address */
    struct jregs ra;    /* all zero: every guest register in memory */
    struct jplan plan;
    uint8_t *loop;      /* where a jump back to the block's start goes, or NULL */
    bool through;       /* goes on through other blocks' starts (a loop: jit_regs_plan) */
    /* The load [0] and store [1] groups (jit_x86_64_mem.c): accesses
     * through x[reg] (0: none) at offsets [lo, hi) find their page's
     * addend in h->jit_addend[], probed once for all of them; forgotten
     * when x[reg] is written and at a CSR instruction. */
    struct jgroup {
        uint8_t reg;
        int32_t lo, hi;
        int32_t addend;   /* where the addend is kept: rbx-relative */
    } grp[2];
    /* A looping block's host register for the chain's budget
     * (h->jit_left) when one of the JIT_CACHED is left over from its
     * guest registers, else -1 (jit_x86_64_regs.c). */
    int left;
    /* Ways out of line to emit after the block (jit_emit_cold): `ncold`
     * of JIT_MAX_INSNS at `cold`, at most one a guest instruction. */
    struct jcold *cold;
    unsigned ncold;
    /* Side exits to emit after the block (jit_x86_64.c): `nexit` of
     * JIT_MAX_INSNS at `exits`, at most one a guest instruction. */
    struct jexit {
        uint8_t *jump;      /* the branch's jcc rel32 */
        struct jregs ra;    /* the register state there */
        int32_t rel;        /* the target's offset from the block's start */
        uint32_t count;     /* instructions retired, the branch's included */
    } *exits;
    unsigned nexit;
    /* The block's site caches (jit_x86_64_mem.c): h->jit_site[site_hdr]
     * is their header; of the slots after it, loads take nsite[0] of
     * the even ones, stores nsite[1] of the odd ones, maxsite[k] each at
     * most (0: none); site_check is the head's jump to
     * emit_sites_refresh (NULL: none), site_back where that returns
     * to. */
    unsigned nsite[2], maxsite[2], site_hdr;
    uint8_t *site_check, *site_back;
    bool fs_on;         /* mstatus.FS tested on since the last CSR call */
    bool fs_dirty;      /* ... and set Dirty (jit_x86_64_fp.c) */
};

static inline void b1(struct jbuf *b, uint8_t v) { b->p[b->w] = v; b->p++; }
static inline void b4(struct jbuf *b, uint32_t v) { memcpy(b->p + b->w, &v, 4); b->p += 4; }
static inline void b8(struct jbuf *b, uint64_t v) { memcpy(b->p + b->w, &v, 8); b->p += 8; }

static inline void rex(struct jbuf *b, int w, int reg, int base)
{
    uint8_t r = (uint8_t)(0x40 | (w << 3) | (((reg >> 3) & 1) << 2) | ((base >> 3) & 1));
    if (r != 0x40)
        b1(b, r);
}

/* modrm for [base + disp8] or [base + disp32] */
static inline void mem(struct jbuf *b, int reg, int base, int32_t disp)
{
    bool d8 = disp >= -128 && disp <= 127;
    b1(b, (uint8_t)((d8 ? 0x40 : 0x80) | ((reg & 7) << 3) | (base & 7)));
    if ((base & 7) == RSP)
        b1(b, 0x24);
    if (d8)
        b1(b, (uint8_t)disp);
    else
        b4(b, (uint32_t)disp);
}

/* opcode reg, [base + disp] (or the reverse direction, per opcode) */
static inline void op_rm(struct jbuf *b, int w, uint8_t opc, int reg, int base, int32_t disp)
{
    rex(b, w, reg, base);
    b1(b, opc);
    mem(b, reg, base, disp);
}

static inline void op_rm2(struct jbuf *b, int w, uint8_t opc2, int reg, int base, int32_t disp)
{
    rex(b, w, reg, base);
    b1(b, 0x0f);
    b1(b, opc2);
    mem(b, reg, base, disp);
}

/* The same with an index register: [base + index + disp], the ModRM
 * and SIB forms with scale 1 (index is never rsp, which SIB cannot name). */
static inline void rex_x(struct jbuf *b, int w, int reg, int index, int base)
{
    uint8_t r = (uint8_t)(0x40 | (w << 3) | (((reg >> 3) & 1) << 2) | (((index >> 3) & 1) << 1) |
                          ((base >> 3) & 1));
    if (r != 0x40)
        b1(b, r);
}

static inline void mem_x(struct jbuf *b, int reg, int base, int index, int32_t disp)
{
    bool d8 = disp >= -128 && disp <= 127;
    b1(b, (uint8_t)((d8 ? 0x44 : 0x84) | ((reg & 7) << 3)));          /* rm = 100: SIB */
    b1(b, (uint8_t)(((index & 7) << 3) | (base & 7)));                /* scale 1 */
    if (d8)
        b1(b, (uint8_t)disp);
    else
        b4(b, (uint32_t)disp);
}

/* opcode reg, [base + index + disp] (two: the opcode is 0f-prefixed);
 * index < 0: [base + disp], as op_rm and op_rm2. */
static inline void op_rmx_any(struct jbuf *b, int w, bool two, uint8_t opc, int reg, int base,
                              int index, int32_t disp)
{
    if (index < 0) {
        if (two)
            op_rm2(b, w, opc, reg, base, disp);
        else
            op_rm(b, w, opc, reg, base, disp);
        return;
    }
    rex_x(b, w, reg, index, base);
    if (two)
        b1(b, 0x0f);
    b1(b, opc);
    mem_x(b, reg, base, index, disp);
}

static inline void op_rmx(struct jbuf *b, int w, uint8_t opc, int reg, int base, int index,
                          int32_t disp)
{
    op_rmx_any(b, w, false, opc, reg, base, index, disp);
}

static inline void op_rmx2(struct jbuf *b, int w, uint8_t opc2, int reg, int base, int index,
                           int32_t disp)
{
    op_rmx_any(b, w, true, opc2, reg, base, index, disp);
}

/* opcode reg, rm (register form) */
static inline void op_rr(struct jbuf *b, int w, uint8_t opc, int reg, int rm)
{
    rex(b, w, reg, rm);
    b1(b, opc);
    b1(b, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
}

/* The hart's base register: rbx = h + JIT_H_BIAS.  h->x[] is at the
 * hart's start, so with the bias x[0..31] are all a disp8 away, and one
 * register reaches both (a base register for x[] of its own would cost a
 * host register the guest's can use).  rbx, not r12: r12 as a base
 * takes a SIB byte in every access. */
#define JIT_HART RBX
#define JIT_H_BIAS 128
/* The displacement from JIT_HART of the hart's field at byte `off`. */
static inline int32_t hoff(size_t off) { return (int32_t)off - JIT_H_BIAS; }
static inline int32_t xoff(unsigned r) { return hoff(r * 8); }
/* f[r] relative to JIT_HART: the f registers are never held. */
#define JIT_F_OFF(r) hoff(offsetof(struct hart, f) + 8 * (unsigned)(r))
/* The chain's budget, h->jit_left */
#define JIT_H_LEFT hoff(offsetof(struct hart, jit_left))

/* Guest register accesses (jit_x86_64_regs.c).  Reads use the host
 * register when it holds x[r], else memory; writes to a held register
 * mark it dirty.  hreg is a scratch register (rax, rcx, rdx, or a call
 * argument register after jit_regs_writeback). */
void jit_get_x(struct jbuf *b, int hreg, unsigned r);            /* hreg = x[r] */
void jit_put_x(struct jbuf *b, int hreg, unsigned r);            /* x[r] = hreg */
void jit_put_imm_x(struct jbuf *b, unsigned r, int32_t imm);     /* x[r] = sext(imm) */
/* opc reg, x[r] in the direction opc gives (reg is the ModRM reg field);
 * op2_x: the 0f-prefixed opcode opc2. */
void jit_op_x(struct jbuf *b, int w, uint8_t opc, int reg, unsigned r);
void jit_op2_x(struct jbuf *b, int w, uint8_t opc2, int reg, unsigned r);
/* The host register holding x[r], or -1 (in memory, or x0). */
int jit_host_x(const struct jbuf *b, unsigned r);
/* The register holding x[r]: its host register if valid, else `scratch`
 * loaded from h->x[]. */
int jit_src_x(struct jbuf *b, unsigned r, int scratch);
/* Where to compute x[rd]: its host register when held, unless `later` (a
 * source read after the first write of the result, or 33 for none) is
 * rd; else rax.  jit_dst_done then records (or stores) the result. */
int jit_dst_x(const struct jbuf *b, unsigned rd, unsigned later);
void jit_dst_done(struct jbuf *b, int t, unsigned rd);
/* The same for a result computed by a 32-bit host operation (its upper
 * half zero): sign-extended now, or (a held register) marked lo32 and
 * extended when something needs it. */
void jit_dst_done32(struct jbuf *b, int t, unsigned rd);
/* Sign-extend every lo32 register in place, leaving the state alone:
 * before a jump back to a loop's head, which assumes none. */
void jit_regs_extend_all(struct jbuf *b);
/* Is x[r] known to be a sign-extended 32-bit value here? */
static inline bool jit_is32(const struct jbuf *b, unsigned r)
{
    return r < 64 && (b->ra.is32 >> r & 1);
}

/* Pick the guest registers to hold for the block at byte `off` of `dp`
 * (the most used ones, as far as the block's scan reaches), with nothing
 * held yet, and set b->through: whether the block goes on through the
 * start of another block (which otherwise ends it) because it then closes
 * a loop back to its own start. */
void jit_regs_plan(struct hart *h, struct jbuf *b, struct dpage *dp, unsigned off);
/* Before instruction number `n` (every instruction, in order, before
 * its code); in a block that does not loop: give a host register
 * to each register the instruction uses that is used again later in the
 * block, taking it, when none is free, from the held register whose next
 * use is furthest away (stored back first if dirty) if that is further
 * than the new one's.  Only between instructions, so every path inside
 * one instruction's code sees one assignment. */
void jit_regs_step(struct jbuf *b, unsigned n);
/* At the start of every instruction's code, on the straight line: sign-
 * extend the lo32 registers it reads other than as the low 32 bits of a
 * W operation, a 32-bit store's data or logic on two is32 values. */
void jit_regs_sources(struct jbuf *b, const struct insn *in);
/* After `in`'s code (every instruction's): a register it wrote without
 * jit_dst_done32 is no longer known to be 32-bit. */
void jit_regs_after(struct jbuf *b, const struct insn *in);
/* At the head of a block that loops to its own start (after the
 * prologue, so on both ways in): load every held register and assume the
 * state any jump back arrives with (all valid, every register the block
 * writes dirty). */
void jit_regs_loop_head(struct jbuf *b);
/* Can a jump back to the loop head be taken in the current state (every
 * held register valid, none dirty that the head does not count dirty)?
 * Else the block leaves by an ordinary exit. */
bool jit_regs_can_loop(const struct jbuf *b);
/* Before emitting `in`: load the held registers it reads, so that every
 * path inside its code finds them (only here, on the straight line, does
 * a register become valid by a read). */
void jit_regs_prepare(struct jbuf *b, const struct insn *in);
/* Before code that one path runs and another jumps over (a branch over
 * a few instructions, jit_x86_64.c): if x[r] is held, make its host
 * register valid and extended, so that the path that skips the write of
 * r leaves it as the state after the write says. */
void jit_regs_settle(struct jbuf *b, unsigned r);
/* At the join after such code, whose only register effects were writes
 * of the registers in the mask `rds` (each settled before; `s0` the
 * state where the paths parted): extend those the writes left lo32, keep
 * them is32 only where they were before too, and say whether the state
 * now describes both paths (same assignment, same valid and lo32 sets,
 * dirty grown by rds at most).  False: the caller drops the code and
 * emits an ordinary side exit. */
bool jit_regs_join(struct jbuf *b, const struct jregs *s0, uint64_t rds);
/* Store the dirty held registers to h->x[], leaving the state alone:
 * before an exit, and before a helper call (which reads h->x[] and
 * clobbers the caller-saved host registers). */
void jit_regs_writeback(struct jbuf *b);
/* After a helper call (and its exception check): reload the held
 * registers in `valid` from h->x[]; they are then valid and clean. */
void jit_regs_reload(struct jbuf *b, uint64_t valid);

/* mov dword (w=0) or qword (w=1, the imm32 sign-extended) [base + disp], imm */
static inline void mov_mem_imm(struct jbuf *b, int w, int base, int32_t disp, int32_t imm)
{
    rex(b, w, 0, base);
    b1(b, 0xc7);
    mem(b, 0, base, disp);
    b4(b, (uint32_t)imm);
}

/* group-1 ALU with imm32: /digit (add 0, or 1, and 4, sub 5, xor 6, cmp 7) */
static inline void alu_imm(struct jbuf *b, int w, int digit, int reg, int32_t imm)
{
    rex(b, w, 0, reg);
    b1(b, 0x81);
    b1(b, (uint8_t)(0xc0 | (digit << 3) | (reg & 7)));
    b4(b, (uint32_t)imm);
}

static inline void shift_imm(struct jbuf *b, int w, int digit, int reg, uint8_t n)
{
    rex(b, w, 0, reg);
    b1(b, 0xc1);
    b1(b, (uint8_t)(0xc0 | (digit << 3) | (reg & 7)));
    b1(b, n);
}

static inline void shift_cl(struct jbuf *b, int w, int digit, int reg)
{
    rex(b, w, 0, reg);
    b1(b, 0xd3);
    b1(b, (uint8_t)(0xc0 | (digit << 3) | (reg & 7)));
}

static inline void movsxd_rax_eax(struct jbuf *b)
{
    b1(b, 0x48); b1(b, 0x63); b1(b, 0xc0);   /* movsxd rax, eax */
}

static inline void movsxd(struct jbuf *b, int reg)
{
    op_rr(b, 1, 0x63, reg, reg);              /* movsxd reg, reg32 */
}

static inline void mov_imm64(struct jbuf *b, int reg, uint64_t v)
{
    rex(b, 1, 0, reg);
    b1(b, (uint8_t)(0xb8 | (reg & 7)));
    b8(b, v);
}

static inline void setcc_store(struct jbuf *b, uint8_t cc, unsigned rd)
{
    b1(b, 0x0f); b1(b, (uint8_t)(0x90 | cc)); b1(b, 0xc0);   /* setcc al */
    b1(b, 0x0f); b1(b, 0xb6); b1(b, 0xc0);                     /* movzx eax, al */
    jit_put_x(b, RAX, rd);
}

/* call rel32 to `to` in the code buffer (the stubs' page: 5 bytes). */
static inline void call_rel(struct jbuf *b, const uint8_t *to)
{
    b1(b, 0xe8); b4(b, (uint32_t)(int32_t)(to - (b->p + 4)));
}

/* A thunk for call_abs's callee: jmp to it through rax (12 bytes). */
static inline void call_abs_thunk(struct jbuf *b, const void *fn)
{
    mov_imm64(b, RAX, (uint64_t)(uintptr_t)fn);
    b1(b, 0xff); b1(b, 0xe0);                /* jmp rax */
}

/* Through rax: free at every call (results come back in it), while r11
 * may hold a guest register until jit_regs_writeback. */
static inline void call_abs(struct jbuf *b, const void *fn)
{
    mov_imm64(b, RAX, (uint64_t)(uintptr_t)fn);
    b1(b, 0xff); b1(b, 0xd0);                /* call rax */
}

/* Forward jumps: emit jcc/jmp rel32 and patch later. */
static inline uint8_t *jcc_fwd(struct jbuf *b, uint8_t cc)
{
    b1(b, 0x0f); b1(b, (uint8_t)(0x80 | cc));
    uint8_t *at = b->p;
    b4(b, 0);
    return at;
}

static inline uint8_t *jmp_fwd(struct jbuf *b)
{
    b1(b, 0xe9);
    uint8_t *at = b->p;
    b4(b, 0);
    return at;
}

/* Point the rel32 at `at` (executable view) to `target`. */
static inline void patch(struct jbuf *b, uint8_t *at, uint8_t *target)
{
    int32_t rel = (int32_t)(target - (at + 4));
    memcpy(at + b->w, &rel, 4);
}

enum { CC_B = 2, CC_AE = 3, CC_E = 4, CC_NE = 5, CC_BE = 6, CC_A = 7,
       CC_L = 0xc, CC_GE = 0xd, CC_LE = 0xe, CC_G = 0xf };

/* opcode 0f opc2 with a register operand: reg, rm */
static inline void op_rr2(struct jbuf *b, int w, uint8_t opc2, int reg, int rm)
{
    rex(b, w, reg, rm);
    b1(b, 0x0f);
    b1(b, opc2);
    b1(b, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
}

static inline void cmov(struct jbuf *b, int w, uint8_t cc, int dst, int src)
{
    op_rr2(b, w, (uint8_t)(0x40 | cc), dst, src);
}

/* After a helper call returning a cause in eax: on non-zero, record it
 * and leave with the pc of the instruction at `off` and `count` retired
 * (jit_x86_64.c). */
void jit_exc_check(struct jbuf *b, int32_t off, uint32_t count, uint8_t *epilogue);

/* After an instruction that writes x[rd] (or may: rd is not checked to
 * be an x register): the groups through it end. */
static inline void jit_group_written(struct jbuf *b, unsigned rd)
{
    for (unsigned k = 0; k < 2; k++)
        if (rd == b->grp[k].reg)
            b->grp[k].reg = 0;
}

/* Guest memory accesses (jit_x86_64_mem.c): the load, store and atomic
 * instruction `in` at block offset `off`, after `count` retired ones; a
 * fault leaves through `epi` (a store's, from its way out of line, through
 * jit_emit_cold's).  jit_emit_slot_call: call the out-of-line
 * executor on a copy of `in` kept in the code buffer (eax = the exception
 * cause or 0); the caller stores and reloads held registers around it. */
void jit_emit_load(struct jbuf *b, const struct insn *in, int32_t off, uint32_t count,
                   uint8_t *epi);
/* At a block's head, before a loop's start (so on both ways in): size
 * its site caches from its planned instructions, take them from dc's
 * ring, and check their epoch (emptied out of line, by jit_emit_cold,
 * when the header is not h->jit_site_epoch tagged with the block's lap
 * of the ring).  Clobbers rcx. */
void jit_sites_init(struct jbuf *b, struct dcache *dc);
/* The stubs' page holds, at jit_site_stub_off(store, size) from the
 * buffer's start, the way out of a lone load's or store's site miss
 * (`size` bytes: 1, 2, 4 or 8), called with rax = the address and ecx =
 * the site's offset from rbx: a TLB probe that on a hit fills the site
 * and returns rcx = the addend with ZF clear; on a miss ZF set (rax
 * kept).  Clobbers rcx, rdx.  jit_emit_site_stub emits one at b. */
#define JIT_STUB_SITE 1024
#define JIT_SITE_STUB_SIZE 128   /* bytes each, 8 stubs */
unsigned jit_site_stub_off(bool store, unsigned size);
void jit_emit_site_stub(struct jbuf *b, bool store, unsigned size);
/* The slow paths call jit_load and jit_store through thunks in the
 * stubs' page (JIT_STUB_MEM, jit_load's; JIT_MEM_THUNK bytes on,
 * jit_store's): a call rel32 is 5 bytes where call_abs's are 12, in the
 * way out of every load and store.  jit_emit_mem_thunks emits both into
 * the buffer at `code`. */
#define JIT_STUB_MEM 2176
#define JIT_MEM_THUNK 16
void jit_emit_mem_thunks(struct jbuf *b, uint8_t *code);
/* After the block's last exit: the ways out of line its loads and
 * stores left (b->cold); their faults leave through `epi`, the shared
 * epilogue. */
void jit_emit_cold(struct jbuf *b, uint8_t *epi);
void jit_emit_store(struct jbuf *b, const struct insn *in, int32_t off, uint32_t count);
void jit_emit_amo(struct jbuf *b, const struct insn *in, int32_t off, uint32_t count,
                  uint8_t *epi);
void jit_emit_slot_call(struct jbuf *b, const struct insn *in);
/* The same with another executor: int fn(struct hart *, const struct
 * insn *) returning the exception cause or 0. */
void jit_emit_slot_call_fn(struct jbuf *b, const struct insn *in, const void *fn);

/* The F/D instruction `in` (op_is_fp), like jit_emit_load
 * (jit_x86_64_fp.c). */
void jit_emit_fp(struct jbuf *b, const struct insn *in, int32_t off, uint32_t count,
                 uint8_t *epi);

/* The Zba/Zbb/Zbs/Zicond ops beyond those jit_x86_64.c emits itself:
 * emits `in` and returns true, or returns false if it is none of them
 * (jit_x86_64_bits.c). */
bool jit_emit_bitmanip(struct jbuf *b, const struct insn *in);

#endif
