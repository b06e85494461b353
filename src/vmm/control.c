/* vmm: the per-VM control API (docs/api.md) and snapshot creation
 * (docs/snapshot.md).  The API's HTTP server (api.c) runs on its own
 * thread and calls the vm_* functions, which are safe from any thread; a
 * malformed request is refused before it reaches the VM. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "machine/virt.h"
#include "util/sstate.h"
#include "util/util.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "vmm/api.h"
#include "vmm/sandbox.h"
#include "vmm/snapdisk.h"
#include "vmm/snapshot.h"
#include "vmm/vmm_int.h"

struct vm_api {
    struct vm *vm;
    struct api_server *srv;
};

/* ---- snapshots ---- */

/* DIR must be an empty directory, or not exist (then it is created,
 * mode 0700).  *made tells the caller to remove it on failure. */
static int prepare_dir(const char *dir, bool *made, char *err, size_t elen)
{
    *made = false;
    if (mkdir(dir, 0700) == 0) {
        *made = true;
        return 0;
    }
    if (errno != EEXIST) {
        int e = errno;
        snprintf(err, elen, "snapshot path %s: cannot create it: %s", dir, strerror(e));
        return -e;
    }
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        snprintf(err, elen, "snapshot path %s: %s; expected an empty directory or "
                 "a path that does not exist", dir, strerror(e));
        return -e;
    }
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(err, elen, "snapshot path %s: is not empty (holds %s); expected an "
                     "empty directory or a path that does not exist", dir, de->d_name);
            rc = -EEXIST;
            break;
        }
    closedir(d);
    return rc;
}

static void remove_partial(const char *dir, bool made)
{
    static const char *const names[] = { "state", "state.tmp", "memory", "memory.tmp" };
    char p[4096];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    snapdisk_remove_files(dir);
    if (made)
        rmdir(dir);
}

/* Remember dir as the parent of the next diff snapshot (absolute path,
 * CRC-32C of its state file); on failure there is none. */
static void set_parent(struct vm *v, const char *dir)
{
    char abs[PATH_MAX], msg[VM_ERR_LEN];
    uint8_t *buf = NULL;
    size_t len;
    v->snap_parent[0] = 0;
    if (realpath(dir, abs) && strlen(abs) < sizeof(v->snap_parent) &&
        !snap_state_read_crc(abs, &buf, &len, &v->snap_parent_crc, msg, sizeof(msg)))
        memcpy(v->snap_parent, abs, strlen(abs) + 1);
    free(buf);
}

int vm_snapshot(struct vm *v, const char *dir, unsigned flags, char *err, size_t elen)
{
    bool diff = flags & VM_SNAP_DIFF, raw_external = flags & VM_SNAP_DISKS_EXTERNAL;
    char msg[VM_ERR_LEN] = "";
    pthread_mutex_lock(&v->lock);
    int rc = 0;
    if (vm_state(v) != VM_STATE_PAUSED || !v->board) {
        rc = -EINVAL;
        snprintf(msg, sizeof(msg), "snapshot: the VM is %s; expected paused",
                 vm_state_name(vm_state(v)));
        goto out;
    }
    if ((rc = snapdisk_check(v, raw_external, msg, sizeof(msg))))
        goto out;
    /* A diff needs its parent as this VM left it. */
    uint32_t crc = 0;
    if (diff && !v->snap_parent[0]) {
        rc = -ENODATA;
        snprintf(msg, sizeof(msg), "snapshot: a diff snapshot needs a previous snapshot "
                 "of this VM (full or diff) as its parent, and there is none: take a "
                 "full one first");
        goto out;
    }
    if (diff) {
        uint8_t *pb = NULL;
        size_t pl;
        char pmsg[VM_ERR_LEN];
        int prc = snap_state_read_crc(v->snap_parent, &pb, &pl, &crc, pmsg, sizeof(pmsg));
        free(pb);
        if (prc || crc != v->snap_parent_crc) {
            rc = errbuf(msg, sizeof(msg), -ESTALE, "snapshot: the parent snapshot %s was "
                        "removed or replaced since (%s): take a full snapshot",
                        v->snap_parent, prc ? pmsg : "its state file changed");
            goto out;
        }
    }
    bool made;
    if ((rc = prepare_dir(dir, &made, msg, sizeof(msg))))
        goto out;
    /* Every snapshot takes (fetches and clears) the dirty log: the next
     * diff holds what changed after this one.  Put back on failure. */
    struct snap_dirty *dirty;
    if ((rc = snap_dirty_take(virt_mem(v->board), &dirty, msg, sizeof(msg)))) {
        remove_partial(dir, made);
        goto out;
    }
    struct sstate_writer w;
    sstate_writer_init(&w);
    uint64_t written = 0, t0 = host_time_ns();
    /* Memory first in the state file: a restore maps it before the board
     * state goes on top of it. */
    rc = diff ? snap_diff_write(dir, virt_mem(v->board), dirty, v->snap_parent, crc, &w,
                                &written, msg, sizeof(msg))
              : snap_memory_write(dir, virt_mem(v->board), &w, NULL, NULL, &written, msg,
                                  sizeof(msg));
    if (!rc && (rc = virt_save(v->board, &w)))
        snprintf(msg, sizeof(msg), "snapshot: saving the VM state: %s", strerror(-rc));
    /* The disks last: freezing them is the one step that changes the VM. */
    uint32_t frozen = 0;
    if (!rc)
        rc = snapdisk_snapshot(v, dir, raw_external, &w, &frozen, msg, sizeof(msg));
    if (!rc && (rc = snap_state_write(dir, &w, msg, sizeof(msg))))
        snapdisk_unfreeze(v, frozen);
    sstate_writer_free(&w);
    if (rc) {
        snap_dirty_put_back(virt_mem(v->board), dirty);
        remove_partial(dir, made);
    } else {
        set_parent(v, dir);
        vm_log(v, VM_LOG_INFO, "%s snapshot written to %s in %llu us (%llu bytes of "
               "memory)", diff ? "diff" : "full", dir,
               (unsigned long long)((host_time_ns() - t0) / 1000),
               (unsigned long long)written);
    }
    snap_dirty_free(dirty);
out:
    pthread_mutex_unlock(&v->lock);
    if (rc) {
        vm_fail(v, rc, "%s", msg);
        if (err && elen)
            snprintf(err, elen, "%s", msg);
    }
    return rc;
}

int vm_snapshot_create(struct vm *v, const char *dir, char *err, size_t elen)
{
    return vm_snapshot(v, dir, 0, err, elen);
}

int vm_snapshot_diff(struct vm *v, const char *dir, char *err, size_t elen)
{
    return vm_snapshot(v, dir, VM_SNAP_DIFF, err, elen);
}

int vm_restore(struct vm *v, const char *dir, char *err, size_t elen)
{
    char msg[VM_ERR_LEN] = "";
    uint8_t *buf = NULL;
    size_t len = 0;
    pthread_mutex_lock(&v->lock);
    int rc = 0;
    if (vm_state(v) != VM_STATE_CREATED || !v->board) {
        rc = -EINVAL;
        snprintf(msg, sizeof(msg), "restore: the VM is %s; expected created (never "
                 "started)", vm_state_name(vm_state(v)));
        goto out;
    }
    uint64_t t0 = host_time_ns();
    if ((rc = snap_state_read(dir, &buf, &len, msg, sizeof(msg))))
        goto out;
    struct sstate_reader r;
    sstate_reader_init(&r, buf, len);
    /* Memory first (the board's RAM is mapped over, copy-on-write), then
     * the board: harts, clock and devices, which validates the shape (vCPUs,
     * RAM size, devices) against this VM's and refuses another's. */
    if ((rc = snap_chain_map(dir, virt_mem(v->board), &r, SNAP_MAX_MAPS, msg,
                             sizeof(msg))))
        goto fail;
    if ((rc = virt_restore(v->board, &r))) {
        snprintf(msg, sizeof(msg), "restore: %s/state: the machine state does not fit "
                 "this VM (%s): give the same --cpus, --memory, devices (disks, "
                 "cards, --console, --balloon) and program the VM had", dir,
                 r.why[0] ? r.why : strerror(-rc));
        goto fail;
    }
    if ((rc = snapdisk_restore(v, dir, &r, msg, sizeof(msg))))
        goto fail;
    if (r.pos != r.len) {
        rc = -EINVAL;
        snprintf(msg, sizeof(msg), "restore: %s/state: unexpected sections after the "
                 "machine state", dir);
        goto fail;
    }
    set_parent(v, dir);             /* RAM is the snapshot's, the log clear */
    v->awaiting_restore = false;
    vm_log(v, VM_LOG_INFO, "restored from %s in %llu us", dir,
           (unsigned long long)((host_time_ns() - t0) / 1000));
    goto out;
fail:
    /* The RAM may already hold the snapshot's memory: this board is not
     * the one vm_create built any more, so it cannot be started. */
    vm_set_state(v, VM_STATE_STOPPED);
out:
    free(buf);
    pthread_mutex_unlock(&v->lock);
    if (rc) {
        vm_fail(v, rc, "%s", msg);
        if (err && elen)
            snprintf(err, elen, "%s", msg);
    }
    return rc;
}

/* ---- API handlers: one per resource (conventions rule 13) ---- */

/* The VM's last error as the handler's message. */
static int vm_error(struct vm *v, int status, char *err, size_t elen)
{
    vm_last_error(v, err, elen);
    return status;
}

/* The devices' counters, read together under the VM's lock (the board
 * stays while they are read).  Atomic loads only: GET /vm is polled. */
struct dev_stats {
    bool disk_ok[VIRT_VIRTIO_SLOTS], nic_ok[VIRT_VIRTIO_SLOTS];
    struct virtio_blk_stats disk[VIRT_VIRTIO_SLOTS];
    struct virtio_net_stats nic[VIRT_VIRTIO_SLOTS];
};

static void dev_stats_read(struct vm *v, struct dev_stats *ds)
{
    pthread_mutex_lock(&v->lock);
    for (unsigned i = 0; i < VIRT_VIRTIO_SLOTS; i++) {
        ds->disk_ok[i] = v->board && !virt_disk_stats(v->board, i, &ds->disk[i]);
        ds->nic_ok[i] = v->board && !virt_nic_stats(v->board, i, &ds->nic[i]);
    }
    pthread_mutex_unlock(&v->lock);
}

static json_t *disk_stats_json(const struct dev_stats *ds, unsigned i)
{
    if (i >= VIRT_VIRTIO_SLOTS || !ds->disk_ok[i])
        return json_null();
    const struct virtio_blk_stats *d = &ds->disk[i];
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                     "read_bytes", (json_int_t)d->read_bytes,
                     "write_bytes", (json_int_t)d->write_bytes,
                     "read_requests", (json_int_t)d->read_requests,
                     "write_requests", (json_int_t)d->write_requests,
                     "flush_requests", (json_int_t)d->flush_requests,
                     "discard_requests", (json_int_t)d->discard_requests,
                     "errors", (json_int_t)d->errors);
}

/* Adds "stats" and "ip" to a virtio-net entry. */
static void nic_stats_json(json_t *dev, const struct dev_stats *ds, unsigned i)
{
    if (i >= VIRT_VIRTIO_SLOTS || !ds->nic_ok[i]) {
        json_object_set_new(dev, "stats", json_null());
        json_object_set_new(dev, "ip", json_null());
        return;
    }
    const struct virtio_net_stats *n = &ds->nic[i];
    uint64_t dropped = n->tx_bad + n->tx_backend_dropped + n->rx_dropped_full +
                       n->rx_dropped_not_ready + n->rx_dropped_small;
    json_object_set_new(dev, "stats", json_pack("{s:I,s:I,s:I,s:I,s:I}",
                        "rx_bytes", (json_int_t)n->rx_bytes,
                        "tx_bytes", (json_int_t)n->tx_bytes,
                        "rx_frames", (json_int_t)n->rx_frames,
                        "tx_frames", (json_int_t)n->tx_frames,
                        "dropped", (json_int_t)dropped));
    char ip[16];
    snprintf(ip, sizeof(ip), "%u.%u.%u.%u", n->ip >> 24, (n->ip >> 16) & 255,
             (n->ip >> 8) & 255, n->ip & 255);
    json_object_set_new(dev, "ip", n->ip ? json_string(ip) : json_null());
}

static int get_vm(void *opaque, json_t *body, json_t **resp, char *err, size_t elen)
{
    struct vm_api *a = opaque;
    (void)body;
    struct vm_stats st;
    if (vm_get_stats(a->vm, &st))
        return vm_error(a->vm, 409, err, elen);
    char uuid[VM_UUID_LEN + 1];
    vm_uuid(a->vm, uuid);
    const struct vm_config *c = &a->vm->cfg;
    json_t *devs = json_array();
    char top[4096];
    bool ro;
    struct dev_stats ds;
    dev_stats_read(a->vm, &ds);
    /* path: the file the disk writes to now (an overlay after a snapshot). */
    for (unsigned i = 0; snapdisk_top(a->vm, i, top, sizeof(top), &ro); i++)
        json_array_append_new(devs, json_pack("{s:s,s:s,s:b,s:o}", "type", "virtio-blk",
                                              "path", top, "read_only", ro,
                                              "stats", disk_stats_json(&ds, i)));
    /* The cards from the open backends: the VM's copy of its config does
     * not keep the --net specs (vm_config_copy). */
    const char *spec;
    for (unsigned i = 0; (spec = vmm_nics_spec(a->vm->nics, i)); i++) {
        json_t *nic = json_pack("{s:s,s:s}", "type", "virtio-net", "backend", spec);
        if (nic)
            nic_stats_json(nic, &ds, i);
        json_array_append_new(devs, nic);
    }
    json_array_append_new(devs, json_pack("{s:s}", "type", c->virtio_console ?
                                          "virtio-console" : "uart"));
    json_array_append_new(devs, json_pack("{s:s}", "type", "virtio-rng"));
    if (c->balloon) {
        json_t *bal = json_pack("{s:s,s:b}", "type", "virtio-balloon",
                                "free_page_reporting", c->balloon == 2);
        struct virtio_balloon_stats bs;
        if (bal && vm_balloon_stats(a->vm, &bs) == 0)
            json_object_set_new(bal, "stats", json_pack(
                "{s:I,s:I,s:I,s:I,s:I,s:I}",
                "target_bytes", (json_int_t)(bs.target_pages << 12),
                "actual_bytes", (json_int_t)(bs.actual_pages << 12),
                "inflated_pages", (json_int_t)bs.inflated_pages,
                "deflated_pages", (json_int_t)bs.deflated_pages,
                "reports", (json_int_t)bs.reports,
                "reported_bytes", (json_int_t)bs.reported_bytes));
        json_array_append_new(devs, bal);
    }
    json_array_append_new(devs, json_pack("{s:s}", "type", "virtio-input"));  /* power button */
    *resp = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:I,s:I,s:o,s:s}",
                      "name", vm_name(a->vm), "uuid", uuid,
                      "state", vm_state_name(vm_state(a->vm)),
                      "vcpus", (int)c->ncpus,
                      "memory_bytes", (json_int_t)c->ram_size,
                      "guest_time_ns", (json_int_t)st.guest_time_ns,
                      "instructions", (json_int_t)st.instret,
                      "resets", (json_int_t)st.resets,
                      "devices", devs,
                      "sandbox", vm_sandbox_name(vm_sandbox_mode(a->vm)));
    return *resp ? 200 : 500;
}

/* Refuse a body with a key not in allowed[0..n). */
static int only_keys(json_t *body, const char *const *allowed, size_t n, char *err,
                     size_t elen)
{
    const char *k;
    json_t *val;
    json_object_foreach(body, k, val) {
        size_t i = 0;
        while (i < n && strcmp(k, allowed[i]))
            i++;
        if (i == n) {
            snprintf(err, elen, "unknown field \"%s\"", k);
            return -1;
        }
    }
    return 0;
}

static const char *string_field(json_t *body, const char *key, const char *accepted,
                                char *err, size_t elen)
{
    json_t *j = body ? json_object_get(body, key) : NULL;
    if (!json_is_string(j)) {
        snprintf(err, elen, "field \"%s\": missing or not a string; expected %s", key,
                 accepted);
        return NULL;
    }
    return json_string_value(j);
}

/* The body must be exactly {key: one of vals[0..n)}: the index of the
 * value, or -1 with the message in err. */
static int enum_body(json_t *body, const char *key, const char *const *vals, size_t n,
                     char *err, size_t elen)
{
    char accepted[128] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted),
                 "%s\"%s\"", i ? (i + 1 == n ? " or " : ", ") : "", vals[i]);
    if (!body) {
        snprintf(err, elen, "a body {\"%s\": %s} is required", key, accepted);
        return -1;
    }
    const char *keys[] = { key };
    if (only_keys(body, keys, 1, err, elen))
        return -1;
    const char *v = string_field(body, key, accepted, err, elen);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v, vals[i]))
            return (int)i;
    snprintf(err, elen, "field \"%s\": \"%s\" is not valid; expected %s", key, v,
             accepted);
    return -1;
}

static int patch_vm(void *opaque, json_t *body, json_t **resp, char *err, size_t elen)
{
    struct vm_api *a = opaque;
    (void)resp;
    static const char *const states[] = { "paused", "running" };
    int i = enum_body(body, "state", states, 2, err, elen);
    if (i < 0)
        return 400;
    int rc = i == 0 ? vm_pause(a->vm) : vm_resume(a->vm);
    return rc ? vm_error(a->vm, 409, err, elen) : 204;
}

static int put_actions(void *opaque, json_t *body, json_t **resp, char *err, size_t elen)
{
    struct vm_api *a = opaque;
    static const char *const actions[] = { "poweroff", "reset", "shutdown" };
    int i = enum_body(body, "action", actions, 3, err, elen);
    if (i < 0)
        return 400;
    int rc = i == 0 ? vm_stop(a->vm) : i == 1 ? vm_reset(a->vm) : vm_power_button(a->vm);
    if (rc)
        return vm_error(a->vm, 409, err, elen);
    if (i < 2)
        return 204;
    /* shutdown only pressed the power button: accepted, the guest acts
     * later (or never). */
    *resp = json_pack("{s:s}", "action", "shutdown");
    return 202;
}

static int put_snapshot(void *opaque, json_t *body, json_t **resp, char *err, size_t elen)
{
    struct vm_api *a = opaque;
    static const char *const keys[] = { "path", "type", "resume", "disks" };
    if (!body || only_keys(body, keys, 4, err, elen))
        return body ? 400 : (snprintf(err, elen, "a body {\"path\": ...} is required"), 400);
    const char *path = string_field(body, "path", "a directory path", err, elen);
    if (!path)
        return 400;
    json_t *type = json_object_get(body, "type");
    bool diff = type && json_is_string(type) && !strcmp(json_string_value(type), "diff");
    if (type && !diff && (!json_is_string(type) || strcmp(json_string_value(type), "full"))) {
        snprintf(err, elen, "field \"type\": expected \"full\" or \"diff\"");
        return 400;
    }
    json_t *res = json_object_get(body, "resume");
    if (res && !json_is_boolean(res)) {
        snprintf(err, elen, "field \"resume\": expected true or false");
        return 400;
    }
    bool resume = res && json_is_true(res);
    json_t *disks = json_object_get(body, "disks");
    if (disks && (!json_is_string(disks) || strcmp(json_string_value(disks), "external"))) {
        snprintf(err, elen, "field \"disks\": expected \"external\" (copy writable raw "
                 "disks into the snapshot)");
        return 400;
    }
    unsigned flags = (diff ? VM_SNAP_DIFF : 0) | (disks ? VM_SNAP_DISKS_EXTERNAL : 0);
    bool paused_here = false;
    if (resume && vm_state(a->vm) == VM_STATE_RUNNING) {
        if (vm_pause(a->vm))
            return vm_error(a->vm, 409, err, elen);
        paused_here = true;
    }
    int rc = vm_snapshot(a->vm, path, flags, err, elen);
    if (paused_here && vm_resume(a->vm) && !rc)
        return vm_error(a->vm, 500, err, elen);
    if (rc)
        return rc == -EINVAL || rc == -ENODATA || rc == -ESTALE ? 409 : rc == -ENOTSUP ? 400
             : rc == -EEXIST || rc == -ENOTDIR ? 400 : 500;
    *resp = json_pack("{s:s}", "path", path);
    return 201;
}

/* GET /balloon (docs/api.md "Balloon"): the target, what the driver
 * reached, and the counters; sizes in MiB as Firecracker's balloon API
 * gives them, page counts in 4 KiB pages. */
static int get_balloon(void *opaque, json_t *body, json_t **resp, char *err, size_t elen)
{
    struct vm_api *a = opaque;
    (void)body;
    struct virtio_balloon_stats st;
    if (vm_balloon_stats(a->vm, &st)) {
        snprintf(err, elen, "this VM has no balloon (start it with --balloon)");
        return 404;
    }
    *resp = json_pack("{s:I,s:I,s:b,s:{s:I,s:I,s:I,s:I,s:I}}",
                      "amount_mib", (json_int_t)(st.target_pages >> 8),
                      "actual_mib", (json_int_t)(st.actual_pages >> 8),
                      "free_page_reporting", st.reporting,
                      "stats",
                      "inflated_pages", (json_int_t)st.inflated_pages,
                      "deflated_pages", (json_int_t)st.deflated_pages,
                      "reports", (json_int_t)st.reports,
                      "reported_bytes", (json_int_t)st.reported_bytes,
                      "bad_pfns", (json_int_t)st.bad_pfns);
    return *resp ? 200 : 500;
}

/* PATCH /balloon {"amount_mib": N}: the balloon size the guest is asked
 * to reach (0 gives everything back). */
static int patch_balloon(void *opaque, json_t *body, json_t **resp, char *err, size_t elen)
{
    struct vm_api *a = opaque;
    (void)resp;
    static const char *const keys[] = { "amount_mib" };
    if (!body || only_keys(body, keys, 1, err, elen))
        return body ? 400 : (snprintf(err, elen, "a body {\"amount_mib\": N} is required"), 400);
    json_t *v = json_object_get(body, "amount_mib");
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > (json_int_t)(UINT32_MAX >> 8)) {
        snprintf(err, elen, "field \"amount_mib\": expected a whole number of MiB from 0 "
                 "to the VM's memory size");
        return 400;
    }
    int rc = vm_balloon_set_target(a->vm, (uint64_t)json_integer_value(v) << 8);
    return rc == -EINVAL ? vm_error(a->vm, 400, err, elen)
         : rc ? vm_error(a->vm, 404, err, elen) : 204;
}

static const struct api_route routes[] = {
    { "GET", "/vm", get_vm },
    { "PATCH", "/vm", patch_vm },
    { "PUT", "/actions", put_actions },
    { "PUT", "/snapshot/create", put_snapshot },
    { "GET", "/balloon", get_balloon },
    { "PATCH", "/balloon", patch_balloon },
};

void vm_api_dispatch(struct vm *vm, const struct api_request *rq, struct api_reply *out)
{
    struct vm_api a = { .vm = vm };
    api_dispatch(routes, sizeof(routes) / sizeof(routes[0]), &a, rq, out);
}

int vm_api_start(struct vm *vm, const char *path, struct vm_api **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    struct vm_api *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    a->vm = vm;
    int rc = api_server_start(path, routes, sizeof(routes) / sizeof(routes[0]), a,
                              &a->srv, err, errlen);
    if (rc) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int vm_api_serve(struct vm_api *a)
{
    return api_server_serve(a->srv);
}

void vm_api_stop(struct vm_api *a)
{
    if (!a)
        return;
    api_server_stop(a->srv);
    free(a);
}
