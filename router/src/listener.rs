//! Accept loops: one per listening socket (TCP or Unix), each connection taken through TLS when
//! the endpoint has it, told RawSocket or WebSocket (and which WebSocket path) when the socket
//! serves several transports, and handed to a session task.

use crate::log_budget::{UNJOINED, log_within};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::sync::Semaphore;
use wamp::transport::tls::ServerTls;
use wamp::transport::websocket::Route;
use wamp::transport::{Connection, Stream, TransportError, rawsocket, websocket};

use crate::config::TransportConfig;
use crate::context::RouterContext;
use crate::metrics::Metrics;
use crate::session::{self, ListenerSettings};

/// A bound listening socket.
#[derive(Debug)]
pub enum Socket {
    /// On a TCP address.
    Tcp(TcpListener),
    /// On a Unix socket path (removed when the router stops).
    Unix(UnixListener, std::path::PathBuf),
}

impl Socket {
    async fn accept(&self) -> std::io::Result<(Stream, String)> {
        match self {
            Socket::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                keep_alive(&s);
                Ok((Stream::Tcp(s), peer.to_string()))
            }
            Socket::Unix(l, _) => {
                let (s, _) = l.accept().await?;
                Ok((Stream::Unix(s), "unix".to_owned()))
            }
        }
    }
}

/// One WAMP transport a socket serves, with what its sessions share.
#[derive(Debug)]
pub struct Service {
    /// The transport as configured.
    pub transport: TransportConfig,
    /// Its authentication and penalties.
    pub settings: Arc<ListenerSettings>,
}

impl Service {
    /// The service for `transport`.
    pub fn new(transport: TransportConfig) -> Service {
        let settings = Arc::new(ListenerSettings {
            auth: transport.auth.clone(),
            decoy_key: rand::random(),
            penalties: Default::default(),
            keepalive: transport.keepalive,
        });
        Service {
            transport,
            settings,
        }
    }
}

/// What one listening socket serves: a RawSocket transport, WebSocket paths, or both (a
/// `universal` transport), behind TLS when the endpoint has it.
#[derive(Debug, Default)]
pub struct Services {
    /// The endpoint's TLS.
    pub tls: Option<ServerTls>,
    /// The RawSocket transport.
    pub rawsocket: Option<Service>,
    /// The WebSocket transports, one per HTTP path.
    pub websocket: Vec<Service>,
    /// The HTTP paths of its Prometheus endpoints (web paths of type `metrics`).
    pub metrics: Vec<String>,
}

impl Services {
    /// Adds a transport of this socket.
    pub fn add(&mut self, transport: TransportConfig) {
        if let Some(tls) = &transport.tls {
            self.tls = Some(tls.server.clone());
        }
        if transport.kind.path().is_some() {
            self.websocket.push(Service::new(transport));
        } else {
            self.rawsocket = Some(Service::new(transport));
        }
    }

    /// Takes a connection through TLS and the transport handshake of the service it asks for;
    /// `None` when it asked for a metrics path instead, which was answered.
    async fn open(
        &self,
        stream: Stream,
        metrics: &Metrics,
    ) -> Result<Option<(Connection, &Service)>, TransportError> {
        let stream = match (&self.tls, stream) {
            (Some(tls), Stream::Tcp(tcp)) => tls.accept(tcp).await?,
            (_, stream) => stream,
        };
        let routes: Vec<Route<'_>> = self
            .websocket
            .iter()
            .map(|s| Route {
                path: s.transport.kind.path().unwrap_or("/"),
                serializers: &s.transport.serializers,
                max_message_size: s.transport.max_message_size,
                origins: &s.transport.origins,
            })
            .collect();
        let stream = match &self.rawsocket {
            Some(rs) if routes.is_empty() && self.metrics.is_empty() => {
                return raw_on(stream, &[], rs).await.map(Some);
            }
            None => stream,
            Some(rs) => {
                let mut stream = stream;
                let first = stream.read_u8().await?;
                if first == rawsocket::MAGIC {
                    return raw_on(stream, &[first], rs).await.map(Some);
                }
                stream.rewound(vec![first])
            }
        };
        let stream = if self.metrics.is_empty() {
            stream
        } else {
            let (mut stream, head) = read_head(stream).await?;
            if let Some((method, path)) = request_line(&head)
                && self.metrics.iter().any(|m| m == path)
            {
                let openmetrics = accepts_openmetrics(&head);
                answer_metrics(&mut stream, method, metrics, openmetrics).await?;
                return Ok(None);
            }
            stream.rewound(head)
        };
        websocket_on(stream, &routes, &self.websocket)
            .await
            .map(Some)
    }

    /// Refuses a connection beyond the limit at once: RawSocket's handshake error 4 ("maximum
    /// connection count reached"), HTTP 503 for WebSocket (told apart by the first byte on a
    /// socket that serves both); over TLS, just closes. Then closes it.
    async fn refuse(self: Arc<Self>, mut stream: Stream) {
        const FULL_RAW: [u8; 4] = [rawsocket::MAGIC, 4 << 4, 0, 0];
        const FULL_HTTP: &[u8] =
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            if self.tls.is_none() {
                let answer = match (&self.rawsocket, self.websocket.is_empty()) {
                    (Some(_), true) => &FULL_RAW[..],
                    (None, _) => FULL_HTTP,
                    (Some(_), false) if stream.read_u8().await? == rawsocket::MAGIC => &FULL_RAW,
                    (Some(_), false) => FULL_HTTP,
                };
                stream.write_all(answer).await?;
            }
            stream.shutdown().await?;
            // Take what the client already sent (its request or handshake), so that closing
            // does not reset the connection before it read the answer.
            let mut sink = [0u8; 4096];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
    }
}

/// The most bytes of an HTTP request head read to tell a metrics request from a WebSocket one.
const MAX_HEAD: usize = 8 * 1024;

/// Reads `stream` until the end of an HTTP request head (or [`MAX_HEAD`] bytes, or its end);
/// gives back the stream and every byte read.
async fn read_head(mut stream: Stream) -> Result<(Stream, Vec<u8>), TransportError> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while head.len() < MAX_HEAD && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok((stream, head))
}

/// The method and path (without its query) of the request line of `head`.
fn request_line(head: &[u8]) -> Option<(&str, &str)> {
    let end = head.iter().position(|b| *b == b'\r')?;
    let line = std::str::from_utf8(&head[..end]).ok()?;
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    Some((method, path))
}

/// Whether the request's `Accept` header asks for OpenMetrics (Prometheus servers do); others
/// (curl, promtool, older scrapers) get the Prometheus text format 0.0.4.
fn accepts_openmetrics(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("accept")
                && value.contains("application/openmetrics-text")
        })
    })
}

/// Answers a request for a metrics path: the metrics to `GET` (and their headers to `HEAD`),
/// in OpenMetrics or the Prometheus text format as the client accepts, 405 to any other
/// method; then closes.
async fn answer_metrics(
    stream: &mut Stream,
    method: &str,
    metrics: &Metrics,
    openmetrics: bool,
) -> Result<(), TransportError> {
    let answer = match method {
        "GET" | "HEAD" => {
            let (body, content_type) = if openmetrics {
                (metrics.encode(), crate::metrics::CONTENT_TYPE)
            } else {
                (
                    crate::metrics::to_prometheus_text(&metrics.encode()),
                    crate::metrics::TEXT_CONTENT_TYPE,
                )
            };
            let mut a = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                content_type,
                body.len()
            );
            if method == "GET" {
                a.push_str(&body);
            }
            a
        }
        _ => "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n\
              Connection: close\r\n\r\n"
            .to_owned(),
    };
    stream.write_all(answer.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}

/// The RawSocket handshake of `service`; `already` are its first bytes when they were read.
async fn raw_on<'s>(
    stream: Stream,
    already: &[u8],
    service: &'s Service,
) -> Result<(Connection, &'s Service), TransportError> {
    let t = &service.transport;
    let conn = rawsocket::accept(stream, already, &t.serializers, t.max_message_size).await?;
    Ok((conn, service))
}

/// The WebSocket upgrade to whichever of `services` (described by `routes`) the request asks.
async fn websocket_on<'s>(
    stream: Stream,
    routes: &[Route<'_>],
    services: &'s [Service],
) -> Result<(Connection, &'s Service), TransportError> {
    let (index, conn) = websocket::accept(stream, routes).await?;
    Ok((conn, &services[index]))
}

/// Accepts connections until the router shuts down.
pub async fn accept_loop(socket: Socket, services: Services, router: Arc<RouterContext>) {
    let services = Arc::new(services);
    let max = router.options.max_connections;
    let open = Arc::new(Semaphore::new(max));
    // Whether the limit was reached and not yet said: one warning per time it is reached.
    let mut at_limit = false;
    loop {
        let accepted = tokio::select! {
            a = socket.accept() => a,
            _ = router.shutdown.cancelled() => {
                if let Socket::Unix(_, path) = &socket
                    && let Err(e) = std::fs::remove_file(path)
                {
                    tracing::debug!("cannot remove {}: {e}", path.display());
                }
                return;
            }
        };
        match accepted {
            Ok((stream, peer)) => {
                let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
                    if !at_limit {
                        tracing::warn!(
                            %peer,
                            "{max} connections are open on this listener, the most allowed \
                             (--max-connections); refusing new ones until some close"
                        );
                    }
                    at_limit = true;
                    router.tasks.spawn(Arc::clone(&services).refuse(stream));
                    continue;
                };
                at_limit = false;
                let (s, r) = (Arc::clone(&services), Arc::clone(&router));
                router.tasks.spawn(async move {
                    let _open = permit;
                    // One deadline from the accept to HELLO, TLS and the transport handshake
                    // included.
                    let timeout = r.options.hello_timeout;
                    let hello_by = tokio::time::Instant::now() + timeout;
                    // Boxed: the transport handshake (large for WebSocket) is over once the
                    // session runs, so it need not take room in the task for the session's life.
                    let open = s.open(stream, &r.metrics);
                    match Box::pin(tokio::time::timeout_at(hello_by, open)).await {
                        Ok(Ok(None)) => {}
                        Ok(Ok(Some((conn, service)))) => {
                            let settings = Arc::clone(&service.settings);
                            session::run(conn, r, settings, hello_by).await
                        }
                        Ok(Err(e)) => log_within!(UNJOINED, info, %peer, "transport handshake failed: {e}"),
                        Err(_) => {
                            log_within!(UNJOINED, info, %peer, "transport handshake not completed within {timeout:?}")
                        }
                    }
                });
            }
            Err(e) => {
                // Typically out of file descriptors: say so and let some close before retrying.
                tracing::error!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// TCP keepalive probes after a minute of silence, then every 10 s: a peer whose host vanished
/// (no FIN, no RST) is found by the kernel and its session ends, instead of holding its
/// resources for ever.
fn keep_alive(stream: &TcpStream) {
    let probes = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(60))
        .with_interval(Duration::from_secs(10));
    if let Err(e) = socket2::SockRef::from(stream).set_tcp_keepalive(&probes) {
        tracing::debug!("cannot set TCP keepalive: {e}");
    }
}
