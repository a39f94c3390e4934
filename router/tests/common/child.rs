//! The `wamp-router` binary as a child process, for the tests that measure its memory or send it
//! signals: started on free loopback ports from a copy of `config/default.json`, killed by its
//! PID when the test ends on any path. The monitor's tests include this file too
//! (`monitor-tui/tests/common/mod.rs`).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The operator's ticket the child is given.
pub const CHILD_TICKET: &str = "the child router's ticket";

/// A running `wamp-router`; dropping it kills the process (SIGKILL to its PID) if it still runs.
pub struct RouterProcess {
    child: Child,
    /// Its WebSocket URL (`ws://127.0.0.1:PORT/ws`).
    pub ws: String,
    /// Its RawSocket URL (`rs://127.0.0.1:PORT`).
    pub rs: String,
    /// Its output lines (stdout and stderr), read by threads of their own.
    pub lines: mpsc::Receiver<String>,
    /// Its configuration file.
    pub config: PathBuf,
}

impl RouterProcess {
    /// Joins `realm1` on its RawSocket as the operator (authid and authrole `operator`, the
    /// ticket [`CHILD_TICKET`]) with `serializer`.
    pub async fn join_operator(&self, serializer: wamp::Serializer) -> wamp::Session {
        wamp::Session::join(
            &self.rs,
            "realm1",
            wamp::SessionOptions {
                serializer,
                login: wamp::auth::Login {
                    authid: Some("operator".into()),
                    credentials: wamp::auth::Credentials::Ticket(CHILD_TICKET.into()),
                },
                ..wamp::SessionOptions::default()
            },
        )
        .await
        .expect("the operator joins")
    }

    /// Starts the router from the default config on free ports, with `args`, and waits (10 s at
    /// most) until it says both transports are ready. `name` names its scratch folder.
    pub fn start(name: &str, args: &[&str]) -> RouterProcess {
        RouterProcess::start_configured(name, args, |_| {})
    }

    /// [`RouterProcess::start`] with the config (JSON) changed by `configure` first.
    pub fn start_configured(
        name: &str,
        args: &[&str],
        configure: impl FnOnce(&mut serde_json::Value),
    ) -> RouterProcess {
        RouterProcess::start_with_env(name, args, &[], configure)
    }

    /// [`RouterProcess::start_configured`] with the environment variables `env` set too.
    pub fn start_with_env(
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
        configure: impl FnOnce(&mut serde_json::Value),
    ) -> RouterProcess {
        let default = include_str!("../../../config/default.json");
        let mut config: serde_json::Value = serde_json::from_str(default).expect("JSON");
        configure(&mut config);
        for worker in config["workers"].as_array_mut().expect("workers") {
            for t in worker["transports"].as_array_mut().expect("transports") {
                t["endpoint"]["port"] = 0.into();
                t["endpoint"]["interface"] = "127.0.0.1".into();
            }
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        let file = dir.join("config.json");
        std::fs::write(&file, config.to_string()).expect("the config");
        let mut child = Command::new(router_binary())
            .arg("--config")
            .arg(&file)
            .args(args)
            .env("WAMPSTAT_OPERATOR_TICKET", CHILD_TICKET)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn,wamp_router=info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the router starts");
        let (tx, lines) = mpsc::channel();
        forward(child.stdout.take().expect("piped"), tx.clone());
        forward(child.stderr.take().expect("piped"), tx);
        let mut router = RouterProcess {
            child,
            ws: String::new(),
            rs: String::new(),
            lines,
            config: file,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while router.ws.is_empty() || router.rs.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = router
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("the router is not ready in time: {seen:#?}"));
            if let Some(url) = line.split("ready: ").nth(1).map(str::trim) {
                if url.starts_with("ws://") {
                    router.ws = url.to_owned();
                } else if url.starts_with("rs://") {
                    router.rs = url.to_owned();
                }
            }
            seen.push(line);
        }
        router
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The host:port of its RawSocket listener.
    pub fn rs_addr(&self) -> String {
        self.rs.trim_start_matches("rs://").to_owned()
    }

    /// The host:port of its WebSocket listener.
    pub fn ws_addr(&self) -> String {
        self.ws
            .trim_start_matches("ws://")
            .trim_end_matches("/ws")
            .to_owned()
    }

    /// Its resident memory now, in KiB (`VmRSS` in /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the router's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// How many file descriptors it has open now (/proc/PID/fd).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .expect("the router's /proc fd")
            .count()
    }

    /// Sends it `signal` (e.g. `TERM`) with the system's `kill`, by its PID.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(ok.success(), "kill -{signal} {}", self.pid());
    }

    /// Waits (at most `limit`) for it to exit; `None` if it still runs.
    pub fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("its status") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The lines it printed so far.
    pub fn output(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Waits (20 s at most) until it has printed a line containing `text`, collecting what it
    /// prints into `seen`; returns that line.
    pub async fn until_printed(&self, seen: &mut Vec<String>, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            seen.extend(self.output());
            if let Some(l) = seen.iter().find(|l| l.contains(text)) {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "the node did not print {text:?} within 20 s: {seen:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RouterProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SIGKILL to its PID, then reap it.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `wamp-router` binary: Cargo's own path in the router's tests; in another package's tests
/// (the monitor's include this file), the one beside that package's binary, where
/// `cargo test --workspace` (the README's test command) builds it too.
fn router_binary() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_wamp-router") {
        return path.into();
    }
    let Some(beside) = option_env!("CARGO_BIN_EXE_wamp-monitor") else {
        panic!("only the router's and the monitor's tests know where the binaries are");
    };
    let path = Path::new(beside).with_file_name("wamp-router");
    assert!(
        path.exists(),
        "{} is not built: run the README's test command, `cargo test --workspace`, or \
         `cargo build -p wamp-router --bin wamp-router` first",
        path.display()
    );
    path
}

/// Sends `from`'s lines to `tx`, from a thread of its own (so that the child never blocks on
/// a full pipe).
pub fn forward(from: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

/// The soft limit on open files of this process (the child inherits it), from /proc.
pub fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// Polls `f` (every 20 ms, for at most `limit`) until it returns `Some`; `None` on time-out.
pub async fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
