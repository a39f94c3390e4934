//! The message core of a joined session: one frame in — counted, decoded, handed to its
//! handler ([`super::pubsub`], [`super::rpc`]) — and the replies queued on the session's own
//! outbox. Nothing here touches a socket, so it is tested without one (`tests.rs`).

use crate::log_budget::{VIOLATIONS, log_within};
use std::sync::Arc;

use bytes::Bytes;
use wamp::message::code;
use wamp::{DecodeError, MatchPolicy, Message};

use super::End;
use crate::authorize::{self, Action};
use crate::config::{Permission, RoleConfig};
use crate::realm::Realm;
use crate::refusal::Refusal;
use crate::session_handle::SessionHandle;
use crate::stats::Direction;

/// The request id of a request other than CALL (whose ids [`Joined::on_call`] checks itself:
/// a CALL may continue a progressive one). These are answered before the next message is
/// read, so only a CALL can still be in progress with the same id.
fn new_request(m: &Message) -> Option<wamp::Id> {
    match m {
        Message::Publish { request, .. }
        | Message::Subscribe { request, .. }
        | Message::Unsubscribe { request, .. }
        | Message::Register { request, .. }
        | Message::Unregister { request, .. } => Some(*request),
        _ => None,
    }
}

/// A joined session, as its message handlers see it.
pub(super) struct Joined<'a> {
    /// Its realm.
    pub realm: &'a Arc<Realm>,
    /// Itself, as others see it.
    pub me: &'a Arc<SessionHandle>,
    /// Its role's permissions.
    pub role: &'a RoleConfig,
}

/// Whether to go on after a message.
pub(super) enum Flow {
    /// Read the next one.
    Continue,
    /// The session ends.
    End(End),
}

impl Joined<'_> {
    /// Counts, decodes and handles one received frame.
    pub fn on_frame(&mut self, frame: Bytes) -> Flow {
        self.count_rx(frame.len());
        match wamp::decode(self.me.serializer(), &frame) {
            Ok(m) => self.on_message(m),
            Err(DecodeError::InvalidUri {
                code,
                request: Some(request),
                uri,
                message,
                ..
            }) => {
                let refusal = Refusal::invalid_uri(format!("invalid URI {uri:?} in {message}"));
                self.refuse(code, request, refusal);
                Flow::Continue
            }
            Err(DecodeError::InvalidUri {
                code: code::PUBLISH,
                request: None,
                uri,
                ..
            }) => {
                tracing::debug!(
                    session = self.me.id,
                    "dropped a publication to the invalid URI {uri:?}"
                );
                Flow::Continue
            }
            Err(e) => Flow::End(self.violation(e.to_string())),
        }
    }

    /// Handles one decoded message.
    pub fn on_message(&mut self, m: Message) -> Flow {
        if let Err(problem) = super::strict::check(&m) {
            return Flow::End(self.violation(problem));
        }
        if let Some(request) = new_request(&m)
            && self.realm.dealer.in_flight(self.me, request)
        {
            return Flow::End(self.violation(format!(
                "{} request ID {request} is already in use by a call in progress of this session",
                m.name()
            )));
        }
        match m {
            Message::Publish {
                request,
                options,
                topic,
                payload,
            } => self.on_publish(request, &options, &topic, &payload),
            Message::Subscribe {
                request,
                options,
                topic,
            } => self.on_subscribe(request, &options, &topic),
            Message::Unsubscribe {
                request,
                subscription,
            } => self.on_unsubscribe(request, subscription),
            Message::Call {
                request,
                options,
                procedure,
                payload,
            } => return self.on_call(request, &options, &procedure, &payload),
            Message::Register {
                request,
                options,
                procedure,
            } => self.on_register(request, &options, &procedure),
            Message::Unregister {
                request,
                registration,
            } => self.on_unregister(request, registration),
            Message::Yield {
                request,
                options,
                payload,
            } => self.on_yield(request, &options, payload),
            Message::Error {
                request_type: code::INVOCATION,
                request,
                details,
                error,
                payload,
            } => self.on_invocation_error(request, details, error, payload),
            Message::Cancel { request, options } => self.on_cancel(request, &options),
            Message::Goodbye { reason, .. } => return Flow::End(End::Goodbye(reason)),
            Message::Abort { reason, .. } => return Flow::End(End::ClientAbort(reason)),
            other => {
                return Flow::End(self.violation(format!(
                    "{} is not a message a client may send here",
                    other.name()
                )));
            }
        }
        Flow::Continue
    }

    /// The one check of a URI this session wants to use for `action` (see
    /// [`authorize::check`]); returns the governing permission.
    pub fn check(
        &self,
        uri: &str,
        policy: MatchPolicy,
        action: Action,
    ) -> Result<&Permission, Refusal> {
        let max = self.me.quota.limits().uri_length;
        authorize::check(&self.realm.config, self.role, (uri, policy), action, max)
    }

    /// Queues a message for the client.
    pub fn send(&self, m: &Message) {
        // A reply that cannot be queued means this very session is closing (or its peer
        // cannot take a message this large, which the dealer already turned into an error).
        let _ = self.me.send(m);
    }

    /// Answers request `request` of type `request_type` with the ERROR of `r`.
    pub fn refuse(&self, request_type: u64, request: wamp::Id, r: Refusal) {
        self.send(&r.into_error(request_type, request));
    }

    /// Logs a protocol violation and queues its ABORT.
    pub fn violation(&self, message: String) -> End {
        log_within!(VIOLATIONS, warn, session = self.me.id, peer = %self.me.transport.peer, "protocol violation: {message}");
        self.send(&Message::abort("wamp.error.protocol_violation", message));
        End::Violation
    }

    /// Counts a received message for the session's statistics.
    pub fn count_rx(&self, len: usize) {
        if let Some(stats) = &self.me.stats {
            stats.count(Direction::Rx, [(len, true)], |c| {
                self.realm.events.on_stats(self.me, c)
            });
        }
    }
}
