#!/bin/bash
# A console output that nobody reads (a stopped terminal, a full pipe) must
# not keep C-a x or SIGTERM/SIGINT/SIGHUP from ending `vessel run`: exit
# status 4 or 128 + signo within seconds, the terminal settings restored,
# the dropped bytes reported (tests/cli/console_stall.py).
set -u
cd "$(dirname "$0")/../.."
VESSEL=${VESSEL:-build/release/vessel}
ELF=${BUILD_GUEST:-build/guest}/cli/console_spam.elf
exec timeout 300 python3 tests/cli/console_stall.py "$VESSEL" "$ELF"
