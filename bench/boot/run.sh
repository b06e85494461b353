#!/bin/bash
# Boot benchmark: time from start to the guest's VESSEL-BOOT-OK marker, the
# guest's own /proc/uptime at that point, and total time to poweroff, for
# Vessel and (same kernel, initramfs, firmware, memory) qemu-system-riscv64.
# Also Vessel's peak RSS against the guest RAM actually touched.
#
# usage: bench/boot/run.sh [runs] [cpus]   (`runs` pairs, default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
CPUS=${2:-1}
make -s build/release/vessel >/dev/null
eval "$(scripts/fetch-guest.sh --quiet)"
CMD=$(printf '%s\n' 'cat /proc/uptime' | base64 -w0)
APPEND="console=ttyS0 quiet vessel.cmd=$CMD"

# Prints "<seconds to marker> <seconds total> <guest uptime at command>"
timed_boot() {
    python3 - "$@" <<'PY'
import subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
marker = None; uptime = "?"; want_uptime = False; log = []
for raw in p.stdout:
    line = raw.decode(errors="replace").strip("\r\n")
    log.append(line)
    if marker is None and line.startswith("VESSEL-BOOT-OK"):
        marker = time.monotonic() - t0
    elif want_uptime:
        uptime = line.split()[0] if line.split() else "?"; want_uptime = False
    elif line == "VESSEL-CMD-BEGIN":
        want_uptime = True
    elif line.startswith("vessel: stats:"):
        sys.stderr.write(line + "\n")
rc = p.wait()
total = time.monotonic() - t0
if marker is None or rc != 0:
    sys.stderr.write("\n".join(log[-20:]) + "\n")
    sys.exit("boot failed (exit %d)" % rc)
print("%.2f %.2f %s" % (marker, total, uptime))
PY
}

# Runs alternate, Vessel then QEMU, so that a change in the host's speed
# during the run (this 2-core host's wall times spread by 20-30%) falls
# on both alike; the ratio reported is the median of the pairs' ratios,
# beside the best of each.
VCMD=(build/release/vessel run --cpus "$CPUS" -m 512M
      --kernel "$KERNEL" --initrd "$INITRD" --firmware "$FIRMWARE" --append "$APPEND")
QCMD=(qemu-system-riscv64 -machine virt -smp "$CPUS" -m 512M -nographic
      -bios "$FIRMWARE" -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND")
have_qemu=false
command -v qemu-system-riscv64 >/dev/null && have_qemu=true
: > /tmp/vessel-boot-bench.err
# Is timed_boot line $1 faster to the marker than $2 (or $2 empty)?
faster() { [ -z "$2" ] || (( $(echo "${1%% *} < ${2%% *}" | bc -l) )); }
v="" q="" ratios=()
for _ in $(seq "$RUNS"); do
    b=$(VESSEL_STATS=1 timed_boot "${VCMD[@]}" 2>>/tmp/vessel-boot-bench.err)
    faster "$b" "$v" && v=$b
    if $have_qemu; then
        c=$(timed_boot "${QCMD[@]}" 2>>/tmp/vessel-boot-bench.err)
        faster "$c" "$q" && q=$c
        ratios+=("$(echo "${b%% *} / ${c%% *}" | bc -l)")
    fi
done
read -r vm vt vu <<< "$v"
printf 'vessel: marker after %5.2f s (guest uptime %s s), poweroff after %5.2f s (best of %d)\n' \
    "$vm" "$vu" "$vt" "$RUNS"
stats=$(grep 'vessel: stats' /tmp/vessel-boot-bench.err | tail -1)
ram=$(sed -n 's/.*guest-ram-resident-kib=\([0-9]*\).*/\1/p' <<< "$stats")
rss=$(sed -n 's/.*peak-rss-kib=\([0-9]*\).*/\1/p' <<< "$stats")
if [ -n "$ram" ] && [ -n "$rss" ]; then
    printf 'vessel: peak RSS %d MiB, guest RAM touched %d MiB, overhead %d MiB (target < 40 MiB)\n' \
        $((rss / 1024)) $((ram / 1024)) $(((rss - ram) / 1024))
fi
if $have_qemu; then
    read -r qm qt qu <<< "$q"
    printf 'qemu:   marker after %5.2f s (guest uptime %s s), poweroff after %5.2f s (best of %d)\n' \
        "$qm" "$qu" "$qt" "$RUNS"
    med=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
    printf 'ratio vessel/qemu time to marker: %.2fx best against best, %.2fx median of %d pairs (target <= 0.5x)\n' \
        "$(echo "$vm / $qm" | bc -l)" "$med" "$RUNS"
fi
