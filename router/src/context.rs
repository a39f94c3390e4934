//! What every listener and session of one router shares: its realms, its tunables, the signal
//! that it shuts down and the tracker of its tasks.

use std::collections::HashMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::metrics::Metrics;
use crate::options::RouterOptions;
use crate::realm::Realm;

/// What every listener and session of one router shares.
#[derive(Debug)]
pub struct RouterContext {
    /// Realms by name.
    pub realms: HashMap<String, Arc<Realm>>,
    /// Cancelled when the router shuts down.
    pub shutdown: CancellationToken,
    /// The tunables.
    pub options: RouterOptions,
    /// Every session and listener task, for a graceful shutdown.
    pub tasks: TaskTracker,
    /// The Prometheus metrics.
    pub metrics: Metrics,
    /// **[ours]** The node's part in a cluster, when the configuration has a `cluster` block.
    pub cluster: Option<crate::cluster::Cluster>,
}
