/* daemon: supervision (daemon_int.h).  Each VM runs as its own `vessel
 * run` process in its own session (setsid), so it outlives the daemon.
 * The monitor thread polls every process's pidfd: an exit is seen at
 * once, without SIGCHLD handlers, and the restart policy is applied
 * (on-failure / always: back-off 1 s doubling to 60 s; five failures in
 * a row, each within SV_QUICK_S of its start, and the VM is "crashed").
 * The files it keeps in run/ (pidfile, crash record) and the adoption of
 * a VM process that outlived a daemon are svfiles.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "util/util.h"

#define SV_QUICK_S 30           /* a failure this soon after a start is "quick" */
#define SV_GIVE_UP 5            /* quick failures in a row before "crashed" */
#define SV_BACKOFF_MAX_S 60
#define SV_PROBE_MS 250         /* how often a starting VM's socket is tried */
#define SV_API_TIMEOUT_MS 5000
/* How often a running VM with a network card is asked for its guest's
 * address (GET /vm, docs/api.md), so that GET /vms answers from memory:
 * one small request per VM per period, at most SV_INFO_TIMEOUT_MS each. */
#define SV_INFO_MS 2000
#define SV_INFO_TIMEOUT_MS 500

uint64_t sv_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sv_path(const struct dvm *vm, const char *leaf, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", vm->dir, leaf);
}

static void wake(struct vesseld *d)
{
    uint64_t one = 1;
    if (write(d->wake_fd, &one, sizeof(one)) < 0)
        return;     /* the counter is full: the monitor is awake anyway */
}

static void set_state(struct vesseld *d, struct dvm *vm, enum dvm_state s)
{
    vm->state = s;
    pthread_cond_broadcast(&d->changed);
}

/* Fork and exec `vessel run` for vm.  Caller holds d->lock; the child
 * does only async-signal-safe calls between fork and exec. */
static int spawn(struct vesseld *d, struct dvm *vm, char *err, size_t elen)
{
    char **args = NULL, **argv = NULL;
    char run[4096], log[4096], api[4096], csock[4096], clog[4096];
    int rc, pipefd[2] = { -1, -1 };
    sv_path(vm, "run", run, sizeof(run));
    sv_path(vm, "run/vessel.log", log, sizeof(log));
    sv_path(vm, "run/api.sock", api, sizeof(api));
    sv_path(vm, "run/console.sock", csock, sizeof(csock));
    sv_path(vm, "console.log", clog, sizeof(clog));
    if ((rc = disk_check(d, vm->name, vm->dir, &vm->def, err, elen)))
        return rc;
    if (access(d->vessel, X_OK))
        return errbuf(err, elen, -errno, "%s: cannot run %s: %s", vm->name, d->vessel,
                      strerror(errno));
    if (mkdir(run, 0700) && errno != EEXIST)
        return errbuf(err, elen, -errno, "%s: %s", run, strerror(errno));
    unlink(api);    /* a socket left by a killed VM */
    unlink(csock);
    if ((rc = vmdef_run_argv(&vm->def, vm->dir, &args)))
        return errbuf(err, elen, rc, "%s: cannot build its command line: %s", vm->name,
                      rc == -ENOMEM ? "out of memory"
                      : rc == -EINVAL ? "a relative backing_dirs entry in a bundle whose "
                        "path holds a comma; give it as an absolute path"
                      : "a --disk option longer than 80000 bytes");
    size_t n = 0;
    while (args[n])
        n++;
    uid_t jid = 0;
    char juser[32];
    if (d->jail) {
        if (!(jid = jail_pick(d)))
            return errbuf(err, elen, -EAGAIN, "%s: all %u jail ids from %u are taken",
                          vm->name, JAIL_IDS, (unsigned)d->jail_base);
        if ((rc = jail_bundle(vm, jid, err, elen)))
            return rc;
        snprintf(juser, sizeof(juser), "%u:%u", (unsigned)jid, (unsigned)jid);
    }
    const char *extra[] = { "--name", vm->name, "--api-sock", api, "--console-log", clog,
                            "--console-sock", csock, "--sandbox",
                            d->no_sandbox ? "off" : "on", "--jail", vm->dir,
                            "--jail-user", juser };
    size_t nextra = ARRAY_SIZE(extra) - (jid ? 0 : 4);
    argv = calloc(n + nextra + 2, sizeof(*argv));
    if (!argv) {
        rc = errbuf(err, elen, -ENOMEM, "out of memory");
        goto out;
    }
    argv[0] = d->vessel;
    memcpy(argv + 1, args, n * sizeof(*argv));
    memcpy(argv + 1 + n, extra, nextra * sizeof(*extra));
    if (pipe2(pipefd, O_CLOEXEC)) {
        rc = errbuf(err, elen, -errno, "pipe: %s", strerror(errno));
        goto out;
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: its own session, the bundle as working directory (relative
         * boot paths are the bundle's), stdin and stdout /dev/null, stderr the
         * VM's log.  An exec failure reports errno through the pipe. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setsid();
        int e = 0;
        if (devnull < 0 || logfd < 0 || chdir(vm->dir) || dup2(devnull, 0) < 0 ||
            dup2(devnull, 1) < 0 || dup2(logfd, 2) < 0)
            e = errno ? errno : EIO;
        /* Nothing of the daemon's reaches the VM: a descriptor kept open
         * by mistake (its REST socket) would outlive it there. */
        if (!e && pipefd[1] > 3)
            close_range(3, (unsigned)pipefd[1] - 1, 0);
        if (!e)
            close_range((unsigned)pipefd[1] + 1, ~0u, 0);
        if (!e) {
            execv(d->vessel, argv);
            e = errno;
        }
        if (write(pipefd[1], &e, sizeof(e)) < 0)
            _exit(127);
        _exit(127);
    }
    int saved = errno;
    if (devnull >= 0)
        close(devnull);
    if (logfd >= 0)
        close(logfd);
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        rc = errbuf(err, elen, -saved, "fork: %s", strerror(saved));
        goto out;
    }
    int e = 0;
    ssize_t got;
    while ((got = read(pipefd[0], &e, sizeof(e))) < 0 && errno == EINTR)
        ;
    close(pipefd[0]);
    if (got == (ssize_t)sizeof(e)) {
        waitpid(pid, NULL, 0);
        rc = errbuf(err, elen, -e, "%s: cannot run %s: %s", vm->name, d->vessel,
                    strerror(e));
        goto out;
    }
    vm->pid = pid;
    vm->own_child = true;
    vm->jail_uid = jid;
    vm->pidfd = pidfd_open(pid, 0);
    vm->started = (int64_t)time(NULL);
    vm->started_ns = sv_mono_ns();
    vm->stop_requested = false;
    vm->restart_at_ns = 0;
    vm->error[0] = 0;
    sv_crash_forget(vm);
    set_state(d, vm, DVM_STARTING);
    sv_pidfile_write(vm);
    wake(d);
    rc = 0;
out:
    free(argv);
    vmdef_argv_free(args);
    return rc;
}

/* The process of vm exited (status from waitpid, or -1 when it was not
 * our child and the status is unknown).  Caller holds d->lock. */
static void exited(struct vesseld *d, struct dvm *vm, int status)
{
    bool clean = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    char how[64];
    if (status < 0)
        snprintf(how, sizeof(how), "exited (status unknown: started by an earlier daemon)");
    else if (WIFSIGNALED(status))
        snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
    else
        snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
    if (vm->pidfd >= 0)
        close(vm->pidfd);
    vm->pidfd = -1;
    vm->pid = 0;
    vm->jail_uid = 0;
    vm->ip[0] = 0;
    sv_pidfile_remove(vm);
    uint64_t ran = sv_mono_ns() - vm->started_ns;
    if (vm->stop_requested) {
        /* Say which step ended it: a guest that took the power button
         * shut itself down cleanly; the VMM's poweroff or SIGKILL did not. */
        set_state(d, vm, DVM_STOPPED);
        events_emit(d->events, vm->name, "stopped", "%s %.1f s after the stop request, %s",
                    how, (double)(sv_mono_ns() - vm->stop_ns) / 1e9,
                    vm->stop_stage ? vm->stop_stage : "stop");
        return;
    }
    bool restart = vm->def.restart == VMDEF_RESTART_ALWAYS ||
                   (vm->def.restart == VMDEF_RESTART_ON_FAILURE && !clean);
    if (!restart) {
        snprintf(vm->error, sizeof(vm->error), "%s", how);
        if (!clean)
            sv_crash_record(vm);
        set_state(d, vm, clean ? DVM_STOPPED : DVM_CRASHED);
        events_emit(d->events, vm->name, clean ? "stopped" : "crashed", "%s", how);
        return;
    }
    vm->quick_fails = ran < SV_QUICK_S * 1000000000ull ? vm->quick_fails + 1 : 1;
    if (vm->quick_fails >= SV_GIVE_UP && !clean) {
        snprintf(vm->error, sizeof(vm->error), "%s; gave up after %d failures in a row, "
                 "each within %d s of its start", how, SV_GIVE_UP, SV_QUICK_S);
        sv_crash_record(vm);
        set_state(d, vm, DVM_CRASHED);
        events_emit(d->events, vm->name, "crashed", "%s", vm->error);
        return;
    }
    unsigned delay = 1u << (vm->quick_fails - 1);
    if (delay > SV_BACKOFF_MAX_S)
        delay = SV_BACKOFF_MAX_S;
    vm->restart_at_ns = sv_mono_ns() + delay * 1000000000ull;
    snprintf(vm->error, sizeof(vm->error), "%s; restarting in %u s", how, delay);
    set_state(d, vm, DVM_STARTING);
    events_emit(d->events, vm->name, "crashed", "%s", vm->error);
}

/* Reap vm's process if it is gone.  Caller holds d->lock. */
static void reap(struct vesseld *d, struct dvm *vm)
{
    if (!vm->pid)
        return;
    int status = -1;
    if (vm->own_child) {
        pid_t r = waitpid(vm->pid, &status, WNOHANG);
        if (r == 0)
            return;
        if (r < 0)
            status = -1;
    } else if (kill(vm->pid, 0) == 0 && sv_proc_start(vm->pid)) {
        /* Alive, or a zombie nobody reaped (its pidfd says it exited). */
        struct pollfd p = { .fd = vm->pidfd, .events = POLLIN };
        if (vm->pidfd < 0 || poll(&p, 1, 0) == 0)
            return;
    }
    exited(d, vm, status);
}

/* Ask a starting VM's control socket for its state (no lock held). */
static void probe(struct vesseld *d, const char *name)
{
    char sock[4200], err[256];
    pthread_mutex_lock(&d->lock);
    struct dvm *vm = store_find(d, name);
    if (!vm || vm->state != DVM_STARTING || !vm->pid || vm->busy) {
        pthread_mutex_unlock(&d->lock);
        return;
    }
    sv_path(vm, "run/api.sock", sock, sizeof(sock));
    pthread_mutex_unlock(&d->lock);
    int status;
    json_t *r;
    if (vmapi_call(sock, "GET", "/vm", NULL, 1000, &status, &r, err, sizeof(err)))
        return;
    json_t *st = json_object_get(r, "state");
    const char *s = json_is_string(st) ? json_string_value(st) : "";
    pthread_mutex_lock(&d->lock);
    vm = store_find(d, name);
    if (vm && vm->state == DVM_STARTING && vm->pid && status == 200 &&
        (!strcmp(s, "running") || !strcmp(s, "paused"))) {
        vmapi_learn_locked(vm, r);
        set_state(d, vm, !strcmp(s, "paused") ? DVM_PAUSED : DVM_RUNNING);
        events_emit(d->events, vm->name, "started", "pid %d", (int)vm->pid);
    }
    pthread_mutex_unlock(&d->lock);
    json_decref(r);
}

/* Is vm's guest address due for a refresh?  Caller holds d->lock. */
static bool info_due(const struct dvm *vm, uint64_t now)
{
    return (vm->state == DVM_RUNNING || vm->state == DVM_PAUSED) && vm->pid && !vm->busy &&
           vm->def.nnics && now - vm->info_ns >= SV_INFO_MS * 1000000ull;
}

/* Ask a running VM's control socket for what GET /vms shows of it (no
 * lock held): vmapi_learn keeps it. */
static void refresh_info(struct vesseld *d, const char *name)
{
    char sock[4200], err[256];
    pthread_mutex_lock(&d->lock);
    struct dvm *vm = store_find(d, name);
    if (!vm || !info_due(vm, sv_mono_ns())) {
        pthread_mutex_unlock(&d->lock);
        return;
    }
    pid_t pid = vm->pid;
    vm->info_ns = sv_mono_ns();        /* a VM that does not answer waits a period too */
    sv_path(vm, "run/api.sock", sock, sizeof(sock));
    pthread_mutex_unlock(&d->lock);
    int status;
    json_t *r = NULL;
    if (!vmapi_call(sock, "GET", "/vm", NULL, SV_INFO_TIMEOUT_MS, &status, &r, err,
                    sizeof(err)) && status == 200)
        vmapi_learn(d, name, pid, r);
    json_decref(r);
}

static void *monitor(void *arg)
{
    struct vesseld *d = arg;
    struct pollfd *p = NULL;
    char (*probe_names)[VMDEF_NAME_MAX + 1] = NULL;
    char (*info_names)[VMDEF_NAME_MAX + 1] = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&d->lock);
    while (!d->quit) {
        size_t nvms = 0;
        for (struct dvm *vm = d->vms; vm; vm = vm->next)
            nvms++;
        if (nvms + 1 > cap) {
            /* Grows with the store; on failure the old arrays stay and
             * the VMs past them are seen on the next wake-up instead. */
            struct pollfd *np2 = realloc(p, (nvms + 1) * sizeof(*p));
            if (np2)
                p = np2;
            char (*pn)[VMDEF_NAME_MAX + 1] = realloc(probe_names,
                                                     (nvms + 1) * sizeof(*probe_names));
            if (pn)
                probe_names = pn;
            char (*in)[VMDEF_NAME_MAX + 1] = realloc(info_names,
                                                     (nvms + 1) * sizeof(*info_names));
            if (in)
                info_names = in;
            if (np2 && pn && in)
                cap = nvms + 1;
        }
        if (!cap) {
            pthread_mutex_unlock(&d->lock);
            poll(NULL, 0, 1000);    /* no memory: try again in a while */
            pthread_mutex_lock(&d->lock);
            continue;
        }
        nfds_t np = 0;
        int timeout = -1;
        uint64_t now = sv_mono_ns();
        unsigned nprobe = 0, ninfo = 0;
        p[np] = (struct pollfd){ .fd = d->wake_fd, .events = POLLIN };
        np++;
        for (struct dvm *vm = d->vms; vm; vm = vm->next) {
            if (vm->state == DVM_STARTING && !vm->pid && vm->restart_at_ns && !vm->busy) {
                if (vm->restart_at_ns <= now) {
                    char err[DVM_ERR_LEN];
                    vm->restart_at_ns = 0;
                    vm->restarts++;
                    if (spawn(d, vm, err, sizeof(err))) {
                        snprintf(vm->error, sizeof(vm->error), "%s", err);
                        set_state(d, vm, DVM_CRASHED);
                        events_emit(d->events, vm->name, "crashed", "%s", err);
                    } else {
                        events_emit(d->events, vm->name, "restarted", "restart %u, pid %d",
                                    vm->restarts, (int)vm->pid);
                    }
                } else {
                    int ms = (int)((vm->restart_at_ns - now) / 1000000) + 1;
                    if (timeout < 0 || ms < timeout)
                        timeout = ms;
                }
            }
            if (vm->pid && vm->pidfd >= 0 && np < cap) {
                p[np] = (struct pollfd){ .fd = vm->pidfd, .events = POLLIN };
                np++;
            }
            if (vm->state == DVM_STARTING && vm->pid && nprobe < cap) {
                snprintf(probe_names[nprobe++], VMDEF_NAME_MAX + 1, "%s", vm->name);
                if (timeout < 0 || timeout > SV_PROBE_MS)
                    timeout = SV_PROBE_MS;
            }
            /* A running VM with a card: its guest's address now, or a
             * wake-up when it is due (info_ns <= now: set under the lock). */
            if ((vm->state == DVM_RUNNING || vm->state == DVM_PAUSED) && vm->pid &&
                vm->def.nnics && !vm->busy && ninfo < cap) {
                if (info_due(vm, now)) {
                    snprintf(info_names[ninfo++], VMDEF_NAME_MAX + 1, "%s", vm->name);
                } else {
                    int ms = (int)((vm->info_ns + SV_INFO_MS * 1000000ull - now) / 1000000) + 1;
                    if (timeout < 0 || ms < timeout)
                        timeout = ms;
                }
            }
            /* A process without a pidfd (pidfd_open failed): look now and then. */
            if (vm->pid && vm->pidfd < 0 && (timeout < 0 || timeout > 1000))
                timeout = 1000;
        }
        pthread_mutex_unlock(&d->lock);
        for (unsigned i = 0; i < nprobe; i++)
            probe(d, probe_names[i]);
        for (unsigned i = 0; i < ninfo; i++)
            refresh_info(d, info_names[i]);
        if (ninfo && (timeout < 0 || timeout > SV_INFO_MS))
            timeout = SV_INFO_MS;
        int n = poll(p, np, timeout);
        pthread_mutex_lock(&d->lock);
        if (n > 0 && p[0].revents) {
            uint64_t v;
            if (read(d->wake_fd, &v, sizeof(v)) < 0)
                v = 0;
        }
        /* Every process is looked at, not only those whose pidfd fired:
         * the list may have changed while the lock was dropped. */
        for (struct dvm *vm = d->vms; vm; vm = vm->next)
            reap(d, vm);
    }
    pthread_mutex_unlock(&d->lock);
    free(p);
    free(probe_names);
    free(info_names);
    return NULL;
}

int sv_begin(struct vesseld *d, char *err, size_t elen)
{
    pthread_mutex_lock(&d->lock);
    for (struct dvm *vm = d->vms; vm; vm = vm->next) {
        if (vm->state != DVM_STOPPED)
            continue;
        sv_adopt(d, vm);
        if (!vm->pid)
            sv_crash_reload(vm);
    }
    pthread_mutex_unlock(&d->lock);
    if (pthread_create(&d->monitor, NULL, monitor, d))
        return errbuf(err, elen, -EAGAIN, "cannot start the monitor thread");
    d->monitor_running = true;
    pthread_mutex_lock(&d->lock);
    for (struct dvm *vm = d->vms; vm; vm = vm->next) {
        char e[DVM_ERR_LEN];
        if (vm->state != DVM_STOPPED || !vm->def.autostart)
            continue;
        if (spawn(d, vm, e, sizeof(e))) {
            snprintf(vm->error, sizeof(vm->error), "autostart: %.480s", e);
            vm->state = DVM_CRASHED;
            events_emit(d->events, vm->name, "crashed", "%s", vm->error);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return 0;
}

void sv_end(struct vesseld *d)
{
    if (!d->monitor_running)
        return;
    pthread_mutex_lock(&d->lock);
    d->quit = true;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
    wake(d);
    pthread_join(d->monitor, NULL);
    d->monitor_running = false;
}

/* Wait (lock held) until vm leaves `from` or the deadline (monotonic ns). */
static void wait_leave(struct vesseld *d, const char *name, enum dvm_state from,
                       uint64_t deadline)
{
    for (;;) {
        struct dvm *vm = store_find(d, name);
        if (!vm || vm->state != from || d->quit || sv_mono_ns() >= deadline)
            return;
        /* The monitor wakes us on each change; a short timed wait covers a
         * process whose pidfd could not be opened. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&d->changed, &d->lock, &ts);
    }
}

static void kill_vm(struct dvm *vm)
{
    if (vm->pidfd >= 0)
        pidfd_send_signal(vm->pidfd, SIGKILL, NULL, 0);
    else if (vm->pid)
        kill(vm->pid, SIGKILL);
}

/* A request to the VM's control API with the lock dropped (vm is busy
 * meanwhile).  Returns the HTTP status, or 0 with err set. */
static int call_vm(struct vesseld *d, struct dvm *vm, const char *method, const char *path,
                   const char *body, char *err, size_t elen)
{
    char sock[4200];
    sv_path(vm, "run/api.sock", sock, sizeof(sock));
    vm->busy = true;
    pthread_mutex_unlock(&d->lock);
    int status = 0;
    json_t *r = NULL;
    if (!vmapi_call(sock, method, path, body, SV_API_TIMEOUT_MS, &status, &r, err, elen) &&
        (status < 200 || status > 299)) {
        const char *m = json_string_value(json_object_get(r, "error"));
        snprintf(err, elen, "%s: the VM's control API answered %d: %s", vm->name, status,
                 m ? m : "(no message)");
    }
    json_decref(r);
    pthread_mutex_lock(&d->lock);
    vm->busy = false;
    return status;
}

static int refuse(const struct dvm *vm, const char *action, char *err, size_t elen)
{
    snprintf(err, elen, "action '%s' does not apply to VM '%s' in state '%s'", action,
             vm->name, dvm_state_name(vm->state));
    return 409;
}

int sv_vm_request(struct vesseld *d, const char *name, const char *method, const char *path,
                  const char *body, int *status, json_t **resp, char *err, size_t elen)
{
    *status = 0;
    *resp = NULL;
    pthread_mutex_lock(&d->lock);
    struct dvm *vm = store_find(d, name);
    int rc = 0;
    if (!vm) {
        snprintf(err, elen, "no VM named '%s'", name);
        rc = 404;
    } else if (vm->busy) {
        snprintf(err, elen, "VM '%s': another action is in progress; try again", name);
        rc = 409;
    } else if (vm->state != DVM_RUNNING && vm->state != DVM_PAUSED) {
        snprintf(err, elen, "VM '%s' is %s; expected running or paused", name,
                 dvm_state_name(vm->state));
        rc = 409;
    } else {
        char sock[4200];
        sv_path(vm, "run/api.sock", sock, sizeof(sock));
        vm->busy = true;
        pthread_mutex_unlock(&d->lock);
        if (vmapi_call(sock, method, path, body, SV_API_TIMEOUT_MS, status, resp, err, elen))
            rc = 502;
        pthread_mutex_lock(&d->lock);
        vm->busy = false;
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

int sv_action(struct vesseld *d, const char *name, const char *action, int timeout_s,
              char *err, size_t elen)
{
    int rc = 200;
    pthread_mutex_lock(&d->lock);
    struct dvm *vm = store_find(d, name);
    if (!vm) {
        snprintf(err, elen, "no VM named '%s'", name);
        rc = 404;
        goto out;
    }
    if (vm->busy) {
        snprintf(err, elen, "VM '%s': another action is in progress; try again", name);
        rc = 409;
        goto out;
    }
    enum dvm_state s = vm->state;
    bool live = s == DVM_RUNNING || s == DVM_PAUSED;
    if (!strcmp(action, "start")) {
        if (s != DVM_STOPPED && s != DVM_CRASHED) {
            rc = refuse(vm, action, err, elen);
            goto out;
        }
        vm->quick_fails = 0;
        int e = spawn(d, vm, err, elen);
        if (e) {
            /* A disk the VM may not have is the caller's conflict. */
            rc = e == -EBUSY || e == -EACCES || e == -EINVAL ? 409 : 500;
            goto out;
        }
    } else if (!strcmp(action, "stop") || !strcmp(action, "kill")) {
        bool hard = !strcmp(action, "kill");
        if (s == DVM_STARTING && !vm->pid) {    /* a restart was pending */
            vm->restart_at_ns = 0;
            set_state(d, vm, DVM_STOPPED);
            events_emit(d->events, vm->name, "stopped", "pending restart cancelled");
            goto out;
        }
        if (!vm->pid || (s != DVM_STARTING && !live && s != DVM_STOPPING)) {
            rc = refuse(vm, action, err, elen);
            goto out;
        }
        vm->stop_requested = true;
        vm->stop_ns = sv_mono_ns();
        vm->stop_stage = hard ? "after SIGKILL (kill)"
                              : "while the guest shut down at the power button";
        set_state(d, vm, DVM_STOPPING);
        uint64_t deadline = sv_mono_ns() + (uint64_t)timeout_s * 1000000000ull;
        if (!hard) {
            char e2[256];
            /* Graceful: the power button, and the guest's own poweroff
             * until the deadline (a paused guest cannot answer it).  Then
             * the VMM's poweroff, which still flushes and closes the disks.
             * A VM whose control socket takes neither (still booting, hung)
             * is killed. */
            if (s != DVM_PAUSED &&
                call_vm(d, vm, "PUT", "/actions", "{\"action\":\"shutdown\"}", e2,
                        sizeof(e2)) == 202)
                wait_leave(d, name, DVM_STOPPING, deadline);
            if (!(vm = store_find(d, name)))
                goto out;
            if (vm->state == DVM_STOPPING) {
                vm->stop_stage = s == DVM_PAUSED ? "after the VMM's poweroff (the VM was paused)"
                               : "after the VMM's poweroff (the guest did not power off in "
                                 "time)";
                if (call_vm(d, vm, "PUT", "/actions", "{\"action\":\"poweroff\"}", e2,
                            sizeof(e2)) == 204)
                    wait_leave(d, name, DVM_STOPPING, sv_mono_ns() + 10000000000ull);
            }
            if (!(vm = store_find(d, name)))
                goto out;
        }
        if (vm->state == DVM_STOPPING) {
            if (!hard)
                vm->stop_stage = "after SIGKILL (the VMM's poweroff was not taken)";
            kill_vm(vm);
            wait_leave(d, name, DVM_STOPPING, sv_mono_ns() + 10000000000ull);
        }
    } else if (!strcmp(action, "pause") || !strcmp(action, "resume")) {
        bool pause = !strcmp(action, "pause");
        if (s != (pause ? DVM_RUNNING : DVM_PAUSED)) {
            rc = refuse(vm, action, err, elen);
            goto out;
        }
        int st = call_vm(d, vm, "PATCH", "/vm", pause ? "{\"state\":\"paused\"}" :
                         "{\"state\":\"running\"}", err, elen);
        if (!(vm = store_find(d, name)))
            goto out;
        if (st != 204) {
            rc = st == 409 ? 409 : 500;
            goto out;
        }
        if (vm->state == s) {
            set_state(d, vm, pause ? DVM_PAUSED : DVM_RUNNING);
            events_emit(d->events, vm->name, pause ? "paused" : "resumed", "%s", "");
        }
    } else if (!strcmp(action, "reset")) {
        if (!live) {
            rc = refuse(vm, action, err, elen);
            goto out;
        }
        int st = call_vm(d, vm, "PUT", "/actions", "{\"action\":\"reset\"}", err, elen);
        if (st != 204) {
            rc = st == 409 ? 409 : 500;
            goto out;
        }
        events_emit(d->events, name, "reset", "%s", "");
    } else {
        snprintf(err, elen, "action: '%s'; expected one of start, stop, kill, pause, "
                 "resume, reset", action);
        rc = 400;
    }
out:
    pthread_mutex_unlock(&d->lock);
    return rc;
}
