//! `wamp.2.json`: serde_json, with elements located through `RawValue` (no copy).

use std::fmt;

use serde::Serialize;
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{DecodeError, Elements, Format, Kind};
use crate::serializer::Serializer;

/// The JSON format.
pub(crate) struct Json;

/// The element slices of a top-level JSON array, borrowed from the input.
struct Split<'a>(Vec<&'a RawValue>);

impl<'de> Deserialize<'de> for Split<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Split<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Split<'de>, A::Error> {
                let mut v = Vec::with_capacity(8);
                while let Some(e) = seq.next_element::<&'de RawValue>()? {
                    v.push(e);
                }
                Ok(Split(v))
            }
        }
        d.deserialize_seq(V)
    }
}

fn malformed(e: impl fmt::Display) -> DecodeError {
    DecodeError::Malformed {
        serializer: Serializer::Json,
        problem: e.to_string(),
    }
}

impl Format for Json {
    const SERIALIZER: Serializer = Serializer::Json;

    fn split(input: &[u8]) -> Result<Elements, DecodeError> {
        let first = input.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'[') {
            return Err(if first.is_some() && std::str::from_utf8(input).is_ok() {
                DecodeError::NotAMessage
            } else {
                malformed("not a JSON array")
            });
        }
        let split: Split<'_> = serde_json::from_slice(input).map_err(malformed)?;
        let base = input.as_ptr() as usize;
        let mut elements = Elements::default();
        for raw in split.0 {
            let s = raw.get();
            let start = s.as_ptr() as usize - base;
            elements.push(start..start + s.len());
        }
        Ok(elements)
    }

    fn parse<'a, T: Deserialize<'a>>(elem: &'a [u8]) -> Result<T, String> {
        serde_json::from_slice(elem).map_err(|e| e.to_string())
    }

    fn kind(elem: &[u8]) -> Kind {
        match elem.first() {
            Some(b'[') => Kind::List,
            Some(b'{') => Kind::Dict,
            _ => Kind::Other,
        }
    }

    fn begin(out: &mut Vec<u8>, _len: usize) {
        out.push(b'[');
    }

    fn separate(out: &mut Vec<u8>, index: usize) {
        if index > 0 {
            out.push(b',');
        }
    }

    fn end(out: &mut Vec<u8>) {
        out.push(b']');
    }

    fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), String> {
        serde_json::to_writer(out, v).map_err(|e| e.to_string())
    }
}
