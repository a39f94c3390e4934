//! Snapshot tests of the screens for several routers at once, for the nodes of a cluster and
//! for the router's health reports (slow consumers, drops, the session summary), at 80×24 and
//! 160×48, drawn from a fixed model on a fixed clock.
//!
//! Update with `INSTA_UPDATE=always cargo test -p wamp-monitor --test screens_routers` and read
//! the `.snap` files before keeping them.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use wamp::{Dict, Value, dict};
use wamp_monitor::model::{MetaEvent, Model, Router};
use wamp_monitor::ui;
use wamp_monitor::view::{SortColumn, View};

/// The moment the screens are drawn at.
const NOW: f64 = 300.0;

fn join(id: u64, authid: &str, role: &str, framing: &str, peer: &str) -> MetaEvent {
    MetaEvent::Join(dict! {
        "session" => id, "authid" => authid, "authrole" => role, "authmethod" => "ticket",
        "transport" => Value::Dict(dict! {
            "channel_framing" => framing, "channel_serializer" => "msgpack", "peer" => peer,
        }),
    })
}

fn stats(id: u64, cycle: u64, messages: u64, dropped: u64) -> MetaEvent {
    MetaEvent::Stats(
        dict! {"session" => id},
        dict! {
            "cycle" => cycle, "duration" => 1_000_000_000u64, "messages" => messages,
            "bytes" => messages * 200, "rated_messages" => messages,
            "messages_rx" => messages / 2, "messages_tx" => messages - messages / 2,
            "bytes_rx" => messages * 100, "bytes_tx" => messages * 100, "dropped" => dropped,
        },
    )
}

/// Feeds 60 one-second cycles of `messages` each to session `id` of `router`, ending at NOW.
fn traffic(m: &mut Model, router: usize, id: u64, messages: u64, dropped: u64) {
    for c in 1..=60u64 {
        let at = NOW - 60.0 + c as f64;
        m.apply_from(
            router,
            stats(id, c, messages, dropped * u64::from(c == 60)),
            at,
        );
    }
}

fn summary() -> MetaEvent {
    MetaEvent::Summary(dict! {
        "total" => 3u64,
        "by_authrole" => Value::Dict(dict! {"backend" => 2u64, "frontend" => 1u64}),
        "by_authid" => Value::Dict(Dict::new()),
        "by_transport" => Value::Dict(dict! {"rawsocket" => 2u64, "websocket+tls" => 1u64}),
        "by_serializer" => Value::Dict(dict! {"msgpack" => 3u64}),
    })
}

/// Three routers: edge-a (two sessions, one of them dropping events), edge-b (one session,
/// the same id as one on edge-a), and core, which refused the connection.
fn model() -> Model {
    let routers = vec![
        Router::named("rs://10.0.0.1:8081", "realm1", "edge-a"),
        Router::named("wss://b.example.com/ws", "realm2", "edge-b"),
        Router::named("rs://10.0.0.9:8081", "realm1", "core"),
    ];
    let mut m = Model::with_routers(0.0, 30.0, routers);
    m.apply_from(0, MetaEvent::Connected("rs://10.0.0.1:8081".into()), 1.0);
    m.apply_from(
        1,
        MetaEvent::Connected("wss://b.example.com/ws".into()),
        1.5,
    );
    let refused = MetaEvent::Disconnected("connection refused".into(), Some(8.0));
    m.apply_from(2, refused, NOW - 2.0);
    m.apply_from(
        0,
        join(11, "billing", "backend", "rawsocket", "tcp4:10.1.0.5:4000"),
        2.0,
    );
    m.apply_from(
        0,
        join(12, "ingest", "backend", "rawsocket", "tcp4:10.1.0.6:4000"),
        2.0,
    );
    m.apply_from(
        1,
        join(11, "web-7", "frontend", "websocket", "tcp4:10.2.0.7:50000"),
        3.0,
    );
    m.apply_from(0, summary(), 4.0);
    traffic(&mut m, 0, 11, 500, 0);
    traffic(&mut m, 0, 12, 2000, 1500);
    traffic(&mut m, 1, 11, 100, 0);
    let slow = MetaEvent::Slow(
        dict! {"session" => 12u64},
        dict! {"queued" => 9_400_000u64, "dropped" => 1500u64, "policy" => "drop", "dropping" => true},
    );
    m.apply_from(0, slow, NOW - 12.0);
    m.tick(NOW);
    m
}

fn render(model: &Model, view: &mut View, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|f| {
            view.fit(f.area(), model, NOW);
            ui::draw(f, model, view, NOW);
        })
        .expect("drawn");
    terminal.backend().to_string()
}

fn view() -> View {
    let mut v = View::new(false);
    v.wall_offset = Some(9.0 * 3600.0);
    v
}

#[test]
fn several_routers_80x24() {
    insta::assert_snapshot!(render(&model(), &mut view(), 80, 24));
}

#[test]
fn several_routers_160x48() {
    let text = render(&model(), &mut view(), 160, 48);
    for want in [
        "edge-a realm1",
        "edge-b realm2",
        "core realm1 reconnecting in 6s: connection refused",
        "ROUTER",
        "HEALTH",
        "dropping 1.5k",
        "roles backend 2 · frontend 1",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn the_detail_pane_shows_the_queue_and_the_drops_160x48() {
    let m = model();
    let mut v = view();
    // The busiest session is the one dropping events; it is selected first.
    v.show_detail = true;
    let text = render(&m, &mut v, 160, 48);
    assert!(text.contains("Detail ▸ 12"), "{text}");
    assert!(text.contains("dropping events (since 12s)"), "{text}");
    assert!(text.contains("queue 9.4 MB"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn one_router_without_health_reports_shows_neither_column() {
    let mut m = Model::with_routers(
        0.0,
        30.0,
        vec![Router::new("ws://127.0.0.1:8080/ws", "realm1")],
    );
    m.apply(MetaEvent::Connected("ws://127.0.0.1:8080/ws".into()), 1.0);
    m.apply(
        join(
            5,
            "crossbar-client",
            "anonymous",
            "websocket",
            "tcp4:127.0.0.1:1",
        ),
        2.0,
    );
    m.apply(
        MetaEvent::Stats(
            dict! {"session" => 5u64},
            dict! {"cycle" => 1u64, "duration" => 1_000_000_000u64, "messages" => 10u64,
            "bytes" => 1000u64, "rated_messages" => 10u64},
        ),
        NOW - 1.0,
    );
    m.tick(NOW);
    let text = render(&m, &mut view(), 160, 48);
    assert!(!text.contains("ROUTER"), "{text}");
    assert!(!text.contains("HEALTH"), "{text}");
    assert!(!text.contains("roles "), "no summary line: {text}");
    assert!(text.contains("crossbar-client"), "{text}");
}

/// `join`, on a node of a cluster (as the router says it in `authextra.x_cb_node`).
fn on_node(join: MetaEvent, node: &str) -> MetaEvent {
    let MetaEvent::Join(mut details) = join else {
        unreachable!("a join")
    };
    let extra = Value::Dict(dict! {"x_cb_node" => node});
    details.insert("authextra".into(), extra);
    MetaEvent::Join(details)
}

/// One router, on node-a of a cluster: it sees its own two sessions and the two on node-b
/// (the meta events cross the nodes).
fn cluster() -> Model {
    let url = "rs://10.0.0.1:8081";
    let routers = vec![Router::named(url, "realm1", "node-a")];
    let mut m = Model::with_routers(0.0, 30.0, routers);
    m.apply(MetaEvent::Connected(url.into()), 1.0);
    for (id, authid, role, node, messages) in [
        (21, "billing", "backend", "node-a", 900),
        (22, "ingest", "backend", "node-b", 2500),
        (23, "web-7", "frontend", "node-a", 300),
        (24, "web-9", "frontend", "node-b", 120),
    ] {
        let peer = format!("tcp4:10.1.0.{id}:4000");
        m.apply(
            on_node(join(id, authid, role, "rawsocket", &peer), node),
            2.0,
        );
        traffic(&mut m, 0, id, messages, 0);
    }
    m.tick(NOW);
    m
}

#[test]
fn a_cluster_of_two_nodes_80x24() {
    let text = render(&cluster(), &mut view(), 80, 24);
    assert!(text.contains("│NODE "), "the node comes first: {text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_cluster_of_two_nodes_160x48() {
    let text = render(&cluster(), &mut view(), 160, 48);
    assert!(text.contains("NODE"), "{text}");
    assert!(!text.contains("ROUTER"), "one router: {text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_cluster_sorts_by_node() {
    let mut v = view();
    v.sort = SortColumn::Node;
    let text = render(&cluster(), &mut v, 160, 48);
    assert!(text.contains("sort node ▲"), "{text}");
    let at = |authid: &str| {
        text.find(authid)
            .unwrap_or_else(|| panic!("{authid}: {text}"))
    };
    // node-a's then node-b's, ties by session id.
    assert!(at("billing") < at("web-7"), "{text}");
    assert!(at("web-7") < at("ingest"), "{text}");
    assert!(at("ingest") < at("web-9"), "{text}");
}

#[test]
fn one_node_shows_no_node_column() {
    let mut m = Model::with_routers(0.0, 30.0, vec![Router::new("rs://10.0.0.1:8081", "realm1")]);
    for id in [31, 32] {
        let joined = join(id, "billing", "backend", "rawsocket", "tcp4:10.1.0.1:4000");
        m.apply(on_node(joined, "node-a"), 2.0);
    }
    m.tick(NOW);
    let text = render(&m, &mut view(), 160, 48);
    assert!(text.contains("SESSION"), "{text}");
    assert!(!text.contains("NODE"), "{text}");
}
