/* daemon: the access file and the role decision (access.h). */
#include "daemon/access.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "util/util.h"

#define NSS_BUF_MAX (1u << 20)      /* getpw*_r / getgr*_r buffers grow to this */

const char *access_role_name(enum access_role r)
{
    switch (r) {
    case ACCESS_VIEWER: return "viewer";
    case ACCESS_OPERATOR: return "operator";
    case ACCESS_ADMIN: return "admin";
    default: return "none";
    }
}

static int role_parse(const char *s, enum access_role *r)
{
    for (enum access_role i = ACCESS_VIEWER; i <= ACCESS_ADMIN; i++)
        if (!strcmp(s, access_role_name(i))) {
            *r = i;
            return 0;
        }
    return -EINVAL;
}

/* ---- the system's names ---- */

static int sys_user(void *opaque, const char *name, uint32_t *uid)
{
    (void)opaque;
    size_t len = 16384;
    for (;;) {
        struct passwd pw, *res = NULL;
        char *buf = malloc(len);
        if (!buf)
            return -ENOMEM;
        int rc = getpwnam_r(name, &pw, buf, len, &res);
        if (res)
            *uid = (uint32_t)pw.pw_uid;
        free(buf);
        if (rc == ERANGE && len < NSS_BUF_MAX) {
            len *= 2;
            continue;
        }
        /* No entry is rc 0 (or, from some NSS modules, ENOENT/ESRCH). */
        return res ? 0 : rc && rc != ENOENT && rc != ESRCH ? -rc : -ENOENT;
    }
}

static int sys_group(void *opaque, const char *name, uint32_t *gid)
{
    (void)opaque;
    size_t len = 16384;
    for (;;) {
        struct group gr, *res = NULL;
        char *buf = malloc(len);
        if (!buf)
            return -ENOMEM;
        int rc = getgrnam_r(name, &gr, buf, len, &res);
        if (res)
            *gid = (uint32_t)gr.gr_gid;
        free(buf);
        if (rc == ERANGE && len < NSS_BUF_MAX) {
            len *= 2;
            continue;
        }
        return res ? 0 : rc && rc != ENOENT && rc != ESRCH ? -rc : -ENOENT;
    }
}

const struct access_names access_names_system = { sys_user, sys_group, NULL };

/* ---- the file ---- */

/* A key as messages may quote it: printable ASCII, at most 64 bytes. */
static const char *key_text(const char *k, char *buf, size_t len)
{
    size_t i = 0;
    for (; k[i] && i + 1 < len && i < 64; i++)
        buf[i] = (unsigned char)k[i] < 0x20 || (unsigned char)k[i] >= 0x7f ? '?' : k[i];
    buf[i] = 0;
    return buf;
}

/* Digits only, at most 4294967294 (uid_t -1 is "no id"): a numeric id. */
static bool numeric_id(const char *s, uint32_t *id)
{
    uint64_t v;
    if (!*s || strspn(s, "0123456789") != strlen(s) || parse_u64(s, &v) || v >= UINT32_MAX)
        return false;
    *id = (uint32_t)v;
    return true;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct access_entry *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* One of "users" / "groups": every key resolved, every value a role. */
static int parse_section(const char *file, const char *what, json_t *obj,
                         const struct access_names *names, struct access_entry **out,
                         size_t *n, size_t *total, char *err, size_t elen)
{
    bool users = !strcmp(what, "users");
    char kb[80], kb2[80];
    if (!json_is_object(obj))
        return errbuf(err, elen, -EINVAL, "%s: %s: expected an object of %s names (or "
                      "numeric %s) to roles", file, what, users ? "user" : "group",
                      users ? "uids" : "gids");
    size_t cap = json_object_size(obj);
    *total += cap;
    if (*total > ACCESS_MAX_ENTRIES)
        return errbuf(err, elen, -EINVAL, "%s: %s: more than %u entries in the file", file,
                      what, ACCESS_MAX_ENTRIES);
    struct access_entry *e = calloc(cap ? cap : 1, sizeof(*e));
    const char **keys = calloc(cap ? cap : 1, sizeof(*keys));
    if (!e || !keys) {
        free(e);
        free(keys);
        return errbuf(err, elen, -ENOMEM, "%s: out of memory", file);
    }
    const char *k;
    json_t *v;
    size_t i = 0;
    int rc = 0;
    json_object_foreach(obj, k, v) {
        const char *s = json_string_value(v);
        if (!s || role_parse(s, &e[i].role)) {
            rc = errbuf(err, elen, -EINVAL, "%s: %s.%s: %s%s%s; expected \"viewer\", "
                        "\"operator\" or \"admin\"", file, what, key_text(k, kb, sizeof(kb)),
                        s ? "unknown role '" : "not a string", s ? key_text(s, kb2,
                        sizeof(kb2)) : "", s ? "'" : "");
            goto out;
        }
        if (!numeric_id(k, &e[i].id)) {
            int r = users ? names->user(names->opaque, k, &e[i].id) :
                            names->group(names->opaque, k, &e[i].id);
            if (r == -ENOENT) {
                rc = errbuf(err, elen, -EINVAL, "%s: %s.%s: no such %s; expected a %s name "
                            "known to the system or a numeric %s", file, what,
                            key_text(k, kb, sizeof(kb)), users ? "user" : "group",
                            users ? "user" : "group", users ? "uid" : "gid");
                goto out;
            }
            if (r) {
                rc = errbuf(err, elen, r, "%s: %s.%s: cannot look the name up: %s", file,
                            what, key_text(k, kb, sizeof(kb)), strerror(-r));
                goto out;
            }
        }
        keys[i++] = k;
    }
    /* Two keys for one id ("alice" and "1001") would make the file say
     * two things: refused, naming both. */
    for (size_t a = 0; a < i; a++)
        for (size_t b = a + 1; b < i; b++)
            if (e[a].id == e[b].id) {
                rc = errbuf(err, elen, -EINVAL, "%s: %s.%s: the same %s as %s.%s (%s %u); "
                            "expected one entry each", file, what,
                            key_text(keys[b], kb, sizeof(kb)), users ? "user" : "group",
                            what, key_text(keys[a], kb2, sizeof(kb2)), users ? "uid" : "gid",
                            e[a].id);
                goto out;
            }
    qsort(e, i, sizeof(*e), cmp_entry);
    *out = e;
    *n = i;
    e = NULL;
out:
    free(e);
    free(keys);
    return rc;
}

int access_parse(const char *file, const char *json, size_t len,
                 const struct access_names *names, struct access **out, char *err,
                 size_t elen)
{
    json_error_t je;
    char kb[80];
    *out = NULL;
    if (!names)
        names = &access_names_system;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return errbuf(err, elen, -EINVAL, "%s: not valid JSON: %s (line %d, column %d)",
                      file, je.text, je.line, je.column);
    struct access *a = calloc(1, sizeof(*a));
    int rc = 0;
    size_t total = 0;
    if (!a) {
        rc = errbuf(err, elen, -ENOMEM, "%s: out of memory", file);
        goto out;
    }
    if (!json_is_object(doc)) {
        rc = errbuf(err, elen, -EINVAL, "%s: expected a JSON object {\"version\": 1, "
                    "\"users\": {...}, \"groups\": {...}}", file);
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
        if (strcmp(k, "version") && strcmp(k, "users") && strcmp(k, "groups")) {
            rc = errbuf(err, elen, -EINVAL, "%s: %s: unknown field; expected version, users, "
                        "groups", file, key_text(k, kb, sizeof(kb)));
            goto out;
        }
    v = json_object_get(doc, "version");
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        rc = errbuf(err, elen, -EINVAL, "%s: version: %s; expected %d", file,
                    v ? "not a positive integer" : "missing", ACCESS_VERSION);
        goto out;
    }
    if (json_integer_value(v) > ACCESS_VERSION) {
        rc = errbuf(err, elen, -ENOTSUP, "%s: version: %lld is newer than this vesseld "
                    "reads (%d)", file, (long long)json_integer_value(v), ACCESS_VERSION);
        goto out;
    }
    if ((v = json_object_get(doc, "users")) &&
        (rc = parse_section(file, "users", v, names, &a->users, &a->nusers, &total, err,
                            elen)))
        goto out;
    if ((v = json_object_get(doc, "groups")) &&
        (rc = parse_section(file, "groups", v, names, &a->groups, &a->ngroups, &total, err,
                            elen)))
        goto out;
    *out = a;
    a = NULL;
out:
    access_free(a);
    json_decref(doc);
    return rc;
}

int access_load(const char *path, bool missing_ok, struct access **out, char *err,
                size_t elen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && missing_ok) {
        *out = calloc(1, sizeof(**out));
        return *out ? 0 : errbuf(err, elen, -ENOMEM, "%s: out of memory", path);
    }
    if (fd < 0)
        return errbuf(err, elen, -errno, "%s: %s; expected a readable access file", path,
                      strerror(errno));
    struct stat st;
    char *buf = NULL;
    int rc;
    if (fstat(fd, &st)) {
        rc = errbuf(err, elen, -errno, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = errbuf(err, elen, -EINVAL, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size > (off_t)ACCESS_FILE_MAX) {
        rc = errbuf(err, elen, -EFBIG, "%s: %lld bytes; at most %u accepted", path,
                    (long long)st.st_size, ACCESS_FILE_MAX);
        goto out;
    }
    if (!(buf = malloc((size_t)st.st_size + 1))) {
        rc = errbuf(err, elen, -ENOMEM, "%s: out of memory", path);
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = errbuf(err, elen, -errno, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (!r)
            break;
        got += (size_t)r;
    }
    rc = access_parse(path, buf, got, NULL, out, err, elen);
out:
    free(buf);
    close(fd);
    return rc;
}

void access_free(struct access *a)
{
    if (!a)
        return;
    free(a->users);
    free(a->groups);
    free(a);
}

/* ---- the decision ---- */

static enum access_role lookup(const struct access_entry *e, size_t n, uint32_t id)
{
    struct access_entry key = { .id = id };
    const struct access_entry *hit = n ? bsearch(&key, e, n, sizeof(*e), cmp_entry) : NULL;
    return hit ? hit->role : ACCESS_NONE;
}

enum access_role access_role_for(const struct access *a, uint32_t uid, const uint32_t *gids,
                                 size_t ngids, uint32_t self)
{
    if (uid == 0 || uid == self)
        return ACCESS_ADMIN;
    if (!a)
        return ACCESS_NONE;
    enum access_role r = lookup(a->users, a->nusers, uid);
    for (size_t i = 0; i < ngids; i++) {
        enum access_role g = lookup(a->groups, a->ngroups, gids[i]);
        r = g > r ? g : r;
    }
    return r;
}

enum access_role access_peer_role(const struct access *a, const struct access_peer *p,
                                  uint32_t self)
{
    if (!p->known)
        return ACCESS_NONE;
    return access_role_for(a, p->uid, p->groups, p->ngroups, self);
}

/* The uid's passwd name and primary group, or -ENOENT. */
static int user_of(uint32_t uid, char **name, uint32_t *gid)
{
    size_t len = 16384;
    for (;;) {
        struct passwd pw, *res = NULL;
        char *buf = malloc(len);
        if (!buf)
            return -ENOMEM;
        int rc = getpwuid_r((uid_t)uid, &pw, buf, len, &res);
        if (res) {
            *gid = (uint32_t)pw.pw_gid;
            *name = strdup(pw.pw_name);
        }
        free(buf);
        if (rc == ERANGE && len < NSS_BUF_MAX) {
            len *= 2;
            continue;
        }
        if (!res)
            return -ENOENT;
        return *name ? 0 : -ENOMEM;
    }
}

void access_peer_get(int fd, struct access_peer *p)
{
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    memset(p, 0, sizeof(*p));
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
        clen != sizeof(cred))
        return;
    p->known = true;
    p->uid = (uint32_t)cred.uid;
    p->gid = (uint32_t)cred.gid;
    p->pid = (int32_t)cred.pid;
    char *name = NULL;
    uint32_t pgid = 0;
    int n = 0;
    gid_t *list = NULL;
    bool have_user = !user_of(p->uid, &name, &pgid);
    if (have_user) {
        /* getgrouplist says how many there are when the buffer is short. */
        n = 32;
        for (int tries = 0; tries < 4; tries++) {
            gid_t *nl = realloc(list, (size_t)n * sizeof(*nl));
            if (!nl)
                break;
            list = nl;
            int want = n;
            if (getgrouplist(name, (gid_t)pgid, list, &want) >= 0) {
                n = want;
                break;
            }
            n = want > n ? want : n * 2;
            if (tries == 3)
                n = 0;
        }
        if (!list)
            n = 0;
    }
    free(name);
    p->groups = calloc((size_t)n + 2, sizeof(*p->groups));
    if (p->groups) {
        p->groups[p->ngroups++] = p->gid;
        if (have_user)
            p->groups[p->ngroups++] = pgid;
        for (int i = 0; i < n; i++)
            p->groups[p->ngroups++] = (uint32_t)list[i];
    }
    free(list);
}

void access_peer_free(struct access_peer *p)
{
    free(p->groups);
    p->groups = NULL;
    p->ngroups = 0;
}
