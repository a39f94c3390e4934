//! The `pubsub` scenario: publishers publish on a schedule to a set of topics, subscribers
//! receive, and each event's latency is measured from when its publication was due (the due
//! time travels in the payload; publishers and subscribers share this process's clock).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use wamp::{Dict, Payload, Serializer, Session, SessionOptions, Value, dict};

use crate::latency::Recorder;
use crate::schedule::Schedule;

/// What to run.
#[derive(Debug, Clone)]
pub struct PubSubConfig {
    /// The router.
    pub url: String,
    /// The realm.
    pub realm: String,
    /// The serializer.
    pub serializer: Serializer,
    /// Publisher sessions.
    pub publishers: usize,
    /// Subscriber sessions (each subscribes every topic).
    pub subscribers: usize,
    /// Topics.
    pub topics: usize,
    /// Bytes of the payload.
    pub payload: usize,
    /// Open loop at a total rate, or closed loop (each publisher waits for PUBLISHED).
    pub schedule: Schedule,
    /// Measured time.
    pub duration: Duration,
    /// Time before measuring.
    pub warmup: Duration,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct PubSubResult {
    /// Latency of every event received (publication due → event received).
    pub events: Recorder,
    /// Publications sent in the measured window.
    pub published: u64,
    /// Publish errors (acknowledged publications that failed), by URI.
    pub publish_errors: Recorder,
    /// Measured seconds.
    pub seconds: f64,
}

/// Runs the scenario.
pub async fn run(cfg: &PubSubConfig) -> anyhow::Result<PubSubResult> {
    let options = SessionOptions {
        serializer: cfg.serializer,
        ..SessionOptions::default()
    };
    let token = wamp::id::random_id();
    let topics: Arc<Vec<String>> = Arc::new(
        (0..cfg.topics.max(1))
            .map(|i| format!("loadgen.ps{token}.t{i}"))
            .collect(),
    );
    let start = Instant::now();
    let measure_from = start + cfg.warmup;
    let end = measure_from + cfg.duration;
    let mut subscribers = Vec::new();
    for _ in 0..cfg.subscribers {
        let s = Session::join(&cfg.url, &cfg.realm, options.clone()).await?;
        let mut subs = Vec::new();
        for t in topics.iter() {
            subs.push(s.subscribe(t, Dict::new()).await?);
        }
        subscribers.push(tokio::spawn(async move {
            let mut rec = Recorder::default();
            // (latency in µs, whether the publication was due in the measured window)
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, bool)>();
            let measured_from_ns =
                u64::try_from(measure_from.duration_since(start).as_nanos()).unwrap_or(0);
            for mut sub in subs {
                let tx = tx.clone();
                tokio::spawn(async move {
                    while let Some(e) = sub.events.recv().await {
                        let Some(due) = e
                            .payload
                            .args()
                            .ok()
                            .and_then(|a| a.first().and_then(Value::as_u64))
                        else {
                            continue;
                        };
                        let now = u64::try_from(Instant::now().duration_since(start).as_nanos())
                            .unwrap_or(u64::MAX);
                        if tx
                            .send((now.saturating_sub(due) / 1000, due >= measured_from_ns))
                            .is_err()
                        {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            // Until the run's end, then while events keep coming (at most 2 s more): those in
            // flight at the end still count.
            let grace = end + Duration::from_secs(2);
            loop {
                let now = Instant::now();
                let limit = if now < end {
                    grace
                } else {
                    grace.min(now + Duration::from_millis(200))
                };
                match tokio::time::timeout_at(limit, rx.recv()).await {
                    Ok(Some((latency, true))) => rec.ok(latency),
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            (s, rec)
        }));
    }
    let per_publisher = match cfg.schedule {
        Schedule::Open { rate } => Schedule::Open {
            rate: rate / cfg.publishers.max(1) as f64,
        },
        Schedule::Closed => Schedule::Closed,
    };
    let mut publishers = Vec::new();
    for p in 0..cfg.publishers.max(1) {
        let s = Session::join(&cfg.url, &cfg.realm, options.clone()).await?;
        let (topics, size) = (Arc::clone(&topics), cfg.payload);
        publishers.push(tokio::spawn(async move {
            let mut errors = Recorder::default();
            let mut published = 0u64;
            let ack = per_publisher == Schedule::Closed;
            let options = if ack {
                dict! {"acknowledge" => true}
            } else {
                Dict::new()
            };
            for n in 0u64.. {
                let due = match per_publisher.due(n) {
                    Some(d) => start + d,
                    None => Instant::now(),
                };
                if due >= end {
                    break;
                }
                crate::schedule::wait_until(due).await;
                let due_ns =
                    u64::try_from(due.duration_since(start).as_nanos()).unwrap_or(u64::MAX);
                let payload =
                    Payload::from_args(vec![due_ns.into(), Value::Bytes(vec![0x70; size])]);
                let topic = &topics[(n as usize + p) % topics.len()];
                match s.publish(topic, payload, options.clone()).await {
                    Ok(_) if due >= measure_from => published += 1,
                    Ok(_) => {}
                    Err(e) => errors.error(e.wamp_error().unwrap_or("transport")),
                }
            }
            (s, published, errors)
        }));
    }
    let mut published = 0;
    let mut publish_errors = Recorder::default();
    for p in publishers {
        let (s, n, e) = p.await?;
        published += n;
        publish_errors.merge(&e);
        let _ = s.leave("wamp.close.normal").await;
    }
    let mut events = Recorder::default();
    for s in subscribers {
        let (session, rec) = s.await?;
        events.merge(&rec);
        let _ = session.leave("wamp.close.normal").await;
    }
    Ok(PubSubResult {
        events,
        published,
        publish_errors,
        seconds: cfg.duration.as_secs_f64(),
    })
}
