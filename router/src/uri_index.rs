//! Which subscription or registration id a URI and match policy have, and which ones match a
//! topic or procedure: shared by the broker and the dealer. Exact URIs are found by hashing,
//! prefix patterns in a radix tree ([`PrefixTrie`]) and wildcard patterns in a tree over their
//! components ([`WildcardIndex`]): no lookup scans the patterns.

use std::collections::HashMap;
use std::time::SystemTime;

use wamp::{Id, MatchPolicy};

use crate::prefix_trie::PrefixTrie;
use crate::wildcard_index::WildcardIndex;

/// A pattern's id and when it was added (patterns that match are listed in that order).
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: Id,
    added: u64,
}

/// URIs (with their policy) to ids.
#[derive(Debug, Default)]
pub struct UriIndex {
    exact: HashMap<String, Id>,
    prefix: PrefixTrie<Entry>,
    wildcard: WildcardIndex<Entry>,
    /// How many patterns were ever added: the next one's `added`.
    added: u64,
}

impl UriIndex {
    /// The id of `uri` with `policy`.
    pub fn lookup(&self, uri: &str, policy: MatchPolicy) -> Option<Id> {
        match policy {
            MatchPolicy::Exact => self.exact.get(uri).copied(),
            MatchPolicy::Prefix => self.prefix.get(uri).map(|e| e.id),
            MatchPolicy::Wildcard => self.wildcard.get(uri).map(|e| e.id),
        }
    }

    /// The id of the exact URI `uri` (no allocation: the hot path of every publication).
    pub fn exact(&self, uri: &str) -> Option<Id> {
        self.exact.get(uri).copied()
    }

    /// The ids of the prefix and wildcard patterns matching `uri`, in the order they were added.
    pub fn matching_patterns(&self, uri: &str) -> Vec<Id> {
        let mut found: Vec<Entry> = Vec::new();
        self.prefix.prefixes_of(uri, |e| found.push(*e));
        self.wildcard.matching(uri, |e| found.push(*e));
        found.sort_unstable_by_key(|e| e.added);
        found.into_iter().map(|e| e.id).collect()
    }

    /// Whether a prefix or wildcard pattern matches `uri`.
    pub fn any_pattern_matches(&self, uri: &str) -> bool {
        let mut any = self.prefix.longest_prefix_of(uri).is_some();
        if !any {
            self.wildcard.matching(uri, |_| any = true);
        }
        any
    }

    /// The id of the longest prefix pattern that `uri` starts with.
    pub fn longest_prefix(&self, uri: &str) -> Option<Id> {
        self.prefix.longest_prefix_of(uri).map(|e| e.id)
    }

    /// Calls `f` with the id of every wildcard pattern matching `uri`.
    pub fn matching_wildcards(&self, uri: &str, mut f: impl FnMut(Id)) {
        self.wildcard.matching(uri, |e| f(e.id));
    }

    /// Adds `uri` with `policy` as `id`.
    pub fn insert(&mut self, uri: &str, policy: MatchPolicy, id: Id) {
        let entry = Entry {
            id,
            added: self.added,
        };
        match policy {
            MatchPolicy::Exact => {
                self.exact.insert(uri.to_owned(), id);
                return;
            }
            MatchPolicy::Prefix => self.prefix.insert(uri, entry),
            MatchPolicy::Wildcard => self.wildcard.insert(uri, entry),
        };
        self.added += 1;
    }

    /// Removes `uri` with `policy`, if it is known as `id`.
    pub fn remove(&mut self, uri: &str, policy: MatchPolicy, id: Id) {
        if self.lookup(uri, policy) != Some(id) {
            return;
        }
        match policy {
            MatchPolicy::Exact => {
                self.exact.remove(uri);
            }
            MatchPolicy::Prefix => {
                self.prefix.remove(uri);
            }
            MatchPolicy::Wildcard => {
                self.wildcard.remove(uri);
            }
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
