//! The heartbeat a node publishes every `heartbeat_ms` on `<prefix>.cluster.hb.<node>`: a small
//! JSON object, its identity and how it is doing.

use serde::{Deserialize, Serialize};

use crate::config::RealmConfig;

/// The version of the heartbeat's shape (`v`); a node ignores heartbeats of another one.
pub const HEARTBEAT_VERSION: u32 = 1;

/// The largest heartbeat read, in bytes; anything larger on the subject is ignored.
pub const MAX_HEARTBEAT_BYTES: usize = 4096;

/// One heartbeat, as JSON:
/// `{"v":1,"node":"node-a","incarnation":"5f0c…","started_ms":1764812345678,"sessions":3,
/// "config_hash":"9a3e…","version":"0.1.0","heartbeat_ms":1000,"leaving":false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The shape's version, [`HEARTBEAT_VERSION`].
    pub v: u32,
    /// The node's name (also the subject's last token).
    pub node: String,
    /// A random id of the node's process, new at each start: tells a restarted node (and two
    /// processes wrongly given one name) apart.
    pub incarnation: String,
    /// When the process started, in milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// Sessions joined to the node's realms now.
    pub sessions: u64,
    /// A hash of the node's realms and roles ([`config_hash`]); nodes warn when theirs differ.
    pub config_hash: String,
    /// The node's wampstat version.
    pub version: String,
    /// The node's heartbeat interval in milliseconds.
    pub heartbeat_ms: u64,
    /// True in the last heartbeat of a node that shuts down: the others see it leave at once.
    #[serde(default)]
    pub leaving: bool,
    /// The realms in which a session of the node subscribes to `wamp.session.on_stats`: the
    /// other nodes seal their `on_stats` (the meta event of greatest volume) for it only then.
    #[serde(default)]
    pub stats_realms: Vec<String>,
}

/// Why a message on the heartbeat subject was not a heartbeat.
#[derive(Debug, thiserror::Error)]
pub enum BadHeartbeat {
    /// Larger than [`MAX_HEARTBEAT_BYTES`].
    #[error("{0} bytes, more than a heartbeat's {MAX_HEARTBEAT_BYTES}")]
    TooLarge(usize),
    /// Not the JSON shape.
    #[error("not a heartbeat: {0}")]
    Shape(#[from] serde_json::Error),
    /// Another version of the shape.
    #[error("heartbeat version {0}, this node reads version {HEARTBEAT_VERSION}")]
    Version(u32),
    /// The node named in the body is not the subject's.
    #[error("the body names node {body:?}, the subject {subject:?}")]
    Subject {
        /// The body's node.
        body: String,
        /// The subject's last token.
        subject: String,
    },
}

impl Heartbeat {
    /// The JSON body.
    pub fn encode(&self) -> Vec<u8> {
        // A struct of strings and integers always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads the heartbeat received on a subject whose last token is `subject_node`.
    ///
    /// # Errors
    /// [`BadHeartbeat`] when it is too large, not the shape, of another version, or names
    /// another node than its subject.
    pub fn decode(body: &[u8], subject_node: &str) -> Result<Heartbeat, BadHeartbeat> {
        if body.len() > MAX_HEARTBEAT_BYTES {
            return Err(BadHeartbeat::TooLarge(body.len()));
        }
        let hb: Heartbeat = serde_json::from_slice(body)?;
        if hb.v != HEARTBEAT_VERSION {
            return Err(BadHeartbeat::Version(hb.v));
        }
        if hb.node != subject_node {
            return Err(BadHeartbeat::Subject {
                body: hb.node,
                subject: subject_node.to_owned(),
            });
        }
        Ok(hb)
    }
}

/// A new incarnation id: 64 random bits in hex.
pub fn new_incarnation() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// A hash of what every node of a cluster must agree on: the realms, their roles and static
/// permissions (FNV-1a 64 of a canonical rendering, in hex). It only tells configurations apart;
/// it is no checksum against tampering.
pub fn config_hash(realms: &[RealmConfig]) -> String {
    let mut realms: Vec<&RealmConfig> = realms.iter().collect();
    realms.sort_by(|a, b| a.name.cmp(&b.name));
    let mut text = String::new();
    for r in realms {
        text.push_str(&format!("realm {:?}\n", r.name));
        let mut roles: Vec<_> = r.roles.iter().collect();
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        for role in roles {
            text.push_str(&format!(" role {:?}\n", role.name));
            for p in &role.permissions {
                let a = p.allow;
                let d = p.disclose;
                text.push_str(&format!(
                    "  {:?} {} call={} register={} publish={} subscribe={} caller={} publisher={}\n",
                    p.uri,
                    p.match_policy.as_str(),
                    a.call,
                    a.register,
                    a.publish,
                    a.subscribe,
                    d.caller,
                    d.publisher
                ));
            }
        }
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb() -> Heartbeat {
        Heartbeat {
            v: HEARTBEAT_VERSION,
            node: "node-a".to_owned(),
            incarnation: "00000000000000ab".to_owned(),
            started_ms: 1,
            sessions: 2,
            config_hash: "h".to_owned(),
            version: "0.1.0".to_owned(),
            heartbeat_ms: 1000,
            leaving: false,
            stats_realms: Vec::new(),
        }
    }

    #[test]
    fn a_heartbeat_round_trips_and_is_checked_against_its_subject() {
        let body = hb().encode();
        assert_eq!(Heartbeat::decode(&body, "node-a").expect("decodes"), hb());
        let text = String::from_utf8(body.clone()).expect("utf-8");
        assert!(
            text.starts_with(r#"{"v":1,"node":"node-a","incarnation":"#),
            "{text}"
        );
        assert!(matches!(
            Heartbeat::decode(&body, "node-b"),
            Err(BadHeartbeat::Subject { .. })
        ));
        assert!(matches!(
            Heartbeat::decode(b"{}", "node-a"),
            Err(BadHeartbeat::Shape(_))
        ));
        let big = vec![b' '; MAX_HEARTBEAT_BYTES + 1];
        assert!(matches!(
            Heartbeat::decode(&big, "node-a"),
            Err(BadHeartbeat::TooLarge(_))
        ));
        let mut other = hb();
        other.v = 2;
        assert!(matches!(
            Heartbeat::decode(&other.encode(), "node-a"),
            Err(BadHeartbeat::Version(2))
        ));
    }

    #[test]
    fn the_config_hash_follows_realms_and_roles_not_their_order() {
        let loaded = crate::config::Config::embedded_default();
        let realms = loaded.config.realms;
        let h = config_hash(&realms);
        assert_eq!(h.len(), 16);
        let mut reordered = realms.clone();
        reordered[0].roles.reverse();
        assert_eq!(config_hash(&reordered), h);
        let mut changed = realms.clone();
        changed[0].roles[0].permissions[0].allow.call = false;
        assert_ne!(config_hash(&changed), h);
        assert_ne!(new_incarnation(), new_incarnation());
    }
}
