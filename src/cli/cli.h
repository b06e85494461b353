/* cli: the `vessel` command's subcommands.  Each returns the process exit
 * status (0 success, non-zero failure) after printing its own errors. */
#ifndef VESSEL_CLI_H
#define VESSEL_CLI_H

int cmd_run(int argc, char **argv);   /* cli/run.c: vessel run ... */
int cmd_img(int argc, char **argv);   /* cli/img.c: vessel img ... */

#include <stdbool.h>
/* cli/vmctl.c: the commands that ask the daemon (create, list, start...).
 * argv[0] is the command, or a global option (--socket, --json) before
 * it; cmd_vmctl_is says whether argv[0] is one of them. */
int cmd_vmctl(int argc, char **argv);
bool cmd_vmctl_is(const char *arg);

#endif
