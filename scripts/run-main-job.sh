#!/bin/bash
# The main job: fetch Debian's riscv64 kernel, OpenSBI and busybox (cached
# outside the tree; see docs/guest.md), build the initramfs, and boot it in
# Vessel to an interactive shell on this terminal (C-a x quits; `exit` or
# `poweroff -f` in the guest powers off).
#
# Non-interactive form: VESSEL_CMD='uname -a' make run  boots, runs the
# command, prints its output and powers off.  Extra vessel options can be
# given in VESSEL_ARGS (e.g. VESSEL_ARGS="--cpus 2 -m 1G").
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/fetch-guest.sh --quiet)"
APPEND="console=ttyS0"
if [ -n "${VESSEL_CMD:-}" ]; then
    APPEND="$APPEND quiet vessel.cmd=$(printf '%s\n' "$VESSEL_CMD" | base64 -w0)"
fi
# shellcheck disable=SC2086
exec build/release/vessel run --kernel "$KERNEL" --initrd "$INITRD" \
    --firmware "$FIRMWARE" --append "$APPEND" ${VESSEL_ARGS:-}
