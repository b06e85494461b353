/* libFuzzer target: the "disk" sections of a snapshot's state file
 * (src/vmm/snapdisk.c, docs/snapshot.md "The disk section").  Input byte
 * 0 picks what the rest is: even, the sections of a state file (as
 * snap_state_read returns them) for snapdisk_scan, which every restore
 * runs before a disk is opened; odd, one section for snapdisk_parse with
 * the index (byte 0 >> 1) & 7 expected.  Neither may crash or leak, and
 * whatever they accept must hold the invariants the restore relies on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snapdisk.h"

/* What snapdisk_parse promises of an accepted section. */
static void check(const struct snapdisk_rec *r, unsigned index)
{
    size_t pl = strnlen(r->path, sizeof(r->path));
    if (r->index != index || r->role < SNAPDISK_FROZEN || r->role > SNAPDISK_RAWCOPY ||
        pl == 0 || pl > SNAPDISK_PATH_MAX || r->path[0] != '/' ||
        r->virtual_size == 0 || r->virtual_size % 512)
        abort();
    if (r->role == SNAPDISK_RAWCOPY ? r->copy_size != r->virtual_size
                                    : r->copy_size || r->copy_mtime_ns || r->copy_crc)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    char err[512] = "";
    if (data[0] & 1) {
        struct sstate_reader r;
        struct snapdisk_rec rec;
        unsigned want = (data[0] >> 1) & 7;
        sstate_reader_init(&r, data + 1, size - 1);
        if (snapdisk_parse(&r, want, &rec, err, sizeof(err)) == 0) {
            check(&rec, want);
            if (r.pos > r.len)
                abort();
        } else if (!err[0]) {
            abort();   /* a refusal always says why */
        }
        return 0;
    }
    struct snapdisk_rec *recs = NULL;
    unsigned n = 0;
    int rc = snapdisk_scan(data + 1, size - 1, &recs, &n, err, sizeof(err));
    if (rc == 0) {
        if (n > VIRT_VIRTIO_SLOTS || (n && !recs))
            abort();
        for (unsigned i = 0; i < n; i++)
            check(&recs[i], i);
    } else if (recs || n || !err[0]) {
        abort();
    }
    free(recs);
    return 0;
}
