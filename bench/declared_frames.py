#!/usr/bin/env python3
"""What a router holds for RawSocket frames that are declared but never sent.

N clients each join (HELLO), then send the header of a frame of almost 1 MiB and one byte of
it, and stop. The router's RSS growth (read from /proc) is what such clients cost it while it
waits (until its frame timeout ends them).

    wamp-router &                                   # the embedded default: RawSocket on 8081
    python3 bench/declared_frames.py --port 8081 --sessions 500 --pid $!
"""

import argparse
import socket
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--sessions", type=int, default=500)
    ap.add_argument("--pid", type=int, required=True, help="the router's process id")
    a = ap.parse_args()
    hello = b'[1,"realm1",{"roles":{"caller":{}}}]'
    before = rss_kib(a.pid)
    socks = []
    for _ in range(a.sessions):
        s = socket.create_connection(("127.0.0.1", a.port))
        s.sendall(bytes([0x7F, 0xF1, 0, 0]))
        s.recv(4)
        s.sendall(bytes([0, 0, 0, len(hello)]) + hello)
        s.sendall(bytes([0, 0x0F, 0xFF, 0xFF]) + b"[")
        socks.append(s)
    time.sleep(3)  # let the router read what arrived
    after = rss_kib(a.pid)
    print(f"{a.sessions} sessions each declaring a 1 MiB frame and sending 1 byte: router RSS "
          f"{before / 1024:.0f} MiB -> {after / 1024:.0f} MiB (+{(after - before) / 1024:.0f} MiB)")
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
