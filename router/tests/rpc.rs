//! Remote procedure calls over real sockets.
// Handlers return `Result<Payload, WampError>`, the shape `Invocation::reply` takes.
#![allow(clippy::result_large_err)]

mod common;

use common::*;
use wamp::client::{ClientError, WampError};
use wamp::{Dict, Payload, Serializer, Value, dict};

#[tokio::test]
async fn call_result_error_and_no_such_procedure_over_every_combo() {
    let router = start().await;
    for (transport, ser) in COMBOS {
        let callee = join(&router, transport, ser).await;
        let caller = join(&router, transport, ser).await;
        let add = register(&callee, "com.example.add", Dict::new()).await;
        serve(add, |args| {
            let sum: i64 = args.iter().filter_map(Value::as_i64).sum();
            Ok(Payload::from_args(vec![sum.into()]))
        });
        let fail = register(&callee, "com.example.fail", Dict::new()).await;
        serve(fail, |_| {
            Err(WampError {
                error: "com.example.error.failed".into(),
                details: Dict::new(),
                payload: Payload::new(vec!["boom".into()], dict! {"code" => 7}),
            })
        });
        let r = caller
            .call(
                "com.example.add",
                Payload::from_args(vec![2.into(), 3.into()]),
                Dict::new(),
            )
            .await
            .unwrap();
        assert_eq!(
            r.payload.args().unwrap(),
            vec![Value::Int(5)],
            "{transport:?}/{ser}"
        );
        let e = call(&caller, "com.example.fail").await.unwrap_err();
        let wamp::client::ClientError::Wamp(e) = e else {
            panic!("expected an ERROR, got {e}")
        };
        assert_eq!(e.error, "com.example.error.failed");
        assert_eq!(e.payload.args().unwrap(), vec![Value::from("boom")]);
        assert_eq!(e.payload.kwargs().unwrap(), dict! {"code" => 7});
        assert_wamp_error(
            call(&caller, "com.example.nothing").await,
            "wamp.error.no_such_procedure",
        );
        assert_wamp_error(
            caller.register("com.example.add", Dict::new()).await,
            "wamp.error.procedure_already_exists",
        );
        callee.leave("wamp.close.normal").await.unwrap();
        caller.leave("wamp.close.normal").await.unwrap();
    }
    router.shutdown().await;
}

#[tokio::test]
async fn large_payloads_cross_serializers() {
    let router = start().await;
    let callee = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let caller = join(&router, Transport::Ws, Serializer::Json).await;
    let echo = register(&callee, "com.echo", Dict::new()).await;
    serve(echo, |args| Ok(Payload::from_args(args)));
    let big = "x".repeat(200_000);
    let bytes = Value::Bytes((0..100_000u32).map(|i| i as u8).collect());
    let r = caller
        .call(
            "com.echo",
            Payload::from_args(vec![big.clone().into(), bytes.clone()]),
            Dict::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.payload.args().unwrap(), vec![Value::from(big), bytes]);
    router.shutdown().await;
}

#[tokio::test]
async fn cbor_calls_cross_serializers_with_binary_intact() {
    let router = start().await;
    let bytes = Value::Bytes((0..70_000u32).map(|i| (i * 7) as u8).collect());
    let args = vec![
        bytes.clone(),
        Value::UInt(u64::MAX),
        Value::Float(-2.5e-300),
    ];
    for (callee_ser, caller_ser) in [
        (Serializer::Cbor, Serializer::Json),
        (Serializer::Json, Serializer::Cbor),
        (Serializer::Cbor, Serializer::Msgpack),
        (Serializer::Msgpack, Serializer::Cbor),
        (Serializer::Cbor, Serializer::Cbor),
    ] {
        let callee = join(&router, Transport::Rs, callee_ser).await;
        let caller = join(&router, Transport::Ws, caller_ser).await;
        let echo = register(&callee, "com.echo", Dict::new()).await;
        serve(echo, |args| Ok(Payload::from_args(args)));
        let r = caller
            .call("com.echo", Payload::from_args(args.clone()), Dict::new())
            .await
            .unwrap();
        assert_eq!(r.payload.args().unwrap(), args, "{caller_ser}→{callee_ser}");
        callee.leave("wamp.close.normal").await.unwrap();
        caller.leave("wamp.close.normal").await.unwrap();
    }
    router.shutdown().await;
}

#[tokio::test]
async fn callee_leaving_mid_call_cancels_the_call() {
    let router = start().await;
    let callee = join(&router, Transport::Rs, Serializer::Json).await;
    let caller = join(&router, Transport::Ws, Serializer::Msgpack).await;
    let mut reg = register(&callee, "com.slow", Dict::new()).await;
    let caller = std::sync::Arc::new(caller);
    let pending = spawn_call(std::sync::Arc::clone(&caller), "com.slow");
    // The invocation reached the callee; it leaves without answering.
    drop(next_invocation(&mut reg).await);
    callee.leave("wamp.close.normal").await.unwrap();
    let r = within("the canceled call", pending).await.unwrap();
    assert_wamp_error(r, "wamp.error.canceled");
    // The procedure is gone with its callee.
    assert_wamp_error(
        call(&caller, "com.slow").await,
        "wamp.error.no_such_procedure",
    );
    router.shutdown().await;
}

#[tokio::test]
async fn callee_dropping_its_connection_mid_call_cancels_the_call() {
    let router = start().await;
    let url = url(&router, Transport::Rs);
    let callee = join_url(&url, "realm1", Serializer::Msgpack).await.unwrap();
    let caller = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let mut reg = register(&callee, "com.drop", Dict::new()).await;
    let pending = spawn_call(caller, "com.drop");
    next_invocation(&mut reg).await;
    drop(reg);
    drop(callee); // no GOODBYE: the client's tasks end and the socket closes
    let r = within("the canceled call", pending).await.unwrap();
    assert_wamp_error(r, "wamp.error.canceled");
    router.shutdown().await;
}

#[tokio::test]
async fn pattern_registrations_pass_the_procedure_and_prefer_the_longest_prefix() {
    let router = start().await;
    let callee = join(&router, Transport::Rs, Serializer::Json).await;
    let caller = join(&router, Transport::Rs, Serializer::Json).await;
    let mut short = register(&callee, "com.p", matching("prefix")).await;
    let mut long = register(&callee, "com.p.q", matching("prefix")).await;
    let mut wild = register(&callee, "com..w", matching("wildcard")).await;
    let calls = tokio::spawn(async move {
        let mut results = Vec::new();
        for procedure in ["com.p.q.r", "com.x.w", "com.pz"] {
            results.push(call(&caller, procedure).await.map(|_| ()));
        }
        results
    });
    for (reg, procedure) in [
        (&mut long, "com.p.q.r"),
        (&mut wild, "com.x.w"),
        (&mut short, "com.pz"),
    ] {
        let inv = next_invocation(reg).await;
        assert_eq!(
            inv.details.get("procedure").and_then(Value::as_str),
            Some(procedure)
        );
        inv.reply(Ok(Payload::empty())).await.unwrap();
    }
    for r in within("the calls", calls).await.unwrap() {
        r.unwrap();
    }
    router.shutdown().await;
}

#[tokio::test]
async fn shared_registrations_round_robin() {
    let router = start().await;
    let one = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let two = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let caller = join(&router, Transport::Ws, Serializer::Json).await;
    let rr = dict! {"invoke" => "roundrobin"};
    let r1 = one.register("com.rr", rr.clone()).await.unwrap();
    let r2 = two.register("com.rr", rr).await.unwrap();
    assert_eq!(r1.id, r2.id);
    assert_wamp_error(
        caller
            .register("com.rr", dict! {"invoke" => "single"})
            .await,
        "wamp.error.procedure_already_exists",
    );
    let (id1, id2) = (one.id(), two.id());
    serve(r1, move |_| Ok(Payload::from_args(vec![id1.into()])));
    serve(r2, move |_| Ok(Payload::from_args(vec![id2.into()])));
    let mut seen = Vec::new();
    for _ in 0..4 {
        let r = call(&caller, "com.rr").await.unwrap();
        seen.push(r.payload.args().unwrap()[0].as_u64().unwrap());
    }
    assert_eq!(seen[0], seen[2]);
    assert_eq!(seen[1], seen[3]);
    assert_ne!(seen[0], seen[1]);
    router.shutdown().await;
}

#[tokio::test]
async fn caller_is_disclosed_by_the_default_role() {
    let router = start().await;
    let callee = join(&router, Transport::Rs, Serializer::Json).await;
    let caller = join(&router, Transport::Rs, Serializer::Json).await;
    let caller_id = caller.id();
    let mut reg = register(&callee, "com.who", Dict::new()).await;
    let c = spawn_call(caller, "com.who");
    let inv = next_invocation(&mut reg).await;
    assert_eq!(
        inv.details.get("caller").and_then(Value::as_u64),
        Some(caller_id)
    );
    inv.reply(Ok(Payload::empty())).await.unwrap();
    within("the result", c).await.unwrap().unwrap();
    router.shutdown().await;
}

#[tokio::test]
async fn registering_in_the_wamp_namespace_is_refused() {
    let router = start().await;
    let a = join(&router, Transport::Ws, Serializer::Json).await;
    assert_wamp_error(
        a.register("wamp.session.count", Dict::new()).await,
        "wamp.error.invalid_uri",
    );
    // An unknown match policy is a wrongly typed option: the session ends with an ABORT.
    match a.register("com.bad", matching("glob")).await {
        Err(ClientError::Closed(why)) => assert!(why.contains("protocol_violation"), "{why}"),
        other => panic!("expected the session to be aborted, got {other:?}"),
    }
    router.shutdown().await;
}
