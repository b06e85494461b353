/* libFuzzer target: vesseld's request handling (docs/daemon-api.yaml)
 * between the HTTP server and the store: routing, the body checks (size
 * bound, JSON object, duplicate keys), every handler's validation, and
 * the store's create / patch / delete on a temporary store.  No process
 * is ever started (the `vessel` binary is a path that does not exist, so
 * a start fails before any fork).
 *
 * Input: a request line "METHOD PATH[ keep_disks=VALUE][ big]\n", then
 * the body's bytes (no newline: no body).  " big" stands for a body past
 * the 1 MiB bound.  A VM named "a" exists before each request.  Every
 * answer must be a status 100..599; an error must carry {"error":
 * "<non-empty text>"}; a VM listed must have a bundle with a vm.json that
 * loads; nothing may crash or leak. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "daemon/daemon_int.h"

static struct vesseld d;

static void init(void)
{
    /* In the working directory: the runner's temporary directory. */
    char tmpl[] = "dfuzz-store.XXXXXX", err[512];
    if (!mkdtemp(tmpl))
        abort();
    if (asprintf(&d.store, "%s/store", tmpl) < 0)
        abort();
    d.vessel = strdup("/nonexistent/vessel");
    d.socket = strdup("/nonexistent/vesseld.sock");
    d.wake_fd = -1;
    pthread_mutex_init(&d.lock, NULL);
    pthread_cond_init(&d.changed, NULL);
    if (events_new(&d.events) || store_open(&d, err, sizeof(err)))
        abort();
}

static void ensure_a(void)
{
    pthread_mutex_lock(&d.lock);
    bool have = store_find(&d, "a") != NULL;
    pthread_mutex_unlock(&d.lock);
    if (have)
        return;
    json_t *doc = json_pack("{s:s,s:{s:s}}", "name", "a", "boot", "bios", "x.elf");
    struct dvm *vm;
    char err[512];
    if (store_create(&d, doc, &vm, err, sizeof(err)))
        abort();
    json_decref(doc);
}

/* Keep the store small: only "a" survives a request. */
static void prune(void)
{
    char err[512];
    pthread_mutex_lock(&d.lock);
    for (struct dvm *vm = d.vms, *next; vm; vm = next) {
        next = vm->next;
        struct vmdef def;
        if (vm->state != DVM_BROKEN && vmdef_load(vm->dir, &def, err, sizeof(err)))
            abort();    /* a listed VM's vm.json must load */
        if (vm->state != DVM_BROKEN)
            vmdef_free(&def);
        if (strcmp(vm->name, "a") && store_delete(&d, vm, false, err, sizeof(err)))
            abort();
    }
    pthread_mutex_unlock(&d.lock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        init();
        ready = true;
    }
    const uint8_t *nl = memchr(data, '\n', size);
    size_t llen = nl ? (size_t)(nl - data) : size;
    if (llen > 300)
        return 0;
    char line[301];
    memcpy(line, data, llen);
    line[llen] = 0;
    if (strlen(line) != llen)
        return 0;   /* a NUL in the request line: the server never passes one */
    char *method = line, *path = strchr(line, ' ');
    if (!path)
        return 0;
    *path++ = 0;
    bool big = false;
    const char *keep = NULL;
    char *sp;
    while ((sp = strrchr(path, ' '))) {
        *sp = 0;
        if (!strcmp(sp + 1, "big"))
            big = true;
        else if (!strncmp(sp + 1, "keep_disks=", 11))
            keep = sp + 12;
    }
    ensure_a();
    struct rest_http h = { .method = method, .path = path, .keep_disks = keep,
                           .body = nl ? (const char *)nl + 1 : NULL,
                           .len = nl ? size - llen - 1 : 0 };
    if (big)
        h.len = VESSELD_MAX_BODY + 1u;
    struct rest_reply rp;
    char allow[64];
    rest_dispatch(&d, &h, &rp, allow, sizeof(allow));
    rest_reply_finish(&rp);
    if (rp.status < 100 || rp.status > 599)
        abort();
    if (rp.status >= 400) {
        const char *e = json_string_value(json_object_get(rp.json, "error"));
        if (!e || !*e)
            abort();
    }
    if (rp.raw)
        MHD_destroy_response(rp.raw);
    free(rp.text);
    json_decref(rp.json);
    prune();
    return 0;
}
