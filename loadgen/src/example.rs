//! The `example` scenario: what the client of Crossbar.io's session-statistics example does —
//! subscribe `com.example.topic1`, publish the counter 0, 1, … 4 to it with `acknowledge` and
//! `exclude_me: false`, one per interval, then leave — repeated and in parallel. The rate does
//! not apply: each worker runs its clients one after the other.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use wamp::client::Event;
use wamp::{Dict, Id, Payload, Value, dict};

use crate::drive::{Lane, drive};
use crate::latency::Recorder;
use crate::report::{Outcome, Unfinished};
use crate::run::{Run, error_key};
use crate::schedule::Schedule;

/// The topic of the Crossbar example.
pub const TOPIC: &str = "com.example.topic1";

/// How the example client is repeated.
#[derive(Debug, Clone)]
pub struct ExampleConfig {
    /// Clients run one after the other by each worker.
    pub repeat: u64,
    /// Workers running at once.
    pub parallel: usize,
    /// Publications per client.
    pub publications: u64,
    /// Time between a client's publications.
    pub interval: Duration,
}

impl ExampleConfig {
    /// How long the clients take, with room for joining and leaving: the run's default
    /// duration, so that every client runs to its end.
    pub fn expected_duration(&self) -> Duration {
        let publishing = self.interval * u32::try_from(self.publications).unwrap_or(u32::MAX);
        let one = publishing + Duration::from_millis(500);
        one * u32::try_from(self.repeat).unwrap_or(u32::MAX) + Duration::from_secs(5)
    }

    /// Clients in all.
    pub fn clients(&self) -> u64 {
        self.repeat * self.parallel.max(1) as u64
    }
}

impl Default for ExampleConfig {
    fn default() -> Self {
        ExampleConfig {
            repeat: 1,
            parallel: 1,
            publications: 5,
            interval: Duration::from_secs(1),
        }
    }
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>, cfg: &ExampleConfig) -> anyhow::Result<Outcome> {
    // Clients that ran to their end, and those that failed: the rest were cut short.
    let ended = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..cfg.parallel.max(1) {
        let (run, cfg, ended) = (Arc::clone(run), cfg.clone(), Arc::clone(&ended));
        workers.push(tokio::spawn(async move {
            let publications = Arc::new(tokio::sync::Mutex::new(Recorder::default()));
            let events = Arc::new(tokio::sync::Mutex::new(Recorder::default()));
            let lane = Lane {
                limit: Some(cfg.repeat),
                ..Lane::new(Schedule::Closed, 1)
            };
            let clients = drive(&run, lane, |_, _| {
                let (run, cfg, ended) = (Arc::clone(&run), cfg.clone(), Arc::clone(&ended));
                let (p, e) = (Arc::clone(&publications), Arc::clone(&events));
                async move {
                    let result = client(&run, &cfg).await;
                    // A failed client ended too (and counts as a failure).
                    if !matches!(&result, Ok(c) if !c.completed) {
                        ended.fetch_add(1, Ordering::Relaxed);
                    }
                    let c = result?;
                    p.lock().await.merge(&c.publications);
                    e.lock().await.merge(&c.events);
                    Ok(())
                }
            })
            .await;
            let (p, e) = (
                publications.lock().await.clone(),
                events.lock().await.clone(),
            );
            (clients, p, e)
        }));
    }
    let mut outcome = Outcome {
        cycles: Some(Recorder::default()),
        publications: Some(Recorder::default()),
        events: Some(Recorder::default()),
        ..Outcome::default()
    };
    for w in workers {
        let (c, p, e) = w.await?;
        outcome.merge(Outcome {
            cycles: Some(c),
            publications: Some(p),
            events: Some(e),
            ..Outcome::default()
        });
    }
    outcome.unfinished = Some(Unfinished {
        clients: cfg.clients().saturating_sub(ended.load(Ordering::Relaxed)),
        of: cfg.clients(),
    });
    Ok(outcome)
}

/// What one example client recorded.
struct Client {
    /// Its publications' acknowledgement latencies.
    publications: Recorder,
    /// The events it received.
    events: Recorder,
    /// Whether it published all it should (the run's end did not cut it short).
    completed: bool,
}

/// One example client: join, subscribe, publish the counter with acknowledgement, leave.
/// Parallel clients share the topic, so an event is timed (publish → event) only when it is
/// this client's own — the router discloses the publisher — and counted without a latency
/// otherwise. A client the run's end stops early is cut short, not failed.
async fn client(run: &Run, cfg: &ExampleConfig) -> Result<Client, String> {
    let s = run.join().await.map_err(|e| error_key(&e))?;
    let mut pubs = Recorder::default();
    let mut events = Recorder::default();
    let mut sent_at: Vec<Instant> = Vec::new();
    let mut completed = false;
    let work = async {
        let mut sub = s.subscribe(TOPIC, Dict::new()).await?;
        let options = dict! {"acknowledge" => true, "exclude_me" => false};
        let started = Instant::now();
        for counter in 0..cfg.publications {
            let sent = Instant::now();
            sent_at.push(sent);
            run.sent();
            match s
                .publish(
                    TOPIC,
                    Payload::from_args(vec![Value::from(counter)]),
                    options.clone(),
                )
                .await
            {
                Ok(_) => {
                    run.answered(true);
                    if run.measured(sent) {
                        pubs.ok(micros(Instant::now() - sent));
                    }
                }
                Err(e) => {
                    run.answered(false);
                    pubs.error(&error_key(&e));
                }
            }
            // Until the next publication is due, take events as they come.
            let next = started + cfg.interval * u32::try_from(counter + 1).unwrap_or(u32::MAX);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => break,
                    _ = run.stopped() => break,
                    e = sub.events.recv() => match e {
                        Some(e) => received(run, &e, s.id(), &sent_at, &mut events),
                        None => break,
                    },
                }
            }
            if run.is_stopped() && counter + 1 < cfg.publications {
                return Ok(());
            }
        }
        completed = true;
        Ok::<_, wamp::client::ClientError>(())
    };
    let outcome = work.await;
    run.leave(s).await;
    outcome.map_err(|e| error_key(&e))?;
    Ok(Client {
        publications: pubs,
        events,
        completed,
    })
}

/// Counts an event; times it from its publication when `me` published it.
fn received(run: &Run, e: &Event, me: Id, sent_at: &[Instant], events: &mut Recorder) {
    run.events(1);
    let own = e.details.get("publisher").and_then(Value::as_u64) == Some(me);
    let sent = e
        .payload
        .args_as::<(u64,)>()
        .ok()
        .and_then(|(c,)| sent_at.get(usize::try_from(c).ok()?).copied());
    match sent {
        Some(t) if own && run.measured(t) => {
            events.ok(micros(
                Instant::from_std(e.received).saturating_duration_since(t),
            ));
        }
        _ => events.ok_untimed(1),
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
