//! A real Prometheus server scrapes the router's metrics path, and every query of the Grafana
//! dashboard (config/grafana/wampstat.json) and of the README's `promql` blocks is sent to it:
//! each must parse, and each over series the router already exports must return data. Also
//! `promtool check config` on config/prometheus/prometheus.yml.
//!
//! Without `prometheus` (or `promtool`) on PATH the tests print a line and pass, unless
//! `WAMPSTAT_REQUIRE_PROMETHEUS` is set (CI sets it when it could install them).

mod common;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::scrape::{add_metrics_path, listener_addr};
use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wamp::{Payload, Serializer};

/// The job name in the generated config, and the dashboard's `$job`.
const JOB: &str = "wampstat";

/// How long Prometheus gets to start, scrape and have the data the test waits for.
const DEADLINE: Duration = Duration::from_secs(30);

/// The workspace root: the config files are relative to it.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

/// Whether `program` runs; if not, whether the test may skip (panics when it may not).
fn available(program: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("WAMPSTAT_REQUIRE_PROMETHEUS").is_none(),
            "{program} is not on PATH and WAMPSTAT_REQUIRE_PROMETHEUS is set"
        );
        println!("{program} is not on PATH: skipped (set WAMPSTAT_REQUIRE_PROMETHEUS to fail)");
    }
    found
}

/// A Prometheus server in a temporary directory; dropping it kills the process (by its PID)
/// and removes the directory, also when an assertion failed.
struct Prometheus {
    child: Child,
    dir: PathBuf,
    addr: String,
}

impl Prometheus {
    /// Starts `prometheus` scraping `target` (host:port) at `/metrics` every second.
    fn start(target: &str) -> Prometheus {
        let dir = std::env::temp_dir().join(format!(
            "wampstat-prometheus-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_nanos()
        ));
        std::fs::create_dir_all(dir.join("data")).expect("creates the temporary directory");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: {JOB}\n    metrics_path: /metrics\n    \
             static_configs:\n      - targets: [\"{target}\"]\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("writes the config");
        // Prometheus needs a port number: take a free one and release it for it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log = File::create(dir.join("prometheus.log")).expect("creates the log");
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log"))
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        Prometheus { child, dir, addr }
    }

    /// What Prometheus logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// Panics (with its log) if Prometheus has exited.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("waits") {
            panic!("prometheus exited ({status}):\n{}", self.log());
        }
    }

    /// `GET path` on Prometheus's HTTP API: the decoded JSON body, or `None` if it does not
    /// answer (yet) or answers something else than JSON.
    async fn get(&self, path: &str) -> Option<Value> {
        let mut s = tokio::net::TcpStream::connect(&self.addr).await.ok()?;
        // HTTP/1.0: the answer is not chunked, and the connection closes after it.
        let request = format!("GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr);
        s.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer))
            .await
            .ok()?
            .ok()?;
        let answer = String::from_utf8(answer).ok()?;
        let (_, body) = answer.split_once("\r\n\r\n")?;
        serde_json::from_str(body).ok()
    }

    /// The instant query `expr`'s JSON answer (`None` while Prometheus does not answer).
    async fn query(&self, expr: &str) -> Option<Value> {
        self.get(&format!("/api/v1/query?query={}", percent_encode(expr)))
            .await
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `s` percent-encoded for a URL's query string.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The result vector of a successful instant query.
fn result(answer: &Value) -> &[Value] {
    answer["data"]["result"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The value of a vector sample, as Prometheus prints it.
fn value(sample: &Value) -> &str {
    sample["value"][1].as_str().unwrap_or_default()
}

/// Every `expr` in the dashboard, its variables replaced as Grafana would for one realm.
fn dashboard_queries(realm: &str) -> Vec<String> {
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("expr", Value::String(e)) => out.push(e.clone()),
                        _ => collect(v, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let path = root().join("config/grafana/wampstat.json");
    let text = std::fs::read_to_string(&path).expect("reads the dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    collect(&dashboard["panels"], &mut exprs);
    assert!(exprs.len() > 10, "the dashboard's queries: {exprs:?}");
    exprs
        .into_iter()
        .map(|e| {
            let e = e
                .replace("$__rate_interval", "5s")
                .replace("$__interval", "5s")
                .replace("$realm", realm)
                .replace("$job", JOB);
            assert!(!e.contains('$'), "a variable the test does not know: {e}");
            e
        })
        .collect()
}

/// The queries in the README's `promql` blocks (one a line; `#` lines are comments).
fn readme_queries() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("README.md")).expect("reads the README");
    let mut queries = Vec::new();
    let mut in_promql = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_promql = !in_promql && line.trim() == "```promql";
        } else if in_promql && !line.trim().is_empty() && !line.starts_with('#') {
            queries.push(line.trim().to_owned());
        }
    }
    assert!(!queries.is_empty(), "the README has promql queries");
    queries
}

/// The metric names an expression reads.
fn metric_names(expr: &str) -> BTreeSet<&str> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.starts_with("wamp_") || w.starts_with("process_"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_router_and_runs_the_dashboard_queries() {
    if !available("prometheus") {
        return;
    }
    let started = Instant::now();
    let router = start_configured(add_metrics_path).await;
    let target = listener_addr(&router, true).to_string();
    let session = join(&router, Transport::Ws, Serializer::Json).await;
    session
        .publish("com.example.scraped", Payload::empty(), ack())
        .await
        .expect("acknowledged");

    let mut prometheus = Prometheus::start(&target);
    let deadline = Instant::now() + DEADLINE;
    let poll = Duration::from_millis(200);

    // Until a scrape succeeded and shows the session this test joined.
    let up = format!("up{{job=\"{JOB}\"}}");
    loop {
        prometheus.assert_running();
        let up_now = prometheus.query(&up).await;
        let sessions = prometheus.query("wamp_sessions{realm=\"realm1\"}").await;
        let ready =
            |a: &Option<Value>| a.as_ref().and_then(|a| result(a).first().map(value)) == Some("1");
        if ready(&up_now) && ready(&sessions) {
            let s = &result(sessions.as_ref().expect("answered"))[0];
            assert_eq!(s["metric"]["job"], JOB, "{s}");
            assert_eq!(s["metric"]["instance"], target.as_str(), "{s}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no scrape with wamp_sessions 1 within {DEADLINE:?}: up {up_now:?}, \
             wamp_sessions {sessions:?}\n{}",
            prometheus.log()
        );
        tokio::time::sleep(poll).await;
    }

    // The names of the series Prometheus has: dashboard queries over these must give data.
    let names = prometheus
        .get("/api/v1/label/__name__/values")
        .await
        .expect("the label values");
    let names: BTreeSet<&str> = names["data"]
        .as_array()
        .expect("names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(names.contains("wamp_messages_received_total"), "{names:?}");

    let mut queries = dashboard_queries("realm1");
    queries.extend(readme_queries());
    let mut pending: Vec<&String> = queries.iter().collect();
    loop {
        prometheus.assert_running();
        let mut still = Vec::new();
        for expr in pending {
            let answer = prometheus
                .query(expr)
                .await
                .unwrap_or_else(|| panic!("no answer to {expr}\n{}", prometheus.log()));
            assert_eq!(answer["status"], "success", "{expr}: {answer}");
            let exported = metric_names(expr).iter().all(|n| names.contains(n));
            if exported && result(&answer).is_empty() {
                // A rate needs two scrapes inside its range: ask again.
                still.push(expr);
            }
        }
        if still.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no data within {DEADLINE:?} for these queries over exported series: {still:#?}"
        );
        pending = still;
        tokio::time::sleep(poll).await;
    }
    println!(
        "{} dashboard and README queries parsed; {} of them over exported series gave data; {:?}",
        queries.len(),
        queries
            .iter()
            .filter(|e| metric_names(e).iter().all(|n| names.contains(n)))
            .count(),
        started.elapsed()
    );
    drop(prometheus);
    drop(session);
}

#[test]
fn promtool_accepts_the_example_prometheus_config() {
    if !available("promtool") {
        return;
    }
    let path = root().join("config/prometheus/prometheus.yml");
    let out = Command::new("promtool")
        .arg("check")
        .arg("config")
        .arg(&path)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check config {}: {}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
