//! Meta events: `wamp.session.on_join` / `on_stats` / `on_leave` and the subscription and
//! registration lifecycle events, published through the ordinary broker by the router's
//! internal session (authrole `trusted`, publisher disclosed), so that authorization, pattern
//! subscriptions and statistics apply to them like to any other event.

use std::time::SystemTime;

use wamp::{Dict, Id, MatchPolicy, Payload, Value, dict};

use crate::broker::{Identity, Publication};
use crate::handle::SessionHandle;
use crate::realm::Realm;
use crate::stats::Cycle;

/// The authid of the router's internal session.
pub const SERVICE_AUTHID: &str = "wampstat-router";
/// The authrole of the router's internal session.
pub const SERVICE_AUTHROLE: &str = "trusted";

/// The router's internal session of one realm, which publishes its meta events.
#[derive(Debug)]
pub struct MetaPublisher {
    /// The internal session's id (not listed among the realm's sessions).
    pub session: Id,
    enabled: bool,
}

impl MetaPublisher {
    /// The meta publisher; `enabled` false (realm option `enable_meta_api`) publishes nothing.
    pub fn new(enabled: bool) -> Self {
        MetaPublisher {
            session: wamp::id::random_id(),
            enabled,
        }
    }

    /// Whether the meta API is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn identity(&self) -> Identity<'static> {
        Identity {
            id: self.session,
            authid: SERVICE_AUTHID,
            authrole: SERVICE_AUTHROLE,
        }
    }
}

impl Realm {
    /// Publishes a meta event; `args` is only built when someone is subscribed.
    pub fn publish_meta(&self, topic: &str, args: impl FnOnce() -> Vec<Value>) {
        self.publish_meta_as(topic, false, args);
    }

    /// Publishes a meta event, queued as passive when `passive` (it then counts in the
    /// receivers' statistics without ending their cycles).
    fn publish_meta_as(&self, topic: &str, passive: bool, args: impl FnOnce() -> Vec<Value>) {
        if !self.meta.enabled() || !self.broker.has_subscribers(topic) {
            return;
        }
        let payload = Payload::from_args(args());
        let p = Publication {
            topic,
            payload: &payload,
            exclude_me: false,
            disclose: true,
            filter: None,
            passive,
        };
        self.broker.publish(&self.meta.identity(), &p);
    }

    /// `wamp.session.on_join`.
    pub fn publish_join(&self, s: &SessionHandle) {
        self.publish_meta("wamp.session.on_join", || {
            vec![Value::Dict(session_details(s))]
        });
    }

    /// `wamp.session.on_stats` for one finished cycle.
    pub fn publish_stats(&self, s: &SessionHandle, c: &Cycle) {
        if !self.broker.watched_has_subscribers(&self.stats_watch) {
            return;
        }
        // [ours] Passive: counted, but never the end of a cycle. Otherwise each on_stats a
        // monitor receives (2 rated messages) brings its own cycle closer, and with five or more
        // monitors the events would trigger more of themselves than they consume, for ever.
        self.publish_meta_as("wamp.session.on_stats", true, || {
            vec![Value::Dict(stats_info(s)), Value::Dict(stats_dict(s, c))]
        });
    }

    /// `wamp.session.on_leave`.
    pub fn publish_leave(&self, s: &SessionHandle) {
        self.publish_meta("wamp.session.on_leave", || vec![s.id.into()]);
    }

    /// `wamp.subscription.on_create` (when created) and `on_subscribe`.
    pub fn publish_subscribed(&self, session: Id, id: Id, created: bool) {
        if created {
            let Some(get) = self
                .broker
                .with_subscription(id, |s| subscription_dict(s.id, s.created, &s.uri, s.policy))
            else {
                return;
            };
            if is_meta_uri(get.get("uri").and_then(Value::as_str).unwrap_or_default()) {
                return;
            }
            self.publish_meta("wamp.subscription.on_create", || {
                vec![session.into(), Value::Dict(get)]
            });
        } else if self
            .broker
            .with_subscription(id, |s| is_meta_uri(&s.uri))
            .unwrap_or(true)
        {
            return;
        }
        self.publish_meta("wamp.subscription.on_subscribe", || {
            vec![session.into(), id.into()]
        });
    }

    /// `wamp.subscription.on_unsubscribe` and (when deleted) `on_delete`.
    pub fn publish_unsubscribed(&self, session: Id, id: Id, uri: &str, deleted: bool) {
        if is_meta_uri(uri) {
            return;
        }
        self.publish_meta("wamp.subscription.on_unsubscribe", || {
            vec![session.into(), id.into()]
        });
        if deleted {
            self.publish_meta("wamp.subscription.on_delete", || {
                vec![session.into(), id.into()]
            });
        }
    }

    /// `wamp.registration.on_create` (when created) and `on_register`.
    pub fn publish_registered(&self, session: Id, id: Id, created: bool) {
        if created {
            let Some(get) = self.dealer.with_registration(id, |r| {
                let mut d = subscription_dict(r.id, r.created, &r.uri, r.policy);
                d.insert("invoke".into(), r.invoke.as_str().into());
                d
            }) else {
                return;
            };
            self.publish_meta("wamp.registration.on_create", || {
                vec![session.into(), Value::Dict(get)]
            });
        }
        self.publish_meta("wamp.registration.on_register", || {
            vec![session.into(), id.into()]
        });
    }

    /// `wamp.registration.on_unregister` and (when deleted) `on_delete`.
    pub fn publish_unregistered(&self, session: Id, id: Id, deleted: bool) {
        self.publish_meta("wamp.registration.on_unregister", || {
            vec![session.into(), id.into()]
        });
        if deleted {
            self.publish_meta("wamp.registration.on_delete", || {
                vec![session.into(), id.into()]
            });
        }
    }
}

/// Whether `uri` is in the router's namespace (no lifecycle events for those).
pub fn is_meta_uri(uri: &str) -> bool {
    uri.starts_with("wamp.")
}

/// `created` as Crossbar writes it: ISO 8601 UTC with milliseconds, e.g. `2026-11-25T19:55:37.999Z`.
pub fn iso8601(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The `wamp.subscription.get` / `wamp.registration.get` dict (without `invoke`).
pub fn subscription_dict(id: Id, created: SystemTime, uri: &str, policy: MatchPolicy) -> Dict {
    dict! {
        "id" => id,
        "created" => iso8601(created),
        "uri" => uri,
        "match" => policy.as_str(),
    }
}

/// The `info` of an `on_stats` event.
pub fn stats_info(s: &SessionHandle) -> Dict {
    dict! {
        "realm" => s.realm.as_str(),
        "session" => s.id,
        "authid" => s.authid.as_str(),
        "authrole" => s.authrole.as_str(),
    }
}

/// The `stats` of an `on_stats` event: Crossbar's keys, then **[ours]** the rx/tx split.
pub fn stats_dict(s: &SessionHandle, c: &Cycle) -> Dict {
    let n = &c.counters;
    dict! {
        "cycle" => c.cycle,
        "serializer" => s.serializer().name(),
        "timestamp" => c.timestamp_ns,
        "duration" => c.duration_ns,
        "bytes" => n.bytes(),
        "messages" => n.messages(),
        "rated_messages" => n.rated_messages,
        "first" => c.first,
        "last" => c.last,
        "bytes_rx" => n.bytes_rx,
        "bytes_tx" => n.bytes_tx,
        "messages_rx" => n.messages_rx,
        "messages_tx" => n.messages_tx,
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// A session's details as `wamp.session.on_join` and `wamp.session.get` give them, with the keys
/// in Crossbar's order. **[ours]**: `serializer` is the serializer's name for every transport,
/// and `websocket_protocol` is null on RawSocket.
pub fn session_details(s: &SessionHandle) -> Dict {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let host = HOST.get_or_init(host_name).as_str();
    let t = &s.transport;
    let peer = t.peer_string();
    let pid = std::process::id();
    let websocket = t.framing == wamp::transport::Framing::WebSocket;
    let headers = if websocket {
        let mut h = Dict::new();
        for (k, v) in t.http_headers.iter() {
            h.insert(k.clone(), v.as_str().into());
        }
        Value::Dict(h)
    } else {
        Value::Null
    };
    dict! {
        "realm" => s.realm.as_str(),
        "session" => s.id,
        "authid" => s.authid.as_str(),
        "authrole" => s.authrole.as_str(),
        "authmethod" => "anonymous",
        "authprovider" => "static",
        "authextra" => Value::Dict(dict! {
            "x_cb_node" => host,
            "x_cb_worker" => "router",
            "x_cb_peer" => peer.as_str(),
            "x_cb_pid" => pid,
        }),
        "serializer" => s.serializer().name(),
        "transport" => Value::Dict(dict! {
            "channel_type" => "tcp",
            "channel_framing" => t.framing.name(),
            "channel_serializer" => s.serializer().name(),
            "own" => Value::Null,
            "peer" => peer.as_str(),
            "is_server" => true,
            "own_pid" => pid,
            "own_tid" => pid,
            "own_fd" => -1,
            "is_secure" => false,
            "channel_id" => Value::Dict(Dict::new()),
            "peer_cert" => Value::Null,
            "websocket_protocol" => Value::from(t.websocket_protocol.clone()),
            "websocket_extensions_in_use" => if websocket { Value::List(Vec::new()) } else { Value::Null },
            "http_headers_received" => headers,
            "http_headers_sent" => if websocket { Value::Dict(Dict::new()) } else { Value::Null },
            "http_cbtid" => Value::Null,
        }),
        "resumed" => false,
        "resumable" => false,
        "resume_token" => Value::Null,
    }
}
