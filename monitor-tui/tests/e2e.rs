//! The monitor against the real router and real client traffic on 127.0.0.1: its model shows
//! every session with exactly the message totals the clients exchanged.

mod common;

use common::router;
use std::time::Duration;

use tokio::sync::mpsc;
use wamp::{Dict, Payload, Serializer, Session, SessionOptions, dict};
use wamp_monitor::feed::{self, FeedConfig, FeedItem, Routed};
use wamp_monitor::model::{Key, MetaEvent, Model};

/// Applies feed items to the model until `done` holds (bounded by 10 s); returns how many of
/// them were typed stats events.
async fn follow_until(
    rx: &mut mpsc::Receiver<Routed>,
    model: &mut Model,
    done: impl Fn(&Model) -> bool,
) -> usize {
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut typed = 0;
        while !done(model) {
            let (router, item) = rx.recv().await.expect("the feed runs");
            typed += usize::from(matches!(item, FeedItem::Stats { .. }));
            if let Some(ev) = item.into_meta() {
                model.apply_from(router, ev, 0.0);
            }
        }
        typed
    })
    .await
    .expect("the monitor saw it in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_shows_what_the_clients_exchanged() {
    shows_what_the_clients_exchanged(false).await;
}

/// The same with the dashboard's fast path: on_stats decoded straight into its typed form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_stats_path_shows_the_same_totals() {
    shows_what_the_clients_exchanged(true).await;
}

async fn shows_what_the_clients_exchanged(typed_stats: bool) {
    let router = router().await;
    let ws = router.websocket_url().unwrap();
    let rs = router.rawsocket_url().unwrap();
    // A session that is there before the monitor: it comes from the snapshot.
    let early = Session::join(
        &rs,
        "realm1",
        SessionOptions {
            serializer: Serializer::Msgpack,
            rated_message_size: 256,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (tx, mut rx) = mpsc::channel(4096);
    let (_kill, kills) = mpsc::channel(1);
    let config = FeedConfig {
        name: "r".into(),
        url: ws.clone(),
        realm: "realm1".into(),
        serializer: Serializer::Json,
        login: Default::default(),
        trust: Default::default(),
        typed_stats,
    };
    tokio::spawn(feed::run(0, config, tx, kills));
    let mut model = Model::new(0.0, 1e9);
    let early_id = early.id();
    follow_until(&mut rx, &mut model, |m| {
        m.sessions.contains_key(&Key::new(0, early_id))
    })
    .await;

    let mut clients = Vec::new();
    for (url, ser) in [
        (&ws, Serializer::Json),
        (&rs, Serializer::Msgpack),
        (&ws, Serializer::Msgpack),
        (&rs, Serializer::Json),
    ] {
        let s = Session::join(
            url,
            "realm1",
            SessionOptions {
                serializer: ser,
                rated_message_size: 256,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let mut sub = s.subscribe("e2e.topic", Dict::new()).await.unwrap();
        for i in 0..25 {
            s.publish(
                "e2e.topic",
                Payload::from_args(vec![i.into()]),
                dict! {"acknowledge" => true, "exclude_me" => false},
            )
            .await
            .unwrap();
            sub.events.recv().await.unwrap();
        }
        clients.push(s);
    }
    let mut expected = Vec::new();
    for s in clients.into_iter().chain([early]) {
        let id = s.id();
        let handle = s.traffic_handle();
        s.leave("wamp.close.normal").await.unwrap();
        expected.push((id, handle.snapshot()));
    }
    let ids: Vec<u64> = expected.iter().map(|e| e.0).collect();
    let typed = follow_until(&mut rx, &mut model, |m| {
        ids.iter().all(|&id| {
            m.sessions
                .get(&Key::new(0, id))
                .is_some_and(|s| s.left_at.is_some())
        })
    })
    .await;
    assert_eq!(
        typed > 0,
        typed_stats,
        "the typed form is used exactly when asked for ({typed} typed events)"
    );
    for (id, t) in expected {
        let row = &model.sessions[&Key::new(0, id)];
        assert_eq!(
            row.totals.messages,
            t.messages_rx + t.messages_tx,
            "session {id}"
        );
        assert_eq!(row.totals.bytes, t.bytes_rx + t.bytes_tx, "session {id}");
        assert_eq!(row.totals.rated_messages, t.rated_messages, "session {id}");
        assert_eq!(row.totals.bytes_rx, Some(t.bytes_tx), "session {id}");
    }
    assert!(matches!(model.log.iter().next(), Some(e) if e.text.contains("connected")));
    let _ = MetaEvent::Leave(0);
    router.shutdown().await;
}

/// `--demo` logs in as the default config's operator, the one role whose kill key works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_logs_in_as_the_operator() {
    let demo = wamp_monitor::demo::Demo::start().await.unwrap();
    let options = wamp::SessionOptions {
        login: demo.operator.clone(),
        ..Default::default()
    };
    let s = wamp::Session::join(&demo.url, "realm1", options)
        .await
        .unwrap();
    assert_eq!(
        s.welcome().get("authrole").and_then(wamp::Value::as_str),
        Some("operator")
    );
    let _ = s.leave("wamp.close.normal").await;
    demo.stop().await;
}

/// `--demo` serves the Prometheus metrics on its web transport (off in the config files).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_metrics() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let demo = wamp_monitor::demo::Demo::start().await.unwrap();
    let url = demo.metrics_url.clone().expect("a metrics URL");
    let addr = url
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/metrics"))
        .expect("http://ADDR/metrics");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_string(&mut answer),
    )
    .await
    .expect("answers in time")
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(
        answer.contains("\nwamp_sessions{realm=\"realm1\"} "),
        "{answer}"
    );
    demo.stop().await;
}

/// Two routers followed at once: each session shows under its own router, and when one router
/// goes away the other's feed goes on as if nothing happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_routers_are_followed_at_once_and_each_connection_stands_alone() {
    use wamp_monitor::model::{Connection, Router as Followed};
    let a = router().await;
    let b = router().await;
    let (tx, mut rx) = mpsc::channel(4096);
    let mut kill_senders = Vec::new();
    let urls = [a.websocket_url().unwrap(), b.rawsocket_url().unwrap()];
    for (i, url) in urls.iter().enumerate() {
        let (kill_tx, kills) = mpsc::channel(1);
        kill_senders.push(kill_tx);
        let config = FeedConfig {
            name: format!("r{i}"),
            url: url.clone(),
            realm: "realm1".into(),
            serializer: Serializer::Msgpack,
            login: Default::default(),
            trust: Default::default(),
            typed_stats: false,
        };
        tokio::spawn(feed::run(i, config, tx.clone(), kills));
    }
    let routers = urls.iter().map(|u| Followed::new(u, "realm1")).collect();
    let mut model = Model::with_routers(0.0, 1e9, routers);
    follow_until(&mut rx, &mut model, |m| {
        (0..2).all(|r| *m.connection(r) == Connection::Connected)
    })
    .await;
    let on_a = Session::join(&urls[0], "realm1", SessionOptions::default())
        .await
        .unwrap();
    let on_b = Session::join(&urls[1], "realm1", SessionOptions::default())
        .await
        .unwrap();
    let (ka, kb) = (Key::new(0, on_a.id()), Key::new(1, on_b.id()));
    follow_until(&mut rx, &mut model, |m| {
        m.sessions.contains_key(&ka) && m.sessions.contains_key(&kb)
    })
    .await;
    assert!(
        !model.sessions.contains_key(&Key::new(1, on_a.id())),
        "a session shows under its own router only"
    );
    // Router b goes away: its feed reports the loss, a's stays connected and keeps following.
    drop(on_b);
    b.shutdown().await;
    follow_until(&mut rx, &mut model, |m| {
        matches!(m.connection(1), Connection::Lost(..))
    })
    .await;
    assert_eq!(*model.connection(0), Connection::Connected);
    on_a.leave("wamp.close.normal").await.unwrap();
    follow_until(&mut rx, &mut model, |m| {
        m.sessions.get(&ka).is_some_and(|s| s.left_at.is_some())
    })
    .await;
    assert_eq!(*model.connection(0), Connection::Connected);
    a.shutdown().await;
}
