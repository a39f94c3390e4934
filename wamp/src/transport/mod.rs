//! Transports: RawSocket and WebSocket over TCP, behind one reader and one writer type.
//!
//! A [`Connection`] is what a handshake yields: the negotiated serializer and peer facts in
//! [`TransportInfo`], a [`FrameReader`] that yields WAMP message payloads, and a [`FrameWriter`]
//! that [`run_writer`] drives from a bounded queue, coalescing queued messages into few writes.

pub mod rawsocket;
mod stream;
pub mod tls;
pub mod websocket;
pub mod ws_frames;

pub use stream::{Peer, ReadHalf, Stream, WriteHalf};

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_util::codec::FramedRead;

use crate::serializer::Serializer;

/// How WAMP messages are framed on the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// WebSocket (RFC 6455) with a `wamp.2.*` subprotocol.
    WebSocket,
    /// WAMP RawSocket: a 4-byte handshake, then length-prefixed frames.
    RawSocket,
}

impl Framing {
    /// `websocket` or `rawsocket`.
    pub fn name(self) -> &'static str {
        match self {
            Framing::WebSocket => "websocket",
            Framing::RawSocket => "rawsocket",
        }
    }
}

/// What the handshake established about a connection.
#[derive(Debug, Clone)]
pub struct TransportInfo {
    /// The framing.
    pub framing: Framing,
    /// The negotiated serializer.
    pub serializer: Serializer,
    /// Who is at the other end.
    pub peer: Peer,
    /// Whether the connection is encrypted (TLS).
    pub is_secure: bool,
    /// The WebSocket subprotocol (`None` for RawSocket).
    pub websocket_protocol: Option<String>,
    /// The HTTP request headers of a WebSocket upgrade, names in lower case (shared: every
    /// copy of the transport's description points to the same headers).
    pub http_headers: std::sync::Arc<[(String, String)]>,
    /// The largest message the peer accepts.
    pub peer_max_message_size: usize,
}

impl TransportInfo {
    /// The peer as Crossbar writes it: `tcp4:127.0.0.1:52700`, `unix`.
    pub fn peer_string(&self) -> String {
        self.peer.to_string()
    }
}

/// Errors of handshakes and framing.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A RawSocket handshake or frame broke the protocol.
    #[error("RawSocket: {0}")]
    RawSocket(String),
    /// The RawSocket peer refused the handshake.
    #[error("RawSocket handshake refused by the peer: {0}")]
    Refused(rawsocket::HandshakeError),
    /// WebSocket failed (handshake or frames).
    #[error("WebSocket: {0}")]
    WebSocket(#[from] tungstenite::Error),
    /// A message is larger than the limit.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The message's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A frame stopped arriving half-way.
    #[error(
        "a frame stopped arriving half-way ({buffered} bytes buffered, nothing more for {after:?})"
    )]
    Stalled {
        /// The bytes of it buffered.
        buffered: usize,
        /// How long nothing more came.
        after: std::time::Duration,
    },
    /// TLS could not be set up or its handshake failed.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The URL is not one this client can connect to.
    #[error("invalid URL {url:?}: {problem}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        problem: String,
    },
}

/// What a reader yields.
#[derive(Debug)]
pub enum Inbound {
    /// A WAMP message payload.
    Message(Bytes),
    /// A RawSocket PING; answer with [`Outbound::Pong`] and the same payload.
    Ping(Bytes),
    /// The answer to a PING we sent (RawSocket PONG, WebSocket pong): the peer is alive.
    Pong,
}

/// What a writer is asked to send.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A WAMP message payload.
    Message(Bytes),
    /// A WAMP message payload that counts as traffic but must not trigger what traffic
    /// triggers (a router's statistics events about statistics, which would feed themselves).
    Passive(Bytes),
    /// A RawSocket PONG.
    Pong(Bytes),
    /// A PING (RawSocket PING frame, WebSocket ping) the peer must answer: are you there?
    Ping(Bytes),
    /// Close the connection once everything queued before has been written.
    Close,
}

impl Outbound {
    /// The payload's length in bytes (0 for [`Outbound::Close`]), without framing.
    pub fn len(&self) -> usize {
        match self {
            Outbound::Message(b) | Outbound::Passive(b) | Outbound::Pong(b) | Outbound::Ping(b) => {
                b.len()
            }
            Outbound::Close => 0,
        }
    }

    /// Whether it carries no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a client reads at most at once unless told otherwise (`SessionOptions::read_buffer`):
/// a few messages per read, small enough for thousands of idle client sessions in one process
/// (the load generator's). A client fed much more than it sends (a monitor: every meta event)
/// does better with far more, e.g. 64 KiB: fewer reads, each taking many messages.
pub const CLIENT_READ_BUFFER: usize = 4096;

/// How long a frame (RawSocket, or WebSocket on a server) may stop arriving half-way before the
/// connection is given up ([`TransportError::Stalled`]), unless
/// [`FrameReader::set_stall_timeout`] says otherwise.
pub const STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The reading half of a connection.
pub enum FrameReader {
    /// RawSocket frames.
    Raw {
        /// The frames.
        frames: FramedRead<ReadHalf, rawsocket::FrameCodec>,
        /// How long a frame begun may go without a byte more.
        stall: std::time::Duration,
    },
    /// WebSocket messages.
    Ws {
        /// The messages.
        messages: futures_util::stream::SplitStream<WebSocketStream<Stream>>,
        /// The largest accepted (tungstenite's own limit may be larger: see
        /// [`websocket::accept`]).
        limit: usize,
        /// Where the bytes read are in their frames (a server's connections).
        progress: Option<std::sync::Arc<ws_frames::Progress>>,
        /// How long a frame begun may go without a byte more.
        stall: std::time::Duration,
    },
}

impl FrameReader {
    /// Sets how long a frame may stop arriving half-way (see [`STALL_TIMEOUT`]).
    pub fn set_stall_timeout(&mut self, timeout: std::time::Duration) {
        match self {
            FrameReader::Raw { stall, .. } | FrameReader::Ws { stall, .. } => *stall = timeout,
        }
    }

    /// The next frame; `None` when the peer closed the connection.
    pub async fn next(&mut self) -> Option<Result<Inbound, TransportError>> {
        match self {
            FrameReader::Raw { frames, stall } => {
                // The busy case first, without a timer: a frame already there (or readable).
                if let Some(frame) = frames.next().now_or_never() {
                    return frame;
                }
                // A frame begun (bytes buffered) must keep arriving: looked at every `stall`, a
                // partial frame that has not grown since the last look ends the connection.
                let mut buffered = frames.read_buffer().len();
                loop {
                    tokio::select! {
                        biased;
                        f = frames.next() => return f,
                        _ = tokio::time::sleep(*stall) => {
                            let now = frames.read_buffer().len();
                            if now > 0 && now == buffered {
                                return Some(Err(TransportError::Stalled {
                                    buffered: now,
                                    after: *stall,
                                }));
                            }
                            buffered = now;
                        }
                    }
                }
            }
            FrameReader::Ws {
                messages,
                limit,
                progress,
                stall,
            } => loop {
                let next = match progress {
                    None => messages.next().await,
                    Some(progress) => match stalling(messages, progress, *stall).await {
                        Ok(next) => next,
                        Err(stalled) => return Some(Err(stalled)),
                    },
                }?;
                let message = match next {
                    Ok(WsMessage::Binary(b)) => b,
                    Ok(WsMessage::Text(t)) => Bytes::from(t),
                    Ok(WsMessage::Close(_)) => return None,
                    Ok(WsMessage::Pong(_)) => return Some(Ok(Inbound::Pong)),
                    // tungstenite answers pings itself.
                    Ok(WsMessage::Ping(_) | WsMessage::Frame(_)) => continue,
                    Err(
                        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
                    ) => return None,
                    Err(e) => return Some(Err(ws_error(e))),
                };
                if message.len() > *limit {
                    return Some(Err(TransportError::TooLarge {
                        size: message.len(),
                        limit: *limit,
                    }));
                }
                return Some(Ok(Inbound::Message(message)));
            },
        }
    }
}

/// What reading the next WebSocket message gave.
type WsNext = Option<Result<WsMessage, tungstenite::Error>>;

/// The next WebSocket message, or [`TransportError::Stalled`] when the bytes read end inside
/// a frame and none has come for `stall` (looked at every `stall`, as RawSocket's).
async fn stalling(
    messages: &mut futures_util::stream::SplitStream<WebSocketStream<Stream>>,
    progress: &ws_frames::Progress,
    stall: std::time::Duration,
) -> Result<WsNext, TransportError> {
    if let Some(m) = messages.next().now_or_never() {
        return Ok(m);
    }
    let mut bytes = progress.bytes();
    loop {
        tokio::select! {
            biased;
            m = messages.next() => return Ok(m),
            _ = tokio::time::sleep(stall) => {
                let now = progress.bytes();
                if let Some(partial) = progress.partial_frame().filter(|_| now == bytes) {
                    return Err(TransportError::Stalled {
                        buffered: partial as usize,
                        after: stall,
                    });
                }
                bytes = now;
            }
        }
    }
}

/// A WebSocket read error as ours.
fn ws_error(e: tungstenite::Error) -> TransportError {
    match e {
        tungstenite::Error::Capacity(tungstenite::error::CapacityError::MessageTooLong {
            size,
            max_size,
        }) => TransportError::TooLarge {
            size,
            limit: max_size,
        },
        other => other.into(),
    }
}

/// The writing half of a connection.
pub enum FrameWriter {
    /// RawSocket: frames are assembled in `buf` and written with one call per batch.
    Raw {
        /// The socket.
        half: WriteHalf,
        /// The largest frame the peer accepts.
        max_out: usize,
    },
    /// WebSocket: messages are fed to tungstenite's buffer and flushed once per batch.
    Ws {
        /// The sink.
        sink: futures_util::stream::SplitSink<WebSocketStream<Stream>, WsMessage>,
        /// Text frames for JSON, binary for msgpack.
        text: bool,
    },
}

impl FrameWriter {
    /// Writes a batch and flushes it. Stops at [`Outbound::Close`], returning `Ok(true)`.
    pub async fn write_batch(&mut self, items: &[Outbound]) -> Result<bool, TransportError> {
        let mut close = false;
        match self {
            FrameWriter::Raw { half, max_out } => {
                use tokio::io::AsyncWriteExt;
                // Made for each batch, at its exact size, and freed once written: a buffer kept
                // between writes would cost every idle session its largest batch.
                let size = items.iter().map(|i| i.len() + 4).sum();
                let mut buf = Vec::with_capacity(size);
                for item in items {
                    match item {
                        Outbound::Message(b)
                        | Outbound::Passive(b)
                        | Outbound::Pong(b)
                        | Outbound::Ping(b) => {
                            let kind = match item {
                                Outbound::Pong(_) => rawsocket::FrameType::Pong,
                                Outbound::Ping(_) => rawsocket::FrameType::Ping,
                                _ => rawsocket::FrameType::Regular,
                            };
                            if let Err(e) = rawsocket::put_frame(&mut buf, kind, b, *max_out) {
                                // The peer could not read it: drop this one message, keep the session.
                                tracing::warn!(
                                    "not sent to the RawSocket peer: {e} (its announced limit)"
                                );
                            }
                        }
                        Outbound::Close => {
                            close = true;
                            break;
                        }
                    }
                }
                half.write_all(&buf).await?;
                if close {
                    half.shutdown().await?;
                }
            }
            FrameWriter::Ws { sink, text } => {
                for item in items {
                    match item {
                        Outbound::Message(b) | Outbound::Passive(b) if *text => {
                            let t = tungstenite::Utf8Bytes::try_from(b.clone()).map_err(|_| {
                                TransportError::RawSocket("JSON message is not UTF-8".into())
                            })?;
                            sink.feed(WsMessage::Text(t)).await?;
                        }
                        Outbound::Message(b) | Outbound::Passive(b) => {
                            sink.feed(WsMessage::Binary(b.clone())).await?
                        }
                        Outbound::Pong(_) => {}
                        Outbound::Ping(b) => sink.feed(WsMessage::Ping(b.clone())).await?,
                        Outbound::Close => {
                            close = true;
                            break;
                        }
                    }
                }
                if close {
                    sink.close().await?;
                } else {
                    sink.flush().await?;
                }
            }
        }
        Ok(close)
    }
}

/// A connection after its handshake.
pub struct Connection {
    /// What the handshake established.
    pub info: TransportInfo,
    /// The reading half.
    pub reader: FrameReader,
    /// The writing half.
    pub writer: FrameWriter,
}

/// The most messages one write takes.
const MAX_BATCH: usize = 512;

/// The most bytes one write takes (a single larger message still goes alone).
const MAX_BATCH_BYTES: usize = 256 << 10;

/// Drains `queue` into `writer` until the queue closes or an [`Outbound::Close`] is written.
///
/// Each batch takes whatever is queued, up to 512 messages or 256 KiB (after yielding once, so
/// that messages produced by tasks about to run join the same write), and goes out in one
/// write. `before_write` sees every batch just before it is written (to count it as sent before
/// the peer can answer it), `after_write` once it was written.
pub async fn run_writer(
    mut writer: FrameWriter,
    mut queue: mpsc::Receiver<Outbound>,
    mut before_write: impl FnMut(&[Outbound]),
    mut after_write: impl FnMut(&[Outbound]),
) -> Result<(), TransportError> {
    // Grown by the first busy moments, not reserved up front: an idle session keeps room for
    // the few messages of its handshake only.
    let mut batch = Vec::new();
    loop {
        let Some(first) = queue.recv().await else {
            return Ok(());
        };
        let mut bytes = first.len();
        batch.push(first);
        let mut yielded = false;
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match queue.try_recv() {
                Ok(item) => {
                    bytes += item.len();
                    batch.push(item);
                }
                Err(_) if !yielded => {
                    yielded = true;
                    tokio::task::yield_now().await;
                }
                Err(_) => break,
            }
        }
        before_write(&batch);
        let closed = writer.write_batch(&batch).await?;
        after_write(&batch);
        batch.clear();
        if closed {
            return Ok(());
        }
    }
}
