//! A realm: its configuration (roles), its sessions, its broker and its dealer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use wamp::Id;

use crate::broker::{Broker, TopicWatch};
use crate::config::{RealmConfig, RoleConfig};
use crate::dealer::Dealer;
use crate::handle::SessionHandle;
use crate::meta::MetaPublisher;
use crate::sync::{read, write};
use crate::uri_index::fresh_id;

/// One realm of the router.
#[derive(Debug)]
pub struct Realm {
    /// The realm's configuration.
    pub config: RealmConfig,
    /// Subscriptions and publications.
    pub broker: Broker,
    /// Registrations and calls.
    pub dealer: Dealer,
    /// The internal session that publishes meta events.
    pub meta: MetaPublisher,
    /// Whether anyone subscribes to `wamp.session.on_stats`, cached.
    pub stats_watch: TopicWatch,
    sessions: RwLock<HashMap<Id, Arc<SessionHandle>>>,
}

impl Realm {
    /// An empty realm.
    pub fn new(config: RealmConfig) -> Self {
        Realm {
            meta: MetaPublisher::new(config.enable_meta_api),
            config,
            broker: Broker::default(),
            stats_watch: TopicWatch::new("wamp.session.on_stats"),
            dealer: Dealer::default(),
            sessions: RwLock::new(HashMap::new()),
        }
    }

    /// The realm's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The role called `name`, if the realm defines it.
    pub fn role(&self, name: &str) -> Option<&RoleConfig> {
        self.config.roles.iter().find(|r| r.name == name)
    }

    /// Adds a session with a fresh random id made by `make`; returns its handle.
    pub fn attach(&self, make: impl FnOnce(Id) -> SessionHandle) -> Arc<SessionHandle> {
        let mut sessions = write(&self.sessions);
        let id = fresh_id(|id| sessions.contains_key(&id));
        let handle = Arc::new(make(id));
        sessions.insert(id, Arc::clone(&handle));
        handle
    }

    /// Removes a session and everything it held in the broker and the dealer, publishing the
    /// subscription and registration meta events that this implies.
    pub fn detach(&self, id: Id) {
        write(&self.sessions).remove(&id);
        for u in self.broker.detach(id) {
            self.publish_unsubscribed(id, u.id, &u.uri, u.deleted);
        }
        for (reg, deleted) in self.dealer.detach(id) {
            self.publish_unregistered(id, reg, deleted);
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
