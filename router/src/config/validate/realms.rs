//! Realms, their roles and the roles' static permissions.

use super::{Cx, Result};
use crate::config::json_path::JsonPath;
use crate::config::raw::{Int, RawPermission, RawRealm, RawRole};
use crate::config::{
    Allow, DEFAULT_MAX_METRIC_URIS, Disclose, MatchPolicy, Permission, RealmConfig, RoleConfig,
    SlowConsumerPolicy, UriCheck,
};

/// The largest `max_sessions` / `max_sessions_per_authid` (a realm's session ids are 53-bit,
/// but a million sessions is already more than one router serves).
const MAX_SESSION_LIMIT: i128 = 1 << 32;

/// The largest `max_metric_uris`: each URI is a series per metric, and a Prometheus server
/// suffers long before this.
const MAX_METRIC_URIS: i128 = 10_000;

impl Cx<'_> {
    /// The realm `raw`, found at `rp`.
    pub(super) fn realm(&mut self, raw: RawRealm, rp: &JsonPath) -> Result<RealmConfig> {
        check_realm_name(&raw.name).map_err(|m| self.err(&rp.key("name"), m))?;

        let mut roles: Vec<RoleConfig> = Vec::new();
        for (k, role) in raw.roles.into_iter().enumerate() {
            let op = rp.key("roles").index(k);
            let role = self.role(role, &op)?;
            if let Some(first) = roles.iter().position(|r| r.name == role.name) {
                return Err(self.err(
                    &op.key("name"),
                    format!(
                        "duplicate role name {:?} in realm {:?} (first at {})",
                        role.name,
                        raw.name,
                        rp.key("roles").index(first)
                    ),
                ));
            }
            roles.push(role);
        }

        let stats = match raw.stats {
            Some(stats) => Some(self.stats(stats, &rp.key("stats"))?),
            None => None,
        };

        let options = rp.key("options");
        let uri_check = match raw.options.uri_check.as_deref() {
            None | Some("loose") => UriCheck::Loose,
            Some("strict") => UriCheck::Strict,
            Some(other) => {
                return Err(self.err(
                    &options.key("uri_check"),
                    format!("must be \"strict\" or \"loose\", got {other:?}"),
                ));
            }
        };

        let max_sessions =
            self.session_limit(raw.options.max_sessions, &options, "max_sessions")?;
        let max_sessions_per_authid = self.session_limit(
            raw.options.max_sessions_per_authid,
            &options,
            "max_sessions_per_authid",
        )?;

        let slow_consumer = match raw.options.slow_consumer.as_deref() {
            None | Some("close") => SlowConsumerPolicy::Close,
            Some("drop") => SlowConsumerPolicy::Drop,
            Some(other) => {
                return Err(self.err(
                    &options.key("slow_consumer"),
                    format!("must be \"close\" or \"drop\", got {other:?}"),
                ));
            }
        };

        let max_metric_uris = match raw.options.max_metric_uris {
            None => DEFAULT_MAX_METRIC_URIS,
            Some(Int(n)) if (0..=MAX_METRIC_URIS).contains(&n) => n as usize,
            Some(Int(n)) => {
                return Err(self.err(
                    &options.key("max_metric_uris"),
                    format!("must be an integer from 0 to {MAX_METRIC_URIS}, got {n}"),
                ));
            }
        };

        let event_history = match raw.store {
            Some(store) => self.store(store, &rp.key("store"))?,
            None => Vec::new(),
        };
        Ok(RealmConfig {
            name: raw.name,
            roles,
            stats,
            uri_check,
            enable_meta_api: raw.options.enable_meta_api.unwrap_or(true),
            event_history,
            max_sessions,
            max_sessions_per_authid,
            slow_consumer,
            max_metric_uris,
        })
    }

    /// **[ours]** A realm's `options.<key>` session limit: absent = none, else 1 to
    /// [`MAX_SESSION_LIMIT`].
    fn session_limit(
        &self,
        v: Option<Int>,
        options: &JsonPath,
        key: &str,
    ) -> Result<Option<usize>> {
        match v {
            None => Ok(None),
            Some(Int(n)) if (1..=MAX_SESSION_LIMIT).contains(&n) => Ok(Some(n as usize)),
            Some(Int(n)) => Err(self.err(
                &options.key(key),
                format!("must be an integer from 1 to {MAX_SESSION_LIMIT}, got {n}"),
            )),
        }
    }

    /// The role `raw`, found at `op`.
    fn role(&mut self, raw: RawRole, op: &JsonPath) -> Result<RoleConfig> {
        if raw.name.is_empty() {
            return Err(self.err(&op.key("name"), "must not be empty"));
        }
        if raw.authorizer.is_some() {
            if raw.permissions.is_some() {
                return Err(self.err(
                    op,
                    "a role has either \"authorizer\" or \"permissions\", not both",
                ));
            }
            let message = format!(
                "dynamic authorizers are not supported by wampstat, ignored: role {:?} has no \
                 permissions",
                raw.name
            );
            self.warn(&op.key("authorizer"), message);
        }
        let mut permissions = Vec::new();
        for (n, p) in raw.permissions.unwrap_or_default().into_iter().enumerate() {
            permissions.push(self.permission(p, &op.key("permissions").index(n))?);
        }
        Ok(RoleConfig {
            name: raw.name,
            permissions,
        })
    }

    /// The permission `raw`, found at `pp`.
    fn permission(&self, raw: RawPermission, pp: &JsonPath) -> Result<Permission> {
        if raw.uri.chars().any(|c| c.is_whitespace() || c == '#') {
            return Err(self.err(
                &pp.key("uri"),
                format!(
                    "invalid URI {:?}: must not contain whitespace or \"#\"",
                    raw.uri
                ),
            ));
        }
        let (uri, match_policy) = match raw.match_policy.as_deref() {
            Some("exact") => (raw.uri, MatchPolicy::Exact),
            Some("prefix") => (raw.uri, MatchPolicy::Prefix),
            Some("wildcard") => (raw.uri, MatchPolicy::Wildcard),
            Some(other) => {
                return Err(self.err(
                    &pp.key("match"),
                    format!("must be one of \"exact\", \"prefix\", \"wildcard\", got {other:?}"),
                ));
            }
            None => starred_uri(raw.uri),
        };
        Ok(Permission {
            uri,
            match_policy,
            allow: Allow {
                call: raw.allow.call,
                register: raw.allow.register,
                publish: raw.allow.publish,
                subscribe: raw.allow.subscribe,
            },
            disclose: Disclose {
                caller: raw.disclose.caller,
                publisher: raw.disclose.publisher,
            },
        })
    }
}

/// Crossbar's realm name rule (`_URI_PAT_REALM_NAME`): a letter, then 2 to 254 letters, digits,
/// `_`, `-`, `@` or `.`.
fn check_realm_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_-@.".contains(c));
    let len_ok = (3..=255).contains(&name.len());
    if first_ok && rest_ok && len_ok {
        Ok(())
    } else {
        Err(format!(
            "invalid realm name {name:?}: must start with a letter, be 3 to 255 characters long \
             and contain only letters, digits, \"_\", \"-\", \"@\" and \".\""
        ))
    }
}

/// Crossbar's "starred URI" convention, used when a permission has no `match`: no `*` = exact,
/// one trailing `*` = prefix (star removed), any other stars = wildcard (stars removed).
fn starred_uri(uri: String) -> (String, MatchPolicy) {
    let stars = uri.matches('*').count();
    if stars == 0 {
        (uri, MatchPolicy::Exact)
    } else if stars == 1 && uri.ends_with('*') {
        let mut uri = uri;
        uri.pop();
        (uri, MatchPolicy::Prefix)
    } else {
        (uri.replace('*', ""), MatchPolicy::Wildcard)
    }
}
