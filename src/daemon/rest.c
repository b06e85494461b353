/* daemon: the REST server (daemon_int.h): libmicrohttpd on a unix socket,
 * one thread per connection (a slow or half-open client holds only its
 * own thread, and is dropped after REST_IDLE_S idle), bodies bounded,
 * the route table of rest_vms.c with each route's least role checked
 * against the peer's (access.h), the audit log, and the error body
 * {"error": "..."}.
 * The patterns follow src/vmm/api.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "daemon/daemon_int.h"
#include "util/util.h"

#define REST_IDLE_S 30
#define REST_MAX_CONNECTIONS 128

struct rest {
    struct MHD_Daemon *mhd;
    int fd;
};

/* Per connection: who is at the other end, taken in the connection's own
 * thread at its first request (the user database may be slow; the
 * accepting thread must not wait on it). */
struct rest_peer {
    bool filled;
    struct access_peer p;
};

struct rest_conn {
    char *body;
    size_t len;
    bool too_big;
};

/* One path segment of a pattern against one of the path. */
static bool seg_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && !memcmp(a, b, alen);
}

/* Does path fit pattern?  "{name}" takes one segment that is a valid VM
 * name, copied to name. */
static bool fits(const char *pattern, const char *path, char *name, size_t nlen)
{
    const char *p = pattern, *q = path;
    while (*p && *q) {
        if (*p != '/' || *q != '/')
            return false;
        p++, q++;
        size_t pl = strcspn(p, "/"), ql = strcspn(q, "/");
        if (seg_eq(p, pl, "{name}", 6)) {
            char seg[VMDEF_NAME_MAX + 2];
            if (!ql || ql > VMDEF_NAME_MAX)
                return false;
            memcpy(seg, q, ql);
            seg[ql] = 0;
            if (!vmdef_name_ok(seg))
                return false;
            snprintf(name, nlen, "%s", seg);
        } else if (!seg_eq(p, pl, q, ql)) {
            return false;
        }
        p += pl, q += ql;
    }
    return !*p && !*q;
}

const struct rest_route *rest_match(const char *method, const char *path, char *name,
                                    size_t nlen, int *status, char *allow, size_t alen)
{
    allow[0] = 0;
    name[0] = 0;
    bool path_known = false;
    for (size_t i = 0; i < rest_nroutes; i++) {
        const struct rest_route *r = &rest_routes[i];
        if (!fits(r->pattern, path, name, nlen))
            continue;
        if (!strcmp(r->method, method))
            return r;
        path_known = true;
        size_t at = strlen(allow);
        snprintf(allow + at, alen - at, "%s%s", at ? ", " : "", r->method);
    }
    name[0] = 0;
    *status = path_known ? 405 : 404;
    return NULL;
}

/* JSON strings must be UTF-8: bytes of a message that quote the client's
 * path and are not become '?' (api.c does the same, more strictly). */
static json_t *error_body(const char *msg)
{
    char clean[DVM_ERR_LEN + 64];
    size_t i = 0;
    for (; msg[i] && i + 1 < sizeof(clean); i++)
        clean[i] = (unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x80 ? '?' :
                   msg[i];
    clean[i] = 0;
    return json_pack("{s:s}", "error", clean);
}

void rest_reply_finish(struct rest_reply *rp)
{
    if (rp->raw || rp->text)
        return;
    if (rp->status >= 400 || (!rp->json && rp->status != 204)) {
        if (rp->status < 400)
            rp->status = 500;
        json_decref(rp->json);
        rp->json = error_body(rp->err[0] ? rp->err : "internal error");
    }
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct rest_reply *rp,
                                  const char *allow)
{
    rest_reply_finish(rp);
    struct MHD_Response *r;
    unsigned status = (unsigned)rp->status;
    if (rp->raw) {
        r = rp->raw;
        rp->raw = NULL;
    } else if (rp->text) {
        r = MHD_create_response_from_buffer(strlen(rp->text), rp->text,
                                            MHD_RESPMEM_MUST_FREE);
        if (r) {
            rp->text = NULL;
            MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
        }
    } else {
        json_t *j = rp->json;
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        r = MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : (char *)"",
                                            text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!r)
            free(text);
        else if (text)
            MHD_add_response_header(r, "Content-Type", "application/json");
    }
    free(rp->text);
    json_decref(rp->json);
    if (!r)
        return MHD_NO;
    if (allow)
        MHD_add_response_header(r, "Allow", allow);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* 403 naming what the route needs and what the caller has. */
static void deny(const struct rest_http *h, const struct rest_route *route,
                 enum access_role role, struct rest_reply *rp)
{
    char who[32] = "the caller";
    if (h->peer->known)
        snprintf(who, sizeof(who), "uid %u", h->peer->uid);
    rp->status = 403;
    snprintf(rp->err, sizeof(rp->err), "%s %s: needs role %s; %s has %s%s", h->method,
             h->path, access_role_name(route ? route->role : ACCESS_VIEWER), who,
             role ? "" : "no role", role ? access_role_name(role) : "");
}

static void dispatch(struct vesseld *d, const struct rest_http *h, enum access_role role,
                     struct rest_reply *rp, char *name, char *allow, size_t alen)
{
    int status;
    struct rest_req rq = { .role = role, .method = h->method, .path = h->path,
                           .conn = h->conn };
    const struct rest_route *route = rest_match(h->method, h->path, rq.name, sizeof(rq.name),
                                                &status, allow, alen);
    snprintf(name, VMDEF_NAME_MAX + 1, "%s", rq.name);
    /* No role: nothing, not even which paths exist. */
    if (h->peer && (role == ACCESS_NONE || (route && role < route->role)))
        return deny(h, route, role, rp);
    if (!route) {
        rp->status = status;
        if (status == 405)
            snprintf(rp->err, sizeof(rp->err), "%s %s: method not allowed; accepted: %s",
                     h->method, h->path, allow);
        else
            snprintf(rp->err, sizeof(rp->err), "%s: no such resource (see "
                     "docs/daemon-api.yaml)", h->path);
        return;
    }
    allow[0] = 0;
    if (h->len > VESSELD_MAX_BODY) {
        rp->status = 413;
        snprintf(rp->err, sizeof(rp->err), "request body larger than %u bytes",
                 VESSELD_MAX_BODY);
        return;
    }
    if (h->len && !route->body) {
        rp->status = 400;
        snprintf(rp->err, sizeof(rp->err), "%s %s takes no request body", h->method, h->path);
        return;
    }
    if (h->len) {
        json_error_t je;
        rq.body = json_loadb(h->body, h->len, JSON_REJECT_DUPLICATES, &je);
        if (!rq.body || !json_is_object(rq.body)) {
            rp->status = 400;
            if (rq.body)
                snprintf(rp->err, sizeof(rp->err), "request body must be a JSON object");
            else
                snprintf(rp->err, sizeof(rp->err), "request body is not valid JSON: %s "
                         "(line %d, column %d)", je.text, je.line, je.column);
            json_decref(rq.body);
            return;
        }
    }
    const char *kd = h->keep_disks;
    if (kd && strcmp(kd, "true") && strcmp(kd, "false")) {
        rp->status = 400;
        snprintf(rp->err, sizeof(rp->err), "keep_disks: '%.64s'; expected true or false", kd);
        json_decref(rq.body);
        return;
    }
    rq.keep_disks = kd && !strcmp(kd, "true");
    route->fn(d, &rq, rp);
    json_decref(rq.body);
}

void rest_dispatch(struct vesseld *d, const struct rest_http *h, struct rest_reply *rp,
                   char *allow, size_t alen)
{
    enum access_role role = ACCESS_ADMIN;
    char name[VMDEF_NAME_MAX + 1];
    memset(rp, 0, sizeof(*rp));
    rp->status = 500;
    if (h->peer) {
        pthread_mutex_lock(&d->lock);
        role = access_peer_role(d->access, h->peer, d->self_uid);
        pthread_mutex_unlock(&d->lock);
    }
    dispatch(d, h, role, rp, name, allow, alen);
    /* A created VM is named by its body, not the path: the answer has it. */
    const char *made = !name[0] && rp->json ?
                       json_string_value(json_object_get(rp->json, "name")) : NULL;
    if (made)
        snprintf(name, sizeof(name), "%s", made);
    if (h->peer && (rp->status == 403 || strcmp(h->method, "GET")))
        audit_log(d->audit, h->peer, role, h->method, h->path, name, rp->status);
}

static enum MHD_Result handle(struct vesseld *d, struct MHD_Connection *c, const char *url,
                              const char *method, struct rest_conn *rc)
{
    struct rest_reply rp;
    char allow[64];
    const union MHD_ConnectionInfo *si =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct rest_peer *peer = si ? si->socket_context : NULL;
    if (!peer)
        return MHD_NO;      /* no context: out of memory at connect; drop it */
    if (!peer->filled) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        access_peer_get(ci ? ci->connect_fd : -1, &peer->p);
        peer->filled = true;
    }
    /* A body past the bound was not kept: say so by its length alone. */
    struct rest_http h = {
        .method = method, .path = url, .body = rc->body, .conn = c, .peer = &peer->p,
        .len = rc->too_big ? VESSELD_MAX_BODY + 1u : rc->len,
        .keep_disks = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "keep_disks"),
    };
    rest_dispatch(d, &h, &rp, allow, sizeof(allow));
    return send_reply(c, &rp, allow[0] ? allow : NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)version;
    struct rest_conn *rc = *con_cls;
    if (!rc) {
        if (!(rc = calloc(1, sizeof(*rc))))
            return MHD_NO;
        *con_cls = rc;
        return MHD_YES;
    }
    if (*data_size) {
        if (!rc->too_big && *data_size <= VESSELD_MAX_BODY - rc->len) {
            char *nb = realloc(rc->body, rc->len + *data_size);
            if (!nb)
                return MHD_NO;
            memcpy(nb + rc->len, data, *data_size);
            rc->body = nb;
            rc->len += *data_size;
        } else {
            rc->too_big = true;     /* read on, answer 413 at the end */
            free(rc->body);
            rc->body = NULL;
            rc->len = 0;
        }
        *data_size = 0;
        return MHD_YES;
    }
    return handle(cls, c, url, method, rc);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls; (void)c; (void)toe;
    struct rest_conn *rc = *con_cls;
    if (rc) {
        free(rc->body);
        free(rc);
    }
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls; (void)c;
    struct rest_peer *peer = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(struct rest_peer));
    } else if (peer) {
        access_peer_free(&peer->p);
        free(peer);
        *socket_context = NULL;
    }
}

int rest_start(struct vesseld *d, char *err, size_t elen)
{
    const char *path = d->socket;
    int fd = unixsock_listen(path, "--socket", 0, 64, err, elen);
    if (fd < 0)
        return fd;
    /* Made 0600 by unixsock_listen, so nobody else could connect until
     * now; the group may then, and the access file says what each may do. */
    if (d->socket_shared && (chown(path, (uid_t)-1, (gid_t)d->socket_gid) ||
                             chmod(path, 0660))) {
        int e = errno;
        close(fd);
        unlink(path);
        return errbuf(err, elen, -e, "--socket %s: cannot give it group %u, mode 0660: %s",
                      path, d->socket_gid, strerror(e));
    }
    struct rest *r = calloc(1, sizeof(*r));
    if (!r) {
        close(fd);
        unlink(path);
        return errbuf(err, elen, -ENOMEM, "out of memory");
    }
    r->fd = fd;
    r->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                              MHD_ALLOW_UPGRADE, 0, NULL, NULL, on_request, d,
                              MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, d,
                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, d,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)REST_MAX_CONNECTIONS,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)REST_IDLE_S,
                              MHD_OPTION_END);
    if (!r->mhd) {
        close(fd);
        unlink(path);
        free(r);
        return errbuf(err, elen, -EIO, "--socket %s: cannot start the HTTP server", path);
    }
    d->rest = r;
    return 0;
}

void rest_stop(struct vesseld *d)
{
    struct rest *r = d->rest;
    if (!r)
        return;
    events_shutdown(d->events);     /* /events readers return */
    MHD_stop_daemon(r->mhd);
    close(r->fd);
    unlink(d->socket);
    free(r);
    d->rest = NULL;
}
