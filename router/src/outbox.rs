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
    /// is bounded by the capacity given to [`Outbox::new`]).
    pub max_bytes: usize,
    /// Room kept beyond that capacity for the final answers owed to the session's calls in
    /// progress ([`Outbox::push_owed`]): its `max_pending_calls`, since each call has one.
    pub owed: usize,
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
    /// An empty queue of `capacity` messages (and room for `limits.owed` answers more) and
    /// `limits`; the receiver goes to the writer.
    pub fn new(capacity: usize, limits: QueueLimits) -> (Outbox, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(capacity.max(1).saturating_add(limits.owed));
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

    /// Queues without waiting, accounting for the bytes; refused beyond the capacity in
    /// messages or the limit in bytes.
    pub fn push(&self, item: Outbound) -> Result<(), Overflow> {
        // The channel's free room less what is kept for owed answers (pushes racing here may
        // take a slot or two of that room; the channel still bounds the whole).
        if self.tx.capacity() <= self.limits.owed && !self.tx.is_closed() {
            return Err(Overflow::Full);
        }
        self.push_owed(item)
    }

    /// Queues the final answer to a call of the session (its RESULT or ERROR) like
    /// [`Outbox::push`], but in the room kept for such answers when the capacity is reached:
    /// a caller that reads is never closed because many of its calls end at once (a callee
    /// leaving, calls timing out together). Still refused beyond the limit in bytes.
    pub fn push_owed(&self, item: Outbound) -> Result<(), Overflow> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Outbound {
        Outbound::Message(bytes::Bytes::from_static(b"[8,48,1,{},\"e\"]"))
    }

    #[test]
    fn owed_answers_have_room_of_their_own_beyond_the_capacity() {
        let limits = QueueLimits {
            max_bytes: 1 << 20,
            owed: 3,
        };
        let (out, mut rx) = Outbox::new(2, limits);
        assert_eq!(out.push(message()), Ok(()));
        assert_eq!(out.push(message()), Ok(()));
        assert_eq!(out.push(message()), Err(Overflow::Full), "at the capacity");
        for _ in 0..3 {
            assert_eq!(out.push_owed(message()), Ok(()), "the owed room");
        }
        assert_eq!(out.push_owed(message()), Err(Overflow::Full), "and no more");
        // Read: room again, first for owed answers.
        let _ = rx.try_recv();
        assert_eq!(out.push(message()), Err(Overflow::Full));
        assert_eq!(out.push_owed(message()), Ok(()));
        drop(rx);
        assert_eq!(out.push(message()), Err(Overflow::Closed));
    }
}
