/* vmm internal: the HTTP/1.1 + JSON server of a VM's control API
 * (docs/api.md), on a unix socket, on its own thread (libmicrohttpd's
 * internal polling thread), so that no request ever runs on a vCPU thread.
 *
 * The server knows routes, not VMs: the VMM gives it a table of {method,
 * path, handler} and an opaque pointer.  A handler receives the request's
 * JSON body (an object, or NULL when the body is empty), fills a JSON
 * response or an error message, and returns the HTTP status.  Bodies are
 * at most API_MAX_BODY bytes and must parse as a JSON object (duplicate
 * keys refused); anything else is refused before a handler runs, with
 * {"error": "..."} naming what is wrong, so a malformed request never
 * reaches the VM. */
#ifndef VESSEL_VMM_API_H
#define VESSEL_VMM_API_H

#include <stddef.h>

#include <jansson.h>

#define API_MAX_BODY (64u << 10)
#define API_ERR_LEN 512

/* A handler: `body` is borrowed (NULL: no body).  On success set *resp
 * (owned by the server afterwards; NULL: an empty 204 answer) and return a
 * 2xx status; on failure write the message into err (the field at fault
 * and what is accepted) and return a 4xx/5xx status.  Runs on the API
 * thread; must not block for long (pause waits at most for the vCPUs to
 * stop). */
typedef int (*api_handler_fn)(void *opaque, json_t *body, json_t **resp,
                              char *err, size_t elen);

struct api_route {
    const char *method;     /* "GET", "PUT", "PATCH" */
    const char *path;       /* exact path: "/vm" */
    api_handler_fn fn;
};

/* One request as it came in.  method and path are NUL-terminated; the
 * body is `len` bytes, not NUL-terminated, borrowed for the call. */
struct api_request {
    const char *method;     /* "GET", "PUT", ... as the client sent it */
    const char *path;       /* "/vm" */
    const char *body;       /* may be NULL when len is 0 or too big */
    size_t len;             /* more than API_MAX_BODY: refused (413) without
                               reading body (the server passes
                               API_MAX_BODY + 1 once it stopped keeping it) */
};

/* The answer to send. */
struct api_reply {
    int status;             /* HTTP status, 200..599 */
    json_t *json;           /* the body (owned by the caller: json_decref);
                               NULL: empty (204, or out of memory) */
    char allow[64];         /* the Allow header of a 405, else "" */
};

/* Everything the server does with a request between reading it and
 * writing the answer: route it (404 unknown path, 405 with Allow for
 * another method), refuse a body over API_MAX_BODY (413), that is not
 * JSON, has a duplicate key, or is not an object (400), then run the
 * route's handler and turn its result into a status and body ({"error":
 * ...} for a failure, a handler's out-of-range status becomes 500).  No
 * I/O of its own; runs on the caller's thread (the server's API thread,
 * or a test's), and it is the handlers that may touch the VM.  Never
 * fails: *out always holds an answer. */
void api_dispatch(const struct api_route *routes, size_t nroutes, void *opaque,
                  const struct api_request *rq, struct api_reply *out);

/* The VM's own routes (control.c) through api_dispatch, as the server of
 * vm_api_start serves them, without a socket: for tests and fuzzing.
 * Same threads and effects as a request on the socket. */
struct vm;
void vm_api_dispatch(struct vm *vm, const struct api_request *rq, struct api_reply *out);

struct api_server;

/* Listen on the unix socket `path` (created mode 0600; an existing file
 * is replaced only when it is a socket nobody listens on) for routes[0..
 * nroutes) with `opaque`; routes and opaque are borrowed until
 * api_server_stop.  Nothing is answered before api_server_serve: clients
 * connect (up to 16 waiting in the socket's backlog) and their requests
 * wait.  Returns 0, or -EADDRINUSE (a live server is there), -EEXIST (the
 * path is not a socket), -ENAMETOOLONG, other -errno; the message names
 * the path. */
int api_server_start(const char *path, const struct api_route *routes,
                     size_t nroutes, void *opaque, struct api_server **out,
                     char *err, size_t elen);

/* Start answering, on the server's own thread.  Returns 0, -EALREADY, or
 * -errno from pthread_create. */
int api_server_serve(struct api_server *s);

/* Stop serving (waits for answers already queued to be written, at most
 * 2 s), remove the socket file and free the server.  NULL is a no-op. */
void api_server_stop(struct api_server *s);

#endif
