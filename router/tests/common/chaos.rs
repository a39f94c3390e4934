//! For the chaos and abuse tests: what crossed a session's wire (counted by the client as the
//! router must count it, and summed from the router's `on_stats`), a monitor that keeps the
//! accounts of every session, bystanders that must keep getting answers, and waits for the
//! router's own census to come back to a baseline.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use wamp::client::{Event, Traffic};
use wamp::transport::Inbound;
use wamp::{Dict, Id, Message, Payload, Serializer, Session, Value, dict};
use wamp_router::{Census, Router};

use super::{Raw, Transport, call, join, register, serve, subscribe, url, within};

/// How long a bystander may wait for any answer while another client misbehaves.
pub const PROMPT: Duration = Duration::from_secs(2);

/// The default config's `rated_message_size`.
pub const RATED_SIZE: u64 = 256;

/// What crossed a session's wire, seen from the router: `rx` is what the router received.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Wire {
    pub bytes_rx: u64,
    pub bytes_tx: u64,
    pub messages_rx: u64,
    pub messages_tx: u64,
    pub rated_messages: u64,
}

impl Wire {
    /// The router's view of what a client counted.
    pub fn of_client(t: &Traffic) -> Wire {
        Wire {
            bytes_rx: t.bytes_tx,
            bytes_tx: t.bytes_rx,
            messages_rx: t.messages_tx,
            messages_tx: t.messages_rx,
            rated_messages: t.rated_messages,
        }
    }

    /// A message of `len` bytes the router received.
    pub fn received(&mut self, len: usize) {
        self.bytes_rx += len as u64;
        self.messages_rx += 1;
        self.rated_messages += (len as u64).div_ceil(RATED_SIZE);
    }

    /// A message of `len` bytes the router sent.
    pub fn sent(&mut self, len: usize) {
        self.bytes_tx += len as u64;
        self.messages_tx += 1;
        self.rated_messages += (len as u64).div_ceil(RATED_SIZE);
    }
}

/// A session driven by hand that counts every message it sends and receives.
pub struct Counted {
    pub raw: Raw,
    pub wire: Wire,
}

impl Counted {
    /// Opens `transport` with `serializer` and joins realm1 announcing `roles`.
    pub async fn join(
        router: &Router,
        transport: Transport,
        serializer: Serializer,
        roles: Dict,
    ) -> (Counted, Id) {
        let raw = Raw::connect(&url(router, transport), serializer).await;
        let mut c = Counted {
            raw,
            wire: Wire::default(),
        };
        c.send(&Message::Hello {
            realm: "realm1".into(),
            details: dict! {"roles" => Value::Dict(roles)},
        })
        .await;
        match c.recv().await {
            Some(Message::Welcome { session, .. }) => (c, session),
            other => panic!("expected WELCOME, got {other:?}"),
        }
    }

    /// Joins as a callee announcing `features` and registers `procedure`.
    pub async fn callee(
        router: &Router,
        transport: Transport,
        serializer: Serializer,
        features: Dict,
        procedure: &str,
    ) -> (Counted, Id) {
        let roles = dict! {"callee" => Value::Dict(dict! {"features" => Value::Dict(features)})};
        let (mut c, id) = Counted::join(router, transport, serializer, roles).await;
        c.send(&Message::Register {
            request: 1,
            options: Dict::new(),
            procedure: procedure.into(),
        })
        .await;
        match c.recv().await {
            Some(Message::Registered { request: 1, .. }) => (c, id),
            other => panic!("expected REGISTERED, got {other:?}"),
        }
    }

    /// Sends a message, counting it.
    pub async fn send(&mut self, m: &Message) {
        let b = wamp::encode(self.raw.serializer, m).expect("encodes");
        self.wire.received(b.len());
        self.raw.send_bytes(b).await;
    }

    /// The next message, counted; `None` when the router closed the connection.
    pub async fn recv(&mut self) -> Option<Message> {
        loop {
            match within("a message from the router", self.raw.reader.next()).await {
                Some(Ok(Inbound::Message(b))) => {
                    self.wire.sent(b.len());
                    return Some(wamp::decode(self.raw.serializer, &b).expect("valid"));
                }
                Some(Ok(Inbound::Ping(_) | Inbound::Pong)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Reads (and counts) everything the router sent until it closes the connection; returns
    /// how many messages that was.
    pub async fn drain(&mut self) -> usize {
        let mut n = 0;
        while self.recv().await.is_some() {
            n += 1;
        }
        n
    }

    /// Leaves with GOODBYE and waits for the router's GOODBYE and close; returns the wire.
    pub async fn leave(mut self) -> Wire {
        self.send(&Message::Goodbye {
            details: Dict::new(),
            reason: "wamp.close.normal".into(),
        })
        .await;
        match self.recv().await {
            Some(Message::Goodbye { .. }) => {}
            other => panic!("expected GOODBYE, got {other:?}"),
        }
        assert!(self.recv().await.is_none(), "closed after GOODBYE");
        self.wire
    }
}

/// Joins realm1 counting rated messages with the router's [`RATED_SIZE`] (so that its
/// traffic compares with its `on_stats`).
pub async fn join_counted(
    router: &Router,
    transport: Transport,
    serializer: Serializer,
) -> Session {
    let options = wamp::SessionOptions {
        serializer,
        rated_message_size: RATED_SIZE as u32,
        ..Default::default()
    };
    Session::join(&url(router, transport), "realm1", options)
        .await
        .expect("joins realm1")
}

/// What a monitor learnt of one session from its meta events.
#[derive(Debug, Default)]
struct Account {
    wire: Wire,
    cycles: u64,
    last: bool,
    left: bool,
}

/// A monitor that keeps the accounts of every session from `wamp.session.*`; its events are
/// read at once by a task of its own, so that it is never a slow consumer itself.
pub struct Meta {
    pub session: Session,
    events: mpsc::UnboundedReceiver<Event>,
    seen: HashMap<Id, Account>,
}

impl Meta {
    /// Joins and subscribes to `wamp.session.` (prefix).
    pub async fn new(router: &Router) -> Meta {
        let session = join(router, Transport::Ws, Serializer::Msgpack).await;
        let mut sub = subscribe(&session, "wamp.session.", super::matching("prefix")).await;
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(e) = sub.events.recv().await {
                if tx.send(e).is_err() {
                    break;
                }
            }
        });
        Meta {
            session,
            events,
            seen: HashMap::new(),
        }
    }

    /// The wire of session `id` (which joined after the monitor) by its `on_stats`, once its
    /// `on_leave` came (within the time
    /// [`within`] allows); its cycles had no gaps and the last said so, before `on_leave`.
    pub async fn wire_of(&mut self, id: Id) -> Wire {
        within("the session's on_leave", async {
            while !self.seen.get(&id).is_some_and(|a| a.left) {
                let e = self.events.recv().await.expect("the monitor is subscribed");
                self.account(&e);
            }
        })
        .await;
        let a = &self.seen[&id];
        assert!(a.last && a.cycles >= 1, "{id}: {a:?}");
        a.wire
    }

    /// How many sessions left so far (of those whose events were read).
    pub fn left(&self) -> usize {
        self.seen.values().filter(|a| a.left).count()
    }

    /// Reads what arrived, without waiting.
    pub fn catch_up(&mut self) {
        while let Ok(e) = self.events.try_recv() {
            self.account(&e);
        }
    }

    fn account(&mut self, e: &Event) {
        let topic = super::topic_of(e).unwrap_or_default();
        let args = e.payload.args().expect("meta events decode");
        match topic {
            "wamp.session.on_stats" => {
                let id = args[0]
                    .get("session")
                    .and_then(Value::as_u64)
                    .expect("session");
                let s = args[1].as_dict().expect("stats");
                let get = |k: &str| s.get(k).and_then(Value::as_u64).expect(k);
                // Only the sessions that joined after the monitor: it has all their cycles.
                let Some(a) = self.seen.get_mut(&id) else {
                    return;
                };
                assert!(!a.last && !a.left, "{id}: on_stats after its last: {s:?}");
                a.cycles += 1;
                assert_eq!(get("cycle"), a.cycles, "{id}: cycles without gaps");
                a.wire.bytes_rx += get("bytes_rx");
                a.wire.bytes_tx += get("bytes_tx");
                a.wire.messages_rx += get("messages_rx");
                a.wire.messages_tx += get("messages_tx");
                a.wire.rated_messages += get("rated_messages");
                a.last = s.get("last") == Some(&Value::Bool(true));
            }
            "wamp.session.on_join" => {
                let id = args[0]
                    .get("session")
                    .and_then(Value::as_u64)
                    .expect("session");
                self.seen.insert(id, Account::default());
            }
            "wamp.session.on_leave" => {
                let id = args[0].as_u64().expect("session id");
                let Some(a) = self.seen.get_mut(&id) else {
                    return;
                };
                assert!(a.last, "{id}: its last on_stats before on_leave");
                a.left = true;
            }
            _ => {}
        }
    }
}

/// A caller and a callee of `com.chaos.echo` that must keep getting answers promptly.
pub struct Bystanders {
    pub caller: Session,
    pub callee: Session,
}

// The closure given to `serve` and the call's error are the client's, as in rpc.rs.
#[allow(clippy::result_large_err)]
impl Bystanders {
    /// Joins both (the callee over RawSocket, the caller over WebSocket).
    pub async fn new(router: &Router) -> Bystanders {
        let callee = join(router, Transport::Rs, Serializer::Msgpack).await;
        let reg = register(&callee, "com.chaos.echo", Dict::new()).await;
        serve(reg, |args| Ok(Payload::from_args(args)));
        let caller = join(router, Transport::Ws, Serializer::Json).await;
        Bystanders { caller, callee }
    }

    /// One call answered within [`PROMPT`]; returns how long it took.
    pub async fn answer(&self, what: &str) -> Duration {
        let start = Instant::now();
        let r = tokio::time::timeout(PROMPT, call(&self.caller, "com.chaos.echo"))
            .await
            .unwrap_or_else(|_| panic!("{what}: a bystander waited more than {PROMPT:?}"));
        r.unwrap_or_else(|e| panic!("{what}: a bystander's call failed: {e}"));
        start.elapsed()
    }
}

/// Waits (10 s at most) until `ok` holds of the router's census; fails saying what it holds.
pub async fn census_until(router: &Router, what: &str, ok: impl Fn(&Census) -> bool) -> Census {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = router.census();
        if ok(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the router still holds {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A census less one session and its connection.
pub trait Less {
    /// The census without one session (its connection's task gone too).
    fn without_one_session(self) -> Census;
}

impl Less for Census {
    fn without_one_session(self) -> Census {
        Census {
            tasks: self.tasks - 1,
            sessions: self.sessions - 1,
            ..self
        }
    }
}

/// The router's census once nothing is queued (what is in flight has been written): the
/// baseline to come back to.
pub async fn quiet(router: &Router) -> Census {
    census_until(router, "the queues to drain", |c| c.queued_bytes == 0).await
}

/// Waits until the router holds exactly `baseline` again (tasks, sessions, calls, queues).
pub async fn settles(router: &Router, baseline: Census, what: &str) {
    census_until(router, &format!("{what} (baseline {baseline:?})"), |c| {
        *c == baseline
    })
    .await;
}

/// The host:port of a router's RawSocket listener.
pub fn rs_addr(router: &Router) -> String {
    url(router, Transport::Rs)
        .trim_start_matches("rs://")
        .to_owned()
}

/// The host:port of a router's WebSocket listener.
pub fn ws_addr(router: &Router) -> String {
    url(router, Transport::Ws)
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_owned()
}

/// A RawSocket connection asking for JSON, its handshake answered.
pub async fn rs_handshaken(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connects");
    s.write_all(&[0x7F, 0xF1, 0, 0]).await.expect("written");
    let mut reply = [0u8; 4];
    within("the handshake reply", s.read_exact(&mut reply))
        .await
        .expect("the handshake reply");
    assert_eq!(reply[0], 0x7F, "a RawSocket handshake reply");
    s
}

/// A RawSocket frame of `payload`.
pub fn rs_frame(payload: &[u8]) -> Vec<u8> {
    let n = payload.len();
    let mut f = vec![0, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    f.extend_from_slice(payload);
    f
}

/// Reads one RawSocket frame (skipping pings); its payload.
pub async fn rs_read_frame(s: &mut TcpStream) -> Vec<u8> {
    loop {
        let mut head = [0u8; 4];
        within("a frame", s.read_exact(&mut head))
            .await
            .expect("a frame header");
        let n = usize::from(head[1]) << 16 | usize::from(head[2]) << 8 | usize::from(head[3]);
        let mut body = vec![0u8; n];
        within("a frame", s.read_exact(&mut body))
            .await
            .expect("a frame body");
        if head[0] & 0x07 == 0 {
            return body;
        }
    }
}

/// A WebSocket upgrade request for `/ws`, offering `wamp.2.json`.
pub fn ws_upgrade_request(addr: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n"
    )
}

/// A WebSocket connection to `/ws` with `wamp.2.json`, upgraded (the 101 read).
pub async fn ws_upgraded(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connects");
    s.write_all(ws_upgrade_request(addr).as_bytes())
        .await
        .expect("written");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        within("the 101", s.read_exact(&mut byte))
            .await
            .expect("the upgrade answer");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// The header of a masked client text frame announcing `len` bytes, with its mask (zero, so
/// the payload goes as it is).
pub fn ws_header(len: usize) -> Vec<u8> {
    let mut f = vec![0x81];
    match len {
        0..=125 => f.push(0x80 | len as u8),
        126..=0xFFFF => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&[0, 0, 0, 0]);
    f
}

/// A masked client text frame of `payload`.
pub fn ws_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = ws_header(payload.len());
    f.extend_from_slice(payload);
    f
}

/// Reads one server data frame (skipping control frames); its payload.
pub async fn ws_read_frame(s: &mut TcpStream) -> Vec<u8> {
    loop {
        let mut head = [0u8; 2];
        within("a frame", s.read_exact(&mut head))
            .await
            .expect("a frame header");
        let mut n = u64::from(head[1] & 0x7F);
        if n == 126 {
            n = u64::from(s.read_u16().await.expect("a length"));
        } else if n == 127 {
            n = s.read_u64().await.expect("a length");
        }
        let mut body = vec![0u8; n as usize];
        within("a frame", s.read_exact(&mut body))
            .await
            .expect("a frame body");
        if head[0] & 0x08 == 0 {
            return body;
        }
    }
}

/// Waits (bounded by [`within`]) until the peer closes `s`, discarding what it sends.
pub async fn closed_by_peer(s: &mut TcpStream, what: &str) {
    within(what, async {
        let mut sink = [0u8; 4096];
        while s.read(&mut sink).await.is_ok_and(|n| n > 0) {}
    })
    .await;
}

/// A RawSocket/JSON session driven by hand over a socket whose receive buffer is as small as
/// the kernel allows, so that when the test stops reading, the router's writes stall soon.
pub struct Tiny {
    pub stream: TcpStream,
    pub wire: Wire,
}

impl Tiny {
    /// Connects to the router's RawSocket listener, handshakes and joins with `roles`.
    pub async fn join(router: &Router, roles: Dict) -> (Tiny, Id) {
        Tiny::join_at(&rs_addr(router), roles).await
    }

    /// [`Tiny::join`] at the RawSocket listener `addr` (host:port).
    pub async fn join_at(addr: &str, roles: Dict) -> (Tiny, Id) {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket.set_recv_buffer_size(1024).expect("SO_RCVBUF");
        let addr = addr.parse().expect("an address");
        let mut stream = within("the connection", socket.connect(addr))
            .await
            .expect("connects");
        stream
            .write_all(&[0x7F, 0xF1, 0, 0])
            .await
            .expect("written");
        let mut reply = [0u8; 4];
        within("the handshake reply", stream.read_exact(&mut reply))
            .await
            .expect("the handshake reply");
        let mut t = Tiny {
            stream,
            wire: Wire::default(),
        };
        t.send(&Message::Hello {
            realm: "realm1".into(),
            details: dict! {"roles" => Value::Dict(roles)},
        })
        .await;
        match t.recv().await {
            Some(Message::Welcome { session, .. }) => (t, session),
            other => panic!("expected WELCOME, got {other:?}"),
        }
    }

    /// Sends a message, counting it.
    pub async fn send(&mut self, m: &Message) {
        let b = wamp::encode(Serializer::Json, m).expect("encodes");
        self.wire.received(b.len());
        self.stream.write_all(&rs_frame(&b)).await.expect("written");
    }

    /// The next whole message, counted; `None` at the end of the connection (a frame cut
    /// short by the close is not a message).
    pub async fn recv(&mut self) -> Option<Message> {
        loop {
            let mut head = [0u8; 4];
            within("a frame", self.stream.read_exact(&mut head))
                .await
                .ok()?;
            let n = usize::from(head[1]) << 16 | usize::from(head[2]) << 8 | usize::from(head[3]);
            let mut body = vec![0u8; n];
            within("a frame", self.stream.read_exact(&mut body))
                .await
                .ok()?;
            if head[0] & 0x07 != 0 {
                continue;
            }
            self.wire.sent(n);
            let b = bytes::Bytes::from(body);
            return Some(wamp::decode(Serializer::Json, &b).expect("valid"));
        }
    }

    /// Reads (and counts) what the router sent until it closed the connection; how many.
    pub async fn drain(&mut self) -> usize {
        let mut n = 0;
        while self.recv().await.is_some() {
            n += 1;
        }
        n
    }
}
