//! The `pubsub` scenario: publishers publish on the run's timeline to a set of topics, every
//! subscriber subscribes every topic, and each event's latency is measured from when its
//! publication was due (the due time travels in the payload; publishers and subscribers share
//! this process's clock).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wamp::client::Subscription;
use wamp::{Dict, Payload, Value, dict};

use crate::drive::{Backlog, Lane, drive};
use crate::latency::Recorder;
use crate::report::Outcome;
use crate::run::{Run, error_key};
use crate::schedule::Schedule;

/// The shape of the pub/sub traffic.
#[derive(Debug, Clone)]
pub struct PubSubConfig {
    /// Publisher sessions.
    pub publishers: usize,
    /// Subscriber sessions (each subscribes every topic).
    pub subscribers: usize,
    /// Topics.
    pub topics: usize,
    /// Bytes of the binary argument after the timestamp.
    pub payload: usize,
    /// Ask for PUBLISHED (errors are then seen, and ack latency recorded).
    pub acknowledge: bool,
    /// Acknowledged publications in flight per publisher at most.
    pub window: usize,
    /// This share of the run's total rate (1.0 unless mixed with other traffic).
    pub share: f64,
    /// Where the subscribers join, when not at the run's URL (another node of a cluster, to
    /// measure the fan-out across nodes).
    pub subscriber_url: Option<String>,
}

impl Default for PubSubConfig {
    fn default() -> Self {
        PubSubConfig {
            publishers: 1,
            subscribers: 10,
            topics: 1,
            payload: 100,
            acknowledge: true,
            window: 256,
            share: 1.0,
            subscriber_url: None,
        }
    }
}

/// How far a closed-loop publisher may run ahead of its subscribers, per subscriber (well under
/// a subscriber's outbound queue in the router, so nobody is closed as a slow consumer).
const BACKLOG_PER_SUBSCRIBER: u64 = 2000;

/// Quiet time after which a subscriber stops waiting for events once publishing is over.
const QUIET: Duration = Duration::from_millis(200);

/// Runs the scenario: sets up, publishes until the run is over, collects the events.
pub async fn run(run: &Arc<Run>, cfg: &PubSubConfig) -> anyhow::Result<Outcome> {
    let token = wamp::id::random_id();
    let topics: Arc<Vec<String>> = Arc::new(
        (0..cfg.topics.max(1))
            .map(|i| format!("loadgen.ps{token}.t{i}"))
            .collect(),
    );
    let publishing_over = CancellationToken::new();
    let backlog = Backlog::new(BACKLOG_PER_SUBSCRIBER * cfg.subscribers.max(1) as u64);
    let mut subscribers = Vec::new();
    for _ in 0..cfg.subscribers {
        let s = match &cfg.subscriber_url {
            Some(url) => run.join_at(url).await?,
            None => run.join().await?,
        };
        let mut tasks = Vec::new();
        for t in topics.iter() {
            let sub = s.subscribe(t, Dict::new()).await?;
            tasks.push(tokio::spawn(receive(
                Arc::clone(run),
                sub,
                publishing_over.clone(),
                Arc::clone(&backlog),
            )));
        }
        subscribers.push((s, tasks));
    }
    let schedule = run
        .plan
        .schedule
        .share(cfg.share / cfg.publishers.max(1) as f64);
    let gate = (schedule == Schedule::Closed && cfg.subscribers > 0).then_some(backlog);
    let mut publishers = Vec::new();
    for p in 0..cfg.publishers.max(1) {
        let s = Arc::new(run.join().await?);
        let (run, topics, gate, cfg) = (
            Arc::clone(run),
            Arc::clone(&topics),
            gate.clone(),
            cfg.clone(),
        );
        publishers.push(tokio::spawn(async move {
            let options = if cfg.acknowledge {
                dict! {"acknowledge" => true}
            } else {
                Dict::new()
            };
            let fanout = cfg.subscribers as u64;
            let lane = Lane {
                backlog: gate.as_deref(),
                ..Lane::new(schedule, cfg.window)
            };
            let rec = drive(&run, lane, |n, due| {
                let due_ns = nanos_since(run.start, due);
                let payload =
                    Payload::from_args(vec![due_ns.into(), Value::Bytes(vec![0x70; cfg.payload])]);
                let topic = topics[(n as usize + p) % topics.len()].clone();
                if let Some(g) = &gate {
                    g.expect(fanout);
                }
                let (s, options) = (Arc::clone(&s), options.clone());
                async move {
                    s.publish(&topic, payload, options)
                        .await
                        .map(drop)
                        .map_err(|e| error_key(&e))
                }
            })
            .await;
            (s, rec)
        }));
    }
    let mut publications = Recorder::default();
    let mut sessions = Vec::new();
    for p in publishers {
        let (s, rec) = p.await?;
        publications.merge(&rec);
        sessions.push(s);
    }
    publishing_over.cancel();
    let mut events = Recorder::default();
    for (s, tasks) in subscribers {
        for t in tasks {
            events.merge(&t.await?);
        }
        run.leave(s).await;
    }
    for s in sessions {
        if let Ok(s) = Arc::try_unwrap(s) {
            run.leave(s).await;
        }
    }
    Ok(Outcome {
        publications: Some(publications),
        events: Some(events),
        ..Outcome::default()
    })
}

/// Nanoseconds from `start` to `t`.
fn nanos_since(start: Instant, t: Instant) -> u64 {
    u64::try_from(t.duration_since(start).as_nanos()).unwrap_or(u64::MAX)
}

/// Receives a subscription's events until publishing is over and the events stop coming
/// (at most the plan's `drain` longer), recording each one's latency from its due time.
async fn receive(
    run: Arc<Run>,
    mut sub: Subscription,
    publishing_over: CancellationToken,
    backlog: Arc<Backlog>,
) -> Recorder {
    let mut rec = Recorder::default();
    let measured_from = nanos_since(run.start, run.measure_from());
    let mut over: Option<Instant> = None;
    loop {
        let event = match over {
            None => tokio::select! {
                e = sub.events.recv() => e,
                _ = publishing_over.cancelled() => {
                    over = Some(Instant::now() + run.plan.drain);
                    continue;
                }
            },
            Some(cap) => {
                let limit = cap.min(Instant::now() + QUIET);
                tokio::time::timeout_at(limit, sub.events.recv())
                    .await
                    .ok()
                    .flatten()
            }
        };
        let Some(first) = event else { break };
        // Take what is queued in one go, then update the shared counters once.
        let mut n = 0;
        let mut next = Some(first);
        while let Some(e) = next {
            n += 1;
            if let Ok((due, _)) = e.payload.args_as::<(u64, serde::de::IgnoredAny)>()
                && due >= measured_from
            {
                let received = nanos_since(run.start, Instant::from_std(e.received));
                rec.ok(received.saturating_sub(due) / 1000);
            }
            next = if n < 256 {
                sub.events.try_recv().ok()
            } else {
                None
            };
        }
        run.events(n);
        backlog.received(n);
    }
    rec
}
