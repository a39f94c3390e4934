//! The monitor's connection to the router: join as an ordinary client, subscribe to the prefix
//! `wamp.session.`, fetch the sessions that are already there, and pass every meta event on —
//! reconnecting (and fetching again) whenever the connection is lost.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tokio::sync::mpsc;
use wamp::client::ClientError;
use wamp::{Dict, Id, Payload, Serializer, Session, SessionOptions, Value, dict};

use crate::stats::StatsEvent;

/// Where to connect.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// What the dashboard calls this router (the URL's host and port unless given).
    pub name: String,
    /// `ws://host:port/path` or `rs://host:port`.
    pub url: String,
    /// The realm.
    pub realm: String,
    /// The serializer.
    pub serializer: Serializer,
    /// Who to log in as.
    pub login: wamp::auth::Login,
    /// Whom to trust for `wss://` and `rss://`.
    pub trust: wamp::transport::tls::TrustRoots,
    /// Whether `on_stats` events are decoded straight into their typed form
    /// ([`FeedItem::Stats`]: what the dashboard needs, several times cheaper) rather than into
    /// dicts ([`FeedItem::Event`]: the whole event, for recordings and scripts).
    pub typed_stats: bool,
}

/// What the feed delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    /// A meta event as received.
    Event {
        /// Its topic.
        topic: String,
        /// Its arguments.
        args: Vec<Value>,
        /// Its keyword arguments.
        kwargs: Dict,
        /// When it arrived.
        received: SystemTime,
    },
    /// A `wamp.session.on_stats` decoded into its typed form (with
    /// [`FeedConfig::typed_stats`]).
    Stats {
        /// The event (boxed: it is several times the size of the other items).
        event: Box<StatsEvent>,
        /// When it arrived.
        received: SystemTime,
    },
    /// The sessions already there when the feed (re)connected.
    Snapshot(Vec<Dict>),
    /// **[wampstat]** What `wampstat.session.summary` answered (asked after the snapshot and
    /// then every [`SUMMARY_EVERY`], as long as the router offers it).
    Summary(Dict),
    /// Connected (the URL).
    Connected(String),
    /// The outcome of a kill this monitor asked for.
    Killed(Id, Result<(), String>),
    /// The connection was lost or could not be made; the feed retries after `retry`.
    Disconnected {
        /// Why.
        error: String,
        /// When the next attempt is.
        retry: Duration,
    },
}

/// The topic of the statistics events.
const STATS_TOPIC: &str = "wamp.session.on_stats";

/// The key of an EVENT's details the feed reads (the others are skipped, not decoded).
#[derive(Deserialize)]
struct TopicOf {
    /// The topic (a pattern subscription's events carry it).
    topic: Option<Topic>,
}

/// An event's topic: [`STATS_TOPIC`], the one that comes by the hundred thousand, is
/// recognised without making a string of it.
#[derive(Debug, PartialEq)]
enum Topic {
    /// `wamp.session.on_stats`.
    Stats,
    /// Any other.
    Other(String),
}

impl Topic {
    fn into_string(self) -> String {
        match self {
            Topic::Stats => STATS_TOPIC.to_owned(),
            Topic::Other(t) => t,
        }
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Topic;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a topic URI")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Topic, E> {
                Ok(if v == STATS_TOPIC {
                    Topic::Stats
                } else {
                    Topic::Other(v.to_owned())
                })
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// How often the feed asks for the session summary.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(5);

/// A feed item and the router it came from (its index in the list of targets).
pub type Routed = (usize, FeedItem);

/// Runs the feed of router number `router` until `tx` is closed: connect, follow, reconnect
/// with back-off (1 s doubling to 10 s, reset once connected), each router on its own. Session
/// ids sent on `kills` are killed with `wamp.session.kill`.
pub async fn run(
    router: usize,
    config: FeedConfig,
    tx: mpsc::Sender<Routed>,
    mut kills: mpsc::Receiver<Id>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut connected = false;
        let error = match follow(router, &config, &tx, &mut kills, &mut connected).await {
            Ok(()) => return,
            Err(e) => e,
        };
        if connected {
            backoff = Duration::from_secs(1);
        }
        let lost = FeedItem::Disconnected {
            error,
            retry: backoff,
        };
        if tx.send((router, lost)).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// One connection: returns `Ok` when the receiver is gone, `Err` with the reason otherwise.
/// `connected` is set once the session is up, so that the caller resets its back-off.
async fn follow(
    router: usize,
    config: &FeedConfig,
    tx: &mpsc::Sender<Routed>,
    kills: &mut mpsc::Receiver<Id>,
    connected: &mut bool,
) -> Result<(), String> {
    let options = SessionOptions {
        serializer: config.serializer,
        queue: 65536,
        // A monitor receives far more than it sends: many meta events per read.
        read_buffer: 64 * 1024,
        login: config.login.clone(),
        trust: config.trust.clone(),
        ..SessionOptions::default()
    };
    let session = Session::join(&config.url, &config.realm, options)
        .await
        .map_err(|e| format!("cannot join as {}: {e}", config.login))?;
    let mut sub = session
        .subscribe("wamp.session.", dict! {"match" => "prefix"})
        .await
        .map_err(|e| format!("cannot subscribe to wamp.session.*: {e}"))?;
    *connected = true;
    if tx
        .send((router, FeedItem::Connected(config.url.clone())))
        .await
        .is_err()
    {
        return Ok(());
    }
    let sessions = snapshot(&session)
        .await
        .map_err(|e| format!("cannot list the sessions: {e}"))?;
    if tx
        .send((router, FeedItem::Snapshot(sessions)))
        .await
        .is_err()
    {
        return Ok(());
    }
    let mut summary_tick = tokio::time::interval(SUMMARY_EVERY);
    let mut summaries = true;
    loop {
        let e = tokio::select! {
            e = sub.events.recv() => match e {
                Some(e) => e,
                None => break,
            },
            _ = summary_tick.tick(), if summaries => {
                match summary(&session).await {
                    Ok(Some(d)) => {
                        if tx.send((router, FeedItem::Summary(d))).await.is_err() {
                            return Ok(());
                        }
                    }
                    // Crossbar, or a role not allowed to call it: stop asking.
                    Ok(None) => summaries = false,
                    Err(e) => return Err(format!("cannot get the session summary: {e}")),
                }
                continue;
            }
            Some(id) = kills.recv() => {
                let outcome = kill(&session, id).await;
                if tx.send((router, FeedItem::Killed(id, outcome))).await.is_err() {
                    return Ok(());
                }
                continue;
            }
        };
        // The topic alone, read from the details' bytes (on_stats told apart without a string).
        let topic = e.details.get_as::<TopicOf>().ok().and_then(|t| t.topic);
        let typed = (config.typed_stats && topic == Some(Topic::Stats))
            .then(|| e.payload.args_as::<Box<StatsEvent>>().ok())
            .flatten();
        let item = match typed {
            Some(event) => FeedItem::Stats {
                event,
                received: SystemTime::now(),
            },
            // Any other event, or an on_stats the typed form does not fit: the whole of it.
            None => FeedItem::Event {
                topic: topic.map(Topic::into_string).unwrap_or_default(),
                args: e.payload.args().unwrap_or_default(),
                kwargs: e.payload.kwargs().unwrap_or_default(),
                received: SystemTime::now(),
            },
        };
        if tx.send((router, item)).await.is_err() {
            return Ok(());
        }
    }
    Err(match session.closed().await {
        wamp::client::Closed::Goodbye(r) | wamp::client::Closed::Abort(r) => {
            format!("the router closed the session: {r}")
        }
        wamp::client::Closed::Transport(t) => t,
        wamp::client::Closed::Left => "left".into(),
    })
}

/// The live sessions: with totals from `wampstat.session.stats` when the router has it and
/// lets this session call it, otherwise details from `wamp.session.list` and `wamp.session.get`
/// (Crossbar: it checks the permission before whether the procedure exists, so a role allowed
/// only `wamp.session.*` gets `wamp.error.not_authorized` there, not `no_such_procedure`).
pub async fn snapshot(session: &Session) -> Result<Vec<Dict>, ClientError> {
    match session
        .call("wampstat.session.stats", Payload::empty(), Dict::new())
        .await
    {
        Ok(r) => {
            let list = r.payload.args()?.into_iter().next().unwrap_or(Value::Null);
            return Ok(list
                .as_list()
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_dict().cloned())
                .collect());
        }
        Err(e)
            if matches!(
                e.wamp_error(),
                Some("wamp.error.no_such_procedure" | "wamp.error.not_authorized")
            ) => {}
        Err(e) => return Err(e),
    }
    let ids = session
        .call("wamp.session.list", Payload::empty(), Dict::new())
        .await?;
    let ids: Vec<Id> = ids
        .payload
        .args()?
        .into_iter()
        .next()
        .and_then(|v| {
            v.as_list()
                .map(|l| l.iter().filter_map(Value::as_u64).collect())
        })
        .unwrap_or_default();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        // A session may leave between list and get: skip it.
        if let Ok(r) = session
            .call(
                "wamp.session.get",
                Payload::from_args(vec![id.into()]),
                Dict::new(),
            )
            .await
            && let Some(d) = r
                .payload
                .args()?
                .into_iter()
                .next()
                .and_then(|v| v.as_dict().cloned())
        {
            out.push(d);
        }
    }
    Ok(out)
}

/// The router's session summary (`wampstat.session.summary`), or `None` when it has none or
/// does not let this session call it.
pub async fn summary(session: &Session) -> Result<Option<Dict>, ClientError> {
    match session
        .call("wampstat.session.summary", Payload::empty(), Dict::new())
        .await
    {
        Ok(r) => Ok(Some(r.payload.kwargs()?)),
        Err(e)
            if matches!(
                e.wamp_error(),
                Some("wamp.error.no_such_procedure" | "wamp.error.not_authorized")
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Asks the router to kill a session (`wamp.session.kill`).
pub async fn kill(session: &Session, id: Id) -> Result<(), String> {
    session
        .call(
            "wamp.session.kill",
            Payload::from_args(vec![id.into()]),
            Dict::new(),
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

impl FeedItem {
    /// What the model makes of this item (`None` for events it does not follow).
    pub fn into_meta(self) -> Option<crate::model::MetaEvent> {
        use crate::model::{MetaEvent, parse_event};
        match self {
            FeedItem::Event { topic, args, .. } => parse_event(&topic, args),
            FeedItem::Stats { event, .. } => Some(MetaEvent::Cycle(*event)),
            FeedItem::Snapshot(list) => Some(MetaEvent::Snapshot(list)),
            FeedItem::Summary(d) => Some(MetaEvent::Summary(d)),
            FeedItem::Connected(url) => Some(MetaEvent::Connected(url)),
            FeedItem::Disconnected { error, retry } => {
                Some(MetaEvent::Disconnected(error, Some(retry.as_secs_f64())))
            }
            FeedItem::Killed(id, outcome) => Some(MetaEvent::Killed(id, outcome)),
        }
    }
}
