#!/bin/bash
# vesseld without a Linux guest (TAP): every route of the daemon's table
# (`vesseld --list-routes`) is described in docs/daemon-api.yaml, with its
# role and a 403, and every path there is served; `vessel run
# --console-log` rotates the log at 4 MiB and `--console-sock` takes one client at a time; a daemon VM
# running a bare-metal guest is started and stopped through the API, and
# its bundle copied into another store is the same VM there; a VM
# that fails at once is given up after five quick failures; the daemon
# stops promptly with clients attached, and the next one adopts the
# running VM, starts the autostart one and still lists the crashed one.
# Every wait is a bounded poll.
. "$(dirname "$0")/../system/lib.sh"
N=0; FAILED=0
V=${VESSEL:-build/release/vessel}
VD=${VESSELD:-$(dirname "$V")/vesseld}
ELF=${BUILD_GUEST:-build/guest}/cli/console_spam.elf
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-dapi.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for f in "$T"/store/vms/*/run/vm.pid; do
        [ -f "$f" ] && kill -9 "$(cut -d' ' -f1 "$f")" 2>/dev/null
    done
    [ "$FAILED" -eq 0 ] && rm -rf "$T" || echo "# kept $T"
}
trap cleanup EXIT

"$VD" --list-routes > "$T/routes"
check "vesseld --list-routes prints the table" '[ "$(wc -l < "$T/routes")" -ge 10 ]'
check "every route is in docs/daemon-api.yaml with its role and 403, and every path there is a route" \
    'python3 - "$T/routes" docs/daemon-api.yaml <<"PY"
import sys, yaml
routes = {tuple(l.split()) for l in open(sys.argv[1]) if l.strip()}
doc = yaml.safe_load(open(sys.argv[2]))
assert doc["openapi"].startswith("3.0"), doc["openapi"]
spec = {(m.upper(), p, op.get("x-vessel-role")) for p, ops in doc["paths"].items()
        for m, op in ops.items() if m in ("get", "put", "post", "patch", "delete")}
missing, extra = routes - spec, spec - routes
assert not missing and not extra, ("not in the YAML: %s; not routes: %s" % (missing, extra))
no403 = [p for p, ops in doc["paths"].items() for m, op in ops.items()
         if m in ("get", "put", "post", "patch", "delete") and "403" not in op["responses"]]
assert not no403, "no 403 response: %s" % no403
PY'

if ! command -v curl > /dev/null || [ ! -f "$ELF" ]; then
    ok "# SKIP curl or $ELF missing"; finish; exit 0
fi

# ---- vessel run --console-log / --console-sock, no daemon --------------
"$V" run --bios "$ELF" --name spam --console-log "$T/con.log" --console-sock "$T/con.sock" \
    --api-sock "$T/api.sock" < /dev/null > /dev/null 2> "$T/err" &
PIDS+=($!)
check "--console-sock is a socket, mode 0600" 'wait_for "[ -S $T/con.sock ]" && [ "$(stat -c %a "$T/con.sock")" = 600 ]'
S=$T/api.sock
check "GET /vm shows the --name" 'wait_for "[ -S $S ]" && [ "$(field "$(api GET /vm)" name)" = spam ]'
check "--console-log rotates at 4 MiB: FILE.1 appears, FILE stays under it" \
    'wait_for "[ -f $T/con.log.1 ]" 120 && [ "$(stat -c %s "$T/con.log.1")" -le 4194304 ] &&
     [ "$(stat -c %s "$T/con.log")" -le 4194304 ] && grep -q "nobody reads" "$T/con.log.1"'
check "the console socket streams the guest's output; a second client is refused" \
    'python3 - "$T/con.sock" <<"PY"
import socket, sys, time
a = socket.socket(socket.AF_UNIX); a.connect(sys.argv[1]); a.settimeout(10)
got = b""
while b"nobody reads" not in got: got += a.recv(4096)
b = socket.socket(socket.AF_UNIX); b.connect(sys.argv[1]); b.settimeout(10)
msg = b""
while True:
    d = b.recv(4096)
    if not d: break
    msg += d
assert b"busy" in msg, msg
PY'
check "poweroff: vessel exits and removes the console socket" \
    '[ "$(api PUT /actions "{\"action\":\"poweroff\"}" | cut -d" " -f1)" = 204 ] &&
     wait_for "! kill -0 ${PIDS[0]} 2>/dev/null" 30 && [ ! -e "$T/con.sock" ]'

# ---- the daemon with a bare-metal guest ---------------------------------
"$VD" --store "$T/store" --socket "$T/d.sock" --vessel "$V" > "$T/vesseld.log" 2>&1 &
PIDS+=($!)
S=$T/d.sock
check "vesseld starts" 'wait_for "[ -S $S ]"'
check "a second daemon on the same socket: refused, non-zero, naming it" \
    '! "$VD" --store "$T/store2" --socket "$T/d.sock" --vessel "$V" 2> "$T/e2" && grep -q "d.sock" "$T/e2"'
check "a second daemon on the same store: refused, non-zero, naming the lock" \
    '! "$VD" --store "$T/store" --socket "$T/d2.sock" --vessel "$V" 2> "$T/e3" && grep -q "vesseld.lock" "$T/e3" && [ ! -e "$T/d2.sock" ]'
threads() { grep Threads "/proc/$1/status" | cut -f2; }
base=$(threads "${PIDS[1]}")
EV=()
for i in 1 2 3 4 5 6; do
    curl -sN --unix-socket "$S" http://x/events > /dev/null 2>&1 & EV+=($!); disown
done
check "six /events readers: a thread each" 'wait_for "[ \$(threads ${PIDS[1]}) -ge $((base + 6)) ]"'
kill "${EV[@]}"
check "readers that hang up are let go without waiting for an event" \
    'wait_for "[ \$(threads ${PIDS[1]}) -le $base ]" 10'
check "POST a bios VM: 201" \
    '[ "$(api POST /vms "{\"name\":\"spam\",\"memory\":\"64M\",\"boot\":{\"bios\":\"$(realpath "$ELF")\"}}" | cut -d" " -f1)" = 201 ]'
check "start: 200, then running" \
    '[ "$(api PUT /vms/spam/state "{\"action\":\"start\"}" | cut -d" " -f1)" = 200 ] &&
     wait_for "[ \"\$(field \"\$(api GET /vms/spam)\" state)\" = running ]" 30'
check "its console.log fills, in the bundle" 'wait_for "grep -qs \"nobody reads\" $T/store/vms/spam/console.log" 30'
check "GET console without upgrade: the log's tail, at most 64 KiB" \
    '[ "$(curl -s --unix-socket "$S" http://x/vms/spam/console | wc -c)" -le 65536 ] &&
     curl -s --unix-socket "$S" http://x/vms/spam/console | grep -q "nobody reads"'
check "PATCH memory while running: 409; autostart: 200" \
    '[ "$(api PATCH /vms/spam "{\"memory\":\"128M\"}" | cut -d" " -f1)" = 409 ] &&
     [ "$(api PATCH /vms/spam "{\"autostart\":true}" | cut -d" " -f1)" = 200 ]'
check "a bad action: 400 naming the field" \
    'r=$(api PUT /vms/spam/state "{\"action\":\"fly\"}"); [ "${r%% *}" = 400 ] && [[ "$r" == *action* ]]'
check "stop: 200, stopped" \
    'r=$(api PUT /vms/spam/state "{\"action\":\"stop\",\"timeout\":10}"); [ "${r%% *}" = 200 ] && [ "$(field "$r" state)" = stopped ]'
check "PATCH memory while stopped: 200, in vm.json" \
    '[ "$(api PATCH /vms/spam "{\"memory\":\"128M\"}" | cut -d" " -f1)" = 200 ] &&
     grep -q 134217728 "$T/store/vms/spam/vm.json"'
# Backup by copy: a stopped VM's bundle copied into another store is the
# same VM there (same UUID and definition; autostart, set above, starts it).
U1=$(field "$(api GET /vms/spam)" uuid)
mkdir -p "$T/store2/vms"
cp -a "$T/store/vms/spam" "$T/store2/vms/"
"$VD" --store "$T/store2" --socket "$T/d2.sock" --vessel "$V" --jail-ids 1500000000 \
    >> "$T/vesseld2.log" 2>&1 &
D2=$!
PIDS+=($D2)
S1=$S; S=$T/d2.sock
check "a copied bundle is the same VM in another store (UUID, memory, autostart: it runs)" \
    'wait_for "[ -S $S ]" && r=$(api GET /vms/spam) &&
     [ -n "$U1" ] && [ "$(field "$r" uuid)" = "$U1" ] &&
     [ "$(field "$r" memory)" = 134217728 ] &&
     wait_for "[ \"\$(field \"\$(api GET /vms/spam)\" state)\" = running ]" 30 &&
     [ "$(api PUT /vms/spam/state "{\"action\":\"kill\"}" | cut -d" " -f1)" = 200 ]'
kill "$D2"; wait "$D2" 2>/dev/null
S=$S1
check "DELETE: 204, the bundle gone" \
    '[ "$(api DELETE /vms/spam | cut -d" " -f1)" = 204 ] && [ ! -e "$T/store/vms/spam" ]'
# A VM that fails at once, restarted on failure: back-off 1, 2, 4, 8 s,
# then the fifth quick failure makes it crashed, with the reason.
api POST /vms '{"name":"fails","restart":"on-failure","boot":{"bios":"/nonexistent.elf"}}' > /dev/null
check "a VM that fails at once: start 200" '[ "$(api PUT /vms/fails/state "{\"action\":\"start\"}" | cut -d" " -f1)" = 200 ]'
check "restarted with back-off, then crashed after 5 quick failures, 4 restarts" \
    'wait_for "[ \"\$(field \"\$(api GET /vms/fails)\" state)\" = crashed ]" 40 &&
     r=$(api GET /vms/fails) && [ "$(field "$r" restarts)" = 4 ] && [[ "$(field "$r" error)" == *"gave up"* ]]'
check "its log names the missing file" 'grep -q nonexistent.elf "$T/store/vms/fails/run/vessel.log"'
# Marked autostart, left stopped: the next daemon starts it.
# Disks and the store (docs/vm-json.md "Disks and the store").
truncate -s 1M "$T/shared.raw" "$T/base.raw"
dvm() { # NAME PATH [EXTRA]
    printf '{"name":"%s","memory":"64M","boot":{"bios":"%s"},"disks":[{"path":"%s"%s}]}' \
        "$1" "$(realpath "$ELF")" "$2" "${3:-}"
}
check "a writable disk belongs to one VM: a second VM with it gets 409 naming the first" \
    '[ "$(api POST /vms "$(dvm d1 "$T/shared.raw")" | cut -d" " -f1)" = 201 ] &&
     r=$(api POST /vms "$(dvm d2 "$T/shared.raw" ",\"readonly\":true")") &&
     [ "${r%% *}" = 409 ] && [[ "$r" == *"VM '"'"'d1'"'"'"* ]] && [ ! -e "$T/store/vms/d2" ]'
check "read-only disks may be shared" \
    '[ "$(api POST /vms "$(dvm r1 "$T/base.raw" ",\"readonly\":true")" | cut -d" " -f1)" = 201 ] &&
     [ "$(api POST /vms "$(dvm r2 "$T/base.raw" ",\"snapshot\":true")" | cut -d" " -f1)" = 201 ]'
check "a disk or backing dir in another VM's bundle, or a device, is refused (400, named)" \
    'r=$(api POST /vms "$(dvm d5 own.qcow2 ",\"backing_dirs\":[\"../d1\"]")") &&
     [ "${r%% *}" = 400 ] && [[ "$r" == *"disks[0].backing_dirs[0]"* ]] &&
     r=$(api POST /vms "$(dvm d3 ../d1/vm.json)") && [ "${r%% *}" = 400 ] &&
     [[ "$r" == *"disks[0].path"* ]] && r=$(api POST /vms "$(dvm d4 /dev/null)") &&
     [ "${r%% *}" = 400 ] && [[ "$r" == *"not a regular file"* ]]'
# vm.json edited by hand to take d1's disk (read by the next daemon, below).
sed -i "s|$T/base.raw|$T/shared.raw|" "$T/store/vms/r1/vm.json"
api POST /vms "{\"name\":\"auto\",\"memory\":\"64M\",\"autostart\":true,\"boot\":{\"bios\":\"$(realpath "$ELF")\"}}" > /dev/null

# The daemon stopped while a console is attached (its client not reading)
# and a client sent half a request: it exits at once, cleanly, and the VM
# runs on.
api POST /vms "{\"name\":\"spam2\",\"memory\":\"64M\",\"boot\":{\"bios\":\"$(realpath "$ELF")\"}}" > /dev/null
api PUT /vms/spam2/state '{"action":"start"}' > /dev/null
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"GET /vms HTTP/1.1\r\nHost: x\r\n"); time.sleep(60)' "$S" &
PIDS+=($!); disown
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"GET /vms/spam2/console HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: vessel-console\r\n\r\n")
print(s.recv(12).decode(), flush=True); time.sleep(60)' "$S" > "$T/attached" &
PIDS+=($!); disown
check "a console client attached (101), not reading" 'wait_for "grep -q 101 $T/attached"'
vmpid=$(cut -d" " -f1 "$T/store/vms/spam2/run/vm.pid")
t0=$(date +%s)
kill "${PIDS[1]}"
check "SIGTERM: the daemon exits 0 within 5 s despite both clients" \
    'wait "${PIDS[1]}" && [ $(( $(date +%s) - t0 )) -le 5 ]'
check "the VM runs on without the daemon" 'kill -0 "$vmpid"'
"$VD" --store "$T/store" --socket "$T/d.sock" --vessel "$V" >> "$T/vesseld.log" 2>&1 &
PIDS+=($!)
check "the next daemon adopts the running VM and starts the autostart one" \
    'wait_for "[ -S $S ]" && [ "$(field "$(api GET /vms/spam2)" pid)" = "$vmpid" ] &&
     wait_for "[ \"\$(field \"\$(api GET /vms/auto)\" state)\" = running ]" 30'
check "the VM that gave up is still crashed, with its reason, and not started again" \
    'r=$(api GET /vms/fails) && [ "$(field "$r" state)" = crashed ] && [ "$(field "$r" pid)" = None ] &&
     [[ "$(field "$r" error)" == *"gave up"* ]]'
check "a start with another VM's writable disk (vm.json edited by hand) is 409, nothing runs" \
    'r=$(api PUT /vms/r1/state "{\"action\":\"start\"}") && [ "${r%% *}" = 409 ] &&
     [[ "$r" == *"VM '"'"'d1'"'"'"* ]] && [ "$(field "$(api GET /vms/r1)" pid)" = None ]'
kill "${PIDS[-1]}"
check "SIGTERM: exit 0" 'wait "${PIDS[-1]}"'
finish
