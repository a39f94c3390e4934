//! The UI state ([`View`]) and what keys do to it.
//!
//! The model ([`Model`]) is never touched here: keys change only what is shown and how, and a
//! key that needs the outside world (quit, kill) comes back as an [`Action`] for the caller.

use std::cmp::Ordering;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use wamp::Id;

use crate::model::{Model, SessionRow, short_transport};

/// What the caller must do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing; redraw.
    None,
    /// Leave the program.
    Quit,
    /// Call `wamp.session.kill` for this session (the operator confirmed it).
    Kill(Id),
}

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
    pub const ALL: [SortColumn; 12] = [
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

    /// Compares two sessions by this column, in its natural direction.
    fn compare(self, a: &SessionRow, b: &SessionRow, now: f64) -> Ordering {
        let by = match self {
            SortColumn::Session => a.id.cmp(&b.id),
            SortColumn::Authid => a.authid.cmp(&b.authid),
            SortColumn::Role => a.authrole.cmp(&b.authrole),
            SortColumn::Transport => a
                .transport
                .cmp(&b.transport)
                .then(a.serializer.cmp(&b.serializer)),
            SortColumn::Serializer => a.serializer.cmp(&b.serializer),
            SortColumn::Messages => a.totals.messages.cmp(&b.totals.messages),
            SortColumn::Bytes => a.totals.bytes.cmp(&b.totals.bytes),
            SortColumn::Rated => a.totals.rated_messages.cmp(&b.totals.rated_messages),
            SortColumn::MessagesPerS => a.messages_per_s(now).total_cmp(&b.messages_per_s(now)),
            SortColumn::BytesPerS => a.bytes_per_s(now).total_cmp(&b.bytes_per_s(now)),
            SortColumn::Cycle => a.cycle.cmp(&b.cycle),
            // Sessions without any stats event yet go last.
            SortColumn::Age => compare_age(a.age(now), b.age(now)),
        };
        if self.descending() { by.reverse() } else { by }
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

/// Whether `row` matches the (lower-case) filter text: its id, authid, authrole, transport,
/// serializer or peer contains it, ignoring case.
pub fn matches(row: &SessionRow, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let has = |s: &str| s.to_lowercase().contains(needle);
    row.id.to_string().contains(needle)
        || has(&row.authid)
        || has(&row.authrole)
        || has(&row.transport)
        || has(short_transport(&row.transport))
        || has(&row.serializer)
        || has(&row.peer)
}

/// The modal layer that gets keys first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    Help,
    Filter,
    Confirm,
}

/// Everything about the screen that is not data: selection, scrolling, sort, filter, panes.
#[derive(Debug, Clone)]
pub struct View {
    /// The selected session (kept across re-sorting and updates).
    pub selected: Option<Id>,
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
    /// Whether keys are being typed into the filter.
    pub typing: bool,
    /// Which pane the movement keys act on.
    pub focus: Focus,
    /// Whether the detail pane is shown.
    pub show_detail: bool,
    /// Whether the help overlay is shown.
    pub show_help: bool,
    /// Whether the display is paused (the caller keeps collecting data).
    pub paused: bool,
    /// A kill waiting for `y`.
    pub confirm_kill: Option<Id>,
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
            typing: false,
            focus: Focus::Table,
            show_detail: false,
            show_help: false,
            paused: false,
            confirm_kill: None,
            log_scroll: 0,
            color,
            wall_offset: None,
            tick: 0,
            follow: false,
        }
    }

    /// The start-up view, with colours unless the `NO_COLOR` environment variable is set.
    pub fn from_env() -> Self {
        View::new(std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()))
    }

    /// The sessions to show, filtered and sorted (ties by session id, so the order is stable).
    pub fn visible_rows(&self, model: &Model, now: f64) -> Vec<Id> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&SessionRow> = model
            .sessions
            .values()
            .filter(|r| matches(r, &needle))
            .collect();
        rows.sort_by(|a, b| {
            let by = self.sort.compare(a, b, now);
            let by = if self.reversed { by.reverse() } else { by };
            by.then(a.id.cmp(&b.id))
        });
        rows.into_iter().map(|r| r.id).collect()
    }

    /// The index of the selected row in `rows`: the selected session's, or the last cursor
    /// position (clamped) when that session is gone; `None` when there are no rows.
    pub fn selected_index(&self, rows: &[Id]) -> Option<usize> {
        if rows.is_empty() {
            return None;
        }
        let found = self
            .selected
            .and_then(|id| rows.iter().position(|&r| r == id));
        Some(found.unwrap_or(self.cursor.min(rows.len() - 1)))
    }

    /// Brings the view up to date with the screen and the model before drawing: records how
    /// many rows fit in `area`, re-finds the selection, keeps it and the log scrolled in range,
    /// and returns the visible rows (pass them to [`View::on_key`]).
    pub fn fit(&mut self, area: Rect, model: &Model, now: f64) -> Vec<Id> {
        let (page, log_page) = crate::ui::pages(area, self);
        self.page = page.max(1);
        self.log_page = log_page.max(1);
        self.log_scroll = self
            .log_scroll
            .min(model.log.len().saturating_sub(self.log_page));
        let rows = self.visible_rows(model, now);
        self.sync(&rows);
        rows
    }

    /// Re-finds the selection in `rows` (selecting the first row if none) and scrolls to it.
    pub fn sync(&mut self, rows: &[Id]) {
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

    /// Handles one key press; `rows` are the currently visible rows (see [`View::visible_rows`]).
    pub fn on_key(&mut self, key: KeyEvent, rows: &[Id]) -> Action {
        use KeyCode::{
            BackTab, Backspace, Char, Down, End, Enter, Esc, Home, PageDown, PageUp, Tab, Up,
        };
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        self.sync(rows);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match (self.mode(), key.code) {
            (_, Char('c')) if ctrl => Action::Quit,
            (Mode::Confirm, Char('y' | 'Y')) => self.confirm_kill(),
            (Mode::Confirm, _) => self.cancel_kill(),
            (Mode::Filter, Enter) => self.end_filter(),
            (Mode::Filter, Esc) => self.clear_filter(),
            (Mode::Filter, Backspace) => self.pop_filter(),
            (Mode::Filter, Char(c)) => self.push_filter(c),
            (Mode::Filter, _) => Action::None,
            (Mode::Help, Char('q')) => Action::Quit,
            (Mode::Help, _) => self.toggle_help(),
            (_, Esc) => self.escape(),
            (_, Char('q')) => Action::Quit,
            (_, Up | Char('k')) => self.move_by(-1, rows),
            (_, Down | Char('j')) => self.move_by(1, rows),
            (_, PageUp) => self.move_by(-self.page_step(), rows),
            (_, PageDown) => self.move_by(self.page_step(), rows),
            (_, Home | Char('g')) => self.move_by(isize::MIN / 2, rows),
            (_, End | Char('G')) => self.move_by(isize::MAX / 2, rows),
            (_, Char('s')) => self.next_sort(),
            (_, Char('S')) => self.reverse_sort(),
            (_, Char('/')) => self.start_filter(),
            (_, Tab | BackTab | Char('l')) => self.switch_focus(),
            (_, Enter) => self.toggle_detail(),
            (_, Char('?')) => self.toggle_help(),
            (_, Char('p')) => self.toggle_pause(),
            (_, Char('x')) => self.ask_kill(rows),
            _ => Action::None,
        }
    }

    fn mode(&self) -> Mode {
        if self.confirm_kill.is_some() {
            Mode::Confirm
        } else if self.typing {
            Mode::Filter
        } else if self.show_help {
            Mode::Help
        } else {
            Mode::Normal
        }
    }

    fn page_step(&self) -> isize {
        let page = if self.focus == Focus::Log {
            self.log_page
        } else {
            self.page
        };
        page.saturating_sub(1).max(1) as isize
    }

    /// Selects row `i` of `rows` and scrolls so that it is visible.
    fn select(&mut self, i: usize, rows: &[Id]) {
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

    fn move_by(&mut self, delta: isize, rows: &[Id]) -> Action {
        match self.focus {
            Focus::Table => self.move_selection(delta, rows),
            Focus::Log => self.scroll_log(delta),
        }
        Action::None
    }

    fn move_selection(&mut self, delta: isize, rows: &[Id]) {
        self.follow = true;
        if let Some(i) = self.selected_index(rows) {
            let last = rows.len() - 1;
            let to = i.saturating_add_signed(delta).min(last);
            self.select(to, rows);
        }
    }

    /// The newest line is at the top (scroll 0); ↓ scrolls back in time. [`View::fit`] keeps
    /// the scroll within the log.
    fn scroll_log(&mut self, delta: isize) {
        self.log_scroll = self.log_scroll.saturating_add_signed(delta);
    }

    fn next_sort(&mut self) -> Action {
        self.sort = self.sort.next();
        self.reversed = false;
        Action::None
    }

    fn reverse_sort(&mut self) -> Action {
        self.reversed = !self.reversed;
        Action::None
    }

    fn start_filter(&mut self) -> Action {
        self.typing = true;
        self.focus = Focus::Table;
        Action::None
    }

    fn push_filter(&mut self, c: char) -> Action {
        self.filter.push(c);
        Action::None
    }

    fn pop_filter(&mut self) -> Action {
        self.filter.pop();
        Action::None
    }

    fn end_filter(&mut self) -> Action {
        self.typing = false;
        Action::None
    }

    fn clear_filter(&mut self) -> Action {
        self.typing = false;
        self.filter.clear();
        Action::None
    }

    fn switch_focus(&mut self) -> Action {
        self.focus = match self.focus {
            Focus::Table => Focus::Log,
            Focus::Log => Focus::Table,
        };
        Action::None
    }

    fn toggle_detail(&mut self) -> Action {
        self.show_detail = !self.show_detail;
        Action::None
    }

    fn toggle_help(&mut self) -> Action {
        self.show_help = !self.show_help;
        Action::None
    }

    fn toggle_pause(&mut self) -> Action {
        self.paused = !self.paused;
        Action::None
    }

    fn ask_kill(&mut self, rows: &[Id]) -> Action {
        self.confirm_kill = self.selected_index(rows).map(|i| rows[i]);
        Action::None
    }

    fn confirm_kill(&mut self) -> Action {
        self.confirm_kill.take().map_or(Action::None, Action::Kill)
    }

    fn cancel_kill(&mut self) -> Action {
        self.confirm_kill = None;
        Action::None
    }

    /// Esc closes the innermost thing open (filter, detail pane, log focus) and only then quits.
    fn escape(&mut self) -> Action {
        if !self.filter.is_empty() {
            self.filter.clear();
        } else if self.show_detail {
            self.show_detail = false;
        } else if self.focus == Focus::Log {
            self.focus = Focus::Table;
        } else {
            return Action::Quit;
        }
        Action::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MetaEvent;
    use wamp::{Dict, Value};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn press(view: &mut View, rows: &[Id], keys: &str) -> Action {
        keys.chars()
            .map(|c| view.on_key(key(KeyCode::Char(c)), rows))
            .last()
            .unwrap_or(Action::None)
    }

    fn dict(pairs: &[(&str, Value)]) -> Dict {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn join(model: &mut Model, id: u64, authid: &str, framing: &str, ser: &str, peer: &str) {
        let transport = dict(&[
            ("channel_framing", framing.into()),
            ("channel_serializer", ser.into()),
            ("peer", peer.into()),
        ]);
        let details = dict(&[
            ("session", Value::Int(id as i64)),
            ("authid", authid.into()),
            ("authrole", "anonymous".into()),
            ("transport", Value::Dict(transport)),
        ]);
        model.apply(MetaEvent::Join(details), 0.0);
    }

    fn stats(model: &mut Model, id: u64, messages: i64, bytes: i64, now: f64) {
        let info = dict(&[("session", Value::Int(id as i64))]);
        let stats = dict(&[
            ("messages", Value::Int(messages)),
            ("bytes", Value::Int(bytes)),
            ("rated_messages", Value::Int(messages)),
            ("duration", Value::Int(1_000_000_000)),
        ]);
        model.apply(MetaEvent::Stats(info, stats), now);
    }

    fn model() -> Model {
        let mut m = Model::new(0.0, 60.0);
        join(
            &mut m,
            30,
            "carol",
            "websocket",
            "json",
            "tcp4:10.0.0.3:5000",
        );
        join(
            &mut m,
            10,
            "alice",
            "rawsocket",
            "msgpack",
            "tcp4:10.0.0.1:5000",
        );
        join(
            &mut m,
            20,
            "bob",
            "websocket",
            "msgpack",
            "tcp4:10.0.0.2:5000",
        );
        stats(&mut m, 30, 5, 9000, 1.0);
        stats(&mut m, 10, 50, 100, 1.0);
        stats(&mut m, 20, 20, 500, 1.0);
        m
    }

    #[test]
    fn sorts_by_rate_then_by_every_column() {
        let m = model();
        let mut v = View::new(false);
        assert_eq!(
            v.visible_rows(&m, 1.0),
            [10, 20, 30],
            "msgs/s, largest first"
        );
        press(&mut v, &[], "S");
        assert_eq!(v.visible_rows(&m, 1.0), [30, 20, 10], "reversed");
        press(&mut v, &[], "s");
        assert_eq!(v.sort, SortColumn::BytesPerS);
        assert!(!v.reversed, "a new column starts in its natural direction");
        assert_eq!(v.visible_rows(&m, 1.0), [30, 20, 10]);
        press(&mut v, &[], "ss");
        assert_eq!(v.sort, SortColumn::Age);
        press(&mut v, &[], "s");
        assert_eq!(v.sort, SortColumn::Session);
        assert_eq!(v.visible_rows(&m, 1.0), [10, 20, 30]);
        press(&mut v, &[], "s");
        assert_eq!(v.visible_rows(&m, 1.0), [10, 20, 30], "authid A to Z");
        press(&mut v, &[], "sss");
        assert_eq!(v.sort, SortColumn::Serializer);
        assert_eq!(
            v.visible_rows(&m, 1.0),
            [30, 10, 20],
            "json first, ties by id"
        );
    }

    #[test]
    fn every_column_is_reachable() {
        let mut c = SortColumn::Session;
        for _ in 0..SortColumn::ALL.len() {
            c = c.next();
        }
        assert_eq!(c, SortColumn::Session);
    }

    #[test]
    fn filter_matches_any_text_column() {
        let m = model();
        let mut v = View::new(false);
        press(&mut v, &[], "/");
        assert!(v.typing);
        for (text, want) in [
            ("ALICE", vec![10]),
            ("msgpack", vec![10, 20]),
            ("rs", vec![10]),
            ("websocket", vec![20, 30]),
            ("10.0.0.3", vec![30]),
            ("20", vec![20]),
            ("anon", vec![10, 20, 30]),
            ("nobody", vec![]),
        ] {
            v.filter = text.to_owned();
            assert_eq!(v.visible_rows(&m, 1.0), want, "filter {text:?}");
        }
    }

    #[test]
    fn typing_a_filter_takes_every_key() {
        let mut v = View::new(false);
        press(&mut v, &[], "/qs?x");
        assert_eq!(v.filter, "qs?x");
        assert_eq!(v.on_key(key(KeyCode::Backspace), &[]), Action::None);
        assert_eq!(v.filter, "qs?");
        v.on_key(key(KeyCode::Enter), &[]);
        assert!(!v.typing);
        assert_eq!(v.filter, "qs?", "Enter keeps the filter");
        v.on_key(key(KeyCode::Esc), &[]);
        assert_eq!(v.filter, "", "Esc clears a kept filter before quitting");
        press(&mut v, &[], "/ab");
        v.on_key(key(KeyCode::Esc), &[]);
        assert!(!v.typing);
        assert_eq!(v.filter, "", "Esc while typing drops the filter");
    }

    #[test]
    fn moves_pages_and_ends() {
        let rows: Vec<Id> = (1..=30).collect();
        let mut v = View::new(false);
        v.page = 10;
        v.sync(&rows);
        assert_eq!(v.selected, Some(1));
        press(&mut v, &rows, "jjj");
        assert_eq!(v.selected, Some(4));
        v.on_key(key(KeyCode::Up), &rows);
        press(&mut v, &rows, "k");
        assert_eq!(v.selected, Some(2));
        v.on_key(key(KeyCode::PageDown), &rows);
        assert_eq!(v.selected, Some(11));
        assert_eq!(v.scroll, 1, "scrolled just enough to show the selection");
        v.on_key(key(KeyCode::End), &rows);
        assert_eq!((v.selected, v.scroll), (Some(30), 20));
        v.on_key(key(KeyCode::PageUp), &rows);
        assert_eq!((v.selected, v.scroll), (Some(21), 20));
        v.on_key(key(KeyCode::Home), &rows);
        assert_eq!((v.selected, v.scroll), (Some(1), 0));
        press(&mut v, &rows, "k");
        assert_eq!(v.selected, Some(1), "stops at the top");
    }

    #[test]
    fn selection_follows_the_session_and_falls_back_to_its_place() {
        let mut v = View::new(false);
        v.sync(&[5, 6, 7]);
        press(&mut v, &[5, 6, 7], "j");
        assert_eq!(v.selected, Some(6));
        v.sync(&[7, 6, 5]);
        assert_eq!(
            (v.selected, v.cursor),
            (Some(6), 1),
            "re-sorted: same session"
        );
        v.sync(&[7, 5]);
        assert_eq!(v.selected, Some(5), "gone: the row now in its place");
        v.sync(&[]);
        assert_eq!(v.selected_index(&[]), None);
    }

    #[test]
    fn focus_moves_the_log_instead() {
        let rows = [1, 2, 3];
        let mut v = View::new(false);
        v.sync(&rows);
        v.on_key(key(KeyCode::Tab), &rows);
        assert_eq!(v.focus, Focus::Log);
        press(&mut v, &rows, "jjk");
        assert_eq!((v.log_scroll, v.selected), (1, Some(1)));
        press(&mut v, &rows, "l");
        assert_eq!(v.focus, Focus::Table);
    }

    #[test]
    fn kill_needs_confirmation() {
        let rows = [1, 2];
        let mut v = View::new(false);
        v.sync(&rows);
        press(&mut v, &rows, "jx");
        assert_eq!(v.confirm_kill, Some(2));
        assert_eq!(press(&mut v, &rows, "n"), Action::None);
        assert_eq!(v.confirm_kill, None);
        assert_eq!(press(&mut v, &rows, "xy"), Action::Kill(2));
        assert_eq!(v.confirm_kill, None);
        press(&mut v, &rows, "x");
        assert_eq!(
            v.on_key(key(KeyCode::Esc), &rows),
            Action::None,
            "Esc cancels, not quits"
        );
        assert_eq!(
            press(&mut v, &[], "x"),
            Action::None,
            "nothing to kill without rows"
        );
        assert_eq!(v.confirm_kill, None);
    }

    #[test]
    fn toggles() {
        let mut v = View::new(false);
        v.on_key(key(KeyCode::Enter), &[]);
        assert!(v.show_detail);
        press(&mut v, &[], "p");
        assert!(v.paused);
        press(&mut v, &[], "?");
        assert!(v.show_help);
        assert_eq!(press(&mut v, &[], "j"), Action::None, "any key closes help");
        assert!(!v.show_help);
        assert_eq!(
            v.on_key(key(KeyCode::Esc), &[]),
            Action::None,
            "Esc closes the detail"
        );
        assert!(!v.show_detail);
    }

    #[test]
    fn quits() {
        let mut v = View::new(false);
        assert_eq!(press(&mut v, &[], "q"), Action::Quit);
        assert_eq!(v.on_key(key(KeyCode::Esc), &[]), Action::Quit);
        press(&mut v, &[], "/");
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            v.on_key(ctrl_c, &[]),
            Action::Quit,
            "Ctrl-C quits even while typing"
        );
        v.on_key(key(KeyCode::Enter), &[]);
        press(&mut v, &[], "?");
        assert!(v.show_help);
        assert_eq!(press(&mut v, &[], "q"), Action::Quit);
    }

    #[test]
    fn the_selection_stays_on_top_until_the_user_moves_it_then_follows_its_session() {
        let mut v = View::new(false);
        v.sync(&[1, 2, 3]);
        v.sync(&[3, 1, 2]);
        assert_eq!(
            v.selected_index(&[3, 1, 2]),
            Some(0),
            "the busiest session, whichever it is"
        );
        press(&mut v, &[3, 1, 2], "j");
        assert_eq!(v.selected, Some(1));
        v.sync(&[1, 2, 3]);
        assert_eq!(
            v.selected_index(&[1, 2, 3]),
            Some(0),
            "now it follows session 1"
        );
    }
}
