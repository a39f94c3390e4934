//! The group table (one row per authid, role, transport or host: sessions, summed traffic,
//! share and trend) and the grouping tabs that start both tables' titles.

use std::ops::Range;

use super::table::{first_row, position};
use super::{Ctx, width};
use crate::format;
use crate::groups::{Group, GroupBy, GroupOrder};
use crate::series::resample;
use crate::view::{Focus, Mode, View};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Margin, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// Between two tabs of the title; on screens narrower than [`super::WIDE`] a tighter one,
/// so the sort and the filter still fit after the tabs.
fn tab_gap(area_width: u16) -> &'static str {
    if area_width >= super::WIDE {
        " │ "
    } else {
        "│"
    }
}

/// The x-range of each grouping's tab in the title of the table drawn in `area` (the table
/// pane's whole area, borders included), clipped to the title line; empty while a group is
/// open (its title names the group instead). For mouse clicks on the tabs.
#[allow(dead_code, reason = "for mouse clicks on the tabs, which come next")]
pub(crate) fn tab_ranges(area: Rect, view: &View) -> Vec<(GroupBy, Range<u16>)> {
    if view.grouping.open_title().is_some() || area.width < 2 {
        return Vec::new();
    }
    // After the corner and the title's leading blank.
    let end = area.right().saturating_sub(1);
    let mut x = area.x.saturating_add(2);
    let mut out = Vec::new();
    for by in GroupBy::ALL {
        let w = width(by.label()) as u16;
        if x >= end {
            break;
        }
        out.push((by, x..x.saturating_add(w).min(end)));
        x = x.saturating_add(w + width(tab_gap(area.width)) as u16);
    }
    out
}

/// The start of the title of a table `area_width` wide: the grouping tabs, the current one
/// highlighted (` sessions │ authid │ role │ transport │ host `); in an open group
/// ` Sessions · authid = billing-service ` instead.
pub(super) fn title_start<'a>(cx: &Ctx, area_width: u16) -> Vec<Span<'a>> {
    let theme = cx.theme;
    if let Some(open) = cx.view.grouping.open_title() {
        return vec![
            Span::styled(" Sessions ", theme.accent()),
            Span::styled("· ", theme.label()),
            Span::styled(format!("{open} "), theme.warn()),
        ];
    }
    let mut spans = vec![Span::raw(" ")];
    for (i, by) in GroupBy::ALL.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(tab_gap(area_width), theme.label()));
        }
        let style = if by == cx.view.grouping.by {
            theme.accent().add_modifier(Modifier::REVERSED)
        } else {
            theme.label()
        };
        spans.push(Span::styled(by.label(), style));
    }
    spans.push(Span::raw(" "));
    spans
}

/// A column of the group table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Sessions,
    Msgs,
    Bytes,
    MsgsPerS,
    BytesPerS,
    Share,
    Trend,
}

/// Every column, left to right.
const COLUMNS: [Col; 8] = [
    Col::Name,
    Col::Sessions,
    Col::Msgs,
    Col::Bytes,
    Col::MsgsPerS,
    Col::BytesPerS,
    Col::Share,
    Col::Trend,
];

/// The widest the name and the session count grow; the trend takes what is left, up to
/// `MAX_TREND`.
const MAX_TEXT: usize = 32;
const MAX_TREND: usize = 120;

impl Col {
    fn title(self, by: GroupBy) -> &'static str {
        match self {
            Col::Name => by.column(),
            Col::Sessions => "SESSIONS",
            Col::Msgs => "MSGS",
            Col::Bytes => "BYTES",
            Col::MsgsPerS => "MSGS/S",
            Col::BytesPerS => "BYTES/S",
            Col::Share => "SHARE",
            Col::Trend => "TREND",
        }
    }

    /// The narrowest it may get for these groups: the session count never gets cut.
    fn min_in(self, groups: &[Group]) -> usize {
        match self {
            Col::Sessions => self.want(groups),
            other => other.min(),
        }
    }

    /// The narrowest it may get; numbers never get cut, the name does (with `…`).
    fn min(self) -> usize {
        match self {
            Col::Name => 12,
            Col::Msgs => 5,
            Col::Bytes => 7,
            Col::Trend => 6,
            other => other.title(GroupBy::Authid).len(),
        }
    }

    /// Which columns fold away first on a narrow screen (lowest first); `None`: never.
    fn fold_rank(self) -> Option<u8> {
        match self {
            Col::Bytes => Some(0),
            Col::Share => Some(1),
            Col::Msgs => Some(2),
            Col::BytesPerS => Some(3),
            Col::Sessions => Some(4),
            _ => None,
        }
    }

    fn numeric(self) -> bool {
        !matches!(self, Col::Name | Col::Trend)
    }

    /// The column that shows what the groups are sorted by.
    fn sorts(self, order: GroupOrder) -> bool {
        matches!(
            (self, order),
            (Col::Name, GroupOrder::Name)
                | (Col::Sessions, GroupOrder::Sessions)
                | (Col::Msgs, GroupOrder::Messages)
                | (Col::Bytes, GroupOrder::Bytes)
                | (Col::MsgsPerS, GroupOrder::MessagesPerS)
                | (Col::BytesPerS, GroupOrder::BytesPerS)
        )
    }

    /// How wide the column would like to be for these groups.
    fn want(self, groups: &[Group]) -> usize {
        let longest = |f: fn(&Group) -> usize| groups.iter().map(f).max().unwrap_or(0);
        let text = match self {
            Col::Name => longest(|g| width(&g.name)),
            Col::Sessions => longest(|g| width(&sessions(g))),
            _ => 0,
        };
        text.clamp(self.min(), MAX_TEXT)
    }
}

/// The columns that fit in `avail` cells and their widths: columns fold away by rank until
/// the narrowest widths fit, then the name and count grow to their content and the trend
/// takes the rest.
fn columns(avail: usize, groups: &[Group]) -> Vec<(Col, usize)> {
    let (cols, mut spare) = super::fold_columns(
        COLUMNS.to_vec(),
        avail,
        |c| c.min_in(groups),
        Col::fold_rank,
    );
    let mut widths: Vec<(Col, usize)> = cols.iter().map(|&c| (c, c.min_in(groups))).collect();
    for trend in [false, true] {
        for (col, w) in widths
            .iter_mut()
            .filter(|(c, _)| (*c == Col::Trend) == trend)
        {
            let want = if trend { MAX_TREND } else { col.want(groups) };
            let grow = want.saturating_sub(*w).min(spare);
            *w += grow;
            spare -= grow;
        }
    }
    widths
}

/// Which group row of the group table drawn in `area` the line `y` shows, if any.
pub(super) fn hit(area: Rect, cx: &Ctx, y: u16) -> crate::view::Target {
    use crate::view::Target;
    let inner = area.inner(Margin::new(1, 1));
    let names: Vec<String> = cx
        .view
        .visible_groups(cx.model, cx.now)
        .into_iter()
        .map(|g| g.name)
        .collect();
    if y <= inner.y || y >= inner.bottom() || names.is_empty() {
        return Target::Table;
    }
    let page = area.height.saturating_sub(3) as usize;
    let selected = cx.view.grouping.selected_index(&names);
    let first = first_row(cx.view.grouping.scroll, selected, page, names.len());
    let i = first + (y - inner.y - 1) as usize;
    if i < names.len() {
        Target::Row(i)
    } else {
        Target::Table
    }
}

/// Draws the group table of the view's groups into `area`; the trend is summed only for the
/// groups on screen.
pub(super) fn draw(frame: &mut Frame, area: Rect, cx: &Ctx) {
    let (view, theme) = (cx.view, cx.theme);
    let groups = view.visible_groups(cx.model, cx.now);
    let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    let page = area.height.saturating_sub(3) as usize;
    let selected = view.grouping.selected_index(&names);
    let first = first_row(view.grouping.scroll, selected, page, groups.len());
    let block = theme
        .pane(title(cx, area.width), view.focus == Focus::Table)
        .title_top(position(first, page, groups.len(), cx).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if groups.is_empty() {
        frame.render_widget(empty(cx), inner.inner(Margin::new(1, 1)));
        return;
    }
    let cols = columns(inner.width as usize, &groups);
    let shown = groups
        .iter()
        .enumerate()
        .skip(first)
        .take(page)
        .map(|(i, g)| {
            let row = row(g, &cols, cx);
            if Some(i) == selected {
                row.style(selected_style(g, cx))
            } else {
                row
            }
        });
    let widths = cols.iter().map(|&(_, w)| Constraint::Length(w as u16));
    let table = Table::new(shown, widths)
        .header(header(&cols, cx))
        .column_spacing(1);
    frame.render_widget(table, inner);
}

/// The tabs, then ` · sort msgs/s ▼ · filter ws▏ `.
fn title<'a>(cx: &Ctx, area_width: u16) -> Line<'a> {
    let (view, theme) = (cx.view, cx.theme);
    let order = GroupOrder::of(view.sort);
    let natural_down = order != GroupOrder::Name;
    let arrow = if natural_down != view.reversed {
        "▼"
    } else {
        "▲"
    };
    let mut spans = title_start(cx, area_width);
    spans.push(Span::styled(sort_label(area_width), theme.label()));
    spans.push(Span::raw(format!("{} {arrow} ", order_name(order))));
    let typing = view.mode == Mode::Filter;
    if typing || !view.filter.is_empty() {
        let cursor = if typing { "▏" } else { "" };
        spans.push(Span::styled("· filter ", theme.label()));
        spans.push(Span::styled(
            format!("{}{cursor} ", view.filter),
            theme.warn(),
        ));
    }
    Line::from(spans)
}

/// What comes before the sort column in a title: `· sort `, on narrow screens just `· `
/// (after the tabs, the filter must still fit).
pub(super) fn sort_label(area_width: u16) -> &'static str {
    if area_width >= super::WIDE {
        "· sort "
    } else {
        "· "
    }
}

/// What the title says the groups are sorted by.
fn order_name(order: GroupOrder) -> &'static str {
    match order {
        GroupOrder::Name => "name",
        GroupOrder::Sessions => "sessions",
        GroupOrder::Messages => "msgs",
        GroupOrder::Bytes => "bytes",
        GroupOrder::MessagesPerS => "msgs/s",
        GroupOrder::BytesPerS => "bytes/s",
    }
}

/// What an empty group table says: nothing joined yet, or nothing matches the filter.
fn empty<'a>(cx: &Ctx) -> Paragraph<'a> {
    let text = if cx.model.sessions.is_empty() {
        "no sessions yet (waiting for wamp.session.on_join)".to_owned()
    } else {
        format!(
            "no session matches “{}” (Esc clears the filter)",
            cx.view.filter
        )
    };
    Paragraph::new(Line::styled(text, cx.theme.label())).alignment(Alignment::Center)
}

/// The column titles; the sort column's is underlined.
fn header<'a>(cols: &[(Col, usize)], cx: &Ctx) -> Row<'a> {
    let order = GroupOrder::of(cx.view.sort);
    let by = cx.view.grouping.by;
    let cells = cols.iter().map(|&(c, _)| {
        let style = if c.sorts(order) {
            cx.theme.accent().add_modifier(Modifier::UNDERLINED)
        } else {
            cx.theme.label()
        };
        Cell::new(align(Line::styled(c.title(by), style), c))
    });
    Row::new(cells).style(Style::new().add_modifier(Modifier::BOLD))
}

fn align(line: Line<'_>, col: Col) -> Line<'_> {
    if col.numeric() {
        line.right_aligned()
    } else {
        line
    }
}

fn selected_style(g: &Group, cx: &Ctx) -> Style {
    cx.theme.selected(g.live == 0)
}

/// One group's row; a group whose sessions all left is dimmed, like a session that left.
fn row<'a>(g: &Group, cols: &[(Col, usize)], cx: &Ctx) -> Row<'a> {
    let cells = cols
        .iter()
        .map(|&(c, w)| Cell::new(align(cell(g, c, w, cx), c)));
    let row = Row::new(cells);
    if g.live == 0 {
        row.style(cx.theme.dim())
    } else {
        row
    }
}

/// What is not known: traffic before any stats event, rates once every session left.
const UNKNOWN: &str = "–";

fn cell<'a>(g: &Group, col: Col, w: usize, cx: &Ctx) -> Line<'a> {
    let no_rate = !g.has_stats || g.live == 0;
    match col {
        Col::Msgs | Col::Bytes if !g.has_stats => Line::raw(UNKNOWN),
        Col::MsgsPerS | Col::BytesPerS | Col::Share if no_rate => Line::raw(UNKNOWN),
        Col::Name => Line::raw(format::truncate(&g.name, w)),
        Col::Sessions => Line::raw(sessions(g)),
        Col::Msgs => Line::raw(format::count(g.messages)),
        Col::Bytes => Line::raw(format::bytes(g.bytes)),
        Col::MsgsPerS => Line::styled(
            format::rate(g.msgs_per_s),
            cx.theme.share(share(g.msgs_per_s, cx.total.0)),
        ),
        Col::BytesPerS => Line::styled(
            format::byte_rate(g.bytes_per_s),
            cx.theme.share(share(g.bytes_per_s, cx.total.1)),
        ),
        Col::Share => {
            let s = share(g.msgs_per_s, cx.total.0);
            Line::styled(format!("{:.0}%", s * 100.0), cx.theme.share(s))
        }
        Col::Trend => trend(g, w, cx),
    }
}

/// Live sessions, and those that left: `3`, `2 +1 left`.
fn sessions(g: &Group) -> String {
    if g.left == 0 {
        g.live.to_string()
    } else {
        format!("{} +{} left", g.live, g.left)
    }
}

/// `part` as a fraction of `total` (0 when there is no traffic).
fn share(part: f64, total: f64) -> f64 {
    if total > 0.0 { part / total } else { 0.0 }
}

/// The group's summed messages/s over the view's window, resampled to the column's width.
fn trend<'a>(g: &Group, w: usize, cx: &Ctx) -> Line<'a> {
    let rates = g.trend(cx.model, cx.view.window, cx.now);
    Line::styled(format::spark(&resample(&rates, w), w), cx.theme.good())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(avail: usize) -> Vec<Col> {
        columns(avail, &[]).into_iter().map(|(c, _)| c).collect()
    }

    #[test]
    fn every_column_fits_at_80_and_narrow_screens_fold_bytes_share_and_msgs() {
        assert_eq!(cols(78), COLUMNS);
        assert_eq!(
            cols(44),
            [
                Col::Name,
                Col::Sessions,
                Col::MsgsPerS,
                Col::BytesPerS,
                Col::Trend
            ]
        );
        assert_eq!(cols(10), [Col::Name, Col::MsgsPerS, Col::Trend]);
    }

    #[test]
    fn widths_fill_the_space() {
        for avail in [40, 78, 158] {
            let used: usize = columns(avail, &[])
                .iter()
                .map(|(_, w)| w + 1)
                .sum::<usize>()
                - 1;
            assert_eq!(used, avail, "{avail}: the trend takes the rest");
        }
    }

    #[test]
    fn tab_ranges_follow_the_labels_and_clip_to_the_title() {
        let view = View::new(false);
        let tabs = tab_ranges(Rect::new(10, 3, 160, 20), &view);
        let got: Vec<(GroupBy, Range<u16>)> = tabs;
        assert_eq!(
            got,
            vec![
                (GroupBy::Sessions, 12..20),
                (GroupBy::Authid, 23..29),
                (GroupBy::Authrole, 32..36),
                (GroupBy::Transport, 39..48),
                (GroupBy::PeerHost, 51..55),
                (GroupBy::Node, 58..62),
            ]
        );
        let narrow = tab_ranges(Rect::new(0, 0, 26, 5), &view);
        assert_eq!(
            narrow,
            vec![
                (GroupBy::Sessions, 2..10),
                (GroupBy::Authid, 11..17),
                (GroupBy::Authrole, 18..22),
                (GroupBy::Transport, 23..25),
            ],
            "a tighter gap, clipped to the title"
        );
        let mut open = View::new(false);
        open.grouping.by = GroupBy::Authid;
        open.grouping.open = Some("x".into());
        assert!(tab_ranges(Rect::new(0, 0, 80, 5), &open).is_empty());
    }

    #[test]
    fn the_tabs_are_drawn_where_tab_ranges_says() {
        use crate::model::Model;
        use ratatui::Terminal;
        use ratatui::backend::TestBackend;
        let model = Model::new(0.0, 30.0);
        for (w, h, by) in [(80, 24, GroupBy::Sessions), (160, 48, GroupBy::PeerHost)] {
            let mut view = View::new(false);
            view.grouping.by = by;
            let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
            terminal
                .draw(|f| super::super::draw(f, &model, &view, 0.0))
                .expect("drawn");
            let table = super::super::layout(Rect::new(0, 0, w, h), &view, &model).table;
            let buf = terminal.backend().buffer();
            for (tab, range) in tab_ranges(table, &view) {
                let text: String = range.map(|x| buf[(x, table.y)].symbol()).collect();
                assert_eq!(text, tab.label(), "{w}×{h}");
            }
        }
    }
}
