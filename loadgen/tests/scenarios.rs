//! Every scenario, briefly, against the real router on 127.0.0.1: what the load generator
//! reports agrees exactly with the router's session statistics for the same sessions, and its
//! own counts (publications, events, calls) add up to the messages those sessions exchanged.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wamp::client::Traffic;
use wamp::{Id, Serializer, Session, SessionOptions, Value, dict};
use wamp_loadgen::churn::ChurnConfig;
use wamp_loadgen::example::ExampleConfig;
use wamp_loadgen::pubsub::PubSubConfig;
use wamp_loadgen::report::{Report, Unfinished};
use wamp_loadgen::rpc::RpcConfig;
use wamp_loadgen::run::{Plan, Run};
use wamp_loadgen::schedule::Schedule;
use wamp_loadgen::{Scenario, execute};
use wamp_router::config::Config;
use wamp_router::{Router, RouterOptions};

async fn router() -> Router {
    let config = Config::embedded_default().config.on_free_loopback_ports();
    Router::start(config, RouterOptions::default())
        .await
        .expect("router starts")
}

/// What the router's statistics say about each session, summed over its `on_stats` events,
/// and which sessions it announced as left.
#[derive(Default)]
struct Observed {
    stats: HashMap<Id, Traffic>,
    left: HashSet<Id>,
}

/// A monitor session and what it observed, kept up to date by a task of its own.
struct Observer {
    monitor: Session,
    observed: Arc<Mutex<Observed>>,
    changed: Arc<tokio::sync::Notify>,
}

impl Observer {
    /// Waits (at most 10 s) until the router announced each of `ids` as left.
    async fn until_left(&self, ids: impl Iterator<Item = Id> + Clone) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.changed.notified();
                let all_left = {
                    let left = &self.observed.lock().unwrap().left;
                    ids.clone().all(|id| left.contains(&id))
                };
                if all_left {
                    return;
                }
                notified.await;
            }
        })
        .await
        .expect("the router announced every session as left");
    }
}

/// A monitor subscribed to `wamp.session.` (prefix) that adds up every session's statistics.
async fn observe(router: &Router) -> Observer {
    let m = Session::join(
        &router.websocket_url().unwrap(),
        "realm1",
        SessionOptions::default(),
    )
    .await
    .unwrap();
    let mut sub = m
        .subscribe("wamp.session.", dict! {"match" => "prefix"})
        .await
        .unwrap();
    let observed = Arc::new(Mutex::new(Observed::default()));
    let changed = Arc::new(tokio::sync::Notify::new());
    let (o, c) = (Arc::clone(&observed), Arc::clone(&changed));
    tokio::spawn(async move {
        while let Some(e) = sub.events.recv().await {
            let topic = e.details.get("topic").and_then(Value::as_str).unwrap_or("");
            let args = e.payload.args().unwrap();
            let mut o = o.lock().unwrap();
            match topic {
                "wamp.session.on_leave" => {
                    o.left.insert(args[0].as_u64().unwrap());
                }
                "wamp.session.on_stats" => {
                    let id = args[0].get("session").and_then(Value::as_u64).unwrap();
                    let s = args[1].as_dict().unwrap();
                    let get = |k: &str| s.get(k).and_then(Value::as_u64).unwrap();
                    let t = o.stats.entry(id).or_default();
                    // The router's rx is the client's tx.
                    t.bytes_tx += get("bytes_rx");
                    t.bytes_rx += get("bytes_tx");
                    t.messages_tx += get("messages_rx");
                    t.messages_rx += get("messages_tx");
                }
                _ => {}
            }
            drop(o);
            c.notify_waiters();
        }
    });
    Observer {
        monitor: m,
        observed,
        changed,
    }
}

fn plan(url: String, serializer: Serializer, schedule: Schedule, millis: u64) -> Plan {
    Plan {
        url,
        realm: "realm1".into(),
        serializer,
        schedule,
        warmup: Duration::ZERO,
        duration: Duration::from_millis(millis),
        count: None,
        drain: Duration::from_secs(5),
        login: Default::default(),
        trust: Default::default(),
    }
}

/// Runs `scenario` with a monitor watching, waits until the router announced every one of its
/// sessions as left, and checks that the run had no errors and that each session's traffic as
/// the load generator counted it equals the router's statistics for it. Returns the report.
async fn run_observed(router: &Router, plan: Plan, scenario: Scenario) -> Report {
    let observer = observe(router).await;
    let run = Arc::new(Run::new(plan));
    let report = execute(&run, &scenario).await.expect("the scenario runs");
    assert!(report.errors().is_empty(), "{:?}", report.errors());
    observer
        .until_left(report.sessions.iter().map(|s| s.id))
        .await;
    let stats = observer.observed.lock().unwrap().stats.clone();
    for s in &report.sessions {
        let mut t = s.traffic;
        t.rated_messages = 0; // the loadgen rates with 512 bytes, this realm with 256
        assert_eq!(
            stats.get(&s.id),
            Some(&t),
            "session {}: the router's statistics equal the load generator's counts",
            s.id
        );
    }
    let _ = observer.monitor.leave("wamp.close.normal").await;
    report
}

fn total(report: &Report) -> Traffic {
    report.traffic()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_counts_agree_with_the_router_on_both_transports() {
    let router = router().await;
    for (url, ser) in [
        (router.rawsocket_url().unwrap(), Serializer::Msgpack),
        (router.websocket_url().unwrap(), Serializer::Json),
    ] {
        let cfg = PubSubConfig {
            publishers: 2,
            subscribers: 3,
            topics: 2,
            payload: 50,
            ..PubSubConfig::default()
        };
        let report = run_observed(
            &router,
            plan(url, ser, Schedule::Open { rate: 2000.0 }, 500),
            Scenario::PubSub(cfg),
        )
        .await;
        let o = &report.outcome;
        let (pubs, events) = (o.publications.as_ref().unwrap(), o.events.as_ref().unwrap());
        assert_eq!(pubs.ok, 1000, "2,000/s for 0.5 s");
        assert_eq!(events.ok, 3000, "every subscriber got every publication");
        assert_eq!(report.sessions.len(), 5);
        // Received: WELCOME and GOODBYE each, SUBSCRIBED per subscription, PUBLISHED, EVENTs.
        let t = total(&report);
        assert_eq!(t.messages_rx, 5 * 2 + 3 * 2 + pubs.ok + events.ok);
        // Sent: HELLO and GOODBYE each, SUBSCRIBE per subscription, PUBLISH.
        assert_eq!(t.messages_tx, 5 * 2 + 3 * 2 + pubs.ok);
        let s = events.summary(report.seconds);
        assert!(s.timed && s.p50 > 0 && s.p50 <= s.p99 && s.p99 <= s.max);
    }
    router.shutdown().await;
}

/// `subscriber_url`: the subscribers join there (here the WebSocket transport of the same
/// router; in `bench/cluster_fanout.py` another node), the publisher at the run's URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_join_at_the_subscriber_url() {
    let router = router().await;
    let cfg = PubSubConfig {
        subscribers: 2,
        subscriber_url: Some(router.websocket_url().unwrap()),
        ..PubSubConfig::default()
    };
    let report = run_observed(
        &router,
        plan(
            router.rawsocket_url().unwrap(),
            Serializer::Msgpack,
            Schedule::Open { rate: 1000.0 },
            500,
        ),
        Scenario::PubSub(cfg),
    )
    .await;
    let o = &report.outcome;
    let (pubs, events) = (o.publications.as_ref().unwrap(), o.events.as_ref().unwrap());
    assert_eq!(pubs.ok, 500);
    assert_eq!(events.ok, 1000, "both subscribers got every publication");
    // Where nothing listens, the subscribers cannot join, though the run's URL works.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("ws://{}/ws", closed.local_addr().unwrap());
    drop(closed);
    let cfg = PubSubConfig {
        subscribers: 1,
        subscriber_url: Some(nowhere),
        ..PubSubConfig::default()
    };
    let run = Arc::new(Run::new(plan(
        router.rawsocket_url().unwrap(),
        Serializer::Msgpack,
        Schedule::Open { rate: 1000.0 },
        100,
    )));
    assert!(execute(&run, &Scenario::PubSub(cfg)).await.is_err());
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_counts_agree_with_the_router_open_and_closed_loop() {
    let router = router().await;
    let rs = router.rawsocket_url().unwrap();
    for schedule in [Schedule::Open { rate: 1000.0 }, Schedule::Closed] {
        let cfg = RpcConfig {
            callees: 2,
            callers: 2,
            concurrency: 16,
            payload: 32,
            ..RpcConfig::default()
        };
        let report = run_observed(
            &router,
            plan(rs.clone(), Serializer::Msgpack, schedule, 500),
            Scenario::Rpc(cfg),
        )
        .await;
        let calls = report.outcome.calls.as_ref().unwrap();
        if schedule != Schedule::Closed {
            assert_eq!(calls.ok, 500, "1,000/s for 0.5 s");
        }
        // Callers receive a RESULT per call, callees an INVOCATION; both send one back.
        let t = total(&report);
        assert_eq!(t.messages_rx, 4 * 2 + 2 + 2 * calls.ok);
        assert_eq!(t.messages_tx, 4 * 2 + 2 + 2 * calls.ok);
    }
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_runs_both_halves_at_their_share_of_the_rate() {
    let router = router().await;
    let ws = router.websocket_url().unwrap();
    let report = run_observed(
        &router,
        plan(
            ws,
            Serializer::Msgpack,
            Schedule::Open { rate: 2000.0 },
            500,
        ),
        Scenario::Mixed(
            PubSubConfig {
                subscribers: 2,
                share: 0.25,
                ..PubSubConfig::default()
            },
            RpcConfig {
                share: 0.75,
                ..RpcConfig::default()
            },
        ),
    )
    .await;
    let o = &report.outcome;
    assert_eq!(o.publications.as_ref().unwrap().ok, 250);
    assert_eq!(o.events.as_ref().unwrap().ok, 500);
    assert_eq!(o.calls.as_ref().unwrap().ok, 750);
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_sessions_come_and_go_and_each_is_counted_exactly() {
    let router = router().await;
    let rs = router.rawsocket_url().unwrap();
    let report = run_observed(
        &router,
        plan(rs, Serializer::Json, Schedule::Open { rate: 100.0 }, 500),
        Scenario::Churn(ChurnConfig::default()),
    )
    .await;
    let cycles = report.outcome.cycles.as_ref().unwrap();
    assert_eq!(cycles.ok, 50, "100 sessions/s for 0.5 s");
    assert_eq!(
        report.sessions.len(),
        51,
        "50 churning sessions and the callee"
    );
    router.shutdown().await;
}

/// Two workers of two example clients each, publishing every `interval`.
fn two_by_two(interval: Duration) -> ExampleConfig {
    ExampleConfig {
        repeat: 2,
        parallel: 2,
        interval,
        ..ExampleConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crossbar_example_client_publishes_five_counters_and_leaves() {
    let router = router().await;
    let cfg = two_by_two(Duration::from_millis(20));
    let ws = router.websocket_url().unwrap();
    let report = run_observed(
        &router,
        plan(ws, Serializer::Json, Schedule::Closed, 10_000),
        Scenario::Example(cfg),
    )
    .await;
    let o = &report.outcome;
    assert_eq!(o.cycles.as_ref().unwrap().ok, 4, "2 workers × 2 clients");
    assert_eq!(o.publications.as_ref().unwrap().ok, 20, "5 each");
    let events = o.events.as_ref().unwrap();
    assert!(events.ok >= 20, "each client at least its own 5 events");
    assert!(
        events.summary(report.seconds).timed,
        "its own events are timed (this router discloses the publisher)"
    );
    assert_eq!(report.sessions.len(), 4);
    // Each client sends HELLO, SUBSCRIBE, 5 PUBLISH and GOODBYE.
    assert_eq!(total(&report).messages_tx, 4 * 8);
    assert!(
        report.seconds < 5.0,
        "the run ends when its clients are done"
    );
    assert_eq!(o.unfinished, Some(Unfinished { clients: 0, of: 4 }));
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_clients_longer_than_the_drain_run_to_their_end_and_the_duration_only_cuts() {
    let router = router().await;
    let cfg = two_by_two(Duration::from_millis(60));
    let rs = router.rawsocket_url().unwrap();
    // Each client takes 5 × 60 ms, longer than the drain: it is still awaited while the run
    // lasts (the run's default duration fits its clients).
    let mut p = plan(rs.clone(), Serializer::Msgpack, Schedule::Closed, 0);
    p.duration = cfg.expected_duration();
    p.drain = Duration::from_millis(100);
    let report = run_observed(&router, p, Scenario::Example(cfg.clone())).await;
    let o = &report.outcome;
    assert_eq!(o.cycles.as_ref().unwrap().ok, 4);
    assert_eq!(o.publications.as_ref().unwrap().ok, 20);
    assert_eq!(o.unfinished, Some(Unfinished { clients: 0, of: 4 }));
    // A duration shorter than the clients cuts them short: no failure, and said so.
    let report = run_observed(
        &router,
        plan(rs, Serializer::Msgpack, Schedule::Closed, 200),
        Scenario::Example(cfg),
    )
    .await;
    assert_eq!(
        report.outcome.unfinished,
        Some(Unfinished { clients: 4, of: 4 }),
        "2 cut short, 2 never started"
    );
    assert!(
        report
            .to_string()
            .contains("the duration ended the run: 4 of 4 clients did not run to their end")
    );
    assert_eq!(report.failures(), 0);
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_reports_what_it_did_so_far_and_leaves_cleanly() {
    let router = router().await;
    let run_plan = plan(
        router.rawsocket_url().unwrap(),
        Serializer::Msgpack,
        Schedule::Open { rate: 2000.0 },
        60_000,
    );
    let observer = observe(&router).await;
    let run = Arc::new(Run::new(run_plan));
    let task = {
        let run = Arc::clone(&run);
        tokio::spawn(async move { execute(&run, &Scenario::Rpc(RpcConfig::default())).await })
    };
    // Interrupt once 200 calls were answered (bounded: 2,000/s makes that 0.1 s).
    tokio::time::timeout(Duration::from_secs(10), async {
        while wamp_loadgen::run::Progress::get(&run.progress.ok) < 200 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("calls are answered");
    run.interrupt();
    let report = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the run stops promptly")
        .unwrap()
        .unwrap();
    assert!(report.interrupted);
    assert!(report.seconds < 10.0, "{}", report.seconds);
    let calls = report.outcome.calls.as_ref().unwrap();
    assert!(calls.ok >= 200 && report.errors().is_empty());
    assert!((calls.ok as f64 / report.seconds - 2000.0).abs() < 400.0);
    observer
        .until_left(report.sessions.iter().map(|s| s.id))
        .await;
    let _ = observer.monitor.leave("wamp.close.normal").await;
    router.shutdown().await;
}

/// A RawSocket "router" that welcomes sessions and says goodbye, but answers no request.
async fn unanswering_router() -> String {
    use wamp::Message;
    use wamp::transport::{Inbound, Outbound};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rs://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let serializers = [Serializer::Msgpack, Serializer::Json];
                let Ok(mut conn) = wamp::transport::rawsocket::accept(
                    wamp::transport::Stream::Tcp(stream),
                    &[],
                    &serializers,
                    1 << 20,
                )
                .await
                else {
                    return;
                };
                let ser = conn.info.serializer;
                while let Some(Ok(Inbound::Message(frame))) = conn.reader.next().await {
                    let answer = match wamp::decode(ser, &frame) {
                        Ok(Message::Hello { .. }) => Message::Welcome {
                            session: 1,
                            details: dict! {"roles" => dict! {"broker" => dict! {}}},
                        },
                        Ok(Message::Goodbye { .. }) => Message::Goodbye {
                            details: wamp::Dict::new(),
                            reason: "wamp.close.goodbye_and_out".into(),
                        },
                        _ => continue,
                    };
                    let bytes = wamp::encode(ser, &answer).unwrap();
                    if conn
                        .writer
                        .write_batch(&[Outbound::Message(bytes)])
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_that_stops_answering_cannot_keep_the_run_going() {
    let url = unanswering_router().await;
    let mut p = plan(url, Serializer::Msgpack, Schedule::Closed, 300);
    p.drain = Duration::from_millis(300);
    let run = Arc::new(Run::new(p));
    let started = tokio::time::Instant::now();
    let cfg = PubSubConfig {
        subscribers: 0,
        window: 4,
        ..PubSubConfig::default()
    };
    let report = tokio::time::timeout(
        Duration::from_secs(10),
        execute(&run, &Scenario::PubSub(cfg)),
    )
    .await
    .expect("the run ends")
    .expect("it starts");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let pubs = report.outcome.publications.as_ref().unwrap();
    assert_eq!(pubs.ok, 0);
    assert_eq!(
        report.errors().get(wamp_loadgen::drive::TIMED_OUT),
        Some(&4),
        "the window's 4 publications timed out: {:?}",
        report.errors()
    );
}
