//! Session statistics: every byte and message a session exchanged is in its `on_stats` events,
//! exactly once, in cycles 1..n, for every transport and serializer and every way of leaving.

mod common;

use common::*;
use wamp::client::Subscription;
use wamp::{Dict, Id, Payload, Serializer, Session, SessionOptions, Value, dict};
use wamp_router::config::StatsConfig;

/// A monitor written as for Crossbar: one prefix subscription to `wamp.session.`.
async fn monitor(router: &wamp_router::Router) -> (Session, Subscription) {
    let m = counted(router, Transport::Ws, Serializer::Json).await;
    let sub = subscribe(&m, "wamp.session.", matching("prefix")).await;
    (m, sub)
}

/// The meta events about `session`, in order, up to and including its `on_leave` (which must
/// come within the time [`within`] allows).
async fn events_until_leave(sub: &mut Subscription, session: Id) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    within("the session's meta events", async {
        loop {
            let e = next_event(sub).await;
            let topic = topic_of(&e).unwrap_or_default().to_owned();
            let args = e.payload.args().unwrap();
            let about = match topic.as_str() {
                "wamp.session.on_leave" => args[0].as_u64(),
                _ => args[0].get("session").and_then(Value::as_u64),
            };
            if about != Some(session) {
                continue;
            }
            let leave = topic == "wamp.session.on_leave";
            out.push((topic, args));
            if leave {
                return;
            }
        }
    })
    .await;
    out
}

/// Sums of the stats dicts of `events`, checking cycles 1..n, `first` once at the start and
/// `last` once at the end, and the order join → stats… → leave.
fn check_and_sum(events: &[(String, Vec<Value>)]) -> Dict {
    assert_eq!(
        events.first().map(|e| e.0.as_str()),
        Some("wamp.session.on_join"),
        "{events:?}"
    );
    assert_eq!(
        events.last().map(|e| e.0.as_str()),
        Some("wamp.session.on_leave")
    );
    let stats: Vec<&Dict> = events[1..events.len() - 1]
        .iter()
        .map(|(t, a)| {
            assert_eq!(
                t, "wamp.session.on_stats",
                "only stats between join and leave"
            );
            a[1].as_dict().unwrap()
        })
        .collect();
    assert!(!stats.is_empty());
    let mut sums = Dict::new();
    for (i, s) in stats.iter().enumerate() {
        assert_eq!(
            s.get("cycle").and_then(Value::as_u64),
            Some(i as u64 + 1),
            "cycles without gaps"
        );
        assert_eq!(s.get("first"), Some(&Value::Bool(i == 0)));
        assert_eq!(s.get("last"), Some(&Value::Bool(i == stats.len() - 1)));
        let get = |k: &str| s.get(k).and_then(Value::as_u64).unwrap();
        assert_eq!(get("bytes"), get("bytes_rx") + get("bytes_tx"));
        assert_eq!(get("messages"), get("messages_rx") + get("messages_tx"));
        for k in [
            "bytes",
            "messages",
            "rated_messages",
            "bytes_rx",
            "bytes_tx",
            "messages_rx",
            "messages_tx",
        ] {
            let prev = sums.get(k).and_then(Value::as_u64).unwrap_or(0);
            sums.insert(k.into(), (prev + get(k)).into());
        }
    }
    sums
}

/// Publishes, subscribes, calls and answers (one large payload among them); returns when
/// every answer and event has arrived, so nothing is in flight.
async fn exercise(s: &Session) {
    let tag = s.id();
    let topic = format!("com.stats.t{tag}");
    let mut events = subscribe(s, &topic, Dict::new()).await;
    let mut reg = register(s, &format!("com.stats.echo{tag}"), Dict::new()).await;
    let echo = tokio::spawn(async move {
        for _ in 0..5 {
            let inv = reg.invocations.recv().await.unwrap();
            let args = inv.payload.args().unwrap();
            inv.reply(Ok(Payload::from_args(args))).await.unwrap();
        }
        reg
    });
    let opts = dict! {"acknowledge" => true, "exclude_me" => false};
    for i in 0..20 {
        s.publish(
            &topic,
            Payload::from_args(vec![i.into(), "x".repeat(i).into()]),
            opts.clone(),
        )
        .await
        .unwrap();
    }
    let large = Value::Bytes(vec![7; 3000]);
    s.publish(&topic, Payload::from_args(vec![large]), opts)
        .await
        .unwrap();
    for _ in 0..21 {
        next_event(&mut events).await;
    }
    for i in 0..5 {
        let r = s
            .call(
                &format!("com.stats.echo{tag}"),
                Payload::from_args(vec![i.into()]),
                Dict::new(),
            )
            .await
            .unwrap();
        assert_eq!(r.payload.args().unwrap(), vec![Value::Int(i)]);
    }
    within("the echo task", echo).await.unwrap();
}

fn assert_exact(sums: &Dict, t: &wamp::client::Traffic, what: &str) {
    let get = |k: &str| sums.get(k).and_then(Value::as_u64).unwrap();
    assert_eq!(get("bytes_rx"), t.bytes_tx, "{what}: router rx = client tx");
    assert_eq!(get("bytes_tx"), t.bytes_rx, "{what}: router tx = client rx");
    assert_eq!(get("messages_rx"), t.messages_tx, "{what}");
    assert_eq!(get("messages_tx"), t.messages_rx, "{what}");
    assert_eq!(get("bytes"), t.bytes_rx + t.bytes_tx, "{what}");
    assert_eq!(get("messages"), t.messages_rx + t.messages_tx, "{what}");
    assert_eq!(get("rated_messages"), t.rated_messages, "{what}");
}

/// A session that counts rated messages with the router's `rated_message_size` (256).
async fn counted(router: &wamp_router::Router, transport: Transport, ser: Serializer) -> Session {
    Session::join(&url(router, transport), "realm1", options(ser))
        .await
        .unwrap()
}

fn options(ser: Serializer) -> SessionOptions {
    SessionOptions {
        serializer: ser,
        rated_message_size: 256,
        ..SessionOptions::default()
    }
}

#[tokio::test]
async fn stats_sum_to_what_the_client_exchanged_for_clean_goodbye_and_abrupt_drop() {
    let router = start().await;
    let (_m, mut meta) = monitor(&router).await;
    for (transport, ser) in COMBOS {
        for abrupt in [false, true] {
            let what = format!("{transport:?}/{ser} abrupt={abrupt}");
            let s = counted(&router, transport, ser).await;
            let id = s.id();
            exercise(&s).await;
            let traffic = if abrupt {
                let t = s.traffic();
                drop(s);
                t
            } else {
                leave_and_count(s).await
            };
            let events = events_until_leave(&mut meta, id).await;
            let sums = check_and_sum(&events);
            assert_exact(&sums, &traffic, &what);
            for (topic, args) in &events {
                if topic == "wamp.session.on_stats" {
                    let stats = args[1].as_dict().unwrap();
                    assert_eq!(stats["serializer"].as_str(), Some(ser.name()), "{what}");
                }
            }
            assert!(
                sums.get("rated_messages").and_then(Value::as_u64).unwrap()
                    > sums.get("messages").and_then(Value::as_u64).unwrap(),
                "{what}: the 3 KB payload rates as several messages"
            );
        }
    }
    router.shutdown().await;
}

/// Leaves with GOODBYE and returns the traffic including GOODBYE and its answer.
async fn leave_and_count(s: Session) -> wamp::client::Traffic {
    let handle = s.traffic_handle();
    s.leave("wamp.close.normal").await.unwrap();
    handle.snapshot()
}

#[tokio::test]
async fn first_cycle_holds_hello_and_welcome_and_follows_on_join() {
    let router = start().await;
    let (_m, mut meta) = monitor(&router).await;
    let s = counted(&router, Transport::Rs, Serializer::Msgpack).await;
    let id = s.id();
    let hello_welcome = s.traffic();
    s.leave("wamp.close.normal").await.unwrap();
    let events = events_until_leave(&mut meta, id).await;
    assert_eq!(events[0].0, "wamp.session.on_join");
    assert_eq!(events[1].0, "wamp.session.on_stats");
    let first = events[1].1[1].as_dict().unwrap();
    assert_eq!(first.get("first"), Some(&Value::Bool(true)));
    assert_eq!(
        first.get("messages_rx").and_then(Value::as_u64),
        Some(1),
        "HELLO"
    );
    assert_eq!(
        first.get("messages_tx").and_then(Value::as_u64),
        Some(1),
        "WELCOME"
    );
    assert_eq!(
        first.get("bytes_rx").and_then(Value::as_u64),
        Some(hello_welcome.bytes_tx)
    );
    assert_eq!(
        first.get("bytes_tx").and_then(Value::as_u64),
        Some(hello_welcome.bytes_rx)
    );
    router.shutdown().await;
}

#[tokio::test]
async fn ten_rated_messages_end_a_cycle() {
    let router = start().await;
    let (_m, mut meta) = monitor(&router).await;
    let s = counted(&router, Transport::Rs, Serializer::Msgpack).await;
    let id = s.id();
    // 30 small unacknowledged publications (nobody subscribed): 30 rated messages received.
    for _ in 0..30 {
        s.publish("com.quiet", Payload::empty(), Dict::new())
            .await
            .unwrap();
    }
    let t = leave_and_count(s).await;
    let events = events_until_leave(&mut meta, id).await;
    let stats: Vec<&Dict> = events
        .iter()
        .filter(|e| e.0 == "wamp.session.on_stats")
        .map(|e| e.1[1].as_dict().unwrap())
        .collect();
    // cycle 1 (join) + three of exactly 10 + the final one (GOODBYE and its answer).
    assert_eq!(stats.len(), 5, "{stats:?}");
    for s in &stats[1..4] {
        assert_eq!(s.get("rated_messages").and_then(Value::as_u64), Some(10));
        assert_eq!(s.get("messages_rx").and_then(Value::as_u64), Some(10));
    }
    assert_exact(&check_and_sum(&events), &t, "count trigger");
    router.shutdown().await;
}

#[tokio::test]
async fn duration_trigger_ends_cycles_as_messages_pass() {
    let router = start_configured(|config| {
        config.realms[0].stats = Some(StatsConfig {
            rated_message_size: 256,
            trigger_after_rated_messages: 0,
            trigger_after_duration_ns: 1,
            trigger_on_join: false,
            trigger_on_leave: true,
        })
    })
    .await;
    let (_m, mut meta) = monitor(&router).await;
    let s = counted(&router, Transport::Ws, Serializer::Json).await;
    let id = s.id();
    for _ in 0..5 {
        s.publish("com.quiet", Payload::empty(), dict! {"acknowledge" => true})
            .await
            .unwrap();
    }
    let t = leave_and_count(s).await;
    let events = events_until_leave(&mut meta, id).await;
    let sums = check_and_sum(&events);
    assert_exact(&sums, &t, "duration trigger");
    // Every message is older than 1 ns by the time the next is counted: one cycle each, but
    // for the final one.
    let cycles = events
        .iter()
        .filter(|e| e.0 == "wamp.session.on_stats")
        .count() as u64;
    assert!(
        cycles + 1 >= t.messages_rx + t.messages_tx,
        "{cycles} cycles for {t:?}"
    );
    router.shutdown().await;
}

#[tokio::test]
async fn killed_sessions_end_with_last_stats_then_on_leave() {
    let router = start().await;
    let (_m, mut meta) = monitor(&router).await;
    let victim = counted(&router, Transport::Rs, Serializer::Json).await;
    let id = victim.id();
    let handle = victim.traffic_handle();
    let kwargs = dict! {"reason" => "wamp.close.custom", "message" => "bye"};
    // Session administration is the operator's.
    let operator = join_operator(&router, Transport::Rs).await;
    operator
        .call(
            "wamp.session.kill",
            Payload::new(vec![id.into()], kwargs),
            Dict::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        within("the kill", victim.closed()).await,
        wamp::client::Closed::Goodbye("wamp.close.custom".into())
    );
    let events = events_until_leave(&mut meta, id).await;
    let t = handle.snapshot();
    assert_exact(&check_and_sum(&events), &t, "killed");
    router.shutdown().await;
}

#[tokio::test]
async fn realms_without_stats_send_no_on_stats() {
    let router = start_configured(|config| config.realms[0].stats = None).await;
    let (_m, mut meta) = monitor(&router).await;
    let s = join(&router, Transport::Ws, Serializer::Json).await;
    let id = s.id();
    s.leave("wamp.close.normal").await.unwrap();
    let events = events_until_leave(&mut meta, id).await;
    let topics: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(topics, ["wamp.session.on_join", "wamp.session.on_leave"]);
    router.shutdown().await;
}

#[tokio::test]
async fn the_monitors_own_meta_events_are_counted_in_its_statistics() {
    let router = start().await;
    let (_m2, mut meta2) = monitor(&router).await;
    let (m, mut meta) = monitor(&router).await;
    let mid = m.id();
    let other = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let oid = other.id();
    other.leave("wamp.close.normal").await.unwrap();
    events_until_leave(&mut meta, oid).await;
    drop(meta);
    let t = leave_and_count(m).await;
    let events = events_until_leave(&mut meta2, mid).await;
    assert_exact(&check_and_sum(&events), &t, "monitor");
    router.shutdown().await;
}

#[tokio::test]
async fn a_protocol_violation_still_ends_with_exact_last_stats() {
    let router = start().await;
    let (_m, mut meta) = monitor(&router).await;
    // A hand-driven session: count exactly what goes over the wire.
    let mut raw = Raw::connect(&url(&router, Transport::Rs), Serializer::Json).await;
    let hello = wamp::Message::Hello {
        realm: "realm1".into(),
        details: dict! {"roles" => Value::Dict(dict! {"subscriber" => Value::Dict(Dict::new())})},
    };
    let hello_len = wamp::encode(Serializer::Json, &hello).unwrap().len() as u64;
    raw.send(&hello).await;
    let mut rx_bytes = 0u64;
    let id = match raw.reader.next().await {
        Some(Ok(wamp::transport::Inbound::Message(b))) => {
            rx_bytes += b.len() as u64;
            match wamp::decode(Serializer::Json, &b).unwrap() {
                wamp::Message::Welcome { session, .. } => session,
                other => panic!("expected WELCOME, got {other:?}"),
            }
        }
        other => panic!("expected WELCOME, got {other:?}"),
    };
    let garbage = b"[16, 1, {}".as_slice();
    raw.send_bytes(bytes::Bytes::from_static(garbage)).await;
    match raw.reader.next().await {
        Some(Ok(wamp::transport::Inbound::Message(b))) => rx_bytes += b.len() as u64, // ABORT
        other => panic!("expected ABORT, got {other:?}"),
    }
    let events = events_until_leave(&mut meta, id).await;
    let sums = check_and_sum(&events);
    let get = |k: &str| sums.get(k).and_then(Value::as_u64).unwrap();
    assert_eq!(get("bytes_rx"), hello_len + garbage.len() as u64);
    assert_eq!(get("bytes_tx"), rx_bytes);
    assert_eq!((get("messages_rx"), get("messages_tx")), (2, 2));
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_monitors_do_not_feed_each_other_a_storm_of_on_stats() {
    let router = start().await;
    let mut monitors = Vec::new();
    for _ in 0..8 {
        let m = counted(&router, Transport::Rs, Serializer::Json).await;
        let sub = subscribe(&m, "wamp.session.on_stats", Dict::new()).await;
        monitors.push((m, sub));
    }
    let (_w, mut meta) = monitor(&router).await;
    let s = join(&router, Transport::Ws, Serializer::Json).await;
    let id = s.id();
    exercise(&s).await;
    s.leave("wamp.close.normal").await.unwrap();
    events_until_leave(&mut meta, id).await;
    // Each on_stats a monitor receives counts in its statistics but never ends its cycle, so
    // the monitors' own cycles stay few instead of multiplying.
    let snapshot = call(&monitors[0].0, "wampstat.session.stats")
        .await
        .unwrap();
    let cycles: u64 = snapshot.payload.args().unwrap()[0]
        .as_list()
        .unwrap()
        .iter()
        .filter_map(|d| d.get("cycle").and_then(Value::as_u64))
        .sum();
    assert!(
        cycles < 40,
        "{cycles} cycles among 10 quiet sessions: the monitors feed each other"
    );
    router.shutdown().await;
}
