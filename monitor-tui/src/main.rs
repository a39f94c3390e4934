//! `wamp-monitor`: the dashboard, or headless output for scripts.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Parser;
use wamp::Serializer;
use wamp_monitor::app::App;
use wamp_monitor::demo::Demo;
use wamp_monitor::feed::FeedConfig;
use wamp_monitor::headless;
use wamp_monitor::model::Model;
use wamp_monitor::record::{RecordCap, Recorder, Replay};
use wamp_monitor::replay::Playback;
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
    /// Write every meta event and snapshot received to FILE as NDJSON, with its receive time
    /// (with the dashboard, --demo, --plain or --json). An existing FILE is rotated to FILE.1.
    #[arg(long, value_name = "FILE", conflicts_with = "once")]
    record: Option<PathBuf>,
    /// The largest a recording file may grow before it is rotated (FILE → FILE.1 → …), e.g.
    /// 64M, 256M, 1G [default: 256M].
    #[arg(long, value_name = "SIZE", value_parser = parse_size, requires = "record")]
    record_max_size: Option<u64>,
    /// How many rotated recording files (FILE.1 … FILE.N) to keep [default: 3].
    #[arg(long, value_name = "N", requires = "record")]
    record_keep: Option<usize>,
    /// Play a recording (and the files rotated away before it) into the dashboard instead of
    /// following routers; with --once, print the table at its end.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["url", "targets", "demo", "record", "plain", "json"]
    )]
    replay: Option<PathBuf>,
    /// The replay's speed: recorded seconds per second, 0.25 to 64.
    #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = parse_speed, requires = "replay")]
    speed: f64,
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
    if let Some(file) = &args.replay {
        return replay(&args, file, mode).await;
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
            typed_stats: false,
        }],
        None => targets(&args)?,
    };
    let result = follow(&args, mode, configs).await;
    if let Some(d) = demo {
        d.stop().await;
    }
    result
}

/// Follows the routers of `configs` in `mode`, recording them with `--record`.
async fn follow(args: &Args, mode: RunMode, configs: Vec<FeedConfig>) -> anyhow::Result<()> {
    let recorder = recorder(args, &configs)?;
    match mode {
        RunMode::Dashboard => {
            // The dashboard decodes on_stats into its typed form, unless the whole events are
            // to be recorded.
            let typed = recorder.is_none();
            let configs = configs
                .into_iter()
                .map(|c| FeedConfig {
                    typed_stats: typed,
                    ..c
                })
                .collect();
            let mut app = App::start(configs, args.retention.as_secs_f64());
            if let Some(recorder) = recorder {
                app = app.with_recorder(recorder);
            }
            app.run(args.tick).await
        }
        RunMode::Plain => headless::lines(configs, headless::plain_line, recorder).await,
        RunMode::Json => headless::lines(configs, headless::json_line, recorder).await,
        RunMode::Once => headless::once(&configs).await,
    }
}

/// The recorder `--record` asks for, of the routers of `configs`.
fn recorder(args: &Args, configs: &[FeedConfig]) -> anyhow::Result<Option<Recorder>> {
    let Some(file) = &args.record else {
        return Ok(None);
    };
    let defaults = RecordCap::default();
    let cap = RecordCap {
        max_bytes: args.record_max_size.unwrap_or(defaults.max_bytes),
        keep: args.record_keep.unwrap_or(defaults.keep),
    };
    let routers: Vec<(String, String)> = configs
        .iter()
        .map(|c| (c.url.clone(), c.realm.clone()))
        .collect();
    let recorder = Recorder::create(file, &routers, cap).context("cannot record")?;
    Ok(Some(recorder))
}

/// `--replay FILE`: plays the recording into the dashboard, or with `--once` prints the table
/// at its end.
async fn replay(args: &Args, file: &Path, mode: RunMode) -> anyhow::Result<()> {
    let mut playback =
        Playback::open(file, args.retention.as_secs_f64()).context("cannot replay")?;
    warn_skipped(playback.player().replay());
    playback.set_speed(args.speed);
    if mode == RunMode::Once {
        let mut model = playback.fresh_model();
        playback.play_to_end(&mut model);
        return print_table(&model, playback.now());
    }
    App::replay(playback).run(args.tick).await
}

/// One line on stderr when lines of the recording were skipped as invalid.
fn warn_skipped(replay: &Replay) {
    if let Some(first) = replay.first_skipped() {
        eprintln!(
            "wamp-monitor: {}: skipped {} invalid line(s), the first at line {}: {}",
            first.path.display(),
            replay.skipped(),
            first.line,
            first.why
        );
    }
}

/// Prints the session table of `model` to stdout.
fn print_table(model: &Model, now: f64) -> anyhow::Result<()> {
    headless::table(model, now, &mut std::io::stdout().lock()).context("cannot print the table")
}

/// `256M`, `1G`, `64k`, `1000`: a size in bytes (K, M, G, T are powers of 1024; a trailing
/// `B` or `iB` is allowed).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("{text:?}: the unit is one of K, M, G, T")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 256M or 1G"))?;
    let bytes = n
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes == 0 {
        return Err("the size must be more than 0".to_owned());
    }
    Ok(bytes)
}

/// A replay speed: a number from 0.25 to 64.
fn parse_speed(text: &str) -> Result<f64, String> {
    use wamp_monitor::replay::{MAX_SPEED, MIN_SPEED};
    let speed: f64 = text
        .trim()
        .trim_end_matches(['x', '×'])
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (MIN_SPEED..=MAX_SPEED).contains(&speed) {
        Ok(speed)
    } else {
        Err(format!("the speed is from {MIN_SPEED} to {MAX_SPEED}"))
    }
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

    #[test]
    fn replay_and_record_flags_go_together_only_where_they_make_sense() {
        assert_eq!(mode(&["--replay", "f"]).ok(), Some(RunMode::Dashboard));
        assert_eq!(mode(&["--replay", "f", "--once"]).ok(), Some(RunMode::Once));
        assert!(mode(&["--replay", "f", "--speed", "4"]).is_ok());
        assert_eq!(
            mode(&["--record", "f", "--plain"]).ok(),
            Some(RunMode::Plain)
        );
        assert!(mode(&["--demo", "--record", "f", "--record-max-size", "1G"]).is_ok());
        for refused in [
            &["--replay", "f", "--url", "ws://h/ws"][..],
            &["--replay", "f", "--demo"],
            &["--replay", "f", "--record", "g"],
            &["--replay", "f", "--json"],
            &["--speed", "2"],
            &["--replay", "f", "--speed", "100"],
            &["--record-max-size", "1G"],
            &["--record", "f", "--once"],
        ] {
            assert!(mode(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn sizes_are_read_with_binary_units() {
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("64kB"), Ok(64 << 10));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1000"), Ok(1000));
        for bad in ["", "M", "12Q", "-1M", "0", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
