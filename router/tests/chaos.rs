//! Chaos: clients that vanish mid-handshake, mid-frame and mid-call (their socket dropped, as
//! when their process is killed), a callee and a monitor that stop reading. After each, every
//! other client still gets its answers within [`PROMPT`], every session's `on_stats` add up to
//! exactly what crossed its wire, and the router holds again what it held before: its own census
//! of tasks, sessions, calls in progress and queued bytes.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::chaos::*;
use common::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use wamp::{Dict, Message, Payload, Serializer, Value, dict};
use wamp_router::{CALLEE_OVERLOADED, Router, RouterOptions};

/// A HELLO as a JSON client sends it.
const HELLO: &[u8] = br#"[1,"realm1",{"roles":{"caller":{}}}]"#;

/// The session id in a JSON WELCOME.
fn welcomed(frame: &[u8]) -> wamp::Id {
    match wamp::decode(Serializer::Json, &bytes::Bytes::copy_from_slice(frame)) {
        Ok(Message::Welcome { session, .. }) => session,
        other => panic!("expected WELCOME, got {other:?}"),
    }
}

/// Waits until the router took one connection more than `baseline` counts (so that what the
/// test kills next was really begun at the router's end).
async fn accepted(router: &Router, baseline: wamp_router::Census) {
    census_until(router, "the connection to be accepted", |c| {
        c.tasks > baseline.tasks
    })
    .await;
}

/// The wire of a session that said HELLO and got WELCOME, nothing else.
fn hello_and_welcome(welcome: usize) -> Wire {
    let mut w = Wire::default();
    w.received(HELLO.len());
    w.sent(welcome);
    w
}

#[tokio::test]
async fn clients_killed_mid_handshake_or_mid_frame_leave_nothing_behind() {
    let router = start().await;
    let mut meta = Meta::new(&router).await;
    let bystanders = Bystanders::new(&router).await;
    let baseline = quiet(&router).await;
    let (rs, ws) = (rs_addr(&router), ws_addr(&router));

    // Killed before the transport is open: half a RawSocket handshake, half an upgrade request.
    let upgrade = ws_upgrade_request(&ws);
    let half_upgrade = &upgrade.as_bytes()[..upgrade.len() / 2];
    for (addr, half) in [(&rs, &[0x7F, 0xF1][..]), (&ws, half_upgrade)] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(half).await.unwrap();
        accepted(&router, baseline).await;
        drop(s);
        settles(&router, baseline, "killed mid-handshake").await;
        bystanders.answer("after a kill mid-handshake").await;
    }

    // Killed mid-frame before HELLO: a header announcing 1000 bytes, then 10 of them.
    let mut s = rs_handshaken(&rs).await;
    s.write_all(&[0, 0, 0x03, 0xE8]).await.unwrap();
    s.write_all(&[b'['; 10]).await.unwrap();
    drop(s);
    settles(
        &router,
        baseline,
        "RawSocket, killed mid-frame before HELLO",
    )
    .await;
    let mut s = ws_upgraded(&ws).await;
    s.write_all(&ws_header(1000)).await.unwrap();
    s.write_all(&[b'['; 10]).await.unwrap();
    drop(s);
    settles(
        &router,
        baseline,
        "WebSocket, killed mid-frame before HELLO",
    )
    .await;
    bystanders.answer("after kills mid-frame").await;

    // Killed mid-frame after WELCOME: the session leaves, its statistics hold HELLO and
    // WELCOME, and nothing of the frame it never finished.
    let mut s = rs_handshaken(&rs).await;
    s.write_all(&rs_frame(HELLO)).await.unwrap();
    let welcome = rs_read_frame(&mut s).await;
    let id = welcomed(&welcome);
    s.write_all(&[0, 0, 0x03, 0xE8, b'[']).await.unwrap();
    drop(s);
    assert_eq!(meta.wire_of(id).await, hello_and_welcome(welcome.len()));
    settles(
        &router,
        baseline,
        "RawSocket, killed mid-frame after WELCOME",
    )
    .await;
    let mut s = ws_upgraded(&ws).await;
    s.write_all(&ws_frame(HELLO)).await.unwrap();
    let welcome = ws_read_frame(&mut s).await;
    let id = welcomed(&welcome);
    s.write_all(&ws_header(1000)).await.unwrap();
    s.write_all(b"[16,").await.unwrap();
    drop(s);
    assert_eq!(meta.wire_of(id).await, hello_and_welcome(welcome.len()));
    settles(
        &router,
        baseline,
        "WebSocket, killed mid-frame after WELCOME",
    )
    .await;
    bystanders.answer("after kills of joined sessions").await;
    router.shutdown().await;
}
