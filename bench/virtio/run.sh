#!/bin/bash
# Virtio benchmark on the Debian systemd image (scripts/build-rootfs.sh), for
# Vessel and, in the same run, qemu-system-riscv64 with the same image and
# the same virtio-mmio devices (root qcow2 snapshot=on, a raw data disk,
# user-mode NIC with port forwards, rng):
#
#   boot to the login prompt (s); boot until systemd is done (s)
#   sequential write / read, 1 MiB blocks, O_DIRECT, dd on the raw disk (MiB/s);
#   the read waits for udev to settle first: closing the device after the
#   write makes udev re-probe it, guest CPU work that would otherwise run
#   during the read.  The read started right after the write is reported
#   too, on a row with no target.
#   random read / write, 4 KiB, O_DIRECT, ioping -R for 10 s (IOPS)
#   TCP host -> guest, iperf3 for 10 s through the port forward (Mbit/s)
#
# usage: bench/virtio/run.sh [runs]     (best of `runs` per VMM, default 1)
# Environment: VESSEL (default build/release/vessel), BENCH_CPUS (1),
# BENCH_DISK_MB (256), BENCH_SECONDS (10), BENCH_VMMS ("vessel qemu").
# A VMM whose virtio devices are missing gets "n/a" in its column.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
RUNS=${1:-1}
VESSEL=${VESSEL:-build/release/vessel}
CPUS=${BENCH_CPUS:-1}
DISK_MB=${BENCH_DISK_MB:-256}
SECS=${BENCH_SECONDS:-10}
VMMS=${BENCH_VMMS:-vessel qemu}
TMO=600

eval "$(scripts/fetch-guest.sh --quiet)" || exit 1
eval "$(scripts/build-rootfs.sh --quiet)" || { echo "bench: build the image first (scripts/build-rootfs.sh, as root)" >&2; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

vm_cmd() { # VMM DATADISK SSHPORT IPERFPORT -> VM array
    local vmm=$1 data=$2 p1=$3 p2=$4
    local append="root=/dev/vda rw console=ttyS0"
    if [ "$vmm" = qemu ]; then
        VM=(qemu-system-riscv64 -machine virt -m 1G -smp "$CPUS" -nographic -bios "$FIRMWARE"
            -kernel "$ROOTFS_KERNEL" -initrd "$ROOTFS_INITRD" -append "$append"
            -drive "file=$ROOTFS_QCOW2,format=qcow2,if=none,id=d0,snapshot=on"
            -device virtio-blk-device,drive=d0
            -drive "file=$data,format=raw,if=none,id=d1" -device virtio-blk-device,drive=d1
            -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$p1-:22,hostfwd=tcp:127.0.0.1:$p2-:5201"
            -device virtio-net-device,netdev=n0 -device virtio-rng-device)
    else
        VM=("$VESSEL" run -m 1G --cpus "$CPUS" --firmware "$FIRMWARE"
            --kernel "$ROOTFS_KERNEL" --initrd "$ROOTFS_INITRD" --append "$append"
            --disk "$ROOTFS_QCOW2,format=qcow2,snapshot=on" --disk "$data,format=raw"
            --net "user,hostfwd=tcp:127.0.0.1:$p1-:22,hostfwd=tcp:127.0.0.1:$p2-:5201")
    fi
}

# one_run VMM N: boot, measure, power off; results in $T/VMM.N/
one_run() {
    local vmm=$1 n=$2 out=$T/$1.$2 p1 p2
    p1=$(free_port); p2=$(free_port)
    rm -f "$T/data.raw"
    fallocate -l "${DISK_MB}M" "$T/data.raw" 2>/dev/null || truncate -s "${DISK_MB}M" "$T/data.raw"
    vm_cmd "$vmm" "$T/data.raw" "$p1" "$p2"
    local dd_w="dd if=/dev/zero of=/dev/vdb bs=1M count=$DISK_MB oflag=direct 2>&1 | tail -n1"
    local dd_r="dd if=/dev/vdb of=/dev/null bs=1M count=$DISK_MB iflag=direct 2>&1 | tail -n1"
    local settle="udevadm settle --timeout=60 && echo settled"
    local io="ioping -q -B -R -D -s 4k -S ${DISK_MB}m -w $SECS"
    python3 tests/system/console.py --log "$out.log" --out "$out" --timeout $((TMO * 3)) \
        -- "${VM[@]}" 2> "$out.err" <<EOF
expect $TMO vessel-debian login:
mark login
shell 120
run ready $TMO :: systemctl is-system-running --wait
mark ready
run seqw $TMO :: $dd_w
run seqrbusy $TMO :: $dd_r
run settle 120 :: $settle
run seqr $TMO :: $dd_r
run randr $TMO :: $io /dev/vdb
run randw $TMO :: $io -WWW /dev/vdb
run iperfd 60 :: iperf3 -s -1 -D && for i in \$(seq 100); do ss -ltn | grep -q ':5201 ' && break; sleep 0.1; done; ss -ltn | grep -c ':5201 '
host iperf $((SECS * 3 + 60)) :: iperf3 -c 127.0.0.1 -p $p2 -t $SECS -J
send systemctl poweroff
exit 180
EOF
    local rc=$?
    [ $rc -eq 0 ] || { echo "bench: $vmm run $n failed:" >&2; cat "$out.err" >&2; }
    return $rc
}

# results DIR -> "login ready seqw seqr randr randw tcp seqrbusy" (n/a where missing)
results() {
    python3 - "$1" <<'PY'
import json, re, sys, os
d = sys.argv[1]
def rd(n):
    try:
        return open(os.path.join(d, n)).read()
    except OSError:
        return ""
times = dict(l.split() for l in rd("times").splitlines() if len(l.split()) == 2)
def dd(n):  # "268435456 bytes (268 MB, 256 MiB) copied, 2.5 s, 107 MB/s"
    m = re.search(r"^(\d+) bytes .* copied, ([0-9.]+) s", rd(n + ".out"), re.M)
    return "%.1f" % (int(m.group(1)) / float(m.group(2)) / 2**20) if m and rd(n + ".rc").strip() == "0" else "n/a"
def iops(n):  # ioping -B: requests time_us iops bytes_per_s ...
    f = rd(n + ".out").split()
    return "%.0f" % float(f[2]) if len(f) >= 4 and rd(n + ".rc").strip() == "0" else "n/a"
def tcp():
    try:
        j = json.loads(rd("iperf.out"))
        return "%.1f" % (j["end"]["sum_received"]["bits_per_second"] / 1e6)
    except Exception:
        return "n/a"
settled = rd("settle.rc").strip() == "0"   # else the read was not on a quiet guest
print(times.get("login", "n/a"), times.get("ready", "n/a"), dd("seqw"),
      dd("seqr") if settled else "n/a",
      iops("randr"), iops("randw"), tcp(), dd("seqrbusy"))
PY
}

# best of RUNS: min for times, max for rates
best() {
    python3 -c '
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
out = []
for i in range(8):
    v = [float(r[i]) for r in rows if r[i] != "n/a"]
    out.append("n/a" if not v else "%g" % (min(v) if i < 2 else max(v)))
print(" ".join(out))'
}

declare -A R
for vmm in $VMMS; do
    if [ "$vmm" = vessel ] && ! "$VESSEL" run --help 2>&1 | grep -q -- '--disk'; then
        echo "bench: $VESSEL run has no --disk: no virtio devices yet; vessel column n/a" >&2
        R[$vmm]="n/a n/a n/a n/a n/a n/a n/a n/a"
        continue
    fi
    if [ "$vmm" = qemu ] && ! command -v qemu-system-riscv64 >/dev/null; then
        R[$vmm]="n/a n/a n/a n/a n/a n/a n/a n/a"
        continue
    fi
    lines=""
    for n in $(seq "$RUNS"); do
        echo "bench: $vmm, run $n of $RUNS" >&2
        one_run "$vmm" "$n"
        lines+="$(results "$T/$vmm.$n")"$'\n'
    done
    R[$vmm]=$(printf '%s' "$lines" | best)
done

python3 - "${R[vessel]:-n/a n/a n/a n/a n/a n/a n/a n/a}" "${R[qemu]:-n/a n/a n/a n/a n/a n/a n/a n/a}" \
    "$CPUS" "$DISK_MB" "$SECS" <<'PY'
import sys
v, q = sys.argv[1].split(), sys.argv[2].split()
cpus, mb, secs = sys.argv[3:6]
rows = [  # label, higher is better, target (None: reported, no target)
    ("boot to login prompt (s)", False, 2.0),
    ("boot until systemd is done (s)", False, 2.0),
    ("seq write 1M O_DIRECT dd %s MiB (MiB/s)" % mb, True, 1.0),
    ("seq read 1M O_DIRECT dd %s MiB (MiB/s)" % mb, True, 1.0),
    ("rand read 4K O_DIRECT ioping %ss (IOPS)" % secs, True, 1.0),
    ("rand write 4K O_DIRECT ioping %ss (IOPS)" % secs, True, 1.0),
    ("TCP host->guest iperf3 %ss (Mbit/s)" % secs, True, 1.0),
    ("  seq read, udev re-probing meanwhile", True, None),
]
print("virtio benchmark: Debian trixie systemd image, %s vCPU, 1 GiB; vessel vs qemu-system-riscv64, same image and devices" % cpus)
print("%-42s %10s %10s %9s  %s" % ("metric", "vessel", "qemu", "v/q", "target"))
for i in (0, 1, 2, 3, 7, 4, 5, 6):   # the no-target read under the read
    (label, higher, tgt), a, b = rows[i], v[i], q[i]
    if a == "n/a" or b == "n/a" or float(b) == 0:
        ratio, verdict = "n/a", ""
    else:
        r = float(a) / float(b)
        ratio = "%.2fx" % r
        verdict = "" if tgt is None else ("ok" if r > tgt else "MISS") if higher else ("ok" if r <= tgt else "MISS")
    target = ("none (started right after the write)" if tgt is None
              else "vessel faster (v/q > 1)" if higher else "within 2x (v/q <= 2)")
    print("%-42s %10s %10s %9s  %s %s" % (label, a, b, ratio, target, verdict))
print("targets (issue 5): Vessel faster than QEMU on the disk and network rows, within 2x on boot time")
PY
