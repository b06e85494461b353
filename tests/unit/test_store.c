/* vesseld's store and REST routing (src/daemon/store.c, rest.c,
 * events.c): hostile bundles load as "broken" with a message and are
 * never rewritten, leftovers of interrupted creates are swept, create
 * refuses duplicates and bad documents without leaving anything behind,
 * delete moves kept disks to orphans/, and the route table matches. */
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

#define GOOD(name) "{\"version\":1,\"name\":\"" name "\",\"uuid\":" \
    "\"0a1b2c3d-0000-4000-8000-00000000000f\",\"boot\":{\"bios\":\"x.elf\"}}"

struct fixture {
    char root[64];
    struct vesseld d;
};

static void put_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void bundle(struct fixture *fx, const char *dir, const char *json)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/vms/%s", fx->d.store, dir);
    assert_int_equal(mkdir(p, 0700), 0);
    if (json) {
        snprintf(p, sizeof(p), "%s/vms/%s/vm.json", fx->d.store, dir);
        put_file(p, json, strlen(json));
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 21);
    size_t n = fread(buf, 1, (1 << 21) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->root, sizeof(fx->root), "/tmp/vessel-store.XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    assert_int_not_equal(asprintf(&fx->d.store, "%s/store", fx->root), -1);
    pthread_mutex_init(&fx->d.lock, NULL);
    pthread_cond_init(&fx->d.changed, NULL);
    assert_int_equal(events_new(&fx->d.events), 0);
    char p[512];
    assert_int_equal(mkdir(fx->d.store, 0700), 0);
    snprintf(p, sizeof(p), "%s/vms", fx->d.store);
    assert_int_equal(mkdir(p, 0700), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[256];
    store_close(&fx->d);
    events_free(fx->d.events);
    free(fx->d.store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static void test_hostile_bundles(void **state)
{
    struct fixture *fx = *state;
    char err[512], p[512];
    bundle(fx, "good", GOOD("good"));
    bundle(fx, "badjson", "{\"version\":1,");
    bundle(fx, "misnamed", GOOD("other"));
    bundle(fx, "unknownfield", "{\"version\":1,\"name\":\"unknownfield\",\"uuid\":"
           "\"0a1b2c3d-0000-4000-8000-00000000000f\",\"boot\":{\"bios\":\"x\"},\"x\":1}");
    bundle(fx, "nojson", NULL);
    bundle(fx, "fifo", NULL);
    snprintf(p, sizeof(p), "%s/vms/fifo/vm.json", fx->d.store);
    assert_int_equal(mkfifo(p, 0600), 0);
    bundle(fx, "huge", NULL);
    snprintf(p, sizeof(p), "%s/vms/huge/vm.json", fx->d.store);
    int fd = open(p, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, VMDEF_FILE_MAX + 1), 0);
    close(fd);
    bundle(fx, ".good.new-12", GOOD("good"));       /* an interrupted create */
    bundle(fx, "-dash", GOOD("-dash"));             /* not a VM name: left alone */
    snprintf(p, sizeof(p), "%s/vms/file", fx->d.store);
    put_file(p, "x", 1);                            /* not a directory: left alone */
    char *before = slurp(strcat(strcpy(p, fx->d.store), "/vms/badjson/vm.json"));

    assert_int_equal(store_open(&fx->d, err, sizeof(err)), 0);
    const char *want[] = { "badjson", "fifo", "good", "huge", "misnamed", "nojson",
                           "unknownfield" };
    struct dvm *vm = fx->d.vms;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++, vm = vm->next) {
        assert_non_null(vm);
        assert_string_equal(vm->name, want[i]);
        if (!strcmp(want[i], "good")) {
            assert_int_equal(vm->state, DVM_STOPPED);
            continue;
        }
        assert_int_equal(vm->state, DVM_BROKEN);
        assert_true(vm->error[0]);
    }
    assert_null(vm);
    assert_non_null(strstr(store_find(&fx->d, "badjson")->error, "vm.json"));
    assert_non_null(strstr(store_find(&fx->d, "misnamed")->error, "name"));
    assert_non_null(strstr(store_find(&fx->d, "unknownfield")->error, "unknown field"));
    assert_non_null(strstr(store_find(&fx->d, "huge")->error, "at most"));
    assert_non_null(strstr(store_find(&fx->d, "fifo")->error, "not a regular file"));

    /* The summary of a broken VM carries its message. */
    json_t *s = rest_vm_summary(store_find(&fx->d, "badjson"));
    assert_string_equal(json_string_value(json_object_get(s, "state")), "broken");
    assert_non_null(json_object_get(s, "error"));
    json_decref(s);

    /* Never rewritten; the leftover swept; the others left alone. */
    char *after = slurp(strcat(strcpy(p, fx->d.store), "/vms/badjson/vm.json"));
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(access(strcat(strcpy(p, fx->d.store), "/vms/.good.new-12"), F_OK), -1);
    assert_int_equal(access(strcat(strcpy(p, fx->d.store), "/vms/-dash/vm.json"), F_OK), 0);
    assert_int_equal(access(strcat(strcpy(p, fx->d.store), "/orphans"), F_OK), 0);

    /* Deleting a broken VM keeping its disks keeps the whole bundle. */
    snprintf(p, sizeof(p), "%s/vms/badjson/disk.img", fx->d.store);
    put_file(p, "d", 1);
    assert_int_equal(store_delete(&fx->d, store_find(&fx->d, "badjson"), true, err,
                                  sizeof(err)), 0);
    assert_null(store_find(&fx->d, "badjson"));
    assert_int_equal(access(strcat(strcpy(p, fx->d.store), "/vms/badjson"), F_OK), -1);
    assert_int_equal(access(strcat(strcpy(p, fx->d.store), "/orphans/badjson/disk.img"),
                            F_OK), 0);
}

static json_t *doc(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_create_and_delete(void **state)
{
    struct fixture *fx = *state;
    char err[512], p[512];
    struct dvm *vm;
    assert_int_equal(store_open(&fx->d, err, sizeof(err)), 0);
    /* One daemon per store: a second is refused, naming the lock. */
    struct vesseld other = { .store = fx->d.store, .lock_fd = -1 };
    assert_int_equal(store_open(&other, err, sizeof(err)), -EBUSY);
    assert_non_null(strstr(err, "vesseld.lock"));
    store_close(&other);
    json_t *j = doc("{\"name\":\"web\",\"boot\":{\"bios\":\"x.elf\"},"
                    "\"disks\":[{\"path\":\"root.img\"},{\"path\":\"/abs/elsewhere.img\"}]}");
    assert_int_equal(store_create(&fx->d, j, &vm, err, sizeof(err)), 0);
    assert_string_equal(vm->name, "web");
    assert_int_equal(strlen(vm->def.uuid), 36);
    assert_int_equal(vm->def.uuid[14], '4');        /* generated: version 4 */
    /* Written: it loads back with the same UUID. */
    struct vmdef back;
    assert_int_equal(vmdef_load(vm->dir, &back, err, sizeof(err)), 0);
    assert_string_equal(back.uuid, vm->def.uuid);
    vmdef_free(&back);
    /* A second VM of that name: -EEXIST, the first untouched. */
    assert_int_equal(store_create(&fx->d, j, &vm, err, sizeof(err)), -EEXIST);
    assert_non_null(strstr(err, "web"));
    json_decref(j);
    /* A bad document: -EINVAL naming the field, no bundle, no leftover. */
    j = doc("{\"name\":\"bad\",\"vcpus\":99,\"boot\":{\"bios\":\"x\"}}");
    assert_int_equal(store_create(&fx->d, j, &vm, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "vcpus"));
    json_decref(j);
    j = doc("{\"name\":\"../escape\",\"boot\":{\"bios\":\"x\"}}");
    assert_int_equal(store_create(&fx->d, j, &vm, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "name"));
    json_decref(j);
    snprintf(p, sizeof(p), "%s/vms", fx->d.store);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s')\" = web", p);   /* no leftover */
    assert_int_equal(system(cmd), 0);

    /* Delete keeping the disks: the bundle's own image moves to orphans/. */
    vm = store_find(&fx->d, "web");
    snprintf(p, sizeof(p), "%s/root.img", vm->dir);
    put_file(p, "disk", 4);
    assert_int_equal(store_delete(&fx->d, vm, true, err, sizeof(err)), 0);
    assert_null(store_find(&fx->d, "web"));
    snprintf(p, sizeof(p), "%s/vms/web", fx->d.store);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof(p), "%s/orphans/web/root.img", fx->d.store);
    char *kept = slurp(p);
    assert_non_null(kept);
    assert_string_equal(kept, "disk");
    free(kept);
    snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s/vms')\"", fx->d.store);
    assert_int_equal(system(cmd), 0);
}

static void test_routes(void **state)
{
    (void)state;
    char name[VMDEF_NAME_MAX + 1], allow[64];
    int st = 0;
    const struct rest_route *r;
    r = rest_match("GET", "/vms", name, sizeof(name), &st, allow, sizeof(allow));
    assert_non_null(r);
    assert_string_equal(r->pattern, "/vms");
    r = rest_match("PUT", "/vms/web-1/state", name, sizeof(name), &st, allow, sizeof(allow));
    assert_non_null(r);
    assert_string_equal(r->pattern, "/vms/{name}/state");
    assert_string_equal(name, "web-1");
    r = rest_match("DELETE", "/vms/a.b_c", name, sizeof(name), &st, allow, sizeof(allow));
    assert_non_null(r);
    assert_string_equal(name, "a.b_c");
    /* A known path, another method: 405 with the methods accepted. */
    assert_null(rest_match("POST", "/vms/web", name, sizeof(name), &st, allow, sizeof(allow)));
    assert_int_equal(st, 405);
    assert_string_equal(allow, "GET, PATCH, DELETE");
    /* Not a path of the API (a name that is not a VM name is none). */
    const char *bad[] = { "/", "", "/vms/", "/vms//state", "/vms/../state", "/vms/.x",
                          "/vms/a/b", "/vms/a/state/", "/hosts", "/vms/a%2fb",
                          "/vms/0123456789012345678901234567890123456789012345678901234567890123",
                          "/events/x", "//vms" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st = 0;
        assert_null(rest_match("GET", bad[i], name, sizeof(name), &st, allow, sizeof(allow)));
        assert_int_equal(st, 404);
    }
    /* Every pattern in the table routes to itself. */
    for (size_t i = 0; i < rest_nroutes; i++) {
        char path[128];
        snprintf(path, sizeof(path), "%s", rest_routes[i].pattern);
        char *b = strstr(path, "{name}");
        if (b)
            memmove(b + 1, b + 6, strlen(b + 6) + 1), *b = 'v';
        r = rest_match(rest_routes[i].method, path, name, sizeof(name), &st, allow,
                       sizeof(allow));
        assert_ptr_equal(r, &rest_routes[i]);
    }
}

static void test_events(void **state)
{
    struct fixture *fx = *state;
    char line[1024];
    uint64_t cur = events_cursor(fx->d.events);
    events_emit(fx->d.events, "a", "created", "%s", "");
    events_emit(fx->d.events, "b", "started", "pid %d", 7);
    size_t n = events_next(fx->d.events, &cur, line, sizeof(line), -1);
    line[n] = 0;
    assert_non_null(strstr(line, "\"vm\":\"a\""));
    assert_non_null(strstr(line, "\"event\":\"created\""));
    assert_int_equal(line[n - 1], '\n');
    n = events_next(fx->d.events, &cur, line, sizeof(line), -1);
    line[n] = 0;
    assert_non_null(strstr(line, "\"detail\":\"pid 7\""));
    /* A reader that fell far behind skips to the oldest kept. */
    uint64_t old = cur;
    for (int i = 0; i < 1000; i++)
        events_emit(fx->d.events, "c", "updated", "%d", i);
    n = events_next(fx->d.events, &old, line, sizeof(line), -1);
    line[n] = 0;
    assert_non_null(strstr(line, "\"detail\":\"744\""));
    events_shutdown(fx->d.events);
    uint64_t end = events_cursor(fx->d.events);
    assert_int_equal(events_next(fx->d.events, &end, line, sizeof(line), -1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hostile_bundles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_and_delete, setup, teardown),
        cmocka_unit_test(test_routes),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
