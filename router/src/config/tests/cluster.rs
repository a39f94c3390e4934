//! **[ours]** The top-level `cluster` block: its defaults, its secrets (from the environment
//! only) and every refusal, with the exact message.

use super::*;

/// A cluster block as the design shows it, with the token from `NATS_TOKEN`.
fn block() -> Value {
    json!({"node": "node-a",
           "nats": {"url": "nats://127.0.0.1:4222", "token": "${NATS_TOKEN}"},
           "subject_prefix": "wampstat", "heartbeat_ms": 1000, "node_timeout_ms": 3000})
}

/// The operator's ticket, `NATS_TOKEN`, `NATS_USER`, `NATS_PASSWORD` and `EMPTY` (empty).
fn env(name: &str) -> Option<String> {
    match name {
        "NATS_TOKEN" => Some("s3cret-token".to_owned()),
        "NATS_USER" => Some("router".to_owned()),
        "NATS_PASSWORD" => Some("s3cret-password".to_owned()),
        "EMPTY" => Some(String::new()),
        _ => operator_env(name),
    }
}

/// The config with the cluster block `edit` made of [`block`].
fn with_cluster(edit: impl FnOnce(&mut Value)) -> Result<Loaded, ConfigError> {
    with_env(
        |v| {
            let mut b = block();
            edit(&mut b);
            v["cluster"] = b;
        },
        &env,
    )
}

/// The exact message of the error `result` must be.
#[track_caller]
fn message(result: Result<Loaded, ConfigError>) -> String {
    match result {
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn without_a_cluster_block_there_is_no_cluster() {
    let loaded = with(|_| {}).expect("loads");
    assert_eq!(loaded.config.cluster, None);
    assert_eq!(Config::embedded_default().config.cluster, None);
}

#[test]
fn the_designs_block_loads_with_its_token_from_the_environment() {
    let loaded = with_cluster(|_| {}).expect("loads");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config.cluster.expect("a cluster");
    assert_eq!(c.node, "node-a");
    assert_eq!(c.subject_prefix, "wampstat");
    assert_eq!(c.heartbeat, std::time::Duration::from_millis(1000));
    assert_eq!(c.node_timeout, std::time::Duration::from_millis(3000));
    assert_eq!(c.nats.url, "nats://127.0.0.1:4222");
    assert_eq!(c.nats.auth, NatsAuth::Token(Secret::new("s3cret-token")));
    // The secret never shows in Debug output (which is what a log line would print).
    let debug = format!("{c:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
}

#[test]
fn absent_keys_take_their_defaults() {
    let loaded = with_cluster(|b| {
        *b = json!({"node": "n1", "nats": {"url": "tls://nats.example:4222"}});
    })
    .expect("loads");
    let c = loaded.config.cluster.expect("a cluster");
    assert_eq!(c.subject_prefix, DEFAULT_SUBJECT_PREFIX);
    assert_eq!(c.heartbeat.as_millis(), u128::from(DEFAULT_HEARTBEAT_MS));
    assert_eq!(
        c.node_timeout.as_millis(),
        u128::from(DEFAULT_NODE_TIMEOUT_MS)
    );
    assert_eq!(c.nats.auth, NatsAuth::None);
    // A slower heartbeat moves the default timeout along (three heartbeats).
    let slow = with_cluster(|b| {
        *b = json!({"node": "n1", "nats": {"url": "nats://h"}, "heartbeat_ms": 5000});
    })
    .expect("loads");
    assert_eq!(
        slow.config
            .cluster
            .expect("a cluster")
            .node_timeout
            .as_millis(),
        15000
    );
}

#[test]
fn user_password_and_creds_are_accepted() {
    let loaded = with_cluster(|b| {
        b["nats"] = json!({"url": "nats://h:4222", "user": "${NATS_USER}",
                           "password": "${NATS_PASSWORD}"});
    })
    .expect("loads");
    assert_eq!(
        loaded.config.cluster.expect("a cluster").nats.auth,
        NatsAuth::UserPassword {
            user: "router".to_owned(),
            password: Secret::new("s3cret-password"),
        }
    );
    let loaded = with_cluster(|b| {
        b["nats"] = json!({"url": "nats://h:4222", "creds": "/etc/nats/router.creds"});
    })
    .expect("loads");
    assert_eq!(
        loaded.config.cluster.expect("a cluster").nats.auth,
        NatsAuth::Creds("/etc/nats/router.creds".into())
    );
}

/// One edit of the cluster block.
type Edit = dyn FnOnce(&mut Value);

#[test]
fn refusals_name_the_file_the_path_and_the_problem() {
    let cases: Vec<(Box<Edit>, &str)> = vec![
        (
            Box::new(|b| b["node"] = json!("")),
            "config/x.json: cluster.node: must not be empty",
        ),
        (
            Box::new(|b| b["node"] = json!("node.a")),
            "config/x.json: cluster.node: must be at most 64 ASCII letters, digits, '-' or '_' \
             (it is a NATS subject token), got \"node.a\"",
        ),
        (
            Box::new(|b| b["node"] = json!("a*")),
            "config/x.json: cluster.node: must be at most 64 ASCII letters, digits, '-' or '_' \
             (it is a NATS subject token), got \"a*\"",
        ),
        (
            Box::new(|b| {
                b.as_object_mut().expect("object").remove("node");
            }),
            "config/x.json: cluster: missing field `node`",
        ),
        (
            Box::new(|b| b["heartbeat_ms"] = json!(0)),
            "config/x.json: cluster.heartbeat_ms: must be > 0 and at most 3600000 (an hour), \
             got 0",
        ),
        (
            Box::new(|b| b["heartbeat_ms"] = json!(1.5)),
            "config/x.json: cluster.heartbeat_ms: invalid type: floating point `1.5`, expected \
             an integer",
        ),
        (
            Box::new(|b| b["node_timeout_ms"] = json!(1999)),
            "config/x.json: cluster.node_timeout_ms: must be at least twice heartbeat_ms (2000) \
             and at most 86400000 (a day), got 1999",
        ),
        (
            Box::new(|b| b["subject_prefix"] = json!("a..b")),
            "config/x.json: cluster.subject_prefix: must be one or more NATS subject tokens of \
             ASCII letters, digits, '-' or '_', separated by '.', got \"a..b\"",
        ),
        (
            Box::new(|b| b["nats"]["url"] = json!("ws://127.0.0.1:4222")),
            "config/x.json: cluster.nats.url: the scheme must be \"nats\" or \"tls\", got \
             \"ws\" (in \"ws://127.0.0.1:4222\")",
        ),
        (
            Box::new(|b| b["nats"]["url"] = json!("127.0.0.1:4222")),
            "config/x.json: cluster.nats.url: must be a URL like \"nats://127.0.0.1:4222\" or \
             \"tls://host:4222\", got \"127.0.0.1:4222\"",
        ),
        (
            Box::new(|b| b["nats"]["url"] = json!("nats://u:p@127.0.0.1:4222")),
            "config/x.json: cluster.nats.url: must not contain credentials: give \"token\", \
             \"user\"/\"password\" or \"creds\" instead, read from the environment",
        ),
        (
            Box::new(|b| b["nats"]["url"] = json!("nats://127.0.0.1:0")),
            "config/x.json: cluster.nats.url: the port must be 1 to 65535, got \"0\"",
        ),
        (
            Box::new(|b| b["nats"]["token"] = json!("written-in-the-file")),
            "config/x.json: cluster.nats.token: must name an environment variable, e.g. \
             \"${NATS_TOKEN}\": NATS secrets are not written in the configuration file",
        ),
        (
            Box::new(|b| b["nats"]["token"] = json!("${NOT_SET}")),
            "config/x.json: cluster.nats.token: the environment variable NOT_SET is not set \
             (the value is \"${NOT_SET}\")",
        ),
        (
            Box::new(|b| b["nats"]["token"] = json!("${EMPTY}")),
            "config/x.json: cluster.nats.token: the environment variable EMPTY is empty",
        ),
        (
            Box::new(|b| b["nats"]["user"] = json!("router")),
            "config/x.json: cluster.nats: give one way to authenticate: \"token\", \"user\" \
             with \"password\", or \"creds\"",
        ),
        (
            Box::new(|b| b["nats"] = json!({"url": "nats://h", "user": "router"})),
            "config/x.json: cluster.nats.user: needs a \"password\" too",
        ),
        (
            Box::new(|b| b["nats"] = json!({"url": "nats://h", "user": "r", "password": "pw"})),
            "config/x.json: cluster.nats.password: must name an environment variable, e.g. \
             \"${NATS_TOKEN}\": NATS secrets are not written in the configuration file",
        ),
        (
            Box::new(|b| b["nats"]["tokn"] = json!("x")),
            "config/x.json: cluster.nats.tokn: unknown field `tokn`, expected one of `url`, \
             `token`, `user`, `password`, `creds`",
        ),
        (
            Box::new(|b| *b = json!([])),
            "config/x.json: cluster: invalid type: array, expected an object",
        ),
    ];
    for (edit, expected) in cases {
        let got = message(with_cluster(edit));
        assert_eq!(got, expected);
        assert!(!got.contains("s3cret"), "{got}");
    }
}

#[test]
fn a_relative_creds_file_is_taken_from_the_config_files_folder() {
    let mut value = default_value();
    value["cluster"] = json!({"node": "n", "nats": {"url": "nats://h", "creds": "n.creds"}});
    let loaded = Config::parse_at(
        &value.to_string(),
        SOURCE,
        Some(Path::new("/etc/wampstat")),
        &env,
    )
    .expect("loads");
    assert_eq!(
        loaded.config.cluster.expect("a cluster").nats.auth,
        NatsAuth::Creds("/etc/wampstat/n.creds".into())
    );
}
