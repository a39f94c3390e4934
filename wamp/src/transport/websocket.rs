//! WAMP over WebSocket: subprotocol negotiation (`wamp.2.json`, `wamp.2.msgpack`, `wamp.2.cbor`;
//! the binary ones in binary frames), the endpoint path, and message size limits.

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{self, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{
    Connection, FrameReader, FrameWriter, Framing, Peer, Stream, TransportError, TransportInfo,
};
use crate::serializer::Serializer;

/// The most a router's connection reads at once: tungstenite's default (128 KiB) would
/// dominate the idle memory of thousands of sessions.
const SERVER_READ_BUFFER: usize = 1024;

fn config(max_message_size: usize, read_buffer: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_message_size))
}

/// Chooses the first subprotocol the client offers that `serializers` allows.
pub fn choose_subprotocol(offered: &str, serializers: &[Serializer]) -> Option<Serializer> {
    offered
        .split(',')
        .map(str::trim)
        .filter_map(Serializer::from_subprotocol)
        .find(|s| serializers.contains(s))
}

fn refusal(status: StatusCode, body: String) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(body));
    *r.status_mut() = status;
    r
}

/// Which web pages may open a WebSocket, by their `Origin` request header, as Crossbar's
/// `allowed_origins` and `allow_null_origin`. A request without `Origin` (not from a browser)
/// is always allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    /// Origin patterns, `*` matching any run of characters (e.g. `http://localhost:*`),
    /// compared without regard to case.
    pub allowed: Vec<String>,
    /// Whether the origin `null` (a file, a sandboxed frame) is allowed.
    pub allow_null: bool,
}

impl Default for OriginPolicy {
    /// Crossbar's default: every origin.
    fn default() -> Self {
        OriginPolicy {
            allowed: vec!["*".to_owned()],
            allow_null: true,
        }
    }
}

impl OriginPolicy {
    /// Whether a request with `origin` (its `Origin` header, if any) may upgrade.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        match origin {
            None => true,
            Some(o) if o.eq_ignore_ascii_case("null") => self.allow_null,
            Some(o) => {
                let o = o.to_ascii_lowercase();
                self.allowed
                    .iter()
                    .any(|p| glob_matches(&p.to_ascii_lowercase(), &o))
            }
        }
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// One WAMP WebSocket endpoint of a listener: its HTTP path and what it accepts there.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    /// The HTTP path, starting with `/`.
    pub path: &'a str,
    /// The serializers offered there.
    pub serializers: &'a [Serializer],
    /// The largest message accepted there.
    pub max_message_size: usize,
    /// Which web pages may connect there.
    pub origins: &'a OriginPolicy,
}

/// The server side: upgrades a connection at one of `routes` (several when a web or
/// universal transport serves several paths on one port), negotiating a `wamp.2.*`
/// subprotocol; returns the index of the route taken with the connection.
///
/// A request for another path gets `404`; one from a page whose `Origin` the route does not
/// allow gets `403` before any WAMP; one that offers no subprotocol we speak gets `400` with a
/// body that lists ours.
pub async fn accept(
    stream: Stream,
    routes: &[Route<'_>],
) -> Result<(usize, Connection), TransportError> {
    stream.set_nodelay()?;
    let peer = stream.peer()?;
    let is_secure = stream.is_secure();
    let mut chosen = None;
    let mut headers = Vec::new();
    // The error type is tungstenite's; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        let Some((index, route)) = routes
            .iter()
            .enumerate()
            .find(|(_, r)| r.path == req.uri().path())
        else {
            let ours: Vec<_> = routes.iter().map(|r| r.path).collect();
            return Err(refusal(
                StatusCode::NOT_FOUND,
                format!(
                    "no WAMP WebSocket endpoint at {}; this port serves {}\n",
                    req.uri().path(),
                    ours.join(", ")
                ),
            ));
        };
        let origin = req
            .headers()
            .get(http::header::ORIGIN)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if !route.origins.allows(origin.as_deref()) {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                format!(
                    "origin {:?} is not allowed to open a WebSocket here\n",
                    origin.unwrap_or_default()
                ),
            ));
        }
        let offered = req
            .headers()
            .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        let Some(ser) = choose_subprotocol(&offered, route.serializers) else {
            let ours: Vec<_> = route.serializers.iter().map(|s| s.subprotocol()).collect();
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                format!(
                    "no supported WebSocket subprotocol offered (offered: {:?}); this WAMP router speaks {}\n",
                    offered,
                    ours.join(", ")
                ),
            ));
        };
        resp.headers_mut().insert(
            http::header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(ser.subprotocol()),
        );
        headers = req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        chosen = Some((index, ser));
        Ok(resp)
    };
    // tungstenite's limit must be set before the path is known: the largest of the routes';
    // the reader then holds the route's own.
    let largest = routes.iter().map(|r| r.max_message_size).max().unwrap_or(0);
    // Every byte from the request on is followed, to time a frame that stops half-way.
    let (stream, progress) = stream.watched();
    let ws = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        callback,
        Some(config(largest, SERVER_READ_BUFFER)),
    )
    .await?;
    let (index, serializer) = chosen.ok_or_else(|| {
        TransportError::RawSocket("handshake finished without a subprotocol".into())
    })?;
    let limit = routes[index].max_message_size;
    let facts = Facts {
        serializer,
        peer,
        is_secure,
        limit,
    };
    Ok((index, split(ws, facts, headers, Some(progress))))
}

/// The client side: connects to `url` (`ws://host:port/path`) over an open `stream`; the
/// connection reads up to `read_buffer` bytes at once (see [`super::CLIENT_READ_BUFFER`]).
pub async fn connect(
    stream: Stream,
    url: &str,
    serializer: Serializer,
    max_message_size: usize,
    read_buffer: usize,
) -> Result<Connection, TransportError> {
    stream.set_nodelay()?;
    let peer = stream.peer()?;
    let is_secure = stream.is_secure();
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| TransportError::Url {
            url: url.to_owned(),
            problem: e.to_string(),
        })?;
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let request = http::Request::builder()
        .uri(uri)
        .header("Host", host)
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", generate_key())
        .header("Sec-WebSocket-Protocol", serializer.subprotocol())
        .body(())
        .map_err(|e| TransportError::Url {
            url: url.to_owned(),
            problem: e.to_string(),
        })?;
    let (ws, response) = tokio_tungstenite::client_async_with_config(
        request,
        stream,
        Some(config(max_message_size, read_buffer)),
    )
    .await?;
    let agreed = response
        .headers()
        .get(http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok());
    if agreed != Some(serializer.subprotocol()) {
        return Err(TransportError::RawSocket(format!(
            "the server agreed to subprotocol {agreed:?}, not {}",
            serializer.subprotocol()
        )));
    }
    let limit = max_message_size;
    let facts = Facts {
        serializer,
        peer,
        is_secure,
        limit,
    };
    Ok(split(ws, facts, Vec::new(), None))
}

/// What a handshake established, for [`split`].
struct Facts {
    serializer: Serializer,
    peer: Peer,
    is_secure: bool,
    /// The largest message accepted.
    limit: usize,
}

fn split(
    ws: tokio_tungstenite::WebSocketStream<Stream>,
    facts: Facts,
    http_headers: Vec<(String, String)>,
    progress: Option<std::sync::Arc<super::ws_frames::Progress>>,
) -> Connection {
    let Facts {
        serializer,
        peer,
        is_secure,
        limit,
    } = facts;
    let (sink, stream) = ws.split();
    Connection {
        info: TransportInfo {
            framing: Framing::WebSocket,
            serializer,
            peer,
            is_secure,
            websocket_protocol: Some(serializer.subprotocol().to_owned()),
            http_headers: http_headers.into(),
            peer_max_message_size: usize::MAX,
        },
        reader: FrameReader::Ws {
            messages: stream,
            limit,
            progress,
            stall: super::STALL_TIMEOUT,
        },
        writer: FrameWriter::Ws {
            sink,
            text: serializer.is_text(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_crossbar_style_patterns() {
        let p = OriginPolicy {
            allowed: vec!["http://localhost:*".into(), "https://*.example.com".into()],
            allow_null: false,
        };
        assert!(p.allows(None), "no Origin: not a browser");
        assert!(p.allows(Some("http://localhost:3000")));
        assert!(p.allows(Some("HTTP://LOCALHOST:3000")));
        assert!(p.allows(Some("https://app.example.com")));
        assert!(!p.allows(Some("https://example.com.evil.org")));
        assert!(!p.allows(Some("http://localhost.evil.org")));
        assert!(!p.allows(Some("https://evil.org")));
        assert!(!p.allows(Some("null")));
        assert!(OriginPolicy::default().allows(Some("https://anything.org")));
        assert!(OriginPolicy::default().allows(Some("null")));
    }

    #[test]
    fn subprotocol_choice_follows_client_order() {
        let both = [Serializer::Json, Serializer::Msgpack];
        assert_eq!(
            choose_subprotocol("wamp.2.msgpack, wamp.2.json", &both),
            Some(Serializer::Msgpack)
        );
        assert_eq!(
            choose_subprotocol("wamp.2.cbor,wamp.2.json", &both),
            Some(Serializer::Json)
        );
        assert_eq!(
            choose_subprotocol("wamp.2.msgpack", &[Serializer::Json]),
            None
        );
        assert_eq!(choose_subprotocol("", &both), None);
    }
}
