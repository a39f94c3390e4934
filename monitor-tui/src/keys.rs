//! What keys do: [`View::on_key`] turns a key press into a change of the [`View`] and, when a
//! key needs the outside world (quit, kill, and in a replay pause, seek and speed), an
//! [`Action`] for the caller.
//!
//! The model is never touched here: keys change only what is shown and how.

use crate::groups::Rows;
use crate::model::Key;
use crate::view::{Focus, Mode, Target, View};
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

/// How many rows or log lines one turn of the wheel moves.
const WHEEL_STEP: isize = 1;

/// What the caller must do after a key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Nothing; redraw.
    None,
    /// Leave the program.
    Quit,
    /// Call `wamp.session.kill` for this session (the operator confirmed it).
    Kill(Key),
    /// Replay only: pause or resume playback.
    TogglePlayback,
    /// Replay only: jump this many recorded seconds (negative: back).
    Seek(f64),
    /// Replay only: multiply the playback speed by this.
    Speed(f64),
    /// Replay only: `x` was pressed, but a recording's sessions cannot be killed.
    CannotKill,
}

/// How far `←`/`→` seek in a replay, in seconds.
pub const SEEK_SHORT: f64 = 10.0;
/// How far `[`/`]` and Shift+`←`/`→` seek in a replay, in seconds.
pub const SEEK_LONG: f64 = 60.0;

impl View {
    /// Handles one key press; `rows` are the currently visible rows (see [`View::visible_rows`]).
    pub fn on_key(&mut self, key: KeyEvent, rows: &[Key]) -> Action {
        use KeyCode::{
            BackTab, Backspace, Char, Down, End, Enter, Esc, Home, PageDown, PageUp, Tab, Up,
        };
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        self.sync(rows);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.mode == Mode::Normal
            && self.replay.is_some()
            && !ctrl
            && let Some(action) = replay_action(key.code, key.modifiers)
        {
            return action;
        }
        match (self.mode, key.code) {
            (_, Char('c')) if ctrl => Action::Quit,
            (Mode::Confirm(id), Char('y' | 'Y')) => self.confirm_kill(id),
            (Mode::Confirm(_), _) => self.cancel_kill(),
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
            (_, Home) => self.move_by(isize::MIN / 2, rows),
            (_, End) => self.move_by(isize::MAX / 2, rows),
            (_, Char('+' | '=')) => self.widen_window(),
            (_, Char('-' | '_')) => self.narrow_window(),
            (_, Char('s')) => self.next_sort(),
            (_, Char('S')) => self.reverse_sort(),
            (_, Char('/')) => self.start_filter(),
            (_, Tab | BackTab | Char('l')) => self.switch_focus(),
            (_, Enter) => self.toggle_detail(),
            (_, Char('?')) => self.toggle_help(),
            (_, Char('p')) => self.toggle_pause(),
            (_, Char('x')) => self.ask_kill(rows),
            (_, Char('g')) => self.cycle_grouping(),
            _ => Action::None,
        }
    }

    /// Handles one mouse event on `target` (what `ui::hit` found under it), through
    /// the same methods as the keys: a click selects a row, sorts by a column (again:
    /// reverses it) or focuses a pane; the wheel moves the selection or scrolls the log. A
    /// click anywhere closes the help, cancels a kill waiting for `y` and ends typing a filter.
    pub fn on_mouse(&mut self, mouse: MouseEvent, target: Target, rows: &Rows) -> Action {
        use MouseEventKind::{Down, ScrollDown, ScrollUp};
        if let Rows::Sessions(keys) = rows {
            self.sync(keys);
        }
        match (self.mode, mouse.kind) {
            (Mode::Help, Down(_)) => self.toggle_help(),
            (Mode::Confirm(_), Down(_)) => self.cancel_kill(),
            (Mode::Filter, Down(_)) => {
                self.end_filter();
                self.on_mouse(mouse, target, rows)
            }
            (Mode::Normal, Down(MouseButton::Left)) => self.click(target, rows),
            (Mode::Normal, ScrollUp) => self.wheel(-WHEEL_STEP, target, rows),
            (Mode::Normal, ScrollDown) => self.wheel(WHEEL_STEP, target, rows),
            _ => Action::None,
        }
    }

    fn click(&mut self, target: Target, rows: &Rows) -> Action {
        match (target, rows) {
            (Target::Row(i), Rows::Sessions(keys)) => {
                self.focus = Focus::Table;
                self.follow = true;
                self.select(i.min(keys.len().saturating_sub(1)), keys);
            }
            (Target::Row(i), Rows::Groups(names)) => {
                self.focus = Focus::Table;
                self.grouping.follow = true;
                let i = i.min(names.len().saturating_sub(1));
                self.grouping.select(i, names, self.page);
            }
            (Target::Tab(by), _) => return self.show_grouping(by),
            (Target::Column(c), _) if c == self.sort => return self.reverse_sort(),
            (Target::Column(c), _) => {
                self.sort = c;
                self.reversed = false;
            }
            (Target::Table, _) => self.focus = Focus::Table,
            (Target::Log, _) => self.focus = Focus::Log,
            (Target::Detail | Target::Nothing, _) => {}
        }
        Action::None
    }

    /// A click on a tab: that grouping, as `g` pressed until it shows.
    fn show_grouping(&mut self, by: crate::groups::GroupBy) -> Action {
        for _ in 0..crate::groups::GroupBy::ALL.len() {
            if self.grouping.by == by && self.grouping.open.is_none() {
                break;
            }
            self.cycle_grouping();
        }
        self.focus = Focus::Table;
        Action::None
    }

    /// The wheel over the log scrolls it, anywhere else it moves the selection.
    fn wheel(&mut self, delta: isize, target: Target, rows: &Rows) -> Action {
        match (target, rows) {
            (Target::Log, _) => self.scroll_log(delta),
            (_, Rows::Sessions(keys)) => self.move_selection(delta, keys),
            (_, Rows::Groups(names)) => return self.move_group(delta, names),
        }
        Action::None
    }

    fn page_step(&self) -> isize {
        let page = if self.focus == Focus::Log {
            self.log_page
        } else {
            self.page
        };
        page.saturating_sub(1).max(1) as isize
    }

    fn move_by(&mut self, delta: isize, rows: &[Key]) -> Action {
        match self.focus {
            Focus::Table => self.move_selection(delta, rows),
            Focus::Log => self.scroll_log(delta),
        }
        Action::None
    }

    fn move_selection(&mut self, delta: isize, rows: &[Key]) {
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

    /// `+`: the charts, the header sparklines and the TREND column cover more time.
    fn widen_window(&mut self) -> Action {
        self.window = self.window.wider();
        Action::None
    }

    /// `-`: they cover less time, in more detail.
    fn narrow_window(&mut self) -> Action {
        self.window = self.window.narrower();
        Action::None
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
        self.mode = Mode::Filter;
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
        self.mode = Mode::Normal;
        Action::None
    }

    fn clear_filter(&mut self) -> Action {
        self.mode = Mode::Normal;
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
        self.mode = match self.mode {
            Mode::Help => Mode::Normal,
            _ => Mode::Help,
        };
        Action::None
    }

    fn toggle_pause(&mut self) -> Action {
        self.paused = !self.paused;
        Action::None
    }

    fn ask_kill(&mut self, rows: &[Key]) -> Action {
        if let Some(i) = self.selected_index(rows) {
            self.mode = Mode::Confirm(rows[i]);
        }
        Action::None
    }

    fn confirm_kill(&mut self, id: Key) -> Action {
        self.mode = Mode::Normal;
        Action::Kill(id)
    }

    fn cancel_kill(&mut self) -> Action {
        self.mode = Mode::Normal;
        Action::None
    }

    /// Esc closes the innermost thing open (filter, detail pane, log focus, the open group) and
    /// only then quits.
    fn escape(&mut self) -> Action {
        if !self.filter.is_empty() {
            self.filter.clear();
        } else if self.show_detail {
            self.show_detail = false;
        } else if self.focus == Focus::Log {
            self.focus = Focus::Table;
        } else if self.grouping.open.is_some() {
            self.grouping.open = None;
        } else {
            return Action::Quit;
        }
        Action::None
    }
}

/// What a key does in a replay that it does not do live (`None`: what it always does).
fn replay_action(code: KeyCode, modifiers: KeyModifiers) -> Option<Action> {
    let shift = modifiers.contains(KeyModifiers::SHIFT);
    let action = match code {
        KeyCode::Char('p' | ' ') => Action::TogglePlayback,
        KeyCode::Left if shift => Action::Seek(-SEEK_LONG),
        KeyCode::Right if shift => Action::Seek(SEEK_LONG),
        KeyCode::Left => Action::Seek(-SEEK_SHORT),
        KeyCode::Right => Action::Seek(SEEK_SHORT),
        KeyCode::Char('[') => Action::Seek(-SEEK_LONG),
        KeyCode::Char(']') => Action::Seek(SEEK_LONG),
        KeyCode::Char('<' | ',') => Action::Speed(0.5),
        KeyCode::Char('>' | '.') => Action::Speed(2.0),
        KeyCode::Char('x') => Action::CannotKill,
        _ => return None,
    };
    Some(action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MetaEvent, Model};
    use crate::view::SortColumn;
    use wamp::{Dict, Value};

    fn k(id: u64) -> Key {
        Key::new(0, id)
    }

    fn ks(ids: &[u64]) -> Vec<Key> {
        ids.iter().map(|&id| k(id)).collect()
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn press(view: &mut View, rows: &[Key], keys: &str) -> Action {
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
            ks(&[10, 20, 30]),
            "msgs/s, largest first"
        );
        press(&mut v, &[], "S");
        assert_eq!(v.visible_rows(&m, 1.0), ks(&[30, 20, 10]), "reversed");
        press(&mut v, &[], "s");
        assert_eq!(v.sort, SortColumn::BytesPerS);
        assert!(!v.reversed, "a new column starts in its natural direction");
        assert_eq!(v.visible_rows(&m, 1.0), ks(&[30, 20, 10]));
        press(&mut v, &[], "ss");
        assert_eq!(v.sort, SortColumn::Age);
        press(&mut v, &[], "s");
        assert_eq!(v.sort, SortColumn::Router);
        assert_eq!(
            v.visible_rows(&m, 1.0),
            ks(&[10, 20, 30]),
            "one router: by id"
        );
        press(&mut v, &[], "s");
        assert_eq!(v.sort, SortColumn::Node);
        assert_eq!(v.visible_rows(&m, 1.0), ks(&[10, 20, 30]), "no node: by id");
        press(&mut v, &[], "s");
        assert_eq!(v.sort, SortColumn::Session);
        assert_eq!(v.visible_rows(&m, 1.0), ks(&[10, 20, 30]));
        press(&mut v, &[], "s");
        assert_eq!(v.visible_rows(&m, 1.0), ks(&[10, 20, 30]), "authid A to Z");
        press(&mut v, &[], "sss");
        assert_eq!(v.sort, SortColumn::Serializer);
        assert_eq!(
            v.visible_rows(&m, 1.0),
            ks(&[30, 10, 20]),
            "json first, ties by id"
        );
    }

    #[test]
    fn filter_matches_any_text_column() {
        let m = model();
        let mut v = View::new(false);
        press(&mut v, &[], "/");
        assert_eq!(v.mode, Mode::Filter);
        for (text, want) in [
            ("ALICE", ks(&[10])),
            ("msgpack", ks(&[10, 20])),
            ("rs", ks(&[10])),
            ("websocket", ks(&[20, 30])),
            ("10.0.0.3", ks(&[30])),
            ("20", ks(&[20])),
            ("anon", ks(&[10, 20, 30])),
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
        assert_eq!(v.mode, Mode::Normal);
        assert_eq!(v.filter, "qs?", "Enter keeps the filter");
        v.on_key(key(KeyCode::Esc), &[]);
        assert_eq!(v.filter, "", "Esc clears a kept filter before quitting");
        press(&mut v, &[], "/ab");
        v.on_key(key(KeyCode::Esc), &[]);
        assert_eq!(v.mode, Mode::Normal);
        assert_eq!(v.filter, "", "Esc while typing drops the filter");
    }

    #[test]
    fn moves_pages_and_ends() {
        let rows: Vec<Key> = (1..=30).map(k).collect();
        let mut v = View::new(false);
        v.page = 10;
        v.sync(&rows);
        assert_eq!(v.selected, Some(k(1)));
        press(&mut v, &rows, "jjj");
        assert_eq!(v.selected, Some(k(4)));
        v.on_key(key(KeyCode::Up), &rows);
        press(&mut v, &rows, "k");
        assert_eq!(v.selected, Some(k(2)));
        v.on_key(key(KeyCode::PageDown), &rows);
        assert_eq!(v.selected, Some(k(11)));
        assert_eq!(v.scroll, 1, "scrolled just enough to show the selection");
        v.on_key(key(KeyCode::End), &rows);
        assert_eq!((v.selected, v.scroll), (Some(k(30)), 20));
        v.on_key(key(KeyCode::PageUp), &rows);
        assert_eq!((v.selected, v.scroll), (Some(k(21)), 20));
        v.on_key(key(KeyCode::Home), &rows);
        assert_eq!((v.selected, v.scroll), (Some(k(1)), 0));
        press(&mut v, &rows, "k");
        assert_eq!(v.selected, Some(k(1)), "stops at the top");
    }

    #[test]
    fn selection_follows_the_session_and_falls_back_to_its_place() {
        let mut v = View::new(false);
        v.sync(&ks(&[5, 6, 7]));
        press(&mut v, &ks(&[5, 6, 7]), "j");
        assert_eq!(v.selected, Some(k(6)));
        v.sync(&ks(&[7, 6, 5]));
        assert_eq!(
            (v.selected, v.cursor),
            (Some(k(6)), 1),
            "re-sorted: same session"
        );
        v.sync(&ks(&[7, 5]));
        assert_eq!(v.selected, Some(k(5)), "gone: the row now in its place");
        v.sync(&[]);
        assert_eq!(v.selected_index(&[]), None);
    }

    #[test]
    fn focus_moves_the_log_instead() {
        let rows = ks(&[1, 2, 3]);
        let mut v = View::new(false);
        v.sync(&rows);
        v.on_key(key(KeyCode::Tab), &rows);
        assert_eq!(v.focus, Focus::Log);
        press(&mut v, &rows, "jjk");
        assert_eq!((v.log_scroll, v.selected), (1, Some(k(1))));
        press(&mut v, &rows, "l");
        assert_eq!(v.focus, Focus::Table);
    }

    #[test]
    fn kill_needs_confirmation() {
        let rows = ks(&[1, 2]);
        let mut v = View::new(false);
        v.sync(&rows);
        press(&mut v, &rows, "jx");
        assert_eq!(v.mode, Mode::Confirm(k(2)));
        assert_eq!(press(&mut v, &rows, "n"), Action::None);
        assert_eq!(v.mode, Mode::Normal);
        assert_eq!(press(&mut v, &rows, "xy"), Action::Kill(k(2)));
        assert_eq!(v.mode, Mode::Normal);
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
        assert_eq!(v.mode, Mode::Normal);
    }

    #[test]
    fn toggles() {
        let mut v = View::new(false);
        v.on_key(key(KeyCode::Enter), &[]);
        assert!(v.show_detail);
        press(&mut v, &[], "p");
        assert!(v.paused);
        press(&mut v, &[], "?");
        assert_eq!(v.mode, Mode::Help);
        assert_eq!(press(&mut v, &[], "j"), Action::None, "any key closes help");
        assert_eq!(v.mode, Mode::Normal);
        assert_eq!(
            v.on_key(key(KeyCode::Esc), &[]),
            Action::None,
            "Esc closes the detail"
        );
        assert!(!v.show_detail);
    }

    #[test]
    fn plus_and_minus_widen_and_narrow_the_window() {
        use crate::series::Window;
        let mut v = View::new(false);
        assert_eq!(v.window, Window::OneMinute);
        press(&mut v, &[], "+");
        assert_eq!(v.window, Window::FiveMinutes);
        press(&mut v, &[], "=+");
        assert_eq!(v.window, Window::FifteenMinutes, "stops at the widest");
        press(&mut v, &[], "-");
        assert_eq!(v.window, Window::FiveMinutes);
        press(&mut v, &[], "--");
        assert_eq!(v.window, Window::OneMinute, "stops at the narrowest");
    }

    #[test]
    fn a_click_closes_what_is_open_before_it_acts() {
        let rows = ks(&[1, 2, 3]);
        let click = |column| MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row: 0,
            modifiers: KeyModifiers::NONE,
        };
        let mut v = View::new(false);
        v.sync(&rows);
        press(&mut v, &rows, "?");
        assert_eq!(
            v.on_mouse(click(0), Target::Row(2), &Rows::Sessions(rows.clone())),
            Action::None
        );
        assert_eq!(
            (v.mode, v.selected),
            (Mode::Normal, Some(k(1))),
            "closes the help only"
        );
        press(&mut v, &rows, "x");
        v.on_mouse(click(0), Target::Row(2), &Rows::Sessions(rows.clone()));
        assert_eq!(v.mode, Mode::Normal, "a kill is cancelled, never confirmed");
        press(&mut v, &rows, "/ab");
        v.on_mouse(click(0), Target::Row(2), &Rows::Sessions(rows.clone()));
        assert_eq!(
            (v.mode, v.filter.as_str(), v.selected),
            (Mode::Normal, "ab", Some(k(3))),
            "typing ends, the filter stays, the click selects"
        );
        let wheel = MouseEvent {
            kind: MouseEventKind::ScrollDown,
            ..click(0)
        };
        v.on_mouse(wheel, Target::Log, &Rows::Sessions(rows.clone()));
        assert_eq!(
            (v.log_scroll, v.selected),
            (1, Some(k(3))),
            "the log scrolls"
        );
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
        assert_eq!(v.mode, Mode::Help);
        assert_eq!(press(&mut v, &[], "q"), Action::Quit);
    }

    #[test]
    fn the_selection_stays_on_top_until_the_user_moves_it_then_follows_its_session() {
        let mut v = View::new(false);
        v.sync(&ks(&[1, 2, 3]));
        v.sync(&ks(&[3, 1, 2]));
        assert_eq!(
            v.selected_index(&ks(&[3, 1, 2])),
            Some(0),
            "the busiest session, whichever it is"
        );
        press(&mut v, &ks(&[3, 1, 2]), "j");
        assert_eq!(v.selected, Some(k(1)));
        v.sync(&ks(&[1, 2, 3]));
        assert_eq!(
            v.selected_index(&ks(&[1, 2, 3])),
            Some(0),
            "now it follows session 1"
        );
    }

    fn replaying() -> View {
        let mut v = View::new(false);
        v.replay = Some(crate::replay::ReplayStatus {
            name: "incident.ndjson".into(),
            position: 0.0,
            speed: 1.0,
            progress: 0.0,
            paused: false,
            at_end: false,
        });
        v
    }

    #[test]
    fn replay_keys_come_back_as_actions_only_in_a_replay() {
        let rows = ks(&[1, 2]);
        let shift = |code| KeyEvent::new(code, KeyModifiers::SHIFT);
        let mut v = replaying();
        for (keys, action) in [
            ("p", Action::TogglePlayback),
            (" ", Action::TogglePlayback),
            ("[", Action::Seek(-SEEK_LONG)),
            ("]", Action::Seek(SEEK_LONG)),
            ("<", Action::Speed(0.5)),
            (">", Action::Speed(2.0)),
            ("x", Action::CannotKill),
        ] {
            assert_eq!(press(&mut v, &rows, keys), action, "{keys:?}");
        }
        assert_eq!(
            v.on_key(key(KeyCode::Left), &rows),
            Action::Seek(-SEEK_SHORT)
        );
        assert_eq!(
            v.on_key(key(KeyCode::Right), &rows),
            Action::Seek(SEEK_SHORT)
        );
        assert_eq!(
            v.on_key(shift(KeyCode::Left), &rows),
            Action::Seek(-SEEK_LONG)
        );
        assert_eq!(
            v.on_key(shift(KeyCode::Right), &rows),
            Action::Seek(SEEK_LONG)
        );
        assert!(!v.paused, "p pauses the playback, not the display");
        assert_eq!(v.mode, Mode::Normal, "x asks nothing in a replay");
        // Table keys keep their meaning.
        press(&mut v, &rows, "j");
        assert_eq!(v.selected, Some(k(2)));
        v.on_key(key(KeyCode::Home), &rows);
        assert_eq!(v.selected, Some(k(1)));
        // While typing a filter, the replay keys are text.
        press(&mut v, &rows, "/p[x");
        assert_eq!(v.filter, "p[x");

        let mut live = View::new(false);
        for keys in ["[", "]", "<", ">", " "] {
            assert_eq!(press(&mut live, &rows, keys), Action::None, "{keys:?}");
        }
        assert_eq!(live.on_key(key(KeyCode::Left), &rows), Action::None);
        assert_eq!(press(&mut live, &rows, "p"), Action::None);
        assert!(live.paused, "live, p freezes the display");
        press(&mut live, &rows, "x");
        assert!(
            matches!(live.mode, Mode::Confirm(_)),
            "live, x asks to kill"
        );
    }
}
