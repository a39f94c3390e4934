//! What a client session hands its user: events, invocations, results and errors.

use tokio::sync::mpsc;

use crate::codec::{DecodeError, EncodeError};
use crate::id::Id;
use crate::message::{Message, code};
use crate::payload::Payload;
use crate::transport::{Outbound, TransportError};
use crate::value::Dict;
use crate::{Serializer, codec};

/// An event received through a subscription.
#[derive(Debug, Clone)]
pub struct Event {
    /// The subscription it came through.
    pub subscription: Id,
    /// The publication id.
    pub publication: Id,
    /// `details` (e.g. `topic` for pattern subscriptions, `publisher` when disclosed): a
    /// [`Dict`] decoded when first looked at.
    pub details: super::Details,
    /// The arguments.
    pub payload: Payload,
    /// When this session's reader decoded it (latency measured from here leaves out however
    /// long the event then waited in the subscription's channel).
    pub received: std::time::Instant,
}

/// An error reply: the URI, details and arguments of a WAMP `ERROR`.
#[derive(Debug, Clone, PartialEq)]
pub struct WampError {
    /// The error URI, e.g. `wamp.error.no_such_procedure`.
    pub error: String,
    /// The error details.
    pub details: Dict,
    /// The error arguments.
    pub payload: Payload,
}

impl WampError {
    /// An error with a URI and no arguments.
    pub fn new(error: impl Into<String>) -> Self {
        WampError {
            error: error.into(),
            details: Dict::new(),
            payload: Payload::empty(),
        }
    }
}

impl std::fmt::Display for WampError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)?;
        if let Ok(args) = self.payload.args()
            && let Some(first) = args.first().and_then(|v| v.as_str())
        {
            write!(f, ": {first}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in a client session.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The router sent something undecodable.
    #[error("the router sent an invalid message: {0}")]
    Decode(#[from] DecodeError),
    /// The router refused the session.
    #[error("the router aborted the session: {reason}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Aborted {
        /// The ABORT reason URI.
        reason: String,
        /// Its `details.message`, if any.
        message: String,
    },
    /// The router answered a request with an ERROR.
    #[error("{0}")]
    Wamp(WampError),
    /// The session is closed; the text says why.
    #[error("the session is closed: {0}")]
    Closed(String),
    /// The router broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// No answer in time.
    #[error("timed out: {0}")]
    Timeout(&'static str),
}

impl ClientError {
    /// The WAMP error URI, if this is an ERROR reply.
    pub fn wamp_error(&self) -> Option<&str> {
        match self {
            ClientError::Wamp(e) => Some(&e.error),
            _ => None,
        }
    }
}

/// The result of a call.
#[derive(Debug, Clone)]
pub struct CallResult {
    /// The `RESULT.Details`.
    pub details: Dict,
    /// The result's arguments.
    pub payload: Payload,
}

/// A call to one of this session's registered procedures; answer it with [`Invocation::reply`].
#[derive(Debug)]
pub struct Invocation {
    /// The invocation request id.
    pub request: Id,
    /// The registration it came through.
    pub registration: Id,
    /// `details` (e.g. `procedure` for pattern registrations, `caller` when disclosed).
    pub details: Dict,
    /// The call's arguments.
    pub payload: Payload,
    pub(crate) out: mpsc::Sender<Outbound>,
    pub(crate) serializer: Serializer,
}

impl Invocation {
    /// Sends YIELD with `result`'s payload, or ERROR with its error.
    pub async fn reply(self, result: Result<Payload, WampError>) -> Result<(), ClientError> {
        self.reply_with(Dict::new(), result).await
    }

    /// Like [`Invocation::reply`], with `options` for the YIELD (e.g. `progress`, or the
    /// `ppt_*` / `enc_*` keys of a pass-through payload, see [`Payload::passthru`]); an ERROR
    /// takes its details from the [`WampError`].
    pub async fn reply_with(
        self,
        options: Dict,
        result: Result<Payload, WampError>,
    ) -> Result<(), ClientError> {
        let m = match result {
            Ok(payload) => Message::Yield {
                request: self.request,
                options,
                payload,
            },
            Err(e) => Message::Error {
                request_type: code::INVOCATION,
                request: self.request,
                details: e.details,
                error: e.error,
                payload: e.payload,
            },
        };
        let bytes = codec::encode(self.serializer, &m)?;
        self.out
            .send(Outbound::Message(bytes))
            .await
            .map_err(|_| ClientError::Closed("the session ended before the reply".into()))
    }
}
