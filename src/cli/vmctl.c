/* vessel create|list|info|start|stop|kill|pause|resume|reset|delete|edit|
 * console|events|top: thin clients of vesseld's REST API (docs/cli.md).
 *
 * Each command checks its arguments, sends one request and prints the
 * answer: a table or key/value lines for people, the API's own JSON with
 * --json.  The daemon decides everything else; its error message is what
 * the user sees, prefixed with the command, and its HTTP status picks the
 * exit status (vmctl.h VMCTL_EXIT_*). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/vmctl.h"
#include "util/util.h"

#define CALL_TIMEOUT_MS 60000      /* any request but stop */
#define STOP_GRACE_S 30            /* stop: the daemon's timeout plus this */
#define STOP_DEFAULT_S 60

static const char *const commands[] = {
    "create", "list", "info", "start", "stop", "kill", "pause", "resume", "reset",
    "delete", "edit", "console", "events", "top", "balloon",
};

bool cmd_vmctl_is(const char *cmd)
{
    if (!strncmp(cmd, "--socket", 8) || !strcmp(cmd, "--json"))
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (!strcmp(cmd, commands[i]))
            return true;
    return false;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: vessel [--socket PATH] [--json] COMMAND [options]\n"
        "\n"
        "Commands that ask the daemon (vesseld):\n"
        "  create NAME [--memory SIZE] [--cpus N] [--kernel F] [--initrd F]\n"
        "         [--append S] [--firmware F] [--bios F] [--disk SPEC]... [--net SPEC]...\n"
        "         [--autostart] [--restart never|on-failure|always] [--uuid U]\n"
        "         [--balloon off|on|reporting]\n"
        "                     define a VM (options as `vessel run`)\n"
        "  list               the VMs: name, state, vCPUs, memory, uptime, IP\n"
        "  info NAME          one VM in detail\n"
        "  start|kill|pause|resume|reset NAME\n"
        "  stop NAME [--timeout S] [--force]\n"
        "                     power-button stop, hard stop after S seconds (60);\n"
        "                     --force: hard stop now\n"
        "  delete NAME [--keep-disks]\n"
        "  edit NAME [--memory SIZE] [--cpus N] [--autostart on|off]\n"
        "         [--restart never|on-failure|always] [--balloon off|on|reporting]\n"
        "  balloon NAME [--amount MIB]\n"
        "                     the balloon: its target and what the guest gave back;\n"
        "                     --amount asks the guest to give MIB MiB back (0: none)\n"
        "  console NAME       attach to the VM's serial console (C-a x detaches)\n"
        "  events             print life-cycle events as they happen\n"
        "  top [--once] [--interval S]\n"
        "                     per-VM CPU %%, memory, disk and network rates (q quits)\n"
        "\n"
        "  --socket PATH      the daemon's socket (default: $VESSEL_SOCKET, else\n"
        "                     $XDG_RUNTIME_DIR/vessel/vesseld.sock, or\n"
        "                     /run/vessel/vesseld.sock as root)\n"
        "  --json             print the API's JSON instead of tables\n"
        "\n"
        "Exit status: 0 ok, 1 the daemon refused (its message is printed), 2 usage,\n"
        "3 daemon unreachable or not answering HTTP, 4 no such VM, 5 conflict (name\n"
        "exists, or the VM's state does not allow it), 6 permission denied.\n");
}

/* The daemon's default socket (docs/cli.md); buf holds the result. */
static const char *default_socket(char *buf, size_t len)
{
    const char *env = getenv("VESSEL_SOCKET");
    if (env && *env)
        return env;
    if (geteuid() == 0)
        return "/run/vessel/vesseld.sock";
    const char *rt = getenv("XDG_RUNTIME_DIR");
    if (rt && *rt)
        snprintf(buf, len, "%s/vessel/vesseld.sock", rt);
    else
        snprintf(buf, len, "/run/user/%u/vessel/vesseld.sock", (unsigned)geteuid());
    return buf;
}

int vmctl_call_error(const char *what, int rc, const char *err)
{
    vlog_error("%s: %s", what, err);
    if (rc == -EACCES)      /* the socket itself refused us: denied, as a 403 is */
        return VMCTL_EXIT_DENIED;
    return rc == -ENOMEM ? VMCTL_EXIT_API : VMCTL_EXIT_UNREACHABLE;
}

int vmctl_api_error(const char *what, const struct vmctl_parser *p)
{
    char safe[1024];
    json_t *j = p->body ? json_loadb(p->body, p->blen, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(j, "error"));
    if (msg)
        vlog_error("%s: %s", what, vmctl_safe(msg, safe, sizeof(safe)));
    else
        vlog_error("%s: the daemon answered %d %s", what, p->status,
                   vmctl_safe(p->reason, safe, sizeof(safe)));
    json_decref(j);
    switch (p->status) {
    case 404: return VMCTL_EXIT_NOT_FOUND;
    case 409: return VMCTL_EXIT_CONFLICT;
    case 403: return VMCTL_EXIT_DENIED;
    default: return VMCTL_EXIT_API;
    }
}

/* One request; on success *ans holds the parsed JSON answer (NULL for a
 * body-less answer) and, with --json, the body has been printed.  Returns
 * an exit status. */
static int request(const struct vmctl_opts *o, const char *what, const char *method,
                   const char *target, const char *body, int timeout_ms, json_t **ans)
{
    struct vmctl_parser p = { 0 };
    char err[512];
    int rc = vmctl_call(o->sock, method, target, body, timeout_ms, &p, err, sizeof(err));
    *ans = NULL;
    if (rc) {
        vmctl_parse_free(&p);
        return vmctl_call_error(what, rc, err);
    }
    if (p.status >= 300 || p.status < 200) {
        rc = vmctl_api_error(what, &p);
        vmctl_parse_free(&p);
        return rc;
    }
    if (p.blen) {
        json_error_t je;
        *ans = json_loadb(p.body, p.blen, 0, &je);
        if (!*ans) {
            vlog_error("%s: the daemon's answer is not JSON: %s (line %d)", what, je.text,
                       je.line);
            vmctl_parse_free(&p);
            return VMCTL_EXIT_UNREACHABLE;
        }
        if (o->json)
            printf("%s%s", p.body, p.body[p.blen - 1] == '\n' ? "" : "\n");
    }
    vmctl_parse_free(&p);
    return VMCTL_EXIT_OK;
}

enum { O_SOCKET = 1000, O_JSON, O_HELP, O_FORCE, O_TIMEOUT, O_KEEP_DISKS, O_MEMORY, O_CPUS,
       O_AUTOSTART, O_RESTART, O_BALLOON, O_AMOUNT };

/* Command-line state of one command. */
struct args {
    struct vmctl_opts *o;
    const char *name;           /* the one positional argument, if any */
    bool force, keep_disks, help;
    const char *timeout, *memory, *cpus, *autostart, *restart, *balloon, *amount;
};

/* getopt over argv (argv[0] the command) with --socket, --json, --help
 * and the command's `own` options; `npos` positionals (the VM's
 * name), exactly.  Returns 0 or VMCTL_EXIT_USAGE (printed). */
static int parse(int argc, char **argv, const struct option *own, unsigned npos,
                 struct args *a)
{
    struct option lo[16] = {
        { "socket", required_argument, NULL, O_SOCKET },
        { "json", no_argument, NULL, O_JSON },
        { "help", no_argument, NULL, O_HELP },
    };
    unsigned n = 3;
    for (; own && own[n - 3].name && n < ARRAY_SIZE(lo) - 1; n++)
        lo[n] = own[n - 3];
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case O_SOCKET: a->o->sock = optarg; break;
        case O_JSON: a->o->json = true; break;
        case 'h': case O_HELP: a->help = true; break;
        case O_FORCE: a->force = true; break;
        case O_KEEP_DISKS: a->keep_disks = true; break;
        case O_TIMEOUT: a->timeout = optarg; break;
        case O_MEMORY: a->memory = optarg; break;
        case O_CPUS: a->cpus = optarg; break;
        case O_AUTOSTART: a->autostart = optarg; break;
        case O_RESTART: a->restart = optarg; break;
        case O_BALLOON: a->balloon = optarg; break;
        case O_AMOUNT: a->amount = optarg; break;
        case ':':
            vlog_error("%s: %s needs a value", argv[0], argv[optind - 1]);
            return VMCTL_EXIT_USAGE;
        default:
            vlog_error("%s: unknown option '%s' (vessel --help lists them)", argv[0],
                       argv[optind - 1]);
            return VMCTL_EXIT_USAGE;
        }
    }
    if (a->help)
        return 0;
    if ((unsigned)(argc - optind) != npos) {
        vlog_error("%s: expected %s", argv[0], npos ? "one VM name" : "no arguments");
        return VMCTL_EXIT_USAGE;
    }
    if (npos) {
        a->name = argv[optind];
        if (!vmctl_name_ok(a->name)) {
            vlog_error("%s: VM name '%s': expected 1 to 63 of A-Z a-z 0-9 . _ -, starting "
                       "with a letter or digit", argv[0], a->name);
            return VMCTL_EXIT_USAGE;
        }
    }
    return 0;
}

/* "NAME: STATE" after a state change or an edit. */
static void print_state(const struct vmctl_opts *o, json_t *vm, const char *name)
{
    char b[256];
    if (o->json || !vm)
        return;
    const char *st = json_string_value(json_object_get(vm, "state"));
    printf("%s: %s\n", name, vmctl_safe(st ? st : "?", b, sizeof(b)));
}

static int do_list(struct args *a)
{
    json_t *ans;
    int rc = request(a->o, "list", "GET", "/vms", NULL, CALL_TIMEOUT_MS, &ans);
    if (rc || a->o->json) {
        json_decref(ans);
        return rc;
    }
    char err[256];
    char *s = vmctl_list_format(ans, err, sizeof(err));
    json_decref(ans);
    if (!s) {
        vlog_error("list: %s", err);
        return VMCTL_EXIT_UNREACHABLE;
    }
    fputs(s, stdout);
    free(s);
    return 0;
}

static int do_info(struct args *a)
{
    char target[128], what[128];
    json_t *ans;
    snprintf(target, sizeof(target), "/vms/%s", a->name);
    snprintf(what, sizeof(what), "info %s", a->name);
    int rc = request(a->o, what, "GET", target, NULL, CALL_TIMEOUT_MS, &ans);
    if (!rc && !a->o->json) {
        char *s = vmctl_info_format(ans);
        if (s)
            fputs(s, stdout);
        free(s);
    }
    json_decref(ans);
    return rc;
}

/* balloon NAME [--amount MIB]: GET, or PATCH then GET, /vms/NAME/balloon. */
static int do_balloon(struct args *a)
{
    char target[128], what[128], body[64];
    json_t *ans = NULL;
    int rc;
    snprintf(target, sizeof(target), "/vms/%s/balloon", a->name);
    snprintf(what, sizeof(what), "balloon %s", a->name);
    if (a->amount) {
        uint64_t v;
        if (parse_u64(a->amount, &v) || v > (1ULL << 30)) {
            vlog_error("balloon %s: --amount '%s': expected whole MiB, 0 to the VM's memory",
                       a->name, a->amount);
            return VMCTL_EXIT_USAGE;
        }
        snprintf(body, sizeof(body), "{\"amount_mib\":%llu}", (unsigned long long)v);
        if ((rc = request(a->o, what, "PATCH", target, body, CALL_TIMEOUT_MS, &ans)))
            return rc;
        json_decref(ans);
        ans = NULL;
    }
    rc = request(a->o, what, "GET", target, NULL, CALL_TIMEOUT_MS, &ans);
    if (!rc && !a->o->json) {
        json_t *st = json_object_get(ans, "stats");
        printf("%s: balloon target %lld MiB, the guest gave back %lld MiB; free page "
               "reporting %s (%lld MiB reported)\n", a->name,
               (long long)json_integer_value(json_object_get(ans, "amount_mib")),
               (long long)json_integer_value(json_object_get(ans, "actual_mib")),
               json_is_true(json_object_get(ans, "free_page_reporting")) ? "on" : "off",
               (long long)(json_integer_value(json_object_get(st, "reported_bytes")) >> 20));
    }
    json_decref(ans);
    return rc;
}

static int do_state(struct args *a, const char *cmd)
{
    char target[128], what[128], body[128];
    const char *action = cmd;
    int timeout_ms = CALL_TIMEOUT_MS;
    snprintf(body, sizeof(body), "{\"action\":\"%s\"}", action);
    if (!strcmp(cmd, "stop")) {
        uint64_t t = STOP_DEFAULT_S;
        if (a->timeout && (parse_u64(a->timeout, &t) || t > 86400)) {
            vlog_error("stop: --timeout '%s': expected whole seconds, 0 to 86400", a->timeout);
            return VMCTL_EXIT_USAGE;
        }
        if (a->force && a->timeout) {
            vlog_error("stop: --force stops at once; it takes no --timeout");
            return VMCTL_EXIT_USAGE;
        }
        if (a->force)
            snprintf(body, sizeof(body), "{\"action\":\"kill\"}");
        else if (a->timeout)
            snprintf(body, sizeof(body), "{\"action\":\"stop\",\"timeout\":%llu}",
                     (unsigned long long)t);
        timeout_ms = (int)(t + STOP_GRACE_S) * 1000;
    }
    snprintf(target, sizeof(target), "/vms/%s/state", a->name);
    snprintf(what, sizeof(what), "%s %s", cmd, a->name);
    json_t *ans;
    int rc = request(a->o, what, "PUT", target, body, timeout_ms, &ans);
    if (!rc)
        print_state(a->o, ans, a->name);
    json_decref(ans);
    return rc;
}

static int do_delete(struct args *a)
{
    char target[128], what[128];
    json_t *ans;
    snprintf(target, sizeof(target), "/vms/%s%s", a->name,
             a->keep_disks ? "?keep_disks=true" : "");
    snprintf(what, sizeof(what), "delete %s", a->name);
    int rc = request(a->o, what, "DELETE", target, NULL, CALL_TIMEOUT_MS, &ans);
    json_decref(ans);
    if (!rc && !a->o->json)
        printf("%s: deleted%s\n", a->name, a->keep_disks ? " (disk images kept)" : "");
    return rc;
}

static int do_edit(struct args *a)
{
    json_t *body = json_object();
    uint64_t v;
    int rc = VMCTL_EXIT_USAGE;
    if (!body)
        return VMCTL_EXIT_API;
    if (a->memory) {
        if (vmctl_parse_memory(a->memory, &v) || v > (uint64_t)INT64_MAX) {
            vlog_error("edit %s: --memory '%s': expected decimal digits with an optional K, "
                       "M, G or T suffix (plain number: MiB)", a->name, a->memory);
            goto out;
        }
        json_object_set_new(body, "memory", json_integer((json_int_t)v));
    }
    if (a->cpus) {
        if (parse_u64(a->cpus, &v) || !v || v > 16) {
            vlog_error("edit %s: --cpus '%s': expected 1 to 16", a->name, a->cpus);
            goto out;
        }
        json_object_set_new(body, "vcpus", json_integer((json_int_t)v));
    }
    if (a->autostart) {
        if (strcmp(a->autostart, "on") && strcmp(a->autostart, "off")) {
            vlog_error("edit %s: --autostart '%s': expected on or off", a->name, a->autostart);
            goto out;
        }
        json_object_set_new(body, "autostart", json_boolean(!strcmp(a->autostart, "on")));
    }
    if (a->restart) {
        if (strcmp(a->restart, "never") && strcmp(a->restart, "on-failure") &&
            strcmp(a->restart, "always")) {
            vlog_error("edit %s: --restart '%s': expected never, on-failure or always",
                       a->name, a->restart);
            goto out;
        }
        json_object_set_new(body, "restart", json_string(a->restart));
    }
    if (a->balloon) {
        if (strcmp(a->balloon, "off") && strcmp(a->balloon, "on") &&
            strcmp(a->balloon, "reporting")) {
            vlog_error("edit %s: --balloon '%s': expected off, on or reporting", a->name,
                       a->balloon);
            goto out;
        }
        json_object_set_new(body, "balloon", json_string(a->balloon));
    }
    if (!json_object_size(body)) {
        vlog_error("edit %s: nothing to change: give --memory, --cpus, --autostart, "
                   "--restart or --balloon", a->name);
        goto out;
    }
    char target[128], what[128];
    char *s = json_dumps(body, JSON_COMPACT);
    json_t *ans = NULL;
    snprintf(target, sizeof(target), "/vms/%s", a->name);
    snprintf(what, sizeof(what), "edit %s", a->name);
    rc = s ? request(a->o, what, "PATCH", target, s, CALL_TIMEOUT_MS, &ans) : VMCTL_EXIT_API;
    if (!rc && !a->o->json) {
        char *info = vmctl_info_format(ans);
        if (info)
            fputs(info, stdout);
        free(info);
    }
    json_decref(ans);
    free(s);
out:
    json_decref(body);
    return rc;
}

static int do_create(int argc, char **argv, struct vmctl_opts *o)
{
    char err[1024], cwd[4096];
    json_t *doc;
    if (!getcwd(cwd, sizeof(cwd))) {
        vlog_error("create: cannot read the working directory: %s", strerror(errno));
        return VMCTL_EXIT_USAGE;
    }
    if (vmctl_create_json(argc, argv, cwd, o, &doc, err, sizeof(err))) {
        vlog_error("create: %s", err);
        return VMCTL_EXIT_USAGE;
    }
    const char *name = json_string_value(json_object_get(doc, "name"));
    char what[128];
    snprintf(what, sizeof(what), "create %s", name);
    char *s = json_dumps(doc, JSON_COMPACT);
    json_t *ans = NULL;
    int rc = s ? request(o, what, "POST", "/vms", s, CALL_TIMEOUT_MS, &ans) : VMCTL_EXIT_API;
    if (!rc && !o->json) {
        const char *uuid = json_string_value(json_object_get(ans, "uuid"));
        printf("%s: created%s%s\n", name, uuid ? ", uuid " : "", uuid ? uuid : "");
    }
    json_decref(ans);
    free(s);
    json_decref(doc);
    return rc;
}

int cmd_vmctl(int argc, char **argv)
{
    char sockbuf[4200];
    struct vmctl_opts o = { 0 };
    int i = 0;
    /* Global options before the command. */
    while (i < argc && argv[i][0] == '-') {
        if (!strcmp(argv[i], "--json")) {
            o.json = true;
            i++;
        } else if (!strncmp(argv[i], "--socket=", 9)) {
            o.sock = argv[i++] + 9;
        } else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
            o.sock = argv[i + 1];
            i += 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--socket")) {
            vlog_error("--socket needs a value: the daemon's socket");
            return VMCTL_EXIT_USAGE;
        } else {
            vlog_error("unknown option '%s' before the command", argv[i]);
            return VMCTL_EXIT_USAGE;
        }
    }
    if (i == argc) {
        usage(stderr);
        return VMCTL_EXIT_USAGE;
    }
    argc -= i;
    argv += i;
    const char *cmd = argv[0];
    if (!cmd_vmctl_is(cmd) || cmd[0] == '-') {
        vlog_error("unknown command '%s' (vessel --help lists them)", cmd);
        return VMCTL_EXIT_USAGE;
    }
    /* The default first: a --socket after the command overrides it. */
    if (!o.sock)
        o.sock = default_socket(sockbuf, sizeof(sockbuf));
    if (!strcmp(cmd, "create")) {
        for (int k = 1; k < argc; k++)
            if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
                usage(stdout);
                return 0;
            }
        return do_create(argc, argv, &o);
    }
    if (!strcmp(cmd, "top"))
        return vmctl_top(&o, argc, argv);
    static const struct option stop_opts[] = {
        { "force", no_argument, NULL, O_FORCE },
        { "timeout", required_argument, NULL, O_TIMEOUT }, { 0 },
    };
    static const struct option delete_opts[] = {
        { "keep-disks", no_argument, NULL, O_KEEP_DISKS }, { 0 },
    };
    static const struct option edit_opts[] = {
        { "memory", required_argument, NULL, O_MEMORY },
        { "cpus", required_argument, NULL, O_CPUS },
        { "autostart", required_argument, NULL, O_AUTOSTART },
        { "restart", required_argument, NULL, O_RESTART },
        { "balloon", required_argument, NULL, O_BALLOON }, { 0 },
    };
    static const struct option balloon_opts[] = {
        { "amount", required_argument, NULL, O_AMOUNT }, { 0 },
    };
    struct args a = { .o = &o };
    int rc;
    if (!strcmp(cmd, "list") || !strcmp(cmd, "events")) {
        rc = parse(argc, argv, NULL, 0, &a);
    } else if (!strcmp(cmd, "stop")) {
        rc = parse(argc, argv, stop_opts, 1, &a);
    } else if (!strcmp(cmd, "delete")) {
        rc = parse(argc, argv, delete_opts, 1, &a);
    } else if (!strcmp(cmd, "edit")) {
        rc = parse(argc, argv, edit_opts, 1, &a);
    } else if (!strcmp(cmd, "balloon")) {
        rc = parse(argc, argv, balloon_opts, 1, &a);
    } else {
        rc = parse(argc, argv, NULL, 1, &a);
    }
    if (rc)
        return rc;
    if (a.help) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "list"))
        return do_list(&a);
    if (!strcmp(cmd, "info"))
        return do_info(&a);
    if (!strcmp(cmd, "delete"))
        return do_delete(&a);
    if (!strcmp(cmd, "edit"))
        return do_edit(&a);
    if (!strcmp(cmd, "console"))
        return vmctl_console(&o, a.name);
    if (!strcmp(cmd, "events"))
        return vmctl_events(&o);
    if (!strcmp(cmd, "balloon"))
        return do_balloon(&a);
    return do_state(&a, cmd);
}
