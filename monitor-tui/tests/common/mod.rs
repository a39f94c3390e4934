//! Shared by the monitor's integration tests (each test binary uses a part of it).
#![allow(dead_code)]

// The router's own helpers for its cluster tests: `wamp-router` and nats-server as child
// processes, stopped by their PIDs when dropped.
#[path = "../../../router/tests/common/child.rs"]
pub mod child;
#[path = "../../../router/tests/common/nats.rs"]
pub mod nats;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use wamp_router::config::Config;
use wamp_router::{Router, RouterOptions};

/// A router with the embedded default config on ephemeral loopback ports.
pub async fn router() -> Router {
    let config = Config::embedded_default().config.on_free_loopback_ports();
    Router::start(config, RouterOptions::default())
        .await
        .expect("router starts")
}

/// A recording path in the temp directory that no other test or run uses; the file and its
/// rotated ones (`FILE.1` …) are removed on drop.
pub struct TempPath(pub PathBuf);

impl TempPath {
    /// A fresh path named after `name`.
    pub fn new(name: &str) -> TempPath {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        TempPath(std::env::temp_dir().join(format!(
            "wampstat-test-{name}-{}-{nanos}.ndjson",
            std::process::id()
        )))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        for n in 1..10 {
            let _ = std::fs::remove_file(format!("{}.{n}", self.0.display()));
        }
    }
}
