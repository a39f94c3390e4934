//! The Testament meta API over real sockets: events a session leaves are published when it is
//! gone — however it went — in the order added (`detached` first), authorized as its own
//! publications, and once.

mod common;

use common::*;
use wamp::{Dict, Payload, Serializer, Session, Value, dict};

/// Adds a testament on `topic` with `args`, in `scope` (the default when `None`).
async fn add(s: &Session, topic: &str, args: Vec<Value>, scope: Option<&str>) {
    let mut kwargs = dict! {"publish_options" => Value::Dict(dict! {"disclose_me" => true})};
    if let Some(scope) = scope {
        kwargs.insert("scope".into(), scope.into());
    }
    let call_args = vec![
        topic.into(),
        Value::List(args),
        Value::Dict(dict! {"by" => "testament"}),
    ];
    s.call(
        "wamp.session.add_testament",
        Payload::new(call_args, kwargs),
        Dict::new(),
    )
    .await
    .expect("add_testament");
}

/// The first argument of each of the next `n` events, and their publishers.
async fn firsts(sub: &mut wamp::client::Subscription, n: usize) -> Vec<(String, Option<u64>)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let e = next_event(sub).await;
        let first = e.payload.args().expect("decodes")[0]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            e.payload.kwargs().expect("decodes"),
            dict! {"by" => "testament"}
        );
        out.push((first, e.details.get("publisher").and_then(Value::as_u64)));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testaments_are_published_once_in_order_when_the_transport_drops() {
    let router = start().await;
    for (transport, serializer) in COMBOS {
        let watcher = join(&router, Transport::Ws, Serializer::Json).await;
        let mut events = watcher
            .subscribe("com.example.gone", Dict::new())
            .await
            .expect("subscribed");
        let mut left = watcher
            .subscribe("wamp.session.on_leave", Dict::new())
            .await
            .expect("subscribed");
        let s = join(&router, transport, serializer).await;
        let id = s.id();
        let dealer = s.welcome().get("roles").and_then(|r| r.get("dealer"));
        let announced = dealer
            .and_then(|d| d.get("features"))
            .and_then(|f| f.get("testament_meta_api"));
        assert_eq!(announced, Some(&Value::Bool(true)));
        add(&s, "com.example.gone", vec!["first".into()], None).await;
        add(
            &s,
            "com.example.gone",
            vec!["second".into()],
            Some("detached"),
        )
        .await;
        add(
            &s,
            "com.example.gone",
            vec!["third".into()],
            Some("destroyed"),
        )
        .await;
        // An abrupt drop: no GOODBYE.
        drop(s);
        let got = firsts(&mut events, 3).await;
        let expected = ["second", "first", "third"].map(|t| (t.to_owned(), Some(id)));
        assert_eq!(got, expected, "{transport:?} {serializer:?}");
        // on_leave comes after the testaments; nothing more was published.
        let e = next_event(&mut left).await;
        assert_eq!(e.payload.args().expect("decodes")[0].as_u64(), Some(id));
        assert!(events.events.try_recv().is_err(), "published once");
        watcher.leave("wamp.close.normal").await.expect("leaves");
    }
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushed_testaments_stay_unpublished_and_a_killed_session_leaves_the_rest() {
    let router = start().await;
    let watcher = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let mut events = watcher
        .subscribe("com.example.gone", Dict::new())
        .await
        .expect("subscribed");
    let s = join(&router, Transport::Ws, Serializer::Json).await;
    add(&s, "com.example.gone", vec!["flushed".into()], None).await;
    add(
        &s,
        "com.example.gone",
        vec!["kept".into()],
        Some("detached"),
    )
    .await;
    s.call(
        "wamp.session.flush_testaments",
        Payload::new(vec![], dict! {"scope" => "destroyed"}),
        Dict::new(),
    )
    .await
    .expect("flush_testaments");
    // Wrong arguments are refused with the spec's errors and change nothing.
    for (payload, error) in [
        (
            Payload::new(vec!["com.example.gone".into()], dict! {"scope" => "later"}),
            "wamp.error.invalid_argument",
        ),
        (
            Payload::from_args(vec!["wamp.session.on_join".into()]),
            "wamp.error.invalid_uri",
        ),
        (
            Payload::from_args(vec![7.into()]),
            "wamp.error.invalid_argument",
        ),
    ] {
        let e = s
            .call("wamp.session.add_testament", payload, Dict::new())
            .await
            .unwrap_err();
        assert_eq!(e.wamp_error(), Some(error), "{e}");
    }
    let operator = join_operator(&router, Transport::Rs).await;
    operator
        .call(
            "wamp.session.kill",
            Payload::from_args(vec![s.id().into()]),
            Dict::new(),
        )
        .await
        .expect("killed");
    let got = firsts(&mut events, 1).await;
    assert_eq!(got, [("kept".to_owned(), Some(s.id()))]);
    s.closed().await;
    assert!(events.events.try_recv().is_err(), "the flushed one never");
    for x in [watcher, operator] {
        x.leave("wamp.close.normal").await.expect("leaves");
    }
    router.shutdown().await;
}
