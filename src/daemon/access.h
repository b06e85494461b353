/* daemon: who may do what on vesseld's socket (docs/daemon.md, "Access
 * control"), and the audit log of what was asked.
 *
 * Three roles, each including the one below: viewer (every GET; a console
 * attach whose input is dropped), operator (life cycle, console input),
 * admin (everything).  A peer is known by its SO_PEERCRED credentials,
 * taken once per connection.  Root and the daemon's own uid are always
 * admin; others get the highest role that the access file gives their
 * uid, their passwd primary group, their supplementary groups from the
 * group database (getgrouplist), or the group the peer runs with.  No
 * role: every request is 403.
 *
 * The access file is a small versioned JSON document, hand-edited and
 * therefore parsed strictly: an unknown field, role, user or group is an
 * error that names the file and the JSON path, and the daemon refuses to
 * start on it.  Names are resolved once, at load; a key of digits only is
 * a numeric uid or gid (no passwd entry needed).
 *
 * A loaded table (struct access) is immutable: a reload builds a new one
 * and swaps the pointer under vesseld's lock.  No global state. */
#ifndef VESSEL_DAEMON_ACCESS_H
#define VESSEL_DAEMON_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ACCESS_VERSION 1                /* the file's "version" this code reads */
#define ACCESS_FILE_MAX (1u << 20)      /* a larger access file is refused */
#define ACCESS_MAX_ENTRIES 4096         /* users + groups in one file */
#define ACCESS_DEFAULT_FILE "/etc/vessel/access.json"
#define AUDIT_LOG_MAX (8u << 20)        /* audit.log is renamed to audit.log.1 past this */

/* Ordered: a higher role may do all that a lower one may.  ACCESS_NONE is
 * also "unset", which a route never has (the table's first field). */
enum access_role { ACCESS_NONE = 0, ACCESS_VIEWER, ACCESS_OPERATOR, ACCESS_ADMIN };

/* "none", "viewer", "operator", "admin". */
const char *access_role_name(enum access_role r);

struct access_entry {
    uint32_t id;                /* uid or gid */
    enum access_role role;
};

/* A loaded access file: sorted by id, no id twice. */
struct access {
    struct access_entry *users;
    size_t nusers;
    struct access_entry *groups;
    size_t ngroups;
};

/* How names in the file become ids.  Each returns 0 and the id, or
 * -ENOENT when there is no such name (any other -errno: the lookup
 * failed).  access_names_system uses getpwnam_r / getgrnam_r; tests and
 * the fuzzer give their own. */
struct access_names {
    int (*user)(void *opaque, const char *name, uint32_t *uid);
    int (*group)(void *opaque, const char *name, uint32_t *gid);
    void *opaque;
};
extern const struct access_names access_names_system;

/* Parse and validate an access document of len bytes (no NUL needed):
 *   {"version": 1, "users": {NAME|UID: ROLE}, "groups": {NAME|GID: ROLE}}
 * "version" is required; "users" and "groups" are optional objects; ROLE
 * is "viewer", "operator" or "admin".  `file` names the document in
 * messages.  On success *out is a new table (access_free it).  Returns 0,
 * -EINVAL with one line in err naming the file and the JSON path
 * (users.alice, groups) and what is accepted, -ENOTSUP for a newer
 * version, -ENOMEM.  Names are resolved through `names` (NULL: the
 * system's); two keys naming one id are refused.  Any thread. */
int access_parse(const char *file, const char *json, size_t len,
                 const struct access_names *names, struct access **out, char *err,
                 size_t elen);

/* Read path (at most ACCESS_FILE_MAX bytes) and access_parse it with the
 * system's names.  A missing file with missing_ok is an empty table (no
 * one but root and the daemon's user has a role).  Returns 0 or -errno
 * with a message naming the file. */
int access_load(const char *path, bool missing_ok, struct access **out, char *err,
                size_t elen);

void access_free(struct access *a);

/* The role of uid, whose groups (primary and supplementary, in any order,
 * repeats allowed) are gids[0..ngids).  uid 0 and `self` (the daemon's
 * euid) are admin whatever the table says; a NULL table gives no one else
 * a role.  Pure. */
enum access_role access_role_for(const struct access *a, uint32_t uid, const uint32_t *gids,
                                 size_t ngids, uint32_t self);

/* A connected peer, as SO_PEERCRED and the user database give it. */
struct access_peer {
    bool known;                 /* false: SO_PEERCRED failed; the peer has no role */
    uint32_t uid, gid;
    int32_t pid;
    uint32_t *groups;           /* malloc'd: gid, passwd primary group, getgrouplist */
    size_t ngroups;
};

/* Fill p from the connected unix socket fd: credentials, then (when the
 * uid has a passwd entry) its primary and supplementary groups.  Always
 * leaves p valid for access_peer_role and access_peer_free; p->known
 * false when the credentials could not be read.  May block on the user
 * database (NSS): called once per connection, with no lock held. */
void access_peer_get(int fd, struct access_peer *p);
void access_peer_free(struct access_peer *p);

/* The peer's role under table a (ACCESS_NONE for an unknown peer).
 * Caller holds whatever lock guards a. */
enum access_role access_peer_role(const struct access *a, const struct access_peer *p,
                                  uint32_t self);

/* ---- audit.c: STORE/audit.log ---- */

struct audit;

/* Open (create, mode 0600) dir/audit.log for appending; rotate_at bytes
 * (0: AUDIT_LOG_MAX) is where it is renamed to audit.log.1 (replacing
 * the previous one) and begun anew.  Returns 0 or -errno with a message. */
int audit_open(const char *dir, uint64_t rotate_at, struct audit **out, char *err,
               size_t elen);

/* Append one JSON line {"time" (RFC 3339, UTC), "uid", "pid", "role",
 * "method", "path", "vm" (when vm is non-empty), "status"} with one
 * write(2) on an O_APPEND descriptor.  Bytes of method and path that are
 * not printable ASCII are written as '?'.  A failed write loses the line
 * (and says so on stderr, rate-limited by the log's own state), never
 * the request.  Any thread. */
void audit_log(struct audit *a, const struct access_peer *p, enum access_role role,
               const char *method, const char *path, const char *vm, int status);

void audit_close(struct audit *a);

#endif
