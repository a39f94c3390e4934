//! Latency recording (hdrhistogram, microseconds) and the summary a run prints.

use hdrhistogram::Histogram;

/// Latencies and outcomes of one run.
#[derive(Debug, Clone)]
pub struct Recorder {
    hist: Histogram<u64>,
    /// Requests answered with a result.
    pub ok: u64,
    /// Requests answered with an error, by error URI.
    pub errors: std::collections::BTreeMap<String, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            // 1 µs .. 1 h, 3 significant digits.
            hist: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("constant, valid histogram bounds"),
            ok: 0,
            errors: Default::default(),
        }
    }
}

/// The summary of a recorder.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Successful requests.
    pub ok: u64,
    /// Failed requests.
    pub failed: u64,
    /// Successful requests per second over the run.
    pub throughput: f64,
    /// Percentiles in µs: p50, p90, p99, p99.9, max.
    pub p50: u64,
    /// p90 in µs.
    pub p90: u64,
    /// p99 in µs.
    pub p99: u64,
    /// p99.9 in µs.
    pub p999: u64,
    /// The largest latency in µs.
    pub max: u64,
    /// Whether any latency was recorded (events counted without one are not).
    pub timed: bool,
}

impl Recorder {
    /// Records a success of `latency_us`.
    pub fn ok(&mut self, latency_us: u64) {
        self.ok += 1;
        let _ = self.hist.record(latency_us.max(1));
    }

    /// Records `n` successes whose latency is not known.
    pub fn ok_untimed(&mut self, n: u64) {
        self.ok += n;
    }

    /// Records a failure with `uri`.
    pub fn error(&mut self, uri: &str) {
        *self.errors.entry(uri.to_owned()).or_default() += 1;
    }

    /// Adds another recorder's results.
    pub fn merge(&mut self, other: &Recorder) {
        let _ = self.hist.add(&other.hist);
        self.ok += other.ok;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }

    /// The summary over a run of `seconds`.
    pub fn summary(&self, seconds: f64) -> Summary {
        let q = |p: f64| self.hist.value_at_quantile(p);
        Summary {
            ok: self.ok,
            failed: self.errors.values().sum(),
            throughput: if seconds > 0.0 {
                self.ok as f64 / seconds
            } else {
                0.0
            },
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: self.hist.max(),
            timed: !self.hist.is_empty(),
        }
    }
}

impl std::fmt::Display for Summary {
    /// The latency percentiles: `latency µs p50 … p90 … p99 … p99.9 … max …`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "latency µs p50 {} p90 {} p99 {} p99.9 {} max {}",
            self.p50, self.p90, self.p99, self.p999, self.max
        )
    }
}

impl Summary {
    /// The summary as JSON: counts, throughput, and the latency percentiles in µs (`null` when
    /// no latency was recorded).
    pub fn to_json(&self) -> serde_json::Value {
        let latency = self.timed.then(|| {
            serde_json::json!({
                "p50": self.p50, "p90": self.p90, "p99": self.p99,
                "p99_9": self.p999, "max": self.max,
            })
        });
        serde_json::json!({
            "ok": self.ok, "failed": self.failed, "per_s": self.throughput,
            "latency_us": latency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_errors_add_up() {
        let mut r = Recorder::default();
        for us in 1..=1000 {
            r.ok(us);
        }
        r.error("wamp.error.no_such_procedure");
        let mut other = Recorder::default();
        other.error("wamp.error.no_such_procedure");
        other.ok(5000);
        r.merge(&other);
        let s = r.summary(2.0);
        assert_eq!((s.ok, s.failed), (1001, 2));
        assert!((s.p50 as i64 - 500).abs() <= 1);
        assert!((s.p99 as i64 - 990).abs() <= 2);
        assert_eq!(s.max, 5000.max(s.max));
        assert!((s.throughput - 500.5).abs() < 1e-9);
        assert_eq!(r.errors["wamp.error.no_such_procedure"], 2);
        assert_eq!(s.to_json()["latency_us"]["p99"], s.p99);
        let mut untimed = Recorder::default();
        untimed.ok_untimed(7);
        let u = untimed.summary(1.0);
        assert!(!u.timed && u.ok == 7);
        assert!(u.to_json()["latency_us"].is_null());
    }
}
