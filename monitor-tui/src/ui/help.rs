//! The key hints: the footer, the help overlay and the kill confirmation.

use super::{Ctx, Theme, centered, clear_around};
use crate::format;
use crate::model::{Key, LogKind};
use crate::view::{Focus, Mode, View};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};

/// Every key, as the help overlay lists it.
const KEYS: [(&str, &str); 14] = [
    ("↑ ↓  k j", "select a session (or scroll the events)"),
    ("PgUp PgDn", "a page up / down"),
    ("Home End", "first / last"),
    (
        "Enter",
        "show / hide the detail pane; on a group: its sessions",
    ),
    ("g", "group: sessions, authid, role, transport, host, node"),
    ("Tab  l", "switch focus: sessions / events"),
    ("s  S", "sort by the next column / reverse the sort"),
    ("/", "filter: type, Enter keeps, Esc clears"),
    ("x", "kill the selected session (asks first)"),
    ("p", "pause / resume the display"),
    ("+ -", "chart window: 1 / 5 / 15 minutes"),
    ("?", "show / hide this help"),
    ("Esc", "close filter, detail, focus, group; then quit"),
    ("q  Ctrl-C", "quit"),
];

/// The keys of a replay, listed after the others while replaying (`p` and `x` act on the
/// playback there).
const REPLAY_KEYS: [(&str, &str); 5] = [
    ("p  Space", "pause / resume playback"),
    ("← →", "seek back / forward 10 s"),
    ("[ ]  ⇧← ⇧→", "seek back / forward 60 s"),
    ("< >", "half / double speed (0.25× … 64×)"),
    ("x", "(a replay cannot kill sessions)"),
];

/// The width of the key column in the overlay.
const KEY_WIDTH: usize = 11;

/// Draws the help overlay in the middle of the screen.
pub(super) fn overlay(frame: &mut Frame, cx: &Ctx) {
    let theme = cx.theme;
    let key = |(k, what): &(&str, &'static str)| {
        Line::from(vec![
            Span::styled(format!(" {k:<KEY_WIDTH$} "), theme.accent()),
            Span::styled(*what, theme.label()),
        ])
    };
    let replaying = cx.view.replay.is_some();
    // In a replay `p` and `x` are replay keys, listed with them.
    let live_only = |(k, _): &&(&str, &str)| !(replaying && matches!(*k, "p" | "x"));
    let mut lines: Vec<Line> = KEYS.iter().filter(live_only).map(key).collect();
    if replaying {
        lines.push(Line::styled(" replay", theme.accent()));
        lines.extend(REPLAY_KEYS.iter().map(key));
    }
    lines.push(Line::default());
    // What it matches, kept as short as the mouse line so the overlay fits 80 columns.
    let filter = "id, router, node, authid, role, transport, serializer, peer";
    lines.push(note("filter", filter, theme));
    let mouse = "click a row, tab, column title (sorts) or pane; wheel scrolls";
    lines.push(note("mouse", mouse, theme));
    lines.push(legend(theme));
    let kept = format!(
        "sessions that left (kept {})",
        format::duration(cx.model.retention)
    );
    lines.push(note("dim rows", &kept, theme));
    let closes = Line::styled(" any key closes ", theme.label()).right_aligned();
    let block = theme
        .pane(Line::styled(" Keys ", theme.accent()), true)
        .title_bottom(closes);
    popup(frame, lines, block);
}

/// A line of the notes under the keys: a label in the key column, then text.
fn note<'a>(label: &str, text: &str, theme: Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!(" {label:<KEY_WIDTH$} "), theme.label().bold()),
        Span::styled(text.to_owned(), theme.label()),
    ])
}

/// The colours of the rates, each named in its own colour.
fn legend<'a>(theme: Theme) -> Line<'a> {
    let parts = [
        ("green", Color::Green, " < 20% · "),
        ("yellow", Color::Yellow, " < 50% · "),
        ("red", Color::Red, " ≥ 50% of all traffic"),
    ];
    let mut spans = vec![Span::styled(
        format!(" {:<KEY_WIDTH$} ", "rates"),
        theme.label().bold(),
    )];
    for (name, colour, text) in parts {
        spans.push(Span::styled(name, theme.fg(colour)));
        spans.push(Span::styled(text, theme.label()));
    }
    Line::from(spans)
}

/// Draws the confirmation of a kill of session `id` in the middle of the screen.
pub(super) fn confirm_kill(frame: &mut Frame, cx: &Ctx, key: Key) {
    let theme = cx.theme;
    let id = key.id;
    let who = cx.model.sessions.get(&key).map_or_else(String::new, |r| {
        let peer = if r.peer.is_empty() {
            String::new()
        } else {
            format!(" · {}", r.peer)
        };
        format!("{} · {}{peer}", r.authid, r.authrole)
    });
    let lines = vec![
        Line::from(vec![
            Span::styled("Kill session ", theme.label()),
            Span::styled(id.to_string(), theme.bad()),
        ]),
        Line::styled(who, theme.label()),
        Line::default(),
        Line::from(vec![
            Span::styled("y", theme.accent()),
            Span::styled(" kill it (wamp.session.kill)   ", theme.label()),
            Span::styled("any other key", theme.accent()),
            Span::styled(" keep it", theme.label()),
        ]),
    ];
    let block = theme
        .pane(Line::styled(" Kill? ", theme.bad()), true)
        .padding(Padding::horizontal(1));
    popup(frame, lines, block);
}

/// Draws `lines` in `block` in the middle of the screen on a cleared patch, four columns wider
/// than the widest line (the borders and a column either side) and just as high as they need.
fn popup(frame: &mut Frame, lines: Vec<Line>, block: Block) {
    let width = lines.iter().map(Line::width).max().unwrap_or(0) + 4;
    let area = frame.area();
    let popup = centered(area, width as u16, lines.len() as u16 + 2);
    clear_around(frame, area, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// A key hint: its keys, what they do, and how long it stays as the footer narrows (highest last).
type Hint = (&'static str, &'static str, u8);
/// Hints of this rank always stay.
const KEEP: u8 = 9;

/// The hints for what the keys do now (typing a filter, confirming, reading the help, …).
fn hints(cx: &Ctx) -> Vec<Hint> {
    match cx.view.mode {
        Mode::Confirm(_) => vec![("y", "kill", KEEP), ("any other key", "cancel", KEEP)],
        Mode::Filter => vec![
            ("Enter", "keep", KEEP),
            ("Esc", "clear", KEEP),
            ("Backspace", "delete", 5),
        ],
        Mode::Help => vec![("? Esc", "close help", KEEP), ("q", "quit", KEEP)],
        Mode::Normal => normal_hints(cx.view),
    }
}

/// The hints when nothing is open: what moves (the selection or the log) and pause or resume.
fn normal_hints(view: &View) -> Vec<Hint> {
    let moves = if view.focus == Focus::Log {
        "scroll"
    } else {
        "move"
    };
    let pause = if let Some(status) = &view.replay {
        let what = if status.paused { "play" } else { "pause" };
        ("p", what, KEEP)
    } else if view.paused {
        ("p", "resume", KEEP)
    } else {
        ("p", "pause", 2)
    };
    let groups = view.grouping.shows_groups();
    let enter = if groups { "open" } else { "detail" };
    let mut hints = vec![
        ("↑↓/jk", moves, 6),
        ("Enter", enter, 7),
        ("g", "group", 4),
        ("s/S", "sort", 5),
        ("/", "filter", 4),
        ("Tab", "focus", 1),
        ("+/-", "window", 0),
        ("x", "kill", 3),
        pause,
        ("?", "help", KEEP),
        ("q", "quit", 8),
    ];
    if view.replay.is_some() {
        // A replay kills nothing; it seeks instead.
        hints.retain(|h| h.0 != "x");
        let at = hints.len().saturating_sub(2);
        hints.insert(at, ("←/→", "seek", 3));
    }
    if groups {
        // Groups cannot be killed, only their sessions.
        hints.retain(|h| h.0 != "x");
    }
    if view.grouping.open.is_some() && view.grouping.by.is_grouped() {
        hints.insert(0, ("Esc", "groups", 5));
    }
    hints
}

/// Draws the footer: the filter being typed, the key hints that fit, and, when `flash` (the
/// event log is not in sight), an error of the last seconds such as a refused kill.
pub(super) fn footer(frame: &mut Frame, area: Rect, cx: &Ctx, flash: bool) {
    let theme = cx.theme;
    let error = recent_error(cx, area.width as usize / 2)
        .filter(|_| flash)
        .map(|e| Line::styled(format!("✗ {e} "), theme.bad()));
    let error_width = error.as_ref().map_or(0, Line::width);
    let mut prefix = vec![Span::raw(" ")];
    if cx.view.mode == Mode::Filter {
        prefix.push(Span::styled("filter ", theme.label()));
        prefix.push(Span::styled(format!("{}▏  ", cx.view.filter), theme.warn()));
    }
    let avail = (area.width as usize).saturating_sub(error_width + 1);
    frame.render_widget(
        Paragraph::new(hint_line(prefix, hints(cx), avail, theme)),
        area,
    );
    if let Some(error) = error {
        let left = area.width.saturating_sub(error_width as u16);
        let right = Rect {
            x: area.x + left,
            width: area.width - left,
            ..area
        };
        frame.render_widget(Paragraph::new(error), right);
    }
}

/// The prefix and the hints, the least important going first until the line fits in `avail`.
fn hint_line<'a>(
    prefix: Vec<Span<'a>>,
    mut hints: Vec<Hint>,
    avail: usize,
    theme: Theme,
) -> Line<'a> {
    loop {
        let mut spans = prefix.clone();
        for (i, (keys, what, _)) in hints.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw("  "));
            }
            spans.push(Span::styled(*keys, theme.accent()));
            spans.push(Span::styled(format!(" {what}"), theme.label()));
        }
        let line = Line::from(spans);
        let least = hints
            .iter()
            .enumerate()
            .filter(|(_, h)| h.2 < KEEP)
            .min_by_key(|(_, h)| h.2);
        match least {
            Some((i, _)) if line.width() > avail => hints.remove(i),
            _ => return line,
        };
    }
}

/// The text of an error logged in the last ten seconds (a refused kill, a lost connection),
/// at most `width` wide.
fn recent_error(cx: &Ctx, width: usize) -> Option<String> {
    let mut recent = cx
        .model
        .log
        .iter()
        .rev()
        .take_while(|e| cx.now - e.at < 10.0);
    let error = recent.find(|e| e.kind == LogKind::Error)?;
    let text = error.text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(format::truncate(&text, width.saturating_sub(3)))
}
