//! One realm's metric handles, made once: counting is then an atomic add (a read lock and a
//! hash more for a series labelled by a URI).

use std::sync::OnceLock;

use bytes::Bytes;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use wamp::{Message, Serializer};

use super::capped::Capped;
use super::code::message_code;
use super::families::{
    AuthLabels, ErrorLabels, Families, MessageLabels, ProcedureLabels, RealmLabels, SessionLabels,
    TopicLabels,
};

/// Message codes are below this (YIELD is 70); index 0 counts codes not known.
const CODES: usize = 71;

/// The histogram of one procedure's call durations, handed to the dealer at CALL.
#[derive(Debug, Clone)]
pub struct CallTimer {
    histogram: Histogram,
    started: std::time::Instant,
}

impl CallTimer {
    /// The call ended (its caller got RESULT or ERROR): its duration is observed.
    pub fn finish(self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

/// One realm's metric handles.
#[derive(Debug)]
pub struct RealmMetrics {
    name: String,
    families: Families,
    sessions: Gauge,
    bytes_received: Counter,
    bytes_sent: Counter,
    received: [OnceLock<Counter>; CODES],
    sent: [OnceLock<Counter>; CODES],
    publications: Capped<TopicLabels, Counter>,
    events_delivered: Counter,
    events_dropped: Counter,
    slow_consumers_closed: Counter,
    calls: Capped<ProcedureLabels, Counter>,
    call_durations: Capped<ProcedureLabels, Histogram, fn() -> Histogram>,
    errors: Capped<ErrorLabels, Counter>,
}

impl RealmMetrics {
    /// The handles of realm `name`, whose URI-labelled series get at most `max_uris` URIs each.
    pub(super) fn new(name: &str, max_uris: usize, f: &Families) -> RealmMetrics {
        let realm = RealmLabels {
            realm: name.to_owned(),
        };
        RealmMetrics {
            name: name.to_owned(),
            families: f.clone(),
            sessions: f.sessions.get_or_create(&realm).clone(),
            bytes_received: f.bytes_received.get_or_create(&realm).clone(),
            bytes_sent: f.bytes_sent.get_or_create(&realm).clone(),
            received: std::array::from_fn(|_| OnceLock::new()),
            sent: std::array::from_fn(|_| OnceLock::new()),
            publications: Capped::new(f.publications.clone(), name, max_uris),
            events_delivered: f.events_delivered.get_or_create(&realm).clone(),
            events_dropped: f.events_dropped.get_or_create(&realm).clone(),
            slow_consumers_closed: f.slow_consumers_closed.get_or_create(&realm).clone(),
            calls: Capped::new(f.calls.clone(), name, max_uris),
            call_durations: Capped::new(f.call_durations.clone(), name, max_uris),
            errors: Capped::new(f.errors.clone(), name, max_uris),
        }
    }

    /// A session of `authrole` over `transport` (`websocket`, `rawsocket`) joined.
    pub fn joined(&self, authrole: &str, transport: &str) {
        self.sessions.inc();
        self.families
            .joined
            .get_or_create(&self.session_labels(authrole, transport))
            .inc();
    }

    /// A session of `authrole` over `transport` left.
    pub fn left(&self, authrole: &str, transport: &str) {
        self.sessions.dec();
        self.families
            .left
            .get_or_create(&self.session_labels(authrole, transport))
            .inc();
    }

    fn session_labels(&self, authrole: &str, transport: &str) -> SessionLabels {
        SessionLabels {
            realm: self.name.clone(),
            authrole: authrole.to_owned(),
            transport: transport.to_owned(),
        }
    }

    /// A session trying to join the realm failed to authenticate with `authmethod` (`none`
    /// when it offered no method the transport accepts).
    pub fn auth_failed(&self, authmethod: &str) {
        self.families
            .auth_failures
            .get_or_create(&AuthLabels {
                realm: self.name.clone(),
                authmethod: authmethod.to_owned(),
            })
            .inc();
    }

    /// A message `frame` in `serializer` was received.
    pub fn received(&self, serializer: Serializer, frame: &Bytes) {
        self.bytes_received.inc_by(frame.len() as u64);
        self.count(&self.received, &self.families.received, serializer, frame);
    }

    /// A message `frame` in `serializer` is being sent; an ERROR is counted by its URI too.
    pub fn sent(&self, serializer: Serializer, frame: &Bytes) {
        self.bytes_sent.inc_by(frame.len() as u64);
        let code = self.count(&self.sent, &self.families.sent, serializer, frame);
        if code as u64 == wamp::message::code::ERROR
            && let Ok(Message::Error { error, .. }) = wamp::decode(serializer, frame)
        {
            self.errors.get(&error).inc();
        }
    }

    /// Counts `frame` by its type in `cache`; returns its type code (0 if unknown).
    fn count(
        &self,
        cache: &[OnceLock<Counter>; CODES],
        family: &Family<MessageLabels, Counter>,
        serializer: Serializer,
        frame: &[u8],
    ) -> usize {
        let code = message_code(serializer, frame)
            .and_then(|c| usize::try_from(c).ok())
            .filter(|c| *c < CODES && wamp::message::name_of(*c as u64).is_some())
            .unwrap_or(0);
        cache[code]
            .get_or_init(|| {
                let name = wamp::message::name_of(code as u64).unwrap_or("UNKNOWN");
                let labels = MessageLabels {
                    realm: self.name.clone(),
                    r#type: name.to_owned(),
                };
                family.get_or_create(&labels).clone()
            })
            .inc();
        code
    }

    /// A client's publication to `topic` was accepted (authorized and routed).
    pub fn published(&self, topic: &str) {
        self.publications.get(topic).inc();
    }

    /// `delivered` EVENTs of one publication were queued, `dropped` were dropped for
    /// subscribers whose queue was full (policy `drop`).
    pub fn events(&self, delivered: u64, dropped: u64) {
        if delivered > 0 {
            self.events_delivered.inc_by(delivered);
        }
        if dropped > 0 {
            self.events_dropped.inc_by(dropped);
        }
    }

    /// A session was closed as a slow consumer (policy `close`).
    pub fn slow_consumer_closed(&self) {
        self.slow_consumers_closed.inc();
    }

    /// A call to `procedure` was routed to a callee; the timer is finished when it ends.
    pub fn call_started(&self, procedure: &str) -> CallTimer {
        self.calls.get(procedure).inc();
        CallTimer {
            histogram: self.call_durations.get(procedure),
            started: std::time::Instant::now(),
        }
    }
}
