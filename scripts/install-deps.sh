#!/bin/sh
# Install Vessel's build and test dependencies from Debian's archive when
# any is missing.  Idempotent: does nothing (and needs no network) when all
# packages are present.  --bench adds what only benchmarks need (the
# riscv64 Linux cross-compiler and C library: bench/cpu/coremark.sh).
#
# usage: scripts/install-deps.sh [--bench]
set -eu
PKGS="build-essential pkg-config libcmocka-dev libfdt-dev device-tree-compiler
gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf qemu-system-misc
qemu-utils liburing-dev libslirp-dev libglib2.0-dev zlib1g-dev libzstd-dev libmicrohttpd-dev libevent-dev libjansson-dev libseccomp-dev clang libclang-rt-14-dev
cpio xz-utils kmod bc python3 python3-yaml curl valgrind
mmdebstrap arch-test qemu-user-static binfmt-support e2fsprogs openssh-client iperf3"
case "${1:-}" in
--bench) PKGS="$PKGS gcc-riscv64-linux-gnu libc6-dev-riscv64-cross" ;;
"") ;;
*) echo "install-deps: unknown option '$1' (accepted: --bench)" >&2; exit 2 ;;
esac
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
