#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for nbmountd that answers every request with one fixed reply (tests/meter-check.sh:
the mount list that `nbmount meter --textfile` turns into metrics).

Usage: mountd_fake.py SOCKET REPLY_FILE
Listens on SOCKET (SOCK_SEQPACKET), and to each connection sends REPLY_FILE's text as one message
after reading one; runs until killed. Prints "ready" on stdout once listening.
"""
import os
import socket
import sys


def main():
    path, reply = sys.argv[1], open(sys.argv[2], "rb").read()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as server:
        server.bind(path)
        server.listen(4)
        print("ready", flush=True)
        while True:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(reply)


if __name__ == "__main__":
    sys.exit(main())
