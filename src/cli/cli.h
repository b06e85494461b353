/* cli: the `vessel` command's subcommands.  Each returns the process exit
 * status (0 success, non-zero failure) after printing its own errors. */
#ifndef VESSEL_CLI_H
#define VESSEL_CLI_H

int cmd_run(int argc, char **argv);   /* cli/run.c: vessel run ... */
int cmd_img(int argc, char **argv);   /* cli/img.c: vessel img ... */

#endif
