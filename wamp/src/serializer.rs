//! The serializers a transport can negotiate.

use std::fmt;

/// A WAMP serializer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Serializer {
    /// `wamp.2.json`.
    Json,
    /// `wamp.2.msgpack`.
    Msgpack,
}

impl Serializer {
    /// Every serializer, in order of preference of a client that does not choose.
    pub const ALL: [Serializer; 2] = [Serializer::Json, Serializer::Msgpack];

    /// The short name: `json` or `msgpack`.
    pub fn name(self) -> &'static str {
        match self {
            Serializer::Json => "json",
            Serializer::Msgpack => "msgpack",
        }
    }

    /// The WebSocket subprotocol: `wamp.2.json` or `wamp.2.msgpack`.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Serializer::Json => "wamp.2.json",
            Serializer::Msgpack => "wamp.2.msgpack",
        }
    }

    /// The RawSocket serializer id: 1 for JSON, 2 for msgpack.
    pub fn rawsocket_id(self) -> u8 {
        match self {
            Serializer::Json => 1,
            Serializer::Msgpack => 2,
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

    /// Whether messages of this serializer are text (WebSocket text frames).
    pub fn is_text(self) -> bool {
        self == Serializer::Json
    }
}

impl std::str::FromStr for Serializer {
    type Err = String;

    /// Parses `json` or `msgpack` (for command lines).
    fn from_str(s: &str) -> Result<Self, String> {
        Serializer::from_name(s)
            .ok_or_else(|| format!("unknown serializer {s:?}: use json or msgpack"))
    }
}

impl fmt::Display for Serializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
