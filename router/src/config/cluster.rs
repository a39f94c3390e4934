//! **[ours]** The `cluster` block at the top level of the file (next to Crossbar's `controller`
//! and `workers`): this node's name and how it reaches the NATS backplane. Without it the router
//! is a single node and never touches NATS.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::auth::Secret;

/// The default `subject_prefix`: every subject the cluster uses starts with it.
pub const DEFAULT_SUBJECT_PREFIX: &str = "wampstat";
/// The default `heartbeat_ms`.
pub const DEFAULT_HEARTBEAT_MS: u64 = 1000;
/// The default `node_timeout_ms`.
pub const DEFAULT_NODE_TIMEOUT_MS: u64 = 3000;

/// The `cluster` block: one node of a cluster of routers over NATS.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// This node's name (`node`), unique in the cluster; a NATS-token-safe string (letters,
    /// digits, `-`, `_`). It is also `authextra.x_cb_node` in session details.
    pub node: String,
    /// How to reach NATS (`nats`).
    pub nats: NatsConfig,
    /// The first token(s) of every subject (`subject_prefix`, default `wampstat`).
    pub subject_prefix: String,
    /// How often this node publishes its heartbeat (`heartbeat_ms`, default 1000).
    pub heartbeat: Duration,
    /// How long a node may stay silent before the others declare it dead (`node_timeout_ms`,
    /// default 3000; at least twice `heartbeat_ms`).
    pub node_timeout: Duration,
}

impl fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("node", &self.node)
            .field("nats", &self.nats)
            .field("subject_prefix", &self.subject_prefix)
            .field("heartbeat", &self.heartbeat)
            .field("node_timeout", &self.node_timeout)
            .finish()
    }
}

/// The `nats` part of the cluster block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// The server's URL (`url`), `nats://host:port` or `tls://host:port`, without credentials.
    pub url: String,
    /// How this node authenticates to the server.
    pub auth: NatsAuth,
}

/// How a node authenticates to NATS; `Debug` never shows a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatsAuth {
    /// No credentials.
    None,
    /// A token (`token`, from `${NAME}`).
    Token(Secret),
    /// A user and password (`user`, `password`; the password from `${NAME}`).
    UserPassword {
        /// The user name.
        user: String,
        /// The password.
        password: Secret,
    },
    /// A NATS credentials file (`creds`: a JWT and an nkey seed), relative paths taken from the
    /// configuration file's folder.
    Creds(PathBuf),
}

impl NatsAuth {
    /// The method's name for logs (never the secret): `none`, `token`, `user/password`, `creds`.
    pub fn method(&self) -> &'static str {
        match self {
            NatsAuth::None => "none",
            NatsAuth::Token(_) => "token",
            NatsAuth::UserPassword { .. } => "user/password",
            NatsAuth::Creds(_) => "creds",
        }
    }
}

/// Whether `s` may be one NATS subject token as wampstat uses them: non-empty ASCII letters,
/// digits, `-` and `_` (so no `.`, `*`, `>`, whitespace or anything a shell or a KV bucket name
/// would mind).
pub fn is_safe_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
