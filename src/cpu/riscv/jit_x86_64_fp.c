/* cpu/riscv: F/D instructions inside translated blocks on x86-64 (see
 * jit_x86_64.c and jit.h's jit_fp_in_block).
 *
 * Before, every F/D instruction ended its block and the interpreter ran
 * it and what followed up to the next taken branch, so floating-point
 * loops ran mostly interpreted.  Now:
 *   - FLW, FLD, FSW, FSD probe the software TLB inline, as the integer
 *     loads and stores do (jit_x86_64_mem.c), FMV.X.D and FMV.D.X are a
 *     move: the code compilers emit around arithmetic (spills, constants,
 *     argument passing);
 *   - the arithmetic, conversions, compares and the other moves call
 *     fp_exec on a copy of the slot, which runs them on the host's units
 *     where exact (fpu_host.c), with the held registers stored before and
 *     reloaded after as for every helper.
 * The f registers are never held in host registers: h->f[] is always
 * exact, so a trap or helper in the middle of a block needs nothing.
 *
 * mstatus.FS: with FS = Off every F/D instruction is illegal (Privileged
 * ISA 3.1.6.6).  The first inline one of a block tests it and, when Off,
 * hands over to the interpreter at that instruction, which raises the
 * exception; the first that writes an f register sets FS = Dirty and SD.
 * Nothing inside a block changes FS except a CSR instruction (a write of
 * sstatus), after which both are done again (b->fs_on, b->fs_dirty). */
#include <stddef.h>

#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit.h"
#include "cpu/riscv/jit_x86_64_asm.h"

#if defined(__x86_64__)

#define MSTATUS_OFF ((int32_t)offsetof(struct hart, mstatus))

/* Leave for the interpreter before the instruction at `off` when
 * mstatus.FS is Off; it raises the illegal-instruction exception. */
static void emit_fs_check(struct jbuf *b, int32_t off, uint32_t count, uint8_t *epi)
{
    if (b->fs_on)
        return;
    rex(b, 0, 0, R12);
    b1(b, 0xf7); mem(b, 0, R12, MSTATUS_OFF);          /* test dword [mstatus], FS */
    b4(b, (uint32_t)MSTATUS_FS);
    uint8_t *on = jcc_fwd(b, CC_NE);
    jit_regs_writeback(b);
    jit_emit_handover(b, off, count, epi);
    patch(b, on, b->p);
    b->fs_on = true;
}

/* mstatus.FS = Dirty, SD = 1 (Privileged ISA 3.1.6.6). */
static void emit_fs_dirty(struct jbuf *b)
{
    if (b->fs_dirty)
        return;
    rex(b, 0, 0, R12);
    b1(b, 0x81); mem(b, 1, R12, MSTATUS_OFF);          /* or dword [mstatus], FS */
    b4(b, (uint32_t)MSTATUS_FS);
    rex(b, 0, 0, R12);
    b1(b, 0x80); mem(b, 1, R12, MSTATUS_OFF + 7);      /* or byte [mstatus+7], SD */
    b1(b, 0x80);
    b->fs_dirty = true;
}

void jit_emit_fp(struct jbuf *b, const struct insn *in, int32_t off, uint32_t count,
                 uint8_t *epi)
{
    switch (in->op) {
    case OP_FLW: case OP_FLD:
        emit_fs_check(b, off, count, epi);
        jit_regs_prepare(b, in);
        jit_emit_load(b, in, off, count, epi);
        emit_fs_dirty(b);
        return;
    case OP_FSW: case OP_FSD:
        emit_fs_check(b, off, count, epi);
        jit_regs_prepare(b, in);
        jit_emit_store(b, in, off, count, epi);
        return;
    case OP_FMV_X_D:
        emit_fs_check(b, off, count, epi);
        op_rm(b, 1, 0x8b, RAX, R12, JIT_F_OFF(in->rs1));  /* mov rax, f[rs1] */
        jit_put_x(b, RAX, in->rd);
        return;
    case OP_FMV_D_X:
        emit_fs_check(b, off, count, epi);
        jit_get_x(b, RAX, in->rs1);
        op_rm(b, 1, 0x89, RAX, R12, JIT_F_OFF(in->rd));   /* mov f[rd], rax */
        emit_fs_dirty(b);
        return;
    }
    jit_regs_writeback(b);
    jit_emit_slot_call(b, in);
    jit_exc_check(b, off, count, epi);
    jit_regs_reload(b, b->ra.valid);    /* rd too, if an integer one, held and valid */
    /* fp_exec returned: FS was on; it set Dirty unless the op only read
     * the F state (FMV.X.W). */
    b->fs_on = true;
    if (in->op != OP_FMV_X_W)
        b->fs_dirty = true;
}

#endif
