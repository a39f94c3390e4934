//! The Prometheus endpoint: a web path of type `metrics` scraped over a plain socket after
//! known traffic.
#![allow(clippy::result_large_err)] // the closures given to `serve`, as in rpc.rs

mod common;

use common::scrape::*;
use common::*;
use wamp::auth::{Credentials, Login};
use wamp::{Dict, Payload, Serializer, Session, SessionOptions, Value};
use wamp_router::Router;
use wamp_router::config::MetricsPath;

/// A router on the default configuration with `/metrics` on its WebSocket's listener.
async fn start_with_metrics() -> Router {
    start_configured(add_metrics_path).await
}

#[tokio::test]
async fn known_traffic_gives_exact_counts() {
    let router = start_with_metrics().await;
    let w = join(&router, Transport::Ws, Serializer::Cbor).await;
    let mut leaves = subscribe(&w, "wamp.session.on_leave", Dict::new()).await;
    let a = join(&router, Transport::Ws, Serializer::Json).await;
    let b = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let _t = subscribe(&b, "com.example.t", Dict::new()).await;
    for _ in 0..3 {
        a.publish("com.example.t", Payload::empty(), ack())
            .await
            .expect("acknowledged");
    }
    b.leave("wamp.close.normal").await.expect("leaves");
    // The router counts a leaving session before it publishes on_leave.
    next_event(&mut leaves).await;
    let body = scrape(&router).await;
    let s = series(&body);
    let expected = [
        ("wamp_sessions{realm=\"realm1\"}", "2"),
        (
            "wamp_sessions_joined_total{realm=\"realm1\",authrole=\"anonymous\",transport=\"websocket\"}",
            "2",
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
            "3",
        ),
        (
            "wamp_messages_received_total{realm=\"realm1\",type=\"SUBSCRIBE\"}",
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
            "3",
        ),
        (
            "wamp_messages_sent_total{realm=\"realm1\",type=\"PUBLISHED\"}",
            "3",
        ),
        (
            "wamp_messages_sent_total{realm=\"realm1\",type=\"EVENT\"}",
            "4",
        ),
        (
            "wamp_messages_sent_total{realm=\"realm1\",type=\"GOODBYE\"}",
            "1",
        ),
        (
            "wamp_publications_total{realm=\"realm1\",topic=\"com.example.t\"}",
            "3",
        ),
        (
            "wamp_publications_total{realm=\"realm1\",topic=\"other\"}",
            "0",
        ),
        // Three to b, one on_leave to w.
        ("wamp_events_delivered_total{realm=\"realm1\"}", "4"),
        ("wamp_events_dropped_total{realm=\"realm1\"}", "0"),
        ("wamp_slow_consumers_closed_total{realm=\"realm1\"}", "0"),
        // w and a, sampled at the scrape: nothing queued.
        ("wamp_outbound_queue_depth_count{realm=\"realm1\"}", "2"),
        (
            "wamp_outbound_queue_depth_bucket{le=\"0.0\",realm=\"realm1\"}",
            "2",
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

#[tokio::test]
async fn calls_errors_and_their_durations_are_counted_by_procedure_and_uri() {
    let router = start_with_metrics().await;
    let callee = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let add = register(&callee, "com.example.add", Dict::new()).await;
    serve(add, |args| {
        let sum: i64 = args.iter().filter_map(Value::as_i64).sum();
        Ok(Payload::from_args(vec![sum.into()]))
    });
    let fail = register(&callee, "com.example.fail", Dict::new()).await;
    serve(fail, |_| {
        Err(wamp::client::WampError::new("com.example.oops"))
    });
    let caller = join(&router, Transport::Ws, Serializer::Json).await;
    for i in 0..5_i64 {
        let r = caller
            .call(
                "com.example.add",
                Payload::from_args(vec![i.into(), 1.into()]),
                Dict::new(),
            )
            .await
            .expect("a result");
        assert_eq!(r.payload.args().ok(), Some(vec![(i + 1).into()]));
    }
    for _ in 0..2 {
        assert_wamp_error(call(&caller, "com.example.fail").await, "com.example.oops");
    }
    assert_wamp_error(
        call(&caller, "com.example.nobody").await,
        "wamp.error.no_such_procedure",
    );
    let body = scrape(&router).await;
    let s = series(&body);
    let r = "realm=\"realm1\"";
    for (name, expected) in [
        (
            format!("wamp_calls_total{{{r},procedure=\"com.example.add\"}}"),
            5.0,
        ),
        (
            format!("wamp_calls_total{{{r},procedure=\"com.example.fail\"}}"),
            2.0,
        ),
        // Not routed: an error, not a call (and not a label the caller can choose).
        (
            format!("wamp_calls_total{{{r},procedure=\"com.example.nobody\"}}"),
            0.0,
        ),
        (
            format!("wamp_call_duration_seconds_count{{{r},procedure=\"com.example.add\"}}"),
            5.0,
        ),
        (
            format!(
                "wamp_call_duration_seconds_bucket{{le=\"+Inf\",{r},procedure=\"com.example.add\"}}"
            ),
            5.0,
        ),
        (
            format!("wamp_call_duration_seconds_count{{{r},procedure=\"com.example.fail\"}}"),
            2.0,
        ),
        (
            format!("wamp_errors_total{{{r},error=\"com.example.oops\"}}"),
            2.0,
        ),
        (
            format!("wamp_errors_total{{{r},error=\"wamp.error.no_such_procedure\"}}"),
            1.0,
        ),
        (
            format!("wamp_messages_sent_total{{{r},type=\"RESULT\"}}"),
            5.0,
        ),
        (
            format!("wamp_messages_sent_total{{{r},type=\"INVOCATION\"}}"),
            7.0,
        ),
    ] {
        assert_eq!(value(&s, &name), expected, "{name} in\n{body}");
    }
    // Durations are real: positive, and no longer than the test took.
    let sum = value(
        &s,
        &format!("wamp_call_duration_seconds_sum{{{r},procedure=\"com.example.add\"}}"),
    );
    assert!(sum > 0.0 && sum < 30.0, "{sum}");
    promtool_check(&scrape_text(&router).await);
}

#[tokio::test]
async fn uris_beyond_the_realms_cap_are_counted_as_other() {
    let router = start_configured(|c| {
        c.realms[0].max_metric_uris = 2;
        add_metrics_path(c);
    })
    .await;
    let a = join(&router, Transport::Ws, Serializer::Json).await;
    for topic in ["t.one", "t.two", "t.three", "t.one", "t.four", "t.five"] {
        a.publish(topic, Payload::empty(), ack())
            .await
            .expect("acknowledged");
    }
    let body = scrape(&router).await;
    let s = series(&body);
    let topics: Vec<(&str, &str)> = s
        .iter()
        .filter_map(|(k, v)| {
            let topic = k
                .strip_prefix("wamp_publications_total{realm=\"realm1\",topic=\"")?
                .strip_suffix("\"}")?;
            Some((topic, v.as_str()))
        })
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect();
    assert_eq!(
        topics,
        [("other", "3"), ("t.one", "2"), ("t.two", "1")],
        "{body}"
    );
    promtool_check(&scrape_text(&router).await);
}

#[tokio::test]
async fn authentication_failures_are_counted_by_method() {
    let router = start_with_metrics().await;
    let refused = Session::join(
        &url(&router, Transport::Ws),
        "realm1",
        SessionOptions {
            login: Login {
                authid: Some("operator".into()),
                credentials: Credentials::Ticket("not the ticket".into()),
            },
            ..SessionOptions::default()
        },
    )
    .await;
    assert!(refused.is_err(), "a wrong ticket joins");
    let _operator = join_operator(&router, Transport::Ws).await;
    let s = series(&scrape(&router).await);
    assert_eq!(
        value(
            &s,
            "wamp_auth_failures_total{realm=\"realm1\",authmethod=\"ticket\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "wamp_sessions_joined_total{realm=\"realm1\",authrole=\"operator\",transport=\"websocket\"}"
        ),
        1.0
    );
}
