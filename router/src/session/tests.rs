//! The message core without sockets: messages go into [`Joined`], and the test reads the exact
//! bytes queued on the session's outbox — every refusal path of every request.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use wamp::transport::Outbound;
use wamp::{Dict, Id, Message, Payload, dict};

use super::End;
use super::dispatch::{Flow, Joined};
use crate::config::{Allow, Disclose, MatchPolicy, Permission, RealmConfig, RoleConfig, UriCheck};
use crate::limits::Limits;
use crate::realm::Realm;
use crate::session_handle::testing::handle;
use crate::session_handle::{CalleeFeatures, SessionHandle};

const ALL: Allow = Allow {
    call: true,
    register: true,
    publish: true,
    subscribe: true,
};

const ROOMY: Limits = Limits {
    subscriptions: 100,
    registrations: 100,
    calls: 100,
    uri_length: 64,
};

fn permission(uri: &str, match_policy: MatchPolicy, allow: Allow) -> Permission {
    Permission {
        uri: uri.into(),
        match_policy,
        allow,
        disclose: Disclose::default(),
    }
}

/// A realm whose role `user` has `permissions`.
fn realm(uri_check: UriCheck, permissions: Vec<Permission>) -> Arc<Realm> {
    Arc::new(Realm::new(
        RealmConfig {
            roles: vec![RoleConfig {
                name: "user".into(),
                permissions,
            }],
            uri_check,
            ..RealmConfig::named("realm1")
        },
        None,
    ))
}

/// A realm where `user` may do everything.
fn open_realm() -> Arc<Realm> {
    realm(
        UriCheck::Loose,
        vec![permission("", MatchPolicy::Prefix, ALL)],
    )
}

/// A session of role `user` joined to `realm`, and what is queued to it.
struct Client {
    realm: Arc<Realm>,
    me: Arc<SessionHandle>,
    queued: mpsc::Receiver<Outbound>,
}

impl Client {
    fn join(realm: &Arc<Realm>, limits: Limits) -> Client {
        let mut queued = None;
        let me = realm
            .attach(wamp::id::random_id(), "", |id| {
                let (h, rx) = handle(id, "user", CalleeFeatures::default(), limits);
                queued = Some(rx);
                h
            })
            .expect("no session limits");
        Client {
            realm: Arc::clone(realm),
            me,
            queued: queued.expect("attach calls make"),
        }
    }

    /// Hands `m` to the session's message core.
    fn send(&self, m: Message) -> Flow {
        self.core().on_message(m)
    }

    /// Hands a raw frame to the session's message core.
    fn send_frame(&self, frame: &str) -> Flow {
        self.core()
            .on_frame(Bytes::copy_from_slice(frame.as_bytes()))
    }

    fn core(&self) -> Joined<'_> {
        Joined {
            realm: &self.realm,
            me: &self.me,
            role: self.realm.role("user").expect("the role user"),
        }
    }

    /// The next message queued to the client, as the JSON text it would read.
    fn next(&mut self) -> String {
        match self.queued.try_recv() {
            Ok(Outbound::Message(b)) => String::from_utf8(b.to_vec()).expect("JSON"),
            other => panic!("expected a queued message, got {other:?}"),
        }
    }

    /// The one message queued in answer to what `flow` came from (the session going on).
    fn answer(&mut self, flow: Flow) -> String {
        continues(flow);
        self.next()
    }

    /// Whether nothing is queued to the client.
    fn nothing_queued(&mut self) -> bool {
        self.queued.try_recv().is_err()
    }

    fn subscribe(&self, request: Id, topic: &str, options: Dict) -> Flow {
        self.send(Message::Subscribe {
            request,
            options,
            topic: topic.into(),
        })
    }

    fn register(&self, request: Id, procedure: &str, options: Dict) -> Flow {
        self.send(Message::Register {
            request,
            options,
            procedure: procedure.into(),
        })
    }

    fn call(&self, request: Id, procedure: &str) -> Flow {
        self.send(Message::Call {
            request,
            options: Dict::new(),
            procedure: procedure.into(),
            payload: Payload::empty(),
        })
    }

    /// The request of type `code` (PUBLISH acknowledged, SUBSCRIBE, CALL, REGISTER) on `uri`.
    fn request(&self, code: u64, request: Id, uri: &str) -> Flow {
        match code {
            16 => self.publish(request, uri, true),
            32 => self.subscribe(request, uri, Dict::new()),
            48 => self.call(request, uri),
            _ => self.register(request, uri, Dict::new()),
        }
    }

    fn publish(&self, request: Id, topic: &str, acknowledge: bool) -> Flow {
        self.send(Message::Publish {
            request,
            options: dict! {"acknowledge" => acknowledge},
            topic: topic.into(),
            payload: Payload::empty(),
        })
    }
}

/// Element `i` of a queued message, as an id.
fn id_at(message: &str, i: usize) -> Id {
    let v: serde_json::Value = serde_json::from_str(message).expect("JSON");
    v[i].as_u64().expect("an id")
}

fn continues(f: Flow) {
    assert!(matches!(f, Flow::Continue), "the session must go on");
}

#[test]
fn strict_realms_refuse_uris_that_are_not_strict_for_every_request() {
    let r = realm(
        UriCheck::Strict,
        vec![permission("", MatchPolicy::Prefix, ALL)],
    );
    let mut c = Client::join(&r, ROOMY);
    for (request, code) in [(1, 16), (2, 32), (3, 48), (4, 64)] {
        assert_eq!(
            c.answer(c.request(code, request, "com.Example")),
            format!(
                r#"[8,{code},{request},{{}},"wamp.error.invalid_uri",["\"com.Example\" is not a strict URI"]]"#
            )
        );
    }
    // A pattern is checked as a pattern: empty components are fine, upper case is not.
    assert!(
        c.answer(c.subscribe(5, "com..x", dict! {"match" => "wildcard"}))
            .starts_with("[33,5,"),
        "SUBSCRIBED"
    );
    continues(c.subscribe(6, "com.X.", dict! {"match" => "prefix"}));
    assert!(
        c.next()
            .starts_with("[8,32,6,{},\"wamp.error.invalid_uri\"")
    );
}

#[test]
fn uris_the_decoder_refuses_are_answered_with_invalid_uri_and_the_session_goes_on() {
    let mut c = Client::join(&open_realm(), ROOMY);
    assert_eq!(
        c.answer(c.send_frame(r#"[32,7,{},"com.a b"]"#)),
        r#"[8,32,7,{},"wamp.error.invalid_uri",["invalid URI \"com.a b\" in SUBSCRIBE"]]"#
    );
    // A publication nobody acknowledges is dropped without a word.
    continues(c.send_frame(r#"[16,8,{},"com.a b"]"#));
    assert!(c.nothing_queued());
}

#[test]
fn only_the_router_publishes_and_registers_in_the_wamp_namespace() {
    let mut c = Client::join(&open_realm(), ROOMY);
    assert_eq!(
        c.answer(c.publish(1, "wamp.session.on_join", true)),
        r#"[8,16,1,{},"wamp.error.invalid_uri",["\"wamp.session.on_join\": the wamp. namespace is the router's"]]"#
    );
    assert_eq!(
        c.answer(c.register(2, "wamp.session.count", Dict::new())),
        r#"[8,64,2,{},"wamp.error.invalid_uri",["\"wamp.session.count\": the wamp. namespace is the router's"]]"#
    );
    // Subscribing there (a monitor) and calling there (the meta API) are fine.
    assert!(
        c.answer(c.subscribe(3, "wamp.session.on_join", Dict::new()))
            .starts_with("[33,3,"),
        "SUBSCRIBED"
    );
    continues(c.call(4, "wamp.session.count"));
    assert_eq!(c.next(), "[50,4,{},[1]]");
}

#[test]
fn what_the_role_does_not_allow_is_not_authorized() {
    let subscribe_only = Allow {
        subscribe: true,
        ..Allow::default()
    };
    let r = realm(
        UriCheck::Loose,
        vec![
            permission("com.", MatchPolicy::Prefix, subscribe_only),
            permission("com.open", MatchPolicy::Exact, ALL),
        ],
    );
    let mut c = Client::join(&r, ROOMY);
    assert_eq!(
        c.answer(c.publish(1, "com.x", true)),
        r#"[8,16,1,{},"wamp.error.not_authorized",["role \"user\" is not allowed to publish \"com.x\""]]"#
    );
    assert_eq!(
        c.answer(c.call(2, "com.x")),
        r#"[8,48,2,{},"wamp.error.not_authorized",["role \"user\" is not allowed to call \"com.x\""]]"#
    );
    assert_eq!(
        c.answer(c.register(3, "com.x", Dict::new())),
        r#"[8,64,3,{},"wamp.error.not_authorized",["role \"user\" is not allowed to register \"com.x\""]]"#
    );
    assert_eq!(
        c.answer(c.subscribe(4, "org.x", Dict::new())),
        r#"[8,32,4,{},"wamp.error.not_authorized",["role \"user\" is not allowed to subscribe \"org.x\""]]"#
    );
    assert!(
        c.answer(c.subscribe(5, "com.x", Dict::new()))
            .starts_with("[33,5,"),
        "SUBSCRIBED"
    );
    assert!(
        c.answer(c.publish(6, "com.open", true))
            .starts_with("[17,6,"),
        "PUBLISHED"
    );
}

#[test]
fn an_unacknowledged_publication_is_refused_in_silence() {
    let r = realm(UriCheck::Strict, vec![]);
    let mut c = Client::join(&r, ROOMY);
    continues(c.publish(1, "com.x", false));
    continues(c.publish(2, "com.X", false));
    continues(c.publish(3, "wamp.x", false));
    assert!(c.nothing_queued());
}

#[test]
fn each_limit_refuses_one_more_and_gives_way_when_something_goes() {
    let r = open_realm();
    let limits = Limits {
        subscriptions: 1,
        registrations: 1,
        calls: 1,
        ..ROOMY
    };
    let mut c = Client::join(&r, limits);
    continues(c.subscribe(1, "com.a", Dict::new()));
    let subscribed = c.next();
    assert_eq!(
        c.answer(c.subscribe(2, "com.b", Dict::new())),
        r#"[8,32,2,{},"wampstat.error.limit_exceeded",["this session already holds 1 subscriptions, the most allowed"]]"#
    );
    // Subscribing again to what it holds is not a new subscription.
    continues(c.subscribe(3, "com.a", Dict::new()));
    assert_eq!(c.next(), subscribed.replace("[33,1,", "[33,3,"));
    let subscription = id_at(&subscribed, 2);
    continues(c.send(Message::Unsubscribe {
        request: 4,
        subscription,
    }));
    assert_eq!(c.next(), "[35,4]");
    assert!(
        c.answer(c.subscribe(5, "com.b", Dict::new()))
            .starts_with("[33,5,"),
        "SUBSCRIBED"
    );

    assert!(
        c.answer(c.register(6, "com.p1", Dict::new()))
            .starts_with("[65,6,"),
        "REGISTERED"
    );
    assert_eq!(
        c.answer(c.register(7, "com.p2", Dict::new())),
        r#"[8,64,7,{},"wampstat.error.limit_exceeded",["this session already holds 1 registrations, the most allowed"]]"#
    );

    let mut callee = Client::join(&r, ROOMY);
    assert!(
        callee
            .answer(callee.register(1, "com.hold", Dict::new()))
            .starts_with("[65,1,"),
        "REGISTERED"
    );
    continues(c.call(8, "com.hold"));
    let invocation = callee.next();
    assert!(invocation.starts_with("[68,"), "INVOCATION: {invocation}");
    assert_eq!(
        c.answer(c.call(9, "com.hold")),
        r#"[8,48,9,{},"wampstat.error.limit_exceeded",["this session already has 1 calls in progress, the most allowed"]]"#
    );
    let request = id_at(&invocation, 1);
    continues(callee.send(Message::Yield {
        request,
        options: Dict::new(),
        payload: Payload::empty(),
    }));
    assert_eq!(c.next(), "[50,8,{}]");
    // With the call answered, calling works again.
    continues(c.call(10, "com.hold"));
    assert!(callee.next().starts_with("[68,"), "INVOCATION");
    assert!(c.nothing_queued());
}

#[test]
fn an_unknown_procedure_takes_nothing_of_the_callers_allowance() {
    let one_call = Limits { calls: 1, ..ROOMY };
    let mut c = Client::join(&open_realm(), one_call);
    for request in 1..=3 {
        assert_eq!(
            c.answer(c.call(request, "com.nobody")),
            format!(
                r#"[8,48,{request},{{}},"wamp.error.no_such_procedure",["no callee registered procedure \"com.nobody\""]]"#
            )
        );
    }
}

#[test]
fn a_wrongly_typed_option_ends_the_session_with_an_abort_naming_it() {
    type Send = Box<dyn Fn(&Client) -> Flow>;
    let cases: Vec<(Send, &str)> = vec![
        (
            Box::new(|c| c.subscribe(1, "com.a", dict! {"match" => "fuzzy"})),
            "SUBSCRIBE.Options.match must be one of exact, prefix, wildcard, got \\\"fuzzy\\\"",
        ),
        (
            Box::new(|c| c.register(2, "com.a", dict! {"match" => 3})),
            "REGISTER.Options.match must be one of exact, prefix, wildcard, got 3",
        ),
        (
            Box::new(|c| c.register(3, "com.a", dict! {"invoke" => "sometimes"})),
            "REGISTER.Options.invoke must be one of single, roundrobin, random, first, last, got \\\"sometimes\\\"",
        ),
        (
            Box::new(|c| {
                c.send(Message::Cancel {
                    request: 4,
                    options: dict! {"mode" => "maybe"},
                })
            }),
            "CANCEL.Options.mode must be one of skip, kill, killnowait, got \\\"maybe\\\"",
        ),
    ];
    for (send, problem) in cases {
        let mut c = Client::join(&open_realm(), ROOMY);
        let flow = send(&c);
        assert!(matches!(flow, Flow::End(End::Violation)), "{problem}");
        assert_eq!(
            c.next(),
            format!(r#"[3,{{"message":"{problem}"}},"wamp.error.protocol_violation"]"#)
        );
    }
}

#[test]
fn unsubscribing_or_unregistering_what_it_does_not_hold_is_refused() {
    let r = open_realm();
    let mut a = Client::join(&r, ROOMY);
    let mut b = Client::join(&r, ROOMY);
    continues(b.register(1, "com.p", Dict::new()));
    let registered = b.next();
    let registration = id_at(&registered, 2);
    assert_eq!(
        a.answer(a.send(Message::Unregister {
            request: 2,
            registration,
        })),
        format!(
            r#"[8,66,2,{{}},"wamp.error.no_such_registration",["this session has no registration {registration}"]]"#
        )
    );
    assert_eq!(
        a.answer(a.send(Message::Unsubscribe {
            request: 3,
            subscription: 99,
        })),
        r#"[8,34,3,{},"wamp.error.no_such_subscription",["this session has no subscription 99"]]"#
    );
    assert!(b.nothing_queued(), "the other session hears nothing");
}

#[test]
fn messages_a_client_may_not_send_and_malformed_frames_end_the_session_with_abort() {
    let mut c = Client::join(&open_realm(), ROOMY);
    let flow = c.send(Message::Welcome {
        session: 1,
        details: Dict::new(),
    });
    assert!(matches!(flow, Flow::End(End::Violation)));
    assert_eq!(
        c.next(),
        r#"[3,{"message":"WELCOME is not a message a client may send here"},"wamp.error.protocol_violation"]"#
    );
    let flow = c.send_frame("[16,");
    assert!(matches!(flow, Flow::End(End::Violation)));
    assert!(c.next().starts_with(r#"[3,{"message":"#), "ABORT");
    let flow = c.send(Message::Goodbye {
        details: Dict::new(),
        reason: "wamp.close.normal".into(),
    });
    assert!(matches!(flow, Flow::End(End::Goodbye(reason)) if reason == "wamp.close.normal"));
    assert!(c.nothing_queued(), "the GOODBYE reply is the ending's");
}

#[test]
fn uris_longer_than_the_limit_are_invalid_for_every_request() {
    let mut c = Client::join(&open_realm(), ROOMY);
    let long = format!("com.{}", "x".repeat(61));
    let refused = |code: u64, request: u64| {
        format!(
            r#"[8,{code},{request},{{}},"wamp.error.invalid_uri",["the URI is 65 bytes long, more than the 64 allowed"]]"#
        )
    };
    for (request, code) in [(1, 16), (2, 32), (3, 48), (4, 64)] {
        assert_eq!(
            c.answer(c.request(code, request, &long)),
            refused(code, request)
        );
    }
    // At the limit is fine.
    assert!(
        c.answer(c.subscribe(5, &long[1..], Dict::new()))
            .starts_with("[33,5,")
    );
}

#[test]
fn keepalive_pings_after_silence_and_gives_up_after_an_unanswered_ping() {
    use super::{Look, Silence};
    let mut s = Silence::default();
    assert_eq!(s.look(), Look::Silent, "nothing came: ping");
    assert_eq!(s.look(), Look::Unanswered, "still nothing: gone");
    let mut s = Silence::default();
    assert_eq!(s.look(), Look::Silent);
    s.frames += 1; // the pong
    assert_eq!(s.look(), Look::Alive);
    assert_eq!(s.look(), Look::Silent, "silent again: another ping");
    assert_eq!(&s.ping_payload(8)[..], &[0, 0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(&s.ping_payload(4)[..], &[0, 0, 0, 2]);
}

/// `max_sessions` is checked under the lock that adds the session: of many concurrent joins,
/// exactly the limit's number get in; one leaving makes room for one more.
#[test]
fn concurrent_attaches_never_exceed_max_sessions() {
    let mut config = open_realm().config.clone();
    config.max_sessions = Some(3);
    let realm = Arc::new(Realm::new(config, None));
    let start = Arc::new(std::sync::Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (realm, start) = (Arc::clone(&realm), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                realm.attach(wamp::id::random_id(), "same", |id| {
                    handle(id, "user", CalleeFeatures::default(), ROOMY).0
                })
            })
        })
        .collect();
    let joined: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("no panic"))
        .collect();
    let admitted: Vec<_> = joined.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(admitted.len(), 3);
    assert!(
        joined
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| *e == crate::realm::Full::Realm(3))
    );
    assert_eq!(realm.sessions().len(), 3);
    realm.detach(admitted[0].id);
    let again = realm.attach(wamp::id::random_id(), "same", |id| {
        handle(id, "user", CalleeFeatures::default(), ROOMY).0
    });
    assert!(again.is_ok(), "a session that left frees its place");
}

/// `wampstat.session.summary` tells TLS from plain transports (`+tls`); sockets with TLS are
/// tested elsewhere, so here a handle says it is secure.
#[test]
fn the_summary_counts_tls_transports_apart() {
    let realm = open_realm();
    let mut handles = Vec::new();
    for (secure, framing) in [
        (true, wamp::transport::Framing::WebSocket),
        (true, wamp::transport::Framing::RawSocket),
        (false, wamp::transport::Framing::RawSocket),
    ] {
        let h = realm
            .attach(wamp::id::random_id(), "", |id| {
                let mut h = handle(id, "user", CalleeFeatures::default(), ROOMY).0;
                h.transport.is_secure = secure;
                h.transport.framing = framing;
                h
            })
            .expect("no session limits");
        handles.push(h);
    }
    let answer = crate::meta_procedures::call(
        &realm,
        &handles[0],
        "wampstat.session.summary",
        &Payload::from_args(Vec::new()),
    )
    .expect("a meta procedure")
    .expect("answered");
    let kwargs = answer.kwargs().unwrap();
    assert_eq!(kwargs["total"], wamp::Value::from(3));
    assert_eq!(
        kwargs["by_transport"],
        wamp::Value::Dict(dict! {"rawsocket" => 1, "rawsocket+tls" => 1, "websocket+tls" => 1})
    );
    assert_eq!(
        kwargs["by_authrole"],
        wamp::Value::Dict(dict! {"user" => 3})
    );
}
