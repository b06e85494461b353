/* daemon: STORE/audit.log, one JSON line per denied or mutating request
 * (access.h).  One write(2) per line on an O_APPEND descriptor, under the
 * log's own mutex (which also orders the rotation); rotated like
 * console.log: renamed to audit.log.1 past the bound, replacing the
 * previous one.  Lines are not fsynced: the log says what was asked, and
 * the requests' own effects are the durable record. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon/access.h"
#include "util/util.h"

#define AUDIT_FIELD_MAX 1024        /* bytes of a path kept in a line */

struct audit {
    pthread_mutex_t lock;
    char *path, *old;           /* DIR/audit.log, DIR/audit.log.1 */
    int fd;                     /* -1: the log could not be reopened */
    uint64_t size, rotate_at;
    bool warned;                /* one message per failure run, not per line */
};

static int reopen(struct audit *a)
{
    a->fd = open(a->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (a->fd < 0)
        return -errno;
    struct stat st;
    a->size = fstat(a->fd, &st) ? 0 : (uint64_t)st.st_size;
    return 0;
}

int audit_open(const char *dir, uint64_t rotate_at, struct audit **out, char *err,
               size_t elen)
{
    struct audit *a = calloc(1, sizeof(*a));
    *out = NULL;
    if (!a || asprintf(&a->path, "%s/audit.log", dir) < 0 ||
        asprintf(&a->old, "%s/audit.log.1", dir) < 0) {
        if (a)
            free(a->path);
        free(a);
        return errbuf(err, elen, -ENOMEM, "out of memory");
    }
    a->rotate_at = rotate_at ? rotate_at : AUDIT_LOG_MAX;
    int rc = reopen(a);
    if (rc) {
        errbuf(err, elen, rc, "%s: %s", a->path, strerror(-rc));
        free(a->path);
        free(a->old);
        free(a);
        return rc;
    }
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return 0;
}

/* s with bytes that are not printable ASCII as '?', cut at
 * AUDIT_FIELD_MAX: the client chose them, the reader of the log must not
 * be fooled by them (and JSON strings must be UTF-8). */
static json_t *clean(const char *s)
{
    char buf[AUDIT_FIELD_MAX + 1];
    size_t i = 0;
    for (; s && s[i] && i < AUDIT_FIELD_MAX; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
    buf[i] = 0;
    return json_string(buf);
}

void audit_log(struct audit *a, const struct access_peer *p, enum access_role role,
               const char *method, const char *path, const char *vm, int status)
{
    if (!a)
        return;
    struct timespec ts;
    struct tm tm;
    char when[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
    json_t *o = json_pack("{s:s,s:o,s:o,s:s,s:o,s:o,s:i}", "time", when,
                          "uid", p->known ? json_integer(p->uid) : json_null(),
                          "pid", p->known ? json_integer(p->pid) : json_null(),
                          "role", access_role_name(role), "method", clean(method),
                          "path", clean(path), "status", status);
    if (o && vm && *vm)
        json_object_set_new(o, "vm", json_string(vm));
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!line) {
        vlog_warn("%s: out of memory; a line is lost", a->path);
        return;
    }
    size_t len = strlen(line);
    line[len++] = '\n';     /* over the NUL: write() takes a length */
    pthread_mutex_lock(&a->lock);
    if (a->fd >= 0 && a->size && a->size + len > a->rotate_at) {
        close(a->fd);
        a->fd = -1;
        if (rename(a->path, a->old))
            vlog_warn("%s: cannot rotate: %s", a->path, strerror(errno));
        int rc = reopen(a);
        if (rc)
            vlog_warn("%s: %s; requests are no longer audited", a->path, strerror(-rc));
    }
    if (a->fd >= 0) {
        ssize_t w = write(a->fd, line, len);
        if (w == (ssize_t)len) {
            a->size += len;
            a->warned = false;
        } else if (!a->warned) {
            a->warned = true;
            vlog_warn("%s: %s; audit lines are lost until a write succeeds", a->path,
                      w < 0 ? strerror(errno) : "short write");
        }
    }
    pthread_mutex_unlock(&a->lock);
    free(line);
}

void audit_close(struct audit *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    pthread_mutex_destroy(&a->lock);
    free(a->path);
    free(a->old);
    free(a);
}
