//! The monitor's model: sessions, their totals, rates and recent cycles, and an event log —
//! updated only by [`Model::apply`] (meta events) and [`Model::tick`] (time), never by the UI.
//!
//! Times are seconds on a monotonic clock that the caller supplies, so tests are deterministic.

use std::collections::VecDeque;

use indexmap::IndexMap;
use wamp::{Dict, Id, Value};

use crate::series::{Amounts, Series};
use crate::stats::{StatsCounters, StatsEvent};

/// How many recent cycles each session keeps: enough for the detail pane's cycle table and for
/// [`RATE_WINDOW`] at cadences down to 0.1 s. The charts read [`Series`], not this.
pub const HISTORY: usize = 32;
/// How many event-log lines are kept.
pub const LOG: usize = 1000;
/// Without a stats event for this long, a session's rate shows as zero.
pub const STALE_AFTER: f64 = 10.0;
/// Rates average the cycles received in this many seconds.
pub const RATE_WINDOW: f64 = 3.0;

/// A bounded first-in first-out buffer.
#[derive(Debug, Clone)]
pub struct Ring<T> {
    items: VecDeque<T>,
    cap: usize,
}

impl<T> Ring<T> {
    /// An empty ring that keeps the last `cap` items.
    pub fn new(cap: usize) -> Self {
        Ring {
            items: VecDeque::new(),
            cap,
        }
    }
    /// Adds an item, dropping the oldest when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() == self.cap {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }
    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }
    /// The newest item.
    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }
    /// How many items it holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Traffic totals, as the router's statistics count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Bytes both ways.
    pub bytes: u64,
    /// Messages both ways.
    pub messages: u64,
    /// Rated messages.
    pub rated_messages: u64,
    /// Messages received by the router (`None` from routers without the split, e.g. Crossbar).
    pub messages_rx: Option<u64>,
    /// Bytes received by the router (`None` from routers without the split, e.g. Crossbar).
    pub bytes_rx: Option<u64>,
    /// Bytes sent by the router.
    pub bytes_tx: Option<u64>,
    /// Events the router dropped for this session (slow-consumer policy `drop`; `None` from
    /// routers that do not say, e.g. Crossbar).
    pub dropped: Option<u64>,
}

impl Totals {
    /// A cycle's traffic from its typed statistics.
    fn from_counters(c: &StatsCounters) -> Self {
        Totals {
            bytes: c.bytes,
            messages: c.messages,
            rated_messages: c.rated_messages,
            messages_rx: c.messages_rx,
            bytes_rx: c.bytes_rx,
            bytes_tx: c.bytes_tx,
            dropped: c.dropped,
        }
    }

    /// What the time series keep of it.
    pub fn amounts(&self) -> Amounts {
        Amounts {
            msgs: self.messages as f64,
            bytes: self.bytes as f64,
            msgs_rx: self.messages_rx.map(|n| n as f64),
            bytes_rx: self.bytes_rx.map(|n| n as f64),
        }
    }

    fn from_dict(d: &Dict) -> Self {
        let get = |k: &str| d.get(k).and_then(Value::as_u64);
        Totals {
            bytes: get("bytes").unwrap_or(0),
            messages: get("messages").unwrap_or(0),
            rated_messages: get("rated_messages").unwrap_or(0),
            messages_rx: get("messages_rx"),
            bytes_rx: get("bytes_rx"),
            bytes_tx: get("bytes_tx"),
            dropped: get("dropped"),
        }
    }

    fn add(&mut self, o: &Totals) {
        self.bytes += o.bytes;
        self.messages += o.messages;
        self.rated_messages += o.rated_messages;
        let sum = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a + b),
            (None, b) => b,
            (a, None) => a,
        };
        self.messages_rx = sum(self.messages_rx, o.messages_rx);
        self.bytes_rx = sum(self.bytes_rx, o.bytes_rx);
        self.bytes_tx = sum(self.bytes_tx, o.bytes_tx);
        self.dropped = sum(self.dropped, o.dropped);
    }
}

/// One stats cycle of a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cycle {
    /// Its number.
    pub cycle: u64,
    /// The session's first stats event (the join: HELLO and WELCOME).
    pub first: bool,
    /// Its traffic.
    pub totals: Totals,
    /// Its length in seconds.
    pub duration: f64,
    /// When the monitor received it.
    pub at: f64,
}

impl Cycle {
    /// Messages per second over the cycle.
    pub fn messages_per_s(&self) -> f64 {
        per_second(self.totals.messages, self.duration)
    }
    /// Bytes per second over the cycle.
    pub fn bytes_per_s(&self) -> f64 {
        per_second(self.totals.bytes, self.duration)
    }
}

fn per_second(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

/// Which session a row is: the router it is on (an index into [`Model::routers`]) and its id
/// there. Two routers may well give out the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The router's index in [`Model::routers`].
    pub router: usize,
    /// The session id on that router.
    pub id: Id,
}

impl Key {
    /// The session `id` on router `router`.
    pub fn new(router: usize, id: Id) -> Self {
        Key { router, id }
    }
}

/// What the router said when a session's outbound queue filled
/// (`wampstat.session.on_slow`; routers without it never send one).
#[derive(Debug, Clone, PartialEq)]
pub struct Slow {
    /// The bytes in its outbound queue then.
    pub queued: u64,
    /// Events dropped for it since it joined.
    pub dropped: u64,
    /// The realm's policy: `drop` (events are dropped) or `close` (the session is closed).
    pub policy: String,
    /// Whether it is dropping events now (`false` once it recovered).
    pub dropping: bool,
    /// When the monitor received it.
    pub at: f64,
}

impl Slow {
    fn from_dict(d: &Dict, at: f64) -> Self {
        Slow {
            queued: d.get("queued").and_then(Value::as_u64).unwrap_or(0),
            dropped: d.get("dropped").and_then(Value::as_u64).unwrap_or(0),
            policy: d
                .get("policy")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            dropping: d.get("dropping").and_then(Value::as_bool) == Some(true),
            at,
        }
    }
}

/// A session's health at a glance, for the flag column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Nothing to report.
    Fine,
    /// Events were dropped for it, but it is not dropping now.
    Dropped,
    /// Its queue is full: events are being dropped now.
    Dropping,
    /// The router closed it as a slow consumer.
    Closed,
}

/// One session as the monitor knows it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The router it is on (an index into [`Model::routers`]).
    pub router: usize,
    /// The session id.
    pub id: Id,
    /// Its authid.
    pub authid: String,
    /// Its authrole.
    pub authrole: String,
    /// `websocket` or `rawsocket`.
    pub transport: String,
    /// `json` or `msgpack` (or what the router says).
    pub serializer: String,
    /// The peer, e.g. `tcp4:127.0.0.1:52700`.
    pub peer: String,
    /// The router node it is on (`authextra.x_cb_node`), empty when the router does not say.
    pub node: String,
    /// What the detail pane shows of the join details: `authmethod`, `authprovider`,
    /// `authextra`.
    pub details: Dict,
    /// Totals since it joined (from the snapshot and every cycle since).
    pub totals: Totals,
    /// The last cycle number seen.
    pub cycle: u64,
    /// Recent cycles.
    pub history: Ring<Cycle>,
    /// Its traffic per second of wall-clock time, over the last 1, 5 and 15 minutes.
    pub series: Series,
    /// When the last stats event arrived.
    pub last_stats_at: Option<f64>,
    /// When it joined (as far as the monitor knows).
    pub joined_at: f64,
    /// When it left; it is shown dimmed until the retention time passes.
    pub left_at: Option<f64>,
    /// The router's last slow-consumer report on it, if any.
    pub slow: Option<Slow>,
    /// Messages/s and bytes/s over the recent cycles, computed when a cycle arrives (sorting
    /// thousands of rows per frame must not recompute them).
    rates: (f64, f64),
}

impl SessionRow {
    fn from_details(router: usize, details: Dict, now: f64) -> Option<Self> {
        let id = details.get("session").and_then(Value::as_u64)?;
        let s = |d: &Dict, k: &str| {
            d.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let transport = details
            .get("transport")
            .and_then(Value::as_dict)
            .cloned()
            .unwrap_or_default();
        let serializer = match details.get("serializer") {
            Some(Value::Str(s)) => s.clone(),
            _ => s(&transport, "channel_serializer"),
        };
        let serializer = if serializer.is_empty() {
            // Crossbar on WebSocket: only the subprotocol says it.
            s(&transport, "websocket_protocol")
                .trim_start_matches("wamp.2.")
                .to_owned()
        } else {
            serializer
        };
        // Keep only what the detail pane shows: the whole join dict (transport, HTTP headers)
        // would cost kilobytes per session.
        let mut kept = Dict::new();
        for key in ["authmethod", "authprovider", "authextra"] {
            if let Some(v) = details.get(key) {
                kept.insert(key.to_owned(), v.clone());
            }
        }
        let node = details
            .get("authextra")
            .and_then(Value::as_dict)
            .map(|x| s(x, "x_cb_node"))
            .unwrap_or_default();
        Some(SessionRow {
            node,
            authid: s(&details, "authid"),
            authrole: s(&details, "authrole"),
            transport: s(&transport, "channel_framing"),
            serializer,
            peer: s(&transport, "peer"),
            details: kept,
            ..SessionRow::new(Key::new(router, id), now)
        })
    }

    /// A session known only by its key (its details arrive later, if at all).
    pub fn new(key: Key, now: f64) -> Self {
        SessionRow {
            router: key.router,
            id: key.id,
            authid: String::new(),
            authrole: String::new(),
            transport: String::new(),
            serializer: String::new(),
            peer: String::new(),
            node: String::new(),
            details: Dict::new(),
            totals: Totals::default(),
            cycle: 0,
            history: Ring::new(HISTORY),
            series: Series::new(),
            last_stats_at: None,
            joined_at: now,
            left_at: None,
            slow: None,
            rates: (0.0, 0.0),
        }
    }

    /// Messages per second over the cycles of the last [`RATE_WINDOW`] seconds (at least the
    /// latest one), or zero when the session left or has been silent for [`STALE_AFTER`].
    pub fn messages_per_s(&self, now: f64) -> f64 {
        if self.is_stale(now) {
            0.0
        } else {
            self.rates.0
        }
    }

    /// Bytes per second, like [`SessionRow::messages_per_s`].
    pub fn bytes_per_s(&self, now: f64) -> f64 {
        if self.is_stale(now) {
            0.0
        } else {
            self.rates.1
        }
    }

    fn is_stale(&self, now: f64) -> bool {
        // `last_stats_at` rather than the newest cycle's time: the same, without reaching into
        // the history (this runs for every session several times a frame).
        self.left_at.is_some() || self.last_stats_at.is_none_or(|at| now - at > STALE_AFTER)
    }

    fn update_rates(&mut self, now: f64) {
        self.rates = (
            self.rate(now, |c| c.totals.messages),
            self.rate(now, |c| c.totals.bytes),
        );
    }

    fn rate(&self, now: f64, what: impl Fn(&Cycle) -> u64) -> f64 {
        // The first cycle (HELLO and WELCOME, a fraction of a millisecond) says nothing about a
        // rate.
        let mut n = 0u64;
        let mut secs = 0.0;
        for c in self.history.iter().rev().filter(|c| !c.first) {
            if secs > 0.0 && now - c.at > RATE_WINDOW {
                break;
            }
            n += what(c);
            secs += c.duration;
        }
        per_second(n, secs)
    }

    /// Its health, from the router's slow-consumer reports and the drops in its statistics.
    pub fn health(&self) -> Health {
        match &self.slow {
            Some(s) if s.policy == "close" => Health::Closed,
            Some(s) if s.dropping => Health::Dropping,
            Some(s) if s.dropped > 0 => Health::Dropped,
            _ if self.totals.dropped.unwrap_or(0) > 0 => Health::Dropped,
            _ => Health::Fine,
        }
    }

    /// Events dropped for it: the larger of what its statistics and the router's last
    /// slow-consumer report say.
    pub fn dropped(&self) -> Option<u64> {
        let reported = self.slow.as_ref().map(|s| s.dropped);
        match (self.totals.dropped, reported) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Which session this is.
    pub fn key(&self) -> Key {
        Key::new(self.router, self.id)
    }

    /// Seconds since the last stats event.
    pub fn age(&self, now: f64) -> Option<f64> {
        self.last_stats_at.map(|t| now - t)
    }
}

/// What happened, for the event log.
#[derive(Debug, Clone, PartialEq)]
pub enum LogKind {
    /// A session joined.
    Join,
    /// A session left.
    Leave,
    /// A session was killed by this monitor.
    Kill,
    /// The router reported a slow consumer.
    Slow,
    /// The connection to the router changed.
    Connection,
    /// Something went wrong.
    Error,
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// When (monitor clock, seconds).
    pub at: f64,
    /// What kind.
    pub kind: LogKind,
    /// The text.
    pub text: String,
}

/// Meta events and connection changes, as the feed delivers them.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaEvent {
    /// `wamp.session.on_join` details.
    Join(Dict),
    /// `wamp.session.on_stats` info and stats.
    Stats(Dict, Dict),
    /// `wamp.session.on_stats` decoded straight into its typed form (the dashboard's fast path).
    Cycle(StatsEvent),
    /// `wamp.session.on_leave` session id.
    Leave(Id),
    /// **[wampstat]** `wampstat.session.on_slow` info and report.
    Slow(Dict, Dict),
    /// **[wampstat]** The result of `wampstat.session.summary`: `total` and session counts
    /// `by_authrole`, `by_authid`, `by_transport`, `by_serializer`.
    Summary(Dict),
    /// The sessions live when the monitor connected: details, plus totals when the router
    /// offers `wampstat.session.stats`.
    Snapshot(Vec<Dict>),
    /// Connected to the router.
    Connected(String),
    /// Lost the router (why, and in how many seconds the feed retries).
    Disconnected(String, Option<f64>),
    /// A kill this monitor asked for, and its outcome.
    Killed(Id, Result<(), String>),
}

/// The state of the connection to the router.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    /// Not yet connected.
    Connecting,
    /// Connected.
    Connected,
    /// Lost (why); retrying at the given time (monitor clock), if known.
    Lost(String, Option<f64>),
}

/// One router the monitor follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Router {
    /// Its URL, e.g. `ws://127.0.0.1:8080/ws`.
    pub url: String,
    /// The realm followed there.
    pub realm: String,
    /// What the ROUTER column and the header call it: a name given in the targets file, or
    /// the URL's host and port.
    pub name: String,
    /// The connection.
    pub connection: Connection,
    /// The router's session summary, when it offers one (wampstat does, Crossbar does not).
    pub summary: Option<Summary>,
}

/// How a router's sessions divide, as `wampstat.session.summary` says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Sessions in the realm.
    pub total: u64,
    /// Sessions by authrole, most first.
    pub by_authrole: Vec<(String, u64)>,
    /// Sessions by transport (`websocket`, `rawsocket+tls`…), most first.
    pub by_transport: Vec<(String, u64)>,
}

impl Summary {
    /// Reads the summary dict; `None` if it is not one.
    pub fn from_dict(d: &Dict) -> Option<Self> {
        let counts = |k: &str| -> Vec<(String, u64)> {
            let mut v: Vec<(String, u64)> = d
                .get(k)
                .and_then(Value::as_dict)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, n)| Some((k.clone(), n.as_u64()?)))
                        .collect()
                })
                .unwrap_or_default();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            v
        };
        Some(Summary {
            total: d.get("total")?.as_u64()?,
            by_authrole: counts("by_authrole"),
            by_transport: counts("by_transport"),
        })
    }
}

impl Router {
    /// A router not yet connected, named after its URL's host and port.
    pub fn new(url: &str, realm: &str) -> Self {
        Router::named(url, realm, &host_port(url))
    }

    /// A router not yet connected, with the name the user gave it.
    pub fn named(url: &str, realm: &str, name: &str) -> Self {
        Router {
            url: url.to_owned(),
            realm: realm.to_owned(),
            name: name.to_owned(),
            connection: Connection::Connecting,
            summary: None,
        }
    }
}

/// `host:port` of a URL such as `ws://host:port/path` (the whole text when it has no scheme).
pub fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// Everything the monitor shows.
#[derive(Debug, Clone)]
pub struct Model {
    /// The routers followed, in the order given; a session's [`Key::router`] indexes it.
    pub routers: Vec<Router>,
    /// Sessions by key, in the order they became known.
    pub sessions: IndexMap<Key, SessionRow>,
    /// Sessions that joined since the monitor started.
    pub joined: u64,
    /// Sessions that left since the monitor started.
    pub left: u64,
    /// The event log, newest last.
    pub log: Ring<LogEntry>,
    /// Stats events per second over the last tick.
    pub stats_events_per_s: f64,
    /// All sessions' traffic per second of wall-clock time, over the last 1, 5 and 15 minutes.
    pub traffic: Series<f64>,
    /// Left sessions stay this long (seconds).
    pub retention: f64,
    /// When the monitor started.
    pub started_at: f64,
    /// Stats events since the last tick.
    events: u64,
    last_tick: f64,
}

impl Model {
    /// An empty model at `now` of one router whose URL and realm are not known (tests,
    /// `--once`).
    pub fn new(now: f64, retention: f64) -> Self {
        Model::with_routers(now, retention, vec![Router::new("", "")])
    }

    /// An empty model at `now` following `routers`.
    pub fn with_routers(now: f64, retention: f64, routers: Vec<Router>) -> Self {
        Model {
            routers,
            sessions: IndexMap::new(),
            joined: 0,
            left: 0,
            log: Ring::new(LOG),
            stats_events_per_s: 0.0,
            traffic: Series::precise(),
            retention,
            started_at: now,
            events: 0,
            last_tick: now,
        }
    }

    /// Sessions that have not left.
    pub fn live(&self) -> usize {
        self.sessions
            .values()
            .filter(|s| s.left_at.is_none())
            .count()
    }

    fn log(&mut self, at: f64, kind: LogKind, text: String) {
        self.log.push(LogEntry { at, kind, text });
    }

    /// Whether sessions come from more than one router (the ROUTER column shows then).
    pub fn several_routers(&self) -> bool {
        self.routers.len() > 1
    }

    /// Whether some router's sessions are on more than one node (`authextra.x_cb_node`): the
    /// router is a node of a cluster and sees the sessions of the others. The NODE column
    /// shows then. Sessions whose router does not say count for none, and routers that each
    /// report only their own node (independent routers, each naming its host) say nothing the
    /// ROUTER column does not.
    pub fn several_nodes(&self) -> bool {
        let mut first: Vec<Option<&str>> = vec![None; self.routers.len()];
        self.sessions
            .values()
            .filter(|s| !s.node.is_empty())
            .any(|s| match first.get_mut(s.router) {
                Some(Some(node)) => *node != s.node,
                Some(seen) => {
                    *seen = Some(&s.node);
                    false
                }
                None => false,
            })
    }

    /// The name of router `i` (empty when out of range).
    pub fn router_name(&self, i: usize) -> &str {
        self.routers.get(i).map_or("", |r| r.name.as_str())
    }

    /// Applies one event from the first router (the only one, usually).
    pub fn apply(&mut self, event: MetaEvent, now: f64) {
        self.apply_from(0, event, now);
    }

    /// Applies one event from router `router`.
    pub fn apply_from(&mut self, router: usize, event: MetaEvent, now: f64) {
        let prefix = if self.several_routers() {
            format!("{} ", self.router_name(router))
        } else {
            String::new()
        };
        match event {
            MetaEvent::Join(details) => {
                if let Some(row) = SessionRow::from_details(router, details, now) {
                    self.joined += 1;
                    let text = format!(
                        "{prefix}join   {} {}/{} {}",
                        row.id,
                        short_transport(&row.transport),
                        row.serializer,
                        row.peer
                    );
                    self.sessions.insert(row.key(), row);
                    self.log(now, LogKind::Join, text);
                }
            }
            MetaEvent::Stats(info, stats) => self.on_stats(router, &info, &stats, now),
            MetaEvent::Cycle(event) => self.on_cycle(router, &event, now),
            MetaEvent::Leave(id) => {
                if let Some(row) = self.sessions.get_mut(&Key::new(router, id))
                    && row.left_at.is_none()
                {
                    row.left_at = Some(now);
                    self.left += 1;
                    let text = format!(
                        "{prefix}leave  {id} (last cycle {}, {} msgs in all)",
                        row.cycle, row.totals.messages
                    );
                    self.log(now, LogKind::Leave, text);
                }
            }
            MetaEvent::Snapshot(list) => {
                // After a reconnect: who is not in the snapshot left while we were away.
                let present: std::collections::HashSet<Id> = list
                    .iter()
                    .filter_map(|d| d.get("session").and_then(Value::as_u64))
                    .collect();
                for row in self.sessions.values_mut() {
                    if row.router == router && row.left_at.is_none() && !present.contains(&row.id) {
                        row.left_at = Some(now);
                        self.left += 1;
                    }
                }
                for d in list {
                    let Some(mut row) = SessionRow::from_details(router, d.clone(), now) else {
                        continue;
                    };
                    let totals = Totals::from_dict(&d);
                    let cycle = d.get("cycle").and_then(Value::as_u64).unwrap_or(0);
                    match self.sessions.get_mut(&row.key()) {
                        // Events raced the snapshot: its totals run through `cycle`, so add
                        // only the cycles received after that one.
                        Some(known) => {
                            let mut t = totals;
                            for c in known.history.iter().filter(|c| c.cycle > cycle) {
                                t.add(&c.totals);
                            }
                            known.totals = t;
                            known.cycle = known.cycle.max(cycle);
                            known.authid = row.authid;
                            known.authrole = row.authrole;
                            known.transport = row.transport;
                            known.serializer = row.serializer;
                            known.peer = row.peer;
                            known.details = row.details;
                        }
                        None => {
                            row.totals = totals;
                            row.cycle = cycle;
                            self.sessions.insert(row.key(), row);
                        }
                    }
                }
            }
            MetaEvent::Slow(info, report) => {
                let Some(id) = info.get("session").and_then(Value::as_u64) else {
                    return;
                };
                if let Some(row) = self.sessions.get_mut(&Key::new(router, id)) {
                    let slow = Slow::from_dict(&report, now);
                    let text = match (slow.policy.as_str(), slow.dropping) {
                        ("close", _) => format!(
                            "{prefix}slow   {id}: queue full ({}), closing it",
                            crate::format::bytes(slow.queued)
                        ),
                        (_, true) => format!(
                            "{prefix}slow   {id}: queue full ({}), dropping events",
                            crate::format::bytes(slow.queued)
                        ),
                        (_, false) => format!(
                            "{prefix}slow   {id}: recovered, {} events dropped",
                            slow.dropped
                        ),
                    };
                    row.slow = Some(slow);
                    self.log(now, LogKind::Slow, text);
                }
            }
            MetaEvent::Summary(d) => {
                if let Some(r) = self.routers.get_mut(router) {
                    r.summary = Summary::from_dict(&d);
                }
            }
            MetaEvent::Connected(url) => {
                self.set_connection(router, Connection::Connected);
                self.log(now, LogKind::Connection, format!("connected to {url}"));
            }
            MetaEvent::Disconnected(why, retry_in) => {
                let lost = Connection::Lost(why.clone(), retry_in.map(|r| now + r));
                self.set_connection(router, lost);
                self.log(
                    now,
                    LogKind::Error,
                    format!("{prefix}connection lost: {why}"),
                );
            }
            MetaEvent::Killed(id, outcome) => match outcome {
                Ok(()) => {
                    let text = format!("{prefix}kill   {id} by this monitor");
                    self.log(now, LogKind::Kill, text);
                }
                Err(e) => {
                    let text = format!("{prefix}kill   {id} failed: {e}");
                    self.log(now, LogKind::Error, text);
                }
            },
        }
    }

    /// The connection to router `router` (connecting when out of range).
    pub fn connection(&self, router: usize) -> &Connection {
        self.routers
            .get(router)
            .map_or(&Connection::Connecting, |r| &r.connection)
    }

    fn set_connection(&mut self, router: usize, c: Connection) {
        if let Some(r) = self.routers.get_mut(router) {
            r.connection = c;
        }
    }

    fn on_stats(&mut self, router: usize, info: &Dict, stats: &Dict, now: f64) {
        if let Some(event) = StatsEvent::from_dicts(info, stats) {
            self.on_cycle(router, &event, now);
        }
    }

    /// One stats cycle of a session (a session not seen yet is added with what the event
    /// says of it).
    fn on_cycle(&mut self, router: usize, event: &StatsEvent, now: f64) {
        let StatsEvent(info, counters) = event;
        let t = Totals::from_counters(counters);
        self.events += 1;
        let key = Key::new(router, info.session);
        let row = self.sessions.entry(key).or_insert_with(|| {
            // Stats before join (the monitor connected in between): what the info says.
            let mut row = SessionRow::new(key, now);
            row.authid = info.authid.clone().unwrap_or_default();
            row.authrole = info.authrole.clone().unwrap_or_default();
            row
        });
        row.totals.add(&t);
        row.cycle = counters.cycle.unwrap_or(row.cycle + 1);
        let duration = counters.duration as f64 / 1e9;
        row.history.push(Cycle {
            cycle: row.cycle,
            first: counters.first,
            totals: t,
            duration,
            at: now,
        });
        // The cycle ended when it arrived and lasted `duration`: its traffic is spread over
        // those seconds.
        let amounts = t.amounts();
        row.series.record(now - duration, now, amounts);
        self.traffic.record(now - duration, now, amounts);
        row.update_rates(now);
        row.last_stats_at = Some(now);
    }

    /// Advances time: measures the stats events per second and forgets sessions that left
    /// long ago.
    pub fn tick(&mut self, now: f64) {
        let dt = now - self.last_tick;
        if dt > 0.0 {
            let events = std::mem::take(&mut self.events);
            self.stats_events_per_s = events as f64 / dt;
            self.last_tick = now;
        }
        let retention = self.retention;
        self.sessions
            .retain(|_, s| s.left_at.is_none_or(|t| now - t < retention));
    }
}

/// `ws` or `rs` for the table.
pub fn short_transport(t: &str) -> &str {
    match t {
        "websocket" => "ws",
        "rawsocket" => "rs",
        other => other,
    }
}

/// Turns a meta event's topic and arguments into a [`MetaEvent`], taking the arguments over
/// (a stats event's two dicts move into it rather than being copied: this runs for every one
/// of up to 150,000 events a second).
pub fn parse_event(topic: &str, args: Vec<Value>) -> Option<MetaEvent> {
    let mut args = args.into_iter();
    let mut dict = || match args.next()? {
        Value::Dict(d) => Some(d),
        _ => None,
    };
    match topic {
        "wamp.session.on_join" => dict().map(MetaEvent::Join),
        "wamp.session.on_stats" => Some(MetaEvent::Stats(dict()?, dict()?)),
        "wamp.session.on_leave" => args.next()?.as_u64().map(MetaEvent::Leave),
        "wampstat.session.on_slow" => Some(MetaEvent::Slow(dict()?, dict()?)),
        _ => None,
    }
}
