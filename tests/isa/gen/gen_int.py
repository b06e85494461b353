#!/usr/bin/env python3
"""Generate the integer ISA tests (rv64i_alu, rv64m, zba, zbb, zbs, zicond).

Expected values come from the reference semantics below, written from the
RISC-V Unprivileged ISA (RV64I/M chapters, Bitmanip 1.0.0, Zicond 1.0)
independently of any emulator.  Run from anywhere:
    python3 tests/isa/gen/gen_int.py
It rewrites tests/isa/{rv64i_alu,rv64m,zba,zbb,zbs,zicond}.S.
"""
import os, random

M = (1 << 64) - 1
def u(x): return x & M
def s64(x):
    x &= M
    return x - (1 << 64) if x >> 63 else x
def sx32(x):
    x &= 0xffffffff
    return u(x - (1 << 32) if x >> 31 else x)
def s32(x):
    x &= 0xffffffff
    return x - (1 << 32) if x >> 31 else x

def div(a, b):  # signed, truncating, RISC-V special cases
    a, b = s64(a), s64(b)
    if b == 0: return M
    if a == -(1 << 63) and b == -1: return u(a)
    q = abs(a) // abs(b)
    return u(-q if (a < 0) != (b < 0) else q)
def rem(a, b):
    a, b = s64(a), s64(b)
    if b == 0: return u(a)
    if a == -(1 << 63) and b == -1: return 0
    r = abs(a) % abs(b)
    return u(-r if a < 0 else r)
def divw(a, b):
    a, b = s32(a), s32(b)
    if b == 0: return M
    if a == -(1 << 31) and b == -1: return sx32(a)
    q = abs(a) // abs(b)
    return sx32(-q if (a < 0) != (b < 0) else q)
def remw(a, b):
    a, b = s32(a), s32(b)
    if b == 0: return sx32(a)
    if a == -(1 << 31) and b == -1: return 0
    r = abs(a) % abs(b)
    return sx32(-r if a < 0 else r)
def divuw(a, b):
    a, b = a & 0xffffffff, b & 0xffffffff
    return M if b == 0 else sx32(a // b)
def remuw(a, b):
    a, b = a & 0xffffffff, b & 0xffffffff
    return sx32(a) if b == 0 else sx32(a % b)
def clz(x, n=64):
    for i in range(n):
        if x >> (n - 1 - i) & 1: return i
    return n
def ctz(x, n=64):
    for i in range(n):
        if x >> i & 1: return i
    return n
def rol(x, s, n=64):
    s %= n; x &= (1 << n) - 1
    return ((x << s) | (x >> (n - s))) & ((1 << n) - 1) if s else x
def ror(x, s, n=64): return rol(x, (n - s % n) % n, n)
def orcb(x):
    r = 0
    for i in range(8):
        if (x >> (8 * i)) & 0xff: r |= 0xff << (8 * i)
    return r
def rev8(x): return int.from_bytes(x.to_bytes(8, 'little'), 'big')

RR = {
    'add': lambda a, b: u(a + b), 'sub': lambda a, b: u(a - b),
    'sll': lambda a, b: u(a << (b & 63)), 'srl': lambda a, b: a >> (b & 63),
    'sra': lambda a, b: u(s64(a) >> (b & 63)),
    'slt': lambda a, b: int(s64(a) < s64(b)), 'sltu': lambda a, b: int(a < b),
    'xor': lambda a, b: a ^ b, 'or': lambda a, b: a | b, 'and': lambda a, b: a & b,
    'addw': lambda a, b: sx32(a + b), 'subw': lambda a, b: sx32(a - b),
    'sllw': lambda a, b: sx32(a << (b & 31)),
    'srlw': lambda a, b: sx32((a & 0xffffffff) >> (b & 31)),
    'sraw': lambda a, b: sx32(s32(a) >> (b & 31)),
    'mul': lambda a, b: u(a * b), 'mulh': lambda a, b: u((s64(a) * s64(b)) >> 64),
    'mulhsu': lambda a, b: u((s64(a) * b) >> 64), 'mulhu': lambda a, b: (a * b) >> 64,
    'mulw': lambda a, b: sx32(a * b),
    'div': div, 'divu': lambda a, b: M if b == 0 else a // b,
    'rem': rem, 'remu': lambda a, b: a if b == 0 else a % b,
    'divw': divw, 'divuw': divuw, 'remw': remw, 'remuw': remuw,
    'add.uw': lambda a, b: u((a & 0xffffffff) + b),
    'sh1add': lambda a, b: u((a << 1) + b), 'sh2add': lambda a, b: u((a << 2) + b),
    'sh3add': lambda a, b: u((a << 3) + b),
    'sh1add.uw': lambda a, b: u(((a & 0xffffffff) << 1) + b),
    'sh2add.uw': lambda a, b: u(((a & 0xffffffff) << 2) + b),
    'sh3add.uw': lambda a, b: u(((a & 0xffffffff) << 3) + b),
    'andn': lambda a, b: a & ~b & M, 'orn': lambda a, b: (a | ~b) & M,
    'xnor': lambda a, b: ~(a ^ b) & M,
    'max': lambda a, b: u(max(s64(a), s64(b))), 'maxu': max,
    'min': lambda a, b: u(min(s64(a), s64(b))), 'minu': min,
    'rol': lambda a, b: rol(a, b & 63), 'ror': lambda a, b: ror(a, b & 63),
    'rolw': lambda a, b: sx32(rol(a, b & 31, 32)),
    'rorw': lambda a, b: sx32(ror(a, b & 31, 32)),
    'bclr': lambda a, b: a & ~(1 << (b & 63)) & M, 'bset': lambda a, b: a | (1 << (b & 63)),
    'binv': lambda a, b: a ^ (1 << (b & 63)), 'bext': lambda a, b: (a >> (b & 63)) & 1,
    'czero.eqz': lambda a, b: 0 if b == 0 else a,
    'czero.nez': lambda a, b: 0 if b != 0 else a,
}
IMM = {  # name: (function, immediate range)
    'addi': (lambda a, i: u(a + i), 'i12'), 'slti': (lambda a, i: int(s64(a) < i), 'i12'),
    'sltiu': (lambda a, i: int(a < u(i)), 'i12'), 'xori': (lambda a, i: a ^ u(i), 'i12'),
    'ori': (lambda a, i: a | u(i), 'i12'), 'andi': (lambda a, i: a & u(i), 'i12'),
    'slli': (lambda a, i: u(a << i), 'sh6'), 'srli': (lambda a, i: a >> i, 'sh6'),
    'srai': (lambda a, i: u(s64(a) >> i), 'sh6'),
    'addiw': (lambda a, i: sx32(a + i), 'i12'), 'slliw': (lambda a, i: sx32(a << i), 'sh5'),
    'srliw': (lambda a, i: sx32((a & 0xffffffff) >> i), 'sh5'),
    'sraiw': (lambda a, i: sx32(s32(a) >> i), 'sh5'),
    'slli.uw': (lambda a, i: u((a & 0xffffffff) << i), 'sh6'),
    'rori': (lambda a, i: ror(a, i), 'sh6'), 'roriw': (lambda a, i: sx32(ror(a, i, 32)), 'sh5'),
    'bclri': (lambda a, i: a & ~(1 << i) & M, 'sh6'), 'bseti': (lambda a, i: a | (1 << i), 'sh6'),
    'binvi': (lambda a, i: a ^ (1 << i), 'sh6'), 'bexti': (lambda a, i: (a >> i) & 1, 'sh6'),
}
UN = {
    'clz': lambda a: clz(a), 'clzw': lambda a: clz(a & 0xffffffff, 32),
    'ctz': lambda a: ctz(a), 'ctzw': lambda a: ctz(a & 0xffffffff, 32),
    'cpop': lambda a: bin(a).count('1'), 'cpopw': lambda a: bin(a & 0xffffffff).count('1'),
    'sext.b': lambda a: u(((a & 0xff) ^ 0x80) - 0x80),
    'sext.h': lambda a: u(((a & 0xffff) ^ 0x8000) - 0x8000),
    'zext.h': lambda a: a & 0xffff, 'orc.b': orcb, 'rev8': rev8,
}
EDGE = [0, 1, 2, 3, M, M - 1, 0x7fffffffffffffff, 0x8000000000000000,
        0x7fffffff, 0x80000000, 0xffffffff, 0xffffffff80000000, 0x100000000,
        0x0123456789abcdef, 0xfedcba9876543210, 0x00ff00ff00ff00ff, 31, 32, 63, 64]
rng = random.Random(20240611)

def val():
    if rng.random() < 0.55: return rng.choice(EDGE)
    return rng.getrandbits(64) >> rng.choice([0, 0, 0, 17, 33, 50])

def imm(kind):
    if kind == 'i12': return rng.choice([0, 1, -1, 2047, -2048, 0x7ff, -1, 0x555, -0x555, rng.randrange(-2048, 2048)])
    if kind == 'sh6': return rng.choice([0, 1, 31, 32, 63, rng.randrange(64)])
    return rng.choice([0, 1, 15, 31, rng.randrange(32)])

# Insns gcc 12 does not know (Zicond): emitted with .insn r OP, funct3, funct7.
INSN = {'czero.eqz': 'czero_eqz', 'czero.nez': 'czero_nez'}

class File:
    def __init__(self, name, title):
        self.name, self.lines, self.n = name, [], 0
        self.lines += ['/* %s: %s' % (name, title),
                       ' * Generated by tests/isa/gen/gen_int.py (expected values from the',
                       ' * spec semantics in that script).  Do not edit by hand. */',
                       '#include "test.h"', 'TEST_BEGIN', '']
    def num(self):
        self.n += 1
        assert self.n < 255, self.name
        return self.n
    def rr(self, op, a, b, variant='TEST_RR_OP'):
        r = RR[op](a, b)
        ins = INSN.get(op, op)
        if variant == 'TEST_RR_OP':
            self.lines.append('TEST_RR_OP(%d, %s, 0x%x, 0x%x, 0x%x)' % (self.num(), ins, r, a, b))
        elif variant == 'SRC1':
            self.lines.append('TEST_RR_SRC1_EQ_DEST(%d, %s, 0x%x, 0x%x, 0x%x)' % (self.num(), ins, r, a, b))
        elif variant == 'SRC2':
            self.lines.append('TEST_RR_SRC2_EQ_DEST(%d, %s, 0x%x, 0x%x, 0x%x)' % (self.num(), ins, r, a, b))
        elif variant == 'SRC12':
            self.lines.append('TEST_RR_SRC12_EQ_DEST(%d, %s, 0x%x, 0x%x)' % (self.num(), ins, RR[op](a, a), a))
        elif variant == 'ZERO1':
            self.lines.append('TEST_RR_ZEROSRC1(%d, %s, 0x%x, 0x%x)' % (self.num(), ins, RR[op](0, a), a))
        elif variant == 'ZERO2':
            self.lines.append('TEST_RR_ZEROSRC2(%d, %s, 0x%x, 0x%x)' % (self.num(), ins, RR[op](a, 0), a))
        elif variant == 'ZEROD':
            self.lines.append('TEST_RR_ZERODEST(%d, %s, 0x%x, 0x%x)' % (self.num(), ins, a, b))
    def imm(self, op, a, i):
        r = IMM[op][0](a, i)
        self.lines.append('TEST_IMM_OP(%d, %s, 0x%x, 0x%x, %d)' % (self.num(), op, r, a, i))
    def un(self, op, a):
        self.lines.append('TEST_R_OP(%d, %s, 0x%x, 0x%x)' % (self.num(), op, UN[op](a), a))
    def raw(self, *ls): self.lines += ls
    def write(self, outdir):
        if 'TEST_END' not in self.lines: self.lines += ['', 'TEST_END']
        self.lines.append('')
        with open(os.path.join(outdir, self.name + '.S'), 'w') as f:
            f.write('\n'.join(self.lines))
        print('%s: %d checks' % (self.name, self.n))

def rr_set(f, ops, n):
    for op in ops:
        f.raw('/* %s */' % op)
        for _ in range(n):
            f.rr(op, val(), val())
def imm_set(f, ops, n):
    for op in ops:
        f.raw('/* %s */' % op)
        kind = IMM[op][1]
        for _ in range(n):
            f.imm(op, val(), imm(kind))

def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
    # ---- RV64I ALU
    f = File('rv64i_alu', 'RV64I register-register and immediate ALU ops, lui, auipc')
    rr_set(f, ['add', 'sub', 'sll', 'srl', 'sra', 'slt', 'sltu', 'xor', 'or', 'and'], 7)
    rr_set(f, ['addw', 'subw', 'sllw', 'srlw', 'sraw'], 6)
    imm_set(f, ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'slli', 'srli', 'srai'], 6)
    imm_set(f, ['addiw', 'slliw', 'srliw', 'sraiw'], 5)
    f.raw('/* register-aliasing and x0 forms */')
    for op, v in [('add', 'SRC1'), ('sub', 'SRC2'), ('sub', 'SRC12'), ('sll', 'SRC12'),
                  ('xor', 'ZERO1'), ('sub', 'ZERO1'), ('sra', 'ZERO2'), ('addw', 'ZERO2'),
                  ('add', 'ZEROD'), ('sltu', 'ZERO1')]:
        f.rr(op, val(), val(), v)
    f.raw('TEST_IMM_ZEROSRC1(%d, addi, 0xfffffffffffff800, -2048)' % f.num(),
          'TEST_IMM_ZERODEST(%d, addi, 0x1234, 5)' % f.num(),
          'TEST_IMM_SRC1_EQ_DEST(%d, srai, 0xfffffffffffffff8, 0x8000000000000000, 60)' % f.num())
    f.raw('/* lui (sign-extends bit 31 on RV64) */',
          'TEST_CASE(%d, a4, 0x0000000000000000, lui a4, 0x00000)' % f.num(),
          'TEST_CASE(%d, a4, 0xfffffffffffff800, lui a4, 0xfffff; sra a4, a4, 1)' % f.num(),
          'TEST_CASE(%d, a4, 0x000000007ffff000, lui a4, 0x7ffff)' % f.num(),
          'TEST_CASE(%d, a4, 0xffffffff80000000, lui a4, 0x80000)' % f.num(),
          'TEST_CASE(%d, a4, 0x0000000012345000, lui a4, 0x12345)' % f.num(),
          'TEST_CASE(%d, x0, 0, lui x0, 0x80000)' % f.num())
    f.raw('/* auipc: pc-relative */',
          'TEST_CASE(%d, a4, 10000, .align 3; la a1, 1f; 1: auipc a2, 10000 >> 12; sub a4, a2, a1; srli a4, a4, 12; li a5, 10000>>12; sub a4, a4, a5; li a5, 10000; add a4, a4, a5)' % f.num(),
          'TEST_CASE(%d, a4, 0, la a1, 1f; 1: auipc a2, 0; sub a4, a2, a1)' % f.num(),
          'TEST_CASE(%d, a4, 0xffffffff80000000, la a1, 1f; 1: auipc a2, 0x80000; sub a4, a2, a1)' % f.num(),
          'TEST_CASE(%d, a4, 0x7ffff000, la a1, 1f; 1: auipc a2, 0x7ffff; sub a4, a2, a1)' % f.num())
    f.write(out)

    # ---- RV64M
    f = File('rv64m', 'RV64M multiply/divide, incl. divide-by-zero and overflow')
    special = [(5, 0), (M, 0), (0, 0), (0x8000000000000000, M), (0x8000000000000000, 1),
               (0xffffffff80000000, M), (0x80000000, 0xffffffff), (7, M), (M, 7),
               (0x8000000000000000, 0x8000000000000000), (M, M), (0x7fffffff, 0x80000000)]
    for op in ['mul', 'mulh', 'mulhsu', 'mulhu', 'mulw', 'div', 'divu', 'rem', 'remu',
               'divw', 'divuw', 'remw', 'remuw']:
        f.raw('/* %s */' % op)
        cases = list(special) if op[0] in 'dr' else special[5:9]
        cases += [(val(), val()) for _ in range(6 if op[0] in 'dr' else 9)]
        for a, b in cases:
            f.rr(op, a, b)
    for op, v in [('mul', 'SRC1'), ('div', 'SRC2'), ('mulhu', 'SRC12'), ('rem', 'ZERO2'),
                  ('divu', 'ZERO1'), ('mul', 'ZEROD')]:
        f.rr(op, val() | 1, val() | 1, v)
    f.write(out)

    # ---- Zba
    f = File('zba', 'Zba address generation')
    rr_set(f, ['add.uw', 'sh1add', 'sh2add', 'sh3add', 'sh1add.uw', 'sh2add.uw', 'sh3add.uw'], 10)
    imm_set(f, ['slli.uw'], 12)
    f.raw('/* zext.w is add.uw rd, rs, zero */',
          'TEST_R_OP(%d, zext.w, 0x00000000ffffffff, 0xffffffffffffffff)' % f.num(),
          'TEST_R_OP(%d, zext.w, 0x0000000089abcdef, 0x0123456789abcdef)' % f.num())
    f.write(out)

    # ---- Zbb
    f = File('zbb', 'Zbb basic bit manipulation')
    rr_set(f, ['andn', 'orn', 'xnor', 'max', 'maxu', 'min', 'minu', 'rol', 'ror', 'rolw', 'rorw'], 8)
    imm_set(f, ['rori', 'roriw'], 7)
    for op in ['clz', 'clzw', 'ctz', 'ctzw', 'cpop', 'cpopw', 'sext.b', 'sext.h', 'zext.h', 'orc.b', 'rev8']:
        f.raw('/* %s */' % op)
        for a in [0, M, 1, 0x8000000000000000, 0x80000000] + [val() for _ in range(3)]:
            if op == 'ctzw' and a & 0xffffffff == 0 and a:
                continue  # QEMU 7.2 gets this wrong: see qemu_xfail.S
            f.un(op, a)
    f.write(out)

    # ---- Zbs
    f = File('zbs', 'Zbs single-bit instructions')
    rr_set(f, ['bclr', 'bset', 'binv', 'bext'], 12)
    imm_set(f, ['bclri', 'bseti', 'binvi', 'bexti'], 10)
    f.write(out)

    # ---- Zicond
    f = File('zicond', 'Zicond czero.eqz / czero.nez (encoded with .insn: gcc 12 lacks Zicond)')
    f.raw('.macro czero_eqz rd, rs1, rs2', '  .insn r OP, 5, 7, \\rd, \\rs1, \\rs2', '.endm',
          '.macro czero_nez rd, rs1, rs2', '  .insn r OP, 7, 7, \\rd, \\rs1, \\rs2', '.endm')
    for op in ['czero.eqz', 'czero.nez']:
        f.raw('/* %s */' % op)
        for a, b in [(0x1234, 0), (0x1234, 1), (M, M), (M, 0), (0, 5), (0x8000000000000000, 0x100000000)]:
            f.rr(op, a, b)
        for _ in range(6):
            f.rr(op, val(), rng.choice([0, val()]))
        f.rr(op, val(), 0, 'SRC1'); f.rr(op, val(), 7, 'SRC2'); f.rr(op, 9, 0, 'ZERO2')
    f.write(out)

    # ---- A: AMOs
    f = File('rv64a_amo', 'RV64A AMOs (.w/.d, all aq/rl forms): old value in rd (sign-extended for .w), new memory value, neighbours untouched; misaligned AMOs are in qemu_xfail.S')
    f.raw('/* TEST_AMO(n, inst, width, init, operand, rd, new): memory at amo_d', ' * (.d) or its low word (.w) holds init. */',
          '#define TEST_AMO_D(n, inst, init, opnd, rd, new) \\',
          '  TEST_CASE(n, a4, rd, la a1, amo_d; li a2, init; sd a2, 0(a1); li a3, opnd; inst a4, a3, (a1)) \\',
          '  li t2, new; ld a5, 0(a1); bne a5, t2, fail;',
          '#define TEST_AMO_W(n, inst, init, opnd, rd, new) \\',
          '  TEST_CASE(n, a4, rd, la a1, amo_d; li a2, 0x5a5a5a5a5a5a5a5a; sd a2, 0(a1); li a2, init; sw a2, 0(a1); li a3, opnd; inst a4, a3, (a1)) \\',
          '  li t2, new; lw a5, 0(a1); bne a5, t2, fail; li t2, 0x5a5a5a5a; lw a5, 4(a1); bne a5, t2, fail;')
    AMO = {'swap': lambda a, b: b, 'add': lambda a, b: a + b, 'xor': lambda a, b: a ^ b,
           'and': lambda a, b: a & b, 'or': lambda a, b: a | b,
           'min': 'smin', 'max': 'smax', 'minu': min, 'maxu': max}
    for w in ['w', 'd']:
        bits = 32 if w == 'w' else 64
        mask = (1 << bits) - 1
        def sg(x): x &= mask; return x - (1 << bits) if x >> (bits - 1) else x
        for op, fn in AMO.items():
            f.raw('/* amo%s.%s */' % (op, w))
            cases = [(0x80000000, 0x7fffffff), (0xffffffff, 1), (0x7fffffff, 0xffffffff80000000),
                     (0x8000000000000000, 1), (1, M), (0, 0x8000000000000001)]
            cases += [(val(), val()) for _ in range(2)]
            for i, (a, b) in enumerate(cases):
                a &= mask
                if fn == 'smin': new = min(sg(a), sg(b)) & mask
                elif fn == 'smax': new = max(sg(a), sg(b)) & mask
                elif fn in (min, max): new = fn(a, b & mask)
                else: new = fn(a, b) & mask
                ins = 'amo%s.%s%s' % (op, w, ['', '.aq', '.rl', '.aqrl'][i % 4])
                if w == 'w':
                    f.raw('TEST_AMO_W(%d, %s, 0x%x, 0x%x, 0x%x, 0x%x)' % (f.num(), ins, a, b, u(sg(a)), u(sg(new))))
                else:
                    f.raw('TEST_AMO_D(%d, %s, 0x%x, 0x%x, 0x%x, 0x%x)' % (f.num(), ins, a, b, a, new))
    f.raw('/* rd == x0: memory still updated */',
          'TEST_CASE(%d, a5, 0x15, la a1, amo_d; li a2, 0x10; sd a2, 0(a1); li a3, 5; amoadd.d x0, a3, (a1); ld a5, 0(a1))' % f.num(),
          '/* rd == rs2 */',
          'TEST_CASE(%d, a3, 0x10, la a1, amo_d; li a2, 0x10; sd a2, 0(a1); li a3, 5; amoadd.d a3, a3, (a1))' % f.num(),
          'TEST_CASE(%d, a5, 0x15, ld a5, 0(a1))' % f.num(),
          '/* misaligned AMOs: see qemu_xfail.S (QEMU 7.2 raises cause 4) */')
    f.raw('TEST_END', '', '.data', '.align 4', 'amo_d: .dword 0, 0')
    f.write(out)

main()
