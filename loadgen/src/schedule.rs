//! The open-loop timeline: request `n` is due at `n / rate` seconds after the start, whatever
//! happened to the requests before it.

use std::time::Duration;

/// When each request is due.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// `rate` requests per second, evenly spaced.
    Open {
        /// Requests per second (> 0).
        rate: f64,
    },
    /// As fast as answers come back: each request is due when the previous one finished.
    Closed,
}

impl Schedule {
    /// When request `n` (from 0) is due, counted from the start; `None` for a closed loop.
    pub fn due(&self, n: u64) -> Option<Duration> {
        match *self {
            Schedule::Open { rate } => Some(Duration::from_secs_f64(n as f64 / rate)),
            Schedule::Closed => None,
        }
    }

    /// The timeline of one of several senders that share this one's load: `fraction` of the
    /// rate (a closed loop stays closed).
    pub fn share(&self, fraction: f64) -> Schedule {
        match *self {
            Schedule::Open { rate } => Schedule::Open {
                rate: rate * fraction,
            },
            Schedule::Closed => Schedule::Closed,
        }
    }

    /// How many requests fall due within `d` of the start.
    pub fn count_within(&self, d: Duration) -> Option<u64> {
        match *self {
            Schedule::Open { rate } => Some((d.as_secs_f64() * rate).ceil() as u64),
            Schedule::Closed => None,
        }
    }
}

/// The latency of a request: from when it was due (open loop) or sent (closed loop) until its
/// answer, in microseconds. A request sent late because the sender stalled is charged the stall.
pub fn latency_us(due: Duration, sent: Duration, answered: Duration, schedule: &Schedule) -> u64 {
    let from = match schedule {
        Schedule::Open { .. } => due,
        Schedule::Closed => sent,
    };
    u64::try_from(answered.saturating_sub(from).as_micros()).unwrap_or(u64::MAX)
}

/// Waits until `due` with sub-millisecond precision: tokio's timer has a resolution of 1 ms,
/// which would send an open-loop schedule in bursts (and make a closed loop wait 1 ms per
/// call), so the last stretch is spent yielding to the other tasks.
pub async fn wait_until(due: tokio::time::Instant) {
    let coarse = std::time::Duration::from_millis(2);
    if due.saturating_duration_since(tokio::time::Instant::now()) > coarse {
        tokio::time::sleep_until(due - coarse).await;
    }
    while tokio::time::Instant::now() < due {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn open_loop_requests_are_evenly_spaced() {
        let s = Schedule::Open { rate: 1000.0 };
        assert_eq!(s.due(0), Some(ms(0)));
        assert_eq!(s.due(1), Some(ms(1)));
        assert_eq!(s.due(2500), Some(ms(2500)));
        assert_eq!(s.count_within(Duration::from_secs(2)), Some(2000));
        assert_eq!(Schedule::Closed.due(5), None);
    }

    /// A fake clock: a sender that stalls for 100 ms at t = 10 ms while 1,000 requests per
    /// second are due. Every request due during the stall is charged the wait; measured from
    /// its late send it would look instant (coordinated omission).
    #[test]
    fn a_stall_is_charged_to_every_request_that_was_due_during_it() {
        let s = Schedule::Open { rate: 1000.0 };
        let service = Duration::from_micros(500);
        let mut clock = Duration::ZERO;
        let mut corrected = Vec::new();
        let mut naive = Vec::new();
        for n in 0..400u64 {
            let due = s.due(n).unwrap();
            if clock < due {
                clock = due;
            }
            if n == 10 {
                clock += ms(100); // the stall
            }
            let sent = clock;
            let answered = sent + service;
            clock = answered;
            corrected.push(latency_us(due, sent, answered, &s));
            naive.push(latency_us(due, sent, answered, &Schedule::Closed));
        }
        assert!(
            naive.iter().all(|&l| l == 500),
            "from the send, every request took 0.5 ms"
        );
        let stalled = corrected.iter().filter(|&&l| l > 10_000).count();
        assert!(
            stalled >= 100,
            "about 100 requests fell due during the 100 ms stall: {stalled}"
        );
        assert_eq!(
            corrected[10], 100_500,
            "the one in progress waited the whole stall"
        );
        assert_eq!(*corrected.last().unwrap(), 500, "and the sender caught up");
    }
}
