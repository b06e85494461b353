#!/usr/bin/env python3
"""Drive a VM's serial console like `expect`: stdlib only.

Usage:  console.py [--log FILE] [--out DIR] [--timeout SECONDS] -- VMM ARGS...
        (steps on stdin, one per line)

The VMM (vessel or qemu-system-riscv64) is started with its console on
pipes; a thread keeps reading its output, so it never blocks.  The steps are
run in order; no step ever sleeps to synchronise, each waits for a pattern,
a marker or a process:

  expect SECONDS REGEX      wait until REGEX (Python re, MULTILINE) appears in
                            the console output after the previous match
  mark NAME                 record the seconds since the VMM started, as
                            "NAME SECONDS" in OUT/times
  send TEXT                 type TEXT and a newline (TEXT may be empty)
  shell SECONDS             wait for the root shell prompt, then make the
                            shell script-friendly (no kernel messages on
                            the console, no bracketed paste, a plain PS1)
  run NAME SECONDS :: CMD   run CMD in the guest shell; its output (CR and
                            escape sequences removed) goes to OUT/NAME.out,
                            its exit status to OUT/NAME.rc.  The output is
                            found between two markers the guest prints,
                            never by timing.  CMD runs in the login shell
                            itself (so `exit` would log out); its stdin is
                            /dev/null.
  host NAME SECONDS :: CMD  run CMD on the host (sh -c) while the VM runs;
                            output to OUT/NAME.out, status to OUT/NAME.rc
  exit SECONDS              wait for the VMM to exit; its status goes to
                            OUT/exit.rc
  kill                      end the VMM now (SIGTERM, then SIGKILL)
  # ...                     a comment

console.py exits 0 when every step succeeded, 1 when one failed (a timeout,
a non-zero `run` status does not count: the caller checks NAME.rc), printing
the failed step and the console's last lines on stderr; the VMM is killed
if it is still running at the end.  The whole console log (CR removed) goes
to --log.  `--timeout` bounds the whole session (default 1800 s).

As a module: Console(argv).expect(regex, timeout), .sendline(text),
.run(cmd, timeout) -> (output, status), .wait(timeout), .close().
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time

ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][A-Za-z0-9]|[=>78])")
PROMPT = re.compile(r"root@[A-Za-z0-9-]+:[^\n#]*# ")


class Timeout(Exception):
    pass


class Exited(Exception):
    pass


class Console:
    def __init__(self, argv, log=None, env=None):
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.buf = ""          # everything, CR removed
        self.pos = 0           # where the next expect starts looking
        self.cond = threading.Condition()
        self.eof = False
        self.log = open(log, "w") if log else None
        self.nonce = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            text = data.decode("utf-8", errors="replace").replace("\r", "")
            with self.cond:
                if not data:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.buf += text
                if self.log:
                    self.log.write(text)
                    self.log.flush()
                self.cond.notify_all()

    def elapsed(self):
        return time.monotonic() - self.t0

    def expect(self, pattern, timeout):
        """Wait for pattern after the last match; returns the match."""
        rx = re.compile(pattern, re.MULTILINE) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.buf, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                if self.eof:
                    raise Exited("the VMM exited (status %s) before /%s/"
                                 % (self.proc.poll(), rx.pattern))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout("no /%s/ within %g s" % (rx.pattern, timeout))
                self.cond.wait(min(left, 1.0))

    def send(self, text):
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise Exited("the VMM's console is closed")

    def sendline(self, text=""):
        self.send(text + "\n")

    def shell(self, timeout):
        """Wait for root's prompt and make the shell easy to drive."""
        self.expect(PROMPT, timeout)
        # kernel messages off the console, no bracketed-paste escapes
        out, _ = self.run("dmesg -n 1; bind 'set enable-bracketed-paste off' 2>/dev/null; "
                          "export TERM=dumb PAGER=cat SYSTEMD_PAGER= SYSTEMD_COLORS=0; true",
                          timeout)
        return out

    def run(self, cmd, timeout):
        """Run cmd in the guest shell; returns (output, exit status)."""
        self.nonce += 1
        n = "%d_%d" % (os.getpid() % 10000, self.nonce)
        # the markers are split in the typed text, joined only in the
        # output; the command reads /dev/null, not the console's type-ahead
        self.sendline("printf '%%s%%s\\n' __VB_ %s__; { %s\n} </dev/null; "
                      "printf '%%s%%s:%%d\\n' __VE_ %s__ $?" % (n, cmd, n))
        self.expect(r"__VB_%s__\n" % n, timeout)
        start = self.pos
        m = self.expect(r"__VE_%s__:(\d+)\n" % n, timeout)
        out = ANSI.sub("", self.buf[start:m.start()])
        return out, int(m.group(1))

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Timeout("the VMM did not exit within %g s" % timeout)
        self.reader.join(5)
        return rc

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self.reader.join(5)
        if self.log:
            self.log.close()
            self.log = None

    def tail(self, n=40):
        with self.cond:
            return "\n".join(self.buf.splitlines()[-n:])


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main(argv):
    log = None
    out = "."
    total = 1800.0
    while argv and argv[0] != "--":
        a = argv.pop(0)
        if a == "--log":
            log = argv.pop(0)
        elif a == "--out":
            out = argv.pop(0)
        elif a == "--timeout":
            total = float(argv.pop(0))
        else:
            sys.exit("console.py: unknown option %s (see the source)" % a)
    if not argv or len(argv) < 2:
        sys.exit("usage: console.py [--log FILE] [--out DIR] [--timeout S] -- VMM ARGS... < steps")
    steps = [l.rstrip("\n") for l in sys.stdin]
    os.makedirs(out, exist_ok=True)
    current = [""]
    c = Console(argv[1:], log)

    def stop(signum, frame):  # killed from outside: take the VMM along
        sys.stderr.write("console.py: killed by signal %d (from outside) at step '%s'\n"
                         % (signum, current[0]))
        c.close()
        sys.exit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    alarm = threading.Timer(total, lambda: os.killpg(c.proc.pid, signal.SIGKILL))
    alarm.daemon = True
    alarm.start()
    times = open(os.path.join(out, "times"), "a")
    status = 0
    step = ""
    try:
        for step in steps:
            s = step.strip()
            current[0] = s
            if not s or s.startswith("#"):
                continue
            word, _, rest = s.partition(" ")
            if word == "expect":
                secs, _, rx = rest.partition(" ")
                c.expect(rx, float(secs))
            elif word == "mark":
                times.write("%s %.2f\n" % (rest, c.elapsed()))
                times.flush()
            elif word == "send":
                c.sendline(step.split("send", 1)[1][1:])
            elif word == "shell":
                c.shell(float(rest))
            elif word in ("run", "host"):
                head, sep, cmd = rest.partition(" :: ")
                if not sep:
                    raise ValueError("missing ' :: ' in: %s" % s)
                name, secs = head.split()
                if word == "run":
                    o, rc = c.run(cmd, float(secs))
                else:
                    try:
                        p = subprocess.run(["sh", "-c", cmd], stdin=subprocess.DEVNULL,
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           timeout=float(secs))
                        o, rc = p.stdout.decode(errors="replace"), p.returncode
                    except subprocess.TimeoutExpired as e:
                        o = (e.stdout or b"").decode(errors="replace") + "\n(timed out)\n"
                        rc = 124
                write(os.path.join(out, name + ".out"), o)
                write(os.path.join(out, name + ".rc"), "%d\n" % rc)
            elif word == "exit":
                rc = c.wait(float(rest))
                write(os.path.join(out, "exit.rc"), "%d\n" % rc)
            elif word == "kill":
                c.close()
            else:
                raise ValueError("unknown step: %s" % s)
    except (Timeout, Exited, ValueError) as e:
        sys.stderr.write("console.py: step '%s' failed: %s\n--- last console lines ---\n%s\n"
                         % (step.strip(), e, c.tail()))
        status = 1
    finally:
        alarm.cancel()
        c.close()
        times.close()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
