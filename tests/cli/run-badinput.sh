#!/bin/bash
# Bad input to `vessel run`: each case must exit non-zero before the guest
# starts, with a message naming the file or value at fault.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# expect_fail NAME PATTERN ARGS... : non-zero exit, stderr matches PATTERN
expect_fail() {
    local name=$1 pat=$2; shift 2
    timeout 60 "$VESSEL" run "$@" < /dev/null > "$T/out" 2> "$T/err"
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
finish
