//! Endpoints: Unix sockets, TLS files, the universal transport, and shared ports.

use super::*;
use wamp::transport::tls::test_pki::TestPki;

/// A fresh folder under the system's temporary one.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wampstat-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary folder");
    dir
}

/// Loads the default with `edit` as if it were the file `config.json` in `dir`.
fn in_folder(dir: &Path, edit: impl FnOnce(&mut Value)) -> Result<Loaded, ConfigError> {
    let mut value = default_value();
    edit(&mut value);
    Config::parse_at(&value.to_string(), SOURCE, Some(dir), &operator_env)
}

#[test]
fn unix_endpoints_take_relative_paths_from_the_files_folder() {
    let dir = folder("unix");
    let loaded = in_folder(&dir, |v| {
        raw(v)["endpoint"] = json!({"type": "unix", "path": "router.sock"})
    })
    .expect("loads");
    assert_eq!(
        loaded.config.transports[1].listen,
        Listen::Unix(dir.join("router.sock"))
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let e = with(|v| raw(v)["endpoint"] = json!({"type": "unix"})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config/x.json: workers[0].transports[1].endpoint: missing field `path`"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn tls_files_are_loaded_and_checked_at_load_time() {
    let dir = folder("tls");
    let pki = TestPki::create(&dir).expect("test certificates");
    let tls = |key: &str| json!({"type": "tcp", "port": 0, "tls": {"key": key, "certificate": "server.crt"}});

    let loaded = in_folder(&dir, |v| raw(v)["endpoint"] = tls("server.key")).expect("loads");
    let t = &loaded.config.transports[1];
    let files = &t.tls.as_ref().expect("TLS").files;
    assert_eq!(
        (&files.key, &files.certificate),
        (&pki.key, &pki.certificate)
    );

    let at = "config/x.json: workers[0].transports[1].endpoint.tls";
    let e = in_folder(&dir, |v| raw(v)["endpoint"] = tls("missing.key")).unwrap_err();
    let missing = dir.join("missing.key");
    assert!(
        e.to_string().starts_with(&format!(
            "{at}.key: {}: cannot read it: ",
            missing.display()
        )),
        "{e}"
    );
    let e = in_folder(&dir, |v| raw(v)["endpoint"] = tls("other.key")).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "{at}: key {} and certificate {} do not make a usable pair",
            pki.other_key.display(),
            pki.certificate.display()
        )),
        "{e}"
    );
    let e = in_folder(&dir, |v| raw(v)["endpoint"] = tls("server.crt")).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("no PEM private key (BEGIN PRIVATE KEY) in it"),
        "{e}"
    );
    let w = in_folder(&dir, |v| {
        raw(v)["endpoint"] = tls("server.key");
        raw(v)["endpoint"]["tls"]["ciphers"] = json!("ECDHE-RSA-AES128-GCM-SHA256");
    })
    .expect("loads")
    .warnings;
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with(&format!("{at}.ciphers: rustls chooses")),
        "{w:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_universal_transport_serves_rawsocket_and_websocket_paths_on_one_socket() {
    let universal = json!({
        "type": "universal",
        "endpoint": {"type": "tcp", "port": 9100},
        "rawsocket": {"serializers": ["msgpack"]},
        "websocket": {"ws": {"type": "websocket"}},
        "web": {"paths": {"/": {"type": "static", "directory": "."}, "ws2": {"type": "websocket"}}}
    });
    let loaded = with(|v| v["workers"][0]["transports"][1] = universal.clone()).expect("loads");
    let t = &loaded.config.transports;
    let kinds: Vec<_> = t[1..].iter().map(|t| t.kind.path()).collect();
    assert_eq!(kinds, [None, Some("/ws"), Some("/ws2")]);
    assert!(t[1..].iter().all(|u| u.listener == t[1].listener));
    assert_ne!(t[0].listener, t[1].listener);
    assert_eq!(t[1].serializers, [SerializerKind::Msgpack]);
    assert_eq!(
        loaded.warnings,
        [
            "config/x.json: workers[0].transports[1].web.paths[\"/\"]: web service type \"static\" is \
          not supported by wampstat, ignored"
        ]
    );

    let e = with(|v| {
        let mut u = universal.clone();
        u["web"]["paths"]["ws"] = json!({"type": "websocket"});
        v["workers"][0]["transports"][1] = u;
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "config/x.json: workers[0].transports[1].web.paths.ws: WebSocket path /ws is already \
         served by workers[0].transports[1].websocket.ws"
    );
}

#[test]
fn separate_transports_cannot_share_a_port() {
    let e = with(|v| raw(v)["endpoint"] = json!({"type": "tcp", "port": 8080})).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "config/x.json: workers[0].transports[1]: listening address 0.0.0.0:8080 is \
             already used by workers[0].transports[0].paths.ws;"
        ),
        "{e}"
    );
}

#[test]
fn keepalive_pings_are_on_for_websocket_and_asked_for_on_rawsocket() {
    let loaded = with(|_| {}).expect("loads");
    let t = &loaded.config.transports;
    assert_eq!(t[0].keepalive, Some(Keepalive::WEBSOCKET), "WebSocket: on");
    assert_eq!(t[1].keepalive, None, "RawSocket: off unless asked for");
    let loaded = with(|v| {
        ws(v)["options"]["auto_ping_interval"] = json!(0);
        raw(v)["options"] =
            json!({"auto_ping_interval": 10000, "auto_ping_timeout": 5000, "auto_ping_size": 16});
    })
    .expect("loads");
    let t = &loaded.config.transports;
    assert_eq!(t[0].keepalive, None, "0 turns them off");
    let ms = std::time::Duration::from_millis;
    assert_eq!(
        t[1].keepalive,
        Some(Keepalive {
            interval: ms(10_000),
            timeout: ms(5_000),
            size: 16
        })
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let e = with(|v| raw(v)["options"] = json!({"auto_ping_interval": -1})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config/x.json: workers[0].transports[1].options.auto_ping_interval: must be \
         milliseconds from 0 to 86400000 (a day), got -1"
    );
    let e = with(|v| ws(v)["options"]["auto_ping_size"] = json!(200)).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("auto_ping_size: must be from 4 to 125 bytes, got 200"),
        "{e}"
    );
}
