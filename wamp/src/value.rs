//! A dynamic WAMP value that survives both serializers, binary data included.
//!
//! In `wamp.2.msgpack` binary is a native `bin`; in `wamp.2.json` it is a string that starts
//! with `\u0000` followed by the standard base64 of the bytes, as the specification says. The
//! conversion follows serde's `is_human_readable`, which is true for JSON and false for msgpack.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A dictionary with keys in insertion order (WAMP `Details`, `Options`, keyword arguments).
pub type Dict = IndexMap<String, Value>;

/// Any value a WAMP message can carry.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null` / `nil`.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer (non-negative integers that fit are stored here too).
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// Binary data.
    Bytes(Vec<u8>),
    /// A list.
    List(Vec<Value>),
    /// A dictionary.
    Dict(Dict),
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an unsigned integer, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Int(i) => u64::try_from(i).ok(),
            Value::UInt(u) => Some(u),
            _ => None,
        }
    }

    /// The value as a signed integer, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::UInt(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The list, if this is one.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The dictionary, if this is one.
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// The bytes, if this is binary data.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Looks a key up, if this is a dictionary.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_dict().and_then(|d| d.get(key))
    }

    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::Int(i64::from(v)) }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        i64::try_from(v).map_or(Value::UInt(v), Value::Int)
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::from(v as u64)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v)
    }
}
impl From<Dict> for Value {
    fn from(v: Dict) -> Self {
        Value::Dict(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::UInt(u) => s.serialize_u64(*u),
            Value::Float(f) => s.serialize_f64(*f),
            // In JSON a string starting with U+0000 is binary (`\0` and base64): a text that
            // starts so has no JSON form, and written as it is it would not decode again.
            Value::Str(v) if v.starts_with('\0') && s.is_human_readable() => Err(
                serde::ser::Error::custom("a string starting with U+0000 has no JSON form"),
            ),
            Value::Str(v) => s.serialize_str(v),
            Value::Bytes(b) if s.is_human_readable() => {
                let mut text = String::with_capacity(1 + b.len().div_ceil(3) * 4);
                text.push('\0');
                BASE64.encode_string(b, &mut text);
                s.serialize_str(&text)
            }
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for v in l {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Dict(d) => {
                let mut map = s.serialize_map(Some(d.len()))?;
                for (k, v) in d {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text_binary = d.is_human_readable();
        d.deserialize_any(ValueVisitor { text_binary })
    }
}

/// Builds a [`Value`]; `text_binary` turns `\0`-prefixed strings into bytes (JSON only).
struct ValueVisitor {
    text_binary: bool,
}

impl ValueVisitor {
    fn string<E: de::Error>(&self, v: &str) -> Result<Value, E> {
        match v.strip_prefix('\0') {
            Some(b64) if self.text_binary => BASE64
                .decode(b64)
                .map(Value::Bytes)
                .map_err(|e| E::custom(format_args!("invalid base64 in binary string: {e}"))),
            _ => Ok(Value::Str(v.to_owned())),
        }
    }
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a WAMP value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.string(v)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        if self.text_binary && v.starts_with('\0') {
            self.string(&v)
        } else {
            Ok(Value::Str(v))
        }
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element_seed(ValueSeed(self.text_binary))? {
            list.push(v);
        }
        Ok(Value::List(list))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut dict = Dict::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(ValueSeed(self.text_binary))?;
            dict.insert(k, v);
        }
        Ok(Value::Dict(dict))
    }
}

/// Carries the binary convention into nested values.
struct ValueSeed(bool);

impl<'de> de::DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor {
            text_binary: self.0,
        })
    }
}

/// Builds a [`Dict`] from `key => value` pairs.
#[macro_export]
macro_rules! dict {
    () => { $crate::value::Dict::new() };
    ($($k:expr => $v:expr),+ $(,)?) => {{
        let mut d = $crate::value::Dict::new();
        $( d.insert(::std::string::String::from($k), $crate::value::Value::from($v)); )+
        d
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_in_json_is_nul_base64() {
        let v = Value::List(vec![Value::Bytes(vec![0, 1, 2, 255])]);
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(text, r#"["\u0000AAEC/w=="]"#);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn binary_in_msgpack_is_bin() {
        let v = Value::Bytes(vec![1, 2, 3]);
        let bytes = rmp_serde::to_vec(&v).unwrap();
        assert_eq!(bytes, [0xc4, 3, 1, 2, 3]);
        let back: Value = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn nul_string_in_msgpack_stays_a_string() {
        let v = Value::Str("\0abc".into());
        let back: Value = rmp_serde::from_slice(&rmp_serde::to_vec(&v).unwrap()).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn dict_keeps_order() {
        let d = dict! {"z" => 1, "a" => "x", "m" => Value::Null};
        let text = serde_json::to_string(&d).unwrap();
        assert_eq!(text, r#"{"z":1,"a":"x","m":null}"#);
    }

    #[test]
    fn integers_normalise() {
        assert_eq!(Value::from(5u64), Value::Int(5));
        assert_eq!(Value::from(u64::MAX), Value::UInt(u64::MAX));
        let back: Value = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(back.as_u64(), Some(u64::MAX));
    }
}
