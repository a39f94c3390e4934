//! The top level of the file: `version`, the workers, and the checks that need all realms and
//! transports.

use serde_json::Value;

use super::transports::Pending;
use super::{Cx, Result};
use crate::config::json_path::JsonPath;
use crate::config::raw::{Int, RawRoot, RawRouterWorker};
use crate::config::{Config, RealmConfig};

impl Cx<'_> {
    /// The whole configuration from the document's top level `root`.
    pub(super) fn config(&mut self, root: &Value) -> Result<Config> {
        let top = JsonPath::default();
        let raw: RawRoot = self.typed(root, &top)?;
        match raw.version {
            Some(Int(2)) => {}
            Some(Int(v)) => {
                return Err(self.err(
                    &top.key("version"),
                    format!("must be 2 (Crossbar configuration version 2), got {v}"),
                ));
            }
            None => {
                return Err(self.err(
                    &top.key("version"),
                    "missing: add \"version\": 2 (Crossbar reads a file without it as version 1, \
                     which it rejects as too old)",
                ));
            }
        }

        let workers = top.key("workers");
        let mut realms: Vec<(JsonPath, RealmConfig)> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut routers: Vec<JsonPath> = Vec::new();
        let mut skipped_transports = 0;
        for (i, worker) in raw.workers.iter().enumerate() {
            let wp = workers.index(i);
            match self.type_of(worker, &wp)? {
                "router" => {
                    if let Some(first) = routers.first() {
                        let message = format!(
                            "a second router worker: wampstat runs all router workers as one \
                             router (first: {first}), so its realms are reachable through every \
                             transport"
                        );
                        self.warn(&wp, message);
                    }
                    routers.push(wp.clone());
                    skipped_transports +=
                        self.router_worker(worker, &wp, &mut realms, &mut pending)?;
                }
                // Open-ended in Crossbar (each node personality adds worker types).
                t => {
                    let message =
                        format!("worker type {t:?} is not supported by wampstat, ignored");
                    self.warn(&wp, message);
                }
            }
        }

        let Some(first_router) = routers.first() else {
            return Err(self.err(
                &workers,
                "no router worker: wampstat needs a worker with \"type\": \"router\"",
            ));
        };
        if realms.is_empty() {
            return Err(self.err(
                &first_router.key("realms"),
                "no realms: the router needs at least one realm",
            ));
        }
        if pending.is_empty() {
            let mut message = "no transports: the router needs at least one \"web\" (with a \
                               \"websocket\" path), \"websocket\" or \"rawsocket\" transport"
                .to_owned();
            if skipped_transports > 0 {
                message =
                    format!("{message} ({skipped_transports} unsupported one(s) were ignored)");
            }
            return Err(self.err(&first_router.key("transports"), message));
        }

        self.check_anonymous_roles(&realms, &pending)?;
        self.check_addresses(&pending)?;
        let cluster = match &raw.cluster {
            Some(block) => Some(self.cluster(block, &top.key("cluster"))?),
            None => None,
        };

        Ok(Config {
            realms: realms.into_iter().map(|(_, r)| r).collect(),
            transports: pending.into_iter().map(|p| p.transport).collect(),
            metrics: std::mem::take(&mut self.metrics),
            cluster,
        })
    }

    /// Adds the realms and transports of one router worker; returns how many transports were
    /// ignored as unsupported.
    fn router_worker(
        &mut self,
        worker: &Value,
        wp: &JsonPath,
        realms: &mut Vec<(JsonPath, RealmConfig)>,
        pending: &mut Vec<Pending>,
    ) -> Result<usize> {
        let raw: RawRouterWorker = self.typed(worker, wp)?;
        for (j, realm) in raw.realms.into_iter().enumerate() {
            let rp = wp.key("realms").index(j);
            let realm = self.realm(realm, &rp)?;
            if let Some((first, _)) = realms.iter().find(|(_, r)| r.name == realm.name) {
                let hint = if first.starts_with(wp) {
                    ""
                } else {
                    "; wampstat runs all router workers as one router, so realm names must be \
                     unique across them"
                };
                return Err(self.err(
                    &rp.key("name"),
                    format!(
                        "duplicate realm name {:?} (first at {first}){hint}",
                        realm.name
                    ),
                ));
            }
            realms.push((rp, realm));
        }
        let mut skipped = 0;
        for (j, transport) in raw.transports.iter().enumerate() {
            let tp = wp.key("transports").index(j);
            let before = pending.len();
            self.transport(transport, &tp, pending)?;
            if pending.len() == before {
                skipped += 1;
            }
        }
        Ok(skipped)
    }
}
