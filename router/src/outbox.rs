//! A session's bounded outbound queue: what others push messages into without waiting, and
//! what the session's writer drains.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc::{self, error::TrySendError};
use wamp::transport::Outbound;

/// The limits of a session's outbound queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Queued bytes above which the session is closed as a slow consumer (the message count
    /// is bounded by the channel's capacity).
    pub max_bytes: usize,
}

/// A session's bounded outbound queue: a channel bounded in messages, and a count of the bytes
/// in it (incremented by [`Outbox::push`], decremented by the writer through
/// [`Outbox::written`]) bounded by [`QueueLimits::max_bytes`].
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    queued_bytes: Arc<AtomicUsize>,
    /// The most bytes ever queued at once (the router's own proof that the limit holds).
    peak_bytes: Arc<AtomicUsize>,
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
                peak_bytes: Arc::new(AtomicUsize::new(0)),
                limits,
            },
            rx,
        )
    }

    /// Queues without waiting, accounting for the bytes.
    pub fn push(&self, item: Outbound) -> Result<(), Overflow> {
        let len = item.len();
        let now = self.queued_bytes.fetch_add(len, Ordering::Relaxed) + len;
        if now > self.limits.max_bytes {
            self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            return Err(Overflow::Full);
        }
        match self.tx.try_send(item) {
            Ok(()) => {
                // Only what was really queued: a refused item's bytes were held a moment only.
                self.peak_bytes.fetch_max(now, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
                Err(match e {
                    TrySendError::Full(_) => Overflow::Full,
                    TrySendError::Closed(_) => Overflow::Closed,
                })
            }
        }
    }

    /// The bytes queued now.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(Ordering::Relaxed)
    }

    /// The most bytes that were ever queued at once; never above [`QueueLimits::max_bytes`].
    pub fn peak_bytes(&self) -> usize {
        self.peak_bytes.load(Ordering::Relaxed)
    }

    /// Tells the queue that a batch was written (call from the writer).
    pub fn written(&self, batch: &[Outbound]) {
        let len: usize = batch.iter().map(Outbound::len).sum();
        self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
    }
}
