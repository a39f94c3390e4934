//! The router's own calls ([`Dealer::call_internal`]): answered by YIELD or ERROR, refused
//! without a callee, canceled when the callee leaves, removed (and the callee interrupted) when
//! the caller gives up; and the timers of calls with a timeout, which end with their calls.

use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use wamp::transport::Outbound;
use wamp::{Dict, Id, MatchPolicy, Message, Payload, Serializer, Value};

use super::{Call, Dealer, InvokePolicy};
use crate::options::RouterOptions;
use crate::session_handle::testing::handle;
use crate::session_handle::{CalleeFeatures, SessionHandle};

/// A dealer where session 7 (which announced `call_canceling`) registered `com.auth`.
fn dealer() -> (Dealer, Arc<SessionHandle>, mpsc::Receiver<Outbound>) {
    let features = CalleeFeatures {
        call_canceling: true,
        progressive_call_results: true,
        progressive_call_invocations: false,
    };
    let (callee, rx) = handle(7, "backend", features, RouterOptions::default().limits());
    let callee = Arc::new(callee);
    let d = Dealer::default();
    d.register(
        &callee,
        "com.auth",
        (MatchPolicy::Exact, InvokePolicy::Single),
        false,
    )
    .expect("registered");
    (d, callee, rx)
}

/// The next message queued to the callee.
fn next(rx: &mut mpsc::Receiver<Outbound>) -> Message {
    match rx.try_recv() {
        Ok(Outbound::Message(b)) => wamp::decode(Serializer::Json, &b).expect("decodes"),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The invocation id and arguments of the next INVOCATION.
fn invocation(rx: &mut mpsc::Receiver<Outbound>) -> (Id, Vec<Value>) {
    match next(rx) {
        Message::Invocation {
            request, payload, ..
        } => (request, payload.args().expect("args")),
        other => panic!("expected INVOCATION, got {other:?}"),
    }
}

#[tokio::test]
async fn a_yield_answers_the_call_and_an_error_fails_it() {
    let (d, callee, mut rx) = dealer();
    let args = Payload::from_args(vec!["realm1".into()]);
    let call = d.call_internal("com.auth", args.clone());
    let answer = async {
        let (id, got) = invocation(&mut rx);
        assert_eq!(got, vec![Value::from("realm1")]);
        // A progressive result is not for the router: the call goes on.
        let progress = wamp::dict! {"progress" => true};
        d.yield_result(
            callee.id,
            id,
            &progress,
            Payload::from_args(vec!["no".into()]),
        );
        d.yield_result(
            callee.id,
            id,
            &Dict::new(),
            Payload::from_args(vec!["user".into()]),
        );
    };
    let (result, ()) = tokio::join!(call, answer);
    let args = result.expect("answered").args().expect("args");
    assert_eq!(args, vec![Value::from("user")]);

    let call = d.call_internal("com.auth", Payload::empty());
    let answer = async {
        let (id, _) = invocation(&mut rx);
        let why = Payload::from_args(vec!["go away".into()]);
        d.yield_error(callee.id, id, Dict::new(), "com.example.denied".into(), why);
    };
    let (result, ()) = tokio::join!(call, answer);
    let failed = result.expect_err("the callee's ERROR");
    assert_eq!(failed.error, "com.example.denied");
    assert_eq!(failed.message.as_deref(), Some("go away"));
}

#[tokio::test]
async fn without_a_callee_the_call_fails_at_once() {
    let d = Dealer::default();
    let failed = d
        .call_internal("com.nobody", Payload::empty())
        .await
        .expect_err("no callee");
    assert_eq!(failed.error, "wamp.error.no_such_procedure");
}

#[tokio::test]
async fn the_callee_leaving_cancels_the_call() {
    let (d, callee, mut rx) = dealer();
    let call = d.call_internal("com.auth", Payload::empty());
    let leave = async {
        invocation(&mut rx);
        d.detach(callee.id);
    };
    let (result, ()) = tokio::join!(call, leave);
    assert_eq!(result.expect_err("canceled").error, "wamp.error.canceled");
}

#[tokio::test]
async fn a_call_given_up_is_removed_and_its_callee_interrupted() {
    let (d, callee, mut rx) = dealer();
    let mut call = Box::pin(d.call_internal("com.auth", Payload::empty()));
    assert!(
        call.as_mut().now_or_never().is_none(),
        "waits for its answer"
    );
    let (id, _) = invocation(&mut rx);
    drop(call);
    match next(&mut rx) {
        Message::Interrupt { request, options } => {
            assert_eq!(request, id);
            assert_eq!(
                options.get("mode").and_then(Value::as_str),
                Some("killnowait")
            );
        }
        other => panic!("expected INTERRUPT, got {other:?}"),
    }
    // The late answer goes nowhere, and nothing of the call is left.
    d.yield_result(callee.id, id, &Dict::new(), Payload::empty());
    assert!(lock(&d.state).invocations.is_empty());
    assert!(rx.try_recv().is_err(), "nothing more for the callee");
}

use wamp::sync::lock;

#[tokio::test]
async fn a_timer_ends_with_its_call() {
    let (d, callee, mut rx) = dealer();
    let caller = crate::session_handle::testing::session(9);
    let alive = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let before = alive();
    for request in 1..=100 {
        let call = Call {
            request,
            procedure: "com.auth",
            payload: &Payload::empty(),
            disclose: false,
            receive_progress: false,
            timeout_ms: 60_000,
            progress: false,
            passthru: Dict::new(),
        };
        d.call(&caller, &call).expect("routed");
        let (id, _) = invocation(&mut rx);
        d.yield_result(callee.id, id, &Dict::new(), Payload::empty());
    }
    // The aborted timers go as soon as the runtime gets to them.
    for _ in 0..1000 {
        if alive() == before {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(alive(), before, "no timer outlives its call");
    assert!(lock(&d.state).invocations.is_empty());
    assert!(lock(&d.state).by_call.is_empty());
}
