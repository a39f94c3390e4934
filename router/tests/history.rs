//! Event history over real sockets: `store.event-history` entries keep the last events of
//! their topics, and `wamp.subscription.get_events` returns them with the spec's query
//! arguments, never one the caller may not see.

mod common;

use common::*;
use wamp::{Dict, MatchPolicy, Payload, Serializer, Session, Value, dict};
use wamp_router::config::HistoryConfig;

async fn events(s: &Session, subscription: u64, query: Dict) -> Vec<Dict> {
    let got = s
        .call(
            "wamp.subscription.get_events",
            Payload::new(vec![subscription.into()], query),
            Dict::new(),
        )
        .await
        .expect("get_events");
    match got.payload.args().expect("decodes").first() {
        Some(Value::List(l)) => l
            .iter()
            .map(|e| match e {
                Value::Dict(d) => d.clone(),
                other => panic!("not an event object: {other:?}"),
            })
            .collect(),
        other => panic!("not a list: {other:?}"),
    }
}

fn firsts(events: &[Dict]) -> Vec<i64> {
    events
        .iter()
        .map(|e| match e.get("args") {
            Some(Value::List(l)) => l[0].as_i64().expect("an integer"),
            other => panic!("no args: {other:?}"),
        })
        .collect()
}

fn publication(e: &Dict) -> u64 {
    e.get("publication")
        .and_then(Value::as_u64)
        .expect("a publication id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_events_returns_the_kept_events_the_query_selects() {
    let router = start_configured(|config| {
        config.realms[0].event_history = vec![
            HistoryConfig {
                uri: "com.example.log".into(),
                policy: MatchPolicy::Exact,
                limit: 4,
            },
            HistoryConfig {
                uri: "com.example.".into(),
                policy: MatchPolicy::Prefix,
                limit: 100,
            },
        ];
    })
    .await;
    let reader = join(&router, Transport::Ws, Serializer::Json).await;
    let log = reader
        .subscribe("com.example.log", Dict::new())
        .await
        .unwrap();
    let all = reader
        .subscribe("com.example.", dict! {"match" => "prefix"})
        .await
        .unwrap();
    let unkept = reader.subscribe("com.other", Dict::new()).await.unwrap();
    let publisher = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let publish = |topic: &'static str, n: i64, mut options: Dict| {
        let publisher = &publisher;
        async move {
            options.insert("acknowledge".into(), true.into());
            publisher
                .publish(
                    topic,
                    Payload::new(vec![n.into()], dict! {"n" => n}),
                    options,
                )
                .await
                .expect("published");
        }
    };
    for n in 1..=3 {
        publish("com.example.log", n, Dict::new()).await;
    }
    publish("com.example.audit", 10, Dict::new()).await;
    // Not for this reader's role, and not kept at all (session ids).
    publish(
        "com.example.log",
        11,
        dict! {"eligible_authrole" => Value::List(vec!["admin".into()])},
    )
    .await;
    publish(
        "com.example.log",
        12,
        dict! {"exclude" => Value::List(vec![1.into()])},
    )
    .await;
    for n in 4..=5 {
        publish("com.example.log", n, dict! {"disclose_me" => true}).await;
    }

    // The last 4 kept (11 counts, 12 is not kept), 11 hidden from this reader.
    let kept = events(&reader, log.id, Dict::new()).await;
    assert_eq!(firsts(&kept), [3, 4, 5]);
    assert_eq!(kept[2].get("kwargs"), Some(&Value::Dict(dict! {"n" => 5})));
    assert_eq!(
        kept[2].get("subscription").and_then(Value::as_u64),
        Some(log.id)
    );
    let details = kept[2].get("details").and_then(|d| d.get("publisher"));
    assert_eq!(details.and_then(Value::as_u64), Some(publisher.id()));
    assert!(
        kept[0]
            .get("timestamp")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with('Z'))
    );
    let reversed = events(&reader, log.id, dict! {"reverse" => true, "limit" => 2}).await;
    assert_eq!(firsts(&reversed), [5, 4]);
    let p3 = publication(&kept[0]);
    let p4 = publication(&kept[1]);
    assert_eq!(
        firsts(&events(&reader, log.id, dict! {"after_publication" => p3}).await),
        [4, 5]
    );
    assert_eq!(
        firsts(&events(&reader, log.id, dict! {"from_publication" => p4}).await),
        [4, 5]
    );
    assert_eq!(
        firsts(&events(&reader, log.id, dict! {"until_publication" => p4}).await),
        [3, 4]
    );
    assert_eq!(
        firsts(
            &events(
                &reader,
                log.id,
                dict! {"reverse" => true, "before_publication" => p4}
            )
            .await
        ),
        [3]
    );
    let last = kept[2]
        .get("timestamp")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    assert_eq!(
        firsts(&events(&reader, log.id, dict! {"after_time" => last.clone()}).await),
        Vec::<i64>::new()
    );
    assert_eq!(
        events(&reader, log.id, dict! {"until_time" => last})
            .await
            .len(),
        3
    );
    // The prefix entry: every topic under it, with the topic in the details, filterable.
    let under = events(&reader, all.id, Dict::new()).await;
    assert_eq!(firsts(&under), [1, 2, 3, 10, 4, 5]);
    let topic = under[3].get("details").and_then(|d| d.get("topic"));
    assert_eq!(topic.and_then(Value::as_str), Some("com.example.audit"));
    let audit = events(&reader, all.id, dict! {"topic" => "com.example.audit"}).await;
    assert_eq!(firsts(&audit), [10]);
    // A subscription whose URI keeps no history: nothing; an unknown one or a bad query: errors.
    assert!(events(&reader, unkept.id, Dict::new()).await.is_empty());
    for (args, query, error) in [
        (
            vec![Value::from(1u64)],
            Dict::new(),
            "wamp.error.no_such_subscription",
        ),
        (
            vec![log.id.into()],
            dict! {"limit" => 0},
            "wamp.error.invalid_argument",
        ),
        (
            vec![log.id.into()],
            dict! {"from_time" => "yesterday"},
            "wamp.error.invalid_argument",
        ),
    ] {
        let e = reader
            .call(
                "wamp.subscription.get_events",
                Payload::new(args, query),
                Dict::new(),
            )
            .await
            .unwrap_err();
        assert_eq!(e.wamp_error(), Some(error), "{e}");
    }
    for s in [reader, publisher] {
        s.leave("wamp.close.normal").await.unwrap();
    }
    router.shutdown().await;
}
