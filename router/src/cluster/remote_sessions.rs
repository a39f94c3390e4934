//! The sessions of the other nodes of a realm, as their `wamp.session.on_join` and `on_leave`
//! told, so that when a node dies its sessions can be reported as left
//! (`wamp.session.on_leave` to this node's monitors) by the survivors.

use std::collections::{HashMap, HashSet};

use wamp::{Id, Value};

/// The other nodes' sessions of one realm, by node.
#[derive(Debug, Default)]
pub struct RemoteSessions {
    by_node: HashMap<String, HashSet<Id>>,
    node_of: HashMap<Id, String>,
}

impl RemoteSessions {
    /// Takes in meta event `topic` with arguments `args`, from another node: an on_join adds
    /// its session (its details name the node in `authextra.x_cb_node`), an on_leave removes
    /// it. Anything else, or a malformed one, changes nothing.
    pub fn observe(&mut self, topic: &str, args: &[Value]) {
        match topic {
            "wamp.session.on_join" => {
                let Some(Value::Dict(d)) = args.first() else {
                    return;
                };
                let session = d.get("session").and_then(Value::as_u64);
                let node = d
                    .get("authextra")
                    .and_then(|x| x.get("x_cb_node"))
                    .and_then(Value::as_str);
                if let (Some(id), Some(node)) = (session, node) {
                    self.joined(node, id);
                }
            }
            "wamp.session.on_leave" => {
                if let Some(id) = args.first().and_then(Value::as_u64) {
                    self.left(id);
                }
            }
            _ => {}
        }
    }

    /// Session `id` joined on node `node`.
    pub fn joined(&mut self, node: &str, id: Id) {
        if let Some(old) = self.node_of.insert(id, node.to_owned())
            && let Some(set) = self.by_node.get_mut(&old)
        {
            set.remove(&id);
        }
        self.by_node.entry(node.to_owned()).or_default().insert(id);
    }

    /// Session `id` left.
    pub fn left(&mut self, id: Id) {
        if let Some(node) = self.node_of.remove(&id)
            && let Some(set) = self.by_node.get_mut(&node)
        {
            set.remove(&id);
            if set.is_empty() {
                self.by_node.remove(&node);
            }
        }
    }

    /// Node `node` is gone: the sessions it still had, in id order, forgotten.
    pub fn node_left(&mut self, node: &str) -> Vec<Id> {
        let mut ids: Vec<Id> = self.by_node.remove(node).into_iter().flatten().collect();
        ids.sort_unstable();
        for id in &ids {
            self.node_of.remove(id);
        }
        ids
    }

    /// How many sessions of other nodes are known.
    pub fn len(&self) -> usize {
        self.node_of.len()
    }

    /// Whether no session of another node is known.
    pub fn is_empty(&self) -> bool {
        self.node_of.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp::dict;

    fn join(id: Id, node: &str) -> Vec<Value> {
        vec![Value::Dict(dict! {
            "session" => id,
            "authextra" => Value::Dict(dict! {"x_cb_node" => node}),
        })]
    }

    #[test]
    fn a_dead_nodes_sessions_are_those_that_joined_there_and_did_not_leave() {
        let mut r = RemoteSessions::default();
        r.observe("wamp.session.on_join", &join(1, "b"));
        r.observe("wamp.session.on_join", &join(2, "b"));
        r.observe("wamp.session.on_join", &join(3, "c"));
        r.observe("wamp.session.on_leave", &[Value::from(2u64)]);
        // Malformed or unrelated events change nothing.
        r.observe("wamp.session.on_join", &[Value::from("x")]);
        r.observe(
            "wamp.session.on_join",
            &[Value::Dict(dict! {"session" => 9u64})],
        );
        r.observe("wamp.session.on_leave", &[]);
        r.observe("com.example", &join(4, "b"));
        assert_eq!(r.len(), 2);
        assert_eq!(r.node_left("b"), [1]);
        assert_eq!(r.node_left("b"), Vec::<Id>::new(), "forgotten");
        assert_eq!(r.node_left("c"), [3]);
        assert!(r.is_empty());
    }
}
