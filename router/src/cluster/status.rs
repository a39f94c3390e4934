//! The cluster's status for people and programs: the table `wamp-router --cluster-status`
//! prints, the dicts `wampstat.cluster.status` returns, and the probe behind the former (listen
//! to heartbeats for a while, as an observer that is no node).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use wamp::{Dict, Value, dict};

use super::connection::{self, ClusterError, Mode};
use super::heartbeat::Heartbeat;
use super::nodes::{NodeStatus, NodeTable};
use super::subjects;
use crate::config::ClusterConfig;

impl NodeStatus {
    /// The row as `wampstat.cluster.status` returns it: `{node, incarnation, sessions,
    /// last_heartbeat_ms, config_hash, version, started_ms, state, self}`.
    pub fn to_dict(&self) -> Dict {
        dict! {
            "node" => self.node.as_str(),
            "incarnation" => self.incarnation.as_str(),
            "sessions" => self.sessions,
            "last_heartbeat_ms" => u64::try_from(self.last_heartbeat.as_millis()).unwrap_or(u64::MAX),
            "config_hash" => self.config_hash.as_str(),
            "version" => self.version.as_str(),
            "started_ms" => self.started_ms,
            "state" => self.state.as_str(),
            "self" => self.is_self,
        }
    }
}

/// `rows` as a table for a terminal: a header line, then one line per node, columns
/// `NODE INCARNATION SESSIONS LAST_HB_MS CONFIG_HASH VERSION STATE`.
pub fn render_table(rows: &[NodeStatus]) -> String {
    let header = [
        "NODE",
        "INCARNATION",
        "SESSIONS",
        "LAST_HB_MS",
        "CONFIG_HASH",
        "VERSION",
        "STATE",
    ];
    let mut lines: Vec<[String; 7]> = vec![header.map(str::to_owned)];
    for r in rows {
        lines.push([
            r.node.clone(),
            r.incarnation.clone(),
            r.sessions.to_string(),
            r.last_heartbeat.as_millis().to_string(),
            r.config_hash.clone(),
            r.version.clone(),
            r.state.as_str().to_owned(),
        ]);
    }
    let mut widths = [0usize; 7];
    for l in &lines {
        for (w, cell) in widths.iter_mut().zip(l) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Listens to the cluster of `cfg` for `listen` as an observer (client name
/// `wampstat-status-<node>`) and returns every node heard, by name.
///
/// # Errors
/// [`ClusterError`] when NATS cannot be reached within [`connection::CONNECT_TIMEOUT`] or the
/// subscription fails.
pub async fn probe(cfg: &ClusterConfig, listen: Duration) -> Result<Vec<NodeStatus>, ClusterError> {
    let name = format!("wampstat-status-{}", cfg.node);
    let options = connection::options(
        cfg,
        name,
        Mode::Probe,
        Arc::new(connection::Link::default()),
    )
    .await?;
    let client = connection::connect(cfg, options, connection::CONNECT_TIMEOUT).await?;
    let subject = subjects::heartbeats(&cfg.subject_prefix);
    let mut sub = client
        .subscribe(subject.clone())
        .await
        .map_err(|error| ClusterError::Subscribe { subject, error })?;
    let mut table = NodeTable::new(None, cfg.node_timeout);
    let end = tokio::time::Instant::now() + listen;
    while let Ok(Some(msg)) = tokio::time::timeout_at(end, sub.next()).await {
        let Some(node) = subjects::heartbeat_node(&cfg.subject_prefix, &msg.subject) else {
            continue;
        };
        if let Ok(hb) = Heartbeat::decode(&msg.payload, node) {
            table.observe(hb, Instant::now());
        }
    }
    let now = Instant::now();
    table.sweep(now);
    Ok(table.rows(now))
}

/// A dict for a list value.
pub(crate) fn rows_value(rows: &[NodeStatus]) -> Value {
    Value::List(rows.iter().map(|r| Value::Dict(r.to_dict())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::nodes::NodeState;

    #[test]
    fn the_table_has_a_header_and_aligned_columns() {
        let row = NodeStatus {
            node: "node-a".to_owned(),
            incarnation: "00000000000000ab".to_owned(),
            sessions: 3,
            last_heartbeat: Duration::from_millis(250),
            config_hash: "1234567890abcdef".to_owned(),
            version: "0.1.0".to_owned(),
            started_ms: 1,
            state: NodeState::Alive,
            is_self: false,
        };
        let text = render_table(std::slice::from_ref(&row));
        assert_eq!(
            text,
            "NODE    INCARNATION       SESSIONS  LAST_HB_MS  CONFIG_HASH       VERSION  STATE\n\
             node-a  00000000000000ab  3         250         1234567890abcdef  0.1.0    alive\n"
        );
        let d = row.to_dict();
        assert_eq!(d.get("sessions").and_then(Value::as_u64), Some(3));
        assert_eq!(d.get("state").and_then(Value::as_str), Some("alive"));
    }
}
