//! Where transports listen: `endpoint` blocks, and no two transports on one address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use super::transports::Pending;
use super::{Cx, Result};
use crate::config::json_path::JsonPath;
use crate::config::raw::{Int, RawTcpEndpoint};

/// Listening endpoint types Crossbar knows besides `tcp`; the transport is ignored with a warning.
const OTHER_CROSSBAR_ENDPOINTS: &[&str] = &["unix", "twisted", "onion"];

impl Cx<'_> {
    /// The listening address of a transport, or `None` (with a warning) when its endpoint type
    /// is one wampstat does not support.
    pub(super) fn endpoint(
        &mut self,
        value: &Value,
        ep: &JsonPath,
    ) -> Result<Option<(IpAddr, u16)>> {
        match self.type_of(value, ep)? {
            "tcp" => {}
            t if OTHER_CROSSBAR_ENDPOINTS.contains(&t) => {
                let message = format!(
                    "endpoint type {t:?} is not supported by wampstat (only \"tcp\"): the \
                     transport is ignored"
                );
                self.warn(&ep.key("type"), message);
                return Ok(None);
            }
            t => {
                return Err(self.err(
                    &ep.key("type"),
                    format!("unknown endpoint type {t:?}; wampstat supports \"tcp\""),
                ));
            }
        }
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
        Ok(Some((interface, port)))
    }

    /// No two transports may listen on the same address (port 0 never collides).
    pub(super) fn check_addresses(&self, pending: &[Pending]) -> Result<()> {
        for (i, p) in pending.iter().enumerate() {
            let a = p.transport.socket_addr();
            if a.port() == 0 {
                continue;
            }
            if let Some(q) = pending[..i].iter().find(|q| {
                let b = q.transport.socket_addr();
                b.port() == a.port() && addresses_overlap(a.ip(), b.ip())
            }) {
                return Err(self.err(
                    &p.path,
                    format!(
                        "listening address {a} is already used by {} ({}); wampstat serves one \
                         WAMP transport per port",
                        q.path,
                        q.transport.socket_addr()
                    ),
                ));
            }
        }
        Ok(())
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
