/* Unit tests for the control API's HTTP server (src/vmm/api.c): routing,
 * JSON bodies, the errors a malformed request gets before any handler
 * runs, and the unix socket's rules (mode 0600, stale socket replaced,
 * live one refused). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/api.h"

struct fake_vm {
    const char *state;
    int calls;
};

static int get_vm(void *opaque, json_t *body, json_t **resp, char *err, size_t elen)
{
    struct fake_vm *v = opaque;
    (void)body; (void)err; (void)elen;
    v->calls++;
    *resp = json_pack("{s:s}", "state", v->state);
    return 200;
}

static int patch_vm(void *opaque, json_t *body, json_t **resp, char *err, size_t elen)
{
    struct fake_vm *v = opaque;
    (void)resp;
    v->calls++;
    const char *st = body ? json_string_value(json_object_get(body, "state")) : NULL;
    if (!st || (strcmp(st, "paused") && strcmp(st, "running"))) {
        snprintf(err, elen, "field \"state\": expected \"paused\" or \"running\"");
        return 400;
    }
    v->state = !strcmp(st, "paused") ? "paused" : "running";
    return 204;
}

static const struct api_route routes[] = {
    { "GET", "/vm", get_vm },
    { "PATCH", "/vm", patch_vm },
};

struct fx {
    char dir[64], sock[96];
    struct fake_vm vm;
    struct api_server *srv;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    strcpy(x->dir, "/tmp/vessel-api-XXXXXX");
    if (!mkdtemp(x->dir))
        return -1;
    snprintf(x->sock, sizeof(x->sock), "%s/api.sock", x->dir);
    x->vm.state = "running";
    char err[API_ERR_LEN];
    if (api_server_start(x->sock, routes, 2, &x->vm, &x->srv, err, sizeof(err)) ||
        api_server_serve(x->srv))
        return -1;
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    api_server_stop(x->srv);
    unlink(x->sock);
    rmdir(x->dir);
    free(x);
    return 0;
}

/* A fresh connection to `sock` with `req` (len bytes) written on it. */
static int send_request(const char *sock, const char *req, size_t len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, sock);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, req, len), (ssize_t)len);
    return fd;
}

/* Everything the server sends on fd until it closes, NUL-terminated
 * (cap bytes of room); closes fd. */
static void read_all(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, buf + got, cap - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    buf[got] = 0;
}

/* One request on a fresh connection; returns the status, body in out. */
static int http(const char *sock, const char *method, const char *path,
                const char *body, char *out, size_t outlen)
{
    char req[API_MAX_BODY * 2 + 512];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n"
                     "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, body ? strlen(body) : 0, body ? body : "");
    char resp[8192];
    read_all(send_request(sock, req, (size_t)n), resp, sizeof(resp));
    int status = 0;
    sscanf(resp, "HTTP/1.1 %d", &status);
    const char *b = strstr(resp, "\r\n\r\n");
    snprintf(out, outlen, "%s", b ? b + 4 : "");
    return status;
}

static void test_routes(void **state)
{
    struct fx *x = *state;
    char out[4096];
    assert_int_equal(http(x->sock, "GET", "/vm", NULL, out, sizeof(out)), 200);
    assert_string_equal(out, "{\"state\":\"running\"}");
    assert_int_equal(http(x->sock, "PATCH", "/vm", "{\"state\":\"paused\"}", out,
                          sizeof(out)), 204);
    assert_string_equal(x->vm.state, "paused");
    assert_int_equal(http(x->sock, "GET", "/vm", NULL, out, sizeof(out)), 200);
    assert_string_equal(out, "{\"state\":\"paused\"}");
}

/* Malformed requests are answered by the server and never reach a
 * handler; a handler's own refusal names the field. */
static void test_errors(void **state)
{
    struct fx *x = *state;
    char out[4096];
    int calls = x->vm.calls;
    assert_int_equal(http(x->sock, "GET", "/nope", NULL, out, sizeof(out)), 404);
    assert_non_null(strstr(out, "/nope"));
    assert_int_equal(http(x->sock, "DELETE", "/vm", NULL, out, sizeof(out)), 405);
    assert_non_null(strstr(out, "GET, PATCH"));
    assert_int_equal(http(x->sock, "PATCH", "/vm", "{\"state\":", out, sizeof(out)), 400);
    assert_non_null(strstr(out, "not valid JSON"));
    assert_int_equal(http(x->sock, "PATCH", "/vm", "[1,2]", out, sizeof(out)), 400);
    assert_non_null(strstr(out, "JSON object"));
    assert_int_equal(http(x->sock, "PATCH", "/vm", "{\"state\":\"paused\",\"state\":\"running\"}",
                          out, sizeof(out)), 400);
    char *big = malloc(API_MAX_BODY + 100);
    memset(big, ' ', API_MAX_BODY + 99);
    big[0] = '{';
    big[API_MAX_BODY + 98] = '}';
    big[API_MAX_BODY + 99] = 0;
    assert_int_equal(http(x->sock, "PATCH", "/vm", big, out, sizeof(out)), 413);
    free(big);
    assert_int_equal(x->vm.calls, calls);             /* no handler ran */
    assert_string_equal(x->vm.state, "running");
    assert_int_equal(http(x->sock, "PATCH", "/vm", "{\"state\":\"sleeping\"}", out,
                          sizeof(out)), 400);
    assert_non_null(strstr(out, "expected \\\"paused\\\""));
    assert_string_equal(x->vm.state, "running");
}

/* A handler whose refusal is longer than API_ERR_LEN in two-byte
 * characters, so that its truncation cuts one in half. */
static int long_refusal(void *opaque, json_t *body, json_t **resp, char *err,
                        size_t elen)
{
    (void)opaque; (void)body; (void)resp;
    size_t i = 0;
    err[i++] = 'x';     /* odd offset: the cut falls inside a character */
    while (i + 4 < elen) {
        err[i++] = (char)0xc3;
        err[i++] = (char)0xa9;      /* U+00E9 */
    }
    err[i++] = (char)0xc3;          /* the first half of one more */
    err[i] = 0;
    return 400;
}

/* The error text is JSON, hence UTF-8, whatever bytes the client sent
 * in its method or path (MHD percent-decodes the path) or a handler's
 * truncated message holds: every refusal keeps its {"error": ...} body
 * (it used to be sent empty). */
static void test_error_text_not_utf8(void **state)
{
    struct fx *x = *state;
    char out[4096];
    assert_int_equal(http(x->sock, "GET", "/%FF%FEa", NULL, out, sizeof(out)), 404);
    assert_non_null(strstr(out, "\"error\":\"/??a: no such resource"));

    static const struct api_route lr[] = {
        { "GET", "/vm", get_vm },
        { "PUT", "/long", long_refusal },
    };
    struct fake_vm vm = { .state = "running" };
    struct api_request rq = { .method = "G\xc3\x28T", .path = "/vm" };
    struct api_reply rp;
    api_dispatch(lr, 2, &vm, &rq, &rp);
    assert_int_equal(rp.status, 405);
    assert_string_equal(rp.allow, "GET");
    const char *e = json_string_value(json_object_get(rp.json, "error"));
    assert_non_null(e);
    assert_non_null(strstr(e, "G?(T /vm: method not allowed"));
    json_decref(rp.json);

    rq = (struct api_request){ .method = "GET", .path = "/\xed\xa0\x80\xf4\x90\x80\x80/\xe2\x82\xac" };
    api_dispatch(lr, 2, &vm, &rq, &rp);
    assert_int_equal(rp.status, 404);
    e = json_string_value(json_object_get(rp.json, "error"));
    assert_non_null(e);     /* surrogate and > U+10FFFF refused, the euro sign kept */
    assert_string_equal(e, "/???????" "/\xe2\x82\xac: no such resource");
    assert_string_equal(rp.allow, "");
    json_decref(rp.json);

    rq = (struct api_request){ .method = "PUT", .path = "/long" };
    api_dispatch(lr, 2, &vm, &rq, &rp);
    assert_int_equal(rp.status, 400);
    e = json_string_value(json_object_get(rp.json, "error"));
    assert_non_null(e);
    assert_int_equal(e[0], 'x');
    assert_int_equal(e[strlen(e) - 1], '?');
    json_decref(rp.json);
    assert_int_equal(vm.calls, 0);
}

static void test_socket_rules(void **state)
{
    struct fx *x = *state;
    struct stat st;
    assert_int_equal(stat(x->sock, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* A second server on a live socket is refused... */
    struct api_server *s2;
    char err[API_ERR_LEN];
    assert_int_equal(api_server_start(x->sock, routes, 2, &x->vm, &s2, err,
                                      sizeof(err)), -EADDRINUSE);
    /* ...a stale one (its server gone, the file left) is replaced... */
    char stale[128];
    snprintf(stale, sizeof(stale), "%s/stale.sock", x->dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, stale);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    assert_int_equal(api_server_start(stale, routes, 2, &x->vm, &s2, err,
                                      sizeof(err)), 0);
    assert_int_equal(api_server_serve(s2), 0);
    assert_int_equal(api_server_serve(s2), -EALREADY);
    char out[256];
    assert_int_equal(http(stale, "GET", "/vm", NULL, out, sizeof(out)), 200);
    api_server_stop(s2);
    assert_int_equal(access(stale, F_OK), -1);        /* removed on stop */
    /* ...and a regular file is never replaced. */
    FILE *f = fopen(stale, "w");
    fclose(f);
    assert_int_equal(api_server_start(stale, routes, 2, &x->vm, &s2, err,
                                      sizeof(err)), -EEXIST);
    assert_non_null(strstr(err, "not a socket"));
    unlink(stale);
}

/* Between start and serve the socket takes connections and requests,
 * and answers none; serve answers those waiting.  A server never served
 * stops cleanly and removes its socket. */
static void test_serve_later(void **state)
{
    struct fx *x = *state;
    char path[128], err[API_ERR_LEN];
    snprintf(path, sizeof(path), "%s/later.sock", x->dir);
    struct api_server *s;
    assert_int_equal(api_server_start(path, routes, 2, &x->vm, &s, err, sizeof(err)), 0);
    static const char req[] = "GET /vm HTTP/1.1\r\nHost: localhost\r\n"
                              "Connection: close\r\n\r\n";
    int fd = send_request(path, req, sizeof(req) - 1);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 0), 0);        /* no thread: no answer yet */
    assert_int_equal(api_server_serve(s), 0);
    char resp[1024];
    read_all(fd, resp, sizeof(resp));
    assert_non_null(strstr(resp, "HTTP/1.1 200"));
    assert_non_null(strstr(resp, "{\"state\":\"running\"}"));
    api_server_stop(s);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(api_server_start(path, routes, 2, &x->vm, &s, err, sizeof(err)), 0);
    api_server_stop(s);                         /* never served */
    assert_int_equal(access(path, F_OK), -1);
}

/* HEAD gets the headers alone: a body would be read as the next answer
 * on a kept-alive connection.  A path that decodes to a NUL is not cut
 * there. */
static void test_head_and_nul_path(void **state)
{
    struct fx *x = *state;
    char out[4096];
    assert_int_equal(http(x->sock, "HEAD", "/vm", NULL, out, sizeof(out)), 405);
    assert_string_equal(out, "");
    assert_int_equal(http(x->sock, "GET", "/vm%00x", NULL, out, sizeof(out)), 404);
    assert_non_null(strstr(out, "/vm%00x"));
}

/* A client that goes before its answer is written leaves nothing for
 * the stop to wait for: it returns at once, not after the 2 s grace
 * that a client not reading its answer gets. */
static void test_client_gone_before_answer(void **state)
{
    struct fx *x = *state;
    char path[128], err[API_ERR_LEN], out[256];
    snprintf(path, sizeof(path), "%s/gone.sock", x->dir);
    struct api_server *s;
    assert_int_equal(api_server_start(path, routes, 2, &x->vm, &s, err, sizeof(err)), 0);
    static const char req[] = "GET /vm HTTP/1.1\r\nHost: localhost\r\n\r\n";
    close(send_request(path, req, sizeof(req) - 1));
    assert_int_equal(api_server_serve(s), 0);
    /* Answered after the first was taken in (the backlog is in order). */
    assert_int_equal(http(path, "GET", "/vm", NULL, out, sizeof(out)), 200);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    api_server_stop(s);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    assert_true(secs < 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_text_not_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_and_nul_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_before_answer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
