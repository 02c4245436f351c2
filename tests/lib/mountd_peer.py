#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A hand-made client of nbmountd, for the tests that play a hostile or unusual peer.

Usage: mountd_peer.py SOCKET JSON [FDS]
Connects to SOCKET (SOCK_SEQPACKET), sends JSON as one message carrying FDS descriptors of /dev/null
(SCM_RIGHTS, default 0), and prints the reply on one line, then "fds: N", the number of descriptors
the reply carried (closed at once). Exits 0 when a reply came, 1 otherwise (the reason on stderr).
"""
import array
import os
import socket
import sys


def main():
    path, message = sys.argv[1], sys.argv[2].encode()
    n_fds = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    fds = [os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC) for _ in range(n_fds)]
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
        sock.settimeout(30)
        try:
            sock.connect(path)
            ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
            sock.sendmsg([message], ancillary)
            data, ancdata, _, _ = sock.recvmsg(4 * 1024 * 1024, socket.CMSG_SPACE(16 * 4))
        except OSError as e:
            print(f"mountd_peer: {path}: {e.strerror or e}", file=sys.stderr)
            return 1
    received = []
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            received.extend(array.array("i", payload[: len(payload) - len(payload) % 4]))
    for fd in received + fds:
        os.close(fd)
    if not data:
        print("mountd_peer: nbmountd closed the connection without an answer", file=sys.stderr)
        return 1
    print(data.decode(errors="replace"))
    print(f"fds: {len(received)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
