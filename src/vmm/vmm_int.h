/* vmm-internal: struct vm and what its files share.  Not part of the
 * module's API (vmm.h).
 *
 * Files: vm.c (the API and the state machine), vcpu.c (vCPU threads,
 * parking, guest time), events.c (the event thread, logging, error text),
 * config.c (validation, UUIDs, the VM's copy of its config), disks.c (the
 * disks, open for the VM's life), nics.c (the network backends, open for
 * the VM's life), console.c (the output ring), sandbox.c (the process's
 * seccomp filter, sandbox.h).
 *
 * Locks, in the order they may be taken:
 *   vm->lock        control: serialises state changes (API calls, the
 *                   event thread's handling of guest requests); guards
 *                   state, board, cpus, nthreads, stop info.  Held while
 *                   waiting for vCPUs to park or end, so vCPU threads
 *                   never take it.
 *   mem op lock     (mem/) a memory operation on the board's address
 *                   space, from a control call or any other non-vCPU
 *                   thread; its shootdown (vcpu.c) takes the locks
 *                   below, never vm->lock.
 *   vm->park_lock   the parking handshake (hold bits, parked count,
 *                   nthreads).
 *   vcpu->lock      one vCPU's idle wait.
 *   vm->ev_lock     the event queue; taken by anyone, held briefly.
 *   vm->err_lock    the last error text; a leaf. */
#ifndef VESSEL_VMM_INT_H
#define VESSEL_VMM_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "machine/virt.h"
#include "util/ratelimit.h"
#include "vmm/console.h"
#include "vmm/vmm.h"

#define VM_ERR_LEN 1024

/* Why vCPU threads are held parked: bits of vm->hold.  They run only
 * while it is 0. */
enum {
    HOLD_PAUSE = 1u << 0,       /* vm_pause */
    HOLD_GUEST = 1u << 1,       /* the guest asked for poweroff/reboot */
    HOLD_CTL = 1u << 2,         /* a control call works on the board */
    HOLD_EXIT = 1u << 3,        /* end the threads */
    HOLD_MEM = 1u << 4,         /* a memory operation (mem.h shootdown);
                                   outlives thread end and start */
};

struct vcpu {
    struct vm *vm;
    unsigned index;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool woken;
};

struct vm_event_node {
    struct vm_event ev;
    struct vm_event_node *next;
};

struct vmm_disks;
struct vmm_nics;

struct vm {
    /* Fixed at vm_create. */
    char name[VM_NAME_MAX + 1];
    char uuid[VM_UUID_LEN + 1];     /* lower case; seeds the default MACs */
    struct vm_config cfg;           /* our copy: strings owned (config.c) */
    struct cpu_options cpu_opts;

    pthread_mutex_t err_lock;
    char err[VM_ERR_LEN];

    /* Control (vm->lock). */
    pthread_mutex_t lock;
    _Atomic int state;              /* enum vm_state; written under lock */
    enum vm_stop_reason stop_reason;
    int stop_code;
    struct virt_machine *board;     /* NULL only when STOPPED after a
                                       failed rebuild */
    struct cpu cpus[VIRT_MAX_CPUS];
    unsigned ncpus;
    uint64_t frozen_ticks;          /* guest time while not RUNNING */
    bool frozen;                    /* board quiesced, clock still */
    bool awaiting_restore;          /* cfg.restore_dir, until vm_restore
                                       or a reset loads the guest */
    uint64_t resets;
    struct vmm_disks *disks;
    struct vmm_nics *nics;
    struct vmm_console *con;
    struct ratelimit log_limit;     /* guest-triggered warnings, all boots */
    /* The last snapshot this VM took or was restored from: a diff
     * snapshot's parent (its absolute path, and the CRC-32C of its state
     * file).  The board's dirty log holds what changed since; a new board
     * (board_build) has no parent. */
    char snap_parent[PATH_MAX];     /* "" when there is none */
    uint32_t snap_parent_crc;
    /* The process's sandbox as vm_sandbox_enter recorded it (enum
     * vm_sandbox, sandbox.h), and its test hook (sandbox.c). */
    _Atomic int sandbox;
    atomic_bool sandbox_test_execve;

    /* vCPU threads. */
    struct vcpu vcpus[VIRT_MAX_CPUS];
    unsigned nthreads;              /* running threads (lock) */
    atomic_uint hold;               /* HOLD_* */
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond;
    unsigned parked;                /* threads waiting in vcpu_park */

    /* The event thread. */
    pthread_t ev_thread;
    bool ev_started;
    pthread_mutex_t ev_lock;
    pthread_cond_t ev_cond;
    struct vm_event_node *ev_head, *ev_tail;
    bool ev_guest;                  /* a vCPU saw a guest request */
    bool ev_quit;                   /* vm_destroy: deliver the rest, end */
    bool ev_destroy;                /* vm_destroy from the callback */
};

/* ---- vm.c ---- */
/* Change the state and post VM_EVENT_STATE (under v->lock). */
void vm_set_state(struct vm *v, enum vm_state s);

/* ---- events.c ---- */
void vm_log(struct vm *v, enum vm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record the error text of a failing call and return rc. */
int vm_fail(struct vm *v, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Queue an event (state = the current state) for the event thread. */
void vm_post(struct vm *v, enum vm_event_kind kind, int code);
/* A vCPU saw a guest poweroff/reboot request: wake the event thread. */
void vm_events_guest(struct vm *v);
int vm_events_start(struct vm *v);
/* Deliver what is queued, then end the event thread (not from it). */
void vm_events_stop(struct vm *v);
/* vm.c: the event thread handles a guest request (takes vm->lock). */
void vm_handle_guest(struct vm *v);
/* vm.c: free everything (threads ended). */
void vm_teardown(struct vm *v);

/* ---- vcpu.c ---- (all with vm->lock held) */
/* Start one thread per vCPU, parked on HOLD_CTL (set here) until the
 * caller clears it with vcpus_release.  Registers the vCPUs' shootdown on
 * the board's address space (mem_set_shootdown).  -EAGAIN: none left
 * running. */
int vcpus_start(struct vm *v);
/* Set `why` and wait until every thread is parked. */
void vcpus_hold(struct vm *v, unsigned why);
/* Clear `why`; threads run again when no other reason holds them. */
void vcpus_release(struct vm *v, unsigned why);
/* End and join every thread; hold is 0 afterwards. */
void vcpus_end(struct vm *v);
/* The board's wake-up callback (any thread). */
void vcpu_wake(void *opaque, unsigned cpu);
/* Guest time (ticks) stands still and the board's devices are quiesced
 * from freeze to thaw (virt_quiesce/virt_resume); both idempotent. */
void vm_clock_freeze(struct vm *v);
void vm_clock_thaw(struct vm *v);
uint64_t vm_guest_ticks(struct vm *v);

/* ---- config.c ---- */
int vm_config_check(const struct vm_config *cfg, char *err, size_t errlen);
/* Copy the strings of *cfg into v->cfg (disks are not kept). */
int vm_config_copy(struct vm *v, const struct vm_config *cfg);
void vm_config_free(struct vm *v);
/* Parse "xxxxxxxx-xxxx-..." (36 characters) into 16 bytes; 0 or -EINVAL. */
int vm_uuid_parse(const char *s, uint8_t out[16]);
/* A random version 4 UUID (RFC 9562 5.4).  0 or -errno. */
int vm_uuid_generate(uint8_t out[16]);
void vm_uuid_format(const uint8_t u[16], char out[VM_UUID_LEN + 1]);

/* ---- disks.c ---- */
int vmm_disks_open(struct vm *v, const struct vm_config *cfg, struct vmm_disks **out);
void vmm_disks_close(struct vmm_disks *ds);
/* The board's view of the open disks. */
const struct virt_disk *vmm_disks_board(const struct vmm_disks *ds, unsigned *n);

/* ---- nics.c ---- */
/* Open the backend of every --net spec of cfg (parsed again here: it was
 * validated by vm_config_check) and pick each card's MAC.  0, or the
 * backend's errno with its message as the VM's error (vm_fail). */
int vmm_nics_open(struct vm *v, const struct vm_config *cfg, struct vmm_nics **out);
/* Close every backend; the board using them must be destroyed first. */
void vmm_nics_close(struct vmm_nics *ns);
/* The board's view of the open backends: {backend, MAC} per card. */
const struct virt_nic *vmm_nics_board(const struct vmm_nics *ns, unsigned *n);
/* The --net spec of card i as given (owned by ns, which lives as long as
 * the VM), or NULL past the last card or without ns.  Any thread. */
const char *vmm_nics_spec(const struct vmm_nics *ns, unsigned i);
/* The default MAC of card `index` of the VM with this UUID (lower case):
 * 52:54:00 then the top three bytes of the 64-bit FNV-1a hash of
 * "uuid=<UUID>;net=<index>" (docs/net.md). */
void vmm_nic_default_mac(const char *uuid, unsigned index, uint8_t mac[6]);

#endif
