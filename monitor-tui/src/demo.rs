//! `--demo`: the router in-process (embedded default config, free ports on 127.0.0.1) and
//! traffic from the load generator's library — pub/sub and RPC at a steady rate, large
//! payloads over RawSocket, sessions that come and go, and the Crossbar.io statistics
//! example's client — so that the dashboard has something to show. Its web transport also
//! serves the Prometheus metrics at `/metrics` (off in the configuration files).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use wamp::Serializer;
use wamp_loadgen::churn::ChurnConfig;
use wamp_loadgen::example::ExampleConfig;
use wamp_loadgen::pubsub::PubSubConfig;
use wamp_loadgen::rpc::RpcConfig;
use wamp_loadgen::run::{Plan, Run};
use wamp_loadgen::schedule::Schedule;
use wamp_loadgen::{Scenario, execute};
use wamp_router::config::{Config, Listen, MetricsPath, TransportKind};
use wamp_router::{Router, RouterOptions};

/// A running demo: the router and its traffic.
pub struct Demo {
    /// The router.
    pub router: Router,
    /// The WebSocket URL the dashboard connects to.
    pub url: String,
    /// The Prometheus metrics' URL (`http://127.0.0.1:PORT/metrics`).
    pub metrics_url: Option<String>,
    /// How the dashboard logs in: as the default config's operator, so that its kill key works.
    pub operator: wamp::auth::Login,
    runs: Arc<std::sync::Mutex<Vec<Arc<Run>>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// One traffic source: where, how, at what rate.
struct Source {
    url: String,
    serializer: Serializer,
    rate: Option<f64>,
    scenario: Scenario,
}

/// How long one demo run lasts before it starts over (a demo keeps going; the load
/// generator's session register starts afresh with each run).
const RUN_LENGTH: Duration = Duration::from_secs(600);

impl Demo {
    /// Starts the router and the traffic.
    pub async fn start() -> anyhow::Result<Demo> {
        let mut config = Config::embedded_default().config.on_free_loopback_ports();
        if let Some(t) = config
            .transports
            .iter()
            .find(|t| matches!(t.kind, TransportKind::WebSocket { .. }))
        {
            config.metrics.push(MetricsPath {
                path: "/metrics".to_owned(),
                listener: t.listener,
            });
        }
        let operator = config
            .transports
            .first()
            .and_then(|t| t.auth.ticket.as_ref()?.get("operator"))
            .map(|p| wamp::auth::Login {
                authid: Some("operator".into()),
                credentials: wamp::auth::Credentials::Ticket(p.ticket.expose().to_owned()),
            })
            .unwrap_or_default();
        let router = Router::start(config, RouterOptions::default())
            .await
            .context("cannot start the demo router")?;
        let ws = router
            .websocket_url()
            .context("the default config has a WebSocket transport")?;
        let metrics_url = router
            .endpoints()
            .iter()
            .find_map(|e| match (&e.kind, &e.listen) {
                (TransportKind::WebSocket { .. }, Listen::Tcp(a)) => {
                    Some(format!("http://{a}/metrics"))
                }
                _ => None,
            });
        if let Some(m) = &metrics_url {
            tracing::info!("demo metrics at {m}");
        }
        let rs = router
            .rawsocket_url()
            .context("the default config has a RawSocket transport")?;
        let sources = vec![
            Source {
                url: ws.clone(),
                serializer: Serializer::Json,
                rate: Some(150.0),
                scenario: Scenario::Mixed(
                    PubSubConfig {
                        subscribers: 3,
                        topics: 3,
                        payload: 120,
                        share: 0.6,
                        ..PubSubConfig::default()
                    },
                    RpcConfig {
                        callers: 2,
                        payload: 40,
                        share: 0.4,
                        ..RpcConfig::default()
                    },
                ),
            },
            Source {
                url: rs.clone(),
                serializer: Serializer::Msgpack,
                rate: Some(8.0),
                scenario: Scenario::PubSub(PubSubConfig {
                    subscribers: 2,
                    payload: 2000,
                    ..PubSubConfig::default()
                }),
            },
            Source {
                url: rs.clone(),
                serializer: Serializer::Json,
                rate: Some(0.5),
                scenario: Scenario::Churn(ChurnConfig {
                    concurrency: 8,
                    linger: Duration::from_secs(4),
                    ..ChurnConfig::default()
                }),
            },
            Source {
                url: ws.clone(),
                serializer: Serializer::Msgpack,
                rate: None,
                scenario: Scenario::Example(ExampleConfig {
                    repeat: u64::MAX,
                    ..ExampleConfig::default()
                }),
            },
        ];
        let runs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tasks = sources
            .into_iter()
            .map(|s| tokio::spawn(keep_running(s, Arc::clone(&runs))))
            .collect();
        Ok(Demo {
            router,
            url: ws,
            metrics_url,
            operator,
            runs,
            tasks,
        })
    }

    /// Stops the traffic and shuts the router down.
    pub async fn stop(self) {
        for r in self.runs.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            r.interrupt();
        }
        for t in &self.tasks {
            t.abort();
        }
        self.router.shutdown().await;
    }
}

/// Runs a source's scenario again and again (after a pause if it failed).
async fn keep_running(source: Source, runs: Arc<std::sync::Mutex<Vec<Arc<Run>>>>) {
    loop {
        let run = Arc::new(Run::new(Plan {
            url: source.url.clone(),
            realm: "realm1".into(),
            serializer: source.serializer,
            schedule: source
                .rate
                .map_or(Schedule::Closed, |rate| Schedule::Open { rate }),
            warmup: Duration::ZERO,
            duration: RUN_LENGTH,
            count: None,
            drain: Duration::from_secs(5),
            login: Default::default(),
            trust: Default::default(),
        }));
        {
            let mut all = runs.lock().unwrap_or_else(|e| e.into_inner());
            all.retain(|r| !r.is_stopped());
            all.push(Arc::clone(&run));
        }
        if let Err(e) = execute(&run, &source.scenario).await {
            tracing::debug!("demo traffic {}: {e:#}", source.scenario.name());
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
