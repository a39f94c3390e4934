//! The `wamp-loadgen` binary against the real router: `--json` follows its published schema
//! (`loadgen/schema/summary.schema.json`), and bad input ends with a clear message and the
//! documented exit status.

use std::process::Output;

use serde_json::Value as Json;
use wamp_router::config::Config;
use wamp_router::{Router, RouterOptions};

async fn router_with(config: Config) -> Router {
    Router::start(config.on_free_loopback_ports(), RouterOptions::default())
        .await
        .expect("router starts")
}

/// Runs the binary with `args` (off the async runtime: it blocks until the process ends).
async fn loadgen(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_wamp-loadgen"))
            .args(["--progress", "never"])
            .args(args)
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn schema() -> Json {
    serde_json::from_str(include_str!("../schema/summary.schema.json")).unwrap()
}

/// Checks `v` against the subset of JSON Schema the summary's schema uses: `type`, `const`,
/// `enum`, `required`, `properties`, `additionalProperties` and local `$ref`s.
fn validate(root: &Json, schema: &Json, v: &Json, path: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Json::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("a local $ref");
        return validate(root, &root["$defs"][name], v, path);
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Json::String(s) => vec![s.as_str()],
            Json::Array(a) => a.iter().filter_map(Json::as_str).collect(),
            _ => panic!("bad type in the schema at {path}"),
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.is_u64() || v.is_i64(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        });
        if !ok {
            return Err(format!("{path}: {v} is not of type {types:?}"));
        }
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        return Err(format!("{path}: {v} is not {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Json::as_array)
        && !e.contains(v)
    {
        return Err(format!("{path}: {v} is not one of {e:?}"));
    }
    let Some(obj) = v.as_object() else {
        return Ok(());
    };
    for r in schema
        .get("required")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let r = r.as_str().unwrap();
        if !obj.contains_key(r) {
            return Err(format!("{path}: {r} is missing"));
        }
    }
    let props = schema.get("properties").and_then(Json::as_object);
    for (k, x) in obj {
        let at = format!("{path}.{k}");
        match (
            props.and_then(|p| p.get(k)),
            schema.get("additionalProperties"),
        ) {
            (Some(s), _) => validate(root, s, x, &at)?,
            (None, Some(Json::Bool(false))) => return Err(format!("{at} is not in the schema")),
            (None, Some(s)) if s.is_object() => validate(root, s, x, &at)?,
            _ => {}
        }
    }
    Ok(())
}

fn json_of(out: &Output) -> Json {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON document ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn the_schema_checker_rejects_what_the_schema_forbids() {
    let root = schema();
    let mut bad = serde_json::json!({
        "schema": "wamp-loadgen/1", "scenario": "rpc", "url": "rs://x", "realm": "r",
        "serializer": "json", "rate_per_s": null, "seconds": 1.0, "interrupted": false,
        "measured": {"calls": {"ok": 1, "failed": 0, "per_s": 1.0, "latency_us": null}},
        "errors": {}, "sessions": {"joined": 2, "failed": 0},
        "traffic": {"messages_tx": 1, "messages_rx": 1, "bytes_tx": 1, "bytes_rx": 1},
    });
    assert_eq!(validate(&root, &root, &bad, "$"), Ok(()));
    bad["measured"]["calls"]["ok"] = Json::from(1.5);
    assert!(validate(&root, &root, &bad, "$").is_err());
    bad["measured"]["calls"]["ok"] = Json::from(1);
    bad["extra"] = Json::from(1);
    assert!(validate(&root, &root, &bad, "$").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_summaries_of_every_scenario_follow_the_schema() {
    let router = router_with(Config::embedded_default().config).await;
    let rs = router.rawsocket_url().unwrap();
    let ws = router.websocket_url().unwrap();
    let root = schema();
    let common = |url: &str, rate: &str| {
        args(&[
            "--url",
            url,
            "--rate",
            rate,
            "--duration",
            "300ms",
            "--warmup",
            "0s",
            "--json",
        ])
    };
    let cbor = |url: &str, rate: &str| {
        let mut a = common(url, rate);
        a.extend(args(&["--serializer", "cbor"]));
        a
    };
    let runs: Vec<(Vec<String>, Vec<&str>)> = vec![
        (common(&rs, "1000"), vec!["pubsub", "--subscribers", "2"]),
        (cbor(&rs, "1000"), vec!["pubsub", "--subscribers", "2"]),
        (cbor(&ws, "max"), vec!["rpc", "--concurrency", "4"]),
        (common(&ws, "max"), vec!["rpc", "--concurrency", "1"]),
        (common(&rs, "1000"), vec!["mixed"]),
        (common(&ws, "50"), vec!["churn"]),
        (
            common(&rs, "max"),
            vec!["example", "--parallel", "2", "--interval", "10ms"],
        ),
    ];
    for (mut a, scenario) in runs {
        a.extend(scenario.iter().map(|s| s.to_string()));
        let out = loadgen(a.clone()).await;
        assert!(out.status.success(), "{a:?}: {out:?}");
        let v = json_of(&out);
        validate(&root, &root, &v, "$").unwrap_or_else(|e| panic!("{a:?}: {e}\n{v:#}"));
        assert_eq!(v["scenario"], scenario[0]);
        let ser = if a.iter().any(|x| x == "cbor") {
            "cbor"
        } else {
            "msgpack"
        };
        assert_eq!(v["serializer"], ser, "{v}");
        assert!(v["errors"].as_object().unwrap().is_empty(), "{v}");
        assert!(v["sessions"]["joined"].as_u64().unwrap() > 0, "{v}");
    }
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_ends_with_a_clear_message_and_the_documented_exit_status() {
    // Anonymous may subscribe to anything but publish, call and register nothing.
    let text = include_str!("../../config/default.json")
        .replace("${WAMPSTAT_OPERATOR_TICKET}", "a test ticket")
        .replace("\"call\": true", "\"call\": false")
        .replace("\"register\": true", "\"register\": false")
        .replace("\"publish\": true", "\"publish\": false");
    let restricted = Config::parse(&text, "restricted").unwrap().config;
    let router = router_with(restricted).await;
    let rs = router.rawsocket_url().unwrap();

    let out = loadgen(args(&["--url", "rs://127.0.0.1:9", "rpc"])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "unreachable router: {err}");
    assert!(
        err.contains("rs://127.0.0.1:9") && err.contains("refused"),
        "{err}"
    );

    for (option, value, scenario) in [
        ("--duration", "2x", "rpc"),
        ("--warmup", "-1", "rpc"),
        ("--drain", "soon", "rpc"),
        ("--linger", "5 minutes-ish", "churn"),
        ("--interval", "1 k", "example"),
    ] {
        let (global, local) = if scenario == "rpc" {
            (format!("{option}={value}"), None)
        } else {
            ("--json".to_owned(), Some(format!("{option}={value}")))
        };
        let mut a = args(&["--url", &rs, &global, scenario]);
        a.extend(local);
        let out = loadgen(a.clone()).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {err}");
        assert!(
            err.contains(option) && err.contains("500ms, 2s, 1m"),
            "{a:?}: the option and the accepted forms: {err}"
        );
    }

    let out = loadgen(args(&["--url", &rs, "--serializer", "ubjson", "rpc"])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "unknown serializer: {err}");
    assert!(err.contains("use json, msgpack or cbor"), "{err}");

    let out = loadgen(args(&["--url", &rs, "--realm", "nope", "rpc"])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "refused realm: {err}");
    assert!(err.contains("wamp.error.no_such_realm"), "{err}");

    let out = loadgen(args(&["--url", &rs, "rpc"])).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "may not register: {err}");
    assert!(err.contains("wamp.error.not_authorized"), "{err}");

    // Subscribing is allowed, publishing is not: the run goes on and counts every refusal.
    let out = loadgen(args(&[
        "--url",
        &rs,
        "--rate",
        "1000",
        "--duration",
        "0.2",
        "--warmup",
        "0",
        "--json",
        "pubsub",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2), "publications refused: {out:?}");
    let v = json_of(&out);
    assert_eq!(v["measured"]["publications"]["failed"], 200);
    assert_eq!(v["errors"]["wamp.error.not_authorized"], 200);
    assert_eq!(v["measured"]["events"]["ok"], 0);
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_prints_the_summary_so_far_and_exits_130() {
    use std::io::Read;
    let router = router_with(Config::embedded_default().config).await;
    let url = router.rawsocket_url().unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wamp-loadgen"))
            .args([
                "--url",
                &url,
                "--rate",
                "1000",
                "--duration",
                "60",
                "--warmup",
                "0",
            ])
            .args(["--progress", "always", "--json", "rpc"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary runs");
        // Wait for the first progress line (after about a second), then press Ctrl-C.
        let mut stderr = child.stderr.take().unwrap();
        let mut seen = Vec::new();
        let mut chunk = [0u8; 256];
        while !String::from_utf8_lossy(&seen).contains("ok ") {
            let n = stderr.read(&mut chunk).expect("stderr is readable");
            assert!(
                n > 0,
                "ended before any progress: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&chunk[..n]);
        }
        // The shell's own `kill`: no process tools needed.
        let kill = std::process::Command::new("sh")
            .args(["-c", &format!("kill -INT {}", child.id())])
            .status()
            .expect("sh runs");
        assert!(kill.success());
        let out = child.wait_with_output().expect("it ends");
        (out, seen)
    })
    .await
    .unwrap();
    let (out, progress) = out;
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert!(String::from_utf8_lossy(&progress).contains("sent "));
    let v = json_of(&out);
    assert_eq!(v["interrupted"], true);
    let calls = &v["measured"]["calls"];
    assert!(
        calls["ok"].as_u64().unwrap() >= 500,
        "about a second at 1,000/s: {v}"
    );
    assert!(v["seconds"].as_f64().unwrap() < 30.0, "{v}");
    assert!(v["errors"].as_object().unwrap().is_empty(), "{v}");
    router.shutdown().await;
}

/// Runs the binary with `args` and the environment variable `env`.
async fn loadgen_with_env(args: Vec<String>, env: (&'static str, &'static str)) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_wamp-loadgen"))
            .args(["--progress", "never"])
            .args(args)
            .env_remove("WAMP_TICKET")
            .env_remove("WAMP_SECRET")
            .env(env.0, env.1)
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_logs_in_with_a_ticket_from_the_environment_or_a_file_and_says_why_not() {
    let text = include_str!("../../config/default.json")
        .replace("${WAMPSTAT_OPERATOR_TICKET}", "a test ticket");
    let mut v: Json = serde_json::from_str(&text).unwrap();
    v["workers"][0]["transports"][1]["auth"] = serde_json::json!({
        "ticket": {"type": "static", "principals": {"alice": {"ticket": "s3cret", "role": "anonymous"}}}
    });
    let router = router_with(Config::parse(&v.to_string(), "ticket").unwrap().config).await;
    let rs = router.rawsocket_url().unwrap();
    let run = |extra: &[&str]| {
        let mut a = args(&["--url", &rs, "--authmethod", "ticket", "--authid", "alice"]);
        a.extend(args(extra));
        a.extend(args(&["--duration", "200ms", "--warmup", "0", "rpc"]));
        a
    };
    let out = loadgen_with_env(run(&[]), ("WAMP_TICKET", "s3cret")).await;
    assert!(out.status.success(), "{out:?}");

    let file = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("loadgen-ticket");
    std::fs::write(&file, "s3cret\n").unwrap();
    let out = loadgen(run(&["--ticket-file", file.to_str().unwrap()])).await;
    assert!(out.status.success(), "{out:?}");

    let out = loadgen_with_env(run(&[]), ("WAMP_TICKET", "guess")).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("wamp.error.not_authorized"), "{err}");
    assert!(!err.contains("guess"), "no secret in the message: {err}");

    let out = loadgen_with_env(run(&[]), ("WAMP_UNRELATED", "x")).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("WAMP_TICKET"),
        "names where the secret comes from: {err}"
    );
    router.shutdown().await;
}
