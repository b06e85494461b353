/* block: new VMDK images ("Virtual Disk Format 1.1"), laid out as
 * qemu-img lays them out.
 *
 *  - monolithicSparse: one file.  Sector 0 the sparse extent header
 *    (version 1, flags: newline test and redundant directory; 64 KiB
 *    grains, 512 entries per grain table), sectors 1-20 the embedded
 *    descriptor, then the redundant grain directory and its tables, the
 *    grain directory and its tables (every table allocated, all entries
 *    0: the file holds them as holes), grains from the first 64 KiB
 *    boundary after them (the overhead).
 *  - streamOptimized: the header (version 3, flags: newline test,
 *    compressed grains, markers; directory offset GD_AT_END), the
 *    descriptor, then at the overhead an empty stream: a grain directory
 *    marker and its all-zero directory, the footer marker and footer, the
 *    end-of-stream marker (vmdk_stream.c writes grains over them).
 *  - monolithicFlat: a descriptor file and NAME-flat.vmdk, the raw disk.
 *  - twoGbMaxExtentFlat / twoGbMaxExtentSparse: a descriptor file and
 *    extents of 2 GiB at most, NAME-fNNN.vmdk raw or NAME-sNNN.vmdk each
 *    a sparse extent (as monolithicSparse, without a descriptor).
 * Extent files sit beside the descriptor.  A failure removes every file
 * made. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/vmdk.h"
#include "util/util.h"

#define VMDK_DESC_SECTORS 20u
#define VMDK_2GB_SECTORS  (4194304ull)          /* 2 GiB extents */
#define VMDK_SPARSE_MAX   (2ull << 40)          /* 2 TiB: sectors fit 32 bits */

int vmdk_desc_format(char *out, size_t n, const char *create_type, uint64_t sectors,
                     const char *extents)
{
    uint32_t cid = vmdk_cid_new(0);
    uint64_t cyl = MIN(sectors / (16 * 63), 16383ull);
    int k = snprintf(out, n, "# Disk DescriptorFile\nversion=1\nCID=%08x\n"
                     "parentCID=ffffffff\ncreateType=\"%s\"\n\n# Extent description\n"
                     "%s\n# The Disk Data Base\n#DDB\n\n"
                     "ddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"%llu\"\n"
                     "ddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\n"
                     "ddb.adapterType = \"ide\"\n", cid, create_type, extents,
                     (unsigned long long)cyl);
    return k < 0 || (size_t)k >= n ? -ENOSPC : k;
}

/* Write a sparse extent of `sectors` to fd: embedded descriptor `desc`
 * (NULL: none) or, with `stream`, the streamOptimized layout. */
static int write_sparse(int fd, uint64_t sectors, const char *desc, bool stream)
{
    uint64_t gspan = (uint64_t)VMDK_GRAIN_SECTORS * VMDK_GTES;   /* sectors per table */
    uint64_t ngt = (sectors + gspan - 1) / gspan;
    uint64_t gdsec = (ngt * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
    uint64_t tsec = VMDK_GTES * 4 / VMDK_SECTOR;
    uint64_t dsec = desc ? VMDK_DESC_SECTORS : 0, doff = desc ? 1 : 0;
    uint64_t rgd = 1 + dsec, gd = rgd + gdsec + ngt * tsec;
    uint64_t meta = stream ? 1 + dsec : gd + gdsec + ngt * tsec;
    uint64_t over = (meta + VMDK_GRAIN_SECTORS - 1) / VMDK_GRAIN_SECTORS * VMDK_GRAIN_SECTORS;
    /* stream: GD marker, directory, footer marker, footer, EOS */
    uint64_t total = stream ? over + 1 + gdsec + 3 : over;
    size_t head = (size_t)((stream ? total : meta) * VMDK_SECTOR);
    uint8_t *b = calloc(1, head);
    if (!b)
        return -ENOMEM;
    uint8_t *h = b;
    le_put(h, VMDK_MAGIC, 4);
    le_put(h + VMDK_H_VERSION, stream ? 3 : 1, 4);
    le_put(h + VMDK_H_FLAGS, VMDK_FLAG_NL_TEST | (stream ? VMDK_FLAG_COMPRESSED |
                                                  VMDK_FLAG_MARKERS : VMDK_FLAG_RGD), 4);
    le_put(h + VMDK_H_CAPACITY, sectors, 8);
    le_put(h + VMDK_H_GRAIN, VMDK_GRAIN_SECTORS, 8);
    le_put(h + VMDK_H_DESC_OFF, doff, 8);
    le_put(h + VMDK_H_DESC_SIZE, dsec, 8);
    le_put(h + VMDK_H_GTES, VMDK_GTES, 4);
    le_put(h + VMDK_H_RGD_OFF, stream ? 0 : rgd, 8);
    le_put(h + VMDK_H_GD_OFF, stream ? VMDK_GD_AT_END : gd, 8);
    le_put(h + VMDK_H_OVERHEAD, over, 8);
    memcpy(h + VMDK_H_NL, "\n \r\n", 4);
    if (stream)
        le_put(h + VMDK_H_COMPRESS, 1, 2);
    if (desc)
        memcpy(b + VMDK_SECTOR, desc, strlen(desc));
    if (stream) {
        uint8_t *m = b + over * VMDK_SECTOR;
        le_put(m, gdsec, 8);
        le_put(m + 12, VMDK_MARKER_GD, 4);
        m += (1 + gdsec) * VMDK_SECTOR;
        le_put(m, 1, 8);
        le_put(m + 12, VMDK_MARKER_FOOTER, 4);
        memcpy(m + VMDK_SECTOR, h, VMDK_SECTOR);
        le_put(m + VMDK_SECTOR + VMDK_H_GD_OFF, over + 1, 8);
    } else {
        for (uint64_t i = 0; i < ngt; i++) {
            le_put(b + rgd * VMDK_SECTOR + i * 4, rgd + gdsec + i * tsec, 4);
            le_put(b + gd * VMDK_SECTOR + i * 4, gd + gdsec + i * tsec, 4);
        }
    }
    struct host_file hf = { .fd = fd };
    int r = host_pwrite(&hf, 0, b, head);
    free(b);
    if (r == 0 && ftruncate(fd, (off_t)(total * VMDK_SECTOR)) < 0)
        r = -errno;
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    return r;
}

static int make_file(const char *path, int *fd)
{
    *fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    return *fd < 0 ? -errno : 0;
}

/* A descriptor file at `path` with extent files beside it. */
static int create_split(const char *path, const char *type, uint64_t sectors,
                        bool sparse, bool two_gb, char *err, size_t elen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t bl = strlen(base);
    if (bl > 5 && !strcmp(base + bl - 5, ".vmdk"))
        bl -= 5;
    uint64_t each = two_gb ? VMDK_2GB_SECTORS : sectors;
    uint64_t n = (sectors + each - 1) / each;
    if (!n)
        return block_errbuf(err, elen, -EINVAL, "%s: size 0 (a %s VMDK needs at least "
                            "one sector)", path, type);
    if (n > VMDK_DESC_EXTENTS_MAX)
        return block_errbuf(err, elen, -EINVAL, "%s: %llu extents (accepted: at most %u)",
                            path, (unsigned long long)n, VMDK_DESC_EXTENTS_MAX);
    size_t cap = (size_t)n * (bl + 64) + 1;
    char *ext = malloc(cap), *desc = malloc(cap + 1024);
    char *full = malloc(strlen(path) + 32);
    if (!ext || !desc || !full) {
        free(ext); free(desc); free(full);
        return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", path);
    }
    size_t dir = (size_t)(base - path), used = 0;
    ext[0] = 0;
    int r = 0;
    uint64_t made = 0;
    for (uint64_t i = 0; i < n && r == 0; i++) {
        uint64_t sec = MIN(each, sectors - i * each);
        char name[64 + 256];
        if (!two_gb)
            snprintf(name, sizeof(name), "%.*s-flat.vmdk", (int)MIN(bl, 255u), base);
        else
            snprintf(name, sizeof(name), "%.*s-%c%03llu.vmdk", (int)MIN(bl, 255u), base,
                     sparse ? 's' : 'f', (unsigned long long)i + 1);
        used += (size_t)snprintf(ext + used, cap - used, "RW %llu %s \"%s\"%s\n",
                                 (unsigned long long)sec, sparse ? "SPARSE" : "FLAT",
                                 name, sparse ? "" : " 0");
        snprintf(full, strlen(path) + 32, "%.*s%s", (int)dir, path, name);
        int fd;
        if ((r = make_file(full, &fd)) < 0) {
            block_errbuf(err, elen, r, "%s: cannot create the extent file %s: %s", path,
                         full, strerror(-r));
            break;
        }
        made++;
        r = sparse ? write_sparse(fd, sec, NULL, false)
                   : (ftruncate(fd, (off_t)(sec * VMDK_SECTOR)) < 0 ? -errno : 0);
        close(fd);
        if (r < 0)
            block_errbuf(err, elen, r, "%s: cannot write the extent file %s: %s", path,
                         full, strerror(-r));
    }
    int fd = -1;
    if (r == 0 && (r = vmdk_desc_format(desc, cap + 1024, type, sectors, ext)) >= 0) {
        size_t dl = (size_t)r;
        if ((r = make_file(path, &fd)) == 0) {
            struct host_file hf = { .fd = fd };
            r = host_pwrite(&hf, 0, desc, dl);
            if (r == 0 && fsync(fd) < 0)
                r = -errno;
            close(fd);
        }
        if (r < 0)
            block_errbuf(err, elen, r, "%s: cannot write the descriptor: %s", path,
                         strerror(-r));
    }
    if (r < 0) {
        for (uint64_t i = 0; i < made; i++) {
            if (!two_gb)
                snprintf(full, strlen(path) + 32, "%.*s%.*s-flat.vmdk", (int)dir, path,
                         (int)MIN(bl, 255u), base);
            else
                snprintf(full, strlen(path) + 32, "%.*s%.*s-%c%03llu.vmdk", (int)dir,
                         path, (int)MIN(bl, 255u), base, sparse ? 's' : 'f',
                         (unsigned long long)i + 1);
            unlink(full);
        }
        if (fd >= 0)
            unlink(path);
    }
    free(ext); free(desc); free(full);
    return r < 0 ? r : 0;
}

int vmdk_create(const char *path, const struct block_create_opts *o, char *err,
                size_t elen)
{
    const char *sub = o->subformat ? o->subformat : "monolithicSparse";
    if (o->backing_file)
        return block_errbuf(err, elen, -ENOTSUP, "%s: a VMDK with a parent disk cannot be "
                            "created (backing_file)", path);
    uint64_t sectors = (o->size + VMDK_SECTOR - 1) / VMDK_SECTOR;
    bool stream = !strcmp(sub, "streamOptimized");
    if (!strcmp(sub, "monolithicFlat"))
        return create_split(path, sub, sectors, false, false, err, elen);
    if (!strcmp(sub, "twoGbMaxExtentFlat"))
        return create_split(path, sub, sectors, false, true, err, elen);
    if (!strcmp(sub, "twoGbMaxExtentSparse"))
        return create_split(path, sub, sectors, true, true, err, elen);
    if (!stream && strcmp(sub, "monolithicSparse"))
        return block_errbuf(err, elen, -EINVAL, "%s: subformat '%s' (accepted for vmdk: "
                            "monolithicSparse, streamOptimized, monolithicFlat, "
                            "twoGbMaxExtentSparse, twoGbMaxExtentFlat)", path, sub);
    if (sectors * VMDK_SECTOR > VMDK_SPARSE_MAX)
        return block_errbuf(err, elen, -EINVAL, "%s: size %llu is too large: a %s VMDK "
                            "holds at most %llu bytes", path, (unsigned long long)o->size,
                            sub, (unsigned long long)VMDK_SPARSE_MAX);
    const char *slash = strrchr(path, '/');
    char ext[600], desc[VMDK_DESC_SECTORS * VMDK_SECTOR];
    snprintf(ext, sizeof(ext), "RW %llu SPARSE \"%.500s\"", (unsigned long long)sectors,
             slash ? slash + 1 : path);
    if (vmdk_desc_format(desc, sizeof(desc), sub, sectors, ext) < 0)
        return block_errbuf(err, elen, -EINVAL, "%s: the file name is too long for the "
                            "embedded descriptor", path);
    int fd, r = make_file(path, &fd);
    if (r < 0)
        return block_errbuf(err, elen, r, "%s: cannot create: %s", path, strerror(-r));
    r = write_sparse(fd, sectors, desc, stream);
    close(fd);
    if (r < 0) {
        unlink(path);
        return block_errbuf(err, elen, r, "%s: cannot write the new image: %s", path,
                            strerror(-r));
    }
    return 0;
}
