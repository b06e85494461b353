/* Reading one number from /proc/PID/status (util.h proc_status_u32). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

int proc_status_u32(pid_t pid, const char *key, unsigned *val)
{
    char path[64], line[256], fmt[64];
    if (pid)
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    else
        snprintf(path, sizeof(path), "/proc/self/status");
    /* "Key:" then the first number; later columns (Uid's effective,
     * saved and filesystem ids) are not read. */
    if ((size_t)snprintf(fmt, sizeof(fmt), "%s: %%u", key) >= sizeof(fmt))
        return -EINVAL;
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    int rc = -ENOENT;
    while (rc && fgets(line, sizeof(line), f))
        if (sscanf(line, fmt, val) == 1)
            rc = 0;
    fclose(f);
    return rc;
}
