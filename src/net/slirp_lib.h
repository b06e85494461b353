/* net: libslirp, loaded when the first user-mode card opens (slirp_lib.c).
 *
 * Only user-mode networking needs libslirp, and it brings GLib and PCRE2:
 * three shared libraries that every VM process would otherwise map at
 * its start (about 1 ms of it on a host where page faults are dear,
 * docs/snapshot.md), used by none but those with `--net user`. */
#ifndef VESSEL_NET_SLIRP_LIB_H
#define VESSEL_NET_SLIRP_LIB_H

#include <stddef.h>

#include <libslirp.h>

/* The libslirp calls slirp.c makes, with libslirp.h's own signatures. */
struct slirp_lib {
    __typeof__(slirp_new) *new_;
    __typeof__(slirp_cleanup) *cleanup;
    __typeof__(slirp_input) *input;
    __typeof__(slirp_pollfds_fill) *pollfds_fill;
    __typeof__(slirp_pollfds_poll) *pollfds_poll;
    __typeof__(slirp_add_hostfwd) *add_hostfwd;
    __typeof__(slirp_state_save) *state_save;
    __typeof__(slirp_state_load) *state_load;
    __typeof__(slirp_state_version) *state_version;
};

/* Load libslirp.so.0 (once per process; any thread) and return its calls,
 * or NULL with a one-line message naming the library and the loader's
 * error in err (errlen bytes; may be NULL).  The table stays valid for
 * the process's life. */
const struct slirp_lib *slirp_lib_load(char *err, size_t errlen);

#endif
