//! `wamp-monitor` against a real Crossbar.io node (pinned in interop/crossbar-requirements.txt)
//! with `interop/crossbar/config.json`: it logs in with ticket, salted and plain WAMP-CRA and
//! cryptosign, lists the node's other sessions, follows its meta events, and a wrong secret
//! gives one line naming the method and Crossbar's reason, exit status 1.
//!
//! The first run creates a virtualenv in Cargo's target tmpdir and installs Crossbar (about 90 s
//! on this machine; needs `python3` with `venv` and access to PyPI); later runs reuse it. The
//! node runs on free loopback ports from a temporary node directory and is stopped, with its
//! worker processes, through its process group.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use wamp::{Serializer, Session, SessionOptions, Value};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv's `crossbar`, installed from the pinned requirements unless already there.
fn crossbar_binary() -> PathBuf {
    let requirements = repo_root().join("interop/crossbar-requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).expect("the requirements are readable");
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crossbar-venv");
    let binary = venv.join("bin/crossbar");
    let stamp = venv.join("requirements.installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && binary.exists() {
        return binary;
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
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("-r")
            .arg(&requirements),
        "pip install -r interop/crossbar-requirements.txt",
    );
    std::fs::write(&stamp, wanted).expect("stamp written");
    binary
}

/// A free port on 127.0.0.1 (the OS picks it; Crossbar binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running Crossbar node; dropping it stops the node's whole process group.
struct Node {
    child: Child,
    dir: PathBuf,
    ws: u16,
    rs: u16,
}

impl Node {
    /// Starts Crossbar with the interop config on free ports and waits (at most 90 s) until
    /// both transports accept connections.
    fn start() -> Node {
        let binary = crossbar_binary();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("crossbar-node-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("node dir");
        let text = std::fs::read_to_string(repo_root().join("interop/crossbar/config.json"))
            .expect("the interop config");
        let mut config: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let (ws, rs) = (free_port(), free_port());
        let transports = &mut config["workers"][0]["transports"];
        transports[0]["endpoint"]["port"] = ws.into();
        transports[1]["endpoint"]["port"] = rs.into();
        std::fs::write(dir.join("config.json"), config.to_string()).expect("config written");
        let log = std::fs::File::create(dir.join("node.log")).expect("log file");
        let child = Command::new(binary)
            .args(["start", "--loglevel", "info", "--cbdir"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            // Its own process group: the controller forks a router worker.
            .process_group(0)
            .spawn()
            .expect("crossbar starts");
        let mut node = Node { child, dir, ws, rs };
        let deadline = Instant::now() + Duration::from_secs(90);
        for port in [ws, rs] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Ok(Some(status)) = node.child.try_wait() {
                    panic!("crossbar exited ({status}):\n{}", node.log());
                }
                assert!(
                    Instant::now() < deadline,
                    "crossbar not listening on {port} after 90 s:\n{}",
                    node.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        node
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    /// A file in the node dir holding `secret` (the monitor reads secrets from files).
    fn secret_file(&self, name: &str, secret: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, format!("{secret}\n")).expect("secret written");
        path
    }

    /// Sends the process group `signal` (by the controller's PID, which is the group's id).
    fn signal_group(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.signal_group("-TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (a worker that outlived the controller, or all of it).
        self.signal_group("-KILL");
        let _ = self.child.wait();
        // Kept after a failure, for its node.log.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The test credentials of `interop/crossbar/config.json`.
const TICKET: &str = "monitor-ticket-do-not-reuse";
const CRA_PASSWORD: &str = "monitor-password";
const CRA_PLAIN: &str = "monitor-cra-plain-secret";
const SEED: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const OTHER_SEED: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

/// Runs `wamp-monitor` with `args` (bounded: `--once` ends by itself after joining).
async fn monitor(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_wamp-monitor"))
            .args(args)
            .output()
            .expect("the monitor runs")
    })
    .await
    .expect("joined")
}

/// The monitor's `--authmethod`, `--authid` and secret-file flags for one login.
fn login(method: &str, authid: Option<&str>, file: &Path) -> Vec<String> {
    let mut args = vec!["--authmethod".to_owned(), method.to_owned()];
    if let Some(a) = authid {
        args.extend(["--authid".to_owned(), a.to_owned()]);
    }
    args.extend(["--secret-file".to_owned(), file.display().to_string()]);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_logs_in_to_crossbar_with_every_method() {
    let node = tokio::task::spawn_blocking(Node::start)
        .await
        .expect("node started");
    let rs = format!("rs://127.0.0.1:{}", node.rs);
    let ws = format!("ws://127.0.0.1:{}/ws", node.ws);
    // The other session, anonymous (role app), which every monitor must list.
    let app = Session::join(
        &rs,
        "realm1",
        SessionOptions {
            serializer: Serializer::Msgpack,
            ..Default::default()
        },
    )
    .await
    .expect("an anonymous session joins Crossbar");
    assert_eq!(
        app.welcome().get("authrole").and_then(Value::as_str),
        Some("app")
    );
    let app_id = app.id().to_string();
    let ticket = node.secret_file("ticket", TICKET);
    let cra = node.secret_file("cra", CRA_PASSWORD);
    let cra_plain = node.secret_file("cra-plain", CRA_PLAIN);
    let key = node.secret_file("key", SEED);
    let wrong = node.secret_file("wrong", "not-the-secret");
    let wrong_key = node.secret_file("wrong-key", OTHER_SEED);
    let logins: [(&str, Option<&str>, &Path, &Path, &str); 5] = [
        (
            "ticket",
            Some("ops-ticket"),
            &ticket,
            &wrong,
            "ticket in static WAMP-Ticket authentication is invalid",
        ),
        (
            "wampcra",
            Some("ops-cra"),
            &cra,
            &wrong,
            "WAMP-CRA client signature is invalid",
        ),
        (
            "wampcra",
            Some("ops-cra-plain"),
            &cra_plain,
            &wrong,
            "WAMP-CRA client signature is invalid",
        ),
        (
            "cryptosign",
            Some("ops-key"),
            &key,
            &wrong_key,
            "extra.pubkey provided does not match",
        ),
        (
            "cryptosign",
            None,
            &key,
            &wrong_key,
            "no principal found for provided extra.pubkey",
        ),
    ];
    for (url, serializer) in [(&rs, "msgpack"), (&ws, "json")] {
        for (method, authid, good, bad, refusal) in logins {
            let base = ["--once", "--url", url, "--serializer", serializer].map(String::from);
            let what = format!("{method} {authid:?} over {url}");
            let out = monitor([base.as_slice(), &login(method, authid, good)].concat()).await;
            let text = String::from_utf8_lossy(&out.stdout);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{what}: {err}\n{}", node.log());
            assert!(
                text.contains(&app_id) && text.contains(" app "),
                "{what}: {text}"
            );
            let out = monitor([base.as_slice(), &login(method, authid, bad)].concat()).await;
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{what} with a wrong secret: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
            let named = authid.map_or_else(|| method.to_owned(), |a| format!("{a} ({method})"));
            assert!(
                err.contains(&format!("as {named}:"))
                    && err.contains("wamp.error.not_authorized: ")
                    && err.contains(refusal),
                "{what}: {err}"
            );
            assert!(
                !err.contains("not-the-secret") && !err.contains(OTHER_SEED),
                "{err}"
            );
        }
    }
    follows_meta_events(&rs, &ticket, &app_id).await;
    drop(app);
    drop(node);
}

/// `--json` (which subscribes to `wamp.session.` as the dashboard does): the snapshot lists the
/// other session, and a session that joins afterwards arrives as `wamp.session.on_join`. In
/// CBOR: our encoder and decoder against Crossbar's (cbor2).
async fn follows_meta_events(url: &str, ticket: &Path, app_id: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wamp-monitor"))
        .args(["--json", "--url", url, "--serializer", "cbor"])
        .args(login("ticket", Some("ops-ticket"), ticket))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
    let deadline = Instant::now() + Duration::from_secs(20);
    let next_line = || {
        rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .ok()
    };
    let mut seen = Vec::new();
    // The snapshot comes after the subscription, so a session joining after it is followed.
    while let Some(line) = next_line() {
        seen.push(line);
        if seen.last().is_some_and(|l| l.starts_with("{\"snapshot\"")) {
            break;
        }
    }
    let snapshot = seen.last().cloned().unwrap_or_default();
    let late = Session::join(url, "realm1", SessionOptions::default())
        .await
        .expect("a second session joins");
    let late_id = late.id();
    let mut joined = false;
    while let Some(line) = next_line() {
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON lines");
        seen.push(line);
        if v["topic"] == "wamp.session.on_join" && v["args"][0]["session"] == late_id {
            joined = true;
            break;
        }
    }
    let _ = late.leave("wamp.close.normal").await;
    let _ = child.kill();
    let _ = child.wait();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(snapshot.contains(app_id), "{seen:?}\n{err}");
    assert!(joined, "no on_join for {late_id}: {seen:?}\n{err}");
}
