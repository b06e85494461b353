/* hw-internal: byte-lane helpers for registers wider than an access.
 * Not part of the module API (hw.h). */
#ifndef VESSEL_HW_LANES_H
#define VESSEL_HW_LANES_H

#include <stdbool.h>
#include <stdint.h>

/* True when an access of `size` (1, 2, 4, 8) bytes at `off` is naturally
 * aligned (so it stays inside one 8-byte word). */
static inline bool lane_ok(uint64_t off, unsigned size)
{
    return (size == 1 || size == 2 || size == 4 || size == 8) && !(off & (size - 1));
}

/* Mask of the bits an access of `size` bytes at byte `off & 7` covers in
 * the 64-bit word that contains it. */
static inline uint64_t lane_mask(uint64_t off, unsigned size)
{
    uint64_t m = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
    return m << ((off & 7) * 8);
}

/* The bytes of `word` an access at `off` of `size` reads, right-aligned. */
static inline uint64_t lane_extract(uint64_t word, uint64_t off, unsigned size)
{
    return (word & lane_mask(off, size)) >> ((off & 7) * 8);
}

/* `word` with the bytes an access at `off` of `size` writes replaced. */
static inline uint64_t lane_merge(uint64_t word, uint64_t off, unsigned size, uint64_t val)
{
    uint64_t m = lane_mask(off, size);
    return (word & ~m) | ((val << ((off & 7) * 8)) & m);
}

#endif
