//! HELLO → WELCOME or ABORT: the realm, the authentication method and role, the session's
//! handle and statistics. Before a session exists nothing is queued for it: a RawSocket PING is
//! answered on the connection directly, and a refusal comes back as the ABORT to send. The
//! method and its CHALLENGE / AUTHENTICATE are in [`super::authenticate`].

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use wamp::transport::{FrameReader, FrameWriter, Inbound, Outbound, TransportError, TransportInfo};
use wamp::{Dict, Message, Value, dict};

use super::ListenerSettings;
use super::authenticate::{self, Begin, Outcome, Pending};
use crate::context::RouterContext;
use crate::outbox::Outbox;
use crate::realm::Realm;
use crate::session_handle::{CalleeFeatures, SessionHandle};
use crate::stats::{Direction, SessionStats};

/// The ABORT that refuses a session: its reason URI and message.
#[derive(Debug)]
pub(super) struct Abort {
    /// The reason URI.
    pub reason: &'static str,
    /// Why, for the client's eyes (and the router's log).
    pub message: String,
}

impl Abort {
    /// The ABORT message.
    pub fn message(self) -> Message {
        Message::abort(self.reason, self.message)
    }
}

/// A connection that did not join: the ABORT to send it, if any (none when the transport
/// failed or the router is shutting down).
pub(super) type NotJoined = Option<Abort>;

/// Waits for HELLO and, when the session may join, attaches it to its realm and queues WELCOME
/// on `out`.
pub(super) async fn hello(
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
    out: &Outbox,
    info: &TransportInfo,
    router: &RouterContext,
    listener: &ListenerSettings,
    opened: (Instant, SystemTime),
) -> Result<(Arc<Realm>, Arc<SessionHandle>), NotJoined> {
    let abort = |reason: &'static str, message: String| {
        tracing::warn!(peer = %info.peer, reason, "refusing session: {message}");
        Err(Some(Abort { reason, message }))
    };
    let frame = next_message(reader, writer, info).await?;
    let (realm_name, details) = match wamp::decode(info.serializer, &frame) {
        Ok(Message::Hello { realm, details }) => (realm, details),
        Ok(other) => {
            return abort(
                "wamp.error.protocol_violation",
                format!("expected HELLO, got {}", other.name()),
            );
        }
        Err(e) => return abort("wamp.error.protocol_violation", e.to_string()),
    };
    if details
        .get("roles")
        .and_then(Value::as_dict)
        .is_none_or(|r| r.is_empty())
    {
        return abort(
            "wamp.error.protocol_violation",
            "HELLO must announce at least one role in details.roles".into(),
        );
    }
    let session = wamp::id::random_id();
    let outcome = match authenticate::begin(listener, &details, session) {
        Ok(Begin::Accept(outcome)) => outcome,
        Ok(Begin::Challenge(challenge, pending)) => {
            match challenge_and_verify(reader, writer, info, challenge, pending).await {
                Ok(outcome) => {
                    listener.penalties.succeeded(info.peer.ip());
                    outcome
                }
                Err(Some(refused)) if refused.reason == "wamp.error.not_authorized" => {
                    // Repeated failures from one address wait longer each time. The first
                    // waits not at all: a zero sleep would still wait for the timer's next
                    // tick, about 1 ms.
                    let delay = listener.penalties.failed(info.peer.ip());
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    return Err(Some(refused));
                }
                Err(other) => return Err(other),
            }
        }
        Err(a) => return abort(a.reason, a.message),
    };
    let realm_name = outcome.realm.unwrap_or(realm_name);
    let who = outcome.who;
    let Some(realm) = router.realms.get(&realm_name) else {
        return abort(
            "wamp.error.no_such_realm",
            format!("no realm {realm_name:?} on this router"),
        );
    };
    if realm.role(&who.authrole).is_none() {
        return abort(
            "wamp.error.no_such_role",
            format!("realm {realm_name:?} has no role {:?}", who.authrole),
        );
    }
    let stats = realm.config.stats.map(|config| {
        tracing::info!("WAMP session statistics ENABLED ({config})");
        Arc::new(SessionStats::new(config, opened.0, opened.1))
    });
    let me = realm.attach(session, |id| {
        SessionHandle::new(
            id,
            realm_name.clone(),
            who,
            info.clone(),
            CalleeFeatures::from_hello(&details),
            stats,
            router.options.limits(),
            out.clone(),
        )
    });
    // The writer, started next, counts what it sends (WELCOME first; with trigger_on_join the
    // first cycle ends right after it, so on_join goes out before it).
    realm.events.on_join(&me);
    // Counting starts with the transport: HELLO is in the first cycle.
    if let Some(stats) = &me.stats {
        stats.count(Direction::Rx, [(frame.len(), true)], |c| {
            realm.events.on_stats(&me, c)
        });
    }
    let welcome = Message::Welcome {
        session: me.id,
        details: welcome_details(realm.name(), &me),
    };
    // The first message in the session's own, empty queue.
    if let Ok(b) = wamp::encode(info.serializer, &welcome) {
        let _ = out.push(Outbound::Message(b));
    }
    Ok((Arc::clone(realm), me))
}

/// What a transport failure before HELLO calls for: an ABORT for a message that was too large,
/// nothing otherwise.
fn transport_failure(info: &TransportInfo, e: TransportError) -> NotJoined {
    if let TransportError::TooLarge { .. } | TransportError::Stalled { .. } = e {
        tracing::warn!(peer = %info.peer, "{e}; aborting");
        Some(Abort {
            reason: "wamp.error.protocol_violation",
            message: e.to_string(),
        })
    } else {
        tracing::debug!(peer = %info.peer, "transport ended: {e}");
        None
    }
}

/// Sends CHALLENGE and checks the AUTHENTICATE that answers it (a PING meanwhile is answered).
async fn challenge_and_verify(
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
    info: &TransportInfo,
    challenge: Box<Message>,
    pending: Pending,
) -> Result<Outcome, NotJoined> {
    let bytes = wamp::encode(info.serializer, &challenge).map_err(|_| None)?;
    let written = writer.write_batch(&[Outbound::Message(bytes)]).await;
    if let Err(e) = written {
        tracing::debug!(peer = %info.peer, "transport ended: {e}");
        return Err(None);
    }
    let frame = next_message(reader, writer, info).await?;
    let signature = match wamp::decode(info.serializer, &frame) {
        Ok(Message::Authenticate { signature, .. }) => signature,
        Ok(other) => {
            return Err(Some(Abort {
                reason: "wamp.error.protocol_violation",
                message: format!("expected AUTHENTICATE, got {}", other.name()),
            }));
        }
        Err(e) => {
            return Err(Some(Abort {
                reason: "wamp.error.protocol_violation",
                message: e.to_string(),
            }));
        }
    };
    let (authid, method) = (pending.authid().to_owned(), pending.method());
    pending.verify(&signature).map_err(|a| {
        tracing::info!(peer = %info.peer, authid = %authid, authmethod = method, "authentication failed: {}", a.message);
        Some(a)
    })
}

/// The next WAMP message of a connection that has not joined yet; a PING is answered on the
/// connection directly.
async fn next_message(
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
    info: &TransportInfo,
) -> Result<bytes::Bytes, NotJoined> {
    loop {
        match reader.next().await.ok_or(None)? {
            Ok(Inbound::Message(b)) => return Ok(b),
            Ok(Inbound::Ping(p)) => {
                if let Err(e) = writer.write_batch(&[Outbound::Pong(p)]).await {
                    tracing::debug!(peer = %info.peer, "transport ended: {e}");
                    return Err(None);
                }
            }
            Err(e) => return Err(transport_failure(info, e)),
        }
    }
}

/// WELCOME details: identity and the roles with the features this router implements.
fn welcome_details(realm: &str, me: &SessionHandle) -> Dict {
    let features = |names: &[&str]| {
        let mut d = Dict::new();
        for n in names {
            d.insert((*n).to_owned(), Value::Bool(true));
        }
        Value::Dict(dict! {"features" => Value::Dict(d)})
    };
    dict! {
        "realm" => realm,
        "authid" => me.authid.as_str(),
        "authrole" => me.authrole.as_str(),
        "authmethod" => me.authmethod,
        "authprovider" => me.authprovider,
        "authextra" => Value::Dict(Dict::new()),
        "roles" => Value::Dict(dict! {
            "broker" => features(&[
                "publisher_identification",
                "publisher_exclusion",
                "subscriber_blackwhite_listing",
                "pattern_based_subscription",
            ]),
            "dealer" => features(&[
                "caller_identification",
                "pattern_based_registration",
                "shared_registration",
                "call_canceling",
                "progressive_call_results",
            ]),
        }),
    }
}
