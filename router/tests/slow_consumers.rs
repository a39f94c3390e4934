//! Slow consumers (issue 14): per realm, `options.slow_consumer` is `close` (the session whose
//! queue is full is closed) or `drop` (its new EVENTs are dropped and counted while its queue is
//! full). Either way `wampstat.session.on_slow` tells, the session's queued bytes stay within
//! the configured limit, and everyone else receives every event.

mod common;

use common::scrape::{scrape, series, value};
use common::*;
use wamp::client::Subscription;
use wamp::{Dict, Id, Message, Payload, Serializer, Value};
use wamp_router::config::{Config, SlowConsumerPolicy};
use wamp_router::{CALLEE_OVERLOADED, Router, RouterOptions};

/// Small queues, so that a client that stops reading fills its queue fast: the byte limit
/// bites first (32 one-KiB events).
const QUEUE_BYTES: usize = 32 << 10;
/// Events published while the slow consumer does not read: far more than its queue and the
/// kernel's socket buffers hold.
const EVENTS: usize = 20_000;
/// The fast subscriber never has more than this many events in flight (well within its queue).
const WINDOW: usize = 8;

/// A router whose realm1 has `policy`, small outbound queues, and statistics reported only
/// when a session joins and leaves (so that the observer's own queue stays short).
async fn start_with_policy(policy: SlowConsumerPolicy) -> Router {
    let mut config: Config = default_config();
    config.realms[0].slow_consumer = policy;
    common::scrape::add_metrics_path(&mut config);
    if let Some(stats) = config.realms[0].stats.as_mut() {
        stats.trigger_after_rated_messages = 1 << 40;
    }
    let options = RouterOptions {
        outbound_queue: 1024,
        outbound_bytes: QUEUE_BYTES,
        ..test_options()
    };
    start_with(config, options).await
}

/// The `[info, details]` of the next `on_slow`/`on_stats` event of a subscription to
/// `wampstat.session.` / `wamp.session.` events whose session is `id`, with its topic.
async fn next_about(sub: &mut Subscription, id: Id) -> (String, Dict) {
    loop {
        let e = next_event(sub).await;
        let topic = topic_of(&e).unwrap_or_default().to_owned();
        let args = e.payload.args().unwrap_or_default();
        let about = match args.first() {
            Some(Value::Dict(info)) => info.get("session").and_then(Value::as_u64),
            Some(v) => v.as_u64(),
            None => None,
        };
        if about == Some(id) {
            let details = match args.get(1) {
                Some(Value::Dict(d)) => d.clone(),
                _ => Dict::new(),
            };
            return (topic, details);
        }
    }
}

/// A Raw session over RawSocket that subscribes `com.flood` (and registers `procedure`, if
/// any) and is then left unread by the test.
async fn slow_session(router: &Router, procedure: Option<&str>) -> (Raw, Id) {
    let mut roles = wamp::dict! {"subscriber" => Value::Dict(Dict::new())};
    if procedure.is_some() {
        roles.insert("callee".into(), Value::Dict(Dict::new()));
    }
    let (mut raw, id) =
        Raw::join_with_roles(&url(router, Transport::Rs), Serializer::Msgpack, roles).await;
    raw.send(&Message::Subscribe {
        request: 1,
        options: Dict::new(),
        topic: "com.flood".into(),
    })
    .await;
    assert!(matches!(raw.recv().await, Some(Message::Subscribed { .. })));
    if let Some(procedure) = procedure {
        raw.send(&Message::Register {
            request: 2,
            options: Dict::new(),
            procedure: procedure.into(),
        })
        .await;
        assert!(matches!(raw.recv().await, Some(Message::Registered { .. })));
    }
    (raw, id)
}

/// Publishes [`EVENTS`] one-KiB events to `com.flood` (argument: the sequence number), keeping
/// `fast` within its window; asserts that it received every one, in order.
async fn flood(router: &Router, fast: &mut Subscription) {
    let publisher = join(router, Transport::Rs, Serializer::Msgpack).await;
    let mut received = 0usize;
    let expect = |e: wamp::client::Event, received: &mut usize| {
        let args = e.payload.args().unwrap();
        assert_eq!(
            args[0].as_u64(),
            Some(*received as u64),
            "in order, none lost"
        );
        *received += 1;
    };
    for sent in 0..EVENTS {
        let payload = Payload::from_args(vec![(sent as u64).into(), Value::Bytes(vec![7; 1024])]);
        publisher
            .publish("com.flood", payload, Dict::new())
            .await
            .unwrap();
        while sent + 1 - received >= WINDOW {
            expect(next_event(fast).await, &mut received);
        }
    }
    while received < EVENTS {
        expect(next_event(fast).await, &mut received);
    }
}

fn u64_of(d: &Dict, k: &str) -> u64 {
    d.get(k)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{k} in {d:?}"))
}

#[tokio::test]
async fn policy_close_closes_the_slow_consumer_after_on_slow_and_others_get_everything() {
    let router = start_with_policy(SlowConsumerPolicy::Close).await;
    let observer = join(&router, Transport::Ws, Serializer::Json).await;
    let mut slow_events = subscribe(&observer, "wampstat.session.on_slow", Dict::new()).await;
    let (mut slow, slow_id) = slow_session(&router, None).await;
    let fast = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let mut events = subscribe(&fast, "com.flood", Dict::new()).await;
    flood(&router, &mut events).await;

    let (_, on_slow) = next_about(&mut slow_events, slow_id).await;
    assert_eq!(on_slow.get("policy").and_then(Value::as_str), Some("close"));
    assert_eq!(u64_of(&on_slow, "dropped"), 0);
    assert!(
        u64_of(&on_slow, "queued") <= QUEUE_BYTES as u64,
        "queued bytes within the limit: {on_slow:?}"
    );
    // Its connection ends after whatever the kernel had buffered.
    let drained = within("the slow consumer's connection to close", async {
        let mut n = 0usize;
        while slow.reader.next().await.is_some_and(|r| r.is_ok()) {
            n += 1;
        }
        n
    })
    .await;
    assert!(drained < EVENTS, "it got {drained} of {EVENTS} events");
    assert!(!router.is_joined("realm1", slow_id), "it was closed");
    let s = series(&scrape(&router).await);
    assert_eq!(
        value(&s, "wamp_slow_consumers_closed_total{realm=\"realm1\"}"),
        1.0
    );
    assert_eq!(
        value(&s, "wamp_events_dropped_total{realm=\"realm1\"}"),
        0.0
    );
    router.shutdown().await;
}

#[tokio::test]
async fn policy_drop_drops_and_counts_events_while_the_queue_is_full() {
    let router = start_with_policy(SlowConsumerPolicy::Drop).await;
    let observer = join(&router, Transport::Ws, Serializer::Json).await;
    let mut slow_events = subscribe(&observer, "wampstat.session.on_slow", Dict::new()).await;
    let mut stats_events = subscribe(&observer, "wamp.session.on_stats", Dict::new()).await;
    let (slow, slow_id) = slow_session(&router, None).await;
    let fast = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let mut events = subscribe(&fast, "com.flood", Dict::new()).await;
    flood(&router, &mut events).await;

    // It is still there, its queue never held more than the limit, and it said so once.
    assert!(router.is_joined("realm1", slow_id), "not closed under drop");
    let peak = router.peak_queued_bytes("realm1", slow_id).unwrap();
    assert!(peak > 0 && peak <= QUEUE_BYTES, "peak queued bytes {peak}");
    let (_, started) = next_about(&mut slow_events, slow_id).await;
    assert_eq!(started.get("policy").and_then(Value::as_str), Some("drop"));
    assert_eq!(started.get("dropping"), Some(&Value::Bool(true)));
    assert!(u64_of(&started, "dropped") >= 1, "{started:?}");
    assert!(u64_of(&started, "queued") <= QUEUE_BYTES as u64);

    // It starts reading again: the next event that fits is queued and on_slow says it
    // recovered. Probes go out one by one until one reaches it.
    let (got_probe, mut probe_seen) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut slow = slow;
    let reader = tokio::spawn(async move {
        while let Some(Ok(frame)) = slow.reader.next().await {
            if let wamp::transport::Inbound::Message(b) = frame
                && let Ok(Message::Event { payload, .. }) = wamp::decode(slow.serializer, &b)
                && payload.args().is_ok_and(|a| a[0].as_str() == Some("probe"))
            {
                let _ = got_probe.send(());
                break;
            }
        }
        slow
    });
    let publisher = join(&router, Transport::Rs, Serializer::Msgpack).await;
    within("a probe to reach the recovered consumer", async {
        for _ in 0..100_000 {
            publisher
                .publish("com.flood", Payload::from_args(vec!["probe".into()]), ack())
                .await
                .unwrap();
            next_event(&mut events).await;
            if probe_seen.try_recv().is_ok() {
                return;
            }
        }
        panic!("no probe reached the consumer");
    })
    .await;
    let (_, recovered) = next_about(&mut slow_events, slow_id).await;
    assert_eq!(recovered.get("dropping"), Some(&Value::Bool(false)));
    let dropped = u64_of(&recovered, "dropped");
    assert!(dropped >= u64_of(&started, "dropped"));
    assert!(dropped < EVENTS as u64, "some events were delivered");

    // When it leaves, its on_stats add up to the same drop count.
    let mut slow = within("the reader", reader).await.unwrap();
    slow.send(&Message::Goodbye {
        details: Dict::new(),
        reason: "wamp.close.close_realm".into(),
    })
    .await;
    let mut sum = 0;
    within("its last on_stats", async {
        loop {
            let (_, s) = next_about(&mut stats_events, slow_id).await;
            sum += u64_of(&s, "dropped");
            if s.get("last") == Some(&Value::Bool(true)) {
                break;
            }
        }
    })
    .await;
    assert_eq!(sum, dropped, "on_stats count every dropped event");
    let s = series(&scrape(&router).await);
    assert_eq!(
        value(&s, "wamp_events_dropped_total{realm=\"realm1\"}"),
        dropped as f64,
        "the metrics count the same drops"
    );
    assert_eq!(
        value(&s, "wamp_slow_consumers_closed_total{realm=\"realm1\"}"),
        0.0
    );
    router.shutdown().await;
}

#[tokio::test]
async fn under_drop_an_invocation_to_a_full_callee_is_an_error_to_the_caller_at_once() {
    let router = start_with_policy(SlowConsumerPolicy::Drop).await;
    let observer = join(&router, Transport::Ws, Serializer::Json).await;
    let mut slow_events = subscribe(&observer, "wampstat.session.on_slow", Dict::new()).await;
    let (mut callee, callee_id) = slow_session(&router, Some("com.overloaded")).await;
    let publisher = join(&router, Transport::Rs, Serializer::Msgpack).await;
    // Flood it until its queue is full (it drops events, and says so).
    let payload = Payload::from_args(vec![Value::Bytes(vec![7; 1024])]);
    let flooding = async {
        loop {
            publisher
                .publish("com.flood", payload.clone(), Dict::new())
                .await
                .unwrap();
        }
    };
    tokio::select! {
        _ = flooding => unreachable!(),
        (_, slow) = next_about(&mut slow_events, callee_id) => {
            assert_eq!(slow.get("dropping"), Some(&Value::Bool(true)));
        }
    }
    // An invocation that cannot be queued: larger than the whole queue may hold (whether the
    // writer drained a little meanwhile or not, so this is deterministic).
    let caller = join(&router, Transport::Ws, Serializer::Json).await;
    let big = Payload::from_args(vec![Value::Bytes(vec![1; QUEUE_BYTES + 1])]);
    let result = within(
        "the caller's ERROR",
        caller.call("com.overloaded", big, Dict::new()),
    )
    .await;
    assert_wamp_error(result, CALLEE_OVERLOADED);
    // Any other message that does not fit still closes the session, as before.
    within("the callee's connection to close", async {
        while callee.reader.next().await.is_some_and(|r| r.is_ok()) {}
    })
    .await;
    assert!(!router.is_joined("realm1", callee_id));
    router.shutdown().await;
}

#[tokio::test]
async fn under_close_an_invocation_that_cannot_be_queued_is_an_error_and_closes_the_callee() {
    let router = start_with_policy(SlowConsumerPolicy::Close).await;
    let observer = join(&router, Transport::Ws, Serializer::Json).await;
    let mut slow_events = subscribe(&observer, "wampstat.session.on_slow", Dict::new()).await;
    let (mut callee, callee_id) = slow_session(&router, Some("com.overloaded")).await;
    let caller = join(&router, Transport::Ws, Serializer::Json).await;
    // More than the whole queue may hold: it cannot be queued, whatever the callee reads.
    let big = Payload::from_args(vec![Value::Bytes(vec![1; QUEUE_BYTES + 1])]);
    let result = within(
        "the caller's ERROR",
        caller.call("com.overloaded", big, Dict::new()),
    )
    .await;
    assert_wamp_error(result, CALLEE_OVERLOADED);
    let (_, on_slow) = next_about(&mut slow_events, callee_id).await;
    assert_eq!(on_slow.get("policy").and_then(Value::as_str), Some("close"));
    assert!(u64_of(&on_slow, "queued") <= QUEUE_BYTES as u64);
    within("the callee's connection to close", async {
        while callee.reader.next().await.is_some_and(|r| r.is_ok()) {}
    })
    .await;
    assert!(!router.is_joined("realm1", callee_id));
    router.shutdown().await;
}
