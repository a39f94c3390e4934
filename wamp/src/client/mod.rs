//! An async WAMP client session: join a realm, publish and subscribe, call and register, leave.
//!
//! One task reads and dispatches what the router sends (results to the waiting request, events
//! to their subscription's channel, invocations to their registration's channel); another
//! writes, coalescing queued messages. Publishing without acknowledgement only encodes and
//! queues, so a few sessions can load a router at full speed.

mod details;
mod traffic;
mod types;
mod url;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::{mpsc, oneshot, watch};

pub use self::details::Details;
use self::traffic::TrafficCounters;
pub use self::traffic::{Traffic, TrafficHandle};
pub use self::types::{CallResult, ClientError, Event, Invocation, WampError};
pub use self::url::{Address, Endpoint};
use crate::auth::Login;
use crate::codec;
use crate::dict;
use crate::id::{Id, IdSequence};
use crate::message::Message;
use crate::payload::Payload;
use crate::serializer::Serializer;
use crate::sync::lock;
use crate::transport::tls::{self, TrustRoots};
use crate::transport::{self, Connection, Framing, Inbound, Outbound, Stream, TransportInfo};
use crate::value::{Dict, Value};

/// How a session connects and joins.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// The serializer to negotiate.
    pub serializer: Serializer,
    /// The largest message accepted from the router.
    pub max_message_size: usize,
    /// Who to log in as: the authid asked for (anonymous authentication may ignore it) and
    /// the credentials offered in HELLO and used to answer CHALLENGE.
    pub login: Login,
    /// Capacity of the outbound queue and of each subscription's and registration's channel.
    pub queue: usize,
    /// How long connecting and joining may take.
    pub timeout: Duration,
    /// The size a rated message stands for in [`Traffic::rated_messages`] (Crossbar's default
    /// is 512; set the router realm's `rated_message_size` to compare with its statistics).
    pub rated_message_size: u32,
    /// Whom to trust for `wss://` and `rss://`: the system's roots, or a private CA.
    pub trust: TrustRoots,
    /// The most the transport reads at once (see [`transport::CLIENT_READ_BUFFER`], the
    /// default).
    pub read_buffer: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            serializer: Serializer::Json,
            max_message_size: 16 << 20,
            login: Login::default(),
            queue: 4096,
            timeout: Duration::from_secs(10),
            rated_message_size: 512,
            trust: TrustRoots::default(),
            read_buffer: transport::CLIENT_READ_BUFFER,
        }
    }
}

/// A subscription: its id and the channel its events arrive on.
#[derive(Debug)]
pub struct Subscription {
    /// The subscription id (shared by all sessions subscribed to the same URI and policy).
    pub id: Id,
    /// Events, in the order the router sent them.
    pub events: mpsc::Receiver<Event>,
}

/// A registration: its id and the channel its invocations arrive on.
#[derive(Debug)]
pub struct Registration {
    /// The registration id.
    pub id: Id,
    /// Invocations to answer.
    pub invocations: mpsc::Receiver<Invocation>,
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Closed {
    /// The router said GOODBYE (e.g. `wamp.close.system_shutdown`, `wamp.close.killed`).
    Goodbye(String),
    /// The router sent ABORT (e.g. `wamp.error.protocol_violation`).
    Abort(String),
    /// We left with GOODBYE.
    Left,
    /// The transport closed or failed.
    Transport(String),
}

type Pending = HashMap<Id, oneshot::Sender<Message>>;

struct Shared {
    out: mpsc::Sender<Outbound>,
    serializer: Serializer,
    requests: IdSequence,
    pending: Mutex<Pending>,
    subscriptions: Mutex<HashMap<Id, Vec<mpsc::Sender<Event>>>>,
    /// The event channels of SUBSCRIBEs not answered yet, by request id: the reader installs
    /// one when its SUBSCRIBED arrives, before any EVENT behind it (a retained event comes
    /// right after SUBSCRIBED) can be read.
    subscribing: Mutex<HashMap<Id, mpsc::Sender<Event>>>,
    registrations: Mutex<HashMap<Id, mpsc::Sender<Invocation>>>,
    goodbye: Mutex<Option<oneshot::Sender<()>>>,
    closed: watch::Sender<Option<Closed>>,
    queue: usize,
    traffic: Arc<TrafficCounters>,
}

/// A joined WAMP session.
pub struct Session {
    shared: Arc<Shared>,
    id: Id,
    welcome: Dict,
    info: TransportInfo,
    /// The reader and writer tasks: dropping the session ends them, closing the connection.
    reader: tokio::task::AbortHandle,
    writer: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Session {
    /// Drops the connection at once (no GOODBYE); use [`Session::leave`] to leave cleanly.
    fn drop(&mut self) {
        self.reader.abort();
        if let Some(w) = &self.writer {
            w.abort();
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Opens a transport to `url` (see [`Endpoint`]) with `serializer`, reading up to
/// `read_buffer` bytes at once; a TLS one (`wss://`, `rss://`) checks the router's certificate
/// against `trust`.
pub async fn connect_transport(
    url: &str,
    serializer: Serializer,
    max_message_size: usize,
    read_buffer: usize,
    trust: &TrustRoots,
) -> Result<Connection, ClientError> {
    let ep = Endpoint::parse(url)?;
    let io = |e: std::io::Error| ClientError::from(transport::TransportError::from(e));
    let stream = match &ep.address {
        Address::Unix(path) => Stream::Unix(UnixStream::connect(path).await.map_err(io)?),
        Address::Tcp { authority, host } => {
            let tcp = TcpStream::connect(authority).await.map_err(io)?;
            if ep.tls {
                tls::connect(tcp, host, trust)
                    .await
                    .map_err(transport::TransportError::from)?
            } else {
                Stream::Tcp(tcp)
            }
        }
    };
    let conn = match ep.framing {
        Framing::WebSocket => {
            transport::websocket::connect(
                stream,
                &ep.url,
                serializer,
                max_message_size,
                read_buffer,
            )
            .await?
        }
        Framing::RawSocket => {
            transport::rawsocket::connect(stream, serializer, max_message_size, read_buffer).await?
        }
    };
    Ok(conn)
}

/// The roles and features this client announces in HELLO (payload pass-through: it hands a
/// binary payload and its `ppt_*` / `enc_*` keys to the program as they came).
fn client_roles() -> Value {
    let features = |f: &[&str]| {
        let mut d = Dict::new();
        for name in f {
            d.insert((*name).to_owned(), Value::Bool(true));
        }
        Value::Dict(dict! {"features" => Value::Dict(d)})
    };
    Value::Dict(dict! {
        "publisher" => features(&["publisher_exclusion", "publisher_identification", "subscriber_blackwhite_listing", "payload_passthru_mode"]),
        "subscriber" => features(&["pattern_based_subscription", "publisher_identification", "payload_passthru_mode"]),
        "caller" => features(&["caller_identification", "call_canceling", "progressive_call_results", "payload_passthru_mode"]),
        "callee" => features(&["caller_identification", "pattern_based_registration", "shared_registration", "call_canceling", "payload_passthru_mode"]),
    })
}

impl Session {
    /// Connects to `url`, joins `realm` and returns the session once WELCOME arrived.
    pub async fn join(
        url: &str,
        realm: &str,
        options: SessionOptions,
    ) -> Result<Session, ClientError> {
        let timeout = options.timeout;
        tokio::time::timeout(timeout, Self::join_inner(url, realm, options))
            .await
            .map_err(|_| ClientError::Timeout("connecting and joining"))?
    }

    async fn join_inner(
        url: &str,
        realm: &str,
        options: SessionOptions,
    ) -> Result<Session, ClientError> {
        let conn = connect_transport(
            url,
            options.serializer,
            options.max_message_size,
            options.read_buffer,
            &options.trust,
        )
        .await?;
        let Connection {
            info,
            mut reader,
            writer,
        } = conn;
        let ser = info.serializer;
        let (out, rx) = mpsc::channel(options.queue);
        let traffic = Arc::new(TrafficCounters::new(options.rated_message_size));
        let counted = Arc::clone(&traffic);
        let writer_task = tokio::spawn(async move {
            let sending = |batch: &[Outbound]| {
                for item in batch {
                    if let Outbound::Message(b) | Outbound::Passive(b) = item {
                        counted.count(false, b.len());
                    }
                }
            };
            if let Err(e) = transport::run_writer(writer, rx, sending, |_| {}).await {
                tracing::debug!("client writer ended: {e}");
            }
        });
        let method = options.login.credentials.method();
        let mut details =
            dict! {"roles" => client_roles(), "authmethods" => Value::List(vec![method.into()])};
        if let Some(extra) = options.login.credentials.authextra() {
            details.insert("authextra".into(), Value::Dict(extra));
        }
        if let Some(authid) = &options.login.authid {
            details.insert("authid".into(), authid.as_str().into());
        }
        let hello = Message::Hello {
            realm: realm.to_owned(),
            details,
        };
        send_on(&out, ser, &hello).await?;
        let (id, welcome) = loop {
            let frame = match reader.next().await {
                Some(Ok(Inbound::Message(b))) => b,
                Some(Ok(Inbound::Ping(p))) => {
                    let _ = out.send(Outbound::Pong(p)).await;
                    continue;
                }
                Some(Ok(Inbound::Pong)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => {
                    return Err(ClientError::Closed(
                        "the router closed the connection before WELCOME".into(),
                    ));
                }
            };
            traffic.count(true, frame.len());
            match join_step(ser, &frame, &options.login.credentials)? {
                JoinStep::Welcome(session, details) => break (session, details),
                JoinStep::Answer(answer) => send_on(&out, ser, &answer).await?,
            }
        };
        let (closed, _) = watch::channel(None);
        let shared = Arc::new(Shared {
            out,
            serializer: ser,
            requests: IdSequence::new(),
            pending: Mutex::new(HashMap::new()),
            subscriptions: Mutex::new(HashMap::new()),
            subscribing: Mutex::new(HashMap::new()),
            registrations: Mutex::new(HashMap::new()),
            goodbye: Mutex::new(None),
            closed,
            queue: options.queue,
            traffic,
        });
        let reader_task = tokio::spawn(read_loop(reader, Arc::clone(&shared)));
        Ok(Session {
            shared,
            id,
            welcome,
            info,
            reader: reader_task.abort_handle(),
            writer: Some(writer_task),
        })
    }

    /// The session id the router assigned.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The WELCOME details (authid, authrole, roles …).
    pub fn welcome(&self) -> &Dict {
        &self.welcome
    }

    /// What the transport handshake established.
    pub fn transport(&self) -> &TransportInfo {
        &self.info
    }

    /// The serializer in use.
    pub fn serializer(&self) -> Serializer {
        self.shared.serializer
    }

    /// Sends any message (for tests and tools that speak the protocol directly).
    pub async fn send(&self, m: &Message) -> Result<(), ClientError> {
        send_on(&self.shared.out, self.shared.serializer, m).await
    }

    /// Sends an already-serialized message as it is.
    pub async fn send_raw(&self, bytes: Bytes) -> Result<(), ClientError> {
        self.shared
            .out
            .send(Outbound::Message(bytes))
            .await
            .map_err(|_| ClientError::Closed(self.closed_reason()))
    }

    fn closed_reason(&self) -> String {
        match &*self.shared.closed.borrow() {
            Some(c) => format!("{c:?}"),
            None => "the writer stopped".into(),
        }
    }

    /// Sends a request built with a fresh request id and waits for the router's reply.
    async fn request(&self, build: impl FnOnce(Id) -> Message) -> Result<Message, ClientError> {
        let request = self.shared.requests.next_id();
        let (tx, rx) = oneshot::channel();
        if self.shared.closed.borrow().is_some() {
            return Err(ClientError::Closed(self.closed_reason()));
        }
        lock(&self.shared.pending).insert(request, tx);
        if let Err(e) = self.send(&build(request)).await {
            lock(&self.shared.pending).remove(&request);
            return Err(e);
        }
        match rx.await {
            Ok(Message::Error {
                error,
                details,
                payload,
                ..
            }) => Err(ClientError::Wamp(WampError {
                error,
                details,
                payload,
            })),
            Ok(m) => Ok(m),
            Err(_) => Err(ClientError::Closed(self.closed_reason())),
        }
    }

    /// Subscribes to `topic`; `options` may set `match` to `prefix` or `wildcard`.
    pub async fn subscribe(&self, topic: &str, options: Dict) -> Result<Subscription, ClientError> {
        let (tx, events) = mpsc::channel(self.shared.queue);
        let reply = self
            .request(|request| {
                lock(&self.shared.subscribing).insert(request, tx);
                Message::Subscribe {
                    request,
                    options,
                    topic: topic.to_owned(),
                }
            })
            .await?;
        let Message::Subscribed { subscription, .. } = reply else {
            return Err(ClientError::Protocol(format!(
                "expected SUBSCRIBED, got {}",
                reply.name()
            )));
        };
        Ok(Subscription {
            id: subscription,
            events,
        })
    }

    /// Ends a subscription (all local subscribers of that id).
    pub async fn unsubscribe(&self, subscription: Id) -> Result<(), ClientError> {
        lock(&self.shared.subscriptions).remove(&subscription);
        let reply = self
            .request(|request| Message::Unsubscribe {
                request,
                subscription,
            })
            .await?;
        match reply {
            Message::Unsubscribed { .. } => Ok(()),
            m => Err(ClientError::Protocol(format!(
                "expected UNSUBSCRIBED, got {}",
                m.name()
            ))),
        }
    }

    /// Publishes; with `acknowledge: true` in `options` waits for PUBLISHED and returns its id.
    pub async fn publish(
        &self,
        topic: &str,
        payload: Payload,
        options: Dict,
    ) -> Result<Option<Id>, ClientError> {
        let acknowledge = options
            .get("acknowledge")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let build = |request| Message::Publish {
            request,
            options,
            topic: topic.to_owned(),
            payload,
        };
        if acknowledge {
            match self.request(build).await? {
                Message::Published { publication, .. } => Ok(Some(publication)),
                m => Err(ClientError::Protocol(format!(
                    "expected PUBLISHED, got {}",
                    m.name()
                ))),
            }
        } else {
            self.send(&build(self.shared.requests.next_id())).await?;
            Ok(None)
        }
    }

    /// Calls `procedure` and waits for its result.
    pub async fn call(
        &self,
        procedure: &str,
        payload: Payload,
        options: Dict,
    ) -> Result<CallResult, ClientError> {
        let reply = self
            .request(|request| Message::Call {
                request,
                options,
                procedure: procedure.to_owned(),
                payload,
            })
            .await?;
        match reply {
            Message::Result {
                details, payload, ..
            } => Ok(CallResult { details, payload }),
            m => Err(ClientError::Protocol(format!(
                "expected RESULT, got {}",
                m.name()
            ))),
        }
    }

    /// Registers `procedure`; `options` may set `match` and `invoke`.
    pub async fn register(
        &self,
        procedure: &str,
        options: Dict,
    ) -> Result<Registration, ClientError> {
        let reply = self
            .request(|request| Message::Register {
                request,
                options,
                procedure: procedure.to_owned(),
            })
            .await?;
        let Message::Registered { registration, .. } = reply else {
            return Err(ClientError::Protocol(format!(
                "expected REGISTERED, got {}",
                reply.name()
            )));
        };
        let (tx, invocations) = mpsc::channel(self.shared.queue);
        lock(&self.shared.registrations).insert(registration, tx);
        Ok(Registration {
            id: registration,
            invocations,
        })
    }

    /// Ends a registration.
    pub async fn unregister(&self, registration: Id) -> Result<(), ClientError> {
        lock(&self.shared.registrations).remove(&registration);
        match self
            .request(|request| Message::Unregister {
                request,
                registration,
            })
            .await?
        {
            Message::Unregistered { .. } => Ok(()),
            m => Err(ClientError::Protocol(format!(
                "expected UNREGISTERED, got {}",
                m.name()
            ))),
        }
    }

    /// Leaves with GOODBYE `reason`, waits (up to 5 s) for the router's GOODBYE, then closes
    /// the connection after everything queued was written.
    pub async fn leave(mut self, reason: &str) -> Result<(), ClientError> {
        let (tx, rx) = oneshot::channel();
        *lock(&self.shared.goodbye) = Some(tx);
        self.send(&Message::Goodbye {
            details: Dict::new(),
            reason: reason.to_owned(),
        })
        .await?;
        let answered = tokio::time::timeout(Duration::from_secs(5), rx).await;
        let _ = self.shared.out.send(Outbound::Close).await;
        if let Some(writer) = self.writer.take() {
            let abort = writer.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), writer)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        match answered {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(ClientError::Closed(self.closed_reason())),
            Err(_) => Err(ClientError::Timeout("the router's GOODBYE")),
        }
    }

    /// What this session sent and received so far: serialized WAMP messages, without any
    /// transport framing (what a router's statistics count).
    pub fn traffic(&self) -> Traffic {
        self.shared.traffic.snapshot()
    }

    /// A handle on this session's traffic counters that outlives the session (to read the
    /// totals after [`Session::leave`]).
    pub fn traffic_handle(&self) -> TrafficHandle {
        TrafficHandle(Arc::clone(&self.shared.traffic))
    }

    /// Waits until the session ends and says why.
    pub async fn closed(&self) -> Closed {
        let mut rx = self.shared.closed.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(c) => c.clone().unwrap_or(Closed::Transport("unknown".into())),
            Err(_) => Closed::Transport("the session is gone".into()),
        }
    }

    /// Why the session ended, or `None` while it is open.
    pub fn is_closed(&self) -> Option<Closed> {
        self.shared.closed.borrow().clone()
    }
}

/// What a joining client does with one message from the router (see [`join_step`]).
#[doc(hidden)]
#[derive(Debug)]
pub enum JoinStep {
    /// WELCOME: the session's id and the router's details.
    Welcome(Id, Dict),
    /// A CHALLENGE answered: the AUTHENTICATE to send.
    Answer(Message),
}

/// Handles one `frame` the router sent a client that said HELLO and waits for WELCOME:
/// WELCOME joins, CHALLENGE is answered with `credentials`, ABORT and anything else end the
/// join with an error. Public for the fuzz targets (`fuzz/`); [`Session::join`] is its only
/// caller here.
#[doc(hidden)]
// `ClientError` is what every client call returns (the async ones escape this lint).
#[allow(clippy::result_large_err)]
pub fn join_step(
    ser: Serializer,
    frame: &Bytes,
    credentials: &crate::auth::Credentials,
) -> Result<JoinStep, ClientError> {
    match codec::decode(ser, frame)? {
        Message::Welcome { session, details } => Ok(JoinStep::Welcome(session, details)),
        Message::Abort { details, reason } => {
            let message = details
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Err(ClientError::Aborted { reason, message })
        }
        Message::Challenge { authmethod, extra } => {
            let signature = credentials
                .answer(&authmethod, &extra)
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            Ok(JoinStep::Answer(Message::Authenticate {
                signature,
                extra: Dict::new(),
            }))
        }
        other => Err(ClientError::Protocol(format!(
            "expected WELCOME, got {}",
            other.name()
        ))),
    }
}

async fn send_on(
    out: &mpsc::Sender<Outbound>,
    ser: Serializer,
    m: &Message,
) -> Result<(), ClientError> {
    let bytes = codec::encode(ser, m)?;
    out.send(Outbound::Message(bytes))
        .await
        .map_err(|_| ClientError::Closed("the connection's writer stopped".into()))
}

/// Reads and dispatches until the session ends.
async fn read_loop(mut reader: transport::FrameReader, shared: Arc<Shared>) {
    let ser = shared.serializer;
    let reason = loop {
        let frame = match reader.next().await {
            Some(Ok(Inbound::Message(b))) => {
                shared.traffic.count(true, b.len());
                b
            }
            Some(Ok(Inbound::Ping(p))) => {
                let _ = shared.out.send(Outbound::Pong(p)).await;
                continue;
            }
            Some(Ok(Inbound::Pong)) => continue,
            Some(Err(e)) => break Closed::Transport(e.to_string()),
            None => break Closed::Transport("connection closed".into()),
        };
        // EVENTs (the bulk of what most clients receive) keep their details as bytes until
        // the subscriber looks at them.
        let (subscription, publication, details, payload) = match codec::decode_lazy(ser, &frame) {
            Ok(codec::Decoded::Event(e)) => (
                e.subscription,
                e.publication,
                Details::lazy(e.details),
                e.payload,
            ),
            Ok(codec::Decoded::Message(Message::Event {
                subscription,
                publication,
                details,
                payload,
            })) => (subscription, publication, Details::from(details), payload),
            Ok(codec::Decoded::Message(m)) => {
                if let Some(closed) = on_message(m, &shared).await {
                    break closed;
                }
                continue;
            }
            Err(e) => {
                tracing::warn!("client: undecodable message from the router: {e}");
                break Closed::Transport(format!("undecodable message: {e}"));
            }
        };
        let event = Event {
            subscription,
            publication,
            details,
            payload,
            received: std::time::Instant::now(),
        };
        deliver(event, &shared).await;
    };
    lock(&shared.pending).clear();
    lock(&shared.subscriptions).clear();
    lock(&shared.registrations).clear();
    shared.closed.send_replace(Some(reason));
}

/// Hands an EVENT to every local subscriber of its subscription (waiting while one's channel
/// is full: the transport then stops reading, and the router sees a slow consumer).
async fn deliver(event: Event, shared: &Shared) {
    // Usually one local subscriber: clone its sender, not a vector of them.
    let (first, rest) = {
        let subs = lock(&shared.subscriptions);
        match subs.get(&event.subscription).map(Vec::as_slice) {
            Some([one]) => (Some(one.clone()), Vec::new()),
            Some([one, more @ ..]) => (Some(one.clone()), more.to_vec()),
            _ => (None, Vec::new()),
        }
    };
    for s in &rest {
        let _ = s.send(event.clone()).await;
    }
    if let Some(s) = first {
        let _ = s.send(event).await;
    }
}

/// A message other than an EVENT, from the router: a reply goes to whoever waits for it, an
/// INVOCATION to its registration. `Some` when it ends the session.
async fn on_message(m: Message, shared: &Shared) -> Option<Closed> {
    let ser = shared.serializer;
    match m {
        Message::Invocation {
            request,
            registration,
            details,
            payload,
        } => {
            let sender = lock(&shared.registrations).get(&registration).cloned();
            let inv = Invocation {
                request,
                registration,
                details,
                payload,
                out: shared.out.clone(),
                serializer: ser,
            };
            match sender {
                Some(s) => {
                    let _ = s.send(inv).await;
                }
                None => {
                    let _ = inv
                        .reply(Err(WampError::new("wamp.error.no_such_registration")))
                        .await;
                }
            }
        }
        Message::Result { ref details, .. }
            if details.get("progress").and_then(Value::as_bool) == Some(true) => {}
        Message::Subscribed {
            request,
            subscription,
        } => {
            if let Some(tx) = lock(&shared.subscribing).remove(&request) {
                lock(&shared.subscriptions)
                    .entry(subscription)
                    .or_default()
                    .push(tx);
            }
            if let Some(tx) = lock(&shared.pending).remove(&request) {
                let _ = tx.send(m);
            }
        }
        Message::Error { request, .. } if lock(&shared.subscribing).remove(&request).is_some() => {
            if let Some(tx) = lock(&shared.pending).remove(&request) {
                let _ = tx.send(m);
            }
        }
        Message::Result { request, .. }
        | Message::Error { request, .. }
        | Message::Published { request, .. }
        | Message::Unsubscribed { request }
        | Message::Registered { request, .. }
        | Message::Unregistered { request } => {
            if let Some(tx) = lock(&shared.pending).remove(&request) {
                let _ = tx.send(m);
            }
        }
        Message::Goodbye { reason, .. } => {
            if let Some(tx) = lock(&shared.goodbye).take() {
                let _ = tx.send(());
                return Some(Closed::Left);
            }
            let _ = send_on(
                &shared.out,
                ser,
                &Message::Goodbye {
                    details: Dict::new(),
                    reason: "wamp.close.goodbye_and_out".into(),
                },
            )
            .await;
            let _ = shared.out.send(Outbound::Close).await;
            return Some(Closed::Goodbye(reason));
        }
        Message::Abort { reason, .. } => return Some(Closed::Abort(reason)),
        Message::Interrupt { .. } => {}
        other => tracing::debug!("client: ignoring {}", other.name()),
    }
    None
}
