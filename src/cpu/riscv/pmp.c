/* cpu/riscv: physical memory protection (Privileged spec 3.7).
 *
 * PMP_ENTRIES (16) entries are implemented; entries 16..63 read as zero.
 * Granularity is 4 bytes (G = 0), so NA4 is available. */
#include "cpu/riscv/hart_internal.h"

#define PMP_R 0x01
#define PMP_W 0x02
#define PMP_X 0x04
#define PMP_A 0x18
#define PMP_L 0x80
#define PMP_OFF 0
#define PMP_TOR 1
#define PMP_NA4 2
#define PMP_NAPOT 3

/* Address range [lo, hi) of entry i (hi is exclusive; may be 2^64 as 0
 * is impossible here because pmpaddr holds only 54 bits). */
static void pmp_range(const struct hart *h, int i, uint64_t *lo, uint64_t *hi)
{
    uint8_t cfg = h->pmpcfg[i];
    uint64_t a = h->pmpaddr[i];
    switch ((cfg & PMP_A) >> 3) {
    case PMP_TOR:
        *lo = i ? h->pmpaddr[i - 1] << 2 : 0;
        *hi = a << 2;
        break;
    case PMP_NA4:
        *lo = a << 2;
        *hi = *lo + 4;
        break;
    default: { /* NAPOT */
        unsigned t = (unsigned)__builtin_ctzll(~a);   /* trailing ones */
        if (t >= 54) {
            *lo = 0;
            *hi = 1ULL << 56;
        } else {
            uint64_t size = 1ULL << (t + 3);
            *lo = (a << 2) & ~(size - 1);
            *hi = *lo + size;
        }
        break;
    }
    }
}

/* The decision of a region with config `cfg` that fully contains the
 * access (3.7.1: M-mode passes unless the entry is locked). */
static bool region_allows(uint8_t cfg, int acc, unsigned priv)
{
    if (priv == PRV_M && !(cfg & PMP_L))
        return true;
    uint8_t need = acc == ACC_FETCH ? PMP_X : acc == ACC_LOAD ? PMP_R : PMP_W;
    return (cfg & need) != 0;
}

bool pmp_allows(struct hart *h, uint64_t pa, uint64_t len, int acc, unsigned priv)
{
    if (!h->pmp_active)
        return priv == PRV_M;
    uint64_t end = pa + len;
    if (pa >= h->pmp_hit_lo && end <= h->pmp_hit_hi && end > pa)
        return region_allows(h->pmp_hit_cfg, acc, priv);
    /* [lo, hi): around the access, clear of every region passed over */
    uint64_t lo = 0, hi = UINT64_MAX;
    for (unsigned i = 0; i < h->pmp_nrgn; i++) {
        const struct pmp_region *r = &h->pmp_rgn[i];
        if (pa >= r->hi || end <= r->lo) {
            if (r->hi <= pa)
                lo = r->hi > lo ? r->hi : lo;
            else
                hi = r->lo < hi ? r->lo : hi;
            continue;
        }
        if (pa < r->lo || end > r->hi)
            return false;   /* partial match fails */
        /* Every access inside [lo, hi) within r matches r first. */
        h->pmp_hit_lo = r->lo > lo ? r->lo : lo;
        h->pmp_hit_hi = r->hi < hi ? r->hi : hi;
        h->pmp_hit_cfg = r->cfg;
        return region_allows(r->cfg, acc, priv);
    }
    return priv == PRV_M;
}

/* Recompute pmp_active and the region list after any PMP CSR write (and
 * at reset).  Entries whose range is empty never match (3.7.1), so they
 * are left out of the list but still make PMP active. */
void pmp_update(struct hart *h)
{
    h->pmp_active = false;
    h->pmp_nrgn = 0;
    h->pmp_hit_lo = 1;
    h->pmp_hit_hi = 0;   /* empty: the regions change */
    for (int i = 0; i < PMP_ENTRIES; i++) {
        if (!(h->pmpcfg[i] & PMP_A))
            continue;
        h->pmp_active = true;
        uint64_t lo, hi;
        pmp_range(h, i, &lo, &hi);
        if (lo >= hi)
            continue;
        h->pmp_rgn[h->pmp_nrgn++] = (struct pmp_region){ lo, hi, h->pmpcfg[i] };
    }
    tlb_flush_all(h);   /* fills were checked against the old PMP */
}

/* pmpcfg byte write (WARL: R=0,W=1 is reserved and reads back W=0). */
bool pmp_cfg_valid(uint8_t v)
{
    return !(v & (uint8_t)~(PMP_R | PMP_W | PMP_X | PMP_A | PMP_L)) &&
           (v & (PMP_R | PMP_W)) != PMP_W;
}

void pmp_write_cfg(struct hart *h, int i, uint8_t v)
{
    if (i >= PMP_ENTRIES || (h->pmpcfg[i] & PMP_L))
        return;
    v &= PMP_R | PMP_W | PMP_X | PMP_A | PMP_L;
    if ((v & (PMP_R | PMP_W)) == PMP_W)
        v &= (uint8_t)~PMP_W;
    h->pmpcfg[i] = v;
}

void pmp_write_addr(struct hart *h, int i, uint64_t v)
{
    if (i >= PMP_ENTRIES || (h->pmpcfg[i] & PMP_L))
        return;
    if (i + 1 < PMP_ENTRIES && (h->pmpcfg[i + 1] & PMP_L) &&
        ((h->pmpcfg[i + 1] & PMP_A) >> 3) == PMP_TOR)
        return;
    h->pmpaddr[i] = v & ((1ULL << 54) - 1);
}
