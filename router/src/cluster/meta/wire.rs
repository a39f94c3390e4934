//! The messages of the cluster-wide meta procedures: WAMP messages in msgpack, with the codec
//! every session uses. A request is a CALL (`options.caller` the calling session's id); an
//! answer a RESULT or ERROR with `details.node` the answering node, and `details.more` on each
//! part but the last of an answer cut in parts.

use bytes::Bytes;
use wamp::message::code;
use wamp::{Dict, Id, Message, Payload, Serializer, Value, dict};

use crate::meta_procedures::Answer;

/// One node's answer: its result, or the error URI it answered with.
pub(super) type NodeAnswer = Result<Payload, String>;

/// A request: the CALL of `procedure` by session `caller`, in msgpack.
pub(super) fn request_body(
    request: Id,
    caller: Id,
    procedure: &str,
    args: Vec<Value>,
    kwargs: Dict,
) -> Bytes {
    let m = Message::Call {
        request,
        options: dict! {"caller" => caller},
        procedure: procedure.to_owned(),
        payload: Payload::new(args, kwargs),
    };
    encode(&m)
}

pub(super) fn encode(m: &Message) -> Bytes {
    // A message of decoded values always encodes in msgpack (no JSON-only restriction).
    wamp::encode(Serializer::Msgpack, m).unwrap_or_default()
}

/// An answer's body, opened.
#[derive(Debug, PartialEq)]
pub(super) struct Opened {
    /// The answering node.
    pub node: String,
    /// Its answer, or part of it.
    pub answer: NodeAnswer,
    /// Whether more parts of the node's answer follow.
    pub more: bool,
}

/// The node and its answer (or part of it) in an answer's body, if it is one.
pub(super) fn open_answer(body: &Bytes) -> Option<Opened> {
    let (details, answer) = match wamp::decode(Serializer::Msgpack, body).ok()? {
        Message::Result {
            details, payload, ..
        } => (details, Ok(payload)),
        Message::Error { details, error, .. } => (details, Err(error)),
        _ => return None,
    };
    Some(Opened {
        node: details.get("node")?.as_str()?.to_owned(),
        answer,
        more: details.get("more") == Some(&Value::Bool(true)),
    })
}

/// `answer` of node `node` to request `request`, as a RESULT or ERROR in msgpack; `more` says
/// that more parts of it follow.
pub(super) fn answer_message(request: Id, node: &str, answer: Answer, more: bool) -> Bytes {
    let mut details = dict! {"node" => node};
    if more {
        details.insert("more".into(), true.into());
    }
    encode(&match answer {
        Ok(payload) => Message::Result {
            request,
            details,
            payload,
        },
        Err(r) => Message::Error {
            request_type: code::CALL,
            request,
            details,
            error: r.error.to_owned(),
            payload: Payload::from_args(vec![r.message.into()]),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::one;
    use super::*;
    use crate::meta_procedures::NO_SUCH_SESSION;

    #[test]
    fn requests_and_answers_cross_as_msgpack_messages() {
        let body = request_body(
            9,
            42,
            "wamp.session.kill_by_authid",
            vec!["bob".into()],
            dict! {"reason" => "wamp.close.killed"},
        );
        let Ok(Message::Call {
            request,
            options,
            procedure,
            payload,
        }) = wamp::decode(Serializer::Msgpack, &body)
        else {
            panic!("a CALL");
        };
        assert_eq!(
            (request, procedure.as_str()),
            (9, "wamp.session.kill_by_authid")
        );
        assert_eq!(options.get("caller").and_then(Value::as_u64), Some(42));
        assert_eq!(payload.args().unwrap(), vec![Value::from("bob")]);
        assert_eq!(
            payload
                .kwargs()
                .unwrap()
                .get("reason")
                .and_then(Value::as_str),
            Some("wamp.close.killed")
        );
        let answer = encode(&Message::Result {
            request,
            details: dict! {"node" => "node-b"},
            payload: one(3u64),
        });
        let opened = open_answer(&answer).expect("an answer");
        assert_eq!((opened.node.as_str(), opened.more), ("node-b", false));
        assert_eq!(
            opened.answer.unwrap().args().unwrap(),
            vec![Value::from(3u64)]
        );
        let error = encode(&Message::Error {
            request_type: code::CALL,
            request,
            details: dict! {"node" => "node-c"},
            error: NO_SUCH_SESSION.to_owned(),
            payload: Payload::empty(),
        });
        assert_eq!(
            open_answer(&error),
            Some(Opened {
                node: "node-c".to_owned(),
                answer: Err(NO_SUCH_SESSION.to_owned()),
                more: false
            })
        );
        assert_eq!(open_answer(&body), None, "a CALL is no answer");
    }
}
