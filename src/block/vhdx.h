/* block: VHDX driver internals shared by vhdx.c (open, I/O, BAT, check),
 * vhdx_meta.c (headers, region table, metadata, create) and vhdx_log.c
 * (log replay and log writing).  Not a public API.  The on-disk layout
 * is summarised at the top of each of those files (MS-VHDX sections 2.1
 * to 2.6).  Every function here runs at open (before the device is
 * shared) or with bd->lock held; none keeps state outside `struct
 * vhdx_state`. */
#ifndef VESSEL_BLOCK_VHDX_H
#define VESSEL_BLOCK_VHDX_H

#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "block/block_int.h"

#define VHDX_KIB            1024ull
#define VHDX_MIB            (1024ull * 1024)
#define VHDX_HDR_SECTION    VHDX_MIB           /* header section (2.2) */
#define VHDX_HDR1_OFF       (64 * VHDX_KIB)
#define VHDX_HDR2_OFF       (128 * VHDX_KIB)
#define VHDX_HDR_LEN        4096u              /* checksummed part of a header */
#define VHDX_RT1_OFF        (192 * VHDX_KIB)
#define VHDX_RT2_OFF        (256 * VHDX_KIB)
#define VHDX_RT_LEN         (64 * 1024u)
#define VHDX_RT_MAX_ENTRIES 2047u
#define VHDX_META_TABLE_LEN (64 * 1024u)
#define VHDX_META_MAX_ENTRIES 2047u
#define VHDX_LOG_SECTOR     4096u
#define VHDX_MAX_BLOCK      (256 * VHDX_MIB)
#define VHDX_MAX_SIZE       (64ull << 40)      /* 64 TiB (2.6.2.2) */
/* Bounds of ours on a log to replay: its length (logs are 1 MiB in
 * practice; it is read into memory) and the LastFileOffset of an entry
 * (twice the largest disk: room for any metadata). */
#define VHDX_LOG_MAX_LEN    (256u << 20)
#define VHDX_LOG_MAX_FILE   (2 * VHDX_MAX_SIZE)

/* Header fields (2.2.2), little-endian. */
#define VHDX_H_SIG          0     /* "head" */
#define VHDX_H_CRC          4
#define VHDX_H_SEQ          8
#define VHDX_H_FILE_GUID    16
#define VHDX_H_DATA_GUID    32
#define VHDX_H_LOG_GUID     48
#define VHDX_H_LOG_VERSION  64    /* u16, 0 */
#define VHDX_H_VERSION      66    /* u16, 1 */
#define VHDX_H_LOG_LEN      68    /* u32 */
#define VHDX_H_LOG_OFF      72    /* u64 */

/* BAT entry (2.5.1): state in bits 0-2, FileOffsetMB in bits 20-63. */
#define VHDX_BAT_STATE_MASK 7ull
#define VHDX_BAT_OFF_MASK   (~0ull << 20)
enum vhdx_payload_state {
    VHDX_PAYLOAD_NOT_PRESENT = 0,
    VHDX_PAYLOAD_UNDEFINED = 1,
    VHDX_PAYLOAD_ZERO = 2,
    VHDX_PAYLOAD_UNMAPPED = 3,
    VHDX_PAYLOAD_FULLY_PRESENT = 6,
    VHDX_PAYLOAD_PARTIALLY_PRESENT = 7,
};
#define VHDX_SB_NOT_PRESENT 0u
#define VHDX_SB_PRESENT     6u

/* One replayed log descriptor kept in memory (vhdx_log.c): the bytes
 * [off, off + len) of the file read as `data` (NULL: zeros). */
struct vhdx_ovl {
    uint64_t off, len;
    uint8_t *data;            /* owned, len bytes, or NULL */
};

/* What vhdx_log_read found: the descriptors of the active sequence in
 * replay order and the file size it asks for. */
struct vhdx_replay {
    struct vhdx_ovl *d;       /* owned; vhdx_replay_free */
    size_t n;
    uint64_t last_file_off;   /* largest LastFileOffset of its entries */
    uint64_t next_seq;        /* one past its head's sequence number */
    unsigned entries;
};

struct vhdx_state {
    uint8_t hdr[VHDX_HDR_LEN];    /* the current header */
    unsigned cur;                 /* 0: header 1 at 64 KiB; 1: header 2 */
    uint64_t seq;                 /* its sequence number */
    uint64_t log_off;
    uint32_t log_len;
    uint64_t bat_off, meta_off;
    uint32_t bat_len, meta_len;
    /* metadata (2.6.2) */
    uint32_t block_size;
    bool leave_alloc, has_parent;
    uint64_t disk_size;
    uint32_t lsec, psec;
    uint8_t page83[16];
    /* BAT: payload entries interleaved with one sector bitmap entry per
     * chunk (2.5): entry i of payload block b is b + b / chunk_ratio. */
    uint32_t chunk_ratio;
    uint64_t nblocks;             /* payload blocks */
    uint64_t nbat;                /* entries in use */
    uint64_t *bat;                /* host order, rounded up to whole 4 KiB sectors */
    size_t bat_bytes;             /* bytes of `bat` (a multiple of 4096) */
    uint64_t file_size;           /* bytes */
    /* A dirty log not replayed into the file (read-only open): reads of
     * the file see its descriptors on top (vhdx_file_read). */
    struct vhdx_replay ovl;
    bool log_dirty;               /* LogGuid was set at open */
    /* Write session (vhdx_log.c): started by the first write of an open. */
    bool session;
    uint32_t log_head;            /* offset in the log of the next entry */
    uint64_t log_seq;             /* its sequence number */
    int64_t log_unsynced;         /* offset of the oldest entry whose in-place
                                     writes no fdatasync covers yet, or -1 */
    uint64_t synced_size;         /* file size the last fdatasync covered */
    /* BAT sectors changed in memory, not yet through the log (vhdx.c). */
    uint8_t *bat_dirty;           /* one flag per 4 KiB sector of `bat` */
    unsigned ndirty;              /* flags set */
    unsigned pending;             /* blocks allocated since the last commit */
};

/* The GUIDs of the spec, as stored on disk (first three fields
 * little-endian). */
extern const uint8_t vhdx_guid_bat[16], vhdx_guid_meta[16];

/* vhdx_meta.c.  Parse the file type identifier, the two headers (the
 * valid one with the higher sequence number wins; CRC-32C over 4 KiB with
 * the checksum field zeroed, 2.2.2), fill s->hdr, cur, seq, log_off,
 * log_len.  0, or -EINVAL/-ENOTSUP with a message naming `file` and the
 * field, or a read error. */
int vhdx_parse_headers(const struct host_file *f, const char *file,
                       struct vhdx_state *s, char *err, size_t elen);
/* Parse the region table (2.3) and the metadata region (2.6), reading
 * through vhdx_file_read (so a dirty log's overlay applies); fill the
 * region and metadata fields and the BAT geometry.  Same errors. */
int vhdx_parse_regions(const struct host_file *f, const char *file,
                       struct vhdx_state *s, char *err, size_t elen);
/* Write a new header: the current one with the given GUIDs (NULL: keep;
 * file_guid always fresh), sequence number + 1, into the other slot,
 * fdatasync; then once more into the first slot, so that both hold the
 * new state (2.2.2.1: a header update is written to the non-current
 * header and flushed before it counts).  0 or -errno (message in bd). */
int vhdx_update_header(struct block_dev *bd, struct vhdx_state *s,
                       const uint8_t *data_guid, const uint8_t *log_guid);
/* A random version 4 GUID. */
void vhdx_guid_new(uint8_t g[16]);
bool vhdx_guid_zero(const uint8_t g[16]);
/* Read [off, off+len) of the host file (zeros past its end) with the
 * unreplayed log of s on top.  0 or -errno. */
int vhdx_file_read(const struct host_file *f, const struct vhdx_state *s,
                   uint64_t off, void *buf, size_t len);
int vhdx_create_file(const char *path, const struct block_create_opts *o,
                     char *err, size_t elen);

/* vhdx_log.c.  Find the active sequence of the log named by the current
 * header (2.3.3 of the log section: valid entries with consecutive
 * sequence numbers from the head's tail to the head, each entry's CRC-32C
 * over its whole length) and collect its descriptors into *rp.  0 with
 * rp->n == 0 and entries == 0 when the log holds no entry of this LogGuid;
 * -EINVAL with a message naming the file, the log offset and field for
 * a corrupt log (descriptor outside the file's metadata, a broken tail). */
int vhdx_log_read(const struct host_file *f, const char *file,
                  const struct vhdx_state *s, struct vhdx_replay *rp,
                  char *err, size_t elen);
void vhdx_replay_free(struct vhdx_replay *rp);
/* Apply rp to the file (write every descriptor, grow the file to the
 * entries' LastFileOffset), fdatasync.  0 or -errno with a message. */
int vhdx_log_apply(const struct host_file *f, const char *file,
                   const struct vhdx_replay *rp, char *err, size_t elen);
/* Write `nsec` 4 KiB sectors `data` (sector i to file offset offs[i],
 * 4 KiB-aligned) through the log: one entry, fdatasync (which also makes
 * earlier data writes durable), then the sectors in place.  Starts the
 * write session first (new FileWriteGuid, DataWriteGuid and LogGuid in
 * the header).  nsec at most VHDX_LOG_MAX_SECTORS.  0 or -errno (message
 * in bd). */
#define VHDX_LOG_MAX_SECTORS 64u
int vhdx_log_write(struct block_dev *bd, struct vhdx_state *s, const uint64_t *offs,
                   const uint8_t *data, unsigned nsec);
/* Start the write session if not yet (before the first change to the
 * file or to user data, 2.2.2).  0 or -errno (message in bd). */
int vhdx_session_start(struct block_dev *bd, struct vhdx_state *s);
/* End the session: fdatasync, then clear LogGuid in the header (the log
 * is empty again).  0 or -errno (message in bd). */
int vhdx_session_end(struct block_dev *bd, struct vhdx_state *s);

/* The fdatasync that orders the driver's own metadata writes (a log
 * entry before its in-place BAT writes, a header before the writes it
 * announces).  Skipped for an image opened BLOCK_O_UNSAFE, whose caller
 * does not need it consistent after a host crash; 0 or -errno. */
static inline int vhdx_order_sync(struct block_dev *bd)
{
    return bd->unsafe || fdatasync(bd->file.fd) == 0 ? 0 : -errno;
}

#endif
