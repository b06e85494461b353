/* vm.json, the daemon's VM definition (src/daemon/vmdef*.c,
 * docs/vm-json.md): parse, validate, write back, crash-safe save, and the
 * `vessel run` command line. */
#include <errno.h>
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

#include "daemon/daemon.h"

static const char full[] =
    "{\"version\":1,\"name\":\"web-1\",\"uuid\":\"0A1B2C3D-0000-4000-8000-00000000000F\","
    "\"vcpus\":2,\"memory\":\"1G\",\"boot\":{\"kernel\":\"Image\",\"initrd\":\"i.gz\","
    "\"append\":\"console=ttyS0\"},\"disks\":[{\"path\":\"root.qcow2\",\"format\":\"qcow2\","
    "\"backing_dirs\":[\"/srv/base\",\"images\"]},"
    "{\"path\":\"/data/a,b.img\",\"readonly\":true,\"cache\":\"none\"}],"
    "\"nics\":[{\"backend\":\"user\",\"mac\":\"52:54:00:12:34:56\","
    "\"hostfwd\":[\"tcp:127.0.0.1:2222-:22\"]}],\"autostart\":true,\"restart\":\"on-failure\","
    "\"balloon\":\"reporting\"}";

static int parse(const char *json, struct vmdef *d, char *err)
{
    return vmdef_parse("vm.json", json, strlen(json), d, err, 512);
}

static void test_full_document(void **state)
{
    (void)state;
    struct vmdef d;
    char err[512];
    assert_int_equal(parse(full, &d, err), 0);
    assert_string_equal(d.name, "web-1");
    assert_string_equal(d.uuid, "0a1b2c3d-0000-4000-8000-00000000000f");
    assert_int_equal(d.vcpus, 2);
    assert_true(d.memory == 1ULL << 30);
    assert_string_equal(d.kernel, "Image");
    assert_null(d.bios);
    assert_int_equal(d.ndisks, 2);
    assert_int_equal(d.disks[0].nbacking_dirs, 2);
    assert_string_equal(d.disks[0].backing_dirs[1], "images");
    assert_int_equal(d.disks[1].nbacking_dirs, 0);
    assert_true(d.disks[1].read_only);
    assert_string_equal(d.disks[1].cache, "none");
    assert_int_equal(d.nnics, 1);
    assert_int_equal(d.nics[0].nhostfwd, 1);
    assert_true(d.autostart);
    assert_int_equal(d.restart, VMDEF_RESTART_ON_FAILURE);
    assert_int_equal(d.balloon, 2);

    /* Written back and read again: the same definition. */
    char *s;
    assert_int_equal(vmdef_to_json(&d, &s, err, sizeof(err)), 0);
    struct vmdef e;
    assert_int_equal(parse(s, &e, err), 0);
    char *s2;
    assert_int_equal(vmdef_to_json(&e, &s2, err, sizeof(err)), 0);
    assert_string_equal(s, s2);
    free(s);
    free(s2);
    vmdef_free(&e);
    vmdef_free(&d);
}

static void test_defaults(void **state)
{
    (void)state;
    struct vmdef d;
    char err[512];
    assert_int_equal(parse("{\"version\":1,\"name\":\"a\",\"uuid\":"
                           "\"00000000-0000-4000-8000-000000000000\",\"boot\":{\"bios\":\"x.elf\"}}",
                           &d, err), 0);
    assert_int_equal(d.vcpus, 1);
    assert_true(d.memory == 512ULL << 20);
    assert_int_equal(d.ndisks, 0);
    assert_false(d.autostart);
    assert_int_equal(d.restart, VMDEF_RESTART_NEVER);
    assert_int_equal(d.balloon, 0);
    /* No balloon: none written (files of such VMs stay as they were). */
    char *s;
    assert_int_equal(vmdef_to_json(&d, &s, err, sizeof(err)), 0);
    assert_null(strstr(s, "balloon"));
    free(s);
    vmdef_free(&d);
}

/* Each bad document is refused with -EINVAL (or the code given), and the
 * message names the field. */
static void test_bad_fields(void **state)
{
    (void)state;
#define HEAD "{\"version\":1,\"name\":\"a\",\"uuid\":\"00000000-0000-4000-8000-000000000000\","
    static const struct { const char *json, *field; int rc; } cases[] = {
        { "[1]", "(top)", -EINVAL },
        { "{\"version\":1,\"name\":\"a\"", "line", -EINVAL },
        { "{\"name\":\"a\"}", "version", -EINVAL },
        { "{\"version\":2}", "version", -ENOTSUP },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"colour\":1}", "colour", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"vcpus\":0}", "vcpus", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"vcpus\":17}", "vcpus", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"vcpus\":\"2\"}", "vcpus", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"memory\":\"1X\"}", "memory", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"memory\":\"2T\"}", "memory", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"memory\":4097}", "memory", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"memory\":\"99999999999999999999999G\"}", "memory",
          -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"memory\":-4096}", "memory", -EINVAL },
        { HEAD "\"boot\":{}}", "boot", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\",\"kernel\":\"k\"}}", "boot", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\",\"initrd\":\"i\"}}", "boot", -EINVAL },
        { HEAD "\"boot\":{\"kernel\":\"\"}}", "boot.kernel", -EINVAL },
        { HEAD "\"boot\":{\"kernel\":\"a\\u0001b\"}}", "boot.kernel", -EINVAL },
        { HEAD "\"boot\":{\"kernel\":\"a\\u0000b\"}}", "not allowed", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":{}}", "disks", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{}]}", "disks[0].path", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"x\",\"format\":\"qed\"}]}",
          "disks[0].format", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"x\",\"cache\":\"fast\"}]}",
          "disks[0].cache", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"x\",\"readonly\":1}]}",
          "disks[0].readonly", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"x\",\"readonly\":true,"
          "\"snapshot\":true}]}", "disks[0]", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"x\",\"size\":1}]}",
          "disks[0].size", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"1\"},{\"path\":\"2\"},"
          "{\"path\":\"3\"},{\"path\":\"4\"},{\"path\":\"5\"},{\"path\":\"6\"},{\"path\":\"7\"},"
          "{\"path\":\"8\"},{\"path\":\"9\"}]}", "disks", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"x\",\"backing_dirs\":\"/a\"}]}",
          "disks[0].backing_dirs", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"x\",\"backing_dirs\":[\"\"]}]}",
          "disks[0].backing_dirs[0]", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"x\",\"backing_dirs\":"
          "[\"/a\",\"/b,c\"]}]}", "disks[0].backing_dirs[1]: comma", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"x\",\"backing_dirs\":"
          "[\"/a\\nb\"]}]}", "disks[0].backing_dirs[0]: control", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"x\",\"backing_dirs\":[1]}]}",
          "disks[0].backing_dirs[0]", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"disks\":[{\"path\":\"x\",\"backing_dirs\":"
          "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}]}", "disks[0].backing_dirs",
          -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"nics\":[{\"backend\":\"tap\"}]}",
          "nics[0].backend", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"nics\":[{\"backend\":\"user\",\"mac\":\"52:54\"}]}",
          "nics[0].mac", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"nics\":[{\"backend\":\"user\",\"hostfwd\":"
          "[\"tcp::1-:2,mac=x\"]}]}", "nics[0].hostfwd[0]", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"nics\":[{\"backend\":\"user\",\"hostfwd\":[7]}]}",
          "nics[0].hostfwd[0]", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"restart\":\"sometimes\"}", "restart", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"autostart\":\"yes\"}", "autostart", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"balloon\":\"big\"}", "balloon", -EINVAL },
        { HEAD "\"boot\":{\"bios\":\"b\"},\"balloon\":true}", "balloon", -EINVAL },
        { "{\"version\":1,\"name\":\"-a\",\"uuid\":\"00000000-0000-4000-8000-000000000000\","
          "\"boot\":{\"bios\":\"b\"}}", "name", -EINVAL },
        { "{\"version\":1,\"name\":\"a/b\",\"uuid\":\"00000000-0000-4000-8000-000000000000\","
          "\"boot\":{\"bios\":\"b\"}}", "name", -EINVAL },
        { "{\"version\":1,\"name\":\"a\",\"uuid\":\"00000000-0000-4000-8000-00000000000g\","
          "\"boot\":{\"bios\":\"b\"}}", "uuid", -EINVAL },
        { "{\"version\":1,\"name\":\"a\",\"name\":\"b\"}", "duplicate", -EINVAL },
    };
#undef HEAD
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vmdef d;
        char err[512];
        int rc = parse(cases[i].json, &d, err);
        if (rc != cases[i].rc || !strstr(err, cases[i].field) || !strstr(err, "vm.json"))
            fail_msg("case %zu: rc %d, message '%s' (expected %d naming %s)", i, rc, err,
                     cases[i].rc, cases[i].field);
        assert_null(d.name);        /* left empty */
    }
}

static void test_save_crash_safe(void **state)
{
    (void)state;
    char dir[] = "/tmp/vessel-vmdef-XXXXXX", err[512], p[128];
    assert_non_null(mkdtemp(dir));
    struct vmdef d, e;
    assert_int_equal(parse(full, &d, err), 0);
    assert_int_equal(vmdef_save(dir, &d, err, sizeof(err)), 0);
    snprintf(p, sizeof(p), "%s/vm.json.tmp", dir);
    assert_int_not_equal(access(p, F_OK), 0);
    assert_int_equal(vmdef_load(dir, &e, err, sizeof(err)), 0);
    assert_string_equal(e.name, "web-1");
    vmdef_free(&e);
    /* An invalid definition is not written: the old file stays. */
    d.vcpus = 0;
    assert_int_equal(vmdef_save(dir, &d, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "vcpus"));
    assert_int_equal(vmdef_load(dir, &e, err, sizeof(err)), 0);
    assert_int_equal(e.vcpus, 2);
    vmdef_free(&e);
    vmdef_free(&d);
    /* A missing file names it. */
    snprintf(p, sizeof(p), "%s/vm.json", dir);
    unlink(p);
    assert_int_equal(vmdef_load(dir, &e, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, p));
    rmdir(dir);
}

static void test_run_argv(void **state)
{
    (void)state;
    struct vmdef d;
    char err[512];
    assert_int_equal(parse(full, &d, err), 0);
    char **argv;
    assert_int_equal(vmdef_run_argv(&d, "/store/web-1", &argv), 0);
    char line[2048] = "";
    for (char **p = argv; *p; p++)
        snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s|", *p);
    assert_string_equal(line,
        "run|--uuid|0a1b2c3d-0000-4000-8000-00000000000f|--cpus|2|--memory|1048576K|"
        "--kernel|Image|--initrd|i.gz|--append|console=ttyS0|"
        "--disk|/store/web-1/root.qcow2,format=qcow2,backing-dir=/srv/base,"
        "backing-dir=/store/web-1/images|"
        "--disk|/data/a,,b.img,readonly=on,cache=none|"
        "--net|user,mac=52:54:00:12:34:56,hostfwd=tcp:127.0.0.1:2222-:22|"
        "--balloon|reporting|");
    vmdef_argv_free(argv);
    /* backing-dir= cannot carry a comma: a relative dir in such a bundle. */
    assert_int_equal(vmdef_run_argv(&d, "/store/a,b", &argv), -EINVAL);
    assert_null(argv);
    vmdef_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_document),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_save_crash_safe),
        cmocka_unit_test(test_run_argv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
