#!/usr/bin/env python3
"""The dashboard under a flood of `wamp.session.on_stats` events (BENCHMARKS.md, "The dashboard
under a flood of statistics events"): can `wamp-monitor` keep up with 150,000 on_stats/s at
160x48, and at what CPU, while the router and the load run on the same machine?

    python3 bench/monitor_flood.py                         # 13,600 publications/s, ~150k on_stats/s
    python3 bench/monitor_flood.py --rates 5000,10000,13600 --runs 3 --seconds 10
    python3 bench/monitor_flood.py --serializer json,msgpack,cbor
    python3 bench/monitor_flood.py --idle-sessions 10000   # the same flood, 10,000 more rows

It builds nothing: it runs the release binaries given (default target/release/...), so build
them first (`cargo build --release -p wamp-router -p wamp-loadgen -p wamp-monitor`).

What one run does:

- The router (started once) reads a temporary config: realm `realm1`, anonymous may do
  everything, an `operator` principal (ticket auth, a random ticket made here and handed over in
  `WAMPSTAT_OPERATOR_TICKET`), and statistics that end a session's cycle every `--trigger` rated
  messages (default 1). With 1, every message through the router ends a cycle, so one publication
  to S subscribers makes 1 + S on_stats events (PUBLISH received, S EVENTs sent): 150k on_stats/s
  needs only ~13.6k publications/s (136k events/s) with 10 subscribers, instead of the 1.5 M
  messages/s the default trigger of 10 would need. The load is then light enough that what is
  measured is the dashboard, not a machine out of CPU.
- `wamp-monitor` runs in a detached tmux session of exactly 160x48 on a private tmux server (a
  real pty: the dashboard really draws), logged in as `operator` (WAMP_TICKET in its
  environment, never on a command line).
- `wamp-loadgen pubsub --no-ack` runs at the given rate over RawSocket+msgpack.
- Once the header shows traffic (polled with `tmux capture-pane`, bounded), the script measures
  for `--seconds`:
  - the monitor's CPU (utime+stime from /proc/PID/stat, over the wall time, % of one core) and
    its RSS at the end; the same CPU figure for the router and the tmux server (the terminal
    emulator, which parses everything the dashboard draws);
  - the on_stats events the router published, counted on the router side without adding load:
    a probe session (stdlib RawSocket+JSON client, operator) calls `wampstat.session.stats`
    once at the start and once at the end of the window; every on_stats event carries the
    session's next cycle number, so the sum over sessions of the cycle numbers' growth is the
    number of on_stats events published. That is two calls per run, answered in-process by the
    router; the meta events of the probe's own join reach the dashboard before the window starts;
  - the `stats events/s` figure in the dashboard's header, read about once a second (it is the
    rate the dashboard applied in its last tick: what it consumed, not what was sent);
  - whether it kept up: the router never closed the monitor's session (it is still listed at the
    end; the realm's slow-consumer policy is `close`, so a monitor that fell behind by the
    router's queue is gone), the screen shows no `slow`/`connection lost` line, the router's log
    no slow consumer, and the header rate is within 10% of what the router published.

One row per run goes to stderr as it is measured; the medians over `--runs` are printed as a
Markdown table. Everything started here (router, loadgen, monitor, tmux server) is stopped by
its PID on exit, error, SIGINT or SIGTERM, and the temporary directory (config, logs, tmux
socket) is removed.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, whatever the cwd
from wamp_probe import OPERATOR, Probe, free_port, load1, log, wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
COLS, ROWS = 160, 48


def config(ws_port, rs_port, trigger, rated_size):
    """The router's config: anonymous may do everything (the load), `operator` by ticket (the
    dashboard and the probe), statistics ending a cycle every `trigger` rated messages."""
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
                "stats": {"rated_message_size": rated_size, "trigger_after_rated_messages": trigger,
                          "trigger_after_duration": 0, "trigger_on_join": True, "trigger_on_leave": True},
                "roles": [{"name": "anonymous", "permissions": everything},
                          {"name": "operator", "permissions": everything}],
            }],
            "transports": [
                {"type": "web", "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": ws_port},
                 "paths": {"ws": {"type": "websocket", "serializers": serializers,
                                  "options": {"max_message_size": 1048576}, "auth": auth}}},
                {"type": "rawsocket", "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": rs_port},
                 "serializers": serializers, "options": {"max_message_size": 1048576}, "auth": auth},
            ],
        }],
    }


def cpu_ticks(pid):
    """utime + stime of one process (all its threads), in clock ticks; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def rss_mb(pid):
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6
    except (OSError, IndexError, ValueError):
        return float("nan")


class Procs:
    """Every process started here, stopped by PID (process group) in reverse order."""

    def __init__(self):
        self.items = []  # (name, Popen or pid, signal)

    def add(self, name, proc, sig=signal.SIGINT):
        self.items.append((name, proc, sig))
        return proc

    def stop(self, proc):
        for i, (name, p, sig) in enumerate(self.items):
            if p is proc or (isinstance(p, int) and p == proc):
                del self.items[i]
                self._stop(name, p, sig)
                return

    @staticmethod
    def _stop(name, p, sig):
        if isinstance(p, int):  # a PID we did not fork ourselves (the tmux server, the monitor)
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                return
            for _ in range(100):
                try:
                    os.kill(p, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.05)
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
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
            name, p, sig = self.items.pop()
            self._stop(name, p, sig)


class Dashboard:
    """wamp-monitor in a detached 160x48 tmux session on a private tmux server."""

    def __init__(self, procs, a, tmp, url, serializer, env):
        self.procs, self.sock = procs, str(tmp / "tmux.sock")
        cmd = (f"exec {a.monitor} --url {url} --serializer {serializer} --tick {a.tick:g} "
               f"--authmethod ticket --authid {OPERATOR} 2>{tmp / 'monitor.err'}")
        env = dict(env, TERM="xterm-256color")
        # The tmux server is forked by tmux itself: our child exits at once, the server stays.
        subprocess.run(["tmux", "-S", self.sock, "-f", "/dev/null", "new-session", "-d", "-s", "flood",
                        "-x", str(COLS), "-y", str(ROWS), cmd], check=True, env=env, timeout=20)
        self.server = int(self.tmux("display-message", "-p", "#{pid}").strip())
        procs.add("tmux server", self.server, signal.SIGTERM)
        self.tmux("set-option", "-g", "window-size", "manual")
        self.tmux("resize-window", "-t", "flood", "-x", str(COLS), "-y", str(ROWS))
        self.pid = int(self.tmux("list-panes", "-t", "flood", "-F", "#{pane_pid}").split()[0])
        procs.add("wamp-monitor", self.pid, signal.SIGTERM)
        size = self.tmux("display-message", "-p", "-t", "flood", "#{window_width}x#{window_height}").strip()
        if size != f"{COLS}x{ROWS}":
            raise RuntimeError(f"the tmux window is {size}, not {COLS}x{ROWS}")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock, *args], check=True, capture_output=True,
                              text=True, timeout=10).stdout

    def screen(self):
        try:
            return self.tmux("capture-pane", "-p", "-t", "flood")
        except subprocess.SubprocessError:
            return ""

    def header_rate(self, text=None):
        """The header's `stats events/s` figure, or None when it is not on screen."""
        m = re.search(r"stats events/s\s+([0-9.]+)([kMG]?)", text if text is not None else self.screen())
        if not m:
            return None
        return float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]

    def live(self, text):
        m = re.search(r"(\d+) live", text)
        return int(m.group(1)) if m else None

    def stop(self):
        self.procs.stop(self.pid)
        self.procs.stop(self.server)


def median(xs):
    xs = [x for x in xs if x is not None and x == x]
    return statistics.median(xs) if xs else float("nan")


def fmt(x, digits=0):
    return "–" if x is None or x != x else f"{x:,.{digits}f}"


def start_idle(procs, a, tmp, rs_port, env):
    """`wamp-loadgen idle`: --idle-sessions more rows on the dashboard (bounded wait)."""
    err = open(tmp / "idle.err", "w+")
    p = procs.add("idle sessions", subprocess.Popen(
        [a.loadgen, "--url", f"rs://127.0.0.1:{rs_port}", "--serializer", "msgpack", "--progress", "always",
         "--warmup", "0", "--duration", "3600", "idle", "--sessions", str(a.idle_sessions)],
        stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True))
    end = time.time() + 300
    while time.time() < end and p.poll() is None:
        err.seek(0)
        if f"sessions {a.idle_sessions} up" in err.read():
            return p
        time.sleep(0.5)
    raise RuntimeError(f"{a.idle_sessions} idle sessions not up after 300 s")


def one_run(procs, a, tmp, ports, ticket, env, serializer, rate):
    ws_port, rs_port = ports
    url = f"ws://127.0.0.1:{ws_port}/ws" if a.transport == "ws" else f"rs://127.0.0.1:{rs_port}"
    mon_env = dict(env, WAMP_TICKET=ticket)
    dash = Dashboard(procs, a, tmp, url, serializer, mon_env)
    probe = None
    lg = None
    try:
        # The dashboard is up and connected (its header counts the sessions).
        end = time.time() + 20
        while time.time() < end and dash.live(dash.screen()) is None:
            time.sleep(0.25)
        probe = Probe(rs_port, ticket)
        before = probe.sessions()
        monitor_ids = [s for s, (authid, _) in before.items() if authid == OPERATOR]
        if len(monitor_ids) != 1:
            raise RuntimeError(f"expected one operator session (the dashboard), found {monitor_ids}")
        monitor_id = monitor_ids[0]
        settle = 2.0
        lg_cmd = [a.loadgen, "--url", f"rs://127.0.0.1:{rs_port}", "--serializer", "msgpack",
                  "--threads", str(a.loadgen_threads), "--rate", str(rate), "--json", "--progress", "never",
                  "--warmup", f"{settle:g}", "--duration", f"{a.seconds + 25:g}",
                  "pubsub", "--subscribers", str(a.subscribers), "--no-ack", "--payload", str(a.payload)]
        lg = procs.add("wamp-loadgen", subprocess.Popen(
            lg_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            start_new_session=True))
        # Traffic on the dashboard (bounded), then a moment for the rates to settle.
        t_start = time.time()
        end = t_start + 20
        while time.time() < end:
            r = dash.header_rate()
            if r and r > 0 and time.time() - t_start >= settle:
                break
            if lg.poll() is not None:
                raise RuntimeError(f"wamp-loadgen exited early: {lg.stderr.read().strip()}")
            time.sleep(0.25)
        else:
            raise RuntimeError("the dashboard's header showed no stats events within 20 s")
        time.sleep(1.0)
        # The window.
        s0 = probe.sessions()
        pids = {"monitor": dash.pid, "router": a.router_pid, "tmux": dash.server}
        c0 = {k: cpu_ticks(p) for k, p in pids.items()}
        t0 = time.time()
        samples = []
        for _ in range(int(a.seconds * 2) + 2):  # bounded: at most one sample per 0.5 s
            time.sleep(min(1.0, max(0.0, t0 + a.seconds - time.time())))
            if time.time() >= t0 + a.seconds:
                break
            samples.append(dash.header_rate())
        c1 = {k: cpu_ticks(p) for k, p in pids.items()}
        t1 = time.time()
        s1 = probe.sessions()
        rss = rss_mb(dash.pid)
        load = load1()
        wall = t1 - t0
        cpu = {k: (c1[k] - c0[k]) / TICK / wall * 100 if c0[k] is not None and c1[k] is not None
               else float("nan") for k in pids}
        published = sum(max(0, s1[s][1] - s0[s][1]) for s in s0 if s in s1)
        router_rate = published / wall
        text = dash.screen()
        # The load ends; was the dashboard closed meanwhile?
        procs.stop(lg)
        out, err = lg.communicate(timeout=30)
        after = probe.sessions()
        closed = monitor_id not in s1 or monitor_id not in after
        flagged = [l.strip() for l in text.splitlines()
                   if re.search(r"\bslow\b|connection lost|closed the session", l)]
        router_log = (tmp / "router.log").read_text(errors="replace")
        router_slow = len(re.findall(r"slow", router_log, re.I))
        header = median(samples)
        matches = router_rate > 0 and abs(header - router_rate) / router_rate <= 0.10
        kept = not closed and not flagged and matches
        try:
            summary = json.loads(out) if out.strip() else {}
        except ValueError:
            summary = {}
        events = ((summary.get("measured") or {}).get("events") or {}).get("per_s")
        row = {
            "serializer": serializer, "transport": a.transport, "rate": rate,
            "sessions": len(s1) + 1, "router_on_stats": router_rate, "header_on_stats": header,
            "cpu": cpu["monitor"], "rss": rss, "router_cpu": cpu["router"], "tmux_cpu": cpu["tmux"],
            "load": load, "kept": kept, "closed": closed, "flagged": flagged, "router_slow": router_slow,
            "loadgen_events": events, "loadgen_errors": summary.get("errors"),
            "header_samples": [s for s in samples if s is not None],
        }
        return row
    finally:
        if lg is not None:
            procs.stop(lg)
        if probe is not None:
            probe.close()
        dash.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    rel = ROOT / "target" / "release"
    ap.add_argument("--router", default=str(rel / "wamp-router"))
    ap.add_argument("--loadgen", default=str(rel / "wamp-loadgen"))
    ap.add_argument("--monitor", default=str(rel / "wamp-monitor"))
    ap.add_argument("--rates", default="13600",
                    help="comma-separated publication rates of wamp-loadgen (per s, all publishers); "
                         "with --trigger 1 the router makes (1 + subscribers) on_stats per publication")
    ap.add_argument("--serializer", default="json",
                    help="the dashboard's serializer(s), comma-separated: json, msgpack, cbor")
    ap.add_argument("--transport", choices=["ws", "rs"], default="ws", help="the dashboard's transport")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10, help="measured window of each run")
    ap.add_argument("--trigger", type=int, default=1, help="trigger_after_rated_messages")
    ap.add_argument("--rated-size", type=int, default=256, help="rated_message_size")
    ap.add_argument("--subscribers", type=int, default=10)
    ap.add_argument("--payload", type=int, default=100)
    ap.add_argument("--loadgen-threads", type=int, default=1)
    ap.add_argument("--router-threads", type=int, default=1)
    ap.add_argument("--outbound-queue", type=int, default=8192,
                    help="the router's --outbound-queue (messages): the dashboard's slack before "
                         "the router closes it as a slow consumer (8192 = 55 ms at 150k/s)")
    ap.add_argument("--tick", type=float, default=4, help="the dashboard's --tick")
    ap.add_argument("--idle-sessions", type=int, default=0, help="extra idle sessions (rows) during the runs")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (config, logs) and say where")
    ap.add_argument("--json", action="store_true", help="also print every run as a JSON line on stdout")
    a = ap.parse_args()
    rates = [int(float(r)) for r in a.rates.split(",") if r]
    sers = [s for s in a.serializer.split(",") if s]
    if not (1 <= a.runs <= 50 and 1 <= a.seconds <= 600 and rates and sers):
        ap.error("--runs 1..50, --seconds 1..600, at least one rate and one serializer")
    for b in (a.router, a.loadgen, a.monitor):
        if not os.access(b, os.X_OK):
            ap.error(f"{b} is not an executable: build it first (cargo build --release ...)")
    if shutil.which("tmux") is None:
        ap.error("tmux is needed (apt-get install tmux)")
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * a.idle_sessions + 4096)), hard))
    except (ValueError, OSError):
        pass

    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="monitor-flood-"))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    rows = []
    try:
        ticket = secrets.token_urlsafe(24)
        env = {k: v for k, v in os.environ.items() if k not in ("WAMP_TICKET", "TMUX")}
        env["WAMPSTAT_OPERATOR_TICKET"] = ticket
        ws_port, rs_port = free_port(), free_port()
        (tmp / "config.json").write_text(json.dumps(config(ws_port, rs_port, a.trigger, a.rated_size), indent=1))
        router_log = open(tmp / "router.log", "w")
        router = procs.add("wamp-router", subprocess.Popen(
            [a.router, "--cbdir", str(tmp), "--threads", str(a.router_threads),
             "--outbound-queue", str(a.outbound_queue)],
            stdout=router_log, stderr=subprocess.STDOUT, env=env, start_new_session=True))
        wait_port(ws_port, router)
        wait_port(rs_port, router)
        a.router_pid = router.pid
        if a.idle_sessions:
            log(f"starting {a.idle_sessions} idle sessions ...")
            start_idle(procs, a, tmp, rs_port, env)
        log(f"trigger every {a.trigger} rated message(s), {a.subscribers} subscribers: "
            f"~{1 + a.subscribers} on_stats per publication; dashboard {COLS}x{ROWS} over {a.transport}")
        for ser in sers:
            for rate in rates:
                for r in range(a.runs):
                    row = one_run(procs, a, tmp, (ws_port, rs_port), ticket, env, ser, rate)
                    rows.append(row)
                    log(f"  {ser} rate {rate} run {r + 1}: on_stats/s router {fmt(row['router_on_stats'])} "
                        f"header {fmt(row['header_on_stats'])}, monitor CPU {row['cpu']:.1f}% "
                        f"RSS {row['rss']:.0f} MB, router {row['router_cpu']:.0f}% tmux {row['tmux_cpu']:.0f}%, "
                        f"load {row['load']:.2f}, kept up: {row['kept']}"
                        + (f" (closed: {row['closed']}, screen: {row['flagged']})" if not row["kept"] else ""))
                    if a.json:
                        print(json.dumps(row), flush=True)
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); stopping everything")
    finally:
        procs.stop_all()
        if a.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    if rows:
        print(f"\nMachine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}; "
              f"{a.runs} run(s) of {a.seconds:g} s, medians; dashboard {COLS}x{ROWS}, {a.transport}, "
              f"tick {a.tick:g}/s; trigger {a.trigger}, {a.subscribers} subscribers, "
              f"{a.idle_sessions} idle sessions; {time.strftime('%Y-%m-%d %H:%M')}\n")
        print("| serializer | loadgen rate | sessions | on_stats/s (router) | on_stats/s (header) "
              "| dashboard CPU % | RSS MB | router CPU % | tmux CPU % | load avg | kept up |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for ser in sers:
            for rate in rates:
                rs = [x for x in rows if x["serializer"] == ser and x["rate"] == rate]
                if not rs:
                    continue
                m = lambda k: median([x[k] for x in rs])
                kept = sum(x["kept"] for x in rs)
                print(f"| {ser} | {rate:,} | {fmt(m('sessions'))} | {fmt(m('router_on_stats'))} | "
                      f"{fmt(m('header_on_stats'))} | {fmt(m('cpu'), 1)} | {fmt(m('rss'))} | "
                      f"{fmt(m('router_cpu'))} | {fmt(m('tmux_cpu'))} | {fmt(m('load'), 2)} | {kept}/{len(rs)} |")


if __name__ == "__main__":
    main()
