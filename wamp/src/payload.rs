//! Arguments and keyword arguments, kept opaque.
//!
//! A payload decoded from the wire holds the serialized bytes of its `Arguments` list and
//! `ArgumentsKw` dict, sliced out of the received frame without a copy. Encoding it again for a
//! peer of the same serializer copies those bytes verbatim; only a peer of the other serializer
//! makes the codec transcode them. Payloads built by a program hold [`Value`]s instead.
//!
//! In payload pass-through mode (the spec's Payload Passthru Mode: `ppt_scheme` in the options
//! or details; autobahn's and Crossbar's payload transparency: `enc_algo`, e.g. `cryptobox`
//! end-to-end encryption) the `Arguments` position may hold one binary value instead of a list:
//! an opaque payload that peers forward unchanged. It is kept like any other part, so the same
//! serializer copies it verbatim and another one writes the very same bytes in its own binary
//! form (JSON: `\u0000` and base64; msgpack: `bin`; CBOR: a byte string).

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::codec::{self, DecodeError};
use crate::serializer::Serializer;
use crate::value::{Dict, Value};

/// The option and detail keys of payload pass-through: the spec's `ppt_*` and autobahn's
/// (Crossbar's) `enc_*`. A router copies them from PUBLISH to EVENT, CALL to INVOCATION, YIELD
/// to RESULT (a callee's ERROR goes to its caller with its details as they are).
pub const PASSTHRU_KEYS: [&str; 7] = [
    "ppt_scheme",
    "ppt_serializer",
    "ppt_cipher",
    "ppt_keyid",
    "enc_algo",
    "enc_key",
    "enc_serializer",
];

/// Whether options or details put a message in payload pass-through mode: they carry
/// `ppt_scheme` or `enc_algo`.
pub fn is_passthru(options: &Dict) -> bool {
    options.contains_key("ppt_scheme") || options.contains_key("enc_algo")
}

/// The pass-through keys of `options` (see [`PASSTHRU_KEYS`]), in that order, to go into the
/// details of the message that forwards it.
pub fn passthru_keys(options: &Dict) -> Dict {
    PASSTHRU_KEYS
        .iter()
        .filter_map(|k| options.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect()
}

/// One part of a payload: serialized bytes of a known serializer, or a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Bytes as received, in `Serializer`'s format.
    Raw(Serializer, Bytes),
    /// A value built by a program.
    Value(Value),
}

impl Part {
    /// Decodes this part into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        match self {
            Part::Raw(ser, bytes) => codec::parse_value(*ser, bytes),
            Part::Value(v) => codec::from_value(v),
        }
    }
}

/// The `Arguments` and `ArgumentsKw` of a message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payload {
    /// The positional arguments (a list), if any.
    pub args: Option<Part>,
    /// The keyword arguments (a dict), if any.
    pub kwargs: Option<Part>,
}

impl Payload {
    /// No arguments.
    pub const fn empty() -> Self {
        Payload {
            args: None,
            kwargs: None,
        }
    }

    /// Positional arguments only.
    pub fn from_args(args: Vec<Value>) -> Self {
        Payload {
            args: Some(Part::Value(Value::List(args))),
            kwargs: None,
        }
    }

    /// Positional and keyword arguments.
    pub fn new(args: Vec<Value>, kwargs: Dict) -> Self {
        Payload {
            args: Some(Part::Value(Value::List(args))),
            kwargs: Some(Part::Value(Value::Dict(kwargs))),
        }
    }

    /// A pass-through payload: `bytes`, opaque, in place of the arguments list (the options or
    /// details that go with it must carry `ppt_scheme` or `enc_algo`).
    pub fn passthru(bytes: impl Into<Vec<u8>>) -> Self {
        Payload {
            args: Some(Part::Value(Value::Bytes(bytes.into()))),
            kwargs: None,
        }
    }

    /// Whether the arguments position holds one binary value (a pass-through payload) rather
    /// than a list.
    pub fn is_binary(&self) -> bool {
        match &self.args {
            Some(Part::Raw(ser, bytes)) => codec::kind(*ser, bytes) == codec::Kind::Binary,
            Some(Part::Value(v)) => v.as_bytes().is_some(),
            None => false,
        }
    }

    /// The bytes of a pass-through payload; `None` when the arguments are not binary.
    pub fn passthru_bytes(&self) -> Option<Result<Vec<u8>, DecodeError>> {
        if !self.is_binary() {
            return None;
        }
        let args = self.args.as_ref()?;
        Some(args.decode::<Value>().and_then(|v| match v {
            Value::Bytes(b) => Ok(b),
            _ => Err(DecodeError::Value("the payload is not binary".into())),
        }))
    }

    /// Whether there are neither arguments nor keyword arguments.
    pub fn is_empty(&self) -> bool {
        self.args.is_none() && self.kwargs.is_none()
    }

    /// How many message elements this payload takes: 0, 1 (args) or 2 (args and kwargs).
    pub fn element_count(&self) -> usize {
        match (&self.args, &self.kwargs) {
            (_, Some(_)) => 2,
            (Some(_), None) => 1,
            (None, None) => 0,
        }
    }

    /// The positional arguments as values (empty when absent).
    pub fn args(&self) -> Result<Vec<Value>, DecodeError> {
        self.args.as_ref().map_or(Ok(Vec::new()), Part::decode)
    }

    /// The keyword arguments as a dict (empty when absent).
    pub fn kwargs(&self) -> Result<Dict, DecodeError> {
        self.kwargs.as_ref().map_or(Ok(Dict::new()), Part::decode)
    }

    /// The positional arguments decoded into `T` (a tuple or a struct of a list's shape).
    pub fn args_as<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        match &self.args {
            Some(p) => p.decode(),
            None => codec::from_value(&Value::List(Vec::new())),
        }
    }
}
