#!/usr/bin/env python3
"""WAMP v2 interoperability client for the wampstat router, built on autobahn-python (asyncio).

Usage:
    python interop_client.py --url ws://127.0.0.1:PORT/ws --serializer json --realm realm1
    python interop_client.py --url rs://127.0.0.1:PORT    --serializer msgpack

URL schemes: ``ws://`` (WAMP over WebSocket) and ``rs://`` or ``tcp://`` (WAMP over RawSocket).
Serializers: ``json`` or ``msgpack``.

Two sessions (A and B) join the same realm and exercise pub/sub (exact, prefix and wildcard
matching, publisher exclusion, acknowledged publish, binary payload) and RPC (results, application
errors, router errors, a 100 KB payload), then both leave with GOODBYE.

Exit status 0 and a last line ``interop OK: <url> <serializer>`` when every check passed; otherwise
each failed check is printed as ``FAIL <check>: <why>`` (stderr), the last stdout line is
``interop FAILED: <url> <serializer> ...`` and the exit status is 1. The whole run is bounded in time
(``--timeout``, default 14 s, plus 2 s reserved for GOODBYE); a hard watchdog ends the process at
19 s whatever happens.
"""

import os
import signal
import sys
import time

_T0 = time.monotonic()
HARD_LIMIT_S = 19  # the caller's budget is 20 s; never run longer than this


def _watchdog(signum, frame):  # pragma: no cover - only fires if the loop is wedged
    sys.stderr.write(f"FAIL watchdog: interop client still running after {HARD_LIMIT_S} s; killed\n")
    sys.stderr.flush()
    sys.stdout.write("interop FAILED: hard time limit reached\n")
    sys.stdout.flush()
    os._exit(1)


if hasattr(signal, "SIGALRM"):
    signal.signal(signal.SIGALRM, _watchdog)
    signal.alarm(HARD_LIMIT_S)

# autobahn switches to ujson when this is set, and then loses the binary (\u0000 + base64)
# convention for JSON: make sure we always test the standard behaviour.
os.environ.pop("AUTOBAHN_USE_UJSON", None)
os.environ.pop("AUTOBAHN_USE_UMSGPACK", None)

import argparse  # noqa: E402
import asyncio  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import txaio  # noqa: E402

txaio.use_asyncio()

from autobahn.asyncio.rawsocket import (  # noqa: E402
    WampRawSocketClientFactory,
    WampRawSocketClientProtocol,
)
from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402
from autobahn.asyncio.websocket import (  # noqa: E402
    WampWebSocketClientFactory,
    WampWebSocketClientProtocol,
)
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.request import Publication  # noqa: E402
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import (  # noqa: E402
    CloseDetails,
    ComponentConfig,
    PublishOptions,
    SubscribeOptions,
)

STEP_TIMEOUT_S = 5.0  # longest single wait (connect, join, one reply, one event)
CLEANUP_BUDGET_S = 2.0  # time reserved after the checks for GOODBYE / closing
MAX_WAMP_ID = 2**53
CLEAN_GOODBYE_REASONS = ("wamp.close.goodbye_and_out", "wamp.close.normal")
VERBOSE = False


class CheckFailed(Exception):
    """A check did not hold; the message says what was expected and what happened."""


# --------------------------------------------------------------------------------------------
# time budget


class Budget:
    def __init__(self, total_s):
        self.deadline = _T0 + total_s

    def remaining(self):
        return self.deadline - time.monotonic()

    def step(self, limit=STEP_TIMEOUT_S):
        return max(0.0, min(limit, self.remaining()))

    def reserve(self, seconds):
        """Make sure at least ``seconds`` are left (used for GOODBYE / cleanup)."""
        self.deadline = max(self.deadline, time.monotonic() + seconds)


BUDGET = Budget(14.0)


async def wait(awaitable, what, timeout=None):
    """Await ``awaitable`` with a timeout; on timeout raise CheckFailed naming ``what``."""
    t = BUDGET.step() if timeout is None else timeout
    if t <= 0:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise CheckFailed(f"overall time budget exhausted before waiting for {what}")
    try:
        return await asyncio.wait_for(awaitable, timeout=t)
    except asyncio.TimeoutError:
        raise CheckFailed(f"timed out after {t:.1f} s waiting for {what}") from None


def expect(cond, message):
    if not cond:
        raise CheckFailed(message)


def short(value, limit=200):
    r = repr(value)
    return r if len(r) <= limit else r[:limit] + f"... ({len(r)} chars)"


# --------------------------------------------------------------------------------------------
# transports and sessions


class InteropRawSocketProtocol(WampRawSocketClientProtocol):
    """Records why autobahn dropped the RawSocket connection (it only logs it otherwise)."""

    interop_error = None

    def protocol_error(self, msg):
        self.interop_error = f"RawSocket protocol error: {msg}"
        super().protocol_error(msg)

    def ping(self, data):
        # autobahn's asyncio RawSocket client does not implement PING frames: it raises
        # NotImplementedError and asyncio drops the connection. Name the cause.
        self.interop_error = (
            "router sent a RawSocket PING frame; autobahn's asyncio RawSocket client does not "
            "implement PING and drops the connection"
        )
        raise NotImplementedError(self.interop_error)


class InteropRawSocketFactory(WampRawSocketClientFactory):
    protocol = InteropRawSocketProtocol


class Peer:
    """One client connection + WAMP session, with futures the checks can wait on."""

    def __init__(self, name, realm, loop):
        self.name = name
        self.realm = realm
        self.loop = loop
        self.joined = loop.create_future()  # -> SessionDetails
        self.left = loop.create_future()  # -> CloseDetails
        self.disconnected = loop.create_future()  # -> reason (str)
        for fut in (self.joined, self.left):
            # these may fail when nobody waits on them any more: don't log "never retrieved"
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.session = None
        self.transport = None
        self.proto = None
        self.leave_sent = False
        self.lost_reason = None  # why the connection closed, if it closed before our GOODBYE
        self.close_note = None  # GOODBYE/ABORT the router sent on its own, if any

    def _fail_join(self, reason):
        if not self.joined.done():
            self.joined.set_exception(CheckFailed(f"session {self.name} did not join: {reason}"))

    def make_session(self):
        self.session = InteropSession(ComponentConfig(realm=self.realm), self)
        return self.session

    def on_connection_lost(self, exc):
        reason = (
            self.close_note
            or getattr(self.proto, "interop_error", None)
            or getattr(self.proto, "wasNotCleanReason", None)
            or getattr(self.proto, "_onclose_reason", None)
            or (f"{type(exc).__name__}: {exc}" if exc else None)
            or "connection closed"
        )
        self._fail_join(f"connection closed before WELCOME ({reason})")
        if not self.left.done():
            self.left.set_exception(
                CheckFailed(f"session {self.name}: connection lost without GOODBYE ({reason})")
            )
        if not self.disconnected.done():
            self.disconnected.set_result(reason)
            if not self.leave_sent:
                self.lost_reason = reason

    @property
    def is_open(self):
        return self.transport is not None and not self.transport.is_closing()


class InteropSession(ApplicationSession):
    def __init__(self, config, peer):
        super().__init__(config)
        self.peer = peer

    def onJoin(self, details):
        if not self.peer.joined.done():
            self.peer.joined.set_result(details)

    def onLeave(self, details):
        p = self.peer
        p._fail_join(f"router sent ABORT {details.reason!r} ({details.message!r})")
        if not p.leave_sent and details.reason != CloseDetails.REASON_TRANSPORT_LOST:
            p.close_note = f"router closed the session: {details.reason!r} ({details.message!r})"
        if not p.left.done():
            p.left.set_result(details)
        if details.reason in CLEAN_GOODBYE_REASONS and not VERBOSE:
            # autobahn logs a warning for any reason but wamp.close.normal: keep clean runs quiet
            details = CloseDetails(reason=CloseDetails.REASON_DEFAULT, message=details.message)
        return super().onLeave(details)  # errbacks outstanding requests and closes the transport

    def onUserError(self, fail, msg):
        # com.example.fail raises ApplicationError on purpose; autobahn would log a warning
        if VERBOSE or not isinstance(getattr(fail, "value", None), ApplicationError):
            super().onUserError(fail, msg)


def parse_target(url):
    """-> (kind, host, port)."""
    u = urlsplit(url)
    scheme = u.scheme.lower()
    if scheme == "ws":
        kind = "websocket"
    elif scheme in ("rs", "tcp"):
        kind = "rawsocket"
    else:
        raise CheckFailed(f"unsupported URL scheme {u.scheme!r} in {url!r} (use ws://, rs:// or tcp://)")
    if not u.hostname:
        raise CheckFailed(f"no host in URL {url!r}")
    try:
        port = u.port
    except ValueError:
        raise CheckFailed(f"bad port in URL {url!r}") from None
    if port is None:
        if kind == "websocket":
            port = 80
        else:
            raise CheckFailed(f"RawSocket URL {url!r} needs an explicit port")
    return kind, u.hostname, port


def make_serializer(name):
    if name == "json":
        return JsonSerializer()
    if name == "msgpack":
        return MsgPackSerializer()
    raise CheckFailed(f"unknown serializer {name!r}")


async def connect(name, args, loop, serializer_name):
    kind, host, port = parse_target(args.url)
    peer = Peer(name, args.realm, loop)
    serializer = make_serializer(serializer_name)
    if kind == "websocket":
        factory = WampWebSocketClientFactory(
            peer.make_session, url=args.url, serializers=[serializer]
        )
        factory.loop = loop
        factory.setProtocolOptions(
            openHandshakeTimeout=STEP_TIMEOUT_S,
            closeHandshakeTimeout=1.0,
            # no permessage-deflate offer, no auto ping: plain RFC 6455 only
        )
    else:
        factory = InteropRawSocketFactory(peer.make_session, serializer=serializer)

    what = f"TCP connection of session {name} to {host}:{port}"
    try:
        transport, proto = await wait(loop.create_connection(factory, host, port), what)
    except OSError as e:
        raise CheckFailed(f"cannot connect session {name} to {host}:{port}: {e}") from None
    peer.transport, peer.proto = transport, proto

    orig_lost = proto.connection_lost

    def connection_lost(exc):
        peer.on_connection_lost(exc)  # first, so the session's onLeave sees the reason recorded
        return orig_lost(exc)

    proto.connection_lost = connection_lost
    if transport.is_closing():  # closed during setup (e.g. handshake already failed)
        peer.on_connection_lost(None)

    details = await wait(
        peer.joined,
        f"session {name} to join realm {args.realm!r} ({kind} opening handshake + HELLO/WELCOME)",
    )
    expect(
        isinstance(details.session, int) and 1 <= details.session <= MAX_WAMP_ID,
        f"session {name}: WELCOME session id {details.session!r} is not an integer in [1, 2^53]",
    )
    expect(
        details.realm == args.realm,
        f"session {name}: joined realm {details.realm!r}, expected {args.realm!r}",
    )
    expect(
        details.serializer == serializer_name,
        f"session {name}: negotiated serializer {details.serializer!r}, expected {serializer_name!r}",
    )
    return peer


# --------------------------------------------------------------------------------------------
# the checks


class EventSink:
    """Subscription handler that queues (args, kwargs, details) for the checks to await."""

    def __init__(self, label):
        self.label = label
        self.queue = asyncio.Queue()

    def __call__(self, *args, details=None, **kwargs):
        self.queue.put_nowait((list(args), dict(kwargs), details))

    async def next(self, what):
        return await wait(self.queue.get(), f"{self.label}: {what}")


def check_id(value, what):
    expect(
        isinstance(value, int) and 1 <= value <= MAX_WAMP_ID,
        f"{what} {value!r} is not an integer in [1, 2^53]",
    )


async def check_pubsub_exact(a, b):
    sink = EventSink("B's subscription to com.example.topic")
    sub = await wait(
        b.session.subscribe(sink, "com.example.topic", options=SubscribeOptions(details=True)),
        "SUBSCRIBED for com.example.topic",
    )
    check_id(sub.id, "subscription id")
    args = [1, "two", {"three": 3}]
    kwargs = {"k": "v"}
    pub = await wait(
        a.session.publish(
            "com.example.topic", *args, options=PublishOptions(acknowledge=True), **kwargs
        ),
        "PUBLISHED for acknowledged publish to com.example.topic",
    )
    expect(isinstance(pub, Publication), f"acknowledged publish returned {pub!r}, expected a Publication")
    check_id(pub.id, "publication id")
    ev_args, ev_kwargs, details = await sink.next("EVENT for publish to com.example.topic")
    expect(ev_args == args, f"event args {short(ev_args)}, expected {short(args)}")
    expect(ev_kwargs == kwargs, f"event kwargs {short(ev_kwargs)}, expected {short(kwargs)}")
    expect(
        details is not None and details.publication == pub.id,
        f"EVENT publication id {getattr(details, 'publication', None)!r} differs from PUBLISHED id {pub.id!r}",
    )
    expect(
        details.topic == "com.example.topic",
        f"event details.topic {details.topic!r}, expected 'com.example.topic'",
    )


async def check_exclude_me(a, b):
    topic = "com.example.self"
    a_sink = EventSink(f"A's own subscription to {topic}")
    b_sink = EventSink(f"B's subscription to {topic}")
    await wait(a.session.subscribe(a_sink, topic, options=SubscribeOptions(details=True)), f"SUBSCRIBED (A) for {topic}")
    await wait(b.session.subscribe(b_sink, topic, options=SubscribeOptions(details=True)), f"SUBSCRIBED (B) for {topic}")
    # Publications of one publisher reach a subscriber in order, so if A's first received event is
    # the second publication, the first one (default options: exclude_me=true) was not sent to A.
    await wait(
        a.session.publish(topic, "default", options=PublishOptions(acknowledge=True)),
        f"PUBLISHED for publish to {topic} with default options",
    )
    await wait(
        a.session.publish(topic, "include-me", options=PublishOptions(acknowledge=True, exclude_me=False)),
        f"PUBLISHED for publish to {topic} with exclude_me=false",
    )
    got, _, _ = await a_sink.next("EVENT for A's own publish with exclude_me=false")
    expect(
        got != ["default"],
        "A received its own event published with default options (exclude_me defaults to true)",
    )
    expect(got == ["include-me"], f"A received event args {short(got)}, expected ['include-me']")
    first, _, _ = await b_sink.next("EVENT for publish with default options")
    second, _, _ = await b_sink.next("EVENT for publish with exclude_me=false")
    expect(
        [first, second] == [["default"], ["include-me"]],
        f"B received {short([first, second])}, expected [['default'], ['include-me']] in that order",
    )


async def check_pattern(a, b, match, sub_topic, pub_topic):
    sink = EventSink(f"B's {match} subscription to {sub_topic!r}")
    await wait(
        b.session.subscribe(sink, sub_topic, options=SubscribeOptions(match=match, details=True)),
        f"SUBSCRIBED for {match} subscription {sub_topic!r}",
    )
    await wait(
        a.session.publish(pub_topic, match, options=PublishOptions(acknowledge=True)),
        f"PUBLISHED for publish to {pub_topic}",
    )
    got, _, details = await sink.next(f"EVENT for publish to {pub_topic}")
    expect(got == [match], f"event args {short(got)}, expected {[match]!r}")
    expect(
        details.topic == pub_topic,
        f"event details.topic {details.topic!r}, expected {pub_topic!r} "
        "(EVENT.Details.topic is required for pattern-based subscriptions)",
    )


async def check_binary(a, b):
    topic = "com.example.binary"
    blob = bytes(range(256))
    sink = EventSink(f"B's subscription to {topic}")
    await wait(b.session.subscribe(sink, topic, options=SubscribeOptions(details=True)), f"SUBSCRIBED for {topic}")
    await wait(
        a.session.publish(topic, blob, options=PublishOptions(acknowledge=True), blob=blob),
        f"PUBLISHED for binary publish to {topic}",
    )
    got, kw, _ = await sink.next("EVENT with binary payload")
    expect(len(got) == 1, f"binary event has {len(got)} args, expected 1")
    expect(
        isinstance(got[0], bytes),
        f"binary arg arrived as {type(got[0]).__name__} {short(got[0], 80)}, expected bytes "
        "(JSON: string '\\u0000' + base64; msgpack: bin)",
    )
    expect(got[0] == blob, f"binary arg differs: got {short(got[0], 80)}")
    expect(kw.get("blob") == blob, f"binary kwarg differs: got {short(kw.get('blob'), 80)}")


async def check_rpc(a, b):
    def add(x, y):
        return x + y

    def fail():
        raise ApplicationError("com.example.error.failed", "boom", code=7)

    def echo(value):
        return value

    for proc, fn in (("com.example.add", add), ("com.example.fail", fail), ("com.example.echo", echo)):
        reg = await wait(b.session.register(fn, proc), f"REGISTERED for {proc}")
        check_id(reg.id, f"registration id for {proc}")

    res = await wait(a.session.call("com.example.add", 2, 3), "RESULT of com.example.add(2, 3)")
    expect(res == 5, f"com.example.add(2, 3) returned {res!r}, expected 5")

    try:
        res = await wait(a.session.call("com.example.fail"), "ERROR reply to com.example.fail")
    except ApplicationError as e:
        expect(
            e.error == "com.example.error.failed",
            f"com.example.fail raised error URI {e.error!r}, expected 'com.example.error.failed'",
        )
        expect(list(e.args) == ["boom"], f"com.example.fail error args {list(e.args)!r}, expected ['boom']")
        expect(e.kwargs == {"code": 7}, f"com.example.fail error kwargs {e.kwargs!r}, expected {{'code': 7}}")
    else:
        raise CheckFailed(f"com.example.fail returned {res!r} instead of an ERROR")

    try:
        res = await wait(a.session.call("com.example.nothing"), "ERROR reply to com.example.nothing")
    except ApplicationError as e:
        expect(
            e.error == "wamp.error.no_such_procedure",
            f"calling an unregistered procedure gave error {e.error!r}, expected 'wamp.error.no_such_procedure'",
        )
    else:
        raise CheckFailed(f"calling unregistered com.example.nothing returned {res!r} instead of an ERROR")

    try:
        reg = await wait(a.session.register(add, "com.example.add"), "ERROR reply to A's duplicate REGISTER")
    except ApplicationError as e:
        expect(
            e.error == "wamp.error.procedure_already_exists",
            f"registering com.example.add a second time gave error {e.error!r}, "
            "expected 'wamp.error.procedure_already_exists'",
        )
    else:
        raise CheckFailed(f"A could register com.example.add although B holds it (registration {reg.id!r})")

    text = "h\u00e9llo w\u00f6rld \u20ac \U0001f600"
    res = await wait(a.session.call("com.example.echo", text), "RESULT of echo of a non-ASCII string")
    expect(res == text, f"echo of non-ASCII string returned {short(res)}, expected {text!r}")

    blob = bytes(range(256))
    res = await wait(a.session.call("com.example.echo", blob), "RESULT of echo of bytes(range(256))")
    expect(res == blob, f"echo of bytes(range(256)) returned {short(res, 80)}")


async def check_large_call(a, b):
    big = ("0123456789abcdef" * 6400)  # 102400 characters
    res = await wait(a.session.call("com.example.echo", big), "RESULT of echo of a 100 KB string")
    expect(isinstance(res, str), f"echo of 100 KB string returned a {type(res).__name__}")
    expect(len(res) == len(big), f"echo of 100 KB string returned {len(res)} chars, expected {len(big)}")
    expect(res == big, "echo of 100 KB string returned different content")


async def check_unsubscribe_unregister(a, b):
    sink = EventSink("B's subscription to com.example.unsub")
    sub = await wait(b.session.subscribe(sink, "com.example.unsub"), "SUBSCRIBED for com.example.unsub")
    await wait(sub.unsubscribe(), "UNSUBSCRIBED for com.example.unsub")
    reg = await wait(b.session.register(lambda: "x", "com.example.unreg"), "REGISTERED for com.example.unreg")
    await wait(reg.unregister(), "UNREGISTERED for com.example.unreg")
    try:
        res = await wait(a.session.call("com.example.unreg"), "ERROR reply to a call of an unregistered procedure")
    except ApplicationError as e:
        expect(
            e.error == "wamp.error.no_such_procedure",
            f"call after UNREGISTER gave {e.error!r}, expected 'wamp.error.no_such_procedure'",
        )
    else:
        raise CheckFailed(f"call after UNREGISTER returned {res!r}")


async def leave(peer, strict=True):
    """Send GOODBYE, expect the router's GOODBYE reply and the connection to close."""
    if not peer.session or not peer.is_open or peer.left.done():
        if strict:
            raise CheckFailed(f"session {peer.name} was no longer open before GOODBYE")
        return
    peer.leave_sent = True
    peer.session.leave()
    details = await wait(peer.left, f"GOODBYE reply to session {peer.name}'s GOODBYE")
    if strict:
        # The spec says wamp.close.goodbye_and_out; Crossbar answers wamp.close.normal and
        # autobahn's Component accepts both as a clean close.
        expect(
            details.reason in CLEAN_GOODBYE_REASONS,
            f"router answered GOODBYE with reason {details.reason!r}, expected "
            "'wamp.close.goodbye_and_out' (or 'wamp.close.normal')",
        )
    await wait(peer.disconnected, f"session {peer.name}'s connection to close after GOODBYE")
    if strict and isinstance(peer.proto, WampWebSocketClientProtocol):
        expect(
            getattr(peer.proto, "wasClean", False),
            f"session {peer.name}: WebSocket connection was not closed cleanly after GOODBYE "
            f"({getattr(peer.proto, 'wasNotCleanReason', None)})",
        )


# --------------------------------------------------------------------------------------------
# runner


async def run(args):
    loop = asyncio.get_running_loop()
    txaio.config.loop = loop

    def exception_handler(loop, context):
        # After a failure autobahn errbacks requests nobody awaits any more (we gave up on them
        # at a timeout); asyncio would log each as "never retrieved". The failure is reported
        # by the check itself.
        if not VERBOSE and "never retrieved" in context.get("message", ""):
            return
        if not VERBOSE and getattr(context.get("protocol"), "interop_error", None):
            return  # reported with the failing check
        loop.default_exception_handler(context)

    loop.set_exception_handler(exception_handler)
    failures = []
    peers = {}

    def report_ok(name, t0):
        print(f"  ok   {name} ({(time.monotonic() - t0) * 1000:.0f} ms)", flush=True)

    async def step(name, fn, *fargs):
        t0 = time.monotonic()
        try:
            await fn(*fargs)
        except CheckFailed as e:
            failures.append((name, str(e)))
        except ApplicationError as e:
            failures.append((name, f"unexpected WAMP error {e.error!r} args={list(e.args)!r} kwargs={e.kwargs!r}"))
        except Exception as e:  # TransportLost, ProtocolError, serialization errors, bugs
            failures.append((name, f"{type(e).__name__}: {e}"))
        else:
            report_ok(name, t0)
            return True
        lost = lost_connections()
        if lost:
            failures[-1] = (name, f"{failures[-1][1]} [{lost}]")
        print(f"  FAIL {name}: {failures[-1][1]}", file=sys.stderr, flush=True)
        return False

    reported_lost = set()

    def lost_connections():
        """Lost connections not yet named in a failure, with the reason (named once only)."""
        new = [p for p in peers.values() if p.lost_reason and p.name not in reported_lost]
        reported_lost.update(p.name for p in new)
        return "; ".join(f"connection of session {p.name} lost: {p.lost_reason}" for p in new)

    async def join(name):
        ser = args.serializer if name == "A" else (args.serializer_b or args.serializer)
        peers[name] = await connect(name, args, loop, ser)

    try:
        ok = await step("join session A", join, "A") and await step("join session B", join, "B")
        if ok:
            a, b = peers["A"], peers["B"]
            checks = [
                ("pubsub exact + acknowledge", check_pubsub_exact, a, b),
                ("pubsub exclude_me", check_exclude_me, a, b),
                ("pubsub prefix match", check_pattern, a, b, "prefix", "com.example.prefix", "com.example.prefix.x.y"),
                ("pubsub wildcard match", check_pattern, a, b, "wildcard", "com..wild", "com.any.wild"),
                ("binary payload", check_binary, a, b),
                ("rpc results and errors", check_rpc, a, b),
                ("rpc 100 KB payload", check_large_call, a, b),
                ("unsubscribe / unregister", check_unsubscribe_unregister, a, b),
            ]
            for name, fn, *fargs in checks:
                if not (a.is_open and b.is_open):
                    gone = ", ".join(p.name for p in (a, b) if not p.is_open)
                    failures.append((name, f"skipped: connection of session {gone} is closed"))
                    print(f"  FAIL {name}: {failures[-1][1]}", file=sys.stderr, flush=True)
                    continue
                await step(name, fn, *fargs)
            # both leave at once; GOODBYE always gets CLEANUP_BUDGET_S even when the checks used
            # up the budget
            BUDGET.reserve(CLEANUP_BUDGET_S)
            await asyncio.gather(step("GOODBYE session A", leave, a), step("GOODBYE session B", leave, b))
    finally:
        # cleanup after failures: try to leave politely, then drop whatever is still open
        BUDGET.reserve(CLEANUP_BUDGET_S)  # only used if the GOODBYE steps did not run
        for peer in peers.values():
            if peer.is_open and not peer.leave_sent:
                try:
                    await leave(peer, strict=False)
                except Exception:
                    pass
        for peer in peers.values():
            if peer.transport is not None and not peer.transport.is_closing():
                peer.transport.abort()
    return failures


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # exit 1 (not argparse's 2), like every other failure
        self.print_usage(sys.stderr)
        print(f"FAIL arguments: {message}", file=sys.stderr)
        print("interop FAILED: bad arguments", flush=True)
        sys.exit(1)


def main(argv=None):
    global BUDGET, VERBOSE
    ap = _ArgumentParser(description="WAMP interoperability checks with autobahn-python")
    ap.add_argument("--url", required=True, help="ws://host:port/path, rs://host:port or tcp://host:port")
    ap.add_argument("--serializer", required=True, choices=["json", "msgpack"])
    ap.add_argument(
        "--serializer-b", choices=["json", "msgpack"], default=None,
        help="serializer of session B (default: same as --serializer); a different one tests the "
        "router's translation between serializers, binary payloads included",
    )
    ap.add_argument("--realm", default="realm1")
    ap.add_argument(
        "--timeout", type=float, default=14.0,
        help="time budget for connecting and all checks, seconds (max 15); GOODBYE gets 2 s more",
    )
    ap.add_argument("--verbose", action="store_true", help="autobahn debug logging to stderr")
    args = ap.parse_args(argv)

    BUDGET = Budget(min(args.timeout, 15.0))
    if args.verbose:
        VERBOSE = True
        txaio.start_logging(level="debug")

    sers = args.serializer
    if args.serializer_b and args.serializer_b != args.serializer:
        sers = f"{args.serializer}+{args.serializer_b}"
    try:
        parse_target(args.url)
    except CheckFailed as e:
        print(f"FAIL arguments: {e}", file=sys.stderr)
        print(f"interop FAILED: {args.url} {sers}")
        return 1

    failures = asyncio.run(run(args))
    elapsed = time.monotonic() - _T0
    if failures:
        print(f"{len(failures)} check(s) failed:", file=sys.stderr)
        for name, why in failures:
            print(f"FAIL {name}: {why}", file=sys.stderr)
        sys.stderr.flush()
        print(f"interop FAILED: {args.url} {sers} ({len(failures)} failed, {elapsed:.1f} s)", flush=True)
        return 1
    print(f"interop OK: {args.url} {sers}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
