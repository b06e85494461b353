#!/bin/bash
# System tests of format probing and the backing-file rule (docs/block.md
# "Format probing", "Backing files"), with the busybox guest:
#  - a guest writes a qcow2 header naming a host file as its backing file
#    into /dev/vda, a raw disk given without format=: the write is refused
#    (an I/O error in the guest, the file unchanged); at the next start the
#    disk is still raw and the guest cannot read the host file (which lies
#    in the disk's own directory: only the guard stands in the way);
#    opening the disk warned that format=raw should be given; the same
#    write to an explicit format=raw disk goes through;
#  - the host plants such a header (so the guard cannot help): the backing
#    file lies outside the disk's directory and `vessel run` refuses the
#    disk, naming the image, the backing file and backing-dir=; with
#    backing-dir= the chain opens; a FIFO as backing file is refused at
#    once instead of hanging.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi
sha() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$T/vm" "$T/host"
token="HOST-SECRET-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# A host file that must stay out of the guest's reach: 1 MiB, the token first.
secret() { { printf '%s\n' "$token"; head -c 1M /dev/zero; } | head -c 1M > "$1"; }
secret "$T/vm/secret.raw"
secret "$T/host/secret.raw"
# The raw disk: a marker in its first sector, the guest's data.
disk() { { printf 'VESSEL-RAW-DISK\n'; head -c 4M /dev/zero; } | head -c 4M > "$1"; }
# A qcow2 image of 4 KiB clusters (16 KiB in all: header, refcount table,
# refcount block, L1 table) naming $2 as its raw backing file.
header() {
    rm -f "$1"
    "$VESSEL" img create -q -f qcow2 -o cluster_size=4096 -b "$2" -F raw "$1" 1M > /dev/null
}

# ---- 1: the guest writes the header, the guard refuses it ----
disk "$T/vm/disk.raw"
disk "$T/vm/explicit.raw"
header "$T/hdr.qcow2" "$T/vm/secret.raw"
# The guest gets the header bytes on a second disk (it could as well have
# made them itself).
{ cat "$T/hdr.qcow2"; head -c 64K /dev/zero; } | head -c 64K > "$T/payload.raw"
disk_sha=$(sha "$T/vm/disk.raw")
DISKS="--disk $T/vm/disk.raw --disk $T/payload.raw,format=raw,readonly=on --disk $T/vm/explicit.raw,format=raw"
guest_run "$T/w" "$DISKS" '
if dd if=/dev/vdb of=/dev/vda bs=4096 count=4 conv=fsync 2>/dev/null; then echo vda-write-accepted; else echo vda-write-refused; fi
if dd if=/dev/vdb of=/dev/vdc bs=4096 count=4 conv=fsync 2>/dev/null; then echo vdc-write-accepted; else echo vdc-write-refused; fi
echo 3 > /proc/sys/vm/drop_caches
echo vda-head=$(head -c 15 /dev/vda)'
rc=$?
out=$(cmd_output "$T/w")
check "guest write: the guest powers off (exit $rc)" '[ $rc -eq 0 ]'
check "guest write: the header write to the probed raw disk fails in the guest" \
    'echo "$out" | grep -qx vda-write-refused'
check "guest write: the disk file is unchanged" '[ "$(sha "$T/vm/disk.raw")" = "$disk_sha" ]'
check "guest write: the guest still sees its raw data" 'echo "$out" | grep -qx "vda-head=VESSEL-RAW-DISK"'
check "guest write: opening the probed disk warned to give format=raw, naming it" \
    'grep "probed as raw" "$T/w" | grep -q "$T/vm/disk.raw.*format=raw"'
check "guest write: one warning, none for the format=raw disks" \
    '[ "$(grep -c "probed as raw" "$T/w")" = 1 ]'
check "guest write: an explicit format=raw disk takes the header" \
    'echo "$out" | grep -qx vdc-write-accepted && [ "$(head -c 4 "$T/vm/explicit.raw" | od -An -tx1 | tr -d " ")" = 514649fb ]'
[ $rc -eq 0 ] || tail -20 "$T/w"

# Next start, same command line: still a raw disk, no secret.
guest_run "$T/r" "$DISKS" 'echo vda-head=$(head -c 64 /dev/vda | head -n 1)'
rc=$?
out=$(cmd_output "$T/r")
check "next start: the guest boots (exit $rc)" '[ $rc -eq 0 ]'
check "next start: /dev/vda is still the raw disk" 'echo "$out" | grep -qx "vda-head=VESSEL-RAW-DISK"'
check "next start: the guest cannot read the host file" '! grep -q "$token" "$T/r"'
[ $rc -eq 0 ] || tail -20 "$T/r"

# ---- 2: the host plants the header: the backing-file rule refuses it ----
disk "$T/vm/planted.raw"
header "$T/hdr2.qcow2" "$T/host/secret.raw"
dd if="$T/hdr2.qcow2" of="$T/vm/planted.raw" conv=notrunc status=none
planted_sha=$(sha "$T/vm/planted.raw")
guest_run "$T/p" "--disk $T/vm/planted.raw" 'echo vda-head=$(head -c 64 /dev/vda | head -n 1)'
rc=$?
check "planted header: vessel refuses the disk (exit $rc)" '[ $rc -eq 1 ]'
check "planted header: the guest never read the host file" '! grep -q "$token" "$T/p"'
check "planted header: the error names the image, the backing file and backing-dir=" \
    'grep "planted.raw" "$T/p" | grep "$T/host/secret.raw" | grep -q "backing-dir="'
check "planted header: the image is unchanged" '[ "$(sha "$T/vm/planted.raw")" = "$planted_sha" ]'
[ $rc -eq 1 ] || tail -20 "$T/p"

# The user allows the directory: the chain opens (and the header does what
# it says, so the refusal above is what kept the file out).
guest_run "$T/a" "--disk $T/vm/planted.raw,format=qcow2,readonly=on,backing-dir=$T/host" \
    'echo vda-head=$(head -c 64 /dev/vda | head -n 1)'
rc=$?
check "backing-dir= allows the directory: the guest reads the backing file (exit $rc)" \
    '[ $rc -eq 0 ] && cmd_output "$T/a" | grep -qx "vda-head=$token"'
[ $rc -eq 0 ] || tail -20 "$T/a"

# A FIFO as backing file, in the disk's own directory: refused, no hang.
disk "$T/vm/fifo.raw"
header "$T/hdr3.qcow2" "$T/vm/secret.raw"
dd if="$T/hdr3.qcow2" of="$T/vm/fifo.raw" conv=notrunc status=none
rm "$T/vm/secret.raw"; mkfifo "$T/vm/secret.raw"
timeout 60 "$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" --disk "$T/vm/fifo.raw" \
    --append "console=ttyS0 quiet vessel.cmd=$(echo true | base64 -w0)" < /dev/null > "$T/f" 2>&1
rc=$?
check "FIFO backing file: refused at once, no hang (exit $rc)" \
    '[ $rc -eq 1 ] && grep -q "FIFO" "$T/f"'
[ $rc -eq 1 ] || tail -5 "$T/f"
finish
