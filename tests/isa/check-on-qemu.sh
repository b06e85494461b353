#!/bin/bash
# Developer tool: run every ISA test ELF on QEMU's spike machine (the
# reference) and print TAP lines.  Usage: tests/isa/check-on-qemu.sh [filter]
# Env: QEMU (default qemu-system-riscv64), QEMU_CPU (default below),
#      BUILD_GUEST (default build/guest), TIMEOUT seconds (default 30).
# Tests listed in tests/isa/qemu-xfail.txt are reported as TODO (known QEMU
# 7.2 gaps, see README.md).
cd "$(dirname "$0")/../.."
QEMU=${QEMU:-qemu-system-riscv64}
QEMU_CPU=${QEMU_CPU:-rv64,h=false,sstc=true,zba=true,zbb=true,zbs=true}
DIR=${BUILD_GUEST:-build/guest}/isa
TIMEOUT=${TIMEOUT:-30}
FILTER=${1:-}
XFAIL=tests/isa/qemu-xfail.txt
elfs=()
for e in "$DIR"/*.elf; do
    [ -f "$e" ] || continue
    [[ -n "$FILTER" && "$e" != *$FILTER* ]] && continue
    elfs+=("$e")
done
echo "1..${#elfs[@]}"
n=0; bad=0
for e in "${elfs[@]}"; do
    n=$((n + 1))
    name=$(basename "$e" .elf)
    smp=1; [[ "$name" == *_smp ]] && smp=2
    out=$(timeout "$TIMEOUT" "$QEMU" -machine spike -cpu "$QEMU_CPU" -smp $smp \
          -m 256M -nographic -bios "$e" 2>&1 < /dev/null)
    rc=$?
    todo=""
    if [ -f "$XFAIL" ] && grep -q "^$name\b" "$XFAIL"; then
        todo=" # TODO $(grep "^$name\b" "$XFAIL" | cut -d' ' -f2-)"
    fi
    if [ $rc -eq 0 ]; then
        echo "ok $n - $name$todo"
    else
        [ -z "$todo" ] && bad=$((bad + 1))
        echo "not ok $n - $name (exit $rc)$todo"
        echo "$out" | tail -n 3 | sed 's/^/# /'
    fi
done
[ $bad -eq 0 ]
