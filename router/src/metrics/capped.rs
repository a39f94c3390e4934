//! Series labelled by a URI that clients choose (a topic, a procedure, an error): the first
//! `cap` distinct URIs of a realm get a series each, every later one is folded into `other`,
//! so that no client can make the router's metrics grow without bound.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;

use prometheus_client::metrics::family::{Family, MetricConstructor};
use wamp::sync::{read, write};

/// The label value every URI beyond the cap is counted under.
const OTHER: &str = "other";

/// A label set of a realm and a URI.
pub trait UriLabels {
    /// The labels of `uri` in `realm`.
    fn of(realm: &str, uri: &str) -> Self;
}

/// One realm's handles of a family labelled by a URI, at most `cap` of them plus `other`.
#[derive(Debug)]
pub struct Capped<S, M, C = fn() -> M> {
    family: Family<S, M, C>,
    realm: String,
    cap: usize,
    seen: RwLock<HashMap<Box<str>, M>>,
    other: M,
}

impl<S, M, C> Capped<S, M, C>
where
    S: Clone + Hash + Eq + UriLabels,
    M: Clone,
    C: MetricConstructor<M>,
{
    /// At most `cap` URIs of `family` in `realm`.
    pub fn new(family: Family<S, M, C>, realm: &str, cap: usize) -> Self {
        let other = family.get_or_create(&S::of(realm, OTHER)).clone();
        Capped {
            family,
            realm: realm.to_owned(),
            cap,
            seen: RwLock::new(HashMap::new()),
            other,
        }
    }

    /// The handle of `uri`: its own while fewer than `cap` URIs have one, else `other`'s. A
    /// URI seen before costs a read lock and a hash.
    pub fn get(&self, uri: &str) -> M {
        if let Some(m) = read(&self.seen).get(uri) {
            return m.clone();
        }
        let mut seen = write(&self.seen);
        if let Some(m) = seen.get(uri) {
            return m.clone();
        }
        if seen.len() >= self.cap || uri == OTHER {
            return self.other.clone();
        }
        let m = self.family.get_or_create(&S::of(&self.realm, uri)).clone();
        seen.insert(uri.into(), m.clone());
        m
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;

    use super::*;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Topic {
        realm: String,
        topic: String,
    }

    impl UriLabels for Topic {
        fn of(realm: &str, uri: &str) -> Self {
            Topic {
                realm: realm.into(),
                topic: uri.into(),
            }
        }
    }

    fn topic(t: &str) -> Topic {
        Topic::of("r", t)
    }

    #[test]
    fn uris_beyond_the_cap_are_folded_into_other() {
        let family = Family::<Topic, Counter>::default();
        let capped = Capped::new(family.clone(), "r", 2);
        for t in ["a", "b", "c", "a", "d", "b"] {
            capped.get(t).inc();
        }
        let count = |t: &str| family.get(&topic(t)).map(|c| c.get());
        assert_eq!(
            [count("a"), count("b"), count("c"), count("d"), count(OTHER)],
            [Some(2), Some(2), None, None, Some(2)]
        );
    }

    #[test]
    fn a_uri_called_other_is_counted_as_other_without_taking_a_place() {
        let family = Family::<Topic, Counter>::default();
        let capped = Capped::new(family.clone(), "r", 1);
        capped.get(OTHER).inc();
        capped.get("a").inc();
        assert_eq!(family.get(&topic("a")).map(|c| c.get()), Some(1));
        assert_eq!(family.get(&topic(OTHER)).map(|c| c.get()), Some(1));
    }
}
