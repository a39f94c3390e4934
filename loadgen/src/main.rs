//! `wamp-loadgen`: load a WAMP router and report honest latency figures.

use std::time::Duration;

use clap::{Parser, Subcommand};
use wamp::Serializer;
use wamp_loadgen::pubsub::{self, PubSubConfig};
use wamp_loadgen::rpc::{self, RpcConfig};
use wamp_loadgen::schedule::Schedule;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Loads a WAMP router and reports throughput and latency percentiles.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The router: ws://host:port/path or rs://host:port.
    #[arg(long, default_value = "rs://127.0.0.1:8081", global = true)]
    url: String,
    /// The realm.
    #[arg(long, default_value = "realm1", global = true)]
    realm: String,
    /// The serializer.
    #[arg(long, default_value = "msgpack", global = true)]
    serializer: Serializer,
    /// Requests per second in total (open loop), or `max` (closed loop).
    #[arg(long, default_value = "max", global = true)]
    rate: String,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0, global = true)]
    duration: f64,
    /// Seconds before measuring.
    #[arg(long, default_value_t = 1.0, global = true)]
    warmup: f64,
    /// Print the summary as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Publishers publish to topics that subscribers receive.
    Pubsub {
        /// Publisher sessions.
        #[arg(long, default_value_t = 1)]
        publishers: usize,
        /// Subscriber sessions (each subscribes every topic).
        #[arg(long, default_value_t = 10)]
        subscribers: usize,
        /// Topics.
        #[arg(long, default_value_t = 1)]
        topics: usize,
        /// Bytes of the payload.
        #[arg(long, default_value_t = 100)]
        payload: usize,
    },
    /// Callers call an echo procedure of callees.
    Rpc {
        /// Callee sessions.
        #[arg(long, default_value_t = 1)]
        callees: usize,
        /// Caller sessions.
        #[arg(long, default_value_t = 1)]
        callers: usize,
        /// Calls in flight per caller at most.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Bytes of the argument.
        #[arg(long, default_value_t = 64)]
        payload: usize,
    },
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wamp-loadgen: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wamp-loadgen: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let schedule = match args.rate.as_str() {
        "max" => Schedule::Closed,
        r => match r.parse::<f64>() {
            Ok(rate) if rate > 0.0 => Schedule::Open { rate },
            _ => anyhow::bail!("--rate must be a positive number or max, not {r:?}"),
        },
    };
    let serializer = args.serializer;
    match args.scenario {
        Scenario::Pubsub {
            publishers,
            subscribers,
            topics,
            payload,
        } => {
            let cfg = PubSubConfig {
                url: args.url.clone(),
                realm: args.realm.clone(),
                serializer,
                publishers,
                subscribers,
                topics,
                payload,
                schedule,
                duration: Duration::from_secs_f64(args.duration),
                warmup: Duration::from_secs_f64(args.warmup),
            };
            let r = pubsub::run(&cfg).await?;
            let s = r.events.summary(r.seconds);
            if args.json {
                let mut v = s.to_json(&r.publish_errors.errors);
                v["published"] = r.published.into();
                println!("{v}");
            } else {
                println!(
                    "pubsub {} {:?} rate {}: {} published, {} events received ({:.0}/s); {s}",
                    args.url, args.serializer, args.rate, r.published, s.ok, s.throughput
                );
                print_errors(&r.publish_errors.errors);
            }
        }
        Scenario::Rpc {
            callees,
            callers,
            concurrency,
            payload,
        } => {
            let cfg = RpcConfig {
                url: args.url.clone(),
                realm: args.realm.clone(),
                serializer,
                callees,
                callers,
                schedule,
                concurrency,
                payload,
                duration: Duration::from_secs_f64(args.duration),
                warmup: Duration::from_secs_f64(args.warmup),
            };
            let (rec, secs) = rpc::run(&cfg).await?;
            let s = rec.summary(secs);
            if args.json {
                println!("{}", s.to_json(&rec.errors));
            } else {
                println!(
                    "rpc {} {:?} rate {}: {} calls ok, {} failed, {:.0}/s; {s}",
                    args.url, args.serializer, args.rate, s.ok, s.failed, s.throughput
                );
                print_errors(&rec.errors);
            }
        }
    }
    Ok(())
}

/// One line per error URI: `  N × uri`.
fn print_errors(errors: &std::collections::BTreeMap<String, u64>) {
    for (uri, n) in errors {
        println!("  {n} × {uri}");
    }
}
