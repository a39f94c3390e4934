//! One task per connection: HELLO → WELCOME, then read → decode → authorize → dispatch, until
//! the session ends one way or another; a second task writes (see [`wamp::transport::run_writer`]).

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::task::JoinHandle;
use wamp::message::code;
use wamp::transport::{Connection, FrameReader, Inbound, Outbound, TransportError, TransportInfo};
use wamp::uri::UriCheck as WampUriCheck;
use wamp::{DecodeError, Dict, Id, MatchPolicy, Message, Payload, Value, dict};

use crate::auth::{self, Action};
use crate::broker::Identity;
use crate::broker::{Filter, Publication};
use crate::config::{RoleConfig, UriCheck};
use crate::dealer::{Call, CancelMode, InvokePolicy, Refusal};
use crate::handle::{CalleeFeatures, CloseReason, Outbox, QueueLimits, SessionHandle};
use crate::meta_api;
use crate::realm::Realm;
use crate::router::{LIMIT_EXCEEDED, RouterOptions, Shared};
use crate::stats::{Direction, SessionStats};

/// What a listener tells each session about its transport.
#[derive(Debug, Clone)]
pub struct ListenerSettings {
    /// The role anonymous sessions get on this transport; `None` refuses anonymous.
    pub anonymous_role: Option<String>,
}

/// How a session ended.
#[derive(Debug)]
enum End {
    /// The client said GOODBYE.
    Goodbye(String),
    /// The client sent ABORT.
    ClientAbort(String),
    /// The client broke the protocol; ABORT was queued.
    Violation,
    /// Someone asked the session to close.
    Closed(CloseReason),
    /// The transport closed or failed.
    Transport(String),
}

/// The realm and handle of a joined session, for its writer to count what it sends.
type WriterHook = Arc<OnceLock<(Arc<Realm>, Arc<SessionHandle>)>>;

/// Runs a connection to its end.
pub async fn run(conn: Connection, router: Arc<Shared>, listener: Arc<ListenerSettings>) {
    let opened = (Instant::now(), SystemTime::now());
    let Connection {
        info,
        mut reader,
        writer,
    } = conn;
    let limits = QueueLimits {
        max_bytes: router.options.outbound_bytes,
    };
    let (out, rx) = Outbox::new(router.options.outbound_queue, limits);
    let hook: WriterHook = Arc::new(OnceLock::new());
    let writer_task = {
        let (accounting, hook) = (out.clone(), Arc::clone(&hook));
        tokio::spawn(async move {
            // Count what is sent just before it is written, so that the peer's answer to it
            // can never be counted first (cycle 1 ends with WELCOME, before any answer).
            let sending = |batch: &[Outbound]| {
                if let Some((realm, me)) = hook.get()
                    && let Some(stats) = &me.stats
                {
                    let sizes = batch.iter().filter_map(|o| match o {
                        Outbound::Message(b) => Some((b.len(), true)),
                        Outbound::Passive(b) => Some((b.len(), false)),
                        _ => None,
                    });
                    stats.count(Direction::Tx, sizes, |c| realm.publish_stats(me, c));
                }
            };
            let written = |batch: &[Outbound]| accounting.written(batch);
            if let Err(e) = wamp::transport::run_writer(writer, rx, sending, written).await {
                tracing::debug!("writer ended: {e}");
            }
        })
    };
    // The handshake, the ending and the final flush run once per session: boxed, they take
    // memory only while they run, not in the task an idle session keeps (see `idle_heap`).
    let handshake = Box::pin(handshake(
        &mut reader,
        &out,
        &info,
        &router,
        &listener,
        &hook,
        opened,
    ));
    let joined = tokio::select! {
        j = tokio::time::timeout(router.options.hello_timeout, handshake) => {
            j.unwrap_or_else(|_| {
                tracing::warn!(peer = %info.peer, "no HELLO within {:?}; closing", router.options.hello_timeout);
                queue(&out, &info, &Message::abort("wamp.error.protocol_violation", "no HELLO in time"));
                None
            })
        }
        _ = router.shutdown.cancelled() => None,
    };
    let Some((realm, me)) = joined else {
        Box::pin(finish_writer(
            out,
            writer_task,
            router.options.goodbye_timeout,
        ))
        .await;
        return;
    };
    let Some(role) = realm.role(&me.authrole) else {
        // Checked in the handshake; a realm's roles do not change.
        realm.detach(me.id);
        return;
    };
    let started = Instant::now();
    tracing::info!(
        session = me.id,
        realm = realm.name(),
        authid = %me.authid,
        authrole = %me.authrole,
        transport = info.framing.name(),
        serializer = info.serializer.name(),
        peer = %info.peer,
        "session joined"
    );
    let mut s = Established {
        realm: &realm,
        me: &me,
        role,
        out: &out,
        options: &router.options,
        subscriptions: HashSet::new(),
        registrations: 0,
    };
    let end = s.run(&mut reader, &router).await;
    // Leave the broker and dealer first: nothing may be queued after GOODBYE, and no call may
    // be routed to a session that is going.
    realm.detach(me.id);
    let graceful = Box::pin(s.end(end, &mut reader, &router)).await;
    if graceful {
        Box::pin(finish_writer(
            out,
            writer_task,
            router.options.goodbye_timeout,
        ))
        .await;
    } else {
        writer_task.abort();
        let _ = writer_task.await;
    }
    // The writer is done: the last cycle holds everything that was sent, and nothing follows.
    if let Some(stats) = &me.stats
        && let Some(last) = stats.finish()
    {
        realm.publish_stats(&me, &last);
    }
    realm.publish_leave(&me);
    tracing::info!(session = me.id, realm = realm.name(), duration = ?started.elapsed(), "session left");
}

/// Encodes and queues a message on a session's own queue (no waiting).
fn queue(out: &Outbox, info: &TransportInfo, m: &Message) {
    if let Ok(b) = wamp::encode(info.serializer, m) {
        let _ = out.push(Outbound::Message(b));
    }
}

/// Lets the writer send what is queued, then close the connection.
async fn finish_writer(out: Outbox, mut writer: JoinHandle<()>, within: Duration) {
    let queued = out.push(Outbound::Close).is_ok();
    drop(out);
    if !queued || tokio::time::timeout(within, &mut writer).await.is_err() {
        writer.abort();
        let _ = writer.await;
    }
}

/// Waits for HELLO and answers WELCOME or ABORT.
async fn handshake(
    reader: &mut FrameReader,
    out: &Outbox,
    info: &TransportInfo,
    router: &Shared,
    listener: &ListenerSettings,
    hook: &WriterHook,
    opened: (Instant, SystemTime),
) -> Option<(Arc<Realm>, Arc<SessionHandle>)> {
    let abort = |reason: &str, message: String| {
        tracing::warn!(peer = %info.peer, reason, "refusing session: {message}");
        queue(out, info, &Message::abort(reason, message));
        None
    };
    let frame = loop {
        match reader.next().await? {
            Ok(Inbound::Message(b)) => break b,
            Ok(Inbound::Ping(p)) => {
                let _ = out.push(Outbound::Pong(p));
            }
            Err(e) => return transport_failure(out, info, e),
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
            out.clone(),
        )
    });
    // From now on the writer counts what it sends (WELCOME first; with trigger_on_join the
    // first cycle ends right after it, so on_join goes out before it).
    realm.publish_join(&me);
    // Counting starts with the transport: HELLO is in the first cycle.
    if let Some(stats) = &me.stats {
        stats.count(Direction::Rx, [(frame.len(), true)], |c| {
            realm.publish_stats(&me, c)
        });
    }
    let _ = hook.set((Arc::clone(realm), Arc::clone(&me)));
    let welcome = Message::Welcome {
        session: me.id,
        details: welcome_details(realm.name(), &me),
    };
    queue(out, info, &welcome);
    Some((Arc::clone(realm), me))
}

fn transport_failure<T>(out: &Outbox, info: &TransportInfo, e: TransportError) -> Option<T> {
    if let TransportError::TooLarge { .. } = e {
        tracing::warn!(peer = %info.peer, "{e}; aborting");
        queue(
            out,
            info,
            &Message::abort("wamp.error.protocol_violation", e.to_string()),
        );
    } else {
        tracing::debug!(peer = %info.peer, "transport ended: {e}");
    }
    None
}

/// An authid like Crossbar's anonymous ones: six groups of four, e.g. `5UR5-7FTV-3X4K-779F-V59L-NSAE`.
pub fn random_authid() -> String {
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

/// A joined session's message handling.
struct Established<'a> {
    realm: &'a Arc<Realm>,
    me: &'a Arc<SessionHandle>,
    role: &'a RoleConfig,
    out: &'a Outbox,
    options: &'a RouterOptions,
    /// The subscriptions this session holds (bounded by `max_subscriptions`).
    subscriptions: HashSet<Id>,
    /// How many registrations it holds (bounded by `max_registrations`).
    registrations: usize,
}

/// Whether to go on after a message.
enum Flow {
    Continue,
    End(End),
}

impl Established<'_> {
    async fn run(&mut self, reader: &mut FrameReader, router: &Shared) -> End {
        let close = self.me.close_requested();
        tokio::pin!(close);
        let shutdown = router.shutdown.cancelled();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                frame = reader.next() => match frame {
                    Some(Ok(Inbound::Message(b))) => {
                        if let Flow::End(end) = self.on_frame(b) {
                            return end;
                        }
                    }
                    Some(Ok(Inbound::Ping(p))) => {
                        let _ = self.out.push(Outbound::Pong(p));
                    }
                    Some(Err(e @ TransportError::TooLarge { .. })) => {
                        return self.violation(e.to_string());
                    }
                    Some(Err(e)) => return End::Transport(e.to_string()),
                    None => return End::Transport("connection closed by the peer".into()),
                },
                reason = &mut close => return End::Closed(reason),
                _ = &mut shutdown => return End::Closed(CloseReason::Shutdown),
            }
        }
    }

    /// Says goodbye as the ending requires; returns whether the connection may close
    /// gracefully (flushing what is queued) rather than at once.
    async fn end(&mut self, end: End, reader: &mut FrameReader, router: &Shared) -> bool {
        let id = self.me.id;
        match end {
            End::Goodbye(reason) => {
                tracing::debug!(session = id, "client said goodbye ({reason})");
                self.send(&Message::Goodbye {
                    details: Dict::new(),
                    reason: "wamp.close.goodbye_and_out".into(),
                });
                true
            }
            End::ClientAbort(reason) => {
                tracing::info!(session = id, "client aborted ({reason})");
                true
            }
            End::Violation => true,
            End::Transport(why) => {
                tracing::debug!(session = id, "transport ended: {why}");
                false
            }
            End::Closed(CloseReason::SlowConsumer) => {
                tracing::warn!(
                    session = id,
                    peer = %self.me.transport.peer,
                    "closing a slow consumer: its outbound queue of {} messages is full",
                    router.options.outbound_queue
                );
                false
            }
            End::Closed(CloseReason::Shutdown) => {
                self.say_goodbye("wamp.close.system_shutdown", None, reader, router)
                    .await;
                true
            }
            End::Closed(CloseReason::Killed { reason, message }) => {
                self.say_goodbye(&reason, message, reader, router).await;
                true
            }
        }
    }

    /// Sends GOODBYE and waits (bounded) for the client's GOODBYE in return.
    async fn say_goodbye(
        &self,
        reason: &str,
        message: Option<String>,
        reader: &mut FrameReader,
        router: &Shared,
    ) {
        let details = message.map_or_else(Dict::new, |m| dict! {"message" => m});
        self.send(&Message::Goodbye {
            details,
            reason: reason.to_owned(),
        });
        let ser = self.me.serializer();
        let wait = async {
            while let Some(Ok(frame)) = reader.next().await {
                if let Inbound::Message(b) = frame {
                    self.count_rx(b.len());
                    if let Ok(Message::Goodbye { .. }) = wamp::decode(ser, &b) {
                        return;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(router.options.goodbye_timeout, wait).await;
    }

    fn send(&self, m: &Message) {
        // A reply that cannot be queued means this very session is closing (or its peer
        // cannot take a message this large, which the dealer already turned into an error).
        let _ = self.me.send(m);
    }

    fn error(&self, request_type: u64, request: Id, error: &str, message: String) {
        self.send(&Message::error(request_type, request, error, Some(message)));
    }

    fn refusal(&self, request_type: u64, request: Id, r: Refusal) {
        self.error(request_type, request, r.error, r.message);
    }

    fn violation(&self, message: String) -> End {
        tracing::warn!(session = self.me.id, peer = %self.me.transport.peer, "protocol violation: {message}");
        self.send(&Message::abort("wamp.error.protocol_violation", message));
        End::Violation
    }

    fn uri_ok(&self, uri: &str, policy: MatchPolicy) -> bool {
        match self.realm.config.uri_check {
            UriCheck::Loose => true,
            UriCheck::Strict => wamp::uri::is_valid_pattern(uri, policy, WampUriCheck::Strict),
        }
    }

    /// Counts a received message for the session's statistics.
    fn count_rx(&self, len: usize) {
        if let Some(stats) = &self.me.stats {
            stats.count(Direction::Rx, [(len, true)], |c| {
                self.realm.publish_stats(self.me, c)
            });
        }
    }

    fn on_frame(&mut self, frame: Bytes) -> Flow {
        self.count_rx(frame.len());
        let m = match wamp::decode(self.me.serializer(), &frame) {
            Ok(m) => m,
            Err(DecodeError::InvalidUri {
                code,
                request: Some(request),
                uri,
                message,
                ..
            }) => {
                self.error(
                    code,
                    request,
                    "wamp.error.invalid_uri",
                    format!("invalid URI {uri:?} in {message}"),
                );
                return Flow::Continue;
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
                return Flow::Continue;
            }
            Err(e) => return Flow::End(self.violation(e.to_string())),
        };
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
            } => self.on_call(request, &options, &procedure, &payload),
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
            } => {
                self.realm
                    .dealer
                    .yield_result(self.me.id, request, &options, payload);
            }
            Message::Error {
                request_type: code::INVOCATION,
                request,
                details,
                error,
                payload,
            } => {
                self.realm
                    .dealer
                    .yield_error(self.me.id, request, details, error, payload);
            }
            Message::Cancel { request, options } => match options.get("mode") {
                None => self
                    .realm
                    .dealer
                    .cancel(self.me, request, CancelMode::KillNoWait),
                Some(v) => match v.as_str().and_then(CancelMode::parse) {
                    Some(mode) => self.realm.dealer.cancel(self.me, request, mode),
                    None => self.error(
                        code::CANCEL,
                        request,
                        "wamp.error.invalid_argument",
                        format!("mode must be skip, kill or killnowait, got {v:?}"),
                    ),
                },
            },
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

    fn on_publish(&self, request: Id, options: &Dict, topic: &str, payload: &Payload) {
        let ack = options.get("acknowledge").and_then(Value::as_bool) == Some(true);
        let refuse = |error: &str, message: String| {
            if ack {
                self.error(code::PUBLISH, request, error, message);
            }
        };
        if !self.uri_ok(topic, MatchPolicy::Exact) {
            return refuse(
                "wamp.error.invalid_uri",
                format!("{topic:?} is not a strict URI"),
            );
        }
        if topic.starts_with("wamp.") {
            return refuse(
                "wamp.error.invalid_uri",
                format!("{topic:?}: the wamp. namespace is the router's"),
            );
        }
        let Some(perm) = auth::authorize(self.role, topic, Action::Publish) else {
            return refuse(
                "wamp.error.not_authorized",
                self.denied(Action::Publish, topic),
            );
        };
        let p = Publication {
            topic,
            payload,
            exclude_me: options
                .get("exclude_me")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            disclose: perm.disclose.publisher
                || options.get("disclose_me").and_then(Value::as_bool) == Some(true),
            filter: Filter::from_options(options),
            passive: false,
        };
        let publication = self.realm.broker.publish(&Identity::from(&**self.me), &p);
        if ack {
            self.send(&Message::Published {
                request,
                publication,
            });
        }
    }

    fn denied(&self, action: Action, uri: &str) -> String {
        format!(
            "role {:?} is not allowed to {} {uri:?}",
            self.me.authrole,
            action.name()
        )
    }

    fn match_policy(&self, request_type: u64, request: Id, options: &Dict) -> Option<MatchPolicy> {
        match options.get("match") {
            None => Some(MatchPolicy::Exact),
            Some(v) => {
                let p = v.as_str().and_then(MatchPolicy::parse);
                if p.is_none() {
                    self.error(
                        request_type,
                        request,
                        "wamp.error.invalid_argument",
                        format!("match must be \"exact\", \"prefix\" or \"wildcard\", got {v:?}"),
                    );
                }
                p
            }
        }
    }

    fn on_subscribe(&mut self, request: Id, options: &Dict, topic: &str) {
        let Some(policy) = self.match_policy(code::SUBSCRIBE, request, options) else {
            return;
        };
        if !self.uri_ok(topic, policy) {
            return self.error(
                code::SUBSCRIBE,
                request,
                "wamp.error.invalid_uri",
                format!("{topic:?} is not a strict URI"),
            );
        }
        if auth::authorize(self.role, topic, Action::Subscribe).is_none() {
            return self.error(
                code::SUBSCRIBE,
                request,
                "wamp.error.not_authorized",
                self.denied(Action::Subscribe, topic),
            );
        }
        if self.subscriptions.len() >= self.options.max_subscriptions
            && self
                .realm
                .broker
                .lookup(topic, policy)
                .is_none_or(|id| !self.subscriptions.contains(&id))
        {
            return self.error(
                code::SUBSCRIBE,
                request,
                LIMIT_EXCEEDED,
                format!(
                    "this session already holds {} subscriptions, the most allowed",
                    self.subscriptions.len()
                ),
            );
        }
        let s = self.realm.broker.subscribe(self.me, topic, policy);
        self.subscriptions.insert(s.id);
        self.send(&Message::Subscribed {
            request,
            subscription: s.id,
        });
        self.realm.publish_subscribed(self.me.id, s.id, s.created);
    }

    fn on_unsubscribe(&mut self, request: Id, subscription: Id) {
        match self.realm.broker.unsubscribe(self.me.id, subscription) {
            Some(u) => {
                self.subscriptions.remove(&u.id);
                self.send(&Message::Unsubscribed { request });
                self.realm
                    .publish_unsubscribed(self.me.id, u.id, &u.uri, u.deleted);
            }
            None => self.error(
                code::UNSUBSCRIBE,
                request,
                "wamp.error.no_such_subscription",
                format!("this session has no subscription {subscription}"),
            ),
        }
    }

    fn on_call(&self, request: Id, options: &Dict, procedure: &str, payload: &Payload) {
        if !self.uri_ok(procedure, MatchPolicy::Exact) {
            return self.error(
                code::CALL,
                request,
                "wamp.error.invalid_uri",
                format!("{procedure:?} is not a strict URI"),
            );
        }
        let Some(perm) = auth::authorize(self.role, procedure, Action::Call) else {
            return self.error(
                code::CALL,
                request,
                "wamp.error.not_authorized",
                self.denied(Action::Call, procedure),
            );
        };
        if let Some(answer) = meta_api::call(self.realm, self.me, procedure, payload) {
            return match answer {
                Ok(payload) => self.send(&Message::Result {
                    request,
                    details: Dict::new(),
                    payload,
                }),
                Err(e) => self.error(code::CALL, request, e.error, e.message),
            };
        }
        let call = Call {
            request,
            procedure,
            payload,
            disclose: perm.disclose.caller
                || options.get("disclose_me").and_then(Value::as_bool) == Some(true),
            receive_progress: options.get("receive_progress").and_then(Value::as_bool)
                == Some(true),
            max_pending: self.options.max_pending_calls,
        };
        if let Err(r) = self.realm.dealer.call(self.me, &call) {
            self.refusal(code::CALL, request, r);
        }
    }

    fn on_register(&mut self, request: Id, options: &Dict, procedure: &str) {
        let Some(policy) = self.match_policy(code::REGISTER, request, options) else {
            return;
        };
        let invoke = match options.get("invoke") {
            None => InvokePolicy::Single,
            Some(v) => {
                match v.as_str().and_then(InvokePolicy::parse) {
                    Some(i) => i,
                    None => {
                        return self.error(
                        code::REGISTER,
                        request,
                        "wamp.error.invalid_argument",
                        format!("invoke must be single, roundrobin, random, first or last, got {v:?}"),
                    );
                    }
                }
            }
        };
        if !self.uri_ok(procedure, policy) {
            return self.error(
                code::REGISTER,
                request,
                "wamp.error.invalid_uri",
                format!("{procedure:?} is not a strict URI"),
            );
        }
        if procedure.starts_with("wamp.") {
            return self.error(
                code::REGISTER,
                request,
                "wamp.error.invalid_uri",
                format!("{procedure:?}: the wamp. namespace is the router's"),
            );
        }
        if auth::authorize(self.role, procedure, Action::Register).is_none() {
            return self.error(
                code::REGISTER,
                request,
                "wamp.error.not_authorized",
                self.denied(Action::Register, procedure),
            );
        }
        if self.registrations >= self.options.max_registrations {
            return self.error(
                code::REGISTER,
                request,
                LIMIT_EXCEEDED,
                format!(
                    "this session already holds {} registrations, the most allowed",
                    self.registrations
                ),
            );
        }
        match self
            .realm
            .dealer
            .register(self.me, procedure, policy, invoke)
        {
            Ok(r) => {
                self.registrations += 1;
                self.send(&Message::Registered {
                    request,
                    registration: r.id,
                });
                self.realm.publish_registered(self.me.id, r.id, r.created);
            }
            Err(r) => self.refusal(code::REGISTER, request, r),
        }
    }

    fn on_unregister(&mut self, request: Id, registration: Id) {
        match self.realm.dealer.unregister(self.me.id, registration) {
            Some(deleted) => {
                self.registrations = self.registrations.saturating_sub(1);
                self.send(&Message::Unregistered { request });
                self.realm
                    .publish_unregistered(self.me.id, registration, deleted);
            }
            None => self.error(
                code::UNREGISTER,
                request,
                "wamp.error.no_such_registration",
                format!("this session has no registration {registration}"),
            ),
        }
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
