//! autobahn-python (from PyPI, pinned in interop/requirements.txt) against our router, over
//! WebSocket and RawSocket with JSON, msgpack and CBOR: a client nobody here wrote.
//!
//! The first test to run creates a virtualenv in Cargo's target tmpdir and installs the pinned
//! packages (needs `python3` with `venv` and access to PyPI); later runs reuse it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv's python, created once per test binary (and reused across runs).
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let requirements = repo_root().join("interop/requirements.txt");
        let wanted =
            std::fs::read_to_string(&requirements).expect("interop/requirements.txt is readable");
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-venv");
        let python = venv.join("bin/python");
        let stamp = venv.join("requirements.installed");
        if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
            && python.exists()
        {
            return python;
        }
        let run = |cmd: &mut Command, what: &str| {
            let out = cmd
                .output()
                .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
            assert!(
                out.status.success(),
                "{what} failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(
            Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(&venv),
            "python3 -m venv",
        );
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&requirements),
            "pip install -r interop/requirements.txt",
        );
        std::fs::write(&stamp, wanted).expect("stamp written");
        python
    })
}

/// Runs `script` from interop/ with `options` (each `--name value`) and asserts that it passed:
/// exit 0 and a last line starting with `ok`. Returns its standard output.
async fn run_script(script: &str, options: &[(&str, &str)], ok: &'static str) -> String {
    let args: Vec<String> = options
        .iter()
        .flat_map(|(name, value)| [format!("--{name}"), value.to_string()])
        .collect();
    let python = tokio::task::spawn_blocking(python)
        .await
        .expect("venv ready");
    let mut cmd = Command::new(python);
    cmd.arg(repo_root().join("interop").join(script))
        .args(&args);
    // The scripts bound themselves to 20 s; the test bounds them too.
    let out = within(script, tokio::task::spawn_blocking(move || cmd.output()))
        .await
        .expect("joined")
        .expect("the script runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{stdout}\n{stderr}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(ok),
        "unexpected last line {last:?}:\n{stdout}\n{stderr}"
    );
    stdout.into_owned()
}

/// Runs the interop client against `url` and asserts that every check passed.
async fn run_client(url: String, serializer: &str, serializer_b: Option<&str>) {
    let mut options = vec![("url", url.as_str()), ("serializer", serializer)];
    options.push(("realm", "realm1"));
    if let Some(b) = serializer_b {
        options.push(("serializer-b", b));
    }
    let stdout = run_script("interop_client.py", &options, "interop OK:").await;
    // Payload pass-through: autobahn's cryptobox events, calls and errors went through the
    // router as ciphertext and were decrypted at the other end (the check did run).
    assert!(
        stdout.contains("ok   cryptobox end-to-end encryption"),
        "the cryptobox check did not run:\n{stdout}"
    );
}

/// One test per transport and serializer: the interop client against a router of its own.
macro_rules! autobahn_over {
    ($($name:ident: $transport:expr, $serializer:literal;)+) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let router = start().await;
            run_client(url(&router, $transport), $serializer, None).await;
            router.shutdown().await;
        }
    )+};
}

autobahn_over! {
    autobahn_over_websocket_json: Transport::Ws, "json";
    autobahn_over_websocket_msgpack: Transport::Ws, "msgpack";
    autobahn_over_rawsocket_json: Transport::Rs, "json";
    autobahn_over_rawsocket_msgpack: Transport::Rs, "msgpack";
    autobahn_over_websocket_cbor: Transport::Ws, "cbor";
    autobahn_over_rawsocket_cbor: Transport::Rs, "cbor";
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_sessions_with_different_serializers_interoperate() {
    let router = start().await;
    run_client(url(&router, Transport::Ws), "json", Some("msgpack")).await;
    run_client(url(&router, Transport::Rs), "msgpack", Some("json")).await;
    // autobahn's cbor2 peers and the others: binary, big payloads and errors transcoded.
    run_client(url(&router, Transport::Ws), "cbor", Some("json")).await;
    run_client(url(&router, Transport::Rs), "msgpack", Some("cbor")).await;
    router.shutdown().await;
}

/// Runs the Crossbar-style Python monitor against `url`, watching a Python client's session
/// over `client_url`.
async fn run_monitor(url: String, serializer: &str, client_url: String, client_serializer: &str) {
    let options = [
        ("url", url.as_str()),
        ("serializer", serializer),
        ("client-url", &client_url),
        ("client-serializer", client_serializer),
        ("realm", "realm1"),
    ];
    run_script("monitor_client.py", &options, "monitor OK:").await;
}

/// Runs the monitor over `transport` with `serializer` twice against a router of its own:
/// watching a JSON client on the same transport, then a msgpack client on the other one.
async fn run_monitor_over(transport: Transport, serializer: &str) {
    let other = match transport {
        Transport::Ws => Transport::Rs,
        Transport::Rs => Transport::Ws,
    };
    let router = start().await;
    let monitors = url(&router, transport);
    run_monitor(monitors.clone(), serializer, monitors.clone(), "json").await;
    run_monitor(monitors, serializer, url(&router, other), "msgpack").await;
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_monitor_sees_join_stats_and_leave_over_websocket() {
    run_monitor_over(Transport::Ws, "json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_monitor_sees_join_stats_and_leave_over_rawsocket() {
    run_monitor_over(Transport::Rs, "msgpack").await;
}

/// autobahn-python logs in with ticket, WAMP-CRA (plain and salted, with its own key
/// derivation) and cryptosign (its own Ed25519 code), over both transports; a wrong secret or
/// key and an unknown authid are refused with `wamp.error.not_authorized`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_logs_in_with_ticket_and_wampcra() {
    // Another Ed25519 seed than dave's.
    const OTHER_SEED: &str = "0000000000000000000000000000000000000000000000000000000000000001";
    let router = start_configured(|config| {
        for t in &mut config.transports {
            t.auth = every_login_method();
        }
    })
    .await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-auth");
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let cases = [
        ("ticket", "alice", "alice's ticket", "ok"),
        ("wampcra", "bob", "bob's secret", "ok"),
        ("wampcra", "carol", "carol's password", "ok"),
        ("ticket", "alice", "a guess", "wamp.error.not_authorized"),
        ("wampcra", "carol", "a guess", "wamp.error.not_authorized"),
        ("ticket", "mallory", "a guess", "wamp.error.not_authorized"),
        ("wampcra", "eve", "a guess", "wamp.error.not_authorized"),
        ("cryptosign", "dave", DAVE_SEED, "ok"),
        (
            "cryptosign",
            "dave",
            OTHER_SEED,
            "wamp.error.not_authorized",
        ),
    ];
    for transport in [Transport::Rs, Transport::Ws] {
        for (i, (method, authid, secret, expect)) in cases.iter().enumerate() {
            let file = dir.join(format!("secret-{i}"));
            std::fs::write(&file, secret).expect("the secret file");
            let options = [
                ("url", url(&router, transport)),
                ("authmethod", method.to_string()),
                ("authid", authid.to_string()),
                ("secret-file", file.display().to_string()),
                ("expect", expect.to_string()),
            ];
            let options: Vec<(&str, &str)> =
                options.iter().map(|(k, v)| (*k, v.as_str())).collect();
            run_script("auth_client.py", &options, "auth OK").await;
        }
    }
    router.shutdown().await;
}

/// autobahn-python over TLS (wss:// and rss:// on one universal port, the router's certificate
/// checked by Python's `ssl` against a CA made for the test) and over a Unix socket, logging in
/// with a ticket; a wrong ticket is refused there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_over_tls_a_universal_port_and_a_unix_socket() {
    let dir = common::endpoints::scratch("interop-endpoints");
    let pki = wamp::transport::tls::test_pki::TestPki::create(&dir).expect("test certificates");
    let sock = dir.join("router.sock");
    let router = common::endpoints::start_universal(Some(&pki), &sock).await;
    let ticket = dir.join("operator-ticket");
    std::fs::write(&ticket, OPERATOR_TICKET).expect("the ticket file");
    let wrong = dir.join("wrong-ticket");
    std::fs::write(&wrong, "a guess").expect("the ticket file");
    let urls = [
        router.websocket_url().expect("wss"),
        router.rawsocket_url().expect("rss"),
        format!("unix://{}", sock.display()),
    ];
    for url in &urls {
        for (file, expect) in [(&ticket, "ok"), (&wrong, "wamp.error.not_authorized")] {
            let options = [
                ("url", url.clone()),
                ("authmethod", "ticket".to_owned()),
                ("authid", "operator".to_owned()),
                ("secret-file", file.display().to_string()),
                ("expect", expect.to_owned()),
                ("ca", pki.ca.display().to_string()),
            ];
            let options: Vec<(&str, &str)> =
                options.iter().map(|(k, v)| (*k, v.as_str())).collect();
            run_script("auth_client.py", &options, "auth OK").await;
        }
    }
    router.shutdown().await;
}

/// An autobahn-python session is the dynamic ticket authenticator, written as a Crossbar
/// authenticator component is (`interop/dynamic_authenticator.py`, which checks that the
/// router's arguments have Crossbar's shape), and autobahn-python clients log in through it:
/// the right ticket joins, a wrong one gets the authenticator's `wamp.error.not_authorized`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_autobahn_authenticator_decides_autobahn_ticket_logins() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    use wamp_router::config::{AuthConfig, Authenticator, DynamicAuth};

    const PROCEDURE: &str = "com.example.authenticate";
    let router = start_configured(|config| {
        for t in &mut config.transports {
            t.auth = AuthConfig {
                dynamic: DynamicAuth {
                    ticket: Some(Authenticator {
                        procedure: PROCEDURE.into(),
                        realm: None,
                        default_role: None,
                    }),
                    ..DynamicAuth::default()
                },
                ..AuthConfig::anonymous_only("anonymous")
            };
        }
    })
    .await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-dynamic-auth");
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let (right, wrong) = (dir.join("right"), dir.join("wrong"));
    std::fs::write(&right, "erin's ticket").expect("the ticket file");
    std::fs::write(&wrong, "a guess").expect("the ticket file");
    let rs = url(&router, Transport::Rs);

    let python = tokio::task::spawn_blocking(python)
        .await
        .expect("venv ready");
    let mut authenticator = Command::new(python)
        .arg(repo_root().join("interop/dynamic_authenticator.py"))
        .args([
            "--url",
            &rs,
            "--procedure",
            PROCEDURE,
            "--principal",
            "erin",
        ])
        .arg("--ticket-file")
        .arg(&right)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the authenticator starts");
    let stdout = authenticator.stdout.take().expect("its stdout");
    // Python's start-up included (its first one after the venv was made compiles autobahn).
    let reading = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        (line, reader)
    });
    let (ready, mut stdout) = tokio::time::timeout(std::time::Duration::from_secs(30), reading)
        .await
        .expect("the authenticator registers within 30 s")
        .expect("read");
    assert_eq!(ready.trim(), "authenticator ready");

    for (file, expect) in [(&right, "ok"), (&wrong, "wamp.error.not_authorized")] {
        let file = file.display().to_string();
        let options = [
            ("url", rs.as_str()),
            ("authmethod", "ticket"),
            ("authid", "erin"),
            ("secret-file", file.as_str()),
            ("expect", expect),
        ];
        run_script("auth_client.py", &options, "auth OK").await;
    }

    // Its standard input closed, it leaves and reports.
    drop(authenticator.stdin.take());
    let (status, rest) = within(
        "the authenticator's end",
        tokio::task::spawn_blocking(move || {
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest);
            (authenticator.wait(), rest)
        }),
    )
    .await
    .expect("joined");
    let last = rest.lines().last().unwrap_or_default();
    assert!(status.expect("exit status").success(), "{rest}");
    assert_eq!(last, "authenticator OK: 2 calls", "{rest}");
    router.shutdown().await;
}

/// autobahn-python leaves a testament and drops its connection without GOODBYE; another
/// autobahn-python session receives it (`interop/testament_client.py`), over both transports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_autobahn_testament_is_published_when_its_connection_drops() {
    let router = start().await;
    for (transport, serializer) in [(Transport::Ws, "json"), (Transport::Rs, "msgpack")] {
        let u = url(&router, transport);
        let options = [("url", u.as_str()), ("serializer", serializer)];
        run_script("testament_client.py", &options, "testament OK").await;
    }
    router.shutdown().await;
}

/// autobahn-python publishes with `retain=True`; a later autobahn-python subscriber with
/// `get_retained=True` receives the last retained event, marked retained, and gets both from
/// `wamp.subscription.get_events` (`interop/retained_client.py`), over both transports, each
/// on a router of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_gets_the_retained_event_and_the_history_when_it_subscribes_late() {
    for (transport, serializer) in [(Transport::Ws, "json"), (Transport::Rs, "msgpack")] {
        let router = start_configured(|config| {
            config.realms[0].event_history = vec![wamp_router::config::HistoryConfig {
                uri: "com.example.retained".into(),
                policy: wamp::MatchPolicy::Exact,
                limit: 10,
            }];
        })
        .await;
        let u = url(&router, transport);
        let options = [("url", u.as_str()), ("serializer", serializer)];
        run_script("retained_client.py", &options, "retained OK").await;
        router.shutdown().await;
    }
}

/// nats-server and a cluster node `node-<n>` for each of `names` (scratch folders
/// `<scratch>-<n>`); `None`, with a printed line, when `test` is skipped for want of
/// nats-server. Each process is stopped by its PID when dropped.
fn cluster(
    test: &str,
    scratch: &str,
    names: &[&str],
) -> Option<(Vec<common::child::RouterProcess>, common::nats::NatsServer)> {
    let bin = common::nats::nats_server_or_skip(test)?;
    let nats = common::nats::NatsServer::start(&bin, scratch);
    let url = nats.url();
    let nodes = names
        .iter()
        .map(|n| {
            let (dir, node) = (format!("{scratch}-{n}"), format!("node-{n}"));
            common::nats::start_cluster_node(&dir, &node, &url, &[])
        })
        .collect();
    Some((nodes, nats))
}

/// **[ours]** autobahn-python across two nodes of a cluster (issue 17): a publisher on node A
/// (WebSocket, JSON), two subscribers on node B (RawSocket, msgpack); `cluster_client.py`
/// checks exact, prefix and wildcard delivery once each, publisher disclosure, the topic, args
/// and kwargs, and `exclude` and `eligible` naming sessions on B. Needs nats-server (see
/// `common::nats`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_clients_on_two_cluster_nodes_exchange_publications() {
    let Some((nodes, nats)) = cluster(
        "autobahn_clients_on_two_cluster_nodes_exchange_publications",
        "interop-cluster",
        &["a", "b"],
    ) else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    let options = [
        ("url-a", a.ws.as_str()),
        ("serializer-a", "json"),
        ("url-b", b.rs.as_str()),
        ("serializer-b", "msgpack"),
    ];
    let stdout = run_script("cluster_client.py", &options, "cluster OK:").await;
    assert!(
        stdout.contains("only the eligible session"),
        "the eligibility check ran: {stdout}"
    );
    drop((nodes, nats));
}

/// **[ours]** autobahn-python RPC across three nodes of a cluster (issue 17): the caller and a
/// callee on node A (WebSocket, JSON), a callee on B (RawSocket, msgpack), a callee on C
/// (WebSocket, CBOR). `cluster_rpc.py` checks a round robin over one callee per node (30 calls,
/// 10 each), `single` refused on a second node, progressive results from C, and a cancel of a
/// call to B both the way autobahn's API does it (`future.cancel()`: CANCEL without a mode) and
/// with mode `kill` (the callee's ERROR crosses back). Needs nats-server (see `common::nats`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_rpc_across_three_cluster_nodes_round_robin_single_progress_and_cancel() {
    let Some((nodes, nats)) = cluster(
        "autobahn_rpc_across_three_cluster_nodes_round_robin_single_progress_and_cancel",
        "interop-cluster-rpc",
        &["a", "b", "c"],
    ) else {
        return;
    };
    let [a, b, c] = &nodes[..] else {
        unreachable!()
    };
    let options = [
        ("url-a", a.ws.as_str()),
        ("serializer-a", "json"),
        ("url-b", b.rs.as_str()),
        ("serializer-b", "msgpack"),
        ("url-c", c.ws.as_str()),
        ("serializer-c", "cbor"),
    ];
    let stdout = run_script("cluster_rpc.py", &options, "cluster rpc OK:").await;
    print!("{stdout}"); // each check's time, with --nocapture
    for line in [
        "nodes: A=node-a AR=node-a B=node-b C=node-c",
        "ok   rpc round robin over three nodes",
        "served: node-a=10 node-b=10 node-c=10",
        "ok   rpc single refused on a second node",
        "ok   rpc progressive results across nodes",
        "ok   rpc cancel across nodes",
        "caller: ERROR wamp.error.canceled; callee on node-b: INTERRUPT mode='killnowait'",
        "ok   rpc cancel mode kill across nodes",
        "caller: the callee's ERROR wamp.error.canceled ['stopped on node-b']; callee: INTERRUPT \
         mode='kill'",
    ] {
        assert!(stdout.contains(line), "no line {line:?}:\n{stdout}");
    }
    drop((nodes, nats));
}
