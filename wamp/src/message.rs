//! Every WAMP v2 message a router and its clients exchange.
//!
//! Messages are positional arrays tagged with an integer code; the codec in [`crate::codec`]
//! reads and writes them by hand, once, for both serializers.

use crate::id::Id;
use crate::payload::Payload;
use crate::value::Dict;

/// Message codes of the WAMP v2 specification.
pub mod code {
    #![allow(missing_docs)]
    pub const HELLO: u64 = 1;
    pub const WELCOME: u64 = 2;
    pub const ABORT: u64 = 3;
    pub const CHALLENGE: u64 = 4;
    pub const AUTHENTICATE: u64 = 5;
    pub const GOODBYE: u64 = 6;
    pub const ERROR: u64 = 8;
    pub const PUBLISH: u64 = 16;
    pub const PUBLISHED: u64 = 17;
    pub const SUBSCRIBE: u64 = 32;
    pub const SUBSCRIBED: u64 = 33;
    pub const UNSUBSCRIBE: u64 = 34;
    pub const UNSUBSCRIBED: u64 = 35;
    pub const EVENT: u64 = 36;
    pub const CALL: u64 = 48;
    pub const CANCEL: u64 = 49;
    pub const RESULT: u64 = 50;
    pub const REGISTER: u64 = 64;
    pub const REGISTERED: u64 = 65;
    pub const UNREGISTER: u64 = 66;
    pub const UNREGISTERED: u64 = 67;
    pub const INVOCATION: u64 = 68;
    pub const INTERRUPT: u64 = 69;
    pub const YIELD: u64 = 70;
}

/// The name of a message code, or `None` for an unknown code.
pub fn name_of(c: u64) -> Option<&'static str> {
    use code::*;
    Some(match c {
        HELLO => "HELLO",
        WELCOME => "WELCOME",
        ABORT => "ABORT",
        CHALLENGE => "CHALLENGE",
        AUTHENTICATE => "AUTHENTICATE",
        GOODBYE => "GOODBYE",
        ERROR => "ERROR",
        PUBLISH => "PUBLISH",
        PUBLISHED => "PUBLISHED",
        SUBSCRIBE => "SUBSCRIBE",
        SUBSCRIBED => "SUBSCRIBED",
        UNSUBSCRIBE => "UNSUBSCRIBE",
        UNSUBSCRIBED => "UNSUBSCRIBED",
        EVENT => "EVENT",
        CALL => "CALL",
        CANCEL => "CANCEL",
        RESULT => "RESULT",
        REGISTER => "REGISTER",
        REGISTERED => "REGISTERED",
        UNREGISTER => "UNREGISTER",
        UNREGISTERED => "UNREGISTERED",
        INVOCATION => "INVOCATION",
        INTERRUPT => "INTERRUPT",
        YIELD => "YIELD",
        _ => return None,
    })
}

/// A WAMP v2 message.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Message {
    /// `[HELLO, Realm|uri, Details|dict]`
    Hello { realm: String, details: Dict },
    /// `[WELCOME, Session|id, Details|dict]`
    Welcome { session: Id, details: Dict },
    /// `[ABORT, Details|dict, Reason|uri]`
    Abort { details: Dict, reason: String },
    /// `[CHALLENGE, AuthMethod|string, Extra|dict]`
    Challenge { authmethod: String, extra: Dict },
    /// `[AUTHENTICATE, Signature|string, Extra|dict]`
    Authenticate { signature: String, extra: Dict },
    /// `[GOODBYE, Details|dict, Reason|uri]`
    Goodbye { details: Dict, reason: String },
    /// `[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Arguments?, ArgumentsKw?]`
    Error {
        request_type: u64,
        request: Id,
        details: Dict,
        error: String,
        payload: Payload,
    },
    /// `[PUBLISH, Request|id, Options|dict, Topic|uri, Arguments?, ArgumentsKw?]`
    Publish {
        request: Id,
        options: Dict,
        topic: String,
        payload: Payload,
    },
    /// `[PUBLISHED, PUBLISH.Request|id, Publication|id]`
    Published { request: Id, publication: Id },
    /// `[SUBSCRIBE, Request|id, Options|dict, Topic|uri]`
    Subscribe {
        request: Id,
        options: Dict,
        topic: String,
    },
    /// `[SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id]`
    Subscribed { request: Id, subscription: Id },
    /// `[UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id]`
    Unsubscribe { request: Id, subscription: Id },
    /// `[UNSUBSCRIBED, UNSUBSCRIBE.Request|id]`
    Unsubscribed { request: Id },
    /// `[EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict, Arguments?, ArgumentsKw?]`
    Event {
        subscription: Id,
        publication: Id,
        details: Dict,
        payload: Payload,
    },
    /// `[CALL, Request|id, Options|dict, Procedure|uri, Arguments?, ArgumentsKw?]`
    Call {
        request: Id,
        options: Dict,
        procedure: String,
        payload: Payload,
    },
    /// `[CANCEL, CALL.Request|id, Options|dict]`
    Cancel { request: Id, options: Dict },
    /// `[RESULT, CALL.Request|id, Details|dict, Arguments?, ArgumentsKw?]`
    Result {
        request: Id,
        details: Dict,
        payload: Payload,
    },
    /// `[REGISTER, Request|id, Options|dict, Procedure|uri]`
    Register {
        request: Id,
        options: Dict,
        procedure: String,
    },
    /// `[REGISTERED, REGISTER.Request|id, Registration|id]`
    Registered { request: Id, registration: Id },
    /// `[UNREGISTER, Request|id, REGISTERED.Registration|id]`
    Unregister { request: Id, registration: Id },
    /// `[UNREGISTERED, UNREGISTER.Request|id]`
    Unregistered { request: Id },
    /// `[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, Arguments?, ArgumentsKw?]`
    Invocation {
        request: Id,
        registration: Id,
        details: Dict,
        payload: Payload,
    },
    /// `[INTERRUPT, INVOCATION.Request|id, Options|dict]`
    Interrupt { request: Id, options: Dict },
    /// `[YIELD, INVOCATION.Request|id, Options|dict, Arguments?, ArgumentsKw?]`
    Yield {
        request: Id,
        options: Dict,
        payload: Payload,
    },
}

impl Message {
    /// The message's integer code.
    pub fn code(&self) -> u64 {
        use code::*;
        match self {
            Message::Hello { .. } => HELLO,
            Message::Welcome { .. } => WELCOME,
            Message::Abort { .. } => ABORT,
            Message::Challenge { .. } => CHALLENGE,
            Message::Authenticate { .. } => AUTHENTICATE,
            Message::Goodbye { .. } => GOODBYE,
            Message::Error { .. } => ERROR,
            Message::Publish { .. } => PUBLISH,
            Message::Published { .. } => PUBLISHED,
            Message::Subscribe { .. } => SUBSCRIBE,
            Message::Subscribed { .. } => SUBSCRIBED,
            Message::Unsubscribe { .. } => UNSUBSCRIBE,
            Message::Unsubscribed { .. } => UNSUBSCRIBED,
            Message::Event { .. } => EVENT,
            Message::Call { .. } => CALL,
            Message::Cancel { .. } => CANCEL,
            Message::Result { .. } => RESULT,
            Message::Register { .. } => REGISTER,
            Message::Registered { .. } => REGISTERED,
            Message::Unregister { .. } => UNREGISTER,
            Message::Unregistered { .. } => UNREGISTERED,
            Message::Invocation { .. } => INVOCATION,
            Message::Interrupt { .. } => INTERRUPT,
            Message::Yield { .. } => YIELD,
        }
    }

    /// The arguments of a message that carries them (ERROR, PUBLISH, EVENT, CALL, RESULT,
    /// INVOCATION, YIELD).
    pub fn payload(&self) -> Option<&Payload> {
        match self {
            Message::Error { payload, .. }
            | Message::Publish { payload, .. }
            | Message::Event { payload, .. }
            | Message::Call { payload, .. }
            | Message::Result { payload, .. }
            | Message::Invocation { payload, .. }
            | Message::Yield { payload, .. } => Some(payload),
            _ => None,
        }
    }

    /// The arguments, mutably (see [`Message::payload`]).
    pub fn payload_mut(&mut self) -> Option<&mut Payload> {
        match self {
            Message::Error { payload, .. }
            | Message::Publish { payload, .. }
            | Message::Event { payload, .. }
            | Message::Call { payload, .. }
            | Message::Result { payload, .. }
            | Message::Invocation { payload, .. }
            | Message::Yield { payload, .. } => Some(payload),
            _ => None,
        }
    }

    /// The message's name in capitals, as the specification writes it.
    pub fn name(&self) -> &'static str {
        name_of(self.code()).unwrap_or("UNKNOWN")
    }

    /// An ABORT with `reason` and a human-readable `message` in its details.
    pub fn abort(reason: &str, message: impl Into<String>) -> Self {
        Message::Abort {
            details: crate::dict! {"message" => message.into()},
            reason: reason.to_owned(),
        }
    }

    /// An ERROR reply to request `request` of type `request_type`, with `error` and a message.
    pub fn error(request_type: u64, request: Id, error: &str, message: Option<String>) -> Self {
        let payload = match message {
            Some(m) => Payload::from_args(vec![m.into()]),
            None => Payload::empty(),
        };
        Message::Error {
            request_type,
            request,
            details: Dict::new(),
            error: error.to_owned(),
            payload,
        }
    }
}
