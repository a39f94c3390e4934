//! Scraping a router's Prometheus endpoint in tests: plain HTTP over loopback, the series
//! parsed, and the text checked by `promtool` where it is installed.

use std::collections::HashMap;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wamp_router::Router;
use wamp_router::config::{Config, Listen, MetricsPath, TransportKind};

use super::within;

/// Serves `/metrics` on the listener of `config`'s first transport (the WebSocket one in
/// [`super::default_config`]).
pub fn add_metrics_path(config: &mut Config) {
    let listener = config.transports[0].listener;
    config.metrics.push(MetricsPath {
        path: "/metrics".to_owned(),
        listener,
    });
}

/// Sends `request` (an HTTP request head) to the WebSocket listener; the answer's head and body.
pub async fn http(router: &Router, request: &str) -> (String, String) {
    http_on(router, request, true).await
}

/// The TCP address of the WebSocket listener (`ws`) or the RawSocket one.
pub fn listener_addr(router: &Router, ws: bool) -> SocketAddr {
    router
        .endpoints()
        .iter()
        .find_map(|e| match (&e.kind, &e.listen) {
            (TransportKind::WebSocket { .. }, Listen::Tcp(a)) if ws => Some(*a),
            (TransportKind::RawSocket, Listen::Tcp(a)) if !ws => Some(*a),
            _ => None,
        })
        .expect("the listener")
}

/// Sends `request` to the WebSocket listener (`ws`) or the RawSocket one.
pub async fn http_on(router: &Router, request: &str, ws: bool) -> (String, String) {
    let addr = listener_addr(router, ws);
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
pub async fn scrape_text(router: &Router) -> String {
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
pub async fn scrape(router: &Router) -> String {
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
pub fn series(body: &str) -> HashMap<String, String> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The value of series `name` in `s`, as a number (0 when absent).
pub fn value(s: &HashMap<String, String>, name: &str) -> f64 {
    s.get(name).map_or(0.0, |v| v.parse().expect("a number"))
}

/// `promtool check metrics` on `body`, when promtool is installed.
pub fn promtool_check(body: &str) {
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
