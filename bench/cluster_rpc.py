#!/usr/bin/env python3
"""Cross-node RPC against same-node RPC, side by side (issue 17).

Starts nats-server and two release routers, node-a and node-b, clustered on loopback. Then it
runs `wamp-loadgen rpc` (1 caller, 1 echo callee, --concurrency calls in flight, closed loop)
alternately in two ways:
  - same:  caller and callee on node-a;
  - cross: caller on node-a, callee on node-b (--callee-url).
Each way runs --runs times. Each run prints the calls per second, the latency percentiles
(call → result, measured by the caller) and the CPU time of node-a, node-b and nats-server
per call. At the end it prints the medians, and checks the issue's target: the cross-node
p50 at most 2 × the same-node p50 + 100 µs.

    cargo build --release -p wamp-router -p wamp-loadgen
    python3 bench/cluster_rpc.py --runs 3 --seconds 5
    python3 bench/cluster_rpc.py --concurrency 64 --payload 1024

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

PERCENTILES = ["p50", "p90", "p99", "p99_9", "max"]


def run_once(args, pids, caller_url, callee_url):
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    cmd = [
        args.loadgen, "--url", caller_url, "--serializer", args.serializer, "--rate", "max",
        "--duration", f"{args.seconds}s", "--json", "rpc", "--callers", "1", "--callees", "1",
        "--concurrency", str(args.concurrency), "--payload", str(args.payload),
        "--callee-url", callee_url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.seconds + 60)
    if out.returncode not in (0, 1):
        raise RuntimeError(f"wamp-loadgen failed ({out.returncode}): {out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    calls = report["measured"]["calls"]
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    # The CPU counts the warm-up's calls too: per call over everything sent.
    sent = max(calls["ok"] + calls["failed"], 1)
    return {
        "calls_per_s": calls["per_s"],
        "ok": calls["ok"],
        "failed": calls["failed"],
        "latency_us": calls["latency_us"],
        "cpu_us_per_call": {k: 1e6 * v / sent for k, v in cpu.items()},
        "errors": report["errors"],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_arguments(p)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--payload", type=int, default=64)
    args = p.parse_args()
    with Cluster(args.router, nats_binary(args.nats), ["node-a", "node-b"]) as cluster:
        a, b = cluster.rs["node-a"], cluster.rs["node-b"]
        results = {"same": [], "cross": []}
        for i in range(args.runs):
            for way, callee_url in [("same", a), ("cross", b)]:
                r = run_once(args, cluster.pids, a, callee_url)
                results[way].append(r)
                lat = " ".join(f"{k} {r['latency_us'][k]}" for k in PERCENTILES)
                cpu = ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_us_per_call"].items())
                log(f"run {i + 1} {way:5}: {r['calls_per_s']:>9,.0f} calls/s; latency µs {lat}; "
                    f"CPU µs/call: {cpu}; failed {r['failed']}; errors {r['errors'] or 'none'}")
        summary = {}
        for way, rs in results.items():
            summary[way] = {
                "calls_per_s": statistics.median(r["calls_per_s"] for r in rs),
                "latency_us": {k: statistics.median(r["latency_us"][k] for r in rs) for k in PERCENTILES},
                "cpu_us_per_call": {
                    k: statistics.median(r["cpu_us_per_call"][k] for r in rs) for k in cluster.pids
                },
                "failed": sum(r["failed"] for r in rs),
            }
        same, cross = summary["same"]["latency_us"]["p50"], summary["cross"]["latency_us"]["p50"]
        target = 2 * same + 100
        print(json.dumps({"runs": args.runs, "seconds": args.seconds, "concurrency": args.concurrency,
                          "payload": args.payload, "serializer": args.serializer, "median": summary,
                          "p50_cross_over_same": cross / max(same, 1),
                          "target_p50_us": target, "target_met": cross <= target},
                         indent=2))


if __name__ == "__main__":
    main()
