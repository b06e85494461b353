/* vessel: command-line entry point; dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vessel <command> [options]\n"
            "\n"
            "commands:\n"
            "  run   run a virtual machine (vessel run --help)\n"
            "  img   create and manage disk images (vessel img --help)\n"
            "\n"
            "commands that ask the daemon (vesseld; vessel --socket PATH --json ...):\n"
            "  create, list, info, start, stop, kill, pause, resume, reset, delete,\n"
            "  edit, console, events, top   (vessel list --help; docs/cli.md)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "img"))
        return cmd_img(argc - 1, argv + 1);
    if (cmd_vmctl_is(cmd))
        return cmd_vmctl(argc - 1, argv + 1);
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "vessel: unknown command '%s' (expected: run, img, create, list, info, "
            "start, stop, kill, pause, resume, reset, delete, edit, console, events, top)\n",
            cmd);
    usage(stderr);
    return 2;
}
