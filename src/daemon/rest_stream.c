/* daemon: the REST routes that are not one JSON answer: the console
 * (an HTTP upgrade proxied to the VM's console socket, or the tail of
 * console.log), /events (a chunked stream of JSON lines) and /metrics
 * (Prometheus text). */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "daemon/daemon_int.h"
#include "util/util.h"

#define CONSOLE_TAIL (64u << 10)        /* bytes of console.log a plain GET returns */

void rest_console(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp);
void rest_events(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp);
void rest_metrics(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp);

/* ---- console ---- */

struct proxy {
    struct vesseld *d;
    int vm_fd;                  /* connected to the VM's console.sock */
    int client_fd;              /* the upgraded HTTP connection (MHD's) */
    struct MHD_UpgradeResponseHandle *urh;
    bool read_only;             /* below operator: the client's bytes are dropped */
    char extra[4096];           /* bytes the client sent after its header */
    size_t nextra;
};

static bool quitting(struct vesseld *d)
{
    pthread_mutex_lock(&d->lock);
    bool q = d->quit;
    pthread_mutex_unlock(&d->lock);
    return q;
}

/* Send all of p, or give up when the reader stalls PROXY_STALL_MS or the
 * daemon stops (looked at every PROXY_TICK_MS, so that main's wait for the
 * proxies is short). */
#define PROXY_TICK_MS 200
#define PROXY_STALL_MS 5000
static bool send_all(struct vesseld *d, int fd, const char *p, size_t n)
{
    int stalled = 0;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = { .fd = fd, .events = POLLOUT };
            if (quitting(d) || stalled >= PROXY_STALL_MS)
                return false;
            if (poll(&pf, 1, PROXY_TICK_MS) == 0)
                stalled += PROXY_TICK_MS;
            continue;
        }
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Copy bytes both ways until either side closes or the daemon stops. */
static void *proxy_thread(void *arg)
{
    struct proxy *px = arg;
    struct vesseld *d = px->d;
    bool ok = px->read_only || !px->nextra ||
              send_all(d, px->vm_fd, px->extra, px->nextra);
    while (ok) {
        struct pollfd p[2] = { { .fd = px->client_fd, .events = POLLIN },
                               { .fd = px->vm_fd, .events = POLLIN } };
        int n = poll(p, 2, PROXY_TICK_MS);
        if (quitting(d) || (n < 0 && errno != EINTR))
            break;
        char buf[4096];
        for (int i = 0; i < 2 && ok; i++) {
            if (!p[i].revents)
                continue;
            ssize_t r = recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            ok = r > 0 && ((i == 0 && px->read_only) ||
                           send_all(d, p[1 - i].fd, buf, (size_t)r));
        }
    }
    close(px->vm_fd);
    MHD_upgrade_action(px->urh, MHD_UPGRADE_ACTION_CLOSE);
    free(px);
    pthread_mutex_lock(&d->lock);
    d->proxies--;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
                       size_t nextra, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    (void)c; (void)con_cls;
    struct proxy *px = cls;
    px->client_fd = sock;
    px->urh = urh;
    px->nextra = nextra < sizeof(px->extra) ? nextra : sizeof(px->extra);
    memcpy(px->extra, extra, px->nextra);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    /* Counted under the lock that quit is set under: once the daemon
     * stops and has seen no proxy left, none starts. */
    pthread_mutex_lock(&px->d->lock);
    bool quit = px->d->quit;
    if (!quit)
        px->d->proxies++;
    pthread_mutex_unlock(&px->d->lock);
    if (quit || pthread_create(&t, &a, proxy_thread, px)) {
        pthread_mutex_lock(&px->d->lock);
        if (!quit)
            px->d->proxies--;
        pthread_mutex_unlock(&px->d->lock);
        close(px->vm_fd);
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        free(px);
    }
    pthread_attr_destroy(&a);
}

/* "Upgrade: vessel-console" with "Connection: ... Upgrade ...". */
static bool wants_upgrade(struct MHD_Connection *c)
{
    const char *up = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
    const char *conn = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");
    return up && conn && !strcasecmp(up, "vessel-console") && strcasestr(conn, "upgrade");
}

static void console_tail(struct dvm *vm, struct rest_reply *rp)
{
    char path[4200];
    sv_path(vm, "console.log", path, sizeof(path));
    /* O_NONBLOCK: a FIFO in its place (a jailed VM can write its bundle)
     * must not hang the daemon; anything but a regular file reads as empty. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        rp->text = strdup("");
        rp->status = rp->text ? 200 : 500;
        return;
    }
    off_t from = st.st_size > (off_t)CONSOLE_TAIL ? st.st_size - (off_t)CONSOLE_TAIL : 0;
    char *buf = malloc(CONSOLE_TAIL + 1);
    ssize_t n = buf ? pread(fd, buf, CONSOLE_TAIL, from) : -1;
    close(fd);
    if (n < 0) {
        free(buf);
        snprintf(rp->err, sizeof(rp->err), "%.300s: %s", path, strerror(errno));
        rp->status = 500;
        return;
    }
    buf[n] = 0;
    /* A NUL from the guest would cut the text short: show it as '.'. */
    for (ssize_t i = 0; i < n; i++)
        if (!buf[i])
            buf[i] = '.';
    rp->text = buf;
    rp->status = 200;
}

void rest_console(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp)
{
    struct MHD_Connection *c = rq->conn;
    char sock[4200];
    pthread_mutex_lock(&d->lock);
    struct dvm *vm = store_find(d, rq->name);
    if (!vm) {
        pthread_mutex_unlock(&d->lock);
        snprintf(rp->err, sizeof(rp->err), "no VM named '%s'", rq->name);
        rp->status = 404;
        return;
    }
    if (!c || !wants_upgrade(c)) {
        console_tail(vm, rp);
        pthread_mutex_unlock(&d->lock);
        return;
    }
    bool up = vm->pid && (vm->state == DVM_RUNNING || vm->state == DVM_PAUSED ||
                          vm->state == DVM_STARTING);
    enum dvm_state s = vm->state;
    sv_path(vm, "run/console.sock", sock, sizeof(sock));
    pthread_mutex_unlock(&d->lock);
    if (!up) {
        snprintf(rp->err, sizeof(rp->err), "VM '%s' is %s: its console is there only while "
                 "it runs", rq->name, dvm_state_name(s));
        rp->status = 409;
        return;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(sock) >= sizeof(sa.sun_path)) {
        snprintf(rp->err, sizeof(rp->err), "VM '%s': console socket path too long",
                 rq->name);
        rp->status = 500;
        return;
    }
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        snprintf(rp->err, sizeof(rp->err), "VM '%s': console socket: %s", rq->name,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        rp->status = 503;
        return;
    }
    struct proxy *px = calloc(1, sizeof(*px));
    struct MHD_Response *r = px ? MHD_create_response_for_upgrade(on_upgrade, px) : NULL;
    if (!r) {
        close(fd);
        free(px);
        snprintf(rp->err, sizeof(rp->err), "out of memory");
        rp->status = 500;
        return;
    }
    px->d = d;
    px->vm_fd = fd;
    px->read_only = rq->role < ACCESS_OPERATOR;
    MHD_add_response_header(r, "Upgrade", "vessel-console");
    if (px->read_only)
        MHD_add_response_header(r, "Vessel-Console", "read-only");
    rp->raw = r;
    rp->status = 101;
}

/* ---- events ---- */

struct reader {
    struct events *ev;
    uint64_t cursor;
    int fd;                     /* the connection, watched for a hang-up */
};

static ssize_t events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct reader *r = cls;
    size_t n = events_next(r->ev, &r->cursor, buf, max, r->fd);
    return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

void rest_events(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp)
{
    struct reader *r = malloc(sizeof(*r));
    if (!r) {
        snprintf(rp->err, sizeof(rp->err), "out of memory");
        rp->status = 500;
        return;
    }
    r->ev = d->events;
    r->cursor = events_cursor(d->events);
    const union MHD_ConnectionInfo *ci = rq->conn ?
        MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD) : NULL;
    r->fd = ci ? ci->connect_fd : -1;
    /* A stream may be quiet for longer than REST_IDLE_S: no idle timeout on
     * it (a reader that hangs up is noticed by events_next instead). */
    if (rq->conn)
        MHD_set_connection_option(rq->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    /* Unknown size: sent chunked; the reader blocks in its own thread. */
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
                                                                   events_read, r, free);
    if (!resp) {
        free(r);
        snprintf(rp->err, sizeof(rp->err), "out of memory");
        rp->status = 500;
        return;
    }
    MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
    rp->raw = resp;
    rp->status = 200;
}

/* ---- metrics ---- */

/* The VM process's CPU time (user + system) in seconds and its resident
 * memory in bytes, from /proc. */
static void proc_usage(pid_t pid, double *cpu_s, uint64_t *rss)
{
    char path[64], buf[1024];
    *cpu_s = 0;
    *rss = 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    long rsspages = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d "
                    "%*d %*d %*d %*u %*u %ld", &ut, &st, &rsspages) == 3) {
        *cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
        *rss = (uint64_t)rsspages * (uint64_t)sysconf(_SC_PAGESIZE);
    }
}

struct sample {
    char name[VMDEF_NAME_MAX + 1];
    char sock[4200];
    enum dvm_state state;
    pid_t pid;
    double cpu;                 /* proc_usage, when pid */
    uint64_t rss;
    json_t *vm;                 /* the VM's GET /vm answer, or NULL */
};

static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        if (!*buf)
            return;
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return;
        }
        char *nb = realloc(*buf, *cap * 2 + (size_t)n);
        if (!nb) {
            free(*buf);
            *buf = NULL;
            return;
        }
        *buf = nb;
        *cap = *cap * 2 + (size_t)n;
    }
}

/* The per-device counters: each family is one field of the "stats" object
 * of one kind of GET /vm device entry (docs/api.md), labelled with the
 * device's index among those of its kind. */
struct dev_family {
    const char *type;           /* "virtio-blk" / "virtio-net" / "virtio-balloon" */
    const char *label;          /* "disk" / "nic" / "balloon" */
    const char *field;          /* in "stats" */
    const char *name, *help;
    bool gauge;                 /* a level, not a counter */
};
static const struct dev_family dev_families[] = {
    { "virtio-blk", "disk", "read_bytes", "vessel_vm_disk_read_bytes_total",
      "Bytes the guest read from the disk.", false },
    { "virtio-blk", "disk", "write_bytes", "vessel_vm_disk_write_bytes_total",
      "Bytes the guest wrote to the disk.", false },
    { "virtio-blk", "disk", "read_requests", "vessel_vm_disk_read_requests_total",
      "Read requests completed.", false },
    { "virtio-blk", "disk", "write_requests", "vessel_vm_disk_write_requests_total",
      "Write requests completed.", false },
    { "virtio-blk", "disk", "flush_requests", "vessel_vm_disk_flush_requests_total",
      "Flush requests completed.", false },
    { "virtio-blk", "disk", "errors", "vessel_vm_disk_errors_total",
      "Requests that failed (I/O error, unsupported or malformed).", false },
    { "virtio-net", "nic", "rx_bytes", "vessel_vm_net_rx_bytes_total",
      "Bytes of the frames delivered to the guest.", false },
    { "virtio-net", "nic", "tx_bytes", "vessel_vm_net_tx_bytes_total",
      "Bytes of the frames the guest sent.", false },
    { "virtio-net", "nic", "rx_frames", "vessel_vm_net_rx_frames_total",
      "Frames delivered to the guest.", false },
    { "virtio-net", "nic", "tx_frames", "vessel_vm_net_tx_frames_total",
      "Frames the guest sent.", false },
    { "virtio-net", "nic", "dropped", "vessel_vm_net_dropped_frames_total",
      "Frames dropped either way (no guest buffer, backend queue full, malformed).", false },
    { "virtio-balloon", "balloon", "target_bytes", "vessel_vm_balloon_target_bytes",
      "Guest memory the balloon is asked to hold (PATCH /balloon amount).", true },
    { "virtio-balloon", "balloon", "actual_bytes", "vessel_vm_balloon_actual_bytes",
      "Guest memory the balloon holds, as the guest reports it.", true },
    { "virtio-balloon", "balloon", "reported_bytes", "vessel_vm_balloon_reported_bytes_total",
      "Free guest memory the guest reported and the host dropped (free page reporting).", false },
};

/* One family's samples over every VM that answered. */
static void put_dev_family(char **buf, size_t *len, size_t *cap, const struct sample *s,
                           size_t n, const struct dev_family *f)
{
    put(buf, len, cap, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
        f->gauge ? "gauge" : "counter");
    for (size_t i = 0; i < n; i++) {
        size_t k, idx = 0;
        json_t *dev;
        json_array_foreach(json_object_get(s[i].vm, "devices"), k, dev) {
            const char *type = json_string_value(json_object_get(dev, "type"));
            if (!type || strcmp(type, f->type))
                continue;
            json_t *v = json_object_get(json_object_get(dev, "stats"), f->field);
            if (json_is_integer(v) && json_integer_value(v) >= 0)
                put(buf, len, cap, "%s{vm=\"%s\",%s=\"%zu\"} %lld\n", f->name, s[i].name,
                    f->label, idx, (long long)json_integer_value(v));
            idx++;
        }
    }
}

/* The Prometheus text format wants each family's samples together, after
 * its HELP and TYPE: every VM is sampled first (its /proc entry, its
 * control socket with the lock dropped), then written family by family. */
void rest_metrics(struct vesseld *d, const struct rest_req *rq, struct rest_reply *rp)
{
    (void)rq;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&d->lock);
    for (struct dvm *vm = d->vms; vm; vm = vm->next)
        cap++;
    struct sample *s = calloc(cap ? cap : 1, sizeof(*s));
    for (struct dvm *vm = d->vms; vm && s; vm = vm->next, n++) {
        snprintf(s[n].name, sizeof(s[n].name), "%s", vm->name);
        sv_path(vm, "run/api.sock", s[n].sock, sizeof(s[n].sock));
        s[n].state = vm->state;
        s[n].pid = vm->pid;
    }
    pthread_mutex_unlock(&d->lock);
    for (size_t i = 0; i < n; i++) {
        if (!s[i].pid)
            continue;
        proc_usage(s[i].pid, &s[i].cpu, &s[i].rss);
        if (s[i].state != DVM_RUNNING && s[i].state != DVM_PAUSED)
            continue;
        int status;
        json_t *r = NULL;
        char e[256];
        if (!vmapi_call(s[i].sock, "GET", "/vm", NULL, 1000, &status, &r, e, sizeof(e)) &&
            status == 200 && json_is_object(r)) {
            s[i].vm = r;
            vmapi_learn(d, s[i].name, s[i].pid, r);
        } else {
            json_decref(r);
        }
    }
    size_t len = 0, bcap = 4096;
    char *buf = s ? malloc(bcap) : NULL;
    put(&buf, &len, &bcap, "# HELP vessel_vm_state 1 for the VM's current state.\n"
        "# TYPE vessel_vm_state gauge\n");
    for (size_t i = 0; i < n; i++)
        for (int st = DVM_STOPPED; st <= DVM_BROKEN; st++)
            put(&buf, &len, &bcap, "vessel_vm_state{vm=\"%s\",state=\"%s\"} %d\n", s[i].name,
                dvm_state_name((enum dvm_state)st), s[i].state == (enum dvm_state)st);
    put(&buf, &len, &bcap, "# HELP vessel_vm_vcpu_seconds_total CPU time of the VM's "
        "process (vCPUs and devices), seconds.\n# TYPE vessel_vm_vcpu_seconds_total counter\n");
    for (size_t i = 0; i < n; i++)
        if (s[i].pid)
            put(&buf, &len, &bcap, "vessel_vm_vcpu_seconds_total{vm=\"%s\"} %.2f\n",
                s[i].name, s[i].cpu);
    put(&buf, &len, &bcap, "# HELP vessel_vm_memory_touched_bytes Resident memory of the "
        "VM's process.\n# TYPE vessel_vm_memory_touched_bytes gauge\n");
    for (size_t i = 0; i < n; i++)
        if (s[i].pid)
            put(&buf, &len, &bcap, "vessel_vm_memory_touched_bytes{vm=\"%s\"} %llu\n",
                s[i].name, (unsigned long long)s[i].rss);
    put(&buf, &len, &bcap, "# HELP vessel_vm_instructions_total Guest instructions retired "
        "since the last reset.\n# TYPE vessel_vm_instructions_total counter\n");
    for (size_t i = 0; i < n; i++)
        if (json_is_integer(json_object_get(s[i].vm, "instructions")))
            put(&buf, &len, &bcap, "vessel_vm_instructions_total{vm=\"%s\"} %lld\n",
                s[i].name, (long long)json_integer_value(json_object_get(s[i].vm,
                                                                         "instructions")));
    for (size_t f = 0; f < ARRAY_SIZE(dev_families); f++)
        put_dev_family(&buf, &len, &bcap, s, n, &dev_families[f]);
    for (size_t i = 0; i < n; i++)
        json_decref(s[i].vm);
    free(s);
    if (!buf) {
        snprintf(rp->err, sizeof(rp->err), "out of memory");
        rp->status = 500;
        return;
    }
    rp->text = buf;
    rp->status = 200;
}
