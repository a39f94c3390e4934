//! HELLO → WELCOME or ABORT: the realm, the authentication method and role, the session's
//! handle and statistics. Before a session exists nothing is queued for it: a RawSocket PING is
//! answered on the connection directly, and a refusal comes back as the ABORT to send. The
//! method and its CHALLENGE / AUTHENTICATE are in [`super::authenticate`], dynamic
//! authenticators in [`super::dynamic`].

use crate::log_budget::{UNJOINED, log_within};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use wamp::transport::{FrameReader, FrameWriter, Inbound, Outbound, TransportError, TransportInfo};
use wamp::{Dict, Message, Value, dict};

use super::ListenerSettings;
use super::authenticate::{self, Begin, Outcome, Pending};
use super::dynamic;
use crate::context::RouterContext;
use crate::outbox::Outbox;
use crate::realm::{Full, Realm};
use crate::session_handle::{CalleeFeatures, CallerFeatures, SessionHandle};
use crate::stats::{Direction, SessionStats};

/// **[ours]** The ABORT reason when a realm's `max_sessions` or `max_sessions_per_authid` is
/// reached (the spec and Crossbar.io have none for it).
pub const TOO_MANY_SESSIONS: &str = "wampstat.error.too_many_sessions";

/// The ABORT that refuses a session: its reason URI and message.
#[derive(Debug)]
pub(super) struct Abort {
    /// The reason URI (a dynamic authenticator's error URI is passed on, as Crossbar does).
    pub reason: Cow<'static, str>,
    /// Why, for the client's eyes (and the router's log).
    pub message: String,
}

impl Abort {
    /// An ABORT with `reason` and `message`.
    pub fn new(reason: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Abort {
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// The ABORT message.
    pub fn message(self) -> Message {
        Message::abort(&self.reason, self.message)
    }
}

/// A connection that did not join: the ABORT to send it, if any (none when the transport
/// failed or the router is shutting down).
pub(super) type NotJoined = Option<Abort>;

/// A connection that has not joined yet: where its frames come from and go.
pub(super) struct Link<'a> {
    reader: &'a mut FrameReader,
    writer: &'a mut FrameWriter,
    info: &'a TransportInfo,
}

/// Waits for HELLO and, when the session may join, attaches it to its realm and queues WELCOME
/// on `out`. `deadline` is when the handshake must be over (a dynamic authenticator's call is
/// given up then).
#[allow(clippy::too_many_arguments)] // each named at the one call site
pub(super) async fn hello(
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
    out: &Outbox,
    info: &TransportInfo,
    router: &RouterContext,
    listener: &ListenerSettings,
    opened: (Instant, SystemTime),
    deadline: tokio::time::Instant,
) -> Result<(Arc<Realm>, Arc<SessionHandle>), NotJoined> {
    let abort = |reason: &'static str, message: String| {
        log_within!(UNJOINED, warn, peer = %info.peer, reason, "refusing session: {message}");
        Err(Some(Abort::new(reason, message)))
    };
    let mut link = Link {
        reader,
        writer,
        info,
    };
    let frame = link.next_message().await?;
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
    if let Err(problem) = super::strict::check_hello(&details) {
        return abort("wamp.error.protocol_violation", problem);
    }
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
    // An authentication failure counts in the metrics of the realm asked for (if it exists:
    // the names of realms that do not are not the client's to add as labels).
    let auth_failed = |authmethod: &str| {
        if let Some(m) = router
            .realms
            .get(&realm_name)
            .and_then(|r| r.metrics.as_ref())
        {
            m.auth_failed(authmethod);
        }
    };
    let begin = match authenticate::begin(listener, &details, session) {
        Ok(begin) => begin,
        Err(a) => {
            log_within!(UNJOINED, warn, peer = %info.peer, reason = %a.reason, "refusing session: {}", a.message);
            if a.reason == "wamp.error.no_auth_method" {
                auth_failed("none");
            }
            return Err(Some(a));
        }
    };
    let tried = match &begin {
        Begin::Accept(outcome) => outcome.who.authmethod,
        Begin::Challenge(_, pending) => pending.method(),
        Begin::Dynamic(method, _) => method,
    };
    let authenticated = match begin {
        Begin::Accept(outcome) => Ok(outcome),
        Begin::Challenge(challenge, pending) => {
            link.challenge_and_verify(*challenge, pending).await
        }
        Begin::Dynamic(method, authenticator) => {
            let request = dynamic::Request {
                router,
                authenticator: &authenticator,
                method,
                realm: &realm_name,
                hello: &details,
                session,
                info,
                deadline,
            };
            dynamic::authenticate(&mut link, &request).await
        }
    };
    let outcome = match authenticated {
        Ok(outcome) => {
            if outcome.who.authmethod != "anonymous" {
                listener.penalties.succeeded(info.peer.ip());
            }
            outcome
        }
        Err(Some(refused)) if refused.reason == "wamp.error.not_authorized" => {
            auth_failed(tried);
            // Repeated failures from one address wait longer each time. The first waits not
            // at all: a zero sleep would still wait for the timer's next tick, about 1 ms.
            let delay = listener.penalties.failed(info.peer.ip());
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            return Err(Some(refused));
        }
        Err(other) => {
            if other
                .as_ref()
                .is_some_and(|a| a.reason == "wamp.error.authentication_failed")
            {
                auth_failed(tried);
            }
            return Err(other);
        }
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
    let authid = who.authid.clone();
    // Made only once the realm's session limits admit the session.
    let attached = realm.attach(session, &authid, |id| {
        let stats = realm
            .config
            .stats
            .map(|config| Arc::new(SessionStats::new(config, opened.0, opened.1)));
        SessionHandle::new(
            id,
            realm_name.clone(),
            who,
            info.clone(),
            (
                CalleeFeatures::from_hello(&details),
                CallerFeatures::from_hello(&details),
            ),
            stats,
            router.options.limits(),
            out.clone(),
        )
        .with_slow_consumer(realm.config.slow_consumer)
    });
    let me = match attached {
        Ok(me) => me,
        Err(full) => {
            let message = match full {
                Full::Realm(max) => {
                    format!("realm {realm_name:?} is full: max_sessions is {max}")
                }
                Full::Authid(max) => format!(
                    "realm {realm_name:?} is full for authid {authid:?}: \
                     max_sessions_per_authid is {max}"
                ),
            };
            return abort(TOO_MANY_SESSIONS, message);
        }
    };
    if let Some(config) = realm.config.stats {
        tracing::info!("WAMP session statistics ENABLED ({config})");
    }
    // The writer, started next, counts what it sends (WELCOME first; with trigger_on_join the
    // first cycle ends right after it, so on_join goes out before it).
    realm.events.on_join(&me);
    // Counting starts with the transport: HELLO is in the first cycle.
    if let Some(stats) = &me.stats {
        stats.count(Direction::Rx, [(frame.len(), true)], |c| {
            realm.events.on_stats(&me, c)
        });
    }
    if let Some(m) = &realm.metrics {
        m.received(info.serializer, &frame);
    }
    // The first message in the session's own, empty queue.
    if let Some(b) = encode_welcome(info, realm, &me) {
        let _ = out.push(Outbound::Message(b));
    }
    Ok((Arc::clone(realm), me))
}

/// What a transport failure before HELLO calls for: an ABORT for a message that was too large,
/// nothing otherwise.
fn transport_failure(info: &TransportInfo, e: TransportError) -> NotJoined {
    if let TransportError::TooLarge { .. } | TransportError::Stalled { .. } = e {
        log_within!(UNJOINED, warn, peer = %info.peer, "{e}; aborting");
        Some(Abort {
            reason: "wamp.error.protocol_violation".into(),
            message: e.to_string(),
        })
    } else {
        tracing::debug!(peer = %info.peer, "transport ended: {e}");
        None
    }
}

impl Link<'_> {
    /// Sends CHALLENGE and checks the AUTHENTICATE that answers it (a PING meanwhile is
    /// answered).
    async fn challenge_and_verify(
        &mut self,
        challenge: Message,
        pending: Pending,
    ) -> Result<Outcome, NotJoined> {
        let signature = self.challenge(challenge).await?;
        self.verify(pending, &signature)
    }

    /// Sends CHALLENGE and returns the signature of the AUTHENTICATE that answers it.
    pub(super) async fn challenge(&mut self, challenge: Message) -> Result<String, NotJoined> {
        let info = self.info;
        let bytes = wamp::encode(info.serializer, &challenge).map_err(|_| None)?;
        let written = self.writer.write_batch(&[Outbound::Message(bytes)]).await;
        if let Err(e) = written {
            tracing::debug!(peer = %info.peer, "transport ended: {e}");
            return Err(None);
        }
        let frame = self.next_message().await?;
        match wamp::decode(info.serializer, &frame) {
            Ok(Message::Authenticate { signature, .. }) => Ok(signature),
            Ok(other) => Err(Some(Abort::new(
                "wamp.error.protocol_violation",
                format!("expected AUTHENTICATE, got {}", other.name()),
            ))),
            Err(e) => Err(Some(Abort::new(
                "wamp.error.protocol_violation",
                e.to_string(),
            ))),
        }
    }

    /// Checks the AUTHENTICATE `signature` against `pending`; a refusal is logged.
    pub(super) fn verify(&self, pending: Pending, signature: &str) -> Result<Outcome, NotJoined> {
        let (authid, method) = (pending.authid().to_owned(), pending.method());
        pending.verify(signature).map_err(|a| {
            log_within!(UNJOINED, info, peer = %self.info.peer, authid = %authid, authmethod = method, "authentication failed: {}", a.message);
            Some(a)
        })
    }

    /// The next WAMP message of a connection that has not joined yet; a PING is answered on
    /// the connection directly.
    async fn next_message(&mut self) -> Result<bytes::Bytes, NotJoined> {
        let info = self.info;
        loop {
            match self.reader.next().await.ok_or(None)? {
                Ok(Inbound::Message(b)) => return Ok(b),
                Ok(Inbound::Pong) => {}
                Ok(Inbound::Ping(p)) => {
                    if let Err(e) = self.writer.write_batch(&[Outbound::Pong(p)]).await {
                        tracing::debug!(peer = %info.peer, "transport ended: {e}");
                        return Err(None);
                    }
                }
                Err(e) => return Err(transport_failure(info, e)),
            }
        }
    }
}

/// WELCOME details: identity and the roles with the features this router implements.
/// WELCOME, encoded. When the peer announced a limit too small for the full feature lists
/// (RawSocket allows 512 bytes), the roles go without them rather than the session failing:
/// the client then assumes only the basic profile.
fn encode_welcome(info: &TransportInfo, realm: &Realm, me: &SessionHandle) -> Option<Bytes> {
    let mut details = welcome_details(realm, me);
    let full = wamp::encode(
        info.serializer,
        &Message::Welcome {
            session: me.id,
            details: details.clone(),
        },
    )
    .ok()?;
    if full.len() <= info.peer_max_message_size {
        return Some(full);
    }
    tracing::debug!(
        peer = %info.peer,
        size = full.len(),
        limit = info.peer_max_message_size,
        "WELCOME without feature lists: the full one exceeds the peer's limit"
    );
    let bare = Value::Dict(Dict::new());
    details.insert(
        "roles".into(),
        Value::Dict(dict! {"broker" => bare.clone(), "dealer" => bare}),
    );
    wamp::encode(
        info.serializer,
        &Message::Welcome {
            session: me.id,
            details,
        },
    )
    .ok()
}

/// WELCOME's details: the session's identity and exactly the features that work on this
/// realm (the meta APIs only with `enable_meta_api`; `event_history` only when the realm keeps
/// some, since `wamp.subscription.get_events` has nothing to return otherwise).
fn welcome_details(realm: &Realm, me: &SessionHandle) -> Dict {
    let meta_api = realm.config.enable_meta_api;
    let history = meta_api && !realm.config.event_history.is_empty();
    let features = |names: &[&str], meta: &[&str], history_too: bool| {
        let mut d = Dict::new();
        for n in names.iter().chain(if meta_api { meta } else { &[] }) {
            d.insert((*n).to_owned(), Value::Bool(true));
        }
        if history_too {
            d.insert("event_history".into(), Value::Bool(true));
        }
        Value::Dict(dict! {"features" => Value::Dict(d)})
    };
    dict! {
        "realm" => realm.name(),
        "authid" => me.authid.as_str(),
        "authrole" => me.authrole.as_str(),
        "authmethod" => me.authmethod,
        "authprovider" => me.authprovider,
        "authextra" => Value::Dict(me.authextra.clone()),
        "roles" => Value::Dict(dict! {
            "broker" => features(&[
                "publisher_identification",
                "publisher_exclusion",
                "subscriber_blackwhite_listing",
                "pattern_based_subscription",
                "event_retention",
                "payload_passthru_mode",
                "payload_transparency",
            ], &["session_meta_api", "subscription_meta_api"], history),
            "dealer" => features(&[
                "caller_identification",
                "pattern_based_registration",
                "shared_registration",
                "call_canceling",
                "progressive_call_results",
                "progressive_call_invocations",
                "call_timeout",
                "payload_passthru_mode",
                "payload_transparency",
            ], &["session_meta_api", "registration_meta_api", "testament_meta_api"], false),
        }),
    }
}
