//! **[ours]** `wampstat_cluster_publications_dropped_total`: the publications (meta events
//! included) each realm's backplane did not send to the other nodes (its queue full, NATS down
//! or refusing), read from the backplanes at each scrape. Registered only on a clustered node.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;

use super::families::RealmLabels;
use crate::realm::Realm;

/// Reads the realms' backplanes at each scrape.
#[derive(Debug)]
pub(super) struct ClusterDrops {
    pub(super) realms: Vec<Arc<Realm>>,
}

impl Collector for ClusterDrops {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut m = encoder.encode_descriptor(
            "wampstat_cluster_publications_dropped",
            "Publications not sent to the other nodes of the cluster (queue full, NATS down)",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for realm in &self.realms {
            let Some(b) = &realm.backplane else { continue };
            let labels = RealmLabels {
                realm: realm.name().to_owned(),
            };
            ConstCounter::new(b.dropped()).encode(m.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use wamp::{Dict, Payload, Serializer};

    use super::super::Metrics;
    use crate::broker::{Identity, Publication};
    use crate::cluster::Cluster;
    use crate::cluster::pubsub::PUBLISH_QUEUE;
    use crate::config::{ClusterConfig, NatsAuth, NatsConfig, RealmConfig};
    use crate::realm::Realm;

    fn realm(name: &str) -> Realm {
        Realm::new(RealmConfig::named(name), None)
    }

    #[test]
    fn the_dropped_publications_of_each_clustered_realm_are_counted() {
        let cluster = Cluster::new(
            ClusterConfig {
                node: "node-a".into(),
                nats: NatsConfig {
                    url: "nats://127.0.0.1:4222".into(),
                    auth: NatsAuth::None,
                },
                subject_prefix: "w".into(),
                heartbeat: Duration::from_millis(100),
                node_timeout: Duration::from_millis(300),
            },
            "hash".into(),
        );
        let clustered = Arc::new(realm("realm1").in_cluster(cluster));
        let alone = Arc::new(realm("realm2"));
        let b = clustered.backplane.as_ref().expect("a backplane");
        let payload = Payload::empty();
        let p = Publication {
            topic: "com.t",
            payload: &payload,
            exclude_me: true,
            disclose: false,
            passthru: Dict::new(),
            filter: None,
            passive: false,
        };
        let me = Identity {
            id: 1,
            authid: "a",
            authrole: "r",
        };
        // Nothing takes from the queue (no task runs): the ones past its size are dropped.
        for i in 0..PUBLISH_QUEUE as u64 + 2 {
            b.publish(Serializer::Json, &me, i + 1, &p);
        }
        let mut metrics = Metrics::new([("realm1", 10), ("realm2", 10)], true);
        metrics.watch_cluster(vec![clustered, alone]);
        let text = metrics.encode();
        assert!(
            text.contains("wampstat_cluster_publications_dropped_total{realm=\"realm1\"} 2\n"),
            "{text}"
        );
        assert!(!text.contains("realm=\"realm2\"} 2"), "{text}");
    }
}
