//! The meta API procedures (`wamp.session.*`, `wamp.subscription.*`, `wamp.registration.*`, and
//! **[ours]** `wampstat.session.stats`, `wampstat.session.summary` and `wampstat.cluster.status`), answered in-process on behalf of the router's internal
//! session. Arguments are positional, as in Crossbar. On a clustered node the session
//! procedures ([`CLUSTER_WIDE`]) answer for every node: [`crate::cluster::meta`] asks the
//! others, each answering with its [`session_procedure`].

use std::sync::Arc;

use wamp::{Dict, Id, MatchPolicy, Payload, Value, dict};

use crate::authorize::is_router_uri;
use crate::broker::Subscription;
use crate::dealer::Registration;
use crate::members::Members;
use crate::meta_details::{registration_dict, session_details, subscription_dict};
use crate::realm::Realm;
use crate::refusal::Refusal;
use crate::session_handle::{CloseReason, SessionHandle};

/// What a meta procedure answers: its result, or the error URI and a message.
pub type Answer = Result<Payload, Refusal>;

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::invalid_argument(message)
}

fn one(v: impl Into<Value>) -> Answer {
    Ok(Payload::from_args(vec![v.into()]))
}

fn id_arg(args: &[Value], i: usize, what: &str) -> Result<Id, Refusal> {
    args.get(i)
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid(format!("argument {i} must be the {what} (an integer ID)")))
}

fn str_arg<'a>(args: &'a [Value], i: usize, what: &str) -> Result<&'a str, Refusal> {
    args.get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("argument {i} must be the {what} (a string)")))
}

fn ids(list: impl IntoIterator<Item = Id>) -> Value {
    Value::List(list.into_iter().map(Value::from).collect())
}

/// Whether `procedure` is the router's own: the spec's `wamp.*` ones and **[ours]**
/// `wampstat.session.stats` and `wampstat.session.summary`.
pub fn is_own(procedure: &str) -> bool {
    is_router_uri(procedure)
        || procedure == "wampstat.session.stats"
        || procedure == "wampstat.session.summary"
        || procedure == "wampstat.cluster.status"
}

/// The session procedures that answer for the whole cluster on a clustered node
/// ([`crate::cluster::meta`]); each node's part is [`session_procedure`].
pub const CLUSTER_WIDE: [&str; 9] = [
    "wamp.session.count",
    "wamp.session.list",
    "wamp.session.get",
    "wamp.session.kill",
    "wamp.session.kill_by_authid",
    "wamp.session.kill_by_authrole",
    "wamp.session.kill_all",
    "wampstat.session.stats",
    "wampstat.session.summary",
];

/// The error of `wamp.session.get` and `kill` for an id no session has.
pub const NO_SUCH_SESSION: &str = "wamp.error.no_such_session";

/// How a CALL of a meta procedure is answered.
#[derive(Debug)]
pub enum Reply {
    /// Now, with this.
    Now(Answer),
    /// Later, by a task that gathers the answers of the cluster's nodes and sends the RESULT
    /// or ERROR itself.
    Later,
}

/// Answers CALL `request` of `procedure` if it is a meta procedure of this router: now, or —
/// a session procedure on a clustered node ([`CLUSTER_WIDE`]) — later, for every node;
/// `None` if it is not one.
pub fn reply(
    realm: &Arc<Realm>,
    caller: &Arc<SessionHandle>,
    request: Id,
    procedure: &str,
    payload: &Payload,
) -> Option<Reply> {
    if let Some(cluster) = &realm.cluster
        && realm.config.enable_meta_api
        && !payload.is_binary()
        && CLUSTER_WIDE.contains(&procedure)
    {
        let call = crate::cluster::meta::Call {
            request,
            procedure,
            payload,
        };
        return Some(crate::cluster::meta::call(realm, cluster, caller, &call));
    }
    call(realm, caller, procedure, payload).map(Reply::Now)
}

/// The positional and keyword arguments of `payload`, or why they do not decode.
pub fn arguments(payload: &Payload) -> Result<(Vec<Value>, Dict), Refusal> {
    let args = payload
        .args()
        .map_err(|e| invalid(format!("arguments: {e}")))?;
    let kwargs = payload
        .kwargs()
        .map_err(|e| invalid(format!("keyword arguments: {e}")))?;
    Ok((args, kwargs))
}

/// This node's part of session procedure `procedure` ([`CLUSTER_WIDE`]) with arguments `a`,
/// called by session `caller` (of this node or another: the killers spare it): its local
/// sessions only; `None` if `procedure` is not one.
pub fn session_procedure(
    realm: &Realm,
    caller: Id,
    procedure: &str,
    a: &[Value],
    kwargs: &Dict,
) -> Option<Answer> {
    Some(match procedure {
        "wamp.session.count" => authrole_filter(a)
            .map(|f| sessions(realm, &f).len().into())
            .map(one_value),
        "wamp.session.list" => {
            authrole_filter(a).map(|f| one_value(ids(sessions(realm, &f).iter().map(|s| s.id))))
        }
        "wamp.session.get" => id_arg(a, 0, "session id").and_then(|id| {
            realm
                .session(id)
                .map(|s| one_value(Value::Dict(session_details(&s, &realm.node))))
                .ok_or_else(|| no_session(id))
        }),
        // The caller's own session is not an *other* session: no_such_session (the spec's
        // wamp.session.kill).
        "wamp.session.kill" => id_arg(a, 0, "session id").and_then(|id| {
            let victim = realm
                .session(id)
                .filter(|s| s.id != caller)
                .ok_or_else(|| no_session(id))?;
            kill(&[victim], caller, kwargs)?;
            Ok(one_value(Value::Null))
        }),
        "wamp.session.kill_by_authid" | "wamp.session.kill_by_authrole" => {
            let by_authid = procedure.ends_with("authid");
            str_arg(a, 0, if by_authid { "authid" } else { "authrole" }).and_then(|key| {
                let victims: Vec<_> = realm
                    .sessions()
                    .into_iter()
                    .filter(|s| {
                        s.id != caller
                            && if by_authid {
                                s.authid == key
                            } else {
                                s.authrole == key
                            }
                    })
                    .collect();
                kill(&victims, caller, kwargs)?;
                Ok(one_value(ids(victims.iter().map(|s| s.id))))
            })
        }
        // Everyone but the caller (the spec's wamp.session.kill_all); returns the count.
        "wamp.session.kill_all" => {
            let victims: Vec<_> = realm
                .sessions()
                .into_iter()
                .filter(|s| s.id != caller)
                .collect();
            kill(&victims, caller, kwargs).map(|()| one_value(victims.len().into()))
        }
        "wampstat.session.stats" => stats_snapshot(realm, a),
        "wampstat.session.summary" => Ok(summary(realm)),
        _ => return None,
    })
}

/// Answers `procedure` if it is a meta procedure of this router, for this node only; `None`
/// otherwise.
pub fn call(
    realm: &Realm,
    caller: &SessionHandle,
    procedure: &str,
    payload: &Payload,
) -> Option<Answer> {
    // A pass-through payload is never looked into: the session refuses it for the router's
    // own procedures ([`is_own`]), and for any other it goes to the dealer as it is.
    if !realm.config.enable_meta_api || payload.is_binary() {
        return None;
    }
    let answer = |args: Vec<Value>, kwargs: Dict| -> Option<Answer> {
        let a = args.as_slice();
        if let Some(answer) = session_procedure(realm, caller.id, procedure, a, &kwargs) {
            return Some(answer);
        }
        Some(match procedure {
            "wamp.subscription.list" => listing(realm, a, true),
            "wamp.registration.list" => listing(realm, a, false),
            "wamp.subscription.lookup" | "wamp.registration.lookup" => str_arg(a, 0, "URI")
                .and_then(|uri| {
                    let policy = match a.get(1).and_then(|o| o.get("match")) {
                        None => MatchPolicy::Exact,
                        Some(m) => m
                            .as_str()
                            .and_then(MatchPolicy::parse)
                            .ok_or_else(|| invalid("match must be exact, prefix or wildcard"))?,
                    };
                    let id = if procedure.starts_with("wamp.subscription") {
                        realm.broker.lookup(uri, policy)
                    } else {
                        realm.dealer.lookup(uri, policy)
                    };
                    Ok(one_value(Value::from(id)))
                }),
            "wamp.subscription.match" => str_arg(a, 0, "topic").map(|topic| {
                let m = realm.broker.matching(topic);
                one_value(if m.is_empty() { Value::Null } else { ids(m) })
            }),
            "wamp.registration.match" => str_arg(a, 0, "procedure")
                .map(|p| one_value(Value::from(realm.dealer.best_match(p)))),
            "wamp.subscription.get" => subscription(realm, a, |s| {
                one_value(Value::Dict(subscription_dict(
                    s.id, s.created, &s.uri, s.policy,
                )))
            }),
            "wamp.registration.get" => registration(realm, a, |r| {
                one_value(Value::Dict(registration_dict(
                    r.id, r.created, &r.uri, r.policy, r.invoke,
                )))
            }),
            "wamp.subscription.list_subscribers" => {
                subscription(realm, a, |s| members(&s.subscribers, false))
            }
            "wamp.subscription.count_subscribers" => {
                subscription(realm, a, |s| members(&s.subscribers, true))
            }
            "wamp.registration.list_callees" => {
                registration(realm, a, |r| members(&r.callees, false))
            }
            "wamp.registration.count_callees" => {
                registration(realm, a, |r| members(&r.callees, true))
            }
            "wamp.subscription.get_events" => get_events(realm, caller, a, &kwargs),
            "wampstat.cluster.status" => cluster_status(realm),
            _ => return None,
        })
    };
    match arguments(payload) {
        Ok((args, kwargs)) => answer(args, kwargs),
        Err(r) => Some(Err(r)),
    }
}

fn one_value(v: Value) -> Payload {
    Payload::from_args(vec![v])
}

/// `f` of the subscription whose id is argument 0.
fn subscription(realm: &Realm, args: &[Value], f: impl FnOnce(&Subscription) -> Payload) -> Answer {
    let id = id_arg(args, 0, "subscription id")?;
    realm
        .broker
        .with_subscription(id, f)
        .ok_or_else(|| no_subscription(id))
}

/// `f` of the registration whose id is argument 0.
fn registration(realm: &Realm, args: &[Value], f: impl FnOnce(&Registration) -> Payload) -> Answer {
    let id = id_arg(args, 0, "registration id")?;
    realm
        .dealer
        .with_registration(id, f)
        .ok_or_else(|| no_registration(id))
}

/// The members of a subscription or registration: their ids, or (`count`) how many.
fn members(sessions: &Members, count: bool) -> Payload {
    one_value(if count {
        sessions.len().into()
    } else {
        ids(sessions.iter().map(|h| h.id))
    })
}

/// `wamp.error.no_such_session` for session `id`.
pub fn no_session(id: Id) -> Refusal {
    Refusal::new(
        NO_SUCH_SESSION,
        format!("no session with ID {id} exists on this router"),
    )
}

fn no_subscription(id: Id) -> Refusal {
    Refusal::new(
        "wamp.error.no_such_subscription",
        format!("no subscription with ID {id} exists on this broker"),
    )
}

fn no_registration(id: Id) -> Refusal {
    Refusal::new(
        "wamp.error.no_such_registration",
        format!("no registration with ID {id} exists on this dealer"),
    )
}

/// The optional `[filter_authroles]` argument of `count` and `list`.
fn authrole_filter(args: &[Value]) -> Result<Option<Vec<String>>, Refusal> {
    match args.first() {
        None | Some(Value::Null) => Ok(None),
        Some(Value::List(l)) => Ok(Some(
            l.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        )),
        Some(_) => Err(invalid("argument 0 must be a list of authroles")),
    }
}

fn sessions(realm: &Realm, filter: &Option<Vec<String>>) -> Vec<Arc<SessionHandle>> {
    let mut all: Vec<_> = realm
        .sessions()
        .into_iter()
        .filter(|s| filter.as_ref().is_none_or(|f| f.contains(&s.authrole)))
        .collect();
    all.sort_by_key(|s| s.id);
    all
}

/// Closes `victims` with GOODBYE (kwargs `reason`, default `wamp.close.normal`, and `message`).
fn kill(victims: &[Arc<SessionHandle>], caller: Id, kwargs: &Dict) -> Result<(), Refusal> {
    let reason = match kwargs.get("reason") {
        None | Some(Value::Null) => "wamp.close.normal".to_owned(),
        Some(Value::Str(r)) if wamp::uri::is_valid(r, wamp::uri::UriCheck::Loose) => r.clone(),
        Some(other) => {
            return Err(Refusal::invalid_uri(format!(
                "reason must be a URI, got {other:?}"
            )));
        }
    };
    let message = kwargs
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned);
    for v in victims {
        tracing::info!(session = v.id, by = caller, reason = %reason, "killing session");
        v.close(CloseReason::Killed {
            reason: reason.clone(),
            message: message.clone(),
        });
    }
    Ok(())
}

/// `wamp.subscription.list` / `wamp.registration.list`: ids by match policy, for one session or
/// for all; the router's own `wamp.` URIs are not listed.
fn listing(realm: &Realm, args: &[Value], subscriptions: bool) -> Answer {
    let session = match args.first() {
        None | Some(Value::Null) => None,
        Some(v) => {
            let id = v
                .as_u64()
                .ok_or_else(|| invalid("argument 0 must be a session id"))?;
            realm.session(id).ok_or_else(|| no_session(id))?;
            Some(id)
        }
    };
    let mut by: [Vec<Id>; 3] = Default::default();
    let mut add = |id: Id, uri: &str, policy: MatchPolicy, members: &Members| {
        if is_router_uri(uri) || session.is_some_and(|s| !members.contains(s)) {
            return;
        }
        let slot = match policy {
            MatchPolicy::Exact => 0,
            MatchPolicy::Prefix => 1,
            MatchPolicy::Wildcard => 2,
        };
        by[slot].push(id);
    };
    if subscriptions {
        realm
            .broker
            .for_each(|s| add(s.id, &s.uri, s.policy, &s.subscribers));
    } else {
        realm
            .dealer
            .for_each(|r| add(r.id, &r.uri, r.policy, &r.callees));
    }
    for v in &mut by {
        v.sort_unstable();
    }
    let [exact, prefix, wildcard] = by;
    one(Value::Dict(
        dict! {"exact" => ids(exact), "prefix" => ids(prefix), "wildcard" => ids(wildcard)},
    ))
}

/// **[ours]** `wampstat.session.stats`: details of every live session (or of those named in
/// `[session_ids]`) and the totals of its cycles reported so far, through `cycle`: adding every
/// later `on_stats` to them gives exact totals.
/// `wamp.subscription.get_events(subscription, **query)`: the subscription's kept events (an
/// empty list when its URI and policy keep none).
fn get_events(realm: &Realm, caller: &SessionHandle, args: &[Value], kwargs: &Dict) -> Answer {
    let id = id_arg(args, 0, "subscription id")?;
    let query = crate::history::Query::parse(kwargs)?;
    let (uri, policy) = realm
        .broker
        .with_subscription(id, |s| (s.uri.clone(), s.policy))
        .ok_or_else(|| no_subscription(id))?;
    let events = realm
        .history
        .events(id, (&uri, policy), &query, caller)
        .unwrap_or_default();
    one(Value::List(events))
}

/// **[ours]** `wampstat.cluster.status`: one dict per node this node knows (itself first, then
/// by name; see [`crate::cluster::NodeStatus::to_dict`]); on a router without a `cluster` block,
/// the error `wampstat.error.not_clustered`.
fn cluster_status(realm: &Realm) -> Answer {
    match &realm.cluster {
        Some(c) => one(crate::cluster::status::rows_value(&c.status())),
        None => Err(Refusal::new(
            crate::cluster::NOT_CLUSTERED,
            "this router is not part of a cluster (its configuration has no \"cluster\" block)",
        )),
    }
}

/// **[ours]** `wampstat.session.summary`: how many sessions are joined, in total and by
/// authrole, authid, transport (`websocket` / `rawsocket`, `+tls` when secure) and serializer,
/// as kwargs; each count dict's keys sorted.
fn summary(realm: &Realm) -> Payload {
    use std::collections::BTreeMap;
    let mut by: [BTreeMap<String, u64>; 4] = Default::default();
    let all = realm.sessions();
    for s in &all {
        let t = &s.transport;
        let transport = if t.is_secure {
            format!("{}+tls", t.framing.name())
        } else {
            t.framing.name().to_owned()
        };
        let keys = [
            s.authrole.clone(),
            s.authid.clone(),
            transport,
            s.serializer().name().to_owned(),
        ];
        for (counts, key) in by.iter_mut().zip(keys) {
            *counts.entry(key).or_default() += 1;
        }
    }
    let dict_of = |counts: BTreeMap<String, u64>| {
        Value::Dict(counts.into_iter().map(|(k, n)| (k, n.into())).collect())
    };
    let [authrole, authid, transport, serializer] = by;
    Payload::new(
        Vec::new(),
        dict! {
            "total" => all.len(),
            "by_authrole" => dict_of(authrole),
            "by_authid" => dict_of(authid),
            "by_transport" => dict_of(transport),
            "by_serializer" => dict_of(serializer),
        },
    )
}

fn stats_snapshot(realm: &Realm, args: &[Value]) -> Answer {
    let wanted: Option<Vec<Id>> = match args.first() {
        None | Some(Value::Null) => None,
        Some(Value::List(l)) => Some(l.iter().filter_map(Value::as_u64).collect()),
        Some(_) => return Err(invalid("argument 0 must be a list of session ids")),
    };
    let mut out = Vec::new();
    for s in sessions(realm, &None) {
        if wanted.as_ref().is_some_and(|w| !w.contains(&s.id)) {
            continue;
        }
        let mut d = session_details(&s, &realm.node);
        let (totals, cycle, joined) = match &s.stats {
            Some(st) => {
                let (t, c) = st.reported();
                (t, c, st.joined_ns())
            }
            None => Default::default(),
        };
        d.insert("bytes".into(), totals.bytes().into());
        d.insert("messages".into(), totals.messages().into());
        d.insert("rated_messages".into(), totals.rated_messages.into());
        d.insert("bytes_rx".into(), totals.bytes_rx.into());
        d.insert("bytes_tx".into(), totals.bytes_tx.into());
        d.insert("messages_rx".into(), totals.messages_rx.into());
        d.insert("messages_tx".into(), totals.messages_tx.into());
        d.insert("dropped".into(), totals.dropped.into());
        d.insert("cycle".into(), cycle.into());
        d.insert("joined".into(), joined.into());
        out.push(Value::Dict(d));
    }
    one(Value::List(out))
}
