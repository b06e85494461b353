/* Unit tests for machine/board.c: the memory-map table, the devices it
 * creates and maps, and the per-VM device list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "machine/board.h"

static const struct board_wiring no_wiring;

/* Rows in address order, none overlapping, every window inside the 4 GiB
 * below RAM; PLIC sources distinct and existing; phandles distinct and
 * clear of the harts'. */
static void test_table(void **state)
{
    for (size_t i = 0; i < BOARD_ROWS; i++) {
        const struct board_row *r = &board_map[i];
        assert_non_null(r->name);
        assert_true(r->size > 0 && r->base + r->size > r->base);
        assert_true(r->base + r->size <= VIRT_RAM_BASE);
        assert_true(r->irq < PLIC_NSOURCES);
        if (i > 0)
            assert_true(board_map[i - 1].base + board_map[i - 1].size <= r->base);
        assert_true(r->phandle == 0 || r->phandle >= DTB_PHANDLE_BOARD);
        for (size_t j = 0; j < i; j++) {
            assert_true(!r->irq || board_map[j].irq != r->irq);
            assert_true(!r->phandle || board_map[j].phandle != r->phandle);
        }
    }
    /* The map the guests know (QEMU's virt). */
    assert_int_equal(board_row(BOARD_SYSCON, 0)->base, 0x00100000);
    assert_int_equal(board_row(BOARD_RTC, 0)->base, 0x00101000);
    assert_int_equal(board_row(BOARD_RTC, 0)->irq, 11);
    assert_int_equal(board_row(BOARD_CLINT, 0)->base, 0x02000000);
    assert_int_equal(board_row(BOARD_PLIC, 0)->base, 0x0c000000);
    assert_int_equal(board_row(BOARD_UART, 0)->base, 0x10000000);
    assert_int_equal(board_row(BOARD_UART, 0)->irq, 10);
    for (unsigned n = 0; n < VIRT_VIRTIO_SLOTS; n++) {
        assert_int_equal(board_row(BOARD_VIRTIO, n)->base, 0x10001000 + 0x1000 * n);
        assert_int_equal(board_row(BOARD_VIRTIO, n)->irq, 1 + n);
    }
    assert_null(board_row(BOARD_VIRTIO, VIRT_VIRTIO_SLOTS));
    assert_null(board_row(BOARD_UART, 1));
}

static void test_devices_listed_and_mapped(void **state)
{
    struct mem *mem = mem_new();
    assert_non_null(mem);
    struct vclock clock;
    vclock_init(&clock, VCLOCK_DEFAULT_HZ);
    struct board b;
    assert_int_equal(board_create(&b, 2, &clock, &no_wiring, mem, NULL, 0), 0);
    static const char *const tags[] = { "syscon", "rtc", "clint", "plic", "uart" };
    assert_int_equal(b.ndevs, 5);
    for (unsigned i = 0; i < b.ndevs; i++) {
        assert_string_equal(b.devs[i].ops->tag, tags[i]);
        assert_ptr_equal(b.rows[i], &board_map[i]);
    }
    assert_string_equal(b.stdout_path, "/soc/serial@10000000");
    /* Mapped where the table says: the UART's scratch register. */
    assert_int_equal(mem_store(mem, 0x10000007, 1, 0x5a), 0);
    uint64_t v = 0;
    assert_int_equal(mem_load(mem, 0x10000007, 1, &v), 0);
    assert_int_equal(v, 0x5a);
    /* The HTIF joins the list last, without a row. */
    assert_int_equal(mem_add_ram(mem, VIRT_RAM_BASE, 1 << 20), 0);
    assert_int_equal(board_add_htif(&b, mem, VIRT_RAM_BASE + 0x1000, 0, &no_wiring), 0);
    assert_int_equal(b.ndevs, 6);
    assert_string_equal(b.devs[5].ops->tag, "htif");
    assert_null(b.rows[5]);
    board_destroy(&b);
    assert_int_equal(b.ndevs, 0);
    mem_free(mem);
}

/* The bus refuses a board whose window overlaps one already there. */
static void test_overlap_refused(void **state)
{
    static const struct mmio_ops none = { NULL, NULL };
    struct mem *mem = mem_new();
    assert_non_null(mem);
    assert_int_equal(mem_add_mmio(mem, 0x0200fff0, 0x20, &none, NULL), 0);
    struct vclock clock;
    vclock_init(&clock, VCLOCK_DEFAULT_HZ);
    struct board b;
    assert_int_equal(board_create(&b, 1, &clock, &no_wiring, mem, NULL, 0), -EEXIST);
    board_destroy(&b);
    mem_free(mem);
}

static int attach_calls;
static void count_destroy(void *opaque)
{
    attach_calls++;
}

static void test_attach_full(void **state)
{
    static const struct device_ops ops = { .tag = "x", .destroy = count_destroy };
    struct mem *mem = mem_new();
    assert_non_null(mem);
    struct vclock clock;
    vclock_init(&clock, VCLOCK_DEFAULT_HZ);
    struct board b;
    assert_int_equal(board_create(&b, 1, &clock, &no_wiring, mem, NULL, 0), 0);
    unsigned room = BOARD_MAX_DEVS - b.ndevs;
    for (unsigned i = 0; i < room; i++)
        assert_int_equal(board_attach(&b, &ops, NULL, NULL), 0);
    assert_int_equal(board_attach(&b, &ops, NULL, NULL), -ENOSPC);
    attach_calls = 0;
    board_destroy(&b);
    assert_int_equal(attach_calls, room);
    mem_free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_devices_listed_and_mapped),
        cmocka_unit_test(test_overlap_refused),
        cmocka_unit_test(test_attach_full),
    };
    return cmocka_run_group_tests_name("board", tests, NULL, NULL);
}
