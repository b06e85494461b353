/* daemon internal: vesseld's parts (store, supervision, control-API
 * client, events, REST server) and the one object they share.
 *
 * Locking: struct vesseld's `lock` guards the VM list and every field of
 * every struct dvm (taken by REST threads and the monitor thread).  It is
 * never held across a call to a VM's control socket or a wait for a
 * process: those copy what they need, drop the lock, and mark the VM
 * `busy` so that two actions on one VM do not interleave.  The event
 * queue has its own lock, taken after `lock` when both are held. */
#ifndef VESSEL_DAEMON_INT_H
#define VESSEL_DAEMON_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "daemon/access.h"
#include "daemon/daemon.h"

#define VESSEL_VERSION "0.1.0"
#define DVM_ERR_LEN 512
#define VESSELD_MAX_BODY (1u << 20)     /* a request body over this is 413 */

enum dvm_state {
    DVM_STOPPED, DVM_STARTING, DVM_RUNNING, DVM_PAUSED, DVM_STOPPING, DVM_CRASHED,
    DVM_BROKEN,
};
const char *dvm_state_name(enum dvm_state s);

/* One VM of the store. */
struct dvm {
    char name[VMDEF_NAME_MAX + 1];
    char *dir;                  /* STORE/vms/NAME */
    struct vmdef def;           /* empty when broken */
    char error[DVM_ERR_LEN];    /* why broken, or why crashed */
    enum dvm_state state;
    pid_t pid;                  /* 0: no process */
    int pidfd;                  /* -1: none */
    bool own_child;             /* we forked it (waitpid gives its status) */
    int64_t started;            /* wall clock seconds at start (uptime) */
    uint64_t started_ns;        /* monotonic, for "quick" failures */
    unsigned restarts;          /* restarts by the policy since the daemon began */
    unsigned quick_fails;       /* failures in a row that came soon after a start */
    uint64_t restart_at_ns;     /* monotonic: a restart is due then (0: none) */
    bool stop_requested;        /* an exit now is a stop, never restarted */
    const char *stop_stage;     /* which step of the stop is under way (the event says) */
    uint64_t stop_ns;           /* monotonic: when the stop was asked for */
    bool busy;                  /* an action is talking to the VM */
    uid_t jail_uid;             /* the uid (= gid) its process runs as when
                                   jailed (jailids.c), 0: not jailed */
    /* The guest's IPv4 address as its process last reported it (the
     * first network card's known "ip" in GET /vm, docs/api.md), "" when unknown;
     * forgotten when the process exits.  Refreshed by the monitor thread
     * every SV_INFO_MS and by every other GET /vm the daemon makes, so
     * that GET /vms answers from memory. */
    char ip[16];
    uint64_t info_ns;           /* monotonic: when ip was last refreshed */
    struct dvm *next;
};

struct events;
struct rest;

struct vesseld {
    char *store;                /* the store directory */
    char *vessel;               /* the `vessel` binary run for each VM */
    char *socket;               /* the REST socket path */
    bool no_sandbox;            /* --no-sandbox: VMs run with --sandbox off */
    bool jail;                  /* VMs run jailed (root, sandbox on, no --no-jail) */
    uid_t jail_base;            /* --jail-ids BASE: the first of JAIL_IDS ids */
    uint32_t self_uid;          /* the daemon's euid: always admin, as root is */
    bool socket_shared;         /* as root: the socket is 0660, group socket_gid */
    uint32_t socket_gid;
    struct access *access;      /* roles from the access file (NULL: none); under lock */
    struct audit *audit;        /* STORE/audit.log (NULL: not audited) */
    int lock_fd;                /* STORE/vesseld.lock, flock'ed: one daemon per store */
    pthread_mutex_t lock;
    pthread_cond_t changed;     /* broadcast when any VM's state changes */
    struct dvm *vms;            /* sorted by name */
    int wake_fd;                /* eventfd: the monitor re-reads the list */
    pthread_t monitor;
    bool monitor_running;
    bool quit;
    unsigned proxies;           /* console connections being proxied */
    struct events *events;
    struct rest *rest;
};

/* ---- store.c: bundles in STORE/vms/ ---- */

/* Create STORE/vms and STORE/orphans if missing, lock the store (another
 * daemon on it: -EBUSY), then load every bundle
 * (a bad vm.json makes a "broken" VM carrying the message; the file is
 * never rewritten).  Leftovers of an interrupted create or delete (hidden
 * ".NAME.*" directories) are removed.  Returns 0 or -errno with a message.
 * Main thread, before any other thread runs. */
int store_open(struct vesseld *d, char *err, size_t elen);

/* The VM called name, or NULL.  Caller holds d->lock. */
struct dvm *store_find(struct vesseld *d, const char *name);

/* Create a VM from a vm.json document (an object; "uuid" generated and
 * "version" 1 assumed when absent): validated, written crash-safe
 * (in a hidden directory renamed into place), inserted in the list.
 * Returns 0, -EINVAL (message names the field), -EEXIST (name taken),
 * -errno.  Takes d->lock itself. */
int store_create(struct vesseld *d, json_t *doc, struct dvm **out, char *err, size_t elen);

/* Write vm's definition back crash-safe.  Caller holds d->lock. */
int store_save(struct vesseld *d, struct dvm *vm, char *err, size_t elen);

/* Remove vm's bundle (stopped, crashed or broken: the caller checked);
 * with keep_disks, the disk images inside the bundle move first to
 * STORE/orphans/NAME/ (a broken VM's disks are unknown: its whole bundle
 * becomes STORE/orphans/NAME).  The bundle is renamed to a hidden name first, so
 * a crash leaves it whole or gone.  Unlinks vm from the list and frees it.
 * Caller holds d->lock. */
int store_delete(struct vesseld *d, struct dvm *vm, bool keep_disks, char *err,
                 size_t elen);

/* Free the whole list (daemon exit). */
void store_close(struct vesseld *d);

/* A fresh random (version 4) UUID, 37 bytes with the NUL. */
void store_uuid(char out[37]);

/* ---- vmapi.c: a client of one VM's control API (docs/api.md) ---- */

/* One HTTP request on the unix socket `sock`: method, path, optional JSON
 * body (NULL: none).  Waits at most timeout_ms for the whole exchange.
 * On success *status is the HTTP status and *resp the parsed body (NULL
 * when empty or not JSON; caller json_decrefs).  Returns 0 or -errno
 * (-ECONNREFUSED/-ENOENT: nobody serves the socket, -ETIMEDOUT, -EPROTO:
 * not an HTTP answer) with a message.  Any thread; no lock held. */
int vmapi_call(const char *sock, const char *method, const char *path, const char *body,
               int timeout_ms, int *status, json_t **resp, char *err, size_t elen);

/* Take what the daemon keeps from a VM's GET /vm answer `vm` (its
 * "devices": the "ip" of the first virtio-net entry that has a dotted
 * quad there) into
 * dvm->ip, and stamp dvm->info_ns.  A malformed or absent field leaves
 * ip "" (unknown).  Caller holds d->lock. */
void vmapi_learn_locked(struct dvm *dvm, json_t *vm);
/* The same for the VM called name, taking d->lock, only when its process
 * is still `pid` (an answer from a process that has since exited or been
 * replaced is dropped).  Any thread, d->lock not held. */
void vmapi_learn(struct vesseld *d, const char *name, pid_t pid, json_t *vm);

/* ---- supervise.c: one `vessel run` process per VM ---- */

/* Start the monitor thread, adopt VMs whose processes still run (pidfile,
 * process alive, control socket answering), then start those marked
 * autostart.  Main thread, after store_open. */
int sv_begin(struct vesseld *d, char *err, size_t elen);

/* Stop the monitor thread.  The VMs keep running (they outlive the
 * daemon); the next daemon adopts them. */
void sv_end(struct vesseld *d);

/* Pass one request to a running or paused VM's control API (docs/api.md)
 * and hand back its answer: *status the VM's HTTP status and *resp its
 * JSON body (owned by the caller; may be NULL).  Returns 0, or an HTTP
 * status of the daemon's own with err set: 404 no such VM, 409 the VM is
 * not running or paused or another action is in progress, 502 the VM
 * did not answer.  Takes d->lock itself; the VM is busy meanwhile.  Any
 * REST thread. */
int sv_vm_request(struct vesseld *d, const char *name, const char *method, const char *path,
                  const char *body, int *status, json_t **resp, char *err, size_t elen);

/* Apply a PUT /vms/NAME/state action ("start", "stop", "kill", "pause",
 * "resume", "reset"; stop waits up to timeout_s for a clean stop, then
 * kills).  Returns an HTTP status: 200 done, 409 the action does not apply
 * to the state (message names it), 404, 500 (message).  Takes d->lock
 * itself; may block for the stop's timeout.  Any REST thread. */
int sv_action(struct vesseld *d, const char *name, const char *action, int timeout_s,
              char *err, size_t elen);

/* Paths inside a bundle: dir/run/api.sock and so on. */
void sv_path(const struct dvm *vm, const char *leaf, char *buf, size_t len);
/* CLOCK_MONOTONIC in ns. */
uint64_t sv_mono_ns(void);

/* svfiles.c: a VM's run/ files; every function but sv_proc_start with
 * d->lock held.  sv_proc_start: pid's start time in clock ticks since boot,
 * 0 when it is gone.  sv_pidfile_write/remove: run/vm.pid for vm->pid
 * (written crash-safe; a failure is logged).  sv_crash_record: vm->error
 * into run/crashed; sv_crash_forget removes it (at a start);
 * sv_crash_reload: a VM with no process becomes crashed with the recorded
 * reason, if there is one.  sv_adopt: re-attach to the live process
 * run/vm.pid names (pidfd, its state from GET /vm), or forget a stale
 * pidfile, saying so in vm->error. */
unsigned long long sv_proc_start(pid_t pid);
void sv_pidfile_write(const struct dvm *vm);
void sv_pidfile_remove(const struct dvm *vm);
void sv_crash_record(const struct dvm *vm);
void sv_crash_forget(const struct dvm *vm);
void sv_crash_reload(struct dvm *vm);
void sv_adopt(struct vesseld *d, struct dvm *vm);

/* ---- events.c: the /events stream ---- */

int events_new(struct events **out);
void events_free(struct events *ev);
/* Queue {"time","vm","event","detail"}; drops the oldest beyond a bound
 * (a slow reader misses events, never blocks the daemon).  Any thread. */
void events_emit(struct events *ev, const char *vm, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The sequence number the next event will get (a new reader's cursor). */
uint64_t events_cursor(struct events *ev);
/* Copy the line at *cursor (with its '\n') into buf, advance the cursor;
 * wait for one while there is none, until events_shutdown or the peer of
 * fd (the reader's connection; -1: none) hangs up, looked at each second.
 * Returns the length, 0 at the end.  A reader that fell behind the bound
 * skips to the oldest kept. */
size_t events_next(struct events *ev, uint64_t *cursor, char *buf, size_t len, int fd);
void events_shutdown(struct events *ev);

/* ---- rest.c: the HTTP server and its route table ---- */

struct rest_req {
    enum access_role role;              /* the caller's (admin without a peer) */
    const char *method;
    const char *path;
    char name[VMDEF_NAME_MAX + 1];     /* the {name} of the path, or "" */
    bool keep_disks;                    /* ?keep_disks=true */
    json_t *body;                       /* borrowed; NULL: no body */
    void *conn;                         /* struct MHD_Connection * */
};

/* What a handler answers: a JSON body (status 2xx), an {"error"} (4xx/5xx,
 * err filled), text (text/plain, owned), or a ready response (owned). */
struct rest_reply {
    int status;
    json_t *json;
    char *text;
    void *raw;                          /* struct MHD_Response * */
    char err[DVM_ERR_LEN];
};

typedef void (*rest_fn)(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp);

/* role comes first so that a route written without one does not compile. */
struct rest_route {
    enum access_role role;              /* the least role that may call it */
    const char *method;
    const char *pattern;                /* "/vms/{name}/state" */
    rest_fn fn;
    bool body;                          /* takes a JSON body */
};

/* The route table (rest_vms.c), n entries. */
extern const struct rest_route rest_routes[];
extern const size_t rest_nroutes;

/* Match path against the table: the route for method (its {name} into
 * name), else NULL with *status 404 (no such path; a {name} that is not a
 * valid VM name is no path) or 405 (allow lists the methods).  Pure. */
const struct rest_route *rest_match(const char *method, const char *path, char *name,
                                    size_t nlen, int *status, char *allow, size_t alen);

/* One request as the server got it (or a test or fuzzer makes it). */
struct rest_http {
    const char *method, *path;
    const char *body;                   /* len bytes, not NUL-terminated */
    size_t len;                         /* over VESSELD_MAX_BODY: refused (413) */
    const char *keep_disks;             /* the query argument, or NULL */
    void *conn;                         /* struct MHD_Connection *, or NULL
                                           (no console upgrade) */
    const struct access_peer *peer;     /* who asks, or NULL: no role check and no
                                           audit (tests, the fuzzer) */
};

/* Route, check and run one request: *rp gets the handler's answer or the
 * error (403 for a peer whose role is below the route's, or who has no
 * role at all; 404/405 with allow filled, 413, 400 for a body that is not
 * a JSON object or not taken by the route).  With a peer, a denied or
 * non-GET request is appended to d->audit.  Then rest_reply_finish turns
 * an error into its {"error"} body.  Any REST thread. */
void rest_dispatch(struct vesseld *d, const struct rest_http *h, struct rest_reply *rp,
                   char *allow, size_t alen);
void rest_reply_finish(struct rest_reply *rp);

/* Serve the table on the unix socket d->socket (mode 0600, or 0660 with
 * group d->socket_gid when d->socket_shared; an existing socket replaced only
 * when nobody listens).  Thread per connection, so a
 * slow or half-open client holds only its own thread.  Main thread. */
int rest_start(struct vesseld *d, char *err, size_t elen);
void rest_stop(struct vesseld *d);

/* The VM as the API shows it (SUMMARY, or VM with detail).  Caller holds
 * d->lock; detail may call the VM's socket, so it is built from a copy:
 * see rest_vms.c. */
json_t *rest_vm_summary(const struct dvm *vm);

/* jailids.c: the ids of jailed VM processes (docs/sandbox.md "The jail").
 * jail_pick: the lowest id of [jail_base, jail_base + JAIL_IDS) that no
 * VM with a process holds, used as both uid and gid; 0 when all are taken.
 * jail_bundle: make vm's bundle root:id mode 01770 (0 or -errno, message
 * in err).  jail_uid_of: the uid process pid runs as when it is in the
 * range, else 0.  Caller holds d->lock for jail_pick. */
#define JAIL_IDS 65536u
#define JAIL_BASE_DEFAULT 1000000000u
uid_t jail_pick(const struct vesseld *d);
int jail_bundle(const struct dvm *vm, uid_t id, char *err, size_t elen);
uid_t jail_uid_of(const struct vesseld *d, pid_t pid);

/* diskcheck.c: may VM `name` (bundle `bundle`, defined by def) have its
 * disks?  A path into the store must be in its own bundle (-EACCES), an
 * existing disk must be a regular file (-EINVAL), and a disk that is
 * writable in one VM is no disk of another VM of the store (-EBUSY).
 * 0 when all is well; the message names disks[i].path.  Caller holds
 * d->lock (it reads the other VMs' definitions). */
int disk_check(const struct vesseld *d, const char *name, const char *bundle,
               const struct vmdef *def, char *err, size_t elen);

#endif
