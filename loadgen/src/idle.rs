//! The `idle` scenario: many sessions join and then do nothing until the run ends — what a
//! router's memory per idle session is measured with.

use std::sync::Arc;

use futures_util::stream::{self, StreamExt};

use crate::report::Outcome;
use crate::run::Run;

/// How many idle sessions.
#[derive(Debug, Clone)]
pub struct IdleConfig {
    /// Sessions to hold open.
    pub sessions: usize,
    /// Joins in progress at once.
    pub concurrency: usize,
}

impl Default for IdleConfig {
    fn default() -> Self {
        IdleConfig {
            sessions: 1000,
            concurrency: 64,
        }
    }
}

/// Runs the scenario: joins every session (failures are counted by reason), waits for the run
/// to end, leaves.
pub async fn run(run: &Arc<Run>, cfg: &IdleConfig) -> anyhow::Result<Outcome> {
    let sessions: Vec<_> = stream::iter(0..cfg.sessions)
        .map(|_| run.join())
        .buffer_unordered(cfg.concurrency.max(1))
        .filter_map(|s| async move { s.ok() })
        .collect()
        .await;
    if sessions.is_empty() && cfg.sessions > 0 {
        anyhow::bail!("no session could join: {:?}", run.join_errors());
    }
    run.stopped().await;
    stream::iter(sessions)
        .for_each_concurrent(cfg.concurrency.max(1), |s| run.leave(s))
        .await;
    Ok(Outcome::default())
}
