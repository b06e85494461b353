/* qcow2: a small LRU cache of metadata clusters (L2 tables, refcount
 * blocks).  Write-through: callers write changed bytes to the file
 * themselves, so the cache never holds dirty data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t csize)
{
    c->n = n;
    c->tick = 0;
    c->e = calloc(n, sizeof(*c->e));
    if (!c->e)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        c->e[i].data = malloc(csize);
        if (!c->e[i].data)
            return -ENOMEM;
    }
    return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
    for (unsigned i = 0; c->e && i < c->n; i++)
        free(c->e[i].data);
    free(c->e);
    c->e = NULL;
}

int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t off,
                    uint8_t **data, bool zero_new)
{
    unsigned victim = 0;
    for (unsigned i = 0; i < c->n; i++) {
        if (c->e[i].offset == off) {
            c->e[i].lru = ++c->tick;
            if (zero_new)
                memset(c->e[i].data, 0, s->cluster_size);
            *data = c->e[i].data;
            return 0;
        }
        if (c->e[i].lru < c->e[victim].lru)
            victim = i;
    }
    struct qcow2_cache_entry *e = &c->e[victim];
    e->offset = 0;
    if (zero_new) {
        memset(e->data, 0, s->cluster_size);
    } else {
        int r = host_pread(s->hf, off, e->data, s->cluster_size, false);
        if (r < 0)
            return block_seterr(s->bd, r, "%s: reading metadata cluster at "
                                "0x%llx: %s", s->file,
                                (unsigned long long)off, strerror(-r));
    }
    e->offset = off;
    e->lru = ++c->tick;
    *data = e->data;
    return 0;
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->e[i].offset == off)
            c->e[i].offset = 0;
}

void qcow2_cache_clear(struct qcow2_cache *c)
{
    for (unsigned i = 0; i < c->n; i++)
        c->e[i].offset = 0;
}
