//! Shared by the integration tests: a router on ephemeral loopback ports, and client helpers.
#![allow(dead_code)]

pub mod chaos;
pub mod child;
pub mod endpoints;
pub mod nats;
pub mod raw_rpc;
pub mod scrape;

use std::borrow::Borrow;
use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use wamp::auth::{Credentials, Login};
use wamp::client::{
    CallResult, ClientError, Event, Invocation, Registration, Subscription, WampError,
};
use wamp::{Dict, Payload, Serializer, Session, SessionOptions};
use wamp_router::config::{
    AuthConfig, Config, CraUser, Identity, KeyPrincipal, Principal, Salt, Secret, TransportKind,
};
use wamp_router::{Router, RouterOptions};

/// The six transport × serializer combinations.
pub const COMBOS: [(Transport, Serializer); 6] = [
    (Transport::Ws, Serializer::Json),
    (Transport::Ws, Serializer::Msgpack),
    (Transport::Ws, Serializer::Cbor),
    (Transport::Rs, Serializer::Json),
    (Transport::Rs, Serializer::Msgpack),
    (Transport::Rs, Serializer::Cbor),
];

/// Which listener to connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Ws,
    Rs,
}

/// The operator's ticket in [`default_config`].
pub const OPERATOR_TICKET: &str = "the operator's ticket in tests";

/// The embedded default configuration, moved to ephemeral ports on 127.0.0.1, its operator's
/// ticket [`OPERATOR_TICKET`].
pub fn default_config() -> Config {
    let mut config = Config::embedded_default().config.on_free_loopback_ports();
    for t in &mut config.transports {
        if let Some(p) = t.auth.ticket.as_mut().and_then(|m| m.get_mut("operator")) {
            p.ticket = Secret::new(OPERATOR_TICKET);
        }
    }
    config
}

/// dave's Ed25519 private key (the seed, in hex, as autobahn's `CryptosignKey` takes it) and
/// its public key.
pub const DAVE_SEED: &str = "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510";
/// The public key of [`DAVE_SEED`].
pub const DAVE_PUBLIC: &str = "1adfc8bfe1d35616e64dffbd900096f23b066f914c8c2ffbb66f6075b96e116d";

/// 32 bytes from 64 hex digits.
pub fn hex32(hex: &str) -> [u8; 32] {
    hex::decode(hex)
        .expect("hex digits")
        .try_into()
        .expect("32 bytes")
}

/// Every login method but anonymous, one principal each, all of role `anonymous`: ticket
/// `alice` (ticket "alice's ticket", realm `realm1` whatever HELLO asks), WAMP-CRA `bob`
/// (secret "bob's secret") and `carol` (salted, password "carol's password"), and cryptosign
/// `dave` ([`DAVE_SEED`]).
pub fn every_login_method() -> AuthConfig {
    let identity = |realm: Option<&str>| Identity {
        role: "anonymous".into(),
        realm: realm.map(str::to_owned),
    };
    let alice = Principal {
        ticket: Secret::new("alice's ticket"),
        identity: identity(Some("realm1")),
    };
    let bob = CraUser {
        secret: Secret::new("bob's secret"),
        identity: identity(None),
        salt: None,
    };
    let carol = CraUser {
        secret: Secret::new(wamp::auth::wampcra_derive_key(
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
    };
    let dave = KeyPrincipal {
        authorized_keys: vec![hex32(DAVE_PUBLIC)],
        identity: identity(None),
    };
    AuthConfig {
        anonymous: None,
        anonymous_realm: None,
        ticket: Some([("alice".to_owned(), alice)].into()),
        wampcra: Some([("bob".to_owned(), bob), ("carol".to_owned(), carol)].into()),
        cryptosign: Some([("dave".to_owned(), dave)].into()),
        dynamic: Default::default(),
    }
}

/// Joins realm1 of a router on [`default_config`] as its operator (who may kill sessions).
pub async fn join_operator(router: &Router, transport: Transport) -> Session {
    try_join_operator(router, transport)
        .await
        .expect("the operator joins")
}

/// [`join_operator`], or why the router refused.
pub async fn try_join_operator(
    router: &Router,
    transport: Transport,
) -> Result<Session, wamp::client::ClientError> {
    Session::join(
        &url(router, transport),
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

/// A router running the default configuration on ephemeral ports.
pub async fn start() -> Router {
    start_with(default_config(), test_options()).await
}

/// Router options for tests: hand-driven connections never answer a shutdown GOODBYE, so
/// don't wait long for them.
pub fn test_options() -> RouterOptions {
    RouterOptions {
        goodbye_timeout: Duration::from_millis(300),
        ..RouterOptions::default()
    }
}

/// A router running the default configuration after `configure` changed it.
pub async fn start_configured(configure: impl FnOnce(&mut Config)) -> Router {
    let mut config = default_config();
    configure(&mut config);
    start_with(config, test_options()).await
}

/// A router running the default configuration with `options`.
pub async fn start_with_options(options: RouterOptions) -> Router {
    start_with(default_config(), options).await
}

/// A router running `config` with `options`.
pub async fn start_with(config: Config, options: RouterOptions) -> Router {
    Router::start(config, options).await.expect("router starts")
}

/// The URL of `transport` on `router`.
pub fn url(router: &Router, transport: Transport) -> String {
    match transport {
        Transport::Ws => router.websocket_url(),
        Transport::Rs => router.rawsocket_url(),
    }
    .expect("the config has this transport")
}

/// Joins realm1 over `transport` with `serializer`.
pub async fn join(router: &Router, transport: Transport, serializer: Serializer) -> Session {
    join_url(&url(router, transport), "realm1", serializer)
        .await
        .expect("joins realm1")
}

/// Joins `realm` at `url`.
pub async fn join_url(
    url: &str,
    realm: &str,
    serializer: Serializer,
) -> Result<Session, ClientError> {
    Session::join(
        url,
        realm,
        SessionOptions {
            serializer,
            ..SessionOptions::default()
        },
    )
    .await
}

/// Bounds any wait in a test: a stuck router fails the test instead of hanging it.
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The next event of a subscription.
pub async fn next_event(sub: &mut Subscription) -> Event {
    within("an event", sub.events.recv())
        .await
        .expect("subscription open")
}

/// The topic an event names in its details (pattern subscriptions only).
pub fn topic_of(e: &Event) -> Option<&str> {
    e.details.get("topic").and_then(Value::as_str)
}

/// The next invocation of a registration.
pub async fn next_invocation(reg: &mut Registration) -> Invocation {
    within("an invocation", reg.invocations.recv())
        .await
        .expect("registration open")
}

/// Subscribes `session` to `topic` with `options`; the router must accept.
pub async fn subscribe(session: &Session, topic: &str, options: Dict) -> Subscription {
    session
        .subscribe(topic, options)
        .await
        .unwrap_or_else(|e| panic!("subscribing to {topic}: {e}"))
}

/// Registers `procedure` for `session` with `options`; the router must accept.
pub async fn register(session: &Session, procedure: &str, options: Dict) -> Registration {
    session
        .register(procedure, options)
        .await
        .unwrap_or_else(|e| panic!("registering {procedure}: {e}"))
}

/// Options with the match policy `policy` (`prefix` or `wildcard`).
pub fn matching(policy: &str) -> Dict {
    wamp::dict! {"match" => policy}
}

/// Calls `procedure` without arguments or options.
pub async fn call(session: &Session, procedure: &str) -> Result<CallResult, ClientError> {
    session.call(procedure, Payload::empty(), Dict::new()).await
}

/// Answers invocations of `reg` with `f` (given the call's arguments) until the registration's
/// channel closes.
pub fn serve(
    mut reg: Registration,
    f: impl Fn(Vec<Value>) -> Result<Payload, WampError> + Send + 'static,
) {
    tokio::spawn(async move {
        while let Some(inv) = reg.invocations.recv().await {
            let args = inv.payload.args().unwrap_or_default();
            let _ = inv.reply(f(args)).await;
        }
    });
}

/// Calls `procedure` without arguments from a task, so that the test can handle the
/// invocation meanwhile; the task's result is the call's, without its payload.
pub fn spawn_call(
    caller: impl Borrow<Session> + Send + Sync + 'static,
    procedure: &str,
) -> JoinHandle<Result<(), ClientError>> {
    let procedure = procedure.to_owned();
    tokio::spawn(async move { call(caller.borrow(), &procedure).await.map(|_| ()) })
}

/// Asserts that a request was refused with the ERROR `uri`.
pub fn assert_wamp_error<T>(result: Result<T, ClientError>, uri: &str) {
    match result {
        Ok(_) => panic!("expected ERROR {uri}, the request succeeded"),
        Err(e) => assert_eq!(e.wamp_error(), Some(uri), "{e}"),
    }
}

/// Asserts that no event is pending after a marker publication was received: publishes to
/// `marker_topic` (which `marker` subscribes) from `session` and checks that none of `subs` got
/// anything before the marker arrived. Ordering through one router session makes this
/// deterministic.
pub async fn assert_no_event_before_marker(
    session: &Session,
    subs: &mut [&mut Subscription],
    marker: &mut Subscription,
    marker_topic: &str,
) {
    session
        .publish(
            marker_topic,
            wamp::Payload::empty(),
            wamp::dict! {"acknowledge" => true, "exclude_me" => false},
        )
        .await
        .expect("marker published");
    next_event(marker).await;
    for sub in subs {
        assert!(
            sub.events.try_recv().is_err(),
            "an unexpected event arrived"
        );
    }
}

/// Options with acknowledge.
pub fn ack() -> Dict {
    wamp::dict! {"acknowledge" => true}
}

/// Keeps a config's WebSocket path, for tests that need it.
pub fn ws_path(config: &Config) -> String {
    config
        .transports
        .iter()
        .find_map(|t| match &t.kind {
            TransportKind::WebSocket { path } => Some(path.clone()),
            TransportKind::RawSocket => None,
        })
        .expect("a websocket transport")
}

/// A connection driven by hand, for tests that break the protocol on purpose.
pub struct Raw {
    pub serializer: Serializer,
    pub reader: wamp::transport::FrameReader,
    pub writer: wamp::transport::FrameWriter,
}

impl Raw {
    /// Opens a transport without saying HELLO.
    pub async fn connect(url: &str, serializer: Serializer) -> Raw {
        Raw::connect_with_limit(url, serializer, 16 << 20).await
    }

    /// Opens a transport that announces `max_message_size` as the most it accepts, without
    /// saying HELLO.
    pub async fn connect_with_limit(
        url: &str,
        serializer: Serializer,
        max_message_size: usize,
    ) -> Raw {
        let c = wamp::client::connect_transport(
            url,
            serializer,
            max_message_size,
            wamp::transport::CLIENT_READ_BUFFER,
            &Default::default(),
        )
        .await
        .expect("transport connects");
        Raw {
            serializer,
            reader: c.reader,
            writer: c.writer,
        }
    }

    /// Says HELLO to realm1 announcing `roles`; expects WELCOME and returns the session id.
    pub async fn hello(&mut self, roles: Dict) -> wamp::Id {
        self.send(&wamp::Message::Hello {
            realm: "realm1".into(),
            details: wamp::dict! {"roles" => Value::Dict(roles)},
        })
        .await;
        match self.recv().await {
            Some(wamp::Message::Welcome { session, .. }) => session,
            other => panic!("expected WELCOME, got {other:?}"),
        }
    }

    /// Opens a transport and joins realm1 as a subscriber; returns the session id too.
    pub async fn join(url: &str, serializer: Serializer) -> (Raw, wamp::Id) {
        let roles = wamp::dict! {"subscriber" => Value::Dict(Dict::new())};
        Raw::join_with_roles(url, serializer, roles).await
    }

    /// Opens a transport and joins realm1 announcing `roles`.
    pub async fn join_with_roles(
        url: &str,
        serializer: Serializer,
        roles: Dict,
    ) -> (Raw, wamp::Id) {
        let mut raw = Raw::connect(url, serializer).await;
        let session = raw.hello(roles).await;
        (raw, session)
    }

    /// Sends a message.
    pub async fn send(&mut self, m: &wamp::Message) {
        let b = wamp::encode(self.serializer, m).expect("encodes");
        self.send_bytes(b).await;
    }

    /// Sends bytes as one WAMP message frame.
    pub async fn send_bytes(&mut self, b: bytes::Bytes) {
        self.writer
            .write_batch(&[wamp::transport::Outbound::Message(b)])
            .await
            .expect("written");
    }

    /// The next message, or `None` when the router closed the connection.
    pub async fn recv(&mut self) -> Option<wamp::Message> {
        loop {
            match within("a message from the router", self.reader.next()).await {
                Some(Ok(wamp::transport::Inbound::Message(b))) => {
                    return Some(
                        wamp::decode(self.serializer, &b).expect("the router sends valid messages"),
                    );
                }
                Some(Ok(wamp::transport::Inbound::Ping(_) | wamp::transport::Inbound::Pong)) => {
                    continue;
                }
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Expects an ERROR; returns its request type, request id, error URI and payload.
    pub async fn expect_error(&mut self) -> (u64, wamp::Id, String, Payload) {
        match self.recv().await {
            Some(wamp::Message::Error {
                request_type,
                request,
                error,
                payload,
                ..
            }) => (request_type, request, error, payload),
            other => panic!("expected ERROR, got {other:?}"),
        }
    }

    /// Expects ABORT with `reason`, then the end of the connection.
    pub async fn expect_abort(&mut self, reason: &str) {
        match self.recv().await {
            Some(wamp::Message::Abort { reason: r, .. }) => assert_eq!(r, reason),
            other => panic!("expected ABORT {reason}, got {other:?}"),
        }
        assert!(
            self.recv().await.is_none(),
            "the router closes the connection after ABORT"
        );
    }
}

use wamp::Value;
