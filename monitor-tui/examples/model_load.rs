//! What the monitor's model and screen cost at scale, without a router: how many stats events
//! per second `Model::apply` absorbs, the memory per session with full cycle histories and full
//! 15-minute time series, and the time to draw a 160×48 frame, for 1,000 and 10,000 sessions.
//!
//! ```text
//! cargo run --release -p wamp-monitor --example model_load
//! ```
//!
//! Measured on 2 shared cores: about 9.7 KiB per session resident with the 32-cycle history
//! (3.8 KiB) and full series (3.9 KiB); with the former 120-cycle history (14.1 KiB) it was
//! about 21 KiB.

use std::hint::black_box;
use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use wamp::{Dict, Value, dict};
use wamp_monitor::model::{HISTORY, MetaEvent, Model};
use wamp_monitor::ui;
use wamp_monitor::view::View;

/// Resident memory in bytes (Linux).
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<usize>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn join(id: u64) -> MetaEvent {
    MetaEvent::Join(dict! {
        "realm" => "realm1", "session" => id, "authid" => format!("AUTH-{id:024}"), "authrole" => "anonymous",
        "authmethod" => "anonymous", "authprovider" => "static",
        "authextra" => Value::Dict(dict! {"x_cb_peer" => format!("tcp4:127.0.0.1:{}", id % 60000)}),
        "serializer" => "json",
        "transport" => Value::Dict(dict! {"channel_framing" => "websocket", "channel_serializer" => "json",
            "peer" => format!("tcp4:127.0.0.1:{}", id % 60000), "websocket_protocol" => "wamp.2.json"}),
    })
}

fn stats(id: u64, cycle: u64) -> (Dict, Dict) {
    (
        dict! {"realm" => "realm1", "session" => id, "authid" => format!("AUTH-{id:024}"), "authrole" => "anonymous"},
        dict! {"cycle" => cycle, "serializer" => "json", "timestamp" => 1_795_636_458_894_317_000u64,
        "duration" => 100_000_000u64 + id % 1000, "bytes" => 700u64 + id % 100, "messages" => 10u64,
        "rated_messages" => 10u64, "first" => false, "last" => false,
        "bytes_rx" => 300u64, "bytes_tx" => 400u64 + id % 100, "messages_rx" => 4u64, "messages_tx" => 6u64},
    )
}

/// Cycles to fill each session with before measuring, and the seconds between them: 1,000 s
/// fill every tier of the time series.
const FILL_CYCLES: u64 = 200;
const FILL_STEP: f64 = 5.0;

fn main() {
    // Each model is kept until the end, and the timed events are made before the memory is
    // measured, so that a model's resident memory is its own, not pages the allocator got back
    // from the last model or events.
    let mut kept = Vec::new();
    for sessions in [1_000u64, 10_000] {
        let events: Vec<(Dict, Dict)> = (0..200_000u64)
            .map(|n| stats(1 + n % sessions, 1000 + n / sessions))
            .collect();
        let before = rss();
        let mut model = Model::new(0.0, 30.0);
        for id in 1..=sessions {
            model.apply(join(id), 0.0);
        }
        // Fill every session's history and, a cycle every 5 s for 1,000 s, every tier of its
        // series (the 15-s tier keeps 64 buckets, 960 s), then time a steady stream of events
        // on top.
        let mut now = 0.0;
        for cycle in 1..=FILL_CYCLES.max(HISTORY as u64) {
            for id in 1..=sessions {
                let (i, s) = stats(id, cycle);
                model.apply(MetaEvent::Stats(i, s), now);
            }
            now += FILL_STEP;
            model.tick(now);
        }
        let per_session = (rss().saturating_sub(before)) as f64 / sessions as f64;
        let series = model
            .sessions
            .values()
            .map(|r| r.series.memory())
            .sum::<usize>() as f64
            / sessions as f64;
        let t = Instant::now();
        for (i, s) in events {
            model.apply(MetaEvent::Stats(i, s), now);
        }
        let rate = 200_000.0 / t.elapsed().as_secs_f64();
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("test backend");
        let mut view = View::new(true);
        let frames = 20;
        let t = Instant::now();
        for _ in 0..frames {
            model.tick(now);
            terminal
                .draw(|f| {
                    view.fit(f.area(), &model, now);
                    ui::draw(f, &model, &view, now);
                })
                .expect("draws");
        }
        let frame_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(frames);
        black_box(&model);
        kept.push(model);
        let history = (HISTORY * std::mem::size_of::<wamp_monitor::model::Cycle>()) as f64;
        println!(
            "{sessions:>6} sessions: model absorbs {rate:.0} stats events/s on one core; {:.1} KiB \
             per session resident ({:.1} KiB of it the {HISTORY}-cycle history, {:.1} KiB the time \
             series); a 160x48 frame takes {frame_ms:.1} ms",
            per_session / 1024.0,
            history / 1024.0,
            series / 1024.0
        );
    }
}
