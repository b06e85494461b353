/* cpu/riscv: the "A" extension (Unprivileged ISA chapter 8): LR/SC with a
 * reservation set of one naturally aligned word/doubleword, and AMOs done
 * with host atomics on the guest page, so they are atomic against other
 * harts running on other host threads.
 *
 * SC succeeds when the reservation is valid, covers the address, and the
 * memory still holds the value LR read (compare-and-swap), which gives the
 * LR/SC forward-progress and atomicity guarantees across host threads. */
#include "cpu/riscv/hart_internal.h"

#define AMO32(expr) do {                                                       \
        uint32_t o_ = __atomic_load_n(p32, __ATOMIC_RELAXED), n_;              \
        do {                                                                   \
            uint32_t a = o_; (void)a;                                                 \
            n_ = (expr);                                                       \
        } while (!__atomic_compare_exchange_n(p32, &o_, n_, true,              \
                                              __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)); \
        old = (uint64_t)(int64_t)(int32_t)o_;                                  \
    } while (0)
#define AMO64(expr) do {                                                       \
        uint64_t o_ = __atomic_load_n(p64, __ATOMIC_RELAXED), n_;              \
        do {                                                                   \
            uint64_t a = o_; (void)a;                                                 \
            n_ = (expr);                                                       \
        } while (!__atomic_compare_exchange_n(p64, &o_, n_, true,              \
                                              __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)); \
        old = o_;                                                              \
    } while (0)

int amo_exec(struct hart *h, const struct insn *ip)
{
    bool dbl = ip->op >= OP_LR_D;
    unsigned size = dbl ? 8 : 4;
    uint64_t va = h->x[ip->rs1];
    uint64_t b64 = h->x[ip->rs2];
    uint32_t b32 = (uint32_t)b64;
    void *p;
    uint64_t pa, old = 0;
    unsigned op = dbl ? ip->op - (OP_LR_D - OP_LR_W) : ip->op;
    int c;

    if (op == OP_LR_W) {
        c = mmu_atomic_ptr(h, va, size, false, &p, &pa);
        if (c)
            return EXEC_EXC(c);
        if (dbl)
            old = __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
        else
            old = (uint64_t)(int64_t)(int32_t)__atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST);
        h->resv_valid = true;
        h->resv_host = (uintptr_t)p;
        h->resv_val = old;
        h->x[ip->rd] = old;
        h->x[32] = 0;
        return EXEC_NEXT;
    }
    c = mmu_atomic_ptr(h, va, size, true, &p, &pa);
    if (c)
        return EXEC_EXC(c);
    if (op == OP_SC_W) {
        bool ok = false;
        if (h->resv_valid && h->resv_host == (uintptr_t)p) {
            if (dbl) {
                uint64_t expect = h->resv_val;
                ok = __atomic_compare_exchange_n((uint64_t *)p, &expect, b64, false,
                                                 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            } else {
                uint32_t expect = (uint32_t)h->resv_val;
                ok = __atomic_compare_exchange_n((uint32_t *)p, &expect, b32, false,
                                                 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            }
        }
        h->resv_valid = false;
        if (ok && dcache_is_code(h, pa & ~0xfffULL))
            dcache_store_hit(h, pa, size);
        h->x[ip->rd] = ok ? 0 : 1;
        h->x[32] = 0;
        return EXEC_NEXT;
    }
    if (!dbl) {
        uint32_t *p32 = p;
        switch (op) {
        case OP_AMOSWAP_W: AMO32(b32); break;
        case OP_AMOADD_W:  AMO32(a + b32); break;
        case OP_AMOXOR_W:  AMO32(a ^ b32); break;
        case OP_AMOAND_W:  AMO32(a & b32); break;
        case OP_AMOOR_W:   AMO32(a | b32); break;
        case OP_AMOMIN_W:  AMO32((int32_t)a < (int32_t)b32 ? a : b32); break;
        case OP_AMOMAX_W:  AMO32((int32_t)a > (int32_t)b32 ? a : b32); break;
        case OP_AMOMINU_W: AMO32(a < b32 ? a : b32); break;
        case OP_AMOMAXU_W: AMO32(a > b32 ? a : b32); break;
        }
    } else {
        uint64_t *p64 = p;
        switch (op) {
        case OP_AMOSWAP_W: AMO64(b64); break;
        case OP_AMOADD_W:  AMO64(a + b64); break;
        case OP_AMOXOR_W:  AMO64(a ^ b64); break;
        case OP_AMOAND_W:  AMO64(a & b64); break;
        case OP_AMOOR_W:   AMO64(a | b64); break;
        case OP_AMOMIN_W:  AMO64((int64_t)a < (int64_t)b64 ? a : b64); break;
        case OP_AMOMAX_W:  AMO64((int64_t)a > (int64_t)b64 ? a : b64); break;
        case OP_AMOMINU_W: AMO64(a < b64 ? a : b64); break;
        case OP_AMOMAXU_W: AMO64(a > b64 ? a : b64); break;
        }
    }
    if (dcache_is_code(h, pa & ~0xfffULL))
        dcache_store_hit(h, pa, size);
    h->x[ip->rd] = old;
    h->x[32] = 0;
    return EXEC_NEXT;
}
