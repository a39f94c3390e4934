//! `wamp.2.json`: serde_json, with elements located through `RawValue` (no copy).

use std::fmt;

use serde::Serialize;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{DecodeError, Elements, Format, Kind};
use crate::serializer::Serializer;

/// The JSON format.
pub(crate) struct Json;

/// Locates the elements of a top-level JSON array in `base` (no per-element allocation; elements
/// past the most a message has are skipped and only counted).
struct Split<'a> {
    base: &'a [u8],
}

impl<'de> DeserializeSeed<'de> for Split<'de> {
    type Value = Elements;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Elements, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Split<'de> {
    type Value = Elements;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Elements, A::Error> {
        let base = self.base.as_ptr() as usize;
        let mut elements = Elements::default();
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            let s = raw.get();
            let start = s.as_ptr() as usize - base;
            elements.push(start..start + s.len());
        }
        Ok(elements)
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
        let mut de = serde_json::Deserializer::from_slice(input);
        let elements = Split { base: input }
            .deserialize(&mut de)
            .map_err(malformed)?;
        de.end().map_err(malformed)?;
        Ok(elements)
    }

    fn parse<T: DeserializeOwned>(elem: &[u8]) -> Result<T, String> {
        serde_json::from_slice(elem).map_err(|e| e.to_string())
    }

    fn kind(elem: &[u8]) -> Kind {
        match elem.first() {
            Some(b'[') => Kind::List,
            Some(b'{') => Kind::Dict,
            // Binary is a string of `\u0000` and base64 (a NUL cannot appear unescaped).
            _ if elem.starts_with(br#""\u0000"#) => Kind::Binary,
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
