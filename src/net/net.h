/* net: network backends, the host side of a VM's network card.
 *
 * A backend moves whole Ethernet frames (destination MAC first, no FCS, no
 * virtio header) between one guest NIC and the outside world.  The NIC
 * device (virtio/net.c) calls net_send() for each frame the guest
 * transmits; the backend calls the NIC's receive callback for each frame
 * destined to the guest.  Each backend runs its own thread for its event
 * loop, so neither direction blocks a vCPU.
 *
 * Backends (selected by the first word of the --net spec):
 *   user   user-mode NAT through libslirp (net/slirp.c): no root needed.
 *          Guest network 10.0.2.0/24, gateway/host 10.0.2.2 (connections
 *          to it reach the host's 127.0.0.1), DNS 10.0.2.3, DHCP hands out
 *          10.0.2.15 upwards.  hostfwd= forwards host ports into the guest.
 * (tap and a virtual switch are to come: they add a kind and an ops table.)
 *
 * Spec syntax (the value of `vessel run --net`):
 *   user[,hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...
 *       [,mac=XX:XX:XX:XX:XX:XX]
 * Options may come in any order after the kind; hostfwd repeats (at most
 * NET_MAX_HOSTFWD).  An empty HOSTADDR means 127.0.0.1 (unlike QEMU, which
 * binds every interface: write 0.0.0.0 for that); an empty GUESTADDR means
 * 10.0.2.15, the first DHCP address.  mac= is the NIC's address (the
 * backend does not use it; the device does).
 *
 * Thread safety: net_send() may be called from any thread, concurrently
 * with the backend's thread calling the receive callback.  net_close()
 * must not race with net_send() on the same backend. */
#ifndef VESSEL_NET_H
#define VESSEL_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_MAX_HOSTFWD 16
/* Largest frame either direction carries: a 1500-byte MTU payload plus
 * the 14-byte Ethernet header and a 4-byte VLAN tag, rounded up. */
#define NET_MAX_FRAME 1536
/* Frames from the guest queued for the backend thread before net_send()
 * starts dropping them. */
#define NET_TX_QUEUE_MAX 256

enum net_kind { NET_KIND_USER = 1 };

struct net_hostfwd {
    bool udp;                   /* false: TCP */
    uint32_t host_addr;         /* IPv4, host byte order */
    uint16_t host_port;         /* 1..65535 */
    uint32_t guest_addr;        /* IPv4, host byte order, in 10.0.2.0/24 */
    uint16_t guest_port;        /* 1..65535 */
};

/* A parsed --net spec. */
struct net_spec {
    enum net_kind kind;
    bool has_mac;               /* mac= given */
    uint8_t mac[6];
    unsigned n_hostfwd;
    struct net_hostfwd hostfwd[NET_MAX_HOSTFWD];
};

/* Parse a --net spec into *out.  Returns 0, or -EINVAL with a one-line
 * message written to err (if non-NULL; truncated to errlen bytes, always
 * NUL-terminated) of the form
 *   --net 'SPEC': <what is wrong>, expected <what would be accepted>
 * (callers print it with vlog_error, which adds "vessel: "). */
int net_spec_parse(const char *spec, struct net_spec *out,
                   char *err, size_t errlen);

/* Receive callback: one frame of `len` bytes (1..NET_MAX_FRAME) for the
 * guest.  Runs on the backend's thread; `frame` is only valid during the
 * call (copy it).  Must not call net_close(); may call net_send(). */
typedef void (*net_rx_fn)(void *opaque, const uint8_t *frame, size_t len);

struct net_backend;

/* Counters, for diagnostics and tests (frames, not bytes). */
struct net_stats {
    uint64_t tx_frames;         /* accepted by net_send() */
    uint64_t tx_dropped;        /* refused: queue full or bad length */
    uint64_t rx_frames;         /* handed to the receive callback */
};

/* Open the backend a parsed spec describes and start its thread.  `rx`
 * and `opaque` are borrowed until net_close().  The receive callback may
 * run as soon as this returns (a NIC not ready yet should drop frames).
 * Errors are printed with vlog_error naming the spec; returns 0 and the
 * backend in *out, or -EINVAL (unsupported setting), -EADDRINUSE (a
 * forwarded host port is taken), -EADDRNOTAVAIL (a forwarded host address
 * is not local), another negative errno from socket/bind, -ENOMEM, or
 * -EAGAIN (no thread). */
int net_open_spec(const char *spec_text, const struct net_spec *spec,
                  net_rx_fn rx, void *opaque, struct net_backend **out);

/* net_spec_parse() + net_open_spec().  A malformed spec is printed as
 * "vessel: --net 'SPEC': ..." and gives -EINVAL.  *parsed (if non-NULL)
 * receives the parsed spec (for the NIC's mac=). */
int net_open(const char *spec, net_rx_fn rx, void *opaque,
             struct net_backend **out, struct net_spec *parsed);

/* Queue one frame from the guest for the backend (copied; `frame` may be
 * reused on return).  Never blocks.  Returns 0, -EMSGSIZE when len is 0
 * or above NET_MAX_FRAME, or -ENOBUFS when the queue is full (the frame
 * is dropped and counted, like a full wire). */
int net_send(struct net_backend *be, const uint8_t *frame, size_t len);

/* Snapshot of the counters (any thread). */
void net_get_stats(struct net_backend *be, struct net_stats *st);

struct ratelimit;
/* Log the warnings the guest's traffic causes through `rl` (borrowed:
 * the VM's limiter, util/ratelimit.h, kept across guest reboots; it must
 * outlive the backend). */
void net_set_log_limit(struct net_backend *be, struct ratelimit *rl);

/* Stop the thread, drop queued frames, close every socket and free the
 * backend.  After it returns the receive callback is not called again.
 * NULL is a no-op. */
void net_close(struct net_backend *be);

/* ---- for backend implementations (the net/ sources), not for NIC devices ---- */

struct net_backend_ops {
    const char *name;
    int (*send)(struct net_backend *be, const uint8_t *frame, size_t len);
    void (*get_stats)(struct net_backend *be, struct net_stats *st);
    void (*close)(struct net_backend *be);
};

/* The common head of every backend's private struct. */
struct net_backend {
    const struct net_backend_ops *ops;
    net_rx_fn rx;
    void *rx_opaque;
    /* The VM's limiter for guest-triggered warnings (util/ratelimit.h),
     * or NULL: then a backend logs at most a few per its lifetime. */
    struct ratelimit *_Atomic log_limit;
};

/* The user-mode backend (net/slirp.c); same contract as net_open_spec. */
int net_slirp_open(const char *spec_text, const struct net_spec *spec,
                   net_rx_fn rx, void *opaque, struct net_backend **out);

#endif
