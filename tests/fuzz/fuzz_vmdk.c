/* libFuzzer target for the VMDK image parser (src/block/vmdk*.c): see
 * fuzz_vdisk.h.  Its read-write half allocates grains and tables in a
 * monolithicSparse image, appends to an empty streamOptimized one (and
 * checks that one holding data is refused); a descriptor file's extents
 * do not resolve from the memfd path and are refused. */
#include "fuzz_vdisk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_vdisk(data, size, BLOCK_FMT_VMDK);
}
