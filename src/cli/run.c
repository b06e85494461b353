/* vessel run: parse options, validate them, hand over to the VMM. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/util.h"
#include "vmm/vmm.h"

#define MIN_MEMORY (1ULL << 20)    /* 1 MiB */
#define MAX_MEMORY (64ULL << 30)   /* 64 GiB */
#define MAX_CPUS 16

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
        "  -m, --memory SIZE  guest RAM, e.g. 512M, 2G (plain number: MiB;\n"
        "                     default 512M)\n"
        "  --cpus N           number of harts, 1..%d (default 1)\n"
        "  --dump-dtb FILE    write the generated device tree and exit\n"
        "  --no-reboot        exit (status %d) when the guest reboots\n"
        "  -h, --help         this help\n"
        "\n"
        "Console: C-a x quits, C-a h lists the keys.\n",
        MAX_CPUS, VMM_EXIT_REBOOT);
}

/* Memory size: a plain number means MiB (as QEMU's -m). */
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

int cmd_run(int argc, char **argv)
{
    enum { O_KERNEL = 256, O_INITRD, O_APPEND, O_FIRMWARE, O_BIOS, O_CPUS,
           O_DUMP_DTB, O_NO_REBOOT };
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
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vmm_config cfg = {
        .ram_size = 512ULL << 20,
        .ncpus = 1,
    };
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
        case 'm':
            if (parse_memory(optarg, &cfg.ram_size) || cfg.ram_size < MIN_MEMORY ||
                cfg.ram_size > MAX_MEMORY || (cfg.ram_size & 0xfff)) {
                vlog_error("--memory '%s' is not a valid size: expected a multiple "
                           "of 4 KiB from 1M to 64G, e.g. 512M or 2G", optarg);
                return 2;
            }
            break;
        case O_CPUS: {
            uint64_t n;
            if (parse_u64(optarg, &n) || n < 1 || n > MAX_CPUS) {
                vlog_error("--cpus '%s' is not valid: expected a number from 1 to %d",
                           optarg, MAX_CPUS);
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
    return vmm_run(&cfg);
}
