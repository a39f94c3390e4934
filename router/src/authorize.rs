//! The check every request on a URI passes before the broker or the dealer sees it: a valid
//! URI for its match policy, outside the router's `wamp.` namespace where the request would
//! create something there, and allowed by the session's role ([`check`]).
//!
//! Authorization is by the realm's static role permissions, as Crossbar does it: for a URI, the
//! permission that applies is the exact one if there is one, otherwise the longest matching
//! prefix, otherwise the first matching wildcard; its `allow` flags decide.

use wamp::MatchPolicy;

use crate::config::{Permission, RealmConfig, RoleConfig, UriCheck};
use crate::refusal::Refusal;

/// What a session wants to do with a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Call a procedure.
    Call,
    /// Register a procedure.
    Register,
    /// Publish to a topic.
    Publish,
    /// Subscribe to a topic.
    Subscribe,
}

impl Action {
    /// The action's name as in the config's `allow`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Call => "call",
            Action::Register => "register",
            Action::Publish => "publish",
            Action::Subscribe => "subscribe",
        }
    }
}

/// Whether `uri` is in the router's own namespace, where only the router publishes and
/// registers (and no lifecycle meta events are sent).
pub fn is_router_uri(uri: &str) -> bool {
    uri.starts_with("wamp.")
}

/// Checks a request of a session with `role` in `realm` to do `action` on `uri` (a pattern of
/// `policy`): the URI is at most `max_length` bytes, valid (strictly, under realm option
/// `uri_check: "strict"`), not in the router's `wamp.` namespace when publishing or
/// registering, and allowed. Returns the governing permission (its `disclose` flags apply next).
pub fn check<'a>(
    realm: &RealmConfig,
    role: &'a RoleConfig,
    (uri, policy): (&str, MatchPolicy),
    action: Action,
    max_length: usize,
) -> Result<&'a Permission, Refusal> {
    if uri.len() > max_length {
        return Err(Refusal::invalid_uri(format!(
            "the URI is {} bytes long, more than the {max_length} allowed",
            uri.len()
        )));
    }
    if realm.uri_check == UriCheck::Strict
        && !wamp::uri::is_valid_pattern(uri, policy, wamp::uri::UriCheck::Strict)
    {
        return Err(Refusal::invalid_uri(format!("{uri:?} is not a strict URI")));
    }
    if matches!(action, Action::Publish | Action::Register) && is_router_uri(uri) {
        return Err(Refusal::invalid_uri(format!(
            "{uri:?}: the wamp. namespace is the router's"
        )));
    }
    authorize(role, uri, action).ok_or_else(|| {
        Refusal::new(
            "wamp.error.not_authorized",
            format!(
                "role {:?} is not allowed to {} {uri:?}",
                role.name,
                action.name()
            ),
        )
    })
}

/// The permission of `role` that governs `uri`, if any.
pub fn permission_for<'a>(role: &'a RoleConfig, uri: &str) -> Option<&'a Permission> {
    let ps = &role.permissions;
    ps.iter()
        .find(|p| p.match_policy == MatchPolicy::Exact && p.uri == uri)
        .or_else(|| {
            ps.iter()
                .filter(|p| p.match_policy == MatchPolicy::Prefix && uri.starts_with(&p.uri))
                .max_by_key(|p| p.uri.len())
        })
        .or_else(|| {
            ps.iter().find(|p| {
                p.match_policy == MatchPolicy::Wildcard && wamp::uri::wildcard_matches(&p.uri, uri)
            })
        })
}

/// Whether `role` may do `action` on `uri`; returns the governing permission when allowed.
pub fn authorize<'a>(role: &'a RoleConfig, uri: &str, action: Action) -> Option<&'a Permission> {
    permission_for(role, uri).filter(|p| match action {
        Action::Call => p.allow.call,
        Action::Register => p.allow.register,
        Action::Publish => p.allow.publish,
        Action::Subscribe => p.allow.subscribe,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Allow, Disclose};

    fn perm(uri: &str, m: MatchPolicy, publish: bool) -> Permission {
        Permission {
            uri: uri.into(),
            match_policy: m,
            allow: Allow {
                publish,
                ..Allow::default()
            },
            disclose: Disclose::default(),
        }
    }

    #[test]
    fn exact_beats_longest_prefix_beats_wildcard() {
        let role = RoleConfig {
            name: "r".into(),
            permissions: vec![
                perm("", MatchPolicy::Prefix, true),
                perm("com.secret.", MatchPolicy::Prefix, false),
                perm("com.secret.open", MatchPolicy::Exact, true),
                perm("org..x", MatchPolicy::Wildcard, false),
            ],
        };
        assert!(authorize(&role, "com.public", Action::Publish).is_some());
        assert!(authorize(&role, "com.secret.x", Action::Publish).is_none());
        assert!(authorize(&role, "com.secret.open", Action::Publish).is_some());
        assert!(authorize(&role, "com.public", Action::Call).is_none());
        // A prefix "" matches everything, so it wins over the wildcard.
        assert!(authorize(&role, "org.a.x", Action::Publish).is_some());
        let only_wild = RoleConfig {
            name: "w".into(),
            permissions: vec![perm("org..x", MatchPolicy::Wildcard, true)],
        };
        assert!(authorize(&only_wild, "org.a.x", Action::Publish).is_some());
        assert!(authorize(&only_wild, "org.a.y", Action::Publish).is_none());
    }
}
