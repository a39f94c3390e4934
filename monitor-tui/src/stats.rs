//! The one meta event that comes by the hundred thousand a second, `wamp.session.on_stats`, as
//! a typed [`StatsEvent`]: decoded straight from the received bytes (no dict of strings to build
//! and drop for every event), or read from the two dicts when they were decoded anyway.
//!
//! Only what the dashboard uses is kept; the rest of the event (the router's `timestamp`, the
//! `serializer`, fields a later router adds) is skipped while decoding. Recording (`--record`)
//! and the headless modes keep the whole event, so they decode it as dicts instead.

use serde::{Deserialize, Serialize};
use wamp::{Dict, Id, Value};

/// `wamp.session.on_stats`' first argument: whose cycle it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct StatsInfo {
    /// The session id.
    pub session: Id,
    /// Its authid (used only if the monitor has not seen its join).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authid: Option<String>,
    /// Its authrole (likewise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authrole: Option<String>,
}

/// `wamp.session.on_stats`' second argument: one cycle's traffic.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct StatsCounters {
    /// The cycle's number (`None`: the one after the last seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<u64>,
    /// Its length in nanoseconds.
    pub duration: u64,
    /// Bytes both ways.
    pub bytes: u64,
    /// Messages both ways.
    pub messages: u64,
    /// Rated messages.
    pub rated_messages: u64,
    /// The session's first cycle (HELLO and WELCOME).
    pub first: bool,
    /// **[wampstat]** Messages the router received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages_rx: Option<u64>,
    /// **[wampstat]** Messages the router sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages_tx: Option<u64>,
    /// **[wampstat]** Bytes the router received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_rx: Option<u64>,
    /// **[wampstat]** Bytes the router sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_tx: Option<u64>,
    /// **[wampstat]** Events dropped for the session in the cycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
}

/// A whole `wamp.session.on_stats` event: its two positional arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct StatsEvent(pub StatsInfo, pub StatsCounters);

impl StatsEvent {
    /// Reads the event from its two argument dicts (`None` without a session id). Wrongly
    /// typed fields count as absent, as the dict path always did.
    pub fn from_dicts(info: &Dict, stats: &Dict) -> Option<Self> {
        let u = |d: &Dict, k: &str| d.get(k).and_then(Value::as_u64);
        let s = |k: &str| info.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(StatsEvent(
            StatsInfo {
                session: u(info, "session")?,
                authid: s("authid"),
                authrole: s("authrole"),
            },
            StatsCounters {
                cycle: u(stats, "cycle"),
                duration: u(stats, "duration").unwrap_or(0),
                bytes: u(stats, "bytes").unwrap_or(0),
                messages: u(stats, "messages").unwrap_or(0),
                rated_messages: u(stats, "rated_messages").unwrap_or(0),
                first: stats.get("first").and_then(Value::as_bool) == Some(true),
                messages_rx: u(stats, "messages_rx"),
                messages_tx: u(stats, "messages_tx"),
                bytes_rx: u(stats, "bytes_rx"),
                bytes_tx: u(stats, "bytes_tx"),
                dropped: u(stats, "dropped"),
            },
        ))
    }

    /// The event's arguments as values again (what a recording or `--json` writes of it).
    pub fn to_args(&self) -> Vec<Value> {
        let value = |v: Result<Value, _>| v.unwrap_or(Value::Null);
        let dict = |v: serde_json::Value| value(serde_json::from_value(v));
        vec![
            dict(serde_json::to_value(&self.0).unwrap_or_default()),
            dict(serde_json::to_value(&self.1).unwrap_or_default()),
        ]
    }

    /// The session id.
    pub fn session(&self) -> Id {
        self.0.session
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wamp::{Message, Payload, Serializer, dict};

    /// An on_stats as wampstat's router sends it (more fields than the dashboard keeps).
    fn args() -> Vec<Value> {
        vec![
            Value::Dict(
                dict! {"realm" => "realm1", "session" => 42u64, "authid" => "A",
                "authrole" => "backend"},
            ),
            Value::Dict(dict! {"cycle" => 7u64, "serializer" => "json",
            "timestamp" => 1_795_636_458_894_317_000u64, "duration" => 250_000_000u64,
            "bytes" => 900u64, "messages" => 10u64, "rated_messages" => 12u64,
            "first" => false, "last" => false, "bytes_rx" => 400u64, "bytes_tx" => 500u64,
            "messages_rx" => 4u64, "messages_tx" => 6u64, "dropped" => 1u64}),
        ]
    }

    fn expected() -> StatsEvent {
        StatsEvent(
            StatsInfo {
                session: 42,
                authid: Some("A".into()),
                authrole: Some("backend".into()),
            },
            StatsCounters {
                cycle: Some(7),
                duration: 250_000_000,
                bytes: 900,
                messages: 10,
                rated_messages: 12,
                first: false,
                messages_rx: Some(4),
                messages_tx: Some(6),
                bytes_rx: Some(400),
                bytes_tx: Some(500),
                dropped: Some(1),
            },
        )
    }

    #[test]
    fn every_serializer_decodes_the_bytes_straight_into_the_event() {
        for ser in [Serializer::Json, Serializer::Msgpack, Serializer::Cbor] {
            let event = Message::Event {
                subscription: 1,
                publication: 2,
                details: Dict::new(),
                payload: Payload::from_args(args()),
            };
            let frame = wamp::encode(ser, &event).expect("encodes");
            let Ok(Message::Event { payload, .. }) = wamp::decode(ser, &frame) else {
                panic!("{ser:?}: an EVENT")
            };
            assert!(
                matches!(payload.args, Some(wamp::payload::Part::Raw(..))),
                "{ser:?}: the arguments stay bytes until asked for"
            );
            let got: StatsEvent = payload.args_as().expect("decodes");
            assert_eq!(got, expected(), "{ser:?}");
        }
    }

    #[test]
    fn the_dicts_give_the_same_event_and_crossbars_lacks_the_split() {
        let a = args();
        let (Value::Dict(info), Value::Dict(stats)) = (&a[0], &a[1]) else {
            unreachable!("two dicts")
        };
        assert_eq!(StatsEvent::from_dicts(info, stats), Some(expected()));
        let crossbar = dict! {"cycle" => 2u64, "duration" => 3882379u64, "bytes" => 10u64,
        "messages" => 1u64, "rated_messages" => 1u64, "first" => true};
        let e = StatsEvent::from_dicts(&dict! {"session" => 1u64}, &crossbar).expect("an event");
        assert_eq!(
            (e.1.bytes_rx, e.1.messages_rx, e.1.first),
            (None, None, true)
        );
        assert_eq!(
            StatsEvent::from_dicts(&Dict::new(), &crossbar),
            None,
            "no session id"
        );
    }

    #[test]
    fn the_args_written_back_read_as_the_same_event() {
        let back = expected().to_args();
        let (Value::Dict(info), Value::Dict(stats)) = (&back[0], &back[1]) else {
            panic!("two dicts: {back:?}")
        };
        assert_eq!(StatsEvent::from_dicts(info, stats), Some(expected()));
    }
}
