//! The UI state: everything about the screen that is not data — selection, scrolling, sort,
//! filter, panes — as the [`View`], with the queries the drawing and the keys share (which
//! rows are visible, which one is selected).
//!
//! The drawing (`ui`) and the key handling (`keys`) both depend on it, never the other way
//! round; it reads the [`Model`] and never changes it.

use std::cmp::Ordering;

use crate::groups::Grouping;
use crate::model::{Key, Model, SessionRow, short_transport};
use crate::replay::ReplayStatus;
use crate::series::Window;

/// Which pane the movement keys act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The session table.
    Table,
    /// The event log.
    Log,
}

/// A column the session table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    /// Router (then session id).
    Router,
    /// Router node (`authextra.x_cb_node`), then session id.
    Node,
    /// Session id.
    Session,
    /// Authid.
    Authid,
    /// Authrole.
    Role,
    /// Transport (websocket/rawsocket).
    Transport,
    /// Serializer.
    Serializer,
    /// Messages since join.
    Messages,
    /// Bytes since join.
    Bytes,
    /// Rated messages since join.
    Rated,
    /// Messages per second.
    MessagesPerS,
    /// Bytes per second.
    BytesPerS,
    /// Last cycle number.
    Cycle,
    /// Age of the last stats event.
    Age,
}

impl SortColumn {
    /// Every column, in the order `s` cycles through them.
    pub const ALL: [SortColumn; 14] = [
        SortColumn::Router,
        SortColumn::Node,
        SortColumn::Session,
        SortColumn::Authid,
        SortColumn::Role,
        SortColumn::Transport,
        SortColumn::Serializer,
        SortColumn::Messages,
        SortColumn::Bytes,
        SortColumn::Rated,
        SortColumn::MessagesPerS,
        SortColumn::BytesPerS,
        SortColumn::Cycle,
        SortColumn::Age,
    ];

    /// The column after this one (wrapping around).
    pub fn next(self) -> SortColumn {
        let i = Self::ALL.iter().position(|&c| c == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// Its name, as the table title shows it.
    pub fn name(self) -> &'static str {
        match self {
            SortColumn::Router => "router",
            SortColumn::Node => "node",
            SortColumn::Session => "session",
            SortColumn::Authid => "authid",
            SortColumn::Role => "role",
            SortColumn::Transport => "transport",
            SortColumn::Serializer => "serializer",
            SortColumn::Messages => "msgs",
            SortColumn::Bytes => "bytes",
            SortColumn::Rated => "rated",
            SortColumn::MessagesPerS => "msgs/s",
            SortColumn::BytesPerS => "bytes/s",
            SortColumn::Cycle => "cycle",
            SortColumn::Age => "age",
        }
    }

    /// Whether it naturally sorts largest first (traffic), rather than A to Z (names, ids, age).
    pub fn descending(self) -> bool {
        matches!(
            self,
            SortColumn::Messages
                | SortColumn::Bytes
                | SortColumn::Rated
                | SortColumn::MessagesPerS
                | SortColumn::BytesPerS
                | SortColumn::Cycle
        )
    }

    /// What a session is sorted by in this column, taken once per session and frame (sorting
    /// thousands of rows compares each one many times).
    fn key<'a>(self, r: &'a SessionRow, now: f64) -> SortKey<'a> {
        match self {
            SortColumn::Router => SortKey::Int(r.router as u64),
            SortColumn::Node => SortKey::Text(&r.node, ""),
            SortColumn::Session => SortKey::Int(r.id),
            SortColumn::Authid => SortKey::Text(&r.authid, ""),
            SortColumn::Role => SortKey::Text(&r.authrole, ""),
            SortColumn::Transport => SortKey::Text(&r.transport, &r.serializer),
            SortColumn::Serializer => SortKey::Text(&r.serializer, ""),
            SortColumn::Messages => SortKey::Int(r.totals.messages),
            SortColumn::Bytes => SortKey::Int(r.totals.bytes),
            SortColumn::Rated => SortKey::Int(r.totals.rated_messages),
            SortColumn::MessagesPerS => SortKey::Num(r.messages_per_s(now)),
            SortColumn::BytesPerS => SortKey::Num(r.bytes_per_s(now)),
            SortColumn::Cycle => SortKey::Int(r.cycle),
            SortColumn::Age => SortKey::Age(r.age(now)),
        }
    }
}

/// A session's value in the sort column.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SortKey<'a> {
    /// Counts and ids.
    Int(u64),
    /// Rates.
    Num(f64),
    /// Text, then more text for ties (the serializer after the transport).
    Text(&'a str, &'a str),
    /// The age of the last stats event; sessions without one go last.
    Age(Option<f64>),
}

impl SortKey<'_> {
    /// Compares two keys of the same column in its natural direction (ascending).
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortKey::Int(a), SortKey::Int(b)) => a.cmp(b),
            (SortKey::Num(a), SortKey::Num(b)) => a.total_cmp(b),
            (SortKey::Text(a, a2), SortKey::Text(b, b2)) => a.cmp(b).then(a2.cmp(b2)),
            (SortKey::Age(a), SortKey::Age(b)) => compare_age(*a, *b),
            _ => Ordering::Equal,
        }
    }
}

fn compare_age(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Whether `row` (on the router called `router`) matches the (lower-case) filter text: its id,
/// router, node, authid, authrole, transport, serializer or peer contains it, ignoring case.
pub fn matches(row: &SessionRow, router: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let has = |s: &str| contains_ignoring_case(s, needle);
    (needle.bytes().all(|b| b.is_ascii_digit()) && row.id.to_string().contains(needle))
        || has(router)
        || has(&row.node)
        || has(&row.authid)
        || has(&row.authrole)
        || has(&row.transport)
        || has(short_transport(&row.transport))
        || has(&row.serializer)
        || has(&row.peer)
}

/// Whether `hay` contains the lower-case `needle`, ignoring case; without allocating when the
/// needle is ASCII (the filter runs over every session on every frame).
fn contains_ignoring_case(hay: &str, needle: &str) -> bool {
    if needle.is_ascii() {
        let n = needle.len();
        hay.len() >= n
            && hay
                .as_bytes()
                .windows(n)
                .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

/// What is at a point of the screen, for the mouse (found by `ui::hit` from the layout of
/// the last frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Nothing that reacts to the mouse.
    Nothing,
    /// A row of the session or group table (its index in the visible rows).
    Row(usize),
    /// A column's title in the session table (what it sorts by).
    Column(SortColumn),
    /// A grouping's tab in the table's title.
    Tab(crate::groups::GroupBy),
    /// The session table elsewhere (its border, blank rows).
    Table,
    /// The event log.
    Log,
    /// The detail pane.
    Detail,
}

/// The modal layer that gets keys first. At most one is open, so a kill cannot wait for `y`
/// while the filter is being typed or the help is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Nothing open: keys move, sort, open panes.
    #[default]
    Normal,
    /// The help overlay is shown; any key closes it.
    Help,
    /// Keys are being typed into the filter.
    Filter,
    /// A kill of this session waits for `y`.
    Confirm(Key),
}

/// Everything about the screen that is not data: selection, scrolling, sort, filter, panes.
#[derive(Debug, Clone)]
pub struct View {
    /// The selected session (kept across re-sorting and updates).
    pub selected: Option<Key>,
    /// Where the selection was in the visible rows (used when the selected session vanishes).
    pub cursor: usize,
    /// The first visible table row.
    pub scroll: usize,
    /// How many table rows fit on the screen (see [`View::fit`]).
    pub page: usize,
    /// How many log lines fit on the screen (see [`View::fit`]).
    pub log_page: usize,
    /// The sort column.
    pub sort: SortColumn,
    /// Whether the sort runs against the column's natural direction.
    pub reversed: bool,
    /// The filter text.
    pub filter: String,
    /// What is open that gets keys first: the help, the filter being typed, a kill to confirm.
    pub mode: Mode,
    /// Which pane the movement keys act on.
    pub focus: Focus,
    /// Whether the detail pane is shown.
    pub show_detail: bool,
    /// Whether the display is paused (the caller keeps collecting data).
    pub paused: bool,
    /// How many log lines the log is scrolled back from the newest.
    pub log_scroll: usize,
    /// Whether to use colours (off under `NO_COLOR`); styles use only modifiers then.
    pub color: bool,
    /// Seconds to add to a monitor-clock time to get the wall-clock time of day (seconds since
    /// a midnight, local or UTC as the caller likes) for log and join times; `None` shows them
    /// as time since the monitor started.
    pub wall_offset: Option<f64>,
    /// Rendered frames so far (drives the connecting spinner).
    pub tick: u64,
    /// Whether the selection follows a session (after the user moved it) rather than staying
    /// on its row (at start: the top row, whichever session is busiest).
    pub follow: bool,
    /// How much time the charts, the header sparklines and the TREND column cover (`+`/`-`).
    pub window: Window,
    /// How sessions are grouped (`g`), the open group and the selected one.
    pub grouping: Grouping,
    /// Where a replay is (`None` when following live routers): the replay keys work then and
    /// the header shows the replay bar.
    pub replay: Option<ReplayStatus>,
    /// Whether the live feeds are being recorded (the header's `● REC` badge).
    pub recording: bool,
}

impl Default for View {
    fn default() -> Self {
        View::new(true)
    }
}

impl View {
    /// The start-up view: sorted by messages/s, table focused, nothing open.
    pub fn new(color: bool) -> Self {
        View {
            selected: None,
            cursor: 0,
            scroll: 0,
            page: 10,
            log_page: 5,
            sort: SortColumn::MessagesPerS,
            reversed: false,
            filter: String::new(),
            mode: Mode::Normal,
            focus: Focus::Table,
            show_detail: false,
            paused: false,
            log_scroll: 0,
            color,
            wall_offset: None,
            tick: 0,
            follow: false,
            window: Window::default(),
            grouping: Grouping::default(),
            replay: None,
            recording: false,
        }
    }

    /// The start-up view, with colours unless the `NO_COLOR` environment variable is set.
    pub fn from_env() -> Self {
        View::new(std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()))
    }

    /// The sessions to show, filtered (and only the open group's) and sorted (ties by session
    /// id, so the order is stable).
    pub fn visible_rows(&self, model: &Model, now: f64) -> Vec<Key> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<(SortKey, Key)> = model
            .sessions
            .values()
            .filter(|r| self.grouping.admits(r) && matches(r, model.router_name(r.router), &needle))
            .map(|r| (self.sort.key(r, now), r.key()))
            .collect();
        let flip = self.sort.descending() != self.reversed;
        rows.sort_unstable_by(|(a, ka), (b, kb)| {
            let by = a.cmp(b);
            let by = if flip { by.reverse() } else { by };
            by.then(ka.cmp(kb))
        });
        rows.into_iter().map(|(_, k)| k).collect()
    }

    /// The index of the selected row in `rows`: the selected session's, or the last cursor
    /// position (clamped) when that session is gone; `None` when there are no rows.
    pub fn selected_index(&self, rows: &[Key]) -> Option<usize> {
        if rows.is_empty() {
            return None;
        }
        let found = self
            .selected
            .and_then(|id| rows.iter().position(|&r| r == id));
        Some(found.unwrap_or(self.cursor.min(rows.len() - 1)))
    }

    /// Re-finds the selection in `rows` (selecting the first row if none) and scrolls to it.
    pub fn sync(&mut self, rows: &[Key]) {
        if !self.follow {
            self.selected = None;
        }
        match self.selected_index(rows) {
            Some(i) => self.select(i, rows),
            None => {
                self.cursor = 0;
                self.scroll = 0;
            }
        }
    }

    /// Counts a rendered frame.
    pub fn tick(&mut self) {
        self.tick = self.tick.wrapping_add(1);
    }

    /// Selects row `i` of `rows` and scrolls so that it is visible.
    pub(crate) fn select(&mut self, i: usize, rows: &[Key]) {
        self.cursor = i;
        self.selected = rows.get(i).copied();
        let page = self.page.max(1);
        if i < self.scroll {
            self.scroll = i;
        } else if i >= self.scroll + page {
            self.scroll = i + 1 - page;
        }
        self.scroll = self.scroll.min(rows.len().saturating_sub(page));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_is_reachable() {
        let mut c = SortColumn::Session;
        for _ in 0..SortColumn::ALL.len() {
            c = c.next();
        }
        assert_eq!(c, SortColumn::Session);
    }

    fn on(node: &str, id: u64) -> SessionRow {
        let mut r = SessionRow::new(Key::new(0, id), 0.0);
        r.node = node.to_owned();
        r
    }

    #[test]
    fn sorts_and_filters_by_node() {
        let mut m = Model::new(0.0, 1.0);
        for r in [
            on("node-c", 1),
            on("node-a", 2),
            on("node-b", 3),
            on("node-a", 4),
        ] {
            m.sessions.insert(r.key(), r);
        }
        let mut v = View::new(false);
        v.sort = SortColumn::Node;
        let ids = |v: &View| -> Vec<u64> { v.visible_rows(&m, 0.0).iter().map(|k| k.id).collect() };
        assert_eq!(ids(&v), [2, 4, 3, 1], "A to Z, ties by id");
        v.reversed = true;
        assert_eq!(ids(&v), [1, 3, 2, 4], "Z to A, ties still by id");
        v.filter = "node-a".to_owned();
        assert_eq!(ids(&v), [2, 4]);
    }
}
