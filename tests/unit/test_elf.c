/* Unit tests for machine/elf.c: a good ELF64 RISC-V executable built on
 * the fly, and each kind of bad input. */
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

#include "machine/boot.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (1ULL << 20)

#define OFF_PH    64
#define OFF_CODE  0x100
#define OFF_SYM   0x200
#define OFF_STR   0x300
#define OFF_SH    0x400
#define FILE_SIZE (OFF_SH + 3 * sizeof(Elf64_Shdr))
#define CODE_LEN  16
#define MEM_LEN   64

static const char strtab[] = "\0tohost\0fromhost";

struct image {
    uint8_t b[FILE_SIZE];
};

static Elf64_Ehdr *eh(struct image *im) { return (Elf64_Ehdr *)im->b; }
static Elf64_Phdr *ph(struct image *im) { return (Elf64_Phdr *)(im->b + OFF_PH); }
static Elf64_Shdr *sh(struct image *im) { return (Elf64_Shdr *)(im->b + OFF_SH); }

static void build(struct image *im)
{
    memset(im, 0, sizeof(*im));
    Elf64_Ehdr *h = eh(im);
    memcpy(h->e_ident, ELFMAG, SELFMAG);
    h->e_ident[EI_CLASS] = ELFCLASS64;
    h->e_ident[EI_DATA] = ELFDATA2LSB;
    h->e_ident[EI_VERSION] = EV_CURRENT;
    h->e_type = ET_EXEC;
    h->e_machine = 243;
    h->e_version = EV_CURRENT;
    h->e_entry = RAM_BASE + 4;
    h->e_phoff = OFF_PH;
    h->e_shoff = OFF_SH;
    h->e_ehsize = sizeof(Elf64_Ehdr);
    h->e_phentsize = sizeof(Elf64_Phdr);
    h->e_phnum = 1;
    h->e_shentsize = sizeof(Elf64_Shdr);
    h->e_shnum = 3;

    Elf64_Phdr *p = ph(im);
    p->p_type = PT_LOAD;
    p->p_offset = OFF_CODE;
    p->p_vaddr = p->p_paddr = RAM_BASE;
    p->p_filesz = CODE_LEN;
    p->p_memsz = MEM_LEN;
    for (int i = 0; i < CODE_LEN; i++)
        im->b[OFF_CODE + i] = (uint8_t)(0x10 + i);

    Elf64_Sym *sym = (Elf64_Sym *)(im->b + OFF_SYM);
    sym[1].st_name = 1;                 /* "tohost" */
    sym[1].st_value = RAM_BASE + 0x1000;
    sym[1].st_shndx = 1;
    sym[2].st_name = 8;                 /* "fromhost" */
    sym[2].st_value = RAM_BASE + 0x1040;
    sym[2].st_shndx = 1;
    memcpy(im->b + OFF_STR, strtab, sizeof(strtab));

    Elf64_Shdr *s = sh(im);
    s[1].sh_type = SHT_SYMTAB;
    s[1].sh_offset = OFF_SYM;
    s[1].sh_size = 3 * sizeof(Elf64_Sym);
    s[1].sh_link = 2;
    s[1].sh_entsize = sizeof(Elf64_Sym);
    s[2].sh_type = SHT_STRTAB;
    s[2].sh_offset = OFF_STR;
    s[2].sh_size = sizeof(strtab);
}

struct fixture {
    char path[64];
    struct mem *mem;
    struct image im;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->path, "/tmp/vessel-test-elf-XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    f->mem = mem_new();
    assert_non_null(f->mem);
    assert_int_equal(mem_add_ram(f->mem, RAM_BASE, RAM_SIZE), 0);
    build(&f->im);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->path);
    mem_free(f->mem);
    free(f);
    return 0;
}

static void save(struct fixture *f, size_t len)
{
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(f->im.b, 1, len, fp), len);
    fclose(fp);
}

static int open_rc(struct fixture *f, size_t len)
{
    struct elf_file *e = NULL;
    save(f, len);
    int rc = elf_open(f->path, &e, NULL, 0);
    if (rc == 0)
        elf_close(e);
    return rc;
}

static void test_good(void **state)
{
    struct fixture *f = *state;
    uint8_t junk[MEM_LEN], got[MEM_LEN];
    memset(junk, 0xaa, sizeof(junk));
    assert_int_equal(mem_write(f->mem, RAM_BASE, junk, sizeof(junk)), 0);
    save(f, FILE_SIZE);
    struct elf_file *e = NULL;
    assert_int_equal(elf_open(f->path, &e, NULL, 0), 0);
    assert_int_equal(elf_entry(e), RAM_BASE + 4);
    uint64_t lo, hi, v;
    assert_int_equal(elf_load(e, f->mem, &lo, &hi, NULL, 0), 0);
    assert_int_equal(lo, RAM_BASE);
    assert_int_equal(hi, RAM_BASE + MEM_LEN);
    assert_int_equal(mem_read(f->mem, RAM_BASE, got, sizeof(got)), 0);
    for (int i = 0; i < CODE_LEN; i++)
        assert_int_equal(got[i], 0x10 + i);
    for (int i = CODE_LEN; i < MEM_LEN; i++)
        assert_int_equal(got[i], 0);        /* bss zero-filled over the junk */
    assert_int_equal(elf_symbol(e, "tohost", &v, NULL, 0), 0);
    assert_int_equal(v, RAM_BASE + 0x1000);
    assert_int_equal(elf_symbol(e, "fromhost", &v, NULL, 0), 0);
    assert_int_equal(v, RAM_BASE + 0x1040);
    assert_int_equal(elf_symbol(e, "tohos", &v, NULL, 0), -ENOENT);
    assert_int_equal(elf_symbol(e, "nothere", &v, NULL, 0), -ENOENT);
    elf_close(e);
}

static void test_missing(void **state)
{
    struct fixture *f = *state;
    struct elf_file *e = NULL;
    unlink(f->path);
    assert_int_equal(elf_open(f->path, &e, NULL, 0), -ENOENT);
    assert_null(e);
}

static void test_truncated(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(open_rc(f, 0), -ENOEXEC);
    assert_int_equal(open_rc(f, 40), -ENOEXEC);            /* mid-header */
    assert_int_equal(open_rc(f, OFF_PH + 20), -ENOEXEC);   /* mid-phdr */
    assert_int_equal(open_rc(f, OFF_CODE + 4), -ENOEXEC);  /* mid-segment */
}

static void test_not_elf(void **state)
{
    struct fixture *f = *state;
    memcpy(f->im.b, "#!/bin/sh\n", 10);
    assert_int_equal(open_rc(f, FILE_SIZE), -ENOEXEC);
}

static void test_wrong_machine(void **state)
{
    struct fixture *f = *state;
    eh(&f->im)->e_machine = 62;     /* x86-64 */
    assert_int_equal(open_rc(f, FILE_SIZE), -ENOEXEC);
}

static void test_32bit(void **state)
{
    struct fixture *f = *state;
    eh(&f->im)->e_ident[EI_CLASS] = ELFCLASS32;
    assert_int_equal(open_rc(f, FILE_SIZE), -ENOEXEC);
}

static void test_big_endian_and_dyn(void **state)
{
    struct fixture *f = *state;
    eh(&f->im)->e_ident[EI_DATA] = ELFDATA2MSB;
    assert_int_equal(open_rc(f, FILE_SIZE), -ENOEXEC);
    build(&f->im);
    eh(&f->im)->e_type = ET_DYN;
    assert_int_equal(open_rc(f, FILE_SIZE), -ENOEXEC);
    build(&f->im);
    eh(&f->im)->e_phentsize = 40;
    assert_int_equal(open_rc(f, FILE_SIZE), -ENOEXEC);
    build(&f->im);
    ph(&f->im)->p_filesz = MEM_LEN + 1;     /* filesz > memsz */
    assert_int_equal(open_rc(f, FILE_SIZE), -ENOEXEC);
    build(&f->im);
    eh(&f->im)->e_phoff = UINT64_MAX - 8;   /* overflowing table offset */
    assert_int_equal(open_rc(f, FILE_SIZE), -ENOEXEC);
}

static void load_rc_expect(struct fixture *f, int want)
{
    struct elf_file *e = NULL;
    save(f, FILE_SIZE);
    assert_int_equal(elf_open(f->path, &e, NULL, 0), 0);
    assert_int_equal(elf_load(e, f->mem, NULL, NULL, NULL, 0), want);
    elf_close(e);
}

static void test_outside_ram(void **state)
{
    struct fixture *f = *state;
    ph(&f->im)->p_paddr = 0x1000;                          /* below RAM */
    load_rc_expect(f, -EFBIG);
    ph(&f->im)->p_paddr = RAM_BASE + RAM_SIZE - 8;         /* runs off the end */
    load_rc_expect(f, -EFBIG);
    ph(&f->im)->p_paddr = UINT64_MAX - 8;                  /* wraps */
    load_rc_expect(f, -EFBIG);
    ph(&f->im)->p_paddr = RAM_BASE + RAM_SIZE - MEM_LEN;   /* exactly fits */
    load_rc_expect(f, 0);
}

static void test_bad_symtab(void **state)
{
    struct fixture *f = *state;
    struct elf_file *e = NULL;
    uint64_t v;
    sh(&f->im)[1].sh_size = 0x10000;        /* past end of file */
    save(f, FILE_SIZE);
    assert_int_equal(elf_open(f->path, &e, NULL, 0), 0);
    assert_int_equal(elf_symbol(e, "tohost", &v, NULL, 0), -ENOEXEC);
    elf_close(e);

    build(&f->im);
    sh(&f->im)[1].sh_link = 9;              /* no such section */
    save(f, FILE_SIZE);
    assert_int_equal(elf_open(f->path, &e, NULL, 0), 0);
    assert_int_equal(elf_symbol(e, "tohost", &v, NULL, 0), -ENOEXEC);
    elf_close(e);

    build(&f->im);
    ((Elf64_Sym *)(f->im.b + OFF_SYM))[2].st_name = 0x7fff; /* outside strtab */
    save(f, FILE_SIZE);
    assert_int_equal(elf_open(f->path, &e, NULL, 0), 0);
    assert_int_equal(elf_symbol(e, "fromhost", &v, NULL, 0), -ENOENT);
    assert_int_equal(elf_symbol(e, "tohost", &v, NULL, 0), 0);
    elf_close(e);

    build(&f->im);
    eh(&f->im)->e_shnum = 0;                /* stripped */
    save(f, FILE_SIZE);
    assert_int_equal(elf_open(f->path, &e, NULL, 0), 0);
    assert_int_equal(elf_symbol(e, "tohost", &v, NULL, 0), -ENOENT);
    elf_close(e);
}

static void test_unterminated_name(void **state)
{
    struct fixture *f = *state;
    struct elf_file *e = NULL;
    uint64_t v;
    /* string table cut so "fromhost" has no NUL inside it */
    sh(&f->im)[2].sh_size = sizeof(strtab) - 1;
    save(f, FILE_SIZE);
    assert_int_equal(elf_open(f->path, &e, NULL, 0), 0);
    assert_int_equal(elf_symbol(e, "fromhost", &v, NULL, 0), -ENOENT);
    elf_close(e);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_good), T(test_missing), T(test_truncated), T(test_not_elf),
        T(test_wrong_machine), T(test_32bit), T(test_big_endian_and_dyn),
        T(test_outside_ram), T(test_bad_symtab), T(test_unterminated_name),
    };
    return cmocka_run_group_tests_name("elf", tests, NULL, NULL);
}
