/* cli: `vessel run --jail DIR [--jail-user UID:GID]` (vmm/jail.h,
 * docs/sandbox.md "The jail"): which files the VM still needs once the
 * host's tree is gone. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/util.h"
#include "vmm/jail.h"
#include "vmm/vmm.h"

int run_jail_user(const char *s, uid_t *uid, gid_t *gid)
{
    uint64_t u, g;
    char a[32];
    const char *colon = strchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(a))
        return -EINVAL;
    memcpy(a, s, (size_t)(colon - s));
    a[colon - s] = 0;
    if (parse_u64(a, &u) || parse_u64(colon + 1, &g) || !u || !g || u >= (uid_t)-1 ||
        g >= (gid_t)-1)
        return -EINVAL;
    *uid = (uid_t)u;
    *gid = (gid_t)g;
    return 0;
}

int run_jail_enter(struct vm *vm, const char *dir, uid_t uid, gid_t gid, bool nets,
                   const char *console_log)
{
    struct vm_jail j = { .dir = dir, .uid = uid, .gid = gid };
    const char *boot[4];
    size_t n = vm_boot_files(vm, boot);
    for (size_t i = 0; i < n; i++)
        j.files[j.nfiles++] = boot[i];
    /* libslirp reads the host's resolvers when the guest asks its DNS
     * address (10.0.2.3) something. */
    if (nets && access("/etc/resolv.conf", R_OK) == 0)
        j.files[j.nfiles++] = "/etc/resolv.conf";
    char rotated[4096];
    if (console_log) {
        j.owned[j.nowned++] = console_log;
        if ((size_t)snprintf(rotated, sizeof(rotated), "%s.1", console_log) <
            sizeof(rotated))
            j.owned[j.nowned++] = rotated;
    }
    char err[512];
    int rc = vm_jail_enter(&j, err, sizeof(err));
    if (rc)
        vlog_error("--jail %s: %s", dir, err);
    return rc;
}
