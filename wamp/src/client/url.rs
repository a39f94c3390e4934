//! Router addresses: `ws://host:port/path`, `rs://host:port` and `tcp://host:port`.

use crate::transport::{Framing, TransportError};

/// A parsed router address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// WebSocket or RawSocket.
    pub framing: Framing,
    /// `host:port`.
    pub authority: String,
    /// The URL as given (WebSocket needs it for the upgrade request).
    pub url: String,
}

impl Endpoint {
    /// Parses a router URL.
    pub fn parse(url: &str) -> Result<Self, TransportError> {
        let bad = |problem: &str| TransportError::Url {
            url: url.to_owned(),
            problem: problem.to_owned(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected scheme://host:port"))?;
        let framing = match scheme {
            "ws" => Framing::WebSocket,
            "rs" | "tcp" | "rawsocket" => Framing::RawSocket,
            "wss" => return Err(bad("TLS (wss://) is not supported; use ws://")),
            _ => return Err(bad("the scheme must be ws://, rs:// or tcp://")),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or_else(|| bad("a port is required, as in host:8080"))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad("expected host:port with a numeric port"));
        }
        if framing == Framing::RawSocket
            && rest.len() > authority.len()
            && &rest[authority.len()..] != "/"
        {
            return Err(bad("a RawSocket URL has no path"));
        }
        Ok(Endpoint {
            framing,
            authority: authority.to_owned(),
            url: url.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_schemes() {
        let ws = Endpoint::parse("ws://127.0.0.1:8080/ws").unwrap();
        assert_eq!(
            (ws.framing, ws.authority.as_str()),
            (Framing::WebSocket, "127.0.0.1:8080")
        );
        let rs = Endpoint::parse("rs://localhost:8081").unwrap();
        assert_eq!(
            (rs.framing, rs.authority.as_str()),
            (Framing::RawSocket, "localhost:8081")
        );
        assert_eq!(
            Endpoint::parse("tcp://[::1]:8081").unwrap().authority,
            "[::1]:8081"
        );
        for bad in [
            "127.0.0.1:8080",
            "http://a:1",
            "ws://a",
            "ws://a:x/ws",
            "wss://a:1/ws",
            "rs://a:1/path",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
