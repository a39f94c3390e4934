//! `wamp-monitor`: the dashboard, or headless output for scripts.

use clap::Parser;
use wamp::Serializer;
use wamp_monitor::app::App;
use wamp_monitor::demo::Demo;
use wamp_monitor::feed::FeedConfig;
use wamp_monitor::headless;
use wamp_monitor::targets::{self, Defaults};

/// The same allocator as the router (many small messages per second).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A live terminal dashboard of every WAMP session's traffic (wamp.session.* meta events).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// A router to follow: ws://host:port/path or rs://host:port (also wss://, rss://,
    /// unix://), with @REALM at the end for a realm other than --realm. Give it several times
    /// to follow several routers at once [default: ws://127.0.0.1:8080/ws].
    #[arg(long, value_name = "URL[@REALM]")]
    url: Vec<String>,
    /// A JSON file of routers to follow, each with its own realm, serializer, credentials
    /// (from a file or a variable) and name: {"targets": [{"url": ..., "realm": ...}, ...]}.
    #[arg(long, value_name = "FILE", conflicts_with = "demo")]
    targets: Option<std::path::PathBuf>,
    /// The realm of every router that does not name its own.
    #[arg(long, default_value = "realm1")]
    realm: String,
    /// The serializer: json, msgpack or cbor.
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
    #[command(flatten)]
    login: wamp_loadgen::cli::LoginArgs,
    /// How long sessions that left stay on screen (dimmed), e.g. 30, 30s, 2m.
    #[arg(long, value_parser = wamp::duration::parse, default_value = "30s")]
    retention: std::time::Duration,
}

/// What the program does: the dashboard, or one of the headless outputs for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunMode {
    /// The terminal dashboard (no output flag).
    Dashboard,
    /// `--plain`: one human-readable line per meta event.
    Plain,
    /// `--json`: one JSON object per meta event.
    Json,
    /// `--once`: the session table, then exit.
    Once,
}

impl RunMode {
    /// The mode the flags ask for (clap lets at most one of them through).
    fn of(args: &Args) -> RunMode {
        if args.once {
            RunMode::Once
        } else if args.json {
            RunMode::Json
        } else if args.plain {
            RunMode::Plain
        } else {
            RunMode::Dashboard
        }
    }
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

/// Runs the mode the flags ask for: logs to stderr when headless, the demo router around it
/// with `--demo`.
async fn run(args: Args) -> anyhow::Result<()> {
    let mode = RunMode::of(&args);
    if mode != RunMode::Dashboard {
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
    let configs = match &demo {
        Some(d) => vec![FeedConfig {
            name: wamp_monitor::model::host_port(&d.url),
            url: d.url.clone(),
            realm: args.realm.clone(),
            serializer: args.serializer,
            login: d.operator.clone(),
            trust: args.login.trust(),
        }],
        None => targets(&args)?,
    };
    let result = match mode {
        RunMode::Dashboard => {
            App::start(configs, args.retention.as_secs_f64())
                .run(args.tick)
                .await
        }
        RunMode::Plain => headless::lines(configs, headless::plain_line).await,
        RunMode::Json => headless::lines(configs, headless::json_line).await,
        RunMode::Once => headless::once(&configs).await,
    };
    if let Some(d) = demo {
        d.stop().await;
    }
    result
}

/// The routers to follow: the `--url`s, then the `--targets` file's, with unique names; the
/// default URL when neither is given.
fn targets(args: &Args) -> anyhow::Result<Vec<FeedConfig>> {
    let defaults = Defaults {
        realm: args.realm.clone(),
        serializer: args.serializer,
        authmethod: args.login.authmethod.clone(),
        authid: args.login.authid.clone(),
        secret_file: args.login.secret_file.clone(),
        ca: args.login.ca.clone(),
    };
    let mut urls = args.url.clone();
    if urls.is_empty() && args.targets.is_none() {
        urls.push(DEFAULT_URL.to_owned());
    }
    let mut all = targets::from_urls(&urls, &defaults)?;
    if let Some(file) = &args.targets {
        all.extend(targets::from_file(file, &defaults)?);
    }
    targets::unique_names(&mut all);
    Ok(all)
}

/// The router followed when no `--url` or `--targets` is given.
const DEFAULT_URL: &str = "ws://127.0.0.1:8080/ws";

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(flags: &[&str]) -> Result<RunMode, clap::Error> {
        let argv = std::iter::once("wamp-monitor").chain(flags.iter().copied());
        Args::try_parse_from(argv).map(|a| RunMode::of(&a))
    }

    #[test]
    fn one_flag_picks_one_mode_and_two_are_refused() {
        assert_eq!(mode(&[]).ok(), Some(RunMode::Dashboard));
        assert_eq!(mode(&["--demo"]).ok(), Some(RunMode::Dashboard));
        assert_eq!(mode(&["--plain"]).ok(), Some(RunMode::Plain));
        assert_eq!(mode(&["--json"]).ok(), Some(RunMode::Json));
        assert_eq!(mode(&["--once"]).ok(), Some(RunMode::Once));
        for both in [
            ["--plain", "--json"],
            ["--plain", "--once"],
            ["--json", "--once"],
        ] {
            assert!(mode(&both).is_err(), "{both:?}");
        }
    }
}
