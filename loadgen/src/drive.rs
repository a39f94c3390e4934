//! The request loop of one sender: takes requests off the run's timeline, keeps at most
//! `window` in flight, and records each answer's latency (from its due time in an open loop,
//! so that a request that waited for a free slot is charged the wait).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::latency::Recorder;
use crate::run::Run;
use crate::schedule::Schedule;

/// How long requests still in flight at the end are awaited by default before counting as
/// timed out ([`Plan::drain`](crate::run::Plan::drain)).
pub const DRAIN: Duration = Duration::from_secs(5);

/// The error URI a request still unanswered after [`DRAIN`] is counted under.
pub const TIMED_OUT: &str = "loadgen.timeout";

/// Flow control for a closed-loop fan-out: a publisher may run at most `limit` deliveries
/// ahead of what subscribers received, so that nobody is closed as a slow consumer and the
/// figure is the router's sustained rate.
#[derive(Debug)]
pub struct Backlog {
    expected: AtomicU64,
    received: AtomicU64,
    limit: u64,
    progress: Notify,
}

impl Backlog {
    /// At most `limit` deliveries outstanding.
    pub fn new(limit: u64) -> Arc<Backlog> {
        Arc::new(Backlog {
            expected: AtomicU64::new(0),
            received: AtomicU64::new(0),
            limit,
            progress: Notify::new(),
        })
    }

    /// A publication that will be delivered `n` times was sent.
    pub fn expect(&self, n: u64) {
        self.expected.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` deliveries arrived.
    pub fn received(&self, n: u64) {
        self.received.fetch_add(n, Ordering::Relaxed);
        self.progress.notify_waiters();
    }

    /// Waits until the backlog is under its limit or the run is over (re-checking at least
    /// every 10 ms, so a lost delivery cannot stall the run).
    pub async fn room(&self, run: &Run) {
        while !run.is_stopped() {
            let outstanding = self
                .expected
                .load(Ordering::Relaxed)
                .saturating_sub(self.received.load(Ordering::Relaxed));
            if outstanding < self.limit {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(10), self.progress.notified()).await;
        }
    }
}

/// How one sender issues its requests.
#[derive(Debug, Clone, Copy)]
pub struct Lane<'a> {
    /// This sender's timeline.
    pub schedule: Schedule,
    /// Requests in flight at most.
    pub window: usize,
    /// Flow control against the subscribers, for a closed-loop fan-out.
    pub backlog: Option<&'a Backlog>,
    /// This sender's requests at most (the run's own limits apply as well).
    pub limit: Option<u64>,
}

impl Lane<'_> {
    /// A sender on `schedule` with up to `window` requests in flight.
    pub fn new(schedule: Schedule, window: usize) -> Self {
        Lane {
            schedule,
            window,
            backlog: None,
            limit: None,
        }
    }
}

/// Runs one sender until the run is over (or its own limit is reached), then awaits what is
/// in flight (at most the plan's `drain`). `send(n, due)` makes request `n`, due at `due`; its output
/// is `Err(uri)` for an error. Returns the latencies of the requests due in the measured
/// window.
pub async fn drive<F, Fut>(run: &Run, lane: Lane<'_>, mut send: F) -> Recorder
where
    F: FnMut(u64, Instant) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let Lane {
        schedule,
        window,
        backlog,
        limit,
    } = lane;
    let mut rec = Recorder::default();
    let mut inflight = FuturesUnordered::new();
    let window = window.max(1);
    let settle =
        |rec: &mut Recorder,
         (due, sent, done, outcome): (Instant, Instant, Instant, Result<(), String>)| {
            run.answered(outcome.is_ok());
            if run.measured(due) {
                match outcome {
                    Ok(()) => rec.ok(run.latency_us(&schedule, due, sent, done)),
                    Err(uri) => rec.error(&uri),
                }
            }
        };
    let mut n = 0u64;
    while limit.is_none_or(|l| n < l) {
        // Room in the window: wait for the next request's due time, settling answers meanwhile.
        // A full window waits for an answer, but never past the end of the run: a router that
        // stops answering must not keep the run going (what is in flight is drained below).
        while inflight.len() >= window && !run.is_stopped() {
            tokio::select! {
                Some(x) = inflight.next() => settle(&mut rec, x),
                _ = run.stopped() => {}
            }
        }
        if let Some(b) = backlog {
            b.room(run).await;
        }
        let next = run.next_due(&schedule, n);
        tokio::pin!(next);
        let due = loop {
            tokio::select! {
                biased;
                Some(x) = inflight.next(), if !inflight.is_empty() => settle(&mut rec, x),
                due = &mut next => break due,
            }
        };
        let Some(due) = due else { break };
        n += 1;
        let sent = Instant::now();
        run.sent();
        let request = send(n - 1, due);
        inflight.push(async move {
            let outcome = request.await;
            (due, sent, Instant::now(), outcome)
        });
    }
    // A sender that reached its own limit takes its answers while the run lasts; then what is
    // still in flight gets the plan's `drain`, no more.
    while !inflight.is_empty() && !run.is_stopped() {
        tokio::select! {
            Some(x) = inflight.next() => settle(&mut rec, x),
            _ = run.stopped() => {}
        }
    }
    let deadline = Instant::now() + run.plan.drain;
    while !inflight.is_empty() {
        match tokio::time::timeout_at(deadline, inflight.next()).await {
            Ok(Some(x)) => settle(&mut rec, x),
            Ok(None) => break,
            Err(_) => {
                for _ in 0..inflight.len() {
                    run.answered(false);
                    rec.error(TIMED_OUT);
                }
                break;
            }
        }
    }
    rec
}
