/* Unit tests for the VM's network backends (src/vmm/nics.c) through the
 * vmm/ API: the backend is opened once per VM and outlives the board, so
 * a forwarded host port stays bound across resets, even across a board
 * rebuilt after a failed reset (its new card attaches to the same
 * backend); it is closed with the VM.  A backend or board that refuses
 * the configuration gives vm_create one message, and nothing is printed.
 * The default MAC rule (from the VM's UUID) is pinned, so MACs do not
 * change under existing VMs.
 *
 * The guest program is build/guest/isa/rv64i_alu.elf (or $BUILD_GUEST);
 * it never runs: the VMs stay CREATED. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "vmm/vmm_int.h"

static char guest_elf[2048];

/* A TCP socket bound to 127.0.0.1:port (0: any free port, returned in
 * *port), or -errno. */
static int bind_port(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(*port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static bool port_taken(uint16_t port)
{
    int fd = bind_port(&port);
    if (fd >= 0)
        close(fd);
    return fd == -EADDRINUSE;
}

static uint16_t free_port(void)
{
    uint16_t port = 0;
    int fd = bind_port(&port);
    assert_true(fd >= 0);
    close(fd);
    return port;
}

/* Capture what the library writes on stderr during a call. */
struct quiet {
    int saved, fd;
    char path[64];
};

static void quiet_begin(struct quiet *q)
{
    snprintf(q->path, sizeof(q->path), "/tmp/vessel-test-stderr-XXXXXX");
    q->fd = mkstemp(q->path);
    assert_true(q->fd >= 0);
    fflush(stderr);
    q->saved = dup(2);
    assert_true(q->saved >= 0);
    assert_int_equal(dup2(q->fd, 2), 2);
}

/* Returns the number of bytes written to stderr meanwhile. */
static off_t quiet_end(struct quiet *q)
{
    fflush(stderr);
    assert_int_equal(dup2(q->saved, 2), 2);
    close(q->saved);
    off_t n = lseek(q->fd, 0, SEEK_END);
    close(q->fd);
    unlink(q->path);
    return n;
}

static void test_default_mac_rule(void **state)
{
    /* The values of the rule as it has been (docs/net.md): a VM keeps its
     * MACs (DHCP leases, udev names) across Vessel versions. */
    static const uint8_t want0[6] = { 0x52, 0x54, 0x00, 0x1b, 0x83, 0xf6 };
    static const uint8_t want1[6] = { 0x52, 0x54, 0x00, 0x1b, 0x83, 0xf5 };
    uint8_t a[6], b[6], c[6];
    vmm_nic_default_mac("6f1c3a52-1d0e-4c8b-9f7a-2b5e8d4c1a01", 0, a);
    vmm_nic_default_mac("6f1c3a52-1d0e-4c8b-9f7a-2b5e8d4c1a01", 1, b);
    vmm_nic_default_mac("6f1c3a52-1d0e-4c8b-9f7a-2b5e8d4c1a02", 0, c);
    assert_memory_equal(a, want0, 6);
    assert_memory_equal(b, want1, 6);
    assert_memory_not_equal(a, c, 6);
    assert_int_equal(c[0], 0x52);
    assert_int_equal(c[1], 0x54);
    assert_int_equal(c[2], 0x00);
}

static void base_config(struct vm_config *cfg, const char *bios, const char *const *nets,
                        unsigned nnets)
{
    vm_config_init(cfg);
    cfg->bios = bios;
    cfg->ram_size = 16ULL << 20;
    cfg->nets = nets;
    cfg->nnets = nnets;
}

/* The forward is bound while the VM lives: across vm_reset, across a
 * failed reset (no board) and the rebuild after it, and released by
 * vm_destroy. */
static void test_forward_outlives_board(void **state)
{
    if (access(guest_elf, R_OK))
        skip();
    /* A copy of the program the test can take away and put back. */
    char prog[64] = "/tmp/vessel-test-prog-XXXXXX", gone[80];
    int fd = mkstemp(prog);
    assert_true(fd >= 0);
    FILE *in = fopen(guest_elf, "rb");
    assert_non_null(in);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(write(fd, buf, n), (ssize_t)n);
    fclose(in);
    close(fd);
    snprintf(gone, sizeof(gone), "%s.gone", prog);

    uint16_t port = free_port();
    char spec[128];
    snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%u-:22", port);
    const char *nets[] = { spec, "user" };
    struct vm_config cfg;
    base_config(&cfg, prog, nets, 2);
    struct vm *vm = NULL;
    char err[512] = "";
    int rc = vm_create(&cfg, &vm, err, sizeof(err));
    if (rc)
        fail_msg("vm_create: %d %s", rc, err);
    assert_true(port_taken(port));

    assert_int_equal(vm_reset(vm), 0);
    assert_true(port_taken(port));

    /* A reset that cannot reload the program leaves the VM without a
     * board; the backends stay open. */
    assert_int_equal(rename(prog, gone), 0);
    assert_int_equal(vm_reset(vm), -ENOENT);
    char msg[512];
    vm_last_error(vm, msg, sizeof(msg));
    char want[256];
    snprintf(want, sizeof(want), "reset: cannot reload the boot images: %s: No such file "
             "or directory", prog);
    assert_string_equal(msg, want);
    assert_int_equal(vm_state(vm), VM_STATE_STOPPED);
    assert_true(port_taken(port));

    /* The rebuilt board's cards attach to the same backends. */
    assert_int_equal(rename(gone, prog), 0);
    rc = vm_reset(vm);
    if (rc)
        fail_msg("vm_reset after the rebuild: %d %s", rc, vm_last_error(vm, msg, sizeof(msg)));
    assert_int_equal(vm_state(vm), VM_STATE_CREATED);
    assert_true(port_taken(port));

    vm_destroy(vm);
    assert_false(port_taken(port));
    unlink(prog);
}

/* A failure gives one message in err and prints nothing. */
static void create_fails(const struct vm_config *cfg, int want_rc, const char *want)
{
    struct vm *vm = NULL;
    char err[512] = "";
    struct quiet q;
    quiet_begin(&q);
    int rc = vm_create(cfg, &vm, err, sizeof(err));
    off_t printed = quiet_end(&q);
    if (rc != want_rc || strcmp(err, want))
        fail_msg("vm_create: %d '%s', expected %d '%s'", rc, err, want_rc, want);
    assert_null(vm);
    assert_int_equal(printed, 0);
}

static void test_create_errors(void **state)
{
    if (access(guest_elf, R_OK))
        skip();
    /* The forwarded port is someone else's. */
    uint16_t port = 0;
    int fd = bind_port(&port);
    assert_true(fd >= 0);
    assert_int_equal(listen(fd, 1), 0);
    char spec[128], want[512];
    snprintf(spec, sizeof(spec), "user,hostfwd=tcp::%u-:22", port);
    const char *nets[] = { "user", spec };
    struct vm_config cfg;
    base_config(&cfg, guest_elf, nets, 2);
    snprintf(want, sizeof(want), "--net '%s': cannot forward host port tcp:127.0.0.1:%u: "
             "Address already in use (another program or VM is using it; pick another port)",
             spec, port);
    create_fails(&cfg, -EADDRINUSE, want);
    close(fd);

    /* The board's message, alone. */
    base_config(&cfg, "/nonexistent/guest.elf", NULL, 0);
    create_fails(&cfg, -ENOENT, "/nonexistent/guest.elf: No such file or directory");
    base_config(&cfg, guest_elf, NULL, 0);
    cfg.ram_size = 4096;
    snprintf(want, sizeof(want), "%.400s: segment ", guest_elf);
    struct vm *vm = NULL;
    char err[512] = "";
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), -EFBIG);
    assert_memory_equal(err, want, strlen(want));
    assert_non_null(strstr(err, "is outside RAM"));

    /* vm_dump_dtb: the board's message, alone. */
    base_config(&cfg, guest_elf, NULL, 0);
    assert_int_equal(vm_create(&cfg, &vm, err, sizeof(err)), 0);
    struct quiet q;
    quiet_begin(&q);
    int rc = vm_dump_dtb(vm, "/nonexistent-dir/x.dtb");
    off_t printed = quiet_end(&q);
    assert_int_equal(rc, -ENOENT);
    assert_string_equal(vm_last_error(vm, err, sizeof(err)),
                        "--dump-dtb /nonexistent-dir/x.dtb: No such file or directory");
    assert_int_equal(printed, 0);
    vm_destroy(vm);
}

int main(void)
{
    const char *d = getenv("BUILD_GUEST");
    snprintf(guest_elf, sizeof(guest_elf), "%s/isa/rv64i_alu.elf",
             d && *d ? d : "build/guest");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_mac_rule),
        cmocka_unit_test(test_forward_outlives_board),
        cmocka_unit_test(test_create_errors),
    };
    return cmocka_run_group_tests_name("net_vmm", tests, NULL, NULL);
}
