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

    #[test]
    fn good_and_bad_option_values_per_message() {
        let list = |v: Vec<Value>| Value::List(v);
        let good = [
            dict! {"acknowledge" => true, "exclude" => list(vec![1.into(), 2.into()])},
            dict! {"eligible_authrole" => list(vec!["admin".into()]), "unknown" => 7},
            Dict::new(),
        ];
        for options in good {
            assert_eq!(check(&publish(options.clone())), Ok(()), "{options:?}");
        }
        let bad = [
            (
                dict! {"acknowledge" => 1},
                "PUBLISH.Options.acknowledge must be a boolean, got 1",
            ),
            (
                dict! {"exclude" => list(vec!["x".into()])},
                "PUBLISH.Options.exclude must be a list of session ids, got [\"x\"]",
            ),
            (
                dict! {"eligible_authid" => "alice"},
                "PUBLISH.Options.eligible_authid must be a list of strings, got \"alice\"",
            ),
        ];
        for (options, problem) in bad {
            assert_eq!(check(&publish(options)), Err(problem.to_owned()));
        }
        let subscribe = Message::Subscribe {
            request: 1,
            options: dict! {"match" => "regex"},
            topic: "a".into(),
        };
        assert_eq!(
            check(&subscribe),
            Err(
                "SUBSCRIBE.Options.match must be one of exact, prefix, wildcard, got \"regex\""
                    .into()
            )
        );
        let call = |options| Message::Call {
            request: 1,
            options,
            procedure: "a".into(),
            payload: Payload::empty(),
        };
        assert_eq!(check(&call(dict! {"timeout" => 500})), Ok(()));
        assert!(check(&call(dict! {"timeout" => -1})).is_err());
        assert!(check(&call(dict! {"receive_progress" => "yes"})).is_err());
        let register = Message::Register {
            request: 1,
            options: dict! {"invoke" => "roundrobin", "match" => "prefix"},
            procedure: "a".into(),
        };
        assert_eq!(check(&register), Ok(()));
        let cancel = Message::Cancel {
            request: 1,
            options: dict! {"mode" => true},
        };
        assert!(
            check(&cancel)
                .unwrap_err()
                .starts_with("CANCEL.Options.mode must be one of skip")
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
