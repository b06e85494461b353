/* daemon: a minimal HTTP/1.1 client for one VM's control API (docs/api.md)
 * on its unix socket.  One request per connection ("Connection: close"):
 * the VM's server (libmicrohttpd) answers with a Content-Length body and
 * closes, so the answer is everything up to EOF.  Bounded in time and
 * size: a VM that hangs or floods cannot hold a daemon thread.  Also what
 * the daemon keeps from a VM's GET /vm answer (the guest's address). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "util/util.h"

#define VMCTL_MAX_ANSWER (1u << 20)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` on fd until the deadline: 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

int vmapi_call(const char *sock, const char *method, const char *path, const char *body,
               int timeout_ms, int *status, json_t **resp, char *err, size_t elen)
{
    *status = 0;
    *resp = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(sock) >= sizeof(sa.sun_path))
        return errbuf(err, elen, -ENAMETOOLONG, "%s: socket path too long", sock);
    strcpy(sa.sun_path, sock);
    int64_t deadline = now_ms() + timeout_ms;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return errbuf(err, elen, -errno, "%s: socket: %s", sock, strerror(errno));
    char *req = NULL, *ans = NULL;
    int rc;
    /* A unix connect completes at once or fails (EAGAIN: backlog full). */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        rc = errbuf(err, elen, -errno, "%s: connect: %s", sock, strerror(errno));
        goto out;
    }
    size_t blen = body ? strlen(body) : 0;
    int rlen = asprintf(&req, "%s %s HTTP/1.1\r\nHost: vm\r\nConnection: close\r\n"
                        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                        method, path, blen, body ? body : "");
    if (rlen < 0) {
        req = NULL;
        rc = errbuf(err, elen, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t off = 0; off < (size_t)rlen;) {
        ssize_t n = send(fd, req + off, (size_t)rlen - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            rc = errbuf(err, elen, -errno, "%s: send: %s", sock, strerror(errno));
            goto out;
        }
        if ((rc = wait_fd(fd, POLLOUT, deadline))) {
            errbuf(err, elen, rc, "%s: %s %s: no answer in %d ms", sock, method, path,
                   timeout_ms);
            goto out;
        }
    }
    size_t len = 0, cap = 4096;
    if (!(ans = malloc(cap + 1))) {
        rc = errbuf(err, elen, -ENOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= VMCTL_MAX_ANSWER) {
                rc = errbuf(err, elen, -EPROTO, "%s: answer over %u bytes", sock,
                            VMCTL_MAX_ANSWER);
                goto out;
            }
            char *nb = realloc(ans, cap * 2 + 1);
            if (!nb) {
                rc = errbuf(err, elen, -ENOMEM, "out of memory");
                goto out;
            }
            ans = nb;
            cap *= 2;
        }
        ssize_t n = recv(fd, ans + len, cap - len, 0);
        if (n > 0) {
            len += (size_t)n;
            continue;
        }
        if (n == 0)
            break;
        if (errno != EAGAIN && errno != EINTR) {
            rc = errbuf(err, elen, -errno, "%s: recv: %s", sock, strerror(errno));
            goto out;
        }
        if ((rc = wait_fd(fd, POLLIN, deadline))) {
            errbuf(err, elen, rc, "%s: %s %s: no answer in %d ms", sock, method, path,
                   timeout_ms);
            goto out;
        }
    }
    ans[len] = 0;
    int st;
    char *hend = strstr(ans, "\r\n\r\n");
    if (sscanf(ans, "HTTP/1.%*d %d", &st) != 1 || st < 100 || st > 599 || !hend) {
        rc = errbuf(err, elen, -EPROTO, "%s: not an HTTP answer", sock);
        goto out;
    }
    *status = st;
    hend += 4;
    if (*hend)
        *resp = json_loadb(hend, len - (size_t)(hend - ans), 0, NULL);
    rc = 0;
out:
    free(req);
    free(ans);
    close(fd);
    return rc;
}

/* ---- what the daemon keeps from GET /vm ---- */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vmapi_learn_locked(struct dvm *dvm, json_t *vm)
{
    size_t i;
    json_t *dev;
    dvm->ip[0] = 0;
    dvm->info_ns = mono_ns();
    json_array_foreach(json_object_get(vm, "devices"), i, dev) {
        const char *type = json_string_value(json_object_get(dev, "type"));
        if (!type || strcmp(type, "virtio-net"))
            continue;
        /* The VM process is sandboxed but still the guest's neighbour:
         * keep only what parses as an address. */
        const char *ip = json_string_value(json_object_get(dev, "ip"));
        struct in_addr a;
        if (ip && strlen(ip) < sizeof(dvm->ip) && inet_pton(AF_INET, ip, &a) == 1) {
            snprintf(dvm->ip, sizeof(dvm->ip), "%s", ip);
            return;
        }
    }
}

void vmapi_learn(struct vesseld *d, const char *name, pid_t pid, json_t *vm)
{
    pthread_mutex_lock(&d->lock);
    struct dvm *dvm = store_find(d, name);
    if (dvm && pid && dvm->pid == pid)
        vmapi_learn_locked(dvm, vm);
    pthread_mutex_unlock(&d->lock);
}
