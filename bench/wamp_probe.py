"""Shared by bench/soak.py and bench/monitor_flood.py: `Probe`, a tiny WAMP client over
RawSocket+JSON (stdlib only) that joins as the operator (ticket auth) and calls the router's meta
procedures (wamp.session.count, wamp.subscription.list, wampstat.session.stats, ...), and the
small helpers both scripts use to start a router on loopback (free_port, wait_port) and to
report (log, load1).

It is a helper module, not a script: the two benchmarks import it from their own directory.
"""

import json
import socket
import struct
import sys
import time
from pathlib import Path

OPERATOR = "operator"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the router exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


def load1():
    return float(Path("/proc/loadavg").read_text().split()[0])


class Probe:
    """A minimal WAMP caller over RawSocket+JSON (stdlib only), logged in as the operator."""

    def __init__(self, port, ticket, timeout=30, realm="realm1", authid=OPERATOR):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.settimeout(timeout)
        self.sock.sendall(bytes([0x7F, 0xF1, 0, 0]))  # 16 MiB frames, JSON
        reply = self._exact(4)
        if reply[0] != 0x7F or reply[1] & 0x0F != 1:
            raise RuntimeError(f"RawSocket handshake refused: {reply.hex()}")
        self.request = 0
        self.send([1, realm, {"roles": {"caller": {}}, "authmethods": ["ticket"], "authid": authid}])
        msg = self.recv()
        if msg[0] == 4:  # CHALLENGE
            self.send([5, ticket, {}])
            msg = self.recv()
        if msg[0] != 2:
            raise RuntimeError(f"the probe could not join: {msg}")
        self.id = msg[1]

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise RuntimeError("the router closed the probe's connection")
            buf += chunk
        return buf

    def send(self, msg):
        data = json.dumps(msg).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)  # type 0 (message) + 24-bit length

    def recv(self):
        for _ in range(1000):  # pings are answered; anything else is a message
            head = self._exact(4)
            kind, length = head[0] & 0x07, int.from_bytes(head[1:], "big")
            body = self._exact(length)
            if kind == 1:  # ping → pong with the same payload
                self.sock.sendall(bytes([2]) + head[1:] + body)
                continue
            if kind == 0:
                return json.loads(body)
        raise RuntimeError("the probe got only pings")

    def call(self, procedure, args=None):
        """The positional result (a list) of CALL `procedure` with the positional `args`, if any."""
        self.request += 1
        self.send([48, self.request, {}, procedure] + ([args] if args else []))
        for _ in range(100):
            msg = self.recv()
            if msg[0] == 50 and msg[1] == self.request:
                return msg[3] if len(msg) > 3 else []
            if msg[0] == 8 and msg[2] == self.request:
                raise RuntimeError(f"{procedure}: {msg[4]}")
            if msg[0] in (3, 6):
                raise RuntimeError(f"the router ended the probe's session: {msg}")
        raise RuntimeError(f"no answer to {procedure}")

    def count(self):
        """wamp.session.count: the live sessions of the realm, the probe included."""
        return self.call("wamp.session.count")[0]

    def listing(self, what):
        """{"exact": [...], "prefix": [...], "wildcard": [...]} of wamp.WHAT.list."""
        return self.call(f"wamp.{what}.list")[0]

    def sessions(self):
        """{session id: (authid, cycle)} of every live session but the probe."""
        rows = self.call("wampstat.session.stats")[0]
        return {d["session"]: (d.get("authid"), d.get("cycle", 0)) for d in rows if d["session"] != self.id}

    def close(self):
        try:
            self.send([6, {}, "wamp.close.normal"])
            self.recv()
        except (OSError, RuntimeError, ValueError):
            pass
        self.sock.close()
