//! `wamp-monitor`: the dashboard, or headless output for scripts.

use std::io::Write as _;

use anyhow::Context as _;
use clap::Parser;
use tokio::sync::mpsc;
use wamp::Serializer;
use wamp_monitor::app::App;
use wamp_monitor::demo::Demo;
use wamp_monitor::feed::{self, FeedConfig};
use wamp_monitor::headless;
use wamp_monitor::model::Model;

/// The same allocator as the router (many small messages per second).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A live terminal dashboard of every WAMP session's traffic (wamp.session.* meta events).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The router: ws://host:port/path or rs://host:port.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// The realm.
    #[arg(long, default_value = "realm1")]
    realm: String,
    /// The serializer.
    #[arg(long, default_value = "json")]
    serializer: Serializer,
    /// Start a router with the embedded config and demo traffic in-process, and watch it.
    #[arg(long)]
    demo: bool,
    /// Print one human-readable line per meta event (no terminal needed).
    #[arg(long, conflicts_with_all = ["json", "once"])]
    plain: bool,
    /// Print each meta event as one JSON object per line (no terminal needed).
    #[arg(long, conflicts_with = "once")]
    json: bool,
    /// Print the current session table and exit.
    #[arg(long)]
    once: bool,
    /// Screen refreshes per second.
    #[arg(long, default_value_t = 4.0)]
    tick: f64,
    /// Seconds that sessions which left stay on screen (dimmed).
    #[arg(long, default_value_t = 30.0)]
    retention: f64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wamp-monitor: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wamp-monitor: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let headless = args.plain || args.json || args.once;
    if headless {
        // Logs go to stderr, never into the output a script reads.
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .try_init();
    }
    let demo = if args.demo {
        Some(Demo::start().await?)
    } else {
        None
    };
    let config = FeedConfig {
        url: demo
            .as_ref()
            .map_or_else(|| args.url.clone(), |d| d.url.clone()),
        realm: args.realm.clone(),
        serializer: args.serializer,
    };
    let result = if args.once {
        once(&config).await
    } else if headless {
        lines(config, args.json).await
    } else {
        App::start(config, args.retention).run(args.tick).await
    };
    if let Some(d) = demo {
        d.stop().await;
    }
    result
}

/// `--once`.
async fn once(config: &FeedConfig) -> anyhow::Result<()> {
    let options = wamp::SessionOptions {
        serializer: config.serializer,
        ..Default::default()
    };
    let session = wamp::Session::join(&config.url, &config.realm, options)
        .await
        .with_context(|| format!("cannot join {} at {}", config.realm, config.url))?;
    let sessions = feed::snapshot(&session)
        .await
        .context("cannot list the sessions")?;
    let mut model = Model::new(0.0, 0.0);
    model.apply(wamp_monitor::model::MetaEvent::Snapshot(sessions), 0.0);
    model.sessions.shift_remove(&session.id());
    headless::table(&model, 0.0, &mut std::io::stdout().lock())?;
    let _ = session.leave("wamp.close.normal").await;
    Ok(())
}

/// `--plain` and `--json`.
async fn lines(config: FeedConfig, json: bool) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::channel(65536);
    let (_kills, kill_rx) = mpsc::channel(1);
    tokio::spawn(feed::run(config, tx, kill_rx));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    loop {
        let item = tokio::select! {
            item = rx.recv() => match item {
                Some(item) => item,
                None => return Ok(()),
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let line = if json {
            headless::json_line(&item)
        } else {
            headless::plain_line(&item)
        };
        writeln!(out, "{line}")?;
        // Flush when nothing else is waiting, so a pipe sees events promptly.
        if rx.is_empty() {
            out.flush()?;
        }
    }
}
