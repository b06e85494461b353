#!/bin/bash
# Image locking against QEMU (TAP): Vessel and qemu-io/qemu-img exclude
# each other on one image through QEMU's byte-range lock protocol, in both
# directions; every writing `vessel img` command refuses an image in use
# and leaves it unchanged; read-only ones warn and work, or stay quiet
# with -U.  A process holds an image for as long as the test needs: qemu-io
# reading commands from a FIFO, or `vessel run` with a guest that idles in
# WFI; the test waits (bounded) until /proc shows the locks.
. "$(dirname "$0")/lib.sh"
if ! have_qemu; then echo "ok 1 - # SKIP qemu-img/qemu-io not installed"; exit 0; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
V=$VESSEL_ASAN
QPID=""; VPID=""
cleanup() { # only the processes this script started
    [ -n "$QPID" ] && kill "$QPID" 2>/dev/null
    [ -n "$VPID" ] && kill "$VPID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

# Bare-metal guests of a few instructions: "idle" sleeps in WFI for ever
# (no interrupt is enabled), "exit" powers off through the syscon finisher.
mkelf() { # FILE idle|exit
    python3 - "$1" "$2" <<'EOF'
import struct, sys
code = {"idle": [0x10500073, 0xffdff06f],              # wfi; j .-4
        "exit": [0x001002b7, 0x00005337, 0x55530313,   # t0=0x100000 t1=0x5555
                 0x0062a023, 0x0000006f]}[sys.argv[2]] # sw t1,0(t0); j .
text = b"".join(struct.pack("<I", w) for w in code)
base = 0x80000000
eh = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9),
                 2, 243, 1, base, 64, 0, 0, 64, 56, 1, 0, 0, 0)
ph = struct.pack("<IIQQQQQQ", 1, 5, 120, base, base, len(text), len(text), 4)
open(sys.argv[1], "wb").write(eh + ph + text)
EOF
}
mkelf "$T/idle.elf" idle; mkelf "$T/exit.elf" exit

locks_of() { # PID FILE: "start end" of each lock PID holds on FILE
    local ino; ino=$(stat -L -c %i "$2")
    cat /proc/"$1"/fdinfo/* 2>/dev/null |
        awk -v ino="$ino" '$1 == "lock:" { n = split($7, d, ":");
                                          if (d[n] == ino) print $8, $9 }' | sort -n
}
wait_locked() { # PID FILE: until PID holds a lock on FILE (10 s at most)
    for _ in $(seq 200); do
        kill -0 "$1" 2>/dev/null || return 1
        [ -n "$(locks_of "$1" "$2")" ] && return 0
        sleep 0.05
    done
    return 1
}
hold_qemu() { # FILE QEMU-IO-ARGS...: qemu-io keeps FILE open until release_qemu
    local f=$1; shift
    rm -f "$T/q.fifo"; mkfifo "$T/q.fifo"
    qemu-io "$@" "$f" < "$T/q.fifo" > "$T/q.log" 2>&1 &
    QPID=$!
    exec 7<> "$T/q.fifo"    # read-write: never blocks, even if qemu-io died
    wait_locked "$QPID" "$f" || { echo "# qemu-io did not lock $f"; cat "$T/q.log"; }
}
release_qemu() { exec 7>&-; wait "$QPID"; QPID=""; }
hold_vessel() { # DISK-SPEC: an idle guest holds the disk until release_vessel
    "$VESSEL" run --bios "$T/idle.elf" --disk "$1" < /dev/null > "$T/vm.log" 2>&1 &
    VPID=$!
    wait_locked "$VPID" "${1%%,*}" || { echo "# vessel did not lock $1"; cat "$T/vm.log"; }
}
release_vessel() { kill "$VPID"; wait "$VPID" 2>/dev/null; VPID=""; }

sum() { md5sum < "$1"; }
# refused NAME PATTERN FILE... -- CMD...: exit status 1, stderr matches
# PATTERN, every FILE unchanged
refused() {
    local name=$1 pat=$2; shift 2
    local files=() sums=()
    while [ "$1" != -- ]; do files+=("$1"); sums+=("$(sum "$1")"); shift; done
    shift
    "$@" > "$T/out" 2> "$T/err"; local rc=$? same=1 i
    for i in "${!files[@]}"; do [ "$(sum "${files[$i]}")" = "${sums[$i]}" ] || same=0; done
    if [ $rc -eq 1 ] && grep -q -- "$pat" "$T/err" && [ $same = 1 ] &&
       ! grep -qiE 'sanitizer|runtime error' "$T/err"; then ok "$name"
    else not_ok "$name (exit $rc, unchanged=$same)"; sed 's/^/# /' "$T/err" | head -n 6; fi
}
# works NAME WARN|QUIET CMD...: exit status 0; with WARN stderr says the
# data may be changing, with QUIET stderr says nothing
works() {
    local name=$1 mode=$2; shift 2
    "$@" > "$T/out" 2> "$T/err"; local rc=$? good=0
    if [ $mode = WARN ]; then grep -q "may be changing" "$T/err" && good=1
    else [ -s "$T/err" ] || good=1; fi
    if [ $rc -eq 0 ] && [ $good = 1 ]; then ok "$name"
    else not_ok "$name (exit $rc)"; sed 's/^/# /' "$T/err" | head -n 6; fi
}

cd "$T" || exit 1
qemu-img create -q -f qcow2 base.qcow2 4M
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 a.qcow2 4M
qemu-io -c "write -P 0x5a 0 64k" a.qcow2 > /dev/null
qemu-img snapshot -c snap0 a.qcow2
qemu-img create -q -f qcow2 src.qcow2 4M
qemu-img create -q -f qcow2 new.qcow2 4M
truncate -s 4M r.raw

# ---- 1. qemu-io has a.qcow2 open read-write ----
hold_qemu a.qcow2 -f qcow2
LOCKED="locked by another process (pid $QPID, qemu-io)"
refused "vessel run refuses a disk qemu-io writes; the message names qemu-io and the permission" \
    "$LOCKED, which does not share \"write\"" a.qcow2 -- \
    "$VESSEL" run --bios "$T/exit.elf" --disk a.qcow2
refused "vessel run refuses it read-only too (a writer is using it)" \
    "$LOCKED, which holds \"write\"" a.qcow2 -- \
    "$VESSEL" run --bios "$T/exit.elf" --disk a.qcow2,readonly=on
refused "vessel run refuses it with snapshot=on" "$LOCKED" a.qcow2 -- \
    "$VESSEL" run --bios "$T/exit.elf" --disk a.qcow2,snapshot=on
refused "img create onto it is refused" "$LOCKED" a.qcow2 -- $V img create -f qcow2 a.qcow2 1M
refused "img convert onto it is refused" "$LOCKED" a.qcow2 -- $V img convert -O qcow2 src.qcow2 a.qcow2
refused "img snapshot -c is refused" "$LOCKED" a.qcow2 -- $V img snapshot -c s1 a.qcow2
refused "img snapshot -a is refused" "$LOCKED" a.qcow2 -- $V img snapshot -a snap0 a.qcow2
refused "img snapshot -d is refused" "$LOCKED" a.qcow2 -- $V img snapshot -d snap0 a.qcow2
refused "img check -r is refused" "$LOCKED" a.qcow2 -- $V img check -r all a.qcow2
refused "img resize is refused" "$LOCKED" a.qcow2 -- $V img resize a.qcow2 +1M
refused "img commit is refused" "$LOCKED" a.qcow2 base.qcow2 -- $V img commit a.qcow2
refused "img rebase is refused" "$LOCKED" a.qcow2 -- $V img rebase -b new.qcow2 a.qcow2
refused "img rebase -u is refused" "$LOCKED" a.qcow2 -- $V img rebase -u -b new.qcow2 a.qcow2
refused "img bench -w is refused" "$LOCKED" a.qcow2 -- $V img bench -w -c 1 a.qcow2
refused "img snapshot -c -U is refused (-U is for readers)" "force-share" a.qcow2 -- \
    $V img snapshot -U -c s1 a.qcow2
works "img info warns and works" WARN $V img info a.qcow2
works "img check warns and works" WARN $V img check a.qcow2
works "img snapshot -l warns and works" WARN $V img snapshot -l a.qcow2
works "img bench (read) warns and works" WARN $V img bench -c 16 a.qcow2
works "img convert reads it with a warning" WARN $V img convert -O raw a.qcow2 out.raw
works "img info -U is quiet" QUIET $V img info -U a.qcow2
works "img check -U is quiet" QUIET $V img check -U a.qcow2
works "img convert -U is quiet" QUIET $V img convert -U -O raw a.qcow2 out2.raw
release_qemu

# its backing file is what qemu-io writes: commit must not write into it
hold_qemu base.qcow2 -f qcow2
refused "img commit is refused when qemu-io writes the backing file" \
    "locked by another process (pid $QPID, qemu-io)" a.qcow2 base.qcow2 -- $V img commit a.qcow2
release_qemu
# the new backing file is being written: a safe rebase would copy a moving target
hold_qemu new.qcow2 -f qcow2
refused "img rebase onto a backing file qemu-io writes is refused" \
    "locked by another process (pid $QPID, qemu-io)" a.qcow2 new.qcow2 -- \
    $V img rebase -b new.qcow2 a.qcow2
release_qemu

# a raw image: qemu-io shares everything but still holds "write"
hold_qemu r.raw -f raw
refused "vessel run refuses a raw disk qemu-io writes" "holds \"write\"" r.raw -- \
    "$VESSEL" run --bios "$T/exit.elf" --disk r.raw,format=raw
release_qemu
check "vessel run takes the disk once qemu-io has let it go" \
    "$VESSEL" run --bios "$T/exit.elf" --disk a.qcow2

# qemu-io read-only: readers share it, writers do not
hold_qemu a.qcow2 -r -f qcow2
refused "vessel run refuses to write a disk qemu-io reads" "does not share \"write\"" a.qcow2 -- \
    "$VESSEL" run --bios "$T/exit.elf" --disk a.qcow2
check "vessel run shares a disk qemu-io reads (readonly=on)" \
    "$VESSEL" run --bios "$T/exit.elf" --disk a.qcow2,readonly=on
works "img info shares it quietly" QUIET $V img info a.qcow2
release_qemu

# ---- 2. a Vessel VM has a.qcow2 open read-write ----
hold_vessel a.qcow2
check "the VM's locks are QEMU's bytes: uses 100,101,103, refuses 201,203" \
    test "$(locks_of "$VPID" a.qcow2 | tr '\n' ' ')" = "100 101 103 103 201 201 203 203 "
check "its backing file: uses 100, refuses 201,203" \
    test "$(locks_of "$VPID" base.qcow2 | tr '\n' ' ')" = "100 100 201 201 203 203 "
refused "qemu-io cannot write it" 'Failed to get "write" lock' a.qcow2 -- qemu-io -c "write 0 512" a.qcow2
refused "qemu-io -r cannot read it" 'Failed to get shared "write" lock' a.qcow2 -- qemu-io -r -c "read 0 512" a.qcow2
refused "qemu-img info cannot open it" 'Failed to get shared "write" lock' a.qcow2 -- qemu-img info a.qcow2
refused "qemu-img snapshot -c cannot open it" 'Failed to get "write" lock' a.qcow2 -- qemu-img snapshot -c s1 a.qcow2
refused "qemu-img commit cannot write its backing file" 'lock' a.qcow2 base.qcow2 -- qemu-img commit a.qcow2
check "qemu-img info -U reads it" qemu-img info -U a.qcow2
check "qemu-io -r -U reads it" qemu-io -r -U -c "read -P 0x5a 0 64k" a.qcow2
refused "a second vessel cannot write it; the message names the first" \
    "locked by another process (pid $VPID, vessel)" a.qcow2 -- \
    "$VESSEL" run --bios "$T/exit.elf" --disk a.qcow2
refused "img snapshot -c is refused while the VM runs" "pid $VPID, vessel" a.qcow2 -- \
    $V img snapshot -c s1 a.qcow2
works "img info warns and works while the VM runs" WARN $V img info a.qcow2
release_vessel
check "qemu-io writes it once the VM has exited" qemu-io -c "write 0 512" a.qcow2

# ---- 3. a Vessel VM has it read-only ----
hold_vessel a.qcow2,readonly=on
check "the read-only VM's locks: uses 100, refuses 201,203" \
    test "$(locks_of "$VPID" a.qcow2 | tr '\n' ' ')" = "100 100 201 201 203 203 "
check "qemu-io -r shares it" qemu-io -r -c "read 0 512" a.qcow2
check "qemu-img info shares it" qemu-img info a.qcow2
refused "qemu-io cannot write it" 'Failed to get "write" lock' a.qcow2 -- qemu-io -c "write 0 512" a.qcow2
refused "img resize is refused" "pid $VPID, vessel" a.qcow2 -- $V img resize a.qcow2 +1M
works "img check shares it quietly" QUIET $V img check a.qcow2
release_vessel
finish
