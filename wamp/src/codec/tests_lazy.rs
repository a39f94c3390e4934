//! [`decode_lazy`]: the same messages as [`decode`], an EVENT's Details left as bytes.

use super::*;
use crate::dict;
use crate::payload::{Part, Payload};
use crate::value::Dict;

const SERIALIZERS: [Serializer; 3] = [Serializer::Json, Serializer::Msgpack, Serializer::Cbor];

/// An EVENT's Details, when decoded, are what [`decode`] gives; its payload is the same.
#[test]
fn a_lazy_event_is_the_full_event_with_its_details_later() {
    let full = Message::Event {
        subscription: 5,
        publication: 9007199254740992,
        details: dict! {"topic" => "a.b", "publisher" => 7u64},
        payload: Payload::new(vec![1.into(), "x".into()], dict! {"k" => "v"}),
    };
    for ser in SERIALIZERS {
        let bytes = encode(ser, &full).unwrap();
        let Decoded::Event(lazy) = decode_lazy(ser, &bytes).unwrap() else {
            panic!("{ser}: not lazy");
        };
        let Message::Event {
            details, payload, ..
        } = decode(ser, &bytes).unwrap()
        else {
            panic!("{ser}: not an EVENT");
        };
        assert_eq!((lazy.subscription, lazy.publication), (5, 9007199254740992));
        assert!(matches!(lazy.details, Part::Raw(s, _) if s == ser), "{ser}");
        assert_eq!(lazy.details.decode::<Dict>().unwrap(), details, "{ser}");
        assert_eq!(lazy.payload, payload, "{ser}");
    }
}

/// Every other message comes out decoded in full, exactly as [`decode`] gives it.
#[test]
fn other_messages_decode_in_full() {
    for ser in SERIALIZERS {
        for m in super::tests::every_message() {
            if matches!(m, Message::Event { .. }) {
                continue;
            }
            let bytes = encode(ser, &m).unwrap();
            let full = decode(ser, &bytes).unwrap();
            assert_eq!(
                decode_lazy(ser, &bytes).unwrap(),
                Decoded::Message(full),
                "{ser}"
            );
        }
    }
}

/// A pass-through payload depends on the Details' keys: such an EVENT is decoded in full.
#[test]
fn a_passthru_event_is_decoded_in_full() {
    let m = Message::Event {
        subscription: 1,
        publication: 2,
        details: dict! {"ppt_scheme" => "x_custom"},
        payload: Payload::passthru(vec![1, 2, 3]),
    };
    for ser in SERIALIZERS {
        let bytes = encode(ser, &m).unwrap();
        let Decoded::Message(got) = decode_lazy(ser, &bytes).unwrap() else {
            panic!("{ser}: decoded lazily");
        };
        assert_eq!(decode(ser, &bytes).unwrap(), got, "{ser}");
    }
    // Without the key, binary arguments are refused, lazily or not.
    let bad = Bytes::from_static(br#"[36,1,2,{},"\u0000AQID"]"#);
    let lazy = decode_lazy(Serializer::Json, &bad).unwrap_err();
    assert_eq!(lazy, decode(Serializer::Json, &bad).unwrap_err());
}

/// The checks of [`decode`] still hold: arity, IDs, a dict for the Details, a list for the
/// arguments.
#[test]
fn bad_events_get_the_same_errors() {
    for bad in [
        &br#"[36,1,2]"#[..],
        br#"[36,0,2,{}]"#,
        br#"[36,1,2,[]]"#,
        br#"[36,1,2,{},{}]"#,
        br#"[36,1,2,{},[],[]]"#,
        br#"[36,1,2,{},[],{},{}]"#,
    ] {
        let bad = Bytes::from_static(bad);
        let lazy = decode_lazy(Serializer::Json, &bad).unwrap_err();
        let full = decode(Serializer::Json, &bad).unwrap_err();
        // The same error; a Details that is not a dict is told without the parser's words.
        let (lazy, full) = (lazy.to_string(), full.to_string());
        assert!(full.starts_with(&lazy), "{lazy} / {full}");
    }
}

/// A CBOR tag on an EVENT's Details is refused by both decoders alike (codec_cbor found
/// `decode` accepting what `decode_lazy` refused; input
/// `fuzz/corpus/codec_cbor/seed-crash-tagged-details`).
#[test]
fn a_tagged_details_dict_is_refused_by_both() {
    // [36, 1, 2, 16(16({})), ["Hello, world!"], {"n": null, "b": false}]
    let mut frame = vec![0x86, 0x18, 0x24, 0x01, 0x02, 0xd0, 0xd0, 0xa0, 0x81, 0x6d];
    frame.extend_from_slice(b"Hello, world!");
    frame.extend_from_slice(&[0xa2, 0x61, b'n', 0xf6, 0x61, b'b', 0xf4]);
    let frame = Bytes::from(frame);
    let lazy = decode_lazy(Serializer::Cbor, &frame)
        .unwrap_err()
        .to_string();
    let full = decode(Serializer::Cbor, &frame).unwrap_err().to_string();
    assert!(full.starts_with(&lazy), "{lazy} / {full}");
    assert!(full.contains("Details"), "{full}");
    // A tagged HELLO.Details is refused the same way.
    let hello = Bytes::from_static(&[0x83, 0x01, 0x61, b'a', 0xd0, 0xa0]);
    let e = decode(Serializer::Cbor, &hello).unwrap_err().to_string();
    assert!(e.contains("Details") && e.contains("tagged"), "{e}");
    // JSON's whitespace around a dict is no tag.
    let spaced = Bytes::from_static(b"[ 36 , 1 , 2 ,\n { \"a\" : 1 } ]");
    assert!(matches!(
        decode(Serializer::Json, &spaced),
        Ok(Message::Event { .. })
    ));
}
