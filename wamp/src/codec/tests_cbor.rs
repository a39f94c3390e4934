//! `wamp.2.cbor`: exact bytes (as Python's `cbor2.dumps` writes them, the serializer autobahn
//! uses), what other encoders may send (indefinite lengths, wide floats), exact transcoding of
//! binary and integers, and precise errors for malformed input.

use super::tests::every_message;
use super::*;
use crate::dict;
use crate::payload::Payload;
use crate::value::Dict;
use proptest::prelude::*;

fn cbor(hex_digits: &str) -> Bytes {
    Bytes::from(hex::decode(hex_digits).expect("hex digits"))
}

fn encode_hex(m: &Message) -> String {
    hex::encode(encode(Serializer::Cbor, m).expect("encodes"))
}

fn err(hex_digits: &str) -> DecodeError {
    decode(Serializer::Cbor, &cbor(hex_digits)).expect_err("must not decode")
}

#[test]
fn exact_bytes_match_cbor2() {
    // cbor2.dumps([1, "realm1", {"roles": {"caller": {}}}])
    let hello = Message::Hello {
        realm: "realm1".into(),
        details: dict! {"roles" => Value::Dict(dict!{"caller" => Value::Dict(Dict::new())})},
    };
    let hello_cbor2 = "8301667265616c6d31a165726f6c6573a16663616c6c6572a0";
    assert_eq!(encode_hex(&hello), hello_cbor2);
    assert_eq!(decode(Serializer::Cbor, &cbor(hello_cbor2)), Ok(hello));

    // cbor2.dumps([16, 1, {"acknowledge": True}, "com.t", [1, "two", b"\x00\x01\xff"],
    //              {"k": "v", "n": None}])
    let publish = Message::Publish {
        request: 1,
        options: dict! {"acknowledge" => true},
        topic: "com.t".into(),
        payload: Payload::new(
            vec![1.into(), "two".into(), Value::Bytes(vec![0, 1, 255])],
            dict! {"k" => "v", "n" => Value::Null},
        ),
    };
    assert_eq!(
        encode_hex(&publish),
        "861001a16b61636b6e6f776c65646765f565636f6d2e7483016374776f430001ffa2616b6176616ef6"
    );

    // cbor2.dumps([36, 4, 2, {}, [b"\x01\x02"]]): binary is a byte string.
    let event = Message::Event {
        subscription: 4,
        publication: 2,
        details: Dict::new(),
        payload: Payload::from_args(vec![Value::Bytes(vec![1, 2])]),
    };
    assert_eq!(encode_hex(&event), "8518240402a081420102");
    // cbor2.dumps([17, 1, 300]) and cbor2.dumps([2, 2**53, {}]).
    let published = Message::Published {
        request: 1,
        publication: 300,
    };
    assert_eq!(encode_hex(&published), "83110119012c");
    let welcome = Message::Welcome {
        session: 1 << 53,
        details: Dict::new(),
    };
    assert_eq!(encode_hex(&welcome), "83021b0020000000000000a0");
}

#[test]
fn integers_keep_the_full_u64_and_i64_ranges() {
    // cbor2.dumps([48, 1, {}, "a", [2**64 - 1, -2**63, 0, -1]])
    let bytes =
        cbor(&"851830 01 a0 6161 84 1bffffffffffffffff 3b7fffffffffffffff 00 20".replace(' ', ""));
    let m = decode(Serializer::Cbor, &bytes).expect("decodes");
    let args = m.payload().expect("a payload").args().expect("args");
    assert_eq!(
        args,
        [
            Value::UInt(u64::MAX),
            Value::Int(i64::MIN),
            Value::Int(0),
            Value::Int(-1)
        ]
    );
    // Transcoded to JSON and msgpack and back, the same integers (and the same bytes).
    for other in [Serializer::Json, Serializer::Msgpack] {
        let there = encode(other, &m).expect("transcodes");
        let back = decode(other, &there).expect("decodes");
        assert_eq!(encode(Serializer::Cbor, &back).expect("encodes"), bytes);
    }
    // Below -2^63 CBOR can still count, WAMP values cannot: a clear error, not a wrap.
    let m = decode(
        Serializer::Cbor,
        &cbor("85183001a06161813bffffffffffffffff"),
    )
    .expect("raw");
    let e = m
        .payload()
        .expect("a payload")
        .args()
        .expect_err("out of range");
    assert!(e.to_string().contains("i128"), "{e}");
}

#[test]
fn binary_transcodes_exactly_to_json_and_msgpack_and_back() {
    let bin = Value::Bytes((0..=255).collect());
    let m = Message::Event {
        subscription: 4,
        publication: 2,
        details: Dict::new(),
        payload: Payload::new(
            vec![bin.clone(), Value::Bytes(vec![])],
            dict! {"blob" => bin.clone()},
        ),
    };
    let from_cbor = decode(
        Serializer::Cbor,
        &encode(Serializer::Cbor, &m).expect("enc"),
    )
    .expect("decodes");
    let json = encode(Serializer::Json, &from_cbor).expect("transcodes");
    let text = std::str::from_utf8(&json).expect("JSON is text");
    assert!(text.contains(r#"["\u0000AAECAwQF"#), "{text}");
    assert!(text.contains(r#","\u0000"],{"blob":"\u0000AAEC"#), "{text}");
    let from_json = decode(Serializer::Json, &json).expect("decodes");
    let again = encode(Serializer::Cbor, &from_json).expect("transcodes");
    assert_eq!(again, encode(Serializer::Cbor, &m).expect("enc"));
    let p = decode(Serializer::Cbor, &again).expect("decodes");
    let p = p.payload().expect("payload");
    assert_eq!(p.args().expect("args"), [bin.clone(), Value::Bytes(vec![])]);
    assert_eq!(p.kwargs().expect("kwargs")["blob"], bin);
    let msgpack = encode(Serializer::Msgpack, &from_json).expect("transcodes");
    let from_msgpack = decode(Serializer::Msgpack, &msgpack).expect("decodes");
    assert_eq!(encode(Serializer::Cbor, &from_msgpack).expect("enc"), again);
}

#[test]
fn same_serializer_forwards_the_raw_bytes() {
    // A kwargs dict with a tag and an integer key: not a WAMP value, but between CBOR peers it
    // is forwarded as it came, never decoded.
    // [36, 4, 2, {}, [1(1700000000)], {1: h'ff'}]
    let bytes = cbor(&"86182404 02a0 81c11a6553f100 a10141ff".replace(' ', ""));
    let m = decode(Serializer::Cbor, &bytes).expect("decodes");
    assert_eq!(encode(Serializer::Cbor, &m).expect("forwarded"), bytes);
    let p = m.payload().expect("payload");
    assert!(
        matches!(&p.args, Some(Part::Raw(Serializer::Cbor, b)) if b[..] == [0x81, 0xc1, 0x1a, 0x65, 0x53, 0xf1, 0x00])
    );
    // Decoding (or transcoding) it is a precise error.
    let e = p.kwargs().expect_err("integer key");
    assert!(e.to_string().contains("expected string"), "{e}");
    assert!(matches!(
        encode(Serializer::Json, &m),
        Err(EncodeError::Transcode(_))
    ));
}

#[test]
fn reads_what_other_encoders_write() {
    // Indefinite-length message, details map and args; a double-width float for 1.5 (cbor2
    // writes 0xfb…, we write the shortest exact width, 0xf9 3e00).
    // [_ 36, 4, 2, {_ "a": (_ "x", "y")}, [_ 1.5, 1.5f32]] with "break"s.
    let bytes = cbor(
        "9f 1824 04 02 bf 6161 7f 6178 6179 ff ff 9f fb3ff8000000000000 fa3fc00000 ff ff"
            .replace(' ', "")
            .as_str(),
    );
    let m = decode(Serializer::Cbor, &bytes).expect("decodes");
    let Message::Event {
        details, payload, ..
    } = &m
    else {
        panic!("an EVENT: {m:?}")
    };
    assert_eq!(details, &dict! {"a" => "xy"});
    assert_eq!(
        payload.args().expect("args"),
        [Value::Float(1.5), Value::Float(1.5)]
    );
    assert_eq!(
        encode_hex(&Message::Event {
            subscription: 4,
            publication: 2,
            details: Dict::new(),
            payload: Payload::from_args(vec![Value::Float(1.5), Value::Float(0.1)]),
        }),
        "8518240402a082f93e00fb3fb999999999999a"
    );
}

#[test]
fn errors_are_precise() {
    let malformed = |e: DecodeError, what: &str| match e {
        DecodeError::Malformed {
            serializer: Serializer::Cbor,
            problem,
        } => assert!(problem.contains(what), "{problem:?} should say {what:?}"),
        other => panic!("not Malformed: {other:?}"),
    };
    assert_eq!(err("a0"), DecodeError::NotAMessage);
    assert_eq!(err("01"), DecodeError::NotAMessage);
    assert_eq!(err("80"), DecodeError::NotAMessage);
    assert_eq!(err("816161"), DecodeError::NotAMessage);
    assert_eq!(err("811863"), DecodeError::UnknownCode(99));
    malformed(err(""), "truncated");
    malformed(err("8301"), "truncated");
    malformed(err("830166726561"), "truncated");
    malformed(err("9bffffffffffffffff"), "truncated");
    malformed(
        err(&"8301 9bffffffffffffffff".replace(' ', "")),
        "items announced",
    );
    malformed(err("83011c"), "reserved additional information 28");
    malformed(err("8301ff"), "unexpected break");
    malformed(err("9f01"), "truncated");
    malformed(err("83011f"), "indefinite length on major type 0");
    malformed(err("830100a000"), "1 trailing bytes");
    malformed(
        err(&"83 01 7f 61 61 01 ff a0".replace(' ', "")),
        "invalid chunk",
    );
    malformed(
        err(&"83 01 6161 bf 61 61 ff".replace(' ', "")),
        "key without a value",
    );
    let mut deep = "8311 01".replace(' ', "");
    deep.push_str(&"81".repeat(200));
    deep.push_str("01");
    malformed(err(&deep), "nested deeper than 100");
    let element = |e: DecodeError, field: &str, what: &str| match e {
        DecodeError::Element {
            field: f, problem, ..
        } => {
            assert_eq!(f, field);
            assert!(problem.contains(what), "{problem:?} should say {what:?}");
        }
        other => panic!("not Element: {other:?}"),
    };
    // HELLO whose Details has an integer key, a tagged value, invalid UTF-8.
    element(
        err(&"8301 6161 a1 01 01".replace(' ', "")),
        "Details",
        "expected string",
    );
    element(
        err(&"8301 6161 a1 6161 c001".replace(' ', "")),
        "Details",
        "",
    );
    element(
        err(&"8301 6161 a1 6161 62c328".replace(' ', "")),
        "Details",
        "",
    );
    element(err(&"8301 01 a0".replace(' ', "")), "Realm", "a string");
    element(
        err(&"83 11 00 01".replace(' ', "")),
        "PUBLISH.Request",
        "outside",
    );
    element(
        err(&"83 11 1b0020000000000001 01".replace(' ', "")),
        "PUBLISH.Request",
        "outside",
    );
    element(
        err(&"83 11 20 01".replace(' ', "")),
        "PUBLISH.Request",
        "integer",
    );
    element(
        err(&"83 11 f93e00 01".replace(' ', "")),
        "PUBLISH.Request",
        "integer",
    );
    element(
        err(&"85 10 01 a0 65636f6d2e74 a0".replace(' ', "")),
        "Arguments",
        "must be a list",
    );
    element(
        err(&"86 10 01 a0 65636f6d2e74 80 80".replace(' ', "")),
        "ArgumentsKw",
        "must be a dict",
    );
    assert!(matches!(
        err(&"84 10 0c a0 66636f6d2e2e74".replace(' ', "")),
        DecodeError::InvalidUri {
            message: "PUBLISH",
            field: "Topic",
            ..
        }
    ));
}

/// Any WAMP value JSON can carry too (finite floats).
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (i64::MAX as u64 + 1..=u64::MAX).prop_map(Value::UInt),
        any::<f64>()
            .prop_filter("finite (JSON has no NaN or infinity)", |f| f.is_finite())
            .prop_map(Value::Float),
        // No leading NUL: in JSON that is the binary convention.
        "[^\0][a-zé€😀 ]{0,8}|".prop_map(Value::Str),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            proptest::collection::vec(("[a-z]{0,6}", inner), 0..6)
                .prop_map(|kv| Value::Dict(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn values_round_trip_and_transcode_exactly(args in proptest::collection::vec(value(), 0..6), kw in proptest::collection::vec(("[a-z]{1,6}", value()), 0..4)) {
        let m = Message::Event {
            subscription: 4,
            publication: 2,
            details: Dict::new(),
            payload: Payload::new(args.clone(), kw.into_iter().collect()),
        };
        let bytes = encode(Serializer::Cbor, &m).expect("encodes");
        let back = decode(Serializer::Cbor, &bytes).expect("decodes");
        prop_assert_eq!(back.payload().expect("payload").args().expect("args"), args);
        for other in [Serializer::Json, Serializer::Msgpack] {
            let there = encode(other, &back).expect("transcodes");
            let again = decode(other, &there).expect("decodes");
            prop_assert_eq!(&encode(Serializer::Cbor, &again).expect("encodes"), &bytes);
        }
    }

    #[test]
    fn decoding_mutated_cbor_never_panics(index in 0usize..28, edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), cut in any::<prop::sample::Index>()) {
        let messages = every_message();
        let m = &messages[index % messages.len()];
        let mut v = encode(Serializer::Cbor, m).expect("encodes").to_vec();
        for (pos, byte) in edits {
            let i = pos.index(v.len());
            v[i] = byte;
        }
        v.truncate(cut.index(v.len() + 1).max(1));
        let b = Bytes::from(v);
        if let Ok(m) = decode(Serializer::Cbor, &b) {
            for to in Serializer::ALL {
                let _ = encode(to, &m);
            }
            if let Some(p) = m.payload() {
                let _ = p.args();
                let _ = p.kwargs();
            }
        }
    }
}
