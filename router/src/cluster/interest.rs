//! Which NATS subjects a node subscribes to for its local subscriptions of one realm, so that
//! a publication crosses the backplane only to nodes with a subscriber.
//!
//! Each local subscription (a URI and a match policy) maps to one subject ([`names::of_pattern`]);
//! several may map to the same one (prefixes `a.b` and `a.c` both to `…a.>`), and one node's
//! subjects may overlap (`…a.>` and `…a.b`), in which case NATS delivers a message once per
//! matching NATS subscription. So a message that came through subject S is delivered only to
//! the local subscriptions mapped to S ([`Interest::wants`]): each gets it exactly once.

use std::collections::{HashMap, HashSet};

use wamp::MatchPolicy;

use super::names;

/// The local subscriptions of a realm, by the NATS subject each maps to.
#[derive(Debug, Default)]
pub struct Interest {
    /// `<prefix>.<realm>.ev`.
    base: String,
    /// Subject → the subscriptions (policy, URI) it serves.
    subjects: HashMap<String, HashSet<(MatchPolicy, String)>>,
}

impl Interest {
    /// No interest yet, for the realm whose event subjects start with `base`
    /// ([`names::base`] with kind `ev`).
    pub fn new(base: String) -> Self {
        Interest {
            base,
            subjects: HashMap::new(),
        }
    }

    /// A local subscription was created: the subject to subscribe to on NATS, when it is
    /// the first to need it.
    pub fn add(&mut self, uri: &str, policy: MatchPolicy) -> Option<String> {
        let (subject, _) = names::of_pattern(&self.base, uri, policy);
        let served = self.subjects.entry(subject.clone()).or_default();
        let first = served.is_empty();
        served.insert((policy, uri.to_owned()));
        first.then_some(subject)
    }

    /// A local subscription was deleted (its last subscriber gone): the subject to unsubscribe
    /// from on NATS, when it was the last to need it.
    pub fn remove(&mut self, uri: &str, policy: MatchPolicy) -> Option<String> {
        let (subject, _) = names::of_pattern(&self.base, uri, policy);
        let served = self.subjects.get_mut(&subject)?;
        served.remove(&(policy, uri.to_owned()));
        if served.is_empty() {
            self.subjects.remove(&subject);
            Some(subject)
        } else {
            None
        }
    }

    /// Whether a message that came through NATS subscription `subject` is for the local
    /// subscription to `uri` by `policy`.
    pub fn wants(&self, subject: &str, uri: &str, policy: MatchPolicy) -> bool {
        // A lookup without building a (policy, String) key: the sets are small.
        self.subjects
            .get(subject)
            .is_some_and(|served| served.iter().any(|(p, u)| *p == policy && u == uri))
    }

    /// Every subject subscribed to (after NATS comes back, to check them against its own).
    pub fn subjects(&self) -> impl Iterator<Item = &str> {
        self.subjects.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_is_subscribed_once_while_any_subscription_needs_it() {
        let mut i = Interest::new("w.r1.ev".into());
        use MatchPolicy::*;
        assert_eq!(i.add("a.b", Prefix).as_deref(), Some("w.r1.ev.a.>"));
        assert_eq!(i.add("a.c", Prefix), None, "the same subject");
        assert_eq!(i.add("a.b", Exact).as_deref(), Some("w.r1.ev.a.b"));
        assert_eq!(i.add("a..", Wildcard).as_deref(), Some("w.r1.ev.a.*.*"));
        assert!(i.wants("w.r1.ev.a.>", "a.c", Prefix));
        assert!(
            !i.wants("w.r1.ev.a.>", "a.b", Exact),
            "served by its own subject"
        );
        assert!(i.wants("w.r1.ev.a.b", "a.b", Exact));
        assert_eq!(i.remove("a.b", Prefix), None, "a.c still needs it");
        assert_eq!(i.remove("a.c", Prefix).as_deref(), Some("w.r1.ev.a.>"));
        assert_eq!(i.remove("a.c", Prefix), None, "gone already");
        assert!(!i.wants("w.r1.ev.a.>", "a.c", Prefix));
        let mut left: Vec<&str> = i.subjects().collect();
        left.sort_unstable();
        assert_eq!(left, ["w.r1.ev.a.*.*", "w.r1.ev.a.b"]);
    }
}
