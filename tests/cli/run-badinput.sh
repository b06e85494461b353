#!/bin/bash
# Bad input to `vessel run`: each case must exit non-zero before the guest
# starts, with a message naming the file or value at fault.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# expect_fail NAME PATTERN ARGS... : non-zero exit, stderr matches PATTERN
# (within $LIMIT seconds: a hang counts as a failure)
LIMIT=60
expect_fail() {
    local name=$1 pat=$2; shift 2
    timeout "$LIMIT" "$VESSEL" run "$@" < /dev/null > "$T/out" 2> "$T/err"
    local rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qiE -- "$pat" "$T/err"; then
        ok "$name"
    else
        not_ok "$name (exit $rc)"; sed 's/^/#   /' "$T/err" | head -5
    fi
}

ELF=build/guest/bench/cpu.elf
expect_fail "nothing to run" "give --kernel IMAGE or --bios ELF"
expect_fail "missing bios ELF" "$T/nope.elf" --bios "$T/nope.elf"
head -c 100 "$ELF" > "$T/trunc.elf"
expect_fail "truncated ELF" "trunc.elf" --bios "$T/trunc.elf"
expect_fail "non-RISC-V ELF" "/bin/true.*(RISC-V|machine)" --bios /bin/true
printf 'hello' > "$T/text.elf"
expect_fail "not an ELF at all" "text.elf" --bios "$T/text.elf"
printf '.bss\n.globl _start\n_start: .space 8388608\n' > "$T/big.S"
riscv64-unknown-elf-gcc -nostdlib -Wl,-Ttext=0x80000000 -o "$T/big.elf" "$T/big.S" 2>/dev/null
expect_fail "ELF larger than RAM" "big.elf" --bios "$T/big.elf" -m 2M
expect_fail "memory not a number" "--memory 'lots'" --bios "$ELF" -m lots
expect_fail "memory zero" "--memory '0'" --bios "$ELF" -m 0
expect_fail "memory absurd" "--memory '99999999G'" --bios "$ELF" -m 99999999G
expect_fail "cpus 0" "--cpus '0'" --bios "$ELF" --cpus 0
expect_fail "cpus 1000" "--cpus '1000'" --bios "$ELF" --cpus 1000
expect_fail "kernel that is not a RISC-V Image" "/bin/true" --kernel /bin/true --firmware "$ELF"
expect_fail "missing kernel" "$T/vmlinuz" --kernel "$T/vmlinuz"
# A fake Image header: 64 bytes with the RSC\x05 magic at 56.
python3 - "$T/Image" <<'PY'
import struct, sys
hdr = bytearray(64)
struct.pack_into("<Q", hdr, 8, 0x200000)       # text_offset
struct.pack_into("<Q", hdr, 16, 0x100000)      # image_size
hdr[48:56] = b"RISCV\0\0\0"
hdr[56:60] = b"RSC\x05"
open(sys.argv[1], "wb").write(bytes(hdr) + bytes(4096))
PY
expect_fail "missing firmware" "$T/fw.bin" --kernel "$T/Image" --firmware "$T/fw.bin"
truncate -s 100M "$T/initrd.big"
expect_fail "initrd that does not fit" "initrd.big" --kernel "$T/Image" --firmware "$ELF" --initrd "$T/initrd.big" -m 64M
expect_fail "--initrd without --kernel" "needs --kernel" --initrd "$T/initrd.big"
expect_fail "--bios with --kernel" "cannot be combined" --bios "$ELF" --kernel "$T/Image"
expect_fail "unknown option" "unrecognized|unknown|usage" --bogus

# A FIFO (or a device, or a directory) where a file is expected: refused at
# once, saying what it is; opening a FIFO for reading used to wait for a
# writer for ever.
LIMIT=10
mkfifo "$T/fifo"
expect_fail "FIFO as --bios" "fifo: is a FIFO.*expected a regular file" --bios "$T/fifo"
expect_fail "FIFO as --kernel" "fifo: is a FIFO.*expected a regular file" --kernel "$T/fifo"
expect_fail "FIFO as --firmware" "fifo: is a FIFO.*expected a regular file" \
    --kernel "$T/Image" --firmware "$T/fifo"
expect_fail "FIFO as --initrd" "fifo: is a FIFO.*expected a regular file" \
    --kernel "$T/Image" --firmware "$ELF" --initrd "$T/fifo"
expect_fail "FIFO nobody reads as --dump-dtb" "fifo: is a FIFO that nobody reads" \
    --bios "$ELF" --dump-dtb "$T/fifo"
expect_fail "character device as --kernel" "is a character device.*expected a regular file" \
    --kernel /dev/zero
expect_fail "directory as --bios" "is a directory.*expected a regular file" --bios "$T"
LIMIT=60
# Empty files: an empty firmware used to be accepted and the VM spun
# silently, executing zeros.
: > "$T/empty"
expect_fail "empty --firmware" "empty.*0 bytes.*OpenSBI" --kernel "$T/Image" --firmware "$T/empty"
expect_fail "empty --initrd" "empty.*0 bytes" --kernel "$T/Image" --firmware "$ELF" \
    --initrd "$T/empty"
expect_fail "empty --kernel" "empty.*0 bytes.*Linux Image" --kernel "$T/empty"
expect_fail "empty --bios" "empty.*0 bytes.*ELF" --bios "$T/empty"
# A pipe with a reader is a fine --dump-dtb.
timeout 60 "$VESSEL" run --bios "$ELF" --dump-dtb /dev/stdout < /dev/null 2> "$T/err" |
    dtc -I dtb -O dts > "$T/dts" 2> /dev/null
check "--dump-dtb to a pipe with a reader" 'grep -q "memory@80000000" "$T/dts"'

# The device tree goes where it fits: a small program in 1 MiB of RAM runs
# (it used to be refused with "no room for the device tree" because the
# 2 MiB-aligned spot was the RAM base, under the program).
printf '.section .text\n.globl _start\n_start: la t0, tohost\n li t1, 1\n sd t1, 0(t0)\n1: j 1b\n.data\n.balign 8\n.globl tohost\ntohost: .dword 0\n.globl fromhost\nfromhost: .dword 0\n' > "$T/tiny.S"
riscv64-unknown-elf-gcc -nostdlib -static -Wl,-N -Wl,-Ttext=0x80000000 -o "$T/tiny.elf" "$T/tiny.S" 2>/dev/null
timeout 60 "$VESSEL" run --bios "$T/tiny.elf" -m 1M < /dev/null > "$T/out" 2> "$T/err"
rc=$?
if [ $rc -eq 0 ]; then ok "tiny ELF with -m 1M runs"; else
    not_ok "tiny ELF with -m 1M runs (exit $rc)"; sed 's/^/#   /' "$T/err" | head -5; fi
# When it truly does not fit, the message gives the sizes.
printf '.globl _start\n_start: j _start\n.bss\n.space 1040000\n' > "$T/full.S"
riscv64-unknown-elf-gcc -nostdlib -static -Wl,-N -Wl,-Ttext=0x80000000 -o "$T/full.elf" "$T/full.S" 2>/dev/null
expect_fail "program that leaves no room for the device tree" \
    "full.elf: no room for the [0-9]+-byte device tree.*leaving [0-9]+ bytes above it" \
    --bios "$T/full.elf" -m 1M
finish
