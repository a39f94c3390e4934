//! Unit tests of the config module. Most load the embedded default with one edit and check the
//! configuration, the warnings or the error (file, JSON path and message) that result.

use super::*;
use serde_json::json;

mod loading;
mod realms;
mod transports;

const SOURCE: &str = "config/x.json";

fn default_value() -> Value {
    serde_json::from_str(DEFAULT_JSON).expect("default.json")
}

fn with(edit: impl FnOnce(&mut Value)) -> Result<Loaded, ConfigError> {
    with_env(edit, &|_| None)
}

/// [`with`], with `env` as the environment `${NAME}` secrets are read from.
fn with_env(
    edit: impl FnOnce(&mut Value),
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let mut value = default_value();
    edit(&mut value);
    Config::parse_with_env(&value.to_string(), SOURCE, env)
}

fn realm0(v: &mut Value) -> &mut Value {
    &mut v["workers"][0]["realms"][0]
}

fn stats0(v: &mut Value) -> &mut Value {
    &mut realm0(v)["stats"]
}

fn perm0(v: &mut Value) -> &mut Value {
    &mut realm0(v)["roles"][0]["permissions"][0]
}

fn web(v: &mut Value) -> &mut Value {
    &mut v["workers"][0]["transports"][0]
}

fn ws(v: &mut Value) -> &mut Value {
    &mut web(v)["paths"]["ws"]
}

fn raw(v: &mut Value) -> &mut Value {
    &mut v["workers"][0]["transports"][1]
}

fn remove(v: &mut Value, key: &str) {
    v.as_object_mut().expect("object").remove(key);
}

/// Asserts an `Invalid` error at `path` whose message contains `message`.
#[track_caller]
fn assert_invalid(result: Result<Loaded, ConfigError>, path: &str, message: &str) {
    match result {
        Err(ConfigError::Invalid {
            file,
            path: p,
            message: m,
        }) => {
            assert_eq!(file, SOURCE);
            assert_eq!(p, path, "message: {m}");
            assert!(m.contains(message), "{m:?} does not contain {message:?}");
        }
        other => panic!("expected an error at {path}, got {other:?}"),
    }
}

fn warnings(result: Result<Loaded, ConfigError>) -> Vec<String> {
    match result {
        Ok(loaded) => loaded.warnings,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// The anonymous role of each transport, in order.
fn anonymous_roles(config: &Config) -> Vec<Option<&str>> {
    config
        .transports
        .iter()
        .map(|t| t.auth.anonymous.as_deref())
        .collect()
}
