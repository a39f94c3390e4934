//! Where the dashboard's CPU goes per `wamp.session.on_stats` event, stage by stage, without a
//! router: decoding a real EVENT frame (JSON, msgpack, CBOR), decoding its arguments into
//! `Value`s (what the feed does), the clones of `parse_event`, `Model::apply` (totals, history,
//! two time series), and drawing a 160x48 frame (per tick, not per event) with the sessions of
//! the flood benchmark (12) and with 10,000.
//!
//! ```text
//! cargo run --release -p wamp-monitor --example stats_path
//! ```
//!
//! The flood it stands for is bench/monitor_flood.py's: 150,000 events/s, so 6.7 µs per event is
//! one whole core.

use std::hint::black_box;
use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use wamp::{Message, Payload, Serializer, Value, dict};
use wamp_monitor::model::{MetaEvent, Model, parse_event};
use wamp_monitor::stats::StatsEvent;
use wamp_monitor::ui;
use wamp_monitor::view::View;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The two arguments of an on_stats event, with the router's keys and realistic numbers.
fn stats_args(id: u64, cycle: u64) -> Vec<Value> {
    vec![
        Value::Dict(
            dict! {"realm" => "realm1", "session" => id, "authid" => format!("{id:x}-anon"),
            "authrole" => "anonymous"},
        ),
        Value::Dict(dict! {"cycle" => cycle, "serializer" => "msgpack",
        "timestamp" => 1_795_636_458_894_317_000u64, "duration" => 73_000u64 + id % 1000,
        "bytes" => 131u64, "messages" => 1u64, "rated_messages" => 1u64, "first" => false,
        "last" => false, "bytes_rx" => 0u64, "bytes_tx" => 131u64, "messages_rx" => 0u64,
        "messages_tx" => 1u64, "dropped" => 0u64}),
    ]
}

fn event(id: u64, cycle: u64) -> Message {
    Message::Event {
        subscription: 3_497_276_165_234_001,
        publication: 7_001_234_567_890 + cycle,
        details: dict! {"topic" => "wamp.session.on_stats"},
        payload: Payload::from_args(stats_args(id, cycle)),
    }
}

fn join(id: u64) -> MetaEvent {
    MetaEvent::Join(dict! {
        "realm" => "realm1", "session" => id, "authid" => format!("{id:x}-anon"), "authrole" => "anonymous",
        "authmethod" => "anonymous", "authprovider" => "static",
        "authextra" => Value::Dict(dict! {"x_cb_peer" => format!("tcp4:127.0.0.1:{}", id % 60000)}),
        "serializer" => "msgpack",
        "transport" => Value::Dict(dict! {"channel_framing" => "rawsocket", "channel_serializer" => "msgpack",
            "peer" => format!("tcp4:127.0.0.1:{}", id % 60000)}),
    })
}

/// Median ns per call of `f` over 5 runs of `n` calls.
fn time(n: u32, mut f: impl FnMut(u32)) -> f64 {
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for i in 0..n {
                f(i);
            }
            t.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[2]
}

fn main() {
    const N: u32 = 100_000;
    println!("per on_stats event (ns, median of 5 x {N}):");
    for ser in Serializer::ALL {
        let frames: Vec<_> = (0..64)
            .map(|i| wamp::encode(ser, &event(1 + i % 11, 1000 + i)).expect("encodes"))
            .collect();
        let decode = time(N, |i| {
            black_box(wamp::decode(ser, black_box(&frames[i as usize % 64])).ok());
        });
        let Ok(Message::Event {
            details, payload, ..
        }) = wamp::decode(ser, &frames[0])
        else {
            panic!("decodes")
        };
        let args_decode = time(N, |_| {
            black_box(black_box(&payload).args().ok());
        });
        let typed_decode = time(N, |_| {
            black_box(black_box(&payload).args_as::<StatsEvent>().ok());
        });
        let topic = time(N, |_| {
            black_box(
                details
                    .get("topic")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            );
            black_box(black_box(&payload).kwargs().ok());
        });
        println!(
            "  {:<8} frame {:>4} B: decode EVENT {decode:>6.0}   args -> Value {args_decode:>6.0}   \
             args -> StatsEvent {typed_decode:>6.0}   topic + empty kwargs {topic:>4.0}",
            ser.name(),
            frames[0].len()
        );
    }
    let args = stats_args(5, 1000);
    let parse = time(N, |_| {
        black_box(parse_event(
            "wamp.session.on_stats",
            black_box(args.clone()),
        ));
    });
    let drop_args = time(N, |_| {
        black_box(args.clone());
    });
    println!(
        "  parse_event of a clone of the args {parse:.0} (the clone alone {drop_args:.0}: \
         parse_event moves the dicts)"
    );

    for sessions in [12u64, 10_000] {
        let mut model = Model::new(0.0, 30.0);
        for id in 1..=sessions {
            model.apply(join(id), 0.0);
        }
        // Histories and series full, as after a minute of flood.
        let mut now = 0.0;
        for cycle in 1..=130u64 {
            for id in 1..=sessions.min(2000) {
                let MetaEvent::Stats(i, s) =
                    parse_event("wamp.session.on_stats", stats_args(id, cycle)).expect("on_stats")
                else {
                    unreachable!()
                };
                model.apply(MetaEvent::Stats(i, s), now);
            }
            now += 0.5;
            model.tick(now);
        }
        // The flood: 150k events/s, i.e. 37,500 per 0.25-s tick, over the first 11 sessions.
        let events: Vec<MetaEvent> = (0..N as u64)
            .map(|n| {
                let (info, stats) =
                    match parse_event("wamp.session.on_stats", stats_args(1 + n % 11, 2000 + n)) {
                        Some(MetaEvent::Stats(i, s)) => (i, s),
                        _ => unreachable!("on_stats"),
                    };
                // As the dashboard's feed delivers it: typed.
                MetaEvent::Cycle(StatsEvent::from_dicts(&info, &stats).expect("a session"))
            })
            .collect();
        let mut events = events.into_iter();
        let t = Instant::now();
        let mut k = 0u32;
        for e in events.by_ref() {
            model.apply(e, now + f64::from(k) * (1.0 / 150_000.0));
            k += 1;
        }
        let apply = t.elapsed().as_nanos() as f64 / f64::from(k);
        now += f64::from(k) / 150_000.0;
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("test backend");
        let mut view = View::new(true);
        let frames = 40u32;
        let t = Instant::now();
        for f in 0..frames {
            let at = now + f64::from(f) * 0.25;
            model.tick(at);
            terminal
                .draw(|fr| {
                    let rows = view.fit(fr.area(), &model, at);
                    ui::draw_rows(fr, &model, &view, rows.sessions(), at);
                })
                .expect("draws");
        }
        let frame_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(frames);
        black_box(&model);
        println!(
            "  {sessions:>6} sessions: Model::apply(on_stats, typed) {apply:.0} ns/event; tick + 160x48 frame \
             {:.2} ms (at 4 ticks/s: {:.1}% of a core)",
            frame_us / 1000.0,
            frame_us * 4.0 / 1e4
        );
    }
}
