//! Chaos against the `wamp-router` binary (a child process, so that its memory is its own and
//! it can be sent signals): rounds of clients killed mid-handshake, mid-frame and mid-call and
//! of a callee that stops reading leave the router's memory where the same round left it, and
//! SIGTERM under load ends every session with GOODBYE and the process with status 0.

#![allow(clippy::result_large_err)] // the closures given to `serve`, as in rpc.rs

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::chaos::{Tiny, rs_frame, ws_upgrade_request};
use common::child::*;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wamp::client::Closed;
use wamp::{Dict, Message, Payload, Serializer, Session, Value, dict};

/// How quickly bystanders must be answered meanwhile.
const PROMPT: Duration = Duration::from_secs(2);

/// How much the router's RSS may grow per round of chaos, in KiB: above it, a leak.
const LEAK_KIB_PER_ROUND: f64 = 1024.0;

/// A JSON HELLO.
const HELLO: &[u8] = br#"[1,"realm1",{"roles":{"caller":{}}}]"#;

/// A CALL of `procedure` without arguments.
fn call_of(request: wamp::Id, procedure: &str) -> Message {
    Message::Call {
        request,
        options: Dict::new(),
        procedure: procedure.into(),
        payload: Payload::empty(),
    }
}

/// What stays while the rounds run: an echo callee and its caller, and a callee of `com.hold`
/// that keeps every invocation unanswered.
struct Stay {
    caller: Session,
    _echo: Session,
    _holder: Session,
}

impl Stay {
    async fn new(router: &RouterProcess) -> Stay {
        let echo = join_url(&router.rs, "realm1", Serializer::Msgpack)
            .await
            .expect("joins");
        serve(register(&echo, "com.echo", Dict::new()).await, |args| {
            Ok(Payload::from_args(args))
        });
        let holder = join_url(&router.ws, "realm1", Serializer::Cbor)
            .await
            .expect("joins");
        let mut held = register(&holder, "com.hold", Dict::new()).await;
        tokio::spawn(async move {
            let mut kept = Vec::new();
            while let Some(inv) = held.invocations.recv().await {
                kept.push(inv);
            }
        });
        let caller = join_url(&router.ws, "realm1", Serializer::Json)
            .await
            .expect("joins");
        Stay {
            caller,
            _echo: echo,
            _holder: holder,
        }
    }

    /// An echo call answered within [`PROMPT`].
    async fn answered(&self, what: &str) {
        tokio::time::timeout(PROMPT, call(&self.caller, "com.echo"))
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer within {PROMPT:?}"))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }

    /// The sessions joined now, by `wamp.session.count`.
    async fn sessions(&self) -> u64 {
        call(&self.caller, "wamp.session.count")
            .await
            .expect("answered")
            .payload
            .args()
            .expect("decodes")[0]
            .as_u64()
            .expect("a count")
    }
}

/// One round of chaos: connections killed mid-handshake and mid-frame, callers and callees
/// killed mid-call, a callee that stops reading; returns when the router holds only `stay`'s
/// sessions and `fds` descriptors again.
async fn round(router: &RouterProcess, stay: &Stay, fds: usize) {
    let (rs, ws) = (router.rs_addr(), router.ws_addr());
    let upgrade = ws_upgrade_request(&ws);
    for _ in 0..30 {
        let mut s = TcpStream::connect(&rs).await.unwrap();
        s.write_all(&[0x7F, 0xF1]).await.unwrap();
        let mut s = TcpStream::connect(&ws).await.unwrap();
        s.write_all(&upgrade.as_bytes()[..upgrade.len() / 2])
            .await
            .unwrap();
        let mut s = TcpStream::connect(&rs).await.unwrap();
        s.write_all(&[0x7F, 0xF1, 0, 0, 0, 0, 0x03, 0xE8, b'['])
            .await
            .unwrap();
        drop(s);
    }
    stay.answered("after kills mid-handshake").await;
    for _ in 0..20 {
        // Joined, then killed mid-frame.
        let mut s = TcpStream::connect(&rs).await.unwrap();
        s.write_all(&[0x7F, 0xF1, 0, 0]).await.unwrap();
        s.write_all(&rs_frame(HELLO)).await.unwrap();
        let mut welcome = [0u8; 5];
        s.read_exact(&mut welcome).await.unwrap();
        s.write_all(&[0, 0, 0x03, 0xE8, b'[']).await.unwrap();
        // A caller killed mid-call.
        let roles = dict! {"caller" => Value::Dict(Dict::new())};
        let (mut caller, _) = Raw::join_with_roles(&router.rs, Serializer::Msgpack, roles).await;
        caller.send(&call_of(1, "com.hold")).await;
        // A callee killed holding an invocation: its caller is told at once.
        let roles = dict! {"callee" => Value::Dict(Dict::new())};
        let (mut callee, _) = Raw::join_with_roles(&router.ws, Serializer::Json, roles).await;
        callee
            .send(&Message::Register {
                request: 1,
                options: Dict::new(),
                procedure: "com.lost".into(),
            })
            .await;
        assert!(matches!(
            callee.recv().await,
            Some(Message::Registered { .. })
        ));
        let pending = tokio::spawn({
            let url = router.ws.clone();
            async move {
                let s = join_url(&url, "realm1", Serializer::Json).await.unwrap();
                let r = call(&s, "com.lost").await;
                s.leave("wamp.close.normal").await.unwrap();
                r
            }
        });
        assert!(matches!(
            callee.recv().await,
            Some(Message::Invocation { .. })
        ));
        drop((s, caller, callee));
        let r = tokio::time::timeout(PROMPT, pending)
            .await
            .expect("the caller is answered at once")
            .unwrap();
        assert_wamp_error(r, "wamp.error.canceled");
    }
    // A callee that stops reading, called until the router closes it.
    let roles = dict! {"callee" => Value::Dict(Dict::new())};
    let (mut stuck, stuck_id) = Tiny::join_at(&rs, roles).await;
    stuck
        .send(&Message::Register {
            request: 1,
            options: Dict::new(),
            procedure: "com.stuck".into(),
        })
        .await;
    assert!(matches!(
        stuck.recv().await,
        Some(Message::Registered { .. })
    ));
    // 4 KiB calls, from callers that each keep fewer calls in flight than their queue of 64
    // holds answers (a new caller every 24 calls).
    let payload = Payload::from_args(vec![Value::Bytes(vec![7; 4 << 10])]);
    let mut calls = Vec::new();
    let mut flooders: Vec<Arc<Session>> = Vec::new();
    for i in 0..2_000 {
        if i % 24 == 0 {
            let f = join_url(&router.rs, "realm1", Serializer::Msgpack).await;
            flooders.push(Arc::new(f.unwrap()));
        }
        let f = Arc::clone(flooders.last().expect("a flooder"));
        let p = payload.clone();
        calls.push(tokio::spawn(async move {
            f.call("com.stuck", p, Dict::new()).await
        }));
        if calls.len() % 8 == 0 {
            stay.answered("while a callee is stuck").await;
            let alive = stay
                .caller
                .call(
                    "wamp.session.get",
                    Payload::from_args(vec![stuck_id.into()]),
                    Dict::new(),
                )
                .await
                .is_ok();
            if !alive {
                break;
            }
        }
    }
    for c in calls {
        let r = tokio::time::timeout(PROMPT, c)
            .await
            .expect("every call of the stuck callee is answered")
            .unwrap();
        assert!(r.is_err(), "the stuck callee answered nothing");
    }
    stuck.drain().await;
    for f in flooders {
        Arc::into_inner(f)
            .expect("no call left")
            .leave("wamp.close.normal")
            .await
            .expect("the callers were not closed");
    }

    // Back to the sessions that stay, and the descriptors of before.
    let deadline = Instant::now() + Duration::from_secs(10);
    while stay.sessions().await != 3 {
        assert!(Instant::now() < deadline, "sessions left behind");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let back = poll(Duration::from_secs(10), || {
        (router.open_fds() <= fds).then_some(())
    })
    .await;
    assert!(
        back.is_some(),
        "{} descriptors, {fds} before",
        router.open_fds()
    );
}

/// Rounds of chaos leave the router's resident memory where earlier rounds left it: after a
/// warm-up round (allocator arenas, runtime buffers), the RSS of rounds 1 to 10 does not grow
/// by more than [`LEAK_KIB_PER_ROUND`] a round (the least-squares slope). RSS after a round
/// wanders by ±4 MiB with the allocator's timing, more on a loaded machine, so no one round,
/// nor a median of three, tells a leak from that noise; over ten rounds the slope of such noise
/// stays well under the threshold, while a leak of more than 1 MiB a round exceeds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rounds_of_chaos_leave_the_routers_memory_at_its_baseline() {
    // A queue of 64 messages: a callee that stops reading is found soon.
    let router = RouterProcess::start("chaos-rounds", &["--outbound-queue", "64"]);
    let stay = Stay::new(&router).await;
    let fds = router.open_fds();
    let start = router.rss_kib();
    let mut after = Vec::new();
    for _ in 0..11 {
        round(&router, &stay, fds).await;
        after.push(router.rss_kib());
    }
    eprintln!("RSS: {start} KiB at the start, then after each round {after:?}");
    let slope = slope(&after[1..]);
    assert!(
        slope <= LEAK_KIB_PER_ROUND,
        "RSS grows {slope:.0} KiB a round over rounds 1 to 10: {after:?}"
    );
}

/// The least-squares slope of `ys` against 0, 1, 2, …
fn slope(ys: &[u64]) -> f64 {
    let n = ys.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = ys.iter().map(|&y| y as f64).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (x, &y) in ys.iter().enumerate() {
        let dx = x as f64 - mean_x;
        num += dx * (y as f64 - mean_y);
        den += dx * dx;
    }
    num / den
}

#[test]
fn the_slope_of_a_line_is_its_rise_per_step() {
    assert_eq!(slope(&[10, 20, 30, 40]), 10.0);
    assert_eq!(slope(&[40, 40, 40]), 0.0);
    assert!(slope(&[5, 1, 5, 1, 5, 1]).abs() < 1.0, "noise has no trend");
}

/// SIGTERM while callers call, publishers publish, a call is in progress and one session
/// never answers GOODBYE: every session gets GOODBYE `wamp.close.system_shutdown`, the busy
/// ones stop, and the process exits with status 0 within a bounded time (the silent session
/// costs it the goodbye timeout, no more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_says_goodbye_to_every_session_and_exits_0() {
    let goodbye_timeout = Duration::from_millis(500);
    let mut router = RouterProcess::start("chaos-sigterm", &["--goodbye-timeout", "500ms"]);
    let stay = Stay::new(&router).await;
    let subscriber = join_url(&router.rs, "realm1", Serializer::Cbor)
        .await
        .unwrap();
    let mut events = subscribe(&subscriber, "com.load", Dict::new()).await;
    tokio::spawn(async move { while events.events.recv().await.is_some() {} });
    // A call in progress when the signal comes.
    let waiting = join_url(&router.rs, "realm1", Serializer::Json)
        .await
        .unwrap();
    let waiting = Arc::new(waiting);
    let in_progress = spawn_call(Arc::clone(&waiting), "com.hold");
    // Busy sessions over both transports: call and publish until the router goes.
    let done = Arc::new(AtomicU64::new(0));
    let mut busy = Vec::new();
    for (url, ser) in [
        (&router.ws, Serializer::Json),
        (&router.rs, Serializer::Msgpack),
        (&router.ws, Serializer::Cbor),
        (&router.rs, Serializer::Json),
    ] {
        let s = Arc::new(join_url(url, "realm1", ser).await.unwrap());
        let (worker, done) = (Arc::clone(&s), Arc::clone(&done));
        let task = tokio::spawn(async move {
            for i in 0..100_000u64 {
                let args = Payload::from_args(vec![i.into()]);
                if worker
                    .call("com.echo", args.clone(), Dict::new())
                    .await
                    .is_err()
                    || worker.publish("com.load", args, ack()).await.is_err()
                {
                    return;
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
        busy.push((s, task));
    }
    // A session that never answers GOODBYE (nor reads).
    let (mut silent, _) = Raw::join(&router.rs, Serializer::Json).await;
    let loaded = poll(Duration::from_secs(10), || {
        (done.load(Ordering::Relaxed) >= 200).then_some(())
    })
    .await;
    assert!(loaded.is_some(), "the load did not start");

    let signalled = Instant::now();
    router.signal("TERM");
    let shutdown = Closed::Goodbye("wamp.close.system_shutdown".into());
    let everyone = busy
        .iter()
        .map(|(s, _)| Arc::clone(s))
        .chain([Arc::clone(&waiting)]);
    for s in everyone {
        assert_eq!(within("the GOODBYE", s.closed()).await, shutdown);
    }
    for s in [&stay.caller, &subscriber] {
        assert_eq!(within("the GOODBYE", s.closed()).await, shutdown);
    }
    match silent.recv().await {
        Some(Message::Goodbye { reason, .. }) => assert_eq!(reason, "wamp.close.system_shutdown"),
        other => panic!("expected GOODBYE, got {other:?}"),
    }
    assert!(silent.recv().await.is_none(), "then the connection closes");
    for (_, task) in busy {
        within("a busy session to stop", task).await.unwrap();
    }
    // The call in progress ends one way or the other (its callee went too), never hangs.
    let _ = within("the call in progress", in_progress).await.unwrap();
    let status = router.exit_within(Duration::from_secs(10));
    let took = signalled.elapsed();
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?} after {took:?}: {:#?}",
        router.output()
    );
    // Its sessions' GOODBYE, the silent one's goodbye timeout, the tasks' ends: a few times
    // the goodbye timeout, never unbounded.
    assert!(
        took < 6 * goodbye_timeout + Duration::from_secs(2),
        "{took:?}"
    );
    eprintln!(
        "SIGTERM under load: exited 0 after {took:?}, {} rounds of load done",
        done.load(Ordering::Relaxed)
    );
}
