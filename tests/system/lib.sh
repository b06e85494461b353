# Helpers for system tests (sourced).  TAP output: ok/not ok lines.
N=0
FAILED=0
ok()     { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; }
check()  { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
finish() { echo "1..$N"; [ "$FAILED" -eq 0 ]; }

# Fetch (or reuse) the guest artifacts; sets KERNEL, INITRD, FIRMWARE.
guest_artifacts() {
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    eval "$("$root/scripts/fetch-guest.sh" --quiet)"
}

# Boot the guest and run a shell command in it (vessel.cmd protocol,
# docs/guest.md).  usage: guest_run OUTFILE "vessel args" "command"
# The exit status is vessel's; OUTFILE gets the console with \r removed.
# The Debian image (scripts/build-rootfs.sh, docs/rootfs.md) for tests that
# boot it: sets ROOTFS_QCOW2, ROOTFS_KERNEL, ROOTFS_INITRD, ROOTFS_DIR,
# ROOTFS_SSH_KEY...; on failure prints the build log, reports "not ok" and
# ends the test.  Needs $T (the test's scratch directory).
debian_image() {
    local out root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    if ! out=$("$root/scripts/build-rootfs.sh" --quiet 2> "$T/rootfs.log"); then
        cat "$T/rootfs.log"; not_ok "build the Debian image (scripts/build-rootfs.sh)"; finish; exit 1
    fi
    eval "$out"
}
# The guest artifacts (guest_artifacts) and the Debian image, or the test ends.
debian_artifacts() {
    if ! guest_artifacts > "$T/fetch.log" 2>&1; then
        cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
    fi
    debian_image
}

guest_run() {
    local out=$1 args=$2 cmd=$3 b64 rc
    b64=$(printf '%s\n' "$cmd" | base64 -w0)
    # shellcheck disable=SC2086
    timeout 900 "$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" $args \
        --append "console=ttyS0 quiet vessel.cmd=$b64" < /dev/null > "$out.raw" 2>&1
    rc=$?
    tr -d '\r' < "$out.raw" > "$out"
    return $rc
}

# The command's output: the lines between VESSEL-CMD-BEGIN and -EXIT.
cmd_output() { sed -n '/^VESSEL-CMD-BEGIN/,/^VESSEL-CMD-EXIT/p' "$1" | sed '1d;$d'; }

# The control API (docs/api.md) of the VM whose socket is $S.
# usage: api METHOD PATH [BODY] -> prints "STATUS BODY"
api() {
    local out
    out=$(curl -s --max-time "${API_TIMEOUT:-60}" --unix-socket "$S" -X "$1" -w '\n%{http_code}' \
          ${3:+-H 'Content-Type: application/json' -d "$3"} "http://localhost$2")
    echo "$(echo "$out" | tail -n1) $(echo "$out" | sed '$d')"
}
# A top-level field of an api answer's JSON body.  usage: field "$(api GET /vm)" state
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1].split(" ",1)[1])[sys.argv[2]])' "$1" "$2"; }
# Poll a condition (a shell expression) every 50 ms, for at most SECONDS
# (default 20); never a sleep used as synchronisation.  usage: wait_for COND [SECONDS]
wait_for() {
    local n=$(( ${2:-20} * 20 ))
    for _ in $(seq "$n"); do eval "$1" && return 0; sleep 0.05; done; return 1
}

# For daemon tests: start $VESSELD on store $STORE and socket $S with
# $VESSEL as its VMM and any further arguments, logging to $T/vesseld.log;
# DPID is its pid.  Returns when it answers GET /host (at most 20 s).
start_daemon() {
    "$VESSELD" --store "$STORE" --socket "$S" --vessel "$VESSEL" "$@" >> "$T/vesseld.log" 2>&1 &
    DPID=$!
    wait_for "curl -s --max-time 2 --unix-socket $S http://x/host > /dev/null" 20
}

# For daemon tests: kill everything a test started under its temporary
# directory $T: the daemon ($DPID), background helpers (${BG[@]}), every
# VM process of $STORE by its pidfile (VM processes outlive the daemon by
# design) and any process whose command line names $T/; then remove $T,
# or keep it and say so when a test failed.  Use: trap daemon_cleanup EXIT
daemon_cleanup() {
    local p f
    [ -n "${DPID:-}" ] && kill -9 "$DPID" 2>/dev/null
    for p in ${BG[@]+"${BG[@]}"}; do kill -9 "$p" 2>/dev/null; done
    for f in "${STORE:-$T/store}"/vms/*/run/vm.pid; do
        [ -f "$f" ] && kill -9 "$(cut -d' ' -f1 "$f")" 2>/dev/null
    done
    for p in $(pgrep -f -- "$T/"); do kill -9 "$p" 2>/dev/null; done
    if [ "${FAILED:-0}" -eq 0 ]; then rm -rf "$T"; else echo "# logs kept in $T"; fi
}

# A quiet HTTP server on 127.0.0.1 serving DIR, for guests to download
# from through user networking (the host is 10.0.2.2 to them).  Sets
# HPORT (empty when it did not start in 20 s) and HTTP_PID (kill it, or
# add it to BG).  usage: http_server DIR
http_server() {
    exec 5< <(exec python3 -u -c '
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
print(s.server_address[1], flush=True)
s.serve_forever()' "$1")
    HTTP_PID=$!
    HPORT=""
    read -r -t 20 HPORT <&5
}
