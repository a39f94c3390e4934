#!/usr/bin/env python3
"""The soak benchmark (BENCHMARKS.md, "Soak (issue 16)"): does a release router keep a flat
footprint, lose nothing and leak nothing when steady traffic and session churn run against it
for minutes on end?

    python3 bench/soak.py                                  # 10 minutes, the rates below
    python3 bench/soak.py --minutes 1                      # a short run (to try the script)
    python3 bench/soak.py --mixed-rate 4000 --churn-rate 40 --csv /tmp/soak.csv
    python3 bench/soak.py --plot soak.png --plot-python .venv/bin/python   # and draw the PNG

It builds nothing: it runs the release binaries given (default target/release/...), so build
them first (`cargo build --release -p wamp-router -p wamp-loadgen`). The plot is drawn by
bench/soak_plot.py, which needs matplotlib (`python3 -m venv .venv && .venv/bin/pip install
matplotlib`); soak.py itself is stdlib only and runs it in the interpreter `--plot-python` names.

What one soak does:

- The router (`--router-threads`, default 1) reads a temporary config: realm `realm1`,
  anonymous may do everything, an `operator` principal (ticket auth, a random ticket made here
  and handed over in `WAMPSTAT_OPERATOR_TICKET`, never on a command line), the default
  statistics, a WebSocket path `/ws`, a Prometheus path `/metrics` and a RawSocket listener,
  all on 127.0.0.1.
- A probe session (stdlib RawSocket+JSON client, operator) joins first and stays to the end.
- Two load generators run at the same time for `--minutes`:
  - `wamp-loadgen mixed` over RawSocket+msgpack at `--mixed-rate` requests/s (half acknowledged
    publications to `--subscribers` subscribers, half calls to one echo callee): the long-lived
    sessions and the steady traffic;
  - `wamp-loadgen churn` over WebSocket+JSON at `--churn-rate` sessions/s (each joins,
    subscribes, publishes one acknowledged event it receives itself, calls an echo procedure
    and leaves, at most `--churn-concurrency` at once): sessions, subscriptions and connections
    made and torn down all the time.
- Every second (to a CSV, `--csv`, default target/soak/soak.csv; a generated file) it samples
  the router's RSS (VmRSS of /proc/PID/status), open file descriptors (entries of
  /proc/PID/fd), threads (Threads of /proc/PID/status), CPU over the last second (utime+stime of
  /proc/PID/stat), the live sessions (`wamp.session.count` through the probe, the probe
  included) and, from /metrics, the sessions joined and left so far and the WAMP messages
  received and sent so far. The router does not publish its count of tokio tasks; file
  descriptors and sessions are the signals of a task per connection that would not end.
- When the load generators have finished (each prints its JSON summary), the probe waits
  (bounded) for the sessions to drain and then checks for leaks.

The verdict, PASS or FAIL each:

- **RSS flat:** the median RSS of the last 30 s of load is at most 10% (`--rss-tolerance`)
  above the median RSS after warm-up, the samples of minute 1 to 2 of the load (for a run
  shorter than 5 minutes, the second fifth of it; the last 30 s become the last fifth). Less
  at the end is not a failure: the allocator (mimalloc) hands pages back to the system now and
  then, and a leak only grows. The ratio and the linear growth after warm-up (kB/min) are
  printed.
- **Nothing leaked:** after the load, `wamp.subscription.list` and `wamp.registration.list`
  are empty (the probe has none of its own, and the router's own `wamp.*` ones are not listed),
  `wamp.session.count` is 1 (the probe alone), and the file descriptors and threads are back to
  what they were before the load started.
- **Nothing failed:** both load generators exited with 0, their summaries show no error, no
  session that could not join, no failed request, and every acknowledged publication of `mixed`
  reached every subscriber (events received = publications × subscribers).

The figures and the verdict are printed as Markdown. Everything started here (router, load
generators, plotter) is stopped by its PID on exit, error, SIGINT, SIGTERM or SIGHUP; every
wait is bounded; the temporary directory (config, logs) is removed unless `--keep`.

Exit status: 0 PASS, 2 FAIL, 1 the soak could not run (the router or a load generator died,
a wait ran out), 130 interrupted.
"""

import argparse
import csv
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, whatever the cwd
from wamp_probe import OPERATOR, Probe, free_port, load1, log, wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
WARMUP = 2  # s: the load generators' own warm-up (sent, not recorded), before `--minutes`
COLUMNS = ["t_s", "phase", "window", "rss_kb", "fds", "threads", "cpu_pct", "sessions",
           "joined_total", "left_total", "msgs_rx_total", "msgs_tx_total", "load1"]


def config(ws_port, rs_port):
    """Anonymous may do everything (the load), `operator` by ticket (the probe); the default
    statistics; /ws, /metrics and RawSocket on loopback."""
    everything = [{"uri": "", "match": "prefix",
                   "allow": {"call": True, "register": True, "publish": True, "subscribe": True},
                   "disclose": {"caller": False, "publisher": False}, "cache": True}]
    auth = {"anonymous": {"type": "static", "role": "anonymous"},
            "ticket": {"type": "static", "principals": {
                OPERATOR: {"ticket": "${WAMPSTAT_OPERATOR_TICKET}", "role": "operator"}}}}
    serializers = ["json", "msgpack", "cbor"]
    return {
        "version": 2,
        "workers": [{
            "type": "router",
            "realms": [{
                "name": "realm1",
                "stats": {"rated_message_size": 256, "trigger_after_rated_messages": 10,
                          "trigger_after_duration": 0, "trigger_on_join": True, "trigger_on_leave": True},
                "roles": [{"name": "anonymous", "permissions": everything},
                          {"name": "operator", "permissions": everything}],
            }],
            "transports": [
                {"type": "web", "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": ws_port},
                 "paths": {"ws": {"type": "websocket", "serializers": serializers, "auth": auth},
                           "metrics": {"type": "metrics"}}},
                {"type": "rawsocket", "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": rs_port},
                 "serializers": serializers, "auth": auth},
            ],
        }],
    }


def proc_sample(pid):
    """(rss kB, fds, threads, cpu ticks) of a process; None where /proc says nothing."""
    rss = threads = fds = ticks = None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        pass
    return rss, fds, threads, ticks


def scrape(port):
    """Sums of the /metrics samples the CSV keeps (all label sets added up); {} on failure."""
    wanted = {"wamp_sessions_joined_total": "joined_total", "wamp_sessions_left_total": "left_total",
              "wamp_messages_received_total": "msgs_rx_total", "wamp_messages_sent_total": "msgs_tx_total"}
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode(errors="replace")
    except (OSError, ValueError):
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in wanted:
            try:
                out[wanted[name]] = out.get(wanted[name], 0) + float(line.rsplit(" ", 1)[1])
            except ValueError:
                pass
    return {k: int(v) for k, v in out.items()}


class Procs:
    """Every process started here, stopped by PID (its process group) in reverse order."""

    def __init__(self):
        self.items = []  # (name, Popen, signal)

    def add(self, name, proc, sig=signal.SIGINT):
        self.items.append((name, proc, sig))
        return proc

    def stop(self, proc):
        for i, (name, p, sig) in enumerate(self.items):
            if p is proc:
                del self.items[i]
                self._stop(p, sig)
                return

    @staticmethod
    def _stop(p, sig):
        if p.poll() is not None:
            return
        try:
            os.killpg(p.pid, sig)
            p.wait(15)
        except (subprocess.TimeoutExpired, ProcessLookupError, PermissionError):
            try:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass

    def stop_all(self):
        while self.items:
            _, p, sig = self.items.pop()
            self._stop(p, sig)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def slope_per_min(points):
    """Least-squares slope of (t seconds, y) points, per minute; None with fewer than 2."""
    pts = [(t, y) for t, y in points if y is not None]
    if len(pts) < 2:
        return None
    mt = sum(t for t, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    var = sum((t - mt) ** 2 for t, _ in pts)
    return 60 * sum((t - mt) * (y - my) for t, y in pts) / var if var else None


def fmt(x, digits=0):
    return "–" if x is None else f"{x:,.{digits}f}"


def windows(seconds):
    """(warm-up window, end window) in seconds from the start of a load of `seconds`."""
    if seconds >= 300:
        return (60.0, 120.0), (seconds - 30.0, seconds)
    return (seconds / 5, 2 * seconds / 5), (seconds * 4 / 5, seconds)


def loadgen_verdict(name, rc, out, subscribers=None):
    """(ok, summary dict, [problems]) of one load generator's exit status and JSON summary."""
    problems = []
    try:
        s = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    except (ValueError, IndexError):
        s = {}
    if not s:
        problems.append(f"{name}: no JSON summary")
    if rc != 0:
        problems.append(f"{name}: exit status {rc}")
    if s.get("errors"):
        problems.append(f"{name}: errors {s['errors']}")
    if (s.get("sessions") or {}).get("failed"):
        problems.append(f"{name}: {s['sessions']['failed']} sessions could not join")
    for kind, m in (s.get("measured") or {}).items():
        if m.get("failed"):
            problems.append(f"{name}: {m['failed']} {kind} failed")
    if subscribers is not None and s:
        pubs = ((s.get("measured") or {}).get("publications") or {}).get("ok", 0)
        events = ((s.get("measured") or {}).get("events") or {}).get("ok", 0)
        if events != pubs * subscribers:
            problems.append(f"{name}: {events:,} events received, {pubs * subscribers:,} expected "
                            f"({pubs:,} publications × {subscribers} subscribers)")
    return not problems, s, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    rel = ROOT / "target" / "release"
    ap.add_argument("--router", default=str(rel / "wamp-router"))
    ap.add_argument("--loadgen", default=str(rel / "wamp-loadgen"))
    ap.add_argument("--minutes", type=float, default=10, help="how long the load runs")
    ap.add_argument("--mixed-rate", type=float, default=2000,
                    help="requests/s of `mixed` (half publications, half calls)")
    ap.add_argument("--subscribers", type=int, default=4, help="subscribers of `mixed`")
    ap.add_argument("--payload", type=int, default=100, help="bytes of each payload of `mixed`")
    ap.add_argument("--churn-rate", type=float, default=20, help="sessions/s of `churn`")
    ap.add_argument("--churn-concurrency", type=int, default=16, help="churning sessions at once at most")
    ap.add_argument("--router-threads", type=int, default=1)
    ap.add_argument("--rss-tolerance", type=float, default=0.10,
                    help="largest relative growth of RSS from warm-up to end that passes")
    ap.add_argument("--csv", default=str(ROOT / "target" / "soak" / "soak.csv"),
                    help="where the per-second samples go (a generated file: never commit it)")
    ap.add_argument("--plot", metavar="PNG", help="draw the CSV into this PNG with bench/soak_plot.py")
    ap.add_argument("--plot-python", default=sys.executable,
                    help="the interpreter (with matplotlib) that runs bench/soak_plot.py")
    ap.add_argument("--cooldown", type=float, default=10,
                    help="seconds sampled after the load, before the leak checks (at most)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (config, logs) and say where")
    a = ap.parse_args()
    if not (0.1 <= a.minutes <= 24 * 60 and a.mixed_rate > 0 and a.churn_rate > 0 and a.subscribers >= 1):
        ap.error("--minutes 0.1..1440, positive rates, at least one subscriber")
    for b in (a.router, a.loadgen):
        if not os.access(b, os.X_OK):
            ap.error(f"{b} is not an executable: build it first (cargo build --release ...)")

    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="wampstat-soak-"))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    # SIGINT too: a shell's background job inherits it ignored, and the soak must still stop.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    seconds = a.minutes * 60
    warm_w, end_w = windows(WARMUP + seconds)
    rows = []
    result = None
    interrupted = False
    probe = None
    csv_path = Path(a.csv)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        ticket = secrets.token_urlsafe(24)
        env = {k: v for k, v in os.environ.items() if k != "WAMP_TICKET"}
        env["WAMPSTAT_OPERATOR_TICKET"] = ticket
        ws_port, rs_port = free_port(), free_port()
        (tmp / "config.json").write_text(json.dumps(config(ws_port, rs_port), indent=1))
        router_log = open(tmp / "router.log", "w")
        router = procs.add("wamp-router", subprocess.Popen(
            [a.router, "--cbdir", str(tmp), "--threads", str(a.router_threads)],
            stdout=router_log, stderr=subprocess.STDOUT, env=env, start_new_session=True))
        wait_port(ws_port, router)
        wait_port(rs_port, router)
        probe = Probe(rs_port, ticket, timeout=15)
        if probe.count() != 1:
            raise RuntimeError(f"expected the probe alone in the realm, found {probe.count()} sessions")

        out_f = csv_path.open("w", newline="")
        writer = csv.writer(out_f)
        writer.writerow(COLUMNS)
        t0 = time.time()
        prev = {"ticks": None, "t": None}

        load_t0 = None  # when the load generators started (s since t0)

        def sample(phase):
            now = time.time()
            window = ""
            if phase == "load" and load_t0 is not None:
                since = now - t0 - load_t0
                window = ("warm-up" if warm_w[0] <= since <= warm_w[1]
                          else "end" if end_w[0] <= since <= end_w[1] else "")
            rss, fds, threads, ticks = proc_sample(router.pid)
            cpu = None
            if ticks is not None and prev["ticks"] is not None and now > prev["t"]:
                cpu = (ticks - prev["ticks"]) / TICK / (now - prev["t"]) * 100
            prev.update(ticks=ticks, t=now)
            count = probe.count()
            m = scrape(ws_port)
            row = {"t_s": round(now - t0, 2), "phase": phase, "window": window, "rss_kb": rss, "fds": fds,
                   "threads": threads, "cpu_pct": None if cpu is None else round(cpu, 1),
                   "sessions": count, "load1": load1(), **m}
            writer.writerow(["" if row.get(c) is None else row[c] for c in COLUMNS])
            out_f.flush()
            rows.append(row)
            return row

        # Before the load: a few seconds of the idle router (with the probe).
        for _ in range(3):
            sample("before")
            time.sleep(1)
        base = sample("before")
        log(f"router idle: RSS {base['rss_kb']:,} kB, {base['fds']} fds, {base['threads']} threads")

        common = ["--realm", "realm1", "--progress", "never", "--json", "--warmup", f"{WARMUP:g}s",
                  "--duration", f"{seconds:g}s"]
        mixed_cmd = [a.loadgen, "--url", f"rs://127.0.0.1:{rs_port}", "--serializer", "msgpack",
                     "--rate", f"{a.mixed_rate:g}", *common,
                     "mixed", "--subscribers", str(a.subscribers), "--payload", str(a.payload)]
        churn_cmd = [a.loadgen, "--url", f"ws://127.0.0.1:{ws_port}/ws", "--serializer", "json",
                     "--rate", f"{a.churn_rate:g}", *common,
                     "churn", "--concurrency", str(a.churn_concurrency)]
        lgs = {}
        for name, cmd in (("mixed", mixed_cmd), ("churn", churn_cmd)):
            lgs[name] = procs.add(f"wamp-loadgen {name}", subprocess.Popen(
                cmd, stdout=open(tmp / f"{name}.out", "w"), stderr=open(tmp / f"{name}.err", "w"),
                env=env, start_new_session=True))
        load_t0 = time.time() - t0
        log(f"load started: mixed {a.mixed_rate:g}/s, churn {a.churn_rate:g} sessions/s, {a.minutes:g} min")

        # The load: one sample a second, until both load generators are done (bounded).
        deadline = time.time() + seconds + 120
        k = 0
        next_log = time.time() + 60
        while time.time() < deadline:
            if router.poll() is not None:
                raise RuntimeError(f"the router exited with {router.returncode} during the load")
            if all(p.poll() is not None for p in lgs.values()):
                break
            row = sample("load")
            if time.time() >= next_log:
                next_log += 60
                log(f"  {row['t_s'] - load_t0:6.0f} s: RSS {row['rss_kb']:,} kB, {row['fds']} fds, "
                    f"{row['threads']} threads, {row['sessions']} sessions, CPU {row['cpu_pct']}%")
            k += 1
            time.sleep(max(0.0, t0 + load_t0 + k - time.time()))
        else:
            raise RuntimeError("the load generators did not finish in time")
        load_t1 = time.time() - t0
        verdicts = {}
        for name, p in lgs.items():
            procs.stop(p)
            out = (tmp / f"{name}.out").read_text(errors="replace")
            verdicts[name] = loadgen_verdict(name, p.returncode, out,
                                             a.subscribers if name == "mixed" else None)

        # After the load: the sessions drain (bounded), then the leak checks.
        end = time.time() + a.cooldown
        while True:
            after = sample("after")
            drained = after["sessions"] == 1 and after["fds"] is not None and after["fds"] <= base["fds"]
            if drained or time.time() >= end:
                break
            time.sleep(1)
        subs = probe.listing("subscription")
        regs = probe.listing("registration")
        out_f.close()

        warm_rows = [r for r in rows if r["window"] == "warm-up"]
        end_rows = [r for r in rows if r["window"] == "end"]
        rss_warm = median([r["rss_kb"] for r in warm_rows])
        rss_end = median([r["rss_kb"] for r in end_rows])
        ratio = rss_end / rss_warm if rss_warm and rss_end else None
        growth = slope_per_min([(r["t_s"], r["rss_kb"]) for r in rows
                                if r["phase"] == "load" and r["t_s"] >= load_t0 + warm_w[0]])
        load_rows = [r for r in rows if r["phase"] == "load"]
        leaked_subs = sum(len(v) for v in subs.values()) if isinstance(subs, dict) else subs
        leaked_regs = sum(len(v) for v in regs.values()) if isinstance(regs, dict) else regs
        checks = {
            "RSS flat": ratio is not None and ratio <= 1 + a.rss_tolerance,
            "nothing leaked": (leaked_subs == 0 and leaked_regs == 0 and after["sessions"] == 1
                               and after["fds"] == base["fds"] and after["threads"] == base["threads"]),
            "nothing failed": all(v[0] for v in verdicts.values()),
        }
        result = dict(
            started=started, seconds=load_t1 - load_t0, base=base, after=after, subs=subs, regs=regs,
            leaked_subs=leaked_subs, leaked_regs=leaked_regs, rss_warm=rss_warm, rss_end=rss_end,
            ratio=ratio, growth=growth, checks=checks, verdicts=verdicts, end_rows=end_rows,
            warm_rows=warm_rows,
            peak_rss=max((r["rss_kb"] for r in load_rows if r["rss_kb"]), default=None),
            max_fds=max((r["fds"] for r in load_rows if r["fds"]), default=None),
            max_threads=max((r["threads"] for r in load_rows if r["threads"]), default=None),
            max_sessions=max((r["sessions"] for r in load_rows if r["sessions"]), default=None),
            cpu=median([r["cpu_pct"] for r in load_rows]),
            load1=median([r["load1"] for r in load_rows]),
            cmd=(" ".join(mixed_cmd), " ".join(churn_cmd)),
        )
    except KeyboardInterrupt as e:
        interrupted = True
        log(f"interrupted ({e}); stopping everything")
    except Exception as e:
        log(f"soak failed: {e}")
        for name in ("router.log", "mixed.err", "churn.err"):
            p = tmp / name
            if p.exists():
                tail = p.read_text(errors="replace").strip().splitlines()[-5:]
                if tail:
                    log(f"--- {name} (last lines)\n" + "\n".join(tail))
    finally:
        if probe is not None:
            probe.close()
        procs.stop_all()
        if a.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    log(f"samples: {csv_path} ({len(rows)} rows)")
    if result is None:
        sys.exit(130 if interrupted else 1)
    r = result
    verdict = "PASS" if all(r["checks"].values()) else "FAIL"
    if a.plot:
        title = (f"wamp-router soak {r['started']}: mixed {a.mixed_rate:g} req/s + churn "
                 f"{a.churn_rate:g} sessions/s, {a.minutes:g} min — {verdict}")
        cmd = [a.plot_python, str(ROOT / "bench" / "soak_plot.py"), str(csv_path), a.plot,
               "--title", title, "--band", f"{r['rss_warm'] or 0}:{a.rss_tolerance}"]
        p = procs.add("soak_plot", subprocess.Popen(cmd, start_new_session=True))
        try:
            p.wait(120)
        except subprocess.TimeoutExpired:
            log("the plot took more than 120 s; stopped")
        finally:
            procs.stop_all()
        log(f"plot: {a.plot}" if p.returncode == 0 else f"the plot failed ({p.returncode})")

    mixed = r["verdicts"]["mixed"][1].get("measured") or {}
    churn = r["verdicts"]["churn"][1].get("measured") or {}
    g = lambda m, k, f="ok": (m.get(k) or {}).get(f)
    print(f"\nMachine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}; "
          f"started {r['started']}; load {r['seconds']:.0f} s; router --threads {a.router_threads}; "
          f"router CPU median {fmt(r['cpu'])}% of a core, load average median {fmt(r['load1'], 2)}\n")
    print(f"- mixed (RawSocket+msgpack): {a.mixed_rate:g} requests/s, {a.subscribers} subscribers, "
          f"{a.payload}-byte payloads: {fmt(g(mixed, 'publications'))} publications, "
          f"{fmt(g(mixed, 'events'))} events, {fmt(g(mixed, 'calls'))} calls ok")
    print(f"- churn (WebSocket+JSON): {a.churn_rate:g} sessions/s, at most {a.churn_concurrency} at once: "
          f"{fmt(g(churn, 'cycles'))} session cycles ok, "
          f"{fmt((r['verdicts']['churn'][1].get('sessions') or {}).get('joined'))} sessions joined\n")
    print("| figure | before the load | after warm-up | end of the load | after the load |")
    print("|---|---:|---:|---:|---:|")
    wm = lambda rows, k: median([x[k] for x in rows])
    print(f"| RSS (kB) | {fmt(r['base']['rss_kb'])} | {fmt(r['rss_warm'])} | {fmt(r['rss_end'])} "
          f"| {fmt(r['after']['rss_kb'])} |")
    for k, label in (("fds", "file descriptors"), ("threads", "threads"), ("sessions", "sessions (probe included)")):
        print(f"| {label} | {fmt(r['base'][k])} | {fmt(wm(r['warm_rows'], k))} | {fmt(wm(r['end_rows'], k))} "
              f"| {fmt(r['after'][k])} |")
    print(f"\n- RSS end / warm-up: **{fmt(r['ratio'], 3)}** (passes up to {1 + a.rss_tolerance:.2f}); "
          f"linear growth after warm-up {fmt(r['growth'], 1)} kB/min; peak {fmt(r['peak_rss'])} kB")
    print(f"- during the load, at most: {fmt(r['max_fds'])} fds, {fmt(r['max_threads'])} threads, "
          f"{fmt(r['max_sessions'])} sessions")
    print(f"- after the load: {r['leaked_subs']} subscriptions, {r['leaked_regs']} registrations, "
          f"{r['after']['sessions']} session(s) (the probe)")
    problems = [p for v in r["verdicts"].values() for p in v[2]]
    print(f"- failures: {'; '.join(problems) if problems else 'none'}\n")
    for name, ok in r["checks"].items():
        print(f"- {name}: **{'PASS' if ok else 'FAIL'}**")
    print(f"\n**{verdict}**")
    sys.exit(0 if verdict == "PASS" else 2)


if __name__ == "__main__":
    main()
