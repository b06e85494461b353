/* cpu/riscv internal: IEEE 754-2008 binary32/binary64 arithmetic with
 * RISC-V semantics (Unprivileged ISA chapters 11 "F" and 12 "D").
 *
 * Values are raw bit patterns (uint32_t for binary32, uint64_t for
 * binary64); NaN-boxing is the caller's business.  `rm` is an already
 * resolved static rounding mode (FRM_RNE..FRM_RMM, never FRM_DYN).
 * Exception flags are OR-ed into *fflags (FFLAG_*), never cleared.
 * Every NaN result is the canonical NaN (0x7fc00000 / 0x7ff8000000000000).
 * Tininess is detected after rounding, as RISC-V specifies. */
#ifndef VESSEL_RISCV_FPU_H
#define VESSEL_RISCV_FPU_H

#include <stdint.h>

enum { FRM_RNE = 0, FRM_RTZ = 1, FRM_RDN = 2, FRM_RUP = 3, FRM_RMM = 4, FRM_DYN = 7 };
enum { FFLAG_NX = 1, FFLAG_UF = 2, FFLAG_OF = 4, FFLAG_DZ = 8, FFLAG_NV = 16 };

#define F32_CANON_NAN 0x7fc00000u
#define F64_CANON_NAN 0x7ff8000000000000ull

/* Arithmetic: a op b, correctly rounded. */
uint32_t f32_add(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_sub(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_mul(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_div(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_sqrt(uint32_t a, int rm, uint32_t *fflags);
/* Fused multiply-add: (a*b)+c with one rounding.  negprod negates a*b,
 * negc negates c: FMADD (0,0), FMSUB (0,1), FNMSUB (1,0), FNMADD (1,1). */
uint32_t f32_fma(uint32_t a, uint32_t b, uint32_t c, int negprod, int negc,
                 int rm, uint32_t *fflags);
/* FMIN/FMAX (2.2 semantics: -0 < +0, one NaN returns the other operand,
 * signaling NaN input raises NV, both NaN gives canonical NaN). */
uint32_t f32_min(uint32_t a, uint32_t b, uint32_t *fflags);
uint32_t f32_max(uint32_t a, uint32_t b, uint32_t *fflags);
/* Comparisons: FEQ quiet (NV only for sNaN), FLT/FLE signaling (NV for any
 * NaN).  Return 0 or 1. */
int f32_eq(uint32_t a, uint32_t b, uint32_t *fflags);
int f32_lt(uint32_t a, uint32_t b, uint32_t *fflags);
int f32_le(uint32_t a, uint32_t b, uint32_t *fflags);
/* FCLASS: one-hot 10-bit mask (bit 0 = -inf ... bit 9 = quiet NaN). */
uint32_t f32_classify(uint32_t a);

/* Conversions to integer: result sign-extended to 64 bits for the 32-bit
 * forms (as FCVT.W[U].S writes rd).  Out-of-range and NaN inputs saturate
 * as in the ISA's FCVT table and raise NV; inexact raises NX. */
int64_t  f32_to_i32(uint32_t a, int rm, uint32_t *fflags);
int64_t  f32_to_u32(uint32_t a, int rm, uint32_t *fflags);
int64_t  f32_to_i64(uint32_t a, int rm, uint32_t *fflags);
uint64_t f32_to_u64(uint32_t a, int rm, uint32_t *fflags);
uint32_t i32_to_f32(int32_t a, int rm, uint32_t *fflags);
uint32_t u32_to_f32(uint32_t a, int rm, uint32_t *fflags);
uint32_t i64_to_f32(int64_t a, int rm, uint32_t *fflags);
uint32_t u64_to_f32(uint64_t a, int rm, uint32_t *fflags);

/* The same for binary64. */
uint64_t f64_add(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_sub(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_mul(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_div(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_sqrt(uint64_t a, int rm, uint32_t *fflags);
uint64_t f64_fma(uint64_t a, uint64_t b, uint64_t c, int negprod, int negc,
                 int rm, uint32_t *fflags);
uint64_t f64_min(uint64_t a, uint64_t b, uint32_t *fflags);
uint64_t f64_max(uint64_t a, uint64_t b, uint32_t *fflags);
int f64_eq(uint64_t a, uint64_t b, uint32_t *fflags);
int f64_lt(uint64_t a, uint64_t b, uint32_t *fflags);
int f64_le(uint64_t a, uint64_t b, uint32_t *fflags);
uint32_t f64_classify(uint64_t a);
int64_t  f64_to_i32(uint64_t a, int rm, uint32_t *fflags);
int64_t  f64_to_u32(uint64_t a, int rm, uint32_t *fflags);
int64_t  f64_to_i64(uint64_t a, int rm, uint32_t *fflags);
uint64_t f64_to_u64(uint64_t a, int rm, uint32_t *fflags);
uint64_t i32_to_f64(int32_t a, int rm, uint32_t *fflags);
uint64_t u32_to_f64(uint32_t a, int rm, uint32_t *fflags);
uint64_t i64_to_f64(int64_t a, int rm, uint32_t *fflags);
uint64_t u64_to_f64(uint64_t a, int rm, uint32_t *fflags);

/* FCVT.D.S (exact; sNaN raises NV) and FCVT.S.D (rounded). */
uint64_t f32_to_f64(uint32_t a, uint32_t *fflags);
uint32_t f64_to_f32(uint64_t a, int rm, uint32_t *fflags);

/* ---- the host's units (fpu_host.c) ----
 * The same operations, same contract, run on the host's SSE2 (and FMA3 for
 * the fused forms) when that gives the soft-float's result and flags bit
 * for bit: rounding modes RNE, RTZ, RDN and RUP; NaN results made
 * canonical; a fused multiply-add with a NaN operand, RMM, and hosts
 * without the units go to the soft-float above.  fp_exec uses these. */
enum { FPU_HOST_SSE = 1, FPU_HOST_FMA = 2 };
/* Which units the *_host functions use on this host (FPU_HOST_* bits;
 * 0 on hosts other than x86-64). */
unsigned fpu_host_units(void);
/* Put this thread's host FP control (MXCSR) in the state the *_host
 * functions and translated code assume: round to nearest even, every
 * exception masked, no flush-to-zero or denormals-are-zero.  Nothing in
 * Vessel changes it, but a library in the thread could; hart_run calls
 * this on entry (one register load).  No-op on other hosts. */
void fpu_host_enter(void);
uint32_t f32_add_host(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_sub_host(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_mul_host(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_div_host(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_sqrt_host(uint32_t a, int rm, uint32_t *fflags);
uint32_t f32_fma_host(uint32_t a, uint32_t b, uint32_t c, int negprod, int negc,
                      int rm, uint32_t *fflags);
uint64_t f64_add_host(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_sub_host(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_mul_host(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_div_host(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_sqrt_host(uint64_t a, int rm, uint32_t *fflags);
uint64_t f64_fma_host(uint64_t a, uint64_t b, uint64_t c, int negprod, int negc,
                      int rm, uint32_t *fflags);

#endif
