//! A realm: its configuration (roles), its sessions, its broker, its dealer and its meta
//! events. Each of those owns its own state; the realm adds and removes sessions.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use wamp::Id;
use wamp::sync::{lock, read, write};

use crate::broker::Broker;
use crate::config::{RealmConfig, RoleConfig};
use crate::dealer::{Dealer, DealerCounts};
use crate::meta_events::MetaEvents;
use crate::metrics::RealmMetrics;
use crate::session_handle::SessionHandle;
use crate::uri_index::fresh_id;

/// A session limit of the realm that a new session would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// `max_sessions`, with its value.
    Realm(usize),
    /// `max_sessions_per_authid`, with its value.
    Authid(usize),
}

/// What a realm holds, counted: for tests that compare the routing state with a model of it
/// and check that nothing is left once every session has gone (see
/// [`crate::Router::routing_counts`]). Not part of the router's API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoutingCounts {
    /// Joined sessions.
    pub sessions: usize,
    /// Testaments held by the joined sessions, both scopes.
    pub testaments: usize,
    /// Subscriptions.
    pub subscriptions: usize,
    /// Subscribers, summed over the subscriptions.
    pub subscribers: usize,
    /// Sessions the broker indexes as holding a subscription.
    pub subscribing_sessions: usize,
    /// Registrations.
    pub registrations: usize,
    /// Callees, summed over the registrations.
    pub callees: usize,
    /// Sessions the dealer indexes as holding a registration.
    pub registering_sessions: usize,
    /// Calls in progress (the router's own included).
    pub pending_calls: usize,
    /// Calls in progress indexed by (caller, request id).
    pub calls_by_request: usize,
    /// Sessions the dealer indexes as caller or callee of a call in progress.
    pub sessions_with_calls: usize,
    /// (registration, callee) pairs registered with `forward_timeout`.
    pub forward_timeouts: usize,
    /// Request ids of progressive calls that ended before their final CALL.
    pub ended_early: usize,
}

/// One realm of the router.
#[derive(Debug)]
pub struct Realm {
    /// The realm's configuration.
    pub config: RealmConfig,
    /// Subscriptions and publications.
    pub broker: Arc<Broker>,
    /// Registrations and calls.
    pub dealer: Dealer,
    /// The meta events, published into the broker.
    pub events: MetaEvents,
    /// The last retained event of each topic.
    pub retained: crate::retention::Retained,
    /// The events kept for `wamp.subscription.get_events`.
    pub history: crate::history::History,
    /// Its Prometheus handles, when the router records metrics.
    pub metrics: Option<Arc<RealmMetrics>>,
    /// The node's name in session details (`authextra.x_cb_node`): the cluster block's `node`,
    /// or the host name.
    pub node: Arc<str>,
    /// **[ours]** The node's part in a cluster, when the configuration has a `cluster` block.
    pub cluster: Option<crate::cluster::Cluster>,
    /// **[ours]** The realm's pub/sub across the cluster's nodes, with `cluster`.
    pub backplane: Option<Arc<crate::cluster::pubsub::Backplane>>,
    /// **[ours]** The realm's RPC across the cluster's nodes (the proxies of the other
    /// nodes), with `cluster`.
    pub relay: Option<Arc<crate::cluster::rpc::Relay>>,
    /// **[ours]** The realm's registrations across the cluster, with `cluster`.
    pub registry: Option<Arc<crate::cluster::registry::Registry>>,
    sessions: RwLock<HashMap<Id, Arc<SessionHandle>>>,
}

impl Realm {
    /// An empty realm, recording its metrics in `metrics` if any.
    pub fn new(config: RealmConfig, metrics: Option<Arc<RealmMetrics>>) -> Self {
        let broker = Arc::new(Broker::default().with_metrics(metrics.clone()));
        let history = crate::history::History::new(&config.event_history);
        let node: Arc<str> = crate::meta_details::host_name().into();
        Realm {
            events: MetaEvents::new(
                Arc::clone(&broker),
                config.enable_meta_api,
                Arc::clone(&node),
            ),
            node,
            cluster: None,
            backplane: None,
            relay: None,
            registry: None,
            config,
            broker,
            dealer: Dealer::default().with_metrics(metrics.clone()),
            metrics,
            retained: Default::default(),
            history,
            sessions: RwLock::new(HashMap::new()),
        }
    }

    /// This realm on node `cluster` (its name in session details, its cluster status).
    #[must_use]
    pub fn in_cluster(mut self, cluster: crate::cluster::Cluster) -> Self {
        self.node = cluster.node().into();
        self.events.node = Arc::clone(&self.node);
        let backplane = Arc::new(crate::cluster::pubsub::Backplane::new(
            cluster.subject_prefix(),
            &self.config.name,
        ));
        self.events.backplane = Some(Arc::clone(&backplane));
        self.events.cluster = Some(cluster.clone());
        self.backplane = Some(backplane);
        let prefix = cluster.subject_prefix();
        let registry = Arc::new(crate::cluster::registry::Registry::new(
            prefix,
            &self.config.name,
        ));
        let tell = Arc::clone(&registry);
        self.dealer = std::mem::take(&mut self.dealer)
            .with_local_changes(Arc::new(move |uri, policy| tell.local_changed(uri, policy)));
        self.registry = Some(registry);
        self.relay = Some(Arc::new(crate::cluster::rpc::Relay::new(
            prefix,
            &self.config.name,
        )));
        self.cluster = Some(cluster);
        self
    }

    /// The realm's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The role called `name`, if the realm defines it.
    pub fn role(&self, name: &str) -> Option<&RoleConfig> {
        self.config.role(name)
    }

    /// Adds a session of `authid` made by `make` with the id `preferred` (announced in a
    /// WAMP-CRA challenge), or a fresh random one if that is taken; returns its handle. The
    /// realm's session limits are checked under the same lock that adds it, so concurrent
    /// HELLOs cannot together exceed them; a full realm refuses with the limit it reached.
    pub fn attach(
        &self,
        preferred: Id,
        authid: &str,
        make: impl FnOnce(Id) -> SessionHandle,
    ) -> Result<Arc<SessionHandle>, Full> {
        let mut sessions = write(&self.sessions);
        if let Some(max) = self.config.max_sessions
            && sessions.len() >= max
        {
            return Err(Full::Realm(max));
        }
        if let Some(max) = self.config.max_sessions_per_authid
            && sessions.values().filter(|s| s.authid == authid).count() >= max
        {
            return Err(Full::Authid(max));
        }
        let id = if sessions.contains_key(&preferred) {
            fresh_id(|id| sessions.contains_key(&id))
        } else {
            preferred
        };
        let handle = Arc::new(make(id));
        sessions.insert(id, Arc::clone(&handle));
        Ok(handle)
    }

    /// Removes a session and everything it held in the broker and the dealer, publishing the
    /// subscription and registration meta events that this implies.
    pub fn detach(&self, id: Id) {
        write(&self.sessions).remove(&id);
        let left = match &self.backplane {
            // The interest changes with the broker, under its lock.
            Some(b) => {
                let mut interest = b.interest();
                let left = self.broker.detach(id);
                for u in left.iter().filter(|u| u.deleted) {
                    interest.remove(&u.uri, u.policy);
                }
                left
            }
            None => self.broker.detach(id),
        };
        for u in left {
            self.events.on_unsubscribe(id, &u);
        }
        for (reg, deleted) in self.dealer.detach(id) {
            self.events.on_unregister(id, reg, deleted);
        }
    }

    /// The session with `id`, if it is joined.
    pub fn session(&self, id: Id) -> Option<Arc<SessionHandle>> {
        read(&self.sessions).get(&id).cloned()
    }

    /// What the realm holds, counted (each part under its own lock, so only consistent as a
    /// whole while nothing happens in the realm).
    pub fn routing_counts(&self) -> RoutingCounts {
        let sessions = self.sessions();
        let testaments = sessions.iter().map(|s| lock(&s.testaments).len()).sum();
        let (subscriptions, subscribers, subscribing_sessions) = self.broker.counts();
        let DealerCounts {
            registrations,
            callees,
            registering_sessions,
            pending_calls,
            calls_by_request,
            sessions_with_calls,
            forward_timeouts,
            ended_early,
        } = self.dealer.counts();
        RoutingCounts {
            sessions: sessions.len(),
            testaments,
            subscriptions,
            subscribers,
            subscribing_sessions,
            registrations,
            callees,
            registering_sessions,
            pending_calls,
            calls_by_request,
            sessions_with_calls,
            forward_timeouts,
            ended_early,
        }
    }

    /// How many sessions are joined.
    pub fn session_count(&self) -> usize {
        read(&self.sessions).len()
    }

    /// Every joined session.
    pub fn sessions(&self) -> Vec<Arc<SessionHandle>> {
        read(&self.sessions).values().cloned().collect()
    }
}
