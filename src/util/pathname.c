/* Path names worked on as strings (util.h): for paths that may not exist
 * yet, or whose meaning must not depend on symbolic links. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

int path_lexical(const char *base, const char *path, char *out, size_t len)
{
    char in[8192];
    if ((size_t)snprintf(in, sizeof(in), "%s/%s", path[0] == '/' || !base ? "" : base,
                         path) >= sizeof(in) || !len)
        return -ENAMETOOLONG;
    size_t o = 0;
    out[0] = 0;
    for (char *save, *c = strtok_r(in, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            while (o > 0 && out[--o] != '/')
                ;
            out[o] = 0;
            continue;
        }
        size_t n = strlen(c);
        if (o + 1 + n + 1 > len)
            return -ENAMETOOLONG;
        out[o++] = '/';
        memcpy(out + o, c, n + 1);
        o += n;
    }
    if (!o) {
        if (len < 2)
            return -ENAMETOOLONG;
        memcpy(out, "/", 2);
    }
    return 0;
}

bool path_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return path[0] == '/';
    return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == 0);
}
