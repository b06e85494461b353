#!/bin/bash
# vesseld's access control (docs/daemon.md, "Access control"), as root, on
# a temporary store and socket with one busybox-initramfs guest (TAP):
# a bad access file refuses to start the daemon naming the field; the
# socket is 0660 with the --socket-group; clients run as other uids
# (setpriv, with that group so that the socket opens): a viewer (uid
# 65534, "nobody" in the file) reads but cannot stop the VM or type on its
# console, an operator (a numeric uid with no passwd entry) stops and
# starts it but cannot create or delete, a uid with no role gets 403 even
# on GET, a role given to a group reaches its members, SIGHUP re-reads
# the file (and keeps the roles in force when the new file is bad), and
# STORE/audit.log holds the denied and the mutating requests with their
# uids; `vessel` exits 6 on a 403 and on a socket that does not open.
# Skipped when not root.  Every wait is a bounded poll.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
VESSELD=${VESSELD:-$(dirname "$VESSEL")/vesseld}
VESSELD=$(realpath "$VESSELD")
VESSEL=$(realpath "$VESSEL")
if [ "$(id -u)" != 0 ]; then ok "# SKIP not root (the test runs clients as other uids)"; finish; exit 0; fi
for c in curl setpriv python3; do
    if ! command -v $c > /dev/null; then ok "# SKIP $c not installed"; finish; exit 0; fi
done
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-access.XXXXXX")
# Others must reach the socket inside; the store stays root's.
chmod 711 "$T"
STORE=$T/store
S=$T/run/vesseld.sock
DPID=
trap daemon_cleanup EXIT

if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi

VIEWER=65534                # "nobody" in the access file: resolved by name
OPERATOR=4000000            # a numeric key: no passwd entry needed
STRANGER=4000001            # not in the file
GROUPIE=1                   # "daemon": a viewer through its group "daemon"
# The socket's group: one that exists everywhere and has no role itself.
SG=users
getent group "$SG" > /dev/null || SG=nogroup
G=$(getent group "$SG" | cut -d: -f3)

cat > "$T/access.json" <<'EOF'
{"version": 1,
 "users": {"nobody": "viewer", "4000000": "operator"},
 "groups": {"daemon": "viewer"}}
EOF

# curl as uid U, with the socket's group and no other.
# usage: api_as U METHOD PATH [BODY] -> "STATUS BODY"
api_as() {
    local u=$1 out
    shift
    out=$(setpriv --reuid="$u" --regid="$G" --clear-groups curl -s --max-time 60 \
          --unix-socket "$S" -X "$1" -w '\n%{http_code}' \
          ${3:+-H 'Content-Type: application/json' -d "$3"} "http://localhost$2")
    echo "$(echo "$out" | tail -n1) $(echo "$out" | sed '$d')"
}
# The status alone (the first line: a text body may have more).
status_as() { api_as "$@" | head -n1 | cut -d" " -f1; }
status() { api "$@" | head -n1 | cut -d" " -f1; }
# Run a command until it succeeds, for at most SECONDS of wall time (each
# try may itself take a while).  usage: until_ok SECONDS CMD...
until_ok() {
    local end=$((SECONDS + $1))
    shift
    while [ "$SECONDS" -lt "$end" ]; do "$@" && return 0; sleep 0.1; done
    return 1
}
state() { field "$(api GET "/vms/$1")" state; }

# Attach to the console as uid U, type INPUT, and wait for EXPECT (or,
# with EXPECT "-", send it and leave after 2 s in which the VM did not
# say "console busy": it says so at once).  Prints the Vessel-Console
# header's value ("read-write" when absent).  Fails on "console busy"
# (another client is still attached: try again).
# usage: console_as U NAME INPUT EXPECT
cat > "$T/console.py" <<'PY'
import socket, sys, time
sock, name, text, expect = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX); s.connect(sock)
s.sendall(("GET /vms/%s/console HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
           "Upgrade: vessel-console\r\n\r\n" % name).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d: sys.exit("closed before the answer")
    buf += d
head, _, buf = buf.partition(b"\r\n\r\n")
if b" 101 " not in head.split(b"\r\n")[0]: sys.exit(head.decode())
mode = [l.split(b":", 1)[1].strip().decode() for l in head.split(b"\r\n")
        if l.lower().startswith(b"vessel-console:")]
print(mode[0] if mode else "read-write", flush=True)
if expect == "-":
    s.sendall(text.encode() + b"\n")
    s.settimeout(0.2)
    end = time.time() + 2
    while time.time() < end and b"console busy" not in buf:
        try:
            d = s.recv(4096)
            if not d: break
            buf += d
        except socket.timeout: pass
    sys.exit("console busy" if b"console busy" in buf else 0)
s.settimeout(0.5)
deadline = time.time() + 40
sent = 0
while time.time() < deadline and expect.encode() not in buf:
    if b"console busy" in buf: sys.exit("console busy")
    if time.time() > sent + 5:      # the shell may not be reading yet: type again
        s.sendall(text.encode() + b"\n"); sent = time.time()
    try: buf += s.recv(4096)
    except socket.timeout: pass
sys.exit(0 if expect.encode() in buf else "no reply: %r" % buf[-300:])
PY
chmod 644 "$T/console.py"
console_as() {
    setpriv --reuid="$1" --regid="$G" --clear-groups timeout 60 python3 "$T/console.py" "$S" "$2" "$3" "$4"
}


# ---- a bad file: the daemon does not start, and says where ----
printf '{"version":1,"users":{"nobody":"superuser"}}' > "$T/bad-role.json"
"$VESSELD" --store "$STORE" --socket "$S" --vessel "$VESSEL" --access "$T/bad-role.json" \
    > "$T/bad.log" 2>&1
rc=$?
check "an unknown role: vesseld refuses to start (status $rc), naming the file and users.nobody" \
    '[ "$rc" != 0 ] && grep -q "bad-role.json: users.nobody: unknown role .superuser." "$T/bad.log" && [ ! -e "$S" ]'
printf '{"version":1,"groups":{"no-such-group-here":"viewer"}}' > "$T/bad-group.json"
"$VESSELD" --store "$STORE" --socket "$S" --vessel "$VESSEL" --access "$T/bad-group.json" \
    > "$T/bad.log" 2>&1
rc=$?
check "an unknown group: refused, naming groups.no-such-group-here" \
    '[ "$rc" != 0 ] && grep -q "groups.no-such-group-here: no such group" "$T/bad.log" && [ ! -e "$S" ]'
"$VESSELD" --store "$STORE" --socket "$S" --vessel "$VESSEL" --access "$T/missing.json" \
    > "$T/bad.log" 2>&1
rc=$?
check "a missing --access file: refused, naming it" \
    '[ "$rc" != 0 ] && grep -q "missing.json" "$T/bad.log" && [ ! -e "$S" ]'

# ---- the socket ----
start_daemon --access "$T/access.json" --socket-group "$SG"
check "the socket: mode 0660, owner root, group $SG; its directory 0755" \
    '[ "$(stat -c "%a %U %G" "$S")" = "660 root $SG" ] && [ "$(stat -c %a "$T/run")" = 755 ]'
r=$(setpriv --reuid=$STRANGER --regid=$STRANGER --clear-groups curl -s -o /dev/null \
    -w '%{http_code}' --unix-socket "$S" http://x/vms; echo " $?")
check "outside the socket's group: the socket does not open ($r)" '[ "${r##* }" = 7 ]'
setpriv --reuid=$STRANGER --regid=$STRANGER --clear-groups "$VESSEL" --socket "$S" list \
    > /dev/null 2> "$T/cli.err"
rc=$?
check "outside the socket's group: vessel list exits 6, saying to ask for the group (status $rc)" \
    '[ "$rc" = 6 ] && grep -q "Permission denied (as root the daemon.s socket is open to its group" "$T/cli.err"'

vm_json() { # NAME
    printf '{"name":"%s","memory":"128M","boot":{"kernel":"%s",' "$1" "$KERNEL"
    printf '"initrd":"%s","append":"console=ttyS0 quiet"}}' "$INITRD"
}
check "root is admin: create and start vm1" \
    '[ "$(status POST /vms "$(vm_json vm1)")" = 201 ] &&
     [ "$(status PUT /vms/vm1/state "{\"action\":\"start\"}")" = 200 ]'
check "vm1 runs" 'wait_for "[ \"\$(state vm1)\" = running ]" 120'

# ---- viewer ----
check "viewer: GET /vms 200, GET /vms/vm1 200, /metrics 200" \
    '[ "$(status_as $VIEWER GET /vms)" = 200 ] && [ "$(status_as $VIEWER GET /vms/vm1)" = 200 ] &&
     [ "$(status_as $VIEWER GET /metrics)" = 200 ]'
r=$(api_as $VIEWER PUT /vms/vm1/state '{"action":"stop"}')
check "viewer: stop is 403 naming the role needed and held" \
    '[ "${r%% *}" = 403 ] && [[ "$r" == *"PUT /vms/vm1/state: needs role operator; uid 65534 has viewer"* ]]'
setpriv --reuid=$VIEWER --regid="$G" --clear-groups "$VESSEL" --socket "$S" stop vm1 \
    > /dev/null 2> "$T/cli.err"
rc=$?
check "viewer: vessel stop exits 6 with the daemon's message (status $rc)" \
    '[ "$rc" = 6 ] && grep -q "needs role operator; uid 65534 has viewer" "$T/cli.err"'
check "viewer: the VM still runs" '[ "$(state vm1)" = running ]'
check "viewer: DELETE and PATCH 403" \
    '[ "$(status_as $VIEWER DELETE /vms/vm1)" = 403 ] && [ "$(status_as $VIEWER PATCH /vms/vm1 "{\"autostart\":true}")" = 403 ]'

op_console() { [ "$(console_as $OPERATOR vm1 "$1" "$2")" = read-write ]; }
viewer_types() { [ "$(console_as $VIEWER vm1 'echo VIEWER$((6*7))' -)" = read-only ]; }
check "operator: the console is read-write and the shell answers" \
    'until_ok 150 op_console "echo OP\$((6*7))" OP42'
check "viewer: the console attaches read-only (Vessel-Console: read-only)" \
    'until_ok 30 viewer_types'
# What the viewer typed, had it passed, reaches the shell before what the
# operator types next: once the operator's answer is there, the viewer's
# would be too.
check "operator: types again after the viewer left" \
    'until_ok 150 op_console "echo OPB\$((6*7))" OPB42'
check "viewer: its input never reached the guest" \
    'grep -q "^OPB42" "$STORE/vms/vm1/console.log" && ! grep -q "VIEWER42" "$STORE/vms/vm1/console.log"'
check "viewer: the console's log tail (plain GET) 200 with the output" \
    'setpriv --reuid=$VIEWER --regid=$G --clear-groups curl -s --unix-socket "$S" http://x/vms/vm1/console | grep -q "^OP42"'
# A copy the viewer may run: the tree it was built in may be closed to
# other users (a clone under a 0700 temporary directory).
install -m 755 "$VESSEL" "$T/vessel"
setpriv --reuid=$VIEWER --regid="$G" --clear-groups timeout 10 "$T/vessel" --socket "$S" \
    console vm1 < /dev/null > /dev/null 2> "$T/vc.err"
check "viewer: vessel console says that the console is read-only for it" \
    'grep -q "console is read-only for you (role viewer)" "$T/vc.err"'

# ---- operator, stranger, group ----
check "operator: create 403, delete 403" \
    '[ "$(status_as $OPERATOR POST /vms "$(vm_json vm2)")" = 403 ] && [ ! -e "$STORE/vms/vm2" ] &&
     [ "$(status_as $OPERATOR DELETE /vms/vm1)" = 403 ]'
check "operator: stop 200, the VM stopped" \
    '[ "$(status_as $OPERATOR PUT /vms/vm1/state "{\"action\":\"stop\",\"timeout\":20}")" = 200 ] &&
     [ "$(state vm1)" = stopped ]'
r=$(api_as $STRANGER GET /vms)
check "a uid with no role: GET /vms 403, 'has no role'" \
    '[ "${r%% *}" = 403 ] && [[ "$r" == *"uid $STRANGER has no role"* ]]'
check "a uid with no role: 403 on an unknown path too" '[ "$(status_as $STRANGER GET /nope)" = 403 ]'
check "a role through the group database (daemon: viewer), with no groups held" \
    '[ "$(status_as $GROUPIE GET /vms)" = 200 ] && [ "$(status_as $GROUPIE PUT /vms/vm1/state "{\"action\":\"start\"}")" = 403 ]'

# ---- SIGHUP ----
cat > "$T/access.json" <<EOF
{"version": 1, "users": {"nobody": "viewer", "4000000": "operator", "$STRANGER": "viewer"}}
EOF
kill -HUP "$DPID"
check "SIGHUP re-reads the file: the stranger is now a viewer" \
    'wait_for "[ \"\$(status_as $STRANGER GET /vms)\" = 200 ]" 10'
printf '{"version":1,"users":{"nobody":"viewer",' > "$T/access.json"
kill -HUP "$DPID"
check "SIGHUP with a bad file: reported, the roles in force kept" \
    'wait_for "grep -q \"the roles in force are kept\" \"$T/vesseld.log\"" 10 &&
     [ "$(status_as $STRANGER GET /vms)" = 200 ] && [ "$(status_as $OPERATOR GET /vms)" = 200 ]'

# ---- the audit log ----
audit_has() { # UID METHOD PATH STATUS [ROLE]
    python3 - "$STORE/audit.log" "$@" <<'PY'
import json, sys
f, uid, method, path, status = sys.argv[1:6]
role = sys.argv[6] if len(sys.argv) > 6 else None
for l in open(f):
    e = json.loads(l)
    if (e["uid"] == int(uid) and e["method"] == method and e["path"] == path and
            e["status"] == int(status) and (role is None or e["role"] == role) and
            e["time"].endswith("Z") and e["pid"] > 0):
        sys.exit(0)
sys.exit(1)
PY
}
check "audit: root's create (201, the VM named from the body) and start (200)" \
    'audit_has 0 POST /vms 201 admin && audit_has 0 PUT /vms/vm1/state 200 admin &&
     grep "\"method\":\"POST\"" "$STORE/audit.log" | grep -q "\"vm\":\"vm1\""'
check "audit: the viewer's denied stop, delete and patch (403)" \
    'audit_has $VIEWER PUT /vms/vm1/state 403 viewer && audit_has $VIEWER DELETE /vms/vm1 403 &&
     audit_has $VIEWER PATCH /vms/vm1 403'
check "audit: the operator's denied create and its stop (200)" \
    'audit_has $OPERATOR POST /vms 403 operator && audit_has $OPERATOR PUT /vms/vm1/state 200 operator'
check "audit: the stranger's denied GET (role none)" 'audit_has $STRANGER GET /vms 403 none'
check "audit: the VM named in its lines; no allowed GET logged; mode 0600" \
    'grep -q "\"path\":\"/vms/vm1/state\",\"status\":200,\"vm\":\"vm1\"" "$STORE/audit.log" &&
     ! grep -q "\"method\":\"GET\".*\"status\":200" "$STORE/audit.log" &&
     [ "$(stat -c %a "$STORE/audit.log")" = 600 ]'

kill "$DPID"
wait "$DPID"
rc=$?
DPID=
check "SIGTERM ends the daemon (exit status $rc), the socket removed" '[ "$rc" = 0 ] && [ ! -e "$S" ]'
check "no sanitizer report in the daemon's or the VM's logs" \
    '! grep -l "Sanitizer\|runtime error" "$T/vesseld.log" "$STORE"/vms/*/run/vessel.log'
finish
