//! What the routing index costs as the realm grows, side by side in one run:
//!
//! 1. `n` sessions subscribing to one topic, and `n` callees registering one shared procedure,
//!    then leaving one by one: simulated in-process (session handles without sockets, straight
//!    into the broker and the dealer), since `n` real connections need `2n` file descriptors;
//! 2. calls per second to a procedure registered exact, prefix and wildcard, with none and with
//!    `--noise` non-matching pattern registrations (half prefix, half wildcard) held by another
//!    session, over RawSocket to an in-process router.
//!
//! ```text
//! cargo run --release -p wamp-router --features bench --example routing_index
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use wamp::{Dict, Payload, Serializer, Session, SessionOptions, Value};
use wamp_router::bench::{Phases, register_one_procedure, subscribe_one_topic};
use wamp_router::config::Config;
use wamp_router::{Router, RouterOptions};

/// Measures the broker's and dealer's bookkeeping against the number of sessions and patterns.
#[derive(Debug, Parser)]
struct Args {
    /// Session counts of the one-topic measurement.
    #[arg(long, value_delimiter = ',', default_value = "10000,50000,100000")]
    sessions: Vec<usize>,
    /// Non-matching pattern registrations of the call measurement.
    #[arg(long, default_value_t = 10_000)]
    noise: usize,
    /// Seconds measured per call run (after a 0.5 s warm-up).
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Calls in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long, default_value = "msgpack")]
    serializer: Serializer,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!(
        "| sessions | subscribe ms | leave ms | register ms | leave ms | µs/session (sub+leave) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for &n in &args.sessions {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let runs = |f: fn(usize) -> Phases| {
            let all: Vec<Phases> = (0..args.runs).map(|_| f(n)).collect();
            (
                median(all.iter().map(|p| ms(p.join)).collect()),
                median(all.iter().map(|p| ms(p.leave)).collect()),
            )
        };
        let (sj, sl) = runs(subscribe_one_topic);
        let (rj, rl) = runs(register_one_procedure);
        println!(
            "| {n} | {sj:.1} | {sl:.1} | {rj:.1} | {rl:.1} | {:.3} |",
            (sj + sl) * 1e3 / n as f64
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(calls(&args))
}

const TARGETS: [(&str, &str, &str); 3] = [
    ("exact", "bench.exact.7777777", "bench.exact.7777777"),
    ("prefix", "bench.call.", "bench.call.7777777"),
    ("wildcard", "bench..7777777", "bench.wild.7777777"),
];

async fn calls(args: &Args) -> anyhow::Result<()> {
    let (url, stop, thread) = spawn_router()?;
    let options = SessionOptions {
        serializer: args.serializer,
        ..SessionOptions::default()
    };
    let callee = Session::join(&url, "realm1", options.clone()).await?;
    for (policy, uri, _) in TARGETS {
        let mut reg = callee
            .register(uri, wamp::dict! {"match" => policy})
            .await?;
        tokio::spawn(async move {
            while let Some(inv) = reg.invocations.recv().await {
                let _ = inv.reply(Ok(Payload::default())).await;
            }
        });
    }
    let caller = Arc::new(Session::join(&url, "realm1", options.clone()).await?);
    let mut rows = Vec::new();
    for noise in [0, args.noise] {
        let t = Instant::now();
        let holder = noise_registrations(&url, &options, noise).await?;
        if noise > 0 {
            println!(
                "noise: {noise} pattern registrations in {:.2} s",
                t.elapsed().as_secs_f64()
            );
        }
        for (policy, _, procedure) in TARGETS {
            let mut rates = Vec::new();
            for _ in 0..args.runs {
                rates.push(rate(args, &caller, procedure).await?);
            }
            let m = median(rates);
            println!("calls to a {policy} registration, {noise} noise: median {m:.0} calls/s");
            rows.push((policy, noise, m));
        }
        if let Some(s) = holder {
            let _ = s.leave("wamp.close.normal").await;
        }
    }
    println!("| registration | noise | median calls/s | vs no noise |");
    println!("|---|---:|---:|---:|");
    for (policy, noise, m) in &rows {
        let base = rows
            .iter()
            .find(|(p, n, _)| p == policy && *n == 0)
            .map_or(*m, |r| r.2);
        println!("| {policy} | {noise} | {m:.0} | {:.3} |", m / base);
    }
    if let Ok(c) = Arc::try_unwrap(caller) {
        let _ = c.leave("wamp.close.normal").await;
    }
    let _ = callee.leave("wamp.close.normal").await;
    let _ = stop.send(());
    let _ = thread.join();
    Ok(())
}

/// A session holding `n` registrations that no target matches: `bench.call.<i>x` (prefix,
/// sharing the prefix target's first characters) and `bench..<i>` (wildcard, same component
/// count and first component).
async fn noise_registrations(
    url: &str,
    options: &SessionOptions,
    n: usize,
) -> anyhow::Result<Option<Session>> {
    if n == 0 {
        return Ok(None);
    }
    let s = Session::join(url, "realm1", options.clone()).await?;
    let patterns: Vec<(String, &str)> = (0..n)
        .map(|i| {
            if i % 2 == 0 {
                (format!("bench.call.{i}x"), "prefix")
            } else {
                (format!("bench..{i}"), "wildcard")
            }
        })
        .collect();
    for batch in patterns.chunks(256) {
        let done = futures_util::future::join_all(
            batch
                .iter()
                .map(|(uri, policy)| s.register(uri, wamp::dict! {"match" => *policy})),
        )
        .await;
        for r in done {
            r?;
        }
    }
    Ok(Some(s))
}

/// Calls per second to `procedure` with `args.concurrency` calls in flight.
async fn rate(args: &Args, caller: &Arc<Session>, procedure: &str) -> anyhow::Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs_f64(0.5 + args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (caller, done, procedure) =
            (Arc::clone(caller), Arc::clone(&done), procedure.to_owned());
        tasks.push(tokio::spawn(async move {
            let payload = Payload::from_args(vec![Value::Bytes(vec![7; 64])]);
            while Instant::now() < stop {
                caller
                    .call(&procedure, payload.clone(), Dict::new())
                    .await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (t0, n0) = (Instant::now(), done.load(Ordering::Relaxed));
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    let rate = (done.load(Ordering::Relaxed) - n0) as f64 / t0.elapsed().as_secs_f64();
    for t in tasks {
        t.await??;
    }
    Ok(rate)
}

type Stop = tokio::sync::oneshot::Sender<()>;

/// Runs the router (embedded default config, statistics off) on its own thread and
/// current-thread runtime; returns its RawSocket URL.
fn spawn_router() -> anyhow::Result<(String, Stop, std::thread::JoinHandle<()>)> {
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = url_tx.send(Err(e.into()));
                return;
            }
        };
        rt.block_on(async move {
            let mut config = Config::embedded_default().config.on_free_loopback_ports();
            for r in &mut config.realms {
                r.stats = None;
            }
            match Router::start(config, RouterOptions::default()).await {
                Ok(router) => {
                    let _ = url_tx.send(router.rawsocket_url().context("no RawSocket transport"));
                    let _ = stop_rx.await;
                    router.shutdown().await;
                }
                Err(e) => {
                    let _ = url_tx.send(Err(e.into()));
                }
            }
        });
    });
    let url = url_rx.recv().context("the router thread ended")??;
    Ok((url, stop_tx, thread))
}

/// The same allocator as the `wamp-router` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
