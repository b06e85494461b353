/* libFuzzer target for the VMDK descriptor parser (src/block/vmdk_desc.c):
 * the input is descriptor text; a parse that succeeds is walked (every
 * extent and ddb key looked at, the CID value where the parser says it
 * is) and freed.  Every path must end in a clean error, never a crash, a
 * leak or an out-of-bounds access. */
#include <stdint.h>
#include <string.h>

#include "block/vmdk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[BLOCK_ERR_LEN];
    struct vmdk_desc d;
    if (vmdk_desc_parse((const char *)data, size, "fuzz.vmdk", &d, err, sizeof(err)) < 0)
        return 0;
    uint64_t sum = 0;
    for (unsigned i = 0; i < d.next; i++) {
        sum += d.ext[i].sectors;
        if (d.ext[i].file && !d.ext[i].file[0])
            __builtin_trap();   /* empty names are refused */
    }
    if (sum != d.total_sectors || !d.create_type[0])
        __builtin_trap();
    /* where the parser says the CID is (the renewal rewrites it there):
     * 1 to 8 hex digits inside the input */
    if (d.cid_len > 8 || d.cid_at + d.cid_len > size)
        __builtin_trap();
    for (size_t i = 0; i < d.cid_len; i++)
        if (!strchr("0123456789abcdefABCDEF", data[d.cid_at + i]) || !data[d.cid_at + i])
            __builtin_trap();
    for (unsigned i = 0; i < d.nddb; i++)
        if (strncmp(d.ddb[i].key, "ddb.", 4) || !vmdk_desc_ddb(&d, d.ddb[i].key))
            __builtin_trap();
    vmdk_desc_free(&d);
    return 0;
}
