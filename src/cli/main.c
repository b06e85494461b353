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
            "  img   create and manage disk images (vessel img --help)\n");
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
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "vessel: unknown command '%s' (expected: run, img)\n", cmd);
    usage(stderr);
    return 2;
}
