/* Unit tests for the VM object (src/vmm/vm.c and friends), through its
 * public API only (vmm/vmm.h): four VMs run in one process at once and
 * are paused and resumed one by one while the others run; a paused VM
 * retires no instruction and its guest time stands still (and does not
 * jump on resume); calls in the wrong state fail and change nothing;
 * invalid configurations are refused naming the field; guest poweroff and
 * reboot arrive as events; the console is a byte stream.
 *
 * Guest programs come from build/guest (or $BUILD_GUEST): the ISA test
 * harness programs, tests/cli/guest/console_spam (prints for ever) and
 * tests/cli/guest/reboot_loop (reboots on every boot).  Waits are for
 * events or console output, bounded by a timeout; the only sleep is the
 * window in which a paused VM must not move. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/util.h"
#include "vmm/vmm.h"

#define NVMS 4
#define TIMEOUT_MS 20000
#define PAUSE_WINDOW_NS 30000000ULL     /* 30 ms */

static char guest_dir[2048];

static const char *guest(const char *rel, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", guest_dir, rel);
    if (access(buf, R_OK))
        skip();         /* guest programs not built: make guests */
    return buf;
}

/* ---- what a VM reported ---- */

struct watch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct vm_event ev[256];
    unsigned n;
    unsigned logs;
    char last_log[256];
    char last_name[VM_NAME_MAX + 1];
    enum vm_log_level last_level;
    bool destroy_on_poweroff;
    bool destroyed;
};

static void watch_init(struct watch *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
}

static void watch_free(struct watch *w)
{
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
}

static void on_event(void *opaque, struct vm *vm, const struct vm_event *ev)
{
    struct watch *w = opaque;
    pthread_mutex_lock(&w->lock);
    if (w->n < 256)
        w->ev[w->n++] = *ev;
    bool destroy = w->destroy_on_poweroff && ev->kind == VM_EVENT_POWEROFF;
    pthread_mutex_unlock(&w->lock);
    if (destroy) {
        vm_destroy(vm);     /* finishes on the event thread after we return */
        pthread_mutex_lock(&w->lock);
        w->destroyed = true;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        return;
    }
    pthread_mutex_lock(&w->lock);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void on_log(void *opaque, enum vm_log_level level, const char *name, const char *msg)
{
    struct watch *w = opaque;
    pthread_mutex_lock(&w->lock);
    w->logs++;
    w->last_level = level;
    snprintf(w->last_log, sizeof(w->last_log), "%s", msg);
    snprintf(w->last_name, sizeof(w->last_name), "%s", name);
    pthread_mutex_unlock(&w->lock);
}

static struct timespec deadline(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)ms * 1000000ULL;
    ts.tv_sec += (time_t)(ns / 1000000000ULL);
    ts.tv_nsec = (long)(ns % 1000000000ULL);
    return ts;
}

/* Wait until event number >= `from` of `kind` (and, for VM_EVENT_STATE,
 * `state`) arrived; returns its index or -1 on timeout. */
static int wait_event(struct watch *w, unsigned from, enum vm_event_kind kind,
                      enum vm_state state)
{
    struct timespec ts = deadline(TIMEOUT_MS);
    int found = -1;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        for (unsigned i = from; i < w->n && found < 0; i++)
            if (w->ev[i].kind == kind && (kind != VM_EVENT_STATE || w->ev[i].state == state))
                found = (int)i;
        if (found >= 0 || pthread_cond_timedwait(&w->cond, &w->lock, &ts))
            break;
    }
    pthread_mutex_unlock(&w->lock);
    return found;
}

static unsigned nevents(struct watch *w)
{
    pthread_mutex_lock(&w->lock);
    unsigned n = w->n;
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* Read console output until `marker` was seen (or timeout): proof that
 * the guest runs.  Returns true when seen. */
static bool wait_output(struct vm *vm, const char *marker)
{
    char buf[8192 + 1];
    size_t have = 0, mlen = strlen(marker);
    uint64_t end = host_time_ns() + TIMEOUT_MS * 1000000ULL;
    while (host_time_ns() < end) {
        struct pollfd p = { .fd = vm_console_fd(vm), .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        size_t n = vm_console_read(vm, buf + have, sizeof(buf) - 1 - have);
        have += n;
        buf[have] = 0;
        if (strstr(buf, marker))
            return true;
        if (have > mlen) {      /* keep a tail that may start the marker */
            memmove(buf, buf + have - mlen, mlen);
            have = mlen;
        }
    }
    return false;
}

/* The VM keeps running: it prints, and its instruction count passes
 * `instret` (which a running vCPU publishes every few thousand
 * instructions, so keep reading its output until it does). */
static bool ran_on(struct vm *vm, uint64_t instret)
{
    uint64_t end = host_time_ns() + TIMEOUT_MS * 1000000ULL;
    while (host_time_ns() < end) {
        struct vm_stats st;
        if (!wait_output(vm, "nobody reads") || vm_get_stats(vm, &st))
            return false;
        if (st.instret > instret)
            return true;
    }
    return false;
}

static void base_config(struct vm_config *cfg, const char *bios, struct watch *w)
{
    vm_config_init(cfg);
    cfg->bios = bios;
    cfg->ram_size = 16ULL << 20;
    cfg->console_ring = 4096;
    cfg->on_event = on_event;
    cfg->event_opaque = w;
    cfg->log = on_log;
    cfg->log_opaque = w;
}

static void stats(struct vm *vm, struct vm_stats *st)
{
    assert_int_equal(vm_get_stats(vm, st), 0);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* ---- tests ---- */

/* Four VMs at once; each is paused while the others run, stands still
 * (instructions and guest time), and resumes without a jump in time. */
static void test_four_vms_pause_resume(void **state)
{
    char elf[4096];
    guest("cli/console_spam.elf", elf, sizeof(elf));
    struct watch w[NVMS];
    struct vm *vm[NVMS];
    for (int i = 0; i < NVMS; i++) {
        struct vm_config cfg;
        char name[16], err[512];
        watch_init(&w[i]);
        base_config(&cfg, elf, &w[i]);
        snprintf(name, sizeof(name), "vm%d", i);
        cfg.name = name;
        assert_int_equal(vm_create(&cfg, &vm[i], err, sizeof(err)), 0);
        assert_string_equal(vm_name(vm[i]), name);
        assert_int_equal(vm_state(vm[i]), VM_STATE_CREATED);
    }
    for (int i = 0; i < NVMS; i++) {
        assert_int_equal(vm_start(vm[i]), 0);
        assert_int_equal(vm_state(vm[i]), VM_STATE_RUNNING);
        assert_true(wait_event(&w[i], 0, VM_EVENT_STATE, VM_STATE_RUNNING) >= 0);
    }
    for (int i = 0; i < NVMS; i++)
        assert_true(wait_output(vm[i], "nobody reads"));

    for (int i = 0; i < NVMS; i++) {
        int other = (i + 1) % NVMS;
        unsigned from = nevents(&w[i]);
        struct vm_stats a, b, c, o1;
        assert_int_equal(vm_pause(vm[i]), 0);
        assert_int_equal(vm_state(vm[i]), VM_STATE_PAUSED);
        assert_true(wait_event(&w[i], from, VM_EVENT_STATE, VM_STATE_PAUSED) >= 0);
        stats(vm[i], &a);
        stats(vm[other], &o1);
        sleep_ns(PAUSE_WINDOW_NS);
        /* The others run on meanwhile (new output, more instructions). */
        assert_true(ran_on(vm[other], o1.instret));
        stats(vm[i], &b);
        assert_true(a.instret > 0);
        assert_int_equal(a.instret, b.instret);             /* nothing retired */
        assert_int_equal(a.guest_time_ns, b.guest_time_ns); /* time stands still */

        /* Output pending in the ring is not new output: drain it, then a
         * paused guest writes nothing. */
        char buf[4096];
        while (vm_console_read(vm[i], buf, sizeof(buf)))
            ;
        struct pollfd p = { .fd = vm_console_fd(vm[i]), .events = POLLIN };
        assert_int_equal(poll(&p, 1, 0), 0);

        uint64_t t0 = host_time_ns();
        assert_int_equal(vm_resume(vm[i]), 0);
        stats(vm[i], &c);
        uint64_t t1 = host_time_ns();
        assert_int_equal(vm_state(vm[i]), VM_STATE_RUNNING);
        /* Guest time continues from where it stopped: it advanced by no
         * more than the host time since the resume (plus a tick's
         * rounding), not by the pause's length (over PAUSE_WINDOW_NS). */
        assert_true(c.guest_time_ns >= a.guest_time_ns);
        assert_true(c.guest_time_ns - a.guest_time_ns <= t1 - t0 + 1000);
        assert_true(wait_event(&w[i], from, VM_EVENT_STATE, VM_STATE_RUNNING) >= 0);
        assert_true(ran_on(vm[i], b.instret));
    }
    for (int i = 0; i < NVMS; i++) {
        assert_int_equal(vm_stop(vm[i]), 0);
        enum vm_stop_reason why;
        vm_stop_info(vm[i], &why, NULL);
        assert_int_equal(why, VM_STOP_REQUESTED);
        vm_destroy(vm[i]);
        watch_free(&w[i]);
    }
}

/* Calls in the wrong state return -EINVAL/-EBUSY, say why, change nothing. */
static void test_wrong_state(void **state)
{
    char elf[4096], err[512];
    guest("cli/console_spam.elf", elf, sizeof(elf));
    struct watch w;
    struct vm_config cfg;
    struct vm *vm;
    watch_init(&w);
    base_config(&cfg, elf, &w);
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), 0);

    assert_int_equal(vm_pause(vm), -EINVAL);
    assert_non_null(strstr(vm_last_error(vm, err, sizeof(err)), "pause: the VM is created"));
    assert_int_equal(vm_resume(vm), -EINVAL);
    assert_int_equal(vm_stop(vm), -EINVAL);
    assert_int_equal(vm_state(vm), VM_STATE_CREATED);
    assert_int_equal(nevents(&w), 0);

    assert_int_equal(vm_start(vm), 0);
    assert_int_equal(vm_start(vm), -EBUSY);
    assert_int_equal(vm_resume(vm), -EINVAL);
    assert_int_equal(vm_state(vm), VM_STATE_RUNNING);

    assert_int_equal(vm_pause(vm), 0);
    struct vm_stats a, b;
    stats(vm, &a);
    assert_int_equal(vm_pause(vm), -EINVAL);
    assert_int_equal(vm_start(vm), -EBUSY);
    assert_non_null(strstr(vm_last_error(vm, err, sizeof(err)), "start: the VM is paused"));
    stats(vm, &b);
    assert_int_equal(vm_state(vm), VM_STATE_PAUSED);
    assert_int_equal(a.instret, b.instret);
    assert_int_equal(a.guest_time_ns, b.guest_time_ns);

    assert_int_equal(vm_resume(vm), 0);
    assert_int_equal(vm_stop(vm), 0);
    assert_int_equal(vm_stop(vm), -EINVAL);
    assert_int_equal(vm_pause(vm), -EINVAL);
    assert_int_equal(vm_resume(vm), -EINVAL);
    assert_int_equal(vm_start(vm), -EINVAL);
    assert_non_null(strstr(vm_last_error(vm, err, sizeof(err)), "reset a stopped VM first"));
    assert_int_equal(vm_state(vm), VM_STATE_STOPPED);

    /* Events: running, paused, running, stopped, in that order. */
    assert_true(wait_event(&w, 0, VM_EVENT_STATE, VM_STATE_STOPPED) >= 0);
    const enum vm_state seq[] = { VM_STATE_RUNNING, VM_STATE_PAUSED, VM_STATE_RUNNING,
                                  VM_STATE_STOPPED };
    assert_int_equal(nevents(&w), 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(w.ev[i].kind, VM_EVENT_STATE);
        assert_int_equal(w.ev[i].state, seq[i]);
    }

    /* A stopped VM is reset to CREATED and runs again from the start. */
    assert_int_equal(vm_reset(vm), 0);
    assert_int_equal(vm_state(vm), VM_STATE_CREATED);
    stats(vm, &a);
    assert_int_equal(a.instret, 0);
    assert_int_equal(a.resets, 1);
    assert_int_equal(vm_start(vm), 0);
    assert_true(wait_output(vm, "nobody reads"));
    vm_destroy(vm);     /* stops it */
    watch_free(&w);
}

/* vm_reset of a running VM keeps it running from power-on; of a paused
 * one keeps it paused, at power-on, standing still. */
static void test_reset_active(void **state)
{
    char elf[4096], err[512];
    guest("cli/console_spam.elf", elf, sizeof(elf));
    struct watch w;
    struct vm_config cfg;
    struct vm *vm;
    watch_init(&w);
    base_config(&cfg, elf, &w);
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), 0);
    assert_int_equal(vm_start(vm), 0);
    assert_true(wait_output(vm, "nobody reads"));
    assert_int_equal(vm_reset(vm), 0);
    assert_int_equal(vm_state(vm), VM_STATE_RUNNING);
    assert_true(wait_output(vm, "nobody reads"));

    assert_int_equal(vm_pause(vm), 0);
    assert_int_equal(vm_reset(vm), 0);
    assert_int_equal(vm_state(vm), VM_STATE_PAUSED);
    struct vm_stats a, b;
    stats(vm, &a);
    assert_int_equal(a.instret, 0);
    assert_int_equal(a.resets, 2);
    sleep_ns(PAUSE_WINDOW_NS);
    stats(vm, &b);
    assert_int_equal(b.instret, 0);
    assert_int_equal(a.guest_time_ns, b.guest_time_ns);
    assert_int_equal(vm_resume(vm), 0);
    assert_true(wait_output(vm, "nobody reads"));
    vm_destroy(vm);
    watch_free(&w);
}

/* A guest poweroff: POWEROFF with the guest's status, then STOPPED; the
 * console carries what the guest printed. */
static void test_guest_poweroff(void **state)
{
    char elf[4096], err[512];
    guest("isa/rv64i_alu.elf", elf, sizeof(elf));
    struct watch w;
    struct vm_config cfg;
    struct vm *vm;
    watch_init(&w);
    base_config(&cfg, elf, &w);
    cfg.name = "alu";
    cfg.stats = true;
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), 0);
    assert_int_equal(vm_start(vm), 0);
    int off = wait_event(&w, 0, VM_EVENT_POWEROFF, 0);
    assert_true(off >= 0);
    assert_int_equal(w.ev[off].code, 0);
    assert_true(wait_event(&w, (unsigned)off, VM_EVENT_STATE, VM_STATE_STOPPED) > off);
    assert_int_equal(vm_state(vm), VM_STATE_STOPPED);
    enum vm_stop_reason why;
    int code = -1;
    vm_stop_info(vm, &why, &code);
    assert_int_equal(why, VM_STOP_POWEROFF);
    assert_int_equal(code, 0);
    assert_true(wait_output(vm, "PASS"));
    /* The stats line came through the VM's log sink with its name. */
    pthread_mutex_lock(&w.lock);
    assert_true(w.logs > 0);
    assert_string_equal(w.last_name, "alu");
    assert_int_equal(w.last_level, VM_LOG_INFO);
    assert_non_null(strstr(w.last_log, "stats: "));
    pthread_mutex_unlock(&w.lock);
    vm_destroy(vm);
    watch_free(&w);
}

/* The vCPU settings reach the vCPUs: translator off, no translated
 * code; on with a threshold of 1, some. */
static void test_cpu_options(void **state)
{
    char elf[4096], err[512];
    guest("isa/rv64i_alu.elf", elf, sizeof(elf));
    for (int jit = 0; jit < 2; jit++) {
        struct watch w;
        struct vm_config cfg;
        struct vm *vm;
        watch_init(&w);
        base_config(&cfg, elf, &w);
        cfg.jit = jit;
        cfg.jit_hot = 1;
        assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), 0);
        assert_int_equal(vm_start(vm), 0);
        assert_true(wait_event(&w, 0, VM_EVENT_STATE, VM_STATE_STOPPED) >= 0);
        struct vm_stats st;
        stats(vm, &st);
        assert_true(st.instret > 0);
#if defined(__x86_64__)                 /* the only host with a translator */
        if (jit)
            assert_true(st.jit_bytes > 0);
        else
#endif
            assert_int_equal(st.jit_bytes, 0);
        vm_destroy(vm);
        watch_free(&w);
    }
}

/* The event callback may destroy its VM. */
static void test_destroy_from_callback(void **state)
{
    char elf[4096], err[512];
    guest("isa/rv64i_alu.elf", elf, sizeof(elf));
    struct watch w;
    struct vm_config cfg;
    struct vm *vm;
    watch_init(&w);
    w.destroy_on_poweroff = true;
    base_config(&cfg, elf, &w);
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), 0);
    assert_int_equal(vm_start(vm), 0);
    struct timespec ts = deadline(TIMEOUT_MS);
    pthread_mutex_lock(&w.lock);
    while (!w.destroyed && !pthread_cond_timedwait(&w.cond, &w.lock, &ts))
        ;
    bool destroyed = w.destroyed;
    pthread_mutex_unlock(&w.lock);
    assert_true(destroyed);
    /* The event thread frees the VM after the callback; nothing of it
     * calls back into `w` after `destroyed` (ASan checks the rest). */
    watch_free(&w);
}

/* Guest reboots: reset in place, the VM stays RUNNING; under no_reboot
 * the VM stops with VM_STOP_REBOOT. */
static void test_guest_reboot(void **state)
{
    char elf[4096], err[512];
    guest("cli/reboot_loop.elf", elf, sizeof(elf));
    struct watch w;
    struct vm_config cfg;
    struct vm *vm;
    watch_init(&w);
    base_config(&cfg, elf, &w);
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), 0);
    assert_int_equal(vm_start(vm), 0);
    int r1 = wait_event(&w, 0, VM_EVENT_REBOOT, 0);
    assert_true(r1 >= 0);
    assert_true(wait_event(&w, (unsigned)r1 + 1, VM_EVENT_REBOOT, 0) > r1);
    assert_int_equal(vm_state(vm), VM_STATE_RUNNING);
    struct vm_stats st;
    stats(vm, &st);
    assert_true(st.resets >= 2);
    vm_destroy(vm);
    watch_free(&w);

    watch_init(&w);
    base_config(&cfg, elf, &w);
    cfg.no_reboot = true;
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), 0);
    assert_int_equal(vm_start(vm), 0);
    r1 = wait_event(&w, 0, VM_EVENT_REBOOT, 0);
    assert_true(r1 >= 0);
    assert_true(wait_event(&w, (unsigned)r1, VM_EVENT_STATE, VM_STATE_STOPPED) > r1);
    enum vm_stop_reason why;
    vm_stop_info(vm, &why, NULL);
    assert_int_equal(why, VM_STOP_REBOOT);
    assert_true(wait_output(vm, "rebooting"));
    vm_destroy(vm);
    watch_free(&w);
}

/* Input goes to the guest's UART; without a reader of its own the guest
 * leaves it there, so this checks only that the call is accepted in every
 * state the board exists in. */
static void test_console_input(void **state)
{
    char elf[4096], err[512];
    guest("cli/console_spam.elf", elf, sizeof(elf));
    struct watch w;
    struct vm_config cfg;
    struct vm *vm;
    watch_init(&w);
    base_config(&cfg, elf, &w);
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), 0);
    assert_int_equal(vm_console_input(vm, "a", 1), 0);
    assert_int_equal(vm_start(vm), 0);
    assert_int_equal(vm_console_input(vm, "b", 1), 0);
    assert_int_equal(vm_pause(vm), 0);
    assert_int_equal(vm_console_input(vm, "c", 1), 0);
    vm_destroy(vm);
    watch_free(&w);
}

/* UUIDs: given ones are kept (lower-cased), missing ones are random
 * version 4 UUIDs, different for two VMs. */
static void test_uuid(void **state)
{
    char elf[4096], err[512], u1[VM_UUID_LEN + 1], u2[VM_UUID_LEN + 1];
    guest("isa/rv64i_alu.elf", elf, sizeof(elf));
    struct watch w;
    struct vm_config cfg;
    struct vm *a, *b;
    watch_init(&w);
    base_config(&cfg, elf, &w);
    cfg.uuid = "123E4567-E89B-42D3-A456-426614174000";
    assert_int_equal(vm_create(&cfg, &a, err, sizeof(err)), 0);
    vm_uuid(a, u1);
    assert_string_equal(u1, "123e4567-e89b-42d3-a456-426614174000");
    vm_destroy(a);
    cfg.uuid = NULL;
    assert_int_equal(vm_create(&cfg, &a, err, sizeof(err)), 0);
    assert_int_equal(vm_create(&cfg, &b, err, sizeof(err)), 0);
    vm_uuid(a, u1);
    vm_uuid(b, u2);
    assert_int_equal(strlen(u1), VM_UUID_LEN);
    assert_string_not_equal(u1, u2);
    assert_int_equal(u1[14], '4');                      /* version 4 */
    assert_non_null(strchr("89ab", u1[19]));            /* variant 10 */
    vm_destroy(a);
    vm_destroy(b);
    watch_free(&w);
}

/* Invalid configurations: -EINVAL, the message names the field, no VM. */
static const struct vm_disk disk_ok = { .path = "x.img" };
static const struct vm_disk disk_no_path = { .path = NULL };
static const struct vm_disk disk_bad_cache = { .path = "x.img", .cache = (enum vm_cache)7 };
static const char *const net_tap[] = { "tap" };
static struct vm_disk nine_disks[9];

/* Make case `i` of the invalid configs; returns the start of the message
 * expected, or NULL past the last case. */
static const char *bad_config(unsigned i, struct vm_config *c)
{
    switch (i) {
    case 0: c->ncpus = 0; return "ncpus 0:";
    case 1: c->ncpus = 17; return "ncpus 17:";
    case 2: c->ram_size = 0; return "ram_size 0:";
    case 3: c->ram_size = 4097; return "ram_size 4097:";
    case 4: c->ram_size = 2ULL << 40; return "ram_size 2199023255552:";
    case 5: c->bios = NULL; return "bios and kernel:";
    case 6: c->kernel = "Image"; return "bios and kernel:";
    case 7: c->initrd = "i.gz"; return "initrd 'i.gz' with bios";
    case 8: c->name = ""; return "name '':";
    case 9: c->name = "a\tb"; return "name 'a\tb':";
    case 10: c->uuid = "xyz"; return "uuid 'xyz':";
    case 11:
        c->uuid = "123e4567-e89b-42d3-a456-42661417400g";
        return "uuid '123e4567-e89b-42d3-a456-42661417400g':";
    case 12: c->jit_hot = 256; return "jit_hot 256:";
    case 13: c->console_ring = 100; return "console_ring 100:";
    case 14: c->log_level = (enum vm_log_level)9; return "log_level 9:";
    case 15:
        for (int k = 0; k < 9; k++)
            nine_disks[k] = disk_ok;
        c->disks = nine_disks;
        c->ndisks = 9;
        return "ndisks 9,";
    case 16:
        c->disks = &disk_ok;
        c->ndisks = 7;
        c->virtio_console = true;
        return "ndisks 7, nnets 0, virtio_console on, balloon off:";
    case 17: c->disks = &disk_no_path; c->ndisks = 1; return "disks[0].path:";
    case 18: c->disks = &disk_bad_cache; c->ndisks = 1; return "disks[0].cache 7";
    case 19:
        c->nets = net_tap;
        c->nnets = 1;
        return vm_net_available() ? "--net 'tap':" : "nnets 1:";
    case 20: c->balloon = 3; return "balloon 3:";
    case 21:        /* the balloon takes a slot too */
        c->disks = &disk_ok;
        c->ndisks = 6;
        c->virtio_console = true;
        c->balloon = 2;
        return "ndisks 6, nnets 0, virtio_console on, balloon on:";
    default: return NULL;
    }
}

/* A VM created for a restore cannot start until it is restored: its
 * RAM holds no program (for a kernel, none was loaded). */
static void test_for_restore_gate(void **state)
{
    (void)state;
    char elf[4096], err[512], dir[] = "/tmp/vessel-test-vm-XXXXXX";
    guest("cli/console_spam.elf", elf, sizeof(elf));
    assert_non_null(mkdtemp(dir));
    struct watch w;
    struct vm_config cfg;
    struct vm *a, *b;
    watch_init(&w);
    base_config(&cfg, elf, &w);
    assert_int_equal(vm_create(&cfg, &a, err, sizeof(err)), 0);
    assert_int_equal(vm_start_paused(a), 0);
    assert_int_equal(vm_snapshot_create(a, dir, err, sizeof(err)), 0);
    vm_destroy(a);

    cfg.restore_dir = dir;
    assert_int_equal(vm_create(&cfg, &b, err, sizeof(err)), 0);
    assert_int_equal(vm_start(b), -EINVAL);
    assert_non_null(strstr(vm_last_error(b, err, sizeof(err)), "has not been restored"));
    assert_int_equal(vm_start_paused(b), -EINVAL);
    assert_int_equal(vm_state(b), VM_STATE_CREATED);
    assert_int_equal(vm_restore(b, dir, err, sizeof(err)), 0);
    assert_int_equal(vm_start(b), 0);
    assert_int_equal(vm_stop(b), 0);
    vm_destroy(b);
    char p[128];
    snprintf(p, sizeof(p), "%s/state", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/memory", dir);
    unlink(p);
    rmdir(dir);
}

static void test_invalid_configs(void **state)
{
    char elf[4096];
    guest("isa/rv64i_alu.elf", elf, sizeof(elf));
    const char *want;
    for (unsigned i = 0; ; i++) {
        struct vm_config cfg;
        struct vm *vm = NULL;
        char err[512] = "";
        vm_config_init(&cfg);
        cfg.bios = elf;
        if (!(want = bad_config(i, &cfg)))
            break;
        int rc = vm_create(&cfg, &vm, err, sizeof(err));
        if (rc != -EINVAL || strncmp(err, want, strlen(want)))
            fail_msg("case %u: rc %d, message '%s', expected -EINVAL and '%s...'", i, rc,
                     err, want);
        assert_null(vm);
    }
    /* A missing file: the errno of the board, a message, no VM. */
    struct vm_config cfg;
    struct vm *vm = NULL;
    char err[512] = "";
    vm_config_init(&cfg);
    cfg.bios = "/nonexistent/guest.elf";
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), -ENOENT);
    assert_null(vm);
    assert_true(err[0] != 0);
}

int main(void)
{
    const char *d = getenv("BUILD_GUEST");
    snprintf(guest_dir, sizeof(guest_dir), "%s", d && *d ? d : "build/guest");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_vms_pause_resume),
        cmocka_unit_test(test_wrong_state),
        cmocka_unit_test(test_reset_active),
        cmocka_unit_test(test_guest_poweroff),
        cmocka_unit_test(test_cpu_options),
        cmocka_unit_test(test_destroy_from_callback),
        cmocka_unit_test(test_guest_reboot),
        cmocka_unit_test(test_console_input),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_for_restore_gate),
        cmocka_unit_test(test_invalid_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
