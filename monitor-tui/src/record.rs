//! `--record FILE` and `--replay FILE`: what the feeds delivered, written to a file as it
//! arrives ([`Recorder`]), read back ([`Replay`]) and played at any speed ([`Player`]) — the
//! post-mortem of what happened at 3 a.m.
//!
//! # The file format
//!
//! NDJSON: one JSON object per line, UTF-8, `\n` after every line. The first line is a header:
//!
//! ```text
//! {"wampstat_recording":1,"started":1764680400.25,"routers":[{"url":"ws://r1:8080/ws","realm":"realm1"}]}
//! ```
//!
//! `wampstat_recording` is the format version (this module writes and reads 1), `started` the
//! time the file was started (Unix seconds) and `routers` the targets followed, in order: an
//! item's `router` is an index into that list. Then one line per item, in the order received:
//!
//! ```text
//! {"t":1764680401.5,"router":0,"kind":"event","topic":"wamp.session.on_join","args":[{..}],"kwargs":{}}
//! {"t":..,"router":0,"kind":"snapshot","sessions":[{..},{..}]}
//! {"t":..,"router":0,"kind":"connected","url":"ws://r1:8080/ws"}
//! {"t":..,"router":0,"kind":"disconnected","error":"connection refused","retry":2.0}
//! {"t":..,"router":0,"kind":"killed","session":123,"error":null}
//! {"t":..,"router":0,"kind":"summary","summary":{..}}
//! ```
//!
//! `t` is when the item was received (Unix seconds, to the microsecond), `retry` is in seconds,
//! `error` of `killed` is `null` when the kill succeeded, and `summary` is the dictionary the
//! router's `wampstat.session.summary` returned. Values are WAMP's JSON: binary data is a string
//! of `\u0000` and the base64 of the bytes, exactly as `wamp.2.json` carries it. So, for
//! example, `jq -c 'select(.kind == "event" and .topic == "wamp.session.on_leave")' FILE` lists
//! the sessions that left, and `jq -r 'select(.kind == "disconnected") | [.t, .error] | @tsv'`
//! the outages. A reader ignores fields it does not know, skips lines of a kind it does not
//! know, and accepts a header line in the middle (two recordings joined with `cat`).
//!
//! No secrets are written: feed items carry none, the header holds only URL and realm, and any
//! `user:password@` in a URL (in the header, in `connected`, in an error message) is removed.
//!
//! # Writing
//!
//! The app calls [`Recorder::write`] from its tick, for every item it drains from the feed,
//! before applying it, and [`Recorder::flush`] at the end of the tick. Both go through a 64 KiB
//! [`BufWriter`], so a write is a copy into memory and a system call happens once per 64 KiB or
//! once per tick — microseconds, which the tick can afford; a thread would only pay off on a
//! disk that stalls, and would need a queue and its own error path. A crash loses at most the
//! last tick. When a file would grow past [`RecordCap::max_bytes`] it is rotated: `FILE`
//! becomes `FILE.1`, `FILE.1` becomes `FILE.2`, …, up to [`RecordCap::keep`] old files (the
//! oldest is deleted), and a new `FILE` starts with its own header. An existing `FILE` is
//! rotated away, not overwritten, when recording starts, so restarting the monitor after an
//! incident keeps the incident.
//!
//! # Reading
//!
//! [`Replay::open`] reads the whole file and keeps each valid line as its JSON text (with its
//! time), not as parsed values: memory is about the size of the file (at most
//! [`RecordCap::max_bytes`] per file as recorded), where parsed dictionaries would take several
//! times that. Items are parsed again as they are played. A line that is not valid (garbage, or
//! the last line cut short by a crash) is skipped and counted ([`Replay::skipped`]); the first
//! one's line number and reason are kept ([`Replay::first_skipped`]).
//!
//! # Playing
//!
//! A [`Player`] moves through recorded time at a speed: the caller gives it the wall-clock time
//! that passed ([`Player::advance`]) and applies the items it returns to its model, using
//! [`Player::position`] as the model's clock. Seeking forward returns the items skipped over;
//! seeking back cannot un-apply items, so it sets [`Player::needs_rebuild`]: the caller then
//! resets its model and applies [`Player::rebuild`] (everything up to the new position).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, json};
use wamp::{Dict, Id, Value};

use crate::feed::FeedItem;

/// WAMP values as WAMP's JSON (binary as `\u0000` + base64).
macro_rules! to_json {
    ($v:expr) => {
        serde_json::to_value($v).unwrap_or_default()
    };
}

/// The format version this module writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// The size of the write buffer.
const BUFFER: usize = 64 * 1024;

/// An error recording or reading a recording; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading, writing, renaming or deleting the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The file is not a wampstat recording, or its header is broken.
    #[error("{}:{line}: not a wampstat recording: {why}", path.display())]
    NotARecording {
        /// The file.
        path: PathBuf,
        /// The line (from 1).
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// The recording is of a format version this monitor does not read.
    #[error(
        "{}:{line}: recording format {version}, this monitor reads format {}",
        path.display(),
        FORMAT_VERSION
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The line (from 1).
        line: usize,
        /// The version found.
        version: u64,
    },
    /// An item named a router that is not in the header.
    #[error("{}: router {router} is not one of the {count} recorded", path.display())]
    NoSuchRouter {
        /// The file.
        path: PathBuf,
        /// The index given.
        router: usize,
        /// How many routers the header lists.
        count: usize,
    },
}

/// How large a recording may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordCap {
    /// The largest size of one file, in bytes (a file always holds its header and at least
    /// one item, however small this is).
    pub max_bytes: u64,
    /// How many rotated files (`FILE.1` … `FILE.keep`) to keep besides `FILE`.
    pub keep: usize,
}

impl Default for RecordCap {
    /// 256 MiB a file, four files in all (`FILE` and three old ones): at most 1 GiB.
    fn default() -> Self {
        RecordCap {
            max_bytes: 256 << 20,
            keep: 3,
        }
    }
}

/// One item read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// When it was received (Unix seconds; never earlier than the item before it).
    pub at: f64,
    /// Which router (an index into [`Replay::routers`]).
    pub router: usize,
    /// The item.
    pub item: FeedItem,
}

/// Writes a recording (see the [module documentation](self) for the format and rotation).
#[derive(Debug)]
pub struct Recorder {
    /// `FILE`.
    path: PathBuf,
    /// The targets, without userinfo.
    routers: Vec<(String, String)>,
    /// The size cap.
    cap: RecordCap,
    /// The current file.
    out: BufWriter<File>,
    /// Bytes in the current file, buffered ones included.
    bytes: u64,
    /// Bytes of its header.
    header_bytes: u64,
}

impl Recorder {
    /// Starts recording to `path` the feeds of `routers` (URL, realm), rotating an existing
    /// file away first.
    pub fn create(
        path: impl AsRef<Path>,
        routers: &[(String, String)],
        cap: RecordCap,
    ) -> Result<Recorder, RecordError> {
        let path = path.as_ref().to_path_buf();
        let routers: Vec<(String, String)> = routers
            .iter()
            .map(|(url, realm)| (strip_userinfo(url), realm.clone()))
            .collect();
        let existing = fs::metadata(&path).map(|m| m.len() > 0).unwrap_or(false);
        if existing {
            rotate_files(&path, cap.keep)?;
        }
        let (out, header_bytes) = start_file(&path, &routers, SystemTime::now())?;
        Ok(Recorder {
            path,
            routers,
            cap,
            out,
            bytes: header_bytes,
            header_bytes,
        })
    }

    /// Records `item`, received at `at` from router number `router`. (An event's own
    /// `received` is not written: `t` is `at`; pass the event's `received` to keep it.)
    pub fn write(
        &mut self,
        at: SystemTime,
        router: usize,
        item: &FeedItem,
    ) -> Result<(), RecordError> {
        let body = feed_fields(item);
        self.put(at, router, body)
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.out.flush().map_err(|e| io_error(&self.path, e))
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one item line, rotating first if it would not fit.
    fn put(
        &mut self,
        at: SystemTime,
        router: usize,
        body: Map<String, serde_json::Value>,
    ) -> Result<(), RecordError> {
        if router >= self.routers.len() {
            return Err(RecordError::NoSuchRouter {
                path: self.path.clone(),
                router,
                count: self.routers.len(),
            });
        }
        let mut line = Map::new();
        line.insert("t".into(), unix_secs(at).into());
        line.insert("router".into(), router.into());
        line.extend(body);
        let mut text = serde_json::Value::Object(line).to_string();
        text.push('\n');
        let len = text.len() as u64;
        if self.bytes > self.header_bytes && self.bytes + len > self.cap.max_bytes {
            self.rotate(at)?;
        }
        self.out
            .write_all(text.as_bytes())
            .map_err(|e| io_error(&self.path, e))?;
        self.bytes += len;
        Ok(())
    }

    /// Closes the current file, shifts the old ones and starts a new one.
    fn rotate(&mut self, at: SystemTime) -> Result<(), RecordError> {
        self.flush()?;
        rotate_files(&self.path, self.cap.keep)?;
        let (out, header_bytes) = start_file(&self.path, &self.routers, at)?;
        self.out = out;
        self.bytes = header_bytes;
        self.header_bytes = header_bytes;
        Ok(())
    }
}

/// Creates `path` with its header line; returns the writer and the header's size.
fn start_file(
    path: &Path,
    routers: &[(String, String)],
    started: SystemTime,
) -> Result<(BufWriter<File>, u64), RecordError> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    let mut out = BufWriter::with_capacity(BUFFER, file);
    let routers: Vec<_> = routers
        .iter()
        .map(|(url, realm)| json!({"url": url, "realm": realm}))
        .collect();
    let mut text = json!({
        "wampstat_recording": FORMAT_VERSION,
        "started": unix_secs(started),
        "routers": routers,
    })
    .to_string();
    text.push('\n');
    out.write_all(text.as_bytes())
        .map_err(|e| io_error(path, e))?;
    Ok((out, text.len() as u64))
}

/// `FILE.n` for `FILE`.
fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Shifts `FILE.1` … to `FILE.2` …, deleting `FILE.keep`, and renames `FILE` to `FILE.1`
/// (deletes `FILE` when `keep` is 0).
fn rotate_files(path: &Path, keep: usize) -> Result<(), RecordError> {
    let ignore_missing = |r: io::Result<()>, p: &Path| match r {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(p, e)),
        _ => Ok(()),
    };
    if keep == 0 {
        return ignore_missing(fs::remove_file(path), path);
    }
    let oldest = numbered(path, keep);
    ignore_missing(fs::remove_file(&oldest), &oldest)?;
    for n in (1..keep).rev() {
        let from = numbered(path, n);
        ignore_missing(fs::rename(&from, numbered(path, n + 1)), &from)?;
    }
    ignore_missing(fs::rename(path, numbered(path, 1)), path)
}

/// The line fields of a feed item, from `kind` on.
fn feed_fields(item: &FeedItem) -> Map<String, serde_json::Value> {
    let v = match item {
        FeedItem::Event {
            topic,
            args,
            kwargs,
            ..
        } => {
            json!({"kind": "event", "topic": topic, "args": to_json!(args), "kwargs": to_json!(kwargs)})
        }
        // What the typed form kept of the event (the app records whole events instead).
        FeedItem::Stats { event, .. } => {
            json!({"kind": "event", "topic": "wamp.session.on_stats", "args": to_json!(event.to_args()), "kwargs": {}})
        }
        FeedItem::Snapshot(list) => json!({"kind": "snapshot", "sessions": to_json!(list)}),
        FeedItem::Connected(url) => json!({"kind": "connected", "url": strip_userinfo(url)}),
        FeedItem::Summary(d) => json!({"kind": "summary", "summary": to_json!(d)}),
        FeedItem::Disconnected { error, retry } => json!({
            "kind": "disconnected",
            "error": strip_userinfo(error),
            "retry": micros_to_secs(retry.as_micros()),
        }),
        FeedItem::Killed(id, outcome) => json!({
            "kind": "killed",
            "session": id,
            "error": outcome.as_ref().err().map(|e| strip_userinfo(e)),
        }),
    };
    match v {
        serde_json::Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Unix seconds, to the microsecond (0 before 1970).
fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| micros_to_secs((d.as_nanos() + 500) / 1000))
}

fn micros_to_secs(micros: u128) -> f64 {
    micros as f64 / 1e6
}

/// Seconds as written back to a duration, to the microsecond; `None` if negative or not finite.
fn secs_to_duration(secs: f64) -> Option<Duration> {
    let micros = (secs * 1e6).round();
    (micros.is_finite() && micros >= 0.0 && micros < u64::MAX as f64)
        .then(|| Duration::from_micros(micros as u64))
}

/// `text` with the `user:password@` removed from every `scheme://user:password@host` in it.
pub fn strip_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        let host_start = authority.rfind('@').map_or(0, |at| at + 1);
        out.push_str(&authority[host_start..]);
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

fn io_error(path: &Path, source: io::Error) -> RecordError {
    RecordError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A line skipped while reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// The line (from 1).
    pub line: usize,
    /// Why it was skipped.
    pub why: String,
}

/// A valid item line, kept as text until it is played.
#[derive(Debug, Clone)]
struct Line {
    /// Its time, made non-decreasing.
    at: f64,
    /// Its JSON.
    text: Box<str>,
}

/// A recording read back (see the [module documentation](self)).
#[derive(Debug, Clone)]
pub struct Replay {
    /// The file opened.
    path: PathBuf,
    /// The routers of the (newest) header.
    routers: Vec<(String, String)>,
    /// When the (oldest) file was started.
    started: f64,
    /// The valid items, in order.
    lines: Vec<Line>,
    /// How many lines were skipped.
    skipped: usize,
    /// The first of them.
    first_skipped: Option<Skipped>,
}

impl Replay {
    /// Reads the recording `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Replay, RecordError> {
        let path = path.as_ref().to_path_buf();
        let mut replay = Replay {
            path: path.clone(),
            routers: Vec::new(),
            started: 0.0,
            lines: Vec::new(),
            skipped: 0,
            first_skipped: None,
        };
        replay.load(&path, true)?;
        Ok(replay)
    }

    /// Reads `path` and the files rotated away before it (`FILE.n` … `FILE.1`, then `FILE`),
    /// as one recording, oldest first. The routers are the newest file's.
    pub fn open_all(path: impl AsRef<Path>) -> Result<Replay, RecordError> {
        let path = path.as_ref();
        let mut files: Vec<PathBuf> = (1..)
            .map(|n| numbered(path, n))
            .take_while(|p| p.exists())
            .collect();
        files.reverse();
        files.push(path.to_path_buf());
        let mut replay = Replay {
            path: path.to_path_buf(),
            routers: Vec::new(),
            started: 0.0,
            lines: Vec::new(),
            skipped: 0,
            first_skipped: None,
        };
        for (i, file) in files.iter().enumerate() {
            replay.load(file, i == 0)?;
        }
        Ok(replay)
    }

    /// Appends the items of `path` (whose header sets the routers, and the start if `first`).
    fn load(&mut self, path: &Path, first: bool) -> Result<(), RecordError> {
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        let mut reader = BufReader::new(file);
        let mut buf = Vec::new();
        let mut number = 0;
        let mut last = self.lines.last().map_or(f64::MIN, |l| l.at);
        loop {
            buf.clear();
            if reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| io_error(path, e))?
                == 0
            {
                break;
            }
            number += 1;
            let text = std::str::from_utf8(&buf)
                .map(|t| t.trim_end_matches(['\n', '\r']))
                .map_err(|_| "not UTF-8".to_owned());
            if number == 1 {
                let header = text
                    .map_err(HeaderError::Bad)
                    .and_then(parse_header)
                    .map_err(|why| header_error(path, why))?;
                if first {
                    self.started = header.started;
                }
                self.routers = header.routers;
                continue;
            }
            match text.and_then(|t| parse_line(t, self.routers.len()).map(|p| (t, p))) {
                Ok((_, Parsed::Header)) => {}
                Ok((t, Parsed::Item(item))) => {
                    last = last.max(item.at);
                    self.lines.push(Line {
                        at: last,
                        text: t.into(),
                    });
                }
                Err(why) => {
                    self.skipped += 1;
                    self.first_skipped.get_or_insert_with(|| Skipped {
                        path: path.to_path_buf(),
                        line: number,
                        why,
                    });
                }
            }
        }
        if number == 0 {
            return Err(header_error(
                path,
                HeaderError::Bad("the file is empty".into()),
            ));
        }
        Ok(())
    }

    /// The file opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The routers recorded (URL, realm), in the order items number them.
    pub fn routers(&self) -> &[(String, String)] {
        &self.routers
    }

    /// When recording started (Unix seconds; the header's, or the first item's if earlier).
    pub fn start(&self) -> f64 {
        self.lines
            .first()
            .map_or(self.started, |l| l.at.min(self.started))
    }

    /// When the last item was received (Unix seconds; [`start`](Self::start) if none).
    pub fn end(&self) -> f64 {
        self.lines.last().map_or(self.start(), |l| l.at)
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// How many lines were skipped as invalid.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The first line skipped, for a message.
    pub fn first_skipped(&self) -> Option<&Skipped> {
        self.first_skipped.as_ref()
    }

    /// Item number `i`.
    pub fn get(&self, i: usize) -> Option<Recorded> {
        let line = self.lines.get(i)?;
        match parse_line(&line.text, self.routers.len()) {
            Ok(Parsed::Item(mut item)) => {
                item.at = line.at;
                Some(item)
            }
            _ => None,
        }
    }

    /// The items, in order.
    pub fn iter(&self) -> impl Iterator<Item = Recorded> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// How many items were received at or before `t`.
    fn count_until(&self, t: f64) -> usize {
        self.lines.partition_point(|l| l.at <= t)
    }
}

/// What is wrong with a header.
enum HeaderError {
    /// Not a recording, or broken.
    Bad(String),
    /// A version this module does not read.
    Version(u64),
}

impl From<String> for HeaderError {
    fn from(why: String) -> Self {
        HeaderError::Bad(why)
    }
}

fn header_error(path: &Path, e: HeaderError) -> RecordError {
    match e {
        HeaderError::Bad(why) => RecordError::NotARecording {
            path: path.to_path_buf(),
            line: 1,
            why,
        },
        HeaderError::Version(version) => RecordError::Version {
            path: path.to_path_buf(),
            line: 1,
            version,
        },
    }
}

/// A header read.
struct Header {
    started: f64,
    routers: Vec<(String, String)>,
}

fn parse_header(text: &str) -> Result<Header, HeaderError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the first line is not JSON ({e})"))?;
    let Some(version) = v.get("wampstat_recording") else {
        return Err(HeaderError::Bad(
            "the first line has no \"wampstat_recording\"".into(),
        ));
    };
    let version = version
        .as_u64()
        .ok_or_else(|| "\"wampstat_recording\" is not a version number".to_owned())?;
    if version != FORMAT_VERSION {
        return Err(HeaderError::Version(version));
    }
    let started = v
        .get("started")
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| "the header has no number \"started\"".to_owned())?;
    let routers = v
        .get("routers")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| "the header has no list \"routers\"".to_owned())?
        .iter()
        .map(|r| {
            let s = |k: &str| {
                r.get(k)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            };
            s("url")
                .zip(s("realm"))
                .ok_or_else(|| "a router without a string \"url\" and \"realm\"".to_owned())
        })
        .collect::<Result<_, _>>()?;
    Ok(Header { started, routers })
}

/// A valid line.
enum Parsed {
    /// A header (of a recording joined on).
    Header,
    /// An item.
    Item(Recorded),
}

/// Reads an item line; `routers` is how many the header lists.
fn parse_line(text: &str, routers: usize) -> Result<Parsed, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let serde_json::Value::Object(mut m) = v else {
        return Err("not a JSON object".into());
    };
    if m.contains_key("wampstat_recording") {
        return Ok(Parsed::Header);
    }
    let at = m
        .get("t")
        .and_then(serde_json::Value::as_f64)
        .ok_or("no number \"t\"")?;
    let received = secs_to_duration(at)
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .ok_or("\"t\" is not a time")?;
    let router = m
        .get("router")
        .and_then(serde_json::Value::as_u64)
        .and_then(|r| usize::try_from(r).ok())
        .filter(|&r| r < routers)
        .ok_or_else(|| format!("no \"router\" among the {routers} of the header"))?;
    let kind = m
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .ok_or("no string \"kind\"")?
        .to_owned();
    let item = match kind.as_str() {
        "event" => FeedItem::Event {
            topic: string(&m, "topic")?,
            args: list(take(&mut m, "args")?).ok_or("\"args\" is not a list")?,
            kwargs: dict(take(&mut m, "kwargs")?).ok_or("\"kwargs\" is not a dictionary")?,
            received,
        },
        "snapshot" => {
            let sessions = list(take(&mut m, "sessions")?)
                .ok_or("\"sessions\" is not a list")?
                .into_iter()
                .map(dict)
                .collect::<Option<_>>()
                .ok_or("a session is not a dictionary")?;
            FeedItem::Snapshot(sessions)
        }
        "connected" => FeedItem::Connected(string(&m, "url")?),
        "disconnected" => FeedItem::Disconnected {
            error: string(&m, "error")?,
            retry: m
                .get("retry")
                .and_then(serde_json::Value::as_f64)
                .and_then(secs_to_duration)
                .ok_or("\"retry\" is not a number of seconds")?,
        },
        "killed" => {
            let id: Id = m
                .get("session")
                .and_then(serde_json::Value::as_u64)
                .ok_or("no session id \"session\"")?;
            let outcome = match m.get("error") {
                None | Some(serde_json::Value::Null) => Ok(()),
                Some(serde_json::Value::String(e)) => Err(e.clone()),
                Some(_) => return Err("\"error\" is neither null nor a string".into()),
            };
            FeedItem::Killed(id, outcome)
        }
        "summary" => FeedItem::Summary(
            dict(take(&mut m, "summary")?).ok_or("\"summary\" is not a dictionary")?,
        ),
        other => return Err(format!("unknown kind {other:?}")),
    };
    Ok(Parsed::Item(Recorded { at, router, item }))
}

fn string(m: &Map<String, serde_json::Value>, key: &str) -> Result<String, String> {
    m.get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("no string {key:?}"))
}

/// Field `key` as a WAMP value (binary strings decoded).
fn take(m: &mut Map<String, serde_json::Value>, key: &str) -> Result<Value, String> {
    let v = m.remove(key).ok_or_else(|| format!("no {key:?}"))?;
    serde_json::from_value(v).map_err(|e| format!("{key:?}: {e}"))
}

fn list(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) => Some(l),
        _ => None,
    }
}

fn dict(v: Value) -> Option<Dict> {
    match v {
        Value::Dict(d) => Some(d),
        _ => None,
    }
}

/// Plays a [`Replay`] at a speed, on a clock the caller moves (see the
/// [module documentation](self)).
#[derive(Debug, Clone)]
pub struct Player {
    /// The recording.
    replay: Replay,
    /// The recorded time reached (Unix seconds).
    position: f64,
    /// How many items have been handed out (all of them at or before `position`).
    next: usize,
    /// Recorded seconds per wall-clock second.
    speed: f64,
    /// Whether time stands still.
    paused: bool,
    /// Whether a seek back awaits [`Player::rebuild`].
    needs_rebuild: bool,
}

impl Player {
    /// A player at the start of `replay`, at speed 1, playing.
    pub fn new(replay: Replay) -> Player {
        Player {
            position: replay.start(),
            replay,
            next: 0,
            speed: 1.0,
            paused: false,
            needs_rebuild: false,
        }
    }

    /// The recording played.
    pub fn replay(&self) -> &Replay {
        &self.replay
    }

    /// Moves on by `wall_dt` wall-clock seconds (`wall_dt × speed` recorded seconds, no
    /// further than the end) and returns the items received up to the new position that were
    /// not handed out yet; nothing while paused.
    pub fn advance(&mut self, wall_dt: f64) -> Vec<Recorded> {
        if self.paused {
            return Vec::new();
        }
        let step = wall_dt * self.speed;
        if step.is_finite() && step > 0.0 {
            self.position = (self.position + step).min(self.replay.end());
        }
        self.deliver()
    }

    /// Jumps `delta_secs` recorded seconds forward or back (within start and end), paused or
    /// not. Forward returns the items skipped over, to apply; back returns nothing and sets
    /// [`needs_rebuild`](Self::needs_rebuild).
    pub fn seek(&mut self, delta_secs: f64) -> Vec<Recorded> {
        if !delta_secs.is_finite() {
            return Vec::new();
        }
        let target = (self.position + delta_secs).clamp(self.replay.start(), self.replay.end());
        if target >= self.position {
            self.position = target;
            return self.deliver();
        }
        self.position = target;
        self.next = self.replay.count_until(target);
        self.needs_rebuild = true;
        Vec::new()
    }

    /// Whether the caller's model is ahead of the position (after a seek back): reset it and
    /// apply [`rebuild`](Self::rebuild).
    pub fn needs_rebuild(&self) -> bool {
        self.needs_rebuild
    }

    /// Everything up to the position, for a model reset after a seek back; clears
    /// [`needs_rebuild`](Self::needs_rebuild).
    pub fn rebuild(&mut self) -> Vec<Recorded> {
        self.needs_rebuild = false;
        self.items_until(self.position).collect()
    }

    /// The items received at or before `t` (Unix seconds), in order.
    pub fn items_until(&self, t: f64) -> impl Iterator<Item = Recorded> + '_ {
        (0..self.replay.count_until(t)).filter_map(|i| self.replay.get(i))
    }

    /// The recorded time reached (Unix seconds).
    pub fn position(&self) -> f64 {
        self.position
    }

    /// How far through the recording the position is, 0 to 1.
    pub fn progress(&self) -> f64 {
        let span = self.replay.end() - self.replay.start();
        if span > 0.0 {
            ((self.position - self.replay.start()) / span).clamp(0.0, 1.0)
        } else {
            1.0
        }
    }

    /// Whether every item has been handed out and the position is at the end.
    pub fn at_end(&self) -> bool {
        self.next >= self.replay.len() && self.position >= self.replay.end()
    }

    /// Recorded seconds per wall-clock second.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Sets the speed (ignored unless positive and finite).
    pub fn set_speed(&mut self, speed: f64) {
        if speed.is_finite() && speed > 0.0 {
            self.speed = speed;
        }
    }

    /// Whether time stands still.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Pauses or resumes.
    pub fn toggle_pause(&mut self) {
        self.paused = !self.paused;
    }

    /// The items not handed out yet up to the position.
    fn deliver(&mut self) -> Vec<Recorded> {
        let upto = self.replay.count_until(self.position);
        let out = (self.next..upto)
            .filter_map(|i| self.replay.get(i))
            .collect();
        self.next = self.next.max(upto);
        out
    }
}

/// For tests: a unique recording path in the temp directory.
#[cfg(test)]
pub(crate) mod temp {
    use std::path::PathBuf;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// A unique path in the temp directory; `FILE` and its rotated files are removed on drop.
    pub(crate) struct TempPath(pub(crate) PathBuf);

    impl TempPath {
        /// A path no other test (or run) uses.
        pub(crate) fn new(name: &str) -> TempPath {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            TempPath(std::env::temp_dir().join(format!(
                "wampstat-{name}-{}-{nanos}.ndjson",
                std::process::id()
            )))
        }

        /// Writes `text` as the whole file.
        pub(crate) fn write(&self, text: &str) {
            std::fs::write(&self.0, text).expect("a temp file is writable");
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
            for n in 1..10 {
                let _ = std::fs::remove_file(super::numbered(&self.0, n));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::temp::TempPath;
    use super::*;
    use wamp::dict;

    fn routers() -> Vec<(String, String)> {
        vec![
            ("ws://127.0.0.1:8080/ws".into(), "realm1".into()),
            ("rs://other:9000".into(), "realm2".into()),
        ]
    }

    /// Unix seconds `s` and `micros` microseconds.
    fn time(s: u64, micros: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s) + Duration::from_micros(micros)
    }

    const T0: u64 = 1_764_680_400;

    fn every_kind() -> Vec<(SystemTime, usize, FeedItem)> {
        let nested = dict! {
            "session" => 7u64,
            "authid" => "alice",
            "blob" => vec![0u8, 1, 2, 255],
            "transport" => dict! {"type" => "websocket", "peer" => "tcp4:1.2.3.4:5", "deep" => dict! {"x" => Value::List(vec![Value::Null, Value::Bool(true), Value::Float(0.1), Value::Int(-3), Value::UInt(u64::MAX)])}},
        };
        let t = |us| time(T0, us);
        vec![
            (
                t(0),
                0,
                FeedItem::Connected("ws://127.0.0.1:8080/ws".into()),
            ),
            (t(1), 0, FeedItem::Snapshot(vec![nested.clone(), dict! {}])),
            (
                t(123_456),
                1,
                FeedItem::Event {
                    topic: "wamp.session.on_join".into(),
                    args: vec![Value::Dict(nested.clone()), Value::Bytes(vec![9, 8, 7])],
                    kwargs: dict! {"k" => Value::Bytes(vec![]), "n" => dict! {"m" => 1}},
                    received: t(123_456),
                },
            ),
            (t(999_999), 0, FeedItem::Killed(7, Ok(()))),
            (
                t(1_000_000),
                0,
                FeedItem::Killed(8, Err("wamp.error.no_such_session".into())),
            ),
            (
                t(2_500_000),
                1,
                FeedItem::Disconnected {
                    error: "connection refused".into(),
                    retry: Duration::from_millis(2500),
                },
            ),
            (t(3_000_000), 1, FeedItem::Summary(nested)),
        ]
    }

    fn record(path: &Path, items: &[(SystemTime, usize, FeedItem)], cap: RecordCap) {
        let mut rec = Recorder::create(path, &routers(), cap).unwrap();
        for (at, router, item) in items {
            rec.write(*at, *router, item).unwrap();
        }
        rec.flush().unwrap();
    }

    fn secs(t: SystemTime) -> f64 {
        unix_secs(t)
    }

    #[test]
    fn every_kind_round_trips_exactly() {
        let file = TempPath::new("roundtrip");
        let items = every_kind();
        record(&file.0, &items, RecordCap::default());
        let replay = Replay::open(&file.0).unwrap();
        assert_eq!(replay.routers(), routers().as_slice());
        assert_eq!(replay.skipped(), 0);
        let back: Vec<Recorded> = replay.iter().collect();
        let expected: Vec<Recorded> = items
            .into_iter()
            .map(|(at, router, item)| Recorded {
                at: secs(at),
                router,
                item,
            })
            .collect();
        assert_eq!(back, expected);
        assert_eq!(replay.end(), secs(time(T0, 3_000_000)));
        assert!(replay.start() <= secs(time(T0, 0)));
    }

    #[test]
    fn the_lines_are_the_documented_json() {
        let file = TempPath::new("format");
        record(&file.0, &every_kind(), RecordCap::default());
        let text = fs::read_to_string(&file.0).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["wampstat_recording"], 1);
        assert!(lines[0]["started"].is_f64());
        assert_eq!(
            lines[0]["routers"],
            json!([{"url": "ws://127.0.0.1:8080/ws", "realm": "realm1"}, {"url": "rs://other:9000", "realm": "realm2"}])
        );
        assert_eq!(
            lines[1],
            json!({"t": 1_764_680_400.0, "router": 0, "kind": "connected", "url": "ws://127.0.0.1:8080/ws"})
        );
        assert_eq!(lines[3]["t"], 1_764_680_400.123_456);
        assert_eq!(lines[3]["args"][1], "\u{0}CQgH");
        assert_eq!(
            lines[4],
            json!({"t": 1_764_680_400.999_999, "router": 0, "kind": "killed", "session": 7, "error": null})
        );
        assert_eq!(
            lines[6],
            json!({"t": 1_764_680_402.5, "router": 1, "kind": "disconnected", "error": "connection refused", "retry": 2.5})
        );
        assert_eq!(lines[7]["kind"], "summary");
        assert_eq!(lines[7]["summary"]["blob"], "\u{0}AAEC/w==");
    }

    #[test]
    fn userinfo_is_stripped_from_urls() {
        assert_eq!(
            strip_userinfo("wss://bob:s3cret@host:8443/ws?x=1"),
            "wss://host:8443/ws?x=1"
        );
        assert_eq!(strip_userinfo("rs://u@h:1"), "rs://h:1");
        assert_eq!(strip_userinfo("ws://h/p@q"), "ws://h/p@q");
        assert_eq!(
            strip_userinfo("cannot connect to ws://a:b@x/ws: refused, mail me@home"),
            "cannot connect to ws://x/ws: refused, mail me@home"
        );
        let file = TempPath::new("userinfo");
        let targets = vec![(
            "ws://admin:hunter2@r:8080/ws".to_owned(),
            "realm1".to_owned(),
        )];
        let mut rec = Recorder::create(&file.0, &targets, RecordCap::default()).unwrap();
        let at = time(T0, 0);
        rec.write(at, 0, &FeedItem::Connected(targets[0].0.clone()))
            .unwrap();
        rec.write(
            at,
            0,
            &FeedItem::Disconnected {
                error: "ws://admin:hunter2@r:8080/ws: reset".into(),
                retry: Duration::from_secs(1),
            },
        )
        .unwrap();
        rec.flush().unwrap();
        let text = fs::read_to_string(&file.0).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("admin"),
            "{text}"
        );
        let replay = Replay::open(&file.0).unwrap();
        assert_eq!(replay.routers()[0].0, "ws://r:8080/ws");
        assert_eq!(
            replay.get(0).map(|r| r.item),
            Some(FeedItem::Connected("ws://r:8080/ws".into()))
        );
    }

    #[test]
    fn rotation_keeps_that_many_files_each_with_a_header() {
        let file = TempPath::new("rotate");
        let cap = RecordCap {
            max_bytes: 400,
            keep: 2,
        };
        let mut rec = Recorder::create(&file.0, &routers(), cap).unwrap();
        let mut written = 0;
        for i in 0..60u64 {
            let item = FeedItem::Killed(i + 1, Ok(()));
            rec.write(time(T0 + i, 0), 0, &item).unwrap();
            written += 1;
        }
        rec.flush().unwrap();
        drop(rec);
        assert!(file.0.exists() && numbered(&file.0, 1).exists() && numbered(&file.0, 2).exists());
        assert!(!numbered(&file.0, 3).exists());
        let mut ids = Vec::new();
        for path in [numbered(&file.0, 2), numbered(&file.0, 1), file.0.clone()] {
            let size = fs::metadata(&path).unwrap().len();
            assert!(size <= cap.max_bytes, "{} is {size} bytes", path.display());
            let text = fs::read_to_string(&path).unwrap();
            assert!(text.starts_with("{\"wampstat_recording\":1,"), "{text}");
            let replay = Replay::open(&path).unwrap();
            assert_eq!(replay.skipped(), 0);
            assert_eq!(replay.routers(), routers().as_slice());
            ids.extend(replay.iter().map(|r| match r.item {
                FeedItem::Killed(id, _) => id,
                _ => 0,
            }));
        }
        // The three files hold the last items, in order, without a gap.
        let first = ids[0];
        assert_eq!(ids, (first..=written).collect::<Vec<_>>());
        assert!(first > 1);
        // open_all reads them as one.
        let all = Replay::open_all(&file.0).unwrap();
        assert_eq!(all.len(), ids.len());
        assert_eq!(all.start(), secs(time(T0 + first - 1, 0)));
    }

    #[test]
    fn an_existing_recording_is_rotated_away_not_overwritten() {
        let file = TempPath::new("existing");
        record(&file.0, &every_kind()[..1], RecordCap::default());
        record(&file.0, &every_kind()[1..2], RecordCap::default());
        assert_eq!(Replay::open(numbered(&file.0, 1)).unwrap().len(), 1);
        assert_eq!(Replay::open_all(&file.0).unwrap().len(), 2);
    }

    #[test]
    fn bad_lines_are_skipped_and_counted() {
        let file = TempPath::new("bad");
        record(&file.0, &every_kind(), RecordCap::default());
        let good = fs::read_to_string(&file.0).unwrap();
        let mut lines: Vec<&str> = good.lines().collect();
        let last = lines.pop().unwrap();
        let cut = &last[..last.len() / 2];
        let text = format!(
            "{}\n{}\nthis is garbage\n{{\"t\":1,\"router\":5,\"kind\":\"connected\",\"url\":\"x\"}}\n{}\n{cut}",
            lines[0],
            lines[1],
            lines[2..].join("\n"),
        );
        file.write(&text);
        let replay = Replay::open(&file.0).unwrap();
        assert_eq!(replay.skipped(), 3);
        assert_eq!(replay.len(), every_kind().len() - 1);
        let first = replay.first_skipped().unwrap();
        assert_eq!((first.path.as_path(), first.line), (file.0.as_path(), 3));
        assert!(first.why.starts_with("not JSON"), "{}", first.why);
        let back: Vec<FeedItem> = replay.iter().map(|r| r.item).collect();
        let expected: Vec<FeedItem> = every_kind()
            .into_iter()
            .map(|(_, _, i)| i)
            .take(every_kind().len() - 1)
            .collect();
        assert_eq!(back, expected);
    }

    #[test]
    fn a_file_that_is_not_a_recording_is_an_error_naming_it() {
        let file = TempPath::new("notone");
        file.write("{\"hello\":1}\n{\"t\":1}\n");
        let e = Replay::open(&file.0).unwrap_err();
        assert!(
            matches!(e, RecordError::NotARecording { line: 1, .. }),
            "{e}"
        );
        let message = e.to_string();
        assert!(
            message.starts_with(&format!("{}:1: not a wampstat recording", file.0.display())),
            "{message}"
        );
        file.write("PK\u{3}\u{4} binary");
        let e = Replay::open(&file.0).unwrap_err();
        assert!(
            e.to_string()
                .contains(":1: not a wampstat recording: the first line is not JSON"),
            "{e}"
        );
        file.write("");
        assert!(
            Replay::open(&file.0)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        file.write("{\"wampstat_recording\":2,\"started\":0,\"routers\":[]}\n");
        let e = Replay::open(&file.0).unwrap_err();
        assert!(
            matches!(
                e,
                RecordError::Version {
                    version: 2,
                    line: 1,
                    ..
                }
            ),
            "{e}"
        );
        let missing = TempPath::new("missing");
        let e = Replay::open(&missing.0).unwrap_err();
        assert!(
            e.to_string().starts_with(&missing.0.display().to_string()),
            "{e}"
        );
    }

    /// A recording with one event at each of `times` (seconds after T0).
    fn player_at(file: &TempPath, times: &[f64]) -> Player {
        let mut rec = Recorder::create(&file.0, &routers(), RecordCap::default()).unwrap();
        for (i, t) in times.iter().enumerate() {
            let at = time(T0, (t * 1e6) as u64);
            rec.write(at, 0, &FeedItem::Killed(i as u64 + 1, Ok(())))
                .unwrap();
        }
        rec.flush().unwrap();
        Player::new(Replay::open(&file.0).unwrap())
    }

    fn ids(items: &[Recorded]) -> Vec<u64> {
        items
            .iter()
            .map(|r| match r.item {
                FeedItem::Killed(id, _) => id,
                _ => 0,
            })
            .collect()
    }

    #[test]
    fn the_player_hands_out_the_items_of_each_step() {
        let file = TempPath::new("player");
        // Items 1..=6 at 0, 0.5, 1, 2.75, 3 and 10 seconds.
        let mut p = player_at(&file, &[0.0, 0.5, 1.0, 2.75, 3.0, 10.0]);
        let start = secs(time(T0, 0));
        p.set_speed(2.0);
        assert_eq!(p.position(), start);
        assert_eq!(ids(&p.advance(0.25)), [1, 2]); // [0, 0.5]
        assert_eq!(ids(&p.advance(0.25)), [3]); // (0.5, 1]
        assert_eq!(ids(&p.advance(0.75)), [] as [u64; 0]); // (1, 2.5]
        assert_eq!(p.position(), start + 2.5);
        assert_eq!(ids(&p.advance(0.125)), [4]); // (2.5, 2.75]
        assert_eq!(ids(&p.advance(0.125)), [5]); // (2.75, 3]
        p.toggle_pause();
        assert!(p.advance(100.0).is_empty());
        assert_eq!(p.position(), start + 3.0);
        p.toggle_pause();
        assert!(!p.at_end());
        assert_eq!(ids(&p.advance(100.0)), [6]);
        assert_eq!(p.position(), start + 10.0);
        assert!(p.at_end());
        assert_eq!(p.progress(), 1.0);
        assert!(p.advance(1.0).is_empty());
    }

    #[test]
    fn seeking_back_asks_for_a_rebuild_and_forward_hands_out_what_it_skips() {
        let file = TempPath::new("seek");
        let mut p = player_at(&file, &[0.0, 1.0, 2.0, 3.0, 4.0]);
        let start = secs(time(T0, 0));
        assert_eq!(ids(&p.seek(2.5)), [1, 2, 3]);
        assert!(!p.needs_rebuild());
        assert_eq!(p.progress(), 2.5 / 4.0);
        assert!(p.seek(-1.5).is_empty());
        assert!(p.needs_rebuild());
        assert_eq!(p.position(), start + 1.0);
        assert_eq!(ids(&p.rebuild()), [1, 2]);
        assert!(!p.needs_rebuild());
        assert_eq!(
            ids(&p.items_until(start + 3.0).collect::<Vec<_>>()),
            [1, 2, 3, 4]
        );
        // Playing on after the rebuild continues with the next item.
        assert_eq!(ids(&p.advance(1.0)), [3]);
        // Seeks stop at the ends.
        assert!(p.seek(-100.0).is_empty());
        assert_eq!(p.position(), start);
        assert_eq!(ids(&p.rebuild()), [1]);
        p.toggle_pause();
        assert_eq!(ids(&p.seek(100.0)), [2, 3, 4, 5]);
        assert!(p.at_end());
    }
}
