/* vessel top: per-VM CPU %, memory, disk and network rates, refreshed
 * each interval (esxtop, virt-top).
 *
 * Rates are deltas of the daemon's counters between two samples of
 * GET /metrics (Prometheus text) divided by the wall time between them;
 * the VM list (names, states, vCPUs, memory) comes from GET /vms.  The
 * metric names matched are those docs/cli.md lists; disk and network
 * counters are summed over every device (any label), each direction on
 * its own (disk read/write, net rx/tx) and all of them together. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/vmctl.h"
#include "util/util.h"

#define TOP_MAX_VMS 1024
#define TOP_TIMEOUT_MS 10000

static bool has_suffix(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && !memcmp(s + n - k, suf, k);
}

/* The value of label vm="..." in a {...} label set starting at s (after
 * the '{'); unescapes \" \\ \n.  Returns false when absent or malformed. */
static bool vm_label(const char *s, char *out, size_t len)
{
    while (*s && *s != '}') {
        while (*s == ' ' || *s == ',')
            s++;
        const char *name = s;
        while (*s && *s != '=' && *s != '}')
            s++;
        if (*s != '=' || s[1] != '"')
            return false;
        bool want = (size_t)(s - name) == 2 && !memcmp(name, "vm", 2);
        s += 2;
        size_t o = 0;
        for (; *s && *s != '"'; s++) {
            char c = *s;
            if (c == '\\') {
                if (!*++s)
                    return false;
                c = *s == 'n' ? '\n' : *s;
            }
            if (o + 1 < len)
                out[o++] = c;
        }
        if (*s != '"')
            return false;
        s++;
        if (want) {
            out[o] = 0;
            return o > 0;
        }
    }
    return false;
}

unsigned vmctl_metrics_parse(const char *text, struct vmctl_sample *smp, unsigned max)
{
    unsigned n = 0;
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *end = strchr(l, '\n');
        size_t ll = end ? (size_t)(end - l) : strlen(l);
        char line[1024];
        if (!ll || l[0] == '#' || ll >= sizeof(line))
            continue;
        memcpy(line, l, ll);
        line[ll] = 0;
        char *brace = strchr(line, '{');
        char *close = brace ? strchr(brace, '}') : NULL;
        if (!brace || !close)
            continue;
        size_t nl = (size_t)(brace - line);
        double *field_is_sum = NULL, *dir = NULL;
        int kind;
        if (nl == strlen("vessel_vm_vcpu_seconds_total") &&
            !memcmp(line, "vessel_vm_vcpu_seconds_total", nl))
            kind = 0;
        else if (nl == strlen("vessel_vm_memory_touched_bytes") &&
                 !memcmp(line, "vessel_vm_memory_touched_bytes", nl))
            kind = 1;
        else if (!strncmp(line, "vessel_vm_disk_", 15) && has_suffix(line, nl, "_bytes_total"))
            kind = 2;
        else if (!strncmp(line, "vessel_vm_net_", 14) && has_suffix(line, nl, "_bytes_total"))
            kind = 3;
        else
            continue;
        char vm[64];
        *close = 0;
        if (!vm_label(brace + 1, vm, sizeof(vm)))
            continue;
        char *ep;
        errno = 0;
        double v = strtod(close + 1, &ep);
        if (ep == close + 1 || errno || !isfinite(v) || v < 0)
            continue;
        unsigned i;
        for (i = 0; i < n && strcmp(smp[i].name, vm); i++)
            ;
        if (i == n) {
            if (n == max)
                continue;
            memset(&smp[n], 0, sizeof(smp[n]));
            snprintf(smp[n].name, sizeof(smp[n].name), "%s", vm);
            n++;
        }
        smp[i].seen = true;
        switch (kind) {
        case 0: field_is_sum = &smp[i].cpu_seconds; break;
        case 1: field_is_sum = &smp[i].memory; break;
        case 2:
            field_is_sum = &smp[i].disk_bytes;
            dir = nl == strlen("vessel_vm_disk_read_bytes_total") &&
                  !memcmp(line, "vessel_vm_disk_read_bytes_total", nl) ? &smp[i].disk_read
                : nl == strlen("vessel_vm_disk_write_bytes_total") &&
                  !memcmp(line, "vessel_vm_disk_write_bytes_total", nl) ? &smp[i].disk_write
                : NULL;
            break;
        default:
            field_is_sum = &smp[i].net_bytes;
            dir = nl == strlen("vessel_vm_net_rx_bytes_total") &&
                  !memcmp(line, "vessel_vm_net_rx_bytes_total", nl) ? &smp[i].net_rx
                : nl == strlen("vessel_vm_net_tx_bytes_total") &&
                  !memcmp(line, "vessel_vm_net_tx_bytes_total", nl) ? &smp[i].net_tx
                : NULL;
            break;
        }
        *field_is_sum += v;
        if (dir)
            *dir += v;
    }
    return n;
}

struct frame {
    json_t *vms;                /* the GET /vms answer */
    struct vmctl_sample *s;
    unsigned n;
    double t;                   /* seconds, monotonic */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One sample; returns 0 or an exit status (printed). */
static int sample(const struct vmctl_opts *o, struct frame *f)
{
    struct vmctl_parser p = { 0 };
    char err[512];
    json_decref(f->vms);
    f->vms = NULL;
    f->t = now_s();
    int rc = vmctl_call(o->sock, "GET", "/metrics", NULL, TOP_TIMEOUT_MS, &p, err, sizeof(err));
    if (rc)
        rc = vmctl_call_error("top", rc, err);
    else if (p.status != 200)
        rc = vmctl_api_error("top", &p);
    else
        f->n = vmctl_metrics_parse(p.body ? p.body : "", f->s, TOP_MAX_VMS);
    vmctl_parse_free(&p);
    if (rc)
        return rc;
    memset(&p, 0, sizeof(p));
    rc = vmctl_call(o->sock, "GET", "/vms", NULL, TOP_TIMEOUT_MS, &p, err, sizeof(err));
    if (rc)
        rc = vmctl_call_error("top", rc, err);
    else if (p.status != 200)
        rc = vmctl_api_error("top", &p);
    else if (!(f->vms = json_loadb(p.body ? p.body : "", p.blen, 0, NULL)) ||
             !json_is_array(json_object_get(f->vms, "vms"))) {
        vlog_error("top: the daemon's GET /vms answer is not a {\"vms\":[...]} object");
        rc = VMCTL_EXIT_UNREACHABLE;
    }
    vmctl_parse_free(&p);
    return rc;
}

static const struct vmctl_sample *find(const struct frame *f, const char *name)
{
    for (unsigned i = 0; i < f->n; i++)
        if (!strcmp(f->s[i].name, name))
            return &f->s[i];
    return NULL;
}

/* Bytes per second of a counter between two samples (a counter that went
 * back, as after the VM process restarted, counts from 0). */
static double rate(double a, double b, double dt)
{
    return (b >= a ? b - a : b) / dt;
}

/* A rate cell: "-" without two samples. */
static const char *rate_cell(bool rates, double v, char *buf, size_t len)
{
    return rates ? vmctl_fmt_size((uint64_t)v, buf, len) : "-";
}

/* The frame's rows (per VM, rates against `prev`), as a table or JSON. */
static char *render(const struct frame *prev, const struct frame *cur, bool json)
{
    double dt = cur->t - prev->t;
    json_t *arr = json ? json_array() : NULL;
    struct vmctl_table t;
    vmctl_table_init(&t, 9);
    vmctl_table_row(&t, (const char *const[]){ "NAME", "STATE", "VCPUS", "CPU%", "MEMORY",
                                               "DISK-R/s", "DISK-W/s", "NET-RX/s",
                                               "NET-TX/s" });
    size_t i;
    json_t *vm;
    json_array_foreach(json_object_get(cur->vms, "vms"), i, vm) {
        const char *name = json_string_value(json_object_get(vm, "name"));
        const char *state = json_string_value(json_object_get(vm, "state"));
        json_t *vc = json_object_get(vm, "vcpus"), *mem = json_object_get(vm, "memory");
        if (!name)
            continue;
        const struct vmctl_sample *a = find(prev, name), *b = find(cur, name);
        bool rates = a && b && dt > 0;
        double cpu = rates ? MAX(0.0, b->cpu_seconds - a->cpu_seconds) / dt * 100 : 0;
        double disk = rates ? MAX(0.0, b->disk_bytes - a->disk_bytes) / dt : 0;
        double net = rates ? MAX(0.0, b->net_bytes - a->net_bytes) / dt : 0;
        double rd = rates ? rate(a->disk_read, b->disk_read, dt) : 0;
        double wr = rates ? rate(a->disk_write, b->disk_write, dt) : 0;
        double rx = rates ? rate(a->net_rx, b->net_rx, dt) : 0;
        double tx = rates ? rate(a->net_tx, b->net_tx, dt) : 0;
        if (json) {
            json_t *r = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "name", name,
                                  "state", state ? state : "?",
                                  "vcpus", vc ? json_copy(vc) : json_null(),
                                  "memory", mem ? json_copy(mem) : json_null(),
                                  "memory_touched", b ? json_integer((json_int_t)b->memory)
                                                      : json_null(),
                                  "cpu_percent", rates ? json_real(cpu) : json_null(),
                                  "disk_bytes_per_second", rates ? json_real(disk) : json_null());
            if (r) {
                json_object_set_new(r, "net_bytes_per_second",
                                    rates ? json_real(net) : json_null());
                json_object_set_new(r, "disk_read_bytes_per_second",
                                    rates ? json_real(rd) : json_null());
                json_object_set_new(r, "disk_write_bytes_per_second",
                                    rates ? json_real(wr) : json_null());
                json_object_set_new(r, "net_rx_bytes_per_second",
                                    rates ? json_real(rx) : json_null());
                json_object_set_new(r, "net_tx_bytes_per_second",
                                    rates ? json_real(tx) : json_null());
            }
            json_array_append_new(arr, r);
            continue;
        }
        char c1[24], c2[24], c3[64], m1[24], m2[24], r1[24], r2[24], r3[24], r4[24];
        snprintf(c1, sizeof(c1), "%lld", (long long)json_integer_value(vc));
        snprintf(c2, sizeof(c2), rates ? "%.1f" : "-", cpu);
        if (b && b->memory > 0)
            snprintf(c3, sizeof(c3), "%s/%s", vmctl_fmt_size((uint64_t)b->memory, m1, 24),
                     vmctl_fmt_size((uint64_t)json_integer_value(mem), m2, 24));
        else
            snprintf(c3, sizeof(c3), "%s", vmctl_fmt_size((uint64_t)json_integer_value(mem),
                                                          m2, 24));
        vmctl_table_row(&t, (const char *const[]){ name, state ? state : "?",
                                                   json_is_integer(vc) ? c1 : "-", c2, c3,
                                                   rate_cell(rates, rd, r1, sizeof(r1)),
                                                   rate_cell(rates, wr, r2, sizeof(r2)),
                                                   rate_cell(rates, rx, r3, sizeof(r3)),
                                                   rate_cell(rates, tx, r4, sizeof(r4)) });
    }
    char *s;
    if (json) {
        json_t *o = json_pack("{s:o, s:f}", "vms", arr, "interval", dt);
        s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
    } else {
        s = vmctl_table_format(&t);
    }
    vmctl_table_free(&t);
    return s;
}

enum { TO_SOCKET = 1, TO_JSON, TO_ONCE, TO_INTERVAL, TO_HELP };

int vmctl_top(const struct vmctl_opts *go, int argc, char **argv)
{
    static const struct option lo[] = {
        { "socket", required_argument, NULL, TO_SOCKET },
        { "json", no_argument, NULL, TO_JSON },
        { "once", no_argument, NULL, TO_ONCE },
        { "interval", required_argument, NULL, TO_INTERVAL },
        { "help", no_argument, NULL, TO_HELP },
        { 0 },
    };
    struct vmctl_opts o = *go;
    bool once = false;
    double interval = 1.0;
    int c, rc = 0;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
        char *ep;
        switch (c) {
        case TO_SOCKET: o.sock = optarg; break;
        case TO_JSON: o.json = true; break;
        case TO_ONCE: once = true; break;
        case TO_HELP:
            printf("usage: vessel top [--once] [--interval SECONDS] [--json]\n");
            return 0;
        case TO_INTERVAL:
            interval = strtod(optarg, &ep);
            if (ep == optarg || *ep || !(interval >= 0.1 && interval <= 3600)) {
                vlog_error("top: --interval '%s': expected seconds, 0.1 to 3600", optarg);
                return VMCTL_EXIT_USAGE;
            }
            break;
        default:
            vlog_error("top: %s '%s' (expected --once, --interval S, --json, --socket P)",
                       c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
            return VMCTL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        vlog_error("top: unexpected argument '%s'", argv[optind]);
        return VMCTL_EXIT_USAGE;
    }
    struct frame f[2] = { { .s = calloc(TOP_MAX_VMS, sizeof(struct vmctl_sample)) },
                          { .s = calloc(TOP_MAX_VMS, sizeof(struct vmctl_sample)) } };
    bool tty = !once && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    struct termios saved;
    int sigfd = -1;
    if (!f[0].s || !f[1].s) {
        rc = VMCTL_EXIT_API;
        goto out;
    }
    if (tty && !tcgetattr(STDIN_FILENO, &saved)) {
        /* Keys without Enter, not echoed; signals still work (read below). */
        struct termios t = saved;
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        if (!sigprocmask(SIG_BLOCK, &set, NULL))
            sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    } else {
        tty = false;
    }
    signal(SIGPIPE, SIG_IGN);
    if ((rc = sample(&o, &f[0])))
        goto out;
    for (unsigned k = 1;; k++) {
        struct frame *prev = &f[(k - 1) & 1], *cur = &f[k & 1];
        /* Wait out the interval, or a key: q quits. */
        double deadline = prev->t + interval;
        bool quit = false;
        for (double left; !quit && (left = deadline - now_s()) > 0;) {
            struct pollfd pf[2] = { { .fd = tty ? STDIN_FILENO : -1, .events = POLLIN },
                                    { .fd = sigfd, .events = POLLIN } };
            int r = poll(pf, 2, (int)(left * 1000) + 1);
            char key;
            if (r > 0 && pf[1].revents)
                quit = true;
            if (r > 0 && pf[0].revents && read(STDIN_FILENO, &key, 1) == 1 &&
                (key == 'q' || key == 'Q'))
                quit = true;
        }
        if (quit)
            break;
        if ((rc = sample(&o, cur)))
            break;
        char *s = render(prev, cur, o.json);
        if (!s) {
            rc = VMCTL_EXIT_API;
            break;
        }
        if (tty)
            printf("\033[H\033[2Jvessel top: %zu VMs, every %.1f s, q quits\n\n",
                   json_array_size(json_object_get(cur->vms, "vms")), interval);
        else if (k > 1 && !o.json)
            printf("\n");
        printf("%s%s", s, o.json ? "\n" : "");
        free(s);
        if (fflush(stdout) || once)
            break;
    }
out:
    if (tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    if (sigfd >= 0)
        close(sigfd);
    json_decref(f[0].vms);
    json_decref(f[1].vms);
    free(f[0].s);
    free(f[1].s);
    return rc;
}
