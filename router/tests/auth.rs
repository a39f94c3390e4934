//! Ticket and WAMP-CRA authentication over real sockets, with the crate's own client: the
//! outcome shows in WELCOME and in the meta API, and wrong secrets, unknown authids and methods
//! the transport does not offer are refused with the right URI — the same for an unknown authid
//! as for a wrong secret.

mod common;

use common::{COMBOS, Transport, start_configured, url};
use wamp::auth::{Credentials, Login, wampcra_derive_key};
use wamp::client::ClientError;
use wamp::{Serializer, Session, SessionOptions, Value};
use wamp_router::Router;
use wamp_router::config::{AuthConfig, CraUser, Identity, KeyPrincipal, Principal, Salt, Secret};

/// dave's Ed25519 private key (its seed).
const DAVE: [u8; 32] = [9; 32];

/// The public key of `seed`, as the router's config lists it.
fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    let extra = Credentials::Cryptosign(*seed)
        .authextra()
        .expect("a pubkey");
    let hex = extra.get("pubkey").and_then(Value::as_str).expect("hex");
    hex::decode(hex)
        .expect("hex digits")
        .try_into()
        .expect("32 bytes")
}

/// The router's default config, its transports offering ticket (alice), WAMP-CRA (bob, plain;
/// carol, salted), cryptosign (dave) and no anonymous login.
async fn router() -> Router {
    let identity = |realm: Option<&str>| Identity {
        role: "anonymous".into(),
        realm: realm.map(str::to_owned),
    };
    start_configured(|config| {
        for t in &mut config.transports {
            t.auth = AuthConfig {
                anonymous: None,
                ticket: Some(
                    [(
                        "alice".to_owned(),
                        Principal {
                            ticket: Secret::new("alice's ticket"),
                            identity: identity(Some("realm1")),
                        },
                    )]
                    .into(),
                ),
                wampcra: Some(
                    [
                        (
                            "bob".to_owned(),
                            CraUser {
                                secret: Secret::new("bob's secret"),
                                identity: identity(None),
                                salt: None,
                            },
                        ),
                        (
                            "carol".to_owned(),
                            CraUser {
                                secret: Secret::new(wampcra_derive_key(
                                    "carol's password",
                                    "NaCl",
                                    100,
                                    32,
                                )),
                                identity: identity(None),
                                salt: Some(Salt {
                                    salt: "NaCl".into(),
                                    iterations: 100,
                                    keylen: 32,
                                }),
                            },
                        ),
                    ]
                    .into(),
                ),
                cryptosign: Some(
                    [(
                        "dave".to_owned(),
                        KeyPrincipal {
                            authorized_keys: vec![public_key(&DAVE)],
                            identity: identity(None),
                        },
                    )]
                    .into(),
                ),
            };
        }
    })
    .await
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
async fn ticket_and_wampcra_log_in_on_every_transport_and_serializer() {
    let router = router().await;
    for combo in COMBOS {
        for (authid, credentials, method) in [
            (
                "alice",
                Credentials::Ticket("alice's ticket".into()),
                "ticket",
            ),
            (
                "bob",
                Credentials::WampCra("bob's secret".into()),
                "wampcra",
            ),
            (
                "carol",
                Credentials::WampCra("carol's password".into()),
                "wampcra",
            ),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_and_unknown_authids_get_the_same_refusal() {
    let router = router().await;
    let combo = (Transport::Rs, Serializer::Json);
    let wrong_ticket = aborted(
        join_as(
            &router,
            combo,
            "alice",
            Credentials::Ticket("guess".into()),
            "realm1",
        )
        .await,
    );
    let unknown_ticket = aborted(
        join_as(
            &router,
            combo,
            "mallory",
            Credentials::Ticket("guess".into()),
            "realm1",
        )
        .await,
    );
    assert_eq!(wrong_ticket.0, "wamp.error.not_authorized");
    assert_eq!(wrong_ticket, unknown_ticket);
    assert!(!wrong_ticket.1.contains("alice's ticket"));

    let wrong_cra = aborted(
        join_as(
            &router,
            combo,
            "carol",
            Credentials::WampCra("guess".into()),
            "realm1",
        )
        .await,
    );
    let unknown_cra = aborted(
        join_as(
            &router,
            combo,
            "eve",
            Credentials::WampCra("guess".into()),
            "realm1",
        )
        .await,
    );
    assert_eq!(wrong_cra.0, "wamp.error.not_authorized");
    assert_eq!(wrong_cra, unknown_cra);

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
    let guess = || Credentials::Ticket("guess".into());
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
    let good = Credentials::Ticket("alice's ticket".into());
    join_as(&router, combo, "alice", good, "realm1")
        .await
        .expect("a good ticket still logs in");
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cryptosign_logs_in_with_an_authorized_key_with_or_without_an_authid() {
    let router = router().await;
    for combo in COMBOS {
        let s = join_as(
            &router,
            combo,
            "dave",
            Credentials::Cryptosign(DAVE),
            "realm1",
        )
        .await
        .unwrap_or_else(|e| panic!("dave over {combo:?}: {e}"));
        assert_eq!(
            s.welcome().get("authmethod").and_then(Value::as_str),
            Some("cryptosign")
        );
        s.leave("wamp.close.normal").await.expect("GOODBYE");
    }
    // Without an authid, the principal is the one whose keys hold the announced key.
    let s = Session::join(
        &url(&router, Transport::Rs),
        "realm1",
        SessionOptions {
            login: Login {
                authid: None,
                credentials: Credentials::Cryptosign(DAVE),
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
    let combo = (Transport::Rs, Serializer::Msgpack);
    let wrong = aborted(
        join_as(
            &router,
            combo,
            "dave",
            Credentials::Cryptosign([1; 32]),
            "realm1",
        )
        .await,
    );
    let unknown = aborted(
        join_as(
            &router,
            combo,
            "zoe",
            Credentials::Cryptosign([1; 32]),
            "realm1",
        )
        .await,
    );
    assert_eq!(wrong.0, "wamp.error.not_authorized");
    assert_eq!(wrong, unknown);
    router.shutdown().await;
}
