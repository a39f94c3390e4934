//! Where transports listen: `endpoint` blocks (`tcp`, with or without `tls`, and `unix`), and
//! no two transports on one address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::transports::Pending;
use super::{Cx, Result};
use crate::config::json_path::JsonPath;
use crate::config::raw::{Int, RawTcpEndpoint, RawUnixEndpoint};
use crate::config::{Listen, TlsConfig};

/// Listening endpoint types Crossbar knows besides `tcp` and `unix`; the transport is ignored
/// with a warning.
const OTHER_CROSSBAR_ENDPOINTS: &[&str] = &["twisted", "onion"];

/// Where a transport listens, and its TLS.
pub(super) struct ListenAt {
    /// The address.
    pub(super) listen: Listen,
    /// The TLS, when `tls` is given.
    pub(super) tls: Option<TlsConfig>,
}

impl Cx<'_> {
    /// The listening address of a transport, or `None` (with a warning) when its endpoint type
    /// is one wampstat does not support.
    pub(super) fn endpoint(&mut self, value: &Value, ep: &JsonPath) -> Result<Option<ListenAt>> {
        match self.type_of(value, ep)? {
            "tcp" => self.tcp_endpoint(value, ep).map(Some),
            "unix" => {
                let raw: RawUnixEndpoint = self.typed(value, ep)?;
                if raw.path.trim().is_empty() {
                    return Err(self.err(&ep.key("path"), "must be a file path, got \"\""));
                }
                if raw.tls.is_some() {
                    return Err(self.err(
                        &ep.key("tls"),
                        "TLS on a Unix socket is not supported by wampstat (the socket is \
                         local; use a \"tcp\" endpoint for TLS)",
                    ));
                }
                Ok(Some(ListenAt {
                    listen: Listen::Unix(self.relative_path(&raw.path)),
                    tls: None,
                }))
            }
            t if OTHER_CROSSBAR_ENDPOINTS.contains(&t) => {
                let message = format!(
                    "endpoint type {t:?} is not supported by wampstat (only \"tcp\" and \
                     \"unix\"): the transport is ignored"
                );
                self.warn(&ep.key("type"), message);
                Ok(None)
            }
            t => Err(self.err(
                &ep.key("type"),
                format!("unknown endpoint type {t:?}; wampstat supports \"tcp\" and \"unix\""),
            )),
        }
    }

    /// A `tcp` endpoint.
    fn tcp_endpoint(&mut self, value: &Value, ep: &JsonPath) -> Result<ListenAt> {
        let raw: RawTcpEndpoint = self.typed(value, ep)?;
        let version = match raw.version {
            None => None,
            Some(Int(4)) => Some(4),
            Some(Int(6)) => Some(6),
            Some(Int(v)) => {
                return Err(self.err(&ep.key("version"), format!("must be 4 or 6, got {v}")));
            }
        };
        let interface = match raw.interface.as_deref().map(str::trim) {
            None | Some("") if version == Some(6) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            None | Some("") => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Some(text) => {
                let ip: IpAddr = text.parse().map_err(|_| {
                    self.err(
                        &ep.key("interface"),
                        format!(
                            "must be an IP address like \"127.0.0.1\" or \"::1\", got {text:?}"
                        ),
                    )
                })?;
                if version == Some(4) && ip.is_ipv6() || version == Some(6) && ip.is_ipv4() {
                    return Err(self.err(
                        &ep.key("interface"),
                        format!("{ip} does not match \"version\": {}", version.unwrap_or(0)),
                    ));
                }
                ip
            }
        };
        let port = match raw.port {
            Some(Int(v)) => u16::try_from(v).map_err(|_| {
                self.err(
                    &ep.key("port"),
                    format!("must be a port number from 0 to 65535 (0 = any free port), got {v}"),
                )
            })?,
            None => {
                let has_range = value.get("portrange").is_some();
                return Err(self.err(
                    ep,
                    if has_range {
                        "missing field `port` (`portrange` is not supported by wampstat)"
                    } else {
                        "missing field `port`"
                    },
                ));
            }
        };
        let tls = match &raw.tls {
            None => None,
            Some(tls) => Some(self.tls(tls, &ep.key("tls"))?),
        };
        Ok(ListenAt {
            listen: Listen::Tcp(SocketAddr::new(interface, port)),
            tls,
        })
    }

    /// No two transports may listen on the same address (port 0 never collides), unless they
    /// share one listening socket (the paths of a `web` or `universal` transport).
    pub(super) fn check_addresses(&self, pending: &[Pending]) -> Result<()> {
        for (i, p) in pending.iter().enumerate() {
            let collides = |q: &&Pending| {
                q.transport.listener != p.transport.listener
                    && match (&p.transport.listen, &q.transport.listen) {
                        (Listen::Tcp(a), Listen::Tcp(b)) => {
                            a.port() != 0
                                && b.port() == a.port()
                                && addresses_overlap(a.ip(), b.ip())
                        }
                        (Listen::Unix(a), Listen::Unix(b)) => a == b,
                        _ => false,
                    }
            };
            if let Some(q) = pending[..i].iter().find(collides) {
                return Err(self.err(
                    &p.path,
                    format!(
                        "listening address {} is already used by {}; two transports cannot \
                         share it (a \"universal\" transport serves RawSocket and WebSocket \
                         on one port)",
                        p.transport.listen, q.path,
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `path` taken from the configuration file's folder when relative, made absolute (as
    /// Crossbar does), so that messages and URLs name it whatever the working directory.
    pub(super) fn relative_path(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        let joined = match &self.folder {
            Some(folder) if path.is_relative() => folder.join(path),
            _ => path.to_path_buf(),
        };
        std::path::absolute(&joined).unwrap_or(joined)
    }
}

/// Whether listening on `a` and on `b` (same port) would collide.
fn addresses_overlap(a: IpAddr, b: IpAddr) -> bool {
    let covers = |x: IpAddr, y: IpAddr| match x {
        IpAddr::V6(v6) if v6.is_unspecified() => true, // "::" is dual-stack by default
        IpAddr::V4(v4) if v4.is_unspecified() => y.is_ipv4(),
        _ => false,
    };
    a == b || covers(a, b) || covers(b, a)
}
