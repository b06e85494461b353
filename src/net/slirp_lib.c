/* net: libslirp loaded on demand (slirp_lib.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "net/slirp_lib.h"

#define SLIRP_SONAME "libslirp.so.0"

static struct slirp_lib lib;
static char load_err[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const struct slirp_lib *loaded;

static void load(void)
{
    /* Kept for the process's life: Slirp instances and their timers
     * point into it. */
    void *h = dlopen(SLIRP_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_err, sizeof(load_err), "user-mode networking needs libslirp: %s",
                 dlerror());        /* names the file */
        return;
    }
    static const struct { const char *name; size_t off; } syms[] = {
        { "slirp_new", offsetof(struct slirp_lib, new_) },
        { "slirp_cleanup", offsetof(struct slirp_lib, cleanup) },
        { "slirp_input", offsetof(struct slirp_lib, input) },
        { "slirp_pollfds_fill", offsetof(struct slirp_lib, pollfds_fill) },
        { "slirp_pollfds_poll", offsetof(struct slirp_lib, pollfds_poll) },
        { "slirp_add_hostfwd", offsetof(struct slirp_lib, add_hostfwd) },
        { "slirp_state_save", offsetof(struct slirp_lib, state_save) },
        { "slirp_state_load", offsetof(struct slirp_lib, state_load) },
        { "slirp_state_version", offsetof(struct slirp_lib, state_version) },
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        void *f = dlsym(h, syms[i].name);
        if (!f) {
            snprintf(load_err, sizeof(load_err), "%s has no %s: expected the libslirp "
                     "vessel was built with (4.7 in Debian 12)", SLIRP_SONAME, syms[i].name);
            return;             /* h stays open: harmless, and rare */
        }
        /* Function pointers through void *: POSIX dlsym's documented use. */
        *(void **)((char *)&lib + syms[i].off) = f;
    }
    loaded = &lib;
}

const struct slirp_lib *slirp_lib_load(char *err, size_t errlen)
{
    pthread_once(&once, load);
    if (!loaded && err && errlen)
        snprintf(err, errlen, "%s", load_err);
    return loaded;
}
