/* cpu/riscv internal: the block translator (x86-64 hosts).
 *
 * Straight-line runs of decoded instructions in one physical page are
 * translated to host code (atomics inline on a data-TLB hit, else calls
 * to amo_exec; the CSR instructions of jit_csr_in_block as calls to
 * sys_exec).  A block starts
 * at the slot it was entered at (a taken-branch target or a refetch),
 * and is a superblock: it goes on past each conditional branch into the
 * fall-through, the branch's taken way a side exit, and ends after a
 * jump or a branch back to its own start (a loop), before an instruction
 * the translator does not handle (those stay in the interpreter), at
 * another block's start unless going through it closes the block's loop
 * (jit_regs_plan), at the end of the page, or after JIT_MAX_INSNS.
 *
 * Block ABI: uint64_t fn(struct hart *h, uint64_t vpc), vpc = the block's
 * virtual start address (code is shared by every virtual alias of the
 * page).  Returns the number of instructions retired and leaves the next
 * pc in h->pc.  If an instruction faults, h->pc is its address,
 * h->jit_exc = cause + 1 and h->exc_tval is set; the count excludes it.
 *
 * The entry is published by rewriting the block's first slot to OP_JIT,
 * with the code's byte offset in the buffer in the slot's raw field
 * (written first, then op, with release order).  Only raw and op change:
 * the fields the instruction's own execution reads (rd, rs1, rs2, imm)
 * stay, so a reader that loaded the slot's old op a moment before still
 * runs the instruction right (a handler that reads op or raw again takes
 * a copy first: exec.c).  Whatever retires the page (a store to it,
 * FENCE.I revalidation) drops the entry with it.  The code buffer and the
 * decoded pages are shared by a VM's harts (struct dcache); translating
 * and patching links happen under its lock.  Host code memory is a ring
 * of regions filled in turn; the oldest is recycled when the current one
 * is full (its blocks' slots go back to OP_DECODE, op only, so a hart
 * that read op and raw together still finds the old code), and it is
 * rewritten once every hart has passed a quiescent point since.
 * jit_reset() empties it together with the decoded-page cache. */
#ifndef VESSEL_RISCV_JIT_H
#define VESSEL_RISCV_JIT_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/riscv/ops.h"

struct hart;
struct dpage;
struct dcache;

#define JIT_MAX_INSNS 128
/* Worst-case host bytes per guest instruction on x86-64 (a load/store with
 * its slow path and exception exit is ~150 bytes, a branch with two linked
 * exits ~240, an inline SC with its out-of-line path and exception exit
 * ~250, a single-precision fused multiply-add with its inline fast path,
 * call and exception exit ~330; a slow path also stores and reloads up to
 * eight held registers, 4 bytes each and 3 more to sign-extend each W
 * result held unextended, and an instruction may first evict registers
 * the same way).  jit_translate starts a block only where JIT_INSN_MAX
 * times (JIT_MAX_INSNS + 4) bytes are left in the region: a guest may
 * fill a whole block with its most expensive instruction (test_hart
 * checks). */
#define JIT_INSN_MAX 480

/* A block's entry: runs the chain of blocks from the guest pc vpc,
 * charging what it retires to h->jit_left (set by the caller), and
 * returns with h->pc (and h->jit_exc, if it trapped) set. */
typedef void (*jit_fn)(struct hart *h, uint64_t vpc);

/* Reserve the code buffer of a VM's cache (shared by its harts, like the
 * decoded pages).  Returns 0, or -1 when the host has no translator
 * (non-x86-64) or the buffer cannot be had: the interpreter then runs
 * everything. */
int jit_init(struct dcache *dc);
void jit_destroy(struct dcache *dc);

/* Forget all translations (the decoded-page cache was reset; no hart
 * runs). */
void jit_reset(struct dcache *dc);

/* Translate the block starting at byte offset `off` of `dp` and publish it
 * in that slot, under dc->lock.  Returns true when the slot publishes a
 * block (this hart's or another's); false when the first instruction is
 * not translatable, or while the region being filled waits for the harts
 * to pass a quiescent point after it was recycled.  Recycling the oldest
 * region retires every page with a block in it (`dp` too: the block is
 * made, unreachable).  Only from the interpreter, not from translated
 * code. */
bool jit_translate(struct hart *h, struct dpage *dp, unsigned off);

/* Executions of a block start before it is translated: cold code (most
 * of a boot runs once) stays in the interpreter, which costs less than
 * translating it and keeps host memory down. */
#define JIT_HOT 128   /* default; hart_set_jit overrides */

/* Can the translator handle this op?  (Inline: asked on every block entry
 * until the block is translated.) */
static inline bool jit_can_translate(unsigned op)
{
    switch (op) {
    case OP_LUI: case OP_AUIPC: case OP_JAL: case OP_JALR:
    case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
    case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
    case OP_SB: case OP_SH: case OP_SW: case OP_SD:
    case OP_ADDI: case OP_SLTI: case OP_SLTIU: case OP_XORI: case OP_ORI: case OP_ANDI:
    case OP_SLLI: case OP_SRLI: case OP_SRAI:
    case OP_ADD: case OP_SUB: case OP_SLL: case OP_SLT: case OP_SLTU: case OP_XOR:
    case OP_SRL: case OP_SRA: case OP_OR: case OP_AND:
    case OP_ADDIW: case OP_SLLIW: case OP_SRLIW: case OP_SRAIW:
    case OP_ADDW: case OP_SUBW: case OP_SLLW: case OP_SRLW: case OP_SRAW:
    case OP_MUL: case OP_MULW: case OP_MULH: case OP_MULHU: case OP_MULHSU:
    case OP_DIV: case OP_DIVU: case OP_REM: case OP_REMU:
    case OP_DIVW: case OP_DIVUW: case OP_REMW: case OP_REMUW:
    case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD: case OP_ADD_UW:
    case OP_SH1ADD_UW: case OP_SH2ADD_UW: case OP_SH3ADD_UW: case OP_SLLI_UW:
    case OP_ANDN: case OP_ORN: case OP_XNOR:
    case OP_CLZ: case OP_CLZW: case OP_CTZ: case OP_CTZW: case OP_CPOP: case OP_CPOPW:
    case OP_MAX: case OP_MAXU: case OP_MIN: case OP_MINU:
    case OP_SEXT_B: case OP_SEXT_H: case OP_ZEXT_H:
    case OP_ROL: case OP_ROLW: case OP_ROR: case OP_RORI: case OP_RORIW: case OP_RORW:
    case OP_ORC_B: case OP_REV8:
    case OP_BCLR: case OP_BCLRI: case OP_BEXT: case OP_BEXTI:
    case OP_BINV: case OP_BINVI: case OP_BSET: case OP_BSETI:
    case OP_CZERO_EQZ: case OP_CZERO_NEZ:
    case OP_NOP: case OP_FENCE:
        return true;
    }
    /* op_is_fp: all of F and D (jit_x86_64_fp.c); their rounding mode is
     * decoded into imm, so aux counts entries as for any op here */
    return op_is_amo(op) || op_is_fp(op);
}

/* Can this CSR instruction run inside a translated block (Zicsr,
 * Unprivileged ISA chapter 9)?  Only CSRs whose accesses change nothing a
 * block depends on beyond the data-TLB set (reloaded after the call): the
 * supervisor trap CSRs Linux touches around every interrupt-disable and
 * user access (sstatus SIE/SUM, sscratch, sepc, ...), time and the FP
 * status, as marked in csr.c's table.  Never satp (translation), the
 * counters (instret is exact only outside a block) or M-mode CSRs.  A
 * block never starts with one: such a slot's aux holds the CSR source
 * field, not the entry count. */
bool csr_in_block(unsigned csr);   /* csr.c: the CSR table's flag */
static inline bool jit_csr_in_block(unsigned op, int32_t imm)
{
    return op_is_csr(op) && csr_in_block((unsigned)imm & 0xfff);
}

/* Can `in` be part of a block past its first instruction? */
static inline bool jit_in_block(unsigned op, int32_t imm)
{
    return jit_can_translate(op) || jit_csr_in_block(op, imm);
}

#endif
