/* vesseld: the host daemon (docs/daemon-api.yaml, README "Managing VMs
 * with vesseld").  Options, defaults for the store, the socket and the
 * access file, then the store, supervision and the REST server;
 * SIGTERM/SIGINT end the daemon and leave the VMs running (the next
 * daemon adopts them); SIGHUP re-reads the access file. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "util/util.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: vesseld [options]\n"
        "\n"
        "  --store DIR      the VM store (default: /var/lib/vessel as root, else\n"
        "                   $XDG_DATA_HOME/vessel or ~/.local/share/vessel)\n"
        "  --socket PATH    the REST API's unix socket (default: /run/vessel/vesseld.sock\n"
        "                   as root, else $XDG_RUNTIME_DIR/vessel/vesseld.sock)\n"
        "  --vessel PATH    the vessel binary that runs each VM (default: the one\n"
        "                   beside vesseld)\n"
        "  --access FILE    roles of other users (docs/daemon.md, \"Access control\");\n"
        "                   default: " ACCESS_DEFAULT_FILE " as root (a missing\n"
        "                   default file: nobody but root has a role), none otherwise\n"
        "  --socket-group NAME  as root, the socket's group (mode 0660; default:\n"
        "                   vessel if that group exists, else root's group)\n"
        "  --no-sandbox     run the VMs without their system call filter\n"
        "                   (vessel run --sandbox off; for debugging: every VM's\n"
        "                   info then says \"sandbox\": false)\n"
        "  --no-jail        as root, run the VMs as root in the host's mount\n"
        "                   namespace (by default each VM process is jailed:\n"
        "                   its bundle is all it sees of the host's files, and it\n"
        "                   runs as an unprivileged uid of its own; docs/sandbox.md)\n"
        "  --jail-ids BASE  the jailed VMs' uids and gids: BASE .. BASE+65535, which\n"
        "                   no account may use (default 1000000000)\n"
        "  --list-routes    print the API's routes (METHOD PATTERN ROLE) and exit\n"
        "  -h, --help       this help\n"
        "\n"
        "SIGTERM or SIGINT stops the daemon; the VMs keep running and the next\n"
        "vesseld on the same store adopts them.  SIGHUP re-reads the access file\n"
        "(a bad one is reported and the roles in force are kept).\n");
}

/* path made absolute against the working directory: the VM processes
 * run in their bundles, so every path handed to them must be absolute. */
static char *absolute(char *path)
{
    char cwd[PATH_MAX], *s = NULL;
    if (!path || path[0] == '/')
        return path;
    if (!getcwd(cwd, sizeof(cwd)) || asprintf(&s, "%s/%s", cwd, path) < 0)
        s = NULL;
    free(path);
    return s;
}

static char *default_store(void)
{
    char *s = NULL;
    const char *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (geteuid() == 0)
        return strdup("/var/lib/vessel");
    if (x && *x)
        return asprintf(&s, "%s/vessel", x) < 0 ? NULL : s;
    if (home && *home)
        return asprintf(&s, "%s/.local/share/vessel", home) < 0 ? NULL : s;
    return NULL;
}

static char *default_socket(void)
{
    char *s = NULL;
    const char *x = getenv("XDG_RUNTIME_DIR");
    if (geteuid() == 0)
        return strdup("/run/vessel/vesseld.sock");
    if (x && *x)
        return asprintf(&s, "%s/vessel/vesseld.sock", x) < 0 ? NULL : s;
    return NULL;
}

static char *default_vessel(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return NULL;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash)
        return NULL;
    *slash = 0;
    char *s = NULL;
    return asprintf(&s, "%s/vessel", self) < 0 ? NULL : s;
}

/* The socket's directory, created when missing (the parent exists):
 * 0700 for a user's daemon, 0755 as root so that the socket's group can
 * reach the socket (which guards itself). */
static int socket_dir(const char *sock, bool shared)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", sock);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = 0;
    if (mkdir(dir, shared ? 0755 : 0700) && errno != EEXIST)
        return -errno;
    struct stat st;
    if (shared && !stat(dir, &st) && !(st.st_mode & 0011))
        vlog_warn("--socket %s: its directory is mode %03o: only its owner can reach the "
                  "socket; make it 0755", sock, (unsigned)(st.st_mode & 0777));
    return 0;
}

/* As root: the socket's group (--socket-group NAME or GID; default
 * "vessel" when that group exists, else root's own group). */
static int socket_group(const char *name, uint32_t *gid)
{
    struct group *gr = getgrnam(name ? name : "vessel");
    uint64_t v;
    if (gr) {
        *gid = (uint32_t)gr->gr_gid;
        return 0;
    }
    if (name && !parse_u64(name, &v) && v < UINT32_MAX) {
        *gid = (uint32_t)v;
        return 0;
    }
    if (name)
        return -ENOENT;
    *gid = (uint32_t)getegid();
    return 0;
}

/* SIGHUP: the new table replaces the old only when it loads whole. */
static void reload_access(struct vesseld *d, const char *path, bool missing_ok)
{
    struct access *a;
    char err[1024];
    if (!path)
        return;
    if (access_load(path, missing_ok, &a, err, sizeof(err))) {
        vlog_error("%s; the roles in force are kept", err);
        return;
    }
    pthread_mutex_lock(&d->lock);
    struct access *old = d->access;
    d->access = a;
    pthread_mutex_unlock(&d->lock);
    access_free(old);
    fprintf(stderr, "vesseld: %s re-read: %zu users, %zu groups\n", path, a->nusers,
            a->ngroups);
}

int main(int argc, char **argv)
{
    enum { O_STORE = 256, O_SOCKET, O_VESSEL, O_ROUTES, O_NO_SANDBOX, O_NO_JAIL, O_JAIL_IDS,
           O_ACCESS, O_SOCKET_GROUP };
    static const struct option opts[] = {
        { "store", required_argument, NULL, O_STORE },
        { "socket", required_argument, NULL, O_SOCKET },
        { "vessel", required_argument, NULL, O_VESSEL },
        { "list-routes", no_argument, NULL, O_ROUTES },
        { "no-sandbox", no_argument, NULL, O_NO_SANDBOX },
        { "no-jail", no_argument, NULL, O_NO_JAIL },
        { "jail-ids", required_argument, NULL, O_JAIL_IDS },
        { "access", required_argument, NULL, O_ACCESS },
        { "socket-group", required_argument, NULL, O_SOCKET_GROUP },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vesseld d = { .wake_fd = -1, .lock_fd = -1, .jail_base = JAIL_BASE_DEFAULT };
    bool no_jail = false;
    uint64_t base;
    char err[1024];
    char *access_path = NULL, *group = NULL;
    int c, status = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_STORE: free(d.store); d.store = strdup(optarg); break;
        case O_SOCKET: free(d.socket); d.socket = strdup(optarg); break;
        case O_VESSEL: free(d.vessel); d.vessel = strdup(optarg); break;
        case O_NO_SANDBOX: d.no_sandbox = true; break;
        case O_NO_JAIL: no_jail = true; break;
        case O_JAIL_IDS:
            if (parse_u64(optarg, &base) || base < 1000 || base + JAIL_IDS > UINT32_MAX - 1) {
                vlog_error("--jail-ids '%s' is not valid: expected the first of %u unused "
                           "ids, a decimal number from 1000 to %u", optarg, JAIL_IDS,
                           UINT32_MAX - 1 - JAIL_IDS);
                goto usage_error;
            }
            d.jail_base = (uid_t)base;
            break;
        case O_ACCESS: free(access_path); access_path = strdup(optarg); break;
        case O_SOCKET_GROUP: free(group); group = strdup(optarg); break;
        case O_ROUTES:
            for (size_t i = 0; i < rest_nroutes; i++)
                printf("%s %s %s\n", rest_routes[i].method, rest_routes[i].pattern,
                       access_role_name(rest_routes[i].role));
            status = 0;
            goto out;
        case 'h': usage(stdout); status = 0; goto out;
        default: usage(stderr); goto usage_error;
        }
    }
    if (optind < argc) {
        vlog_error("unexpected argument '%s' (see vesseld --help)", argv[optind]);
        goto usage_error;
    }
    /* The jail takes root (a mount namespace, other ids) and goes with the
     * sandbox: --no-sandbox is the debugging switch for both. */
    d.jail = geteuid() == 0 && !d.no_sandbox && !no_jail;
    if (!d.store && !(d.store = default_store())) {
        vlog_error("no store: give --store DIR (HOME and XDG_DATA_HOME are unset)");
        goto usage_error;
    }
    if (!d.socket && !(d.socket = default_socket())) {
        vlog_error("no socket: give --socket PATH (XDG_RUNTIME_DIR is unset)");
        goto usage_error;
    }
    if (!d.vessel && !(d.vessel = default_vessel())) {
        vlog_error("cannot find the vessel binary beside vesseld: give --vessel PATH");
        goto usage_error;
    }
    if (!(d.store = absolute(d.store)) || !(d.vessel = absolute(d.vessel))) {
        vlog_error("cannot make --store and --vessel absolute: %s", strerror(errno));
        goto usage_error;
    }
    if (access(d.vessel, X_OK)) {
        vlog_error("--vessel %s: %s; expected the vessel binary", d.vessel, strerror(errno));
        goto usage_error;
    }
    d.self_uid = (uint32_t)geteuid();
    if (group && d.self_uid) {
        vlog_error("--socket-group %s: only a daemon run as root shares its socket; a "
                   "user's daemon keeps it 0600", group);
        goto usage_error;
    }
    if (!d.self_uid && socket_group(group, &d.socket_gid)) {
        vlog_error("--socket-group %s: no such group; expected a group name or a numeric "
                   "gid", group);
        goto usage_error;
    }
    d.socket_shared = !d.self_uid;
    /* The default file may be absent (no one else has a role); a file
     * named on the command line must be there. */
    bool access_missing_ok = !access_path;
    if (!access_path && !d.self_uid && !(access_path = strdup(ACCESS_DEFAULT_FILE))) {
        vlog_error("out of memory");
        goto out;
    }
    if (access_path && access_load(access_path, access_missing_ok, &d.access, err,
                                   sizeof(err))) {
        vlog_error("%s", err);
        goto usage_error;
    }
    /* Signals are taken by sigwait in this thread: block them before any
     * thread starts, so that every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_mutex_init(&d.lock, NULL);
    pthread_cond_init(&d.changed, NULL);
    int rc;
    if ((d.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 || events_new(&d.events)) {
        vlog_error("out of resources: %s", strerror(errno));
        goto out;
    }
    if ((rc = socket_dir(d.socket, d.socket_shared))) {
        vlog_error("--socket %s: cannot create its directory: %s", d.socket, strerror(-rc));
        goto out;
    }
    if (store_open(&d, err, sizeof(err)) ||
        audit_open(d.store, 0, &d.audit, err, sizeof(err)) || sv_begin(&d, err, sizeof(err)) ||
        rest_start(&d, err, sizeof(err))) {
        vlog_error("%s", err);
        goto stop;
    }
    if (d.socket_shared)
        fprintf(stderr, "vesseld: serving %s (mode 0660, group %u), store %s, access %s "
                "(%zu users, %zu groups)\n", d.socket, d.socket_gid, d.store,
                access_path ? access_path : "none", d.access ? d.access->nusers : 0,
                d.access ? d.access->ngroups : 0);
    else
        fprintf(stderr, "vesseld: serving %s, store %s\n", d.socket, d.store);
    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig != SIGTERM && sig != SIGINT)
        reload_access(&d, access_path, access_missing_ok);
    status = 0;
stop:
    sv_end(&d);     /* sets quit: console proxies see it within 0.2 s */
    /* The proxies' threads use d: wait for every one to be gone. */
    pthread_mutex_lock(&d.lock);
    while (d.proxies)
        pthread_cond_wait(&d.changed, &d.lock);
    pthread_mutex_unlock(&d.lock);
    rest_stop(&d);
    store_close(&d);
    audit_close(d.audit);
    goto out;
usage_error:
    status = 2;
out:
    events_free(d.events);
    if (d.wake_fd >= 0)
        close(d.wake_fd);
    pthread_mutex_destroy(&d.lock);
    pthread_cond_destroy(&d.changed);
    free(d.store);
    free(d.socket);
    free(d.vessel);
    access_free(d.access);
    free(access_path);
    free(group);
    return status;
}
