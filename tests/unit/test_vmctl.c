/* Unit tests for the daemon client side of `vessel` (src/cli/vmctl*.c,
 * compiled in here: the CLI is not part of libvessel): `vessel create`
 * options -> vm.json, human units and tables, terminal-safe strings, the
 * HTTP response parser (framings, every split of the input, hostile
 * answers), the /metrics reader of `vessel top`, and the socket calls'
 * timeouts and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/term.c"
#include "cli/vmctl.c"
#include "cli/vmctl_create.c"
#include "cli/vmctl_http.c"
#include "cli/vmctl_stream.c"
#include "cli/vmctl_table.c"
#include "cli/vmctl_top.c"

/* ---- create ---- */

static int create(char *err, size_t elen, json_t **out, ...)
{
    char *argv[64];
    int argc = 0;
    va_list ap;
    va_start(ap, out);
    argv[argc++] = "create";
    for (char *a; (a = va_arg(ap, char *));)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    return vmctl_create_json(argc, argv, "/home/u/vms", NULL, out, err, elen);
}

static void test_create_full(void **state)
{
    char err[512];
    json_t *j = NULL;
    assert_int_equal(create(err, sizeof(err), &j, "web", "--memory", "1G", "--cpus", "2",
                            "--kernel", "Image", "--initrd", "/boot/initrd.img", "--append",
                            "console=ttyS0 root=/dev/vda", "--firmware", "fw.bin",
                            "--disk", "root.qcow2,format=qcow2,cache=none,backing-dir=base,"
                            "backing-dir=/srv/images",
                            "--disk", "/srv/a,,b.img,readonly=on",
                            "--net", "user,hostfwd=tcp::2222-:22,mac=52:54:00:12:34:56",
                            "--net", "user", "--autostart", "--restart", "on-failure", NULL), 0);
    const char *want = "{\"version\": 1, \"memory\": 1073741824, \"vcpus\": 2, "
        "\"autostart\": true, \"restart\": \"on-failure\", \"name\": \"web\", \"boot\": "
        "{\"kernel\": \"/home/u/vms/Image\", \"initrd\": \"/boot/initrd.img\", \"append\": "
        "\"console=ttyS0 root=/dev/vda\", \"firmware\": \"/home/u/vms/fw.bin\"}, \"disks\": "
        "[{\"path\": \"/home/u/vms/root.qcow2\", \"format\": \"qcow2\", \"cache\": \"none\", "
        "\"backing_dirs\": [\"/home/u/vms/base\", \"/srv/images\"]}, "
        "{\"path\": \"/srv/a,b.img\", \"readonly\": true}], \"nics\": [{\"backend\": \"user\", "
        "\"mac\": \"52:54:00:12:34:56\", \"hostfwd\": [\"tcp::2222-:22\"]}, "
        "{\"backend\": \"user\"}]}";
    json_t *w = json_loads(want, 0, NULL);
    assert_non_null(w);
    assert_true(json_equal(j, w));
    assert_null(json_object_get(j, "uuid"));    /* the daemon generates it */
    json_decref(w);
    json_decref(j);
}

static void test_create_minimal_and_memory(void **state)
{
    char err[512];
    json_t *j = NULL;
    /* Name after the options; a plain --memory number is MiB, as vessel run. */
    assert_int_equal(create(err, sizeof(err), &j, "--bios", "t.elf", "-m", "256", "--uuid",
                            "0a1b2c3d-0000-4000-8000-00000000000f", "vm.1", NULL), 0);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "vm.1");
    assert_int_equal(json_integer_value(json_object_get(j, "memory")), 256 << 20);
    assert_string_equal(json_string_value(json_object_get(j, "uuid")),
                        "0a1b2c3d-0000-4000-8000-00000000000f");
    assert_null(json_object_get(j, "disks"));
    json_decref(j);

    uint64_t v;
    assert_int_equal(vmctl_parse_memory("512", &v), 0);
    assert_int_equal(v, 512ULL << 20);
    assert_int_equal(vmctl_parse_memory("4K", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(vmctl_parse_memory("2G", &v), 0);
    assert_int_equal(v, 2ULL << 30);
    assert_int_equal(vmctl_parse_memory("", &v), -EINVAL);
    assert_int_equal(vmctl_parse_memory("1X", &v), -EINVAL);
    assert_int_equal(vmctl_parse_memory("-1", &v), -EINVAL);
    assert_int_equal(vmctl_parse_memory("99999999999999999999", &v), -EINVAL);
}

/* Every bad option is refused, nothing produced, and the message names it. */
static void test_create_bad(void **state)
{
    static const struct { const char *args[6]; const char *says; } cases[] = {
        { { "web", "--bios", "b", "--memory", "lots" }, "--memory 'lots'" },
        { { "web", "--bios", "b", "--memory", "3K" }, "memory" },       /* vmdef: 4 KiB steps */
        { { "web", "--bios", "b", "--cpus", "0" }, "--cpus '0'" },
        { { "web", "--bios", "b", "--cpus", "17" }, "--cpus '17'" },
        { { "web", "--bios", "b", "--disk", "d,format=qed" }, "disks[0].format" },
        { { "web", "--bios", "b", "--disk", "d,readonly=maybe" }, "readonly='maybe'" },
        { { "web", "--bios", "b", "--disk", "d,readonly" }, "'readonly' has no value" },
        { { "web", "--bios", "b", "--disk", "d,backing-dir=" }, "backing-dir: empty" },
        { { "web", "--bios", "b", "--disk", "d,speed=9" }, "unknown option 'speed'" },
        { { "web", "--bios", "b", "--disk", ",format=raw" }, "--disk: empty file name" },
        { { "web", "--bios", "b", "--net", "user,vlan=3" }, "unknown option 'vlan'" },
        { { "web", "--bios", "b", "--net", "tap" }, "nics[0].backend" },
        { { "web", "--bios", "b", "--net", "user,mac=zz" }, "nics[0].mac" },
        { { "web", "--bios", "b", "--restart", "sometimes" }, "restart" },
        { { "web", "--bios", "b", "--uuid", "nope" }, "uuid" },
        { { "web", "--bios", "b", "--kernel", "k" }, "exactly one of --kernel" },
        { { "web" }, "exactly one of --kernel" },
        { { "--bios", "b" }, "no VM name" },
        { { "a", "b", "--bios", "b" }, "expected one VM name" },
        { { "../etc", "--bios", "b" }, "VM name '../etc'" },
        { { "-x", "--bios", "b" }, "unknown option '-x'" },
        { { "web", "--bios" }, "--bios needs a value" },
        { { "web", "--frobnicate", "--bios", "b" }, "unknown option '--frobnicate'" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *argv[8] = { "create" };
        int argc = 1;
        for (int k = 0; k < 6 && cases[i].args[k]; k++)
            argv[argc++] = (char *)cases[i].args[k];
        char err[512] = "";
        json_t *j = (json_t *)1;
        int rc = vmctl_create_json(argc, argv, "/w", NULL, &j, err, sizeof(err));
        if (rc != -EINVAL || j || !strstr(err, cases[i].says))
            fail_msg("case %zu: rc %d, err '%s', expected '%s'", i, rc, err, cases[i].says);
    }
}

/* --socket and --json may come among create's options. */
static void test_create_global_opts(void **state)
{
    char err[256];
    json_t *j;
    struct vmctl_opts o = { .sock = "/default" };
    char *argv[] = { "create", "w", "--socket", "/s", "--bios", "b", "--json", NULL };
    assert_int_equal(vmctl_create_json(7, argv, "/", &o, &j, err, sizeof(err)), 0);
    assert_string_equal(o.sock, "/s");
    assert_true(o.json);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "boot"), "bios")),
                        "/b");
    json_decref(j);
}

/* ---- output ---- */

static void test_units(void **state)
{
    char b[32];
    assert_string_equal(vmctl_fmt_size(0, b, sizeof(b)), "0B");
    assert_string_equal(vmctl_fmt_size(1023, b, sizeof(b)), "1023B");
    assert_string_equal(vmctl_fmt_size(4096, b, sizeof(b)), "4K");
    assert_string_equal(vmctl_fmt_size(512ULL << 20, b, sizeof(b)), "512M");
    assert_string_equal(vmctl_fmt_size(3ULL << 29, b, sizeof(b)), "1.5G");
    assert_string_equal(vmctl_fmt_size(1ULL << 40, b, sizeof(b)), "1T");
    assert_string_equal(vmctl_fmt_size(UINT64_MAX, b, sizeof(b)), "16.0E");
    assert_string_equal(vmctl_fmt_uptime(0, b, sizeof(b)), "0s");
    assert_string_equal(vmctl_fmt_uptime(59, b, sizeof(b)), "59s");
    assert_string_equal(vmctl_fmt_uptime(192, b, sizeof(b)), "3m12s");
    assert_string_equal(vmctl_fmt_uptime(2 * 3600 + 5 * 60 + 9, b, sizeof(b)), "2h05m");
    assert_string_equal(vmctl_fmt_uptime(3 * 86400 + 4 * 3600, b, sizeof(b)), "3d04h");
    assert_string_equal(vmctl_safe("a\033[2Jb\r\n\x7f\xc2\x9b" "c\xc3\xa9", b, sizeof(b)),
                        "a?[2Jb????c\xc3\xa9");
    assert_string_equal(vmctl_safe("abcdef", b, 4), "abc");
}

static void test_table(void **state)
{
    struct vmctl_table t;
    vmctl_table_init(&t, 3);
    vmctl_table_row(&t, (const char *const[]){ "NAME", "STATE", "IP" });
    vmctl_table_row(&t, (const char *const[]){ "a-long-name", "running", "10.0.2.15" });
    vmctl_table_row(&t, (const char *const[]){ "b", NULL, "evil\033]0;x" });
    char *s = vmctl_table_format(&t);
    assert_string_equal(s, "NAME         STATE    IP\n"
                           "a-long-name  running  10.0.2.15\n"
                           "b            -        evil?]0;x\n");
    free(s);
    vmctl_table_free(&t);
}

static void test_list_format(void **state)
{
    char err[128];
    json_t *j = json_loads("{\"vms\":[{\"name\":\"db\",\"uuid\":\"u\",\"state\":\"running\","
        "\"vcpus\":2,\"memory\":2147483648,\"uptime\":3725,\"pid\":9,\"ip\":\"10.0.2.15\"},"
        "{\"name\":\"old\",\"state\":\"broken\",\"vcpus\":1,\"memory\":536870912,"
        "\"uptime\":null,\"pid\":null,\"ip\":null,\"error\":\"vm.json: vcpus: 99\"},"
        "{\"name\":\"x\",\"state\":\"stopped\",\"vcpus\":\"two\",\"memory\":-5}]}", 0, NULL);
    char *s = vmctl_list_format(j, err, sizeof(err));
    assert_string_equal(s, "NAME  STATE    VCPUS  MEMORY  UPTIME  IP\n"
                           "db    running  2      2G      1h02m   10.0.2.15\n"
                           "old   broken   1      512M    -       error: vm.json: vcpus: 99\n"
                           "x     stopped  -      -       -       -\n");
    free(s);
    json_decref(j);
    j = json_loads("[1,2]", 0, NULL);
    assert_null(vmctl_list_format(j, err, sizeof(err)));
    assert_non_null(strstr(err, "\"vms\""));
    json_decref(j);
}

static void test_info_format(void **state)
{
    json_t *j = json_loads("{\"name\":\"w\",\"uuid\":\"u\",\"state\":\"stopped\",\"vcpus\":1,"
        "\"memory\":4096,\"uptime\":null,\"pid\":null,\"ip\":null,\"restarts\":2,"
        "\"sandbox\":false,\"instructions\":null,\"config\":{\"boot\":{\"bios\":\"/t.elf\"},"
        "\"disks\":[{\"path\":\"/d\",\"readonly\":true}],\"nics\":[{\"backend\":\"user\","
        "\"hostfwd\":[\"tcp::1-:2\"]}],\"autostart\":true,\"restart\":\"always\"}}", 0, NULL);
    char *s = vmctl_info_format(j);
    assert_non_null(strstr(s, "state:        stopped\n"));
    assert_non_null(strstr(s, "memory:       4K\n"));
    assert_non_null(strstr(s, "uptime:       -\n"));
    assert_non_null(strstr(s, "restarts:     2\n"));
    assert_non_null(strstr(s, "sandbox:      no (started with --no-sandbox)\n"));
    assert_non_null(strstr(s, "autostart:    yes\n"));
    assert_non_null(strstr(s, "bios:         /t.elf\n"));
    assert_non_null(strstr(s, "disk[0]:      /d readonly\n"));
    assert_non_null(strstr(s, "nic[0]:       user hostfwd=tcp::1-:2\n"));
    assert_null(strstr(s, "error:"));
    free(s);
    json_decref(j);
}

/* ---- HTTP parser ---- */

/* Feed `in` in pieces of `step` bytes; returns the final result. */
static int feed(struct vmctl_parser *p, const char *in, size_t n, size_t step, size_t *consumed)
{
    int rc = 0;
    size_t at = 0;
    while (at < n && !rc) {
        size_t k = MIN(step, n - at), used = 0;
        rc = vmctl_parse_feed(p, in + at, k, &used);
        at += used;
        if (!rc)
            assert_int_equal(used, k);
    }
    if (consumed)
        *consumed = at;
    return rc;
}

static void expect_body(const char *in, int status, const char *body)
{
    size_t n = strlen(in);
    for (size_t step = 1; step <= n; step++) {
        struct vmctl_parser p = { 0 };
        int rc = feed(&p, in, n, step, NULL);
        if (rc == 0)
            rc = vmctl_parse_eof(&p);
        if (rc != 1 || p.status != status || strcmp(p.body ? p.body : "", body))
            fail_msg("%.40s: step %zu: rc %d status %d body '%s' (%s)", in, step, rc, p.status,
                     p.body ? p.body : "", p.err);
        vmctl_parse_free(&p);
    }
}

static void test_parse_framings(void **state)
{
    expect_body("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
                "\r\n{\"vms\":[]}\n", 200, "{\"vms\":[]}\n");
    expect_body("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                "4;ext=1\r\nabcd\r\n1\r\ne\r\n0\r\nX-Trailer: 1\r\n\r\n", 200, "abcde");
    expect_body("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", 200, "abc");
    /* Sizes are hex, either case. */
    expect_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n"
                "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", 200,
                "0123456789abcdefghijklmnopqrstuvwxyz");
    expect_body("HTTP/1.0 200 OK\r\n\r\nuntil the end", 200, "until the end");
    expect_body("HTTP/1.1 204 No Content\r\n\r\n", 204, "");
    expect_body("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n"
                "\r\n{}", 409, "{}");
    /* Chunked wins over Content-Length (RFC 9112 6.3). */
    expect_body("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
                "2\r\nhi\r\n0\r\n\r\n", 200, "hi");

    /* Bytes past a complete answer are not consumed. */
    struct vmctl_parser p = { 0 };
    const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAextra";
    size_t used;
    assert_int_equal(vmctl_parse_feed(&p, two, strlen(two), &used), 1);
    assert_int_equal(used, strlen(two) - 5);
    assert_string_equal(p.reason, "OK");
    vmctl_parse_free(&p);

    /* 101: the head only; the rest is the console's. */
    memset(&p, 0, sizeof(p));
    const char *up = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: vessel-console\r\n\r\nboot";
    assert_int_equal(vmctl_parse_feed(&p, up, strlen(up), &used), 1);
    assert_true(p.upgrade);
    assert_string_equal(up + used, "boot");
    vmctl_parse_free(&p);
}

struct collect { char buf[256]; size_t n; int fail_at; };

static int collect_sink(void *opaque, const char *d, size_t n)
{
    struct collect *c = opaque;
    if (c->fail_at && c->n + n >= (size_t)c->fail_at)
        return -EPIPE;
    memcpy(c->buf + c->n, d, n);
    c->n += n;
    return 0;
}

static void test_parse_sink(void **state)
{
    const char *ok = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "6\r\n{\"a\":1\r\n2\r\n}\n\r\n0\r\n\r\n";
    struct collect c = { 0 };
    struct vmctl_parser p = { .sink = collect_sink, .opaque = &c };
    assert_int_equal(feed(&p, ok, strlen(ok), 3, NULL), 1);
    assert_int_equal(c.n, 8);
    assert_memory_equal(c.buf, "{\"a\":1}\n", 8);
    assert_null(p.body);
    /* An error answer is kept for its message, not streamed. */
    const char *bad = "HTTP/1.1 404 Not Found\r\nContent-Length: 14\r\n\r\n{\"error\":\"no\"}";
    memset(&c, 0, sizeof(c));
    p = (struct vmctl_parser){ .sink = collect_sink, .opaque = &c };
    assert_int_equal(feed(&p, bad, strlen(bad), 7, NULL), 1);
    assert_int_equal(c.n, 0);
    assert_string_equal(p.body, "{\"error\":\"no\"}");
    vmctl_parse_free(&p);
    /* The sink's error stops the parse. */
    memset(&c, 0, sizeof(c));
    c.fail_at = 3;
    p = (struct vmctl_parser){ .sink = collect_sink, .opaque = &c };
    assert_int_equal(feed(&p, ok, strlen(ok), 100, NULL), -EPIPE);
}

static void expect_refused(const char *in, size_t n, int want, const char *says)
{
    struct vmctl_parser p = { 0 };
    int rc = feed(&p, in, n, 5, NULL);
    if (rc == 0)
        rc = vmctl_parse_eof(&p);
    if (rc != want || !strstr(p.err, says))
        fail_msg("'%.30s': rc %d, err '%s', expected %d '%s'", in, rc, p.err, want, says);
    /* A refused parser stays refused. */
    size_t used;
    assert_true(vmctl_parse_feed(&p, "x", 1, &used) < 0);
    vmctl_parse_free(&p);
}

static void test_parse_hostile(void **state)
{
#define R(s, says) expect_refused(s, strlen(s), -EPROTO, says)
    R("", "without answering");
    R("SSH-2.0-OpenSSH\r\n\r\n", "status line");
    R("HTTP/1.1 20 OK\r\n\r\n", "status line");
    R("HTTP/1.1 2000 OK\r\n\r\n", "status line");
    R("HTTP/1.1 999 Odd\r\n\r\n", "status 999");
    R("HTTP/2 200\r\n\r\n", "status line");
    R("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "without a name");
    R("HTTP/1.1 200 OK\r\n: empty\r\n\r\n", "without a name");
    R("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length '-1'");
    R("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "Content-Length '1x'");
    R("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", "Content-Length");
    R("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "two different");
    R("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "Transfer-Encoding 'gzip'");
    R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size 'zz'");
    R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "chunk size ''");
    R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
      "hex digits");
    R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "longer than its size");
    R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab", "middle of its answer's body");
    R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "middle of its answer's body");
    R("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "middle of its answer's body");
    R("HTTP/1.1 200 OK\r\nContent-", "middle of its answer's head");
#undef R
    expect_refused("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 27, -EPROTO, "NUL");
    char big[80];
    snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
             VMCTL_BODY_MAX + 1);
    expect_refused(big, strlen(big), -EFBIG, "more than 64 MiB");

    /* A head that never ends, a chunk-size line and a trailer that never end. */
    size_t n = VMCTL_HEAD_MAX + 100;
    char *h = malloc(n);
    memset(h, 'a', n);
    memcpy(h, "HTTP/1.1 200 OK\r\nX: ", 20);
    expect_refused(h, n, -EPROTO, "head is longer than 16 KiB");
    const char *pre = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
    memcpy(h, pre, strlen(pre));
    expect_refused(h, n, -EPROTO, "trailer is longer than 16 KiB");
    pre = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0;";
    memset(h, 'a', n);
    memcpy(h, pre, strlen(pre));
    expect_refused(h, n, -EPROTO, "chunk-size line longer");
    free(h);
}

/* A buffered body is bounded even without Content-Length. */
static void test_parse_body_bound(void **state)
{
    struct vmctl_parser p = { 0 };
    size_t used, chunk = 1 << 20;
    char *b = malloc(chunk);
    memset(b, 'x', chunk);
    const char *head = "HTTP/1.1 200 OK\r\n\r\n";
    assert_int_equal(vmctl_parse_feed(&p, head, strlen(head), &used), 0);
    int rc = 0;
    for (unsigned i = 0; i <= (VMCTL_BODY_MAX >> 20) && !rc; i++)
        rc = vmctl_parse_feed(&p, b, chunk, &used);
    assert_int_equal(rc, -EFBIG);
    vmctl_parse_free(&p);
    free(b);
}

/* ---- sockets ---- */

static void test_recv_timeout_and_connect(void **state)
{
    int sv[2];
    char err[256];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct vmctl_parser p = { 0 };
    /* A peer that never answers: the deadline ends the wait. */
    assert_int_equal(vmctl_recv(sv[0], &p, 100, err, sizeof(err)), -ETIMEDOUT);
    assert_non_null(strstr(err, "did not answer"));
    /* A peer that answers half a head and closes. */
    assert_int_equal(write(sv[1], "HTTP/1.1 200", 12), 12);
    close(sv[1]);
    memset(&p, 0, sizeof(p));
    assert_int_equal(vmctl_recv(sv[0], &p, 1000, err, sizeof(err)), -EPROTO);
    close(sv[0]);

    assert_int_equal(vmctl_call("/nonexistent/vesseld.sock", "GET", "/vms", NULL, 1000, &p,
                                err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/vesseld.sock"));
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = 0;
    assert_int_equal(vmctl_connect(longp, err, sizeof(err)), -ENAMETOOLONG);
    assert_true(vmctl_name_ok("web-1.x_y"));
    assert_false(vmctl_name_ok("a/b"));
    assert_false(vmctl_name_ok("a?b"));
    assert_false(vmctl_name_ok(".hidden"));
    assert_false(vmctl_name_ok(""));
}

/* ---- top ---- */

static void test_metrics_parse(void **state)
{
    const char *text =
        "# HELP vessel_vm_vcpu_seconds_total vCPU time\n"
        "# TYPE vessel_vm_vcpu_seconds_total counter\n"
        "vessel_vm_vcpu_seconds_total{vm=\"a\"} 1.5\n"
        "vessel_vm_vcpu_seconds_total{vm=\"b\",vcpu=\"0\"} 2\n"
        "vessel_vm_vcpu_seconds_total{vcpu=\"1\",vm=\"b\"} 3\n"
        "vessel_vm_disk_read_bytes_total{vm=\"a\",disk=\"vda\"} 100\n"
        "vessel_vm_disk_write_bytes_total{vm=\"a\",disk=\"vdb\"} 50\n"
        "vessel_vm_disk_read_requests_total{vm=\"a\",disk=\"vda\"} 7\n"
        "vessel_vm_net_rx_bytes_total{vm=\"a\"} 10\n"
        "vessel_vm_net_tx_bytes_total{vm=\"a\"} 5\n"
        "vessel_vm_net_rx_frames_total{vm=\"a\",nic=\"0\"} 3\n"      /* frames: not bytes */
        "vessel_vm_memory_touched_bytes{vm=\"a\"} 4096\n"
        "vessel_vm_net_bytes_total{vm=\"b\",dir=\"rx\"} 7\n"         /* direction as a label */
        "vessel_vm_instructions_total{vm=\"a\"} 999\n"
        "vessel_vm_vcpu_seconds_total{vm=\"q\\\"x\"} 1\n"
        "vessel_vm_vcpu_seconds_total{vm=\"a\"} NaN\n"
        "vessel_vm_vcpu_seconds_total{vm=\"a\"} -4\n"
        "vessel_vm_vcpu_seconds_total{vm=\"a\"} junk\n"
        "vessel_vm_vcpu_seconds_total{vm=\"unterminated} 4\n"
        "vessel_vm_vcpu_seconds_total 4\n"
        "vessel_vm_vcpu_seconds_total{vm=\"\"} 4\n"
        "vessel_vm_vcpu_seconds_total{vm=\"c\"} 1";     /* no final newline */
    struct vmctl_sample s[8];
    unsigned n = vmctl_metrics_parse(text, s, 8);
    assert_int_equal(n, 4);
    assert_string_equal(s[0].name, "a");
    assert_true(s[0].cpu_seconds == 1.5);
    assert_true(s[0].disk_bytes == 150);
    assert_true(s[0].net_bytes == 15);
    assert_true(s[0].memory == 4096);
    assert_true(s[0].disk_read == 100 && s[0].disk_write == 50);
    assert_true(s[0].net_rx == 10 && s[0].net_tx == 5);
    assert_string_equal(s[1].name, "b");
    assert_true(s[1].cpu_seconds == 5);
    assert_true(s[1].net_bytes == 7);
    assert_true(s[1].net_rx == 0 && s[1].net_tx == 0);     /* no direction in the name */
    assert_string_equal(s[2].name, "q\"x");
    assert_string_equal(s[3].name, "c");
    assert_int_equal(vmctl_metrics_parse(text, s, 1), 1);   /* bounded */
    assert_int_equal(vmctl_metrics_parse("", s, 8), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_full),
        cmocka_unit_test(test_create_minimal_and_memory),
        cmocka_unit_test(test_create_bad),
        cmocka_unit_test(test_create_global_opts),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_list_format),
        cmocka_unit_test(test_info_format),
        cmocka_unit_test(test_parse_framings),
        cmocka_unit_test(test_parse_sink),
        cmocka_unit_test(test_parse_hostile),
        cmocka_unit_test(test_parse_body_bound),
        cmocka_unit_test(test_recv_timeout_and_connect),
        cmocka_unit_test(test_metrics_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
