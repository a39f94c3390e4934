//! The metric families and their label sets, registered once in the router's registry and
//! shared with every realm's handles.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::capped::UriLabels;

/// Upper bounds of the call duration buckets, in seconds: 100 µs to 30 s.
const CALL_SECONDS: [f64; 17] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// Labels of the per-realm series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RealmLabels {
    /// The realm.
    pub realm: String,
}

/// Labels of the session join and leave counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SessionLabels {
    /// The realm.
    pub realm: String,
    /// The session's authrole.
    pub authrole: String,
    /// `websocket` or `rawsocket`.
    pub transport: String,
}

/// Labels of the message counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    /// The realm.
    pub realm: String,
    /// The message type, e.g. `PUBLISH`.
    pub r#type: String,
}

/// Labels of the publication counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    /// The realm.
    pub realm: String,
    /// The topic, or `other`.
    pub topic: String,
}

/// Labels of the call counter and histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProcedureLabels {
    /// The realm.
    pub realm: String,
    /// The procedure called, or `other`.
    pub procedure: String,
}

/// Labels of the error counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The realm.
    pub realm: String,
    /// The ERROR's URI, or `other`.
    pub error: String,
}

/// Labels of the authentication failure counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthLabels {
    /// The realm.
    pub realm: String,
    /// The method that failed, or `none`.
    pub authmethod: String,
}

impl UriLabels for TopicLabels {
    fn of(realm: &str, uri: &str) -> Self {
        TopicLabels {
            realm: realm.to_owned(),
            topic: uri.to_owned(),
        }
    }
}

impl UriLabels for ProcedureLabels {
    fn of(realm: &str, uri: &str) -> Self {
        ProcedureLabels {
            realm: realm.to_owned(),
            procedure: uri.to_owned(),
        }
    }
}

impl UriLabels for ErrorLabels {
    fn of(realm: &str, uri: &str) -> Self {
        ErrorLabels {
            realm: realm.to_owned(),
            error: uri.to_owned(),
        }
    }
}

fn call_histogram() -> Histogram {
    Histogram::new(CALL_SECONDS)
}

/// The metric families.
#[derive(Debug, Clone)]
pub struct Families {
    pub(super) sessions: Family<RealmLabels, Gauge>,
    pub(super) joined: Family<SessionLabels, Counter>,
    pub(super) left: Family<SessionLabels, Counter>,
    pub(super) received: Family<MessageLabels, Counter>,
    pub(super) sent: Family<MessageLabels, Counter>,
    pub(super) bytes_received: Family<RealmLabels, Counter>,
    pub(super) bytes_sent: Family<RealmLabels, Counter>,
    pub(super) publications: Family<TopicLabels, Counter>,
    pub(super) events_delivered: Family<RealmLabels, Counter>,
    pub(super) events_dropped: Family<RealmLabels, Counter>,
    pub(super) slow_consumers_closed: Family<RealmLabels, Counter>,
    pub(super) calls: Family<ProcedureLabels, Counter>,
    pub(super) call_durations: Family<ProcedureLabels, Histogram, fn() -> Histogram>,
    pub(super) errors: Family<ErrorLabels, Counter>,
    pub(super) auth_failures: Family<AuthLabels, Counter>,
}

impl Families {
    /// The families, registered in `registry` under the names dashboards rely on.
    pub fn register(registry: &mut Registry) -> Families {
        let f = Families {
            sessions: Family::default(),
            joined: Family::default(),
            left: Family::default(),
            received: Family::default(),
            sent: Family::default(),
            bytes_received: Family::default(),
            bytes_sent: Family::default(),
            publications: Family::default(),
            events_delivered: Family::default(),
            events_dropped: Family::default(),
            slow_consumers_closed: Family::default(),
            calls: Family::default(),
            call_durations: Family::new_with_constructor(call_histogram),
            errors: Family::default(),
            auth_failures: Family::default(),
        };
        registry.register(
            "wamp_sessions",
            "Sessions joined to the realm now",
            f.sessions.clone(),
        );
        registry.register(
            "wamp_sessions_joined",
            "Sessions that joined the realm",
            f.joined.clone(),
        );
        registry.register(
            "wamp_sessions_left",
            "Sessions that left the realm",
            f.left.clone(),
        );
        registry.register(
            "wamp_messages_received",
            "WAMP messages received from joined sessions, by type",
            f.received.clone(),
        );
        registry.register(
            "wamp_messages_sent",
            "WAMP messages sent to joined sessions, by type",
            f.sent.clone(),
        );
        registry.register(
            "wamp_bytes_received",
            "Bytes of WAMP messages received from joined sessions",
            f.bytes_received.clone(),
        );
        registry.register(
            "wamp_bytes_sent",
            "Bytes of WAMP messages sent to joined sessions",
            f.bytes_sent.clone(),
        );
        registry.register(
            "wamp_publications",
            "Publications accepted from clients, by topic (the first URIs of the realm; the rest as other)",
            f.publications.clone(),
        );
        registry.register(
            "wamp_events_delivered",
            "EVENTs queued to subscribers",
            f.events_delivered.clone(),
        );
        registry.register(
            "wamp_events_dropped",
            "EVENTs dropped because the subscriber's queue was full (slow_consumer drop)",
            f.events_dropped.clone(),
        );
        registry.register(
            "wamp_slow_consumers_closed",
            "Sessions closed because their queue was full (slow_consumer close)",
            f.slow_consumers_closed.clone(),
        );
        registry.register(
            "wamp_calls",
            "Calls routed to a callee, by procedure (the first URIs of the realm; the rest as other)",
            f.calls.clone(),
        );
        registry.register(
            "wamp_call_duration_seconds",
            "Time from a CALL routed to its final RESULT or ERROR, by procedure",
            f.call_durations.clone(),
        );
        registry.register(
            "wamp_errors",
            "ERROR messages sent to clients, by error URI (the first URIs of the realm; the rest as other)",
            f.errors.clone(),
        );
        registry.register(
            "wamp_auth_failures",
            "Sessions refused for failing authentication, by the method tried",
            f.auth_failures.clone(),
        );
        f
    }
}
