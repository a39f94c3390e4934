//! The `rpc` scenario: callees answer an echo procedure (a shared round-robin registration),
//! callers call it on the run's timeline, and every answer's latency is recorded.

use std::sync::Arc;

use wamp::{Dict, Payload, Session, Value, dict};

use crate::drive::{Lane, drive};
use crate::latency::Recorder;
use crate::report::Outcome;
use crate::run::{Run, error_key};

/// The shape of the RPC traffic.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// Callee sessions.
    pub callees: usize,
    /// Caller sessions.
    pub callers: usize,
    /// Calls in flight per caller at most.
    pub concurrency: usize,
    /// Bytes of the argument.
    pub payload: usize,
    /// This share of the run's total rate (1.0 unless mixed with other traffic).
    pub share: f64,
    /// Where the callees join instead of the run's URL (another node of a cluster).
    pub callee_url: Option<String>,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            callees: 1,
            callers: 1,
            concurrency: 64,
            payload: 64,
            share: 1.0,
            callee_url: None,
        }
    }
}

/// Registers the echo procedure with `n` callees (joined at `url`, else the run's) that
/// answer every invocation with its arguments; returns the procedure and the sessions.
pub async fn callees(
    run: &Run,
    n: usize,
    url: Option<&str>,
) -> anyhow::Result<(String, Vec<Session>)> {
    let procedure = format!("loadgen.rpc.echo{}", wamp::id::random_id());
    let mut sessions = Vec::new();
    for _ in 0..n.max(1) {
        let s = match url {
            Some(url) => run.join_at(url).await?,
            None => run.join().await?,
        };
        let mut reg = s
            .register(&procedure, dict! {"invoke" => "roundrobin"})
            .await?;
        tokio::spawn(async move {
            while let Some(inv) = reg.invocations.recv().await {
                let answer = Payload {
                    args: inv.payload.args.clone(),
                    kwargs: None,
                };
                let _ = inv.reply(Ok(answer)).await;
            }
        });
        sessions.push(s);
    }
    Ok((procedure, sessions))
}

/// Calls `procedure` until a call succeeds (10 s at most): the callees' registration has
/// reached the caller's node.
async fn until_callable(caller: &Session, procedure: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match caller.call(procedure, Payload::empty(), Dict::new()).await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                anyhow::bail!("{procedure} is not callable from the callers' node after 10 s: {e}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

/// Runs the scenario.
pub async fn run(run: &Arc<Run>, cfg: &RpcConfig) -> anyhow::Result<Outcome> {
    let (procedure, callees) = callees(run, cfg.callees, cfg.callee_url.as_deref()).await?;
    let schedule = run
        .plan
        .schedule
        .share(cfg.share / cfg.callers.max(1) as f64);
    let mut tasks = Vec::new();
    for _ in 0..cfg.callers.max(1) {
        let caller = Arc::new(run.join().await?);
        if cfg.callee_url.is_some() {
            until_callable(&caller, &procedure).await?;
        }
        let (run, procedure) = (Arc::clone(run), procedure.clone());
        let payload = Payload::from_args(vec![Value::Bytes(vec![0x61; cfg.payload])]);
        let concurrency = cfg.concurrency;
        tasks.push(tokio::spawn(async move {
            let rec = drive(&run, Lane::new(schedule, concurrency), |_, _| {
                let (c, p, pl) = (Arc::clone(&caller), procedure.clone(), payload.clone());
                async move {
                    c.call(&p, pl, Dict::new())
                        .await
                        .map(drop)
                        .map_err(|e| error_key(&e))
                }
            })
            .await;
            (caller, rec)
        }));
    }
    let mut calls = Recorder::default();
    for t in tasks {
        let (caller, rec) = t.await?;
        calls.merge(&rec);
        if let Ok(c) = Arc::try_unwrap(caller) {
            run.leave(c).await;
        }
    }
    for s in callees {
        run.leave(s).await;
    }
    Ok(Outcome {
        calls: Some(calls),
        ..Outcome::default()
    })
}
