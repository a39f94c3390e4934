//! What the fuzz targets share: the codec round trip and the naive reference matchers.

use bytes::Bytes;
use wamp::{MatchPolicy, Serializer};

/// Decodes `data` as `serializer`; on success checks that encode∘decode is a fixpoint:
/// encoding the message, decoding that and encoding again gives the same bytes and an equal
/// message (equal as `Debug` text, so that a NaN float equals itself). Then encodes it in the
/// other serializers (transcoding raw payloads); what encodes must decode again.
pub fn codec_round_trip(serializer: Serializer, data: &[u8]) {
    let frame = Bytes::copy_from_slice(data);
    lazy_agrees(serializer, &frame);
    let Ok(first) = wamp::decode(serializer, &frame) else {
        return;
    };
    let encoded = wamp::encode(serializer, &first)
        .unwrap_or_else(|e| panic!("a decoded {first:?} does not encode: {e}"));
    let second = wamp::decode(serializer, &encoded)
        .unwrap_or_else(|e| panic!("{encoded:?}, the encoding of {first:?}, does not decode: {e}"));
    assert!(
        first == second || format!("{first:?}") == format!("{second:?}"),
        "encode∘decode changed the message:\n{first:?}\n{second:?}"
    );
    let again = wamp::encode(serializer, &second).expect("a re-decoded message encodes");
    assert_eq!(
        encoded, again,
        "encoding is not a fixpoint of encode∘decode"
    );
    for other in [Serializer::Json, Serializer::Msgpack, Serializer::Cbor] {
        if other == serializer {
            continue;
        }
        if let Ok(bytes) = wamp::encode(other, &first) {
            if let Err(e) = wamp::decode(other, &bytes) {
                panic!("{first:?} encoded as {other:?} ({bytes:?}) does not decode: {e}");
            }
        }
    }
}

/// `wamp::codec::decode_lazy` gives what `wamp::decode` gives, an EVENT's Details decoding
/// to the same dict; it may accept an EVENT that `decode` refuses only for what is inside its
/// Details, which then do not decode.
fn lazy_agrees(serializer: Serializer, frame: &Bytes) {
    use wamp::codec::Decoded;
    let same = |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
        assert_eq!(
            format!("{a:?}"),
            format!("{b:?}"),
            "decode_lazy and decode differ"
        )
    };
    match (
        wamp::codec::decode_lazy(serializer, frame),
        wamp::decode(serializer, frame),
    ) {
        (Ok(Decoded::Message(lazy)), Ok(full)) => same(&lazy, &full),
        (
            Ok(Decoded::Event(lazy)),
            Ok(wamp::Message::Event {
                subscription,
                publication,
                details,
                payload,
            }),
        ) => {
            let decoded: wamp::Dict = lazy.details.decode().expect("the Details decode");
            same(
                &(lazy.subscription, lazy.publication, decoded, lazy.payload),
                &(subscription, publication, details, payload),
            );
        }
        (Ok(Decoded::Event(lazy)), Err(e)) => assert!(
            lazy.details.decode::<wamp::Dict>().is_err(),
            "decode_lazy accepted an EVENT decode refuses ({e}), Details and all"
        ),
        (Ok(Decoded::Message(lazy)), Err(e)) => {
            panic!("decode_lazy accepted what decode refuses ({e}): {lazy:?}")
        }
        (Ok(Decoded::Event(lazy)), Ok(full)) => {
            panic!("decode_lazy made an EVENT of {full:?}: {lazy:?}")
        }
        (Err(e), Ok(full)) => panic!("decode_lazy refused what decode accepts ({e}): {full:?}"),
        (Err(_), Err(_)) => {}
    }
}

/// The WAMP specification's matching, written the obvious way: exact is string equality,
/// prefix is a string prefix, wildcard compares `.`-separated components one by one (same
/// count; an empty pattern component matches any component).
pub fn naive_matches(policy: MatchPolicy, pattern: &str, uri: &str) -> bool {
    match policy {
        MatchPolicy::Exact => pattern == uri,
        MatchPolicy::Prefix => {
            uri.len() >= pattern.len() && &uri.as_bytes()[..pattern.len()] == pattern.as_bytes()
        }
        MatchPolicy::Wildcard => {
            let p: Vec<&str> = pattern.split('.').collect();
            let u: Vec<&str> = uri.split('.').collect();
            p.len() == u.len() && p.iter().zip(&u).all(|(p, u)| p.is_empty() || p == u)
        }
    }
}

/// Whether `text` matches the glob `pattern` (`*` matches any run of characters), by the
/// textbook table over bytes: `m[i][j]` is whether `pattern[..i]` matches `text[..j]`. The
/// reference for the WebSocket origin check.
pub fn naive_glob(pattern: &[u8], text: &[u8]) -> bool {
    let mut m = vec![vec![false; text.len() + 1]; pattern.len() + 1];
    m[0][0] = true;
    for i in 1..=pattern.len() {
        for j in 0..=text.len() {
            m[i][j] = if pattern[i - 1] == b'*' {
                m[i - 1][j] || (j > 0 && m[i][j - 1])
            } else {
                j > 0 && pattern[i - 1] == text[j - 1] && m[i - 1][j - 1]
            };
        }
    }
    m[pattern.len()][text.len()]
}

/// Where a WebSocket server's incoming `bytes` end, read the obvious way over the whole
/// buffer: `None` while in the HTTP request (up to and including its first `\r\n\r\n`) or at a
/// frame boundary; inside a frame, the bytes of its header so far, or of its payload once the
/// header (2 octets, 2 or 8 of extended length, 4 of mask when the mask bit is set) is whole.
pub fn naive_partial_frame(bytes: &[u8]) -> Option<u64> {
    let start = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let mut rest = &bytes[start..];
    loop {
        if rest.is_empty() {
            return None;
        }
        if rest.len() < 2 {
            return Some(rest.len() as u64);
        }
        let extended = match rest[1] & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header = 2 + extended + if rest[1] & 0x80 != 0 { 4 } else { 0 };
        if rest.len() < header {
            return Some(rest.len() as u64);
        }
        let payload = match extended {
            0 => u64::from(rest[1] & 0x7F),
            n => rest[2..2 + n]
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        };
        let have = (rest.len() - header) as u64;
        if have < payload {
            // A payload that has begun, or a whole header whose payload has not.
            return Some(have);
        }
        rest = &rest[header + payload as usize..];
    }
}
