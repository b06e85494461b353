/* Unit tests for the VM process's jail (src/vmm/jail.c): each case forks
 * a child that prepares and enters a jail and then looks around.  Inside,
 * the bundle is writable at its own path, a kept file is readable and not
 * writable at its own path, the host's /etc/passwd and the test's other
 * files are gone, /proc shows the process, the working directory is the
 * same, the ids are dropped for good; threads made after the prepare step
 * are jailed too; the argument checks refuse what they must.  Needs root:
 * every case is skipped without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/jail.h"

#define JAIL_ID 1400200077

struct fixture {
    char top[64];           /* a temporary directory */
    char dir[128];          /* top/bundle: the jail's directory */
    char kept[128];         /* top/image: a file kept read-only */
    char other[128];        /* top/other: a file that must be gone */
};

static int setup(void **state)
{
    if (geteuid() != 0)
        return 0;
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->top, sizeof(f->top), "/var/tmp/test_jail.XXXXXX");
    if (!mkdtemp(f->top))
        return -1;
    chmod(f->top, 0755);
    snprintf(f->dir, sizeof(f->dir), "%s/bundle", f->top);
    snprintf(f->kept, sizeof(f->kept), "%s/image", f->top);
    snprintf(f->other, sizeof(f->other), "%s/other", f->top);
    if (mkdir(f->dir, 0770) || chown(f->dir, 0, JAIL_ID) || chmod(f->dir, 0770))
        return -1;
    FILE *k = fopen(f->kept, "w"), *o = fopen(f->other, "w");
    if (!k || !o)
        return -1;
    fputs("image", k);
    fputs("other", o);
    fclose(k);
    fclose(o);
    chmod(f->kept, 0644);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->top);
    if (system(cmd))
        return -1;
    free(f);
    return 0;
}

struct look {
    const struct fixture *f;
    bool (*fn)(const struct fixture *f);
    pthread_barrier_t jailed;   /* passed once the jail is on */
    bool ok;
};

static void *look_thread(void *arg)
{
    struct look *l = arg;
    pthread_barrier_wait(&l->jailed);
    l->ok = l->fn(l->f);
    return NULL;
}

/* Run fn in a child after the jail's two steps; with `thread`, a thread
 * made between them (as the VM's threads are) does the looking once the
 * jail is on.  Returns the exit status: 0 when fn returned true, 1 false,
 * 2 the jail failed. */
static int in_jail(const struct fixture *f, bool (*fn)(const struct fixture *), bool thread,
                   uid_t uid)
{
    pid_t pid = fork();
    if (pid == 0) {
        char err[256];
        struct look l = { .f = f, .fn = fn };
        struct vm_jail j = { .dir = f->dir, .uid = uid, .gid = uid, .nfiles = 1,
                             .files = { f->kept } };
        pthread_t t;
        if (chdir(f->dir) || vm_jail_prepare(err, sizeof(err)))
            _exit(2);
        pthread_barrier_init(&l.jailed, NULL, 2);
        if (thread && pthread_create(&t, NULL, look_thread, &l))
            _exit(2);
        if (vm_jail_enter(&j, err, sizeof(err))) {
            fprintf(stderr, "%s\n", err);
            _exit(2);
        }
        if (thread) {
            pthread_barrier_wait(&l.jailed);
            pthread_join(t, NULL);
            _exit(l.ok ? 0 : 1);
        }
        _exit(fn(f) ? 0 : 1);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* A failed look, said on stderr (the child's). */
static bool fail_at(const char *what)
{
    fprintf(stderr, "jail check failed: %s (errno %s)\n", what, strerror(errno));
    return false;
}

static bool looks_right(const struct fixture *f)
{
    char path[160], buf[16] = { 0 }, cwd[160];
    snprintf(path, sizeof(path), "%s/new.%d", f->dir, (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || close(fd))
        return fail_at("create in the bundle");
    fd = open(f->kept, O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof(buf) - 1) != 5 || strcmp(buf, "image"))
        return fail_at("read the kept file");
    close(fd);
    if (open(f->kept, O_WRONLY) >= 0)
        return fail_at("the kept file is writable");
    if (access(f->other, F_OK) == 0 || access("/etc/passwd", F_OK) == 0 ||
        access("/usr", F_OK) == 0)
        return fail_at("a host file is visible");
    if (open("/newfile", O_WRONLY | O_CREAT, 0600) >= 0)
        return fail_at("the root is writable");
    if (access("/proc/self/status", R_OK))
        return fail_at("no /proc/self/status");
    if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, f->dir))
        return fail_at("working directory");
    return true;
}

static bool ids_dropped(const struct fixture *f)
{
    (void)f;
    return getuid() == JAIL_ID && geteuid() == JAIL_ID && getgid() == JAIL_ID &&
           getgroups(0, NULL) == 0 && setuid(0) != 0 && looks_right(f);
}

static void test_jail_view(void **state)
{
    if (!*state)
        skip();
    assert_int_equal(in_jail(*state, looks_right, false, (uid_t)-1), 0);
}

static void test_jail_ids(void **state)
{
    if (!*state)
        skip();
    assert_int_equal(in_jail(*state, ids_dropped, false, JAIL_ID), 0);
}

static void test_jail_threads(void **state)
{
    if (!*state)
        skip();
    assert_int_equal(in_jail(*state, ids_dropped, true, JAIL_ID), 0);
}

/* Refusals: a prepare with two threads; a relative directory, a missing
 * kept file, ids 0. The thread's check runs in a process of its own: after
 * pthread_join the kernel may still count the thread for a moment (the join
 * wakes at the thread's mm release, before it leaves the thread group), so
 * a single-threaded prepare in the same process could see two threads. */
static void *idle(void *arg)
{
    pthread_barrier_wait(arg);
    return NULL;
}

static int prepare_with_thread(void)
{
    char err[256];
    pthread_barrier_t b;
    pthread_t t;
    pthread_barrier_init(&b, NULL, 2);
    if (pthread_create(&t, NULL, idle, &b))
        return 3;
    int busy = vm_jail_prepare(err, sizeof(err));
    pthread_barrier_wait(&b);
    pthread_join(t, NULL);
    return busy == -EBUSY ? 0 : 4;
}

static int refusals(const struct fixture *f)
{
    char err[256];
    struct vm_jail rel = { .dir = "bundle", .uid = (uid_t)-1 };
    struct vm_jail missing = { .dir = f->dir, .uid = (uid_t)-1, .nfiles = 1,
                               .files = { "/nonexistent/file" } };
    if (vm_jail_prepare(err, sizeof(err)))
        return 5;
    if (vm_jail_enter(&rel, err, sizeof(err)) != -EINVAL)
        return 6;
    if (vm_jail_enter(&missing, err, sizeof(err)) != -ENOENT ||
        !strstr(err, "/nonexistent/file"))
        return 7;
    struct vm_jail root = { .dir = f->dir, .uid = 0, .gid = 0 };
    int rc = vm_jail_enter(&root, err, sizeof(err));
    return rc == -EINVAL && strstr(err, "not 0") ? 0 : 8;
}

static void test_jail_refusals(void **state)
{
    struct fixture *f = *state;
    if (!f)
        skip();
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(i == 0 ? prepare_with_thread() : refusals(f));
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jail_view),
        cmocka_unit_test(test_jail_ids),
        cmocka_unit_test(test_jail_threads),
        cmocka_unit_test(test_jail_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
