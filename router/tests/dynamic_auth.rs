//! Dynamic authenticators (Crossbar's `"type": "dynamic"`) over real sockets: a session of the
//! crate's client registers the authenticator procedure, other clients log in with ticket,
//! WAMP-CRA (salted) and cryptosign through it; what the router passes it, what WELCOME and
//! `wamp.session.get` then say, and the refusals (the authenticator's ERROR, no authenticator,
//! a useless answer, an authenticator that never answers) are checked.
// `serve` answers with the client's `Result<Payload, WampError>`.
#![allow(clippy::result_large_err)]

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{DAVE_PUBLIC, DAVE_SEED, Raw, Transport, hex32, register, serve, start_with, url};
use wamp::auth::{Credentials, Login};
use wamp::client::{ClientError, WampError};
use wamp::{Dict, Message, Payload, Serializer, Session, SessionOptions, Value, dict};
use wamp_router::config::{AuthConfig, Authenticator, Config, DynamicAuth};
use wamp_router::{Router, RouterOptions};

/// The authenticator procedures, one per method.
const TICKET: &str = "com.example.authenticate.ticket";
const CRA: &str = "com.example.authenticate.wampcra";
const KEY: &str = "com.example.authenticate.cryptosign";

/// A router on the default config whose transports offer anonymous (for the authenticator's
/// own session) and the three methods, each through its dynamic authenticator.
async fn router(options: RouterOptions) -> Router {
    let mut config: Config = common::default_config();
    let dynamic = |procedure: &str| {
        Some(Authenticator {
            procedure: procedure.into(),
            realm: None,
            default_role: None,
        })
    };
    for t in &mut config.transports {
        t.auth = AuthConfig {
            dynamic: DynamicAuth {
                ticket: dynamic(TICKET),
                wampcra: dynamic(CRA),
                cryptosign: dynamic(KEY),
            },
            ..AuthConfig::anonymous_only("anonymous")
        };
    }
    start_with(config, options).await
}

/// Joins realm1 over RawSocket as `authid` with `credentials`.
async fn join_as(
    router: &Router,
    authid: &str,
    credentials: Credentials,
) -> Result<Session, ClientError> {
    Session::join(
        &url(router, Transport::Rs),
        "realm1",
        SessionOptions {
            serializer: Serializer::Json,
            login: Login {
                authid: Some(authid.into()),
                credentials,
            },
            ..SessionOptions::default()
        },
    )
    .await
}

/// The ABORT's reason and message.
fn aborted(result: Result<Session, ClientError>) -> (String, String) {
    match result {
        Err(ClientError::Aborted { reason, message }) => (reason, message),
        Err(other) => panic!("expected ABORT, got {other}"),
        Ok(s) => panic!("joined as {:?}", s.welcome()),
    }
}

/// An anonymous session of the crate's client that registers `procedure` and answers with
/// `decide`; every call's arguments go to the receiver.
async fn authenticator(
    router: &Router,
    procedure: &str,
    decide: impl Fn(&[Value]) -> Result<Value, Refuse> + Send + 'static,
) -> (Session, mpsc::Receiver<Vec<Value>>) {
    let s = join_as(router, "backend", Credentials::Anonymous)
        .await
        .expect("the authenticator joins");
    let (tx, rx) = mpsc::channel();
    let reg = register(&s, procedure, Dict::new()).await;
    serve(reg, move |args| {
        let _ = tx.send(args.clone());
        decide(&args)
            .map(|v| Payload::from_args(vec![v]))
            .map_err(|(error, message)| WampError {
                error: error.into(),
                details: Dict::new(),
                payload: Payload::from_args(vec![message.into()]),
            })
    });
    (s, rx)
}

/// A string field.
fn text<'a>(d: &'a Dict, key: &str) -> Option<&'a str> {
    d.get(key).and_then(Value::as_str)
}

/// How an authenticator refuses: the error URI and its message.
type Refuse = (&'static str, &'static str);

/// `wamp.error.not_authorized` with `message`.
fn not_authorized(message: &'static str) -> Refuse {
    ("wamp.error.not_authorized", message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_logins_are_decided_by_the_authenticator() {
    let router = router(common::test_options()).await;
    let (_auth, calls) = authenticator(&router, TICKET, |args| {
        let details = args
            .get(2)
            .and_then(Value::as_dict)
            .cloned()
            .unwrap_or_default();
        match (args[1].as_str(), text(&details, "ticket")) {
            (Some("alice"), Some("alice's ticket")) => Ok(Value::Dict(dict! {
                "role" => "operator",
                "authid" => "alice@example",
                "extra" => Value::Dict(dict! {"greeting" => "hello alice"}),
            })),
            // Crossbar's older form: the role alone.
            (Some("plain"), Some("plain's ticket")) => Ok("anonymous".into()),
            _ => Err(not_authorized("wrong ticket")),
        }
    })
    .await;

    let s = join_as(
        &router,
        "alice",
        Credentials::Ticket("alice's ticket".into()),
    )
    .await
    .expect("alice joins");
    let w = s.welcome();
    assert_eq!(text(w, "authid"), Some("alice@example"));
    assert_eq!(text(w, "authrole"), Some("operator"));
    assert_eq!(text(w, "authmethod"), Some("ticket"));
    assert_eq!(text(w, "authprovider"), Some("dynamic"));
    let extra = w
        .get("authextra")
        .and_then(Value::as_dict)
        .expect("authextra");
    assert_eq!(text(extra, "greeting"), Some("hello alice"));

    // What the authenticator was given: Crossbar's (realm, authid, details).
    let args = calls.try_recv().expect("the authenticator was called");
    assert_eq!(args.len(), 3);
    assert_eq!(args[0].as_str(), Some("realm1"));
    assert_eq!(args[1].as_str(), Some("alice"));
    let details = args[2].as_dict().expect("details");
    let keys: Vec<&str> = details.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["transport", "session", "authmethod", "authextra", "ticket"]
    );
    assert_eq!(text(details, "authmethod"), Some("ticket"));
    assert_eq!(details.get("session").and_then(Value::as_u64), Some(s.id()));
    let transport = details["transport"].as_dict().expect("transport");
    assert_eq!(text(transport, "channel_framing"), Some("rawsocket"));

    // The meta API says the same.
    let got = s
        .call(
            "wamp.session.get",
            Payload::from_args(vec![s.id().into()]),
            Dict::new(),
        )
        .await
        .expect("wamp.session.get");
    let d = got.payload.args().expect("args")[0].clone();
    let d = d.as_dict().expect("session details");
    assert_eq!(text(d, "authprovider"), Some("dynamic"));
    assert_eq!(text(d, "authrole"), Some("operator"));
    let extra = d["authextra"].as_dict().expect("authextra");
    assert_eq!(text(extra, "greeting"), Some("hello alice"));
    assert!(extra.contains_key("x_cb_node"), "{extra:?}");
    s.leave("wamp.close.normal").await.expect("GOODBYE");

    let plain = join_as(
        &router,
        "plain",
        Credentials::Ticket("plain's ticket".into()),
    )
    .await
    .expect("plain joins");
    assert_eq!(text(plain.welcome(), "authid"), Some("plain"));
    assert_eq!(text(plain.welcome(), "authrole"), Some("anonymous"));

    let (reason, message) =
        aborted(join_as(&router, "alice", Credentials::Ticket("a guess".into())).await);
    assert_eq!(reason, "wamp.error.not_authorized");
    assert_eq!(message, "wrong ticket");
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wampcra_with_a_salted_secret_from_the_authenticator() {
    let router = router(common::test_options()).await;
    let (_auth, calls) = authenticator(&router, CRA, |args| match args[1].as_str() {
        Some("carol") => Ok(Value::Dict(dict! {
            "secret" => "carol's password",
            "role" => "anonymous",
            "salt" => "NaCl",
            "iterations" => 100u64,
            "keylen" => 32u64,
        })),
        _ => Err(not_authorized("no such user")),
    })
    .await;
    let s = join_as(
        &router,
        "carol",
        Credentials::WampCra("carol's password".into()),
    )
    .await
    .expect("carol joins");
    assert_eq!(text(s.welcome(), "authmethod"), Some("wampcra"));
    assert_eq!(text(s.welcome(), "authprovider"), Some("dynamic"));
    let args = calls.try_recv().expect("called");
    let details = args[2].as_dict().expect("details");
    let keys: Vec<&str> = details.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "transport",
            "session",
            "authmethod",
            "authextra",
            "authid",
            "authrole"
        ]
    );
    assert_eq!(text(details, "authid"), Some("carol"));

    let (reason, message) =
        aborted(join_as(&router, "carol", Credentials::WampCra("a guess".into())).await);
    assert_eq!(reason, "wamp.error.not_authorized");
    assert!(!message.contains("password"), "{message}");
    let (reason, _) = aborted(join_as(&router, "eve", Credentials::WampCra("x".into())).await);
    assert_eq!(reason, "wamp.error.not_authorized");
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cryptosign_checks_the_key_the_authenticator_returns() {
    const OTHER_SEED: &str = "0000000000000000000000000000000000000000000000000000000000000001";
    let router = router(common::test_options()).await;
    let (_auth, calls) = authenticator(&router, KEY, |_| {
        Ok(Value::Dict(
            dict! {"pubkey" => DAVE_PUBLIC, "role" => "anonymous"},
        ))
    })
    .await;
    let s = join_as(&router, "dave", Credentials::Cryptosign(hex32(DAVE_SEED)))
        .await
        .expect("dave joins");
    assert_eq!(text(s.welcome(), "authmethod"), Some("cryptosign"));
    assert_eq!(text(s.welcome(), "authprovider"), Some("dynamic"));
    let args = calls.try_recv().expect("called");
    let authextra = args[2]
        .get("authextra")
        .and_then(Value::as_dict)
        .expect("authextra");
    assert_eq!(text(authextra, "pubkey"), Some(DAVE_PUBLIC));

    let other = Credentials::Cryptosign(hex32(OTHER_SEED));
    let (reason, _) = aborted(join_as(&router, "dave", other).await);
    assert_eq!(reason, "wamp.error.not_authorized");
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_what_went_wrong() {
    let router = router(common::test_options()).await;
    let ticket = || Credentials::Ticket("t".into());
    // Nobody registered the authenticator: Crossbar passes the call's error on.
    let (reason, _) = aborted(join_as(&router, "a", ticket()).await);
    assert_eq!(reason, "wamp.error.no_such_procedure");

    let (_auth, _) = authenticator(&router, TICKET, |args| match args[1].as_str() {
        Some("number") => Ok(Value::from(5u64)),
        Some("ghost") => Ok(Value::Dict(dict! {"role" => "ghost"})),
        _ => Err(("com.example.nope", "not today")),
    })
    .await;
    let (reason, message) = aborted(join_as(&router, "a", ticket()).await);
    assert_eq!(
        (reason.as_str(), message.as_str()),
        ("com.example.nope", "not today")
    );
    let (reason, _) = aborted(join_as(&router, "number", ticket()).await);
    assert_eq!(reason, "wamp.error.authentication_failed");
    let (reason, _) = aborted(join_as(&router, "ghost", ticket()).await);
    assert_eq!(reason, "wamp.error.no_such_role");
    // A cryptosign principal without its key.
    let (_keys, _) = authenticator(&router, KEY, |_| Ok("anonymous".into())).await;
    let (reason, message) =
        aborted(join_as(&router, "dave", Credentials::Cryptosign(hex32(DAVE_SEED))).await);
    assert_eq!(reason, "wamp.error.authentication_failed");
    assert!(message.contains("pubkey"), "{message}");
    router.shutdown().await;
}

/// An authenticator that never answers: the client's handshake ends at its deadline with
/// `wamp.error.authentication_failed`, and the callee is told the call is off (INTERRUPT).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_authenticator_is_given_up_at_the_handshake_deadline() {
    let router = router(RouterOptions {
        hello_timeout: Duration::from_millis(500),
        ..common::test_options()
    })
    .await;
    let roles = dict! {"callee" => Value::Dict(dict! {
    "features" => Value::Dict(dict! {"call_canceling" => true})})};
    let (mut callee, _) =
        Raw::join_with_roles(&url(&router, Transport::Rs), Serializer::Json, roles).await;
    callee
        .send(&Message::Register {
            request: 1,
            options: Dict::new(),
            procedure: TICKET.into(),
        })
        .await;
    assert!(matches!(
        callee.recv().await,
        Some(Message::Registered { request: 1, .. })
    ));
    let client = {
        let url = url(&router, Transport::Rs);
        tokio::spawn(async move {
            let options = SessionOptions {
                login: Login {
                    authid: Some("a".into()),
                    credentials: Credentials::Ticket("t".into()),
                },
                ..SessionOptions::default()
            };
            Session::join(&url, "realm1", options).await
        })
    };
    let invocation = match callee.recv().await {
        Some(Message::Invocation { request, .. }) => request,
        other => panic!("expected INVOCATION, got {other:?}"),
    };
    let (reason, message) = aborted(client.await.expect("the client task"));
    assert_eq!(reason, "wamp.error.authentication_failed", "{message}");
    match callee.recv().await {
        Some(Message::Interrupt { request, .. }) => assert_eq!(request, invocation),
        other => panic!("expected INTERRUPT, got {other:?}"),
    }
    router.shutdown().await;
}
