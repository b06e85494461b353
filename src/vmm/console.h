/* vmm-internal: the VM's console on host file descriptors (vmm.c and the
 * unit tests use it; not part of the module's API, which is vmm.h).
 *
 * Output: what the guest prints goes into a bounded ring and is written
 * to the output descriptor without ever blocking, so that neither a vCPU
 * nor the thread that reads the keyboard waits for a reader that has
 * stalled (a terminal nobody reads, a full pipe).  When the ring is full
 * the newest bytes are dropped and counted; once the reader has caught up
 * (the ring is half empty again) the stream gets a line
 * "[vessel: N console bytes dropped]" where the gap is.  When the output
 * is closed (EPIPE, EIO) everything further is discarded and counted too.
 *
 * Input: typed bytes go to the guest, except the escape keys when the
 * input is a terminal in raw mode: C-a x quit, C-a h help, C-a C-a a
 * literal C-a.
 *
 * The console does not own its descriptors; for output it works on a
 * non-blocking duplicate of its own (see vmm_console_open), so the file
 * status flags of the caller's descriptor, which a shell may share, are
 * left alone.  Threads: vmm_console_write from any thread; everything else
 * from the one thread that runs the console (the VMM's main loop). */
#ifndef VESSEL_VMM_CONSOLE_H
#define VESSEL_VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ring size (bytes) vmm_run uses: a reader that pauses for a moment loses
 * nothing, one that has stopped costs at most this much memory. */
#define VMM_CONSOLE_RING (1u << 20)

struct vmm_console;

/* Open a console reading `in_fd` (or -1: no input) and writing `out_fd`
 * (borrowed; both must stay open until vmm_console_close; a closed
 * out_fd is taken as an output that discards everything).  `raw`: the
 * input is a terminal to put in raw mode (restored by vmm_console_close)
 * with the C-a keys active; ignored when in_fd is not a terminal.  `ring`:
 * output buffer size in bytes (> 64).  `wake(opaque)` is called, from the
 * writing thread with no console lock held, when output is left pending
 * in an empty ring, so that the loop polling vmm_console_out_events()
 * polls again.  Returns 0 or -ENOMEM / -errno (nothing printed). */
int vmm_console_open(struct vmm_console **out, int in_fd, int out_fd, bool raw,
                     size_t ring, void (*wake)(void *opaque), void *opaque);

/* Restore the terminal and free the console.  Pending output is dropped
 * (call vmm_console_flush first to give it a chance).  NULL is a no-op. */
void vmm_console_close(struct vmm_console *c);

/* Guest output (any thread).  Never blocks: writes what the output takes
 * now, keeps the rest in the ring, drops and counts what does not fit. */
void vmm_console_write(struct vmm_console *c, const uint8_t *buf, size_t len);

/* For the loop's poll(): the descriptor output goes to, and POLLOUT when
 * output is pending (else 0). */
int vmm_console_out_fd(const struct vmm_console *c);
short vmm_console_out_events(struct vmm_console *c);

/* Write pending output, as much as the descriptor takes now (after poll
 * reported it writable, or at any time). */
void vmm_console_drain(struct vmm_console *c);

/* At the end of the run: keep writing pending output while the reader
 * takes some at least every `idle_ms` milliseconds; stop early when
 * `abort_fd` (>= 0) becomes readable (e.g. a signal arrived).  What is
 * left is dropped and counted. */
void vmm_console_flush(struct vmm_console *c, int idle_ms, int abort_fd);

/* Bytes dropped so far (ring full, or output closed). */
uint64_t vmm_console_dropped(struct vmm_console *c);

/* Interpret `n` typed bytes: the bytes meant for the guest are copied to
 * `guest` (room for n bytes) and their count stored in *nguest; C-a h
 * writes the key help to the output.  Returns true when C-a x asked to
 * quit (bytes after it are ignored). */
bool vmm_console_keys(struct vmm_console *c, const uint8_t *in, size_t n,
                      uint8_t *guest, size_t *nguest);

/* True when the console's input is a terminal in raw mode. */
bool vmm_console_raw(const struct vmm_console *c);

#endif
