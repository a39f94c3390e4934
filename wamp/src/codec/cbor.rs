//! `wamp.2.cbor`: ciborium (serde) for values, and a bounds-checked scanner that finds the
//! elements of the top-level array without decoding them (so `Arguments` and `ArgumentsKw`
//! are sliced out as they are, like msgpack's).
//!
//! Binary is a CBOR byte string (major type 2) both ways: ciborium is not human-readable, so
//! [`crate::value::Value::Bytes`] serializes as bytes. Floats are written in the shortest width
//! that loses nothing (ciborium's rule; every CBOR decoder reads all three widths). Map keys of
//! WAMP dicts must be text strings: any other key is a decode error, never a panic. Tags are
//! skipped by the scanner (they may pass through unchanged between CBOR peers) and refused when
//! a value has to be decoded.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DecodeError, Elements, Format, Kind};
use crate::serializer::Serializer;

/// The CBOR format.
pub(crate) struct Cbor;

/// How deeply values may nest (deeper documents are refused before anything recurses on them).
const MAX_DEPTH: u32 = 100;

/// CBOR major types.
const UINT: u8 = 0;
const NINT: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
const TAG: u8 = 6;
const SIMPLE: u8 = 7;

fn malformed(problem: impl Into<String>) -> DecodeError {
    DecodeError::Malformed {
        serializer: Serializer::Cbor,
        problem: problem.into(),
    }
}

/// One item's head: major type and argument (`None` for an indefinite length).
#[derive(Debug, Clone, Copy)]
struct Head {
    major: u8,
    arg: Option<u64>,
    /// Offset of the initial byte.
    at: usize,
}

/// A cursor over CBOR bytes that skips whole items.
struct Scanner<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn take(&mut self, n: u64) -> Result<&[u8], DecodeError> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
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

    /// Reads one head (initial byte and argument).
    fn head(&mut self) -> Result<Head, DecodeError> {
        let at = self.pos;
        let initial = self.take(1)?[0];
        let (major, info) = (initial >> 5, initial & 0x1f);
        let arg = match info {
            0..=23 => Some(u64::from(info)),
            24..=27 => {
                let b = self.take(1 << (info - 24))?;
                Some(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
            }
            28..=30 => {
                return Err(malformed(format!(
                    "reserved additional information {info} at offset {at}"
                )));
            }
            // 31: an indefinite length (in major type 7, the "break" stop code).
            _ => {
                if matches!(major, UINT | NINT | TAG) {
                    return Err(malformed(format!(
                        "indefinite length on major type {major} at offset {at}"
                    )));
                }
                None
            }
        };
        Ok(Head { major, arg, at })
    }

    /// Skips one complete item.
    fn skip(&mut self, depth: u32) -> Result<(), DecodeError> {
        let h = self.head()?;
        self.skip_rest(h, depth)
    }

    /// Skips what follows the head `h`.
    fn skip_rest(&mut self, h: Head, depth: u32) -> Result<(), DecodeError> {
        if depth > MAX_DEPTH {
            return Err(malformed(format!("nested deeper than {MAX_DEPTH}")));
        }
        match (h.major, h.arg) {
            (UINT | NINT, _) => Ok(()),
            (BYTES | TEXT, Some(n)) => self.take(n).map(|_| ()),
            (BYTES | TEXT, None) => loop {
                // Chunks of an indefinite string are definite strings of the same type.
                let chunk = self.head()?;
                match (chunk.major, chunk.arg) {
                    (SIMPLE, None) => return Ok(()),
                    (m, Some(n)) if m == h.major => {
                        self.take(n)?;
                    }
                    _ => {
                        return Err(malformed(format!(
                            "invalid chunk in an indefinite-length string at offset {}",
                            chunk.at
                        )));
                    }
                }
            },
            (ARRAY | MAP, Some(n)) => {
                let per = if h.major == MAP { 2 } else { 1 };
                // Every item takes at least one byte: refuse counts the input cannot hold
                // before looping over them.
                let left = (self.buf.len() - self.pos) as u64;
                if n.saturating_mul(per) > left {
                    return Err(malformed(format!(
                        "truncated: {n} items announced at offset {}, {left} bytes left",
                        h.at
                    )));
                }
                for _ in 0..n * per {
                    self.skip(depth + 1)?;
                }
                Ok(())
            }
            (ARRAY | MAP, None) => {
                let mut items = 0u64;
                loop {
                    let item = self.head()?;
                    if item.major == SIMPLE && item.arg.is_none() {
                        break;
                    }
                    self.skip_rest(item, depth + 1)?;
                    items += 1;
                }
                if h.major == MAP && items % 2 == 1 {
                    return Err(malformed(format!(
                        "indefinite-length map at offset {} has a key without a value",
                        h.at
                    )));
                }
                Ok(())
            }
            (TAG, _) => self.skip(depth + 1),
            (SIMPLE, Some(_)) => Ok(()),
            (SIMPLE, None) => Err(malformed(format!("unexpected break at offset {}", h.at))),
            _ => Err(malformed(format!("invalid major type at offset {}", h.at))),
        }
    }
}

/// ciborium's errors say where and what; its `Display` is its `Debug`, so word them here.
fn describe<E: std::fmt::Debug>(e: ciborium::de::Error<E>) -> String {
    use ciborium::de::Error;
    match e {
        Error::Io(e) => format!("truncated or unreadable: {e:?}"),
        Error::Syntax(at) => format!("invalid CBOR at offset {at}"),
        Error::Semantic(Some(at), m) => format!("{m} (at offset {at})"),
        Error::Semantic(None, m) => m,
        Error::RecursionLimitExceeded => "nested too deeply".to_owned(),
    }
}

impl Format for Cbor {
    const SERIALIZER: Serializer = Serializer::Cbor;

    fn split(input: &[u8]) -> Result<Elements, DecodeError> {
        let mut s = Scanner { buf: input, pos: 0 };
        let h = s.head()?;
        if h.major != ARRAY {
            return Err(DecodeError::NotAMessage);
        }
        let mut elements = Elements::default();
        match h.arg {
            Some(n) => {
                for _ in 0..n {
                    let start = s.pos;
                    s.skip(1)?;
                    elements.push(start..s.pos);
                }
            }
            None => loop {
                let start = s.pos;
                let item = s.head()?;
                if item.major == SIMPLE && item.arg.is_none() {
                    break;
                }
                s.skip_rest(item, 1)?;
                elements.push(start..s.pos);
            },
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
        // Strings and byte strings longer than the scratch buffer are read into their own
        // allocation; a small buffer keeps the per-element cost low.
        let mut scratch = [0u8; 256];
        ciborium::de::from_reader_with_buffer(elem, &mut scratch).map_err(describe)
    }

    fn kind(elem: &[u8]) -> Kind {
        match elem.first().map(|&b| b >> 5) {
            Some(ARRAY) => Kind::List,
            Some(MAP) => Kind::Dict,
            Some(BYTES) => Kind::Binary,
            _ => Kind::Other,
        }
    }

    fn begin(out: &mut Vec<u8>, len: usize) {
        // Messages have at most 7 elements: always a one-byte head.
        debug_assert!(len < 24);
        out.push((ARRAY << 5) | (len.min(23) as u8));
    }

    fn separate(_out: &mut Vec<u8>, _index: usize) {}

    fn end(_out: &mut Vec<u8>) {}

    fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), String> {
        ciborium::ser::into_writer(v, out).map_err(|e| match e {
            ciborium::ser::Error::Io(e) => format!("{e:?}"),
            ciborium::ser::Error::Value(m) => m,
        })
    }
}
