//! The detail pane: one session's join details, its traffic per second over the view's window
//! as charts (with the current value, min and max beside each) and its last cycles.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use wamp::{Dict, Value};

use super::{Ctx, Theme};
use crate::format;
use crate::model::SessionRow;
use crate::series::{Channel, Series, Window, resample, summarize};

/// The width of the chart labels (`bytes/s rx` and a space).
const LABEL: u16 = 11;
/// The cycle table's column widths, and its width with the spacing.
const CYCLE_COLUMNS: [u16; 6] = [6, 5, 7, 5, 6, 5];
const CYCLES: u16 = 6 + 5 + 7 + 5 + 6 + 5 + 5;
/// The narrowest the charts get before the cycle table, then the min and max, give way.
const MIN_BARS: u16 = 24;

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
    let plots = plots(row, cx);
    let n = plots.len() as u16;
    // The charts need a line each; the details take the rest, and a blank line if there is
    // room.
    let mut info = info(row, cx, inner.width as usize);
    info.truncate(inner.height.saturating_sub(n).max(1) as usize);
    let gap = u16::from(inner.height > info.len() as u16 + n);
    let top = Constraint::Length(info.len() as u16 + gap);
    let [top, body] = Layout::vertical([top, Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(info), top);
    if row.history.is_empty() {
        let hint = "no stats events yet (statistics may be off for this realm)";
        frame.render_widget(Paragraph::new(Line::styled(hint, theme.label())), body);
        return;
    }
    let (stats, table) = body_layout(&plots, body.width);
    if table {
        let widths = [
            Constraint::Fill(1),
            Constraint::Length(2),
            Constraint::Length(CYCLES),
        ];
        let [charts, _, cycles] = Layout::horizontal(widths).areas(body);
        draw_charts(frame, charts, &plots, stats, theme);
        cycle_table(frame, cycles, row, cx);
    } else {
        draw_charts(frame, body, &plots, stats, theme);
    }
}

/// ` Detail ▸ 6272281592326793 · last 5 min (5-s steps) (left 12s ago) `
fn title<'a>(row: &SessionRow, cx: &Ctx) -> Line<'a> {
    let theme = cx.theme;
    let mut spans = vec![
        Span::styled(" Detail ", theme.accent()),
        Span::styled("▸ ", theme.label()),
        Span::styled(format!("{} ", row.id), theme.accent()),
        Span::styled(format!("· {} ", window(cx.view.window)), theme.label()),
    ];
    if let Some(left) = row.left_at {
        let ago = format!("(left {} ago) ", format::duration(cx.now - left));
        spans.push(Span::styled(ago, theme.dim()));
    }
    Line::from(spans)
}

/// `last 5 min (5-s steps)`
fn window(w: Window) -> String {
    format!("last {} min ({}-s steps)", w.span() / 60.0, w.resolution())
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

/// One chart: its label, the channel it plots, how its values read, its colour.
struct Chart {
    label: &'static str,
    channel: Channel,
    show: fn(f64) -> String,
    color: Color,
}

/// The charts of a session: messages/s and bytes/s, received and sent apart when its router
/// says (never a made-up split: totals otherwise), then stats cycles/s.
fn charts(series: &Series) -> Vec<Chart> {
    let chart = |label, channel, show: fn(f64) -> String, color| Chart {
        label,
        channel,
        show,
        color,
    };
    let mut charts = Vec::with_capacity(5);
    if series.has_channel(Channel::MsgsRx) {
        charts.push(chart(
            "msgs/s rx",
            Channel::MsgsRx,
            format::rate,
            Color::Green,
        ));
        charts.push(chart(
            "msgs/s tx",
            Channel::MsgsTx,
            format::rate,
            Color::Green,
        ));
    } else {
        charts.push(chart("msgs/s", Channel::Msgs, format::rate, Color::Green));
    }
    if series.has_channel(Channel::BytesRx) {
        let show = format::byte_rate;
        charts.push(chart("bytes/s rx", Channel::BytesRx, show, Color::Cyan));
        charts.push(chart("bytes/s tx", Channel::BytesTx, show, Color::Cyan));
    } else {
        charts.push(chart(
            "bytes/s",
            Channel::Bytes,
            format::byte_rate,
            Color::Cyan,
        ));
    }
    charts.push(chart(
        "cycles/s",
        Channel::Cycles,
        format::rate,
        Color::Magenta,
    ));
    charts
}

/// A chart with its data: the window's per-second rates and its current value, min and max
/// as the screen shows them.
struct Plot {
    chart: Chart,
    rates: Vec<f64>,
    now: String,
    min: String,
    max: String,
}

impl Plot {
    fn new(chart: Chart, row: &SessionRow, cx: &Ctx) -> Self {
        let window = cx.view.window;
        let rates = row.series.rates(window, chart.channel, cx.now);
        let summary = summarize(&rates, window);
        Plot {
            now: (chart.show)(summary.current),
            min: (chart.show)(summary.min),
            max: (chart.show)(summary.max),
            chart,
            rates,
        }
    }
}

/// The session's plots over the view's window.
fn plots(row: &SessionRow, cx: &Ctx) -> Vec<Plot> {
    charts(&row.series)
        .into_iter()
        .map(|c| Plot::new(c, row, cx))
        .collect()
}

/// What the charts show beside them: the current value, min and max, or (when narrow) only
/// the current value; each column as wide as its widest value, so they line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stats {
    full: bool,
    now: usize,
    min: usize,
    max: usize,
}

impl Stats {
    fn of(plots: &[Plot], full: bool) -> Self {
        let widest =
            |f: fn(&Plot) -> &String| plots.iter().map(|p| super::width(f(p))).max().unwrap_or(0);
        Stats {
            full,
            now: widest(|p| &p.now),
            min: widest(|p| &p.min),
            max: widest(|p| &p.max),
        }
    }

    /// Its width on screen, with the space before it.
    fn width(self) -> u16 {
        let w = if self.full {
            NOW.len() + self.now + MIN.len() + self.min + MAX.len() + self.max
        } else {
            self.now
        };
        (w + 1) as u16
    }

    /// `now 2.1k  min 0  max 3.4k`, or `2.1k`.
    fn line<'a>(self, plot: &Plot, theme: Theme) -> Line<'a> {
        let value = |v: &str, w: usize| Span::styled(format!("{v:>w$}"), theme.accent());
        if !self.full {
            return Line::from(value(&plot.now, self.now)).right_aligned();
        }
        Line::from(vec![
            Span::styled(NOW, theme.label()),
            value(&plot.now, self.now),
            Span::styled(MIN, theme.label()),
            value(&plot.min, self.min),
            Span::styled(MAX, theme.label()),
            value(&plot.max, self.max),
        ])
        .right_aligned()
    }
}

const NOW: &str = "now ";
const MIN: &str = "  min ";
const MAX: &str = "  max ";

/// How the body is laid out: the stats beside the charts, and whether the cycle table fits.
/// The cycle table gives way first, then the min and max, so the charts keep [`MIN_BARS`].
fn body_layout(plots: &[Plot], width: u16) -> (Stats, bool) {
    let full = Stats::of(plots, true);
    let charts = LABEL + full.width() + MIN_BARS;
    if width >= charts + 2 + CYCLES {
        (full, true)
    } else if width >= charts {
        (full, false)
    } else {
        (Stats::of(plots, false), false)
    }
}

/// The charts stacked, each as tall as the room allows (at most three lines), with a blank
/// line between them when there is room left.
fn draw_charts(frame: &mut Frame, area: Rect, plots: &[Plot], stats: Stats, theme: Theme) {
    let n = plots.len().max(1) as u16;
    let band = (area.height / n).clamp(1, 3);
    let gap = u16::from(band * n + n - 1 <= area.height);
    for (i, plot) in plots.iter().enumerate() {
        let y = area.y + i as u16 * (band + gap);
        if y + band > area.bottom() {
            break;
        }
        let band = Rect {
            y,
            height: band,
            ..area
        };
        draw_chart(frame, band, plot, stats, theme);
    }
}

/// Eighths of a cell, from one to eight.
const EIGHTHS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `values` as bars `height` lines tall, top line first, scaled to their peak; like
/// [`format::spark`], any value above zero shows at least an eighth, so quiet spells are not
/// mistaken for silence.
fn bar_rows(values: &[f64], height: u16) -> Vec<String> {
    let height = usize::from(height);
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    let levels: Vec<usize> = values
        .iter()
        .map(|&v| {
            if v > 0.0 && max > 0.0 && v.is_finite() {
                ((v / max) * (8 * height) as f64).ceil().max(1.0) as usize
            } else {
                0
            }
        })
        .collect();
    (0..height)
        .map(|row| {
            let below = (height - 1 - row) * 8;
            levels
                .iter()
                .map(|&l| match l.saturating_sub(below).min(8) {
                    0 => ' ',
                    e => EIGHTHS[e - 1],
                })
                .collect()
        })
        .collect()
}

/// The label on the band's bottom line, the bars (oldest at the left, one per step of the
/// window, resampled to the width), the stats.
fn draw_chart(frame: &mut Frame, area: Rect, plot: &Plot, stats: Stats, theme: Theme) {
    let widths = [
        Constraint::Length(LABEL),
        Constraint::Fill(1),
        Constraint::Length(stats.width()),
    ];
    let [label, bars, value] = Layout::horizontal(widths).areas(area);
    let bottom = |r: Rect| Rect {
        y: r.bottom().saturating_sub(1),
        height: 1,
        ..r
    };
    let label_line = Line::styled(plot.chart.label, theme.label());
    frame.render_widget(Paragraph::new(label_line), bottom(label));
    let values = resample(&plot.rates, bars.width as usize);
    let lines: Vec<Line> = bar_rows(&values, bars.height)
        .into_iter()
        .map(|r| Line::styled(r, theme.fg(plot.chart.color)))
        .collect();
    frame.render_widget(Paragraph::new(lines), bars);
    frame.render_widget(Paragraph::new(stats.line(plot, theme)), bottom(value));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_peak_and_never_hide_a_small_value() {
        assert_eq!(bar_rows(&[0.0, 1.0, 4.0, 8.0], 1), [" ▁▄█"]);
        assert_eq!(
            bar_rows(&[0.0, 0.1, 8.0, 12.0, 16.0], 2),
            ["   ▄█", " ▁███"]
        );
        assert_eq!(bar_rows(&[0.0, 0.0], 1), ["  "]);
        assert!(bar_rows(&[1.0], 0).is_empty());
        assert_eq!(bar_rows(&[f64::NAN, 2.0], 1), [" █"]);
    }
}
