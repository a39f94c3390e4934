//! Payload pass-through: with `ppt_scheme` (the spec) or `enc_algo` (autobahn, Crossbar) in the
//! options or details, the `Arguments` position may hold one binary value, which is kept as an
//! opaque payload: re-encoded byte for byte by the same serializer, and written as the very
//! same bytes in another one's binary form.

use super::*;
use crate::dict;
use crate::message::code;
use crate::payload::{Payload, is_passthru, passthru_keys};
use crate::value::Dict;

fn frame(hex_digits: &str) -> Bytes {
    Bytes::from(hex::decode(hex_digits).expect("hex digits"))
}

/// `[16, 1, {"enc_algo": "cryptobox", "enc_serializer": "json"}, "com.t", b"\x00\x01\xff"]` as
/// autobahn writes it in each serializer (the payload in place of the arguments list).
fn autobahn_publish() -> [(Serializer, Bytes); 3] {
    [
        (
            Serializer::Json,
            Bytes::from_static(
                br#"[16,1,{"enc_algo":"cryptobox","enc_serializer":"json"},"com.t","\u0000AAH/"]"#,
            ),
        ),
        (
            Serializer::Msgpack,
            frame(
                concat!(
                    "95 10 01 82",
                    "a8 656e635f616c676f a9 63727970746f626f78",
                    "ae 656e635f73657269616c697a6572 a4 6a736f6e",
                    "a5 636f6d2e74 c4 03 0001ff"
                )
                .replace(' ', "")
                .as_str(),
            ),
        ),
        (
            Serializer::Cbor,
            frame(
                concat!(
                    "85 10 01 a2",
                    "68 656e635f616c676f 69 63727970746f626f78",
                    "6e 656e635f73657269616c697a6572 64 6a736f6e",
                    "65 636f6d2e74 43 0001ff"
                )
                .replace(' ', "")
                .as_str(),
            ),
        ),
    ]
}

#[test]
fn a_binary_payload_is_kept_and_reencoded_exactly() {
    for (from, bytes) in autobahn_publish() {
        let m = decode(from, &bytes).unwrap_or_else(|e| panic!("{from}: {e}"));
        let Message::Publish {
            options, payload, ..
        } = &m
        else {
            panic!("{from}: not a PUBLISH: {m:?}");
        };
        assert!(is_passthru(options), "{from}");
        assert!(payload.is_binary(), "{from}");
        assert!(payload.kwargs.is_none(), "{from}");
        assert_eq!(
            payload.passthru_bytes().expect("binary").expect("decodes"),
            [0, 1, 255],
            "{from}"
        );
        // Transcoded into each serializer: exactly what autobahn writes there.
        for (to, expected) in autobahn_publish() {
            assert_eq!(encode(to, &m).expect("encodes"), expected, "{from}→{to}");
        }
    }
}

#[test]
fn a_program_built_passthru_payload_has_the_same_bytes() {
    let m = Message::Publish {
        request: 1,
        options: dict! {"enc_algo" => "cryptobox", "enc_serializer" => "json"},
        topic: "com.t".into(),
        payload: Payload::passthru(vec![0, 1, 255]),
    };
    for (ser, expected) in autobahn_publish() {
        assert_eq!(encode(ser, &m).expect("encodes"), expected, "{ser}");
    }
}

/// Every message that carries a payload, in pass-through mode with the spec's `ppt_*` keys.
fn spec_messages(blob: &[u8]) -> Vec<Message> {
    let keys = dict! {
        "ppt_scheme" => "wamp",
        "ppt_serializer" => "cbor",
        "ppt_cipher" => "xsalsa20poly1305",
        "ppt_keyid" => "GTtQ37XGJO2O4R8Dvx4AUo8pe61D9evIWpKGQAPdOh0=",
    };
    let p = || Payload::passthru(blob.to_vec());
    vec![
        Message::Call {
            request: 25471,
            options: keys.clone(),
            procedure: "com.myapp.secret".into(),
            payload: p(),
        },
        Message::Invocation {
            request: 35477,
            registration: 1147,
            details: keys.clone(),
            payload: p(),
        },
        Message::Yield {
            request: 87683,
            options: keys.clone(),
            payload: p(),
        },
        Message::Result {
            request: 77133,
            details: keys.clone(),
            payload: p(),
        },
        Message::Error {
            request_type: code::INVOCATION,
            request: 87683,
            details: keys.clone(),
            error: "com.myapp.invalid_revenue_year".into(),
            payload: p(),
        },
        Message::Publish {
            request: 45677,
            options: keys.clone(),
            topic: "com.myapp.mytopic1".into(),
            payload: p(),
        },
        Message::Event {
            subscription: 5512315355,
            publication: 4429313566,
            details: keys,
            payload: p(),
        },
    ]
}

#[test]
fn every_payload_message_carries_a_passthru_payload_through_every_serializer() {
    let blob: Vec<u8> = (0..=255).rev().collect();
    for m in spec_messages(&blob) {
        for from in Serializer::ALL {
            let there = encode(from, &m).expect("encodes");
            let decoded = decode(from, &there).unwrap_or_else(|e| panic!("{from} {e}"));
            let payload = decoded.payload().expect("a payload");
            assert!(payload.is_binary(), "{from} {}", m.name());
            assert_eq!(
                payload.passthru_bytes().expect("binary").expect("decodes"),
                blob,
                "{from} {}",
                m.name()
            );
            // The same serializer copies the frame's bytes; the others write what a program
            // would have written.
            assert_eq!(encode(from, &decoded).expect("encodes"), there);
            for to in Serializer::ALL {
                let transcoded = encode(to, &decoded).expect("transcodes");
                assert_eq!(transcoded, encode(to, &m).expect("encodes"), "{from}→{to}");
                let back = decode(to, &transcoded).expect("decodes");
                assert_eq!(encode(from, &back).expect("encodes"), there, "{to}→{from}");
            }
        }
    }
}

#[test]
fn exact_json_bytes_of_a_spec_invocation() {
    let m = Message::Invocation {
        request: 35479,
        registration: 3344,
        details: dict! {"ppt_scheme" => "mqtt", "ppt_serializer" => "native"},
        payload: Payload::passthru(b"hi".to_vec()),
    };
    let json = br#"[68,35479,3344,{"ppt_scheme":"mqtt","ppt_serializer":"native"},"\u0000aGk="]"#;
    assert_eq!(&encode(Serializer::Json, &m).expect("encodes")[..], json);
    // msgpack: bin 8; CBOR: a byte string.
    let msgpack = encode(Serializer::Msgpack, &m).expect("encodes");
    assert!(msgpack.ends_with(&[0xc4, 2, b'h', b'i']), "{msgpack:02x?}");
    let cbor = encode(Serializer::Cbor, &m).expect("encodes");
    assert!(cbor.ends_with(&[0x42, b'h', b'i']), "{cbor:02x?}");
}

#[test]
fn the_spec_list_form_is_an_ordinary_payload() {
    // `[Payload|binary]`: a list with one binary item, forwarded like any arguments list.
    let b = Bytes::from_static(br#"[48,1,{"ppt_scheme":"mqtt"},"com.p",["\u0000aGk="]]"#);
    let m = decode(Serializer::Json, &b).expect("decodes");
    let payload = m.payload().expect("a payload");
    assert!(!payload.is_binary());
    assert_eq!(
        payload.args().expect("args"),
        [Value::Bytes(b"hi".to_vec())]
    );
    assert_eq!(encode(Serializer::Json, &m).expect("encodes"), b);
}

fn json_err(s: &str) -> DecodeError {
    decode(Serializer::Json, &Bytes::copy_from_slice(s.as_bytes())).expect_err("must not decode")
}

#[test]
fn a_binary_payload_needs_the_passthru_keys() {
    // Without ppt_scheme or enc_algo, a non-list arguments position is an error as before.
    for s in [
        r#"[16,1,{},"com.t","\u0000aGk="]"#,
        r#"[16,1,{"ppt_serializer":"cbor"},"com.t","\u0000aGk="]"#,
        r#"[36,1,2,{"enc_key":"k"},"\u0000aGk="]"#,
    ] {
        assert!(
            matches!(
                json_err(s),
                DecodeError::Element { field: "Arguments", ref problem, .. } if problem == "must be a list"
            ),
            "{s}"
        );
    }
    // [50, 1, {}, b"hi"] in msgpack and CBOR.
    for (ser, hex_digits) in [
        (Serializer::Msgpack, "943201 80 c4026869"),
        (Serializer::Cbor, "84183201 a0 426869"),
    ] {
        let b = frame(&hex_digits.replace(' ', ""));
        assert!(
            matches!(
                decode(ser, &b),
                Err(DecodeError::Element {
                    field: "Arguments",
                    ..
                })
            ),
            "{ser}"
        );
    }
}

#[test]
fn passthru_mode_errors_are_precise() {
    // Neither a list nor binary.
    assert!(matches!(
        json_err(r#"[16,1,{"enc_algo":"cryptobox"},"com.t","plain text"]"#),
        DecodeError::Element { field: "Arguments", ref problem, .. }
            if problem == "must be a list, or binary in payload pass-through mode"
    ));
    assert!(matches!(
        json_err(r#"[50,1,{"ppt_scheme":"x"},7]"#),
        DecodeError::Element {
            field: "Arguments",
            ..
        }
    ));
    // JSON binary whose base64 is broken: the sender's error, at once.
    assert!(matches!(
        json_err(r#"[16,1,{"enc_algo":"cryptobox"},"com.t","\u0000!!"]"#),
        DecodeError::Element { field: "Arguments", ref problem, .. } if problem.starts_with("must be binary")
    ));
    // Keyword arguments beside a binary payload must be absent or empty.
    assert!(matches!(
        json_err(r#"[16,1,{"enc_algo":"cryptobox"},"com.t","\u0000aGk=",{"a":1}]"#),
        DecodeError::Element {
            field: "ArgumentsKw",
            ..
        }
    ));
    assert!(matches!(
        json_err(r#"[16,1,{"enc_algo":"cryptobox"},"com.t","\u0000aGk=",[]]"#),
        DecodeError::Element {
            field: "ArgumentsKw",
            ..
        }
    ));
    // An empty one is kept as it came.
    let b = Bytes::from_static(br#"[16,1,{"enc_algo":"cryptobox"},"com.t","\u0000aGk=",{}]"#);
    let m = decode(Serializer::Json, &b).expect("decodes");
    assert!(m.payload().expect("payload").is_binary());
    assert_eq!(encode(Serializer::Json, &m).expect("encodes"), b);
}

#[test]
fn passthru_keys_are_picked_in_order() {
    let options = dict! {
        "acknowledge" => true,
        "enc_serializer" => "json",
        "ppt_keyid" => "k",
        "enc_algo" => "cryptobox",
        "x_other" => 1,
    };
    assert!(is_passthru(&options));
    assert_eq!(
        passthru_keys(&options),
        dict! {"ppt_keyid" => "k", "enc_algo" => "cryptobox", "enc_serializer" => "json"}
    );
    assert!(!is_passthru(&dict! {"ppt_serializer" => "cbor"}));
    assert_eq!(passthru_keys(&Dict::new()), Dict::new());
    assert!(!Payload::from_args(vec![Value::Bytes(vec![1])]).is_binary());
    assert!(Payload::from_args(vec![]).passthru_bytes().is_none());
}
