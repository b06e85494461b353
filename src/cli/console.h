/* cli-internal: the console of `vessel run` without a terminal in the
 * path, for VMs run by vesseld: --console-log FILE (the VM appends its
 * serial output there itself, rotated to FILE.1 past CONSOLE_LOG_MAX) and
 * --console-sock PATH (a unix socket, mode 0600, one client at a time:
 * its bytes are guest input, the guest's output is copied to it).  Both
 * outlive the daemon, since they belong to the VM's process.
 *
 * The output side is a tee in front of the terminal's source: every
 * byte the terminal pump takes from the VM is first appended to the log
 * and sent to the client (without waiting: a client that does not read
 * loses output, the VM never waits).  One thread (the run loop) uses it. */
#ifndef VESSEL_CLI_CONSOLE_H
#define VESSEL_CLI_CONSOLE_H

#include <poll.h>
#include <stddef.h>

#define CONSOLE_LOG_MAX (4u << 20)

struct vm;
struct console;

/* Open the log (created 0600, appended to) and/or the socket (replaced
 * only when nobody listens on it).  Either path may be NULL.  Returns 0
 * or -errno with a message naming the option and the path. */
int console_open(struct console **out, struct vm *vm, const char *log, const char *sock,
                 char *err, size_t elen);

/* Close both and remove the socket file.  NULL is a no-op. */
void console_close(struct console *c);

/* A term_source_fn (term.h) with opaque = the console: reads from the
 * VM's console stream and tees what it read. */
size_t console_tee_source(void *opaque, void *buf, size_t len);

/* The descriptors to poll (at most 2): the listening socket and the
 * client.  Returns how many were written to p. */
int console_pollfds(struct console *c, struct pollfd *p);

/* After poll: accept a client, or pass the client's bytes to the guest. */
void console_handle(struct console *c, const struct pollfd *p, int n);

#endif
