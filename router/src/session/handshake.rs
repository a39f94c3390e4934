//! HELLO → WELCOME or ABORT: the realm, the authentication method and role, the session's
//! handle and statistics. Before a session exists nothing is queued for it: a RawSocket PING is
//! answered on the connection directly, and a refusal comes back as the ABORT to send.
//! (CHALLENGE and AUTHENTICATE will go here.)

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use wamp::transport::{FrameReader, FrameWriter, Inbound, Outbound, TransportError, TransportInfo};
use wamp::{Dict, Message, Value, dict};

use super::ListenerSettings;
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
    let frame = loop {
        match reader.next().await.ok_or(None)? {
            Ok(Inbound::Message(b)) => break b,
            Ok(Inbound::Ping(p)) => {
                if let Err(e) = writer.write_batch(&[Outbound::Pong(p)]).await {
                    tracing::debug!(peer = %info.peer, "transport ended: {e}");
                    return Err(None);
                }
            }
            Err(e) => return Err(transport_failure(info, e)),
        }
    };
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
    let Some(realm) = router.realms.get(&realm_name) else {
        return abort(
            "wamp.error.no_such_realm",
            format!("no realm {realm_name:?} on this router"),
        );
    };
    if let Some(methods) = details.get("authmethods").and_then(Value::as_list)
        && !methods.iter().any(|m| m.as_str() == Some("anonymous"))
    {
        return abort(
            "wamp.error.no_auth_method",
            "this router offers anonymous authentication only; add \"anonymous\" to authmethods"
                .into(),
        );
    }
    let Some(authrole) = listener.anonymous_role.clone() else {
        return abort(
            "wamp.error.no_auth_method",
            "this transport does not allow anonymous sessions".into(),
        );
    };
    if realm.role(&authrole).is_none() {
        return abort(
            "wamp.error.no_such_role",
            format!(
                "realm {realm_name:?} has no role {authrole:?} (the transport's anonymous role)"
            ),
        );
    }
    let authid = random_authid();
    let stats = realm.config.stats.map(|config| {
        tracing::info!("WAMP session statistics ENABLED ({config})");
        Arc::new(SessionStats::new(config, opened.0, opened.1))
    });
    let me = realm.attach(|id| {
        SessionHandle::new(
            id,
            realm_name.clone(),
            authid,
            authrole,
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
    if let TransportError::TooLarge { .. } = e {
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

/// An authid like Crossbar's anonymous ones: six groups of four, e.g. `5UR5-7FTV-3X4K-779F-V59L-NSAE`.
fn random_authid() -> String {
    const ALPHABET: &[u8] = b"345679ACEFGHJKLMNPQRSTUVWXY";
    let mut s = String::with_capacity(29);
    for i in 0..24 {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        s.push(char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]));
    }
    s
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
        "authmethod" => "anonymous",
        "authprovider" => "static",
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

#[cfg(test)]
mod tests {
    #[test]
    fn authids_look_like_crossbars() {
        let a = super::random_authid();
        assert_eq!(a.len(), 29);
        assert_eq!(a.split('-').count(), 6);
        assert!(a.split('-').all(|g| g.len() == 4));
        assert_ne!(a, super::random_authid());
    }
}
