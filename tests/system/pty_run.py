#!/usr/bin/env python3
"""Drive `vessel run` on a pseudo-terminal, as a person at a console would.

usage: pty_run.py SCRIPT -- VESSEL-ARGS...
SCRIPT is a list of steps, one per line:
    expect REGEX [TIMEOUT]   wait until the output matches REGEX
    send TEXT                type TEXT (\\n, \\x01 escapes allowed)
    exit STATUS [TIMEOUT]    wait for vessel to exit with STATUS
Prints "ok"/"not ok" lines per step (TAP without the plan) and exits
non-zero on the first failure.  Waits are for output or exit, never sleeps.
"""
import os, pty, re, select, sys, time

def main():
    sep = sys.argv.index("--")
    script = open(sys.argv[1]).read().splitlines()
    argv = sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    buf = b""
    pos = 0
    status = None
    step = 0

    def pump(deadline):
        nonlocal buf
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            buf += data
        return True

    for line in script:
        if not line.strip() or line.startswith("#"):
            continue
        step += 1
        verb, _, arg = line.partition(" ")
        if verb == "expect":
            parts = arg.rsplit(" ", 1)
            timeout = 600.0
            if len(parts) == 2 and parts[1].replace(".", "").isdigit():
                arg, timeout = parts[0], float(parts[1])
            rx = re.compile(arg.encode())
            deadline = time.monotonic() + timeout
            while True:
                m = rx.search(buf, pos)
                if m:
                    pos = m.end()
                    print("ok %d - saw /%s/" % (step, arg))
                    break
                if not pump(deadline):
                    print("not ok %d - /%s/ not seen; last output:" % (step, arg))
                    sys.stdout.write(buf[-1500:].decode(errors="replace") + "\n")
                    os.kill(pid, 9)
                    sys.exit(1)
        elif verb == "send":
            os.write(fd, arg.encode().decode("unicode_escape").encode("latin-1"))
            print("ok %d - typed %r" % (step, arg))
        elif verb == "exit":
            parts = arg.split()
            want, timeout = int(parts[0]), float(parts[1]) if len(parts) > 1 else 60.0
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(st)
                    break
                pump(min(deadline, time.monotonic() + 0.2))
            if status == want:
                print("ok %d - vessel exited with status %d" % (step, want))
            else:
                print("not ok %d - exit status %r, wanted %d" % (step, status, want))
                if status is None:
                    os.kill(pid, 9)
                sys.exit(1)
    return 0

if __name__ == "__main__":
    sys.exit(main())
