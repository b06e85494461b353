/* vessel run: parse options into a struct vm_config, create the VM
 * through the vmm/ API, and connect its console to the terminal (raw
 * mode, the C-a keys) and its life to the process (signals, exit
 * status).  Everything else is the VM's. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/console.h"
#include "cli/term.h"
#include "util/util.h"
#include "vmm/jail.h"
#include "vmm/sandbox.h"
#include "vmm/vmm.h"

#define MAX_DEVICE_ARGS 64         /* --disk/--net parsed before the VM
                                      checks them against its slots */

/* Console output still pending at the end gets this long to go out while
 * the reader keeps taking it: after a poweroff the last lines matter;
 * after C-a x or a signal the user wants the prompt back. */
#define FLUSH_IDLE_MS_POWEROFF 2000
#define FLUSH_IDLE_MS_STOP 200

/* "4K", "512M", "1T": a size for messages, in the largest unit that
 * divides it. */
static const char *size_str(uint64_t v, char *buf, size_t len)
{
    static const char units[] = "KMGT";
    int u = -1;
    while (u < 3 && v && !(v & 1023)) {
        v >>= 10;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%llu", (unsigned long long)v);
    else
        snprintf(buf, len, "%llu%c", (unsigned long long)v, units[u]);
    return buf;
}

/* Memory size: a plain number means MiB (as QEMU's -m); decimal only, see
 * parse_size. */
static int parse_memory(const char *s, uint64_t *out)
{
    uint64_t v;
    size_t n = strlen(s);
    if (n && s[n - 1] >= '0' && s[n - 1] <= '9') {
        if (parse_u64(s, &v) || v > (UINT64_MAX >> 20))
            return -EINVAL;
        v <<= 20;
    } else if (parse_size(s, &v)) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* Parse on|off for --disk KEY=VALUE. */
static int parse_onoff(const char *spec, const char *key, const char *v, bool *out)
{
    if (!strcmp(v, "on")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "off")) {
        *out = false;
        return 0;
    }
    vlog_error("--disk '%s': %s='%s' is not valid, expected on or off", spec, key, v);
    return -EINVAL;
}

/* --disk FILE[,format=raw|qcow2|vpc|vdi|vmdk][,readonly=on|off][,snapshot=on|off]
 *        [,cache=writeback|none|unsafe][,backing-dir=DIR]...; ",," stands
 *        for a comma in FILE.
 * *storage receives a malloc'd copy holding the strings d points into. */
static int parse_disk(const char *spec, struct vm_disk *d, char **storage)
{
    size_t n = strlen(spec);
    char *buf = malloc(n + 2);      /* FILE + NUL, then the options + NUL */
    if (!buf)
        return -ENOMEM;
    *storage = buf;
    *d = (struct vm_disk){ .format = VM_DISK_PROBE, .cache = VM_CACHE_WRITEBACK };
    /* FILE up to the first single comma. */
    size_t i = 0, o = 0;
    while (i < n) {
        if (spec[i] == ',') {
            if (spec[i + 1] == ',') {
                buf[o++] = ',';
                i += 2;
                continue;
            }
            break;
        }
        buf[o++] = spec[i++];
    }
    buf[o++] = 0;
    d->path = buf;
    if (!*d->path) {
        vlog_error("--disk '%s': no file name, expected FILE[,format=raw|qcow2|vpc|vdi|vmdk]"
                   "[,readonly=on|off][,snapshot=on|off][,cache=writeback|none|unsafe]"
                   "[,backing-dir=DIR]...", spec);
        return -EINVAL;
    }
    char *opts = buf + o;
    memcpy(opts, spec + i, n - i + 1);
    char *save = NULL;
    for (char *kv = strtok_r(opts, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            vlog_error("--disk '%s': option '%s' has no value, expected KEY=VALUE with "
                       "KEY one of format, readonly, snapshot, cache, backing-dir", spec, kv);
            return -EINVAL;
        }
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(kv, "format")) {
            static const struct { const char *name; enum vm_disk_format f; } fmts[] = {
                { "raw", VM_DISK_RAW }, { "qcow2", VM_DISK_QCOW2 }, { "vpc", VM_DISK_VPC },
                { "vhd", VM_DISK_VPC }, { "vdi", VM_DISK_VDI }, { "vmdk", VM_DISK_VMDK },
                { "vhdx", VM_DISK_VHDX },
            };
            size_t k = 0;
            while (k < ARRAY_SIZE(fmts) && strcmp(v, fmts[k].name))
                k++;
            if (k == ARRAY_SIZE(fmts)) {
                vlog_error("--disk '%s': unknown format '%s', expected raw, qcow2, vpc (or "
                           "vhd), vdi, vmdk or vhdx", spec, v);
                return -EINVAL;
            }
            d->format = fmts[k].f;
        } else if (!strcmp(kv, "readonly")) {
            if (parse_onoff(spec, kv, v, &d->read_only))
                return -EINVAL;
        } else if (!strcmp(kv, "snapshot")) {
            if (parse_onoff(spec, kv, v, &d->snapshot))
                return -EINVAL;
        } else if (!strcmp(kv, "cache")) {
            if (!strcmp(v, "writeback"))
                d->cache = VM_CACHE_WRITEBACK;
            else if (!strcmp(v, "none"))
                d->cache = VM_CACHE_NONE;
            else if (!strcmp(v, "unsafe"))
                d->cache = VM_CACHE_UNSAFE;
            else {
                vlog_error("--disk '%s': cache='%s' is not valid, expected writeback, "
                           "none or unsafe", spec, v);
                return -EINVAL;
            }
        } else if (!strcmp(kv, "backing-dir")) {
            if (!*v || d->nbacking_dirs == VM_MAX_BACKING_DIRS) {
                vlog_error("--disk '%s': backing-dir='%s': expected a directory, at most "
                           "%d times", spec, v, VM_MAX_BACKING_DIRS);
                return -EINVAL;
            }
            d->backing_dirs[d->nbacking_dirs++] = v;
        } else {
            vlog_error("--disk '%s': unknown option '%s', expected format, readonly, "
                       "snapshot, cache or backing-dir", spec, kv);
            return -EINVAL;
        }
    }
    return 0;
}

/* The process-wide part of running a VM, set up here once: SIGTERM,
 * SIGINT and SIGHUP are blocked in every thread (the VM's threads inherit
 * the mask: create them after this) and read from a signalfd by the run
 * loop, which stops the VM cleanly (exit status 128 + signo).  SIGINT
 * comes from the terminal only when stdin is not a terminal in raw mode
 * (there C-c goes to the guest); a SIGINT sent with kill(1) ends the run
 * either way.  SIGPIPE is ignored: a console output that goes away gives
 * EPIPE and its bytes are discarded, the VM keeps running.  Returns the
 * descriptor, or -1 (printed) when signalfd failed: then the signals keep
 * their default action. */
static int run_signals(void)
{
    int fd = term_signals();
    if (fd < 0)
        vlog_warn("cannot read SIGTERM/SIGINT/SIGHUP from a signalfd: %s; they will end "
                  "the VM without closing its disks", strerror(-fd));
    return fd;
}

static const char *signal_name(int signo)
{
    switch (signo) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
    }
}

/* A signal arrived: its number, or 0 when the read found none. */
static int read_signal(int fd)
{
    struct signalfd_siginfo si;
    ssize_t n = read(fd, &si, sizeof(si));
    return n == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

/* stderr takes a line now without blocking (a terminal or pipe that is
 * not being read would not).  The VM's log lines come from its threads,
 * which must never wait for stderr; the summary lines at the end must not
 * keep a stalled terminal from getting its process back. */
static bool stderr_writable(void)
{
    struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/* The VM's log sink: one VM per process, so its name is in the line only
 * when --name gave one (opaque non-NULL): the daemon's VMs log to files
 * that are read side by side. */
static void run_log(void *opaque, enum vm_log_level level, const char *name, const char *msg)
{
    if (!stderr_writable())
        return;
    fprintf(stderr, "vessel: %s%s%s%s\n", opaque ? name : "", opaque ? ": " : "",
            level == VM_LOG_WARN ? "warning: " : "", msg);
}

/* The VM's event callback (its event thread): wake the run loop, which
 * reads vm_state. */
static void run_event(void *opaque, struct vm *vm, const struct vm_event *ev)
{
    int fd = *(const int *)opaque;
    uint64_t one = 1;
    (void)ev;
    /* The sandbox's test hook, armed only by VESSEL_TEST_SECCOMP_EXECVE:
     * a forbidden call from this thread, which existed before the filter
     * went on (sandbox.h). */
    vm_sandbox_test_execve(vm);
    /* Fails only when the counter is about to overflow: already awake. */
    if (write(fd, &one, sizeof(one)) < 0)
        return;
}

static size_t console_source(void *opaque, void *buf, size_t len)
{
    return vm_console_read(opaque, buf, len);
}

/* How a run ended. */
enum run_end {
    END_STOPPED,        /* the VM stopped by itself (vm_stop_info) */
    END_QUIT,           /* C-a x */
    END_SIGNAL,         /* a signal from the signalfd */
    END_FAILED,         /* poll failed */
};

struct run {
    struct vm *vm;
    struct term *term;
    struct console *cons;       /* --console-log/--console-sock, or NULL */
    term_source_fn src;         /* where console output is read from */
    void *src_opaque;
    int event_fd;       /* written by run_event */
    int signal_fd;      /* or -1 */
    int signo;
};

/* Copy stdin to the guest (watching for the C-a keys) and the guest's
 * console to stdout, until the VM stops, the user quits or a signal
 * arrives.  No timeout: everything that can end the loop wakes a
 * descriptor it polls. */
static enum run_end run_loop(struct run *r)
{
    bool stdin_open = true;
    while (vm_state(r->vm) != VM_STATE_STOPPED) {
        struct pollfd p[6];
        int np = 0, sig = -1, out = -1, in = -1, con = 0, ncon;
        p[np++] = (struct pollfd){ .fd = r->event_fd, .events = POLLIN };
        if (r->signal_fd >= 0) {
            sig = np;
            p[np++] = (struct pollfd){ .fd = r->signal_fd, .events = POLLIN };
        }
        out = np;
        if (term_out_pending(r->term))
            p[np++] = (struct pollfd){ .fd = term_out_fd(r->term), .events = POLLOUT };
        else
            p[np++] = (struct pollfd){ .fd = vm_console_fd(r->vm), .events = POLLIN };
        if (stdin_open) {
            in = np;
            p[np++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
        }
        con = np;
        ncon = console_pollfds(r->cons, p + np);
        np += ncon;
        if (poll(p, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            vlog_error("console: poll: %s; stopping the VM", strerror(errno));
            return END_FAILED;
        }
        if (p[0].revents) {
            uint64_t n;
            if (read(r->event_fd, &n, sizeof(n)) < 0)
                n = 0;  /* EAGAIN: nothing new */
        }
        if (sig >= 0 && p[sig].revents && (r->signo = read_signal(r->signal_fd)))
            return END_SIGNAL;
        if (p[out].revents)
            term_pump(r->term, r->src, r->src_opaque);
        console_handle(r->cons, p + con, ncon);
        if (in >= 0 && (p[in].revents & POLLNVAL)) {
            stdin_open = false;       /* stdin is closed: no input */
            continue;
        }
        if (in >= 0 && (p[in].revents & (POLLIN | POLLHUP | POLLERR))) {
            uint8_t buf[256], guest[256];
            size_t ng;
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0) {
                stdin_open = false;   /* EOF: keep running without input */
                continue;
            }
            bool quit = term_keys(r->term, buf, (size_t)n, guest, &ng);
            /* Fails only when a failed reset left no board: the VM is
             * stopped then, and the loop ends. */
            if (ng && vm_console_input(r->vm, guest, ng))
                ng = 0;
            if (quit)
                return END_QUIT;
        }
    }
    return END_STOPPED;
}

/* The exit status of a VM that stopped by itself. */
static int stopped_status(struct vm *vm)
{
    enum vm_stop_reason why;
    int code;
    vm_stop_info(vm, &why, &code);
    switch (why) {
    case VM_STOP_POWEROFF: return code < 0 ? 1 : code > 255 ? 255 : code;
    case VM_STOP_REBOOT: return EXIT_REBOOT;
    /* PUT /actions poweroff (or the daemon's stop falling back to it): a
     * stop that was asked for, as QEMU's `quit` exits 0; 1 stays for
     * bad input and host errors. */
    case VM_STOP_REQUESTED: return 0;
    default: return 1;
    }
}

/* Create the VM, run it with the terminal as its console, and return the
 * process exit status. */
struct run_opts {
    const char *dump_dtb;
    const char *api_sock;
    const char *restore;        /* snapshot directory, or NULL */
    const char *console_log;    /* --console-log FILE, or NULL */
    const char *console_sock;   /* --console-sock PATH, or NULL */
    bool paused;                /* start paused (with --restore or alone) */
    enum vm_sandbox sandbox;    /* --sandbox */
    const char *jail;           /* --jail DIR, or NULL */
    uid_t jail_uid;             /* --jail-user, or -1 */
    gid_t jail_gid;
};

static int run_vm(struct vm_config *cfg, const struct run_opts *o, int signal_fd)
{
    const char *dump_dtb = o->dump_dtb, *api_sock = o->api_sock;
    struct vm_api *api = NULL;
    char err[1024];
    struct run r = { .signal_fd = signal_fd, .event_fd = -1 };
    int status = 1;
    r.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r.event_fd < 0) {
        vlog_error("eventfd: %s", strerror(errno));
        return 1;
    }
    /* The jail's mount namespace, while the process has one thread. */
    if (o->jail && vm_jail_prepare(err, sizeof(err))) {
        vlog_error("--jail %s: %s", o->jail, err);
        close(r.event_fd);
        return 1;
    }
    /* The seccomp filter is built on a helper thread while the VM is:
     * vm_sandbox_enter below then only loads it.  If this fails, that
     * builds it itself. */
    (void)vm_sandbox_prepare(o->sandbox);
    cfg->log = run_log;
    cfg->log_opaque = cfg->name ? (void *)cfg->name : NULL;
    cfg->on_event = run_event;
    cfg->event_opaque = &r.event_fd;
    if (vm_create(cfg, &r.vm, err, sizeof(err))) {
        vlog_error("%s", err);
        goto out;
    }
    if (dump_dtb) {
        status = vm_dump_dtb(r.vm, dump_dtb) ? 1 : 0;
        if (status)
            vlog_error("%s", vm_last_error(r.vm, err, sizeof(err)));
        goto out;
    }
    if (api_sock && vm_api_start(r.vm, api_sock, &api, err, sizeof(err))) {
        vlog_error("%s", err);
        goto out;
    }
    r.src = console_source;
    r.src_opaque = r.vm;
    if ((o->console_log || o->console_sock) &&
        console_open(&r.cons, r.vm, o->console_log, o->console_sock, err, sizeof(err))) {
        vlog_error("%s", err);
        goto out;
    }
    if (r.cons) {
        r.src = console_tee_source;
        r.src_opaque = r.cons;
    }
    int rc = term_open(&r.term, STDIN_FILENO, STDOUT_FILENO, isatty(STDIN_FILENO));
    if (rc) {
        vlog_error("cannot set up the console: %s", strerror(-rc));
        goto out;
    }
    if (o->restore && vm_restore(r.vm, o->restore, err, sizeof(err))) {
        vlog_error("--restore %s", err);
        goto out;
    }
    /* Everything is open, bound and mapped: seal the process before the
     * guest runs its first instruction (the jail first: the filter
     * forbids what entering it takes). */
    if (o->jail && run_jail_enter(r.vm, o->jail, o->jail_uid, o->jail_gid, cfg->nnets > 0,
                                  o->console_log))
        goto out;
    if (vm_sandbox_enter(r.vm, o->sandbox, err, sizeof(err))) {
        vlog_error("--sandbox %s: %s", vm_sandbox_name(o->sandbox), err);
        goto out;
    }
    if (o->paused ? vm_start_paused(r.vm) : vm_start(r.vm)) {
        vlog_error("%s", vm_last_error(r.vm, err, sizeof(err)));
        goto out;
    }
    /* Requests that came while the VM started are answered now: their
     * first answer is the started VM (vm_api_start). */
    if (api && (rc = vm_api_serve(api))) {
        vlog_error("--api-sock %s: cannot start the server's thread: %s", api_sock,
                   strerror(-rc));
        goto out;                   /* vm_destroy stops the VM */
    }
    enum run_end end = run_loop(&r);
    /* After C-a x or a signal; fails only when the VM stopped by itself
     * meanwhile, and then it is stopped all the same. */
    if (end != END_STOPPED && vm_stop(r.vm) && vm_state(r.vm) != VM_STATE_STOPPED)
        vlog_error("%s", vm_last_error(r.vm, err, sizeof(err)));
    switch (end) {
    case END_QUIT: status = EXIT_QUIT; break;
    case END_SIGNAL: status = EXIT_SIGNAL(r.signo); break;
    case END_FAILED: status = 1; break;
    case END_STOPPED: status = stopped_status(r.vm); break;
    }
    bool user_stop = end == END_QUIT || end == END_SIGNAL;
    term_flush(r.term, r.src, r.src_opaque,
               user_stop ? FLUSH_IDLE_MS_STOP : FLUSH_IDLE_MS_POWEROFF, signal_fd);
    struct vm_stats st;
    vm_get_stats(r.vm, &st);
    uint64_t dropped = st.console_dropped + term_dropped(r.term);
    term_close(r.term);         /* restores the terminal */
    r.term = NULL;
    console_close(r.cons);
    r.cons = NULL;
    vm_api_stop(api);           /* before the VM it serves goes */
    api = NULL;
    vm_destroy(r.vm);           /* flushes and closes the disks */
    r.vm = NULL;
    if ((end == END_SIGNAL || dropped) && stderr_writable()) {
        if (end == END_SIGNAL)
            vlog_error("%s received: the VM was stopped and its disks closed",
                       signal_name(r.signo));
        if (dropped)
            vlog_warn("%llu bytes of console output were dropped: the output was not "
                      "being read, or was closed", (unsigned long long)dropped);
    }
out:
    term_close(r.term);
    console_close(r.cons);
    vm_api_stop(api);
    vm_destroy(r.vm);
    close(r.event_fd);
    return status;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Without --uuid, the VM's UUID comes from what identifies it on the
 * command line: the canonical paths of its kernel and disks (so the same
 * VM started from another directory is the same VM).  Each start of the
 * same VM then gets the same UUID, hence the same default MAC addresses
 * (DHCP leases, udev names and firewall rules keep working).  A version 8
 * UUID (RFC 9562 5.8): two FNV-1a 64 hashes of the identity, differently
 * seeded, with the version and variant bits set. */
static void identity_uuid(const struct vm_config *cfg, char out[VM_UUID_LEN + 1])
{
    char canon[4096];
    const char *k = cfg->kernel;
    uint64_t h1 = 0xcbf29ce484222325ULL, h2 = 0x6c62272e07bb0142ULL;
    if (k) {
        const char *p = realpath(k, canon) ? canon : k;
        h1 = fnv1a(fnv1a(h1, "kernel="), p);
        h2 = fnv1a(fnv1a(h2, "kernel="), p);
    }
    for (unsigned i = 0; i < cfg->ndisks; i++) {
        const char *d = cfg->disks[i].path;
        const char *p = realpath(d, canon) ? canon : d;
        h1 = fnv1a(fnv1a(h1, ";disk="), p);
        h2 = fnv1a(fnv1a(h2, ";disk="), p);
    }
    uint8_t u[16];
    for (int i = 0; i < 8; i++) {
        u[i] = (uint8_t)(h1 >> (56 - 8 * i));
        u[8 + i] = (uint8_t)(h2 >> (56 - 8 * i));
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x80);     /* version 8 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);     /* variant 10 */
    snprintf(out, VM_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
             u[12], u[13], u[14], u[15]);
}

/* VESSEL_JIT, VESSEL_JIT_HOT, VESSEL_TRACE, VESSEL_STATS: documented
 * per-run settings read from the environment into the VM's config. */
static void run_env(struct vm_config *cfg)
{
    const char *e = getenv("VESSEL_JIT");
    if (e && !strcmp(e, "0"))
        cfg->jit = false;
    /* VESSEL_JIT_HOT=N (1..255, clamped) sets the translation threshold;
     * tests use 1 so that code running once is translated too. */
    if ((e = getenv("VESSEL_JIT_HOT"))) {
        uint64_t n;
        if (parse_u64(e, &n))
            vlog_warn("VESSEL_JIT_HOT='%s' is not a decimal number; ignored", e);
        else
            cfg->jit_hot = n < 1 ? 1 : n > 255 ? 255 : (unsigned)n;
    }
    cfg->trace = getenv("VESSEL_TRACE") != NULL;
    cfg->stats = getenv("VESSEL_STATS") != NULL;
}

int cmd_run(int argc, char **argv)
{
    enum { O_KERNEL = 256, O_INITRD, O_APPEND, O_FIRMWARE, O_BIOS, O_CPUS,
           O_DUMP_DTB, O_NO_REBOOT, O_DISK, O_CONSOLE, O_NET, O_UUID, O_API_SOCK,
           O_RESTORE, O_PAUSED, O_DISK_OVERLAY, O_NAME, O_CONSOLE_LOG, O_CONSOLE_SOCK,
           O_SANDBOX, O_JAIL, O_JAIL_USER, O_BALLOON };
    static const struct option opts[] = {
        { "kernel", required_argument, NULL, O_KERNEL },
        { "initrd", required_argument, NULL, O_INITRD },
        { "append", required_argument, NULL, O_APPEND },
        { "firmware", required_argument, NULL, O_FIRMWARE },
        { "bios", required_argument, NULL, O_BIOS },
        { "memory", required_argument, NULL, 'm' },
        { "cpus", required_argument, NULL, O_CPUS },
        { "smp", required_argument, NULL, O_CPUS },
        { "dump-dtb", required_argument, NULL, O_DUMP_DTB },
        { "no-reboot", no_argument, NULL, O_NO_REBOOT },
        { "disk", required_argument, NULL, O_DISK },
        { "console", required_argument, NULL, O_CONSOLE },
        { "net", required_argument, NULL, O_NET },
        { "uuid", required_argument, NULL, O_UUID },
        { "api-sock", required_argument, NULL, O_API_SOCK },
        { "restore", required_argument, NULL, O_RESTORE },
        { "paused", no_argument, NULL, O_PAUSED },
        { "disk-overlay", required_argument, NULL, O_DISK_OVERLAY },
        { "name", required_argument, NULL, O_NAME },
        { "console-log", required_argument, NULL, O_CONSOLE_LOG },
        { "console-sock", required_argument, NULL, O_CONSOLE_SOCK },
        { "sandbox", required_argument, NULL, O_SANDBOX },
        { "jail", required_argument, NULL, O_JAIL },
        { "jail-user", required_argument, NULL, O_JAIL_USER },
        { "balloon", required_argument, NULL, O_BALLOON },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vm_limits lim;
    vm_limits(&lim);
    struct vm_config cfg;
    vm_config_init(&cfg);
    struct run_opts ro = { .sandbox = VM_SANDBOX_ON, .jail_uid = (uid_t)-1,
                            .jail_gid = (gid_t)-1 };
    const char *disk_specs[MAX_DEVICE_ARGS];
    const char *net_specs[MAX_DEVICE_ARGS];
    const char *overlays[MAX_DEVICE_ARGS];
    unsigned ndisks = 0, nnets = 0, noverlays = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        switch (c) {
        case O_KERNEL: cfg.kernel = optarg; break;
        case O_INITRD: cfg.initrd = optarg; break;
        case O_APPEND: cfg.append = optarg; break;
        case O_FIRMWARE: cfg.firmware = optarg; break;
        case O_BIOS: cfg.bios = optarg; break;
        case O_DUMP_DTB: ro.dump_dtb = optarg; break;
        case O_NO_REBOOT: cfg.no_reboot = true; break;
        case O_UUID: cfg.uuid = optarg; break;
        case O_API_SOCK: ro.api_sock = optarg; break;
        case O_RESTORE: ro.restore = optarg; break;
        case O_PAUSED: ro.paused = true; break;
        case O_NAME: cfg.name = optarg; break;      /* vm_create checks it */
        case O_CONSOLE_LOG: ro.console_log = optarg; break;
        case O_CONSOLE_SOCK: ro.console_sock = optarg; break;
        case O_SANDBOX:
            if (vm_sandbox_parse(optarg, &ro.sandbox)) {
                vlog_error("--sandbox '%s' is not valid: expected on, off or log", optarg);
                return 2;
            }
            break;
        case O_JAIL:
            if (optarg[0] != '/') {
                vlog_error("--jail '%s': expected an absolute directory", optarg);
                return 2;
            }
            ro.jail = optarg;
            break;
        case O_JAIL_USER:
            if (run_jail_user(optarg, &ro.jail_uid, &ro.jail_gid)) {
                vlog_error("--jail-user '%s' is not valid: expected UID:GID, two decimal "
                           "numbers other than 0, e.g. 1000123:1000123", optarg);
                return 2;
            }
            break;
        case O_DISK_OVERLAY:
            if (noverlays == MAX_DEVICE_ARGS) {
                vlog_error("too many --disk-overlay options: at most one per --disk");
                return 2;
            }
            overlays[noverlays++] = optarg;
            break;
        case O_DISK:
            if (ndisks == MAX_DEVICE_ARGS) {
                vlog_error("too many --disk options: the virt board has %u virtio slots",
                           lim.virtio_slots);
                return 2;
            }
            disk_specs[ndisks++] = optarg;
            break;
        case O_NET:
            if (!vm_net_available()) {
                vlog_error("--net: not available yet");
                return 2;
            }
            if (nnets == MAX_DEVICE_ARGS) {
                vlog_error("too many --net options: the virt board has %u virtio slots",
                           lim.virtio_slots);
                return 2;
            }
            net_specs[nnets++] = optarg;
            break;
        case O_BALLOON:
            if (!strcmp(optarg, "off")) {
                cfg.balloon = 0;
            } else if (!strcmp(optarg, "on")) {
                cfg.balloon = 1;
            } else if (!strcmp(optarg, "reporting")) {
                cfg.balloon = 2;
            } else {
                vlog_error("--balloon '%s' is not valid: expected off, on or reporting "
                           "(on, with free page reporting)", optarg);
                return 2;
            }
            break;
        case O_CONSOLE:
            if (!strcmp(optarg, "uart")) {
                cfg.virtio_console = false;
            } else if (!strcmp(optarg, "virtio")) {
                cfg.virtio_console = true;
            } else {
                vlog_error("--console '%s' is not valid: expected uart or virtio", optarg);
                return 2;
            }
            break;
        case 'm':
            if (parse_memory(optarg, &cfg.ram_size) || cfg.ram_size < lim.min_ram ||
                cfg.ram_size > lim.max_ram || cfg.ram_size % lim.ram_align) {
                char a[32], lo[32], hi[32];
                vlog_error("--memory '%s' is not a valid size: expected decimal digits "
                           "with an optional K, M, G or T suffix (a plain number is MiB), "
                           "a multiple of %s from %s to %s, e.g. 512M or 2G", optarg,
                           size_str(lim.ram_align, a, sizeof(a)),
                           size_str(lim.min_ram, lo, sizeof(lo)),
                           size_str(lim.max_ram, hi, sizeof(hi)));
                return 2;
            }
            break;
        case O_CPUS: {
            uint64_t n;
            if (parse_u64(optarg, &n) || n < 1 || n > lim.max_cpus) {
                vlog_error("--cpus '%s' is not valid: expected a decimal number from "
                           "1 to %u", optarg, lim.max_cpus);
                return 2;
            }
            cfg.ncpus = (unsigned)n;
            break;
        }
        case 'h':
            run_usage(stdout);
            return 0;
        default:
            run_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        vlog_error("unexpected argument '%s' (see vessel run --help)", argv[optind]);
        return 2;
    }
    if (ro.jail_uid != (uid_t)-1 && !ro.jail) {
        vlog_error("--jail-user needs --jail DIR");
        return 2;
    }
    if (noverlays && !ro.restore) {
        vlog_error("--disk-overlay %s: only with --restore DIR", overlays[0]);
        return 2;
    }
    if (noverlays > ndisks) {
        vlog_error("%u --disk-overlay options for %u --disk: at most one per writable "
                   "disk of the snapshot", noverlays, ndisks);
        return 2;
    }
    cfg.restore_dir = ro.restore;
    cfg.disk_overlays = overlays;
    cfg.ndisk_overlays = noverlays;
    if (cfg.initrd && !cfg.kernel) {
        vlog_error("--initrd needs --kernel");
        return 2;
    }
    if (!cfg.bios && !cfg.kernel) {
        vlog_error("nothing to run: give --kernel IMAGE or --bios ELF");
        run_usage(stderr);
        return 2;
    }
    if (cfg.bios && (cfg.kernel || cfg.initrd || cfg.firmware)) {
        vlog_error("--bios runs a bare-metal program and cannot be combined with "
                   "--kernel, --initrd or --firmware");
        return 2;
    }
    run_env(&cfg);
    /* vm_create checks this too; here the message speaks of options. */
    struct vm_config counted = cfg;
    counted.ndisks = ndisks;
    counted.nnets = nnets;
    unsigned need = vm_config_virtio_slots(&counted);
    if (need > lim.virtio_slots) {
        vlog_error("too many virtio devices: %u --disk, %u --net%s%s and the entropy device "
                   "need %u slots; the virt board has %u", ndisks, nnets,
                   cfg.virtio_console ? ", --console virtio" : "",
                   cfg.balloon ? ", --balloon" : "", need, lim.virtio_slots);
        return 2;
    }
    int rc = 2;
    struct vm_disk *disks = calloc(ndisks ? ndisks : 1, sizeof(*disks));
    char **storage = calloc(ndisks ? ndisks : 1, sizeof(*storage));
    if (!disks || !storage) {
        vlog_error("out of memory");
        goto out;
    }
    for (unsigned i = 0; i < ndisks; i++)
        if (parse_disk(disk_specs[i], &disks[i], &storage[i]))
            goto out;
    cfg.disks = disks;
    cfg.ndisks = ndisks;
    cfg.nets = net_specs;
    cfg.nnets = nnets;
    char uuid[VM_UUID_LEN + 1];
    if (!cfg.uuid) {
        identity_uuid(&cfg, uuid);
        cfg.uuid = uuid;
    }
    int signal_fd = run_signals();
    rc = run_vm(&cfg, &ro, signal_fd);
    if (signal_fd >= 0)
        close(signal_fd);
out:
    for (unsigned i = 0; storage && i < ndisks; i++)
        free(storage[i]);
    free(storage);
    free(disks);
    return rc;
}
