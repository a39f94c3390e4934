use super::*;
use crate::model::MetaEvent;
use ratatui::crossterm::event::KeyModifiers;
use wamp::{Dict, Value};

fn dict(pairs: &[(&str, Value)]) -> Dict {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// A session of the fake model: id, authid, role, framing, serializer, peer.
type Who = (
    u64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const WHO: [Who; 5] = [
    (
        1,
        "billing",
        "backend",
        "websocket",
        "json",
        "tcp4:10.0.0.1:5000",
    ),
    (
        2,
        "billing",
        "backend",
        "rawsocket",
        "msgpack",
        "tcp4:10.0.0.1:5001",
    ),
    (
        3,
        "web",
        "frontend",
        "websocket",
        "json",
        "tcp6:[::1]:40112",
    ),
    (4, "web", "frontend", "websocket", "json", "unix"),
    (5, "", "", "", "", ""),
];

fn join(m: &mut Model, (id, authid, role, framing, ser, peer): Who) {
    let transport = dict(&[
        ("channel_framing", framing.into()),
        ("channel_serializer", ser.into()),
        ("peer", peer.into()),
    ]);
    let mut details = dict(&[
        ("session", Value::Int(id as i64)),
        ("authid", authid.into()),
        ("authrole", role.into()),
        ("transport", Value::Dict(transport)),
    ]);
    // Billing on node-a, web on node-b (a cluster), the fifth says nothing.
    let node = match id {
        1 | 2 => "node-a",
        3 | 4 => "node-b",
        _ => "",
    };
    if !node.is_empty() {
        let extra = dict(&[("x_cb_node", node.into())]);
        details.insert("authextra".into(), Value::Dict(extra));
    }
    m.apply(MetaEvent::Join(details), 0.0);
}

/// A 1-s cycle of `messages` messages of 10 bytes, arriving at `now`.
fn stats(m: &mut Model, id: u64, messages: i64, now: f64) {
    let info = dict(&[("session", Value::Int(id as i64))]);
    let stats = dict(&[
        ("messages", Value::Int(messages)),
        ("bytes", Value::Int(messages * 10)),
        ("duration", Value::Int(1_000_000_000)),
    ]);
    m.apply(MetaEvent::Stats(info, stats), now);
}

/// Five sessions on a fake clock: 1 and 2 (billing) send 100 and 50 a second, 3 and 4 (web)
/// 20 and 10, 5 says nothing about itself and sends nothing; 4 leaves at 10.5.
fn model() -> Model {
    let mut m = Model::new(0.0, 60.0);
    for who in WHO {
        join(&mut m, who);
    }
    for t in 1..=10 {
        let now = f64::from(t);
        for (id, msgs) in [(1, 100), (2, 50), (3, 20), (4, 10)] {
            stats(&mut m, id, msgs, now);
        }
    }
    m.apply(MetaEvent::Leave(4), 10.5);
    m
}

const NOW: f64 = 11.0;

fn names(groups: &[Group]) -> Vec<String> {
    groups.iter().map(|g| g.name.clone()).collect()
}

fn by(g: GroupBy) -> Vec<Group> {
    groups(&model(), g, "", NOW)
}

fn find<'a>(groups: &'a [Group], name: &str) -> &'a Group {
    groups.iter().find(|g| g.name == name).expect(name)
}

#[test]
fn g_cycles_through_every_grouping_and_back() {
    let mut g = GroupBy::Sessions;
    let mut seen = vec![];
    for _ in 0..GroupBy::ALL.len() {
        g = g.next();
        seen.push(g.label());
    }
    assert_eq!(
        seen,
        ["authid", "role", "transport", "host", "node", "sessions"]
    );
    assert!(!GroupBy::Sessions.is_grouped());
    assert_eq!(GroupBy::PeerHost.column(), "HOST");
}

#[test]
fn peer_hosts_drop_the_port_and_the_kind() {
    for (peer, host) in [
        ("tcp4:127.0.0.1:52700", "127.0.0.1"),
        ("tcp6:[::1]:40112", "::1"),
        ("tcp6:[fe80::1%eth0]:80", "fe80::1%eth0"),
        ("tcp6:::1:40112", "::1"),
        ("tcp4:10.1.7.23", "10.1.7.23"),
        ("tls4:example.com:443", "example.com"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("[2001:db8::5]:9000", "2001:db8::5"),
        ("2001:db8::5", "2001:db8::5"),
        ("fe80::1", "fe80::1"),
        ("unix", "unix"),
        ("unix:/tmp/wamp.sock", "unix"),
        ("tcp6:[::1", "::1"),
        ("", ""),
    ] {
        assert_eq!(peer_host(peer), host, "{peer}");
    }
}

#[test]
fn group_names_by_every_grouping() {
    let mut a = names(&by(GroupBy::Authid));
    a.sort_unstable();
    assert_eq!(a, ["billing", "web", "–"]);
    let mut t = names(&by(GroupBy::Transport));
    t.sort_unstable();
    assert_eq!(t, ["rs/msgpack", "ws/json", "–"]);
    let mut h = names(&by(GroupBy::PeerHost));
    h.sort_unstable();
    assert_eq!(h, ["10.0.0.1", "::1", "unix", "–"]);
    let mut n = names(&by(GroupBy::Node));
    n.sort_unstable();
    assert_eq!(n, ["node-a", "node-b", "–"]);
    assert!(by(GroupBy::Sessions).is_empty(), "not grouped: no groups");
    let m = model();
    let row = &m.sessions[&Key::new(0, 2)];
    assert_eq!(GroupBy::Transport.name_of(row), "rs/msgpack");
    assert_eq!(GroupBy::Authrole.name_of(row), "backend");
    assert_eq!(GroupBy::Sessions.name_of(row), "2");
}

#[test]
fn counts_live_and_left_and_sums_rates_and_totals() {
    let groups = by(GroupBy::Authid);
    let billing = find(&groups, "billing");
    assert_eq!((billing.live, billing.left), (2, 0));
    assert_eq!(billing.msgs_per_s, 150.0);
    assert_eq!(billing.bytes_per_s, 1500.0);
    assert_eq!((billing.messages, billing.bytes), (1500, 15_000));
    assert_eq!(billing.members, [Key::new(0, 1), Key::new(0, 2)]);
    let web = find(&groups, "web");
    assert_eq!((web.live, web.left, web.sessions()), (1, 1, 2));
    assert_eq!(web.msgs_per_s, 20.0, "the session that left sends nothing");
    assert_eq!(web.messages, 300, "but its traffic counts in the totals");
    let unknown = find(&groups, "–");
    assert!(!unknown.has_stats);
    assert!(billing.has_stats);
}

#[test]
fn the_filter_matches_sessions_so_groups_shrink() {
    let m = model();
    let ws = groups(&m, GroupBy::Authid, "websocket", NOW);
    assert_eq!(names(&ws), ["billing", "web"]);
    assert_eq!(find(&ws, "billing").live, 1, "only its websocket session");
    let none = groups(&m, GroupBy::Authid, "nobody", NOW);
    assert!(none.is_empty());
    let by_name = groups(&m, GroupBy::Authrole, "front", NOW);
    assert_eq!(names(&by_name), ["frontend"]);
}

#[test]
fn sort_orders_follow_the_view_sort_column() {
    let sorted = |column: SortColumn, reversed: bool| {
        let mut g = by(GroupBy::Authid);
        sort(&mut g, column, reversed);
        names(&g)
    };
    assert_eq!(
        sorted(SortColumn::MessagesPerS, false),
        ["billing", "web", "–"]
    );
    assert_eq!(
        sorted(SortColumn::MessagesPerS, true),
        ["–", "web", "billing"]
    );
    assert_eq!(
        sorted(SortColumn::BytesPerS, false),
        ["billing", "web", "–"]
    );
    assert_eq!(sorted(SortColumn::Messages, false), ["billing", "web", "–"]);
    assert_eq!(sorted(SortColumn::Bytes, false), ["billing", "web", "–"]);
    assert_eq!(sorted(SortColumn::Authid, false), ["billing", "web", "–"]);
    assert_eq!(sorted(SortColumn::Role, true), ["–", "web", "billing"]);
    // Two live sessions before one live (and one left), then ties by name.
    assert_eq!(sorted(SortColumn::Session, false), ["billing", "web", "–"]);
    assert_eq!(GroupOrder::of(SortColumn::Age), GroupOrder::Name);
    assert_eq!(GroupOrder::of(SortColumn::Cycle), GroupOrder::Sessions);
    assert_eq!(GroupOrder::of(SortColumn::Rated), GroupOrder::Messages);
}

#[test]
fn a_trend_is_the_sum_of_its_members_series() {
    let m = model();
    let groups = groups(&m, GroupBy::Authid, "", NOW);
    let billing = find(&groups, "billing");
    let trend = billing.trend(&m, Window::OneMinute, NOW);
    let one = m.sessions[&Key::new(0, 1)]
        .series
        .rates(Window::OneMinute, Channel::Msgs, NOW);
    let two = m.sessions[&Key::new(0, 2)]
        .series
        .rates(Window::OneMinute, Channel::Msgs, NOW);
    let sum: Vec<f64> = one.iter().zip(&two).map(|(a, b)| a + b).collect();
    assert_eq!(trend, sum);
    assert_eq!(trend[POINTS - 2], 150.0, "the cycle that ended at 10");
    assert_eq!(trend.len(), POINTS);
}

#[test]
fn ten_thousand_sessions_group_in_a_few_milliseconds() {
    let mut m = Model::new(0.0, 60.0);
    let ser = ["json", "msgpack", "cbor"];
    for id in 0..10_000u64 {
        let authid = format!("app-{}", id % 50);
        let peer = format!("tcp4:10.0.{}.{}:{}", id % 7, id % 13, 40000 + id % 1000);
        let transport = dict(&[
            ("channel_framing", "websocket".into()),
            ("channel_serializer", ser[(id % 3) as usize].into()),
            ("peer", peer.as_str().into()),
        ]);
        let details = dict(&[
            ("session", Value::Int(id as i64)),
            ("authid", authid.as_str().into()),
            ("authrole", "user".into()),
            ("transport", Value::Dict(transport)),
        ]);
        m.apply(MetaEvent::Join(details), 0.0);
        stats(&mut m, id, 10, 1.0);
    }
    let mut view = View::new(false);
    view.grouping.by = GroupBy::Authid;
    let start = std::time::Instant::now();
    let groups = view.visible_groups(&m, 2.0);
    let took = start.elapsed();
    assert_eq!(groups.len(), 50);
    assert_eq!(groups.iter().map(Group::sessions).sum::<usize>(), 10_000);
    // Unoptimised test builds are slow; the release build is far below this.
    assert!(took.as_millis() < 100, "{took:?}");
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// A frame as the app draws it: the rows the view shows, for the next key.
fn press(view: &mut View, m: &Model, code: KeyCode) -> Action {
    let rows = view.visible(m, NOW);
    if let Rows::Groups(names) = &rows {
        view.grouping.sync(names, view.page);
    }
    view.on_key_rows(key(code), &rows)
}

#[test]
fn g_cycles_the_view_through_all_five_and_back() {
    let m = model();
    let mut v = View::new(false);
    let mut seen = vec![];
    for _ in 0..6 {
        press(&mut v, &m, KeyCode::Char('g'));
        seen.push(v.grouping.by);
        assert_eq!(v.mode, Mode::Normal);
    }
    assert_eq!(
        seen,
        [
            GroupBy::Authid,
            GroupBy::Authrole,
            GroupBy::Transport,
            GroupBy::PeerHost,
            GroupBy::Node,
            GroupBy::Sessions
        ]
    );
    press(&mut v, &m, KeyCode::Char('g'));
    assert!(matches!(v.visible(&m, NOW), Rows::Groups(_)));
}

#[test]
fn enter_opens_a_group_and_esc_returns_to_it() {
    let m = model();
    let mut v = View::new(false);
    press(&mut v, &m, KeyCode::Char('g'));
    assert_eq!(
        v.visible(&m, NOW),
        Rows::Groups(vec!["billing".into(), "web".into(), "–".into()])
    );
    press(&mut v, &m, KeyCode::Down);
    assert_eq!(v.grouping.selected.as_deref(), Some("web"));
    press(&mut v, &m, KeyCode::Enter);
    assert_eq!(v.grouping.open.as_deref(), Some("web"));
    assert_eq!(v.grouping.open_title().as_deref(), Some("authid = web"));
    assert!(!v.show_detail, "Enter on a group is not the detail pane");
    assert_eq!(
        v.visible(&m, NOW),
        Rows::Sessions(vec![Key::new(0, 3), Key::new(0, 4)]),
        "its sessions, by msgs/s"
    );
    press(&mut v, &m, KeyCode::Enter);
    assert!(v.show_detail, "on a session Enter is the detail pane again");
    press(&mut v, &m, KeyCode::Esc);
    assert!(!v.show_detail);
    assert_eq!(press(&mut v, &m, KeyCode::Esc), Action::None, "not quit");
    assert_eq!(v.grouping.open, None);
    assert_eq!(
        v.grouping.selected.as_deref(),
        Some("web"),
        "still selected"
    );
    press(&mut v, &m, KeyCode::End);
    assert_eq!(v.grouping.selected.as_deref(), Some("–"));
    press(&mut v, &m, KeyCode::Home);
    assert_eq!(v.grouping.selected.as_deref(), Some("billing"));
    press(&mut v, &m, KeyCode::Enter);
    press(&mut v, &m, KeyCode::Char('g'));
    assert_eq!(v.grouping.by, GroupBy::Authrole, "g goes on cycling");
    assert_eq!(v.grouping.open, None);
    assert_eq!(press(&mut v, &m, KeyCode::Esc), Action::Quit);
}

#[test]
fn the_group_selection_follows_its_name_across_resorting() {
    let m = model();
    let mut v = View::new(false);
    press(&mut v, &m, KeyCode::Char('g'));
    press(&mut v, &m, KeyCode::Down);
    assert_eq!(v.grouping.selected.as_deref(), Some("web"));
    press(&mut v, &m, KeyCode::Char('S'));
    let rows = v.visible(&m, NOW);
    assert_eq!(
        rows,
        Rows::Groups(vec!["–".into(), "web".into(), "billing".into()])
    );
    if let Rows::Groups(names) = &rows {
        assert_eq!(v.grouping.selected_index(names), Some(1));
    }
}

#[test]
fn x_does_nothing_on_a_group() {
    let m = model();
    let mut v = View::new(false);
    press(&mut v, &m, KeyCode::Char('g'));
    assert_eq!(press(&mut v, &m, KeyCode::Char('x')), Action::None);
    assert_eq!(v.mode, Mode::Normal, "no kill to confirm");
    assert_eq!(press(&mut v, &m, KeyCode::Char('y')), Action::None);
    press(&mut v, &m, KeyCode::Enter);
    press(&mut v, &m, KeyCode::Char('x'));
    assert_eq!(
        v.mode,
        Mode::Confirm(Key::new(0, 1)),
        "in the group: sessions"
    );
}

#[test]
fn the_filter_typed_on_groups_takes_every_key() {
    let m = model();
    let mut v = View::new(false);
    press(&mut v, &m, KeyCode::Char('g'));
    for c in "/jxweb".chars() {
        press(&mut v, &m, KeyCode::Char(c));
    }
    assert_eq!(v.filter, "jxweb");
    press(&mut v, &m, KeyCode::Enter);
    assert_eq!(v.mode, Mode::Normal);
    v.filter = "front".into();
    assert_eq!(v.visible(&m, NOW), Rows::Groups(vec!["web".into()]));
}
