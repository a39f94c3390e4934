//! Validation: the parsed JSON turned into a [`Config`](super::Config), item by item, with an
//! error naming the JSON path of the first invalid item and a warning for each ignored one.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::json_path::JsonPath;
use super::strict::ObjectsOnly;
use super::wording::{describe, json_wording, serde_message};
use super::{ConfigError, Loaded};

mod auth;
mod cluster;
mod endpoints;
mod realms;
mod root;
mod stats;
mod store;
mod tls;
mod transports;

/// Validates `root`, the parsed JSON of `source` (which names it in messages).
/// Relative paths in it are taken from `folder` (the file's), or the working directory.
pub(super) fn validate(
    root: &Value,
    source: &str,
    folder: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded> {
    let mut cx = Cx {
        source,
        folder: folder
            .filter(|f| !f.as_os_str().is_empty())
            .map(Path::to_path_buf),
        warnings: Vec::new(),
        env,
        principal_roles: Vec::new(),
        listeners: 0,
        metrics: Vec::new(),
    };
    let config = cx.config(root)?;
    Ok(Loaded {
        config,
        warnings: cx.warnings,
        generated_operator_ticket: None,
    })
}

/// The validation context: the source name and the warnings collected.
struct Cx<'a> {
    /// What the messages call the configuration (usually the file name).
    source: &'a str,
    /// The folder relative paths are taken from (`None`: the working directory).
    folder: Option<PathBuf>,
    /// The warnings so far, each already prefixed with `source` and the JSON path.
    warnings: Vec<String>,
    /// Where `${NAME}` secrets are read from (the process environment).
    env: &'a dyn Fn(&str) -> Option<String>,
    /// The roles principals of the transport being read name, with their paths.
    principal_roles: Vec<(String, JsonPath)>,
    /// How many listening sockets the transports so far need.
    listeners: usize,
    /// The `metrics` web paths so far.
    metrics: Vec<crate::config::MetricsPath>,
}

/// The result of a validation step: the first invalid item ends validation.
type Result<T, E = ConfigError> = std::result::Result<T, E>;

impl Cx<'_> {
    /// An `Invalid` error at `path`.
    fn err(&self, path: &JsonPath, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.source.to_owned(),
            path: path.to_string(),
            message: message.into(),
        }
    }

    /// Records a warning about the item at `path`.
    fn warn(&mut self, path: &JsonPath, message: impl fmt::Display) {
        self.warnings
            .push(format!("{}: {path}: {message}", self.source));
    }

    /// Deserializes `value` (found at `path`) into `T`; type errors name their full path, keys
    /// `T` does not declare become warnings.
    fn typed<T: DeserializeOwned>(&mut self, value: &Value, path: &JsonPath) -> Result<T> {
        let mut ignored: Vec<JsonPath> = Vec::new();
        let mut on_ignored = |p: serde_ignored::Path<'_>| ignored.push(path.join_ignored(&p));
        let result = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
            ObjectsOnly(value),
            &mut on_ignored,
        ));
        match result {
            Ok(t) => {
                for full in ignored {
                    self.warn(&full, "not supported by wampstat, ignored");
                }
                Ok(t)
            }
            Err(e) => Err(self.err(
                &path.join_tracked(e.path()),
                json_wording(&serde_message(e.inner())),
            )),
        }
    }

    /// The `type` of the object `value` at `path`.
    fn type_of<'v>(&self, value: &'v Value, path: &JsonPath) -> Result<&'v str> {
        let Some(object) = value.as_object() else {
            return Err(self.err(
                path,
                format!("invalid type: {}, expected an object", describe(value)),
            ));
        };
        match object.get("type") {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(self.err(
                &path.key("type"),
                format!("invalid type: {}, expected a string", describe(other)),
            )),
            None => Err(self.err(path, "missing field `type`")),
        }
    }
}
