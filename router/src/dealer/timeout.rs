//! Call timeouts enforced by the dealer (the spec's "Call Timeouts", Dealer-Initiated Timeouts):
//! a CALL with `options.timeout` (milliseconds, 0 meaning none) starts a timer when it is
//! routed, unless the callee registered with `forward_timeout` (then the timeout is in the
//! INVOCATION details and the callee handles it). When the timer fires first, the caller gets
//! ERROR `wamp.error.timeout` (the spec's MUST; Crossbar.io 26 sends `wamp.error.canceled` with
//! `["timeout reached"]`) and the callee, if it announced `call_canceling`, INTERRUPT with mode
//! `killnowait` (the spec's implicit mode, and Crossbar's); a callee without it is not told
//! (mode `skip`). Its late YIELD or ERROR finds no call and is dropped.
//!
//! One timer task per timed call, holding the dealer state only weakly; it is aborted when the
//! call ends any other way, so timers never outlive their calls (at most one per call in
//! progress, which the callers' quotas bound).

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::task::AbortHandle;
use wamp::message::code;
use wamp::sync::lock;
use wamp::{Id, Message};

use super::{Caller, State};

/// The error URI the caller of a call that timed out gets.
pub const TIMEOUT: &str = "wamp.error.timeout";

/// Starts the timer of `invocation`, firing after `ms` milliseconds.
pub(super) fn start(state: &Arc<Mutex<State>>, invocation: Id, ms: u64) -> AbortHandle {
    let state: Weak<Mutex<State>> = Arc::downgrade(state);
    tokio::spawn(async move {
        // A sleep too long to add to now waits for ever (tokio caps the deadline).
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if let Some(state) = state.upgrade() {
            expire(&state, invocation, ms);
        }
    })
    .abort_handle()
}

/// Ends `invocation` because its timeout of `ms` milliseconds passed, if it is still in progress.
fn expire(state: &Mutex<State>, invocation: Id, ms: u64) {
    let mut st = lock(state);
    match st.invocations.get_mut(&invocation) {
        // This very task: not aborted by the removal below.
        Some(p) => p.timer = None,
        None => return,
    }
    let Some(p) = st.remove_pending(invocation) else {
        return;
    };
    drop(st);
    if p.callee.callee.call_canceling {
        let _ = p.callee.send(&Message::Interrupt {
            request: invocation,
            options: wamp::dict! {"mode" => "killnowait", "reason" => TIMEOUT},
        });
    }
    if let Caller::Session(caller, request) = p.caller {
        let why = format!("the call timed out after {ms} ms");
        let _ = caller.send_owed(&Message::error(code::CALL, request, TIMEOUT, Some(why)));
    }
}
