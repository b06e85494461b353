#!/bin/bash
# The power button (virtio-input KEY_POWER, docs/machine.md "Power
# button"), TAP.  The Debian systemd image boots to login; the guest has
# bound virtio_input to the device and systemd-logind watches it (udev's
# input_id makes it ID_INPUT_KEY, 70-power-switch.rules tags it
# power-switch).  PUT /actions {"action":"shutdown"} answers 202 at once;
# logind then powers the guest off cleanly (systemd reaches
# poweroff.target, the kernel says "reboot: Power down") and vessel exits
# 0 on its own.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
BOOT_TMO=${VESSEL_SYSTEST_BOOT_TIMEOUT:-300}
OFF_TMO=${VESSEL_SYSTEST_POWEROFF_TIMEOUT:-300}  # press to "reboot: Power down"
T=$(mktemp -d)
trap 'if [ "$FAILED" -eq 0 ]; then rm -rf "$T"; else echo "# logs kept in $T"; fi' EXIT
command -v curl > /dev/null || { echo "ok 1 - # SKIP curl not installed"; echo "1..1"; exit 0; }
debian_artifacts

S="$T/api.sock"
SHUTDOWN="curl -s --max-time 60 --unix-socket $S -X PUT -w '%{http_code}' -d '{\"action\":\"shutdown\"}' http://localhost/actions"
python3 tests/system/console.py --log "$T/console.log" --out "$T/out" --timeout $((BOOT_TMO * 3)) \
    -- "$VESSEL" run -m 1G --cpus 2 --firmware "$FIRMWARE" --kernel "$ROOTFS_KERNEL" \
    --initrd "$ROOTFS_INITRD" --append "root=/dev/vda rw console=ttyS0" \
    --disk "$ROOTFS_QCOW2,format=qcow2,snapshot=on" --api-sock "$S" 2> "$T/vessel.err" <<EOF
expect $BOOT_TMO vessel-debian login:
shell 120
run state $BOOT_TMO :: systemctl is-system-running --wait
run devices 60 :: cat /proc/bus/input/devices
run udev 60 :: for e in /sys/class/input/event*; do udevadm info -q property -n /dev/input/\${e##*/}; udevadm info -q all -n /dev/input/\${e##*/} | grep -i tags; done
run logind 60 :: journalctl -b -o cat -u systemd-logind | grep -i 'watching system buttons'
mark pressed
host shutdown 60 :: $SHUTDOWN
expect $OFF_TMO reboot: Power down
mark off
exit 120
EOF
rc=$?
check "the guest's kernel sees the power button (virtio_input, KEY_POWER)" \
    'grep -q "Name=\"Vessel Power Button\"" "$T/out/devices.out" 2>/dev/null &&
     grep -q "^B: KEY=" "$T/out/devices.out"'
check "udev tags it power-switch (input_id: ID_INPUT_KEY=1)" \
    'grep -q "ID_INPUT_KEY=1" "$T/out/udev.out" 2>/dev/null && grep -q "power-switch" "$T/out/udev.out"'
check "systemd-logind watches it" \
    'grep -qi "watching system buttons.*Vessel Power Button" "$T/out/logind.out" 2>/dev/null'
check "PUT /actions shutdown answers 202 at once" \
    '[ "$(cat "$T/out/shutdown.rc" 2>/dev/null)" = 0 ] && grep -q "202$" "$T/out/shutdown.out"'
check "the guest powers off cleanly (reboot: Power down) and vessel exits 0" \
    '[ "$rc" = 0 ] && grep -q "reboot: Power down" "$T/console.log" &&
     [ "$(cat "$T/out/exit.rc" 2>/dev/null)" = 0 ]'
check "it was systemd's orderly poweroff (poweroff.target), not a crash" \
    'grep -q "Reached target.*poweroff.target" "$T/console.log" &&
     ! grep -qi "kernel panic" "$T/console.log"'
pressed=$(awk '$1 == "pressed" { print $2 }' "$T/out/times" 2>/dev/null)
off=$(awk '$1 == "off" { print $2 }' "$T/out/times" 2>/dev/null)
[ -n "$pressed" ] && [ -n "$off" ] &&
    echo "# press to power down: $(python3 -c "print(round($off - $pressed, 1))") s"
finish
