/* cli-internal: the terminal side of `vessel run`, which connects a VM's
 * console stream (vmm.h vm_console_*) to stdin and stdout.
 *
 * Output: bytes are pulled from the VM's stream only as fast as the
 * output descriptor takes them, through a small carry buffer, with
 * non-blocking writes; so when the reader stalls (a terminal nobody
 * reads, a full pipe) the VM's own ring fills and drops, and neither the
 * VM nor this loop waits.  A closed output (EPIPE, EIO) is drained and
 * discarded, counted as dropped.
 *
 * Input: typed bytes go to the guest, except the escape keys when the
 * input is a terminal in raw mode: C-a x quit, C-a h help, C-a C-a a
 * literal C-a.
 *
 * The output is written through a non-blocking duplicate of its own (see
 * term_open), so the file status flags of the caller's descriptor, which a
 * shell may share, are left alone.  One thread uses a term. */
#ifndef VESSEL_CLI_TERM_H
#define VESSEL_CLI_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct term;

/* Where output comes from: up to `len` bytes into buf, returns the count
 * (0: nothing pending).  vm_console_read fits. */
typedef size_t (*term_source_fn)(void *opaque, void *buf, size_t len);

/* Open a terminal reading `in_fd` (or -1) and writing `out_fd` (both
 * borrowed, open until term_close; a closed out_fd discards everything).
 * `raw`: put in_fd in raw mode with the C-a keys, if it is a terminal.
 * Returns 0, or -ENOMEM / -errno. */
int term_open(struct term **out, int in_fd, int out_fd, bool raw);

/* Restore the terminal and free.  Pending output is dropped (counted);
 * NULL is a no-op. */
void term_close(struct term *t);

/* True when the input is a terminal in raw mode. */
bool term_raw(const struct term *t);

/* The output descriptor to poll for POLLOUT while term_out_pending. */
int term_out_fd(const struct term *t);
bool term_out_pending(const struct term *t);

/* Move output from `src` to the output descriptor until the output is
 * full or the source is empty. */
void term_pump(struct term *t, term_source_fn src, void *opaque);

/* At the end of a run: keep pumping while the reader takes some output
 * at least every `idle_ms` milliseconds; stop early when `abort_fd` (>= 0)
 * becomes readable (a signal arrived).  What is left is dropped. */
void term_flush(struct term *t, term_source_fn src, void *opaque, int idle_ms, int abort_fd);

/* Bytes this side dropped (closed output, leftovers at the end). */
uint64_t term_dropped(const struct term *t);

/* Interpret `n` typed bytes: those meant for the guest are copied to
 * `guest` (room for n bytes), their count to *nguest; C-a h queues the key
 * help for the output.  Returns true when C-a x asked to quit (bytes after
 * it are ignored). */
bool term_keys(struct term *t, const uint8_t *in, size_t n, uint8_t *guest, size_t *nguest);

/* Block SIGTERM, SIGINT and SIGHUP in this thread (threads created after
 * inherit the mask) and return a signalfd (non-blocking, close-on-exec)
 * that reads them, so the caller can restore the terminal and stop
 * cleanly; SIGPIPE is ignored (writes give EPIPE).  Returns the fd, or
 * -errno with the signals unblocked again (they keep their default
 * action). */
int term_signals(void);

#endif
