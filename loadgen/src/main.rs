//! `wamp-loadgen`: load a WAMP router and report honest latency figures.
//!
//! Exit status: 0 when every request succeeded, 1 when the run could not start (unreachable
//! router, refused realm, not authorized to subscribe or register…), 2 when some requests
//! failed (the summary says which), 130 when interrupted with Ctrl-C (after the summary so far).

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args as ClapArgs, Parser, Subcommand};
use wamp::Serializer;
use wamp_loadgen::churn::ChurnConfig;
use wamp_loadgen::example::ExampleConfig;
use wamp_loadgen::idle::IdleConfig;
use wamp_loadgen::pubsub::PubSubConfig;
use wamp_loadgen::rpc::RpcConfig;
use wamp_loadgen::run::{Plan, Run};
use wamp_loadgen::schedule::Schedule;
use wamp_loadgen::{Scenario, execute};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Loads a WAMP router and reports throughput and latency percentiles.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    after_help = "Exit status: 0 all requests succeeded, 1 the run \
could not start, 2 some requests failed, 130 interrupted (the summary so far is printed)."
)]
struct Args {
    /// The router: ws://host:port/path or rs://host:port.
    #[arg(long, default_value = "rs://127.0.0.1:8081", global = true)]
    url: String,
    /// The realm.
    #[arg(long, default_value = "realm1", global = true)]
    realm: String,
    /// The serializer: json, msgpack or cbor.
    #[arg(long, default_value = "msgpack", global = true)]
    serializer: Serializer,
    /// Requests per second in total, on a fixed timeline (open loop), or `max` (closed loop).
    /// For churn: sessions per second. Not used by `example`.
    #[arg(long, default_value = "max", global = true)]
    rate: String,
    /// Measured time, e.g. 10, 500ms, 2s, 1m (a bare number is seconds) [default: 10s; for
    /// example: as long as its clients take].
    #[arg(long, global = true, value_parser = wamp::duration::parse)]
    duration: Option<Duration>,
    /// Warm-up before measuring (sent, not recorded) [default: 1s; for example: 0].
    #[arg(long, global = true, value_parser = wamp::duration::parse)]
    warmup: Option<Duration>,
    /// Stop after this many requests in total (warm-up included).
    #[arg(long, global = true)]
    count: Option<u64>,
    /// How long to wait at the end for answers still in flight (then counted as
    /// loadgen.timeout).
    #[arg(long, global = true, value_parser = wamp::duration::parse, default_value = "5s")]
    drain: Duration,
    /// Print the summary as JSON (schema wamp-loadgen/1).
    #[arg(long, global = true)]
    json: bool,
    /// Progress line on standard error: auto (when it is a terminal), always, never.
    #[arg(long, default_value = "auto", global = true)]
    progress: ProgressMode,
    /// Worker threads (0: one thread for everything).
    #[arg(long, default_value_t = 0, global = true)]
    threads: usize,
    #[command(flatten)]
    login: wamp_loadgen::cli::LoginArgs,
    #[command(subcommand)]
    scenario: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ProgressMode {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, ClapArgs)]
struct PubSubArgs {
    /// Publisher sessions.
    #[arg(long, default_value_t = 1)]
    publishers: usize,
    /// Subscriber sessions (each subscribes every topic).
    #[arg(long, default_value_t = 10)]
    subscribers: usize,
    /// Topics.
    #[arg(long, default_value_t = 1)]
    topics: usize,
    /// Publish without acknowledgement (errors are not seen; `--rate max` is then held back
    /// only by what subscribers have received).
    #[arg(long)]
    no_ack: bool,
    /// Acknowledged publications in flight per publisher at most.
    #[arg(long, default_value_t = 256)]
    window: usize,
    /// Subscribers join here instead of `--url` (another node of a cluster: the fan-out
    /// across nodes).
    #[arg(long, value_name = "URL")]
    subscriber_url: Option<String>,
}

#[derive(Debug, Clone, ClapArgs)]
struct RpcArgs {
    /// Callee sessions (a shared round-robin registration).
    #[arg(long, default_value_t = 1)]
    callees: usize,
    /// Caller sessions.
    #[arg(long, default_value_t = 1)]
    callers: usize,
    /// Calls in flight per caller at most (`--rate max` with 1: sequential calls).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Callees join here instead of `--url` (another node of a cluster: calls across nodes);
    /// the callers start once a call reaches them (10 s at most).
    #[arg(long, value_name = "URL")]
    callee_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Publishers publish to topics that subscribers receive; publish→event latency.
    Pubsub {
        #[command(flatten)]
        shape: PubSubArgs,
        /// Bytes of the payload.
        #[arg(long, default_value_t = 100)]
        payload: usize,
    },
    /// Callers call an echo procedure of callees; call→result latency.
    Rpc {
        #[command(flatten)]
        shape: RpcArgs,
        /// Bytes of the argument.
        #[arg(long, default_value_t = 64)]
        payload: usize,
    },
    /// Pub/sub and RPC at once, sharing the rate.
    Mixed {
        #[command(flatten)]
        pubsub: PubSubArgs,
        #[command(flatten)]
        rpc: RpcArgs,
        /// Bytes of each payload.
        #[arg(long, default_value_t = 100)]
        payload: usize,
        /// The share of the rate that goes to calls (the rest to publications).
        #[arg(long, default_value_t = 0.5)]
        rpc_share: f64,
    },
    /// Sessions join at the rate, subscribe, publish, call, and leave.
    Churn {
        /// Sessions alive at once at most.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// How long each session stays after its work (e.g. 500ms).
        #[arg(long, value_parser = wamp::duration::parse, default_value = "0")]
        linger: Duration,
    },
    /// The Crossbar.io session-statistics example's client: subscribe com.example.topic1,
    /// publish 0..4 (acknowledged, exclude_me=false) one per interval, leave.
    Example {
        /// Clients each worker runs one after the other.
        #[arg(long, default_value_t = 1)]
        repeat: u64,
        /// Workers at once.
        #[arg(long, default_value_t = 1)]
        parallel: usize,
        /// Time between a client's publications (e.g. 1s, 250ms).
        #[arg(long, value_parser = wamp::duration::parse, default_value = "1s")]
        interval: Duration,
    },
    /// Sessions that join and stay idle until the run ends (memory per session).
    Idle {
        /// Sessions to hold open.
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
        /// Joins in progress at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut rt = if args.threads == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(args.threads);
        b
    };
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wamp-loadgen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wamp-loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn pubsub_config(a: &PubSubArgs, payload: usize, share: f64) -> PubSubConfig {
    PubSubConfig {
        publishers: a.publishers,
        subscribers: a.subscribers,
        topics: a.topics,
        payload,
        acknowledge: !a.no_ack,
        window: a.window,
        share,
        subscriber_url: a.subscriber_url.clone(),
    }
}

fn rpc_config(a: &RpcArgs, payload: usize, share: f64) -> RpcConfig {
    RpcConfig {
        callees: a.callees,
        callers: a.callers,
        concurrency: a.concurrency,
        payload,
        share,
        callee_url: a.callee_url.clone(),
    }
}

fn scenario(command: &Command) -> anyhow::Result<Scenario> {
    Ok(match command {
        Command::Pubsub { shape, payload } => Scenario::PubSub(pubsub_config(shape, *payload, 1.0)),
        Command::Rpc { shape, payload } => Scenario::Rpc(rpc_config(shape, *payload, 1.0)),
        Command::Mixed {
            pubsub,
            rpc,
            payload,
            rpc_share,
        } => {
            anyhow::ensure!(
                (0.0..=1.0).contains(rpc_share),
                "--rpc-share must be between 0 and 1, not {rpc_share}"
            );
            Scenario::Mixed(
                pubsub_config(pubsub, *payload, 1.0 - rpc_share),
                rpc_config(rpc, *payload, *rpc_share),
            )
        }
        Command::Churn {
            concurrency,
            linger,
        } => Scenario::Churn(ChurnConfig {
            concurrency: *concurrency,
            linger: *linger,
            share: 1.0,
        }),
        Command::Example {
            repeat,
            parallel,
            interval,
        } => Scenario::Example(ExampleConfig {
            repeat: *repeat,
            parallel: *parallel,
            interval: *interval,
            ..ExampleConfig::default()
        }),
        Command::Idle {
            sessions,
            concurrency,
        } => Scenario::Idle(IdleConfig {
            sessions: *sessions,
            concurrency: *concurrency,
        }),
    })
}

/// The plan from the global options; `example` gets no warm-up and a duration that fits its
/// clients unless told otherwise.
fn plan(args: &Args, scenario: &Scenario) -> anyhow::Result<Plan> {
    let schedule = match args.rate.as_str() {
        "max" => Schedule::Closed,
        r => match r.parse::<f64>() {
            Ok(rate) if rate > 0.0 && rate.is_finite() => Schedule::Open { rate },
            _ => anyhow::bail!("--rate must be a positive number or max, not {r:?}"),
        },
    };
    let (warmup, duration) = match scenario {
        Scenario::Example(e) => (Duration::ZERO, e.expected_duration()),
        _ => (Duration::from_secs(1), Duration::from_secs(10)),
    };
    Ok(Plan {
        url: args.url.clone(),
        realm: args.realm.clone(),
        serializer: args.serializer,
        schedule: if matches!(scenario, Scenario::Example(_)) {
            Schedule::Closed
        } else {
            schedule
        },
        warmup: args.warmup.unwrap_or(warmup),
        duration: args.duration.unwrap_or(duration),
        count: args.count,
        drain: args.drain,
        login: args.login.login().map_err(anyhow::Error::msg)?,
        trust: args.login.trust(),
    })
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let scenario = scenario(&args.scenario)?;
    let run = Arc::new(Run::new(plan(&args, &scenario)?));
    let ctrl_c = {
        let run = Arc::clone(&run);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                run.interrupt();
                eprintln!(
                    "\rwamp-loadgen: interrupted; finishing the requests in flight (Ctrl-C again to quit now)"
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        })
    };
    let show_progress = match args.progress {
        ProgressMode::Always => true,
        ProgressMode::Never => false,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    };
    let progress =
        show_progress.then(|| tokio::spawn(wamp_loadgen::progress::show(Arc::clone(&run))));
    let outcome = execute(&run, &scenario).await;
    run.complete();
    if let Some(p) = progress {
        let _ = p.await;
    }
    ctrl_c.abort();
    let report = outcome.with_context(|| {
        format!(
            "{} against {} realm {}",
            scenario.name(),
            args.url,
            args.realm
        )
    })?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    Ok(if report.interrupted {
        ExitCode::from(130)
    } else if report.failures() > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
