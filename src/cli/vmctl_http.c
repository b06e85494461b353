/* vessel (daemon client): HTTP/1.1 over a unix socket (vmctl.h).
 *
 * The parser is incremental so that one code path serves buffered
 * answers, endless streams (GET /events: chunked, one JSON line per
 * event) and the 101 answer that turns the connection into a console.
 * Everything the daemon sends is checked as hostile: bounded head, digits
 * only in Content-Length, bounded hex chunk sizes, bounded buffered body,
 * a connection closed mid-body is an error, never a short answer. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/vmctl.h"
#include "util/util.h"

/* Chunk sizes up to 15 hex digits: below 2^60, no overflow. */
#define CHUNK_HEX_MAX 15

static int perr(struct vmctl_parser *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(struct vmctl_parser *p, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
    p->state = VMCTL_P_DONE;
    return rc;
}

static int deliver(struct vmctl_parser *p, const char *d, size_t n)
{
    if (!n)
        return 0;
    /* Only a success is a stream; an error's body is kept to be read. */
    if (p->sink && p->status >= 200 && p->status < 300)
        return p->sink(p->opaque, d, n);
    if (n > VMCTL_BODY_MAX - p->blen)
        return perr(p, -EFBIG, "the daemon's answer is larger than %u MiB",
                    VMCTL_BODY_MAX >> 20);
    if (p->blen + n + 1 > p->bcap) {
        size_t cap = p->bcap ? p->bcap : 4096;
        while (cap < p->blen + n + 1)
            cap *= 2;
        char *b = realloc(p->body, cap);
        if (!b)
            return perr(p, -ENOMEM, "out of memory reading the daemon's answer");
        p->body = b;
        p->bcap = cap;
    }
    memcpy(p->body + p->blen, d, n);
    p->blen += n;
    p->body[p->blen] = 0;
    return 0;
}

/* Header value without leading/trailing blanks, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

static int parse_status_line(struct vmctl_parser *p, char *line)
{
    if ((strncmp(line, "HTTP/1.1 ", 9) && strncmp(line, "HTTP/1.0 ", 9)) ||
        !isdigit((unsigned char)line[9]) || !isdigit((unsigned char)line[10]) ||
        !isdigit((unsigned char)line[11]) || (line[12] && line[12] != ' '))
        return perr(p, -EPROTO, "the daemon's answer does not start with an HTTP/1.x "
                    "status line (got '%.40s')", line);
    p->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (p->status < 100 || p->status > 599)
        return perr(p, -EPROTO, "the daemon answered status %d, expected 100 to 599",
                    p->status);
    snprintf(p->reason, sizeof(p->reason), "%s", line[12] ? trim(line + 13) : "");
    return 0;
}

static int parse_header(struct vmctl_parser *p, char *line)
{
    char *colon = strchr(line, ':');
    if (!colon || colon == line)
        return perr(p, -EPROTO, "the daemon sent a header line without a name: '%.40s'",
                    line);
    *colon = 0;
    char *v = trim(colon + 1);
    if (!strcasecmp(line, "Content-Length")) {
        uint64_t n;
        if (parse_u64(v, &n) || n > (1ULL << 62))
            return perr(p, -EPROTO, "the daemon sent Content-Length '%.40s', expected "
                        "decimal digits", v);
        if (p->has_length && p->length != n)
            return perr(p, -EPROTO, "the daemon sent two different Content-Length headers");
        p->has_length = true;
        p->length = n;
    } else if (!strcasecmp(line, "Transfer-Encoding")) {
        if (strcasecmp(v, "chunked"))
            return perr(p, -EPROTO, "the daemon sent Transfer-Encoding '%.40s', expected "
                        "chunked", v);
        p->chunked = true;
    } else if (!strcasecmp(line, "Content-Type")) {
        snprintf(p->content_type, sizeof(p->content_type), "%s", v);
    } else if (!strcasecmp(line, "Vessel-Console")) {
        snprintf(p->console_mode, sizeof(p->console_mode), "%s", v);
    }
    return 0;
}

/* The head is complete in p->head (p->hlen bytes, the blank line
 * included): parse it and choose how the body is framed. */
static int parse_head(struct vmctl_parser *p)
{
    p->head[p->hlen] = 0;
    if (memchr(p->head, 0, p->hlen))
        return perr(p, -EPROTO, "the daemon's answer head contains a NUL byte");
    char *save = NULL, *line = strtok_r(p->head, "\n", &save);
    if (!line)
        return perr(p, -EPROTO, "the daemon's answer has an empty head");
    trim(line);
    int rc = parse_status_line(p, line);
    while (!rc && (line = strtok_r(NULL, "\n", &save))) {
        line = trim(line);
        if (*line)
            rc = parse_header(p, line);
    }
    if (rc)
        return rc;
    p->hlen = 0;
    if (p->status == 101) {
        p->upgrade = true;
        p->state = VMCTL_P_DONE;
        return 1;
    }
    if (p->status < 200) {          /* 100 Continue and the like: skip */
        p->chunked = p->has_length = false;
        return 0;
    }
    if (p->status == 204 || p->status == 304) {
        p->state = VMCTL_P_DONE;
        return 1;
    }
    if (p->chunked) {
        p->state = VMCTL_P_CHUNK_SIZE;
        p->llen = 0;
    } else if (p->has_length) {
        if (!p->sink && p->length > VMCTL_BODY_MAX)
            return perr(p, -EFBIG, "the daemon's answer is %llu bytes, more than %u MiB",
                        (unsigned long long)p->length, VMCTL_BODY_MAX >> 20);
        p->remain = p->length;
        p->state = p->length ? VMCTL_P_LENGTH : VMCTL_P_DONE;
        return p->length ? 0 : 1;
    } else {
        p->state = VMCTL_P_TO_CLOSE;
    }
    return 0;
}

static int chunk_size_line(struct vmctl_parser *p)
{
    p->line[p->llen] = 0;
    char *semi = strchr(p->line, ';');      /* chunk extensions: ignored */
    if (semi)
        *semi = 0;
    char *s = trim(p->line);
    size_t nd = strspn(s, "0123456789abcdefABCDEF");
    if (!nd || s[nd] || nd > CHUNK_HEX_MAX)
        return perr(p, -EPROTO, "the daemon sent chunk size '%.20s', expected 1 to %d "
                    "hex digits", s, CHUNK_HEX_MAX);
    p->remain = strtoull(s, NULL, 16);
    p->llen = 0;
    p->state = p->remain ? VMCTL_P_CHUNK_DATA : VMCTL_P_TRAILER;
    return 0;
}

int vmctl_parse_feed(struct vmctl_parser *p, const char *d, size_t n, size_t *used)
{
    size_t i = 0;
    int rc = 0;
    if (p->state == VMCTL_P_DONE) {
        *used = 0;
        return p->err[0] ? -EPROTO : 1;
    }
    while (i < n && !rc) {
        switch (p->state) {
        case VMCTL_P_HEAD:
            if (p->hlen == VMCTL_HEAD_MAX) {
                rc = perr(p, -EPROTO, "the daemon's answer head is longer than %u KiB",
                          VMCTL_HEAD_MAX >> 10);
                break;
            }
            p->head[p->hlen++] = d[i++];
            if ((p->hlen >= 2 && !memcmp(p->head + p->hlen - 2, "\n\n", 2)) ||
                (p->hlen >= 4 && !memcmp(p->head + p->hlen - 4, "\r\n\r\n", 4)))
                rc = parse_head(p);
            break;
        case VMCTL_P_LENGTH: {
            size_t k = (size_t)MIN((uint64_t)(n - i), p->remain);
            rc = deliver(p, d + i, k);
            i += k;
            p->remain -= k;
            if (!rc && !p->remain) {
                p->state = VMCTL_P_DONE;
                rc = 1;
            }
            break;
        }
        case VMCTL_P_TO_CLOSE:
            rc = deliver(p, d + i, n - i);
            i = n;
            break;
        case VMCTL_P_CHUNK_SIZE:
            if (d[i] == '\n') {
                i++;
                rc = chunk_size_line(p);
            } else if (p->llen == sizeof(p->line) - 1) {
                rc = perr(p, -EPROTO, "the daemon sent a chunk-size line longer than %zu "
                          "bytes", sizeof(p->line) - 1);
            } else {
                p->line[p->llen++] = d[i++];
            }
            break;
        case VMCTL_P_CHUNK_DATA: {
            size_t k = (size_t)MIN((uint64_t)(n - i), p->remain);
            rc = deliver(p, d + i, k);
            i += k;
            p->remain -= k;
            if (!p->remain) {
                p->state = VMCTL_P_CHUNK_END;
                p->llen = 0;
            }
            break;
        }
        case VMCTL_P_CHUNK_END:         /* the CRLF after a chunk's data */
            if (d[i] == '\r' && p->llen == 0) {
                p->llen = 1;
                i++;
            } else if (d[i] == '\n') {
                i++;
                p->llen = 0;
                p->state = VMCTL_P_CHUNK_SIZE;
            } else {
                rc = perr(p, -EPROTO, "the daemon's chunk is longer than its size says");
            }
            break;
        case VMCTL_P_TRAILER:
            /* Trailer lines are skipped; their total is bounded like a head.
             * p->llen counts the current line, p->hlen the total. */
            if (p->hlen++ == VMCTL_HEAD_MAX) {
                rc = perr(p, -EPROTO, "the daemon's chunked trailer is longer than %u KiB",
                          VMCTL_HEAD_MAX >> 10);
                break;
            }
            if (d[i] == '\n') {
                if (p->llen == 0) {
                    p->state = VMCTL_P_DONE;
                    rc = 1;
                }
                p->llen = 0;
            } else if (d[i] != '\r') {
                p->llen++;
            }
            i++;
            break;
        case VMCTL_P_DONE:
            rc = 1;
            break;
        }
    }
    *used = i;
    return rc;
}

int vmctl_parse_eof(struct vmctl_parser *p)
{
    switch (p->state) {
    case VMCTL_P_TO_CLOSE:
        p->state = VMCTL_P_DONE;
        return 1;
    case VMCTL_P_DONE:
        return p->err[0] ? -EPROTO : 1;
    case VMCTL_P_HEAD:
        return perr(p, -EPROTO, p->hlen ? "the daemon closed the connection in the middle "
                    "of its answer's head" : "the daemon closed the connection without "
                    "answering");
    default:
        return perr(p, -EPROTO, "the daemon closed the connection in the middle of its "
                    "answer's body");
    }
}

void vmctl_parse_free(struct vmctl_parser *p)
{
    free(p->body);
    p->body = NULL;
    p->blen = p->bcap = 0;
}

int vmctl_connect(const char *path, char *err, size_t elen)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(a.sun_path))
        return errbuf(err, elen, -ENAMETOOLONG, "socket '%s': the path is longer than %zu "
                      "bytes, the limit of a unix socket address", path,
                      sizeof(a.sun_path) - 1);
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errbuf(err, elen, -errno, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        int e = errno;
        close(fd);
        if (e == EACCES)    /* the socket's mode and group say who may connect */
            return errbuf(err, elen, -e, "cannot reach the daemon at %s: %s (as root the "
                          "daemon's socket is open to its group, vessel by default: ask to "
                          "be added to it; docs/daemon.md \"Access control\")", path,
                          strerror(e));
        return errbuf(err, elen, -e, "cannot reach the daemon at %s: %s (is vesseld "
                      "running? --socket or VESSEL_SOCKET choose another socket)", path,
                      strerror(e));
    }
    return fd;
}

static int write_all(int fd, const char *d, size_t n)
{
    while (n) {
        ssize_t k = send(fd, d, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        d += k;
        n -= (size_t)k;
    }
    return 0;
}

int vmctl_send(int fd, const char *method, const char *target, const char *body,
               const char *extra, char *err, size_t elen)
{
    char head[1024];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: vessel\r\n"
                     "Accept: application/json\r\n", method, target);
    if (body && (size_t)n < sizeof(head))
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
    if ((size_t)n < sizeof(head))
        n += snprintf(head + n, sizeof(head) - (size_t)n, "%s\r\n",
                      extra ? extra : "Connection: close\r\n");
    if ((size_t)n >= sizeof(head))
        return errbuf(err, elen, -ENAMETOOLONG, "request %s %.60s...: too long", method,
                      target);
    int rc = write_all(fd, head, (size_t)n);
    if (!rc && body)
        rc = write_all(fd, body, blen);
    if (rc)
        return errbuf(err, elen, rc, "sending %s %s to the daemon: %s", method, target,
                      strerror(-rc));
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vmctl_recv(int fd, struct vmctl_parser *p, int timeout_ms, char *err, size_t elen)
{
    char buf[16384];
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    for (;;) {
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                return errbuf(err, elen, -ETIMEDOUT, "the daemon did not answer within "
                              "%d s", timeout_ms / 1000);
            wait = (int)MIN(left, (int64_t)1 << 30);
        }
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        int r = poll(&pf, 1, wait);
        if (r < 0 && errno != EINTR)
            return errbuf(err, elen, -errno, "poll: %s", strerror(errno));
        if (r <= 0)
            continue;
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            /* A reset after a complete answer is not an error; before, it is. */
            return errbuf(err, elen, -errno, "reading the daemon's answer: %s",
                          strerror(errno));
        }
        int rc;
        size_t used = 0;
        if (k == 0)
            rc = vmctl_parse_eof(p);
        else
            rc = vmctl_parse_feed(p, buf, (size_t)k, &used);
        if (rc < 0)
            return errbuf(err, elen, rc, "%s", p->err);
        if (rc == 1) {
            if (p->upgrade && (size_t)k > used) {
                p->sink = NULL;
                if (deliver(p, buf + used, (size_t)k - used))
                    return errbuf(err, elen, -ENOMEM, "%s", p->err);
            }
            return 1;
        }
    }
}

int vmctl_call(const char *sock, const char *method, const char *target, const char *body,
               int timeout_ms, struct vmctl_parser *p, char *err, size_t elen)
{
    int fd = vmctl_connect(sock, err, elen);
    if (fd < 0)
        return fd;
    int rc = vmctl_send(fd, method, target, body, NULL, err, elen);
    if (!rc)
        rc = vmctl_recv(fd, p, timeout_ms, err, elen);
    close(fd);
    return rc < 0 ? rc : 0;
}
