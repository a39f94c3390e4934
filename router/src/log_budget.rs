//! Log lines a peer can cause at will (a connection that never sends HELLO, a refused login, a
//! protocol violation) are logged at most so many times per window, so that a flood of bad
//! connections cannot flood the log. What is held back is counted and said in one line when
//! the next window opens: nothing goes unnoticed, and the first of each burst is logged whole.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many warnings of one kind may be logged per window.
pub(crate) struct LogBudget {
    /// What the warnings are about, for the line that counts the held-back ones.
    kind: &'static str,
    per_window: u32,
    window: Duration,
    state: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    started: Option<Instant>,
    logged: u32,
    held_back: u64,
}

/// Whether to log a warning, and what the previous window held back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Log this one.
    pub log: bool,
    /// Warnings held back in the window that just ended (0 if none or still in it).
    pub held_back: u64,
}

impl LogBudget {
    /// At most `per_window` warnings about `kind` per `window`.
    pub(crate) const fn new(kind: &'static str, per_window: u32, window: Duration) -> Self {
        LogBudget {
            kind,
            per_window,
            window,
            state: Mutex::new(Window {
                started: None,
                logged: 0,
                held_back: 0,
            }),
        }
    }

    /// Whether a warning may be logged now; logs the count of those held back in the window
    /// that ended, if any.
    pub(crate) fn admit(&self) -> bool {
        let verdict = self.admit_at(Instant::now());
        if verdict.held_back > 0 {
            tracing::warn!(
                "{} more log lines about {} in {:?} were not logged (at most {} per {:?})",
                verdict.held_back,
                self.kind,
                self.window,
                self.per_window,
                self.window
            );
        }
        verdict.log
    }

    /// [`LogBudget::admit`] at `now`, without logging.
    fn admit_at(&self, now: Instant) -> Verdict {
        let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut held_back = 0;
        if w.started
            .is_none_or(|t| now.saturating_duration_since(t) >= self.window)
        {
            held_back = w.held_back;
            *w = Window {
                started: Some(now),
                ..Window::default()
            };
        }
        let log = w.logged < self.per_window;
        if log {
            w.logged += 1;
        } else {
            w.held_back += 1;
        }
        Verdict { log, held_back }
    }
}

/// Connections that end before they join: no HELLO in time, a refused HELLO or login, a
/// frame too large or stalled before HELLO.
pub(crate) static UNJOINED: LogBudget = LogBudget::new(
    "connections refused before joining",
    20,
    Duration::from_secs(10),
);

/// Joined sessions ended for a protocol violation.
pub(crate) static VIOLATIONS: LogBudget =
    LogBudget::new("protocol violations", 20, Duration::from_secs(10));

/// Logs at `level` if `budget` admits it: `log_within!(UNJOINED, warn, peer = %p, "…")`.
macro_rules! log_within {
    ($budget:expr, $level:ident, $($arg:tt)+) => {
        if $budget.admit() {
            tracing::$level!($($arg)+);
        }
    };
}
pub(crate) use log_within;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_cut_at_the_budget_and_counted_in_the_next_window() {
        let budget = LogBudget::new("test", 3, Duration::from_secs(10));
        let t0 = Instant::now();
        let logged: Vec<bool> = (0..5)
            .map(|i| budget.admit_at(t0 + Duration::from_millis(i)).log)
            .collect();
        assert_eq!(logged, [true, true, true, false, false]);
        // Still the same window at 9.9 s.
        assert_eq!(
            budget.admit_at(t0 + Duration::from_millis(9_900)),
            Verdict {
                log: false,
                held_back: 0
            }
        );
        // The next window logs again and reports the 3 held back.
        assert_eq!(
            budget.admit_at(t0 + Duration::from_secs(10)),
            Verdict {
                log: true,
                held_back: 3
            }
        );
        // And then has nothing held back to report.
        assert_eq!(
            budget.admit_at(t0 + Duration::from_secs(25)),
            Verdict {
                log: true,
                held_back: 0
            }
        );
    }
}
