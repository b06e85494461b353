#!/bin/bash
# System tests: boot Debian's riscv64 kernel with the project's initramfs
# on 1 and 2 harts, run commands in the guest, power off cleanly; guest
# reboot under --no-reboot; the generated device tree.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi

# One hart: identity, arithmetic, time advancing, clean poweroff.
guest_run "$T/one" "--cpus 1 -m 512M" \
    'uname -a; grep -c ^processor /proc/cpuinfo; echo sum=$((123456789 * 3 + 7)); t0=$(date +%s); sleep 2; t1=$(date +%s); echo dt=$((t1 - t0))'
rc=$?
out=$(cmd_output "$T/one")
check "1 hart: guest powers off with exit status 0 (got $rc)" '[ $rc -eq 0 ]'
check "1 hart: boot marker" 'grep -q "^VESSEL-BOOT-OK 6\." "$T/one"'
check "1 hart: uname shows riscv64" 'echo "$out" | grep -q "riscv64 GNU/Linux"'
check "1 hart: /proc/cpuinfo lists 1 hart" '[ "$(echo "$out" | sed -n 2p)" = 1 ]'
check "1 hart: shell arithmetic" 'echo "$out" | grep -qx "sum=370370374"'
check "1 hart: date advances across sleep 2" 'd=$(echo "$out" | sed -n "s/^dt=//p"); [ -n "$d" ] && [ "$d" -ge 1 ] && [ "$d" -le 4 ]'
check "1 hart: command exit status reported" 'grep -qx "VESSEL-CMD-EXIT=0" "$T/one"'
[ $rc -eq 0 ] || tail -30 "$T/one"

# Two harts: both online, work runs on both.
guest_run "$T/two" "--cpus 2 -m 512M" \
    'grep -c ^processor /proc/cpuinfo; cat /sys/devices/system/cpu/online; for i in 1 2; do (j=0; while [ $j -lt 2000 ]; do j=$((j+1)); done; echo done$i) & done; wait'
rc=$?
out=$(cmd_output "$T/two")
check "2 harts: exit status 0 (got $rc)" '[ $rc -eq 0 ]'
check "2 harts: /proc/cpuinfo lists 2 harts" '[ "$(echo "$out" | sed -n 1p)" = 2 ]'
check "2 harts: cpus 0-1 online" '[ "$(echo "$out" | sed -n 2p)" = 0-1 ]'
check "2 harts: parallel jobs finish" 'echo "$out" | grep -q done1 && echo "$out" | grep -q done2'
[ $rc -eq 0 ] || tail -30 "$T/two"

# Four harts on however many host cores there are.
guest_run "$T/four" "--cpus 4 -m 512M" 'cat /sys/devices/system/cpu/online'
rc=$?
check "4 harts: exit status 0 (got $rc)" '[ $rc -eq 0 ]'
check "4 harts: cpus 0-3 online" '[ "$(cmd_output "$T/four")" = 0-3 ]'

# Guest reboot with --no-reboot: distinct exit status 3.
guest_run "$T/reboot" "--no-reboot -m 256M" 'reboot -f'
rc=$?
check "reboot under --no-reboot exits with status 3 (got $rc)" '[ $rc -eq 3 ]'

# The device tree: dtc decompiles it without warnings, and it names the
# devices the board has.
"$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" --cpus 2 --dump-dtb "$T/vm.dtb" > "$T/dump.log" 2>&1
check "--dump-dtb writes a blob" '[ -s "$T/vm.dtb" ]'
dtc -I dtb -O dts -o "$T/vm.dts" "$T/vm.dtb" 2> "$T/dtc.err"
check "dtc decompiles the DTB without warnings" '[ ! -s "$T/dtc.err" ]'
check "DTB has 2 cpus, PLIC, CLINT, UART, initrd" 'grep -q "cpu@1" "$T/vm.dts" && grep -q "riscv,plic0" "$T/vm.dts" && grep -q "riscv,clint0" "$T/vm.dts" && grep -q ns16550a "$T/vm.dts" && grep -q "linux,initrd-start" "$T/vm.dts"'
finish
