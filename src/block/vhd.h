/* block: VHD driver internals shared by vhd.c (open, I/O) and
 * vhd_meta.c (create, check, geometry, parent locators).  Not a public
 * API.  The on-disk layout is summarised at the top of vhd.c. */
#ifndef VESSEL_BLOCK_VHD_H
#define VESSEL_BLOCK_VHD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "block/block_int.h"

#define VHD_FOOTER_LEN   512u
#define VHD_DYN_LEN      1024u
#define VHD_SECTOR       512u
#define VHD_UNALLOC      0xffffffffu   /* BAT entry of an absent block */
#define VHD_NO_OFFSET    UINT64_MAX    /* footer data offset of a fixed disk */

/* Footer fields (byte offsets, big-endian). */
#define VHD_F_COOKIE     0    /* "conectix" */
#define VHD_F_FEATURES   8
#define VHD_F_VERSION    12   /* 0x00010000 */
#define VHD_F_DATA_OFF   16   /* dynamic header offset, or ~0 (fixed) */
#define VHD_F_TIMESTAMP  24   /* seconds since 2000-01-01 00:00 UTC */
#define VHD_F_CREATOR    28   /* 4 characters: "vpc ", "win ", "qemu" */
#define VHD_F_CREATOR_V  32
#define VHD_F_HOST_OS    36
#define VHD_F_ORIG_SIZE  40
#define VHD_F_CUR_SIZE   48
#define VHD_F_CYLS       56   /* u16 */
#define VHD_F_HEADS      58   /* u8 */
#define VHD_F_SPT        59   /* u8: sectors per track */
#define VHD_F_TYPE       60
#define VHD_F_CHECKSUM   64
#define VHD_F_UUID       68   /* 16 bytes */
#define VHD_F_SAVED      84

/* Dynamic disk header fields (byte offsets, big-endian). */
#define VHD_D_COOKIE     0    /* "cxsparse" */
#define VHD_D_DATA_OFF   8    /* unused: ~0 */
#define VHD_D_TABLE_OFF  16   /* BAT offset */
#define VHD_D_VERSION    24   /* 0x00010000 */
#define VHD_D_MAX_ENT    28   /* BAT entries */
#define VHD_D_BLOCK_SIZE 32
#define VHD_D_CHECKSUM   36
#define VHD_D_PARENT_ID  40   /* 16 bytes */
#define VHD_D_PARENT_TS  56
#define VHD_D_PARENT_NAME 64  /* 512 bytes, UTF-16 big-endian */
#define VHD_D_LOCATORS   576  /* 8 entries of 24 bytes */

enum vhd_type { VHD_FIXED = 2, VHD_DYNAMIC = 3, VHD_DIFF = 4 };

/* CHS geometry products of the largest disk the geometry can describe
 * (65535 cylinders, 16 heads, 255 sectors per track), and the largest
 * dynamic disk the format allows (2040 GiB, spec "Hard Disk Footer
 * Format", Current Size). */
#define VHD_MAX_GEOMETRY (65535ull * 16 * 255)
#define VHD_MAX_SECTORS  0xff000000ull

struct vhd_state {
    uint8_t footer[VHD_FOOTER_LEN];
    uint8_t dyn[VHD_DYN_LEN];
    enum vhd_type type;
    bool footer_from_copy;    /* the end footer was bad: the copy at 0 used */
    uint64_t file_size;       /* bytes: at open, then grown by allocations */
    uint64_t footer_off;      /* where the end footer lives: new blocks go
                                 here and push it further */
    uint64_t dyn_off;         /* dynamic header offset */
    uint64_t bat_off;         /* BAT offset, bytes */
    uint32_t bat_entries;
    uint32_t *bat;            /* host order: sector numbers or VHD_UNALLOC */
    uint32_t block_size;      /* bytes, a power of two */
    uint32_t bitmap_size;     /* bytes, a multiple of 512 */
    uint8_t *bitmap;          /* the bitmap of block bitmap_idx */
    uint64_t bitmap_idx;      /* UINT64_MAX: none cached */
    char *parent;             /* differencing: the parent path used */
};

static inline uint64_t vhd_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static inline void vhd_put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = n; i-- > 0; v >>= 8)
        p[i] = (uint8_t)v;
}

/* One's complement of the byte sum of buf[0, len) with the 4 checksum
 * bytes at `csum_at` counted as zero (spec "Hard Disk Footer Format",
 * Checksum; the dynamic header uses the same rule). */
uint32_t vhd_checksum(const uint8_t *buf, size_t len, size_t csum_at);

/* The CHS geometry qemu-img and Virtual PC give a disk of `sectors`
 * 512-byte sectors (spec appendix "CHS Calculation"). */
void vhd_geometry(uint64_t sectors, uint16_t *cyls, uint8_t *heads,
                  uint8_t *spt);

/* Virtual size in bytes from a valid footer, the way qemu reads it: the
 * CHS product, unless the creator is one known to use Current Size
 * (Hyper-V, Disk2vhd, XenServer, XenConverter, qemu's force_size) or the
 * geometry is the largest possible. */
uint64_t vhd_footer_size(const uint8_t *footer);

/* Walk the BAT of a dynamic or differencing disk: every allocated block
 * must lie between the metadata and the end footer and overlap no other.
 * Each fault is described on `report` (may be NULL) and counted; with
 * `err` the first one is also written there.  Returns the count of
 * faults, or -ENOMEM.  *nalloc (may be NULL) receives the allocated
 * blocks and *used the bytes of the data area they cover. */
int vhd_bat_scan(const struct vhd_state *s, const char *file, FILE *report,
                 char *err, size_t elen, uint64_t *nalloc, uint64_t *used);

/* Open the parent of differencing disk bd (its locators, else the parent
 * name, resolved as docs/block.md "Backing files" says) into
 * bd->backing.  0 or -errno with a message. */
int vhd_open_parent(struct block_dev *bd, struct vhd_state *s,
                    unsigned flags, struct block_open_ctx *ctx, char *err,
                    size_t elen);

/* block_check of a VHD (vhd_meta.c). */
int vhd_check(struct block_dev *bd, bool repair,
              struct block_check_result *res, FILE *report);

#endif
