//! `--demo`: the router in-process (embedded default config, free ports on 127.0.0.1) with a
//! small mixed traffic source — publishers, subscribers, callers, callees and sessions that
//! come and go — so that the dashboard has something to show.

use std::time::Duration;

use anyhow::Context as _;
use wamp::client::WampError;
use wamp::{Dict, Payload, Serializer, Session, SessionOptions, Value, dict};
use wamp_router::config::Config;
use wamp_router::{Router, RouterOptions};

/// A running demo: the router and its traffic tasks.
pub struct Demo {
    /// The router.
    pub router: Router,
    /// The WebSocket URL the dashboard connects to.
    pub url: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Demo {
    /// Starts the router and the traffic.
    pub async fn start() -> anyhow::Result<Demo> {
        let mut config = Config::embedded_default().config;
        for t in &mut config.transports {
            t.port = 0;
            t.interface = [127, 0, 0, 1].into();
        }
        let router = Router::start(config, RouterOptions::default())
            .await
            .context("cannot start the demo router")?;
        let ws = router
            .websocket_url()
            .context("the default config has a WebSocket transport")?;
        let rs = router
            .rawsocket_url()
            .context("the default config has a RawSocket transport")?;
        let mut tasks = Vec::new();
        let urls = [
            (ws.clone(), Serializer::Json),
            (rs.clone(), Serializer::Msgpack),
            (ws.clone(), Serializer::Msgpack),
            (rs, Serializer::Json),
        ];
        for (i, (url, ser)) in urls.iter().enumerate() {
            tasks.push(tokio::spawn(subscriber(url.clone(), *ser, i)));
        }
        for (i, (rate, size)) in [(40u64, 120usize), (250, 60), (8, 2000)]
            .into_iter()
            .enumerate()
        {
            let (url, ser) = urls[i % urls.len()].clone();
            tasks.push(tokio::spawn(publisher(url, ser, rate, size, i)));
        }
        tasks.push(tokio::spawn(callee(urls[1].0.clone(), Serializer::Msgpack)));
        for (i, rate) in [20u64, 120].into_iter().enumerate() {
            let (url, ser) = urls[(i + 2) % urls.len()].clone();
            tasks.push(tokio::spawn(caller(url, ser, rate)));
        }
        tasks.push(tokio::spawn(churn(urls.to_vec())));
        Ok(Demo {
            router,
            url: ws,
            tasks,
        })
    }

    /// Stops the traffic and shuts the router down.
    pub async fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.router.shutdown().await;
    }
}

async fn join(url: &str, ser: Serializer) -> Option<Session> {
    let options = SessionOptions {
        serializer: ser,
        ..SessionOptions::default()
    };
    Session::join(url, "realm1", options).await.ok()
}

/// Retries `f` after a pause whenever it ends (a demo keeps going).
async fn forever<F: std::future::Future<Output = ()>>(mut f: impl FnMut() -> F) {
    loop {
        f().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn subscriber(url: String, ser: Serializer, i: usize) {
    forever(|| {
        let url = url.clone();
        async move {
            let Some(s) = join(&url, ser).await else {
                return;
            };
            let topic = if i.is_multiple_of(2) {
                "demo.sensors."
            } else {
                "demo.sensors.temperature"
            };
            let options = if i.is_multiple_of(2) {
                dict! {"match" => "prefix"}
            } else {
                Dict::new()
            };
            let Ok(mut sub) = s.subscribe(topic, options).await else {
                return;
            };
            while sub.events.recv().await.is_some() {}
        }
    })
    .await;
}

async fn publisher(url: String, ser: Serializer, rate: u64, size: usize, i: usize) {
    forever(|| {
        let url = url.clone();
        async move {
            let Some(s) = join(&url, ser).await else {
                return;
            };
            let topics = [
                "demo.sensors.temperature",
                "demo.sensors.pressure",
                "demo.sensors.camera",
            ];
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
            let mut n = 0u64;
            loop {
                tick.tick().await;
                n += 1;
                let payload = Payload::from_args(vec![n.into(), Value::Bytes(vec![0x42; size])]);
                if s.publish(topics[i % topics.len()], payload, Dict::new())
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    })
    .await;
}

async fn callee(url: String, ser: Serializer) {
    forever(|| {
        let url = url.clone();
        async move {
            let Some(s) = join(&url, ser).await else {
                return;
            };
            let Ok(mut reg) = s.register("demo.math.add", Dict::new()).await else {
                return;
            };
            while let Some(inv) = reg.invocations.recv().await {
                let args = inv.payload.args().unwrap_or_default();
                let sum: i64 = args.iter().filter_map(Value::as_i64).sum();
                let reply: Result<Payload, WampError> = Ok(Payload::from_args(vec![sum.into()]));
                let _ = inv.reply(reply).await;
            }
        }
    })
    .await;
}

async fn caller(url: String, ser: Serializer, rate: u64) {
    forever(|| {
        let url = url.clone();
        async move {
            let Some(s) = join(&url, ser).await else {
                return;
            };
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
            for n in 0i64.. {
                tick.tick().await;
                let args = Payload::from_args(vec![n.into(), 1.into()]);
                if let Err(e) = s.call("demo.math.add", args, Dict::new()).await
                    && s.is_closed().is_some()
                {
                    tracing::debug!("demo caller: {e}");
                    return;
                }
            }
        }
    })
    .await;
}

/// Short-lived sessions: join, do a burst, leave — one every two seconds.
async fn churn(urls: Vec<(String, Serializer)>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    for n in 0usize.. {
        tick.tick().await;
        let (url, ser) = urls[n % urls.len()].clone();
        tokio::spawn(async move {
            let Some(s) = join(&url, ser).await else {
                return;
            };
            for i in 0..(20 + n % 50) {
                let payload = Payload::from_args(vec![i.into()]);
                if s.publish("demo.jobs.progress", payload, Dict::new())
                    .await
                    .is_err()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = s.leave("wamp.close.normal").await;
        });
    }
}
