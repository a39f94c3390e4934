//! **[ours]** A cluster of `wamp-router` processes over nats-server (issue 17, the foundation):
//! three nodes on 127.0.0.1 see each other in `--cluster-status` and `wampstat.cluster.status`
//! with their session counts; a node killed with SIGKILL is declared dead by the survivors
//! within `node_timeout_ms` and a margin; without NATS the nodes go on serving their local
//! sessions (and a node can start), and when nats-server is back on its port the heartbeats
//! resume. A router without a `cluster` block never touches NATS.
//!
//! Needs nats-server (`WAMPSTAT_NATS_SERVER` or `PATH`); skipped with a printed line without
//! it, unless `WAMPSTAT_REQUIRE_NATS=1`. Every wait is bounded; every process is killed by its
//! PID when the test ends on any path.

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::child::RouterProcess;
use common::nats::{NATS_TOKEN, NatsServer, nats_server_or_skip};
use common::*;
use wamp::{Dict, Payload, Serializer, Session, Value};

/// The nodes' heartbeat interval in these tests.
const HEARTBEAT_MS: u64 = 200;
/// The nodes' `node_timeout_ms` in these tests.
const NODE_TIMEOUT_MS: u64 = 1000;
/// How much later than `node_timeout_ms` a dead node may be noticed: one sweep (a tenth of
/// the timeout), the poll, and a loaded 2-core machine.
const MARGIN: Duration = Duration::from_millis(1500);

/// The cluster block of node `node` on the server at `url`, its token from `NATS_TOKEN`.
fn cluster_block(node: &str, url: &str) -> serde_json::Value {
    serde_json::json!({
        "node": node,
        "nats": {"url": url, "token": "${NATS_TOKEN}"},
        "subject_prefix": "wampstat-test",
        "heartbeat_ms": HEARTBEAT_MS,
        "node_timeout_ms": NODE_TIMEOUT_MS,
    })
}

/// Starts node `node` of the cluster on `url`.
fn start_node(node: &str, url: &str) -> RouterProcess {
    let block = cluster_block(node, url);
    RouterProcess::start_with_env(
        &format!("cluster-{node}"),
        &[],
        &[("NATS_TOKEN", NATS_TOKEN)],
        |c| c["cluster"] = block,
    )
}

/// What `wamp-router --cluster-status --config FILE` did: whether it exited 0, its stdout and
/// its stderr. Killed by its PID if it takes longer than 15 s.
fn cluster_status(config: &Path) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wamp-router"))
        .arg("--cluster-status")
        .arg("--config")
        .arg(config)
        .env("NATS_TOKEN", NATS_TOKEN)
        // The file's other secrets: the whole file is loaded, as the router loads it.
        .env("WAMPSTAT_OPERATOR_TICKET", common::child::CHILD_TICKET)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wamp-router --cluster-status starts");
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().expect("its status").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wamp-router --cluster-status did not exit within 15 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("its output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The table `--cluster-status` printed: one map (column → cell) per node, by node name.
fn table(stdout: &str) -> HashMap<String, HashMap<String, String>> {
    let mut lines = stdout.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    lines
        .map(|l| {
            let row: HashMap<String, String> = header
                .iter()
                .zip(l.split_whitespace())
                .map(|(h, c)| ((*h).to_owned(), c.to_owned()))
                .collect();
            (row.get("NODE").cloned().unwrap_or_default(), row)
        })
        .collect()
}

/// The status table, asserting that the command succeeded.
fn status_table(config: &Path) -> HashMap<String, HashMap<String, String>> {
    let (ok, stdout, stderr) = cluster_status(config);
    assert!(ok, "--cluster-status failed: {stderr}");
    table(&stdout)
}

/// `wampstat.cluster.status` called by `session`: one dict per node, by name.
async fn meta_status(session: &Session) -> HashMap<String, Dict> {
    let result = within(
        "wampstat.cluster.status",
        session.call("wampstat.cluster.status", Payload::empty(), Dict::new()),
    )
    .await
    .expect("wampstat.cluster.status answers");
    let args = result.payload.args().expect("arguments");
    let Some(Value::List(rows)) = args.first() else {
        panic!("a list of nodes, got {args:?}");
    };
    rows.iter()
        .filter_map(|r| match r {
            Value::Dict(d) => Some((
                d.get("node")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                d.clone(),
            )),
            _ => None,
        })
        .collect()
}

/// A string cell of a status dict.
fn field<'a>(d: &'a Dict, key: &str) -> &'a str {
    d.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Polls `f` every 50 ms until it returns `Some`, for at most `limit`; panics naming `what`.
async fn until<T, F: Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `process` printed a line containing `text` (reads what it printed since the last
/// look into `seen`).
fn printed(process: &RouterProcess, seen: &mut Vec<String>, text: &str) -> bool {
    seen.extend(process.output());
    seen.iter().any(|l| l.contains(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_see_each_other_lose_a_killed_one_and_outlive_nats() {
    let Some(bin) =
        nats_server_or_skip("three_nodes_see_each_other_lose_a_killed_one_and_outlive_nats")
    else {
        return;
    };
    let begun = Instant::now();
    let mut nats = NatsServer::start(&bin, "three-nodes");
    let url = nats.url();
    let a = start_node("node-a", &url);
    let b = start_node("node-b", &url);
    let c = start_node("node-c", &url);

    // All three in --cluster-status, alive, without sessions.
    let rows = until(
        "three nodes in --cluster-status",
        Duration::from_secs(10),
        || async {
            let rows = status_table(&a.config);
            let all = ["node-a", "node-b", "node-c"]
                .iter()
                .all(|n| rows.get(*n).is_some_and(|r| r["STATE"] == "alive"));
            all.then_some(rows)
        },
    )
    .await;
    for n in ["node-a", "node-b", "node-c"] {
        assert_eq!(rows[n]["SESSIONS"], "0", "{rows:?}");
        assert_eq!(
            rows[n]["CONFIG_HASH"], rows["node-a"]["CONFIG_HASH"],
            "same realms"
        );
    }

    // A session on node-a: its details name the node, and node-a's count goes to 1.
    // The operator: wampstat.cluster.status is the operator's in the default config.
    let on_a = a.join_operator(Serializer::Json).await;
    let details = within(
        "wamp.session.get",
        on_a.call(
            "wamp.session.get",
            Payload::from_args(vec![on_a.id().into()]),
            Dict::new(),
        ),
    )
    .await
    .expect("wamp.session.get answers");
    let args = details.payload.args().expect("arguments");
    let node = args
        .first()
        .and_then(|d| d.get("authextra"))
        .and_then(|x| x.get("x_cb_node"))
        .and_then(Value::as_str);
    assert_eq!(node, Some("node-a"), "{args:?}");
    let rows = until(
        "node-a's session in --cluster-status",
        Duration::from_secs(10),
        || async {
            let rows = status_table(&b.config);
            (rows.get("node-a").is_some_and(|r| r["SESSIONS"] == "1")).then_some(rows)
        },
    )
    .await;
    assert_eq!(rows["node-b"]["SESSIONS"], "0");
    assert_eq!(rows["node-c"]["SESSIONS"], "0");

    // The meta procedure: node-a first (itself), the others alive.
    let on_b = b.join_operator(Serializer::Msgpack).await;
    let view = until(
        "node-a's view of three nodes",
        Duration::from_secs(5),
        || async {
            let v = meta_status(&on_a).await;
            (v.len() == 3 && v.values().all(|d| field(d, "state") == "alive")).then_some(v)
        },
    )
    .await;
    assert_eq!(view["node-a"].get("self"), Some(&Value::Bool(true)));
    assert_eq!(
        view["node-a"].get("sessions").and_then(Value::as_u64),
        Some(1)
    );
    assert_eq!(view["node-b"].get("self"), Some(&Value::Bool(false)));

    // node-c killed: both survivors declare it dead within node_timeout_ms and a margin.
    let killed = Instant::now();
    c.signal("KILL");
    let limit = Duration::from_millis(NODE_TIMEOUT_MS) + MARGIN;
    for (name, session) in [("node-a", &on_a), ("node-b", &on_b)] {
        until(&format!("{name} to declare node-c dead"), limit, || async {
            let v = meta_status(session).await;
            (v.get("node-c").is_some_and(|d| field(d, "state") == "dead")).then_some(())
        })
        .await;
    }
    let noticed = killed.elapsed();
    assert!(noticed <= limit, "node-c declared dead after {noticed:?}");
    assert!(
        noticed >= Duration::from_millis(NODE_TIMEOUT_MS - HEARTBEAT_MS),
        "declared dead too early, after {noticed:?}"
    );
    let mut a_said = Vec::new();
    assert!(
        printed(
            &a,
            &mut a_said,
            "node node-c left the cluster (no heartbeat for "
        ),
        "{a_said:#?}"
    );
    drop(c);

    // nats-server stopped: the nodes serve their local sessions, and a node can still start.
    nats.stop();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !printed(&a, &mut a_said, "lost the connection to NATS") {
        assert!(
            Instant::now() < deadline,
            "node-a did not notice NATS is gone: {a_said:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut sub = subscribe(&on_a, "com.cluster.local", Dict::new()).await;
    let publisher = join_url(&a.rs, "realm1", Serializer::Cbor)
        .await
        .expect("joins node-a");
    publisher
        .publish(
            "com.cluster.local",
            Payload::from_args(vec!["still here".into()]),
            ack(),
        )
        .await
        .expect("published");
    let event = next_event(&mut sub).await;
    assert_eq!(
        event.payload.args().expect("arguments"),
        vec![Value::from("still here")]
    );
    let count = within("wamp.session.count", call(&publisher, "wamp.session.count"))
        .await
        .expect("answers");
    assert_eq!(
        count.payload.args().expect("arguments"),
        vec![Value::from(2u64)]
    );
    let d = start_node("node-d", &url);
    let on_d = d.join_operator(Serializer::Json).await;
    let alone = meta_status(&on_d).await;
    assert_eq!(field(&alone["node-d"], "state"), "alive");
    let (ok, _, stderr) = cluster_status(&a.config);
    assert!(!ok, "--cluster-status must fail without NATS");
    assert!(
        stderr.contains(&format!("cannot connect to NATS at {url}")),
        "{stderr}"
    );
    assert!(
        !stderr.contains(NATS_TOKEN),
        "the token never shows: {stderr}"
    );

    // nats-server back on its port: heartbeats resume, node-d joins.
    nats.restart();
    assert_eq!(nats.url(), url);
    let rows = until(
        "heartbeats after NATS is back",
        Duration::from_secs(15),
        || async {
            let rows = status_table(&a.config);
            let fresh = |n: &str| {
                rows.get(n).is_some_and(|r| {
                    r["STATE"] == "alive"
                        && r["LAST_HB_MS"]
                            .parse::<u64>()
                            .is_ok_and(|ms| ms < NODE_TIMEOUT_MS)
                })
            };
            (fresh("node-a") && fresh("node-b") && fresh("node-d")).then_some(rows)
        },
    )
    .await;
    assert_eq!(rows["node-a"]["SESSIONS"], "2", "{rows:?}");
    assert!(
        !rows.contains_key("node-c"),
        "a dead node does not heartbeat: {rows:?}"
    );
    until(
        "node-a to see node-b and node-d again",
        Duration::from_secs(10),
        || async {
            let v = meta_status(&on_a).await;
            let alive = |n: &str| v.get(n).is_some_and(|d| field(d, "state") == "alive");
            (alive("node-b") && alive("node-d")).then_some(())
        },
    )
    .await;
    println!("three_nodes…: {:?} in all", begun.elapsed());
}

#[tokio::test]
async fn two_processes_with_one_node_name_are_told_apart_and_warned_about() {
    let Some(bin) =
        nats_server_or_skip("two_processes_with_one_node_name_are_told_apart_and_warned_about")
    else {
        return;
    };
    let nats = NatsServer::start(&bin, "one-name");
    let first = start_node("twin", &nats.url());
    let second = start_node("twin", &nats.url());
    let loud = "ANOTHER PROCESS USES THIS NODE'S NAME \"twin\"";
    let (mut first_said, mut second_said) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(printed(&first, &mut first_said, loud) && printed(&second, &mut second_said, loud)) {
        assert!(
            Instant::now() < deadline,
            "both must warn: {first_said:#?} {second_said:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Once each, not at every heartbeat.
    tokio::time::sleep(Duration::from_millis(3 * HEARTBEAT_MS)).await;
    printed(&first, &mut first_said, loud);
    assert_eq!(first_said.iter().filter(|l| l.contains(loud)).count(), 1);
}

#[tokio::test]
async fn a_router_without_a_cluster_block_never_touches_nats() {
    let router = RouterProcess::start("no-cluster", &[]);
    // Anonymous may not ask (the operator's, in the embedded default); the operator is told
    // there is no cluster.
    let anonymous = join_url(&router.ws, "realm1", Serializer::Json)
        .await
        .expect("joins");
    assert_wamp_error(
        within(
            "wampstat.cluster.status",
            call(&anonymous, "wampstat.cluster.status"),
        )
        .await,
        "wamp.error.not_authorized",
    );
    let session = router.join_operator(Serializer::Json).await;
    assert_wamp_error(
        within(
            "wampstat.cluster.status",
            call(&session, "wampstat.cluster.status"),
        )
        .await,
        "wampstat.error.not_clustered",
    );
    let (ok, stdout, stderr) = cluster_status(&router.config);
    assert!(!ok);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("has no \"cluster\" block"), "{stderr}");
    // Not a word about a cluster or NATS: no cluster task ran.
    let said = router.output();
    assert!(!said.is_empty(), "it said it is ready");
    for line in &said {
        let l = line.to_lowercase();
        assert!(!l.contains("cluster") && !l.contains("nats"), "{line}");
    }
}
