#!/bin/bash
# Debian boot benchmark: the Debian trixie riscv64 image (scripts/build-rootfs.sh,
# docs/rootfs.md) booted with systemd to its console's login prompt, under
# Vessel and under qemu-system-riscv64 with the same kernel, initrd,
# firmware, memory, harts and devices (the qcow2 image as virtio-blk, its
# writes thrown away; a virtio RNG), in the same run.  Timed from the VMM's
# start to the prompt (tests/system/console.py's `mark`), best of RUNS; a
# run that does not reach the prompt fails the script.  The guest is then
# killed: what is measured ends at the prompt.
#
# usage: bench/boot/debian.sh [runs] [cpus]   (best of `runs`, default 1; 2 harts)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-1}
CPUS=${2:-2}
TMO=900   # seconds to the prompt before a run counts as failed
command -v qemu-system-riscv64 > /dev/null || { echo "debian.sh: qemu-system-riscv64 not installed (scripts/install-deps.sh)" >&2; exit 2; }
make -s build/release/vessel > /dev/null
eval "$(scripts/fetch-guest.sh --quiet)"
eval "$(scripts/build-rootfs.sh --quiet)"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
APPEND="root=/dev/vda rw console=ttyS0"

# Seconds from the VMM's start to the login prompt, for the command given.
to_prompt() {
    rm -rf "$T/out"
    printf 'expect %d vessel-debian login:\nmark login\nkill\n' "$TMO" |
        python3 tests/system/console.py --log "$T/console.log" --out "$T/out" \
            --timeout $((TMO + 60)) -- "$@" 2> "$T/err" ||
        { tail -n 30 "$T/console.log" "$T/err" >&2; echo "debian.sh: no login prompt: $1" >&2; return 1; }
    awk '$1 == "login" { print $2 }' "$T/out/times"
}

best_of() {
    local best=999999 t
    for _ in $(seq "$RUNS"); do
        t=$(to_prompt "$@")
        (( $(echo "$t < $best" | bc -l) )) && best=$t
    done
    echo "$best"
}

tv=$(best_of build/release/vessel run -m 1G --cpus "$CPUS" --firmware "$FIRMWARE" \
    --kernel "$ROOTFS_KERNEL" --initrd "$ROOTFS_INITRD" --append "$APPEND" --console uart \
    --disk "$ROOTFS_QCOW2,format=qcow2,snapshot=on")
tq=$(best_of qemu-system-riscv64 -machine virt -m 1G -smp "$CPUS" -bios "$FIRMWARE" \
    -kernel "$ROOTFS_KERNEL" -initrd "$ROOTFS_INITRD" -append "$APPEND" -nographic \
    -drive "file=$ROOTFS_QCOW2,format=qcow2,if=none,id=d0,snapshot=on" \
    -device virtio-blk-device,drive=d0 -device virtio-rng-device)
printf 'Debian (systemd) to the login prompt, %d harts, best of %d\n' "$CPUS" "$RUNS"
printf 'vessel: %.1f s\nqemu:   %.1f s\n' "$tv" "$tq"
printf 'vessel/qemu time: %.2fx\n' "$(echo "$tv / $tq" | bc -l)"
