/* Test helper: read a mapping's VmFlags from /proc/self/smaps.
 * Header-only, for test programs that include cmocka.h first. */
#ifndef VESSEL_TEST_SMAPS_H
#define VESSEL_TEST_SMAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The VmFlags of the mapping holding `p` (/proc/self/smaps) include
 * `flag` ("hg": MADV_HUGEPAGE, "nh": MADV_NOHUGEPAGE), whatever the
 * host's THP policy. */
static bool smaps_vmflag(const void *p, const char *flag)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    bool in = false, found = false;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        } else if (in && !strncmp(line, "VmFlags:", 8)) {
            for (char *t = strtok(line + 8, " \n"); t; t = strtok(NULL, " \n"))
                found |= !strcmp(t, flag);
        }
    }
    fclose(f);
    return found;
}

#endif
