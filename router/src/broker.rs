//! The broker: subscriptions (exact, prefix, wildcard) and the fan-out of publications.
//!
//! One subscription id is shared by every session subscribed to the same URI with the same
//! match policy. A publication is encoded once per matching subscription and serializer, and
//! the same bytes are queued to every subscriber (a reference-counted clone, no copy).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use bytes::Bytes;
use wamp::{Dict, Id, MatchPolicy, Message, Payload, Serializer, Value};

use wamp::sync::{read, write};

use indexmap::IndexSet;

use crate::config::SlowConsumerPolicy;
use crate::limits::Resource;
use crate::members::Members;
use crate::metrics::RealmMetrics;
use crate::refusal::Refusal;
use crate::session_handle::{NotSent, SessionHandle};
use crate::uri_index::{UriIndex, add_new};

/// A subscription and its subscribers.
#[derive(Debug)]
pub struct Subscription {
    /// The subscription id.
    pub id: Id,
    /// The topic or pattern.
    pub uri: String,
    /// How `uri` matches topics.
    pub policy: MatchPolicy,
    /// When the first subscriber created it.
    pub created: SystemTime,
    /// The subscribed sessions.
    pub subscribers: Members,
}

#[derive(Debug, Default)]
struct State {
    index: UriIndex,
    subscriptions: HashMap<Id, Subscription>,
    /// The subscriptions each session holds, so that its leaving costs only those.
    by_session: HashMap<Id, IndexSet<Id>>,
}

impl State {
    /// Every subscription matching `topic`: the exact one, then the patterns that match, in
    /// the order they were created.
    fn matching<'a>(&'a self, topic: &str) -> impl Iterator<Item = &'a Subscription> + 'a {
        let exact = self
            .index
            .exact(topic)
            .and_then(|id| self.subscriptions.get(&id));
        let patterns = self
            .index
            .matching_patterns(topic)
            .into_iter()
            .filter_map(|id| self.subscriptions.get(&id));
        exact.into_iter().chain(patterns)
    }

    /// Whether any subscription matches `topic`.
    fn has_subscribers(&self, topic: &str) -> bool {
        self.index.exact(topic).is_some() || self.index.any_pattern_matches(topic)
    }

    /// Removes `session` from subscription `id` (see [`Broker::unsubscribe`]).
    fn unsubscribe(&mut self, session: Id, id: Id) -> Option<Unsubscribed> {
        let sub = self.subscriptions.get_mut(&id)?;
        sub.subscribers
            .remove(session)?
            .quota
            .release(Resource::Subscriptions);
        if let Some(held) = self.by_session.get_mut(&session) {
            held.swap_remove(&id);
            if held.is_empty() {
                self.by_session.remove(&session);
            }
        }
        if !sub.subscribers.is_empty() {
            return Some(Unsubscribed {
                id,
                uri: sub.uri.clone(),
                policy: sub.policy,
                deleted: false,
            });
        }
        let sub = self.subscriptions.remove(&id)?;
        self.index.remove(&sub.uri, sub.policy, id);
        Some(Unsubscribed {
            id,
            uri: sub.uri,
            policy: sub.policy,
            deleted: true,
        })
    }
}

/// What the session asked for in `PUBLISH.Options` that the broker needs.
#[derive(Debug)]
pub struct Publication<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The arguments, forwarded as they are.
    pub payload: &'a Payload,
    /// Whether the publisher itself receives the event (`exclude_me: false`).
    pub exclude_me: bool,
    /// Whether publisher details go into the event.
    pub disclose: bool,
    /// The payload pass-through keys of its options (`ppt_*`, `enc_*`), copied into the
    /// event's details; empty for an ordinary publication.
    pub passthru: Dict,
    /// Black- and whitelisting options, when any was given.
    pub filter: Option<Filter>,
    /// Queue the events as passive (see [`SessionHandle::deliver_event`]).
    pub passive: bool,
}

/// Subscriber black- and whitelisting (`exclude`, `eligible` and their `_authid` /
/// `_authrole` forms).
#[derive(Debug, Default)]
pub struct Filter {
    exclude: HashSet<Id>,
    eligible: Option<HashSet<Id>>,
    exclude_authid: HashSet<String>,
    eligible_authid: Option<HashSet<String>>,
    exclude_authrole: HashSet<String>,
    eligible_authrole: Option<HashSet<String>>,
}

impl Filter {
    /// Reads the filter options, if any is present.
    pub fn from_options(options: &Dict) -> Option<Filter> {
        const KEYS: [&str; 6] = [
            "exclude",
            "eligible",
            "exclude_authid",
            "eligible_authid",
            "exclude_authrole",
            "eligible_authrole",
        ];
        if !KEYS.iter().any(|k| options.contains_key(*k)) {
            return None;
        }
        let ids = |k: &str| -> Option<HashSet<Id>> {
            options
                .get(k)?
                .as_list()
                .map(|l| l.iter().filter_map(Value::as_u64).collect())
        };
        let strs = |k: &str| -> Option<HashSet<String>> {
            options.get(k)?.as_list().map(|l| {
                l.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
        };
        Some(Filter {
            exclude: ids("exclude").unwrap_or_default(),
            eligible: ids("eligible"),
            exclude_authid: strs("exclude_authid").unwrap_or_default(),
            eligible_authid: strs("eligible_authid"),
            exclude_authrole: strs("exclude_authrole").unwrap_or_default(),
            eligible_authrole: strs("eligible_authrole"),
        })
    }

    /// The options this filter was read from ([`Filter::from_options`] reads them back the
    /// same), for another node.
    pub fn to_options(&self) -> Dict {
        fn ids(set: &HashSet<Id>) -> Value {
            let mut v: Vec<Id> = set.iter().copied().collect();
            v.sort_unstable();
            Value::List(v.into_iter().map(Value::from).collect())
        }
        fn strs(set: &HashSet<String>) -> Value {
            let mut v: Vec<&String> = set.iter().collect();
            v.sort_unstable();
            Value::List(v.into_iter().map(|s| Value::from(s.as_str())).collect())
        }
        let mut d = Dict::new();
        let lists = [
            (
                "exclude_authid",
                &self.exclude_authid,
                &self.eligible_authid,
                "eligible_authid",
            ),
            (
                "exclude_authrole",
                &self.exclude_authrole,
                &self.eligible_authrole,
                "eligible_authrole",
            ),
        ];
        if !self.exclude.is_empty() {
            d.insert("exclude".into(), ids(&self.exclude));
        }
        if let Some(l) = &self.eligible {
            d.insert("eligible".into(), ids(l));
        }
        for (exclude_key, exclude, eligible, eligible_key) in lists {
            if !exclude.is_empty() {
                d.insert(exclude_key.into(), strs(exclude));
            }
            if let Some(l) = eligible {
                d.insert(eligible_key.into(), strs(l));
            }
        }
        if d.is_empty() {
            // An empty exclude list still makes a filter (one that admits everyone).
            d.insert("exclude".into(), Value::List(Vec::new()));
        }
        d
    }

    /// Whether `s` may receive the event.
    pub fn admits(&self, s: &SessionHandle) -> bool {
        !self.exclude.contains(&s.id)
            && !self.exclude_authid.contains(&s.authid)
            && !self.exclude_authrole.contains(&s.authrole)
            && self.eligible.as_ref().is_none_or(|l| l.contains(&s.id))
            && self
                .eligible_authid
                .as_ref()
                .is_none_or(|l| l.contains(&s.authid))
            && self
                .eligible_authrole
                .as_ref()
                .is_none_or(|l| l.contains(&s.authrole))
    }
}

/// The broker of one realm.
#[derive(Debug, Default)]
pub struct Broker {
    state: RwLock<State>,
    /// Bumped by every change of the subscriptions (under the write lock), so that
    /// [`TopicWatch`] knows when its cached answer is stale.
    generation: AtomicU64,
    /// The realm's metrics, when it records them.
    metrics: Option<Arc<RealmMetrics>>,
}

/// Whether a fixed topic has subscribers, cached until the subscriptions change: one atomic
/// load instead of a lock, a lookup and a scan of every pattern subscription. For a topic asked
/// about very often, like `wamp.session.on_stats` (a cycle can end every ten messages).
#[derive(Debug)]
pub struct TopicWatch {
    topic: &'static str,
    /// `generation << 1 | has_subscribers`; `u64::MAX` until first asked.
    cached: AtomicU64,
}

impl TopicWatch {
    /// Watches `topic`.
    pub const fn new(topic: &'static str) -> Self {
        TopicWatch {
            topic,
            cached: AtomicU64::new(u64::MAX),
        }
    }
}

/// What a subscribe did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribed {
    /// The (possibly shared) subscription id.
    pub id: Id,
    /// When this subscribe created the subscription; `None` when it existed.
    pub created: Option<SystemTime>,
    /// Whether this subscribe added the session to the subscription: `false` when it was a
    /// subscriber already (subscribing again is idempotent, and no lifecycle event says so).
    pub joined: bool,
}

impl Broker {
    /// The broker, counting its events in `metrics` if any.
    pub fn with_metrics(mut self, metrics: Option<Arc<RealmMetrics>>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Subscribes `session` to `uri` with `policy`; subscribing twice is idempotent. A new
    /// subscription takes a unit of the session's quota (refused at its limit).
    pub fn subscribe(
        &self,
        session: &Arc<SessionHandle>,
        uri: &str,
        policy: MatchPolicy,
    ) -> Result<Subscribed, Refusal> {
        let mut st = write(&self.state);
        let existing = st.index.lookup(uri, policy);
        if let Some(id) = existing
            && let Some(sub) = st.subscriptions.get(&id)
            && sub.subscribers.contains(session.id)
        {
            return Ok(Subscribed {
                id,
                created: None,
                joined: false,
            });
        }
        session.quota.acquire(Resource::Subscriptions)?.keep();
        self.generation.fetch_add(1, Ordering::AcqRel);
        let st = &mut *st;
        if let Some(id) = existing
            && let Some(sub) = st.subscriptions.get_mut(&id)
        {
            sub.subscribers.push(session);
            st.by_session.entry(session.id).or_default().insert(id);
            return Ok(Subscribed {
                id,
                created: None,
                joined: true,
            });
        }
        let (id, created) = add_new(
            &mut st.index,
            &mut st.subscriptions,
            uri,
            policy,
            |id, created| Subscription {
                id,
                uri: uri.to_owned(),
                policy,
                created,
                subscribers: Members::one(session),
            },
        );
        st.by_session.entry(session.id).or_default().insert(id);
        Ok(Subscribed {
            id,
            created: Some(created),
            joined: true,
        })
    }

    /// Removes `session` from subscription `id`; `None` when the session has no such
    /// subscription.
    pub fn unsubscribe(&self, session: Id, id: Id) -> Option<Unsubscribed> {
        let mut st = write(&self.state);
        self.generation.fetch_add(1, Ordering::AcqRel);
        st.unsubscribe(session, id)
    }

    /// Removes `session` from every subscription it has, in time proportional to those.
    pub fn detach(&self, session: Id) -> Vec<Unsubscribed> {
        let mut st = write(&self.state);
        let Some(held) = st.by_session.remove(&session) else {
            return Vec::new();
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        held.into_iter()
            .filter_map(|id| st.unsubscribe(session, id))
            .collect()
    }

    /// [`Broker::has_subscribers`] for a watched topic, answered from the watch's cache while
    /// the subscriptions have not changed since it was filled.
    pub fn watched_has_subscribers(&self, watch: &TopicWatch) -> bool {
        let generation = self.generation.load(Ordering::Acquire);
        let cached = watch.cached.load(Ordering::Acquire);
        if cached != u64::MAX && cached >> 1 == generation {
            return cached & 1 == 1;
        }
        // A change after `generation` was read makes the next call look again.
        let has = self.has_subscribers(watch.topic);
        watch
            .cached
            .store(generation << 1 | u64::from(has), Ordering::Release);
        has
    }

    /// Whether anyone would receive a publication to `topic`.
    pub fn has_subscribers(&self, topic: &str) -> bool {
        read(&self.state).has_subscribers(topic)
    }

    /// Delivers a publication to every matching subscriber and returns the publication id.
    pub fn publish(&self, publisher: &Identity<'_>, p: &Publication<'_>) -> Id {
        let publication = wamp::id::random_id();
        self.publish_as(publication, publisher, p);
        publication
    }

    /// Delivers publication `publication` (an id given elsewhere: by another node of the
    /// cluster) to every matching subscriber.
    pub fn publish_as(&self, publication: Id, publisher: &Identity<'_>, p: &Publication<'_>) {
        self.publish_where(publication, publisher, p, |_| true);
    }

    /// [`Broker::publish_as`] to the matching subscriptions `keep` keeps only (those a
    /// message from another node is for, see `cluster::interest`).
    pub fn publish_where(
        &self,
        publication: Id,
        publisher: &Identity<'_>,
        p: &Publication<'_>,
        keep: impl Fn(&Subscription) -> bool,
    ) {
        let st = read(&self.state);
        // The details of the event, built once: with the topic for pattern subscriptions.
        let details = event_details(publisher, p);
        let mut with_topic: Option<Dict> = None;
        let mut count = Delivered::default();
        for sub in st.matching(p.topic).filter(|s| keep(s)) {
            let details = if sub.policy == MatchPolicy::Exact {
                &details
            } else {
                with_topic.get_or_insert_with(|| {
                    let mut d = details.clone();
                    d.insert("topic".into(), p.topic.into());
                    d
                })
            };
            deliver(sub, publisher, publication, details, p, &mut count);
        }
        drop(st);
        if let Some(m) = &self.metrics {
            m.events(count.queued, count.dropped);
        }
    }

    /// Runs `f` on the subscription `id`, if it exists.
    pub fn with_subscription<R>(&self, id: Id, f: impl FnOnce(&Subscription) -> R) -> Option<R> {
        read(&self.state).subscriptions.get(&id).map(f)
    }

    /// Runs `f` over every subscription.
    pub fn for_each(&self, mut f: impl FnMut(&Subscription)) {
        for s in read(&self.state).subscriptions.values() {
            f(s);
        }
    }

    /// The subscription of `uri` with `policy`, if any.
    pub fn lookup(&self, uri: &str, policy: MatchPolicy) -> Option<Id> {
        read(&self.state).index.lookup(uri, policy)
    }

    /// Every subscription matching `topic`.
    pub fn matching(&self, topic: &str) -> Vec<Id> {
        read(&self.state).matching(topic).map(|s| s.id).collect()
    }

    /// What the broker holds, counted (for [`crate::realm::Realm::routing_counts`]): the
    /// subscriptions, their subscribers summed over them, and the sessions it indexes as
    /// holding any.
    pub fn counts(&self) -> (usize, usize, usize) {
        let st = read(&self.state);
        let subscribers = st.subscriptions.values().map(|s| s.subscribers.len()).sum();
        (st.subscriptions.len(), subscribers, st.by_session.len())
    }
}

/// The Details of the events of `p` to an exact subscription: the publisher when disclosed,
/// then the pass-through keys (pattern subscriptions get the topic too).
pub fn event_details(publisher: &Identity<'_>, p: &Publication<'_>) -> Dict {
    let mut details = Dict::new();
    if p.disclose {
        details.insert("publisher".into(), publisher.id.into());
        details.insert("publisher_authid".into(), publisher.authid.into());
        details.insert("publisher_authrole".into(), publisher.authrole.into());
    }
    details.extend(p.passthru.iter().map(|(k, v)| (k.clone(), v.clone())));
    details
}

/// Who publishes: a session, or the router's internal session for meta events.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    /// The session id.
    pub id: Id,
    /// Its authid.
    pub authid: &'a str,
    /// Its authrole.
    pub authrole: &'a str,
}

impl<'a> From<&'a SessionHandle> for Identity<'a> {
    fn from(h: &'a SessionHandle) -> Self {
        Identity {
            id: h.id,
            authid: &h.authid,
            authrole: &h.authrole,
        }
    }
}

/// What an unsubscribe did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribed {
    /// The subscription id.
    pub id: Id,
    /// Its URI.
    pub uri: String,
    /// Its match policy.
    pub policy: MatchPolicy,
    /// Whether it was deleted (no subscriber left).
    pub deleted: bool,
}

/// What became of one publication's EVENTs.
#[derive(Debug, Default)]
struct Delivered {
    /// Queued to their subscribers.
    queued: u64,
    /// Dropped: the subscriber's queue was full and its realm's policy is `drop`.
    dropped: u64,
}

/// Encodes the event for one subscription (once per serializer) and queues it, counting what
/// became of each in `count`.
fn deliver(
    sub: &Subscription,
    publisher: &Identity<'_>,
    publication: Id,
    details: &Dict,
    p: &Publication<'_>,
    count: &mut Delivered,
) {
    let mut encoded: [Option<Bytes>; Serializer::ALL.len()] = Default::default();
    for s in sub.subscribers.iter() {
        if (p.exclude_me && s.id == publisher.id) || p.filter.as_ref().is_some_and(|f| !f.admits(s))
        {
            continue;
        }
        let slot = s.serializer().index();
        if encoded[slot].is_none() {
            let event = Message::Event {
                subscription: sub.id,
                publication,
                details: details.clone(),
                payload: p.payload.clone(),
            };
            match wamp::encode(s.serializer(), &event) {
                Ok(b) => encoded[slot] = Some(b),
                Err(e) => {
                    tracing::warn!(
                        publisher = publisher.id,
                        topic = p.topic,
                        "event not delivered: {e}"
                    );
                    continue;
                }
            }
        }
        let Some(bytes) = &encoded[slot] else {
            continue;
        };
        match s.deliver_event(bytes.clone(), p.passive) {
            Ok(()) => count.queued += 1,
            Err(NotSent::Full) if s.slow_consumer() == SlowConsumerPolicy::Drop => {
                count.dropped += 1;
            }
            Err(NotSent::TooLarge) => tracing::warn!(
                session = s.id,
                topic = p.topic,
                "event of {} bytes not delivered: above the subscriber's limit of {} bytes",
                bytes.len(),
                s.transport.peer_max_message_size
            ),
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_handle::testing::session;

    #[test]
    fn a_topic_watch_follows_every_change_of_the_subscriptions() {
        let broker = Broker::default();
        let watch = TopicWatch::new("wamp.session.on_stats");
        let (a, b) = (session(1), session(2));
        let subscribe = |s, uri, policy| broker.subscribe(s, uri, policy).unwrap();
        assert!(!broker.watched_has_subscribers(&watch));
        assert!(!broker.watched_has_subscribers(&watch), "cached");
        let prefix = subscribe(&a, "wamp.session.", MatchPolicy::Prefix);
        assert!(
            broker.watched_has_subscribers(&watch),
            "a prefix subscription matches"
        );
        let other = subscribe(&b, "com.example", MatchPolicy::Exact);
        assert!(
            broker.watched_has_subscribers(&watch),
            "unrelated changes keep it"
        );
        broker.unsubscribe(a.id, prefix.id);
        assert!(
            !broker.watched_has_subscribers(&watch),
            "gone with the subscription"
        );
        subscribe(&b, "wamp.session.on_stats", MatchPolicy::Exact);
        assert!(broker.watched_has_subscribers(&watch));
        broker.detach(b.id);
        assert!(
            !broker.watched_has_subscribers(&watch),
            "and with the session"
        );
        broker.unsubscribe(b.id, other.id);
        assert!(!broker.has_subscribers("com.example"));
    }
}
