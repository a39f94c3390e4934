//! A realm's `stats` block (session statistics).

use super::{Cx, Result};
use crate::config::StatsConfig;
use crate::config::json_path::JsonPath;
use crate::config::raw::{Int, RawStats};

impl Cx<'_> {
    /// The `stats` block `raw`, found at `sp`: Crossbar's defaults for absent keys.
    pub(super) fn stats(&self, raw: RawStats, sp: &JsonPath) -> Result<StatsConfig> {
        let defaults = StatsConfig::default();
        let rated_message_size = match raw.rated_message_size {
            None => defaults.rated_message_size,
            Some(Int(v)) => {
                let at = sp.key("rated_message_size");
                if v <= 0 || v % 2 != 0 {
                    return Err(self.err(&at, format!("must be an even number > 0, got {v}")));
                }
                u32::try_from(v).map_err(|_| {
                    self.err(&at, format!("must be at most {}, got {v}", u32::MAX - 1))
                })?
            }
        };
        let count = |value: Option<Int>, key: &str| -> Result<u64> {
            match value {
                None => Ok(0),
                Some(Int(v)) => u64::try_from(v).map_err(|_| {
                    let message = if v < 0 {
                        format!("must be >= 0, got {v}")
                    } else {
                        format!("must be at most {}, got {v}", u64::MAX)
                    };
                    self.err(&sp.key(key), message)
                }),
            }
        };
        let trigger_after_rated_messages = count(
            raw.trigger_after_rated_messages,
            "trigger_after_rated_messages",
        )?;
        let trigger_after_duration_ns =
            count(raw.trigger_after_duration, "trigger_after_duration")?;
        if trigger_after_rated_messages == 0 && trigger_after_duration_ns == 0 {
            return Err(self.err(
                sp,
                "at least one of trigger_after_rated_messages and trigger_after_duration \
                 (nanoseconds) must be > 0",
            ));
        }
        Ok(StatsConfig {
            rated_message_size,
            trigger_after_rated_messages,
            trigger_after_duration_ns,
            trigger_on_join: raw.trigger_on_join.unwrap_or(defaults.trigger_on_join),
            trigger_on_leave: raw.trigger_on_leave.unwrap_or(defaults.trigger_on_leave),
        })
    }
}
