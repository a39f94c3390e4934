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
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use serde_json::Value;

use wording::serde_message;

mod json_path;
mod raw;
mod strict;
mod validate;
mod wording;

/// How a permission's URI is matched (`match`): the `wamp` crate's match policy.
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
    /// The address to listen on (`endpoint.interface`; default all IPv4 interfaces, or all IPv6
    /// interfaces with `endpoint.version` 6, like Crossbar).
    pub interface: IpAddr,
    /// The TCP port (`endpoint.port`); 0 = any free port.
    pub port: u16,
    /// The serializers offered, in file order without duplicates (default JSON and MessagePack).
    pub serializers: Vec<SerializerKind>,
    /// Largest WAMP message accepted, in bytes (`options.max_message_size`); always > 0.
    pub max_message_size: usize,
    /// The role of anonymous sessions (`auth.anonymous.role`, default `anonymous`). Without an
    /// `auth` block everybody joins anonymously with role `anonymous`, like Crossbar; `None` when
    /// an `auth` block exists but allows no anonymous (static) login.
    pub anonymous_role: Option<String>,
}

impl TransportConfig {
    /// The socket address to bind.
    #[must_use]
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.interface, self.port)
    }
}

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

/// A loaded configuration together with the warnings produced while loading it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated configuration.
    pub config: Config,
    /// One line per ignored or unsupported item, each naming the file and the JSON path. They
    /// have already been logged with `tracing::warn!`.
    pub warnings: Vec<String>,
}

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
        Self::parse(&text, &file)
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
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
            file: source.to_owned(),
            line: e.line(),
            column: e.column(),
            message: serde_message(&e),
        })?;
        let loaded = validate::validate(&value, source)?;
        for warning in &loaded.warnings {
            tracing::warn!("{warning}");
        }
        Ok(loaded)
    }

    /// The built-in default configuration (`config/default.json`, compiled in): realm `realm1`
    /// with statistics on, an all-permitted `anonymous` role, WebSocket on 127.0.0.1:8080 `/ws`
    /// and RawSocket on 127.0.0.1:8081.
    #[must_use]
    pub fn embedded_default() -> Loaded {
        const SOURCE: &str = "<embedded default.json>";
        match Self::parse(include_str!("../../../config/default.json"), SOURCE) {
            Ok(loaded) => loaded,
            // Unreachable as long as the unit tests pass; never panic on it anyway.
            Err(e) => {
                let warning = format!("{e}; using the compiled-in fallback");
                tracing::warn!("{warning}");
                Loaded {
                    config: fallback_default(),
                    warnings: vec![warning],
                }
            }
        }
    }

    /// This configuration with every transport on 127.0.0.1 and a free port the system picks
    /// (port 0): for tests, benchmarks and the demo, which must not collide with anything.
    #[must_use]
    pub fn on_free_loopback_ports(mut self) -> Config {
        for t in &mut self.transports {
            t.port = 0;
            t.interface = std::net::Ipv4Addr::LOCALHOST.into();
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
    /// The role named `name` in this realm, if any.
    #[must_use]
    pub fn role(&self, name: &str) -> Option<&RoleConfig> {
        self.roles.iter().find(|r| r.name == name)
    }
}

/// The same configuration as `config/default.json`, built in code (used only if that file failed
/// to parse; a unit test keeps the two equal).
fn fallback_default() -> Config {
    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let serializers = vec![SerializerKind::Json, SerializerKind::Msgpack];
    let anonymous = Some("anonymous".to_owned());
    Config {
        realms: vec![RealmConfig {
            name: "realm1".to_owned(),
            roles: vec![RoleConfig {
                name: "anonymous".to_owned(),
                permissions: vec![Permission {
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
                }],
            }],
            stats: Some(StatsConfig {
                rated_message_size: 256,
                trigger_after_rated_messages: 10,
                trigger_after_duration_ns: 0,
                trigger_on_join: true,
                trigger_on_leave: true,
            }),
            uri_check: UriCheck::Loose,
            enable_meta_api: true,
        }],
        transports: vec![
            TransportConfig {
                kind: TransportKind::WebSocket {
                    path: "/ws".to_owned(),
                },
                interface: localhost,
                port: 8080,
                serializers: serializers.clone(),
                max_message_size: 1024 * 1024,
                anonymous_role: anonymous.clone(),
            },
            TransportConfig {
                kind: TransportKind::RawSocket,
                interface: localhost,
                port: 8081,
                serializers,
                max_message_size: 1024 * 1024,
                anonymous_role: anonymous,
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SOURCE: &str = "config/x.json";

    /// The real Crossbar config from `spec/crossbar-captures/crossbar-config.json`.
    const CROSSBAR_CAPTURE: &str = r#"{
        "$schema": "https://raw.githubusercontent.com/crossbario/crossbar/master/crossbar.json",
        "version": 2,
        "controller": {},
        "workers": [{
            "type": "router",
            "realms": [{
                "name": "realm1",
                "stats": {"rated_message_size": 256, "trigger_after_rated_messages": 10,
                          "trigger_after_duration": 0, "trigger_on_join": true,
                          "trigger_on_leave": true},
                "roles": [{
                    "name": "anonymous",
                    "permissions": [{
                        "uri": "", "match": "prefix",
                        "allow": {"call": true, "register": true, "publish": true, "subscribe": true},
                        "disclose": {"caller": true, "publisher": true},
                        "cache": true
                    }]
                }]
            }],
            "transports": [
                {"type": "web",
                 "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 18080},
                 "paths": {"/": {"type": "static", "directory": "../web"},
                           "ws": {"type": "websocket", "serializers": ["json", "msgpack"]}}},
                {"type": "rawsocket",
                 "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 18081},
                 "serializers": ["json", "msgpack"]}
            ]
        }]
    }"#;

    fn default_value() -> Value {
        serde_json::from_str(include_str!("../../../config/default.json")).expect("default.json")
    }

    fn with(edit: impl FnOnce(&mut Value)) -> Result<Loaded, ConfigError> {
        let mut value = default_value();
        edit(&mut value);
        Config::parse(&value.to_string(), SOURCE)
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

    #[test]
    fn embedded_default_loads_without_warnings() {
        let loaded = Config::embedded_default();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(loaded.config, fallback_default());
        let realm = loaded.config.realm("realm1").expect("realm1");
        let stats = realm.stats.expect("stats");
        assert_eq!(
            stats.to_string(),
            "rated_message_size=256, trigger_after_rated_messages=10, trigger_after_duration=0, \
             trigger_on_join=True, trigger_on_leave=True"
        );
        assert_eq!(realm.uri_check, UriCheck::Loose);
        assert!(realm.enable_meta_api);
        assert!(realm.role("anonymous").is_some());
        let addrs: Vec<String> = loaded
            .config
            .transports
            .iter()
            .map(|t| t.socket_addr().to_string())
            .collect();
        assert_eq!(addrs, ["127.0.0.1:8080", "127.0.0.1:8081"]);
    }

    #[test]
    fn crossbar_capture_loads_with_warnings() {
        let loaded = Config::parse(CROSSBAR_CAPTURE, "crossbar-config.json").expect("loads");
        assert_eq!(
            loaded.warnings,
            [
                "crossbar-config.json: controller: not supported by wampstat, ignored",
                "crossbar-config.json: workers[0].realms[0].roles[0].permissions[0].cache: not \
                 supported by wampstat, ignored",
                "crossbar-config.json: workers[0].transports[0].paths[\"/\"]: web service type \
                 \"static\" is not supported by wampstat, ignored",
            ]
        );
        let config = loaded.config;
        assert_eq!(config.realms.len(), 1);
        assert_eq!(config.realms[0].stats, fallback_default().realms[0].stats);
        assert_eq!(config.realms[0].roles, fallback_default().realms[0].roles);
        let t = &config.transports;
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[0].kind,
            TransportKind::WebSocket {
                path: "/ws".to_owned()
            }
        );
        assert_eq!(t[0].socket_addr().to_string(), "127.0.0.1:18080");
        assert_eq!(t[0].max_message_size, DEFAULT_MAX_MESSAGE_SIZE);
        assert_eq!(t[0].anonymous_role.as_deref(), Some("anonymous"));
        assert_eq!(t[1].kind, TransportKind::RawSocket);
        assert_eq!(t[1].port, 18081);
        assert_eq!(
            t[1].serializers,
            [SerializerKind::Json, SerializerKind::Msgpack]
        );
    }

    #[test]
    fn error_display_names_file_path_and_problem() {
        let err = with(|v| stats0(v)["rated_message_size"] = json!(255)).expect_err("odd");
        assert_eq!(
            err.to_string(),
            "config/x.json: workers[0].realms[0].stats.rated_message_size: must be an even \
             number > 0, got 255"
        );
    }

    #[test]
    fn stats_errors() {
        let at = "workers[0].realms[0].stats";
        let size = format!("{at}.rated_message_size");
        for bad in [json!(0), json!(-2), json!(511)] {
            assert_invalid(
                with(|v| stats0(v)["rated_message_size"] = bad.clone()),
                &size,
                &format!("must be an even number > 0, got {bad}"),
            );
        }
        assert_invalid(
            with(|v| stats0(v)["rated_message_size"] = json!(1u64 << 40)),
            &size,
            "must be at most 4294967294",
        );
        assert_invalid(
            with(|v| stats0(v)["rated_message_size"] = json!("256")),
            &size,
            "invalid type: string \"256\", expected an integer",
        );
        assert_invalid(
            with(|v| stats0(v)["rated_message_size"] = json!(256.0)),
            &size,
            "expected an integer",
        );
        assert_invalid(
            with(|v| stats0(v)["trigger_after_rated_messages"] = json!(0)),
            at,
            "at least one of trigger_after_rated_messages and trigger_after_duration",
        );
        assert_invalid(
            with(|v| remove(stats0(v), "trigger_after_rated_messages")),
            at,
            "at least one of",
        );
        assert_invalid(
            with(|v| stats0(v)["trigger_after_duration"] = json!(-1)),
            &format!("{at}.trigger_after_duration"),
            "must be >= 0, got -1",
        );
        assert_invalid(
            with(|v| stats0(v)["trigger_on_join"] = json!("yes")),
            &format!("{at}.trigger_on_join"),
            "expected a boolean",
        );
        assert_invalid(
            with(|v| stats0(v)["rated_mesage_size"] = json!(256)),
            &format!("{at}.rated_mesage_size"),
            "unknown field `rated_mesage_size`",
        );
        assert_invalid(with(|v| *stats0(v) = json!([])), at, "expected an object");
    }

    #[test]
    fn stats_defaults_and_absence() {
        let loaded = with(|v| *stats0(v) = json!({"trigger_after_duration": 1_000_000_000u64}))
            .expect("loads");
        let stats = loaded.config.realms[0].stats.expect("stats");
        assert_eq!(
            stats,
            StatsConfig {
                trigger_after_duration_ns: 1_000_000_000,
                ..StatsConfig::default()
            }
        );
        let loaded = with(|v| remove(realm0(v), "stats")).expect("loads");
        assert_eq!(loaded.config.realms[0].stats, None);
    }

    #[test]
    fn permission_errors_and_starred_uris() {
        let at = "workers[0].realms[0].roles[0].permissions[0]";
        assert_invalid(
            with(|v| perm0(v)["match"] = json!("foo")),
            &format!("{at}.match"),
            "must be one of \"exact\", \"prefix\", \"wildcard\", got \"foo\"",
        );
        assert_invalid(
            with(|v| perm0(v)["uri"] = json!("com.example topic")),
            &format!("{at}.uri"),
            "must not contain whitespace",
        );
        assert_invalid(
            with(|v| perm0(v)["allow"]["subscibe"] = json!(true)),
            &format!("{at}.allow.subscibe"),
            "unknown field `subscibe`",
        );
        assert_invalid(
            with(|v| perm0(v)["allow"]["call"] = json!(1)),
            &format!("{at}.allow.call"),
            "expected a boolean",
        );
        for (uri, want, policy) in [
            ("com.example.add", "com.example.add", MatchPolicy::Exact),
            ("com.example.*", "com.example.", MatchPolicy::Prefix),
            ("com.*.topic.*", "com..topic.", MatchPolicy::Wildcard),
        ] {
            let loaded = with(|v| {
                perm0(v)["uri"] = json!(uri);
                remove(perm0(v), "match");
            })
            .expect("loads");
            let p = &loaded.config.realms[0].roles[0].permissions[0];
            assert_eq!((p.uri.as_str(), p.match_policy), (want, policy));
        }
        let loaded = with(|v| {
            remove(perm0(v), "allow");
            remove(perm0(v), "disclose");
        })
        .expect("loads");
        let p = &loaded.config.realms[0].roles[0].permissions[0];
        assert_eq!(
            (p.allow, p.disclose),
            (Allow::default(), Disclose::default())
        );
    }

    #[test]
    fn realm_and_role_errors() {
        assert_invalid(
            with(|v| {
                let realm = realm0(v).clone();
                v["workers"][0]["realms"]
                    .as_array_mut()
                    .expect("array")
                    .push(realm);
            }),
            "workers[0].realms[1].name",
            "duplicate realm name \"realm1\" (first at workers[0].realms[0])",
        );
        assert_invalid(
            with(|v| {
                let role = realm0(v)["roles"][0].clone();
                realm0(v)["roles"].as_array_mut().expect("array").push(role);
            }),
            "workers[0].realms[0].roles[1].name",
            "duplicate role name \"anonymous\" in realm \"realm1\"",
        );
        assert_invalid(
            with(|v| {
                let mut worker = v["workers"][0].clone();
                worker["transports"] = json!([]);
                v["workers"].as_array_mut().expect("array").push(worker);
            }),
            "workers[1].realms[0].name",
            "(first at workers[0].realms[0]); wampstat runs all router workers as one router",
        );
        assert_invalid(
            with(|v| *stats0(v) = json!([256, 10, 0, true, true])),
            "workers[0].realms[0].stats",
            "invalid type: array, expected an object",
        );
        assert_invalid(
            with(|v| realm0(v)["roles"][0] = json!(["anonymous", []])),
            "workers[0].realms[0].roles[0]",
            "invalid type: array, expected an object",
        );
        assert_invalid(
            with(|v| realm0(v)["name"] = json!("r1")),
            "workers[0].realms[0].name",
            "invalid realm name \"r1\"",
        );
        assert_invalid(
            with(|v| remove(realm0(v), "name")),
            "workers[0].realms[0]",
            "missing field `name`",
        );
        assert_invalid(
            with(|v| realm0(v)["options"] = json!({"uri_check": "medium"})),
            "workers[0].realms[0].options.uri_check",
            "must be \"strict\" or \"loose\", got \"medium\"",
        );
        assert_invalid(
            with(|v| realm0(v)["options"] = json!({"enable_meta_api": "no"})),
            "workers[0].realms[0].options.enable_meta_api",
            "expected a boolean",
        );
        let loaded = with(|v| {
            realm0(v)["options"] = json!({"uri_check": "strict", "enable_meta_api": false})
        })
        .expect("loads");
        let realm = &loaded.config.realms[0];
        assert_eq!(
            (realm.uri_check, realm.enable_meta_api),
            (UriCheck::Strict, false)
        );
    }

    #[test]
    fn structure_errors() {
        assert_invalid(
            with(|v| v["workers"] = json!([{"type": "container"}])),
            "workers",
            "no router worker",
        );
        assert_invalid(
            with(|v| remove(v, "workers")),
            "workers",
            "no router worker",
        );
        assert_invalid(
            with(|v| v["workers"][0]["realms"] = json!([])),
            "workers[0].realms",
            "no realms",
        );
        assert_invalid(
            with(|v| v["workers"][0]["transports"] = json!([])),
            "workers[0].transports",
            "no transports",
        );
        assert_invalid(
            with(|v| v["workers"][0]["transports"] = json!([{"type": "mqtt"}])),
            "workers[0].transports",
            "(1 unsupported one(s) were ignored)",
        );
        assert_invalid(
            with(|v| v["workers"][0]["type"] = json!("routr")),
            "workers",
            "no router worker",
        );
        assert_invalid(
            with(|v| remove(&mut v["workers"][0], "type")),
            "workers[0]",
            "missing field `type`",
        );
        assert_invalid(
            with(|v| remove(v, "version")),
            "version",
            "missing: add \"version\": 2",
        );
        assert_invalid(with(|v| v["version"] = json!(1)), "version", "must be 2");
        assert_invalid(
            Config::parse("[1, 2]", SOURCE),
            "(top level)",
            "invalid type: array, expected an object",
        );
        assert_invalid(
            with(|v| v["workers"][0]["realms"] = json!({})),
            "workers[0].realms",
            "invalid type: object, expected an array",
        );
    }

    #[test]
    fn transport_errors() {
        let web_at = "workers[0].transports[0]";
        let raw_at = "workers[0].transports[1]";
        assert_invalid(
            with(|v| ws(v)["serializers"] = json!(["cbor"])),
            &format!("{web_at}.paths.ws.serializers"),
            "no supported serializer: wampstat supports \"json\" and \"msgpack\"",
        );
        assert_invalid(
            with(|v| raw(v)["serializers"] = json!(["json", "xml"])),
            &format!("{raw_at}.serializers[1]"),
            "unknown serializer \"xml\"; wampstat supports \"json\" and \"msgpack\"",
        );
        assert_invalid(
            with(|v| raw(v)["serializers"] = json!([])),
            &format!("{raw_at}.serializers"),
            "no supported serializer",
        );
        assert_invalid(
            with(|v| raw(v)["endpoint"]["port"] = json!(70000)),
            &format!("{raw_at}.endpoint.port"),
            "must be a port number from 0 to 65535 (0 = any free port), got 70000",
        );
        assert_invalid(
            with(|v| raw(v)["endpoint"]["port"] = json!("8081")),
            &format!("{raw_at}.endpoint.port"),
            "expected an integer",
        );
        assert_invalid(
            with(|v| remove(&mut raw(v)["endpoint"], "port")),
            &format!("{raw_at}.endpoint"),
            "missing field `port`",
        );
        assert_invalid(
            with(|v| web(v)["endpoint"]["interface"] = json!("localhost")),
            &format!("{web_at}.endpoint.interface"),
            "must be an IP address",
        );
        assert_invalid(
            with(|v| web(v)["endpoint"]["version"] = json!(6)),
            &format!("{web_at}.endpoint.interface"),
            "127.0.0.1 does not match \"version\": 6",
        );
        assert_invalid(
            with(|v| web(v)["endpoint"]["type"] = json!("udp")),
            &format!("{web_at}.endpoint.type"),
            "unknown endpoint type \"udp\"",
        );
        assert_invalid(
            with(|v| ws(v)["options"]["max_message_size"] = json!(0)),
            &format!("{web_at}.paths.ws.options.max_message_size"),
            "must be from 1 to 67108864 (64 MiB), got 0",
        );
        assert_invalid(
            with(|v| raw(v)["options"]["max_message_size"] = json!(100)),
            &format!("{raw_at}.options.max_message_size"),
            "must be from 512 to 16777216",
        );
        assert_invalid(
            with(|v| raw(v)["type"] = json!("foo")),
            &format!("{raw_at}.type"),
            "unknown transport type \"foo\"",
        );
        assert_invalid(
            with(|v| web(v)["paths"] = json!({"/ws": {"type": "websocket"}})),
            &format!("{web_at}.paths[\"/ws\"]"),
            "invalid web path \"/ws\"",
        );
        assert_invalid(
            with(|v| web(v)["paths"]["x"] = json!({"type": 5})),
            &format!("{web_at}.paths.x.type"),
            "invalid type: number `5`, expected a string",
        );
        assert_invalid(
            with(|v| remove(web(v), "paths")),
            web_at,
            "missing field `paths`",
        );
        assert_invalid(
            with(|v| raw(v)["endpoint"]["port"] = json!(8080)),
            raw_at,
            "listening address 127.0.0.1:8080 is already used by workers[0].transports[0].paths.ws",
        );
        assert_invalid(
            with(|v| ws(v)["auth"] = json!({"anonymous": {"type": "static", "role": "nobody"}})),
            &format!("{web_at}.paths.ws.auth.anonymous.role"),
            "anonymous role \"nobody\" is not defined in any realm (defined roles: \"anonymous\")",
        );
        assert_invalid(
            with(|v| raw(v)["auth"] = json!({"anonymous": {"role": "anonymous"}})),
            &format!("{raw_at}.auth.anonymous"),
            "missing field `type`",
        );
        assert_invalid(
            with(|v| raw(v)["auth"] = json!({"password": {}})),
            &format!("{raw_at}.auth.password"),
            "unknown authentication method \"password\"",
        );
    }

    #[test]
    fn transport_variants() {
        // Several ports on 0 never collide; a standalone websocket transport serves "/".
        let loaded = with(|v| {
            web(v)["endpoint"]["port"] = json!(0);
            raw(v)["endpoint"]["port"] = json!(0);
            v["workers"][0]["transports"]
                .as_array_mut()
                .expect("array")
                .push(json!({"type": "websocket", "endpoint": {"type": "tcp", "port": 9000}}));
        })
        .expect("loads");
        let t = &loaded.config.transports[2];
        assert_eq!(t.kind, TransportKind::WebSocket { path: "/".into() });
        assert_eq!(t.socket_addr().to_string(), "0.0.0.0:9000");
        assert_eq!(
            t.serializers,
            [SerializerKind::Json, SerializerKind::Msgpack]
        );
        assert_eq!(t.max_message_size, DEFAULT_MAX_MESSAGE_SIZE);

        let loaded = with(|v| raw(v)["endpoint"] = json!({"type": "tcp", "port": 1, "version": 6}))
            .expect("loads");
        assert_eq!(
            loaded.config.transports[1].socket_addr().to_string(),
            "[::]:1"
        );

        // Known-but-unsupported serializers are dropped with a warning; duplicates collapse.
        let loaded = with(|v| raw(v)["serializers"] = json!(["cbor", "msgpack", "json", "json"]))
            .expect("loads");
        assert_eq!(
            loaded.config.transports[1].serializers,
            [SerializerKind::Msgpack, SerializerKind::Json]
        );
        assert_eq!(
            loaded.warnings,
            [
                "config/x.json: workers[0].transports[1].serializers[0]: serializer \"cbor\" is not \
              supported (wampstat supports \"json\" and \"msgpack\"), ignored"
            ]
        );

        // Explicit anonymous role, and the default role of a static anonymous block.
        let loaded = with(|v| {
            realm0(v)["roles"]
                .as_array_mut()
                .expect("array")
                .push(json!({"name": "monitor"}));
            ws(v)["auth"] = json!({"anonymous": {"type": "static", "role": "monitor"}});
            raw(v)["auth"] = json!({"anonymous": {"type": "static"}});
        })
        .expect("loads");
        let roles: Vec<_> = loaded
            .config
            .transports
            .iter()
            .map(|t| t.anonymous_role.as_deref())
            .collect();
        assert_eq!(roles, [Some("monitor"), Some("anonymous")]);
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

        // An unsupported endpoint type drops the transport with a warning.
        let loaded = with(|v| raw(v)["endpoint"] = json!({"type": "unix", "path": "/tmp/s"}))
            .expect("loads");
        assert_eq!(loaded.config.transports.len(), 1);
        assert_eq!(
            loaded.warnings,
            [
                "config/x.json: workers[0].transports[1].endpoint.type: endpoint type \"unix\" is not \
              supported by wampstat (only \"tcp\"): the transport is ignored"
            ]
        );
    }

    #[test]
    fn auth_warnings() {
        let w = warnings(with(|v| {
            raw(v)["auth"] = json!({"ticket": {"type": "static", "principals": {}}})
        }));
        assert_eq!(
            w,
            [
                "config/x.json: workers[0].transports[1].auth.ticket: authentication method \
                 \"ticket\" is not supported by wampstat (only static \"anonymous\"), ignored",
                "config/x.json: workers[0].transports[1].auth: no supported authentication \
                 method: wampstat only supports static anonymous authentication, so no client \
                 can join through this transport",
            ]
        );
        let loaded = with(|v| raw(v)["auth"] = json!({"ticket": {}})).expect("loads");
        assert_eq!(loaded.config.transports[1].anonymous_role, None);

        let w = warnings(with(|v| realm0(v)["roles"][0]["name"] = json!("backend")));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("workers[0].transports[0].paths.ws: no \"auth\" block"));
        assert!(w[1].contains("workers[0].transports[1]: no \"auth\" block"));
    }

    #[test]
    fn unknown_keys_are_warned_with_their_paths() {
        let w = warnings(with(|v| {
            v["controller"] = json!({"id": "node1"});
            v["workers"][0]["options"] = json!({"pythonpath": [".."]});
            v["workers"][0]["components"] = json!([]);
            realm0(v)["store"] = json!({"type": "memory"});
            realm0(v)["options"] = json!({"event_dispatching_chunk_size": 100});
            perm0(v)["cache"] = json!(true);
            web(v)["endpoint"]["backlog"] = json!(1024);
            ws(v)["options"]["auto_ping_interval"] = json!(10000);
            web(v)["paths"]["info"] = json!({"type": "nodeinfo"});
            raw(v)["debug"] = json!(false);
            v["workers"]
                .as_array_mut()
                .expect("array")
                .push(json!({"type": "guest", "executable": "node"}));
        }));
        let expected: Vec<String> = [
            "controller",
            "workers[0].options",
            "workers[0].components",
            "workers[0].realms[0].store",
            "workers[0].realms[0].options.event_dispatching_chunk_size",
            "workers[0].realms[0].roles[0].permissions[0].cache",
            "workers[0].transports[0].endpoint.backlog",
            "workers[0].transports[0].paths.ws.options.auto_ping_interval",
        ]
        .iter()
        .map(|p| format!("config/x.json: {p}: not supported by wampstat, ignored"))
        .chain([
            "config/x.json: workers[0].transports[0].paths.info: web service type \"nodeinfo\" is \
             not supported by wampstat, ignored"
                .to_owned(),
            "config/x.json: workers[0].transports[1].debug: not supported by wampstat, ignored"
                .to_owned(),
            "config/x.json: workers[1]: worker type \"guest\" is not supported by wampstat, ignored"
                .to_owned(),
        ])
        .collect();
        let mut got = w.clone();
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want);
        // `$schema` and `id`s are accepted silently.
        let w = warnings(with(|v| {
            v["$schema"] = json!("https://example.invalid/crossbar.json");
            v["workers"][0]["id"] = json!("worker001");
            realm0(v)["id"] = json!("realm001");
            web(v)["id"] = json!("transport001");
        }));
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn syntax_and_io_errors() {
        let err = Config::parse("{\n  \"version\": 2,\n  \"workers\": [\n}\n", SOURCE)
            .expect_err("syntax");
        match &err {
            ConfigError::Syntax { line, column, .. } => assert_eq!((*line, *column), (4, 1)),
            other => panic!("expected a syntax error, got {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("config/x.json:4:1: invalid JSON: "),
            "{err}"
        );
        let err = Config::parse("", SOURCE).expect_err("empty");
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");

        let dir = std::env::temp_dir().join(format!("wampstat-config-test-{}", std::process::id()));
        let err = Config::load_cbdir(&dir).expect_err("missing");
        assert!(matches!(err, ConfigError::Io { .. }), "{err}");
        assert!(
            err.to_string().contains("config.json: cannot read"),
            "{err}"
        );

        std::fs::create_dir_all(&dir).expect("mkdir");
        let text = format!("\u{feff}{}", include_str!("../../../config/default.json"));
        std::fs::write(dir.join("config.json"), text).expect("write");
        let loaded = Config::load_cbdir(&dir);
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(loaded.expect("loads").config, fallback_default());
    }

    #[test]
    fn example_configs_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples");
        let mut seen = std::collections::HashMap::new();
        for entry in std::fs::read_dir(&dir).expect("config/examples") {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let loaded = Config::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            // Only the Crossbar-compatible examples use things wampstat ignores.
            if !name.starts_with("crossbar-") {
                assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
            }
            seen.insert(name, loaded);
        }

        let by_duration = &seen["stats-by-duration.json"].config.realms[0];
        let stats = by_duration.stats.expect("stats");
        assert_eq!(
            (
                stats.trigger_after_rated_messages,
                stats.trigger_after_duration_ns
            ),
            (0, 1_000_000_000)
        );

        let monitor = &seen["restricted-monitor.json"].config;
        let roles: Vec<_> = monitor
            .transports
            .iter()
            .map(|t| t.anonymous_role.as_deref())
            .collect();
        assert_eq!(roles, [Some("monitor"), Some("backend")]);
        let role = monitor.realms[0].role("monitor").expect("monitor role");
        assert!(
            role.permissions
                .iter()
                .all(|p| !p.allow.publish && !p.allow.register)
        );

        let compatible = &seen["crossbar-compatible.json"];
        assert!(
            compatible
                .warnings
                .iter()
                .any(|w| w.contains("paths[\"/\"]: web service type \"static\"")),
            "{:?}",
            compatible.warnings
        );
        assert_eq!(compatible.config.transports.len(), 2);
    }

    /// Replacing any node of the default config by a value of another type, or cutting the text
    /// anywhere, gives an error or a config, never a panic.
    #[test]
    fn never_panics_on_odd_input() {
        fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    for (k, v) in map {
                        pointers(v, format!("{at}/{k}"), out);
                    }
                }
                Value::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        pointers(v, format!("{at}/{i}"), out);
                    }
                }
                _ => {}
            }
            out.push(at);
        }
        let base = default_value();
        let mut all = Vec::new();
        pointers(&base, String::new(), &mut all);
        let replacements = [
            json!(null),
            json!(true),
            json!(-1),
            json!(1.5),
            json!(u64::MAX),
            json!("x"),
            json!([]),
            json!({}),
            json!({"type": "websocket"}),
        ];
        for pointer in &all {
            for replacement in &replacements {
                let mut value = base.clone();
                if let Some(node) = value.pointer_mut(pointer) {
                    *node = replacement.clone();
                }
                let _ = Config::parse(&value.to_string(), SOURCE);
            }
        }
        let text = include_str!("../../../config/default.json");
        for (i, _) in text.char_indices() {
            let _ = Config::parse(&text[..i], SOURCE);
        }
    }
}
