//! **[ours]** The top-level `cluster` block (see [`ClusterConfig`]).

use std::time::Duration;

use serde_json::Value;

use super::{Cx, Result};
use crate::config::Secret;
use crate::config::cluster::{
    ClusterConfig, DEFAULT_HEARTBEAT_MS, DEFAULT_NODE_TIMEOUT_MS, DEFAULT_SUBJECT_PREFIX, NatsAuth,
    NatsConfig, is_safe_token,
};
use crate::config::json_path::JsonPath;
use crate::config::raw::{Int, RawCluster};

/// The longest node name (it is a subject token and part of a client name).
const MAX_NODE_NAME: usize = 64;

impl Cx<'_> {
    /// The `cluster` block `value`, found at `cp`.
    pub(super) fn cluster(&mut self, value: &Value, cp: &JsonPath) -> Result<ClusterConfig> {
        let raw: RawCluster = self.typed(value, cp)?;
        let np = cp.key("node");
        if raw.node.is_empty() {
            return Err(self.err(&np, "must not be empty"));
        }
        if !is_safe_token(&raw.node) || raw.node.len() > MAX_NODE_NAME {
            return Err(self.err(
                &np,
                format!(
                    "must be at most {MAX_NODE_NAME} ASCII letters, digits, '-' or '_' (it is a \
                     NATS subject token), got {:?}",
                    raw.node
                ),
            ));
        }
        let pp = cp.key("subject_prefix");
        let subject_prefix = raw
            .subject_prefix
            .unwrap_or_else(|| DEFAULT_SUBJECT_PREFIX.to_owned());
        if !subject_prefix.split('.').all(is_safe_token) {
            return Err(self.err(
                &pp,
                format!(
                    "must be one or more NATS subject tokens of ASCII letters, digits, '-' or \
                     '_', separated by '.', got {subject_prefix:?}"
                ),
            ));
        }
        let hp = cp.key("heartbeat_ms");
        let heartbeat_ms = match raw.heartbeat_ms {
            None => DEFAULT_HEARTBEAT_MS,
            Some(Int(v)) => u64::try_from(v)
                .ok()
                .filter(|v| (1..=3_600_000).contains(v))
                .ok_or_else(|| {
                    self.err(
                        &hp,
                        format!("must be > 0 and at most 3600000 (an hour), got {v}"),
                    )
                })?,
        };
        let tp = cp.key("node_timeout_ms");
        let node_timeout_ms = match raw.node_timeout_ms {
            None => DEFAULT_NODE_TIMEOUT_MS.max(3 * heartbeat_ms),
            Some(Int(v)) => match u64::try_from(v) {
                Ok(v) if v >= 2 * heartbeat_ms && v <= 24 * 3_600_000 => v,
                _ => {
                    return Err(self.err(
                        &tp,
                        format!(
                            "must be at least twice heartbeat_ms ({}) and at most 86400000 (a \
                             day), got {v}",
                            2 * heartbeat_ms
                        ),
                    ));
                }
            },
        };
        let nats = self.nats(raw.nats, &cp.key("nats"))?;
        Ok(ClusterConfig {
            node: raw.node,
            nats,
            subject_prefix,
            heartbeat: Duration::from_millis(heartbeat_ms),
            node_timeout: Duration::from_millis(node_timeout_ms),
        })
    }

    /// The `nats` part of the cluster block, found at `np`.
    fn nats(&mut self, raw: crate::config::raw::RawNats, np: &JsonPath) -> Result<NatsConfig> {
        let up = np.key("url");
        check_url(&raw.url).map_err(|m| self.err(&up, m))?;
        let auth = match (raw.token, raw.user, raw.password, raw.creds) {
            (None, None, None, None) => NatsAuth::None,
            (Some(token), None, None, None) => {
                NatsAuth::Token(self.env_secret(&token, &np.key("token"))?)
            }
            (None, Some(user), Some(password), None) => {
                let user = self.env_or_literal(&user, &np.key("user"))?;
                let password = self.env_secret(&password, &np.key("password"))?;
                NatsAuth::UserPassword { user, password }
            }
            (None, Some(_), None, None) => {
                return Err(self.err(&np.key("user"), "needs a \"password\" too"));
            }
            (None, None, Some(_), None) => {
                return Err(self.err(&np.key("password"), "needs a \"user\" too"));
            }
            (None, None, None, Some(creds)) => {
                let cp = np.key("creds");
                let path = self.env_or_literal(&creds, &cp)?;
                if path.is_empty() {
                    return Err(self.err(&cp, "must not be empty"));
                }
                let path = std::path::PathBuf::from(path);
                NatsAuth::Creds(match &self.folder {
                    Some(folder) if path.is_relative() => folder.join(path),
                    _ => path,
                })
            }
            _ => {
                return Err(self.err(
                    np,
                    "give one way to authenticate: \"token\", \"user\" with \"password\", or \
                     \"creds\"",
                ));
            }
        };
        Ok(NatsConfig { url: raw.url, auth })
    }

    /// A secret that must come from the environment: `value` must be `${NAME}`.
    fn env_secret(&self, value: &str, at: &JsonPath) -> Result<Secret> {
        if value.starts_with("${") && value.ends_with('}') {
            return self.secret(value.to_owned(), at);
        }
        Err(self.err(
            at,
            "must name an environment variable, e.g. \"${NATS_TOKEN}\": NATS secrets are not \
             written in the configuration file",
        ))
    }

    /// `value`, or the environment variable it names as `${NAME}`.
    fn env_or_literal(&self, value: &str, at: &JsonPath) -> Result<String> {
        if value.starts_with("${") && value.ends_with('}') {
            return self
                .secret(value.to_owned(), at)
                .map(|s| s.expose().to_owned());
        }
        Ok(value.to_owned())
    }
}

/// Checks a NATS URL: `nats://` or `tls://`, a host, an optional port, no credentials.
fn check_url(url: &str) -> std::result::Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "must be a URL like \"nats://127.0.0.1:4222\" or \"tls://host:4222\", got {url:?}"
        ));
    };
    if scheme != "nats" && scheme != "tls" {
        return Err(format!(
            "the scheme must be \"nats\" or \"tls\", got {scheme:?} (in {url:?})"
        ));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('@') {
        return Err(
            "must not contain credentials: give \"token\", \"user\"/\"password\" or \
                    \"creds\" instead, read from the environment"
                .to_owned(),
        );
    }
    if authority.is_empty() || authority.contains(['/', '?', '#', ' ', ',']) {
        return Err(format!("must be scheme://host[:port], got {url:?}"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        // [::1]:4222, host:4222
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (authority, None),
    };
    if host.is_empty() {
        return Err(format!("has no host: {url:?}"));
    }
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!("the port must be 1 to 65535, got {p:?}"));
    }
    Ok(())
}
