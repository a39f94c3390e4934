#!/usr/bin/env python3
"""autobahn-python RPC across three nodes of a wampstat cluster (issue 17).

    cluster_rpc.py --url-a ws://127.0.0.1:PA/ws --url-b rs://127.0.0.1:PB --url-c ws://127.0.0.1:PC/ws \
        [--serializer-a json] [--serializer-b msgpack] [--serializer-c cbor] [--realm realm1]

Sessions: the caller A and a callee AR on node A, a callee B on node B, a callee C on node C.
Each learns its node from the router (``authextra.x_cb_node`` of ``wamp.session.get`` of itself).
The checks, in this order:

- **round robin over three nodes**: AR, B and C register ``com.example.rr`` with
  ``invoke="roundrobin"``, each returning its node's name; once A's node counts three callees
  (``wamp.registration.count_callees``: its own callee and one per other node with callees), 30
  calls from A are served exactly 10 times by each node. It runs first because it also proves
  that all three nodes write and read the registrations bucket (a node not yet connected to
  NATS accepts a REGISTER locally, which would make the next check meaningless).
- **single refused on a second node**: B registers ``com.example.single`` (invoke ``single``);
  C's REGISTER of it fails with ``wamp.error.procedure_already_exists``; A's call reaches B.
- **progressive results across nodes**: C's ``com.example.progress`` sends
  ``details.progress(i)`` for 1, 2, 3, then returns; A calls it with ``on_progress``: 1, 2, 3,
  then the result.
- **cancel across nodes**: B's ``com.example.slow`` waits 30 s; A calls it and, once B runs it,
  cancels the call's future the way autobahn offers (``future.cancel()``, which sends CANCEL
  without a mode, so the router's default ``killnowait``): the router answers A's CALL with
  ERROR ``wamp.error.canceled`` (seen on A's wire; autobahn's future is already cancelled), B
  gets INTERRUPT and autobahn cancels B's coroutine.
- **cancel mode kill across nodes**: the same with CANCEL ``mode="kill"`` (autobahn's own
  ``message.Cancel`` over its transport: its API has no way to ask for a mode) and A's future
  left pending: B's coroutine, cancelled by the INTERRUPT, raises ``wamp.error.canceled`` with
  its node's name, and that ERROR crosses back to A's future.

Prints one ``  ok   <check>`` line per check that held (with detail lines after some), the last
line ``cluster rpc OK: ...`` (exit 0), or ``FAIL <check>: <why>`` lines on stderr and a last line
``cluster rpc FAILED: ...`` (exit 1). Every wait has its own timeout (5 s at most), the checks a
budget (``--timeout``, 14 s), and wampcheck's watchdog ends the process at 19 s.
"""

import asyncio
import collections

import wampcheck  # first of all: it starts the clock and the watchdog, then imports autobahn

wampcheck.set_program("cluster rpc")

from autobahn.wamp import message  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.types import CallOptions, RegisterOptions  # noqa: E402
from wampcheck import (  # noqa: E402
    Runner,
    add_timeout_and_verbose,
    connect,
    expect,
    expect_error,
    short,
    wait,
)

POLL_S = 0.02  # the pace of polls for something to cross the cluster
ROUND_ROBIN_CALLS = 30


class Tap:
    """Queues the WAMP messages of ``types`` that ``peer``'s session receives (``rx``) or sends
    (``tx``); autobahn handles them as usual."""

    def __init__(self, peer, direction, *types):
        self.queue = asyncio.Queue()
        if direction == "rx":
            target, name = peer.session, "onMessage"
        else:
            target, name = peer.session._transport, "send"
        original = getattr(target, name)

        def tap(msg, *rest):
            if isinstance(msg, types):
                self.queue.put_nowait(msg)
            return original(msg, *rest)

        setattr(target, name, tap)
        self.label = f"session {peer.name} ({direction})"

    def drain(self):
        while not self.queue.empty():
            self.queue.get_nowait()

    async def next(self, what, pred=lambda _: True):
        async def first():
            while True:
                msg = await self.queue.get()
                if pred(msg):
                    return msg

        return await wait(first(), f"{self.label}: {what}")


async def node_of(peer):
    """The node ``peer``'s session is on, as the router says (``authextra.x_cb_node``)."""
    details = await wait(peer.session.call("wamp.session.get", peer.sid), f"wamp.session.get of {peer.name}")
    node = details.get("authextra", {}).get("x_cb_node") if isinstance(details, dict) else None
    expect(isinstance(node, str) and node, f"session {peer.name}: no authextra.x_cb_node in {short(details)}")
    return node


async def until_callees(op, procedure, n):
    """Polls (5 s at most) until ``op``'s node counts ``n`` callees of ``procedure``."""
    seen = {"count": None}

    async def poll():
        while True:
            reg = await op.session.call("wamp.registration.lookup", procedure)
            if reg is not None:
                try:
                    seen["count"] = await op.session.call("wamp.registration.count_callees", reg)
                except ApplicationError as e:  # gone between the two calls
                    if e.error != "wamp.error.no_such_registration":
                        raise
                if seen["count"] == n:
                    return
            await asyncio.sleep(POLL_S)

    try:
        await wait(poll(), f"{procedure} with {n} callees on session {op.name}'s node")
    except wampcheck.CheckFailed as e:
        raise wampcheck.CheckFailed(f"{e} (last count: {seen['count']})") from None


async def register(peer, endpoint, procedure, options=None):
    return await wait(peer.session.register(endpoint, procedure, options=options), f"REGISTERED for {procedure} on {peer.name}")


async def run(args):
    r = Runner()
    loop, peers, step = r.loop, r.peers, r.step
    nodes = {}  # session name -> node name
    taps = {}

    async def join(name, url, serializer):
        peers[name] = await connect(name, url, args.realm, serializer, loop)

    async def check_nodes():
        for name in ("A", "AR", "B", "C"):
            nodes[name] = await node_of(peers[name])
        expect(nodes["A"] == nodes["AR"], f"A and AR on one URL but on nodes {nodes['A']} and {nodes['AR']}")
        expect(len({nodes[n] for n in ("A", "B", "C")}) == 3, f"not three nodes: {nodes}")
        print("       nodes: " + " ".join(f"{n}={nodes[n]}" for n in ("A", "AR", "B", "C")), flush=True)

    async def check_round_robin():
        callees = [peers[n] for n in ("AR", "B", "C")]
        for p in callees:
            node = nodes[p.name]
            await register(p, lambda node=node: node, "com.example.rr", RegisterOptions(invoke="roundrobin"))
        await until_callees(peers["A"], "com.example.rr", 3)
        served = collections.Counter()
        for i in range(ROUND_ROBIN_CALLS):
            served[await wait(peers["A"].session.call("com.example.rr"), f"round-robin call {i + 1}")] += 1
        share = ROUND_ROBIN_CALLS // len(callees)
        expected = {nodes[p.name]: share for p in callees}
        expect(dict(served) == expected, f"{ROUND_ROBIN_CALLS} calls served {dict(served)}, expected {expected}")
        print("       served: " + " ".join(f"{n}={served[n]}" for n in sorted(served)), flush=True)

    async def check_single():
        b, c = peers["B"], peers["C"]
        await register(b, lambda: nodes["B"], "com.example.single")
        await expect_error(
            c.session.register(lambda: nodes["C"], "com.example.single"),
            "wamp.error.procedure_already_exists",
            "C's REGISTER of com.example.single (B holds it, invoke single)",
        )
        await until_callees(peers["A"], "com.example.single", 1)
        got = await wait(peers["A"].session.call("com.example.single"), "A's call of com.example.single")
        expect(got == nodes["B"], f"com.example.single answered {got!r}, expected {nodes['B']!r}")

    async def check_progress():
        async def progress(details=None):
            if details is None or details.progress is None:
                raise ApplicationError("com.example.error.no_progress", "the INVOCATION had no receive_progress")
            for i in (1, 2, 3):
                details.progress(i)
                await asyncio.sleep(0)  # each progressive YIELD goes out on its own
            return f"done on {nodes['C']}"

        await register(peers["C"], progress, "com.example.progress", RegisterOptions(details_arg="details"))
        await until_callees(peers["A"], "com.example.progress", 1)
        got = []

        def on_progress(i):
            got.append(i)

        res = await wait(
            peers["A"].session.call("com.example.progress", options=CallOptions(on_progress=on_progress)),
            "the RESULT of com.example.progress",
        )
        expect(got == [1, 2, 3], f"progressive results {got!r} before the result, expected [1, 2, 3]")
        expect(res == f"done on {nodes['C']}", f"com.example.progress returned {res!r}")

    async def slow_call(procedure):
        """B registers ``procedure``, which runs until an INTERRUPT cancels it and then answers
        ``wamp.error.canceled`` with its node's name; once A's node sees it, A calls it. Returns
        when B runs it: (A's call future, A's CALL message, a future done when B's coroutine has
        been cancelled)."""
        a, b = peers["A"], peers["B"]
        started, interrupted = loop.create_future(), loop.create_future()

        async def slow():
            if not started.done():
                started.set_result(True)
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                if not interrupted.done():
                    interrupted.set_result(True)
                # autobahn answers the INVOCATION with this ERROR
                raise ApplicationError("wamp.error.canceled", f"stopped on {nodes['B']}") from None
            return "too late"

        await register(b, slow, procedure)
        await until_callees(a, procedure, 1)
        for tap in taps.values():
            tap.drain()
        f = a.session.call(procedure)
        call = await taps["A tx"].next(f"the CALL of {procedure}")
        await wait(started, f"B's {procedure} to run")
        return f, call, interrupted

    async def check_cancel():
        f, _, interrupted = await slow_call("com.example.slow")
        f.cancel()  # autobahn's canceller sends CANCEL (no mode)
        expect(f.cancelled(), "autobahn's call future is not cancelled")
        err = await taps["A rx"].next("the router's ERROR for the cancelled CALL", lambda m: m.request_type == message.Call.MESSAGE_TYPE)
        expect(err.error == "wamp.error.canceled", f"the cancelled CALL got ERROR {err.error!r}, expected 'wamp.error.canceled'")
        intr = await taps["B rx"].next("INTERRUPT for com.example.slow")
        await wait(interrupted, "B's com.example.slow to be cancelled")
        print(f"       caller: ERROR {err.error}; callee on {nodes['B']}: INTERRUPT mode={intr.mode!r}, coroutine cancelled", flush=True)

    async def check_cancel_kill():
        f, call, interrupted = await slow_call("com.example.slow_kill")
        peers["A"].session._transport.send(message.Cancel(call.request, mode=message.Cancel.KILL))
        e = await expect_error(f, "wamp.error.canceled", "the call of com.example.slow_kill cancelled with mode kill")
        expect(list(e.args) == [f"stopped on {nodes['B']}"], f"the ERROR's args are {list(e.args)!r}, not the callee's")
        intr = await taps["B rx"].next("INTERRUPT for com.example.slow_kill")
        expect(intr.mode == "kill", f"INTERRUPT mode {intr.mode!r}, expected 'kill'")
        expect(interrupted.done(), "B's coroutine was not cancelled")
        print(f"       caller: the callee's ERROR {e.error} {list(e.args)!r}; callee: INTERRUPT mode={intr.mode!r}", flush=True)

    try:
        joins = [("A", args.url_a, args.serializer_a), ("AR", args.url_a, args.serializer_a),
                 ("B", args.url_b, args.serializer_b), ("C", args.url_c, args.serializer_c)]
        ok = True
        for name, url, serializer in joins:
            ok = ok and await step(f"join session {name}", join, name, url, serializer)
        if ok:
            taps["A rx"] = Tap(peers["A"], "rx", message.Error)
            taps["A tx"] = Tap(peers["A"], "tx", message.Call)
            taps["B rx"] = Tap(peers["B"], "rx", message.Interrupt)
            ok = await step("sessions on three nodes", check_nodes)
        if ok:
            checks = [
                ("rpc round robin over three nodes", check_round_robin),
                ("rpc single refused on a second node", check_single),
                ("rpc progressive results across nodes", check_progress),
                ("rpc cancel across nodes", check_cancel),
                ("rpc cancel mode kill across nodes", check_cancel_kill),
            ]
            for name, fn in checks:
                gone = [p.name for p in peers.values() if not p.is_open]
                if gone:
                    r.skip(name, f"connection of session {', '.join(gone)} is closed")
                    continue
                await step(name, fn)
            await r.leave_all([(f"GOODBYE session {n}", p) for n, p in peers.items()])
    finally:
        await r.close()
    return r.failures


def main(argv=None):
    ap = wampcheck.ArgumentParser(description="RPC across three wampstat cluster nodes with autobahn-python")
    for node, ser in (("a", "json"), ("b", "msgpack"), ("c", "cbor")):
        ap.add_argument(f"--url-{node}", required=True, help=f"node {node.upper()}: ws://host:port/path or rs://host:port")
        ap.add_argument(f"--serializer-{node}", default=ser, choices=["json", "msgpack", "cbor"])
    ap.add_argument("--realm", default="realm1")
    add_timeout_and_verbose(ap)
    args = ap.parse_args(argv)
    what = " ".join(
        f"{u} ({s})" for u, s in ((args.url_a, args.serializer_a), (args.url_b, args.serializer_b), (args.url_c, args.serializer_c))
    )
    return wampcheck.run_main(args, what, [args.url_a, args.url_b, args.url_c], run)


if __name__ == "__main__":
    raise SystemExit(main())
