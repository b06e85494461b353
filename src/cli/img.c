/* vessel img: create, inspect and check disk images (dispatch plus the
 * create/info/check/resize/snapshot subcommands; the data-moving ones
 * live in img_ops.c). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/block.h"
#include "cli/cli.h"
#include "cli/img_int.h"
#include "util/util.h"

int img_parse_fmt(const char *s, enum block_format *out)
{
    if (!s) {
        *out = BLOCK_FMT_PROBE;
        return 0;
    }
    if (!strcmp(s, "raw")) { *out = BLOCK_FMT_RAW; return 0; }
    if (!strcmp(s, "qcow2")) { *out = BLOCK_FMT_QCOW2; return 0; }
    if (!strcmp(s, "vpc") || !strcmp(s, "vhd")) { *out = BLOCK_FMT_VPC; return 0; }
    if (!strcmp(s, "vdi")) { *out = BLOCK_FMT_VDI; return 0; }
    if (!strcmp(s, "vmdk")) { *out = BLOCK_FMT_VMDK; return 0; }
    if (!strcmp(s, "vhdx")) { *out = BLOCK_FMT_VHDX; return 0; }
    fprintf(stderr, "vessel img: unknown format '%s' (accepted: raw, "
            "qcow2, vpc (or vhd), vdi, vmdk, vhdx)\n", s);
    return -1;
}

const char *img_errstr(struct block_dev *bd, int r)
{
    const char *m = block_last_error(bd);
    return *m ? m : strerror(-r);
}

void img_human_size(uint64_t v, char *buf, size_t n)
{
    static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    unsigned i = 0;
    double d = (double)v;
    while (d >= 1024 && i < 6) {
        d /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(buf, n, "%llu B", (unsigned long long)v);
    else
        snprintf(buf, n, "%.3g %s", d, u[i]);
}

/* -o key=value[,key=value] for create/convert */
static int parse_create_opts(char *o, struct block_create_opts *c)
{
    for (char *save = NULL, *kv = strtok_r(o, ",", &save); kv;
         kv = strtok_r(NULL, ",", &save)) {
        char *v = strchr(kv, '=');
        if (!v) {
            fprintf(stderr, "vessel img: option '%s' needs a value\n", kv);
            return -1;
        }
        *v++ = 0;
        uint64_t n;
        if (!strcmp(kv, "cluster_size")) {
            if (parse_size(v, &n) < 0 || n > (2u << 20)) {
                fprintf(stderr, "vessel img: cluster_size '%s': accepted: "
                        "512 to 2M, a power of two\n", v);
                return -1;
            }
            c->cluster_size = (uint32_t)n;
        } else if (!strcmp(kv, "block_size")) {   /* qemu-img's vhdx option */
            if (parse_size(v, &n) < 0 || n < (1u << 20) || n > (256u << 20) ||
                (n & (n - 1))) {
                fprintf(stderr, "vessel img: block_size '%s': accepted: "
                        "1M to 256M, a power of two\n", v);
                return -1;
            }
            c->cluster_size = (uint32_t)n;
        } else if (!strcmp(kv, "compat")) {
            if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
                c->version = 2;
            else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
                c->version = 3;
            else {
                fprintf(stderr, "vessel img: compat '%s': accepted: 0.10, "
                        "1.1\n", v);
                return -1;
            }
        } else if (!strcmp(kv, "refcount_bits")) {
            if (parse_u64(v, &n) < 0 || n > 64) {
                fprintf(stderr, "vessel img: refcount_bits '%s': accepted: "
                        "1, 2, 4, 8, 16, 32, 64\n", v);
                return -1;
            }
            c->refcount_bits = (uint32_t)n;
        } else if (!strcmp(kv, "lazy_refcounts")) {
            c->lazy_refcounts = !strcmp(v, "on");
        } else if (!strcmp(kv, "backing_file")) {
            c->backing_file = v;
        } else if (!strcmp(kv, "backing_fmt")) {
            c->backing_format = v;
        } else if (!strcmp(kv, "subformat")) {
            c->subformat = v;
        } else if (!strcmp(kv, "static")) {   /* qemu-img's vdi option */
            c->subformat = !strcmp(v, "on") ? "static" : "dynamic";
        } else {
            fprintf(stderr, "vessel img: unknown option '%s' (accepted: "
                    "cluster_size, compat, refcount_bits, lazy_refcounts, "
                    "backing_file, backing_fmt, subformat, static, block_size)\n", kv);
            return -1;
        }
    }
    return 0;
}

static int img_create(int argc, char **argv)
{
    struct block_create_opts c = {0};
    const char *fmt = "qcow2";
    static const struct option lo[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "f:b:F:o:uqh", lo, NULL)) != -1) {
        switch (ch) {
        case 'f': fmt = optarg; break;
        case 'b': c.backing_file = optarg; break;
        case 'F': c.backing_format = optarg; break;
        case 'o':
            if (parse_create_opts(optarg, &c) < 0)
                return 1;
            break;
        case 'u': case 'q': break;
        default:
            fprintf(stderr, "usage: vessel img create [-f qcow2|raw|vpc|vdi|vmdk] "
                    "[-b BACKING [-F FMT]] [-o cluster_size=N,compat=0.10|"
                    "1.1,refcount_bits=N,lazy_refcounts=on,subformat=S] FILE "
                    "[SIZE]\n");
            return ch == 'h' ? 0 : 1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "vessel img create: missing FILE\n");
        return 1;
    }
    const char *file = argv[optind];
    if (optind + 1 < argc) {
        int r = parse_size(argv[optind + 1], &c.size);
        if (r < 0) {
            fprintf(stderr, "vessel img create: invalid size '%s' (a number "
                    "with an optional K, M, G or T suffix)\n",
                    argv[optind + 1]);
            return 1;
        }
    } else if (!c.backing_file) {
        fprintf(stderr, "vessel img create: missing SIZE\n");
        return 1;
    }
    if (img_parse_fmt(fmt, &c.format) < 0)
        return 1;
    if (c.format == BLOCK_FMT_PROBE)
        c.format = BLOCK_FMT_QCOW2;
    if (img_check_backing(file, c.backing_file, c.backing_format,
                          "create") < 0)
        return 1;
    /* an existing file is overwritten: not while anyone uses it */
    int guard;
    if (img_lock_output(file, &guard) < 0)
        return 1;
    char err[BLOCK_ERR_LEN] = "";
    int r = block_create(file, &c, err, sizeof(err));
    block_unlock_file(guard);
    if (r < 0) {
        if (*err)
            fprintf(stderr, "vessel img: %s\n", err);
        else
            fprintf(stderr, "vessel img: %s: %s\n", file, strerror(-r));
        return 1;
    }
    /* No SIZE: the image took its backing file's; say which. */
    struct block_dev *made;
    if (!c.size && c.backing_file &&
        !block_open(&made, file, BLOCK_O_RDONLY | BLOCK_O_NO_BACKING, c.format, err,
                    sizeof(err))) {
        c.size = block_length(made);
        block_close(made);
    }
    printf("Formatting '%s', fmt=%s size=%llu%s%s\n", file,
           block_format_name(c.format), (unsigned long long)c.size,
           c.backing_file ? " backing_file=" : "",
           c.backing_file ? c.backing_file : "");
    return 0;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void print_snapshots_human(const struct block_snapshot_info *sn,
                                  unsigned n)
{
    printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
           "VM CLOCK", "ICOUNT");
    for (unsigned i = 0; i < n; i++) {
        char date[32], vs[32], clk[32];
        time_t t = (time_t)sn[i].date_sec;
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
        img_human_size(sn[i].vm_state_size, vs, sizeof(vs));
        uint64_t ms = sn[i].vm_clock_nsec / 1000000;
        snprintf(clk, sizeof(clk), "%04llu:%02llu:%02llu.%03llu",
                 (unsigned long long)(ms / 3600000),
                 (unsigned long long)(ms / 60000 % 60),
                 (unsigned long long)(ms / 1000 % 60),
                 (unsigned long long)(ms % 1000));
        printf("%-9s %-17s%8s %s %s %10s\n", sn[i].id, sn[i].name, vs, date,
               clk, "");
    }
}

static int img_info(int argc, char **argv)
{
    const char *fmt = NULL;
    bool json = false;
    enum img_lock lock = IMG_LOCK;
    static const struct option lo[] = {{"output", required_argument, 0, 'O'},
                                       {"json", no_argument, 0, 'j'},
                                       {"force-share", no_argument, 0, 'U'},
                                       {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "f:U", lo, NULL)) != -1) {
        switch (ch) {
        case 'f': fmt = optarg; break;
        case 'j': json = true; break;
        case 'O': json = !strcmp(optarg, "json"); break;
        case 'U': lock = IMG_FORCE_SHARE; break;
        default:
            fprintf(stderr, "usage: vessel img info [-f FMT] [-U] [--json] "
                    "FILE\n");
            return 1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "vessel img info: missing FILE\n");
        return 1;
    }
    const char *file = argv[optind];
    struct block_dev *bd;
    if (img_open(&bd, file, BLOCK_O_RDONLY | BLOCK_O_NO_BACKING, fmt,
                 lock) < 0)
        return 1;
    struct block_info in;
    if (block_get_info(bd, &in) < 0) {
        fprintf(stderr, "vessel img: %s: out of memory\n", file);
        block_close(bd);
        return 1;
    }
    bool q = in.format == BLOCK_FMT_QCOW2;
    bool cs = in.cluster_size != 0;   /* qcow2, dynamic vpc, vdi */
    if (json) {
        printf("{\n");
        if (in.nb_snapshots) {
            printf("    \"snapshots\": [\n");
            for (unsigned i = 0; i < in.nb_snapshots; i++) {
                const struct block_snapshot_info *s = &in.snapshots[i];
                printf("        {\n            \"icount\": 0,\n"
                       "            \"vm-clock-nsec\": %llu,\n"
                       "            \"name\": ",
                       (unsigned long long)(s->vm_clock_nsec % 1000000000));
                json_str(stdout, s->name);
                printf(",\n            \"date-sec\": %u,\n"
                       "            \"date-nsec\": %u,\n"
                       "            \"vm-clock-sec\": %llu,\n"
                       "            \"id\": ", s->date_sec, s->date_nsec,
                       (unsigned long long)(s->vm_clock_nsec / 1000000000));
                json_str(stdout, s->id);
                printf(",\n            \"vm-state-size\": %llu\n        }%s\n",
                       (unsigned long long)s->vm_state_size,
                       i + 1 < in.nb_snapshots ? "," : "");
            }
            printf("    ],\n");
        }
        printf("    \"virtual-size\": %llu,\n    \"filename\": ",
               (unsigned long long)in.virtual_size);
        json_str(stdout, file);
        if (cs)
            printf(",\n    \"cluster-size\": %u", in.cluster_size);
        printf(",\n    \"format\": \"%s\",\n    \"actual-size\": %llu,\n"
               "    \"dirty-flag\": %s", block_format_name(in.format),
               (unsigned long long)in.actual_size,
               in.dirty ? "true" : "false");
        if (in.backing_file[0]) {
            printf(",\n    \"backing-filename\": ");
            json_str(stdout, in.backing_file);
            printf(",\n    \"full-backing-filename\": ");
            json_str(stdout, in.backing_full);
            if (in.backing_format[0]) {
                printf(",\n    \"backing-filename-format\": ");
                json_str(stdout, in.backing_format);
            }
        }
        if (q)
            printf(",\n    \"format-specific\": {\n"
                   "        \"type\": \"qcow2\",\n        \"data\": {\n"
                   "            \"compat\": \"%s\",\n"
                   "            \"compression-type\": \"%s\",\n"
                   "            \"lazy-refcounts\": %s,\n"
                   "            \"refcount-bits\": %u,\n"
                   "            \"corrupt\": %s,\n"
                   "            \"extended-l2\": false\n        }\n    }",
                   in.qcow2_version == 2 ? "0.10" : "1.1", in.compression,
                   in.lazy_refcounts ? "true" : "false", in.refcount_bits,
                   in.corrupt ? "true" : "false");
        printf("\n}\n");
    } else {
        char vs[32], ds[32];
        img_human_size(in.virtual_size, vs, sizeof(vs));
        img_human_size(in.actual_size, ds, sizeof(ds));
        printf("image: %s\nfile format: %s\nvirtual size: %s (%llu bytes)\n"
               "disk size: %s\n", file, block_format_name(in.format), vs,
               (unsigned long long)in.virtual_size, ds);
        if (cs)
            printf("cluster_size: %u\n", in.cluster_size);
        if (in.backing_file[0]) {
            printf("backing file: %s", in.backing_file);
            if (strcmp(in.backing_file, in.backing_full))
                printf(" (actual path: %s)", in.backing_full);
            printf("\n");
            if (in.backing_format[0])
                printf("backing file format: %s\n", in.backing_format);
        }
        if (in.nb_snapshots) {
            printf("Snapshot list:\n");
            print_snapshots_human(in.snapshots, in.nb_snapshots);
        }
        if (q)
            printf("Format specific information:\n    compat: %s\n"
                   "    compression type: %s\n    lazy refcounts: %s\n"
                   "    refcount bits: %u\n    corrupt: %s\n"
                   "    extended l2: false\n",
                   in.qcow2_version == 2 ? "0.10" : "1.1", in.compression,
                   in.lazy_refcounts ? "true" : "false", in.refcount_bits,
                   in.corrupt ? "true" : "false");
    }
    block_info_free(&in);
    block_close(bd);
    return 0;
}

static void print_check(const struct block_check_result *r)
{
    if (!r->corruptions && !r->leaks)
        printf("No errors were found on the image.\n");
    if (r->corruptions)
        printf("\n%llu errors were found on the image.\nData may be "
               "corrupted, or further writes to the image may corrupt it.\n",
               (unsigned long long)r->corruptions);
    if (r->leaks)
        printf("\n%llu leaked clusters were found on the image.\nThis means "
               "waste of disk space, but no harm to data.\n",
               (unsigned long long)r->leaks);
    if (r->total_clusters)
        printf("%llu/%llu = %.2f%% allocated\n",
               (unsigned long long)r->allocated_clusters,
               (unsigned long long)r->total_clusters,
               100.0 * (double)r->allocated_clusters /
                   (double)r->total_clusters);
    printf("Image end offset: %llu\n", (unsigned long long)r->image_end_offset);
}

static int img_check(int argc, char **argv)
{
    const char *fmt = NULL;
    bool repair = false;
    enum img_lock lock = IMG_LOCK;
    static const struct option lo[] = {{"repair", optional_argument, 0, 'r'},
                                       {"force-share", no_argument, 0, 'U'},
                                       {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "f:r:qU", lo, NULL)) != -1) {
        switch (ch) {
        case 'f': fmt = optarg; break;
        case 'r': repair = true; break;
        case 'U': lock = IMG_FORCE_SHARE; break;
        case 'q': break;
        default:
            fprintf(stderr, "usage: vessel img check [-f FMT] [-U | --repair] "
                    "FILE\n");
            return 1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "vessel img check: missing FILE\n");
        return 1;
    }
    const char *file = argv[optind];
    struct block_dev *bd;
    unsigned fl = BLOCK_O_NO_BACKING | BLOCK_O_CHECK |
                  (repair ? 0 : BLOCK_O_RDONLY);
    if (img_open(&bd, file, fl, fmt, lock) < 0)
        return 1;
    struct block_check_result res;
    int r = block_check(bd, repair, &res, stdout);
    if (r < 0) {
        fprintf(stderr, "vessel img: %s: check failed: %s\n", file,
                img_errstr(bd, r));
        block_close(bd);
        return 1;
    }
    if (repair && (res.leaks_fixed || res.corruptions_fixed)) {
        printf("The following inconsistencies were found and repaired:\n\n"
               "    %llu leaked clusters\n    %llu corruptions\n\n"
               "Double checking the fixed image now...\n",
               (unsigned long long)res.leaks_fixed,
               (unsigned long long)res.corruptions_fixed);
        r = block_check(bd, false, &res, stdout);
        if (r < 0) {
            fprintf(stderr, "vessel img: %s: check failed: %s\n", file,
                    img_errstr(bd, r));
            block_close(bd);
            return 1;
        }
    }
    print_check(&res);
    block_close(bd);
    return res.corruptions ? 2 : res.leaks ? 3 : 0;
}

static int img_resize(int argc, char **argv)
{
    const char *fmt = NULL, *file = NULL, *sz = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-f") && i + 1 < argc)
            fmt = argv[++i];
        else if (!strcmp(argv[i], "--shrink") || !strcmp(argv[i], "-q"))
            continue;
        else if (!file)
            file = argv[i];
        else
            sz = argv[i];
    }
    if (!file || !sz) {
        fprintf(stderr, "usage: vessel img resize [-f FMT] [--shrink] FILE "
                "[+|-]SIZE\n");
        return 1;
    }
    int sign = 0;
    if (*sz == '+' || *sz == '-')
        sign = *sz++ == '+' ? 1 : -1;
    uint64_t v;
    if (parse_size(sz, &v) < 0) {
        fprintf(stderr, "vessel img resize: invalid size '%s'\n", sz);
        return 1;
    }
    struct block_dev *bd;
    if (img_open(&bd, file, BLOCK_O_NO_BACKING, fmt, IMG_LOCK) < 0)
        return 1;
    uint64_t cur = block_length(bd), ns = v;
    if (sign > 0) {
        if (v > UINT64_MAX - cur) {
            fprintf(stderr, "vessel img resize: %s: %llu + %llu bytes "
                    "overflows 64 bits\n", file, (unsigned long long)cur,
                    (unsigned long long)v);
            block_close(bd);
            return 1;
        }
        ns = cur + v;
    } else if (sign < 0) {
        if (v > cur) {
            fprintf(stderr, "vessel img resize: %s: cannot shrink below 0\n",
                    file);
            block_close(bd);
            return 1;
        }
        ns = cur - v;
    }
    int r = block_truncate(bd, ns);
    if (r < 0) {
        fprintf(stderr, "vessel img: %s\n", img_errstr(bd, r));
        block_close(bd);
        return 1;
    }
    block_close(bd);
    printf("Image resized.\n");
    return 0;
}

static int img_snapshot(int argc, char **argv)
{
    int op = 0;
    const char *name = NULL, *fmt = NULL;
    enum img_lock lock = IMG_LOCK;
    int ch;
    while ((ch = getopt(argc, argv, "c:a:d:lf:qU")) != -1) {
        switch (ch) {
        case 'c': case 'a': case 'd': op = ch; name = optarg; break;
        case 'l': op = 'l'; break;
        case 'f': fmt = optarg; break;
        case 'U': lock = IMG_FORCE_SHARE; break;
        case 'q': break;
        default: op = -1;
        }
    }
    if (op <= 0 || optind >= argc) {
        fprintf(stderr, "usage: vessel img snapshot [-l [-U] | -c NAME | -a "
                "NAME | -d NAME] FILE\n");
        return 1;
    }
    const char *file = argv[optind];
    struct block_dev *bd;
    unsigned fl = BLOCK_O_NO_BACKING | (op == 'l' ? BLOCK_O_RDONLY : 0);
    if (img_open(&bd, file, fl, fmt, lock) < 0)
        return 1;
    int r = 0;
    if (op == 'l') {
        struct block_snapshot_info *sn;
        unsigned n;
        r = block_snapshot_list(bd, &sn, &n);
        if (r == 0 && n) {
            printf("Snapshot list:\n");
            print_snapshots_human(sn, n);
        }
        free(sn);
    } else if (op == 'c') {
        r = block_snapshot_create(bd, name);
    } else if (op == 'a') {
        r = block_snapshot_apply(bd, name);
    } else {
        r = block_snapshot_delete(bd, name);
    }
    if (r == 0 && op != 'l')
        r = block_flush(bd);
    if (r < 0)
        fprintf(stderr, "vessel img: %s\n", img_errstr(bd, r));
    block_close(bd);
    return r < 0 ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vessel img <command> [options]\n\n"
            "  create [-f qcow2|raw|vpc|vdi|vmdk] [-b BACKING [-F FMT]] [-o OPTS] FILE SIZE\n"
            "  info [-U] [--json] FILE\n"
            "  check [-U | --repair] FILE\n"
            "  convert [-U] [-f FMT] [-O qcow2|raw|vpc|vdi|vmdk] [-o OPTS] [-t CACHE] [-p] SRC DST\n"
            "  resize FILE [+|-]SIZE\n"
            "  snapshot -l [-U] | -c NAME | -a NAME | -d NAME FILE\n"
            "  commit [-p] FILE\n"
            "  rebase [-u] [-U] -b BACKING [-F FMT] FILE\n"
            "  bench [-U | -w] [-c COUNT] [-d DEPTH] [-s SIZE] [-S STEP] FILE\n"
            "SIZE accepts K, M, G, T suffixes (powers of 1024).\n"
            "FMT: raw, qcow2, vpc (VHD; also vhd), vdi, vmdk.  -o subformat=dynamic|fixed\n"
            "(vpc), dynamic|static (vdi) or monolithicSparse|streamOptimized|monolithicFlat|\n"
            "twoGbMaxExtentSparse|twoGbMaxExtentFlat (vmdk; streamOptimized is written\n"
            "once, in order).\n"
            "--backing-dir DIR (repeatable, any command) allows backing files in DIR\n"
            "besides the image's own directory.\n"
            "Commands that write lock the image and refuse one in use (by a VM,\n"
            "qemu or another vessel); commands that only read share it, and\n"
            "warn when they read an image being written.  -U (--force-share)\n"
            "reads without a lock.\n");
}

int cmd_img(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *sub = argv[1];
    argc--; argv++;
    /* --backing-dir DIR (any command, repeatable) allows backing files
     * outside the image's directory (docs/block.md "Backing files"); it is
     * taken out before the command parses its own options. */
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        const char *dir = NULL;
        if (!strcmp(argv[i], "--backing-dir")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "vessel img: --backing-dir needs a directory\n");
                return 1;
            }
            dir = argv[++i];
        } else if (!strncmp(argv[i], "--backing-dir=", 14)) {
            dir = argv[i] + 14;
        } else if (!strcmp(argv[i], "--")) {
            while (i < argc)
                argv[kept++] = argv[i++];
            break;
        }
        if (!dir) {
            argv[kept++] = argv[i];
            continue;
        }
        if (img_add_backing_dir(dir) < 0)
            return 1;
    }
    argc = kept;
    argv[argc] = NULL;
    optind = 1;
    if (!strcmp(sub, "create")) return img_create(argc, argv);
    if (!strcmp(sub, "info")) return img_info(argc, argv);
    if (!strcmp(sub, "check")) return img_check(argc, argv);
    if (!strcmp(sub, "convert")) return img_convert(argc, argv);
    if (!strcmp(sub, "resize")) return img_resize(argc, argv);
    if (!strcmp(sub, "snapshot")) return img_snapshot(argc, argv);
    if (!strcmp(sub, "commit")) return img_commit(argc, argv);
    if (!strcmp(sub, "rebase")) return img_rebase(argc, argv);
    if (!strcmp(sub, "bench")) return img_bench(argc, argv);
    if (!strcmp(sub, "-h") || !strcmp(sub, "--help") || !strcmp(sub, "help")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "vessel img: unknown command '%s'\n", sub);
    usage(stderr);
    return 1;
}
