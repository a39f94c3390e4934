//! **[ours]** Registrations across the cluster, in a JetStream key-value bucket per realm
//! (`reg_<prefix>_<realm>`, escaped as [`bucket_name`] says).
//!
//! Each node writes one entry per registration it has callees of — key
//! `<match>.u<hex of the URI>.<node>`, value [`Entry`] (node, incarnation, URI, match and
//! invoke policy) — and deletes it when its last callee goes. Every node watches the whole
//! bucket, keeps the entries of the other nodes ([`Mirror`]) and puts those of the live nodes
//! (of the incarnation alive now) into its dealer as registrations of the node's proxy
//! ([`super::rpc`]): a call on any node then finds every node's registrations, by the dealer's
//! own matching rules and invoke policies.
//!
//! **Cluster-wide conflicts** (`single` on two nodes, or two invoke policies): a REGISTER that
//! gives this node its first callee of a registration waits ([`Registry::claim`]) while this
//! node writes its entry and then reads the other live nodes' entries for the same URI and
//! match. Two nodes racing each write before they read, so at least one of them sees the
//! other and refuses (`wamp.error.procedure_already_exists`), taking its entry back; both may
//! refuse, never both accept. A conflict the dealer sees already (the other node's entry has
//! arrived) is refused at once, without waiting.
//!
//! When NATS or JetStream is unreachable, a REGISTER is accepted locally and the entry is
//! written once it is back (retried every second). A node that leaves is detached from the
//! dealer (its calls fail, see [`super::rpc`]); the first live node by name then deletes its
//! entries (each only at the revision seen, so never one its next incarnation wrote), and a
//! node that starts deletes what an earlier incarnation of it left.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;
use wamp::MatchPolicy;

use super::rpc::Relay;
use super::{Cluster, LeftReason, NodeEvent};
use crate::dealer::InvokePolicy;
use crate::realm::Realm;
use crate::refusal::Refusal;

/// How long a REGISTER waits for the cluster's verdict before it is accepted anyway.
pub const CLAIM_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one KV operation may take.
const KV_TIMEOUT: Duration = Duration::from_secs(2);

/// How often what could not be written is tried again, and an unreachable bucket opened.
const RETRY: Duration = Duration::from_secs(1);

/// A registration by URI and match policy.
pub type Key = (String, MatchPolicy);

/// The cluster's answer to a claim: accepted, or why not.
pub type Verdict = Result<(), Refusal>;

/// One node's registration, as its KV entry holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The node with callees.
    pub node: String,
    /// That node's incarnation when it wrote the entry.
    pub incarnation: String,
    /// The procedure or pattern.
    pub uri: String,
    /// `exact`, `prefix` or `wildcard`.
    #[serde(rename = "match")]
    pub policy: String,
    /// The invoke policy.
    pub invoke: String,
}

impl Entry {
    /// The registration and its invoke policy, when the entry names known ones.
    fn parsed(&self) -> Option<(Key, InvokePolicy)> {
        let policy = MatchPolicy::parse(&self.policy)?;
        let invoke = InvokePolicy::parse(&self.invoke)?;
        Some(((self.uri.clone(), policy), invoke))
    }
}

/// The KV key of `node`'s entry for registration `key`.
pub fn kv_key((uri, policy): &Key, node: &str) -> String {
    let m = match policy {
        MatchPolicy::Exact => 'e',
        MatchPolicy::Prefix => 'p',
        MatchPolicy::Wildcard => 'w',
    };
    format!("{m}.u{}.{node}", hex::encode(uri))
}

/// The bucket of realm `realm` under subject prefix `prefix`: `reg_`, then each of them with
/// every byte but ASCII letters and digits written `-` and two hex digits, joined by `_`.
pub fn bucket_name(prefix: &str, realm: &str) -> String {
    let escape = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("-{b:02x}")
                }
            })
            .collect::<String>()
    };
    format!("reg_{}_{}", escape(prefix), escape(realm))
}

/// Whether a registration with `ours` on one node and `theirs` on another cannot be one
/// cluster-wide registration.
fn conflicts(ours: InvokePolicy, theirs: InvokePolicy) -> bool {
    ours == InvokePolicy::Single || theirs == InvokePolicy::Single || ours != theirs
}

/// The other nodes' entries, by registration and node, with the revision each was seen at.
#[derive(Debug, Default)]
pub struct Mirror {
    entries: HashMap<Key, BTreeMap<String, (Entry, u64)>>,
}

impl Mirror {
    /// Takes in entry `entry` of `node` for `key` at `revision`; returns the one it replaces.
    fn put(&mut self, key: Key, entry: Entry, revision: u64) -> Option<Entry> {
        let node = entry.node.clone();
        self.entries
            .entry(key)
            .or_default()
            .insert(node, (entry, revision))
            .map(|(e, _)| e)
    }

    /// Forgets `node`'s entry for `key`; returns it.
    fn remove(&mut self, key: &Key, node: &str) -> Option<Entry> {
        let nodes = self.entries.get_mut(key)?;
        let gone = nodes.remove(node).map(|(e, _)| e);
        if nodes.is_empty() {
            self.entries.remove(key);
        }
        gone
    }

    /// The entries of `node` written by `incarnation`, with their revisions.
    fn of(&self, node: &str, incarnation: &str) -> Vec<(Entry, u64)> {
        self.entries
            .values()
            .filter_map(|nodes| nodes.get(node))
            .filter(|(e, _)| e.incarnation == incarnation)
            .cloned()
            .collect()
    }

    /// The entries for `key`.
    fn for_key(&self, key: &Key) -> Vec<Entry> {
        self.entries
            .get(key)
            .map(|n| n.values().map(|(e, _)| e.clone()).collect())
            .unwrap_or_default()
    }
}

/// The realm's registry: what this node must write, who waits for a verdict.
#[derive(Debug)]
pub struct Registry {
    realm: String,
    bucket: String,
    /// Registrations whose entry of this node may be out of date.
    dirty: Mutex<HashSet<Key>>,
    /// REGISTERs waiting for the cluster's verdict, by registration.
    waiters: Mutex<HashMap<Key, Vec<oneshot::Sender<Verdict>>>>,
    changed: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Registry {
    /// The registry of realm `realm` of the cluster whose subjects start with `prefix`.
    pub fn new(prefix: &str, realm: &str) -> Registry {
        Registry {
            realm: realm.to_owned(),
            bucket: bucket_name(prefix, realm),
            dirty: Mutex::new(HashSet::new()),
            waiters: Mutex::new(HashMap::new()),
            changed: Notify::new(),
        }
    }

    /// This node's callees of `uri` (with `policy`) changed: its entry is brought up to date.
    pub fn local_changed(&self, uri: &str, policy: MatchPolicy) {
        lock(&self.dirty).insert((uri.to_owned(), policy));
        self.changed.notify_one();
    }

    /// This node just got its first callee of `uri` (with `policy`): the verdict comes once
    /// the other nodes' entries have been read (an `Err` when one conflicts).
    pub fn claim(&self, uri: &str, policy: MatchPolicy) -> oneshot::Receiver<Verdict> {
        let (tx, rx) = oneshot::channel();
        let key = (uri.to_owned(), policy);
        lock(&self.waiters).entry(key.clone()).or_default().push(tx);
        lock(&self.dirty).insert(key);
        self.changed.notify_one();
        rx
    }

    /// Answers everyone waiting for `key`.
    fn answer(&self, key: &Key, verdict: &Verdict) {
        for tx in lock(&self.waiters).remove(key).unwrap_or_default() {
            let _ = tx.send(verdict.clone());
        }
    }

    /// The realm's task, until `shutdown`: opens the bucket, follows it, writes this node's
    /// entries, and follows the membership (a node that leaves is detached through `relay`, one
    /// that comes back gets its registrations again).
    pub async fn run(
        self: Arc<Self>,
        realm: Arc<Realm>,
        relay: Arc<Relay>,
        cluster: Cluster,
        shutdown: CancellationToken,
    ) {
        let mut membership = cluster.events();
        let client = tokio::select! {
            () = shutdown.cancelled() => return,
            c = cluster.client() => c,
        };
        let mut task = Task {
            registry: &self,
            realm: &realm,
            relay: &relay,
            cluster: &cluster,
            js: jetstream::new(client.clone()),
            client,
            kv: None,
            mirror: Mirror::default(),
            written: HashMap::new(),
            told_unavailable: false,
            suspects: Mutex::new(HashMap::new()),
            warned: HashSet::new(),
            recheck: HashSet::new(),
        };
        let mut watch: Option<kv::Watch> = None;
        let mut losses = cluster.losses();
        let mut retry = tokio::time::interval(RETRY);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = retry.tick() => {
                    if watch.is_none() {
                        watch = task.open().await;
                    }
                    if !lock(&self.dirty).is_empty() {
                        task.reconcile().await;
                    }
                    task.warn_about_conflicts();
                }
                entry = next(&mut watch) => match entry {
                    Some(Ok(e)) => task.observed(e),
                    Some(Err(e)) => {
                        tracing::warn!(realm = %self.realm, "cluster: the registrations' watch failed: {e}; opening it again");
                        watch = None;
                    }
                    None => watch = None,
                },
                () = self.changed.notified() => task.reconcile().await,
                // A watch that lived through a lost connection may have missed changes: it
                // is opened again (at the next tick), which replays every entry.
                Ok(()) = losses.changed() => watch = None,
                event = membership.recv() => match event {
                    Ok(NodeEvent::Left { node, incarnation, reason }) => task.node_left(&node, &incarnation, &reason).await,
                    Ok(NodeEvent::Joined { node, incarnation }) => task.node_joined(&node, &incarnation),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(realm = %self.realm, "cluster: {n} membership events missed; resynchronising the registrations");
                        task.resync();
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    }
}

/// The next entry of the watch, if there is one (never, without).
async fn next(w: &mut Option<kv::Watch>) -> Option<Result<kv::Entry, kv::WatcherError>> {
    match w {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

/// The registry's task and what it holds.
struct Task<'a> {
    registry: &'a Registry,
    realm: &'a Arc<Realm>,
    relay: &'a Relay,
    cluster: &'a Cluster,
    client: async_nats::Client,
    js: jetstream::Context,
    kv: Option<kv::Store>,
    mirror: Mirror,
    /// This node's entries in the bucket, by registration.
    written: HashMap<Key, InvokePolicy>,
    told_unavailable: bool,
    /// Other nodes' registrations the dealer refused because this node holds them otherwise.
    suspects: Mutex<HashMap<(Key, String), (Instant, InvokePolicy)>>,
    /// The conflicts warned about.
    warned: HashSet<(Key, String)>,
    /// This node's registrations to check against the others' when next written.
    recheck: HashSet<Key>,
}

impl Task<'_> {
    /// Opens (or creates) the bucket and its watch; `None` (logged once) while JetStream is
    /// unreachable.
    async fn open(&mut self) -> Option<kv::Watch> {
        if !self.cluster.is_connected() {
            return None;
        }
        let bucket = self.registry.bucket.clone();
        let open = async {
            match self.js.get_key_value(bucket.clone()).await {
                Ok(kv) => Ok(kv),
                Err(_) => {
                    let config = kv::Config {
                        bucket: bucket.clone(),
                        history: 1,
                        description: "wampstat: the registrations of each node".to_owned(),
                        ..Default::default()
                    };
                    match self.js.create_key_value(config).await {
                        Ok(kv) => Ok(kv),
                        // Another node created it meanwhile.
                        Err(e) => self
                            .js
                            .get_key_value(bucket.clone())
                            .await
                            .map_err(|_| e.to_string()),
                    }
                }
            }
        };
        let kv = match tokio::time::timeout(KV_TIMEOUT, open).await {
            Ok(Ok(kv)) => kv,
            Ok(Err(e)) => return self.unavailable(&e),
            Err(_) => return self.unavailable("JetStream did not answer within 2 s"),
        };
        let watch = match tokio::time::timeout(KV_TIMEOUT, kv.watch_all()).await {
            Ok(Ok(w)) => w,
            Ok(Err(e)) => return self.unavailable(&e.to_string()),
            Err(_) => return self.unavailable("the watch did not start within 2 s"),
        };
        if self.told_unavailable {
            tracing::info!(realm = %self.registry.realm, "cluster: the registrations' bucket {bucket} is reachable again");
        }
        self.told_unavailable = false;
        self.forget_old_incarnations(&kv).await;
        self.kv = Some(kv);
        // Everything this node holds is written again (the bucket may be new), and checked
        // against the others' (a partition may have let two nodes accept one `single`).
        self.written.clear();
        let all: Vec<Key> = self.local_keys();
        self.recheck.extend(all.iter().cloned());
        lock(&self.registry.dirty).extend(all);
        self.registry.changed.notify_one();
        Some(watch)
    }

    fn unavailable(&mut self, why: &str) -> Option<kv::Watch> {
        if !self.told_unavailable {
            self.told_unavailable = true;
            tracing::warn!(
                realm = %self.registry.realm,
                "cluster: cannot open the registrations' bucket {}: {why}; registrations stay \
                 on this node (and calls find only this node's) until it opens (is JetStream \
                 enabled? nats-server -js)",
                self.registry.bucket
            );
        }
        self.kv = None;
        None
    }

    /// The registrations this node has callees of.
    fn local_keys(&self) -> Vec<Key> {
        let mut keys = Vec::new();
        self.realm.dealer.for_each(|r| {
            if r.callees.local().next().is_some() {
                keys.push((r.uri.clone(), r.policy));
            }
        });
        keys
    }

    /// Deletes the entries an earlier incarnation of this node left.
    async fn forget_old_incarnations(&self, kv: &kv::Store) {
        let me = self.cluster.node();
        let suffix = format!(".{me}");
        let mut keys = match tokio::time::timeout(KV_TIMEOUT, kv.keys()).await {
            Ok(Ok(k)) => k,
            _ => return,
        };
        let mut mine = Vec::new();
        while let Ok(Some(k)) = tokio::time::timeout(KV_TIMEOUT, keys.next()).await {
            match k {
                Ok(k) if k.ends_with(&suffix) => mine.push(k),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        for key in mine {
            let Ok(Ok(Some(e))) = tokio::time::timeout(KV_TIMEOUT, kv.entry(key.clone())).await
            else {
                continue;
            };
            let stale = serde_json::from_slice::<Entry>(&e.value)
                .map_or(true, |v| v.incarnation != self.cluster.incarnation());
            if stale {
                let _ = tokio::time::timeout(
                    KV_TIMEOUT,
                    kv.delete_expect_revision(&key, Some(e.revision)),
                )
                .await;
            }
        }
    }

    /// Takes in a change of the bucket.
    fn observed(&mut self, e: kv::Entry) {
        tracing::debug!(realm = %self.registry.realm, "cluster: registry {:?} {}", e.operation, e.key);
        let Some(node) = e.key.rsplit('.').next().map(str::to_owned) else {
            return;
        };
        if node == self.cluster.node() {
            return;
        }
        match e.operation {
            kv::Operation::Put => {
                let Ok(entry) = serde_json::from_slice::<Entry>(&e.value) else {
                    tracing::debug!(realm = %self.registry.realm, "cluster: ignored the registry entry {}", e.key);
                    return;
                };
                let Some((key, _)) = entry.parsed() else {
                    return;
                };
                if entry.node != node {
                    return;
                }
                if let Some(old) = self.mirror.put(key, entry.clone(), e.revision) {
                    self.withdraw(&old);
                }
                self.apply(&entry);
            }
            kv::Operation::Delete | kv::Operation::Purge => {
                let Some(key) = parse_key(&e.key) else { return };
                if let Some(old) = self.mirror.remove(&key, &node) {
                    self.withdraw(&old);
                }
            }
        }
    }

    /// Whether `entry` is of a node alive now, in the incarnation that wrote it.
    fn is_live(&self, entry: &Entry) -> bool {
        self.cluster
            .members()
            .borrow()
            .get(&entry.node)
            .is_some_and(|inc| *inc == entry.incarnation)
    }

    /// Puts a live node's entry into the dealer, as a registration of its proxy.
    fn apply(&self, entry: &Entry) {
        let Some(((uri, policy), invoke)) = entry.parsed() else {
            return;
        };
        if !self.is_live(entry) {
            return;
        }
        let proxy = self.relay.proxy(self.realm, self.cluster, &entry.node);
        let dealer = &self.realm.dealer;
        let held = dealer
            .lookup(&uri, policy)
            .and_then(|id| dealer.with_registration(id, |r| r.callees.contains(proxy.id)));
        if held == Some(true) {
            return;
        }
        if let Err(r) = self
            .realm
            .dealer
            .register(&proxy, &uri, (policy, invoke), false)
        {
            // This node holds it (or another node) by another policy: the claims settle it,
            // unless both stand (registered during a partition): checked again in a second.
            tracing::debug!(
                realm = %self.registry.realm,
                "cluster: node {}'s registration of {uri:?} ({}) not taken here: {}",
                entry.node,
                policy.as_str(),
                r.message
            );
            self.suspect((uri, policy), &entry.node, invoke);
        }
    }

    /// Warns (once each) about the registrations this node and a live other node both hold
    /// with policies that conflict, a second after the conflict was seen: by then a claim in
    /// progress has been settled, so what is left is two nodes that each accepted it (during
    /// a partition, or with NATS down). Each node's calls go to its own callee meanwhile.
    fn warn_about_conflicts(&mut self) {
        let settled: Vec<((Key, String), InvokePolicy)> = {
            let mut suspects = lock(&self.suspects);
            let old: Vec<_> = suspects
                .iter()
                .filter(|(_, (seen, _))| seen.elapsed() >= RETRY)
                .map(|(k, (_, theirs))| (k.clone(), *theirs))
                .collect();
            for (k, _) in &old {
                suspects.remove(k);
            }
            old
        };
        let alive = self.cluster.members().borrow().clone();
        for ((key, node), their_invoke) in settled {
            let Some(mine) = self.realm.dealer.local_invoke(&key.0, key.1) else {
                continue;
            };
            if alive.contains_key(&node)
                && conflicts(mine, their_invoke)
                && self.warned.insert((key.clone(), node.clone()))
            {
                tracing::warn!(
                    realm = %self.registry.realm,
                    "cluster: procedure {:?} ({}) is registered on this node (invoke {}) and on \
                     node {node} (invoke {}) at once, as after a partition: each node's calls go \
                     to its own callees; unregister one of them",
                    key.0,
                    key.1.as_str(),
                    mine.as_str(),
                    their_invoke.as_str()
                );
            }
        }
    }

    /// Remembers that `node` holds `key` with `theirs`, in conflict with this node: warned
    /// about a second later if it still is.
    fn suspect(&self, key: Key, node: &str, theirs: InvokePolicy) {
        lock(&self.suspects)
            .entry((key, node.to_owned()))
            .or_insert_with(|| (Instant::now(), theirs));
    }

    /// Takes a node's entry out of the dealer.
    fn withdraw(&self, entry: &Entry) {
        let Some(((uri, policy), _)) = entry.parsed() else {
            return;
        };
        let Some(proxy) = self.relay.existing(&entry.node) else {
            return;
        };
        if let Some(id) = self.realm.dealer.lookup(&uri, policy) {
            self.realm.dealer.unregister(proxy.id, id);
        }
    }

    /// Node `node` joined (again): its entries go into the dealer, and this node writes its
    /// own again (a node that took this one for dead may have deleted them).
    fn node_joined(&mut self, node: &str, incarnation: &str) {
        for (e, _) in self.mirror.of(node, incarnation) {
            self.apply(&e);
        }
        self.written.clear();
        let all = self.local_keys();
        lock(&self.registry.dirty).extend(all);
        self.registry.changed.notify_one();
    }

    /// Puts the dealer's proxies in line with the mirror and the membership (after missed
    /// membership events).
    fn resync(&mut self) {
        let members = self.cluster.members().borrow().clone();
        for (node, incarnation) in members.iter() {
            self.node_joined(node, incarnation);
        }
    }

    /// Node `node` left: detached (its calls fail), and the first live node by name deletes
    /// its entries (unless it restarted: its new incarnation replaces them itself).
    async fn node_left(&mut self, node: &str, incarnation: &str, reason: &LeftReason) {
        self.relay.node_left(self.realm, node);
        let first_alive = {
            let members = self.cluster.members();
            let members = members.borrow();
            let me = self.cluster.node();
            members.keys().all(|n| n.as_str() > me)
        };
        let Some(kv) = &self.kv else { return };
        if !first_alive || matches!(reason, LeftReason::Restarted) || !self.cluster.is_connected() {
            return;
        }
        let gone = self.mirror.of(node, incarnation);
        for (entry, revision) in gone {
            let Some((key, _)) = entry.parsed() else {
                continue;
            };
            let k = kv_key(&key, node);
            let _ = tokio::time::timeout(KV_TIMEOUT, kv.delete_expect_revision(&k, Some(revision)))
                .await;
        }
    }

    /// Brings this node's entries in line with its dealer, and answers the claims.
    async fn reconcile(&mut self) {
        let keys: Vec<Key> = lock(&self.registry.dirty).drain().collect();
        for key in keys {
            let verdict = self.settle(&key).await;
            match verdict {
                Some(v) => self.registry.answer(&key, &v),
                None => {
                    // Not written: tried again in a second. Cut off from NATS, a claim is
                    // accepted here at once (local traffic goes on); connected, it waits for
                    // the bucket (at most CLAIM_TIMEOUT, then its session accepts it).
                    if !self.cluster.is_connected() {
                        self.registry.answer(&key, &Ok(()));
                    }
                    lock(&self.registry.dirty).insert(key);
                }
            }
        }
    }

    /// Writes or deletes this node's entry for `key`; the verdict for its claims, `None` when
    /// the bucket could not be reached.
    async fn settle(&mut self, key: &Key) -> Option<Verdict> {
        let kv = self.kv.clone()?;
        if !self.cluster.is_connected() {
            return None;
        }
        let me = self.cluster.node();
        let k = kv_key(key, me);
        let Some(invoke) = self.realm.dealer.local_invoke(&key.0, key.1) else {
            if self.written.remove(key).is_some()
                && !matches!(
                    tokio::time::timeout(KV_TIMEOUT, kv.delete(&k)).await,
                    Ok(Ok(()))
                )
            {
                return None;
            }
            // Another node's entry that the dealer refused while this node held it.
            for e in self.mirror.for_key(key) {
                self.apply(&e);
            }
            return Some(Ok(()));
        };
        let rewrite = self.written.get(key) != Some(&invoke);
        if rewrite {
            let entry = Entry {
                node: me.to_owned(),
                incarnation: self.cluster.incarnation().to_owned(),
                uri: key.0.clone(),
                policy: key.1.as_str().to_owned(),
                invoke: invoke.as_str().to_owned(),
            };
            let value = serde_json::to_vec(&entry).unwrap_or_default();
            match tokio::time::timeout(KV_TIMEOUT, kv.put(&k, value.into())).await {
                Ok(Ok(_)) => {
                    self.written.insert(key.clone(), invoke);
                }
                Ok(Err(e)) => {
                    tracing::debug!(realm = %self.registry.realm, "cluster: cannot write {k}: {e}");
                    return None;
                }
                Err(_) => {
                    tracing::debug!(realm = %self.registry.realm, "cluster: writing {k} timed out");
                    return None;
                }
            }
        }
        // A claim waits for the verdict; an entry written again after the bucket was opened
        // again (a lost connection) is checked too, for the conflicts a partition leaves.
        let claiming = lock(&self.registry.waiters).contains_key(key);
        let recheck = self.recheck.remove(key) && rewrite;
        if !claiming && !recheck {
            return Some(Ok(()));
        }
        // Written before read: of two nodes claiming at once, one sees the other.
        let Ok(Some(theirs)) = tokio::time::timeout(KV_TIMEOUT, self.entries_of(&kv, key)).await
        else {
            return None;
        };
        let status = self.cluster.status();
        for entry in theirs {
            let Some((_, their_invoke)) = entry.parsed() else {
                continue;
            };
            let node = &entry.node;
            // A node not heard yet counts (it may have just started); one known dead, or
            // restarted since it wrote the entry, does not.
            let stale = status.iter().any(|s| {
                s.node == *node
                    && (s.incarnation != entry.incarnation || s.state == super::NodeState::Dead)
            });
            if node != me && !stale && conflicts(invoke, their_invoke) {
                if !claiming {
                    self.suspect(key.clone(), node, their_invoke);
                    continue;
                }
                self.written.remove(key);
                let _ = tokio::time::timeout(KV_TIMEOUT, kv.delete(&k)).await;
                return Some(Err(Refusal::new(
                    "wamp.error.procedure_already_exists",
                    format!(
                        "procedure {:?} is already registered on node {node} (invoke {})",
                        key.0,
                        their_invoke.as_str()
                    ),
                )));
            }
        }
        Some(Ok(()))
    }
}

impl Task<'_> {
    /// Every node's entry for `key` now, read from the bucket (not from the watch, which may
    /// lag): a consumer of the last value of each of its keys; `None` if it fails.
    async fn entries_of(&self, kv: &kv::Store, key: &Key) -> Option<Vec<Entry>> {
        use async_nats::jetstream::consumer::{DeliverPolicy, ReplayPolicy, push::OrderedConfig};
        let stem = kv_key(key, "");
        let config = OrderedConfig {
            deliver_subject: self.client.new_inbox(),
            filter_subject: format!("{}{stem}*", kv.prefix),
            deliver_policy: DeliverPolicy::LastPerSubject,
            replay_policy: ReplayPolicy::Instant,
            ..Default::default()
        };
        let consumer = kv.stream.create_consumer(config).await.ok()?;
        let mut pending = consumer.cached_info().num_pending;
        let mut messages = consumer.messages().await.ok()?;
        let mut entries = Vec::new();
        while pending > 0 {
            let m = messages.next().await?.ok()?;
            pending -= 1;
            let deleted = m
                .headers
                .as_ref()
                .and_then(|h| h.get("KV-Operation"))
                .is_some_and(|op| op.as_str() == "DEL" || op.as_str() == "PURGE");
            if deleted {
                continue;
            }
            if let Ok(e) = serde_json::from_slice::<Entry>(&m.payload) {
                entries.push(e);
            }
        }
        Some(entries)
    }
}

/// The registration of a KV key (its node aside).
fn parse_key(k: &str) -> Option<Key> {
    let mut parts = k.splitn(3, '.');
    let policy = match parts.next()? {
        "e" => MatchPolicy::Exact,
        "p" => MatchPolicy::Prefix,
        "w" => MatchPolicy::Wildcard,
        _ => return None,
    };
    let uri = parts.next()?.strip_prefix('u')?;
    let uri = String::from_utf8(hex::decode(uri).ok()?).ok()?;
    Some((uri, policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_registration_and_the_node_and_read_back() {
        let key = ("com.example.add".to_owned(), MatchPolicy::Prefix);
        let k = kv_key(&key, "node-b");
        assert_eq!(k, "p.u636f6d2e6578616d706c652e616464.node-b");
        assert_eq!(parse_key(&k), Some(key));
        let empty = (String::new(), MatchPolicy::Prefix);
        assert_eq!(parse_key(&kv_key(&empty, "a")), Some(empty));
        assert_eq!(parse_key("x.u00.a"), None);
    }

    #[test]
    fn bucket_names_escape_everything_but_letters_and_digits() {
        assert_eq!(bucket_name("wampstat", "realm1"), "reg_wampstat_realm1");
        assert_eq!(bucket_name("a.b", "r_1"), "reg_a-2eb_r-5f1");
        assert_ne!(bucket_name("a", "b_c"), bucket_name("a_b", "c"));
    }

    #[test]
    fn only_one_shared_policy_may_span_nodes() {
        use InvokePolicy::*;
        assert!(conflicts(Single, Single));
        assert!(conflicts(Single, RoundRobin));
        assert!(conflicts(RoundRobin, Random));
        assert!(!conflicts(RoundRobin, RoundRobin));
        assert!(!conflicts(Last, Last));
    }
}
