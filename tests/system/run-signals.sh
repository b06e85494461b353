#!/bin/bash
# SIGTERM, SIGINT (stdin not a terminal) and SIGHUP end `vessel run`
# cleanly: the guest, which wrote a marker to its qcow2 disk (cache=unsafe,
# so nothing of it is in the image's metadata until vessel closes the disk),
# is stopped; vessel exits with 128 + signo; the image is then consistent
# (img check), holds the marker, and its lock is released.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
export VESSEL
ELF=${BUILD_GUEST:-build/guest}/bench/cpu.elf
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi
SIGNALS="SIGTERM SIGINT SIGHUP"
export SIGNALS
# The marker is at sector 2048 (1 MiB), after a fsync the device ignores.
cmd='printf "SIGNAL-MARKER-%s\n" $(cat /proc/sys/kernel/random/boot_id) > /tmp/m
dd if=/tmp/m of=/dev/vda bs=512 seek=2048 conv=fsync 2>/dev/null
echo SIGNAL-TEST-WRITTEN; while :; do sleep 1; done'
b64=$(printf '%s\n' "$cmd" | base64 -w0)
timeout 1200 python3 tests/system/signals.py "$T" -- --kernel "$KERNEL" --initrd "$INITRD" \
    -m 256M --append "console=ttyS0 quiet vessel.cmd=$b64" > "$T/result"
while IFS= read -r line; do
    case "$line" in
        "ok "*) ok "${line#ok }" ;;
        "not ok "*) not_ok "${line#not ok }" ;;
        *) echo "$line" ;;
    esac
done < "$T/result"
for s in $SIGNALS; do
    d="$T/$s.qcow2"
    "$VESSEL" img check "$d" > "$T/check" 2>&1
    rc=$?
    check "$s: img check is clean after the signal (status $rc)" '[ $rc -eq 0 ]'
    [ $rc -eq 0 ] || sed 's/^/#   /' "$T/check" | head -5
    "$VESSEL" img convert -O raw "$d" "$T/$s.raw" > /dev/null 2>&1
    check "$s: the guest's write reached the image" \
        'dd if="$T/$s.raw" bs=512 skip=2048 count=1 2>/dev/null | grep -q SIGNAL-MARKER-'
    timeout 60 "$VESSEL" run --bios "$ELF" --disk "$d" --dump-dtb /dev/null \
        < /dev/null > /dev/null 2> "$T/lock"
    check "$s: the disk's lock was released" '[ $? -eq 0 ]'
    rm -f "$T/$s.raw"
done
finish
