/* A VM's configuration: defaults, validation (every field, with a message
 * that names it, gives the value and says what is accepted), the VM's own
 * copy of the strings it needs after vm_create, and UUIDs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "net/net.h"
#include "vmm/vmm_int.h"

void vm_limits(struct vm_limits *out)
{
    *out = (struct vm_limits){
        .max_cpus = VIRT_MAX_CPUS,
        .min_ram = VIRT_MIN_RAM, .max_ram = VIRT_MAX_RAM, .ram_align = MEM_PAGE_SIZE,
        .virtio_slots = VIRT_VIRTIO_SLOTS,
    };
}

void vm_config_init(struct vm_config *cfg)
{
    *cfg = (struct vm_config){
        .ram_size = 512ULL << 20,
        .ncpus = 1,
        .jit = true,
        .console_ring = VM_CONSOLE_RING,
        .log_level = VM_LOG_INFO,
    };
}

bool vm_net_available(void)
{
    return virt_net_available();
}

/* ---- UUIDs (RFC 9562: 8-4-4-4-12 hex digits) ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int vm_uuid_parse(const char *s, uint8_t out[16])
{
    uint8_t u[16];
    unsigned b = 0;
    if (strlen(s) != VM_UUID_LEN)
        return -EINVAL;
    for (unsigned i = 0; i < VM_UUID_LEN;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i++] != '-')
                return -EINVAL;
            continue;
        }
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        u[b++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    memcpy(out, u, 16);
    return 0;
}

int vm_uuid_generate(uint8_t out[16])
{
    if (getrandom(out, 16, 0) != 16)
        return errno ? -errno : -EIO;
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);    /* version 4 */
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);    /* variant 10 */
    return 0;
}

void vm_uuid_format(const uint8_t u[16], char out[VM_UUID_LEN + 1])
{
    snprintf(out, VM_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
             u[12], u[13], u[14], u[15]);
}

/* ---- validation ---- */

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)

static bool printable(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return false;
    return true;
}

static int check_disk(const struct vm_disk *d, unsigned i, char *err, size_t errlen)
{
    if (!d->path || !*d->path)
        FAIL("disks[%u].path: missing, expected the image's file name", i);
    if ((unsigned)d->format > VM_DISK_VHDX)
        FAIL("disks[%u].format %d (%s): expected probe, raw, qcow2, vpc, vdi, vmdk or vhdx", i,
             (int)d->format, d->path);
    if ((unsigned)d->cache > VM_CACHE_UNSAFE)
        FAIL("disks[%u].cache %d (%s): expected writeback, none or unsafe", i, (int)d->cache,
             d->path);
    if (d->nbacking_dirs > VM_MAX_BACKING_DIRS)
        FAIL("disks[%u].nbacking_dirs %u (%s): expected at most %d", i, d->nbacking_dirs,
             d->path, VM_MAX_BACKING_DIRS);
    for (unsigned j = 0; j < d->nbacking_dirs; j++)
        if (!d->backing_dirs[j] || !*d->backing_dirs[j])
            FAIL("disks[%u].backing_dirs[%u] (%s): empty, expected a directory", i, j,
                 d->path);
    return 0;
}

static int check_program(const struct vm_config *cfg, char *err, size_t errlen)
{
    if (!cfg->bios == !cfg->kernel)
        FAIL("bios and kernel: %s, expected exactly one (a bare-metal ELF, or a Linux "
             "Image)", cfg->bios ? "both given" : "neither given");
    if (cfg->bios && (cfg->initrd || cfg->firmware))
        FAIL("%s '%s' with bios: a bare-metal program runs without firmware or initrd",
             cfg->initrd ? "initrd" : "firmware", cfg->initrd ? cfg->initrd : cfg->firmware);
    const char *names[] = { "bios", "firmware", "kernel", "initrd" };
    const char *vals[] = { cfg->bios, cfg->firmware, cfg->kernel, cfg->initrd };
    for (size_t i = 0; i < 4; i++)
        if (vals[i] && !*vals[i])
            FAIL("%s: empty, expected a file name", names[i]);
    return 0;
}

unsigned vm_config_virtio_slots(const struct vm_config *cfg)
{
    struct virt_config vc = {
        .ndisks = cfg->ndisks,
        .nnics = cfg->nnets,
        .virtio_console = cfg->virtio_console,
        .balloon = cfg->balloon ? VIRT_BALLOON_ON : VIRT_BALLOON_NONE,
    };
    return virt_virtio_slots_needed(&vc);
}

int vm_config_check(const struct vm_config *cfg, char *err, size_t errlen)
{
    struct vm_limits lim;
    vm_limits(&lim);
    if (cfg->name && (!*cfg->name || strlen(cfg->name) > VM_NAME_MAX || !printable(cfg->name)))
        FAIL("name '%.80s': expected 1 to %d printable ASCII characters", cfg->name,
             VM_NAME_MAX);
    uint8_t u[16];
    if (cfg->uuid && vm_uuid_parse(cfg->uuid, u))
        FAIL("uuid '%.80s': expected 32 hex digits as 8-4-4-4-12, e.g. "
             "123e4567-e89b-42d3-a456-426614174000", cfg->uuid);
    if (cfg->ncpus < 1 || cfg->ncpus > lim.max_cpus)
        FAIL("ncpus %u: expected 1 to %u", cfg->ncpus, lim.max_cpus);
    if (cfg->ram_size < lim.min_ram || cfg->ram_size > lim.max_ram ||
        cfg->ram_size % lim.ram_align)
        FAIL("ram_size %llu: expected a multiple of %llu bytes from %llu to %llu",
             (unsigned long long)cfg->ram_size, (unsigned long long)lim.ram_align,
             (unsigned long long)lim.min_ram, (unsigned long long)lim.max_ram);
    int rc = check_program(cfg, err, errlen);
    if (rc)
        return rc;
    if (cfg->ndisks && !cfg->disks)
        FAIL("disks: NULL with ndisks %u", cfg->ndisks);
    if (cfg->nnets && !cfg->nets)
        FAIL("nets: NULL with nnets %u", cfg->nnets);
    unsigned need = vm_config_virtio_slots(cfg);
    if (cfg->ndisks > lim.virtio_slots || cfg->nnets > lim.virtio_slots ||
        need > lim.virtio_slots)
        FAIL("ndisks %u, nnets %u, virtio_console %s, balloon %s: with the entropy device "
             "that is %u virtio devices; the board has %u slots", cfg->ndisks, cfg->nnets,
             cfg->virtio_console ? "on" : "off", cfg->balloon ? "on" : "off", need,
             lim.virtio_slots);
    if (cfg->balloon > 2)
        FAIL("balloon %u: expected 0 (none), 1 (a balloon) or 2 (with free page reporting)",
             cfg->balloon);
    for (unsigned i = 0; i < cfg->ndisks; i++)
        if ((rc = check_disk(&cfg->disks[i], i, err, errlen)))
            return rc;
    if (cfg->nnets && !vm_net_available())
        FAIL("nnets %u: this build has no virtio-net", cfg->nnets);
    for (unsigned i = 0; i < cfg->nnets; i++) {
        struct net_spec spec;
        if (!cfg->nets[i])
            FAIL("nets[%u]: NULL, expected a backend spec such as 'user'", i);
        /* net/'s message names the spec the way the user wrote it. */
        if (net_spec_parse(cfg->nets[i], &spec, err, errlen))
            return -EINVAL;
    }
    if (cfg->ndisk_overlays && (!cfg->restore_dir || !cfg->disk_overlays))
        FAIL("ndisk_overlays %u: overlays need restore_dir and disk_overlays",
             cfg->ndisk_overlays);
    if (cfg->ndisk_overlays > cfg->ndisks)
        FAIL("ndisk_overlays %u: expected at most one per disk (%u)", cfg->ndisk_overlays,
             cfg->ndisks);
    for (unsigned i = 0; i < cfg->ndisk_overlays; i++)
        if (!cfg->disk_overlays[i] || !*cfg->disk_overlays[i])
            FAIL("disk_overlays[%u]: empty, expected a file name", i);
    if (cfg->restore_dir && !*cfg->restore_dir)
        FAIL("restore_dir: empty, expected a snapshot directory");
    if (cfg->jit_hot > 255)
        FAIL("jit_hot %u: expected 1 to 255, or 0 for the default", cfg->jit_hot);
    if (cfg->console_ring < 4096)
        FAIL("console_ring %zu: expected at least 4096 bytes", cfg->console_ring);
    if ((unsigned)cfg->log_level > VM_LOG_DEBUG)
        FAIL("log_level %d: expected VM_LOG_ERROR to VM_LOG_DEBUG", (int)cfg->log_level);
    return 0;
}

/* ---- the VM's copy ---- */

static int dup_str(const char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    char *s = strdup(src);
    if (!s)
        return -ENOMEM;
    *dst = s;
    return 0;
}

int vm_config_copy(struct vm *v, const struct vm_config *cfg)
{
    v->cfg = *cfg;
    struct vm_config *c = &v->cfg;
    c->name = c->uuid = NULL;       /* kept in v->name, v->uuid */
    c->disks = NULL;                /* opened; the paths are not needed again */
    c->ndisks = 0;
    c->nets = NULL;                 /* opened too (nics.c) */
    c->nnets = 0;
    c->restore_dir = NULL;          /* used by the disks' open only */
    c->disk_overlays = NULL;
    c->ndisk_overlays = 0;
    if (dup_str(&c->bios, cfg->bios) || dup_str(&c->firmware, cfg->firmware) ||
        dup_str(&c->kernel, cfg->kernel) || dup_str(&c->initrd, cfg->initrd) ||
        dup_str(&c->append, cfg->append))
        return -ENOMEM;
    return 0;
}

void vm_config_free(struct vm *v)
{
    struct vm_config *c = &v->cfg;
    free((char *)c->bios);
    free((char *)c->firmware);
    free((char *)c->kernel);
    free((char *)c->initrd);
    free((char *)c->append);
    c->bios = c->firmware = c->kernel = c->initrd = c->append = NULL;
}
