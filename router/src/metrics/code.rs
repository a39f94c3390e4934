//! The type code of an encoded WAMP message, read without decoding it.

use wamp::Serializer;

/// The type code of an encoded message (its first array element), read without decoding it.
pub fn message_code(serializer: Serializer, frame: &[u8]) -> Option<u64> {
    match serializer {
        Serializer::Json => {
            let rest = frame
                .trim_ascii_start()
                .strip_prefix(b"[")?
                .trim_ascii_start();
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
        }
        Serializer::Msgpack => {
            let skip = match *frame.first()? {
                0x90..=0x9f => 1,
                0xdc => 3,
                0xdd => 5,
                _ => return None,
            };
            match *frame.get(skip)? {
                b @ 0x00..=0x7f => Some(u64::from(b)),
                0xcc => frame.get(skip + 1).map(|b| u64::from(*b)),
                _ => None,
            }
        }
        Serializer::Cbor => {
            let skip = match *frame.first()? {
                0x80..=0x97 | 0x9f => 1,
                0x98 => 2,
                0x99 => 3,
                0x9a => 5,
                _ => return None,
            };
            match *frame.get(skip)? {
                b @ 0x00..=0x17 => Some(u64::from(b)),
                0x18 => frame.get(skip + 1).map(|b| u64::from(*b)),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_codes_are_read_in_every_serializer() {
        let m = wamp::Message::abort("wamp.error.x", "m");
        for s in [Serializer::Json, Serializer::Msgpack, Serializer::Cbor] {
            let b = wamp::encode(s, &m).unwrap();
            assert_eq!(message_code(s, &b), Some(3), "{s:?}");
        }
        assert_eq!(message_code(Serializer::Json, b" [ 70, 1]"), Some(70));
        assert_eq!(message_code(Serializer::Cbor, &[0x83, 0x18, 70]), Some(70));
        assert_eq!(message_code(Serializer::Msgpack, &[0x93, 70]), Some(70));
        assert_eq!(message_code(Serializer::Json, b"{}"), None);
    }
}
