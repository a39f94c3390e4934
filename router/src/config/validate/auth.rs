//! Authentication: a transport's `auth` block, and whether its anonymous role exists.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::transports::Pending;
use super::{Cx, Result};
use crate::config::RealmConfig;
use crate::config::json_path::JsonPath;
use crate::config::raw::RawAnonymousStatic;
use crate::config::wording::quoted_list;

/// Authentication methods Crossbar knows besides `anonymous`; ignored with a warning.
const OTHER_CROSSBAR_AUTHMETHODS: &[&str] = &[
    "ticket",
    "wampcra",
    "tls",
    "cookie",
    "cryptosign",
    "scram",
    "cryptosign-proxy",
    "anonymous-proxy",
];

/// Where a transport's anonymous role came from.
pub(super) enum Anonymous {
    /// No `auth` block: role `anonymous`, like Crossbar.
    Implicit,
    /// `auth.anonymous.role` (or its default), at this path.
    Explicit(String, JsonPath),
    /// An `auth` block without static anonymous authentication.
    Disabled,
}

impl Cx<'_> {
    /// Where the anonymous role of a transport with the `auth` block `raw` (at `ap`) comes from.
    pub(super) fn auth(
        &mut self,
        raw: Option<Map<String, Value>>,
        ap: &JsonPath,
    ) -> Result<Anonymous> {
        let Some(methods) = raw.filter(|m| !m.is_empty()) else {
            // Crossbar: "if authentication is _not_ configured, allow anyone to join as anonymous"
            return Ok(Anonymous::Implicit);
        };
        let mut anonymous = Anonymous::Disabled;
        for (method, config) in &methods {
            let mp = ap.key(method);
            match method.as_str() {
                "anonymous" => {
                    match self.type_of(config, &mp)? {
                        "static" => {
                            let raw: RawAnonymousStatic = self.typed(config, &mp)?;
                            let (role, at) = match raw.role {
                                Some(role) => (role, mp.key("role")),
                                None => ("anonymous".to_owned(), mp.clone()),
                            };
                            if role.is_empty() {
                                return Err(self.err(&at, "must not be empty"));
                            }
                            anonymous = Anonymous::Explicit(role, at);
                        }
                        t @ ("dynamic" | "function") => {
                            let message = format!(
                                "anonymous authentication of type {t:?} is not supported by \
                             wampstat (only \"static\"), ignored"
                            );
                            self.warn(&mp.key("type"), message);
                        }
                        t => {
                            return Err(self.err(
                            &mp.key("type"),
                            format!("must be \"static\" (the only type wampstat supports), got {t:?}"),
                        ));
                        }
                    }
                }
                m if OTHER_CROSSBAR_AUTHMETHODS.contains(&m) => {
                    let message = format!(
                        "authentication method {m:?} is not supported by wampstat (only static \
                         \"anonymous\"), ignored"
                    );
                    self.warn(&mp, message);
                }
                m => {
                    return Err(self.err(
                        &mp,
                        format!(
                            "unknown authentication method {m:?}; wampstat supports \"anonymous\" \
                             (and ignores Crossbar's {})",
                            quoted_list(OTHER_CROSSBAR_AUTHMETHODS)
                        ),
                    ));
                }
            }
        }
        if matches!(anonymous, Anonymous::Disabled) {
            self.warn(
                ap,
                "no supported authentication method: wampstat only supports static anonymous \
                 authentication, so no client can join through this transport",
            );
        }
        Ok(anonymous)
    }

    /// A transport's anonymous role must exist in some realm: an explicitly configured one is an
    /// error (nobody could ever use that transport), the implicit `anonymous` a warning.
    pub(super) fn check_anonymous_roles(
        &mut self,
        realms: &[(JsonPath, RealmConfig)],
        pending: &[Pending],
    ) -> Result<()> {
        let defined: HashSet<&str> = realms
            .iter()
            .flat_map(|(_, r)| r.roles.iter().map(|role| role.name.as_str()))
            .collect();
        for p in pending {
            match &p.anonymous {
                Anonymous::Explicit(role, at) if !defined.contains(role.as_str()) => {
                    let mut names: Vec<&str> = defined.iter().copied().collect();
                    names.sort_unstable();
                    return Err(self.err(
                        at,
                        format!(
                            "anonymous role {role:?} is not defined in any realm (defined roles: {})",
                            if names.is_empty() {
                                "none".to_owned()
                            } else {
                                quoted_list(&names)
                            }
                        ),
                    ));
                }
                Anonymous::Implicit if !defined.contains("anonymous") => {
                    self.warn(
                        &p.path,
                        "no \"auth\" block, so clients join as role \"anonymous\" (like Crossbar), \
                         but no realm defines that role",
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }
}
