//! Our meta events and meta procedure results have the shape of Crossbar's (captured from
//! Crossbar.io 26.10.1 in `fixtures/crossbar/`): the same keys in the same order and the same
//! types, except where we deliberately differ (**[ours]**), which each test checks explicitly.

mod common;

use common::*;
use serde_json::Value as Json;
use wamp::client::Subscription;
use wamp::{Dict, Payload, Serializer, Value, dict};

/// Where our session details (on_join, wamp.session.get) deliberately differ from Crossbar's:
/// serializer is a name on every transport (Crossbar: null or an integer); channel_serializer
/// likewise (Crossbar: null on WebSocket); HTTP headers are the client's own; websocket_protocol
/// is null on RawSocket.
const SESSION_DETAILS_OURS: &[&str] = &[
    "serializer",
    "transport.channel_serializer",
    "transport.http_headers_received",
    "transport.websocket_protocol",
];

fn fixture(name: &str) -> Vec<Json> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/crossbar")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture lines are JSON"))
        .collect()
}

/// The args of the first captured event on `topic` that satisfies `pick`.
fn captured(topic: &str, pick: impl Fn(&Json) -> bool) -> Json {
    fixture("events.ndjson")
        .into_iter()
        .find(|e| e["topic"] == topic && pick(&e["args"]))
        .map(|e| e["args"].clone())
        .unwrap_or_else(|| panic!("no captured {topic}"))
}

/// The result of the first captured successful call of `procedure`.
fn captured_result(procedure: &str) -> Json {
    fixture("meta_calls.ndjson")
        .into_iter()
        .find(|c| c["procedure"] == procedure && c.get("result").is_some())
        .map(|c| c["result"].clone())
        .unwrap_or_else(|| panic!("no captured result of {procedure}"))
}

fn json(v: &Value) -> Json {
    serde_json::to_value(v).expect("values convert to JSON")
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// Compares shapes recursively: dict keys and their order, and types. `except` lists JSON
/// paths (like `transport.websocket_protocol`) whose type may differ, and whose contents are
/// not compared further.
fn same_shape(ours: &Json, theirs: &Json, path: &str, except: &[&str]) {
    if except.contains(&path) {
        return;
    }
    assert_eq!(
        kind(ours),
        kind(theirs),
        "type at {path:?}: ours {ours}, Crossbar {theirs}"
    );
    match (ours, theirs) {
        (Json::Object(a), Json::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            assert_eq!(ka, kb, "keys at {path:?}");
            for (k, v) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                same_shape(v, &b[k], &p, except);
            }
        }
        (Json::Array(a), Json::Array(b)) if !a.is_empty() && !b.is_empty() => {
            same_shape(&a[0], &b[0], &format!("{path}[]"), except);
        }
        _ => {}
    }
}

async fn next_args(sub: &mut Subscription) -> Vec<Value> {
    next_event(sub).await.payload.args().unwrap()
}

#[tokio::test]
async fn on_join_has_crossbars_shape_for_both_framings() {
    let router = start().await;
    let m = join(&router, Transport::Ws, Serializer::Json).await;
    let mut joins = subscribe(&m, "wamp.session.on_join", Dict::new()).await;
    for (transport, framing, ser) in [
        (Transport::Ws, "websocket", Serializer::Msgpack),
        (Transport::Rs, "rawsocket", Serializer::Msgpack),
        (Transport::Ws, "websocket", Serializer::Cbor),
        (Transport::Rs, "rawsocket", Serializer::Cbor),
    ] {
        let s = join(&router, transport, ser).await;
        let ours = next_args(&mut joins).await;
        let details = json(&ours[0]);
        assert_eq!(details["session"], s.id());
        let theirs = captured("wamp.session.on_join", |a| {
            a[0]["transport"]["channel_framing"] == framing
        });
        // [ours] see SESSION_DETAILS_OURS.
        same_shape(&details, &theirs[0], "", SESSION_DETAILS_OURS);
        assert_eq!(details["serializer"], ser.name());
        assert_eq!(details["transport"]["channel_serializer"], ser.name());
        assert_eq!(details["transport"]["channel_framing"], framing);
        if framing == "websocket" {
            assert_eq!(
                details["transport"]["websocket_protocol"],
                ser.subprotocol()
            );
            assert!(
                details["transport"]["http_headers_received"]["sec-websocket-protocol"].is_string()
            );
        } else {
            assert!(details["transport"]["websocket_protocol"].is_null());
        }
        assert_eq!(ours.len(), theirs.as_array().unwrap().len());
        // wamp.session.get returns the same dict.
        let got = m
            .call(
                "wamp.session.get",
                Payload::from_args(vec![s.id().into()]),
                Dict::new(),
            )
            .await
            .unwrap();
        assert_eq!(json(&got.payload.args().unwrap()[0]), details);
        s.leave("wamp.close.normal").await.unwrap();
    }
    router.shutdown().await;
}

#[tokio::test]
async fn on_stats_and_on_leave_have_crossbars_shape_plus_the_rx_tx_split() {
    let router = start().await;
    let m = join(&router, Transport::Ws, Serializer::Json).await;
    let mut stats = subscribe(&m, "wamp.session.on_stats", Dict::new()).await;
    let mut leaves = subscribe(&m, "wamp.session.on_leave", Dict::new()).await;
    let s = join(&router, Transport::Rs, Serializer::Json).await;
    let id = s.id();
    s.leave("wamp.close.normal").await.unwrap();
    let theirs = captured("wamp.session.on_stats", |a| a[1]["first"] == true);
    let mut last_seen = false;
    while !last_seen {
        let ours = next_args(&mut stats).await;
        if ours[0].get("session").and_then(Value::as_u64) != Some(id) {
            continue;
        }
        same_shape(&json(&ours[0]), &theirs[0], "info", &[]);
        // [ours] Crossbar's keys in Crossbar's order, then the split by direction and the
        // events dropped for a slow consumer.
        let ours_stats = json(&ours[1]);
        let keys: Vec<&String> = ours_stats.as_object().unwrap().keys().collect();
        let crossbar: Vec<&String> = theirs[1].as_object().unwrap().keys().collect();
        assert_eq!(keys[..crossbar.len()], crossbar[..]);
        assert_eq!(
            keys[crossbar.len()..],
            [
                "bytes_rx",
                "bytes_tx",
                "messages_rx",
                "messages_tx",
                "dropped"
            ]
        );
        for k in &crossbar {
            assert_eq!(
                kind(&ours_stats[k.as_str()]),
                kind(&theirs[1][k.as_str()]),
                "stats.{k}"
            );
        }
        last_seen = ours_stats["last"] == true;
        // [ours] the session id is there on the last event too (Crossbar: null after GOODBYE).
        assert_eq!(ours[0].get("session").and_then(Value::as_u64), Some(id));
    }
    let leave = next_args(&mut leaves).await;
    same_shape(
        &json(&Value::List(leave.clone())),
        &captured("wamp.session.on_leave", |_| true),
        "",
        &[],
    );
    assert_eq!(leave, vec![Value::from(id)]);
    router.shutdown().await;
}

#[tokio::test]
async fn subscription_and_registration_events_have_crossbars_shape() {
    let router = start().await;
    let m = join(&router, Transport::Ws, Serializer::Json).await;
    let mut subs = Vec::new();
    for t in [
        "wamp.subscription.on_create",
        "wamp.subscription.on_subscribe",
        "wamp.subscription.on_unsubscribe",
        "wamp.subscription.on_delete",
        "wamp.registration.on_create",
        "wamp.registration.on_register",
        "wamp.registration.on_unregister",
        "wamp.registration.on_delete",
    ] {
        subs.push((t, subscribe(&m, t, Dict::new()).await));
    }
    let s = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let sub = subscribe(&s, "com.example.topic", Dict::new()).await;
    s.unsubscribe(sub.id).await.unwrap();
    let reg = register(&s, "com.example.proc", Dict::new()).await;
    s.unregister(reg.id).await.unwrap();
    for (topic, sub) in &mut subs {
        let ours = next_args(sub).await;
        assert_eq!(ours[0].as_u64(), Some(s.id()), "{topic}");
        // Crossbar's on_unregister/on_delete for registrations carry a null session; ours the id.
        let theirs = captured(topic, |a| !a[0].is_null());
        same_shape(&json(&Value::List(ours)), &theirs, topic, &[]);
    }
    // No lifecycle events for the router's own wamp. URIs: the monitor's subscriptions above
    // produced none (the first event each subscription got was about `s`).
    router.shutdown().await;
}

#[tokio::test]
async fn meta_procedures_answer_like_crossbar() {
    let router = start().await;
    let m = join(&router, Transport::Ws, Serializer::Json).await;
    let helper = join(&router, Transport::Rs, Serializer::Msgpack).await;
    let exact = subscribe(&helper, "com.example.topic", Dict::new()).await;
    let prefix = subscribe(&helper, "com.example.", matching("prefix")).await;
    let reg = register(&helper, "com.example.proc2", Dict::new()).await;
    let meta = |p: &'static str, args: Vec<Value>| {
        let m = &m;
        async move { m.call(p, Payload::from_args(args), Dict::new()).await }
    };
    let result = |r: wamp::client::CallResult| {
        json(
            &r.payload
                .args()
                .unwrap()
                .into_iter()
                .next()
                .unwrap_or(Value::Null),
        )
    };
    let h = helper.id();
    let checks: Vec<(&str, Vec<Value>, Json)> = vec![
        ("wamp.session.count", vec![], Json::from(2)),
        ("wamp.session.list", vec![], Json::Null),
        ("wamp.session.get", vec![h.into()], Json::Null),
        ("wamp.subscription.list", vec![], Json::Null),
        (
            "wamp.subscription.lookup",
            vec!["com.example.topic".into()],
            Json::from(exact.id),
        ),
        (
            "wamp.subscription.match",
            vec!["com.example.topic".into()],
            Json::Null,
        ),
        ("wamp.subscription.get", vec![exact.id.into()], Json::Null),
        (
            "wamp.subscription.list_subscribers",
            vec![exact.id.into()],
            Json::from(vec![h]),
        ),
        (
            "wamp.subscription.count_subscribers",
            vec![exact.id.into()],
            Json::from(1),
        ),
        ("wamp.registration.list", vec![], Json::Null),
        (
            "wamp.registration.lookup",
            vec!["com.example.proc2".into()],
            Json::from(reg.id),
        ),
        (
            "wamp.registration.match",
            vec!["com.example.proc2".into()],
            Json::from(reg.id),
        ),
        ("wamp.registration.get", vec![reg.id.into()], Json::Null),
        (
            "wamp.registration.list_callees",
            vec![reg.id.into()],
            Json::from(vec![h]),
        ),
        (
            "wamp.registration.count_callees",
            vec![reg.id.into()],
            Json::from(1),
        ),
    ];
    for (procedure, args, expected) in checks {
        let ours = result(
            meta(procedure, args)
                .await
                .unwrap_or_else(|e| panic!("{procedure}: {e}")),
        );
        let theirs = captured_result(procedure);
        let except = if procedure == "wamp.session.get" {
            SESSION_DETAILS_OURS
        } else {
            &[]
        };
        eprintln!("checking the shape of {procedure}");
        same_shape(&ours, &theirs, "", except);
        if !expected.is_null() {
            assert_eq!(ours, expected, "{procedure}");
        }
    }
    let lookup = meta(
        "wamp.subscription.lookup",
        vec![
            "com.example.".into(),
            Value::Dict(dict! {"match" => "prefix"}),
        ],
    )
    .await
    .unwrap();
    assert_eq!(result(lookup), Json::from(prefix.id));
    let matched = result(
        meta("wamp.subscription.match", vec!["com.example.topic".into()])
            .await
            .unwrap(),
    );
    let mut ids: Vec<u64> = matched
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Json::as_u64)
        .collect();
    ids.sort_unstable();
    let mut want = vec![exact.id, prefix.id];
    want.sort_unstable();
    assert_eq!(ids, want);
    for (procedure, none) in [
        ("wamp.subscription.lookup", "com.nonexistent"),
        ("wamp.subscription.match", "com.nonexistent"),
        ("wamp.registration.match", "com.nonexistent"),
    ] {
        assert_eq!(
            result(meta(procedure, vec![none.into()]).await.unwrap()),
            Json::Null,
            "{procedure}"
        );
    }
    let listed = result(meta("wamp.subscription.list", vec![]).await.unwrap());
    assert_eq!(
        listed["exact"],
        Json::from(vec![exact.id]),
        "the monitor's wamp. subscriptions are not listed"
    );
    // Errors for unknown ids, with Crossbar's URIs.
    let operator = join_operator(&router, Transport::Rs).await;
    for (procedure, error) in [
        ("wamp.session.get", "wamp.error.no_such_session"),
        ("wamp.session.kill", "wamp.error.no_such_session"),
        ("wamp.subscription.get", "wamp.error.no_such_subscription"),
        (
            "wamp.subscription.list_subscribers",
            "wamp.error.no_such_subscription",
        ),
        (
            "wamp.subscription.count_subscribers",
            "wamp.error.no_such_subscription",
        ),
        ("wamp.registration.get", "wamp.error.no_such_registration"),
        (
            "wamp.registration.list_callees",
            "wamp.error.no_such_registration",
        ),
        (
            "wamp.registration.count_callees",
            "wamp.error.no_such_registration",
        ),
    ] {
        let e = if procedure == "wamp.session.kill" {
            // Session administration is the operator's.
            operator
                .call(
                    procedure,
                    Payload::from_args(vec![123456789.into()]),
                    Dict::new(),
                )
                .await
                .unwrap_err()
        } else {
            meta(procedure, vec![123456789.into()]).await.unwrap_err()
        };
        assert_eq!(e.wamp_error(), Some(error), "{procedure}");
    }
    assert_wamp_error(
        meta("wamp.session.get", vec!["not an id".into()]).await,
        "wamp.error.invalid_argument",
    );
    router.shutdown().await;
}

#[tokio::test]
async fn kill_by_authrole_and_the_stats_snapshot() {
    let router = start().await;
    // Session administration is the operator's.
    let m = join_operator(&router, Transport::Ws).await;
    let a = join(&router, Transport::Rs, Serializer::Json).await;
    let b = join(&router, Transport::Rs, Serializer::Msgpack).await;
    // Cycle 1 (trigger_on_join) holds HELLO and WELCOME: what the client exchanged so far.
    let t = a.traffic();
    a.publish("com.x", Payload::empty(), ack()).await.unwrap();
    // [ours] wampstat.session.stats: details plus totals since joining.
    let snap = m
        .call(
            "wampstat.session.stats",
            Payload::from_args(vec![Value::List(vec![a.id().into()])]),
            Dict::new(),
        )
        .await
        .unwrap();
    let list = snap.payload.args().unwrap()[0].as_list().unwrap().to_vec();
    assert_eq!(list.len(), 1);
    let d = list[0].as_dict().unwrap();
    assert_eq!(d.get("session").and_then(Value::as_u64), Some(a.id()));
    assert_eq!(d.get("cycle").and_then(Value::as_u64), Some(1));
    assert_eq!(
        d.get("messages_rx").and_then(Value::as_u64),
        Some(t.messages_tx)
    );
    assert_eq!(d.get("bytes_tx").and_then(Value::as_u64), Some(t.bytes_rx));
    for k in [
        "bytes",
        "messages",
        "rated_messages",
        "bytes_rx",
        "messages_tx",
        "dropped",
        "cycle",
        "joined",
    ] {
        assert!(d.get(k).and_then(Value::as_u64).is_some(), "{k}");
    }
    let all = call(&m, "wampstat.session.stats").await.unwrap();
    assert_eq!(all.payload.args().unwrap()[0].as_list().unwrap().len(), 3);
    // kill_by_authrole kills everyone with the role but the caller.
    let killed = m
        .call(
            "wamp.session.kill_by_authrole",
            Payload::from_args(vec!["anonymous".into()]),
            Dict::new(),
        )
        .await
        .unwrap();
    let mut ids: Vec<u64> = killed.payload.args().unwrap()[0]
        .as_list()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    ids.sort_unstable();
    let mut want = vec![a.id(), b.id()];
    want.sort_unstable();
    assert_eq!(ids, want);
    for s in [&a, &b] {
        assert_eq!(
            within("the kill", s.closed()).await,
            wamp::client::Closed::Goodbye("wamp.close.normal".into())
        );
    }
    let count = call(&m, "wamp.session.count").await.unwrap();
    assert_eq!(count.payload.args().unwrap(), vec![Value::from(1)]);
    router.shutdown().await;
}

#[tokio::test]
async fn the_meta_api_is_authorized_like_any_other_uri() {
    use wamp_router::config::{Allow, Permission};
    let router = start_configured(|config| {
        config.realms[0].roles[0].permissions.push(Permission {
            uri: "wamp.".into(),
            match_policy: wamp::MatchPolicy::Prefix,
            allow: Allow::default(),
            disclose: Default::default(),
        })
    })
    .await;
    let s = join(&router, Transport::Rs, Serializer::Json).await;
    let not_authorized = "wamp.error.not_authorized";
    assert_wamp_error(call(&s, "wamp.session.count").await, not_authorized);
    let on_join = s.subscribe("wamp.session.on_join", Dict::new()).await;
    assert_wamp_error(on_join, not_authorized);
    let prefix = s.subscribe("wamp.session.", matching("prefix")).await;
    assert_wamp_error(prefix, not_authorized);
    // Everything else is still allowed.
    subscribe(&s, "com.example", Dict::new()).await;
    router.shutdown().await;
}

#[tokio::test]
async fn realms_with_the_meta_api_off_have_no_meta_procedures() {
    let router = start_configured(|config| config.realms[0].enable_meta_api = false).await;
    let s = join(&router, Transport::Ws, Serializer::Json).await;
    assert_wamp_error(
        call(&s, "wamp.session.count").await,
        "wamp.error.no_such_procedure",
    );
    router.shutdown().await;
}

/// **[ours]** A browser's cookie or an `Authorization` header never reaches other sessions
/// through `wamp.session.get` (Crossbar shows them): their values are redacted, other headers
/// are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_http_headers_are_redacted_in_session_details() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::{Message as Ws, http::HeaderValue};
    let router = start().await;
    let mut request = url(&router, Transport::Ws)
        .into_client_request()
        .expect("a request");
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("wamp.2.json"),
    );
    headers.insert("cookie", HeaderValue::from_static("session=s3cr3t-cookie"));
    headers.insert(
        "authorization",
        HeaderValue::from_static("Bearer s3cr3t-token"),
    );
    headers.insert("user-agent", HeaderValue::from_static("redaction-test"));
    let (mut ws, _) = within("the upgrade", tokio_tungstenite::connect_async(request))
        .await
        .expect("upgraded");
    ws.send(Ws::text(r#"[1,"realm1",{"roles":{"caller":{}}}]"#))
        .await
        .expect("HELLO");
    let welcome = within("WELCOME", ws.next())
        .await
        .expect("a frame")
        .expect("ok");
    let welcome: Json = serde_json::from_str(welcome.to_text().expect("text")).expect("JSON");
    let id = welcome[1].as_u64().expect("the session id");
    let observer = join(&router, Transport::Rs, Serializer::Json).await;
    let got = observer
        .call(
            "wamp.session.get",
            Payload::from_args(vec![id.into()]),
            Dict::new(),
        )
        .await
        .expect("wamp.session.get");
    let details = json(&got.payload.args().expect("args")[0]);
    let h = &details["transport"]["http_headers_received"];
    assert_eq!(h["cookie"], "<redacted>", "{h}");
    assert_eq!(h["authorization"], "<redacted>", "{h}");
    assert_eq!(h["user-agent"], "redaction-test", "{h}");
    assert!(!details.to_string().contains("s3cr3t"), "{details}");
    router.shutdown().await;
}

/// In the embedded default, anonymous may use the application and the meta API, but not end
/// other sessions: `wamp.session.kill*` are the operator's (ticket principal `operator`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_default_only_the_operator_may_kill_sessions() {
    let router = start().await;
    let anonymous = join(&router, Transport::Ws, Serializer::Json).await;
    let victim = join(&router, Transport::Rs, Serializer::Json).await;
    for (procedure, arg) in [
        ("wamp.session.kill", Value::from(victim.id())),
        (
            "wamp.session.kill_by_authid",
            victim.welcome()["authid"].clone(),
        ),
        ("wamp.session.kill_by_authrole", Value::from("anonymous")),
        ("wamp.session.kill_all", Value::Null),
    ] {
        assert_wamp_error(
            anonymous
                .call(procedure, Payload::from_args(vec![arg]), Dict::new())
                .await,
            "wamp.error.not_authorized",
        );
    }
    // Reading is still everyone's.
    call(&anonymous, "wamp.session.list").await.unwrap();
    let operator = join_operator(&router, Transport::Rs).await;
    assert_eq!(
        operator.welcome().get("authrole").and_then(Value::as_str),
        Some("operator")
    );
    operator
        .call(
            "wamp.session.kill",
            Payload::from_args(vec![victim.id().into()]),
            Dict::new(),
        )
        .await
        .expect("the operator may kill");
    assert_eq!(
        within("the kill", victim.closed()).await,
        wamp::client::Closed::Goodbye("wamp.close.normal".into())
    );
    router.shutdown().await;
}

/// The ids in the first argument of a kill's result.
fn killed_ids(r: &wamp::client::CallResult) -> Vec<u64> {
    let mut ids: Vec<u64> = r.payload.args().unwrap()[0]
        .as_list()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    ids.sort_unstable();
    ids
}

/// `kill_by_authrole` / `kill_by_authid` with the caller's own role or authid kill the others
/// that have it, never the caller (Crossbar.io kills the caller too); `kill` of the caller's
/// own id is `wamp.error.no_such_session` (the spec: no *other* session has it).
#[tokio::test]
async fn kills_by_the_callers_own_role_or_authid_spare_the_caller() {
    let router = start().await;
    let me = join_operator(&router, Transport::Ws).await;
    for procedure in [
        "wamp.session.kill_by_authrole",
        "wamp.session.kill_by_authid",
    ] {
        let other = join_operator(&router, Transport::Rs).await;
        // The operator's authrole and authid (its principal's name) are both `operator`.
        let key = "operator";
        let r = me
            .call(procedure, Payload::from_args(vec![key.into()]), Dict::new())
            .await
            .unwrap_or_else(|e| panic!("{procedure}: {e}"));
        assert_eq!(killed_ids(&r), vec![other.id()], "{procedure}");
        assert!(matches!(
            within("the kill", other.closed()).await,
            wamp::client::Closed::Goodbye(_)
        ));
    }
    assert_wamp_error(
        me.call(
            "wamp.session.kill",
            Payload::from_args(vec![me.id().into()]),
            Dict::new(),
        )
        .await,
        "wamp.error.no_such_session",
    );
    let count = call(&me, "wamp.session.count").await.unwrap();
    assert_eq!(count.payload.args().unwrap(), vec![Value::from(1)]);
    router.shutdown().await;
}

/// `wamp.session.kill_all` (kwargs `reason`, `message`) closes every other session of the
/// realm and returns how many; the caller stays.
#[tokio::test]
async fn kill_all_kills_everyone_but_the_caller() {
    let router = start().await;
    let me = join_operator(&router, Transport::Rs).await;
    let others = [
        join(&router, Transport::Ws, Serializer::Json).await,
        join(&router, Transport::Rs, Serializer::Msgpack).await,
        join_operator(&router, Transport::Ws).await,
    ];
    let kwargs = dict! {"reason" => "com.example.maintenance", "message" => "back soon"};
    let r = me
        .call(
            "wamp.session.kill_all",
            Payload::new(vec![], kwargs),
            Dict::new(),
        )
        .await
        .expect("kill_all");
    assert_eq!(r.payload.args().unwrap(), vec![Value::from(3)]);
    for s in &others {
        assert_eq!(
            within("the kill", s.closed()).await,
            wamp::client::Closed::Goodbye("com.example.maintenance".into())
        );
    }
    let count = call(&me, "wamp.session.count").await.unwrap();
    assert_eq!(count.payload.args().unwrap(), vec![Value::from(1)]);
    // A reason that is not a URI is refused, and nobody is killed.
    let late = join(&router, Transport::Rs, Serializer::Json).await;
    assert_wamp_error(
        me.call(
            "wamp.session.kill_all",
            Payload::new(vec![], dict! {"reason" => 5}),
            Dict::new(),
        )
        .await,
        "wamp.error.invalid_uri",
    );
    call(&late, "wamp.session.count").await.expect("still here");
    router.shutdown().await;
}
