//! Endpoints over real sockets: TLS (wss://, rss://) with a CA made at test time, the universal
//! transport (RawSocket and WebSocket on one port), and Unix sockets.

mod common;

use common::endpoints::{scratch, start_universal, trusting};
use common::*;
use wamp::transport::tls::test_pki::TestPki;
use wamp::{Dict, Payload, Serializer, Session, SessionOptions, Value};
use wamp_router::Router;
use wamp_router::config::Listen;

/// `session`'s transport details, as `wamp.session.get` tells another session.
async fn transport_details(asker: &Session, session: &Session) -> Dict {
    let got = asker
        .call(
            "wamp.session.get",
            Payload::from_args(vec![session.id().into()]),
            Dict::new(),
        )
        .await
        .expect("wamp.session.get");
    match got.payload.args().expect("decodes").first() {
        Some(Value::Dict(d)) => match d.get("transport") {
            Some(Value::Dict(t)) => t.clone(),
            other => panic!("no transport dict: {other:?}"),
        },
        other => panic!("not a dict: {other:?}"),
    }
}

fn text<'d>(d: &'d Dict, key: &str) -> &'d str {
    d.get(key).and_then(Value::as_str).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_and_rss_on_one_universal_port_and_rawsocket_on_a_unix_socket() {
    let dir = scratch("endpoints-tls");
    let pki = TestPki::create(&dir).expect("test certificates");
    let sock = dir.join("router.sock");
    let router = start_universal(Some(&pki), &sock).await;
    let wss = router.websocket_url().expect("a WebSocket endpoint");
    let rss = router.rawsocket_url().expect("a RawSocket endpoint");
    assert!(
        wss.starts_with("wss://127.0.0.1:") && wss.ends_with("/ws"),
        "{wss}"
    );
    assert!(rss.starts_with("rss://127.0.0.1:"), "{rss}");
    assert_eq!(
        wss.trim_start_matches("wss://").trim_end_matches("/ws"),
        rss.trim_start_matches("rss://"),
        "one port"
    );
    let unix = format!("unix://{}", sock.display());
    let options = |s| trusting(&pki, s);
    let asker = Session::join(&unix, "realm1", options(Serializer::Json))
        .await
        .expect("joins over the Unix socket");
    let by_unix = transport_details(&asker, &asker).await;
    assert_eq!(text(&by_unix, "peer"), "unix");
    assert_eq!(by_unix.get("is_secure"), Some(&Value::Bool(false)));
    for (url, framing) in [(&wss, "websocket"), (&rss, "rawsocket")] {
        for serializer in [Serializer::Json, Serializer::Msgpack] {
            let s = Session::join(url, "realm1", options(serializer))
                .await
                .unwrap_or_else(|e| panic!("joins over {url}: {e}"));
            assert!(s.transport().is_secure);
            let t = transport_details(&asker, &s).await;
            assert_eq!(t.get("is_secure"), Some(&Value::Bool(true)), "{url}");
            assert_eq!(text(&t, "channel_type"), "tls");
            assert_eq!(text(&t, "channel_framing"), framing);
            assert!(text(&t, "peer").starts_with("tcp4:127.0.0.1:"));
            s.leave("wamp.close.normal").await.expect("leaves");
        }
    }
    // Without the CA, the router's certificate is not trusted.
    let untrusted = SessionOptions::default();
    let e = Session::join(&rss, "realm1", untrusted).await.unwrap_err();
    assert!(e.to_string().contains("certificate"), "{e}");
    // Plain RawSocket to the TLS port is no TLS ClientHello: refused, the router unharmed.
    let plain = rss.replace("rss://", "rs://");
    assert!(
        Session::join(&plain, "realm1", options(Serializer::Json))
            .await
            .is_err()
    );
    asker.leave("wamp.close.normal").await.expect("leaves");
    router.shutdown().await;
    assert!(
        !sock.exists(),
        "the Unix socket is removed when the router stops"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_universal_port_tells_rawsocket_from_websocket_and_a_stale_socket_is_replaced() {
    let dir = scratch("endpoints-plain");
    let sock = dir.join("router.sock");
    // A socket file left by a router that is gone.
    drop(std::os::unix::net::UnixListener::bind(&sock).expect("a stale socket"));
    assert!(sock.exists());
    let router = start_universal(None, &sock).await;
    let ws = router.websocket_url().expect("WebSocket");
    let rs = router.rawsocket_url().expect("RawSocket");
    assert_eq!(
        ws.trim_start_matches("ws://").trim_end_matches("/ws"),
        rs.trim_start_matches("rs://"),
        "one port"
    );
    let a = join_url(&ws, "realm1", Serializer::Json)
        .await
        .expect("WebSocket");
    let b = join_url(&rs, "realm1", Serializer::Msgpack)
        .await
        .expect("RawSocket");
    let c = join_url(
        &format!("unix://{}", sock.display()),
        "realm1",
        Serializer::Json,
    )
    .await
    .expect("the Unix socket");
    for (s, framing) in [(&a, "websocket"), (&b, "rawsocket"), (&c, "rawsocket")] {
        let t = transport_details(&a, s).await;
        assert_eq!(text(&t, "channel_framing"), framing);
        assert_eq!(text(&t, "channel_type"), "tcp");
    }
    // A second router cannot take a socket the first one listens on.
    let config = common::default_config();
    let mut t = config.transports[1].clone();
    t.listen = Listen::Unix(sock.clone());
    let mut second = config.clone();
    second.transports = vec![t];
    let e = Router::start(second, test_options()).await.unwrap_err();
    assert!(e.to_string().contains("another process listens"), "{e}");
    for s in [a, b, c] {
        s.leave("wamp.close.normal").await.expect("leaves");
    }
    router.shutdown().await;
}
