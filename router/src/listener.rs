//! Accept loops: one per transport, handing each connection to a session task.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
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
    });
    loop {
        let accepted = tokio::select! {
            a = socket.accept() => a,
            _ = router.shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let (t, r, s) = (
                    Arc::clone(&transport),
                    Arc::clone(&router),
                    Arc::clone(&settings),
                );
                router.tasks.spawn(async move {
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

async fn handshake(stream: TcpStream, t: &TransportConfig) -> Result<Connection, TransportError> {
    match &t.kind {
        TransportKind::RawSocket => {
            rawsocket::accept(stream, &t.serializers, t.max_message_size).await
        }
        TransportKind::WebSocket { path } => {
            websocket::accept(stream, path, &t.serializers, t.max_message_size).await
        }
    }
}
