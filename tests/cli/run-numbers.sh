#!/bin/bash
# Numbers on the command line are decimal, with the documented suffixes
# only: "010" is ten (not octal eight), "0x100" is refused (not hex), and
# neither a blank nor a sign gets a negative number through.  Checked on
# the values that reach the VM (the generated device tree) and on the
# errors, which name the option and the value and say what is accepted.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
ELF=${BUILD_GUEST:-build/guest}/bench/cpu.elf
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# dtb NAME ARGS... : run with --dump-dtb, leave the blob in $T/NAME.dtb
dtb() {
    local name=$1; shift
    timeout 60 "$VESSEL" run --bios "$ELF" --dump-dtb "$T/$name.dtb" "$@" \
        < /dev/null > "$T/out" 2> "$T/err"
}
# ram_mib FILE: the size of /memory@80000000 in MiB
ram_mib() {
    local r
    r=($(fdtget -t x "$1" /memory@80000000 reg 2> /dev/null)) || return 1
    echo $(( ((0x${r[2]} << 32) | 0x${r[3]}) >> 20 ))
}
cpus() { fdtget -l "$1" /cpus 2> /dev/null | grep -c '^cpu@'; }

dtb m010 -m 010
check "-m 010 is 10 MiB, not octal 8 ($(ram_mib "$T/m010.dtb" 2>/dev/null) MiB)" \
    '[ "$(ram_mib "$T/m010.dtb")" = 10 ]'
dtb m16m -m 16M
check "-m 16M is 16 MiB" '[ "$(ram_mib "$T/m16m.dtb")" = 16 ]'
dtb m24576k -m 24576K
check "-m 24576K is 24 MiB" '[ "$(ram_mib "$T/m24576k.dtb")" = 24 ]'
dtb c010 --cpus 010
check "--cpus 010 is 10 harts, not octal 8 ($(cpus "$T/c010.dtb"))" '[ "$(cpus "$T/c010.dtb")" = 10 ]'
dtb c08 --cpus 08
check "--cpus 08 is 8 harts (exit status $?)" '[ "$(cpus "$T/c08.dtb")" = 8 ]'

# expect_fail NAME PATTERN ARGS...
expect_fail() {
    local name=$1 pat=$2; shift 2
    timeout 60 "$VESSEL" run --bios "$ELF" --dump-dtb "$T/x.dtb" "$@" \
        < /dev/null > "$T/out" 2> "$T/err"
    local rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qE -- "$pat" "$T/err"; then
        ok "$name"
    else
        not_ok "$name (exit $rc)"; sed 's/^/#   /' "$T/err" | head -5
    fi
}
MEMERR="--memory '.*' is not a valid size: expected decimal digits"
CPUERR="--cpus '.*' is not valid: expected a decimal number from 1 to 16"
expect_fail "-m 0x100 (hex) is refused" "$MEMERR" -m 0x100
expect_fail "-m 0x10M is refused" "$MEMERR" -m 0x10M
expect_fail "-m ' 64' (leading blank) is refused" "$MEMERR" -m ' 64'
expect_fail "-m ' -1' (blank and sign) is refused" "$MEMERR" -m ' -1'
expect_fail "-m \$'\\t64M' is refused" "$MEMERR" -m $'\t64M'
expect_fail "-m +64 is refused" "$MEMERR" -m +64
expect_fail "-m 64P (no such suffix) is refused" "$MEMERR" -m 64P
expect_fail "-m 1.5G is refused" "$MEMERR" -m 1.5G
expect_fail "--cpus 017 (octal 15, decimal 17) is refused" "$CPUERR" --cpus 017
expect_fail "--cpus 0x2 is refused" "$CPUERR" --cpus 0x2
expect_fail "--cpus ' +2' is refused" "$CPUERR" --cpus ' +2'
expect_fail "--cpus ' -0' is refused" "$CPUERR" --cpus ' -0'
expect_fail "--cpus 2K is refused" "$CPUERR" --cpus 2K

# vessel img uses the same parser: sizes stay decimal there too.
timeout 60 "$VESSEL" img create -f qcow2 "$T/a.qcow2" 64M > "$T/out" 2>&1
check "img create ... 64M still works" '[ $? -eq 0 ] && [ -s "$T/a.qcow2" ]'
timeout 60 "$VESSEL" img create -f qcow2 "$T/b.qcow2" $'\t-1' > "$T/out" 2>&1
check "img create ... '\\t-1' is refused" '[ $? -ne 0 ] && grep -q "invalid size" "$T/out"'
timeout 60 "$VESSEL" img create -f qcow2 "$T/c.qcow2" 0x100000 > "$T/out" 2>&1
check "img create ... 0x100000 is refused" '[ $? -ne 0 ] && grep -q "invalid size" "$T/out"'
finish
