//! The request options the handlers read, parsed — or refused with
//! `wamp.error.invalid_argument` naming the option and what it may be.

use wamp::{Dict, MatchPolicy, Value};

use crate::dealer::{CancelMode, InvokePolicy};
use crate::refusal::Refusal;

/// `options.match` of SUBSCRIBE and REGISTER (default exact).
pub(super) fn match_policy(options: &Dict) -> Result<MatchPolicy, Refusal> {
    parse(
        options,
        "match",
        MatchPolicy::Exact,
        MatchPolicy::parse,
        || "match must be \"exact\", \"prefix\" or \"wildcard\"".into(),
    )
}

/// `options.invoke` of REGISTER (default single).
pub(super) fn invoke_policy(options: &Dict) -> Result<InvokePolicy, Refusal> {
    parse(
        options,
        "invoke",
        InvokePolicy::Single,
        InvokePolicy::parse,
        || "invoke must be single, roundrobin, random, first or last".into(),
    )
}

/// `options.mode` of CANCEL (default killnowait).
pub(super) fn cancel_mode(options: &Dict) -> Result<CancelMode, Refusal> {
    parse(
        options,
        "mode",
        CancelMode::KillNoWait,
        CancelMode::parse,
        || "mode must be skip, kill or killnowait".into(),
    )
}

/// `options.timeout` of CALL: milliseconds, 0 (or absent) for none. Its type was checked
/// with the other options ([`super::strict`]).
pub(super) fn call_timeout(options: &Dict) -> u64 {
    options.get("timeout").and_then(Value::as_u64).unwrap_or(0)
}

/// A boolean option: `true` only when given as `true`.
pub(super) fn flag(options: &Dict, key: &str) -> bool {
    flag_or(options, key, false)
}

/// A boolean option, `default` unless given as a boolean.
pub(super) fn flag_or(options: &Dict, key: &str, default: bool) -> bool {
    options.get(key).and_then(Value::as_bool).unwrap_or(default)
}

/// A string option with a fixed set of values; absent means `default`.
fn parse<T>(
    options: &Dict,
    key: &str,
    default: T,
    from: impl Fn(&str) -> Option<T>,
    expected: impl Fn() -> String,
) -> Result<T, Refusal> {
    match options.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_str()
            .and_then(from)
            .ok_or_else(|| Refusal::invalid_argument(format!("{}, got {v:?}", expected()))),
    }
}
