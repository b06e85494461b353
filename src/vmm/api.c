/* vmm: the control API's HTTP server (api.h) on libevent's evhttp +
 * jansson.
 *
 * Why evhttp and not libmicrohttpd (which the daemon's REST API uses):
 * this server is in every VM process, and the process's start is part of
 * a restore's latency.  libmicrohttpd brings GnuTLS and eight more shared
 * libraries that a plain unix socket never uses; on a host where page
 * faults are dear they cost some 4 ms of every start (docs/snapshot.md).
 * libevent is one library with no dependencies. */
#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "util/util.h"
#include "vmm/api.h"

/* A connection with answers queued.  evhttp's connection carries no
 * pointer of ours, so the server keeps a list (connections are few). */
struct api_conn {
    struct api_conn *next;
    struct api_server *s;
    struct evhttp_connection *evcon;
    unsigned pending;           /* answers queued, not yet written out */
};

/* Everything but start and stop runs on the server's own thread, the
 * event loop's: no lock is needed for the counters. */
struct api_server {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *stop_ev;      /* stop_fd readable: api_server_stop asks */
    struct event *grace_ev;     /* the 2 s a stop waits for answers */
    pthread_t thread;
    bool serving;               /* thread started (api_server_serve) */
    /* The connections with answers (their pending counts), so that
     * stopping lets an answer already queued reach its client; one that
     * closes first leaves the list (on_close). */
    struct api_conn *conns;
    bool stopping;
    int fd;
    int stop_fd;
    char *path;
    const struct api_route *routes;
    size_t nroutes;
    void *opaque;
};

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

/* The method's name as a client writes it (evhttp parses it into a bit). */
static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "?";
}

/* Answers queued and not yet written out, on any connection. */
static bool answers_queued(const struct api_server *s)
{
    for (const struct api_conn *c = s->conns; c; c = c->next)
        if (c->pending)
            return true;
    return false;
}

/* An answer was written or its connection went: end a stopping loop once
 * no answer is left. */
static void answered(struct api_server *s)
{
    if (s->stopping && !answers_queued(s))
        event_base_loopbreak(s->base);
}

static void on_sent(struct evhttp_request *req, void *arg)
{
    (void)req;
    struct api_conn *c = arg;
    c->pending--;
    answered(c->s);
}

/* evhttp frees a connection (closed by either side, failed, or at
 * evhttp_free): answers it had queued will never be written. */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct api_conn *c = arg;
    struct api_server *s = c->s;
    for (struct api_conn **pp = &s->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    free(c);
    answered(s);
}

/* The bookkeeping of the connection `req` came on (made at its first
 * answer), or NULL when out of memory (its answers are then not waited
 * for at stop). */
static struct api_conn *conn_of(struct api_server *s, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (!evcon)
        return NULL;
    for (struct api_conn *c = s->conns; c; c = c->next)
        if (c->evcon == evcon)
            return c;
    struct api_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->s = s;
    c->evcon = evcon;
    c->next = s->conns;
    s->conns = c;
    evhttp_connection_set_closecb(evcon, on_close, c);
    return c;
}

static void send_json(struct api_server *s, struct evhttp_request *req,
                      unsigned status, json_t *j, const char *allow)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (text) {
        evhttp_add_header(h, "Content-Type", "application/json");
        /* HEAD: the headers only (a body would be read as the next
         * answer on a kept-alive connection). */
        if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
            evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text));
        free(text);
    } else if (status != 204) {
        status = 500;               /* out of memory: no body to send */
    }
    if (allow)
        evhttp_add_header(h, "Allow", allow);
    struct api_conn *c = conn_of(s, req);
    if (c) {
        c->pending++;
        evhttp_request_set_on_complete_cb(req, on_sent, c);
    }
    evhttp_send_reply(req, (int)status, NULL, NULL);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct api_server *s = arg;
    /* The path without its query, percent-decoded (it may then hold any
     * byte: it is only compared and quoted).  One that decodes to a NUL
     * is taken as sent, so that "/vm%00x" is not "/vm". */
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *raw = u && evhttp_uri_get_path(u) ? evhttp_uri_get_path(u) : "";
    size_t plen = 0;
    char *path = evhttp_uridecode(raw, 0, &plen);
    if (path && strlen(path) != plen) {
        free(path);
        path = strdup(raw);
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    struct api_request rq = {
        .method = method_name(evhttp_request_get_command(req)),
        .path = path ? path : "",
        .body = len ? (const char *)evbuffer_pullup(in, -1) : NULL,
        .len = len,
    };
    struct api_reply rp;
    if (len && !rq.body) {
        rp.status = 500;
        rp.json = NULL;
        rp.allow[0] = 0;
    } else {
        api_dispatch(s->routes, s->nroutes, s->opaque, &rq, &rp);
    }
    free(path);
    send_json(s, req, (unsigned)rp.status, rp.json, *rp.allow ? rp.allow : NULL);
    json_decref(rp.json);
}

/* api_server_stop asked: take no new connection, and end the loop once
 * the answers already queued are written, or after 2 s (a client that
 * does not read its answer does not hold the exit up longer).  The
 * listener stays allocated (a retry timer may hold it) until evhttp_free
 * closes it. */
static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct api_server *s = arg;
    s->stopping = true;
    evconnlistener_disable(evhttp_bound_socket_get_listener(s->bound));
    if (!answers_queued(s)) {
        event_base_loopbreak(s->base);
        return;
    }
    struct timeval grace = { .tv_sec = 2 };
    evtimer_add(s->grace_ev, &grace);
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct api_server *s = arg;
    event_base_loopbreak(s->base);
}

/* accept failed for a reason that will not pass by itself (EMFILE,
 * ENFILE, ENOMEM): the listening socket stays readable, and the loop
 * would spin.  Stop accepting for 100 ms.  (The callback's argument is
 * evhttp's, not ours: the timer gets the listener itself, which lives
 * until evhttp_free, after the loop has ended.) */
static void on_accept_again(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    evconnlistener_enable(arg);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)arg;
    evconnlistener_disable(l);
    struct timeval pause = { .tv_usec = 100000 };
    event_base_once(evconnlistener_get_base(l), -1, EV_TIMEOUT, on_accept_again, l, &pause);
}

static void *serve(void *arg)
{
    struct api_server *s = arg;
    thread_block_sigpipe();     /* a client gone before its answer */
    event_base_dispatch(s->base);
    return NULL;
}

/* libevent's own warnings (it writes them to stderr, which may be the
 * guest's console, otherwise), through the process's log. */
static void on_libevent_log(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_WARN)
        vlog_warn("control API (libevent): %s", msg);
}

static void server_free(struct api_server *s)
{
    bool fd_is_evhttps = s->bound != NULL;     /* closed by evhttp_free */
    if (s->http)
        evhttp_free(s->http);           /* its connections too */
    if (!fd_is_evhttps && s->fd >= 0)
        close(s->fd);
    if (s->stop_ev)
        event_free(s->stop_ev);
    if (s->grace_ev)
        event_free(s->grace_ev);
    if (s->base)
        event_base_free(s->base);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    unlink(s->path);
    free(s->path);
    free(s);
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
    event_set_log_callback(on_libevent_log);
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->routes = routes;
    s->nroutes = nroutes;
    s->opaque = opaque;
    if (s->stop_fd < 0 || evutil_make_socket_nonblocking(fd) ||
        !(s->base = event_base_new()) || !(s->http = evhttp_new(s->base)) ||
        !(s->stop_ev = event_new(s->base, s->stop_fd, EV_READ, on_stop, s)) ||
        !(s->grace_ev = evtimer_new(s->base, on_grace, s)) ||
        event_add(s->stop_ev, NULL) ||
        !(s->bound = evhttp_accept_socket_with_handle(s->http, fd)))
        goto fail;
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(s->bound),
                                on_accept_error);
    /* Every method reaches api_dispatch, which names the accepted ones
     * in its 405.  Bodies are held whole up to 1 MiB: the dispatcher
     * refuses those over API_MAX_BODY with its own JSON 413; evhttp
     * answers anything larger (413, its own text) without buffering it. */
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                               EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                               EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                               EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(s->http, 1 << 20);
    evhttp_set_max_headers_size(s->http, 16 << 10);
    evhttp_set_timeout(s->http, 30);
    evhttp_set_default_content_type(s->http, "application/json");
    evhttp_set_gencb(s->http, on_request, s);
    *out = s;
    return 0;
fail:
    server_free(s);
    return errbuf(err, elen, -EIO, "--api-sock %s: cannot start the HTTP "
                  "server", path);
}

int api_server_serve(struct api_server *s)
{
    if (s->serving)
        return -EALREADY;
    int rc = pthread_create(&s->thread, NULL, serve, s);
    if (rc)
        return -rc;
    s->serving = true;
    return 0;
}

void api_server_stop(struct api_server *s)
{
    if (!s)
        return;
    if (s->serving) {
        uint64_t one = 1;
        ssize_t n = write(s->stop_fd, &one, sizeof(one));   /* cannot fail: one add */
        (void)n;
        pthread_join(s->thread, NULL);
    }
    server_free(s);
}
