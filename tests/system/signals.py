#!/usr/bin/env python3
"""SIGTERM, SIGINT and SIGHUP end `vessel run` cleanly.

usage: signals.py DIR -- VESSEL-RUN-ARGS...   (SIGNAL names in $SIGNALS)

For each signal: make DIR/SIG.qcow2, boot the guest (VESSEL-RUN-ARGS, with
the disk added as --disk DIR/SIG.qcow2,cache=unsafe: guest flushes do
nothing, so the image's metadata reaches the file only when vessel closes
the disk), wait on the console until the guest has written its marker to
/dev/vda, send the signal, and expect exit status 128 + signo within
seconds (a process killed by the signal reports -signo here, not 128 +
signo).  The caller then checks the images (img check, the marker, the
lock).  Prints one "ok"/"not ok" line per signal (run-signals.sh numbers
them), details as "#" lines; every wait is for output or exit, bounded.
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console import Console, Exited, Timeout  # noqa: E402

out = sys.argv[1]
args = sys.argv[sys.argv.index("--") + 1:]
vessel = os.environ.get("VESSEL", "build/release/vessel")
n = 0
failed = 0
for name in os.environ.get("SIGNALS", "SIGTERM SIGINT SIGHUP").split():
    signo = getattr(signal, name)
    disk = os.path.join(out, name + ".qcow2")
    subprocess.run([vessel, "img", "create", "-f", "qcow2", disk, "64M"],
                   check=True, stdout=subprocess.DEVNULL)
    c = Console([vessel, "run"] + args + ["--disk", disk + ",cache=unsafe"],
                log=os.path.join(out, name + ".log"))
    detail = ""
    rc = None
    try:
        c.expect(r"SIGNAL-TEST-WRITTEN", 600)
        c.proc.send_signal(signo)
        rc = c.wait(60)
    except (Timeout, Exited) as e:
        detail = str(e) + "\n" + c.tail(10)
    finally:
        c.close()
    n += 1
    good = rc == 128 + signo
    failed += not good
    print("%s %s ends the run with exit status %d (got %r)"
          % ("ok" if good else "not ok", name, 128 + signo, rc))
    for line in detail.splitlines():
        print("#   " + line)
    sys.stdout.flush()
sys.exit(1 if failed else 0)
