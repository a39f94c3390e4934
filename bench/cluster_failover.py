#!/usr/bin/env python3
"""How long the survivors take to notice a dead node (issue 17).

Starts nats-server and two release routers, node-a and node-b (heartbeat 200 ms, node timeout
1 s), clustered on loopback. Each round:
  - a victim session on node-b registers a procedure it never answers;
  - a monitor on node-a subscribes to wamp.session.on_leave;
  - a caller on node-a calls the procedure, and the victim receives the INVOCATION;
  - node-b is killed with SIGKILL;
  - it measures, from the kill, when the caller gets its ERROR and when the monitor gets the
    victim's on_leave; then node-b starts again for the next round.
At the end it prints the medians and the worst of both.

    cargo build --release -p wamp-router
    python3 bench/cluster_failover.py --rounds 5

nats-server: --nats, else $WAMPSTAT_NATS_SERVER, else .ci/venv-nats/bin/nats-server (which
.ci/run installs), else PATH. Every process it starts is stopped by its PID on the way out.
"""

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster_common import ROOT, TICKET, Cluster, nats_binary, until_clustered  # noqa: E402
from wamp_probe import Probe, log  # noqa: E402

PROCEDURE = "bench.failover.never_answers"


def expect(probe, code, request):
    """Reads `probe` until the reply `code` (SUBSCRIBED 33, REGISTERED 65) to `request`."""
    for _ in range(100):
        msg = probe.recv()
        if msg[0] == code and msg[1] == request:
            return msg
    raise RuntimeError(f"no reply {code} to request {request}")


def until_routed(caller, victim, timeout=20):
    """Calls the victim's procedure from node-a until the INVOCATION reaches node-b; returns
    once one is in flight (a call that fails, the registration not there yet, is retried)."""
    end = time.time() + timeout
    while time.time() < end:
        caller.request += 1
        caller.send([48, caller.request, {}, PROCEDURE])
        victim.sock.settimeout(0.2)
        try:
            msg = victim.recv()
            if msg[0] == 68:
                return caller.request
        except (OSError, RuntimeError):
            pass
        finally:
            victim.sock.settimeout(30)
        # Not routed yet: the caller's ERROR (no_such_procedure) is read off its socket.
        msg = caller.recv()
        if msg[0] != 8:
            raise RuntimeError(f"unexpected answer to the probe call: {msg}")
        time.sleep(0.02)
    raise RuntimeError("the victim's registration did not reach node-a")


def round_once(cluster):
    a, b = cluster.port("node-a"), cluster.port("node-b")
    until_clustered(a, ["node-a", "node-b"])
    victim = Probe(b, TICKET)
    victim.request += 1
    victim.send([64, victim.request, {}, PROCEDURE])
    expect(victim, 65, victim.request)
    monitor = Probe(a, TICKET)
    monitor.request += 1
    monitor.send([32, monitor.request, {}, "wamp.session.on_leave"])
    expect(monitor, 33, monitor.request)
    caller = Probe(a, TICKET)
    call = until_routed(caller, victim)
    seen = {}

    def wait_error():
        for _ in range(100):
            msg = caller.recv()
            if msg[0] == 8 and msg[2] == call:
                seen["call"] = (time.monotonic(), msg[4])
                return

    def wait_leave():
        for _ in range(1000):
            msg = monitor.recv()
            if msg[0] == 36 and len(msg) > 4 and msg[4] == [victim.id]:
                seen["leave"] = time.monotonic()
                return

    threads = [threading.Thread(target=wait_error), threading.Thread(target=wait_leave)]
    for t in threads:
        t.start()
    killed = time.monotonic()
    os.kill(cluster.pids["node-b"], signal.SIGKILL)
    for t in threads:
        t.join(timeout=30)
    for p in (caller, monitor):
        p.close()
    victim.sock.close()
    if "call" not in seen or "leave" not in seen:
        raise RuntimeError(f"not seen within 30 s: {seen}")
    return {
        "call_error_ms": 1000 * (seen["call"][0] - killed),
        "error": seen["call"][1],
        "on_leave_ms": 1000 * (seen["leave"] - killed),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--router", default=str(ROOT / "target/release/wamp-router"))
    p.add_argument("--nats")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    with Cluster(args.router, nats_binary(args.nats), ["node-a", "node-b"]) as cluster:
        results = []
        for i in range(args.rounds):
            if i > 0:
                cluster.start("node-b")
            r = round_once(cluster)
            results.append(r)
            log(f"round {i + 1}: the caller's ERROR {r['call_error_ms']:.0f} ms after SIGKILL "
                f"({r['error']}), on_leave {r['on_leave_ms']:.0f} ms")
        summary = {k: {"median": statistics.median(r[k] for r in results),
                       "max": max(r[k] for r in results)}
                   for k in ("call_error_ms", "on_leave_ms")}
        print(json.dumps({"rounds": args.rounds, "heartbeat_ms": 200, "node_timeout_ms": 1000,
                          "ms_after_sigkill": summary, "errors": sorted({r["error"] for r in results})},
                         indent=2))


if __name__ == "__main__":
    main()
