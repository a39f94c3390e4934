//! Progressive call invocations (several CALLs with one request id) and duplicate request ids.

mod common;

use common::raw_rpc::*;
use common::*;
use wamp::message::code;
use wamp::{Dict, Message, Value, dict};

/// Caller features for progressive CALLs.
fn progressive_caller() -> Dict {
    dict! {"progressive_call_invocations" => true}
}

fn progress() -> Dict {
    dict! {"progress" => true}
}

#[tokio::test]
async fn chunks_reach_the_same_callee_in_order_and_the_result_comes_back() {
    let router = start().await;
    // Two callees share the procedure round robin: every chunk must still go to the first.
    let rr = dict! {"invoke" => "roundrobin"};
    let mut a = raw_callee(&router, "com.upload", full_callee(), rr.clone()).await;
    let mut b = raw_callee(&router, "com.upload", full_callee(), rr).await;
    let mut caller = raw_caller(&router, progressive_caller()).await;
    // The initiating CALL's options (disclose_me) hold for every chunk.
    let first = dict! {"progress" => true, "disclose_me" => true};
    caller
        .send(&call_msg(1, "com.upload", first, vec![0.into()]))
        .await;
    caller
        .send(&call_msg(1, "com.upload", progress(), vec![1.into()]))
        .await;
    caller
        .send(&call_msg(1, "com.upload", Dict::new(), vec![2.into()]))
        .await;
    let mut chunks = Vec::new();
    for _ in 0..3 {
        chunks.push(next_invocation_raw(&mut a).await);
    }
    let id = chunks[0].request;
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.request, id, "one invocation id");
        assert_eq!(c.registration, chunks[0].registration);
        assert_eq!(c.args, vec![Value::from(i as u64)], "in order");
        assert_eq!(c.progress(), i < 2, "progress on all but the last");
        assert!(c.details.get("caller").is_some(), "caller disclosed: {c:?}");
    }
    a.send(&yield_msg(id, Dict::new(), vec!["3 chunks".into()]))
        .await;
    assert_eq!(
        next_result(&mut caller).await,
        (1, vec![Value::from("3 chunks")])
    );
    // The next call is b's turn: b's first message is its INVOCATION, so b got no chunk.
    caller
        .send(&call_msg(2, "com.upload", Dict::new(), vec![]))
        .await;
    let inv = next_invocation_raw(&mut b).await;
    assert_eq!(inv.args, Vec::<Value>::new());
    router.shutdown().await;
}

#[tokio::test]
async fn progressive_results_and_invocations_together() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.echo", full_callee(), Dict::new()).await;
    let mut caller = raw_caller(
        &router,
        dict! {"progressive_call_invocations" => true, "progressive_call_results" => true},
    )
    .await;
    let first = dict! {"progress" => true, "receive_progress" => true};
    caller
        .send(&call_msg(5, "com.echo", first, vec!["a".into()]))
        .await;
    let inv = next_invocation_raw(&mut callee).await;
    assert_eq!(
        inv.details.get("receive_progress").and_then(Value::as_bool),
        Some(true)
    );
    callee
        .send(&yield_msg(inv.request, progress(), vec!["A".into()]))
        .await;
    match caller.recv().await {
        Some(Message::Result {
            request: 5,
            details,
            payload,
        }) => {
            assert_eq!(details.get("progress").and_then(Value::as_bool), Some(true));
            assert_eq!(payload.args().unwrap(), vec![Value::from("A")]);
        }
        other => panic!("expected a progressive RESULT, got {other:?}"),
    }
    caller
        .send(&call_msg(5, "com.echo", Dict::new(), vec!["b".into()]))
        .await;
    let last = next_invocation_raw(&mut callee).await;
    assert_eq!((last.request, last.progress()), (inv.request, false));
    callee
        .send(&yield_msg(inv.request, Dict::new(), vec!["B".into()]))
        .await;
    assert_eq!(next_result(&mut caller).await, (5, vec![Value::from("B")]));
    router.shutdown().await;
}

#[tokio::test]
async fn a_caller_that_did_not_announce_it_is_aborted() {
    let router = start().await;
    let _callee = raw_callee(&router, "com.p", full_callee(), Dict::new()).await;
    let mut caller = raw_caller(&router, Dict::new()).await;
    caller.send(&call_msg(1, "com.p", progress(), vec![])).await;
    expect_violation(&mut caller, "progressive_call_invocations").await;
    router.shutdown().await;
}

#[tokio::test]
async fn a_callee_that_cannot_take_it_gives_feature_not_supported() {
    let router = start().await;
    // Progressive invocations without call canceling count as not supported (the spec).
    let features = dict! {"progressive_call_invocations" => true};
    let mut callee = raw_callee(&router, "com.p", features, Dict::new()).await;
    let mut caller = raw_caller(&router, progressive_caller()).await;
    caller.send(&call_msg(1, "com.p", progress(), vec![])).await;
    let (request_type, request, error, _) = caller.expect_error().await;
    assert_eq!(
        (request_type, request, error.as_str()),
        (code::CALL, 1, "wamp.error.feature_not_supported")
    );
    // Nothing reached the callee, and nothing of the call is left: id 1 is free again.
    caller
        .send(&call_msg(1, "com.p", Dict::new(), vec![]))
        .await;
    let inv = next_invocation_raw(&mut callee).await;
    assert!(!inv.progress());
    // The router's own procedures take none either.
    caller
        .send(&call_msg(2, "wamp.session.count", progress(), vec![]))
        .await;
    let (_, request, error, _) = caller.expect_error().await;
    assert_eq!(
        (request, error.as_str()),
        (2, "wamp.error.feature_not_supported")
    );
    router.shutdown().await;
}

#[tokio::test]
async fn chunks_after_the_call_ended_early_are_discarded() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.p", full_callee(), Dict::new()).await;
    let mut caller = raw_caller(&router, progressive_caller()).await;
    caller
        .send(&call_msg(1, "com.p", progress(), vec![0.into()]))
        .await;
    let inv = next_invocation_raw(&mut callee).await;
    callee
        .send(&Message::error(
            code::INVOCATION,
            inv.request,
            "com.error.full",
            None,
        ))
        .await;
    let (_, request, error, _) = caller.expect_error().await;
    assert_eq!((request, error.as_str()), (1, "com.error.full"));
    // The caller had more on the way: discarded, no answer, nothing to the callee.
    caller
        .send(&call_msg(1, "com.p", progress(), vec![1.into()]))
        .await;
    caller
        .send(&call_msg(1, "com.p", Dict::new(), vec![2.into()]))
        .await;
    caller
        .send(&call_msg(2, "com.p", Dict::new(), vec!["next".into()]))
        .await;
    let next = next_invocation_raw(&mut callee).await;
    assert_eq!(next.args, vec![Value::from("next")]);
    callee
        .send(&yield_msg(next.request, Dict::new(), vec![]))
        .await;
    assert_eq!(next_result(&mut caller).await.0, 2);
    router.shutdown().await;
}

#[tokio::test]
async fn a_call_with_the_id_of_a_call_in_progress_is_a_protocol_violation() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.d", full_callee(), Dict::new()).await;
    let mut caller = raw_caller(&router, Dict::new()).await;
    caller
        .send(&call_msg(7, "com.d", Dict::new(), vec![]))
        .await;
    next_invocation_raw(&mut callee).await;
    caller
        .send(&call_msg(7, "com.d", Dict::new(), vec![]))
        .await;
    expect_violation(&mut caller, "request ID 7").await;
    // The first call ended with the caller: its callee is interrupted.
    next_interrupt(&mut callee).await;
    router.shutdown().await;
}

#[tokio::test]
async fn other_requests_with_the_id_of_a_call_in_progress_are_protocol_violations() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.d", full_callee(), Dict::new()).await;
    let roles = {
        let mut r = role("caller", Dict::new());
        r.extend(role("subscriber", Dict::new()));
        r
    };
    let (mut caller, _) = Raw::join_with_roles(
        &url(&router, Transport::Ws),
        wamp::Serializer::Msgpack,
        roles,
    )
    .await;
    caller
        .send(&call_msg(3, "com.d", Dict::new(), vec![]))
        .await;
    let inv = next_invocation_raw(&mut callee).await;
    // An id that was used by a call that is over is not in progress: accepted.
    callee
        .send(&yield_msg(inv.request, Dict::new(), vec![]))
        .await;
    assert_eq!(next_result(&mut caller).await.0, 3);
    caller
        .send(&call_msg(3, "com.d", Dict::new(), vec![]))
        .await;
    next_invocation_raw(&mut callee).await;
    caller
        .send(&Message::Subscribe {
            request: 3,
            options: Dict::new(),
            topic: "com.t".into(),
        })
        .await;
    expect_violation(&mut caller, "request ID 3").await;
    router.shutdown().await;
}

#[tokio::test]
async fn a_continuation_naming_another_procedure_is_a_protocol_violation() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.p", full_callee(), Dict::new()).await;
    let mut caller = raw_caller(&router, progressive_caller()).await;
    caller.send(&call_msg(1, "com.p", progress(), vec![])).await;
    next_invocation_raw(&mut callee).await;
    caller
        .send(&call_msg(1, "com.q", Dict::new(), vec![]))
        .await;
    expect_violation(&mut caller, "request ID 1").await;
    router.shutdown().await;
}
