//! **[ours]** Session administration beyond Crossbar: `wampstat.session.summary` (the
//! operator's, in the embedded default), over real sockets.

mod common;

use common::*;
use wamp::auth::{Credentials, Login};
use wamp::client::ClientError;
use wamp::{Dict, Serializer, Session, SessionOptions, Value, dict};

/// The operator of [`default_config`] joins realm1 (or is refused).
async fn operator(router: &wamp_router::Router) -> Result<Session, ClientError> {
    Session::join(
        &url(router, Transport::Rs),
        "realm1",
        SessionOptions {
            login: Login {
                authid: Some("operator".into()),
                credentials: Credentials::Ticket(OPERATOR_TICKET.into()),
            },
            ..SessionOptions::default()
        },
    )
    .await
}

/// An anonymous session over `transport` with `serializer` joins realm1 (or is refused).
async fn anonymous(
    router: &wamp_router::Router,
    transport: Transport,
    serializer: Serializer,
) -> Result<Session, ClientError> {
    join_url(&url(router, transport), "realm1", serializer).await
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
