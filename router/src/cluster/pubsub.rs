//! Pub/sub across the nodes of a cluster, for one realm: the realm's [`Backplane`].
//!
//! Sessions never wait for NATS. A publication that passed authorization (or a meta event) is
//! sealed into an [`envelope`] on the publishing session's task and handed to the backplane's
//! task through a bounded queue ([`PUBLISH_QUEUE`] envelopes, [`PUBLISH_QUEUE_BYTES`] bytes)
//! without waiting: when the queue is full, or NATS is down, the cross-node copy is dropped and
//! counted ([`Backplane::dropped`]); a full queue is logged at most a few times a minute, an
//! outage only at debug (the connection logs the outage itself). The local delivery has
//! happened before and does not depend on it.
//!
//! The local subscriptions' NATS subjects are kept in the realm's [`Interest`], changed under
//! its lock together with the broker (so a subscription created and one deleted at once on the
//! same URI cannot leave them out of step). The task is told that it changed (a `Notify`, which
//! coalesces: no queue to overflow, nothing lost) and brings its NATS subscriptions in line: it
//! subscribes to each subject the interest has and it has not, and unsubscribes from each it
//! has and the interest no longer has. async-nats subscribes again by itself after a
//! reconnection.
//!
//! A message through NATS subscription S is opened and delivered to the local subscriptions
//! mapped to S ([`Interest::wants`]); one that does not open (another version, a foreign
//! publisher) is logged at debug and dropped.
//!
//! The task also follows the other nodes' `wamp.session.on_join` and `on_leave` (its own NATS
//! subscriptions, whatever the local ones) in a [`RemoteSessions`] table; when the cluster
//! says a node left, the sessions it still had are reported to this node's monitors as left
//! (`wamp.session.on_leave`, here only: every survivor tells its own).

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use wamp::{Id, MatchPolicy, Serializer};

use super::interest::Interest;
use super::remote_sessions::RemoteSessions;
use super::{Cluster, NodeEvent, envelope, names};
use crate::broker::{Broker, Identity, Publication};
use crate::log_budget::LogBudget;
use crate::realm::Realm;

/// The meta events the backplane follows to know the other nodes' sessions.
const TRACKED: [&str; 2] = ["wamp.session.on_join", "wamp.session.on_leave"];

/// How many sealed publications may wait for the backplane's task (per realm): several
/// milliseconds of NATS at its usual rate, a queue for bursts, not for an outage.
pub const PUBLISH_QUEUE: usize = 4096;

/// How many bytes of sealed publications may wait for the backplane's task (per realm), so
/// that large payloads cannot make [`PUBLISH_QUEUE`] envelopes a lot of memory.
pub const PUBLISH_QUEUE_BYTES: usize = 32 << 20;

/// How long one publish to the NATS client, or one (un)subscribe, may take before it is given
/// up (the client's own queue is full: NATS is slow or away).
const NATS_TIMEOUT: Duration = Duration::from_secs(1);

/// The warnings about dropped cross-node publications: a few per minute, the rest counted.
static DROPPED: LogBudget = LogBudget::new(
    "cross-node publications dropped",
    5,
    Duration::from_secs(60),
);

/// A sealed publication on its way to NATS.
#[derive(Debug)]
struct Outgoing {
    subject: String,
    body: Bytes,
}

/// One realm's part of the cluster's pub/sub: its NATS subjects and the queue to its task.
#[derive(Debug)]
pub struct Backplane {
    /// The realm's name, for the log.
    realm: String,
    /// `<prefix>.<realm>.ev`.
    base: String,
    interest: Mutex<Interest>,
    changed: Notify,
    tx: mpsc::Sender<Outgoing>,
    /// Taken by [`Backplane::run`].
    rx: Mutex<Option<mpsc::Receiver<Outgoing>>>,
    /// The bytes of the envelopes in the queue (at most [`PUBLISH_QUEUE_BYTES`]).
    queued_bytes: AtomicUsize,
    dropped: AtomicU64,
    /// The other nodes' sessions of the realm.
    remote: Mutex<RemoteSessions>,
}

/// The realm's interest, locked: change it together with the broker, and the backplane's task
/// is told when the guard goes if a NATS subject is to be subscribed or unsubscribed.
pub struct InterestGuard<'a> {
    interest: MutexGuard<'a, Interest>,
    changed: &'a Notify,
    dirty: bool,
}

impl InterestGuard<'_> {
    /// A local subscription to `uri` by `policy` was created.
    pub fn add(&mut self, uri: &str, policy: MatchPolicy) {
        self.dirty |= self.interest.add(uri, policy).is_some();
    }

    /// A local subscription to `uri` by `policy` was deleted (no subscriber left).
    pub fn remove(&mut self, uri: &str, policy: MatchPolicy) {
        self.dirty |= self.interest.remove(uri, policy).is_some();
    }
}

impl Drop for InterestGuard<'_> {
    fn drop(&mut self) {
        if self.dirty {
            self.changed.notify_one();
        }
    }
}

impl Backplane {
    /// The backplane of realm `realm` of the cluster whose subjects start with `prefix`;
    /// nothing reaches NATS until [`Backplane::run`].
    pub fn new(prefix: &str, realm: &str) -> Backplane {
        let base = names::base(prefix, realm, "ev");
        let (tx, rx) = mpsc::channel(PUBLISH_QUEUE);
        Backplane {
            realm: realm.to_owned(),
            interest: Mutex::new(Interest::new(base.clone())),
            base,
            changed: Notify::new(),
            tx,
            rx: Mutex::new(Some(rx)),
            queued_bytes: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            remote: Mutex::new(RemoteSessions::default()),
        }
    }

    /// How many sessions of other nodes this node knows of in the realm.
    pub fn remote_sessions(&self) -> usize {
        lock(&self.remote).len()
    }

    /// The interest, locked. Take it before the broker's subscribe, unsubscribe or detach and
    /// keep it until their result is in (the backplane's task takes it before the broker too).
    pub fn interest(&self) -> InterestGuard<'_> {
        InterestGuard {
            interest: lock(&self.interest),
            changed: &self.changed,
            dirty: false,
        }
    }

    /// The NATS subjects the realm's subscriptions need now.
    pub fn subjects(&self) -> Vec<String> {
        let mut s: Vec<String> = lock(&self.interest).subjects().map(str::to_owned).collect();
        s.sort_unstable();
        s
    }

    /// How many cross-node publications were dropped (queue full, NATS down or slow).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Sends publication `publication` of `p` by `publisher` (delivered here already) to the
    /// other nodes, its EVENT in `serializer`; never waits.
    pub fn publish(
        &self,
        serializer: Serializer,
        publisher: &Identity<'_>,
        publication: Id,
        p: &Publication<'_>,
    ) {
        let body = match envelope::seal(serializer, publisher, publication, p) {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(topic = p.topic, "cluster: publication not sealed: {e}");
                return;
            }
        };
        let size = body.len();
        let before = self.queued_bytes.fetch_add(size, Ordering::AcqRel);
        if before.saturating_add(size) > PUBLISH_QUEUE_BYTES {
            self.queued_bytes.fetch_sub(size, Ordering::AcqRel);
            self.drop_one(p.topic, "the backplane's queue holds too many bytes");
            return;
        }
        let subject = names::of_uri(&self.base, p.topic);
        if let Err(e) = self.tx.try_send(Outgoing { subject, body }) {
            self.queued_bytes.fetch_sub(size, Ordering::AcqRel);
            let why = match e {
                mpsc::error::TrySendError::Full(_) => "the backplane's queue is full",
                mpsc::error::TrySendError::Closed(_) => "the backplane has stopped",
            };
            self.drop_one(p.topic, why);
        }
    }

    /// Takes the next queued envelope out of the byte count.
    fn dequeued(&self, out: &Outgoing) {
        self.queued_bytes
            .fetch_sub(out.body.len(), Ordering::AcqRel);
    }

    /// Counts and (within [`DROPPED`]) logs a publication that does not cross.
    fn drop_one(&self, topic: &str, why: &str) {
        let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if DROPPED.admit() {
            tracing::warn!(
                realm = %self.realm,
                topic,
                "cluster: a publication was not sent to the other nodes: {why} ({n} dropped \
                 in this realm so far)"
            );
        }
    }

    /// The realm's task, until `shutdown`: subscribes to what the interest needs, sends the
    /// queued publications, delivers what arrives into the realm's broker, follows the other
    /// nodes' sessions and reports those of a node that left. Returns at once if it runs
    /// already.
    pub async fn run(
        self: Arc<Self>,
        realm: Arc<Realm>,
        cluster: Cluster,
        shutdown: CancellationToken,
    ) {
        let Some(mut rx) = lock(&self.rx).take() else {
            return;
        };
        let broker = Arc::clone(&realm.broker);
        // Membership from now on: a node that dies before the client connects has no
        // sessions here to report.
        let mut membership = Some(cluster.events());
        let client = tokio::select! {
            () = shutdown.cancelled() => return,
            c = cluster.client() => c,
        };
        let mut tracked = Subscriptions::default();
        for topic in TRACKED {
            let subject = names::of_uri(&self.base, topic);
            match tokio::time::timeout(NATS_TIMEOUT, client.subscribe(subject.clone())).await {
                Ok(Ok(s)) => tracked.insert(subject, s),
                _ => tracing::warn!(
                    realm = %self.realm,
                    "cluster: cannot follow {subject}; the sessions of a node that dies are \
                     not reported as left"
                ),
            }
        }
        let mut subs = Subscriptions::default();
        self.reconcile(&client, &mut subs).await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                msg = tracked.next() => {
                    if let Some((_, msg)) = msg {
                        self.track(&msg.payload);
                    }
                }
                event = recv(&mut membership), if membership.is_some() => {
                    match event {
                        Ok(NodeEvent::Left { node, .. }) => self.node_left(&realm, &node),
                        Ok(NodeEvent::Joined { .. }) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => tracing::warn!(
                            realm = %self.realm,
                            "cluster: {n} membership events missed; a dead node's sessions may \
                             not all be reported as left"
                        ),
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => membership = None,
                    }
                }
                () = self.changed.notified() => self.reconcile(&client, &mut subs).await,
                out = rx.recv() => {
                    let Some(out) = out else { break };
                    self.dequeued(&out);
                    self.send(&client, &cluster, out).await;
                }
                msg = subs.next() => {
                    if let Some((subject, msg)) = msg {
                        self.arrived(&broker, &subject, &msg.payload);
                    }
                }
            }
        }
    }

    /// Sends one sealed publication, unless NATS is down (then it is dropped: at most once,
    /// as WAMP promises, and no backlog to replay stale events from).
    async fn send(&self, client: &async_nats::Client, cluster: &Cluster, out: Outgoing) {
        if !cluster.is_connected() {
            // Counted, logged at debug only: the outage itself is logged (once, then every
            // minute) by the cluster's connection.
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::debug!(
                realm = %self.realm,
                "cluster: {} not sent: not connected to NATS ({n} dropped so far)",
                out.subject
            );
            return;
        }
        let subject = out.subject.clone();
        match tokio::time::timeout(NATS_TIMEOUT, client.publish(out.subject, out.body)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.drop_one(&subject, &e.to_string()),
            Err(_) => self.drop_one(&subject, "NATS did not take it within 1 s"),
        }
    }

    /// Takes in an on_join or on_leave of another node.
    fn track(&self, body: &Bytes) {
        let Ok(arrived) = envelope::open(body) else {
            return;
        };
        if let Ok(args) = arrived.payload.args() {
            lock(&self.remote).observe(&arrived.topic, &args);
        }
    }

    /// Node `node` left the cluster: its sessions that had not left are reported as left to
    /// this node's monitors.
    fn node_left(&self, realm: &Realm, node: &str) {
        let gone = lock(&self.remote).node_left(node);
        if gone.is_empty() {
            return;
        }
        tracing::info!(
            realm = %self.realm,
            "cluster: node {node} left with {} session(s) of this realm; reporting them as left",
            gone.len()
        );
        for id in gone {
            realm.events.on_remote_leave(id);
        }
    }

    /// Takes in a message that came through NATS subscription `subject`.
    fn arrived(&self, broker: &Broker, subject: &str, body: &Bytes) {
        match envelope::open(body) {
            Ok(arrived) => {
                // The interest before the broker, as on the sessions' side.
                let interest = lock(&self.interest);
                arrived.deliver(broker, |s| interest.wants(subject, &s.uri, s.policy));
            }
            Err(e) => {
                tracing::debug!(realm = %self.realm, "cluster: ignored a message on {subject}: {e}");
            }
        }
    }

    /// Brings the NATS subscriptions in line with the interest.
    async fn reconcile(&self, client: &async_nats::Client, subs: &mut Subscriptions) {
        let wanted: HashSet<String> = lock(&self.interest).subjects().map(str::to_owned).collect();
        let (add, remove) = subs.diff(&wanted);
        for subject in remove {
            if let Some(mut s) = subs.remove(&subject) {
                match tokio::time::timeout(NATS_TIMEOUT, s.unsubscribe()).await {
                    Ok(Ok(())) => tracing::debug!("cluster: unsubscribed from {subject}"),
                    // Dropping the subscriber unsubscribes too, in the background.
                    Ok(Err(e)) => tracing::debug!("cluster: unsubscribing from {subject}: {e}"),
                    Err(_) => tracing::debug!("cluster: unsubscribing from {subject} timed out"),
                }
            }
        }
        for subject in add {
            match tokio::time::timeout(NATS_TIMEOUT, client.subscribe(subject.clone())).await {
                Ok(Ok(s)) => {
                    tracing::debug!("cluster: subscribed to {subject}");
                    subs.insert(subject, s);
                }
                Ok(Err(e)) => tracing::warn!(
                    realm = %self.realm,
                    "cluster: cannot subscribe to {subject}: {e}; its events from other nodes \
                     are not received until the next change of subscriptions"
                ),
                Err(_) => tracing::warn!(
                    realm = %self.realm,
                    "cluster: subscribing to {subject} timed out; its events from other nodes \
                     are not received until the next change of subscriptions"
                ),
            }
        }
    }
}

/// The next membership event, from a receiver that is there (the `select!` guard says so).
async fn recv(
    r: &mut Option<tokio::sync::broadcast::Receiver<NodeEvent>>,
) -> Result<NodeEvent, tokio::sync::broadcast::error::RecvError> {
    match r {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// Locks `m`, whose state no panic half-way can break beyond a stale subject.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Streams keyed by their subject, polled in turn from a rotating start (as tokio-stream's
/// `StreamMap`, without the dependency). Pending for ever while empty.
struct Keyed<S> {
    entries: Vec<(String, S)>,
    next: usize,
}

impl<S> Default for Keyed<S> {
    fn default() -> Self {
        Keyed {
            entries: Vec::new(),
            next: 0,
        }
    }
}

/// The task's NATS subscriptions.
type Subscriptions = Keyed<async_nats::Subscriber>;

impl<S> Keyed<S> {
    /// The keys of `wanted` not here, and the keys here not in `wanted`.
    fn diff(&self, wanted: &HashSet<String>) -> (Vec<String>, Vec<String>) {
        let have: HashSet<&str> = self.entries.iter().map(|(k, _)| k.as_str()).collect();
        let add = wanted
            .iter()
            .filter(|w| !have.contains(w.as_str()))
            .cloned()
            .collect();
        let remove = self
            .entries
            .iter()
            .filter(|(k, _)| !wanted.contains(k))
            .map(|(k, _)| k.clone())
            .collect();
        (add, remove)
    }

    fn insert(&mut self, key: String, stream: S) {
        self.remove(&key);
        self.entries.push((key, stream));
    }

    fn remove(&mut self, key: &str) -> Option<S> {
        let at = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.swap_remove(at).1)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

impl<S: Stream + Unpin> Stream for Keyed<S> {
    type Item = (String, S::Item);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let n = this.entries.len();
        if n == 0 {
            return Poll::Pending;
        }
        let start = this.next % n;
        this.next = this.next.wrapping_add(1);
        let mut i = 0;
        while i < this.entries.len() {
            let at = (start + i) % this.entries.len();
            match this.entries[at].1.poll_next_unpin(cx) {
                Poll::Ready(Some(item)) => {
                    return Poll::Ready(Some((this.entries[at].0.clone(), item)));
                }
                Poll::Ready(None) => {
                    // Ended (the connection closed for good): no longer polled.
                    let (key, _) = this.entries.swap_remove(at);
                    tracing::warn!("cluster: the NATS subscription to {key} ended");
                    if this.entries.is_empty() {
                        return Poll::Pending;
                    }
                }
                Poll::Pending => i += 1,
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures_util::stream;
    use tokio::sync::mpsc as tmpsc;
    use wamp::transport::Outbound;
    use wamp::{Dict, Payload, Value};

    use super::*;
    use crate::options::RouterOptions;
    use crate::session_handle::testing::handle;

    fn publication<'a>(topic: &'a str, payload: &'a Payload) -> Publication<'a> {
        Publication {
            topic,
            payload,
            exclude_me: true,
            disclose: false,
            passthru: Dict::new(),
            filter: None,
            passive: false,
        }
    }

    const ME: Identity<'static> = Identity {
        id: 5,
        authid: "a",
        authrole: "r",
    };

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let b = Backplane::new("w", "realm1");
        let payload = Payload::from_args(vec![Value::from(1u64)]);
        for i in 0..PUBLISH_QUEUE as u64 + 3 {
            b.publish(
                Serializer::Json,
                &ME,
                i + 1,
                &publication("com.t", &payload),
            );
        }
        assert_eq!(b.dropped(), 3);
        let mut rx = lock(&b.rx).take().expect("the receiver");
        let first = rx.try_recv().expect("queued");
        assert_eq!(first.subject, "w.realm1.ev.com.t");
        let opened = envelope::open(&first.body).expect("an envelope");
        assert_eq!((opened.topic.as_str(), opened.publication), ("com.t", 1));
    }

    #[test]
    fn large_envelopes_are_held_to_a_byte_budget() {
        let b = Backplane::new("w", "realm1");
        // Four envelopes of a bit over 8 MiB: three fit in 32 MiB, the fourth not.
        let payload = Payload::from_args(vec![Value::from("x".repeat(8 << 20))]);
        for i in 1..=4 {
            b.publish(Serializer::Json, &ME, i, &publication("com.t", &payload));
        }
        assert_eq!(b.dropped(), 1);
        let mut rx = lock(&b.rx).take().expect("the receiver");
        let first = rx.try_recv().expect("queued");
        b.dequeued(&first);
        b.publish(Serializer::Json, &ME, 5, &publication("com.t", &payload));
        assert_eq!(b.dropped(), 1, "room again once one is taken out");
        let mut left = 0;
        while let Ok(out) = rx.try_recv() {
            b.dequeued(&out);
            left += 1;
        }
        assert_eq!(left, 3);
        assert_eq!(b.queued_bytes.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_task_is_told_only_when_a_subject_comes_or_goes() {
        let b = Backplane::new("w", "realm1");
        {
            let mut i = b.interest();
            i.add("com.a", MatchPolicy::Prefix);
            i.add("com.b", MatchPolicy::Prefix);
            assert!(i.dirty);
        }
        assert_eq!(b.subjects(), ["w.realm1.ev.com.>"]);
        {
            let mut i = b.interest();
            i.remove("com.a", MatchPolicy::Prefix);
            assert!(!i.dirty, "com.b still needs the subject");
            i.remove("com.b", MatchPolicy::Prefix);
            assert!(i.dirty);
        }
        assert!(b.subjects().is_empty());
    }

    #[tokio::test]
    async fn keyed_streams_yield_with_their_key_and_drop_ended_ones() {
        let mut k: Keyed<stream::Iter<std::vec::IntoIter<u8>>> = Keyed::default();
        k.insert("a".into(), stream::iter(vec![1, 2]));
        k.insert("b".into(), stream::iter(vec![3]));
        let wanted: HashSet<String> = ["b".to_owned(), "c".to_owned()].into();
        assert_eq!(
            k.diff(&wanted),
            (vec!["c".to_owned()], vec!["a".to_owned()])
        );
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(k.next().await.expect("an item"));
        }
        got.sort_unstable();
        assert_eq!(
            got,
            [
                ("a".to_owned(), 1),
                ("a".to_owned(), 2),
                ("b".to_owned(), 3)
            ]
        );
        let pending = futures_util::poll!(k.next());
        assert!(
            pending.is_pending(),
            "ended streams are gone, empty is pending"
        );
        assert_eq!(k.len(), 0);
    }

    #[test]
    fn a_message_reaches_only_the_subscriptions_of_its_nats_subscription() {
        let b = Backplane::new("w", "realm1");
        let broker = Broker::default();
        let mut rxs: Vec<tmpsc::Receiver<Outbound>> = Vec::new();
        let mut hs = Vec::new();
        for (id, uri, policy) in [
            (10, "com.ab", MatchPolicy::Exact),
            (11, "com.a", MatchPolicy::Prefix),
            (12, "com.", MatchPolicy::Wildcard),
        ] {
            let (h, rx) = handle(
                id,
                "anonymous",
                Default::default(),
                RouterOptions::default().limits(),
            );
            let h = Arc::new(h);
            let mut i = b.interest();
            if broker
                .subscribe(&h, uri, policy)
                .expect("subscribed")
                .created
                .is_some()
            {
                i.add(uri, policy);
            }
            rxs.push(rx);
            hs.push(h);
        }
        let payload = Payload::from_args(vec![Value::from("x")]);
        let body = envelope::seal(Serializer::Json, &ME, 77, &publication("com.ab", &payload))
            .expect("sealed");
        // Through each of the three subjects, as NATS delivers it: each subscription once.
        for subject in b.subjects() {
            b.arrived(&broker, &subject, &body);
        }
        b.arrived(
            &broker,
            "w.realm1.ev.com.ab",
            &Bytes::from_static(b"garbage"),
        );
        let counts: Vec<usize> = rxs
            .iter_mut()
            .map(|rx| std::iter::from_fn(|| rx.try_recv().ok()).count())
            .collect();
        assert_eq!(counts, [1, 1, 1]);
    }
}
