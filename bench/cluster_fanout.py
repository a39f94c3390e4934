#!/usr/bin/env python3
"""Cross-node fan-out against same-node fan-out, side by side (issue 17).

Starts nats-server and two release routers, node-a and node-b, clustered on loopback. Then it
runs `wamp-loadgen pubsub` (1 publisher, N subscribers, closed loop, no acknowledgement)
alternately in two ways:
  - same:  publisher and subscribers on node-a;
  - cross: publisher on node-a, subscribers on node-b (--subscriber-url).
Each way runs --runs times. For each run it prints the events per second the subscribers
received, and the CPU time of node-a, node-b and nats-server per event received. At the end it
prints the medians.

    cargo build --release -p wamp-router -p wamp-loadgen
    python3 bench/cluster_fanout.py --runs 3 --seconds 5
    python3 bench/cluster_fanout.py --nats /path/to/nats-server --subscribers 10 --payload 100

nats-server: --nats, else $WAMPSTAT_NATS_SERVER, else .ci/venv-nats/bin/nats-server (which
.ci/run installs), else PATH. Every process it starts is stopped by its PID on the way out.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster_common import Cluster, common_arguments, cpu_seconds, nats_binary  # noqa: E402
from wamp_probe import log  # noqa: E402

def run_once(args, pids, pub_url, sub_url):
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    cmd = [
        args.loadgen, "--url", pub_url, "--serializer", args.serializer, "--rate", "max",
        "--duration", f"{args.seconds}s", "--json", "pubsub", "--no-ack",
        "--publishers", "1", "--subscribers", str(args.subscribers),
        "--payload", str(args.payload), "--subscriber-url", sub_url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.seconds + 60)
    if out.returncode not in (0, 1):
        raise RuntimeError(f"wamp-loadgen failed ({out.returncode}): {out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    events = report["measured"]["events"]
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    received = events["ok"]
    return {
        "events_per_s": events["per_s"],
        "events": received,
        "publications": report["measured"]["publications"]["ok"],
        "failed": events["failed"],
        "cpu_us_per_event": {k: 1e6 * v / max(received, 1) for k, v in cpu.items()},
        "errors": report["errors"],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_arguments(p)
    p.add_argument("--subscribers", type=int, default=10)
    p.add_argument("--payload", type=int, default=100)
    args = p.parse_args()
    with Cluster(args.router, nats_binary(args.nats), ["node-a", "node-b"]) as cluster:
        pids = cluster.pids
        a, b = cluster.rs["node-a"], cluster.rs["node-b"]
        results = {"same": [], "cross": []}
        for i in range(args.runs):
            for way, sub_url in [("same", a), ("cross", b)]:
                r = run_once(args, pids, a, sub_url)
                results[way].append(r)
                cpu = ", ".join(f"{k} {v:.2f}" for k, v in r["cpu_us_per_event"].items())
                log(f"run {i + 1} {way:5}: {r['events_per_s']:>10,.0f} events/s "
                    f"({r['events']:,} for {r['publications']:,} publications × {args.subscribers}); "
                    f"CPU µs/event: {cpu}; errors {r['errors'] or 'none'}")
        summary = {}
        for way, rs in results.items():
            summary[way] = {
                "events_per_s": statistics.median(r["events_per_s"] for r in rs),
                "cpu_us_per_event": {
                    k: statistics.median(r["cpu_us_per_event"][k] for r in rs) for k in pids
                },
            }
        print(json.dumps({"runs": args.runs, "seconds": args.seconds, "subscribers": args.subscribers,
                          "payload": args.payload, "serializer": args.serializer,
                          "median": summary,
                          "cross_over_same": summary["cross"]["events_per_s"] / summary["same"]["events_per_s"]},
                         indent=2))


if __name__ == "__main__":
    main()
