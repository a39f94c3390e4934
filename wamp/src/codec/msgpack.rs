//! `wamp.2.msgpack`: rmp-serde for values, and a bounds-checked scanner that finds the
//! elements of the top-level array without decoding them.

use rmp::Marker;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DecodeError, Elements, Format, Kind};
use crate::serializer::Serializer;

/// The msgpack format.
pub(crate) struct Msgpack;

/// How deeply values may nest (deeper documents are refused before anything recurses on them).
const MAX_DEPTH: u32 = 100;

fn malformed(problem: impl Into<String>) -> DecodeError {
    DecodeError::Malformed {
        serializer: Serializer::Msgpack,
        problem: problem.into(),
    }
}

/// A cursor over msgpack bytes that skips whole values.
struct Scanner<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                malformed(format!(
                    "truncated: {n} bytes needed at offset {}",
                    self.pos
                ))
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<usize, DecodeError> {
        let b = self.take(n)?;
        Ok(b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x)))
    }

    fn marker(&mut self) -> Result<Marker, DecodeError> {
        Ok(Marker::from_u8(self.take(1)?[0]))
    }

    /// Skips one complete value.
    fn skip(&mut self, depth: u32) -> Result<(), DecodeError> {
        if depth > MAX_DEPTH {
            return Err(malformed(format!("nested deeper than {MAX_DEPTH}")));
        }
        let m = self.marker()?;
        let data = match m {
            Marker::FixPos(_) | Marker::FixNeg(_) | Marker::Null | Marker::True | Marker::False => {
                0
            }
            Marker::U8 | Marker::I8 => 1,
            Marker::U16 | Marker::I16 => 2,
            Marker::U32 | Marker::I32 | Marker::F32 => 4,
            Marker::U64 | Marker::I64 | Marker::F64 => 8,
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 | Marker::Bin8 => self.uint(1)?,
            Marker::Str16 | Marker::Bin16 => self.uint(2)?,
            Marker::Str32 | Marker::Bin32 => self.uint(4)?,
            Marker::FixExt1 => 2,
            Marker::FixExt2 => 3,
            Marker::FixExt4 => 5,
            Marker::FixExt8 => 9,
            Marker::FixExt16 => 17,
            Marker::Ext8 => self.uint(1)? + 1,
            Marker::Ext16 => self.uint(2)? + 1,
            Marker::Ext32 => self.uint(4)? + 1,
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                let n = self.container_len(m)?;
                for _ in 0..n {
                    self.skip(depth + 1)?;
                }
                0
            }
            Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => {
                let n = self.container_len(m)?;
                for _ in 0..n {
                    self.skip(depth + 1)?;
                    self.skip(depth + 1)?;
                }
                0
            }
            Marker::Reserved => {
                return Err(malformed(format!(
                    "reserved marker 0xc1 at offset {}",
                    self.pos - 1
                )));
            }
        };
        self.take(data).map(|_| ())
    }

    fn container_len(&mut self, m: Marker) -> Result<usize, DecodeError> {
        match m {
            Marker::FixArray(n) | Marker::FixMap(n) => Ok(usize::from(n)),
            Marker::Array16 | Marker::Map16 => self.uint(2),
            _ => self.uint(4),
        }
    }
}

impl Format for Msgpack {
    const SERIALIZER: Serializer = Serializer::Msgpack;

    fn split(input: &[u8]) -> Result<Elements, DecodeError> {
        let mut s = Scanner { buf: input, pos: 0 };
        let m = s.marker()?;
        if !matches!(m, Marker::FixArray(_) | Marker::Array16 | Marker::Array32) {
            return Err(DecodeError::NotAMessage);
        }
        let n = s.container_len(m)?;
        let mut elements = Elements::default();
        for _ in 0..n {
            let start = s.pos;
            s.skip(1)?;
            elements.push(start..s.pos);
        }
        if s.pos != input.len() {
            return Err(malformed(format!(
                "{} trailing bytes after the message",
                input.len() - s.pos
            )));
        }
        Ok(elements)
    }

    fn parse<T: DeserializeOwned>(elem: &[u8]) -> Result<T, String> {
        rmp_serde::from_slice(elem).map_err(|e| e.to_string())
    }

    fn kind(elem: &[u8]) -> Kind {
        match elem.first().map(|&b| Marker::from_u8(b)) {
            Some(Marker::FixArray(_) | Marker::Array16 | Marker::Array32) => Kind::List,
            Some(Marker::FixMap(_) | Marker::Map16 | Marker::Map32) => Kind::Dict,
            Some(Marker::Bin8 | Marker::Bin16 | Marker::Bin32) => Kind::Binary,
            _ => Kind::Other,
        }
    }

    fn begin(out: &mut Vec<u8>, len: usize) {
        // Writing to a Vec cannot fail; messages have at most 7 elements.
        let _ = rmp::encode::write_array_len(out, len as u32);
    }

    fn separate(_out: &mut Vec<u8>, _index: usize) {}

    fn end(_out: &mut Vec<u8>) {}

    fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), String> {
        v.serialize(&mut rmp_serde::Serializer::new(out))
            .map_err(|e| e.to_string())
    }
}
