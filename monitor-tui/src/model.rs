//! The monitor's model: sessions, their totals, rates and recent cycles, and an event log —
//! updated only by [`Model::apply`] (meta events) and [`Model::tick`] (time), never by the UI.
//!
//! Times are seconds on a monotonic clock that the caller supplies, so tests are deterministic.

use std::collections::VecDeque;

use indexmap::IndexMap;
use wamp::{Dict, Id, Value};

/// How many recent cycles each session keeps.
pub const HISTORY: usize = 120;
/// How many aggregate rate samples (one per tick) are kept.
pub const AGGREGATE_HISTORY: usize = 240;
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
    /// Bytes received by the router (`None` from routers without the split, e.g. Crossbar).
    pub bytes_rx: Option<u64>,
    /// Bytes sent by the router.
    pub bytes_tx: Option<u64>,
}

impl Totals {
    fn from_dict(d: &Dict) -> Self {
        let get = |k: &str| d.get(k).and_then(Value::as_u64);
        Totals {
            bytes: get("bytes").unwrap_or(0),
            messages: get("messages").unwrap_or(0),
            rated_messages: get("rated_messages").unwrap_or(0),
            bytes_rx: get("bytes_rx"),
            bytes_tx: get("bytes_tx"),
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
        self.bytes_rx = sum(self.bytes_rx, o.bytes_rx);
        self.bytes_tx = sum(self.bytes_tx, o.bytes_tx);
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

/// One session as the monitor knows it.
#[derive(Debug, Clone)]
pub struct SessionRow {
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
    /// What the detail pane shows of the join details: `authmethod`, `authprovider`,
    /// `authextra`.
    pub details: Dict,
    /// Totals since it joined (from the snapshot and every cycle since).
    pub totals: Totals,
    /// The last cycle number seen.
    pub cycle: u64,
    /// Recent cycles.
    pub history: Ring<Cycle>,
    /// When the last stats event arrived.
    pub last_stats_at: Option<f64>,
    /// When it joined (as far as the monitor knows).
    pub joined_at: f64,
    /// When it left; it is shown dimmed until the retention time passes.
    pub left_at: Option<f64>,
    /// Messages/s and bytes/s over the recent cycles, computed when a cycle arrives (sorting
    /// thousands of rows per frame must not recompute them).
    rates: (f64, f64),
}

impl SessionRow {
    fn from_details(details: Dict, now: f64) -> Option<Self> {
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
        Some(SessionRow {
            authid: s(&details, "authid"),
            authrole: s(&details, "authrole"),
            transport: s(&transport, "channel_framing"),
            serializer,
            peer: s(&transport, "peer"),
            details: kept,
            ..SessionRow::new(id, now)
        })
    }

    /// A session known only by its id (its details arrive later, if at all).
    pub fn new(id: Id, now: f64) -> Self {
        SessionRow {
            id,
            authid: String::new(),
            authrole: String::new(),
            transport: String::new(),
            serializer: String::new(),
            peer: String::new(),
            details: Dict::new(),
            totals: Totals::default(),
            cycle: 0,
            history: Ring::new(HISTORY),
            last_stats_at: None,
            joined_at: now,
            left_at: None,
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
        self.left_at.is_some() || self.history.last().is_none_or(|c| now - c.at > STALE_AFTER)
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
    /// `wamp.session.on_leave` session id.
    Leave(Id),
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

/// Everything the monitor shows.
#[derive(Debug, Clone)]
pub struct Model {
    /// Sessions by id, in the order they became known.
    pub sessions: IndexMap<Id, SessionRow>,
    /// Sessions that joined since the monitor started.
    pub joined: u64,
    /// Sessions that left since the monitor started.
    pub left: u64,
    /// The event log, newest last.
    pub log: Ring<LogEntry>,
    /// Aggregate messages/s and bytes/s, one sample per tick.
    pub aggregate: Ring<(f64, f64)>,
    /// Stats events per second over the last tick.
    pub stats_events_per_s: f64,
    /// The connection.
    pub connection: Connection,
    /// Left sessions stay this long (seconds).
    pub retention: f64,
    /// When the monitor started.
    pub started_at: f64,
    window: (u64, u64, u64),
    last_tick: f64,
}

impl Model {
    /// An empty model at `now`.
    pub fn new(now: f64, retention: f64) -> Self {
        Model {
            sessions: IndexMap::new(),
            joined: 0,
            left: 0,
            log: Ring::new(LOG),
            aggregate: Ring::new(AGGREGATE_HISTORY),
            stats_events_per_s: 0.0,
            connection: Connection::Connecting,
            retention,
            started_at: now,
            window: (0, 0, 0),
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

    /// Applies one event.
    pub fn apply(&mut self, event: MetaEvent, now: f64) {
        match event {
            MetaEvent::Join(details) => {
                if let Some(row) = SessionRow::from_details(details, now) {
                    self.joined += 1;
                    let text = format!(
                        "join   {} {}/{} {}",
                        row.id,
                        short_transport(&row.transport),
                        row.serializer,
                        row.peer
                    );
                    self.sessions.insert(row.id, row);
                    self.log(now, LogKind::Join, text);
                }
            }
            MetaEvent::Stats(info, stats) => self.on_stats(&info, &stats, now),
            MetaEvent::Leave(id) => {
                if let Some(row) = self.sessions.get_mut(&id)
                    && row.left_at.is_none()
                {
                    row.left_at = Some(now);
                    self.left += 1;
                    let text = format!(
                        "leave  {id} (last cycle {}, {} msgs in all)",
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
                    if row.left_at.is_none() && !present.contains(&row.id) {
                        row.left_at = Some(now);
                        self.left += 1;
                    }
                }
                for d in list {
                    let Some(mut row) = SessionRow::from_details(d.clone(), now) else {
                        continue;
                    };
                    let totals = Totals::from_dict(&d);
                    let cycle = d.get("cycle").and_then(Value::as_u64).unwrap_or(0);
                    match self.sessions.get_mut(&row.id) {
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
                            self.sessions.insert(row.id, row);
                        }
                    }
                }
            }
            MetaEvent::Connected(url) => {
                self.connection = Connection::Connected;
                self.log(now, LogKind::Connection, format!("connected to {url}"));
            }
            MetaEvent::Disconnected(why, retry_in) => {
                self.connection = Connection::Lost(why.clone(), retry_in.map(|r| now + r));
                self.log(now, LogKind::Error, format!("connection lost: {why}"));
            }
            MetaEvent::Killed(id, outcome) => match outcome {
                Ok(()) => self.log(now, LogKind::Kill, format!("kill   {id} by this monitor")),
                Err(e) => self.log(now, LogKind::Error, format!("kill   {id} failed: {e}")),
            },
        }
    }

    fn on_stats(&mut self, info: &Dict, stats: &Dict, now: f64) {
        let Some(id) = info.get("session").and_then(Value::as_u64) else {
            return;
        };
        let t = Totals::from_dict(stats);
        self.window.0 += t.messages;
        self.window.1 += t.bytes;
        self.window.2 += 1;
        let row = self.sessions.entry(id).or_insert_with(|| {
            // Stats before join (the monitor connected in between): what the info says.
            let mut d = info.clone();
            d.insert("transport".into(), Value::Dict(Dict::new()));
            SessionRow::from_details(d, now).unwrap_or_else(|| SessionRow::new(id, now))
        });
        row.totals.add(&t);
        row.cycle = stats
            .get("cycle")
            .and_then(Value::as_u64)
            .unwrap_or(row.cycle + 1);
        let duration = stats.get("duration").and_then(Value::as_u64).unwrap_or(0) as f64 / 1e9;
        let first = stats.get("first").and_then(Value::as_bool) == Some(true);
        row.history.push(Cycle {
            cycle: row.cycle,
            first,
            totals: t,
            duration,
            at: now,
        });
        row.update_rates(now);
        row.last_stats_at = Some(now);
    }

    /// Advances time: samples the aggregate rates and forgets sessions that left long ago.
    pub fn tick(&mut self, now: f64) {
        let dt = now - self.last_tick;
        if dt > 0.0 {
            let (m, b, e) = std::mem::take(&mut self.window);
            self.aggregate.push((m as f64 / dt, b as f64 / dt));
            self.stats_events_per_s = e as f64 / dt;
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

/// Turns a meta event's topic and arguments into a [`MetaEvent`].
pub fn parse_event(topic: &str, args: &[Value]) -> Option<MetaEvent> {
    match topic {
        "wamp.session.on_join" => args.first()?.as_dict().cloned().map(MetaEvent::Join),
        "wamp.session.on_stats" => Some(MetaEvent::Stats(
            args.first()?.as_dict()?.clone(),
            args.get(1)?.as_dict()?.clone(),
        )),
        "wamp.session.on_leave" => args.first()?.as_u64().map(MetaEvent::Leave),
        _ => None,
    }
}
