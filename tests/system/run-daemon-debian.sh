#!/bin/bash
# The Debian trixie image (scripts/build-rootfs.sh, docs/rootfs.md) through
# vesseld, on a temporary store and socket, driven by the vessel client
# (docs/cli.md) and curl --unix-socket (docs/daemon-api.yaml), TAP:
#
#   1. create: 2 vCPUs, 1 GiB, user networking, restart on-failure, its
#      disk a qcow2 overlay inside the bundle on the cached image (allowed
#      by the disk's backing_dirs, docs/vm-json.md);
#   2. start: multi-user reached in console.log ("vessel-debian login:",
#      as run-debian.sh); while it boots the VM process has the seccomp
#      filter on every thread and GET /vms/NAME says "sandbox":true;
#   3. `vessel console` on a pty: a command answers, C-a x detaches, the VM
#      runs on;
#   4. pause and resume: paused (no instruction retired), running again,
#      the console answers;
#   5. `vessel stop`: the power button; systemd shuts down in order
#      ("reboot: Power down") and the daemon's event says the guest
#      powered off at the button, well before the timeout;
#   6. start again, a file written and synced, kill -9 of the VM process
#      (pid from GET /vms): the on-failure policy restarts it (events
#      crashed, restarted), multi-user again, the file is there; after a
#      graceful stop the overlay passes `vessel img check` and the ext4
#      root (converted to raw; no partition table) `e2fsck -fn`.
#
# Three Debian boots.  Every wait is a bounded poll; the store, the
# console and daemon logs are kept when a test failed.
# VESSEL_DAEMON_NO_DEBIAN=1 skips the suite (it takes a few minutes).
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
PATH=$PATH:/usr/sbin:/sbin     # e2fsck, for a user whose PATH lacks them
VESSEL=${VESSEL:-build/release/vessel}
VESSELD=${VESSELD:-$(dirname "$VESSEL")/vesseld}
BOOT_TMO=${VESSEL_SYSTEST_BOOT_TIMEOUT:-300}    # seconds: start to multi-user
STOP_TMO=120                                    # vessel stop --timeout
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-daemon-debian.XXXXXX")
STORE=$T/store
S=$T/vesseld.sock
export VESSEL_SOCKET=$S
B=$STORE/vms/deb               # the bundle
CLOG=$B/console.log
DPID=
BG=()
T0=$SECONDS
cleanup() {
    # Killed and reaped here, so that bash does not report them.
    { [ -n "$DPID" ] && kill -9 "$DPID" && wait "$DPID"; } 2>/dev/null
    for p in "${BG[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null; done
    # The VM process, by its pidfile (it outlives the daemon by design).
    [ -f "$B/run/vm.pid" ] && kill -9 "$(cut -d' ' -f1 "$B/run/vm.pid")" 2>/dev/null
    if [ "$FAILED" -eq 0 ] && [ -z "${VESSEL_SYSTEST_KEEP:-}" ]; then
        rm -rf "$T"
    else
        rm -f "$T/root.raw"
        echo "# logs kept in $T (vesseld.log, events, store/vms/deb/console.log, run/vessel.log)"
    fi
}
trap cleanup EXIT

# Poll a condition (a shell expression) every 0.2 s until it holds or
# SECONDS have passed on the clock.  lib.sh's wait_for counts polls, and
# here a poll runs curl and python (up to half a second on some hosts).
until_ok() {
    local end=$((SECONDS + $2))
    while :; do
        eval "$1" && return 0
        [ $SECONDS -ge $end ] && return 1
        sleep 0.2
    done
}

if [ -n "${VESSEL_DAEMON_NO_DEBIAN:-}" ]; then
    ok "# SKIP the Debian boots (VESSEL_DAEMON_NO_DEBIAN is set)"; finish; exit 0
fi
for c in curl e2fsck; do
    command -v $c > /dev/null || { ok "# SKIP $c not installed"; finish; exit 0; }
done
debian_artifacts

"$VESSELD" --store "$STORE" --socket "$S" --vessel "$VESSEL" >> "$T/vesseld.log" 2>&1 &
DPID=$!
if ! until_ok "curl -s --max-time 2 --unix-socket $S http://x/host > /dev/null" 20; then
    cat "$T/vesseld.log"; not_ok "vesseld answers on $S"; finish; exit 1
fi
"$VESSEL" --json events > "$T/events" 2> "$T/events.err" &
BG+=($!)

state() { field "$(api GET /vms/deb)" state 2>/dev/null; }
# The VM's pid as GET /vms (the list) gives it.
list_pid() {
    api GET /vms | cut -d" " -f2- | python3 -c 'import json,sys
print([v.get("pid") for v in json.load(sys.stdin)["vms"] if v["name"] == "deb"][0])' 2>/dev/null
}
# usage: event_seen EVENT [DETAIL-REGEX [AFTER-LINE]]: an /events line of
# deb with that event (and a detail matching the regex) after line AFTER.
event_seen() {
    tail -n +"$(( ${3:-0} + 1 ))" "$T/events" | python3 -c 'import json,re,sys
for l in sys.stdin:
    try: e = json.loads(l)
    except ValueError: continue
    if e.get("vm") == "deb" and e.get("event") == sys.argv[1] and re.search(sys.argv[2], e.get("detail", "")):
        sys.exit(0)
sys.exit(1)' "$1" "${2:-}"
}
event_detail() { # EVENT [AFTER-LINE]: the detail of the last such event
    tail -n +"$(( ${2:-0} + 1 ))" "$T/events" | python3 -c 'import json,sys
d = ""
for l in sys.stdin:
    try: e = json.loads(l)
    except ValueError: continue
    if e.get("vm") == "deb" and e.get("event") == sys.argv[1]: d = e["detail"]
print(d)' "$1"
}
# console.log from byte OFFSET on (a boot's part of it), CR removed.
clog_from() { tail -c +"$(( $1 + 1 ))" "$CLOG" 2>/dev/null | tr -d '\r'; }
clog_size() { stat -c %s "$CLOG" 2>/dev/null || echo 0; }
logged_in() { clog_from "$1" | grep -q "vessel-debian login:"; }
# usage: console NAME < steps: `vessel console deb` on a pty
# (tests/system/pty_run.py steps); its transcript in $T/NAME.con.
console() {
    cat > "$T/$1.steps"
    timeout 200 python3 tests/system/pty_run.py "$T/$1.steps" -- "$VESSEL" console deb \
        > "$T/$1.con" 2>&1
}
# Every thread of PID: "SECCOMP NNP" (sorted, unique), ";"-joined.
filter_states() {
    local t
    for t in /proc/"$1"/task/*; do
        awk '/^Seccomp:/ { s = $2 } /^NoNewPrivs:/ { n = $2 } END { print s, n }' "$t/status"
    done 2>/dev/null | sort -u | tr '\n' ';'
}
PROMPT='root@vessel-debian:[^\n]*# '
# Around a command typed on the console: kernel messages off, so that none
# splits its answer, and back on (the shutdown's lines are checked).
QUIET='l=$(cut -f1 /proc/sys/kernel/printk); dmesg -n 1'
LOUD='dmesg -n $l'

# ---- 1. create -------------------------------------------------------------
"$VESSEL" create deb --memory 1G --cpus 2 --firmware "$FIRMWARE" --kernel "$ROOTFS_KERNEL" \
    --initrd "$ROOTFS_INITRD" --append "root=/dev/vda rw console=ttyS0" \
    --disk "$B/root.qcow2,format=qcow2,backing-dir=$ROOTFS_DIR" --net user \
    --restart on-failure > "$T/create.out" 2>&1
rc=$?
check "vessel create deb: exit 0 (got $rc: $(head -c 300 "$T/create.out"))" '[ $rc = 0 ]'
"$VESSEL" img create -f qcow2 -b "$ROOTFS_QCOW2" -F qcow2 "$B/root.qcow2" > "$T/img.out" 2>&1
r=$(api GET /vms/deb)
cfg=$(echo "${r#* }" | python3 -c 'import json,sys; c = json.load(sys.stdin)["config"]; d = c["disks"][0]
print(c["vcpus"], c["memory"], c["restart"], c["nics"][0]["backend"], d["path"], d["format"], ",".join(d["backing_dirs"]))' 2>/dev/null)
check "GET /vms/deb: 2 vCPUs, 1 GiB, on-failure, user NIC, the overlay in the bundle allowed its backing dir ($cfg)" \
    '[ "$cfg" = "2 1073741824 on-failure user $B/root.qcow2 qcow2 $ROOTFS_DIR" ]'
check "the overlay in the bundle has the cached image as backing file" \
    '"$VESSEL" img info --json "$B/root.qcow2" 2>/dev/null | grep -qF "$ROOTFS_QCOW2"'

# ---- 2. start, sandbox, multi-user ---------------------------------------------
off=$(clog_size)
boot0=$SECONDS
"$VESSEL" start deb > "$T/start1.out" 2>&1
rc=$?
check "vessel start deb: exit 0 ($(cat "$T/start1.out"))" '[ $rc = 0 ]'
until_ok 'case $(state) in running|crashed) true ;; *) false ;; esac' 60
pid1=$(list_pid)
# Right away, while the guest boots: the filter is on once the control
# socket answers (docs/sandbox.md), so "running" means it is set.
states=$(filter_states "$pid1")
booting=no; logged_in "$off" || booting=yes
check "while Debian boots (booting: $booting), every thread of VM process $pid1 has Seccomp: 2 and NoNewPrivs: 1 (got $states)" \
    '[ "$states" = "2 1;" ]'
check "GET /vms/deb says \"sandbox\":true" '[ "$(field "$(api GET /vms/deb)" sandbox)" = True ]'
until_ok 'logged_in $off || [ "$(state)" = crashed ]' "$BOOT_TMO"
boot1_s=$((SECONDS - boot0))
check "systemd reaches multi-user: the login prompt in console.log (${boot1_s} s)" 'logged_in $off'
# Everything after needs a booted guest.
no_boot() {
    { field "$(api GET /vms/deb)" error; tail -n 1 "$B/run/vessel.log"; } 2>&1 | sed 's/^/#   /'
    finish; exit 1
}
logged_in $off || no_boot
boot1_off=$off   # multi-user.target is checked at the stop (section 5)

# ---- 3. the console ------------------------------------------------------------
TOKEN1=t1-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
console attach <<EOF
send \r
expect $PROMPT 60
send $QUIET; echo \$((6*7))x\$(cat /etc/hostname) > /root/boot1.txt; echo $TOKEN1 >> /root/boot1.txt; sync; cat /root/boot1.txt | tr '\\\\n' +; $LOUD\r
expect 42xvessel-debian\+$TOKEN1\+ 60
send \x01x
exit 0 20
EOF
rc=$?
check "vessel console deb: the guest's shell runs a command and answers (42xvessel-debian)" '[ $rc = 0 ]'
[ $rc = 0 ] || tail -n 20 "$T/attach.con" | sed 's/^/#   /'
check "C-a x detaches (vessel exits 0) and the VM runs on, same process" \
    '[ $rc = 0 ] && [ "$(state)" = running ] && [ "$(list_pid)" = "$pid1" ]'

# ---- 4. pause and resume -----------------------------------------------------
"$VESSEL" pause deb > "$T/pause.out" 2>&1
check "vessel pause deb: paused ($(cat "$T/pause.out"))" '[ "$(state)" = paused ]'
a=$(field "$(api GET /vms/deb)" instructions 2>/dev/null)
b=$(field "$(api GET /vms/deb)" instructions 2>/dev/null)
check "paused: no guest instruction retired ($a, $b)" '[ -n "$a" ] && [ "$a" != None ] && [ "$a" = "$b" ]'
check "vessel list shows it paused" '"$VESSEL" list | grep -Eq "^deb +paused "'
"$VESSEL" resume deb > "$T/resume.out" 2>&1
check "vessel resume deb: running ($(cat "$T/resume.out"))" '[ "$(state)" = running ]'
console resumed <<EOF
send \r
expect $PROMPT 60
send echo \$((7*6))r\$(cat /proc/sys/kernel/random/boot_id | cut -c1-8)\r
expect 42r[0-9a-f]{8} 60
send \x01x
exit 0 20
EOF
rc=$?
check "after resume the guest answers on the console" '[ $rc = 0 ]'
[ $rc = 0 ] || tail -n 20 "$T/resumed.con" | sed 's/^/#   /'
check "events: paused, resumed" 'until_ok "event_seen paused && event_seen resumed" 10'

# ---- 5. graceful stop ----------------------------------------------------------
off=$(clog_size)
nev=$(wc -l < "$T/events")
stop0=$SECONDS
"$VESSEL" stop deb --timeout $STOP_TMO > "$T/stop1.out" 2>&1
rc=$?
stop_s=$((SECONDS - stop0))
echo "# vessel stop (power button to powered off): $stop_s s"
check "vessel stop deb: exit 0, stopped ($(cat "$T/stop1.out"))" '[ $rc = 0 ] && [ "$(state)" = stopped ]'
check "the guest's systemd shut down in order: poweroff.target, then \"reboot: Power down\"" \
    'clog_from $off | grep -q "Reached target.*poweroff.target" &&
     clog_from $off | grep -q "systemd-shutdown\[1\]: Powering off" &&
     clog_from $off | grep -q "reboot: Power down"'
# systemd prints "Reached target multi-user.target" only while nothing
# else has the console: when a slow unit (dbus under load) holds the
# target back until after the autologin shell took ttyS0, the line is
# never printed.  Stopping the target at shutdown shows it was reached.
check "console.log: systemd reached multi-user.target (or stopped it, so it had)" \
    'clog_from $boot1_off | grep -Eq "(Reached|Stopped) target.*multi-user.target"'
until_ok 'event_seen stopped "" $nev' 10
detail=$(event_detail stopped "$nev")
echo "# stopped: $detail"
check "the daemon's event: exit status 0 while the guest shut down at the power button, before the ${STOP_TMO} s timeout" \
    '[[ "$detail" == "exited with status 0 "*" while the guest shut down at the power button" ]] &&
     [ "$stop_s" -lt "$STOP_TMO" ]'
check "no process left for deb, no pidfile" '[ ! -e "$B/run/vm.pid" ] && ! kill -0 "$pid1" 2>/dev/null'

# ---- 6. crash and restart; the disk afterwards -------------------------------
off=$(clog_size)
nev=$(wc -l < "$T/events")
boot0=$SECONDS
"$VESSEL" start deb > "$T/start2.out" 2>&1
until_ok 'logged_in $off || [ "$(state)" = crashed ]' "$BOOT_TMO"
boot2_s=$((SECONDS - boot0))
check "started again: multi-user (${boot2_s} s)" 'logged_in $off'
logged_in $off || no_boot
TOKEN2=t2-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
console crash <<EOF
send \r
expect $PROMPT 60
send $QUIET; echo $TOKEN2 > /root/crash.txt && sync && echo synced-\$(cat /root/crash.txt); $LOUD\r
expect synced-$TOKEN2 60
send \x01x
exit 0 20
EOF
rc=$?
check "a file written and synced before the crash" '[ $rc = 0 ]'
pid2=$(list_pid)
off=$(clog_size)
kill -9 "$pid2"
# State and pid from one answer: two requests could straddle the exit.
restarted() {
    api GET /vms/deb | cut -d" " -f2- | python3 -c 'import json,sys
v = json.load(sys.stdin)
sys.exit(not (v["state"] == "running" and v["pid"] not in (None, int(sys.argv[1]))))' "$1"
}
check "kill -9 of VM process $pid2 (from GET /vms): on-failure brings up a new process" \
    'until_ok "restarted $pid2" 60'
check "events: crashed (killed by signal 9), then restarted" \
    'until_ok "event_seen crashed \"killed by signal 9\" $nev && event_seen restarted \"\" $nev" 10'
check "GET /vms/deb: restarts 1" '[ "$(field "$(api GET /vms/deb)" restarts)" = 1 ]'
boot0=$SECONDS
until_ok 'logged_in $off || [ "$(state)" = crashed ]' "$BOOT_TMO"
boot3_s=$((SECONDS - boot0))
check "the restarted VM reaches multi-user (${boot3_s} s)" 'logged_in $off'
logged_in $off || no_boot
console after <<EOF
send \r
expect $PROMPT 60
send $QUIET; echo files: \$(cat /root/crash.txt /root/boot1.txt | tr '\\\\n' +); $LOUD\r
expect files: $TOKEN2\+42xvessel-debian\+$TOKEN1\+ 60
send \x01x
exit 0 20
EOF
rc=$?
check "after the crash: the synced file and the one from the first boot are there" '[ $rc = 0 ]'
[ $rc = 0 ] || tail -n 20 "$T/after.con" | sed 's/^/#   /'
off=$(clog_size)
"$VESSEL" stop deb --timeout $STOP_TMO > "$T/stop2.out" 2>&1
rc=$?
check "vessel stop deb after the restart: graceful again, stopped" \
    '[ $rc = 0 ] && [ "$(state)" = stopped ] && clog_from $off | grep -q "reboot: Power down"'
"$VESSEL" img check "$B/root.qcow2" > "$T/check.out" 2>&1
rc=$?
check "the overlay passes vessel img check (exit $rc)" '[ $rc = 0 ]'
[ $rc = 0 ] || sed 's/^/#   /' "$T/check.out"
"$VESSEL" img convert --backing-dir "$ROOTFS_DIR" -O raw "$B/root.qcow2" "$T/root.raw" \
    > "$T/convert.out" 2>&1
rc=$?
# debian.raw has no partition table: the ext4 file system is the device.
e2fsck -fn "$T/root.raw" > "$T/e2fsck.out" 2>&1
erc=$?
check "the root file system (overlay converted to raw) passes e2fsck -fn (convert $rc, e2fsck $erc)" \
    '[ $rc = 0 ] && [ $erc = 0 ]'
[ $erc = 0 ] || tail -n 15 "$T/e2fsck.out" "$T/convert.out" | sed 's/^/#   /'
rm -f "$T/root.raw"

kill "$DPID"
wait "$DPID"
rc=$?
DPID=
check "SIGTERM ends the daemon (exit status $rc)" '[ $rc = 0 ]'
echo "# boots: ${boot1_s} s, ${boot2_s} s, ${boot3_s} s (to the login prompt); suite: $((SECONDS - T0)) s"
finish
