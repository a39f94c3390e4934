//! **[ours]** RPC across the nodes of a cluster: the dealer's proxies of the other nodes, and
//! the relay of WAMP messages between them.
//!
//! Each node's dealer sees every other node as one *proxy* session (a [`SessionHandle`] with
//! [`SessionHandle::proxy_for`]): the callee of that node's registrations (which
//! [`super::registry`] adds) and the caller of the calls that node routes here. So the
//! dealer's own rules — matching, invoke policies, progressive results and invocations, the
//! cancel modes, timeouts, a callee or caller that leaves — hold across nodes unchanged.
//!
//! What the dealer queues to a proxy (encoded in msgpack, as for a msgpack client: INVOCATION
//! and INTERRUPT as to a callee, RESULT and ERROR as to a caller) is published as it is on the
//! proxied node's subject `<prefix>.<realm>.rpc.<node>`, after the sender's name
//! ([`frame`]). What arrives on this node's subject goes to the dealer from the sender's
//! proxy: an INVOCATION is a CALL (routed to this node's own callees only, never on to a third
//! node), an INTERRUPT a CANCEL, a RESULT a YIELD and an ERROR the callee's ERROR.
//!
//! A caller never hangs:
//! - with NATS down, an INVOCATION for another node fails at once with
//!   [`CLUSTER_UNAVAILABLE`], as does one NATS does not take within a second;
//! - a node that leaves the cluster (no heartbeat for `node_timeout_ms`, a restart, a
//!   shutdown) is detached from the dealer like a session that leaves: the calls it served end
//!   with `wamp.error.canceled` (naming the node), the calls it made are interrupted;
//! - a call's `timeout` runs on the caller's node.
//!
//! The backplane is trusted: a node routes what another node sends it without checking the
//! caller's permissions again (its own node did).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::{BufMut as _, Bytes, BytesMut};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wamp::message::code;
use wamp::transport::{Framing, Outbound, Peer, TransportInfo};
use wamp::{Dict, Id, Message, Payload, Serializer, Value};

use super::Cluster;
use super::names;
use crate::dealer::{Call, CancelMode, Chunk, Continued};
use crate::limits::Limits;
use crate::outbox::{Outbox, QueueLimits};
use crate::realm::Realm;
use crate::session_handle::{Authenticated, CalleeFeatures, CallerFeatures, SessionHandle};
use crate::uri_index::fresh_id;

pub use super::CLUSTER_UNAVAILABLE;

/// How long NATS may take to accept one message before the call it carries fails.
const NATS_TIMEOUT: Duration = Duration::from_secs(1);

/// The messages a proxy's queue holds (and as many again for the final answers owed).
const PROXY_QUEUE: usize = 8192;

/// The bytes a proxy's queue holds.
const PROXY_QUEUE_BYTES: usize = 64 << 20;

/// The bytes of a frame beyond its WAMP message: the sender's name and its length.
const FRAME_OVERHEAD: usize = 1 + 64;

/// The largest message a proxy takes when the NATS server does not say (its default
/// `max_payload`).
const DEFAULT_MAX_PAYLOAD: usize = 1 << 20;

/// A message between nodes: the sender's name (one byte of length, then the name) and the
/// WAMP message in msgpack.
pub fn frame(from: &str, message: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(1 + from.len() + message.len());
    // Node names are at most 64 bytes (the config says so).
    b.put_u8(u8::try_from(from.len()).unwrap_or(u8::MAX));
    b.put_slice(&from.as_bytes()[..from.len().min(255)]);
    b.put_slice(message);
    b.freeze()
}

/// The sender and the message of a [`frame`]; `None` for anything else.
pub fn unframe(body: &Bytes) -> Option<(&str, Bytes)> {
    let n = usize::from(*body.first()?);
    let from = std::str::from_utf8(body.get(1..1 + n)?).ok()?;
    Some((from, body.slice(1 + n..)))
}

/// Where nats-server says that nobody listens for INVOCATION `id` (sent to the node in
/// `nr_base`, `<own subject>.nr.<node>`).
fn no_responder_subject(nr_base: &str, id: Id) -> String {
    format!("{nr_base}.{id}")
}

/// The request id of a msgpack INVOCATION (`[68, request, …]`), read without decoding the
/// rest; `None` for any other message.
pub fn invocation_id(bytes: &[u8]) -> Option<Id> {
    let (&head, rest) = bytes.split_first()?;
    // A fixarray (INVOCATION has 4 to 6 elements) whose first element is 68.
    if head & 0xf0 != 0x90 || rest.first() != Some(&68) {
        return None;
    }
    let rest = rest.get(1..)?;
    let (&tag, n) = rest.split_first()?;
    let be = |len: usize| -> Option<u64> {
        let b = n.get(..len)?;
        Some(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    };
    match tag {
        0x00..=0x7f => Some(u64::from(tag)),
        0xcc => be(1),
        0xcd => be(2),
        0xce => be(4),
        0xcf => be(8),
        _ => None,
    }
}

/// A node's subject for the RPC messages of one realm.
fn subject(base: &str, node: &str) -> String {
    format!("{base}.{}", names::token(node))
}

/// The realm's proxies of the other nodes, and the relay between them.
#[derive(Debug)]
pub struct Relay {
    realm: String,
    /// `<prefix>.<realm>.rpc`.
    base: String,
    proxies: Mutex<HashMap<String, Arc<SessionHandle>>>,
}

impl Relay {
    /// The relay of realm `realm` of the cluster whose subjects start with `prefix`.
    pub fn new(prefix: &str, realm: &str) -> Relay {
        Relay {
            realm: realm.to_owned(),
            base: names::base(prefix, realm, "rpc"),
            proxies: Mutex::new(HashMap::new()),
        }
    }

    fn proxies(&self) -> MutexGuard<'_, HashMap<String, Arc<SessionHandle>>> {
        self.proxies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The proxy of `node` in `realm`, made (with the task that relays its queue) the first
    /// time it is needed.
    pub fn proxy(&self, realm: &Arc<Realm>, cluster: &Cluster, node: &str) -> Arc<SessionHandle> {
        let mut proxies = self.proxies();
        if let Some(p) = proxies.get(node) {
            return Arc::clone(p);
        }
        let max = cluster.max_payload().unwrap_or(DEFAULT_MAX_PAYLOAD);
        let (outbox, rx) = Outbox::new(
            PROXY_QUEUE,
            QueueLimits {
                max_bytes: PROXY_QUEUE_BYTES,
                owed: PROXY_QUEUE,
            },
        );
        let id = fresh_id(|id| realm.session(id).is_some());
        let handle = Arc::new(proxy_handle(id, &self.realm, node, max, outbox.clone()));
        proxies.insert(node.to_owned(), Arc::clone(&handle));
        drop(proxies);
        tokio::spawn(relay_out(
            rx,
            outbox,
            Arc::clone(&handle),
            Arc::downgrade(realm),
            cluster.clone(),
            (
                subject(&self.base, node),
                format!(
                    "{}.nr.{}",
                    subject(&self.base, cluster.node()),
                    names::token(node)
                ),
            ),
        ));
        handle
    }

    /// The proxy of `node`, if there is one.
    pub fn existing(&self, node: &str) -> Option<Arc<SessionHandle>> {
        self.proxies().get(node).cloned()
    }

    /// The realm's task, until `shutdown`: hands what arrives on this node's subject to the
    /// dealer (the membership is [`super::registry`]'s, which calls [`Relay::node_left`]).
    pub async fn run(
        self: Arc<Self>,
        realm: Arc<Realm>,
        cluster: Cluster,
        shutdown: CancellationToken,
    ) {
        let client = tokio::select! {
            () = shutdown.cancelled() => return,
            c = cluster.client() => c,
        };
        let own = subject(&self.base, cluster.node());
        let subscribe = tokio::time::timeout(NATS_TIMEOUT, client.subscribe(own.clone()));
        let mut sub = match subscribe.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return self.deaf(&own, &e.to_string()),
            Err(_) => return self.deaf(&own, "the subscription timed out"),
        };
        let nr = format!("{own}.nr.*.*");
        let mut unheard =
            match tokio::time::timeout(NATS_TIMEOUT, client.subscribe(nr.clone())).await {
                Ok(Ok(s)) => Some(s),
                _ => {
                    tracing::warn!(
                        realm = %self.realm,
                        "cluster: cannot subscribe to {nr}; a call to a node that does not listen \
                         waits for that node's timeout"
                    );
                    None
                }
            };
        let mut losses = cluster.losses();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                Ok(()) = losses.changed() => self.connection_lost(&realm),
                msg = sub.next() => {
                    let Some(msg) = msg else {
                        return self.deaf(&own, "the subscription ended");
                    };
                    self.arrived(&realm, &cluster, &msg.payload);
                }
                msg = next_of(&mut unheard) => match msg {
                    Some(msg) => self.unheard(&realm, &msg.subject),
                    None => unheard = None,
                },
            }
        }
    }

    /// The NATS connection was lost: messages of the calls in progress to other nodes may be
    /// lost with it (NATS delivers at most once), so those calls end now rather than wait for
    /// their timeout.
    fn connection_lost(&self, realm: &Realm) {
        let proxies: Vec<_> = self.proxies().values().cloned().collect();
        for p in proxies {
            let node = p.proxy_for.as_deref().unwrap_or_default();
            let why = format!(
                "the connection to the cluster was lost while node {node} had the call; its \
                 answer may be lost"
            );
            realm.dealer.end_calls_to(p.id, CLUSTER_UNAVAILABLE, &why);
        }
    }

    /// nats-server says nobody listened for an INVOCATION (`<own>.nr.<node>.<id>`): its call
    /// fails.
    fn unheard(&self, realm: &Realm, subject: &str) {
        let mut tokens = subject.rsplit('.');
        let id = tokens.next().and_then(|t| t.parse::<Id>().ok());
        let node = tokens.next().and_then(names::untoken);
        let (Some(id), Some(node)) = (id, node) else {
            return;
        };
        let Some(proxy) = self.existing(&node) else {
            return;
        };
        unreachable(
            realm,
            &proxy,
            id,
            format!("node {node} does not listen for calls now (no responders)"),
        );
    }

    fn deaf(&self, subject: &str, why: &str) {
        tracing::error!(
            realm = %self.realm,
            "cluster: cannot receive on {subject}: {why}; no call from another node reaches \
             this one"
        );
    }

    /// Node `node` left: the calls it served end, the calls it made are interrupted, its
    /// registrations go (they come back from the registry if it comes back).
    pub fn node_left(&self, realm: &Realm, node: &str) {
        let Some(proxy) = self.existing(node) else {
            return;
        };
        let why = format!("the callee's node {node} left the cluster");
        let left = realm.dealer.detach_because(proxy.id, &why);
        if !left.is_empty() {
            tracing::info!(
                realm = %self.realm,
                "cluster: node {node} left; its {} registration(s) are gone from this node",
                left.len()
            );
        }
    }

    /// Takes in one message from another node.
    fn arrived(&self, realm: &Arc<Realm>, cluster: &Cluster, body: &Bytes) {
        let Some((from, bytes)) = unframe(body) else {
            tracing::debug!(realm = %self.realm, "cluster: ignored an RPC message without a sender");
            return;
        };
        if from == cluster.node() {
            return;
        }
        let message = match wamp::decode(Serializer::Msgpack, &bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(realm = %self.realm, "cluster: ignored an RPC message from {from}: {e}");
                return;
            }
        };
        let proxy = self.proxy(realm, cluster, from);
        let dealer = &realm.dealer;
        match message {
            Message::Invocation {
                request,
                details,
                payload,
                ..
            } => called(realm, &proxy, request, details, &payload),
            Message::Interrupt { request, options } => {
                let mode = options
                    .get("mode")
                    .and_then(Value::as_str)
                    .and_then(CancelMode::parse)
                    .unwrap_or(CancelMode::KillNoWait);
                dealer.cancel(&proxy, request, mode);
            }
            Message::Result {
                request,
                details,
                payload,
            } => dealer.yield_result(proxy.id, request, &details, payload),
            Message::Error {
                request,
                details,
                error,
                payload,
                ..
            } => dealer.yield_error(proxy.id, request, details, error, payload),
            other => tracing::debug!(
                realm = %self.realm,
                "cluster: ignored a {} from {from}",
                other.name()
            ),
        }
    }
}

/// The next message of a subscription that is there (never, without).
async fn next_of(s: &mut Option<async_nats::Subscriber>) -> Option<async_nats::Message> {
    match s {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// An INVOCATION from another node's dealer: a CALL (or its continuation) of that node's
/// proxy, routed here to this node's own callees.
fn called(
    realm: &Realm,
    proxy: &Arc<SessionHandle>,
    request: Id,
    mut details: Dict,
    payload: &Payload,
) {
    let flag = |d: &mut Dict, k: &str| d.shift_remove(k).and_then(|v| v.as_bool()) == Some(true);
    let procedure = match details.shift_remove("procedure") {
        Some(Value::Str(p)) => p,
        _ => {
            return refuse(
                proxy,
                request,
                "wamp.error.invalid_argument",
                "an INVOCATION from another node without its procedure",
            );
        }
    };
    let progress = flag(&mut details, "progress");
    let receive_progress = flag(&mut details, "receive_progress");
    let chunk = Chunk {
        request,
        procedure: &procedure,
        progress,
        payload,
    };
    match realm.dealer.continue_call(proxy, &chunk) {
        Ok(Continued::New) => {}
        Ok(Continued::Sent | Continued::Discarded) => return,
        Ok(Continued::Duplicate) => {
            return refuse(
                proxy,
                request,
                "wamp.error.protocol_violation",
                "a call id in use",
            );
        }
        Err(r) => return refuse(proxy, request, r.error, &r.message),
    }
    // What is left is what the caller's node put in for the callee: the caller's identity
    // (disclosure) and the pass-through keys.
    let call = Call {
        request,
        procedure: &procedure,
        payload,
        disclose: false,
        receive_progress,
        timeout_ms: 0,
        progress,
        passthru: details,
    };
    if let Err(r) = realm.dealer.call(proxy, &call) {
        refuse(proxy, request, r.error, &r.message);
    }
}

/// Answers another node's call `request` with an ERROR.
fn refuse(proxy: &SessionHandle, request: Id, error: &str, why: &str) {
    let m = Message::Error {
        request_type: code::CALL,
        request,
        details: Dict::new(),
        error: error.to_owned(),
        payload: Payload::from_args(vec![why.into()]),
    };
    let _ = proxy.send_owed(&m);
}

/// The proxy of `node`: a msgpack "session" that takes every feature and has no limits of
/// its own (the callers' quotas, on their own nodes, bound the calls), whose messages go to
/// `outbox`.
fn proxy_handle(
    id: Id,
    realm: &str,
    node: &str,
    max_payload: usize,
    outbox: Outbox,
) -> SessionHandle {
    let transport = TransportInfo {
        framing: Framing::RawSocket,
        serializer: Serializer::Msgpack,
        peer: Peer::Tcp(SocketAddr::from(([0, 0, 0, 0], 0))),
        is_secure: false,
        websocket_protocol: None,
        http_headers: Arc::new([]),
        peer_max_message_size: max_payload.saturating_sub(FRAME_OVERHEAD),
    };
    let who = Authenticated {
        authid: format!("node:{node}"),
        authrole: "wampstat.cluster.node".to_owned(),
        authmethod: "cluster",
        authprovider: "cluster",
        authextra: Dict::new(),
    };
    let features = (
        CalleeFeatures {
            call_canceling: true,
            progressive_call_results: true,
            progressive_call_invocations: true,
        },
        CallerFeatures {
            progressive_call_invocations: true,
        },
    );
    let limits = Limits {
        subscriptions: 0,
        registrations: usize::MAX,
        calls: usize::MAX,
        uri_length: usize::MAX,
    };
    SessionHandle::new(
        id,
        realm.to_owned(),
        who,
        transport,
        features,
        None,
        limits,
        outbox,
    )
    .proxy_for(node)
}

/// A proxy's task: publishes what the dealer queues to it on its node's subject. An
/// INVOCATION that cannot be published fails at once.
async fn relay_out(
    mut rx: mpsc::Receiver<Outbound>,
    outbox: Outbox,
    proxy: Arc<SessionHandle>,
    realm: Weak<Realm>,
    cluster: Cluster,
    (subject, nr_base): (String, String),
) {
    let client = cluster.client().await;
    let me = cluster.node().to_owned();
    while let Some(item) = rx.recv().await {
        outbox.written(std::slice::from_ref(&item));
        let (Outbound::Message(bytes) | Outbound::Passive(bytes)) = item else {
            continue;
        };
        let invocation = invocation_id(&bytes);
        let failed = if invocation.is_some() && !cluster.is_connected() {
            Some("this node is not connected to NATS".to_owned())
        } else {
            let body = frame(&me, &bytes);
            // An INVOCATION names a reply subject: when no node listens on the subject,
            // nats-server says so there at once ("no responders") and the call fails.
            let publish = async {
                match invocation {
                    Some(id) => {
                        let reply = no_responder_subject(&nr_base, id);
                        client
                            .publish_with_reply(subject.clone(), reply, body)
                            .await
                    }
                    None => client.publish(subject.clone(), body).await,
                }
            };
            match tokio::time::timeout(NATS_TIMEOUT, publish).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("NATS refused it: {e}")),
                Err(_) => Some("NATS did not take it within 1 s".to_owned()),
            }
        };
        let Some(why) = failed else { continue };
        let Some(realm) = realm.upgrade() else { return };
        not_sent(&realm, &proxy, &bytes, &why);
    }
}

/// Ends the call of `invocation`, sent to `proxy`'s node, with [`CLUSTER_UNAVAILABLE`].
fn unreachable(realm: &Realm, proxy: &SessionHandle, invocation: Id, why: String) {
    let payload = Payload::from_args(vec![why.into()]);
    let error = CLUSTER_UNAVAILABLE.to_owned();
    realm
        .dealer
        .yield_error(proxy.id, invocation, Dict::new(), error, payload);
}

/// A message for another node that did not leave this one: the call of an INVOCATION ends
/// with [`CLUSTER_UNAVAILABLE`]; an answer is lost (its caller's node ends the call when this
/// node leaves, or at its timeout).
fn not_sent(realm: &Realm, proxy: &SessionHandle, bytes: &Bytes, why: &str) {
    let node = proxy.proxy_for.as_deref().unwrap_or_default();
    match wamp::decode(Serializer::Msgpack, bytes) {
        Ok(Message::Invocation { request, .. }) => unreachable(
            realm,
            proxy,
            request,
            format!("the call could not reach node {node}: {why}"),
        ),
        Ok(m) => tracing::debug!(
            realm = %realm.name(),
            "cluster: a {} for node {node} was lost: {why}",
            m.name()
        ),
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_carries_its_sender_and_the_message_unchanged() {
        let body = frame("node-b", b"\x95\x44\x01\x02\x80\xa1p");
        let (from, m) = unframe(&body).expect("a frame");
        assert_eq!(from, "node-b");
        assert_eq!(&m[..], b"\x95\x44\x01\x02\x80\xa1p");
        assert!(
            unframe(&Bytes::from_static(b"\x09node")).is_none(),
            "too short"
        );
        assert!(unframe(&Bytes::new()).is_none());
    }

    #[test]
    fn the_request_id_of_an_invocation_is_read_without_decoding_it() {
        for id in [1u64, 127, 128, 65_535, 65_536, 1 << 40, wamp::id::MAX_ID] {
            let m = Message::Invocation {
                request: id,
                registration: 5,
                details: Dict::new(),
                payload: Payload::from_args(vec!["x".into()]),
            };
            let b = wamp::encode(Serializer::Msgpack, &m).expect("encodes");
            assert_eq!(invocation_id(&b), Some(id));
        }
        let other = Message::Interrupt {
            request: 9,
            options: Dict::new(),
        };
        let b = wamp::encode(Serializer::Msgpack, &other).expect("encodes");
        assert_eq!(invocation_id(&b), None);
    }
}
