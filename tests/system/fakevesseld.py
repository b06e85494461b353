#!/usr/bin/env python3
"""A stand-in for vesseld that answers the REST API v1 (docs/cli.md) with
VMs that exist only in memory, so the `vessel` client can be tested on its
own.  Standard library only.

usage: fakevesseld.py SOCKET

Beyond the contract, for tests:
  GET  /debug/subscribers      number of open /events streams
  POST /debug/end-events       end every /events stream (last chunk)
  GET  /vms/badhttp            answers bytes that are not HTTP
  GET  /vms/badjson            answers 200 with a body that is not JSON
  GET  /vms/cutoff             closes in the middle of its body
  GET  /vms/secret             answers 403
  POST /vms {"name":"outside"} answers 400
A running VM's counters advance with wall time: 0.5 vCPU-seconds, 1 MiB
of disk and 64 KiB of network traffic per second, so `vessel top` has
known rates.
"""
import json, os, re, socketserver, sys, threading, time, uuid
from http.server import BaseHTTPRequestHandler

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
FIELDS = {"version", "name", "uuid", "vcpus", "memory", "boot", "disks", "nics",
          "autostart", "restart"}
lock = threading.Lock()
vms = {}            # name -> dict
subscribers = []    # lists receiving event lines
events_gen = [0]  # POST /debug/end-events bumps it: streams opened before end


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def event(vm, ev, detail=""):
    line = json.dumps({"time": now(), "vm": vm, "event": ev, "detail": detail})
    for q in subscribers:
        q.append(line)


def mem_bytes(v):
    if isinstance(v, int):
        return v
    m = re.match(r"^(\d+)([KMGT])$", v or "")
    if not m:
        raise ValueError
    return int(m.group(1)) << (10 * "KMGT".index(m.group(2)) + 10)


def running_seconds(vm):
    t = vm["run_total"]
    if vm["state"] == "running":
        t += time.monotonic() - vm["since"]
    return t


def summary(vm):
    s = {"name": vm["name"], "uuid": vm["uuid"], "state": vm["state"],
         "vcpus": vm["config"].get("vcpus", 1),
         "memory": mem_bytes(vm["config"].get("memory", "512M")),
         "uptime": int(time.monotonic() - vm["started"]) if vm["state"] in ("running", "paused") else None,
         "pid": 4242 if vm["state"] in ("running", "paused") else None,
         "ip": "10.0.2.15" if vm["state"] == "running" else None}
    if vm["state"] == "broken":
        s["error"] = vm["error"]
    return s


def full(vm):
    s = summary(vm)
    s.update({"config": vm["config"], "restarts": 0, "sandbox": True,
              "instructions": 123456789 if vm["state"] != "stopped" else None})
    return s


def set_state(vm, new):
    if vm["state"] == "running":
        vm["run_total"] += time.monotonic() - vm["since"]
    if new == "running":
        vm["since"] = time.monotonic()
    vm["state"] = new


TRANSITIONS = {  # action -> (states it applies to, new state, event)
    "start": (("stopped", "crashed"), "running", "started"),
    "stop": (("running", "paused"), "stopped", "stopped"),
    "kill": (("running", "paused", "starting", "stopping"), "stopped", "stopped"),
    "pause": (("running",), "paused", "paused"),
    "resume": (("paused",), "running", "resumed"),
    "reset": (("running", "paused"), "running", "reset"),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fakevesseld: " + (fmt % args) + "\n")

    def address_string(self):
        return "unix"

    def reply(self, status, obj=None, text=None, ctype="application/json"):
        body = b""
        if obj is not None:
            body = (json.dumps(obj) + "\n").encode()
        elif text is not None:
            body = text.encode()
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def error(self, status, msg):
        self.reply(status, {"error": msg})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            self.error(413, "request body of %d bytes is over the 1 MiB limit" % n)
            return None
        try:
            return json.loads(self.rfile.read(n) or b"null")
        except ValueError as e:
            self.error(400, "body: not JSON: %s" % e)
            return None

    def vm(self, name):
        v = vms.get(name)
        if not v:
            self.error(404, 'no VM named "%s"' % name)
        return v

    # ---- routes ----
    def do_GET(self):
        p = self.path.split("?")[0]
        if p == "/host":
            with lock:
                n = len(vms)
                r = sum(1 for v in vms.values() if v["state"] == "running")
            return self.reply(200, {"api_version": 1, "version": "fake", "cores": 2,
                                    "memory": 1 << 33, "store": "/fake",
                                    "vms": {"total": n, "running": r}})
        if p == "/vms":
            with lock:
                return self.reply(200, {"vms": [summary(vms[k]) for k in sorted(vms)]})
        if p == "/metrics":
            return self.metrics()
        if p == "/events":
            return self.events()
        if p == "/debug/subscribers":
            return self.reply(200, {"subscribers": len(subscribers)})
        if p == "/vms/badhttp":
            self.wfile.write(b"garbage that is not HTTP\r\n\r\n")
            self.close_connection = True
            return
        if p == "/vms/badjson":
            return self.reply(200, text="this is not json", ctype="application/json")
        if p == "/vms/secret":
            return self.error(403, "uid 1000 has role viewer; GET /vms/secret needs admin")
        if p == "/vms/cutoff":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"name\":")
            self.close_connection = True
            return
        m = re.match(r"^/vms/([^/]+)(/console)?$", p)
        if not m:
            return self.error(404, "no route GET %s" % p)
        with lock:
            vm = self.vm(m.group(1))
            if not vm:
                return
            if not m.group(2):
                return self.reply(200, full(vm))
        if self.headers.get("Upgrade", "").lower() == "vessel-console" and \
                "upgrade" in self.headers.get("Connection", "").lower():
            return self.console(vm)
        return self.reply(200, text="boot log of %s\n" % vm["name"], ctype="text/plain")

    def do_POST(self):
        if self.path == "/debug/end-events":
            with lock:
                events_gen[0] += 1
            return self.reply(200, {})
        if self.path != "/vms":
            return self.error(404, "no route POST %s" % self.path)
        b = self.body()
        if b is None:
            return
        if not isinstance(b, dict):
            return self.error(400, "body: expected a vm.json object")
        bad = sorted(set(b) - FIELDS)
        if bad:
            return self.error(400, "%s: unknown field" % bad[0])
        name = b.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            return self.error(400, "name: expected 1 to 63 of A-Z a-z 0-9 . _ -")
        try:
            mem_bytes(b.get("memory", "512M"))
        except (ValueError, TypeError):
            return self.error(400, "memory: expected bytes or a size such as 512M")
        if name == "outside":
            return self.error(400, "disks[0].path: /etc/shadow is outside the store and "
                              "not owned by the VM")
        with lock:
            if name in vms:
                return self.error(409, 'a VM named "%s" exists' % name)
            b.setdefault("uuid", str(uuid.uuid4()))
            vm = {"name": name, "uuid": b["uuid"], "state": "stopped", "config": b,
                  "run_total": 0.0, "since": 0.0, "started": time.monotonic()}
            if name.startswith("broken"):
                vm["state"] = "broken"
                vm["error"] = "vms/%s/vm.json: vcpus: 99 is out of range, expected 1 to 16" % name
            vms[name] = vm
            event(name, "created")
            return self.reply(201, full(vm))

    def do_PUT(self):
        m = re.match(r"^/vms/([^/]+)/state$", self.path)
        if not m:
            return self.error(404, "no route PUT %s" % self.path)
        b = self.body()
        if b is None:
            return
        with lock:
            vm = self.vm(m.group(1))
            if not vm:
                return
            act = b.get("action") if isinstance(b, dict) else None
            if act not in TRANSITIONS:
                return self.error(400, "action: %r is not one of start, stop, kill, pause, "
                                  "resume, reset" % (act,))
            if act == "stop" and "timeout" in b and not isinstance(b["timeout"], int):
                return self.error(400, "timeout: expected whole seconds")
            ok, new, ev = TRANSITIONS[act]
            if vm["state"] not in ok:
                if act == "start" and vm["state"] == "running":
                    return self.error(409, 'VM "%s" is already running' % vm["name"])
                return self.error(409, 'VM "%s" is %s: %s does not apply' %
                                  (vm["name"], vm["state"], act))
            if act == "start":
                vm["started"] = time.monotonic()
            set_state(vm, new)
            vm["last_action"] = b
            # The detail says what was asked, so a test can check the body sent.
            detail = act if act in ("stop", "kill") else ""
            if "timeout" in b:
                detail += " timeout %s" % b["timeout"]
            event(vm["name"], ev, detail)
            return self.reply(200, full(vm))

    def do_PATCH(self):
        m = re.match(r"^/vms/([^/]+)$", self.path)
        if not m:
            return self.error(404, "no route PATCH %s" % self.path)
        b = self.body()
        if b is None:
            return
        with lock:
            vm = self.vm(m.group(1))
            if not vm:
                return
            for k in b:
                if k not in ("vcpus", "memory", "autostart", "restart"):
                    return self.error(400, "%s: cannot be changed, expected vcpus, memory, "
                                      "autostart or restart" % k)
                if k in ("vcpus", "memory") and vm["state"] != "stopped":
                    return self.error(409, "%s: can change only while the VM is stopped "
                                      "(it is %s)" % (k, vm["state"]))
            vm["config"].update(b)
            event(vm["name"], "updated", ",".join(sorted(b)))
            return self.reply(200, full(vm))

    def do_DELETE(self):
        path, _, query = self.path.partition("?")
        m = re.match(r"^/vms/([^/]+)$", path)
        if not m:
            return self.error(404, "no route DELETE %s" % self.path)
        with lock:
            vm = self.vm(m.group(1))
            if not vm:
                return
            if vm["state"] not in ("stopped", "crashed", "broken"):
                return self.error(409, 'VM "%s" is %s; stop it first' % (vm["name"], vm["state"]))
            del vms[vm["name"]]
            event(vm["name"], "deleted", "keep_disks" if query == "keep_disks=true" else "")
            return self.reply(204)

    # ---- streams ----
    def metrics(self):
        out = ["# TYPE vessel_vm_vcpu_seconds_total counter"]
        with lock:
            for name in sorted(vms):
                vm = vms[name]
                t = running_seconds(vm)
                lbl = 'vm="%s"' % name
                out.append('vessel_vm_state{%s,state="%s"} 1' % (lbl, vm["state"]))
                out.append("vessel_vm_vcpu_seconds_total{%s} %.6f" % (lbl, t * 0.5))
                out.append("vessel_vm_instructions_total{%s} %d" % (lbl, int(t * 1e8)))
                out.append("vessel_vm_memory_touched_bytes{%s} %d" % (lbl, 64 << 20))
                out.append('vessel_vm_disk_read_bytes_total{%s,disk="vda"} %d' % (lbl, int(t * (768 << 10))))
                out.append('vessel_vm_disk_write_bytes_total{%s,disk="vda"} %d' % (lbl, int(t * (256 << 10))))
                out.append('vessel_vm_net_rx_bytes_total{%s,nic="0"} %d' % (lbl, int(t * (32 << 10))))
                out.append('vessel_vm_net_tx_bytes_total{%s,nic="0"} %d' % (lbl, int(t * (16 << 10))))
        self.reply(200, text="\n".join(out) + "\n", ctype="text/plain; version=0.0.4")

    def events(self):
        q = []
        with lock:
            subscribers.append(q)
            gen = events_gen[0]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            while events_gen[0] == gen:
                with lock:
                    lines, q[:] = list(q), []
                for line in lines:
                    # Split each line over two chunks: the client must join them.
                    data = (line + "\n").encode()
                    half = len(data) // 2
                    for part in (data[:half], data[half:]):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.flush()
                time.sleep(0.02)  # the fake's own polling, not a test's wait
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass
        finally:
            with lock:
                subscribers.remove(q)
        self.close_connection = True

    def console(self, vm):
        self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                         b"Upgrade: vessel-console\r\n\r\nconsole of %s\r\n" % vm["name"].encode())
        self.wfile.flush()
        # Echo upper-cased, so the echo is told apart from what was typed;
        # the end of input ends the console.
        while True:
            data = self.connection.recv(4096)
            if not data:
                break
            self.connection.sendall(data.upper())
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    srv = Server(path, Handler)
    srv.serve_forever()


if __name__ == "__main__":
    main()
