//! The event log pane: joins, leaves, kills and connection changes, newest on top.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Ctx, Theme};
use crate::model::{LogEntry, LogKind};
use crate::view::Focus;

/// Draws the log into `area`, scrolled back by the view's log scroll.
pub(super) fn draw(frame: &mut Frame, area: Rect, cx: &Ctx) {
    let theme = cx.theme;
    let page = area.height.saturating_sub(2) as usize;
    let len = cx.model.log.len();
    let skip = cx.view.log_scroll.min(len.saturating_sub(page));
    let title = Line::styled(" Events ", theme.accent());
    let mut block = theme.pane(title, cx.view.focus == Focus::Log);
    if len > page {
        let last = (skip + page).min(len);
        let position = format!(" {}–{last} of {len} ", skip + 1);
        block = block.title_top(Line::styled(position, theme.label()).right_aligned());
    }
    let entries = cx.model.log.iter().rev().skip(skip).take(page);
    let mut lines: Vec<Line> = entries.map(|e| line(e, cx)).collect();
    if lines.is_empty() {
        lines.push(Line::styled("nothing happened yet", theme.label()));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `14:02:11 join   8772193469365952 rs/msgpack tcp4:127.0.0.1:52702`
fn line<'a>(e: &LogEntry, cx: &Ctx) -> Line<'a> {
    Line::from(vec![
        Span::styled(cx.time(e.at), cx.theme.dim()),
        Span::raw(" "),
        Span::styled(e.text.clone(), style(&e.kind, cx.theme)),
    ])
}

fn style(kind: &LogKind, theme: Theme) -> Style {
    match kind {
        LogKind::Join => theme.good(),
        LogKind::Leave => theme.label(),
        LogKind::Kill => theme.fg(Color::Magenta),
        LogKind::Connection => theme.fg(Color::Cyan),
        LogKind::Error => theme.bad(),
        LogKind::Slow => theme.warn(),
    }
}
