//! In-process measurements of the broker's and the dealer's bookkeeping, without sockets: the
//! `routing_index` example (feature `bench`) runs them. Not part of the router's API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wamp::transport::{Framing, Peer, TransportInfo};
use wamp::{Dict, Id, MatchPolicy, Serializer};

use crate::broker::Broker;
use crate::dealer::{Dealer, InvokePolicy};
use crate::options::RouterOptions;
use crate::outbox::{Outbox, QueueLimits};
use crate::session_handle::{Authenticated, SessionHandle};

/// How long each phase took for `n` simulated sessions.
#[derive(Debug, Clone, Copy)]
pub struct Phases {
    /// All sessions joining one subscription (or registration).
    pub join: Duration,
    /// All of them leaving again, one after another (the broker's or dealer's `detach`).
    pub leave: Duration,
}

/// A session handle like a joined RawSocket/JSON session's, whose queue nobody reads.
fn handle(id: Id) -> Arc<SessionHandle> {
    let (outbox, _rx) = Outbox::new(
        4,
        QueueLimits {
            max_bytes: 1 << 16,
            owed: 0,
        },
    );
    let transport = TransportInfo {
        framing: Framing::RawSocket,
        serializer: Serializer::Json,
        peer: Peer::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], 1))),
        is_secure: false,
        websocket_protocol: None,
        http_headers: Arc::new([]),
        peer_max_message_size: 1 << 20,
    };
    let who = Authenticated {
        authid: format!("bench-{id}"),
        authrole: "anonymous".into(),
        authmethod: "anonymous",
        authprovider: "static",
        authextra: Dict::new(),
    };
    Arc::new(SessionHandle::new(
        id,
        "realm1".into(),
        who,
        transport,
        Default::default(),
        None,
        RouterOptions::default().limits(),
        outbox,
    ))
}

/// `n` simulated sessions subscribe to one topic, then leave one by one.
pub fn subscribe_one_topic(n: usize) -> Phases {
    let sessions: Vec<_> = (1..=n as Id).map(handle).collect();
    let broker = Broker::default();
    let t = Instant::now();
    for s in &sessions {
        let _ = broker.subscribe(s, "bench.one.topic", MatchPolicy::Exact);
    }
    let join = t.elapsed();
    let t = Instant::now();
    for s in &sessions {
        broker.detach(s.id);
    }
    Phases {
        join,
        leave: t.elapsed(),
    }
}

/// `n` simulated sessions register one shared (round-robin) procedure, then leave one by one.
pub fn register_one_procedure(n: usize) -> Phases {
    let sessions: Vec<_> = (1..=n as Id).map(handle).collect();
    let dealer = Dealer::default();
    let t = Instant::now();
    for s in &sessions {
        let _ = dealer.register(
            s,
            "bench.one.procedure",
            (MatchPolicy::Exact, InvokePolicy::RoundRobin),
            false,
        );
    }
    let join = t.elapsed();
    let t = Instant::now();
    for s in &sessions {
        dealer.detach(s.id);
    }
    Phases {
        join,
        leave: t.elapsed(),
    }
}
