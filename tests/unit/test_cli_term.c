/* Unit tests for the terminal side of `vessel run` (src/cli/term.c,
 * compiled in here: the CLI is not part of libvessel): output is pulled
 * from the VM's stream only as fast as the output takes it and never
 * blocks, a closed output is drained and counted, the caller's descriptor
 * flags are left alone, the C-a keys, and the terminal is put back as it
 * was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/term.c"
#include "vmm/console.h"

#define RING 4096

/* A pipe that holds one page, so "full" comes quickly and exactly. */
static void small_pipe(int p[2])
{
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
}

static size_t src_console(void *opaque, void *buf, size_t len)
{
    return vmm_console_read(opaque, buf, len);
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)('a' + i % 26);
}

/* The reader stalls: the pump returns at once with the pipe full and one
 * carry's worth in hand; the rest stays in (and then overflows) the VM's
 * ring.  When the reader comes back everything arrives in order. */
static void test_stalled_output(void **state)
{
    int p[2];
    small_pipe(p);
    struct vmm_console *vc;
    assert_int_equal(vmm_console_open(&vc, 64 * 1024), 0);
    struct term *t;
    assert_int_equal(term_open(&t, -1, p[1], false), 0);
    size_t total = 32 * 1024;
    uint8_t *in = malloc(total);
    for (size_t i = 0; i < total; i++)
        in[i] = pattern(i);
    vmm_console_write(vc, in, total);
    term_pump(t, src_console, vc);          /* would block here if it could */
    assert_true(term_out_pending(t));
    assert_int_equal(vmm_console_pending(vc), total - 4096 - TERM_CARRY);

    uint8_t *got = malloc(total);
    size_t n = 0;
    while (n < total) {
        ssize_t r = read(p[0], got + n, total - n);
        assert_true(r > 0);
        n += (size_t)r;
        term_pump(t, src_console, vc);
    }
    assert_memory_equal(in, got, total);
    assert_false(term_out_pending(t));
    assert_int_equal(term_dropped(t), 0);
    term_close(t);
    vmm_console_close(vc);
    free(in);
    free(got);
    close(p[0]);
    close(p[1]);
}

/* The flag that makes our writes non-blocking is on our own open file,
 * not on the caller's (which a shell may share). */
static void test_caller_fd_untouched(void **state)
{
    int p[2];
    small_pipe(p);
    int before = fcntl(p[1], F_GETFL);
    struct term *t;
    assert_int_equal(term_open(&t, -1, p[1], false), 0);
    assert_int_not_equal(term_out_fd(t), p[1]);
    assert_int_equal(fcntl(p[1], F_GETFL), before);
    term_close(t);
    assert_int_equal(fcntl(p[1], F_GETFL), before);
    close(p[0]);
    close(p[1]);
}

/* At the end, pending output gets a bounded time; a reader that never
 * comes back costs that long, no longer, and the bytes are counted. */
static void test_flush_bounded(void **state)
{
    int p[2];
    small_pipe(p);
    struct vmm_console *vc;
    assert_int_equal(vmm_console_open(&vc, RING * 4), 0);
    struct term *t;
    assert_int_equal(term_open(&t, -1, p[1], false), 0);
    uint8_t buf[3 * RING];
    memset(buf, 'x', sizeof(buf));
    vmm_console_write(vc, buf, sizeof(buf));
    term_flush(t, src_console, vc, 50, -1);
    assert_false(term_out_pending(t));
    assert_int_equal(vmm_console_pending(vc), 0);
    assert_int_equal(term_dropped(t), sizeof(buf) - 4096);
    term_close(t);
    vmm_console_close(vc);
    close(p[0]);
    close(p[1]);
}

/* A reader that goes away: EPIPE (SIGPIPE ignored, as the CLI does), and
 * everything from then on is drained from the VM and counted. */
static void test_closed_output(void **state)
{
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    small_pipe(p);
    struct vmm_console *vc;
    assert_int_equal(vmm_console_open(&vc, RING), 0);
    struct term *t;
    assert_int_equal(term_open(&t, -1, p[1], false), 0);
    close(p[0]);
    vmm_console_write(vc, (const uint8_t *)"hello", 5);
    term_pump(t, src_console, vc);
    vmm_console_write(vc, (const uint8_t *)"world", 5);
    term_pump(t, src_console, vc);
    assert_int_equal(term_dropped(t), 10);
    assert_false(term_out_pending(t));
    assert_int_equal(vmm_console_pending(vc), 0);
    term_close(t);
    vmm_console_close(vc);
    close(p[1]);
}

/* A regular file takes everything, in order. */
static void test_regular_file(void **state)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    struct vmm_console *vc;
    assert_int_equal(vmm_console_open(&vc, 4 * RING), 0);
    struct term *t;
    assert_int_equal(term_open(&t, -1, fileno(f), false), 0);
    assert_int_equal(term_out_fd(t), fileno(f));
    for (unsigned i = 0; i < 3 * RING; i++) {
        uint8_t b = pattern(i);
        vmm_console_write(vc, &b, 1);
    }
    term_pump(t, src_console, vc);
    assert_int_equal(term_dropped(t), 0);
    term_close(t);
    vmm_console_close(vc);
    assert_int_equal(lseek(fileno(f), 0, SEEK_END), 3 * RING);
    fclose(f);
}

static size_t src_none(void *opaque, void *buf, size_t len)
{
    return 0;
}

/* Keys on a terminal in raw mode; the settings come back at close. */
static void test_keys_raw_terminal(void **state)
{
    int m, s;
    assert_int_equal(openpty(&m, &s, NULL, NULL, NULL), 0);
    struct termios before, during, after;
    memset(&before, 0, sizeof(before));     /* padding: compared below */
    memset(&after, 0, sizeof(after));
    assert_int_equal(tcgetattr(s, &before), 0);
    int p[2];
    small_pipe(p);
    struct term *t;
    assert_int_equal(term_open(&t, s, p[1], true), 0);
    assert_true(term_raw(t));
    assert_int_equal(tcgetattr(s, &during), 0);
    assert_false(during.c_lflag & (ICANON | ECHO | ISIG));

    uint8_t guest[16];
    size_t ng;
    /* Plain bytes and C-a C-a go to the guest; C-a h queues the help. */
    assert_false(term_keys(t, (const uint8_t *)"ab\x01\x01" "c\x01h", 7, guest, &ng));
    assert_int_equal(ng, 4);
    assert_memory_equal(guest, "ab\x01" "c", 4);
    assert_true(term_out_pending(t));
    term_pump(t, src_none, NULL);
    char help[256] = { 0 };
    assert_true(read(p[0], help, sizeof(help) - 1) > 0);
    assert_non_null(strstr(help, "C-a x"));
    /* C-a split over two reads still counts; bytes after x are ignored. */
    assert_false(term_keys(t, (const uint8_t *)"d\x01", 2, guest, &ng));
    assert_int_equal(ng, 1);
    assert_true(term_keys(t, (const uint8_t *)"xyz", 3, guest, &ng));
    assert_int_equal(ng, 0);
    term_close(t);
    assert_int_equal(tcgetattr(s, &after), 0);
    assert_memory_equal(&before, &after, sizeof(before));
    close(m);
    close(s);
    close(p[0]);
    close(p[1]);
}

/* Input that is not a terminal: no raw mode, C-a is an ordinary byte. */
static void test_keys_not_terminal(void **state)
{
    int p[2];
    small_pipe(p);
    struct term *t;
    assert_int_equal(term_open(&t, p[0], p[1], true), 0);
    assert_false(term_raw(t));
    uint8_t guest[8];
    size_t ng;
    assert_false(term_keys(t, (const uint8_t *)"\x01x", 2, guest, &ng));
    assert_int_equal(ng, 2);
    term_close(t);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stalled_output),
        cmocka_unit_test(test_caller_fd_untouched),
        cmocka_unit_test(test_flush_bounded),
        cmocka_unit_test(test_closed_output),
        cmocka_unit_test(test_regular_file),
        cmocka_unit_test(test_keys_raw_terminal),
        cmocka_unit_test(test_keys_not_terminal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
