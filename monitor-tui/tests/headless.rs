//! `wamp-monitor --json`, `--plain` and `--once` against a real router, as a script uses them.

mod common;

use common::router;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use wamp::{Serializer, Session, SessionOptions};

/// Runs the monitor with `args` and returns its stdout lines until `enough` says stop (then
/// kills it). Bounded by 10 s.
fn lines_until(args: &[&str], enough: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wamp-monitor"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the monitor starts");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !enough(&lines) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => lines.push(l),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_prints_one_meta_event_per_line() {
    let router = router().await;
    let url = router.websocket_url().unwrap();
    let rs = router.rawsocket_url().unwrap();
    let client = tokio::spawn(async move {
        // Join and leave until the monitor has seen a full session (it may connect late).
        for _ in 0..100 {
            let s = Session::join(
                &rs,
                "realm1",
                SessionOptions {
                    serializer: Serializer::Msgpack,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            s.leave("wamp.close.normal").await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let lines = tokio::task::spawn_blocking(move || {
        lines_until(&["--json", "--url", &url], |l| {
            l.iter().any(|l| l.contains("wamp.session.on_leave"))
        })
    })
    .await
    .unwrap();
    client.abort();
    let mut topics = Vec::new();
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        if let Some(t) = v.get("topic").and_then(|t| t.as_str()) {
            assert!(
                v["args"].is_array() && v["kwargs"].is_object() && v["ts"].is_f64(),
                "{l}"
            );
            topics.push(t.to_owned());
        } else {
            assert!(
                v.get("connected").is_some() || v.get("snapshot").is_some(),
                "{l}"
            );
        }
    }
    assert!(
        topics.iter().any(|t| t == "wamp.session.on_join"),
        "{lines:?}"
    );
    assert!(
        topics.iter().any(|t| t == "wamp.session.on_stats"),
        "{lines:?}"
    );
    assert!(
        topics.iter().any(|t| t == "wamp.session.on_leave"),
        "{lines:?}"
    );
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_prints_the_live_sessions_and_exits() {
    let router = router().await;
    let url = router.websocket_url().unwrap();
    let s = Session::join(&url, "realm1", SessionOptions::default())
        .await
        .unwrap();
    let id = s.id().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_wamp-monitor"))
            .args(["--once", "--url", &url])
            .output()
    })
    .await
    .unwrap()
    .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .next()
            .unwrap_or_default()
            .starts_with("SESSION"),
        "{text}"
    );
    assert!(text.contains(&id), "{text}");
    assert_eq!(
        text.lines().count(),
        2,
        "the header and the one session (not the monitor itself): {text}"
    );
    router.shutdown().await;
}

/// `--serializer cbor` over both transports: the monitor joins with CBOR and lists a CBOR
/// session as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_speaks_cbor_over_websocket_and_rawsocket() {
    let router = router().await;
    let cbor = SessionOptions {
        serializer: Serializer::Cbor,
        ..SessionOptions::default()
    };
    let rs = router.rawsocket_url().unwrap();
    let ws = router.websocket_url().unwrap();
    let s = Session::join(&rs, "realm1", cbor).await.unwrap();
    let id = s.id().to_string();
    for url in [ws, rs] {
        let out = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_wamp-monitor"))
                .args(["--once", "--url", &url, "--serializer", "cbor"])
                .output()
        })
        .await
        .unwrap()
        .expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let row = text.lines().find(|l| l.contains(&id));
        assert!(row.is_some_and(|r| r.contains("cbor")), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
    }
    router.shutdown().await;
}

#[test]
fn durations_take_the_forms_people_type_and_bad_ones_name_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_wamp-monitor"))
        .args(["--once", "--retention", "half a minute"])
        .output()
        .expect("the monitor runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--retention") && err.contains("500ms, 2s, 1m"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_logs_in_with_wampcra_and_shows_the_method() {
    use wamp_router::config::{AuthConfig, CraUser, Identity, Secret};
    let user = CraUser {
        secret: Secret::new("cra secret"),
        identity: Identity {
            role: "anonymous".into(),
            realm: None,
        },
        salt: None,
    };
    let mut config = wamp_router::config::Config::embedded_default()
        .config
        .on_free_loopback_ports();
    for t in &mut config.transports {
        t.auth = AuthConfig {
            wampcra: Some([("ops".to_owned(), user.clone())].into()),
            ..AuthConfig::anonymous_only("anonymous")
        };
    }
    let router = wamp_router::Router::start(config, wamp_router::RouterOptions::default())
        .await
        .expect("router starts");
    let url = router.rawsocket_url().unwrap();
    let s = Session::join(&url, "realm1", SessionOptions::default())
        .await
        .unwrap();
    let run = |secret: &'static str| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_wamp-monitor"))
                .args(["--once", "--url", &url, "--serializer", "msgpack"])
                .args(["--authmethod", "wampcra", "--authid", "ops"])
                .env("WAMP_SECRET", secret)
                .output()
                .expect("runs")
        })
    };
    let out = run("cra secret").await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&s.id().to_string()), "{text}");
    let out = run("wrong").await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("wamp.error.not_authorized") && !err.contains("wrong"),
        "{err}"
    );
    router.shutdown().await;
}

/// The TLS example config (`config/examples/tls-universal.json`, its tickets written in), run
/// from a folder with a key and certificate made for the test: `--once` logs in with a ticket
/// over wss:// (trusting the test CA with `--ca`) and anonymously over the Unix socket, and
/// shows a session that joined over rss:// on the same port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_over_wss_with_a_private_ca_and_over_a_unix_socket() {
    use wamp::auth::{Credentials, Login};
    use wamp::transport::tls::{TrustRoots, test_pki::TestPki};
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("monitor-tls");
    let _ = std::fs::remove_dir_all(&dir);
    let pki = TestPki::create(&dir).expect("test certificates");
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/examples/tls-universal.json"
    );
    let text = std::fs::read_to_string(example)
        .expect("the example")
        .replace("${BACKEND_TICKET}", "backend ticket")
        .replace("${OPS_TICKET}", "ops ticket");
    let file = dir.join("config.json");
    std::fs::write(&file, text).expect("config written");
    let config = wamp_router::config::Config::load_file(&file)
        .expect("the example loads")
        .config
        .on_free_loopback_ports();
    let router = wamp_router::Router::start(config, wamp_router::RouterOptions::default())
        .await
        .expect("router starts");
    let wss = router.websocket_url().expect("wss");
    let rss = router.rawsocket_url().expect("rss");
    let backend = Session::join(
        &rss,
        "realm1",
        SessionOptions {
            serializer: Serializer::Msgpack,
            login: Login {
                authid: Some("backend".into()),
                credentials: Credentials::Ticket("backend ticket".into()),
            },
            trust: TrustRoots::File(pki.ca.clone()),
            ..Default::default()
        },
    )
    .await
    .expect("the backend joins over rss://");
    let id = backend.id().to_string();
    let ca = pki.ca.display().to_string();
    let unix = format!("unix://{}", dir.join("router.sock").display());
    let run = move |args: Vec<String>, ticket: Option<&'static str>| {
        tokio::task::spawn_blocking(move || {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_wamp-monitor"));
            cmd.arg("--once").args(args);
            if let Some(t) = ticket {
                cmd.env("WAMP_TICKET", t);
            }
            cmd.output().expect("runs")
        })
    };
    let by_ticket = [
        "--url",
        &wss,
        "--ca",
        &ca,
        "--authmethod",
        "ticket",
        "--authid",
        "ops",
    ];
    let cases = [
        (by_ticket.map(String::from).to_vec(), Some("ops ticket")),
        (vec!["--url".to_owned(), unix], None),
    ];
    for (args, ticket) in cases {
        let out = run(args.clone(), ticket).await.expect("joined");
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        let row = text.lines().find(|l| l.contains(&id));
        assert!(
            row.is_some_and(|r| r.contains("backend")),
            "{args:?}: {text}"
        );
    }
    // Without --ca the router's certificate is not trusted: one line, exit status 1.
    let out = run(vec!["--url".to_owned(), wss.clone()], None)
        .await
        .expect("joined");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("certificate"), "{err}");
    backend.leave("wamp.close.normal").await.expect("leaves");
    router.shutdown().await;
}

/// With a role allowed only `wamp.session.*` — as in `interop/crossbar/config.json`, which this
/// test loads — `wampstat.session.stats` is refused as not authorized (Crossbar checks the
/// permission before whether the procedure exists): `--once` falls back to `wamp.session.list`
/// and `get` and still shows the other session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_lists_sessions_when_its_role_may_only_use_wamp_session() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../interop/crossbar/config.json"
    );
    let text = std::fs::read_to_string(path).expect("the interop config");
    let config = wamp_router::config::Config::parse(&text, path)
        .expect("our router reads the Crossbar config")
        .config
        .on_free_loopback_ports();
    let router = wamp_router::Router::start(config, wamp_router::RouterOptions::default())
        .await
        .expect("router starts");
    let url = router.rawsocket_url().unwrap();
    let app = Session::join(&url, "realm1", SessionOptions::default())
        .await
        .unwrap();
    assert_eq!(
        app.welcome().get("authrole").and_then(wamp::Value::as_str),
        Some("app")
    );
    let run = |ticket: &'static str| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_wamp-monitor"))
                .args(["--once", "--url", &url])
                .args(["--authmethod", "ticket", "--authid", "ops-ticket"])
                .env("WAMP_TICKET", ticket)
                .output()
                .expect("runs")
        })
    };
    let out = run("monitor-ticket-do-not-reuse").await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&app.id().to_string()), "{text}");
    assert!(text.contains(" app "), "the other session's role: {text}");
    let out = run("not the ticket").await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("as ops-ticket (ticket)")
            && err.contains("wamp.error.not_authorized: ticket in static WAMP-Ticket"),
        "{err}"
    );
    assert!(!err.contains("not the ticket"), "{err}");
    router.shutdown().await;
}
