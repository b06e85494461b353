/* vmm-internal: a VM's console output stream (vm.c and the unit tests use
 * it; the module's API is vmm.h: vm_console_fd, vm_console_read).
 *
 * What the guest prints goes into a bounded ring; a writer (a vCPU
 * thread) never waits: when the ring is full the newest bytes are
 * dropped and counted, and once a reader has made room for half the ring
 * the stream gets a line "\r\n[vessel: N console bytes dropped]\r\n"
 * where the gap is.  An eventfd polls readable while bytes are pending, so
 * a reader's poll loop needs no other wake-up.
 *
 * Threads: every function from any thread (one lock inside). */
#ifndef VESSEL_VMM_CONSOLE_H
#define VESSEL_VMM_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct vmm_console;

/* Open a stream with a ring of `ring` bytes (>= 128).  Returns 0, or
 * -ENOMEM, -EMFILE/-ENFILE (no eventfd). */
int vmm_console_open(struct vmm_console **out, size_t ring);

/* Free the stream and its eventfd.  NULL is a no-op. */
void vmm_console_close(struct vmm_console *c);

/* Append guest output; never blocks, drops and counts what does not fit. */
void vmm_console_write(struct vmm_console *c, const uint8_t *buf, size_t len);

/* Take up to `len` pending bytes, oldest first; returns how many. */
size_t vmm_console_read(struct vmm_console *c, uint8_t *buf, size_t len);

/* The eventfd: POLLIN while bytes are pending.  Owned by the stream. */
int vmm_console_fd(const struct vmm_console *c);

/* Bytes pending now; bytes dropped so far. */
size_t vmm_console_pending(struct vmm_console *c);
uint64_t vmm_console_dropped(struct vmm_console *c);

#endif
