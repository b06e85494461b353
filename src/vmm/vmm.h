/* vmm: runs a VM built by machine/: one host thread per vCPU, WFI waits,
 * the console, guest poweroff/reboot.  Later: scheduler, pause, snapshot.
 *
 * Nothing above this layer knows about RISC-V: the CLI hands over a
 * struct vmm_config and gets an exit status back. */
#ifndef VESSEL_VMM_H
#define VESSEL_VMM_H

#include <stdbool.h>
#include <stdint.h>

/* Host cache mode of a disk (--disk cache=). */
enum vmm_cache {
    VMM_CACHE_WRITEBACK = 0,    /* host page cache; guest flush = fdatasync */
    VMM_CACHE_NONE,             /* O_DIRECT: no host page cache; flush = fdatasync */
    VMM_CACHE_UNSAFE,           /* guest flushes are ignored */
};

/* At most this many backing-dir= options on one --disk. */
#define VMM_MAX_BACKING_DIRS 8

/* One --disk. */
struct vmm_disk {
    const char *path;
    int format;                 /* enum block_format: 0 probe, raw, qcow2 */
    bool read_only;             /* readonly=on */
    bool snapshot;              /* snapshot=on: writes go to a temporary
                                   overlay deleted at exit */
    enum vmm_cache cache;
    /* backing-dir=DIR options: directories the backing files named in the
     * image's chain may lie in, besides the image's own directory
     * (block.h struct block_open_opts); point into the caller's storage. */
    const char *backing_dirs[VMM_MAX_BACKING_DIRS];
    unsigned nbacking_dirs;
};

struct vmm_config {
    uint64_t ram_size;          /* bytes */
    unsigned ncpus;             /* 1..16 */
    const char *bios;           /* bare-metal ELF, or NULL */
    const char *firmware;       /* OpenSBI image, or NULL for the default */
    const char *kernel;         /* Linux Image, or NULL */
    const char *initrd;         /* or NULL */
    const char *append;         /* kernel command line, or NULL */
    const char *dump_dtb;       /* write the DTB here and exit, or NULL */
    bool no_reboot;             /* guest reboot exits instead of restarting */
    bool interactive;           /* console on a terminal: raw mode, Ctrl-A keys */
    const struct vmm_disk *disks;   /* virtio-blk disks, /dev/vda first */
    unsigned ndisks;
    const char *const *net_specs;   /* --net specs (virtio-net) */
    unsigned nnets;
    bool virtio_console;        /* --console virtio: stdin to hvc0 */
    /* A signalfd (signalfd(2)) for the signals that end the run cleanly,
     * or -1 (any value <= 2 means none: 0..2 are the console's).  The
     * caller blocks those signals in every thread (before any thread is
     * created) and reads nothing from it; vmm_run polls it and, when a
     * signal arrives, stops the vCPUs, closes the devices and disks,
     * restores the terminal and returns VMM_EXIT_SIGNAL(signo).  This is
     * the one piece of process-wide state a VMM depends on: signals belong
     * to the process. */
    int signal_fd;
};

/* Exit status when the guest asked for a reboot under no_reboot. */
#define VMM_EXIT_REBOOT 3
/* Exit status when the user quit with Ctrl-A x. */
#define VMM_EXIT_QUIT 4
/* Exit status after signal `signo` ended the run: 128 + signo, what a
 * shell reports for a process killed by it. */
#define VMM_EXIT_SIGNAL(signo) (128 + (signo))

/* Open the disks (once: they, and the temporary overlays of snapshot=on
 * disks, survive guest reboots; images are locked against other
 * processes, see block.h BLOCK_O_LOCK), build the VM, run it until the
 * guest powers off (or the user quits, or a signal arrives on
 * cfg->signal_fd), close the disks and return the process exit status:
 * the guest's status for a poweroff (0 = clean / pass), VMM_EXIT_REBOOT,
 * VMM_EXIT_QUIT, VMM_EXIT_SIGNAL(signo), or 1 when the VM could not be
 * built (the error has been printed, naming the file or option).
 *
 * The console is stdin/stdout (vmm/console.h): output is buffered (at
 * most VMM_CONSOLE_RING bytes) and written without blocking, dropped and
 * counted when the reader stalls, so that C-a x and signals always work.
 * A closed output gives EPIPE, not death: the caller ignores SIGPIPE. */
int vmm_run(const struct vmm_config *cfg);

/* True when --net (virtio-net) is built in. */
bool vmm_net_available(void);

#endif
