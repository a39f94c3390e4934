//! The dealer: registrations (exact, prefix, wildcard; shared with an invocation policy) and
//! the routing of calls to callees and of their results and errors back to callers.
//!
//! No call is left hanging: when a callee leaves, its callers get `wamp.error.canceled`; when a
//! caller leaves, its callees get INTERRUPT.
//!
//! The router itself can call too ([`internal`]): a dynamic authenticator is a procedure a
//! client session registered, which the router calls during another client's handshake.
//!
//! A call may carry a timeout ([`timeout`]: the dealer's timer, or forwarded to a callee that
//! registered with `forward_timeout`), and its caller may send its arguments in several
//! progressive CALLs ([`progressive`]), all to the same callee. The only requests of a session
//! that stay in progress after the router handled the message are its CALLs (SUBSCRIBE,
//! REGISTER, … are answered at once): [`Dealer::in_flight`] tells whether a request id is one of
//! them, which makes a new request with that id a protocol violation.

mod internal;
mod progressive;
#[cfg(test)]
mod tests;
mod timeout;

pub use internal::Failed;
pub use progressive::{Chunk, Continued};

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use wamp::message::code;
use wamp::{Dict, Id, MatchPolicy, Message, Payload, Value};

use wamp::sync::lock;

use indexmap::IndexSet;

use crate::limits::Resource;
use crate::members::Members;
use crate::metrics::{CallTimer, RealmMetrics};
use crate::refusal::Refusal;
use crate::session_handle::{NotSent, SessionHandle};
use crate::uri_index::{UriIndex, add_new};

/// **[ours]** The ERROR a caller gets at once when its INVOCATION cannot be queued because the
/// callee's outbound queue is full (the callee is then closed as a slow consumer).
pub const CALLEE_OVERLOADED: &str = "wampstat.error.callee_overloaded";

/// How a shared registration picks its callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokePolicy {
    /// One callee only (the default).
    Single,
    /// Each callee in turn.
    RoundRobin,
    /// A random callee.
    Random,
    /// The callee that registered first.
    First,
    /// The callee that registered last.
    Last,
}

impl InvokePolicy {
    /// Parses `options.invoke`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "single" => InvokePolicy::Single,
            "roundrobin" => InvokePolicy::RoundRobin,
            "random" => InvokePolicy::Random,
            "first" => InvokePolicy::First,
            "last" => InvokePolicy::Last,
            _ => return None,
        })
    }

    /// The name used in `options.invoke`.
    pub fn as_str(self) -> &'static str {
        match self {
            InvokePolicy::Single => "single",
            InvokePolicy::RoundRobin => "roundrobin",
            InvokePolicy::Random => "random",
            InvokePolicy::First => "first",
            InvokePolicy::Last => "last",
        }
    }
}

/// A registration and its callees.
#[derive(Debug)]
pub struct Registration {
    /// The registration id.
    pub id: Id,
    /// The procedure or pattern.
    pub uri: String,
    /// How `uri` matches procedures.
    pub policy: MatchPolicy,
    /// How a callee is chosen.
    pub invoke: InvokePolicy,
    /// When it was created.
    pub created: SystemTime,
    /// The callees, in registration order.
    pub callees: Members,
}

/// A call in progress.
#[derive(Debug)]
struct Pending {
    caller: Caller,
    callee: Arc<SessionHandle>,
    receive_progress: bool,
    /// The dealer's timer for the call's `timeout`, aborted when the call ends otherwise.
    timer: Option<tokio::task::AbortHandle>,
    /// While the caller still sends progressive CALLs: what their INVOCATIONs repeat.
    open: Option<Box<progressive::Open>>,
    /// The call's duration, observed when it ends (when the realm records metrics).
    timing: Option<CallTimer>,
}

/// Who made a call in progress.
#[derive(Debug)]
enum Caller {
    /// A joined session, and its CALL's request id.
    Session(Arc<SessionHandle>, Id),
    /// The router itself ([`Dealer::call_internal`]), waiting for the answer here.
    Router(internal::Reply),
}

impl Caller {
    /// The calling session's id and request id (none for the router).
    fn session_call(&self) -> Option<(Id, Id)> {
        match self {
            Caller::Session(s, request) => Some((s.id, *request)),
            Caller::Router(_) => None,
        }
    }
}

/// Where the answer to a call goes.
enum To {
    /// A session's CALL (request id; whether it takes progressive results).
    Session(Arc<SessionHandle>, Id, bool),
    /// The router's own call, now finished.
    Router(internal::Reply),
}

#[derive(Debug, Default)]
struct State {
    index: UriIndex,
    registrations: HashMap<Id, Registration>,
    /// The registrations each session holds, so that its leaving costs only those.
    by_session: HashMap<Id, IndexSet<Id>>,
    invocations: HashMap<Id, Pending>,
    /// The calls in progress of each session, as caller or callee, so that its leaving costs
    /// only those.
    calls_of: HashMap<Id, HashSet<Id>>,
    by_call: HashMap<(Id, Id), Id>,
    next_invocation: Id,
    /// (registration, callee) pairs registered with `forward_timeout`.
    forward_timeout: HashSet<(Id, Id)>,
    /// Progressive calls that ended before their caller's final CALL, by caller session.
    ended_early: progressive::EndedEarly,
}

/// What a register did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    /// The registration id.
    pub id: Id,
    /// When this register created the registration; `None` when it existed (shared).
    pub created: Option<SystemTime>,
}

/// What a call asked for that the dealer needs.
#[derive(Debug)]
pub struct Call<'a> {
    /// The caller's request id.
    pub request: Id,
    /// The procedure.
    pub procedure: &'a str,
    /// The arguments, forwarded as they are.
    pub payload: &'a Payload,
    /// Whether caller details go into the invocation.
    pub disclose: bool,
    /// Whether the caller accepts progressive results.
    pub receive_progress: bool,
    /// `options.timeout` in milliseconds; 0: none.
    pub timeout_ms: u64,
    /// Whether more CALLs with this request id follow (`progress: true`).
    pub progress: bool,
    /// The payload pass-through keys of its options (`ppt_*`, `enc_*`), copied into the
    /// INVOCATION's details; empty for an ordinary call.
    pub passthru: Dict,
}

/// The dealer of one realm.
#[derive(Debug, Default)]
pub struct Dealer {
    /// Shared (weakly) with the timers of calls with a timeout.
    state: Arc<Mutex<State>>,
    /// The realm's metrics, when it records them.
    metrics: Option<Arc<RealmMetrics>>,
    /// **[ours]** Told of changes of this node's own callees, when the realm is clustered.
    local_changes: Option<LocalChanges>,
}

/// What the dealer tells of each change of this node's own callees of a registration.
#[derive(Clone)]
struct LocalChanges(Tell);

/// **[ours]** What the dealer calls with the URI and match policy of a registration whose
/// local callees changed.
pub type Tell = Arc<dyn Fn(&str, MatchPolicy) + Send + Sync>;

impl std::fmt::Debug for LocalChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalChanges")
    }
}

impl State {
    /// The registration for a procedure: exact, else the longest prefix, else a wildcard.
    fn find(&self, procedure: &str) -> Option<&Registration> {
        if let Some(r) = self
            .index
            .exact(procedure)
            .and_then(|id| self.registrations.get(&id))
        {
            return Some(r);
        }
        // A prefix beats a wildcard; the longest prefix wins; among wildcards the one whose runs
        // of literal components are longest, compared from the left, wins (two different
        // wildcards matching one procedure never tie: their runs say where their empty
        // components are).
        if let Some(r) = self
            .index
            .longest_prefix(procedure)
            .and_then(|id| self.registrations.get(&id))
        {
            return Some(r);
        }
        let mut best: Option<(Vec<usize>, &Registration)> = None;
        self.index.matching_wildcards(procedure, |id| {
            if let Some(r) = self.registrations.get(&id) {
                let runs = literal_runs(&r.uri);
                if best.as_ref().is_none_or(|(b, _)| runs > *b) {
                    best = Some((runs, r));
                }
            }
        });
        best.map(|(_, r)| r)
    }

    /// Adds a call in progress (its unit of the caller's quota already taken).
    fn add_pending(&mut self, invocation: Id, p: Pending) {
        if let Some(call) = p.caller.session_call() {
            self.by_call.insert(call, invocation);
            self.calls_of.entry(call.0).or_default().insert(invocation);
        }
        self.calls_of
            .entry(p.callee.id)
            .or_default()
            .insert(invocation);
        self.invocations.insert(invocation, p);
    }

    fn forget_call_of(&mut self, session: Id, invocation: Id) {
        if let Some(calls) = self.calls_of.get_mut(&session) {
            calls.remove(&invocation);
            if calls.is_empty() {
                self.calls_of.remove(&session);
            }
        }
    }

    fn remove_pending(&mut self, invocation: Id) -> Option<Pending> {
        let mut p = self.invocations.remove(&invocation)?;
        self.forget_call_of(p.callee.id, invocation);
        if let Some((caller, _)) = p.caller.session_call() {
            self.forget_call_of(caller, invocation);
        }
        if let Some(timer) = &p.timer {
            timer.abort();
        }
        if let Some(timing) = p.timing.take() {
            timing.finish();
        }
        if let Caller::Session(caller, request) = &p.caller {
            self.by_call.remove(&(caller.id, *request));
            caller.quota.release(Resource::Calls);
            if p.open.is_some() {
                self.ended_early.add(caller.id, *request);
            }
        }
        Some(p)
    }

    /// The next invocation id.
    fn next_invocation(&mut self) -> Id {
        self.next_invocation = self.next_invocation % wamp::id::MAX_ID + 1;
        self.next_invocation
    }

    /// Picks the callee for a call to `procedure` (advancing a round robin): the registration,
    /// the callee, and the INVOCATION details that the registration implies. With
    /// `local_only` (a call that came from another cluster node) only this node's own callees
    /// qualify, never the proxy of yet another node.
    fn route(
        &mut self,
        procedure: &str,
        local_only: bool,
    ) -> Result<(Id, Arc<SessionHandle>, Dict), Refusal> {
        let Some(reg) = self.find(procedure) else {
            return Err(Refusal::new(
                "wamp.error.no_such_procedure",
                format!("no callee registered procedure {procedure:?}"),
            ));
        };
        let (id, policy, invoke) = (reg.id, reg.policy, reg.invoke);
        let reg = self.registrations.get_mut(&id);
        let callee = reg.and_then(|r| match (invoke, local_only) {
            (InvokePolicy::Single | InvokePolicy::First, false) => r.callees.first(),
            (InvokePolicy::Last, false) => r.callees.last(),
            (InvokePolicy::RoundRobin, false) => r.callees.round_robin(),
            (InvokePolicy::Random, false) => r.callees.random(),
            (InvokePolicy::Single | InvokePolicy::First, true) => r.callees.local().next(),
            (InvokePolicy::Last, true) => r.callees.local().last(),
            (InvokePolicy::RoundRobin, true) => r.callees.round_robin_local(),
            (InvokePolicy::Random, true) => {
                let local: Vec<_> = r.callees.local().collect();
                local
                    .get(rand::random_range(0..local.len().max(1)))
                    .copied()
            }
        });
        let Some(callee) = callee.map(Arc::clone) else {
            return Err(Refusal::new(
                "wamp.error.no_such_procedure",
                "the procedure has no callee left",
            ));
        };
        let mut details = Dict::new();
        // Another node routes the call again, by its procedure.
        if policy != MatchPolicy::Exact || callee.is_proxy() {
            details.insert("procedure".into(), procedure.into());
        }
        Ok((id, callee, details))
    }

    /// Removes `callee` from registration `id` (keeping the other callees in order), and the
    /// registration when it was the last. `None`: not registered by this session;
    /// `Some(true)`: the registration was deleted.
    fn unregister(&mut self, callee: Id, id: Id) -> Option<bool> {
        let r = self.registrations.get_mut(&id)?;
        r.callees
            .remove(callee)?
            .quota
            .release(Resource::Registrations);
        self.forward_timeout.remove(&(id, callee));
        if let Some(held) = self.by_session.get_mut(&callee) {
            held.swap_remove(&id);
            if held.is_empty() {
                self.by_session.remove(&callee);
            }
        }
        if !r.callees.is_empty() {
            return Some(false);
        }
        if let Some(r) = self.registrations.remove(&id) {
            self.index.remove(&r.uri, r.policy, id);
        }
        Some(true)
    }
}

impl Dealer {
    /// The dealer, recording its calls in `metrics` if any.
    pub fn with_metrics(mut self, metrics: Option<Arc<RealmMetrics>>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Registers `callee` for `uri`, taking a unit of its quota (refused at its limit).
    /// With `forward_timeout`, calls routed to this callee through this registration carry
    /// their `timeout` in INVOCATION details and the dealer does not enforce it.
    pub fn register(
        &self,
        callee: &Arc<SessionHandle>,
        uri: &str,
        (policy, invoke): (MatchPolicy, InvokePolicy),
        forward_timeout: bool,
    ) -> Result<Registered, Refusal> {
        let r = self.add_callee(callee, uri, (policy, invoke), forward_timeout)?;
        if !callee.is_proxy() {
            self.local_changed(uri, policy);
        }
        Ok(r)
    }

    fn add_callee(
        &self,
        callee: &Arc<SessionHandle>,
        uri: &str,
        (policy, invoke): (MatchPolicy, InvokePolicy),
        forward_timeout: bool,
    ) -> Result<Registered, Refusal> {
        let held = callee.quota.acquire(Resource::Registrations)?;
        let mut st = lock(&self.state);
        if let Some(id) = st.index.lookup(uri, policy) {
            let Some(r) = st.registrations.get_mut(&id) else {
                return Err(Refusal::new(
                    "wamp.error.procedure_already_exists",
                    "registration vanished",
                ));
            };
            if r.invoke == InvokePolicy::Single
                || invoke == InvokePolicy::Single
                || r.invoke != invoke
            {
                return Err(Refusal::new(
                    "wamp.error.procedure_already_exists",
                    format!(
                        "procedure {uri:?} is already registered (invoke {})",
                        r.invoke.as_str()
                    ),
                ));
            }
            if !r.callees.push(callee) {
                return Err(Refusal::new(
                    "wamp.error.procedure_already_exists",
                    format!("this session already registered {uri:?}"),
                ));
            }
            st.by_session.entry(callee.id).or_default().insert(id);
            held.keep();
            if forward_timeout {
                st.forward_timeout.insert((id, callee.id));
            }
            return Ok(Registered { id, created: None });
        }
        let st = &mut *st;
        let (id, created) = add_new(
            &mut st.index,
            &mut st.registrations,
            uri,
            policy,
            |id, created| Registration {
                id,
                uri: uri.to_owned(),
                policy,
                invoke,
                created,
                callees: Members::one(callee),
            },
        );
        st.by_session.entry(callee.id).or_default().insert(id);
        held.keep();
        if forward_timeout {
            st.forward_timeout.insert((id, callee.id));
        }
        Ok(Registered {
            id,
            created: Some(created),
        })
    }

    /// Removes `callee` from registration `id`. `None`: not registered by this session;
    /// `Some(true)`: the registration was deleted.
    pub fn unregister(&self, callee: Id, id: Id) -> Option<bool> {
        let mut st = lock(&self.state);
        let (uri, policy) = st
            .registrations
            .get(&id)
            .map(|r| (r.uri.clone(), r.policy))?;
        let deleted = st.unregister(callee, id);
        drop(st);
        if deleted.is_some() {
            self.local_changed(&uri, policy);
        }
        deleted
    }

    /// **[ours]** Has this node's cluster told that its own callees of `uri` (with `policy`)
    /// may have changed (a no-op on a single router).
    fn local_changed(&self, uri: &str, policy: MatchPolicy) {
        if let Some(LocalChanges(tell)) = &self.local_changes {
            tell(uri, policy);
        }
    }

    /// **[ours]** The dealer telling `tell` of each change of this node's own callees of a
    /// registration, by its URI and match policy (the cluster's registry follows them).
    pub fn with_local_changes(mut self, tell: Tell) -> Self {
        self.local_changes = Some(LocalChanges(tell));
        self
    }

    /// **[ours]** The invoke policy of the registration of `uri` with `policy` when this node
    /// has a callee of its own in it (not only proxies of other nodes).
    pub fn local_invoke(&self, uri: &str, policy: MatchPolicy) -> Option<InvokePolicy> {
        let st = lock(&self.state);
        let r = st
            .index
            .lookup(uri, policy)
            .and_then(|id| st.registrations.get(&id))?;
        r.callees.local().next().map(|_| r.invoke)
    }

    /// **[ours]** How many of registration `id`'s callees are sessions of this node.
    pub fn local_callees(&self, id: Id) -> usize {
        lock(&self.state)
            .registrations
            .get(&id)
            .map_or(0, |r| r.callees.local().count())
    }

    /// Routes a new call to a callee as an INVOCATION, taking a unit of the caller's quota
    /// until the call ends (refused at its limit). A progressive CALL goes only to a callee
    /// that takes progressive invocations and INTERRUPT (else `wamp.error.feature_not_supported`,
    /// as the spec's Progressive Call Invocations asks); a continuation of one goes through
    /// [`Dealer::continue_call`] first.
    pub fn call(&self, caller: &Arc<SessionHandle>, c: &Call<'_>) -> Result<(), Refusal> {
        let held = caller.quota.acquire(Resource::Calls)?;
        let mut st = lock(&self.state);
        let (registration, callee, mut details) = st.route(c.procedure, caller.is_proxy())?;
        if c.progress && !progressive::accepts(&callee) {
            return Err(progressive::not_supported());
        }
        let receive_progress = c.receive_progress && callee.callee.progressive_call_results;
        if receive_progress {
            details.insert("receive_progress".into(), Value::Bool(true));
        }
        if c.disclose {
            details.insert("caller".into(), caller.id.into());
            details.insert("caller_authid".into(), caller.authid.as_str().into());
            details.insert("caller_authrole".into(), caller.authrole.as_str().into());
        }
        let forward = st.forward_timeout.contains(&(registration, callee.id));
        if forward && c.timeout_ms > 0 {
            details.insert("timeout".into(), c.timeout_ms.into());
        }
        details.extend(c.passthru.iter().map(|(k, v)| (k.clone(), v.clone())));
        let invocation = st.next_invocation();
        let open = c.progress.then(|| {
            Box::new(progressive::Open {
                procedure: c.procedure.to_owned(),
                registration,
                details: details.clone(),
            })
        });
        if c.progress {
            details.insert("progress".into(), Value::Bool(true));
        }
        let timer = (!forward && c.timeout_ms > 0)
            .then(|| timeout::start(&self.state, invocation, c.timeout_ms));
        held.keep();
        let timing = self.metrics.as_ref().map(|m| m.call_started(c.procedure));
        st.add_pending(
            invocation,
            Pending {
                caller: Caller::Session(Arc::clone(caller), c.request),
                callee: Arc::clone(&callee),
                receive_progress,
                timer,
                open,
                timing,
            },
        );
        drop(st);
        let m = Message::Invocation {
            request: invocation,
            registration,
            details,
            payload: c.payload.clone(),
        };
        self.invoke(&callee, invocation, &m)
    }

    /// Sends an INVOCATION already in progress to its callee; when it cannot be sent, the call
    /// ends (and why is the caller's refusal).
    fn invoke(&self, callee: &SessionHandle, invocation: Id, m: &Message) -> Result<(), Refusal> {
        match callee.send(m) {
            Ok(()) => Ok(()),
            Err(not_sent) => {
                lock(&self.state).remove_pending(invocation);
                Err(match not_sent {
                    NotSent::TooLarge => Refusal::new(
                        "wamp.error.payload_size_exceeded",
                        format!(
                            "the invocation exceeds the callee's limit of {} bytes",
                            callee.transport.peer_max_message_size
                        ),
                    ),
                    // [ours] Not `wamp.error.canceled`: nobody canceled, the callee's queue is
                    // full (and it is being closed as a slow consumer); a caller may retry
                    // elsewhere or later.
                    NotSent::Full => Refusal::new(
                        CALLEE_OVERLOADED,
                        "the callee's outbound queue is full: it does not read fast enough",
                    ),
                    NotSent::Unavailable => {
                        Refusal::new("wamp.error.canceled", "the callee is going away")
                    }
                })
            }
        }
    }

    /// Routes a callee's YIELD to the caller as RESULT. Unknown invocations (e.g. canceled)
    /// are ignored; an intermediate (progressive) result the caller did not ask for is dropped.
    pub fn yield_result(&self, callee: Id, invocation: Id, options: &Dict, payload: Payload) {
        let progress = options.get("progress").and_then(Value::as_bool) == Some(true);
        let (caller, request, receive_progress) = match self.answer(callee, invocation, !progress) {
            Some(To::Session(caller, request, receive_progress)) => {
                (caller, request, receive_progress)
            }
            Some(To::Router(reply)) => return reply.send(Ok(payload)),
            None => return,
        };
        let mut details = Dict::new();
        if progress {
            if !receive_progress {
                return;
            }
            details.insert("progress".into(), Value::Bool(true));
        }
        details.extend(wamp::payload::passthru_keys(options));
        reply(
            &caller,
            Message::Result {
                request,
                details,
                payload,
            },
        );
    }

    /// Routes a callee's ERROR for an invocation to the caller.
    pub fn yield_error(
        &self,
        callee: Id,
        invocation: Id,
        details: Dict,
        error: String,
        payload: Payload,
    ) {
        match self.answer(callee, invocation, true) {
            Some(To::Session(caller, request, _)) => {
                let error = Message::Error {
                    request_type: code::CALL,
                    request,
                    details,
                    error,
                    payload,
                };
                reply(&caller, error);
            }
            Some(To::Router(reply)) => reply.send(Err(Failed::from_error(error, &payload))),
            None => {}
        }
    }

    /// Where an answer of `callee` to `invocation` goes; `done` ends the call. The router's
    /// own calls take no progressive results: `None` for those.
    fn answer(&self, callee: Id, invocation: Id, done: bool) -> Option<To> {
        let mut st = lock(&self.state);
        let p = st
            .invocations
            .get(&invocation)
            .filter(|p| p.callee.id == callee)?;
        let found = match &p.caller {
            Caller::Session(caller, request) => {
                To::Session(Arc::clone(caller), *request, p.receive_progress)
            }
            Caller::Router(_) if !done => return None,
            Caller::Router(_) => match st.remove_pending(invocation)?.caller {
                Caller::Router(reply) => return Some(To::Router(reply)),
                Caller::Session(..) => return None,
            },
        };
        if done {
            st.remove_pending(invocation);
        }
        Some(found)
    }

    /// Cancels a call. `mode` is `skip`, `kill` or `killnowait`; a callee that does not
    /// announce `call_canceling` gets no INTERRUPT (as with `skip`).
    pub fn cancel(&self, caller: &SessionHandle, request: Id, mode: CancelMode) {
        let mut st = lock(&self.state);
        let Some(&invocation) = st.by_call.get(&(caller.id, request)) else {
            return;
        };
        let Some(callee) = st
            .invocations
            .get(&invocation)
            .map(|p| Arc::clone(&p.callee))
        else {
            return;
        };
        let mode = if callee.callee.call_canceling {
            mode
        } else {
            CancelMode::Skip
        };
        if mode != CancelMode::Kill {
            st.remove_pending(invocation);
        }
        drop(st);
        if mode != CancelMode::Skip {
            let _ = callee.send(&Message::Interrupt {
                request: invocation,
                options: wamp::dict! {"mode" => mode.as_str()},
            });
        }
        if mode != CancelMode::Kill {
            let _ = caller.send_owed(&canceled(request, "the call was canceled"));
        }
    }

    /// Removes a leaving session: its registrations, its calls in progress as a callee (the
    /// callers get `wamp.error.canceled`) and as a caller (the callees get INTERRUPT).
    /// Returns the registrations it left and whether each was deleted.
    pub fn detach(&self, session: Id) -> Vec<(Id, bool)> {
        self.detach_because(session, "the callee left before answering")
    }

    /// [`Dealer::detach`], telling the callers of the calls it had as a callee `why` they end.
    pub fn detach_because(&self, session: Id, why: &str) -> Vec<(Id, bool)> {
        let mut st = lock(&self.state);
        let held = st.by_session.remove(&session).unwrap_or_default();
        let mut changed = Vec::new();
        let left: Vec<(Id, bool)> = held
            .into_iter()
            .filter_map(|id| {
                if let Some(r) = st.registrations.get(&id) {
                    changed.push((r.uri.clone(), r.policy));
                }
                Some((id, st.unregister(session, id)?))
            })
            .collect();
        let caller_is = |p: &Pending| p.caller.session_call().is_some_and(|(c, _)| c == session);
        let gone = st.calls_of.remove(&session).unwrap_or_default();
        let mut notices = Vec::new();
        for id in gone {
            if let Some(p) = st.remove_pending(id) {
                notices.push((id, p));
            }
        }
        st.ended_early.forget(session);
        drop(st);
        for (uri, policy) in changed {
            self.local_changed(&uri, policy);
        }
        for (invocation, p) in notices {
            let from_self = caller_is(&p);
            if p.callee.id == session && !from_self {
                match p.caller {
                    Caller::Session(caller, request) => {
                        let _ = caller.send_owed(&canceled(request, why));
                    }
                    Caller::Router(reply) => reply.send(Err(Failed::canceled(why))),
                }
            } else if from_self && p.callee.id != session && p.callee.callee.call_canceling {
                let _ = p.callee.send(&Message::Interrupt {request: invocation,
                    options: wamp::dict! {"mode" => "killnowait", "reason" => "wamp.close.caller_left"},
                });
            }
        }
        left
    }

    /// **[ours]** Ends every call in progress that `callee` serves: its caller gets `error`
    /// with `why` (the callee is not told). For a cluster node's proxy whose messages may have
    /// been lost with the NATS connection.
    pub fn end_calls_to(&self, callee: Id, error: &str, why: &str) {
        let mut st = lock(&self.state);
        let ids: Vec<Id> = st
            .calls_of
            .get(&callee)
            .map(|calls| calls.iter().copied().collect())
            .unwrap_or_default();
        let mut ended = Vec::new();
        for id in ids {
            if st
                .invocations
                .get(&id)
                .is_some_and(|p| p.callee.id == callee)
            {
                ended.extend(st.remove_pending(id));
            }
        }
        drop(st);
        for p in ended {
            match p.caller {
                Caller::Session(caller, request) => {
                    let m = Message::error(code::CALL, request, error, Some(why.to_owned()));
                    let _ = caller.send_owed(&m);
                }
                Caller::Router(reply) => reply.send(Err(Failed::from_error(
                    error.to_owned(),
                    &Payload::from_args(vec![why.into()]),
                ))),
            }
        }
    }

    /// The calls in progress (invocations not yet answered), for [`crate::Census`].
    pub fn pending_calls(&self) -> usize {
        lock(&self.state).invocations.len()
    }

    /// The registration of `uri` with `policy`, if any.
    pub fn lookup(&self, uri: &str, policy: MatchPolicy) -> Option<Id> {
        lock(&self.state).index.lookup(uri, policy)
    }

    /// The registration a call to `procedure` would go to.
    pub fn best_match(&self, procedure: &str) -> Option<Id> {
        lock(&self.state).find(procedure).map(|r| r.id)
    }

    /// Runs `f` over every registration.
    pub fn for_each(&self, mut f: impl FnMut(&Registration)) {
        for r in lock(&self.state).registrations.values() {
            f(r);
        }
    }

    /// What the dealer holds, counted (for [`crate::realm::Realm::routing_counts`]).
    pub fn counts(&self) -> DealerCounts {
        let st = lock(&self.state);
        DealerCounts {
            registrations: st.registrations.len(),
            callees: st.registrations.values().map(|r| r.callees.len()).sum(),
            registering_sessions: st.by_session.len(),
            pending_calls: st.invocations.len(),
            calls_by_request: st.by_call.len(),
            sessions_with_calls: st.calls_of.len(),
            forward_timeouts: st.forward_timeout.len(),
            ended_early: st.ended_early.len(),
        }
    }

    /// Runs `f` on the registration `id`, if it exists.
    pub fn with_registration<R>(&self, id: Id, f: impl FnOnce(&Registration) -> R) -> Option<R> {
        lock(&self.state).registrations.get(&id).map(f)
    }
}

/// What a dealer holds, counted (its part of [`crate::realm::RoutingCounts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DealerCounts {
    /// Registrations.
    pub registrations: usize,
    /// Callees, summed over the registrations.
    pub callees: usize,
    /// Sessions indexed as holding a registration.
    pub registering_sessions: usize,
    /// Calls in progress (the router's own included).
    pub pending_calls: usize,
    /// Calls in progress indexed by (caller, request id).
    pub calls_by_request: usize,
    /// Sessions indexed as caller or callee of a call in progress.
    pub sessions_with_calls: usize,
    /// (registration, callee) pairs registered with `forward_timeout`.
    pub forward_timeouts: usize,
    /// Request ids of progressive calls that ended before their final CALL.
    pub ended_early: usize,
}

/// How a CANCEL treats the callee (`CANCEL.Options.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelMode {
    /// Answer the caller at once; the callee is not told.
    Skip,
    /// Interrupt the callee and pass its answer (an ERROR) to the caller.
    Kill,
    /// Interrupt the callee and answer the caller at once (the default).
    KillNoWait,
}

impl CancelMode {
    /// Parses `skip`, `kill` or `killnowait`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "skip" => Some(CancelMode::Skip),
            "kill" => Some(CancelMode::Kill),
            "killnowait" => Some(CancelMode::KillNoWait),
            _ => None,
        }
    }

    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelMode::Skip => "skip",
            CancelMode::Kill => "kill",
            CancelMode::KillNoWait => "killnowait",
        }
    }
}

/// The lengths of the runs of literal (non-empty) components of a wildcard pattern:
/// `com.a..y` gives `[2, 1]`.
pub(crate) fn literal_runs(pattern: &str) -> Vec<usize> {
    let mut runs = vec![0];
    for c in pattern.split('.') {
        match (c.is_empty(), runs.last_mut()) {
            (false, Some(n)) => *n += 1,
            _ => runs.push(0),
        }
    }
    runs
}

/// Sends a RESULT or ERROR to the caller; one too large for it becomes
/// `wamp.error.payload_size_exceeded`. A final answer goes in the room kept for the answers
/// the caller is owed; a progressive RESULT is queued like any message.
fn reply(caller: &SessionHandle, m: Message) {
    let (request, progress) = match &m {
        Message::Result {
            request, details, ..
        } => (
            *request,
            details.get("progress") == Some(&Value::Bool(true)),
        ),
        Message::Error { request, .. } => (*request, false),
        _ => return,
    };
    let sent = if progress {
        caller.send(&m)
    } else {
        caller.send_owed(&m)
    };
    if sent == Err(NotSent::TooLarge) {
        let _ = caller.send_owed(&too_large(request, caller));
    }
}

fn too_large(request: Id, caller: &SessionHandle) -> Message {
    Message::error(
        code::CALL,
        request,
        "wamp.error.payload_size_exceeded",
        Some(format!(
            "the answer exceeds the caller's limit of {} bytes",
            caller.transport.peer_max_message_size
        )),
    )
}

fn canceled(request: Id, why: &str) -> Message {
    Message::error(
        code::CALL,
        request,
        "wamp.error.canceled",
        Some(why.to_owned()),
    )
}
