"""autobahn-python and event retention and history: one session publishes two events with
``PublishOptions(retain=True)`` and leaves; a session that subscribes later with
``SubscribeOptions(get_retained=True)`` must receive the last of them, marked retained, and
``wamp.subscription.get_events`` on its subscription must return both (the router keeps the
topic's history).

    retained_client.py --url ws://127.0.0.1:8080/ws --realm realm1 [--serializer json]

The last line is ``retained OK ...`` (exit 0) or ``retained FAILED: ...`` (exit 1). Bounded to
15 s.
"""

import argparse
import asyncio
import sys
from urllib.parse import urlsplit

import txaio

txaio.use_asyncio()

from autobahn.asyncio.rawsocket import WampRawSocketClientFactory  # noqa: E402
from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402
from autobahn.asyncio.websocket import WampWebSocketClientFactory  # noqa: E402
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import ComponentConfig, PublishOptions, SubscribeOptions  # noqa: E402

TOPIC = "com.example.retained"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--realm", default="realm1")
    ap.add_argument("--serializer", default="json")
    a = ap.parse_args()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    published = loop.create_future()
    received = loop.create_future()
    history = loop.create_future()

    class Publisher(ApplicationSession):
        async def onJoin(self, details):
            for n in (1, 2):
                await self.publish(TOPIC, n, options=PublishOptions(retain=True, acknowledge=True))
            published.set_result(True)
            self.leave()

    class Late(ApplicationSession):
        async def onJoin(self, details):
            def on_event(n, details=None):
                if not received.done():
                    received.set_result((n, details.retained))

            sub = await self.subscribe(on_event, TOPIC, options=SubscribeOptions(get_retained=True, details_arg="details"))
            await received
            events = await self.call("wamp.subscription.get_events", sub.id, limit=10)
            history.set_result([e["args"][0] for e in events])

    serializer = JsonSerializer() if a.serializer == "json" else MsgPackSerializer()
    parts = urlsplit(a.url)

    def factory(cls):
        make = lambda: cls(ComponentConfig(a.realm))  # noqa: E731
        if parts.scheme == "ws":
            f = WampWebSocketClientFactory(make, url=a.url, serializers=[serializer])
        else:
            f = WampRawSocketClientFactory(make, serializer=serializer)
        f.loop = loop
        return f

    async def run():
        await loop.create_connection(factory(Publisher), parts.hostname, parts.port)
        await asyncio.wait_for(published, 15)
        await loop.create_connection(factory(Late), parts.hostname, parts.port)
        got = await asyncio.wait_for(received, 15)
        return got, await asyncio.wait_for(history, 15)

    try:
        (n, retained), kept = loop.run_until_complete(run())
    except Exception as e:  # noqa: BLE001
        print(f"retained FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
    ok = n == 2 and retained is True and kept == [1, 2]
    print(f"retained {'OK' if ok else 'FAILED'}: got {n} retained={retained}, history {kept}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
