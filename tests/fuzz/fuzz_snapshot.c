/* libFuzzer target: the snapshot directory's parsers (src/vmm/snapshot.c).
 * Input byte 0 picks what the rest is: a whole state file (magic, CRCs,
 * records) for snap_state_read, or the sections a valid state file would
 * hold (past its checksums) for snap_memory_map against a small memory
 * file.  Neither may crash, leak or map RAM from a table it refused. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem/mem.h"
#include "vmm/snapshot.h"

static char dir[64];

static void put(const char *name, const uint8_t *d, size_t n)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (n && write(fd, d, n) != (ssize_t)n))
        abort();
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        /* In the runner's working directory, which it removes. */
        strcpy(dir, "fuzz-snap-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        /* A 64 KiB memory file for the table parser to map. */
        static uint8_t zeros[1 << 16];
        put("memory", zeros, sizeof(zeros));
    }
    if (!size)
        return 0;
    char err[512];
    if (data[0] & 1) {
        put("state", data + 1, size - 1);
        uint8_t *buf = NULL;
        size_t len = 0;
        if (snap_state_read(dir, &buf, &len, err, sizeof(err)) == 0) {
            if (len > size)
                abort();
            free(buf);
        }
        return 0;
    }
    struct mem *m = mem_new();
    struct sstate_reader r;
    sstate_reader_init(&r, data + 1, size - 1);
    int rc = snap_memory_map(dir, m, &r, err, sizeof(err));
    if (rc == 0 && mem_ram_size(m) != (1 << 16))
        abort();   /* accepted a table that does not match the file */
    mem_free(m);
    return 0;
}
