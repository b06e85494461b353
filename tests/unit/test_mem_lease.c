/* The memory leases under a running VM (issue: memory leases and a dirty
 * log): a four-hart guest (tests/unit/guest/mem_stress.S: stores, AMOs
 * and LR/SC on private and shared words) runs through the vmm/ API while
 * this thread gives the pages it uses, its code included, new backing
 * well over a thousand times (mem_replace_page: the VMM's shootdown parks
 * the vCPUs around each).  The guest then checks its sums: not one access
 * may be lost or doubled.  Every hundred replacements the dirty log is
 * cleared and, once every hart has done two more iterations, it must hold
 * exactly the pages the program writes.  With the translator (1200
 * replacements), then interpreting only (300: most of the time goes to
 * parking and waking four vCPU threads, which on a loaded two-core host
 * takes milliseconds).
 *
 * Waits are for guest progress (its counters, read through mem_read) or
 * events, bounded by a timeout; nothing sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mem/mem.h"
#include "util/util.h"
#include "vmm/vmm.h"
#include "vmm/vmm_int.h"    /* the board, for its address space */

#define TIMEOUT_NS 60000000000ULL

/* The guest's layout (mem_stress.S). */
#define NHARTS      4
#define RAM         0x80000000ULL
#define CODE        RAM
#define CTL         0x80100000ULL
#define SHARED      0x80101000ULL
#define PRIV        0x80110000ULL
#define PRIV_PAGES  8
#define PAGE        4096ULL
#define RAM_SIZE    (16ULL << 20)

static char guest_dir[2048];

struct watch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool off;
    int code;
};

static void on_event(void *opaque, struct vm *vm, const struct vm_event *ev)
{
    struct watch *w = opaque;
    (void)vm;
    pthread_mutex_lock(&w->lock);
    if (ev->kind == VM_EVENT_POWEROFF) {
        w->off = true;
        w->code = ev->code;
    }
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* The guest's progress counters (iterations each hart has done). */
static void progress(struct mem *m, uint64_t p[NHARTS])
{
    assert_int_equal(mem_read(m, CTL + 128, p, NHARTS * sizeof(uint64_t)), 0);
}

static uint64_t progress_sum(struct mem *m)
{
    uint64_t p[NHARTS], s = 0;
    progress(m, p);
    for (int h = 0; h < NHARTS; h++)
        s += p[h];
    return s;
}

/* Wait until every hart has done at least `more` iterations past `from`. */
static void wait_each(struct mem *m, const uint64_t from[NHARTS], uint64_t more)
{
    uint64_t end = host_time_ns() + TIMEOUT_NS;
    for (;;) {
        uint64_t p[NHARTS];
        progress(m, p);
        int h = 0;
        while (h < NHARTS && p[h] >= from[h] + more)
            h++;
        if (h == NHARTS)
            return;
        assert_true(host_time_ns() < end);
        sched_yield();
    }
}

/* The pages the program writes: its control page, the shared pages and
 * every hart's private pages; nothing else (code, the HTIF page). */
static bool written_page(uint64_t gpa)
{
    return gpa == CTL || (gpa >= SHARED && gpa < SHARED + 3 * PAGE) ||
           (gpa >= PRIV && gpa < PRIV + NHARTS * PRIV_PAGES * PAGE);
}

/* The dirty log is cleared, every hart does two full iterations, and then
 * it holds exactly the pages the program writes. */
static void check_dirty_log(struct mem *m)
{
    static uint64_t bm[RAM_SIZE / PAGE / 64];
    uint64_t from[NHARTS];
    assert_int_equal(mem_dirty_fetch(m, RAM, RAM_SIZE, bm, true), 0);
    progress(m, from);
    wait_each(m, from, 2);
    assert_int_equal(mem_dirty_fetch(m, RAM, RAM_SIZE, bm, false), 0);
    for (uint64_t i = 0; i < RAM_SIZE / PAGE; i++) {
        bool dirty = (bm[i / 64] >> (i % 64)) & 1;
        if (dirty != written_page(RAM + i * PAGE))
            fail_msg("page 0x%llx: dirty %d, written by the guest %d",
                     (unsigned long long)(RAM + i * PAGE), dirty,
                     written_page(RAM + i * PAGE));
    }
}

static void run_stress(bool jit, unsigned replacements)
{
    char elf[4096];
    snprintf(elf, sizeof(elf), "%s/unit/mem_stress.elf", guest_dir);
    if (access(elf, R_OK))
        skip();         /* guest programs not built: make guests */
    struct watch w = { .code = -1 };
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    struct vm_config cfg;
    vm_config_init(&cfg);
    cfg.name = jit ? "stress-jit" : "stress-interp";
    cfg.bios = elf;
    cfg.ram_size = RAM_SIZE;
    cfg.ncpus = NHARTS;
    cfg.jit = jit;
    cfg.console_ring = 4096;
    cfg.on_event = on_event;
    cfg.event_opaque = &w;
    struct vm *vm;
    char err[512];
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), 0);
    struct mem *m = virt_mem(vm->board);

    /* Every page the program touches: code, control, shared, private. */
    uint64_t pages[5 + NHARTS * PRIV_PAGES];
    unsigned np = 0;
    pages[np++] = CODE;
    pages[np++] = CTL;
    for (unsigned i = 0; i < 3; i++)
        pages[np++] = SHARED + i * PAGE;
    for (unsigned i = 0; i < NHARTS * PRIV_PAGES; i++)
        pages[np++] = PRIV + i * PAGE;

    assert_int_equal(vm_start(vm), 0);
    uint64_t zero[NHARTS] = { 0 };
    wait_each(m, zero, 1);      /* every hart runs */
    for (unsigned i = 0; i < replacements; i++) {
        /* Each replacement lands while the guest is running: it made
         * progress since the last one. */
        uint64_t before = progress_sum(m), end = host_time_ns() + TIMEOUT_NS;
        assert_int_equal(mem_replace_page(m, pages[i % np]), 0);
        while (progress_sum(m) == before) {
            assert_true(host_time_ns() < end);
            sched_yield();
        }
        if (i % 100 == 99)
            check_dirty_log(m);
    }
    uint64_t stop = 1;
    assert_int_equal(mem_write(m, CTL, &stop, sizeof(stop)), 0);

    uint64_t end = host_time_ns() + TIMEOUT_NS;
    pthread_mutex_lock(&w.lock);
    while (!w.off && host_time_ns() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&w.cond, &w.lock, &ts);
    }
    bool off = w.off;
    int code = w.code;
    pthread_mutex_unlock(&w.lock);
    assert_true(off);
    if (code)
        fail_msg("the guest found a wrong sum: status 0x%x (mem_stress.S)", code);
    uint64_t iters[NHARTS];
    assert_int_equal(mem_read(m, CTL + 64, iters, sizeof(iters)), 0);
    for (int h = 0; h < NHARTS; h++)
        assert_true(iters[h] > 0);
    vm_destroy(vm);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
}

static void test_replace_under_translated_guest(void **state)
{
    (void)state;
    run_stress(true, 1200);
}

static void test_replace_under_interpreted_guest(void **state)
{
    (void)state;
    run_stress(false, 300);
}

/* The VMM's shootdown works in every state: created (no threads yet),
 * running, paused (the vCPUs stay parked after the release), stopped (no
 * threads left). */
static void test_shootdown_states(void **state)
{
    (void)state;
    char elf[4096];
    snprintf(elf, sizeof(elf), "%s/unit/mem_stress.elf", guest_dir);
    if (access(elf, R_OK))
        skip();
    struct vm_config cfg;
    vm_config_init(&cfg);
    cfg.bios = elf;
    cfg.ram_size = RAM_SIZE;
    cfg.ncpus = NHARTS;
    cfg.console_ring = 4096;
    struct vm *vm;
    char err[512];
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), 0);
    struct mem *m = virt_mem(vm->board);
    assert_int_equal(mem_replace_page(m, CTL), 0);          /* created */
    assert_int_equal(vm_start(vm), 0);
    uint64_t zero[NHARTS] = { 0 };
    wait_each(m, zero, 1);
    assert_int_equal(mem_replace_page(m, CTL), 0);          /* running */
    assert_int_equal(vm_pause(vm), 0);
    uint64_t a[NHARTS], b[NHARTS];
    progress(m, a);
    assert_int_equal(mem_replace_page(m, CTL), 0);          /* paused */
    progress(m, b);
    assert_memory_equal(a, b, sizeof(a));   /* and it stays paused */
    assert_int_equal(vm_resume(vm), 0);
    wait_each(m, b, 1);
    assert_int_equal(vm_stop(vm), 0);
    assert_int_equal(mem_replace_page(m, CTL), 0);          /* stopped */
    vm_destroy(vm);
}

int main(void)
{
    const char *d = getenv("BUILD_GUEST");
    snprintf(guest_dir, sizeof(guest_dir), "%s", d && *d ? d : "build/guest");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace_under_translated_guest),
        cmocka_unit_test(test_replace_under_interpreted_guest),
        cmocka_unit_test(test_shootdown_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
