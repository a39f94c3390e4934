//! The raw (serde) shapes of `config.json`, before validation. Fields named `_x` are accepted
//! silently and not used; keys not declared here are reported by serde_ignored and become
//! warnings.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::{Map, Value};

/// Any JSON integer (no floats), kept wide so range errors can show the value given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Int(pub(super) i128);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntVisitor;
        impl Visitor<'_> for IntVisitor {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                Ok(Int(v.into()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Int, E> {
                Ok(Int(v))
            }
        }
        deserializer.deserialize_any(IntVisitor)
    }
}

/// The top level of the file.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawRoot {
    #[serde(rename = "$schema")]
    _schema: Option<Value>,
    pub(super) version: Option<Int>,
    #[serde(default)]
    pub(super) workers: Vec<Value>,
    pub(super) cluster: Option<Value>,
}

/// **[ours]** The top-level `cluster` block; unknown keys are errors.
#[derive(Deserialize)]
#[serde(expecting = "an object", deny_unknown_fields)]
pub(super) struct RawCluster {
    pub(super) node: String,
    pub(super) nats: RawNats,
    pub(super) subject_prefix: Option<String>,
    pub(super) heartbeat_ms: Option<Int>,
    pub(super) node_timeout_ms: Option<Int>,
}

/// The cluster block's `nats`; unknown keys are errors.
#[derive(Deserialize)]
#[serde(expecting = "an object", deny_unknown_fields)]
pub(super) struct RawNats {
    pub(super) url: String,
    pub(super) token: Option<String>,
    pub(super) user: Option<String>,
    pub(super) password: Option<String>,
    pub(super) creds: Option<String>,
}

/// A worker of type `router` (`workers[]`).
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawRouterWorker {
    #[serde(rename = "type")]
    _type: Value,
    #[serde(rename = "id")]
    _id: Option<Value>,
    #[serde(default)]
    pub(super) realms: Vec<RawRealm>,
    #[serde(default)]
    pub(super) transports: Vec<Value>,
}

/// A realm (`realms[]`).
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawRealm {
    pub(super) name: String,
    #[serde(rename = "id")]
    _id: Option<Value>,
    #[serde(default)]
    pub(super) roles: Vec<RawRole>,
    pub(super) stats: Option<RawStats>,
    #[serde(default)]
    pub(super) options: RawRealmOptions,
    pub(super) store: Option<RawStore>,
}

/// A realm's `store` (Crossbar's event store).
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawStore {
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(rename = "event-history", default)]
    pub(super) event_history: Vec<RawHistory>,
}

/// One `store.event-history` entry.
#[derive(Deserialize)]
#[serde(expecting = "an object", deny_unknown_fields)]
pub(super) struct RawHistory {
    pub(super) uri: String,
    #[serde(rename = "match")]
    pub(super) match_policy: Option<String>,
    pub(super) limit: Option<Int>,
}

/// A realm's `options`.
#[derive(Deserialize, Default)]
#[serde(expecting = "an object")]
pub(super) struct RawRealmOptions {
    pub(super) uri_check: Option<String>,
    pub(super) enable_meta_api: Option<bool>,
    pub(super) max_sessions: Option<Int>,
    pub(super) max_sessions_per_authid: Option<Int>,
    pub(super) slow_consumer: Option<String>,
    pub(super) max_metric_uris: Option<Int>,
}

/// A realm's `stats` block; unknown keys are errors.
#[derive(Deserialize)]
#[serde(expecting = "an object", deny_unknown_fields)]
pub(super) struct RawStats {
    pub(super) rated_message_size: Option<Int>,
    pub(super) trigger_after_rated_messages: Option<Int>,
    pub(super) trigger_after_duration: Option<Int>,
    pub(super) trigger_on_join: Option<bool>,
    pub(super) trigger_on_leave: Option<bool>,
}

/// A role (`roles[]`).
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawRole {
    pub(super) name: String,
    #[serde(rename = "id")]
    _id: Option<Value>,
    pub(super) permissions: Option<Vec<RawPermission>>,
    pub(super) authorizer: Option<Value>,
}

/// A static permission (`permissions[]`).
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawPermission {
    pub(super) uri: String,
    #[serde(rename = "match")]
    pub(super) match_policy: Option<String>,
    #[serde(default)]
    pub(super) allow: RawAllow,
    #[serde(default)]
    pub(super) disclose: RawDisclose,
}

/// A permission's `allow`; unknown keys are errors.
#[derive(Deserialize, Default)]
#[serde(expecting = "an object", deny_unknown_fields)]
pub(super) struct RawAllow {
    #[serde(default)]
    pub(super) call: bool,
    #[serde(default)]
    pub(super) register: bool,
    #[serde(default)]
    pub(super) publish: bool,
    #[serde(default)]
    pub(super) subscribe: bool,
}

/// A permission's `disclose`; unknown keys are errors.
#[derive(Deserialize, Default)]
#[serde(expecting = "an object", deny_unknown_fields)]
pub(super) struct RawDisclose {
    #[serde(default)]
    pub(super) caller: bool,
    #[serde(default)]
    pub(super) publisher: bool,
}

/// An `endpoint` of type `tcp`.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawTcpEndpoint {
    #[serde(rename = "type")]
    _type: Value,
    pub(super) interface: Option<String>,
    pub(super) port: Option<Int>,
    pub(super) version: Option<Int>,
    pub(super) tls: Option<Value>,
}

/// An `endpoint` of type `unix`.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawUnixEndpoint {
    #[serde(rename = "type")]
    _type: Value,
    pub(super) path: String,
    pub(super) tls: Option<Value>,
}

/// An endpoint's `tls` (Crossbar's keys; `dhparam` and `ciphers` are rustls's own business).
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawTls {
    pub(super) key: String,
    pub(super) certificate: String,
    pub(super) chain_certificates: Option<Vec<String>>,
    pub(super) ca_certificates: Option<Vec<String>>,
    pub(super) dhparam: Option<Value>,
    pub(super) ciphers: Option<Value>,
}

/// A transport of type `universal`: RawSocket, WebSocket paths and web paths on one endpoint.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawUniversalTransport {
    #[serde(rename = "type")]
    _type: Value,
    #[serde(rename = "id")]
    _id: Option<Value>,
    pub(super) endpoint: Value,
    pub(super) rawsocket: Option<Value>,
    pub(super) websocket: Option<Map<String, Value>>,
    pub(super) web: Option<Value>,
}

/// The `web` part of a `universal` transport.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawUniversalWeb {
    #[serde(default)]
    pub(super) paths: Map<String, Value>,
}

/// A transport of type `web`.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawWebTransport {
    #[serde(rename = "type")]
    _type: Value,
    #[serde(rename = "id")]
    _id: Option<Value>,
    pub(super) endpoint: Value,
    pub(super) paths: Map<String, Value>,
}

/// A web path of type `metrics`; unknown keys are errors.
#[derive(Deserialize)]
#[serde(expecting = "an object", deny_unknown_fields)]
pub(super) struct RawMetricsPath {
    #[serde(rename = "type")]
    _type: Value,
}

/// A standalone `websocket` or `rawsocket` transport, or a web transport's `websocket` path
/// (which has no `endpoint`).
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawWampTransport {
    #[serde(rename = "type")]
    _type: Option<Value>,
    #[serde(rename = "id")]
    _id: Option<Value>,
    pub(super) endpoint: Option<Value>,
    pub(super) serializers: Option<Vec<String>>,
    #[serde(default)]
    pub(super) options: RawMessageOptions,
    pub(super) auth: Option<Map<String, Value>>,
}

/// A WAMP transport's `options`.
#[derive(Deserialize, Default)]
#[serde(expecting = "an object")]
pub(super) struct RawMessageOptions {
    pub(super) max_message_size: Option<Int>,
    pub(super) allowed_origins: Option<Vec<String>>,
    pub(super) allow_null_origin: Option<bool>,
    pub(super) auto_ping_interval: Option<Int>,
    pub(super) auto_ping_timeout: Option<Int>,
    pub(super) auto_ping_size: Option<Int>,
}

/// `auth.ticket` of type `static`.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawTicketStatic {
    #[serde(rename = "type")]
    _type: Value,
    #[serde(default)]
    pub(super) principals: BTreeMap<String, RawTicketPrincipal>,
}

/// One principal of static ticket authentication.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawTicketPrincipal {
    pub(super) ticket: String,
    pub(super) role: String,
    pub(super) realm: Option<String>,
}

/// `auth.wampcra` of type `static`.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawCraStatic {
    #[serde(rename = "type")]
    _type: Value,
    #[serde(default)]
    pub(super) users: BTreeMap<String, RawCraUser>,
}

/// One user of static WAMP-CRA authentication.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawCraUser {
    pub(super) secret: String,
    pub(super) role: String,
    pub(super) realm: Option<String>,
    pub(super) salt: Option<String>,
    pub(super) iterations: Option<Int>,
    pub(super) keylen: Option<Int>,
}

/// `auth.cryptosign` of type `static`.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawCryptosignStatic {
    #[serde(rename = "type")]
    _type: Value,
    #[serde(default)]
    pub(super) principals: BTreeMap<String, RawKeyPrincipal>,
}

/// One principal of static cryptosign authentication.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawKeyPrincipal {
    pub(super) authorized_keys: Vec<String>,
    pub(super) role: String,
    pub(super) realm: Option<String>,
}

/// `auth.anonymous` of type `static`.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawAnonymousStatic {
    #[serde(rename = "type")]
    _type: Value,
    pub(super) role: Option<String>,
    pub(super) realm: Option<String>,
}

/// `auth.ticket`, `auth.wampcra` or `auth.cryptosign` of type `dynamic`, as Crossbar has it.
#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct RawDynamic {
    #[serde(rename = "type")]
    _type: Value,
    pub(super) authenticator: Value,
    #[serde(rename = "authenticator-realm")]
    pub(super) authenticator_realm: Option<String>,
    #[serde(rename = "authenticator-role")]
    pub(super) authenticator_role: Option<Value>,
    #[serde(rename = "default-role")]
    pub(super) default_role: Option<String>,
}
