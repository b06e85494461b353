#!/bin/bash
# Run the whole Vessel test suite and end with "N passed, N failed".
#
# Suites:
#  - unit:   every cmocka program in build/{release,asan}/tests/unit/
#            (TAP output, one result per test case);
#  - isa:    every bare-metal guest program build/guest/isa/*.elf, and
#            build/guest/bench/fp.elf, run by `vessel run --bios` (release
#            and asan builds); exit 0 = pass;
#  - others: every executable tests/*/run-*.sh; each prints TAP lines
#            ("ok N - name" / "not ok N - name") and gets $VESSEL,
#            $VESSEL_ASAN and $BUILD_GUEST in its environment.
# Logs of failures go to build/test-logs/.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
export VESSEL="$ROOT/build/release/vessel"
export VESSEL_ASAN="$ROOT/build/asan/vessel"
export BUILD_GUEST="$ROOT/build/guest"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
LOGS="$ROOT/build/test-logs"
rm -rf "$LOGS"; mkdir -p "$LOGS"
FILTER="${1:-}"
pass=0; fail=0

report() { # status name logfile
    if [ "$1" = ok ]; then
        pass=$((pass + 1)); echo "PASS: $2"
    else
        fail=$((fail + 1)); echo "FAIL: $2"
        [ -n "${3:-}" ] && [ -s "$3" ] && tail -n 20 "$3" | sed 's/^/    | /'
    fi
}

# Count TAP lines of one program's output.
tap_suite() { # suite-name log-file exit-code
    local name=$1 log=$2 rc=$3 seen=0
    while IFS= read -r line; do
        case "$line" in
            "ok "*)     seen=1; report ok "$name: ${line#*- }" ;;
            "not ok "*) seen=1; report fail "$name: ${line#*- }" "$log" ;;
        esac
    done < "$log"
    if [ "$seen" = 0 ] || { [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$log"; }; then
        report fail "$name (exit status $rc)" "$log"
    fi
}

for mode in release asan; do
    for t in build/$mode/tests/unit/test_*; do
        [ -x "$t" ] || continue
        n="unit/$mode/$(basename "$t")"
        [[ -n "$FILTER" && "$n" != *$FILTER* ]] && continue
        log="$LOGS/$(echo "$n" | tr / _).log"
        CMOCKA_MESSAGE_OUTPUT=TAP timeout 600 "$t" > "$log" 2>&1
        tap_suite "$n" "$log" $?
    done
done

# ISA tests run three ways: the release build translating every block on
# first entry (VESSEL_JIT_HOT=1, so the JIT sees all of them), the release
# build interpreting only (VESSEL_JIT=0), and the sanitizer build with the
# defaults.  The floating-point benchmark's program runs with them: it
# fails unless every result's bits are IEEE 754's (bench/cpu/fp.c).
for mode in release-jit release-interp asan; do
    case $mode in
        release-jit)    v="$ROOT/build/release/vessel"; envs="VESSEL_JIT_HOT=1" ;;
        release-interp) v="$ROOT/build/release/vessel"; envs="VESSEL_JIT=0" ;;
        asan)           v="$ROOT/build/asan/vessel"; envs="" ;;
    esac
    for elf in build/guest/isa/*.elf build/guest/bench/fp.elf; do
        [ -f "$elf" ] || continue
        n="isa/$mode/$(basename "$elf" .elf)"
        [[ -n "$FILTER" && "$n" != *$FILTER* ]] && continue
        log="$LOGS/$(echo "$n" | tr / _).log"
        cpus=1                  # NAME_smp.S programs run on two harts
        [[ "$elf" == *_smp.elf ]] && cpus=2
        env $envs timeout 120 "$v" run --cpus $cpus --bios "$elf" > "$log" 2>&1 < /dev/null
        if [ $? -eq 0 ]; then report ok "$n"; else report fail "$n" "$log"; fi
    done
done

for s in tests/*/run-*.sh; do
    [ -x "$s" ] || continue
    n="${s#tests/}"; n="${n%.sh}"
    [[ -n "$FILTER" && "$n" != *$FILTER* ]] && continue
    log="$LOGS/$(echo "$n" | tr / _).log"
    # A script that hangs (a wait on a guest that never powers off) fails
    # alone instead of stalling the run: 40 minutes, beyond the longest.
    timeout --kill-after=30 "${VESSEL_SCRIPT_TIMEOUT:-2400}" "$s" > "$log" 2>&1 < /dev/null
    tap_suite "$n" "$log" $?
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
