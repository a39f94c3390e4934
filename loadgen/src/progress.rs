//! The live progress line: once a second, on standard error, what the run has done so far.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::run::{Progress, Run};

/// A reading of the run's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    /// Requests sent.
    pub sent: u64,
    /// Answered successfully.
    pub ok: u64,
    /// Answered with an error.
    pub failed: u64,
    /// Events received.
    pub events: u64,
    /// Sessions joined.
    pub joined: u64,
    /// Sessions that could not join.
    pub join_failed: u64,
    /// Sessions left.
    pub left: u64,
}

impl Reading {
    /// Reads the counters.
    pub fn of(p: &Progress) -> Reading {
        Reading {
            sent: Progress::get(&p.sent),
            ok: Progress::get(&p.ok),
            failed: Progress::get(&p.failed),
            events: Progress::get(&p.events),
            joined: Progress::get(&p.joined),
            join_failed: Progress::get(&p.join_failed),
            left: Progress::get(&p.left),
        }
    }
}

/// The line for `now` (seconds since the start, of `total`), with rates since `before`, read
/// `interval` seconds earlier.
pub fn line(now: f64, total: f64, r: &Reading, before: &Reading, interval: f64) -> String {
    let per_s = |a: u64, b: u64| (a.saturating_sub(b)) as f64 / interval.max(1e-9);
    let mut s = format!(
        "[{now:5.1}/{total:.0} s] sent {} ({:.0}/s)  ok {}  failed {}",
        r.sent,
        per_s(r.sent, before.sent),
        r.ok,
        r.failed
    );
    if r.events > 0 {
        s += &format!(
            "  events {} ({:.0}/s)",
            r.events,
            per_s(r.events, before.events)
        );
    }
    s += &format!("  sessions {} up", r.joined.saturating_sub(r.left));
    if r.join_failed > 0 {
        s += &format!(", {} failed to join", r.join_failed);
    }
    s
}

/// Prints the line every second until the run stops issuing requests, then clears it.
pub async fn show(run: Arc<Run>) {
    let total = (run.plan.warmup + run.plan.duration).as_secs_f64();
    let mut before = Reading::default();
    let mut at = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = run.stopped() => break,
        }
        let r = Reading::of(&run.progress);
        let now = Instant::now();
        let text = line(
            (now - run.start).as_secs_f64(),
            total,
            &r,
            &before,
            (now - at).as_secs_f64(),
        );
        eprint!("\r\x1b[2K{text}");
        let _ = std::io::stderr().flush();
        (before, at) = (r, now);
    }
    eprint!("\r\x1b[2K");
    let _ = std::io::stderr().flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_totals_and_rates_over_the_last_interval() {
        let before = Reading {
            sent: 1000,
            ok: 990,
            events: 10_000,
            joined: 11,
            ..Reading::default()
        };
        let now = Reading {
            sent: 3000,
            ok: 2990,
            failed: 2,
            events: 30_000,
            joined: 12,
            left: 1,
            join_failed: 1,
        };
        assert_eq!(
            line(3.0, 11.0, &now, &before, 2.0),
            "[  3.0/11 s] sent 3000 (1000/s)  ok 2990  failed 2  events 30000 (10000/s)  \
             sessions 11 up, 1 failed to join"
        );
        assert_eq!(
            line(1.0, 11.0, &Reading::default(), &Reading::default(), 1.0),
            "[  1.0/11 s] sent 0 (0/s)  ok 0  failed 0  sessions 0 up"
        );
    }
}
