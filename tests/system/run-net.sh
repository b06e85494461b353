#!/bin/bash
# System tests: virtio-net with user-mode networking (--net user, libslirp).
# Boots the initramfs guest with a NIC and checks, in one boot:
#   - DHCP gives eth0 10.0.2.15 and the MAC is 52:54:00:...;
#   - the guest fetches a page and a 2 MiB file from an HTTP server on the
#     host's 127.0.0.1 through the gateway 10.0.2.2;
#   - hostfwd: a host TCP port on 127.0.0.1 reaches an echo service in the
#     guest (the test waits for the guest's READY line on the console);
# then the MAC rules (mac= is used; the default is stable across boots of
# the same VM and follows its UUID, --uuid),
# and that malformed --net specs (and a host port in use) fail with a clear
# error and a non-zero exit before the guest boots.
# Host side uses loopback addresses only.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
T=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi
if ! "$VESSEL" run --help 2>&1 | grep -q -- '--net'; then
    ok "# SKIP $VESSEL run has no --net option in this build"
    finish; exit 0
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A tiny HTTP server on 127.0.0.1 (ephemeral port, printed first).
TOKEN="vessel-net-$$"
exec 5< <(exec python3 -u -c '
import http.server, sys
small = ("hello-from-host " + sys.argv[1] + "\n").encode()
big = bytes((i * 7919 >> 3) & 255 for i in range(2 << 20))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = big if self.path == "/big" else small
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()' "$TOKEN")
PIDS+=($!)
HPORT=""
read -r -t 20 HPORT <&5
check "host HTTP server on 127.0.0.1 started (port '$HPORT')" '[ -n "$HPORT" ]'

# ---- malformed --net specs: clear error, non-zero exit, no boot --------
bad_spec() { # spec what-the-error-must-say
    local spec=$1 what=$2 rc
    timeout 60 "$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" -m 128M \
        --net "$spec" --append "console=ttyS0 quiet" < /dev/null > "$T/bad.out" 2> "$T/bad.err"
    rc=$?
    check "--net '$spec' is refused (exit $rc)" '[ $rc -ne 0 ] && [ $rc -ne 124 ] && ! grep -q VESSEL-BOOT-OK "$T/bad.out"'
    check "--net '$spec': message names the spec and says: $what" \
        'grep -qF -- "vessel: --net '"'"'$spec'"'"'" "$T/bad.err" && grep -qF -- "$what" "$T/bad.err"'
    [ $rc -ne 0 ] && grep -qF -- "$what" "$T/bad.err" || { echo "# stderr:"; sed 's/^/#   /' "$T/bad.err"; }
}
bad_spec "tap" "unknown backend 'tap'"
bad_spec "user,hostfwd=tcp::99999-:22" "host port '99999' is not a number 1..65535"
bad_spec "user,hostfwd=tcp:127.0.0.1:2222:22" "no '-' between the host and the guest side"
bad_spec "user,hostfwd=icmp::2222-:22" "protocol 'icmp' is not tcp or udp"
bad_spec "user,mac=52:54:00:zz:00:01" "bad mac"
bad_spec "user,mac=01:00:5e:00:00:01" "multicast"
bad_spec "user,foo=bar" "unknown option 'foo'"
bad_spec "user,," "empty option"
[ -n "$HPORT" ] && bad_spec "user,hostfwd=tcp:127.0.0.1:$HPORT-:22" "Address already in use"

# ---- one boot: DHCP, guest -> host TCP, host -> guest port forward -----
FPORT=$(free_port)
SCRIPT='echo "#!/bin/sh
[ \$1 = bound ] && ifconfig \$interface \$ip netmask \$subnet && route add default gw \$router && echo DHCP-IP=\$ip" >/tmp/s
chmod +x /tmp/s
ip link set eth0 up
udhcpc -i eth0 -n -q -s /tmp/s
echo MAC=$(cat /sys/class/net/eth0/address)
wget -q -O - http://10.0.2.2:'"$HPORT"'/ && echo WGET-OK
wget -q -O - http://10.0.2.2:'"$HPORT"'/big | md5sum
nc -l -p 7777 -e /bin/cat &
i=0; until grep -qs ":1E61 [0:]* 0A" /proc/net/tcp*||[ $i = 300 ]; do sleep 0.1; i=$((i+1)); done
echo READY
wait'
B64=$(printf '%s\n' "$SCRIPT" | base64 -w0)
mkfifo "$T/con"
timeout 170 "$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" -m 256M \
    --net "user,hostfwd=tcp:127.0.0.1:$FPORT-:7777" \
    --append "console=ttyS0 quiet vessel.cmd=$B64" < /dev/null > "$T/con" 2>&1 &
VPID=$!
PIDS+=($VPID)
exec 3< "$T/con"
: > "$T/boot"
ready=0
while IFS= read -r -t 150 line <&3; do
    line=${line%$'\r'}
    printf '%s\n' "$line" >> "$T/boot"
    if [ "$line" = READY ]; then ready=1; break; fi
done
# No READY: the guest is stuck; do not wait for its timeout.
[ $ready = 1 ] || kill $VPID 2>/dev/null
# Keep draining the console so the VMM never blocks on it.
cat <&3 | tr -d '\r' >> "$T/boot" &
DRAIN=$!
check "guest: eth0 got 10.0.2.15 by DHCP" 'grep -qx "DHCP-IP=10.0.2.15" "$T/boot"'
check "guest: MAC has the 52:54:00 prefix" 'grep -q "^MAC=52:54:00:" "$T/boot"'
check "guest: fetched the page from the host's 127.0.0.1:$HPORT via 10.0.2.2" \
    'grep -qx "hello-from-host $TOKEN" "$T/boot" && grep -qx WGET-OK "$T/boot"'
BIGSUM=$(python3 -c 'import hashlib; print(hashlib.md5(bytes((i * 7919 >> 3) & 255 for i in range(2 << 20))).hexdigest())')
check "guest: a 2 MiB download from the host arrives intact (md5 $BIGSUM)" 'grep -q "^$BIGSUM " "$T/boot"'
check "guest: echo service listening (READY seen)" '[ $ready = 1 ]'

reply=""
if [ $ready = 1 ] && exec 4<>"/dev/tcp/127.0.0.1/$FPORT"; then
    printf 'ping-%s\n' "$TOKEN" >&4
    read -r -t 60 reply <&4
    exec 4<&-
fi
check "hostfwd: 127.0.0.1:$FPORT reaches the guest's port 7777 (echo: '$reply')" \
    '[ "$reply" = "ping-$TOKEN" ]'
wait $VPID
rc=$?
wait $DRAIN     # the console's last lines (EOF once the VMM has exited)
exec 3<&-
check "guest powers off cleanly after the echo session (exit $rc)" '[ $rc -eq 0 ]'
grep -qx VESSEL-CMD-EXIT=0 "$T/boot" || tail -30 "$T/boot" | sed 's/^/# /'

# ---- MAC address: mac= is used; the default is stable per VM ----------
guest_run "$T/mac" "-m 128M --net user,mac=52:54:00:12:34:99" 'cat /sys/class/net/eth0/address'
check "mac= sets the guest's MAC" '[ "$(cmd_output "$T/mac")" = 52:54:00:12:34:99 ]'
guest_run "$T/mac2" "-m 128M --net user" 'cat /sys/class/net/eth0/address'
guest_run "$T/mac3" "-m 128M --net user" 'cat /sys/class/net/eth0/address'
MAC2=$(cmd_output "$T/mac2")
check "default MAC ($MAC2) is 52:54:00:... and the same on the next boot of the same VM" \
    '[[ "$MAC2" == 52:54:00:??:??:?? ]] && [ "$(cmd_output "$T/mac3")" = "$MAC2" ]'
# The default MAC derives from the VM's UUID: another UUID, another MAC
# (the same kernel and initrd); the same UUID, the same MAC.
U1=6f1c3a52-1d0e-4c8b-9f7a-2b5e8d4c1a01
U2=6f1c3a52-1d0e-4c8b-9f7a-2b5e8d4c1a02
guest_run "$T/mac4" "-m 128M --uuid $U1 --net user" 'cat /sys/class/net/eth0/address'
guest_run "$T/mac5" "-m 128M --uuid $U2 --net user" 'cat /sys/class/net/eth0/address'
MAC4=$(cmd_output "$T/mac4")
MAC5=$(cmd_output "$T/mac5")
check "--uuid: the default MAC follows the UUID ($MAC4 for one, $MAC5 for another)" \
    '[[ "$MAC4" == 52:54:00:??:??:?? ]] && [[ "$MAC5" == 52:54:00:??:??:?? ]] && [ "$MAC4" != "$MAC5" ]'
guest_run "$T/mac6" "-m 128M --uuid ${U1^^} --net user" 'cat /sys/class/net/eth0/address'
check "--uuid: the same UUID (in upper case) gives the same MAC" \
    '[ "$(cmd_output "$T/mac6")" = "$MAC4" ]'
expect_bad_uuid() {
    local u=$1 rc
    timeout 60 "$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" --uuid "$u" \
        < /dev/null > "$T/u.out" 2> "$T/u.err"
    rc=$?
    check "--uuid '$u' is refused, naming it (exit $rc)" \
        '[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qF "uuid '"'"'$u'"'"'" "$T/u.err"'
}
expect_bad_uuid nope
expect_bad_uuid 6f1c3a52-1d0e-4c8b-9f7a-2b5e8d4c1a0
finish
