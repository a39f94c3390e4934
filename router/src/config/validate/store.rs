//! A realm's `store` block: Crossbar's memory event store, whose `event-history` entries say
//! which topics keep their last events for `wamp.subscription.get_events`.

use super::{Cx, Result};
use crate::config::HistoryConfig;
use crate::config::json_path::JsonPath;
use crate::config::raw::{Int, RawStore};
use wamp::MatchPolicy;

/// The most events one `event-history` entry may keep.
const MAX_LIMIT: i128 = 100_000;

impl Cx<'_> {
    /// The event-history entries of `raw` (at `sp`); none for a store type wampstat does not
    /// have (with a warning).
    pub(super) fn store(&mut self, raw: RawStore, sp: &JsonPath) -> Result<Vec<HistoryConfig>> {
        match raw.kind.as_str() {
            "memory" => {}
            "cfxdb" => {
                self.warn(
                    &sp.key("type"),
                    "store type \"cfxdb\" (Crossbar's persistent store) is not supported by \
                     wampstat: no event history is kept",
                );
                return Ok(Vec::new());
            }
            other => {
                return Err(self.err(
                    &sp.key("type"),
                    format!("unknown store type {other:?}; wampstat supports \"memory\""),
                ));
            }
        }
        let mut out: Vec<HistoryConfig> = Vec::new();
        for (i, h) in raw.event_history.into_iter().enumerate() {
            let hp = sp.key("event-history").index(i);
            let policy = match h.match_policy.as_deref() {
                None | Some("exact") => MatchPolicy::Exact,
                Some("prefix") => MatchPolicy::Prefix,
                Some("wildcard") => MatchPolicy::Wildcard,
                Some(other) => {
                    return Err(self.err(
                        &hp.key("match"),
                        format!(
                            "must be one of \"exact\", \"prefix\", \"wildcard\", got {other:?}"
                        ),
                    ));
                }
            };
            if !wamp::uri::is_valid_pattern(&h.uri, policy, wamp::uri::UriCheck::Loose) {
                let at = hp.key("uri");
                return Err(self.err(&at, format!("invalid URI {:?} for match {policy}", h.uri)));
            }
            let limit = match h.limit {
                None => 100,
                Some(Int(n)) if (1..=MAX_LIMIT).contains(&n) => n as usize,
                Some(Int(n)) => {
                    return Err(self.err(
                        &hp.key("limit"),
                        format!("must be an integer from 1 to {MAX_LIMIT}, got {n}"),
                    ));
                }
            };
            if out.iter().any(|o| o.uri == h.uri && o.policy == policy) {
                return Err(self.err(
                    &hp,
                    format!("a second entry for {:?} with match {policy}", h.uri),
                ));
            }
            out.push(HistoryConfig {
                uri: h.uri,
                policy,
                limit,
            });
        }
        Ok(out)
    }
}
