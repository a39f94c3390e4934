use super::*;
use crate::dict;
use crate::message::code;
use crate::payload::Payload;
use crate::value::Dict;
use proptest::prelude::*;

fn sample_payload() -> Payload {
    Payload::new(
        vec![
            1.into(),
            "two".into(),
            Value::Bytes(vec![0, 1, 255]),
            Value::Float(1.5),
        ],
        dict! {"k" => "v", "n" => Value::Null},
    )
}

/// One message of every kind, with and without payloads.
pub(super) fn every_message() -> Vec<Message> {
    let d = dict! {"x" => 1};
    vec![
        Message::Hello {
            realm: "realm1".into(),
            details: dict! {"roles" => Value::Dict(dict!{"caller" => Value::Dict(Dict::new())})},
        },
        Message::Welcome {
            session: 9007199254740992,
            details: d.clone(),
        },
        Message::abort("wamp.error.no_such_realm", "no realm"),
        Message::Challenge {
            authmethod: "wampcra".into(),
            extra: d.clone(),
        },
        Message::Authenticate {
            signature: "sig".into(),
            extra: Dict::new(),
        },
        Message::Goodbye {
            details: Dict::new(),
            reason: "wamp.close.normal".into(),
        },
        Message::Error {
            request_type: code::CALL,
            request: 7,
            details: Dict::new(),
            error: "com.err".into(),
            payload: sample_payload(),
        },
        Message::Error {
            request_type: code::SUBSCRIBE,
            request: 7,
            details: Dict::new(),
            error: "com.err".into(),
            payload: Payload::empty(),
        },
        Message::Publish {
            request: 1,
            options: dict! {"acknowledge" => true},
            topic: "com.t".into(),
            payload: sample_payload(),
        },
        Message::Publish {
            request: 1,
            options: Dict::new(),
            topic: "com.t".into(),
            payload: Payload::from_args(vec![1.into()]),
        },
        Message::Published {
            request: 1,
            publication: 2,
        },
        Message::Subscribe {
            request: 3,
            options: dict! {"match" => "wildcard"},
            topic: "com..t".into(),
        },
        Message::Subscribed {
            request: 3,
            subscription: 4,
        },
        Message::Unsubscribe {
            request: 5,
            subscription: 4,
        },
        Message::Unsubscribed { request: 5 },
        Message::Event {
            subscription: 4,
            publication: 2,
            details: dict! {"topic" => "com.t"},
            payload: sample_payload(),
        },
        Message::Event {
            subscription: 4,
            publication: 2,
            details: Dict::new(),
            payload: Payload::empty(),
        },
        Message::Call {
            request: 6,
            options: Dict::new(),
            procedure: "com.p".into(),
            payload: sample_payload(),
        },
        Message::Cancel {
            request: 6,
            options: dict! {"mode" => "kill"},
        },
        Message::Result {
            request: 6,
            details: Dict::new(),
            payload: sample_payload(),
        },
        Message::Result {
            request: 6,
            details: dict! {"progress" => true},
            payload: Payload::empty(),
        },
        Message::Register {
            request: 8,
            options: dict! {"match" => "prefix"},
            procedure: "com.".into(),
        },
        Message::Registered {
            request: 8,
            registration: 9,
        },
        Message::Unregister {
            request: 10,
            registration: 9,
        },
        Message::Unregistered { request: 10 },
        Message::Invocation {
            request: 11,
            registration: 9,
            details: Dict::new(),
            payload: sample_payload(),
        },
        Message::Interrupt {
            request: 11,
            options: Dict::new(),
        },
        Message::Yield {
            request: 11,
            options: Dict::new(),
            payload: sample_payload(),
        },
    ]
}

/// Compares two messages after turning their payloads into values.
fn normalized(m: &Message) -> (Message, Vec<Value>, Dict) {
    let mut m = m.clone();
    let (args, kwargs) = match m.payload_mut() {
        Some(payload) => {
            let r = (payload.args().unwrap(), payload.kwargs().unwrap());
            *payload = Payload::empty();
            r
        }
        None => (vec![], Dict::new()),
    };
    (m, args, kwargs)
}

#[test]
fn every_message_round_trips_in_every_serializer() {
    for ser in Serializer::ALL {
        for m in every_message() {
            let bytes = encode(ser, &m).unwrap();
            let back = decode(ser, &bytes).unwrap_or_else(|e| panic!("{ser} {}: {e}", m.name()));
            assert_eq!(normalized(&back), normalized(&m), "{ser} {}", m.name());
            // Re-encoding a decoded message copies its raw payload verbatim.
            assert_eq!(encode(ser, &back).unwrap(), bytes, "{ser} {}", m.name());
        }
    }
}

#[test]
fn payload_transcodes_between_serializers() {
    for m in every_message() {
        for from in Serializer::ALL {
            for to in Serializer::ALL {
                let there = encode(from, &m).unwrap();
                let decoded = decode(from, &there).unwrap();
                let transcoded = encode(to, &decoded).unwrap();
                assert_eq!(
                    transcoded,
                    encode(to, &m).unwrap(),
                    "{from}→{to} {}",
                    m.name()
                );
                let back = decode(to, &transcoded).unwrap();
                assert_eq!(
                    encode(from, &back).unwrap(),
                    there,
                    "{to}→{from} {}",
                    m.name()
                );
            }
        }
    }
}

#[test]
fn exact_json_bytes() {
    let m = Message::Event {
        subscription: 4,
        publication: 2,
        details: Dict::new(),
        payload: Payload::from_args(vec![Value::Bytes(vec![1, 2])]),
    };
    assert_eq!(
        &encode(Serializer::Json, &m).unwrap()[..],
        br#"[36,4,2,{},["\u0000AQI="]]"#
    );
    let kw_only = Message::Yield {
        request: 1,
        options: Dict::new(),
        payload: Payload {
            args: None,
            kwargs: Some(Part::Value(Value::Dict(dict! {"a" => 1}))),
        },
    };
    assert_eq!(
        &encode(Serializer::Json, &kw_only).unwrap()[..],
        br#"[70,1,{},[],{"a":1}]"#
    );
}

#[test]
fn exact_msgpack_bytes() {
    let m = Message::Published {
        request: 1,
        publication: 300,
    };
    assert_eq!(
        &encode(Serializer::Msgpack, &m).unwrap()[..],
        [0x93, 17, 1, 0xcd, 0x01, 0x2c]
    );
}

fn json_err(s: &str) -> DecodeError {
    decode(Serializer::Json, &Bytes::copy_from_slice(s.as_bytes())).unwrap_err()
}

#[test]
fn json_errors_are_precise() {
    assert!(matches!(
        json_err("[1, \"realm1\""),
        DecodeError::Malformed { .. }
    ));
    assert_eq!(json_err("{}"), DecodeError::NotAMessage);
    assert_eq!(json_err("[]"), DecodeError::NotAMessage);
    assert_eq!(json_err(r#"["x"]"#), DecodeError::NotAMessage);
    assert_eq!(json_err("[99, 1]"), DecodeError::UnknownCode(99));
    assert!(matches!(
        json_err(r#"[1, "realm1"]"#),
        DecodeError::Arity {
            message: "HELLO",
            got: 2,
            ..
        }
    ));
    assert!(matches!(
        json_err(r#"[1, 5, {}]"#),
        DecodeError::Element { field: "Realm", .. }
    ));
    assert!(matches!(
        json_err(r#"[17, 0, 1]"#),
        DecodeError::Element {
            field: "PUBLISH.Request",
            ..
        }
    ));
    assert!(matches!(
        json_err(r#"[17, 9007199254740993, 1]"#),
        DecodeError::Element { .. }
    ));
    assert!(matches!(
        json_err(r#"[17, -1, 1]"#),
        DecodeError::Element { .. }
    ));
    assert!(matches!(
        json_err(r#"[17, 1.5, 1]"#),
        DecodeError::Element { .. }
    ));
    assert!(matches!(
        json_err(r#"[16, 1, {}, "com.t", {}]"#),
        DecodeError::Element {
            field: "Arguments",
            ..
        }
    ));
    assert!(matches!(
        json_err(r#"[16, 1, {}, "com.t", [], []]"#),
        DecodeError::Element {
            field: "ArgumentsKw",
            ..
        }
    ));
    assert!(matches!(
        json_err(r#"[8, 99, 1, {}, "e"]"#),
        DecodeError::Element {
            field: "REQUEST.Type",
            ..
        }
    ));
    assert_eq!(
        json_err(r#"[16, 12, {}, "com..t"]"#),
        DecodeError::InvalidUri {
            message: "PUBLISH",
            code: 16,
            request: None,
            field: "Topic",
            uri: "com..t".into()
        }
    );
    assert!(matches!(
        json_err(r#"[16, 12, {"acknowledge": true}, "com..t"]"#),
        DecodeError::InvalidUri {
            request: Some(12),
            ..
        }
    ));
    assert!(matches!(
        json_err(r#"[32, 3, {}, "com..t"]"#),
        DecodeError::InvalidUri {
            request: Some(3),
            ..
        }
    ));
    assert!(
        decode(
            Serializer::Json,
            &Bytes::from_static(br#"[32, 3, {"match": "wildcard"}, "com..t"]"#)
        )
        .is_ok()
    );
    assert!(matches!(
        json_err(r#"[64, 3, {}, "a b"]"#),
        DecodeError::InvalidUri {
            request: Some(3),
            ..
        }
    ));
    assert!(matches!(
        json_err(r#"[1, "realm1", {}] x"#),
        DecodeError::Malformed { .. }
    ));
    assert!(matches!(
        json_err(r#"[1, "realm1", {"a": "\u0000!!"}]"#),
        DecodeError::Element {
            field: "Details",
            ..
        }
    ));
}

#[test]
fn msgpack_errors_are_precise() {
    let err = |b: &[u8]| decode(Serializer::Msgpack, &Bytes::copy_from_slice(b)).unwrap_err();
    assert_eq!(err(&[0x80]), DecodeError::NotAMessage);
    assert!(matches!(err(&[0x93, 1]), DecodeError::Malformed { .. }));
    assert!(matches!(
        err(&[0x93, 17, 1, 1, 0]),
        DecodeError::Malformed { .. }
    ));
    assert!(matches!(
        err(&[0xdd, 0xff, 0xff, 0xff, 0xff]),
        DecodeError::Malformed { .. }
    ));
    assert!(matches!(
        err(&[0x93, 17, 1, 0xc1]),
        DecodeError::Malformed { .. }
    ));
    let mut deep = vec![0x93, 17, 1];
    deep.extend(std::iter::repeat_n(0x91, 200));
    deep.push(1);
    assert!(matches!(err(&deep), DecodeError::Malformed { .. }));
}

#[test]
fn abort_may_carry_arguments() {
    let b = Bytes::from_static(br#"[3, {}, "wamp.error.no_such_realm", ["no"], {"a": 1}]"#);
    assert!(matches!(
        decode(Serializer::Json, &b),
        Ok(Message::Abort { .. })
    ));
}

#[test]
fn many_elements_are_an_arity_error() {
    let s = format!("[36, 1, 2, {{}}, [], {{}}{}]", ", 1".repeat(20));
    assert!(matches!(json_err(&s), DecodeError::Arity { got: 26, .. }));
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let b = Bytes::from(bytes);
        let _ = decode(Serializer::Json, &b);
        let _ = decode(Serializer::Msgpack, &b);
        let _ = decode(Serializer::Cbor, &b);
    }

    #[test]
    fn decoding_mutated_messages_never_panics(index in 0usize..28, pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let messages = every_message();
        let m = &messages[index % messages.len()];
        for ser in Serializer::ALL {
            let mut v = encode(ser, m).unwrap().to_vec();
            let i = pos.index(v.len());
            v[i] = byte;
            v.truncate(cut.index(v.len() + 1).max(1));
            let b = Bytes::from(v);
            if let Ok(m) = decode(ser, &b) {
                // Whatever decodes must encode again.
                let _ = encode(ser, &m);
                let _ = encode(Serializer::Json, &m);
            }
        }
    }
}

/// Found by `fuzz/` (codec_msgpack, codec_cbor): a msgpack or CBOR string starting with U+0000
/// was written to JSON as `"\u0000…"`, which a JSON peer reads as base64 binary and refused
/// ("invalid base64"). Such a string has no JSON form: encoding refuses it instead.
#[test]
fn a_string_starting_with_nul_does_not_encode_as_json() {
    let nul = "\0abc!".to_owned();
    let challenge = Message::Challenge {
        authmethod: "wampcra".into(),
        extra: dict! {"challenge" => nul.clone()},
    };
    let event = Message::Event {
        subscription: 1,
        publication: 2,
        details: Dict::new(),
        payload: Payload::new(vec![nul.clone().into()], Dict::new()),
    };
    for message in [challenge, event] {
        for ser in [Serializer::Msgpack, Serializer::Cbor] {
            let bytes = encode(ser, &message).unwrap();
            let decoded = decode(ser, &bytes).unwrap();
            assert_eq!(encode(ser, &decoded).unwrap(), bytes);
            // Raw payload parts are transcoded, the details written: both refuse.
            assert!(encode(Serializer::Json, &decoded).is_err(), "{decoded:?}");
        }
        assert!(encode(Serializer::Json, &message).is_err());
    }
    // Binary data still goes to JSON as `\0` and base64, and back.
    let binary = Message::Welcome {
        session: 1,
        details: dict! {"b" => Value::Bytes(vec![0, 1, 2])},
    };
    let json = encode(Serializer::Json, &binary).unwrap();
    assert_eq!(decode(Serializer::Json, &json).unwrap(), binary);
}

/// Found by `fuzz/` (codec_json): a revocation `[35, 0, {…}]` decoded to `Unsubscribed
/// { request: 0 }`, which encoded as `[35, 0]`, which decoding refuses (0 is not an ID).
#[test]
fn a_revocation_encodes_with_its_details() {
    for ser in [Serializer::Json, Serializer::Msgpack, Serializer::Cbor] {
        for m in [
            Message::Unsubscribed { request: 0 },
            Message::Unregistered { request: 0 },
        ] {
            let bytes = encode(ser, &m).unwrap();
            assert_eq!(decode(ser, &bytes).unwrap(), m);
        }
    }
    let json = encode(Serializer::Json, &Message::Unsubscribed { request: 0 }).unwrap();
    assert_eq!(&json[..], b"[35,0,{}]");
}

/// Found by `fuzz/` (codec_json): `[35, 22222222222022220, {…}]` decoded, as the Details form
/// took any integer for the request; it encoded as `[35, 22222222222022220]`, which decoding
/// refuses (above 2^53). The Details form now takes 0 or a valid ID.
#[test]
fn an_unsubscribed_with_details_takes_only_0_or_an_id() {
    let err = decode(
        Serializer::Json,
        &Bytes::from_static(br#"[35,22222222222022220,{"x":[0]}]"#),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("neither 0 nor in [1, 2^53]"),
        "{err}"
    );
    let err = decode(
        Serializer::Json,
        &Bytes::from_static(br#"[67,9007199254740993,{}]"#),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("neither 0 nor in [1, 2^53]"),
        "{err}"
    );
    let m = decode(Serializer::Json, &Bytes::from_static(br#"[35,7,{}]"#)).unwrap();
    assert_eq!(m, Message::Unsubscribed { request: 7 });
    let bytes = encode(Serializer::Json, &m).unwrap();
    assert_eq!(decode(Serializer::Json, &bytes).unwrap(), m);
}
