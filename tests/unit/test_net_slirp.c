/* Unit tests for net/slirp.c: the user-mode backend, opened as the VMM
 * opens it (a parsed spec) with a sink attached as its receiver, driven
 * with hand-built Ethernet frames (ARP, DHCP) and host sockets on
 * 127.0.0.1 only; its saved state (a DHCP lease carried into a fresh
 * backend, byte-identical saves, hostile sections refused unchanged). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "net/net.h"
#include "util/sstate.h"

static const uint8_t GUEST_MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* Frames the backend delivered, kept for the test thread. */
#define MAX_RX 64
struct sink {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned n;
    size_t len[MAX_RX];
    uint8_t buf[MAX_RX][NET_MAX_FRAME];
};

static void sink_rx(void *opaque, const uint8_t *frame, size_t len)
{
    struct sink *s = opaque;
    assert_true(len > 0 && len <= NET_MAX_FRAME);
    pthread_mutex_lock(&s->lock);
    if (s->n < MAX_RX) {
        memcpy(s->buf[s->n], frame, len);
        s->len[s->n] = len;
        s->n++;
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

typedef bool (*match_fn)(const uint8_t *f, size_t len);

/* Wait (condition variable, 10 s deadline) for a frame that matches;
 * returns its index or -1. */
static int sink_wait(struct sink *s, match_fn match)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    unsigned seen = 0;
    int found = -1;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        for (; seen < s->n; seen++) {
            if (match(s->buf[seen], s->len[seen])) {
                found = (int)seen;
                break;
            }
        }
        if (found >= 0)
            break;
        if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

static int setup(void **state)
{
    struct sink *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct sink *s = *state;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
    return 0;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 255; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static size_t build_arp_request(uint8_t *f, uint32_t spa, uint32_t tpa)
{
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, GUEST_MAC, 6);
    put16(f + 12, 0x0806);
    uint8_t *a = f + 14;
    put16(a, 1);                /* Ethernet */
    put16(a + 2, 0x0800);       /* IPv4 */
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);            /* request */
    memcpy(a + 8, GUEST_MAC, 6);
    put32(a + 14, spa);
    put32(a + 24, tpa);
    return 60;
}

static bool is_arp_reply_from_gw(const uint8_t *f, size_t len)
{
    return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2 &&
           get32(f + 28) == 0x0a000202 && memcmp(f, GUEST_MAC, 6) == 0;
}

static bool is_arp_who_has_guest(const uint8_t *f, size_t len)
{
    return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 1 &&
           get32(f + 38) == 0x0a00020f;
}

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += get16(p + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* A DHCPDISCOVER from 0.0.0.0:68 to 255.255.255.255:67, from `mac`. */
static size_t build_dhcp_discover_from(uint8_t *f, const uint8_t mac[6])
{
    const size_t bootp_len = 548, udp_len = 8 + bootp_len, ip_len = 20 + udp_len;
    memset(f, 0, 14 + ip_len);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)ip_len);
    ip[8] = 64;
    ip[9] = 17;
    put32(ip + 16, 0xffffffff);
    put16(ip + 10, ip_csum(ip, 20));
    uint8_t *udp = ip + 20;
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, (uint16_t)udp_len);  /* checksum 0: none */
    uint8_t *b = udp + 8;
    b[0] = 1;                   /* BOOTREQUEST */
    b[1] = 1;
    b[2] = 6;
    put32(b + 4, 0x12345678);   /* xid */
    memcpy(b + 28, mac, 6);
    put32(b + 236, 0x63825363); /* magic cookie */
    b[240] = 53; b[241] = 1; b[242] = 1;    /* DHCPDISCOVER */
    b[243] = 255;
    return 14 + ip_len;
}

static size_t build_dhcp_discover(uint8_t *f)
{
    return build_dhcp_discover_from(f, GUEST_MAC);
}

static bool is_dhcp_offer(const uint8_t *f, size_t len)
{
    if (len < 14 + 20 + 8 + 240 || get16(f + 12) != 0x0800 || f[23] != 17)
        return false;
    const uint8_t *udp = f + 14 + (f[14] & 15) * 4;
    const uint8_t *b = udp + 8;
    return get16(udp) == 67 && get16(udp + 2) == 68 && b[0] == 2 &&
           get32(b + 4) == 0x12345678;
}

/* Parse and open `spec`, then attach the sink.  Returns the errno of the
 * parse or the open (message in err), 0 with the backend in *out. */
static int open_spec(const char *spec, struct sink *s, struct net_backend **out,
                     char *err, size_t errlen)
{
    struct net_spec ns;
    *out = (void *)1;
    int rc = net_spec_parse(spec, &ns, err, errlen);
    if (rc)
        return rc;
    rc = net_open(&ns, spec, out, err, errlen);
    if (!rc)
        assert_int_equal(net_attach(*out, sink_rx, s), 0);
    return rc;
}

static struct net_backend *open_ok(const char *spec, struct sink *s)
{
    struct net_backend *be = NULL;
    char err[512];
    int rc = open_spec(spec, s, &be, err, sizeof(err));
    if (rc)
        fail_msg("net_open('%s') = %d: %s", spec, rc, err);
    assert_non_null(be);
    return be;
}

static void test_arp_gateway(void **state)
{
    struct sink *s = *state;
    struct net_backend *be = open_ok("user", s);
    uint8_t f[60];
    size_t n = build_arp_request(f, 0x0a00020f, 0x0a000202);
    assert_int_equal(net_send(be, f, n), 0);
    int i = sink_wait(s, is_arp_reply_from_gw);
    assert_true(i >= 0);
    /* The reply names the gateway's MAC in the sender field. */
    assert_memory_equal(s->buf[i] + 6, s->buf[i] + 22, 6);
    struct net_stats st;
    net_get_stats(be, &st);
    assert_int_equal(st.tx_frames, 1);
    assert_true(st.rx_frames >= 1);
    net_close(be);
}

static void test_dhcp_offer(void **state)
{
    struct sink *s = *state;
    struct net_backend *be = open_ok("user", s);
    uint8_t f[NET_MAX_FRAME];
    size_t n = build_dhcp_discover(f);
    assert_int_equal(net_send(be, f, n), 0);
    int i = sink_wait(s, is_dhcp_offer);
    assert_true(i >= 0);
    const uint8_t *b = s->buf[i] + 14 + 20 + 8;
    assert_int_equal(get32(b + 16), 0x0a00020f);    /* yiaddr 10.0.2.15 */
    net_close(be);
}

static void test_bad_lengths(void **state)
{
    struct sink *s = *state;
    struct net_backend *be = open_ok("user", s);
    uint8_t f[NET_MAX_FRAME + 1] = { 0 };
    assert_int_equal(net_send(be, f, 0), -EMSGSIZE);
    assert_int_equal(net_send(be, f, NET_MAX_FRAME + 1), -EMSGSIZE);
    /* Garbage of legal length: slirp drops it, nothing breaks. */
    for (size_t len = 1; len < 80; len += 7)
        assert_int_equal(net_send(be, f, len), 0);
    struct net_stats st;
    net_get_stats(be, &st);
    assert_int_equal(st.tx_dropped, 2);
    /* Still alive: ARP works after the garbage. */
    size_t n = build_arp_request(f, 0x0a00020f, 0x0a000202);
    assert_int_equal(net_send(be, f, n), 0);
    assert_true(sink_wait(s, is_arp_reply_from_gw) >= 0);
    net_close(be);
}

/* Close with frames still queued: nothing leaks (ASan), nothing hangs. */
static void test_close_with_queue(void **state)
{
    struct sink *s = *state;
    struct net_backend *be = open_ok("user", s);
    uint8_t f[60];
    size_t n = build_arp_request(f, 0x0a00020f, 0x0a000202);
    unsigned refused = 0;
    for (int i = 0; i < 2 * NET_TX_QUEUE_MAX; i++)
        if (net_send(be, f, n) == -ENOBUFS)
            refused++;
    struct net_stats st;
    net_get_stats(be, &st);
    assert_int_equal(st.tx_frames + st.tx_dropped, 2 * NET_TX_QUEUE_MAX);
    assert_int_equal(st.tx_dropped, refused);
    net_close(be);
    net_close(NULL);
}

/* The backend outlives its receiver: detached, it stays open; a new
 * receiver (the NIC of a rebuilt board) gets the replies from then on. */
static void test_reattach(void **state)
{
    struct sink *s = *state;
    struct net_backend *be = open_ok("user", s);
    uint8_t f[60];
    size_t n = build_arp_request(f, 0x0a00020f, 0x0a000202);
    assert_int_equal(net_send(be, f, n), 0);
    assert_true(sink_wait(s, is_arp_reply_from_gw) >= 0);
    net_detach(be);

    struct sink s2 = { .n = 0 };
    pthread_mutex_init(&s2.lock, NULL);
    pthread_cond_init(&s2.cond, NULL);
    assert_int_equal(net_attach(be, sink_rx, &s2), 0);
    assert_int_equal(net_attach(be, sink_rx, s), -EBUSY);
    assert_int_equal(net_send(be, f, n), 0);
    assert_true(sink_wait(&s2, is_arp_reply_from_gw) >= 0);
    net_detach(be);
    net_close(be);
    pthread_mutex_destroy(&s2.lock);
    pthread_cond_destroy(&s2.cond);
}

/* A free TCP port on 127.0.0.1 (bound then released). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_hostfwd_port_in_use(void **state)
{
    struct sink *s = *state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    char spec[128], err[512], want[512];
    snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%d-:22", ntohs(a.sin_port));
    struct net_backend *be = (void *)1;
    assert_int_equal(open_spec(spec, s, &be, err, sizeof(err)), -EADDRINUSE);
    assert_null(be);
    /* One line naming the spec and the port, as `vessel run` shows it. */
    snprintf(want, sizeof(want), "--net '%s': cannot forward host port tcp:127.0.0.1:%d: "
             "Address already in use (another program or VM is using it; pick another "
             "port)", spec, ntohs(a.sin_port));
    assert_string_equal(err, want);
    close(fd);

    /* Not an address of this host (TEST-NET-1, never reached: bind fails),
     * unless the host allows non-local binds. */
    FILE *nl = fopen("/proc/sys/net/ipv4/ip_nonlocal_bind", "r");
    int nonlocal = 0;
    if (nl) {
        if (fscanf(nl, "%d", &nonlocal) != 1)
            nonlocal = 0;
        fclose(nl);
    }
    if (!nonlocal) {
        assert_int_equal(open_spec("user,hostfwd=tcp:192.0.2.1:2222-:22", s, &be, err,
                                   sizeof(err)), -EADDRNOTAVAIL);
        assert_non_null(strstr(err, "(not an address of this host)"));
    }
    /* A parsed spec of a kind no backend implements. */
    struct net_spec ns = { .kind = (enum net_kind)99 };
    assert_int_equal(net_open(&ns, "odd", &be, err, sizeof(err)), -EINVAL);
    assert_null(be);
    assert_string_equal(err, "--net 'odd': unsupported backend (kind 99)");
}

/* A connection to a forwarded host port makes slirp look for the guest:
 * it ARPs for 10.0.2.15 (the poll loop accepted the connection). */
static void test_hostfwd_accepts(void **state)
{
    struct sink *s = *state;
    int port = free_port();
    char spec[128];
    snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%d-:7777,mac=52:54:00:12:34:56", port);
    struct net_backend *be = open_ok(spec, s);

    /* The port is taken now: a second backend cannot forward it. */
    struct net_backend *be2 = NULL;
    char err[512];
    assert_int_equal(open_spec(spec, s, &be2, err, sizeof(err)), -EADDRINUSE);
    assert_null(be2);

    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c >= 0);
    fcntl(c, F_SETFL, O_NONBLOCK);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int rc = connect(c, (struct sockaddr *)&a, sizeof(a));
    assert_true(rc == 0 || errno == EINPROGRESS);
    assert_true(sink_wait(s, is_arp_who_has_guest) >= 0);
    close(c);
    net_close(be);
}

/* ---- saved state (net_save / net_restore, section "slirp") ---- */

static const uint8_t OTHER_MAC[6] = { 0x52, 0x54, 0x00, 0x65, 0x43, 0x21 };

/* Ask for an address from `mac`; returns the offered one (0: none). */
static uint32_t dhcp_offer_for(struct sink *s, struct net_backend *be, const uint8_t mac[6])
{
    pthread_mutex_lock(&s->lock);
    s->n = 0;
    pthread_mutex_unlock(&s->lock);
    uint8_t f[NET_MAX_FRAME];
    size_t n = build_dhcp_discover_from(f, mac);
    assert_int_equal(net_send(be, f, n), 0);
    int i = sink_wait(s, is_dhcp_offer);
    if (i < 0)
        return 0;
    return get32(s->buf[i] + 14 + 20 + 8 + 16);        /* yiaddr */
}

static void save(struct net_backend *be, struct sstate_writer *w)
{
    sstate_writer_init(w);
    assert_int_equal(net_save(be, w), 0);
}

static int restore(struct net_backend *be, const void *buf, size_t len)
{
    struct sstate_reader r;
    sstate_reader_init(&r, buf, len);
    int rc = net_restore(be, &r);
    if (!rc)
        assert_int_equal(r.pos, len);
    return rc;
}

static void assert_saves(struct net_backend *be, const struct sstate_writer *want)
{
    struct sstate_writer w;
    save(be, &w);
    assert_int_equal(w.len, want->len);
    assert_memory_equal(w.buf, want->buf, w.len);
    sstate_writer_free(&w);
}

/* Layout of the section (net/slirp.c): header, u32 libslirp state
 * version, u32 n, n bytes. */
#define SL_VER  (SSTATE_HDR_LEN + 0)
#define SL_LEN  (SSTATE_HDR_LEN + 4)
#define SL_DATA (SSTATE_HDR_LEN + 8)

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A "slirp" section with the given fields (payload n bytes of data). */
static void build_section(struct sstate_writer *w, uint32_t sv, uint32_t len_field,
                          const uint8_t *data, size_t n)
{
    sstate_writer_init(w);
    sstate_begin(w, "slirp", 1);
    sstate_put_u32(w, sv);
    sstate_put_u32(w, len_field);
    sstate_put_bytes(w, data, n);
    assert_int_equal(sstate_end(w), 0);
}

/* A lease given by one backend comes back in another: saved, restored
 * into a fresh one, saved again, the bytes are identical; the restored
 * backend offers the guest's MAC its old address and another MAC the
 * next one, as the first backend does. */
static void test_state_round_trip(void **state)
{
    struct sink *s = *state;
    struct net_backend *a = open_ok("user", s);
    assert_int_equal(dhcp_offer_for(s, a, GUEST_MAC), 0x0a00020f);
    struct sstate_writer sa;
    save(a, &sa);
    assert_memory_equal(sa.buf, "slirp\0\0\0", 8);
    uint32_t n = le32(sa.buf + SL_LEN);
    assert_int_equal(sa.len, SL_DATA + n);
    assert_int_equal(sa.buf[SL_DATA], 0);               /* no socket records */
    assert_non_null(memmem(sa.buf + SL_DATA, n, GUEST_MAC, 6)); /* the lease */
    assert_saves(a, &sa);                               /* saving changes nothing */

    struct sink s2 = { .n = 0 };
    pthread_mutex_init(&s2.lock, NULL);
    pthread_cond_init(&s2.cond, NULL);
    struct net_backend *b = open_ok("user", &s2);
    struct sstate_writer fresh;
    save(b, &fresh);
    assert_true(fresh.len != sa.len || memcmp(fresh.buf, sa.buf, sa.len) != 0);
    sstate_writer_free(&fresh);
    assert_int_equal(restore(b, sa.buf, sa.len), 0);
    assert_saves(b, &sa);                               /* byte-identical */

    assert_int_equal(dhcp_offer_for(&s2, b, OTHER_MAC), 0x0a000210);   /* .15 is taken */
    assert_int_equal(dhcp_offer_for(&s2, b, GUEST_MAC), 0x0a00020f);   /* still its own */
    assert_int_equal(dhcp_offer_for(s, a, OTHER_MAC), 0x0a000210);     /* as the original */
    net_close(b);
    net_close(a);
    pthread_mutex_destroy(&s2.lock);
    pthread_cond_destroy(&s2.cond);
    sstate_writer_free(&sa);
}

/* Hostile sections are refused and leave the backend as it was. */
static void test_state_hostile(void **state)
{
    struct sink *s = *state;
    struct net_backend *a = open_ok("user", s);
    assert_int_equal(dhcp_offer_for(s, a, GUEST_MAC), 0x0a00020f);
    struct sstate_writer good;
    save(a, &good);
    uint32_t sv = le32(good.buf + SL_VER), n = le32(good.buf + SL_LEN);
    const uint8_t *data = good.buf + SL_DATA;
    struct net_backend *b = open_ok("user", s);
    struct sstate_writer before;
    save(b, &before);
    uint8_t big[8192] = { 0 };
    memcpy(big, data, n);

    struct {
        const char *what;
        uint32_t sv, len_field;
        const uint8_t *data;
        size_t n;
        int rc;
    } bad[] = {
        { "state version 0", 0, n, data, n, -ENOTSUP },
        { "a newer libslirp's state", sv + 1, n, data, n, -ENOTSUP },
        { "no bytes", sv, 0, data, 0, -EINVAL },
        { "length over the bound", sv, 4097, big, 4097, -EINVAL },
        { "length past the section", sv, n + 1, data, n, -EINVAL },
        { "length short of the section", sv, n - 1, data, n, -EINVAL },
        { "truncated state", sv, n - 1, data, n - 1, -EINVAL },
        { "a byte too many", sv, n + 1, big, n + 1, -EINVAL },
        { "one byte only", sv, 1, data, 1, -EINVAL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sstate_writer w;
        build_section(&w, bad[i].sv, bad[i].len_field, bad[i].data, bad[i].n);
        int rc = restore(b, w.buf, w.len);
        if (rc != bad[i].rc)
            fail_msg("%s: restore gave %d, expected %d", bad[i].what, rc, bad[i].rc);
        assert_saves(b, &before);
        sstate_writer_free(&w);
    }
    /* A socket record (libslirp would allocate the buffers it names
     * before refusing it): refused before libslirp sees it. */
    uint8_t sock[64];
    memset(sock, 0xff, sizeof(sock));
    sock[0] = 42;
    struct sstate_writer w;
    build_section(&w, sv, sizeof(sock), sock, sizeof(sock));
    assert_int_equal(restore(b, w.buf, w.len), -EINVAL);
    assert_saves(b, &before);
    sstate_writer_free(&w);
    /* Another tag. */
    sstate_writer_init(&w);
    sstate_begin(&w, "fakebe", 1);
    sstate_put_u32(&w, 1);
    assert_int_equal(sstate_end(&w), 0);
    assert_int_equal(restore(b, w.buf, w.len), -EINVAL);
    sstate_writer_free(&w);
    /* Every truncation of the good section. */
    for (size_t len = 0; len < good.len; len++)
        assert_int_not_equal(restore(b, good.buf, len), 0);
    assert_saves(b, &before);
    /* And the good one still goes in afterwards. */
    assert_int_equal(restore(b, good.buf, good.len), 0);
    assert_saves(b, &good);
    sstate_writer_free(&before);
    sstate_writer_free(&good);
    net_close(b);
    net_close(a);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_arp_gateway), T(test_dhcp_offer), T(test_bad_lengths),
        T(test_close_with_queue), T(test_hostfwd_port_in_use),
        T(test_hostfwd_accepts), T(test_reattach),
        T(test_state_round_trip), T(test_state_hostile),
    };
    return cmocka_run_group_tests_name("net_slirp", tests, NULL, NULL);
}
