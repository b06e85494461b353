/* vessel img: helpers shared by the subcommand files (not a public API). */
#ifndef VESSEL_CLI_IMG_INT_H
#define VESSEL_CLI_IMG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "block/block.h"

int img_parse_fmt(const char *s, enum block_format *out);
/* Open with an error message on stderr; 0 or -1. */
int img_open(struct block_dev **bd, const char *file, unsigned flags,
             const char *fmt);
void img_human_size(uint64_t v, char *buf, size_t n);

int img_convert(int argc, char **argv);  /* img_ops.c */
int img_commit(int argc, char **argv);   /* img_ops.c */
int img_rebase(int argc, char **argv);   /* img_ops.c */
int img_bench(int argc, char **argv);    /* img_bench.c */

#endif
