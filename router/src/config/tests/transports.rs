//! Transports, their endpoints, serializers and authentication.

use super::*;

#[test]
fn transport_errors() {
    let web_at = "workers[0].transports[0]";
    let raw_at = "workers[0].transports[1]";
    assert_invalid(
        with(|v| ws(v)["serializers"] = json!(["ubjson"])),
        &format!("{web_at}.paths.ws.serializers"),
        "no supported serializer: wampstat supports \"json\", \"msgpack\" and \"cbor\"",
    );
    assert_invalid(
        with(|v| raw(v)["serializers"] = json!(["json", "xml"])),
        &format!("{raw_at}.serializers[1]"),
        "unknown serializer \"xml\"; wampstat supports \"json\", \"msgpack\" and \"cbor\"",
    );
    assert_invalid(
        with(|v| raw(v)["serializers"] = json!([])),
        &format!("{raw_at}.serializers"),
        "no supported serializer",
    );
    assert_invalid(
        with(|v| raw(v)["endpoint"]["port"] = json!(70000)),
        &format!("{raw_at}.endpoint.port"),
        "must be a port number from 0 to 65535 (0 = any free port), got 70000",
    );
    assert_invalid(
        with(|v| raw(v)["endpoint"]["port"] = json!("8081")),
        &format!("{raw_at}.endpoint.port"),
        "expected an integer",
    );
    assert_invalid(
        with(|v| remove(&mut raw(v)["endpoint"], "port")),
        &format!("{raw_at}.endpoint"),
        "missing field `port`",
    );
    assert_invalid(
        with(|v| web(v)["endpoint"]["interface"] = json!("localhost")),
        &format!("{web_at}.endpoint.interface"),
        "must be an IP address",
    );
    assert_invalid(
        with(|v| web(v)["endpoint"]["version"] = json!(6)),
        &format!("{web_at}.endpoint.interface"),
        "127.0.0.1 does not match \"version\": 6",
    );
    assert_invalid(
        with(|v| web(v)["endpoint"]["type"] = json!("udp")),
        &format!("{web_at}.endpoint.type"),
        "unknown endpoint type \"udp\"",
    );
    assert_invalid(
        with(|v| ws(v)["options"]["max_message_size"] = json!(0)),
        &format!("{web_at}.paths.ws.options.max_message_size"),
        "must be from 1 to 67108864 (64 MiB), got 0",
    );
    assert_invalid(
        with(|v| raw(v)["options"]["max_message_size"] = json!(100)),
        &format!("{raw_at}.options.max_message_size"),
        "must be from 512 to 16777216",
    );
    assert_invalid(
        with(|v| raw(v)["type"] = json!("foo")),
        &format!("{raw_at}.type"),
        "unknown transport type \"foo\"",
    );
    assert_invalid(
        with(|v| web(v)["paths"] = json!({"/ws": {"type": "websocket"}})),
        &format!("{web_at}.paths[\"/ws\"]"),
        "invalid web path \"/ws\"",
    );
    assert_invalid(
        with(|v| web(v)["paths"]["x"] = json!({"type": 5})),
        &format!("{web_at}.paths.x.type"),
        "invalid type: number `5`, expected a string",
    );
    assert_invalid(
        with(|v| remove(web(v), "paths")),
        web_at,
        "missing field `paths`",
    );
    assert_invalid(
        with(|v| raw(v)["endpoint"]["port"] = json!(8080)),
        raw_at,
        "listening address 127.0.0.1:8080 is already used by workers[0].transports[0].paths.ws",
    );
    assert_invalid(
        with(|v| ws(v)["auth"] = json!({"anonymous": {"type": "static", "role": "nobody"}})),
        &format!("{web_at}.paths.ws.auth.anonymous.role"),
        "anonymous role \"nobody\" is not defined in any realm (defined roles: \"anonymous\")",
    );
    assert_invalid(
        with(|v| raw(v)["auth"] = json!({"anonymous": {"role": "anonymous"}})),
        &format!("{raw_at}.auth.anonymous"),
        "missing field `type`",
    );
    assert_invalid(
        with(|v| raw(v)["auth"] = json!({"password": {}})),
        &format!("{raw_at}.auth.password"),
        "unknown authentication method \"password\"",
    );
}

#[test]
fn transport_variants() {
    // Several ports on 0 never collide; a standalone websocket transport serves "/".
    let loaded = with(|v| {
        web(v)["endpoint"]["port"] = json!(0);
        raw(v)["endpoint"]["port"] = json!(0);
        v["workers"][0]["transports"]
            .as_array_mut()
            .expect("array")
            .push(json!({"type": "websocket", "endpoint": {"type": "tcp", "port": 9000}}));
    })
    .expect("loads");
    let t = &loaded.config.transports[2];
    assert_eq!(t.kind, TransportKind::WebSocket { path: "/".into() });
    assert_eq!(t.listen.to_string(), "0.0.0.0:9000");
    // No `serializers`: Crossbar's (autobahn's) default order, CBOR first.
    assert_eq!(
        t.serializers,
        [
            SerializerKind::Cbor,
            SerializerKind::Msgpack,
            SerializerKind::Json
        ]
    );
    assert_eq!(t.max_message_size, DEFAULT_MAX_MESSAGE_SIZE);

    let loaded = with(|v| raw(v)["endpoint"] = json!({"type": "tcp", "port": 1, "version": 6}))
        .expect("loads");
    assert_eq!(loaded.config.transports[1].listen.to_string(), "[::]:1");

    // CBOR is accepted; known-but-unsupported serializers are dropped with a warning;
    // duplicates collapse.
    let loaded = with(|v| {
        raw(v)["serializers"] = json!(["cbor", "ubjson", "msgpack", "json", "json", "cbor"])
    })
    .expect("loads");
    assert_eq!(
        loaded.config.transports[1].serializers,
        [
            SerializerKind::Cbor,
            SerializerKind::Msgpack,
            SerializerKind::Json
        ]
    );
    assert_eq!(
        loaded.warnings,
        [
            "config/x.json: workers[0].transports[1].serializers[1]: serializer \"ubjson\" is \
          not supported (wampstat supports \"json\", \"msgpack\" and \"cbor\"), ignored"
        ]
    );

    // Explicit anonymous role, and the default role of a static anonymous block.
    let loaded = with(|v| {
        realm0(v)["roles"]
            .as_array_mut()
            .expect("array")
            .push(json!({"name": "monitor"}));
        ws(v)["auth"] = json!({"anonymous": {"type": "static", "role": "monitor"}});
        raw(v)["auth"] = json!({"anonymous": {"type": "static"}});
    })
    .expect("loads");
    assert_eq!(
        anonymous_roles(&loaded.config),
        [Some("monitor"), Some("anonymous")]
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    // An unsupported endpoint type drops the transport with a warning.
    let loaded =
        with(|v| raw(v)["endpoint"] = json!({"type": "onion", "port": 9000})).expect("loads");
    assert_eq!(loaded.config.transports.len(), 1);
    assert_eq!(
        loaded.warnings,
        [
            "config/x.json: workers[0].transports[1].endpoint.type: endpoint type \"onion\" is not \
          supported by wampstat (only \"tcp\" and \"unix\"): the transport is ignored"
        ]
    );
}

#[test]
fn auth_warnings() {
    let w = warnings(with(|v| {
        raw(v)["auth"] = json!({"tls": {"type": "static", "principals": {}}})
    }));
    assert_eq!(
        w,
        [
            "config/x.json: workers[0].transports[1].auth.tls: authentication method \
             \"tls\" is not supported by wampstat (only anonymous, ticket, wampcra and \
             cryptosign), ignored",
            "config/x.json: workers[0].transports[1].auth: no supported authentication \
             method (wampstat supports static anonymous, and static or dynamic ticket, wampcra \
             and cryptosign), so no client can join through this transport",
        ]
    );
    let loaded = with(|v| raw(v)["auth"] = json!({"tls": {}})).expect("loads");
    assert_eq!(loaded.config.transports[1].auth.anonymous, None);
    let w = warnings(with(|v| {
        raw(v)["auth"] = json!({"ticket": {"type": "function", "create": "m.f"}})
    }));
    assert!(
        w[0].contains("auth.ticket.type: ticket authentication of type \"function\""),
        "{w:?}"
    );

    let w = warnings(with(|v| realm0(v)["roles"][0]["name"] = json!("backend")));
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("workers[0].transports[0].paths.ws: no \"auth\" block"));
    assert!(w[1].contains("workers[0].transports[1]: no \"auth\" block"));
}

#[test]
fn ticket_and_wampcra_principals_with_secrets_from_the_environment() {
    let env = |name: &str| (name == "ALICE_TICKET").then(|| "from-the-env".to_owned());
    let loaded = with_env(
        |v| {
            raw(v)["auth"] = json!({
                "ticket": {"type": "static", "principals": {
                    "alice": {"ticket": "${ALICE_TICKET}", "role": "anonymous"},
                    "bob": {"ticket": "plain", "role": "anonymous", "realm": "realm1"}}},
                "wampcra": {"type": "static", "users": {
                    "carol": {"secret": "k", "role": "anonymous", "salt": "s", "iterations": 100}}},
                "anonymous": {"type": "static", "realm": "realm1"}
            })
        },
        &env,
    )
    .expect("loads");
    let auth = &loaded.config.transports[1].auth;
    let tickets = auth.ticket.as_ref().unwrap();
    assert_eq!(tickets["alice"].ticket.expose(), "from-the-env");
    assert_eq!(tickets["bob"].identity.realm.as_deref(), Some("realm1"));
    let carol = &auth.wampcra.as_ref().unwrap()["carol"];
    let salt = carol.salt.as_ref().unwrap();
    assert_eq!(
        (salt.salt.as_str(), salt.iterations, salt.keylen),
        ("s", 100, 32)
    );
    // The configured secret is the password; challenges are signed with the derived key.
    let key = wamp::auth::wampcra_derive_key("k", "s", 100, 32);
    assert_eq!(carol.secret.expose(), key);
    let e = with(|v| {
        raw(v)["auth"] = json!({"wampcra": {"type": "static", "users": {
            "carol": {"secret": "k", "role": "anonymous", "salt": "s", "iterations": 10_000_000}}}})
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "config/x.json: workers[0].transports[1].auth.wampcra.users.carol.iterations: must be \
         an integer from 1 to 1000000, got 10000000"
    );
    assert_eq!(auth.methods(), ["wampcra", "ticket", "anonymous"]);
    assert_eq!(auth.anonymous_realm.as_deref(), Some("realm1"));
    let shown = format!("{:?}", loaded.config);
    assert!(
        !shown.contains("from-the-env") && !shown.contains("\"plain\""),
        "{shown}"
    );

    let unset = with_env(
        |v| {
            raw(v)["auth"] = json!({"ticket": {"type": "static", "principals": {
            "alice": {"ticket": "${BOB_TICKET}", "role": "anonymous"}}}})
        },
        &env,
    )
    .unwrap_err()
    .to_string();
    assert!(
        unset.contains("workers[0].transports[1].auth.ticket.principals.alice.ticket")
            && unset.contains("BOB_TICKET is not set"),
        "{unset}"
    );
    let no_role = with(|v| {
        raw(v)["auth"] = json!({"wampcra": {"type": "static", "users": {
            "carol": {"secret": "k", "role": "nobody"}}}})
    })
    .unwrap_err()
    .to_string();
    assert!(
        no_role.contains("auth.wampcra.users.carol.role") && no_role.contains("\"nobody\""),
        "{no_role}"
    );
}

#[test]
fn dynamic_authenticators_in_crossbars_shape() {
    let loaded = with(|v| {
        raw(v)["auth"] = json!({
            "ticket": {"type": "dynamic", "authenticator": "com.example.authenticate"},
            "wampcra": {"type": "dynamic", "authenticator": "com.example.cra",
                        "authenticator-realm": "realm1", "default-role": "anonymous"},
            "cryptosign": {"type": "dynamic", "authenticator": "com.example.key",
                           "authenticator-role": "trusted", "extra": 1}
        })
    })
    .expect("loads");
    let auth = &loaded.config.transports[1].auth;
    assert_eq!(auth.methods(), ["cryptosign", "wampcra", "ticket"]);
    let ticket = auth.dynamic.ticket.as_ref().expect("dynamic ticket");
    assert_eq!(
        (ticket.procedure.as_str(), ticket.realm.as_deref()),
        ("com.example.authenticate", None)
    );
    let cra = auth.dynamic.wampcra.as_ref().expect("dynamic wampcra");
    assert_eq!(cra.realm.as_deref(), Some("realm1"));
    assert_eq!(cra.default_role.as_deref(), Some("anonymous"));
    let w = &loaded.warnings;
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("auth.cryptosign.extra: not supported by wampstat, ignored"),
        "{w:?}"
    );
    assert!(
        w[1].contains("auth.cryptosign[\"authenticator-role\"]: ignored"),
        "{w:?}"
    );

    let at = "workers[0].transports[1].auth.ticket";
    assert_invalid(
        with(|v| raw(v)["auth"] = json!({"ticket": {"type": "dynamic"}})),
        at,
        "missing field `authenticator`",
    );
    assert_invalid(
        with(|v| raw(v)["auth"] = json!({"ticket": {"type": "dynamic", "authenticator": 5}})),
        &format!("{at}.authenticator"),
        "invalid type: number `5`, expected a procedure URI (a string)",
    );
    assert_invalid(
        with(|v| raw(v)["auth"] = json!({"ticket": {"type": "dynamic", "authenticator": "a b"}})),
        &format!("{at}.authenticator"),
        "must be a procedure URI, got \"a b\"",
    );
    assert_invalid(
        with(|v| {
            raw(v)["auth"] = json!({"ticket": {"type": "dynamic", "authenticator": "com.a",
                                               "authenticator-realm": "nowhere"}})
        }),
        &format!("{at}[\"authenticator-realm\"]"),
        "realm \"nowhere\" is not defined",
    );
    assert_invalid(
        with(|v| {
            raw(v)["auth"] = json!({"ticket": {"type": "dynamic", "authenticator": "com.a",
                                               "default-role": "nobody"}})
        }),
        &format!("{at}[\"default-role\"]"),
        "role \"nobody\" is not defined in any realm",
    );
}

#[test]
fn a_metrics_path_is_served_on_its_web_transport() {
    let loaded = with(|v| web(v)["paths"]["metrics"] = json!({"type": "metrics"})).expect("loads");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let ws = &loaded.config.transports[0];
    assert_eq!(
        loaded.config.metrics,
        [crate::config::MetricsPath {
            path: "/metrics".to_owned(),
            listener: ws.listener,
        }]
    );
    let alone = with(|v| web(v)["paths"] = json!({"metrics": {"type": "metrics"}})).expect("loads");
    assert!(alone.config.metrics.is_empty());
    assert!(
        alone.warnings[0].contains("no \"websocket\" path"),
        "{:?}",
        alone.warnings
    );
    let at = "workers[0].transports[0].paths";
    assert_invalid(
        with(|v| web(v)["paths"]["metrics"] = json!({"type": "metrics", "x": 1})),
        &format!("{at}.metrics.x"),
        "unknown field `x`",
    );
    assert_invalid(
        with(|v| web(v)["paths"]["a/b"] = json!({"type": "metrics"})),
        &format!("{at}[\"a/b\"]"),
        "invalid web path \"a/b\"",
    );
}
