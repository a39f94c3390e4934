//! The router's configuration: a Crossbar.io-shaped `config.json`, parsed and validated.
//!
//! wampstat reads the same file format as `crossbar start` (configuration version 2), so a
//! Crossbar node directory can be pointed at wampstat unchanged. Everything wampstat implements
//! is read with Crossbar's key names and defaults; everything Crossbar knows but wampstat does not
//! implement (the node controller, static web paths, `cache` on permissions, WebSocket tuning
//! options, non-router workers, …) is ignored with one warning per item naming its JSON path.
//! Invalid values are start-up errors naming the file, the JSON path and the problem, e.g.
//!
//! ```text
//! config/x.json: workers[0].realms[0].stats.rated_message_size: must be an even number > 0, got 255
//! ```
//!
//! The realm's `stats` block (session statistics, see `session-statistics.md` §1) is checked here
//! completely, at start-up, unlike Crossbar, which checks it only when a session joins.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde_json::Value;

use wording::serde_message;

mod auth;
mod cluster;
mod json_path;
mod raw;
mod strict;
#[cfg(test)]
mod tests;
mod validate;
mod wording;

/// How a permission's URI is matched (`match`): the `wamp` crate's match policy.
pub use auth::{
    AuthConfig, Authenticator, CraUser, DynamicAuth, Identity, KeyPrincipal, Principal, Salt,
    Secret,
};
pub use cluster::{
    ClusterConfig, DEFAULT_HEARTBEAT_MS, DEFAULT_NODE_TIMEOUT_MS, DEFAULT_SUBJECT_PREFIX, NatsAuth,
    NatsConfig, is_safe_token,
};
pub use wamp::MatchPolicy;
/// A serializer a transport offers (`serializers`): the `wamp` crate's serializer.
pub use wamp::Serializer as SerializerKind;

/// The default `max_message_size` (bytes) of a transport that does not set one: 16 MiB, the
/// largest message the RawSocket protocol can announce. (Crossbar's WebSocket default is
/// "unlimited"; wampstat always has a limit.)
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// The configuration of the whole router: all realms and all listening transports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The realms, in file order; names are unique.
    pub realms: Vec<RealmConfig>,
    /// The listening transports, in file order (a web transport contributes one per WebSocket
    /// path); no two listen on the same address.
    pub transports: Vec<TransportConfig>,
    /// **[ours]** The Prometheus endpoints: `web` paths of type `metrics`, each served on the
    /// listening socket of its transport.
    pub metrics: Vec<MetricsPath>,
    /// **[ours]** The top-level `cluster` block: this node's part in a cluster of routers over
    /// NATS; `None` = a single router that never touches NATS.
    pub cluster: Option<ClusterConfig>,
}

/// A `web` path of type `metrics` (`"metrics": {"type": "metrics"}`): `GET` there answers the
/// router's metrics in the Prometheus text format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsPath {
    /// The HTTP path, starting with `/`.
    pub path: String,
    /// The listening socket that serves it (see [`TransportConfig::listener`]).
    pub listener: usize,
}

/// One realm (`workers[].realms[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealmConfig {
    /// The realm's name (URI), e.g. `realm1`.
    pub name: String,
    /// The realm's roles, in file order; names are unique within the realm.
    pub roles: Vec<RoleConfig>,
    /// Session statistics settings (`stats`); `None` = no statistics in this realm.
    pub stats: Option<StatsConfig>,
    /// URI checking (`options.uri_check`); Crossbar's router default is loose.
    pub uri_check: UriCheck,
    /// Whether the WAMP meta API runs in this realm (`options.enable_meta_api`, default true).
    pub enable_meta_api: bool,
    /// The topics whose events are kept for `wamp.subscription.get_events`
    /// (`store.event-history`, Crossbar's memory store).
    pub event_history: Vec<HistoryConfig>,
    /// **[ours]** The most sessions joined to the realm at once (`options.max_sessions`);
    /// `None` = no limit.
    pub max_sessions: Option<usize>,
    /// **[ours]** The most sessions of one authid joined to the realm at once
    /// (`options.max_sessions_per_authid`); `None` = no limit.
    pub max_sessions_per_authid: Option<usize>,
    /// **[ours]** What happens to a session whose outbound queue is full
    /// (`options.slow_consumer`, default `close`).
    pub slow_consumer: SlowConsumerPolicy,
    /// **[ours]** How many distinct topics, procedures and error URIs the realm's metrics
    /// label each (`options.max_metric_uris`, default [`DEFAULT_MAX_METRIC_URIS`]); the rest
    /// are counted as `other`.
    pub max_metric_uris: usize,
}

/// The default of a realm's `options.max_metric_uris`.
pub const DEFAULT_MAX_METRIC_URIS: usize = 100;

/// **[ours]** A realm's `options.slow_consumer`: what the router does with a session whose
/// outbound queue is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SlowConsumerPolicy {
    /// The session is closed (the default).
    #[default]
    Close,
    /// New EVENTs for the session are dropped and counted while its queue is full; any other
    /// message that does not fit still closes it.
    Drop,
}

impl SlowConsumerPolicy {
    /// The name used in the configuration and in `wampstat.session.on_slow`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlowConsumerPolicy::Close => "close",
            SlowConsumerPolicy::Drop => "drop",
        }
    }
}

/// One `store.event-history` entry: events published to topics `uri` matches (by `policy`)
/// are kept, the last `limit` of them, for subscriptions to exactly that URI and policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryConfig {
    /// The topic or pattern.
    pub uri: String,
    /// How `uri` matches topics (`match`, default exact).
    pub policy: MatchPolicy,
    /// How many events are kept (`limit`).
    pub limit: usize,
}

/// How strictly the router checks URIs in a realm (`options.uri_check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UriCheck {
    /// `"strict"`: only lower-case letters, digits and `_` in URI components.
    Strict,
    /// `"loose"`: any components without whitespace, `.` or `#` (Crossbar's default).
    #[default]
    Loose,
}

/// One role of a realm (`roles[]`) with its static permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleConfig {
    /// The role's name, e.g. `anonymous`.
    pub name: String,
    /// The role's permissions, in file order.
    pub permissions: Vec<Permission>,
}

/// One static permission of a role (`permissions[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// The URI (or prefix / wildcard pattern), with Crossbar's "starred" notation resolved.
    pub uri: String,
    /// How `uri` is matched (`match`, or derived from stars in `uri` when `match` is absent).
    pub match_policy: MatchPolicy,
    /// What the role may do (`allow`).
    pub allow: Allow,
    /// Which identities are disclosed (`disclose`).
    pub disclose: Disclose,
}

/// The `allow` part of a permission; every action defaults to false.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Allow {
    /// May call procedures.
    pub call: bool,
    /// May register procedures.
    pub register: bool,
    /// May publish events.
    pub publish: bool,
    /// May subscribe to topics.
    pub subscribe: bool,
}

/// The `disclose` part of a permission; both default to false.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Disclose {
    /// Disclose the caller's identity to the callee.
    pub caller: bool,
    /// Disclose the publisher's identity to subscribers.
    pub publisher: bool,
}

/// A realm's session statistics settings (the realm's `stats` block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatsConfig {
    /// Bytes per rated message (`rated_message_size`); even and > 0.
    pub rated_message_size: u32,
    /// Emit a cycle after this many rated messages; 0 = off.
    pub trigger_after_rated_messages: u64,
    /// Emit a cycle after this many nanoseconds (`trigger_after_duration`); 0 = off.
    pub trigger_after_duration_ns: u64,
    /// Emit an event right after the session joined.
    pub trigger_on_join: bool,
    /// Emit a final event when the session leaves.
    pub trigger_on_leave: bool,
}

impl Default for StatsConfig {
    /// Crossbar's per-key defaults (512, 0, 0, false, true). Note that both triggers are off,
    /// which is not a valid configuration on its own.
    fn default() -> Self {
        StatsConfig {
            rated_message_size: 512,
            trigger_after_rated_messages: 0,
            trigger_after_duration_ns: 0,
            trigger_on_join: false,
            trigger_on_leave: true,
        }
    }
}

impl fmt::Display for StatsConfig {
    /// Crossbar's rendering, as in its log line "WAMP session statistics ENABLED (…)":
    /// `rated_message_size=256, trigger_after_rated_messages=10, trigger_after_duration=0,
    /// trigger_on_join=True, trigger_on_leave=True`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let py = |b: bool| if b { "True" } else { "False" };
        write!(
            f,
            "rated_message_size={}, trigger_after_rated_messages={}, trigger_after_duration={}, \
             trigger_on_join={}, trigger_on_leave={}",
            self.rated_message_size,
            self.trigger_after_rated_messages,
            self.trigger_after_duration_ns,
            py(self.trigger_on_join),
            py(self.trigger_on_leave)
        )
    }
}

/// One listening WAMP transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// WebSocket (with its URL path) or RawSocket.
    pub kind: TransportKind,
    /// Where to listen (`endpoint`): a TCP address (`interface` default all IPv4 interfaces,
    /// or all IPv6 interfaces with `version` 6, like Crossbar; port 0 = any free port), or a
    /// Unix socket's path.
    pub listen: Listen,
    /// The endpoint's TLS (`endpoint.tls`), when it has one.
    pub tls: Option<TlsConfig>,
    /// Which listening socket serves it: transports of one `web` or `universal` transport
    /// share their endpoint (and so this number); all others have their own.
    pub listener: usize,
    /// The serializers offered, in file order without duplicates (default JSON and MessagePack).
    pub serializers: Vec<SerializerKind>,
    /// Largest WAMP message accepted, in bytes (`options.max_message_size`); always > 0.
    pub max_message_size: usize,
    /// How its clients may authenticate (`auth`).
    pub auth: AuthConfig,
    /// Which web pages may connect (WebSocket `options.allowed_origins` and
    /// `allow_null_origin`; Crossbar's default, every origin, when absent).
    pub origins: wamp::transport::websocket::OriginPolicy,
    /// How silent peers are found (`options.auto_ping_interval`, `auto_ping_timeout` and
    /// `auto_ping_size`, Crossbar's WebSocket keys; on RawSocket ours); `None`: never pinged.
    pub keepalive: Option<Keepalive>,
}

/// Pings for peers that went silent: after `interval` without a frame from the peer, a ping
/// (WebSocket ping, RawSocket PING) it must answer (with anything) within `timeout`, or its
/// session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Silence before a ping.
    pub interval: std::time::Duration,
    /// How long the answer may take.
    pub timeout: std::time::Duration,
    /// The ping's payload size in bytes (4 to 125).
    pub size: usize,
}

impl Keepalive {
    /// WebSocket's default: a ping after 30 s of silence, answered within 15 s. Browsers and
    /// WebSocket libraries answer pings by themselves, so this costs clients nothing.
    pub const WEBSOCKET: Keepalive = Keepalive {
        interval: std::time::Duration::from_secs(30),
        timeout: std::time::Duration::from_secs(15),
        size: 4,
    };
}

/// Where a transport listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Listen {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket at this path (`"endpoint": {"type": "unix", "path": …}`; a relative path
    /// is taken from the configuration file's folder, as Crossbar takes it from its node
    /// directory).
    Unix(PathBuf),
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Tcp(a) => write!(f, "{a}"),
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// An endpoint's TLS: the files it names and the certificate and key loaded from them
/// (checked at load time, so that a bad pair is a configuration error).
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// The files, with relative paths resolved.
    pub files: wamp::transport::tls::ServerTlsFiles,
    /// What was loaded from them.
    pub server: wamp::transport::tls::ServerTls,
}

impl PartialEq for TlsConfig {
    /// Equal when made from the same files.
    fn eq(&self, other: &Self) -> bool {
        self.files == other.files
    }
}

impl Eq for TlsConfig {}

/// The framing of a transport.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// WAMP over WebSocket, served on `path` (`/ws` for a web transport's `"ws"` path, `/` for a
    /// standalone `"type": "websocket"` transport).
    WebSocket {
        /// The HTTP path of the WebSocket endpoint; always starts with `/`.
        path: String,
    },
    /// WAMP over RawSocket.
    RawSocket,
}

impl TransportKind {
    /// The HTTP path of a WebSocket transport.
    pub fn path(&self) -> Option<&str> {
        match self {
            TransportKind::WebSocket { path } => Some(path),
            TransportKind::RawSocket => None,
        }
    }
}

/// A loaded configuration together with the warnings produced while loading it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated configuration.
    pub config: Config,
    /// One line per ignored or unsupported item, each naming the file and the JSON path. They
    /// have already been logged with `tracing::warn!`.
    pub warnings: Vec<String>,
    /// The operator's ticket, when the embedded default made one up because
    /// [`OPERATOR_TICKET_VARIABLE`] was not set (to be shown to the operator once).
    pub generated_operator_ticket: Option<Secret>,
}

/// The environment variable the embedded default reads the operator's ticket from.
pub const OPERATOR_TICKET_VARIABLE: &str = "WAMPSTAT_OPERATOR_TICKET";

/// The administration procedures only the embedded default's `operator` may call: the
/// session killers, the summary and the cluster's status (its topology and versions).
pub const ADMIN_PROCEDURES: [&str; 6] = [
    "wamp.session.kill",
    "wamp.session.kill_by_authid",
    "wamp.session.kill_by_authrole",
    "wamp.session.kill_all",
    "wampstat.session.summary",
    "wampstat.cluster.status",
];

/// Why a configuration could not be loaded. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read the configuration: {error}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("{file}:{line}:{column}: invalid JSON: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The JSON is well-formed but not a valid configuration.
    #[error("{file}: {path}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The JSON path of the offending item, e.g. `workers[0].realms[0].stats`.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads and validates the configuration file `path`.
    ///
    /// # Errors
    /// [`ConfigError::Io`] if the file cannot be read, [`ConfigError::Syntax`] if it is not JSON,
    /// [`ConfigError::Invalid`] if it is not a valid configuration.
    pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
            file: file.clone(),
            error,
        })?;
        let env = |name: &str| std::env::var(name).ok();
        Self::parse_at(&text, &file, path.parent(), &env)
    }

    /// Reads and validates `DIR/config.json`, like `crossbar start --cbdir DIR`.
    ///
    /// # Errors
    /// As [`Config::load_file`].
    pub fn load_cbdir(dir: &Path) -> Result<Loaded, ConfigError> {
        Self::load_file(&dir.join("config.json"))
    }

    /// Parses and validates a configuration; `source` names it in messages (usually the file).
    ///
    /// # Errors
    /// [`ConfigError::Syntax`] if `text` is not JSON, [`ConfigError::Invalid`] if it is not a
    /// valid configuration.
    pub fn parse(text: &str, source: &str) -> Result<Loaded, ConfigError> {
        Config::parse_with_env(text, source, &|name| std::env::var(name).ok())
    }

    /// [`Config::parse`], reading the `${NAME}` secrets with `env`.
    fn parse_with_env(
        text: &str,
        source: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Loaded, ConfigError> {
        Self::parse_at(text, source, None, env)
    }

    /// [`Config::parse_with_env`] for a file in `folder`, from which relative paths (TLS files,
    /// Unix sockets) are taken; without one, from the working directory.
    fn parse_at(
        text: &str,
        source: &str,
        folder: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Loaded, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
            file: source.to_owned(),
            line: e.line(),
            column: e.column(),
            message: serde_message(&e),
        })?;
        let loaded = validate::validate(&value, source, folder, env)?;
        for warning in &loaded.warnings {
            tracing::warn!("{warning}");
        }
        Ok(loaded)
    }

    /// The built-in default configuration (`config/default.json`, compiled in): realm `realm1`
    /// with statistics on, an `anonymous` role that may do everything but session
    /// administration ([`ADMIN_PROCEDURES`]), an `operator` role that may do that too (the
    /// ticket principal `operator`, its ticket from [`OPERATOR_TICKET_VARIABLE`] or, when that
    /// is unset, made up for this run), WebSocket on 127.0.0.1:8080 `/ws` for pages of this
    /// machine and RawSocket on 127.0.0.1:8081.
    #[must_use]
    pub fn embedded_default() -> Loaded {
        const SOURCE: &str = "<embedded default.json>";
        let made_up = std::cell::OnceCell::new();
        let env = |name: &str| {
            std::env::var(name).ok().or_else(|| {
                (name == OPERATOR_TICKET_VARIABLE)
                    .then(|| made_up.get_or_init(random_ticket).clone())
            })
        };
        let loaded = match Self::parse_with_env(DEFAULT_JSON, SOURCE, &env) {
            Ok(loaded) => loaded,
            // Unreachable as long as the unit tests pass; never panic on it anyway.
            Err(e) => {
                let warning = format!("{e}; using the compiled-in fallback");
                tracing::warn!("{warning}");
                let ticket = env(OPERATOR_TICKET_VARIABLE).unwrap_or_else(random_ticket);
                Loaded {
                    config: fallback_default(Secret::new(ticket)),
                    warnings: vec![warning],
                    generated_operator_ticket: None,
                }
            }
        };
        Loaded {
            generated_operator_ticket: made_up.into_inner().map(Secret::new),
            ..loaded
        }
    }

    /// This configuration with every transport on 127.0.0.1 and a free port the system picks
    /// (port 0): for tests, benchmarks and the demo, which must not collide with anything.
    #[must_use]
    pub fn on_free_loopback_ports(mut self) -> Config {
        for t in &mut self.transports {
            if let Listen::Tcp(_) = t.listen {
                t.listen = Listen::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
            }
        }
        self
    }

    /// The realm named `name`, if any.
    #[must_use]
    pub fn realm(&self, name: &str) -> Option<&RealmConfig> {
        self.realms.iter().find(|r| r.name == name)
    }
}

impl RealmConfig {
    /// A realm called `name` without roles, every option at its default (for unit tests).
    #[cfg(test)]
    pub(crate) fn named(name: &str) -> RealmConfig {
        RealmConfig {
            name: name.into(),
            roles: Vec::new(),
            stats: None,
            uri_check: Default::default(),
            enable_meta_api: true,
            event_history: Vec::new(),
            max_sessions: None,
            max_sessions_per_authid: None,
            slow_consumer: Default::default(),
            max_metric_uris: DEFAULT_MAX_METRIC_URIS,
        }
    }

    /// The role named `name` in this realm, if any.
    #[must_use]
    pub fn role(&self, name: &str) -> Option<&RoleConfig> {
        self.roles.iter().find(|r| r.name == name)
    }
}

/// The text of `config/default.json`, compiled in.
const DEFAULT_JSON: &str = include_str!("../../../config/default.json");

/// The origins the embedded default's WebSocket allows: pages served from this machine.
const LOCAL_ORIGINS: [&str; 6] = [
    "http://localhost",
    "http://localhost:*",
    "http://127.0.0.1",
    "http://127.0.0.1:*",
    "http://[::1]",
    "http://[::1]:*",
];

/// A ticket nobody can guess: 32 random letters and digits.
fn random_ticket() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    (0..32)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}

/// The same configuration as `config/default.json`, built in code with the operator's ticket
/// `operator_ticket` (used only if that file failed to parse; a unit test keeps the two equal).
fn fallback_default(operator_ticket: Secret) -> Config {
    let localhost = Ipv4Addr::LOCALHOST;
    let serializers = vec![
        SerializerKind::Json,
        SerializerKind::Msgpack,
        SerializerKind::Cbor,
    ];
    let everything = Permission {
        uri: String::new(),
        match_policy: MatchPolicy::Prefix,
        allow: Allow {
            call: true,
            register: true,
            publish: true,
            subscribe: true,
        },
        disclose: Disclose {
            caller: true,
            publisher: true,
        },
    };
    let mut anonymous = vec![everything.clone()];
    anonymous.extend(ADMIN_PROCEDURES.iter().map(|uri| Permission {
        uri: (*uri).to_owned(),
        match_policy: MatchPolicy::Exact,
        allow: Allow::default(),
        disclose: Disclose::default(),
    }));
    let operator = Principal {
        ticket: operator_ticket,
        identity: Identity {
            role: "operator".to_owned(),
            realm: None,
        },
    };
    let auth = AuthConfig {
        anonymous: Some("anonymous".to_owned()),
        anonymous_realm: None,
        ticket: Some([("operator".to_owned(), operator)].into()),
        wampcra: None,
        cryptosign: None,
        dynamic: DynamicAuth::default(),
    };
    Config {
        realms: vec![RealmConfig {
            name: "realm1".to_owned(),
            roles: vec![
                RoleConfig {
                    name: "anonymous".to_owned(),
                    permissions: anonymous,
                },
                RoleConfig {
                    name: "operator".to_owned(),
                    permissions: vec![everything],
                },
            ],
            stats: Some(StatsConfig {
                rated_message_size: 256,
                trigger_after_rated_messages: 10,
                trigger_after_duration_ns: 0,
                trigger_on_join: true,
                trigger_on_leave: true,
            }),
            uri_check: UriCheck::Loose,
            enable_meta_api: true,
            event_history: Vec::new(),
            max_sessions: None,
            max_sessions_per_authid: None,
            slow_consumer: SlowConsumerPolicy::Close,
            max_metric_uris: DEFAULT_MAX_METRIC_URIS,
        }],
        transports: vec![
            TransportConfig {
                kind: TransportKind::WebSocket {
                    path: "/ws".to_owned(),
                },
                listen: Listen::Tcp(SocketAddr::from((localhost, 8080))),
                tls: None,
                listener: 0,
                serializers: serializers.clone(),
                max_message_size: 1024 * 1024,
                auth: auth.clone(),
                origins: wamp::transport::websocket::OriginPolicy {
                    allowed: LOCAL_ORIGINS.iter().map(|o| (*o).to_owned()).collect(),
                    allow_null: false,
                },
                keepalive: Some(Keepalive::WEBSOCKET),
            },
            TransportConfig {
                kind: TransportKind::RawSocket,
                listen: Listen::Tcp(SocketAddr::from((localhost, 8081))),
                tls: None,
                listener: 1,
                serializers,
                max_message_size: 1024 * 1024,
                auth,
                origins: Default::default(),
                keepalive: None,
            },
        ],
        metrics: Vec::new(),
        cluster: None,
    }
}
