#!/usr/bin/env python3
"""autobahn-python across two nodes of a wampstat cluster (issue 17): a publisher on node A, two
subscriber sessions on node B.

    cluster_client.py --url-a ws://127.0.0.1:PA/ws --url-b rs://127.0.0.1:PB \
        [--serializer-a json] [--serializer-b msgpack] [--realm realm1]

On B, session S subscribes to ``com.cluster.x`` (exact), ``com.cluster.`` (prefix) and
``com..x`` (wildcard), session T to ``com.cluster.x`` (exact). A publishes probes until each of
S's subscriptions has one (the subscriptions have crossed to A's node), then one publication
with args, kwargs and ``exclude=[T]`` (the realm's role discloses publishers), then a marker.
Checks: S gets the publication once per subscription, with A's session id as publisher, the
same publication id, the topic (autobahn fills it in for exact subscriptions itself, so that
the router sends it for patterns is checked by router/tests/cluster_pubsub.rs), the args and
kwargs as sent; T gets only the marker. Then one publication with ``eligible=[T]``: T gets it,
none of S's subscriptions does.

The last line is ``cluster OK: ...`` (exit 0) or ``cluster FAILED: ...`` (exit 1). Bounded to
19 s by wampcheck's watchdog, every wait by its own timeout.
"""

import argparse
import asyncio
import sys

import wampcheck  # first of all: it starts the clock and the watchdog, then imports autobahn

wampcheck.set_program("cluster")

from autobahn.wamp.types import PublishOptions, SubscribeOptions
from wampcheck import CheckFailed, EventSink, connect, expect, leave

TOPIC = "com.cluster.x"
ARGS = [1, "two", {"three": 3.5}]
KWARGS = {"k": "v", "n": [True, None]}


async def until(sink, what, pred, seconds):
    """The first (args, kwargs, details) of ``sink`` for which ``pred`` holds, within ``seconds``."""

    async def first():
        while True:
            item = await sink.queue.get()
            if pred(item):
                return item

    try:
        return await asyncio.wait_for(first(), seconds)
    except asyncio.TimeoutError:
        raise CheckFailed(f"{sink.label}: no {what} within {seconds} s") from None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url-a", required=True)
    ap.add_argument("--url-b", required=True)
    ap.add_argument("--serializer-a", default="json", choices=["json", "msgpack", "cbor"])
    ap.add_argument("--serializer-b", default="msgpack", choices=["json", "msgpack", "cbor"])
    ap.add_argument("--realm", default="realm1")
    a = ap.parse_args()
    what = f"{a.url_a} ({a.serializer_a}) -> {a.url_b} ({a.serializer_b})"
    try:
        ok = asyncio.run(checked(a))
    except CheckFailed as e:
        print(f"FAIL {e}", file=sys.stderr)
        print(f"cluster FAILED: {what}: {e}", flush=True)
        sys.exit(1)
    print(f"cluster OK: {what}: {ok}", flush=True)


async def checked(a):
    loop = asyncio.get_running_loop()
    pub = await connect("A", a.url_a, a.realm, a.serializer_a, loop)
    s = await connect("S", a.url_b, a.realm, a.serializer_b, loop)
    t = await connect("T", a.url_b, a.realm, a.serializer_b, loop)
    sinks = {
        "exact": EventSink("S exact"),
        "prefix": EventSink("S prefix"),
        "wildcard": EventSink("S wildcard"),
    }
    patterns = {"exact": TOPIC, "prefix": "com.cluster.", "wildcard": "com..x"}
    for match, k in sinks.items():
        await s.session.subscribe(
            k, patterns[match], options=SubscribeOptions(match=match, details_arg="details")
        )
    t_sink = EventSink("T exact")
    await t.session.subscribe(t_sink, TOPIC, options=SubscribeOptions(details_arg="details"))
    everyone = list(sinks.values()) + [t_sink]

    # Probes until every subscription on B has one: they have crossed (bounded: 100 probes).
    waiting = set(range(len(everyone)))
    probes = 0
    while waiting:
        expect(probes < 100, f"subscriptions on B did not cross after {probes} probes")
        probes += 1
        await pub.session.publish(TOPIC, "probe", options=PublishOptions(acknowledge=True))
        await asyncio.sleep(0.1)  # the poll's pace; a probe that arrives later is read below
        waiting = {i for i in waiting if everyone[i].queue.empty()}

    async def step(marker):
        """Publishes ``marker``; what each sink got before it."""
        await pub.session.publish(TOPIC, marker, options=PublishOptions(acknowledge=True))
        got = []
        for k in everyone:
            before = []
            while True:
                item = await until(k, f"marker {marker!r}", lambda _: True, 10)
                if item[0] == [marker]:
                    break
                before.append(item)
            got.append(before)
        return got

    await step("crossed")
    publication = await pub.session.publish(
        TOPIC,
        *ARGS,
        options=PublishOptions(acknowledge=True, exclude=[t.sid]),
        **KWARGS,
    )
    got = await step("after")
    names = list(sinks) + ["T"]
    for name, before in zip(names, got):
        if name == "T":
            expect(before == [], f"T (excluded) got {before!r}")
            continue
        expect(len(before) == 1, f"S {name}: {len(before)} events instead of 1: {before!r}")
        args, kwargs, details = before[0]
        expect(args == ARGS, f"S {name}: args {args!r}")
        expect(kwargs == KWARGS, f"S {name}: kwargs {kwargs!r}")
        expect(details.publisher == pub.sid, f"S {name}: publisher {details.publisher!r}, A is {pub.sid}")
        expect(details.publication == publication.id, f"S {name}: publication id {details.publication}")
        expect(details.topic == TOPIC, f"S {name}: topic {details.topic!r}")

    # Eligibility, naming a session of B: only T (eligible) gets it; S, on the same node,
    # none of its three subscriptions.
    await pub.session.publish(TOPIC, "only T", options=PublishOptions(acknowledge=True, eligible=[t.sid]))
    got = await step("after eligible")
    for name, before in zip(names, got):
        if name == "T":
            expect([b[0] for b in before] == [["only T"]], f"T (eligible) got {before!r}")
        else:
            expect(before == [], f"S {name} (not eligible) got {before!r}")
    for p in (pub, s, t):
        await leave(p)
    return (
        f"{probes} probes, 3 subscriptions once each, the excluded session none, "
        "only the eligible session"
    )


if __name__ == "__main__":
    main()
