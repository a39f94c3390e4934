//! The router's Prometheus metrics (a `web` path of type `metrics`): one registry the router
//! owns (no global one), encoded in the OpenMetrics text format at each scrape.
//!
//! The hot path stays cheap: each realm's handles ([`RealmMetrics`]) are made once, its
//! per-message-type counters on first use, so that counting a message is an array index and an
//! atomic add, never a label lookup. A router without a metrics path records nothing.

mod capped;
mod cluster;
mod code;
mod families;
mod process;
mod queues;
mod realm;

use std::collections::HashMap;
use std::sync::Arc;

use prometheus_client::registry::Registry;

pub use realm::{CallTimer, RealmMetrics};

/// The `Content-Type` of what [`Metrics::encode`] writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `Content-Type` of what [`to_prometheus_text`] writes.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// OpenMetrics text turned into the Prometheus text format 0.0.4 (what `promtool check
/// metrics`, curl users and older scrapers expect): a counter's HELP and TYPE name its
/// `_total` samples, and there is no `# UNIT` or `# EOF` line.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line).trim_end());
        out.push('\n');
    }
    out
}

/// The router's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    realms: HashMap<String, Arc<RealmMetrics>>,
}

impl Metrics {
    /// The metrics of a router with realms `realms` (each name with its cap on URI labels);
    /// with `enabled` false, no realm gets handles and nothing is recorded.
    pub fn new<'a>(realms: impl IntoIterator<Item = (&'a str, usize)>, enabled: bool) -> Metrics {
        let mut registry = Registry::default();
        let f = families::Families::register(&mut registry);
        registry.register_collector(Box::new(process::ProcessCollector));
        let realms = realms
            .into_iter()
            .filter(|_| enabled)
            .map(|(name, cap)| (name.to_owned(), Arc::new(RealmMetrics::new(name, cap, &f))))
            .collect();
        Metrics { registry, realms }
    }

    /// The handles of realm `name` (a realm of the router's configuration), when recording.
    pub fn realm(&self, name: &str) -> Option<Arc<RealmMetrics>> {
        self.realms.get(name).cloned()
    }

    /// Samples the outbound queues of `realms`' sessions at each scrape.
    pub fn watch_queues(&mut self, realms: Vec<Arc<crate::realm::Realm>>) {
        self.registry
            .register_collector(Box::new(queues::QueueDepths { realms }));
    }

    /// **[ours]** On a clustered node: counts the publications `realms`' backplanes dropped, at
    /// each scrape.
    pub fn watch_cluster(&mut self, realms: Vec<Arc<crate::realm::Realm>>) {
        self.registry
            .register_collector(Box::new(cluster::ClusterDrops { realms }));
    }

    /// Every metric, in the OpenMetrics text format (see [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!("cannot encode the metrics: {e}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use wamp::Serializer;

    #[test]
    fn the_prometheus_text_names_counters_by_their_samples() {
        let open = "# HELP a_calls Calls.\n# TYPE a_calls counter\na_calls_total{x=\"1\"} 2\n\
                    # HELP b_open Open.\n# TYPE b_open gauge\n# UNIT b_open bytes\nb_open 3\n# EOF\n";
        assert_eq!(
            to_prometheus_text(open),
            "# HELP a_calls_total Calls.\n# TYPE a_calls_total counter\na_calls_total{x=\"1\"} 2\n\
             # HELP b_open Open.\n# TYPE b_open gauge\nb_open 3\n"
        );
    }

    #[test]
    fn counts_show_in_the_text() {
        let m = Metrics::new([("realm1", 100)], true);
        let r = m.realm("realm1").unwrap();
        r.joined("anonymous", "websocket");
        r.received(Serializer::Json, &Bytes::from_static(b"[16,1,{},\"t\"]"));
        r.sent(Serializer::Json, &Bytes::from_static(b"[17,1,2]"));
        r.sent(Serializer::Json, &Bytes::from_static(b"[99]"));
        let text = m.encode();
        for line in [
            "wamp_sessions{realm=\"realm1\"} 1",
            "wamp_sessions_joined_total{realm=\"realm1\",authrole=\"anonymous\",transport=\"websocket\"} 1",
            "wamp_messages_received_total{realm=\"realm1\",type=\"PUBLISH\"} 1",
            "wamp_messages_sent_total{realm=\"realm1\",type=\"PUBLISHED\"} 1",
            "wamp_messages_sent_total{realm=\"realm1\",type=\"UNKNOWN\"} 1",
            "wamp_bytes_received_total{realm=\"realm1\"} 13",
            "wamp_bytes_sent_total{realm=\"realm1\"} 12",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
