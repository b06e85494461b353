#!/bin/bash
# A guest that resets a virtio device in a loop, making it fail each time
# (tests/cli/guest/virtio_flood.c, 20000 rounds), must not flood the
# host's stderr: the VM's rate limit holds across device resets, and the
# lines it held back are counted in one line.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
ELF=${BUILD_GUEST:-build/guest}/cli/virtio_flood.elf
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

t0=$(date +%s)
timeout 120 "$VESSEL" run --bios "$ELF" < /dev/null > "$T/out" 2> "$T/err"
rc=$?
secs=$(( $(date +%s) - t0 + 1 ))
check "the guest ran its 20000 rounds and passed (exit $rc)" '[ $rc -eq 0 ] && grep -q PASS "$T/out"'
n=$(grep -c 'device needs reset' "$T/err")
# A burst of 10, then 2 a second (RATELIMIT_GUEST_*); unlimited, it is one
# line per round.
max=$((10 + 2 * secs))
check "guest-triggered warnings are bounded ($n lines in ${secs}s, at most $max)" \
    '[ "$n" -ge 1 ] && [ "$n" -le "$max" ]'
check "the suppressed warnings are counted" \
    'grep -qE "[0-9]+ more guest-triggered warnings were suppressed" "$T/err"'
sed 's/^/#   /' "$T/err" | tail -3
finish
