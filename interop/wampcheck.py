"""What interop_client.py and monitor_client.py share: a hard watchdog, a time budget, autobahn
sessions over WebSocket (``ws://``) and RawSocket (``rs://``, ``tcp://``) with futures to wait on,
the step runner that collects ``FAIL <check>: <why>`` lines, and the common part of ``main()``.

Import it first, before anything else: importing it starts the clock and the watchdog, then
imports autobahn. Then call ``set_program("interop")`` (or ``"monitor"``): the name starts the
``<program> OK`` / ``<program> FAILED`` lines.
"""

import os
import signal
import sys
import time

T0 = time.monotonic()
HARD_LIMIT_S = 19  # the caller's budget is 20 s; never run longer than this
PROGRAM = "wampcheck"  # set_program() names the script in its output


def set_program(name):
    global PROGRAM
    PROGRAM = name


def _watchdog(signum, frame):  # pragma: no cover - only fires if the loop is wedged
    sys.stderr.write(f"FAIL watchdog: {PROGRAM} client still running after {HARD_LIMIT_S} s; killed\n")
    sys.stderr.flush()
    sys.stdout.write(f"{PROGRAM} FAILED: hard time limit reached\n")
    sys.stdout.flush()
    os._exit(1)


if hasattr(signal, "SIGALRM"):
    signal.signal(signal.SIGALRM, _watchdog)
    signal.alarm(HARD_LIMIT_S)

# autobahn switches to ujson / umsgpack when these are set, and then loses the binary
# (\u0000 + base64) convention for JSON: always test the standard serializers (and their byte
# counts).
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
from autobahn.wamp.serializer import (  # noqa: E402
    CBORSerializer,  # needs cbor2 (requirements.txt)
    JsonSerializer,
    MsgPackSerializer,
)
from autobahn.wamp.types import CloseDetails, ComponentConfig  # noqa: E402

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
        self.set_total(total_s)

    def set_total(self, total_s):
        """The checks may run until ``total_s`` after the process started."""
        self.deadline = T0 + total_s

    def remaining(self):
        return self.deadline - time.monotonic()

    def step(self, limit=STEP_TIMEOUT_S):
        return max(0.0, min(limit, self.remaining()))

    def reserve(self, seconds):
        """Make sure at least ``seconds`` are left (used for GOODBYE / cleanup)."""
        self.deadline = max(self.deadline, time.monotonic() + seconds)


BUDGET = Budget(14.0)  # run_main() sets the total from --timeout


async def wait(awaitable, what, timeout=None):
    """Await ``awaitable`` with a timeout; on timeout raise CheckFailed naming ``what``."""
    t = BUDGET.step() if timeout is None else min(timeout, max(0.0, BUDGET.remaining()))
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


async def expect_error(awaitable, uri, request):
    """Await the reply to ``request`` (words like "a call of com.example.x") like ``wait``: it must
    be the WAMP ERROR ``uri``. -> the ApplicationError, for checks of its args and kwargs"""
    try:
        res = await wait(awaitable, f"the reply to {request}")
    except ApplicationError as e:
        expect(e.error == uri, f"{request} gave error {e.error!r}, expected {uri!r}")
        return e
    raise CheckFailed(f"{request} returned {short(res)} instead of an ERROR {uri!r}")


def short(value, limit=200):
    r = repr(value)
    return r if len(r) <= limit else r[:limit] + f"... ({len(r)} chars)"


def is_id(value):
    return type(value) is int and 1 <= value <= MAX_WAMP_ID


class EventSink:
    """Subscription handler that queues (args, kwargs, details) for the checks to await."""

    def __init__(self, label):
        self.label = label
        self.queue = asyncio.Queue()

    def __call__(self, *args, details=None, **kwargs):
        self.queue.put_nowait((list(args), dict(kwargs), details))

    async def next(self, what):
        return await wait(self.queue.get(), f"{self.label}: {what}")


# --------------------------------------------------------------------------------------------
# transports and sessions


class CheckRawSocketProtocol(WampRawSocketClientProtocol):
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


class CheckRawSocketFactory(WampRawSocketClientFactory):
    protocol = CheckRawSocketProtocol


class Peer:
    """One client connection + WAMP session, with futures the checks can wait on."""

    def __init__(self, name, url, realm, serializer_name, loop):
        self.name = name
        self.url = url
        self.realm = realm
        self.serializer_name = serializer_name
        self.loop = loop
        self.joined = loop.create_future()  # -> SessionDetails
        self.left = loop.create_future()  # -> CloseDetails
        self.disconnected = loop.create_future()  # -> reason (str)
        for fut in (self.joined, self.left):
            # these may fail when nobody waits on them any more: don't log "never retrieved"
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.session = None
        self.details = None  # SessionDetails of the WELCOME
        self.transport = None
        self.proto = None
        self.kind = None  # "websocket" or "rawsocket"
        self.sockname = None  # our end of the TCP connection, as the router sees its peer
        self.leave_sent = False
        self.lost_reason = None  # why the connection closed, if it closed before our GOODBYE
        self.close_note = None  # GOODBYE/ABORT the router sent on its own, if any

    def _fail_join(self, reason):
        if not self.joined.done():
            self.joined.set_exception(CheckFailed(f"session {self.name} did not join: {reason}"))

    def make_session(self):
        self.session = CheckSession(ComponentConfig(realm=self.realm), self)
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

    @property
    def sid(self):
        return self.details.session if self.details else None


class CheckSession(ApplicationSession):
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
        # a callee that raises ApplicationError on purpose (interop's com.example.fail): autobahn
        # would log a warning
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


def make_serializer(name, wire_log=None):
    """autobahn's serializer ``name``; with ``wire_log``, each message it serializes or parses is
    also passed to ``wire_log.add(direction "tx"/"rx", [message class names], payload length)``."""
    if name == "json":
        base = JsonSerializer
    elif name == "msgpack":
        base = MsgPackSerializer
    elif name == "cbor":
        base = CBORSerializer
    else:
        raise CheckFailed(f"unknown serializer {name!r}")
    if wire_log is None:
        return base()

    class CountingSerializer(base):
        def serialize(self, msg):
            data, is_binary = super().serialize(msg)
            wire_log.add("tx", [type(msg).__name__], len(data))
            return data, is_binary

        def unserialize(self, payload, isBinary=None):
            msgs = super().unserialize(payload, isBinary)
            wire_log.add("rx", [type(m).__name__ for m in msgs], len(payload))
            return msgs

    return CountingSerializer()


async def connect(name, url, realm, serializer_name, loop, wire_log=None):
    """Connect session ``name`` and wait for its WELCOME -> Peer."""
    kind, host, port = parse_target(url)
    peer = Peer(name, url, realm, serializer_name, loop)
    peer.kind = kind
    serializer = make_serializer(serializer_name, wire_log)
    if kind == "websocket":
        factory = WampWebSocketClientFactory(peer.make_session, url=url, serializers=[serializer])
        factory.loop = loop
        factory.setProtocolOptions(
            openHandshakeTimeout=STEP_TIMEOUT_S,
            closeHandshakeTimeout=1.0,
            # no permessage-deflate offer, no auto ping: plain RFC 6455 only
        )
    else:
        factory = CheckRawSocketFactory(peer.make_session, serializer=serializer)

    what = f"TCP connection of session {name} to {host}:{port}"
    try:
        transport, proto = await wait(loop.create_connection(factory, host, port), what)
    except OSError as e:
        raise CheckFailed(f"cannot connect session {name} to {host}:{port}: {e}") from None
    peer.transport, peer.proto = transport, proto
    peer.sockname = transport.get_extra_info("sockname")

    orig_lost = proto.connection_lost

    def connection_lost(exc):
        peer.on_connection_lost(exc)  # first, so the session's onLeave sees the reason recorded
        return orig_lost(exc)

    proto.connection_lost = connection_lost
    if transport.is_closing():  # closed during setup (e.g. handshake already failed)
        peer.on_connection_lost(None)

    details = await wait(
        peer.joined,
        f"session {name} to join realm {realm!r} ({kind} opening handshake + HELLO/WELCOME)",
    )
    expect(is_id(details.session), f"session {name}: WELCOME session id {details.session!r} is not an integer in [1, 2^53]")
    expect(details.realm == realm, f"session {name}: joined realm {details.realm!r}, expected {realm!r}")
    expect(
        details.serializer == serializer_name,
        f"session {name}: negotiated serializer {details.serializer!r}, expected {serializer_name!r}",
    )
    peer.details = details
    return peer


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


class Runner:
    """Runs named checks as steps: prints ``ok``/``FAIL`` as each ends and collects the failures
    as (check, why). Create it inside the running event loop; ``peers`` (name -> Peer) are the
    sessions that ``close()`` leaves or drops at the end."""

    def __init__(self):
        self.loop = asyncio.get_running_loop()
        txaio.config.loop = self.loop
        self.loop.set_exception_handler(self._exception_handler)
        self.failures = []
        self.peers = {}
        self._reported_lost = set()

    @staticmethod
    def _exception_handler(loop, context):
        # After a failure autobahn errbacks requests nobody awaits any more (we gave up on them
        # at a timeout); asyncio would log each as "never retrieved". The failure is reported
        # by the check itself.
        if not VERBOSE and "never retrieved" in context.get("message", ""):
            return
        if not VERBOSE and getattr(context.get("protocol"), "interop_error", None):
            return  # reported with the failing check
        loop.default_exception_handler(context)

    def lost_connections(self):
        """Lost connections not yet named in a failure, with the reason (named once only)."""
        new = [p for p in self.peers.values() if p.lost_reason and p.name not in self._reported_lost]
        self._reported_lost.update(p.name for p in new)
        return "; ".join(f"connection of session {p.name} lost: {p.lost_reason}" for p in new)

    async def step(self, name, fn, *fargs):
        """Run check ``name`` (``fn(*fargs)``, a coroutine function or not) -> True if it held."""
        t0 = time.monotonic()
        try:
            res = fn(*fargs)
            if asyncio.iscoroutine(res):
                await res
        except CheckFailed as e:
            self.failures.append((name, str(e)))
        except ApplicationError as e:
            self.failures.append((name, f"unexpected WAMP error {e.error!r} args={list(e.args)!r} kwargs={e.kwargs!r}"))
        except Exception as e:  # TransportLost, ProtocolError, serialization errors, bugs
            self.failures.append((name, f"{type(e).__name__}: {e}"))
        else:
            print(f"  ok   {name} ({(time.monotonic() - t0) * 1000:.0f} ms)", flush=True)
            return True
        lost = self.lost_connections()
        if lost:
            self.failures[-1] = (name, f"{self.failures[-1][1]} [{lost}]")
        print(f"  FAIL {name}: {self.failures[-1][1]}", file=sys.stderr, flush=True)
        return False

    async def leave_all(self, goodbyes):
        """The GOODBYE steps ``goodbyes`` (check name, peer), all at once. GOODBYE always gets
        CLEANUP_BUDGET_S, even when the checks used up the budget. -> True if all of them held"""
        BUDGET.reserve(CLEANUP_BUDGET_S)
        return all(await asyncio.gather(*(self.step(name, leave, peer) for name, peer in goodbyes)))

    def skip(self, name, why):
        self.failures.append((name, f"skipped: {why}"))
        print(f"  FAIL {name}: skipped: {why}", file=sys.stderr, flush=True)

    async def close(self):
        """Cleanup after failures: try to leave politely, then drop whatever is still open."""
        BUDGET.reserve(CLEANUP_BUDGET_S)  # only used if the GOODBYE steps did not run
        for peer in self.peers.values():
            if peer.is_open and not peer.leave_sent:
                try:
                    await leave(peer, strict=False)
                except Exception:
                    pass
        for peer in self.peers.values():
            if peer.transport is not None and not peer.transport.is_closing():
                peer.transport.abort()


# --------------------------------------------------------------------------------------------
# command line


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # exit 1 (not argparse's 2), like every other failure
        self.print_usage(sys.stderr)
        print(f"FAIL arguments: {message}", file=sys.stderr)
        print(f"{PROGRAM} FAILED: bad arguments", flush=True)
        sys.exit(1)


def add_timeout_and_verbose(ap):
    ap.add_argument(
        "--timeout", type=float, default=14.0,
        help="time budget for connecting and all checks, seconds (max 15); GOODBYE gets 2 s more",
    )
    ap.add_argument("--verbose", action="store_true", help="autobahn debug logging to stderr")


def run_main(args, what, urls, run):
    """The rest of main() once the arguments are parsed: check ``urls``, ``await run(args)`` (which
    returns the failures), report. ``what`` follows "<program> OK:" / "FAILED:". -> exit status"""
    global VERBOSE
    BUDGET.set_total(min(args.timeout, 15.0))
    if args.verbose:
        VERBOSE = True
        txaio.start_logging(level="debug")

    try:
        for url in urls:
            parse_target(url)
    except CheckFailed as e:
        print(f"FAIL arguments: {e}", file=sys.stderr)
        print(f"{PROGRAM} FAILED: {what}")
        return 1

    failures = asyncio.run(run(args))
    elapsed = time.monotonic() - T0
    if failures:
        print(f"{len(failures)} check(s) failed:", file=sys.stderr)
        for name, why in failures:
            print(f"FAIL {name}: {why}", file=sys.stderr)
        sys.stderr.flush()
        print(f"{PROGRAM} FAILED: {what} ({len(failures)} failed, {elapsed:.1f} s)", flush=True)
        return 1
    print(f"{PROGRAM} OK: {what}", flush=True)
    return 0
