#!/bin/bash
# The `vessel` client against the real vesseld (TAP), with bare-metal idle
# guests (tests/cli/guest/idle.S) so no Linux boots: create, list, info,
# start, pause/resume, edit refused while running, the balloon (vm.json
# field and `vessel balloon`), stop (the idle guest
# ignores the power button, so the daemon's fallback poweroff stops it
# after --timeout), delete, and the exit statuses of docs/cli.md for a
# duplicate, an unknown VM and a start of a running one.  The client is
# tested alone against a fake daemon in tests/system/run-vmctl.sh; this is
# the two together.  Every wait is a bounded poll.
. "$(dirname "$0")/../system/lib.sh"
N=0; FAILED=0
V=${VESSEL:-build/release/vessel}
VD=${VESSELD:-$(dirname "$V")/vesseld}
ELF=$(realpath -m "${BUILD_GUEST:-build/guest}/cli/idle.elf")
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-vmctl-d.XXXXXX")
DPID=
cleanup() {
    [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
    for f in "$T"/store/vms/*/run/vm.pid; do
        [ -f "$f" ] && kill -9 "$(cut -d' ' -f1 "$f")" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
if [ ! -f "$ELF" ]; then ok "# SKIP $ELF missing"; finish; exit 0; fi

export VESSEL_SOCKET=$T/d.sock
"$VD" --store "$T/store" --socket "$VESSEL_SOCKET" > "$T/vesseld.log" 2>&1 &
DPID=$!
v() { "$V" "$@" > "$T/out" 2> "$T/err" < /dev/null; RC=$?; }
check "vesseld listens" 'wait_for "[ -S $VESSEL_SOCKET ]"'

v create idle-a --memory 16M --cpus 1 --bios "$ELF"
check "create: exit 0" '[ $RC = 0 ]'
v create idle-a --memory 16M --bios "$ELF"
check "create of a duplicate name: exit 5 (conflict), the name in the message" \
    '[ $RC = 5 ] && grep -q idle-a "$T/err"'
v create idle-b --memory 16M --bios "$ELF"
v list
check "list: both, stopped" \
    '[ "$(grep -c "^idle-[ab] .*stopped" "$T/out")" = 2 ]'
v start idle-a
check "start: exit 0, the guest's first line reaches console.log, listed running" \
    '[ $RC = 0 ] && wait_for "grep -q \"idle: ready\" $T/store/vms/idle-a/console.log" &&
     wait_for "\"$V\" list | grep -q \"^idle-a .*running\""'
v start idle-a
check "start of a running VM: exit 5, says it is running" '[ $RC = 5 ] && grep -q running "$T/err"'
v info idle-nope
check "info of an unknown VM: exit 4" '[ $RC = 4 ]'
v --json info idle-a
check "info --json: the VM's JSON, running, 16 MiB" \
    '[ $RC = 0 ] && python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j[\"state\"]==\"running\" and j[\"memory\"]==16<<20" "$T/out"'
check "info: the VM runs under its system call filter (sandbox: yes)" \
    'python3 -c "import json,sys; assert json.load(open(sys.argv[1]))[\"sandbox\"] is True" "$T/out" &&
     grep -q "^Seccomp:.*2" /proc/$(cut -d" " -f1 "$T/store/vms/idle-a/run/vm.pid")/status'
v pause idle-a
check "pause: exit 0, listed paused" '[ $RC = 0 ] && "$V" list | grep -q "^idle-a .*paused"'
v resume idle-a
check "resume: exit 0, listed running" '[ $RC = 0 ] && "$V" list | grep -q "^idle-a .*running"'
v edit idle-a --memory 32M
check "edit of memory while running: refused (exit 5), naming the field" \
    '[ $RC = 5 ] && grep -q memory "$T/err"'
v balloon idle-a
check "balloon of a VM without one: exit 4, says so" '[ $RC = 4 ] && grep -q "no balloon" "$T/err"'
v stop idle-a --timeout 1
check "stop: exit 0 (power button ignored: poweroff after the timeout), stopped" \
    '[ $RC = 0 ] && "$V" list | grep -q "^idle-a .*stopped"'
v edit idle-a --memory 32M
check "edit while stopped: exit 0, vm.json has the new size" \
    '[ $RC = 0 ] && grep -q "\"memory\": *33554432\|32M" "$T/store/vms/idle-a/vm.json"'
v edit idle-a --balloon reporting
check "edit --balloon while stopped: exit 0, in vm.json" \
    '[ $RC = 0 ] && grep -q "\"balloon\": *\"reporting\"" "$T/store/vms/idle-a/vm.json"'
v start idle-a
wait_for "\"$V\" list | grep -q \"^idle-a .*running\""
v balloon idle-a --amount 4
check "balloon --amount 4: exit 0, the target set (this guest has no driver: nothing given)" \
    '[ $RC = 0 ] && grep -q "target 4 MiB, the guest gave back 0 MiB" "$T/out"'
v balloon idle-a --amount 64
check "balloon over the VM's memory: exit 1, the size named" '[ $RC = 1 ] && grep -q "MiB" "$T/err"'
v balloon idle-a --amount x
check "balloon --amount x: exit 2" '[ $RC = 2 ]'
v stop idle-a --timeout 1
v delete idle-a
check "delete: exit 0, the bundle gone" '[ $RC = 0 ] && [ ! -e "$T/store/vms/idle-a" ]'
v delete idle-b
kill "$DPID"; wait "$DPID"; rc=$?; DPID=
check "vesseld exits 0 on SIGTERM" '[ $rc = 0 ]'
finish
