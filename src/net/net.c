/* net: --net spec parsing, opening a backend, and the part every backend
 * shares: the receiver (attach, detach, delivery) and the counters (see
 * net.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

#define EXP_SPEC "user[,hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,mac=52:54:00:XX:XX:XX]"
#define EXP_FWD  "hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"
#define EXP_MAC  "mac=XX:XX:XX:XX:XX:XX (six hex bytes, unicast, not all zero)"

/* The guest network of the user backend (host byte order). */
#define USER_NET      0x0a000200u   /* 10.0.2.0/24 */
#define USER_GW       0x0a000202u   /* 10.0.2.2 */
#define USER_DNS      0x0a000203u   /* 10.0.2.3 */
#define USER_GUEST    0x0a00020fu   /* 10.0.2.15 */
#define HOST_LOOPBACK 0x7f000001u   /* 127.0.0.1 */

static int fail(char *err, size_t errlen, const char *spec,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *spec,
                const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "--net '%.200s': ", spec);
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -EINVAL;
}

/* A decimal port 1..65535, digits only. */
static int parse_port(const char *s, uint16_t *out)
{
    unsigned long v = 0;
    if (!*s || strlen(s) > 5)
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

/* A dotted-quad IPv4 address (inet_pton's strict form), host order. */
static int parse_ip4(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return -EINVAL;
    *out = ntohl(a.s_addr);
    return 0;
}

static void fmt_ip4(uint32_t a, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
             (a >> 8) & 255, a & 255);
}

/* tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, in place. */
static int parse_hostfwd(char *v, const char *spec, struct net_hostfwd *fw,
                         char *err, size_t errlen)
{
    char *colon = strchr(v, ':');
    if (!colon)
        return fail(err, errlen, spec, "hostfwd '%s' has no protocol, expected " EXP_FWD, v);
    *colon = 0;
    if (strcmp(v, "tcp") == 0)
        fw->udp = false;
    else if (strcmp(v, "udp") == 0)
        fw->udp = true;
    else
        return fail(err, errlen, spec, "hostfwd protocol '%s' is not tcp or udp, expected " EXP_FWD, v);
    char *host = colon + 1;
    char *dash = strchr(host, '-');
    if (!dash)
        return fail(err, errlen, spec, "hostfwd '%s' has no '-' between the host and the guest side, expected " EXP_FWD, host);
    *dash = 0;
    char *guest = dash + 1;
    if (strchr(guest, '-'))
        return fail(err, errlen, spec, "hostfwd guest side '%s' has more than one '-', expected " EXP_FWD, guest);

    char *hc = strrchr(host, ':');
    if (!hc)
        return fail(err, errlen, spec, "hostfwd host side '%s' has no ':HOSTPORT', expected " EXP_FWD, host);
    *hc = 0;
    if (!*host)
        fw->host_addr = HOST_LOOPBACK;
    else if (parse_ip4(host, &fw->host_addr))
        return fail(err, errlen, spec, "hostfwd host address '%s' is not an IPv4 address, expected " EXP_FWD, host);
    if (parse_port(hc + 1, &fw->host_port))
        return fail(err, errlen, spec, "hostfwd host port '%s' is not a number 1..65535, expected " EXP_FWD, hc + 1);

    char *gc = strrchr(guest, ':');
    if (!gc)
        return fail(err, errlen, spec, "hostfwd guest side '%s' has no ':GUESTPORT', expected " EXP_FWD, guest);
    *gc = 0;
    if (!*guest) {
        fw->guest_addr = USER_GUEST;
    } else if (parse_ip4(guest, &fw->guest_addr)) {
        return fail(err, errlen, spec, "hostfwd guest address '%s' is not an IPv4 address, expected " EXP_FWD, guest);
    } else {
        uint32_t a = fw->guest_addr, h = a & 255;
        if ((a & 0xffffff00u) != USER_NET || h == 0 || h == 255 ||
            a == USER_GW || a == USER_DNS)
            return fail(err, errlen, spec, "hostfwd guest address '%s' is not a guest address in 10.0.2.0/24 "
                        "(10.0.2.2 and 10.0.2.3 are the host's), expected " EXP_FWD, guest);
    }
    if (parse_port(gc + 1, &fw->guest_port))
        return fail(err, errlen, spec, "hostfwd guest port '%s' is not a number 1..65535, expected " EXP_FWD, gc + 1);
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_mac(const char *v, uint8_t mac[6])
{
    if (strlen(v) != 17)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        int hi = hexval(v[3 * i]), lo = hexval(v[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && v[3 * i + 2] != ':'))
            return -EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int net_spec_parse(const char *spec, struct net_spec *out,
                   char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!spec)
        spec = "";
    memset(out, 0, sizeof(*out));
    char *buf = strdup(spec);
    if (!buf)
        return fail(err, errlen, spec, "out of memory");
    int rc = 0;
    /* strtok_r skips empty fields, so split by hand. */
    char *p = buf;
    bool first = true;
    while (p) {
        char *tok = p;
        char *comma = strchr(p, ',');
        if (comma) {
            *comma = 0;
            p = comma + 1;
        } else {
            p = NULL;
        }
        if (first) {
            first = false;
            if (!*tok) {
                rc = fail(err, errlen, spec, "no backend named, expected " EXP_SPEC);
                break;
            }
            if (strcmp(tok, "user") != 0) {
                rc = fail(err, errlen, spec, "unknown backend '%s' (only 'user' exists so far), expected " EXP_SPEC, tok);
                break;
            }
            out->kind = NET_KIND_USER;
            continue;
        }
        if (!*tok) {
            rc = fail(err, errlen, spec, "empty option (stray ','), expected " EXP_SPEC);
            break;
        }
        char *eq = strchr(tok, '=');
        if (!eq) {
            rc = fail(err, errlen, spec, "option '%s' has no '=VALUE', expected " EXP_FWD " or " EXP_MAC, tok);
            break;
        }
        *eq = 0;
        char *val = eq + 1;
        if (strcmp(tok, "hostfwd") == 0) {
            if (out->n_hostfwd >= NET_MAX_HOSTFWD) {
                rc = fail(err, errlen, spec, "more than %d hostfwd options, expected at most %d",
                          NET_MAX_HOSTFWD, NET_MAX_HOSTFWD);
                break;
            }
            struct net_hostfwd *fw = &out->hostfwd[out->n_hostfwd];
            rc = parse_hostfwd(val, spec, fw, err, errlen);
            if (rc)
                break;
            for (unsigned i = 0; i < out->n_hostfwd; i++) {
                const struct net_hostfwd *o = &out->hostfwd[i];
                if (o->udp == fw->udp && o->host_port == fw->host_port &&
                    (o->host_addr == fw->host_addr || !o->host_addr || !fw->host_addr)) {
                    char a[16];
                    fmt_ip4(fw->host_addr, a);
                    rc = fail(err, errlen, spec, "host port %s:%s:%u is forwarded twice, expected each host port once",
                              fw->udp ? "udp" : "tcp", a, fw->host_port);
                    break;
                }
            }
            if (rc)
                break;
            out->n_hostfwd++;
        } else if (strcmp(tok, "mac") == 0) {
            if (out->has_mac) {
                rc = fail(err, errlen, spec, "mac given twice, expected one " EXP_MAC);
                break;
            }
            if (parse_mac(val, out->mac)) {
                rc = fail(err, errlen, spec, "bad mac '%s', expected " EXP_MAC, val);
                break;
            }
            if (out->mac[0] & 1) {
                rc = fail(err, errlen, spec, "mac '%s' is a multicast address (first byte odd), expected " EXP_MAC, val);
                break;
            }
            static const uint8_t zero[6];
            if (memcmp(out->mac, zero, 6) == 0) {
                rc = fail(err, errlen, spec, "mac '%s' is all zero, expected " EXP_MAC, val);
                break;
            }
            out->has_mac = true;
        } else {
            rc = fail(err, errlen, spec, "unknown option '%s', expected " EXP_FWD " or " EXP_MAC, tok);
            break;
        }
    }
    free(buf);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

int net_open(const struct net_spec *spec, const char *label, struct net_backend **out,
             char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = 0;
    switch (spec->kind) {
    case NET_KIND_USER:
        return net_slirp_open(spec, label, out, err, errlen);
    }
    return fail(err, errlen, label ? label : "", "unsupported backend (kind %d)",
                (int)spec->kind);
}

/* ---- the common part of every backend ---- */

static inline void stat_inc(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

void net_backend_init(struct net_backend *be, const struct net_backend_ops *ops)
{
    be->ops = ops;
    pthread_mutex_init(&be->rx_lock, NULL);
    be->rx = NULL;
    be->rx_opaque = NULL;
    be->tx_frames = be->tx_dropped = be->rx_frames = be->rx_dropped = 0;
    atomic_init(&be->log_limit, NULL);
}

void net_backend_fini(struct net_backend *be)
{
    pthread_mutex_destroy(&be->rx_lock);
}

int net_attach(struct net_backend *be, net_rx_fn rx, void *opaque)
{
    int rc = 0;
    pthread_mutex_lock(&be->rx_lock);
    if (be->rx) {
        rc = -EBUSY;
    } else {
        be->rx = rx;
        be->rx_opaque = opaque;
    }
    pthread_mutex_unlock(&be->rx_lock);
    return rc;
}

void net_detach(struct net_backend *be)
{
    /* Taking the lock waits for a callback in progress. */
    pthread_mutex_lock(&be->rx_lock);
    be->rx = NULL;
    be->rx_opaque = NULL;
    pthread_mutex_unlock(&be->rx_lock);
}

void net_deliver(struct net_backend *be, const uint8_t *frame, size_t len)
{
    pthread_mutex_lock(&be->rx_lock);
    if (be->rx) {
        stat_inc(&be->rx_frames);
        be->rx(be->rx_opaque, frame, len);
    } else {
        stat_inc(&be->rx_dropped);
    }
    pthread_mutex_unlock(&be->rx_lock);
}

int net_send(struct net_backend *be, const uint8_t *frame, size_t len)
{
    int rc = len == 0 || len > NET_MAX_FRAME ? -EMSGSIZE : be->ops->send(be, frame, len);
    stat_inc(rc ? &be->tx_dropped : &be->tx_frames);
    return rc;
}

void net_get_stats(struct net_backend *be, struct net_stats *st)
{
    st->tx_frames = __atomic_load_n(&be->tx_frames, __ATOMIC_RELAXED);
    st->tx_dropped = __atomic_load_n(&be->tx_dropped, __ATOMIC_RELAXED);
    st->rx_frames = __atomic_load_n(&be->rx_frames, __ATOMIC_RELAXED);
    st->rx_dropped = __atomic_load_n(&be->rx_dropped, __ATOMIC_RELAXED);
}

void net_set_log_limit(struct net_backend *be, struct ratelimit *rl)
{
    if (be)
        atomic_store(&be->log_limit, rl);
}

int net_save(struct net_backend *be, struct sstate_writer *w)
{
    return be->ops->save ? be->ops->save(be, w) : 0;
}

int net_restore(struct net_backend *be, struct sstate_reader *r)
{
    return be->ops->restore ? be->ops->restore(be, r) : 0;
}

void net_close(struct net_backend *be)
{
    if (be)
        be->ops->destroy(be);
}
