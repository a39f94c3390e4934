//! Ticket, WAMP-CRA and cryptosign authentication over real sockets, with the crate's own
//! client: the outcome shows in WELCOME and in the meta API, and wrong secrets, unknown authids
//! and methods the transport does not offer are refused with the right URI — the same for an
//! unknown authid as for a wrong secret.

mod common;

use common::{COMBOS, DAVE_SEED, Transport, every_login_method, hex32, start_configured, url};
use wamp::auth::{Credentials, Login};
use wamp::client::ClientError;
use wamp::{Serializer, Session, SessionOptions, Value};
use wamp_router::Router;

/// A router on the default config whose transports offer every login method but anonymous
/// ([`every_login_method`]).
async fn router() -> Router {
    start_configured(|config| {
        for t in &mut config.transports {
            t.auth = every_login_method();
        }
    })
    .await
}

/// dave's Ed25519 private key.
fn dave() -> Credentials {
    Credentials::Cryptosign(hex32(DAVE_SEED))
}

/// A ticket.
fn ticket(t: &str) -> Credentials {
    Credentials::Ticket(t.into())
}

/// A WAMP-CRA secret.
fn cra(secret: &str) -> Credentials {
    Credentials::WampCra(secret.into())
}

async fn join_as(
    router: &Router,
    (transport, serializer): (Transport, Serializer),
    authid: &str,
    credentials: Credentials,
    realm: &str,
) -> Result<Session, ClientError> {
    Session::join(
        &url(router, transport),
        realm,
        SessionOptions {
            serializer,
            login: Login {
                authid: Some(authid.into()),
                credentials,
            },
            ..SessionOptions::default()
        },
    )
    .await
}

fn aborted(result: Result<Session, ClientError>) -> (String, String) {
    match result {
        Err(ClientError::Aborted { reason, message }) => (reason, message),
        Err(other) => panic!("expected ABORT, got {other}"),
        Ok(s) => panic!("joined as {:?}", s.welcome()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_logs_in_on_every_transport_and_serializer() {
    let router = router().await;
    for combo in COMBOS {
        for (authid, credentials, method) in [
            ("alice", ticket("alice's ticket"), "ticket"),
            ("bob", cra("bob's secret"), "wampcra"),
            ("carol", cra("carol's password"), "wampcra"),
            ("dave", dave(), "cryptosign"),
        ] {
            // alice's principal names realm1: she joins it whatever HELLO asked for.
            let realm = if authid == "alice" {
                "elsewhere"
            } else {
                "realm1"
            };
            let s = join_as(&router, combo, authid, credentials, realm)
                .await
                .unwrap_or_else(|e| panic!("{authid} over {combo:?}: {e}"));
            let w = s.welcome();
            assert_eq!(w.get("authid").and_then(Value::as_str), Some(authid));
            assert_eq!(w.get("authrole").and_then(Value::as_str), Some("anonymous"));
            assert_eq!(w.get("authmethod").and_then(Value::as_str), Some(method));
            assert_eq!(
                w.get("authprovider").and_then(Value::as_str),
                Some("static")
            );
            assert_eq!(w.get("realm").and_then(Value::as_str), Some("realm1"));
            // The meta API says the same.
            let got = s
                .call(
                    "wamp.session.get",
                    wamp::Payload::from_args(vec![s.id().into()]),
                    wamp::Dict::new(),
                )
                .await
                .expect("wamp.session.get");
            let details = got.payload.args().expect("args")[0].clone();
            assert_eq!(
                details.get("authmethod").and_then(Value::as_str),
                Some(method)
            );
            assert_eq!(details.get("authid").and_then(Value::as_str), Some(authid));
            s.leave("wamp.close.normal").await.expect("GOODBYE");
        }
    }
    router.shutdown().await;
}

/// The refusals of `known` and of an unknown authid, both with `credentials` that are wrong
/// for `known`: `wamp.error.not_authorized`, the same for both, without the real `secret`.
async fn same_refusal(
    router: &Router,
    known: &str,
    credentials: Credentials,
    secret: Option<&str>,
) {
    let combo = (Transport::Rs, Serializer::Json);
    let wrong = aborted(join_as(router, combo, known, credentials.clone(), "realm1").await);
    let unknown = aborted(join_as(router, combo, "mallory", credentials, "realm1").await);
    assert_eq!(wrong.0, "wamp.error.not_authorized");
    assert_eq!(wrong, unknown);
    assert!(secret.is_none_or(|s| !wrong.1.contains(s)), "{wrong:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_and_unknown_authids_get_the_same_refusal() {
    let router = router().await;
    let combo = (Transport::Rs, Serializer::Json);
    for (known, guess, secret) in [
        ("alice", ticket("guess"), "alice's ticket"),
        ("carol", cra("guess"), "carol's password"),
    ] {
        same_refusal(&router, known, guess, Some(secret)).await;
    }

    // Anonymous is not offered on these transports.
    let anonymous = aborted(join_as(&router, combo, "x", Credentials::Anonymous, "realm1").await);
    assert_eq!(anonymous.0, "wamp.error.no_auth_method");
    router.shutdown().await;
}

/// Repeated failures from one address are slowed down (the third waits at least 500 ms for
/// its refusal); a good login still gets in (that it forgets them is a unit test of
/// `session::penalty`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_from_one_address_are_slowed_down() {
    let router = router().await;
    let combo = (Transport::Rs, Serializer::Json);
    let guess = || ticket("guess");
    let mut took = Vec::new();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        aborted(join_as(&router, combo, "alice", guess(), "realm1").await);
        took.push(started.elapsed());
    }
    assert!(
        took[2] >= std::time::Duration::from_millis(500),
        "the third refusal came after {:?}",
        took[2]
    );
    let good = ticket("alice's ticket");
    join_as(&router, combo, "alice", good, "realm1")
        .await
        .expect("a good ticket still logs in");
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cryptosign_finds_the_principal_by_its_key_and_refuses_other_keys() {
    let router = router().await;
    // Without an authid, the principal is the one whose keys hold the announced key.
    let s = Session::join(
        &url(&router, Transport::Rs),
        "realm1",
        SessionOptions {
            login: Login {
                authid: None,
                credentials: dave(),
            },
            ..SessionOptions::default()
        },
    )
    .await
    .expect("found by its key");
    assert_eq!(
        s.welcome().get("authid").and_then(Value::as_str),
        Some("dave")
    );
    // Another key for dave, and an unknown key: the same refusal.
    same_refusal(&router, "dave", Credentials::Cryptosign([1; 32]), None).await;
    router.shutdown().await;
}

/// `auth.anonymous.realm`: anonymous sessions join that realm, whatever HELLO asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_realm_overrides_the_one_hello_asks_for() {
    let router = start_configured(|config| {
        for t in &mut config.transports {
            t.auth.anonymous_realm = Some("realm1".into());
        }
    })
    .await;
    let s = join_as(
        &router,
        (Transport::Rs, Serializer::Json),
        "x",
        Credentials::Anonymous,
        "no-such-realm",
    )
    .await
    .expect("joins realm1");
    assert_eq!(
        s.welcome().get("realm").and_then(Value::as_str),
        Some("realm1")
    );
    router.shutdown().await;
}
