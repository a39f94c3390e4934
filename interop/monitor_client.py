#!/usr/bin/env python3
"""Crossbar-style session monitor for the wampstat router, built on autobahn-python (asyncio).

Usage:
    python monitor_client.py --url ws://127.0.0.1:PORT/ws --serializer json
    python monitor_client.py --url rs://127.0.0.1:PORT --serializer msgpack \\
        --client-url ws://127.0.0.1:PORT2/ws --client-serializer json [--realm realm1]

Modeled on the ``monitor.py`` of Crossbar's stats example (crossbar-examples, ``stats/``): a
monitor session subscribes to ``wamp.session.on_join``, ``wamp.session.on_stats`` and
``wamp.session.on_leave`` (three exact subscriptions); a second monitor session subscribes to the
prefix ``wamp.session.``. Then a client session (``--client-url`` / ``--client-serializer``,
default: the monitor's) does known traffic (30 acknowledged publishes it receives itself, 10 calls
of its own procedure, one 3000-byte publish) and leaves with GOODBYE. The monitors check that the
meta events about the client are complete, in order, and that its ``on_stats`` cycles add up
exactly to the messages and bytes the client sent and received (counted independently, on the
client side, from what autobahn's serializer produced and parsed).

Exit status 0 and a last line ``monitor OK: <url> <serializer> client <client-url>
<client-serializer>`` when every check passed; otherwise each failed check is printed as
``FAIL <check>: <why>`` (stderr), the last stdout line is ``monitor FAILED: ...`` and the exit
status is 1. The whole run is bounded (``--timeout``, default 14 s, plus 2 s for GOODBYE; a hard
watchdog ends the process at 19 s whatever happens). Every wait is an ``asyncio.wait_for`` on a
future, queue or event the handlers fill; nothing sleeps. Run at most two at once against one
router realm: more on_stats subscribers make the on_stats events feed themselves (README.md).
"""

import os
import sys

import wampcheck  # first of all: it starts the clock and the watchdog, then imports autobahn

import asyncio
import math
import secrets
import time
from collections import Counter

from autobahn.wamp.types import PublishOptions, SubscribeOptions
from wampcheck import (
    BUDGET,
    CheckFailed,
    EventSink,
    Runner,
    add_timeout_and_verbose,
    connect,
    expect,
    expect_error,
    is_id,
    run_main,
    short,
    wait,
)

wampcheck.set_program("monitor")

LATE_GRACE_S = 1.0  # failure path only: how long to wait for an event that should already be there

ON_JOIN = "wamp.session.on_join"
ON_STATS = "wamp.session.on_stats"
ON_LEAVE = "wamp.session.on_leave"
META_TOPICS = (ON_JOIN, ON_STATS, ON_LEAVE)
META_PREFIX = "wamp.session."

# wamp.session.on_join details: exactly these keys, in this order (as Crossbar sends them)
JOIN_KEYS = [
    "realm", "session", "authid", "authrole", "authmethod", "authprovider", "authextra",
    "serializer", "transport", "resumed", "resumable", "resume_token",
]
AUTHEXTRA_KEYS = ("x_cb_node", "x_cb_worker", "x_cb_peer", "x_cb_pid")
INFO_KEYS = {"realm", "session", "authid", "authrole"}
STATS_KEYS = {
    "cycle", "serializer", "timestamp", "duration", "bytes", "messages", "rated_messages",
    "first", "last", "bytes_rx", "bytes_tx", "messages_rx", "messages_tx",
}
# Our router's extension (absent from Crossbar's): events dropped under the realm's
# slow_consumer "drop" policy in the cycle; when present, a count (0 for a client that reads).
STATS_EXTENSION_KEYS = {"dropped"}
STATS_COUNTERS = ("bytes", "messages", "rated_messages", "bytes_rx", "bytes_tx", "messages_rx", "messages_tx")

# ---- the client's traffic, and the WAMP messages it must exchange for it ---------------------
# unique per run, so that runs against the same router do not see each other's events / procedure
_RUN = f"r{os.getpid()}_{secrets.token_hex(4)}"
CLIENT_TOPIC = f"com.example.monitor.{_RUN}.topic"
CLIENT_PROC = f"com.example.monitor.{_RUN}.echo"
N_PUBLISH = 30
N_CALLS = 10
BIG_PAYLOAD_BYTES = 3000

# autobahn message class name -> count; "sent" = client -> router (the router's rx)
EXPECTED_SENT = Counter({
    "Hello": 1, "Subscribe": 1,
    "Publish": N_PUBLISH + 1,  # 30 small + the 3000-byte one
    "Register": 1, "Call": N_CALLS, "Yield": N_CALLS, "Goodbye": 1,
})
EXPECTED_RECEIVED = Counter({
    "Welcome": 1, "Subscribed": 1,
    "Published": N_PUBLISH + 1, "Event": N_PUBLISH + 1,  # acknowledge=True, exclude_me=False
    "Registered": 1, "Invocation": N_CALLS, "Result": N_CALLS, "Goodbye": 1,
})
EXPECTED_MESSAGES = sum(EXPECTED_SENT.values()) + sum(EXPECTED_RECEIVED.values())
# Double check, counted the other way round: HELLO+WELCOME 2, SUBSCRIBE+SUBSCRIBED 2,
# 30 x (PUBLISH+PUBLISHED+EVENT) 90, REGISTER+REGISTERED 2, 10 x (CALL+INVOCATION+YIELD+RESULT) 40,
# big PUBLISH+PUBLISHED+EVENT 3, GOODBYE x 2 = 141 (55 sent, 86 received).
assert EXPECTED_MESSAGES == 2 + 2 + 3 * N_PUBLISH + 2 + 4 * N_CALLS + 3 + 2 == 141
assert sum(EXPECTED_SENT.values()) == 55 and sum(EXPECTED_RECEIVED.values()) == 86

# a session id no real session has (2^53 - 1 is possible in theory; the odds are nil)
SPOOF_SESSION_ID = 2**53 - 1


def is_count(value):
    return type(value) is int and value >= 0  # bool is not a count


# --------------------------------------------------------------------------------------------
# what the client's serializer sent and parsed


class WireLog:
    """Every WAMP message one session's serializer produced (tx) or parsed (rx), with its
    serialized length: exactly the payloads the router counts (no framing)."""

    def __init__(self):
        self.entries = []  # (direction "tx"/"rx", message class name, length)

    def add(self, direction, names, length):
        # unbatched transports: one payload is one message
        for name in names:
            self.entries.append((direction, name, length))

    def types(self, direction):
        return Counter(name for d, name, _ in self.entries if d == direction)

    def messages(self, direction=None):
        return sum(1 for d, _, _ in self.entries if direction in (None, d))

    def bytes(self, direction=None):
        return sum(n for d, _, n in self.entries if direction in (None, d))

    def rated(self, size):
        return sum(math.ceil(n / size) for _, _, n in self.entries)

    def length_of(self, direction, name):
        return [n for d, m, n in self.entries if d == direction and m == name]


# --------------------------------------------------------------------------------------------
# meta event recording


class MetaEvent:
    __slots__ = ("seq", "sub", "topic", "args", "kwargs", "details", "t")

    def __init__(self, seq, sub, args, kwargs, details):
        self.seq = seq  # arrival order within one monitor session, across its subscriptions
        self.sub = sub  # the subscription's URI (exact topic or prefix)
        self.topic = getattr(details, "topic", None)
        self.args = args
        self.kwargs = kwargs
        self.details = details
        self.t = time.monotonic()

    @property
    def kind(self):
        """The event's topic: the exact subscription's URI, else details.topic."""
        return self.sub if self.sub in META_TOPICS else self.topic

    def session_id(self):
        """The session the event is about, or None if its shape does not tell."""
        a = self.args
        if self.kind == ON_LEAVE:
            return a[0] if len(a) == 1 and type(a[0]) is int else None
        if self.kind in (ON_JOIN, ON_STATS) and a and isinstance(a[0], dict):
            s = a[0].get("session")
            return s if type(s) is int else None
        return None

    def describe(self):
        return f"#{self.seq} {self.kind} args={short(self.args, 300)}"


class MetaRecorder:
    """All meta events one monitor session received, in arrival order."""

    def __init__(self, label):
        self.label = label
        self.events = []
        self.changed = asyncio.Event()

    def handler(self, sub):
        def on_event(*args, details=None, **kwargs):
            self.events.append(MetaEvent(len(self.events) + 1, sub, list(args), dict(kwargs), details))
            self.changed.set()

        return on_event

    def about(self, sid):
        return [e for e in self.events if e.session_id() == sid]

    async def wait_until(self, pred, what, timeout=None):
        """First event matching ``pred`` (already received or still to come)."""
        deadline = time.monotonic() + (BUDGET.step() if timeout is None else timeout)
        while True:
            for e in self.events:
                if pred(e):
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise CheckFailed(f"{self.label}: timed out waiting for {what}")
            self.changed.clear()
            try:
                await wait(self.changed.wait(), f"{self.label}: {what}", timeout=left)
            except CheckFailed:
                if not any(pred(e) for e in self.events):
                    raise


# --------------------------------------------------------------------------------------------
# the client's traffic


async def client_traffic(c):
    s = c.session
    sink = EventSink(f"client's subscription to {CLIENT_TOPIC}")
    await wait(s.subscribe(sink, CLIENT_TOPIC, options=SubscribeOptions(details=True)), f"SUBSCRIBED for {CLIENT_TOPIC}")

    opts = PublishOptions(acknowledge=True, exclude_me=False)
    pubs = await wait(
        asyncio.gather(*[s.publish(CLIENT_TOPIC, i, options=opts) for i in range(N_PUBLISH)]),
        f"PUBLISHED for {N_PUBLISH} acknowledged publishes to {CLIENT_TOPIC}",
    )
    expect(all(is_id(p.id) for p in pubs), f"PUBLISHED ids {short([p.id for p in pubs])}")
    got = []
    for i in range(N_PUBLISH):
        args, _, _ = await sink.next(f"EVENT {i + 1} of {N_PUBLISH} (own publish, exclude_me=false)")
        got.append(args)
    expect(got == [[i] for i in range(N_PUBLISH)], f"client received events {short(got)}, expected [[0], ..., [{N_PUBLISH - 1}]] in order")

    def echo(x):
        return x

    await wait(s.register(echo, CLIENT_PROC), f"REGISTERED for {CLIENT_PROC}")
    for i in range(N_CALLS):
        res = await wait(s.call(CLIENT_PROC, i), f"RESULT of call {i + 1} of {N_CALLS} to {CLIENT_PROC}")
        expect(res == i, f"{CLIENT_PROC}({i}) returned {short(res)}")

    big = "m" * BIG_PAYLOAD_BYTES
    await wait(s.publish(CLIENT_TOPIC, big, options=opts), f"PUBLISHED for the {BIG_PAYLOAD_BYTES}-byte publish")
    args, _, _ = await sink.next(f"EVENT of the {BIG_PAYLOAD_BYTES}-byte publish")
    expect(args == [big], f"{BIG_PAYLOAD_BYTES}-byte event arrived as {short(args)}")


# --------------------------------------------------------------------------------------------
# the checks on the meta events


def check_event_shapes(rec, exact, monitor_ids):
    """Every meta event a monitor got (about any session): right arity, types, no kwargs,
    published by the router's trusted session, details.topic consistent."""
    problems = []
    for e in rec.events:
        d = e.details
        why = []
        if exact:
            if e.topic is not None and e.topic != e.sub:
                why.append(f"details.topic {e.topic!r} on the exact subscription to {e.sub!r}")
        else:
            if e.topic is None:
                why.append(f"no details.topic on the prefix subscription to {e.sub!r}")
            elif not e.topic.startswith(META_PREFIX):
                why.append(f"details.topic {e.topic!r} does not start with {META_PREFIX!r}")
        if e.kind in (ON_JOIN, ON_LEAVE) and len(e.args) != 1:
            why.append(f"{len(e.args)} args, expected 1")
        elif e.kind == ON_STATS and (len(e.args) != 2 or not all(isinstance(a, dict) for a in e.args)):
            why.append("args are not [info dict, stats dict]")
        elif e.kind == ON_JOIN and not isinstance(e.args[0], dict):
            why.append("arg is not a details dict")
        elif e.kind == ON_LEAVE and not is_id(e.args[0]):
            why.append("arg is not a session id")
        if e.kwargs:
            why.append(f"kwargs {short(e.kwargs)}, expected none")
        if d is None or not is_id(d.publication):
            why.append(f"publication id {getattr(d, 'publication', None)!r}")
        if d is not None and (d.publisher_authrole != "trusted" or d.publisher in monitor_ids):
            why.append(
                f"publisher {d.publisher!r} authid {d.publisher_authid!r} authrole "
                f"{d.publisher_authrole!r}, expected the router's session (authrole 'trusted')"
            )
        if why:
            problems.append(f"{e.describe()}: {'; '.join(why)}")
    expect(not problems, f"{len(problems)} malformed meta event(s): " + " | ".join(problems[:5]))


def check_on_join(events, c, args):
    joins = [e for e in events if e.kind == ON_JOIN]
    expect(len(joins) == 1, f"{len(joins)} on_join events for session {c.sid}, expected 1")
    d = joins[0].args[0]
    expect(list(d) == JOIN_KEYS, f"on_join details keys {list(d)}, expected {JOIN_KEYS} (in that order)")
    w = c.details
    want = {
        "realm": args.realm, "session": c.sid, "authid": w.authid, "authrole": w.authrole,
        "authmethod": w.authmethod, "serializer": c.serializer_name,
        "resumed": False, "resumable": False, "resume_token": None,
    }
    bad = [f"{k}={d[k]!r} (expected {v!r})" for k, v in want.items() if d[k] != v or type(d[k]) is not type(v)]
    expect(not bad, "on_join details: " + ", ".join(bad))
    expect(isinstance(d["authprovider"], str), f"on_join authprovider {d['authprovider']!r} is not a string")

    host, port = c.sockname[:2]
    peer = f"tcp4:{host}:{port}" if ":" not in host else None
    ax = d["authextra"]
    expect(isinstance(ax, dict), f"on_join authextra {short(ax)} is not a dict")
    missing = [k for k in AUTHEXTRA_KEYS if k not in ax]
    expect(not missing, f"on_join authextra {short(ax)} lacks {missing}")
    expect(
        ax["x_cb_peer"] == peer if peer else str(ax["x_cb_peer"]).endswith(f":{port}"),
        f"on_join authextra.x_cb_peer {ax['x_cb_peer']!r}, expected {peer or f'...:{port}'!r} (the client's end)",
    )

    t = d["transport"]
    expect(isinstance(t, dict), f"on_join transport {short(t)} is not a dict")
    ws = c.kind == "websocket"
    want_t = {
        "channel_type": "tcp",
        "channel_framing": "websocket" if ws else "rawsocket",
        "channel_serializer": c.serializer_name,
        "is_server": True,
        "is_secure": False,
    }
    if peer:
        want_t["peer"] = peer
    if ws:
        want_t["websocket_protocol"] = f"wamp.2.{c.serializer_name}"
    bad = [f"{k}={t.get(k, '<missing>')!r} (expected {v!r})" for k, v in want_t.items() if t.get(k, "<missing>") != v]
    if not ws and t.get("websocket_protocol") not in (None, f"wamp.2.{c.serializer_name}"):
        bad.append(f"websocket_protocol={t.get('websocket_protocol')!r} (expected None)")
    if type(t.get("own_pid")) is not int:
        bad.append(f"own_pid={t.get('own_pid', '<missing>')!r} (expected an int)")
    hh = t.get("http_headers_received", "<missing>")
    if ws and not (isinstance(hh, dict) and hh):
        bad.append(f"http_headers_received={short(hh)} (expected the upgrade request's headers)")
    expect(not bad, "on_join transport: " + ", ".join(bad))
    return joins[0]


def outline(events):
    """The kinds of events for one session, compactly: on_join, on_stats 1 first, ..., on_leave."""
    parts = []
    for e in events:
        if e.kind == ON_STATS:
            st = stats_dict(e)
            flags = "".join(f" {f}" for f in ("first", "last") if st.get(f) is True)
            parts.append(f"on_stats {st.get('cycle')!r}{flags}")
        else:
            parts.append(str(e.kind).rsplit(".", 1)[-1])
    return "[" + ", ".join(parts) + "]" if parts else "nothing"


def stats_of(events):
    return [e for e in events if e.kind == ON_STATS]


def stats_dict(e):
    """The stats dict of an on_stats event ({} if the event is malformed)."""
    return e.args[1] if len(e.args) == 2 and isinstance(e.args[1], dict) else {}


def check_stats_cycles(events, c, args):
    stats = stats_of(events)
    expect(stats, f"no on_stats event for session {c.sid}")
    problems = []
    w = c.details
    want_info = {"realm": args.realm, "session": c.sid, "authid": w.authid, "authrole": w.authrole}
    for i, e in enumerate(stats, 1):
        if len(e.args) != 2 or not isinstance(e.args[1], dict):
            problems.append(f"on_stats #{i}: args {short(e.args)} are not [info, stats]")
            continue
        info, st = e.args
        where = f"on_stats #{i} (cycle {st.get('cycle')!r})"
        if set(info) != INFO_KEYS or info != want_info:
            problems.append(f"{where}: info {short(info)}, expected {want_info}")
        extra = set(st) - STATS_KEYS - STATS_EXTENSION_KEYS
        if not STATS_KEYS <= set(st) or extra:
            problems.append(
                f"{where}: stats keys missing {sorted(STATS_KEYS - set(st))} extra {sorted(extra)}"
            )
            continue
        if "dropped" in st and st["dropped"] != 0:
            problems.append(f"{where}: dropped={st['dropped']!r}, expected 0 (the client reads everything)")
        if st["cycle"] != i or type(st["cycle"]) is not int:
            problems.append(f"{where}: cycle {st['cycle']!r}, expected {i} (cycles 1..n without gaps)")
        if st["first"] is not (i == 1):
            problems.append(f"{where}: first={st['first']!r}, expected {i == 1} (true only on cycle 1)")
        if st["last"] is not (i == len(stats)):
            problems.append(f"{where}: last={st['last']!r}, expected {i == len(stats)} (true only on the final one)")
        if st["serializer"] != c.serializer_name:
            problems.append(f"{where}: serializer {st['serializer']!r}, expected {c.serializer_name!r}")
        bad = [k for k in STATS_COUNTERS + ("timestamp", "duration") if not is_count(st[k])]
        if bad:
            problems.append(f"{where}: {', '.join(f'{k}={st[k]!r}' for k in bad)} not non-negative integers")
            continue
        if st["bytes"] != st["bytes_rx"] + st["bytes_tx"]:
            problems.append(f"{where}: bytes {st['bytes']} != bytes_rx {st['bytes_rx']} + bytes_tx {st['bytes_tx']}")
        if st["messages"] != st["messages_rx"] + st["messages_tx"]:
            problems.append(
                f"{where}: messages {st['messages']} != messages_rx {st['messages_rx']} + messages_tx {st['messages_tx']}"
            )
    expect(not problems, f"{len(problems)} problem(s): " + " | ".join(problems[:6]))
    return stats


def check_order(events, c):
    """on_join, on_stats(first) ... on_stats(last), on_leave: in that order, nothing else."""
    kinds = [e.kind for e in events]
    leaves = [e for e in events if e.kind == ON_LEAVE]
    expect(len(leaves) == 1, f"{len(leaves)} on_leave events for session {c.sid}, expected 1")
    leave_ev = leaves[0]
    expect(leave_ev.args == [c.sid], f"on_leave args {short(leave_ev.args)}, expected [{c.sid}]")
    n = len(kinds)
    expect(
        kinds[0] == ON_JOIN and kinds[-1] == ON_LEAVE and all(k == ON_STATS for k in kinds[1:-1]) and n >= 3,
        f"events for session {c.sid} arrived as {outline(events)}, expected [on_join, on_stats 1 first, ..., "
        "on_stats n last, on_leave]",
    )


def check_first_cycle(stats, wire):
    """trigger_on_join: cycle 1 holds exactly HELLO and WELCOME (the event goes out right after
    WELCOME, before anything the client sends next is counted)."""
    st = stats[0].args[1]
    hello, welcome = sum(wire.length_of("tx", "Hello")), sum(wire.length_of("rx", "Welcome"))
    want = {"messages_rx": 1, "messages_tx": 1, "bytes_rx": hello, "bytes_tx": welcome}
    got = {k: st[k] for k in want}
    if got == want:
        return
    why = ""
    after = [(d, name, n) for d, name, n in wire.entries[2:] if d == "tx"]  # client's messages after HELLO
    extra_rx = st["bytes_rx"] - hello
    if st["messages_rx"] > 1 and after:
        names, total = [], 0
        for _, name, n in after[: st["messages_rx"] - 1]:
            names.append(f"{name.upper()} ({n} bytes)")
            total += n
        if total == extra_rx:
            why = f"; the extra rx is the client's {' + '.join(names)}, sent after WELCOME arrived"
    raise CheckFailed(f"cycle 1 {got}, expected HELLO ({hello} bytes) + WELCOME ({welcome} bytes): {want}{why}")


def check_timestamps(stats, t_connect_ns, t_welcome_ns):
    """Cycle 1 starts when the transport opened; cycles start in order."""
    st = stats[0].args[1]
    tol = 1_000_000_000  # 1 s: same machine, same clock
    expect(
        t_connect_ns - tol <= st["timestamp"] <= t_welcome_ns + tol,
        f"cycle 1 timestamp {st['timestamp']} ns is {(st['timestamp'] - t_connect_ns) / 1e9:+.3f} s from the "
        "client's connect: the first cycle must start when the transport opens",
    )
    prev = None
    for e in stats:
        s = e.args[1]
        if prev is not None:
            expect(
                s["timestamp"] >= prev["timestamp"],
                f"cycle {s['cycle']} timestamp {s['timestamp']} is before cycle {prev['cycle']}'s {prev['timestamp']}",
            )
        prev = s


def check_totals(stats, wire, rated_size, trigger):
    """Sums over all cycles == what the client exchanged: the exactness property."""
    tot = {k: sum(e.args[1][k] for e in stats) for k in STATS_COUNTERS}
    want_msgs = {
        "messages": EXPECTED_MESSAGES,
        "messages_rx": sum(EXPECTED_SENT.values()),
        "messages_tx": sum(EXPECTED_RECEIVED.values()),
    }
    got_msgs = {k: tot[k] for k in want_msgs}
    expect(
        got_msgs == want_msgs,
        f"sum over {len(stats)} cycles {got_msgs}, expected {want_msgs} (the WAMP messages the client "
        "sent and received)",
    )
    expect(tot["bytes"] > BIG_PAYLOAD_BYTES, f"sum of bytes {tot['bytes']}, expected > {BIG_PAYLOAD_BYTES}")
    want_bytes = {"bytes": wire.bytes(), "bytes_rx": wire.bytes("tx"), "bytes_tx": wire.bytes("rx")}
    got_bytes = {k: tot[k] for k in want_bytes}
    expect(
        got_bytes == want_bytes,
        f"sum over {len(stats)} cycles {got_bytes}, expected {want_bytes} (serialized sizes of the "
        "client's messages as autobahn sent and parsed them; rx = from the client)",
    )
    expect(
        tot["rated_messages"] > tot["messages"],
        f"sum of rated_messages {tot['rated_messages']} is not > messages {tot['messages']} "
        f"(the {BIG_PAYLOAD_BYTES}-byte PUBLISH and EVENT alone rate as several)",
    )
    if rated_size:
        want_rated = wire.rated(rated_size)
        expect(
            tot["rated_messages"] == want_rated,
            f"sum of rated_messages {tot['rated_messages']}, expected {want_rated} "
            f"(sum of ceil(len / {rated_size}) over the client's messages)",
        )
    if trigger and rated_size:
        # middle cycles were triggered by rated messages: >= trigger, and at most trigger - 1 plus
        # the largest single message (overshoot is not carried over)
        biggest = max(math.ceil(n / rated_size) for _, _, n in wire.entries)
        bad = [
            (e.args[1]["cycle"], e.args[1]["rated_messages"])
            for e in stats[1:-1]
            if not trigger <= e.args[1]["rated_messages"] <= trigger - 1 + biggest
        ]
        expect(
            not bad,
            f"(cycle, rated_messages) {bad}: a cycle between the first and the last must end when its "
            f"rated messages reach {trigger} (so {trigger}..{trigger - 1 + biggest} here)",
        )
    return tot


def describe_difference(g, w):
    """(topic, publication, args) of the prefix event g vs the exact event w, in words."""
    if g[0] != w[0]:
        return f"topic {g[0]!r} vs {w[0]!r} (publications {g[1]} vs {w[1]})"
    if g[1] != w[1]:
        return f"{g[0]} publication {g[1]} vs {w[1]}"
    if len(g[2]) != len(w[2]):
        return f"{g[0]} publication {g[1]}: {len(g[2])} vs {len(w[2])} args"
    diffs = []
    for i, (a, b) in enumerate(zip(g[2], w[2])):
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += [f"args[{i}][{k!r}] {a.get(k, '<missing>')!r} vs {b.get(k, '<missing>')!r}"
                      for k in sorted(set(a) | set(b), key=str) if a.get(k, "<missing>") != b.get(k, "<missing>")]
        elif a != b:
            diffs.append(f"args[{i}] {short(a)} vs {short(b)}")
    return f"{g[0]} publication {g[1]}: " + ", ".join(diffs)


def check_prefix_same(prefix_events, exact_events, c):
    """The prefix subscription saw the same publications, with details.topic set."""
    def key(e, topic):
        return (topic, e.details.publication if e.details else None, e.args)

    got = [key(e, e.topic) for e in prefix_events]
    want = [key(e, e.sub) for e in exact_events]
    expect(
        all(e.topic in META_TOPICS for e in prefix_events),
        f"prefix events for session {c.sid} with details.topic {sorted({str(e.topic) for e in prefix_events})}",
    )
    if got != want:
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                raise CheckFailed(
                    f"event {i + 1} for session {c.sid}: prefix subscription and exact subscriptions differ: "
                    + describe_difference(g, w)
                )
        raise CheckFailed(
            f"prefix subscription got {len(got)} events for session {c.sid}, the exact subscriptions {len(want)}"
        )


# --------------------------------------------------------------------------------------------
# runner


async def run(args):
    r = Runner()
    loop, peers, step, skip = r.loop, r.peers, r.step, r.skip

    exact_rec = MetaRecorder("monitor M (exact subscriptions)")
    prefix_rec = MetaRecorder(f"monitor P (prefix subscription {META_PREFIX!r})")
    wire = WireLog()
    times = {}

    async def join_monitor(name, rec, subs):
        m = peers[name] = await connect(name, args.url, args.realm, args.serializer, loop)
        for uri, match in subs:
            opts = SubscribeOptions(match=match, details=True) if match else SubscribeOptions(details=True)
            sub = await wait(m.session.subscribe(rec.handler(uri), uri, options=opts), f"SUBSCRIBED for {uri!r}")
            expect(is_id(sub.id), f"subscription id {sub.id!r} for {uri!r}")

    async def check_namespace():
        # spec section 6: wamp.* is the router's; a client can neither publish meta events
        # (dropped, or wamp.error.invalid_uri when acknowledged) nor spoof them to monitors.
        s = peers["P"].session
        s.publish(ON_LEAVE, SPOOF_SESSION_ID)  # no acknowledge: must be dropped
        await expect_error(
            s.publish(ON_LEAVE, SPOOF_SESSION_ID, options=PublishOptions(acknowledge=True)),
            "wamp.error.invalid_uri", f"an acknowledged publish to {ON_LEAVE}",
        )

    async def join_client():
        times["connect"] = time.time_ns()
        peers["C"] = await connect("C", args.client_url, args.realm, args.client_serializer, loop, wire)
        times["welcome"] = time.time_ns()
        print(f"       client session {peers['C'].sid} ({peers['C'].kind}, {args.client_serializer})", flush=True)

    def check_client_wire():
        # the script's own arithmetic against what autobahn actually serialized and parsed
        sent, received = wire.types("tx"), wire.types("rx")
        expect(
            (sent, received) == (EXPECTED_SENT, EXPECTED_RECEIVED),
            f"client sent {dict(sent)} and received {dict(received)}, the script expected "
            f"{dict(EXPECTED_SENT)} and {dict(EXPECTED_RECEIVED)} ({EXPECTED_MESSAGES} messages)",
        )
        expect(wire.messages() == EXPECTED_MESSAGES, f"client exchanged {wire.messages()} messages, expected {EXPECTED_MESSAGES}")

    try:
        ok = (
            await step("join monitor M + subscribe on_join/on_stats/on_leave", join_monitor, "M", exact_rec,
                       [(t, None) for t in META_TOPICS])
            and await step(f"join monitor P + subscribe prefix {META_PREFIX!r}", join_monitor, "P", prefix_rec,
                           [(META_PREFIX, "prefix")])
        )
        if not ok:
            return r.failures
        m, p = peers["M"], peers["P"]
        await step("wamp. namespace reserved (publish to wamp.session.on_leave)", check_namespace)

        traffic_ok = False
        if await step("join client", join_client):
            c = peers["C"]
            traffic_ok = await step(
                f"client traffic ({N_PUBLISH} publishes, {N_CALLS} calls, {BIG_PAYLOAD_BYTES}-byte publish)",
                client_traffic, c,
            )
            traffic_ok = await r.leave_all([("client GOODBYE", c)]) and traffic_ok
            if traffic_ok:
                traffic_ok = await step(f"client exchanged {EXPECTED_MESSAGES} WAMP messages", check_client_wire)
        if "C" not in peers or peers["C"].details is None:
            return r.failures
        c = peers["C"]
        sid = c.sid

        def is_leave(e):
            return e.kind == ON_LEAVE and e.args == [sid]

        got_leave, got_leave_p = await asyncio.gather(
            step("monitor M: on_leave for the client",
                 exact_rec.wait_until, is_leave, f"wamp.session.on_leave [{sid}]"),
            step("monitor P: on_leave for the client",
                 prefix_rec.wait_until, is_leave, f"wamp.session.on_leave [{sid}] (prefix subscription)"),
        )
        if not got_leave:
            # say what did arrive for the client instead
            skip("meta event checks", f"monitor M received for session {sid}: {outline(exact_rec.about(sid))}")
            return r.failures

        monitor_ids = {m.sid, p.sid}

        async def check_last_before_leave():
            events = exact_rec.about(sid)
            leave_ev = next((e for e in events if is_leave(e)), None)
            expect(leave_ev is not None, f"no well-formed on_leave [{sid}]")
            before = [e for e in stats_of(events) if e.seq < leave_ev.seq and stats_dict(e).get("last") is True]
            if before:
                return
            # failure path: find out whether it comes late (Crossbar does that after GOODBYE)
            try:
                late = await exact_rec.wait_until(
                    lambda e: e.kind == ON_STATS and e.session_id() == sid and stats_dict(e).get("last") is True,
                    "a late on_stats with last=true", timeout=LATE_GRACE_S,
                )
            except CheckFailed:
                late = None
            if late is not None:
                raise CheckFailed(
                    f"on_stats with last=true (cycle {stats_dict(late).get('cycle')}) arrived "
                    f"{(late.t - leave_ev.t) * 1000:.0f} ms AFTER on_leave, expected before it"
                )
            crossbar_null = [
                e for e in exact_rec.events
                if e.kind == ON_STATS and e.args and isinstance(e.args[0], dict) and e.args[0].get("session") is None
            ]
            raise CheckFailed(
                "no on_stats with last=true for the client before on_leave (nor within "
                f"{LATE_GRACE_S:.0f} s after)"
                + (f"; {len(crossbar_null)} on_stats with session null came (Crossbar's behaviour)" if crossbar_null else "")
            )

        await step("meta events well-formed (monitor M)", check_event_shapes, exact_rec, True, monitor_ids)
        await step("meta events well-formed (monitor P)", check_event_shapes, prefix_rec, False, monitor_ids)
        await step("on_join details", check_on_join, exact_rec.about(sid), c, args)
        await step("final on_stats before on_leave", check_last_before_leave)
        await step("event order on_join, on_stats..., on_leave", check_order, exact_rec.about(sid), c)
        stats = []

        def cycles():
            stats[:] = check_stats_cycles(exact_rec.about(sid), c, args)

        if await step("on_stats cycles 1..n, first/last, rx+tx sums", cycles):
            if traffic_ok:
                await step("cycle 1 = HELLO + WELCOME", check_first_cycle, stats, wire)
                await step("cycle timestamps", check_timestamps, stats, times["connect"], times["welcome"])

                def totals():
                    tot = check_totals(stats, wire, args.rated_message_size, args.trigger_rated)
                    print(
                        f"       client {sid}: {len(stats)} cycles, messages {tot['messages']} "
                        f"(rx {tot['messages_rx']}, tx {tot['messages_tx']}), bytes {tot['bytes']} "
                        f"(rx {tot['bytes_rx']}, tx {tot['bytes_tx']}), rated {tot['rated_messages']}",
                        flush=True,
                    )

                await step("stats totals == client traffic", totals)
            else:
                skip("stats totals == client traffic", "the client's traffic did not complete as planned")
        if got_leave_p:
            await step("prefix subscription: same events with details.topic",
                       check_prefix_same, prefix_rec.about(sid), exact_rec.about(sid), c)

        def no_spoof():
            spoofed = [
                (rec.label, e.describe()) for rec in (exact_rec, prefix_rec)
                for e in rec.events if e.kind == ON_LEAVE and e.args == [SPOOF_SESSION_ID]
            ]
            expect(not spoofed, f"monitors received the client-published wamp.session.on_leave: {spoofed}")

        await step("no spoofed meta event delivered", no_spoof)

        await r.leave_all([("GOODBYE monitor M", m), ("GOODBYE monitor P", p)])
    finally:
        await r.close()
    return r.failures


def main(argv=None):
    ap = wampcheck.ArgumentParser(description="Crossbar-style wamp.session.* monitor checks with autobahn-python")
    ap.add_argument("--url", required=True, help="monitors: ws://host:port/path, rs://host:port or tcp://host:port")
    ap.add_argument("--serializer", required=True, choices=["json", "msgpack", "cbor"], help="monitors' serializer")
    ap.add_argument("--client-url", default=None, help="the client's URL (default: --url)")
    ap.add_argument("--client-serializer", choices=["json", "msgpack", "cbor"], default=None,
                    help="the client's serializer (default: --serializer)")
    ap.add_argument("--realm", default="realm1")
    ap.add_argument("--rated-message-size", type=int, default=256,
                    help="the realm's stats.rated_message_size (default 256, the embedded config); "
                    "0 skips the exact rated_messages check")
    ap.add_argument("--trigger-rated", type=int, default=10,
                    help="the realm's stats.trigger_after_rated_messages (default 10); 0 skips the "
                    "per-cycle trigger check")
    add_timeout_and_verbose(ap)
    args = ap.parse_args(argv)
    args.client_url = args.client_url or args.url
    args.client_serializer = args.client_serializer or args.serializer

    what = f"{args.url} {args.serializer} client {args.client_url} {args.client_serializer}"
    return run_main(args, what, [args.url, args.client_url], run)


if __name__ == "__main__":
    sys.exit(main())
