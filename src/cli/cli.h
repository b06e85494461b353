/* cli: the `vessel` command's subcommands.  Each returns the process exit
 * status (0 success, non-zero failure) after printing its own errors. */
#ifndef VESSEL_CLI_H
#define VESSEL_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

int cmd_run(int argc, char **argv);   /* cli/run.c: vessel run ... */
int cmd_img(int argc, char **argv);   /* cli/img.c: vessel img ... */

/* cli/run_help.c: vessel run --help, to f. */
void run_usage(FILE *f);

/* Exit status when the guest asked for a reboot under --no-reboot. */
#define EXIT_REBOOT 3
/* Exit status when the user quit with C-a x. */
#define EXIT_QUIT 4
/* Exit status after signal `signo` ended the run: 128 + signo, what a
 * shell reports for a process killed by it. */
#define EXIT_SIGNAL(signo) (128 + (signo))

/* cli/run_jail.c: --jail DIR [--jail-user UID:GID].  run_jail_user parses
 * "UID:GID" (decimal, both non-zero): 0 or -EINVAL.  run_jail_enter
 * builds the jail for vm (its boot images, /etc/resolv.conf when it has
 * user networking, the console log files to own) and enters it (vmm/jail.h);
 * 0 or a negative errno, the message logged. */
struct vm;
int run_jail_user(const char *s, uid_t *uid, gid_t *gid);
int run_jail_enter(struct vm *vm, const char *dir, uid_t uid, gid_t gid, bool nets,
                   const char *console_log);

/* cli/vmctl.c: the commands that ask the daemon (create, list, start...).
 * argv[0] is the command, or a global option (--socket, --json) before
 * it; cmd_vmctl_is says whether argv[0] is one of them. */
int cmd_vmctl(int argc, char **argv);
bool cmd_vmctl_is(const char *arg);

#endif
