/* Unit tests for machine/dtb.c and the devices' fdt_node ops, through the
 * board's table (machine/board.c): every node and property read back with
 * libfdt, phandle references resolved, dtc decompiles it cleanly, and the
 * blobs are byte for byte those the board built before the devices wrote
 * their own nodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include <cmocka.h>

#include "hw/hw.h"
#include "machine/board.h"
#include "machine/boot.h"
#include "virtio/virtio.h"

/* The board's memory map, stated independently of board.c. */
#define SYSCON_BASE 0x00100000ULL
#define RTC_BASE    0x00101000ULL
#define CLINT_BASE  0x02000000ULL
#define PLIC_BASE   0x0c000000ULL
#define UART_BASE   0x10000000ULL

static void no_line(void *opaque, unsigned n, bool level)
{
    (void)opaque; (void)n; (void)level;
}

/* The device tree of a real board (its devices, unwired) for `p`, with an
 * entropy device in each virtio slot of virtio_mask (every virtio device
 * writes the same virtio-mmio node), and the power button when bit
 * POWER_BIT is set. */
#define POWER_BIT (1u << VIRT_VIRTIO_SLOTS)
static void *build_mask(const struct dtb_params *p, uint32_t virtio_mask, size_t *size)
{
    struct mem *mem = mem_new();
    assert_non_null(mem);
    struct vclock clock;
    vclock_init(&clock, VCLOCK_DEFAULT_HZ);
    const struct board_wiring w = { { NULL, NULL }, { NULL, NULL }, { NULL, NULL } };
    struct board b;
    assert_int_equal(board_create(&b, p->ncpus, &clock, &w, mem, NULL, 0), 0);
    for (unsigned n = 0; n < VIRT_VIRTIO_SLOTS; n++) {
        if (!(virtio_mask >> n & 1))
            continue;
        const struct board_row *row = board_row(BOARD_VIRTIO, n);
        const struct hw_line irq = { no_line, NULL, row->irq };
        struct virtio_rng *rng = virtio_rng_new(&irq, mem);
        assert_non_null(rng);
        struct device d = virtio_rng_device(rng);
        assert_int_equal(board_attach(&b, d.ops, d.opaque, row), 0);
    }
    if (virtio_mask & POWER_BIT) {
        const struct board_row *row = board_row(BOARD_POWER, 0);
        const struct hw_line irq = { no_line, NULL, row->irq };
        struct virtio_input *in = virtio_input_new(&irq, mem);
        assert_non_null(in);
        struct device d = virtio_input_device(in);
        assert_int_equal(board_attach(&b, d.ops, d.opaque, row), 0);
    }
    struct dtb_params q = *p;
    void *blob = NULL;
    assert_int_equal(board_build_dtb(&b, &q, &blob, size, NULL, 0), 0);
    assert_null(q.soc);
    board_destroy(&b);
    mem_free(mem);
    assert_int_equal(fdt_check_header(blob), 0);
    assert_int_equal(fdt_totalsize(blob), *size);
    return blob;
}

static void *build(const struct dtb_params *p, size_t *size)
{
    return build_mask(p, 0, size);
}

static int node(const void *fdt, const char *path)
{
    int off = fdt_path_offset(fdt, path);
    if (off < 0)
        fail_msg("node %s missing: %s", path, fdt_strerror(off));
    return off;
}

static const void *prop(const void *fdt, const char *path, const char *name, int *len)
{
    const void *v = fdt_getprop(fdt, node(fdt, path), name, len);
    if (!v)
        fail_msg("%s: property %s missing", path, name);
    return v;
}

static void check_str(const void *fdt, const char *path, const char *name, const char *want)
{
    int len;
    const char *v = prop(fdt, path, name, &len);
    assert_int_equal(len, strlen(want) + 1);
    assert_string_equal(v, want);
}

/* A string list given as "a\0b\0c" with its total size. */
static void check_strs(const void *fdt, const char *path, const char *name,
                       const char *want, size_t want_len)
{
    int len;
    const char *v = prop(fdt, path, name, &len);
    assert_int_equal(len, want_len);
    assert_memory_equal(v, want, want_len);
}

static void check_cells(const void *fdt, const char *path, const char *name,
                        const uint32_t *want, int n)
{
    int len;
    const fdt32_t *v = prop(fdt, path, name, &len);
    assert_int_equal(len, n * 4);
    for (int i = 0; i < n; i++)
        assert_int_equal(fdt32_to_cpu(v[i]), want[i]);
}

static void check_u32(const void *fdt, const char *path, const char *name, uint32_t want)
{
    check_cells(fdt, path, name, &want, 1);
}

static void check_u64(const void *fdt, const char *path, const char *name, uint64_t want)
{
    uint32_t c[2] = { (uint32_t)(want >> 32), (uint32_t)want };
    check_cells(fdt, path, name, c, 2);
}

static void check_reg(const void *fdt, const char *path, uint64_t base, uint64_t size)
{
    uint32_t c[4] = { (uint32_t)(base >> 32), (uint32_t)base,
                      (uint32_t)(size >> 32), (uint32_t)size };
    check_cells(fdt, path, "reg", c, 4);
}

static void check_empty(const void *fdt, const char *path, const char *name)
{
    int len;
    prop(fdt, path, name, &len);
    assert_int_equal(len, 0);
}

/* The node a phandle names. */
static int by_phandle(const void *fdt, uint32_t ph)
{
    int off = fdt_node_offset_by_phandle(fdt, ph);
    if (off < 0)
        fail_msg("phandle 0x%x dangles", ph);
    return off;
}

static void test_full_tree(void **state)
{
    uint8_t seed[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    struct dtb_params p = {
        .ncpus = 2, .ram_base = 0x80000000, .ram_size = 256ULL << 20,
        .bootargs = "console=ttyS0 root=/dev/vda", .has_initrd = true,
        .initrd_start = 0x88000000, .initrd_end = 0x88123456,
        .rng_seed = seed, .rng_seed_len = sizeof(seed),
    };
    size_t size;
    void *fdt = build(&p, &size);
    assert_true(size >= DTB_SLACK);

    check_u32(fdt, "/", "#address-cells", 2);
    check_u32(fdt, "/", "#size-cells", 2);
    check_str(fdt, "/", "compatible", "riscv-virtio");
    check_str(fdt, "/", "model", "Vessel RISC-V virt");

    check_str(fdt, "/chosen", "bootargs", "console=ttyS0 root=/dev/vda");
    check_str(fdt, "/chosen", "stdout-path", "/soc/serial@10000000");
    check_u64(fdt, "/chosen", "linux,initrd-start", 0x88000000);
    check_u64(fdt, "/chosen", "linux,initrd-end", 0x88123456);
    int len;
    assert_memory_equal(prop(fdt, "/chosen", "rng-seed", &len), seed, sizeof(seed));
    assert_int_equal(len, sizeof(seed));
    check_str(fdt, "/aliases", "serial0", "/soc/serial@10000000");

    check_str(fdt, "/memory@80000000", "device_type", "memory");
    check_reg(fdt, "/memory@80000000", 0x80000000, 256ULL << 20);

    check_u32(fdt, "/cpus", "#address-cells", 1);
    check_u32(fdt, "/cpus", "#size-cells", 0);
    check_u32(fdt, "/cpus", "timebase-frequency", 10000000);
    static const char ext[] =
        "i\0m\0a\0f\0d\0c\0zicntr\0zicond\0zicsr\0zifencei\0zba\0zbb\0zbs\0sstc";
    uint32_t intc[2];
    for (unsigned n = 0; n < 2; n++) {
        char cpu[32], ic[64];
        snprintf(cpu, sizeof(cpu), "/cpus/cpu@%u", n);
        snprintf(ic, sizeof(ic), "%s/interrupt-controller", cpu);
        check_str(fdt, cpu, "device_type", "cpu");
        check_u32(fdt, cpu, "reg", n);
        check_str(fdt, cpu, "status", "okay");
        check_str(fdt, cpu, "compatible", "riscv");
        check_str(fdt, cpu, "riscv,isa", "rv64imafdc_zicntr_zicond_zicsr_zifencei_zba_zbb_zbs_sstc");
        check_str(fdt, cpu, "riscv,isa-base", "rv64i");
        check_strs(fdt, cpu, "riscv,isa-extensions", ext, sizeof(ext));
        check_str(fdt, cpu, "mmu-type", "riscv,sv48");
        check_u32(fdt, ic, "#interrupt-cells", 1);
        check_u32(fdt, ic, "#address-cells", 0);
        check_empty(fdt, ic, "interrupt-controller");
        check_str(fdt, ic, "compatible", "riscv,cpu-intc");
        intc[n] = fdt_get_phandle(fdt, node(fdt, ic));
        assert_int_not_equal(intc[n], 0);
        assert_int_equal(by_phandle(fdt, intc[n]), node(fdt, ic));
    }
    assert_int_equal(fdt_path_offset(fdt, "/cpus/cpu@2"), -FDT_ERR_NOTFOUND);

    check_u32(fdt, "/soc", "#address-cells", 2);
    check_u32(fdt, "/soc", "#size-cells", 2);
    check_str(fdt, "/soc", "compatible", "simple-bus");
    check_empty(fdt, "/soc", "ranges");

    static const char clint_c[] = "sifive,clint0\0riscv,clint0";
    check_strs(fdt, "/soc/clint@2000000", "compatible", clint_c, sizeof(clint_c));
    check_reg(fdt, "/soc/clint@2000000", CLINT_BASE, CLINT_SIZE);
    uint32_t cl[] = { intc[0], 3, intc[0], 7, intc[1], 3, intc[1], 7 };
    check_cells(fdt, "/soc/clint@2000000", "interrupts-extended", cl, 8);

    const char *plic = "/soc/plic@c000000";
    static const char plic_c[] = "sifive,plic-1.0.0\0riscv,plic0";
    check_strs(fdt, plic, "compatible", plic_c, sizeof(plic_c));
    check_reg(fdt, plic, PLIC_BASE, PLIC_SIZE);
    check_u32(fdt, plic, "#interrupt-cells", 1);
    check_u32(fdt, plic, "#address-cells", 0);
    check_empty(fdt, plic, "interrupt-controller");
    check_u32(fdt, plic, "riscv,ndev", PLIC_NSOURCES - 1);
    uint32_t pl[] = { intc[0], 11, intc[0], 9, intc[1], 11, intc[1], 9 };
    check_cells(fdt, plic, "interrupts-extended", pl, 8);
    uint32_t plic_ph = fdt_get_phandle(fdt, node(fdt, plic));
    assert_int_not_equal(plic_ph, 0);

    const char *uart = "/soc/serial@10000000";
    check_str(fdt, uart, "compatible", "ns16550a");
    check_reg(fdt, uart, UART_BASE, UART_SIZE);
    check_u32(fdt, uart, "clock-frequency", 3686400);
    check_u32(fdt, uart, "interrupts", 10);
    check_u32(fdt, uart, "interrupt-parent", plic_ph);

    const char *rtc = "/soc/rtc@101000";
    check_str(fdt, rtc, "compatible", "google,goldfish-rtc");
    check_reg(fdt, rtc, RTC_BASE, RTC_SIZE);
    check_u32(fdt, rtc, "interrupts", 11);
    check_u32(fdt, rtc, "interrupt-parent", plic_ph);

    const char *test = "/soc/test@100000";
    static const char test_c[] = "sifive,test1\0sifive,test0\0syscon";
    check_strs(fdt, test, "compatible", test_c, sizeof(test_c));
    check_reg(fdt, test, SYSCON_BASE, SYSCON_SIZE);
    uint32_t test_ph = fdt_get_phandle(fdt, node(fdt, test));
    assert_int_not_equal(test_ph, 0);

    check_str(fdt, "/poweroff", "compatible", "syscon-poweroff");
    check_u32(fdt, "/poweroff", "regmap", test_ph);
    check_u32(fdt, "/poweroff", "offset", 0);
    check_u32(fdt, "/poweroff", "value", 0x5555);
    check_str(fdt, "/reboot", "compatible", "syscon-reboot");
    check_u32(fdt, "/reboot", "regmap", test_ph);
    check_u32(fdt, "/reboot", "offset", 0);
    check_u32(fdt, "/reboot", "value", 0x7777);

    assert_true(fdt_node_offset_by_compatible(fdt, -1, "virtio,mmio") < 0);
    free(fdt);
}

static void test_minimal_and_virtio(void **state)
{
    struct dtb_params p = {
        .ncpus = 1, .ram_base = 0x80000000, .ram_size = 16ULL << 20,
    };
    size_t size;
    void *fdt = build_mask(&p, (1u << 0) | (1u << 7) | POWER_BIT, &size);
    int off = node(fdt, "/chosen");
    assert_null(fdt_getprop(fdt, off, "bootargs", NULL));
    assert_null(fdt_getprop(fdt, off, "linux,initrd-start", NULL));
    assert_null(fdt_getprop(fdt, off, "rng-seed", NULL));
    check_str(fdt, "/soc/virtio_mmio@10001000", "compatible", "virtio,mmio");
    check_reg(fdt, "/soc/virtio_mmio@10001000", 0x10001000, 0x1000);
    check_u32(fdt, "/soc/virtio_mmio@10001000", "interrupts", 1);
    uint32_t plic_ph = fdt_get_phandle(fdt, node(fdt, "/soc/plic@c000000"));
    check_u32(fdt, "/soc/virtio_mmio@10001000", "interrupt-parent", plic_ph);
    check_reg(fdt, "/soc/virtio_mmio@10008000", 0x10008000, 0x1000);
    check_u32(fdt, "/soc/virtio_mmio@10008000", "interrupts", 8);
    /* The power button: its own window and source, after the slots. */
    check_str(fdt, "/soc/virtio_mmio@10009000", "compatible", "virtio,mmio");
    check_reg(fdt, "/soc/virtio_mmio@10009000", 0x10009000, 0x1000);
    check_u32(fdt, "/soc/virtio_mmio@10009000", "interrupts", 9);
    assert_true(node(fdt, "/soc/virtio_mmio@10009000") >
                node(fdt, "/soc/virtio_mmio@10008000"));
    assert_int_equal(fdt_path_offset(fdt, "/soc/virtio_mmio@10002000"), -FDT_ERR_NOTFOUND);
    free(fdt);
}

static void test_many_cpus_and_bad(void **state)
{
    struct dtb_params p = { .ncpus = 16, .ram_base = 0x80000000, .ram_size = 1ULL << 30 };
    size_t size;
    void *fdt = build(&p, &size);
    node(fdt, "/cpus/cpu@f/interrupt-controller");
    int len;
    prop(fdt, "/soc/plic@c000000", "interrupts-extended", &len);
    assert_int_equal(len, 16 * 4 * 4);
    free(fdt);
    void *blob = NULL;
    p.ncpus = 0;
    assert_int_equal(dtb_build(&p, &blob, &size, NULL, 0), -EINVAL);
    p.ncpus = DTB_MAX_CPUS + 1;
    assert_int_equal(dtb_build(&p, &blob, &size, NULL, 0), -EINVAL);
    /* A board node must not take a phandle the harts' controllers use. */
    struct dtb_soc_node bad = { NULL, 0x10001000, 0x1000, 1, 2 };
    p.ncpus = 1;
    p.soc = &bad;
    p.nsoc = 1;
    assert_int_equal(dtb_build(&p, &blob, &size, NULL, 0), -EINVAL);
    assert_null(blob);
}

/* Size and CRC-32 of the blobs the board built for these parameters
 * before its devices wrote their own nodes (when dtb.c wrote them all
 * from hw.h's constants): moving the nodes changed no byte. */
static void check_golden(const struct dtb_params *p, uint32_t virtio_mask,
                         size_t want_size, uint32_t want_crc)
{
    size_t size;
    void *fdt = build_mask(p, virtio_mask, &size);
    uint32_t crc = (uint32_t)crc32(0, fdt, (uInt)size);
    if (size != want_size || crc != want_crc) {
        char path[] = "/tmp/vessel-test-dtb-golden-XXXXXX";
        int fd = mkstemp(path);
        if (fd >= 0) {
            if (write(fd, fdt, size) != (ssize_t)size)
                path[0] = 0;
            close(fd);
        }
        fail_msg("%u cpus: blob of %zu bytes, crc 0x%08x; expected %zu bytes, crc 0x%08x "
                 "(written to %s for dtc -I dtb)", p->ncpus, size, crc, want_size,
                 want_crc, path);
    }
    free(fdt);
}

static void test_golden_blobs(void **state)
{
    uint8_t seed[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    struct dtb_params linux_mode = {
        .ncpus = 2, .ram_base = 0x80000000, .ram_size = 256ULL << 20,
        .bootargs = "console=ttyS0 root=/dev/vda", .has_initrd = true,
        .initrd_start = 0x88000000, .initrd_end = 0x88123456,
        .rng_seed = seed, .rng_seed_len = sizeof(seed),
    };
    check_golden(&linux_mode, 0, 19019, 0x7c48db94);
    struct dtb_params small = { .ncpus = 1, .ram_base = 0x80000000, .ram_size = 16ULL << 20 };
    check_golden(&small, (1u << 0) | (1u << 7), 18669, 0x0ad49b14);
    check_golden(&small, 1u << 0, 18553, 0x508ce19b);   /* bare metal, the rng */
    struct dtb_params many = { .ncpus = 16, .ram_base = 0x80000000, .ram_size = 1ULL << 30 };
    check_golden(&many, 0, 24857, 0x23dd7cb9);
    struct dtb_params all = {
        .ncpus = 4, .ram_base = 0x80000000, .ram_size = 512ULL << 20,
        .bootargs = "console=ttyS0", .has_initrd = true,
        .initrd_start = 0x90000000, .initrd_end = 0x91000000,
    };
    check_golden(&all, 0xff, 20762, 0xc6e897c3);
    /* The power button's node (virtio_mmio@10009000, source 9) after the
     * slots': the blobs above, without it, did not change. */
    check_golden(&all, 0xff | POWER_BIT, 20878, 0x3f165dad);
}

static void test_dtc_clean(void **state)
{
    if (system("command -v dtc >/dev/null 2>&1") != 0)
        skip();
    struct dtb_params p = {
        .ncpus = 4, .ram_base = 0x80000000, .ram_size = 512ULL << 20,
        .bootargs = "console=ttyS0", .has_initrd = true,
        .initrd_start = 0x90000000, .initrd_end = 0x91000000,
    };
    size_t size;
    void *fdt = build_mask(&p, 0xff, &size);
    char path[] = "/tmp/vessel-test-dtb-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, fdt, size), (ssize_t)size);
    close(fd);
    free(fdt);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o /dev/null %s 2>&1", path);
    FILE *pp = popen(cmd, "r");
    assert_non_null(pp);
    char out[4096];
    size_t n = fread(out, 1, sizeof(out) - 1, pp);
    out[n] = 0;
    int rc = pclose(pp);
    unlink(path);
    if (n)
        fail_msg("dtc said: %s", out);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_tree),
        cmocka_unit_test(test_minimal_and_virtio),
        cmocka_unit_test(test_many_cpus_and_bad),
        cmocka_unit_test(test_dtc_clean),
        cmocka_unit_test(test_golden_blobs),
    };
    return cmocka_run_group_tests_name("dtb", tests, NULL, NULL);
}
