#!/bin/bash
# Diff snapshots through the control API (docs/api.md, docs/snapshot.md),
# TAP: a guest whose memory changes over time (guest/mem_churn.c) gets a
# full snapshot, then three diffs with running in between; killed, then
# restored from the chain's last (and middle) link in a new process, it
# prints the checksum of an uninterrupted run.  Each diff is much smaller
# than the full snapshot; a diff without a parent is 409; a chain with a
# link missing or replaced is refused, naming it.  Every wait is a
# bounded poll.
. "$(dirname "$0")/../system/lib.sh"
V=${VESSEL:-build/release/vessel}
ELF=${BUILD_GUEST:-build/guest}/cli/mem_churn.elf
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-snapdiff.XXXXXX")
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
if ! command -v curl >/dev/null; then echo "ok 1 - # SKIP curl not installed"; exit 0; fi
S="$T/api.sock"
insns() { field "$(api GET /vm)" instructions; }
alloc() { du -k "$1/memory" | cut -f1; }     # KiB allocated
# Let the guest run a few million more instructions, then pause it.
run_more() {
    local from
    from=$(insns)
    api PATCH /vm '{"state":"running"}' > /dev/null
    wait_for "[ \$(insns) -gt $((from + 4000000)) ]"
    [ "$(api PATCH /vm '{"state":"paused"}' | cut -d' ' -f1)" = 204 ]
}

want=$("$V" run --bios "$ELF" < /dev/null | grep '^checksum')
check "the uninterrupted run prints its checksum" '[ -n "$want" ]'

VESSEL_JIT=0 "$V" run --bios "$ELF" --api-sock "$S" --paused < /dev/null > "$T/out" 2>&1 &
PID=$!
wait_for "[ -S $S ]"
check "a diff before any snapshot: 409 naming the missing parent, nothing created" \
    'r=$(api PUT /snapshot/create "{\"path\":\"$T/d0\",\"type\":\"diff\"}");
     [ "${r%% *}" = 409 ] && echo "$r" | grep -q "previous snapshot" && [ ! -e "$T/d0" ]'
check "an unknown type: 400 naming the accepted ones" \
    'r=$(api PUT /snapshot/create "{\"path\":\"$T/d0\",\"type\":\"delta\"}");
     [ "${r%% *}" = 400 ] && echo "$r" | grep -q "\\\\\"diff\\\\\"" && [ ! -e "$T/d0" ]'
api PATCH /vm '{"state":"running"}' > /dev/null
wait_for "grep -q ready $T/out"
check "paused after the guest filled its memory" \
    '[ "$(api PATCH /vm "{\"state\":\"paused\"}" | cut -d" " -f1)" = 204 ]'
check "full snapshot: 201" \
    '[ "$(api PUT /snapshot/create "{\"path\":\"$T/full\"}" | cut -d" " -f1)" = 201 ]'
for i in 1 2 3; do
    check "run, then diff $i: 201" \
        'run_more && [ "$(api PUT /snapshot/create "{\"path\":\"$T/d$i\",\"type\":\"diff\"}" | cut -d" " -f1)" = 201 ]'
done
check "the guest has not finished yet" '! grep -q checksum "$T/out"'
kill -9 $PID; wait $PID 2>/dev/null; PID=

full=$(alloc "$T/full")
check "the full snapshot holds the guest's data ($full KiB of its 16 MiB)" '[ "$full" -ge 12288 ]'
for i in 1 2 3; do
    d=$(alloc "$T/d$i")
    check "diff $i is much smaller than the full one ($d KiB)" '[ "$d" -lt $((full / 4)) ]'
done
check "diff state files name their parent" 'grep -q "$T/d2" "$T/d3/state" && grep -q "$T/full" "$T/d1/state"'

"$V" run --bios "$ELF" --restore "$T/d3" < /dev/null > "$T/r3" 2> "$T/r3.err"
rc=$?
check "the chain's last diff restored: the uninterrupted run's checksum, exit 0" \
    '[ "$(grep "^checksum" "$T/r3")" = "$want" ] && [ $rc = 0 ]'
check "restore logs its time" 'grep -q "restored from" "$T/r3.err"'
check "the middle link restored: the same checksum" \
    '"$V" run --bios "$ELF" --restore "$T/d2" < /dev/null 2> /dev/null | grep -qx "$want"'
mv "$T/d2" "$T/d2.away"
check "a missing link is refused, naming it" \
    '! "$V" run --bios "$ELF" --restore "$T/d3" < /dev/null > "$T/e" 2>&1 && grep -q "$T/d2" "$T/e"'
cp -r "$T/d1" "$T/d2"
check "a replaced link is refused, naming it" \
    '! "$V" run --bios "$ELF" --restore "$T/d3" < /dev/null > "$T/e" 2>&1 && grep -q "replaced" "$T/e"'
finish
