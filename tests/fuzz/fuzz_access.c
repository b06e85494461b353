/* libFuzzer target: vesseld's access file (src/daemon/access.c), with
 * names resolved by a fixed table instead of the system's (the input
 * decides nothing about the host).  Any input is parsed; an accepted file
 * must be a table sorted by id with no id twice and only real roles, and
 * the role decision on it must keep its rules: root and the daemon's own
 * uid admin, a user's role the highest of its entry and its groups'.
 * A refused file must say why, naming the file.  Nothing may crash or
 * leak. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/access.h"

static const struct { const char *name; uint32_t id; } users[] = {
    { "alice", 1001 }, { "bob", 1002 }, { "nobody", 65534 },
}, groups[] = {
    { "vessel", 500 }, { "vessel-admin", 501 }, { "users", 100 },
};

static int fake_user(void *opaque, const char *name, uint32_t *id)
{
    (void)opaque;
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
        if (!strcmp(name, users[i].name))
            return *id = users[i].id, 0;
    return -ENOENT;
}

static int fake_group(void *opaque, const char *name, uint32_t *id)
{
    (void)opaque;
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (!strcmp(name, groups[i].name))
            return *id = groups[i].id, 0;
    return -ENOENT;
}

static void check_table(const struct access_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (e[i].role < ACCESS_VIEWER || e[i].role > ACCESS_ADMIN)
            abort();
        if (i && e[i - 1].id >= e[i].id)
            abort();    /* sorted, unique: what the lookup relies on */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct access_names names = { fake_user, fake_group, NULL };
    struct access *a = NULL;
    char err[512] = "";
    int rc = access_parse("access.json", (const char *)data, size, &names, &a, err,
                          sizeof(err));
    if (rc) {
        if (a || strncmp(err, "access.json: ", 13) || (rc != -EINVAL && rc != -ENOTSUP))
            abort();
        return 0;
    }
    check_table(a->users, a->nusers);
    check_table(a->groups, a->ngroups);
    uint32_t self = 4242;
    for (size_t i = 0; i < a->nusers; i++) {
        uint32_t uid = a->users[i].id;
        enum access_role r = access_role_for(a, uid, NULL, 0, self);
        if (uid != 0 && uid != self && r != a->users[i].role)
            abort();
        /* Groups only raise a user's role. */
        for (size_t g = 0; g < a->ngroups; g++) {
            enum access_role rg = access_role_for(a, uid, &a->groups[g].id, 1, self);
            if (rg < r || rg < a->groups[g].role)
                abort();
        }
    }
    if (access_role_for(a, 0, NULL, 0, self) != ACCESS_ADMIN ||
        access_role_for(a, self, NULL, 0, self) != ACCESS_ADMIN)
        abort();
    access_free(a);
    return 0;
}
