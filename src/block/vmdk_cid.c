/* block: the VMDK content ID (CID), renewed at a disk's first change.
 *
 * Virtual Disk Format 1.1, "The Descriptor File": CID is a random 32-bit
 * value that changes the first time a disk is modified after it is
 * opened; a child disk keeps its parent's CID in parentCID and learns
 * from it that the parent was changed under it.  VMware and qemu-img
 * renew it; a write that left it as it was would let a child read a
 * changed parent as the one it was made from.
 *
 * The value is rewritten in place in the descriptor text (a descriptor
 * file, or the descriptor embedded in a monolithicSparse extent, within
 * its descriptorSize sectors), always as 8 hex digits.  An 8-digit value
 * is replaced byte for byte; a shorter one (qemu-img writes them without
 * leading zeros) moves the rest of the text along by the difference.
 * Everything else in the text is kept as it was.  Where the value is, the
 * parser says (vmdk_desc_parse's cid_at and cid_len). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "block/vmdk.h"

long vmdk_cid_set(char *text, size_t len, size_t cap, size_t at, size_t n, uint32_t cid)
{
    size_t grow = 8 - n;
    if (n < 1 || n > 8 || at + n > len)
        return -EINVAL;
    if (len + grow > cap)
        return -ENOSPC;
    memmove(text + at + 8, text + at + n, len - at - n);
    char digits[9];
    snprintf(digits, sizeof(digits), "%08x", cid);
    memcpy(text + at, digits, 8);
    return (long)(len + grow);
}

uint32_t vmdk_cid_new(uint32_t old)
{
    uint32_t cid = 0;
    while (cid == 0 || cid == 0xffffffffu || cid == old)
        if (getrandom(&cid, sizeof(cid), 0) != sizeof(cid))
            cid = (uint32_t)rand();
    return cid;
}
