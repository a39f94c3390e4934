//! How the answers of the cluster's nodes to one session procedure become one answer
//! ([`crate::cluster::meta`] gathers them): pure functions of the nodes' payloads.
//!
//! - `wamp.session.count`, `wamp.session.kill_all`: the sum of the nodes' numbers.
//! - `wamp.session.list`, `kill_by_authid`, `kill_by_authrole`: every node's ids in one list,
//!   sorted by id (as one router lists its own).
//! - `wampstat.session.stats`: every node's rows in one list, sorted by session id (each row
//!   names its node in `authextra.x_cb_node`).
//! - `wamp.session.get`, `wamp.session.kill`: the answer of the node that holds the session
//!   (a session id is unique cluster-wide in practice: the first that says it has it).
//! - `wampstat.session.summary`: the counts added key by key (`total`, and each `by_*` dict,
//!   its keys sorted).

use wamp::{Dict, Payload, Value};

/// How the answers to a session procedure merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// The sum of each node's number (the first argument).
    Sum,
    /// Every node's ids (the first argument, a list), sorted.
    Ids,
    /// Every node's rows (the first argument, a list of dicts), sorted by `session`.
    Rows,
    /// The answer of the one node that holds the session.
    Holder,
    /// The keyword arguments added key by key.
    Summary,
}

impl Merge {
    /// How the answers to `procedure` merge, if it is a session procedure that answers for the
    /// whole cluster.
    pub fn of(procedure: &str) -> Option<Merge> {
        Some(match procedure {
            "wamp.session.count" | "wamp.session.kill_all" => Merge::Sum,
            "wamp.session.list"
            | "wamp.session.kill_by_authid"
            | "wamp.session.kill_by_authrole" => Merge::Ids,
            "wampstat.session.stats" => Merge::Rows,
            "wamp.session.get" | "wamp.session.kill" => Merge::Holder,
            "wampstat.session.summary" => Merge::Summary,
            _ => return None,
        })
    }

    /// The one answer of the nodes' successful `answers` (this node's first); `None` only for
    /// [`Merge::Holder`] when no node has the session. What a node answered outside the shape
    /// (another version's) is left out rather than failing the whole answer.
    pub fn merge(self, answers: &[Payload]) -> Option<Payload> {
        if self == Merge::Holder {
            return answers.first().cloned();
        }
        if self == Merge::Summary {
            let mut total = Dict::new();
            for p in answers {
                add_dict(&mut total, &p.kwargs().unwrap_or_default());
            }
            return Some(Payload::new(Vec::new(), total));
        }
        let firsts = answers
            .iter()
            .filter_map(|p| p.args().ok()?.into_iter().next());
        let merged = if self == Merge::Sum {
            Value::from(firsts.filter_map(|v| v.as_u64()).sum::<u64>())
        } else {
            let mut all: Vec<Value> = firsts
                .filter_map(|v| match v {
                    Value::List(l) => Some(l),
                    _ => None,
                })
                .flatten()
                .collect();
            if self == Merge::Ids {
                all.sort_by_key(Value::as_u64);
            } else {
                all.sort_by_key(|row| row.get("session").and_then(Value::as_u64));
            }
            Value::List(all)
        };
        Some(Payload::from_args(vec![merged]))
    }
}

/// Adds `more` into `into` key by key: integers are summed, dicts added recursively (their
/// keys sorted); a key only in `more` is taken as it is.
fn add_dict(into: &mut Dict, more: &Dict) {
    for (k, v) in more {
        match (into.get_mut(k), v) {
            (None, _) => {
                into.insert(k.clone(), v.clone());
            }
            (Some(Value::Dict(a)), Value::Dict(b)) => {
                add_dict(a, b);
                a.sort_keys();
            }
            (Some(a), b) => {
                if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
                    *a = Value::from(x.saturating_add(y));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::one;
    use wamp::dict;

    use super::*;

    fn ids(l: &[u64]) -> Value {
        Value::List(l.iter().map(|&i| Value::from(i)).collect())
    }

    #[test]
    fn every_session_procedure_has_a_merge() {
        for p in crate::meta_procedures::CLUSTER_WIDE {
            assert!(Merge::of(p).is_some(), "{p}");
        }
        assert_eq!(Merge::of("wampstat.cluster.status"), None);
    }

    #[test]
    fn counts_add_up_and_ids_are_one_sorted_list() {
        let sum = Merge::Sum.merge(&[one(2u64), one(0u64), one(5u64)]);
        assert_eq!(
            sum.map(|p| p.args().unwrap()),
            Some(vec![Value::from(7u64)])
        );
        let list = Merge::Ids.merge(&[one(ids(&[3, 9])), one(ids(&[])), one(ids(&[1, 4]))]);
        assert_eq!(
            list.map(|p| p.args().unwrap()),
            Some(vec![ids(&[1, 3, 4, 9])])
        );
    }

    #[test]
    fn rows_are_sorted_by_session_and_keep_their_node() {
        let row = |id: u64, node: &str| {
            Value::Dict(
                dict! {"session" => id, "authextra" => Value::Dict(dict! {"x_cb_node" => node})},
            )
        };
        let merged = Merge::Rows
            .merge(&[
                one(Value::List(vec![row(5, "a")])),
                one(Value::List(vec![row(2, "b"), row(8, "b")])),
            ])
            .expect("rows");
        assert_eq!(
            merged.args().unwrap(),
            vec![Value::List(vec![row(2, "b"), row(5, "a"), row(8, "b")])]
        );
    }

    #[test]
    fn the_holder_answers_and_nobody_means_none() {
        assert!(Merge::Holder.merge(&[]).is_none());
        let got = Merge::Holder
            .merge(&[one("details")])
            .expect("the holder's");
        assert_eq!(got.args().unwrap(), vec![Value::from("details")]);
    }

    #[test]
    fn summaries_add_key_by_key_with_sorted_keys() {
        let a = Payload::new(
            Vec::new(),
            dict! {"total" => 3u64, "by_authrole" => Value::Dict(dict! {"user" => 2u64, "anonymous" => 1u64})},
        );
        let b = Payload::new(
            Vec::new(),
            dict! {"total" => 2u64, "by_authrole" => Value::Dict(dict! {"operator" => 1u64, "user" => 1u64})},
        );
        let merged = Merge::Summary.merge(&[a, b]).expect("a summary");
        let kwargs = merged.kwargs().unwrap();
        assert_eq!(kwargs["total"], Value::from(5u64));
        let by = &kwargs["by_authrole"];
        assert_eq!(
            by,
            &Value::Dict(dict! {"anonymous" => 1u64, "operator" => 1u64, "user" => 3u64})
        );
        let Value::Dict(d) = by else { unreachable!() };
        let keys: Vec<&str> = d.keys().map(String::as_str).collect();
        assert_eq!(keys, ["anonymous", "operator", "user"]);
    }

    #[test]
    fn answers_of_another_shape_are_left_out() {
        let sum = Merge::Sum.merge(&[one(2u64), one("two"), Payload::empty()]);
        assert_eq!(
            sum.map(|p| p.args().unwrap()),
            Some(vec![Value::from(2u64)])
        );
        let list = Merge::Ids.merge(&[one(ids(&[1])), one(7u64)]);
        assert_eq!(list.map(|p| p.args().unwrap()), Some(vec![ids(&[1])]));
    }
}
