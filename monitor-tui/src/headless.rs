//! Headless output for scripts: one JSON object or one human line per meta event
//! ([`lines`]), or the current session table once ([`once`]); no terminal needed.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use tokio::sync::mpsc;
use wamp::{Dict, Value};

use crate::feed::{self, FeedConfig, FeedItem};
use crate::format;
use crate::model::{MetaEvent, Model, parse_event, short_transport};

/// `--once`: joins, prints the table of the sessions there (without its own) and leaves.
pub async fn once(config: &FeedConfig) -> anyhow::Result<()> {
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
        .context("cannot list the sessions")?;
    let mut model = Model::new(0.0, 0.0);
    model.apply(MetaEvent::Snapshot(sessions), 0.0);
    model.sessions.shift_remove(&session.id());
    table(&model, 0.0, &mut std::io::stdout().lock())?;
    let _ = session.leave("wamp.close.normal").await;
    Ok(())
}

/// `--plain` and `--json`: follows the router and prints everything the feed delivers, one
/// `line` (such as [`plain_line`] or [`json_line`]) each, until the feed ends or Ctrl-C.
pub async fn lines(config: FeedConfig, line: fn(&FeedItem) -> String) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::channel(65536);
    let (_kills, kill_rx) = mpsc::channel(1);
    tokio::spawn(feed::run(config, tx, kill_rx));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    loop {
        let item = tokio::select! {
            item = rx.recv() => match item {
                Some(item) => item,
                None => return Ok(()),
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        writeln!(out, "{}", line(&item))?;
        // Flush when nothing else is waiting, so a pipe sees events promptly.
        if rx.is_empty() {
            out.flush()?;
        }
    }
}

fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `--json`: `{"topic", "args", "kwargs", "ts"}` per meta event, one per line (and the
/// snapshot and connection changes as `{"snapshot": [...]}`, `{"connected": url}`,
/// `{"disconnected": why}`).
pub fn json_line(item: &FeedItem) -> String {
    let v = match item {
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
        FeedItem::Snapshot(list) => {
            serde_json::json!({"snapshot": to_json(&Value::List(list.iter().cloned().map(Value::Dict).collect()))})
        }
        FeedItem::Connected(url) => serde_json::json!({"connected": url}),
        FeedItem::Disconnected { error, retry } => {
            serde_json::json!({"disconnected": error, "retry_s": retry.as_secs_f64()})
        }
        FeedItem::Killed(id, outcome) => {
            serde_json::json!({"killed": id, "error": outcome.as_ref().err()})
        }
    };
    v.to_string()
}

fn to_json(v: &Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// `--plain`: a human-readable line per meta event.
pub fn plain_line(item: &FeedItem) -> String {
    match item {
        FeedItem::Event { topic, args, .. } => match parse_event(topic, args) {
            Some(MetaEvent::Join(d)) => format!(
                "join   {} {} {} {}",
                get_u64(&d, "session"),
                get_str(&d, "authid"),
                get_str(&d, "authrole"),
                d.get("transport")
                    .and_then(|t| t.get("peer"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ),
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
pub fn table(model: &Model, now: f64, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<16} {:<29} {:<12} {:<4} {:<8} {:>9} {:>10} {:>9} {:>7}",
        "SESSION", "AUTHID", "ROLE", "TR", "SER", "MSGS", "BYTES", "RATED", "CYCLE"
    )?;
    for s in model.sessions.values().filter(|s| s.left_at.is_none()) {
        writeln!(
            out,
            "{:<16} {:<29} {:<12} {:<4} {:<8} {:>9} {:>10} {:>9} {:>7}",
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
