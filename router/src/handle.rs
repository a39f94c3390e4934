//! The part of a session that others may touch: its identity and its bounded outbound queue.

use std::sync::OnceLock;

use bytes::Bytes;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;
use wamp::transport::{Outbound, TransportInfo};
use wamp::{Id, Message, Serializer};

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
    out: mpsc::Sender<Outbound>,
    close: CancellationToken,
    reason: OnceLock<CloseReason>,
}

impl SessionHandle {
    /// A handle whose messages go to `out`.
    pub fn new(
        id: Id,
        realm: String,
        authid: String,
        authrole: String,
        transport: TransportInfo,
        out: mpsc::Sender<Outbound>,
    ) -> Self {
        SessionHandle {
            id,
            realm,
            authid,
            authrole,
            transport,
            out,
            close: CancellationToken::new(),
            reason: OnceLock::new(),
        }
    }

    /// The serializer its messages must be encoded with.
    pub fn serializer(&self) -> Serializer {
        self.transport.serializer
    }

    /// Queues serialized bytes without waiting. A full queue closes the session (it is too slow
    /// to keep up) and the message is dropped; returns whether it was queued.
    pub fn deliver(&self, bytes: Bytes) -> bool {
        match self.out.try_send(Outbound::Message(bytes)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.close(CloseReason::SlowConsumer);
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Encodes `m` for this session and queues it (see [`SessionHandle::deliver`]).
    pub fn send(&self, m: &Message) -> bool {
        match wamp::encode(self.serializer(), m) {
            Ok(bytes) => self.deliver(bytes),
            Err(e) => {
                tracing::warn!(
                    session = self.id,
                    "cannot encode {} for this session: {e}",
                    m.name()
                );
                false
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
