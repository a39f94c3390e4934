//! The Prometheus endpoint: a web path of type `metrics` scraped over a plain socket after
//! known traffic.

mod common;

use std::collections::HashMap;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wamp::{Payload, Serializer};
use wamp_router::Router;
use wamp_router::config::{Listen, MetricsPath};

/// A router on the default configuration with `/metrics` on its WebSocket's listener.
async fn start_with_metrics() -> Router {
    start_configured(|c| {
        let listener = c.transports[0].listener;
        c.metrics.push(MetricsPath {
            path: "/metrics".to_owned(),
            listener,
        });
    })
    .await
}

/// Sends `request` (an HTTP request head) to the WebSocket listener; the answer's head and body.
async fn http(router: &Router, request: &str) -> (String, String) {
    http_on(router, request, true).await
}

/// Sends `request` to the WebSocket listener (`ws`) or the RawSocket one.
async fn http_on(router: &Router, request: &str, ws: bool) -> (String, String) {
    let addr = router
        .endpoints()
        .iter()
        .find_map(|e| match (&e.kind, &e.listen) {
            (wamp_router::config::TransportKind::WebSocket { .. }, Listen::Tcp(a)) if ws => {
                Some(*a)
            }
            (wamp_router::config::TransportKind::RawSocket, Listen::Tcp(a)) if !ws => Some(*a),
            _ => None,
        })
        .expect("the listener");
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    s.write_all(request.as_bytes()).await.expect("sends");
    let mut answer = Vec::new();
    within("the answer", s.read_to_end(&mut answer))
        .await
        .expect("reads");
    let answer = String::from_utf8(answer).expect("UTF-8");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    (head.to_owned(), body.to_owned())
}

/// The body of `GET /metrics` in the Prometheus text format 0.0.4 (no `Accept` header, as
/// curl and promtool users fetch it).
async fn scrape_text(router: &Router) -> String {
    let (head, body) = http(router, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    assert!(!body.contains("# EOF"), "{body}");
    assert!(
        body.contains("# TYPE wamp_sessions_joined_total counter"),
        "{body}"
    );
    body
}

/// The body of `GET /metrics` in OpenMetrics, as a Prometheus server asks for it.
async fn scrape(router: &Router) -> String {
    let (head, body) = http(
        router,
        "GET /metrics HTTP/1.1\r\nHost: x\r\n\
         Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(
        head.contains("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{head}"
    );
    body
}

/// Each series (`name{labels}`) with its value.
fn series(body: &str) -> HashMap<String, String> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[tokio::test]
async fn known_traffic_gives_exact_counts() {
    let router = start_with_metrics().await;
    let a = join(&router, Transport::Ws, Serializer::Json).await;
    let b = join(&router, Transport::Rs, Serializer::Msgpack).await;
    for _ in 0..3 {
        a.publish("com.example.t", Payload::empty(), ack())
            .await
            .expect("acknowledged");
    }
    b.leave("wamp.close.normal").await.expect("leaves");
    let mut body = scrape(&router).await;
    for _ in 0..100 {
        if series(&body).get("wamp_sessions{realm=\"realm1\"}") == Some(&"1".to_owned()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        body = scrape(&router).await;
    }
    let s = series(&body);
    let expected = [
        ("wamp_sessions{realm=\"realm1\"}", "1"),
        (
            "wamp_sessions_joined_total{realm=\"realm1\",authrole=\"anonymous\",transport=\"websocket\"}",
            "1",
        ),
        (
            "wamp_sessions_joined_total{realm=\"realm1\",authrole=\"anonymous\",transport=\"rawsocket\"}",
            "1",
        ),
        (
            "wamp_sessions_left_total{realm=\"realm1\",authrole=\"anonymous\",transport=\"rawsocket\"}",
            "1",
        ),
        (
            "wamp_messages_received_total{realm=\"realm1\",type=\"HELLO\"}",
            "2",
        ),
        (
            "wamp_messages_received_total{realm=\"realm1\",type=\"PUBLISH\"}",
            "3",
        ),
        (
            "wamp_messages_received_total{realm=\"realm1\",type=\"GOODBYE\"}",
            "1",
        ),
        (
            "wamp_messages_sent_total{realm=\"realm1\",type=\"WELCOME\"}",
            "2",
        ),
        (
            "wamp_messages_sent_total{realm=\"realm1\",type=\"PUBLISHED\"}",
            "3",
        ),
        (
            "wamp_messages_sent_total{realm=\"realm1\",type=\"GOODBYE\"}",
            "1",
        ),
    ];
    for (name, value) in expected {
        assert_eq!(
            s.get(name).map(String::as_str),
            Some(value),
            "{name} in\n{body}"
        );
    }
    assert!(
        !s.keys()
            .any(|k| k.starts_with("wamp_sessions_left_total")
                && k.contains("transport=\"websocket\"")),
        "{body}"
    );
    for name in ["wamp_bytes_received_total", "wamp_bytes_sent_total"] {
        let v: u64 = s[&format!("{name}{{realm=\"realm1\"}}")]
            .parse()
            .expect("a number");
        assert!(v > 3 * 10, "{name} is {v}");
    }
    for name in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(s.contains_key(name), "{name} in\n{body}");
    }
    assert!(body.ends_with("# EOF\n"), "{body}");
    promtool_check(&scrape_text(&router).await);
    drop(a);
}

/// `promtool check metrics` on `body`, when promtool is installed.
fn promtool_check(body: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        println!("promtool is not on PATH: the exposition format was not checked by it");
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("writes");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn other_methods_are_not_allowed_and_websocket_still_works() {
    let router = start_with_metrics().await;
    let (head, body) = http(
        &router,
        "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 405 "), "{head}");
    assert!(head.contains("Allow: GET, HEAD"), "{head}");
    assert!(body.is_empty());
    let (head, body) = http(&router, "HEAD /metrics?x=1 HTTP/1.1\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(body.is_empty());
    // The WebSocket path on the same port is served as before.
    let s = join(&router, Transport::Ws, Serializer::Cbor).await;
    s.leave("wamp.close.normal").await.expect("leaves");
}

#[tokio::test]
async fn without_a_metrics_path_there_is_no_endpoint() {
    let router = start().await;
    let (head, _) = http(
        &router,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
}

/// A metrics path on a socket that serves only RawSocket: HTTP is told apart by its first byte.
#[tokio::test]
async fn a_rawsocket_listener_can_serve_metrics_too() {
    let router = start_configured(|c| {
        let listener = c.transports[1].listener;
        c.metrics.push(MetricsPath {
            path: "/metrics".to_owned(),
            listener,
        });
    })
    .await;
    let (head, body) = http_on(&router, "GET /metrics HTTP/1.1\r\n\r\n", false).await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(body.contains("wamp_sessions{realm=\"realm1\"} 0"), "{body}");
    let s = join(&router, Transport::Rs, Serializer::Json).await;
    s.leave("wamp.close.normal").await.expect("leaves");
}
