//! Drawing: a pure function of the [`Model`], the [`View`] and the clock.
//!
//! [`draw`] reads and never mutates; everything that must persist between frames (selection,
//! scrolling) lives in the [`View`] and is kept in range by [`View::fit`] before drawing.
//!
//! Layout, top to bottom: a two-line header, the session table, a bottom pane (the detail pane
//! beside the event log on wide screens, one of them on narrow ones) and a one-line footer;
//! the help overlay and the kill confirmation are drawn on top.

mod detail;
mod groups;
mod header;
mod help;
mod log;
mod playback;
mod table;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType};

pub(crate) use groups::tab_ranges;

use crate::groups::Rows;
use crate::model::{Key, Model, SessionRow};
use crate::view::{Focus, Mode, Target, View};

/// What every part of the screen draws from: the model, the view, the styles and the clock.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    model: &'a Model,
    view: &'a View,
    theme: Theme,
    now: f64,
    /// Messages/s and bytes/s summed over all sessions (the table's rates), for the header and
    /// for each row's share.
    total: (f64, f64),
}

impl<'a> Ctx<'a> {
    fn new(model: &'a Model, view: &'a View, now: f64) -> Self {
        let sum = |f: fn(&SessionRow, f64) -> f64| model.sessions.values().map(|r| f(r, now)).sum();
        let total = (
            sum(SessionRow::messages_per_s),
            sum(SessionRow::bytes_per_s),
        );
        Ctx {
            model,
            view,
            theme: Theme::new(view.color),
            now,
            total,
        }
    }

    /// A monitor-clock time as the screen shows it: the wall-clock time of day when the view
    /// has a [`View::wall_offset`], else the time since the monitor started; `HH:MM:SS`.
    fn time(&self, at: f64) -> String {
        match self.view.wall_offset {
            Some(offset) => crate::format::clock(at + offset),
            None => crate::format::uptime(at - self.model.started_at),
        }
    }
}

/// Screens at least this wide show the detail pane beside the log and every column.
const WIDE: u16 = 120;
/// The header's height: two lines, and a third for the routers' session summary when one
/// offers it.
fn header_height(model: &Model) -> u16 {
    2 + u16::from(model.routers.iter().any(|r| r.summary.is_some()))
}

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, Default)]
struct Areas {
    header: Rect,
    table: Rect,
    detail: Option<Rect>,
    log: Option<Rect>,
    footer: Rect,
}

fn layout(area: Rect, view: &View, model: &Model) -> Areas {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(header_height(model)),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let wide = area.width >= WIDE;
    let bottom_height = if view.show_detail {
        if wide {
            (body.height * 2 / 5).clamp(10, 18)
        } else {
            (body.height / 2).clamp(8, 14)
        }
    } else {
        (body.height / 3).clamp(4, 12)
    };
    let bottom_height = bottom_height.min(body.height.saturating_sub(5));
    let [table, bottom] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(bottom_height)]).areas(body);
    let (detail, log) = match (view.show_detail, wide) {
        (false, _) => (None, Some(bottom)),
        (true, true) => {
            let [d, l] =
                Layout::horizontal([Constraint::Percentage(60), Constraint::Fill(1)]).areas(bottom);
            (Some(d), Some(l))
        }
        (true, false) if view.focus == Focus::Log => (None, Some(bottom)),
        (true, false) => (Some(bottom), None),
    };
    let log = log.filter(|r| r.height > 0);
    Areas {
        header,
        table,
        detail,
        log,
        footer,
    }
}

/// How many session rows and log lines fit in `area` with this view (panes open, focus):
/// what [`View::fit`] keeps the selection and log scroll within.
pub fn pages(area: Rect, view: &View, model: &Model) -> (usize, usize) {
    let areas = layout(area, view, model);
    let inner = |r: Rect| r.height.saturating_sub(2) as usize;
    (
        inner(areas.table).saturating_sub(1),
        areas.log.map_or(0, inner),
    )
}

impl View {
    /// Brings the view up to date with the screen and the model before drawing: records how
    /// many rows fit in `area` (see [`pages`]), re-finds the selection, keeps it and the log
    /// scrolled in range, and returns the visible rows, sessions or groups (pass them to
    /// [`View::on_key_rows`]).
    ///
    /// It lives here rather than with the [`View`] because only the layout knows what fits.
    pub fn fit(&mut self, area: Rect, model: &Model, now: f64) -> Rows {
        let (page, log_page) = pages(area, self, model);
        self.page = page.max(1);
        self.log_page = log_page.max(1);
        self.log_scroll = self
            .log_scroll
            .min(model.log.len().saturating_sub(self.log_page));
        let rows = self.visible(model, now);
        match &rows {
            Rows::Sessions(keys) => self.sync(keys),
            Rows::Groups(names) => self.grouping.sync(names, self.page),
        }
        rows
    }
}

/// What is at (`x`, `y`) on a screen of `area` drawn from this model and view (after
/// [`View::fit`], as the last frame was): a mouse click or wheel turn goes there.
pub fn hit(area: Rect, model: &Model, view: &View, now: f64, x: u16, y: u16) -> Target {
    let at = ratatui::layout::Position::new(x, y);
    let areas = layout(area, view, model);
    if areas.table.contains(at) {
        if y == areas.table.y
            && let Some((by, _)) = tab_ranges(areas.table, view)
                .into_iter()
                .find(|(_, r)| r.contains(&x))
        {
            return Target::Tab(by);
        }
        let cx = Ctx::new(model, view, now);
        if view.grouping.shows_groups() {
            return groups::hit(areas.table, &cx, y);
        }
        let rows = view.visible_rows(model, now);
        return table::hit(areas.table, &cx, &rows, x, y);
    }
    if areas.log.is_some_and(|r| r.contains(at)) {
        return Target::Log;
    }
    if areas.detail.is_some_and(|r| r.contains(at)) {
        return Target::Detail;
    }
    Target::Nothing
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, model: &Model, view: &View, now: f64) {
    let rows = if view.grouping.shows_groups() {
        Vec::new()
    } else {
        view.visible_rows(model, now)
    };
    draw_rows(frame, model, view, &rows, now);
}

/// Draws the whole screen with the visible rows already known (what [`View::fit`] returned
/// for this frame: filtering and sorting thousands of sessions once a frame is enough).
pub fn draw_rows(frame: &mut Frame, model: &Model, view: &View, rows: &[Key], now: f64) {
    let cx = Ctx::new(model, view, now);
    let areas = layout(frame.area(), view, model);
    header::draw(frame, areas.header, &cx);
    if view.grouping.shows_groups() {
        groups::draw(frame, areas.table, &cx);
    } else {
        table::draw(frame, areas.table, &cx, rows);
    }
    if let Some(area) = areas.detail {
        let selected = view
            .selected_index(rows)
            .and_then(|i| model.sessions.get(&rows[i]));
        detail::draw(frame, area, &cx, selected);
    }
    if let Some(area) = areas.log {
        log::draw(frame, area, &cx);
    }
    let log_in_sight = areas.log.is_some() && view.log_scroll == 0;
    help::footer(frame, areas.footer, &cx, !log_in_sight);
    match view.mode {
        Mode::Confirm(id) => help::confirm_kill(frame, &cx, id),
        Mode::Help => help::overlay(frame, &cx),
        Mode::Normal | Mode::Filter => {}
    }
}

/// The styles of the screen; without colour (`NO_COLOR`) only modifiers are used.
#[derive(Debug, Clone, Copy)]
struct Theme {
    color: bool,
}

impl Theme {
    fn new(color: bool) -> Self {
        Theme { color }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// Titles, the product name and keys in hints.
    fn accent(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// Labels and other secondary text.
    fn label(self) -> Style {
        self.fg(Color::Gray)
    }

    /// Sessions that left, timestamps.
    fn dim(self) -> Style {
        self.fg(Color::DarkGray).add_modifier(Modifier::DIM)
    }

    /// The selected row: reversed, and dimmed too when what it shows is gone (a session that
    /// left, a group whose sessions all left).
    fn selected(self, gone: bool) -> Style {
        let base = if gone { self.dim() } else { Style::new() };
        base.add_modifier(Modifier::REVERSED)
    }

    /// Good news (connected, joins).
    fn good(self) -> Style {
        self.fg(Color::Green)
    }

    /// Warnings (connecting, paused).
    fn warn(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// Errors.
    fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// A rate, by its share of the total: green, then yellow from a fifth, red from a half.
    fn share(self, share: f64) -> Style {
        match share {
            s if s >= 0.5 => self.fg(Color::Red),
            s if s >= 0.2 => self.fg(Color::Yellow),
            s if s > 0.0 => self.fg(Color::Green),
            _ => self.label(),
        }
    }

    /// A pane's border block; the focused pane's border and title stand out.
    fn pane<'a>(self, title: Line<'a>, focused: bool) -> Block<'a> {
        let border = if focused {
            self.fg(Color::Cyan)
        } else {
            self.fg(Color::DarkGray)
        };
        let title = if focused {
            title.patch_style(Modifier::BOLD)
        } else {
            title
        };
        Block::bordered()
            .border_type(BorderType::Plain)
            .border_style(border)
            .title_top(title)
    }
}

/// Clears `popup` and a column either side of it (within `area`), so an overlay stands apart.
fn clear_around(frame: &mut Frame, area: Rect, popup: Rect) {
    let x = popup.x.saturating_sub(1).max(area.x);
    let right = (popup.right() + 1).min(area.right());
    frame.render_widget(
        ratatui::widgets::Clear,
        Rect {
            x,
            width: right - x,
            ..popup
        },
    );
}

/// A rectangle of at most `width` × `height` centred in `area`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// Folds columns away, lowest `rank` first, until their narrowest widths (`min`, one space
/// between columns) fit in `avail` or only columns that never fold (`rank` `None`) are left;
/// returns the columns kept and the room they leave.
fn fold_columns<C: Copy + PartialEq>(
    mut cols: Vec<C>,
    avail: usize,
    min: impl Fn(C) -> usize,
    rank: impl Fn(C) -> Option<u8>,
) -> (Vec<C>, usize) {
    let need = |cols: &[C]| {
        cols.iter()
            .map(|&c| min(c) + 1)
            .sum::<usize>()
            .saturating_sub(1)
    };
    while need(&cols) > avail {
        let Some(fold) = cols
            .iter()
            .copied()
            .filter(|&c| rank(c).is_some())
            .min_by_key(|&c| rank(c))
        else {
            break;
        };
        cols.retain(|&c| c != fold);
    }
    let spare = avail.saturating_sub(need(&cols));
    (cols, spare)
}

/// How wide `s` is on the screen.
fn width(s: &str) -> usize {
    // Thousands of cells are measured per frame: ASCII text (ids, names, peers) is as wide as
    // it is long; only the rest needs the Unicode tables.
    if s.is_ascii() {
        s.len()
    } else {
        ratatui::text::Span::raw(s).width()
    }
}
