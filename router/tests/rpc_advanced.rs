//! Advanced-profile RPC: cancel modes, progressive results, pattern precedence, size limits.
// Handlers return `Result<Payload, WampError>`, the shape `Invocation::reply` takes.
#![allow(clippy::result_large_err)]

mod common;

use common::*;
use wamp::message::code;
use wamp::{Dict, Message, Payload, Serializer, Value, dict};

/// A callee driven by hand that announces `features` and registers `procedure`.
async fn raw_callee(router: &wamp_router::Router, procedure: &str, features: Dict) -> Raw {
    let roles = dict! {"callee" => Value::Dict(dict! {"features" => Value::Dict(features)})};
    let (mut raw, _) =
        Raw::join_with_roles(&url(router, Transport::Rs), Serializer::Json, roles).await;
    raw.send(&Message::Register {
        request: 1,
        options: Dict::new(),
        procedure: procedure.into(),
    })
    .await;
    assert!(matches!(
        raw.recv().await,
        Some(Message::Registered { request: 1, .. })
    ));
    raw
}

/// Waits for the next INVOCATION and returns its request id and details.
async fn invocation(raw: &mut Raw) -> (wamp::Id, Dict) {
    match raw.recv().await {
        Some(Message::Invocation {
            request, details, ..
        }) => (request, details),
        other => panic!("expected INVOCATION, got {other:?}"),
    }
}

/// CALL of `procedure`, without arguments, as request `request`.
fn call(request: wamp::Id, procedure: &str, options: Dict) -> Message {
    Message::Call {
        request,
        options,
        procedure: procedure.into(),
        payload: Payload::empty(),
    }
}

/// Waits for the next INTERRUPT and returns its request id and options.
async fn interrupt(raw: &mut Raw) -> (wamp::Id, Dict) {
    match raw.recv().await {
        Some(Message::Interrupt { request, options }) => (request, options),
        other => panic!("expected INTERRUPT, got {other:?}"),
    }
}

/// Sends CALL `request` of `procedure` from `caller` and waits until `callee` is invoked for it:
/// returns the INVOCATION's request id and details.
async fn invoke(
    caller: &mut Raw,
    callee: &mut Raw,
    request: wamp::Id,
    procedure: &str,
    options: Dict,
) -> (wamp::Id, Dict) {
    caller.send(&call(request, procedure, options)).await;
    invocation(callee).await
}

/// CANCEL of the call `request`.
fn cancel(request: wamp::Id, options: Dict) -> Message {
    Message::Cancel { request, options }
}

/// YIELD for the invocation `request`.
fn yield_(request: wamp::Id, options: Dict, payload: Payload) -> Message {
    Message::Yield {
        request,
        options,
        payload,
    }
}

/// Callee features for cancelable calls with progressive results.
fn cancelable() -> Dict {
    dict! {"call_canceling" => true, "progressive_call_results" => true}
}

#[tokio::test]
async fn cancel_killnowait_interrupts_and_answers_at_once() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.c", cancelable()).await;
    let (mut caller, _) = Raw::join(&url(&router, Transport::Ws), Serializer::Msgpack).await;
    let (inv, _) = invoke(&mut caller, &mut callee, 7, "com.c", Dict::new()).await;
    caller.send(&cancel(7, Dict::new())).await;
    let (request_type, request, error, _) = caller.expect_error().await;
    assert_eq!(
        (request_type, request, error.as_str()),
        (code::CALL, 7, "wamp.error.canceled")
    );
    let (request, options) = interrupt(&mut callee).await;
    assert_eq!(request, inv);
    assert_eq!(
        options.get("mode").and_then(Value::as_str),
        Some("killnowait")
    );
    // A late YIELD is dropped: the caller gets nothing more (checked with a second call).
    callee
        .send(&yield_(inv, Dict::new(), Payload::empty()))
        .await;
    let (inv2, _) = invoke(&mut caller, &mut callee, 8, "com.c", Dict::new()).await;
    callee
        .send(&yield_(inv2, Dict::new(), Payload::empty()))
        .await;
    assert!(matches!(
        caller.recv().await,
        Some(Message::Result { request: 8, .. })
    ));
    router.shutdown().await;
}

#[tokio::test]
async fn cancel_kill_waits_for_the_callees_error() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.k", cancelable()).await;
    let (mut caller, _) = Raw::join(&url(&router, Transport::Rs), Serializer::Json).await;
    let (inv, _) = invoke(&mut caller, &mut callee, 3, "com.k", Dict::new()).await;
    caller.send(&cancel(3, dict! {"mode" => "kill"})).await;
    assert_eq!(interrupt(&mut callee).await.0, inv);
    callee
        .send(&Message::error(
            code::INVOCATION,
            inv,
            "wamp.error.canceled",
            Some("stopped".into()),
        ))
        .await;
    let (_, request, error, payload) = caller.expect_error().await;
    assert_eq!((request, error.as_str()), (3, "wamp.error.canceled"));
    assert_eq!(payload.args().unwrap(), vec![Value::from("stopped")]);
    router.shutdown().await;
}

#[tokio::test]
async fn callees_without_call_canceling_get_no_interrupt() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.n", Dict::new()).await;
    let (mut caller, _) = Raw::join(&url(&router, Transport::Rs), Serializer::Json).await;
    let (inv, _) = invoke(&mut caller, &mut callee, 1, "com.n", Dict::new()).await;
    caller.send(&cancel(1, dict! {"mode" => "kill"})).await;
    let (_, request, error, _) = caller.expect_error().await;
    assert_eq!((request, error.as_str()), (1, "wamp.error.canceled"));
    // The next thing the callee sees is the next invocation, not an INTERRUPT.
    let (inv2, _) = invoke(&mut caller, &mut callee, 2, "com.n", Dict::new()).await;
    assert_ne!(inv, inv2);
    // An unknown mode is a wrongly typed option: the session ends with an ABORT naming it.
    caller.send(&cancel(2, dict! {"mode" => "now"})).await;
    match caller.recv().await {
        Some(Message::Abort { reason, details }) => {
            assert_eq!(reason, "wamp.error.protocol_violation");
            let message = details.get("message").and_then(Value::as_str);
            assert!(
                message.is_some_and(|m| m.starts_with("CANCEL.Options.mode")),
                "{message:?}"
            );
        }
        other => panic!("expected an ABORT, got {other:?}"),
    }
    router.shutdown().await;
}

#[tokio::test]
async fn a_caller_leaving_interrupts_its_callee() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.l", cancelable()).await;
    let (mut caller, _) = Raw::join(&url(&router, Transport::Rs), Serializer::Json).await;
    let (inv, _) = invoke(&mut caller, &mut callee, 1, "com.l", Dict::new()).await;
    caller
        .send(&Message::Goodbye {
            details: Dict::new(),
            reason: "wamp.close.normal".into(),
        })
        .await;
    assert!(
        matches!(caller.recv().await, Some(Message::Goodbye { ref reason, .. }) if reason == "wamp.close.goodbye_and_out")
    );
    assert_eq!(interrupt(&mut callee).await.0, inv);
    router.shutdown().await;
}

#[tokio::test]
async fn progressive_results_reach_callers_that_asked() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.prog", cancelable()).await;
    let (mut caller, _) = Raw::join(&url(&router, Transport::Ws), Serializer::Json).await;
    for (request, asked) in [(1, true), (2, false)] {
        let options = if asked {
            dict! {"receive_progress" => true}
        } else {
            Dict::new()
        };
        let (inv, details) = invoke(&mut caller, &mut callee, request, "com.prog", options).await;
        assert_eq!(details.get("receive_progress").is_some(), asked);
        for i in 0..3 {
            let payload = Payload::from_args(vec![i.into()]);
            callee
                .send(&yield_(inv, dict! {"progress" => true}, payload))
                .await;
        }
        let done = Payload::from_args(vec!["done".into()]);
        callee.send(&yield_(inv, Dict::new(), done)).await;
        let mut got = Vec::new();
        loop {
            match caller.recv().await {
                Some(Message::Result {
                    request: r,
                    details,
                    payload,
                }) => {
                    assert_eq!(r, request);
                    let progress = details.get("progress").and_then(Value::as_bool) == Some(true);
                    got.push(payload.args().unwrap()[0].clone());
                    if !progress {
                        break;
                    }
                }
                other => panic!("expected RESULT, got {other:?}"),
            }
        }
        let expected: Vec<Value> = if asked {
            vec![0.into(), 1.into(), 2.into(), "done".into()]
        } else {
            vec!["done".into()]
        };
        assert_eq!(got, expected);
    }
    router.shutdown().await;
}

#[tokio::test]
async fn wildcard_precedence_follows_the_spec() {
    let router = start().await;
    let callee = join(&router, Transport::Rs, Serializer::Json).await;
    let caller = join(&router, Transport::Rs, Serializer::Json).await;
    let mut a = register(&callee, "com..longname.y", matching("wildcard")).await;
    let mut b = register(&callee, "com.a..y", matching("wildcard")).await;
    let pending = spawn_call(caller, "com.a.longname.y");
    let inv = next_invocation(&mut b).await;
    inv.reply(Ok(Payload::empty())).await.unwrap();
    within("the result", pending).await.unwrap().unwrap();
    assert!(a.invocations.try_recv().is_err());
    router.shutdown().await;
}

#[tokio::test]
async fn answers_too_large_for_the_caller_become_payload_size_exceeded() {
    let router = start().await;
    let callee = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let big = register(&callee, "com.big", Dict::new()).await;
    serve(big, |_| {
        Ok(Payload::from_args(vec![Value::Bytes(vec![1; 4096])]))
    });
    // A caller that announces the smallest RawSocket limit (512 bytes).
    let rs = url(&router, Transport::Rs);
    let mut caller = Raw::connect_with_limit(&rs, Serializer::Msgpack, 512).await;
    caller
        .hello(dict! {"caller" => Value::Dict(Dict::new())})
        .await;
    caller.send(&call(1, "com.big", Dict::new())).await;
    let (_, request, error, _) = caller.expect_error().await;
    assert_eq!(
        (request, error.as_str()),
        (1, "wamp.error.payload_size_exceeded")
    );
    router.shutdown().await;
}

#[tokio::test]
async fn acknowledged_publications_to_invalid_uris_get_an_error() {
    let router = start().await;
    let (mut raw, _) = Raw::join(&url(&router, Transport::Rs), Serializer::Json).await;
    raw.send_bytes(bytes::Bytes::from_static(br#"[16, 4, {}, "com..t"]"#))
        .await;
    raw.send_bytes(bytes::Bytes::from_static(
        br#"[16, 5, {"acknowledge": true}, "com..t"]"#,
    ))
    .await;
    // The ERROR is for request 5 only: the unacknowledged request 4 gets no answer.
    let (request_type, request, error, _) = raw.expect_error().await;
    assert_eq!(
        (request_type, request, error.as_str()),
        (code::PUBLISH, 5, "wamp.error.invalid_uri")
    );
    drop(raw);
    router.shutdown().await;
}

#[tokio::test]
async fn hello_without_roles_is_a_protocol_violation() {
    let router = start().await;
    let mut raw = Raw::connect(&url(&router, Transport::Rs), Serializer::Json).await;
    raw.send(&Message::Hello {
        realm: "realm1".into(),
        details: Dict::new(),
    })
    .await;
    raw.expect_abort("wamp.error.protocol_violation").await;
    router.shutdown().await;
}

#[tokio::test]
async fn a_wrongly_typed_hello_detail_is_an_abort_naming_it() {
    let router = start().await;
    let mut raw = Raw::connect(&url(&router, Transport::Rs), Serializer::Json).await;
    let features = dict! {"call_canceling" => "yes"};
    let roles = dict! {"callee" => Value::Dict(dict! {"features" => Value::Dict(features)})};
    raw.send(&Message::Hello {
        realm: "realm1".into(),
        details: dict! {"roles" => Value::Dict(roles)},
    })
    .await;
    match raw.recv().await {
        Some(Message::Abort { reason, details }) => {
            assert_eq!(reason, "wamp.error.protocol_violation");
            assert_eq!(
                details.get("message").and_then(Value::as_str),
                Some(
                    "HELLO.Details.roles.callee.features.call_canceling must be a boolean, \
                     got \"yes\""
                )
            );
        }
        other => panic!("expected an ABORT, got {other:?}"),
    }
    router.shutdown().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_hello_timeout() {
    let options = wamp_router::RouterOptions {
        hello_timeout: std::time::Duration::from_millis(200),
        ..test_options()
    };
    let router = start_with_options(options).await;
    let mut raw = Raw::connect(&url(&router, Transport::Ws), Serializer::Json).await;
    raw.expect_abort("wamp.error.protocol_violation").await;
    router.shutdown().await;
}
