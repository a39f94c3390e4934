//! The router: realms from the configuration, a listener per transport, and shutdown. The top
//! of the crate: it wires the rooms below together and nothing below imports it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wamp::Id;

use crate::config::{Config, Listen, TransportKind};
use crate::context::RouterContext;
use crate::listener::{self, Services, Socket};
use crate::options::RouterOptions;
use crate::realm::{Realm, RoutingCounts};

/// A listening transport.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// WebSocket (with its path) or RawSocket.
    pub kind: TransportKind,
    /// The bound address (the real port when the config said 0).
    pub listen: Listen,
    /// Whether it speaks TLS.
    pub tls: bool,
}

impl Endpoint {
    /// The URL a client connects to: `ws://addr/path`, `wss://…`, `rs://addr`, `rss://addr`
    /// or `unix:///path` (RawSocket; WebSocket on a Unix socket has no URL our clients take,
    /// so `ws+unix:///path:/ws` is written for people).
    pub fn url(&self) -> String {
        let s = if self.tls { "s" } else { "" };
        match (&self.listen, &self.kind) {
            (Listen::Tcp(a), TransportKind::WebSocket { path }) => format!("ws{s}://{a}{path}"),
            (Listen::Tcp(a), TransportKind::RawSocket) => format!("rs{s}://{a}"),
            (Listen::Unix(p), TransportKind::RawSocket) => format!("unix://{}", p.display()),
            (Listen::Unix(p), TransportKind::WebSocket { path }) => {
                format!("ws+unix://{}:{path}", p.display())
            }
        }
    }

    /// The TCP address, unless it is a Unix socket.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self.listen {
            Listen::Tcp(a) => Some(a),
            Listen::Unix(_) => None,
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
        addr: Listen,
        /// The transport types.
        kind: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Router {
    /// Binds every transport of `config` and starts accepting sessions.
    pub async fn start(config: Config, options: RouterOptions) -> Result<Router, StartError> {
        // Recording costs a little on the hot path: only when someone can read it.
        let mut metrics = crate::metrics::Metrics::new(
            config
                .realms
                .iter()
                .map(|r| (r.name.as_str(), r.max_metric_uris)),
            !config.metrics.is_empty(),
        );
        // [ours] Only with a cluster block: a single router never touches NATS.
        let cluster = config.cluster.map(|c| {
            let hash = crate::cluster::heartbeat::config_hash(&config.realms);
            crate::cluster::Cluster::new(c, hash)
        });
        let realms: HashMap<String, Arc<Realm>> = config
            .realms
            .into_iter()
            .map(|r| {
                let m = metrics.realm(&r.name);
                let realm = Realm::new(r, m);
                let realm = match &cluster {
                    Some(c) => realm.in_cluster(c.clone()),
                    None => realm,
                };
                (realm.name().to_owned(), Arc::new(realm))
            })
            .collect();
        metrics.watch_queues(realms.values().cloned().collect());
        if cluster.is_some() {
            metrics.watch_cluster(realms.values().cloned().collect());
        }
        let context = Arc::new(RouterContext {
            realms,
            shutdown: CancellationToken::new(),
            options,
            tasks: TaskTracker::new(),
            metrics,
            cluster: cluster.clone(),
        });
        if let Some(cluster) = cluster {
            let all: Vec<Arc<Realm>> = context.realms.values().cloned().collect();
            let count = Box::new({
                let all = all.clone();
                move || all.iter().map(|r| r.session_count()).sum()
            });
            let stats = Box::new(move || {
                all.iter()
                    .filter(|r| r.events.stats_wanted_here())
                    .map(|r| r.name().to_owned())
                    .collect()
            });
            context.tasks.spawn(
                cluster
                    .clone()
                    .run((count, stats), context.shutdown.clone()),
            );
            for realm in context.realms.values() {
                if let Some(b) = &realm.backplane {
                    let run = Arc::clone(b).run(
                        Arc::clone(realm),
                        cluster.clone(),
                        context.shutdown.clone(),
                    );
                    context.tasks.spawn(run);
                    context.tasks.spawn(crate::cluster::meta::serve(
                        Arc::clone(realm),
                        cluster.clone(),
                        context.shutdown.clone(),
                    ));
                }
                if let (Some(relay), Some(registry)) = (&realm.relay, &realm.registry) {
                    let shutdown = context.shutdown.clone();
                    let relay_run =
                        Arc::clone(relay).run(Arc::clone(realm), cluster.clone(), shutdown.clone());
                    context.tasks.spawn(relay_run);
                    let registry_run = Arc::clone(registry).run(
                        Arc::clone(realm),
                        Arc::clone(relay),
                        cluster.clone(),
                        shutdown,
                    );
                    context.tasks.spawn(registry_run);
                }
            }
        }
        let mut endpoints = Vec::new();
        let mut sockets: Vec<(usize, Listen, Services)> = Vec::new();
        for t in config.transports {
            let at = match sockets.iter().position(|(l, ..)| *l == t.listener) {
                Some(at) => at,
                None => {
                    sockets.push((t.listener, t.listen.clone(), Services::default()));
                    sockets.len() - 1
                }
            };
            sockets[at].2.add(t);
        }
        for m in config.metrics {
            if let Some((.., services)) = sockets.iter_mut().find(|(l, ..)| *l == m.listener) {
                services.metrics.push(m.path);
            }
        }
        for (_, listen, services) in sockets {
            let (socket, bound) = bind(&listen, &services).await?;
            let kinds = services
                .rawsocket
                .iter()
                .chain(&services.websocket)
                .map(|s| s.transport.kind.clone());
            let mut names = Vec::new();
            for kind in kinds {
                names.push(match &kind {
                    TransportKind::WebSocket { path } => format!("websocket {path}"),
                    TransportKind::RawSocket => "rawsocket".to_owned(),
                });
                endpoints.push(Endpoint {
                    kind,
                    listen: bound.clone(),
                    tls: services.tls.is_some(),
                });
            }
            names.extend(services.metrics.iter().map(|p| format!("metrics {p}")));
            let tls = if services.tls.is_some() {
                " over TLS"
            } else {
                ""
            };
            tracing::info!("listening for {}{tls} on {bound}", names.join(" and "));
            context.tasks.spawn(listener::accept_loop(
                socket,
                services,
                Arc::clone(&context),
            ));
        }
        Ok(Router { context, endpoints })
    }

    /// **[ours]** The node's part in a cluster (its node table and membership channels), when
    /// the configuration has a `cluster` block.
    pub fn cluster(&self) -> Option<&crate::cluster::Cluster> {
        self.context.cluster.as_ref()
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

    /// **[ours]** The most bytes session `id`'s outbound queue ever held at once, by the
    /// router's own accounting (never above `RouterOptions::outbound_bytes`); `None` when it is
    /// not joined to `realm`.
    pub fn peak_queued_bytes(&self, realm: &str, id: Id) -> Option<usize> {
        self.context
            .realms
            .get(realm)
            .and_then(|r| r.session(id))
            .map(|s| s.peak_queued_bytes())
    }

    /// What realm `realm` holds, counted: sessions, testaments, subscriptions, registrations,
    /// calls in progress and the indexes behind them; `None` for an unknown realm. For tests
    /// that compare the routing state with a model and check that nothing is left behind; not
    /// part of the router's API.
    #[doc(hidden)]
    pub fn routing_counts(&self, realm: &str) -> Option<RoutingCounts> {
        self.context.realms.get(realm).map(|r| r.routing_counts())
    }

    /// **[ours]** What the router holds now, by its own accounting; for the tests that check
    /// that it gives everything back after clients misbehave. Not part of the router's API.
    #[doc(hidden)]
    pub fn census(&self) -> Census {
        let mut census = Census {
            tasks: self.context.tasks.len(),
            ..Census::default()
        };
        for realm in self.context.realms.values() {
            let sessions = realm.sessions();
            census.sessions += sessions.len();
            census.queued_bytes += sessions.iter().map(|s| s.slowness().queued).sum::<usize>();
            census.pending_calls += realm.dealer.pending_calls();
        }
        census
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

/// What a router holds at one moment ([`Router::census`]): for tests, not part of the API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    /// Its live tasks: one per listener, one per open connection (joined or not) and per
    /// connection being refused.
    pub tasks: usize,
    /// Sessions joined to any realm.
    pub sessions: usize,
    /// Calls in progress in any realm (invocations not yet answered).
    pub pending_calls: usize,
    /// Bytes in the sessions' outbound queues.
    pub queued_bytes: usize,
}

/// Binds `listen` for `services`; returns the socket and the address bound (the real port when
/// the config said 0).
async fn bind(listen: &Listen, services: &Services) -> Result<(Socket, Listen), StartError> {
    let kind = match (&services.rawsocket, services.websocket.len()) {
        (Some(_), 0) => "rawsocket",
        (None, _) => "websocket",
        (Some(_), _) => "universal",
    };
    let failed = |source| StartError::Bind {
        addr: listen.clone(),
        kind: kind.to_owned(),
        source,
    };
    match listen {
        Listen::Tcp(addr) => {
            let socket = tokio::net::TcpListener::bind(addr).await.map_err(failed)?;
            let bound = socket.local_addr().map_err(failed)?;
            Ok((Socket::Tcp(socket), Listen::Tcp(bound)))
        }
        Listen::Unix(path) => {
            clear_stale_socket(path).map_err(failed)?;
            let socket = tokio::net::UnixListener::bind(path).map_err(failed)?;
            Ok((Socket::Unix(socket, path.clone()), listen.clone()))
        }
    }
}

/// Removes a Unix socket file left by a router that is gone (nothing accepts on it), as
/// servers usually do; a socket something still listens on, or a file that is not a socket,
/// is left alone (and binding then fails, saying why).
fn clear_stale_socket(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket",
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "another process listens on this socket",
        )),
        Err(_) => std::fs::remove_file(path),
    }
}
