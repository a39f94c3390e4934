//! `wamp_outbound_queue_depth`: how many bytes each joined session has queued, sampled at each
//! scrape into a histogram per realm (observing every push would put a lock on the hot path).

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use super::families::RealmLabels;
use crate::realm::Realm;

/// Upper bounds of the queue depth buckets, in bytes: empty, then 1 KiB to 64 MiB by 4.
const QUEUE_BYTES: [f64; 10] = [
    0.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0, 67108864.0,
];

fn queue_histogram() -> Histogram {
    Histogram::new(QUEUE_BYTES)
}

/// Reads the realms' sessions' queues at each scrape.
#[derive(Debug)]
pub(super) struct QueueDepths {
    pub(super) realms: Vec<Arc<Realm>>,
}

impl Collector for QueueDepths {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let family = Family::<RealmLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            queue_histogram,
        );
        for realm in &self.realms {
            let h = family.get_or_create_owned(&RealmLabels {
                realm: realm.name().to_owned(),
            });
            for s in realm.sessions() {
                h.observe(s.slowness().queued as f64);
            }
        }
        let m = encoder.encode_descriptor(
            "wamp_outbound_queue_depth",
            "Bytes queued to each joined session, sampled at the scrape",
            None,
            family.metric_type(),
        )?;
        family.encode(m)
    }
}
