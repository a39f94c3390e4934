//! A publication as it crosses the backplane: the body of one NATS message, which every node
//! with a matching subscriber receives and delivers to its own subscribers.
//!
//! The body is `[serializer: 1 byte][meta length: u32 BE][meta: JSON][an EVENT]`. The EVENT
//! is in the publisher's serializer, its Details those the subscribers get (publisher
//! disclosure, pass-through keys; not the topic, which each node adds for its pattern
//! subscriptions) and its payload the publisher's bytes as they came: nothing is decoded or
//! encoded again on the way, and a receiving node slices the payload out of the body. The
//! meta says what no EVENT says: the topic, the publisher and the subscriber black- and
//! whitelists.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use wamp::{Dict, Id, Message, Payload, Serializer};

use crate::broker::{Broker, Filter, Identity, Publication, Subscription, event_details};

/// The subscription id in an envelope's EVENT (a valid ID; receivers use their own).
const NO_SUBSCRIPTION: Id = 1;

/// The part of an envelope that is not an EVENT.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    /// The topic.
    t: String,
    /// The publisher's session id, authid and authrole.
    p: (Id, String, String),
    /// The black- and whitelisting options, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    f: Option<Dict>,
    /// Whether the events are passive (`wamp.session.on_stats`: counted, never the end of a
    /// receiver's statistics cycle, on every node as on the publisher's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    q: bool,
}

/// Why an envelope could not be read (a node of another version, or a foreign publisher on
/// the subject).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Shorter than its header says.
    #[error("envelope cut short")]
    Short,
    /// An unknown serializer byte.
    #[error("envelope of unknown serializer {0}")]
    Serializer(u8),
    /// The meta is not what a node writes.
    #[error("envelope meta: {0}")]
    Meta(#[from] serde_json::Error),
    /// The EVENT does not decode, or is not an EVENT.
    #[error("envelope event: {0}")]
    Event(String),
}

/// The serializer's byte in an envelope.
fn serializer_byte(s: Serializer) -> u8 {
    match s {
        Serializer::Json => 1,
        Serializer::Msgpack => 2,
        Serializer::Cbor => 3,
    }
}

/// The serializer of byte `b`.
fn serializer_of(b: u8) -> Result<Serializer, OpenError> {
    match b {
        1 => Ok(Serializer::Json),
        2 => Ok(Serializer::Msgpack),
        3 => Ok(Serializer::Cbor),
        other => Err(OpenError::Serializer(other)),
    }
}

/// The envelope of publication `publication` of `p` by `publisher`, its EVENT in
/// `serializer` (the publisher's, so that a raw payload is copied as it is).
pub fn seal(
    serializer: Serializer,
    publisher: &Identity<'_>,
    publication: Id,
    p: &Publication<'_>,
) -> Result<Bytes, wamp::codec::EncodeError> {
    let meta = Meta {
        t: p.topic.to_owned(),
        p: (
            publisher.id,
            publisher.authid.to_owned(),
            publisher.authrole.to_owned(),
        ),
        f: p.filter.as_ref().map(Filter::to_options),
        q: p.passive,
    };
    // A Meta of strings, integers and dicts of WAMP values always serializes.
    let meta = serde_json::to_vec(&meta).unwrap_or_default();
    let event = wamp::encode(
        serializer,
        &Message::Event {
            subscription: NO_SUBSCRIPTION,
            publication,
            details: event_details(publisher, p),
            payload: p.payload.clone(),
        },
    )?;
    let mut body = BytesMut::with_capacity(5 + meta.len() + event.len());
    body.put_u8(serializer_byte(serializer));
    body.put_u32(meta.len() as u32);
    body.put_slice(&meta);
    body.put_slice(&event);
    Ok(body.freeze())
}

/// A publication from another node, read from its envelope.
#[derive(Debug)]
pub struct Arrived {
    /// The topic.
    pub topic: String,
    /// The publication id (the same on every node).
    pub publication: Id,
    /// The publisher's session id, authid and authrole.
    pub publisher: (Id, String, String),
    /// The event's Details for an exact subscription.
    pub details: Dict,
    /// The payload, slices of the envelope.
    pub payload: Payload,
    /// The black- and whitelists.
    pub filter: Option<Filter>,
    /// Whether the events are passive (see [`Publication::passive`]).
    pub passive: bool,
}

impl Arrived {
    /// Delivers the publication to this node's subscribers that `keep` keeps (see
    /// [`super::interest::Interest::wants`]): never to the publisher (it is not on this node),
    /// with the details as they came.
    pub fn deliver(self, broker: &Broker, keep: impl Fn(&Subscription) -> bool) {
        let Arrived {
            topic,
            publication,
            publisher,
            details,
            payload,
            filter,
            passive,
        } = self;
        let p = Publication {
            topic: &topic,
            payload: &payload,
            exclude_me: false,
            disclose: false,
            passthru: details,
            filter,
            passive,
        };
        let identity = Identity {
            id: publisher.0,
            authid: &publisher.1,
            authrole: &publisher.2,
        };
        broker.publish_where(publication, &identity, &p, keep);
    }
}

/// Reads an envelope written by [`seal`].
pub fn open(body: &Bytes) -> Result<Arrived, OpenError> {
    let header = body.get(..5).ok_or(OpenError::Short)?;
    let serializer = serializer_of(header[0])?;
    let meta_len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    let meta_end = 5usize.checked_add(meta_len).ok_or(OpenError::Short)?;
    let meta = body.get(5..meta_end).ok_or(OpenError::Short)?;
    let meta: Meta = serde_json::from_slice(meta)?;
    let event = body.slice(meta_end..);
    match wamp::decode(serializer, &event) {
        Ok(Message::Event {
            publication,
            details,
            payload,
            ..
        }) => Ok(Arrived {
            topic: meta.t,
            publication,
            publisher: meta.p,
            details,
            payload,
            filter: meta.f.as_ref().and_then(Filter::from_options),
            passive: meta.q,
        }),
        Ok(other) => Err(OpenError::Event(format!(
            "{} instead of EVENT",
            other.name()
        ))),
        Err(e) => Err(OpenError::Event(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::mpsc;
    use wamp::transport::Outbound;
    use wamp::{MatchPolicy, Value, dict};

    use super::*;
    use crate::options::RouterOptions;
    use crate::session_handle::SessionHandle;
    use crate::session_handle::testing::handle;

    /// Node B: a broker with subscribers to `com.t` (exact), `com.` (prefix) and `com..x`
    /// (wildcard, matching nothing here), one of them with authrole `other`.
    struct Node {
        broker: Broker,
        subscribers: Vec<(Arc<SessionHandle>, mpsc::Receiver<Outbound>)>,
    }

    impl Node {
        fn new() -> Node {
            let broker = Broker::default();
            let mut subscribers = Vec::new();
            for (id, role, uri, policy) in [
                (10, "anonymous", "com.t", MatchPolicy::Exact),
                (11, "anonymous", "com.", MatchPolicy::Prefix),
                (12, "other", "com.t", MatchPolicy::Exact),
                (13, "anonymous", "com..x", MatchPolicy::Wildcard),
            ] {
                let limits = RouterOptions::default().limits();
                let (h, rx) = handle(id, role, Default::default(), limits);
                let h = Arc::new(h);
                broker.subscribe(&h, uri, policy).expect("subscribed");
                subscribers.push((h, rx));
            }
            Node {
                broker,
                subscribers,
            }
        }

        /// What each subscriber was sent.
        fn received(&mut self) -> Vec<Vec<Bytes>> {
            self.subscribers
                .iter_mut()
                .map(|(_, rx)| {
                    std::iter::from_fn(|| match rx.try_recv() {
                        Ok(Outbound::Message(b) | Outbound::Passive(b)) => Some(b),
                        _ => None,
                    })
                    .collect()
                })
                .collect()
        }
    }

    fn raw(ser: Serializer, json: &str) -> Payload {
        // A payload as a publisher's frame carries it: raw bytes of `ser`.
        let v: Value = serde_json::from_str(json).expect("json");
        let Message::Publish { payload, .. } = wamp::decode(
            ser,
            &wamp::encode(
                ser,
                &Message::Publish {
                    request: 1,
                    options: Dict::new(),
                    topic: "com.t".into(),
                    payload: Payload::new(
                        v.as_list().map(<[Value]>::to_vec).unwrap_or_default(),
                        dict! {"k" => "v"},
                    ),
                },
            )
            .expect("encodes"),
        )
        .expect("decodes") else {
            unreachable!()
        };
        payload
    }

    #[test]
    fn a_publication_from_another_node_reaches_subscribers_as_one_made_here() {
        for ser in [Serializer::Json, Serializer::Msgpack, Serializer::Cbor] {
            let payload = raw(ser, r#"[1, "two", {"three": 3.5}]"#);
            let options = dict! {
                "exclude_authrole" => vec![Value::from("other")],
                "ppt_scheme" => "x_custom",
            };
            let publisher = Identity {
                id: 7,
                authid: "alice",
                authrole: "user",
            };
            let p = Publication {
                topic: "com.t",
                payload: &payload,
                exclude_me: true,
                disclose: true,
                passthru: wamp::payload::passthru_keys(&options),
                filter: Filter::from_options(&options),
                passive: false,
            };
            let body = seal(ser, &publisher, 4242, &p).expect("sealed");
            let arrived = open(&body).expect("opened");
            assert_eq!(arrived.topic, "com.t");
            assert!(
                matches!(&arrived.payload.args, Some(wamp::payload::Part::Raw(s, _)) if *s == ser),
                "{ser}: the payload stays the publisher's bytes"
            );
            // The same node (the same subscription ids) gets it from here, then from there.
            let mut node = Node::new();
            node.broker.publish_as(4242, &publisher, &p);
            let want = node.received();
            arrived.deliver(&node.broker, |_| true);
            let got = node.received();
            assert_eq!(got, want, "{ser}");
            // Exact and prefix subscribers got it, the excluded role and the wildcard not.
            assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 0, 0]);
            // Through the NATS subscription of exact subscriptions only, the prefix one gets
            // nothing (it has its own).
            open(&body)
                .expect("opened")
                .deliver(&node.broker, |s| s.policy == MatchPolicy::Exact);
            let only_exact = node.received();
            assert_eq!(
                only_exact.iter().map(Vec::len).collect::<Vec<_>>(),
                [1, 0, 0, 0]
            );
            assert_eq!(only_exact[0], want[0]);
            let event = String::from_utf8_lossy(&got[1][0]).into_owned();
            if ser == Serializer::Json {
                assert!(
                    event.contains(r#""publisher_authid":"alice""#)
                        && event.contains(r#""topic":"com.t""#)
                        && event.contains(r#""ppt_scheme":"x_custom""#),
                    "{event}"
                );
            }
        }
    }

    #[test]
    fn a_filter_reads_back_the_same() {
        let options = dict! {
            "exclude" => vec![Value::from(3u64), Value::from(1u64)],
            "eligible" => vec![Value::from(1u64)],
            "exclude_authid" => vec![Value::from("b"), Value::from("a")],
            "eligible_authrole" => Vec::<Value>::new(),
        };
        let f = Filter::from_options(&options).expect("a filter");
        let back = f.to_options();
        assert_eq!(
            serde_json::to_string(&back).expect("json"),
            r#"{"exclude":[1,3],"eligible":[1],"exclude_authid":["a","b"],"eligible_authrole":[]}"#
        );
        let again = Filter::from_options(&back).expect("a filter").to_options();
        assert_eq!(again, back);
    }

    #[test]
    fn bad_envelopes_are_errors() {
        let cases: [(&[u8], &str); 5] = [
            (b"\x01\x00", "cut short"),
            (b"\x09\x00\x00\x00\x00[36,1,2,{}]", "unknown serializer"),
            (b"\x01\x00\x00\x00\x09{\"t\":1}", "cut short"),
            (b"\x01\x00\x00\x00\x07{\"t\":1}[36,1,2,{}]", "meta"),
            (
                b"\x01\x00\x00\x00\x17{\"t\":\"a\",\"p\":[1,\"\",\"\"]}[16,1,{},\"a\"]",
                "PUBLISH instead of EVENT",
            ),
        ];
        for (body, problem) in cases {
            let e = open(&Bytes::from_static(body)).expect_err("refused");
            assert!(e.to_string().contains(problem), "{e} / {problem}");
        }
    }
}
