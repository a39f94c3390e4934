//! The `churn` scenario: sessions join at the run's rate, do a little — subscribe, publish one
//! acknowledged event they receive themselves, call an echo procedure — and leave. It exercises
//! join and leave, and the first and last statistics events of each session. Each session's
//! cycle (join to left) is one request; its latency is recorded.

use std::sync::Arc;
use std::time::Duration;

use wamp::{Dict, Payload, Value, dict};

use crate::drive::{Lane, drive};
use crate::report::Outcome;
use crate::rpc::callees;
use crate::run::{Run, error_key};

/// The shape of the churn.
#[derive(Debug, Clone)]
pub struct ChurnConfig {
    /// Sessions alive at once at most.
    pub concurrency: usize,
    /// Time each session stays after its work, before leaving.
    pub linger: Duration,
    /// This share of the run's total rate (1.0 unless mixed with other traffic).
    pub share: f64,
}

impl Default for ChurnConfig {
    fn default() -> Self {
        ChurnConfig {
            concurrency: 64,
            linger: Duration::ZERO,
            share: 1.0,
        }
    }
}

/// How long a churning session waits for its own event.
const OWN_EVENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the scenario.
pub async fn run(run: &Arc<Run>, cfg: &ChurnConfig) -> anyhow::Result<Outcome> {
    let (procedure, callees) = callees(run, 1, None).await?;
    let topic = format!("loadgen.churn{}", wamp::id::random_id());
    let schedule = run.plan.schedule.share(cfg.share);
    let cycles = drive(run, Lane::new(schedule, cfg.concurrency), |n, _| {
        let (run, procedure, topic, linger) = (
            Arc::clone(run),
            procedure.clone(),
            topic.clone(),
            cfg.linger,
        );
        async move { cycle(&run, n, &topic, &procedure, linger).await }
    })
    .await;
    for s in callees {
        run.leave(s).await;
    }
    Ok(Outcome {
        cycles: Some(cycles),
        ..Outcome::default()
    })
}

/// One session's life: join, subscribe, publish and receive, call, linger, leave.
async fn cycle(
    run: &Run,
    n: u64,
    topic: &str,
    procedure: &str,
    linger: Duration,
) -> Result<(), String> {
    let s = run.join().await.map_err(|e| error_key(&e))?;
    let work = async {
        let mut sub = s.subscribe(topic, Dict::new()).await?;
        let options = dict! {"acknowledge" => true, "exclude_me" => false};
        s.publish(topic, Payload::from_args(vec![Value::from(n)]), options)
            .await?;
        s.call(
            procedure,
            Payload::from_args(vec![Value::from(n)]),
            Dict::new(),
        )
        .await?;
        // Other sessions publish on the same topic: wait for this one's own event.
        let own = async {
            while let Some(e) = sub.events.recv().await {
                if e.payload.args_as::<(u64,)>().is_ok_and(|(m,)| m == n) {
                    return true;
                }
            }
            false
        };
        match tokio::time::timeout(OWN_EVENT_TIMEOUT, own).await {
            Ok(true) => Ok(()),
            _ => Err(wamp::client::ClientError::Timeout("own event")),
        }
    };
    let outcome = work.await.map_err(|e| error_key(&e));
    if !linger.is_zero() {
        tokio::time::sleep(linger).await;
    }
    run.leave(s).await;
    outcome
}
