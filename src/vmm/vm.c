/* vmm: the VM object's API and state machine (vmm.h; docs/vmm.md).
 *
 * Every state change takes vm->lock, checks the state, parks or ends the
 * vCPU threads as it needs (vcpu.c), changes the state and posts events
 * for the event thread (events.c) to deliver. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "util/util.h"
#include "util/vclock.h"
#include "vmm/vmm_int.h"

static const char *const state_names[] = {
    [VM_STATE_CREATED] = "created", [VM_STATE_RUNNING] = "running",
    [VM_STATE_PAUSED] = "paused", [VM_STATE_STOPPED] = "stopped",
};

const char *vm_state_name(enum vm_state s)
{
    return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "invalid";
}

enum vm_state vm_state(const struct vm *v)
{
    return (enum vm_state)atomic_load(&((struct vm *)v)->state);
}

static enum vm_state state_of(struct vm *v)
{
    return (enum vm_state)atomic_load(&v->state);
}

static void set_state(struct vm *v, enum vm_state s)
{
    atomic_store(&v->state, (int)s);
    vm_post(v, VM_EVENT_STATE, 0);
}

void vm_set_state(struct vm *v, enum vm_state s)
{
    set_state(v, s);
}

const char *vm_name(const struct vm *v)
{
    return v->name;
}

void vm_uuid(const struct vm *v, char buf[VM_UUID_LEN + 1])
{
    memcpy(buf, v->uuid, VM_UUID_LEN + 1);
}

/* ---- the board ---- */

static void console_out(void *opaque, const uint8_t *buf, size_t len)
{
    struct vm *v = opaque;
    vmm_console_write(v->con, buf, len);
}

/* The one place vmm/ pairs the board's vCPUs with their backend.  Once the
 * board hands out struct cpu itself this becomes a call to it. */
static struct cpu board_cpu(struct virt_machine *b, unsigned i)
{
    return (struct cpu){ &cpu_riscv_ops, virt_hart(b, i) };
}

/* Build the board from the VM's config; its clock starts frozen. */
static int board_build(struct vm *v)
{
    unsigned ndisks, nnics;
    const struct virt_disk *disks = vmm_disks_board(v->disks, &ndisks);
    const struct virt_nic *nics = vmm_nics_board(v->nics, &nnics);
    struct virt_config vc = {
        .ram_size = v->cfg.ram_size,
        .ncpus = v->cfg.ncpus,
        .bios = v->cfg.bios,
        .firmware = v->cfg.firmware,
        .kernel = v->cfg.kernel,
        .initrd = v->cfg.initrd,
        .append = v->cfg.append,
        .console_out = console_out,
        .console_opaque = v,
        .wake = vcpu_wake,
        .wake_opaque = v,
        .disks = disks,
        .ndisks = ndisks,
        .nics = nics,
        .nnics = nnics,
        .virtio_console = v->cfg.virtio_console,
        .balloon = v->cfg.balloon == 2 ? VIRT_BALLOON_REPORTING :
                   v->cfg.balloon ? VIRT_BALLOON_ON : VIRT_BALLOON_NONE,
        .log_limit = &v->log_limit,
        .defer_load = v->awaiting_restore,
    };
    struct virt_machine *b;
    char err[VM_ERR_LEN];
    /* The board's message names the file or value it refused. */
    int rc = virt_create(&vc, &b, err, sizeof(err));
    if (rc)
        return vm_fail(v, rc, "%s", err);
    unsigned n = virt_ncpus(b);
    for (unsigned i = 0; i < n; i++) {
        struct cpu c = board_cpu(b, i);
        rc = c.ops->configure(c.impl, &v->cpu_opts);
        if (rc) {
            virt_destroy(b);
            return vm_fail(v, rc, "cpu%u: cannot apply jit=%d jit_hot=%u: %s", i,
                           v->cpu_opts.jit, v->cpu_opts.jit_hot, strerror(-rc));
        }
        v->cpus[i] = c;
    }
    v->ncpus = n;
    v->board = b;
    v->snap_parent[0] = 0;          /* new RAM: no diff against the old */
    v->frozen = false;
    vm_clock_freeze(v);
    return 0;
}

static int stats_locked(struct vm *v, struct vm_stats *st);

static void log_stats(struct vm *v)
{
    if (!v->cfg.stats || !v->board)
        return;
    struct vm_stats st;
    if (stats_locked(v, &st))
        return;
    /* Peak RSS is the process's: host memory cost beyond guest RAM, for
     * benchmarks that run one VM per process. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* Where the time went: instructions run translated and interpreted,
     * blocks translated and the time that took, and the process's CPU
     * time, so that the interpreter's share can be worked out from the
     * two engines' speeds (docs/cpu.md "Where the time goes"). */
    vm_log(v, VM_LOG_INFO, "stats: guest-ram-resident-kib=%llu peak-rss-kib=%ld "
           "instret=%llu jit-insns=%llu interp-insns=%llu jit-blocks=%llu "
           "translate-ms=%.1f cpu-ms=%.0f decoded-pages=%llu jit-kib=%llu",
           (unsigned long long)(mem_ram_resident(virt_mem(v->board)) >> 10), ru.ru_maxrss,
           (unsigned long long)st.instret, (unsigned long long)st.jit_insns,
           (unsigned long long)(st.instret > st.jit_insns ? st.instret - st.jit_insns : 0),
           (unsigned long long)st.jit_blocks, st.jit_translate_ns / 1e6,
           (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3,
           (unsigned long long)st.code_pages, (unsigned long long)(st.jit_bytes >> 10));
}

/* Guest reboot and vm_reset: back to power-on with every vCPU parked (or
 * none running), in place: the board resets its harts and devices and
 * reloads the boot images (virt_reset), keeping RAM's mapping, the disks,
 * the NIC backends (host port forwards stay bound), the console and the
 * warning limiter.  Guest time restarts at 0 and stays frozen until the
 * caller thaws it.  Only after a failed reset (no board) is it rebuilt.
 * On failure the VM has no board (v->board NULL) and the caller stops
 * it. */
static int board_reset(struct vm *v)
{
    log_stats(v);
    v->resets++;
    v->awaiting_restore = false;    /* a reset boots the guest afresh */
    if (!v->board)
        return board_build(v);
    vm_clock_freeze(v);
    char err[VM_ERR_LEN];
    int rc = virt_reset(v->board, err, sizeof(err));
    if (rc) {
        v->ncpus = 0;           /* parked threads must not kick freed harts */
        virt_destroy(v->board);
        v->board = NULL;
        v->frozen = false;
        return vm_fail(v, rc, "reset: cannot reload the boot images: %s", err);
    }
    v->frozen_ticks = 0;
    return 0;
}

/* ---- stopping ---- */

static void stopped(struct vm *v, enum vm_stop_reason why, int code)
{
    v->stop_reason = why;
    v->stop_code = code;
    uint64_t warns = ratelimit_flush(&v->log_limit);
    if (warns)
        vm_log(v, VM_LOG_WARN, "%llu more guest-triggered warnings were suppressed",
               (unsigned long long)warns);
    set_state(v, VM_STATE_STOPPED);
}

/* End the vCPU threads of an active VM and freeze its clock. */
static void halt(struct vm *v)
{
    bool running = state_of(v) == VM_STATE_RUNNING;
    vcpus_end(v);
    if (running && v->board)
        vm_clock_freeze(v);
    log_stats(v);
}

void vm_handle_guest(struct vm *v)
{
    pthread_mutex_lock(&v->lock);
    enum vm_state s = state_of(v);
    if (!(atomic_load(&v->hold) & HOLD_GUEST) ||
        (s != VM_STATE_RUNNING && s != VM_STATE_PAUSED)) {
        pthread_mutex_unlock(&v->lock);
        return;
    }
    vcpus_hold(v, HOLD_GUEST);      /* already set: waits for the parking */
    int code = 0;
    int what = virt_shutdown_state(v->board, &code);
    if (what == VIRT_POWEROFF) {
        halt(v);
        vm_post(v, VM_EVENT_POWEROFF, code);
        stopped(v, VM_STOP_POWEROFF, code);
    } else if (what == VIRT_REBOOT && v->cfg.no_reboot) {
        halt(v);
        vm_post(v, VM_EVENT_REBOOT, 0);
        stopped(v, VM_STOP_REBOOT, 0);
    } else if (what == VIRT_REBOOT) {
        vm_post(v, VM_EVENT_REBOOT, 0);
        int rc = board_reset(v);
        if (rc) {
            char msg[VM_ERR_LEN];
            vm_log(v, VM_LOG_ERROR, "guest reboot: %s", vm_last_error(v, msg, sizeof(msg)));
            halt(v);
            vm_post(v, VM_EVENT_CRASH, rc);
            stopped(v, VM_STOP_ERROR, rc);
        } else {
            if (s == VM_STATE_RUNNING)
                vm_clock_thaw(v);   /* guest time runs from the reset on */
            vcpus_release(v, HOLD_GUEST);
        }
    } else {
        vcpus_release(v, HOLD_GUEST);   /* a reset came first */
    }
    pthread_mutex_unlock(&v->lock);
}

/* ---- the API ---- */

static int wrong_state(struct vm *v, int rc, const char *call, const char *expected)
{
    return vm_fail(v, rc, "%s: the VM is %s; expected %s", call,
                   vm_state_name(state_of(v)), expected);
}

int vm_start(struct vm *v)
{
    pthread_mutex_lock(&v->lock);
    enum vm_state s = state_of(v);
    int rc = 0;
    if (s == VM_STATE_RUNNING || s == VM_STATE_PAUSED) {
        rc = wrong_state(v, -EBUSY, "start", "created");
    } else if (s != VM_STATE_CREATED) {
        rc = wrong_state(v, -EINVAL, "start", "created (reset a stopped VM first)");
    } else if (v->awaiting_restore) {
        rc = vm_fail(v, -EINVAL, "start: the VM was created for a restore "
                     "(restore_dir) and has not been restored");
    } else if (!(rc = vcpus_start(v))) {
        vm_clock_thaw(v);
        set_state(v, VM_STATE_RUNNING);
        vcpus_release(v, HOLD_CTL);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vm_start_paused(struct vm *v)
{
    pthread_mutex_lock(&v->lock);
    enum vm_state s = state_of(v);
    int rc = 0;
    if (s != VM_STATE_CREATED) {
        rc = wrong_state(v, s == VM_STATE_STOPPED ? -EINVAL : -EBUSY, "start",
                         "created");
    } else if (v->awaiting_restore) {
        rc = vm_fail(v, -EINVAL, "start: the VM was created for a restore "
                     "(restore_dir) and has not been restored");
    } else if (!(rc = vcpus_start(v))) {
        /* The threads start parked (HOLD_CTL); the pause hold keeps them
         * so, and the clock stays frozen until vm_resume. */
        atomic_fetch_or(&v->hold, HOLD_PAUSE);
        set_state(v, VM_STATE_PAUSED);
        vcpus_release(v, HOLD_CTL);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vm_pause(struct vm *v)
{
    pthread_mutex_lock(&v->lock);
    int rc = 0;
    if (state_of(v) != VM_STATE_RUNNING) {
        rc = wrong_state(v, -EINVAL, "pause", "running");
    } else {
        vcpus_hold(v, HOLD_PAUSE);
        vm_clock_freeze(v);
        set_state(v, VM_STATE_PAUSED);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vm_resume(struct vm *v)
{
    pthread_mutex_lock(&v->lock);
    int rc = 0;
    if (state_of(v) != VM_STATE_PAUSED) {
        rc = wrong_state(v, -EINVAL, "resume", "paused");
    } else {
        vm_clock_thaw(v);
        set_state(v, VM_STATE_RUNNING);
        vcpus_release(v, HOLD_PAUSE);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vm_stop(struct vm *v)
{
    pthread_mutex_lock(&v->lock);
    int rc = 0;
    enum vm_state s = state_of(v);
    if (s != VM_STATE_RUNNING && s != VM_STATE_PAUSED) {
        rc = wrong_state(v, -EINVAL, "stop", "running or paused");
    } else {
        halt(v);
        stopped(v, VM_STOP_REQUESTED, 0);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vm_reset(struct vm *v)
{
    pthread_mutex_lock(&v->lock);
    enum vm_state s = state_of(v);
    bool active = s == VM_STATE_RUNNING || s == VM_STATE_PAUSED;
    if (active)
        vcpus_hold(v, HOLD_CTL);
    int rc = board_reset(v);
    if (rc) {
        if (active) {
            halt(v);
            vm_post(v, VM_EVENT_CRASH, rc);
        }
        if (s != VM_STATE_STOPPED)
            stopped(v, VM_STOP_ERROR, rc);
    } else if (active) {
        if (s == VM_STATE_RUNNING)
            vm_clock_thaw(v);
        vcpus_release(v, HOLD_CTL);
    } else {
        v->stop_reason = VM_STOP_NONE;
        v->stop_code = 0;
        if (s != VM_STATE_CREATED)
            set_state(v, VM_STATE_CREATED);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

void vm_stop_info(struct vm *v, enum vm_stop_reason *reason, int *code)
{
    pthread_mutex_lock(&v->lock);
    if (reason)
        *reason = state_of(v) == VM_STATE_STOPPED ? v->stop_reason : VM_STOP_NONE;
    if (code)
        *code = v->stop_code;
    pthread_mutex_unlock(&v->lock);
}

static int stats_locked(struct vm *v, struct vm_stats *st)
{
    *st = (struct vm_stats){ 0 };
    st->console_dropped = vmm_console_dropped(v->con);
    st->resets = v->resets;
    if (!v->board)
        return -ENODEV;
    for (unsigned i = 0; i < v->ncpus; i++) {
        struct cpu_stats cs;
        v->cpus[i].ops->stats(v->cpus[i].impl, &cs);
        st->instret += cs.instret;
        st->code_pages += cs.code_pages;
        st->jit_bytes += cs.jit_bytes;
        st->jit_insns += cs.jit_insns;
        st->jit_blocks += cs.jit_blocks;
        st->jit_translate_ns += cs.jit_translate_ns;
    }
    const struct vclock *clk = virt_clock(v->board);
    st->guest_time_ns = (uint64_t)((__uint128_t)vm_guest_ticks(v) * 1000000000ULL /
                                   clk->freq_hz);
    return 0;
}

int vm_get_stats(struct vm *v, struct vm_stats *st)
{
    pthread_mutex_lock(&v->lock);
    int rc = stats_locked(v, st);
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vm_dump_dtb(struct vm *v, const char *path)
{
    pthread_mutex_lock(&v->lock);
    char err[VM_ERR_LEN];
    int rc = v->board ? virt_dump_dtb(v->board, path, err, sizeof(err)) : -ENODEV;
    if (rc == -ENODEV)
        vm_fail(v, rc, "dump the device tree to %s: %s", path, strerror(-rc));
    else if (rc)
        vm_fail(v, rc, "%s", err);
    pthread_mutex_unlock(&v->lock);
    return rc;
}

size_t vm_boot_files(struct vm *v, const char *out[4])
{
    pthread_mutex_lock(&v->lock);
    size_t n = v->board ? virt_boot_files(v->board, out) : 0;
    pthread_mutex_unlock(&v->lock);
    return n;
}

int vm_console_fd(const struct vm *v)
{
    return vmm_console_fd(v->con);
}

size_t vm_console_read(struct vm *v, void *buf, size_t len)
{
    return vmm_console_read(v->con, buf, len);
}

int vm_console_input(struct vm *v, const void *buf, size_t len)
{
    int rc = 0;
    pthread_mutex_lock(&v->lock);       /* the board stays while we feed it */
    if (v->board)
        virt_console_input(v->board, buf, len);
    else
        rc = -ENODEV;
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vm_power_button(struct vm *v)
{
    pthread_mutex_lock(&v->lock);       /* the board stays while we press */
    enum vm_state st = state_of(v);
    int rc;
    if (st != VM_STATE_RUNNING && st != VM_STATE_PAUSED)
        rc = wrong_state(v, -EINVAL, "shutdown", "running or paused");
    else if (!v->board)
        rc = vm_fail(v, -ENODEV, "shutdown: the VM has no board (a reset failed)");
    else if ((rc = virt_power_button(v->board)))
        vm_fail(v, rc, "shutdown: the guest has not taken the power-button presses "
                "already queued; not pressed again");
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vm_balloon_set_target(struct vm *v, uint64_t pages)
{
    pthread_mutex_lock(&v->lock);
    int rc;
    if (pages > v->cfg.ram_size >> 12)
        rc = vm_fail(v, -EINVAL, "balloon: %llu MiB is more than the VM's %llu MiB of RAM",
                     (unsigned long long)(pages >> 8),
                     (unsigned long long)(v->cfg.ram_size >> 20));
    else if (!v->board || (rc = virt_balloon_set_target(v->board, (uint32_t)pages)))
        rc = vm_fail(v, -ENODEV, "balloon: the VM has no balloon (start it with --balloon)");
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vm_balloon_stats(struct vm *v, struct virtio_balloon_stats *out)
{
    pthread_mutex_lock(&v->lock);
    int rc = v->board ? virt_balloon_stats(v->board, out) : -ENODEV;
    pthread_mutex_unlock(&v->lock);
    return rc;
}

/* ---- create and destroy ---- */

void vm_teardown(struct vm *v)
{
    if (v->board)
        virt_destroy(v->board);     /* waits for in-flight disk requests */
    vmm_disks_close(v->disks);      /* flushes; snapshot overlays vanish */
    vmm_nics_close(v->nics);        /* after the board: its cards use them */
    vmm_console_close(v->con);
    for (struct vm_event_node *n = v->ev_head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    for (unsigned i = 0; i < VIRT_MAX_CPUS; i++) {
        pthread_mutex_destroy(&v->vcpus[i].lock);
        pthread_cond_destroy(&v->vcpus[i].cond);
    }
    ratelimit_destroy(&v->log_limit);
    vm_config_free(v);
    pthread_mutex_destroy(&v->lock);
    pthread_mutex_destroy(&v->park_lock);
    pthread_cond_destroy(&v->park_cond);
    pthread_mutex_destroy(&v->ev_lock);
    pthread_cond_destroy(&v->ev_cond);
    pthread_mutex_destroy(&v->err_lock);
    free(v);
}

static struct vm *vm_alloc(void)
{
    struct vm *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    pthread_mutex_init(&v->lock, NULL);
    pthread_mutex_init(&v->park_lock, NULL);
    pthread_cond_init(&v->park_cond, NULL);
    pthread_mutex_init(&v->ev_lock, NULL);
    pthread_cond_init(&v->ev_cond, NULL);
    pthread_mutex_init(&v->err_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* vcpu_wait's deadline */
    for (unsigned i = 0; i < VIRT_MAX_CPUS; i++) {
        v->vcpus[i].vm = v;
        v->vcpus[i].index = i;
        pthread_mutex_init(&v->vcpus[i].lock, NULL);
        pthread_cond_init(&v->vcpus[i].cond, &ca);
    }
    pthread_condattr_destroy(&ca);
    ratelimit_init(&v->log_limit, RATELIMIT_GUEST_BURST, RATELIMIT_GUEST_PER_SEC);
    atomic_store(&v->state, VM_STATE_CREATED);
    return v;
}

int vm_create(const struct vm_config *cfg, struct vm **out, char *err, size_t errlen)
{
    char buf[VM_ERR_LEN];
    int rc = vm_config_check(cfg, buf, sizeof(buf));
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "%s", buf);
        return rc;
    }
    struct vm *v = vm_alloc();
    if (!v) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory creating the VM");
        return -ENOMEM;
    }
    snprintf(v->name, sizeof(v->name), "%s", cfg->name ? cfg->name : "vm");
    uint8_t u[16];
    rc = cfg->uuid ? vm_uuid_parse(cfg->uuid, u) : vm_uuid_generate(u);
    if (rc) {
        vm_fail(v, rc, "uuid: cannot generate one: %s", strerror(-rc));
        goto fail;
    }
    vm_uuid_format(u, v->uuid);
    if ((rc = vm_config_copy(v, cfg))) {
        vm_fail(v, rc, "out of memory copying the configuration");
        goto fail;
    }
    v->cpu_opts = (struct cpu_options){ .jit = cfg->jit, .jit_hot = cfg->jit_hot };
    if ((rc = vmm_console_open(&v->con, cfg->console_ring))) {
        vm_fail(v, rc, "cannot set up the console: %s", strerror(-rc));
        goto fail;
    }
    if ((rc = vmm_disks_open(v, cfg, &v->disks)) ||
        (rc = vmm_nics_open(v, cfg, &v->nics)))
        goto fail;
    v->awaiting_restore = cfg->restore_dir != NULL;
    if ((rc = board_build(v)))
        goto fail;
    if ((rc = vm_events_start(v))) {
        vm_fail(v, rc, "cannot create the event thread: %s", strerror(-rc));
        goto fail;
    }
    *out = v;
    return 0;
fail:
    if (err && errlen)
        vm_last_error(v, err, errlen);
    vm_teardown(v);
    return rc;
}

void vm_destroy(struct vm *v)
{
    if (!v)
        return;
    pthread_mutex_lock(&v->lock);
    enum vm_state s = state_of(v);
    if (s == VM_STATE_RUNNING || s == VM_STATE_PAUSED) {
        halt(v);
        stopped(v, VM_STOP_REQUESTED, 0);
    }
    pthread_mutex_unlock(&v->lock);
    if (v->ev_started && pthread_equal(pthread_self(), v->ev_thread)) {
        /* From the event callback: the event thread finishes the teardown
         * when the callback returns (events.c). */
        pthread_mutex_lock(&v->ev_lock);
        v->ev_destroy = true;
        pthread_mutex_unlock(&v->ev_lock);
        return;
    }
    vm_events_stop(v);
    vm_teardown(v);
}
