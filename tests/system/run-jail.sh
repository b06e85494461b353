#!/bin/bash
# The VM process's jail (docs/sandbox.md "The jail"), TAP; needs root:
#   1. vessel run --jail DIR --jail-user U:G with a busybox initramfs guest:
#      the process runs as U:G with no groups and no capabilities under
#      the seccomp filter; in its mount namespace only DIR (writable by it),
#      the boot images and /etc/resolv.conf (read-only) and its own /proc
#      are left (checked with nsenter into that namespace as U:G: the host's
#      /etc/passwd is gone, the images cannot be written, DIR can);
#      the guest boots; a reset reloads the boot images inside the jail; a
#      snapshot lands in DIR, one outside it fails and the VM goes on;
#   2. refusals: --jail as a user, --jail-user without --jail, a bad
#      --jail-user, a FIFO planted as the console log;
#   3. vesseld as root jails each VM with an id of its own from --jail-ids
#      (GET /vms/NAME jail_uid, the process's Uid, the bundle root:ID
#      01770), a planted vm.json.tmp link is not followed, a daemon started
#      again reads the ids back, and --no-jail runs VMs as root.
# Every wait is a bounded poll on a condition.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
V=${VESSEL:-build/release/vessel}
VESSEL=$V
VESSELD=${VESSELD:-$(dirname "$V")/vesseld}
if [ "$(id -u)" != 0 ]; then ok "# SKIP the jail needs root"; finish; exit 0; fi
for t in nsenter setpriv curl; do
    command -v $t > /dev/null || { ok "# SKIP $t not installed"; finish; exit 0; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-jail.XXXXXX")
chmod 0755 "$T"
PIDS=()
DPID=
cleanup() {
    [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in $(pgrep -f -- "$T/"); do kill -9 "$p" 2>/dev/null; done
    if [ "$FAILED" -eq 0 ]; then rm -rf "$T"; else echo "# logs kept in $T"; fi
}
trap cleanup EXIT
if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi
# Copies of the boot images: a jail that let them be written would
# otherwise change the shared guest cache.
mkdir "$T/img"; cp "$KERNEL" "$INITRD" "$T/img/"; chmod 0644 "$T/img/"*
KERNEL=$T/img/$(basename "$KERNEL"); INITRD=$T/img/$(basename "$INITRD")
JU=1400000123
D=$T/bundle
mkdir -m 0700 "$D"
chown "root:$JU" "$D"; chmod 01770 "$D"

# 1. vessel run --jail
"$V" run --kernel "$KERNEL" --initrd "$INITRD" --append "console=ttyS0 quiet" -m 128M \
    --net user --api-sock "$D/api.sock" --console-log "$D/console.log" \
    --jail "$D" --jail-user "$JU:$JU" < /dev/null > "$T/run.log" 2>&1 &
VP=$!
PIDS+=("$VP")
S=$D/api.sock
check "the jailed guest boots" 'wait_for "grep -qs VESSEL-BOOT-OK \"$D/console.log\"" 300'
st() { grep "^$1:" "/proc/$VP/status" | cut -f2- | tr -s '\t ' ' ' | sed 's/ $//'; }
check "runs as the jail's uid and gid, no groups, no capabilities, under seccomp" \
    '[ "$(st Uid)" = "$JU $JU $JU $JU" ] && [ "$(st Gid)" = "$JU $JU $JU $JU" ] &&
     [ -z "$(st Groups)" ] && [ "$(st CapEff)" = 0000000000000000 ] &&
     [ "$(st CapPrm)" = 0000000000000000 ] && [ "$(st Seccomp)" = 2 ]'
check "its mount namespace is its own" \
    '[ "$(readlink /proc/$VP/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ]'
check "the host's files are gone (/etc/passwd, /usr, /home)" \
    '[ ! -e /proc/$VP/root/etc/passwd ] && [ ! -e /proc/$VP/root/usr ] &&
     [ ! -e /proc/$VP/root/home ] && [ ! -e /proc/$VP/root/bin ] &&
     [ "$(ls /proc/$VP/root/etc | tr "\n" " ")" = "resolv.conf " ]'
check "the boot images and the bundle are there at their paths" \
    '[ -f "/proc/$VP/root$KERNEL" ] && [ -f "/proc/$VP/root$INITRD" ] &&
     [ -S "/proc/$VP/root$D/api.sock" ] && [ -f "/proc/$VP/root$D/console.log" ]'
# Through /proc/PID/root, as root: read-only mounts refuse even root.
check "the boot images and the jail's root are read-only, the bundle is not" \
    '! sh -c "echo x >> /proc/$VP/root$KERNEL" 2>/dev/null &&
     ! touch "/proc/$VP/root/newfile" 2>/dev/null && [ ! -e /newfile ] &&
     touch "/proc/$VP/root$D/probe" && [ -f "$D/probe" ]'
check "the jail's user can create files in the bundle but not remove the daemon's" \
    'echo keep > "$D/vm.json" &&
     setpriv --reuid "$JU" --regid "$JU" --clear-groups sh -c "echo x > $D/mine" &&
     ! setpriv --reuid "$JU" --regid "$JU" --clear-groups sh -c "rm -f $D/vm.json; mv $D/mine $D/vm.json" 2>/dev/null &&
     [ "$(cat "$D/vm.json")" = keep ]'
check "the console log belongs to the jail's user (it rotates it)" \
    '[ "$(stat -c %u:%g "$D/console.log")" = "$JU:$JU" ]'
check "a reset reloads the boot images inside the jail" \
    '[ "$(api PUT /actions "{\"action\":\"reset\"}" | cut -d" " -f1)" = 204 ] &&
     wait_for "[ \$(grep -c VESSEL-BOOT-OK \"$D/console.log\") -ge 2 ]" 300'
check "a snapshot into the bundle works" \
    '[ "$(api PUT /snapshot/create "{\"path\":\"$D/snap\",\"type\":\"full\",\"resume\":true}" | cut -d" " -f1)" = 201 ] &&
     [ -s "$D/snap/state" ] && [ "$(stat -c %u "$D/snap/state")" = "$JU" ]'
mkdir -p "$T/outside"
check "a snapshot outside the bundle fails; the VM runs on" \
    'r=$(api PUT /snapshot/create "{\"path\":\"$T/outside/snap\",\"type\":\"full\",\"resume\":true}");
     [ "${r%% *}" != 201 ] && [ ! -e "$T/outside/snap" ] &&
     [ "$(field "$(api GET /vm)" state)" = running ]'
kill "$VP"
check "the jailed VM stops on SIGTERM" 'wait_for "[ ! -e /proc/$VP ] || grep -q \"^State:.*Z\" /proc/$VP/status" 30'

# 2. refusals
# A copy of the binary the user can run (the checkout may be private).
install -m 0755 "$V" "$T/vessel-copy"
check "--jail as a user is refused, naming root" \
    '! setpriv --reuid 65534 --regid 65534 --clear-groups "$T/vessel-copy" run --bios /nonexistent \
         --jail /tmp 2> "$T/user.err" < /dev/null; grep -q "jail.*root" "$T/user.err"'
check "--jail-user without --jail, and a bad --jail-user, are refused" \
    '! "$V" run --bios x --jail-user 5:5 2> "$T/e1" && grep -q "needs --jail" "$T/e1" &&
     ! "$V" run --bios x --jail /tmp --jail-user 0:5 2> "$T/e2" && grep -q "jail-user .0:5." "$T/e2"'
mkfifo "$T/fifo.log"
check "a FIFO as the console log is refused, not waited on" \
    '! timeout 20 "$V" run --kernel "$KERNEL" --initrd "$INITRD" -m 128M --console-log "$T/fifo.log" \
         < /dev/null 2> "$T/fifo.err"; grep -q "not a regular file" "$T/fifo.err"'

# 3. the daemon
STORE=$T/store
S=$T/vesseld.sock     # api() now talks to the daemon
BASE=1400100000
jail_daemon() { start_daemon --jail-ids "$BASE" "$@"; }
vm_json() {
    printf '{"name":"%s","memory":"128M","boot":{"kernel":"%s","initrd":"%s",' "$1" "$KERNEL" "$INITRD"
    printf '"append":"console=ttyS0 quiet"}}'
}
jail_daemon
for n in a b; do api POST /vms "$(vm_json $n)" > /dev/null; api PUT /vms/$n/state '{"action":"start"}' > /dev/null; done
juid() { field "$(api GET /vms/$1)" jail_uid 2>/dev/null; }
check "two VMs get ids of their own from --jail-ids" \
    'wait_for "[ \"\$(juid a)\" = $BASE ] && [ \"\$(juid b)\" = $((BASE + 1)) ]" 30'
pa=$(field "$(api GET /vms/a)" pid)
check "the VM process runs as that id" \
    'wait_for "grep -q \"^Uid:.$BASE.$BASE.$BASE.$BASE\$\" /proc/$pa/status" 30'
check "the bundle is root:ID, mode 1770" \
    '[ "$(stat -c %u:%g:%a "$STORE/vms/a")" = "0:$BASE:1770" ]'
check "the VM boots jailed" 'wait_for "grep -qs VESSEL-BOOT-OK \"$STORE/vms/a/console.log\"" 300'
ln -s "$T/victim" "$STORE/vms/a/vm.json.tmp"
echo keep > "$T/victim"
check "a link planted as vm.json.tmp is not followed" \
    '[ "$(api PATCH /vms/a "{\"autostart\":true}" | cut -d" " -f1)" = 200 ] &&
     [ "$(cat "$T/victim")" = keep ] && [ ! -L "$STORE/vms/a/vm.json" ] &&
     [ "$(stat -c %u "$STORE/vms/a/vm.json")" = 0 ]'
kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
jail_daemon
check "a new daemon reads the ids of the VMs it adopts" \
    'wait_for "[ \"\$(juid a)\" = $BASE ] && [ \"\$(juid b)\" = $((BASE + 1)) ]" 30'
for n in a b; do api PUT /vms/$n/state '{"action":"kill"}' > /dev/null; done
check "killed VMs hold no id" 'wait_for "[ \"\$(juid a)\" = None ] && [ \"\$(juid b)\" = None ]" 30'
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
jail_daemon --no-jail
api PUT /vms/a/state '{"action":"start"}' > /dev/null
check "--no-jail: the VM runs as root, jail_uid null" \
    'wait_for "[ \"\$(field \"\$(api GET /vms/a)\" state)\" = running ]" 30 &&
     [ "$(juid a)" = None ] && p=$(field "$(api GET /vms/a)" pid) &&
     grep -q "^Uid:.0.0.0.0$" /proc/$p/status'
api PUT /vms/a/state '{"action":"kill"}' > /dev/null
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
finish
