/* sstate: versioned, length-prefixed state sections (see sstate.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util/sstate.h"
#include "util/util.h"

void sstate_writer_init(struct sstate_writer *w)
{
    memset(w, 0, sizeof(*w));
    w->sec = SIZE_MAX;
}

void sstate_writer_free(struct sstate_writer *w)
{
    free(w->buf);
    sstate_writer_init(w);
}

static uint8_t *reserve(struct sstate_writer *w, size_t n)
{
    if (w->err)
        return NULL;
    if (n > w->cap - w->len) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n) {
            if (cap > SIZE_MAX / 2) {
                w->err = -ENOMEM;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *p = realloc(w->buf, cap);
        if (!p) {
            w->err = -ENOMEM;
            return NULL;
        }
        w->buf = p;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

void sstate_begin(struct sstate_writer *w, const char *tag, uint32_t version)
{
    size_t tl = strlen(tag);
    if (!w->err && (w->sec != SIZE_MAX || tl == 0 || tl > SSTATE_TAG_LEN ||
                    version == 0))
        w->err = -EINVAL;
    size_t at = w->len;
    uint8_t *p = reserve(w, SSTATE_HDR_LEN);
    if (!p)
        return;
    memset(p, 0, SSTATE_HDR_LEN);
    memcpy(p, tag, tl);
    le_put(p + 8, version, 4);
    w->sec = at;
}

void sstate_put_u8(struct sstate_writer *w, uint8_t v)
{
    uint8_t *p = reserve(w, 1);
    if (p)
        *p = v;
}

void sstate_put_u32(struct sstate_writer *w, uint32_t v)
{
    uint8_t *p = reserve(w, 4);
    if (p)
        le_put(p, v, 4);
}

void sstate_put_u64(struct sstate_writer *w, uint64_t v)
{
    uint8_t *p = reserve(w, 8);
    if (p)
        le_put(p, v, 8);
}

void sstate_put_bytes(struct sstate_writer *w, const void *src, size_t n)
{
    uint8_t *p = reserve(w, n);
    if (p && n)
        memcpy(p, src, n);
}

int sstate_end(struct sstate_writer *w)
{
    if (!w->err && w->sec == SIZE_MAX)
        w->err = -EINVAL;
    if (w->err)
        return w->err;
    size_t payload = w->len - w->sec - SSTATE_HDR_LEN;
    if (payload > SSTATE_MAX_LEN)
        return w->err = -EFBIG;
    le_put(w->buf + w->sec + 12, payload, 4);
    w->sec = SIZE_MAX;
    return 0;
}

void sstate_reader_init(struct sstate_reader *r, const void *buf, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->buf = buf;
    r->len = len;
}

int sstate_fail(struct sstate_reader *r, int err)
{
    if (!r->err) {
        r->err = err;
        if (!r->why[0] && r->tag[0])
            snprintf(r->why, sizeof(r->why), "in section '%s'", r->tag);
    }
    return r->err;
}

int sstate_failf(struct sstate_reader *r, int err, const char *fmt, ...)
{
    if (!r->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, sizeof(r->why), fmt, ap);
        va_end(ap);
    }
    return sstate_fail(r, err);
}

/* A tag as text: up to 8 bytes, printable ASCII, NUL-padded. */
static void tag_text(char out[SSTATE_TAG_LEN + 1], const uint8_t *t)
{
    size_t i = 0;
    for (; i < SSTATE_TAG_LEN && t[i]; i++)
        out[i] = t[i] >= 0x20 && t[i] < 0x7f ? (char)t[i] : '?';
    out[i] = 0;
}

int sstate_open(struct sstate_reader *r, const char *tag, uint32_t max_version,
                uint32_t *version)
{
    if (r->err)
        return r->err;
    if (r->end || r->len - r->pos < SSTATE_HDR_LEN) {
        if (!r->err && !r->end)
            snprintf(r->why, sizeof(r->why), "section '%.8s' expected, the state ends",
                     tag);
        return sstate_fail(r, -EINVAL);
    }
    const uint8_t *h = r->buf + r->pos;
    char want[SSTATE_TAG_LEN] = {0};
    size_t tl = strlen(tag);
    if (tl == 0 || tl > SSTATE_TAG_LEN)
        return sstate_fail(r, -EINVAL);
    memcpy(want, tag, tl);
    if (memcmp(h, want, SSTATE_TAG_LEN)) {
        char found[SSTATE_TAG_LEN + 1];
        tag_text(found, h);
        if (!r->err)
            snprintf(r->why, sizeof(r->why), "section '%s' expected, '%s' found", tag,
                     found);
        return sstate_fail(r, -EINVAL);
    }
    memcpy(r->tag, want, SSTATE_TAG_LEN);
    r->tag[SSTATE_TAG_LEN] = 0;
    uint32_t ver = (uint32_t)le_get(h + 8, 4);
    uint64_t len = le_get(h + 12, 4);
    if (ver == 0 || len > SSTATE_MAX_LEN ||
        len > r->len - r->pos - SSTATE_HDR_LEN)
        return sstate_fail(r, -EINVAL);
    if (ver > max_version) {
        if (!r->err)
            snprintf(r->why, sizeof(r->why), "section '%s' version %u, newer than %u",
                     r->tag, ver, max_version);
        return sstate_fail(r, -ENOTSUP);
    }
    r->pos += SSTATE_HDR_LEN;
    r->end = r->pos + (size_t)len;
    *version = ver;
    return 0;
}

static const uint8_t *take(struct sstate_reader *r, size_t n)
{
    if (r->err)
        return NULL;
    if (!r->end || n > r->end - r->pos) {
        sstate_fail(r, -EINVAL);
        return NULL;
    }
    const uint8_t *p = r->buf + r->pos;
    r->pos += n;
    return p;
}

uint8_t sstate_get_u8(struct sstate_reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? *p : 0;
}

uint32_t sstate_get_u32(struct sstate_reader *r)
{
    const uint8_t *p = take(r, 4);
    return p ? (uint32_t)le_get(p, 4) : 0;
}

uint64_t sstate_get_u64(struct sstate_reader *r)
{
    const uint8_t *p = take(r, 8);
    return p ? le_get(p, 8) : 0;
}

void sstate_get_bytes(struct sstate_reader *r, void *dst, size_t n)
{
    const uint8_t *p = take(r, n);
    if (p && n)
        memcpy(dst, p, n);
    else if (n)
        memset(dst, 0, n);
}

int sstate_close(struct sstate_reader *r)
{
    if (!r->err && (!r->end || r->pos != r->end))
        sstate_fail(r, -EINVAL);
    r->end = 0;
    return r->err;
}
