//! The router's memory under a subscriber that stops reading, for each slow-consumer policy.
//!
//! ```text
//! cargo run --release -p wamp-router --example stalled_subscriber -- --events 200000
//! ```
//! For `close` and then `drop`, an in-process router (embedded default config, default
//! queue limits: 8,192 messages or 32 MiB per session) gets a RawSocket subscriber that joins,
//! subscribes and never reads again, and a publisher that publishes `--events` events of
//! `--payload` bytes with acknowledgement. It prints the process's resident memory before and
//! after, the most bytes the stalled session's queue ever held, and whether it is still joined.

use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use wamp::transport::{Inbound, Outbound};
use wamp::{Dict, Message, Payload, Serializer, Session, SessionOptions, Value};
use wamp_router::config::{Config, SlowConsumerPolicy};
use wamp_router::{Router, RouterOptions};

/// Measures memory under a stalled subscriber.
#[derive(Debug, Parser)]
struct Args {
    /// Events published while the subscriber does not read.
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Payload bytes per event (one binary argument).
    #[arg(long, default_value_t = 1024)]
    payload: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!(
        "| policy | events | RSS before | RSS after | growth | peak queued | still joined | s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|");
    for policy in [SlowConsumerPolicy::Close, SlowConsumerPolicy::Drop] {
        measure(&args, policy).await?;
    }
    Ok(())
}

async fn measure(args: &Args, policy: SlowConsumerPolicy) -> anyhow::Result<()> {
    let mut config = Config::embedded_default().config.on_free_loopback_ports();
    for r in &mut config.realms {
        r.slow_consumer = policy;
        r.stats = None;
    }
    let router = Router::start(config, RouterOptions::default()).await?;
    let url = router.rawsocket_url().context("a rawsocket transport")?;
    let serializer = Serializer::Msgpack;
    let c = wamp::client::connect_transport(
        &url,
        serializer,
        16 << 20,
        wamp::transport::CLIENT_READ_BUFFER,
        &Default::default(),
    )
    .await?;
    let (mut reader, mut writer) = (c.reader, c.writer);
    let send = |m: &Message| wamp::encode(serializer, m).map(Outbound::Message);
    writer
        .write_batch(&[send(&Message::Hello {
            realm: "realm1".into(),
            details: wamp::dict! {"roles" => wamp::dict! {"subscriber" => Dict::new()}},
        })?])
        .await?;
    let Some(Ok(Inbound::Message(b))) = reader.next().await else {
        anyhow::bail!("no WELCOME");
    };
    let Message::Welcome { session, .. } = wamp::decode(serializer, &b)? else {
        anyhow::bail!("no WELCOME");
    };
    writer
        .write_batch(&[send(&Message::Subscribe {
            request: 1,
            options: Dict::new(),
            topic: "bench.stall".into(),
        })?])
        .await?;
    reader.next().await.context("SUBSCRIBED")??;
    // From here on nothing reads `reader`: the kernel's buffers fill, then the router's queue.
    let publisher = Session::join(&url, "realm1", SessionOptions::default()).await?;
    let payload = Payload::from_args(vec![Value::Bytes(vec![7; args.payload])]);
    let before = rss_bytes();
    let t = Instant::now();
    for _ in 0..args.events {
        publisher
            .publish(
                "bench.stall",
                payload.clone(),
                wamp::dict! {"acknowledge" => true},
            )
            .await?;
    }
    let after = rss_bytes();
    // A closed session's queue is gone with it.
    let peak = router
        .peak_queued_bytes("realm1", session)
        .map_or("(closed)".to_owned(), |b| {
            format!("{:.1} MiB", mib(b as u64))
        });
    println!(
        "| {policy:?} | {} | {:.1} MiB | {:.1} MiB | {:+.1} MiB | {peak} | {} | {:.1} |",
        args.events,
        mib(before),
        mib(after),
        mib(after) - mib(before),
        router.is_joined("realm1", session),
        t.elapsed().as_secs_f64()
    );
    drop((reader, writer));
    let _ = publisher.leave("wamp.close.normal").await;
    router.shutdown().await;
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// `VmRSS` of this process, in bytes (0 where `/proc` has none).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let kb = s.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
            kb.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}
