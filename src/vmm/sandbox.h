/* vmm: the VM process's sandbox (docs/sandbox.md).
 *
 * Once a VM is set up (its files open, sockets bound, memory mapped) and
 * before its guest runs a single instruction, the process gives up what a
 * VMM never needs: PR_SET_NO_NEW_PRIVS, then a seccomp filter that allows
 * only the system calls its threads make (vCPUs, the event thread, the
 * control API, block workers, user networking, snapshots, the console)
 * and kills the whole process on anything else (execve, ptrace, mount,
 * bpf, ...).  The filter goes on every thread that exists
 * (SECCOMP_FILTER_FLAG_TSYNC) and every thread created later inherits it.
 *
 * A seccomp filter belongs to the process, not to one VM: entering the
 * sandbox seals every VM the process runs.  It cannot be lifted. */
#ifndef VESSEL_VMM_SANDBOX_H
#define VESSEL_VMM_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

struct vm;

enum vm_sandbox {
    VM_SANDBOX_OFF = 0,         /* no filter */
    VM_SANDBOX_ON,              /* forbidden calls kill the process */
    VM_SANDBOX_LOG,             /* forbidden calls are logged by the kernel
                                   (audit, type=1326) and allowed: for
                                   finding what the filter misses */
};

/* "on", "off" or "log" -> *out.  0, or -EINVAL (nothing written). */
int vm_sandbox_parse(const char *s, enum vm_sandbox *out) __attribute__((warn_unused_result));

/* "on", "off" or "log". */
const char *vm_sandbox_name(enum vm_sandbox mode);

/* Start building the filter for `mode` (ON or LOG; OFF: nothing) on a
 * helper thread, so that vm_sandbox_enter only loads it: libseccomp
 * takes a millisecond or more to build it, which the start of a VM
 * (a restore's latency) would otherwise wait for.  Optional; once per
 * process, after the last point that needs the process single-threaded
 * (the jail's vm_jail_prepare) and in the process that will enter the
 * sandbox (the filter names its pid).  Returns 0, -EALREADY (already
 * started), or -errno from pthread_create (vm_sandbox_enter then builds
 * the filter itself, as it does when this one failed, to report why). */
int vm_sandbox_prepare(enum vm_sandbox mode);

/* Enter the sandbox in `mode` (OFF: only record it) and record the mode
 * in `vm` (GET /vm reports it).  Call once, from the thread that owns the
 * VM, after vm_create, vm_api_start and vm_restore and before vm_start.
 * Returns 0, or a negative errno with a one-line message in err (errlen
 * bytes, NUL-terminated; may be NULL): -ENOSYS / -EINVAL when the kernel
 * has no seccomp filter support, -ENOMEM, -EALREADY when the process
 * already entered it.  On failure no filter is on (NO_NEW_PRIVS may be set).
 *
 * Test hook: with VESSEL_TEST_SECCOMP_EXECVE set in the environment and
 * mode ON or LOG, vm_sandbox_test_execve (below) tries a forbidden call.
 * It can do no harm: the call is an execve of a path that does not exist,
 * which fails when the filter lets it through. */
int vm_sandbox_enter(struct vm *vm, enum vm_sandbox mode, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The mode vm_sandbox_enter recorded (OFF before it).  Any thread. */
enum vm_sandbox vm_sandbox_mode(const struct vm *vm);

/* The test hook: when vm_sandbox_enter armed it, try execve once (the
 * process dies of SIGSYS under ON); otherwise nothing.  Returns true when
 * it tried.  Any thread; the CLI calls it from the VM's event thread, one
 * that existed before the filter went on, to check that TSYNC reached
 * it. */
bool vm_sandbox_test_execve(struct vm *vm);

#endif
