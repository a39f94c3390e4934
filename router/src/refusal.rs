//! A refused request: the WAMP error URI and a message for the ERROR reply. Every refusal of
//! the router — a bad URI, a denied permission, a reached limit, a bad option, a failed meta
//! procedure — is one of these, turned into an ERROR in one place.

use wamp::{Id, Message};

/// Why a request was refused: the error URI for the ERROR reply and a message (its only
/// argument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The WAMP error URI.
    pub error: &'static str,
    /// A human-readable explanation.
    pub message: String,
}

impl Refusal {
    /// A refusal with `error` and `message`.
    pub fn new(error: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            error,
            message: message.into(),
        }
    }

    /// `wamp.error.invalid_argument`.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Refusal::new("wamp.error.invalid_argument", message)
    }

    /// `wamp.error.invalid_uri`.
    pub fn invalid_uri(message: impl Into<String>) -> Self {
        Refusal::new("wamp.error.invalid_uri", message)
    }

    /// The ERROR that answers request `request` of type `request_type`.
    pub fn into_error(self, request_type: u64, request: Id) -> Message {
        Message::error(request_type, request, self.error, Some(self.message))
    }
}
