//! The `wamp-router` binary: configuration checks and the errors a user sees.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `wamp-router --check` with `args`.
fn check(args: &[&OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wamp-router"))
        .env("WAMPSTAT_OPERATOR_TICKET", "the cli test's ticket")
        .arg("--check")
        .args(args)
        .output()
        .expect("runs")
}

/// Asserts that the check passed, showing what the router said otherwise.
fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn with_stats(stats: &str) -> String {
    let default = include_str!("../../config/default.json");
    let mut v: serde_json::Value = serde_json::from_str(default).expect("default config is JSON");
    v["workers"][0]["realms"][0]["stats"] = serde_json::from_str(stats).expect("stats JSON");
    serde_json::to_string_pretty(&v).expect("serializes")
}

#[test]
fn check_accepts_the_default_and_crossbar_configs() {
    let out = check(&[]);
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
    let crossbar = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/crossbar/crossbar-config.json"
    );
    assert_success(&check(&["--config".as_ref(), crossbar.as_ref()]));
}

#[test]
fn invalid_stats_blocks_are_refused_with_file_path_and_problem() {
    let dir = scratch("cli-stats");
    let cases = [
        (
            r#"{"rated_message_size": 255, "trigger_after_rated_messages": 10}"#,
            "workers[0].realms[0].stats.rated_message_size",
            "even",
        ),
        (
            r#"{"rated_message_size": 256, "trigger_after_rated_messages": 0, "trigger_after_duration": 0}"#,
            "workers[0].realms[0].stats",
            "at least one of",
        ),
        (
            r#"{"rated_message_size": "256", "trigger_after_rated_messages": 10}"#,
            "workers[0].realms[0].stats.rated_message_size",
            "expected an integer",
        ),
        (
            r#"{"trigger_after_rated_messages": -1}"#,
            "workers[0].realms[0].stats.trigger_after_rated_messages",
            "",
        ),
        (
            r#"{"trigger_on_join": "yes", "trigger_after_rated_messages": 10}"#,
            "workers[0].realms[0].stats.trigger_on_join",
            "",
        ),
    ];
    for (i, (stats, path, problem)) in cases.iter().enumerate() {
        let file = dir.join(format!("bad{i}.json"));
        std::fs::write(&file, with_stats(stats)).expect("written");
        let out = check(&["--config".as_ref(), file.as_ref()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stats} was accepted");
        assert!(
            err.contains(&file.display().to_string()),
            "names the file: {err}"
        );
        assert!(err.contains(path), "names the path {path}: {err}");
        assert!(err.contains(problem), "says {problem:?}: {err}");
    }
}

#[test]
fn cbdir_reads_config_json() {
    let dir = scratch("cli-cbdir");
    std::fs::write(
        dir.join("config.json"),
        include_str!("../../config/default.json"),
    )
    .expect("written");
    assert_success(&check(&["--cbdir".as_ref(), dir.as_ref()]));
    let missing = scratch("cli-empty");
    let out = check(&["--cbdir".as_ref(), missing.as_ref()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.json"));
}

#[test]
fn durations_take_the_forms_people_type_and_bad_ones_name_them() {
    assert_success(&check(&[
        "--hello-timeout".as_ref(),
        "500ms".as_ref(),
        "--goodbye-timeout".as_ref(),
        "1".as_ref(),
    ]));
    let out = check(&["--hello-timeout".as_ref(), "10 sec-ish".as_ref()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--hello-timeout") && err.contains("500ms, 2s, 1m"),
        "{err}"
    );
}
