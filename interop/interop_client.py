#!/usr/bin/env python3
"""WAMP v2 interoperability client for the wampstat router, built on autobahn-python (asyncio).

Usage:
    python interop_client.py --url ws://127.0.0.1:PORT/ws --serializer json --realm realm1
    python interop_client.py --url rs://127.0.0.1:PORT    --serializer msgpack

URL schemes: ``ws://`` (WAMP over WebSocket) and ``rs://`` or ``tcp://`` (WAMP over RawSocket).
Serializers: ``json``, ``msgpack`` or ``cbor``.

Two sessions (A and B) join the same realm and exercise pub/sub (exact, prefix and wildcard
matching, publisher exclusion, acknowledged publish, binary payload) and RPC (results, application
errors, router errors, a 100 KB payload, progressive results, a call timeout that the router
enforces), then both leave with GOODBYE.

Exit status 0 and a last line ``interop OK: <url> <serializer>`` when every check passed; otherwise
each failed check is printed as ``FAIL <check>: <why>`` (stderr), the last stdout line is
``interop FAILED: <url> <serializer> ...`` and the exit status is 1. The whole run is bounded in time
(``--timeout``, default 14 s, plus 2 s reserved for GOODBYE); a hard watchdog ends the process at
19 s whatever happens.
"""

import asyncio
import sys

import wampcheck  # first of all: it starts the clock and the watchdog, then imports autobahn

from autobahn.wamp.cryptobox import HAS_CRYPTOBOX
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.request import Publication
from autobahn.wamp.types import CallOptions, PublishOptions, RegisterOptions, SubscribeOptions
from wampcheck import (
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

wampcheck.set_program("interop")


# --------------------------------------------------------------------------------------------
# the checks


def check_id(value, what):
    expect(is_id(value), f"{what} {value!r} is not an integer in [1, 2^53]")


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
        "(JSON: string '\\u0000' + base64; msgpack: bin; CBOR: byte string)",
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

    e = await expect_error(
        a.session.call("com.example.fail"), "com.example.error.failed", "a call of com.example.fail"
    )
    expect(list(e.args) == ["boom"], f"com.example.fail error args {list(e.args)!r}, expected ['boom']")
    expect(e.kwargs == {"code": 7}, f"com.example.fail error kwargs {e.kwargs!r}, expected {{'code': 7}}")

    await expect_error(
        a.session.call("com.example.nothing"), "wamp.error.no_such_procedure",
        "a call of unregistered com.example.nothing",
    )
    await expect_error(
        a.session.register(add, "com.example.add"), "wamp.error.procedure_already_exists",
        "A's REGISTER of com.example.add, which B holds",
    )

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


async def check_progressive_results(a, b):
    def count(n, details=None):
        for i in range(n):
            if details is not None and details.progress:
                details.progress(i)
        return n

    await wait(
        b.session.register(count, "com.example.count", options=RegisterOptions(details_arg="details")),
        "REGISTERED for com.example.count",
    )
    got = []
    res = await wait(
        a.session.call("com.example.count", 3, options=CallOptions(on_progress=got.append)),
        "RESULT of com.example.count(3) with progressive results",
    )
    expect(res == 3, f"com.example.count(3) returned {res!r}, expected 3")
    expect(got == [0, 1, 2], f"progressive results {got!r}, expected [0, 1, 2]")


async def check_call_timeout(a, b):
    interrupted = asyncio.get_running_loop().create_future()

    async def hang():
        # Never answers in time: the router's INTERRUPT cancels this coroutine.
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            if not interrupted.done():
                interrupted.set_result(True)
            raise
        return "too late"

    await wait(b.session.register(hang, "com.example.hang"), "REGISTERED for com.example.hang")
    # CALL.Options.timeout is in milliseconds (the spec; autobahn passes the int through).
    await expect_error(
        a.session.call("com.example.hang", options=CallOptions(timeout=200)),
        "wamp.error.timeout",
        "a call of com.example.hang with a 200 ms timeout",
    )
    await wait(interrupted, "the INTERRUPT that cancels B's com.example.hang")


async def check_unsubscribe_unregister(a, b):
    sink = EventSink("B's subscription to com.example.unsub")
    sub = await wait(b.session.subscribe(sink, "com.example.unsub"), "SUBSCRIBED for com.example.unsub")
    await wait(sub.unsubscribe(), "UNSUBSCRIBED for com.example.unsub")
    reg = await wait(b.session.register(lambda: "x", "com.example.unreg"), "REGISTERED for com.example.unreg")
    await wait(reg.unregister(), "UNREGISTERED for com.example.unreg")
    await expect_error(
        a.session.call("com.example.unreg"), "wamp.error.no_such_procedure",
        "a call of com.example.unreg after UNREGISTER",
    )


# WAMP-cryptobox (autobahn's payload transparency): the payload travels as one binary value with
# enc_algo "cryptobox" / enc_serializer "json", encrypted end to end with a key the router never
# has. Keys are set for the com.example.secret prefix only, so no other check is encrypted.
SECRET = "com.example.secret"
MARKER = "plaintext-only-the-peers-see"

if HAS_CRYPTOBOX:
    from autobahn.wamp.cryptobox import KeyRing
    from nacl.encoding import Base64Encoder
    from nacl.public import PrivateKey

    class RecordingKeyRing(KeyRing):
        """A KeyRing that keeps each encrypted payload it produced and each one it was given."""

        def __init__(self, key):
            super().__init__()
            self.set_key(SECRET, key)
            self.sent = []
            self.received = []

        def encode(self, is_originating, uri, args=None, kwargs=None):
            encoded = super().encode(is_originating, uri, args, kwargs)
            if encoded is not None:
                self.sent.append((uri, encoded))
            return encoded

        def decode(self, is_originating, uri, encoded_payload):
            self.received.append((uri, encoded_payload))
            return super().decode(is_originating, uri, encoded_payload)


def check_ciphertext(sent, received, what):
    """What one peer's codec received is exactly what the other's produced, and only ciphertext."""
    expect(sent is not None, f"{what}: nothing was encrypted")
    expect(received is not None, f"{what}: nothing encrypted arrived")
    expect(
        received.enc_algo == "cryptobox" and received.enc_serializer == "json",
        f"{what}: arrived with enc_algo={received.enc_algo!r} enc_serializer={received.enc_serializer!r}",
    )
    expect(isinstance(received.payload, bytes), f"{what}: payload is {type(received.payload).__name__}, not bytes")
    expect(
        bytes(received.payload) == bytes(sent.payload),
        f"{what}: the router changed the payload ({len(sent.payload)} bytes sent, {len(received.payload)} arrived)",
    )
    expect(MARKER.encode() not in bytes(received.payload), f"{what}: the plaintext is readable on the wire")


def last(entries, uri):
    found = [e for u, e in entries if u == uri]
    return found[-1] if found else None


async def check_cryptobox(a, b):
    if not HAS_CRYPTOBOX:
        raise wampcheck.CheckFailed("autobahn's cryptobox needs PyNaCl and PyTrie (interop/requirements.txt)")
    key = PrivateKey.generate().encode(encoder=Base64Encoder).decode("ascii")
    ring_a, ring_b = RecordingKeyRing(key), RecordingKeyRing(key)
    a.session.set_payload_codec(ring_a)
    b.session.set_payload_codec(ring_b)
    try:
        topic = f"{SECRET}.topic"
        sink = EventSink(f"B's subscription to {topic}")
        await wait(
            b.session.subscribe(sink, topic, options=SubscribeOptions(details=True)),
            f"SUBSCRIBED for {topic}",
        )
        args, kwargs = [1, "two", {"three": 3}], {"k": MARKER}
        await wait(
            a.session.publish(topic, *args, options=PublishOptions(acknowledge=True), **kwargs),
            f"PUBLISHED for the encrypted publish to {topic}",
        )
        ev_args, ev_kwargs, details = await sink.next(f"EVENT for the encrypted publish to {topic}")
        expect(ev_args == args and ev_kwargs == kwargs, f"decrypted event {short(ev_args)} {short(ev_kwargs)}")
        expect(details.enc_algo == "cryptobox", f"EVENT enc_algo {details.enc_algo!r}, expected 'cryptobox'")
        check_ciphertext(last(ring_a.sent, topic), last(ring_b.received, topic), "PUBLISH → EVENT")

        rpc, fail = f"{SECRET}.rpc", f"{SECRET}.fail"
        error_uri = f"{SECRET}.error.denied"

        def echo(value):
            return {"echo": value}

        def refuse():
            raise ApplicationError(error_uri, MARKER)

        await wait(b.session.register(echo, rpc), f"REGISTERED for {rpc}")
        await wait(b.session.register(refuse, fail), f"REGISTERED for {fail}")
        res = await wait(a.session.call(rpc, MARKER), f"RESULT of the encrypted call of {rpc}")
        expect(res == {"echo": MARKER}, f"decrypted result {short(res)}, expected {{'echo': {MARKER!r}}}")
        check_ciphertext(last(ring_a.sent, rpc), last(ring_b.received, rpc), "CALL → INVOCATION")
        check_ciphertext(last(ring_b.sent, rpc), last(ring_a.received, rpc), "YIELD → RESULT")
        try:
            await wait(a.session.call(fail), f"ERROR of the encrypted call of {fail}")
        except ApplicationError as e:
            expect(e.error == error_uri, f"error {e.error!r}, expected {error_uri!r}")
            expect(list(e.args) == [MARKER], f"decrypted error args {short(e.args)}, expected [{MARKER!r}]")
        else:
            raise wampcheck.CheckFailed(f"the call of {fail} succeeded, expected {error_uri}")
        check_ciphertext(last(ring_b.sent, error_uri), last(ring_a.received, error_uri), "ERROR → ERROR")
    finally:
        a.session.set_payload_codec(None)
        b.session.set_payload_codec(None)


# --------------------------------------------------------------------------------------------
# runner


async def run(args):
    r = Runner()

    async def join(name):
        ser = args.serializer if name == "A" else (args.serializer_b or args.serializer)
        r.peers[name] = await connect(name, args.url, args.realm, ser, r.loop)

    try:
        ok = await r.step("join session A", join, "A") and await r.step("join session B", join, "B")
        if ok:
            a, b = r.peers["A"], r.peers["B"]
            checks = [
                ("pubsub exact + acknowledge", check_pubsub_exact, a, b),
                ("pubsub exclude_me", check_exclude_me, a, b),
                ("pubsub prefix match", check_pattern, a, b, "prefix", "com.example.prefix", "com.example.prefix.x.y"),
                ("pubsub wildcard match", check_pattern, a, b, "wildcard", "com..wild", "com.any.wild"),
                ("binary payload", check_binary, a, b),
                ("rpc results and errors", check_rpc, a, b),
                ("rpc 100 KB payload", check_large_call, a, b),
                ("rpc progressive results", check_progressive_results, a, b),
                ("rpc call timeout", check_call_timeout, a, b),
                ("unsubscribe / unregister", check_unsubscribe_unregister, a, b),
                ("cryptobox end-to-end encryption", check_cryptobox, a, b),
            ]
            for name, fn, *fargs in checks:
                if not (a.is_open and b.is_open):
                    gone = ", ".join(p.name for p in (a, b) if not p.is_open)
                    r.skip(name, f"connection of session {gone} is closed")
                    continue
                await r.step(name, fn, *fargs)
            await r.leave_all([("GOODBYE session A", a), ("GOODBYE session B", b)])
    finally:
        await r.close()
    return r.failures


def main(argv=None):
    ap = wampcheck.ArgumentParser(description="WAMP interoperability checks with autobahn-python")
    ap.add_argument("--url", required=True, help="ws://host:port/path, rs://host:port or tcp://host:port")
    ap.add_argument("--serializer", required=True, choices=["json", "msgpack", "cbor"])
    ap.add_argument(
        "--serializer-b", choices=["json", "msgpack", "cbor"], default=None,
        help="serializer of session B (default: same as --serializer); a different one tests the "
        "router's translation between serializers, binary payloads included",
    )
    ap.add_argument("--realm", default="realm1")
    add_timeout_and_verbose(ap)
    args = ap.parse_args(argv)

    sers = args.serializer
    if args.serializer_b and args.serializer_b != args.serializer:
        sers = f"{args.serializer}+{args.serializer_b}"
    return run_main(args, f"{args.url} {sers}", [args.url], run)


if __name__ == "__main__":
    sys.exit(main())
