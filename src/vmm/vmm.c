/* vmm: vCPU threads and the VM's life cycle.
 *
 * Each vCPU thread runs its hart in slices (hart_run), updates the board's
 * timers between slices, and sleeps on its own condition variable while
 * the hart waits for an interrupt, no longer than the next timer deadline.
 * The main thread runs one poll loop: it copies stdin to the UART (watching
 * for the C-a keys), writes pending console output when the reader takes
 * it (console.c: a vCPU never waits for the console), and ends the run on
 * a signal from the caller's signal descriptor. */
#include "vmm/vmm.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "machine/virt.h"
#include "util/ratelimit.h"
#include "util/util.h"
#include "vmm/console.h"

/* Instructions per slice: bounds timer latency (well under 1 ms). */
#define VCPU_SLICE 200000

struct vcpu {
    struct vmm *vmm;
    unsigned index;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool woken;
};

/* What lives as long as the run, across guest reboots. */
struct vmm_session {
    struct vmm_disks *disks;
    struct vmm_console *con;
    struct ratelimit log_limit;     /* guest-triggered warnings, all boots */
    int wake_fd;                    /* eventfd: wakes the main loop */
    int signal_fd;                  /* the caller's signalfd, or -1 */
};

/* One boot of the VM. */
struct vmm {
    struct vmm_session *s;
    struct virt_machine *vm;
    struct vcpu vcpus[VIRT_MAX_CPUS];
    unsigned ncpus;
    atomic_bool stop;
};

static void session_wake(void *opaque)
{
    struct vmm_session *s = opaque;
    uint64_t one = 1;
    /* Can only fail when the counter is about to overflow: already awake. */
    if (write(s->wake_fd, &one, sizeof(one)) < 0)
        return;
}

static void console_out(void *opaque, const uint8_t *buf, size_t len)
{
    struct vmm *v = opaque;
    vmm_console_write(v->s->con, buf, len);
}

static void vcpu_wake(void *opaque, unsigned cpu)
{
    struct vmm *v = opaque;
    if (cpu >= v->ncpus)
        return;
    struct vcpu *c = &v->vcpus[cpu];
    pthread_mutex_lock(&c->lock);
    c->woken = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void stop_all(struct vmm *v)
{
    atomic_store(&v->stop, true);
    for (unsigned i = 0; i < v->ncpus; i++) {
        hart_kick(virt_hart(v->vm, i));
        vcpu_wake(v, i);
    }
    session_wake(v->s);
}

static void vcpu_wait(struct vcpu *c, uint64_t max_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (max_ns > 1000000000ULL)
        max_ns = 1000000000ULL;   /* re-check the world at least each second */
    uint64_t ns = (uint64_t)ts.tv_nsec + max_ns;
    ts.tv_sec += (time_t)(ns / 1000000000ULL);
    ts.tv_nsec = (long)(ns % 1000000000ULL);
    pthread_mutex_lock(&c->lock);
    while (!c->woken && !atomic_load(&c->vmm->stop)) {
        if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT)
            break;
    }
    c->woken = false;
    pthread_mutex_unlock(&c->lock);
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *c = arg;
    struct vmm *v = c->vmm;
    struct hart *h = virt_hart(v->vm, c->index);
    /* VESSEL_TRACE=1 prints each vCPU's pc, mode and instret once a second
     * on stderr: a cheap way to see where a stuck guest is. */
    bool trace = getenv("VESSEL_TRACE") != NULL;
    uint64_t next_trace = host_time_ns() + 1000000000ULL;
    while (!atomic_load(&v->stop)) {
        if (trace && host_time_ns() >= next_trace) {
            next_trace += 1000000000ULL;
            uint64_t scause = 0, mip = 0, mie = 0;
            hart_peek_csr(h, 0x142, &scause);
            hart_peek_csr(h, 0x344, &mip);
            hart_peek_csr(h, 0x304, &mie);
            fprintf(stderr, "vessel: trace: cpu%u pc=%#llx priv=%u instret=%llu "
                    "scause=%#llx mip=%#llx mie=%#llx\n",
                    c->index, (unsigned long long)hart_get_pc(h), hart_priv(h),
                    (unsigned long long)hart_instret(h), (unsigned long long)scause,
                    (unsigned long long)mip, (unsigned long long)mie);
        }
        enum hart_exit r = hart_run(h, VCPU_SLICE);
        virt_update_timers(v->vm);
        int code;
        if (virt_shutdown_state(v->vm, &code) != VIRT_RUNNING) {
            stop_all(v);
            break;
        }
        if (r == HART_EXIT_WFI && !hart_irq_pending(h))
            vcpu_wait(c, virt_next_timer_ns(v->vm, c->index));
    }
    return NULL;
}

/* ---- disks ---- */

/* The open disks of one vessel process, kept across guest reboots. */
struct vmm_disks {
    unsigned n;
    struct block_dev *bd[VIRT_VIRTIO_SLOTS];
    struct virt_disk vd[VIRT_VIRTIO_SLOTS];
    char serial[VIRT_VIRTIO_SLOTS][21];
    char seed[4096];                /* id_seed for the board */
};

static void disks_close(struct vmm_disks *ds)
{
    for (unsigned i = 0; i < ds->n; i++)
        block_close(ds->bd[i]);
    ds->n = 0;
}

/* block_open flags of a --disk: cache=none is O_DIRECT on the image and
 * its backing chain; with snapshot=on, on the image under the overlay
 * (the overlay is a throwaway file in $TMPDIR, often a tmpfs). */
static unsigned disk_flags(const struct vmm_disk *d)
{
    bool direct = d->cache == VMM_CACHE_NONE;
    return BLOCK_O_LOCK | (d->read_only ? BLOCK_O_RDONLY : 0) |
           (direct ? (d->snapshot ? BLOCK_O_BACKING_DIRECT : BLOCK_O_DIRECT) : 0);
}

/* Where the backing files of a --disk may come from: its directory and
 * its backing-dir= options (block.h struct block_open_opts).  home: the
 * image the user named (the snapshot=on overlay is not). */
static struct block_open_opts disk_open_opts(const struct vmm_disk *d)
{
    return (struct block_open_opts){
        .backing_dirs = d->backing_dirs, .nbacking_dirs = d->nbacking_dirs,
        .home_image = d->path, .allow_hint = "--disk FILE,backing-dir=DIR",
    };
}

/* snapshot=on: a temporary qcow2 overlay over the image (opened read-only
 * through the overlay's backing chain), unlinked at once so that nothing
 * is left behind whatever way the process ends. */
static int open_snapshot(const struct vmm_disk *d, struct block_dev **out)
{
    char err[BLOCK_ERR_LEN], path[4096];
    struct block_dev *base;
    struct block_open_opts oo = disk_open_opts(d);
    int rc = block_open_with(&base, d->path, BLOCK_O_RDONLY | BLOCK_O_LOCK,
                             (enum block_format)d->format, &oo, err, sizeof(err));
    if (rc) {
        vlog_error("--disk: %s", err);
        return rc;
    }
    enum block_format fmt = block_format(base);
    char *real = realpath(d->path, NULL);
    block_close(base);
    if (!real) {
        rc = -errno;
        vlog_error("--disk %s: %s", d->path, strerror(-rc));
        return rc;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/vessel-snapshot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        rc = -errno;
        vlog_error("--disk %s,snapshot=on: cannot create a temporary overlay in %s: %s "
                   "(set TMPDIR to a writable directory)", d->path,
                   tmp && *tmp ? tmp : "/tmp", strerror(-rc));
        free(real);
        return rc;
    }
    close(fd);
    struct block_create_opts o = {
        .format = BLOCK_FMT_QCOW2, .backing_file = real,
        .backing_format = block_format_name(fmt),
    };
    rc = block_create(path, &o, err, sizeof(err));
    if (!rc)
        rc = block_open_with(out, path, disk_flags(d), BLOCK_FMT_QCOW2, &oo, err,
                             sizeof(err));
    unlink(path);
    free(real);
    if (rc)
        vlog_error("--disk %s,snapshot=on: %s", d->path, err);
    return rc;
}

static int disks_open(const struct vmm_config *cfg, struct vmm_disks *ds)
{
    size_t used = 0;
    ds->n = 0;
    ds->seed[0] = 0;
    /* The VM's identity (it seeds the default MAC) uses canonical paths,
     * so the same VM started from another directory keeps its address. */
    char canon[PATH_MAX];
    if (cfg->kernel)
        used += (size_t)snprintf(ds->seed, sizeof(ds->seed), "kernel=%s",
                                 realpath(cfg->kernel, canon) ? canon : cfg->kernel);
    if (cfg->ndisks > VIRT_VIRTIO_SLOTS) {
        vlog_error("%u --disk options: the virt board has %d virtio slots",
                   cfg->ndisks, VIRT_VIRTIO_SLOTS);
        return -EINVAL;
    }
    for (unsigned i = 0; i < cfg->ndisks; i++) {
        const struct vmm_disk *d = &cfg->disks[i];
        char err[BLOCK_ERR_LEN];
        struct block_dev *bd = NULL;
        int rc;
        if (d->snapshot) {
            rc = open_snapshot(d, &bd);
        } else {
            struct block_open_opts oo = disk_open_opts(d);
            rc = block_open_with(&bd, d->path, disk_flags(d), (enum block_format)d->format,
                                 &oo, err, sizeof(err));
            if (rc)
                vlog_error("--disk: %s", err);
            else if (!d->read_only && block_probed_raw(bd))
                vlog_warn("--disk %s: the format was probed as raw; writes that would put "
                          "an image header into its first sector are refused; give "
                          "format=raw (--disk %s,format=raw) to lift this and to stop "
                          "probing", d->path, d->path);
        }
        if (rc) {
            disks_close(ds);
            return rc;
        }
        ds->bd[i] = bd;
        ds->n = i + 1;
        /* GET_ID: the file name, last 20 bytes (the distinctive part). */
        const char *base = strrchr(d->path, '/');
        base = base ? base + 1 : d->path;
        size_t bl = strlen(base);
        snprintf(ds->serial[i], sizeof(ds->serial[i]), "%s", bl > 20 ? base + bl - 20 : base);
        ds->vd[i] = (struct virt_disk){
            .bd = bd, .read_only = d->read_only,
            .flush_noop = d->cache == VMM_CACHE_UNSAFE, .serial = ds->serial[i],
        };
        if (used < sizeof(ds->seed))
            used += (size_t)snprintf(ds->seed + used, sizeof(ds->seed) - used,
                                     ";disk=%s", realpath(d->path, canon) ? canon : d->path);
    }
    return 0;
}

/* How one boot ended. */
enum run_end {
    RUN_FAILED = -2,        /* the VM could not be built (printed) */
    RUN_QUIT = -1,          /* C-a x */
    RUN_POWEROFF = VIRT_POWEROFF,
    RUN_REBOOT = VIRT_REBOOT,
    RUN_SIGNAL = 3,         /* a signal from signal_fd; number in *code */
};

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

/* The main thread's loop while the vCPUs run: console input and output,
 * signals, and the wake-ups of stop_all.  Returns when the VM stopped. */
static enum run_end main_loop(struct vmm *v, int *signo)
{
    struct vmm_session *s = v->s;
    struct vmm_console *con = s->con;
    bool stdin_open = true;
    enum run_end end = RUN_POWEROFF;
    while (!atomic_load(&v->stop)) {
        struct pollfd p[4];
        int np = 0, in = -1, sig = -1, out = -1;
        p[np++] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
        if (s->signal_fd >= 0) {
            sig = np;
            p[np++] = (struct pollfd){ .fd = s->signal_fd, .events = POLLIN };
        }
        short oev = vmm_console_out_events(con);
        if (oev) {
            out = np;
            p[np++] = (struct pollfd){ .fd = vmm_console_out_fd(con), .events = oev };
        }
        if (stdin_open) {
            in = np;
            p[np++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
        }
        /* No timeout: everything that can end the loop writes wake_fd. */
        if (poll(p, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            vlog_error("console: poll: %s; stopping the VM", strerror(errno));
            end = RUN_FAILED;
            stop_all(v);
            break;
        }
        if (p[0].revents) {
            uint64_t n;
            if (read(s->wake_fd, &n, sizeof(n)) < 0)
                n = 0;  /* EAGAIN: another read took it */
        }
        if (sig >= 0 && p[sig].revents) {
            int n = read_signal(s->signal_fd);
            if (n) {
                *signo = n;
                end = RUN_SIGNAL;
                stop_all(v);
                break;
            }
        }
        if (out >= 0 && p[out].revents)
            vmm_console_drain(con);
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
            bool quit = vmm_console_keys(con, buf, (size_t)n, guest, &ng);
            if (ng)
                virt_console_input(v->vm, guest, ng);
            if (quit) {
                end = RUN_QUIT;
                stop_all(v);
            }
        }
    }
    return end;
}

static void print_stats(struct vmm *v)
{
    /* For benchmarks: host memory cost beyond the guest's own RAM. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t instret = 0, dpages = 0, jit = 0;
    for (unsigned i = 0; i < v->ncpus; i++) {
        uint64_t d, j;
        instret += hart_instret(virt_hart(v->vm, i));
        hart_cache_stats(virt_hart(v->vm, i), &d, &j);
        dpages += d;
        jit += j;
    }
    fprintf(stderr, "vessel: stats: guest-ram-resident-kib=%llu peak-rss-kib=%ld "
            "instret=%llu decoded-pages=%llu jit-kib=%llu\n",
            (unsigned long long)(mem_ram_resident(virt_mem(v->vm)) >> 10),
            ru.ru_maxrss, (unsigned long long)instret,
            (unsigned long long)dpages, (unsigned long long)(jit >> 10));
}

/* Run one boot of the VM.  *code gets the guest's exit code after a
 * poweroff, the signal number after RUN_SIGNAL. */
static enum run_end run_once(const struct vmm_config *cfg, struct vmm_session *s, int *code)
{
    struct vmm *v = calloc(1, sizeof(*v));
    if (!v)
        return RUN_FAILED;
    v->s = s;
    struct virt_config vc = {
        .ram_size = cfg->ram_size,
        .ncpus = cfg->ncpus,
        .bios = cfg->bios,
        .firmware = cfg->firmware,
        .kernel = cfg->kernel,
        .initrd = cfg->initrd,
        .append = cfg->append,
        .console_out = console_out,
        .console_opaque = v,
        .wake = vcpu_wake,
        .wake_opaque = v,
        .disks = s->disks->vd,
        .ndisks = s->disks->n,
        .net_specs = cfg->net_specs,
        .nnets = cfg->nnets,
        .virtio_console = cfg->virtio_console,
        .id_seed = s->disks->seed,
        .log_limit = &s->log_limit,
    };
    if (virt_create(&vc, &v->vm)) {
        free(v);
        return RUN_FAILED;
    }
    if (cfg->dump_dtb) {
        int r = virt_dump_dtb(v->vm, cfg->dump_dtb);
        virt_destroy(v->vm);
        free(v);
        *code = r ? 1 : 0;
        return RUN_POWEROFF;
    }
    v->ncpus = virt_ncpus(v->vm);
    for (unsigned i = 0; i < v->ncpus; i++) {
        struct vcpu *c = &v->vcpus[i];
        c->vmm = v;
        c->index = i;
        pthread_mutex_init(&c->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    for (unsigned i = 0; i < v->ncpus; i++)
        pthread_create(&v->vcpus[i].thread, NULL, vcpu_thread, &v->vcpus[i]);

    int signo = 0;
    enum run_end end = main_loop(v, &signo);
    for (unsigned i = 0; i < v->ncpus; i++)
        pthread_join(v->vcpus[i].thread, NULL);
    if (end == RUN_SIGNAL)
        *code = signo;
    else if (end != RUN_QUIT && end != RUN_FAILED)
        end = (enum run_end)virt_shutdown_state(v->vm, code);
    if (getenv("VESSEL_STATS"))
        print_stats(v);
    for (unsigned i = 0; i < v->ncpus; i++) {
        pthread_mutex_destroy(&v->vcpus[i].lock);
        pthread_cond_destroy(&v->vcpus[i].cond);
    }
    virt_destroy(v->vm);    /* waits for in-flight disk requests */
    free(v);
    return end;
}

/* stderr takes a line now without blocking (a terminal or pipe that is
 * not being read would not): for the summary lines at the end of a run,
 * which must not keep a stalled terminal from getting its process back. */
static bool stderr_writable(void)
{
    struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/* Console output still pending at the end gets this long to go out while
 * the reader keeps taking it: after a poweroff the last lines matter;
 * after C-a x or a signal the user wants the prompt back. */
#define FLUSH_IDLE_MS_POWEROFF 2000
#define FLUSH_IDLE_MS_STOP 200

int vmm_run(const struct vmm_config *cfg)
{
    struct vmm_session s = { .wake_fd = -1, .signal_fd = -1 };
    int status = 1, code = 0;
    enum run_end end = RUN_FAILED;
    uint64_t dropped = 0;
    if (cfg->signal_fd > STDERR_FILENO)
        s.signal_fd = cfg->signal_fd;
    ratelimit_init(&s.log_limit, RATELIMIT_GUEST_BURST, RATELIMIT_GUEST_PER_SEC);
    s.disks = calloc(1, sizeof(*s.disks));
    if (!s.disks)
        goto out;
    if (disks_open(cfg, s.disks)) {
        free(s.disks);
        s.disks = NULL;
        goto out;
    }
    s.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = s.wake_fd < 0 ? -errno
             : vmm_console_open(&s.con, STDIN_FILENO, STDOUT_FILENO,
                                cfg->interactive && !cfg->dump_dtb, VMM_CONSOLE_RING,
                                session_wake, &s);
    if (rc) {
        vlog_error("cannot set up the console: %s", strerror(-rc));
        goto out;
    }
    for (;;) {
        code = 0;
        end = run_once(cfg, &s, &code);
        if (end != RUN_REBOOT || cfg->no_reboot)
            break;
    }
    switch (end) {
    case RUN_FAILED: status = 1; break;
    case RUN_QUIT: status = VMM_EXIT_QUIT; break;
    case RUN_REBOOT: status = VMM_EXIT_REBOOT; break;
    case RUN_SIGNAL: status = VMM_EXIT_SIGNAL(code); break;
    case RUN_POWEROFF: status = code < 0 ? 1 : code > 255 ? 255 : code; break;
    }
    bool stopped = end == RUN_QUIT || end == RUN_SIGNAL;
    vmm_console_flush(s.con, stopped ? FLUSH_IDLE_MS_STOP : FLUSH_IDLE_MS_POWEROFF,
                      s.signal_fd);
    dropped = vmm_console_dropped(s.con);
out:
    vmm_console_close(s.con);       /* restores the terminal */
    if (s.disks) {
        disks_close(s.disks);       /* flushes; snapshot overlays vanish here */
        free(s.disks);
    }
    if (s.wake_fd >= 0)
        close(s.wake_fd);
    uint64_t warns = ratelimit_flush(&s.log_limit);
    if ((end == RUN_SIGNAL || dropped || warns) && stderr_writable()) {
        if (end == RUN_SIGNAL)
            vlog_error("%s received: the VM was stopped and its disks closed",
                       signal_name(code));
        if (dropped)
            vlog_warn("%llu bytes of console output were dropped: the output was not "
                      "being read, or was closed", (unsigned long long)dropped);
        if (warns)
            vlog_warn("%llu more guest-triggered warnings were suppressed",
                      (unsigned long long)warns);
    }
    ratelimit_destroy(&s.log_limit);
    return status;
}

bool vmm_net_available(void)
{
    return virt_net_available();
}
