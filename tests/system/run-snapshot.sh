#!/bin/bash
# Snapshots of a Linux guest with a writable disk (docs/snapshot.md), TAP.
# The busybox guest runs a long deterministic program: a chain of SHA-256
# hashes, each step printed to the console and appended to a file on an
# ext4 filesystem on a writable qcow2 disk.  While it runs: many pauses and
# resumes, and full snapshots at 5 random steps.  Then the VM is killed
# and every snapshot is restored in a new process (two of them at once,
# each with its own --disk-overlay): each finishes the program with the
# result the host computes for an uninterrupted run, and its disk passes
# e2fsck and holds every step exactly once.  Every wait is a bounded poll
# on a condition.
. "$(dirname "$0")/lib.sh"
V=${VESSEL:-build/release/vessel}
STEPS=${SNAP_TEST_STEPS:-1000}
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-snaptest.XXXXXX")
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
for t in curl mkfs.ext4 e2fsck debugfs; do
    command -v "$t" > /dev/null || { echo "ok 1 - # SKIP $t not installed"; exit 0; }
done
guest_artifacts

S="$T/api.sock"
status() { echo "${1%% *}"; }
instructions() {
    python3 -c 'import json,sys; print(json.loads(sys.argv[1].split(" ", 1)[1])["instructions"])' \
        "$(api GET /vm)" 2> /dev/null
}
# The path of disk 0 as GET /vm reports it (the image the VM writes now).
disk_path() {
    python3 -c 'import json,sys
d = json.loads(sys.argv[1].split(" ", 1)[1])
print([x for x in d["devices"] if x.get("type") == "virtio-blk"][0]["path"])' "$(api GET /vm)"
}
# The last step the guest has printed, 0 before the first.
last_step() { tr -d '\r' < "$1" 2>/dev/null | grep -a '^step ' | tail -n1 | cut -d' ' -f2 | grep -E '^[0-9]+$' || echo 0; }

# The program.  It resumes from the file, so a restore needs no new
# command line; the file is synced at each step only by the guest's own
# page cache policy: what the disk holds must match the memory image.
PROG="mount -t ext4 /dev/vda /mnt || exit 1
h=vessel; i=0
while [ \$i -lt $STEPS ]; do
  i=\$((i+1)); h=\$(echo \"\$h\$i\" | sha256sum | cut -c1-64)
  echo \"\$i \$h\" >> /mnt/progress; echo \"step \$i\"
done
echo \"RESULT \$h\"; umount /mnt && echo UMOUNTED"
want=$(python3 -c 'import hashlib,sys
h = "vessel"
for i in range(1, int(sys.argv[1]) + 1):
    h = hashlib.sha256((h + str(i) + "\n").encode()).hexdigest()
print(h)' "$STEPS")
B64=$(printf '%s\n' "$PROG" | base64 -w0)
VM=("$V" run -m 256M --kernel "$KERNEL" --initrd "$INITRD"
    --append "console=ttyS0 quiet vessel.cmd=$B64")

truncate -s 64M "$T/fs.img" && mkfs.ext4 -q -F "$T/fs.img" &&
    "$V" img convert -O qcow2 "$T/fs.img" "$T/data.qcow2" && rm -f "$T/fs.img"
check "a writable qcow2 data disk with ext4" '[ -f "$T/data.qcow2" ]'

"${VM[@]}" --disk "$T/data.qcow2" --api-sock "$S" < /dev/null > "$T/orig" 2>&1 &
PIDS+=($!); ORIG=$!
check "the program starts" 'wait_for "[ \$(last_step $T/orig) -ge 1 ]" 300'

# Pauses and resumes: the guest retires nothing while paused.
pr_ok=1
for _ in $(seq 20); do
    [ "$(status "$(api PATCH /vm '{"state":"paused"}')")" = 204 ] || pr_ok=0
    a=$(instructions); b=$(instructions)
    [ -n "$a" ] && [ "$a" = "$b" ] || pr_ok=0
    [ "$(status "$(api PATCH /vm '{"state":"running"}')")" = 204 ] || pr_ok=0
done
check "20 pauses and resumes, nothing retired while paused" '[ $pr_ok = 1 ]'

# Five snapshots at random steps, in order.  The VM is paused as soon as
# the step is seen, before anything slower (the disk's path, the snapshot):
# the guest keeps stepping while the host polls, and a loaded host must
# not let it run to the end first.  The steps stay a tenth of the run
# clear of the end for the same reason.
mapfile -t AT < <(python3 -c 'import random,sys
n = int(sys.argv[1]); s = sorted(random.sample(range(5, n - n // 10), 5)); print(*s, sep="\n")' "$STEPS")
echo "# snapshots after steps ${AT[*]}"
FROZEN=()
snap_ok=1
for j in 0 1 2 3 4; do
    wait_for "[ \$(last_step $T/orig) -ge ${AT[$j]} ]" 300 || { snap_ok=0; break; }
    r=$(api PATCH /vm '{"state":"paused"}')
    [ "$(status "$r")" = 204 ] || { echo "# pause $j: $r"; snap_ok=0; break; }
    echo "# snapshot $j at step $(last_step "$T/orig")"
    FROZEN+=("$(disk_path)")
    r=$(api PUT /snapshot/create "{\"path\":\"$T/snap$j\"}")
    [ "$(status "$r")" = 201 ] || { echo "# snapshot $j: $r"; snap_ok=0; break; }
    r=$(api PATCH /vm '{"state":"running"}')
    [ "$(status "$r")" = 204 ] || { echo "# resume $j: $r"; snap_ok=0; break; }
done
NOW=$(disk_path 2> /dev/null)
check "5 snapshots taken while the program runs" '[ $snap_ok = 1 ]'
check "the VM writes to a new overlay after each snapshot" \
    '[ -n "$NOW" ] && [ "$NOW" != "${FROZEN[4]}" ] && [ "${FROZEN[0]}" = "$T/data.qcow2" ] &&
     [ "$(printf "%s\n" "${FROZEN[@]}" "$NOW" | sort -u | wc -l)" = 6 ]'
check "the original run finishes with the expected result" \
    'wait_for "grep -q UMOUNTED $T/orig" 600 && grep -qx "RESULT $want" <(tr -d "\r" < "$T/orig")'
kill -9 "$ORIG" 2>/dev/null; wait "$ORIG" 2>/dev/null

# Check a finished disk: e2fsck clean, steps 1..STEPS each once, in order.
disk_ok() { # QCOW2
    local raw="$1.raw"
    "$V" img convert -O raw "$1" "$raw" > /dev/null 2>&1 || return 1
    e2fsck -fn "$raw" > "$1.fsck" 2>&1 || { cat "$1.fsck" | sed 's/^/# /'; return 1; }
    debugfs -R "cat /progress" "$raw" 2> /dev/null | python3 -c 'import hashlib,sys
h = "vessel"; lines = sys.stdin.read().splitlines(); n = int(sys.argv[1])
assert len(lines) == n, len(lines)
for i in range(1, n + 1):
    h = hashlib.sha256((h + str(i) + "\n").encode()).hexdigest()
    assert lines[i - 1] == "%d %s" % (i, h), (i, lines[i - 1])' "$STEPS"
}

sums() { for f in "${FROZEN[@]}"; do sha256sum "$f"; done; }
before=$(sums)

# Restore each snapshot in a new process; 0 and 1 at once.
restore() { # J -> runs to the end; output in $T/r$J
    "${VM[@]}" --disk "${FROZEN[$1]}" --disk-overlay "$T/r$1.qcow2" --restore "$T/snap$1" \
        < /dev/null > "$T/r$1" 2>&1
}
restore 0 & p0=$!; PIDS+=($p0)
restore 1 & p1=$!; PIDS+=($p1)
wait $p0; s0=$?; wait $p1; s1=$?
check "snapshots 0 and 1 restored at once: both exit 0" '[ $s0 = 0 ] && [ $s1 = 0 ]'
for j in 2 3 4; do restore $j; eval "s$j=$?"; done
for j in 0 1 2 3 4; do
    check "restore $j (after step ${AT[$j]}): continues from there, not from the start" \
        '[ "$(tr -d "\r" < "$T/r$j" | grep -a "^step " | head -n1 | cut -d" " -f2)" -gt "${AT[$j]}" ]'
    check "restore $j: the uninterrupted run's result" \
        '[ "$(eval echo \$s$j)" = 0 ] && grep -qx "RESULT $want" <(tr -d "\r" < "$T/r$j")'
    check "restore $j: its disk passes e2fsck and holds every step once" 'disk_ok "$T/r$j.qcow2"'
done
check "the frozen images are unchanged by the restores" '[ "$(sums)" = "$before" ]'
finish
