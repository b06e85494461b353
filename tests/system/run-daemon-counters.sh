#!/bin/bash
# The disk and network counters and the guest's address through vesseld
# (TAP): a busybox guest with a raw disk and user networking writes and
# reads its disk, takes a DHCP lease and downloads a file from the host;
# then GET /vm of its VM process shows the devices' counters and the
# address it learnt from the guest's frames, /metrics has the per-device
# families (HELP and TYPE, each family's samples together), GET /vms and
# `vessel list` / `vessel info` show 10.0.2.15.  The guest, told through
# the console, does a second round of the same work: the counters grow by
# at least what it moved.  Stopped, the VM has no address any more.
# Every wait is a bounded poll.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
VESSELD=${VESSELD:-$(dirname "$VESSEL")/vesseld}
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-counters.XXXXXX")
STORE=$T/store
S=$T/vesseld.sock
DPID=
BG=()
trap daemon_cleanup EXIT

if ! command -v curl > /dev/null; then ok "# SKIP curl not installed"; finish; exit 0; fi
if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi

# The file the guest downloads, from a server on the host's 127.0.0.1
# (the guest reaches it as 10.0.2.2).
TOKSIZE=262144
mkdir -p "$T/www" && head -c $TOKSIZE /dev/urandom > "$T/www/token"
http_server "$T/www"
BG+=("$HTTP_PID")
truncate -s 32M "$T/disk.raw"

# Each round writes 2 MiB and reads 2 MiB of the disk (blocks it did not
# write, so the reads reach the device) and downloads the file.  stdin is
# /dev/null: the go-ahead comes from the console's tty (typed again until
# seen; a late extra "go" does not end the program, only "end" would).
PROG=$(cat <<EOF
r() { dd if=/dev/zero of=/dev/vda bs=64k count=32 seek=\$1 conv=fsync 2>/dev/null
dd if=/dev/vda of=/dev/null bs=64k count=32 skip=\$2 2>/dev/null
echo NET\$3-\$(wget -q -O - http://10.0.2.2:$HPORT/token | wc -c); }
echo '[ \$1 = bound ] && ifconfig \$interface \$ip netmask \$subnet && route add default gw \$router' > /s
chmod +x /s; ip link set eth0 up; udhcpc -i eth0 -n -q -s /s > /dev/null 2>&1
r 0 256 1; echo READY1; read x < /dev/ttyS0; r 64 320 2; echo DONE2
while read x < /dev/ttyS0; [ "\$x" != end ]; do :; done
EOF
)
B64=$(printf '%s\n' "$PROG" | base64 -w0)

status() { api "$@" | cut -d" " -f1; }
con() { tr -d '\r' < "$STORE/vms/ctr/console.log" 2>/dev/null; }
# Type a line on the VM's console through the daemon (HTTP upgrade) until
# the console log shows EXPECT.  usage: type_until INPUT EXPECT
type_until() {
    timeout 60 python3 - "$S" ctr "$1" "$2" "$STORE/vms/ctr/console.log" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(("GET /vms/%s/console HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
           "Upgrade: vessel-console\r\n\r\n" % sys.argv[2]).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d: sys.exit("closed before the answer")
    buf += d
if b" 101 " not in buf.split(b"\r\n")[0]: sys.exit(buf.decode())
s.settimeout(0.5)
deadline, sent = time.time() + 50, 0
while time.time() < deadline:
    if sys.argv[4].encode() in open(sys.argv[5], "rb").read(): sys.exit(0)
    if time.time() > sent + 5:      # the guest may not be reading yet: type again
        s.sendall(sys.argv[3].encode() + b"\n"); sent = time.time()
    try: s.recv(4096)
    except socket.timeout: pass
sys.exit("%s never came" % sys.argv[4])
PY
}
# One sample of /metrics: "NAME{LABELS} VALUE" lines to stdout.
metric() { # TEXT NAME LABELS
    echo "$1" | awk -v k="$2{$3}" '$1 == k { print $2 }'
}
# The Prometheus text format: every sample after its family's HELP and
# TYPE, and each family's samples in one group.
prom_ok() {
    python3 -c '
import sys
seen, typed, cur = set(), set(), None
for line in sys.stdin.read().splitlines():
    if line.startswith("# TYPE "):
        typed.add(line.split()[2]); continue
    if not line or line.startswith("#"): continue
    fam = line.split("{")[0].split()[0]
    if fam not in typed: sys.exit("%s before its TYPE" % fam)
    if fam != cur:
        if fam in seen: sys.exit("%s is not one group" % fam)
        seen.add(fam); cur = fam
' <<< "$1"
}

start_daemon
VMJ=$(printf '{"name":"ctr","memory":"128M","boot":{"kernel":"%s","initrd":"%s",' "$KERNEL" "$INITRD"
      printf '"append":"console=ttyS0 quiet vessel.cmd=%s"},' "$B64"
      printf '"disks":[{"path":"%s","format":"raw","cache":"writeback"}],' "$T/disk.raw"
      printf '"nics":[{"backend":"user"}]}')
check "create a VM with a raw disk and user networking" '[ "$(status POST /vms "$VMJ")" = 201 ]'
check "start it" '[ "$(status PUT /vms/ctr/state "{\"action\":\"start\"}")" = 200 ]'
r=$(api GET /vms)
check "GET /vms before the guest sent a frame: ip null" \
    '[ "$(echo "${r#* }" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"vms\"][0][\"ip\"])")" = None ]'
wait_for 'con | grep -q "^READY1$" || con | grep -q VESSEL-CMD-EXIT' 300
check "the guest wrote and read its disk and downloaded $TOKSIZE bytes" 'con | grep -qx "NET1-$TOKSIZE"'
con | grep -qx "NET1-$TOKSIZE" || con | tail -n 20 | sed 's/^/# /'

# The VM process's own API.
VS=$STORE/vms/ctr/run/api.sock
vm_dev() { # EXPR on d (disk entry) and n (nic entry)
    curl -s --max-time 10 --unix-socket "$VS" http://x/vm | python3 -c '
import json, sys
v = json.load(sys.stdin)
d = [x for x in v["devices"] if x["type"] == "virtio-blk"][0]
n = [x for x in v["devices"] if x["type"] == "virtio-net"][0]
print(eval(sys.argv[1]))' "$1"
}
check "GET /vm (VM process): the disk's counters ($(vm_dev 'd["stats"]'))" \
    '[ "$(vm_dev "d[\"stats\"][\"write_bytes\"] >= 2 << 20 and d[\"stats\"][\"write_requests\"] > 0 and d[\"stats\"][\"read_bytes\"] >= 2 << 20 and d[\"stats\"][\"read_requests\"] > 0 and d[\"stats\"][\"flush_requests\"] > 0 and d[\"stats\"][\"errors\"] == 0")" = True ]'
check "GET /vm (VM process): the card's counters ($(vm_dev 'n["stats"]'))" \
    '[ "$(vm_dev "n[\"stats\"][\"rx_bytes\"] >= $TOKSIZE and n[\"stats\"][\"rx_frames\"] > 0 and n[\"stats\"][\"tx_bytes\"] > 0 and n[\"stats\"][\"tx_frames\"] > 0")" = True ]'
check "GET /vm (VM process): the guest's address, learnt from its frames" \
    '[ "$(vm_dev "n[\"ip\"]")" = 10.0.2.15 ]'

# The daemon: the address without asking the VM on each listing.
list_ip() { api GET /vms | cut -d" " -f2- | python3 -c 'import json,sys; print(json.load(sys.stdin)["vms"][0]["ip"])'; }
check "GET /vms: ip 10.0.2.15 (the monitor's refresh)" 'wait_for "[ \"\$(list_ip)\" = 10.0.2.15 ]" 20'
check "GET /vms/ctr: ip 10.0.2.15" '[ "$(field "$(api GET /vms/ctr)" ip)" = 10.0.2.15 ]'
"$VESSEL" --socket "$S" list > "$T/list" 2>&1
check "vessel list: the IP column" 'grep -q "^ctr  *running .* 10\.0\.2\.15$" "$T/list"'
"$VESSEL" --socket "$S" info ctr > "$T/info" 2>&1
check "vessel info: ip" 'grep -q "^ip: *10\.0\.2\.15$" "$T/info"'

m1=$(curl -s --unix-socket "$S" http://x/metrics)
check "/metrics: the text format (HELP and TYPE first, each family one group)" 'prom_ok "$m1"'
for f in disk_read_bytes disk_write_bytes disk_read_requests disk_write_requests \
         net_rx_bytes net_tx_bytes net_rx_frames net_tx_frames; do
    l='disk="0"'; [ "${f#net}" != "$f" ] && l='nic="0"'
    v=$(metric "$m1" "vessel_vm_${f}_total" "vm=\"ctr\",$l")
    check "/metrics: vessel_vm_${f}_total{vm=\"ctr\",$l} > 0 ($v)" \
        '[ -n "$v" ] && [ "$v" -gt 0 ] && echo "$m1" | grep -q "^# TYPE vessel_vm_${f}_total counter$"'
done
w1=$(metric "$m1" vessel_vm_disk_write_bytes_total 'vm="ctr",disk="0"')
rx1=$(metric "$m1" vessel_vm_net_rx_bytes_total 'vm="ctr",nic="0"')

check "the guest's second round, told through the console" 'type_until go DONE2'
check "second round: another $TOKSIZE bytes downloaded" 'con | grep -qx "NET2-$TOKSIZE"'
m2=$(curl -s --unix-socket "$S" http://x/metrics)
w2=$(metric "$m2" vessel_vm_disk_write_bytes_total 'vm="ctr",disk="0"')
rx2=$(metric "$m2" vessel_vm_net_rx_bytes_total 'vm="ctr",nic="0"')
check "/metrics: disk writes grew by at least the 2 MiB written ($w1 -> $w2)" \
    '[ -n "$w1" ] && [ -n "$w2" ] && [ $((w2 - w1)) -ge $((2 << 20)) ]'
check "/metrics: received bytes grew by at least the file ($rx1 -> $rx2)" \
    '[ -n "$rx1" ] && [ -n "$rx2" ] && [ $((rx2 - rx1)) -ge $TOKSIZE ]'

"$VESSEL" --socket "$S" top --once --interval 0.3 > "$T/top" 2>&1
check "vessel top: disk read/write and net rx/tx rate columns, the VM's row" \
    'head -1 "$T/top" | grep -q "DISK-R/s  *DISK-W/s  *NET-RX/s  *NET-TX/s$" && grep -q "^ctr  *running " "$T/top"'

check "stop: 200" '[ "$(status PUT /vms/ctr/state "{\"action\":\"kill\"}")" = 200 ]'
check "stopped: ip null again" '[ "$(list_ip)" = None ]'
m3=$(curl -s --unix-socket "$S" http://x/metrics)
check "stopped: no device counters for it" '! echo "$m3" | grep -q "^vessel_vm_disk_.*vm=\"ctr\""'

kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; DPID=
check "no sanitizer report from the daemon or the VM process" \
    '! grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T/vesseld.log" "$STORE"/vms/*/run/vessel.log 2>/dev/null | grep -q .'
finish
