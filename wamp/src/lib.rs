//! The WAMP v2 protocol, shared by the router, the monitor and the load generator.
//!
//! - [`message`]: the [`Message`] enum of every WAMP message a router needs;
//! - [`codec`]: `wamp.2.json` and `wamp.2.msgpack`, bytes to messages and back, never panicking;
//! - [`uri`] and [`id`]: URI rules (strict / loose, patterns) and ID ranges;
//! - [`value`]: a dynamic value that keeps binary data intact in both serializers;
//! - [`payload`]: opaque arguments, forwarded without re-encoding where possible;
//! - [`transport`]: RawSocket and WebSocket connections with their handshakes and limits;
//! - [`client`]: an async client session;
//! - [`auth`]: authentication (ticket, WAMP-CRA) for clients and the router;
//! - [`sync`]: lock helpers that survive a panicking lock holder;
//! - [`duration`]: durations as people type them on the binaries' command lines.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod auth;
pub mod client;
pub mod codec;
pub mod duration;
pub mod id;
pub mod message;
pub mod payload;
pub mod serializer;
pub mod sync;
pub mod transport;
pub mod uri;
pub mod value;

pub use client::{Session, SessionOptions};
pub use codec::{DecodeError, decode, encode};
pub use id::Id;
pub use message::Message;
pub use payload::Payload;
pub use serializer::Serializer;
pub use uri::MatchPolicy;
pub use value::{Dict, Value};
