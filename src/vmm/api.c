/* vmm: the control API's HTTP server (api.h) on libmicrohttpd + jansson. */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "util/util.h"
#include "vmm/api.h"

struct api_server {
    struct MHD_Daemon *mhd;
    /* Requests begun and not yet completed (their response sent), so that
     * stopping lets an answer already queued reach its client. */
    pthread_mutex_t lock;
    pthread_cond_t idle;
    unsigned active;
    int fd;
    char *path;
    const struct api_route *routes;
    size_t nroutes;
    void *opaque;
};

/* Per-request state: the body read so far. */
struct api_conn {
    char *body;
    size_t len;
    bool too_big;
};

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status,
                                 json_t *j, const char *allow)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    size_t len = text ? strlen(text) : 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, text ? text : (char *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    if (text)
        MHD_add_response_header(r, "Content-Type", "application/json");
    if (allow)
        MHD_add_response_header(r, "Allow", allow);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, at most U+10FFFF), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* Fill *out with status and an {"error": msg} body.  The message may
 * quote the client's method or path, which can hold any bytes, and JSON
 * strings must be UTF-8 (jansson refuses anything else, which would leave
 * the answer without its error): bytes that are not become '?'. */
static void reply_error(struct api_reply *out, int status, const char *msg)
{
    char clean[API_ERR_LEN];
    size_t i = 0;
    const unsigned char *p = (const unsigned char *)msg;
    while (*p && i + 1 < sizeof(clean)) {
        size_t n = utf8_seq(p);
        if (!n || i + n >= sizeof(clean)) {
            clean[i++] = '?';
            p++;
            continue;
        }
        memcpy(clean + i, p, n);
        i += n;
        p += n;
    }
    clean[i] = 0;
    out->status = status;
    out->json = json_pack("{s:s}", "error", clean);
}

void api_dispatch(const struct api_route *routes, size_t nroutes, void *opaque,
                  const struct api_request *rq, struct api_reply *out)
{
    const struct api_route *route = NULL;
    out->status = 500;
    out->json = NULL;
    out->allow[0] = 0;
    for (size_t i = 0; i < nroutes; i++) {
        if (strcmp(routes[i].path, rq->path))
            continue;
        if (!strcmp(routes[i].method, rq->method))
            route = &routes[i];
        else if (strlen(out->allow) + strlen(routes[i].method) + 3 < sizeof(out->allow))
            snprintf(out->allow + strlen(out->allow), sizeof(out->allow) -
                     strlen(out->allow), "%s%s", *out->allow ? ", " : "",
                     routes[i].method);
    }
    char msg[API_ERR_LEN];
    if (!route && *out->allow) {
        snprintf(msg, sizeof(msg), "%s %s: method not allowed; accepted: %s",
                 rq->method, rq->path, out->allow);
        return reply_error(out, 405, msg);
    }
    out->allow[0] = 0;
    if (!route) {
        snprintf(msg, sizeof(msg), "%s: no such resource", rq->path);
        return reply_error(out, 404, msg);
    }
    if (rq->len > API_MAX_BODY) {
        snprintf(msg, sizeof(msg), "request body larger than %u bytes",
                 API_MAX_BODY);
        return reply_error(out, 413, msg);
    }
    json_t *body = NULL;
    if (rq->len) {
        json_error_t je;
        body = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &je);
        if (!body) {
            snprintf(msg, sizeof(msg), "request body is not valid JSON: %s "
                     "(line %d, column %d)", je.text, je.line, je.column);
            return reply_error(out, 400, msg);
        }
        if (!json_is_object(body)) {
            json_decref(body);
            return reply_error(out, 400, "request body must be a JSON object");
        }
    }
    json_t *resp = NULL;
    msg[0] = 0;
    int status = route->fn(opaque, body, &resp, msg, sizeof(msg));
    json_decref(body);
    if (status >= 200 && status < 300) {
        out->status = resp ? status : 204;
        out->json = resp;
        return;
    }
    json_decref(resp);
    reply_error(out, status >= 400 && status < 600 ? status : 500,
                *msg ? msg : "internal error");
}

static enum MHD_Result handle(struct api_server *s, struct MHD_Connection *c,
                              const char *url, const char *method,
                              struct api_conn *ac)
{
    /* A body past the bound was not kept: say so by its length alone. */
    struct api_request rq = { .method = method, .path = url, .body = ac->body,
                              .len = ac->too_big ? API_MAX_BODY + 1u : ac->len };
    struct api_reply rp;
    api_dispatch(s->routes, s->nroutes, s->opaque, &rq, &rp);
    enum MHD_Result ok = send_json(c, (unsigned)rp.status, rp.json,
                                   *rp.allow ? rp.allow : NULL);
    json_decref(rp.json);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)version;
    struct api_server *s = cls;
    struct api_conn *ac = *con_cls;
    if (!ac) {
        ac = calloc(1, sizeof(*ac));
        if (!ac)
            return MHD_NO;
        *con_cls = ac;
        pthread_mutex_lock(&s->lock);
        s->active++;
        pthread_mutex_unlock(&s->lock);
        return MHD_YES;
    }
    if (*data_size) {
        if (!ac->too_big && *data_size <= API_MAX_BODY - ac->len) {
            char *nb = realloc(ac->body, ac->len + *data_size);
            if (!nb)
                return MHD_NO;
            memcpy(nb + ac->len, data, *data_size);
            ac->body = nb;
            ac->len += *data_size;
        } else {
            ac->too_big = true;   /* keep reading, answer 413 at the end */
        }
        *data_size = 0;
        return MHD_YES;
    }
    return handle(s, c, url, method, ac);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c; (void)toe;
    struct api_server *s = cls;
    struct api_conn *ac = *con_cls;
    if (ac) {
        free(ac->body);
        free(ac);
        pthread_mutex_lock(&s->lock);
        if (!--s->active)
            pthread_cond_broadcast(&s->idle);
        pthread_mutex_unlock(&s->lock);
    }
    *con_cls = NULL;
}

int api_server_start(const char *path, const struct api_route *routes,
                     size_t nroutes, void *opaque, struct api_server **out,
                     char *err, size_t elen)
{
    *out = NULL;
    int fd = unixsock_listen(path, "--api-sock", 0, 16, err, elen);
    if (fd < 0)
        return fd;
    struct api_server *s = calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(path))) {
        free(s);
        close(fd);
        unlink(path);
        return errbuf(err, elen, -ENOMEM, "out of memory");
    }
    s->fd = fd;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->idle, &ca);
    pthread_condattr_destroy(&ca);
    s->routes = routes;
    s->nroutes = nroutes;
    s->opaque = opaque;
    s->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                              on_request, s,
                              MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                              MHD_OPTION_CONNECTION_LIMIT, 32u,
                              MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                              MHD_OPTION_END);
    if (!s->mhd) {
        close(fd);
        unlink(path);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->idle);
        free(s->path);
        free(s);
        return errbuf(err, elen, -EIO, "--api-sock %s: cannot start the HTTP "
                    "server", path);
    }
    *out = s;
    return 0;
}

void api_server_stop(struct api_server *s)
{
    if (!s)
        return;
    /* A request that stopped the VM (poweroff) is answered before the
     * server goes: wait for requests in progress, at most 2 s (a client
     * that does not read its answer does not hold the exit up longer). */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&s->lock);
    while (s->active && pthread_cond_timedwait(&s->idle, &s->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&s->lock);
    MHD_stop_daemon(s->mhd);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->idle);
    close(s->fd);
    unlink(s->path);
    free(s->path);
    free(s);
}
