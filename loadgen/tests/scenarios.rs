//! The scenarios against the real router on 127.0.0.1, briefly: what they report adds up.

use std::time::Duration;

use wamp::Serializer;
use wamp_loadgen::pubsub::{self, PubSubConfig};
use wamp_loadgen::rpc::{self, RpcConfig};
use wamp_loadgen::schedule::Schedule;
use wamp_router::config::Config;
use wamp_router::{Router, RouterOptions};

async fn router() -> Router {
    let mut config = Config::embedded_default().config;
    for t in &mut config.transports {
        t.port = 0;
    }
    Router::start(config, RouterOptions::default())
        .await
        .expect("router starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_delivers_every_publication_to_every_subscriber() {
    let router = router().await;
    for (url, ser) in [
        (router.rawsocket_url().unwrap(), Serializer::Msgpack),
        (router.websocket_url().unwrap(), Serializer::Json),
    ] {
        let cfg = PubSubConfig {
            url,
            realm: "realm1".into(),
            serializer: ser,
            publishers: 2,
            subscribers: 3,
            topics: 2,
            payload: 50,
            schedule: Schedule::Open { rate: 2000.0 },
            duration: Duration::from_millis(500),
            warmup: Duration::ZERO,
        };
        let r = pubsub::run(&cfg).await.expect("runs");
        assert_eq!(r.published, 1000, "2,000/s for 0.5 s");
        assert_eq!(
            r.events.ok,
            r.published * 3,
            "every subscriber got every publication"
        );
        assert!(r.events.errors.is_empty() && r.publish_errors.errors.is_empty());
        let s = r.events.summary(r.seconds);
        assert!(s.p50 > 0 && s.p50 <= s.p99 && s.p99 <= s.max);
    }
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_answers_every_call_open_and_closed_loop() {
    let router = router().await;
    for schedule in [Schedule::Open { rate: 1000.0 }, Schedule::Closed] {
        let cfg = RpcConfig {
            url: router.rawsocket_url().unwrap(),
            realm: "realm1".into(),
            serializer: Serializer::Msgpack,
            callees: 2,
            callers: 2,
            schedule,
            concurrency: 16,
            payload: 32,
            duration: Duration::from_millis(500),
            warmup: Duration::ZERO,
        };
        let (rec, secs) = rpc::run(&cfg).await.expect("runs");
        assert!(rec.errors.is_empty(), "{:?}", rec.errors);
        if schedule != Schedule::Closed {
            assert_eq!(rec.ok, 500, "1,000/s for 0.5 s");
        }
        assert!(rec.summary(secs).ok > 0);
    }
    router.shutdown().await;
}

#[test]
fn an_unreachable_router_is_a_clear_error_and_a_failure_exit() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wamp-loadgen"))
        .args(["--url", "rs://127.0.0.1:9", "--duration", "0.1", "rpc"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused"), "{err}");
}
