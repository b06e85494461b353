/* daemon: what vesseld keeps of a VM (docs/vm-json.md).
 *
 * A VM in the store is a bundle directory holding vm.json, its definition:
 * name, UUID, vCPUs, memory, what it boots, its disks and NICs, and how it
 * is supervised.  This header is the definition's in-memory form, its
 * parser (the file is hand-editable, so hostile: every field is checked,
 * errors name the file, the field and what is accepted), its writer
 * (crash-safe: temporary file, fsync, rename, fsync of the directory) and
 * the `vessel run` command line that runs it.
 *
 * The daemon itself (REST API, supervision, sandbox) builds on this; see
 * issue "vesseld" and docs/vm-json.md.  Not thread-safe per object; no
 * global state. */
#ifndef VESSEL_DAEMON_H
#define VESSEL_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMDEF_VERSION 1             /* vm.json "version" this code writes */
#define VMDEF_NAME_MAX 63           /* [A-Za-z0-9][A-Za-z0-9._-]* */
#define VMDEF_MAX_DISKS 8
#define VMDEF_MAX_NICS 4
#define VMDEF_MAX_HOSTFWD 16
#define VMDEF_MAX_BACKING_DIRS 8    /* `vessel run --disk ...,backing-dir=` allows 8 */
#define VMDEF_MAX_CPUS 16           /* the board's limit (machine/virt.h) */
#define VMDEF_MAX_MEMORY (1ULL << 40)
#define VMDEF_FILE_MAX (1u << 20)   /* vm.json larger than this is refused */

enum vmdef_restart { VMDEF_RESTART_NEVER, VMDEF_RESTART_ON_FAILURE, VMDEF_RESTART_ALWAYS };

struct vmdef_disk {
    char *path;                 /* relative paths are inside the bundle */
    char *format;               /* "raw", "qcow2", or NULL: probe */
    bool read_only;
    bool snapshot;
    char *cache;                /* "writeback", "none", "unsafe", or NULL */
    /* Directories the image's backing files may come from besides its own
     * (docs/block.md "Backing files"); relative ones are the bundle's. */
    char *backing_dirs[VMDEF_MAX_BACKING_DIRS];
    unsigned nbacking_dirs;
};

struct vmdef_nic {
    char *backend;              /* "user" (the only one so far) */
    char *mac;                  /* "xx:xx:xx:xx:xx:xx" or NULL: from the UUID */
    char *hostfwd[VMDEF_MAX_HOSTFWD];   /* net.h hostfwd syntax */
    unsigned nhostfwd;
};

/* Strings are owned (malloc'd) by the definition; vmdef_free frees them. */
struct vmdef {
    char *name;
    char *uuid;                 /* lower-case 8-4-4-4-12 hex */
    unsigned vcpus;             /* 1..VMDEF_MAX_CPUS */
    uint64_t memory;            /* bytes, a multiple of 4 KiB, at most 1 TiB */
    /* Boot: a bare-metal ELF (bios) or a kernel with optional firmware,
     * initrd and command line; exactly one of bios and kernel. */
    char *bios, *kernel, *initrd, *append, *firmware;
    struct vmdef_disk disks[VMDEF_MAX_DISKS];
    unsigned ndisks;
    struct vmdef_nic nics[VMDEF_MAX_NICS];
    unsigned nnics;
    bool autostart;
    enum vmdef_restart restart;
    /* virtio-balloon (vessel run --balloon): 0 off, 1 on, 2 on with free
     * page reporting; "balloon": "off"|"on"|"reporting". */
    unsigned balloon;
};

/* Parse and validate a vm.json document of `len` bytes (no NUL needed).
 * `file` names it in messages.  On success *d holds the definition (the
 * caller frees it with vmdef_free).  Returns 0, or -EINVAL with one line
 * in err (elen bytes, always NUL-terminated) naming the file, the field
 * (a JSON path such as disks[1].format) and what is accepted; *d is then
 * left empty.  Unknown fields are refused (a misspelt field must not be
 * silently ignored); a "version" newer than VMDEF_VERSION is -ENOTSUP. */
int vmdef_parse(const char *file, const char *json, size_t len, struct vmdef *d,
                char *err, size_t elen);

/* Read DIR/vm.json (at most VMDEF_FILE_MAX bytes) and vmdef_parse it.
 * Returns 0, -ENOENT/-EACCES/... (the file unreadable), -EFBIG, or what
 * vmdef_parse returns, with a message. */
int vmdef_load(const char *dir, struct vmdef *d, char *err, size_t elen);

/* Serialise d (validated first, as vmdef_parse would) to JSON; *out is
 * malloc'd, NUL-terminated, owned by the caller.  Returns 0, -EINVAL (d
 * invalid: message), -ENOMEM. */
int vmdef_to_json(const struct vmdef *d, char **out, char *err, size_t elen);

/* Write d as DIR/vm.json crash-safe: DIR/vm.json.tmp written and fsynced,
 * renamed over vm.json, DIR fsynced.  A crash leaves the old or the new
 * file, never a mix.  Returns 0 or -errno with a message. */
int vmdef_save(const char *dir, const struct vmdef *d, char *err, size_t elen);

/* The `vessel run` arguments that run d from bundle DIR (relative disk
 * paths resolved against DIR), after argv[0]: "run", "--name", ...
 * *argv is a NULL-terminated malloc'd array of malloc'd strings; free it
 * with vmdef_argv_free.  A disk's backing_dirs become ",backing-dir=" options
 * (relative ones resolved against DIR).  Returns 0, -ENOMEM, -EINVAL (a
 * relative backing dir in a bundle whose path has a comma, which that option
 * cannot carry) or -ENAMETOOLONG (one --disk over 80000 bytes). */
int vmdef_run_argv(const struct vmdef *d, const char *dir, char ***argv);
void vmdef_argv_free(char **argv);

/* Is s a valid VM name (1..VMDEF_NAME_MAX of A-Za-z0-9._-, starting with
 * a letter or digit)?  Such a name is safe as a path component. */
bool vmdef_name_ok(const char *s);

/* Free what d owns and leave it empty (safe on an empty or parsed d). */
void vmdef_free(struct vmdef *d);

#endif
