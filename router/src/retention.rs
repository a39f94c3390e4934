//! Event retention (the WAMP spec's `event_retention`): the last event published with
//! `retain: true` on each topic, kept for subscribers that ask for it with `get_retained: true`
//! — the most recent one they would have received had they been subscribed when it was
//! published, with `retained: true` in its details.
//!
//! Best effort, as the spec allows, and bounded: at most [`MAX_TOPICS`] topics and
//! [`MAX_BYTES`] of arguments per realm; a retain beyond is not kept (the event is still
//! published).

use std::collections::HashMap;
use std::sync::Mutex;

use wamp::sync::lock;
use wamp::{Dict, Id, MatchPolicy, Payload};

use crate::broker::Filter;
use crate::session_handle::SessionHandle;

/// The most topics a realm keeps a retained event for.
pub const MAX_TOPICS: usize = 10_000;
/// The most bytes of arguments a realm's retained events hold in all.
pub const MAX_BYTES: usize = 64 << 20;

/// One retained event.
#[derive(Debug)]
pub struct RetainedEvent {
    /// The publication id it was published with.
    pub publication: Id,
    /// The publisher, for `exclude_me`.
    pub publisher: Id,
    /// Whether the publisher excluded itself.
    pub exclude_me: bool,
    /// The event's details as published (publisher disclosure).
    pub details: Dict,
    /// Its arguments.
    pub payload: Payload,
    /// Who may receive it (the publication's black and white lists).
    pub filter: Option<Filter>,
    /// What it counts against [`MAX_BYTES`].
    pub size: usize,
}

impl RetainedEvent {
    /// Whether `s` would have received it.
    fn admits(&self, s: &SessionHandle) -> bool {
        !(self.exclude_me && s.id == self.publisher)
            && self.filter.as_ref().is_none_or(|f| f.admits(s))
    }
}

/// A realm's retained events, by topic.
#[derive(Debug, Default)]
pub struct Retained {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    by_topic: HashMap<String, RetainedEvent>,
    bytes: usize,
}

impl Retained {
    /// Keeps `event` as `topic`'s retained event, replacing the one before; returns whether it
    /// was kept (not beyond the limits).
    pub fn retain(&self, topic: &str, event: RetainedEvent) -> bool {
        let mut st = lock(&self.state);
        let old = st.by_topic.get(topic).map_or(0, |e| e.size);
        let fresh = !st.by_topic.contains_key(topic);
        if (fresh && st.by_topic.len() >= MAX_TOPICS) || st.bytes - old + event.size > MAX_BYTES {
            return false;
        }
        st.bytes = st.bytes - old + event.size;
        st.by_topic.insert(topic.to_owned(), event);
        true
    }

    /// Calls `f` with each retained event a subscriber `s` to `uri` (matched by `policy`) would
    /// have received, and its topic.
    pub fn for_subscriber(
        &self,
        uri: &str,
        policy: MatchPolicy,
        s: &SessionHandle,
        mut f: impl FnMut(&str, &RetainedEvent),
    ) {
        let st = lock(&self.state);
        match policy {
            MatchPolicy::Exact => {
                if let Some(e) = st.by_topic.get(uri).filter(|e| e.admits(s)) {
                    f(uri, e);
                }
            }
            _ => {
                for (topic, e) in &st.by_topic {
                    if policy.matches(uri, topic) && e.admits(s) {
                        f(topic, e);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(publication: Id, size: usize) -> RetainedEvent {
        RetainedEvent {
            publication,
            publisher: 1,
            exclude_me: true,
            details: Dict::new(),
            payload: Payload::empty(),
            filter: None,
            size,
        }
    }

    #[test]
    fn the_last_retained_event_of_a_topic_replaces_the_one_before_within_the_limits() {
        let r = Retained::default();
        assert!(r.retain("a", event(1, 10)));
        assert!(r.retain("a", event(2, 10)));
        assert_eq!(lock(&r.state).bytes, 10);
        assert!(!r.retain("b", event(3, MAX_BYTES)), "beyond the bytes");
        assert!(
            r.retain("a", event(4, MAX_BYTES)),
            "replacing frees its bytes"
        );
        let st = lock(&r.state);
        assert_eq!((st.by_topic.len(), st.by_topic["a"].publication), (1, 4));
    }
}
