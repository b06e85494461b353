/* Unit tests for machine/virt.c: board assembly, boot registers, device
 * wiring to real harts (cpu/riscv), image placement and config errors.
 * The harts are never run: the tests poke the devices through mem_load /
 * mem_store exactly as a hart's loads and stores would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <elf.h>
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hw/hw.h"
#include "machine/virt.h"
#include "util/util.h"

#define RAM_BASE VIRT_RAM_BASE
/* The board's memory map and PLIC sources, stated independently of
 * machine/board.c. */
#define SYSCON_BASE 0x00100000ULL
#define CLINT_BASE  0x02000000ULL
#define PLIC_BASE   0x0c000000ULL
#define UART_BASE   0x10000000ULL
#define UART_IRQ    10
#define MIP 0x344
#define TOHOST   (RAM_BASE + 0x1000)
#define FROMHOST (RAM_BASE + 0x1040)

struct fixture {
    char dir[64];
    char elf[96], fw[96], kernel[96], initrd[96], junk[96];
    uint8_t out[256];
    size_t nout;
    unsigned woken;
};

static void con_out(void *opaque, const uint8_t *buf, size_t len)
{
    struct fixture *f = opaque;
    for (size_t i = 0; i < len && f->nout < sizeof(f->out); i++)
        f->out[f->nout++] = buf[i];
}

static void wake(void *opaque, unsigned cpu)
{
    ((struct fixture *)opaque)->woken |= 1u << cpu;
}

static void put_file(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    fclose(fp);
}

/* A minimal RISC-V ELF: 16 bytes at RAM_BASE, entry RAM_BASE + 8, symbols
 * tohost and fromhost. */
static void write_elf(const char *path)
{
    static const char strtab[] = "\0tohost\0fromhost";
    uint8_t b[0x500] = { 0 };
    Elf64_Ehdr *h = (Elf64_Ehdr *)b;
    memcpy(h->e_ident, ELFMAG, SELFMAG);
    h->e_ident[EI_CLASS] = ELFCLASS64;
    h->e_ident[EI_DATA] = ELFDATA2LSB;
    h->e_ident[EI_VERSION] = EV_CURRENT;
    h->e_type = ET_EXEC;
    h->e_machine = 243;
    h->e_version = EV_CURRENT;
    h->e_entry = RAM_BASE + 8;
    h->e_phoff = 64;
    h->e_phentsize = sizeof(Elf64_Phdr);
    h->e_phnum = 1;
    h->e_shoff = 0x400;
    h->e_shentsize = sizeof(Elf64_Shdr);
    h->e_shnum = 3;
    Elf64_Phdr *p = (Elf64_Phdr *)(b + 64);
    p->p_type = PT_LOAD;
    p->p_offset = 0x100;
    p->p_paddr = p->p_vaddr = RAM_BASE;
    p->p_filesz = 16;
    p->p_memsz = 0x2000;
    memset(b + 0x100, 0x13, 16);
    Elf64_Sym *sym = (Elf64_Sym *)(b + 0x200);
    sym[1] = (Elf64_Sym){ .st_name = 1, .st_value = TOHOST, .st_shndx = 1 };
    sym[2] = (Elf64_Sym){ .st_name = 8, .st_value = FROMHOST, .st_shndx = 1 };
    memcpy(b + 0x300, strtab, sizeof(strtab));
    Elf64_Shdr *s = (Elf64_Shdr *)(b + 0x400);
    s[1] = (Elf64_Shdr){ .sh_type = SHT_SYMTAB, .sh_offset = 0x200,
                         .sh_size = 3 * sizeof(Elf64_Sym), .sh_link = 2,
                         .sh_entsize = sizeof(Elf64_Sym) };
    s[2] = (Elf64_Shdr){ .sh_type = SHT_STRTAB, .sh_offset = 0x300,
                         .sh_size = sizeof(strtab) };
    put_file(path, b, 0x400 + 3 * sizeof(Elf64_Shdr));
}

/* A fake Linux Image: valid header, text_offset 2 MiB, image_size 1 MiB. */
static void write_image(const char *path, bool good)
{
    uint8_t b[8192];
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(i * 7);
    memset(b, 0, 64);
    uint64_t text_offset = 0x200000, image_size = 0x100000;
    memcpy(b + 8, &text_offset, 8);
    memcpy(b + 16, &image_size, 8);
    memcpy(b + 48, "RISCV\0\0\0", 8);
    memcpy(b + 56, good ? "RSC\x05" : "ARM\x64", 4);
    put_file(path, b, sizeof(b));
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/vessel-test-virt-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->elf, sizeof(f->elf), "%s/prog.elf", f->dir);
    snprintf(f->fw, sizeof(f->fw), "%s/fw_dynamic.bin", f->dir);
    snprintf(f->kernel, sizeof(f->kernel), "%s/Image", f->dir);
    snprintf(f->initrd, sizeof(f->initrd), "%s/initrd", f->dir);
    snprintf(f->junk, sizeof(f->junk), "%s/junk", f->dir);
    write_elf(f->elf);
    uint8_t fw[4096];
    memset(fw, 0x5f, sizeof(fw));
    put_file(f->fw, fw, sizeof(fw));
    write_image(f->kernel, true);
    uint8_t rd[10000];
    memset(rd, 0xcd, sizeof(rd));
    put_file(f->initrd, rd, sizeof(rd));
    put_file(f->junk, "hello, world\n", 13);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->elf);
    unlink(f->fw);
    unlink(f->kernel);
    unlink(f->initrd);
    unlink(f->junk);
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct virt_config bare_config(struct fixture *f, unsigned ncpus)
{
    return (struct virt_config){
        .ram_size = 16ULL << 20, .ncpus = ncpus, .bios = f->elf,
        .console_out = con_out, .console_opaque = f,
        .wake = wake, .wake_opaque = f,
    };
}

static uint64_t mip(struct virt_machine *vm, unsigned cpu)
{
    uint64_t v = 0;
    assert_int_equal(hart_peek_csr(virt_hart(vm, cpu), MIP, &v), 0);
    return v;
}

static void store(struct virt_machine *vm, uint64_t gpa, unsigned size, uint64_t v)
{
    assert_int_equal(mem_store(virt_mem(vm), gpa, size, v), 0);
}

static uint64_t load(struct virt_machine *vm, uint64_t gpa, unsigned size)
{
    uint64_t v = 0;
    assert_int_equal(mem_load(virt_mem(vm), gpa, size, &v), 0);
    return v;
}

static void *guest_dtb(struct virt_machine *vm)
{
    uint8_t hdr[64];
    uint64_t addr = virt_dtb_addr(vm);
    assert_int_equal(mem_read(virt_mem(vm), addr, hdr, sizeof(hdr)), 0);
    uint32_t size = fdt_totalsize(hdr);
    assert_true(size >= 64 && size < (1u << 20));
    void *fdt = malloc(size);
    assert_non_null(fdt);
    assert_int_equal(mem_read(virt_mem(vm), addr, fdt, size), 0);
    assert_int_equal(fdt_check_header(fdt), 0);
    return fdt;
}

static void test_bare_metal_boot_state(void **state)
{
    struct fixture *f = *state;
    struct virt_config cfg = bare_config(f, 2);
    struct virt_machine *vm = NULL;
    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    assert_int_equal(virt_ncpus(vm), 2);
    assert_null(virt_hart(vm, 2));
    uint64_t dtb = virt_dtb_addr(vm);
    assert_true(dtb >= RAM_BASE + 0x2000 && dtb < RAM_BASE + (16ULL << 20));
    assert_int_equal(dtb % 8, 0);
    for (unsigned i = 0; i < 2; i++) {
        struct hart *h = virt_hart(vm, i);
        assert_non_null(h);
        assert_int_equal(hart_get_pc(h), RAM_BASE + 8);
        assert_int_equal(hart_get_x(h, 10), i);
        assert_int_equal(hart_get_x(h, 11), dtb);
        assert_int_equal(hart_priv(h), 3);
    }
    assert_int_equal(load(vm, RAM_BASE, 8), 0x1313131313131313ULL);
    assert_int_equal(load(vm, RAM_BASE + 16, 8), 0);
    void *fdt = guest_dtb(vm);
    assert_true(fdt_path_offset(fdt, "/cpus/cpu@1") >= 0);
    assert_true(fdt_path_offset(fdt, "/cpus/cpu@2") < 0);
    free(fdt);
    int code = -1;
    assert_int_equal(virt_shutdown_state(vm, &code), VIRT_RUNNING);
    assert_int_equal(virt_next_timer_ns(vm, 0), UINT64_MAX);
    virt_destroy(vm);
}

static void test_htif_and_poweroff(void **state)
{
    struct fixture *f = *state;
    struct virt_config cfg = bare_config(f, 1);
    struct virt_machine *vm = NULL;
    int code;
    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    store(vm, TOHOST, 8, 0x0101000000000000ULL | 'V');
    assert_int_equal(f->nout, 1);
    assert_int_equal(f->out[0], 'V');
    assert_int_equal(load(vm, TOHOST, 8), 0);
    assert_int_equal(load(vm, FROMHOST, 8), 0x0101000000000000ULL | 0x100 | 'V');
    store(vm, TOHOST, 4, (9 << 1) | 1);
    store(vm, TOHOST + 4, 4, 0);
    assert_int_equal(virt_shutdown_state(vm, &code), VIRT_POWEROFF);
    assert_int_equal(code, 9);
    assert_int_equal(f->woken, 1);
    virt_destroy(vm);

    f->woken = 0;
    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    store(vm, SYSCON_BASE, 4, 0x7777);
    assert_int_equal(virt_shutdown_state(vm, &code), VIRT_REBOOT);
    assert_int_equal(f->woken, 1);
    virt_destroy(vm);

    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    store(vm, SYSCON_BASE, 4, 0x5555);
    assert_int_equal(virt_shutdown_state(vm, &code), VIRT_POWEROFF);
    assert_int_equal(code, 0);
    virt_destroy(vm);
}

static void test_interrupt_wiring(void **state)
{
    struct fixture *f = *state;
    struct virt_config cfg = bare_config(f, 2);
    struct virt_machine *vm = NULL;
    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    /* CLINT msip -> MSIP of the right hart */
    store(vm, CLINT_BASE + 4, 4, 1);
    assert_int_equal(mip(vm, 1) & (1u << 3), 1u << 3);
    assert_int_equal(mip(vm, 0) & (1u << 3), 0);
    store(vm, CLINT_BASE + 4, 4, 0);
    assert_int_equal(mip(vm, 1) & (1u << 3), 0);
    /* CLINT mtimecmp -> MTIP, and the timer deadline */
    /* (the clock runs meanwhile: by as much as the host's clock did) */
    uint64_t t0 = host_time_ns();
    uint64_t now = load(vm, CLINT_BASE + 0xbff8, 8);
    store(vm, CLINT_BASE + 0x4000, 8, now + VCLOCK_DEFAULT_HZ);    /* in 1 s */
    uint64_t ns = virt_next_timer_ns(vm, 0);
    uint64_t spent = host_time_ns() - t0;
    assert_true(ns + spent + 1000 >= 1000000000ULL && ns <= 1000000000ULL);
    assert_int_equal(virt_next_timer_ns(vm, 1), UINT64_MAX);
    assert_int_equal(virt_next_timer_ns(vm, 5), UINT64_MAX);
    assert_int_equal(mip(vm, 0) & (1u << 7), 0);
    store(vm, CLINT_BASE + 0x4000, 8, 0);
    assert_int_equal(mip(vm, 0) & (1u << 7), 1u << 7);
    /* UART rx -> PLIC source 10 -> hart 1 S-mode context (3) -> SEIP */
    store(vm, PLIC_BASE + 4 * UART_IRQ, 4, 1);
    store(vm, PLIC_BASE + 0x2000 + 0x80 * 3, 4, 1u << UART_IRQ);
    store(vm, UART_BASE + 1, 1, 0x01);                  /* IER.ERBFI */
    assert_int_equal(mip(vm, 1) & (1u << 9), 0);
    virt_console_input(vm, (const uint8_t *)"k", 1);
    assert_int_equal(mip(vm, 1) & (1u << 9), 1u << 9);
    assert_int_equal(mip(vm, 0) & ((1u << 9) | (1u << 11)), 0);
    assert_int_equal(load(vm, PLIC_BASE + 0x200004 + 0x1000 * 3, 4), UART_IRQ);
    assert_int_equal(load(vm, UART_BASE, 1), 'k');
    store(vm, PLIC_BASE + 0x200004 + 0x1000 * 3, 4, UART_IRQ);
    assert_int_equal(mip(vm, 1) & (1u << 9), 0);
    /* UART tx reaches the console */
    store(vm, UART_BASE, 1, '!');
    assert_int_equal(f->out[f->nout - 1], '!');
    virt_destroy(vm);
}

static void test_dump_dtb(void **state)
{
    struct fixture *f = *state;
    struct virt_config cfg = bare_config(f, 1);
    struct virt_machine *vm = NULL;
    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    char path[128];
    snprintf(path, sizeof(path), "%s/out.dtb", f->dir);
    assert_int_equal(virt_dump_dtb(vm, path, NULL, 0), 0);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    unlink(path);
    void *fdt = guest_dtb(vm);
    assert_int_equal(n, fdt_totalsize(fdt));
    assert_memory_equal(buf, fdt, n);
    free(fdt);
    char err[256] = "";
    assert_int_equal(virt_dump_dtb(vm, "/nonexistent-dir/x.dtb", err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "--dump-dtb /nonexistent-dir/x.dtb: No such file or directory");
    virt_destroy(vm);
}

/* A small program in little RAM: the 2 MiB boundary below the top is the
 * RAM base, under the program, so the device tree goes page aligned as
 * high as it fits above the program (it used to be refused). */
static void test_bare_metal_small_ram(void **state)
{
    struct fixture *f = *state;
    struct virt_config cfg = bare_config(f, 1);
    struct virt_machine *vm = NULL;
    cfg.ram_size = 64 << 10;                /* the ELF takes the first 8 KiB */
    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    uint64_t dtb = virt_dtb_addr(vm);
    void *fdt = guest_dtb(vm);
    assert_int_equal(dtb % 4096, 0);
    assert_true(dtb >= RAM_BASE + 0x2000);
    assert_true(dtb + fdt_totalsize(fdt) <= RAM_BASE + cfg.ram_size);
    assert_true(dtb + fdt_totalsize(fdt) > RAM_BASE + cfg.ram_size - 4096);
    assert_int_equal(hart_get_x(virt_hart(vm, 0), 11), dtb);
    free(fdt);
    virt_destroy(vm);
}

/* virt_create refuses cfg with rc and one message that contains `want`;
 * no board is left. */
static void create_fails(const struct virt_config *cfg, int rc, const char *want)
{
    struct virt_machine *vm = NULL;
    char err[512] = "stale";
    int got = virt_create(cfg, &vm, err, sizeof(err));
    if (got != rc || !strstr(err, want))
        fail_msg("virt_create: %d '%s', expected %d and '%s'", got, err, rc, want);
    assert_null(vm);
}

static void test_config_errors(void **state)
{
    struct fixture *f = *state;
    struct virt_config cfg = bare_config(f, 0);
    create_fails(&cfg, -EINVAL, "--cpus 0: expected 1..16");
    cfg.ncpus = VIRT_MAX_CPUS + 1;
    create_fails(&cfg, -EINVAL, "--cpus 17: expected 1..16");
    cfg = bare_config(f, 1);
    cfg.ram_size = 0;
    create_fails(&cfg, -EINVAL, "--memory 0 bytes: expected a multiple of 4 KiB");
    cfg.ram_size = (16ULL << 20) + 100;
    create_fails(&cfg, -EINVAL, "--memory 16777316 bytes:");
    cfg = bare_config(f, 1);
    cfg.kernel = f->kernel;                 /* both modes */
    create_fails(&cfg, -EINVAL, "give either a bare-metal program (--bios) or a kernel");
    cfg.bios = cfg.kernel = NULL;           /* neither */
    create_fails(&cfg, -EINVAL, "give either a bare-metal program (--bios) or a kernel");
    cfg = bare_config(f, 1);
    cfg.bios = "/nonexistent/prog.elf";
    create_fails(&cfg, -ENOENT, "/nonexistent/prog.elf: No such file or directory");
    cfg.bios = f->junk;
    create_fails(&cfg, -ENOEXEC, f->junk);
    cfg = bare_config(f, 1);
    cfg.ram_size = 4096;                    /* ELF needs 8 KiB */
    create_fails(&cfg, -EFBIG, "segment 0 [0x80000000, 0x80002000) is outside RAM");
    cfg.ram_size = 12288;                   /* ELF fits, the DTB does not */
    create_fails(&cfg, -EFBIG, "-byte device tree: the program occupies");
    cfg = bare_config(f, 1);
    cfg.nnics = 1;                          /* no array */
    create_fails(&cfg, -EINVAL, "nics: NULL with nnics 1");
}

static struct virt_config linux_config(struct fixture *f)
{
    return (struct virt_config){
        .ram_size = 64ULL << 20, .ncpus = 2, .firmware = f->fw,
        .kernel = f->kernel, .initrd = f->initrd, .append = "console=ttyS0",
        .console_out = con_out, .console_opaque = f,
    };
}

static void test_linux_layout(void **state)
{
    struct fixture *f = *state;
    struct virt_config cfg = linux_config(f);
    struct virt_machine *vm = NULL;
    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    uint64_t dtb = virt_dtb_addr(vm), info = 0;
    assert_int_equal(dtb % (2 << 20), 0);
    for (unsigned i = 0; i < 2; i++) {
        struct hart *h = virt_hart(vm, i);
        assert_int_equal(hart_get_pc(h), RAM_BASE);
        assert_int_equal(hart_get_x(h, 10), i);
        assert_int_equal(hart_get_x(h, 11), dtb);
        info = hart_get_x(h, 12);
    }
    /* firmware at RAM base, kernel at base + text_offset */
    assert_int_equal(load(vm, RAM_BASE, 8), 0x5f5f5f5f5f5f5f5fULL);
    assert_int_equal(load(vm, RAM_BASE + 0x200000 + 56, 4), 0x05435352);
    assert_int_equal(load(vm, RAM_BASE + 0x200000 + 100, 1), (uint8_t)(100 * 7));
    /* fw_dynamic_info */
    assert_true(info > RAM_BASE + 0x300000 && info < dtb);
    assert_int_equal(load(vm, info + 0, 8), 0x4942534f);
    assert_int_equal(load(vm, info + 8, 8), 2);
    assert_int_equal(load(vm, info + 16, 8), RAM_BASE + 0x200000);
    assert_int_equal(load(vm, info + 24, 8), 1);
    assert_int_equal(load(vm, info + 32, 8), 0);
    assert_int_equal(load(vm, info + 40, 8), UINT64_MAX);
    /* initrd: page aligned, below info, above the kernel, named in the DTB */
    void *fdt = guest_dtb(vm);
    int chosen = fdt_path_offset(fdt, "/chosen");
    const void *s = fdt_getprop(fdt, chosen, "linux,initrd-start", NULL);
    const void *e = fdt_getprop(fdt, chosen, "linux,initrd-end", NULL);
    assert_non_null(s);
    assert_non_null(e);
    fdt64_t raw;                    /* properties are only 4-byte aligned */
    memcpy(&raw, s, 8);
    uint64_t is = fdt64_to_cpu(raw);
    memcpy(&raw, e, 8);
    uint64_t ie = fdt64_to_cpu(raw);
    assert_int_equal(is % 4096, 0);
    assert_int_equal(ie - is, 10000);
    assert_true(is >= RAM_BASE + 0x300000 && ie <= info);
    assert_int_equal(load(vm, is, 8), 0xcdcdcdcdcdcdcdcdULL);
    assert_int_equal(load(vm, ie - 8, 8), 0xcdcdcdcdcdcdcdcdULL);
    assert_string_equal(fdt_getprop(fdt, chosen, "bootargs", NULL), "console=ttyS0");
    free(fdt);
    virt_destroy(vm);
}

/* Little RAM above the kernel: no 2 MiB boundary is free, so the device
 * tree goes page aligned as high as it fits, with fw_dynamic_info and the
 * initrd below it, all above the kernel. */
static void test_linux_small_ram(void **state)
{
    struct fixture *f = *state;
    struct virt_config cfg = linux_config(f);
    struct virt_machine *vm = NULL;
    cfg.ram_size = 4ULL << 20;              /* the kernel ends at 3 MiB */
    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    uint64_t dtb = virt_dtb_addr(vm);
    uint64_t info = hart_get_x(virt_hart(vm, 0), 12);
    assert_int_equal(dtb % 4096, 0);
    assert_true(dtb >= RAM_BASE + 0x300000 && dtb < RAM_BASE + (4 << 20));
    void *fdt = guest_dtb(vm);
    assert_true(dtb + fdt_totalsize(fdt) <= RAM_BASE + (4 << 20));
    assert_true(dtb + fdt_totalsize(fdt) > RAM_BASE + (4 << 20) - 4096);    /* at the top */
    assert_int_equal(info, dtb - 4096);
    assert_int_equal(load(vm, info, 8), 0x4942534f);
    int chosen = fdt_path_offset(fdt, "/chosen");
    fdt64_t raw;
    memcpy(&raw, fdt_getprop(fdt, chosen, "linux,initrd-start", NULL), 8);
    uint64_t is = fdt64_to_cpu(raw);
    assert_true(is >= RAM_BASE + 0x300000);
    assert_int_equal(load(vm, is, 8), 0xcdcdcdcdcdcdcdcdULL);
    free(fdt);
    virt_destroy(vm);
}

static void test_linux_errors(void **state)
{
    struct fixture *f = *state;
    struct virt_config cfg = linux_config(f);
    /* The kernel ends at 3 MiB; 16 KiB above it cannot hold the device
     * tree, the fw_dynamic_info page and the initrd. */
    cfg.ram_size = (3ULL << 20) + (16 << 10);
    create_fails(&cfg, -EFBIG, "--memory 3 MiB is too small: OpenSBI");
    cfg = linux_config(f);
    cfg.firmware = "/nonexistent/fw_dynamic.bin";
    create_fails(&cfg, -ENOENT, "/nonexistent/fw_dynamic.bin: No such file or directory");
    cfg = linux_config(f);
    cfg.initrd = "/nonexistent/initrd";
    create_fails(&cfg, -ENOENT, "/nonexistent/initrd: No such file or directory");
    cfg = linux_config(f);
    cfg.kernel = f->junk;                   /* too short for a header */
    create_fails(&cfg, -ENOEXEC, "not a RISC-V Linux Image (only");
    write_image(f->kernel, false);          /* wrong magic2 */
    cfg = linux_config(f);
    create_fails(&cfg, -ENOEXEC, "not a RISC-V Linux Image (magic2 at offset 56");
    cfg.kernel = f->elf;                    /* an ELF is not an Image */
    create_fails(&cfg, -ENOEXEC, "an ELF vmlinux needs --bios");
}

/* A guest reboot loads firmware, kernel, initrd, fw_dynamic_info and a
 * device tree (with a new rng-seed) again, at the same places, and puts
 * the harts back at the firmware's entry. */
static void test_linux_reset(void **state)
{
    struct fixture *f = *state;
    struct virt_config cfg = linux_config(f);
    struct virt_machine *vm = NULL;
    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    uint64_t dtb = virt_dtb_addr(vm), info = hart_get_x(virt_hart(vm, 1), 12);
    void *fdt = guest_dtb(vm);
    int len;
    uint8_t seed[64];
    const void *p = fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "rng-seed", &len);
    assert_non_null(p);
    assert_true(len > 0 && len <= (int)sizeof(seed));
    memcpy(seed, p, (size_t)len);
    free(fdt);
    store(vm, RAM_BASE, 8, 0);
    store(vm, RAM_BASE + 0x200000 + 56, 4, 0);
    store(vm, info, 8, 0);
    store(vm, dtb, 8, 0);
    hart_set_pc(virt_hart(vm, 1), RAM_BASE + 0x1234);
    hart_set_x(virt_hart(vm, 1), 12, 0);
    store(vm, SYSCON_BASE, 4, 0x7777);
    assert_int_equal(virt_reset(vm, NULL, 0), 0);
    assert_int_equal(virt_shutdown_state(vm, NULL), VIRT_RUNNING);
    assert_int_equal(load(vm, RAM_BASE, 8), 0x5f5f5f5f5f5f5f5fULL);
    assert_int_equal(load(vm, RAM_BASE + 0x200000 + 56, 4), 0x05435352);
    assert_int_equal(load(vm, info, 8), 0x4942534f);
    assert_int_equal(virt_dtb_addr(vm), dtb);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(hart_get_pc(virt_hart(vm, i)), RAM_BASE);
        assert_int_equal(hart_get_x(virt_hart(vm, i), 10), i);
        assert_int_equal(hart_get_x(virt_hart(vm, i), 11), dtb);
        assert_int_equal(hart_get_x(virt_hart(vm, i), 12), info);
        assert_int_equal(hart_priv(virt_hart(vm, i)), 3);
    }
    fdt = guest_dtb(vm);
    p = fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "rng-seed", &len);
    assert_non_null(p);
    assert_memory_not_equal(p, seed, (size_t)len);
    assert_string_equal(fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "bootargs", NULL),
                        "console=ttyS0");
    free(fdt);
    virt_destroy(vm);
}

static void test_firmware_search(void **state)
{
    struct fixture *f = *state;
    struct virt_machine *vm = NULL;
    struct virt_config cfg = linux_config(f);
    char dir[128], sub[160], fw[192];
    cfg.firmware = NULL;
    snprintf(dir, sizeof(dir), "%s/guest", f->dir);
    snprintf(sub, sizeof(sub), "%s/opensbi", dir);
    snprintf(fw, sizeof(fw), "%s/fw_dynamic.bin", sub);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    setenv("VESSEL_GUEST_DIR", dir, 1);
    if (access("/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin", R_OK))
        assert_int_equal(virt_create(&cfg, &vm, NULL, 0), -ENOENT);
    put_file(fw, "FWFWFWFW", 8);
    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    assert_int_equal(load(vm, RAM_BASE, 8), 0x5746574657465746ULL);
    virt_destroy(vm);
    unsetenv("VESSEL_GUEST_DIR");
    unlink(fw);
    rmdir(sub);
    rmdir(dir);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_bare_metal_boot_state), T(test_htif_and_poweroff),
        T(test_interrupt_wiring), T(test_dump_dtb), T(test_bare_metal_small_ram),
        T(test_config_errors),
        T(test_linux_layout), T(test_linux_small_ram), T(test_linux_errors),
        T(test_linux_reset), T(test_firmware_search),
    };
    return cmocka_run_group_tests_name("virt", tests, NULL, NULL);
}
