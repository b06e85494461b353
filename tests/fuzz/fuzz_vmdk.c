/* libFuzzer target for the VMDK parser (src/block/vmdk.c): see
 * fuzz_vdisk.h (its read-write half only checks that such opens are
 * refused). */
#include "fuzz_vdisk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_vdisk(data, size, BLOCK_FMT_VMDK);
}
