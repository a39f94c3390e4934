//! Realms, roles, permissions and the realms' `stats` blocks.

use super::*;

#[test]
fn stats_errors() {
    let at = "workers[0].realms[0].stats";
    let size = format!("{at}.rated_message_size");
    for bad in [json!(0), json!(-2), json!(511)] {
        assert_invalid(
            with(|v| stats0(v)["rated_message_size"] = bad.clone()),
            &size,
            &format!("must be an even number > 0, got {bad}"),
        );
    }
    assert_invalid(
        with(|v| stats0(v)["rated_message_size"] = json!(1u64 << 40)),
        &size,
        "must be at most 4294967294",
    );
    assert_invalid(
        with(|v| stats0(v)["rated_message_size"] = json!("256")),
        &size,
        "invalid type: string \"256\", expected an integer",
    );
    assert_invalid(
        with(|v| stats0(v)["rated_message_size"] = json!(256.0)),
        &size,
        "expected an integer",
    );
    assert_invalid(
        with(|v| stats0(v)["trigger_after_rated_messages"] = json!(0)),
        at,
        "at least one of trigger_after_rated_messages and trigger_after_duration",
    );
    assert_invalid(
        with(|v| remove(stats0(v), "trigger_after_rated_messages")),
        at,
        "at least one of",
    );
    assert_invalid(
        with(|v| stats0(v)["trigger_after_duration"] = json!(-1)),
        &format!("{at}.trigger_after_duration"),
        "must be >= 0, got -1",
    );
    assert_invalid(
        with(|v| stats0(v)["trigger_on_join"] = json!("yes")),
        &format!("{at}.trigger_on_join"),
        "expected a boolean",
    );
    assert_invalid(
        with(|v| stats0(v)["rated_mesage_size"] = json!(256)),
        &format!("{at}.rated_mesage_size"),
        "unknown field `rated_mesage_size`",
    );
    assert_invalid(with(|v| *stats0(v) = json!([])), at, "expected an object");
}

#[test]
fn stats_defaults_and_absence() {
    let loaded =
        with(|v| *stats0(v) = json!({"trigger_after_duration": 1_000_000_000u64})).expect("loads");
    let stats = loaded.config.realms[0].stats.expect("stats");
    assert_eq!(
        stats,
        StatsConfig {
            trigger_after_duration_ns: 1_000_000_000,
            ..StatsConfig::default()
        }
    );
    let loaded = with(|v| remove(realm0(v), "stats")).expect("loads");
    assert_eq!(loaded.config.realms[0].stats, None);
}

#[test]
fn permission_errors_and_starred_uris() {
    let at = "workers[0].realms[0].roles[0].permissions[0]";
    assert_invalid(
        with(|v| perm0(v)["match"] = json!("foo")),
        &format!("{at}.match"),
        "must be one of \"exact\", \"prefix\", \"wildcard\", got \"foo\"",
    );
    assert_invalid(
        with(|v| perm0(v)["uri"] = json!("com.example topic")),
        &format!("{at}.uri"),
        "must not contain whitespace",
    );
    assert_invalid(
        with(|v| perm0(v)["allow"]["subscibe"] = json!(true)),
        &format!("{at}.allow.subscibe"),
        "unknown field `subscibe`",
    );
    assert_invalid(
        with(|v| perm0(v)["allow"]["call"] = json!(1)),
        &format!("{at}.allow.call"),
        "expected a boolean",
    );
    for (uri, want, policy) in [
        ("com.example.add", "com.example.add", MatchPolicy::Exact),
        ("com.example.*", "com.example.", MatchPolicy::Prefix),
        ("com.*.topic.*", "com..topic.", MatchPolicy::Wildcard),
    ] {
        let loaded = with(|v| {
            perm0(v)["uri"] = json!(uri);
            remove(perm0(v), "match");
        })
        .expect("loads");
        let p = &loaded.config.realms[0].roles[0].permissions[0];
        assert_eq!((p.uri.as_str(), p.match_policy), (want, policy));
    }
    let loaded = with(|v| {
        remove(perm0(v), "allow");
        remove(perm0(v), "disclose");
    })
    .expect("loads");
    let p = &loaded.config.realms[0].roles[0].permissions[0];
    assert_eq!(
        (p.allow, p.disclose),
        (Allow::default(), Disclose::default())
    );
}

#[test]
fn realm_and_role_errors() {
    assert_invalid(
        with(|v| {
            let realm = realm0(v).clone();
            v["workers"][0]["realms"]
                .as_array_mut()
                .expect("array")
                .push(realm);
        }),
        "workers[0].realms[1].name",
        "duplicate realm name \"realm1\" (first at workers[0].realms[0])",
    );
    assert_invalid(
        with(|v| {
            let role = realm0(v)["roles"][0].clone();
            realm0(v)["roles"].as_array_mut().expect("array").push(role);
        }),
        "workers[0].realms[0].roles[1].name",
        "duplicate role name \"anonymous\" in realm \"realm1\"",
    );
    assert_invalid(
        with(|v| {
            let mut worker = v["workers"][0].clone();
            worker["transports"] = json!([]);
            v["workers"].as_array_mut().expect("array").push(worker);
        }),
        "workers[1].realms[0].name",
        "(first at workers[0].realms[0]); wampstat runs all router workers as one router",
    );
    assert_invalid(
        with(|v| *stats0(v) = json!([256, 10, 0, true, true])),
        "workers[0].realms[0].stats",
        "invalid type: array, expected an object",
    );
    assert_invalid(
        with(|v| realm0(v)["roles"][0] = json!(["anonymous", []])),
        "workers[0].realms[0].roles[0]",
        "invalid type: array, expected an object",
    );
    assert_invalid(
        with(|v| realm0(v)["name"] = json!("r1")),
        "workers[0].realms[0].name",
        "invalid realm name \"r1\"",
    );
    assert_invalid(
        with(|v| remove(realm0(v), "name")),
        "workers[0].realms[0]",
        "missing field `name`",
    );
    assert_invalid(
        with(|v| realm0(v)["options"] = json!({"uri_check": "medium"})),
        "workers[0].realms[0].options.uri_check",
        "must be \"strict\" or \"loose\", got \"medium\"",
    );
    assert_invalid(
        with(|v| realm0(v)["options"] = json!({"enable_meta_api": "no"})),
        "workers[0].realms[0].options.enable_meta_api",
        "expected a boolean",
    );
    let loaded =
        with(|v| realm0(v)["options"] = json!({"uri_check": "strict", "enable_meta_api": false}))
            .expect("loads");
    let realm = &loaded.config.realms[0];
    assert_eq!(
        (realm.uri_check, realm.enable_meta_api),
        (UriCheck::Strict, false)
    );
}

/// **[ours]** `options.max_sessions` and `options.max_sessions_per_authid`: absent = no limit,
/// else an integer from 1 up.
#[test]
fn session_limits() {
    for key in ["max_sessions", "max_sessions_per_authid"] {
        for (bad, problem) in [
            (json!(0), "must be an integer from 1 to 4294967296, got 0"),
            (json!(-3), "must be an integer from 1 to 4294967296, got -3"),
            (
                json!(4_294_967_297_u64),
                "must be an integer from 1 to 4294967296, got 4294967297",
            ),
            (json!("10"), "expected an integer"),
            (json!(2.5), "expected an integer"),
        ] {
            assert_invalid(
                with(|v| realm0(v)["options"] = json!({ key: bad })),
                &format!("workers[0].realms[0].options.{key}"),
                problem,
            );
        }
    }
    let realm = |edit: fn(&mut Value)| with(edit).expect("loads").config.realms[0].clone();
    let none = realm(|_| {});
    assert_eq!(
        (none.max_sessions, none.max_sessions_per_authid),
        (None, None)
    );
    let both = realm(|v| {
        realm0(v)["options"] = json!({"max_sessions": 100, "max_sessions_per_authid": 3});
    });
    assert_eq!(
        (both.max_sessions, both.max_sessions_per_authid),
        (Some(100), Some(3))
    );
}

/// **[ours]** `options.slow_consumer`: `close` (the default) or `drop`; anything else is an
/// error naming the file, the path and the allowed values.
#[test]
fn slow_consumer_policy() {
    use crate::config::SlowConsumerPolicy;
    let realm = |edit: fn(&mut Value)| with(edit).expect("loads").config.realms[0].clone();
    assert_eq!(realm(|_| {}).slow_consumer, SlowConsumerPolicy::Close);
    assert_eq!(
        realm(|v| realm0(v)["options"] = json!({"slow_consumer": "close"})).slow_consumer,
        SlowConsumerPolicy::Close
    );
    assert_eq!(
        realm(|v| realm0(v)["options"] = json!({"slow_consumer": "drop"})).slow_consumer,
        SlowConsumerPolicy::Drop
    );
    let e = with(|v| realm0(v)["options"] = json!({"slow_consumer": "ignore"})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config/x.json: workers[0].realms[0].options.slow_consumer: \
         must be \"close\" or \"drop\", got \"ignore\""
    );
}

#[test]
fn event_history_entries_in_crossbars_store_shape() {
    let loaded = with(|v| {
        realm0(v)["store"] = json!({"type": "memory", "event-history": [
            {"uri": "com.example.log", "limit": 3},
            {"uri": "com.example.", "match": "prefix", "limit": 50}
        ]})
    })
    .expect("loads");
    let h = &loaded.config.realms[0].event_history;
    let shapes: Vec<_> = h
        .iter()
        .map(|h| (h.uri.as_str(), h.policy, h.limit))
        .collect();
    assert_eq!(
        shapes,
        [
            ("com.example.log", MatchPolicy::Exact, 3),
            ("com.example.", MatchPolicy::Prefix, 50)
        ]
    );
    let at = "config/x.json: workers[0].realms[0].store";
    for (store, message) in [
        (
            json!({"type": "memory", "event-history": [{"uri": "a.b", "limit": 0}]}),
            format!("{at}[\"event-history\"][0].limit: must be an integer from 1 to 100000, got 0"),
        ),
        (
            json!({"type": "memory", "event-history": [{"uri": "a..b"}]}),
            format!("{at}[\"event-history\"][0].uri: invalid URI \"a..b\" for match exact"),
        ),
        (
            json!({"type": "disk"}),
            format!("{at}.type: unknown store type \"disk\"; wampstat supports \"memory\""),
        ),
    ] {
        let e = with(|v| realm0(v)["store"] = store).unwrap_err();
        assert_eq!(e.to_string(), message);
    }
}
