//! `wamp-loadgen`: WAMP traffic with honest numbers.
//!
//! A [`run::Run`] lays requests on a fixed timeline ([`schedule`], open loop) so that latency
//! is measured from the time a request was due, not from when a stalled sender got round to it
//! (coordinated omission); [`drive`] is the request loop every sender uses; [`latency`] records
//! and [`report`] summarises; [`cli`] has the login options both binaries share. The scenarios are [`pubsub`], [`rpc`], [`churn`], [`example`],
//! [`idle`] and [`Scenario::Mixed`] (pub/sub and RPC at once); [`progress`] is the live line.

pub mod churn;
pub mod cli;
pub mod drive;
pub mod example;
pub mod idle;
pub mod latency;
pub mod progress;
pub mod pubsub;
pub mod report;
pub mod rpc;
pub mod run;
pub mod schedule;

use std::sync::Arc;

use crate::report::Report;
use crate::run::Run;

/// A scenario and its shape.
#[derive(Debug, Clone)]
pub enum Scenario {
    /// Publishers and subscribers.
    PubSub(pubsub::PubSubConfig),
    /// Callers and callees.
    Rpc(rpc::RpcConfig),
    /// Pub/sub and RPC at once, each with its share of the rate.
    Mixed(pubsub::PubSubConfig, rpc::RpcConfig),
    /// Sessions that join, do a little and leave.
    Churn(churn::ChurnConfig),
    /// The Crossbar.io session-statistics example's client, repeated.
    Example(example::ExampleConfig),
    /// Sessions that join and do nothing (memory per idle session).
    Idle(idle::IdleConfig),
}

impl Scenario {
    /// The scenario's name, as on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::PubSub(_) => "pubsub",
            Scenario::Rpc(_) => "rpc",
            Scenario::Mixed(..) => "mixed",
            Scenario::Churn(_) => "churn",
            Scenario::Example(_) => "example",
            Scenario::Idle(_) => "idle",
        }
    }
}

/// Runs `scenario` to its end (or until [`Run::interrupt`]) and reports. Setting up (joining,
/// subscribing, registering) must succeed; failures after that are counted in the report.
pub async fn execute(run: &Arc<Run>, scenario: &Scenario) -> anyhow::Result<Report> {
    let outcome = match scenario {
        Scenario::PubSub(c) => pubsub::run(run, c).await?,
        Scenario::Rpc(c) => rpc::run(run, c).await?,
        Scenario::Mixed(p, r) => {
            let (mut a, b) = tokio::try_join!(pubsub::run(run, p), rpc::run(run, r))?;
            a.merge(b);
            a
        }
        Scenario::Churn(c) => churn::run(run, c).await?,
        Scenario::Example(c) => example::run(run, c).await?,
        Scenario::Idle(c) => idle::run(run, c).await?,
    };
    run.complete();
    Ok(Report::new(scenario.name(), run, outcome))
}
