//! The detail pane: one session's join details, its per-cycle sparklines and its last cycles.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, RenderDirection, Row, Sparkline, Table};
use wamp::{Dict, Value};

use super::{Ctx, Theme};
use crate::format;
use crate::model::{Cycle, SessionRow};

/// The width of the sparkline labels and of the newest values beside them.
const LABEL: u16 = 12;
const VALUE: u16 = 8;
/// The cycle table's column widths, and its width with the spacing.
const CYCLE_COLUMNS: [u16; 6] = [6, 5, 7, 5, 6, 5];
const CYCLES: u16 = 6 + 5 + 7 + 5 + 6 + 5 + 5;
/// The narrowest the sparklines get before the cycle table gives way.
const MIN_BARS: u16 = 12;

/// Draws the detail pane of `row` (or a hint when nothing is selected) into `area`.
pub(super) fn draw(frame: &mut Frame, area: Rect, cx: &Ctx, row: Option<&SessionRow>) {
    let theme = cx.theme;
    let Some(row) = row else {
        let block = theme.pane(Line::styled(" Detail ", theme.accent()), false);
        let hint = Line::styled("no session selected", theme.label());
        frame.render_widget(Paragraph::new(hint).block(block), area);
        return;
    };
    let block = theme.pane(title(row, cx), false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // The sparklines need four lines; the details take the rest, and a blank line if there is room.
    let mut info = info(row, cx, inner.width as usize);
    info.truncate(inner.height.saturating_sub(4).max(1) as usize);
    let gap = u16::from(inner.height >= info.len() as u16 + 5);
    let top = Constraint::Length(info.len() as u16 + gap);
    let [top, body] = Layout::vertical([top, Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(info), top);
    if row.history.is_empty() {
        let hint = "no stats events yet (statistics may be off for this realm)";
        frame.render_widget(Paragraph::new(Line::styled(hint, theme.label())), body);
    } else if body.width >= CYCLES + 2 + LABEL + VALUE + MIN_BARS {
        let widths = [
            Constraint::Fill(1),
            Constraint::Length(2),
            Constraint::Length(CYCLES),
        ];
        let [sparks, _, cycles] = Layout::horizontal(widths).areas(body);
        sparklines(frame, sparks, row, theme);
        cycle_table(frame, cycles, row, cx);
    } else {
        sparklines(frame, body, row, theme);
    }
}

/// ` Detail ▸ 6272281592326793 (left 12s ago) `
fn title<'a>(row: &SessionRow, cx: &Ctx) -> Line<'a> {
    let theme = cx.theme;
    let mut spans = vec![
        Span::styled(" Detail ", theme.accent()),
        Span::styled("▸ ", theme.label()),
        Span::styled(format!("{} ", row.id), theme.accent()),
    ];
    if let Some(left) = row.left_at {
        let ago = format!("(left {} ago) ", format::duration(cx.now - left));
        spans.push(Span::styled(ago, theme.dim()));
    }
    Line::from(spans)
}

/// The join details, then the totals, then the authextra, each flowed into lines of `w`.
fn info<'a>(row: &SessionRow, cx: &Ctx, w: usize) -> Vec<Line<'a>> {
    let d = &row.details;
    let method = match (text(d, "authmethod"), text(d, "authprovider")) {
        (m, p) if p.is_empty() => m,
        (m, p) => format!("{m} ({p})"),
    };
    let ago = format::duration(cx.now - row.joined_at);
    let identity = [
        ("authid", row.authid.clone()),
        ("role", row.authrole.clone()),
        ("method", method),
        ("joined", format!("{} ({ago} ago)", cx.time(row.joined_at))),
        ("peer", row.peer.clone()),
        (
            "transport",
            [row.transport.as_str(), &row.serializer].join("/"),
        ),
    ];
    let mut lines = flow(&identity, cx.theme, w);
    lines.extend(flow(&totals(row), cx.theme, w));
    let health = health(row, cx);
    if !health.is_empty() {
        lines.extend(flow(&health, cx.theme, w));
    }
    let extra = d.get("authextra").and_then(Value::as_dict).map(authextra);
    if let Some(extra) = extra.filter(|e| !e.is_empty()) {
        let extra = format::truncate(&extra, w.saturating_sub(10));
        lines.extend(flow(&[("authextra", extra)], cx.theme, w));
    }
    lines
}

/// A string or integer from the join details (empty when absent).
fn text(d: &Dict, key: &str) -> String {
    d.get(key).and_then(scalar).unwrap_or_default()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

/// `k=v k=v` of the authextra's scalar values.
fn authextra(d: &Dict) -> String {
    let kv: Vec<String> = d
        .iter()
        .filter_map(|(k, v)| scalar(v).map(|v| format!("{k}={v}")))
        .collect();
    kv.join(" ")
}

/// `label value  label value …`, wrapped before a pair that would not fit in `w`.
fn flow<'a>(pairs: &[(&str, String)], theme: Theme, w: usize) -> Vec<Line<'a>> {
    let mut lines: Vec<Line> = Vec::new();
    let mut line = Line::default();
    for (label, value) in pairs {
        let value = if value.is_empty() {
            "–"
        } else {
            value.as_str()
        };
        let pair = [
            Span::styled(format!("{label} "), theme.label()),
            Span::styled(value.to_owned(), theme.accent()),
        ];
        let pair_width = pair.iter().map(Span::width).sum::<usize>();
        if !line.spans.is_empty() && line.width() + 2 + pair_width > w {
            lines.push(std::mem::take(&mut line));
        } else if !line.spans.is_empty() {
            line.spans.push(Span::raw("  "));
        }
        line.spans.extend(pair);
    }
    if !line.spans.is_empty() {
        lines.push(line);
    }
    lines
}

/// Totals since the session joined, and how its bytes split between rx and tx when known.
fn totals(row: &SessionRow) -> Vec<(&'static str, String)> {
    let t = &row.totals;
    let mut pairs = vec![
        ("msgs", format::count(t.messages)),
        ("bytes", format::bytes(t.bytes)),
        ("rated", format::count(t.rated_messages)),
        ("cycle", row.cycle.to_string()),
    ];
    if let (Some(rx), Some(tx)) = (t.bytes_rx, t.bytes_tx) {
        let rx_share = format::percent(rx, rx + tx);
        let tx_share = if rx + tx == 0 { 0 } else { 100 - rx_share };
        pairs.push(("rx/tx", format!("{rx_share}% / {tx_share}%")));
    }
    pairs
}

/// The router's slow-consumer report and the drops, when there are any: the queue when the
/// report came, the events dropped, the policy and whether it is dropping now.
fn health(row: &SessionRow, cx: &Ctx) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if let Some(slow) = &row.slow {
        let ago = format::duration(cx.now - slow.at);
        let state = match (slow.policy.as_str(), slow.dropping) {
            ("close", _) => format!("closed as a slow consumer ({ago} ago)"),
            (_, true) => format!("dropping events (since {ago})"),
            (_, false) => format!("recovered ({ago} ago)"),
        };
        pairs.push(("slow", state));
        pairs.push(("queue", format::bytes(slow.queued)));
        pairs.push(("policy", slow.policy.clone()));
    }
    if let Some(n) = row.dropped().filter(|&n| n > 0 || row.slow.is_some()) {
        pairs.push(("dropped", format::count(n)));
    }
    pairs
}

/// One sparkline: its label, how to read a cycle, how to show the newest value, its colour.
struct Metric {
    label: &'static str,
    value: fn(&Cycle) -> f64,
    show: fn(f64) -> String,
    color: Color,
}

const METRICS: [Metric; 4] = [
    Metric {
        label: "bytes/cycle",
        value: |c| c.totals.bytes as f64,
        show: format::byte_rate,
        color: Color::Cyan,
    },
    Metric {
        label: "msgs/cycle",
        value: |c| c.totals.messages as f64,
        show: format::rate,
        color: Color::Green,
    },
    Metric {
        label: "rated/cycle",
        value: |c| c.totals.rated_messages as f64,
        show: format::rate,
        color: Color::Yellow,
    },
    Metric {
        label: "cadence",
        value: |c| c.duration,
        show: format::duration,
        color: Color::Magenta,
    },
];

/// The four metrics stacked, each as tall as the room allows (at most three lines), with a
/// blank line between them when there is room.
fn sparklines(frame: &mut Frame, area: Rect, row: &SessionRow, theme: Theme) {
    let n = METRICS.len() as u16;
    let band = ((area.height + 1) / n).saturating_sub(1).clamp(1, 3);
    let gap = u16::from(band * n + n - 1 <= area.height);
    for (i, metric) in METRICS.iter().enumerate() {
        let y = area.y + i as u16 * (band + gap);
        if y + band > area.bottom() {
            break;
        }
        let band = Rect {
            y,
            height: band,
            ..area
        };
        sparkline(frame, band, row, metric, theme);
    }
}

/// The label on the band's bottom line, the bars (newest at the right), the newest value.
fn sparkline(frame: &mut Frame, area: Rect, row: &SessionRow, metric: &Metric, theme: Theme) {
    let widths = [
        Constraint::Length(LABEL),
        Constraint::Fill(1),
        Constraint::Length(VALUE),
    ];
    let [label, bars, value] = Layout::horizontal(widths).areas(area);
    let bottom = |r: Rect| Rect {
        y: r.bottom().saturating_sub(1),
        height: 1,
        ..r
    };
    let label_line = Line::styled(metric.label, theme.label());
    frame.render_widget(Paragraph::new(label_line), bottom(label));
    // Values in thousandths, so that sub-unit values (cadence in seconds) keep their shape.
    let data: Vec<u64> = row
        .history
        .iter()
        .rev()
        .map(|c| ((metric.value)(c) * 1000.0) as u64)
        .collect();
    let spark = Sparkline::default()
        .data(data)
        .direction(RenderDirection::RightToLeft)
        .style(theme.fg(metric.color));
    frame.render_widget(spark, bars);
    let newest = row.history.last().map_or(0.0, metric.value);
    let newest = Line::styled((metric.show)(newest), theme.accent()).right_aligned();
    frame.render_widget(Paragraph::new(newest), bottom(value));
}

/// The last cycles, newest first, as many as fit.
fn cycle_table(frame: &mut Frame, area: Rect, row: &SessionRow, cx: &Ctx) {
    let right = |s: String| Cell::new(Line::raw(s).right_aligned());
    let header = ["CYCLE", "MSGS", "BYTES", "RATED", "LENGTH", "AGO"]
        .map(|h| Cell::new(Line::styled(h, cx.theme.label()).right_aligned()));
    let fit = area.height.saturating_sub(1) as usize;
    let rows = row.history.iter().rev().take(fit).map(|c| {
        Row::new([
            right(c.cycle.to_string()),
            right(format::count(c.totals.messages)),
            right(format::bytes(c.totals.bytes)),
            right(format::count(c.totals.rated_messages)),
            right(format::duration(c.duration)),
            right(format::duration(cx.now - c.at)),
        ])
    });
    let header = Row::new(header).style(Style::new().bold());
    let widths = CYCLE_COLUMNS.map(Constraint::Length);
    let table = Table::new(rows, widths).header(header).column_spacing(1);
    frame.render_widget(table, area);
}
