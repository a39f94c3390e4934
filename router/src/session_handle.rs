//! The part of a session that others may touch: its identity, what its client announced, and
//! its bounded outbound queue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;
use wamp::transport::{Outbound, TransportInfo};
use wamp::{Dict, Id, Message, Serializer, Value};

use crate::stats::SessionStats;

/// Why the router ends a session from outside its own task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// Its outbound queue was full: it does not read fast enough.
    SlowConsumer,
    /// The router is shutting down.
    Shutdown,
    /// Killed (GOODBYE with this reason URI and message).
    Killed {
        /// The GOODBYE reason URI.
        reason: String,
        /// A human-readable message.
        message: Option<String>,
    },
}

/// Callee features the client announced in HELLO that change what the dealer may send it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CalleeFeatures {
    /// It understands INTERRUPT.
    pub call_canceling: bool,
    /// It may answer with progressive results.
    pub progressive_call_results: bool,
}

impl CalleeFeatures {
    /// Reads `details.roles.callee.features` of a HELLO.
    pub fn from_hello(details: &Dict) -> Self {
        let f = |name: &str| {
            details
                .get("roles")
                .and_then(|r| r.get("callee"))
                .and_then(|c| c.get("features"))
                .and_then(|f| f.get(name))
                .and_then(Value::as_bool)
                == Some(true)
        };
        CalleeFeatures {
            call_canceling: f("call_canceling"),
            progressive_call_results: f("progressive_call_results"),
        }
    }
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSent {
    /// Larger than the peer accepts (its RawSocket limit).
    TooLarge,
    /// The queue is full (the session is being closed as a slow consumer) or closed.
    Unavailable,
}

/// The limits of a session's outbound queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Queued bytes above which the session is closed as a slow consumer (the message count
    /// is bounded by the channel's capacity).
    pub max_bytes: usize,
}

/// A joined session as the realm, broker and dealer see it.
#[derive(Debug)]
pub struct SessionHandle {
    /// The session id.
    pub id: Id,
    /// The realm's name.
    pub realm: String,
    /// The authenticated id.
    pub authid: String,
    /// The role its permissions come from.
    pub authrole: String,
    /// What its transport handshake established.
    pub transport: TransportInfo,
    /// What it supports as a callee.
    pub callee: CalleeFeatures,
    /// Its traffic statistics, when its realm has `stats` configured.
    pub stats: Option<Arc<SessionStats>>,
    outbox: Outbox,
    close: CancellationToken,
    reason: OnceLock<CloseReason>,
}

/// A session's bounded outbound queue: a channel bounded in messages, and a count of the bytes
/// in it (incremented by [`Outbox::push`], decremented by the writer through
/// [`Outbox::written`]) bounded by [`QueueLimits::max_bytes`].
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    queued_bytes: Arc<AtomicUsize>,
    limits: QueueLimits,
}

/// Why [`Outbox::push`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Too many messages or bytes are queued.
    Full,
    /// The writer is gone.
    Closed,
}

impl Outbox {
    /// An empty queue of `capacity` messages and `limits`; the receiver goes to the writer.
    pub fn new(capacity: usize, limits: QueueLimits) -> (Outbox, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(capacity);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        (
            Outbox {
                tx,
                queued_bytes,
                limits,
            },
            rx,
        )
    }

    /// Queues without waiting, accounting for the bytes.
    pub fn push(&self, item: Outbound) -> Result<(), Overflow> {
        let len = outbound_len(&item);
        if self.queued_bytes.fetch_add(len, Ordering::Relaxed) + len > self.limits.max_bytes {
            self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            return Err(Overflow::Full);
        }
        self.tx.try_send(item).map_err(|e| {
            self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            match e {
                TrySendError::Full(_) => Overflow::Full,
                TrySendError::Closed(_) => Overflow::Closed,
            }
        })
    }

    /// Tells the queue that a batch was written (call from the writer).
    pub fn written(&self, batch: &[Outbound]) {
        let len: usize = batch.iter().map(outbound_len).sum();
        self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
    }
}

fn outbound_len(item: &Outbound) -> usize {
    match item {
        Outbound::Message(b) | Outbound::Passive(b) | Outbound::Pong(b) => b.len(),
        Outbound::Close => 0,
    }
}

impl SessionHandle {
    /// A handle whose messages go to `outbox`.
    #[allow(clippy::too_many_arguments)] // plain data, each named at the one call site
    pub fn new(
        id: Id,
        realm: String,
        authid: String,
        authrole: String,
        transport: TransportInfo,
        callee: CalleeFeatures,
        stats: Option<Arc<SessionStats>>,
        outbox: Outbox,
    ) -> Self {
        SessionHandle {
            id,
            realm,
            authid,
            authrole,
            transport,
            callee,
            stats,
            outbox,
            close: CancellationToken::new(),
            reason: OnceLock::new(),
        }
    }

    /// The serializer its messages must be encoded with.
    pub fn serializer(&self) -> Serializer {
        self.transport.serializer
    }

    /// Queues serialized bytes without waiting. A full queue (by count or bytes) closes the
    /// session as a slow consumer and drops the message.
    pub fn deliver(&self, bytes: Bytes) -> Result<(), NotSent> {
        self.enqueue(Outbound::Message(bytes))
    }

    /// Like [`SessionHandle::deliver`], for a message that counts in the session's statistics
    /// but may not end a cycle (`on_stats` events: with several monitors, each one received
    /// would otherwise trigger more of them, without end).
    pub fn deliver_passive(&self, bytes: Bytes) -> Result<(), NotSent> {
        self.enqueue(Outbound::Passive(bytes))
    }

    fn enqueue(&self, item: Outbound) -> Result<(), NotSent> {
        if let Outbound::Message(b) | Outbound::Passive(b) = &item
            && b.len() > self.transport.peer_max_message_size
        {
            return Err(NotSent::TooLarge);
        }
        match self.outbox.push(item) {
            Ok(()) => Ok(()),
            Err(Overflow::Full) => {
                self.close(CloseReason::SlowConsumer);
                Err(NotSent::Unavailable)
            }
            Err(Overflow::Closed) => Err(NotSent::Unavailable),
        }
    }

    /// Encodes `m` for this session and queues it (see [`SessionHandle::deliver`]).
    pub fn send(&self, m: &Message) -> Result<(), NotSent> {
        match wamp::encode(self.serializer(), m) {
            Ok(bytes) => self.deliver(bytes),
            Err(e) => {
                tracing::warn!(
                    session = self.id,
                    "cannot encode {} for this session: {e}",
                    m.name()
                );
                Err(NotSent::Unavailable)
            }
        }
    }

    /// Asks the session's task to end the session; the first reason given wins.
    pub fn close(&self, reason: CloseReason) {
        let _ = self.reason.set(reason);
        self.close.cancel();
    }

    /// Resolves when someone asked this session to close, with the reason.
    pub async fn close_requested(&self) -> CloseReason {
        self.close.cancelled().await;
        self.reason.get().cloned().unwrap_or(CloseReason::Shutdown)
    }
}
