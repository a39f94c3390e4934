//! Publish/subscribe over real sockets, for every transport and serializer.

mod common;

use common::*;
use wamp::client::Subscription;
use wamp::{Dict, Payload, Serializer, Session, Value, dict};

/// Publishes `blob` from `publisher` (to itself too) and expects it intact on each of `subs`.
async fn publish_and_receive(publisher: &Session, blob: &Value, subs: [&mut Subscription; 2]) {
    publisher
        .publish(
            "com.x",
            Payload::from_args(vec![blob.clone()]),
            dict! {"exclude_me" => false},
        )
        .await
        .unwrap();
    for sub in subs {
        assert_eq!(
            next_event(sub).await.payload.args().unwrap(),
            vec![blob.clone()]
        );
    }
}

#[tokio::test]
async fn exact_subscription_receives_args_and_kwargs_over_every_combo() {
    let router = start().await;
    for (transport, ser) in COMBOS {
        let sub = join(&router, transport, ser).await;
        let publisher = join(&router, transport, ser).await;
        let mut s = subscribe(&sub, "com.example.topic", Dict::new()).await;
        let args = vec![
            1.into(),
            "two".into(),
            Value::Bytes(vec![0, 1, 2, 255]),
            Value::Dict(dict! {"three" => 3}),
        ];
        let kwargs = dict! {"k" => "v"};
        let publication = publisher
            .publish(
                "com.example.topic",
                Payload::new(args.clone(), kwargs.clone()),
                ack(),
            )
            .await
            .unwrap()
            .expect("acknowledged");
        let e = next_event(&mut s).await;
        assert_eq!(e.publication, publication, "{transport:?}/{ser}");
        assert_eq!(e.subscription, s.id);
        assert_eq!(e.payload.args().unwrap(), args, "{transport:?}/{ser}");
        assert_eq!(e.payload.kwargs().unwrap(), kwargs);
        assert!(
            e.details.get("topic").is_none(),
            "no topic for exact subscriptions: {:?}",
            e.details
        );
        sub.leave("wamp.close.normal").await.unwrap();
        publisher.leave("wamp.close.normal").await.unwrap();
    }
    router.shutdown().await;
}

#[tokio::test]
async fn events_cross_serializers_with_binary_intact() {
    let router = start().await;
    let json = join(&router, Transport::Ws, Serializer::Json).await;
    let msgpack = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let mut on_json = subscribe(&json, "com.x", Dict::new()).await;
    let mut on_msgpack = subscribe(&msgpack, "com.x", Dict::new()).await;
    assert_eq!(
        on_json.id, on_msgpack.id,
        "one subscription id for the same URI and policy"
    );
    let blob = Value::Bytes((0..=255).collect());
    publish_and_receive(&json, &blob, [&mut on_msgpack, &mut on_json]).await;
    publish_and_receive(&msgpack, &blob, [&mut on_json, &mut on_msgpack]).await;
    router.shutdown().await;
}

#[tokio::test]
async fn cbor_events_cross_to_json_and_msgpack_and_back_with_binary_intact() {
    let router = start().await;
    let cbor_ws = join(&router, Transport::Ws, Serializer::Cbor).await;
    let cbor_rs = join(&router, Transport::Rs, Serializer::Cbor).await;
    let json = join(&router, Transport::Ws, Serializer::Json).await;
    let msgpack = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let mut subs = Vec::new();
    for s in [&cbor_ws, &cbor_rs, &json, &msgpack] {
        subs.push(subscribe(s, "com.x", Dict::new()).await);
    }
    let blob = Value::Bytes((0..=255).collect());
    let args = vec![
        blob.clone(),
        Value::Bytes(vec![]),
        Value::UInt(u64::MAX),
        Value::Int(i64::MIN),
        Value::Float(0.1),
        "\u{1F600} text".into(),
        Value::Dict(dict! {"nested" => Value::List(vec![blob.clone(), Value::Null])}),
    ];
    let kwargs = dict! {"blob" => blob.clone(), "flag" => true};
    // From each serializer in turn, every subscriber (the publisher included) gets the same
    // values: CBOR to CBOR forwarded, to and from JSON and msgpack transcoded.
    for publisher in [&cbor_ws, &json, &msgpack, &cbor_rs] {
        publisher
            .publish(
                "com.x",
                Payload::new(args.clone(), kwargs.clone()),
                dict! {"exclude_me" => false, "acknowledge" => true},
            )
            .await
            .unwrap();
        for sub in &mut subs {
            let e = next_event(sub).await;
            assert_eq!(e.payload.args().unwrap(), args);
            assert_eq!(e.payload.kwargs().unwrap(), kwargs);
        }
    }
    router.shutdown().await;
}

#[tokio::test]
async fn exclude_me_defaults_to_true() {
    let router = start().await;
    let a = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let mut own = subscribe(&a, "com.own", Dict::new()).await;
    let mut marker = subscribe(&a, "com.marker", Dict::new()).await;
    a.publish("com.own", Payload::empty(), ack()).await.unwrap();
    assert_no_event_before_marker(&a, &mut [&mut own], &mut marker, "com.marker").await;
    a.publish(
        "com.own",
        Payload::from_args(vec![7.into()]),
        dict! {"exclude_me" => false},
    )
    .await
    .unwrap();
    assert_eq!(
        next_event(&mut own).await.payload.args().unwrap(),
        vec![Value::Int(7)]
    );
    router.shutdown().await;
}

#[tokio::test]
async fn prefix_and_wildcard_subscriptions_carry_the_topic() {
    let router = start().await;
    let sub = join(&router, Transport::Ws, Serializer::Json).await;
    let publisher = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let mut prefix = subscribe(&sub, "com.example.prefix", matching("prefix")).await;
    let mut wild = subscribe(&sub, "com..wild", matching("wildcard")).await;
    let mut exact = subscribe(&sub, "com.example.prefix.x.y", Dict::new()).await;
    let publish = |topic: &'static str| publisher.publish(topic, Payload::empty(), ack());
    publish("com.example.prefix.x.y").await.unwrap();
    let e = next_event(&mut prefix).await;
    assert_eq!(topic_of(&e), Some("com.example.prefix.x.y"));
    assert!(next_event(&mut exact).await.details.get("topic").is_none());
    publish("com.any.wild").await.unwrap();
    let e = next_event(&mut wild).await;
    assert_eq!(topic_of(&e), Some("com.any.wild"));
    // Neither pattern matches these.
    publish("com.any.wild.more").await.unwrap();
    publish("com.example.pre").await.unwrap();
    let mut marker = subscribe(&sub, "com.marker", Dict::new()).await;
    let patterns = &mut [&mut prefix, &mut wild];
    assert_no_event_before_marker(&publisher, patterns, &mut marker, "com.marker").await;
    router.shutdown().await;
}

#[tokio::test]
async fn publisher_is_disclosed_by_the_default_role() {
    let router = start().await;
    let sub = join(&router, Transport::Rs, Serializer::Json).await;
    let publisher = join(&router, Transport::Rs, Serializer::Json).await;
    let mut s = subscribe(&sub, "com.d", Dict::new()).await;
    publisher
        .publish("com.d", Payload::empty(), ack())
        .await
        .unwrap();
    let e = next_event(&mut s).await;
    assert_eq!(
        e.details.get("publisher").and_then(Value::as_u64),
        Some(publisher.id())
    );
    assert_eq!(
        e.details.get("publisher_authrole").and_then(Value::as_str),
        Some("anonymous")
    );
    router.shutdown().await;
}

#[tokio::test]
async fn eligible_and_exclude_lists_filter_receivers() {
    let router = start().await;
    let a = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let b = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let publisher = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let mut sa = subscribe(&a, "com.f", Dict::new()).await;
    let mut sb = subscribe(&b, "com.f", Dict::new()).await;
    let eligible = dict! {"acknowledge" => true, "eligible" => Value::List(vec![b.id().into()])};
    publisher
        .publish("com.f", Payload::from_args(vec![1.into()]), eligible)
        .await
        .unwrap();
    let exclude = dict! {"acknowledge" => true, "exclude" => Value::List(vec![b.id().into()])};
    publisher
        .publish("com.f", Payload::from_args(vec![2.into()]), exclude)
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut sb).await.payload.args().unwrap(),
        vec![Value::Int(1)]
    );
    assert_eq!(
        next_event(&mut sa).await.payload.args().unwrap(),
        vec![Value::Int(2)]
    );
    let mut marker = subscribe(&a, "com.m", Dict::new()).await;
    let mut marker_b = subscribe(&b, "com.m", Dict::new()).await;
    publisher
        .publish("com.m", Payload::empty(), ack())
        .await
        .unwrap();
    next_event(&mut marker).await;
    next_event(&mut marker_b).await;
    assert!(sa.events.try_recv().is_err() && sb.events.try_recv().is_err());
    router.shutdown().await;
}

#[tokio::test]
async fn unsubscribe_stops_events_and_unknown_ids_are_errors() {
    let router = start().await;
    let a = join(&router, Transport::Ws, Serializer::Msgpack).await;
    let s = subscribe(&a, "com.u", Dict::new()).await;
    a.unsubscribe(s.id).await.unwrap();
    assert_wamp_error(a.unsubscribe(s.id).await, "wamp.error.no_such_subscription");
    router.shutdown().await;
}

#[tokio::test]
async fn publishing_to_the_wamp_namespace_is_refused() {
    let router = start().await;
    let a = join(&router, Transport::Ws, Serializer::Json).await;
    assert_wamp_error(
        a.publish("wamp.session.on_join", Payload::empty(), ack())
            .await,
        "wamp.error.invalid_uri",
    );
    router.shutdown().await;
}

/// Subscribing again to what a session is subscribed to changes nothing, so no second
/// `wamp.subscription.on_subscribe` says it joined (a monitor counting subscribers by
/// on_subscribe / on_unsubscribe would count it twice and lose it at the first unsubscribe).
/// Found by the model-based test of the routing state (tests/model_routing.rs).
#[tokio::test]
async fn subscribing_again_publishes_no_second_on_subscribe() {
    let router = start().await;
    let operator = join_operator(&router, Transport::Rs).await;
    let mut marker = subscribe(&operator, "com.marker", Dict::new()).await;
    let mut joined = subscribe(&operator, "wamp.subscription.on_subscribe", Dict::new()).await;
    let s = join(&router, Transport::Rs, Serializer::Json).await;
    let first = subscribe(&s, "com.again", Dict::new()).await;
    let e = next_event(&mut joined).await;
    assert_eq!(
        e.payload.args().unwrap(),
        vec![Value::from(s.id()), Value::from(first.id)]
    );
    let again = subscribe(&s, "com.again", Dict::new()).await;
    assert_eq!(again.id, first.id, "the same subscription");
    // The marker is published after the second SUBSCRIBE was handled: an on_subscribe it
    // caused would have reached the operator before the marker's event.
    assert_no_event_before_marker(&s, &mut [&mut joined], &mut marker, "com.marker").await;
}
