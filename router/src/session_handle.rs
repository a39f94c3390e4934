//! A joined session as the realm, the broker and the dealer see it: its identity, what its
//! client announced, its statistics, its quota, and the way to queue messages to it or ask it
//! to close.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;
use wamp::transport::{Outbound, TransportInfo};
use wamp::{Dict, Id, Message, Serializer, Value};

use crate::config::SlowConsumerPolicy;
use crate::limits::{Limits, Quota};
use crate::outbox::{Outbox, Overflow};
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
    /// It takes progressive call invocations (INVOCATION with `progress: true`).
    pub progressive_call_invocations: bool,
}

impl CalleeFeatures {
    /// Reads `details.roles.callee.features` of a HELLO.
    pub fn from_hello(details: &Dict) -> Self {
        let f = |name: &str| announced(details, "callee", name);
        CalleeFeatures {
            call_canceling: f("call_canceling"),
            progressive_call_results: f("progressive_call_results"),
            progressive_call_invocations: f("progressive_call_invocations"),
        }
    }
}

/// Caller features the client announced in HELLO that change what it may send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallerFeatures {
    /// It may send progressive CALLs (`progress: true`); without it, such a CALL is a protocol
    /// violation.
    pub progressive_call_invocations: bool,
}

impl CallerFeatures {
    /// Reads `details.roles.caller.features` of a HELLO.
    pub fn from_hello(details: &Dict) -> Self {
        CallerFeatures {
            progressive_call_invocations: announced(
                details,
                "caller",
                "progressive_call_invocations",
            ),
        }
    }
}

/// Whether a HELLO's `details.roles.<role>.features.<name>` is `true`.
fn announced(details: &Dict, role: &str, name: &str) -> bool {
    details
        .get("roles")
        .and_then(|r| r.get(role))
        .and_then(|c| c.get("features"))
        .and_then(|f| f.get(name))
        .and_then(Value::as_bool)
        == Some(true)
}

/// Who a session is, as its authentication established.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticated {
    /// The authenticated id.
    pub authid: String,
    /// The role its permissions come from.
    pub authrole: String,
    /// How it authenticated: `anonymous`, `ticket`, `wampcra`, `cryptosign`.
    pub authmethod: &'static str,
    /// Who vouched for it: `static` (the configuration) or `dynamic` (an authenticator).
    pub authprovider: &'static str,
    /// What a dynamic authenticator gave it (its `extra`), for WELCOME and the session's
    /// details; empty otherwise.
    pub authextra: Dict,
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSent {
    /// Larger than the peer accepts (its RawSocket limit).
    TooLarge,
    /// The queue is full: the session is being closed as a slow consumer, or (an EVENT under
    /// the realm's `drop` policy) the message was dropped.
    Full,
    /// The session's queue is closed: it is going away.
    Unavailable,
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
    /// How it authenticated.
    pub authmethod: &'static str,
    /// Who vouched for it.
    pub authprovider: &'static str,
    /// What its authenticator gave it (WELCOME's `authextra`).
    pub authextra: Dict,
    /// What its transport handshake established.
    pub transport: TransportInfo,
    /// What it supports as a callee.
    pub callee: CalleeFeatures,
    /// What it supports as a caller.
    pub caller: CallerFeatures,
    /// Its traffic statistics, when its realm has `stats` configured.
    pub stats: Option<Arc<SessionStats>>,
    /// What it holds against its limits.
    pub quota: Quota,
    /// The events it leaves to be published when it is gone.
    pub testaments: std::sync::Mutex<crate::testament::Testaments>,
    /// **[ours]** The cluster node this handle stands for, when it is not a client session but
    /// the dealer's proxy for another node (see [`crate::cluster::rpc`]); `None` otherwise.
    pub proxy_for: Option<Arc<str>>,
    outbox: Outbox,
    close: CancellationToken,
    reason: OnceLock<CloseReason>,
    /// Its realm's `options.slow_consumer`.
    slow_consumer: SlowConsumerPolicy,
    /// EVENTs dropped because its queue was full (policy `drop`), since it joined.
    dropped: AtomicU64,
    /// Whether the last EVENT for it was dropped (it is dropping now).
    dropping: AtomicBool,
    /// Woken when `dropping` changes, for its task to publish `wampstat.session.on_slow`.
    slow_changed: tokio::sync::Notify,
}

/// What `wampstat.session.on_slow` reports about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slowness {
    /// The bytes in its outbound queue.
    pub queued: usize,
    /// EVENTs dropped for it since it joined.
    pub dropped: u64,
    /// Its realm's policy.
    pub policy: SlowConsumerPolicy,
    /// Whether it is dropping events now (policy `drop`; `false` once it recovered).
    pub dropping: bool,
}

impl SessionHandle {
    /// A handle whose messages go to `outbox`.
    #[allow(clippy::too_many_arguments)] // plain data, each named at the one call site
    pub fn new(
        id: Id,
        realm: String,
        who: Authenticated,
        transport: TransportInfo,
        (callee, caller): (CalleeFeatures, CallerFeatures),
        stats: Option<Arc<SessionStats>>,
        limits: Limits,
        outbox: Outbox,
    ) -> Self {
        SessionHandle {
            id,
            realm,
            authid: who.authid,
            authrole: who.authrole,
            authmethod: who.authmethod,
            authprovider: who.authprovider,
            authextra: who.authextra,
            transport,
            callee,
            caller,
            stats,
            quota: Quota::new(limits),
            testaments: Default::default(),
            proxy_for: None,
            outbox,
            close: CancellationToken::new(),
            reason: OnceLock::new(),
            slow_consumer: SlowConsumerPolicy::Close,
            dropped: AtomicU64::new(0),
            dropping: AtomicBool::new(false),
            slow_changed: tokio::sync::Notify::new(),
        }
    }

    /// **[ours]** This handle as the dealer's proxy for cluster node `node`: what is queued to
    /// it crosses to that node (see [`crate::cluster::rpc`]).
    #[must_use]
    pub fn proxy_for(mut self, node: &str) -> Self {
        self.proxy_for = Some(node.into());
        self
    }

    /// Whether this handle is the proxy of another cluster node rather than a client session.
    pub fn is_proxy(&self) -> bool {
        self.proxy_for.is_some()
    }

    /// The handle with its realm's slow-consumer policy.
    pub fn with_slow_consumer(mut self, policy: SlowConsumerPolicy) -> Self {
        self.slow_consumer = policy;
        self
    }

    /// Its realm's slow-consumer policy.
    pub fn slow_consumer(&self) -> SlowConsumerPolicy {
        self.slow_consumer
    }

    /// Its queue, its drops and its realm's policy, for `wampstat.session.on_slow`.
    pub fn slowness(&self) -> Slowness {
        Slowness {
            queued: self.outbox.queued_bytes(),
            dropped: self.dropped.load(Ordering::Relaxed),
            policy: self.slow_consumer,
            dropping: self.dropping.load(Ordering::Relaxed),
        }
    }

    /// The most bytes its outbound queue ever held at once (the router's accounting).
    pub fn peak_queued_bytes(&self) -> usize {
        self.outbox.peak_bytes()
    }

    /// Resolves when it started or stopped dropping events (see [`Slowness::dropping`]).
    pub async fn slow_changed(&self) {
        self.slow_changed.notified().await;
    }

    /// Queues an EVENT; a passive one counts in the session's statistics but may not end a
    /// cycle (`on_stats` events: with several monitors, each one received would otherwise
    /// trigger more of them, without end). A full queue closes the session, or under the realm's `drop` policy drops and counts
    /// the event (the session's task is told when it starts and stops dropping).
    pub fn deliver_event(&self, bytes: Bytes, passive: bool) -> Result<(), NotSent> {
        let item = if passive {
            Outbound::Passive(bytes)
        } else {
            Outbound::Message(bytes)
        };
        if self.slow_consumer == SlowConsumerPolicy::Close {
            return self.enqueue(item);
        }
        if item.len() > self.transport.peer_max_message_size {
            return Err(NotSent::TooLarge);
        }
        match self.outbox.push(item) {
            Ok(()) => {
                if self.dropping.swap(false, Ordering::Relaxed) {
                    self.slow_changed.notify_one();
                }
                Ok(())
            }
            Err(Overflow::Full) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                if let Some(stats) = &self.stats {
                    stats.dropped();
                }
                if !self.dropping.swap(true, Ordering::Relaxed) {
                    self.slow_changed.notify_one();
                }
                Err(NotSent::Full)
            }
            Err(Overflow::Closed) => Err(NotSent::Unavailable),
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

    /// Queues the final answer (RESULT or ERROR) to one of its calls: like
    /// [`SessionHandle::deliver`], in the room its queue keeps for the answers it is owed (see
    /// [`Outbox::push_owed`]).
    pub fn deliver_owed(&self, bytes: Bytes) -> Result<(), NotSent> {
        self.enqueue_with(Outbound::Message(bytes), Outbox::push_owed)
    }

    /// Encodes `m`, the final answer to one of its calls, and queues it (see
    /// [`SessionHandle::deliver_owed`]).
    pub fn send_owed(&self, m: &Message) -> Result<(), NotSent> {
        match wamp::encode(self.serializer(), m) {
            Ok(bytes) => self.deliver_owed(bytes),
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

    fn enqueue(&self, item: Outbound) -> Result<(), NotSent> {
        self.enqueue_with(item, Outbox::push)
    }

    fn enqueue_with(
        &self,
        item: Outbound,
        push: impl FnOnce(&Outbox, Outbound) -> Result<(), Overflow>,
    ) -> Result<(), NotSent> {
        if let Outbound::Message(b) | Outbound::Passive(b) = &item
            && b.len() > self.transport.peer_max_message_size
        {
            return Err(NotSent::TooLarge);
        }
        match push(&self.outbox, item) {
            Ok(()) => Ok(()),
            Err(Overflow::Full) => {
                self.close(CloseReason::SlowConsumer);
                Err(NotSent::Full)
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

/// Sessions for unit tests, without sockets: a handle whose queue the test reads.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use tokio::sync::mpsc;
    use wamp::transport::{Framing, Outbound, TransportInfo};
    use wamp::{Id, Serializer};

    use super::{Authenticated, CalleeFeatures, CallerFeatures, SessionHandle};
    use crate::limits::Limits;
    use crate::options::RouterOptions;
    use crate::outbox::{Outbox, QueueLimits};

    /// A JSON RawSocket session `id` of `authrole` in realm `realm1`, with `callee` features and
    /// `limits`; the receiver holds what is queued to it.
    pub fn handle(
        id: Id,
        authrole: &str,
        callee: CalleeFeatures,
        limits: Limits,
    ) -> (SessionHandle, mpsc::Receiver<Outbound>) {
        let (outbox, rx) = Outbox::new(
            64,
            QueueLimits {
                max_bytes: 1 << 20,
                owed: 0,
            },
        );
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 1));
        let transport = TransportInfo {
            framing: Framing::RawSocket,
            serializer: Serializer::Json,
            peer: wamp::transport::Peer::Tcp(addr),
            is_secure: false,
            websocket_protocol: None,
            http_headers: Arc::new([]),
            peer_max_message_size: 1 << 20,
        };
        let h = SessionHandle::new(
            id,
            "realm1".into(),
            Authenticated {
                authid: format!("authid-{id}"),
                authrole: authrole.into(),
                authmethod: "anonymous",
                authprovider: "static",
                authextra: wamp::Dict::new(),
            },
            transport,
            (
                callee,
                CallerFeatures {
                    progressive_call_invocations: true,
                },
            ),
            None,
            limits,
            outbox,
        );
        (h, rx)
    }

    /// [`handle`] with the default limits and no callee features, for tests that do not read
    /// its queue.
    pub fn session(id: Id) -> Arc<SessionHandle> {
        let (h, _rx) = handle(
            id,
            "anonymous",
            CalleeFeatures::default(),
            RouterOptions::default().limits(),
        );
        Arc::new(h)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tokio::sync::mpsc;
    use wamp::transport::Outbound;

    use super::testing::handle;
    use super::{CalleeFeatures, NotSent, SessionHandle};
    use crate::config::SlowConsumerPolicy;
    use crate::options::RouterOptions;

    /// A session under `policy` whose queue (64 messages) the test fills and reads.
    fn session(policy: SlowConsumerPolicy) -> (SessionHandle, mpsc::Receiver<Outbound>) {
        let limits = RouterOptions::default().limits();
        let (h, rx) = handle(1, "anonymous", CalleeFeatures::default(), limits);
        (h.with_slow_consumer(policy), rx)
    }

    fn fill(h: &SessionHandle) {
        for _ in 0..64 {
            h.deliver_event(Bytes::from_static(b"[36]"), false).unwrap();
        }
    }

    #[test]
    fn under_drop_a_full_queue_drops_events_and_counts_them_until_one_fits() {
        let (h, mut rx) = session(SlowConsumerPolicy::Drop);
        fill(&h);
        for _ in 0..3 {
            assert_eq!(
                h.deliver_event(Bytes::from_static(b"[36]"), false),
                Err(NotSent::Full)
            );
        }
        let s = h.slowness();
        assert_eq!(
            (s.dropped, s.dropping, s.policy),
            (3, true, SlowConsumerPolicy::Drop)
        );
        assert!(!h.close.is_cancelled(), "not closed under drop");
        // The writer takes one: the next event fits, and the session recovered.
        let one = rx.try_recv().unwrap();
        h.outbox.written(&[one]);
        h.deliver_event(Bytes::from_static(b"[36]"), true).unwrap();
        let s = h.slowness();
        assert_eq!((s.dropped, s.dropping), (3, false));
        assert!(h.peak_queued_bytes() <= 64 * 4);
    }

    #[test]
    fn under_drop_any_other_message_that_does_not_fit_still_closes_the_session() {
        let (h, _rx) = session(SlowConsumerPolicy::Drop);
        fill(&h);
        assert_eq!(h.deliver(Bytes::from_static(b"[50]")), Err(NotSent::Full));
        assert!(h.close.is_cancelled());
    }

    #[test]
    fn under_close_a_full_queue_closes_the_session_and_drops_nothing() {
        let (h, _rx) = session(SlowConsumerPolicy::Close);
        fill(&h);
        assert_eq!(
            h.deliver_event(Bytes::from_static(b"[36]"), false),
            Err(NotSent::Full)
        );
        assert!(h.close.is_cancelled());
        assert_eq!(h.slowness().dropped, 0);
    }
}
