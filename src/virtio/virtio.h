/* virtio: the Virtio 1.2 device model of Vessel.
 *
 *   - the virtio-mmio transport, version 2 ("modern"; Virtio 1.2 section
 *     4.2.2): registers, feature negotiation, device status and reset;
 *   - split virtqueues (section 2.7) with indirect descriptors (2.7.5.3)
 *     and event-index notification suppression (2.7.7, 2.7.10);
 *   - devices: blk (5.2), console (5.3), entropy/rng (5.4), balloon (5.5), input (5.8,
 *     the power button); net (5.1) lives in net.{c,h} and uses only this
 *     header.
 *
 * A device (blk.c, console.c, ...) describes itself with a small ops table
 * (struct virtio_dev_ops) and gets a struct virtio_dev from virtio_dev_new().
 * The board maps the transport with
 *     mem_add_mmio(mem, base, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, vdev);
 * and wires `irq` to its PLIC source.  The device then reads requests from
 * its queues with virtq_pop() and completes them with virtq_push().
 *
 * Guest input is hostile (design rule 5): every index, address and length
 * the driver writes is checked.  A malformed queue (bad ring address, a
 * descriptor index out of range, a loop, a buffer outside RAM, a readable
 * buffer after a writable one, ...) puts the device into DEVICE_NEEDS_RESET
 * (section 2.1.2): the queue stops, the status bit is set, a configuration
 * change interrupt is sent, and one line is logged per device until reset,
 * through the VM's rate limiter (virtio_dev_set_log_limit) so that a guest
 * resetting its devices in a loop cannot flood the host's stderr.
 * Nothing the guest does can crash the host or make it touch memory
 * outside guest RAM.
 *
 * Threads and locks.  MMIO callbacks run on vCPU threads; devices may pop
 * and push from any thread (blk completes on the block layer's worker
 * threads, net on its backend thread).  Each virtqueue has its own mutex
 * (held inside virtq_pop/virtq_push only); the transport has one mutex for
 * its registers and interrupt status.  Lock order:
 *     device's own lock -> virtqueue -> transport -> interrupt line (PLIC)
 * No ops callback is called with a transport or virtqueue lock held, so a
 * device may pop/push from inside its callbacks.
 *
 * Design rule 4: all state is in struct virtio_dev / struct virtq and the
 * device's own struct; nothing is global.  Each device also implements
 * util/device.h (reset, quiesce, resume, save/restore, device-tree node)
 * on the shared part declared under "device model" below; the saved
 * layout and its validation are in docs/virtio.md "Device model". */
#ifndef VESSEL_VIRTIO_H
#define VESSEL_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hw/hw.h"
#include "mem/mem.h"
#include "util/device.h"
#include "util/sstate.h"

/* ------------------------------------------------------- constants */

/* virtio-mmio window size and register offsets (section 4.2.2). */
#define VIRTIO_MMIO_SIZE            0x1000u
#define VIRTIO_MMIO_MAGIC_VALUE     0x000   /* "virt" = 0x74726976 */
#define VIRTIO_MMIO_VERSION         0x004   /* 2 */
#define VIRTIO_MMIO_DEVICE_ID       0x008
#define VIRTIO_MMIO_VENDOR_ID       0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL       0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX   0x034
#define VIRTIO_MMIO_QUEUE_NUM       0x038
#define VIRTIO_MMIO_QUEUE_READY     0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY    0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK   0x064
#define VIRTIO_MMIO_STATUS          0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW  0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW  0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW  0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL         0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW     0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH    0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW    0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH   0x0bc
#define VIRTIO_MMIO_QUEUE_RESET     0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG          0x100

#define VIRTIO_MMIO_MAGIC   0x74726976u
#define VIRTIO_MMIO_VENDOR  0x4c535356u     /* "VSSL" */

/* InterruptStatus bits (4.2.2). */
#define VIRTIO_MMIO_INT_VRING  0x1u         /* used buffer notification */
#define VIRTIO_MMIO_INT_CONFIG 0x2u         /* configuration change */

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        1u
#define VIRTIO_STATUS_DRIVER             2u
#define VIRTIO_STATUS_DRIVER_OK          4u
#define VIRTIO_STATUS_FEATURES_OK        8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED             128u

/* Device IDs (5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_INPUT   18

/* Reserved feature bits (6).  The transport always offers VERSION_1; a
 * device adds INDIRECT_DESC / EVENT_IDX to its ops->features to offer them
 * (VIRTIO_F_COMMON below is the usual set). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32
#define VIRTIO_F_COMMON ((1ULL << VIRTIO_F_INDIRECT_DESC) | \
                         (1ULL << VIRTIO_F_EVENT_IDX))

/* Split virtqueue layout (2.7). */
#define VIRTQ_DESC_F_NEXT     1u
#define VIRTQ_DESC_F_WRITE    2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY     1u

/* Largest queue size any device may offer (a power of two, <= 32768 as
 * 2.7 requires).  A chain (direct descriptors plus those of an indirect
 * table) never has more descriptors than the queue size. */
#define VIRTQ_MAX_SIZE 1024u
/* Host iovecs one chain may map to (a descriptor's buffer becomes one
 * iovec per host-contiguous piece of RAM). */
#define VIRTQ_IOV_MAX 1024u
#define VIRTIO_MAX_QUEUES 8u
#define VIRTIO_CONFIG_MAX (VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)

/* ------------------------------------------------------- devices */

struct virtio_dev;
struct virtq;

/* What a device tells the transport about itself.  The table is borrowed
 * (usually a static const) and must outlive the virtio_dev.  Every callback
 * gets the `opaque` given to virtio_dev_new() and is called without any
 * transport or virtqueue lock held. */
struct virtio_dev_ops {
    const char *name;           /* for log messages, e.g. "virtio-blk" */
    uint32_t device_id;         /* VIRTIO_ID_* */
    unsigned num_queues;        /* 1..VIRTIO_MAX_QUEUES */
    uint16_t queue_max;         /* QueueNumMax: power of two <= VIRTQ_MAX_SIZE */
    uint32_t config_size;       /* bytes of device config space (<= VIRTIO_CONFIG_MAX) */
    /* Device feature bits offered besides VERSION_1 (which the transport
     * adds and requires).  May be changed per device through
     * virtio_dev_new()'s `features` argument instead (e.g. RO disks). */
    uint64_t features;

    /* Read `len` bytes of config space at byte offset `off` into buf (the
     * transport has checked off + len <= config_size).  NULL: zeros.
     * Config space is little-endian (2.5). */
    void (*config_read)(void *opaque, uint32_t off, void *buf, uint32_t len);
    /* Driver write to config space (same bounds).  NULL: ignored. */
    void (*config_write)(void *opaque, uint32_t off, const void *buf, uint32_t len);
    /* Available buffer notification for queue `q` (QueueNotify, 4.2.3.3),
     * on a vCPU thread (or the control thread, from virtio_dev_resume);
     * only called while the queue is ready and the driver has set
     * DRIVER_OK.  Must not block on I/O: start it and return.  Pops
     * whatever is available, so an extra call is harmless. */
    void (*notify)(void *opaque, unsigned q);
    /* Device reset (status 0 written, 2.4): on return the device holds no
     * chain it will push later and has forgotten all guest state.  It may
     * wait for in-flight host I/O (it is called without locks held, so
     * completions may still virtq_push meanwhile). */
    void (*reset)(void *opaque);
    /* DRIVER_OK was just set (optional): e.g. the console delivers input
     * it buffered while the driver was not ready. */
    void (*driver_ok)(void *opaque);
};

/* Create the transport of one device.  `features` is OR-ed with
 * ops->features; `irq` (copied) is the device's interrupt line, driven
 * high while InterruptStatus is non-zero (level, like QEMU's virt board).
 * `mem` (borrowed) is the guest address space the queues live in.
 * Returns NULL on allocation failure or an invalid ops table (logged). */
struct virtio_dev *virtio_dev_new(const struct virtio_dev_ops *ops, void *opaque,
                                  uint64_t features, const struct hw_line *irq,
                                  struct mem *mem);
/* Free the transport.  The device must be quiet (no pop/push running or
 * to come).  NULL is a no-op. */
void virtio_dev_free(struct virtio_dev *d);

/* The virtio-mmio register window (4.2.2); the opaque is the virtio_dev.
 * 32-bit accesses for registers; config space accepts 1, 2, 4 and 8
 * bytes.  Other accesses read 0 and are ignored. */
extern const struct mmio_ops virtio_mmio_ops;

/* Queue `i` of the device (0..num_queues-1), NULL if out of range. */
struct virtq *virtio_dev_queue(struct virtio_dev *d, unsigned i);

/* Negotiated features (valid once FEATURES_OK is set). */
uint64_t virtio_dev_features(struct virtio_dev *d);

/* True while the driver has set DRIVER_OK and the device does not need a
 * reset. */
bool virtio_dev_running(struct virtio_dev *d);

/* Current device status byte (2.1). */
uint8_t virtio_dev_status(struct virtio_dev *d);

/* The device's configuration changed: bump ConfigGeneration and send a
 * configuration change notification (4.2.2, InterruptStatus bit 1) if the
 * driver is running.  Any thread. */
void virtio_dev_config_changed(struct virtio_dev *d);

/* Route the device's guest-triggered warnings through `rl` (borrowed:
 * the VM's limiter, util/ratelimit.h, shared by all its devices and kept
 * across device and guest resets; it must outlive the device).  NULL goes
 * back to the device's own limiter (RATELIMIT_GUEST_BURST, then
 * RATELIMIT_GUEST_PER_SEC a second), which is also the default.  Call
 * before the guest runs. */
struct ratelimit;
void virtio_dev_set_log_limit(struct virtio_dev *d, struct ratelimit *rl);

/* The device hit an error it cannot recover from without a reset (2.1.2):
 * log `why` (printf-style) once per device until the next reset and
 * within the rate limit (above), set
 * DEVICE_NEEDS_RESET, and notify the driver with a configuration change
 * interrupt.  Any thread, no lock held.  Queues stop delivering chains. */
void virtio_dev_needs_reset(struct virtio_dev *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Raise InterruptStatus bits (VIRTIO_MMIO_INT_*) and the line.  Any
 * thread.  virtq_push() does this for used buffers; devices rarely need
 * it directly. */
void virtio_dev_interrupt(struct virtio_dev *d, uint32_t bits);

/* ------------------------------------------------------- device model */

/* The life-cycle half of util/device.h that every virtio device shares
 * (src/virtio/device.c).  Each device's own struct device_ops (see
 * virtio_blk_device() etc. below) calls these around its own part.  All
 * are for the VMM's control thread while no vCPU runs (util/device.h). */

/* Reset the device as the driver's write of 0 to Status does (2.4,
 * 4.2.3.1): the device's reset op waits for its in-flight I/O, every
 * queue is forgotten, features, selectors and InterruptStatus cleared,
 * the line lowered.  ConfigGeneration is kept.  A quiesced device stays
 * quiesced. */
void virtio_dev_reset(struct virtio_dev *d);

/* Stop handing out chains: from now on virtq_pop returns 0 on every queue
 * (pushes still work, so requests in flight can complete); waits for a
 * pop in progress on another thread.  The device itself finishes its
 * in-flight work afterwards (blk drains its I/O).  Idempotent. */
void virtio_dev_quiesce(struct virtio_dev *d);
/* Undo virtio_dev_quiesce: re-drive the interrupt line at the level
 * InterruptStatus asks for (an interrupt controller restored after the
 * device sees it again), then, when the driver is running, call the
 * device's notify op for every ready queue, so buffers the driver made
 * available while the device was quiesced, or before a snapshot, are
 * served (notify is idempotent: it pops what is there).  No-op when not
 * quiesced. */
void virtio_dev_resume(struct virtio_dev *d);
bool virtio_dev_quiesced(struct virtio_dev *d);

/* The transport's guest-visible state (registers and queue state), as
 * saved in a device's section.  Plain data, for a restore that validates
 * everything before it applies anything. */
struct virtio_queue_state {
    uint32_t num;                   /* QueueNum as written */
    uint64_t desc, avail, used;     /* ring addresses as written */
    bool ready, event_idx, indirect, broken;
    uint16_t last_avail, used_idx;  /* device-side ring indexes (2.7) */
};
struct virtio_dev_state {
    uint8_t status;                 /* 2.1, incl. DEVICE_NEEDS_RESET */
    uint64_t drv_features;          /* DriverFeatures as written */
    uint32_t dev_feat_sel, drv_feat_sel, queue_sel, shm_sel;
    uint32_t isr;                   /* InterruptStatus */
    uint32_t config_gen;
    unsigned num_queues;
    struct virtio_queue_state q[VIRTIO_MAX_QUEUES];
};

/* Append the transport's state to w's open section (the device's own
 * section, util/sstate.h; layout in docs/virtio.md "Saved state"):
 * device ID, status, DriverFeatures, the four selectors, InterruptStatus,
 * ConfigGeneration, the queue count, then per queue QueueNum, the three
 * ring addresses, ready/event-idx/indirect/broken flags and the two ring
 * indexes.  Returns 0, -EBUSY when the device is not quiesced, or the
 * writer's error. */
int virtio_dev_save_state(const struct virtio_dev *d, struct sstate_writer *w)
    __attribute__((warn_unused_result));
/* Read what virtio_dev_save_state wrote from r's open section into *st
 * and validate it against this device (Virtio 1.2): same device ID and
 * queue count; only defined status bits; DRIVER_OK only with
 * FEATURES_OK; with FEATURES_OK the driver's features a subset of the
 * offer and with VERSION_1 (3.1.1); InterruptStatus bits 0-1 only; event
 * index / indirect only if offered; for a ready queue a size that is a
 * power of two within QueueNumMax, rings aligned (2.7: 16, 2, 4 bytes)
 * and inside guest RAM, and no more chains outstanding than the queue
 * holds (last_avail - used_idx <= size).  Guest RAM's contents are not
 * read (memory may be restored after the devices).  Changes nothing in
 * the device.  Returns 0, or the reader's error (-EINVAL truncated or
 * out of range), which also sticks in r (sstate_fail), so a caller may
 * read on and check once at sstate_close. */
int virtio_dev_load_state(struct virtio_dev *d, struct sstate_reader *r,
                          struct virtio_dev_state *st);
/* Apply a state virtio_dev_load_state accepted.  Chains popped before
 * become stale (virtq_push refuses them).  Drives the interrupt line from
 * the restored InterruptStatus (a pending interrupt is raised again).
 * The device must be quiesced (it stays so). */
void virtio_dev_apply_state(struct virtio_dev *d, const struct virtio_dev_state *st);

/* The virtio-mmio device-tree node (Linux bindings virtio/mmio.yaml):
 * virtio_mmio@<base> with compatible "virtio,mmio", reg <base size>
 * (two cells each), interrupts <irq>, interrupt-parent <plic_phandle>.
 * Returns 0 or a negative libfdt error. */
int virtio_mmio_fdt_node(const struct device_fdt_ctx *ctx);

/* ------------------------------------------------------- virtqueues */

/* One popped descriptor chain, validated and mapped to host memory.
 * The first `out_iov` entries of iov[] are device-readable (driver ->
 * device), the next `in_iov` device-writable, in chain order.  The host
 * pointers are pinned (mem.h: memory operations leave the pages alone)
 * from any thread until the chain is given back, exactly once: with
 * virtq_push() (also after a reset, which then only releases the pins)
 * or, for a request that cannot be answered, virtq_drop().
 * The struct is large (VIRTQ_IOV_MAX iovecs): allocate it, don't put it
 * on a small stack. */
struct virtq_chain {
    uint16_t head;              /* id of the chain for the used ring */
    unsigned out_iov, in_iov;   /* iovec counts */
    uint64_t out_len, in_len;   /* bytes readable / writable */
    unsigned ndesc;             /* descriptors in the chain (those of the
                                   indirect table when there is one) */
    uint32_t gen_;              /* internal: queue generation at pop */
    struct iovec iov[VIRTQ_IOV_MAX];
};

/* Pop the next available chain of the queue (2.7.13).  Walks and checks
 * the chain: head and `next` indexes below the queue size (or the indirect
 * table's length), no loop (at most queue-size descriptors in all), no
 * zero-length chain, INDIRECT only when negotiated, not nested and not
 * combined with NEXT, indirect tables a whole number of descriptors,
 * every buffer entirely in guest RAM (mem_map_iovec, which pins it), and
 * no readable descriptor after a writable one.  With EVENT_IDX, publishes avail_event
 * so that the driver notifies for the next buffer (2.7.10).
 * Returns 1 with *c filled, 0 when the queue is empty, not ready or the
 * device is not running, -EIO when the chain (or the ring) is malformed:
 * the device now needs a reset (virtio_dev_needs_reset has been called,
 * the queue is stopped).  Any thread; thread-safe per queue. */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);

/* Return a chain to the driver: used ring entry {head, written}, where
 * `written` is the number of bytes the device wrote into the chain's
 * writable buffers (2.7.8), clamped to c->in_len.  Then, unless
 * suppressed (used_event with EVENT_IDX, 2.7.10; else the avail ring's
 * NO_INTERRUPT flag, 2.7.7), raise the used-buffer interrupt.  In every
 * case the chain's buffers are unpinned (the writable ones marked dirty
 * again): its iovecs must not be used after this.
 * Returns 0; -ESTALE when the queue was reset since the chain was popped
 * (nothing written); -EIO when the used ring is no longer in RAM.  Any
 * thread. */
int virtq_push(struct virtq *vq, const struct virtq_chain *c, uint32_t written);

/* Give up a popped chain without a used element (a request the device
 * cannot answer, having put itself in DEVICE_NEEDS_RESET): unpins its
 * buffers, instead of virtq_push.  Any thread. */
void virtq_drop(struct virtq *vq, const struct virtq_chain *c);

/* Queue index within its device, queue size negotiated by the driver
 * (0 when not set up), and whether the driver marked it ready. */
unsigned virtq_index(const struct virtq *vq);
unsigned virtq_size(struct virtq *vq);
bool virtq_ready(struct virtq *vq);

/* ------------------------------------------------------- iovec helpers */

/* Copy up to `len` bytes starting at byte `off` of the chain's readable
 * part into buf; returns the number copied (short when the chain is). */
size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, size_t len);
/* Copy buf into the writable part at byte `off`; returns bytes copied. */
size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf,
                         size_t len);
/* Build a sub-list of iovecs covering [off, off+len) of the readable
 * (`writable` false) or writable part into out[max]; returns the count
 * (0 if the range is not entirely in the chain or needs more than max). */
int virtq_chain_slice(const struct virtq_chain *c, bool writable, uint64_t off,
                      uint64_t len, struct iovec *out, int max);

/* ------------------------------------------------------- devices */

struct block_dev;

/* virtio-blk (5.2) over an open block device (borrowed; must outlive the
 * device).  Requests run on the block layer's worker threads
 * (block_aio_submit), completion pushes the used ring from there.
 * `read_only` offers VIRTIO_BLK_F_RO and fails writes with IOERR;
 * `serial` (may be NULL) is the GET_ID string (20 bytes max, truncated).
 * `writeback` offers FLUSH (cache=writeback/none); false (cache=unsafe)
 * still offers FLUSH but makes it a no-op.  The returned handle is freed
 * by virtio_blk_free (drains I/O first). */
struct virtio_blk;
struct virtio_blk *virtio_blk_new(struct block_dev *bd, bool read_only, bool flush_is_noop,
                                  const char *serial, const struct hw_line *irq,
                                  struct mem *mem);
struct virtio_dev *virtio_blk_transport(struct virtio_blk *b);
void virtio_blk_free(struct virtio_blk *b);
/* The device-model interface (util/device.h; opaque = b): reset as the
 * driver's status-0 write; quiesce stops popping requests and waits until
 * every request given to the block layer has completed and been pushed;
 * resume serves what the driver queued meanwhile; save/restore of section
 * "vblk" (transport state plus the capacity and read-only flag, which a
 * restore requires to match this disk); the virtio-mmio node; destroy
 * (virtio_blk_free: the block_dev stays the caller's). */
struct device virtio_blk_device(struct virtio_blk *b);

/* What the disk has done since the device was created (a guest reset
 * keeps them; they are not device state: a snapshot does not carry them,
 * so a restored process starts at 0).  A request is counted once, when it
 * completes: reads and writes that completed with VIRTIO_BLK_S_OK, with
 * the bytes they moved; flushes; discards and write-zeroes together;
 * `errors` counts every request answered IOERR or UNSUPP and every one
 * that could not be answered at all (no status byte).  GET_ID is in none. */
struct virtio_blk_stats {
    uint64_t read_requests, write_requests, flush_requests, discard_requests;
    uint64_t read_bytes, write_bytes;
    uint64_t errors;
};
/* A snapshot of the counters, each read on its own (relaxed atomics: two
 * counters may be a request apart while I/O runs).  Any thread. */
void virtio_blk_get_stats(const struct virtio_blk *b, struct virtio_blk_stats *st);

/* virtio-console (5.3), one port (no MULTIPORT): receiveq 0 gets host
 * input, transmitq 1 goes to `out` (copied; called on vCPU threads).
 * Input that finds no guest buffer waits in a VIRTIO_CONSOLE_RX_BUFFER-
 * byte host buffer (excess is dropped, as a UART would). */
#define VIRTIO_CONSOLE_RX_BUFFER 4096
struct virtio_console;
struct virtio_console *virtio_console_new(const struct hw_console *out,
                                          const struct hw_line *irq, struct mem *mem);
struct virtio_dev *virtio_console_transport(struct virtio_console *c);
/* Host input for port 0 (any thread).  Returns bytes accepted. */
size_t virtio_console_input(struct virtio_console *c, const uint8_t *buf, size_t len);
void virtio_console_free(struct virtio_console *c);
/* The device-model interface (util/device.h; opaque = c).  While
 * quiesced no receive buffer is taken: input still accepted by
 * virtio_console_input waits in the host buffer, which is saved (section
 * "vcons": transport state plus the waiting bytes) and delivered on
 * resume.  destroy is virtio_console_free. */
struct device virtio_console_device(struct virtio_console *c);

/* virtio-balloon (5.5, src/virtio/balloon.c has the layout): inflate and
 * deflate queues, and free page reporting when `reporting`; the pages the
 * guest gives up or reports free are dropped from host memory
 * (mem_discard).  Feature bits (5.5.3): */
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_PAGE_REPORTING 5
struct virtio_balloon;
struct virtio_balloon_stats {
    uint32_t target_pages;      /* num_pages the host asked for (4 KiB pages) */
    uint32_t actual_pages;      /* what the driver says the balloon holds */
    bool reporting;             /* the driver negotiated free page reporting */
    uint64_t inflated_pages;    /* pages dropped through inflateq */
    uint64_t deflated_pages;    /* pages the driver took back */
    uint64_t reports;           /* report buffers handled */
    uint64_t reported_bytes;    /* bytes dropped through reporting_vq */
    uint64_t bad_pfns;          /* frame numbers or ranges outside RAM, skipped */
};
/* NULL on allocation failure.  mem and irq as for virtio_rng_new. */
struct virtio_balloon *virtio_balloon_new(bool reporting, const struct hw_line *irq,
                                          struct mem *mem);
struct virtio_dev *virtio_balloon_transport(struct virtio_balloon *b);
/* Ask the driver for a balloon of `pages` 4 KiB pages (config num_pages,
 * with a configuration change notification when it changed).  The driver
 * inflates or deflates towards it at its own pace.  Any thread. */
void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t pages);
/* A consistent copy of the counters.  Any thread. */
void virtio_balloon_stats(struct virtio_balloon *b, struct virtio_balloon_stats *out);
void virtio_balloon_free(struct virtio_balloon *b);
/* The device-model interface (util/device.h); section "vbal" holds the
 * transport, num_pages and actual.  destroy is virtio_balloon_free. */
struct device virtio_balloon_device(struct virtio_balloon *b);

/* virtio-rng (5.4): fills the driver's writable buffers from getrandom(2)
 * on the notifying vCPU thread (fast, never blocks after boot). */
struct virtio_rng;
struct virtio_rng *virtio_rng_new(const struct hw_line *irq, struct mem *mem);
struct virtio_dev *virtio_rng_transport(struct virtio_rng *r);
void virtio_rng_free(struct virtio_rng *r);
/* The device-model interface (util/device.h; opaque = r); section "vrng"
 * holds the transport state only.  destroy is virtio_rng_free. */
struct device virtio_rng_device(struct virtio_rng *r);

/* virtio-input (5.8) as a power button: one key, KEY_POWER (Linux's
 * input-event-codes.h numbers, which 5.8 uses).  Config space answers
 * ID_NAME, ID_SERIAL, ID_DEVIDS and EV_BITS/EV_KEY (the KEY_POWER bit);
 * eventq 0 gets one struct virtio_input_event per device-writable
 * buffer, statusq 1 is consumed and ignored.  Events the driver has no
 * buffer for wait in a queue of VIRTIO_INPUT_PENDING_MAX (until a buffer
 * comes, across a driver reset and a snapshot; a VM reset drops them). */
#define VIRTIO_INPUT_EV_SYN 0x00
#define VIRTIO_INPUT_EV_KEY 0x01
#define VIRTIO_INPUT_SYN_REPORT 0
#define VIRTIO_INPUT_KEY_POWER 116
#define VIRTIO_INPUT_EVENT_SIZE 8u      /* le16 type, le16 code, le32 value */
#define VIRTIO_INPUT_PENDING_MAX 64u
struct virtio_input_event {
    uint16_t type, code;
    uint32_t value;
};
struct virtio_input;
struct virtio_input *virtio_input_new(const struct hw_line *irq, struct mem *mem);
struct virtio_dev *virtio_input_transport(struct virtio_input *in);
void virtio_input_free(struct virtio_input *in);
/* Queue `n` events (all or none) and deliver what the driver has buffers
 * for.  Any thread.  Returns 0, or -ENOSPC when fewer than n slots are
 * free (nothing queued). */
int virtio_input_send(struct virtio_input *in, const struct virtio_input_event *ev,
                      unsigned n) __attribute__((warn_unused_result));
/* Press and release the power button: EV_KEY KEY_POWER 1, EV_SYN
 * SYN_REPORT, EV_KEY KEY_POWER 0, EV_SYN SYN_REPORT.  Returns at once
 * (whether the guest acts on it is the guest's business); 0 or -ENOSPC
 * as virtio_input_send.  Any thread. */
int virtio_input_power_button(struct virtio_input *in) __attribute__((warn_unused_result));
/* Events waiting for a buffer, and events delivered since creation (for
 * tests and metrics).  Either pointer may be NULL.  Any thread. */
void virtio_input_counts(struct virtio_input *in, unsigned *pending, uint64_t *delivered);
/* The device-model interface (util/device.h; opaque = in): section
 * "vinput" holds the transport state, select/subsel and the waiting
 * events.  destroy is virtio_input_free. */
struct device virtio_input_device(struct virtio_input *in);

#endif
