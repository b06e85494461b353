/* block: the VMDK text descriptor parser ("Virtual Disk Format 1.1",
 * "The Descriptor File").
 *
 * The descriptor is ASCII text, one item per line, in three parts:
 *  - the header: "# Disk DescriptorFile", then key=value lines: version
 *    (1), CID (the content id, 8 hex digits, changed on every write),
 *    parentCID (ffffffff without a parent), createType (the subformat:
 *    monolithicSparse, monolithicFlat, twoGbMaxExtentSparse,
 *    twoGbMaxExtentFlat, streamOptimized, vmfs, ...), optionally
 *    parentFileNameHint (the parent's file), encoding, isNativeSnapshot;
 *  - the extent descriptions: "ACCESS SIZE TYPE "FILE" [OFFSET]", ACCESS
 *    one of RW, RDONLY, NOACCESS, SIZE in sectors, TYPE one of FLAT,
 *    SPARSE, ZERO (no file), VMFS (a flat extent on VMFS), OFFSET the
 *    sector of a flat extent's file where its data starts.  The extents
 *    follow one another in the disk's address space; their sizes add up
 *    to the capacity;
 *  - the disk database: ddb.* keys (virtualHWVersion, geometry,
 *    adapterType, uuid, ...), values quoted.
 *  "#" starts a comment line; lines end in LF (CRLF accepted).
 *
 * We parse strictly, since a descriptor comes with an image from
 * anywhere: an unknown key, a key twice, a malformed value or extent line,
 * a line over VMDK_DESC_LINE_MAX bytes, more than VMDK_DESC_LINES_MAX
 * lines or VMDK_DESC_EXTENTS_MAX extents is refused naming the line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/vmdk.h"

struct parser {
    const char *name;
    unsigned line;
    char *err;
    size_t elen;
    bool seen_version, seen_cid, seen_pcid, seen_type, seen_enc, seen_native;
    const char *line_buf;     /* the line being parsed, a copy of ... */
    size_t line_at;           /* ... the text from this byte */
};

static int bad(struct parser *p, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct parser *p, int r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return block_errbuf(p->err, p->elen, r, "%s: descriptor line %u: %s", p->name,
                        p->line, msg);
}

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_';
}

/* The value after '=': "quoted" (no quote inside) or a bare token; the
 * rest of the line must be blank.  Returns the value (in place, the
 * line is modified) or NULL. */
static char *take_value(char *v, bool *quoted)
{
    while (*v == ' ' || *v == '\t')
        v++;
    char *end;
    *quoted = *v == '"';
    if (*quoted) {
        v++;
        end = strchr(v, '"');
        if (!end)
            return NULL;
        *end++ = 0;
    } else {
        end = v + strcspn(v, " \t\"");
        if (end == v)
            return NULL;
        if (*end)
            *end++ = 0;
    }
    end += strspn(end, " \t");
    return *end ? NULL : v;
}

static int parse_hex32(const char *v, uint32_t *out)
{
    size_t n = strlen(v);
    if (n < 1 || n > 8 || strspn(v, "0123456789abcdefABCDEF") != n)
        return -1;
    *out = (uint32_t)strtoul(v, NULL, 16);
    return 0;
}

static int parse_u64(const char *v, uint64_t *out)
{
    if (!*v || strlen(v) > 19 || strspn(v, "0123456789") != strlen(v))
        return -1;
    *out = strtoull(v, NULL, 10);
    return 0;
}

static const char *const create_types[] = {
    "monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse",
    "twoGbMaxExtentFlat", "streamOptimized", "vmfs", "vmfsSparse",
    "custom",
};

static int keyval(struct parser *p, struct vmdk_desc *d, char *key, char *v, bool quoted)
{
    bool *seen = NULL;
    if (!strncmp(key, "ddb.", 4)) {
        for (unsigned i = 0; i < d->nddb; i++)
            if (!strcmp(d->ddb[i].key, key))
                return bad(p, -EINVAL, "key %s given twice", key);
        if (d->nddb >= VMDK_DESC_LINES_MAX)
            return bad(p, -EINVAL, "too many ddb keys");
        struct vmdk_desc_kv *n = realloc(d->ddb, (d->nddb + 1) * sizeof(*n));
        if (!n)
            return bad(p, -ENOMEM, "out of memory");
        d->ddb = n;
        n[d->nddb].key = strdup(key);
        n[d->nddb].value = strdup(v);
        d->nddb++;
        if (!n[d->nddb - 1].key || !n[d->nddb - 1].value)
            return bad(p, -ENOMEM, "out of memory");
        return 0;
    }
    if (!strcmp(key, "version")) {
        seen = &p->seen_version;
        uint64_t n;
        if (parse_u64(v, &n) < 0 || n < 1 || n > 3)
            return bad(p, -ENOTSUP, "version=%s (accepted: 1, 2 or 3)", v);
        d->version = (unsigned)n;
    } else if (!strcmp(key, "CID")) {
        seen = &p->seen_cid;
        if (parse_hex32(v, &d->cid) < 0)
            return bad(p, -EINVAL, "CID=%s (accepted: 1 to 8 hex digits)", v);
        d->cid_at = p->line_at + (size_t)(v - p->line_buf);   /* v is in the line */
        d->cid_len = strlen(v);
    } else if (!strcmp(key, "parentCID")) {
        seen = &p->seen_pcid;
        if (parse_hex32(v, &d->parent_cid) < 0)
            return bad(p, -EINVAL, "parentCID=%s (accepted: 1 to 8 hex digits)", v);
    } else if (!strcmp(key, "createType")) {
        seen = &p->seen_type;
        if (!quoted)
            return bad(p, -EINVAL, "createType=%s: the value must be quoted", v);
        size_t i;
        for (i = 0; i < sizeof(create_types) / sizeof(*create_types); i++)
            if (!strcmp(v, create_types[i]))
                break;
        if (i == sizeof(create_types) / sizeof(*create_types))
            return bad(p, -ENOTSUP, "createType \"%.40s\" (accepted: monolithicSparse, "
                       "monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat, "
                       "streamOptimized, vmfs, vmfsSparse, custom)", v);
        snprintf(d->create_type, sizeof(d->create_type), "%s", v);
    } else if (!strcmp(key, "parentFileNameHint")) {
        if (d->parent_hint)
            return bad(p, -EINVAL, "key %s given twice", key);
        if (!(d->parent_hint = strdup(v)))
            return bad(p, -ENOMEM, "out of memory");
    } else if (!strcmp(key, "encoding")) {
        seen = &p->seen_enc;
    } else if (!strcmp(key, "isNativeSnapshot")) {
        seen = &p->seen_native;
    } else if (strcmp(key, "changeTrackPath")) {
        return bad(p, -EINVAL, "unknown key \"%.40s\" (accepted: version, encoding, CID, "
                   "parentCID, isNativeSnapshot, createType, parentFileNameHint, "
                   "changeTrackPath, ddb.*)", key);
    }
    if (seen && *seen)
        return bad(p, -EINVAL, "key %s given twice", key);
    if (seen)
        *seen = true;
    return 0;
}

static int extent_line(struct parser *p, struct vmdk_desc *d, char *l)
{
    char *save = NULL;
    char *acc = strtok_r(l, " \t", &save);
    char *size = strtok_r(NULL, " \t", &save);
    char *type = strtok_r(NULL, " \t", &save);
    struct vmdk_desc_extent e = { 0 };
    e.access = !strcmp(acc, "RW") ? VMDK_RW : !strcmp(acc, "RDONLY") ? VMDK_RDONLY
             : VMDK_NOACCESS;
    if (!size || parse_u64(size, &e.sectors) < 0 || !e.sectors ||
        e.sectors > (1ull << 53))
        return bad(p, -EINVAL, "extent size \"%.30s\" (accepted: 1 to 2^53 sectors)",
                   size ? size : "");
    if (!type)
        return bad(p, -EINVAL, "extent line without a type (accepted: FLAT, SPARSE, "
                   "ZERO, VMFS)");
    if (!strcmp(type, "FLAT"))
        e.type = VMDK_EXT_FLAT;
    else if (!strcmp(type, "SPARSE"))
        e.type = VMDK_EXT_SPARSE;
    else if (!strcmp(type, "ZERO"))
        e.type = VMDK_EXT_ZERO;
    else if (!strcmp(type, "VMFS"))
        e.type = VMDK_EXT_VMFS;
    else
        return bad(p, -ENOTSUP, "extent type \"%.30s\" (accepted: FLAT, SPARSE, ZERO, "
                   "VMFS)", type);
    char *rest = save ? save + strspn(save, " \t") : NULL;
    if (e.type == VMDK_EXT_ZERO) {
        if (rest && *rest)
            return bad(p, -EINVAL, "a ZERO extent names no file");
    } else {
        if (!rest || *rest != '"')
            return bad(p, -EINVAL, "extent file name must be quoted");
        char *q = strchr(rest + 1, '"');
        if (!q || q == rest + 1)
            return bad(p, -EINVAL, "extent file name: empty or unterminated quote");
        *q = 0;
        char *off = q + 1 + strspn(q + 1, " \t");
        if (*off) {
            char *tail = off + strcspn(off, " \t");
            if (*tail) {
                *tail++ = 0;
                if (tail[strspn(tail, " \t")])
                    return bad(p, -EINVAL, "extra text after the extent offset");
            }
            if (e.type == VMDK_EXT_SPARSE)
                return bad(p, -EINVAL, "a SPARSE extent takes no offset");
            if (parse_u64(off, &e.offset) < 0 || e.offset > (1ull << 53))
                return bad(p, -EINVAL, "extent offset \"%.30s\" (accepted: 0 to 2^53 "
                           "sectors)", off);
        }
        if (!(e.file = strdup(rest + 1)))
            return bad(p, -ENOMEM, "out of memory");
    }
    if (d->next >= VMDK_DESC_EXTENTS_MAX) {
        free(e.file);
        return bad(p, -EINVAL, "more than %u extents", VMDK_DESC_EXTENTS_MAX);
    }
    if (d->total_sectors + e.sectors > (1ull << 53)) {
        free(e.file);
        return bad(p, -EINVAL, "the extents add up to more than 2^53 sectors");
    }
    struct vmdk_desc_extent *n = realloc(d->ext, (d->next + 1) * sizeof(*n));
    if (!n) {
        free(e.file);
        return bad(p, -ENOMEM, "out of memory");
    }
    d->ext = n;
    n[d->next++] = e;
    d->total_sectors += e.sectors;
    return 0;
}

static int one_line(struct parser *p, struct vmdk_desc *d, char *l)
{
    size_t n = strlen(l);
    if (n && l[n - 1] == '\r')
        l[--n] = 0;
    l += strspn(l, " \t");
    if (!*l || *l == '#')
        return 0;
    for (const char *c = l; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\t')
            return bad(p, -EINVAL, "control character 0x%02x", (unsigned char)*c);
    if (!strncmp(l, "RW ", 3) || !strncmp(l, "RW\t", 3) || !strncmp(l, "RDONLY", 6) ||
        !strncmp(l, "NOACCESS", 8))
        return extent_line(p, d, l);
    char *k = l;
    while (key_char(*l))
        l++;
    char *ke = l;
    l += strspn(l, " \t");
    if (ke == k || *l != '=')
        return bad(p, -EINVAL, "neither key=value nor an extent line (RW|RDONLY|"
                   "NOACCESS SECTORS FLAT|SPARSE|ZERO|VMFS \"FILE\" [OFFSET])");
    *ke = 0;
    bool quoted;
    char *v = take_value(l + 1, &quoted);
    if (!v)
        return bad(p, -EINVAL, "value of %s: expected \"text\" or a word", k);
    return keyval(p, d, k, v, quoted);
}

int vmdk_desc_parse(const char *text, size_t len, const char *name,
                    struct vmdk_desc *d, char *err, size_t elen)
{
    struct parser p = { .name = name, .err = err, .elen = elen };
    memset(d, 0, sizeof(*d));
    d->parent_cid = 0xffffffffu;
    if (len > VMDK_DESC_FILE_MAX)
        return block_errbuf(err, elen, -EINVAL, "%s: descriptor of %zu bytes (accepted: "
                            "at most %u)", name, len, VMDK_DESC_FILE_MAX);
    char line[VMDK_DESC_LINE_MAX + 1];
    size_t at = 0;
    int r = 0;
    while (at < len && r == 0) {
        if (!text[at])
            /* the end, in a file as in an embedded descriptor: qemu-img
             * pads descriptors with NULs and reads them as C strings, and
             * its CID update (written without leading zeros) can leave
             * the old text's last bytes after the new NUL */
            break;
        p.line++;
        if (p.line > VMDK_DESC_LINES_MAX) {
            r = bad(&p, -EINVAL, "more than %u lines", VMDK_DESC_LINES_MAX);
            break;
        }
        size_t n = 0;
        while (at + n < len && text[at + n] != '\n' && text[at + n])
            n++;
        if (n > VMDK_DESC_LINE_MAX) {
            r = bad(&p, -EINVAL, "longer than %u bytes", VMDK_DESC_LINE_MAX);
            break;
        }
        memcpy(line, text + at, n);
        line[n] = 0;
        p.line_buf = line;
        p.line_at = at;
        at += n + (at + n < len && text[at + n] == '\n');
        r = one_line(&p, d, line);
    }
    if (r == 0 && !p.seen_type)
        r = block_errbuf(err, elen, -EINVAL, "%s: the descriptor has no createType", name);
    else if (r == 0 && !d->next)
        r = block_errbuf(err, elen, -EINVAL, "%s: the descriptor has no extent line", name);
    if (r < 0)
        vmdk_desc_free(d);
    return r;
}

void vmdk_desc_free(struct vmdk_desc *d)
{
    for (unsigned i = 0; i < d->next; i++)
        free(d->ext[i].file);
    for (unsigned i = 0; i < d->nddb; i++) {
        free(d->ddb[i].key);
        free(d->ddb[i].value);
    }
    free(d->ext);
    free(d->ddb);
    free(d->parent_hint);
    memset(d, 0, sizeof(*d));
}

const char *vmdk_desc_ddb(const struct vmdk_desc *d, const char *key)
{
    for (unsigned i = 0; i < d->nddb; i++)
        if (!strcmp(d->ddb[i].key, key))
            return d->ddb[i].value;
    return NULL;
}
