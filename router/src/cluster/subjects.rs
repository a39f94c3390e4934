//! The NATS subjects of the cluster, all under the block's `subject_prefix`.

/// The subject node `node` heartbeats on: `<prefix>.cluster.hb.<node>`.
pub fn heartbeat(prefix: &str, node: &str) -> String {
    format!("{prefix}.cluster.hb.{node}")
}

/// The subject every heartbeat matches: `<prefix>.cluster.hb.*`.
pub fn heartbeats(prefix: &str) -> String {
    format!("{prefix}.cluster.hb.*")
}

/// The node a heartbeat subject names (its last token), if `subject` is one.
pub fn heartbeat_node<'a>(prefix: &str, subject: &'a str) -> Option<&'a str> {
    subject
        .strip_prefix(prefix)?
        .strip_prefix(".cluster.hb.")
        .filter(|n| crate::config::is_safe_token(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_subjects() {
        assert_eq!(
            heartbeat("wampstat", "node-a"),
            "wampstat.cluster.hb.node-a"
        );
        assert_eq!(heartbeats("p.q"), "p.q.cluster.hb.*");
        assert_eq!(heartbeat_node("p.q", "p.q.cluster.hb.n1"), Some("n1"));
        assert_eq!(heartbeat_node("p", "p.cluster.hb.a.b"), None);
        assert_eq!(heartbeat_node("p", "x.cluster.hb.a"), None);
    }
}
