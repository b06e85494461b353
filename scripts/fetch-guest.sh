#!/bin/sh
# Fetch the guest artifacts Vessel boots (Debian riscv64 Linux kernel and its
# modules, busybox-static, OpenSBI) from Debian's "trixie" suite and build the
# initramfs.  See docs/guest.md.
#
# Usage: scripts/fetch-guest.sh [--refresh] [--rebuild] [--quiet] [--help]
#
#   --refresh   re-read the archive indexes (apt-get update) and fetch newer
#               packages if the suite moved on
#   --rebuild   rebuild the initramfs and re-extract the outputs from the
#               cached .deb files (no network unless a .deb is bad/missing)
#   --quiet     print only the final KEY=PATH lines
#
# Everything lives in ${VESSEL_GUEST_DIR:-$HOME/.cache/vessel/guest}.  When
# the outputs are present and match $DIR/MANIFEST the script does no network
# access and returns at once.  The mirror is taken at run time from the
# host's own apt sources; no root is needed.
#
# Output (stdout), one per line:
#   VESSEL_GUEST_DIR=...  KERNEL=...  INITRD=...  FIRMWARE=...  MODULES=...
#   KERNEL_VERSION=...
set -eu

SUITE=trixie
ARCH=riscv64
PACKAGES_FIXED="busybox-static opensbi"
KERNEL_META=linux-image-riscv64
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# Bump when the meaning of the outputs changes in a way the script hashes
# below do not capture.
RECIPE_VERSION=1

HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${VESSEL_GUEST_DIR:-${HOME:?HOME is not set}/.cache/vessel/guest}

refresh=0 rebuild=0 quiet=0
for a in "$@"; do
    case $a in
    --refresh) refresh=1 ;;
    --rebuild) rebuild=1 ;;
    --quiet | -q) quiet=1 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fetch-guest: unknown option '$a' (try --help)" >&2; exit 2 ;;
    esac
done

say() { [ "$quiet" = 1 ] || echo "fetch-guest: $*" >&2; }
die() { echo "fetch-guest: error: $*" >&2; exit 1; }

# The source tree must not hold the cache.
case "$DIR/" in
"$(cd "$HERE/.." && pwd)"/*) die "VESSEL_GUEST_DIR ($DIR) is inside the source tree; put it elsewhere" ;;
esac

# Hash of everything that decides what the outputs look like.
recipe() {
    {
        echo "recipe $RECIPE_VERSION suite $SUITE arch $ARCH"
        cat "$HERE/build-initramfs.sh" "$HERE/guest/init"
    } | sha256sum | cut -d' ' -f1
}

# --- fast path: outputs present and intact ----------------------------------
REQUIRED="Image initramfs.cpio.gz opensbi/fw_dynamic.bin VERSION"

outputs_ok() {
    [ -s "$DIR/MANIFEST" ] || return 1
    for f in $REQUIRED; do
        grep -q "  $f\$" "$DIR/MANIFEST" || return 1
    done
    (cd "$DIR" && sha256sum --quiet --strict -c MANIFEST) >/dev/null 2>&1 || return 1
    grep -qx "recipe=$(recipe)" "$DIR/VERSION" || return 1
}

print_paths() {
    kver=$(sed -n 's/^kernel=//p' "$DIR/VERSION")
    echo "VESSEL_GUEST_DIR=$DIR"
    echo "KERNEL=$DIR/Image"
    echo "INITRD=$DIR/initramfs.cpio.gz"
    echo "FIRMWARE=$DIR/opensbi/fw_dynamic.bin"
    echo "MODULES=$DIR/modules/$kver"
    echo "KERNEL_VERSION=$kver"
}

if [ "$refresh" = 0 ] && [ "$rebuild" = 0 ] && outputs_ok; then
    print_paths
    exit 0
fi

for t in apt-get apt-cache apt-config dpkg-deb cpio gzip xz sha256sum flock; do
    command -v "$t" >/dev/null 2>&1 ||
        die "'$t' not found; run scripts/install-deps.sh (needs apt, dpkg, cpio, gzip, xz-utils, coreutils, util-linux)"
done
[ -r "$KEYRING" ] || die "$KEYRING missing; install the debian-archive-keyring package"

mkdir -p "$DIR" || die "cannot create $DIR"
exec 9>"$DIR/.lock"
flock 9 || die "cannot lock $DIR/.lock"
# Another run may have finished while we waited for the lock.
if [ "$refresh" = 0 ] && [ "$rebuild" = 0 ] && outputs_ok; then
    print_paths
    exit 0
fi

# --- the Debian mirror, from the host's apt sources ---------------------------
# Prints candidate archive URIs, best first.  A candidate is a "deb" entry whose
# suite is a Debian release name (not -security) and whose URI is not a
# security archive; entries whose URI path ends in /debian come first.
DEBIAN_SUITES='^(sid|unstable|testing|stable|oldstable|oldoldstable|experimental|buzz|rex|bo|hamm|slink|potato|woody|sarge|etch|lenny|squeeze|wheezy|jessie|stretch|buster|bullseye|bookworm|trixie|forky|duke)(-updates|-backports|-backports-sloppy|-proposed-updates)?$'

# VESSEL_APT_ETC: where to read the host's sources (default /etc/apt; for tests)
APT_ETC=${VESSEL_APT_ETC:-/etc/apt}

source_entries() {
    # one "URI SUITE" line per (uri, suite) of every enabled deb entry
    for f in "$APT_ETC/sources.list" "$APT_ETC"/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        sed -e 's/#.*//' "$f" | awk '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if (i + 1 <= NF) print $i, $(i + 1)
            }'
    done
    for f in "$APT_ETC"/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        # deb822 stanzas, separated by blank lines; fields may continue on
        # lines starting with white space
        sed -e '/^#/d' "$f" | awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && enabled !~ /^[Nn]o/) {
                    nu = split(uris, u, " "); ns = split(suites, s, " ")
                    for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++) print u[a], s[b]
                }
                types = uris = suites = enabled = ""; last = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/ { if (last != "") { val[last] = val[last] " " $0; set(last) } next }
            {
                k = tolower($0); sub(/:.*/, "", k)
                v = $0; sub(/^[^:]*:[ \t]*/, "", v)
                last = k; val[k] = v; set(k)
            }
            function set(k) {
                if (k == "types") types = val[k]
                else if (k == "uris") uris = val[k]
                else if (k == "suites") suites = val[k]
                else if (k == "enabled") enabled = val[k]
            }
            END { flush() }'
    done
}

mirror_candidates() {
    source_entries | awk -v re="$DEBIAN_SUITES" '
        { uri = $1; sub(/\/+$/, "", uri) }
        uri !~ /^(https?|ftp|file):\/\// { next }
        $2 !~ re { next }
        uri ~ /security/ { next }
        seen[uri]++ { next }
        { print ((uri ~ /\/debian$/ || uri ~ /\/archive\/debian\/[0-9]+T[0-9]+Z$/) ? 0 : 1), uri }' |
        sort -s -k1,1n | cut -d' ' -f2
}

# --- private apt configuration -------------------------------------------------
APTDIR=$DIR/apt
export APT_CONFIG="$APTDIR/apt.conf"

write_apt_conf() { # $1 = mirror URI
    mkdir -p "$APTDIR/etc/apt.conf.d" "$APTDIR/etc/preferences.d" \
        "$APTDIR/etc/sources.list.d" "$APTDIR/etc/trusted.gpg.d" \
        "$APTDIR/state/lists/partial" "$APTDIR/cache/archives/partial"
    : >"$APTDIR/state/status"
    snapshot=""
    case $1 in
    */archive/*/[0-9]*T[0-9]*Z)
        # a snapshot-style archive: its Release files are never refreshed
        snapshot='Acquire::Check-Valid-Until "false";'
        ;;
    esac
    sandbox=""
    [ "$(id -u)" = 0 ] && sandbox='APT::Sandbox::User "root";'
    # keep the host's proxy settings, nothing else of its configuration
    proxy=$(env -u APT_CONFIG apt-config dump 2>/dev/null |
        grep -E '^Acquire::[A-Za-z]+::Proxy(::[^ ]+)? ' || true)
    cat >"$APTDIR/apt.conf.tmp" <<EOF
// generated by scripts/fetch-guest.sh; private to the Vessel guest cache
Dir::Etc "$APTDIR/etc";
Dir::Etc::main "$APTDIR/etc/apt.conf";
Dir::Etc::Parts "$APTDIR/etc/apt.conf.d";
Dir::Etc::sourcelist "$APTDIR/etc/sources.list";
Dir::Etc::sourceparts "$APTDIR/etc/sources.list.d";
Dir::Etc::preferences "$APTDIR/etc/preferences";
Dir::Etc::preferencesparts "$APTDIR/etc/preferences.d";
Dir::Etc::trusted "$APTDIR/etc/trusted.gpg";
Dir::Etc::trustedparts "$APTDIR/etc/trusted.gpg.d";
Dir::State "$APTDIR/state";
Dir::State::status "$APTDIR/state/status";
Dir::Cache "$APTDIR/cache";
Dir::Log "$APTDIR/log";
APT::Architecture "$ARCH";
APT::Architectures { "$ARCH"; };
APT::Get::AllowUnauthenticated "false";
Acquire::Languages "none";
Acquire::PDiffs "false";
Acquire::Retries "3";
Acquire::http::Timeout "60";
$snapshot
$sandbox
$proxy
EOF
    mv "$APTDIR/apt.conf.tmp" "$APTDIR/apt.conf"
    echo "deb [arch=$ARCH signed-by=$KEYRING] $1 $SUITE main" >"$APTDIR/etc/sources.list"
}

apt_update() {
    cands=$(mirror_candidates)
    [ -n "$cands" ] || die "no Debian archive found in $APT_ETC/sources.list{,.d/*.list,.d/*.sources}"
    for m in $cands; do
        say "reading the $SUITE/$ARCH index from the host's Debian mirror"
        write_apt_conf "$m"
        if apt-get -q -o Debug::NoLocking=1 update >"$APTDIR/update.log" 2>&1 &&
            ! grep -qE '^(W|E): ' "$APTDIR/update.log" &&
            ls "$APTDIR/state/lists/"*"_dists_${SUITE}_main_binary-${ARCH}_Packages"* >/dev/null 2>&1; then
            return 0
        fi
        say "this mirror does not serve $SUITE/$ARCH (see $APTDIR/update.log); trying the next one"
    done
    cat "$APTDIR/update.log" >&2
    die "none of the host's Debian mirrors serves '$SUITE' for $ARCH"
}

have_lists() {
    [ -s "$APTDIR/apt.conf" ] &&
        ls "$APTDIR/state/lists/"*"_dists_${SUITE}_main_binary-${ARCH}_Packages"* >/dev/null 2>&1
}

# "package version sha256 size filename" of the candidate of package $1
pkg_info() {
    apt-cache show --no-all-versions "$1" 2>/dev/null | awk -v p="$1" '
        /^Version: / { v = $2 } /^SHA256: / { h = $2 } /^Size: / { s = $2 }
        /^Filename: / { f = $2 }
        END { if (v != "" && h != "") print p, v, h, s, f }'
}

kernel_package() {
    apt-cache show --no-all-versions "$KERNEL_META" 2>/dev/null |
        sed -n 's/^Depends: .*\(linux-image-[^ ,]*-riscv64\).*/\1/p' | head -n1
}

# --- resolve and fetch the packages -------------------------------------------
[ "$refresh" = 1 ] && rm -f "$APTDIR/state/lists/"*_Packages* 2>/dev/null
have_lists || apt_update
DEBS=$DIR/debs
mkdir -p "$DEBS"

resolve() {
    KPKG=$(kernel_package)
    [ -n "$KPKG" ] || return 1
    INFO=""
    for p in "$KPKG" $PACKAGES_FIXED; do
        i=$(pkg_info "$p")
        [ -n "$i" ] || return 1
        INFO="$INFO$i
"
    done
}
if ! resolve; then
    apt_update
    resolve || die "cannot find $KERNEL_META / $PACKAGES_FIXED in $SUITE/$ARCH"
fi

deb_ok() { # file sha256 size
    [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$3" ] &&
        [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

fetch_one() { # package version sha256 size filename
    f=$DEBS/$(basename "$5")
    if deb_ok "$f" "$3" "$4"; then
        echo "$f"
        return 0
    fi
    [ -f "$f" ] && say "cached $(basename "$f") is damaged; fetching it again"
    rm -f "$f"
    say "downloading $1 $2 ($(($4 / 1024)) KiB)"
    tmp=$DEBS/.download
    rm -rf "$tmp" && mkdir -p "$tmp"
    # apt-get download checks size and SHA256 against the signed index
    (cd "$tmp" && apt-get -q -o Debug::NoLocking=1 download "$1=$2") >"$DEBS/download.log" 2>&1 || {
        cat "$DEBS/download.log" >&2
        return 1
    }
    got=$(ls "$tmp"/*.deb 2>/dev/null | head -n1)
    if [ -z "$got" ] || ! deb_ok "$got" "$3" "$4"; then
        echo "fetch-guest: downloaded $1 does not match the index" >&2
        return 1
    fi
    mv "$got" "$f"
    rm -rf "$tmp"
    echo "$f"
}

fetch_all() {
    FILES=""
    # shellcheck disable=SC2086
    echo "$INFO" | while read -r p v h s fn; do
        [ -n "$p" ] || continue
        fetch_one "$p" "$v" "$h" "$s" "$fn" || exit 1
    done >"$DEBS/.files" || return 1
    FILES=$(cat "$DEBS/.files")
}

if ! fetch_all; then
    # the index may be stale (the mirror dropped that version): refresh once
    say "download failed; refreshing the index and retrying"
    apt_update
    resolve || die "cannot find $KERNEL_META / $PACKAGES_FIXED in $SUITE/$ARCH"
    fetch_all || die "could not download the guest packages (see above)"
fi

# drop cached .debs no longer wanted
for f in "$DEBS"/*.deb; do
    [ -e "$f" ] || continue
    echo "$FILES" | grep -qxF "$f" || rm -f "$f"
done

# --refresh with nothing new: keep the outputs
packages_line() { echo "$INFO" | awk 'NF { print "package=" $1 " " $2 " sha256:" $3 }'; }
if [ "$rebuild" = 0 ] && outputs_ok &&
    [ "$(packages_line)" = "$(grep '^package=' "$DIR/VERSION")" ]; then
    say "the outputs are up to date"
    print_paths
    exit 0
fi

# --- extract ---------------------------------------------------------------------
say "extracting packages"
WORK=$DIR/.work
rm -rf "$WORK"
mkdir -p "$WORK/root"
trap 'rm -rf "$WORK"' EXIT
for f in $FILES; do
    dpkg-deb -x "$f" "$WORK/root" || die "cannot unpack $f"
done
R=$WORK/root

img=$(ls "$R"/boot/vmlinu[xz]-* 2>/dev/null | head -n1)
[ -n "$img" ] || die "no /boot/vmlinux-* in $KPKG"
# RISC-V Image header: magic2 "RSC\x05" at offset 56
magic=$(dd if="$img" bs=1 skip=56 count=4 2>/dev/null | od -An -tx1 | tr -d ' \n')
[ "$magic" = 52534305 ] || die "$img is not a RISC-V Image (magic at 56 is '$magic')"

fw=$R/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
[ -s "$fw" ] || die "opensbi package has no generic/fw_dynamic.bin"

bb=""
for c in "$R/usr/bin/busybox" "$R/bin/busybox"; do
    [ -f "$c" ] && bb=$c && break
done
[ -n "$bb" ] || die "busybox-static has no busybox binary"

# --- build the outputs ------------------------------------------------------------
rm -f "$DIR/MANIFEST"
say "building the initramfs"
"$HERE/build-initramfs.sh" --kernel-root "$R" --busybox "$bb" \
    --out "$WORK/initramfs.cpio.gz" --modules-out "$WORK/modules" \
    --init "$HERE/guest/init" >"$WORK/kver" ||
    die "building the initramfs failed"
kver=$(cat "$WORK/kver")

mkdir -p "$DIR/opensbi"
cp "$img" "$DIR/Image.tmp" && mv "$DIR/Image.tmp" "$DIR/Image"
cp "$fw" "$DIR/opensbi/fw_dynamic.bin.tmp" && mv "$DIR/opensbi/fw_dynamic.bin.tmp" "$DIR/opensbi/fw_dynamic.bin"
rm -f "$DIR/opensbi/fw_jump.bin"
if [ -f "${fw%/*}/fw_jump.bin" ]; then
    cp "${fw%/*}/fw_jump.bin" "$DIR/opensbi/fw_jump.bin"
fi
mv "$WORK/initramfs.cpio.gz" "$DIR/initramfs.cpio.gz"
rm -rf "$DIR/modules"
mv "$WORK/modules" "$DIR/modules"
{
    echo "kernel=$kver"
    packages_line
    echo "suite=$SUITE"
    echo "arch=$ARCH"
    echo "recipe=$(recipe)"
} >"$DIR/VERSION"

(cd "$DIR" && find Image initramfs.cpio.gz opensbi modules VERSION -type f | LC_ALL=C sort |
    xargs sha256sum) >"$DIR/MANIFEST.tmp"
mv "$DIR/MANIFEST.tmp" "$DIR/MANIFEST"
outputs_ok || die "the outputs do not verify against $DIR/MANIFEST"
say "done: Linux $kver"
print_paths
