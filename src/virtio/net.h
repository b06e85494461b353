/* virtio-net: the network card (Virtio 1.2 section 5.1) on the virtio core
 * (virtio.h) and a host network backend (net/net.h) that it borrows: the
 * VMM opens the backend and picks the MAC; the device only moves frames
 * through the backend interface (net_attach, net_send), whatever the
 * backend is.
 *
 * Device: ID 1, queues receiveq1 (0) and transmitq1 (1), no control queue,
 * one queue pair.  Offered features: VIRTIO_NET_F_MAC (config `mac`),
 * VIRTIO_NET_F_STATUS (config `status`, always VIRTIO_NET_S_LINK_UP),
 * VIRTIO_F_VERSION_1 (required), INDIRECT_DESC and EVENT_IDX.  No
 * checksum or segmentation offloads and no MRG_RXBUF: every frame is one
 * virtio_net_hdr (12 bytes, section 5.1.6) plus at most NET_MAX_FRAME
 * bytes, and every receive chain must hold both (Linux's "small buffers"
 * do).  Config space (5.1.4, little-endian): mac[6] at 0, status at 6,
 * max_virtqueue_pairs (1) at 8; 10 bytes, driver writes ignored.
 *
 * Transmit: the driver's notification (vCPU thread) pops each chain,
 * checks it (readable part 12 < len <= 12 + NET_MAX_FRAME, else the frame
 * is dropped and counted), learns the guest's IPv4 address from it
 * (net_snoop_ipv4), hands the frame to the backend (net_send copies
 * it, never blocks) and returns the chain with 0 bytes written.  With no
 * backend (an unplugged cable) frames are dropped and counted.
 *
 * Receive: frames arrive on the backend's thread (virtio_net_rx, the
 * callback the device attaches to its backend).  Under
 * the device's rx lock each is copied behind a zeroed header (num_buffers
 * = 1, 5.1.6.3.1) into the next receive chain and pushed, which raises the
 * used-buffer interrupt.  When the driver has posted no buffer, up to
 * VIRTIO_NET_RX_PENDING frames wait in the device and go out as soon as
 * the driver adds buffers (its receiveq notification); more are dropped
 * and counted, as a full NIC ring would.  Frames that arrive while the
 * driver is not running (before DRIVER_OK, after a reset) are dropped.  A
 * receive chain too small for the frame is returned with 0 bytes written
 * and the frame is dropped (counted).
 *
 * The MAC is the caller's (the VMM derives the default one from the VM's
 * UUID: docs/net.md).
 *
 * Threads: transmit runs on vCPU threads (serialised by the device's tx
 * lock), receive on the backend thread and on vCPU threads (receiveq
 * notifications), serialised by the rx lock.  Lock order: the backend's
 * receive lock -> rx/tx lock -> virtqueue -> transport (as virtio.h
 * requires). */
#ifndef VESSEL_VIRTIO_NET_H
#define VESSEL_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

#include "hw/hw.h"
#include "mem/mem.h"
#include "net/net.h"
#include "virtio/virtio.h"

/* Feature bits (5.1.3) and config status bits (5.1.4). */
#define VIRTIO_NET_F_MAC       5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS    16
#define VIRTIO_NET_S_LINK_UP   1u

/* struct virtio_net_hdr with VIRTIO_F_VERSION_1 (5.1.6). */
#define VIRTIO_NET_HDR_SIZE 12u
#define VIRTIO_NET_CONFIG_SIZE 10u

#define VIRTIO_NET_QUEUE_SIZE 256   /* QueueNumMax of both queues */
#define VIRTIO_NET_RX_PENDING 64    /* frames held while no rx buffer */

#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

struct virtio_net;

/* Counters since the device was created (a guest reset keeps them; not
 * device state: a snapshot does not carry them).  Any thread. */
struct virtio_net_stats {
    uint64_t tx_frames;         /* guest frames handed to the backend */
    uint64_t tx_bytes;          /* their bytes (Ethernet header on, no
                                   virtio header) */
    uint64_t tx_bad;            /* guest chains with a bad length, dropped */
    uint64_t tx_backend_dropped;/* refused by the backend (queue full) */
    uint64_t rx_frames;         /* frames delivered into guest buffers */
    uint64_t rx_bytes;          /* their bytes (as tx_bytes) */
    uint64_t rx_pending;        /* frames waiting for a buffer now */
    uint64_t rx_dropped_full;   /* no buffer and the pending queue full */
    uint64_t rx_dropped_not_ready; /* driver not running */
    uint64_t rx_dropped_small;  /* receive chain too small for the frame */
    /* The IPv4 address the guest last used on this card (host byte
     * order; 0: none seen yet), learnt from the frames it transmits
     * (net_snoop_ipv4): the last ARP or IPv4 sender address from the
     * card's MAC wins.  Kept across a guest reset until the guest sends
     * from another address. */
    uint32_t ip;
};

/* Create the NIC with address `mac` (copied; unicast and not all zero)
 * over the open backend `be` (borrowed: it must outlive the device; NULL:
 * no backend, every transmitted frame is dropped), and attach to the
 * backend as its receiver (net_attach), last, so frames may arrive as
 * soon as this returns.  `irq` is copied; `mem` is borrowed and must
 * outlive the device.  Returns 0 and *out, or -EINVAL (a multicast or
 * all-zero MAC), -EBUSY (another NIC is attached to `be`), -ENOMEM.
 * Prints nothing.  Any thread, before the guest runs. */
int virtio_net_new(struct net_backend *be, const uint8_t mac[6],
                   const struct hw_line *irq, struct mem *mem,
                   struct virtio_net **out) __attribute__((warn_unused_result));

/* The device's transport: map it with
 *   mem_add_mmio(mem, base, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, transport). */
struct virtio_dev *virtio_net_transport(struct virtio_net *n);

/* The NIC's device-model interface (util/device.h; opaque = n): reset as
 * the driver's status-0 write, quiesce (the transport hands out no chain;
 * delivery and transmission in progress finish; frames received
 * meanwhile wait in the pending ring), resume (pending frames go out),
 * save/restore of section "vnet" (transport state, MAC, link status,
 * pending frames; docs/virtio.md "Saved state"), the virtio-mmio
 * device-tree node, destroy (virtio_net_free).  The backend is not the
 * device's state (it outlives it): restore into a NIC created with the
 * same configuration. */
struct device virtio_net_device(struct virtio_net *n);

/* Detach from the backend (no receive callback runs after this; the
 * backend stays open, it is the caller's), then free the transport and
 * the device.  No vCPU may be running.  NULL is a no-op. */
void virtio_net_free(struct virtio_net *n);

/* Route the warnings the guest causes (malformed queues) through the VM's
 * limiter `rl` (borrowed, util/ratelimit.h; must outlive the device).
 * The backend's own warnings are its owner's to route (net_set_log_limit).
 * Call before the guest runs. */
struct ratelimit;
void virtio_net_set_log_limit(struct virtio_net *n, struct ratelimit *rl);

/* The NIC's MAC address. */
void virtio_net_mac(const struct virtio_net *n, uint8_t mac[6]);

/* A snapshot of the counters, each read on its own (relaxed atomics) and
 * the pending count under the rx lock.  Any thread but the backend's
 * receive callback. */
void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *st);

/* The receive callback the device attaches to its backend (net_rx_fn;
 * opaque is the virtio_net).  Public so tests and fuzzers can inject
 * frames as a backend would.  Any thread. */
void virtio_net_rx(void *opaque, const uint8_t *frame, size_t len);

#endif
