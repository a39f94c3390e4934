//! Whole files: the embedded default, a real Crossbar config, the examples, the top-level
//! structure, unknown keys, syntax and I/O errors, and odd input.

use super::*;
use crate::authorize::{Action, authorize};

/// The real Crossbar config from `spec/crossbar-captures/crossbar-config.json`.
const CROSSBAR_CAPTURE: &str = r#"{
    "$schema": "https://raw.githubusercontent.com/crossbario/crossbar/master/crossbar.json",
    "version": 2,
    "controller": {},
    "workers": [{
        "type": "router",
        "realms": [{
            "name": "realm1",
            "stats": {"rated_message_size": 256, "trigger_after_rated_messages": 10,
                      "trigger_after_duration": 0, "trigger_on_join": true,
                      "trigger_on_leave": true},
            "roles": [{
                "name": "anonymous",
                "permissions": [{
                    "uri": "", "match": "prefix",
                    "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
                    "disclose": {"caller": true, "publisher": true},
                    "cache": true
                }]
            }]
        }],
        "transports": [
            {"type": "web",
             "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 18080},
             "paths": {"/": {"type": "static", "directory": "../web"},
                       "ws": {"type": "websocket", "serializers": ["json", "msgpack"]}}},
            {"type": "rawsocket",
             "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 18081},
             "serializers": ["json", "msgpack"]}
        ]
    }]
}"#;

#[test]
fn embedded_default_loads_without_warnings() {
    let loaded = Config::embedded_default();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let ticket = loaded.config.transports[0].auth.ticket.as_ref().unwrap()["operator"]
        .ticket
        .clone();
    assert_eq!(loaded.config, fallback_default(ticket.clone()));
    // Its ticket comes from the environment, or is made up (and said so) when unset.
    match std::env::var(OPERATOR_TICKET_VARIABLE) {
        Ok(t) => {
            assert_eq!(ticket.expose(), t);
            assert_eq!(loaded.generated_operator_ticket, None);
        }
        Err(_) => {
            assert_eq!(ticket.expose().len(), 32);
            assert_eq!(loaded.generated_operator_ticket, Some(ticket));
            let again = Config::embedded_default().generated_operator_ticket;
            assert_ne!(
                again, loaded.generated_operator_ticket,
                "a new one each start"
            );
        }
    }
    let anonymous = loaded.config.realms[0].role("anonymous").unwrap();
    for procedure in ADMIN_PROCEDURES {
        let allowed = authorize(anonymous, procedure, Action::Call);
        assert!(allowed.is_none(), "anonymous may not call {procedure}");
    }
    let operator = loaded.config.realms[0].role("operator").unwrap();
    for procedure in ADMIN_PROCEDURES {
        let allowed = authorize(operator, procedure, Action::Call);
        assert!(allowed.is_some(), "the operator may call {procedure}");
    }
    let realm = loaded.config.realm("realm1").expect("realm1");
    let stats = realm.stats.expect("stats");
    assert_eq!(
        stats.to_string(),
        "rated_message_size=256, trigger_after_rated_messages=10, trigger_after_duration=0, \
         trigger_on_join=True, trigger_on_leave=True"
    );
    assert_eq!(realm.uri_check, UriCheck::Loose);
    assert!(realm.enable_meta_api);
    assert_eq!(
        (realm.max_sessions, realm.max_sessions_per_authid),
        (None, None)
    );
    assert!(realm.role("anonymous").is_some());
    let addrs: Vec<String> = loaded
        .config
        .transports
        .iter()
        .map(|t| t.listen.to_string())
        .collect();
    assert_eq!(addrs, ["127.0.0.1:8080", "127.0.0.1:8081"]);
}

#[test]
fn crossbar_capture_loads_with_warnings() {
    let loaded = Config::parse(CROSSBAR_CAPTURE, "crossbar-config.json").expect("loads");
    assert_eq!(
        loaded.warnings,
        [
            "crossbar-config.json: controller: not supported by wampstat, ignored",
            "crossbar-config.json: workers[0].realms[0].roles[0].permissions[0].cache: not \
             supported by wampstat, ignored",
            "crossbar-config.json: workers[0].transports[0].paths[\"/\"]: web service type \
             \"static\" is not supported by wampstat, ignored",
        ]
    );
    let config = loaded.config;
    assert_eq!(config.realms.len(), 1);
    let default = fallback_default(Secret::new("x"));
    assert_eq!(config.realms[0].stats, default.realms[0].stats);
    // Crossbar's one role: anonymous may do everything (the default's first permission).
    let anonymous = &default.realms[0].roles[0];
    assert_eq!(
        config.realms[0].roles,
        [RoleConfig {
            name: anonymous.name.clone(),
            permissions: vec![anonymous.permissions[0].clone()],
        }]
    );
    let t = &config.transports;
    assert_eq!(t.len(), 2);
    assert_eq!(
        t[0].kind,
        TransportKind::WebSocket {
            path: "/ws".to_owned()
        }
    );
    assert_eq!(t[0].listen.to_string(), "127.0.0.1:18080");
    assert_eq!(t[0].max_message_size, DEFAULT_MAX_MESSAGE_SIZE);
    assert_eq!(t[0].auth.anonymous.as_deref(), Some("anonymous"));
    assert_eq!(t[1].kind, TransportKind::RawSocket);
    assert_eq!(t[1].listen.to_string(), "127.0.0.1:18081");
    assert_eq!(
        t[1].serializers,
        [SerializerKind::Json, SerializerKind::Msgpack]
    );
}

#[test]
fn error_display_names_file_path_and_problem() {
    let err = with(|v| stats0(v)["rated_message_size"] = json!(255)).expect_err("odd");
    assert_eq!(
        err.to_string(),
        "config/x.json: workers[0].realms[0].stats.rated_message_size: must be an even \
         number > 0, got 255"
    );
}

#[test]
fn structure_errors() {
    assert_invalid(
        with(|v| v["workers"] = json!([{"type": "container"}])),
        "workers",
        "no router worker",
    );
    assert_invalid(
        with(|v| remove(v, "workers")),
        "workers",
        "no router worker",
    );
    assert_invalid(
        with(|v| v["workers"][0]["realms"] = json!([])),
        "workers[0].realms",
        "no realms",
    );
    assert_invalid(
        with(|v| v["workers"][0]["transports"] = json!([])),
        "workers[0].transports",
        "no transports",
    );
    assert_invalid(
        with(|v| v["workers"][0]["transports"] = json!([{"type": "mqtt"}])),
        "workers[0].transports",
        "(1 unsupported one(s) were ignored)",
    );
    assert_invalid(
        with(|v| v["workers"][0]["type"] = json!("routr")),
        "workers",
        "no router worker",
    );
    assert_invalid(
        with(|v| remove(&mut v["workers"][0], "type")),
        "workers[0]",
        "missing field `type`",
    );
    assert_invalid(
        with(|v| remove(v, "version")),
        "version",
        "missing: add \"version\": 2",
    );
    assert_invalid(with(|v| v["version"] = json!(1)), "version", "must be 2");
    assert_invalid(
        Config::parse("[1, 2]", SOURCE),
        "(top level)",
        "invalid type: array, expected an object",
    );
    assert_invalid(
        with(|v| v["workers"][0]["realms"] = json!({})),
        "workers[0].realms",
        "invalid type: object, expected an array",
    );
}

#[test]
fn unknown_keys_are_warned_with_their_paths() {
    let w = warnings(with(|v| {
        v["controller"] = json!({"id": "node1"});
        v["workers"][0]["options"] = json!({"pythonpath": [".."]});
        v["workers"][0]["components"] = json!([]);
        realm0(v)["store"] = json!({"type": "memory", "limit": 1000});
        realm0(v)["options"] = json!({"event_dispatching_chunk_size": 100});
        perm0(v)["cache"] = json!(true);
        web(v)["endpoint"]["backlog"] = json!(1024);
        ws(v)["options"]["compression"] = json!({"deflate": {}});
        web(v)["paths"]["info"] = json!({"type": "nodeinfo"});
        raw(v)["debug"] = json!(false);
        v["workers"]
            .as_array_mut()
            .expect("array")
            .push(json!({"type": "guest", "executable": "node"}));
    }));
    let expected: Vec<String> = [
        "controller",
        "workers[0].options",
        "workers[0].components",
        "workers[0].realms[0].store.limit",
        "workers[0].realms[0].options.event_dispatching_chunk_size",
        "workers[0].realms[0].roles[0].permissions[0].cache",
        "workers[0].transports[0].endpoint.backlog",
        "workers[0].transports[0].paths.ws.options.compression",
    ]
    .iter()
    .map(|p| format!("config/x.json: {p}: not supported by wampstat, ignored"))
    .chain([
        "config/x.json: workers[0].transports[0].paths.info: web service type \"nodeinfo\" is \
         not supported by wampstat, ignored"
            .to_owned(),
        "config/x.json: workers[0].transports[1].debug: not supported by wampstat, ignored"
            .to_owned(),
        "config/x.json: workers[1]: worker type \"guest\" is not supported by wampstat, ignored"
            .to_owned(),
    ])
    .collect();
    let mut got = w.clone();
    got.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(got, want);
    // `$schema` and `id`s are accepted silently.
    let w = warnings(with(|v| {
        v["$schema"] = json!("https://example.invalid/crossbar.json");
        v["workers"][0]["id"] = json!("worker001");
        realm0(v)["id"] = json!("realm001");
        web(v)["id"] = json!("transport001");
    }));
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn syntax_and_io_errors() {
    let err =
        Config::parse("{\n  \"version\": 2,\n  \"workers\": [\n}\n", SOURCE).expect_err("syntax");
    match &err {
        ConfigError::Syntax { line, column, .. } => assert_eq!((*line, *column), (4, 1)),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("config/x.json:4:1: invalid JSON: "),
        "{err}"
    );
    let err = Config::parse("", SOURCE).expect_err("empty");
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");

    let dir = std::env::temp_dir().join(format!("wampstat-config-test-{}", std::process::id()));
    let err = Config::load_cbdir(&dir).expect_err("missing");
    assert!(matches!(err, ConfigError::Io { .. }), "{err}");
    assert!(
        err.to_string().contains("config.json: cannot read"),
        "{err}"
    );

    std::fs::create_dir_all(&dir).expect("mkdir");
    let text =
        format!("\u{feff}{}", DEFAULT_JSON).replace("${WAMPSTAT_OPERATOR_TICKET}", OPERATOR_TICKET);
    std::fs::write(dir.join("config.json"), text).expect("write");
    let loaded = Config::load_cbdir(&dir);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(
        loaded.expect("loads").config,
        fallback_default(Secret::new(OPERATOR_TICKET))
    );
}

#[test]
fn example_configs_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples");
    // The TLS example's key and certificate (relative paths) are made here, for the test.
    let pki_dir = std::env::temp_dir().join(format!("wampstat-examples-{}", std::process::id()));
    wamp::transport::tls::test_pki::TestPki::create(&pki_dir).expect("test certificates");
    let mut seen = std::collections::HashMap::new();
    for entry in std::fs::read_dir(&dir).expect("config/examples") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        // `${NAME}` secrets get a made-up value: an example must not need the tester's
        // environment.
        let text = std::fs::read_to_string(&path).expect("readable");
        let env = |name: &str| Some(format!("the value of {name}"));
        let source = path.display().to_string();
        let loaded = Config::parse_at(&text, &source, Some(&pki_dir), &env)
            .unwrap_or_else(|e| panic!("{e}"));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        // Only the Crossbar-compatible examples use things wampstat ignores.
        if !name.starts_with("crossbar-") {
            assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
        }
        seen.insert(name, loaded);
    }

    let tls = &seen["tls-universal.json"].config.transports;
    let shapes: Vec<_> = tls
        .iter()
        .map(|t| (t.kind.path(), t.tls.is_some(), t.listen.to_string()))
        .collect();
    let unix = format!("unix:{}", pki_dir.join("router.sock").display());
    assert_eq!(
        shapes,
        [
            (None, true, "0.0.0.0:8443".to_owned()),
            (Some("/ws"), true, "0.0.0.0:8443".to_owned()),
            (None, false, unix)
        ]
    );
    let _ = std::fs::remove_dir_all(&pki_dir);

    let dynamic = &seen["dynamic-authenticator.json"].config;
    assert_eq!(anonymous_roles(dynamic), [Some("authenticator"), None]);
    let web = &dynamic.transports[1].auth;
    assert_eq!(web.methods(), ["cryptosign", "wampcra", "ticket"]);
    let ticket = web
        .dynamic
        .ticket
        .as_ref()
        .expect("a dynamic ticket authenticator");
    assert_eq!(ticket.procedure, "com.example.authenticate.ticket");
    assert_eq!(ticket.realm, None);

    let by_duration = &seen["stats-by-duration.json"].config.realms[0];
    let stats = by_duration.stats.expect("stats");
    assert_eq!(
        (
            stats.trigger_after_rated_messages,
            stats.trigger_after_duration_ns
        ),
        (0, 1_000_000_000)
    );

    let monitor = &seen["restricted-monitor.json"].config;
    assert_eq!(anonymous_roles(monitor), [Some("monitor"), Some("backend")]);
    let role = monitor.realms[0].role("monitor").expect("monitor role");
    assert!(
        role.permissions
            .iter()
            .all(|p| !p.allow.publish && !p.allow.register)
    );

    // [ours] Three nodes of one cluster on one machine: the same realms, their own ports.
    let nodes: Vec<&Config> = ["a", "b", "c"]
        .iter()
        .map(|n| &seen[&format!("cluster-node-{n}.json")].config)
        .collect();
    for (config, n) in nodes.iter().zip(["a", "b", "c"]) {
        let c = config.cluster.as_ref().expect("a cluster block");
        assert_eq!(c.node, format!("node-{n}"));
        assert_eq!(c.nats.url, "nats://127.0.0.1:4222");
        assert_eq!(
            c.nats.auth,
            NatsAuth::Token(Secret::new("the value of NATS_TOKEN"))
        );
        assert_eq!(config.realms, nodes[0].realms);
    }
    let ports: std::collections::HashSet<String> = nodes
        .iter()
        .flat_map(|c| c.transports.iter().map(|t| t.listen.to_string()))
        .collect();
    assert_eq!(ports.len(), 6, "{ports:?}");

    let compatible = &seen["crossbar-compatible.json"];
    assert!(
        compatible
            .warnings
            .iter()
            .any(|w| w.contains("paths[\"/\"]: web service type \"static\"")),
        "{:?}",
        compatible.warnings
    );
    assert_eq!(compatible.config.transports.len(), 2);
    // Its `["cbor", "msgpack", "json"]` is served whole, without a warning.
    assert!(
        !compatible.warnings.iter().any(|w| w.contains("\"cbor\"")),
        "{:?}",
        compatible.warnings
    );
    for t in &compatible.config.transports {
        assert_eq!(
            t.serializers,
            [
                SerializerKind::Cbor,
                SerializerKind::Msgpack,
                SerializerKind::Json
            ]
        );
    }
}

/// Replacing any node of the default config by a value of another type, or cutting the text
/// anywhere, gives an error or a config, never a panic.
#[test]
fn never_panics_on_odd_input() {
    fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    pointers(v, format!("{at}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    pointers(v, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }
    let base = default_value();
    let mut all = Vec::new();
    pointers(&base, String::new(), &mut all);
    let replacements = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1.5),
        json!(u64::MAX),
        json!("x"),
        json!([]),
        json!({}),
        json!({"type": "websocket"}),
    ];
    for pointer in &all {
        for replacement in &replacements {
            let mut value = base.clone();
            if let Some(node) = value.pointer_mut(pointer) {
                *node = replacement.clone();
            }
            let _ = Config::parse(&value.to_string(), SOURCE);
        }
    }
    let text = DEFAULT_JSON;
    for (i, _) in text.char_indices() {
        let _ = Config::parse(&text[..i], SOURCE);
    }
}
