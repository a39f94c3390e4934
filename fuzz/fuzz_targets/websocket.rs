//! The bytes of a WebSocket upgrade that our code handles (the HTTP parsing and the framing
//! are tungstenite's): the `Sec-WebSocket-Protocol` negotiation and the `Origin` check, whose
//! `*` globs are compared with the naive matcher `wampstat_fuzz::naive_glob`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wamp::Serializer;
use wamp::transport::websocket::{OriginPolicy, choose_subprotocol};
use wampstat_fuzz::naive_glob;

const ALL: [Serializer; 3] = [Serializer::Json, Serializer::Msgpack, Serializer::Cbor];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Input: `protocols \n pattern \n origin` (missing parts are empty).
    let mut parts = text.splitn(3, '\n');
    let offered = parts.next().unwrap_or_default();
    let pattern = parts.next().unwrap_or_default();
    let origin = parts.next().unwrap_or_default();

    for serializers in [&ALL[..], &ALL[1..], &ALL[..1], &[]] {
        let chosen = choose_subprotocol(offered, serializers);
        let naive = offered
            .split(',')
            .map(str::trim)
            .find_map(|p| serializers.iter().copied().find(|s| s.subprotocol() == p));
        assert_eq!(chosen, naive, "{offered:?} among {serializers:?}");
    }

    let policy = OriginPolicy {
        allowed: vec![pattern.to_owned()],
        allow_null: false,
    };
    let expected = if origin.eq_ignore_ascii_case("null") {
        false
    } else {
        naive_glob(
            pattern.to_ascii_lowercase().as_bytes(),
            origin.to_ascii_lowercase().as_bytes(),
        )
    };
    assert_eq!(
        policy.allows(Some(origin)),
        expected,
        "{pattern:?} against {origin:?}"
    );
    assert!(policy.allows(None));
});
