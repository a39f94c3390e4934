//! An EVENT's details as a subscriber gets them: kept as the bytes they came in until first
//! looked at, then decoded once. A subscriber that never looks (or wants only a key or two,
//! [`Details::get_as`]) pays nothing for the dict of strings it would otherwise build and drop.

use std::ops::Deref;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;

use crate::codec::{self, DecodeError};
use crate::payload::Part;
use crate::value::{Dict, Value};

/// The `Details` of an EVENT: a [`Dict`] (through `Deref`), decoded on first use.
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// The bytes as received, if not decoded yet.
    raw: Option<Part>,
    /// The dict, once decoded.
    dict: OnceLock<Dict>,
}

impl Details {
    /// Details still to be decoded from `raw` (a dict, by the codec's check).
    pub fn lazy(raw: Part) -> Self {
        Details {
            raw: Some(raw),
            dict: OnceLock::new(),
        }
    }

    /// Some of the details decoded straight into `T` (a struct of the keys wanted; the others
    /// are skipped), without building the whole dict.
    pub fn get_as<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        match (self.dict.get(), &self.raw) {
            (None, Some(raw)) => raw.decode(),
            (Some(d), _) => codec::from_value(&Value::Dict(d.clone())),
            (None, None) => codec::from_value(&Value::Dict(Dict::new())),
        }
    }

    /// The whole dict: decoded now if it was not yet. Details that turn out not to decode
    /// (say, a key that is not a string) count as empty, with a warning.
    pub fn dict(&self) -> &Dict {
        self.dict.get_or_init(|| match &self.raw {
            None => Dict::new(),
            Some(raw) => raw.decode().unwrap_or_else(|e| {
                tracing::warn!("client: the details of an EVENT do not decode: {e}");
                Dict::new()
            }),
        })
    }
}

impl Deref for Details {
    type Target = Dict;

    fn deref(&self) -> &Dict {
        self.dict()
    }
}

impl From<Dict> for Details {
    fn from(d: Dict) -> Self {
        Details {
            raw: None,
            dict: OnceLock::from(d),
        }
    }
}

impl PartialEq for Details {
    fn eq(&self, other: &Self) -> bool {
        self.dict() == other.dict()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serializer::Serializer;
    use crate::{dict, encode};
    use bytes::Bytes;
    use serde::Deserialize;

    fn raw(ser: Serializer, d: &Dict) -> Part {
        let m = crate::Message::Event {
            subscription: 1,
            publication: 2,
            details: d.clone(),
            payload: crate::Payload::empty(),
        };
        match codec::decode_lazy(ser, &encode(ser, &m).unwrap()).unwrap() {
            codec::Decoded::Event(e) => e.details,
            other => panic!("{other:?}"),
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Topic {
        topic: Option<String>,
    }

    #[test]
    fn decoded_on_use_whole_or_in_part() {
        let d = dict! {"topic" => "a.b", "publisher" => 7u64, "publisher_authid" => "x"};
        for ser in [Serializer::Json, Serializer::Msgpack, Serializer::Cbor] {
            let details = Details::lazy(raw(ser, &d));
            let topic = details.get_as::<Topic>().unwrap();
            assert_eq!(topic.topic.as_deref(), Some("a.b"), "{ser}");
            assert_eq!(details.get("publisher"), Some(&Value::from(7u64)), "{ser}");
            assert_eq!(*details, d, "{ser}");
            // After the whole dict was decoded, parts come from it.
            assert_eq!(details.get_as::<Topic>().unwrap(), topic, "{ser}");
        }
        let given = Details::from(d.clone());
        assert_eq!(
            given.get_as::<Topic>().unwrap().topic.as_deref(),
            Some("a.b")
        );
        assert_eq!(Details::default().get_as::<Topic>().unwrap().topic, None);
    }

    #[test]
    fn details_that_do_not_decode_count_as_empty() {
        // A msgpack map whose key is an integer: a dict by its first byte, not a valid one.
        let details = Details::lazy(Part::Raw(
            Serializer::Msgpack,
            Bytes::from_static(&[0x81, 0x01, 0x02]),
        ));
        assert!(details.is_empty());
    }
}
