"""Two autobahn-python sessions: one leaves a testament (``wamp.session.add_testament``) and then
drops its connection without GOODBYE; the other, subscribed to the testament's topic, must
receive it with the arguments given.

    testament_client.py --url ws://127.0.0.1:8080/ws --realm realm1 [--serializer json]

The last line is ``testament OK ...`` (exit 0) or ``testament FAILED: ...`` (exit 1). Bounded
to 15 s.
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
from autobahn.wamp.types import ComponentConfig  # noqa: E402

TOPIC = "com.example.testament"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--realm", default="realm1")
    ap.add_argument("--serializer", default="json")
    a = ap.parse_args()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    subscribed = loop.create_future()
    received = loop.create_future()
    left_testament = loop.create_future()

    class Watcher(ApplicationSession):
        async def onJoin(self, details):
            await self.subscribe(lambda *args, **kwargs: received.done() or received.set_result((args, kwargs)), TOPIC)
            subscribed.set_result(True)

    class Dropper(ApplicationSession):
        async def onJoin(self, details):
            await self.call("wamp.session.add_testament", TOPIC, ["gone", 1], {"who": "dropper"})
            left_testament.set_result(details.session)
            # Drop the connection: no GOODBYE.
            self._transport.transport.abort()

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
        await loop.create_connection(factory(Watcher), parts.hostname, parts.port)
        await asyncio.wait_for(subscribed, 15)
        await loop.create_connection(factory(Dropper), parts.hostname, parts.port)
        await asyncio.wait_for(left_testament, 15)
        return await asyncio.wait_for(received, 15)

    try:
        args, kwargs = loop.run_until_complete(run())
    except Exception as e:  # noqa: BLE001
        print(f"testament FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
    ok = list(args) == ["gone", 1] and kwargs == {"who": "dropper"}
    print(f"testament {'OK' if ok else 'FAILED'}: got args {list(args)} kwargs {kwargs}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
