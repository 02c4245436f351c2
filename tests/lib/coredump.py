#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Does a process leave a core dump when it crashes?

Usage: coredump.py DIR WAIT_FOR -- ARGV...
Runs ARGV with DIR as its working folder and RLIMIT_CORE unlimited, waits until the path WAIT_FOR
exists (10 s at most; "-" waits 0.3 s), sends it SIGSEGV and prints "core" when the kernel dumped its
core (WCOREDUMP), else "no core". Exits 1 when ARGV exited before the signal.
"""
import os
import resource
import signal
import subprocess
import sys
import time


def main():
    folder, wait_for = sys.argv[1], sys.argv[2]
    argv = sys.argv[sys.argv.index("--") + 1:]
    unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    child = subprocess.Popen(argv, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, unlimited))
    deadline = time.monotonic() + (10 if wait_for != "-" else 0.3)
    while time.monotonic() < deadline and child.poll() is None:
        if wait_for != "-" and os.path.exists(wait_for):
            time.sleep(0.2)  # past start-up, into its loop
            break
        time.sleep(0.05)
    if child.poll() is not None:
        print(f"coredump: {argv[0]} exited with {child.returncode} before the signal", file=sys.stderr)
        return 1
    os.kill(child.pid, signal.SIGSEGV)
    _, status = os.waitpid(child.pid, 0)
    print("core" if os.WIFSIGNALED(status) and os.WCOREDUMP(status) else "no core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
