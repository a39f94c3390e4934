//! The byte streams WAMP runs over: TCP, TLS over TCP, and Unix sockets; and who is at the
//! other end of one.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use super::ws_frames::{Progress, Watcher};

/// A connected byte stream.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// A Unix domain socket.
    Unix(UnixStream),
    /// TLS over TCP (either side of it).
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
    /// A stream whose first bytes were read already (to tell RawSocket from HTTP) and are
    /// given back before the rest.
    Rewound(Box<Rewound>),
    /// A stream whose incoming WebSocket frames are followed (see [`super::ws_frames`]).
    Watched(Box<Watched>),
}

/// A stream and the [`Watcher`] of the bytes read from it.
#[derive(Debug)]
pub struct Watched {
    inner: Stream,
    watcher: Watcher,
}

/// A stream with bytes put back in front of it.
#[derive(Debug)]
pub struct Rewound {
    /// What was read already, from `at` on not yet given back.
    prefix: Vec<u8>,
    at: usize,
    inner: Stream,
}

impl Stream {
    /// Puts `prefix` back in front of the stream: the next reads return it first.
    pub fn rewound(self, prefix: Vec<u8>) -> Stream {
        Stream::Rewound(Box::new(Rewound {
            prefix,
            at: 0,
            inner: self,
        }))
    }

    /// Follows the WebSocket frames read from the stream (from the HTTP request on): the
    /// progress tells when a frame stops half-way.
    pub fn watched(self) -> (Stream, std::sync::Arc<Progress>) {
        let (watcher, progress) = Watcher::new();
        let s = Stream::Watched(Box::new(Watched {
            inner: self,
            watcher,
        }));
        (s, progress)
    }

    /// Who is at the other end.
    pub fn peer(&self) -> io::Result<Peer> {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(Peer::Tcp),
            Stream::Unix(_) => Ok(Peer::Unix),
            Stream::Tls(s) => s.get_ref().0.peer_addr().map(Peer::Tcp),
            Stream::Rewound(r) => r.inner.peer(),
            Stream::Watched(w) => w.inner.peer(),
        }
    }

    /// Whether the stream is encrypted (TLS).
    pub fn is_secure(&self) -> bool {
        match self {
            Stream::Tls(_) => true,
            Stream::Rewound(r) => r.inner.is_secure(),
            Stream::Watched(w) => w.inner.is_secure(),
            Stream::Tcp(_) | Stream::Unix(_) => false,
        }
    }

    /// Sends small writes at once (TCP_NODELAY): WAMP messages are latency-bound.
    pub fn set_nodelay(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nodelay(true),
            Stream::Tls(s) => s.get_ref().0.set_nodelay(true),
            Stream::Rewound(r) => r.inner.set_nodelay(),
            Stream::Watched(w) => w.inner.set_nodelay(),
            Stream::Unix(_) => Ok(()),
        }
    }

    /// Splits into halves that a reader task and a writer task can own. Plain TCP and Unix
    /// sockets split without a lock; TLS (one state for both directions) shares one.
    pub fn into_split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Stream::Tcp(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            Stream::Unix(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w))
            }
            other => {
                let (r, w) = tokio::io::split(other);
                (ReadHalf::Shared(r), WriteHalf::Shared(w))
            }
        }
    }
}

/// Calls `$method` on whichever stream `$self` holds.
macro_rules! delegate {
    ($this:expr, $s:ident => $call:expr) => {
        match $this {
            Stream::Tcp($s) => $call,
            Stream::Unix($s) => $call,
            Stream::Tls($s) => $call,
            Stream::Rewound(r) => {
                let $s = &mut r.inner;
                $call
            }
            Stream::Watched(w) => {
                let $s = &mut w.inner;
                $call
            }
        }
    };
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Stream::Rewound(r) = this
            && r.at < r.prefix.len()
        {
            let n = buf.remaining().min(r.prefix.len() - r.at);
            buf.put_slice(&r.prefix[r.at..r.at + n]);
            r.at += n;
            return Poll::Ready(Ok(()));
        }
        if let Stream::Watched(w) = this {
            let before = buf.filled().len();
            let polled = Pin::new(&mut w.inner).poll_read(cx, buf);
            if let Poll::Ready(Ok(())) = polled {
                w.watcher.feed(&buf.filled()[before..]);
            }
            return polled;
        }
        delegate!(this, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        delegate!(self.get_mut(), s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            Stream::Unix(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
            Stream::Rewound(r) => r.inner.is_write_vectored(),
            Stream::Watched(w) => w.inner.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
    }
}

/// The reading half of a [`Stream`].
#[derive(Debug)]
pub enum ReadHalf {
    /// Of plain TCP.
    Tcp(tokio::net::tcp::OwnedReadHalf),
    /// Of a Unix socket.
    Unix(tokio::net::unix::OwnedReadHalf),
    /// Of a stream both halves share (TLS).
    Shared(tokio::io::ReadHalf<Stream>),
}

/// The writing half of a [`Stream`].
#[derive(Debug)]
pub enum WriteHalf {
    /// Of plain TCP.
    Tcp(tokio::net::tcp::OwnedWriteHalf),
    /// Of a Unix socket.
    Unix(tokio::net::unix::OwnedWriteHalf),
    /// Of a stream both halves share (TLS).
    Shared(tokio::io::WriteHalf<Stream>),
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Tcp(h) => Pin::new(h).poll_read(cx, buf),
            ReadHalf::Unix(h) => Pin::new(h).poll_read(cx, buf),
            ReadHalf::Shared(h) => Pin::new(h).poll_read(cx, buf),
        }
    }
}

/// Calls `$call` on whichever half `$self` holds.
macro_rules! delegate_half {
    ($self:ident, $h:ident => $call:expr) => {
        match $self.get_mut() {
            WriteHalf::Tcp($h) => $call,
            WriteHalf::Unix($h) => $call,
            WriteHalf::Shared($h) => $call,
        }
    };
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate_half!(self, h => Pin::new(h).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate_half!(self, h => Pin::new(h).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate_half!(self, h => Pin::new(h).poll_shutdown(cx))
    }
}

/// Who is at the other end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// A TCP peer (over TLS or not).
    Tcp(SocketAddr),
    /// A peer on a Unix socket (local, and nameless: clients do not bind their sockets).
    Unix,
}

impl Peer {
    /// The peer's IP address; `None` on a Unix socket.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Peer::Tcp(a) => Some(a.ip()),
            Peer::Unix => None,
        }
    }
}

impl std::fmt::Display for Peer {
    /// As Crossbar writes it: `tcp4:127.0.0.1:52700`, `tcp6:::1:52700`, `unix`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Tcp(SocketAddr::V4(a)) => write!(f, "tcp4:{}:{}", a.ip(), a.port()),
            Peer::Tcp(SocketAddr::V6(a)) => write!(f, "tcp6:{}:{}", a.ip(), a.port()),
            Peer::Unix => f.write_str("unix"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_rewound_stream_gives_back_its_prefix_first() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut b = Stream::Unix(b);
        let mut a = Stream::Unix(a);
        a.write_all(b"GET / HTTP/1.1").await.unwrap();
        let mut first = [0u8; 1];
        b.read_exact(&mut first).await.unwrap();
        let mut b = b.rewound(first.to_vec());
        let mut all = [0u8; 14];
        b.read_exact(&mut all).await.unwrap();
        assert_eq!(&all, b"GET / HTTP/1.1");
        assert_eq!(b.peer().unwrap(), Peer::Unix);
        assert!(!b.is_secure());
    }

    #[test]
    fn peers_print_as_crossbar_does() {
        let v4: SocketAddr = "127.0.0.1:52700".parse().unwrap();
        let v6: SocketAddr = "[::1]:8080".parse().unwrap();
        assert_eq!(Peer::Tcp(v4).to_string(), "tcp4:127.0.0.1:52700");
        assert_eq!(Peer::Tcp(v6).to_string(), "tcp6:::1:8080");
        assert_eq!(Peer::Unix.to_string(), "unix");
    }
}
