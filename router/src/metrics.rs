//! The router's Prometheus metrics (a `web` path of type `metrics`): one registry the router
//! owns (no global one), encoded in the OpenMetrics text format at each scrape.
//!
//! The hot path stays cheap: each realm's handles ([`RealmMetrics`]) are made once, its
//! per-message-type counters on first use, so that counting a message is an array index and an
//! atomic add, never a label lookup.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;
use wamp::Serializer;

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

/// Message codes are below this (YIELD is 70); index 0 counts codes not known.
const CODES: usize = 71;

/// Labels of the per-realm series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RealmLabels {
    realm: String,
}

/// Labels of the session join and leave counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SessionLabels {
    realm: String,
    authrole: String,
    transport: String,
}

/// Labels of the message counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    realm: String,
    r#type: String,
}

/// The metric families, shared by the registry and the realms' handles.
#[derive(Debug, Default, Clone)]
struct Families {
    sessions: Family<RealmLabels, Gauge>,
    joined: Family<SessionLabels, Counter>,
    left: Family<SessionLabels, Counter>,
    received: Family<MessageLabels, Counter>,
    sent: Family<MessageLabels, Counter>,
    bytes_received: Family<RealmLabels, Counter>,
    bytes_sent: Family<RealmLabels, Counter>,
}

/// The router's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    realms: HashMap<String, Arc<RealmMetrics>>,
}

impl Metrics {
    /// The metrics of a router with realms `realms`.
    pub fn new<'a>(realms: impl IntoIterator<Item = &'a str>) -> Metrics {
        let f = Families::default();
        let mut registry = Registry::default();
        registry.register(
            "wamp_sessions",
            "Sessions joined to the realm now",
            f.sessions.clone(),
        );
        registry.register(
            "wamp_sessions_joined",
            "Sessions that joined the realm",
            f.joined.clone(),
        );
        registry.register(
            "wamp_sessions_left",
            "Sessions that left the realm",
            f.left.clone(),
        );
        registry.register(
            "wamp_messages_received",
            "WAMP messages received from joined sessions, by type",
            f.received.clone(),
        );
        registry.register(
            "wamp_messages_sent",
            "WAMP messages sent to joined sessions, by type",
            f.sent.clone(),
        );
        registry.register(
            "wamp_bytes_received",
            "Bytes of WAMP messages received from joined sessions",
            f.bytes_received.clone(),
        );
        registry.register(
            "wamp_bytes_sent",
            "Bytes of WAMP messages sent to joined sessions",
            f.bytes_sent.clone(),
        );
        registry.register_collector(Box::new(ProcessCollector));
        let realms = realms
            .into_iter()
            .map(|name| (name.to_owned(), Arc::new(RealmMetrics::new(name, &f))))
            .collect();
        Metrics { registry, realms }
    }

    /// The handles of realm `name` (a realm of the router's configuration).
    pub fn realm(&self, name: &str) -> Option<Arc<RealmMetrics>> {
        self.realms.get(name).cloned()
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

/// One realm's metric handles, made once: counting is then an atomic add.
#[derive(Debug)]
pub struct RealmMetrics {
    name: String,
    families: Families,
    sessions: Gauge,
    bytes_received: Counter,
    bytes_sent: Counter,
    received: [OnceLock<Counter>; CODES],
    sent: [OnceLock<Counter>; CODES],
}

impl RealmMetrics {
    fn new(name: &str, f: &Families) -> RealmMetrics {
        let realm = RealmLabels {
            realm: name.to_owned(),
        };
        RealmMetrics {
            name: name.to_owned(),
            families: f.clone(),
            sessions: f.sessions.get_or_create(&realm).clone(),
            bytes_received: f.bytes_received.get_or_create(&realm).clone(),
            bytes_sent: f.bytes_sent.get_or_create(&realm).clone(),
            received: std::array::from_fn(|_| OnceLock::new()),
            sent: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// A session of `authrole` over `transport` (`websocket`, `rawsocket`) joined.
    pub fn joined(&self, authrole: &str, transport: &str) {
        self.sessions.inc();
        self.families
            .joined
            .get_or_create(&self.session_labels(authrole, transport))
            .inc();
    }

    /// A session of `authrole` over `transport` left.
    pub fn left(&self, authrole: &str, transport: &str) {
        self.sessions.dec();
        self.families
            .left
            .get_or_create(&self.session_labels(authrole, transport))
            .inc();
    }

    fn session_labels(&self, authrole: &str, transport: &str) -> SessionLabels {
        SessionLabels {
            realm: self.name.clone(),
            authrole: authrole.to_owned(),
            transport: transport.to_owned(),
        }
    }

    /// A message `frame` in `serializer` was received.
    pub fn received(&self, serializer: Serializer, frame: &[u8]) {
        self.bytes_received.inc_by(frame.len() as u64);
        self.count(&self.received, &self.families.received, serializer, frame);
    }

    /// A message `frame` in `serializer` is being sent.
    pub fn sent(&self, serializer: Serializer, frame: &[u8]) {
        self.bytes_sent.inc_by(frame.len() as u64);
        self.count(&self.sent, &self.families.sent, serializer, frame);
    }

    fn count(
        &self,
        cache: &[OnceLock<Counter>; CODES],
        family: &Family<MessageLabels, Counter>,
        serializer: Serializer,
        frame: &[u8],
    ) {
        let code = message_code(serializer, frame)
            .and_then(|c| usize::try_from(c).ok())
            .filter(|c| *c < CODES && wamp::message::name_of(*c as u64).is_some())
            .unwrap_or(0);
        cache[code]
            .get_or_init(|| {
                let name = wamp::message::name_of(code as u64).unwrap_or("UNKNOWN");
                let labels = MessageLabels {
                    realm: self.name.clone(),
                    r#type: name.to_owned(),
                };
                family.get_or_create(&labels).clone()
            })
            .inc();
    }
}

/// The type code of an encoded message (its first array element), read without decoding it.
pub fn message_code(serializer: Serializer, frame: &[u8]) -> Option<u64> {
    match serializer {
        Serializer::Json => {
            let rest = frame
                .trim_ascii_start()
                .strip_prefix(b"[")?
                .trim_ascii_start();
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
        }
        Serializer::Msgpack => {
            let skip = match *frame.first()? {
                0x90..=0x9f => 1,
                0xdc => 3,
                0xdd => 5,
                _ => return None,
            };
            match *frame.get(skip)? {
                b @ 0x00..=0x7f => Some(u64::from(b)),
                0xcc => frame.get(skip + 1).map(|b| u64::from(*b)),
                _ => None,
            }
        }
        Serializer::Cbor => {
            let skip = match *frame.first()? {
                0x80..=0x97 | 0x9f => 1,
                0x98 => 2,
                0x99 => 3,
                0x9a => 5,
                _ => return None,
            };
            match *frame.get(skip)? {
                b @ 0x00..=0x17 => Some(u64::from(b)),
                0x18 => frame.get(skip + 1).map(|b| u64::from(*b)),
                _ => None,
            }
        }
    }
}

/// The process's own metrics, read from `/proc` at each scrape (nothing where there is none).
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let p = ProcessStats::read();
        if let Some(rss) = p.resident_memory_bytes {
            let g = ConstGauge::new(rss);
            let m = encoder.encode_descriptor(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                None,
                g.metric_type(),
            )?;
            g.encode(m)?;
        }
        if let Some(cpu) = p.cpu_seconds {
            let c = ConstCounter::new(cpu);
            let m = encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                c.metric_type(),
            )?;
            c.encode(m)?;
        }
        if let Some(fds) = p.open_fds {
            let g = ConstGauge::new(fds);
            let m = encoder.encode_descriptor(
                "process_open_fds",
                "Number of open file descriptors",
                None,
                g.metric_type(),
            )?;
            g.encode(m)?;
        }
        Ok(())
    }
}

/// What `/proc/self` tells of this process.
#[derive(Debug, Default)]
struct ProcessStats {
    resident_memory_bytes: Option<i64>,
    cpu_seconds: Option<f64>,
    open_fds: Option<i64>,
}

/// Clock ticks per second in `/proc` (the kernel's `USER_HZ`, 100 for user space everywhere).
const CLOCK_TICKS: f64 = 100.0;

impl ProcessStats {
    fn read() -> ProcessStats {
        let status = std::fs::read_to_string("/proc/self/status").ok();
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        ProcessStats {
            resident_memory_bytes: status.as_deref().and_then(resident_bytes),
            cpu_seconds: stat.as_deref().and_then(cpu_ticks).map(|t| t / CLOCK_TICKS),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .and_then(|d| i64::try_from(d.count()).ok()),
        }
    }
}

/// `VmRSS` of `/proc/self/status`, in bytes (in kB there, whatever the page size; `statm`
/// counts pages, whose size would take a system call to learn).
fn resident_bytes(status: &str) -> Option<i64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb: i64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kb * 1024)
}

/// utime + stime (fields 14 and 15) of `/proc/self/stat`, in clock ticks; counted after the
/// command name's closing parenthesis, since the name may hold spaces.
fn cpu_ticks(stat: &str) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_ascii_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_codes_are_read_in_every_serializer() {
        let m = wamp::Message::abort("wamp.error.x", "m");
        for s in [Serializer::Json, Serializer::Msgpack, Serializer::Cbor] {
            let b = wamp::encode(s, &m).unwrap();
            assert_eq!(message_code(s, &b), Some(3), "{s:?}");
        }
        assert_eq!(message_code(Serializer::Json, b" [ 70, 1]"), Some(70));
        assert_eq!(message_code(Serializer::Cbor, &[0x83, 0x18, 70]), Some(70));
        assert_eq!(message_code(Serializer::Msgpack, &[0x93, 70]), Some(70));
        assert_eq!(message_code(Serializer::Json, b"{}"), None);
    }

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
        let m = Metrics::new(["realm1"]);
        let r = m.realm("realm1").unwrap();
        r.joined("anonymous", "websocket");
        r.received(Serializer::Json, b"[16,1,{},\"t\"]");
        r.sent(Serializer::Json, b"[17,1,2]");
        r.sent(Serializer::Json, b"[99]");
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

    #[test]
    fn proc_files_are_parsed() {
        assert_eq!(
            resident_bytes("Name:\tx\nVmRSS:\t    25 kB\nX: 1\n"),
            Some(25 * 1024)
        );
        let stat = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1 0 100 200 300";
        assert_eq!(cpu_ticks(stat), Some(200.0));
        if std::path::Path::new("/proc/self/stat").exists() {
            let p = ProcessStats::read();
            assert!(p.resident_memory_bytes.unwrap() > 0);
            assert!(p.open_fds.unwrap() > 0);
            assert!(p.cpu_seconds.is_some());
        }
    }
}
