#!/usr/bin/env python3
"""`vessel run` with a console output that nobody reads.

usage: console_stall.py VESSEL SPAM_ELF

SPAM_ELF prints on the UART for ever.  The output is a pseudo-terminal
whose output the test stops (tcflow TCOOFF, what C-s does; writes to it
then wait), or a pipe nobody reads that the test fills to the brim itself:
either way vessel's next write finds no room, and a VMM that writes its
console with blocking writes is stuck there.  Then C-a x, or a signal, must still
end the run promptly with the documented status, the terminal settings
restored and the dropped bytes reported.  Prints TAP lines.  No sleeps:
every wait is for an event, bounded by a timeout.
"""
import errno
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time

VESSEL, ELF = sys.argv[1], sys.argv[2]
N = 0
FAILED = 0
EXIT_WITHIN = 20.0      # seconds; a stuck vessel never exits


def result(ok, name, detail=""):
    global N, FAILED
    N += 1
    if not ok:
        FAILED += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", N, name))
    for line in detail.splitlines():
        print("#   " + line)
    sys.stdout.flush()


def fill(path):
    """Write into `path` (a pty slave or pipe, opened anew so that the flag
    stays ours) until it takes no more: its reader has stalled."""
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    deadline = time.monotonic() + EXIT_WITHIN
    try:
        while time.monotonic() < deadline:
            try:
                os.write(fd, b"#" * 256)
            except BlockingIOError:
                return True
    finally:
        os.close(fd)
    return False


def wait_output(fd, marker, timeout):
    """Read fd until marker was seen (then stop reading for good)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while marker not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return False
            if not data:
                return False
            buf += data
    return True


def wait_exit(p):
    try:
        return p.wait(EXIT_WITHIN)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return "still running after %g s (killed)" % EXIT_WITHIN


def on_pty(action, want, name):
    """Run on a pty (raw mode), stop its output, then `action(p, master)`."""
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    err = tempfile.TemporaryFile()
    p = subprocess.Popen([VESSEL, "run", "--bios", ELF], stdin=slave, stdout=slave,
                         stderr=err, start_new_session=True)
    started = wait_output(master, b"nobody reads", EXIT_WITHIN)
    stalled = False
    if started:
        termios.tcflow(slave, termios.TCOOFF)
        stalled = True
    if stalled:
        action(p, master)
    rc = wait_exit(p)
    after = termios.tcgetattr(slave)
    err.seek(0)
    text = err.read().decode(errors="replace")
    os.close(master)
    os.close(slave)
    detail = "started=%s stalled=%s exit=%r\n%s" % (started, stalled, rc, text[-800:])
    result(stalled and rc == want, "%s: exit status %s" % (name, want), detail)
    return rc == want, before == after, text


def on_pipe(action, want, name):
    """Output to a pipe nobody reads, stdin not a terminal."""
    r, w = os.pipe()
    err = tempfile.TemporaryFile()
    p = subprocess.Popen([VESSEL, "run", "--bios", ELF], stdin=subprocess.DEVNULL,
                         stdout=w, stderr=err, start_new_session=True)
    started = wait_output(r, b"nobody reads", EXIT_WITHIN)
    stalled = started and fill("/proc/self/fd/%d" % w)
    os.close(w)
    if stalled:
        action(p, r)
    rc = wait_exit(p)
    os.close(r)
    err.seek(0)
    text = err.read().decode(errors="replace")
    result(stalled and rc == want, "%s: exit status %s" % (name, want),
           "started=%s stalled=%s exit=%r\n%s" % (started, stalled, rc, text[-800:]))
    return text


def keys(seq):
    return lambda p, master: os.write(master, seq)


def sig(n):
    return lambda p, fd: p.send_signal(n)


# C-a h writes to the stalled output too: it must not block the keyboard.
ok, restored, text = on_pty(keys(b"\x01h\x01x"), 4,
                            "C-a h, C-a x on a terminal whose output is stopped")
result(restored, "terminal settings restored after C-a x")
result("console output were dropped" in text,
       "the dropped console bytes are reported on stderr", text[-400:])

for n, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP"),
                (signal.SIGINT, "SIGINT")):
    ok, restored, text = on_pty(sig(n), 128 + n,
                                "%s on a raw terminal whose output is stopped" % name)
    result(ok and restored, "%s: terminal settings restored" % name)

for n, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
    on_pipe(sig(n), 128 + n, "%s with stdout a pipe nobody reads" % name)

print("1..%d" % N)
sys.exit(1 if FAILED else 0)
