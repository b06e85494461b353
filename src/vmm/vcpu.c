/* vCPU threads: each runs its vCPU in slices through the CPU backend
 * (cpu/cpu.h), updates the board's timers between slices, sleeps while
 * the vCPU is idle (no longer than the next timer deadline), and parks
 * outside the run loop whenever vm->hold is non-zero.
 *
 * Parking is how every control operation gets a quiet VM: the control
 * thread sets a hold bit, kicks every vCPU (the backend returns from its
 * slice at the next instruction boundary; an idle wait is woken) and
 * waits until all threads are parked; clearing the bit lets them go.  The
 * bit test costs one atomic load per slice.
 *
 * Memory operations (mem.h: a dirty-log clear, a page given new backing)
 * park the vCPUs the same way through the shootdown callback registered
 * on the board's address space: STOP sets HOLD_MEM and waits until every
 * thread is parked, RELEASE clears it.  It may come from any thread but a
 * vCPU's, while control calls run or not, so it synchronises with them
 * through park_lock alone (never vm->lock), and thread start and end keep
 * a HOLD_MEM that is set.
 *
 * Guest time (design rule 6) stands still while the VM is not running:
 * the VM clock's offset is moved on thaw by exactly the time spent
 * frozen, so the guest sees no jump. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mem/mem.h"
#include "util/util.h"
#include "util/vclock.h"
#include "vmm/vmm_int.h"

/* Instructions per slice: bounds timer latency (well under 1 ms) and how
 * long a pause waits for a running vCPU. */
#define VCPU_SLICE 200000

/* The idle wait re-checks the world at least this often (ns). */
#define VCPU_MAX_WAIT_NS 1000000000ULL

static bool held(struct vm *v)
{
    return atomic_load_explicit(&v->hold, memory_order_acquire) != 0;
}

void vcpu_wake(void *opaque, unsigned cpu)
{
    struct vm *v = opaque;
    if (cpu >= VIRT_MAX_CPUS)
        return;
    struct vcpu *c = &v->vcpus[cpu];
    pthread_mutex_lock(&c->lock);
    c->woken = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* Sleep while the vCPU is idle: until a wake-up, a hold, or max_ns. */
static void vcpu_wait(struct vcpu *c, uint64_t max_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (max_ns > VCPU_MAX_WAIT_NS)
        max_ns = VCPU_MAX_WAIT_NS;
    uint64_t ns = (uint64_t)ts.tv_nsec + max_ns;
    ts.tv_sec += (time_t)(ns / 1000000000ULL);
    ts.tv_nsec = (long)(ns % 1000000000ULL);
    pthread_mutex_lock(&c->lock);
    while (!c->woken && !held(c->vm)) {
        if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT)
            break;
    }
    c->woken = false;
    pthread_mutex_unlock(&c->lock);
}

/* Park until no hold bit is set.  Returns false when the thread must end. */
static bool vcpu_park(struct vm *v)
{
    bool go_on;
    pthread_mutex_lock(&v->park_lock);
    v->parked++;
    pthread_cond_broadcast(&v->park_cond);
    while (held(v) && !(atomic_load(&v->hold) & HOLD_EXIT))
        pthread_cond_wait(&v->park_cond, &v->park_lock);
    go_on = !(atomic_load(&v->hold) & HOLD_EXIT);
    v->parked--;
    pthread_mutex_unlock(&v->park_lock);
    return go_on;
}

/* park_lock held: it keeps nthreads still. */
static void kick_locked(struct vm *v)
{
    for (unsigned i = 0; i < v->nthreads; i++) {
        if (i < v->ncpus)       /* 0 while the board is being rebuilt */
            cpu_kick(&v->cpus[i]);
        vcpu_wake(v, i);
    }
}

static void kick_all(struct vm *v)
{
    pthread_mutex_lock(&v->park_lock);
    kick_locked(v);
    pthread_mutex_unlock(&v->park_lock);
}

/* The guest asked to power off or reboot (seen by vCPU `self`): hold every
 * vCPU and let the event thread decide, under the control lock. */
static void guest_request(struct vm *v)
{
    unsigned old = atomic_fetch_or(&v->hold, HOLD_GUEST);
    if (old & HOLD_GUEST)
        return;
    kick_all(v);
    vm_events_guest(v);
}

static void trace(struct vcpu *c, const struct cpu *cpu)
{
    char line[256];
    if (cpu->ops->describe(cpu->impl, line, sizeof(line)) && !line[0])
        return;
    vm_log(c->vm, VM_LOG_INFO, "trace: cpu%u %s", c->index, line);
}

static void *vcpu_main(void *arg)
{
    struct vcpu *c = arg;
    struct vm *v = c->vm;
    uint64_t next_trace = host_time_ns() + 1000000000ULL;
    for (;;) {
        if (held(v)) {
            if (!vcpu_park(v))
                break;
            continue;
        }
        /* Stable until the next park: the board is rebuilt only while
         * every vCPU is parked. */
        struct virt_machine *board = v->board;
        const struct cpu *cpu = &v->cpus[c->index];
        if (v->cfg.trace && host_time_ns() >= next_trace) {
            next_trace += 1000000000ULL;
            trace(c, cpu);
        }
        enum cpu_exit r = cpu_run(cpu, VCPU_SLICE);
        virt_update_timers(board);
        if (virt_shutdown_state(board, NULL) != VIRT_RUNNING) {
            guest_request(v);
            continue;
        }
        if (r == CPU_EXIT_IDLE && !cpu_irq_pending(cpu))
            vcpu_wait(c, virt_next_timer_ns(board, c->index));
    }
    return NULL;
}

static void wait_parked(struct vm *v)
{
    pthread_mutex_lock(&v->park_lock);
    while (v->parked < v->nthreads)
        pthread_cond_wait(&v->park_cond, &v->park_lock);
    pthread_mutex_unlock(&v->park_lock);
}

void vcpus_hold(struct vm *v, unsigned why)
{
    atomic_fetch_or(&v->hold, why);
    kick_all(v);
    wait_parked(v);
}

void vcpus_release(struct vm *v, unsigned why)
{
    pthread_mutex_lock(&v->park_lock);
    atomic_fetch_and(&v->hold, ~why);
    pthread_cond_broadcast(&v->park_cond);
    pthread_mutex_unlock(&v->park_lock);
}

void vcpus_end(struct vm *v)
{
    pthread_mutex_lock(&v->park_lock);
    atomic_fetch_or(&v->hold, HOLD_EXIT);
    pthread_cond_broadcast(&v->park_cond);
    kick_locked(v);
    unsigned n = v->nthreads;
    pthread_mutex_unlock(&v->park_lock);
    for (unsigned i = 0; i < n; i++)
        pthread_join(v->vcpus[i].thread, NULL);
    /* A memory operation's STOP may be waiting for these threads: with
     * none left it is done.  Its HOLD_MEM stays until its RELEASE. */
    pthread_mutex_lock(&v->park_lock);
    v->nthreads = 0;
    v->parked = 0;
    atomic_fetch_and(&v->hold, HOLD_MEM);
    pthread_cond_broadcast(&v->park_cond);
    pthread_mutex_unlock(&v->park_lock);
}

/* The shootdown of the board's address space (mem.h mem_set_shootdown). */
static int mem_shootdown(void *opaque, enum mem_shootdown_phase phase)
{
    struct vm *v = opaque;
    if (phase == MEM_SHOOTDOWN_RELEASE) {
        vcpus_release(v, HOLD_MEM);
        return 0;
    }
    pthread_mutex_lock(&v->park_lock);
    for (unsigned i = 0; i < v->nthreads; i++) {
        if (pthread_equal(pthread_self(), v->vcpus[i].thread)) {
            /* It would wait for itself to park. */
            pthread_mutex_unlock(&v->park_lock);
            return -EDEADLK;
        }
    }
    atomic_fetch_or(&v->hold, HOLD_MEM);
    kick_locked(v);
    while (v->parked < v->nthreads)
        pthread_cond_wait(&v->park_cond, &v->park_lock);
    pthread_mutex_unlock(&v->park_lock);
    return 0;
}

int vcpus_start(struct vm *v)
{
    /* The board's address space is stable from here to the next
     * vcpus_start (a reset keeps it; a rebuild happens only while the VM
     * is stopped). */
    mem_set_shootdown(virt_mem(v->board), mem_shootdown, v);
    atomic_fetch_and(&v->hold, HOLD_MEM);
    atomic_fetch_or(&v->hold, HOLD_CTL);
    for (unsigned i = 0; i < v->ncpus; i++) {
        struct vcpu *c = &v->vcpus[i];
        c->woken = false;
        /* Under park_lock, so that a STOP counts exactly the threads
         * that exist (each parks at once on HOLD_CTL). */
        pthread_mutex_lock(&v->park_lock);
        int rc = pthread_create(&c->thread, NULL, vcpu_main, c);
        if (!rc)
            v->nthreads = i + 1;
        pthread_mutex_unlock(&v->park_lock);
        if (rc) {
            vcpus_end(v);
            return vm_fail(v, -rc, "start: cannot create the thread of vCPU %u: %s", i,
                           strerror(rc));
        }
    }
    return 0;
}

/* ---- guest time ---- */

/* Freezing quiesces the board (machine/virt.h): its devices finish their
 * in-flight I/O and take no new work, and its clock stands still; thawing
 * resumes both, guest time going on from where it stood (design rule 6). */
void vm_clock_freeze(struct vm *v)
{
    if (v->frozen)
        return;
    v->frozen_ticks = vclock_now(virt_clock(v->board));
    int rc = virt_quiesce(v->board);
    if (rc)
        vm_log(v, VM_LOG_WARN, "quiescing the devices: %s", strerror(-rc));
    else    /* the time the guest goes on from at the thaw */
        v->frozen_ticks = virt_frozen_ticks(v->board);
    v->frozen = true;
}

void vm_clock_thaw(struct vm *v)
{
    if (!v->frozen)
        return;
    virt_resume(v->board);
    v->frozen = false;
}

uint64_t vm_guest_ticks(struct vm *v)
{
    if (atomic_load(&v->state) == VM_STATE_RUNNING)
        return vclock_now(virt_clock(v->board));
    return v->frozen_ticks;
}
