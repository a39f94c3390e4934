//! Every command in the README's `sh` code blocks, run as a new user runs it, so that the README
//! cannot drift from the binaries. Routers run on free ports on 127.0.0.1: a command naming a
//! config runs on a copy of it moved to free loopback ports, and a client command is pointed at
//! a router this test started (its `--url` replaced, or added where it relies on the default).
//! A command that would run long gets a short `--duration`; the dashboard runs under a
//! pseudo-terminal (`script`, from util-linux) until it has drawn, then is quit with `q`.
//! Every command must exit 0. Those not run are in [`NOT_RUN`], each with its reason.
//!
//! The binaries are the ones `cargo test --workspace` builds next to this test's `wamp-router`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Transport, start, url};
use wamp_router::Router;

/// README commands this test does not run, by their beginning, and why.
const NOT_RUN: &[(&str, &str)] = &[
    ("cargo test --workspace", "the suite this test is part of"),
    (
        "for p in router monitor-tui loadgen; do cargo install",
        "three release builds installed into ~/.cargo/bin",
    ),
    (
        "openssl ",
        "makes a CA and a certificate with openssl; the tests make theirs with rcgen",
    ),
    (
        "BACKEND_TICKET=",
        "needs that certificate next to the config; router/tests/endpoints.rs and the \
         monitor's headless test run this config with one made at test time",
    ),
    (
        "python3 bench/run.py",
        "the benchmark suite (minutes per case; installs Crossbar.io); it runs these binaries",
    ),
    (
        "printf 'authorization",
        "writes the demo's nats-server config; router/tests/common/nats.rs writes the tests' own",
    ),
    (
        "NATS_TOKEN=change-me nats-server",
        "nats-server is not one of ours; the cluster tests (cluster_nodes, cluster_pubsub, \
         cluster_rpc, cluster_meta) start it on a free port",
    ),
    (
        "NATS_TOKEN=change-me wamp-router --cluster-status",
        "needs the nats-server above; router/tests/cluster_nodes.rs runs --cluster-status \
         against one",
    ),
    (
        "wamp-loadgen --url rs://127.0.0.1:8081 --duration 5s rpc --callee-url",
        "needs two nodes of a running cluster; bench/cluster_rpc.py runs it so",
    ),
];

/// How long any one command may take.
const LIMIT: Duration = Duration::from_secs(60);

/// The workspace root: README paths are relative to it.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

/// One README command.
#[derive(Debug, Clone)]
struct Line {
    /// As written (without its comment).
    text: String,
    /// `NAME=value` words before the program.
    env: Vec<(String, String)>,
    /// The binary it runs.
    program: Program,
    /// Its arguments.
    args: Vec<String>,
}

/// What a README command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Program {
    Router,
    Monitor,
    Loadgen,
    /// An example program of a package (`cargo run -p P --example E`).
    Example(String),
}

/// Every command of the README's `sh` blocks (comments and a trailing `&` removed).
fn readme_commands() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let command = line.split(" #").next().unwrap_or(line).trim();
        let command = command.trim_end_matches('&').trim();
        if !command.is_empty() {
            out.push(command.to_owned());
        }
    }
    out
}

/// The command as a program and arguments; `None` for one this test cannot read.
fn parse(text: &str) -> Option<Line> {
    let mut words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    let mut env = Vec::new();
    while let Some((k, v)) = words.first().and_then(|w| w.split_once('=')) {
        if !k.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            break;
        }
        env.push((k.to_owned(), v.to_owned()));
        words.remove(0);
    }
    let (program, args) = match words.first()?.as_str() {
        "wamp-router" => (Program::Router, words[1..].to_vec()),
        "wamp-monitor" => (Program::Monitor, words[1..].to_vec()),
        "wamp-loadgen" => (Program::Loadgen, words[1..].to_vec()),
        "cargo" if words.get(1).map(String::as_str) == Some("run") => {
            let dashes = words.iter().position(|w| w == "--");
            let (cargo, args) = match dashes {
                Some(i) => (&words[..i], words[i + 1..].to_vec()),
                None => (&words[..], Vec::new()),
            };
            let after = |flag: &str| {
                cargo
                    .iter()
                    .position(|w| w == flag)
                    .and_then(|i| cargo.get(i + 1))
            };
            let program = match (after("--example"), after("-p")?.as_str()) {
                (Some(example), _) => Program::Example(example.clone()),
                (None, "wamp-router") => Program::Router,
                (None, "wamp-monitor") => Program::Monitor,
                (None, "wamp-loadgen") => Program::Loadgen,
                _ => return None,
            };
            (program, args)
        }
        _ => return None,
    };
    Some(Line {
        text: text.to_owned(),
        env,
        program,
        args,
    })
}

/// The README's commands that this test runs.
fn runnable() -> Vec<Line> {
    readme_commands()
        .iter()
        .filter(|c| !NOT_RUN.iter().any(|(start, _)| c.starts_with(start)))
        .map(|c| parse(c).unwrap_or_else(|| panic!("a README command this test cannot run: {c}")))
        .collect()
}

fn binary(program: &Program) -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_wamp-router"))
        .parent()
        .expect("the binaries' folder")
        .to_owned();
    let path = match program {
        Program::Router => dir.join("wamp-router"),
        Program::Monitor => dir.join("wamp-monitor"),
        Program::Loadgen => dir.join("wamp-loadgen"),
        Program::Example(name) => dir.join("examples").join(name),
    };
    assert!(
        path.exists(),
        "{} is not built: run the README's test command, `cargo test --workspace`",
        path.display()
    );
    path
}

fn command(line: &Line, args: &[String]) -> Command {
    let mut c = Command::new(binary(&line.program));
    c.args(args)
        .current_dir(root())
        .envs(line.env.iter().map(|(k, v)| (k, v)));
    c
}

/// Starts the command with `args`, its output piped.
fn spawn(line: &Line, args: &[String]) -> Child {
    command(line, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs")
}

/// The value after `flag` in `args`.
fn value_of<'a>(args: &'a [String], flag: &str) -> Option<&'a String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
}

/// `args` with `flag`'s value set to `value` (replaced, or added at the front).
fn with(args: &[String], flag: &str, value: &str) -> Vec<String> {
    let mut out = args.to_vec();
    match out.iter().position(|a| a == flag) {
        Some(i) if i + 1 < out.len() => out[i + 1] = value.to_owned(),
        _ => {
            out.insert(0, value.to_owned());
            out.insert(0, flag.to_owned());
        }
    }
    out
}

/// `args` pointed at `router`: a `--url` of the same transport, or the program's default
/// transport when the command gives none.
fn pointed_at(args: &[String], router: &Router, default: Transport) -> Vec<String> {
    let transport = match value_of(args, "--url") {
        Some(u) if u.starts_with("ws") => Transport::Ws,
        Some(_) => Transport::Rs,
        None => default,
    };
    with(args, "--url", &url(router, transport))
}

/// Waits for `child` to exit within [`LIMIT`]; kills it (by its PID) and fails otherwise.
fn wait(mut child: Child, what: &str) -> ExitStatus {
    let pid = child.id().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(LIMIT) {
        Ok(status) => status.expect("the child's status"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("{what}: still running after {LIMIT:?}");
        }
    }
}

/// Sends SIGINT (Ctrl-C) to `child`, with the system's own `kill`.
fn interrupt(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success(), "kill -INT {}", child.id());
}

/// Reads `from`'s lines into a channel, on a thread of its own.
fn lines_of(from: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (bounded) for lines until `enough` is satisfied; returns all of them.
fn lines_until(
    rx: &mpsc::Receiver<String>,
    what: &str,
    enough: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + LIMIT;
    let mut seen = Vec::new();
    while !enough(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => panic!("{what}: not seen in time; it printed {seen:#?}"),
        }
    }
    seen
}

fn assert_ok(line: &Line, status: ExitStatus, output: &str) {
    assert!(
        status.success(),
        "`{}` exited with {status}:\n{output}",
        line.text
    );
}

/// A copy of the config a router command names (or of the embedded default's file), moved to
/// free loopback ports, and the command's arguments pointing at the copy.
fn on_free_ports(line: &Line, n: usize) -> (Vec<String>, usize) {
    let (source, flag) = match (
        value_of(&line.args, "--config"),
        value_of(&line.args, "--cbdir"),
    ) {
        (Some(f), _) => (root().join(f), "--config"),
        (None, Some(d)) => (root().join(d).join("config.json"), "--cbdir"),
        (None, None) => (root().join("config/default.json"), "--config"),
    };
    let text = std::fs::read_to_string(&source).expect("the config the command names");
    let mut config: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let mut transports = 0;
    for worker in config["workers"].as_array_mut().expect("workers") {
        for t in worker["transports"].as_array_mut().into_iter().flatten() {
            t["endpoint"]["port"] = 0.into();
            t["endpoint"]["interface"] = "127.0.0.1".into();
            transports += match t["paths"].as_object() {
                Some(paths) => paths.values().filter(|p| p["type"] == "websocket").count(),
                None => 1,
            };
        }
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("readme-router-{n}"));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let copy = dir.join("config.json");
    std::fs::write(&copy, config.to_string()).expect("the copy");
    let target = if flag == "--cbdir" { &dir } else { &copy };
    let target = target.display().to_string();
    (with(&line.args, flag, &target), transports)
}

/// A router command: validated (`--check`), or started on free ports until it is ready to
/// serve every transport, joined by a client, and stopped with Ctrl-C.
async fn run_router(line: Line, n: usize) {
    if line.args.iter().any(|a| a == "--check") {
        let out = command(&line, &line.args).output().expect("runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_ok(&line, out.status, &text);
        return;
    }
    let (args, transports) = on_free_ports(&line, n);
    // The copy of a config that reads the operator's ticket from the environment needs it (the
    // embedded default, which the command may have meant, makes one up instead).
    let mut child = command(&line, &args)
        .env("WAMPSTAT_OPERATOR_TICKET", "the README test's ticket")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the router starts");
    let rx = lines_of(child.stdout.take().expect("piped"));
    let ready = |l: &String| l.split("ready: ").nth(1).map(|u| u.trim().to_owned());
    let seen = lines_until(&rx, &line.text, |seen| {
        seen.iter().filter_map(ready).count() == transports
    });
    for url in seen.iter().filter_map(ready) {
        let s = wamp::Session::join(&url, "realm1", wamp::SessionOptions::default())
            .await
            .unwrap_or_else(|e| panic!("`{}`: cannot join at {url}: {e}", line.text));
        s.leave("wamp.close.normal").await.expect("GOODBYE");
    }
    interrupt(&child);
    let status = wait(child, &line.text);
    assert_ok(&line, status, &seen.join("\n"));
}

#[test]
fn every_readme_command_is_run_or_said_why_not() {
    let all = readme_commands();
    assert!(all.len() >= 20, "the README's commands: {all:#?}");
    for (start, why) in NOT_RUN {
        assert!(
            all.iter().any(|c| c.starts_with(start)),
            "NOT_RUN lists {start:?} ({why}), which the README no longer has"
        );
    }
    // Each of the others is one this test knows how to run.
    let lines = runnable();
    for p in [Program::Router, Program::Monitor, Program::Loadgen] {
        assert!(lines.iter().any(|l| l.program == p), "no {p:?} command");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_router_commands_run() {
    let lines: Vec<Line> = runnable()
        .into_iter()
        .filter(|l| l.program == Program::Router)
        .collect();
    assert!(lines.len() >= 6, "{lines:#?}");
    for (n, line) in lines.into_iter().enumerate() {
        eprintln!("running `{}`", line.text);
        run_router(line, n).await;
    }
}

/// A client command against `router`; returns its exit status and output.
fn run_client(line: &Line, router: &Router) -> (ExitStatus, String) {
    match &line.program {
        Program::Loadgen => {
            let mut args = pointed_at(&line.args, router, Transport::Rs);
            if !args.iter().any(|a| a == "--help") {
                args = with(&args, "--duration", "500ms");
            }
            let out = command(line, &args).output().expect("runs");
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            (out.status, text)
        }
        Program::Example(_) => {
            let args = with(
                &pointed_at(&line.args, router, Transport::Rs),
                "--duration",
                "500ms",
            );
            let mut child = spawn(line, &args);
            let errors = lines_of(child.stderr.take().expect("piped"));
            let status = wait(child, &line.text);
            (status, errors.try_iter().collect::<Vec<_>>().join("\n"))
        }
        Program::Monitor if line.args.iter().any(|a| a == "--once") => {
            let args = pointed_at(&line.args, router, Transport::Ws);
            let out = command(line, &args).output().expect("runs");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(text.contains("SESSION"), "`{}`: {text}", line.text);
            (out.status, text + &String::from_utf8_lossy(&out.stderr))
        }
        Program::Monitor if line.args.iter().any(|a| a == "--plain" || a == "--json") => {
            monitor_lines(line, router)
        }
        Program::Monitor => dashboard(line, router),
        Program::Router => unreachable!("router commands run on their own"),
    }
}

/// `--plain` / `--json`: runs until it printed the join of a session this test opens, then
/// Ctrl-C.
fn monitor_lines(line: &Line, router: &Router) -> (ExitStatus, String) {
    let args = pointed_at(&line.args, router, Transport::Ws);
    let mut child = spawn(line, &args);
    let rx = lines_of(child.stdout.take().expect("piped"));
    // Sessions come and go until the monitor has printed one (at most 200, 20 a second): it
    // may join after the first.
    let rs = url(router, Transport::Rs);
    let printed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let joiner = {
        let printed = std::sync::Arc::clone(&printed);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                for _ in 0..200 {
                    if printed.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    if let Ok(s) = wamp::Session::join(&rs, "realm1", Default::default()).await {
                        let _ = s.leave("wamp.close.normal").await;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        })
    };
    let seen = lines_until(&rx, &line.text, |seen| {
        seen.iter().any(|l| l.contains("join"))
    });
    printed.store(true, std::sync::atomic::Ordering::Relaxed);
    interrupt(&child);
    let status = wait(child, &line.text);
    joiner.join().expect("the joiner ends");
    (status, seen.join("\n"))
}

/// The dashboard, under a pseudo-terminal of 120×30: runs until it has drawn its header and
/// session table, then `q`.
fn dashboard(line: &Line, router: &Router) -> (ExitStatus, String) {
    let args = if line.args.iter().any(|a| a == "--demo") {
        line.args.clone()
    } else {
        pointed_at(&line.args, router, Transport::Ws)
    };
    let mut shell = format!(
        "stty rows 30 cols 120; exec '{}'",
        binary(&line.program).display()
    );
    for a in &args {
        shell += &format!(" '{a}'");
    }
    let mut child = Command::new("script")
        .args(["--quiet", "--return", "--command", &shell, "/dev/null"])
        .current_dir(root())
        .envs(line.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs the dashboard under a pseudo-terminal");
    let mut stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut chunk) {
            if n == 0 || tx.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + LIMIT;
    let mut screen = Vec::new();
    let drawn = |s: &[u8]| {
        let s = String::from_utf8_lossy(s);
        // The table's column titles (or its empty text) and the connection state.
        s.contains("wampstat")
            && (s.contains("SESSION") || s.contains("no sessions yet"))
            && s.contains("connected")
    };
    while !drawn(&screen) {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(bytes) => screen.extend(bytes),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "`{}`: the dashboard did not draw in time:\n{}",
                    line.text,
                    String::from_utf8_lossy(&screen)
                );
            }
        }
    }
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(b"q").expect("the key reaches the terminal");
    stdin.flush().expect("flushed");
    drop(stdin);
    let status = wait(child, &line.text);
    (status, String::from_utf8_lossy(&screen).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_client_commands_run_against_a_router() {
    let router = start().await;
    let lines: Vec<Line> = runnable()
        .into_iter()
        .filter(|l| l.program != Program::Router)
        .collect();
    assert!(lines.len() >= 15, "{lines:#?}");
    let router = std::sync::Arc::new(router);
    for line in lines {
        eprintln!("running `{}`", line.text);
        let r = std::sync::Arc::clone(&router);
        let l = line.clone();
        let (status, output) = tokio::task::spawn_blocking(move || run_client(&l, &r))
            .await
            .expect("the command ran");
        assert_ok(&line, status, &output);
    }
    if let Ok(router) = std::sync::Arc::try_unwrap(router) {
        router.shutdown().await;
    }
}
