//! The connection to NATS: the options every node uses (`no_echo`, the client name
//! `wampstat-<node>`, the block's credentials, reconnecting for ever with a short back-off) and
//! the log lines of its ups and downs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::time::Duration;
use tokio::sync::watch;

use async_nats::{ConnectOptions, Event};

use crate::config::{ClusterConfig, NatsAuth};
use crate::log_budget::LogBudget;

/// The longest pause between two reconnection attempts.
pub const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(2);

/// How long one attempt to reach the server (TCP, TLS and the NATS handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How many messages of one NATS subscription may wait for the node (async-nats's default is
/// 65,536): beyond, NATS messages are dropped as to a slow consumer. Ordinary events are some
/// hundred bytes, so a few MiB per subscription; at most this × the server's `max_payload`.
pub const SUBSCRIPTION_CAPACITY: usize = 8192;

/// The warnings about slow-consumer drops, which async-nats reports once per dropped message.
static SLOW_CONSUMER: LogBudget =
    LogBudget::new("NATS slow-consumer drops", 5, Duration::from_secs(60));

/// Why NATS could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The credentials file could not be read.
    #[error("cannot read the NATS credentials file {path}: {error}")]
    Creds {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The server could not be reached (only when not retrying: `--cluster-status`).
    #[error("cannot connect to NATS at {url}: {error}")]
    Connect {
        /// The server's URL.
        url: String,
        /// Why.
        error: async_nats::ConnectError,
    },
    /// The server was not reached within the time allowed.
    #[error("NATS at {url} did not answer within {within:?}")]
    Timeout {
        /// The server's URL.
        url: String,
        /// The time allowed.
        within: Duration,
    },
    /// Subscribing failed.
    #[error("cannot subscribe to {subject}: {error}")]
    Subscribe {
        /// The subject.
        subject: String,
        /// Why.
        error: async_nats::SubscribeError,
    },
}

/// How a connection behaves when the server cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A node: connects in the background, retries for ever, reconnects for ever; local
    /// traffic never waits for NATS.
    Node,
    /// A one-shot client (`--cluster-status`): one attempt, an error if it fails.
    Probe,
}

/// The connection options for the cluster block `cfg`, with the client name `name`; `connected`
/// follows the connection's state (set and cleared by its events, which are logged).
///
/// # Errors
/// [`ClusterError::Creds`] when the credentials file cannot be read.
pub async fn options(
    cfg: &ClusterConfig,
    name: String,
    mode: Mode,
    connected: Arc<Link>,
) -> Result<ConnectOptions, ClusterError> {
    let mut o = ConnectOptions::new();
    o = match &cfg.nats.auth {
        NatsAuth::None => o,
        NatsAuth::Token(t) => o.token(t.expose().to_owned()),
        NatsAuth::UserPassword { user, password } => {
            o.user_and_password(user.clone(), password.expose().to_owned())
        }
        NatsAuth::Creds(path) => {
            o.credentials_file(path)
                .await
                .map_err(|error| ClusterError::Creds {
                    path: path.display().to_string(),
                    error,
                })?
        }
    };
    let url = cfg.nats.url.clone();
    let o = o
        .name(name)
        .no_echo()
        .connection_timeout(CONNECT_TIMEOUT)
        .subscription_capacity(SUBSCRIPTION_CAPACITY)
        .max_reconnects(None)
        .reconnect_delay_callback(reconnect_delay)
        .event_callback(move |event| {
            let url = url.clone();
            let connected = Arc::clone(&connected);
            async move { log_event(&url, &connected, event) }
        });
    Ok(match mode {
        Mode::Node => o.retry_on_initial_connect(),
        Mode::Probe => o,
    })
}

/// The state of the connection to NATS: whether it is up, and how often it was lost.
#[derive(Debug, Default)]
pub struct Link {
    up: AtomicBool,
    losses: watch::Sender<u64>,
}

impl Link {
    /// Whether the connection is up now.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// The number of times the connection was lost, changed at each loss.
    pub fn losses(&self) -> watch::Receiver<u64> {
        self.losses.subscribe()
    }

    fn set(&self, up: bool) {
        if !self.up.swap(up, Ordering::Relaxed) || up {
            return;
        }
        self.losses.send_modify(|n| *n += 1);
    }
}

/// The pause before reconnection attempt `attempts`: 0 at first, then doubling from 50 ms up
/// to [`MAX_RECONNECT_DELAY`], with up to 100 ms of jitter so nodes do not knock together.
fn reconnect_delay(attempts: usize) -> Duration {
    if attempts <= 1 {
        return Duration::ZERO;
    }
    let exp = u32::try_from(attempts.min(16)).unwrap_or(16);
    let base = Duration::from_millis(50u64.saturating_mul(1 << exp.min(10)));
    base.min(MAX_RECONNECT_DELAY) + Duration::from_millis(rand::random_range(0..=100))
}

/// Logs a connection event (never a credential: events carry none).
fn log_event(url: &str, connected: &Link, event: Event) {
    match event {
        Event::Connected => {
            connected.set(true);
            tracing::info!("cluster: connected to NATS at {url}");
        }
        Event::Disconnected => {
            connected.set(false);
            tracing::warn!(
                "cluster: lost the connection to NATS at {url}; local sessions are served \
                 meanwhile, reconnecting"
            );
        }
        Event::Closed => {
            connected.set(false);
            tracing::info!("cluster: the NATS connection is closed");
        }
        Event::LameDuckMode => {
            tracing::warn!("cluster: NATS at {url} is shutting down (lame duck mode)");
        }
        Event::Draining => tracing::info!("cluster: draining the NATS connection"),
        Event::SlowConsumer(sid) => {
            if SLOW_CONSUMER.admit() {
                tracing::warn!(
                    "cluster: NATS subscription {sid} is a slow consumer, messages dropped"
                );
            }
        }
        Event::ServerError(e) => tracing::warn!("cluster: NATS server error: {e}"),
        // While disconnected, each failed reconnection attempt is one: the outage is logged.
        Event::ClientError(e) if !connected.is_up() => {
            tracing::debug!("cluster: NATS client error: {e}");
        }
        Event::ClientError(e) => tracing::warn!("cluster: NATS client error: {e}"),
    }
}

/// Connects with `options` to the block's server; in [`Mode::Probe`] within `within`.
///
/// # Errors
/// [`ClusterError::Connect`] or [`ClusterError::Timeout`] when the server cannot be reached
/// (never in [`Mode::Node`], which connects in the background).
pub async fn connect(
    cfg: &ClusterConfig,
    options: ConnectOptions,
    within: Duration,
) -> Result<async_nats::Client, ClusterError> {
    let url = cfg.nats.url.clone();
    match tokio::time::timeout(within, options.connect(url.as_str())).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(error)) => Err(ClusterError::Connect { url, error }),
        Err(_) => Err(ClusterError::Timeout { url, within }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnecting_backs_off_to_at_most_two_seconds() {
        assert_eq!(reconnect_delay(0), Duration::ZERO);
        assert_eq!(reconnect_delay(1), Duration::ZERO);
        for n in 2..100 {
            let d = reconnect_delay(n);
            assert!(d >= Duration::from_millis(200), "{n}: {d:?}");
            assert!(
                d <= MAX_RECONNECT_DELAY + Duration::from_millis(100),
                "{n}: {d:?}"
            );
        }
    }
}
