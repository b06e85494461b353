#!/bin/sh
# Build the Vessel guest initramfs from an unpacked Debian riscv64 kernel
# package and busybox-static.  Normally called by scripts/fetch-guest.sh;
# see docs/guest.md.
#
# Usage: scripts/build-initramfs.sh --kernel-root DIR --busybox FILE
#            --out FILE.cpio.gz [--modules-out DIR] [--init FILE]
#
#   --kernel-root  a tree holding (usr/)lib/modules/<version>/ with
#                  modules.dep and modules.builtin (dpkg-deb -x of linux-image-*)
#   --busybox      the static riscv64 busybox binary
#   --out          the gzip-compressed newc cpio archive to write
#   --modules-out  also copy the chosen, decompressed modules to DIR/<version>/
#   --init         the /init script (default: scripts/guest/init)
#
# Prints the kernel version on stdout.  Runs as any user; the archive's files
# are owned by root and carry a fixed time stamp, so the output depends only on
# the inputs.
set -eu

# Modules the guest loads, in this order, each preceded by whatever
# modules.dep says it needs.  A name ending in "?" is optional; the others
# must exist as a module or be built in (modules.builtin).  crc32c_generic
# comes before ext4/jbd2: they find it through the crypto API (a softdep),
# not through modules.dep.
WANTED="virtio virtio_ring virtio_mmio virtio_pci? virtio_blk virtio_net
virtio_console virtio_rng? virtio_balloon? virtio_input? evdev? crc32c_generic
libcrc32c? crc16? mbcache jbd2 ext4"

HERE=$(cd "$(dirname "$0")" && pwd)
kroot="" busybox="" out="" modout="" init="$HERE/guest/init"
while [ $# -gt 0 ]; do
    case $1 in
    --kernel-root) kroot=$2; shift 2 ;;
    --busybox) busybox=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --modules-out) modout=$2; shift 2 ;;
    --init) init=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-initramfs: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
die() { echo "build-initramfs: error: $*" >&2; exit 1; }
[ -n "$kroot" ] && [ -n "$busybox" ] && [ -n "$out" ] || die "--kernel-root, --busybox and --out are required (see --help)"
[ -f "$busybox" ] || die "no busybox at $busybox"
[ -f "$init" ] || die "no init script at $init"
for t in cpio gzip xz sha256sum; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' not found; run scripts/install-deps.sh"
done

mods=""
for d in "$kroot"/usr/lib/modules/* "$kroot"/lib/modules/*; do
    [ -f "$d/modules.builtin" ] && { mods=$d; break; }
done
[ -n "$mods" ] || die "no lib/modules/<version>/modules.builtin under $kroot"
kver=$(basename "$mods")

# Load order: a depth-first walk of modules.dep, dependencies first.
if [ ! -f "$mods/modules.dep" ]; then
    # Debian's package does not ship modules.dep (its postinst runs depmod):
    # generate it in the unpacked tree (kmod's depmod reads any ELF arch).
    command -v depmod >/dev/null 2>&1 || die "'depmod' not found; run scripts/install-deps.sh (kmod)"
    depbase=$(mktemp -d "${TMPDIR:-/tmp}/vessel-depmod.XXXXXX")
    mkdir -p "$depbase/lib/modules"
    ln -s "$mods" "$depbase/lib/modules/$kver"
    depmod -b "$depbase" "$kver" || { rm -rf "$depbase"; die "depmod failed for $kver"; }
    rm -rf "$depbase"
    [ -f "$mods/modules.dep" ] || die "depmod wrote no modules.dep for $kver"
fi

order=$(awk -v wanted="$WANTED" '
    function norm(p,   n) {
        n = p; sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n)
        gsub(/-/, "_", n); return n
    }
    function visit(n,   i, k, d) {
        if (state[n] == 2) return
        if (state[n] == 1) { print "build-initramfs: dependency loop at " n > "/dev/stderr"; bad = 1; return }
        state[n] = 1
        k = split(deps[n], d, " ")
        for (i = 1; i <= k; i++) visit(d[i])
        state[n] = 2
        print path[n]
    }
    FILENAME ~ /modules\.builtin$/ { builtin[norm($0)] = 1; next }
    {
        p = $1; sub(/:$/, "", p); n = norm(p); path[n] = p; deps[n] = ""
        for (i = 2; i <= NF; i++) deps[n] = deps[n] " " norm($i)
    }
    END {
        nw = split(wanted, w, " ")
        for (i = 1; i <= nw; i++) {
            n = w[i]; req = (n !~ /\?$/); sub(/\?$/, "", n)
            want(n, req)
        }
        exit bad
    }
    function want(n, req) {
        gsub(/-/, "_", n)
        if (n in path) visit(n)
        else if (!(n in builtin) && req) {
            print "build-initramfs: module " n " is neither in modules.dep nor built in" > "/dev/stderr"
            bad = 1
        }
    }' "$mods/modules.builtin" "$mods/modules.dep") || die "cannot resolve the module list of $kver"
[ -n "$order" ] || die "no modules selected from $mods"

stage=$(mktemp -d "${TMPDIR:-/tmp}/vessel-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/usr/sbin" \
    "$stage/dev" "$stage/proc" "$stage/sys" "$stage/run" "$stage/tmp" \
    "$stage/root" "$stage/mnt" "$stage/etc/vessel" "$stage/lib/modules/$kver"
chmod 1777 "$stage/tmp"
chmod 700 "$stage/root"
cp "$busybox" "$stage/bin/busybox"
chmod 755 "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$init" "$stage/init"
chmod 755 "$stage/init"

# Decompress every module (busybox insmod reads only plain ELF .ko files).
: >"$stage/etc/vessel/modules"
for p in $order; do
    plain=${p%.xz}
    plain=${plain%.zst}
    plain=${plain%.gz}
    src=$mods/$p
    dst=$stage/lib/modules/$kver/$plain
    mkdir -p "$(dirname "$dst")"
    case $p in
    *.xz) xz -dc "$src" >"$dst" ;;
    *.zst) zstd -qdc "$src" >"$dst" ;;
    *.gz) gzip -dc "$src" >"$dst" ;;
    *) cp "$src" "$dst" ;;
    esac || die "cannot decompress $p"
    echo "$plain" >>"$stage/etc/vessel/modules"
done
# modules.dep / modules.builtin for the shipped subset, without the .xz suffix
sed -e 's/\.ko\.\(xz\|zst\|gz\)/.ko/g' "$mods/modules.dep" |
    awk 'NR == FNR { keep[$0 ":"] = 1; next } $1 in keep' "$stage/etc/vessel/modules" - \
        >"$stage/lib/modules/$kver/modules.dep"
cp "$mods/modules.builtin" "$stage/lib/modules/$kver/modules.builtin"

echo "$kver" >"$stage/etc/vessel/kernel-version"
cat >"$stage/etc/profile" <<'EOF'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PS1='vessel:\w\$ '
EOF
echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
echo "root:x:0:" >"$stage/etc/group"
printf 'tty:x:5:\n' >>"$stage/etc/group"

if [ -n "$modout" ]; then
    rm -rf "$modout"
    mkdir -p "$modout"
    cp -R "$stage/lib/modules/$kver" "$modout/$kver"
    cp "$stage/etc/vessel/modules" "$modout/$kver/load-order"
fi

# Fixed owner and time stamp: same inputs, same bytes.
find "$stage" -exec touch -h -d @0 {} + 2>/dev/null || true
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
    cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -9n >"$out.tmp" ||
    die "cpio/gzip failed"
mv "$out.tmp" "$out"
echo "$kver"
