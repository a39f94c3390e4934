//! CALL, REGISTER, UNREGISTER, YIELD, ERROR (of an INVOCATION) and CANCEL: parse the options →
//! check the URI → the meta procedures or the dealer → reply (and the lifecycle meta events,
//! after the reply).
//!
//! A CALL first goes through [`crate::dealer::Dealer::continue_call`]: the continuation of a
//! progressive call goes to its callee, and a CALL that reuses the request id of a call in
//! progress ends the session (ABORT `wamp.error.protocol_violation` naming the id).

use wamp::message::code;
use wamp::payload::is_passthru;
use wamp::{Dict, Id, MatchPolicy, Message, Payload};

use super::dispatch::{Flow, Joined};
use super::options::{call_timeout, cancel_mode, flag, invoke_policy, match_policy};
use crate::authorize::{Action, is_router_uri};
use std::sync::Arc;

use crate::cluster::registry::CLAIM_TIMEOUT;
use crate::dealer::{Call, Chunk, Continued, InvokePolicy};
use crate::meta_procedures as procedures;
use crate::realm::Realm;
use crate::refusal::Refusal;
use crate::session_handle::SessionHandle;

const NO_SUCH_PROCEDURE: &str = "wamp.error.no_such_procedure";

/// A registration made: REGISTERED to its callee, then the meta events.
struct Registered {
    request: Id,
    procedure: String,
    policy: MatchPolicy,
    invoke: InvokePolicy,
    r: crate::dealer::Registered,
}

impl Registered {
    fn tell(self, realm: &Realm, me: &SessionHandle) {
        let _ = me.send(&Message::Registered {
            request: self.request,
            registration: self.r.id,
        });
        let Registered {
            procedure,
            policy,
            invoke,
            r,
            ..
        } = self;
        realm
            .events
            .on_register(me.id, r.id, &procedure, policy, invoke, r.created);
    }
}

/// Why a CALL was not routed.
enum NotCalled {
    /// Refused: the caller gets this ERROR.
    Refused(Refusal),
    /// A protocol violation: the session ends.
    Violation(String),
}

impl From<Refusal> for NotCalled {
    fn from(r: Refusal) -> Self {
        NotCalled::Refused(r)
    }
}

impl Joined<'_> {
    /// CALL: answered by a meta procedure, routed to a callee as INVOCATION, or (progressive)
    /// continued.
    pub(super) fn on_call(
        &self,
        request: Id,
        options: &Dict,
        procedure: &str,
        payload: &Payload,
    ) -> Flow {
        match self.call(request, options, procedure, payload) {
            Ok(()) => Flow::Continue,
            Err(NotCalled::Refused(r)) => {
                self.refuse(code::CALL, request, r);
                Flow::Continue
            }
            Err(NotCalled::Violation(m)) => Flow::End(self.violation(m)),
        }
    }

    fn call(
        &self,
        request: Id,
        options: &Dict,
        procedure: &str,
        payload: &Payload,
    ) -> Result<(), NotCalled> {
        let progress = flag(options, "progress");
        if progress && !self.me.caller.progressive_call_invocations {
            return Err(NotCalled::Violation(format!(
                "CALL {request} has progress: true, but the caller did not announce \
                 progressive_call_invocations"
            )));
        }
        let chunk = Chunk {
            request,
            procedure,
            progress,
            payload,
        };
        match self.realm.dealer.continue_call(self.me, &chunk)? {
            Continued::New => {}
            Continued::Sent | Continued::Discarded => return Ok(()),
            Continued::Duplicate => {
                return Err(NotCalled::Violation(format!(
                    "CALL request ID {request} is already in use by a call in progress of this \
                     session"
                )));
            }
        }
        let timeout_ms = call_timeout(options);
        let perm = self.check(procedure, MatchPolicy::Exact, Action::Call)?;
        if progress && is_router_uri(procedure) {
            return Err(Refusal::new(
                "wamp.error.feature_not_supported",
                "the router's own procedures take no progressive call invocations",
            )
            .into());
        }
        if procedures::is_own(procedure) && is_passthru(options) {
            // As Crossbar's own procedures answer (autobahn's `ENC_NO_PAYLOAD_CODEC`): the router
            // never looks inside a pass-through payload, so it cannot take arguments from one.
            return Err(Refusal::new(
                "wamp.error.no_payload_codec",
                "the router's own procedures take no pass-through payload (ppt_scheme / \
                 enc_algo): the router never looks inside one",
            )
            .into());
        }
        let reply = self
            .testament_call(procedure, payload)
            .map(procedures::Reply::Now)
            .or_else(|| procedures::reply(self.realm, self.me, request, procedure, payload));
        match reply {
            Some(procedures::Reply::Now(answer)) => {
                self.send(&Message::Result {
                    request,
                    details: Dict::new(),
                    payload: answer?,
                });
                return Ok(());
            }
            // A clustered node's session procedures: a task sends the RESULT or ERROR.
            Some(procedures::Reply::Later) => return Ok(()),
            None => {}
        }
        let call = Call {
            request,
            procedure,
            payload,
            disclose: perm.disclose.caller || flag(options, "disclose_me"),
            receive_progress: flag(options, "receive_progress"),
            timeout_ms,
            progress,
            passthru: wamp::payload::passthru_keys(options),
        };
        self.realm.dealer.call(self.me, &call).map_err(|r| {
            // [ours] Cut off from the cluster, this node cannot tell whether another node has
            // a callee: say so rather than that there is none.
            match &self.realm.cluster {
                Some(c) if r.error == NO_SUCH_PROCEDURE && !c.is_connected() => Refusal::new(
                    crate::cluster::CLUSTER_UNAVAILABLE,
                    format!(
                        "no callee of {procedure:?} on this node, which is cut off from the \
                         cluster's other nodes (NATS is unreachable)"
                    ),
                ),
                _ => r,
            }
            .into()
        })
    }

    /// REGISTER: REGISTERED, or why not.
    pub(super) fn on_register(&self, request: Id, options: &Dict, procedure: &str) {
        if let Err(r) = self.register(request, options, procedure) {
            self.refuse(code::REGISTER, request, r);
        }
    }

    fn register(&self, request: Id, options: &Dict, procedure: &str) -> Result<(), Refusal> {
        let policy = match_policy(options)?;
        let invoke = invoke_policy(options)?;
        self.check(procedure, policy, Action::Register)?;
        let forward_timeout = flag(options, "forward_timeout");
        let r =
            self.realm
                .dealer
                .register(self.me, procedure, (policy, invoke), forward_timeout)?;
        // [ours] The first callee of this node in a cluster: the other nodes' registrations
        // must agree first (see cluster::registry).
        if let Some(registry) = &self.realm.registry
            && self.realm.dealer.local_callees(r.id) == 1
        {
            let verdict = registry.claim(procedure, policy);
            let (realm, me) = (Arc::clone(self.realm), Arc::clone(self.me));
            let registered = Registered {
                request,
                procedure: procedure.to_owned(),
                policy,
                invoke,
                r,
            };
            tokio::spawn(async move {
                let verdict = tokio::time::timeout(CLAIM_TIMEOUT, verdict).await;
                match verdict {
                    Ok(Ok(Err(refusal))) => {
                        realm.dealer.unregister(me.id, r.id);
                        let _ = me.send(&refusal.into_error(code::REGISTER, request));
                    }
                    // A session that left meanwhile has been detached: nothing to tell.
                    _ if realm.session(me.id).is_none() => {}
                    // Accepted, or no verdict in time (then this node's registration stands).
                    _ => registered.tell(&realm, &me),
                }
            });
            return Ok(());
        }
        Registered {
            request,
            procedure: procedure.to_owned(),
            policy,
            invoke,
            r,
        }
        .tell(self.realm, self.me);
        Ok(())
    }

    /// UNREGISTER: UNREGISTERED, or `wamp.error.no_such_registration`.
    pub(super) fn on_unregister(&self, request: Id, registration: Id) {
        match self.realm.dealer.unregister(self.me.id, registration) {
            Some(deleted) => {
                self.send(&Message::Unregistered { request });
                self.realm
                    .events
                    .on_unregister(self.me.id, registration, deleted);
            }
            None => self.refuse(
                code::UNREGISTER,
                request,
                Refusal::new(
                    "wamp.error.no_such_registration",
                    format!("this session has no registration {registration}"),
                ),
            ),
        }
    }

    /// YIELD: the callee's result, to its caller.
    pub(super) fn on_yield(&self, invocation: Id, options: &Dict, payload: Payload) {
        self.realm
            .dealer
            .yield_result(self.me.id, invocation, options, payload);
    }

    /// ERROR for an INVOCATION: the callee's error, to its caller.
    pub(super) fn on_invocation_error(
        &self,
        invocation: Id,
        details: Dict,
        error: String,
        payload: Payload,
    ) {
        self.realm
            .dealer
            .yield_error(self.me.id, invocation, details, error, payload);
    }

    /// CANCEL of one of this session's calls.
    pub(super) fn on_cancel(&self, request: Id, options: &Dict) {
        match cancel_mode(options) {
            Ok(mode) => self.realm.dealer.cancel(self.me, request, mode),
            Err(r) => self.refuse(code::CANCEL, request, r),
        }
    }
}
