//! Headless output for scripts: one JSON object or one human line per meta event
//! ([`lines`]), or the current session table once ([`once`]); no terminal needed.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use tokio::sync::mpsc;
use wamp::{Dict, Value};

use crate::feed::{self, FeedConfig, FeedItem};
use crate::format;
use crate::model::{Key, MetaEvent, Model, Router, parse_event, short_transport};
use crate::record::Recorder;

/// `--once`: joins each router, prints the table of the sessions there (without its own) and
/// leaves; with several routers the table has a ROUTER column.
pub async fn once(targets: &[FeedConfig]) -> anyhow::Result<()> {
    let routers = targets
        .iter()
        .map(|c| Router::named(&c.url, &c.realm, &c.name))
        .collect();
    let mut model = Model::with_routers(0.0, 0.0, routers);
    for (i, config) in targets.iter().enumerate() {
        let options = wamp::SessionOptions {
            serializer: config.serializer,
            login: config.login.clone(),
            trust: config.trust.clone(),
            ..Default::default()
        };
        let session = wamp::Session::join(&config.url, &config.realm, options)
            .await
            .with_context(|| {
                format!(
                    "cannot join {} at {} as {}",
                    config.realm, config.url, config.login
                )
            })?;
        let sessions = feed::snapshot(&session)
            .await
            .with_context(|| format!("cannot list the sessions of {}", config.url))?;
        model.apply_from(i, MetaEvent::Snapshot(sessions), 0.0);
        model.sessions.shift_remove(&Key::new(i, session.id()));
        let _ = session.leave("wamp.close.normal").await;
    }
    table(&model, 0.0, &mut std::io::stdout().lock())?;
    Ok(())
}

/// How [`lines`] prints a feed item: [`plain_line`] or [`json_line`]; the first argument is the
/// router's name when following several (`None` with one).
pub type LineFormat = fn(Option<&str>, &FeedItem) -> String;

/// `--plain` and `--json`: follows the routers and prints everything the feeds deliver, one
/// `line` each, until the feeds end or Ctrl-C; with a `recorder` (`--record`), writes every
/// item to it too (a failure says so on stderr once and stops recording, not the output).
pub async fn lines(
    targets: Vec<FeedConfig>,
    line: LineFormat,
    mut recorder: Option<Recorder>,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::channel(65536);
    let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    let several = names.len() > 1;
    let mut kills = Vec::new();
    for (i, config) in targets.into_iter().enumerate() {
        let (kill_tx, kill_rx) = mpsc::channel(1);
        kills.push(kill_tx);
        tokio::spawn(feed::run(i, config, tx.clone(), kill_rx));
    }
    drop(tx);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // One listener for the whole run: a new one each turn misses a Ctrl-C that comes while
    // a busy feed keeps the loop going (and then the recording is never flushed).
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let (router, item) = tokio::select! {
            item = rx.recv() => match item {
                Some(item) => item,
                None => break,
            },
            _ = &mut ctrl_c => break,
        };
        record(&mut recorder, router, &item, rx.is_empty());
        if matches!(item, FeedItem::Summary(_)) {
            // The dashboard's header; scripts get the sessions themselves.
            continue;
        }
        let name = names.get(router).map(String::as_str).filter(|_| several);
        writeln!(out, "{}", line(name, &item))?;
        // Flush when nothing else is waiting, so a pipe sees events promptly.
        if rx.is_empty() {
            out.flush()?;
        }
    }
    if let Some(Err(e)) = recorder.as_mut().map(Recorder::flush) {
        tracing::error!("recording stopped: {e}");
    }
    out.flush()?;
    Ok(())
}

/// Writes `item` to the recording, flushing when `idle`; drops the recorder on an error.
fn record(recorder: &mut Option<Recorder>, router: usize, item: &FeedItem, idle: bool) {
    let Some(rec) = recorder else {
        return;
    };
    let at = crate::replay::record_time(item, SystemTime::now());
    let written = rec
        .write(at, router, item)
        .and_then(|()| if idle { rec.flush() } else { Ok(()) });
    if let Err(e) = written {
        tracing::error!("recording stopped: {e}");
        *recorder = None;
    }
}

fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `--json`: `{"topic", "args", "kwargs", "ts"}` per meta event, one per line (and the
/// snapshot and connection changes as `{"snapshot": [...]}`, `{"connected": url}`,
/// `{"disconnected": why}`); with several routers each object also has `"router": name`.
pub fn json_line(router: Option<&str>, item: &FeedItem) -> String {
    let mut v = match item {
        FeedItem::Event {
            topic,
            args,
            kwargs,
            received,
        } => serde_json::json!({
            "topic": topic,
            "args": to_json(&Value::List(args.clone())),
            "kwargs": to_json(&Value::Dict(kwargs.clone())),
            "ts": unix_secs(*received),
        }),
        // Not delivered to the headless modes (they decode the whole event), but written the
        // same way.
        FeedItem::Stats { event, received } => serde_json::json!({
            "topic": "wamp.session.on_stats",
            "args": to_json(&Value::List(event.to_args())),
            "kwargs": {},
            "ts": unix_secs(*received),
        }),
        FeedItem::Snapshot(list) => {
            serde_json::json!({"snapshot": to_json(&Value::List(list.iter().cloned().map(Value::Dict).collect()))})
        }
        FeedItem::Connected(url) => serde_json::json!({"connected": url}),
        FeedItem::Summary(d) => serde_json::json!({"summary": to_json(&Value::Dict(d.clone()))}),
        FeedItem::Disconnected { error, retry } => {
            serde_json::json!({"disconnected": error, "retry_s": retry.as_secs_f64()})
        }
        FeedItem::Killed(id, outcome) => {
            serde_json::json!({"killed": id, "error": outcome.as_ref().err()})
        }
    };
    if let (Some(name), Some(o)) = (router, v.as_object_mut()) {
        o.insert("router".into(), name.into());
    }
    v.to_string()
}

fn to_json(v: &Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// `--plain`: a human-readable line per meta event, after the router's name when following
/// several.
pub fn plain_line(router: Option<&str>, item: &FeedItem) -> String {
    let line = plain(item);
    match router {
        Some(name) => format!("{name} {line}"),
        None => line,
    }
}

fn plain(item: &FeedItem) -> String {
    match item {
        FeedItem::Stats { event, received } => plain(&FeedItem::Event {
            topic: "wamp.session.on_stats".into(),
            args: event.to_args(),
            kwargs: Dict::new(),
            received: *received,
        }),
        FeedItem::Event { topic, args, .. } => match parse_event(topic, args.clone()) {
            Some(MetaEvent::Join(d)) => {
                // The node only when the router says (a cluster's nodes, Crossbar).
                let node = d
                    .get("authextra")
                    .and_then(|x| x.get("x_cb_node"))
                    .and_then(Value::as_str)
                    .map_or(String::new(), |n| format!(" node {n}"));
                format!(
                    "join   {} {} {} {}{node}",
                    get_u64(&d, "session"),
                    get_str(&d, "authid"),
                    get_str(&d, "authrole"),
                    d.get("transport")
                        .and_then(|t| t.get("peer"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                )
            }
            Some(MetaEvent::Stats(info, s)) => format!(
                "stats  {} cycle {}{}{} msgs {} bytes {} rated {} in {}",
                get_u64(&info, "session"),
                get_u64(&s, "cycle"),
                if s.get("first").and_then(Value::as_bool) == Some(true) {
                    " (first)"
                } else {
                    ""
                },
                if s.get("last").and_then(Value::as_bool) == Some(true) {
                    " (last)"
                } else {
                    ""
                },
                get_u64(&s, "messages"),
                get_u64(&s, "bytes"),
                get_u64(&s, "rated_messages"),
                format::duration(get_u64(&s, "duration") as f64 / 1e9),
            ),
            Some(MetaEvent::Leave(id)) => format!("leave  {id}"),
            _ => format!("event  {topic} {}", to_json(&Value::List(args.clone()))),
        },
        FeedItem::Snapshot(list) => format!("{} sessions live", list.len()),
        FeedItem::Connected(url) => format!("connected to {url}"),
        FeedItem::Summary(d) => format!("summary {}", to_json(&Value::Dict(d.clone()))),
        FeedItem::Disconnected { error, retry } => {
            format!(
                "disconnected: {error} (retrying in {})",
                format::duration(retry.as_secs_f64())
            )
        }
        FeedItem::Killed(id, Ok(())) => format!("killed {id}"),
        FeedItem::Killed(id, Err(e)) => format!("kill of {id} failed: {e}"),
    }
}

fn get_u64(d: &Dict, k: &str) -> u64 {
    d.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn get_str<'a>(d: &'a Dict, k: &str) -> &'a str {
    d.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// `--once`: the session table as text.
/// With several routers, a ROUTER column comes first; with sessions on several nodes of a
/// cluster, a NODE column next (`–` for a session whose router does not say).
pub fn table(model: &Model, now: f64, out: &mut impl Write) -> std::io::Result<()> {
    let router = optional_column(
        model.several_routers(),
        model.routers.iter().map(|r| r.name.as_str()),
        "ROUTER",
    );
    let node = optional_column(
        model.several_nodes(),
        model.sessions.values().map(|s| s.node.as_str()),
        "NODE",
    );
    writeln!(
        out,
        "{}{}{:<16} {:<29} {:<12} {:<4} {:<8} {:>9} {:>10} {:>9} {:>7}",
        router("ROUTER"),
        node("NODE"),
        "SESSION",
        "AUTHID",
        "ROLE",
        "TR",
        "SER",
        "MSGS",
        "BYTES",
        "RATED",
        "CYCLE"
    )?;
    for s in model.sessions.values().filter(|s| s.left_at.is_none()) {
        writeln!(
            out,
            "{}{}{:<16} {:<29} {:<12} {:<4} {:<8} {:>9} {:>10} {:>9} {:>7}",
            router(model.router_name(s.router)),
            node(if s.node.is_empty() { "–" } else { &s.node }),
            s.id,
            s.authid,
            s.authrole,
            short_transport(&s.transport),
            s.serializer,
            s.totals.messages,
            s.totals.bytes,
            s.totals.rated_messages,
            s.cycle
        )?;
    }
    let _ = now;
    Ok(())
}

/// A column of [`table`] that is there only when `shown`: a cell padded to the widest of
/// `values` and the `title`, and a space; nothing at all when not shown.
fn optional_column<'a>(
    shown: bool,
    values: impl Iterator<Item = &'a str>,
    title: &str,
) -> impl Fn(&str) -> String {
    let width = values
        .map(|v| v.chars().count())
        .chain([title.len()])
        .max()
        .unwrap_or(0);
    move |cell: &str| {
        if shown {
            format!("{cell:<width$} ")
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;
    use wamp::dict;

    fn join(id: u64, authid: &str, node: Option<&str>) -> Dict {
        let mut d = dict! {
            "session" => id, "authid" => authid, "authrole" => "backend",
            "transport" => Value::Dict(dict! {
                "channel_framing" => "rawsocket", "channel_serializer" => "msgpack",
                "peer" => "tcp4:10.0.0.1:4000",
            }),
        };
        if let Some(node) = node {
            d.insert("authextra".into(), Value::Dict(dict! {"x_cb_node" => node}));
        }
        d
    }

    fn once(sessions: Vec<Dict>) -> String {
        let mut model = Model::new(0.0, 0.0);
        model.apply(MetaEvent::Snapshot(sessions), 0.0);
        let mut out = Vec::new();
        table(&model, 0.0, &mut out).expect("written");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn once_has_a_node_column_with_sessions_on_two_nodes() {
        let text = once(vec![
            join(1, "billing", Some("node-a")),
            join(2, "web", Some("node-bb")),
            join(3, "legacy", None),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NODE    SESSION "), "{text}");
        assert!(lines[1].starts_with("node-a  1 "), "{text}");
        assert!(lines[2].starts_with("node-bb 2 "), "{text}");
        assert!(lines[3].starts_with("–       3 "), "{text}");
    }

    #[test]
    fn once_has_no_node_column_with_one_node() {
        let text = once(vec![
            join(1, "billing", Some("node-a")),
            join(2, "web", None),
        ]);
        assert!(text.starts_with("SESSION "), "{text}");
        assert!(!text.contains("node-a"), "{text}");
    }

    #[test]
    fn plain_joins_name_the_node_when_the_router_does() {
        let event = |d: Dict| FeedItem::Event {
            topic: "wamp.session.on_join".into(),
            args: vec![Value::Dict(d)],
            kwargs: Dict::new(),
            received: SystemTime::UNIX_EPOCH,
        };
        assert_eq!(
            plain_line(None, &event(join(7, "billing", Some("node-a")))),
            "join   7 billing backend tcp4:10.0.0.1:4000 node node-a"
        );
        assert_eq!(
            plain_line(None, &event(join(7, "billing", None))),
            "join   7 billing backend tcp4:10.0.0.1:4000"
        );
    }
}
