//! Strict options: every option of a client's message that the router reads is checked
//! against the type the WAMP spec gives it, before the message is handled. A wrongly typed one
//! is a protocol violation whose ABORT names the option (Crossbar closes the connection without
//! a word); options the router does not know are ignored, as the spec asks.

use wamp::{Dict, Message, Value};

/// What an option's value must be.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Bool,
    /// A list of session ids.
    Ids,
    /// A list of strings (authids, authroles).
    Strings,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// An integer ≥ 0.
    Count,
    /// A string.
    Str,
    /// A dict.
    Dict,
}

/// Payload pass-through (the spec's `ppt_*`, autobahn's and Crossbar's `enc_*`): strings all,
/// `enc_key` too (autobahn refuses anything else; its cryptobox sends none).
const PASSTHRU: &[(&str, Shape)] = &[
    ("ppt_scheme", Shape::Str),
    ("ppt_serializer", Shape::Str),
    ("ppt_cipher", Shape::Str),
    ("ppt_keyid", Shape::Str),
    ("enc_algo", Shape::Str),
    ("enc_serializer", Shape::Str),
    ("enc_key", Shape::Str),
];

const MATCH: Shape = Shape::OneOf(&["exact", "prefix", "wildcard"]);

const PUBLISH: &[(&str, Shape)] = &[
    ("acknowledge", Shape::Bool),
    ("exclude_me", Shape::Bool),
    ("disclose_me", Shape::Bool),
    ("retain", Shape::Bool),
    ("exclude", Shape::Ids),
    ("eligible", Shape::Ids),
    ("exclude_authid", Shape::Strings),
    ("eligible_authid", Shape::Strings),
    ("exclude_authrole", Shape::Strings),
    ("eligible_authrole", Shape::Strings),
];
const SUBSCRIBE: &[(&str, Shape)] = &[("match", MATCH), ("get_retained", Shape::Bool)];
const CALL: &[(&str, Shape)] = &[
    ("disclose_me", Shape::Bool),
    ("receive_progress", Shape::Bool),
    ("progress", Shape::Bool),
    ("timeout", Shape::Count),
];
const REGISTER: &[(&str, Shape)] = &[
    ("match", MATCH),
    (
        "invoke",
        Shape::OneOf(&["single", "roundrobin", "random", "first", "last"]),
    ),
    ("disclose_caller", Shape::Bool),
    ("forward_timeout", Shape::Bool),
];
const CANCEL: &[(&str, Shape)] = &[("mode", Shape::OneOf(&["skip", "kill", "killnowait"]))];
const YIELD: &[(&str, Shape)] = &[("progress", Shape::Bool)];

/// Checks the options of `m`; the problem, naming the option, when one is wrongly typed.
pub(super) fn check(m: &Message) -> Result<(), String> {
    let (name, options, table) = match m {
        Message::Publish { options, .. } => ("PUBLISH.Options", options, PUBLISH),
        Message::Subscribe { options, .. } => ("SUBSCRIBE.Options", options, SUBSCRIBE),
        Message::Call { options, .. } => ("CALL.Options", options, CALL),
        Message::Register { options, .. } => ("REGISTER.Options", options, REGISTER),
        Message::Cancel { options, .. } => ("CANCEL.Options", options, CANCEL),
        Message::Yield { options, .. } => ("YIELD.Options", options, YIELD),
        // A callee's ERROR goes to its caller with these details.
        Message::Error { details, .. } => ("ERROR.Details", details, &[][..]),
        _ => return Ok(()),
    };
    check_table(name, options, table)?;
    if m.payload().is_some() {
        check_table(name, options, PASSTHRU)?;
    }
    Ok(())
}

/// What the router reads of HELLO.Details.
const HELLO: &[(&str, Shape)] = &[
    ("authid", Shape::Str),
    ("authmethods", Shape::Strings),
    ("authextra", Shape::Dict),
    ("roles", Shape::Dict),
];
/// The role features the router reads (`roles.<role>.features.<name>`), booleans all.
const FEATURES: &[(&str, &[&str])] = &[
    (
        "callee",
        &[
            "call_canceling",
            "progressive_call_results",
            "progressive_call_invocations",
        ],
    ),
    ("caller", &["progressive_call_invocations"]),
];

/// Checks HELLO.Details as [`check`] does a message's options: the keys the router reads, each
/// role a dict, its `features` a dict, and the features the router reads booleans.
pub(super) fn check_hello(details: &Dict) -> Result<(), String> {
    // A null is taken for an absent key here: clients send `"authid": null` for "none".
    let given: Dict = details
        .iter()
        .filter(|(_, v)| !matches!(v, Value::Null))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    check_table("HELLO.Details", &given, HELLO)?;
    let Some(roles) = details.get("roles").and_then(Value::as_dict) else {
        return Ok(());
    };
    for (role, v) in roles {
        let Some(r) = v.as_dict() else {
            return Err(format!(
                "HELLO.Details.roles.{role} must be a dict, got {}",
                shown(v)
            ));
        };
        let name = format!("HELLO.Details.roles.{role}");
        check_table(&name, r, &[("features", Shape::Dict)])?;
        let read = FEATURES.iter().find(|(n, _)| n == role).map(|(_, f)| *f);
        if let (Some(features), Some(read)) = (r.get("features").and_then(Value::as_dict), read) {
            let table: Vec<(&str, Shape)> = read.iter().map(|f| (*f, Shape::Bool)).collect();
            check_table(&format!("{name}.features"), features, &table)?;
        }
    }
    Ok(())
}

fn check_table(name: &str, options: &Dict, table: &[(&str, Shape)]) -> Result<(), String> {
    for (key, shape) in table {
        let Some(v) = options.get(*key) else { continue };
        if !fits(v, *shape) {
            return Err(format!(
                "{name}.{key} must be {}, got {}",
                describe(*shape),
                shown(v)
            ));
        }
    }
    Ok(())
}

fn fits(v: &Value, shape: Shape) -> bool {
    let id = |v: &Value| v.as_u64().is_some_and(|n| n <= wamp::id::MAX_ID);
    match shape {
        Shape::Bool => matches!(v, Value::Bool(_)),
        Shape::Ids => v.as_list().is_some_and(|l| l.iter().all(id)),
        Shape::Strings => v
            .as_list()
            .is_some_and(|l| l.iter().all(|s| s.as_str().is_some())),
        Shape::OneOf(names) => v.as_str().is_some_and(|s| names.contains(&s)),
        Shape::Count => v.as_u64().is_some(),
        Shape::Str => v.as_str().is_some(),
        Shape::Dict => v.as_dict().is_some(),
    }
}

fn describe(shape: Shape) -> String {
    match shape {
        Shape::Bool => "a boolean".into(),
        Shape::Ids => "a list of session ids".into(),
        Shape::Strings => "a list of strings".into(),
        Shape::OneOf(names) => format!("one of {}", names.join(", ")),
        Shape::Count => "an integer of at least 0".into(),
        Shape::Str => "a string".into(),
        Shape::Dict => "a dict".into(),
    }
}

/// The value as the message shows it: JSON (bytes as the JSON serializer writes them), cut
/// short.
fn shown(v: &Value) -> String {
    let mut s = serde_json::to_string(v).unwrap_or_else(|_| format!("{v:?}"));
    if s.len() > 80 {
        let mut end = 77;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp::{Payload, dict};

    fn publish(options: Dict) -> Message {
        Message::Publish {
            request: 1,
            options,
            topic: "a.b".into(),
            payload: Payload::empty(),
        }
    }

    /// A message of kind `name` with these options.
    fn message(name: &str, options: Dict) -> Message {
        match name {
            "PUBLISH" => publish(options),
            "SUBSCRIBE" => Message::Subscribe {
                request: 1,
                options,
                topic: "a".into(),
            },
            "CALL" => Message::Call {
                request: 1,
                options,
                procedure: "a".into(),
                payload: Payload::empty(),
            },
            "REGISTER" => Message::Register {
                request: 1,
                options,
                procedure: "a".into(),
            },
            "CANCEL" => Message::Cancel {
                request: 1,
                options,
            },
            "YIELD" => Message::Yield {
                request: 1,
                options,
                payload: Payload::empty(),
            },
            other => panic!("no such message in the table: {other}"),
        }
    }

    #[test]
    fn good_and_bad_option_values_per_message() {
        let list = |v: Vec<Value>| Value::List(v);
        // (message, key, a good value, a bad value, what the bad one's ABORT says)
        let table: Vec<(&str, &str, Value, Value, &str)> = vec![
            (
                "PUBLISH",
                "acknowledge",
                true.into(),
                1.into(),
                "must be a boolean, got 1",
            ),
            (
                "PUBLISH",
                "exclude_me",
                false.into(),
                "no".into(),
                "must be a boolean, got \"no\"",
            ),
            (
                "PUBLISH",
                "disclose_me",
                true.into(),
                Value::Null,
                "must be a boolean, got null",
            ),
            (
                "PUBLISH",
                "retain",
                true.into(),
                list(vec![]),
                "must be a boolean, got []",
            ),
            (
                "PUBLISH",
                "exclude",
                list(vec![1.into(), 2.into()]),
                list(vec!["x".into()]),
                "must be a list of session ids, got [\"x\"]",
            ),
            (
                "PUBLISH",
                "eligible",
                list(vec![]),
                list(vec![(-1).into()]),
                "must be a list of session ids, got [-1]",
            ),
            (
                "PUBLISH",
                "eligible",
                list(vec![wamp::id::MAX_ID.into()]),
                list(vec![(wamp::id::MAX_ID + 1).into()]),
                "must be a list of session ids, got [9007199254740993]",
            ),
            (
                "PUBLISH",
                "exclude_authid",
                list(vec!["alice".into()]),
                "alice".into(),
                "must be a list of strings, got \"alice\"",
            ),
            (
                "PUBLISH",
                "eligible_authrole",
                list(vec!["admin".into()]),
                list(vec![1.into()]),
                "must be a list of strings, got [1]",
            ),
            (
                "SUBSCRIBE",
                "match",
                "wildcard".into(),
                "regex".into(),
                "must be one of exact, prefix, wildcard, got \"regex\"",
            ),
            (
                "SUBSCRIBE",
                "get_retained",
                true.into(),
                0.into(),
                "must be a boolean, got 0",
            ),
            (
                "CALL",
                "timeout",
                500.into(),
                (-1).into(),
                "must be an integer of at least 0, got -1",
            ),
            (
                "CALL",
                "timeout",
                0.into(),
                1.5.into(),
                "must be an integer of at least 0, got 1.5",
            ),
            (
                "CALL",
                "receive_progress",
                true.into(),
                "yes".into(),
                "must be a boolean, got \"yes\"",
            ),
            (
                "CALL",
                "progress",
                false.into(),
                1.into(),
                "must be a boolean, got 1",
            ),
            (
                "CALL",
                "disclose_me",
                true.into(),
                "true".into(),
                "must be a boolean, got \"true\"",
            ),
            (
                "REGISTER",
                "match",
                "prefix".into(),
                3.into(),
                "must be one of exact, prefix, wildcard, got 3",
            ),
            (
                "REGISTER",
                "invoke",
                "roundrobin".into(),
                "sometimes".into(),
                "must be one of single, roundrobin, random, first, last, got \"sometimes\"",
            ),
            (
                "REGISTER",
                "disclose_caller",
                true.into(),
                1.into(),
                "must be a boolean, got 1",
            ),
            (
                "REGISTER",
                "forward_timeout",
                true.into(),
                "1".into(),
                "must be a boolean, got \"1\"",
            ),
            (
                "CANCEL",
                "mode",
                "killnowait".into(),
                true.into(),
                "must be one of skip, kill, killnowait, got true",
            ),
            (
                "YIELD",
                "progress",
                true.into(),
                "partly".into(),
                "must be a boolean, got \"partly\"",
            ),
        ];
        for (name, key, good, bad, problem) in table {
            let ok = message(name, dict! {key => good.clone(), "unknown_option" => 7});
            assert_eq!(check(&ok), Ok(()), "{name} {key} = {good:?}");
            assert_eq!(
                check(&message(name, dict! {key => bad})),
                Err(format!("{name}.Options.{key} {problem}")),
            );
        }
        // No options at all, and options the router does not know, whatever their type.
        for name in [
            "PUBLISH",
            "SUBSCRIBE",
            "CALL",
            "REGISTER",
            "CANCEL",
            "YIELD",
        ] {
            assert_eq!(check(&message(name, Dict::new())), Ok(()));
            assert_eq!(
                check(&message(
                    name,
                    dict! {"x_custom" => list(vec![Value::Null])}
                )),
                Ok(())
            );
        }
        // A long bad value is cut short in the message.
        let long = check(&publish(dict! {"exclude_authid" => "a".repeat(500)}));
        assert!(
            long.as_ref()
                .is_err_and(|e| e.ends_with("...") && e.len() < 200),
            "{long:?}"
        );
    }

    #[test]
    fn hello_details_the_router_reads_are_checked() {
        let roles = |callee: Dict| {
            Value::Dict(dict! {
                "caller" => Value::Dict(dict! {"features" => Value::Dict(dict! {"progressive_call_invocations" => true})}),
                "callee" => Value::Dict(dict! {"features" => Value::Dict(callee)}),
            })
        };
        let good = dict! {
            "authid" => "alice",
            "authmethods" => Value::List(vec!["ticket".into()]),
            "authextra" => Value::Dict(dict! {"pubkey" => "ab"}),
            "roles" => roles(dict! {"call_canceling" => true, "x_vendor_feature" => "anything"}),
        };
        assert_eq!(check_hello(&good), Ok(()));
        assert_eq!(check_hello(&dict! {"authid" => Value::Null}), Ok(()));
        let bad = |key: &str, v: Value| {
            let mut d = good.clone();
            d.insert(key.into(), v);
            check_hello(&d)
        };
        assert_eq!(
            bad("authid", 7.into()),
            Err("HELLO.Details.authid must be a string, got 7".into())
        );
        assert_eq!(
            bad("authmethods", Value::List(vec!["ticket".into(), 1.into()])),
            Err("HELLO.Details.authmethods must be a list of strings, got [\"ticket\",1]".into())
        );
        assert_eq!(
            bad("authextra", "pubkey".into()),
            Err("HELLO.Details.authextra must be a dict, got \"pubkey\"".into())
        );
        assert_eq!(
            bad("roles", Value::Dict(dict! {"subscriber" => true})),
            Err("HELLO.Details.roles.subscriber must be a dict, got true".into())
        );
        assert_eq!(
            bad(
                "roles",
                Value::Dict(dict! {"callee" => Value::Dict(dict! {"features" => 1})})
            ),
            Err("HELLO.Details.roles.callee.features must be a dict, got 1".into())
        );
        assert_eq!(
            bad("roles", roles(dict! {"call_canceling" => "yes"})),
            Err(
                "HELLO.Details.roles.callee.features.call_canceling must be a boolean, got \"yes\""
                    .into()
            )
        );
    }

    #[test]
    fn passthru_keys_must_be_strings() {
        let good = dict! {
            "ppt_scheme" => "wamp", "ppt_serializer" => "cbor", "ppt_cipher" => "xsalsa20poly1305",
            "ppt_keyid" => "0xabc", "enc_algo" => "cryptobox", "enc_serializer" => "json",
            "enc_key" => "k",
        };
        assert_eq!(check(&publish(good.clone())), Ok(()));
        let yield_ = |options| Message::Yield {
            request: 1,
            options,
            payload: Payload::empty(),
        };
        assert_eq!(check(&yield_(good.clone())), Ok(()));
        let error = |details| Message::Error {
            request_type: wamp::message::code::INVOCATION,
            request: 1,
            details,
            error: "com.err".into(),
            payload: Payload::empty(),
        };
        assert_eq!(check(&error(good)), Ok(()));
        assert_eq!(
            check(&publish(dict! {"ppt_scheme" => 1})),
            Err("PUBLISH.Options.ppt_scheme must be a string, got 1".into())
        );
        assert_eq!(
            check(&yield_(dict! {"enc_key" => Value::Bytes(vec![1])})),
            Err("YIELD.Options.enc_key must be a string, got \"\\u0000AQ==\"".into())
        );
        assert_eq!(
            check(&error(dict! {"enc_algo" => true})),
            Err("ERROR.Details.enc_algo must be a string, got true".into())
        );
        let call = Message::Call {
            request: 1,
            options: dict! {"ppt_keyid" => Value::List(vec![])},
            procedure: "a".into(),
            payload: Payload::empty(),
        };
        assert_eq!(
            check(&call),
            Err("CALL.Options.ppt_keyid must be a string, got []".into())
        );
        // Messages without a payload have no such options.
        let subscribe = Message::Subscribe {
            request: 1,
            options: dict! {"enc_algo" => 1},
            topic: "a".into(),
        };
        assert_eq!(check(&subscribe), Ok(()));
    }
}
