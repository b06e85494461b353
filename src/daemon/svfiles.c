/* daemon: the files supervision keeps in a VM's run/ directory
 * (daemon_int.h), and the adoption of a VM process that outlived a
 * daemon: run/vm.pid holds "PID STARTTIME EPOCH" (STARTTIME the
 * process's start time in clock ticks since boot, /proc/PID/stat field
 * 22, so that a pid reused by another process is not taken for the VM;
 * EPOCH the wall-clock start, for uptime), run/crashed the reason of a
 * crash until the next start. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "util/util.h"

/* Start time of pid in clock ticks since boot, or 0 when it is gone. */
unsigned long long sv_proc_start(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    /* The command name (field 2) may hold spaces and ')': skip to the last ')'. */
    char *p = strrchr(buf, ')');
    unsigned long long start = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
                     "%*d %*d %*d %*d %llu", &start) != 1)
        return 0;
    return start;
}

/* Write the pidfile crash-safe (tmp, fsync, rename, fsync dir). */
void sv_pidfile_write(const struct dvm *vm)
{
    char path[4096], tmp[4200], run[4096];
    sv_path(vm, "run/vm.pid", path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    sv_path(vm, "run", run, sizeof(run));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char line[96];
    int n = snprintf(line, sizeof(line), "%d %llu %lld\n", (int)vm->pid,
                     sv_proc_start(vm->pid), (long long)vm->started);
    bool ok = write(fd, line, (size_t)n) == n && !fsync(fd);
    close(fd);
    if (!ok || rename(tmp, path)) {
        unlink(tmp);
        return;
    }
    int dfd = open(run, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd))
            vlog_warn("%s: fsync: %s", run, strerror(errno));
        close(dfd);
    }
}

void sv_pidfile_remove(const struct dvm *vm)
{
    char path[4096];
    sv_path(vm, "run/vm.pid", path, sizeof(path));
    unlink(path);
}

/* A crash outlives the daemon: run/crashed holds the reason (one line,
 * written crash-safe) from the crash until the next start, so a daemon
 * started later lists the VM as crashed, not stopped.  run/ is the
 * daemon's own (root 0700 when VMs are jailed). */
void sv_crash_record(const struct dvm *vm)
{
    char run[4096], err[256];
    sv_path(vm, "run", run, sizeof(run));
    if (safefile_write(run, "crashed", vm->error, strlen(vm->error), 0600, err, sizeof(err)))
        vlog_warn("%s: cannot record the crash: %s", vm->name, err);
}

void sv_crash_forget(const struct dvm *vm)
{
    char path[4096];
    sv_path(vm, "run/crashed", path, sizeof(path));
    unlink(path);
}

/* A VM with no process: crashed, with the recorded reason, when run/crashed
 * says so.  Caller holds d->lock. */
void sv_crash_reload(struct dvm *vm)
{
    char path[4096];
    sv_path(vm, "run/crashed", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return;
    ssize_t n = read(fd, vm->error, sizeof(vm->error) - 1);
    close(fd);
    vm->error[n > 0 ? n : 0] = 0;
    if (n > 0)
        vm->state = DVM_CRASHED;
}

/* Re-attach to a VM whose process survived the previous daemon.  Caller
 * holds d->lock (main thread, before the REST server runs). */
void sv_adopt(struct vesseld *d, struct dvm *vm)
{
    char path[4096], sock[4096], err[256];
    sv_path(vm, "run/vm.pid", path, sizeof(path));
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    int pid = 0;
    unsigned long long start = 0;
    long long epoch = 0;
    int got = fscanf(f, "%d %llu %lld", &pid, &start, &epoch);
    fclose(f);
    if (got != 3 || pid <= 1 || !start || sv_proc_start(pid) != start) {
        /* Stale: the process ended while no daemon watched it, how is not
         * known (a crash the daemon saw is in run/crashed). */
        sv_pidfile_remove(vm);
        if (got == 3 && pid > 1)
            snprintf(vm->error, sizeof(vm->error), "process %d ended while no daemon "
                     "watched it (exit status unknown)", pid);
        return;
    }
    int pidfd = pidfd_open(pid, 0);
    if (pidfd < 0)
        return;
    vm->pid = pid;
    vm->pidfd = pidfd;
    vm->own_child = false;
    vm->jail_uid = jail_uid_of(d, pid);
    vm->started = epoch;
    vm->started_ns = sv_mono_ns();
    sv_path(vm, "run/api.sock", sock, sizeof(sock));
    int status;
    json_t *r = NULL;
    enum dvm_state s = DVM_STARTING;    /* alive, socket not answering yet */
    if (!vmapi_call(sock, "GET", "/vm", NULL, 2000, &status, &r, err, sizeof(err)) &&
        status == 200) {
        const char *st = json_string_value(json_object_get(r, "state"));
        if (st && !strcmp(st, "paused"))
            s = DVM_PAUSED;
        else if (st && !strcmp(st, "running"))
            s = DVM_RUNNING;
        vmapi_learn_locked(vm, r);
    }
    json_decref(r);
    vm->state = s;
    events_emit(d->events, vm->name, "started", "adopted running process %d", pid);
}

