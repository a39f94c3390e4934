//! Calls the router itself makes: an INVOCATION to the callee of a procedure some session
//! registered, whose YIELD or ERROR comes back to the router instead of to a session.
//!
//! The call never hangs on its own: the callee leaving answers it with `wamp.error.canceled`,
//! and dropping the future (a deadline, a handshake that ended) removes the call, and
//! interrupts a callee that understands INTERRUPT.

use tokio::sync::oneshot;
use wamp::{Id, Message, Payload, Value};

use super::{Caller, Dealer, Pending};
use crate::refusal::Refusal;
use wamp::sync::lock;

/// How a call of the router failed: the callee's ERROR, or why the dealer could not route it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
pub struct Failed {
    /// The error URI, e.g. `wamp.error.no_such_procedure` or the callee's own.
    pub error: String,
    /// The first argument of the ERROR, when it is a string (Crossbar's message).
    pub message: Option<String>,
}

impl Failed {
    /// The callee's ERROR `error` with `payload`.
    pub(super) fn from_error(error: String, payload: &Payload) -> Self {
        let message = payload
            .args()
            .ok()
            .and_then(|a| a.into_iter().next())
            .and_then(|v| match v {
                Value::Str(s) => Some(s),
                _ => None,
            });
        Failed { error, message }
    }

    /// `wamp.error.canceled`, for `why`.
    pub(super) fn canceled(why: &str) -> Self {
        Failed {
            error: "wamp.error.canceled".into(),
            message: Some(why.into()),
        }
    }
}

impl From<Refusal> for Failed {
    fn from(r: Refusal) -> Self {
        Failed {
            error: r.error.into(),
            message: Some(r.message),
        }
    }
}

/// Where the answer to one of the router's calls goes.
#[derive(Debug)]
pub(super) struct Reply(oneshot::Sender<Result<Payload, Failed>>);

impl Reply {
    /// Hands the answer over (nobody may be waiting any more: then it is dropped).
    pub(super) fn send(self, answer: Result<Payload, Failed>) {
        let _ = self.0.send(answer);
    }
}

/// Removes a call of the router that was not answered when its future is dropped.
struct Unanswered<'a> {
    dealer: &'a Dealer,
    invocation: Id,
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        let removed = lock(&self.dealer.state).remove_pending(self.invocation);
        if let Some(p) = removed
            && p.callee.callee.call_canceling
        {
            let _ = p.callee.send(&Message::Interrupt {
                request: self.invocation,
                options: wamp::dict! {"mode" => "killnowait", "reason" => "wamp.close.caller_left"},
            });
        }
    }
}

impl Dealer {
    /// Calls `procedure` with `payload` as the router itself: an INVOCATION (without caller
    /// details; no permission applies) to the callee a session's CALL would reach, and its
    /// YIELD's payload or its ERROR. No callee: `wamp.error.no_such_procedure`; the callee
    /// leaving: `wamp.error.canceled`. Dropping the future ends the call (see the module).
    pub async fn call_internal(
        &self,
        procedure: &str,
        payload: Payload,
    ) -> Result<Payload, Failed> {
        let (invocation, answer) = self.start_internal(procedure, payload)?;
        let unanswered = Unanswered {
            dealer: self,
            invocation,
        };
        let answer = answer.await;
        drop(unanswered); // answered: nothing left to remove, nobody interrupted
        answer.unwrap_or_else(|_| Err(Failed::canceled("the call ended unanswered")))
    }

    /// Sends the INVOCATION of a call of the router; returns its id and where its answer
    /// arrives.
    fn start_internal(
        &self,
        procedure: &str,
        payload: Payload,
    ) -> Result<(Id, oneshot::Receiver<Result<Payload, Failed>>), Failed> {
        let (tx, rx) = oneshot::channel();
        let mut st = lock(&self.state);
        let (registration, callee, details) = st.route(procedure, false)?;
        let invocation = st.next_invocation();
        st.add_pending(
            invocation,
            Pending {
                caller: Caller::Router(Reply(tx)),
                callee: std::sync::Arc::clone(&callee),
                receive_progress: false,
                timer: None,
                open: None,
                timing: None,
            },
        );
        drop(st);
        let m = Message::Invocation {
            request: invocation,
            registration,
            details,
            payload,
        };
        self.invoke(&callee, invocation, &m)?;
        Ok((invocation, rx))
    }
}
