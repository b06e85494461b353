# Shared apt helpers for scripts/fetch-guest.sh and scripts/build-rootfs.sh
# (sourced, POSIX sh).  Finds the Debian archive in the host's own apt
# sources, so that no mirror is ever written into the source tree.
#
# Provides: DEBIAN_SUITES, APT_ETC, source_entries, mirror_candidates.

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

