//! The `rpc` scenario: callees answer an echo procedure (a shared round-robin registration),
//! callers call it on a schedule, and every answer's latency is recorded.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;
use wamp::{Dict, Payload, Serializer, Session, SessionOptions, Value, dict};

use crate::latency::Recorder;
use crate::schedule::{Schedule, latency_us};

/// What to run.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// The router.
    pub url: String,
    /// The realm.
    pub realm: String,
    /// The serializer.
    pub serializer: Serializer,
    /// Callee sessions.
    pub callees: usize,
    /// Caller sessions.
    pub callers: usize,
    /// Open loop at a total rate, or closed loop.
    pub schedule: Schedule,
    /// Calls in flight per caller at most (open loop).
    pub concurrency: usize,
    /// Bytes of the argument.
    pub payload: usize,
    /// Measured time.
    pub duration: Duration,
    /// Time before measuring.
    pub warmup: Duration,
}

/// Runs the scenario; returns the recorded latencies and the measured seconds.
pub async fn run(cfg: &RpcConfig) -> anyhow::Result<(Recorder, f64)> {
    let options = SessionOptions {
        serializer: cfg.serializer,
        ..SessionOptions::default()
    };
    let procedure = format!("loadgen.rpc.echo{}", wamp::id::random_id());
    let mut callees = Vec::new();
    for _ in 0..cfg.callees.max(1) {
        let s = Session::join(&cfg.url, &cfg.realm, options.clone()).await?;
        let mut reg = s
            .register(&procedure, dict! {"invoke" => "roundrobin"})
            .await?;
        tokio::spawn(async move {
            while let Some(inv) = reg.invocations.recv().await {
                let args = inv.payload.args().unwrap_or_default();
                let _ = inv.reply(Ok(Payload::from_args(args))).await;
            }
        });
        callees.push(s);
    }
    let start = Instant::now();
    let measure_from = start + cfg.warmup;
    let end = measure_from + cfg.duration;
    let per_caller = match cfg.schedule {
        Schedule::Open { rate } => Schedule::Open {
            rate: rate / cfg.callers.max(1) as f64,
        },
        Schedule::Closed => Schedule::Closed,
    };
    let mut tasks = Vec::new();
    for _ in 0..cfg.callers.max(1) {
        let caller = Arc::new(Session::join(&cfg.url, &cfg.realm, options.clone()).await?);
        let (procedure, payload) = (
            procedure.clone(),
            Payload::from_args(vec![Value::Bytes(vec![0x61; cfg.payload])]),
        );
        let concurrency = cfg.concurrency.max(1);
        tasks.push(tokio::spawn(async move {
            caller_loop(
                caller,
                procedure,
                payload,
                per_caller,
                concurrency,
                start,
                measure_from,
                end,
            )
            .await
        }));
    }
    let mut total = Recorder::default();
    for t in tasks {
        total.merge(&t.await?);
    }
    for s in callees {
        let _ = s.leave("wamp.close.normal").await;
    }
    Ok((total, cfg.duration.as_secs_f64()))
}

#[allow(clippy::too_many_arguments)]
async fn caller_loop(
    caller: Arc<Session>,
    procedure: String,
    payload: Payload,
    schedule: Schedule,
    concurrency: usize,
    start: Instant,
    measure_from: Instant,
    end: Instant,
) -> Recorder {
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut inflight = Vec::new();
    for n in 0u64.. {
        let due = match schedule.due(n) {
            Some(d) => start + d,
            None => Instant::now(),
        };
        if due >= end {
            break;
        }
        crate::schedule::wait_until(due).await;
        // Waiting for a free slot is charged to the request (it was due already).
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        let sent = Instant::now();
        let (c, p, pl, r) = (
            Arc::clone(&caller),
            procedure.clone(),
            payload.clone(),
            Arc::clone(&rec),
        );
        let call = async move {
            let outcome = c.call(&p, pl, Dict::new()).await;
            let answered = Instant::now();
            drop(permit);
            if due < measure_from {
                return;
            }
            let mut r = r.lock().await;
            match outcome {
                Ok(_) => r.ok(latency_us(
                    due - start,
                    sent - start,
                    answered - start,
                    &schedule,
                )),
                Err(e) => r.error(e.wamp_error().unwrap_or("transport")),
            }
        };
        if schedule == Schedule::Closed {
            call.await;
        } else {
            inflight.push(tokio::spawn(call));
            if inflight.len() > 4096 {
                inflight.retain(|t| !t.is_finished());
            }
        }
    }
    for t in inflight {
        let _ = t.await;
    }
    rec.lock().await.clone()
}
