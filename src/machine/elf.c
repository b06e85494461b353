/* ELF64 loader for bare-metal RISC-V programs (System V gABI; RISC-V ELF
 * psABI).  The whole file is read into host memory and every header, table
 * and string is bounds-checked against it before use: the file is hostile
 * input. */
#include "machine/boot.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

struct elf_file {
    char *path;
    uint8_t *data;
    size_t size;
    Elf64_Ehdr eh;
};

/* Read a whole regular file into a malloc'd buffer (at most `max` bytes). */
static int read_whole(const char *path, uint64_t max, uint8_t **out, size_t *len,
                      char *err, size_t errlen)
{
    uint64_t size;
    int fd = file_open_regular(path, &size, err, errlen);
    if (fd < 0)
        return fd;
    int rc = 0;
    uint8_t *buf = NULL;
    if (!size) {
        rc = errbuf(err, errlen, -ENOEXEC,
                       "%s: is empty (0 bytes); expected a RISC-V ELF64 executable", path);
        goto out;
    }
    if (size > max) {
        rc = errbuf(err, errlen, -EFBIG, "%s: file is %llu bytes, more than the %llu allowed",
                       path, (unsigned long long)size, (unsigned long long)max);
        goto out;
    }
    buf = malloc((size_t)size);
    if (!buf) {
        rc = errbuf(err, errlen, -ENOMEM, "%s: out of memory reading %llu bytes", path,
                       (unsigned long long)size);
        goto out;
    }
    size_t done = 0;
    while (done < (size_t)size) {
        ssize_t n = read(fd, buf + done, (size_t)size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            errbuf(err, errlen, rc, "%s: read failed: %s", path, strerror(-rc));
            goto out;
        }
        done += (size_t)n;
    }
    *out = buf;
    *len = done;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

/* True when [off, off + len) lies within a file of `size` bytes. */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
    return off <= size && len <= size - off;
}

static int bad(const struct elf_file *e, const char *what, char *err, size_t errlen)
{
    return errbuf(err, errlen, -ENOEXEC, "%s: %s", e->path, what);
}

static int check_header(struct elf_file *e, char *err, size_t errlen)
{
    if (e->size < sizeof(Elf64_Ehdr) || memcmp(e->data, ELFMAG, SELFMAG))
        return bad(e, e->size < SELFMAG || memcmp(e->data, ELFMAG, SELFMAG)
                          ? "not an ELF file (bad magic)"
                          : "truncated ELF header", err, errlen);
    memcpy(&e->eh, e->data, sizeof(e->eh));
    const Elf64_Ehdr *h = &e->eh;
    if (h->e_ident[EI_CLASS] != ELFCLASS64)
        return errbuf(err, errlen, -ENOEXEC,
                         "%s: not a 64-bit ELF (EI_CLASS %u, expected %u = ELFCLASS64)",
                         e->path, h->e_ident[EI_CLASS], ELFCLASS64);
    if (h->e_ident[EI_DATA] != ELFDATA2LSB)
        return bad(e, "not a little-endian ELF (RISC-V is little-endian)", err, errlen);
    if (h->e_machine != ELF_EM_RISCV)
        return errbuf(err, errlen, -ENOEXEC,
                         "%s: not a RISC-V ELF (e_machine %u, expected %u)", e->path,
                         h->e_machine, ELF_EM_RISCV);
    if (h->e_type != ET_EXEC)
        return errbuf(err, errlen, -ENOEXEC,
                         "%s: not an executable ELF (e_type %u, expected %u = ET_EXEC)",
                         e->path, h->e_type, ET_EXEC);
    if (h->e_version != EV_CURRENT)
        return bad(e, "unknown ELF version", err, errlen);
    if (h->e_phnum && h->e_phentsize != sizeof(Elf64_Phdr))
        return bad(e, "bad program header entry size", err, errlen);
    if (!in_file(h->e_phoff, (uint64_t)h->e_phnum * sizeof(Elf64_Phdr), e->size))
        return errbuf(err, errlen, -ENOEXEC,
                         "%s: truncated: %u program headers at offset %llu run past the "
                         "end of the %zu-byte file", e->path, h->e_phnum,
                         (unsigned long long)h->e_phoff, e->size);
    for (unsigned i = 0; i < h->e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, e->data + h->e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        if (ph.p_filesz > ph.p_memsz)
            return errbuf(err, errlen, -ENOEXEC,
                             "%s: segment %u: file size %llu exceeds memory size %llu",
                             e->path, i, (unsigned long long)ph.p_filesz,
                             (unsigned long long)ph.p_memsz);
        if (!in_file(ph.p_offset, ph.p_filesz, e->size))
            return errbuf(err, errlen, -ENOEXEC,
                             "%s: truncated: segment %u (offset %llu, %llu bytes) runs "
                             "past the end of the %zu-byte file", e->path, i,
                             (unsigned long long)ph.p_offset,
                             (unsigned long long)ph.p_filesz, e->size);
    }
    return 0;
}

int elf_open(const char *path, struct elf_file **out, char *err, size_t errlen)
{
    struct elf_file *e = calloc(1, sizeof(*e));
    if (!e || !(e->path = strdup(path))) {
        free(e);
        return errbuf(err, errlen, -ENOMEM, "%s: out of memory", path);
    }
    int rc = read_whole(path, ELF_MAX_FILE, &e->data, &e->size, err, errlen);
    if (!rc)
        rc = check_header(e, err, errlen);
    if (rc) {
        elf_close(e);
        return rc;
    }
    *out = e;
    return 0;
}

void elf_close(struct elf_file *e)
{
    if (!e)
        return;
    free(e->data);
    free(e->path);
    free(e);
}

uint64_t elf_entry(const struct elf_file *e)
{
    return e->eh.e_entry;
}

int elf_load(const struct elf_file *e, struct mem *m, uint64_t *lo, uint64_t *hi,
             char *err, size_t errlen)
{
    uint64_t low = UINT64_MAX, high = 0;
    uint64_t rbase = mem_ram_base(m), rend = rbase + mem_ram_size(m);
    for (unsigned i = 0; i < e->eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, e->data + e->eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD || !ph.p_memsz)
            continue;
        if (ph.p_paddr + ph.p_memsz < ph.p_paddr ||
            !mem_is_ram(m, ph.p_paddr, ph.p_memsz))
            return errbuf(err, errlen, -EFBIG, "%s: segment %u [0x%llx, 0x%llx) is outside "
                             "RAM [0x%llx, 0x%llx)", e->path, i,
                             (unsigned long long)ph.p_paddr,
                             (unsigned long long)(ph.p_paddr + ph.p_memsz),
                             (unsigned long long)rbase, (unsigned long long)rend);
        if (mem_write(m, ph.p_paddr, e->data + ph.p_offset, ph.p_filesz))
            return errbuf(err, errlen, -EFAULT, "%s: segment %u: cannot write guest RAM",
                             e->path, i);   /* unreachable: checked to be RAM above */
        static const uint8_t zeros[4096];
        for (uint64_t z = ph.p_filesz; z < ph.p_memsz;) {
            size_t n = (size_t)MIN(ph.p_memsz - z, sizeof(zeros));
            if (mem_write(m, ph.p_paddr + z, zeros, n))
                return errbuf(err, errlen, -EFAULT, "%s: segment %u: cannot write guest "
                                 "RAM", e->path, i);
            z += n;
        }
        low = MIN(low, ph.p_paddr);
        high = MAX(high, ph.p_paddr + ph.p_memsz);
    }
    if (lo)
        *lo = high ? low : 0;
    if (hi)
        *hi = high;
    return 0;
}

int elf_symbol(const struct elf_file *e, const char *name, uint64_t *value,
               char *err, size_t errlen)
{
    const Elf64_Ehdr *h = &e->eh;
    if (!h->e_shoff || !h->e_shnum)
        return -ENOENT;
    if (h->e_shentsize != sizeof(Elf64_Shdr) ||
        !in_file(h->e_shoff, (uint64_t)h->e_shnum * sizeof(Elf64_Shdr), e->size))
        return bad(e, "section header table is malformed or truncated", err, errlen);
    for (unsigned i = 0; i < h->e_shnum; i++) {
        Elf64_Shdr sh, strsh;
        memcpy(&sh, e->data + h->e_shoff + i * sizeof(sh), sizeof(sh));
        if (sh.sh_type != SHT_SYMTAB)
            continue;
        if (sh.sh_link >= h->e_shnum || sh.sh_entsize != sizeof(Elf64_Sym) ||
            !in_file(sh.sh_offset, sh.sh_size, e->size))
            return bad(e, "symbol table is malformed or truncated", err, errlen);
        memcpy(&strsh, e->data + h->e_shoff + sh.sh_link * sizeof(strsh), sizeof(strsh));
        if (strsh.sh_type != SHT_STRTAB || !in_file(strsh.sh_offset, strsh.sh_size, e->size))
            return bad(e, "symbol string table is malformed or truncated", err, errlen);
        const char *strs = (const char *)e->data + strsh.sh_offset;
        size_t nlen = strlen(name);
        for (uint64_t s = 0; s < sh.sh_size / sizeof(Elf64_Sym); s++) {
            Elf64_Sym sym;
            memcpy(&sym, e->data + sh.sh_offset + s * sizeof(sym), sizeof(sym));
            if (sym.st_name >= strsh.sh_size || sym.st_shndx == SHN_UNDEF)
                continue;
            /* The name and its NUL must lie inside the string table. */
            if (strsh.sh_size - sym.st_name <= nlen)
                continue;
            if (!memcmp(strs + sym.st_name, name, nlen + 1)) {
                *value = sym.st_value;
                return 0;
            }
        }
    }
    return -ENOENT;
}
