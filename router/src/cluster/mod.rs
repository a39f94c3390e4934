//! **[ours]** A cluster of routers over NATS (issue 17; the design: `../shared/cluster.md`): the
//! foundation the cross-node pub/sub, RPC and meta API stand on, and pub/sub across nodes: the
//! NATS subjects of WAMP names ([`names`]), the envelope a publication crosses in
//! ([`envelope`]), the subjects a node's subscriptions need ([`interest`]) and each realm's
//! task that subscribes to them, sends publications and delivers what arrives ([`pubsub`]); and
//! the session meta procedures for every node, asked, answered and merged over NATS
//! ([`meta`]).
//!
//! A node with a `cluster` block connects to NATS in the background ([`connection`]), publishes
//! a [`heartbeat::Heartbeat`] every `heartbeat_ms` and keeps a [`nodes::NodeTable`] of every node
//! it hears; a node silent for `node_timeout_ms` has left. The rest of the router reads it all
//! through a [`Cluster`] handle: the table ([`Cluster::status`]), the live members as a `watch`
//! channel ([`Cluster::members`]) and the joins and leaves as they happen
//! ([`Cluster::events`]). A node without the block never creates one: no NATS code runs.
//!
//! When NATS is unreachable — at start or later — the node serves its local sessions as a
//! single router would, logs the outage once, and keeps reconnecting (at most
//! [`connection::MAX_RECONNECT_DELAY`] apart); no heartbeat is queued meanwhile, and the other
//! nodes, unheard, are declared dead after `node_timeout_ms` and rejoin when heard again.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt as _;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::config::ClusterConfig;

pub mod connection;
pub mod envelope;
pub mod heartbeat;
pub mod interest;
pub mod meta;
pub mod names;
pub mod nodes;
pub mod pubsub;
pub mod registry;
pub mod remote_sessions;
pub mod rpc;
pub mod status;
pub mod subjects;

pub use connection::ClusterError;
pub use heartbeat::Heartbeat;
pub use nodes::{LeftReason, NodeEvent, NodeState, NodeStatus};

use heartbeat::HEARTBEAT_VERSION;
use nodes::{Changes, Me, NodeTable, Warning};

/// The error URI of `wampstat.cluster.status` on a router without a `cluster` block.
pub const NOT_CLUSTERED: &str = "wampstat.error.not_clustered";

/// The error of a request that needs another node while this node cannot reach it: NATS is
/// down, the node does not listen, or (a meta procedure's `get`/`kill`) a node that may hold
/// the session is silent.
pub const CLUSTER_UNAVAILABLE: &str = "wampstat.error.cluster_unavailable";

/// How many membership events a slow reader of [`Cluster::events`] may fall behind.
const EVENT_BACKLOG: usize = 256;

/// This node's part in the cluster, shared by every realm: its identity, the node table, and the
/// channels later steps react to. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Cluster {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: ClusterConfig,
    incarnation: String,
    started_ms: u64,
    config_hash: String,
    /// The local sessions as of the last heartbeat.
    sessions: AtomicU64,
    connected: Arc<connection::Link>,
    table: Mutex<NodeTable>,
    members: watch::Sender<Arc<BTreeMap<String, String>>>,
    events: broadcast::Sender<NodeEvent>,
    /// The realms whose `on_stats` this node wants (as of its last heartbeat).
    stats_realms: Mutex<Vec<String>>,
    /// The realms in which another node alive now wants `on_stats`.
    wanted_stats: std::sync::RwLock<std::collections::HashSet<String>>,
    /// The NATS client once [`Cluster::run`] has made it (it reconnects by itself).
    client: watch::Sender<Option<async_nats::Client>>,
}

/// Counts the node's local sessions (all realms) for its heartbeat.
pub type SessionCounter = Box<dyn Fn() -> usize + Send + Sync>;

/// The realms in which a local session subscribes to `wamp.session.on_stats`, for the
/// heartbeat.
pub type StatsRealms = Box<dyn Fn() -> Vec<String> + Send + Sync>;

impl Cluster {
    /// The handle of node `config.node` with the realms-and-roles hash `config_hash`; nothing
    /// runs until [`Cluster::run`].
    pub fn new(config: ClusterConfig, config_hash: String) -> Cluster {
        let incarnation = heartbeat::new_incarnation();
        let me = Me {
            node: config.node.clone(),
            incarnation: incarnation.clone(),
            config_hash: config_hash.clone(),
        };
        let table = NodeTable::new(Some(me), config.node_timeout);
        let started_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Cluster {
            inner: Arc::new(Shared {
                config,
                incarnation,
                started_ms,
                config_hash,
                sessions: AtomicU64::new(0),
                connected: Arc::new(connection::Link::default()),
                table: Mutex::new(table),
                members: watch::Sender::new(Arc::new(BTreeMap::new())),
                events: broadcast::Sender::new(EVENT_BACKLOG),
                stats_realms: Mutex::new(Vec::new()),
                wanted_stats: Default::default(),
                client: watch::Sender::new(None),
            }),
        }
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.inner.config.node
    }

    /// The cluster's `subject_prefix`.
    pub fn subject_prefix(&self) -> &str {
        &self.inner.config.subject_prefix
    }

    /// The NATS client, once [`Cluster::run`] has made it (at once when the server is up or
    /// not: it connects and reconnects in the background); waits for ever on a node whose
    /// connection could not even be set up.
    pub async fn client(&self) -> async_nats::Client {
        let mut rx = self.inner.client.subscribe();
        loop {
            if let Some(c) = rx.borrow_and_update().as_ref() {
                return c.clone();
            }
            if rx.changed().await.is_err() {
                // The sender lives as long as `self`: never.
                std::future::pending::<()>().await;
            }
        }
    }

    /// The largest message the NATS server takes (its `max_payload`), once connected.
    pub fn max_payload(&self) -> Option<usize> {
        let client = self.inner.client.borrow();
        let max = client.as_ref()?.server_info().max_payload;
        (max > 0).then_some(max)
    }

    /// This process's incarnation id.
    pub fn incarnation(&self) -> &str {
        &self.inner.incarnation
    }

    /// Whether the NATS connection is up now.
    pub fn is_connected(&self) -> bool {
        self.inner.connected.is_up()
    }

    /// Changes each time the NATS connection is lost.
    pub fn losses(&self) -> watch::Receiver<u64> {
        self.inner.connected.losses()
    }

    /// The other nodes alive now (name → incarnation), updated as they join and leave.
    pub fn members(&self) -> watch::Receiver<Arc<BTreeMap<String, String>>> {
        self.inner.members.subscribe()
    }

    /// Every join and leave from now on (a reader more than 256 behind loses the oldest and is
    /// told so by `RecvError::Lagged`).
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    /// The status: this node first, then every node heard, by name.
    pub fn status(&self) -> Vec<NodeStatus> {
        let s = &self.inner;
        let mut rows = vec![NodeStatus {
            node: s.config.node.clone(),
            incarnation: s.incarnation.clone(),
            sessions: s.sessions.load(Ordering::Relaxed),
            last_heartbeat: Duration::ZERO,
            config_hash: s.config_hash.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_ms: s.started_ms,
            state: NodeState::Alive,
            is_self: true,
        }];
        rows.extend(self.table().rows(Instant::now()));
        rows
    }

    /// Runs the node until `shutdown`: connects to NATS, heartbeats, listens to the others'
    /// heartbeats and declares the silent ones dead. Returns at once if the connection cannot
    /// even be set up (an unreadable credentials file), after logging why.
    pub async fn run(
        self,
        (sessions, stats_realms): (SessionCounter, StatsRealms),
        shutdown: CancellationToken,
    ) {
        let cfg = &self.inner.config;
        tracing::info!(
            "cluster: node {} (incarnation {}) joins over NATS at {} (auth: {}), heartbeat {} ms, \
             node timeout {} ms",
            cfg.node,
            self.inner.incarnation,
            cfg.nats.url,
            cfg.nats.auth.method(),
            cfg.heartbeat.as_millis(),
            cfg.node_timeout.as_millis()
        );
        let name = format!("wampstat-{}", cfg.node);
        let connected = Arc::clone(&self.inner.connected);
        let client = match connection::options(cfg, name, connection::Mode::Node, connected).await {
            Ok(o) => connection::connect(cfg, o, connection::CONNECT_TIMEOUT).await,
            Err(e) => Err(e),
        };
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("cluster: {e}; this node runs alone");
                return;
            }
        };
        self.inner.client.send_replace(Some(client.clone()));
        let subject = subjects::heartbeats(&cfg.subject_prefix);
        let mut sub = match client.subscribe(subject.clone()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(
                    "cluster: cannot subscribe to {subject}: {e}; this node runs alone"
                );
                return;
            }
        };
        let own_subject = subjects::heartbeat(&cfg.subject_prefix, &cfg.node);
        let mut beat = tokio::time::interval(cfg.heartbeat);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sweep =
            tokio::time::interval((cfg.node_timeout / 10).max(Duration::from_millis(20)));
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut outage = Outage::default();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = beat.tick() => {
                    let n = sessions();
                    self.inner.sessions.store(n as u64, Ordering::Relaxed);
                    *lock(&self.inner.stats_realms) = stats_realms();
                    if !self.is_connected() {
                        outage.still_down(&cfg.nats.url, cfg.heartbeat.max(connection::CONNECT_TIMEOUT));
                        continue;
                    }
                    outage.over();
                    let body = self.heartbeat(false).encode();
                    // Bounded: a stalled connection must not stall the heartbeat loop.
                    let publish = client.publish(own_subject.clone(), body.into());
                    if let Ok(Err(e)) = tokio::time::timeout(cfg.heartbeat, publish).await {
                        tracing::debug!("cluster: heartbeat not sent: {e}");
                    }
                }
                msg = sub.next() => {
                    let Some(msg) = msg else {
                        tracing::error!("cluster: the heartbeat subscription ended; this node runs alone");
                        break;
                    };
                    self.received(&msg);
                }
                _ = sweep.tick() => {
                    let changes = self.table().sweep(Instant::now());
                    self.apply(changes);
                }
            }
        }
        if self.is_connected() {
            // The others see this node leave at once instead of after node_timeout_ms.
            let body = self.heartbeat(true).encode();
            let bye = async {
                let _ = client.publish(own_subject, body.into()).await;
                let _ = client.flush().await;
            };
            let _ = tokio::time::timeout(Duration::from_millis(500), bye).await;
        }
    }

    /// This node's heartbeat now.
    fn heartbeat(&self, leaving: bool) -> Heartbeat {
        let s = &self.inner;
        Heartbeat {
            v: HEARTBEAT_VERSION,
            node: s.config.node.clone(),
            incarnation: s.incarnation.clone(),
            started_ms: s.started_ms,
            sessions: s.sessions.load(Ordering::Relaxed),
            config_hash: s.config_hash.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            heartbeat_ms: u64::try_from(s.config.heartbeat.as_millis()).unwrap_or(u64::MAX),
            leaving,
            stats_realms: lock(&s.stats_realms).clone(),
        }
    }

    /// **[ours]** Whether another node alive now has a session subscribed to
    /// `wamp.session.on_stats` in `realm` (as its heartbeats say): this node seals its
    /// `on_stats` for the backplane only then.
    pub fn others_want_stats(&self, realm: &str) -> bool {
        self.inner
            .wanted_stats
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(realm)
    }

    /// Takes in a message from the heartbeat subject.
    fn received(&self, msg: &async_nats::Message) {
        let prefix = &self.inner.config.subject_prefix;
        let Some(node) = subjects::heartbeat_node(prefix, &msg.subject) else {
            return;
        };
        match Heartbeat::decode(&msg.payload, node) {
            Ok(hb) => {
                let changes = self.table().observe(hb, Instant::now());
                self.apply(changes);
            }
            Err(e) => tracing::debug!("cluster: ignored a message on {}: {e}", msg.subject),
        }
    }

    /// Logs and publishes what the table found.
    fn apply(&self, changes: Changes) {
        let wanted = self.table().stats_realms();
        let unchanged = *self
            .inner
            .wanted_stats
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            == wanted;
        if !unchanged {
            *self
                .inner
                .wanted_stats
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = wanted;
        }
        let Changes { events, warnings } = changes;
        for w in warnings {
            log_warning(&w, self.node());
        }
        if events.is_empty() {
            return;
        }
        for e in &events {
            match e {
                NodeEvent::Joined { node, incarnation } => {
                    tracing::info!(
                        "cluster: node {node} joined the cluster (incarnation {incarnation})"
                    );
                }
                NodeEvent::Left {
                    node,
                    incarnation,
                    reason,
                } => match reason {
                    LeftReason::Timeout(silent) => tracing::warn!(
                        "cluster: node {node} left the cluster (no heartbeat for {} ms{})",
                        silent.as_millis(),
                        if self.is_connected() {
                            ""
                        } else {
                            "; this node is cut off from NATS"
                        }
                    ),
                    LeftReason::Restarted => tracing::info!(
                        "cluster: node {node} left the cluster (restarted: incarnation {incarnation} replaced)"
                    ),
                    LeftReason::ShutDown => {
                        tracing::info!("cluster: node {node} left the cluster (shut down)")
                    }
                },
            }
        }
        let alive = Arc::new(self.table().alive());
        self.inner.members.send_replace(alive);
        for e in events {
            // No receiver is fine: nothing reacts to membership yet.
            let _ = self.inner.events.send(e);
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, NodeTable> {
        // The table holds no invariant a panic half-way could break beyond one stale entry.
        self.inner
            .table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Logs a warning of the node table, loudly for the ones that break the cluster.
fn log_warning(w: &Warning, me: &str) {
    match w {
        Warning::SameNameAsMine { node, incarnation } => tracing::error!(
            "cluster: ANOTHER PROCESS USES THIS NODE'S NAME {node:?} (its incarnation \
             {incarnation}); give every node its own \"cluster.node\" ({me} is this one)"
        ),
        Warning::DuplicateName { node, incarnations } => tracing::error!(
            "cluster: TWO PROCESSES CALL THEMSELVES {node:?} (incarnations {} and {}); give \
             every node its own \"cluster.node\"",
            incarnations[0],
            incarnations[1]
        ),
        Warning::ConfigMismatch { node, theirs, ours } => tracing::warn!(
            "cluster: node {node} has other realms or roles than this node (config hash {theirs}, \
             ours {ours}); every node should load the same realms and roles"
        ),
    }
}

/// Whether NATS is down, to log an outage once and then every minute.
#[derive(Debug, Default)]
struct Outage {
    since: Option<Instant>,
    told: Option<Instant>,
}

impl Outage {
    /// The connection is not up at a heartbeat; said once it has been down for `grace`.
    fn still_down(&mut self, url: &str, grace: Duration) {
        let now = Instant::now();
        let since = *self.since.get_or_insert(now);
        if now.duration_since(since) < grace {
            return;
        }
        if self
            .told
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(60))
        {
            self.told = Some(now);
            tracing::warn!(
                "cluster: not connected to NATS at {url} (for {} s); serving local sessions \
                 alone and retrying",
                now.duration_since(since).as_secs()
            );
        }
    }

    /// The connection is up.
    fn over(&mut self) {
        self.since = None;
        self.told = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{NatsAuth, NatsConfig};

    fn cluster() -> Cluster {
        let config = ClusterConfig {
            node: "node-a".to_owned(),
            nats: NatsConfig {
                url: "nats://127.0.0.1:4222".to_owned(),
                auth: NatsAuth::None,
            },
            subject_prefix: "wampstat".to_owned(),
            heartbeat: Duration::from_millis(100),
            node_timeout: Duration::from_millis(300),
        };
        Cluster::new(config, "hash".to_owned())
    }

    #[test]
    fn the_handle_tells_of_joins_and_leaves_and_lists_itself_first() {
        let c = cluster();
        let mut events = c.events();
        let members = c.members();
        let mut hb = c.heartbeat(false);
        hb.node = "node-b".to_owned();
        hb.incarnation = "b1".to_owned();
        hb.sessions = 7;
        let t0 = Instant::now();
        let changes = c.table().observe(hb, t0);
        c.apply(changes);
        let joined = NodeEvent::Joined {
            node: "node-b".to_owned(),
            incarnation: "b1".to_owned(),
        };
        assert_eq!(events.try_recv().ok(), Some(joined));
        assert_eq!(
            members.borrow().get("node-b").map(String::as_str),
            Some("b1")
        );
        let rows = c.status();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].is_self && rows[0].node == "node-a");
        assert_eq!((rows[1].node.as_str(), rows[1].sessions), ("node-b", 7));

        let changes = c.table().sweep(t0 + Duration::from_millis(301));
        c.apply(changes);
        assert!(matches!(
            events.try_recv(),
            Ok(NodeEvent::Left {
                reason: LeftReason::Timeout(_),
                ..
            })
        ));
        assert!(members.borrow().is_empty());
        assert_eq!(c.status()[1].state, NodeState::Dead);
        assert!(!c.is_connected());
    }
}
