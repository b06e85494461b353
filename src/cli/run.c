/* vessel run: parse options, validate them, hand over to the VMM. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/util.h"
#include "vmm/vmm.h"

#define MIN_MEMORY (1ULL << 20)    /* 1 MiB */
#define MAX_MEMORY (64ULL << 30)   /* 64 GiB */
#define MAX_CPUS 16
#define MAX_VIRTIO 8               /* virtio-mmio slots of the virt board */
#define MAX_DISK_ARGS 64           /* parsed before the slot check */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: vessel run [options]\n"
        "\n"
        "  --kernel IMAGE     Linux RISC-V Image to boot (S-mode, after OpenSBI)\n"
        "  --initrd FILE      initial ramdisk\n"
        "  --append CMDLINE   kernel command line\n"
        "  --firmware FILE    M-mode firmware (default: OpenSBI fw_dynamic.bin\n"
        "                     from the guest cache)\n"
        "  --bios ELF         run a bare-metal ELF in M-mode, no firmware\n"
        "                     (HTIF tohost/fromhost honoured)\n"
        "  -m, --memory SIZE  guest RAM, decimal with a K, M, G or T suffix, e.g.\n"
        "                     512M, 2G (plain number: MiB; default 512M)\n"
        "  --cpus N           number of harts, 1..%d (default 1)\n"
        "  --disk FILE[,format=raw|qcow2][,readonly=on|off][,snapshot=on|off]\n"
        "         [,cache=writeback|none|unsafe][,backing-dir=DIR]...\n"
        "                     virtio-blk disk (repeatable; /dev/vda, vdb, ... in\n"
        "                     order; format probed when absent; ',,' is a comma\n"
        "                     in FILE; snapshot=on discards writes at exit;\n"
        "                     backing-dir (repeatable) lets the image's backing\n"
        "                     files come from DIR, not only FILE's directory)\n"
        "  --console uart|virtio  console input device (default uart; virtio:\n"
        "                     stdin goes to hvc0, boot with console=hvc0)\n"
        "  --net SPEC         virtio-net card (repeatable), e.g. user\n"
        "  --dump-dtb FILE    write the generated device tree and exit\n"
        "  --no-reboot        exit (status %d) when the guest reboots\n"
        "  -h, --help         this help\n"
        "\n"
        "Console: C-a x quits (exit status %d), C-a h lists the keys.\n"
        "SIGTERM, SIGINT and SIGHUP stop the VM cleanly (exit status 128 + signo).\n",
        MAX_CPUS, VMM_EXIT_REBOOT, VMM_EXIT_QUIT);
}

/* Memory size: a plain number means MiB (as QEMU's -m); decimal only, see
 * parse_size. */
static int parse_memory(const char *s, uint64_t *out)
{
    uint64_t v;
    size_t n = strlen(s);
    if (n && s[n - 1] >= '0' && s[n - 1] <= '9') {
        if (parse_u64(s, &v) || v > (MAX_MEMORY >> 20))
            return -EINVAL;
        v <<= 20;
    } else if (parse_size(s, &v)) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* Parse on|off for --disk KEY=VALUE. */
static int parse_onoff(const char *spec, const char *key, const char *v, bool *out)
{
    if (!strcmp(v, "on")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "off")) {
        *out = false;
        return 0;
    }
    vlog_error("--disk '%s': %s='%s' is not valid, expected on or off", spec, key, v);
    return -EINVAL;
}

/* --disk FILE[,format=raw|qcow2][,readonly=on|off][,snapshot=on|off]
 *        [,cache=writeback|none|unsafe][,backing-dir=DIR]...; ",," stands
 *        for a comma in FILE.
 * *storage receives a malloc'd copy holding the strings d points into. */
static int parse_disk(const char *spec, struct vmm_disk *d, char **storage)
{
    size_t n = strlen(spec);
    char *buf = malloc(n + 2);      /* FILE + NUL, then the options + NUL */
    if (!buf)
        return -ENOMEM;
    *storage = buf;
    *d = (struct vmm_disk){ .format = 0, .cache = VMM_CACHE_WRITEBACK };
    /* FILE up to the first single comma. */
    size_t i = 0, o = 0;
    while (i < n) {
        if (spec[i] == ',') {
            if (spec[i + 1] == ',') {
                buf[o++] = ',';
                i += 2;
                continue;
            }
            break;
        }
        buf[o++] = spec[i++];
    }
    buf[o++] = 0;
    d->path = buf;
    if (!*d->path) {
        vlog_error("--disk '%s': no file name, expected FILE[,format=raw|qcow2]"
                   "[,readonly=on|off][,snapshot=on|off][,cache=writeback|none|unsafe]"
                   "[,backing-dir=DIR]...", spec);
        return -EINVAL;
    }
    char *opts = buf + o;
    memcpy(opts, spec + i, n - i + 1);
    char *save = NULL;
    for (char *kv = strtok_r(opts, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            vlog_error("--disk '%s': option '%s' has no value, expected KEY=VALUE with "
                       "KEY one of format, readonly, snapshot, cache, backing-dir", spec, kv);
            return -EINVAL;
        }
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(kv, "format")) {
            if (!strcmp(v, "raw"))
                d->format = 1;
            else if (!strcmp(v, "qcow2"))
                d->format = 2;
            else {
                vlog_error("--disk '%s': unknown format '%s', expected raw or qcow2", spec, v);
                return -EINVAL;
            }
        } else if (!strcmp(kv, "readonly")) {
            if (parse_onoff(spec, kv, v, &d->read_only))
                return -EINVAL;
        } else if (!strcmp(kv, "snapshot")) {
            if (parse_onoff(spec, kv, v, &d->snapshot))
                return -EINVAL;
        } else if (!strcmp(kv, "cache")) {
            if (!strcmp(v, "writeback"))
                d->cache = VMM_CACHE_WRITEBACK;
            else if (!strcmp(v, "none"))
                d->cache = VMM_CACHE_NONE;
            else if (!strcmp(v, "unsafe"))
                d->cache = VMM_CACHE_UNSAFE;
            else {
                vlog_error("--disk '%s': cache='%s' is not valid, expected writeback, "
                           "none or unsafe", spec, v);
                return -EINVAL;
            }
        } else if (!strcmp(kv, "backing-dir")) {
            if (!*v || d->nbacking_dirs == VMM_MAX_BACKING_DIRS) {
                vlog_error("--disk '%s': backing-dir='%s': expected a directory, at most "
                           "%d times", spec, v, VMM_MAX_BACKING_DIRS);
                return -EINVAL;
            }
            d->backing_dirs[d->nbacking_dirs++] = v;
        } else {
            vlog_error("--disk '%s': unknown option '%s', expected format, readonly, "
                       "snapshot, cache or backing-dir", spec, kv);
            return -EINVAL;
        }
    }
    return 0;
}

/* The process-wide part of running a VM, set up here once and handed to
 * the VMM (vmm.h, signal_fd): SIGTERM, SIGINT and SIGHUP are blocked in
 * every thread (the VMM's threads inherit the mask) and read from a
 * signalfd by the VMM's main loop, which ends the run cleanly (exit status
 * 128 + signo).  SIGINT comes from the terminal only when stdin is not a
 * terminal in raw mode (there C-c goes to the guest); a SIGINT sent with
 * kill(1) ends the run either way.  SIGPIPE is ignored: a console output
 * that goes away gives EPIPE and its bytes are discarded, the VM keeps
 * running.  Returns the descriptor, or -1 (printed) when signalfd failed:
 * then the signals keep their default action. */
static int run_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL)) {
        vlog_warn("cannot block SIGTERM/SIGINT/SIGHUP: %s; they will end the VM "
                  "without closing its disks", strerror(errno));
        return -1;
    }
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        vlog_warn("signalfd: %s; SIGTERM/SIGINT/SIGHUP will end the VM without "
                  "closing its disks", strerror(errno));
        sigprocmask(SIG_UNBLOCK, &set, NULL);
    }
    return fd;
}

static int run_with(struct vmm_config *cfg, const char **disk_specs, unsigned ndisks)
{
    struct vmm_disk disks[MAX_VIRTIO];
    char *storage[MAX_VIRTIO] = { 0 };
    int rc = 2;
    unsigned need = ndisks + cfg->nnets + (cfg->virtio_console ? 1 : 0) + 1;
    if (need > MAX_VIRTIO) {
        vlog_error("too many virtio devices: %u --disk, %u --net%s and the entropy device "
                   "need %u slots; the virt board has %d", ndisks, cfg->nnets,
                   cfg->virtio_console ? ", --console virtio" : "", need, MAX_VIRTIO);
        return 2;
    }
    for (unsigned i = 0; i < ndisks; i++)
        if (parse_disk(disk_specs[i], &disks[i], &storage[i]))
            goto out;
    cfg->disks = disks;
    cfg->ndisks = ndisks;
    rc = vmm_run(cfg);
out:
    for (unsigned i = 0; i < ndisks; i++)
        free(storage[i]);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    enum { O_KERNEL = 256, O_INITRD, O_APPEND, O_FIRMWARE, O_BIOS, O_CPUS,
           O_DUMP_DTB, O_NO_REBOOT, O_DISK, O_CONSOLE, O_NET };
    static const struct option opts[] = {
        { "kernel", required_argument, NULL, O_KERNEL },
        { "initrd", required_argument, NULL, O_INITRD },
        { "append", required_argument, NULL, O_APPEND },
        { "firmware", required_argument, NULL, O_FIRMWARE },
        { "bios", required_argument, NULL, O_BIOS },
        { "memory", required_argument, NULL, 'm' },
        { "cpus", required_argument, NULL, O_CPUS },
        { "smp", required_argument, NULL, O_CPUS },
        { "dump-dtb", required_argument, NULL, O_DUMP_DTB },
        { "no-reboot", no_argument, NULL, O_NO_REBOOT },
        { "disk", required_argument, NULL, O_DISK },
        { "console", required_argument, NULL, O_CONSOLE },
        { "net", required_argument, NULL, O_NET },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vmm_config cfg = {
        .ram_size = 512ULL << 20,
        .ncpus = 1,
        .signal_fd = -1,
    };
    const char *disk_specs[MAX_DISK_ARGS];
    const char *net_specs[MAX_DISK_ARGS];
    unsigned ndisks = 0, nnets = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        switch (c) {
        case O_KERNEL: cfg.kernel = optarg; break;
        case O_INITRD: cfg.initrd = optarg; break;
        case O_APPEND: cfg.append = optarg; break;
        case O_FIRMWARE: cfg.firmware = optarg; break;
        case O_BIOS: cfg.bios = optarg; break;
        case O_DUMP_DTB: cfg.dump_dtb = optarg; break;
        case O_NO_REBOOT: cfg.no_reboot = true; break;
        case O_DISK:
            if (ndisks == MAX_DISK_ARGS) {
                vlog_error("too many --disk options: the virt board has %d virtio slots",
                           MAX_VIRTIO);
                return 2;
            }
            disk_specs[ndisks++] = optarg;
            break;
        case O_NET:
            if (!vmm_net_available()) {
                vlog_error("--net: not available yet");
                return 2;
            }
            if (nnets == MAX_DISK_ARGS) {
                vlog_error("too many --net options: the virt board has %d virtio slots",
                           MAX_VIRTIO);
                return 2;
            }
            net_specs[nnets++] = optarg;
            break;
        case O_CONSOLE:
            if (!strcmp(optarg, "uart")) {
                cfg.virtio_console = false;
            } else if (!strcmp(optarg, "virtio")) {
                cfg.virtio_console = true;
            } else {
                vlog_error("--console '%s' is not valid: expected uart or virtio", optarg);
                return 2;
            }
            break;
        case 'm':
            if (parse_memory(optarg, &cfg.ram_size) || cfg.ram_size < MIN_MEMORY ||
                cfg.ram_size > MAX_MEMORY || (cfg.ram_size & 0xfff)) {
                vlog_error("--memory '%s' is not a valid size: expected decimal digits "
                           "with an optional K, M, G or T suffix (a plain number is MiB), "
                           "a multiple of 4 KiB from 1M to 64G, e.g. 512M or 2G", optarg);
                return 2;
            }
            break;
        case O_CPUS: {
            uint64_t n;
            if (parse_u64(optarg, &n) || n < 1 || n > MAX_CPUS) {
                vlog_error("--cpus '%s' is not valid: expected a decimal number from "
                           "1 to %d", optarg, MAX_CPUS);
                return 2;
            }
            cfg.ncpus = (unsigned)n;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        vlog_error("unexpected argument '%s' (see vessel run --help)", argv[optind]);
        return 2;
    }
    if (cfg.initrd && !cfg.kernel) {
        vlog_error("--initrd needs --kernel");
        return 2;
    }
    if (!cfg.bios && !cfg.kernel) {
        vlog_error("nothing to run: give --kernel IMAGE or --bios ELF");
        usage(stderr);
        return 2;
    }
    if (cfg.bios && (cfg.kernel || cfg.initrd || cfg.firmware)) {
        vlog_error("--bios runs a bare-metal program and cannot be combined with "
                   "--kernel, --initrd or --firmware");
        return 2;
    }
    cfg.interactive = isatty(STDIN_FILENO);
    cfg.net_specs = net_specs;
    cfg.nnets = nnets;
    cfg.signal_fd = run_signals();
    int rc = run_with(&cfg, disk_specs, ndisks);
    if (cfg.signal_fd >= 0)
        close(cfg.signal_fd);
    return rc;
}
