//! What a run measured: the scenario's recorders, the sessions and their traffic, and the
//! two ways of showing it — a table for people and JSON (schema `wamp-loadgen/1`) for scripts.

use std::collections::BTreeMap;
use std::fmt;

use wamp::client::Traffic;
use wamp::id::Id;

use crate::latency::{Recorder, Summary};
use crate::run::Run;
use crate::schedule::Schedule;

/// The version of the JSON summary's layout.
pub const SCHEMA: &str = "wamp-loadgen/1";

/// What a scenario recorded; absent parts did not apply.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Call → result.
    pub calls: Option<Recorder>,
    /// Publish → PUBLISHED (or → queued, without acknowledgement).
    pub publications: Option<Recorder>,
    /// Publication due → event received, per event.
    pub events: Option<Recorder>,
    /// Session cycles (join → left) of `churn` and `example`.
    pub cycles: Option<Recorder>,
    /// `example`: clients that did not run to their end because the run's duration ended
    /// first (cut short, or never started) — not failures — and how many were asked for.
    pub unfinished: Option<Unfinished>,
}

/// Clients of a run that did not run to their end because its duration ended first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unfinished {
    /// Clients cut short or never started.
    pub clients: u64,
    /// Clients asked for.
    pub of: u64,
}

impl Outcome {
    /// Adds another scenario's outcome (`mixed`).
    pub fn merge(&mut self, other: Outcome) {
        fn add(a: &mut Option<Recorder>, b: Option<Recorder>) {
            match (a.as_mut(), b) {
                (Some(a), Some(b)) => a.merge(&b),
                (None, Some(b)) => *a = Some(b),
                _ => {}
            }
        }
        add(&mut self.calls, other.calls);
        add(&mut self.publications, other.publications);
        add(&mut self.events, other.events);
        add(&mut self.cycles, other.cycles);
    }
}

/// One session's traffic as this process counted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTraffic {
    /// The WAMP session id.
    pub id: Id,
    /// What it sent and received.
    pub traffic: Traffic,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// The router.
    pub url: String,
    /// The realm.
    pub realm: String,
    /// The serializer's name.
    pub serializer: String,
    /// The total rate asked for; `None` for a closed loop.
    pub rate: Option<f64>,
    /// Seconds measured.
    pub seconds: f64,
    /// Whether the run was stopped early (Ctrl-C).
    pub interrupted: bool,
    /// What the scenario recorded.
    pub outcome: Outcome,
    /// Sessions that could not join, by reason.
    pub join_errors: BTreeMap<String, u64>,
    /// Every session that joined, with its traffic.
    pub sessions: Vec<SessionTraffic>,
}

impl Report {
    /// Collects the report of a finished run.
    pub fn new(scenario: &str, run: &Run, outcome: Outcome) -> Report {
        Report {
            scenario: scenario.to_owned(),
            url: run.plan.url.clone(),
            realm: run.plan.realm.clone(),
            serializer: run.plan.serializer.to_string(),
            rate: match run.plan.schedule {
                Schedule::Open { rate } => Some(rate),
                Schedule::Closed => None,
            },
            seconds: run.measured_seconds(),
            interrupted: run.interrupted(),
            outcome,
            join_errors: run.join_errors(),
            sessions: run
                .sessions()
                .iter()
                .map(|s| SessionTraffic {
                    id: s.id,
                    traffic: s.traffic.snapshot(),
                })
                .collect(),
        }
    }

    /// The rows of the table: the kind of request and its recorder.
    fn rows(&self) -> Vec<(&'static str, &Recorder)> {
        let o = &self.outcome;
        [
            ("calls", o.calls.as_ref()),
            ("publications", o.publications.as_ref()),
            ("events", o.events.as_ref()),
            ("cycles", o.cycles.as_ref()),
        ]
        .into_iter()
        .filter_map(|(n, r)| r.map(|r| (n, r)))
        .collect()
    }

    /// Every error by URI (requests and sessions that could not join).
    pub fn errors(&self) -> BTreeMap<String, u64> {
        let mut all = self.join_errors.clone();
        for (_, r) in self.rows() {
            for (k, v) in &r.errors {
                *all.entry(k.clone()).or_default() += v;
            }
        }
        all
    }

    /// The traffic of every session, added up.
    pub fn traffic(&self) -> Traffic {
        self.sessions
            .iter()
            .fold(Traffic::default(), |t, s| Traffic {
                bytes_rx: t.bytes_rx + s.traffic.bytes_rx,
                bytes_tx: t.bytes_tx + s.traffic.bytes_tx,
                messages_rx: t.messages_rx + s.traffic.messages_rx,
                messages_tx: t.messages_tx + s.traffic.messages_tx,
                rated_messages: t.rated_messages + s.traffic.rated_messages,
            })
    }

    /// Requests that failed, sessions that could not join included.
    pub fn failures(&self) -> u64 {
        self.errors().values().sum()
    }

    /// The summary as JSON, schema [`SCHEMA`].
    pub fn to_json(&self) -> serde_json::Value {
        let mut measured = serde_json::Map::new();
        for (name, r) in self.rows() {
            measured.insert(name.to_owned(), r.summary(self.seconds).to_json());
        }
        let t = self.traffic();
        serde_json::json!({
            "schema": SCHEMA,
            "scenario": self.scenario,
            "url": self.url,
            "realm": self.realm,
            "serializer": self.serializer,
            "rate_per_s": self.rate,
            "seconds": self.seconds,
            "interrupted": self.interrupted,
            "measured": measured,
            "errors": self.errors(),
            "sessions": {
                "joined": self.sessions.len(),
                "failed": self.join_errors.values().sum::<u64>(),
            },
            "traffic": {
                "messages_tx": t.messages_tx, "messages_rx": t.messages_rx,
                "bytes_tx": t.bytes_tx, "bytes_rx": t.bytes_rx,
            },
            "unfinished": self.outcome.unfinished.map(|u| u.clients),
        })
    }
}

impl fmt::Display for Report {
    /// The summary table printed at the end of a run.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = self.rate.map_or("max (closed loop)".to_owned(), |r| {
            format!("{r}/s (open loop)")
        });
        writeln!(
            f,
            "{} → {} realm {} ({}), rate {rate}, {:.2} s measured{}",
            self.scenario,
            self.url,
            self.realm,
            self.serializer,
            self.seconds,
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        )?;
        writeln!(
            f,
            "  {:<13} {:>11} {:>8} {:>12} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "", "ok", "failed", "per second", "p50 µs", "p90", "p99", "p99.9", "max"
        )?;
        for (name, r) in self.rows() {
            write_row(f, name, &r.summary(self.seconds))?;
        }
        let t = self.traffic();
        writeln!(
            f,
            "  sessions: {} joined, {} failed; traffic: {} messages / {} sent, {} messages / {} received",
            self.sessions.len(),
            self.join_errors.values().sum::<u64>(),
            t.messages_tx,
            bytes(t.bytes_tx),
            t.messages_rx,
            bytes(t.bytes_rx),
        )?;
        if let Some(u) = self.outcome.unfinished
            && u.clients > 0
            && !self.interrupted
        {
            writeln!(
                f,
                "  the duration ended the run: {} of {} clients did not run to their end (not \
                 failures; a longer --duration runs them all)",
                u.clients, u.of
            )?;
        }
        let errors = self.errors();
        if !errors.is_empty() {
            writeln!(f, "  errors:")?;
            for (uri, n) in errors {
                writeln!(f, "    {n:>9} × {uri}")?;
            }
        }
        Ok(())
    }
}

fn write_row(f: &mut fmt::Formatter<'_>, name: &str, s: &Summary) -> fmt::Result {
    let lat = |v: u64| {
        if s.timed {
            v.to_string()
        } else {
            "-".to_owned()
        }
    };
    writeln!(
        f,
        "  {:<13} {:>11} {:>8} {:>12.1} {:>8} {:>8} {:>8} {:>8} {:>8}",
        name,
        s.ok,
        s.failed,
        s.throughput,
        lat(s.p50),
        lat(s.p90),
        lat(s.p99),
        lat(s.p999),
        lat(s.max)
    )
}

/// `1.2 MB`, `340 kB`, `12 B`.
fn bytes(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2} GB", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1} kB", n as f64 / 1e3),
        n => format!("{n} B"),
    }
}
