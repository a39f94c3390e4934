//! URI validation (`wamp::uri`) and the router's pattern index (`UriIndex`: a hash map, a
//! prefix radix tree and a wildcard component tree) against the naive matcher of
//! `wampstat_fuzz::naive_matches`, over a sequence of inserts, removals and lookups.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use wamp::MatchPolicy;
use wamp::uri::{UriCheck, is_valid, is_valid_pattern};
use wamp_router::UriIndex;
use wampstat_fuzz::naive_matches;

/// URIs over a small alphabet (so that patterns and URIs share components), with a
/// multi-byte character and characters the rules refuse.
#[derive(Debug)]
struct Uri(String);

impl<'a> Arbitrary<'a> for Uri {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        const ALPHABET: [&str; 8] = ["a", "b", ".", ".", "ab", "é", "#", " "];
        let n = u.int_in_range(0..=12)?;
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(ALPHABET[usize::from(u.int_in_range(0..=7u8)?)]);
        }
        Ok(Uri(s))
    }
}

#[derive(Debug, Arbitrary)]
enum Policy {
    Exact,
    Prefix,
    Wildcard,
}

impl Policy {
    fn get(&self) -> MatchPolicy {
        match self {
            Policy::Exact => MatchPolicy::Exact,
            Policy::Prefix => MatchPolicy::Prefix,
            Policy::Wildcard => MatchPolicy::Wildcard,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Op {
    Insert(Policy, Uri),
    Remove(Policy, Uri),
    /// Removes with an id the pattern does not have (must change nothing).
    RemoveWrongId(Policy, Uri),
    Query(Uri),
}

/// One pattern of the model: its URI, policy, id and insertion order.
struct Pattern {
    uri: String,
    policy: MatchPolicy,
    id: u64,
    added: u64,
}

fn check_validation(uri: &str) {
    for check in [UriCheck::Loose, UriCheck::Strict] {
        let naive = !uri.is_empty()
            && uri.split('.').all(|c| {
                !c.is_empty()
                    && match check {
                        UriCheck::Loose => {
                            !c.contains(|ch: char| ch == '#' || ch.is_ascii_whitespace())
                        }
                        UriCheck::Strict => c
                            .chars()
                            .all(|ch| matches!(ch, 'a'..='z' | '0'..='9' | '_')),
                    }
            });
        assert_eq!(is_valid(uri, check), naive, "is_valid({uri:?}, {check:?})");
        for policy in [
            MatchPolicy::Exact,
            MatchPolicy::Prefix,
            MatchPolicy::Wildcard,
        ] {
            if naive {
                assert!(
                    is_valid_pattern(uri, policy, check),
                    "{uri:?} {policy:?} {check:?}"
                );
            }
        }
    }
    assert!(!is_valid(uri, UriCheck::Strict) || is_valid(uri, UriCheck::Loose));
}

fuzz_target!(|ops: Vec<Op>| {
    let mut index = UriIndex::default();
    let mut model: Vec<Pattern> = Vec::new();
    let mut next_id = 1u64;
    let mut added = 0u64;
    for op in ops {
        match op {
            Op::Insert(policy, Uri(uri)) => {
                check_validation(&uri);
                let policy = policy.get();
                let known = model
                    .iter()
                    .find(|p| p.uri == uri && p.policy == policy)
                    .map(|p| p.id);
                assert_eq!(
                    index.lookup(&uri, policy),
                    known,
                    "lookup {uri:?} {policy:?}"
                );
                if known.is_none() {
                    // As the broker and the dealer do: a new pattern only when none is there.
                    index.insert(&uri, policy, next_id);
                    model.push(Pattern {
                        uri,
                        policy,
                        id: next_id,
                        added,
                    });
                    next_id += 1;
                    if policy != MatchPolicy::Exact {
                        added += 1;
                    }
                }
            }
            Op::Remove(policy, Uri(uri)) => {
                let policy = policy.get();
                if let Some(at) = model
                    .iter()
                    .position(|p| p.uri == uri && p.policy == policy)
                {
                    index.remove(&uri, policy, model[at].id);
                    model.remove(at);
                }
                assert_eq!(
                    index.lookup(&uri, policy),
                    None,
                    "{uri:?} {policy:?} after remove"
                );
            }
            Op::RemoveWrongId(policy, Uri(uri)) => {
                let policy = policy.get();
                index.remove(&uri, policy, 0);
                let known = model
                    .iter()
                    .find(|p| p.uri == uri && p.policy == policy)
                    .map(|p| p.id);
                assert_eq!(index.lookup(&uri, policy), known, "{uri:?} {policy:?}");
            }
            Op::Query(Uri(uri)) => {
                check_validation(&uri);
                for p in &model {
                    assert_eq!(
                        p.policy.matches(&p.uri, &uri),
                        naive_matches(p.policy, &p.uri, &uri),
                        "MatchPolicy::matches({:?}, {:?}, {uri:?})",
                        p.policy,
                        p.uri
                    );
                }
                let exact = model
                    .iter()
                    .find(|p| p.policy == MatchPolicy::Exact && p.uri == uri)
                    .map(|p| p.id);
                assert_eq!(index.exact(&uri), exact, "exact {uri:?}");
                let mut patterns: Vec<&Pattern> = model
                    .iter()
                    .filter(|p| p.policy != MatchPolicy::Exact)
                    .filter(|p| naive_matches(p.policy, &p.uri, &uri))
                    .collect();
                patterns.sort_by_key(|p| p.added);
                let expected: Vec<u64> = patterns.iter().map(|p| p.id).collect();
                assert_eq!(
                    index.matching_patterns(&uri),
                    expected,
                    "patterns matching {uri:?}"
                );
                assert_eq!(
                    index.any_pattern_matches(&uri),
                    !expected.is_empty(),
                    "any {uri:?}"
                );
                let longest = patterns
                    .iter()
                    .filter(|p| p.policy == MatchPolicy::Prefix)
                    .max_by_key(|p| p.uri.len())
                    .map(|p| p.id);
                assert_eq!(
                    index.longest_prefix(&uri),
                    longest,
                    "longest prefix of {uri:?}"
                );
                let mut wildcards = Vec::new();
                index.matching_wildcards(&uri, |id| wildcards.push(id));
                wildcards.sort_unstable();
                let mut expected: Vec<u64> = patterns
                    .iter()
                    .filter(|p| p.policy == MatchPolicy::Wildcard)
                    .map(|p| p.id)
                    .collect();
                expected.sort_unstable();
                assert_eq!(wildcards, expected, "wildcards matching {uri:?}");
            }
        }
    }
});
