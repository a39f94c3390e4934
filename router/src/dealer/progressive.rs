//! Progressive call invocations (the spec's "Progressive Call Invocations"): a caller that
//! announced the feature sends its arguments in several CALLs with one request id, each but the
//! last with `progress: true`. The first is routed as usual (to a callee that announced both
//! `progressive_call_invocations` and `call_canceling`, else `wamp.error.feature_not_supported`);
//! every later one goes to that same callee as an INVOCATION with the same invocation id and
//! the first one's details (options are frozen by the initiating CALL), `progress: true` on all
//! but the last.
//!
//! A CALL whose request id is that of a call in progress is a continuation only while that call
//! is progressive and still open, for the same procedure; otherwise it is a duplicate request id
//! (a protocol violation). A continuation that arrives after its call ended early (the callee's
//! final YIELD or ERROR, a timeout, a cancel, the callee leaving) is discarded silently, as the
//! spec asks: the caller already has, or will get, the call's one answer. For that the dealer
//! remembers the request ids of the last [`REMEMBERED`] progressive calls of each caller that
//! ended before its final CALL.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use wamp::sync::lock;
use wamp::{Dict, Id, Message, Payload, Value};

use super::Dealer;
use crate::limits::Resource;
use crate::refusal::Refusal;
use crate::session_handle::SessionHandle;

/// How many progressive calls that ended early the dealer remembers per caller.
pub const REMEMBERED: usize = 64;

/// What the INVOCATIONs of an open progressive call repeat.
#[derive(Debug)]
pub(super) struct Open {
    /// The procedure the initiating CALL named.
    pub procedure: String,
    /// The registration it was routed through.
    pub registration: Id,
    /// The details of its INVOCATION, without `progress`.
    pub details: Dict,
}

/// Request ids of progressive calls that ended before their caller's final CALL.
#[derive(Debug, Default)]
pub(super) struct EndedEarly(HashMap<Id, VecDeque<Id>>);

impl EndedEarly {
    /// Remembers that `caller`'s call `request` ended early (forgetting its oldest beyond
    /// [`REMEMBERED`]).
    pub fn add(&mut self, caller: Id, request: Id) {
        let ids = self.0.entry(caller).or_default();
        if ids.len() == REMEMBERED {
            ids.pop_front();
        }
        ids.push_back(request);
    }

    /// Whether `request` of `caller` is a late continuation of a call that ended early; the
    /// final one (`progress` false) is the last to expect, and is forgotten.
    fn take(&mut self, caller: Id, request: Id, progress: bool) -> bool {
        let Some(ids) = self.0.get_mut(&caller) else {
            return false;
        };
        let Some(at) = ids.iter().position(|&r| r == request) else {
            return false;
        };
        if !progress {
            ids.remove(at);
            if ids.is_empty() {
                self.0.remove(&caller);
            }
        }
        true
    }

    /// How many request ids it remembers, over every caller.
    pub fn len(&self) -> usize {
        self.0.values().map(VecDeque::len).sum()
    }

    /// Forgets a caller that left.
    pub fn forget(&mut self, caller: Id) {
        self.0.remove(&caller);
    }
}

/// Whether `callee` may receive progressive invocations.
pub(super) fn accepts(callee: &SessionHandle) -> bool {
    callee.callee.progressive_call_invocations && callee.callee.call_canceling
}

/// The refusal of a progressive call to a callee that does not take it.
pub(super) fn not_supported() -> Refusal {
    Refusal::new(
        "wamp.error.feature_not_supported",
        "the callee does not announce progressive_call_invocations and call_canceling",
    )
}

/// What [`Dealer::continue_call`] made of a CALL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continued {
    /// Not a continuation: a new call, to route.
    New,
    /// A continuation, sent to the call's callee.
    Sent,
    /// A late continuation of a call that ended early: discarded.
    Discarded,
    /// Its request id is a call in progress that it cannot continue: a protocol violation.
    Duplicate,
}

/// One CALL as [`Dealer::continue_call`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    /// The CALL's request id.
    pub request: Id,
    /// The procedure it names.
    pub procedure: &'a str,
    /// Its `progress` option: more follow.
    pub progress: bool,
    /// Its arguments.
    pub payload: &'a Payload,
}

impl Dealer {
    /// Whether `request` is the id of a call in progress of `caller` (the only requests that
    /// stay in progress after the router handled them).
    pub fn in_flight(&self, caller: &SessionHandle, request: Id) -> bool {
        caller.quota.held(Resource::Calls) > 0
            && lock(&self.state)
                .by_call
                .contains_key(&(caller.id, request))
    }

    /// Handles a CALL whose request id may be that of a call in progress (see the module). A
    /// continuation that cannot be sent ends the call: the refusal is the caller's answer.
    pub fn continue_call(
        &self,
        caller: &Arc<SessionHandle>,
        c: &Chunk<'_>,
    ) -> Result<Continued, Refusal> {
        if caller.quota.held(Resource::Calls) == 0 && !caller.caller.progressive_call_invocations {
            return Ok(Continued::New);
        }
        let mut st = lock(&self.state);
        let Some(&invocation) = st.by_call.get(&(caller.id, c.request)) else {
            return Ok(if st.ended_early.take(caller.id, c.request, c.progress) {
                Continued::Discarded
            } else {
                Continued::New
            });
        };
        let Some(p) = st.invocations.get_mut(&invocation) else {
            return Ok(Continued::New);
        };
        let Some(open) = p.open.as_deref().filter(|o| o.procedure == c.procedure) else {
            return Ok(Continued::Duplicate);
        };
        let (registration, mut details) = (open.registration, open.details.clone());
        if c.progress {
            details.insert("progress".into(), Value::Bool(true));
        } else {
            p.open = None;
        }
        let callee = Arc::clone(&p.callee);
        drop(st);
        let m = Message::Invocation {
            request: invocation,
            registration,
            details,
            payload: c.payload.clone(),
        };
        self.invoke(&callee, invocation, &m)?;
        Ok(Continued::Sent)
    }
}
