//! Many live sessions for measuring the monitor: `--sessions` sessions join a router and each
//! publishes `--rate` times per second until Ctrl-C (or `--duration`), so that a router with a
//! duration trigger (e.g. `config/examples/stats-by-duration.json`: one cycle per second)
//! sends a steady stream of `on_stats` events.
//!
//! ```text
//! cargo run --release -p wamp-router -- --config config/examples/stats-by-duration.json &
//! cargo run --release -p wamp-monitor --example many_sessions -- --sessions 1000
//! cargo run --release -p wamp-monitor -- --url ws://127.0.0.1:8080/ws   # and watch its CPU
//! ```

use std::time::Duration;

use clap::Parser;
use wamp::{Dict, Payload, Serializer, Session, SessionOptions};

/// Opens many sessions that publish at a low rate.
#[derive(Debug, Parser)]
struct Args {
    /// The router.
    #[arg(long, default_value = "rs://127.0.0.1:8081")]
    url: String,
    /// How many sessions.
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    /// Publications per second per session.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Stop after this long (e.g. 600, 90s, 10m).
    #[arg(long, value_parser = wamp::duration::parse, default_value = "10m")]
    duration: Duration,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut sessions = Vec::with_capacity(args.sessions);
    let options = SessionOptions {
        serializer: Serializer::Msgpack,
        queue: 64,
        ..SessionOptions::default()
    };
    for i in 0..args.sessions {
        sessions.push(Session::join(&args.url, "realm1", options.clone()).await?);
        if (i + 1) % 1000 == 0 {
            eprintln!("{} sessions joined", i + 1);
        }
    }
    eprintln!(
        "{} sessions joined; publishing {} times per second each",
        sessions.len(),
        args.rate
    );
    let period = Duration::from_secs_f64(1.0 / args.rate.max(0.01));
    let mut tick =
        tokio::time::interval(period / u32::try_from(sessions.len().max(1)).unwrap_or(u32::MAX));
    let deadline = tokio::time::Instant::now() + args.duration;
    let mut next = 0usize;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let s = &sessions[next % sessions.len()];
                s.publish("load.sessions", Payload::from_args(vec![next.into()]), Dict::new()).await?;
                next += 1;
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    for s in sessions {
        let _ = s.leave("wamp.close.normal").await;
    }
    Ok(())
}
