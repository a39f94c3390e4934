//! The model, driven by events captured from Crossbar.io and by hand-made ones.

use wamp::{Dict, Value, dict};
use wamp_monitor::model::{Connection, Key, MetaEvent, Model, parse_event};
use wamp_monitor::series::{Channel, Window};

fn captured() -> Vec<(String, Vec<Value>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../router/tests/fixtures/crossbar/events.ndjson"
    );
    std::fs::read_to_string(path)
        .expect("the Crossbar capture")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|e| {
            let topic = e.get("topic")?.as_str()?.to_owned();
            let args: Value = serde_json::from_value(e.get("args")?.clone()).ok()?;
            Some((topic, args.as_list()?.to_vec()))
        })
        .collect()
}

#[test]
fn crossbars_events_build_the_session_table() {
    let events = captured();
    let mut model = Model::new(0.0, 1e9);
    let mut t = 0.0;
    for (topic, args) in &events {
        if let Some(ev) = parse_event(topic, args.clone()) {
            model.apply(ev, t);
        }
        t += 0.01;
    }
    let joins = events
        .iter()
        .filter(|e| e.0 == "wamp.session.on_join")
        .count() as u64;
    let leaves = events
        .iter()
        .filter(|e| e.0 == "wamp.session.on_leave")
        .count() as u64;
    assert_eq!(model.joined, joins);
    assert!(model.left <= leaves && model.left > 0);
    // For every session, the totals are the sum of the stats events attributed to it.
    for (key, row) in &model.sessions {
        let id = &key.id;
        let sum: u64 = events
            .iter()
            .filter(|e| {
                e.0 == "wamp.session.on_stats"
                    && e.1[0].get("session").and_then(Value::as_u64) == Some(*id)
            })
            .map(|e| e.1[1].get("messages").and_then(Value::as_u64).unwrap_or(0))
            .sum();
        assert_eq!(row.totals.messages, sum, "session {id}");
    }
    // Crossbar's WebSocket on_join has serializer null: the subprotocol tells.
    assert!(
        model
            .sessions
            .values()
            .filter(|s| s.transport == "websocket")
            .all(|s| !s.serializer.is_empty())
    );
    // Crossbar sends no rx/tx split.
    assert!(model.sessions.values().all(|s| s.totals.bytes_rx.is_none()));
}

fn join(id: u64) -> MetaEvent {
    MetaEvent::Join(dict! {
        "realm" => "realm1", "session" => id, "authid" => "A", "authrole" => "anonymous",
        "serializer" => "json",
        "transport" => Value::Dict(dict! {"channel_framing" => "websocket", "peer" => "tcp4:127.0.0.1:1"}),
    })
}

fn stats(id: u64, cycle: u64, messages: u64, duration_s: f64) -> MetaEvent {
    MetaEvent::Stats(
        dict! {"realm" => "realm1", "session" => id, "authid" => "A", "authrole" => "anonymous"},
        dict! {"cycle" => cycle, "duration" => (duration_s * 1e9) as u64, "bytes" => messages * 100,
        "messages" => messages, "rated_messages" => messages, "first" => cycle == 1, "last" => false,
        "bytes_rx" => messages * 60, "bytes_tx" => messages * 40},
    )
}

#[test]
fn rates_come_from_the_last_cycle_and_go_stale() {
    let mut m = Model::new(0.0, 30.0);
    m.apply(join(7), 0.0);
    // The first cycle (HELLO and WELCOME in a fraction of a millisecond) is no rate.
    m.apply(stats(7, 1, 2, 0.0001), 0.5);
    assert_eq!(m.sessions[&Key::new(0, 7)].messages_per_s(0.5), 0.0);
    m.apply(stats(7, 2, 10, 0.5), 1.0);
    let row = &m.sessions[&Key::new(0, 7)];
    assert_eq!(row.messages_per_s(1.0), 20.0);
    assert_eq!(row.bytes_per_s(1.0), 2000.0);
    assert_eq!(row.messages_per_s(100.0), 0.0, "stale after a long silence");
    assert_eq!(row.totals.bytes_rx, Some(720));
}

#[test]
fn left_sessions_stay_for_the_retention_time_then_go() {
    let mut m = Model::new(0.0, 30.0);
    m.apply(join(1), 0.0);
    m.apply(MetaEvent::Leave(1), 5.0);
    m.tick(20.0);
    assert!(m.sessions.contains_key(&Key::new(0, 1)));
    assert_eq!(m.live(), 0);
    m.tick(36.0);
    assert!(!m.sessions.contains_key(&Key::new(0, 1)));
    assert_eq!((m.joined, m.left), (1, 1));
}

#[test]
fn a_snapshot_merges_with_events_that_raced_it_without_counting_twice() {
    let mut m = Model::new(0.0, 30.0);
    // Cycles 3 and 4 arrive before the snapshot, which covers cycles 1..=3 (30 messages).
    m.apply(stats(9, 3, 10, 1.0), 0.0);
    m.apply(stats(9, 4, 10, 1.0), 0.1);
    let mut snap = match join(9) {
        MetaEvent::Join(d) => d,
        _ => unreachable!(),
    };
    snap.insert("messages".into(), 30.into());
    snap.insert("bytes".into(), 3000.into());
    snap.insert("cycle".into(), 3.into());
    m.apply(MetaEvent::Snapshot(vec![snap]), 0.2);
    assert_eq!(m.sessions[&Key::new(0, 9)].totals.messages, 40);
    assert_eq!(m.sessions[&Key::new(0, 9)].cycle, 4);
    assert_eq!(
        m.sessions[&Key::new(0, 9)].transport,
        "websocket",
        "details from the snapshot"
    );
}

#[test]
fn history_is_bounded_and_the_realms_traffic_follows_the_cycles() {
    let mut m = Model::new(0.0, 30.0);
    m.apply(join(1), 0.0);
    for c in 1..=1000u64 {
        m.apply(stats(1, c, 5, 0.1), c as f64 * 0.1);
        if c % 10 == 0 {
            m.tick(c as f64 * 0.1);
        }
    }
    let row = &m.sessions[&Key::new(0, 1)];
    assert_eq!(row.history.len(), wamp_monitor::model::HISTORY);
    assert_eq!(row.totals.messages, 5000);
    assert!(
        (m.stats_events_per_s - 10.0).abs() < 1e-6,
        "ten cycles a second: {}",
        m.stats_events_per_s
    );
    // 10 cycles of 5 messages a second, every complete second of the last minute (cycle 1,
    // the join, counts as any other cycle here).
    let msgs = m.traffic.rates(Window::OneMinute, Channel::Msgs, 100.0);
    assert!(msgs.iter().all(|&r| (r - 50.0).abs() < 1e-6), "{msgs:?}");
}

/// A cycle from a router with the rx/tx split of messages and bytes (wampstat's).
fn split_stats(id: u64, rx: (u64, u64), tx: (u64, u64), duration_s: f64) -> MetaEvent {
    MetaEvent::Stats(
        dict! {"realm" => "realm1", "session" => id},
        dict! {"duration" => (duration_s * 1e9) as u64, "messages" => rx.0 + tx.0,
        "bytes" => rx.1 + tx.1, "messages_rx" => rx.0, "messages_tx" => tx.0,
        "bytes_rx" => rx.1, "bytes_tx" => tx.1},
    )
}

#[test]
fn a_cycle_is_spread_over_the_seconds_it_lasted() {
    let mut m = Model::new(0.0, 30.0);
    m.apply(join(1), 0.0);
    // A 2-s cycle of 40 messages ending at 20.0: 20 a second in the buckets 18 and 19.
    m.apply(stats(1, 2, 40, 2.0), 20.0);
    let row = &m.sessions[&Key::new(0, 1)];
    let msgs = row.series.rates(Window::OneMinute, Channel::Msgs, 20.0);
    assert_eq!(msgs[58..], [20.0, 20.0]);
    assert_eq!(msgs[..58], [0.0; 58]);
    let bytes = row.series.rates(Window::OneMinute, Channel::Bytes, 20.0);
    assert_eq!(bytes[58..], [2000.0, 2000.0]);
    // The cycle counts in the bucket of its end, 20, complete once the clock reaches 21.
    let cycles = row.series.rates(Window::OneMinute, Channel::Cycles, 21.0);
    assert_eq!(
        cycles[57..],
        [0.0, 0.0, 1.0],
        "the cycle counts when it ended"
    );
    // In 5-s steps the 40 messages fall in the bucket 15..20: 8 a second.
    let five = row.series.rates(Window::FiveMinutes, Channel::Msgs, 20.0);
    assert_eq!(five[59], 8.0);
}

#[test]
fn the_realms_traffic_sums_the_sessions() {
    let mut m = Model::new(0.0, 30.0);
    m.apply(join(1), 0.0);
    m.apply(join(2), 0.0);
    m.apply(split_stats(1, (30, 3000), (70, 7000), 1.0), 10.0);
    m.apply(split_stats(2, (5, 500), (15, 1500), 1.0), 10.0);
    m.apply(split_stats(2, (5, 500), (15, 1500), 1.0), 11.0);
    // The seconds 9, 10 and 11: the cycles ending at 10 and 11 lasted the seconds before;
    // each counts as a cycle in the second of its end.
    let at = |ch: Channel| m.traffic.rates(Window::OneMinute, ch, 12.0)[57..].to_vec();
    assert_eq!(at(Channel::Msgs), [120.0, 20.0, 0.0]);
    assert_eq!(at(Channel::MsgsRx), [35.0, 5.0, 0.0]);
    assert_eq!(at(Channel::MsgsTx), [85.0, 15.0, 0.0]);
    assert_eq!(at(Channel::BytesRx), [3500.0, 500.0, 0.0]);
    assert_eq!(at(Channel::BytesTx), [8500.0, 1500.0, 0.0]);
    assert_eq!(at(Channel::Cycles), [0.0, 2.0, 1.0]);
    let one = &m.sessions[&Key::new(0, 1)].series;
    assert_eq!(
        one.rates(Window::OneMinute, Channel::MsgsRx, 12.0)[57..],
        [30.0, 0.0, 0.0]
    );
    assert!(one.has_channel(Channel::MsgsRx) && one.has_channel(Channel::BytesTx));
}

#[test]
fn without_the_split_only_totals_have_data() {
    let mut m = Model::new(0.0, 30.0);
    m.apply(join(1), 0.0);
    // Crossbar.io: messages and bytes, no rx/tx.
    let crossbar = MetaEvent::Stats(
        dict! {"realm" => "realm1", "session" => 1u64},
        dict! {"duration" => 1_000_000_000u64, "messages" => 12u64, "bytes" => 1200u64},
    );
    m.apply(crossbar, 5.0);
    let s = &m.sessions[&Key::new(0, 1)].series;
    assert!(!s.has_channel(Channel::MsgsRx) && !s.has_channel(Channel::BytesRx));
    assert_eq!(s.rates(Window::OneMinute, Channel::Msgs, 6.0)[58], 12.0);
    assert_eq!(
        s.rates(Window::OneMinute, Channel::MsgsTx, 6.0),
        vec![0.0; 60]
    );
}

#[test]
fn connection_changes_are_shown_and_logged() {
    let mut m = Model::new(0.0, 30.0);
    assert_eq!(*m.connection(0), Connection::Connecting);
    m.apply(MetaEvent::Connected("ws://x:1/ws".into()), 0.0);
    m.apply(MetaEvent::Disconnected("refused".into(), Some(2.0)), 1.0);
    assert_eq!(
        *m.connection(0),
        Connection::Lost("refused".into(), Some(3.0))
    );
    m.apply(
        MetaEvent::Killed(5, Err("wamp.error.not_authorized".into())),
        2.0,
    );
    assert_eq!(m.log.len(), 3);
    let _ = Dict::new();
}

#[test]
fn sessions_missing_from_a_new_snapshot_left_while_the_monitor_was_away() {
    let mut m = Model::new(0.0, 30.0);
    m.apply(join(1), 0.0);
    m.apply(join(2), 0.0);
    m.apply(
        MetaEvent::Disconnected("router restarted".into(), None),
        1.0,
    );
    let still = match join(2) {
        MetaEvent::Join(d) => d,
        _ => unreachable!(),
    };
    m.apply(MetaEvent::Snapshot(vec![still]), 5.0);
    assert_eq!(m.sessions[&Key::new(0, 1)].left_at, Some(5.0));
    assert_eq!(m.sessions[&Key::new(0, 2)].left_at, None);
    assert_eq!(m.live(), 1);
}
