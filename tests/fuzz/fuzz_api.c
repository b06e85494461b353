/* libFuzzer target: the control API's request handling (docs/api.md)
 * between the HTTP server and the VM: routing, the body checks (size
 * bound, JSON, object, duplicate and unknown fields) and every handler's
 * field validation, through vm_api_dispatch (src/vmm/control.c), the same
 * api_dispatch the server runs, against a real VM that is created and
 * never started (so no vCPU thread runs and nothing the fuzzer sends may
 * make it run).
 *
 * Input: a request line "METHOD PATH[ big]\n" then the body's bytes (no
 * newline: the whole input is the request line, no body).  " big" pads the
 * body with blanks past API_MAX_BODY.  Every answer must be a status
 * 200..599, an error must carry {"error": "<non-empty text>"}, the VM must
 * stay CREATED, a refused snapshot must leave nothing at its path, and
 * nothing may crash or leak. */
#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/vmm.h"

#define PROG "fuzz-api-prog.elf"

/* A bare-metal RISC-V ELF that would loop forever at the start of RAM
 * (the VM never runs it; vm_create only needs a program to load). */
static void write_prog(void)
{
    static const uint32_t code[] = { 0x0000006f };   /* j . */
    struct {
        Elf64_Ehdr eh;
        Elf64_Phdr ph;
        uint32_t code[1];
    } f;
    memset(&f, 0, sizeof(f));
    memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
    f.eh.e_ident[EI_CLASS] = ELFCLASS64;
    f.eh.e_ident[EI_DATA] = ELFDATA2LSB;
    f.eh.e_ident[EI_VERSION] = EV_CURRENT;
    f.eh.e_type = ET_EXEC;
    f.eh.e_machine = EM_RISCV;
    f.eh.e_version = EV_CURRENT;
    f.eh.e_entry = 0x80000000u;
    f.eh.e_phoff = offsetof(__typeof__(f), ph);
    f.eh.e_ehsize = sizeof(Elf64_Ehdr);
    f.eh.e_phentsize = sizeof(Elf64_Phdr);
    f.eh.e_phnum = 1;
    f.ph.p_type = PT_LOAD;
    f.ph.p_flags = PF_R | PF_X;
    f.ph.p_offset = offsetof(__typeof__(f), code);
    f.ph.p_vaddr = f.ph.p_paddr = 0x80000000u;
    f.ph.p_filesz = f.ph.p_memsz = sizeof(code);
    memcpy(f.code, code, sizeof(code));
    int fd = open(PROG, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, &f, sizeof(f)) != (ssize_t)sizeof(f))
        abort();
    close(fd);
}

static struct vm *the_vm(void)
{
    static struct vm *vm;
    if (vm)
        return vm;
    write_prog();
    struct vm_config cfg;
    vm_config_init(&cfg);
    cfg.name = "fuzz";
    cfg.bios = PROG;
    cfg.ram_size = 1u << 20;
    cfg.jit = false;
    cfg.balloon = 2;        /* GET/PATCH /balloon reach the device */
    char err[512];
    if (vm_create(&cfg, &vm, err, sizeof(err))) {
        fprintf(stderr, "fuzz_api: vm_create: %s\n", err);
        abort();
    }
    return vm;
}

static bool path_exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vm *vm = the_vm();
    const uint8_t *nl = memchr(data, '\n', size);
    size_t llen = nl ? (size_t)(nl - data) : size;
    if (llen > 256)
        return 0;
    char line[257];
    memcpy(line, data, llen);
    line[llen] = 0;
    /* The server sees NUL-terminated method and path: bytes after a NUL
     * cannot reach it. */
    char *sp = strchr(line, ' ');
    const char *method = line, *path = "";
    bool big = false;
    if (sp) {
        *sp = 0;
        path = sp + 1;
        char *sp2 = strchr(sp + 1, ' ');
        if (sp2) {
            *sp2 = 0;
            big = !strcmp(sp2 + 1, "big");
        }
    }
    const char *body = nl ? (const char *)nl + 1 : NULL;
    size_t blen = nl ? size - llen - 1 : 0;
    char *padded = NULL;
    if (big) {
        padded = malloc(API_MAX_BODY + 1);
        if (!padded)
            return 0;
        memset(padded, ' ', API_MAX_BODY + 1);
        if (blen)
            memcpy(padded, body, blen < API_MAX_BODY ? blen : API_MAX_BODY);
        body = padded;
        blen = API_MAX_BODY + 1;
    }

    /* A snapshot path that does not exist must not exist after a refusal
     * (the VM is never paused, so every snapshot request is refused). */
    json_t *j = blen && !big ? json_loadb(body, blen, 0, NULL) : NULL;
    const char *snap = json_is_object(j) ? json_string_value(json_object_get(j, "path")) : NULL;
    bool snap_existed = snap && path_exists(snap);

    struct api_request rq = { .method = method, .path = path, .body = body, .len = blen };
    struct api_reply rp;
    vm_api_dispatch(vm, &rq, &rp);

    if (rp.status < 200 || rp.status > 599)
        abort();
    if (rp.status >= 400) {
        /* Every error names what is wrong in {"error": "..."}. */
        const char *e = json_string_value(json_object_get(rp.json, "error"));
        if (!json_is_object(rp.json) || !e || !*e)
            abort();
        if (rp.status == 405 && !*rp.allow)
            abort();
    } else if (rp.status != 204 && !json_is_object(rp.json)) {
        abort();
    }
    if (big && rp.status != 413 && rp.status != 404 && rp.status != 405)
        abort();    /* an oversized body reached a handler */
    if (rp.json) {
        char *text = json_dumps(rp.json, JSON_COMPACT);
        if (!text)
            abort();
        free(text);
    }
    if (vm_state(vm) != VM_STATE_CREATED)
        abort();    /* a request changed a VM that was never started */
    if (snap && !snap_existed && path_exists(snap))
        abort();    /* a refused snapshot left something behind */
    json_decref(j);
    json_decref(rp.json);
    free(padded);
    return 0;
}
