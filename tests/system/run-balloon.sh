#!/bin/bash
# virtio-balloon (docs/machine.md "Balloon", docs/api.md "Balloon"), TAP.
# The busybox guest (Debian's kernel, virtio_balloon loaded by the
# initramfs) runs with 256 MiB, fills most of its free memory with a
# tmpfs file and removes it, so that its free pages are resident on the
# host, and idles:
#   - --balloon reporting: GET /balloon shows free_page_reporting; the
#     guest reports the freed pages, reported_bytes grows and the VM
#     process's RSS falls; PATCH amount_mib 64 -> actual_mib 64 and
#     inflated pages counted; more than RAM -> 400; GET /vm lists the
#     device; a snapshot with the balloon inflated, restored with
#     --balloon reporting, shows the same amount; a restore without
#     --balloon (or with --balloon on) is refused with a message; PATCH 0
#     empties it;
#   - --balloon on: no reporting, the freed pages stay resident; PATCH 64
#     -> actual 64 and the RSS falls by most of it; PATCH 0 -> actual 0;
#   - a VM without --balloon (started --paused): GET /balloon 404;
#     --balloon bogus exits 2 naming the value.
# Every wait is a bounded poll on a condition.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
BOOT_TMO=${VESSEL_SYSTEST_BOOT_TIMEOUT:-300}
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-balloon.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in ${PIDS[@]+"${PIDS[@]}"}; do kill -9 "$p" 2>/dev/null; done
    if [ "$FAILED" -eq 0 ]; then rm -rf "$T"; else echo "# logs kept in $T"; fi
}
trap cleanup EXIT
command -v curl > /dev/null || { echo "ok 1 - # SKIP curl not installed"; echo "1..1"; exit 0; }
if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi

status() { echo "${1%% *}"; }
# A field of GET /balloon's answer (stats.* for the counters).
bal() { # FIELD
    python3 -c 'import json,sys
d = json.loads(sys.argv[1].split(" ", 1)[1])
for k in sys.argv[2].split("."):
    d = d[k]
print(str(d).lower())' "$(api GET /balloon)" "$1" 2>/dev/null
}
# The balloon entries of GET /vm's devices: their free_page_reporting.
balloon_device() {
    python3 -c 'import json,sys
d = json.loads(sys.argv[1].split(" ", 1)[1])
print([x.get("free_page_reporting") for x in d["devices"] if x["type"] == "virtio-balloon"])' \
        "$(api GET /vm)" 2>/dev/null
}
rss_mib() { echo $(( $(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0) / 1024 )); }

# Fill 128 MiB of tmpfs and free it: the guest's free memory is then
# mostly pages the host backs.  Then idle until powered off.
PROG='mount -t tmpfs -o size=160m tmpfs /mnt && dd if=/dev/zero of=/mnt/fill bs=1M count=128 2>/dev/null &&
rm /mnt/fill && umount /mnt && echo BALLOON-FREED
while :; do sleep 1; done'
B64=$(printf '%s\n' "$PROG" | base64 -w0)
VM=("$VESSEL" run -m 256M --kernel "$KERNEL" --initrd "$INITRD"
    --append "console=ttyS0 quiet vessel.cmd=$B64")
start_vm() { # CONSOLE SOCKET [args...]: sets PID
    local con=$1 sock=$2; shift 2
    "${VM[@]}" --api-sock "$sock" "$@" < /dev/null > "$con" 2>&1 &
    PID=$!
    PIDS+=("$PID")
}
# Power the VM off; check it went cleanly (an exit, not a signal, and no
# sanitizer report when $VESSEL is the asan build).
stop_vm() { # CONSOLE
    local rc con=$1
    [ "$(status "$(api PUT /actions '{"action":"poweroff"}')")" = 204 ] || kill "$PID" 2>/dev/null
    wait_for '! kill -0 $PID 2>/dev/null' 30 || kill -9 "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null; rc=$?
    check "poweroff: vessel exits cleanly ($(basename "$con" .con), status $rc)" \
        '[ $rc -lt 128 ] && ! grep -q "AddressSanitizer\|runtime error" "$con"'
}

# ---- refused options, a VM without a balloon ----------------------------
"${VM[@]}" --balloon bogus > "$T/bogus.out" 2>&1; rc=$?
check "--balloon bogus exits 2 naming the value and what is accepted" \
    '[ $rc = 2 ] && grep -q "bogus" "$T/bogus.out" && grep -q "off, on or reporting" "$T/bogus.out"'
S=$T/none.sock
start_vm "$T/none.con" "$S" --paused
wait_for '[ -S "$S" ] && [ "$(status "$(api GET /vm)")" = 200 ]' 30
r=$(api GET /balloon)
check "GET /balloon on a VM without --balloon: 404 saying so" \
    '[ "$(status "$r")" = 404 ] && [[ "$r" == *--balloon* ]]'
r=$(api PATCH /balloon '{"amount_mib":1}')
check "PATCH /balloon on a VM without --balloon: 404" '[ "$(status "$r")" = 404 ]'
check "GET /vm lists no balloon" '[ "$(balloon_device)" = "[]" ]'
stop_vm "$T/none.con"

# ---- --balloon reporting --------------------------------------------------
S=$T/rep.sock
start_vm "$T/rep.con" "$S" --balloon reporting
check "the guest boots with --balloon reporting and frees its filled memory" \
    'wait_for "grep -qs BALLOON-FREED \"$T/rep.con\"" "$BOOT_TMO"'
check "GET /vm lists the virtio-balloon with free_page_reporting" \
    '[ "$(balloon_device)" = "[True]" ]'
check "GET /balloon: the driver negotiated free page reporting" \
    'wait_for "[ \"\$(bal free_page_reporting)\" = true ]" 60'
# The guest reports free pages in 2 MiB blocks, 2 s after enough were
# freed: at boot (pages the host never backed), and after the fill.
check "the guest reports its free pages (reported_bytes > 64 MiB)" \
    'wait_for "[ \"\$(bal stats.reported_bytes)\" -gt $((64 << 20)) ] 2>/dev/null" 60'
check "...and the filled ones leave the VM process's memory (RSS < 180 MiB of 256)" \
    'wait_for "[ \$(rss_mib $PID) -lt 180 ]" 60'
echo "# RSS after reporting: $(rss_mib "$PID") MiB (reported $(( $(bal stats.reported_bytes) >> 20 )) MiB)"
r=$(api PATCH /balloon '{"amount_mib":64}')
check "PATCH /balloon amount_mib 64: 204" '[ "$(status "$r")" = 204 ]'
check "the guest inflates to it: actual_mib 64, 16384 pages inflated" \
    'wait_for "[ \"\$(bal actual_mib)\" = 64 ] && [ \"\$(bal stats.inflated_pages)\" -ge 16384 ]" 60'
check "GET /balloon: amount_mib 64, no bad frame numbers" \
    '[ "$(bal amount_mib)" = 64 ] && [ "$(bal stats.bad_pfns)" = 0 ]'
r=$(api PATCH /balloon '{"amount_mib":257}')
check "PATCH more than the VM's RAM: 400 naming the sizes" \
    '[ "$(status "$r")" = 400 ] && [[ "$r" == *257* ]] && [[ "$r" == *256* ]]'
r=$(api PATCH /balloon '{"amount_mib":-1}')
r2=$(api PATCH /balloon '{"amount":1}')
check "PATCH a negative amount or an unknown field: 400 naming the field" \
    '[ "$(status "$r")" = 400 ] && [[ "$r" == *amount_mib* ]] && [ "$(status "$r2")" = 400 ]'
check "...and the target stays 64" '[ "$(bal amount_mib)" = 64 ]'

r=$(api PUT /snapshot/create "{\"path\":\"$T/snap\",\"resume\":true}")
check "a snapshot with the balloon inflated" '[ "$(status "$r")" = 201 ]'
echo "# memory file: $(du -m "$T/snap/memory" 2>/dev/null | cut -f1) MiB on disk"
r=$(api PATCH /balloon '{"amount_mib":0}')
check "PATCH 0: the guest deflates to actual_mib 0" \
    '[ "$(status "$r")" = 204 ] && wait_for "[ \"\$(bal actual_mib)\" = 0 ]" 60'
stop_vm "$T/rep.con"

S=$T/res.sock
start_vm "$T/res.con" "$S" --balloon reporting --restore "$T/snap"
check "restored with --balloon reporting: GET /balloon shows amount_mib and actual_mib 64" \
    'wait_for "[ \"\$(bal amount_mib)\" = 64 ] && [ \"\$(bal actual_mib)\" = 64 ]" 60 &&
     [ "$(bal free_page_reporting)" = true ]'
r=$(api PATCH /balloon '{"amount_mib":0}')
check "the restored guest deflates on PATCH 0" \
    '[ "$(status "$r")" = 204 ] && wait_for "[ \"\$(bal actual_mib)\" = 0 ]" 60'
stop_vm "$T/res.con"
# The board without the balloon's slot, or a balloon that does not offer
# the reporting the snapshot's driver negotiated: the state does not fit.
for opt in "" "--balloon off" "--balloon on"; do
    # shellcheck disable=SC2086
    timeout 60 "${VM[@]}" $opt --restore "$T/snap" < /dev/null > "$T/nobal.out" 2>&1; rc=$?
    grep "vessel:" "$T/nobal.out" | head -1 | sed "s/^/# /"
    check "a restore with ${opt:-no --balloon} is refused with a message saying what differs (exit $rc)" \
        '[ $rc = 1 ] && grep -Eq "state does not fit this VM \((the snapshot.s virtio slots 0x[0-9a-f]+, this VM.s 0x|in section .vbal.).*--balloon" "$T/nobal.out"'
done

# ---- --balloon on: inflate drops resident pages ---------------------------
S=$T/on.sock
start_vm "$T/on.con" "$S" --balloon on
check "the guest boots with --balloon on and frees its filled memory" \
    'wait_for "grep -qs BALLOON-FREED \"$T/on.con\"" "$BOOT_TMO"'
check "GET /balloon: no free page reporting, nothing reported" \
    'wait_for "[ \"\$(bal free_page_reporting)\" = false ]" 30 && [ "$(bal stats.reported_bytes)" = 0 ]'
rss0=$(rss_mib "$PID")
r=$(api PATCH /balloon '{"amount_mib":64}')
check "PATCH 64: actual_mib reaches 64" \
    '[ "$(status "$r")" = 204 ] && wait_for "[ \"\$(bal actual_mib)\" = 64 ]" 60'
rss1=$(rss_mib "$PID")
echo "# RSS $rss0 MiB before inflating 64 MiB, $rss1 MiB after"
check "the VM process's RSS falls by at least 32 MiB" '[ $((rss0 - rss1)) -ge 32 ]'
r=$(api PATCH /balloon '{"amount_mib":0}')
check "PATCH 0: actual_mib back to 0, pages counted deflated" \
    '[ "$(status "$r")" = 204 ] && wait_for "[ \"\$(bal actual_mib)\" = 0 ]" 60 &&
     [ "$(bal stats.deflated_pages)" -ge 16384 ]'
stop_vm "$T/on.con"
finish
