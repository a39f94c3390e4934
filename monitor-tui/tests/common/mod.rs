//! Shared by the monitor's integration tests.

use wamp_router::config::Config;
use wamp_router::{Router, RouterOptions};

/// A router with the embedded default config on ephemeral loopback ports.
pub async fn router() -> Router {
    let config = Config::embedded_default().config.on_free_loopback_ports();
    Router::start(config, RouterOptions::default())
        .await
        .expect("router starts")
}
