#!/usr/bin/env python3
"""Snapshot benchmark of a booted Linux guest: Vessel against QEMU, same run.

Boots the Debian kernel + busybox initramfs guest (scripts/fetch-guest.sh) to
its shell prompt in `vessel run` and in `qemu-system-riscv64`, for each RAM
size, and measures with each monitor (Vessel: the control API on a unix
socket, docs/api.md; QEMU: QMP on a unix socket):

  pause        request sent -> answer (the VM is paused when it answers)
  snapshot     paused VM -> full snapshot on disk, fsync'd
               (Vessel: PUT /snapshot/create; QEMU: `migrate` into a file
               passed with `getfd`: QEMU 7.2 has no `file:` URI, and an
               `exec:cat > FILE` child may be killed by QEMU before it has
               written everything; bandwidth limit lifted, as savevm does)
  file size    bytes of data (not holes) in the memory file (QEMU: the
               stream), against the guest's non-zero and resident RAM
  restore      process start -> the VM running (Vessel: GET /vm says
               "running"; QEMU: `-incoming "exec:cat FILE"`, query-status
               says "running" after a `cont` once loaded: the stream
               keeps the paused state of the source)
  answer       process start -> the guest's shell answered a command typed
               on the console after the VM is running

Each figure is the best of `runs` (the machine is shared: noise only adds
time); every run's figure is in the progress lines.  Progress goes to stderr, the table to
stdout.  python3 standard library only.

usage: compare.py VESSEL KERNEL INITRD FIRMWARE TMPDIR [runs] [sizes...]
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

PROMPT = b"vessel:/# "
APPEND = "console=ttyS0 quiet"
BOOT_TIMEOUT = 600
ANSWER_TIMEOUT = 20


def log(msg):
    sys.stderr.write("[%7.1f s] %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


T0 = time.monotonic()


class Console:
    """The guest's console on a child's stdin/stdout, read on a thread."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = bytearray()
        self.cv = threading.Condition()
        self.eof = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            d = os.read(fd, 65536)
            with self.cv:
                if not d:
                    self.eof = True
                else:
                    self.buf += d
                self.cv.notify_all()
            if not d:
                return

    def mark(self):
        with self.cv:
            return len(self.buf)

    def wait_for(self, pat, start, timeout):
        """Monotonic time at which `pat` was seen past offset `start`."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while pat not in self.buf[start:]:
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    tail = bytes(self.buf[-800:]).decode(errors="replace")
                    raise RuntimeError("console: %r not seen (%s); last output:\n%s"
                                       % (pat, "exit" if self.eof else "timeout", tail))
                self.cv.wait(left)
            return time.monotonic()

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def ask(self, n, timeout=60):
        """Type a command; the time its answer arrived."""
        start = self.mark()
        self.send(b"echo A$((%d*7))Z\n" % n)
        return self.wait_for(b"A%dZ" % (n * 7), start, timeout)


def http(path, method, url, body=None, timeout=120):
    """One HTTP/1.1 request on the unix socket `path`: (status, json|None)."""
    data = json.dumps(body).encode() if body is not None else b""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(b"%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n%s" % (method.encode(), url.encode(),
                                                     len(data), data))
        resp = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            resp += d
    finally:
        s.close()
    head, _, payload = resp.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, (json.loads(payload) if payload.strip() else None)


def api(path, method, url, body=None, want=None):
    st, j = http(path, method, url, body)
    if want is not None and st != want:
        raise RuntimeError("%s %s: HTTP %d %s" % (method, url, st, j))
    return j


class QMP:
    def __init__(self, path, timeout=300):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        json.loads(self.f.readline())           # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, args=None, fds=None):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        data = json.dumps(msg).encode() + b"\n"
        if fds:
            socket.send_fds(self.s, [data], fds)
        else:
            self.s.sendall(data)
        while True:
            r = json.loads(self.f.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError("QMP %s: %s" % (name, r["error"]))

    def close(self):
        self.f.close()
        self.s.close()


def wait_socket(path, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("process exited (%d) before %s appeared"
                               % (proc.returncode, path))
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.close()
            return
        except OSError:
            s.close()
            time.sleep(0.001)
    raise RuntimeError("%s did not appear in %d s" % (path, timeout))


CHILDREN = []


def spawn(argv, errlog, env=None):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=open(errlog, "ab"), env=env)
    CHILDREN.append(p)
    return p


def kill_children():
    """No VM outlives the benchmark, whatever failed."""
    for p in CHILDREN:
        if p.poll() is None:
            p.kill()
            p.wait()


def stop(proc, timeout=30):
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def data_bytes(path):
    """(bytes in data extents, bytes of the 4 KiB pages among them that
    hold a non-zero byte).  The data extents, not st_blocks, because the
    file system also counts its own extent-tree blocks there."""
    n = data = 0
    zero = bytes(4096)
    with open(path, "rb") as f:
        fd = f.fileno()
        end = os.fstat(fd).st_size
        pos = 0
        while pos < end:
            try:
                pos = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break
            hole = os.lseek(fd, pos, os.SEEK_HOLE)
            data += hole - pos
            f.seek(pos)
            while pos < hole:
                page = f.read(min(4096, hole - pos))
                if page != zero[:len(page)]:
                    n += len(page)
                pos += len(page)
    return data, n


def best(xs):
    return min(xs)


# ---------------------------------------------------------------- Vessel

def bench_vessel(a, mem, res):
    sock = os.path.join(a.tmp, "v.sock")
    machine = ["-m", mem, "--kernel", a.kernel, "--initrd", a.initrd,
               "--firmware", a.firmware, "--append", APPEND]
    env = dict(os.environ, VESSEL_STATS="1")
    errlog = os.path.join(a.tmp, "vessel-%s.log" % mem)
    log("vessel -m %s: booting the guest to its shell" % mem)
    t = time.monotonic()
    p = spawn([a.vessel, "run", "--api-sock", sock] + machine, errlog, env)
    con = Console(p)
    wait_socket(sock, p)
    con.wait_for(PROMPT, 0, BOOT_TIMEOUT)
    con.ask(1)
    log("vessel -m %s: shell answers after %.1f s" % (mem, time.monotonic() - t))

    pause = []
    for i in range(a.runs):
        t = time.monotonic()
        api(sock, "PATCH", "/vm", {"state": "paused"}, 204)
        pause.append(time.monotonic() - t)
        api(sock, "PATCH", "/vm", {"state": "running"}, 204)
        con.ask(10 + i)
    log("vessel -m %s: pause %s ms" % (mem, " ".join("%.2f" % (x * 1e3) for x in pause)))

    snaps, create = [], []
    for i in range(a.runs):
        d = os.path.join(a.tmp, "vsnap-%s-%d" % (mem, i))
        if i:
            api(sock, "PATCH", "/vm", {"state": "running"}, 204)
            con.ask(20 + i)
        api(sock, "PATCH", "/vm", {"state": "paused"}, 204)
        os.sync()   # the previous run's writes do not queue ahead of this one's
        t = time.monotonic()
        api(sock, "PUT", "/snapshot/create", {"path": d}, 201)
        create.append(time.monotonic() - t)
        snaps.append(d)
    log("vessel -m %s: snapshot %s ms" % (mem, " ".join("%.1f" % (x * 1e3) for x in create)))
    api(sock, "PUT", "/actions", {"action": "poweroff"}, 204)
    stop(p)
    resident = None
    for line in open(errlog, errors="replace"):
        if "guest-ram-resident-kib=" in line:
            resident = int(line.split("guest-ram-resident-kib=")[1].split()[0]) * 1024
    memfile = os.path.join(snaps[0], "memory")
    alloc, nonzero = data_bytes(memfile)
    for d in snaps[1:]:
        subprocess.run(["rm", "-rf", d], check=True)

    restore, inproc, answer, up = [], [], [], []
    for i in range(a.runs):
        rsock = os.path.join(a.tmp, "vr.sock")
        rlog = os.path.join(a.tmp, "vessel-restore-%s.log" % mem)
        t = time.monotonic()
        p = spawn([a.vessel, "run", "--api-sock", rsock, "--restore", snaps[0]] + machine,
                  rlog)
        con = Console(p)
        wait_socket(rsock, p)
        up.append(time.monotonic() - t)
        while api(rsock, "GET", "/vm", want=200)["state"] != "running":
            if time.monotonic() - t > 60:
                raise RuntimeError("restored VM not running after 60 s")
        restore.append(time.monotonic() - t)
        try:
            answer.append(con.ask(100 + i, ANSWER_TIMEOUT) - t)
        except RuntimeError:
            log("vessel -m %s: restore %d: the guest did not answer in %d s"
                % (mem, i, ANSWER_TIMEOUT))
            res["noanswer"] = res.get("noanswer", 0) + 1
        api(rsock, "PUT", "/actions", {"action": "poweroff"}, 204)
        stop(p)
        for line in open(rlog, errors="replace"):
            if "restored from" in line:
                inproc.append(int(line.split(" in ")[-1].split()[0]) / 1e6)
    log("vessel -m %s: restore->running %s ms, answer %s ms" % (
        mem, " ".join("%.1f" % (x * 1e3) for x in restore),
        " ".join("%.1f" % (x * 1e3) for x in answer)))
    res.update(pause=best(pause), create=best(create), alloc=alloc,
               nonzero=nonzero, resident=resident, restore=best(restore),
               inproc=best(inproc) if inproc else None,
               answer=best(answer) if answer else None,
               up=best(up))
    subprocess.run(["rm", "-rf", snaps[0]], check=True)


# ---------------------------------------------------------------- QEMU

def bench_qemu(a, mem, res):
    sock = os.path.join(a.tmp, "q.sock")
    machine = ["qemu-system-riscv64", "-machine", "virt", "-smp", "1", "-m", mem,
               "-nodefaults", "-display", "none", "-monitor", "none",
               "-serial", "stdio", "-bios", a.firmware, "-kernel", a.kernel,
               "-initrd", a.initrd, "-append", APPEND]
    errlog = os.path.join(a.tmp, "qemu-%s.log" % mem)
    log("qemu -m %s: booting the guest to its shell" % mem)
    t = time.monotonic()
    p = spawn(machine + ["-qmp", "unix:%s,server=on,wait=off" % sock], errlog)
    con = Console(p)
    wait_socket(sock, p)
    q = QMP(sock)
    con.wait_for(PROMPT, 0, BOOT_TIMEOUT)
    con.ask(1)
    log("qemu -m %s: shell answers after %.1f s" % (mem, time.monotonic() - t))

    pause = []
    for i in range(a.runs):
        t = time.monotonic()
        q.cmd("stop")
        pause.append(time.monotonic() - t)
        q.cmd("cont")
        con.ask(10 + i)
    log("qemu -m %s: pause %s ms" % (mem, " ".join("%.2f" % (x * 1e3) for x in pause)))

    q.cmd("migrate-set-parameters", {"max-bandwidth": 1 << 40})
    files, create = [], []
    for i in range(a.runs):
        path = os.path.join(a.tmp, "qsnap-%s-%d" % (mem, i))
        if i:
            q.cmd("cont")       # QEMU migrates a stopped VM only once
            con.ask(20 + i)
        q.cmd("stop")
        os.sync()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        t = time.monotonic()
        q.cmd("getfd", {"fdname": "snap"}, fds=[fd])
        q.cmd("migrate", {"uri": "fd:snap"})
        while True:
            st = q.cmd("query-migrate").get("status")
            if st == "completed":
                break
            if st in ("failed", "cancelled"):
                raise RuntimeError("QEMU migrate to %s: %s" % (path, st))
            time.sleep(0.001)
        os.fsync(fd)
        create.append(time.monotonic() - t)
        os.close(fd)
        files.append(path)
    log("qemu -m %s: snapshot %s ms" % (mem, " ".join("%.1f" % (x * 1e3) for x in create)))
    q.cmd("quit")
    q.close()
    stop(p)
    alloc = data_bytes(files[0])[0]
    for f in files[1:]:
        os.unlink(f)

    restore, answer, up = [], [], []
    for i in range(a.runs):
        rsock = os.path.join(a.tmp, "qr.sock")
        t = time.monotonic()
        p = spawn(machine + ["-qmp", "unix:%s,server=on,wait=off" % rsock,
                             "-incoming", "exec:cat %s" % files[0]], errlog)
        con = Console(p)
        wait_socket(rsock, p)
        up.append(time.monotonic() - t)
        q = QMP(rsock)
        # The snapshot was taken paused, so the loaded VM stays paused
        # (QEMU keeps the source's run state): resume it once loaded.
        while True:
            st = q.cmd("query-status")["status"]
            if st == "running":
                break
            if st != "inmigrate":
                q.cmd("cont")
            elif time.monotonic() - t > 120:
                raise RuntimeError("QEMU: still loading 120 s after -incoming")
        restore.append(time.monotonic() - t)
        try:
            answer.append(con.ask(100 + i, ANSWER_TIMEOUT) - t)
        except RuntimeError:
            log("qemu -m %s: restore %d: the guest did not answer in %d s"
                % (mem, i, ANSWER_TIMEOUT))
            res["noanswer"] = res.get("noanswer", 0) + 1
        q.cmd("quit")
        q.close()
        stop(p)
    log("qemu -m %s: restore->running %s ms, answer %s ms" % (
        mem, " ".join("%.1f" % (x * 1e3) for x in restore),
        " ".join("%.1f" % (x * 1e3) for x in answer)))
    res.update(pause=best(pause), create=best(create), alloc=alloc,
               restore=best(restore), answer=best(answer) if answer else None, up=best(up))
    os.unlink(files[0])


# ---------------------------------------------------------------- report

def ms(x):
    return "%.2f ms" % (x * 1e3) if x is not None else "-"


def mib(x):
    return "%.1f MiB" % (x / 1048576) if x is not None else "-"


def report(mem, v, q, runs):
    rows = []

    def row(op, fmt, vv, qv, target, ok):
        ratio = "%.2fx" % (vv / qv) if vv is not None and qv else "-"
        verdict = "" if ok is None else ("  [met]" if ok else "  [NOT met]")
        rows.append("%-34s %-5s %12s %12s %9s  %s%s" % (op, mem, fmt(vv), fmt(qv), ratio,
                                                      target, verdict))

    row("pause (request -> paused)", ms, v["pause"], q.get("pause"),
        "vCPUs stopped within 10 ms", v["pause"] <= 0.010)
    row("full snapshot (paused -> fsync'd)", ms, v["create"], q.get("create"),
        ">= 2x faster than QEMU",
        q.get("create") and v["create"] * 2 <= q["create"])
    row("snapshot memory file (data)", mib, v["alloc"], q.get("alloc"),
        "<= touched non-zero RAM (%s non-zero, %s resident)" % (
            mib(v["nonzero"]), mib(v["resident"])),
        v["alloc"] <= v["nonzero"] and (v["resident"] is None or v["alloc"] <= v["resident"]))
    small = mem.upper() in ("512M", "512MIB")
    row("restore: process start -> running", ms, v["restore"], q.get("restore"),
        "<= 10 ms for 512 MiB" if small else "<= 20 ms (the 4 GiB target)",
        v["restore"] <= (0.010 if small else 0.020))
    row("  of which start -> monitor socket", ms, v["up"], q.get("up"),
        "process start, VM built, socket listening", None)
    row("  of which vessel's restore itself", ms, v["inproc"], None,
        "state read + memory mapped + board (log)", None)
    lost = ", ".join("%s: %d of %d restores never answered" % (who, r["noanswer"], runs)
                     for who, r in (("vessel", v), ("qemu", q)) if r.get("noanswer"))
    row("restore: start -> console answer", ms, v["answer"], q.get("answer"), lost, None)
    return rows


def main():
    class A:
        pass
    a = A()
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    a.vessel, a.kernel, a.initrd, a.firmware, a.tmp = sys.argv[1:6]
    a.runs = int(sys.argv[6]) if len(sys.argv) > 6 else 3
    sizes = sys.argv[7:] or ["512M", "2G"]
    have_qemu = subprocess.run(["sh", "-c", "command -v qemu-system-riscv64"],
                               stdout=subprocess.DEVNULL).returncode == 0
    if not have_qemu:
        log("qemu-system-riscv64 not found (scripts/install-deps.sh installs "
            "qemu-system-misc): Vessel's figures only")
    out = []
    for mem in sizes:
        v, q = {}, {}
        try:
            bench_vessel(a, mem, v)
            if have_qemu:
                bench_qemu(a, mem, q)
        finally:
            kill_children()
        out += report(mem, v, q, a.runs)
    print("%-34s %-5s %12s %12s %9s  %s" % ("operation (best of %d)" % a.runs, "RAM",
                                            "vessel", "qemu", "v/q", "target"))
    print("\n".join(out))


if __name__ == "__main__":
    main()
