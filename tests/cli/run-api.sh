#!/bin/bash
# The per-VM control API (docs/api.md) on a running bare-metal guest that
# prints for ever (TAP): state, pause (no instruction retired while
# paused), resume, field errors, a full snapshot's files, poweroff, the
# socket's mode and removal.  Every wait is a bounded poll.
. "$(dirname "$0")/../system/lib.sh"
N=0; FAILED=0
V=${VESSEL:-build/release/vessel}
ELF=${BUILD_GUEST:-build/guest}/cli/console_spam.elf
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-api.XXXXXX")
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
if ! command -v curl >/dev/null; then echo "ok 1 - # SKIP curl not installed"; exit 0; fi
S="$T/api.sock"

"$V" run --bios "$ELF" --api-sock "$S" < /dev/null > /dev/null 2> "$T/err" &
PID=$!
check "the socket appears" 'wait_for "[ -S $S ]"'
check "the socket is mode 0600" '[ "$(stat -c %a "$S")" = 600 ]'
r=$(api GET /vm)
check "GET /vm: 200, running" '[ "${r%% *}" = 200 ] && [ "$(field "$r" state)" = running ]'
check "GET /vm: vcpus and memory" '[ "$(field "$r" vcpus)" = 1 ] && [ "$(field "$r" memory_bytes)" = 536870912 ]'
check "GET /vm: the power button is listed last among the devices" \
    'echo "${r#* }" | python3 -c "import json, sys; sys.exit(json.load(sys.stdin)[\"devices\"][-1] != {\"type\": \"virtio-input\"})"'
check "PATCH paused: 204" '[ "$(api PATCH /vm "{\"state\":\"paused\"}" | cut -d" " -f1)" = 204 ]'
a=$(field "$(api GET /vm)" instructions); b=$(field "$(api GET /vm)" instructions)
check "paused: state paused, no instruction retired" \
    '[ "$(field "$(api GET /vm)" state)" = paused ] && [ "$a" = "$b" ]'
check "pausing a paused VM: 409 naming the state" \
    'r=$(api PATCH /vm "{\"state\":\"paused\"}"); [ "${r%% *}" = 409 ] && echo "$r" | grep -q "expected running"'
check "PATCH with a bad value: 400 naming the field" \
    'r=$(api PATCH /vm "{\"state\":\"asleep\"}"); [ "${r%% *}" = 400 ] && echo "$r" | grep -q "state"'
check "PATCH with an unknown field: 400" \
    'r=$(api PATCH /vm "{\"state\":\"paused\",\"x\":1}"); [ "${r%% *}" = 400 ] && echo "$r" | grep -q "unknown field"'
check "malformed JSON: 400, the VM unchanged" \
    'r=$(api PATCH /vm "{\"state\":"); [ "${r%% *}" = 400 ] && [ "$(field "$(api GET /vm)" state)" = paused ]'
check "unknown resource: 404" '[ "$(api GET /nope | cut -d" " -f1)" = 404 ]'

# A full snapshot of the paused VM.
check "PUT /snapshot/create: 201" \
    '[ "$(api PUT /snapshot/create "{\"path\":\"$T/snap\"}" | cut -d" " -f1)" = 201 ]'
check "the snapshot has its state and memory files" '[ -f "$T/snap/state" ] && [ -f "$T/snap/memory" ]'
check "the memory file is sparse (512 MiB, almost nothing allocated)" \
    '[ "$(stat -c %s "$T/snap/memory")" = 536870912 ] && [ "$(du -k "$T/snap/memory" | cut -f1)" -lt 4096 ]'
check "the state file holds memory, board, clock, hart and device sections, then end" \
    'python3 - "$T/snap/state" <<"PY"
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"VESSELSN"
at, tags = 32, []
while at < len(d):
    tag = d[at:at+8].rstrip(b"\0").decode()
    n = struct.unpack_from("<I", d, at + 12)[0]
    tags.append(tag); at += 16 + n + 4
want = ["memory", "virt", "vclock", "hart", "syscon", "rtc", "clint", "plic", "uart", "vrng",
        "vinput"]
assert tags[:len(want)] == want and tags[-1] == "end", tags
PY'
check "a snapshot into a non-empty directory: 400 naming it" \
    'r=$(api PUT /snapshot/create "{\"path\":\"$T/snap\"}"); [ "${r%% *}" = 400 ] && echo "$r" | grep -q "not empty"'
check "the failed snapshot left the files as they were" '[ "$(ls "$T/snap" | wc -l)" = 2 ]'
check "an unknown snapshot type is refused with a message" \
    'r=$(api PUT /snapshot/create "{\"path\":\"$T/d\",\"type\":\"delta\"}"); [ "${r%% *}" = 400 ] && [ ! -e "$T/d" ]'
check "a diff snapshot after the full one: 201, a small memory file" \
    '[ "$(api PUT /snapshot/create "{\"path\":\"$T/d\",\"type\":\"diff\"}" | cut -d" " -f1)" = 201 ] &&
     [ "$(du -k "$T/d/memory" | cut -f1)" -lt 1024 ]'
check "PATCH running: 204, instructions retire again" \
    '[ "$(api PATCH /vm "{\"state\":\"running\"}" | cut -d" " -f1)" = 204 ] &&
     wait_for "[ \$(field \"\$(api GET /vm)\" instructions) -gt $b ]"'
check "a snapshot of a running VM is refused without resume:true" \
    '[ "$(api PUT /snapshot/create "{\"path\":\"$T/s2\"}" | cut -d" " -f1)" = 409 ]'
check "with resume:true it pauses, snapshots and resumes" \
    '[ "$(api PUT /snapshot/create "{\"path\":\"$T/s2\",\"resume\":true}" | cut -d" " -f1)" = 201 ] &&
     [ "$(field "$(api GET /vm)" state)" = running ] && [ -f "$T/s2/state" ]'
# A full file system during the snapshot (an 8 KiB tmpfs, root only):
# an error naming the file, nothing left behind, the VM running on.
mkdir -p "$T/full"
if mount -t tmpfs -o size=8k tmpfs "$T/full" 2> /dev/null; then
    r=$(api PUT /snapshot/create "{\"path\":\"$T/full/s\",\"resume\":true}")
    check "a snapshot onto a full file system fails, naming the file" \
        '[ "${r%% *}" -ge 500 ] && echo "$r" | grep -q "$T/full/s/memory"'
    check "the failed snapshot left nothing behind" '[ ! -e "$T/full/s" ]'
    check "the VM still runs after the failed snapshot" \
        '[ "$(field "$(api GET /vm)" state)" = running ]'
    umount "$T/full"
else
    echo "ok - # SKIP a full file system needs a tmpfs mount (root)"
fi
# The power button (docs/api.md): a bare-metal guest has no driver, so
# the presses wait in the device's queue (16 of them) and the VM runs on.
check "PUT /actions shutdown: 202 at once, the VM runs on (nobody listens)" \
    'r=$(api PUT /actions "{\"action\":\"shutdown\"}"); [ "${r%% *}" = 202 ] &&
     [ "$(field "$r" action)" = shutdown ] && [ "$(field "$(api GET /vm)" state)" = running ]'
for _ in $(seq 15); do api PUT /actions '{"action":"shutdown"}' > /dev/null; done
check "a press the guest has no room for: 409, saying so" \
    'r=$(api PUT /actions "{\"action\":\"shutdown\"}"); [ "${r%% *}" = 409 ] &&
     echo "$r" | grep -q "power-button presses already queued"'
check "an unknown action: 400 naming it and listing shutdown among the accepted" \
    'r=$(api PUT /actions "{\"action\":\"halt\"}"); [ "${r%% *}" = 400 ] &&
     echo "$r" | grep -q "halt.*reset.*shutdown"'
check "PUT /actions poweroff: 204" \
    '[ "$(api PUT /actions "{\"action\":\"poweroff\"}" | cut -d" " -f1)" = 204 ]'
check "vessel exits after poweroff" 'wait_for "! kill -0 $PID 2>/dev/null"'
wait $PID 2>/dev/null; rc=$?; PID=
check "a poweroff asked for through the API: exit status 0 (got $rc)" '[ "$rc" = 0 ]'
check "the socket is removed at exit" '[ ! -e "$S" ]'

# ---- restore: a deterministic program interrupted by a snapshot finishes
# with the result of an uninterrupted run, in another process (twice at
# once); a foreign or corrupt snapshot is refused. ----
CPU=${BUILD_GUEST:-build/guest}/bench/cpu-long.elf
want=$("$V" run --bios "$CPU" < /dev/null | grep '^checksum')
check "the uninterrupted run prints its checksum" '[ -n "$want" ]'
S="$T/api2.sock"
VESSEL_JIT=0 "$V" run --bios "$CPU" --api-sock "$S" --paused < /dev/null > "$T/out1" 2>&1 &
PID=$!
check "--paused: the VM starts paused, nothing retired" \
    'wait_for "[ -S $S ]" && r=$(api GET /vm) && [ "$(field "$r" state)" = paused ] &&
     [ "$(field "$r" instructions)" = 0 ]'
api PATCH /vm '{"state":"running"}' > /dev/null
wait_for "[ \$(field \"\$(api GET /vm)\" instructions) -gt 0 ]"
check "paused mid-run" '[ "$(api PATCH /vm "{\"state\":\"paused\"}" | cut -d" " -f1)" = 204 ] &&
                       ! grep -q checksum "$T/out1"'
check "snapshot mid-run" \
    '[ "$(api PUT /snapshot/create "{\"path\":\"$T/cs\"}" | cut -d" " -f1)" = 201 ]'
api PUT /actions '{"action":"poweroff"}' > /dev/null
wait_for "! kill -0 $PID 2>/dev/null"; wait $PID 2>/dev/null; PID=
"$V" run --bios "$CPU" --restore "$T/cs" < /dev/null > "$T/r1" 2>&1 &
p1=$!
"$V" run --bios "$CPU" --restore "$T/cs" < /dev/null > "$T/r2" 2>&1 &
p2=$!
wait $p1; s1=$?; wait $p2; s2=$?
check "restored twice at once: both finish (exit 0)" '[ $s1 = 0 ] && [ $s2 = 0 ]'
check "both print the uninterrupted run's checksum" \
    '[ "$(grep "^checksum" "$T/r1")" = "$want" ] && [ "$(grep "^checksum" "$T/r2")" = "$want" ]'
check "the snapshot is unchanged by the restores" \
    '"$V" run --bios "$CPU" --restore "$T/cs" < /dev/null | grep -qx "$want"'
check "another --memory is refused, naming it" \
    '! "$V" run --bios "$CPU" -m 256M --restore "$T/cs" < /dev/null > "$T/e" 2>&1 && grep -q -- "--memory" "$T/e"'
check "another --cpus is refused" \
    '! "$V" run --bios "$CPU" --cpus 2 --restore "$T/cs" < /dev/null > "$T/e" 2>&1 && grep -q "the snapshot has 1 vCPUs, this VM 2" "$T/e"'
cp -r "$T/cs" "$T/bad"
printf 'X' | dd of="$T/bad/state" bs=1 seek=100 conv=notrunc status=none
check "a flipped byte is refused, naming the checksum" \
    '! "$V" run --bios "$CPU" --restore "$T/bad" < /dev/null > "$T/e" 2>&1 && grep -q "checksum" "$T/e"'
check "a missing snapshot is refused, naming the file" \
    '! "$V" run --bios "$CPU" --restore "$T/none" < /dev/null > "$T/e" 2>&1 && grep -q "$T/none/state" "$T/e"'
finish
