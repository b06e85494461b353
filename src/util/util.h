/* util: small shared helpers (logging, size parsing, bit tricks).
 * No state: every helper is a pure function or writes to stderr. */
#ifndef VESSEL_UTIL_H
#define VESSEL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define likely(x)     __builtin_expect(!!(x), 1)
#define unlikely(x)   __builtin_expect(!!(x), 0)
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))

/* Print "vessel: <message>\n" to stderr, printf-style. */
void vlog_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vlog_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse a size in bytes: decimal digits (no sign, blank, "0x" or octal
 * reading: "010" is ten), then an optional K, M, G or T suffix (powers of
 * 1024, case-insensitive) which may be followed by "B" or "iB", or a lone
 * "B".  Returns 0 and stores the size in *out; -EINVAL when s is anything
 * else; -ERANGE when the value overflows 64 bits.  Callers' messages say
 * what is accepted: decimal digits with an optional K, M, G or T suffix. */
int parse_size(const char *s, uint64_t *out);

/* Parse an unsigned decimal integer: digits only (no sign, blank, "0x" or
 * octal reading).  Same errors as parse_size. */
int parse_u64(const char *s, uint64_t *out);

/* Sign-extend the low `bits` bits of v. */
static inline int64_t sext(uint64_t v, unsigned bits)
{
    unsigned sh = 64 - bits;
    return (int64_t)(v << sh) >> sh;
}

/* Extract bits [hi:lo] of v. */
static inline uint64_t bits(uint64_t v, unsigned hi, unsigned lo)
{
    return (v >> lo) & ((hi - lo == 63) ? ~0ULL : ((1ULL << (hi - lo + 1)) - 1));
}

/* CRC-32C (Castagnoli) of buf[0, len), continuing from `crc` (0 to
 * start): crc32c(crc32c(0, a, n), b, m) == crc32c(0, a || b, n + m).
 * RFC 3720 appendix B.4 gives the polynomial; crc32c(0, "123456789", 9)
 * is 0xE3069283. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* Format a message into err (len bytes, NUL-terminated; nothing when err
 * is NULL or len 0) and return rc: `return errbuf(err, len, -EINVAL,
 * "%s: ...", path);` for functions that report errors as text. */
int errbuf(char *err, size_t len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Little-endian integers of n bytes (1..8) in a byte buffer: file and
 * snapshot formats are little-endian whatever the host. */
static inline uint64_t le_get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void le_put(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Monotonic host time in nanoseconds. */
uint64_t host_time_ns(void);

/* Block SIGPIPE in the calling thread, for a thread whose library writes
 * to sockets without MSG_NOSIGNAL (libslirp, libevent): a peer that went
 * away then gives EPIPE instead of killing the process, and the
 * process-wide disposition stays as it was (the synchronous signal stays
 * pending on this thread, never delivered). */
void thread_block_sigpipe(void);

/* ---- crash-safe files (safefile.c) ----
 * A file is written as DIR/NAME.tmp, fsynced, renamed over DIR/NAME, and
 * DIR fsynced: after a crash DIR/NAME is the old file or the new one,
 * whole.  Paths longer than 4095 bytes are -ENAMETOOLONG.  Every function
 * returns 0 (or an fd) or -errno with one line in err naming the file. */

/* Create DIR/NAME.tmp (truncated, mode, O_NOFOLLOW): the fd (the caller
 * closes it) or -errno. */
int safefile_create(const char *dir, const char *name, mode_t mode, char *err,
                    size_t elen);
/* fsync fd (DIR/NAME.tmp), rename it to DIR/NAME, fsync DIR.  fd stays
 * open. */
int safefile_commit(const char *dir, const char *name, int fd, char *err, size_t elen);
/* The two halves of a commit, for callers that name several files with one
 * directory sync: rename DIR/NAME.tmp to DIR/NAME (after its fsync), and
 * fsync DIR. */
int safefile_rename(const char *dir, const char *name, char *err, size_t elen);
int safefile_sync_dir(const char *dir, char *err, size_t elen);
/* Write len bytes of buf as DIR/NAME crash-safe (create, write, commit);
 * on failure DIR/NAME.tmp is removed and DIR/NAME is untouched. */
int safefile_write(const char *dir, const char *name, const void *buf, size_t len,
                   mode_t mode, char *err, size_t elen);

/* ---- unix sockets (unixsock.c) ---- */

/* util/pathname.c.  path_lexical: path (made absolute against base when
 * relative; base NULL: "/") with ".", ".." and repeated slashes resolved
 * as text, never through the file system (so for paths that may not
 * exist, and without following links) into out (len bytes).  0, or
 * -ENAMETOOLONG.  path_under: whether path is dir or inside it, both
 * absolute and normalised ("/a/bc" is not under "/a/b"). */
int path_lexical(const char *base, const char *path, char *out, size_t len);
bool path_under(const char *path, const char *dir);

/* Listen on a unix stream socket at path (mode 0600 from the start,
 * SOCK_CLOEXEC, plus flags such as SOCK_NONBLOCK; backlog for listen(2)).
 * A socket file no server answers on is replaced; one a live server answers
 * on is -EADDRINUSE, a path that is not a socket -EEXIST (never removed), a
 * path too long -ENAMETOOLONG.  `what` names the option in messages
 * ("--api-sock").  Returns the fd (the caller closes it and unlinks path)
 * or -errno with one line in err. */
int unixsock_listen(const char *path, const char *what, int flags, int backlog,
                    char *err, size_t elen);

/* The first number of the line "KEY:" of /proc/PID/status (pid 0: this
 * process), e.g. "Threads" or "Uid" (its real id).  Returns 0, -ENOENT
 * without such a line, or fopen's -errno (the process is gone). */
int proc_status_u32(pid_t pid, const char *key, unsigned *val);

#endif
