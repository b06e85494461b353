/* A VM's network backends: opened once by vm_create from the validated
 * --net specs and kept for the VM's life, so that they outlive the board
 * (guest reboots and resets keep host port forwards bound and
 * connections open); closed by vm_destroy after the board.  The board
 * gets each as {backend, MAC}: the MAC is mac= from the spec or the
 * default derived here from the VM's UUID. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "vmm/vmm_int.h"

struct vmm_nics {
    unsigned n;
    struct net_backend *be[VIRT_VIRTIO_SLOTS];
    struct virt_nic vn[VIRT_VIRTIO_SLOTS];
    char *spec[VIRT_VIRTIO_SLOTS];  /* the --net spec, for GET /vm */
};

void vmm_nic_default_mac(const char *uuid, unsigned index, uint8_t mac[6])
{
    char seed[64];
    snprintf(seed, sizeof(seed), "uuid=%s;net=%u", uuid, index);
    uint64_t h = 0xcbf29ce484222325ULL;            /* FNV-1a 64 */
    for (const unsigned char *p = (const unsigned char *)seed; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    mac[0] = 0x52;                                  /* QEMU's prefix */
    mac[1] = 0x54;
    mac[2] = 0x00;
    mac[3] = (uint8_t)(h >> 56);
    mac[4] = (uint8_t)(h >> 48);
    mac[5] = (uint8_t)(h >> 40);
}

void vmm_nics_close(struct vmm_nics *ns)
{
    if (!ns)
        return;
    for (unsigned i = 0; i < ns->n; i++) {
        net_close(ns->be[i]);
        free(ns->spec[i]);
    }
    free(ns);
}

const struct virt_nic *vmm_nics_board(const struct vmm_nics *ns, unsigned *n)
{
    *n = ns->n;
    return ns->vn;
}

const char *vmm_nics_spec(const struct vmm_nics *ns, unsigned i)
{
    return ns && i < ns->n ? ns->spec[i] : NULL;
}

int vmm_nics_open(struct vm *v, const struct vm_config *cfg, struct vmm_nics **out)
{
    struct vmm_nics *ns = calloc(1, sizeof(*ns));
    if (!ns)
        return vm_fail(v, -ENOMEM, "out of memory opening the network backends");
    /* vm_config_check parsed every spec and bounded nnets by the slots. */
    for (unsigned i = 0; i < cfg->nnets; i++) {
        char err[VM_ERR_LEN];
        struct net_spec spec;
        int rc = net_spec_parse(cfg->nets[i], &spec, err, sizeof(err));
        if (!rc)
            rc = net_open(&spec, cfg->nets[i], &ns->be[i], err, sizeof(err));
        if (rc) {
            vmm_nics_close(ns);
            return vm_fail(v, rc, "%s", err);
        }
        ns->n = i + 1;
        if (!(ns->spec[i] = strdup(cfg->nets[i]))) {
            vmm_nics_close(ns);
            return vm_fail(v, -ENOMEM, "out of memory opening the network backends");
        }
        net_set_log_limit(ns->be[i], &v->log_limit);
        ns->vn[i].be = ns->be[i];
        if (spec.has_mac)
            memcpy(ns->vn[i].mac, spec.mac, 6);
        else
            vmm_nic_default_mac(v->uuid, i, ns->vn[i].mac);
    }
    *out = ns;
    return 0;
}
