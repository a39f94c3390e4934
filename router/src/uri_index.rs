//! Which subscription or registration id a URI and match policy have: shared by the broker and
//! the dealer. Exact URIs are found by hashing; prefix and wildcard patterns are listed for
//! scanning.

use std::collections::HashMap;
use std::time::SystemTime;

use wamp::{Id, MatchPolicy};

/// URIs (with their policy) to ids.
#[derive(Debug, Default)]
pub struct UriIndex {
    exact: HashMap<String, Id>,
    by_pattern: HashMap<(MatchPolicy, String), Id>,
    patterns: Vec<Id>,
}

impl UriIndex {
    /// The id of `uri` with `policy`.
    pub fn lookup(&self, uri: &str, policy: MatchPolicy) -> Option<Id> {
        match policy {
            MatchPolicy::Exact => self.exact.get(uri).copied(),
            _ => self.by_pattern.get(&(policy, uri.to_owned())).copied(),
        }
    }

    /// The id of the exact URI `uri` (no allocation: the hot path of every publication).
    pub fn exact(&self, uri: &str) -> Option<Id> {
        self.exact.get(uri).copied()
    }

    /// The ids of all prefix and wildcard entries.
    pub fn patterns(&self) -> &[Id] {
        &self.patterns
    }

    /// Adds `uri` with `policy` as `id`.
    pub fn insert(&mut self, uri: &str, policy: MatchPolicy, id: Id) {
        if policy == MatchPolicy::Exact {
            self.exact.insert(uri.to_owned(), id);
        } else {
            self.by_pattern.insert((policy, uri.to_owned()), id);
            self.patterns.push(id);
        }
    }

    /// Removes `uri` with `policy` (known as `id`).
    pub fn remove(&mut self, uri: &str, policy: MatchPolicy, id: Id) {
        if policy == MatchPolicy::Exact {
            self.exact.remove(uri);
        } else {
            self.by_pattern.remove(&(policy, uri.to_owned()));
            self.patterns.retain(|&p| p != id);
        }
    }
}

/// Adds a new entry for `uri` with `policy` to `index` and `entries`, under a fresh id, made by
/// `make(id, created)`; returns the id and the creation time.
pub fn add_new<T>(
    index: &mut UriIndex,
    entries: &mut HashMap<Id, T>,
    uri: &str,
    policy: MatchPolicy,
    make: impl FnOnce(Id, SystemTime) -> T,
) -> (Id, SystemTime) {
    let id = fresh_id(|id| entries.contains_key(&id));
    let created = SystemTime::now();
    index.insert(uri, policy, id);
    entries.insert(id, make(id, created));
    (id, created)
}

/// A random id in [1, 2^53] for which `taken` is false.
pub fn fresh_id(taken: impl Fn(Id) -> bool) -> Id {
    loop {
        let id = wamp::id::random_id();
        if !taken(id) {
            return id;
        }
    }
}
