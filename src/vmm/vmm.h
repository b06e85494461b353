/* vmm: a virtual machine as an object.  One struct vm per VM, many per
 * process (no global state); docs/vmm.md describes the API, its state
 * machine and its threads.
 *
 * A VM is built from one validated configuration (struct vm_config, made
 * by the CLI now, by the daemon later), runs its vCPUs on threads of its
 * own, and reports what happens through an event callback.  Nothing here
 * knows about RISC-V (vCPUs are driven through cpu/cpu.h) or about the
 * process's terminal: the console is a per-VM byte stream (an fd to poll
 * plus read and input functions) that the caller connects to whatever it
 * likes.  Errors come back as negative errno values plus a text per VM
 * (the `err` buffer of vm_create, vm_last_error after); log lines go to a
 * caller-given sink with the VM's name and a level.  Library code never
 * prints.
 *
 * State machine (every transition posts a VM_EVENT_STATE event):
 *
 *   CREATED --start--> RUNNING --pause--> PAUSED
 *                        ^  <---resume---   |
 *                        |                  |
 *   guest poweroff, stop, error, guest reboot with no_reboot
 *                        v                  v
 *                      STOPPED <---stop-----'
 *
 *   reset: RUNNING and PAUSED stay where they are with the guest back at
 *   power-on; STOPPED and CREATED go to CREATED.
 *   A guest reboot (without no_reboot) resets the VM and keeps it RUNNING.
 *
 * A call in a state it does not apply to fails and changes nothing:
 * -EBUSY when the VM is active but the call needs it not to be (start on
 * a RUNNING or PAUSED VM), -EINVAL otherwise (pause of a VM that is not
 * RUNNING, resume of one that is not PAUSED, stop of one that is neither,
 * start of a STOPPED one: reset it first).
 *
 * Threads: every function may be called from any thread, concurrently;
 * control calls on one VM are serialised.  The event callback runs on the
 * VM's own event thread, one event at a time, in order, with no lock
 * held: it may call any function here on the same VM, vm_destroy
 * included.  The log sink runs on any of the VM's threads (its vCPU
 * threads included) and on the caller's; it must be thread-safe, must not
 * block, and must not call this API (a vCPU cannot wait for itself). */
#ifndef VESSEL_VMM_H
#define VESSEL_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* ------------------------------------------------------------ config */

/* Host cache mode of a disk. */
enum vm_cache {
    VM_CACHE_WRITEBACK = 0,     /* host page cache; guest flush = fdatasync */
    VM_CACHE_NONE,              /* O_DIRECT: no host page cache; flush = fdatasync */
    VM_CACHE_UNSAFE,            /* guest flushes are ignored */
};

/* Image format of a disk (block/block.h enum block_format). */
enum vm_disk_format {
    VM_DISK_PROBE = 0,          /* probed from the file's contents */
    VM_DISK_RAW,
    VM_DISK_QCOW2,
    VM_DISK_VPC,                /* VHD (qemu-img's "vpc") */
    VM_DISK_VDI,                /* VirtualBox */
    VM_DISK_VMDK,               /* VMware; streamOptimized readonly=on or snapshot=on */
    VM_DISK_VHDX,               /* Hyper-V */
};

/* At most this many backing directories per disk. */
#define VM_MAX_BACKING_DIRS 8

/* One virtio-blk disk. */
struct vm_disk {
    const char *path;
    enum vm_disk_format format;
    bool read_only;
    bool snapshot;              /* writes go to a temporary overlay deleted
                                   when the VM is destroyed */
    enum vm_cache cache;
    /* Directories the backing files named in the image's chain may lie
     * in, besides the image's own directory (block.h struct
     * block_open_opts). */
    const char *backing_dirs[VM_MAX_BACKING_DIRS];
    unsigned nbacking_dirs;
};

enum vm_log_level {
    VM_LOG_ERROR = 0,
    VM_LOG_WARN,
    VM_LOG_INFO,
    VM_LOG_DEBUG,
};

/* A log line: `msg` has no trailing newline; `vm_name` is the VM's name.
 * Both are valid for the call only. */
typedef void (*vm_log_fn)(void *opaque, enum vm_log_level level, const char *vm_name,
                          const char *msg);

enum vm_state {
    VM_STATE_CREATED = 0,
    VM_STATE_RUNNING,
    VM_STATE_PAUSED,
    VM_STATE_STOPPED,
};

enum vm_event_kind {
    VM_EVENT_STATE,             /* the state changed to ev->state */
    VM_EVENT_POWEROFF,          /* the guest powered off; ev->code is its
                                   status: 0 clean (or an HTIF pass), else
                                   the failure code it reported */
    VM_EVENT_REBOOT,            /* the guest asked for a reboot: it was reset
                                   in place, or stopped under no_reboot */
    VM_EVENT_CRASH,             /* the VM cannot go on: a host error
                                   (ev->code = -errno), e.g. the board could
                                   not be rebuilt on a reboot.  A guest
                                   panic reaches us as the reboot or
                                   poweroff its kernel is configured for. */
};

struct vm_event {
    enum vm_event_kind kind;
    enum vm_state state;        /* the state after the event */
    int code;
};

typedef void (*vm_event_fn)(void *opaque, struct vm *vm, const struct vm_event *ev);

/* Limits of the board, defined once there (machine/virt.h); vm_create
 * refuses configurations outside them. */
struct vm_limits {
    unsigned max_cpus;          /* ncpus: 1..max_cpus */
    uint64_t min_ram, max_ram;  /* ram_size, bytes, a multiple of ram_align */
    uint64_t ram_align;
    unsigned virtio_slots;      /* disks + nets + virtio console + 1 (the
                                   entropy device) must fit */
};
void vm_limits(struct vm_limits *out);

#define VM_NAME_MAX 63          /* bytes of a VM's name */
#define VM_UUID_LEN 36          /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
#define VM_CONSOLE_RING (1u << 20)  /* default console output ring, bytes */

/* Everything that defines one VM.  Strings and arrays are borrowed for
 * the vm_create call only (the VM keeps its own copies).  Start from
 * vm_config_init, which sets the defaults noted. */
struct vm_config {
    const char *name;           /* for log lines: 1..VM_NAME_MAX printable
                                   ASCII bytes; NULL: "vm" */
    const char *uuid;           /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
                                   (hex digits, any case); NULL: a random
                                   (version 4) UUID.  It seeds the default
                                   MAC addresses of the NICs. */
    uint64_t ram_size;          /* bytes (default 512 MiB) */
    unsigned ncpus;             /* default 1 */
    /* What runs: a bare-metal ELF (bios), or a Linux kernel Image with
     * OpenSBI firmware (NULL: the default fw_dynamic.bin), an optional
     * initrd and command line.  Exactly one of bios and kernel. */
    const char *bios;
    const char *firmware;
    const char *kernel;
    const char *initrd;
    const char *append;
    bool no_reboot;             /* a guest reboot stops the VM */
    const struct vm_disk *disks;    /* virtio-blk, /dev/vda first */
    unsigned ndisks;
    const char *const *nets;    /* virtio-net backends, net/net.h spec syntax */
    unsigned nnets;
    bool virtio_console;        /* console input goes to a virtio console
                                   (hvc0) instead of the UART */
    /* virtio-balloon: 0 none, 1 a balloon, 2 a balloon with free page
     * reporting (the guest's free pages leave host memory, and so the
     * snapshots' memory files).  docs/machine.md "Balloon". */
    unsigned balloon;
    /* vCPU settings. */
    bool jit;                   /* block translator on (default true) */
    unsigned jit_hot;           /* entries before a block is translated,
                                   1..255; 0: the backend's default */
    /* Diagnostics. */
    bool trace;                 /* log each vCPU's state once a second
                                   (info level, "trace: cpuN ...") */
    bool stats;                 /* log counters at each reset and at stop
                                   (info level, "stats: ...") */
    size_t console_ring;        /* console output buffer, bytes, at least
                                   4096 (default VM_CONSOLE_RING) */
    /* Where log lines go (NULL: nowhere) and the least severe level that
     * goes there (default VM_LOG_INFO). */
    vm_log_fn log;
    void *log_opaque;
    enum vm_log_level log_level;
    /* Events (NULL: none; vm_state still tells the state). */
    vm_event_fn on_event;
    void *event_opaque;
    /* Restoring a snapshot (vm_restore of this directory follows): the
     * disks are checked against it and opened as it says before anything
     * else (docs/snapshot.md "Disks"); a kernel and its images are not
     * loaded into RAM the snapshot's memory replaces, and vm_start refuses
     * until vm_restore succeeded.  disk_overlays[k]: a new file to
     * create as an overlay over the k-th writable qcow2 disk of the
     * snapshot, instead of writing to that disk's image. */
    const char *restore_dir;
    const char *const *disk_overlays;
    unsigned ndisk_overlays;
};

/* Virtio slots `cfg` needs: its disks, cards, virtio console, the entropy
 * device (always there) and the balloon, counted by the board
 * (virt_virtio_slots_needed).  Only those fields are read; any thread. */
unsigned vm_config_virtio_slots(const struct vm_config *cfg);

/* Fill *cfg with the defaults (no program: bios and kernel NULL). */
void vm_config_init(struct vm_config *cfg);

/* Validate *cfg, open the disks (once for the VM's life: they survive
 * resets; images are locked against other processes, block.h
 * BLOCK_O_LOCK), build the board and load the program; the VM is then
 * CREATED and its event thread runs.  Returns 0 and *out, or a negative
 * errno with a one-line message in err (errlen bytes, always
 * NUL-terminated; may be NULL):
 *   -EINVAL  a field is invalid: the message names it, gives the value
 *            and what would be accepted ("ncpus 0: expected 1 to 16")
 *   -ENOENT, -EACCES, -ENOEXEC, -EFBIG, ... a file could not be used
 *   -ENOMEM, -EAGAIN (no thread)
 * Nothing is left behind on error. */
int vm_create(const struct vm_config *cfg, struct vm **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* State changes (see the state machine above).  Each returns 0 once the
 * change is complete (vm_pause: every vCPU is parked at an instruction
 * boundary outside its run loop and guest time has stopped; vm_stop:
 * every vCPU thread has ended), or -EBUSY / -EINVAL in the wrong state
 * (nothing changed), -EAGAIN when a vCPU thread could not be created
 * (vm_start; nothing changed), or an errno from rebuilding the board
 * (vm_reset; the VM is then STOPPED).  The error text is in
 * vm_last_error. */
int vm_start(struct vm *vm) __attribute__((warn_unused_result));
/* As vm_start, but the VM goes from CREATED to PAUSED without running
 * a single instruction (vm_resume runs it). */
int vm_start_paused(struct vm *vm) __attribute__((warn_unused_result));
int vm_pause(struct vm *vm) __attribute__((warn_unused_result));
int vm_resume(struct vm *vm) __attribute__((warn_unused_result));
int vm_stop(struct vm *vm) __attribute__((warn_unused_result));
int vm_reset(struct vm *vm) __attribute__((warn_unused_result));
/* Press and release the guest's power button (virt_power_button) and
 * return at once: a guest that listens powers off by itself (the VM
 * then stops with VM_STOP_POWEROFF); one that does not ignores it, and
 * the caller decides when to vm_stop.  While PAUSED the press waits for
 * vm_resume.  Returns 0, -EINVAL when not RUNNING or PAUSED, -ENOSPC when
 * the guest has taken none of the last presses; text in vm_last_error.
 * Any thread. */
int vm_power_button(struct vm *vm) __attribute__((warn_unused_result));
/* The balloon (cfg.balloon): ask the guest to give up `pages` 4 KiB pages
 * (Virtio 1.2 5.5.6: the driver inflates or deflates towards it), and
 * read its counters.  Returns 0, -ENODEV without a balloon or a board,
 * -EINVAL when pages is more than the VM's RAM (text in vm_last_error).
 * Any thread. */
struct virtio_balloon_stats;
int vm_balloon_set_target(struct vm *vm, uint64_t pages);
int vm_balloon_stats(struct vm *vm, struct virtio_balloon_stats *out);

/* Stop the VM if it is active, deliver the events still queued, end its
 * threads, close its disks (flushing them; snapshot overlays vanish) and
 * free it.  NULL is a no-op.  No other call on the VM may be in progress
 * or follow.  May be called from the event callback: then the VM is
 * stopped at once, no further event is delivered, and the teardown
 * finishes on the event thread after the callback returns. */
void vm_destroy(struct vm *vm);

enum vm_state vm_state(const struct vm *vm);
const char *vm_state_name(enum vm_state s);

/* How the VM came to STOPPED, and the code with it. */
enum vm_stop_reason {
    VM_STOP_NONE = 0,           /* not stopped */
    VM_STOP_REQUESTED,          /* vm_stop */
    VM_STOP_POWEROFF,           /* the guest powered off; code = its status */
    VM_STOP_REBOOT,             /* the guest rebooted under no_reboot */
    VM_STOP_ERROR,              /* a host error; code = -errno */
};
void vm_stop_info(struct vm *vm, enum vm_stop_reason *reason, int *code);

/* The text of the last failed call on this VM (or "" if none), copied
 * into buf (len bytes, NUL-terminated); returns buf. */
const char *vm_last_error(struct vm *vm, char *buf, size_t len);

/* The VM's name (valid until vm_destroy) and UUID (VM_UUID_LEN + 1 bytes
 * with the NUL, lower-case). */
const char *vm_name(const struct vm *vm);
void vm_uuid(const struct vm *vm, char buf[VM_UUID_LEN + 1]);

struct vm_stats {
    uint64_t instret;           /* instructions retired by all vCPUs since
                                   the last reset (racy while running) */
    uint64_t guest_time_ns;     /* guest time since the last reset; stands
                                   still unless RUNNING */
    uint64_t code_pages;        /* decoded-code pages in use, all vCPUs */
    uint64_t jit_bytes;         /* translated host code, all vCPUs */
    uint64_t jit_insns;         /* of instret, retired in translated code */
    uint64_t jit_blocks;        /* blocks translated, all vCPUs */
    uint64_t jit_translate_ns;  /* host time spent translating, all vCPUs */
    uint64_t console_dropped;   /* console output bytes dropped (ring full) */
    uint64_t resets;            /* guest reboots and vm_reset calls */
};
/* Cheap (no walk over guest RAM: the resident count, a mincore of all of
 * it, is only in the stats line logged at exit), so the control API can
 * ask it on every GET /vm.  Returns 0, or -ENODEV when the VM has no board
 * (a reset failed). */
int vm_get_stats(struct vm *vm, struct vm_stats *st);

/* The files the VM's board reads again at every reset (bare-metal ELF, or
 * firmware, kernel and initrd: virt_boot_files): up to 4 paths into out,
 * owned by the VM and valid until vm_destroy (or a failed reset, which
 * rebuilds the board); returns how many (0 without a board).  Any thread
 * before vm_start; the jail (jail.h) keeps exactly these visible. */
size_t vm_boot_files(struct vm *vm, const char *out[4]);

/* Write the board's device tree blob to `path`.  Returns 0, -ENODEV or
 * -errno (text in vm_last_error). */
int vm_dump_dtb(struct vm *vm, const char *path);

/* ------------------------------------------------------------ console
 * The guest's console output (UART, HTIF console, virtio console) goes
 * into a ring of cfg->console_ring bytes; a vCPU never waits for it.
 * When the ring is full the newest bytes are dropped and counted; once a
 * reader has made room (half the ring), the stream gets a line
 * "[vessel: N console bytes dropped]" where the gap is. */

/* A descriptor that polls readable (POLLIN) while output is pending.  Do
 * not read or close it; it lives until vm_destroy. */
int vm_console_fd(const struct vm *vm);

/* Take up to `len` bytes of pending output; returns how many (0: none). */
size_t vm_console_read(struct vm *vm, void *buf, size_t len);

/* Give typed bytes to the guest's console receiver (the UART's FIFO, or
 * the virtio console's port 0 with cfg->virtio_console).  Returns 0, or
 * -ENODEV when the VM has no board. */
int vm_console_input(struct vm *vm, const void *buf, size_t len);

/* True when this build has virtio-net (nets in the config). */
bool vm_net_available(void);

/* ---- snapshots (docs/snapshot.md) ---- */

/* Write a full snapshot of a PAUSED VM into `dir` (an empty directory, or
 * a path that does not exist: created mode 0700): its memory (sparse) and
 * the state of its harts, clock, devices and disks, crash-safe.  A
 * writable qcow2 disk is frozen: the VM goes on in a new overlay beside
 * it; a snapshot=on disk's writes are copied into dir (docs/snapshot.md
 * "Disks").  Any thread.  Returns 0, or -EINVAL (not paused), -ENOTSUP
 * (a writable raw disk), -EEXIST (dir not empty, or a frozen disk's
 * overlay file exists), -errno (I/O: nothing is left in dir and the disks
 * are as before); the message in err (may be NULL) and vm_last_error
 * names the file or field.  The VM stays paused.  The snapshot becomes
 * the parent of the next diff snapshot (vm_snapshot_diff): the dirty log
 * is fetched and cleared (put back on failure). */
int vm_snapshot_create(struct vm *vm, const char *dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Write a diff snapshot of a PAUSED VM into `dir`, as vm_snapshot_create
 * does, but with only the pages written since the last snapshot this VM
 * took or was restored from (its parent, full or diff, named by absolute
 * path and the CRC-32C of its state file; docs/snapshot.md); it becomes
 * the parent of the next one.  Restoring it (vm_restore) needs the whole
 * chain in place.  Any thread.  Errors as vm_snapshot_create, plus
 * -ENODATA (no previous snapshot) and -ESTALE (the parent was removed or
 * replaced since: take a full snapshot); nothing is written then. */
int vm_snapshot_diff(struct vm *vm, const char *dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* vm_snapshot_create (flags 0) or vm_snapshot_diff (VM_SNAP_DIFF), with
 * VM_SNAP_DISKS_EXTERNAL: each writable raw disk's content is copied,
 * sparse, into dir/disk<i>.raw (a writable raw disk is refused with
 * -ENOTSUP without it; docs/snapshot.md "Disks").  The copy takes time in
 * proportion to the disk's data, with the VM paused; a full host disk
 * fails the snapshot (-ENOSPC) with nothing left in dir.  Any thread. */
#define VM_SNAP_DIFF            0x1u
#define VM_SNAP_DISKS_EXTERNAL  0x2u
int vm_snapshot(struct vm *vm, const char *dir, unsigned flags, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Restore a snapshot (vm_snapshot_create's directory) into a CREATED VM
 * (never started) built with the same machine options (vCPUs, memory,
 * devices, program: checked against the snapshot).  Guest memory is
 * mapped from the snapshot copy-on-write, so the time this takes does
 * not grow with the RAM size (a diff snapshot's chain is composed: each
 * diff's pages mapped over its parent's, docs/snapshot.md); the harts,
 * clock and devices take the
 * saved state, and guest time goes on from the snapshot's.  Start the VM
 * with vm_start (or vm_start_paused) afterwards.  A VM with disks must
 * have been created with cfg.restore_dir = dir (the disks are checked and
 * opened for the snapshot then).  Returns 0, or -EINVAL
 * (not created, a corrupt or foreign snapshot: the message names the
 * file and the section), -ENOTSUP (a newer format), -errno; after a
 * failure past the memory mapping the VM is STOPPED (destroy it). */
int vm_restore(struct vm *vm, const char *dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* ---- the control API (docs/api.md) ---- */

struct vm_api;
/* Listen for the VM's control API (HTTP/1.1 + JSON) on the unix socket
 * `path` (mode 0600; a stale socket is replaced, a live one refused);
 * vm_api_serve starts answering, from the server's own thread.  Clients
 * may connect in between and their requests wait: so a client that polls
 * for the socket while the VM starts (vm_start, or a restore) gets its
 * first answer once the VM runs, without a state of the start-up in
 * between and without taking the CPU from it.  The VM must outlive the
 * server: stop it (vm_api_stop) before vm_destroy.  Returns 0 and *out,
 * or -EADDRINUSE, -EEXIST, -ENAMETOOLONG, -errno with the message in
 * err. */
int vm_api_start(struct vm *vm, const char *path, struct vm_api **out, char *err,
                 size_t errlen) __attribute__((warn_unused_result));
/* Start answering (after vm_start or vm_start_paused).  0, -EALREADY, or
 * -errno from pthread_create. */
int vm_api_serve(struct vm_api *api) __attribute__((warn_unused_result));
/* Stop serving and remove the socket.  NULL is a no-op. */
void vm_api_stop(struct vm_api *api);

#endif
