/* vmm: runs a VM built by machine/: one host thread per vCPU, WFI waits,
 * the console, guest poweroff/reboot.  Later: scheduler, pause, snapshot.
 *
 * Nothing above this layer knows about RISC-V: the CLI hands over a
 * struct vmm_config and gets an exit status back. */
#ifndef VESSEL_VMM_H
#define VESSEL_VMM_H

#include <stdbool.h>
#include <stdint.h>

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
};

/* Exit status when the guest asked for a reboot under no_reboot. */
#define VMM_EXIT_REBOOT 3
/* Exit status when the user quit with Ctrl-A x. */
#define VMM_EXIT_QUIT 4

/* Build the VM, run it until the guest powers off (or the user quits),
 * and return the process exit status: the guest's status for a poweroff
 * (0 = clean / pass), VMM_EXIT_REBOOT, VMM_EXIT_QUIT, or 1 when the VM
 * could not be built (the error has been printed). */
int vmm_run(const struct vmm_config *cfg);

#endif
