//! `wamp-router`: runs the router from a Crossbar-shaped configuration.

#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use wamp_router::config::{Config, Loaded, OPERATOR_TICKET_VARIABLE};
use wamp_router::{Router, RouterOptions};

/// mimalloc: the hot path allocates per message (frames, encodings); glibc's malloc/free were
/// ~15% of the fan-out profile. Side by side, the 1→10 fan-out delivered 1.27 M events/s with
/// glibc and 1.62 M with mimalloc (medians of 3 runs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A WAMP v2 router (broker + dealer) that counts every session's traffic.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// A Crossbar-shaped config.json (without it: the embedded default).
    #[arg(long, value_name = "FILE", conflicts_with = "cbdir")]
    config: Option<PathBuf>,
    /// A Crossbar node directory: reads DIR/config.json, like `crossbar start --cbdir`.
    #[arg(long, value_name = "DIR")]
    cbdir: Option<PathBuf>,
    /// Validate the configuration and exit.
    #[arg(long)]
    check: bool,
    /// Connect to NATS with the configuration's `cluster` block, listen to the nodes'
    /// heartbeats for two heartbeat intervals, print a table of them and exit (non-zero when
    /// NATS cannot be reached).
    #[arg(long, conflicts_with = "check")]
    cluster_status: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Capacity of each session's outbound queue, in messages.
    #[arg(long, value_name = "N", default_value_t = RouterOptions::default().outbound_queue)]
    outbound_queue: usize,
    /// The longest URI a session may use, in bytes (beyond: wamp.error.invalid_uri).
    #[arg(long, value_name = "BYTES", default_value_t = RouterOptions::default().max_uri_length)]
    max_uri_length: usize,
    /// How long a new connection may take to send HELLO, from its accept (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", value_parser = wamp::duration::parse, default_value = "10s")]
    hello_timeout: Duration,
    /// Connections one listener keeps open at most; beyond, new ones are refused at once.
    #[arg(long, value_name = "N", default_value_t = RouterOptions::default().max_connections)]
    max_connections: usize,
    /// How long a frame (RawSocket or WebSocket) may stop arriving half-way before its session is ended.
    #[arg(long, value_name = "DURATION", value_parser = wamp::duration::parse, default_value = "30s")]
    frame_timeout: Duration,
    /// How long a closing session waits for the client's GOODBYE and its last writes.
    #[arg(long, value_name = "DURATION", value_parser = wamp::duration::parse, default_value = "2s")]
    goodbye_timeout: Duration,
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wamp-router: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.cluster_status {
        // stdout is the table: logs go to stderr, and only problems by default.
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn,async_nats=off".into()),
            )
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    // async-nats says "connected" too; the cluster module logs it once.
                    .unwrap_or_else(|_| "info,async_nats=warn".into()),
            )
            .init();
    }
    let (loaded, source) = load(&args)?;
    let loaded_ticket = loaded.generated_operator_ticket.clone();
    if args.check {
        let cluster = match &loaded.config.cluster {
            Some(c) => format!(", cluster node {} over {}", c.node, c.nats.url),
            None => String::new(),
        };
        println!(
            "{source}: OK ({} realm(s), {} transport(s), {} warning(s){cluster})",
            loaded.config.realms.len(),
            loaded.config.transports.len(),
            loaded.warnings.len()
        );
        return Ok(());
    }
    if args.cluster_status {
        return cluster_status(&loaded.config, &source);
    }
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let options = RouterOptions {
        outbound_queue: args.outbound_queue.max(1),
        hello_timeout: args.hello_timeout,
        max_uri_length: args.max_uri_length.max(1),
        goodbye_timeout: args.goodbye_timeout,
        frame_timeout: args.frame_timeout,
        max_connections: args.max_connections.max(1),
        ..RouterOptions::default()
    };
    rt.block_on(async move {
        // Listened for before anything is ready: a signal that comes as soon as the router
        // says "ready" must stop it gracefully, not kill it.
        let stop = stop_signals()?;
        let router = Router::start(loaded.config, options)
            .await
            .with_context(|| format!("cannot start the router from {source}"))?;
        for e in router.endpoints() {
            tracing::info!("ready: {}", e.url());
        }
        if let Some(ticket) = &loaded_ticket {
            // Shown once, as Jupyter shows its token: the only way the operator learns it.
            tracing::info!(
                "{OPERATOR_TICKET_VARIABLE} is not set: the operator's ticket for this run is {} \
                 (log in with WAMP_TICKET=<it> wamp-monitor --authmethod ticket --authid operator)",
                ticket.expose()
            );
        }
        stop.await;
        router.shutdown().await;
        Ok(())
    })
}

/// `--cluster-status`: the nodes heard within two heartbeat intervals, as a table on stdout.
fn cluster_status(config: &Config, source: &str) -> anyhow::Result<()> {
    let Some(cluster) = &config.cluster else {
        anyhow::bail!("{source} has no \"cluster\" block: this router is not part of a cluster");
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let listen = cluster.heartbeat * 2;
    let rows = rt
        .block_on(wamp_router::cluster::status::probe(cluster, listen))
        .with_context(|| format!("cannot read the cluster's status (from {source})"))?;
    print!("{}", wamp_router::cluster::status::render_table(&rows));
    if rows.is_empty() {
        eprintln!(
            "no node heartbeat on {}.cluster.hb.* within {} ms",
            cluster.subject_prefix,
            listen.as_millis()
        );
    }
    Ok(())
}

fn load(args: &Args) -> anyhow::Result<(Loaded, String)> {
    Ok(match (&args.config, &args.cbdir) {
        (Some(file), _) => (Config::load_file(file)?, file.display().to_string()),
        (None, Some(dir)) => (
            Config::load_cbdir(dir)?,
            dir.join("config.json").display().to_string(),
        ),
        (None, None) => (
            Config::embedded_default(),
            "the embedded default config".to_owned(),
        ),
    })
}

/// A future that completes at SIGINT (Ctrl-C) or SIGTERM, listening from now on.
#[cfg(unix)]
fn stop_signals() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

/// A future that completes at Ctrl-C.
#[cfg(not(unix))]
fn stop_signals() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
