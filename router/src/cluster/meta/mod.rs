//! The session meta procedures for the whole cluster (issue 17): `wamp.session.count`, `list`,
//! `get`, `kill`, `kill_by_authid`, `kill_by_authrole`, `kill_all`, `wampstat.session.stats`
//! and `summary` (`meta_procedures::CLUSTER_WIDE`) answered on a clustered node for
//! every live node, merged as [`merge`] says.
//!
//! **Subjects.** A request of realm R goes to `<prefix>.<R>.meta.<procedure>` (one token per
//! URI component, as the pub/sub subjects), and every node subscribes once per realm to
//! `<prefix>.<R>.meta.>`: one publish reaches every node (no per-node fan-out to keep in step
//! with the membership), the subject says which procedure (nats-server's `/subsz` and a
//! `nats sub` show what is asked), and a node never receives its own requests (the connection's
//! `no_echo`). Each node answers on the request's reply subject, an inbox the asking node
//! subscribed to before publishing.
//!
//! **Wire format.** WAMP messages in msgpack, with the codec every session uses: the request
//! is a CALL (`request` a random id, `options.caller` the calling session's id, the procedure,
//! the caller's arguments and keyword arguments — the authrole filter of `count`/`list`, the
//! `reason` and `message` of the killers — as they are); the answer a RESULT or an ERROR with
//! `details.node` the answering node. An answer larger than NATS takes in one message (its
//! `max_payload`, 1 MiB by default: some 1300 `stats` rows) is cut: the list's items in
//! RESULTs with `details.more`, then an empty one without; the asking node takes a node's
//! parts only once its last has come.
//!
//! **Asking.** The caller's node authorizes the CALL (the caller's role, as on one router) and
//! answers its own part first (a killer kills its own sessions, never the caller); an invalid
//! argument is refused there, and a `get` or `kill` of a session it holds is answered there.
//! Otherwise a task publishes the request, gathers the answers of the live nodes (the node
//! table's members) for at most [`DEADLINE`] and sends the merged RESULT (or ERROR) to the
//! caller. Bounded: each such call holds one of the caller's calls in progress (its
//! `max_pending_calls`) and one of [`MAX_IN_FLIGHT`] per process; beyond either the CALL is
//! refused with `wampstat.error.limit_exceeded`.
//!
//! **A silent node** (no answer by the deadline, or an error such as
//! `wampstat.error.answer_too_large`): the answer is what came, with
//! `x_silent_nodes` (their names) in the RESULT's details and a WARN naming them (a few per
//! minute); a `get` or `kill` that no answering node holds fails with
//! `wampstat.error.cluster_unavailable` instead of `no_such_session` (the silent node may hold
//! it). **NATS down**: `count`, `list`, `stats` and `summary` answer for this node alone (and
//! WARN); `kill_by_authid`, `kill_by_authrole`, `kill_all`, and `get`/`kill` of a session not
//! on this node fail with `wampstat.error.cluster_unavailable` (nothing is killed by the
//! `kill_by_*`/`kill_all` that fail).
//!
//! The modules: [`merge`] (how the answers merge), `wire` (the messages) and `serve` (the
//! answering task).
//!
//! **Answering.** One task per realm ([`serve()`]) answers the other nodes' requests with this
//! node's part. It trusts the backplane: NATS is a trusted network (nodes authenticate to
//! NATS, not to each other), so a request is not authorized again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::sync::{Semaphore, SemaphorePermit};
use wamp::message::code;
use wamp::{Dict, Id, Message, Payload, Value, dict};

pub mod merge;
mod serve;
mod wire;

pub use serve::serve;

use merge::Merge;
use wire::{NodeAnswer, Opened, open_answer, request_body};

use super::{Cluster, names};
use crate::limits::{LIMIT_EXCEEDED, Resource};
use crate::log_budget::LogBudget;
use crate::meta_procedures::{self as procedures, Answer, NO_SUCH_SESSION, Reply};
use crate::realm::Realm;
use crate::refusal::Refusal;
use crate::session_handle::{NotSent, SessionHandle};

use super::CLUSTER_UNAVAILABLE;

/// The error a node answers with when its answer is larger than NATS takes (`max_payload`).
pub const ANSWER_TOO_LARGE: &str = "wampstat.error.answer_too_large";

/// How long the asking node waits for the other nodes' answers.
pub const DEADLINE: Duration = Duration::from_secs(1);

/// How many cluster-wide meta calls may be gathering at once in this process.
pub const MAX_IN_FLIGHT: usize = 64;

/// How long one NATS operation (subscribe, publish) may take before it is given up.
const NATS_TIMEOUT: Duration = Duration::from_secs(1);

static IN_FLIGHT: Semaphore = Semaphore::const_new(MAX_IN_FLIGHT);

/// The warnings about silent nodes and local-only answers: a few per minute.
static PARTIAL: LogBudget = LogBudget::new(
    "partial cluster-wide meta answers",
    5,
    Duration::from_secs(60),
);

/// A CALL of a session procedure, as the session got it.
#[derive(Debug)]
pub struct Call<'a> {
    /// Its request id.
    pub request: Id,
    /// The procedure (one of `meta_procedures::CLUSTER_WIDE`).
    pub procedure: &'a str,
    /// Its arguments.
    pub payload: &'a Payload,
}

/// Answers `call` of `caller` for every node: now (an invalid argument, a session held here,
/// no other node, NATS down), or later from a task.
pub fn call(
    realm: &Realm,
    cluster: &Cluster,
    caller: &Arc<SessionHandle>,
    call: &Call<'_>,
) -> Reply {
    match scatter(realm, cluster, caller, call) {
        Ok(s) => {
            tokio::spawn(s.run(cluster.clone()));
            Reply::Later
        }
        Err(now) => Reply::Now(now),
    }
}

/// A cluster-wide call to ask the other nodes, or (`Err`) its answer now.
#[allow(clippy::result_large_err)] // the `Err` is the call's answer, made once per call
fn scatter(
    realm: &Realm,
    cluster: &Cluster,
    caller: &Arc<SessionHandle>,
    call: &Call<'_>,
) -> Result<Scatter, Answer> {
    let kind = Merge::of(call.procedure).ok_or_else(|| {
        Refusal::new(
            "wamp.error.no_such_procedure",
            format!("{} is not a cluster-wide procedure", call.procedure),
        )
    });
    let kind = kind.map_err(Err)?;
    let (args, kwargs) = procedures::arguments(call.payload).map_err(Err)?;
    let kills_many = matches!(kind, Merge::Ids | Merge::Sum) && call.procedure.contains("kill");
    if kills_many && !cluster.is_connected() {
        return Err(Err(unavailable(call.procedure)));
    }
    let here = procedures::session_procedure(realm, caller.id, call.procedure, &args, &kwargs)
        .unwrap_or_else(|| Err(Refusal::invalid_argument("not a session procedure")));
    match &here {
        // Held here (get, kill), or refused here as it would be everywhere.
        Ok(_) if kind == Merge::Holder => return Err(here),
        Err(r) if kind != Merge::Holder || r.error != NO_SUCH_SESSION => return Err(here),
        _ => {}
    }
    // Without NATS the other nodes, declared dead by now or soon, may still hold the session.
    if !cluster.is_connected() {
        if kind == Merge::Holder {
            return Err(Err(unavailable(call.procedure)));
        }
        if PARTIAL.admit() {
            tracing::warn!(
                realm = %realm.name(),
                "cluster: {} answered for this node only: not connected to NATS",
                call.procedure
            );
        }
        return Err(here);
    }
    let peers: BTreeSet<String> = cluster.members().borrow().keys().cloned().collect();
    if peers.is_empty() {
        return Err(here);
    }
    let permit = IN_FLIGHT.try_acquire().map_err(|_| {
        Refusal::new(
            LIMIT_EXCEEDED,
            format!(
                "this node has {MAX_IN_FLIGHT} cluster-wide meta calls in progress, the most \
                 allowed"
            ),
        )
    });
    let permit = permit.map_err(Err)?;
    caller.quota.acquire(Resource::Calls).map_err(Err)?.keep();
    let request = wamp::id::random_id();
    Ok(Scatter {
        kind,
        here,
        peers,
        subject: names::of_uri(
            &names::base(cluster.subject_prefix(), realm.name(), "meta"),
            call.procedure,
        ),
        body: request_body(request, caller.id, call.procedure, args, kwargs),
        procedure: call.procedure.to_owned(),
        realm: realm.name().to_owned(),
        request: call.request,
        in_flight: InFlight {
            caller: Arc::clone(caller),
            _permit: permit,
        },
    })
}

/// A cluster-wide call on its way to the other nodes.
struct Scatter {
    kind: Merge,
    /// This node's part (for a `get` or `kill`: the session is not here).
    here: Answer,
    /// The other nodes, whose answers are awaited.
    peers: BTreeSet<String>,
    subject: String,
    body: Bytes,
    procedure: String,
    realm: String,
    /// The caller's CALL request id.
    request: Id,
    in_flight: InFlight,
}

impl Scatter {
    /// Asks, gathers, merges and sends the caller its RESULT or ERROR.
    async fn run(self, cluster: Cluster) {
        let client = cluster.client().await;
        let gathered = gather(&client, self.subject, self.body, &self.peers).await;
        let (answer, failed) = finish(self.kind, self.here, gathered.answers);
        let mut missing = gathered.silent.clone();
        missing.extend(failed.iter().map(|(node, _)| node.clone()));
        missing.sort_unstable();
        if !missing.is_empty() && PARTIAL.admit() {
            let why = gathered
                .silent
                .iter()
                .map(|n| format!("{n} (no answer within {} ms)", DEADLINE.as_millis()))
                .chain(failed.iter().map(|(n, e)| format!("{n} (answered {e})")))
                .collect::<Vec<_>>()
                .join(", ");
            tracing::warn!(
                realm = %self.realm,
                "cluster: {} answered without node(s) {why}",
                self.procedure,
            );
        }
        let message = reply_message(answer, &missing, &self.procedure, self.request);
        let caller = &self.in_flight.caller;
        // A caller that left meanwhile is owed nothing.
        if let Err(NotSent::TooLarge) = caller.send_owed(&message) {
            let too_large = Refusal::new(
                "wamp.error.payload_size_exceeded",
                format!(
                    "the result exceeds the caller's limit of {} bytes",
                    caller.transport.peer_max_message_size
                ),
            );
            let _ = caller.send_owed(&too_large.into_error(code::CALL, self.request));
        }
    }
}

/// The RESULT or ERROR of a merged `answer` to CALL `request` of `procedure`, without the
/// `silent` nodes (no answer, or an error): they are named in the RESULT's details, and a
/// session none of the others holds is `cluster_unavailable` rather than `no_such_session` (it
/// may be on a silent node).
fn reply_message(answer: Answer, silent: &[String], procedure: &str, request: Id) -> Message {
    match answer {
        Ok(payload) => Message::Result {
            request,
            details: if silent.is_empty() {
                Dict::new()
            } else {
                let names = silent.iter().map(|n| Value::from(n.as_str())).collect();
                dict! {"x_silent_nodes" => Value::List(names)}
            },
            payload,
        },
        Err(r) if r.error == NO_SUCH_SESSION && !silent.is_empty() => {
            unavailable(procedure).into_error(code::CALL, request)
        }
        Err(r) => r.into_error(code::CALL, request),
    }
}

/// One cluster-wide call in progress: the caller's call unit and the process's permit, given
/// back when it ends on any path.
struct InFlight {
    caller: Arc<SessionHandle>,
    _permit: SemaphorePermit<'static>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.caller.quota.release(Resource::Calls);
    }
}

fn unavailable(procedure: &str) -> Refusal {
    Refusal::new(
        CLUSTER_UNAVAILABLE,
        format!(
            "{procedure} needs the other nodes of the cluster, and NATS is not reachable (or a \
             node did not answer within {} ms)",
            DEADLINE.as_millis()
        ),
    )
}

/// What the other nodes answered by the deadline.
#[derive(Debug, Default)]
struct Gathered {
    answers: Vec<(String, NodeAnswer)>,
    /// The live nodes that did not answer, by name.
    silent: Vec<String>,
}

/// Publishes `body` to `subject` and collects the answers until every node of `peers` has
/// answered, or [`DEADLINE`].
async fn gather(
    client: &async_nats::Client,
    subject: String,
    body: Bytes,
    peers: &BTreeSet<String>,
) -> Gathered {
    let mut waiting = peers.clone();
    let inbox = client.new_inbox();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let sent = async {
        let sub = client.subscribe(inbox.clone()).await.ok()?;
        client.publish_with_reply(subject, inbox, body).await.ok()?;
        Some(sub)
    };
    // Each node's parts so far, and whether its last has come.
    let mut parts: BTreeMap<String, (Vec<NodeAnswer>, bool)> = BTreeMap::new();
    if let Ok(Some(mut sub)) = tokio::time::timeout(NATS_TIMEOUT, sent).await {
        while !waiting.is_empty() {
            let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await else {
                break;
            };
            let Some(Opened { node, answer, more }) = open_answer(&msg.payload) else {
                tracing::debug!("cluster: ignored an answer on {}", msg.subject);
                continue;
            };
            // Once its last part has come, a node is done (a node not in the table yet is
            // taken too, but not awaited).
            let (got, done) = parts.entry(node.clone()).or_default();
            if *done {
                continue;
            }
            got.push(answer);
            if !more {
                *done = true;
                waiting.remove(&node);
            }
        }
    }
    Gathered {
        answers: parts
            .into_iter()
            .filter(|(_, (_, done))| *done)
            .flat_map(|(node, (got, _))| got.into_iter().map(move |a| (node.clone(), a)))
            .collect(),
        silent: waiting.into_iter().collect(),
    }
}

/// The merged answer of this node's part `here` (for a `get`/`kill`, [`Merge::Holder`], its
/// "no such session") and the other nodes' `answers`, and the nodes that answered an error
/// (other than "not mine"), with it.
fn finish(
    kind: Merge,
    here: Answer,
    answers: Vec<(String, NodeAnswer)>,
) -> (Answer, Vec<(String, String)>) {
    let mut ok = Vec::with_capacity(answers.len() + 1);
    let mut failed = Vec::new();
    let missing = match here {
        Ok(p) => {
            ok.push(p);
            None
        }
        Err(r) => Some(r),
    };
    for (node, answer) in answers {
        match answer {
            Ok(p) => ok.push(p),
            Err(e) if e == NO_SUCH_SESSION => {}
            Err(e) => failed.push((node, e)),
        }
    }
    let answer = kind
        .merge(&ok)
        .ok_or_else(|| missing.unwrap_or_else(|| Refusal::new(NO_SUCH_SESSION, "no such session")));
    (answer, failed)
}

/// A payload of one argument, for the tests of this module and its parts.
#[cfg(test)]
fn one(v: impl Into<Value>) -> Payload {
    Payload::from_args(vec![v.into()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta_procedures as procedures;

    #[test]
    fn finishing_merges_the_answers_and_tells_a_missing_session() {
        let answers = vec![
            ("node-b".to_owned(), Ok(one(2u64))),
            (
                "node-c".to_owned(),
                Err("wamp.error.invalid_argument".to_owned()),
            ),
        ];
        let (sum, failed) = finish(Merge::Sum, Ok(one(1u64)), answers);
        assert_eq!(sum.unwrap().args().unwrap(), vec![Value::from(3u64)]);
        assert_eq!(
            failed,
            [(
                "node-c".to_owned(),
                "wamp.error.invalid_argument".to_owned()
            )]
        );
        let nobody = vec![("node-b".to_owned(), Err(NO_SUCH_SESSION.to_owned()))];
        let miss = procedures::no_session(7);
        let (got, failed) = finish(Merge::Holder, Err(miss.clone()), nobody);
        assert_eq!(got, Err(miss));
        assert!(failed.is_empty(), "not mine is no failure");
        let holder = vec![
            ("node-b".to_owned(), Err(NO_SUCH_SESSION.to_owned())),
            ("node-c".to_owned(), Ok(one("details"))),
        ];
        let got = finish(Merge::Holder, Err(procedures::no_session(7)), holder)
            .0
            .unwrap();
        assert_eq!(got.args().unwrap(), vec![Value::from("details")]);
    }

    #[test]
    fn silent_nodes_are_named_and_turn_a_missing_session_into_unavailable() {
        let silent = ["node-c".to_owned()];
        let Message::Result { details, .. } = reply_message(Ok(one(2u64)), &silent, "count", 4)
        else {
            panic!("a RESULT");
        };
        assert_eq!(
            details.get("x_silent_nodes"),
            Some(&Value::List(vec!["node-c".into()]))
        );
        let Message::Result { details, .. } = reply_message(Ok(one(2u64)), &[], "count", 4) else {
            panic!("a RESULT");
        };
        assert!(details.is_empty());
        let miss = Err(procedures::no_session(7));
        let Message::Error { error, request, .. } = reply_message(miss.clone(), &silent, "get", 4)
        else {
            panic!("an ERROR");
        };
        assert_eq!((error.as_str(), request), (CLUSTER_UNAVAILABLE, 4));
        let Message::Error { error, .. } = reply_message(miss, &[], "get", 4) else {
            panic!("an ERROR");
        };
        assert_eq!(error, NO_SUCH_SESSION);
    }
}
