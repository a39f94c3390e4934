//! URI rules of the WAMP specification and the match policies of patterns.
//!
//! Loose URIs: components separated by `.`, non-empty, without whitespace, `.` or `#`.
//! Strict URIs: components of `[0-9a-z_]` only. Patterns (prefix and wildcard) may have empty
//! components: `com..topic` (wildcard) or `com.example.` (prefix).

use std::fmt;

/// How a subscription or registration URI matches a topic or procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MatchPolicy {
    /// The URI equals the topic.
    #[default]
    Exact,
    /// The topic starts with the URI (string prefix).
    Prefix,
    /// Components compare one by one; an empty component matches any.
    Wildcard,
}

impl MatchPolicy {
    /// The name used in `options.match`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchPolicy::Exact => "exact",
            MatchPolicy::Prefix => "prefix",
            MatchPolicy::Wildcard => "wildcard",
        }
    }

    /// Parses `exact`, `prefix` or `wildcard`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "exact" => Some(MatchPolicy::Exact),
            "prefix" => Some(MatchPolicy::Prefix),
            "wildcard" => Some(MatchPolicy::Wildcard),
            _ => None,
        }
    }

    /// Whether a URI registered or subscribed with this policy matches `uri`.
    pub fn matches(self, pattern: &str, uri: &str) -> bool {
        match self {
            MatchPolicy::Exact => pattern == uri,
            MatchPolicy::Prefix => uri.starts_with(pattern),
            MatchPolicy::Wildcard => wildcard_matches(pattern, uri),
        }
    }
}

impl fmt::Display for MatchPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which URI rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UriCheck {
    /// Any non-empty component without whitespace, `.` or `#`.
    #[default]
    Loose,
    /// Components of lower-case letters, digits and `_` only.
    Strict,
}

fn component_ok(c: &str, check: UriCheck) -> bool {
    match check {
        UriCheck::Loose => !c.bytes().any(|b| b == b'#' || b.is_ascii_whitespace()),
        UriCheck::Strict => c
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
    }
}

/// Whether `uri` is a valid concrete URI (a topic, procedure, error or realm).
pub fn is_valid(uri: &str, check: UriCheck) -> bool {
    !uri.is_empty()
        && uri
            .split('.')
            .all(|c| !c.is_empty() && component_ok(c, check))
}

/// Whether `uri` is a valid pattern for `policy` (empty components allowed for patterns).
pub fn is_valid_pattern(uri: &str, policy: MatchPolicy, check: UriCheck) -> bool {
    match policy {
        MatchPolicy::Exact => is_valid(uri, check),
        MatchPolicy::Prefix | MatchPolicy::Wildcard => {
            uri.split('.').all(|c| component_ok(c, check))
        }
    }
}

/// Whether wildcard `pattern` (empty components match anything) matches `uri`.
pub fn wildcard_matches(pattern: &str, uri: &str) -> bool {
    let mut p = pattern.split('.');
    let mut u = uri.split('.');
    loop {
        match (p.next(), u.next()) {
            (None, None) => return true,
            (Some(pc), Some(uc)) if pc.is_empty() || pc == uc => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_and_strict() {
        assert!(is_valid("com.example.topic", UriCheck::Loose));
        assert!(is_valid("com.Example-1.topic", UriCheck::Loose));
        assert!(!is_valid("com.Example-1.topic", UriCheck::Strict));
        assert!(is_valid("com.example_1.topic", UriCheck::Strict));
        for bad in [
            "",
            ".",
            "com..topic",
            "com.",
            ".com",
            "com.a b",
            "com.#",
            "a\tb",
        ] {
            assert!(!is_valid(bad, UriCheck::Loose), "{bad:?}");
        }
    }

    #[test]
    fn patterns() {
        assert!(is_valid_pattern(
            "com..topic",
            MatchPolicy::Wildcard,
            UriCheck::Strict
        ));
        assert!(is_valid_pattern(
            "wamp.session.",
            MatchPolicy::Prefix,
            UriCheck::Loose
        ));
        assert!(is_valid_pattern("", MatchPolicy::Prefix, UriCheck::Loose));
        assert!(!is_valid_pattern(
            "com..topic",
            MatchPolicy::Exact,
            UriCheck::Loose
        ));
        assert!(!is_valid_pattern(
            "com.a b.",
            MatchPolicy::Prefix,
            UriCheck::Loose
        ));
    }

    #[test]
    fn matching() {
        assert!(MatchPolicy::Prefix.matches("com.a", "com.a.b"));
        assert!(MatchPolicy::Prefix.matches("com.a", "com.ab"));
        assert!(!MatchPolicy::Prefix.matches("com.a.b", "com.a"));
        assert!(MatchPolicy::Wildcard.matches("com..c", "com.b.c"));
        assert!(!MatchPolicy::Wildcard.matches("com..c", "com.b.c.d"));
        assert!(!MatchPolicy::Wildcard.matches("com..c", "com.b.d"));
        assert!(MatchPolicy::Exact.matches("a.b", "a.b"));
        assert_eq!(MatchPolicy::parse("wildcard"), Some(MatchPolicy::Wildcard));
        assert_eq!(MatchPolicy::parse("glob"), None);
    }
}
