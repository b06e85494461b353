#!/bin/bash
# The console as a person uses it, on a pseudo-terminal: typed input reaches
# the guest (interrupt-driven 16550), C-a h lists the keys, C-a x kills a
# guest that is spinning, and a guest reboot restarts the VM.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi
b64() { printf '%s\n' "$1" | base64 -w0; }

# run_pty NAME SCRIPT VESSEL-ARGS... : one TAP line for the whole dialogue
run_pty() {
    local name=$1 script=$2; shift 2
    if tests/system/pty_run.py "$script" -- "$VESSEL" run "$@" > "$T/pty.log" 2>&1; then
        ok "$name"
    else
        not_ok "$name"; sed 's/^/#   /' "$T/pty.log" | tail -25
    fi
}

cat > "$T/shell.steps" <<'S'
expect VESSEL-BOOT-OK 600
expect vessel:/# 120
send echo answer=$((40+2))\n
expect answer=42 60
send \x01h
expect C-a x +exit 30
send \x01x
exit 4 60
S
run_pty "typed input reaches the guest shell; C-a h help; C-a x quits (status 4)" \
    "$T/shell.steps" --kernel "$KERNEL" --initrd "$INITRD" --append "console=ttyS0"

cat > "$T/spin.steps" <<'S'
expect SPINNING 600
send \x01x
exit 4 60
S
run_pty "C-a x kills a guest spinning in a loop" "$T/spin.steps" \
    --kernel "$KERNEL" --initrd "$INITRD" \
    --append "console=ttyS0 quiet vessel.cmd=$(b64 'echo SPINNING; while :; do :; done')"

cat > "$T/reboot.steps" <<'S'
expect VESSEL-BOOT-OK 600
expect VESSEL-BOOT-OK 600
send \x01x
exit 4 60
S
run_pty "guest reboot restarts the VM (boots twice)" "$T/reboot.steps" \
    --kernel "$KERNEL" --initrd "$INITRD" -m 256M \
    --append "console=ttyS0 quiet vessel.cmd=$(b64 'reboot -f')"
finish
