//! The routing index against a naive matcher: [`MatchPolicy::matches`] over every pattern, in
//! the order the patterns were created, on random patterns and URIs (empty components, dots at
//! either end, non-ASCII characters), for the broker's and the dealer's lookups.

use std::cmp::Ordering;
use std::sync::Arc;

use proptest::prelude::*;
use wamp::{Id, MatchPolicy};

use crate::broker::Broker;
use crate::dealer::{Dealer, InvokePolicy, literal_runs};
use crate::session_handle::SessionHandle;
use crate::session_handle::testing::session;

/// URIs over a small alphabet, so that patterns and URIs share characters and components.
fn uri() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "é", ".", "ab", "🦀"]),
        0..7,
    )
    .prop_map(|parts| parts.concat())
}

fn policy() -> impl Strategy<Value = MatchPolicy> {
    prop::sample::select(vec![
        MatchPolicy::Exact,
        MatchPolicy::Prefix,
        MatchPolicy::Wildcard,
    ])
}

/// Subscribe / register (`true`) or leave (`false`) by one of a few sessions.
fn ops() -> impl Strategy<Value = Vec<(bool, u64, String, MatchPolicy)>> {
    prop::collection::vec((prop::bool::weighted(0.8), 1..5u64, uri(), policy()), 0..40)
}

/// The live entries in creation order: (id, uri, policy, members).
type Model = Vec<(Id, String, MatchPolicy, Vec<u64>)>;

/// Applies a join to the model: the entry's members gain `s`, or a new entry is created as `id`.
fn join(model: &mut Model, id: Id, uri: &str, policy: MatchPolicy, s: u64) {
    match model.iter_mut().find(|e| e.0 == id) {
        Some(e) => {
            assert_eq!(
                (e.1.as_str(), e.2),
                (uri, policy),
                "one id per (uri, policy)"
            );
            if !e.3.contains(&s) {
                e.3.push(s);
            }
        }
        None => model.push((id, uri.to_owned(), policy, vec![s])),
    }
}

/// Removes session `s` from every entry, dropping the empty ones.
fn leave(model: &mut Model, s: u64) {
    for e in model.iter_mut() {
        e.3.retain(|&m| m != s);
    }
    model.retain(|e| !e.3.is_empty());
}

fn sessions() -> Vec<Arc<SessionHandle>> {
    (0..5).map(session).collect()
}

/// The dealer's rule, as it was written over a scan: exact, else the longest prefix, else the
/// wildcard with the longest runs of literal components.
fn naive_best(model: &Model, procedure: &str) -> Option<Id> {
    if let Some(e) = model
        .iter()
        .find(|e| e.2 == MatchPolicy::Exact && e.1 == procedure)
    {
        return Some(e.0);
    }
    model
        .iter()
        .filter(|e| e.2 != MatchPolicy::Exact && e.2.matches(&e.1, procedure))
        .max_by(|a, b| match (a.2, b.2) {
            (MatchPolicy::Prefix, MatchPolicy::Prefix) => a.1.len().cmp(&b.1.len()),
            (MatchPolicy::Prefix, _) => Ordering::Greater,
            (_, MatchPolicy::Prefix) => Ordering::Less,
            _ => literal_runs(&a.1).cmp(&literal_runs(&b.1)),
        })
        .map(|e| e.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_broker_matches_as_a_scan_would(ops in ops(), topics in prop::collection::vec(uri(), 1..12)) {
        let broker = Broker::default();
        let handles = sessions();
        let mut model = Model::new();
        for (subscribe, s, uri, policy) in &ops {
            if *subscribe {
                let Ok(sub) = broker.subscribe(&handles[*s as usize], uri, *policy) else {
                    continue;
                };
                join(&mut model, sub.id, uri, *policy, *s);
            } else {
                broker.detach(*s);
                leave(&mut model, *s);
            }
        }
        for topic in &topics {
            let exact = model
                .iter()
                .filter(|e| e.2 == MatchPolicy::Exact && e.1 == *topic)
                .map(|e| e.0);
            let patterns = model
                .iter()
                .filter(|e| e.2 != MatchPolicy::Exact && e.2.matches(&e.1, topic))
                .map(|e| e.0);
            let expected: Vec<Id> = exact.chain(patterns).collect();
            prop_assert_eq!(&broker.matching(topic), &expected, "topic {:?}", topic);
            prop_assert_eq!(broker.has_subscribers(topic), !expected.is_empty());
        }
        for e in &model {
            prop_assert_eq!(broker.lookup(&e.1, e.2), Some(e.0));
        }
        for s in 0..5 {
            broker.detach(s);
        }
        for topic in &topics {
            prop_assert!(broker.matching(topic).is_empty());
        }
    }

    #[test]
    fn the_dealer_picks_as_a_scan_would(ops in ops(), procedures in prop::collection::vec(uri(), 1..12)) {
        let dealer = Dealer::default();
        let handles = sessions();
        let mut model = Model::new();
        for (register, s, uri, policy) in &ops {
            if *register {
                let callee = &handles[*s as usize];
                let Ok(r) = dealer.register(callee, uri, (*policy, InvokePolicy::RoundRobin), false) else {
                    continue;
                };
                join(&mut model, r.id, uri, *policy, *s);
            } else {
                dealer.detach(*s);
                leave(&mut model, *s);
            }
        }
        for p in &procedures {
            prop_assert_eq!(dealer.best_match(p), naive_best(&model, p), "procedure {:?}", p);
        }
        for e in &model {
            prop_assert_eq!(dealer.lookup(&e.1, e.2), Some(e.0));
            let callees = dealer.with_registration(e.0, |r| r.callees.iter().map(|c| c.id).collect::<Vec<_>>());
            prop_assert_eq!(callees.as_ref(), Some(&e.3), "callees in registration order");
        }
    }
}
