/* cpu/riscv: the block translator's bit-manipulation ops (Unprivileged
 * ISA chapter 28: Zba, Zbb, Zbs; chapter 12: Zicond) on x86-64. */
#include "cpu/riscv/hart_internal.h"
#include "cpu/riscv/jit_x86_64_asm.h"

#if defined(__x86_64__)

/* CPOP and CPOPW on a host without POPCNT (it is not in the x86-64
 * baseline): a call. */
static uint64_t jit_bitcount(uint64_t a, uint32_t op)
{
    return op == OP_CPOP ? (uint64_t)__builtin_popcountll(a)
                         : (uint64_t)__builtin_popcount((uint32_t)a);
}

/* The bit-manipulation ops beyond sh[123]add/add.uw/andn/orn/xnor
 * (Unprivileged ISA chapter 28: Zba, Zbb, Zbs) and Zicond (chapter 12).
 * x86 masks rotate counts and register bit offsets the way RISC-V does
 * (mod 64, or mod 32 for the W forms), so those map one to one; BSF/BSR
 * leave the destination undefined on 0, so a CMOV supplies that case.
 * Returns false if `in` is none of them (jit_x86_64_asm.h). */
bool jit_emit_bitmanip(struct jbuf *b, const struct insn *in)
{
    switch (in->op) {
    case OP_SH1ADD_UW: case OP_SH2ADD_UW: case OP_SH3ADD_UW:
        jit_op_x(b, 0, 0x8b, RAX, in->rs1);     /* mov eax, [rs1] (zero-extends) */
        shift_imm(b, 1, 4, RAX, (uint8_t)(in->op == OP_SH1ADD_UW ? 1
                                          : in->op == OP_SH2ADD_UW ? 2 : 3));
        jit_op_x(b, 1, 0x03, RAX, in->rs2);
        break;
    case OP_SLLI_UW:
        jit_op_x(b, 0, 0x8b, RAX, in->rs1);
        shift_imm(b, 1, 4, RAX, (uint8_t)in->imm);
        break;
    case OP_CLZ: case OP_CLZW:                          /* width-1 - bsr, or width */
        rex(b, 1, 0, RCX); b1(b, 0xc7); b1(b, 0xc1); b4(b, 0xffffffffu); /* mov rcx, -1 */
        jit_op2_x(b, in->op == OP_CLZ, 0xbd, RAX, in->rs1);       /* bsr */
        cmov(b, 1, CC_E, RAX, RCX);
        rex(b, 1, 0, RAX); b1(b, 0xf7); b1(b, 0xd8);                      /* neg rax */
        alu_imm(b, 1, 0, RAX, in->op == OP_CLZ ? 63 : 31);
        break;
    case OP_CTZ: case OP_CTZW:
        b1(b, 0xb9); b4(b, in->op == OP_CTZ ? 64 : 32);                   /* mov ecx, width */
        jit_op2_x(b, in->op == OP_CTZ, 0xbc, RAX, in->rs1);       /* bsf */
        cmov(b, 1, CC_E, RAX, RCX);
        break;
    case OP_ORC_B:
        /* SSE2 (baseline): bytes equal to zero become 0xff, then not.
         * Linux's Zbb string functions (strlen, strcmp) run it per word;
         * a call cost each a store and reload of the held registers. */
        jit_get_x(b, RAX, in->rs1);
        b1(b, 0x66); b1(b, 0x48); b1(b, 0x0f); b1(b, 0x6e); b1(b, 0xc0);  /* movq xmm0, rax */
        b1(b, 0x66); b1(b, 0x0f); b1(b, 0xef); b1(b, 0xc9);               /* pxor xmm1, xmm1 */
        b1(b, 0x66); b1(b, 0x0f); b1(b, 0x74); b1(b, 0xc1);               /* pcmpeqb xmm0, xmm1 */
        b1(b, 0x66); b1(b, 0x48); b1(b, 0x0f); b1(b, 0x7e); b1(b, 0xc0);  /* movq rax, xmm0 */
        rex(b, 1, 0, RAX); b1(b, 0xf7); b1(b, 0xd0);                      /* not rax */
        break;
    case OP_CPOP: case OP_CPOPW:
        if (__builtin_cpu_supports("popcnt")) {
            b1(b, 0xf3);                                                  /* popcnt rax, rs1 */
            jit_op2_x(b, in->op == OP_CPOP, 0xb8, RAX, in->rs1);
            break;
        }
        jit_get_x(b, RAX, in->rs1);     /* via rax: rdi may hold another register */
        jit_regs_writeback(b);          /* the call clobbers the held registers */
        op_rr(b, 1, 0x8b, RDI, RAX);
        b1(b, 0xbe); b4(b, in->op);                                       /* mov esi, op */
        call_abs(b, (const void *)jit_bitcount);
        jit_regs_reload(b, b->ra.valid);
        break;
    case OP_MAX: case OP_MAXU: case OP_MIN: case OP_MINU:
        jit_get_x(b, RAX, in->rs1);
        jit_get_x(b, RCX, in->rs2);
        op_rr(b, 1, 0x3b, RAX, RCX);                                      /* cmp rax, rcx */
        cmov(b, 1, in->op == OP_MAX ? CC_L : in->op == OP_MAXU ? CC_B
                 : in->op == OP_MIN ? CC_G : CC_A, RAX, RCX);
        break;
    case OP_SEXT_B: jit_op2_x(b, 1, 0xbe, RAX, in->rs1); break;  /* movsx rax, byte */
    case OP_SEXT_H: jit_op2_x(b, 1, 0xbf, RAX, in->rs1); break;  /* movsx rax, word */
    case OP_ZEXT_H: jit_op2_x(b, 0, 0xb7, RAX, in->rs1); break;  /* movzx eax, word */
    case OP_REV8:
        jit_get_x(b, RAX, in->rs1);
        b1(b, 0x48); b1(b, 0x0f); b1(b, 0xc8);                            /* bswap rax */
        break;
    case OP_ROL: case OP_ROR: case OP_ROLW: case OP_RORW: {
        int w = in->op == OP_ROL || in->op == OP_ROR;
        jit_get_x(b, RAX, in->rs1);
        jit_get_x(b, RCX, in->rs2);
        shift_cl(b, w, in->op == OP_ROL || in->op == OP_ROLW ? 0 : 1, RAX);
        if (!w)
            movsxd_rax_eax(b);
        break;
    }
    case OP_RORI: case OP_RORIW:
        jit_get_x(b, RAX, in->rs1);
        shift_imm(b, in->op == OP_RORI, 1, RAX, (uint8_t)in->imm);
        if (in->op == OP_RORIW)
            movsxd_rax_eax(b);
        break;
    case OP_BSET: case OP_BCLR: case OP_BINV: case OP_BEXT:
        jit_get_x(b, RAX, in->rs1);
        jit_get_x(b, RCX, in->rs2);
        if (in->op == OP_BEXT) {
            op_rr2(b, 1, 0xa3, RCX, RAX);                                 /* bt rax, rcx */
            setcc_store(b, CC_B, in->rd);
            return true;
        }
        op_rr2(b, 1, in->op == OP_BSET ? 0xab : in->op == OP_BCLR ? 0xb3 : 0xbb, RCX, RAX);
        break;
    case OP_BSETI: case OP_BCLRI: case OP_BINVI: case OP_BEXTI: {
        int digit = in->op == OP_BSETI ? 5 : in->op == OP_BCLRI ? 6 : in->op == OP_BINVI ? 7 : 4;
        jit_get_x(b, RAX, in->rs1);
        rex(b, 1, 0, RAX); b1(b, 0x0f); b1(b, 0xba);                      /* bt* rax, imm8 */
        b1(b, (uint8_t)(0xc0 | (digit << 3))); b1(b, (uint8_t)in->imm);
        if (in->op == OP_BEXTI) {
            setcc_store(b, CC_B, in->rd);
            return true;
        }
        break;
    }
    case OP_CZERO_EQZ: case OP_CZERO_NEZ:
        b1(b, 0x31); b1(b, 0xc9);                                         /* xor ecx, ecx */
        jit_get_x(b, RAX, in->rs1);
        jit_get_x(b, RDX, in->rs2);
        op_rr(b, 1, 0x85, RDX, RDX);                                      /* test rdx, rdx */
        cmov(b, 1, in->op == OP_CZERO_EQZ ? CC_E : CC_NE, RAX, RCX);
        break;
    default:
        return false;
    }
    jit_put_x(b, RAX, in->rd);
    return true;
}

#endif
