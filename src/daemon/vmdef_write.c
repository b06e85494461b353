/* daemon: writing a VM definition: JSON, vm.json crash-safe, and the
 * `vessel run` command line (daemon.h). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "util/util.h"

static const char *const restart_names[] = { "never", "on-failure", "always" };

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *build(const struct vmdef *d)
{
    json_t *o = json_object(), *boot = json_object(), *disks = json_array(),
           *nics = json_array();
    if (!o || !boot || !disks || !nics) {
        json_decref(o);
        json_decref(boot);
        json_decref(disks);
        json_decref(nics);
        return NULL;
    }
    json_object_set_new(o, "version", json_integer(VMDEF_VERSION));
    set_str(o, "name", d->name);
    set_str(o, "uuid", d->uuid);
    json_object_set_new(o, "vcpus", json_integer(d->vcpus));
    json_object_set_new(o, "memory", json_integer((json_int_t)d->memory));
    set_str(boot, "bios", d->bios);
    set_str(boot, "kernel", d->kernel);
    set_str(boot, "initrd", d->initrd);
    set_str(boot, "append", d->append);
    set_str(boot, "firmware", d->firmware);
    json_object_set_new(o, "boot", boot);
    for (unsigned i = 0; i < d->ndisks && i < VMDEF_MAX_DISKS; i++) {
        const struct vmdef_disk *k = &d->disks[i];
        json_t *e = json_object();
        set_str(e, "path", k->path);
        set_str(e, "format", k->format);
        if (k->read_only)
            json_object_set_new(e, "readonly", json_true());
        if (k->snapshot)
            json_object_set_new(e, "snapshot", json_true());
        set_str(e, "cache", k->cache);
        if (k->nbacking_dirs) {
            json_t *bd = json_array();
            for (unsigned j = 0; j < k->nbacking_dirs && j < VMDEF_MAX_BACKING_DIRS; j++)
                json_array_append_new(bd, json_string(k->backing_dirs[j]));
            json_object_set_new(e, "backing_dirs", bd);
        }
        json_array_append_new(disks, e);
    }
    json_object_set_new(o, "disks", disks);
    for (unsigned i = 0; i < d->nnics && i < VMDEF_MAX_NICS; i++) {
        const struct vmdef_nic *n = &d->nics[i];
        json_t *e = json_object(), *fw = json_array();
        set_str(e, "backend", n->backend);
        set_str(e, "mac", n->mac);
        for (unsigned j = 0; j < n->nhostfwd && j < VMDEF_MAX_HOSTFWD; j++)
            json_array_append_new(fw, json_string(n->hostfwd[j]));
        json_object_set_new(e, "hostfwd", fw);
        json_array_append_new(nics, e);
    }
    json_object_set_new(o, "nics", nics);
    json_object_set_new(o, "autostart", json_boolean(d->autostart));
    json_object_set_new(o, "restart",
                        json_string(restart_names[(unsigned)d->restart < 3 ? d->restart : 0]));
    /* Only when there is one: files of VMs without a balloon stay as
     * they were. */
    if (d->balloon)
        json_object_set_new(o, "balloon", json_string(d->balloon == 1 ? "on" : "reporting"));
    return o;
}

int vmdef_to_json(const struct vmdef *d, char **out, char *err, size_t elen)
{
    *out = NULL;
    json_t *o = build(d);
    if (!o)
        return errbuf(err, elen, -ENOMEM, "vm.json: out of memory");
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return errbuf(err, elen, -ENOMEM, "vm.json: out of memory");
    /* What is written must read back: validate through the parser. */
    struct vmdef check;
    int rc = vmdef_parse("vm.json", s, strlen(s), &check, err, elen);
    if (rc) {
        free(s);
        return rc;
    }
    vmdef_free(&check);
    *out = s;
    return 0;
}

int vmdef_save(const char *dir, const struct vmdef *d, char *err, size_t elen)
{
    char *s;
    int rc = vmdef_to_json(d, &s, err, elen);
    if (rc)
        return rc;
    size_t len = strlen(s);
    s[len] = '\n';     /* the NUL's place: vm.json ends with a newline */
    rc = safefile_write(dir, "vm.json", s, len + 1, 0644, err, elen);
    free(s);
    return rc;
}

/* ---- the command line ---- */

struct args {
    char **v;
    size_t n, cap;
    bool oom;
    int bad;        /* -errno: an argument could not be written */
};

static void add(struct args *a, const char *s)
{
    if (a->oom)
        return;
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char **v = realloc(a->v, cap * sizeof(*v));
        if (!v) {
            a->oom = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    if (!(a->v[a->n] = strdup(s))) {
        a->oom = true;
        return;
    }
    a->v[++a->n] = NULL;
}

/* s with every ',' doubled (the --disk option's escape), appended to buf. */
static void append_escaped(char *buf, size_t size, const char *s)
{
    size_t at = strlen(buf);
    for (; *s && at + 2 < size; s++) {
        buf[at++] = *s;
        if (*s == ',')
            buf[at++] = ',';
    }
    buf[at] = 0;
}

int vmdef_run_argv(const struct vmdef *d, const char *dir, char ***argv)
{
    struct args a = { 0 };
    char b[80000];     /* two escaped 4095-byte paths and 8 backing dirs fit */
    *argv = NULL;
    add(&a, "run");
    add(&a, "--uuid");
    add(&a, d->uuid);
    snprintf(b, sizeof(b), "%u", d->vcpus);
    add(&a, "--cpus");
    add(&a, b);
    /* In KiB: a plain number means MiB to `vessel run` (as QEMU's -m). */
    snprintf(b, sizeof(b), "%lluK", (unsigned long long)(d->memory >> 10));
    add(&a, "--memory");
    add(&a, b);
    const char *const boot[][2] = {
        { "--bios", d->bios }, { "--kernel", d->kernel }, { "--initrd", d->initrd },
        { "--append", d->append }, { "--firmware", d->firmware },
    };
    for (size_t i = 0; i < ARRAY_SIZE(boot); i++) {
        if (boot[i][1]) {
            add(&a, boot[i][0]);
            add(&a, boot[i][1]);
        }
    }
    for (unsigned i = 0; i < d->ndisks; i++) {
        const struct vmdef_disk *k = &d->disks[i];
        b[0] = 0;
        if (k->path[0] != '/') {
            append_escaped(b, sizeof(b), dir);
            append_escaped(b, sizeof(b), "/");
        }
        append_escaped(b, sizeof(b), k->path);
        size_t at = strlen(b);
        snprintf(b + at, sizeof(b) - at, "%s%s%s%s%s%s", k->format ? ",format=" : "",
                 k->format ? k->format : "", k->read_only ? ",readonly=on" : "",
                 k->snapshot ? ",snapshot=on" : "", k->cache ? ",cache=" : "",
                 k->cache ? k->cache : "");
        for (unsigned j = 0; j < k->nbacking_dirs; j++) {
            const char *bd = k->backing_dirs[j];
            bool rel = bd[0] != '/';
            /* backing-dir= has no escape for a comma (vmdef_parse refuses
             * one in the field; the bundle's path could still hold one). */
            if (rel && strchr(dir, ','))
                a.bad = -EINVAL;
            at = strlen(b);
            if ((size_t)snprintf(b + at, sizeof(b) - at, ",backing-dir=%s%s%s", rel ? dir : "",
                                 rel ? "/" : "", bd) >= sizeof(b) - at)
                a.bad = -ENAMETOOLONG;
        }
        add(&a, "--disk");
        add(&a, b);
    }
    for (unsigned i = 0; i < d->nnics; i++) {
        const struct vmdef_nic *n = &d->nics[i];
        snprintf(b, sizeof(b), "%s", n->backend);
        if (n->mac)
            snprintf(b + strlen(b), sizeof(b) - strlen(b), ",mac=%s", n->mac);
        for (unsigned j = 0; j < n->nhostfwd; j++)
            snprintf(b + strlen(b), sizeof(b) - strlen(b), ",hostfwd=%s", n->hostfwd[j]);
        add(&a, "--net");
        add(&a, b);
    }
    if (d->balloon) {
        add(&a, "--balloon");
        add(&a, d->balloon == 1 ? "on" : "reporting");
    }
    if (a.oom || a.bad) {
        vmdef_argv_free(a.v);
        return a.oom ? -ENOMEM : a.bad;
    }
    *argv = a.v;
    return 0;
}

void vmdef_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}
