//! Event retention over real sockets: a late subscriber that asks (`get_retained`) gets the
//! last retained event of each topic it subscribes to — only one it could have received — with
//! `retained: true`, right after SUBSCRIBED.

mod common;

use common::*;
use wamp::{Dict, Payload, Serializer, Value, dict};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_subscribers_get_the_last_retained_event_they_may_receive() {
    let router = start().await;
    let publisher = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let publish = |topic: &'static str, n: i64, options: Dict| {
        let publisher = &publisher;
        async move {
            let mut options = options;
            options.insert("acknowledge".into(), true.into());
            publisher
                .publish(topic, Payload::from_args(vec![n.into()]), options)
                .await
                .expect("published");
        }
    };
    let retain = || dict! {"retain" => true, "disclose_me" => true};
    publish("com.example.temp", 1, retain()).await;
    publish("com.example.temp", 2, retain()).await;
    publish("com.example.temp", 3, Dict::new()).await; // not retained
    let mut hidden = retain();
    hidden.insert(
        "eligible_authrole".into(),
        Value::List(vec!["nobody".into()]),
    );
    publish("com.example.hidden", 4, hidden).await;
    let pid = publisher.id();
    publisher.leave("wamp.close.normal").await.expect("leaves");

    for (transport, serializer) in COMBOS {
        let late = join(&router, transport, serializer).await;
        let get = dict! {"get_retained" => true};
        let mut temp = late
            .subscribe("com.example.temp", get.clone())
            .await
            .unwrap();
        let e = next_event(&mut temp).await;
        assert_eq!(
            e.payload.args().unwrap(),
            [Value::from(2)],
            "the last retained one"
        );
        assert_eq!(e.details.get("retained"), Some(&Value::Bool(true)));
        assert_eq!(
            e.details.get("publisher").and_then(Value::as_u64),
            Some(pid)
        );
        let mut all = late
            .subscribe(
                "com.example.",
                dict! {"match" => "prefix", "get_retained" => true},
            )
            .await
            .unwrap();
        let e = next_event(&mut all).await;
        assert_eq!(e.payload.args().unwrap(), [Value::from(2)]);
        assert_eq!(
            e.details.get("topic").and_then(Value::as_str),
            Some("com.example.temp")
        );
        // Nothing it may not receive, and nothing without asking: the next events on these
        // subscriptions are the marker published now.
        let mut hidden = late
            .subscribe("com.example.hidden", get.clone())
            .await
            .unwrap();
        let other = join(&router, Transport::Ws, Serializer::Json).await;
        let mut plain = other
            .subscribe("com.example.temp", Dict::new())
            .await
            .unwrap();
        for topic in ["com.example.hidden", "com.example.temp"] {
            other
                .publish(
                    topic,
                    Payload::from_args(vec!["marker".into()]),
                    dict! {"acknowledge" => true, "exclude_me" => false},
                )
                .await
                .unwrap();
        }
        for sub in [&mut hidden, &mut plain, &mut temp] {
            let e = next_event(sub).await;
            assert_eq!(e.payload.args().unwrap(), [Value::from("marker")]);
            assert!(e.details.get("retained").is_none());
        }
        // The prefix subscription: the two markers, in order; the hidden retained one never.
        for topic in ["com.example.hidden", "com.example.temp"] {
            let e = next_event(&mut all).await;
            assert_eq!(e.details.get("topic").and_then(Value::as_str), Some(topic));
            assert_eq!(e.payload.args().unwrap(), [Value::from("marker")]);
        }
        other.leave("wamp.close.normal").await.unwrap();
        late.leave("wamp.close.normal").await.unwrap();
    }
    router.shutdown().await;
}
