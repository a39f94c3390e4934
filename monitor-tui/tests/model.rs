//! The model, driven by events captured from Crossbar.io and by hand-made ones.

use wamp::{Dict, Value, dict};
use wamp_monitor::model::{Connection, Key, MetaEvent, Model, parse_event};

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
fn aggregate_rates_and_history_are_bounded() {
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
    assert!(m.aggregate.len() <= wamp_monitor::model::AGGREGATE_HISTORY);
    let (msgs, _) = *m.aggregate.last().unwrap();
    assert!(
        (msgs - 50.0).abs() < 1e-6,
        "10 cycles of 5 messages per second: {msgs}"
    );
    assert_eq!(row.totals.messages, 5000);
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
