/* vessel create: the options `vessel run` takes for a machine, turned into
 * a vm.json document (docs/vm-json.md) for POST /vms.
 *
 * The device options keep `vessel run`'s syntax (--disk FILE[,k=v]...,
 * --net user[,k=v]...) so a command line moves from one to the other;
 * the result is checked with the daemon's own validation (vmdef_parse)
 * so that a mistake is reported here, naming the option, before anything
 * reaches the daemon. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/vmctl.h"
#include "daemon/daemon.h"
#include "util/util.h"

/* Stands in for the UUID the daemon will generate, only to validate. */
#define PLACEHOLDER_UUID "00000000-0000-4000-8000-000000000000"

int vmctl_parse_memory(const char *s, uint64_t *out)
{
    uint64_t v;
    size_t n = strlen(s);
    if (n && s[n - 1] >= '0' && s[n - 1] <= '9') {
        if (parse_u64(s, &v) || v > (UINT64_MAX >> 20))
            return -EINVAL;
        *out = v << 20;
        return 0;
    }
    return parse_size(s, out) ? -EINVAL : 0;
}

bool vmctl_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (!n || n > VMDEF_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

/* A path for the daemon, which has its own working directory. */
static json_t *abs_path(const char *opt, const char *p, const char *cwd, char *err,
                        size_t elen)
{
    if (!*p) {
        errbuf(err, elen, -EINVAL, "%s: empty file name", opt);
        return NULL;
    }
    if (p[0] == '/')
        return json_string(p);
    size_t n = strlen(cwd) + strlen(p) + 2;
    char *b = malloc(n);
    if (!b)
        return NULL;
    snprintf(b, n, "%s%s%s", cwd, cwd[0] && cwd[strlen(cwd) - 1] == '/' ? "" : "/", p);
    json_t *s = json_string(b);
    free(b);
    if (!s)
        errbuf(err, elen, -EINVAL, "%s '%s': not valid UTF-8", opt, p);
    return s;
}

static int onoff(const char *spec, const char *k, const char *v, json_t *o, char *err,
                 size_t elen)
{
    if (strcmp(v, "on") && strcmp(v, "off"))
        return errbuf(err, elen, -EINVAL, "--disk '%s': %s='%s' is not valid, expected on "
                      "or off", spec, k, v);
    if (!strcmp(v, "on"))
        json_object_set_new(o, k, json_true());
    return 0;
}

/* backing-dir=DIR (repeatable): appended to the disk's "backing_dirs",
 * made absolute (vmdef_parse checks the count and the characters). */
static int backing_dir(const char *spec, const char *v, const char *cwd, json_t *d, char *err,
                       size_t elen)
{
    json_t *a = json_object_get(d, "backing_dirs");
    if (!a) {
        if (!(a = json_array()) || json_object_set_new(d, "backing_dirs", a))
            return -ENOMEM;
    }
    json_t *p = abs_path("--disk backing-dir", v, cwd, err, elen);
    if (!p)
        return -EINVAL;     /* as for FILE: empty or not UTF-8 (message set) */
    return json_array_append_new(a, p) ? -ENOMEM : 0;
}

/* --disk FILE[,format=raw|qcow2|vpc|vdi|vmdk|vhdx][,readonly=on|off][,snapshot=on|off]
 *        [,cache=writeback|none|unsafe][,backing-dir=DIR]...; ",," is a comma
 * in FILE (DIR cannot hold one, as in `vessel run`). */
static int disk_json(const char *spec, const char *cwd, json_t *disks, char *err, size_t elen)
{
    size_t n = strlen(spec), i = 0, o = 0;
    char *buf = malloc(n + 1);
    json_t *d = json_object();
    int rc = -ENOMEM;
    if (!buf || !d)
        goto out;
    while (i < n && !(spec[i] == ',' && spec[i + 1] != ',')) {
        buf[o++] = spec[i];
        i += spec[i] == ',' ? 2 : 1;
    }
    buf[o] = 0;
    json_t *path = abs_path("--disk", buf, cwd, err, elen);
    if (!path) {
        rc = -EINVAL;
        goto out;
    }
    json_object_set_new(d, "path", path);
    memcpy(buf, spec + i, n - i + 1);
    char *save = NULL;
    rc = 0;
    for (char *kv = strtok_r(buf, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            rc = errbuf(err, elen, -EINVAL, "--disk '%s': option '%s' has no value, expected "
                        "KEY=VALUE with KEY one of format, readonly, snapshot, cache, "
                        "backing-dir", spec, kv);
            break;
        }
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(kv, "format") || !strcmp(kv, "cache"))
            json_object_set_new(d, kv, json_string(v));
        else if (!strcmp(kv, "readonly") || !strcmp(kv, "snapshot"))
            rc = onoff(spec, kv, v, d, err, elen);
        else if (!strcmp(kv, "backing-dir"))
            rc = backing_dir(spec, v, cwd, d, err, elen);
        else
            rc = errbuf(err, elen, -EINVAL, "--disk '%s': unknown option '%s', expected "
                        "format, readonly, snapshot, cache or backing-dir", spec, kv);
    }
    if (!rc) {
        json_array_append(disks, d);
    }
out:
    json_decref(d);
    free(buf);
    return rc;
}

/* --net user[,hostfwd=RULE]...[,mac=XX:XX:XX:XX:XX:XX] */
static int net_json(const char *spec, json_t *nics, char *err, size_t elen)
{
    char *buf = strdup(spec);
    json_t *o = json_object(), *fw = json_array();
    int rc = -ENOMEM;
    if (!buf || !o || !fw)
        goto out;
    char *save = NULL, *kind = strtok_r(buf, ",", &save);
    rc = 0;
    if (!kind || strchr(kind, '='))
        rc = errbuf(err, elen, -EINVAL, "--net '%s': no backend, expected "
                    "user[,hostfwd=...][,mac=...]", spec);
    else
        json_object_set_new(o, "backend", json_string(kind));
    for (char *kv = rc ? NULL : strtok_r(NULL, ",", &save); kv && !rc;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq = 0;
        if (eq && !strcmp(kv, "hostfwd"))
            json_array_append_new(fw, json_string(eq + 1));
        else if (eq && !strcmp(kv, "mac"))
            json_object_set_new(o, "mac", json_string(eq + 1));
        else
            rc = errbuf(err, elen, -EINVAL, "--net '%s': unknown option '%s', expected "
                        "hostfwd=RULE or mac=XX:XX:XX:XX:XX:XX", spec, kv);
    }
    if (!rc) {
        if (json_array_size(fw))
            json_object_set(o, "hostfwd", fw);
        json_array_append(nics, o);
    }
out:
    json_decref(fw);
    json_decref(o);
    free(buf);
    return rc;
}

/* Validate doc as the daemon will: with a placeholder UUID when the
 * daemon is to generate it. */
static int check(json_t *doc, char *err, size_t elen)
{
    json_t *c = json_deep_copy(doc);
    if (!c)
        return -ENOMEM;
    if (!json_object_get(c, "uuid"))
        json_object_set_new(c, "uuid", json_string(PLACEHOLDER_UUID));
    char *s = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    if (!s)
        return -ENOMEM;
    struct vmdef d = { 0 };
    int rc = vmdef_parse("VM definition", s, strlen(s), &d, err, elen);
    free(s);
    vmdef_free(&d);
    return rc;
}

enum { CO_KERNEL = 256, CO_INITRD, CO_APPEND, CO_FIRMWARE, CO_BIOS, CO_DISK, CO_NET, CO_CPUS,
       CO_AUTOSTART, CO_RESTART, CO_UUID, CO_SOCKET, CO_JSON, CO_BALLOON };

int vmctl_create_json(int argc, char **argv, const char *cwd, struct vmctl_opts *opts,
                      json_t **out, char *err, size_t elen)
{
    static const struct option lo[] = {
        { "memory", required_argument, NULL, 'm' },
        { "cpus", required_argument, NULL, CO_CPUS },
        { "kernel", required_argument, NULL, CO_KERNEL },
        { "initrd", required_argument, NULL, CO_INITRD },
        { "append", required_argument, NULL, CO_APPEND },
        { "firmware", required_argument, NULL, CO_FIRMWARE },
        { "bios", required_argument, NULL, CO_BIOS },
        { "disk", required_argument, NULL, CO_DISK },
        { "net", required_argument, NULL, CO_NET },
        { "autostart", no_argument, NULL, CO_AUTOSTART },
        { "restart", required_argument, NULL, CO_RESTART },
        { "balloon", required_argument, NULL, CO_BALLOON },
        { "uuid", required_argument, NULL, CO_UUID },
        { "socket", required_argument, NULL, CO_SOCKET },
        { "json", no_argument, NULL, CO_JSON },
        { 0 },
    };
    json_t *doc = json_object(), *boot = json_object(), *disks = json_array(),
           *nics = json_array();
    int rc = -ENOMEM, c;
    *out = NULL;
    if (!doc || !boot || !disks || !nics)
        goto fail;
    json_object_set_new(doc, "version", json_integer(VMDEF_VERSION));
    rc = 0;
    optind = 0;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":m:", lo, NULL)) != -1) {
        uint64_t v;
        json_t *p;
        switch (c) {
        case 'm':
            if (vmctl_parse_memory(optarg, &v) || v > (uint64_t)INT64_MAX)
                rc = errbuf(err, elen, -EINVAL, "--memory '%s': expected decimal digits with "
                            "an optional K, M, G or T suffix (plain number: MiB)", optarg);
            else
                json_object_set_new(doc, "memory", json_integer((json_int_t)v));
            break;
        case CO_CPUS:
            if (parse_u64(optarg, &v) || !v || v > VMDEF_MAX_CPUS)
                rc = errbuf(err, elen, -EINVAL, "--cpus '%s': expected 1 to %d", optarg,
                            VMDEF_MAX_CPUS);
            else
                json_object_set_new(doc, "vcpus", json_integer((json_int_t)v));
            break;
        case CO_KERNEL: case CO_INITRD: case CO_FIRMWARE: case CO_BIOS: {
            const char *k = c == CO_KERNEL ? "kernel" : c == CO_INITRD ? "initrd" :
                            c == CO_FIRMWARE ? "firmware" : "bios";
            char opt[16];
            snprintf(opt, sizeof(opt), "--%s", k);
            if (!(p = abs_path(opt, optarg, cwd, err, elen)))
                rc = -EINVAL;
            else
                json_object_set_new(boot, k, p);
            break;
        }
        case CO_APPEND:
            if (!(p = json_string(optarg)))
                rc = errbuf(err, elen, -EINVAL, "--append: not valid UTF-8");
            else
                json_object_set_new(boot, "append", p);
            break;
        case CO_DISK:
            rc = disk_json(optarg, cwd, disks, err, elen);
            break;
        case CO_NET:
            rc = net_json(optarg, nics, err, elen);
            break;
        case CO_AUTOSTART:
            json_object_set_new(doc, "autostart", json_true());
            break;
        case CO_RESTART:
            json_object_set_new(doc, "restart", json_string(optarg));
            break;
        case CO_BALLOON:    /* the daemon checks the value and names it */
            json_object_set_new(doc, "balloon", json_string(optarg));
            break;
        case CO_UUID:
            json_object_set_new(doc, "uuid", json_string(optarg));
            break;
        case CO_SOCKET:
            if (opts)
                opts->sock = optarg;
            break;
        case CO_JSON:
            if (opts)
                opts->json = true;
            break;
        case ':':
            rc = errbuf(err, elen, -EINVAL, "%s needs a value", argv[optind - 1]);
            break;
        default:
            rc = errbuf(err, elen, -EINVAL, "unknown option '%s' (vessel create --help "
                        "lists them)", argv[optind - 1]);
            break;
        }
    }
    if (rc)
        goto fail;
    if (optind >= argc) {
        rc = errbuf(err, elen, -EINVAL, "no VM name given, expected vessel create NAME "
                    "[options]");
        goto fail;
    }
    if (optind != argc - 1) {
        rc = errbuf(err, elen, -EINVAL, "expected one VM name, got '%s' and '%s'",
                    argv[optind], argv[optind + 1]);
        goto fail;
    }
    if (!vmctl_name_ok(argv[optind])) {
        rc = errbuf(err, elen, -EINVAL, "VM name '%s': expected 1 to %d of A-Z a-z 0-9 . _ -, "
                    "starting with a letter or digit", argv[optind], VMDEF_NAME_MAX);
        goto fail;
    }
    if (!!json_object_get(boot, "kernel") == !!json_object_get(boot, "bios")) {
        rc = errbuf(err, elen, -EINVAL, "give exactly one of --kernel (a Linux Image, with "
                    "optional --initrd, --append, --firmware) and --bios (a bare-metal ELF)");
        goto fail;
    }
    json_object_set_new(doc, "name", json_string(argv[optind]));
    json_object_set(doc, "boot", boot);
    if (json_array_size(disks))
        json_object_set(doc, "disks", disks);
    if (json_array_size(nics))
        json_object_set(doc, "nics", nics);
    if ((rc = check(doc, err, elen)))
        goto fail;
    *out = json_incref(doc);
fail:
    if (rc == -ENOMEM)
        errbuf(err, elen, rc, "out of memory");
    json_decref(doc);
    json_decref(boot);
    json_decref(disks);
    json_decref(nics);
    return rc;
}
