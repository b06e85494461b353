/* Unit tests for a VM's console output stream (src/vmm/console.c): a
 * writer never waits, what does not fit in the ring is dropped, counted
 * and marked in the stream, and the eventfd is readable exactly while
 * bytes are pending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/console.h"

#define RING 4096

static uint8_t pattern(size_t i)
{
    return (uint8_t)('a' + i % 26);
}

static bool readable(struct vmm_console *c)
{
    struct pollfd p = { .fd = vmm_console_fd(c), .events = POLLIN };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Bytes come out in order; the fd is a level: set while pending. */
static void test_level(void **state)
{
    struct vmm_console *c;
    assert_int_equal(vmm_console_open(&c, RING), 0);
    assert_false(readable(c));
    vmm_console_write(c, (const uint8_t *)"hello ", 6);
    vmm_console_write(c, (const uint8_t *)"world", 5);
    assert_true(readable(c));
    assert_int_equal(vmm_console_pending(c), 11);
    uint8_t buf[64];
    assert_int_equal(vmm_console_read(c, buf, 4), 4);
    assert_memory_equal(buf, "hell", 4);
    assert_true(readable(c));
    assert_int_equal(vmm_console_read(c, buf, sizeof(buf)), 7);
    assert_memory_equal(buf, "o world", 7);
    assert_false(readable(c));
    assert_int_equal(vmm_console_read(c, buf, sizeof(buf)), 0);
    /* Wrapping around the ring's end keeps the order. */
    for (size_t round = 0; round < 5; round++) {
        uint8_t in[3000], out[3000];
        for (size_t i = 0; i < sizeof(in); i++)
            in[i] = pattern(i + round);
        vmm_console_write(c, in, sizeof(in));
        assert_true(readable(c));
        assert_int_equal(vmm_console_read(c, out, sizeof(out)), sizeof(out));
        assert_memory_equal(in, out, sizeof(in));
        assert_false(readable(c));
    }
    assert_int_equal(vmm_console_dropped(c), 0);
    vmm_console_close(c);
}

/* The guest prints much more than the ring holds while nobody reads:
 * every write returns at once, the rest is dropped and counted; when the
 * reader comes back it gets the start of the output, then the notice with
 * the count, then what came after. */
static void test_stalled_reader(void **state)
{
    struct vmm_console *c;
    assert_int_equal(vmm_console_open(&c, RING), 0);
    size_t total = 64 * 1024;
    for (size_t i = 0; i < total; i++) {
        uint8_t b = pattern(i);
        vmm_console_write(c, &b, 1);
    }
    uint64_t dropped = vmm_console_dropped(c);
    assert_int_equal(dropped, total - RING);
    assert_int_equal(vmm_console_pending(c), RING);

    /* The reader catches up; more output comes after the gap. */
    char *got = malloc(total + 4096);
    size_t n = 0;
    uint8_t chunk[1000];
    size_t k;
    while ((k = vmm_console_read(c, chunk, sizeof(chunk)))) {
        memcpy(got + n, chunk, k);
        n += k;
    }
    vmm_console_write(c, (const uint8_t *)"TAIL", 4);
    while ((k = vmm_console_read(c, chunk, sizeof(chunk)))) {
        memcpy(got + n, chunk, k);
        n += k;
    }
    got[n] = 0;
    char note[80];
    snprintf(note, sizeof(note), "\r\n[vessel: %llu console bytes dropped]\r\n",
             (unsigned long long)dropped);
    char *at = strstr(got, note);
    assert_non_null(at);
    size_t before = (size_t)(at - got);
    assert_int_equal(before, RING);
    assert_int_equal(before + dropped, total);  /* nothing lost unreported */
    for (size_t i = 0; i < before; i++)
        if ((uint8_t)got[i] != pattern(i))
            fail_msg("byte %zu out of order", i);
    assert_int_equal(n, before + strlen(note) + 4);
    assert_memory_equal(got + n - 4, "TAIL", 4);
    assert_int_equal(vmm_console_dropped(c), dropped);
    assert_false(readable(c));
    free(got);
    vmm_console_close(c);
}

/* A slow reader that frees less than half the ring gets no notice yet and
 * nothing new is accepted: the gap stays one gap. */
static void test_gap_waits_for_half(void **state)
{
    struct vmm_console *c;
    assert_int_equal(vmm_console_open(&c, RING), 0);
    uint8_t buf[RING + 100];
    memset(buf, 'x', sizeof(buf));
    vmm_console_write(c, buf, sizeof(buf));
    assert_int_equal(vmm_console_dropped(c), 100);
    assert_int_equal(vmm_console_read(c, buf, 100), 100);
    vmm_console_write(c, (const uint8_t *)"y", 1);     /* still dropping */
    assert_int_equal(vmm_console_dropped(c), 101);
    assert_int_equal(vmm_console_pending(c), RING - 100);
    vmm_console_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level),
        cmocka_unit_test(test_stalled_reader),
        cmocka_unit_test(test_gap_waits_for_half),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
