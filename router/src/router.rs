//! The router: realms from the configuration, a listener per transport, and shutdown. The top
//! of the crate: it wires the rooms below together and nothing below imports it.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wamp::Id;

use crate::config::{Config, TransportKind};
use crate::context::RouterContext;
use crate::listener;
use crate::options::RouterOptions;
use crate::realm::Realm;

/// A listening transport.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// WebSocket (with its path) or RawSocket.
    pub kind: TransportKind,
    /// The bound address (the real port when the config said 0).
    pub addr: SocketAddr,
}

impl Endpoint {
    /// The URL a client connects to: `ws://addr/path` or `rs://addr`.
    pub fn url(&self) -> String {
        match &self.kind {
            TransportKind::WebSocket { path } => format!("ws://{}{}", self.addr, path),
            TransportKind::RawSocket => format!("rs://{}", self.addr),
        }
    }
}

/// A started router.
#[derive(Debug)]
pub struct Router {
    context: Arc<RouterContext>,
    endpoints: Vec<Endpoint>,
}

/// Why a router could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listening socket could not be bound.
    #[error("cannot listen on {addr} ({kind}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The transport type.
        kind: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Router {
    /// Binds every transport of `config` and starts accepting sessions.
    pub async fn start(config: Config, options: RouterOptions) -> Result<Router, StartError> {
        let realms = config
            .realms
            .into_iter()
            .map(|r| (r.name.clone(), Arc::new(Realm::new(r))))
            .collect();
        let context = Arc::new(RouterContext {
            realms,
            shutdown: CancellationToken::new(),
            options,
            tasks: TaskTracker::new(),
        });
        let mut endpoints = Vec::new();
        for t in config.transports {
            let addr = t.socket_addr();
            let kind_name = match t.kind {
                TransportKind::WebSocket { .. } => "websocket",
                TransportKind::RawSocket => "rawsocket",
            };
            let socket = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind {
                    addr,
                    kind: kind_name,
                    source,
                })?;
            let bound = socket.local_addr().map_err(|source| StartError::Bind {
                addr,
                kind: kind_name,
                source,
            })?;
            tracing::info!("listening for {kind_name} on {bound}");
            endpoints.push(Endpoint {
                kind: t.kind.clone(),
                addr: bound,
            });
            context
                .tasks
                .spawn(listener::accept_loop(socket, t, Arc::clone(&context)));
        }
        Ok(Router { context, endpoints })
    }

    /// The listening transports, in configuration order.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The URL of the first WebSocket transport.
    pub fn websocket_url(&self) -> Option<String> {
        self.endpoints
            .iter()
            .find(|e| matches!(e.kind, TransportKind::WebSocket { .. }))
            .map(Endpoint::url)
    }

    /// The URL of the first RawSocket transport.
    pub fn rawsocket_url(&self) -> Option<String> {
        self.endpoints
            .iter()
            .find(|e| e.kind == TransportKind::RawSocket)
            .map(Endpoint::url)
    }

    /// Whether session `id` is joined to realm `realm`.
    pub fn is_joined(&self, realm: &str, id: Id) -> bool {
        self.context
            .realms
            .get(realm)
            .is_some_and(|r| r.session(id).is_some())
    }

    /// Stops accepting, says GOODBYE (`wamp.close.system_shutdown`) to every session and waits
    /// for them to close.
    pub async fn shutdown(self) {
        tracing::info!("shutting down");
        self.context.shutdown.cancel();
        self.context.tasks.close();
        let limit = self.context.options.goodbye_timeout * 3;
        if tokio::time::timeout(limit, self.context.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sessions did not close within {limit:?}");
        }
    }
}
