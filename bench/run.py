#!/usr/bin/env python3
"""The benchmark suite: wamp-router against Crossbar.io, statistics on against off, TLS against
plain, memory per idle session, and the raw ceiling (the same fan-out without WAMP).

    python3 bench/run.py                 # everything, 3 runs of 5 s each
    python3 bench/run.py --runs 5 --seconds 10
    python3 bench/run.py --no-crossbar   # only our router
    python3 bench/run.py --no-crossbar --only tls   # TLS (rss://, wss://) against plain

Every comparison is measured side by side in one invocation: all routers run at once (an idle
router costs nothing) and the runs alternate between them, so a noisy neighbour hits each
alike. Medians are printed as Markdown tables (and written to target/bench/results.md).

Crossbar.io is installed from PyPI into target/bench/crossbar-venv the first time; if that is
not possible the script says so and skips Crossbar's columns.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wamp_probe import free_port, wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "bench"
CROSSBAR = "crossbar==26.10.1"
TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def config(ws_port, rs_port, stats):
    """A Crossbar-shaped node configuration both routers read."""
    realm = {
        "name": "realm1",
        "roles": [{
            "name": "anonymous",
            "permissions": [{
                "uri": "", "match": "prefix",
                "allow": {"call": True, "register": True, "publish": True, "subscribe": True},
                "disclose": {"caller": False, "publisher": False},
                "cache": True,
            }],
        }],
    }
    if stats:
        realm["stats"] = {
            "rated_message_size": 256, "trigger_after_rated_messages": 10,
            "trigger_after_duration": 0, "trigger_on_join": True, "trigger_on_leave": True,
        }
    return {
        "version": 2,
        "controller": {},
        "workers": [{
            "type": "router",
            "realms": [realm],
            "transports": [
                {"type": "web", "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": ws_port},
                 "paths": {"ws": {"type": "websocket", "serializers": ["json", "msgpack"],
                                  "options": {"max_message_size": 1048576}}}},
                {"type": "rawsocket", "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": rs_port},
                 "serializers": ["json", "msgpack"], "options": {"max_message_size": 1048576}},
            ],
        }],
    }


def make_pki(folder):
    """A CA and a certificate it signed for 127.0.0.1 (ECDSA P-256), with openssl: ca.crt,
    server.key and server.crt in `folder`."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=wampstat bench CA")
    run("req", *curve, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (Path(folder) / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    return Path(folder) / "ca.crt"


def tree(pid):
    """pid and its descendants (Crossbar runs its router in a worker process)."""
    out = [pid]
    for p in out:
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            children = []
        out += [int(c) for c in children]
    return out


def cpu_ticks(pid):
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def rss_kib(pid):
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class Router:
    """A router process (ours or Crossbar) on its own ports."""

    def __init__(self, name, kind, stats, crossbar_bin=None, tls=False):
        self.name, self.kind = name, kind
        self.ws, self.rs = free_port(), free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=OUT))
        node = config(self.ws, self.rs, stats)
        self.ca = None
        if tls:
            # Relative paths: taken from the node directory, as Crossbar takes them.
            self.ca = make_pki(self.dir)
            for t in node["workers"][0]["transports"]:
                t["endpoint"]["tls"] = {"key": "server.key", "certificate": "server.crt"}
        (self.dir / "config.json").write_text(json.dumps(node, indent=1))
        self.log = open(self.dir / "router.log", "w")
        if kind == "ours":
            cmd = [str(ROOT / "target/release/wamp-router"), "--cbdir", str(self.dir), "--threads", "1"]
        else:
            cmd = [crossbar_bin, "start", "--cbdir", str(self.dir), "--loglevel", "warn"]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_port(self.ws, self.proc, timeout=60)
        wait_port(self.rs, self.proc, timeout=60)

    def url(self, transport):
        s = "s" if self.ca else ""
        return f"ws{s}://127.0.0.1:{self.ws}/ws" if transport == "ws" else f"rs{s}://127.0.0.1:{self.rs}"

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


LOADGEN = str(ROOT / "target/release/wamp-loadgen")


def loadgen(router, transport, serializer, args, seconds):
    """Runs the load generator with --json; returns its summary and the router's CPU share
    (of one core) over the measured window."""
    cmd = [LOADGEN, "--url", router.url(transport), "--serializer", serializer, "--json",
           "--progress", "never", "--warmup", "1", "--duration", str(seconds)] + args
    if router.ca:
        cmd += ["--ca", str(router.ca)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    c0, t0 = cpu_ticks(router.proc.pid), time.time()
    time.sleep(max(seconds - 1.0, 0.5))
    c1, t1 = cpu_ticks(router.proc.pid), time.time()
    out, err = p.communicate(timeout=seconds + 120)
    if p.returncode not in (0, 2):
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.strip()}")
    summary = json.loads(out)
    summary["router_cpu"] = (c1 - c0) / TICK / (t1 - t0) * 100
    if summary["errors"]:
        log(f"  errors against {router.name}: {summary['errors']}")
    return summary


def idle_rss(router, transport, sessions):
    """RSS growth of `router` per idle session, in KiB."""
    before = rss_kib(router.proc.pid)
    cmd = [LOADGEN, "--url", router.url(transport), "--serializer", "msgpack", "--progress", "always",
           "--warmup", "0", "--duration", "600", "idle", "--sessions", str(sessions)]
    err = open(OUT / "idle.err", "w+")
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    end = time.time() + 300
    while time.time() < end:
        err.seek(0)
        if f"sessions {sessions} up" in err.read() or p.poll() is not None:
            break
        time.sleep(0.5)
    time.sleep(2)
    after = rss_kib(router.proc.pid)
    p.send_signal(signal.SIGINT)
    p.wait(120)
    err.close()
    return (after - before) / sessions


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(x, digits=0):
    return "–" if x != x else f"{x:,.{digits}f}"


def install_crossbar():
    venv = OUT / "crossbar-venv"
    binary = venv / "bin" / "crossbar"
    if binary.exists():
        return str(binary)
    log(f"installing {CROSSBAR} from PyPI into {venv} (about a minute) ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", CROSSBAR], check=True,
                       timeout=900)
        return str(binary)
    except (subprocess.SubprocessError, OSError) as e:
        log(f"cannot install Crossbar.io ({e}); skipping its part of the benchmark")
        shutil.rmtree(venv, ignore_errors=True)
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--sessions", type=int, default=10000, help="idle sessions")
    ap.add_argument("--no-crossbar", action="store_true")
    ap.add_argument("--only", help="comma-separated parts: fanout,rpc,stats,tls,idle,raw")
    a = ap.parse_args()
    parts = set((a.only or "fanout,rpc,stats,tls,idle,raw").split(","))
    OUT.mkdir(parents=True, exist_ok=True)
    log("building (release) ...")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "wamp-router", "-p", "wamp-loadgen",
                    "--bins", "--examples"], cwd=ROOT, check=True)
    crossbar = None if a.no_crossbar else install_crossbar()
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * a.sessions + 1000)), hard))
    except (ValueError, OSError):
        pass
    lines = [f"Machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}; "
             f"{a.runs} runs of {a.seconds:g} s each, medians; {time.strftime('%Y-%m-%d %H:%M')}", ""]
    routers = {}
    try:
        routers["ours"] = Router("ours", "ours", stats=True)
        routers["ours-nostats"] = Router("ours-nostats", "ours", stats=False)
        if "tls" in parts:
            routers["ours-tls"] = Router("ours-tls", "ours", stats=True, tls=True)
        if crossbar:
            routers["crossbar"] = Router("crossbar", "crossbar", stats=True, crossbar_bin=crossbar)
        S = a.seconds
        fan = ["--threads", "2", "pubsub", "--rate", "max", "--no-ack", "--publishers", "1",
               "--subscribers", "10", "--payload", "100"]

        def series(cases, args):
            """cases: [(label, router, transport, serializer)]; alternates them run by run."""
            results = {c[0]: [] for c in cases}
            for r in range(a.runs):
                for label, router, transport, ser in cases:
                    s = loadgen(routers[router], transport, ser, args, S)
                    results[label].append(s)
                    log(f"  run {r + 1} {label}: {json.dumps(s['measured'])} cpu {s['router_cpu']:.0f}%")
            return results

        if "fanout" in parts:
            log("fan-out 1 → 10, 100 B, closed loop ...")
            cases = [("ours rs msgpack", "ours", "rs", "msgpack"), ("ours rs json", "ours", "rs", "json"),
                     ("ours ws msgpack", "ours", "ws", "msgpack"), ("ours ws json", "ours", "ws", "json")]
            if crossbar:
                cases += [("crossbar rs msgpack", "crossbar", "rs", "msgpack"),
                          ("crossbar rs json", "crossbar", "rs", "json")]
            res = series(cases, fan)
            lines += ["## Fan-out: 1 publisher → 10 subscribers, 100-byte payloads", "",
                      "| router | transport | serializer | events/s delivered | router CPU (% of a core) |",
                      "|---|---|---|---:|---:|"]
            for label, rs in res.items():
                who, tr, ser = label.split()
                lines.append(f"| {who} | {tr} | {ser} | {fmt(median([x['measured']['events']['per_s'] for x in rs]))} "
                             f"| {fmt(median([x['router_cpu'] for x in rs]))} |")
            if crossbar:
                for ser in ("msgpack", "json"):
                    o = median([x['measured']['events']['per_s'] for x in res[f"ours rs {ser}"]])
                    c = median([x['measured']['events']['per_s'] for x in res[f"crossbar rs {ser}"]])
                    lines.append(f"\nRatio ours/Crossbar over RawSocket+{ser}: **{o / c:.1f}×**")
            lines.append("")

        if "rpc" in parts:
            log("RPC ...")
            lines += ["## RPC: one caller, one callee, 64-byte argument", "",
                      "| router | serializer | load | calls/s | p50 µs | p90 | p99 | p99.9 | router CPU % |",
                      "|---|---|---|---:|---:|---:|---:|---:|---:|"]
            loads = [("sequential", ["rpc", "--rate", "max", "--concurrency", "1"]),
                     ("2,000/s open loop", ["--rate", "2000", "rpc", "--concurrency", "64"]),
                     ("10,000/s open loop", ["--rate", "10000", "rpc", "--concurrency", "256"])]
            for name, args in loads:
                for ser in ("msgpack", "json"):
                    cases = [(f"ours {ser}", "ours", "rs", ser)]
                    if crossbar and not name.startswith("10,000"):
                        cases.append((f"crossbar {ser}", "crossbar", "rs", ser))
                    res = series(cases, args)
                    for label, rs in res.items():
                        lat = lambda k: median([x['measured']['calls']['latency_us'][k] for x in rs])
                        lines.append(f"| {label.split()[0]} | {ser} | {name} | "
                                     f"{fmt(median([x['measured']['calls']['per_s'] for x in rs]))} | "
                                     f"{fmt(lat('p50'))} | {fmt(lat('p90'))} | {fmt(lat('p99'))} | "
                                     f"{fmt(lat('p99_9'))} | {fmt(median([x['router_cpu'] for x in rs]))} |")
            lines.append("")

        if "tls" in parts:
            log("TLS against plain ...")
            lines += ["## TLS against plain (our router, the same config with `endpoint.tls`)", "",
                      "| workload | transport | plain | TLS | TLS / plain | router CPU % plain | TLS |",
                      "|---|---|---:|---:|---:|---:|---:|"]
            seq = ["rpc", "--rate", "max", "--concurrency", "1"]
            for name, args, tr, key in [("fan-out events/s", fan, "rs", ("events", "per_s")),
                                        ("fan-out events/s", fan, "ws", ("events", "per_s")),
                                        ("sequential RPC calls/s", seq, "rs", ("calls", "per_s")),
                                        ("sequential RPC p50 µs", seq, "rs", ("calls", "latency_us", "p50"))]:
                if key[-1] == "p50":
                    res = last_rpc  # the same runs as the line before
                else:
                    res = series([("plain", "ours", tr, "msgpack"), ("tls", "ours-tls", tr, "msgpack")], args)
                    last_rpc = res

                def get(x):
                    v = x["measured"]
                    for k in key:
                        v = v[k]
                    return v
                p, t = median([get(x) for x in res["plain"]]), median([get(x) for x in res["tls"]])
                cp, ct = (median([x["router_cpu"] for x in res[k]]) for k in ("plain", "tls"))
                lines.append(f"| {name} | {'RawSocket' if tr == 'rs' else 'WebSocket'}+msgpack | {fmt(p)} | "
                             f"{fmt(t)} | {t / p:.3f} | {fmt(cp)} | {fmt(ct)} |")
            lines.append("")

        if "stats" in parts:
            log("statistics on / off ...")
            lines += ["## Session statistics on / off (our router, RawSocket+msgpack)", "",
                      "Statistics on: the default `stats` block (256 / 10 rated messages / on join / on leave, "
                      "as in config/default.json); off: no `stats` block.", "",
                      "| workload | on | off | on / off | router CPU % on | off | CPU per unit, on / off |",
                      "|---|---:|---:|---:|---:|---:|---:|"]
            for name, args, key in [("fan-out events/s", fan, ("events", "per_s")),
                                    ("sequential RPC calls/s", ["rpc", "--rate", "max", "--concurrency", "1"],
                                     ("calls", "per_s")),
                                    ("RPC 10,000/s p99 µs", ["--rate", "10000", "rpc", "--concurrency", "256"],
                                     ("calls", "latency_us", "p99"))]:
                res = series([("on", "ours", "rs", "msgpack"), ("off", "ours-nostats", "rs", "msgpack")], args)

                def get(x):
                    v = x["measured"][key[0]]
                    for k in key[1:]:
                        v = v[k]
                    return v

                def get_rate(x):
                    return x["measured"][key[0]]["per_s"]
                on, off = median([get(x) for x in res["on"]]), median([get(x) for x in res["off"]])
                cpu_on = median([x["router_cpu"] for x in res["on"]])
                cpu_off = median([x["router_cpu"] for x in res["off"]])
                # CPU per event or call (the throughput figures are bound by the load generator
                # on 2 cores, so the router's CPU per unit of work is where its cost shows).
                per = lambda rs: median([x["router_cpu"] / max(get_rate(x), 1e-9) for x in rs])
                lines.append(f"| {name} | {fmt(on)} | {fmt(off)} | {on / off:.3f} | {fmt(cpu_on)} | "
                             f"{fmt(cpu_off)} | {per(res['on']) / per(res['off']):.3f} |")
            lines.append("")
    finally:
        for r in routers.values():
            r.stop()

    if "idle" in parts:
        log(f"idle memory, {a.sessions} sessions ...")
        lines += [f"## Memory per idle session ({a.sessions:,} sessions, RSS growth / sessions)", "",
                  "| router | transport | KiB per session |", "|---|---|---:|"]
        kinds = [("ours", "ours")] + ([("crossbar", "crossbar")] if crossbar else [])
        for transport in ("rs", "ws"):
            per = {k: [] for k, _ in kinds}
            for r in range(a.runs):
                for name, kind in kinds:
                    router = Router(f"idle-{name}", kind, stats=True, crossbar_bin=crossbar)
                    try:
                        v = idle_rss(router, transport, a.sessions)
                    finally:
                        router.stop()
                    per[name].append(v)
                    log(f"  run {r + 1} {name} {transport}: {v:.1f} KiB/session")
            for name, vs in per.items():
                lines.append(f"| {name} | {transport} | {fmt(median(vs), 1)} |")
        lines.append("")

    if "raw" in parts:
        log("raw ceiling ...")
        lines += ["## The raw ceiling: the same fan-out without WAMP (relay on one thread)", "",
                  "| transport | frames/s delivered | relay CPU (% of a core) |", "|---|---:|---:|"]
        for transport in ("tcp", "ws"):
            out = subprocess.run([str(ROOT / "target/release/examples/raw_fanout"), "--transport", transport,
                                  "--runs", str(a.runs), "--seconds", str(a.seconds)],
                                 capture_output=True, text=True, check=True).stdout
            med = float(out.strip().splitlines()[-1].split("median ")[1].split()[0])
            cpu = median([float(l.split("relay thread ")[1].split("%")[0])
                          for l in out.splitlines() if "relay thread" in l])
            log(out.strip())
            lines.append(f"| {transport} | {fmt(med)} | {fmt(cpu)} |")
        lines.append("")

    text = "\n".join(lines)
    (OUT / "results.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
