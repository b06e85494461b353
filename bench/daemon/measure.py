#!/usr/bin/env python3
"""Daemon benchmark (issue "vesseld"; bench/daemon/run.sh runs it).

Starts vesseld on a temporary store and socket, creates N VMs that run
tests/cli/guest/idle.S (prints "idle: ready", then waits for interrupts
with all of them off: a VM that costs no CPU), starts them all through the
REST API (docs/daemon-api.yaml), and measures:

  list latency      GET /vms with N VMs running (median, p99 of 200)
  get latency       GET /vms/NAME (median, p99 of 200)
  pause+resume      PUT /vms/NAME/state pause then resume (median of 20)
  start -> first    PUT /vms/NAME/state start -> the guest's first line
  instruction       in the VM's console.log (median of 10 starts; the
                    line is written a few instructions after the first)
  daemon RSS        vesseld's VmRSS with N VMs running
  VM overhead       each VM process's PSS (its share of the host's memory:
                    shared library pages divided among the processes that
                    map them), with RSS and private bytes beside it; the
                    few pages of guest RAM the idle guest touches count as
                    overhead (an upper bound)

Targets (the issue's): start to first instruction < 50 ms; the daemon
< 10 MiB RSS with 50 VMs; VM process overhead < 5 MiB.

usage: measure.py VESSELD VESSEL IDLE_ELF TMPDIR [nvms]   (BENCH_NICS=1: a user-mode
network card per VM, so the daemon polls each for its guest's address)
python3 standard library only.
"""
import json, os, socket, statistics, subprocess, sys, time

def http(sock, method, path, body=None, timeout=30):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock)
    data = b"" if body is None else json.dumps(body).encode()
    s.sendall(("%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % (method, path, len(data))).encode() + data)
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"chunked" in head.lower():
        out = b""
        while rest:
            n, _, rest = rest.partition(b"\r\n")
            n = int(n, 16)
            if not n:
                break
            out += rest[:n]
            rest = rest[n + 2:]
        rest = out
    return status, rest

def api(sock, method, path, body=None, want=(200,)):
    st, b = http(sock, method, path, body)
    if st not in want:
        raise RuntimeError("%s %s: HTTP %d %s" % (method, path, st, b[:300]))
    return json.loads(b) if b.strip() else None

def rss_kib(pid, field="VmRSS"):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0

def rollup_kib(pid):
    """Rss, Pss and private (Private_Clean + Private_Dirty) of pid, KiB."""
    f = {}
    for line in open("/proc/%d/smaps_rollup" % pid):
        k, _, v = line.partition(":")
        if v.strip().endswith("kB"):
            f[k] = int(v.split()[0])
    return f["Rss"], f["Pss"], f["Private_Clean"] + f["Private_Dirty"]

def wait_for(cond, timeout=60, step=0.0005):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return time.monotonic()
        time.sleep(step)
    raise RuntimeError("timed out")

def console_has(path, text):
    try:
        with open(path, "rb") as f:
            return text in f.read()
    except OSError:
        return False

def ms(xs):
    return "%.2f ms" % (statistics.median(xs) * 1e3)

def p99(xs):
    xs = sorted(xs)
    return "%.2f ms" % (xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1e3)

def main():
    vesseld, vessel, idle, tmp = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 50
    store, sock = os.path.join(tmp, "store"), os.path.join(tmp, "d.sock")
    d = subprocess.Popen([vesseld, "--store", store, "--socket", sock, "--vessel", vessel],
                         stdout=open(os.path.join(tmp, "vesseld.log"), "w"),
                         stderr=subprocess.STDOUT)
    rows = []
    try:
        wait_for(lambda: os.path.exists(sock), 20, 0.01)
        names = ["idle-%02d" % i for i in range(n)]
        # BENCH_NICS=1: each VM gets a user-mode network card, so the
        # daemon's monitor asks every VM for its guest's address each 2 s
        # while the latencies are measured.
        nics = [{"backend": "user"}] if os.environ.get("BENCH_NICS") == "1" else []
        for name in names:
            api(sock, "POST", "/vms", {"version": 1, "name": name, "vcpus": 1,
                                       "memory": "16M", "boot": {"bios": os.path.abspath(idle)},
                                       "nics": nics},
                (201,))
        t0 = time.monotonic()
        for name in names:
            api(sock, "PUT", "/vms/%s/state" % name, {"action": "start"})
        for name in names:
            log = os.path.join(store, "vms", name, "console.log")
            wait_for(lambda: console_has(log, b"idle: ready"), 120)
        sys.stderr.write("%d VMs started and at their first line in %.2f s\n"
                         % (n, time.monotonic() - t0))
        lst, get = [], []
        for i in range(200):
            t = time.monotonic()
            vms = api(sock, "GET", "/vms")["vms"]
            lst.append(time.monotonic() - t)
            t = time.monotonic()
            api(sock, "GET", "/vms/%s" % names[i % n])
            get.append(time.monotonic() - t)
        running = sum(1 for v in vms if v["state"] == "running")
        if running != n:
            raise RuntimeError("%d of %d VMs running" % (running, n))
        rows.append(("GET /vms (%d VMs)" % n, ms(lst), p99(lst), ""))
        rows.append(("GET /vms/NAME", ms(get), p99(get), ""))
        pr = []
        for i in range(20):
            t = time.monotonic()
            api(sock, "PUT", "/vms/%s/state" % names[0], {"action": "pause"})
            api(sock, "PUT", "/vms/%s/state" % names[0], {"action": "resume"})
            pr.append(time.monotonic() - t)
        rows.append(("pause + resume (2 requests)", ms(pr), p99(pr), ""))
        drss = rss_kib(d.pid)
        rows.append(("vesseld RSS, %d VMs running" % n, "%.1f MiB" % (drss / 1024), "",
                     "< 10 MiB  [%s]" % ("met" if drss < 10 * 1024 else "NOT met")))
        # A VM process's RSS counts the shared libraries' pages in every
        # process; PSS divides them among the processes sharing them, so
        # PSS is what each VM adds to the host.  The guest RAM this idle
        # guest touched (its program, the device tree) is a few pages and
        # is counted as overhead here: an upper bound.
        rs = [rollup_kib(v["pid"]) for v in vms if v.get("pid")]
        rss = statistics.median(r[0] for r in rs) / 1024
        pss = statistics.median(r[1] for r in rs) / 1024
        prv = statistics.median(r[2] for r in rs) / 1024
        rows.append(("VM process PSS (16 MiB idle guest)", "%.1f MiB" % pss,
                     "RSS %.1f MiB" % rss,
                     "overhead < 5 MiB  [%s]; private %.1f MiB" % ("met" if pss < 5 else "NOT met", prv)))
        # Start to first instruction: stop one VM, start it again, time the
        # first console line of the new run.
        first = []
        name = names[-1]
        log = os.path.join(store, "vms", name, "console.log")
        for i in range(10):
            api(sock, "PUT", "/vms/%s/state" % name, {"action": "kill"})
            wait_for(lambda: api(sock, "GET", "/vms/%s" % name)["state"] in ("stopped", "crashed"), 30, 0.005)
            before = open(log, "rb").read().count(b"idle: ready")
            t = time.monotonic()
            api(sock, "PUT", "/vms/%s/state" % name, {"action": "start"})
            end = wait_for(lambda: open(log, "rb").read().count(b"idle: ready") > before, 30)
            first.append(end - t)
        rows.append(("start -> first instruction", ms(first), "min %.2f ms" % (min(first) * 1e3),
                     "< 50 ms  [%s]" % ("met" if statistics.median(first) < 0.05 else "NOT met")))
    finally:
        try:
            for name in ["idle-%02d" % i for i in range(n)]:
                http(sock, "PUT", "/vms/%s/state" % name, {"action": "kill"}, 10)
        except Exception as e:
            sys.stderr.write("cleanup: %s\n" % e)
        d.terminate()
        d.wait(30)
    print("%-38s %12s %14s  %s" % ("operation", "median", "p99/other", "target"))
    for r in rows:
        print("%-38s %12s %14s  %s" % r)

if __name__ == "__main__":
    main()
