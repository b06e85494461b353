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
 * Everything else in the text is kept as it was. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "block/vmdk.h"

static bool hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int vmdk_cid_find(const char *text, size_t len, size_t *at, size_t *n)
{
    size_t i = 0;
    while (i < len && text[i]) {
        size_t e = i;
        while (e < len && text[e] && text[e] != '\n')
            e++;
        size_t j = i;
        while (j < e && (text[j] == ' ' || text[j] == '\t'))
            j++;
        /* "CID" then optional blanks and '=' ("parentCID" does not
         * start a line with "CID") */
        if (e - j > 3 && !memcmp(text + j, "CID", 3)) {
            size_t k = j + 3;
            while (k < e && (text[k] == ' ' || text[k] == '\t'))
                k++;
            if (k < e && text[k] == '=') {
                k++;
                while (k < e && (text[k] == ' ' || text[k] == '\t'))
                    k++;
                if (k < e && text[k] == '"')
                    k++;
                size_t d = 0;
                while (k + d < e && hex(text[k + d]))
                    d++;
                if (d < 1 || d > 8)
                    return -EINVAL;
                *at = k;
                *n = d;
                return 0;
            }
        }
        i = e + 1;
    }
    return -ENOENT;
}

long vmdk_cid_set(char *text, size_t len, size_t cap, uint32_t cid, size_t *at)
{
    size_t n;
    int r = vmdk_cid_find(text, len, at, &n);
    if (r < 0)
        return r;
    size_t grow = 8 - n;
    if (len + grow > cap)
        return -ENOSPC;
    memmove(text + *at + 8, text + *at + n, len - *at - n);
    char digits[9];
    snprintf(digits, sizeof(digits), "%08x", cid);
    memcpy(text + *at, digits, 8);
    return (long)(len + grow);
}
