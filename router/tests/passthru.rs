//! Payload pass-through over real sockets: a binary payload in place of the arguments list,
//! with the spec's `ppt_*` or autobahn's (Crossbar's) `enc_*` keys, goes from publisher to
//! subscribers and from caller to callee and back unchanged, across serializers, with its keys
//! copied into the forwarded message's details.

mod common;

use common::*;
use wamp::message::code;
use wamp::transport::Inbound;
use wamp::{Dict, Message, Payload, Serializer, Value, dict};

/// The spec's keys (End-to-End Encryption predefined scheme).
fn spec_keys() -> Dict {
    dict! {
        "ppt_scheme" => "wamp",
        "ppt_serializer" => "cbor",
        "ppt_cipher" => "xsalsa20poly1305",
        "ppt_keyid" => "0x1234567890abcdef1234567890abcdef12345678",
    }
}

/// autobahn's keys for cryptobox (it sends no `enc_key`; another codec may).
fn autobahn_keys() -> Dict {
    dict! {"enc_algo" => "cryptobox", "enc_serializer" => "json", "enc_key" => "key-1"}
}

/// Every byte value, so that a base64 or bin/str mix-up shows.
fn blob() -> Vec<u8> {
    (0..=255u8).chain((0..=255u8).rev()).collect()
}

fn has_keys(details: &Dict, keys: &Dict) -> bool {
    keys.iter().all(|(k, v)| details.get(k) == Some(v))
}

#[tokio::test]
async fn a_passthru_publication_reaches_subscribers_of_every_serializer_unchanged() {
    let router = start().await;
    for keys in [spec_keys(), autobahn_keys()] {
        for pub_ser in Serializer::ALL {
            let publisher = join(&router, Transport::Ws, pub_ser).await;
            let mut subs = Vec::new();
            for (i, sub_ser) in Serializer::ALL.into_iter().enumerate() {
                let transport = if i % 2 == 0 {
                    Transport::Ws
                } else {
                    Transport::Rs
                };
                let s = join(&router, transport, sub_ser).await;
                let sub = subscribe(&s, "com.secret", Dict::new()).await;
                subs.push((sub_ser, s, sub));
            }
            let mut options = keys.clone();
            options.insert("acknowledge".into(), true.into());
            let publication = publisher
                .publish("com.secret", Payload::passthru(blob()), options)
                .await
                .expect("published")
                .expect("acknowledged");
            for (sub_ser, s, mut sub) in subs {
                let e = next_event(&mut sub).await;
                let what = format!("{pub_ser}→{sub_ser} {keys:?}");
                assert_eq!(e.publication, publication, "{what}");
                assert!(e.payload.is_binary(), "{what}: {:?}", e.payload);
                assert_eq!(
                    e.payload.passthru_bytes().expect("binary").expect("bytes"),
                    blob(),
                    "{what}"
                );
                assert!(e.payload.kwargs.is_none(), "{what}");
                assert!(has_keys(&e.details, &keys), "{what}: {:?}", e.details);
                assert!(e.details.get("acknowledge").is_none(), "{what}");
                s.leave("wamp.close.normal").await.expect("leaves");
            }
            publisher.leave("wamp.close.normal").await.expect("leaves");
        }
    }
}

/// The next WAMP frame a raw connection receives, as bytes.
async fn next_frame(raw: &mut Raw) -> bytes::Bytes {
    loop {
        match within("a frame", raw.reader.next()).await {
            Some(Ok(Inbound::Message(b))) => return b,
            Some(Ok(_)) => continue,
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_event_carries_the_very_bytes_in_each_serializers_binary_form() {
    let router = start().await;
    let url = url(&router, Transport::Ws);
    let mut subscribers = Vec::new();
    for ser in [Serializer::Json, Serializer::Msgpack, Serializer::Cbor] {
        let (mut raw, _) = Raw::join(&url, ser).await;
        raw.send(&Message::Subscribe {
            request: 1,
            options: Dict::new(),
            topic: "com.secret".into(),
        })
        .await;
        assert!(matches!(raw.recv().await, Some(Message::Subscribed { .. })));
        subscribers.push((ser, raw));
    }
    let roles = dict! {"publisher" => Value::Dict(Dict::new())};
    let (mut publisher, _) = Raw::join_with_roles(&url, Serializer::Json, roles).await;
    // As autobahn writes it: the payload (0x00 0x01 0xff) in place of the arguments list.
    publisher
        .send_bytes(bytes::Bytes::from_static(
            br#"[16,7,{"enc_algo":"cryptobox","enc_serializer":"json"},"com.secret","\u0000AAH/"]"#,
        ))
        .await;
    for (ser, mut raw) in subscribers {
        let frame = next_frame(&mut raw).await;
        let tail: &[u8] = match ser {
            Serializer::Json => {
                br#","enc_algo":"cryptobox","enc_serializer":"json"},"\u0000AAH/"]"#
            }
            Serializer::Msgpack => &[
                0xa8, b'e', b'n', b'c', b'_', b'a', b'l', b'g', b'o', 0xa9, b'c', b'r', b'y', b'p',
                b't', b'o', b'b', b'o', b'x', 0xae, b'e', b'n', b'c', b'_', b's', b'e', b'r', b'i',
                b'a', b'l', b'i', b'z', b'e', b'r', 0xa4, b'j', b's', b'o', b'n', 0xc4, 3, 0, 1,
                0xff,
            ],
            Serializer::Cbor => &[
                0x68, b'e', b'n', b'c', b'_', b'a', b'l', b'g', b'o', 0x69, b'c', b'r', b'y', b'p',
                b't', b'o', b'b', b'o', b'x', 0x6e, b'e', b'n', b'c', b'_', b's', b'e', b'r', b'i',
                b'a', b'l', b'i', b'z', b'e', b'r', 0x64, b'j', b's', b'o', b'n', 0x43, 0, 1, 0xff,
            ],
        };
        assert!(
            frame.ends_with(tail),
            "{ser}: the EVENT ends with the keys (after the publisher's) and the payload: {frame:02x?}"
        );
        match wamp::decode(ser, &frame) {
            Ok(Message::Event { payload, .. }) => {
                assert_eq!(
                    payload.passthru_bytes().expect("binary").expect("bytes"),
                    [0, 1, 255]
                );
            }
            other => panic!("{ser}: expected EVENT, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_retained_passthru_event_keeps_its_keys() {
    let router = start().await;
    let publisher = join(&router, Transport::Ws, Serializer::Cbor).await;
    let mut options = autobahn_keys();
    options.insert("retain".into(), true.into());
    options.insert("acknowledge".into(), true.into());
    publisher
        .publish("com.kept", Payload::passthru(blob()), options)
        .await
        .expect("published");
    let late = join(&router, Transport::Rs, Serializer::Json).await;
    let mut sub = subscribe(&late, "com.kept", dict! {"get_retained" => true}).await;
    let e = next_event(&mut sub).await;
    assert_eq!(e.details.get("retained"), Some(&Value::Bool(true)));
    assert!(has_keys(&e.details, &autobahn_keys()), "{:?}", e.details);
    assert_eq!(
        e.payload.passthru_bytes().expect("binary").expect("bytes"),
        blob()
    );
}

#[tokio::test]
async fn a_passthru_call_and_yield_round_trip_across_serializers() {
    let router = start().await;
    for (caller_ser, callee_ser) in [
        (Serializer::Json, Serializer::Msgpack),
        (Serializer::Msgpack, Serializer::Cbor),
        (Serializer::Cbor, Serializer::Json),
        (Serializer::Msgpack, Serializer::Msgpack),
    ] {
        let what = format!("{caller_ser}→{callee_ser}");
        let callee = join(&router, Transport::Rs, callee_ser).await;
        let caller = join(&router, Transport::Ws, caller_ser).await;
        let mut reg = register(&callee, "com.secret.rpc", Dict::new()).await;
        let call = {
            let procedure = "com.secret.rpc";
            let payload = Payload::passthru(blob());
            let options = spec_keys();
            let caller = &caller;
            async move { caller.call(procedure, payload, options).await }
        };
        let answer = async {
            let inv = next_invocation(&mut reg).await;
            assert!(
                has_keys(&inv.details, &spec_keys()),
                "{what}: {:?}",
                inv.details
            );
            let got = inv
                .payload
                .passthru_bytes()
                .expect("binary")
                .expect("bytes");
            assert_eq!(got, blob(), "{what}");
            let mut answer = got;
            answer.reverse();
            inv.reply_with(autobahn_keys(), Ok(Payload::passthru(answer)))
                .await
                .expect("yields");
        };
        let (result, ()) = tokio::join!(call, answer);
        let result = result.expect("the call succeeds");
        assert!(
            has_keys(&result.details, &autobahn_keys()),
            "{what}: {:?}",
            result.details
        );
        assert!(
            result.details.get("ppt_scheme").is_none(),
            "{what}: the YIELD's keys only"
        );
        let mut expected = blob();
        expected.reverse();
        assert_eq!(
            result
                .payload
                .passthru_bytes()
                .expect("binary")
                .expect("bytes"),
            expected,
            "{what}"
        );
        caller.leave("wamp.close.normal").await.expect("leaves");
        callee.leave("wamp.close.normal").await.expect("leaves");
    }
}

#[tokio::test]
async fn a_callees_passthru_error_reaches_its_caller_with_its_keys() {
    let router = start().await;
    let callee = join(&router, Transport::Ws, Serializer::Cbor).await;
    let caller = join(&router, Transport::Ws, Serializer::Json).await;
    let mut reg = register(&callee, "com.secret.fail", Dict::new()).await;
    let call = caller.call(
        "com.secret.fail",
        Payload::passthru(vec![1, 2, 3]),
        autobahn_keys(),
    );
    let answer = async {
        let inv = next_invocation(&mut reg).await;
        let mut e = wamp::client::WampError::new("com.secret.error");
        e.details = autobahn_keys();
        e.payload = Payload::passthru(vec![9, 8, 7]);
        inv.reply(Err(e)).await.expect("answers");
    };
    let (result, ()) = tokio::join!(call, answer);
    let e = match result {
        Err(wamp::client::ClientError::Wamp(e)) => e,
        other => panic!("expected ERROR, got {other:?}"),
    };
    assert_eq!(e.error, "com.secret.error");
    assert!(has_keys(&e.details, &autobahn_keys()), "{:?}", e.details);
    assert_eq!(
        e.payload.passthru_bytes().expect("binary").expect("bytes"),
        [9, 8, 7]
    );
}

#[tokio::test]
async fn the_routers_own_procedures_refuse_a_passthru_payload() {
    let router = start().await;
    let s = join(&router, Transport::Ws, Serializer::Msgpack).await;
    for keys in [spec_keys(), autobahn_keys()] {
        let r = s
            .call("wamp.session.count", Payload::passthru(vec![1]), keys)
            .await;
        assert_wamp_error(r, "wamp.error.no_payload_codec");
    }
    // The same procedure without pass-through answers.
    assert!(call(&s, "wamp.session.count").await.is_ok());
}

#[tokio::test]
async fn welcome_announces_payload_passthru_in_broker_and_dealer() {
    let router = start().await;
    let s = join(&router, Transport::Ws, Serializer::Json).await;
    for role in ["broker", "dealer"] {
        let features = s
            .welcome()
            .get("roles")
            .and_then(|r| r.get(role))
            .and_then(|r| r.get("features"))
            .cloned()
            .unwrap_or_default();
        for name in ["payload_passthru_mode", "payload_transparency"] {
            assert_eq!(
                features.get(name),
                Some(&Value::Bool(true)),
                "{role}: {features:?}"
            );
        }
    }
}

#[tokio::test]
async fn wrongly_typed_passthru_keys_abort_the_session() {
    let router = start().await;
    let url = url(&router, Transport::Ws);
    let roles = dict! {"publisher" => Value::Dict(Dict::new())};
    let bad = [
        dict! {"ppt_scheme" => 1},
        dict! {"enc_algo" => Value::List(vec![])},
        dict! {"enc_key" => Value::Bytes(vec![1, 2])},
        dict! {"ppt_keyid" => true},
    ];
    for options in bad {
        let (mut raw, _) = Raw::join_with_roles(&url, Serializer::Msgpack, roles.clone()).await;
        raw.send(&Message::Publish {
            request: 1,
            options,
            topic: "com.secret".into(),
            payload: Payload::passthru(vec![1]),
        })
        .await;
        raw.expect_abort("wamp.error.protocol_violation").await;
    }
}

#[tokio::test]
async fn a_binary_arguments_position_without_the_keys_is_still_a_protocol_violation() {
    let router = start().await;
    let url = url(&router, Transport::Ws);
    let roles = dict! {"caller" => Value::Dict(Dict::new())};
    let (mut raw, _) = Raw::join_with_roles(&url, Serializer::Json, roles).await;
    raw.send_bytes(bytes::Bytes::from_static(
        br#"[48,1,{},"com.p","\u0000AAH/"]"#,
    ))
    .await;
    raw.expect_abort("wamp.error.protocol_violation").await;
    // With the keys, it is a call like any other (here to no procedure).
    let roles = dict! {"caller" => Value::Dict(Dict::new())};
    let (mut raw, _) = Raw::join_with_roles(&url, Serializer::Json, roles).await;
    raw.send_bytes(bytes::Bytes::from_static(
        br#"[48,1,{"ppt_scheme":"mqtt"},"com.p","\u0000AAH/"]"#,
    ))
    .await;
    let (request_type, request, error, _) = raw.expect_error().await;
    assert_eq!(
        (request_type, request, error.as_str()),
        (code::CALL, 1, "wamp.error.no_such_procedure")
    );
}

#[tokio::test]
async fn the_history_keeps_a_passthru_event_with_its_bytes_and_keys() {
    let router = start_configured(|config| {
        config.realms[0].event_history = vec![wamp_router::config::HistoryConfig {
            uri: "com.secret.log".into(),
            policy: wamp::MatchPolicy::Exact,
            limit: 10,
        }];
    })
    .await;
    let reader = join(&router, Transport::Ws, Serializer::Json).await;
    let sub = reader
        .subscribe("com.secret.log", Dict::new())
        .await
        .expect("subscribed");
    let publisher = join(&router, Transport::Rs, Serializer::Cbor).await;
    let mut options = autobahn_keys();
    options.insert("acknowledge".into(), true.into());
    publisher
        .publish("com.secret.log", Payload::passthru(blob()), options)
        .await
        .expect("published");
    let got = reader
        .call(
            "wamp.subscription.get_events",
            Payload::from_args(vec![sub.id.into()]),
            Dict::new(),
        )
        .await
        .expect("get_events");
    let args = got.payload.args().expect("decodes");
    let Some(Value::List(events)) = args.first() else {
        panic!("not a list: {args:?}");
    };
    let [Value::Dict(e)] = events.as_slice() else {
        panic!("one event expected: {events:?}");
    };
    assert_eq!(e.get("payload"), Some(&Value::Bytes(blob())));
    assert_eq!(e.get("args"), None);
    let details = e.get("details").and_then(Value::as_dict).expect("details");
    assert!(has_keys(details, &autobahn_keys()), "{details:?}");
    router.shutdown().await;
}
