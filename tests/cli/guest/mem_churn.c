/* A bare-metal guest whose memory changes over time, for the diff
 * snapshot test (tests/cli/run-snapdiff.sh): it fills a 16 MiB area with
 * data (every page), prints "ready", then for CHURN_ROUNDS rounds picks a
 * few pages at random and either mixes new values into them (PASSES
 * passes over every word) or zeroes them, so that a diff snapshot taken between
 * two moments holds rewritten pages and pages that became all zeros,
 * against untouched ones.  At the end it prints "checksum 0x..." of the
 * whole area and passes through HTIF.  Deterministic: an interrupted and
 * restored run must print the same checksum.  Linked with the ISA harness
 * (tests/isa/common/crt.S calls test_main). */
#include <stdint.h>

#define AREA         0x81000000UL      /* 16 MiB above the program */
#define PAGES        4096
#define WORDS        512               /* per 4 KiB page */
#define CHURN_ROUNDS 2400
/* Passes over each page a round mixes: enough work per page dirtied that
 * a diff stays small however late a loaded host's test pauses the guest,
 * and seconds of work interpreted, so it never finishes first. */
#define PASSES       256

void pass(void);
void htif_puts(const char *s);
void htif_puthex(uint64_t v);

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static volatile uint64_t *page(uint64_t p)
{
    return (volatile uint64_t *)(AREA + (p % PAGES) * WORDS * 8);
}

void test_main(void)
{
    for (uint64_t p = 0; p < PAGES; p++)
        for (uint64_t w = 0; w < WORDS; w++)
            page(p)[w] = next() | 1;
    htif_puts("ready\n");
    for (uint64_t r = 0; r < CHURN_ROUNDS; r++) {
        uint64_t p = next(), n = 1 + next() % 4;
        int zero = next() % 4 == 0;
        for (uint64_t k = 0; k < n; k++) {
            volatile uint64_t *pg = page(p + k);
            if (zero) {
                for (uint64_t w = 0; w < WORDS; w++)
                    pg[w] = 0;
                continue;
            }
            for (int pass_ = 0; pass_ < PASSES; pass_++)
                for (uint64_t w = 0; w < WORDS; w++)
                    pg[w] = pg[w] * 6364136223846793005ULL + r + w;
        }
    }
    uint64_t sum = 0;
    for (uint64_t p = 0; p < PAGES; p++)
        for (uint64_t w = 0; w < WORDS; w++)
            sum = (sum ^ page(p)[w]) * 0x100000001b3ULL;
    htif_puts("checksum ");
    htif_puthex(sum);
    htif_puts("\n");
    pass();
}
