//! The `example` scenario: what the client of Crossbar.io's session-statistics example does —
//! subscribe `com.example.topic1`, publish the counter 0, 1, … 4 to it with `acknowledge` and
//! `exclude_me: false`, one per interval, then leave — repeated and in parallel. The rate does
//! not apply: each worker runs its clients one after the other.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use wamp::client::Event;
use wamp::{Dict, Id, Payload, Value, dict};

use crate::drive::{Lane, drive};
use crate::latency::Recorder;
use crate::report::Outcome;
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
    let mut workers = Vec::new();
    for _ in 0..cfg.parallel.max(1) {
        let (run, cfg) = (Arc::clone(run), cfg.clone());
        workers.push(tokio::spawn(async move {
            let publications = Arc::new(tokio::sync::Mutex::new(Recorder::default()));
            let events = Arc::new(tokio::sync::Mutex::new(Recorder::default()));
            let lane = Lane {
                limit: Some(cfg.repeat),
                ..Lane::new(Schedule::Closed, 1)
            };
            let clients = drive(&run, lane, |_, _| {
                let (run, cfg) = (Arc::clone(&run), cfg.clone());
                let (p, e) = (Arc::clone(&publications), Arc::clone(&events));
                async move {
                    let (pubs, evs) = client(&run, &cfg).await?;
                    p.lock().await.merge(&pubs);
                    e.lock().await.merge(&evs);
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
            calls: None,
        });
    }
    Ok(outcome)
}

/// One example client: join, subscribe, publish the counter with acknowledgement, leave.
/// Returns its publications' acknowledgement latencies and the events it received. Parallel
/// clients share the topic, so an event is timed (publish → event) only when it is this
/// client's own — the router discloses the publisher — and counted without a latency otherwise.
async fn client(run: &Run, cfg: &ExampleConfig) -> Result<(Recorder, Recorder), String> {
    let s = run.join().await.map_err(|e| error_key(&e))?;
    let mut pubs = Recorder::default();
    let mut events = Recorder::default();
    let mut sent_at: Vec<Instant> = Vec::new();
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
            if run.is_stopped() {
                break;
            }
        }
        Ok::<_, wamp::client::ClientError>(())
    };
    let outcome = work.await;
    run.leave(s).await;
    outcome.map_err(|e| error_key(&e))?;
    Ok((pubs, events))
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
