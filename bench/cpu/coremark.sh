#!/bin/bash
# CoreMark 1.0 in the Linux guest, Vessel against qemu-system-riscv64,
# with native CoreMark on this host as the ceiling.
#
# CoreMark's sources are EEMBC's (Apache-2.0) and not part of this
# project: clone them (https://github.com/eembc/coremark) and pass the
# directory.  Its six portable files (coremark.h, core_main.c,
# core_list_join.c, core_matrix.c, core_state.c, core_util.c) are built
# with Debian's riscv64 cross-compiler, -O2, static, against Vessel's port
# layer (bench/cpu/coremark/: clock_gettime timing, seeds from the command
# line, the data block from malloc), and added to the busybox guest's
# initramfs (scripts/fetch-guest.sh).  The same sources are built for the
# host with gcc -O2 -static.
#
# Each run is the 2K performance run (seeds 0 0 0x66) for ITERATIONS
# iterations, timed on the host from the console line the guest prints
# before it to the one after it (boot not counted; CoreMark's own figure,
# from the guest's clock, is shown beside it).  A run whose CoreMark does
# not report "Correct operation validated" (right CRCs, at least 10 s)
# fails the script.  RUNS rounds, each a Vessel run, a QEMU run and a
# native run one after the other, so that a host slowed down for a while
# (a shared machine) weighs on all three alike; best of RUNS for each, and
# each round's own Vessel/QEMU ratio with their median.  Issue 17's
# targets: at least twice QEMU's iterations per second, and at least a
# third of native's.
#
# usage: bench/cpu/coremark.sh COREMARK_DIR [runs] [iterations] [native-iterations]
#        (defaults: 1 run, 240000 iterations in the guests, 600000 native:
#        CoreMark counts a run valid only from 10 s on)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { echo "usage: bench/cpu/coremark.sh COREMARK_DIR [runs] [iterations] [native-iterations]" >&2; exit 2; }
SRC=$1
RUNS=${2:-1}
ITER=${3:-240000}
NITER=${4:-600000}
FILES="coremark.h core_main.c core_list_join.c core_matrix.c core_state.c core_util.c"
for f in $FILES; do
    [ -f "$SRC/$f" ] || { echo "coremark.sh: $SRC/$f not found: COREMARK_DIR must be a checkout of EEMBC's CoreMark (it holds $FILES)" >&2; exit 2; }
done
command -v riscv64-linux-gnu-gcc > /dev/null && [ -e /usr/riscv64-linux-gnu/lib/libc.a ] || {
    echo "coremark.sh: needs riscv64-linux-gnu-gcc and its static C library: run scripts/install-deps.sh --bench" >&2; exit 2; }
command -v qemu-system-riscv64 > /dev/null || { echo "coremark.sh: qemu-system-riscv64 not installed (scripts/install-deps.sh)" >&2; exit 2; }
make -s build/release/vessel >/dev/null
eval "$(scripts/fetch-guest.sh --quiet)"

OUT=${XDG_CACHE_HOME:-$HOME/.cache}/vessel/bench/coremark
mkdir -p "$OUT/root"
build() { # compiler output
    local flags="-O2 -static"
    "$1" $flags -DCOMPILER_FLAGS="\"$flags\"" -Ibench/cpu/coremark -I"$SRC" \
        -o "$2" bench/cpu/coremark/core_portme.c \
        $(for f in $FILES; do [ "$f" = coremark.h ] || echo "$SRC/$f"; done)
}
build riscv64-linux-gnu-gcc "$OUT/root/coremark"
build gcc "$OUT/coremark-native"
# The guest's initramfs with /coremark added: one cpio archive after the
# other (the kernel unpacks them in turn), compressed together.
(cd "$OUT/root" && echo coremark | cpio -o -H newc -R 0:0 --quiet) > "$OUT/coremark.cpio"
{ gzip -dc "$INITRD"; cat "$OUT/coremark.cpio"; } | gzip -1 > "$OUT/initramfs.cpio.gz"

CMD="echo COREMARK-BEGIN; /coremark 0 0 0x66 $ITER; echo COREMARK-END"
APPEND="console=ttyS0 quiet vessel.cmd=$(printf '%s\n' "$CMD" | base64 -w0)"

# Prints "<host-timed iterations/s> <CoreMark's own iterations/s>" for one
# run of the command given (the guest's console on its stdout).
run_once() {
    python3 - "$ITER" "$@" <<'PY'
import subprocess, sys, time
iters = int(sys.argv[1])
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
t = {}; log = []; own = None; ok = False
for raw in p.stdout:
    line = raw.decode(errors="replace").strip("\r\n")
    log.append(line)
    if line in ("COREMARK-BEGIN", "COREMARK-END") and line not in t:
        t[line] = time.monotonic()
    elif line.startswith("Iterations/Sec"):
        own = float(line.split(":")[1])
    elif line.startswith("Correct operation validated"):
        ok = True
rc = p.wait()
if len(t) != 2 or not ok or own is None:
    sys.stderr.write("\n".join(log[-30:]) + "\n")
    sys.exit("CoreMark did not run to a validated end (exit %d)" % rc)
print("%.1f %.1f" % (iters / (t["COREMARK-END"] - t["COREMARK-BEGIN"]), own))
PY
}

VCMD=(build/release/vessel run -m 512M --kernel "$KERNEL" \
    --initrd "$OUT/initramfs.cpio.gz" --firmware "$FIRMWARE" --append "$APPEND")
QCMD=(qemu-system-riscv64 -machine virt -m 512M -nographic \
    -bios "$FIRMWARE" -kernel "$KERNEL" -initrd "$OUT/initramfs.cpio.gz" -append "$APPEND")
NATIVE_LOG=$(mktemp)
trap 'rm -f "$NATIVE_LOG"' EXIT
native_once() { # prints native CoreMark's iterations/s
    "$OUT/coremark-native" 0 0 0x66 "$NITER" > "$NATIVE_LOG"
    grep -q "Correct operation validated" "$NATIVE_LOG" || { cat "$NATIVE_LOG" >&2; echo "native CoreMark failed" >&2; exit 1; }
    sed -n 's/^Iterations\/Sec *: *//p' "$NATIVE_LOG"
}
best() { # a b: the larger
    if (( $(echo "$2 > $1" | bc -l) )); then echo "$2"; else echo "$1"; fi
}

vh=0 vo=0 qh=0 qo=0 nat=0 ratios=()
for round in $(seq "$RUNS"); do
    read -r h o < <(run_once "${VCMD[@]}")
    [ "$(best "$vh" "$h")" = "$h" ] && vh=$h && vo=$o
    read -r qrh qro < <(run_once "${QCMD[@]}")
    [ "$(best "$qh" "$qrh")" = "$qrh" ] && qh=$qrh && qo=$qro
    n=$(native_once)
    nat=$(best "$nat" "$n")
    ratios+=("$(echo "$h / $qrh" | bc -l)")
    printf 'round %d: vessel %.0f, qemu %.0f (%.2fx)\n' "$round" "$h" "$qrh" "${ratios[-1]}"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')

printf '%-28s %14s %16s\n' "CoreMark 1.0 (best of $RUNS)" "iterations/s" "(CoreMark's own)"
printf '%-28s %14.0f %16.0f\n' "vessel" "$vh" "$vo" "qemu-system-riscv64" "$qh" "$qo"
printf '%-28s %14.0f\n' "native (this host)" "$nat"
printf 'vessel / qemu:   %.2fx best against best, %.2fx median of %d rounds   (target: at least 2x)\n' \
    "$(echo "$vh / $qh" | bc -l)" "$median" "$RUNS"
printf 'vessel / native: %.3f   (target: at least 0.333)\n' "$(echo "$vh / $nat" | bc -l)"
