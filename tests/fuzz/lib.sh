# Shared steps of the fuzz runners tests/fuzz/run-*-fuzz.sh (sourced).
# Each runner builds one libFuzzer target with clang + ASan/UBSan and runs
# it briefly from a seed corpus, printing TAP lines ("ok N - ...").
#   fuzz_init                 ROOT, T (a temporary directory, removed at exit),
#                             TAP counter; exits with a SKIP when clang is absent
#   fuzz_build NAME LIBS SRC...   build $T/NAME from SRC (LIBS: linker flags)
#   fuzz_build_lib            compile the whole library (src/ but the CLI
#                             and vesseld's main)
#                             for a target that needs it, two files at a
#                             time; sets FUZZ_LIB (objects and link flags)
#   fuzz_seeds DIR            copy the seed corpus DIR into $T/corpus
#   fuzz_run NAME SECONDS [MAXLEN]  run for FUZZ_SECONDS (default SECONDS)
FUZZ_N=0
fuzz_ok() { FUZZ_N=$((FUZZ_N + 1)); echo "ok $FUZZ_N - $1"; }
fuzz_fail() { FUZZ_N=$((FUZZ_N + 1)); echo "not ok $FUZZ_N - $1"; }

fuzz_init() {
    ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-fuzz.XXXXXX")
    trap 'rm -rf "$T"' EXIT
    if ! command -v clang > /dev/null; then
        echo "ok 1 - # SKIP clang not installed"; exit 0
    fi
    mkdir -p "$T/corpus"
}

fuzz_build() { # NAME LIBS SRC...
    local name=$1 libs=$2
    shift 2
    # shellcheck disable=SC2086
    if clang -std=gnu11 -g -O1 -D_GNU_SOURCE -I"$ROOT/src" \
          -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
          -o "$T/$name" "$@" $libs -lpthread -lm > "$T/build.log" 2>&1; then
        fuzz_ok "build $name (clang libFuzzer)"
    else
        fuzz_fail "build $name (clang libFuzzer)"; sed 's/^/# /' "$T/build.log" | tail -20
        exit 1
    fi
}

fuzz_build_lib() {
    local pkgs="zlib libzstd liburing slirp libmicrohttpd libevent jansson libseccomp"   # the Makefile's PKGS
    # shellcheck disable=SC2086,SC2016
    if ! (cd "$ROOT" && find src -name '*.c' -not -path 'src/cli/*' -not -path 'src/daemon/main.c' | sort |
            CF="-std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc $(pkg-config --cflags $pkgs)" T="$T" \
            xargs -P2 -I{} sh -c 'mkdir -p "$T/obj/$(dirname {})" &&
                clang $CF -fsanitize=fuzzer-no-link,address,undefined \
                    -fno-sanitize-recover=all -c {} -o "$T/obj/{}.o"') > "$T/build.log" 2>&1; then
        fuzz_fail "build the library for libFuzzer"; sed 's/^/# /' "$T/build.log" | tail -20
        exit 1
    fi
    FUZZ_LIB="$(find "$T/obj" -name '*.o' | sort | tr '\n' ' ') $(pkg-config --libs $pkgs) -lfdt"
}

fuzz_seeds() { cp "$1"/* "$T/corpus/"; }

fuzz_run() { # NAME SECONDS [MAXLEN]
    local name=$1 secs=${FUZZ_SECONDS:-$2}
    if (cd "$T" && "./$name" -max_total_time="$secs" -max_len="${3:-4096}" \
            -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus) > "$T/fuzz.log" 2>&1; then
        fuzz_ok "$name ran ${secs}s without a crash"
        grep -E 'stat::number_of_executed_units' "$T/fuzz.log" | sed 's/^/# /'
    else
        fuzz_fail "$name found a crash"
        grep -E 'ERROR|SUMMARY|#[0-9]+ ' "$T/fuzz.log" | head -30 | sed 's/^/# /'
        ls "$T"/crash-* 2>/dev/null | sed 's/^/# reproducer: /'
        exit 1
    fi
    echo "1..$FUZZ_N"
}
