//! **[ours]** Session administration beyond Crossbar: `wampstat.session.summary` (the
//! operator's, in the embedded default) and a realm's `max_sessions` and
//! `max_sessions_per_authid`, over real sockets.

mod common;

use common::*;
use wamp::client::ClientError;
use wamp::{Dict, Serializer, Session, Value, dict};

const TOO_MANY: &str = "wampstat.error.too_many_sessions";

/// The operator of [`default_config`] joins realm1 (or is refused).
async fn operator(router: &wamp_router::Router) -> Result<Session, ClientError> {
    try_join_operator(router, Transport::Rs).await
}

/// An anonymous session over `transport` with `serializer` joins realm1 (or is refused).
async fn anonymous(
    router: &wamp_router::Router,
    transport: Transport,
    serializer: Serializer,
) -> Result<Session, ClientError> {
    join_url(&url(router, transport), "realm1", serializer).await
}

/// The ABORT's message, after checking that its reason is [`TOO_MANY`].
fn too_many(result: Result<Session, ClientError>) -> String {
    match result {
        Err(ClientError::Aborted { reason, message }) => {
            assert_eq!(reason, TOO_MANY, "{message}");
            message
        }
        Err(other) => panic!("expected ABORT, got {other}"),
        Ok(s) => panic!("joined as {:?}", s.welcome()),
    }
}

/// The summary's kwargs, as `session` gets them.
async fn summary(session: &Session) -> Dict {
    let r = call(session, "wampstat.session.summary")
        .await
        .expect("the summary");
    assert!(r.payload.args().unwrap().is_empty(), "no positional result");
    r.payload.kwargs().unwrap()
}

fn authid(s: &Session) -> String {
    s.welcome()["authid"].as_str().expect("authid").to_owned()
}

fn counts(pairs: &[(&str, u64)]) -> Value {
    Value::Dict(
        pairs
            .iter()
            .map(|(k, n)| ((*k).to_owned(), (*n).into()))
            .collect(),
    )
}

/// The summary counts exactly the joined sessions: by authrole, authid, transport and
/// serializer, and the total; one that leaves is no longer counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_counts_sessions_by_role_authid_transport_and_serializer() {
    let router = start().await;
    let op = operator(&router).await.expect("the operator joins"); // rawsocket, json
    let a = anonymous(&router, Transport::Ws, Serializer::Msgpack)
        .await
        .unwrap();
    let b = anonymous(&router, Transport::Ws, Serializer::Msgpack)
        .await
        .unwrap();
    let (ida, idb) = (authid(&a), authid(&b));
    assert_ne!(ida, idb);
    let expected = dict! {
        "total" => 3,
        "by_authrole" => counts(&[("anonymous", 2), ("operator", 1)]),
        "by_authid" => counts(&[(ida.as_str(), 1), (idb.as_str(), 1), ("operator", 1)]),
        "by_transport" => counts(&[("rawsocket", 1), ("websocket", 2)]),
        "by_serializer" => counts(&[("json", 1), ("msgpack", 2)]),
    };
    let got = summary(&op).await;
    assert_eq!(got, expected);
    // In that key order, too.
    let keys: Vec<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "total",
            "by_authrole",
            "by_authid",
            "by_transport",
            "by_serializer"
        ]
    );
    a.leave("wamp.close.normal").await.unwrap();
    let expected = dict! {
        "total" => 2,
        "by_authrole" => counts(&[("anonymous", 1), ("operator", 1)]),
        "by_authid" => counts(&[(idb.as_str(), 1), ("operator", 1)]),
        "by_transport" => counts(&[("rawsocket", 1), ("websocket", 1)]),
        "by_serializer" => counts(&[("json", 1), ("msgpack", 1)]),
    };
    assert_eq!(summary(&op).await, expected);
    router.shutdown().await;
}

/// In the embedded default the summary is session administration: anonymous may not call it,
/// the operator may.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_default_only_the_operator_may_call_the_summary() {
    let router = start().await;
    let anon = join(&router, Transport::Ws, Serializer::Json).await;
    assert_wamp_error(
        call(&anon, "wampstat.session.summary").await,
        "wamp.error.not_authorized",
    );
    let op = operator(&router).await.expect("the operator joins");
    assert_eq!(summary(&op).await["total"], Value::from(2));
    router.shutdown().await;
}

/// `max_sessions`: the HELLO that would exceed it gets ABORT naming the limit and its value,
/// on either transport; a session that leaves frees its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_sessions_refuses_the_next_hello_until_one_leaves() {
    let router = start_configured(|c| c.realms[0].max_sessions = Some(2)).await;
    let first = anonymous(&router, Transport::Ws, Serializer::Json)
        .await
        .unwrap();
    let _second = operator(&router).await.expect("the operator joins");
    let message = too_many(anonymous(&router, Transport::Rs, Serializer::Cbor).await);
    assert!(message.contains("max_sessions is 2"), "{message}");
    // The same by hand: ABORT, then the connection ends.
    let mut raw = Raw::connect(&url(&router, Transport::Ws), Serializer::Msgpack).await;
    raw.send(&wamp::Message::Hello {
        realm: "realm1".into(),
        details: dict! {"roles" => Value::Dict(dict! {"subscriber" => Value::Dict(Dict::new())})},
    })
    .await;
    raw.expect_abort(TOO_MANY).await;
    // The router detaches a leaving session before it answers GOODBYE.
    first.leave("wamp.close.normal").await.unwrap();
    let third = anonymous(&router, Transport::Rs, Serializer::Cbor)
        .await
        .expect("a place is free again");
    too_many(anonymous(&router, Transport::Ws, Serializer::Json).await);
    drop(third);
    router.shutdown().await;
}

/// Of many concurrent HELLOs, exactly `max_sessions` are welcomed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hellos_do_not_exceed_max_sessions() {
    let router = start_configured(|c| c.realms[0].max_sessions = Some(3)).await;
    let ws = url(&router, Transport::Ws);
    let tries: Vec<_> = (0..12)
        .map(|_| {
            let ws = ws.clone();
            tokio::spawn(async move { join_url(&ws, "realm1", Serializer::Json).await })
        })
        .collect();
    let mut joined = Vec::new();
    let mut refused = 0;
    for t in tries {
        match within("a HELLO's answer", t).await.expect("no panic") {
            Ok(s) => joined.push(s),
            other => {
                too_many(other);
                refused += 1;
            }
        }
    }
    assert_eq!((joined.len(), refused), (3, 9));
    router.shutdown().await;
}

/// `max_sessions_per_authid`: a second session of the operator's authid is refused, others'
/// are not; once the first left, the operator may join again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_sessions_per_authid_refuses_a_second_session_of_one_authid() {
    let router = start_configured(|c| c.realms[0].max_sessions_per_authid = Some(1)).await;
    let op = operator(&router).await.expect("the operator joins");
    let message = too_many(operator(&router).await);
    assert!(
        message.contains("max_sessions_per_authid is 1") && message.contains("\"operator\""),
        "{message}"
    );
    // Anonymous sessions each have their own authid.
    let _a = anonymous(&router, Transport::Ws, Serializer::Json)
        .await
        .unwrap();
    let _b = anonymous(&router, Transport::Rs, Serializer::Msgpack)
        .await
        .unwrap();
    op.leave("wamp.close.normal").await.unwrap();
    let op = operator(&router)
        .await
        .expect("the operator's place is free");
    let by_authid = &summary(&op).await["by_authid"];
    assert_eq!(by_authid.get("operator"), Some(&Value::from(1)));
    router.shutdown().await;
}
