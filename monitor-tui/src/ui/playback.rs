//! Header line one during a replay: `▶ REPLAY incident.ndjson  03:12:44  2×  ━━━━──── 45%`,
//! then the recorded routers' names and realms, in place of the connection state.

use ratatui::text::{Line, Span};

use super::{Ctx, width};
use crate::format;
use crate::replay::{ReplayStatus, speed_label};

/// The width of the progress bar.
const BAR: usize = 16;

/// The replay line, as much of it as fits in `avail` columns: the routers go first, then the
/// bar, then the file name is cut.
pub(super) fn line<'a>(cx: &Ctx, status: &ReplayStatus, avail: usize) -> Line<'a> {
    for (bar, routers) in [(true, true), (true, false), (false, false)] {
        let line = replay_line(cx, status, bar, routers, usize::MAX);
        if line.width() <= avail {
            return line;
        }
    }
    replay_line(cx, status, false, false, avail)
}

fn replay_line<'a>(
    cx: &Ctx,
    status: &ReplayStatus,
    bar: bool,
    routers: bool,
    avail: usize,
) -> Line<'a> {
    let theme = cx.theme;
    let (symbol, style) = if status.paused {
        ("⏸", theme.warn())
    } else {
        ("▶", theme.good())
    };
    let time = format::clock(status.position);
    let speed = speed_label(status.speed);
    let done = if status.at_end {
        "end".to_owned()
    } else {
        format!("{:.0}%", status.progress * 100.0)
    };
    let fixed = 1 + width(symbol) + 9 + 2 + width(&time) + 2 + width(&speed) + 2 + width(&done);
    let name = format::truncate(&status.name, avail.saturating_sub(fixed).max(4));
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(format!("{symbol} REPLAY "), style.bold()),
        Span::styled(name, theme.accent()),
        Span::raw("  "),
        Span::styled(time, theme.accent()),
        Span::raw("  "),
        Span::styled(speed, theme.accent()),
        Span::raw("  "),
    ];
    if bar {
        let filled = ((status.progress.clamp(0.0, 1.0) * BAR as f64).round() as usize).min(BAR);
        spans.push(Span::styled("━".repeat(filled), style));
        spans.push(Span::styled("─".repeat(BAR - filled), theme.label()));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(done, theme.label()));
    if routers {
        for r in &cx.model.routers {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(r.name.clone(), theme.accent()));
            spans.push(Span::styled(format!(" {}", r.realm), theme.label()));
        }
    }
    Line::from(spans)
}
