//! One task per connection, from its first byte to its end: the HELLO handshake
//! ([`handshake`]), then the session's writer task, then frames read, decoded and handled one by
//! one ([`dispatch`], [`pubsub`], [`rpc`]) until the session ends one way or another, and the
//! ending: leaving the realm, the GOODBYE exchange, the last statistics and `on_leave`.

mod authenticate;
mod dispatch;
mod dynamic;
mod handshake;
mod options;
mod penalty;
mod pubsub;
mod rpc;
mod strict;
mod testament;
#[cfg(test)]
mod tests;

use crate::log_budget::{UNJOINED, log_within};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinHandle;
use wamp::transport::{Connection, FrameReader, FrameWriter, Inbound, Outbound, TransportError};
use wamp::{Dict, Message, dict};

use self::dispatch::{Flow, Joined};
use crate::context::RouterContext;
use crate::metrics::RealmMetrics;
use crate::outbox::{Outbox, QueueLimits};
use crate::realm::Realm;
use crate::session_handle::{CloseReason, SessionHandle};
use crate::stats::Direction;

/// What a listener tells each session about its transport.
#[derive(Debug)]
pub struct ListenerSettings {
    /// How its clients may authenticate.
    pub auth: crate::config::AuthConfig,
    /// Keys the made-up challenges of unknown authids, so that the same authid always gets the
    /// same (and an unknown one looks like a known one).
    pub decoy_key: [u8; 32],
    /// Recent authentication failures by address.
    pub penalties: penalty::Penalties,
    /// How silent peers are found, if they are.
    pub keepalive: Option<crate::config::Keepalive>,
}

/// How a session ended.
#[derive(Debug)]
enum End {
    /// The client said GOODBYE.
    Goodbye(String),
    /// The client sent ABORT.
    ClientAbort(String),
    /// The client broke the protocol; ABORT was queued.
    Violation,
    /// Someone asked the session to close.
    Closed(CloseReason),
    /// The transport closed or failed.
    Transport(String),
}

/// Runs a connection to its end; HELLO must arrive by `hello_by`.
pub async fn run(
    conn: Connection,
    router: Arc<RouterContext>,
    listener: Arc<ListenerSettings>,
    hello_by: tokio::time::Instant,
) {
    let opened = (Instant::now(), SystemTime::now());
    let Connection {
        info,
        mut reader,
        mut writer,
    } = conn;
    reader.set_stall_timeout(router.options.frame_timeout);
    let limits = QueueLimits {
        max_bytes: router.options.outbound_bytes,
        owed: router.options.max_pending_calls,
    };
    let (out, rx) = Outbox::new(router.options.outbound_queue, limits);
    // The handshake and the ending run once per session: boxed, they take memory only while
    // they run, not in the task an idle session keeps (see `idle_heap`).
    let handshake = Box::pin(handshake::hello(
        &mut reader,
        &mut writer,
        &out,
        &info,
        &router,
        &listener,
        opened,
        hello_by,
    ));
    let joined = tokio::select! {
        j = tokio::time::timeout_at(hello_by, handshake) => j.unwrap_or_else(|_| {
            log_within!(UNJOINED, warn, peer = %info.peer, "no HELLO within {:?}; closing", router.options.hello_timeout);
            Err(Some(handshake::Abort {
                reason: "wamp.error.protocol_violation".into(),
                message: "no HELLO in time".into(),
            }))
        }),
        _ = router.shutdown.cancelled() => Err(None),
    };
    let (realm, me) = match joined {
        Ok(joined) => joined,
        Err(abort) => {
            let abort = abort.and_then(|a| wamp::encode(info.serializer, &a.message()).ok());
            Box::pin(close_unjoined(
                writer,
                abort,
                router.options.goodbye_timeout,
            ))
            .await;
            return;
        }
    };
    let metrics = realm.metrics.clone();
    if let Some(m) = &metrics {
        m.joined(&me.authrole, info.framing.name());
    }
    let writer_task = spawn_writer(
        writer,
        rx,
        out.clone(),
        (Arc::clone(&realm), Arc::clone(&me)),
        metrics.clone(),
    );
    let Some(role) = realm.role(&me.authrole) else {
        // Checked in the handshake; a realm's roles do not change.
        realm.detach(me.id);
        writer_task.abort();
        if let Some(m) = &metrics {
            m.left(&me.authrole, info.framing.name());
        }
        return;
    };
    let started = Instant::now();
    tracing::info!(
        session = me.id,
        realm = realm.name(),
        authid = %me.authid,
        authrole = %me.authrole,
        transport = info.framing.name(),
        serializer = info.serializer.name(),
        peer = %info.peer,
        "session joined"
    );
    let mut s = Joined {
        realm: &realm,
        me: &me,
        role,
    };
    let end = serve(
        &mut s,
        &mut reader,
        &out,
        &router,
        (listener.keepalive, metrics.as_deref()),
    )
    .await;
    // Leave the broker and dealer first: nothing may be queued after GOODBYE, and no call may
    // be routed to a session that is going.
    realm.detach(me.id);
    // However it ended (GOODBYE, a lost transport, a kill, the router stopping): its
    // testaments, once.
    s.publish_testaments();
    let graceful = Box::pin(end_session(&s, end, &mut reader, &router)).await;
    if graceful {
        Box::pin(finish_writer(
            out,
            writer_task,
            router.options.goodbye_timeout,
        ))
        .await;
    } else {
        writer_task.abort();
        let _ = writer_task.await;
    }
    // The writer is done: the last cycle holds everything that was sent, and nothing follows.
    if let Some(stats) = &me.stats
        && let Some(last) = stats.finish()
    {
        realm.events.on_stats(&me, &last);
    }
    // Counted before on_leave goes out: whoever saw that event finds the session gone in the
    // metrics too.
    if let Some(m) = &metrics {
        m.left(&me.authrole, info.framing.name());
    }
    realm.events.on_leave(&me);
    tracing::info!(session = me.id, realm = realm.name(), duration = ?started.elapsed(), "session left");
}

/// Starts the joined session's writer: it drains the session's queue into the connection and
/// counts what it sends in the session's statistics.
fn spawn_writer(
    writer: FrameWriter,
    queue: tokio::sync::mpsc::Receiver<Outbound>,
    out: Outbox,
    (realm, me): (Arc<Realm>, Arc<SessionHandle>),
    metrics: Option<Arc<RealmMetrics>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Count what is sent just before it is written, so that the peer's answer to it can
        // never be counted first (cycle 1 ends with WELCOME, before any answer).
        let sending = |batch: &[Outbound]| {
            if let Some(m) = &metrics {
                for o in batch {
                    if let Outbound::Message(b) | Outbound::Passive(b) = o {
                        m.sent(me.serializer(), b);
                    }
                }
            }
            if let Some(stats) = &me.stats {
                let sizes = batch.iter().filter_map(|o| match o {
                    Outbound::Message(b) => Some((b.len(), true)),
                    Outbound::Passive(b) => Some((b.len(), false)),
                    _ => None,
                });
                stats.count(Direction::Tx, sizes, |c| realm.events.on_stats(&me, c));
            }
        };
        let written = |batch: &[Outbound]| out.written(batch);
        if let Err(e) = wamp::transport::run_writer(writer, queue, sending, written).await {
            tracing::debug!("writer ended: {e}");
        }
    })
}

/// Sends what a connection that never joined must hear (an ABORT, or nothing) and closes it.
async fn close_unjoined(mut writer: FrameWriter, abort: Option<bytes::Bytes>, within: Duration) {
    let mut last = Vec::with_capacity(2);
    last.extend(abort.map(Outbound::Message));
    last.push(Outbound::Close);
    if let Ok(Err(e)) = tokio::time::timeout(within, writer.write_batch(&last)).await {
        tracing::debug!("closing an unjoined connection: {e}");
    }
}

/// Lets the writer send what is queued, then close the connection.
async fn finish_writer(out: Outbox, mut writer: JoinHandle<()>, within: Duration) {
    let queued = out.push(Outbound::Close).is_ok();
    drop(out);
    if !queued || tokio::time::timeout(within, &mut writer).await.is_err() {
        writer.abort();
        let _ = writer.await;
    }
}

/// Reads and handles frames until the session ends; with `keepalive`, pings a peer that went
/// silent and ends the session of one that does not answer.
async fn serve(
    s: &mut Joined<'_>,
    reader: &mut FrameReader,
    out: &Outbox,
    router: &RouterContext,
    (keepalive, metrics): (Option<crate::config::Keepalive>, Option<&RealmMetrics>),
) -> End {
    let close = s.me.close_requested();
    tokio::pin!(close);
    let shutdown = router.shutdown.cancelled();
    tokio::pin!(shutdown);
    // One timer for the session's life, looked at once per interval (not reset per frame):
    // frames counted since the last look say whether the peer was silent.
    let mut silence = Silence::default();
    // What the last `wampstat.session.on_slow` said (policy `drop`).
    let mut dropping = false;
    let check = tokio::time::sleep(keepalive.map_or(Duration::MAX / 4, |k| k.interval));
    tokio::pin!(check);
    loop {
        tokio::select! {
            biased;
            frame = reader.next() => match frame {
                Some(Ok(Inbound::Pong)) => silence.frames += 1,
                Some(Ok(Inbound::Message(b))) => {
                    silence.frames += 1;
                    if let Some(m) = metrics {
                        m.received(s.me.serializer(), &b);
                    }
                    if let Flow::End(end) = s.on_frame(b) {
                        return end;
                    }
                }
                Some(Ok(Inbound::Ping(p))) => {
                    silence.frames += 1;
                    let _ = out.push(Outbound::Pong(p));
                }
                Some(Err(e @ (TransportError::TooLarge { .. } | TransportError::Stalled { .. }))) => {
                    return s.violation(e.to_string());
                }
                Some(Err(e)) => return End::Transport(e.to_string()),
                None => return End::Transport("connection closed by the peer".into()),
            },
            reason = &mut close => return End::Closed(reason),
            () = s.me.slow_changed() => {
                let slow = s.me.slowness();
                if slow.dropping != dropping {
                    dropping = slow.dropping;
                    tracing::warn!(session = s.me.id, queued = slow.queued, dropped = slow.dropped,
                        "slow consumer {} dropping events", if dropping { "started" } else { "stopped" });
                    s.realm.events.on_slow(s.me, &slow);
                }
            }
            _ = &mut shutdown => return End::Closed(CloseReason::Shutdown),
            () = &mut check, if keepalive.is_some() => {
                let Some(k) = keepalive else { continue };
                match silence.look() {
                    Look::Alive => check.as_mut().reset(tokio::time::Instant::now() + k.interval),
                    Look::Silent => {
                        let _ = out.push(Outbound::Ping(silence.ping_payload(k.size)));
                        check.as_mut().reset(tokio::time::Instant::now() + k.timeout);
                    }
                    Look::Unanswered => {
                        tracing::info!(
                            session = s.me.id,
                            peer = %s.me.transport.peer,
                            "no answer to a ping within {:?}; closing", k.timeout
                        );
                        return End::Transport(format!("no answer to a ping within {:?}", k.timeout));
                    }
                }
            }
        }
    }
}

/// What a session's keepalive knows: frames seen, and whether a ping is out.
#[derive(Debug, Default)]
struct Silence {
    /// Frames received (any kind) so far.
    frames: u64,
    /// `frames` at the last look.
    seen: u64,
    /// Whether a ping was sent at the last look and no frame came since.
    pinged: bool,
    /// Pings sent, numbering their payloads.
    pings: u32,
}

/// What a look at the keepalive found.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// Frames came since the last look.
    Alive,
    /// None came: send a ping.
    Silent,
    /// None came since the ping: the peer is gone.
    Unanswered,
}

impl Silence {
    /// Looks at what came since the last look.
    fn look(&mut self) -> Look {
        if self.frames != self.seen {
            self.seen = self.frames;
            self.pinged = false;
            Look::Alive
        } else if self.pinged {
            Look::Unanswered
        } else {
            self.pinged = true;
            Look::Silent
        }
    }

    /// The next ping's payload: its number, padded to `size` bytes.
    fn ping_payload(&mut self, size: usize) -> bytes::Bytes {
        self.pings = self.pings.wrapping_add(1);
        let mut p = self.pings.to_be_bytes().to_vec();
        p.resize(size.max(4), 0);
        p.into()
    }
}

/// Says goodbye as the ending requires; returns whether the connection may close gracefully
/// (flushing what is queued) rather than at once.
async fn end_session(
    s: &Joined<'_>,
    end: End,
    reader: &mut FrameReader,
    router: &RouterContext,
) -> bool {
    let id = s.me.id;
    match end {
        End::Goodbye(reason) => {
            tracing::debug!(session = id, "client said goodbye ({reason})");
            s.send(&Message::Goodbye {
                details: Dict::new(),
                reason: "wamp.close.goodbye_and_out".into(),
            });
            true
        }
        End::ClientAbort(reason) => {
            tracing::info!(session = id, "client aborted ({reason})");
            true
        }
        End::Violation => true,
        End::Transport(why) => {
            tracing::debug!(session = id, "transport ended: {why}");
            false
        }
        End::Closed(CloseReason::SlowConsumer) => {
            // Detached already: the event goes to the others, never into its full queue.
            s.realm.events.on_slow(s.me, &s.me.slowness());
            if let Some(m) = &s.realm.metrics {
                m.slow_consumer_closed();
            }
            tracing::warn!(
                session = id,
                peer = %s.me.transport.peer,
                "closing a slow consumer: its outbound queue of {} messages is full",
                router.options.outbound_queue
            );
            false
        }
        End::Closed(CloseReason::Shutdown) => {
            say_goodbye(s, "wamp.close.system_shutdown", None, reader, router).await;
            true
        }
        End::Closed(CloseReason::Killed { reason, message }) => {
            say_goodbye(s, &reason, message, reader, router).await;
            true
        }
    }
}

/// Sends GOODBYE and waits (bounded) for the client's GOODBYE in return.
async fn say_goodbye(
    s: &Joined<'_>,
    reason: &str,
    message: Option<String>,
    reader: &mut FrameReader,
    router: &RouterContext,
) {
    let details = message.map_or_else(Dict::new, |m| dict! {"message" => m});
    s.send(&Message::Goodbye {
        details,
        reason: reason.to_owned(),
    });
    let ser = s.me.serializer();
    let wait = async {
        while let Some(Ok(frame)) = reader.next().await {
            if let Inbound::Message(b) = frame {
                s.count_rx(b.len());
                if let Ok(Message::Goodbye { .. }) = wamp::decode(ser, &b) {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(router.options.goodbye_timeout, wait).await;
}
