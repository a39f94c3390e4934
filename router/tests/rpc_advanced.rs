//! Advanced-profile RPC: cancel modes, progressive results, pattern precedence, size limits.

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

fn cancelable() -> Dict {
    dict! {"call_canceling" => true, "progressive_call_results" => true}
}

#[tokio::test]
async fn cancel_killnowait_interrupts_and_answers_at_once() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.c", cancelable()).await;
    let (mut caller, _) = Raw::join(&url(&router, Transport::Ws), Serializer::Msgpack).await;
    caller
        .send(&Message::Call {
            request: 7,
            options: Dict::new(),
            procedure: "com.c".into(),
            payload: Payload::empty(),
        })
        .await;
    let (inv, _) = invocation(&mut callee).await;
    caller
        .send(&Message::Cancel {
            request: 7,
            options: Dict::new(),
        })
        .await;
    match caller.recv().await {
        Some(Message::Error {
            request_type: code::CALL,
            request: 7,
            error,
            ..
        }) => assert_eq!(error, "wamp.error.canceled"),
        other => panic!("expected ERROR canceled, got {other:?}"),
    }
    match callee.recv().await {
        Some(Message::Interrupt { request, options }) => {
            assert_eq!(request, inv);
            assert_eq!(
                options.get("mode").and_then(Value::as_str),
                Some("killnowait")
            );
        }
        other => panic!("expected INTERRUPT, got {other:?}"),
    }
    // A late YIELD is dropped: the caller gets nothing more (checked with a second call).
    callee
        .send(&Message::Yield {
            request: inv,
            options: Dict::new(),
            payload: Payload::empty(),
        })
        .await;
    caller
        .send(&Message::Call {
            request: 8,
            options: Dict::new(),
            procedure: "com.c".into(),
            payload: Payload::empty(),
        })
        .await;
    let (inv2, _) = invocation(&mut callee).await;
    callee
        .send(&Message::Yield {
            request: inv2,
            options: Dict::new(),
            payload: Payload::empty(),
        })
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
    caller
        .send(&Message::Call {
            request: 3,
            options: Dict::new(),
            procedure: "com.k".into(),
            payload: Payload::empty(),
        })
        .await;
    let (inv, _) = invocation(&mut callee).await;
    caller
        .send(&Message::Cancel {
            request: 3,
            options: dict! {"mode" => "kill"},
        })
        .await;
    assert!(
        matches!(callee.recv().await, Some(Message::Interrupt { request, .. }) if request == inv)
    );
    callee
        .send(&Message::error(
            code::INVOCATION,
            inv,
            "wamp.error.canceled",
            Some("stopped".into()),
        ))
        .await;
    match caller.recv().await {
        Some(Message::Error {
            request: 3,
            error,
            payload,
            ..
        }) => {
            assert_eq!(error, "wamp.error.canceled");
            assert_eq!(payload.args().unwrap(), vec![Value::from("stopped")]);
        }
        other => panic!("expected the callee's ERROR, got {other:?}"),
    }
    router.shutdown().await;
}

#[tokio::test]
async fn callees_without_call_canceling_get_no_interrupt() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.n", Dict::new()).await;
    let (mut caller, _) = Raw::join(&url(&router, Transport::Rs), Serializer::Json).await;
    caller
        .send(&Message::Call {
            request: 1,
            options: Dict::new(),
            procedure: "com.n".into(),
            payload: Payload::empty(),
        })
        .await;
    let (inv, _) = invocation(&mut callee).await;
    caller
        .send(&Message::Cancel {
            request: 1,
            options: dict! {"mode" => "kill"},
        })
        .await;
    assert!(
        matches!(caller.recv().await, Some(Message::Error { request: 1, ref error, .. }) if error == "wamp.error.canceled")
    );
    // The next thing the callee sees is the next invocation, not an INTERRUPT.
    caller
        .send(&Message::Call {
            request: 2,
            options: Dict::new(),
            procedure: "com.n".into(),
            payload: Payload::empty(),
        })
        .await;
    let (inv2, _) = invocation(&mut callee).await;
    assert_ne!(inv, inv2);
    // An unknown mode is refused.
    caller
        .send(&Message::Cancel {
            request: 2,
            options: dict! {"mode" => "now"},
        })
        .await;
    match caller.recv().await {
        Some(Message::Error {
            request_type: code::CANCEL,
            error,
            ..
        }) => assert_eq!(error, "wamp.error.invalid_argument"),
        other => panic!("expected ERROR invalid_argument, got {other:?}"),
    }
    router.shutdown().await;
}

#[tokio::test]
async fn a_caller_leaving_interrupts_its_callee() {
    let router = start().await;
    let mut callee = raw_callee(&router, "com.l", cancelable()).await;
    let (mut caller, _) = Raw::join(&url(&router, Transport::Rs), Serializer::Json).await;
    caller
        .send(&Message::Call {
            request: 1,
            options: Dict::new(),
            procedure: "com.l".into(),
            payload: Payload::empty(),
        })
        .await;
    let (inv, _) = invocation(&mut callee).await;
    caller
        .send(&Message::Goodbye {
            details: Dict::new(),
            reason: "wamp.close.normal".into(),
        })
        .await;
    assert!(
        matches!(caller.recv().await, Some(Message::Goodbye { ref reason, .. }) if reason == "wamp.close.goodbye_and_out")
    );
    assert!(
        matches!(callee.recv().await, Some(Message::Interrupt { request, .. }) if request == inv)
    );
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
        caller
            .send(&Message::Call {
                request,
                options,
                procedure: "com.prog".into(),
                payload: Payload::empty(),
            })
            .await;
        let (inv, details) = invocation(&mut callee).await;
        assert_eq!(details.get("receive_progress").is_some(), asked);
        for i in 0..3 {
            let payload = Payload::from_args(vec![i.into()]);
            callee
                .send(&Message::Yield {
                    request: inv,
                    options: dict! {"progress" => true},
                    payload,
                })
                .await;
        }
        callee
            .send(&Message::Yield {
                request: inv,
                options: Dict::new(),
                payload: Payload::from_args(vec!["done".into()]),
            })
            .await;
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
    let mut a = callee
        .register("com..longname.y", dict! {"match" => "wildcard"})
        .await
        .unwrap();
    let mut b = callee
        .register("com.a..y", dict! {"match" => "wildcard"})
        .await
        .unwrap();
    let call = tokio::spawn(async move {
        caller
            .call("com.a.longname.y", Payload::empty(), Dict::new())
            .await
            .map(|_| ())
    });
    let inv = within("the invocation", b.invocations.recv())
        .await
        .unwrap();
    inv.reply(Ok(Payload::empty())).await.unwrap();
    within("the result", call).await.unwrap().unwrap();
    assert!(a.invocations.try_recv().is_err());
    router.shutdown().await;
}

#[tokio::test]
async fn answers_too_large_for_the_caller_become_payload_size_exceeded() {
    let router = start().await;
    let callee = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let mut reg = callee.register("com.big", Dict::new()).await.unwrap();
    tokio::spawn(async move {
        while let Some(inv) = reg.invocations.recv().await {
            let _ = inv
                .reply(Ok(Payload::from_args(vec![Value::Bytes(vec![1; 4096])])))
                .await;
        }
    });
    // A caller that announces the smallest RawSocket limit (512 bytes).
    let conn =
        wamp::client::connect_transport(&url(&router, Transport::Rs), Serializer::Msgpack, 512)
            .await
            .unwrap();
    let mut caller = Raw {
        serializer: Serializer::Msgpack,
        reader: conn.reader,
        writer: conn.writer,
    };
    caller
        .send(&Message::Hello {
            realm: "realm1".into(),
            details: dict! {"roles" => Value::Dict(dict! {"caller" => Value::Dict(Dict::new())})},
        })
        .await;
    assert!(matches!(caller.recv().await, Some(Message::Welcome { .. })));
    caller
        .send(&Message::Call {
            request: 1,
            options: Dict::new(),
            procedure: "com.big".into(),
            payload: Payload::empty(),
        })
        .await;
    match caller.recv().await {
        Some(Message::Error {
            request: 1, error, ..
        }) => assert_eq!(error, "wamp.error.payload_size_exceeded"),
        other => panic!("expected ERROR payload_size_exceeded, got {other:?}"),
    }
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
    match raw.recv().await {
        Some(Message::Error {
            request_type: code::PUBLISH,
            request: 5,
            error,
            ..
        }) => assert_eq!(error, "wamp.error.invalid_uri"),
        other => panic!("expected ERROR for request 5 only, got {other:?}"),
    }
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
async fn a_silent_connection_is_closed_after_the_hello_timeout() {
    let options = wamp_router::RouterOptions {
        hello_timeout: std::time::Duration::from_millis(200),
        ..test_options()
    };
    let router = start_with(default_config(), options).await;
    let mut raw = Raw::connect(&url(&router, Transport::Ws), Serializer::Json).await;
    raw.expect_abort("wamp.error.protocol_violation").await;
    router.shutdown().await;
}
