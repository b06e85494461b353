/* vessel (daemon client): output for people: tables, sizes and uptimes in
 * human units, and strings made safe for a terminal (the daemon's
 * strings, a broken vm.json's error included, may hold anything). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/vmctl.h"
#include "util/util.h"

const char *vmctl_fmt_size(uint64_t v, char *buf, size_t len)
{
    static const char units[] = "BKMGTPE";
    unsigned u = 0;
    while (u < 6 && v >= (1ULL << (10 * (u + 1))))
        u++;
    uint64_t unit = 1ULL << (10 * u);
    if (v % unit == 0)
        snprintf(buf, len, "%llu%c", (unsigned long long)(v / unit), units[u]);
    else
        snprintf(buf, len, "%.1f%c", (double)v / (double)unit, units[u]);
    return buf;
}

const char *vmctl_fmt_uptime(uint64_t s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%llus", (unsigned long long)s);
    else if (s < 3600)
        snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else if (s < 86400)
        snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60));
    else
        snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
                 (unsigned long long)(s / 3600 % 24));
    return buf;
}

const char *vmctl_safe(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    if (!len)
        return buf;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 1 < len; p++) {
        unsigned char c = *p;
        if (c < 0x20 || c == 0x7f) {
            buf[o++] = '?';
        } else if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            buf[o++] = '?';         /* a C1 control (CSI...) in UTF-8 */
            p++;
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o] = 0;
    return buf;
}

void vmctl_table_init(struct vmctl_table *t, unsigned ncols)
{
    *t = (struct vmctl_table){ .ncols = ncols ? MIN(ncols, VMCTL_TABLE_COLS) : 1 };
}

void vmctl_table_row(struct vmctl_table *t, const char *const *cells)
{
    if (t->oom)
        return;
    if (t->nrows == t->cap) {
        unsigned cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, (size_t)cap * t->ncols * sizeof(*c));
        if (!c) {
            t->oom = true;
            return;
        }
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + (size_t)t->nrows * t->ncols;
    for (unsigned i = 0; i < t->ncols; i++) {
        const char *s = cells[i] ? cells[i] : "-";
        size_t n = strlen(s) + 1;
        row[i] = malloc(n);
        if (row[i])
            vmctl_safe(s, row[i], n);
        else
            t->oom = true;
    }
    t->nrows++;
}

char *vmctl_table_format(const struct vmctl_table *t)
{
    size_t w[VMCTL_TABLE_COLS] = { 0 };
    if (t->oom)
        return NULL;
    for (unsigned r = 0; r < t->nrows; r++)
        for (unsigned c = 0; c < t->ncols; c++)
            w[c] = MAX(w[c], strlen(t->cells[(size_t)r * t->ncols + c]));
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    if (!f)
        return NULL;
    for (unsigned r = 0; r < t->nrows; r++) {
        for (unsigned c = 0; c < t->ncols; c++) {
            const char *s = t->cells[(size_t)r * t->ncols + c];
            if (c + 1 == t->ncols)
                fprintf(f, "%s", s);
            else
                fprintf(f, "%-*s  ", (int)w[c], s);
        }
        fputc('\n', f);
    }
    if (fclose(f)) {
        free(out);
        return NULL;
    }
    return out;
}

void vmctl_table_free(struct vmctl_table *t)
{
    if (t->cells) {
        for (size_t i = 0; i < (size_t)t->nrows * t->ncols; i++)
            free(t->cells[i]);
        free(t->cells);
    }
    *t = (struct vmctl_table){ 0 };
}

/* An integer field as text, or "-" when absent, null or not an integer. */
static const char *int_str(json_t *o, const char *k, char *buf, size_t len)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        return "-";
    snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    return buf;
}

static const char *size_field(json_t *o, const char *k, char *buf, size_t len)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return "-";
    return vmctl_fmt_size((uint64_t)json_integer_value(v), buf, len);
}

static const char *uptime_field(json_t *o, const char *k, char *buf, size_t len)
{
    json_t *v = json_object_get(o, k);
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        return vmctl_fmt_uptime((uint64_t)json_integer_value(v), buf, len);
    if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1e15)
        return vmctl_fmt_uptime((uint64_t)json_real_value(v), buf, len);
    return "-";
}

static const char *str_field(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

char *vmctl_list_format(json_t *answer, char *err, size_t elen)
{
    json_t *vms = json_object_get(answer, "vms");
    if (!json_is_array(vms)) {
        errbuf(err, elen, -EPROTO, "the daemon's GET /vms answer has no \"vms\" array");
        return NULL;
    }
    struct vmctl_table t;
    vmctl_table_init(&t, 6);
    vmctl_table_row(&t, (const char *const[]){ "NAME", "STATE", "VCPUS", "MEMORY", "UPTIME",
                                               "IP" });
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm) {
        char cpus[24], mem[24], up[24], ebuf[1024];
        const char *state = str_field(vm, "state");
        const char *last = str_field(vm, "ip");
        if (!strcmp(state, "broken")) {
            snprintf(ebuf, sizeof(ebuf), "error: %s", str_field(vm, "error"));
            last = ebuf;
        }
        vmctl_table_row(&t, (const char *const[]){
            str_field(vm, "name"), state, int_str(vm, "vcpus", cpus, sizeof(cpus)),
            size_field(vm, "memory", mem, sizeof(mem)),
            uptime_field(vm, "uptime", up, sizeof(up)), last });
    }
    char *s = vmctl_table_format(&t);
    vmctl_table_free(&t);
    if (!s)
        errbuf(err, elen, -ENOMEM, "out of memory");
    return s;
}

/* One "key: value" line of `vessel info`, the value made terminal-safe. */
static void kv(FILE *f, const char *k, const char *v)
{
    char buf[4096];
    if (v)
        fprintf(f, "%-13s %s\n", k, vmctl_safe(v, buf, sizeof(buf)));
}

static const char *yes_no(json_t *v)
{
    return json_is_boolean(v) ? (json_is_true(v) ? "yes" : "no") : NULL;
}

char *vmctl_info_format(json_t *vm)
{
    char *out = NULL, b[64];
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    if (!f)
        return NULL;
    json_t *cfg = json_object_get(vm, "config");
    json_t *boot = json_object_get(cfg, "boot");
    kv(f, "name:", str_field(vm, "name"));
    kv(f, "uuid:", str_field(vm, "uuid"));
    kv(f, "state:", str_field(vm, "state"));
    kv(f, "error:", json_string_value(json_object_get(vm, "error")));
    kv(f, "vcpus:", int_str(vm, "vcpus", b, sizeof(b)));
    kv(f, "memory:", size_field(vm, "memory", b, sizeof(b)));
    kv(f, "uptime:", uptime_field(vm, "uptime", b, sizeof(b)));
    kv(f, "pid:", int_str(vm, "pid", b, sizeof(b)));
    kv(f, "ip:", str_field(vm, "ip"));
    kv(f, "restarts:", int_str(vm, "restarts", b, sizeof(b)));
    json_t *sb = json_object_get(vm, "sandbox");
    kv(f, "sandbox:", json_is_false(sb) ? "no (started with --no-sandbox)" : yes_no(sb));
    kv(f, "instructions:", int_str(vm, "instructions", b, sizeof(b)));
    kv(f, "autostart:", yes_no(json_object_get(cfg, "autostart")));
    kv(f, "restart:", json_string_value(json_object_get(cfg, "restart")));
    static const char *const bootk[] = { "kernel", "initrd", "append", "firmware", "bios" };
    for (size_t i = 0; i < ARRAY_SIZE(bootk); i++) {
        char k[16];
        snprintf(k, sizeof(k), "%s:", bootk[i]);
        kv(f, k, json_string_value(json_object_get(boot, bootk[i])));
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(cfg, "disks"), i, e) {
        char k[32], v[4400];
        snprintf(k, sizeof(k), "disk[%zu]:", i);
        const char *fmt = json_string_value(json_object_get(e, "format"));
        const char *cache = json_string_value(json_object_get(e, "cache"));
        snprintf(v, sizeof(v), "%.4095s%s%s%s%s%s%s", str_field(e, "path"),
                 fmt ? " format=" : "", fmt ? fmt : "",
                 json_is_true(json_object_get(e, "readonly")) ? " readonly" : "",
                 json_is_true(json_object_get(e, "snapshot")) ? " snapshot" : "",
                 cache ? " cache=" : "", cache ? cache : "");
        kv(f, k, v);
    }
    json_array_foreach(json_object_get(cfg, "nics"), i, e) {
        char k[32], v[2048];
        size_t j, o;
        json_t *fw;
        snprintf(k, sizeof(k), "nic[%zu]:", i);
        const char *mac = json_string_value(json_object_get(e, "mac"));
        o = (size_t)snprintf(v, sizeof(v), "%.40s%s%.20s", str_field(e, "backend"),
                             mac ? " mac=" : "", mac ? mac : "");
        json_array_foreach(json_object_get(e, "hostfwd"), j, fw) {
            if (o < sizeof(v))
                o += (size_t)snprintf(v + o, sizeof(v) - o, " hostfwd=%.100s",
                                      json_string_value(fw) ? json_string_value(fw) : "?");
        }
        kv(f, k, v);
    }
    if (fclose(f)) {
        free(out);
        return NULL;
    }
    return out;
}
