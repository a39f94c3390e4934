//! Snapshot tests of a replay in progress at 80×24 and 160×48: the header's replay bar playing
//! and paused, on a small fixture recorded with [`Recorder`] into a temp file and loaded back
//! (fixed times, no wall clock).
//!
//! Update with `INSTA_UPDATE=always cargo test -p wamp-monitor --test replay_screens` and read
//! the `.snap` files before keeping them.

mod common;

use common::TempPath;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use wamp::{Dict, Value};
use wamp_monitor::feed::FeedItem;
use wamp_monitor::model::Model;
use wamp_monitor::record::{RecordCap, Recorder};
use wamp_monitor::replay::Playback;
use wamp_monitor::ui;
use wamp_monitor::view::View;

/// 2025-12-02 03:12:00 UTC: the incident.
const T0: u64 = 1_764_645_120;

fn dict(pairs: Vec<(&str, Value)>) -> Dict {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn at(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0) + Duration::from_secs_f64(secs)
}

fn event(topic: &str, args: Vec<Value>, secs: f64) -> (f64, FeedItem) {
    let item = FeedItem::Event {
        topic: topic.into(),
        args,
        kwargs: Dict::new(),
        received: at(secs),
    };
    (secs, item)
}

/// Who joins: id, authid, role, messages per 2-second cycle.
const SESSIONS: [(u64, &str, &str, u64); 3] = [
    (6272281592326793, "ingest-worker", "backend", 900),
    (8772193469365952, "dashboard-7", "frontend", 60),
    (1038632614908329, "batch-export", "backend", 2400),
];

fn join(id: u64, authid: &str, role: &str, secs: f64) -> (f64, FeedItem) {
    let transport = dict(vec![
        ("channel_framing", "websocket".into()),
        ("channel_serializer", "json".into()),
        ("peer", "tcp4:10.0.0.7:41822".into()),
    ]);
    let details = dict(vec![
        ("session", Value::UInt(id)),
        ("authid", authid.into()),
        ("authrole", role.into()),
        ("transport", Value::Dict(transport)),
    ]);
    event("wamp.session.on_join", vec![Value::Dict(details)], secs)
}

fn stats(id: u64, cycle: u64, messages: u64, secs: f64) -> (f64, FeedItem) {
    let info = dict(vec![("session", Value::UInt(id))]);
    let stats = dict(vec![
        ("cycle", Value::UInt(cycle)),
        ("serializer", "json".into()),
        ("duration", Value::UInt(2_000_000_000)),
        ("bytes", Value::UInt(messages * 120)),
        ("messages", Value::UInt(messages)),
        ("rated_messages", Value::UInt(messages)),
    ]);
    let args = vec![Value::Dict(info), Value::Dict(stats)];
    event("wamp.session.on_stats", args, secs)
}

/// Two minutes: three sessions join, report every two seconds, the export leaves at 90 s.
fn record(file: &TempPath) {
    let routers = [("ws://10.0.0.1:8080/ws".to_owned(), "realm1".to_owned())];
    let mut rec = Recorder::create(&file.0, &routers, RecordCap::default()).unwrap();
    let mut items = vec![(0.1, FeedItem::Connected(routers[0].0.clone()))];
    for (i, (id, authid, role, _)) in SESSIONS.iter().enumerate() {
        items.push(join(*id, authid, role, 1.0 + i as f64));
    }
    for cycle in 1..=60u64 {
        let secs = 2.0 * cycle as f64 + 2.5;
        for (id, _, _, messages) in SESSIONS {
            let gone = id == SESSIONS[2].0 && secs > 90.0;
            if !gone {
                let wobble = 1 + (cycle * 7 + id % 5) % 4;
                items.push(stats(id, cycle, messages * wobble / 2, secs));
            }
        }
    }
    items.push(event(
        "wamp.session.on_leave",
        vec![Value::UInt(SESSIONS[2].0)],
        90.5,
    ));
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (secs, item) in &items {
        rec.write(at(*secs), 0, item).unwrap();
    }
    rec.flush().unwrap();
}

/// The replay `secs` into the recording at 2×, paused or playing, as the app shows it.
fn replay_at(file: &TempPath, secs: f64, paused: bool) -> (Model, View, f64) {
    let mut playback = Playback::open(&file.0, 30.0).unwrap();
    let mut model = playback.fresh_model();
    playback.seek(&mut model, secs);
    playback.set_speed(2.0);
    if paused {
        playback.toggle_pause();
    }
    let mut view = View::new(true);
    view.wall_offset = Some(playback.wall_offset());
    view.replay = Some(playback.status());
    (model, view, playback.now())
}

/// The screen as text with the temp file's varying name replaced.
fn render(file: &TempPath, secs: f64, paused: bool, width: u16, height: u16) -> String {
    let (model, mut view, now) = replay_at(file, secs, paused);
    if let Some(status) = &mut view.replay {
        status.name = "incident.ndjson".into();
    }
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|f| {
            view.fit(f.area(), &model, now);
            ui::draw(f, &model, &view, now);
        })
        .expect("drawn");
    terminal.backend().to_string()
}

#[test]
fn replay_playing_80x24() {
    let file = TempPath::new("playing80");
    record(&file);
    insta::assert_snapshot!(render(&file, 44.0, false, 80, 24));
}

#[test]
fn replay_paused_80x24() {
    let file = TempPath::new("paused80");
    record(&file);
    insta::assert_snapshot!(render(&file, 95.0, true, 80, 24));
}

#[test]
fn replay_playing_160x48() {
    let file = TempPath::new("playing160");
    record(&file);
    insta::assert_snapshot!(render(&file, 44.0, false, 160, 48));
}

#[test]
fn replay_paused_160x48() {
    let file = TempPath::new("paused160");
    record(&file);
    insta::assert_snapshot!(render(&file, 95.0, true, 160, 48));
}

#[test]
fn the_header_shows_the_replay_bar_instead_of_the_connection() {
    let file = TempPath::new("header");
    record(&file);
    let playing = render(&file, 44.0, false, 160, 48);
    let top = playing.lines().next().unwrap_or_default();
    assert!(
        top.contains("▶ REPLAY incident.ndjson  03:12:44  2×  ━"),
        "{top}"
    );
    assert!(top.contains("10.0.0.1:8080 realm1"), "{top}");
    assert!(!top.contains("connected"), "{top}");
    let paused = render(&file, 95.0, true, 80, 24);
    let top = paused.lines().next().unwrap_or_default();
    assert!(top.contains("⏸ REPLAY"), "{top}");
    let end = render(&file, 1000.0, false, 80, 24);
    let top = end.lines().next().unwrap_or_default();
    assert!(top.contains(" end"), "{top}");
}

#[test]
fn the_help_lists_the_replay_keys_only_in_a_replay() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let file = TempPath::new("help");
    record(&file);
    let (model, mut view, now) = replay_at(&file, 44.0, false);
    let rows = view.visible_rows(&model, now);
    view.on_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE), &rows);
    let draw = |view: &mut View, width, height| {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a terminal");
        terminal
            .draw(|f| {
                view.fit(f.area(), &model, now);
                ui::draw(f, &model, view, now);
            })
            .expect("drawn");
        terminal.backend().to_string()
    };
    for (width, height) in [(80, 24), (160, 48)] {
        let text = draw(&mut view, width, height);
        assert!(text.contains("seek back / forward 10 s"), "{text}");
        assert!(text.contains("pause / resume playback"), "{text}");
        assert!(!text.contains("pause / resume the display"), "{text}");
    }
    view.replay = None;
    let live = draw(&mut view, 160, 48);
    assert!(!live.contains("seek back"), "{live}");
    assert!(live.contains("pause / resume the display"), "{live}");
}
