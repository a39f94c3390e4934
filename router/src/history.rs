//! Event history (the WAMP spec's `event_history`, in Crossbar's config shape): for each
//! `store.event-history` entry of the realm, the last `limit` events published to topics it
//! matches, for `wamp.subscription.get_events` on a subscription to that URI and policy.
//!
//! As the spec's security notes ask, a publication with `exclude` or `eligible` (session ids,
//! which mean nothing to a later session) is not kept, and one with authid or authrole lists is
//! returned only to callers those lists admit. Memory is bounded: each entry's `limit`, and
//! [`MAX_BYTES`] of arguments per realm (the oldest events of an entry go first).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use wamp::sync::lock;
use wamp::{Dict, Id, MatchPolicy, Payload, Value, dict};

use crate::broker::Filter;
use crate::config::HistoryConfig;
use crate::refusal::Refusal;
use crate::session_handle::SessionHandle;

/// The most bytes of arguments a realm's event history holds in all.
pub const MAX_BYTES: usize = 64 << 20;

/// One kept event.
#[derive(Debug)]
struct Kept {
    at: SystemTime,
    publication: Id,
    topic: String,
    details: Dict,
    payload: Payload,
    filter: Option<Filter>,
    size: usize,
}

#[derive(Debug)]
struct Entry {
    config: HistoryConfig,
    events: Mutex<VecDeque<Kept>>,
}

/// A realm's event history.
#[derive(Debug, Default)]
pub struct History {
    entries: Vec<Entry>,
    bytes: AtomicUsize,
}

/// A publication, as the history needs it.
pub struct Published<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The publication id.
    pub publication: Id,
    /// The event's details (publisher disclosure).
    pub details: &'a Dict,
    /// Its arguments.
    pub payload: &'a Payload,
    /// Its `PUBLISH.Options`.
    pub options: &'a Dict,
}

impl History {
    /// The history the realm's `store.event-history` entries describe.
    pub fn new(configs: &[HistoryConfig]) -> Self {
        History {
            entries: configs
                .iter()
                .map(|c| Entry {
                    config: c.clone(),
                    events: Mutex::new(VecDeque::new()),
                })
                .collect(),
            bytes: AtomicUsize::new(0),
        }
    }

    /// Whether no topic keeps history (then publishing costs nothing here).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keeps `p` in every entry whose URI matches its topic.
    pub fn on_publish(&self, p: &Published<'_>) {
        if p.options.contains_key("exclude") || p.options.contains_key("eligible") {
            return;
        }
        let size = crate::limits::payload_bytes(p.payload);
        for e in &self.entries {
            if !e.config.policy.matches(&e.config.uri, p.topic) {
                continue;
            }
            let mut events = lock(&e.events);
            while events.len() >= e.config.limit
                || (!events.is_empty() && self.bytes.load(Ordering::Relaxed) + size > MAX_BYTES)
            {
                if let Some(old) = events.pop_front() {
                    self.bytes.fetch_sub(old.size, Ordering::Relaxed);
                }
            }
            if self.bytes.load(Ordering::Relaxed) + size > MAX_BYTES {
                continue;
            }
            self.bytes.fetch_add(size, Ordering::Relaxed);
            events.push_back(Kept {
                at: SystemTime::now(),
                publication: p.publication,
                topic: p.topic.to_owned(),
                details: p.details.clone(),
                payload: p.payload.clone(),
                filter: Filter::from_options(p.options),
                size,
            });
        }
    }

    /// The events of subscription `subscription` (to `uri` by `policy`) that `query` selects
    /// and `reader` may see, as the spec's event objects; `None` when that URI and policy keep
    /// no history.
    pub fn events(
        &self,
        subscription: Id,
        (uri, policy): (&str, MatchPolicy),
        query: &Query,
        reader: &SessionHandle,
    ) -> Option<Vec<Value>> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.config.uri == uri && e.config.policy == policy)?;
        let events = lock(&entry.events);
        let ordered: Vec<&Kept> = if query.reverse {
            events.iter().rev().collect()
        } else {
            events.iter().collect()
        };
        let position = |id: Id| ordered.iter().position(|k| k.publication == id);
        // The publication bounds, as positions in traversal order (an id not kept matches
        // nothing).
        let mut first = 0usize;
        let mut last = ordered.len();
        let mut bound = |id: Option<Id>, keep_it: bool, lower: bool| {
            let Some(id) = id else { return };
            let Some(at) = position(id) else {
                (first, last) = (1, 0);
                return;
            };
            if lower {
                first = first.max(if keep_it { at } else { at + 1 });
            } else {
                last = last.min(if keep_it { at + 1 } else { at });
            }
        };
        let (from, after, before, until) = if query.reverse {
            // Reverse traversal: "before" publications come after in traversal order.
            (
                query.until_publication,
                query.before_publication,
                query.after_publication,
                query.from_publication,
            )
        } else {
            (
                query.from_publication,
                query.after_publication,
                query.before_publication,
                query.until_publication,
            )
        };
        bound(from, true, true);
        bound(after, false, true);
        bound(before, false, false);
        bound(until, true, false);
        let mut out = Vec::new();
        for k in ordered.iter().take(last).skip(first) {
            if out.len() >= query.limit {
                break;
            }
            if !query.admits_time(k.at)
                || query.topic.as_deref().is_some_and(|t| t != k.topic)
                || k.filter.as_ref().is_some_and(|f| !f.admits(reader))
            {
                continue;
            }
            out.push(event_object(subscription, policy, k));
        }
        Some(out)
    }
}

/// The spec's event object: timestamp (RFC 3339 to the nanosecond, so that a client passing it
/// back as a time bound gets exactly that event), subscription, publication, details, args,
/// kwargs; for a pass-through publication, `payload` (its bytes) in place of args and kwargs.
fn event_object(subscription: Id, policy: MatchPolicy, k: &Kept) -> Value {
    let mut details = k.details.clone();
    if policy != MatchPolicy::Exact {
        details.insert("topic".into(), k.topic.as_str().into());
    }
    let mut d = dict! {
        "timestamp" => humantime::format_rfc3339_nanos(k.at).to_string(),
        "subscription" => subscription,
        "publication" => k.publication,
        "details" => Value::Dict(details),
    };
    if let Some(Ok(bytes)) = k.payload.passthru_bytes() {
        // A pass-through payload (its keys are in the details): the bytes as they came.
        d.insert("payload".into(), Value::Bytes(bytes));
    } else if let Ok(args) = k.payload.args()
        && k.payload.args.is_some()
    {
        d.insert("args".into(), Value::List(args));
    }
    if let Ok(kwargs) = k.payload.kwargs()
        && k.payload.kwargs.is_some()
    {
        d.insert("kwargs".into(), Value::Dict(kwargs));
    }
    Value::Dict(d)
}

/// What `wamp.subscription.get_events` asks for (its keyword arguments).
#[derive(Debug, Default)]
pub struct Query {
    reverse: bool,
    limit: usize,
    from_time: Option<SystemTime>,
    after_time: Option<SystemTime>,
    before_time: Option<SystemTime>,
    until_time: Option<SystemTime>,
    topic: Option<String>,
    from_publication: Option<Id>,
    after_publication: Option<Id>,
    before_publication: Option<Id>,
    until_publication: Option<Id>,
}

impl Query {
    /// Reads the keyword arguments; a wrongly typed one is refused naming it.
    pub fn parse(kwargs: &Dict) -> Result<Query, Refusal> {
        let bad = |k: &str, what: &str| {
            Refusal::invalid_argument(format!("{k} must be {what}, got {:?}", kwargs.get(k)))
        };
        let time = |k: &str| match kwargs.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Str(s)) => humantime::parse_rfc3339_weak(s)
                .map(Some)
                .map_err(|_| bad(k, "an RFC 3339 timestamp")),
            Some(_) => Err(bad(k, "an RFC 3339 timestamp")),
        };
        let id = |k: &str| match kwargs.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| bad(k, "a publication id")),
        };
        Ok(Query {
            reverse: match kwargs.get("reverse") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(bad("reverse", "a boolean")),
            },
            limit: match kwargs.get("limit") {
                None | Some(Value::Null) => usize::MAX,
                Some(v) => v
                    .as_u64()
                    .filter(|&n| n > 0)
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
                    .ok_or_else(|| bad("limit", "a positive integer"))?,
            },
            from_time: time("from_time")?,
            after_time: time("after_time")?,
            before_time: time("before_time")?,
            until_time: time("until_time")?,
            topic: match kwargs.get("topic") {
                None | Some(Value::Null) => None,
                Some(Value::Str(s)) => Some(s.clone()),
                Some(_) => return Err(bad("topic", "a URI")),
            },
            from_publication: id("from_publication")?,
            after_publication: id("after_publication")?,
            before_publication: id("before_publication")?,
            until_publication: id("until_publication")?,
        })
    }

    fn admits_time(&self, at: SystemTime) -> bool {
        self.from_time.is_none_or(|t| at >= t)
            && self.after_time.is_none_or(|t| at > t)
            && self.before_time.is_none_or(|t| at < t)
            && self.until_time.is_none_or(|t| at <= t)
    }
}
