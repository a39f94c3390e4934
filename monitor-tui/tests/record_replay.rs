//! `--record` and `--replay` against the real router on 127.0.0.1: what the monitor records
//! while it follows real client traffic, played back into a fresh model, gives the same table
//! the live model shows — in the library and through the binary's `--replay FILE --once`.

mod common;

use common::{TempPath, router};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use wamp::{Dict, Payload, Serializer, Session, SessionOptions, dict};
use wamp_monitor::feed::{self, FeedConfig, Routed};
use wamp_monitor::headless;
use wamp_monitor::model::{Key, Model, Router};
use wamp_monitor::record::{RecordCap, Recorder};
use wamp_monitor::replay::{Playback, record_time};

/// The live monitor: a model, its clock and the recorder, fed as the app feeds them.
struct Live {
    model: Model,
    clock: Instant,
    recorder: Recorder,
}

impl Live {
    /// Records then applies feed items (flushing after each batch) until `done` holds
    /// (bounded by 10 s).
    async fn follow_until(
        &mut self,
        rx: &mut mpsc::Receiver<Routed>,
        done: impl Fn(&Model) -> bool,
    ) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !done(&self.model) {
                let (router, item) = rx.recv().await.expect("the feed runs");
                let at = record_time(&item, SystemTime::now());
                self.recorder.write(at, router, &item).expect("recorded");
                if rx.is_empty() {
                    self.recorder.flush().expect("flushed");
                }
                if let Some(ev) = item.into_meta() {
                    let now = self.clock.elapsed().as_secs_f64();
                    self.model.apply_from(router, ev, now);
                }
            }
        })
        .await
        .expect("the monitor saw it in time");
        self.recorder.flush().expect("flushed");
    }
}

fn table(model: &Model, now: f64) -> String {
    let mut out = Vec::new();
    headless::table(model, now, &mut out).expect("a table");
    String::from_utf8(out).expect("UTF-8")
}

fn log_texts(model: &Model) -> Vec<String> {
    model.log.iter().map(|e| e.text.clone()).collect()
}

async fn client(url: &str, serializer: Serializer) -> Session {
    let options = SessionOptions {
        serializer,
        rated_message_size: 256,
        ..Default::default()
    };
    Session::join(url, "realm1", options).await.unwrap()
}

/// Publishes `n` events to itself, each acknowledged and received.
async fn publish(s: &Session, n: i64) {
    let mut sub = s.subscribe("e2e.replay", Dict::new()).await.unwrap();
    for i in 0..n {
        s.publish(
            "e2e.replay",
            Payload::from_args(vec![i.into()]),
            dict! {"acknowledge" => true, "exclude_me" => false},
        )
        .await
        .unwrap();
        sub.events.recv().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_to_the_end_shows_the_table_the_live_monitor_showed() {
    let file = TempPath::new("live");
    let router = router().await;
    let ws = router.websocket_url().unwrap();
    let rs = router.rawsocket_url().unwrap();
    // There before the monitor: it comes from the snapshot.
    let early = client(&rs, Serializer::Msgpack).await;
    publish(&early, 12).await;

    let (tx, mut rx) = mpsc::channel(4096);
    let (_kill, kills) = mpsc::channel(1);
    let config = FeedConfig {
        name: "r".into(),
        url: ws.clone(),
        realm: "realm1".into(),
        serializer: Serializer::Json,
        login: Default::default(),
        trust: Default::default(),
        typed_stats: false,
    };
    let targets = [(config.url.clone(), config.realm.clone())];
    let recorder = Recorder::create(&file.0, &targets, RecordCap::default()).unwrap();
    tokio::spawn(feed::run(0, config, tx, kills));
    let routers = vec![Router::named(&ws, "realm1", "r")];
    let mut live = Live {
        model: Model::with_routers(0.0, 30.0, routers),
        clock: Instant::now(),
        recorder,
    };
    let early_id = early.id();
    live.follow_until(&mut rx, |m| m.sessions.contains_key(&Key::new(0, early_id)))
        .await;

    let mut stayers = Vec::new();
    for (url, ser) in [(&ws, Serializer::Json), (&rs, Serializer::Msgpack)] {
        let s = client(url, ser).await;
        publish(&s, 25).await;
        stayers.push(s);
    }
    let leaver = client(&ws, Serializer::Cbor).await;
    publish(&leaver, 15).await;
    let leaver_id = leaver.id();
    leaver.leave("wamp.close.normal").await.unwrap();
    let stayer_ids: Vec<u64> = stayers.iter().map(Session::id).collect();
    live.follow_until(&mut rx, |m| {
        let left = m
            .sessions
            .get(&Key::new(0, leaver_id))
            .is_some_and(|s| s.left_at.is_some());
        let counted = stayer_ids.iter().all(|&id| {
            m.sessions
                .get(&Key::new(0, id))
                .is_some_and(|s| s.totals.messages > 0)
        });
        left && counted
    })
    .await;
    let live_now = live.clock.elapsed().as_secs_f64();
    let live_table = table(&live.model, live_now);
    assert!(live_table.lines().count() >= 4, "{live_table}");
    assert!(!live_table.contains(&leaver_id.to_string()), "{live_table}");

    let mut playback = Playback::open(&file.0, 30.0).unwrap();
    assert_eq!(playback.player().replay().skipped(), 0);
    let mut replayed = playback.fresh_model();
    playback.play_to_end(&mut replayed);
    assert!(playback.player().at_end());
    assert_eq!(table(&replayed, playback.now()), live_table);
    assert_eq!(log_texts(&replayed), log_texts(&live.model));
    assert_eq!(
        (replayed.joined, replayed.left),
        (live.model.joined, live.model.left)
    );
    let leaver_row = &replayed.sessions[&Key::new(0, leaver_id)];
    assert_eq!(
        leaver_row.totals,
        live.model.sessions[&Key::new(0, leaver_id)].totals,
        "the session that left has its final totals"
    );

    // The binary prints the same table.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wamp-monitor"))
        .arg("--replay")
        .arg(&file.0)
        .arg("--once")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), live_table);

    for s in stayers.into_iter().chain([early]) {
        let _ = s.leave("wamp.close.normal").await;
    }
    router.shutdown().await;
}

#[test]
fn a_file_that_is_not_a_recording_is_one_line_naming_it_and_exit_1() {
    let file = TempPath::new("bad");
    std::fs::write(&file.0, "hello\n").unwrap();
    let missing = TempPath::new("missing");
    for path in [&file.0, &missing.0] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wamp-monitor"))
            .arg("--replay")
            .arg(path)
            .arg("--once")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("wamp-monitor: cannot replay: {}", path.display())),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}
