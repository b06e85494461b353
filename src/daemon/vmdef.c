/* daemon: vm.json, a VM's definition in the store (daemon.h,
 * docs/vm-json.md).  Parsed with jansson; every field checked here, the
 * message naming the file and the field's JSON path. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "util/util.h"

#define PAGE 4096u

struct ctx {
    const char *file;
    char *err;
    size_t elen;
};

__attribute__((format(printf, 4, 5)))
static int bad(const struct ctx *c, int rc, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return errbuf(c->err, c->elen, rc, "%s: %s: %s", c->file, field, msg);
}

/* Only the keys in `known` (NULL-terminated) may appear in o. */
static int only_keys(const struct ctx *c, json_t *o, const char *where,
                     const char *const *known)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], k))
            i++;
        if (!known[i]) {
            char list[256] = "";
            for (i = 0; known[i]; i++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                         i ? ", " : "", known[i]);
            char f[128];
            snprintf(f, sizeof(f), "%s%s%s", where, *where ? "." : "", k);
            return bad(c, -EINVAL, f, "unknown field; expected one of %s", list);
        }
    }
    return 0;
}

/* A printable string of 1..max bytes without control characters. */
static int get_str(const struct ctx *c, json_t *o, const char *key, const char *field,
                   bool required, size_t max, char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return required ? bad(c, -EINVAL, field, "missing; expected a string") : 0;
    if (!json_is_string(v))
        return bad(c, -EINVAL, field, "expected a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (!n || n > max || strlen(s) != n)
        return bad(c, -EINVAL, field, "expected 1 to %zu bytes without NUL", max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return bad(c, -EINVAL, field, "control character at byte %zu", i);
    if (!(*out = strdup(s)))
        return -ENOMEM;
    return 0;
}

static int get_bool(const struct ctx *c, json_t *o, const char *key, const char *field,
                    bool *out)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return bad(c, -EINVAL, field, "expected true or false");
    *out = json_is_true(v);
    return 0;
}

bool vmdef_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > VMDEF_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
            return false;
    }
    return true;
}

static bool uuid_ok(char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (s[i] >= 'A' && s[i] <= 'F') {
            s[i] = (char)(s[i] - 'A' + 'a');
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

static bool mac_ok(const char *s)
{
    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        char ch = s[i];
        if (i % 3 == 2 ? ch != ':' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                                       (ch >= 'A' && ch <= 'F')))
            return false;
    }
    return true;
}

/* memory: an integer number of bytes, or a string "N", "NK", "NM", "NG",
 * "NT" (binary units), decimal digits only. */
static int get_memory(const struct ctx *c, json_t *v, uint64_t *out)
{
    const char *what = "expected bytes (an integer) or a size such as \"512M\" or "
                       "\"2G\" (K, M, G, T), a multiple of 4 KiB, 4 KiB to 1 TiB";
    uint64_t n = 0;
    if (json_is_integer(v)) {
        if (json_integer_value(v) <= 0)
            return bad(c, -EINVAL, "memory", "%s", what);
        n = (uint64_t)json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t i = 0;
        if (!s[0])
            return bad(c, -EINVAL, "memory", "%s", what);
        for (; s[i] >= '0' && s[i] <= '9'; i++) {
            if (n > (UINT64_MAX - 9) / 10)
                return bad(c, -EINVAL, "memory", "'%s' is too large; %s", s, what);
            n = n * 10 + (uint64_t)(s[i] - '0');
        }
        unsigned shift = 0;
        switch (s[i]) {
        case 0: break;
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: return bad(c, -EINVAL, "memory", "'%s': %s", s, what);
        }
        if (!i || (s[i] && s[i + 1]))
            return bad(c, -EINVAL, "memory", "'%s': %s", s, what);
        if (n > (VMDEF_MAX_MEMORY >> shift))
            return bad(c, -EINVAL, "memory", "'%s' is too large; %s", s, what);
        n <<= shift;
    } else {
        return bad(c, -EINVAL, "memory", "%s", what);
    }
    if (n < PAGE || n % PAGE || n > VMDEF_MAX_MEMORY)
        return bad(c, -EINVAL, "memory", "%llu bytes: %s", (unsigned long long)n, what);
    *out = n;
    return 0;
}

static int one_of(const struct ctx *c, const char *field, const char *v,
                  const char *const *allowed)
{
    for (size_t i = 0; allowed[i]; i++)
        if (!strcmp(v, allowed[i]))
            return 0;
    char list[128] = "";
    for (size_t i = 0; allowed[i]; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                 allowed[i]);
    return bad(c, -EINVAL, field, "'%s'; expected one of %s", v, list);
}

/* "backing_dirs": what `vessel run --disk FILE,backing-dir=DIR` takes; a
 * comma would end DIR there, so it is refused rather than escaped. */
static int parse_backing_dirs(const struct ctx *c, json_t *o, const char *where,
                              struct vmdef_disk *k)
{
    json_t *a = json_object_get(o, "backing_dirs");
    char f[64], ef[96];
    if (!a)
        return 0;
    snprintf(f, sizeof(f), "%s.backing_dirs", where);
    if (!json_is_array(a) || json_array_size(a) > VMDEF_MAX_BACKING_DIRS)
        return bad(c, -EINVAL, f, "expected an array of at most %d directories",
                   VMDEF_MAX_BACKING_DIRS);
    for (size_t j = 0; j < json_array_size(a); j++) {
        json_t *e = json_array_get(a, j);
        snprintf(ef, sizeof(ef), "%s[%zu]", f, j);
        const char *s = json_string_value(e);
        size_t n = s ? json_string_length(e) : 0;
        if (!s || !n || n > 4095 || strlen(s) != n)
            return bad(c, -EINVAL, ef, "expected a directory, 1 to 4095 bytes without NUL");
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == ',')
                return bad(c, -EINVAL, ef, "%s at byte %zu; a directory without commas "
                           "or control characters is accepted",
                           s[i] == ',' ? "comma" : "control character", i);
        if (!(k->backing_dirs[k->nbacking_dirs++] = strdup(s)))
            return -ENOMEM;
    }
    return 0;
}

static int parse_disk(const struct ctx *c, json_t *o, unsigned i, struct vmdef_disk *k)
{
    static const char *const keys[] = { "path", "format", "readonly", "snapshot", "cache",
                                        "backing_dirs", NULL };
    static const char *const formats[] = { "raw", "qcow2", "vpc", "vhd", "vdi", "vmdk", "vhdx", NULL };
    static const char *const caches[] = { "writeback", "none", "unsafe", NULL };
    char where[32], f[64];
    snprintf(where, sizeof(where), "disks[%u]", i);
    if (!json_is_object(o))
        return bad(c, -EINVAL, where, "expected an object {\"path\": ...}");
    int rc;
    if ((rc = only_keys(c, o, where, keys)))
        return rc;
    snprintf(f, sizeof(f), "%s.path", where);
    if ((rc = get_str(c, o, "path", f, true, 4095, &k->path)))
        return rc;
    snprintf(f, sizeof(f), "%s.format", where);
    if ((rc = get_str(c, o, "format", f, false, 16, &k->format)) ||
        (k->format && (rc = one_of(c, f, k->format, formats))))
        return rc;
    snprintf(f, sizeof(f), "%s.cache", where);
    if ((rc = get_str(c, o, "cache", f, false, 16, &k->cache)) ||
        (k->cache && (rc = one_of(c, f, k->cache, caches))))
        return rc;
    snprintf(f, sizeof(f), "%s.readonly", where);
    if ((rc = get_bool(c, o, "readonly", f, &k->read_only)))
        return rc;
    snprintf(f, sizeof(f), "%s.snapshot", where);
    if ((rc = get_bool(c, o, "snapshot", f, &k->snapshot)))
        return rc;
    if (k->read_only && k->snapshot)
        return bad(c, -EINVAL, where, "readonly and snapshot together; give one");
    return parse_backing_dirs(c, o, where, k);
}

static int parse_nic(const struct ctx *c, json_t *o, unsigned i, struct vmdef_nic *n)
{
    static const char *const keys[] = { "backend", "mac", "hostfwd", NULL };
    static const char *const backends[] = { "user", NULL };
    char where[32], f[64];
    snprintf(where, sizeof(where), "nics[%u]", i);
    if (!json_is_object(o))
        return bad(c, -EINVAL, where, "expected an object {\"backend\": \"user\", ...}");
    int rc;
    if ((rc = only_keys(c, o, where, keys)))
        return rc;
    snprintf(f, sizeof(f), "%s.backend", where);
    if ((rc = get_str(c, o, "backend", f, true, 16, &n->backend)) ||
        (rc = one_of(c, f, n->backend, backends)))
        return rc;
    snprintf(f, sizeof(f), "%s.mac", where);
    if ((rc = get_str(c, o, "mac", f, false, 17, &n->mac)))
        return rc;
    if (n->mac && !mac_ok(n->mac))
        return bad(c, -EINVAL, f, "'%s'; expected xx:xx:xx:xx:xx:xx (hex)", n->mac);
    json_t *fw = json_object_get(o, "hostfwd");
    if (!fw)
        return 0;
    snprintf(f, sizeof(f), "%s.hostfwd", where);
    if (!json_is_array(fw) || json_array_size(fw) > VMDEF_MAX_HOSTFWD)
        return bad(c, -EINVAL, f, "expected an array of at most %d strings such as "
                   "\"tcp:127.0.0.1:2222-:22\"", VMDEF_MAX_HOSTFWD);
    for (size_t j = 0; j < json_array_size(fw); j++) {
        json_t *e = json_array_get(fw, j);
        char ef[96];
        snprintf(ef, sizeof(ef), "%s[%zu]", f, j);
        if (!json_is_string(e))
            return bad(c, -EINVAL, ef, "expected a string such as \"tcp::2222-:22\"");
        const char *s = json_string_value(e);
        /* The backend parses it when the VM starts (net.h); here only
         * what would break the command line: a comma or a control byte. */
        if (!*s || strlen(s) > 128 || strchr(s, ',') ||
            (strncmp(s, "tcp:", 4) && strncmp(s, "udp:", 4)))
            return bad(c, -EINVAL, ef, "'%s'; expected tcp|udp:[HOSTADDR]:HOSTPORT-"
                       "[GUESTADDR]:GUESTPORT", s);
        for (const char *p = s; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return bad(c, -EINVAL, ef, "control character");
        if (!(n->hostfwd[n->nhostfwd++] = strdup(s)))
            return -ENOMEM;
    }
    return 0;
}

static int parse_boot(const struct ctx *c, json_t *o, struct vmdef *d)
{
    static const char *const keys[] = { "bios", "kernel", "initrd", "append", "firmware",
                                        NULL };
    if (!json_is_object(o))
        return bad(c, -EINVAL, "boot", "expected an object with \"kernel\" or \"bios\"");
    int rc;
    if ((rc = only_keys(c, o, "boot", keys)) ||
        (rc = get_str(c, o, "bios", "boot.bios", false, 4095, &d->bios)) ||
        (rc = get_str(c, o, "kernel", "boot.kernel", false, 4095, &d->kernel)) ||
        (rc = get_str(c, o, "initrd", "boot.initrd", false, 4095, &d->initrd)) ||
        (rc = get_str(c, o, "append", "boot.append", false, 4095, &d->append)) ||
        (rc = get_str(c, o, "firmware", "boot.firmware", false, 4095, &d->firmware)))
        return rc;
    if (!d->bios == !d->kernel)
        return bad(c, -EINVAL, "boot", "give exactly one of \"kernel\" and \"bios\"");
    if (d->bios && (d->initrd || d->append || d->firmware))
        return bad(c, -EINVAL, "boot", "\"initrd\", \"append\" and \"firmware\" go with "
                   "\"kernel\", not \"bios\"");
    return 0;
}

/* An optional string field that must be one of `names` (NULL-terminated):
 * *idx its index, 0 when absent. */
static int get_enum(const struct ctx *c, json_t *o, const char *key,
                    const char *const *names, unsigned *idx)
{
    char *v = NULL;
    int rc = get_str(c, o, key, key, false, 32, &v);
    if (!rc && v)
        rc = one_of(c, key, v, names);
    *idx = 0;
    for (unsigned i = 0; !rc && v && names[i]; i++)
        if (!strcmp(v, names[i]))
            *idx = i;
    free(v);
    return rc;
}

static int parse_obj(const struct ctx *c, json_t *root, struct vmdef *d)
{
    static const char *const keys[] = { "version", "name", "uuid", "vcpus", "memory", "boot",
                                        "disks", "nics", "autostart", "restart", "balloon",
                                        NULL };
    if (!json_is_object(root))
        return bad(c, -EINVAL, "(top)", "expected a JSON object");
    int rc;
    json_t *v = json_object_get(root, "version");
    if (!v || !json_is_integer(v) || json_integer_value(v) < 1)
        return bad(c, -EINVAL, "version", "expected an integer, %d", VMDEF_VERSION);
    if (json_integer_value(v) > VMDEF_VERSION)
        return bad(c, -ENOTSUP, "version", "%lld is newer than this vessel reads (%d)",
                   (long long)json_integer_value(v), VMDEF_VERSION);
    if ((rc = only_keys(c, root, "", keys)))
        return rc;
    if ((rc = get_str(c, root, "name", "name", true, VMDEF_NAME_MAX, &d->name)))
        return rc;
    if (!vmdef_name_ok(d->name))
        return bad(c, -EINVAL, "name", "'%s'; expected 1 to %d of A-Z a-z 0-9 . _ -, "
                   "starting with a letter or digit", d->name, VMDEF_NAME_MAX);
    if ((rc = get_str(c, root, "uuid", "uuid", true, 36, &d->uuid)))
        return rc;
    if (!uuid_ok(d->uuid))
        return bad(c, -EINVAL, "uuid", "'%s'; expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx "
                   "(hex)", d->uuid);
    v = json_object_get(root, "vcpus");
    d->vcpus = 1;
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > VMDEF_MAX_CPUS)
            return bad(c, -EINVAL, "vcpus", "expected an integer, 1 to %d", VMDEF_MAX_CPUS);
        d->vcpus = (unsigned)json_integer_value(v);
    }
    d->memory = 512ULL << 20;
    if ((v = json_object_get(root, "memory")) && (rc = get_memory(c, v, &d->memory)))
        return rc;
    if (!(v = json_object_get(root, "boot")))
        return bad(c, -EINVAL, "boot", "missing; expected {\"kernel\": ...} or "
                   "{\"bios\": ...}");
    if ((rc = parse_boot(c, v, d)))
        return rc;
    if ((v = json_object_get(root, "disks"))) {
        if (!json_is_array(v) || json_array_size(v) > VMDEF_MAX_DISKS)
            return bad(c, -EINVAL, "disks", "expected an array of at most %d disks",
                       VMDEF_MAX_DISKS);
        for (size_t i = 0; i < json_array_size(v); i++) {
            d->ndisks++;
            if ((rc = parse_disk(c, json_array_get(v, i), (unsigned)i, &d->disks[i])))
                return rc;
        }
    }
    if ((v = json_object_get(root, "nics"))) {
        if (!json_is_array(v) || json_array_size(v) > VMDEF_MAX_NICS)
            return bad(c, -EINVAL, "nics", "expected an array of at most %d NICs",
                       VMDEF_MAX_NICS);
        for (size_t i = 0; i < json_array_size(v); i++) {
            d->nnics++;
            if ((rc = parse_nic(c, json_array_get(v, i), (unsigned)i, &d->nics[i])))
                return rc;
        }
    }
    if ((rc = get_bool(c, root, "autostart", "autostart", &d->autostart)))
        return rc;
    /* Both in the order of their values (enum vmdef_restart; 0 1 2). */
    static const char *const policies[] = { "never", "on-failure", "always", NULL };
    static const char *const balloons[] = { "off", "on", "reporting", NULL };
    unsigned restart;
    if ((rc = get_enum(c, root, "restart", policies, &restart)) ||
        (rc = get_enum(c, root, "balloon", balloons, &d->balloon)))
        return rc;
    d->restart = (enum vmdef_restart)restart;
    return 0;
}

int vmdef_parse(const char *file, const char *json, size_t len, struct vmdef *d,
                char *err, size_t elen)
{
    struct ctx c = { file, err, elen };
    memset(d, 0, sizeof(*d));
    if (err && elen)
        err[0] = 0;
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return errbuf(err, elen, -EINVAL, "%s: line %d column %d: %s", file, je.line,
                      je.column, je.text);
    int rc = parse_obj(&c, root, d);
    json_decref(root);
    if (rc) {
        if (rc == -ENOMEM && err && elen && !err[0])
            errbuf(err, elen, rc, "%s: out of memory", file);
        vmdef_free(d);
    }
    return rc;
}

int vmdef_load(const char *dir, struct vmdef *d, char *err, size_t elen)
{
    char path[4096];
    memset(d, 0, sizeof(*d));
    if ((size_t)snprintf(path, sizeof(path), "%s/vm.json", dir) >= sizeof(path))
        return errbuf(err, elen, -ENAMETOOLONG, "%s: path too long", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errbuf(err, elen, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return errbuf(err, elen, -EINVAL, "%s: not a regular file", path);
    }
    if (st.st_size > VMDEF_FILE_MAX) {
        close(fd);
        return errbuf(err, elen, -EFBIG, "%s: %lld bytes; at most %u", path,
                      (long long)st.st_size, VMDEF_FILE_MAX);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return errbuf(err, elen, -ENOMEM, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    int rc = vmdef_parse(path, buf, got, d, err, elen);
    free(buf);
    return rc;
}

void vmdef_free(struct vmdef *d)
{
    free(d->name);
    free(d->uuid);
    free(d->bios);
    free(d->kernel);
    free(d->initrd);
    free(d->append);
    free(d->firmware);
    for (unsigned i = 0; i < d->ndisks && i < VMDEF_MAX_DISKS; i++) {
        free(d->disks[i].path);
        free(d->disks[i].format);
        free(d->disks[i].cache);
        for (unsigned j = 0; j < d->disks[i].nbacking_dirs; j++)
            free(d->disks[i].backing_dirs[j]);
    }
    for (unsigned i = 0; i < d->nnics && i < VMDEF_MAX_NICS; i++) {
        free(d->nics[i].backend);
        free(d->nics[i].mac);
        for (unsigned j = 0; j < d->nics[i].nhostfwd; j++)
            free(d->nics[i].hostfwd[j]);
    }
    memset(d, 0, sizeof(*d));
}
