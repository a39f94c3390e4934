//! The router: realms from the configuration, a listener per transport, and shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, TransportKind};
use crate::listener;
use crate::realm::Realm;

/// The error of a request that would take a session beyond a limit of [`RouterOptions`].
pub const LIMIT_EXCEEDED: &str = "wampstat.error.limit_exceeded";

/// Router-wide tunables that are not part of a Crossbar configuration.
#[derive(Debug, Clone)]
pub struct RouterOptions {
    /// Capacity of each session's outbound queue, in messages; a session whose queue is full
    /// is closed as a slow consumer.
    pub outbound_queue: usize,
    /// Bytes a session's outbound queue may hold before the session is closed as a slow
    /// consumer (with `outbound_queue`, this bounds a session's memory).
    pub outbound_bytes: usize,
    /// Subscriptions one session may hold (beyond: `wampstat.error.limit_exceeded`).
    pub max_subscriptions: usize,
    /// Registrations one session may hold.
    pub max_registrations: usize,
    /// Calls one session may have in progress.
    pub max_pending_calls: usize,
    /// How long a new connection may take to send HELLO.
    pub hello_timeout: Duration,
    /// How long a closing session waits for the client's GOODBYE and for its last writes.
    pub goodbye_timeout: Duration,
}

impl Default for RouterOptions {
    fn default() -> Self {
        RouterOptions {
            outbound_queue: 8192,
            outbound_bytes: 32 << 20,
            max_subscriptions: 10_000,
            max_registrations: 10_000,
            max_pending_calls: 10_000,
            hello_timeout: Duration::from_secs(10),
            goodbye_timeout: Duration::from_secs(2),
        }
    }
}

/// What all sessions share.
#[derive(Debug)]
pub struct Shared {
    /// Realms by name.
    pub realms: HashMap<String, Arc<Realm>>,
    /// Cancelled when the router shuts down.
    pub shutdown: CancellationToken,
    /// The tunables.
    pub options: RouterOptions,
    /// Every session and listener task, for a graceful shutdown.
    pub tasks: TaskTracker,
}

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
    shared: Arc<Shared>,
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
        let shared = Arc::new(Shared {
            realms,
            shutdown: CancellationToken::new(),
            options,
            tasks: TaskTracker::new(),
        });
        let mut endpoints = Vec::new();
        for t in config.transports {
            let addr = SocketAddr::new(t.interface, t.port);
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
            shared
                .tasks
                .spawn(listener::accept_loop(socket, t, Arc::clone(&shared)));
        }
        Ok(Router { shared, endpoints })
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

    /// The realm called `name`.
    pub fn realm(&self, name: &str) -> Option<&Arc<Realm>> {
        self.shared.realms.get(name)
    }

    /// Stops accepting, says GOODBYE (`wamp.close.system_shutdown`) to every session and waits
    /// for them to close.
    pub async fn shutdown(self) {
        tracing::info!("shutting down");
        self.shared.shutdown.cancel();
        self.shared.tasks.close();
        let limit = self.shared.options.goodbye_timeout * 3;
        if tokio::time::timeout(limit, self.shared.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sessions did not close within {limit:?}");
        }
    }
}
