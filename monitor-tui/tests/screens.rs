//! Snapshot tests of the screen: the main screen, the detail pane and the help overlay at
//! 80×24 and 160×48, drawn from a fixed model on a fixed clock (no wall clock, no randomness).
//!
//! Update with `INSTA_UPDATE=always cargo test -p wamp-monitor --test screens` and read the
//! `.snap` files before keeping them.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use wamp::{Dict, Value};
use wamp_monitor::model::{MetaEvent, Model, Router};
use wamp_monitor::series::{Channel, Window};
use wamp_monitor::ui;
use wamp_monitor::view::View;

/// The moment every screen is drawn at: 12 min 41 s after the monitor started.
const NOW: f64 = 761.1;
/// The monitor started at 13:49:30 wall-clock time.
const STARTED: f64 = 13.0 * 3600.0 + 49.0 * 60.0 + 30.0;

fn dict(pairs: Vec<(&str, Value)>) -> Dict {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A session of the fixture: who it is and how it talks.
struct Fixture {
    id: u64,
    authid: &'static str,
    role: &'static str,
    framing: &'static str,
    serializer: &'static str,
    peer: &'static str,
    /// Seconds between its stats cycles, and messages per cycle (`None`: statistics off).
    cadence: Option<(f64, u64)>,
    /// Average message size in bytes.
    size: u64,
    /// Whether its router reports the rx/tx split (ours does, Crossbar does not).
    split: bool,
}

const SESSIONS: [Fixture; 6] = [
    Fixture {
        id: 6272281592326793,
        authid: "5UR5-7FTV-3X4K",
        role: "anonymous",
        framing: "websocket",
        serializer: "json",
        peer: "tcp4:127.0.0.1:52700",
        cadence: Some((0.25, 3000)),
        size: 118,
        split: true,
    },
    Fixture {
        id: 8772193469365952,
        authid: "JPFW-9PAK-3367",
        role: "anonymous",
        framing: "rawsocket",
        serializer: "msgpack",
        peer: "tcp4:127.0.0.1:52702",
        cadence: Some((0.5, 5400)),
        size: 97,
        split: true,
    },
    Fixture {
        id: 1038632614908329,
        authid: "MTHR-ANE9-CFAR",
        role: "backend",
        framing: "rawsocket",
        serializer: "msgpack",
        peer: "tcp4:10.1.7.23:41822",
        cadence: Some((2.0, 420)),
        size: 92,
        split: true,
    },
    Fixture {
        id: 2219006431177540,
        authid: "billing-service",
        role: "backend",
        framing: "websocket",
        serializer: "msgpack",
        peer: "tcp4:10.1.7.24:50214",
        cadence: Some((10.0, 90)),
        size: 640,
        split: false,
    },
    Fixture {
        id: 4410092211345678,
        authid: "YJCS-RJHF-7S7X-AU3S-A9GS-QV6Q",
        role: "frontend",
        framing: "websocket",
        serializer: "json",
        peer: "tcp6:[::1]:40112",
        cadence: None,
        size: 0,
        split: false,
    },
    Fixture {
        id: 5711955232589440,
        authid: "Q2XW-71KD-PL0Z",
        role: "anonymous",
        framing: "websocket",
        serializer: "json",
        peer: "tcp4:127.0.0.1:52731",
        cadence: Some((1.0, 12)),
        size: 110,
        split: true,
    },
];

/// More sessions for the grouping screens, so groups have more than one member: a second
/// `billing-service` on the host of the first.
const MORE: [Fixture; 1] = [Fixture {
    id: 3390417725016622,
    authid: "billing-service",
    role: "backend",
    framing: "websocket",
    serializer: "msgpack",
    peer: "tcp4:10.1.7.24:50390",
    cadence: Some((2.0, 300)),
    size: 512,
    split: true,
}];

/// The session that leaves, and when (12 s before [`NOW`]).
const LEAVER: u64 = 5711955232589440;
const LEFT_AT: f64 = 749.0;

fn join_details(f: &Fixture) -> Dict {
    let protocol = match f.framing {
        "websocket" => Value::Str(format!("wamp.2.{}", f.serializer)),
        _ => Value::Null,
    };
    let transport = dict(vec![
        ("channel_type", "tcp".into()),
        ("channel_framing", f.framing.into()),
        ("channel_serializer", f.serializer.into()),
        ("peer", f.peer.into()),
        ("is_server", Value::Bool(true)),
        ("websocket_protocol", protocol),
    ]);
    let authextra = dict(vec![
        ("x_cb_node", "node1".into()),
        ("x_cb_peer", f.peer.into()),
        ("x_cb_pid", 4711.into()),
    ]);
    dict(vec![
        ("realm", "realm1".into()),
        ("session", Value::Int(f.id as i64)),
        ("authid", f.authid.into()),
        ("authrole", f.role.into()),
        ("authmethod", "anonymous".into()),
        ("authprovider", "static".into()),
        ("authextra", Value::Dict(authextra)),
        ("serializer", f.serializer.into()),
        ("transport", Value::Dict(transport)),
    ])
}

/// A deterministic wobble in 0.1..1.9, so the sparklines have a shape.
fn wobble(id: u64, n: u64) -> f64 {
    let phase = (id % 97) as f64;
    1.0 + 0.6 * ((n as f64 + phase) / 9.0).sin() + 0.3 * ((n as f64 * 7.0 + phase) / 5.0).cos()
}

/// How the traffic varies over time: not at all (the main screens), or with a shape the charts
/// must show (a slow ramp, a burst in minute 10, a spike 25 s before [`NOW`]).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Flat,
    Bursts,
}

impl Shape {
    /// The factor on a cycle's messages ending at `now`.
    fn factor(self, now: f64) -> f64 {
        match self {
            Shape::Flat => 1.0,
            Shape::Bursts if (600.0..660.0).contains(&now) => 4.0,
            Shape::Bursts if (730.0..740.0).contains(&now) => 3.0,
            Shape::Bursts => 0.5 + now / 1500.0,
        }
    }
}

/// What the router says of a cycle: everything (wampstat), or no rx/tx split (Crossbar.io).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Feed {
    shape: Shape,
    split: bool,
}

const FLAT: Feed = Feed {
    shape: Shape::Flat,
    split: true,
};

fn stats_event(
    f: &Fixture,
    cycle: u64,
    cadence: f64,
    messages: u64,
    feed: Feed,
    now: f64,
) -> MetaEvent {
    let info = dict(vec![
        ("realm", "realm1".into()),
        ("session", Value::Int(f.id as i64)),
        ("authid", f.authid.into()),
        ("authrole", f.role.into()),
    ]);
    let messages = (messages as f64 * wobble(f.id, cycle) * feed.shape.factor(now)) as u64;
    let bytes = messages * f.size;
    let jitter = 1.0 + 0.04 * (cycle as f64 * 1.7).sin();
    let duration = (cadence * jitter * 1e9) as i64;
    let mut stats = vec![
        ("cycle", Value::Int(cycle as i64)),
        ("serializer", f.serializer.into()),
        ("duration", Value::Int(duration)),
        ("bytes", Value::Int(bytes as i64)),
        ("messages", Value::Int(messages as i64)),
        (
            "rated_messages",
            Value::Int((messages + messages * f.size / 256) as i64),
        ),
    ];
    if f.split && feed.split {
        let rx = bytes * 61 / 100;
        stats.push(("bytes_rx", Value::Int(rx as i64)));
        stats.push(("bytes_tx", Value::Int((bytes - rx) as i64)));
        let rx = messages * 40 / 100;
        stats.push(("messages_rx", Value::Int(rx as i64)));
        stats.push(("messages_tx", Value::Int((messages - rx) as i64)));
    }
    MetaEvent::Stats(info, dict(stats))
}

/// The model after 761 s: connected, six sessions joined, stats flowing, one session left,
/// one kill done and one refused. Every event has a fixed time; ticks are every 0.25 s.
fn model() -> Model {
    model_of(FLAT)
}

/// The model with [`MORE`] sessions, for the grouping screens.
fn grouped_model() -> Model {
    sessions_model(&SESSIONS.iter().chain(&MORE).collect::<Vec<_>>(), FLAT)
}

/// [`model`], with the traffic and the rx/tx split of `feed`.
fn model_of(feed: Feed) -> Model {
    sessions_model(&SESSIONS.iter().collect::<Vec<_>>(), feed)
}

/// The model of these sessions after 761 s, as [`model`] describes it, with the traffic and
/// the rx/tx split of `feed`.
fn sessions_model(sessions: &[&Fixture], feed: Feed) -> Model {
    let routers = vec![Router::new("ws://127.0.0.1:8080/ws", "realm1")];
    let mut m = Model::with_routers(0.0, 30.0, routers);
    m.apply(MetaEvent::Connected("ws://127.0.0.1:8080/ws".into()), 0.2);
    for (i, f) in sessions.iter().enumerate() {
        m.apply(MetaEvent::Join(join_details(f)), 1.0 + i as f64);
    }
    let mut cycles = vec![0u64; sessions.len()];
    for step in 1..=3044u64 {
        let now = step as f64 * 0.25;
        for (i, f) in sessions.iter().enumerate() {
            let Some((cadence, messages)) = f.cadence else {
                continue;
            };
            let every = (cadence / 0.25) as u64;
            let gone = f.id == LEAVER && now >= LEFT_AT;
            if now > 8.0 && step.is_multiple_of(every) && !gone {
                cycles[i] += 1;
                m.apply(stats_event(f, cycles[i], cadence, messages, feed, now), now);
            }
        }
        if now == LEFT_AT {
            m.apply(MetaEvent::Leave(LEAVER), now);
        }
        if now == 600.0 {
            m.apply(MetaEvent::Killed(3303817754120881, Ok(())), now);
        }
        if now == 755.5 {
            let refused = Err("wamp.error.not_authorized".to_owned());
            m.apply(MetaEvent::Killed(1038632614908329, refused), now);
        }
        m.tick(now);
    }
    m
}

fn view() -> View {
    let mut v = View::new(true);
    v.wall_offset = Some(STARTED);
    v
}

fn key(view: &mut View, model: &Model, code: KeyCode) {
    let rows = view.visible(model, NOW);
    view.on_key_rows(KeyEvent::new(code, KeyModifiers::NONE), &rows);
}

/// Draws one frame as the program does: fit the view to the screen, then draw.
fn terminal(model: &Model, view: &mut View, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|f| {
            view.fit(f.area(), model, NOW);
            ui::draw(f, model, view, NOW);
        })
        .expect("drawn");
    terminal
}

fn buffer(model: &Model, view: &mut View, width: u16, height: u16) -> Buffer {
    terminal(model, view, width, height)
        .backend()
        .buffer()
        .clone()
}

/// The screen as text, one quoted line per row.
fn render(model: &Model, view: &mut View, width: u16, height: u16) -> String {
    terminal(model, view, width, height).backend().to_string()
}

#[test]
fn main_screen_80x24() {
    insta::assert_snapshot!(render(&model(), &mut view(), 80, 24));
}

#[test]
fn main_screen_160x48() {
    insta::assert_snapshot!(render(&model(), &mut view(), 160, 48));
}

fn detail_view(model: &Model) -> View {
    let mut v = view();
    key(&mut v, model, KeyCode::Down);
    key(&mut v, model, KeyCode::Enter);
    v
}

#[test]
fn detail_pane_80x24() {
    let m = model();
    insta::assert_snapshot!(render(&m, &mut detail_view(&m), 80, 24));
}

#[test]
fn detail_pane_160x48() {
    let m = model();
    insta::assert_snapshot!(render(&m, &mut detail_view(&m), 160, 48));
}

/// The detail pane of the busiest session of the fixture with bursts, in each window.
fn charts(feed: Feed, width: u16, height: u16) {
    let m = model_of(feed);
    let mut v = detail_view(&m);
    for window in Window::ALL {
        v.window = window;
        let name = format!(
            "charts_{}{}_{width}x{height}",
            if feed.split { "" } else { "no_split_" },
            window.label()
        );
        insta::assert_snapshot!(name, render(&m, &mut v, width, height));
    }
}

const BURSTS: Feed = Feed {
    shape: Shape::Bursts,
    split: true,
};

#[test]
fn charts_in_every_window_80x24() {
    charts(BURSTS, 80, 24);
}

#[test]
fn charts_in_every_window_160x48() {
    charts(BURSTS, 160, 48);
}

#[test]
fn charts_without_the_rx_tx_split() {
    let crossbar = Feed {
        split: false,
        ..BURSTS
    };
    charts(crossbar, 80, 24);
    charts(crossbar, 160, 48);
}

#[test]
fn the_header_and_trend_follow_the_window() {
    let m = model_of(BURSTS);
    let mut v = view();
    for window in Window::ALL {
        v.window = window;
        let text = render(&m, &mut v, 160, 48);
        let header = text.lines().nth(1).unwrap_or_default();
        assert!(
            header.contains(&format!("· {}", window.label())),
            "{header}"
        );
        insta::assert_snapshot!(format!("main_screen_{}_160x48", window.label()), text);
    }
}

fn help_view(model: &Model) -> View {
    let mut v = view();
    key(&mut v, model, KeyCode::Char('?'));
    v
}

#[test]
fn help_overlay_80x24() {
    let m = model();
    insta::assert_snapshot!(render(&m, &mut help_view(&m), 80, 24));
}

#[test]
fn help_overlay_160x48() {
    let m = model();
    insta::assert_snapshot!(render(&m, &mut help_view(&m), 160, 48));
}

#[test]
fn kill_confirmation_and_filter_80x24() {
    let m = model();
    let mut v = view();
    for c in "/backend".chars() {
        key(&mut v, &m, KeyCode::Char(c));
    }
    key(&mut v, &m, KeyCode::Enter);
    key(&mut v, &m, KeyCode::Char('x'));
    insta::assert_snapshot!(render(&m, &mut v, 80, 24));
}

#[test]
fn the_left_session_is_dim_and_the_selection_reversed() {
    let m = model();
    let buf = buffer(&m, &mut view(), 160, 48);
    let row_of = |text: &str| {
        (0..buf.area.height)
            .find(|&y| line(&buf, y).contains(text))
            .expect(text)
    };
    let left = row_of(&LEAVER.to_string());
    assert!(
        buf[(3, left)].modifier.contains(Modifier::DIM),
        "left sessions are dimmed"
    );
    // Nothing chosen yet: the first row (the busiest session) is selected.
    let first = view().visible_rows(&m, NOW)[0].id.to_string();
    let selected = row_of(&first);
    assert!(
        buf[(3, selected)].modifier.contains(Modifier::REVERSED),
        "the selection is reversed"
    );
}

#[test]
fn no_color_uses_modifiers_only() {
    let m = model();
    let mut v = detail_view(&m);
    v.color = false;
    let buf = buffer(&m, &mut v, 160, 48);
    for cell in buf.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
}

fn line(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

#[test]
fn a_lost_connection_and_a_pause_show_in_the_header() {
    let mut m = model();
    let why = "connection refused (os error 111) while connecting to ws://127.0.0.1:8080/ws";
    m.apply(MetaEvent::Disconnected(why.into(), None), NOW);
    let mut v = view();
    key(&mut v, &m, KeyCode::Char('p'));
    for width in [60, 80, 160] {
        let buf = buffer(&m, &mut v, width, 24);
        let top = line(&buf, 0);
        assert!(top.contains("reconnecting: conn"), "{width}: {top}");
        assert!(top.trim_end().ends_with("PAUSED"), "{width}: {top}");
        assert!(top.contains("ws://127.0.0"), "{width}: {top}");
        assert!(
            line(&buf, 23).contains("resume"),
            "the footer says how to resume"
        );
    }
}

#[test]
fn tiny_and_empty_screens_do_not_panic() {
    let m = model();
    for (w, h) in [(0, 0), (1, 1), (20, 5), (40, 12), (79, 23), (300, 100)] {
        let mut v = detail_view(&m);
        buffer(&m, &mut v, w, h);
        key(&mut v, &m, KeyCode::Char('?'));
        buffer(&m, &mut v, w, h);
    }
    let empty = Model::new(0.0, 30.0);
    let text = render(&empty, &mut view(), 80, 24);
    assert!(text.contains("no sessions yet"), "{text}");
}

#[test]
fn fit_keeps_the_selection_on_screen() {
    let m = model();
    let mut v = view();
    let rows = v.fit(ratatui::layout::Rect::new(0, 0, 80, 13), &m, NOW);
    assert_eq!(rows.len(), 6);
    assert_eq!(v.page, 3, "80×13 leaves three table rows");
    for _ in 0..5 {
        key(&mut v, &m, KeyCode::Down);
    }
    let text = render(&m, &mut v, 80, 13);
    assert!(text.contains("4–6 of 6"), "{text}");
    assert_eq!(
        v.selected.map(|k| k.id),
        Some(LEAVER),
        "the left session sorts last by msgs/s"
    );
}

/// The view after `g` pressed `times` times (1: by authid … 4: by host).
fn grouped_view(model: &Model, times: usize) -> View {
    let mut v = view();
    for _ in 0..times {
        key(&mut v, model, KeyCode::Char('g'));
    }
    v
}

#[test]
fn groups_by_authid_80x24() {
    let m = grouped_model();
    insta::assert_snapshot!(render(&m, &mut grouped_view(&m, 1), 80, 24));
}

#[test]
fn groups_by_authid_160x48() {
    let m = grouped_model();
    insta::assert_snapshot!(render(&m, &mut grouped_view(&m, 1), 160, 48));
}

#[test]
fn groups_by_role_80x24() {
    let m = grouped_model();
    insta::assert_snapshot!(render(&m, &mut grouped_view(&m, 2), 80, 24));
}

#[test]
fn groups_by_role_160x48() {
    let m = grouped_model();
    insta::assert_snapshot!(render(&m, &mut grouped_view(&m, 2), 160, 48));
}

#[test]
fn groups_by_transport_80x24() {
    let m = grouped_model();
    insta::assert_snapshot!(render(&m, &mut grouped_view(&m, 3), 80, 24));
}

#[test]
fn groups_by_transport_160x48() {
    let m = grouped_model();
    insta::assert_snapshot!(render(&m, &mut grouped_view(&m, 3), 160, 48));
}

#[test]
fn groups_by_host_80x24() {
    let m = grouped_model();
    insta::assert_snapshot!(render(&m, &mut grouped_view(&m, 4), 80, 24));
}

#[test]
fn groups_by_host_160x48() {
    let m = grouped_model();
    insta::assert_snapshot!(render(&m, &mut grouped_view(&m, 4), 160, 48));
}

/// By authid, sorted by session count (`s` twice: the cycle column): billing-service, the one
/// group of two, comes first; Enter opens it.
fn billing_view(model: &Model) -> View {
    let mut v = grouped_view(model, 1);
    for _ in 0..2 {
        key(&mut v, model, KeyCode::Char('s'));
    }
    assert_eq!(
        v.sort,
        wamp_monitor::view::SortColumn::Cycle,
        "groups by sessions"
    );
    key(&mut v, model, KeyCode::Enter);
    v
}

#[test]
fn an_open_group_80x24() {
    let m = grouped_model();
    let text = render(&m, &mut billing_view(&m), 80, 24);
    assert!(
        text.contains("Sessions · authid = billing-service"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn an_open_group_160x48() {
    let m = grouped_model();
    insta::assert_snapshot!(render(&m, &mut billing_view(&m), 160, 48));
}

#[test]
fn an_open_group_that_is_gone_says_how_to_go_back() {
    let m = grouped_model();
    let mut v = billing_view(&m);
    v.grouping.open = Some("nobody".into());
    let text = render(&m, &mut v, 80, 24);
    assert!(
        text.contains("no session left with authid = nobody"),
        "{text}"
    );
}

#[test]
fn esc_returns_from_an_open_group_to_it_selected() {
    let m = grouped_model();
    let mut v = billing_view(&m);
    key(&mut v, &m, KeyCode::Esc);
    let buf = buffer(&m, &mut v, 160, 48);
    let y = (0..buf.area.height)
        .find(|&y| line(&buf, y).contains("billing-service"))
        .expect("the group's row");
    assert!(
        buf[(3, y)].modifier.contains(Modifier::REVERSED),
        "the group is still selected"
    );
}

#[test]
fn a_left_sessions_charts_stop_at_its_leave_time() {
    let m = model_of(BURSTS);
    let mut v = view();
    key(&mut v, &m, KeyCode::End);
    key(&mut v, &m, KeyCode::Enter);
    assert_eq!(v.selected.map(|k| k.id), Some(LEAVER));
    let text = render(&m, &mut v, 160, 48);
    let title = format!("Detail ▸ {LEAVER} · last 1 min (1-s steps) (left 12s ago)");
    assert!(text.contains(&title), "{text}");
    let rx = text
        .lines()
        .find(|l| l.contains("msgs/s rx"))
        .expect("a msgs/s rx chart");
    assert!(rx.contains("now   0"), "nothing since it left: {rx}");
    // Its series: its last cycle ended at 748 (bucket 747..748, index 46 of the minute ending
    // at 760), then nothing.
    let row = m
        .sessions
        .values()
        .find(|r| r.id == LEAVER)
        .expect("the leaver");
    let rates = row.series.rates(Window::OneMinute, Channel::Msgs, NOW);
    assert!(rates[46] > 0.0, "{rates:?}");
    assert!(rates[47..].iter().all(|&r| r == 0.0), "{rates:?}");
}
