//! **[ours]** Pub/sub across the nodes of a cluster (issue 17): two `wamp-router` processes over
//! nats-server. A publication on node A reaches exact, prefix (one that cuts a component:
//! `com.a` matching `com.ab`) and wildcard subscriptions on node B exactly once each — also when
//! one session holds all three — with the topic for the patterns, the publisher disclosed, the
//! same publication id, and args and kwargs intact from msgpack to JSON and CBOR; `exclude`,
//! `eligible`, `exclude_authid` and `eligible_authrole` name sessions on the other node; after
//! the last subscriber on B unsubscribes, B leaves the NATS subject and receives nothing; a
//! monitor on A sees `wamp.session.on_join` / `on_leave` of a session on B; after
//! nats-server restarts, publications cross again; and when node B is killed with SIGKILL, A
//! reports B's session as left (`on_leave`, once) after the node timeout.
//!
//! Needs nats-server (`WAMPSTAT_NATS_SERVER` or `PATH`); skipped with a printed line without
//! it, unless `WAMPSTAT_REQUIRE_NATS=1`. No sleep synchronises anything: a subscription has
//! crossed when a probe published on A arrives on B (polled, bounded), and a step is over when
//! its marker (published after it, same publisher, same NATS subject) has arrived. Every
//! process is killed by its PID when the test ends on any path.

mod common;

use std::time::{Duration, Instant};

use common::child::RouterProcess;
use common::nats::{NatsServer, nats_server_or_skip, start_cluster_node, until_alive};
use common::*;
use wamp::client::{Event, Subscription};
use wamp::{Dict, Id, Payload, Serializer, Session, Value, dict};

/// Starts node `node` on the NATS server at `url`, its backplane logging its (un)subscribes.
fn start_node(node: &str, url: &str) -> RouterProcess {
    let log = "warn,wamp_router=info,wamp_router::cluster::pubsub=debug";
    start_cluster_node(
        &format!("cluster-pubsub-{node}"),
        node,
        url,
        &[("RUST_LOG", log)],
    )
}

/// Joins `realm1` at `url` with `serializer`, anonymously.
async fn anonymous(url: &str, serializer: Serializer) -> Session {
    join_url(url, "realm1", serializer)
        .await
        .expect("joins realm1")
}

/// The first argument of `e` as a string, if it is one.
fn first_str(e: &Event) -> Option<String> {
    e.payload
        .args()
        .ok()?
        .first()
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The events of `sub` up to the one whose first argument is `marker` (not included); 10 s at
/// most.
async fn until_marker(sub: &mut Subscription, marker: &str) -> Vec<Event> {
    let mut before = Vec::new();
    loop {
        let e = next_event(sub).await;
        if first_str(&e).as_deref() == Some(marker) {
            return before;
        }
        before.push(e);
    }
}

/// Publishes `marker` on `topic` from `publisher` and returns, for each subscription, what it
/// received before the marker. Every subscription in `subs` must match `topic` and admit the
/// publisher.
async fn step(
    publisher: &Session,
    topic: &str,
    marker: &str,
    subs: &mut [&mut Subscription],
) -> Vec<Vec<Event>> {
    publish(
        publisher,
        topic,
        Payload::from_args(vec![marker.into()]),
        dict! {},
    )
    .await;
    let mut got = Vec::new();
    for s in subs.iter_mut() {
        got.push(until_marker(s, marker).await);
    }
    got
}

/// Publishes with acknowledge and returns the publication id.
async fn publish(publisher: &Session, topic: &str, payload: Payload, mut options: Dict) -> Id {
    options.insert("acknowledge".into(), true.into());
    within("PUBLISHED", publisher.publish(topic, payload, options))
        .await
        .expect("published")
        .expect("a publication id")
}

/// Publishes probes on `topic` from `publisher` until every subscription in `subs` has one
/// (20 s at most), then a marker, read off every subscription: they are all clean after.
async fn until_crossed(publisher: &Session, topic: &str, subs: &mut [&mut Subscription]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = vec![false; subs.len()];
    let mut n = 0u64;
    while seen.iter().any(|s| !s) {
        assert!(
            Instant::now() < deadline,
            "the subscriptions on {topic} did not cross to the other node within 20 s: {seen:?}"
        );
        n += 1;
        publish(
            publisher,
            topic,
            Payload::from_args(vec!["probe".into()]),
            dict! {},
        )
        .await;
        for (s, seen) in subs.iter_mut().zip(seen.iter_mut()) {
            let wait = tokio::time::timeout(Duration::from_millis(100), s.events.recv());
            if let Ok(Some(_)) = wait.await {
                *seen = true;
                while s.events.try_recv().is_ok() {}
            }
        }
    }
    let marker = format!("crossed after {n} probes");
    step(publisher, topic, &marker, subs).await;
}

/// Joins sessions at `url` (another node) until `joins` (a monitor's `wamp.session.on_join`
/// on this node) sees one join, 20 s at most: that session and its details, and the ids of
/// the ones not seen, which have left.
async fn until_join_seen(url: &str, joins: &mut Subscription) -> (Session, Dict, Vec<Id>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut probes = Vec::new();
    loop {
        assert!(
            Instant::now() < deadline,
            "no on_join of a session at {url} was seen within 20 s"
        );
        let v = anonymous(url, Serializer::Msgpack).await;
        let seen = tokio::time::timeout(Duration::from_millis(300), async {
            loop {
                let e = joins.events.recv().await?;
                let args = e.payload.args().ok()?;
                if let Some(Value::Dict(d)) = args.first()
                    && d.get("session").and_then(Value::as_u64) == Some(v.id())
                {
                    return Some(d.clone());
                }
            }
        })
        .await;
        if let Ok(Some(d)) = seen {
            return (v, d, probes);
        }
        probes.push(v.id());
        within("a probe leaves", v.leave("wamp.close.normal"))
            .await
            .expect("left");
    }
}

/// A string in a dict.
fn text<'a>(d: &'a Dict, key: &str) -> Option<&'a str> {
    d.get(key).and_then(Value::as_str)
}

/// JSON text of a value, to compare values decoded from different serializers.
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publications_cross_nodes_to_every_match_policy_with_filters_and_meta_events() {
    let Some(bin) = nats_server_or_skip(
        "publications_cross_nodes_to_every_match_policy_with_filters_and_meta_events",
    ) else {
        return;
    };
    let begun = Instant::now();
    let mut nats = NatsServer::start(&bin, "cluster-pubsub");
    let url = nats.url();
    let a = start_node("node-a", &url);
    let b = start_node("node-b", &url);

    // The publisher on A speaks msgpack; on B one JSON session holds an exact, a prefix (that
    // cuts a component) and a wildcard subscription, a CBOR session the same wildcard, the
    // operator (CBOR over RawSocket) the same exact one.
    let publisher = anonymous(&a.ws, Serializer::Msgpack).await;
    let on_b_json = anonymous(&b.ws, Serializer::Json).await;
    let on_b_cbor = anonymous(&b.ws, Serializer::Cbor).await;
    let op_b = b.join_operator(Serializer::Cbor).await;
    let mut exact = subscribe(&on_b_json, "com.ab", dict! {}).await;
    let mut prefix = subscribe(&on_b_json, "com.a", matching("prefix")).await;
    let mut wildcard = subscribe(&on_b_json, "com.", matching("wildcard")).await;
    let mut op_exact = subscribe(&op_b, "com.ab", dict! {}).await;
    assert_eq!(op_exact.id, exact.id, "one subscription on B, shared");
    let mut cbor_wild_2 = subscribe(&on_b_cbor, "com.", matching("wildcard")).await;
    assert_eq!(cbor_wild_2.id, wildcard.id);
    let mut all = [
        &mut exact,
        &mut prefix,
        &mut wildcard,
        &mut cbor_wild_2,
        &mut op_exact,
    ];
    until_crossed(&publisher, "com.ab", &mut all).await;
    let crossed = begun.elapsed();

    // One publication: each subscription once, the same id, details and payload intact.
    let args: Vec<Value> = vec![
        1u64.into(),
        "two".into(),
        Value::Dict(dict! {"three" => 3.5, "list" => vec![Value::from(true), Value::Null]}),
    ];
    let kwargs = dict! {"k" => "v", "n" => Value::Int(-7)};
    let id = publish(
        &publisher,
        "com.ab",
        Payload::new(args.clone(), kwargs.clone()),
        dict! {"disclose_me" => true},
    )
    .await;
    let got = step(&publisher, "com.ab", "after the first", &mut all).await;
    // The authid the router gave the anonymous publisher, from its WELCOME.
    let authid = text(publisher.welcome(), "authid")
        .expect("WELCOME names the authid")
        .to_owned();
    for (i, events) in got.iter().enumerate() {
        assert_eq!(
            events.len(),
            1,
            "subscription {i}: exactly once, got {events:?}"
        );
        let e = &events[0];
        assert_eq!(e.publication, id, "subscription {i}: the publisher's id");
        assert_eq!(
            json(&e.payload.args().expect("args")),
            json(&args),
            "subscription {i}"
        );
        assert_eq!(
            json(&e.payload.kwargs().expect("kwargs")),
            json(&kwargs),
            "subscription {i}"
        );
        let d = e.details.dict();
        assert_eq!(
            d.get("publisher").and_then(Value::as_u64),
            Some(publisher.id()),
            "subscription {i}: {d:?}"
        );
        assert_eq!(text(d, "publisher_authrole"), Some("anonymous"), "{d:?}");
        assert_eq!(text(d, "publisher_authid"), Some(authid.as_str()), "{d:?}");
        let pattern = matches!(i, 1..=3);
        assert_eq!(
            topic_of(e),
            pattern.then_some("com.ab"),
            "subscription {i}: the topic for patterns only"
        );
    }

    // Black- and whitelists naming sessions of B, published on A.
    let json_id = on_b_json.id();
    let cbor_id = on_b_cbor.id();
    let cases: [(&str, Dict, [usize; 5]); 4] = [
        (
            "exclude",
            dict! {"exclude" => vec![Value::from(json_id)]},
            [0, 0, 0, 1, 1],
        ),
        (
            "eligible",
            dict! {"eligible" => vec![Value::from(cbor_id)]},
            [0, 0, 0, 1, 0],
        ),
        (
            "exclude_authid",
            dict! {"exclude_authid" => vec![Value::from("operator")]},
            [1, 1, 1, 1, 0],
        ),
        (
            "eligible_authrole",
            dict! {"eligible_authrole" => vec![Value::from("operator")]},
            [0, 0, 0, 0, 1],
        ),
    ];
    // Channels 0-2 are the JSON session's, 3 the CBOR session's (the wildcard subscription
    // it shares with the JSON session), 4 the operator's (the exact one, shared too).
    for (name, options, want) in cases {
        publish(
            &publisher,
            "com.ab",
            Payload::from_args(vec![name.into()]),
            options,
        )
        .await;
        let got = step(&publisher, "com.ab", &format!("after {name}"), &mut all).await;
        let counts: Vec<usize> = got.iter().map(Vec::len).collect();
        assert_eq!(counts, want, "{name}");
        for e in got.iter().flatten() {
            assert_eq!(first_str(e).as_deref(), Some(name));
        }
    }

    // The last subscriber of a topic on B leaves it: B unsubscribes from its NATS subject and
    // receives nothing more of it.
    let gone = anonymous(&b.ws, Serializer::Json).await;
    let mut gone_sub = subscribe(&gone, "org.gone", dict! {}).await;
    until_crossed(&publisher, "org.gone", &mut [&mut gone_sub]).await;
    let mut b_log = Vec::new();
    within("UNSUBSCRIBED", gone.unsubscribe(gone_sub.id))
        .await
        .expect("unsubscribed");
    b.until_printed(
        &mut b_log,
        "unsubscribed from wampstat-test.realm1.ev.org.gone",
    )
    .await;
    let before = gone.traffic();
    publish(
        &publisher,
        "org.gone",
        Payload::from_args(vec!["late".into()]),
        dict! {},
    )
    .await;
    step(&publisher, "com.ab", "after org.gone", &mut all).await;
    assert_eq!(
        gone.traffic().messages_rx,
        before.messages_rx,
        "nothing reached the session that left org.gone"
    );

    // A monitor on A sees a session join and leave on B.
    let monitor = a.join_operator(Serializer::Json).await;
    let mut leaves = subscribe(&monitor, "wamp.session.on_leave", dict! {}).await;
    let mut joins = subscribe(&monitor, "wamp.session.on_join", dict! {}).await;
    let (visitor, details, _) = until_join_seen(&b.ws, &mut joins).await;
    let node = details
        .get("authextra")
        .and_then(|x| x.get("x_cb_node"))
        .and_then(Value::as_str);
    assert_eq!(node, Some("node-b"), "{details:?}");
    let visitor_id = visitor.id();
    within("the visitor leaves", visitor.leave("wamp.close.normal"))
        .await
        .expect("left");
    loop {
        let e = next_event(&mut leaves).await;
        let args = e.payload.args().expect("args");
        if args.first().and_then(Value::as_u64) == Some(visitor_id) {
            break;
        }
    }

    // on_stats of B's sessions reach A once A's heartbeat has told B that a monitor of A
    // wants them (B seals its on_stats for the backplane only then): sessions join B (each
    // join ends a cycle) until A sees the on_stats of one.
    let mut stats = subscribe(&monitor, "wamp.session.on_stats", dict! {}).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let stats_crossed = Instant::now();
    loop {
        assert!(
            Instant::now() < deadline,
            "no on_stats of a session on B reached A within 20 s"
        );
        let probe = anonymous(&b.ws, Serializer::Json).await;
        let seen = tokio::time::timeout(Duration::from_millis(300), async {
            while let Some(e) = stats.events.recv().await {
                let args = e.payload.args().unwrap_or_default();
                let info = args.first().and_then(|i| i.get("session")?.as_u64());
                if info == Some(probe.id()) {
                    return true;
                }
            }
            false
        })
        .await;
        within("a probe leaves", probe.leave("wamp.close.normal"))
            .await
            .expect("left");
        if seen == Ok(true) {
            break;
        }
    }
    let stats_crossed = stats_crossed.elapsed();

    // nats-server restarted on its port (a fresh server: no subscription survives): both
    // nodes reconnect, async-nats subscribes again, and publications cross again (probes
    // until they do, bounded; those sent meanwhile are dropped and counted by node A).
    nats.restart();
    let restarted = Instant::now();
    until_crossed(&publisher, "com.ab", &mut all).await;
    let resumed = restarted.elapsed();
    let id = publish(
        &publisher,
        "com.ab",
        Payload::from_args(vec!["after the restart".into()]),
        dict! {},
    )
    .await;
    let got = step(&publisher, "com.ab", "after the restart's marker", &mut all).await;
    for events in &got {
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].publication, id);
    }

    println!(
        "cluster_pubsub: subscriptions crossed after {crossed:?}, again {resumed:?} after \
         nats-server restarted; on_stats crossed {stats_crossed:?} after the monitor \
         subscribed; the whole test took {:?}",
        begun.elapsed()
    );
    drop((a, b, nats));
}

/// Node B killed with SIGKILL: its session that had not left is reported as left
/// (`wamp.session.on_leave`) to a monitor on node A once A declares B dead (the node timeout,
/// 1 s here), by A itself, since B can say nothing any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_sessions_are_reported_as_left_by_the_survivors() {
    let Some(bin) =
        nats_server_or_skip("a_dead_nodes_sessions_are_reported_as_left_by_the_survivors")
    else {
        return;
    };
    let nats = NatsServer::start(&bin, "cluster-dead-node");
    let url = nats.url();
    let a = start_node("node-x", &url);
    let b = start_node("node-y", &url);
    let monitor = a.join_operator(Serializer::Json).await;
    let mut leaves = subscribe(&monitor, "wamp.session.on_leave", dict! {}).await;
    let mut joins = subscribe(&monitor, "wamp.session.on_join", dict! {}).await;
    // A knows B is alive (a node it never heard cannot be seen dying).
    until_alive(&monitor, "node-y").await;
    // Sessions join on B until A has seen one join (the meta events cross): that one stays,
    // the others leave normally (their on_leave comes from B).
    let (visitor, _, probe_ids) = until_join_seen(&b.ws, &mut joins).await;
    let visitor_id = visitor.id();
    let mut left = Vec::new();
    while left.len() < probe_ids.len() {
        let e = next_event(&mut leaves).await;
        left.extend(
            e.payload
                .args()
                .expect("args")
                .first()
                .and_then(Value::as_u64),
        );
    }
    assert_eq!(left, probe_ids);

    b.signal("KILL");
    let killed = Instant::now();
    let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(10), leaves.events.recv()).await
    else {
        panic!(
            "no on_leave of the visitor from node A within 10 s of the kill; node A said: {:#?}",
            a.output()
        );
    };
    let took = killed.elapsed();
    let args = e.payload.args().expect("args");
    assert_eq!(
        args.first().and_then(Value::as_u64),
        Some(visitor_id),
        "{args:?}"
    );
    assert_eq!(
        e.details.get("publisher_authrole").and_then(Value::as_str),
        Some("trusted"),
        "published by node A's router: {:?}",
        e.details
    );
    assert!(
        took >= Duration::from_millis(800) && took <= Duration::from_secs(6),
        "reported {took:?} after the kill (node timeout 1 s)"
    );
    // Nothing more about it: a marker of A's own (a session joining and leaving on A) comes
    // next on the on_leave subscription.
    let marker = anonymous(&a.ws, Serializer::Json).await;
    let marker_id = marker.id();
    within("the marker leaves", marker.leave("wamp.close.normal"))
        .await
        .expect("left");
    let next = next_event(&mut leaves).await;
    assert_eq!(
        next.payload
            .args()
            .expect("args")
            .first()
            .and_then(Value::as_u64),
        Some(marker_id),
        "the visitor was reported once"
    );
    println!("cluster_pubsub: node-y's session reported as left {took:?} after SIGKILL");
    drop(visitor);
    drop((a, b, nats));
}
