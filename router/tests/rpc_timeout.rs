//! Call timeouts (`CALL.Options.timeout`, ms): the dealer's timer, or forwarded to a callee that
//! registered with `forward_timeout`. Waits are for the router's own timers, bounded by
//! `within` (no sleeps).

mod common;

use common::raw_rpc::*;
use common::*;
use wamp::message::code;
use wamp::{Dict, Value, dict};

#[tokio::test]
async fn an_expired_call_errors_the_caller_and_interrupts_the_callee() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.slow", full_callee(), Dict::new()).await;
    let mut caller = raw_caller(&router, Dict::new()).await;
    let timed = dict! {"timeout" => 100};
    caller.send(&call_msg(1, "com.slow", timed, vec![])).await;
    let inv = next_invocation_raw(&mut callee).await;
    assert!(
        inv.details.get("timeout").is_none(),
        "the dealer keeps the timeout: {:?}",
        inv.details
    );
    let (request_type, request, error, _) = caller.expect_error().await;
    assert_eq!(
        (request_type, request, error.as_str()),
        (code::CALL, 1, "wamp.error.timeout")
    );
    let (interrupted, options) = next_interrupt(&mut callee).await;
    assert_eq!(interrupted, inv.request);
    assert_eq!(
        options.get("mode").and_then(Value::as_str),
        Some("killnowait")
    );
    // The late YIELD is dropped: the caller's next message answers its next call.
    callee
        .send(&yield_msg(inv.request, Dict::new(), vec!["late".into()]))
        .await;
    caller
        .send(&call_msg(2, "com.slow", Dict::new(), vec![]))
        .await;
    let inv2 = next_invocation_raw(&mut callee).await;
    callee
        .send(&yield_msg(
            inv2.request,
            Dict::new(),
            vec!["on time".into()],
        ))
        .await;
    assert_eq!(
        next_result(&mut caller).await,
        (2, vec![Value::from("on time")])
    );
    router.shutdown().await;
}

#[tokio::test]
async fn a_callee_without_call_canceling_is_not_interrupted() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.plain", Dict::new(), Dict::new()).await;
    let mut caller = raw_caller(&router, Dict::new()).await;
    caller
        .send(&call_msg(1, "com.plain", dict! {"timeout" => 50}, vec![]))
        .await;
    let inv = next_invocation_raw(&mut callee).await;
    let (_, request, error, _) = caller.expect_error().await;
    assert_eq!((request, error.as_str()), (1, "wamp.error.timeout"));
    // Its next message is the next invocation, not an INTERRUPT.
    caller
        .send(&call_msg(2, "com.plain", Dict::new(), vec![]))
        .await;
    let inv2 = next_invocation_raw(&mut callee).await;
    assert_ne!(inv2.request, inv.request);
    router.shutdown().await;
}

#[tokio::test]
async fn forward_timeout_hands_the_timeout_to_the_callee() {
    let router = start().await;
    let forward = dict! {"forward_timeout" => true};
    let mut forwarding = raw_callee(&router, "com.fwd", full_callee(), forward).await;
    let mut enforced = raw_callee(&router, "com.enf", full_callee(), Dict::new()).await;
    let mut caller = raw_caller(&router, Dict::new()).await;
    caller
        .send(&call_msg(1, "com.fwd", dict! {"timeout" => 50}, vec![]))
        .await;
    let inv = next_invocation_raw(&mut forwarding).await;
    assert_eq!(inv.details.get("timeout").and_then(Value::as_u64), Some(50));
    // A call with a longer timeout that the dealer enforces: were the dealer timing call 1 as
    // well, its ERROR (50 ms) would come before this one's (200 ms).
    caller
        .send(&call_msg(2, "com.enf", dict! {"timeout" => 200}, vec![]))
        .await;
    next_invocation_raw(&mut enforced).await;
    let (_, request, error, _) = caller.expect_error().await;
    assert_eq!((request, error.as_str()), (2, "wamp.error.timeout"));
    // Call 1 is still in progress: the callee's (late) answer reaches the caller.
    forwarding
        .send(&yield_msg(inv.request, Dict::new(), vec!["mine".into()]))
        .await;
    assert_eq!(
        next_result(&mut caller).await,
        (1, vec![Value::from("mine")])
    );
    router.shutdown().await;
}

#[tokio::test]
async fn timeout_zero_is_none_and_a_bad_timeout_is_a_protocol_violation() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.z", full_callee(), Dict::new()).await;
    let mut caller = raw_caller(&router, Dict::new()).await;
    caller
        .send(&call_msg(2, "com.z", dict! {"timeout" => 0}, vec![]))
        .await;
    let inv = next_invocation_raw(&mut callee).await;
    // A call answered in time gets its RESULT (that its timer goes with it is the dealer's
    // unit test `a_timer_ends_with_its_call`).
    caller
        .send(&call_msg(3, "com.z", dict! {"timeout" => 10_000}, vec![]))
        .await;
    let inv3 = next_invocation_raw(&mut callee).await;
    callee
        .send(&yield_msg(inv3.request, Dict::new(), vec![]))
        .await;
    assert_eq!(next_result(&mut caller).await.0, 3);
    caller
        .send(&call_msg(4, "com.z", dict! {"timeout" => 30}, vec![]))
        .await;
    let inv4 = next_invocation_raw(&mut callee).await;
    let (_, request, error, _) = caller.expect_error().await;
    assert_eq!((request, error.as_str()), (4, "wamp.error.timeout"));
    assert_eq!(next_interrupt(&mut callee).await.0, inv4.request);
    // A timeout too long to ever expire is just that (no overflow).
    let forever = dict! {"timeout" => wamp::id::MAX_ID};
    caller.send(&call_msg(5, "com.z", forever, vec![])).await;
    let inv5 = next_invocation_raw(&mut callee).await;
    callee
        .send(&yield_msg(inv5.request, Dict::new(), vec![]))
        .await;
    assert_eq!(next_result(&mut caller).await.0, 5);
    // Call 2 (timeout 0) is still waiting for its callee.
    callee
        .send(&yield_msg(inv.request, Dict::new(), vec![]))
        .await;
    assert_eq!(next_result(&mut caller).await.0, 2);
    // A timeout that is not a count of milliseconds is a wrongly typed option: ABORT.
    caller
        .send(&call_msg(6, "com.z", dict! {"timeout" => "soon"}, vec![]))
        .await;
    match caller.recv().await {
        Some(wamp::Message::Abort { reason, details }) => {
            assert_eq!(reason, "wamp.error.protocol_violation");
            let message = details.get("message").and_then(Value::as_str);
            assert!(
                message.is_some_and(|m| m.starts_with("CALL.Options.timeout")),
                "{message:?}"
            );
        }
        other => panic!("expected an ABORT, got {other:?}"),
    }
    router.shutdown().await;
}

#[tokio::test]
async fn a_progressive_call_that_timed_out_drops_its_later_chunks() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.up", full_callee(), Dict::new()).await;
    let mut caller = raw_caller(&router, dict! {"progressive_call_invocations" => true}).await;
    let first = dict! {"progress" => true, "timeout" => 50};
    caller
        .send(&call_msg(1, "com.up", first, vec![0.into()]))
        .await;
    let inv = next_invocation_raw(&mut callee).await;
    let (_, request, error, _) = caller.expect_error().await;
    assert_eq!((request, error.as_str()), (1, "wamp.error.timeout"));
    assert_eq!(next_interrupt(&mut callee).await.0, inv.request);
    // Chunks still on their way are dropped; the next call is the callee's next message.
    caller
        .send(&call_msg(
            1,
            "com.up",
            dict! {"progress" => true},
            vec![1.into()],
        ))
        .await;
    caller
        .send(&call_msg(1, "com.up", Dict::new(), vec![2.into()]))
        .await;
    caller
        .send(&call_msg(2, "com.up", Dict::new(), vec!["next".into()]))
        .await;
    let next = next_invocation_raw(&mut callee).await;
    assert_eq!(next.args, vec![Value::from("next")]);
    router.shutdown().await;
}
