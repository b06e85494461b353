# Shared helpers for the tests/block suites (sourced, not run).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VESSEL=${VESSEL:-$ROOT/build/release/vessel}
VESSEL_ASAN=${VESSEL_ASAN:-$ROOT/build/asan/vessel}
[ -x "$VESSEL_ASAN" ] || VESSEL_ASAN=$VESSEL
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-block.XXXXXX")
trap 'rm -rf "$T"' EXIT
N=0
FAILS=0
ok()     { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - $1"; }
# check NAME CMD...: one TAP line from a command's exit status
check() {
    local name=$1; shift
    if "$@" >"$T/log" 2>&1; then ok "$name"; else
        not_ok "$name"; sed 's/^/# /' "$T/log" | tail -n 15; fi
}
# Build the blkrand helper against libvessel.a (release, or asan with $1=asan)
build_blkrand() {
    local mode=${1:-release} san=""
    [ "$mode" = asan ] && san="-fsanitize=address,undefined -fno-sanitize-recover=all"
    # shellcheck disable=SC2086
    cc -std=gnu11 -O1 -g -Wall -Wextra -Werror -I"$ROOT/src" -D_GNU_SOURCE $san \
        -o "$T/blkrand-$mode" "$ROOT/tests/block/blkrand.c" \
        "$ROOT/build/$mode/libvessel.a" -lz -lzstd -luring -lpthread
}
have_qemu() { command -v qemu-img >/dev/null && command -v qemu-io >/dev/null; }
finish() { [ "$FAILS" -eq 0 ]; exit $?; }
