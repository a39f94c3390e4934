//! Unit tests of the config module. Most load the embedded default (without its authentication:
//! see [`default_value`]) with one edit and check the configuration, the warnings or the error
//! (file, JSON path and message) that result.

use super::*;
use serde_json::json;

mod cluster;
mod endpoints;
mod loading;
mod realms;
mod transports;

const SOURCE: &str = "config/x.json";

/// The embedded default as the edits start from: without its authentication (the operator role
/// and principal, anonymous's exceptions, the transports' `auth` blocks), so that each test
/// adds exactly what it is about. The default itself is tested as it is.
fn default_value() -> Value {
    let mut v: Value = serde_json::from_str(DEFAULT_JSON).expect("default.json");
    let realm = &mut v["workers"][0]["realms"][0];
    if let Some(roles) = realm["roles"].as_array_mut() {
        roles.retain(|r| r["name"] == "anonymous");
    }
    if let Some(permissions) = realm["roles"][0]["permissions"].as_array_mut() {
        permissions.truncate(1);
    }
    let transports = &mut v["workers"][0]["transports"];
    for at in ["/0/paths/ws", "/1"] {
        if let Some(t) = transports.pointer_mut(at).and_then(Value::as_object_mut) {
            t.remove("auth");
        }
    }
    v
}

fn with(edit: impl FnOnce(&mut Value)) -> Result<Loaded, ConfigError> {
    with_env(edit, &operator_env)
}

/// The operator's ticket the tests' environment holds.
const OPERATOR_TICKET: &str = "the operator's test ticket";

/// An environment with only the default config's operator ticket.
fn operator_env(name: &str) -> Option<String> {
    (name == OPERATOR_TICKET_VARIABLE).then(|| OPERATOR_TICKET.to_owned())
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
