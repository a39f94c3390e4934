//! The node table: every node heard on the heartbeat subject, when it was last heard, and who
//! joined and left. Pure bookkeeping (time is passed in), so it is tested without NATS.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::heartbeat::Heartbeat;

/// Whether a node is in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Heard within `node_timeout_ms`.
    Alive,
    /// Silent for longer than `node_timeout_ms`, replaced by a new incarnation, or shut down.
    Dead,
}

impl NodeState {
    /// `alive` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Alive => "alive",
            NodeState::Dead => "dead",
        }
    }
}

/// Why a node left the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftReason {
    /// No heartbeat for this long (more than `node_timeout_ms`).
    Timeout(Duration),
    /// A new incarnation of the node (it restarted) sent a heartbeat.
    Restarted,
    /// Its last heartbeat said it shuts down.
    ShutDown,
}

/// A change in the cluster's membership, for the parts of the router that react to it (the
/// sessions, registrations and calls of a node that left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// An incarnation of a node was heard for the first time, or again after it was dead.
    Joined {
        /// The node's name.
        node: String,
        /// Its incarnation.
        incarnation: String,
    },
    /// An incarnation of a node left: everything it held is gone.
    Left {
        /// The node's name.
        node: String,
        /// Its incarnation.
        incarnation: String,
        /// Why.
        reason: LeftReason,
    },
}

/// Something the table noticed that the operator must hear about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Warning {
    /// Another process uses this node's own name.
    SameNameAsMine {
        /// The name.
        node: String,
        /// The other process's incarnation.
        incarnation: String,
    },
    /// Two incarnations of one node send heartbeats at once: two processes share a name.
    DuplicateName {
        /// The name.
        node: String,
        /// The incarnations.
        incarnations: [String; 2],
    },
    /// A node's realms and roles differ from this node's.
    ConfigMismatch {
        /// The node.
        node: String,
        /// Its hash.
        theirs: String,
        /// This node's.
        ours: String,
    },
}

/// What [`NodeTable::observe`] and [`NodeTable::sweep`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Membership changes, in order.
    pub events: Vec<NodeEvent>,
    /// Warnings, each given once.
    pub warnings: Vec<Warning>,
}

/// One row of the cluster's status (`--cluster-status`, `wampstat.cluster.status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// The node's name.
    pub node: String,
    /// Its incarnation.
    pub incarnation: String,
    /// Its sessions, as of its last heartbeat.
    pub sessions: u64,
    /// How long ago its last heartbeat came (zero for the node answering).
    pub last_heartbeat: Duration,
    /// Its realms-and-roles hash.
    pub config_hash: String,
    /// Its wampstat version.
    pub version: String,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// Alive or dead.
    pub state: NodeState,
    /// Whether this row is the node answering.
    pub is_self: bool,
}

/// This node, as the table compares the others with it.
#[derive(Debug, Clone)]
pub struct Me {
    /// Its name.
    pub node: String,
    /// Its incarnation.
    pub incarnation: String,
    /// Its realms-and-roles hash.
    pub config_hash: String,
}

/// The current incarnation of one node.
#[derive(Debug)]
struct Entry {
    hb: Heartbeat,
    last_seen: Instant,
    state: NodeState,
}

/// Every node heard, by name.
#[derive(Debug)]
pub struct NodeTable {
    me: Option<Me>,
    timeout: Duration,
    nodes: BTreeMap<String, Entry>,
    /// Incarnations that were replaced by a newer one, with when they were last heard: if one
    /// is heard again while its successor lives, two processes share the name.
    replaced: HashMap<(String, String), Instant>,
    /// Warnings given, so each is given once.
    warned: HashSet<Warning>,
}

impl NodeTable {
    /// An empty table for node `me` (`None`: an observer, as `--cluster-status` is), declaring
    /// nodes dead after `timeout` without a heartbeat.
    pub fn new(me: Option<Me>, timeout: Duration) -> Self {
        NodeTable {
            me,
            timeout,
            nodes: BTreeMap::new(),
            replaced: HashMap::new(),
            warned: HashSet::new(),
        }
    }

    /// Takes in heartbeat `hb`, received at `now`.
    pub fn observe(&mut self, hb: Heartbeat, now: Instant) -> Changes {
        let mut out = Changes::default();
        if let Some(me) = &self.me {
            if hb.node == me.node {
                if hb.incarnation != me.incarnation {
                    let w = Warning::SameNameAsMine {
                        node: hb.node,
                        incarnation: hb.incarnation,
                    };
                    self.warn_once(w, &mut out);
                }
                return out;
            }
            if hb.config_hash != me.config_hash {
                let w = Warning::ConfigMismatch {
                    node: hb.node.clone(),
                    theirs: hb.config_hash.clone(),
                    ours: me.config_hash.clone(),
                };
                self.warn_once(w, &mut out);
            }
        }
        let key = (hb.node.clone(), hb.incarnation.clone());
        if let Some(seen) = self.replaced.get_mut(&key) {
            // An incarnation that was replaced speaks again: is its successor alive?
            *seen = now;
            if let Some(e) = self.nodes.get(&hb.node)
                && e.state == NodeState::Alive
            {
                let w = Warning::DuplicateName {
                    node: hb.node.clone(),
                    incarnations: [e.hb.incarnation.clone(), hb.incarnation.clone()],
                };
                self.warn_once(w, &mut out);
                return out;
            }
            self.replaced.remove(&key);
        }
        let leaving = hb.leaving;
        match self.nodes.get_mut(&hb.node) {
            Some(e) if e.hb.incarnation == hb.incarnation => {
                if e.state == NodeState::Dead && !leaving {
                    out.events.push(NodeEvent::Joined {
                        node: hb.node.clone(),
                        incarnation: hb.incarnation.clone(),
                    });
                }
                e.hb = hb;
                e.last_seen = now;
                if !leaving {
                    e.state = NodeState::Alive;
                }
            }
            Some(e) => {
                let old = std::mem::replace(
                    e,
                    Entry {
                        hb,
                        last_seen: now,
                        state: NodeState::Alive,
                    },
                );
                if old.state == NodeState::Alive {
                    out.events.push(NodeEvent::Left {
                        node: old.hb.node.clone(),
                        incarnation: old.hb.incarnation.clone(),
                        reason: LeftReason::Restarted,
                    });
                }
                self.replaced
                    .insert((old.hb.node, old.hb.incarnation), old.last_seen);
                if !leaving {
                    out.events.push(NodeEvent::Joined {
                        node: key.0.clone(),
                        incarnation: key.1.clone(),
                    });
                }
            }
            None => {
                if !leaving {
                    out.events.push(NodeEvent::Joined {
                        node: key.0.clone(),
                        incarnation: key.1.clone(),
                    });
                }
                self.nodes.insert(
                    key.0.clone(),
                    Entry {
                        hb,
                        last_seen: now,
                        state: NodeState::Alive,
                    },
                );
            }
        }
        if leaving
            && let Some(e) = self.nodes.get_mut(&key.0)
            && e.hb.incarnation == key.1
            && e.state == NodeState::Alive
        {
            e.state = NodeState::Dead;
            out.events.push(NodeEvent::Left {
                node: key.0,
                incarnation: key.1,
                reason: LeftReason::ShutDown,
            });
        }
        out
    }

    /// Declares dead every node silent for longer than the timeout at `now`.
    pub fn sweep(&mut self, now: Instant) -> Changes {
        let mut out = Changes::default();
        for e in self.nodes.values_mut() {
            let silent = now.saturating_duration_since(e.last_seen);
            if e.state == NodeState::Alive && silent > self.timeout {
                e.state = NodeState::Dead;
                out.events.push(NodeEvent::Left {
                    node: e.hb.node.clone(),
                    incarnation: e.hb.incarnation.clone(),
                    reason: LeftReason::Timeout(silent),
                });
            }
        }
        let keep = self.timeout * 2;
        self.replaced
            .retain(|_, seen| now.saturating_duration_since(*seen) <= keep);
        out
    }

    /// The nodes alive now, by name, with their incarnations (this node not included).
    pub fn alive(&self) -> BTreeMap<String, String> {
        self.nodes
            .iter()
            .filter(|(_, e)| e.state == NodeState::Alive)
            .map(|(n, e)| (n.clone(), e.hb.incarnation.clone()))
            .collect()
    }

    /// The realms in which some node alive now wants `wamp.session.on_stats` (its last
    /// heartbeat's `stats_realms`).
    pub fn stats_realms(&self) -> HashSet<String> {
        self.nodes
            .values()
            .filter(|e| e.state == NodeState::Alive)
            .flat_map(|e| e.hb.stats_realms.iter().cloned())
            .collect()
    }

    /// One row per node heard (by name), as of `now`.
    pub fn rows(&self, now: Instant) -> Vec<NodeStatus> {
        self.nodes
            .values()
            .map(|e| NodeStatus {
                node: e.hb.node.clone(),
                incarnation: e.hb.incarnation.clone(),
                sessions: e.hb.sessions,
                last_heartbeat: now.saturating_duration_since(e.last_seen),
                config_hash: e.hb.config_hash.clone(),
                version: e.hb.version.clone(),
                started_ms: e.hb.started_ms,
                state: e.state,
                is_self: false,
            })
            .collect()
    }

    fn warn_once(&mut self, w: Warning, out: &mut Changes) {
        if self.warned.insert(w.clone()) {
            out.warnings.push(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::heartbeat::HEARTBEAT_VERSION;

    const TIMEOUT: Duration = Duration::from_millis(3000);

    fn hb(node: &str, incarnation: &str) -> Heartbeat {
        Heartbeat {
            v: HEARTBEAT_VERSION,
            node: node.to_owned(),
            incarnation: incarnation.to_owned(),
            started_ms: 0,
            sessions: 0,
            config_hash: "h".to_owned(),
            version: "0.1.0".to_owned(),
            heartbeat_ms: 1000,
            leaving: false,
            stats_realms: Vec::new(),
        }
    }

    fn table() -> NodeTable {
        let me = Me {
            node: "a".to_owned(),
            incarnation: "a1".to_owned(),
            config_hash: "h".to_owned(),
        };
        NodeTable::new(Some(me), TIMEOUT)
    }

    fn joined(node: &str, incarnation: &str) -> NodeEvent {
        NodeEvent::Joined {
            node: node.to_owned(),
            incarnation: incarnation.to_owned(),
        }
    }

    fn left(node: &str, incarnation: &str, reason: LeftReason) -> NodeEvent {
        NodeEvent::Left {
            node: node.to_owned(),
            incarnation: incarnation.to_owned(),
            reason,
        }
    }

    #[test]
    fn a_node_joins_is_declared_dead_after_the_timeout_and_rejoins() {
        let mut t = table();
        let t0 = Instant::now();
        assert_eq!(t.observe(hb("b", "b1"), t0).events, vec![joined("b", "b1")]);
        assert_eq!(t.observe(hb("b", "b1"), t0 + TIMEOUT / 2).events, vec![]);
        assert_eq!(t.sweep(t0 + TIMEOUT).events, vec![]);
        let late = t0 + TIMEOUT / 2 + TIMEOUT + Duration::from_millis(1);
        let silent = TIMEOUT + Duration::from_millis(1);
        assert_eq!(
            t.sweep(late).events,
            vec![left("b", "b1", LeftReason::Timeout(silent))]
        );
        assert_eq!(t.sweep(late).events, vec![], "declared dead once");
        assert_eq!(t.rows(late)[0].state, NodeState::Dead);
        assert!(t.alive().is_empty());
        assert_eq!(
            t.observe(hb("b", "b1"), late).events,
            vec![joined("b", "b1")]
        );
        assert_eq!(t.alive().get("b").map(String::as_str), Some("b1"));
    }

    #[test]
    fn a_new_incarnation_replaces_the_old_one() {
        let mut t = table();
        let t0 = Instant::now();
        t.observe(hb("b", "b1"), t0);
        let c = t.observe(hb("b", "b2"), t0 + Duration::from_millis(10));
        assert_eq!(
            c.events,
            vec![left("b", "b1", LeftReason::Restarted), joined("b", "b2")]
        );
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn two_incarnations_at_once_are_warned_about_once() {
        let mut t = table();
        let t0 = Instant::now();
        t.observe(hb("b", "b1"), t0);
        t.observe(hb("b", "b2"), t0);
        let c = t.observe(hb("b", "b1"), t0);
        let dup = Warning::DuplicateName {
            node: "b".to_owned(),
            incarnations: ["b2".to_owned(), "b1".to_owned()],
        };
        assert_eq!(c.warnings, vec![dup]);
        assert!(c.events.is_empty());
        assert!(t.observe(hb("b", "b1"), t0).warnings.is_empty(), "once");
        // Someone else with this node's name.
        let c = t.observe(hb("a", "x"), t0);
        assert_eq!(
            c.warnings,
            vec![Warning::SameNameAsMine {
                node: "a".to_owned(),
                incarnation: "x".to_owned()
            }]
        );
        assert!(t.rows(t0).iter().all(|r| r.node != "a"));
    }

    #[test]
    fn a_config_mismatch_is_warned_about_once_and_a_leaving_node_leaves_at_once() {
        let mut t = table();
        let t0 = Instant::now();
        let mut other = hb("c", "c1");
        other.config_hash = "other".to_owned();
        let c = t.observe(other.clone(), t0);
        assert_eq!(c.warnings.len(), 1);
        assert!(t.observe(other.clone(), t0).warnings.is_empty());
        other.leaving = true;
        assert_eq!(
            t.observe(other, t0).events,
            vec![left("c", "c1", LeftReason::ShutDown)]
        );
        assert!(t.alive().is_empty());
    }
}
