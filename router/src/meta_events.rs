//! Meta events: `wamp.session.on_join` / `on_stats` / `on_leave` and the subscription and
//! registration lifecycle events, published through the ordinary broker by the router's
//! internal session (authrole `trusted`, publisher disclosed), so that authorization, pattern
//! subscriptions and statistics apply to them like to any other event.

use std::sync::Arc;
use std::time::SystemTime;

use wamp::{Dict, Id, MatchPolicy, Payload, Value};

use crate::authorize::is_router_uri;
use crate::broker::{Broker, Identity, Publication, TopicWatch, Unsubscribed};
use crate::dealer::InvokePolicy;
use crate::meta_details::{
    registration_dict, session_details, slow_dict, stats_dict, stats_info, subscription_dict,
};
use crate::session_handle::{SessionHandle, Slowness};
use crate::stats::Cycle;

/// The authid of the router's internal session.
pub const SERVICE_AUTHID: &str = "wampstat-router";
/// The authrole of the router's internal session.
pub const SERVICE_AUTHROLE: &str = "trusted";

/// The meta events of one realm: the router's internal session, which publishes them into the
/// realm's broker.
#[derive(Debug)]
pub struct MetaEvents {
    broker: Arc<Broker>,
    /// The internal session's id (not listed among the realm's sessions).
    session: Id,
    /// Realm option `enable_meta_api`: `false` publishes nothing.
    enabled: bool,
    /// Whether anyone subscribes to `wamp.session.on_stats`, cached.
    stats_watch: TopicWatch,
    /// The node's name in session details (`authextra.x_cb_node`).
    pub node: Arc<str>,
    /// **[ours]** In a cluster: the realm's backplane, which takes every meta event to the
    /// other nodes (their monitors may subscribe where this node has none).
    pub backplane: Option<Arc<crate::cluster::pubsub::Backplane>>,
    /// **[ours]** In a cluster: the node's handle, which tells whether other nodes want
    /// `on_stats`.
    pub cluster: Option<crate::cluster::Cluster>,
}

/// A meta event on `topic` with `payload`: disclosed (the router's internal session), to
/// everyone, passive when `passive`.
fn meta_publication<'a>(topic: &'a str, payload: &'a Payload, passive: bool) -> Publication<'a> {
    Publication {
        topic,
        payload,
        exclude_me: false,
        disclose: true,
        passthru: Dict::new(),
        filter: None,
        passive,
    }
}

impl MetaEvents {
    /// The meta events published into `broker`; `enabled` false publishes nothing; `node`
    /// names the node in session details.
    pub fn new(broker: Arc<Broker>, enabled: bool, node: Arc<str>) -> Self {
        MetaEvents {
            node,
            broker,
            session: wamp::id::random_id(),
            enabled,
            stats_watch: TopicWatch::new("wamp.session.on_stats"),
            backplane: None,
            cluster: None,
        }
    }

    fn identity(&self) -> Identity<'static> {
        Identity {
            id: self.session,
            authid: SERVICE_AUTHID,
            authrole: SERVICE_AUTHROLE,
        }
    }

    /// Publishes a meta event; `args` is only built when someone is subscribed (**[ours]** or,
    /// in a cluster, always: it goes to the other nodes, whose monitors this node cannot see).
    /// Queued as passive when `passive` (it then counts in the receivers' statistics without
    /// ending their cycles).
    fn publish(&self, topic: &str, passive: bool, args: impl FnOnce() -> Vec<Value>) {
        self.publish_crossing(topic, passive, true, args);
    }

    /// [`MetaEvents::publish`], sealed for the other nodes only when `cross`.
    fn publish_crossing(
        &self,
        topic: &str,
        passive: bool,
        cross: bool,
        args: impl FnOnce() -> Vec<Value>,
    ) {
        if !self.enabled {
            return;
        }
        let local = self.broker.has_subscribers(topic);
        let backplane = self.backplane.as_ref().filter(|_| cross);
        if !local && backplane.is_none() {
            return;
        }
        let payload = Payload::from_args(args());
        let p = meta_publication(topic, &payload, passive);
        let Some(backplane) = backplane else {
            self.broker.publish(&self.identity(), &p);
            return;
        };
        let publication = if local {
            self.broker.publish(&self.identity(), &p)
        } else {
            wamp::id::random_id()
        };
        // The router's own values: msgpack is the compact one.
        backplane.publish(wamp::Serializer::Msgpack, &self.identity(), publication, &p);
    }

    /// `wamp.session.on_join`.
    pub fn on_join(&self, s: &SessionHandle) {
        self.publish("wamp.session.on_join", false, || {
            vec![Value::Dict(session_details(s, &self.node))]
        });
    }

    /// `wamp.session.on_stats` for one finished cycle.
    pub fn on_stats(&self, s: &SessionHandle, c: &Cycle) {
        // [ours] In a cluster, sealed for the backplane only while another node has a
        // subscriber (its heartbeats say so): on_stats is the meta event of greatest volume.
        let elsewhere = self
            .cluster
            .as_ref()
            .is_some_and(|c| c.others_want_stats(&s.realm));
        if !elsewhere && !self.stats_wanted_here() {
            return;
        }
        // [ours] Passive: counted, but never the end of a cycle. Otherwise each on_stats a
        // monitor receives (2 rated messages) brings its own cycle closer, and with five or more
        // monitors the events would trigger more of themselves than they consume, for ever.
        self.publish_crossing("wamp.session.on_stats", true, elsewhere, || {
            vec![Value::Dict(stats_info(s)), Value::Dict(stats_dict(s, c))]
        });
    }

    /// **[ours]** Whether a session of this node subscribes to `wamp.session.on_stats`.
    pub fn stats_wanted_here(&self) -> bool {
        self.broker.watched_has_subscribers(&self.stats_watch)
    }

    /// **[ours]** `wampstat.session.on_slow` `[info, {queued, dropped, policy, dropping}]`
    /// (`info` as in `on_stats`): the session's queue was full. Policy `close`: once, before
    /// it is closed; policy `drop`: when it starts dropping events and when it recovers.
    pub fn on_slow(&self, s: &SessionHandle, slow: &Slowness) {
        self.publish("wampstat.session.on_slow", false, || {
            vec![Value::Dict(stats_info(s)), Value::Dict(slow_dict(slow))]
        });
    }

    /// `wamp.session.on_leave`.
    pub fn on_leave(&self, s: &SessionHandle) {
        self.publish("wamp.session.on_leave", false, || vec![s.id.into()]);
    }

    /// **[ours]** `wamp.session.on_leave` of session `id` of a node that died, to this node's
    /// subscribers only (every surviving node tells its own).
    pub fn on_remote_leave(&self, id: Id) {
        let topic = "wamp.session.on_leave";
        if !self.enabled || !self.broker.has_subscribers(topic) {
            return;
        }
        let payload = Payload::from_args(vec![id.into()]);
        self.broker
            .publish(&self.identity(), &meta_publication(topic, &payload, false));
    }

    /// `wamp.subscription.on_create` (when this subscribe created the subscription, at
    /// `created`) and `on_subscribe`; none for the router's own URIs.
    pub fn on_subscribe(
        &self,
        session: Id,
        id: Id,
        uri: &str,
        policy: MatchPolicy,
        created: Option<SystemTime>,
    ) {
        if is_router_uri(uri) {
            return;
        }
        if let Some(at) = created {
            self.publish("wamp.subscription.on_create", false, || {
                vec![
                    session.into(),
                    Value::Dict(subscription_dict(id, at, uri, policy)),
                ]
            });
        }
        self.publish("wamp.subscription.on_subscribe", false, || {
            vec![session.into(), id.into()]
        });
    }

    /// `wamp.subscription.on_unsubscribe` and (when deleted) `on_delete`; none for the router's
    /// own URIs.
    pub fn on_unsubscribe(&self, session: Id, u: &Unsubscribed) {
        if is_router_uri(&u.uri) {
            return;
        }
        self.publish("wamp.subscription.on_unsubscribe", false, || {
            vec![session.into(), u.id.into()]
        });
        if u.deleted {
            self.publish("wamp.subscription.on_delete", false, || {
                vec![session.into(), u.id.into()]
            });
        }
    }

    /// `wamp.registration.on_create` (when this register created the registration, at
    /// `created`) and `on_register`.
    pub fn on_register(
        &self,
        session: Id,
        id: Id,
        uri: &str,
        policy: MatchPolicy,
        invoke: InvokePolicy,
        created: Option<SystemTime>,
    ) {
        if let Some(at) = created {
            self.publish("wamp.registration.on_create", false, || {
                vec![
                    session.into(),
                    Value::Dict(registration_dict(id, at, uri, policy, invoke)),
                ]
            });
        }
        self.publish("wamp.registration.on_register", false, || {
            vec![session.into(), id.into()]
        });
    }

    /// `wamp.registration.on_unregister` and (when deleted) `on_delete`.
    pub fn on_unregister(&self, session: Id, id: Id, deleted: bool) {
        self.publish("wamp.registration.on_unregister", false, || {
            vec![session.into(), id.into()]
        });
        if deleted {
            self.publish("wamp.registration.on_delete", false, || {
                vec![session.into(), id.into()]
            });
        }
    }
}
