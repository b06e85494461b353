#!/bin/bash
# Build the virtio fuzz target (virtio-mmio registers + the split-virtqueue
# walker, and the balloon's queues) with clang + libFuzzer + ASan/UBSan and run it briefly from
# generated seeds (TAP).  FUZZ_SECONDS overrides 20 s.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-vfuzz.XXXXXX")
trap 'rm -rf "$T"' EXIT
if ! command -v clang >/dev/null; then
    echo "ok 1 - # SKIP clang not installed"; exit 0
fi
SRCS="$ROOT/tests/fuzz/fuzz_virtq.c $ROOT/src/virtio/mmio.c $ROOT/src/virtio/virtqueue.c $ROOT/src/virtio/device.c $ROOT/src/virtio/balloon.c $ROOT/src/mem/mem.c $ROOT/src/mem/lease.c $(ls "$ROOT"/src/util/*.c)"
# shellcheck disable=SC2086
if clang -std=gnu11 -g -O1 -D_GNU_SOURCE -I"$ROOT/src" \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      -o "$T/fuzz_virtq" $SRCS -lfdt -lpthread -lm > "$T/build.log" 2>&1; then
    echo "ok 1 - build fuzz_virtq (clang libFuzzer)"
else
    echo "not ok 1 - build fuzz_virtq (clang libFuzzer)"; sed 's/^/# /' "$T/build.log" | tail -20
    exit 1
fi
# Seeds: a bring-up with one well-formed 2-descriptor chain made available
# and notified on queue 0; the same with an indirect table; an empty run.
mkdir -p "$T/corpus"
desc() { # addr(8) len(4) flags(2) next(2) as a RAM-write op at offset $1
    printf '\x02'; printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $(($1 >> 8)))"
    printf '\x10'; printf "$2"
}
{
    printf '\x00'
    desc 0x1000 '\x00\x80\x00\x80\x00\x00\x00\x00\x10\x00\x00\x00\x01\x00\x01\x00'
    desc 0x1010 '\x00\x90\x00\x80\x00\x00\x00\x00\x20\x00\x00\x00\x02\x00\x00\x00'
    printf '\x02\x04\x20\x02\x00\x00'       # avail ring[0] = 0
    printf '\x02\x02\x20\x02\x01\x00'       # avail idx = 1
    printf '\x04\x00'                       # notify queue 0
} > "$T/corpus/seed-chain"
{
    printf '\x00'
    desc 0x1000 '\x00\xa0\x00\x80\x00\x00\x00\x00\x20\x00\x00\x00\x04\x00\x00\x00'
    desc 0xa000 '\x00\x80\x00\x80\x00\x00\x00\x00\x10\x00\x00\x00\x01\x00\x01\x00'
    desc 0xa010 '\x00\x90\x00\x80\x00\x00\x00\x00\x20\x00\x00\x00\x02\x00\x00\x00'
    printf '\x02\x04\x20\x02\x00\x00\x02\x02\x20\x02\x01\x00\x03\x00'
} > "$T/corpus/seed-indirect"
printf '\x01\x01\x00\x00\x04' > "$T/corpus/seed-regs"
# The balloon: the same chain on inflateq (its frame numbers read from RAM).
{ printf '\x02'; tail -c +2 "$T/corpus/seed-chain"; } > "$T/corpus/seed-balloon"
if (cd "$T" && ./fuzz_virtq -max_total_time="${FUZZ_SECONDS:-20}" -max_len=4096 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus) > "$T/fuzz.log" 2>&1; then
    echo "ok 2 - fuzz_virtq ran ${FUZZ_SECONDS:-20}s without a crash"
    grep -E 'stat::number_of_executed_units|cov:' "$T/fuzz.log" | tail -2 | sed 's/^/# /'
else
    echo "not ok 2 - fuzz_virtq found a crash"
    grep -E 'ERROR|SUMMARY|#[0-9]+ ' "$T/fuzz.log" | head -30 | sed 's/^/# /'
    ls "$T"/crash-* 2>/dev/null | sed 's/^/# reproducer: /'
    exit 1
fi
echo "1..2"
