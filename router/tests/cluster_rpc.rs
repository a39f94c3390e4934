//! **[ours]** RPC across the nodes of a cluster (issue 17): three `wamp-router` processes over
//! nats-server. A caller on node A calls a callee on node B (arguments, keyword arguments and
//! the disclosed caller intact, an application error passed back); `single` is refused on C
//! while B holds it; a round robin over one callee on each of the three nodes gives each a
//! third; progressive results, both cancel modes that interrupt, and a call timeout work
//! across nodes; with nats-server stopped a call to another node fails at once with
//! `wampstat.error.cluster_unavailable`, and works again once it is back; and when node C is
//! killed with SIGKILL in the middle of a call, the caller gets an ERROR within the node
//! timeout and C's registrations are gone. A `single` that two nodes both accepted while cut
//! off from NATS is warned about by both once it is back.
//!
//! Needs nats-server (`WAMPSTAT_NATS_SERVER` or `PATH`); skipped with a printed line without
//! it, unless `WAMPSTAT_REQUIRE_NATS=1`. No sleep synchronises anything: a registration has
//! crossed when a call to it succeeds (or the meta API counts its callees), polled within a
//! bound. Every process is killed by its PID when the test ends on any path.

#![allow(clippy::result_large_err)] // the closures given to `serve`, as in rpc.rs

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::nats::{NatsServer, nats_server_or_skip, start_cluster_node};
use common::raw_rpc::{call_msg, full_callee, role};
use common::*;
use wamp::client::WampError;
use wamp::{Dict, Message, Payload, Serializer, Session, Value, dict};

/// Joins `realm1` at `url` anonymously with `serializer`.
async fn anonymous(url: &str, serializer: Serializer) -> Session {
    join_url(url, "realm1", serializer)
        .await
        .expect("joins realm1")
}

/// Calls `procedure` from `caller` until it no longer fails with `no_such_procedure` (20 s at
/// most): the registration has crossed to the caller's node.
async fn until_callable(caller: &Session, procedure: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match caller
            .call(
                procedure,
                Payload::from_args(vec!["probe".into()]),
                dict! {},
            )
            .await
        {
            Ok(_) => return,
            Err(e) if Instant::now() >= deadline => {
                panic!("{procedure} did not become callable within 20 s: {e}")
            }
            // Not there yet; or the caller's node has not seen its NATS connection come up
            // yet (it hears of it a moment after it is up).
            Err(e)
                if e.wamp_error() == Some("wamp.error.no_such_procedure")
                    || e.wamp_error() == Some("wampstat.error.cluster_unavailable") => {}
            Err(e) => panic!("calling {procedure}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (20 s at most) until the meta API of `op`'s node counts `n` callees of `procedure`
/// (this node's sessions, and one proxy per other node with callees).
async fn until_callees(op: &Session, procedure: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lookup = op
            .call(
                "wamp.registration.lookup",
                Payload::from_args(vec![procedure.into()]),
                dict! {},
            )
            .await
            .expect("lookup");
        let id = lookup
            .payload
            .args()
            .ok()
            .and_then(|a| a.first().and_then(Value::as_u64));
        if let Some(id) = id {
            let count = op
                .call(
                    "wamp.registration.count_callees",
                    Payload::from_args(vec![id.into()]),
                    dict! {},
                )
                .await
                .expect("count_callees");
            let got = count.payload.args().ok().and_then(|a| a.first()?.as_u64());
            if got == Some(n) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{procedure} did not get {n} callees within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A hand-driven session on `url` (RawSocket, JSON) with `roles`.
async fn raw(url: &str, roles: Dict) -> Raw {
    Raw::join_with_roles(url, Serializer::Json, roles).await.0
}

/// The next message of `raw`, which must be an INVOCATION: its request id and details.
async fn invocation(raw: &mut Raw) -> (wamp::Id, Dict, Payload) {
    match raw.recv().await {
        Some(Message::Invocation {
            request,
            details,
            payload,
            ..
        }) => (request, details, payload),
        other => panic!("expected INVOCATION, got {other:?}"),
    }
}

/// The next message of `raw`, which must be an INTERRUPT: its request id and mode.
async fn interrupt(raw: &mut Raw) -> (wamp::Id, String) {
    match raw.recv().await {
        Some(Message::Interrupt { request, options }) => (
            request,
            options
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
        other => panic!("expected INTERRUPT, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_cross_nodes_with_every_outcome_and_fail_when_a_node_or_nats_goes() {
    let Some(bin) = nats_server_or_skip(
        "calls_cross_nodes_with_every_outcome_and_fail_when_a_node_or_nats_goes",
    ) else {
        return;
    };
    let mut nats = NatsServer::start(&bin, "cluster-rpc");
    let url = nats.url();
    let a = start_cluster_node("cluster-rpc-a", "node-a", &url, &[]);
    let b = start_cluster_node("cluster-rpc-b", "node-b", &url, &[]);
    let mut c = start_cluster_node("cluster-rpc-c", "node-c", &url, &[]);

    // A callee on B, a caller on A (another serializer).
    let callee_b = anonymous(&b.ws, Serializer::Msgpack).await;
    let mut echo = register(&callee_b, "com.rpc.echo", dict! {}).await;
    let caller = anonymous(&a.ws, Serializer::Json).await;
    let began = Instant::now();
    let probe = tokio::spawn(async move {
        // Answers the probes until the real call (its first argument is not "probe").
        loop {
            let inv = next_invocation(&mut echo).await;
            let args = inv.payload.args().unwrap_or_default();
            if args.first().and_then(Value::as_str) == Some("probe") {
                let _ = inv.reply(Ok(Payload::empty())).await;
                continue;
            }
            return (inv, echo);
        }
    });
    until_callable(&caller, "com.rpc.echo").await;
    let crossed = began.elapsed();

    let args = vec![
        Value::from(1u64),
        "two".into(),
        Value::Dict(dict! {"x" => 3.5}),
    ];
    let kwargs = dict! {"k" => "v"};
    let the_call = {
        let (args, kwargs) = (args.clone(), kwargs.clone());
        let caller_ref = &caller;
        async move {
            caller_ref
                .call(
                    "com.rpc.echo",
                    Payload::new(args, kwargs),
                    dict! {"disclose_me" => true},
                )
                .await
        }
    };
    let answer = async {
        let (inv, echo) = within("the invocation on B", probe)
            .await
            .expect("the probe task");
        let d = &inv.details;
        assert_eq!(
            d.get("caller").and_then(Value::as_u64),
            Some(caller.id()),
            "{d:?}"
        );
        assert_eq!(
            d.get("caller_authrole").and_then(Value::as_str),
            Some("anonymous"),
            "{d:?}"
        );
        assert!(!d.contains_key("procedure"), "an exact registration: {d:?}");
        let payload = inv.payload.clone();
        inv.reply(Ok(payload)).await.expect("yield");
        echo
    };
    let (result, mut echo) = tokio::join!(within("the call across nodes", the_call), answer);
    let result = result.expect("the call across nodes succeeds");
    assert_eq!(result.payload.args().expect("args"), args);
    assert_eq!(result.payload.kwargs().expect("kwargs"), kwargs);

    // `single` is B's: refused on C (and on A).
    let on_c = anonymous(&c.ws, Serializer::Cbor).await;
    for (node, session) in [("C", &on_c), ("A", &caller)] {
        let refused = session.register("com.rpc.echo", dict! {}).await;
        assert_wamp_error(refused, "wamp.error.procedure_already_exists");
        let _ = node;
    }

    // An application error crosses back with its arguments.
    let mut fail = register(&callee_b, "com.rpc.fail", dict! {}).await;
    tokio::spawn(async move {
        while let Some(inv) = fail.invocations.recv().await {
            let mut e = WampError::new("com.example.oops");
            e.payload = Payload::from_args(vec!["bad".into()]);
            let _ = inv.reply(Err(e)).await;
        }
    });
    let op_a = a.join_operator(Serializer::Json).await;
    until_callees(&op_a, "com.rpc.fail", 1).await;
    match caller
        .call("com.rpc.fail", Payload::empty(), dict! {})
        .await
    {
        Err(wamp::client::ClientError::Wamp(e)) => {
            assert_eq!(e.error, "com.example.oops");
            assert_eq!(e.payload.args().expect("args"), vec![Value::from("bad")]);
        }
        other => panic!("expected the callee's error, got {other:?}"),
    }

    // A round robin over one callee on each node: each gets a third.
    let rr = dict! {"invoke" => "roundrobin"};
    let on_a = anonymous(&a.ws, Serializer::Msgpack).await;
    for (node, session) in [("a", &on_a), ("b", &callee_b), ("c", &on_c)] {
        let reg = register(session, "com.rpc.rr", rr.clone()).await;
        serve(reg, move |_| Ok(Payload::from_args(vec![node.into()])));
    }
    let on_c_reg = register(&on_c, "com.rpc.c", dict! {}).await;
    serve(on_c_reg, |_| Ok(Payload::empty()));
    until_callees(&op_a, "com.rpc.rr", 3).await;
    let mut served: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..30 {
        let r = within("a round-robin call", call(&caller, "com.rpc.rr"))
            .await
            .expect("served");
        let node = r.payload.args().expect("args")[0]
            .as_str()
            .expect("a node")
            .to_owned();
        *served.entry(node).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [("a", 10), ("b", 10), ("c", 10)]
        .map(|(n, k)| (n.to_owned(), k))
        .into();
    assert_eq!(served, expected, "each node's callee a third of the calls");

    // Progressive results, cancel and timeout, with a callee on C driven by hand.
    let mut callee_c = raw(&c.rs, role("callee", full_callee())).await;
    callee_c
        .send(&Message::Register {
            request: 1,
            options: dict! {},
            procedure: "com.rpc.slow".into(),
        })
        .await;
    assert!(matches!(
        callee_c.recv().await,
        Some(Message::Registered { request: 1, .. })
    ));
    until_callees(&op_a, "com.rpc.slow", 1).await;
    let features = dict! {"progressive_call_results" => true, "call_canceling" => true};
    let mut caller_a = raw(&a.rs, role("caller", features)).await;

    // Two progressive results, then the final one.
    let progress = dict! {"receive_progress" => true};
    caller_a
        .send(&call_msg(10, "com.rpc.slow", progress, vec!["p".into()]))
        .await;
    let (inv, details, _) = invocation(&mut callee_c).await;
    assert_eq!(
        details.get("receive_progress"),
        Some(&Value::Bool(true)),
        "{details:?}"
    );
    for (i, last) in [(1u64, false), (2, false), (3, true)] {
        let options = if last {
            dict! {}
        } else {
            dict! {"progress" => true}
        };
        callee_c
            .send(&common::raw_rpc::yield_msg(inv, options, vec![i.into()]))
            .await;
    }
    for (i, last) in [(1u64, false), (2, false), (3, true)] {
        match caller_a.recv().await {
            Some(Message::Result {
                request: 10,
                details,
                payload,
            }) => {
                assert_eq!(payload.args().expect("args"), vec![Value::from(i)]);
                assert_eq!(
                    details.get("progress") == Some(&Value::Bool(true)),
                    !last,
                    "result {i}: {details:?}"
                );
            }
            other => panic!("expected RESULT {i}, got {other:?}"),
        }
    }

    // CANCEL mode kill: the callee is interrupted and its ERROR reaches the caller.
    caller_a
        .send(&call_msg(11, "com.rpc.slow", dict! {}, vec![]))
        .await;
    let (inv, ..) = invocation(&mut callee_c).await;
    caller_a
        .send(&Message::Cancel {
            request: 11,
            options: dict! {"mode" => "kill"},
        })
        .await;
    assert_eq!(interrupt(&mut callee_c).await, (inv, "kill".to_owned()));
    callee_c
        .send(&Message::Error {
            request_type: wamp::message::code::INVOCATION,
            request: inv,
            details: dict! {},
            error: "wamp.error.canceled".into(),
            payload: Payload::from_args(vec!["stopped".into()]),
        })
        .await;
    let (_, request, error, payload) = caller_a.expect_error().await;
    assert_eq!((request, error.as_str()), (11, "wamp.error.canceled"));
    assert_eq!(payload.args().expect("args"), vec![Value::from("stopped")]);

    // CANCEL mode killnowait: the caller is answered at once, the callee interrupted.
    caller_a
        .send(&call_msg(12, "com.rpc.slow", dict! {}, vec![]))
        .await;
    let (inv, ..) = invocation(&mut callee_c).await;
    caller_a
        .send(&Message::Cancel {
            request: 12,
            options: dict! {"mode" => "killnowait"},
        })
        .await;
    let (_, request, error, _) = caller_a.expect_error().await;
    assert_eq!((request, error.as_str()), (12, "wamp.error.canceled"));
    assert_eq!(
        interrupt(&mut callee_c).await,
        (inv, "killnowait".to_owned())
    );

    // A timeout: the caller's node ends the call, the callee is interrupted.
    caller_a
        .send(&call_msg(
            13,
            "com.rpc.slow",
            dict! {"timeout" => 300},
            vec![],
        ))
        .await;
    let (inv, ..) = invocation(&mut callee_c).await;
    let (_, request, error, _) = caller_a.expect_error().await;
    assert_eq!((request, error.as_str()), (13, "wamp.error.timeout"));
    assert_eq!(
        interrupt(&mut callee_c).await,
        (inv, "killnowait".to_owned())
    );

    // nats-server stopped: a call to B fails at once; restarted: it works again.
    nats.stop();
    let stopped = Instant::now();
    let down = within(
        "a call while NATS is down",
        caller.call(
            "com.rpc.echo",
            Payload::from_args(vec!["probe".into()]),
            dict! {},
        ),
    )
    .await;
    assert_wamp_error(down, "wampstat.error.cluster_unavailable");
    let failed_in = stopped.elapsed();
    nats.restart();
    let restarted = Instant::now();
    let probe = tokio::spawn(async move {
        while let Some(inv) = echo.invocations.recv().await {
            let _ = inv.reply(Ok(Payload::empty())).await;
        }
    });
    until_callable(&caller, "com.rpc.echo").await;
    let resumed_in = restarted.elapsed();
    probe.abort();
    // And C listens again too (a call sent before it has subscribed again fails with
    // cluster_unavailable: nats-server says that nobody listens).
    until_callable(&caller, "com.rpc.c").await;

    // Node C killed in the middle of a call: the caller gets an ERROR within the node timeout
    // (1 s), and C's registration is gone.
    until_callees(&op_a, "com.rpc.slow", 1).await;
    caller_a
        .send(&call_msg(14, "com.rpc.slow", dict! {}, vec![]))
        .await;
    let _ = invocation(&mut callee_c).await;
    c.signal("KILL");
    let killed = Instant::now();
    let (_, request, error, payload) = caller_a.expect_error().await;
    let ended_in = killed.elapsed();
    assert_eq!(
        (request, error.as_str()),
        (14, "wamp.error.canceled"),
        "{payload:?}"
    );
    assert!(
        ended_in < Duration::from_secs(3),
        "the caller waited {ended_in:?} after the callee's node died"
    );
    assert_wamp_error(
        call(&caller, "com.rpc.slow").await,
        "wamp.error.no_such_procedure",
    );
    let _ = c.exit_within(Duration::from_secs(5));
    println!(
        "registration crossed in {crossed:?}; NATS down: failed in {failed_in:?}; resumed \
         {resumed_in:?} after restart; node killed: the call ended in {ended_in:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_registered_on_two_nodes_while_cut_off_is_warned_about_once_nats_is_back() {
    let Some(bin) = nats_server_or_skip(
        "a_single_registered_on_two_nodes_while_cut_off_is_warned_about_once_nats_is_back",
    ) else {
        return;
    };
    let mut nats = NatsServer::start(&bin, "cluster-rpc-split");
    let url = nats.url();
    let a = start_cluster_node("cluster-rpc-split-a", "node-a", &url, &[]);
    let b = start_cluster_node("cluster-rpc-split-b", "node-b", &url, &[]);
    let op_a = a.join_operator(Serializer::Json).await;
    common::nats::until_alive(&op_a, "node-b").await;

    // Both nodes cut off (they say so), each accepts `single` for its own session.
    nats.stop();
    let (mut seen_a, mut seen_b) = (Vec::new(), Vec::new());
    a.until_printed(&mut seen_a, "lost the connection to NATS")
        .await;
    b.until_printed(&mut seen_b, "lost the connection to NATS")
        .await;
    let on_a = anonymous(&a.ws, Serializer::Json).await;
    let on_b = anonymous(&b.ws, Serializer::Json).await;
    let _reg_a = register(&on_a, "com.rpc.split", dict! {}).await;
    let _reg_b = register(&on_b, "com.rpc.split", dict! {}).await;

    // NATS back: each node writes its entry, sees the other's, and warns.
    nats.restart();
    let healed = Instant::now();
    let line = a
        .until_printed(&mut seen_a, "is registered on this node")
        .await;
    assert!(
        line.contains("com.rpc.split") && line.contains("node-b"),
        "{line}"
    );
    let line = b
        .until_printed(&mut seen_b, "is registered on this node")
        .await;
    assert!(line.contains("node-a"), "{line}");
    let warned = healed.elapsed();
    // And the registry follows changes again on both: a registration made now on A is
    // callable from B.
    let reg = register(&on_a, "com.rpc.after", dict! {}).await;
    serve(reg, |_| Ok(Payload::empty()));
    until_callable(&on_b, "com.rpc.after").await;
    println!("both nodes warned {warned:?} after nats-server was back");
}
