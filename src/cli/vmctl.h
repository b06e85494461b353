/* cli-internal: the `vessel` commands that are clients of the daemon
 * (vesseld's REST API v1, docs/cli.md): create, list, info, start, stop,
 * kill, pause, resume, reset, delete, edit, console, events, top.
 *
 * Split by concern:
 *   vmctl.c          the command table, global options, exit codes, the
 *                    simple commands (one request, print the answer);
 *   vmctl_http.c     HTTP/1.1 over a unix socket: the request writer and
 *                    an incremental response parser (Content-Length,
 *                    chunked, read-to-close, 101 upgrade) that treats the
 *                    daemon's bytes as hostile;
 *   vmctl_create.c   `vessel create` options -> a vm.json body;
 *   vmctl_table.c    tables and human units, terminal-safe strings;
 *   vmctl_stream.c   console (upgraded connection) and events (stream);
 *   vmctl_top.c      top: per-VM rates from /metrics.
 * One thread; no state outside the structs here. */
#ifndef VESSEL_CLI_VMCTL_H
#define VESSEL_CLI_VMCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Exit statuses (docs/cli.md). */
enum {
    VMCTL_EXIT_OK = 0,
    VMCTL_EXIT_API = 1,         /* the daemon refused: 400, 413, 5xx... */
    VMCTL_EXIT_USAGE = 2,       /* bad options; nothing was sent */
    VMCTL_EXIT_UNREACHABLE = 3, /* no daemon, or it did not speak HTTP */
    VMCTL_EXIT_NOT_FOUND = 4,   /* 404: no such VM */
    VMCTL_EXIT_CONFLICT = 5,    /* 409: name exists, wrong state */
    VMCTL_EXIT_DENIED = 6,      /* 403: the caller's role does not allow it */
};

/* ---- HTTP (vmctl_http.c) ---- */

#define VMCTL_HEAD_MAX (16u << 10)      /* status line + headers */
#define VMCTL_BODY_MAX (64u << 20)      /* a buffered answer */

/* Where body bytes go: return 0, or a negative errno to stop parsing. */
typedef int (*vmctl_sink_fn)(void *opaque, const char *data, size_t n);

enum vmctl_pstate {
    VMCTL_P_HEAD, VMCTL_P_LENGTH, VMCTL_P_CHUNK_SIZE, VMCTL_P_CHUNK_DATA,
    VMCTL_P_CHUNK_END, VMCTL_P_TRAILER, VMCTL_P_TO_CLOSE, VMCTL_P_DONE,
};

/* An incremental HTTP/1.1 response parser.  Zero it, set sink/opaque,
 * then feed it bytes.  The sink gets the body of a 2xx answer; a NULL
 * sink, and any other status, buffer the body into `body` (at most
 * VMCTL_BODY_MAX bytes) so that an error's message can be read. */
struct vmctl_parser {
    enum vmctl_pstate state;
    char head[VMCTL_HEAD_MAX + 1];
    size_t hlen;
    int status;                 /* 100..599 once the head is parsed */
    char reason[64];            /* the status line's reason phrase */
    char content_type[64];
    char console_mode[16];      /* Vessel-Console: "read-only" for a viewer */
    bool chunked, has_length, upgrade;
    uint64_t length;            /* Content-Length */
    uint64_t remain;            /* of the current chunk or body */
    char line[80];              /* a chunk-size or trailer line */
    size_t llen;
    vmctl_sink_fn sink;
    void *opaque;
    char *body;                 /* with a NULL sink: malloc'd, NUL-ended */
    size_t blen, bcap;
    char err[200];              /* why the response was refused */
};

/* Feed n bytes.  Returns 0 when more are wanted, 1 when the response is
 * complete (for a 101 answer: the head; *used says how many bytes were
 * consumed, the rest belong to the upgraded stream), or -EPROTO /
 * -EFBIG / -ENOMEM / a sink's error with p->err set.  After 1 or an
 * error, further feeds are refused. */
int vmctl_parse_feed(struct vmctl_parser *p, const char *data, size_t n, size_t *used);

/* The peer closed: 1 when that completes the response (a body read to
 * close), else -EPROTO ("the daemon closed the connection in the middle
 * of ..."). */
int vmctl_parse_eof(struct vmctl_parser *p);

/* Free the buffered body; the parser can be zeroed and reused after. */
void vmctl_parse_free(struct vmctl_parser *p);

/* Connect to the unix socket at `path`.  Returns the descriptor (close-on-
 * exec, blocking), or -errno with a message naming the socket. */
int vmctl_connect(const char *path, char *err, size_t elen);

/* Send one request: METHOD TARGET, with a JSON body when body != NULL,
 * `Connection: close` unless `extra` (more header lines, each ending in
 * CRLF, or NULL) says otherwise.  Returns 0 or -errno (message). */
int vmctl_send(int fd, const char *method, const char *target, const char *body,
               const char *extra, char *err, size_t elen);

/* Read the answer on fd into p until complete, the peer closes or
 * timeout_ms (-1: none) passes.  For a 101 answer, the bytes read past the
 * head (the start of the upgraded stream) are left in p->body / p->blen.
 * Returns 1, or -ETIMEDOUT / -errno / the parser's error (message). */
int vmctl_recv(int fd, struct vmctl_parser *p, int timeout_ms, char *err, size_t elen);

/* Connect, send, receive a buffered answer: the common case.  Returns 0
 * with p holding the answer (any status), or -errno with err set:
 * connection failures are -ENOENT, -ECONNREFUSED, -EACCES, ...; a
 * malformed answer -EPROTO; no answer in time -ETIMEDOUT. */
int vmctl_call(const char *sock, const char *method, const char *target, const char *body,
               int timeout_ms, struct vmctl_parser *p, char *err, size_t elen);

/* ---- create (vmctl_create.c) ---- */

/* The arguments of `vessel create` (argv[0] is "create"; options and
 * NAME in any order) turned into a vm.json object (docs/vm-json.md)
 * without a "uuid" unless --uuid was given (the daemon generates one).
 * Relative file paths are made absolute against `cwd` (the daemon does
 * not share the client's working directory).  --socket and --json go to
 * *opts (may be NULL).  Checked with the daemon's own validation
 * (vmdef_parse) before anything is sent.  Returns 0 with *out (owned by
 * the caller), -EINVAL with a message naming the option and what is
 * accepted, -ENOMEM. */
struct vmctl_opts;
int vmctl_create_json(int argc, char **argv, const char *cwd, struct vmctl_opts *opts,
                      json_t **out, char *err, size_t elen);

/* --memory: decimal with a K, M, G or T suffix; a plain number is MiB, as
 * `vessel run -m`.  0 or -EINVAL. */
int vmctl_parse_memory(const char *s, uint64_t *out);

/* A VM name as vm.json accepts it (so it is safe in a URL path). */
bool vmctl_name_ok(const char *name);

/* ---- output (vmctl_table.c) ---- */

/* "512M", "1.5G", "4K", "100B": binary units, one decimal when inexact. */
const char *vmctl_fmt_size(uint64_t v, char *buf, size_t len);
/* "42s", "3m12s", "2h05m", "3d04h". */
const char *vmctl_fmt_uptime(uint64_t seconds, char *buf, size_t len);
/* s with every control character (C0, DEL, C1 lead bytes' effect: ESC)
 * replaced by '?', so a daemon's string cannot drive the terminal.
 * Truncated to len-1 bytes. */
const char *vmctl_safe(const char *s, char *buf, size_t len);

/* A table: rows of cells, printed with columns padded to their widest
 * cell, the last column unpadded.  Cells are copied (made terminal-safe). */
#define VMCTL_TABLE_COLS 12
struct vmctl_table {
    unsigned ncols, nrows, cap;
    char **cells;               /* nrows * ncols */
    bool oom;
};
void vmctl_table_init(struct vmctl_table *t, unsigned ncols);
void vmctl_table_row(struct vmctl_table *t, const char *const *cells);
/* Print to a malloc'd string (NULL when out of memory). */
char *vmctl_table_format(const struct vmctl_table *t);
void vmctl_table_free(struct vmctl_table *t);

/* The `vessel list` table for a GET /vms answer.  Returns the text
 * (malloc'd) or NULL with a message in err when the answer is not a
 * {"vms":[...]} object. */
char *vmctl_list_format(json_t *answer, char *err, size_t elen);

/* The `vessel info` text for a GET /vms/{name} answer (malloc'd, or NULL:
 * out of memory). */
char *vmctl_info_format(json_t *vm);

/* ---- streams (vmctl_stream.c), top (vmctl_top.c) ---- */

struct vmctl_opts {
    const char *sock;
    bool json;
};

int vmctl_console(const struct vmctl_opts *o, const char *name);
int vmctl_events(const struct vmctl_opts *o);

/* Per-VM counters summed out of a Prometheus exposition. */
struct vmctl_sample {
    char name[64];
    double cpu_seconds, disk_bytes, net_bytes, memory;
    /* Each direction on its own, summed over the devices. */
    double disk_read, disk_write, net_rx, net_tx;
    bool seen;
};
/* Parse /metrics text: for every vm="NAME" label, vessel_vm_vcpu_seconds_total,
 * the sum of vessel_vm_disk_*_bytes_total and vessel_vm_net_*_bytes_total
 * (and of each of vessel_vm_disk_read_bytes_total, _disk_write_,
 * _net_rx_ and _net_tx_ on its own, over the devices), and
 * vessel_vm_memory_touched_bytes.  Fills up to max samples; returns
 * their count.  Malformed lines are skipped. */
unsigned vmctl_metrics_parse(const char *text, struct vmctl_sample *s, unsigned max);

int vmctl_top(const struct vmctl_opts *o, int argc, char **argv);

/* The exit status and the message for an answer with status >= 300:
 * prints "vessel: WHAT: <the API's error>" to stderr. */
int vmctl_api_error(const char *what, const struct vmctl_parser *p);
/* The exit status for a failed vmctl_call, after printing its message:
 * VMCTL_EXIT_DENIED when the socket refused the connection (EACCES),
 * VMCTL_EXIT_UNREACHABLE for the rest (VMCTL_EXIT_API: out of memory). */
int vmctl_call_error(const char *what, int rc, const char *err);

#endif
