//! Bytes to [`Message`]s and back, for `wamp.2.json`, `wamp.2.msgpack` and `wamp.2.cbor`.
//!
//! The message layout is written once, generically over a [`Format`] that knows how to split a
//! top-level array into its elements, parse one element and write one. Decoding checks the code,
//! the arity, each element's type, IDs in [1, 2^53] and URIs (loose rules; patterns by their
//! `match` option) and returns a [`DecodeError`] for anything else — it never panics.
//! `Arguments` and `ArgumentsKw` are sliced out of the frame as they are (see [`crate::payload`]);
//! in payload pass-through mode (`ppt_scheme` or `enc_algo` in the options or details, see
//! [`crate::payload::is_passthru`]) the `Arguments` position may instead hold one binary value,
//! which is kept and forwarded the same way, never looked into.

mod cbor;
mod decode;
mod encode;
mod json;
mod msgpack;

pub use decode::{Decoded, LazyEvent};

use std::ops::Range;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::id::Id;
use crate::message::Message;
use crate::payload::Part;
use crate::serializer::Serializer;
use crate::value::Value;

/// Why bytes are not a valid WAMP message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a well-formed document of the serializer.
    #[error("malformed {serializer} message: {problem}")]
    Malformed {
        /// The serializer that was expected.
        serializer: Serializer,
        /// What is wrong.
        problem: String,
    },
    /// The document is not a non-empty array starting with an integer code.
    #[error("a WAMP message must be an array starting with an integer message code")]
    NotAMessage,
    /// The message code is not one this implementation knows.
    #[error("unknown message code {0}")]
    UnknownCode(u64),
    /// The message has too few or too many elements.
    #[error("{message} must have {min}..={max} elements, got {got}")]
    Arity {
        /// The message's name.
        message: &'static str,
        /// The fewest elements allowed.
        min: usize,
        /// The most elements allowed.
        max: usize,
        /// The number received.
        got: usize,
    },
    /// An element has the wrong type or value.
    #[error("{message}: element {index} ({field}) {problem}")]
    Element {
        /// The message's name.
        message: &'static str,
        /// The element's position in the array.
        index: usize,
        /// The element's name in the specification.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A URI breaks the URI rules; `request` lets a router answer with an ERROR (it is `None`
    /// where no ERROR may be sent: non-requests and unacknowledged publications).
    #[error("{message}: invalid URI {uri:?} in {field}")]
    InvalidUri {
        /// The message's name.
        message: &'static str,
        /// The message's code.
        code: u64,
        /// The request id of a request message, when it was read before the URI.
        request: Option<Id>,
        /// The element's name.
        field: &'static str,
        /// The offending URI.
        uri: String,
    },
    /// A payload or value could not be converted.
    #[error("invalid value: {0}")]
    Value(String),
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    /// A value could not be written in the target serializer.
    #[error("cannot encode as {serializer}: {problem}")]
    Serialize {
        /// The target serializer.
        serializer: Serializer,
        /// What went wrong.
        problem: String,
    },
    /// A raw payload part could not be transcoded between serializers.
    #[error("cannot transcode a payload: {0}")]
    Transcode(DecodeError),
}

/// Decodes one WAMP message; the payload keeps slices of `frame`.
pub fn decode(serializer: Serializer, frame: &Bytes) -> Result<Message, DecodeError> {
    match serializer {
        Serializer::Json => decode::decode_with::<json::Json>(frame),
        Serializer::Msgpack => decode::decode_with::<msgpack::Msgpack>(frame),
        Serializer::Cbor => decode::decode_with::<cbor::Cbor>(frame),
    }
}

/// Decodes one WAMP message like [`decode`], except that an EVENT's Details are left as the
/// bytes they came in ([`LazyEvent`]), for a reader that may never look at them or wants only
/// some keys (the Details' own content is then checked when it is decoded). An EVENT with a
/// binary pass-through payload is decoded in full, its Details deciding whether it is valid.
pub fn decode_lazy(serializer: Serializer, frame: &Bytes) -> Result<Decoded, DecodeError> {
    match serializer {
        Serializer::Json => decode::decode_lazy_with::<json::Json>(frame),
        Serializer::Msgpack => decode::decode_lazy_with::<msgpack::Msgpack>(frame),
        Serializer::Cbor => decode::decode_lazy_with::<cbor::Cbor>(frame),
    }
}

/// Encodes one WAMP message.
pub fn encode(serializer: Serializer, message: &Message) -> Result<Bytes, EncodeError> {
    let raw = |p: &Option<Part>| match p {
        Some(Part::Raw(_, b)) => b.len(),
        _ => 0,
    };
    let payload_len = message
        .payload()
        .map_or(0, |p| raw(&p.args) + raw(&p.kwargs));
    let mut out = Vec::with_capacity(64 + payload_len);
    match serializer {
        Serializer::Json => encode::encode_with::<json::Json>(message, &mut out)?,
        Serializer::Msgpack => encode::encode_with::<msgpack::Msgpack>(message, &mut out)?,
        Serializer::Cbor => encode::encode_with::<cbor::Cbor>(message, &mut out)?,
    }
    Ok(Bytes::from(out))
}

/// Parses one serialized value (e.g. a raw payload part) into `T`.
pub fn parse_value<T: DeserializeOwned>(
    serializer: Serializer,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    match serializer {
        Serializer::Json => json::Json::parse(bytes),
        Serializer::Msgpack => msgpack::Msgpack::parse(bytes),
        Serializer::Cbor => cbor::Cbor::parse(bytes),
    }
    .map_err(DecodeError::Value)
}

/// Converts a [`Value`] into `T` (binary data stays binary).
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, DecodeError> {
    let bytes = rmp_serde::to_vec(value).map_err(|e| DecodeError::Value(e.to_string()))?;
    rmp_serde::from_slice(&bytes).map_err(|e| DecodeError::Value(e.to_string()))
}

/// The most elements any WAMP message has.
const MAX_ELEMENTS: usize = 7;

/// Byte ranges of the elements of a top-level array.
#[derive(Debug, Default)]
pub(crate) struct Elements {
    ranges: [(u32, u32); MAX_ELEMENTS],
    len: usize,
    /// Elements beyond `MAX_ELEMENTS` (only counted, for the arity error).
    extra: usize,
}

impl Elements {
    pub(crate) fn push(&mut self, r: Range<usize>) {
        if self.len < MAX_ELEMENTS {
            // Frames are far below 4 GiB (transport limits), so offsets fit in u32.
            self.ranges[self.len] = (r.start as u32, r.end as u32);
            self.len += 1;
        } else {
            self.extra += 1;
        }
    }
    fn count(&self) -> usize {
        self.len + self.extra
    }
    fn range(&self, i: usize) -> Range<usize> {
        let (a, b) = self.ranges[i];
        a as usize..b as usize
    }
}

/// The kind of a serialized element, as far as the message layout cares.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Kind {
    List,
    Dict,
    /// Binary data (a pass-through payload, when the message is in pass-through mode).
    Binary,
    Other,
}

/// The kind of one serialized element of `serializer`, from its first bytes.
pub(crate) fn kind(serializer: Serializer, elem: &[u8]) -> Kind {
    match serializer {
        Serializer::Json => json::Json::kind(elem),
        Serializer::Msgpack => msgpack::Msgpack::kind(elem),
        Serializer::Cbor => cbor::Cbor::kind(elem),
    }
}

/// What the message layout needs of a serializer.
pub(crate) trait Format {
    const SERIALIZER: Serializer;
    /// Splits a top-level array into its elements' byte ranges.
    fn split(input: &[u8]) -> Result<Elements, DecodeError>;
    /// Parses one element.
    fn parse<T: DeserializeOwned>(elem: &[u8]) -> Result<T, String>;
    /// The kind of an element, from its first bytes.
    fn kind(elem: &[u8]) -> Kind;
    /// Starts an array of `len` elements.
    fn begin(out: &mut Vec<u8>, len: usize);
    /// Called before element `index` is written.
    fn separate(out: &mut Vec<u8>, index: usize);
    /// Ends the array.
    fn end(out: &mut Vec<u8>);
    /// Writes one value.
    fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), String>;
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cbor;
#[cfg(test)]
mod tests_lazy;
#[cfg(test)]
mod tests_passthru;
