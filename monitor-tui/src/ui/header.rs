//! The two header lines: where the monitor is connected and how, then the aggregate numbers.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Ctx, width};
use crate::format;
use crate::model::{Connection, Router};
use crate::series::{Channel, POINTS, resample};

/// Draws the header into `area` (two lines).
pub(super) fn draw(frame: &mut Frame, area: Rect, cx: &Ctx) {
    let avail = area.width as usize;
    let paused = paused(cx);
    let room = avail.saturating_sub(paused.width() + 1);
    let left = match (&cx.view.replay, cx.model.routers.as_slice()) {
        (Some(status), _) => super::playback::line(cx, status, room),
        (None, [one]) => identity(cx, one, room),
        (None, several) => routers(cx, several, room),
    };
    let first = Rect {
        height: 1.min(area.height),
        ..area
    };
    frame.render_widget(Paragraph::new(left), first);
    frame.render_widget(Paragraph::new(paused).alignment(Alignment::Right), first);
    if area.height > 1 {
        let second = Rect {
            y: area.y + 1,
            height: 1,
            ..area
        };
        frame.render_widget(Paragraph::new(numbers(cx, avail)), second);
    }
    if area.height > 2 {
        let third = Rect {
            y: area.y + 2,
            height: 1,
            ..area
        };
        frame.render_widget(Paragraph::new(summary(cx, avail)), third);
    }
}

/// Line three (when a router offers `wampstat.session.summary`): the live sessions by authrole
/// and by transport, summed over the routers, most first, as many as fit.
fn summary<'a>(cx: &Ctx, avail: usize) -> Line<'a> {
    let theme = cx.theme;
    let mut roles: Vec<(String, u64)> = Vec::new();
    let mut transports: Vec<(String, u64)> = Vec::new();
    for s in cx.model.routers.iter().filter_map(|r| r.summary.as_ref()) {
        merge(&mut roles, &s.by_authrole);
        merge(&mut transports, &s.by_transport);
    }
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (label, counts) in [("roles ", roles), ("   transports ", transports)] {
        let label_span = Span::styled(label, theme.label());
        used += label_span.width();
        spans.push(label_span);
        for (i, (name, n)) in counts.iter().enumerate() {
            let sep = if i == 0 { "" } else { " · " };
            let item = format!("{sep}{name} ");
            let count = n.to_string();
            if used + width(&item) + width(&count) > avail {
                spans.push(Span::styled(" …", theme.label()));
                used += 2;
                break;
            }
            used += width(&item) + width(&count);
            spans.push(Span::styled(item, theme.label()));
            spans.push(Span::styled(count, theme.accent()));
        }
    }
    Line::from(spans)
}

/// Adds `more` into `into`, keeping it sorted most first (then by name).
fn merge(into: &mut Vec<(String, u64)>, more: &[(String, u64)]) {
    for (name, n) in more {
        match into.iter_mut().find(|(k, _)| k == name) {
            Some((_, m)) => *m += n,
            None => into.push((name.clone(), *n)),
        }
    }
    into.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
}

/// The badges at the right of line one: `● REC` while recording, `PAUSED` while the display
/// is frozen.
fn paused<'a>(cx: &Ctx) -> Line<'a> {
    let mut spans = Vec::new();
    if cx.view.recording {
        spans.push(Span::styled("● REC", cx.theme.bad().bold()));
        spans.push(Span::raw(" "));
    }
    if cx.view.paused {
        spans.push(Span::styled(" PAUSED ", cx.theme.warn().reversed()));
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

/// Line one: product, URL, realm, connection state and uptime; the product and then the uptime
/// go when the line is too narrow, and then the URL and the state text are cut.
fn identity<'a>(cx: &Ctx, header: &Router, avail: usize) -> Line<'a> {
    let up = format!("up {}", format::uptime(cx.now - cx.model.started_at));
    for (product, uptime) in [(true, true), (false, true), (false, false)] {
        let line = identity_line(cx, header, product, uptime.then_some(&up), usize::MAX);
        if line.width() <= avail {
            return line;
        }
    }
    identity_line(cx, header, false, None, avail)
}

fn identity_line<'a>(
    cx: &Ctx,
    header: &Router,
    product: bool,
    uptime: Option<&String>,
    avail: usize,
) -> Line<'a> {
    let theme = cx.theme;
    let (symbol, state, style) = connection(&header.connection, cx.view.tick, cx);
    // What is left for the URL and the state text when the rest is laid out; the state text
    // keeps at least 24 columns (why a connection failed matters more than the URL).
    let fixed = 1 + width(&header.realm) + 2 + 2 + 2 + uptime.map_or(0, |u| width(u) + 2);
    let room = avail.saturating_sub(fixed);
    let url = format::truncate(
        &header.url,
        room.saturating_sub(width(&state).min(24)).max(8),
    );
    let state = format::truncate(&state, room.saturating_sub(width(&url)));
    let mut spans = vec![Span::raw(" ")];
    if product {
        spans.push(Span::styled("wampstat", theme.accent()));
        spans.push(Span::styled(" ▸ ", theme.label()));
    }
    spans.push(Span::styled(url, theme.accent()));
    spans.push(Span::raw("  "));
    spans.push(Span::styled(header.realm.clone(), theme.accent()));
    spans.push(Span::raw("  "));
    spans.push(Span::styled(symbol, style));
    spans.push(Span::styled(format!(" {state}"), style));
    if let Some(up) = uptime {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(up.clone(), theme.label()));
    }
    Line::from(spans)
}

/// Line one with several routers: the product, then each router's symbol, name and realm, with
/// the reason of any that is not connected, then the uptime. The product and then the uptime go
/// when the line is too narrow, then the reasons are cut.
fn routers<'a>(cx: &Ctx, routers: &[Router], avail: usize) -> Line<'a> {
    let up = format!("up {}", format::uptime(cx.now - cx.model.started_at));
    for (product, uptime, reasons) in [
        (true, true, true),
        (false, true, true),
        (false, false, true),
        (false, false, false),
    ] {
        let line = routers_line(cx, routers, product, uptime.then_some(&up), reasons);
        if line.width() <= avail || !reasons {
            return line;
        }
    }
    unreachable!("the last variant always returns")
}

fn routers_line<'a>(
    cx: &Ctx,
    routers: &[Router],
    product: bool,
    uptime: Option<&String>,
    reasons: bool,
) -> Line<'a> {
    let theme = cx.theme;
    let mut spans = vec![Span::raw(" ")];
    if product {
        spans.push(Span::styled("wampstat", theme.accent()));
        spans.push(Span::styled(" ▸ ", theme.label()));
    }
    for (i, r) in routers.iter().enumerate() {
        let (symbol, state, style) = connection(&r.connection, cx.view.tick, cx);
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(symbol, style));
        spans.push(Span::styled(format!(" {}", r.name), theme.accent()));
        spans.push(Span::styled(format!(" {}", r.realm), theme.label()));
        if reasons && r.connection != Connection::Connected {
            spans.push(Span::styled(
                format!(" {}", format::truncate(&state, 40)),
                style,
            ));
        }
        spans.push(Span::raw(" "));
    }
    if let Some(up) = uptime {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(up.clone(), theme.label()));
    }
    Line::from(spans)
}

/// The connection's symbol (a spinner turning with the frames while not connected), text and
/// style.
fn connection(c: &Connection, tick: u64, cx: &Ctx) -> (&'static str, String, Style) {
    const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];
    let spinner = SPINNER[(tick % 4) as usize];
    match c {
        Connection::Connected => ("●", "connected".to_owned(), cx.theme.good()),
        Connection::Connecting => (spinner, "connecting…".to_owned(), cx.theme.warn()),
        Connection::Lost(why, Some(at)) if *at > cx.now => (
            spinner,
            format!("reconnecting in {:.0}s: {why}", (at - cx.now).ceil()),
            cx.theme.bad(),
        ),
        Connection::Lost(why, _) => (spinner, format!("reconnecting: {why}"), cx.theme.bad()),
    }
}

/// How much of the session counts the header has room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counts {
    /// `sessions 37 live · 412 joined · 375 left`
    Full,
    /// `37 live · 412 joined · 375 left`
    Short,
    /// `37 live`
    Live,
}

/// Line two: session counts, aggregate rates with sparklines, stats events per second. The
/// sparklines take the room that is left; stats events and then the counts give way to them.
fn numbers<'a>(cx: &Ctx, avail: usize) -> Line<'a> {
    let variants = [
        (true, Counts::Full),
        (false, Counts::Full),
        (false, Counts::Short),
        (false, Counts::Live),
    ];
    for (i, (events, counts)) in variants.into_iter().enumerate() {
        let fixed = numbers_line(cx, events, counts, 0).width();
        let spark = avail.saturating_sub(fixed) / 2;
        if spark >= 6 || i + 1 == variants.len() {
            return numbers_line(cx, events, counts, spark.min(POINTS));
        }
    }
    unreachable!("the last variant always returns")
}

fn numbers_line<'a>(cx: &Ctx, events: bool, counts: Counts, spark: usize) -> Line<'a> {
    let theme = cx.theme;
    // The numbers are the sums of the table's rates, so that header and table agree; the
    // sparklines show the realm's traffic over the view's window, resampled to fit.
    let (msgs, bytes) = cx.total;
    let mut spans = vec![Span::raw(" ")];
    spans.extend(session_counts(cx, counts));
    spans.push(Span::styled("   msgs/s ", theme.label()));
    spans.push(Span::styled(
        format!("{:>5} ", format::rate(msgs)),
        theme.accent(),
    ));
    spans.push(Span::styled(
        traffic(cx, Channel::Msgs, spark),
        theme.good(),
    ));
    spans.push(Span::styled("   bytes/s ", theme.label()));
    spans.push(Span::styled(
        format!("{:>7} ", format::byte_rate(bytes)),
        theme.accent(),
    ));
    spans.push(Span::styled(
        traffic(cx, Channel::Bytes, spark),
        theme.fg(Color::Cyan),
    ));
    spans.push(Span::styled(
        format!(" · {}", cx.view.window.label()),
        theme.label(),
    ));
    if events {
        spans.push(Span::styled("   stats events/s ", theme.label()));
        let rate = format::rate(cx.model.stats_events_per_s);
        spans.push(Span::styled(rate, theme.accent()));
    }
    Line::from(spans)
}

/// The realm's per-second `channel` over the view's window as a sparkline `width` wide.
fn traffic(cx: &Ctx, channel: Channel, width: usize) -> String {
    let rates = cx.model.traffic.rates(cx.view.window, channel, cx.now);
    format::spark(&resample(&rates, width), width)
}

fn session_counts<'a>(cx: &Ctx, counts: Counts) -> Vec<Span<'a>> {
    let (theme, model) = (cx.theme, cx.model);
    let mut spans = Vec::new();
    if counts == Counts::Full {
        spans.push(Span::styled("sessions ", theme.label()));
    }
    spans.push(Span::styled(model.live().to_string(), theme.accent()));
    spans.push(Span::styled(" live", theme.label()));
    if counts != Counts::Live {
        spans.push(Span::styled(" · ", theme.label()));
        spans.push(Span::styled(model.joined.to_string(), theme.accent()));
        spans.push(Span::styled(" joined · ", theme.label()));
        spans.push(Span::styled(model.left.to_string(), theme.accent()));
        spans.push(Span::styled(" left", theme.label()));
    }
    spans
}
