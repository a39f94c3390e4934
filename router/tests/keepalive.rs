//! Keepalive pings over real sockets: a peer that went silent is pinged, and its session ends
//! when it does not answer; peers that answer (our client over both transports, which answers
//! RawSocket PINGs, and tungstenite, which answers WebSocket pings) stay.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use wamp::{Dict, Serializer, Value};
use wamp_router::config::Keepalive;

const PINGS: Keepalive = Keepalive {
    interval: Duration::from_millis(250),
    // Room for a loaded machine's stall: an answering peer must never look silent.
    timeout: Duration::from_millis(500),
    size: 8,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_peers_are_pinged_and_closed_and_answering_ones_stay() {
    let router = start_configured(|config| {
        for t in &mut config.transports {
            t.keepalive = Some(PINGS);
        }
    })
    .await;
    let monitor = join(&router, Transport::Ws, Serializer::Json).await;
    let mut left = monitor
        .subscribe("wamp.session.on_leave", Dict::new())
        .await
        .expect("subscribed");
    // Idle but answering: they joined first, so their silence began first.
    let live = [
        join(&router, Transport::Ws, Serializer::Msgpack).await,
        join(&router, Transport::Rs, Serializer::Msgpack).await,
    ];
    let start = Instant::now();
    // Silent over WebSocket: joined, then never reads again (so tungstenite cannot answer).
    let (_ws_silent, ws_id) = Raw::join(&url(&router, Transport::Ws), Serializer::Json).await;
    // Silent over RawSocket: reads, but answers no PING.
    let (mut rs_silent, rs_id) = Raw::join(&url(&router, Transport::Rs), Serializer::Json).await;
    let rs_reader = tokio::spawn(async move {
        let end = rs_silent.recv().await;
        (end, Instant::now())
    });
    let mut gone = HashSet::new();
    while gone.len() < 2 {
        let e = next_event(&mut left).await;
        if let Some(id) = e
            .payload
            .args()
            .expect("decodes")
            .first()
            .and_then(Value::as_u64)
        {
            assert!(
                id == ws_id || id == rs_id,
                "only the silent ones leave, not {id}"
            );
            gone.insert(id);
        }
    }
    let took = start.elapsed();
    assert!(
        took >= PINGS.interval + PINGS.timeout,
        "closed after a ping went unanswered, not before: {took:?}"
    );
    let (end, closed_at) = within("the RawSocket close", rs_reader)
        .await
        .expect("joined");
    assert!(end.is_none(), "the router closed the connection: {end:?}");
    assert!(closed_at.duration_since(start) >= PINGS.interval + PINGS.timeout);
    for s in &live {
        assert!(
            router.is_joined("realm1", s.id()),
            "a session that answers pings stays"
        );
    }
    for s in live {
        s.leave("wamp.close.normal").await.expect("leaves");
    }
    monitor.leave("wamp.close.normal").await.expect("leaves");
    router.shutdown().await;
}
