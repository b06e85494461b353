/* vmm: the VM process's seccomp sandbox (sandbox.h, docs/sandbox.md).
 *
 * An allow-list built with libseccomp: plain names for the calls any
 * thread may make with any arguments, then the calls allowed only with
 * some arguments (socket families, clone flags, mmap/mprotect without
 * writable-executable memory, terminal ioctls, signals to ourselves).
 * Everything else takes the default action: kill the process (ON) or let
 * the kernel log it (LOG).  Names that do not exist on the host's
 * architecture (the legacy x86-64 calls: open, stat, poll...) are
 * skipped, so the same list serves every architecture. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/sandbox.h"
#include "vmm/vmm_int.h"

/* Calls allowed with any arguments.  Grouped by who needs them; a call
 * that can reach outside the process's own files, memory and sockets
 * (execve, fork, ptrace, mount, bpf, perf_event_open, keyctl, kexec_*,
 * init_module, setuid, chroot, unshare, setns, process_vm_*...) is in
 * no group, nor is one only the set-up makes, before the filter (chmod
 * of the API socket, umask). */
static const char *const allow_any[] = {
    /* Memory (mmap and mprotect: below, by protection). */
    "brk", "munmap", "mremap", "madvise", "mincore",
    /* Files: disks, images, snapshots (created crash-safe: temporary
     * file, fsync, rename, fsync of the directory), the console log. */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
    "preadv2", "pwritev2", "open", "openat", "close", "close_range", "lseek",
    "fstat", "stat", "lstat", "newfstatat", "statx", "fstatfs", "statfs",
    "fsync", "fdatasync", "sync_file_range", "ftruncate", "fallocate",
    "fadvise64", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "unlink",
    "unlinkat", "rmdir", "getdents64", "readlink", "readlinkat", "access",
    "faccessat", "faccessat2", "getcwd", "fcntl", "dup", "dup2", "dup3", "pipe",
    "pipe2", "copy_file_range",
    /* The JIT's code buffer is a memfd. */
    "memfd_create",
    /* Waiting: the run loop, the event thread, libmicrohttpd, libslirp. */
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd2",
    "signalfd4", "timerfd_create", "timerfd_settime", "timerfd_gettime",
    /* Threads and their synchronisation. */
    "futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
    "exit", "exit_group", "gettid", "getpid", "getppid", "sched_yield",
    "sched_getaffinity", "sched_getparam", "sched_getscheduler",
    "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday",
    "time", "getrandom", "getrusage", "times", "sysinfo", "uname",
    "getuid", "geteuid", "getgid", "getegid", "getgroups",
    /* Signals: the signalfd, SIGPIPE ignored, stack unwinding. */
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait",
    "rt_sigpending", "sigaltstack", "restart_syscall",
    /* Sockets: the control API (AF_UNIX), user networking (libslirp),
     * the console socket.  socket() and socketpair(): below, by family. */
    "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername",
    "setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
    "sendmmsg", "recvmmsg", "shutdown",
};

/* What AddressSanitizer's run time does beyond that (found with
 * --sandbox=log): at exit LeakSanitizer lists the threads (getdents),
 * stops the world from a helper task made with clone() without
 * CLONE_THREAD, which attaches to each thread with ptrace and is reaped
 * with wait4, and sets itself up as the tracer with prctl.  Only in
 * sanitizer builds, which are test builds. */
#if defined(__SANITIZE_ADDRESS__)
static const char *const allow_asan[] = {
    "ptrace", "wait4", "prctl", "clone", "getdents",
};
#endif

/* Terminal ioctls: the console's raw mode (tcgetattr/tcsetattr),
 * isatty, and non-blocking descriptors. */
static const unsigned long allow_ioctls[] = {
    TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCGPGRP, FIONBIO, FIONREAD,
};

static void sb_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sb_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int vm_sandbox_parse(const char *s, enum vm_sandbox *out)
{
    if (!strcmp(s, "on"))
        *out = VM_SANDBOX_ON;
    else if (!strcmp(s, "off"))
        *out = VM_SANDBOX_OFF;
    else if (!strcmp(s, "log"))
        *out = VM_SANDBOX_LOG;
    else
        return -EINVAL;
    return 0;
}

const char *vm_sandbox_name(enum vm_sandbox mode)
{
    switch (mode) {
    case VM_SANDBOX_ON: return "on";
    case VM_SANDBOX_LOG: return "log";
    default: return "off";
    }
}

enum vm_sandbox vm_sandbox_mode(const struct vm *vm)
{
    return (enum vm_sandbox)atomic_load(&vm->sandbox);
}

/* Allow `name` with the comparisons given (none: any arguments).  A name
 * this architecture does not have is skipped.  0 or -errno. */
static int allow(scmp_filter_ctx ctx, const char *name, unsigned n,
                 const struct scmp_arg_cmp *cmp, char *err, size_t errlen)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR || nr < 0)
        return 0;
    int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
    if (rc)
        sb_err(err, errlen, "seccomp rule for %s: %s", name, strerror(-rc));
    return rc;
}

#define ALLOW(ctx, name, ...)                                                     \
    allow(ctx, name, sizeof((struct scmp_arg_cmp[]){ __VA_ARGS__ }) /             \
                     sizeof(struct scmp_arg_cmp),                                 \
          (struct scmp_arg_cmp[]){ __VA_ARGS__ }, err, errlen)

/* The calls allowed only with some arguments. */
static int add_restricted(scmp_filter_ctx ctx, char *err, size_t errlen)
{
    int rc = 0;
    /* Only the families we use: no netlink, packet or other sockets. */
    static const int families[] = { AF_UNIX, AF_INET, AF_INET6 };
    for (unsigned i = 0; !rc && i < sizeof(families) / sizeof(families[0]); i++)
        rc = ALLOW(ctx, "socket", SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]));
    rc = rc ? rc : ALLOW(ctx, "socketpair", SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
    /* Threads only (pthread_create): a new process could exec or be
     * ptraced outside the filter's reach.  clone3 passes its flags in
     * memory a filter cannot read: it fails with ENOSYS, and the C
     * library falls back to clone. */
    rc = rc ? rc : ALLOW(ctx, "clone", SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    if (!rc) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (rc)
            sb_err(err, errlen, "seccomp rule for clone3: %s", strerror(-rc));
    }
    /* No memory both writable and executable, ever; executable only as a
     * shared file mapping: the JIT's memfd, mapped read-execute beside a
     * separate read-write window (cpu/riscv/jit_x86_64.c).  mprotect
     * never makes anything executable. */
    rc = rc ? rc : ALLOW(ctx, "mmap", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    rc = rc ? rc : ALLOW(ctx, "mmap",
                         SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC),
                         SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_TYPE, MAP_SHARED));
    rc = rc ? rc : ALLOW(ctx, "mprotect", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    /* ioctl numbers are 32 bits wide: compare only those. */
    for (unsigned i = 0; !rc && i < sizeof(allow_ioctls) / sizeof(allow_ioctls[0]); i++)
        rc = ALLOW(ctx, "ioctl",
                   SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)allow_ioctls[i]));
    /* Signals to ourselves only (raise, pthread_kill, abort). */
    scmp_datum_t pid = (scmp_datum_t)getpid();
    rc = rc ? rc : ALLOW(ctx, "tgkill", SCMP_A0(SCMP_CMP_EQ, pid));
    rc = rc ? rc : ALLOW(ctx, "kill", SCMP_A0(SCMP_CMP_EQ, pid));
    /* Thread names; reading resource limits, never raising them. */
    rc = rc ? rc : ALLOW(ctx, "prctl", SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
    rc = rc ? rc : ALLOW(ctx, "prctl", SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
    rc = rc ? rc : ALLOW(ctx, "prlimit64", SCMP_A2(SCMP_CMP_EQ, 0));
    return rc;
}

/* libseccomp's program -> *out (filter malloc'd, the caller frees it).
 * It writes only to a descriptor: a memfd, read back. */
static int export_filter(scmp_filter_ctx ctx, struct sock_fprog *out, char *err,
                         size_t errlen)
{
    int fd = memfd_create("vessel-seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        sb_err(err, errlen, "seccomp: memfd for the filter: %s", strerror(e));
        return -e;
    }
    int rc = seccomp_export_bpf(ctx, fd);
    struct stat st;
    if (!rc && fstat(fd, &st))
        rc = -errno;
    size_t n = rc ? 0 : (size_t)st.st_size / sizeof(struct sock_filter);
    if (!rc && (n == 0 || n > BPF_MAXINSNS || (size_t)st.st_size % sizeof(struct sock_filter)))
        rc = -E2BIG;
    struct sock_filter *f = rc ? NULL : malloc((size_t)st.st_size);
    if (!rc && !f)
        rc = -ENOMEM;
    if (!rc && pread(fd, f, (size_t)st.st_size, 0) != st.st_size)
        rc = -EIO;
    close(fd);
    if (rc) {
        free(f);
        sb_err(err, errlen, "seccomp: generating the filter: %s", strerror(-rc));
        return rc;
    }
    out->filter = f;
    out->len = (unsigned short)n;
    return 0;
}

/* The filter for `mode` as a BPF program (the caller frees filter). */
static int build_filter(enum vm_sandbox mode, struct sock_fprog *out, char *err,
                        size_t errlen)
{
    uint32_t def = mode == VM_SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
    scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx) {
        sb_err(err, errlen, "seccomp_init failed: out of memory, or the kernel "
               "lacks the KILL_PROCESS/LOG actions (Linux 4.14 or later)");
        return -ENOMEM;
    }
    /* A binary tree over the system call numbers instead of a linear
     * list: every call pays a few comparisons, not up to a hundred.  On
     * the (noisy) test host the filter added 100-200 ns to an ioctl
     * checked late in the list and some 10-40 ns with the tree.  An older
     * libseccomp without it builds the list: slower, as safe. */
    (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof(allow_any) / sizeof(allow_any[0]); i++)
        rc = allow(ctx, allow_any[i], 0, NULL, err, errlen);
#if defined(__SANITIZE_ADDRESS__)
    for (size_t i = 0; !rc && i < sizeof(allow_asan) / sizeof(allow_asan[0]); i++)
        rc = allow(ctx, allow_asan[i], 0, NULL, err, errlen);
#endif
    if (!rc)
        rc = add_restricted(ctx, err, errlen);
    if (!rc)
        rc = export_filter(ctx, out, err, errlen);
    seccomp_release(ctx);
    return rc;
}

/* Load `prog` on every thread of the process (TSYNC).  NO_NEW_PRIVS must
 * be set already. */
static int install_filter(const struct sock_fprog *prog, char *err, size_t errlen)
{
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, prog);
    if (r == 0)
        return 0;
    int e = r > 0 ? EBUSY : errno;
    if (r > 0)
        sb_err(err, errlen, "seccomp: thread %ld has a filter of its own and "
               "cannot take this one (TSYNC)", r);
    else
        sb_err(err, errlen, "seccomp: loading the filter failed: %s (a kernel "
               "without seccomp filters?); run with --sandbox=off to go without it",
               strerror(e));
    return -e;
}

/* The filter built ahead by vm_sandbox_prepare (one per process). */
static struct {
    pthread_t thread;
    bool started;
    enum vm_sandbox mode;
    int rc;
    struct sock_fprog prog;
} ahead;

static void *build_ahead(void *arg)
{
    (void)arg;
    ahead.rc = build_filter(ahead.mode, &ahead.prog, NULL, 0);
    return NULL;
}

int vm_sandbox_prepare(enum vm_sandbox mode)
{
    if (mode != VM_SANDBOX_ON && mode != VM_SANDBOX_LOG)
        return 0;
    if (ahead.started)
        return -EALREADY;
    ahead.mode = mode;
    int rc = pthread_create(&ahead.thread, NULL, build_ahead, NULL);
    if (rc)
        return -rc;
    ahead.started = true;
    return 0;
}

/* The program for `mode`: the one built ahead when it is for that mode
 * and was built, else built now. */
static int take_filter(enum vm_sandbox mode, struct sock_fprog *out, char *err,
                       size_t errlen)
{
    if (ahead.started) {
        pthread_join(ahead.thread, NULL);
        ahead.started = false;
        if (!ahead.rc && ahead.mode == mode) {
            *out = ahead.prog;
            ahead.prog.filter = NULL;
            return 0;
        }
        free(ahead.prog.filter);
        ahead.prog.filter = NULL;
    }
    return build_filter(mode, out, err, errlen);   /* names what failed */
}

int vm_sandbox_enter(struct vm *vm, enum vm_sandbox mode, char *err, size_t errlen)
{
    if (mode != VM_SANDBOX_OFF && mode != VM_SANDBOX_ON && mode != VM_SANDBOX_LOG) {
        sb_err(err, errlen, "sandbox mode %d: expected on, off or log", (int)mode);
        return -EINVAL;
    }
    if (atomic_load(&vm->sandbox) != VM_SANDBOX_OFF) {
        sb_err(err, errlen, "the sandbox is already on (%s)",
               vm_sandbox_name(vm_sandbox_mode(vm)));
        return -EALREADY;
    }
    if (mode == VM_SANDBOX_OFF)
        return 0;
    /* No set-uid or file-capability gain from here on, for this process
     * and whatever it could start (it can start nothing: execve is not
     * allowed, but this holds even if the filter had a hole). */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        int e = errno;
        sb_err(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(e));
        return -e;
    }
    struct sock_fprog prog;
    int rc = take_filter(mode, &prog, err, errlen);
    if (rc)
        return rc;
    rc = install_filter(&prog, err, errlen);
    free(prog.filter);
    if (rc)
        return rc;
    atomic_store(&vm->sandbox, (int)mode);
    atomic_store(&vm->sandbox_test_execve, getenv("VESSEL_TEST_SECCOMP_EXECVE") != NULL);
    vm_log(vm, VM_LOG_DEBUG, "sandbox %s: seccomp filter on every thread",
           vm_sandbox_name(mode));
    return 0;
}

bool vm_sandbox_test_execve(struct vm *vm)
{
    if (!atomic_exchange(&vm->sandbox_test_execve, false))
        return false;
    /* A path that cannot exist: if the filter lets the call through, it
     * fails with ENOENT and nothing runs. */
    static char *const argv[] = { "vessel-sandbox-test", NULL };
    static char *const envp[] = { NULL };
    execve("/nonexistent/vessel-sandbox-test", argv, envp);
    vm_log(vm, VM_LOG_WARN, "sandbox test hook: execve was not stopped by the filter "
           "(it failed with %s)", strerror(errno));
    return true;
}
