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

struct api_server;

/* Listen on the unix socket `path` (created mode 0600; an existing file
 * is replaced only when it is a socket nobody listens on) and serve
 * routes[0..nroutes) with `opaque`; routes and opaque are borrowed until
 * api_server_stop.  Returns 0, or -EADDRINUSE (a live server is there),
 * -EEXIST (the path is not a socket), -ENAMETOOLONG, other -errno; the
 * message names the path. */
int api_server_start(const char *path, const struct api_route *routes,
                     size_t nroutes, void *opaque, struct api_server **out,
                     char *err, size_t elen);

/* Stop serving (waits for a request in progress), remove the socket file
 * and free the server.  NULL is a no-op. */
void api_server_stop(struct api_server *s);

#endif
