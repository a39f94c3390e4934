"""An autobahn-python client that logs in to a router with ticket, WAMP-CRA (its signature and,
for salted secrets, its key derivation are autobahn's own, ``autobahn.wamp.auth``) or
cryptosign (autobahn's ``CryptosignKey``; the secret file holds the Ed25519 seed in hex) and
checks the outcome: joined with the expected identity, or refused with the expected ABORT
reason.

    auth_client.py --url rs://127.0.0.1:8081 --realm realm1 --authmethod wampcra \
        --authid bob --secret-file FILE --expect ok|<error URI> [--ca FILE]

URLs: ws:// and wss:// (WebSocket), rs:// and rss:// (RawSocket, over TLS for rss), and
unix:///path (RawSocket on a Unix socket). ``--ca`` is the CA that signed the router's
certificate (Python's ``ssl`` checks it and the host name).

The last line is ``auth OK ...`` (exit 0) or ``auth FAILED: ...`` (exit 1). Bounded to 15 s.
"""

import argparse
import asyncio
import ssl
import sys
from urllib.parse import urlsplit

import txaio

txaio.use_asyncio()

from autobahn.asyncio.rawsocket import WampRawSocketClientFactory  # noqa: E402
from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402
from autobahn.asyncio.websocket import WampWebSocketClientFactory  # noqa: E402
from autobahn.wamp import auth  # noqa: E402
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import ComponentConfig  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--realm", default="realm1")
    ap.add_argument("--serializer", default="json")
    ap.add_argument("--authmethod", required=True)
    ap.add_argument("--authid", required=True)
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--expect", required=True, help="ok, or the ABORT reason expected")
    ap.add_argument("--ca", help="the CA certificate (PEM) to trust for wss:// and rss://")
    a = ap.parse_args()
    with open(a.secret_file) as f:
        secret = f.readline().strip()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    outcome = loop.create_future()

    signer = None
    if a.authmethod == "cryptosign":
        from autobahn.wamp.cryptosign import CryptosignKey

        signer = CryptosignKey.from_bytes(bytes.fromhex(secret))

    class Client(ApplicationSession):
        def onConnect(self):
            extra = {"pubkey": signer.public_key()} if signer else None
            self.join(
                self.config.realm, authmethods=[a.authmethod], authid=a.authid, authextra=extra
            )

        def onChallenge(self, challenge):
            if challenge.method == "ticket":
                return secret
            if challenge.method == "wampcra":
                key = secret
                if "salt" in challenge.extra:
                    key = auth.derive_key(
                        secret,
                        challenge.extra["salt"],
                        challenge.extra["iterations"],
                        challenge.extra["keylen"],
                    )
                return auth.compute_wcs(key, challenge.extra["challenge"])
            if challenge.method == "cryptosign":
                return signer.sign_challenge(challenge)
            raise Exception(f"unexpected challenge {challenge.method}")

        def onJoin(self, details):
            if not outcome.done():
                outcome.set_result(("joined", details))
            self.leave()

        def onLeave(self, details):
            if not outcome.done():
                outcome.set_result(("refused", details.reason))
            self.disconnect()

    serializer = JsonSerializer() if a.serializer == "json" else MsgPackSerializer()
    parts = urlsplit(a.url)
    make = lambda: Client(ComponentConfig(a.realm))  # noqa: E731
    if parts.scheme in ("ws", "wss"):
        factory = WampWebSocketClientFactory(make, url=a.url, serializers=[serializer])
    else:
        factory = WampRawSocketClientFactory(make, serializer=serializer)
    factory.loop = loop
    tls = None
    if parts.scheme in ("wss", "rss"):
        tls = ssl.create_default_context(cafile=a.ca)

    async def run():
        if parts.scheme == "unix":
            await loop.create_unix_connection(factory, parts.path)
        else:
            await loop.create_connection(factory, parts.hostname, parts.port, ssl=tls)
        return await asyncio.wait_for(outcome, 15)

    try:
        kind, value = loop.run_until_complete(run())
    except Exception as e:  # noqa: BLE001
        print(f"auth FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
    if a.expect == "ok":
        ok = kind == "joined" and value.authid == a.authid and value.authmethod == a.authmethod
        got = f"{kind} {getattr(value, 'authid', value)} {getattr(value, 'authmethod', '')}"
    else:
        ok = kind == "refused" and value == a.expect
        got = f"{kind} {value}"
    print(f"auth {'OK' if ok else 'FAILED'}: {a.authmethod} {a.authid} expected {a.expect}, got {got}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
