//! One run of a scenario: its timeline (warm-up, measured window, end), the stop signal
//! (Ctrl-C, `--count` reached), the live counters the progress line shows, and the register of
//! every session the run opened, whose traffic the report adds up.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wamp::client::{ClientError, TrafficHandle};
use wamp::id::Id;
use wamp::{Serializer, Session, SessionOptions};

use crate::schedule::Schedule;

/// What to load and for how long; shared by every scenario.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The router: `ws://host:port/path` or `rs://host:port`.
    pub url: String,
    /// The realm.
    pub realm: String,
    /// The serializer every session negotiates.
    pub serializer: Serializer,
    /// Open loop at a total rate, or closed loop.
    pub schedule: Schedule,
    /// Time before measuring (requests due then are sent but not recorded).
    pub warmup: Duration,
    /// Measured time.
    pub duration: Duration,
    /// At most this many requests in total (warm-up included), if set.
    pub count: Option<u64>,
    /// How long answers still in flight at the end are awaited (then counted as
    /// `loadgen.timeout`).
    pub drain: Duration,
    /// Who every session logs in as.
    pub login: wamp::auth::Login,
    /// Whom to trust for `wss://` and `rss://`.
    pub trust: wamp::transport::tls::TrustRoots,
}

/// Counters updated as the run goes, read by the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    /// Requests (calls, publications, session cycles) sent.
    pub sent: AtomicU64,
    /// Requests answered successfully.
    pub ok: AtomicU64,
    /// Requests answered with an error.
    pub failed: AtomicU64,
    /// Events received by subscribers.
    pub events: AtomicU64,
    /// Sessions that joined.
    pub joined: AtomicU64,
    /// Sessions that could not join.
    pub join_failed: AtomicU64,
    /// Sessions that left.
    pub left: AtomicU64,
}

impl Progress {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A session the run opened: its id and its traffic counters (readable after it left).
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The WAMP session id.
    pub id: Id,
    /// Its traffic counters.
    pub traffic: TrafficHandle,
}

/// The shared state of one run.
#[derive(Debug)]
pub struct Run {
    /// What was asked for.
    pub plan: Plan,
    /// When the run started (request `n`'s due time counts from here).
    pub start: Instant,
    /// Live counters.
    pub progress: Progress,
    stop: CancellationToken,
    interrupted: AtomicBool,
    finished_at: OnceLock<Instant>,
    issued: AtomicU64,
    sessions: Mutex<Vec<SessionRecord>>,
    join_errors: Mutex<BTreeMap<String, u64>>,
}

impl Run {
    /// Starts the clock.
    pub fn new(plan: Plan) -> Run {
        Run {
            plan,
            start: Instant::now(),
            progress: Progress::default(),
            stop: CancellationToken::new(),
            interrupted: AtomicBool::new(false),
            finished_at: OnceLock::new(),
            issued: AtomicU64::new(0),
            sessions: Mutex::new(Vec::new()),
            join_errors: Mutex::new(BTreeMap::new()),
        }
    }

    /// When measuring starts.
    pub fn measure_from(&self) -> Instant {
        self.start + self.plan.warmup
    }

    /// When the run ends at the latest.
    pub fn end(&self) -> Instant {
        self.measure_from() + self.plan.duration
    }

    /// Whether a request due at `due` is recorded (it fell in the measured window).
    pub fn measured(&self, due: Instant) -> bool {
        due >= self.measure_from()
    }

    /// Stops the run early (Ctrl-C): no new requests; those in flight are still awaited briefly.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::Relaxed);
        self.finish();
    }

    /// Whether [`Run::interrupt`] was called.
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// Marks the run as over (the scenario returned): the measured window ends now at the latest.
    pub fn complete(&self) {
        self.finish();
    }

    fn finish(&self) {
        let _ = self.finished_at.set(Instant::now());
        self.stop.cancel();
    }

    /// Resolves when the run stops issuing requests (its end, Ctrl-C, or `--count` reached).
    pub async fn stopped(&self) {
        tokio::select! {
            _ = self.stop.cancelled() => {}
            _ = tokio::time::sleep_until(self.end()) => {}
        }
    }

    /// Whether the run stopped issuing requests.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled() || Instant::now() >= self.end()
    }

    /// The measured seconds: from the end of the warm-up to the end of the run, or to when it
    /// was stopped if that came first.
    pub fn measured_seconds(&self) -> f64 {
        let end = self
            .finished_at
            .get()
            .map_or(self.end(), |&t| t.min(self.end()));
        end.saturating_duration_since(self.measure_from())
            .as_secs_f64()
    }

    /// Takes the next request of a sender whose own timeline is `schedule` and waits until it
    /// is due; `None` once the run is over (end, stop or count). `n` counts this sender's
    /// requests from 0.
    pub async fn next_due(&self, schedule: &Schedule, n: u64) -> Option<Instant> {
        let due = match schedule.due(n) {
            Some(d) => self.start + d,
            None => Instant::now(),
        };
        if due >= self.end() || self.stop.is_cancelled() {
            return None;
        }
        if let Some(count) = self.plan.count
            && self.issued.fetch_add(1, Ordering::Relaxed) >= count
        {
            self.finish();
            return None;
        }
        tokio::select! {
            biased;
            _ = self.stop.cancelled() => None,
            _ = crate::schedule::wait_until(due) => Some(due),
        }
    }

    /// Latency of a request in µs, as the schedule defines it (see [`crate::schedule::latency_us`]).
    pub fn latency_us(
        &self,
        schedule: &Schedule,
        due: Instant,
        sent: Instant,
        done: Instant,
    ) -> u64 {
        crate::schedule::latency_us(
            due - self.start,
            sent - self.start,
            done - self.start,
            schedule,
        )
    }

    /// Session options for this run's serializer.
    pub fn session_options(&self) -> SessionOptions {
        SessionOptions {
            serializer: self.plan.serializer,
            queue: 8192,
            login: self.plan.login.clone(),
            trust: self.plan.trust.clone(),
            ..SessionOptions::default()
        }
    }

    /// Joins a session and registers it with the run; a failure is counted by reason.
    pub async fn join(&self) -> Result<Session, ClientError> {
        self.join_at(&self.plan.url).await
    }

    /// [`Run::join`] at `url` instead of the run's (another node of a cluster).
    pub async fn join_at(&self, url: &str) -> Result<Session, ClientError> {
        match Session::join(url, &self.plan.realm, self.session_options()).await {
            Ok(s) => {
                Progress::add(&self.progress.joined, 1);
                self.sessions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(SessionRecord {
                        id: s.id(),
                        traffic: s.traffic_handle(),
                    });
                Ok(s)
            }
            Err(e) => {
                Progress::add(&self.progress.join_failed, 1);
                *self
                    .join_errors
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(error_key(&e))
                    .or_default() += 1;
                Err(e)
            }
        }
    }

    /// Leaves a session (GOODBYE, answered or not) and counts it.
    pub async fn leave(&self, session: Session) {
        let _ = session.leave("wamp.close.normal").await;
        Progress::add(&self.progress.left, 1);
    }

    /// Counts a request sent.
    pub fn sent(&self) {
        Progress::add(&self.progress.sent, 1);
    }

    /// Counts a request answered: successfully or not.
    pub fn answered(&self, ok: bool) {
        Progress::add(
            if ok {
                &self.progress.ok
            } else {
                &self.progress.failed
            },
            1,
        );
    }

    /// Counts events received.
    pub fn events(&self, n: u64) {
        Progress::add(&self.progress.events, n);
    }

    /// Every session the run opened so far.
    pub fn sessions(&self) -> Vec<SessionRecord> {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sessions that could not join, by reason.
    pub fn join_errors(&self) -> BTreeMap<String, u64> {
        self.join_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The key an error is counted under: its WAMP URI, the ABORT reason, or a short description.
pub fn error_key(e: &ClientError) -> String {
    match e {
        ClientError::Wamp(w) => w.error.clone(),
        ClientError::Aborted { reason, .. } => reason.clone(),
        ClientError::Timeout(what) => format!("timeout ({what})"),
        ClientError::Closed(_) => "session closed".to_owned(),
        other => other.to_string(),
    }
}
