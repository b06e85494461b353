/* vessel img: placeholder until the block layer lands. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_img(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "vessel img: not implemented yet\n");
    return 1;
}
