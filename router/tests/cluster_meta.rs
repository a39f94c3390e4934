//! **[ours]** The session meta procedures answer for the whole cluster (issue 17): three
//! `wamp-router` processes over nats-server, sessions on every node, and an operator on node A
//! who calls `wamp.session.count` (with and without the authrole filter), `list`, `get` of a
//! session on C (its details name node-c), `wampstat.session.summary` and `stats` — each
//! answering for all three nodes — then `wamp.session.kill` of a session on C (it gets
//! GOODBYE with the caller's reason), `kill_by_authid` (the operators of B and C, never the
//! caller), `kill_by_authrole` and `kill_all` across nodes. Node C stopped (SIGSTOP) is named
//! silent in a count that comes after the 1 s deadline. With nats-server stopped, `count` answers for node A
//! alone, `get` answers for its own sessions, and `kill_all` and `get` of a session on B fail
//! with `wampstat.error.cluster_unavailable`.
//!
//! Needs nats-server (`WAMPSTAT_NATS_SERVER` or `PATH`); skipped with a printed line without
//! it, unless `WAMPSTAT_REQUIRE_NATS=1`. No sleep synchronises anything: the cluster is formed
//! when A's count reaches every node's sessions (polled, 20 s at most), a kill is over when the
//! victim's session has closed. Every process is killed by its PID when the test ends on any
//! path.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::child::{RouterProcess, poll};
use common::nats::{NatsServer, nats_server_or_skip, start_cluster_node};
use common::*;
use wamp::client::{CallResult, ClientError, Closed};
use wamp::{Dict, Id, Payload, Serializer, Session, Value, dict};

/// Starts node `node` of test `test` (its scratch folder of its own) on the NATS server at
/// `url`.
fn start_node(test: &str, node: &str, url: &str) -> RouterProcess {
    start_cluster_node(&format!("cluster-meta-{test}-{node}"), node, url, &[])
}

/// Joins `realm1` at `url` anonymously.
async fn anonymous(url: &str) -> Session {
    join_url(url, "realm1", Serializer::Json)
        .await
        .expect("joins realm1")
}

/// Calls `procedure` with `args` and `kwargs` from `session` (10 s at most).
async fn meta(
    session: &Session,
    procedure: &str,
    args: Vec<Value>,
    kwargs: Dict,
) -> Result<CallResult, ClientError> {
    within(
        procedure,
        session.call(procedure, Payload::new(args, kwargs), Dict::new()),
    )
    .await
}

/// The first argument of a successful call.
async fn first(session: &Session, procedure: &str, args: Vec<Value>) -> Value {
    let r = meta(session, procedure, args, Dict::new())
        .await
        .unwrap_or_else(|e| panic!("{procedure}: {e}"));
    r.payload
        .args()
        .expect("arguments")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{procedure} answered no argument"))
}

/// Asserts that `procedure` with `args` from `session` fails with the ERROR `uri`.
async fn refused(session: &Session, procedure: &str, args: Vec<Value>, uri: &str) {
    assert_wamp_error(meta(session, procedure, args, Dict::new()).await, uri);
}

/// The ids in a list value, sorted.
fn ids(v: &Value) -> Vec<Id> {
    let Value::List(l) = v else {
        panic!("a list of ids, got {v:?}");
    };
    let mut ids: Vec<Id> = l.iter().filter_map(Value::as_u64).collect();
    ids.sort_unstable();
    ids
}

/// The ids of `sessions`, sorted.
fn ids_of(sessions: &[&Session]) -> Vec<Id> {
    let mut ids: Vec<Id> = sessions.iter().map(|s| s.id()).collect();
    ids.sort_unstable();
    ids
}

/// Polls `wamp.session.count` from `caller` (every 50 ms, 20 s at most) until it is `want`
/// with no node silent; returns how long that took.
async fn until_count(caller: &Session, want: u64) -> Duration {
    let begun = Instant::now();
    let deadline = begun + Duration::from_secs(20);
    loop {
        let r = meta(caller, "wamp.session.count", vec![], Dict::new()).await;
        if let Ok(r) = &r {
            let n = r.payload.args().ok().and_then(|a| a.first()?.as_u64());
            if n == Some(want) && !r.details.contains_key("x_silent_nodes") {
                return begun.elapsed();
            }
        }
        assert!(
            Instant::now() < deadline,
            "wamp.session.count did not reach {want} within 20 s; last: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (10 s at most) until `session` is closed by the router, and says how.
async fn closed(session: &Session) -> Closed {
    within("the session closes", session.closed()).await
}

fn text<'a>(d: &'a Dict, key: &str) -> Option<&'a str> {
    d.get(key).and_then(Value::as_str)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_meta_procedures_answer_for_every_node_and_kill_across_nodes() {
    let Some(bin) =
        nats_server_or_skip("session_meta_procedures_answer_for_every_node_and_kill_across_nodes")
    else {
        return;
    };
    let begun = Instant::now();
    let mut nats = NatsServer::start(&bin, "cluster-meta");
    let url = nats.url();
    let a = start_node("all", "node-a", &url);
    let b = start_node("all", "node-b", &url);
    let c = start_node("all", "node-c", &url);

    // A: the caller (the operator) and one anonymous session; B and C: two anonymous ones
    // and an operator each.
    let caller = a.join_operator(Serializer::Msgpack).await;
    let anon_a = anonymous(&a.ws).await;
    let anon_b1 = anonymous(&b.ws).await;
    let anon_b2 = anonymous(&b.ws).await;
    let op_b = b.join_operator(Serializer::Cbor).await;
    let anon_c1 = anonymous(&c.ws).await;
    let anon_c2 = anonymous(&c.ws).await;
    let op_c = c.join_operator(Serializer::Json).await;
    let everyone = [
        &caller, &anon_a, &anon_b1, &anon_b2, &op_b, &anon_c1, &anon_c2, &op_c,
    ];
    // The nodes asked are the ones in A's node table: B and C once A has heard them.
    let heard = Instant::now();
    loop {
        let rows = first(&caller, "wampstat.cluster.status", vec![]).await;
        let alive = |n: &str| {
            matches!(&rows, Value::List(l) if l.iter().any(|r| {
                r.get("node").and_then(Value::as_str) == Some(n)
                    && r.get("state").and_then(Value::as_str) == Some("alive")
            }))
        };
        if alive("node-b") && alive("node-c") {
            break;
        }
        assert!(
            heard.elapsed() < Duration::from_secs(20),
            "node A did not hear B and C within 20 s: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let formed = until_count(&caller, 8).await;
    println!(
        "the cluster answers for every node {:?} after the start ({formed:?} of polling)",
        begun.elapsed()
    );

    // One count, timed: a round trip through nats-server to two nodes.
    let t = Instant::now();
    let n = first(&caller, "wamp.session.count", vec![]).await;
    let count_took = t.elapsed();
    assert_eq!(n.as_u64(), Some(8));
    println!("wamp.session.count over three nodes took {count_took:?}");

    // Twenty at once from one session: each gathers on its own.
    let t = Instant::now();
    let many = futures_util::future::join_all(
        (0..20).map(|_| first(&caller, "wamp.session.count", vec![])),
    )
    .await;
    assert!(many.iter().all(|n| n.as_u64() == Some(8)), "{many:?}");
    println!("20 concurrent counts took {:?}", t.elapsed());

    // The authrole filter passes along.
    let ops = first(
        &caller,
        "wamp.session.count",
        vec![Value::List(vec!["operator".into()])],
    )
    .await;
    assert_eq!(ops.as_u64(), Some(3));
    let listed = first(&caller, "wamp.session.list", vec![]).await;
    assert_eq!(ids(&listed), ids_of(&everyone), "every node's sessions");
    let Value::List(l) = &listed else {
        unreachable!()
    };
    let in_order: Vec<Id> = l.iter().filter_map(Value::as_u64).collect();
    assert_eq!(in_order, ids(&listed), "sorted by id, as on one router");
    let ops_listed = first(
        &caller,
        "wamp.session.list",
        vec![Value::List(vec!["operator".into()])],
    )
    .await;
    assert_eq!(ids(&ops_listed), ids_of(&[&caller, &op_b, &op_c]));

    // get of a session on C: its details, naming node-c; of nobody's: no_such_session.
    let got = first(&caller, "wamp.session.get", vec![anon_c1.id().into()]).await;
    let Value::Dict(d) = &got else {
        panic!("details, got {got:?}");
    };
    assert_eq!(d.get("session").and_then(Value::as_u64), Some(anon_c1.id()));
    assert_eq!(text(d, "authrole"), Some("anonymous"));
    let extra = match d.get("authextra") {
        Some(Value::Dict(e)) => e,
        other => panic!("authextra, got {other:?}"),
    };
    assert_eq!(text(extra, "x_cb_node"), Some("node-c"));
    let get = "wamp.session.get";
    refused(
        &caller,
        get,
        vec![1u64.into()],
        "wamp.error.no_such_session",
    )
    .await;
    refused(
        &caller,
        get,
        vec!["x".into()],
        "wamp.error.invalid_argument",
    )
    .await;

    // The summary adds up every node's counts; the stats have every node's rows.
    let summary = meta(&caller, "wampstat.session.summary", vec![], Dict::new())
        .await
        .expect("a summary");
    let kwargs = summary.payload.kwargs().expect("kwargs");
    assert_eq!(kwargs.get("total").and_then(Value::as_u64), Some(8));
    assert_eq!(
        kwargs.get("by_authrole"),
        Some(&Value::Dict(
            dict! {"anonymous" => 5u64, "operator" => 3u64}
        )),
        "{kwargs:?}"
    );
    assert_eq!(
        kwargs.get("by_serializer"),
        Some(&Value::Dict(
            dict! {"cbor" => 1u64, "json" => 6u64, "msgpack" => 1u64}
        )),
        "{kwargs:?}"
    );
    assert_eq!(
        kwargs
            .get("by_authid")
            .and_then(|d| d.get("operator"))
            .and_then(Value::as_u64),
        Some(3)
    );
    let rows = first(&caller, "wampstat.session.stats", vec![]).await;
    let Value::List(rows) = rows else {
        panic!("a list of rows, got {rows:?}");
    };
    let rows_bytes = wamp::encode(
        Serializer::Msgpack,
        &wamp::Message::Result {
            request: 1,
            details: Dict::new(),
            payload: Payload::from_args(vec![Value::List(rows.clone())]),
        },
    )
    .expect("encodes")
    .len();
    println!(
        "wampstat.session.stats: {} bytes in msgpack for {} rows ({} a row)",
        rows_bytes,
        rows.len(),
        rows_bytes / rows.len()
    );
    let mut by_node: BTreeMap<String, Vec<Id>> = BTreeMap::new();
    for r in &rows {
        let node = r
            .get("authextra")
            .and_then(|e| e.get("x_cb_node"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = r.get("session").and_then(Value::as_u64).expect("an id");
        by_node.entry(node).or_default().push(id);
        assert!(r.get("messages").is_some(), "a stats row: {r:?}");
    }
    for v in by_node.values_mut() {
        v.sort_unstable();
    }
    let want: BTreeMap<String, Vec<Id>> = [
        ("node-a".to_owned(), ids_of(&[&caller, &anon_a])),
        ("node-b".to_owned(), ids_of(&[&anon_b1, &anon_b2, &op_b])),
        ("node-c".to_owned(), ids_of(&[&anon_c1, &anon_c2, &op_c])),
    ]
    .into();
    assert_eq!(by_node, want);
    // The session ids of the stats pass along: one row, from C.
    let one_row = first(
        &caller,
        "wampstat.session.stats",
        vec![Value::List(vec![anon_c2.id().into()])],
    )
    .await;
    let Value::List(one_row) = one_row else {
        panic!("a list of rows, got {one_row:?}");
    };
    assert_eq!(one_row.len(), 1, "{one_row:?}");
    assert_eq!(
        one_row[0].get("session").and_then(Value::as_u64),
        Some(anon_c2.id())
    );

    // Node C stopped (SIGSTOP), still in A's node table: the count comes after the deadline
    // without C's sessions, naming node-c silent in the details; back (SIGCONT), C counts again.
    c.signal("STOP");
    let t = Instant::now();
    let partial = meta(&caller, "wamp.session.count", vec![], Dict::new())
        .await
        .expect("a partial count");
    let partial_took = t.elapsed();
    c.signal("CONT");
    assert_eq!(
        partial.payload.args().expect("args"),
        vec![Value::from(5u64)],
        "A's and B's sessions"
    );
    assert_eq!(
        partial.details.get("x_silent_nodes"),
        Some(&Value::List(vec!["node-c".into()])),
        "{:?}",
        partial.details
    );
    assert!(
        partial_took >= Duration::from_millis(900) && partial_took < Duration::from_secs(3),
        "the deadline is 1 s: {partial_took:?}"
    );
    let mut a_log = Vec::new();
    poll(Duration::from_secs(10), || {
        a_log.extend(a.output());
        a_log
            .iter()
            .any(|l| l.contains("answered without node(s) node-c"))
            .then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("node A did not warn of the silent node: {a_log:#?}"));
    let back = until_count(&caller, 8).await;
    // Stopped for about the node timeout, C may have been declared dead on A; C's answers
    // can come back before its heartbeat does. A asks (and waits for) the nodes of its table
    // only: the kill below needs C in it.
    common::nats::until_alive(&caller, "node-c").await;
    println!(
        "with node-c stopped the count took {partial_took:?}; node-c counted again {back:?} after SIGCONT"
    );

    // kill of a session on C, with the caller's reason: it gets GOODBYE.
    let killed = meta(
        &caller,
        "wamp.session.kill",
        vec![anon_c1.id().into()],
        dict! {"reason" => "wamp.close.killed", "message" => "from node-a"},
    )
    .await
    .expect("killed");
    assert_eq!(killed.payload.args().expect("args"), vec![Value::Null]);
    assert_eq!(
        closed(&anon_c1).await,
        Closed::Goodbye("wamp.close.killed".into())
    );
    until_count(&caller, 7).await;
    let kill = "wamp.session.kill";
    refused(
        &caller,
        kill,
        vec![anon_c1.id().into()],
        "wamp.error.no_such_session",
    )
    .await;

    // kill_by_authid: the operators of B and C, not the caller.
    let by_authid = first(
        &caller,
        "wamp.session.kill_by_authid",
        vec!["operator".into()],
    )
    .await;
    assert_eq!(ids(&by_authid), ids_of(&[&op_b, &op_c]));
    for s in [&op_b, &op_c] {
        assert!(matches!(closed(s).await, Closed::Goodbye(_)));
    }
    assert!(caller.is_closed().is_none(), "the caller is spared");
    until_count(&caller, 5).await;

    // kill_by_authrole: the anonymous sessions of every node, with the caller's reason.
    let by_role = meta(
        &caller,
        "wamp.session.kill_by_authrole",
        vec!["anonymous".into()],
        dict! {"reason" => "wamp.close.killed"},
    )
    .await
    .expect("killed by authrole");
    let by_role = by_role.payload.args().expect("args");
    assert_eq!(
        ids(&by_role[0]),
        ids_of(&[&anon_a, &anon_b1, &anon_b2, &anon_c2])
    );
    for s in [&anon_a, &anon_b1, &anon_b2, &anon_c2] {
        assert_eq!(closed(s).await, Closed::Goodbye("wamp.close.killed".into()));
    }
    until_count(&caller, 1).await;

    // kill_all: everyone but the caller, on every node.
    let (on_b, on_c) = (anonymous(&b.ws).await, anonymous(&c.ws).await);
    until_count(&caller, 3).await;
    let all = first(&caller, "wamp.session.kill_all", vec![]).await;
    assert_eq!(all.as_u64(), Some(2));
    for s in [&on_b, &on_c] {
        assert!(matches!(closed(s).await, Closed::Goodbye(_)));
    }
    until_count(&caller, 1).await;

    // Without NATS: counts for node A alone; a killer of many fails and kills nothing.
    let anon_a2 = anonymous(&a.ws).await;
    let still_b = anonymous(&b.ws).await;
    until_count(&caller, 3).await;
    nats.stop();
    // Node A has noticed once it says so (it flags the loss before it logs it).
    let mut seen = Vec::new();
    poll(Duration::from_secs(10), || {
        seen.extend(a.output());
        seen.iter()
            .any(|l| l.contains("lost the connection to NATS"))
            .then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("node A did not notice nats-server stop within 10 s: {seen:#?}"));
    let unavailable = "wampstat.error.cluster_unavailable";
    refused(&caller, "wamp.session.kill_all", vec![], unavailable).await;
    assert!(anon_a2.is_closed().is_none(), "nothing killed");
    let alone = first(&caller, "wamp.session.count", vec![]).await;
    assert_eq!(alone.as_u64(), Some(2), "node A's own sessions");
    refused(
        &caller,
        "wamp.session.get",
        vec![still_b.id().into()],
        unavailable,
    )
    .await;
    let here = first(&caller, "wamp.session.get", vec![anon_a2.id().into()]).await;
    assert_eq!(
        here.get("session").and_then(Value::as_u64),
        Some(anon_a2.id())
    );
    assert!(still_b.is_closed().is_none());
    println!("the whole test took {:?}", begun.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_larger_than_a_nats_message_cross_in_parts() {
    let Some(bin) = nats_server_or_skip("stats_larger_than_a_nats_message_cross_in_parts") else {
        return;
    };
    let begun = Instant::now();
    // A stats row is some 800 bytes: B's six rows need several messages of 2 kB.
    let nats = NatsServer::start_configured(&bin, "cluster-meta-parts", "max_payload: 2048");
    let url = nats.url();
    let a = start_node("parts", "node-a", &url);
    let b = start_node("parts", "node-b", &url);
    let caller = a.join_operator(Serializer::Msgpack).await;
    let mut on_b = Vec::new();
    for _ in 0..6 {
        on_b.push(anonymous(&b.ws).await);
    }
    until_count(&caller, 7).await;
    let rows = first(&caller, "wampstat.session.stats", vec![]).await;
    let Value::List(rows) = rows else {
        panic!("a list of rows, got {rows:?}");
    };
    let got: Vec<Id> = rows
        .iter()
        .filter_map(|r| r.get("session").and_then(Value::as_u64))
        .collect();
    let mut everyone: Vec<&Session> = on_b.iter().collect();
    everyone.push(&caller);
    assert_eq!(got, ids_of(&everyone), "every row, sorted by session id");
    println!("stats in parts: the whole test took {:?}", begun.elapsed());
}
