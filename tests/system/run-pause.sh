#!/bin/bash
# System tests: a Linux guest (busybox initramfs) with the user-mode NIC
# and two host port forwards, driven through the control API (TAP):
#   - a TCP connection through hostfwd to an echo service in the guest,
#     held open while the VM is paused and resumed 20 times, still echoes
#     after each resume, and a line sent while the VM is paused arrives
#     when it resumes;
#   - a long pause (VESSEL_PAUSE_SECS, default 60; CI uses the default):
#     the guest's uptime moves by about nothing across it (guest time stops
#     while paused) and its kernel log gains no RCU stall, soft lockup,
#     hung task, clocksource or watchdog warning;
#   - a snapshot, the VM powered off, a restore in a new process with the
#     same --net: the guest still has 10.0.2.15, a new connection through
#     the forward works, and the restored VM's network state (libslirp's
#     DHCP leases) is the snapshot's.
# The guest is reached through a second forward to a shell service (one
# `sh` per connection).  Every wait is a bounded poll; the only sleep is
# the long pause itself, which is what is under test.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
PAUSE_SECS=${VESSEL_PAUSE_SECS:-60}
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-pause.XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi
if ! command -v curl > /dev/null; then ok "# SKIP curl not installed"; finish; exit 0; fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
S=$T/api.sock
status() { api "$@" | cut -d" " -f1; }
# Run a command in the guest through the shell forward; prints its output.
# A connection that finds no listener (the guest's loop is between two
# `nc -l`) comes back empty: try again, within a deadline.
gsh() { # COMMAND
    local out i
    for ((i = 0; i < 30; i++)); do
        out=$(timeout 60 bash -c 'exec 5<>/dev/tcp/127.0.0.1/'"$CPORT"' || exit 1
              printf "%s\necho GSH-END\nexit\n" "$1" >&5; cat <&5' _ "$1" 2>/dev/null)
        if [[ "$out" == *GSH-END* ]]; then printf '%s\n' "${out%GSH-END*}"; return 0; fi
        sleep 0.2
    done
    return 1
}
# libslirp's state in the snapshot: the NIC's ("vnet") section version,
# then the DHCP lease table as hex ("none": the NIC carries no backend
# state).  The layout is net/slirp.c's and virtio/net.c's: the NIC's
# payload ends with u32 length + the backend's "slirp" section, whose
# payload is u32 libslirp version, u32 n, n bytes: a 0 (no socket
# records), the u16 IP id, then the leases.
slirp_state() { # DIR
    python3 - "$1/state" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
at = 32
while at < len(d):
    tag = d[at:at+8].rstrip(b"\0")
    ver, n = struct.unpack_from("<II", d, at + 8)
    if tag == b"vnet":
        p = d[at+16:at+16+n]
        for cut in range(len(p) - 4, -1, -1):
            (bl,) = struct.unpack_from("<I", p, cut)
            sec = p[cut+4:]
            if cut + 4 + bl == len(p) and sec[:8] == b"slirp\0\0\0":
                print(ver, sec[16+8+3:].hex())
                sys.exit(0)
        print(ver, "none")
        sys.exit(0)
    at += 16 + n + 4
print("no-vnet")
PY
}

EPORT=$(free_port)
CPORT=$(free_port)
NET="user,hostfwd=tcp:127.0.0.1:$EPORT-:7777,hostfwd=tcp:127.0.0.1:$CPORT-:7778"
SCRIPT='echo "#!/bin/sh
[ \$1 = bound ] && ifconfig \$interface \$ip netmask \$subnet && route add default gw \$router" >/tmp/s
chmod +x /tmp/s
ip link set eth0 up
udhcpc -i eth0 -n -q -s /tmp/s
nc -l -p 7777 -e /bin/cat &
while :; do nc -l -p 7778 -e /bin/sh; done &
i=0; until grep -qs ":1E62 [0:]* 0A" /proc/net/tcp||[ $i = 300 ]; do sleep 0.1; i=$((i+1)); done
echo READY
wait'
B64=$(printf '%s\n' "$SCRIPT" | base64 -w0)
run_vm() { # CONSOLE-FILE [extra args...]
    local con=$1; shift
    : > "$con"
    "$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" -m 256M --net "$NET" \
        --api-sock "$S" --append "console=ttyS0 quiet vessel.cmd=$B64" "$@" \
        < /dev/null > "$con" 2>&1 &
    PID=$!
}
stop_vm() {
    [ "$(status PUT /actions '{"action":"poweroff"}')" = 204 ] || kill "$PID" 2>/dev/null
    wait_for '! kill -0 $PID 2>/dev/null' 30 || kill -9 "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=
}

run_vm "$T/con1"
check "the guest boots, gets its address and starts its services (READY)" \
    'wait_for "tr -d \"\\r\" < $T/con1 | grep -qx READY" 300'
if ! grep -q READY "$T/con1"; then tail -30 "$T/con1" | sed 's/^/# /'; finish; exit 1; fi

MAC=$(gsh 'cat /sys/class/net/eth0/address' | tr -d ':\n')

# ---- one connection through hostfwd, across 20 pauses -------------------
exec 4<>"/dev/tcp/127.0.0.1/$EPORT"
reply=""
printf 'hello\n' >&4; read -r -t 30 reply <&4
check "hostfwd: the echo service answers ('$reply')" '[ "$reply" = hello ]'
good=0
for i in $(seq 20); do
    [ "$(status PATCH /vm '{"state":"paused"}')" = 204 ] || break
    [ "$(api GET /vm | grep -o '"state":"[a-z]*"')" = '"state":"paused"' ] || break
    [ "$i" = 10 ] && printf 'sent-while-paused\n' >&4
    [ "$(status PATCH /vm '{"state":"running"}')" = 204 ] || break
    if [ "$i" = 10 ]; then
        reply=""; read -r -t 30 reply <&4
        check "a line sent while paused is echoed after the resume ('$reply')" \
            '[ "$reply" = sent-while-paused ]'
    fi
    reply=""
    printf 'ping-%s\n' "$i" >&4; read -r -t 30 reply <&4
    [ "$reply" = "ping-$i" ] || { echo "# after resume $i: '$reply'"; break; }
    good=$i
done
check "the same connection echoes after each of 20 pause/resume cycles ($good)" '[ "$good" = 20 ]'

# ---- a long pause -------------------------------------------------------
PAT='rcu.*stall|rcu: INFO|soft lockup|hung task|blocked for more than|clocksource|watchdog'
before=$(gsh "dmesg | grep -icE '$PAT'")
up1=$(gsh 'cut -d" " -f1 /proc/uptime')
check "the guest answers through the shell forward (uptime '$up1')" '[ -n "$up1" ]'
# A guest that keeps its kernel busy (processes created and reaped, so
# RCU grace periods are under way) when it is paused: a guest clock that
# jumped at the resume would make one look stalled.
gsh '(while :; do ls / > /dev/null; done) < /dev/null > /dev/null 2>&1 & echo $! > /tmp/load' > /dev/null
t0=$(date +%s)
check "paused for the long pause" '[ "$(status PATCH /vm "{\"state\":\"paused\"}")" = 204 ]'
sleep "$PAUSE_SECS"
check "resumed after ${PAUSE_SECS} s" '[ "$(status PATCH /vm "{\"state\":\"running\"}")" = 204 ]'
up2=$(gsh 'cut -d" " -f1 /proc/uptime')
t1=$(date +%s)
# The guest's clock moves only while it runs: the two uptime reads are a
# couple of shell round trips apart in guest time, while the host saw the
# whole pause pass between them.  (Those round trips take what a loaded
# host makes them take, so the guest's move is held against the host's:
# a clock that jumped at the resume would have moved by the pause too.)
check "guest uptime moved by about 0 across a ${PAUSE_SECS} s pause ($up1 -> $up2; host: $((t1 - t0)) s)" \
    'awk -v a="$up1" -v b="$up2" -v h="$((t1 - t0))" -v p="$PAUSE_SECS" "BEGIN { exit !(b > a && b - a < h - p / 2) }"'
# Give the guest's watchdogs some guest time to notice a stall, then look.
after=$(gsh "sleep 5; kill \$(cat /tmp/load); dmesg | grep -icE '$PAT'")
[ "$after" = "$before" ] || gsh "dmesg | grep -iE '$PAT'" | sed 's/^/# dmesg: /'
check "no RCU stall, lockup, hung task, clocksource or watchdog warning after the pause ($before -> $after)" \
    '[ -n "$after" ] && [ "$after" = "$before" ]'
reply=""
printf 'after-long-pause\n' >&4; read -r -t 30 reply <&4
check "the connection still echoes after the long pause" '[ "$reply" = after-long-pause ]'
exec 4<&-

# ---- snapshot, restore in a new process ---------------------------------
check "paused for the snapshot" '[ "$(status PATCH /vm "{\"state\":\"paused\"}")" = 204 ]'
check "PUT /snapshot/create: 201" \
    '[ "$(status PUT /snapshot/create "{\"path\":\"$T/snap\"}")" = 201 ]'
st1=$(slirp_state "$T/snap")
# A lease is u16 in use (big-endian 1) and the MAC.
check "the NIC's section (version 2) carries libslirp's state with the guest's lease" \
    '[ -n "$MAC" ] && [[ "$st1" == "2 "*"0001$MAC"* ]]'
[[ "$st1" == "2 "*"0001$MAC"* ]] || echo "# MAC $MAC, state: $st1"
stop_vm
run_vm "$T/con2" --restore "$T/snap"
running() { api GET /vm | grep -q '"state":"running"'; }
check "the restored VM serves its API, running" 'wait_for "[ -S $S ] && running" 30'
addr=$(gsh 'ip -4 addr show eth0' | grep -o 'inet [0-9.]*')
check "restored guest: eth0 still has 10.0.2.15 ('$addr')" '[ "$addr" = "inet 10.0.2.15" ]'
check "restored guest: a new connection through the forward runs a command" \
    '[ "$(gsh "echo new-conn-\$((6*7))")" = new-conn-42 ]'
up3=$(gsh 'cut -d" " -f1 /proc/uptime')
check "the restored guest's clock goes on from the snapshot's (uptime $up2 -> $up3)" \
    'awk -v a="$up2" -v b="$up3" "BEGIN { exit !(b > a && b - a < 60) }"'
check "paused again, snapshot of the restored VM" \
    '[ "$(status PATCH /vm "{\"state\":\"paused\"}")" = 204 ] &&
     [ "$(status PUT /snapshot/create "{\"path\":\"$T/snap2\"}")" = 201 ]'
st2=$(slirp_state "$T/snap2")
check "the restored VM's DHCP leases are the snapshot's" \
    '[[ "$st1" == *"0001$MAC"* ]] && [ "$st2" = "$st1" ]'
[ "$st2" = "$st1" ] || { echo "# first:  $st1"; echo "# second: $st2"; }
stop_vm
finish
