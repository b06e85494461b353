/* Unit tests for the VM process's seccomp sandbox (src/vmm/sandbox.c):
 * each case forks a child that enters the sandbox and makes one call;
 * a forbidden call must kill the child with SIGSYS, an allowed one must
 * work.  This pins the argument rules (socket families, clone only for
 * threads, no writable-executable or anonymous executable memory, no
 * mprotect to executable, terminal ioctls only, signals to ourselves,
 * no raising of limits) that the system tests do not reach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/sandbox.h"
#include "vmm/vmm_int.h"

/* The mode the child has the filter built ahead for (vm_sandbox_prepare)
 * before it enters; OFF: none, enter builds it. */
static enum vm_sandbox prepared = VM_SANDBOX_OFF;

/* Run `fn` in a child under the sandbox in `mode`; returns the child's
 * wait status.  The child exits 0 when fn returns true, 1 when it
 * returns false, 2 when the sandbox could not be entered. */
static int in_sandbox(enum vm_sandbox mode, bool (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (vm_sandbox_prepare(prepared))
            _exit(2);
        /* A VM object only to record the mode: never created, never
         * started; its log sink is NULL. */
        struct vm *vm = calloc(1, sizeof(*vm));
        char err[256];
        if (!vm || vm_sandbox_enter(vm, mode, err, sizeof(err))) {
            fprintf(stderr, "vm_sandbox_enter: %s\n", vm ? err : "out of memory");
            _exit(2);
        }
        _exit(fn() ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void check_killed(bool (*fn)(void), const char *name)
{
    int st = in_sandbox(VM_SANDBOX_ON, fn);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
        fail_msg("%s: expected death by SIGSYS, got %s %d", name,
                 WIFSIGNALED(st) ? "signal" : "exit",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

static void check_works(bool (*fn)(void), const char *name)
{
    int st = in_sandbox(VM_SANDBOX_ON, fn);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("%s: expected exit 0, got %s %d", name, WIFSIGNALED(st) ? "signal" : "exit",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}
#define assert_killed(fn) check_killed(fn, #fn)
#define assert_works(fn) check_works(fn, #fn)

/* ---- forbidden ---- */

static bool do_execve(void)
{
    char *argv[] = { "true", NULL }, *envp[] = { NULL };
    execve("/bin/true", argv, envp);
    return false;
}
static bool do_netlink(void) { return socket(AF_NETLINK, SOCK_RAW, 0) >= 0; }
static bool do_packet(void) { return socket(AF_PACKET, SOCK_RAW, 0) >= 0; }
static bool do_mmap_rwx(void)
{
    return mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED;
}
static bool do_mmap_anon_rx(void)
{
    return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
           MAP_FAILED;
}
static bool do_mprotect_x(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p != MAP_FAILED && mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0;
}
static bool do_tiocsti(void)
{
    char c = 'x';
    return ioctl(0, TIOCSTI, &c) == 0;
}
static bool do_kill_parent(void) { return kill(getppid(), 0) == 0; }
static bool do_raise_limit(void)
{
    struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };
    return setrlimit(RLIMIT_NOFILE, &r) == 0;
}
static bool do_mount(void) { return mount("none", "/mnt", "tmpfs", 0, NULL) == 0; }
static bool do_unshare(void) { return unshare(CLONE_NEWUSER) == 0; }
static bool do_io_uring(void) { return syscall(__NR_io_uring_setup, 8, NULL) >= 0; }
static bool do_bpf(void) { return syscall(__NR_bpf, 0, NULL, 0) >= 0; }
#if !defined(__SANITIZE_ADDRESS__)
static bool do_ptrace(void) { return syscall(__NR_ptrace, 0, 0, 0, 0) >= 0; }
/* A new process: clone without CLONE_THREAD (what fork does). */
static bool do_fork(void)
{
    return syscall(__NR_clone, (unsigned long)SIGCHLD, 0, 0, 0, 0) >= 0;
}
#endif

static void test_forbidden(void **state)
{
    assert_killed(do_execve);
    assert_killed(do_netlink);
    assert_killed(do_packet);
    assert_killed(do_mmap_rwx);
    assert_killed(do_mmap_anon_rx);
    assert_killed(do_mprotect_x);
    assert_killed(do_tiocsti);
    assert_killed(do_kill_parent);
    assert_killed(do_raise_limit);
    assert_killed(do_mount);
    assert_killed(do_unshare);
    assert_killed(do_io_uring);
    assert_killed(do_bpf);
#if !defined(__SANITIZE_ADDRESS__)
    /* The sanitizer build allows these for LeakSanitizer (sandbox.c). */
    assert_killed(do_ptrace);
    assert_killed(do_fork);
#endif
}

/* ---- allowed ---- */

static void *thread_fn(void *arg) { return arg; }
static bool do_thread(void)
{
    pthread_t t;
    void *r = NULL;
    return pthread_create(&t, NULL, thread_fn, (void *)1) == 0 && pthread_join(t, &r) == 0 &&
           r == (void *)1;
}
static bool do_clone3_enosys(void)
{
    return syscall(__NR_clone3, NULL, 0) < 0 && errno == ENOSYS;
}
static bool do_sockets(void)
{
    int a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET6, SOCK_DGRAM, 0);
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), sv[2];
    return a >= 0 && b >= 0 && c >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0;
}
/* The JIT's W^X scheme: a memfd mapped read-execute and, apart,
 * read-write. */
static bool do_jit_maps(void)
{
    int fd = memfd_create("t", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, 4096))
        return false;
    void *rx = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    void *rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return rx != MAP_FAILED && rw != MAP_FAILED && mprotect(rw, 4096, PROT_READ) == 0;
}
/* A snapshot's file work: a directory, a temporary file, fsync, rename,
 * fsync of the directory, and removing it all again. */
static bool do_files(void)
{
    char dir[] = "/tmp/vessel-sandbox-XXXXXX", tmp[64], fin[64];
    if (!mkdtemp(dir))
        return false;
    snprintf(tmp, sizeof(tmp), "%s/state.tmp", dir);
    snprintf(fin, sizeof(fin), "%s/state", dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, "x", 1) == 1 && fsync(fd) == 0 && close(fd) == 0 &&
              rename(tmp, fin) == 0;
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ok = ok && d >= 0 && fsync(d) == 0 && close(d) == 0;
    return unlink(fin) == 0 && rmdir(dir) == 0 && ok;
}
static bool do_signals(void)
{
    struct rlimit r;
    return kill(getpid(), 0) == 0 && getrlimit(RLIMIT_NOFILE, &r) == 0;
}
static bool do_terminal(void)
{
    struct termios t;
    (void)isatty(0);            /* TCGETS: allowed whatever stdin is */
    return tcgetattr(0, &t) == 0 || errno == ENOTTY || errno == EINVAL;
}

static void test_allowed(void **state)
{
    assert_works(do_thread);
    assert_works(do_clone3_enosys);
    assert_works(do_sockets);
    assert_works(do_jit_maps);
    assert_works(do_files);
    assert_works(do_signals);
    assert_works(do_terminal);
}

/* LOG: a forbidden call is let through (and logged by the kernel). */
static void test_log_mode(void **state)
{
    int st = in_sandbox(VM_SANDBOX_LOG, do_mmap_anon_rx);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* A filter built ahead is the one loaded when it is for the mode
 * entered; built for the other mode, it is dropped and the right one
 * built: LOG lets the forbidden call through, ON kills. */
static void test_prepared(void **state)
{
    prepared = VM_SANDBOX_ON;
    assert_killed(do_mmap_anon_rx);
    assert_works(do_files);
    int st = in_sandbox(VM_SANDBOX_LOG, do_mmap_anon_rx);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    prepared = VM_SANDBOX_LOG;
    assert_killed(do_mmap_anon_rx);
    prepared = VM_SANDBOX_OFF;
}

static bool do_twice(void)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    char err[256] = "";
    /* Run outside the sandbox (in_sandbox with OFF): the first entry
     * loads the filter, a second one on the same VM is refused before
     * touching the kernel. */
    return vm && vm_sandbox_enter(vm, VM_SANDBOX_ON, err, sizeof(err)) == 0 &&
           vm_sandbox_mode(vm) == VM_SANDBOX_ON &&
           vm_sandbox_enter(vm, VM_SANDBOX_ON, err, sizeof(err)) == -EALREADY &&
           strstr(err, "already") != NULL;
}

static void test_modes(void **state)
{
    enum vm_sandbox m = VM_SANDBOX_OFF;
    assert_int_equal(vm_sandbox_parse("on", &m), 0);
    assert_int_equal(m, VM_SANDBOX_ON);
    assert_string_equal(vm_sandbox_name(m), "on");
    assert_int_equal(vm_sandbox_parse("log", &m), 0);
    assert_string_equal(vm_sandbox_name(m), "log");
    assert_int_equal(vm_sandbox_parse("off", &m), 0);
    assert_string_equal(vm_sandbox_name(m), "off");
    m = VM_SANDBOX_LOG;
    assert_int_equal(vm_sandbox_parse("ON", &m), -EINVAL);
    assert_int_equal(vm_sandbox_parse("", &m), -EINVAL);
    assert_int_equal(m, VM_SANDBOX_LOG);    /* unchanged on error */
    int st = in_sandbox(VM_SANDBOX_OFF, do_twice);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_forbidden),
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_log_mode),
        cmocka_unit_test(test_prepared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
