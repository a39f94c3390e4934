//! WAMP over WebSocket: subprotocol negotiation (`wamp.2.json`, `wamp.2.msgpack`), the endpoint
//! path, and message size limits.

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{self, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{Connection, FrameReader, FrameWriter, Framing, TransportError, TransportInfo};
use crate::serializer::Serializer;

/// The read buffer of a connection; tungstenite's default (128 KiB) dominates idle memory.
const READ_BUFFER: usize = 1024;

fn config(max_message_size: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
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

/// The server side: upgrades a connection at `path`, negotiating a `wamp.2.*` subprotocol.
///
/// A request for another path gets `404`; one that offers no subprotocol we speak gets `400`
/// with a body that lists ours.
pub async fn accept(
    stream: TcpStream,
    path: &str,
    serializers: &[Serializer],
    max_message_size: usize,
) -> Result<Connection, TransportError> {
    stream.set_nodelay(true)?;
    let peer = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let mut chosen = None;
    let mut headers = Vec::new();
    // The error type is tungstenite's; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        if req.uri().path() != path {
            return Err(refusal(
                StatusCode::NOT_FOUND,
                format!(
                    "no WAMP WebSocket endpoint at {}; this one is at {path}\n",
                    req.uri().path()
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
        let Some(ser) = choose_subprotocol(&offered, serializers) else {
            let ours: Vec<_> = serializers.iter().map(|s| s.subprotocol()).collect();
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
        chosen = Some(ser);
        Ok(resp)
    };
    let ws = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        callback,
        Some(config(max_message_size)),
    )
    .await?;
    let serializer = chosen.ok_or_else(|| {
        TransportError::RawSocket("handshake finished without a subprotocol".into())
    })?;
    Ok(split(ws, serializer, peer, local, headers))
}

/// The client side: connects to `url` (`ws://host:port/path`) over an open `stream`.
pub async fn connect(
    stream: TcpStream,
    url: &str,
    serializer: Serializer,
    max_message_size: usize,
) -> Result<Connection, TransportError> {
    stream.set_nodelay(true)?;
    let peer = stream.peer_addr()?;
    let local = stream.local_addr()?;
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
        Some(config(max_message_size)),
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
    Ok(split(ws, serializer, peer, local, Vec::new()))
}

fn split(
    ws: tokio_tungstenite::WebSocketStream<TcpStream>,
    serializer: Serializer,
    peer: std::net::SocketAddr,
    local: std::net::SocketAddr,
    http_headers: Vec<(String, String)>,
) -> Connection {
    let (sink, stream) = ws.split();
    Connection {
        info: TransportInfo {
            framing: Framing::WebSocket,
            serializer,
            peer,
            local,
            websocket_protocol: Some(serializer.subprotocol().to_owned()),
            http_headers: http_headers.into(),
            peer_max_message_size: usize::MAX,
        },
        reader: FrameReader::Ws(stream),
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
