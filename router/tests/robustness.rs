//! Bad input gets a precise error and loses nothing; slow peers never slow others down.

mod common;

use bytes::Bytes;
use common::*;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wamp::client::{ClientError, Closed};
use wamp::message::code;
use wamp::transport::rawsocket;
use wamp::{Dict, Message, Payload, Serializer, Value, dict};
use wamp_router::LIMIT_EXCEEDED;
use wamp_router::RouterOptions;
use wamp_router::config::{Allow, Permission, UriCheck};

/// A publisher/subscriber pair that must keep working while another session misbehaves.
async fn bystanders_still_work(router: &wamp_router::Router) {
    let a = join(router, Transport::Ws, Serializer::Json).await;
    let b = join(router, Transport::Rs, Serializer::Msgpack).await;
    let mut s = subscribe(&b, "com.alive", Dict::new()).await;
    a.publish("com.alive", Payload::from_args(vec![1.into()]), ack())
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut s).await.payload.args().unwrap(),
        vec![Value::Int(1)]
    );
}

/// The host:port of the router's RawSocket listener.
fn rawsocket_addr(router: &wamp_router::Router) -> String {
    url(router, Transport::Rs)
        .trim_start_matches("rs://")
        .to_owned()
}

/// A TCP connection to `addr` that asked for JSON and 16 MiB messages: the connection and the
/// router's 4-byte handshake reply.
async fn json_handshake(addr: &str) -> (TcpStream, [u8; 4]) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&[0x7F, 0xF1, 0, 0]).await.unwrap();
    let mut reply = [0u8; 4];
    within("the handshake reply", s.read_exact(&mut reply))
        .await
        .unwrap();
    (s, reply)
}

#[tokio::test]
async fn malformed_frames_abort_only_their_session() {
    let router = start().await;
    let a = join(&router, Transport::Ws, Serializer::Json).await;
    let mut s = subscribe(&a, "com.alive", Dict::new()).await;
    let cases: [(Serializer, &[u8]); 9] = [
        (Serializer::Json, b"[16, 1, {}"),
        (Serializer::Json, b"{\"not\": \"an array\"}"),
        (Serializer::Json, b"[999, 1, 2]"),
        (Serializer::Json, b"[16, 0, {}, \"com.t\"]"),
        (Serializer::Msgpack, &[0x94, 16, 1, 0x80, 0xc1]),
        (Serializer::Msgpack, &[0x93, 36, 1, 1]),
        // CBOR: PUBLISH whose Options has an integer key; a reserved byte; cut short.
        (
            Serializer::Cbor,
            &[0x84, 16, 1, 0xa1, 1, 1, 0x65, b'c', b'o', b'm', b'.', b't'],
        ),
        (Serializer::Cbor, &[0x83, 0x01, 0x1c, 0xa0]),
        (Serializer::Cbor, &[0x9f, 0x10, 0x01]),
    ];
    for (transport, (ser, bytes)) in [Transport::Rs, Transport::Ws]
        .into_iter()
        .flat_map(|t| cases.map(|c| (t, c)))
    {
        let (mut raw, _) = Raw::join(&url(&router, transport), ser).await;
        raw.send_bytes(Bytes::from_static(bytes)).await;
        raw.expect_abort("wamp.error.protocol_violation").await;
        a.publish("com.alive", Payload::empty(), dict! {"exclude_me" => false})
            .await
            .unwrap();
        next_event(&mut s).await;
    }
    bystanders_still_work(&router).await;
    router.shutdown().await;
}

#[tokio::test]
async fn router_to_client_messages_from_a_client_are_violations() {
    let router = start().await;
    let (mut raw, _) = Raw::join(&url(&router, Transport::Rs), Serializer::Json).await;
    raw.send(&Message::Published {
        request: 1,
        publication: 2,
    })
    .await;
    raw.expect_abort("wamp.error.protocol_violation").await;
    let mut raw = Raw::connect(&url(&router, Transport::Rs), Serializer::Json).await;
    raw.send(&Message::Publish {
        request: 1,
        options: Dict::new(),
        topic: "com.t".into(),
        payload: Payload::empty(),
    })
    .await;
    raw.expect_abort("wamp.error.protocol_violation").await;
    router.shutdown().await;
}

#[tokio::test]
async fn unknown_realm_is_refused_with_no_such_realm() {
    let router = start().await;
    let e = join_url(&url(&router, Transport::Ws), "nowhere", Serializer::Json)
        .await
        .unwrap_err();
    match e {
        ClientError::Aborted { reason, message } => {
            assert_eq!(reason, "wamp.error.no_such_realm");
            assert!(message.contains("nowhere"), "{message}");
        }
        other => panic!("expected ABORT, got {other}"),
    }
    router.shutdown().await;
}

#[tokio::test]
async fn invalid_uris_get_invalid_uri_errors() {
    let router = start().await;
    let (mut raw, _) = Raw::join(&url(&router, Transport::Rs), Serializer::Json).await;
    let cases: [(&[u8], u64, wamp::Id); 2] = [
        (br#"[32, 5, {}, "com..bad"]"#, code::SUBSCRIBE, 5),
        (br#"[48, 6, {}, "com. bad"]"#, code::CALL, 6),
    ];
    for (frame, request_type, request) in cases {
        raw.send_bytes(Bytes::from_static(frame)).await;
        let (t, r, error, _) = raw.expect_error().await;
        assert_eq!(
            (t, r, error.as_str()),
            (request_type, request, "wamp.error.invalid_uri")
        );
    }
    drop(raw);
    router.shutdown().await;
}

#[tokio::test]
async fn strict_realms_refuse_loose_uris() {
    let router = start_configured(|config| config.realms[0].uri_check = UriCheck::Strict).await;
    let a = join(&router, Transport::Ws, Serializer::Json).await;
    assert_wamp_error(
        a.subscribe("com.Example", Dict::new()).await,
        "wamp.error.invalid_uri",
    );
    subscribe(&a, "com.example", Dict::new()).await;
    router.shutdown().await;
}

#[tokio::test]
async fn role_permissions_deny_with_not_authorized() {
    let router = start_configured(|config| {
        let role = &mut config.realms[0].roles[0];
        role.permissions[0].allow = Allow {
            call: false,
            register: false,
            publish: false,
            subscribe: true,
        };
        role.permissions.push(Permission {
            uri: "com.open.".into(),
            match_policy: wamp::MatchPolicy::Prefix,
            allow: Allow {
                call: true,
                register: true,
                publish: true,
                subscribe: true,
            },
            disclose: Default::default(),
        });
    })
    .await;
    let a = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let not_authorized = "wamp.error.not_authorized";
    let publish = a.publish("com.closed", Payload::empty(), ack()).await;
    assert_wamp_error(publish, not_authorized);
    assert_wamp_error(call(&a, "com.closed").await, not_authorized);
    assert_wamp_error(a.register("com.closed", Dict::new()).await, not_authorized);
    subscribe(&a, "com.closed", Dict::new()).await;
    register(&a, "com.open.p", Dict::new()).await;
    a.publish("com.open.t", Payload::empty(), ack())
        .await
        .unwrap();
    // Not publisher-disclosing: the new permission says so.
    router.shutdown().await;
}

#[tokio::test]
async fn rawsocket_handshake_errors_follow_the_spec() {
    let router =
        start_configured(|config| config.transports[1].serializers = vec![Serializer::Json]).await;
    let addr = rawsocket_addr(&router);
    async fn exchange(addr: &str, hello: [u8; 4]) -> Vec<u8> {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&hello).await.unwrap();
        let mut reply = Vec::new();
        within("the handshake reply", s.read_to_end(&mut reply))
            .await
            .unwrap();
        reply
    }
    // msgpack (2) is not enabled on this transport: error 1, serializer unsupported.
    assert_eq!(
        exchange(&addr, [0x7F, 0xF2, 0, 0]).await,
        [0x7F, 0x10, 0, 0]
    );
    // Nor is CBOR (3).
    assert_eq!(
        exchange(&addr, [0x7F, 0xF3, 0, 0]).await,
        [0x7F, 0x10, 0, 0]
    );
    // Unknown serializer id.
    assert_eq!(
        exchange(&addr, [0x7F, 0xF9, 0, 0]).await,
        [0x7F, 0x10, 0, 0]
    );
    // Reserved octets set: error 3.
    assert_eq!(
        exchange(&addr, [0x7F, 0xF1, 1, 0]).await,
        [0x7F, 0x30, 0, 0]
    );
    // Not RawSocket at all: the connection is closed without a reply.
    assert_eq!(exchange(&addr, *b"GET ").await, Vec::<u8>::new());
    // A good handshake: the router announces 1 MiB (exponent 11) and echoes JSON.
    let (_, reply) = json_handshake(&addr).await;
    assert_eq!(
        reply,
        [0x7F, (rawsocket::length_exponent(1 << 20) << 4) | 1, 0, 0]
    );
    router.shutdown().await;
}

#[tokio::test]
async fn rawsocket_ping_gets_pong_and_oversize_frames_abort() {
    let router = start().await;
    let (mut s, _) = json_handshake(&rawsocket_addr(&router)).await;
    s.write_all(&[1, 0, 0, 3, b'a', b'b', b'c']).await.unwrap();
    let mut pong = [0u8; 7];
    within("the pong", s.read_exact(&mut pong)).await.unwrap();
    assert_eq!(pong, [2, 0, 0, 3, b'a', b'b', b'c']);
    // A frame announcing 2 MiB against a 1 MiB limit: ABORT, then close.
    s.write_all(&[0, 0x20, 0, 0]).await.unwrap();
    let mut rest = Vec::new();
    within("the close", s.read_to_end(&mut rest)).await.unwrap();
    let len = usize::from(rest[3]) | usize::from(rest[2]) << 8 | usize::from(rest[1]) << 16;
    let abort = wamp::decode(Serializer::Json, &Bytes::copy_from_slice(&rest[4..4 + len])).unwrap();
    assert!(
        matches!(abort, Message::Abort { ref reason, .. } if reason == "wamp.error.protocol_violation"),
        "{abort:?}"
    );
    router.shutdown().await;
}

#[tokio::test]
async fn websocket_refuses_unknown_subprotocols_and_paths_with_http_errors() {
    let router = start().await;
    let addr = url(&router, Transport::Ws)
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    let r = upgrade(&addr, "/ws", "wamp.2.ubjson", None).await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    assert!(
        r.contains("wamp.2.json, wamp.2.msgpack, wamp.2.cbor"),
        "{r}"
    );
    let r = upgrade(&addr, "/other", "wamp.2.json", None).await;
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    router.shutdown().await;
}

/// An upgrade request for `path` offering `protocol`, from a page at `origin` if given; the
/// router's whole answer (the upgrade's, or an HTTP error).
async fn upgrade(addr: &str, path: &str, protocol: &str, origin: Option<&str>) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: {protocol}\r\n{origin}\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = vec![0u8; 4096];
    let n = within("the HTTP response", s.read(&mut resp))
        .await
        .unwrap();
    String::from_utf8_lossy(&resp[..n]).into_owned()
}

/// The embedded default lets pages from this machine (and non-browser clients, which send no
/// Origin) open a WebSocket, and refuses any other web page with 403 before any WAMP.
#[tokio::test]
async fn the_default_websocket_refuses_foreign_web_pages() {
    let router = start().await;
    let addr = url(&router, Transport::Ws)
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    for origin in [
        None,
        Some("http://localhost:3000"),
        Some("http://127.0.0.1"),
    ] {
        let r = upgrade(&addr, "/ws", "wamp.2.json", origin).await;
        assert!(r.starts_with("HTTP/1.1 101"), "{origin:?}: {r}");
    }
    for origin in [
        "https://evil.example",
        "http://localhost.evil.example",
        "null",
    ] {
        let r = upgrade(&addr, "/ws", "wamp.2.json", Some(origin)).await;
        assert!(r.starts_with("HTTP/1.1 403"), "{origin}: {r}");
        assert!(r.contains("not allowed"), "{origin}: {r}");
    }
    bystanders_still_work(&router).await;
    router.shutdown().await;
}

#[tokio::test]
async fn oversize_websocket_messages_abort_the_session() {
    let router = start().await;
    let (mut raw, _) = Raw::join(&url(&router, Transport::Ws), Serializer::Json).await;
    let big = format!("[16, 1, {{}}, \"com.t\", [\"{}\"]]", "x".repeat(2 << 20));
    raw.send_bytes(Bytes::from(big)).await;
    raw.expect_abort("wamp.error.protocol_violation").await;
    bystanders_still_work(&router).await;
    router.shutdown().await;
}

#[tokio::test]
async fn a_slow_consumer_is_closed_while_a_fast_one_receives_everything() {
    const QUEUE: usize = 64;
    const EVENTS: usize = 20_000;
    const WINDOW: usize = QUEUE / 2;
    let router = start_with_options(RouterOptions {
        outbound_queue: QUEUE,
        ..test_options()
    })
    .await;
    let rs = url(&router, Transport::Rs);
    // The slow consumer subscribes and then never reads its socket again.
    let (mut slow, slow_id) = Raw::join(&rs, Serializer::Msgpack).await;
    slow.send(&Message::Subscribe {
        request: 1,
        options: Dict::new(),
        topic: "com.flood".into(),
    })
    .await;
    assert!(matches!(
        slow.recv().await,
        Some(Message::Subscribed { .. })
    ));
    let fast = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let mut events = subscribe(&fast, "com.flood", Dict::new()).await;
    let publisher = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let payload = Payload::from_args(vec![Value::Bytes(vec![7; 1024])]);
    let mut received = 0;
    for sent in 1..=EVENTS {
        publisher
            .publish("com.flood", payload.clone(), Dict::new())
            .await
            .unwrap();
        // Keep the fast consumer within its queue: never more than WINDOW events in flight.
        while sent - received >= WINDOW {
            next_event(&mut events).await;
            received += 1;
        }
    }
    while received < EVENTS {
        next_event(&mut events).await;
        received += 1;
    }
    assert_eq!(received, EVENTS);
    // Its connection ends after whatever the kernel had buffered.
    let drained = within("the slow consumer's connection to close", async {
        let mut n = 0usize;
        while slow.reader.next().await.is_some_and(|r| r.is_ok()) {
            n += 1;
        }
        n
    })
    .await;
    assert!(
        drained < EVENTS,
        "the slow consumer got {drained} of {EVENTS} events"
    );
    // The router closes the socket only after the session was detached from the realm.
    assert!(
        !router.is_joined("realm1", slow_id),
        "the slow consumer was closed"
    );
    router.shutdown().await;
}

#[tokio::test]
async fn shutdown_says_goodbye_to_every_session() {
    let router = start().await;
    let a = join(&router, Transport::Ws, Serializer::Json).await;
    let b = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let shutdown = tokio::spawn(router.shutdown());
    for s in [&a, &b] {
        assert_eq!(
            within("the GOODBYE", s.closed()).await,
            Closed::Goodbye("wamp.close.system_shutdown".into())
        );
    }
    within("the shutdown", shutdown).await.unwrap();
}

#[tokio::test]
async fn a_session_cannot_hold_more_subscriptions_or_registrations_than_allowed() {
    let options = RouterOptions {
        max_subscriptions: 3,
        max_registrations: 2,
        ..test_options()
    };
    let router = start_with_options(options).await;
    let a = join(&router, Transport::Rs, Serializer::Json).await;
    let mut subs = Vec::new();
    for t in ["com.a", "com.b", "com.c"] {
        subs.push(subscribe(&a, t, Dict::new()).await);
    }
    assert_wamp_error(a.subscribe("com.d", Dict::new()).await, LIMIT_EXCEEDED);
    // Subscribing again to what it holds is not a new subscription.
    subscribe(&a, "com.a", Dict::new()).await;
    a.unsubscribe(subs[1].id).await.unwrap();
    subscribe(&a, "com.d", Dict::new()).await;
    let r1 = register(&a, "com.p1", Dict::new()).await;
    register(&a, "com.p2", Dict::new()).await;
    assert_wamp_error(a.register("com.p3", Dict::new()).await, LIMIT_EXCEEDED);
    a.unregister(r1.id).await.unwrap();
    register(&a, "com.p3", Dict::new()).await;
    // Another session has its own allowance.
    let b = join(&router, Transport::Ws, Serializer::Msgpack).await;
    subscribe(&b, "com.x", Dict::new()).await;
    router.shutdown().await;
}

#[tokio::test]
async fn a_session_cannot_have_more_calls_in_progress_than_allowed() {
    let options = RouterOptions {
        max_pending_calls: 2,
        ..test_options()
    };
    let router = start_with_options(options).await;
    let callee = join(&router, Transport::Rs, Serializer::Json).await;
    let mut reg = register(&callee, "com.hold", Dict::new()).await;
    let caller = Arc::new(join(&router, Transport::Rs, Serializer::Json).await);
    let calls = [(); 2].map(|_| spawn_call(Arc::clone(&caller), "com.hold"));
    let first = next_invocation(&mut reg).await;
    let second = next_invocation(&mut reg).await;
    assert_wamp_error(call(&caller, "com.hold").await, LIMIT_EXCEEDED);
    first.reply(Ok(Payload::empty())).await.unwrap();
    second.reply(Ok(Payload::empty())).await.unwrap();
    for c in calls {
        within("the calls", c).await.unwrap().unwrap();
    }
    // With the two answered, calling works again.
    let again = spawn_call(Arc::clone(&caller), "com.hold");
    let inv = next_invocation(&mut reg).await;
    inv.reply(Ok(Payload::empty())).await.unwrap();
    within("the call", again).await.unwrap().unwrap();
    router.shutdown().await;
}

/// A frame that stops arriving half-way ends its session (ABORT, then close) once it has not
/// grown for the frame timeout, before and after HELLO; bystanders go on.
#[tokio::test]
async fn a_frame_that_stops_arriving_half_way_times_out() {
    let options = RouterOptions {
        frame_timeout: std::time::Duration::from_millis(200),
        ..test_options()
    };
    let router = start_with_options(options).await;
    let addr = rawsocket_addr(&router);
    // Before HELLO: a frame header announcing 1000 bytes, then 10 of them.
    let (mut s, _) = json_handshake(&addr).await;
    s.write_all(&[0, 0, 0x03, 0xE8]).await.unwrap();
    s.write_all(&[b'x'; 10]).await.unwrap();
    let mut rest = Vec::new();
    within("the close", s.read_to_end(&mut rest)).await.unwrap();
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.contains("wamp.error.protocol_violation") && text.contains("half-way"),
        "{text:?}"
    );
    // After HELLO, the same.
    let (mut s, _) = json_handshake(&addr).await;
    let hello = br#"[1,"realm1",{"roles":{"caller":{}}}]"#;
    let mut frame = vec![0, 0, 0, hello.len() as u8];
    frame.extend_from_slice(hello);
    s.write_all(&frame).await.unwrap();
    s.write_all(&[0, 0, 0x03, 0xE8, b'[']).await.unwrap();
    let mut rest = Vec::new();
    within("the close", s.read_to_end(&mut rest)).await.unwrap();
    let text = String::from_utf8_lossy(&rest);
    assert!(text.contains("[2,"), "WELCOME first: {text:?}");
    assert!(text.contains("half-way"), "{text:?}");
    // WebSocket, before and after HELLO: a frame header announcing 1000 bytes, then a few;
    // the ABORT comes within the frame timeout, long before the keepalive would close it.
    let ws_addr = url(&router, Transport::Ws)
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    for hello_first in [false, true] {
        let mut s = common::chaos::ws_upgraded(&ws_addr).await;
        if hello_first {
            s.write_all(&common::chaos::ws_frame(hello)).await.unwrap();
        }
        let mut stalled = common::chaos::ws_header(1000);
        stalled.extend_from_slice(b"[16,");
        s.write_all(&stalled).await.unwrap();
        let started = std::time::Instant::now();
        let mut rest = Vec::new();
        within("the close", s.read_to_end(&mut rest)).await.unwrap();
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.contains("wamp.error.protocol_violation") && text.contains("half-way"),
            "WebSocket, HELLO first: {hello_first}: {text:?}"
        );
        assert_eq!(text.contains("[2,"), hello_first, "{text:?}");
        assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    }
    // Whole frames sent slowly, byte by byte, are no stall.
    let mut s = common::chaos::ws_upgraded(&ws_addr).await;
    let frame = common::chaos::ws_frame(hello);
    for b in &frame {
        s.write_all(&[*b]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let welcome = common::chaos::ws_read_frame(&mut s).await;
    assert!(
        welcome.starts_with(b"[2,"),
        "{:?}",
        String::from_utf8_lossy(&welcome)
    );
    bystanders_still_work(&router).await;
    router.shutdown().await;
}

/// Beyond `max_connections` on a listener, a connection is refused at once (RawSocket's error 4,
/// HTTP 503 on WebSocket); once one closes, there is room again.
#[tokio::test]
async fn connections_beyond_the_limit_are_refused_at_once() {
    let options = RouterOptions {
        max_connections: 2,
        ..test_options()
    };
    let router = start_with_options(options).await;
    let a = join(&router, Transport::Rs, Serializer::Json).await;
    let b = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let (_s, reply) = json_handshake(&rawsocket_addr(&router)).await;
    assert_eq!(
        reply,
        [0x7F, 0x40, 0, 0],
        "maximum connection count reached"
    );
    let e = join_url(&url(&router, Transport::Rs), "realm1", Serializer::Json)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("connection count"), "{e}");
    // The WebSocket listener has its own allowance; at its limit it answers 503.
    let ws = join(&router, Transport::Ws, Serializer::Json).await;
    let ws2 = join(&router, Transport::Ws, Serializer::Json).await;
    let host = url(&router, Transport::Ws)
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned();
    let mut s = TcpStream::connect(&host).await.unwrap();
    s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    within("the 503", s.read_to_end(&mut answer)).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 503"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    // One leaves: a new session gets in (its task ends just after its GOODBYE: a few tries).
    a.leave("wamp.close.normal").await.unwrap();
    let mut again = None;
    for _ in 0..100 {
        if let Ok(s) = join_url(&url(&router, Transport::Rs), "realm1", Serializer::Json).await {
            again = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(again.is_some(), "room again after one left");
    drop((b, ws, ws2, again));
    router.shutdown().await;
}

/// The router asks the kernel for TCP keepalive on every connection it accepts: on Linux, the
/// server side of an idle session shows the keepalive timer (`tr` 2 in /proc/net/tcp).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn accepted_connections_have_tcp_keepalive() {
    let router = start().await;
    let mut raw = TcpStream::connect(rawsocket_addr(&router)).await.unwrap();
    raw.write_all(&[0x7F, 0xF1, 0, 0]).await.unwrap();
    let mut reply = [0u8; 4];
    within("the handshake", raw.read_exact(&mut reply))
        .await
        .unwrap();
    let (server, client) = (
        raw.peer_addr().unwrap().port(),
        raw.local_addr().unwrap().port(),
    );
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    // Columns: sl local_address rem_address st tx:rx tr:when ...; ports in hex.
    let ours = table.lines().skip(1).find(|l| {
        let c: Vec<&str> = l.split_whitespace().collect();
        c.len() > 5
            && c[1].ends_with(&format!(":{server:04X}"))
            && c[2].ends_with(&format!(":{client:04X}"))
    });
    let line = ours.expect("the router's side of the connection");
    let timer = line.split_whitespace().nth(5).expect("tr:when");
    assert!(timer.starts_with("02:"), "keepalive timer expected: {line}");
    router.shutdown().await;
}
