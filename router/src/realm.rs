//! A realm: its configuration (roles), its sessions, its broker, its dealer and its meta
//! events. Each of those owns its own state; the realm adds and removes sessions.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use wamp::Id;
use wamp::sync::{read, write};

use crate::broker::Broker;
use crate::config::{RealmConfig, RoleConfig};
use crate::dealer::Dealer;
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
    sessions: RwLock<HashMap<Id, Arc<SessionHandle>>>,
}

impl Realm {
    /// An empty realm, recording its metrics in `metrics` if any.
    pub fn new(config: RealmConfig, metrics: Option<Arc<RealmMetrics>>) -> Self {
        let broker = Arc::new(Broker::default().with_metrics(metrics.clone()));
        let history = crate::history::History::new(&config.event_history);
        Realm {
            events: MetaEvents::new(Arc::clone(&broker), config.enable_meta_api),
            config,
            broker,
            dealer: Dealer::default().with_metrics(metrics.clone()),
            metrics,
            retained: Default::default(),
            history,
            sessions: RwLock::new(HashMap::new()),
        }
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
        for u in self.broker.detach(id) {
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

    /// Every joined session.
    pub fn sessions(&self) -> Vec<Arc<SessionHandle>> {
        read(&self.sessions).values().cloned().collect()
    }
}
