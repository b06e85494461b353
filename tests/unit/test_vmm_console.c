/* Unit tests for the VM console (src/vmm/console.c): output never blocks
 * on a reader that stalls, what does not fit in the ring is dropped,
 * counted and marked in the stream, a closed output is survived, the C-a
 * keys, and the terminal is put back as it was. */
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

#include "vmm/console.h"

#define RING 4096

static unsigned wakes;
static void count_wake(void *opaque)
{
    (void)opaque;
    wakes++;
}

/* A pipe that holds one page, so "full" comes quickly and exactly. */
static void small_pipe(int p[2])
{
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)('a' + i % 26);
}

/* The guest prints much more than the pipe and the ring hold while nobody
 * reads: every write returns at once, the rest is dropped and counted;
 * when the reader comes back it gets the start of the output, then the
 * notice with the count, then what came after. */
static void test_stalled_reader(void **state)
{
    int p[2];
    small_pipe(p);
    struct vmm_console *c;
    wakes = 0;
    assert_int_equal(vmm_console_open(&c, -1, p[1], false, RING, count_wake, NULL), 0);
    size_t total = 64 * 1024;
    for (size_t i = 0; i < total; i++) {
        uint8_t b = pattern(i);
        vmm_console_write(c, &b, 1);        /* would block here if it could */
    }
    uint64_t dropped = vmm_console_dropped(c);
    /* Pipe (one page) + ring in, the rest out. */
    assert_in_range(dropped, total - 4096 - RING, total - RING);
    assert_int_equal(wakes, 1);             /* once, when output became pending */
    assert_int_equal(vmm_console_out_events(c), POLLOUT);

    /* The reader catches up; more output comes after the gap. */
    const char *tail = "TAIL";
    char *got = malloc(total + 4096);
    size_t n = 0;
    bool sent_tail = false;
    for (;;) {
        ssize_t r = read(p[0], got + n, total + 4096 - n);
        assert_true(r > 0);
        n += (size_t)r;
        vmm_console_drain(c);
        if (!sent_tail && !vmm_console_out_events(c)) {
            vmm_console_write(c, (const uint8_t *)tail, 4);
            sent_tail = true;
        }
        if (sent_tail && n >= 4 && !memcmp(got + n - 4, tail, 4))
            break;
    }
    got[n] = 0;
    char note[80];
    snprintf(note, sizeof(note), "\r\n[vessel: %llu console bytes dropped]\r\n",
             (unsigned long long)dropped);
    char *at = strstr(got, note);
    assert_non_null(at);
    size_t before = (size_t)(at - got);
    assert_int_equal(before + dropped, total);  /* nothing lost unreported */
    for (size_t i = 0; i < before; i++)
        if ((uint8_t)got[i] != pattern(i))
            fail_msg("byte %zu out of order", i);
    assert_int_equal(n, before + strlen(note) + 4);
    assert_int_equal(vmm_console_dropped(c), dropped);
    vmm_console_close(c);
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
    struct vmm_console *c;
    assert_int_equal(vmm_console_open(&c, -1, p[1], false, RING, NULL, NULL), 0);
    assert_int_not_equal(vmm_console_out_fd(c), p[1]);
    assert_int_equal(fcntl(p[1], F_GETFL), before);
    vmm_console_close(c);
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
    struct vmm_console *c;
    assert_int_equal(vmm_console_open(&c, -1, p[1], false, RING, NULL, NULL), 0);
    uint8_t buf[8192];
    memset(buf, 'x', sizeof(buf));
    vmm_console_write(c, buf, sizeof(buf));
    uint64_t d0 = vmm_console_dropped(c);
    vmm_console_flush(c, 50, -1);
    assert_int_equal(vmm_console_out_events(c), 0);
    assert_int_equal(vmm_console_dropped(c), sizeof(buf) - 4096);
    assert_true(vmm_console_dropped(c) > d0);
    vmm_console_close(c);
    close(p[0]);
    close(p[1]);
}

/* A reader that goes away: EPIPE (SIGPIPE ignored, as the CLI does), and
 * everything from then on is discarded and counted. */
static void test_closed_output(void **state)
{
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    small_pipe(p);
    struct vmm_console *c;
    assert_int_equal(vmm_console_open(&c, -1, p[1], false, RING, NULL, NULL), 0);
    close(p[0]);
    vmm_console_write(c, (const uint8_t *)"hello", 5);
    vmm_console_write(c, (const uint8_t *)"world", 5);
    assert_int_equal(vmm_console_dropped(c), 10);
    assert_int_equal(vmm_console_out_events(c), 0);
    vmm_console_close(c);
    close(p[1]);
}

/* A regular file takes everything, in order. */
static void test_regular_file(void **state)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    struct vmm_console *c;
    assert_int_equal(vmm_console_open(&c, -1, fileno(f), false, RING, NULL, NULL), 0);
    assert_int_equal(vmm_console_out_fd(c), fileno(f));
    for (unsigned i = 0; i < 3 * RING; i++) {
        uint8_t b = pattern(i);
        vmm_console_write(c, &b, 1);
    }
    assert_int_equal(vmm_console_dropped(c), 0);
    vmm_console_close(c);
    assert_int_equal(lseek(fileno(f), 0, SEEK_END), 3 * RING);
    fclose(f);
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
    struct vmm_console *c;
    assert_int_equal(vmm_console_open(&c, s, p[1], true, RING, NULL, NULL), 0);
    assert_true(vmm_console_raw(c));
    assert_int_equal(tcgetattr(s, &during), 0);
    assert_false(during.c_lflag & (ICANON | ECHO | ISIG));

    uint8_t guest[16];
    size_t ng;
    /* Plain bytes and C-a C-a go to the guest; C-a h prints the help. */
    assert_false(vmm_console_keys(c, (const uint8_t *)"ab\x01\x01" "c\x01h", 7, guest, &ng));
    assert_int_equal(ng, 4);
    assert_memory_equal(guest, "ab\x01" "c", 4);
    char help[256] = { 0 };
    assert_true(read(p[0], help, sizeof(help) - 1) > 0);
    assert_non_null(strstr(help, "C-a x"));
    /* C-a split over two reads still counts; bytes after x are ignored. */
    assert_false(vmm_console_keys(c, (const uint8_t *)"d\x01", 2, guest, &ng));
    assert_int_equal(ng, 1);
    assert_true(vmm_console_keys(c, (const uint8_t *)"xyz", 3, guest, &ng));
    assert_int_equal(ng, 0);
    vmm_console_close(c);
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
    struct vmm_console *c;
    assert_int_equal(vmm_console_open(&c, p[0], p[1], true, RING, NULL, NULL), 0);
    assert_false(vmm_console_raw(c));
    uint8_t guest[8];
    size_t ng;
    assert_false(vmm_console_keys(c, (const uint8_t *)"\x01x", 2, guest, &ng));
    assert_int_equal(ng, 2);
    vmm_console_close(c);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stalled_reader),
        cmocka_unit_test(test_caller_fd_untouched),
        cmocka_unit_test(test_flush_bounded),
        cmocka_unit_test(test_closed_output),
        cmocka_unit_test(test_regular_file),
        cmocka_unit_test(test_keys_raw_terminal),
        cmocka_unit_test(test_keys_not_terminal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
