//! Transports: `web` transports and their `websocket` paths, standalone `websocket` and
//! `rawsocket` transports, `universal` transports (both on one port), their serializers and
//! message size limits.

use serde_json::Value;

use super::auth::Anonymous;
use super::endpoints::ListenAt;
use super::{Cx, Result};
use crate::config::json_path::JsonPath;
use crate::config::raw::RawMessageOptions;
use crate::config::raw::{
    Int, RawMetricsPath, RawUniversalTransport, RawUniversalWeb, RawWampTransport, RawWebTransport,
};
use crate::config::{
    DEFAULT_MAX_MESSAGE_SIZE, Keepalive, SerializerKind, TransportConfig, TransportKind,
};
use wamp::transport::websocket::OriginPolicy;

/// Largest `max_message_size` Crossbar accepts on a WebSocket transport (64 MiB).
const WEBSOCKET_MAX_MESSAGE_SIZE: i128 = 64 * 1024 * 1024;
/// Smallest `max_message_size` of a RawSocket transport (autobahn's limit: 2^9).
const RAWSOCKET_MIN_MESSAGE_SIZE: i128 = 512;
/// Largest `max_message_size` of a RawSocket transport (the protocol's limit: 2^24).
const RAWSOCKET_MAX_MESSAGE_SIZE: i128 = 16 * 1024 * 1024;

/// Transport types Crossbar knows that wampstat does not serve; ignored with a warning.
const OTHER_CROSSBAR_TRANSPORTS: &[&str] =
    &["mqtt", "flashpolicy", "websocket.testee", "stream.testee"];
/// Serializers Crossbar knows besides `json`, `msgpack` and `cbor`; dropped with a warning.
const OTHER_CROSSBAR_SERIALIZERS: &[&str] = &["ubjson", "flatbuffers"];

/// The serializers of a transport whose `serializers` is absent: Crossbar passes none to
/// autobahn then, whose server factories (WebSocket and RawSocket alike) offer every serializer
/// it can import, CBOR, msgpack, (UBJSON,) JSON in that order; these are the ones wampstat has.
pub(crate) const DEFAULT_SERIALIZERS: [SerializerKind; 3] = [
    SerializerKind::Cbor,
    SerializerKind::Msgpack,
    SerializerKind::Json,
];

/// A transport accepted so far, with what later checks need.
pub(super) struct Pending {
    /// The transport as configured.
    pub(super) transport: TransportConfig,
    /// Where it is in the file.
    pub(super) path: JsonPath,
    /// Where its anonymous role came from.
    pub(super) anonymous: Anonymous,
    /// The roles its ticket and WAMP-CRA principals name, with their paths.
    pub(super) roles: Vec<(String, JsonPath)>,
    /// The realms its dynamic authenticators name, with their paths.
    pub(super) authenticator_realms: Vec<(String, JsonPath)>,
}

impl Cx<'_> {
    /// Adds the transport(s) of `transports[j]`, or warns and adds nothing.
    pub(super) fn transport(
        &mut self,
        value: &Value,
        tp: &JsonPath,
        pending: &mut Vec<Pending>,
    ) -> Result<()> {
        match self.type_of(value, tp)? {
            "web" => self.web_transport(value, tp, pending),
            kind @ ("websocket" | "rawsocket") => {
                let raw: RawWampTransport = self.typed(value, tp)?;
                let Some(endpoint) = &raw.endpoint else {
                    return Err(self.err(tp, "missing field `endpoint`"));
                };
                let Some(at) = self.endpoint(endpoint, &tp.key("endpoint"))? else {
                    return Ok(());
                };
                let kind = if kind == "websocket" {
                    TransportKind::WebSocket {
                        path: "/".to_owned(),
                    }
                } else {
                    TransportKind::RawSocket
                };
                let listener = self.next_listener();
                pending.push(self.wamp_transport(raw, kind, &at, listener, tp)?);
                Ok(())
            }
            "universal" => self.universal_transport(value, tp, pending),
            t if OTHER_CROSSBAR_TRANSPORTS.contains(&t) => {
                let message = format!("transport type {t:?} is not supported by wampstat, ignored");
                self.warn(tp, message);
                Ok(())
            }
            t => Err(self.err(
                &tp.key("type"),
                format!(
                    "unknown transport type {t:?}; wampstat supports \"web\" (with \"websocket\" \
                     paths), \"websocket\", \"rawsocket\" and \"universal\""
                ),
            )),
        }
    }

    /// Adds one transport per `websocket` path of the `web` transport `value`.
    fn web_transport(
        &mut self,
        value: &Value,
        tp: &JsonPath,
        pending: &mut Vec<Pending>,
    ) -> Result<()> {
        let raw: RawWebTransport = self.typed(value, tp)?;
        let Some(at) = self.endpoint(&raw.endpoint, &tp.key("endpoint"))? else {
            return Ok(());
        };
        let listener = self.next_listener();
        let websockets = self.web_paths(&raw.paths, &tp.key("paths"), &at, listener, pending)?;
        if websockets == 0 {
            // Nothing is bound for it: its metrics paths are not served either.
            self.metrics.retain(|m| m.listener != listener);
            self.warn(
                &tp.key("paths"),
                "no \"websocket\" path: wampstat has nothing to serve on this web transport, \
                 ignored",
            );
        }
        Ok(())
    }

    /// Adds a transport for each `websocket` service of the web `paths` (at `pp`); returns
    /// how many.
    fn web_paths(
        &mut self,
        paths: &serde_json::Map<String, Value>,
        pp: &JsonPath,
        at: &ListenAt,
        listener: usize,
        pending: &mut Vec<Pending>,
    ) -> Result<usize> {
        let mut websockets = 0;
        for (key, service) in paths {
            let sp = pp.key(key);
            match self.type_of(service, &sp)? {
                "websocket" => {
                    self.websocket_path(key, service, &sp, at, listener, pending)?;
                    websockets += 1;
                }
                "metrics" => self.metrics_path(key, service, &sp, listener, pending)?,
                // Open-ended in Crossbar (static, wsgi, nodeinfo, … and per-personality ones).
                t => {
                    let message =
                        format!("web service type {t:?} is not supported by wampstat, ignored");
                    self.warn(&sp, message);
                }
            }
        }
        Ok(websockets)
    }

    /// Adds the Prometheus endpoint `service` served at web path `key` (at `sp`).
    fn metrics_path(
        &mut self,
        key: &str,
        service: &Value,
        sp: &JsonPath,
        listener: usize,
        pending: &[Pending],
    ) -> Result<()> {
        let path = self.web_path(key, sp)?;
        let _: RawMetricsPath = self.typed(service, sp)?;
        let taken = pending
            .iter()
            .any(|p| p.transport.listener == listener && p.transport.kind.path() == Some(&path))
            || self
                .metrics
                .iter()
                .any(|m| m.listener == listener && m.path == path);
        if taken {
            return Err(self.err(sp, format!("web path {path} is already served")));
        }
        self.metrics
            .push(crate::config::MetricsPath { path, listener });
        Ok(())
    }

    /// The HTTP path of web path `key` (at `sp`), which must follow Crossbar's rule.
    fn web_path(&self, key: &str, sp: &JsonPath) -> Result<String> {
        if !is_web_path(key) {
            return Err(self.err(
                sp,
                format!(
                    "invalid web path {key:?}: must be \"/\" or one path segment of letters, \
                     digits, \"_\" and \"-\" (like \"ws\")"
                ),
            ));
        }
        Ok(if key == "/" {
            "/".to_owned()
        } else {
            format!("/{key}")
        })
    }

    /// Adds the WebSocket transport `service` served at web path `key` (at `sp`).
    fn websocket_path(
        &mut self,
        key: &str,
        service: &Value,
        sp: &JsonPath,
        at: &ListenAt,
        listener: usize,
        pending: &mut Vec<Pending>,
    ) -> Result<()> {
        let path = self.web_path(key, sp)?;
        let raw: RawWampTransport = self.typed(service, sp)?;
        if raw.endpoint.is_some() {
            return Err(self.err(
                &sp.key("endpoint"),
                "a web path has no endpoint of its own (the transport's is used)",
            ));
        }
        if self
            .metrics
            .iter()
            .any(|m| m.listener == listener && m.path == path)
        {
            return Err(self.err(sp, format!("web path {path} is already served")));
        }
        if let Some(twice) = pending
            .iter()
            .find(|p| p.transport.listener == listener && p.transport.kind.path() == Some(&path))
        {
            return Err(self.err(
                sp,
                format!("WebSocket path {path} is already served by {}", twice.path),
            ));
        }
        let kind = TransportKind::WebSocket { path };
        pending.push(self.wamp_transport(raw, kind, at, listener, sp)?);
        Ok(())
    }

    /// Adds the transports of the `universal` transport `value`: its `rawsocket`, its
    /// `websocket` paths and the `websocket` services among its `web` paths, all on its one
    /// endpoint, told apart by the first byte a client sends (RawSocket's 0x7F or HTTP) and
    /// then by the HTTP path.
    fn universal_transport(
        &mut self,
        value: &Value,
        tp: &JsonPath,
        pending: &mut Vec<Pending>,
    ) -> Result<()> {
        let raw: RawUniversalTransport = self.typed(value, tp)?;
        let Some(at) = self.endpoint(&raw.endpoint, &tp.key("endpoint"))? else {
            return Ok(());
        };
        let listener = self.next_listener();
        let before = pending.len();
        if let Some(rawsocket) = &raw.rawsocket {
            let rp = tp.key("rawsocket");
            let r: RawWampTransport = self.typed(rawsocket, &rp)?;
            if r.endpoint.is_some() {
                return Err(self.err(
                    &rp.key("endpoint"),
                    "the rawsocket of a universal transport has no endpoint of its own (the \
                     transport's is used)",
                ));
            }
            pending.push(self.wamp_transport(r, TransportKind::RawSocket, &at, listener, &rp)?);
        }
        if let Some(paths) = &raw.websocket {
            let wp = tp.key("websocket");
            for (key, service) in paths {
                self.websocket_path(key, service, &wp.key(key), &at, listener, pending)?;
            }
        }
        if let Some(web) = &raw.web {
            let webp = tp.key("web");
            let web: RawUniversalWeb = self.typed(web, &webp)?;
            self.web_paths(&web.paths, &webp.key("paths"), &at, listener, pending)?;
        }
        if pending.len() == before {
            self.metrics.retain(|m| m.listener != listener);
            self.warn(
                tp,
                "no \"rawsocket\" and no \"websocket\" path: wampstat has nothing to serve on \
                 this universal transport, ignored",
            );
        }
        Ok(())
    }

    /// A fresh listening socket's number (see [`TransportConfig::listener`]).
    fn next_listener(&mut self) -> usize {
        self.listeners += 1;
        self.listeners - 1
    }

    /// The common part of WebSocket and RawSocket transports.
    fn wamp_transport(
        &mut self,
        raw: RawWampTransport,
        kind: TransportKind,
        at: &ListenAt,
        listener: usize,
        tp: &JsonPath,
    ) -> Result<Pending> {
        let serializers = self.serializers(raw.serializers, &tp.key("serializers"))?;
        let is_raw = kind == TransportKind::RawSocket;
        let max_message_size = match raw.options.max_message_size {
            None => DEFAULT_MAX_MESSAGE_SIZE,
            Some(Int(v)) => {
                let (min, max, what) = if is_raw {
                    (
                        RAWSOCKET_MIN_MESSAGE_SIZE,
                        RAWSOCKET_MAX_MESSAGE_SIZE,
                        "16 MiB, the RawSocket limit",
                    )
                } else {
                    (1, WEBSOCKET_MAX_MESSAGE_SIZE, "64 MiB")
                };
                let at = tp.key("options").key("max_message_size");
                if v < min || v > max {
                    return Err(self.err(
                        &at,
                        format!("must be from {min} to {max} ({what}), got {v}"),
                    ));
                }
                usize::try_from(v).map_err(|_| self.err(&at, format!("too large: {v}")))?
            }
        };
        let auth = self.auth(raw.auth, &tp.key("auth"))?;
        let keepalive = self.keepalive(&raw.options, is_raw, &tp.key("options"))?;
        let mut origins = OriginPolicy::default();
        if is_raw {
            for (key, given) in [
                ("allowed_origins", raw.options.allowed_origins.is_some()),
                ("allow_null_origin", raw.options.allow_null_origin.is_some()),
            ] {
                if given {
                    self.warn(
                        &tp.key("options").key(key),
                        "only WebSocket transports check origins, ignored",
                    );
                }
            }
        } else {
            if let Some(allowed) = raw.options.allowed_origins {
                origins.allowed = allowed;
            }
            if let Some(null) = raw.options.allow_null_origin {
                origins.allow_null = null;
            }
        }
        Ok(Pending {
            transport: TransportConfig {
                kind,
                listen: at.listen.clone(),
                tls: at.tls.clone(),
                listener,
                serializers,
                max_message_size,
                auth: auth.config,
                origins,
                keepalive,
            },
            path: tp.clone(),
            anonymous: auth.anonymous,
            roles: auth.roles,
            authenticator_realms: auth.authenticator_realms,
        })
    }

    /// The keepalive pings of a transport with `options` (at `op`): on WebSocket by default
    /// ([`Keepalive::WEBSOCKET`]), on RawSocket only when `auto_ping_interval` is given (some
    /// RawSocket clients, autobahn's asyncio one among them, drop a connection that sends
    /// them PING); `auto_ping_interval: 0` turns them off.
    fn keepalive(
        &mut self,
        options: &RawMessageOptions,
        is_raw: bool,
        op: &JsonPath,
    ) -> Result<Option<Keepalive>> {
        let ms = |cx: &Self, v: Option<Int>, key: &str, default: std::time::Duration| match v {
            None => Ok(default),
            Some(Int(n)) => u64::try_from(n)
                .ok()
                .filter(|&n| n <= 86_400_000)
                .map(std::time::Duration::from_millis)
                .ok_or_else(|| {
                    cx.err(
                        &op.key(key),
                        format!("must be milliseconds from 0 to 86400000 (a day), got {n}"),
                    )
                }),
        };
        let d = Keepalive::WEBSOCKET;
        let interval = match (options.auto_ping_interval, is_raw) {
            (None, true) => std::time::Duration::ZERO,
            (v, _) => ms(self, v, "auto_ping_interval", d.interval)?,
        };
        let timeout = ms(
            self,
            options.auto_ping_timeout,
            "auto_ping_timeout",
            d.timeout,
        )?;
        let size = match options.auto_ping_size {
            None => d.size,
            Some(Int(n @ 4..=125)) => n as usize,
            Some(Int(n)) => {
                let at = op.key("auto_ping_size");
                return Err(self.err(&at, format!("must be from 4 to 125 bytes, got {n}")));
            }
        };
        if interval.is_zero() {
            return Ok(None);
        }
        if timeout.is_zero() {
            let at = op.key("auto_ping_timeout");
            return Err(self.err(&at, "must be more than 0 when pings are sent"));
        }
        Ok(Some(Keepalive {
            interval,
            timeout,
            size,
        }))
    }

    /// The `serializers` list `raw` (at `sp`): [`DEFAULT_SERIALIZERS`] when absent.
    fn serializers(
        &mut self,
        raw: Option<Vec<String>>,
        sp: &JsonPath,
    ) -> Result<Vec<SerializerKind>> {
        const SUPPORTED: &str = "wampstat supports \"json\", \"msgpack\" and \"cbor\"";
        let Some(names) = raw else {
            return Ok(DEFAULT_SERIALIZERS.to_vec());
        };
        let mut out = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let kind = match name.as_str() {
                "json" => SerializerKind::Json,
                "msgpack" => SerializerKind::Msgpack,
                "cbor" => SerializerKind::Cbor,
                other if OTHER_CROSSBAR_SERIALIZERS.contains(&other) => {
                    let message =
                        format!("serializer {other:?} is not supported ({SUPPORTED}), ignored");
                    self.warn(&sp.index(i), message);
                    continue;
                }
                other => {
                    return Err(self.err(
                        &sp.index(i),
                        format!("unknown serializer {other:?}; {SUPPORTED}"),
                    ));
                }
            };
            if !out.contains(&kind) {
                out.push(kind);
            }
        }
        if out.is_empty() {
            return Err(self.err(
                sp,
                format!("no supported serializer: {SUPPORTED}, got {names:?}"),
            ));
        }
        Ok(out)
    }
}

/// Crossbar's web path rule: `/` or one segment of letters, digits, `_` and `-`.
fn is_web_path(key: &str) -> bool {
    key == "/"
        || (!key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}
