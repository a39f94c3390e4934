//! The serializers a transport can negotiate.

use std::fmt;

/// A WAMP serializer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Serializer {
    /// `wamp.2.json`.
    Json,
    /// `wamp.2.msgpack`.
    Msgpack,
    /// `wamp.2.cbor` (RFC 8949).
    Cbor,
}

impl Serializer {
    /// Every serializer, in order of preference of a client that does not choose.
    pub const ALL: [Serializer; 3] = [Serializer::Json, Serializer::Msgpack, Serializer::Cbor];

    /// The short name: `json`, `msgpack` or `cbor`.
    pub fn name(self) -> &'static str {
        match self {
            Serializer::Json => "json",
            Serializer::Msgpack => "msgpack",
            Serializer::Cbor => "cbor",
        }
    }

    /// The WebSocket subprotocol: `wamp.2.json`, `wamp.2.msgpack` or `wamp.2.cbor`.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Serializer::Json => "wamp.2.json",
            Serializer::Msgpack => "wamp.2.msgpack",
            Serializer::Cbor => "wamp.2.cbor",
        }
    }

    /// The RawSocket serializer id: 1 for JSON, 2 for msgpack, 3 for CBOR.
    pub fn rawsocket_id(self) -> u8 {
        match self {
            Serializer::Json => 1,
            Serializer::Msgpack => 2,
            Serializer::Cbor => 3,
        }
    }

    /// A dense index in `0..ALL.len()`, for tables kept per serializer.
    pub fn index(self) -> usize {
        match self {
            Serializer::Json => 0,
            Serializer::Msgpack => 1,
            Serializer::Cbor => 2,
        }
    }

    /// The serializer of a short name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The serializer of a WebSocket subprotocol.
    pub fn from_subprotocol(p: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.subprotocol() == p)
    }

    /// The serializer of a RawSocket serializer id.
    pub fn from_rawsocket_id(id: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.rawsocket_id() == id)
    }

    /// Whether messages of this serializer are text (WebSocket text frames); the binary ones
    /// (msgpack, CBOR) travel in binary frames.
    pub fn is_text(self) -> bool {
        self == Serializer::Json
    }
}

impl std::str::FromStr for Serializer {
    type Err = String;

    /// Parses `json`, `msgpack` or `cbor` (for command lines).
    fn from_str(s: &str) -> Result<Self, String> {
        Serializer::from_name(s)
            .ok_or_else(|| format!("unknown serializer {s:?}: use json, msgpack or cbor"))
    }
}

impl fmt::Display for Serializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_subprotocols_round_trip() {
        for (i, s) in Serializer::ALL.into_iter().enumerate() {
            assert_eq!(s.index(), i);
            assert_eq!(Serializer::from_name(s.name()), Some(s));
            assert_eq!(Serializer::from_subprotocol(s.subprotocol()), Some(s));
            assert_eq!(Serializer::from_rawsocket_id(s.rawsocket_id()), Some(s));
            assert_eq!(s.to_string().parse::<Serializer>(), Ok(s));
        }
        assert_eq!(Serializer::from_rawsocket_id(3), Some(Serializer::Cbor));
        assert_eq!(
            Serializer::from_subprotocol("wamp.2.cbor"),
            Some(Serializer::Cbor)
        );
        assert!(!Serializer::Cbor.is_text());
        assert_eq!(
            "ubjson".parse::<Serializer>(),
            Err("unknown serializer \"ubjson\": use json, msgpack or cbor".to_owned())
        );
    }
}
