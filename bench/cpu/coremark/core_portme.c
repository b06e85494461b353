/* Vessel's CoreMark port: timing and set-up (see core_portme.h). */
#include <stdio.h>
#include <stdlib.h>
#include "coremark.h"

ee_u32 default_num_contexts = 1;
static CORE_TICKS start_ns, stop_ns;

static CORE_TICKS now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (CORE_TICKS)ts.tv_sec * 1000000000u + (CORE_TICKS)ts.tv_nsec;
}

void start_time(void) { start_ns = now_ns(); }
void stop_time(void) { stop_ns = now_ns(); }
CORE_TICKS get_time(void) { return stop_ns - start_ns; }
secs_ret time_in_secs(CORE_TICKS ticks) { return (secs_ret)ticks / 1e9; }

void *portable_malloc(ee_size_t size) { return malloc(size); }
void portable_free(void *p) { free(p); }

void portable_init(core_portable *p, int *argc, char *argv[])
{
    (void)argc;
    (void)argv;
    if (sizeof(ee_ptr_int) != sizeof(void *))
        ee_printf("ERROR: ee_ptr_int must hold a pointer\n");
    if (sizeof(ee_u32) != 4)
        ee_printf("ERROR: ee_u32 must be 32 bits\n");
    p->portable_id = 1;
}

void portable_fini(core_portable *p) { p->portable_id = 0; }
