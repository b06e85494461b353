/* libFuzzer target for the VDI parser (src/block/vdi.c): see fuzz_vdisk.h. */
#include "fuzz_vdisk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_vdisk(data, size, BLOCK_FMT_VDI);
}
