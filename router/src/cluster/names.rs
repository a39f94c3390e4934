//! The NATS subjects of WAMP names, `<prefix>.<realm>.<kind>.<c1>.<c2>…` (`subjects` has
//! those of the cluster itself): one NATS token per URI component (and one for the whole
//! realm), so that NATS's own wildcards do the matching of exact and wildcard subscriptions and
//! most of a prefix one's.
//!
//! A token keeps ASCII letters, digits, `_` and `-`; every other byte (of the UTF-8) is written
//! `%XX`, `%` included. So no token is empty, none holds `.`, whitespace or a control
//! character, and none is NATS's `*` or `>`; and the encoding is one to one (it can be read
//! back, and two URIs never share a subject).

use std::fmt::Write;

use wamp::MatchPolicy;

/// Appends `text`, escaped, as (part of) one NATS token.
fn push_token(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// `text` as one NATS token (a realm: its dots escaped too).
pub fn token(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_token(&mut out, text);
    out
}

/// Reads a token back ([`token`]'s inverse); `None` if it is not one [`token`] writes.
pub fn untoken(token: &str) -> Option<String> {
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = token.get(i + 1..i + 3)?;
                let b = u8::from_str_radix(hex, 16).ok()?;
                if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || hex != hex.to_uppercase()
                {
                    return None;
                }
                out.push(b);
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// The subject of concrete URI `uri` (a topic, a procedure) under `base`
/// (`<prefix>.<realm token>.<kind>`, see [`base`]). `uri` must be a valid URI: no component
/// is empty.
pub fn of_uri(base: &str, uri: &str) -> String {
    let mut out = String::with_capacity(base.len() + 1 + uri.len() + uri.len() / 4);
    out.push_str(base);
    for component in uri.split('.') {
        out.push('.');
        push_token(&mut out, component);
    }
    out
}

/// `<prefix>.<realm token>.<kind>`: where the subjects of one kind of a realm start.
pub fn base(prefix: &str, realm: &str, kind: &str) -> String {
    format!("{prefix}.{}.{kind}", token(realm))
}

/// The NATS subscription subject that receives at least every subject [`of_uri`] gives for a
/// URI that `pattern` matches under `policy`, and whether that is exactly those (otherwise the
/// receiver must still check `policy.matches`).
///
/// Exact `a.b` is `base.a.b`; wildcard `a..c` is `base.a.*.c` (exact); prefix `a.b`, a string
/// prefix in WAMP (it also matches `a.bc`), is `base.a.>` and a check; prefix `a.b.` is
/// `base.a.b.>` (exact); the prefix `""` is `base.>` (exact).
pub fn of_pattern(base: &str, pattern: &str, policy: MatchPolicy) -> (String, bool) {
    let mut out = String::with_capacity(base.len() + pattern.len() + 4);
    out.push_str(base);
    match policy {
        MatchPolicy::Exact | MatchPolicy::Wildcard => {
            for component in pattern.split('.') {
                out.push('.');
                if component.is_empty() {
                    out.push('*');
                } else {
                    push_token(&mut out, component);
                }
            }
            (out, true)
        }
        MatchPolicy::Prefix => {
            // Every component before the last is whole; the last may be cut short (or empty,
            // when the prefix ends with a dot, or is "").
            let mut components: Vec<&str> = pattern.split('.').collect();
            let last = components.pop().unwrap_or("");
            for component in components {
                out.push('.');
                push_token(&mut out, component);
            }
            out.push_str(".>");
            // `base.a.b.>` matches exactly the URIs starting with `a.b.`; with a partial last
            // component, a check is needed. The empty prefix matches every URI, as `>` does.
            (out, last.is_empty())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// NATS's matching of a subscription subject against a published one, written out.
    fn nats_matches(subscription: &str, subject: &str) -> bool {
        let s: Vec<&str> = subscription.split('.').collect();
        let t: Vec<&str> = subject.split('.').collect();
        for (i, token) in s.iter().enumerate() {
            match *token {
                ">" => return t.len() > i,
                "*" if i < t.len() => {}
                _ if i < t.len() && t[i] == *token => {}
                _ => return false,
            }
        }
        s.len() == t.len()
    }

    #[test]
    fn subjects_look_like_this() {
        let b = base("wampstat", "realm1", "ev");
        assert_eq!(b, "wampstat.realm1.ev");
        assert_eq!(base("w", "com.example", "ev"), "w.com%2Eexample.ev");
        assert_eq!(
            of_uri(&b, "com.myapp.topic"),
            "wampstat.realm1.ev.com.myapp.topic"
        );
        assert_eq!(
            of_uri(&b, "a.*.>.%.é"),
            "wampstat.realm1.ev.a.%2A.%3E.%25.%C3%A9"
        );
        assert_eq!(of_uri(&b, "a\tb.c d"), "wampstat.realm1.ev.a%09b.c%20d");
        let p = |pattern, policy| of_pattern("B", pattern, policy);
        assert_eq!(p("a.b", MatchPolicy::Exact), ("B.a.b".into(), true));
        assert_eq!(p("a..c", MatchPolicy::Wildcard), ("B.a.*.c".into(), true));
        assert_eq!(p("a.b", MatchPolicy::Prefix), ("B.a.>".into(), false));
        assert_eq!(p("a.b.", MatchPolicy::Prefix), ("B.a.b.>".into(), true));
        assert_eq!(p("a", MatchPolicy::Prefix), ("B.>".into(), false));
        assert_eq!(p("", MatchPolicy::Prefix), ("B.>".into(), true));
    }

    #[test]
    fn untoken_refuses_what_token_never_writes() {
        for bad in ["a.b", "%2", "%zz", "%41", "%2a", "a b", "*", ">", "%C3"] {
            assert_eq!(untoken(bad), None, "{bad}");
        }
        assert_eq!(untoken("%2A%3E").as_deref(), Some("*>"));
    }

    /// A URI component: mostly plain, sometimes anything but `.` (what loose URIs allow, and
    /// more: NATS-sensitive and multi-byte characters).
    fn component() -> impl Strategy<Value = String> {
        prop_oneof!["[a-c]{1,2}", "[a-c*>%$ \\t\u{e9}\u{1F600}_-]{1,3}",]
    }

    fn uri() -> impl Strategy<Value = String> {
        proptest::collection::vec(component(), 1..4).prop_map(|c| c.join("."))
    }

    /// A pattern of `policy`: components that may be empty where the policy allows it.
    fn pattern() -> impl Strategy<Value = (String, MatchPolicy)> {
        let comps = proptest::collection::vec(
            prop_oneof![3 => component(), 1 => Just(String::new())],
            1..4,
        )
        .prop_map(|c| c.join("."));
        prop_oneof![
            uri().prop_map(|u| (u, MatchPolicy::Exact)),
            comps.clone().prop_map(|u| (u, MatchPolicy::Wildcard)),
            comps.prop_map(|u| (u, MatchPolicy::Prefix)),
            // A prefix that cuts a component, and the empty prefix.
            uri().prop_map(|u| {
                let cut = u
                    .char_indices()
                    .nth(u.chars().count() / 2)
                    .map_or(0, |(i, _)| i);
                (u[..cut].to_string(), MatchPolicy::Prefix)
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        /// Tokens are NATS-safe, read back, and tell every text apart.
        #[test]
        fn tokens_are_safe_and_one_to_one(a in "\\PC{0,6}", b in "\\PC{0,6}") {
            let (ta, tb) = (token(&a), token(&b));
            prop_assert!(ta.bytes().all(|c| c.is_ascii_graphic() && c != b'.' && c != b'*' && c != b'>'));
            prop_assert_eq!(untoken(&ta), Some(a.clone()));
            prop_assert_eq!(ta == tb, a == b);
        }

        /// NATS delivers a URI's subject to a pattern's subscription whenever WAMP matches the
        /// URI; where the subscription is marked exact, only then.
        #[test]
        fn nats_matching_covers_wamp_matching(
            (pattern, policy) in pattern(),
            other in uri(),
            suffix in "[a.b]{0,3}",
            related in any::<bool>(),
        ) {
            // Half the time a URI the pattern may well match: the pattern, its empty
            // components filled, and more after it.
            let filled = pattern.split('.').map(|c| if c.is_empty() { "b" } else { c }).collect::<Vec<_>>().join(".");
            let uri = if related { format!("{filled}{suffix}") } else { other };
            prop_assume!(!uri.split('.').any(str::is_empty));
            let base = "p.r.ev";
            let (subscription, exact) = of_pattern(base, &pattern, policy);
            let subject = of_uri(base, &uri);
            let wamp = policy.matches(&pattern, &uri);
            let nats = nats_matches(&subscription, &subject);
            prop_assert!(!wamp || nats, "{policy} {pattern:?} matches {uri:?}, {subscription} misses {subject}");
            if exact {
                prop_assert_eq!(wamp, nats, "{} {:?} / {:?}: {} / {}", policy, pattern, uri, subscription, subject);
            }
        }
    }
}
