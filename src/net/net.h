/* net: network backends, the host side of a VM's network card.
 *
 * A backend moves whole Ethernet frames (destination MAC first, no FCS, no
 * virtio header) between one guest NIC and the outside world.  It is an
 * object on its own: the VMM (vmm/) opens it once per VM from a validated
 * configuration and closes it when the VM is destroyed, so it outlives the
 * board (a guest reboot resets the NIC in place; host port forwards stay
 * bound).  The NIC device (virtio/net.c) borrows it: it attaches its
 * receive callback (net_attach), calls net_send() for each frame the guest
 * transmits, and detaches when it is freed.  The device knows nothing of
 * the kind of backend, so a virtual switch port can take the place of the
 * user-mode NAT without touching it.
 *
 * Each backend drives its own I/O (the user backend: one thread polling
 * its host sockets, slirp's timers and an eventfd that wakes it for queued
 * frames), so neither direction blocks a vCPU and no caller has to run an
 * event loop for it.  A backend that wants to be driven by the caller's
 * loop instead would add ops for that; none does yet.
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
 * backend does not use it; the VMM gives it to the device).
 *
 * Thread safety: net_send(), net_attach(), net_detach() and
 * net_get_stats() may be called from any thread, concurrently with the
 * backend's thread calling the receive callback.  net_close() must not
 * race with any other call on the same backend.
 *
 * Lock order: a backend's receive lock (held while the receive callback
 * runs) -> the NIC's locks (virtio/net.h). */
#ifndef VESSEL_NET_H
#define VESSEL_NET_H

#include <pthread.h>
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
 * Any thread; no state. */
int net_spec_parse(const char *spec, struct net_spec *out,
                   char *err, size_t errlen);

/* Receive callback: one frame of `len` bytes (1..NET_MAX_FRAME) for the
 * guest.  Runs on the backend's thread with the backend's receive lock
 * held; `frame` is only valid during the call (copy it).  Must not call
 * net_attach(), net_detach() or net_close() on its backend; may call
 * net_send(). */
typedef void (*net_rx_fn)(void *opaque, const uint8_t *frame, size_t len);

struct net_backend;
struct sstate_reader;
struct sstate_writer;
struct ratelimit;

/* Counters, for diagnostics and tests (frames, not bytes). */
struct net_stats {
    uint64_t tx_frames;         /* accepted by net_send() */
    uint64_t tx_dropped;        /* refused: queue full or bad length */
    uint64_t rx_frames;         /* handed to the receive callback */
    uint64_t rx_dropped;        /* arrived with no NIC attached */
};

/* Open the backend a parsed spec describes and start its I/O (for the
 * user backend: bind the forwarded host ports, then start its thread).
 * `label` (borrowed for the call; NULL: "user") is the spec as the user
 * wrote it, for messages.  No NIC is attached yet: frames for the guest
 * are dropped (and counted) until net_attach.  Returns 0 and the backend
 * in *out, or a negative errno with a one-line message in err (errlen
 * bytes, always NUL-terminated; may be NULL) of the form
 *   --net 'LABEL': <what failed>
 * -EINVAL (unsupported setting), -EADDRINUSE (a forwarded host port is
 * taken), -EADDRNOTAVAIL (a forwarded host address is not local), another
 * negative errno from socket/bind/eventfd, -ENOMEM, -EAGAIN (no
 * thread), or -ENOENT (user: libslirp.so.0 cannot be loaded; it is
 * loaded at the first user-mode card, net/slirp_lib.h).  Any thread. */
int net_open(const struct net_spec *spec, const char *label, struct net_backend **out,
             char *err, size_t errlen) __attribute__((warn_unused_result));

/* Attach the receiver (the NIC) of the frames for the guest: from now on
 * the backend calls rx(opaque, ...) on its thread.  A backend has at most
 * one receiver: -EBUSY when one is attached already.  Returns 0.  Any
 * thread (not the receive callback). */
int net_attach(struct net_backend *be, net_rx_fn rx, void *opaque)
    __attribute__((warn_unused_result));

/* Detach the receiver: when this returns the callback is not running and
 * is not called again; later frames for the guest are dropped (counted in
 * rx_dropped) until the next net_attach.  No-op when none is attached.
 * Any thread (not the receive callback). */
void net_detach(struct net_backend *be);

/* Queue one frame from the guest for the backend (copied; `frame` may be
 * reused on return).  Never blocks.  Returns 0, -EMSGSIZE when len is 0
 * or above NET_MAX_FRAME, or -ENOBUFS when the queue is full (the frame
 * is dropped and counted, like a full wire).  Any thread. */
int net_send(struct net_backend *be, const uint8_t *frame, size_t len);

/* Snapshot of the counters (any thread). */
void net_get_stats(struct net_backend *be, struct net_stats *st);

/* Log the warnings the guest's traffic causes through `rl` (borrowed:
 * the VM's limiter, util/ratelimit.h, kept across guest reboots; it must
 * outlive the backend).  Any thread. */
void net_set_log_limit(struct net_backend *be, struct ratelimit *rl);

/* The backend's own state for a VM snapshot, as sections appended to w /
 * read from r (the NIC carries them inside its own section, virtio/net.c).
 * A backend without such state writes and reads nothing and returns 0.
 * The user backend saves libslirp's state (section "slirp", net/slirp.c):
 * the DHCP leases (so the guest keeps its address when it renews) and the
 * IP identification counter.  Its host sockets are not state: the host
 * forwards are bound again from the spec when a restored VM opens its
 * backend, and connections open at save time are not carried (the host
 * side of a TCP connection cannot move into another process; docs/
 * snapshot.md says what the guest sees).  Restore validates everything and
 * changes nothing on error.  Returns 0 or the sstate error (-EINVAL,
 * -ENOMEM, -ENOTSUP: a newer layout), -EFBIG (save: more state than a
 * restore would accept).  The VMM's control thread (not the backend's
 * receive callback), while the NIC using the backend is quiesced; the
 * user backend waits for its own thread to do the work. */
int net_save(struct net_backend *be, struct sstate_writer *w);
int net_restore(struct net_backend *be, struct sstate_reader *r);

/* Stop the backend's I/O (its thread), drop queued frames, close every
 * socket and free it.  The NIC that used it must have been freed (or have
 * detached) first.  NULL is a no-op. */
void net_close(struct net_backend *be);

/* ---- the guest's address ---- */

/* The IPv4 address the guest uses on the card whose MAC is `mac`, learnt
 * from one frame the guest transmitted (`len` bytes from the destination
 * MAC on, as net_send takes them): the sender protocol address of an ARP
 * request or reply (RFC 826; Ethernet/IPv4 only) whose Ethernet source
 * and sender hardware address are both `mac`, or the source address of
 * an IPv4 datagram (RFC 791) whose Ethernet source is `mac`.  Only a
 * unicast host address counts (net_ipv4_is_host_addr: not 0.0.0.0 as in
 * a DHCP discover, nor broadcast, multicast, loopback or link-local).
 * 802.1Q-tagged frames are not looked into.  The frame is untrusted:
 * every length is checked before a byte is read (a short frame, an IHL
 * below 5 or past the frame, a total length past the frame give false).
 * Returns true with the address in *ip (host byte order), else false with
 * *ip untouched.  Pure; any thread. */
bool net_snoop_ipv4(const uint8_t *frame, size_t len, const uint8_t mac[6], uint32_t *ip);

/* True for an address (host byte order) a host may have as its own:
 * false for 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16 and 224.0.0.0 up
 * (multicast, reserved, 255.255.255.255).  Pure. */
bool net_ipv4_is_host_addr(uint32_t addr);

/* ---- for backend implementations (the net/ sources and test fakes), not
 * for NIC devices ---- */

struct net_backend_ops {
    const char *name;
    /* net_send: the length is checked (1..NET_MAX_FRAME) and the frame
     * counted by the common part.  0, or -ENOBUFS (dropped). */
    int (*send)(struct net_backend *be, const uint8_t *frame, size_t len);
    /* Optional (NULL: no state). */
    int (*save)(struct net_backend *be, struct sstate_writer *w);
    int (*restore)(struct net_backend *be, struct sstate_reader *r);
    /* Stop, free everything, and end with net_backend_fini(be). */
    void (*destroy)(struct net_backend *be);
};

/* The common head of every backend's private struct. */
struct net_backend {
    const struct net_backend_ops *ops;
    /* The receiver (net_attach); rx_lock guards rx and rx_opaque and is
     * held while the callback runs, which is what lets net_detach promise
     * that the callback is over. */
    pthread_mutex_t rx_lock;
    net_rx_fn rx;
    void *rx_opaque;
    /* struct net_stats, counted here for every backend (atomics). */
    uint64_t tx_frames, tx_dropped, rx_frames, rx_dropped;
    /* The VM's limiter for guest-triggered warnings (util/ratelimit.h),
     * or NULL: then a backend logs at most a few per its lifetime. */
    struct ratelimit *_Atomic log_limit;
};

/* Set up / tear down the common head (no receiver, counters zero). */
void net_backend_init(struct net_backend *be, const struct net_backend_ops *ops);
void net_backend_fini(struct net_backend *be);

/* Hand one frame for the guest (1..NET_MAX_FRAME bytes, the backend's
 * check) to the receiver, or drop and count it when none is attached.
 * The backend's I/O thread calls this; it takes the receive lock. */
void net_deliver(struct net_backend *be, const uint8_t *frame, size_t len);

/* The user-mode backend (net/slirp.c); same contract as net_open. */
int net_slirp_open(const struct net_spec *spec, const char *label, struct net_backend **out,
                   char *err, size_t errlen);

#endif
