#!/bin/bash
# The `vessel` commands that ask the daemon (docs/cli.md), against a fake
# daemon that answers the REST API v1 from memory (fakevesseld.py), so the
# client is tested on its own (TAP): create (options -> vm.json), list,
# info, the life-cycle actions, edit, delete, exit statuses and messages,
# console (piped, and on a terminal with C-a x), events, top's rates,
# --json, an unreachable or misbehaving daemon.  Runs the release and the
# sanitizer builds.  Every wait is a bounded poll.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-vmctl.XXXXXX")
FAKE=
trap '[ -n "$FAKE" ] && kill $FAKE 2>/dev/null; [ -z "$KEEP" ] && rm -rf "$T"' EXIT
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99"

# A request to the fake daemon's debug routes.  usage: dbg METHOD PATH
dbg() {
    python3 - "$S" "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
           % (sys.argv[2], sys.argv[3])).encode())
data = b""
while True:
    d = s.recv(65536)
    if not d: break
    data += d
print(data.split(b"\r\n\r\n", 1)[1].decode().strip())
EOF
}
# A field of a JSON document (a Python expression on `j`).  usage: jq_ FILE EXPR
jq_() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# The events of VM web in a file of JSON lines, space-separated.
web_events() {
    python3 -c 'import json,sys; print(" ".join(e["event"] for e in map(json.loads, open(sys.argv[1])) if e["vm"] == "web"))' "$1"
}
# Run vessel; OUT and ERR files, RC the exit status.  usage: v ARGS...
v() { "$V" "$@" > "$T/out" 2> "$T/err" < /dev/null; RC=$?; }

suite() { # MODE BINARY
    local m=$1
    V=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")    # create runs from $T
    S="$T/$m.sock"
    export VESSEL_SOCKET="$S"
    python3 "$HERE/fakevesseld.py" "$S" 2> "$T/fake-$m.log" &
    FAKE=$!
    check "$m: the fake daemon listens" 'wait_for "[ -S $S ]"'

    v --socket "$T/none.sock" list
    check "$m: no daemon: exit 3, the socket named" \
        '[ $RC = 3 ] && grep -q "cannot reach the daemon at $T/none.sock" "$T/err"'

    # The events stream, watched while the rest runs.
    "$V" events > "$T/events" 2> "$T/events.err" < /dev/null &
    local EV=$!
    "$V" --json events > "$T/events.json" 2> /dev/null < /dev/null &
    local EVJ=$!
    check "$m: events: two streams open" 'wait_for "[ \"\$(dbg GET /debug/subscribers)\" = \"{\\\"subscribers\\\": 2}\" ]"'

    (cd "$T" && "$V" create web --memory 1G --cpus 2 --kernel Image --initrd /b/initrd \
        --append "console=ttyS0 root=/dev/vda" --disk "root.qcow2,format=qcow2,cache=none" \
        --disk "/srv/a,,b.img,readonly=on" --net "user,hostfwd=tcp::2222-:22" \
        --restart on-failure > "$T/out" 2> "$T/err")
    check "$m: create: exit 0, says created" '[ $? = 0 ] && grep -q "^web: created, uuid " "$T/out"'
    v --json info web
    cp "$T/out" "$T/web.json"
    check "$m: create: the vm.json body (sizes in bytes, paths absolute, devices)" \
        '[ "$(jq_ "$T/web.json" "j[\"config\"][\"memory\"], j[\"config\"][\"vcpus\"], j[\"config\"][\"boot\"][\"kernel\"], j[\"config\"][\"disks\"][0][\"path\"], j[\"config\"][\"disks\"][1], j[\"config\"][\"nics\"], j[\"config\"][\"restart\"], \"uuid\" in j[\"config\"]")" = "(1073741824, 2, '"'$T/Image'"', '"'$T/root.qcow2'"', {'"'path'"': '"'/srv/a,b.img'"', '"'readonly'"': True}, [{'"'backend'"': '"'user'"', '"'hostfwd'"': ['"'tcp::2222-:22'"']}], '"'on-failure'"', True)" ]'
    v create web --bios /t.elf
    check "$m: create an existing name: exit 5, the daemon's message" \
        '[ $RC = 5 ] && grep -qx "vessel: create web: a VM named \"web\" exists" "$T/err"'
    v create other --bios /t.elf --disk "d,format=qed"
    check "$m: create with a bad option: exit 2, the field named, nothing sent" \
        '[ $RC = 2 ] && grep -q "disks\[0\].format" "$T/err" && ! "$V" list | grep -q other'
    v create outside --bios /t.elf --disk /etc/shadow
    check "$m: create refused by the daemon: exit 1, its message" \
        '[ $RC = 1 ] && grep -qx "vessel: create outside: disks\[0\].path: /etc/shadow is outside the store and not owned by the VM" "$T/err"'
    v create broken1 --bios /t.elf
    v list
    check "$m: list: the table, a broken VM with its error" \
        '[ $RC = 0 ] && head -1 "$T/out" | grep -q "^NAME  *STATE  *VCPUS  *MEMORY  *UPTIME  *IP$" &&
         grep -q "^broken1  *broken .*error: vms/broken1/vm.json: vcpus: 99" "$T/out" &&
         grep -q "^web  *stopped  *2  *1G  *-  *-$" "$T/out"'
    v --json list
    check "$m: list --json: the API's document" \
        '[ $RC = 0 ] && [ "$(jq_ "$T/out" "[x[\"name\"] for x in j[\"vms\"]]")" = "['"'broken1'"', '"'web'"']" ]'

    v start web
    check "$m: start: exit 0, the new state" '[ $RC = 0 ] && grep -qx "web: running" "$T/out"'
    v start web
    check "$m: start a running VM: exit 5, the daemon's message" \
        '[ $RC = 5 ] && grep -qx "vessel: start web: VM \"web\" is already running" "$T/err"'
    v info nope
    check "$m: info of an unknown VM: exit 4" '[ $RC = 4 ] && grep -q "no VM named \"nope\"" "$T/err"'
    v info web
    check "$m: info: key/value lines" \
        '[ $RC = 0 ] && grep -q "^state: *running$" "$T/out" && grep -q "^disk\[1\]: */srv/a,b.img readonly$" "$T/out"'
    v edit web --memory 2G
    check "$m: edit memory of a running VM: exit 5 naming the field" '[ $RC = 5 ] && grep -q "memory" "$T/err"'
    v edit web --autostart on --restart always
    check "$m: edit autostart and restart: applied" \
        '[ $RC = 0 ] && grep -q "^autostart: *yes$" "$T/out" && grep -q "^restart: *always$" "$T/out"'
    v pause web;  check "$m: pause" '[ $RC = 0 ] && grep -qx "web: paused" "$T/out"'
    v pause web;  check "$m: pause a paused VM: exit 5" '[ $RC = 5 ] && grep -q "is paused" "$T/err"'
    v resume web; check "$m: resume" '[ $RC = 0 ] && grep -qx "web: running" "$T/out"'
    v reset web;  check "$m: reset" '[ $RC = 0 ] && grep -qx "web: running" "$T/out"'

    # Console: piped input half-closes; the fake echoes upper-cased and ends.
    printf 'hello\n' | "$V" console web > "$T/out" 2> "$T/err"
    check "$m: console piped: the stream both ways" \
        '[ $? = 0 ] && grep -q "console of web" "$T/out" && grep -q HELLO "$T/out"'
    v console nope
    check "$m: console of an unknown VM: exit 4" '[ $RC = 4 ]'
    printf 'expect console of web 20\nsend abc\nexpect ABC 20\nsend \\x01x\nexpect detached 20\nexit 0 20\n' > "$T/pty"
    check "$m: console on a terminal: typed bytes go, C-a x detaches" \
        'python3 "$HERE/pty_run.py" "$T/pty" -- "$V" console web > "$T/pty.out" 2>&1'

    # (a 2 s interval: the fake counts from its own clock, the client from
    # its own; a late request skews a short interval's rates)
    v top --once --interval 2 --json
    check "$m: top --json: CPU % and rates (disk read/write, net rx/tx) from the counters' deltas" \
        '[ $RC = 0 ] && jq_ "$T/out" "[x for x in j[\"vms\"] if x[\"name\"] == \"web\"][0]" > "$T/top" &&
         python3 -c "import ast,sys; w=ast.literal_eval(open(sys.argv[1]).read()); sys.exit(not (35 < w[\"cpu_percent\"] < 65 and 0.7*2**20 < w[\"disk_bytes_per_second\"] < 1.3*2**20 and 35*2**10 < w[\"net_bytes_per_second\"] < 65*2**10 and w[\"memory_touched\"] == 64*2**20 and 0.7*768*2**10 < w[\"disk_read_bytes_per_second\"] < 1.3*768*2**10 and 0.7*256*2**10 < w[\"disk_write_bytes_per_second\"] < 1.3*256*2**10 and 0.7*32*2**10 < w[\"net_rx_bytes_per_second\"] < 1.3*32*2**10 and 0.7*16*2**10 < w[\"net_tx_bytes_per_second\"] < 1.3*16*2**10))" "$T/top"'
    v top --once --interval 0.2
    check "$m: top --once: one table" \
        '[ $RC = 0 ] && head -1 "$T/out" | grep -q "^NAME  *STATE  *VCPUS  *CPU%  *MEMORY  *DISK-R/s  *DISK-W/s  *NET-RX/s  *NET-TX/s$" &&
         grep -q "^web  *running  *2  *[0-9.]*  *64M/1G " "$T/out"'

    printf 'expect vessel top: 20\nexpect web +running 20\nsend q\nexit 0 20\n' > "$T/pty"
    check "$m: top on a terminal: redrawn frames, q quits" \
        'python3 "$HERE/pty_run.py" "$T/pty" -- "$V" top --interval 0.2 > "$T/pty.out" 2>&1'

    v delete web
    check "$m: delete a running VM: exit 5" '[ $RC = 5 ] && grep -q "stop it first" "$T/err"'
    v stop web --timeout 5
    check "$m: stop --timeout" '[ $RC = 0 ] && grep -qx "web: stopped" "$T/out"'
    v start web; v stop web --force
    check "$m: stop --force" '[ $RC = 0 ] && grep -qx "web: stopped" "$T/out"'
    v delete web --keep-disks
    check "$m: delete --keep-disks" '[ $RC = 0 ] && ! "$V" list | grep -q "^web "'

    check "$m: events: the stream's lines as they happen (stop --timeout and --force sent as asked)" \
        'wait_for "grep -q deleted $T/events" && grep -q "  web  stopped  stop timeout 5$" "$T/events" &&
         grep -q "  web  stopped  kill$" "$T/events"'
    dbg POST /debug/end-events > /dev/null
    check "$m: events: the end of the stream ends the command, exit 0" \
        'wait_for "! kill -0 $EV 2>/dev/null" && wait $EV'
    wait $EVJ
    check "$m: events --json: the API's lines, in order" \
        '[ "$(web_events "$T/events.json")" = "created started updated paused resumed reset stopped started stopped deleted" ]'

    v info badhttp
    check "$m: an answer that is not HTTP: exit 3" '[ $RC = 3 ] && grep -q "status line" "$T/err"'
    v info badjson
    check "$m: an answer that is not JSON: exit 3" '[ $RC = 3 ] && grep -q "not JSON" "$T/err"'
    v info secret
    check "$m: a denied request: exit 6, the daemon's message" '[ $RC = 6 ] && grep -q "role viewer" "$T/err"'
    v info cutoff
    check "$m: an answer cut short: exit 3" '[ $RC = 3 ] && grep -q "middle of its answer" "$T/err"'

    v start;          check "$m: start without a name: exit 2" '[ $RC = 2 ]'
    v start 'a/../b'; check "$m: a name that is not a VM name: exit 2" '[ $RC = 2 ] && grep -q "VM name" "$T/err"'
    v stop x --timeout soon; check "$m: stop --timeout soon: exit 2" '[ $RC = 2 ]'
    v edit x;         check "$m: edit without changes: exit 2" '[ $RC = 2 ] && grep -q "nothing to change" "$T/err"'
    v frobnicate;     check "$m: an unknown command: exit 2" '[ $RC = 2 ]'
    v list --help;    check "$m: --help: exit 0, the exit statuses listed" '[ $RC = 0 ] && grep -q "Exit status" "$T/out"'
    v run --help;     check "$m: vessel run still answers alone" '[ $RC = 0 ] && grep -q "usage: vessel run" "$T/out"'

    kill $FAKE; wait $FAKE 2>/dev/null; FAKE=
}

if ! command -v python3 > /dev/null; then echo "ok 1 - # SKIP python3 not installed"; exit 0; fi
suite release "${VESSEL:-build/release/vessel}"
[ -x "${VESSEL_ASAN:-build/asan/vessel}" ] && suite asan "${VESSEL_ASAN:-build/asan/vessel}"
finish
