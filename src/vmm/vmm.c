/* vmm: vCPU threads and the VM's life cycle.
 *
 * Each vCPU thread runs its hart in slices (hart_run), updates the board's
 * timers between slices, and sleeps on its own condition variable while
 * the hart waits for an interrupt, no longer than the next timer deadline.
 * The main thread owns the console: it copies stdin to the UART and
 * watches for Ctrl-A commands. */
#include "vmm/vmm.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "machine/virt.h"
#include "util/util.h"

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

struct vmm {
    struct virt_machine *vm;
    struct vcpu vcpus[VIRT_MAX_CPUS];
    unsigned ncpus;
    atomic_bool stop;
    pthread_mutex_t out_lock;
};

static void console_out(void *opaque, const uint8_t *buf, size_t len)
{
    struct vmm *v = opaque;
    pthread_mutex_lock(&v->out_lock);
    while (len) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        buf += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&v->out_lock);
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

/* ---- console ---- */

struct console {
    bool raw;
    struct termios saved;
    bool ctrl_a;
};

static void console_raw(struct console *con, bool interactive)
{
    con->raw = false;
    if (!interactive || !isatty(STDIN_FILENO))
        return;
    if (tcgetattr(STDIN_FILENO, &con->saved))
        return;
    struct termios t = con->saved;
    cfmakeraw(&t);
    t.c_oflag |= OPOST;   /* keep \n -> \r\n on output */
    if (!tcsetattr(STDIN_FILENO, TCSANOW, &t))
        con->raw = true;
}

static void console_restore(struct console *con)
{
    if (con->raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &con->saved);
}

/* Handle input bytes; returns true when the user asked to quit. */
static bool console_input(struct vmm *v, struct console *con, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = buf[i];
        if (con->ctrl_a) {
            con->ctrl_a = false;
            if (ch == 'x' || ch == 'X')
                return true;
            if (ch == 'h' || ch == 'H' || ch == '?') {
                static const char help[] =
                    "\r\nC-a h    print this help\r\n"
                    "C-a x    exit the VM\r\n"
                    "C-a C-a  send C-a to the guest\r\n";
                console_out(v, (const uint8_t *)help, sizeof(help) - 1);
                continue;
            }
            if (ch == 0x01) {
                virt_console_input(v->vm, &ch, 1);
                continue;
            }
            continue;
        }
        if (ch == 0x01 && con->raw) {
            con->ctrl_a = true;
            continue;
        }
        virt_console_input(v->vm, &ch, 1);
    }
    return false;
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

/* Run one boot of the VM; returns VIRT_POWEROFF/VIRT_REBOOT/-1 (quit). */
static int run_once(const struct vmm_config *cfg, struct vmm_disks *ds,
                    struct console *con, int *code)
{
    struct vmm *v = calloc(1, sizeof(*v));
    if (!v)
        return -2;
    pthread_mutex_init(&v->out_lock, NULL);
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
        .disks = ds->vd,
        .ndisks = ds->n,
        .net_specs = cfg->net_specs,
        .nnets = cfg->nnets,
        .virtio_console = cfg->virtio_console,
        .id_seed = ds->seed,
    };
    if (virt_create(&vc, &v->vm)) {
        free(v);
        return -2;
    }
    if (cfg->dump_dtb) {
        int r = virt_dump_dtb(v->vm, cfg->dump_dtb);
        virt_destroy(v->vm);
        free(v);
        *code = r ? 1 : 0;
        return VIRT_POWEROFF;
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

    bool quit = false, stdin_open = true;
    while (!atomic_load(&v->stop)) {
        struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
        int r = poll(&p, stdin_open ? 1 : 0, 50);
        if (r > 0 && (p.revents & (POLLIN | POLLHUP))) {
            uint8_t buf[256];
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n <= 0) {
                stdin_open = false;   /* EOF: keep running without input */
            } else if (console_input(v, con, buf, (size_t)n)) {
                quit = true;
                stop_all(v);
            }
        }
    }
    for (unsigned i = 0; i < v->ncpus; i++)
        pthread_join(v->vcpus[i].thread, NULL);
    int state = quit ? -1 : virt_shutdown_state(v->vm, code);
    if (getenv("VESSEL_STATS")) {
        /* For benchmarks: host memory cost beyond the guest's own RAM. */
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        uint64_t instret = 0;
        for (unsigned i = 0; i < v->ncpus; i++)
            instret += hart_instret(virt_hart(v->vm, i));
        uint64_t dpages = 0, jit = 0;
        for (unsigned i = 0; i < v->ncpus; i++) {
            uint64_t d, j;
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
    for (unsigned i = 0; i < v->ncpus; i++) {
        pthread_mutex_destroy(&v->vcpus[i].lock);
        pthread_cond_destroy(&v->vcpus[i].cond);
    }
    virt_destroy(v->vm);
    pthread_mutex_destroy(&v->out_lock);
    free(v);
    return state;
}

int vmm_run(const struct vmm_config *cfg)
{
    struct vmm_disks *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return 1;
    if (disks_open(cfg, ds)) {
        free(ds);
        return 1;
    }
    struct console con = { 0 };
    console_raw(&con, cfg->interactive && !cfg->dump_dtb);
    int status;
    for (;;) {
        int code = 0;
        int state = run_once(cfg, ds, &con, &code);
        if (state == -2) {
            status = 1;
            break;
        }
        if (state == -1) {
            status = VMM_EXIT_QUIT;
            break;
        }
        if (state == VIRT_REBOOT) {
            if (cfg->no_reboot) {
                status = VMM_EXIT_REBOOT;
                break;
            }
            continue;
        }
        status = code < 0 ? 1 : code > 255 ? 255 : code;
        break;
    }
    console_restore(&con);
    disks_close(ds);        /* flushes; snapshot overlays vanish here */
    free(ds);
    return status;
}

bool vmm_net_available(void)
{
    return virt_net_available();
}
