//! Fan-out throughput: one publisher, N subscribers, events delivered per second.
//!
//! ```text
//! cargo run --release -p wamp-router --example fanout -- --transport rs --serializer msgpack
//! ```
//! Without `--url` it starts the router in-process (embedded default config, ephemeral ports)
//! on its own runtime, so one command measures it. The publisher keeps at most `--window`
//! events in flight per subscriber (never more than a subscriber's queue holds), so no session
//! is closed as a slow consumer and the figure is the router's sustained delivery rate.
//!
//! `--noise-wildcard N` and `--noise-prefix N` make other sessions hold N wildcard and N prefix
//! subscriptions that never match the measured topic (but share its first component, or its
//! first characters); `--noise-sweep` measures with none, each kind alone and both, side by side:
//!
//! ```text
//! cargo run --release -p wamp-router --example fanout -- --subscribers 1 --noise-sweep
//! ```
//!
//! `--metrics-compare` starts two in-process routers, one recording Prometheus metrics (a
//! metrics path in its configuration) and one not, and alternates runs between them:
//!
//! ```text
//! cargo run --release -p wamp-router --example fanout -- --metrics-compare --runs 5
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use tokio::sync::Notify;
use wamp::{Dict, Payload, Serializer, Session, SessionOptions, Value};
use wamp_router::config::{Config, MetricsPath};
use wamp_router::{Router, RouterOptions};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Transport {
    Ws,
    Rs,
}

/// Measures events/s delivered in a 1 → N fan-out.
#[derive(Debug, Parser)]
struct Args {
    /// Connect to this router instead of starting one in-process.
    #[arg(long)]
    url: Option<String>,
    #[arg(long, value_enum, default_value = "rs")]
    transport: Transport,
    #[arg(long, default_value = "msgpack")]
    serializer: Serializer,
    /// The publisher's serializer, when it should differ from the subscribers' (measures
    /// transcoding against pass-through).
    #[arg(long)]
    publisher_serializer: Option<Serializer>,
    /// Subscribers.
    #[arg(long, default_value_t = 10)]
    subscribers: usize,
    /// Payload bytes (one binary argument).
    #[arg(long, default_value_t = 100)]
    payload: usize,
    /// Seconds measured per run (after a 1 s warm-up).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Events in flight per subscriber.
    #[arg(long, default_value_t = 2000)]
    window: u64,
    /// Worker threads of the in-process router's runtime (0: a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    router_threads: usize,
    /// Run the in-process router with session statistics off (the embedded config has them on).
    #[arg(long)]
    no_stats: bool,
    /// Also subscribe a monitor to `wamp.session.` (prefix), so statistics events are published.
    #[arg(long)]
    monitor: bool,
    /// Worker threads of the clients' runtime (0: a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Wildcard subscriptions that match no measured topic, held by other sessions.
    #[arg(long, default_value_t = 0)]
    noise_wildcard: usize,
    /// Prefix subscriptions that match no measured topic, held by other sessions.
    #[arg(long, default_value_t = 0)]
    noise_prefix: usize,
    /// Measure with no noise, wildcard noise only, prefix noise only and both, one after
    /// another (the `--noise-*` counts; 10,000 each when not given).
    #[arg(long)]
    noise_sweep: bool,
    /// Alternate runs between an in-process router recording metrics and one that does not.
    #[arg(long)]
    metrics_compare: bool,
}

/// Subscriptions one noise session takes at most (the router's default per-session limit).
const NOISE_PER_SESSION: usize = 10_000;

/// Joins sessions holding `wildcard` wildcard and `prefix` prefix subscriptions that match no
/// `bench.fanout.<digits>` topic: `bench..x<i>` (same component count and first component) and
/// `bench.fanout.<i>x` (same first characters).
async fn noise(
    url: &str,
    options: &SessionOptions,
    wildcard: usize,
    prefix: usize,
) -> anyhow::Result<Vec<Session>> {
    let patterns = (0..wildcard)
        .map(|i| (format!("bench..x{i}"), "wildcard"))
        .chain((0..prefix).map(|i| (format!("bench.fanout.{i}x"), "prefix")))
        .collect::<Vec<_>>();
    let mut sessions = Vec::new();
    for chunk in patterns.chunks(NOISE_PER_SESSION) {
        let s = Session::join(url, "realm1", options.clone()).await?;
        for batch in chunk.chunks(256) {
            let subscribed = futures_util::future::join_all(
                batch
                    .iter()
                    .map(|(uri, policy)| s.subscribe(uri, wamp::dict! {"match" => *policy})),
            )
            .await;
            for sub in subscribed {
                // The events channel is dropped: none ever arrives.
                sub?;
            }
        }
        sessions.push(s);
    }
    Ok(sessions)
}

fn runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = if threads == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    Ok(b.enable_all().build()?)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.metrics_compare {
        return metrics_compare(&args);
    }
    let (url, router) = match &args.url {
        Some(u) => (u.clone(), None),
        None => {
            let (url, stop) =
                spawn_router(args.router_threads, args.transport, !args.no_stats, false)?;
            (url, Some(stop))
        }
    };
    let serializer = args.serializer;
    let clients = runtime(args.client_threads)?;
    let configs = if args.noise_sweep {
        let w = if args.noise_wildcard == 0 {
            10_000
        } else {
            args.noise_wildcard
        };
        let p = if args.noise_prefix == 0 {
            10_000
        } else {
            args.noise_prefix
        };
        vec![(0, 0), (w, 0), (0, p), (w, p)]
    } else {
        vec![(args.noise_wildcard, args.noise_prefix)]
    };
    let mut summary = Vec::new();
    for (wildcard, prefix) in configs {
        let mut rates = clients.block_on(async {
            let options = SessionOptions {
                serializer,
                ..SessionOptions::default()
            };
            let t = Instant::now();
            let noise = noise(&url, &options, wildcard, prefix).await?;
            if wildcard + prefix > 0 {
                println!(
                    "noise: {wildcard} wildcard + {prefix} prefix subscriptions in {:.2} s",
                    t.elapsed().as_secs_f64()
                );
            }
            let mut rates = Vec::new();
            for run in 1..=args.runs {
                let r = measure(&args, &url, serializer).await?;
                println!("run {run}: {r:.0} events/s delivered");
                rates.push(r);
            }
            for s in noise {
                let _ = s.leave("wamp.close.normal").await;
            }
            anyhow::Ok(rates)
        })?;
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        report(&args, wildcard, prefix, median);
        summary.push((wildcard, prefix, median));
    }
    if summary.len() > 1 {
        let base = summary[0].2;
        println!("| wildcard noise | prefix noise | median events/s | vs no noise |");
        println!("|---:|---:|---:|---:|");
        for (w, p, m) in &summary {
            println!("| {w} | {p} | {m:.0} | {:.3} |", m / base);
        }
    }
    if let Some((stop, thread)) = router {
        let _ = stop.send(());
        let _ = thread.join();
    }
    Ok(())
}

/// Runs alternately against a router without and one with metrics recording; prints the
/// medians and their ratio.
fn metrics_compare(args: &Args) -> anyhow::Result<()> {
    let stats = !args.no_stats;
    let (off_url, off) = spawn_router(args.router_threads, args.transport, stats, false)?;
    let (on_url, on) = spawn_router(args.router_threads, args.transport, stats, true)?;
    let clients = runtime(args.client_threads)?;
    let (mut off_rates, mut on_rates) = (Vec::new(), Vec::new());
    clients.block_on(async {
        for run in 1..=args.runs {
            let r_off = measure(args, &off_url, args.serializer).await?;
            let r_on = measure(args, &on_url, args.serializer).await?;
            println!("run {run}: metrics off {r_off:.0}, on {r_on:.0} events/s delivered");
            off_rates.push(r_off);
            on_rates.push(r_on);
        }
        anyhow::Ok(())
    })?;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (m_off, m_on) = (median(off_rates), median(on_rates));
    println!(
        "fanout 1->{} {:?}+{:?} stats {}: median {m_off:.0} events/s with metrics off, \
         {m_on:.0} on: on/off {:.3} ({} runs of {} s each, alternating)",
        args.subscribers,
        args.transport,
        args.serializer,
        if stats { "on" } else { "off" },
        m_on / m_off,
        args.runs,
        args.seconds
    );
    for (stop, thread) in [off, on] {
        let _ = stop.send(());
        let _ = thread.join();
    }
    Ok(())
}

/// Prints one configuration's median.
fn report(args: &Args, wildcard: usize, prefix: usize, median: f64) {
    println!(
        "fanout 1->{} {:?}+{:?} (publisher {:?}) payload {} B stats {}{} noise {}w+{}p: median {:.0} events/s delivered ({} runs of {} s)",
        args.subscribers,
        args.transport,
        args.serializer,
        args.publisher_serializer.unwrap_or(args.serializer),
        args.payload,
        if args.no_stats { "off" } else { "on" },
        if args.monitor { " +monitor" } else { "" },
        wildcard,
        prefix,
        median,
        args.runs,
        args.seconds
    );
}

type RouterThread = (
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
);

/// Runs the router on its own thread and runtime until told to stop; returns its URL.
/// With `metrics`, its configuration has a metrics path (so it records them).
fn spawn_router(
    threads: usize,
    transport: Transport,
    stats: bool,
    metrics: bool,
) -> anyhow::Result<(String, RouterThread)> {
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = match runtime(threads) {
            Ok(rt) => rt,
            Err(e) => {
                let _ = url_tx.send(Err(e));
                return;
            }
        };
        rt.block_on(async move {
            let mut config = Config::embedded_default().config.on_free_loopback_ports();
            if !stats {
                for r in &mut config.realms {
                    r.stats = None;
                }
            }
            if metrics {
                let listener = config.transports[0].listener;
                config.metrics.push(MetricsPath {
                    path: "/metrics".to_owned(),
                    listener,
                });
            }
            let router = match Router::start(config, RouterOptions::default()).await {
                Ok(r) => r,
                Err(e) => {
                    let _ = url_tx.send(Err(e.into()));
                    return;
                }
            };
            let url = match transport {
                Transport::Ws => router.websocket_url(),
                Transport::Rs => router.rawsocket_url(),
            };
            let _ = url_tx.send(url.context("no such transport"));
            let _ = stop_rx.await;
            router.shutdown().await;
        });
    });
    let url = url_rx.recv().context("the router thread ended")??;
    Ok((url, (stop_tx, thread)))
}

async fn measure(args: &Args, url: &str, serializer: Serializer) -> anyhow::Result<f64> {
    let options = SessionOptions {
        serializer,
        queue: 8192,
        ..SessionOptions::default()
    };
    let received = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Notify::new());
    let topic = format!("bench.fanout.{}", wamp::id::random_id());
    let mut subscribers = Vec::new();
    for _ in 0..args.subscribers {
        let s = Session::join(url, "realm1", options.clone()).await?;
        let mut sub = s.subscribe(&topic, Dict::new()).await?;
        let (received, progress) = (Arc::clone(&received), Arc::clone(&progress));
        tokio::spawn(async move {
            let mut n = 0u64;
            while sub.events.recv().await.is_some() {
                n += 1;
                if n.is_multiple_of(64) {
                    received.fetch_add(64, Ordering::Relaxed);
                    progress.notify_one();
                }
            }
        });
        subscribers.push(s);
    }
    let monitor_events = Arc::new(AtomicU64::new(0));
    let _monitor = if args.monitor {
        let m = Session::join(url, "realm1", options.clone()).await?;
        let mut sub = m
            .subscribe("wamp.session.", wamp::dict! {"match" => "prefix"})
            .await?;
        let seen = Arc::clone(&monitor_events);
        tokio::spawn(async move {
            while sub.events.recv().await.is_some() {
                seen.fetch_add(1, Ordering::Relaxed);
            }
        });
        Some(m)
    } else {
        None
    };
    let publisher_options = SessionOptions {
        serializer: args.publisher_serializer.unwrap_or(serializer),
        ..options.clone()
    };
    let publisher = Session::join(url, "realm1", publisher_options).await?;
    let payload = Payload::from_args(vec![Value::Bytes(vec![0x5a; args.payload])]);
    let subs = args.subscribers as u64;
    let warmup = Duration::from_secs(1);
    let measured = Duration::from_secs_f64(args.seconds);
    let start = Instant::now();
    let mut mark: Option<(Instant, u64)> = None;
    let mut published = 0u64;
    loop {
        let now = Instant::now();
        if mark.is_none() && now - start >= warmup {
            mark = Some((now, received.load(Ordering::Relaxed)));
        }
        if let Some((t0, r0)) = mark
            && now - t0 >= measured
        {
            let delivered = received.load(Ordering::Relaxed) - r0;
            if let Some(m) = &_monitor
                && let Some(why) = m.is_closed()
            {
                // At full speed with a count trigger, a monitor on the same cores cannot keep up
                // with every session's on_stats: the router closes it (slow consumer) and the
                // observed sessions go on undisturbed — which this line reports.
                println!("  the monitor was closed during the run: {why:?}");
            }
            for s in subscribers {
                let _ = s.leave("wamp.close.normal").await;
            }
            let _ = publisher.leave("wamp.close.normal").await;
            if args.monitor {
                println!(
                    "  monitor received {} meta events",
                    monitor_events.load(Ordering::Relaxed)
                );
            }
            return Ok(delivered as f64 / (now - t0).as_secs_f64());
        }
        // Keep at most `window` events per subscriber in flight.
        while published * subs - received.load(Ordering::Relaxed) > args.window * subs {
            let _ = tokio::time::timeout(Duration::from_millis(50), progress.notified()).await;
        }
        for _ in 0..64 {
            publisher
                .publish(&topic, payload.clone(), Dict::new())
                .await?;
        }
        published += 64;
    }
}

/// The same allocator as the `wamp-router` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
