//! What a client session sent and received, counted like a router's session statistics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Totals of a session's traffic (serialized WAMP messages, no transport framing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes received from the router.
    pub bytes_rx: u64,
    /// Bytes sent to the router.
    pub bytes_tx: u64,
    /// Messages received.
    pub messages_rx: u64,
    /// Messages sent.
    pub messages_tx: u64,
    /// `ceil(len / rated_message_size)` summed over both directions.
    pub rated_messages: u64,
}

/// Lock-free counters behind [`Traffic`].
#[derive(Debug)]
pub(crate) struct TrafficCounters {
    rated_size: u64,
    bytes_rx: AtomicU64,
    bytes_tx: AtomicU64,
    messages_rx: AtomicU64,
    messages_tx: AtomicU64,
    rated: AtomicU64,
}

impl TrafficCounters {
    pub(crate) fn new(rated_message_size: u32) -> Self {
        TrafficCounters {
            rated_size: u64::from(rated_message_size.max(1)),
            bytes_rx: AtomicU64::new(0),
            bytes_tx: AtomicU64::new(0),
            messages_rx: AtomicU64::new(0),
            messages_tx: AtomicU64::new(0),
            rated: AtomicU64::new(0),
        }
    }

    /// Counts one message of `len` bytes, received (`rx`) or sent.
    pub(crate) fn count(&self, rx: bool, len: usize) {
        let len = len as u64;
        let (bytes, messages) = if rx {
            (&self.bytes_rx, &self.messages_rx)
        } else {
            (&self.bytes_tx, &self.messages_tx)
        };
        bytes.fetch_add(len, Ordering::Relaxed);
        messages.fetch_add(1, Ordering::Relaxed);
        self.rated
            .fetch_add(len.div_ceil(self.rated_size).max(1), Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Traffic {
        Traffic {
            bytes_rx: self.bytes_rx.load(Ordering::Relaxed),
            bytes_tx: self.bytes_tx.load(Ordering::Relaxed),
            messages_rx: self.messages_rx.load(Ordering::Relaxed),
            messages_tx: self.messages_tx.load(Ordering::Relaxed),
            rated_messages: self.rated.load(Ordering::Relaxed),
        }
    }
}

/// Reads a session's traffic counters, also after the session ended.
#[derive(Debug, Clone)]
pub struct TrafficHandle(pub(crate) std::sync::Arc<TrafficCounters>);

impl TrafficHandle {
    /// The totals now.
    pub fn snapshot(&self) -> Traffic {
        self.0.snapshot()
    }
}
