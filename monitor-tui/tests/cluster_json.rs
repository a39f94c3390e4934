//! **[ours]** `wamp-monitor --json` on one node of a cluster (issue 17): nats-server and three
//! `wamp-router` processes (node-a, node-b, node-c) on 127.0.0.1, the monitor following node A.
//! A session on node C that joins, publishes and leaves is printed by the monitor on A as
//! `wamp.session.on_join` (naming node-c in `authextra.x_cb_node`), `on_stats` (one of a cycle
//! its publications ended) and `on_leave`; a session on C when C is killed with SIGKILL is
//! printed as left (once) within 5 s, node A telling it after the node timeout (1 s).
//!
//! Needs nats-server (`WAMPSTAT_NATS_SERVER` or `PATH`); skipped with a printed line without
//! it, unless `WAMPSTAT_REQUIRE_NATS=1`. Needs the `wamp-router` binary beside the monitor's
//! (`cargo test --workspace` builds it; `cargo build -p wamp-router --bin wamp-router`
//! otherwise). No sleep synchronises anything: each wait polls, bounded. Every process is
//! killed by its PID when the test ends on any path.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::child::{RouterProcess, forward, poll};
use common::nats::{NatsServer, nats_server_or_skip, start_cluster_node_with_prefix, until_alive};
use serde_json::Value as Json;
use wamp::{Payload, Serializer, Session, SessionOptions, dict};

/// `wamp-monitor --json` as a child process; dropping it kills it by its PID.
struct Monitor {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line it printed so far, parsed.
    printed: Vec<Json>,
}

impl Monitor {
    /// Starts it following `url` (anonymously: the default config lets that role subscribe to
    /// `wamp.session.*`) and waits until it says it is connected (it has subscribed then).
    async fn start(url: &str) -> Monitor {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wamp-monitor"))
            .args(["--json", "--url", url])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the monitor starts");
        let (tx, lines) = mpsc::channel();
        forward(child.stdout.take().expect("piped"), tx);
        let mut monitor = Monitor {
            child,
            lines,
            printed: Vec::new(),
        };
        monitor
            .until("connected", Duration::from_secs(10), |v| {
                v.get("connected").is_some()
            })
            .await;
        monitor
    }

    /// Reads what it printed since the last call; every line must be a JSON object.
    fn read(&mut self) {
        for l in self.lines.try_iter() {
            let v: Json =
                serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            assert!(v.is_object(), "{l}");
            self.printed.push(v);
        }
    }

    /// The first line it printed (so far) that `wanted` accepts.
    fn find(&mut self, wanted: impl Fn(&Json) -> bool) -> Option<Json> {
        self.read();
        self.printed.iter().find(|v| wanted(v)).cloned()
    }

    /// The first line it printed that `wanted` accepts, waiting `limit` at most (else the test
    /// fails, naming `what` and showing what it printed).
    async fn until(&mut self, what: &str, limit: Duration, wanted: impl Fn(&Json) -> bool) -> Json {
        if let Some(v) = poll(limit, || self.find(&wanted)).await {
            return v;
        }
        panic!(
            "the monitor did not print {what} within {limit:?}; it printed {:#?}",
            self.printed
        );
    }

    /// The meta event on `topic` of session `id` (see [`event_of`]), waiting 5 s at most.
    async fn event(&mut self, topic: &str, id: u64) -> Json {
        let what = format!("{topic} of session {id}");
        self.until(&what, Duration::from_secs(5), |v| event_of(v, topic, id))
            .await
    }

    /// How many of its lines `wanted` accepts.
    fn count(&mut self, wanted: impl Fn(&Json) -> bool) -> usize {
        self.read();
        self.printed.iter().filter(|v| wanted(v)).count()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `v` is a meta event on `topic` whose first argument is session `id`, or a dict of
/// it (`on_join`, `on_stats`).
fn event_of(v: &Json, topic: &str, id: u64) -> bool {
    let first = &v["args"][0];
    v["topic"] == topic && (first.as_u64() == Some(id) || first["session"].as_u64() == Some(id))
}

/// Whether `v` is an `on_stats` of session `id` for a cycle that its traffic ended (the
/// default config's trigger: 10 rated messages), not its join or its leave.
fn traffic_stats_of(v: &Json, id: u64) -> bool {
    event_of(v, "wamp.session.on_stats", id)
        && v["args"][1]["rated_messages"]
            .as_u64()
            .is_some_and(|n| n >= 10)
}

/// Joins `realm1` at `url` anonymously (msgpack), within 10 s.
async fn join(url: &str) -> Session {
    let options = SessionOptions {
        serializer: Serializer::Msgpack,
        ..Default::default()
    };
    tokio::time::timeout(
        Duration::from_secs(10),
        Session::join(url, "realm1", options),
    )
    .await
    .expect("joined within 10 s")
    .expect("joins realm1")
}

/// Publishes 12 acknowledged events from `s`: 24 messages, enough to end a cycle.
async fn traffic(s: &Session) {
    for i in 0..12u64 {
        let publish = s.publish(
            "com.example.traffic",
            Payload::from_args(vec![i.into()]),
            dict! {"acknowledge" => true},
        );
        tokio::time::timeout(Duration::from_secs(5), publish)
            .await
            .expect("PUBLISHED within 5 s")
            .expect("published");
    }
}

/// Leaves within 5 s.
async fn leave(s: Session) {
    tokio::time::timeout(Duration::from_secs(5), s.leave("wamp.close.normal"))
        .await
        .expect("left within 5 s")
        .expect("leaves");
}

/// Starts node `node` of this test's cluster.
fn start_node(node: &str, url: &str) -> RouterProcess {
    start_cluster_node_with_prefix(
        "wampstat-monitor-json",
        &format!("monitor-cluster-json-{node}"),
        node,
        url,
        &[],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_on_node_a_shows_the_sessions_of_node_c_and_their_leave_when_c_dies() {
    let test = "json_on_node_a_shows_the_sessions_of_node_c_and_their_leave_when_c_dies";
    let Some(bin) = nats_server_or_skip(test) else {
        return;
    };
    let begun = Instant::now();
    let nats = NatsServer::start(&bin, "monitor-cluster-json");
    let url = nats.url();
    let a = start_node("node-a", &url);
    let b = start_node("node-b", &url);
    let c = start_node("node-c", &url);
    let mut monitor = Monitor::start(&a.ws).await;

    // Sessions join C, publish and leave until the monitor on A prints the on_stats of one: A's
    // heartbeat must first tell C that A wants them (200 ms), and A's NATS subscription for
    // its monitor must be in place. That session stays.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (visitor, id) = loop {
        assert!(
            Instant::now() < deadline,
            "no on_stats of a session on node C was printed on A within 20 s: {:#?}",
            monitor.printed
        );
        let s = join(&c.ws).await;
        let id = s.id();
        traffic(&s).await;
        let seen = poll(Duration::from_millis(300), || {
            monitor.find(|v| event_of(v, "wamp.session.on_stats", id))
        })
        .await;
        if seen.is_some() {
            break (s, id);
        }
        leave(s).await;
    };
    let crossed = begun.elapsed();
    let joined = monitor.event("wamp.session.on_join", id).await;
    assert_eq!(
        joined["args"][0]["authextra"]["x_cb_node"], "node-c",
        "on_join names the session's node: {joined}"
    );
    assert_eq!(joined["args"][0]["authrole"], "anonymous", "{joined}");
    // A cycle its traffic ended (now that C seals on_stats for A).
    traffic(&visitor).await;
    let stats = monitor
        .until(
            "an on_stats of the visitor's traffic",
            Duration::from_secs(5),
            |v| traffic_stats_of(v, id),
        )
        .await;
    assert_eq!(stats["args"][0]["realm"], "realm1", "{stats}");
    assert!(
        stats["args"][1]["messages"]
            .as_u64()
            .is_some_and(|n| n >= 10),
        "the cycle counted its messages: {stats}"
    );
    leave(visitor).await;
    monitor.event("wamp.session.on_leave", id).await;

    // Node C killed: its session that had not left is printed as left, by node A.
    let operator = a.join_operator(Serializer::Json).await;
    until_alive(&operator, "node-c").await;
    let doomed = join(&c.ws).await;
    let doomed_id = doomed.id();
    monitor.event("wamp.session.on_join", doomed_id).await;
    c.signal("KILL");
    let killed = Instant::now();
    monitor.event("wamp.session.on_leave", doomed_id).await;
    let took = killed.elapsed();
    // Not before A could have missed C's heartbeats (1 s after the last, which came at most a
    // heartbeat, 200 ms, before the kill; 500 ms leaves room for late heartbeats).
    assert!(
        took >= Duration::from_millis(500),
        "printed as left {took:?} after SIGKILL, before the node timeout (1 s)"
    );
    // Once, by the time a marker session of A's own has joined and left after it.
    let marker = join(&a.ws).await;
    let marker_id = marker.id();
    leave(marker).await;
    monitor.event("wamp.session.on_leave", marker_id).await;
    assert_eq!(
        monitor.count(|v| event_of(v, "wamp.session.on_leave", doomed_id)),
        1,
        "the killed node's session is printed as left once: {:#?}",
        monitor.printed
    );
    println!(
        "cluster_json: on_stats crossed {crossed:?} after the start; the killed node's session \
         printed as left {took:?} after SIGKILL (node timeout 1 s); {:?} in all",
        begun.elapsed()
    );
    drop(doomed);
    drop((monitor, operator, a, b, c, nats));
}
