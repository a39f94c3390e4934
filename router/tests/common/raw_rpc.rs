//! Callers and callees driven by hand ([`Raw`]), for the tests of the call flow: timeouts,
//! progressive invocations, duplicate request ids.

use wamp::{Dict, Id, Message, Payload, Serializer, Value, dict};
use wamp_router::Router;

use super::{Raw, Transport, url};

/// HELLO roles: `role` with `features`.
pub fn role(role: &str, features: Dict) -> Dict {
    dict! {role => Value::Dict(dict! {"features" => Value::Dict(features)})}
}

/// Callee features: INTERRUPT, progressive results and progressive invocations.
pub fn full_callee() -> Dict {
    dict! {
        "call_canceling" => true,
        "progressive_call_results" => true,
        "progressive_call_invocations" => true,
    }
}

/// A caller driven by hand over RawSocket/JSON, announcing `features`.
pub async fn raw_caller(router: &Router, features: Dict) -> Raw {
    let roles = role("caller", features);
    Raw::join_with_roles(&url(router, Transport::Rs), Serializer::Json, roles)
        .await
        .0
}

/// A callee driven by hand that announces `features` and registers `procedure` with `options`.
pub async fn raw_callee(router: &Router, procedure: &str, features: Dict, options: Dict) -> Raw {
    let roles = role("callee", features);
    let (mut raw, _) =
        Raw::join_with_roles(&url(router, Transport::Rs), Serializer::Json, roles).await;
    raw.send(&Message::Register {
        request: 1,
        options,
        procedure: procedure.into(),
    })
    .await;
    match raw.recv().await {
        Some(Message::Registered { request: 1, .. }) => raw,
        other => panic!("expected REGISTERED, got {other:?}"),
    }
}

/// CALL `request` of `procedure` with `options` and the arguments `args`.
pub fn call_msg(request: Id, procedure: &str, options: Dict, args: Vec<Value>) -> Message {
    Message::Call {
        request,
        options,
        procedure: procedure.into(),
        payload: Payload::from_args(args),
    }
}

/// YIELD for `invocation` with the arguments `args`.
pub fn yield_msg(invocation: Id, options: Dict, args: Vec<Value>) -> Message {
    Message::Yield {
        request: invocation,
        options,
        payload: Payload::from_args(args),
    }
}

/// An INVOCATION as the tests look at it.
#[derive(Debug)]
pub struct Invoked {
    /// Its request id.
    pub request: Id,
    /// Its registration.
    pub registration: Id,
    /// Its details.
    pub details: Dict,
    /// Its positional arguments.
    pub args: Vec<Value>,
}

impl Invoked {
    /// Whether its details say `progress: true`.
    pub fn progress(&self) -> bool {
        self.details.get("progress").and_then(Value::as_bool) == Some(true)
    }
}

/// The next message, which must be an INVOCATION.
pub async fn next_invocation_raw(raw: &mut Raw) -> Invoked {
    match raw.recv().await {
        Some(Message::Invocation {
            request,
            registration,
            details,
            payload,
        }) => Invoked {
            request,
            registration,
            details,
            args: payload.args().unwrap_or_default(),
        },
        other => panic!("expected INVOCATION, got {other:?}"),
    }
}

/// The next message, which must be an INTERRUPT: its request id and options.
pub async fn next_interrupt(raw: &mut Raw) -> (Id, Dict) {
    match raw.recv().await {
        Some(Message::Interrupt { request, options }) => (request, options),
        other => panic!("expected INTERRUPT, got {other:?}"),
    }
}

/// The next message, which must be a RESULT: its request id and arguments.
pub async fn next_result(raw: &mut Raw) -> (Id, Vec<Value>) {
    match raw.recv().await {
        Some(Message::Result {
            request, payload, ..
        }) => (request, payload.args().unwrap_or_default()),
        other => panic!("expected RESULT, got {other:?}"),
    }
}

/// Expects ABORT `wamp.error.protocol_violation` whose message contains `needle`, then the end
/// of the connection.
pub async fn expect_violation(raw: &mut Raw, needle: &str) {
    match raw.recv().await {
        Some(Message::Abort { reason, details }) => {
            assert_eq!(reason, "wamp.error.protocol_violation");
            let message = details.get("message").and_then(Value::as_str).unwrap_or("");
            assert!(message.contains(needle), "{message:?} names {needle:?}");
        }
        other => panic!("expected ABORT, got {other:?}"),
    }
    assert!(
        raw.recv().await.is_none(),
        "the connection ends after ABORT"
    );
}
