#!/bin/bash
# Daemon benchmark: API latency with 50 VMs, start to first instruction,
# the daemon's and each VM process's memory.  See measure.py for what each
# row measures and the targets.
#   bench/daemon/run.sh [nvms]      (default 50)
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s build/release/vessel build/release/vesseld guests >/dev/null
T=$(mktemp -d "${TMPDIR:-/var/tmp}/vessel-daemonbench.XXXXXX")
trap 'rm -rf "$T"' EXIT
python3 bench/daemon/measure.py build/release/vesseld build/release/vessel \
    build/guest/cli/idle.elf "$T" "${1:-50}"
