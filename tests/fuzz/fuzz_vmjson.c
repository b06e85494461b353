/* libFuzzer target: vm.json, the daemon's VM definition
 * (src/daemon/vmdef.c).  Any input is parsed; an accepted definition must
 * write back to JSON that parses to the same JSON again, and give a
 * command line.  Nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vmdef d, e;
    char err[512];
    if (vmdef_parse("vm.json", (const char *)data, size, &d, err, sizeof(err)))
        return 0;
    char *s, *s2;
    if (vmdef_to_json(&d, &s, err, sizeof(err)))
        abort();    /* an accepted definition must write back */
    if (vmdef_parse("vm.json", s, strlen(s), &e, err, sizeof(err)) ||
        vmdef_to_json(&e, &s2, err, sizeof(err)) || strcmp(s, s2))
        abort();    /* and read back to the same */
    char **argv;
    if (vmdef_run_argv(&d, "/store/vm", &argv) == 0)
        vmdef_argv_free(argv);
    free(s);
    free(s2);
    vmdef_free(&e);
    vmdef_free(&d);
    return 0;
}
