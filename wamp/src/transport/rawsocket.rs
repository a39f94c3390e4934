//! WAMP RawSocket: the 4-byte handshake and length-prefixed frames.
//!
//! Handshake: the client sends `0x7F`, `LLLL SSSS` (max length exponent, serializer id) and two
//! zero octets; the server answers the same shape with its own limit, or `0x7F`, `EEEE 0000`,
//! `0x00`, `0x00` with an error code. Frames: one octet of 5 reserved bits (zero) and a 3-bit
//! type (0 regular, 1 PING, 2 PONG), then a 24-bit big-endian payload length.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{Decoder, FramedRead};

use super::{
    Connection, FrameReader, FrameWriter, Framing, Inbound, Stream, TransportError, TransportInfo,
};
use crate::serializer::Serializer;

/// The first octet of every RawSocket handshake.
pub const MAGIC: u8 = 0x7F;

/// The initial read buffer of a router's connection; it grows for larger frames. Small,
/// because idle sessions are most sessions and each keeps its buffer.
const SERVER_READ_BUFFER: usize = 1024;

/// The most the read buffer grows by ahead of the bytes that arrived.
const READ_GROWTH: usize = 64 << 10;

/// The largest frame RawSocket can express: 2^24 - 1 octets (a 24-bit length).
pub const MAX_FRAME: usize = (1 << 24) - 1;

/// The errors a server may answer a handshake with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// 1: serializer unsupported.
    SerializerUnsupported,
    /// 2: maximum message length unacceptable.
    MaxLengthUnacceptable,
    /// 3: use of reserved bits (unsupported feature).
    ReservedBits,
    /// 4: maximum connection count reached.
    ConnectionLimit,
    /// Any other code.
    Other(u8),
}

impl HandshakeError {
    /// The 4-bit error code.
    pub fn code(self) -> u8 {
        match self {
            HandshakeError::SerializerUnsupported => 1,
            HandshakeError::MaxLengthUnacceptable => 2,
            HandshakeError::ReservedBits => 3,
            HandshakeError::ConnectionLimit => 4,
            HandshakeError::Other(c) => c,
        }
    }

    fn from_code(c: u8) -> Self {
        match c {
            1 => HandshakeError::SerializerUnsupported,
            2 => HandshakeError::MaxLengthUnacceptable,
            3 => HandshakeError::ReservedBits,
            4 => HandshakeError::ConnectionLimit,
            c => HandshakeError::Other(c),
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::SerializerUnsupported => f.write_str("serializer unsupported (1)"),
            HandshakeError::MaxLengthUnacceptable => {
                f.write_str("maximum message length unacceptable (2)")
            }
            HandshakeError::ReservedBits => f.write_str("use of reserved bits (3)"),
            HandshakeError::ConnectionLimit => f.write_str("maximum connection count reached (4)"),
            HandshakeError::Other(c) => write!(f, "error code {c}"),
        }
    }
}

/// The largest length exponent whose length does not exceed `max` (at least 0, i.e. 512):
/// what we announce never exceeds what we accept.
pub fn length_exponent(max: usize) -> u8 {
    (0..=15u8)
        .rev()
        .find(|&e| exponent_length(e) <= max)
        .unwrap_or(0)
}

/// The length an exponent announces: 2^(9+e), capped at [`MAX_FRAME`].
pub fn exponent_length(e: u8) -> usize {
    (1usize << (9 + usize::from(e & 0x0F))).min(MAX_FRAME)
}

/// The server side of the handshake; refuses with the specification's error codes.
///
/// `already` are the handshake's first octets when they were read before (at most 4: the
/// universal transport reads one to tell RawSocket from HTTP).
pub async fn accept(
    mut stream: Stream,
    already: &[u8],
    serializers: &[Serializer],
    max_message_size: usize,
) -> Result<Connection, TransportError> {
    let mut hs = [0u8; 4];
    let had = already.len().min(4);
    hs[..had].copy_from_slice(&already[..had]);
    stream.read_exact(&mut hs[had..]).await?;
    if hs[0] != MAGIC {
        return Err(TransportError::RawSocket(format!(
            "first octet is 0x{:02x}, not the RawSocket magic 0x7f",
            hs[0]
        )));
    }
    let (reply, outcome) = answer_handshake(hs, serializers, max_message_size)?;
    stream.write_all(&reply).await?;
    let (serializer, peer_max) = outcome.map_err(TransportError::RawSocket)?;
    finish(
        stream,
        serializer,
        max_message_size.min(MAX_FRAME),
        peer_max,
        SERVER_READ_BUFFER,
    )
}

/// The server's answer to a client's 4-octet handshake `hs` (after the magic octet was
/// checked): the reply to send and, when accepted, the serializer and the client's maximum
/// message length, or why it was refused. An error when no reply is due (serializer id 0).
/// Public for the fuzz targets (`fuzz/`); [`accept`] is its only caller here.
#[doc(hidden)]
pub fn answer_handshake(
    hs: [u8; 4],
    serializers: &[Serializer],
    max_message_size: usize,
) -> Result<HandshakeAnswer, TransportError> {
    let refuse = |e: HandshakeError| [MAGIC, e.code() << 4, 0, 0];
    if hs[2] != 0 || hs[3] != 0 {
        return Ok((
            refuse(HandshakeError::ReservedBits),
            Err("reserved octets are not zero".to_owned()),
        ));
    }
    if hs[1] & 0x0F == 0 {
        return Err(TransportError::RawSocket(
            "serializer id 0 is illegal".into(),
        ));
    }
    Ok(
        match Serializer::from_rawsocket_id(hs[1] & 0x0F).filter(|s| serializers.contains(s)) {
            Some(ser) => (
                [
                    MAGIC,
                    (length_exponent(max_message_size) << 4) | ser.rawsocket_id(),
                    0,
                    0,
                ],
                Ok((ser, exponent_length(hs[1] >> 4))),
            ),
            None => (
                refuse(HandshakeError::SerializerUnsupported),
                Err(format!(
                    "serializer id {} is not offered here",
                    hs[1] & 0x0F
                )),
            ),
        },
    )
}

/// What [`answer_handshake`] decides: the reply octets, then the serializer and the peer's
/// maximum message length, or why the handshake is refused.
#[doc(hidden)]
pub type HandshakeAnswer = ([u8; 4], Result<(Serializer, usize), String>);

/// The client side of the handshake; the connection reads up to `read_buffer` bytes at once
/// (see [`super::CLIENT_READ_BUFFER`]).
pub async fn connect(
    mut stream: Stream,
    serializer: Serializer,
    max_message_size: usize,
    read_buffer: usize,
) -> Result<Connection, TransportError> {
    let hs = [
        MAGIC,
        (length_exponent(max_message_size) << 4) | serializer.rawsocket_id(),
        0,
        0,
    ];
    stream.write_all(&hs).await?;
    let mut reply = [0u8; 4];
    stream.read_exact(&mut reply).await?;
    let peer_max = check_reply(reply, serializer)?;
    finish(
        stream,
        serializer,
        max_message_size.min(MAX_FRAME),
        peer_max,
        read_buffer,
    )
}

/// Checks the server's handshake `reply` to a client that asked for `serializer`: the server's
/// maximum message length, or why the handshake failed. Public for the fuzz targets (`fuzz/`);
/// [`connect`] is its only caller here.
#[doc(hidden)]
pub fn check_reply(reply: [u8; 4], serializer: Serializer) -> Result<usize, TransportError> {
    if reply[0] != MAGIC {
        return Err(TransportError::RawSocket(format!(
            "server replied 0x{:02x}, not 0x7f",
            reply[0]
        )));
    }
    if reply[1] & 0x0F == 0 {
        return Err(TransportError::Refused(HandshakeError::from_code(
            reply[1] >> 4,
        )));
    }
    if reply[1] & 0x0F != serializer.rawsocket_id() {
        return Err(TransportError::RawSocket(format!(
            "server chose serializer {} instead of {}",
            reply[1] & 0x0F,
            serializer.rawsocket_id()
        )));
    }
    Ok(exponent_length(reply[1] >> 4))
}

fn finish(
    stream: Stream,
    serializer: Serializer,
    max_in: usize,
    max_out: usize,
    read_buffer: usize,
) -> Result<Connection, TransportError> {
    stream.set_nodelay()?;
    let info = TransportInfo {
        framing: Framing::RawSocket,
        serializer,
        peer: stream.peer()?,
        is_secure: stream.is_secure(),
        websocket_protocol: None,
        http_headers: std::sync::Arc::new([]),
        peer_max_message_size: max_out,
    };
    let (read, write) = stream.into_split();
    Ok(Connection {
        info,
        reader: FrameReader::Raw {
            frames: FramedRead::with_capacity(read, FrameCodec { max_in }, read_buffer),
            stall: super::STALL_TIMEOUT,
        },
        writer: FrameWriter::Raw {
            half: write,
            max_out,
        },
    })
}

/// The type of a RawSocket frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameType {
    /// A WAMP message.
    Regular = 0,
    /// A PING.
    Ping = 1,
    /// A PONG.
    Pong = 2,
}

/// Appends one frame to `buf`; refuses payloads above `max` (the peer's limit).
pub fn put_frame(
    buf: &mut Vec<u8>,
    kind: FrameType,
    payload: &[u8],
    max: usize,
) -> Result<(), TransportError> {
    let len = payload.len();
    if len > max.min(MAX_FRAME) {
        return Err(TransportError::TooLarge {
            size: len,
            limit: max.min(MAX_FRAME),
        });
    }
    buf.extend_from_slice(&[kind as u8, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
    buf.extend_from_slice(payload);
    Ok(())
}

/// Decodes RawSocket frames, enforcing our length limit before buffering a payload.
#[derive(Debug)]
pub struct FrameCodec {
    /// The largest payload accepted.
    pub max_in: usize,
}

impl Decoder for FrameCodec {
    type Item = Inbound;
    type Error = TransportError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Inbound>, TransportError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let head = src[0];
        if head & 0xF8 != 0 {
            return Err(TransportError::RawSocket(format!(
                "reserved bits set in frame header 0x{head:02x}"
            )));
        }
        let len = (usize::from(src[1]) << 16) | (usize::from(src[2]) << 8) | usize::from(src[3]);
        if len > self.max_in {
            return Err(TransportError::TooLarge {
                size: len,
                limit: self.max_in,
            });
        }
        if src.len() < 4 + len {
            // Room for what is missing, but at most READ_GROWTH at a time: the buffer grows
            // with the bytes that arrive, never with the length a header declares.
            src.reserve((4 + len - src.len()).min(READ_GROWTH));
            return Ok(None);
        }
        src.advance(4);
        let payload: Bytes = src.split_to(len).freeze();
        match head & 0x07 {
            0 => Ok(Some(Inbound::Message(payload))),
            1 => Ok(Some(Inbound::Ping(payload))),
            2 => Ok(Some(Inbound::Pong)),
            t => Err(TransportError::RawSocket(format!("unknown frame type {t}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents() {
        assert_eq!(length_exponent(512), 0);
        assert_eq!(length_exponent(513), 0);
        assert_eq!(length_exponent(100_000), 7);
        assert_eq!(length_exponent(1 << 20), 11);
        assert_eq!(length_exponent(16 << 20), 15);
        assert_eq!(length_exponent(usize::MAX), 15);
        assert_eq!(length_exponent(0), 0);
        assert_eq!(exponent_length(0), 512);
        assert_eq!(exponent_length(15), MAX_FRAME);
    }

    #[test]
    fn frames_decode_and_enforce_limits() {
        let mut buf = Vec::new();
        put_frame(&mut buf, FrameType::Regular, b"hello", 100).unwrap();
        put_frame(&mut buf, FrameType::Pong, b"x", 100).unwrap();
        put_frame(&mut buf, FrameType::Ping, b"p", 100).unwrap();
        let mut src = BytesMut::from(&buf[..]);
        let mut c = FrameCodec { max_in: 10 };
        assert!(
            matches!(c.decode(&mut src).unwrap(), Some(Inbound::Message(b)) if &b[..] == b"hello")
        );
        assert!(matches!(c.decode(&mut src).unwrap(), Some(Inbound::Pong)));
        assert!(matches!(c.decode(&mut src).unwrap(), Some(Inbound::Ping(b)) if &b[..] == b"p"));
        assert!(c.decode(&mut src).unwrap().is_none());
        let mut big = BytesMut::from(&[0u8, 0, 0, 11][..]);
        assert!(matches!(
            c.decode(&mut big),
            Err(TransportError::TooLarge {
                size: 11,
                limit: 10
            })
        ));
        let mut reserved = BytesMut::from(&[0x08u8, 0, 0, 1, 0][..]);
        assert!(matches!(
            c.decode(&mut reserved),
            Err(TransportError::RawSocket(_))
        ));
        let mut unknown = BytesMut::from(&[0x03u8, 0, 0, 0][..]);
        assert!(matches!(
            c.decode(&mut unknown),
            Err(TransportError::RawSocket(_))
        ));
        assert!(matches!(
            put_frame(&mut Vec::new(), FrameType::Regular, &[0; 11], 10),
            Err(TransportError::TooLarge { .. })
        ));
    }
}
