/* Unit tests for machine/state.c: the board's saved state (harts, clock,
 * every device in table order), all-or-nothing restore, quiesce freezing
 * guest time, and virt_reset giving a freshly created board's state.
 * A tiny bare-metal program (a0 += 1 in a loop) runs on real harts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "machine/virt.h"
#include "util/util.h"
#include "util/sstate.h"

#define RAM_BASE VIRT_RAM_BASE
#define TOHOST   (RAM_BASE + 0x1000)
#define FROMHOST (RAM_BASE + 0x1040)
#define MIP 0x344
/* The board's memory map, stated independently of machine/board.c. */
#define SYSCON_BASE 0x00100000ULL
#define RTC_BASE    0x00101000ULL
#define CLINT_BASE  0x02000000ULL
#define PLIC_BASE   0x0c000000ULL
#define UART_BASE   0x10000000ULL
#define MTIME       (CLINT_BASE + 0xbff8)

struct fixture {
    char dir[64], elf[96];
    uint8_t out[256];
    size_t nout;
};

static void con_out(void *opaque, const uint8_t *buf, size_t len)
{
    struct fixture *f = opaque;
    for (size_t i = 0; i < len && f->nout < sizeof(f->out); i++)
        f->out[f->nout++] = buf[i];
}

/* A RISC-V ELF: at RAM_BASE `addi a0, a0, 1; j .-4`, entry RAM_BASE,
 * 8 KiB in memory, symbols tohost and fromhost (HTIF) at `tohost` and
 * `tohost + 0x40`. */
static void write_elf(const char *path, uint64_t tohost)
{
    static const char strtab[] = "\0tohost\0fromhost";
    static const uint32_t code[] = { 0x00150513, 0xffdff06f };
    uint8_t b[0x500] = { 0 };
    Elf64_Ehdr *h = (Elf64_Ehdr *)b;
    memcpy(h->e_ident, ELFMAG, SELFMAG);
    h->e_ident[EI_CLASS] = ELFCLASS64;
    h->e_ident[EI_DATA] = ELFDATA2LSB;
    h->e_ident[EI_VERSION] = EV_CURRENT;
    h->e_type = ET_EXEC;
    h->e_machine = 243;
    h->e_version = EV_CURRENT;
    h->e_entry = RAM_BASE;
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
    p->p_filesz = sizeof(code);
    p->p_memsz = 0x2000;
    memcpy(b + 0x100, code, sizeof(code));
    Elf64_Sym *sym = (Elf64_Sym *)(b + 0x200);
    sym[1] = (Elf64_Sym){ .st_name = 1, .st_value = tohost, .st_shndx = 1 };
    sym[2] = (Elf64_Sym){ .st_name = 8, .st_value = tohost + 0x40, .st_shndx = 1 };
    memcpy(b + 0x300, strtab, sizeof(strtab));
    Elf64_Shdr *s = (Elf64_Shdr *)(b + 0x400);
    s[1] = (Elf64_Shdr){ .sh_type = SHT_SYMTAB, .sh_offset = 0x200,
                         .sh_size = 3 * sizeof(Elf64_Sym), .sh_link = 2,
                         .sh_entsize = sizeof(Elf64_Sym) };
    s[2] = (Elf64_Shdr){ .sh_type = SHT_STRTAB, .sh_offset = 0x300,
                         .sh_size = sizeof(strtab) };
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, 0x400 + 3 * sizeof(Elf64_Shdr), fp),
                     0x400 + 3 * sizeof(Elf64_Shdr));
    fclose(fp);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/vessel-test-virt-state-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->elf, sizeof(f->elf), "%s/prog.elf", f->dir);
    write_elf(f->elf, TOHOST);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->elf);
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct virt_machine *board(struct fixture *f, unsigned ncpus)
{
    struct virt_config cfg = {
        .ram_size = 16ULL << 20, .ncpus = ncpus, .bios = f->elf,
        .console_out = con_out, .console_opaque = f,
    };
    struct virt_machine *vm = NULL;
    assert_int_equal(virt_create(&cfg, &vm, NULL, 0), 0);
    return vm;
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

static uint64_t mip(struct virt_machine *vm, unsigned cpu)
{
    uint64_t v = 0;
    assert_int_equal(hart_peek_csr(virt_hart(vm, cpu), MIP, &v), 0);
    return v;
}

/* Run the program a little and put every device into a non-trivial state
 * through its registers. */
static void busy(struct virt_machine *vm)
{
    for (unsigned i = 0; i < virt_ncpus(vm); i++)
        hart_run(virt_hart(vm, i), 1000 + 100 * i);
    store(vm, CLINT_BASE + 4, 4, 1);                        /* MSIP hart 1 */
    store(vm, CLINT_BASE + 0x4000, 8, 1);                   /* MTIP hart 0 */
    store(vm, CLINT_BASE + 0x4008, 8, UINT64_MAX - 1);
    store(vm, PLIC_BASE + 4 * 10, 4, 3);                    /* UART source */
    store(vm, PLIC_BASE + 0x2000 + 0x80 * 3, 4, 1u << 10);  /* hart 1 S */
    store(vm, PLIC_BASE + 0x200000 + 0x1000 * 2, 4, 1);
    store(vm, UART_BASE + 3, 1, 0x03);
    store(vm, UART_BASE + 7, 1, 0xa5);                      /* SCR */
    store(vm, UART_BASE + 1, 1, 0x01);                      /* ERBFI */
    virt_console_input(vm, (const uint8_t *)"hey", 3);      /* -> SEIP hart 1 */
    store(vm, RTC_BASE + 0x10, 4, 1);
    store(vm, RTC_BASE + 0x0c, 4, 0x7fffffff);
    store(vm, RTC_BASE + 0x08, 4, 0);                       /* far alarm */
    store(vm, TOHOST, 4, 'x');                              /* half a command */
    store(vm, FROMHOST, 8, 0xfeed);
}

/* The whole saved state of a quiesced board. */
static struct sstate_writer save(struct virt_machine *vm)
{
    struct sstate_writer w;
    sstate_writer_init(&w);
    assert_int_equal(virt_save(vm, &w), 0);
    return w;
}

static void expect_state(struct virt_machine *vm, const struct sstate_writer *want)
{
    struct sstate_writer now = save(vm);
    assert_int_equal(now.len, want->len);
    assert_memory_equal(now.buf, want->buf, want->len);
    sstate_writer_free(&now);
}

static int restore(struct virt_machine *vm, const void *buf, size_t len)
{
    struct sstate_reader r;
    sstate_reader_init(&r, buf, len);
    int rc = virt_restore(vm, &r);
    if (rc == 0)
        assert_int_equal(r.pos, len);
    return rc;
}

/* Offsets of the sections in a saved state, by walking their headers. */
static size_t sections(const struct sstate_writer *w, size_t *off, const char **tags,
                       size_t max)
{
    size_t n = 0;
    for (size_t pos = 0; pos < w->len && n < max; n++) {
        uint32_t len;
        memcpy(&len, w->buf + pos + 12, 4);     /* little-endian host */
        off[n] = pos;
        tags[n] = (const char *)w->buf + pos;
        pos += SSTATE_HDR_LEN + len;
    }
    return n;
}

static void test_section_order(void **state)
{
    struct fixture *f = *state;
    struct virt_machine *vm = board(f, 2);
    assert_int_equal(virt_save(vm, &(struct sstate_writer){ 0 }), -EBUSY);
    assert_int_equal(virt_quiesce(vm), 0);
    assert_int_equal(virt_quiesce(vm), -EBUSY);
    struct sstate_writer w = save(vm);
    static const char *const want[] = {
        "virt", "vclock", "hart", "hart", "syscon", "rtc", "clint", "plic", "uart",
        "vrng",           /* the entropy device is always in virtio slot 0 here */
        "vinput",         /* the power button, on its own row after the slots */
        "htif",
    };
    size_t off[16];
    const char *tags[16];
    size_t n = sections(&w, off, tags, 16);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(tags[i], want[i]);
    assert_int_equal(off[n - 1] < w.len, 1);
    sstate_writer_free(&w);
    virt_resume(vm);
    virt_destroy(vm);
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    struct virt_machine *a = board(f, 2), *b = board(f, 2);
    busy(a);
    assert_int_equal(virt_quiesce(a), 0);
    struct sstate_writer s = save(a);
    assert_int_equal(virt_quiesce(b), 0);
    assert_int_equal(restore(b, s.buf, s.len), 0);
    expect_state(b, &s);
    /* Harts and wires: the CLINT's MSIP/MTIP and the PLIC's SEIP were
     * driven into the second board's harts. */
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(hart_get_pc(virt_hart(b, i)), hart_get_pc(virt_hart(a, i)));
        assert_int_equal(hart_get_x(virt_hart(b, i), 10), hart_get_x(virt_hart(a, i), 10));
        assert_int_equal(mip(b, i), mip(a, i));
    }
    assert_true(mip(b, 1) & (1u << 3));
    assert_true(mip(b, 1) & (1u << 9));
    assert_true(mip(b, 0) & (1u << 7));
    /* Device registers read back alike (reads with side effects in the
     * same order on both). */
    static const uint64_t regs[][2] = {
        { CLINT_BASE + 4, 4 }, { CLINT_BASE + 0x4008, 8 }, { PLIC_BASE + 40, 4 },
        { PLIC_BASE + 0x1000, 4 }, { UART_BASE + 7, 1 }, { UART_BASE + 2, 1 },
        { UART_BASE + 5, 1 }, { UART_BASE, 1 }, { UART_BASE, 1 }, { RTC_BASE + 0x18, 4 },
        { RTC_BASE + 0x0c, 4 }, { TOHOST, 8 }, { FROMHOST, 8 },
    };
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
        assert_int_equal(load(b, regs[i][0], (unsigned)regs[i][1]),
                         load(a, regs[i][0], (unsigned)regs[i][1]));
    /* Both go on alike. */
    virt_resume(a);
    virt_resume(b);
    for (unsigned i = 0; i < 2; i++) {
        hart_run(virt_hart(a, i), 777);
        hart_run(virt_hart(b, i), 777);
        assert_int_equal(hart_get_x(virt_hart(b, i), 10), hart_get_x(virt_hart(a, i), 10));
    }
    sstate_writer_free(&s);
    virt_destroy(a);
    virt_destroy(b);
}

static void test_restore_refused_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct virt_machine *a = board(f, 2), *b = board(f, 2), *one = board(f, 1);
    busy(a);
    assert_int_equal(virt_quiesce(a), 0);
    struct sstate_writer s = save(a);
    assert_int_equal(restore(b, s.buf, s.len), -EBUSY);     /* not quiesced */
    hart_run(virt_hart(b, 0), 50);
    store(b, UART_BASE + 7, 1, 0x11);
    assert_int_equal(virt_quiesce(b), 0);
    struct sstate_writer before = save(b);

    /* Truncated anywhere: refused, and b as it was (harts restored before
     * the failing section are put back). */
    for (size_t n = 0; n < s.len; n += 13) {
        assert_int_equal(restore(b, s.buf, n), -EINVAL);
        expect_state(b, &before);
    }
    /* A bad field in the last sections: the harts came through first. */
    size_t off[16];
    const char *tags[16];
    size_t ns = sections(&s, off, tags, 16);
    uint8_t *bad = malloc(s.len);
    assert_non_null(bad);
    for (size_t i = 0; i < ns; i++) {
        memcpy(bad, s.buf, s.len);
        if (!strcmp(tags[i], "plic"))
            bad[off[i] + SSTATE_HDR_LEN + 8 + 4 * 9] = 9;      /* priority[10] */
        else if (!strcmp(tags[i], "uart"))
            bad[off[i] + SSTATE_HDR_LEN + 0] = 0xf0;           /* IER */
        else if (!strcmp(tags[i], "vclock"))
            bad[off[i] + SSTATE_HDR_LEN + 0] ^= 1;             /* frequency */
        else if (!strcmp(tags[i], "virt"))
            bad[off[i] + SSTATE_HDR_LEN + 0] = 3;              /* ncpus */
        else
            continue;
        assert_int_equal(restore(b, bad, s.len), -EINVAL);
        expect_state(b, &before);
    }
    free(bad);
    /* Another board's shape. */
    assert_int_equal(virt_quiesce(one), 0);
    assert_int_equal(restore(one, s.buf, s.len), -EINVAL);
    assert_int_equal(restore(b, s.buf, s.len), 0);            /* the good one */
    expect_state(b, &s);
    assert_int_equal(load(b, UART_BASE + 7, 1), 0xa5);
    sstate_writer_free(&before);
    sstate_writer_free(&s);
    virt_destroy(a);
    virt_destroy(b);
    virt_destroy(one);
}

/* Guest time stands still while quiesced: saved twice, it reads the same;
 * after resume it goes on from there, not from the host's time. */
static void test_quiesce_freezes_time(void **state)
{
    struct fixture *f = *state;
    struct virt_machine *vm = board(f, 1);
    assert_int_equal(virt_quiesce(vm), 0);
    uint64_t t0 = host_time_ns();
    struct sstate_writer s1 = save(vm);
    while (host_time_ns() - t0 < 30000000ULL)       /* 30 ms of host time pass */
        ;
    expect_state(vm, &s1);
    size_t off[16];
    const char *tags[16];
    sections(&s1, off, tags, 16);
    uint64_t frozen;
    memcpy(&frozen, s1.buf + off[1] + SSTATE_HDR_LEN + 8, 8);
    virt_resume(vm);
    uint64_t now = load(vm, MTIME, 8);
    uint64_t elapsed = host_time_ns() - t0;
    assert_true(now >= frozen);
    assert_true(now - frozen < elapsed / 100);   /* 10 MHz: ticks = ns / 100 */
    virt_resume(vm);                             /* no-op */
    sstate_writer_free(&s1);
    virt_destroy(vm);
}

/* Everything but the clock section. */
static void expect_same_but_clock(const struct sstate_writer *x, const struct sstate_writer *y)
{
    size_t ox[16], oy[16];
    const char *tx[16], *ty[16];
    size_t nx = sections(x, ox, tx, 16), ny = sections(y, oy, ty, 16);
    assert_int_equal(nx, ny);
    assert_int_equal(x->len, y->len);
    assert_string_equal(tx[1], "vclock");
    assert_memory_equal(x->buf, y->buf, ox[1]);
    assert_memory_equal(x->buf + ox[2], y->buf + oy[2], x->len - ox[2]);
}

static void test_reset_is_fresh(void **state)
{
    struct fixture *f = *state;
    struct virt_machine *a = board(f, 2);
    busy(a);
    store(a, SYSCON_BASE, 4, 0x7777);                       /* reboot request */
    assert_int_equal(virt_shutdown_state(a, NULL), VIRT_REBOOT);
    store(a, RAM_BASE, 8, 0);                               /* program overwritten */
    uint64_t dtb = virt_dtb_addr(a);
    store(a, dtb, 8, 0);
    assert_int_equal(virt_reset(a, NULL, 0), 0);
    assert_int_equal(virt_shutdown_state(a, NULL), VIRT_RUNNING);
    assert_int_equal(load(a, RAM_BASE, 4), 0x00150513);     /* reloaded */
    assert_int_equal(virt_dtb_addr(a), dtb);
    assert_int_equal(load(a, dtb, 4), 0xedfe0dd0);          /* FDT magic */
    assert_int_equal(mip(a, 1), 0);
    assert_true(load(a, MTIME, 8) < VCLOCK_DEFAULT_HZ);     /* time restarted */

    struct virt_machine *fresh = board(f, 2);
    assert_int_equal(virt_quiesce(a), 0);
    assert_int_equal(virt_quiesce(fresh), 0);
    struct sstate_writer sa = save(a), sf = save(fresh);
    expect_same_but_clock(&sa, &sf);
    virt_resume(a);
    virt_resume(fresh);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(hart_get_x(virt_hart(a, i), 11), dtb);
        hart_run(virt_hart(a, i), 501);
        hart_run(virt_hart(fresh, i), 501);
        assert_int_equal(hart_get_x(virt_hart(a, i), 10), hart_get_x(virt_hart(fresh, i), 10));
    }
    /* Reset while quiesced: frozen time restarts at 0 too. */
    assert_int_equal(virt_quiesce(a), 0);
    assert_int_equal(virt_reset(a, NULL, 0), 0);
    sstate_writer_free(&sa);
    sa = save(a);
    size_t off[16];
    const char *tags[16];
    sections(&sa, off, tags, 16);
    uint64_t frozen;
    memcpy(&frozen, sa.buf + off[1] + SSTATE_HDR_LEN + 8, 8);
    assert_int_equal(frozen, 0);
    virt_resume(a);
    sstate_writer_free(&sa);
    sstate_writer_free(&sf);
    virt_destroy(a);
    virt_destroy(fresh);
}

/* The program's HTIF words moved since the VM started: the windows cannot
 * follow, so the reset is refused. */
static void test_reset_program_changed(void **state)
{
    struct fixture *f = *state;
    struct virt_machine *vm = board(f, 1);
    write_elf(f->elf, TOHOST + 0x100);
    assert_int_equal(virt_reset(vm, NULL, 0), -ESTALE);
    write_elf(f->elf, TOHOST);
    assert_int_equal(virt_reset(vm, NULL, 0), 0);
    unlink(f->elf);
    assert_int_equal(virt_reset(vm, NULL, 0), -ENOENT);
    write_elf(f->elf, TOHOST);
    virt_destroy(vm);
}

/* A state saved before the power button existed ("virt" version 1, one
 * device fewer, no "vinput" section) restores, with the button at its
 * power-on state (a press waiting in it is dropped); a version-2 state
 * without the section, or a version-1 one with it, is refused. */
static void test_restore_without_power_button(void **state)
{
    struct fixture *f = *state;
    struct virt_machine *a = board(f, 2), *b = board(f, 2);
    busy(a);
    assert_int_equal(virt_quiesce(a), 0);
    struct sstate_writer s = save(a);
    size_t off[16];
    const char *tags[16];
    size_t ns = sections(&s, off, tags, 16);
    size_t vin = ns, virt = ns;
    for (size_t i = 0; i < ns; i++) {
        if (!strcmp(tags[i], "vinput"))
            vin = i;
        if (!strcmp(tags[i], "virt"))
            virt = i;
    }
    assert_true(vin < ns && virt < ns && vin + 1 < ns);
    size_t cut = off[vin + 1] - off[vin];
    uint8_t *old = malloc(s.len);
    assert_non_null(old);
    memcpy(old, s.buf, off[vin]);
    memcpy(old + off[vin], s.buf + off[vin + 1], s.len - off[vin + 1]);
    size_t old_len = s.len - cut;
    uint8_t *ndevs = old + off[virt] + SSTATE_HDR_LEN + 16;     /* after ncpus, RAM, mask */
    uint32_t n;
    memcpy(&n, ndevs, 4);                                       /* little-endian host */

    assert_int_equal(virt_power_button(b), 0);  /* a press the restore must drop */
    assert_int_equal(virt_quiesce(b), 0);
    struct sstate_writer before = save(b);
    /* Version 2 without the section: refused. */
    assert_int_equal(restore(b, old, old_len), -EINVAL);
    expect_state(b, &before);
    n--;
    memcpy(ndevs, &n, 4);
    assert_int_equal(restore(b, old, old_len), -EINVAL);
    expect_state(b, &before);
    /* Version 1 with it: refused. */
    uint8_t *v1 = malloc(s.len);
    assert_non_null(v1);
    memcpy(v1, s.buf, s.len);
    v1[off[virt] + 8] = 1;
    assert_int_equal(restore(b, v1, s.len), -EINVAL);
    expect_state(b, &before);
    /* Version 1 without it: a's state, the button fresh as a's. */
    old[off[virt] + 8] = 1;
    assert_int_equal(restore(b, old, old_len), 0);
    expect_state(b, &s);
    free(v1);
    free(old);
    sstate_writer_free(&before);
    sstate_writer_free(&s);
    virt_resume(a);
    virt_resume(b);
    virt_destroy(a);
    virt_destroy(b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_section_order), T(test_round_trip), T(test_restore_refused_changes_nothing),
        T(test_quiesce_freezes_time), T(test_reset_is_fresh), T(test_reset_program_changed),
        T(test_restore_without_power_button),
    };
    return cmocka_run_group_tests_name("virt_state", tests, NULL, NULL);
}
