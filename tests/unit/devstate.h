/* Test helpers for a device's saved state (util/device.h, util/sstate.h):
 * save to a buffer, restore from one, and check that damaged sections are
 * refused with the device left as it was.  Include after <cmocka.h>. */
#ifndef VESSEL_TEST_DEVSTATE_H
#define VESSEL_TEST_DEVSTATE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/device.h"
#include "util/sstate.h"

struct devstate {
    uint8_t *buf;
    size_t len;
};

/* The device's section, saved now (caller frees .buf). */
static inline struct devstate devstate_save(const struct device_ops *ops, void *dev)
{
    struct sstate_writer w;
    sstate_writer_init(&w);
    assert_int_equal(ops->save(dev, &w), 0);
    struct devstate s = { malloc(w.len), w.len };
    assert_non_null(s.buf);
    memcpy(s.buf, w.buf, w.len);
    sstate_writer_free(&w);
    assert_true(s.len > SSTATE_HDR_LEN);
    assert_memory_equal(s.buf, ops->tag, strlen(ops->tag));
    return s;
}

/* Restore from buf[0, len): the result, and the whole buffer consumed on
 * success. */
static inline int devstate_restore(const struct device_ops *ops, void *dev,
                                   const void *buf, size_t len)
{
    struct sstate_reader r;
    sstate_reader_init(&r, buf, len);
    int rc = ops->restore(dev, &r);
    if (rc == 0)
        assert_int_equal(r.pos, len);
    return rc;
}

/* The device saves exactly `want` now. */
static inline void devstate_expect(const struct device_ops *ops, void *dev,
                                   const struct devstate *want)
{
    struct devstate now = devstate_save(ops, dev);
    assert_int_equal(now.len, want->len);
    assert_memory_equal(now.buf, want->buf, want->len);
    free(now.buf);
}

/* `bad` (a damaged section) is refused with `err` and leaves `dev` as it
 * was. */
static inline void devstate_refused(const struct device_ops *ops, void *dev,
                                    const void *bad, size_t len, int err)
{
    struct devstate before = devstate_save(ops, dev);
    assert_int_equal(devstate_restore(ops, dev, bad, len), err);
    devstate_expect(ops, dev, &before);
    free(before.buf);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Every generic damage to the good section `s` is refused by `dev` with
 * nothing changed: truncation at every length (with the header's length
 * left, and made to agree), another tag, version 0 and a newer version, a
 * byte too many. */
static inline void devstate_check_damage(const struct device_ops *ops, void *dev,
                                         const struct devstate *s)
{
    uint8_t *b = malloc(s->len + 1);
    assert_non_null(b);
    for (size_t n = 0; n < s->len; n++) {
        memcpy(b, s->buf, n);
        devstate_refused(ops, dev, b, n, -EINVAL);
        if (n >= SSTATE_HDR_LEN) {
            put_le32(b + 12, (uint32_t)(n - SSTATE_HDR_LEN));
            devstate_refused(ops, dev, b, n, -EINVAL);
        }
    }
    memcpy(b, s->buf, s->len);
    b[0] ^= 0x20;                               /* another tag */
    devstate_refused(ops, dev, b, s->len, -EINVAL);
    memcpy(b, s->buf, s->len);
    put_le32(b + 8, 0);
    devstate_refused(ops, dev, b, s->len, -EINVAL);
    put_le32(b + 8, 99);
    devstate_refused(ops, dev, b, s->len, -ENOTSUP);
    memcpy(b, s->buf, s->len);
    b[s->len] = 0;
    put_le32(b + 12, (uint32_t)(s->len + 1 - SSTATE_HDR_LEN));
    devstate_refused(ops, dev, b, s->len + 1, -EINVAL);
    free(b);
}

/* `s` with the `width`-byte little-endian field at payload offset `off`
 * set to `val` is refused (-EINVAL) by `dev`, nothing changed. */
static inline void devstate_check_field(const struct device_ops *ops, void *dev,
                                        const struct devstate *s, size_t off,
                                        unsigned width, uint64_t val)
{
    uint8_t *b = malloc(s->len);
    assert_non_null(b);
    assert_true(SSTATE_HDR_LEN + off + width <= s->len);
    memcpy(b, s->buf, s->len);
    for (unsigned i = 0; i < width; i++)
        b[SSTATE_HDR_LEN + off + i] = (uint8_t)(val >> (8 * i));
    devstate_refused(ops, dev, b, s->len, -EINVAL);
    free(b);
}

#endif
