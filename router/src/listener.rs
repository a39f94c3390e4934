//! Accept loops: one per transport, handing each connection to a session task.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use wamp::transport::{Connection, TransportError, rawsocket, websocket};

use crate::config::{TransportConfig, TransportKind};
use crate::context::RouterContext;
use crate::session::{self, ListenerSettings};

/// Accepts connections until the router shuts down.
pub async fn accept_loop(
    socket: TcpListener,
    transport: TransportConfig,
    router: Arc<RouterContext>,
) {
    let transport = Arc::new(transport);
    let settings = Arc::new(ListenerSettings {
        auth: transport.auth.clone(),
        decoy_key: rand::random(),
        penalties: Default::default(),
    });
    let max = router.options.max_connections;
    let open = Arc::new(Semaphore::new(max));
    // Whether the limit was reached and not yet said: one warning per time it is reached.
    let mut at_limit = false;
    loop {
        let accepted = tokio::select! {
            a = socket.accept() => a,
            _ = router.shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                keep_alive(&stream);
                let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
                    if !at_limit {
                        tracing::warn!(
                            %peer,
                            "{max} connections are open on this listener, the most allowed \
                             (--max-connections); refusing new ones until some close"
                        );
                    }
                    at_limit = true;
                    router.tasks.spawn(refuse(stream, transport.kind.clone()));
                    continue;
                };
                at_limit = false;
                let (t, r, s) = (
                    Arc::clone(&transport),
                    Arc::clone(&router),
                    Arc::clone(&settings),
                );
                router.tasks.spawn(async move {
                    let _open = permit;
                    // One deadline from the accept to HELLO, the transport handshake included.
                    let timeout = r.options.hello_timeout;
                    let hello_by = tokio::time::Instant::now() + timeout;
                    // Boxed: the transport handshake (large for WebSocket) is over once the
                    // session runs, so it need not take room in the task for the session's life.
                    match Box::pin(tokio::time::timeout_at(hello_by, handshake(stream, &t))).await {
                        Ok(Ok(conn)) => session::run(conn, r, s, hello_by).await,
                        Ok(Err(e)) => tracing::info!(%peer, "transport handshake failed: {e}"),
                        Err(_) => {
                            tracing::info!(%peer, "transport handshake not completed within {timeout:?}")
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

/// Refuses a connection beyond the limit at once: RawSocket's handshake error 4 ("maximum
/// connection count reached"), HTTP 503 for WebSocket; then closes it.
async fn refuse(mut stream: TcpStream, kind: TransportKind) {
    let answer: &[u8] = match kind {
        TransportKind::RawSocket => &[rawsocket::MAGIC, 4 << 4, 0, 0],
        TransportKind::WebSocket { .. } => {
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(answer).await?;
        stream.shutdown().await?;
        // Take what the client already sent (its request or handshake), so that closing does
        // not reset the connection before it read the answer.
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

async fn handshake(stream: TcpStream, t: &TransportConfig) -> Result<Connection, TransportError> {
    match &t.kind {
        TransportKind::RawSocket => {
            rawsocket::accept(stream, &t.serializers, t.max_message_size).await
        }
        TransportKind::WebSocket { path } => {
            websocket::accept(stream, path, &t.serializers, t.max_message_size, &t.origins).await
        }
    }
}
