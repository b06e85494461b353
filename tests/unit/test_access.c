/* vesseld's access control (src/daemon/access.c, audit.c, the role check
 * in rest.c): the access file parsed strictly (every error names the
 * file and the JSON path), the role decision (root and the daemon's own
 * uid admin, the highest of the user's and its groups' entries), every
 * route carrying a role, requests of each role through rest_dispatch
 * (403 with the message naming the role needed and the one held), and
 * the audit log's lines and rotation. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/daemon_int.h"

/* Names this test knows, instead of the system's. */
static int fake_user(void *opaque, const char *name, uint32_t *uid)
{
    (void)opaque;
    if (!strcmp(name, "alice"))
        return *uid = 1001, 0;
    if (!strcmp(name, "bob"))
        return *uid = 1002, 0;
    if (!strcmp(name, "broken"))
        return -EIO;
    return -ENOENT;
}

static int fake_group(void *opaque, const char *name, uint32_t *gid)
{
    (void)opaque;
    if (!strcmp(name, "vessel"))
        return *gid = 500, 0;
    if (!strcmp(name, "vessel-admin"))
        return *gid = 501, 0;
    return -ENOENT;
}

static const struct access_names names = { fake_user, fake_group, NULL };

static struct access *parse_ok(const char *json)
{
    struct access *a = NULL;
    char err[512] = "";
    int rc = access_parse("access.json", json, strlen(json), &names, &a, err, sizeof(err));
    if (rc)
        fail_msg("%s: %s", json, err);
    return a;
}

static void test_parse(void **state)
{
    (void)state;
    struct access *a = parse_ok("{\"version\":1,\"users\":{\"alice\":\"operator\","
                                "\"1003\":\"viewer\",\"bob\":\"admin\"},\"groups\":"
                                "{\"vessel\":\"viewer\",\"vessel-admin\":\"admin\","
                                "\"77\":\"operator\"}}");
    /* Sorted by id. */
    assert_int_equal(a->nusers, 3);
    assert_int_equal(a->users[0].id, 1001);
    assert_int_equal(a->users[0].role, ACCESS_OPERATOR);
    assert_int_equal(a->users[1].id, 1002);
    assert_int_equal(a->users[1].role, ACCESS_ADMIN);
    assert_int_equal(a->users[2].id, 1003);
    assert_int_equal(a->users[2].role, ACCESS_VIEWER);
    assert_int_equal(a->ngroups, 3);
    assert_int_equal(a->groups[0].id, 77);
    assert_int_equal(a->groups[1].id, 500);
    assert_int_equal(a->groups[2].role, ACCESS_ADMIN);
    access_free(a);
    /* Sections are optional; an empty file of version 1 gives no roles. */
    a = parse_ok("{\"version\":1}");
    assert_int_equal(a->nusers + a->ngroups, 0);
    access_free(a);
    a = parse_ok("{\"groups\":{},\"version\":1,\"users\":{}}");
    access_free(a);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json, *expect;
        int rc;
    } bad[] = {
        { "", "not valid JSON", -EINVAL },
        { "{\"version\":1,", "not valid JSON", -EINVAL },
        { "[1]", "expected a JSON object", -EINVAL },
        { "{\"users\":{}}", "version: missing", -EINVAL },
        { "{\"version\":\"1\"}", "version: not a positive integer", -EINVAL },
        { "{\"version\":0}", "version: not a positive integer", -EINVAL },
        { "{\"version\":2}", "version: 2 is newer", -ENOTSUP },
        { "{\"version\":1,\"user\":{}}", "user: unknown field; expected version, users, "
          "groups", -EINVAL },
        { "{\"version\":1,\"users\":[]}", "users: expected an object", -EINVAL },
        { "{\"version\":1,\"groups\":\"x\"}", "groups: expected an object", -EINVAL },
        { "{\"version\":1,\"users\":{\"alice\":\"root\"}}",
          "users.alice: unknown role 'root'; expected \"viewer\", \"operator\" or \"admin\"",
          -EINVAL },
        { "{\"version\":1,\"users\":{\"alice\":\"Admin\"}}", "unknown role 'Admin'", -EINVAL },
        { "{\"version\":1,\"users\":{\"alice\":3}}", "users.alice: not a string", -EINVAL },
        { "{\"version\":1,\"users\":{\"carol\":\"viewer\"}}", "users.carol: no such user",
          -EINVAL },
        { "{\"version\":1,\"groups\":{\"wheel\":\"viewer\"}}", "groups.wheel: no such group",
          -EINVAL },
        { "{\"version\":1,\"users\":{\"broken\":\"viewer\"}}",
          "users.broken: cannot look the name up", -EIO },
        { "{\"version\":1,\"users\":{\"4294967295\":\"viewer\"}}",
          "users.4294967295: no such user", -EINVAL },
        { "{\"version\":1,\"users\":{\"-1\":\"viewer\"}}", "users.-1: no such user",
          -EINVAL },
        { "{\"version\":1,\"users\":{\"alice\":\"viewer\",\"1001\":\"admin\"}}",
          "users.1001: the same user as users.alice (uid 1001)", -EINVAL },
        { "{\"version\":1,\"users\":{\"alice\":\"viewer\",\"alice\":\"admin\"}}",
          "duplicate object key", -EINVAL },
        { "{\"version\":1,\"users\":{\"a\\u0001b\":\"viewer\"}}", "users.a?b: no such user",
          -EINVAL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct access *a = (struct access *)1;
        char err[512] = "";
        int rc = access_parse("/etc/vessel/access.json", bad[i].json, strlen(bad[i].json),
                              &names, &a, err, sizeof(err));
        if (rc != bad[i].rc || !strstr(err, bad[i].expect) ||
            strncmp(err, "/etc/vessel/access.json: ", 25) || a)
            fail_msg("%s: rc %d, '%s'; expected %d, '%s'", bad[i].json, rc, err, bad[i].rc,
                     bad[i].expect);
    }
}

static void test_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/vessel-access.XXXXXX", path[128], err[512];
    struct access *a;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/access.json", dir);
    /* Missing: an empty table when allowed (the default file), an error
     * naming the file when the file was asked for. */
    assert_int_equal(access_load(path, true, &a, err, sizeof(err)), 0);
    assert_int_equal(a->nusers + a->ngroups, 0);
    access_free(a);
    assert_int_equal(access_load(path, false, &a, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, path));
    assert_null(a);
    /* Numeric keys need no passwd entry. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"version\": 1, \"users\": {\"65534\": \"viewer\", \"4000000\": \"operator\"}}\n",
          f);
    fclose(f);
    assert_int_equal(access_load(path, false, &a, err, sizeof(err)), 0);
    assert_int_equal(access_role_for(a, 4000000, NULL, 0, 1000), ACCESS_OPERATOR);
    access_free(a);
    /* A directory is not an access file. */
    assert_int_equal(access_load(dir, false, &a, err, sizeof(err)), -EINVAL);
    unlink(path);
    rmdir(dir);
}

static void test_role_decision(void **state)
{
    (void)state;
    struct access *a = parse_ok("{\"version\":1,\"users\":{\"alice\":\"operator\","
                                "\"1003\":\"viewer\"},\"groups\":{\"vessel\":\"viewer\","
                                "\"vessel-admin\":\"admin\"}}");
    const uint32_t none[] = { 100, 4 }, vessel[] = { 100, 500 }, adm[] = { 500, 501 };
    /* Root and the daemon's own user: admin, with or without a table. */
    assert_int_equal(access_role_for(NULL, 0, NULL, 0, 1000), ACCESS_ADMIN);
    assert_int_equal(access_role_for(NULL, 1000, NULL, 0, 1000), ACCESS_ADMIN);
    assert_int_equal(access_role_for(a, 1000, none, 2, 1000), ACCESS_ADMIN);
    assert_int_equal(access_role_for(NULL, 1001, vessel, 2, 1000), ACCESS_NONE);
    /* The user's own entry, raised (never lowered) by its groups. */
    assert_int_equal(access_role_for(a, 1001, none, 2, 0), ACCESS_OPERATOR);
    assert_int_equal(access_role_for(a, 1001, vessel, 2, 0), ACCESS_OPERATOR);
    assert_int_equal(access_role_for(a, 1001, adm, 2, 0), ACCESS_ADMIN);
    assert_int_equal(access_role_for(a, 1003, none, 2, 0), ACCESS_VIEWER);
    assert_int_equal(access_role_for(a, 1004, vessel, 2, 0), ACCESS_VIEWER);
    assert_int_equal(access_role_for(a, 1004, none, 2, 0), ACCESS_NONE);
    assert_int_equal(access_role_for(a, 1004, NULL, 0, 0), ACCESS_NONE);
    /* A peer whose credentials could not be read has no role. */
    struct access_peer p = { .known = false, .uid = 0 };
    assert_int_equal(access_peer_role(a, &p, 0), ACCESS_NONE);
    p.known = true;
    assert_int_equal(access_peer_role(a, &p, 1000), ACCESS_ADMIN);
    access_free(a);
}

/* Every route has a role; reading is for viewers, changing is not. */
static void test_route_roles(void **state)
{
    (void)state;
    for (size_t i = 0; i < rest_nroutes; i++) {
        const struct rest_route *r = &rest_routes[i];
        assert_true(r->role >= ACCESS_VIEWER && r->role <= ACCESS_ADMIN);
        if (strcmp(r->method, "GET"))
            assert_true(r->role >= ACCESS_OPERATOR);
        else
            assert_int_equal(r->role, ACCESS_VIEWER);
    }
}

struct fixture {
    char root[64];
    struct vesseld d;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char err[512];
    snprintf(fx->root, sizeof(fx->root), "/tmp/vessel-acl.XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    assert_int_not_equal(asprintf(&fx->d.store, "%s/store", fx->root), -1);
    fx->d.vessel = strdup("/nonexistent/vessel");
    fx->d.wake_fd = -1;
    fx->d.self_uid = 4242;
    pthread_mutex_init(&fx->d.lock, NULL);
    pthread_cond_init(&fx->d.changed, NULL);
    assert_int_equal(events_new(&fx->d.events), 0);
    assert_int_equal(store_open(&fx->d, err, sizeof(err)), 0);
    assert_int_equal(audit_open(fx->d.store, 0, &fx->d.audit, err, sizeof(err)), 0);
    fx->d.access = parse_ok("{\"version\":1,\"users\":{\"1001\":\"viewer\","
                            "\"1002\":\"operator\"}}");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[256];
    store_close(&fx->d);
    audit_close(fx->d.audit);
    access_free(fx->d.access);
    events_free(fx->d.events);
    free(fx->d.store);
    free(fx->d.vessel);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* One request as uid (pid 7); returns the status, the error in err. */
static int call(struct fixture *fx, uint32_t uid, const char *method, const char *path,
                const char *body, char *err, size_t elen)
{
    struct access_peer p = { .known = true, .uid = uid, .gid = 100, .pid = 7 };
    struct rest_http h = { .method = method, .path = path, .body = body,
                           .len = body ? strlen(body) : 0, .peer = &p };
    struct rest_reply rp;
    char allow[64];
    rest_dispatch(&fx->d, &h, &rp, allow, sizeof(allow));
    snprintf(err, elen, "%s", rp.err);
    int st = rp.status;
    rest_reply_finish(&rp);
    json_decref(rp.json);
    free(rp.text);
    return st;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_dispatch_roles(void **state)
{
    struct fixture *fx = *state;
    char err[DVM_ERR_LEN], path[512];
    const char *vm = "{\"name\":\"web\",\"boot\":{\"bios\":\"x.elf\"}}";
    /* Viewer: reads, nothing else. */
    assert_int_equal(call(fx, 1001, "GET", "/vms", NULL, err, sizeof(err)), 200);
    assert_int_equal(call(fx, 1001, "GET", "/host", NULL, err, sizeof(err)), 200);
    assert_int_equal(call(fx, 1001, "POST", "/vms", vm, err, sizeof(err)), 403);
    assert_string_equal(err, "POST /vms: needs role admin; uid 1001 has viewer");
    /* Operator: the life cycle, not the definitions. */
    assert_int_equal(call(fx, 1002, "POST", "/vms", vm, err, sizeof(err)), 403);
    assert_string_equal(err, "POST /vms: needs role admin; uid 1002 has operator");
    /* The daemon's own user (and root) may create. */
    assert_int_equal(call(fx, 4242, "POST", "/vms", vm, err, sizeof(err)), 201);
    assert_int_equal(call(fx, 0, "PATCH", "/vms/web", "{\"autostart\":true}", err,
                          sizeof(err)), 200);
    assert_int_equal(call(fx, 1001, "PUT", "/vms/web/state", "{\"action\":\"start\"}", err,
                          sizeof(err)), 403);
    assert_string_equal(err, "PUT /vms/web/state: needs role operator; uid 1001 has viewer");
    assert_int_equal(call(fx, 1002, "DELETE", "/vms/web", NULL, err, sizeof(err)), 403);
    /* An operator passes the role check: the action itself answers (the
     * VM is stopped: stop does not apply). */
    assert_int_equal(call(fx, 1002, "PUT", "/vms/web/state", "{\"action\":\"stop\"}", err,
                          sizeof(err)), 409);
    /* No role: every request 403, even one for a path that does not exist. */
    assert_int_equal(call(fx, 1003, "GET", "/vms", NULL, err, sizeof(err)), 403);
    assert_string_equal(err, "GET /vms: needs role viewer; uid 1003 has no role");
    assert_int_equal(call(fx, 1003, "GET", "/nope", NULL, err, sizeof(err)), 403);
    assert_int_equal(call(fx, 1001, "GET", "/nope", NULL, err, sizeof(err)), 404);
    /* The audit log: the denied and the mutating requests, not the reads,
     * in order, each one JSON line. */
    static const struct {
        int uid;
        const char *role, *method, *path, *vm;
        int status;
    } want[] = {
        { 1001, "viewer", "POST", "/vms", NULL, 403 },
        { 1002, "operator", "POST", "/vms", NULL, 403 },
        { 4242, "admin", "POST", "/vms", "web", 201 },    /* named from the body */
        { 0, "admin", "PATCH", "/vms/web", "web", 200 },
        { 1001, "viewer", "PUT", "/vms/web/state", "web", 403 },
        { 1002, "operator", "DELETE", "/vms/web", "web", 403 },
        { 1002, "operator", "PUT", "/vms/web/state", "web", 409 },
        { 1003, "none", "GET", "/vms", NULL, 403 },
        { 1003, "none", "GET", "/nope", NULL, 403 },
    };
    snprintf(path, sizeof(path), "%s/audit.log", fx->d.store);
    char *log = slurp(path);
    assert_non_null(log);
    size_t n = 0;
    for (char *l = log, *nl; (nl = strchr(l, '\n')); l = nl + 1, n++) {
        *nl = 0;
        json_t *j = json_loads(l, 0, NULL);
        const char *t = NULL, *role = NULL, *method = NULL, *p = NULL, *vmn = NULL;
        int uid = -1, pid = -1, st = -1;
        if (!j || n >= sizeof(want) / sizeof(want[0]) ||
            json_unpack(j, "{s:s,s:i,s:i,s:s,s:s,s:s,s:i,s?s}", "time", &t, "uid", &uid,
                        "pid", &pid, "role", &role, "method", &method, "path", &p,
                        "status", &st, "vm", &vmn))
            fail_msg("audit line %zu: %s", n, l);
        if (uid != want[n].uid || pid != 7 || strcmp(role, want[n].role) ||
            strcmp(method, want[n].method) || strcmp(p, want[n].path) ||
            st != want[n].status || (want[n].vm ? !vmn || strcmp(vmn, want[n].vm) : !!vmn) ||
            strlen(t) != 24 || t[10] != 'T' || t[23] != 'Z')
            fail_msg("audit line %zu: %s", n, l);
        json_decref(j);
    }
    free(log);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
}

/* Past the bound, audit.log becomes audit.log.1 and begins anew; every
 * line stays whole. */
static void test_audit_rotate(void **state)
{
    (void)state;
    char dir[] = "/tmp/vessel-audit.XXXXXX", path[128], old[128], err[256];
    struct audit *a;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(audit_open(dir, 1000, &a, err, sizeof(err)), 0);
    struct access_peer p = { .known = true, .uid = 1, .pid = 2 };
    for (int i = 0; i < 20; i++)
        audit_log(a, &p, ACCESS_OPERATOR, "PUT", "/vms/x/state\x01\xff", "x", 200);
    audit_close(a);
    snprintf(path, sizeof(path), "%s/audit.log", dir);
    snprintf(old, sizeof(old), "%s/audit.log.1", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 0 && st.st_size <= 1000);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(old, &st), 0);
    assert_true(st.st_size > 900 && st.st_size <= 1000);
    char *log = slurp(old);
    assert_non_null(log);
    for (char *l = log, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
        *nl = 0;
        json_t *j = json_loads(l, 0, NULL);
        assert_non_null(j);
        /* The client's control and non-ASCII bytes are '?'. */
        assert_string_equal(json_string_value(json_object_get(j, "path")),
                            "/vms/x/state??");
        json_decref(j);
    }
    free(log);
    unlink(path);
    unlink(old);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_role_decision),
        cmocka_unit_test(test_route_roles),
        cmocka_unit_test_setup_teardown(test_dispatch_roles, setup, teardown),
        cmocka_unit_test(test_audit_rotate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
