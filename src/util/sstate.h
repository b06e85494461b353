/* sstate: saved state as versioned, length-prefixed sections.
 *
 * A hart or a device saves its state into one section and restores it
 * from one.  The layout is host-independent: every integer little-endian,
 * no padding, no host pointers.  A section is
 *
 *   offset  size  field
 *   0       8     tag: ASCII name of the saver ("hart", "plic"), NUL-padded
 *   8       4     version of the saver's payload layout (u32, from 1)
 *   12      4     payload length in bytes (u32, at most SSTATE_MAX_LEN)
 *   16      len   payload: the saver's fields in its own order
 *
 * A reader opens a section by tag, refuses a version newer than it knows
 * and bounds every read by the section's length, so a truncated or hostile
 * file gives -EINVAL, never a read past the buffer.  The snapshot file
 * format (docs/snapshot.md, when it exists) frames these sections.
 *
 * Errors are sticky: after the first failure every call is a no-op and the
 * closing call (sstate_end, sstate_close) returns it, so savers and
 * restorers check once.  Not thread-safe: one writer or reader per
 * thread. */
#ifndef VESSEL_SSTATE_H
#define VESSEL_SSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSTATE_TAG_LEN 8
#define SSTATE_HDR_LEN 16
#define SSTATE_MAX_LEN (64u << 20)   /* a payload's upper bound, bytes */

struct sstate_writer {
    uint8_t *buf;      /* owned; sstate_writer_free releases it */
    size_t len, cap;   /* bytes written, bytes allocated */
    size_t sec;        /* offset of the open section's header, or SIZE_MAX */
    int err;           /* first error (negative errno), 0 if none */
};

struct sstate_reader {
    const uint8_t *buf;  /* borrowed; must outlive the reader */
    size_t len, pos;     /* buffer length, next byte to read */
    size_t end;          /* end of the open section's payload, or 0 */
    int err;
    char tag[SSTATE_TAG_LEN + 1];  /* the open (or last) section's tag */
    /* Where the first error was found, for messages: "section 'vbal'
     * expected, 'end' found", "in section 'hart'"...; "" when unknown. */
    char why[128];
};

/* Start with an empty buffer (no allocation until the first byte). */
void sstate_writer_init(struct sstate_writer *w);
void sstate_writer_free(struct sstate_writer *w);

/* Open a section: writes its header with `tag` (1 to 8 ASCII bytes) and
 * `version`; the length is filled in by sstate_end.  Sections do not nest:
 * opening one while another is open is -EINVAL. */
void sstate_begin(struct sstate_writer *w, const char *tag, uint32_t version);
void sstate_put_u8(struct sstate_writer *w, uint8_t v);
void sstate_put_u32(struct sstate_writer *w, uint32_t v);
void sstate_put_u64(struct sstate_writer *w, uint64_t v);
void sstate_put_bytes(struct sstate_writer *w, const void *p, size_t n);
/* Close the open section, patching its length.  Returns 0 or the first
 * error of the section's writes: -ENOMEM (allocation), -EINVAL (no section
 * open, or tag too long), -EFBIG (payload over SSTATE_MAX_LEN). */
int sstate_end(struct sstate_writer *w);

/* Read sections from buf[0, len). */
void sstate_reader_init(struct sstate_reader *r, const void *buf, size_t len);
/* Open the next section, which must carry `tag`; its version goes to
 * *version and must be between 1 and max_version.  Returns 0, or -EINVAL
 * (truncated header, payload past the buffer, another tag, version 0),
 * -ENOTSUP (a version newer than max_version). */
int sstate_open(struct sstate_reader *r, const char *tag, uint32_t max_version,
                uint32_t *version);
/* Reads within the open section; past its end they return 0 and set
 * -EINVAL. */
uint8_t sstate_get_u8(struct sstate_reader *r);
uint32_t sstate_get_u32(struct sstate_reader *r);
uint64_t sstate_get_u64(struct sstate_reader *r);
void sstate_get_bytes(struct sstate_reader *r, void *p, size_t n);
/* Close the open section.  A payload longer than this reader consumed is
 * an error (-EINVAL): a same-version saver never writes more than its
 * restorer reads.  Returns 0 or the first error. */
int sstate_close(struct sstate_reader *r);
/* Record an error found by the restorer (a field out of range); the first
 * one sticks.  Returns r->err. */
int sstate_fail(struct sstate_reader *r, int err);
/* sstate_fail with what was wrong, for r->why (printf format): "the
 * snapshot has 2 vCPUs, this VM 1".  The first error's text sticks. */
int sstate_failf(struct sstate_reader *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
