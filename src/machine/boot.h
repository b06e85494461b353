/* machine-internal: image loaders and the device-tree builder used by
 * virt.c.  Not part of the module's public API (that is virt.h); unit tests
 * include it to test the loaders without harts.
 *
 * Every function that can fail takes `err`, `errlen`: on error it writes
 * one line there (errlen bytes, always NUL-terminated; nothing when err is
 * NULL or errlen 0) naming the file or value and what is wrong, and
 * returns a negative errno.  Nothing here prints.  All guest memory is
 * written through mem_write() (design rule 2). */
#ifndef VESSEL_MACHINE_BOOT_H
#define VESSEL_MACHINE_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/mem.h"
#include "util/util.h"

/* Messages are formatted into the caller's err with errbuf (util.h). */
/* ------------------------------------------------------------------ ELF */

/* ELF64 executables for RISC-V (System V gABI, "ELF-64 Object File
 * Format" 1.5; RISC-V ELF psABI: EM_RISCV = 243). */
#define ELF_EM_RISCV 243

/* Largest ELF file we read (bytes). */
#define ELF_MAX_FILE (1ULL << 30)

struct elf_file;

/* Read and validate `path`: ELF magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT,
 * ET_EXEC, e_machine EM_RISCV, program headers inside the file and every
 * PT_LOAD's file bytes inside the file with filesz <= memsz.
 * Errors: -ENOENT/-EACCES/-EIO can't read it; -ENOEXEC not a valid RISC-V
 * ELF64 executable; -EFBIG larger than ELF_MAX_FILE; -ENOMEM.
 * On success *out owns a copy of the file; free with elf_close(). */
int elf_open(const char *path, struct elf_file **out, char *err, size_t errlen);
void elf_close(struct elf_file *e);

/* Entry point (e_entry). */
uint64_t elf_entry(const struct elf_file *e);

/* Copy every PT_LOAD segment to guest-physical p_paddr (file bytes, then
 * zeros up to p_memsz).  Errors: -EFBIG a segment is not entirely guest RAM
 * (message names the segment, its range and the RAM range); nothing is
 * guaranteed about RAM contents after an error.  *lo and *hi (if non-NULL)
 * receive the lowest address and the end of the highest loaded byte
 * (lo = hi = 0 when there is no PT_LOAD). */
int elf_load(const struct elf_file *e, struct mem *m, uint64_t *lo, uint64_t *hi,
             char *err, size_t errlen);

/* Look up a symbol by name in .symtab (SHT_SYMTAB and its linked string
 * table).  Returns 0 and its st_value in *value; -ENOENT when absent or the
 * file has no symbol table (no message); -ENOEXEC when the tables are
 * malformed. */
int elf_symbol(const struct elf_file *e, const char *name, uint64_t *value,
               char *err, size_t errlen);

/* -------------------------------------------------- Linux Image, files */

/* Linux RISC-V Image header (Documentation/riscv/boot-image-header.rst). */
#define IMAGE_HEADER_SIZE  64
#define IMAGE_MAGIC2       0x05435352u      /* "RSC\x05" at offset 56 */

struct linux_image_info {
    uint64_t text_offset;   /* load offset from the start of RAM */
    uint64_t image_size;    /* effective size in memory (incl. bss), bytes */
    uint64_t file_size;     /* bytes in the file */
};

/* Read and check the 64-byte header of the Image `path` (magic2, a
 * text_offset that is 4 KiB aligned and below 1 GiB).
 * Errors: -ENOENT/-EACCES/-EIO; -ENOEXEC not a RISC-V Image. */
int image_probe(const char *path, struct linux_image_info *info, char *err, size_t errlen);

/* Open `path` for reading without ever blocking (a FIFO or device given
 * where a file is expected must not hang the open) and check that it is a
 * regular file.  Returns the descriptor (O_CLOEXEC; the caller closes it)
 * with the size in bytes in *size, or a negative errno with its message:
 * as open/fstat, -EINVAL when it is not a regular file (the message says
 * what it is instead). */
int file_open_regular(const char *path, uint64_t *size, char *err, size_t errlen);

/* "a FIFO (named pipe)", "a directory", ... for a st_mode. */
const char *file_type_name(unsigned mode);

/* Size of the regular file `path` in bytes.  Errors as file_open_regular. */
int file_size(const char *path, uint64_t *size, char *err, size_t errlen);

/* Copy the whole file `path` into guest RAM at `gpa`.  `max` bounds its
 * size.  Errors: -ENOENT/-EACCES/-EIO; -EFBIG larger than max or not all
 * RAM (message names the file, its size and the room there was). */
int file_load(const char *path, struct mem *m, uint64_t gpa, uint64_t max,
              char *err, size_t errlen);

/* ---------------------------------------------------------- device tree */

/* One RISC-V ISA description, in one place, used for every cpu node.  The
 * CPU (cpu/riscv) implements this set; keep the two in step. */
extern const char dtb_riscv_isa[];

struct device;

/* One child of /soc, in the order given (the board's table order). */
struct dtb_soc_node {
    /* The device writes its own node (its ops->fdt_node; none when that is
     * NULL).  Never NULL. */
    const struct device *dev;
    uint64_t base, size;            /* MMIO window, bytes */
    unsigned irq;                   /* PLIC source, 0: none */
    uint32_t phandle;               /* the node's phandle, 0: none */
};

struct dtb_params {
    unsigned ncpus;
    uint64_t ram_base, ram_size;
    const char *bootargs;           /* NULL: no bootargs property */
    bool has_initrd;
    uint64_t initrd_start, initrd_end;
    const uint8_t *rng_seed;        /* NULL: none */
    size_t rng_seed_len;
    const struct dtb_soc_node *soc; /* [nsoc] children of /soc */
    unsigned nsoc;
    /* /chosen stdout-path and /aliases serial0 (the console UART's node,
     * "/soc/serial@10000000"); NULL: neither. */
    const char *stdout_path;
    uint32_t plic_phandle;          /* interrupt-parent of every irq */
    /* regmap of the /poweroff and /reboot syscon nodes (the sifive,test
     * device's phandle); 0: no such nodes. */
    uint32_t syscon_phandle;
};

/* Phandles below this are the harts' interrupt controllers (1 + hart);
 * the board's nodes take theirs from here up. */
#define DTB_PHANDLE_BOARD 0x100

/* Build the board's flattened device tree (Devicetree Specification 0.4;
 * bindings: riscv/cpus.yaml for the harts, each device's own for the /soc
 * nodes, syscon-poweroff/reboot, virtio,mmio).  The blob is padded with
 * DTB_SLACK bytes of free space so firmware (OpenSBI) can add nodes in
 * place.  On success *blob is malloc'd (caller frees) and *size is
 * fdt_totalsize.  Errors: -ENOMEM, -EINVAL (bad ncpus, a /soc phandle
 * below DTB_PHANDLE_BOARD, libfdt failure), each with its message. */
#define DTB_SLACK 0x4000
#define DTB_MAX_CPUS 64
int dtb_build(const struct dtb_params *p, void **blob, size_t *size, char *err, size_t errlen);

#endif
