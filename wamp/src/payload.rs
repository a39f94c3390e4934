//! Arguments and keyword arguments, kept opaque.
//!
//! A payload decoded from the wire holds the serialized bytes of its `Arguments` list and
//! `ArgumentsKw` dict, sliced out of the received frame without a copy. Encoding it again for a
//! peer of the same serializer copies those bytes verbatim; only a peer of the other serializer
//! makes the codec transcode them. Payloads built by a program hold [`Value`]s instead.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::codec::{self, DecodeError};
use crate::serializer::Serializer;
use crate::value::{Dict, Value};

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
