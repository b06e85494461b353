/* block: VHD metadata beside the I/O path (vhd.c has the layout):
 * checksums, the CHS geometry and the size it implies, the BAT scan that
 * open and check share, the parent of a differencing disk, creation and
 * check. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "block/vhd.h"
#include "util/util.h"

#define ROUND_UP(x, a) (((x) + (a) - 1) / (a) * (a))
#define VHD_BLOCK_SIZE  (2u << 20)   /* the default block size of the spec */
#define VHD_EPOCH       946684800    /* 2000-01-01 00:00:00 UTC in Unix time */
#define VHD_LOCATOR_MAX 4096u        /* bytes of locator data we accept */

uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t csum_at)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < len; i++)
        if (i < csum_at || i >= csum_at + 4)
            sum += buf[i];
    return ~sum;
}

void vhd_geometry(uint64_t sectors, uint16_t *cyls, uint8_t *heads,
                  uint8_t *spt)
{
    uint64_t cth;   /* cylinders times heads */
    sectors = MIN(sectors, VHD_MAX_GEOMETRY);
    if (sectors >= 65535ull * 16 * 63) {
        *spt = 255;
        *heads = 16;
        cth = sectors / *spt;
    } else {
        *spt = 17;
        cth = sectors / *spt;
        uint64_t h = (cth + 1023) / 1024;
        *heads = (uint8_t)MAX(h, 4u);
        if (cth >= (uint64_t)*heads * 1024 || h > 16) {
            *spt = 31;
            *heads = 16;
            cth = sectors / *spt;
        }
        if (cth >= (uint64_t)*heads * 1024) {
            *spt = 63;
            *heads = 16;
            cth = sectors / *spt;
        }
    }
    *cyls = (uint16_t)MIN(cth / *heads, 65535u);
}

uint64_t vhd_footer_size(const uint8_t *f)
{
    static const char *const by_size[] = { "win ", "qem2", "d2v ", "CTXS" };
    uint64_t chs = vhd_be(f + VHD_F_CYLS, 2) * f[VHD_F_HEADS] * f[VHD_F_SPT];
    bool use_size = chs == VHD_MAX_GEOMETRY ||
                    !memcmp(f + VHD_F_CREATOR, "tap\0", 4);
    for (size_t i = 0; i < ARRAY_SIZE(by_size); i++)
        use_size |= !memcmp(f + VHD_F_CREATOR, by_size[i], 4);
    return use_size ? vhd_be(f + VHD_F_CUR_SIZE, 8) : chs * VHD_SECTOR;
}

struct extent {
    uint64_t start, end;
    uint32_t idx;       /* BAT entry, or UINT32_MAX for metadata */
};

static int cmp_extent(const void *a, const void *b)
{
    const struct extent *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

int vhd_bat_scan(const struct vhd_state *s, const char *file, FILE *report,
                 char *err, size_t elen, uint64_t *nalloc, uint64_t *used)
{
    struct extent *x = malloc(((size_t)s->bat_entries + 3) * sizeof(*x));
    if (!x)
        return -ENOMEM;
    size_t nx = 0;
    int n = 0;
    uint64_t blen = (uint64_t)s->bitmap_size + s->block_size, u = 0, na = 0;
    uint64_t limit = MIN(s->footer_off, s->file_size);
    x[nx++] = (struct extent){ 0, VHD_FOOTER_LEN, UINT32_MAX };
    x[nx++] = (struct extent){ s->dyn_off, s->dyn_off + VHD_DYN_LEN, UINT32_MAX };
    x[nx++] = (struct extent){ s->bat_off, s->bat_off + (uint64_t)s->bat_entries * 4,
                               UINT32_MAX };
    for (uint32_t i = 0; i < s->bat_entries; i++) {
        if (s->bat[i] == VHD_UNALLOC)
            continue;
        uint64_t at = (uint64_t)s->bat[i] * VHD_SECTOR;
        if (at + blen > limit) {
            block_check_fault(report, err, elen, &n, "%s: BAT entry %u: the block at offset "
                  "%llu (%llu bytes with its bitmap) runs past the end of the "
                  "data at offset %llu", file, i, (unsigned long long)at,
                  (unsigned long long)blen, (unsigned long long)limit);
            continue;
        }
        x[nx++] = (struct extent){ at, at + blen, i };
        u += blen;
        na++;
    }
    qsort(x, nx, sizeof(*x), cmp_extent);
    /* Sorted by start, each extent is compared with the one reaching
     * furthest among those before it. */
    for (size_t i = 1, j = 0; i < nx; i++) {
        if (x[i].start >= x[j].end) {
            j = x[i].end > x[j].end ? i : j;
            continue;
        }
        if (x[i].idx == UINT32_MAX && x[j].idx == UINT32_MAX)
            ;   /* metadata overlapping metadata: the headers' business */
        else if (x[i].idx != UINT32_MAX && x[j].idx != UINT32_MAX)
            block_check_fault(report, err, elen, &n, "%s: BAT entries %u and %u: their blocks "
                  "at offsets %llu and %llu overlap", file, x[j].idx, x[i].idx,
                  (unsigned long long)x[j].start, (unsigned long long)x[i].start);
        else
            block_check_fault(report, err, elen, &n, "%s: BAT entry %u: the block at offset "
                  "%llu overlaps the footer copy, the dynamic disk header or the "
                  "BAT", file, x[i].idx != UINT32_MAX ? x[i].idx : x[j].idx,
                  (unsigned long long)(x[i].idx != UINT32_MAX ? x[i].start
                                                               : x[j].start));
        if (x[i].idx != UINT32_MAX && u >= blen) {   /* not counted as used */
            u -= blen;
            na--;
        }
        j = x[i].end > x[j].end ? i : j;
        if (n > 1000)
            break;
    }
    free(x);
    if (nalloc)
        *nalloc = na;
    if (used)
        *used = u;
    return n;
}

/* UTF-16 (big- or little-endian) of n bytes to UTF-8 in out (olen bytes),
 * up to the first NUL.  -EINVAL on a lone surrogate or when out is too
 * small. */
static int utf16_to_utf8(const uint8_t *in, size_t n, bool be, char *out,
                         size_t olen)
{
    size_t o = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t c = be ? (uint32_t)in[i] << 8 | in[i + 1]
                        : (uint32_t)in[i + 1] << 8 | in[i];
        if (!c)
            break;
        if (c >= 0xd800 && c < 0xdc00) {
            if (i + 3 >= n)
                return -EINVAL;
            uint32_t d = be ? (uint32_t)in[i + 2] << 8 | in[i + 3]
                            : (uint32_t)in[i + 3] << 8 | in[i + 2];
            if (d < 0xdc00 || d >= 0xe000)
                return -EINVAL;
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i += 2;
        } else if (c >= 0xdc00 && c < 0xe000) {
            return -EINVAL;
        }
        uint8_t u[4];
        size_t k;
        if (c < 0x80) {
            u[0] = (uint8_t)c; k = 1;
        } else if (c < 0x800) {
            u[0] = (uint8_t)(0xc0 | c >> 6); u[1] = (uint8_t)(0x80 | (c & 0x3f)); k = 2;
        } else if (c < 0x10000) {
            u[0] = (uint8_t)(0xe0 | c >> 12); u[1] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
            u[2] = (uint8_t)(0x80 | (c & 0x3f)); k = 3;
        } else {
            u[0] = (uint8_t)(0xf0 | c >> 18); u[1] = (uint8_t)(0x80 | (c >> 12 & 0x3f));
            u[2] = (uint8_t)(0x80 | (c >> 6 & 0x3f)); u[3] = (uint8_t)(0x80 | (c & 0x3f));
            k = 4;
        }
        if (o + k >= olen)
            return -EINVAL;
        memcpy(out + o, u, k);
        o += k;
    }
    if (!olen)
        return -EINVAL;
    out[o] = 0;
    return 0;
}

/* A Windows path as a host path: backslashes become slashes, a relative
 * path loses its leading ".\"; an absolute one with a drive letter has no
 * meaning here (returns false). */
static bool host_path(char *p, bool relative)
{
    for (char *c = p; *c; c++)
        if (*c == '\\')
            *c = '/';
    if (relative) {
        while (!strncmp(p, "./", 2))
            memmove(p, p + 2, strlen(p + 2) + 1);
        return *p && *p != '/';
    }
    return p[0] == '/';
}

/* Candidate parent names in the order they are tried: the relative
 * locators ("W2ru"), the absolute ones ("W2ku"), then the parent's file
 * name from the header, next to the child.  idx runs from 0; *name gets
 * the next one (a path relative to the child's directory, or absolute).
 * 1: a name, 0: no more, -errno with a message: a hostile locator. */
static int parent_name(struct block_dev *bd, const struct vhd_state *s,
                       unsigned *idx, char *name, size_t nlen, char *err,
                       size_t elen)
{
    for (; *idx < 16; (*idx)++) {
        unsigned i = *idx % 8;
        bool rel = *idx < 8;
        const uint8_t *l = s->dyn + VHD_D_LOCATORS + 24 * i;
        if (memcmp(l, rel ? "W2ru" : "W2ku", 4))
            continue;
        uint32_t len = (uint32_t)vhd_be(l + 8, 4);
        uint64_t at = vhd_be(l + 16, 8);
        if (!len || len > VHD_LOCATOR_MAX || at > s->file_size ||
            s->file_size - at < len)
            return block_errbuf(err, elen, -EINVAL, "%s: parent locator %u: %u "
                                "bytes at offset %llu (accepted: 1 to %u bytes inside "
                                "the %llu-byte file)", bd->filename, i, len,
                                (unsigned long long)at, VHD_LOCATOR_MAX,
                                (unsigned long long)s->file_size);
        uint8_t raw[VHD_LOCATOR_MAX];
        int r = host_pread(&bd->file, at, raw, len, false);
        if (r < 0)
            return block_errbuf(err, elen, r, "%s: read of parent locator %u: %s",
                                bd->filename, i, strerror(-r));
        if (utf16_to_utf8(raw, len, false, name, nlen) < 0)
            return block_errbuf(err, elen, -EINVAL, "%s: parent locator %u: not a "
                                "valid UTF-16 path", bd->filename, i);
        if (host_path(name, rel)) {
            (*idx)++;
            return 1;
        }
    }
    if (*idx == 16) {
        (*idx)++;
        if (utf16_to_utf8(s->dyn + VHD_D_PARENT_NAME, 512, true, name, nlen) == 0) {
            host_path(name, false);
            const char *b = strrchr(name, '/');
            if (b)
                memmove(name, b + 1, strlen(b + 1) + 1);
            if (*name && strcmp(name, ".") && strcmp(name, ".."))
                return 1;
        }
    }
    return 0;
}

int vhd_open_parent(struct block_dev *bd, struct vhd_state *s,
                    unsigned flags, struct block_open_ctx *ctx, char *err,
                    size_t elen)
{
    char name[VHD_LOCATOR_MAX * 2], tried[BLOCK_ERR_LEN / 2] = "";
    unsigned idx = 0;
    int r;
    while ((r = parent_name(bd, s, &idx, name, sizeof(name), err, elen)) > 0) {
        char *path;
        if (name[0] == '/') {
            path = strdup(name);
        } else {
            char *copy = strdup(bd->filename);
            path = NULL;
            if (copy && asprintf(&path, "%s/%s", dirname(copy), name) < 0)
                path = NULL;
            free(copy);
        }
        if (!path)
            return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", bd->filename);
        if (access(path, F_OK) < 0) {
            size_t t = strlen(tried);
            snprintf(tried + t, sizeof(tried) - t, "%s%s", t ? ", " : "", path);
            free(path);
            continue;
        }
        char sub[BLOCK_ERR_LEN];
        unsigned pflags = BLOCK_O_RDONLY | (flags & (BLOCK_O_LOCK | BLOCK_O_DIRECT));
        if (flags & BLOCK_O_BACKING_DIRECT)
            pflags |= BLOCK_O_DIRECT;
        r = block_open_internal(&bd->backing, path, pflags, BLOCK_FMT_VPC, ctx,
                                sub, sizeof(sub));
        if (r < 0) {
            block_errbuf(err, elen, r, "%s: cannot open the parent '%s' named by "
                         "the differencing disk: %s", bd->filename, path, sub);
            free(path);
            return r;
        }
        const struct vhd_state *ps = bd->backing->opaque;
        if (memcmp(ps->footer + VHD_F_UUID, s->dyn + VHD_D_PARENT_ID, 16)) {
            block_errbuf(err, elen, -EINVAL, "%s: dynamic disk header field parent "
                         "unique id does not match the unique id of the parent "
                         "'%s': the parent was replaced or changed", bd->filename,
                         path);
            free(path);
            return -EINVAL;
        }
        s->parent = path;
        return 0;
    }
    if (r < 0)
        return r;
    return block_errbuf(err, elen, -ENOENT, "%s: the parent of this differencing "
                        "disk was not found (tried: %s)", bd->filename,
                        *tried ? tried : "no usable parent locator or name");
}

/* Write the footer's checksum (and the dynamic header's) in place. */
static void seal(uint8_t *buf, size_t len, size_t csum_at)
{
    vhd_put_be(buf + csum_at, vhd_checksum(buf, len, csum_at), 4);
}

int vhd_create(const char *path, const struct block_create_opts *o,
               char *err, size_t elen)
{
    bool fixed = false;
    if (o->backing_file)
        return block_errbuf(err, elen, -ENOTSUP, "%s: creating differencing VHD "
                            "images is not supported (no backing file for vpc)",
                            path);
    if (o->subformat && !strcmp(o->subformat, "fixed"))
        fixed = true;
    else if (o->subformat && strcmp(o->subformat, "dynamic"))
        return block_errbuf(err, elen, -EINVAL, "%s: subformat '%s' (accepted for "
                            "vpc: dynamic, fixed)", path, o->subformat);
    /* As qemu-img: the smallest CHS geometry holding the size is the
     * size, unless it is the largest geometry, then the size itself. */
    uint64_t sectors = o->size / VHD_SECTOR + (o->size % VHD_SECTOR != 0);
    uint16_t c = 0;
    uint8_t h = 0, spt = 0;
    if (sectors >= VHD_MAX_GEOMETRY) {
        vhd_geometry(VHD_MAX_GEOMETRY, &c, &h, &spt);
    } else {
        vhd_geometry(sectors, &c, &h, &spt);
        for (uint64_t i = 1; sectors > (uint64_t)c * h * spt; i++)
            vhd_geometry(sectors + i, &c, &h, &spt);
    }
    if ((uint64_t)c * h * spt != VHD_MAX_GEOMETRY)
        sectors = (uint64_t)c * h * spt;
    if (sectors > VHD_MAX_SECTORS)
        return block_errbuf(err, elen, -EINVAL, "%s: size %llu is too large: a VHD "
                            "holds at most 2040 GiB (%llu bytes)", path,
                            (unsigned long long)o->size,
                            (unsigned long long)(VHD_MAX_SECTORS * VHD_SECTOR));
    uint64_t size = sectors * VHD_SECTOR;
    uint8_t f[VHD_FOOTER_LEN] = { 0 };
    memcpy(f + VHD_F_COOKIE, "conectix", 8);
    vhd_put_be(f + VHD_F_FEATURES, 2, 4);           /* "reserved", always set */
    vhd_put_be(f + VHD_F_VERSION, 0x00010000, 4);
    vhd_put_be(f + VHD_F_DATA_OFF, fixed ? VHD_NO_OFFSET : VHD_FOOTER_LEN, 8);
    vhd_put_be(f + VHD_F_TIMESTAMP, (uint64_t)(time(NULL) - VHD_EPOCH), 4);
    memcpy(f + VHD_F_CREATOR, "vssl", 4);
    vhd_put_be(f + VHD_F_CREATOR_V, 0x00010000, 4);
    memcpy(f + VHD_F_HOST_OS, "Wi2k", 4);
    vhd_put_be(f + VHD_F_ORIG_SIZE, size, 8);
    vhd_put_be(f + VHD_F_CUR_SIZE, size, 8);
    vhd_put_be(f + VHD_F_CYLS, c, 2);
    f[VHD_F_HEADS] = h;
    f[VHD_F_SPT] = spt;
    vhd_put_be(f + VHD_F_TYPE, fixed ? VHD_FIXED : VHD_DYNAMIC, 4);
    if (getrandom(f + VHD_F_UUID, 16, 0) != 16)
        for (int i = 0; i < 16; i++)
            f[VHD_F_UUID + i] = (uint8_t)(rand() ^ time(NULL) >> (i % 8));
    seal(f, sizeof(f), VHD_F_CHECKSUM);

    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return block_errbuf(err, elen, -errno, "%s: cannot create: %s", path,
                            strerror(errno));
    struct host_file hf = { .fd = fd };
    int r;
    if (fixed) {
        r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
        if (r == 0)
            r = host_pwrite(&hf, size, f, sizeof(f));
    } else {
        uint32_t entries = (uint32_t)((size + VHD_BLOCK_SIZE - 1) / VHD_BLOCK_SIZE);
        uint64_t bat_len = ROUND_UP((uint64_t)entries * 4, VHD_SECTOR);
        uint64_t bat_off = VHD_FOOTER_LEN + VHD_DYN_LEN;
        size_t total = (size_t)(bat_off + bat_len + VHD_FOOTER_LEN);
        uint8_t *buf = malloc(total);
        if (!buf) {
            close(fd);
            unlink(path);
            return block_errbuf(err, elen, -ENOMEM, "%s: out of memory", path);
        }
        memset(buf, 0, total);
        memcpy(buf, f, VHD_FOOTER_LEN);
        uint8_t *d = buf + VHD_FOOTER_LEN;
        memcpy(d + VHD_D_COOKIE, "cxsparse", 8);
        vhd_put_be(d + VHD_D_DATA_OFF, VHD_NO_OFFSET, 8);
        vhd_put_be(d + VHD_D_TABLE_OFF, bat_off, 8);
        vhd_put_be(d + VHD_D_VERSION, 0x00010000, 4);
        vhd_put_be(d + VHD_D_MAX_ENT, entries, 4);
        vhd_put_be(d + VHD_D_BLOCK_SIZE, VHD_BLOCK_SIZE, 4);
        seal(d, VHD_DYN_LEN, VHD_D_CHECKSUM);
        memset(buf + bat_off, 0xff, bat_len);
        memcpy(buf + bat_off + bat_len, f, VHD_FOOTER_LEN);
        r = host_pwrite(&hf, 0, buf, total);
        free(buf);
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r < 0) {
        unlink(path);
        return block_errbuf(err, elen, r, "%s: cannot write the new image: %s",
                            path, strerror(-r));
    }
    return 0;
}

int vhd_check(struct block_dev *bd, bool repair,
              struct block_check_result *res, FILE *report)
{
    struct vhd_state *s = bd->opaque;
    memset(res, 0, sizeof(*res));
    if (repair)
        return block_seterr(bd, -ENOTSUP, "%s: vessel img check cannot repair a "
                            "VHD; convert it to a new image instead", bd->filename);
    res->image_end_offset = s->file_size;
    if (s->type == VHD_FIXED)
        return 0;
    if (s->footer_from_copy) {
        res->corruptions++;
        if (report)
            fprintf(report, "ERROR %s: the footer at the end of the file is "
                    "damaged; its copy at offset 0 was used\n", bd->filename);
    } else {
        uint8_t copy[VHD_FOOTER_LEN];
        int r = host_pread(&bd->file, 0, copy, sizeof(copy), false);
        if (r < 0)
            return block_seterr(bd, r, "%s: read of the footer copy: %s",
                                bd->filename, strerror(-r));
        if (memcmp(copy, s->footer, sizeof(copy))) {
            res->corruptions++;
            if (report)
                fprintf(report, "ERROR %s: the footer copy at offset 0 differs "
                        "from the footer at the end of the file\n", bd->filename);
        }
    }
    uint64_t nalloc = 0, used = 0;
    int n = vhd_bat_scan(s, bd->filename, report, NULL, 0, &nalloc, &used);
    if (n < 0)
        return block_seterr(bd, n, "%s: out of memory", bd->filename);
    res->corruptions += (uint64_t)n;
    res->allocated_clusters = nalloc;
    res->total_clusters = (bd->size + s->block_size - 1) / s->block_size;
    /* Space between the metadata and the footer that no block covers. */
    uint64_t meta = MAX(s->dyn_off + VHD_DYN_LEN,
                        ROUND_UP(s->bat_off + (uint64_t)s->bat_entries * 4, VHD_SECTOR));
    uint64_t blen = (uint64_t)s->bitmap_size + s->block_size;
    for (unsigned i = 0; i < 8; i++) {   /* parent locator data is not a leak */
        const uint8_t *l = s->dyn + VHD_D_LOCATORS + 24 * i;
        uint64_t at = vhd_be(l + 16, 8), len = vhd_be(l + 8, 4);
        if (vhd_be(l, 4) && at >= meta && at < s->footer_off)
            used += ROUND_UP(len, VHD_SECTOR);
    }
    if (!n && s->footer_off > meta && s->footer_off - meta > used) {
        uint64_t gap = s->footer_off - meta - used;
        res->leaks = (gap + blen - 1) / blen;
        if (report)
            fprintf(report, "Leaked: %llu bytes between the BAT and the footer "
                    "belong to no block\n", (unsigned long long)gap);
    }
    return 0;
}
