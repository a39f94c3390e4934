"""A Crossbar-style dynamic ticket authenticator written with autobahn-python: it joins the
router anonymously, registers PROCEDURE and answers the router's calls
``(realm, authid, details)`` as a Crossbar authenticator component does: the principal dict
for a known authid whose ``details["ticket"]`` is right, ``ApplicationError``
``wamp.error.not_authorized`` otherwise. It checks that the arguments have Crossbar's shape.

    dynamic_authenticator.py --url rs://127.0.0.1:8081 --realm realm1 \
        --procedure com.example.authenticate --principal alice --ticket-file FILE

Prints ``authenticator ready`` once registered, and leaves when its standard input ends; the
last line is ``authenticator OK: N calls`` (exit 0) or ``authenticator FAILED: ...`` (exit 1).
Bounded to 20 s.
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
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.serializer import JsonSerializer  # noqa: E402
from autobahn.wamp.types import ComponentConfig  # noqa: E402

DETAILS_KEYS = {"transport", "session", "authmethod", "authextra", "ticket"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--realm", default="realm1")
    ap.add_argument("--procedure", required=True)
    ap.add_argument("--principal", required=True, help="the one authid that may log in")
    ap.add_argument("--ticket-file", required=True, help="its ticket, first line")
    ap.add_argument("--role", default="anonymous")
    a = ap.parse_args()
    with open(a.ticket_file) as f:
        ticket = f.readline().strip()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    done = loop.create_future()
    problems = []
    calls = 0

    class Authenticator(ApplicationSession):
        def onConnect(self):
            self.join(self.config.realm, authmethods=["anonymous"])

        async def onJoin(self, details):
            await self.register(self.authenticate, a.procedure)
            # Leave once whoever started us closes our standard input.
            loop.add_reader(sys.stdin.fileno(), self.on_stdin)
            print("authenticator ready", flush=True)

        def on_stdin(self):
            if not sys.stdin.readline():
                loop.remove_reader(sys.stdin.fileno())
                self.leave()

        def authenticate(self, realm, authid, details):
            nonlocal calls
            calls += 1
            if set(details) != DETAILS_KEYS:
                problems.append(f"details keys {sorted(details)}")
            if realm != a.realm or details.get("authmethod") != "ticket":
                problems.append(f"realm {realm!r}, authmethod {details.get('authmethod')!r}")
            if not isinstance(details.get("session"), int):
                problems.append(f"session {details.get('session')!r}")
            if not isinstance(details.get("transport"), dict):
                problems.append("transport is not a dict")
            if authid == a.principal and details.get("ticket") == ticket:
                return {"role": a.role, "extra": {"checked_by": "autobahn"}}
            raise ApplicationError(ApplicationError.NOT_AUTHORIZED, "wrong ticket")

        def onLeave(self, details):
            self.disconnect()
            if not done.done():
                done.set_result(None)

    parts = urlsplit(a.url)
    make = lambda: Authenticator(ComponentConfig(a.realm))  # noqa: E731
    if parts.scheme == "ws":
        factory = WampWebSocketClientFactory(make, url=a.url, serializers=[JsonSerializer()])
    else:
        factory = WampRawSocketClientFactory(make, serializer=JsonSerializer())
    factory.loop = loop

    async def run():
        await loop.create_connection(factory, parts.hostname, parts.port)
        await asyncio.wait_for(done, 20)

    try:
        loop.run_until_complete(run())
    except Exception as e:  # noqa: BLE001
        print(f"authenticator FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
    if problems:
        print(f"authenticator FAILED: {'; '.join(problems)}")
        sys.exit(1)
    print(f"authenticator OK: {calls} calls")


if __name__ == "__main__":
    main()
