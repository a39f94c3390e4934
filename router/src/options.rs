//! Router-wide tunables that are not part of a Crossbar configuration.

use std::time::Duration;

use crate::limits::Limits;

/// Router-wide tunables that are not part of a Crossbar configuration.
#[derive(Debug, Clone)]
pub struct RouterOptions {
    /// Capacity of each session's outbound queue, in messages; when a session's queue is full,
    /// its realm's `options.slow_consumer` says what happens (closed, or its EVENTs dropped).
    /// Beyond it the queue keeps room for the final answers owed to the session's calls in
    /// progress (at most `max_pending_calls`), so that a caller whose many calls end at once
    /// (their callee left, they timed out together) gets every answer.
    pub outbound_queue: usize,
    /// Bytes a session's outbound queue may hold before it counts as full, like
    /// `outbound_queue` (with it, this bounds a session's memory whatever the policy).
    pub outbound_bytes: usize,
    /// Subscriptions one session may hold (beyond: `wampstat.error.limit_exceeded`).
    pub max_subscriptions: usize,
    /// Registrations one session may hold.
    pub max_registrations: usize,
    /// Calls one session may have in progress.
    pub max_pending_calls: usize,
    /// The longest URI a session may use, in bytes (beyond: `wamp.error.invalid_uri`).
    pub max_uri_length: usize,
    /// How long a new connection may take from being accepted to sending HELLO (the transport
    /// handshake included).
    pub hello_timeout: Duration,
    /// How long a closing session waits for the client's GOODBYE and for its last writes.
    pub goodbye_timeout: Duration,
    /// How long a frame (RawSocket or WebSocket) may stop arriving half-way before its session is ended.
    pub frame_timeout: Duration,
    /// Connections one listener keeps open at most; beyond, new ones are refused at once.
    pub max_connections: usize,
}

impl Default for RouterOptions {
    fn default() -> Self {
        RouterOptions {
            outbound_queue: 8192,
            outbound_bytes: 32 << 20,
            max_subscriptions: 10_000,
            max_registrations: 10_000,
            max_pending_calls: 10_000,
            max_uri_length: 4096,
            hello_timeout: Duration::from_secs(10),
            goodbye_timeout: Duration::from_secs(2),
            frame_timeout: wamp::transport::STALL_TIMEOUT,
            max_connections: 20_000,
        }
    }
}

impl RouterOptions {
    /// What each session may hold.
    pub fn limits(&self) -> Limits {
        Limits {
            subscriptions: self.max_subscriptions,
            registrations: self.max_registrations,
            calls: self.max_pending_calls,
            uri_length: self.max_uri_length,
        }
    }
}
