//! The session table: the columns that fit, only the rows on screen.

use super::{Ctx, width};
use crate::format;
use crate::model::{Health, Key, SessionRow, Totals, short_transport};
use crate::series::{Channel, POINTS, resample};
use crate::view::{Focus, Mode, SortColumn};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Margin, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// A table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Router,
    Node,
    Session,
    Authid,
    Role,
    Transport,
    Peer,
    Msgs,
    Bytes,
    Rated,
    MsgsPerS,
    BytesPerS,
    Cycle,
    Age,
    Health,
    Trend,
}

/// Every column, left to right.
const COLUMNS: [Col; 16] = [
    Col::Router,
    Col::Node,
    Col::Session,
    Col::Authid,
    Col::Role,
    Col::Transport,
    Col::Peer,
    Col::Msgs,
    Col::Bytes,
    Col::Rated,
    Col::MsgsPerS,
    Col::BytesPerS,
    Col::Cycle,
    Col::Age,
    Col::Health,
    Col::Trend,
];

/// The widest a text column grows, and the widest the sparkline grows; both grow to `FAIR`
/// before either grows further.
const FAIR: usize = 16;
const MAX_TEXT: usize = 32;
/// Past one column per step of the window the steps are repeated: the sparkline still takes
/// the room that is left rather than leave it blank.
const MAX_TREND: usize = 2 * POINTS;

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::Router => "ROUTER",
            Col::Node => "NODE",
            Col::Session => "SESSION",
            Col::Authid => "AUTHID",
            Col::Role => "ROLE",
            Col::Transport => "TRANSPORT",
            Col::Peer => "PEER",
            Col::Msgs => "MSGS",
            Col::Bytes => "BYTES",
            Col::Rated => "RATED",
            Col::MsgsPerS => "MSGS/S",
            Col::BytesPerS => "BYTES/S",
            Col::Cycle => "CYCLE",
            Col::Age => "AGE",
            Col::Health => "HEALTH",
            Col::Trend => "TREND",
        }
    }

    /// The narrowest it may get; numbers never get cut, text columns do (with `…`).
    fn min(self) -> usize {
        match self {
            Col::Router => 6,
            Col::Session => 16,
            Col::Authid => 12,
            Col::Transport => 10,
            Col::Msgs => 4,
            Col::Bytes => 6,
            Col::Age => 4,
            Col::Trend => 6,
            other => other.title().len(),
        }
    }

    /// Which columns fold away first on a narrow screen (lowest first); `None`: never. Where
    /// a session is (its node, its router) folds after the rest but the health: in a cluster
    /// that is what the operator is watching for.
    fn fold_rank(self) -> Option<u8> {
        match self {
            Col::Peer => Some(0),
            Col::Rated => Some(1),
            Col::Role => Some(2),
            Col::Cycle => Some(3),
            Col::Bytes => Some(4),
            Col::Msgs => Some(5),
            Col::Transport => Some(6),
            Col::Age => Some(7),
            Col::Authid => Some(8),
            Col::Node => Some(9),
            Col::Router => Some(10),
            Col::Health => Some(11),
            _ => None,
        }
    }

    fn numeric(self) -> bool {
        matches!(
            self,
            Col::Session
                | Col::Msgs
                | Col::Bytes
                | Col::Rated
                | Col::MsgsPerS
                | Col::BytesPerS
                | Col::Cycle
                | Col::Age
        )
    }

    /// What clicking its title sorts by (`None`: the trend and health columns).
    fn sort_column(self) -> Option<SortColumn> {
        Some(match self {
            Col::Router => SortColumn::Router,
            Col::Node => SortColumn::Node,
            Col::Session => SortColumn::Session,
            Col::Authid => SortColumn::Authid,
            Col::Role => SortColumn::Role,
            Col::Transport => SortColumn::Transport,
            Col::Peer | Col::Trend | Col::Health => return None,
            Col::Msgs => SortColumn::Messages,
            Col::Bytes => SortColumn::Bytes,
            Col::Rated => SortColumn::Rated,
            Col::MsgsPerS => SortColumn::MessagesPerS,
            Col::BytesPerS => SortColumn::BytesPerS,
            Col::Cycle => SortColumn::Cycle,
            Col::Age => SortColumn::Age,
        })
    }

    /// The column that shows what the table is sorted by.
    fn sorts(self, sort: SortColumn) -> bool {
        matches!(
            (self, sort),
            (Col::Router, SortColumn::Router)
                | (Col::Node, SortColumn::Node)
                | (Col::Session, SortColumn::Session)
                | (Col::Authid, SortColumn::Authid)
                | (Col::Role, SortColumn::Role)
                | (
                    Col::Transport,
                    SortColumn::Transport | SortColumn::Serializer
                )
                | (Col::Msgs, SortColumn::Messages)
                | (Col::Bytes, SortColumn::Bytes)
                | (Col::Rated, SortColumn::Rated)
                | (Col::MsgsPerS, SortColumn::MessagesPerS)
                | (Col::BytesPerS, SortColumn::BytesPerS)
                | (Col::Cycle, SortColumn::Cycle)
                | (Col::Age, SortColumn::Age)
        )
    }

    /// How wide the column would like to be for these rows (text columns: their longest value).
    fn want(self, rows: &[&SessionRow], cx: &Ctx) -> usize {
        let longest = |f: fn(&SessionRow) -> usize| rows.iter().map(|r| f(r)).max().unwrap_or(0);
        let text = match self {
            Col::Router => cx
                .model
                .routers
                .iter()
                .map(|r| width(&r.name))
                .max()
                .unwrap_or(0),
            Col::Health => longest(|r| width(&health(r).0)),
            Col::Node => longest(|r| width(&r.node)),
            Col::Authid => longest(|r| width(&r.authid)),
            Col::Role => longest(|r| width(&r.authrole)),
            Col::Transport => longest(transport_width),
            Col::Peer => longest(|r| width(&r.peer)),
            Col::Trend => return MAX_TREND,
            _ => 0,
        };
        text.clamp(self.min(), MAX_TEXT)
    }
}

/// How wide [`transport`] is, without building it.
fn transport_width(r: &SessionRow) -> usize {
    match (short_transport(&r.transport), r.serializer.as_str()) {
        ("", s) => width(s),
        (t, "") => width(t),
        (t, s) => width(t) + 1 + width(s),
    }
}

/// `ws/json`, `rs/msgpack`.
fn transport(r: &SessionRow) -> String {
    match (short_transport(&r.transport), r.serializer.as_str()) {
        ("", "") => String::new(),
        (t, "") => t.to_owned(),
        ("", s) => s.to_owned(),
        (t, s) => format!("{t}/{s}"),
    }
}

/// The columns that fit in `avail` cells and their widths: columns fold away by rank until the
/// narrowest widths fit, then text columns grow to their content and the sparkline takes the rest.
fn columns(avail: usize, rows: &[&SessionRow], cx: &Ctx) -> Vec<(Col, usize)> {
    let several = cx.model.several_routers();
    // Over all sessions, not just the filtered ones: the column stays put while typing a filter.
    let nodes = cx.model.several_nodes();
    // Shown only when some session has something to report (never against Crossbar).
    let unwell = rows.iter().any(|r| r.health() != Health::Fine);
    let shown: Vec<Col> = COLUMNS
        .iter()
        .copied()
        .filter(|&c| match c {
            Col::Router => several,
            Col::Node => nodes,
            Col::Health => unwell,
            _ => true,
        })
        .collect();
    // Node names tend to differ only at the end (node-1, node-2): cut short they would all
    // read `node…`, so the node column is as wide as its names (up to `FAIR`) or not there.
    let node_min = if nodes {
        Col::Node.want(rows, cx).min(FAIR)
    } else {
        0
    };
    let min = |c: Col| if c == Col::Node { node_min } else { c.min() };
    let (cols, mut spare) = super::fold_columns(shown, avail, min, Col::fold_rank);
    let mut widths: Vec<(Col, usize)> = cols.iter().map(|&c| (c, min(c))).collect();
    // Each column's wish is measured once over all rows (thousands of them).
    let wants: Vec<usize> = cols.iter().map(|c| c.want(rows, cx)).collect();
    // Text first up to a fair width, then the sparkline, then text to its full length, then
    // the sparkline again.
    for (trend, cap) in [
        (false, FAIR),
        (true, FAIR),
        (false, MAX_TEXT),
        (true, MAX_TREND),
    ] {
        for ((_, w), wish) in widths
            .iter_mut()
            .zip(&wants)
            .filter(|((c, _), _)| (*c == Col::Trend) == trend)
        {
            let want = if trend { cap } else { (*wish).min(cap) };
            let grow = want.saturating_sub(*w).min(spare);
            *w += grow;
            spare -= grow;
        }
    }
    widths
}

/// Draws the table of `rows` (already filtered and sorted) into `area`; only the rows on
/// screen are built.
pub(super) fn draw(frame: &mut Frame, area: Rect, cx: &Ctx, rows: &[Key]) {
    let (view, theme) = (cx.view, cx.theme);
    let page = area.height.saturating_sub(3) as usize;
    let selected = view.selected_index(rows);
    let first = first_row(view.scroll, selected, page, rows.len());
    let block = theme
        .pane(title(cx, area.width), view.focus == Focus::Table)
        .title_top(position(first, page, rows.len(), cx).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if rows.is_empty() {
        frame.render_widget(empty(cx), inner.inner(Margin::new(1, 1)));
        return;
    }
    let all: Vec<&SessionRow> = rows
        .iter()
        .filter_map(|id| cx.model.sessions.get(id))
        .collect();
    let cols = columns(inner.width as usize, &all, cx);
    let shown = all.iter().enumerate().skip(first).take(page).map(|(i, r)| {
        let row = row(r, &cols, cx);
        if Some(i) == selected {
            row.style(selected_style(r, cx))
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

/// What the point (`x`, `y`) of the table drawn in `area` is: a row (its index in `rows`), a
/// column title, or the table elsewhere.
pub(super) fn hit(area: Rect, cx: &Ctx, rows: &[Key], x: u16, y: u16) -> crate::view::Target {
    use crate::view::Target;
    let inner = area.inner(Margin::new(1, 1));
    if !inner.contains(ratatui::layout::Position::new(x, y)) || rows.is_empty() {
        return Target::Table;
    }
    if y == inner.y {
        let all: Vec<&SessionRow> = rows
            .iter()
            .filter_map(|id| cx.model.sessions.get(id))
            .collect();
        let mut left = inner.x;
        for (col, w) in columns(inner.width as usize, &all, cx) {
            let right = left.saturating_add(w as u16);
            if (left..right).contains(&x) {
                return col.sort_column().map_or(Target::Table, Target::Column);
            }
            left = right.saturating_add(1);
        }
        return Target::Table;
    }
    let page = area.height.saturating_sub(3) as usize;
    let first = first_row(
        cx.view.scroll,
        cx.view.selected_index(rows),
        page,
        rows.len(),
    );
    let i = first + (y - inner.y - 1) as usize;
    if i < rows.len() {
        Target::Row(i)
    } else {
        Target::Table
    }
}

/// The first row on screen: the view's scroll, moved just enough to show the selection.
pub(super) fn first_row(scroll: usize, selected: Option<usize>, page: usize, len: usize) -> usize {
    let page = page.max(1);
    let first = match selected {
        Some(i) if i < scroll => i,
        Some(i) if i >= scroll + page => i + 1 - page,
        _ => scroll,
    };
    first.min(len.saturating_sub(page))
}

/// ` sessions │ authid │ role │ transport │ host · sort msgs/s ▼ · filter ws▏ `, or
/// ` Sessions · authid = billing-service · sort …` in an open group.
fn title<'a>(cx: &Ctx, width: u16) -> Line<'a> {
    let (view, theme) = (cx.view, cx.theme);
    let arrow = if view.sort.descending() != view.reversed {
        "▼"
    } else {
        "▲"
    };
    let mut spans = super::groups::title_start(cx, width);
    spans.extend([
        Span::styled(super::groups::sort_label(width), theme.label()),
        Span::raw(format!("{} {arrow} ", view.sort.name())),
    ]);
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

/// ` 1–8 of 37 ` in the top right corner.
pub(super) fn position<'a>(first: usize, page: usize, len: usize, cx: &Ctx) -> Line<'a> {
    if len == 0 {
        return Line::default();
    }
    let last = (first + page).min(len);
    Line::styled(format!(" {}–{last} of {len} ", first + 1), cx.theme.label())
}

/// What an empty table says: nothing joined yet, the open group is gone, or nothing matches
/// the filter.
fn empty<'a>(cx: &Ctx) -> Paragraph<'a> {
    let open = cx.view.grouping.open_title();
    let text = if cx.model.sessions.is_empty() {
        "no sessions yet (waiting for wamp.session.on_join)".to_owned()
    } else if let Some(open) = open.filter(|_| cx.view.filter.is_empty()) {
        format!("no session left with {open} (Esc goes back to the groups)")
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
    let cells = cols.iter().map(|&(c, _)| {
        let style = if c.sorts(cx.view.sort) {
            cx.theme.accent().add_modifier(Modifier::UNDERLINED)
        } else {
            cx.theme.label()
        };
        Cell::new(align(Line::styled(c.title(), style), c))
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

fn selected_style(r: &SessionRow, cx: &Ctx) -> Style {
    cx.theme.selected(r.left_at.is_some())
}

/// One session's row; sessions that left are dimmed.
fn row<'a>(r: &SessionRow, cols: &[(Col, usize)], cx: &Ctx) -> Row<'a> {
    let cells = cols
        .iter()
        .map(|&(c, w)| Cell::new(align(cell(r, c, w, cx), c)));
    let row = Row::new(cells);
    if r.left_at.is_some() {
        row.style(cx.theme.dim())
    } else {
        row
    }
}

/// `–` stands for what is not known: traffic before any stats event (statistics may be off for
/// the realm), rates once a session has left, and the node of a session whose router does not
/// say.
const UNKNOWN: &str = "–";

fn cell<'a>(r: &SessionRow, col: Col, w: usize, cx: &Ctx) -> Line<'a> {
    let text = |s: &str| Line::raw(format::truncate(s, w));
    let now = cx.now;
    let no_stats = r.history.is_empty() && r.totals == Totals::default();
    match col {
        Col::Msgs | Col::Bytes | Col::Rated | Col::Cycle if no_stats => Line::raw(UNKNOWN),
        Col::MsgsPerS | Col::BytesPerS if no_stats || r.left_at.is_some() => Line::raw(UNKNOWN),
        Col::Router => text(cx.model.router_name(r.router)),
        Col::Node if r.node.is_empty() => Line::raw(UNKNOWN),
        Col::Node => text(&r.node),
        Col::Session => Line::raw(r.id.to_string()),
        Col::Authid => text(&r.authid),
        Col::Role => text(&r.authrole),
        Col::Transport => text(&transport(r)),
        Col::Peer => text(&r.peer),
        Col::Msgs => Line::raw(format::count(r.totals.messages)),
        Col::Bytes => Line::raw(format::bytes(r.totals.bytes)),
        Col::Rated => Line::raw(format::count(r.totals.rated_messages)),
        Col::MsgsPerS => rate(format::rate, r.messages_per_s(now), cx.total.0, cx),
        Col::BytesPerS => rate(format::byte_rate, r.bytes_per_s(now), cx.total.1, cx),
        Col::Cycle => Line::raw(format::count(r.cycle)),
        Col::Age => age(r, now),
        Col::Health => {
            let (text, bad) = health(r);
            let style = if bad { cx.theme.bad() } else { cx.theme.warn() };
            Line::styled(format::truncate(&text, w), style)
        }
        Col::Trend => trend(r, w, cx),
    }
}

/// The health flag: `dropping`, `dropped 1.2k`, `closed slow` or nothing; and whether it is
/// bad news now (rather than a warning about the past).
fn health(r: &SessionRow) -> (String, bool) {
    let dropped = format::count(r.dropped().unwrap_or(0));
    match r.health() {
        Health::Fine => (String::new(), false),
        Health::Dropped => (format!("dropped {dropped}"), false),
        Health::Dropping => (format!("dropping {dropped}"), true),
        Health::Closed => ("closed slow".to_owned(), true),
    }
}

/// A rate, coloured by its share of the total.
fn rate<'a>(fmt: fn(f64) -> String, v: f64, total: f64, cx: &Ctx) -> Line<'a> {
    let share = if total > 0.0 { v / total } else { 0.0 };
    Line::styled(fmt(v), cx.theme.share(share))
}

/// Seconds since the last stats event; `left` for sessions that left, `–` before any event.
fn age<'a>(r: &SessionRow, now: f64) -> Line<'a> {
    match (r.left_at, r.age(now)) {
        (Some(_), _) => Line::raw("left"),
        (None, Some(a)) => Line::raw(format::duration(a)),
        (None, None) => Line::raw(UNKNOWN),
    }
}

/// The session's messages/s over the view's window, resampled to the column's width and
/// scaled to its own peak, oldest at the left.
fn trend<'a>(r: &SessionRow, w: usize, cx: &Ctx) -> Line<'a> {
    let rates = r.series.rates(cx.view.window, Channel::Msgs, cx.now);
    Line::styled(format::spark(&resample(&rates, w), w), cx.theme.good())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Model, Router};
    use crate::view::View;

    fn cols(avail: usize, model: &Model) -> Vec<(Col, usize)> {
        let view = View::new(false);
        columns(avail, &[], &Ctx::new(model, &view, 0.0))
    }

    #[test]
    fn narrow_screens_fold_peer_rated_role_cycle_and_bytes() {
        let one = Model::new(0.0, 1.0);
        let cols: Vec<Col> = cols(78, &one).into_iter().map(|(c, _)| c).collect();
        assert_eq!(
            cols,
            [
                Col::Session,
                Col::Authid,
                Col::Transport,
                Col::Msgs,
                Col::MsgsPerS,
                Col::BytesPerS,
                Col::Age,
                Col::Trend
            ]
        );
        assert_eq!(
            super::tests::cols(158, &one).len(),
            COLUMNS.len() - 3,
            "wide screens show everything but the router, the node and (nothing to report) the \
             health"
        );
    }

    #[test]
    fn the_router_column_shows_with_several_routers_and_folds_last() {
        let routers = vec![
            Router::new("ws://a:1/ws", "r"),
            Router::new("rs://b:2", "r"),
        ];
        let two = Model::with_routers(0.0, 1.0, routers);
        let wide: Vec<Col> = cols(170, &two).into_iter().map(|(c, _)| c).collect();
        assert_eq!(wide.first(), Some(&Col::Router));
        assert_eq!(
            wide.len(),
            COLUMNS.len() - 2,
            "all but the node (no cluster) and the health"
        );
        let narrow: Vec<Col> = cols(78, &two).into_iter().map(|(c, _)| c).collect();
        assert_eq!(narrow.first(), Some(&Col::Router), "kept before the authid");
    }

    /// A session on `router` and `node` (`""`: the router does not say).
    fn add(m: &mut Model, router: usize, node: &str) {
        let key = Key::new(router, m.sessions.len() as u64 + 1);
        let mut row = SessionRow::new(key, 0.0);
        row.node = node.to_owned();
        m.sessions.insert(key, row);
    }

    /// One router, a session on each of `nodes`.
    fn on_nodes(nodes: &[&str]) -> Model {
        let mut m = Model::new(0.0, 1.0);
        for node in nodes {
            add(&mut m, 0, node);
        }
        m
    }

    #[test]
    fn the_node_column_shows_with_two_nodes_and_not_with_one() {
        let view = View::new(false);
        let widths = |m: &Model, avail| {
            let rows: Vec<&SessionRow> = m.sessions.values().collect();
            columns(avail, &rows, &Ctx::new(m, &view, 0.0))
        };
        let names = |m: &Model, avail| -> Vec<Col> {
            widths(m, avail).into_iter().map(|(c, _)| c).collect()
        };
        for one in [
            &[][..],
            &["node-a"],
            &["node-a", "node-a"],
            &["node-a", ""],
            &["", ""],
        ] {
            let m = on_nodes(one);
            assert!(!names(&m, 170).contains(&Col::Node), "{one:?}");
        }
        let two = on_nodes(&["node-a", "node-b", ""]);
        let wide = names(&two, 170);
        assert_eq!(
            wide.first(),
            Some(&Col::Node),
            "where the router column goes"
        );
        assert_eq!(
            wide.len(),
            COLUMNS.len() - 2,
            "all but the router and the health"
        );
        let mut apart = Model::with_routers(
            0.0,
            1.0,
            vec![
                Router::new("ws://a:1/ws", "r"),
                Router::new("ws://b:1/ws", "r"),
            ],
        );
        for (router, node) in [(0, "host-a"), (0, "host-a"), (1, "host-b")] {
            add(&mut apart, router, node);
        }
        let cols = names(&apart, 170);
        assert!(
            !cols.contains(&Col::Node),
            "two routers, each on its own host: the ROUTER column says it: {cols:?}"
        );
        let narrow = widths(&two, 78);
        assert_eq!(
            narrow.first(),
            Some(&(Col::Node, 6)),
            "at 80 columns, never cut to `node…`"
        );
        let narrower = names(&two, 50);
        assert!(narrower.contains(&Col::Node), "{narrower:?}");
        assert!(
            !narrower.contains(&Col::Authid),
            "folds before the node: {narrower:?}"
        );
    }

    #[test]
    fn widths_fill_the_space_exactly() {
        let one = Model::new(0.0, 1.0);
        for avail in [60, 78, 100, 118, 158, 250] {
            let cols = cols(avail, &one);
            let used: usize = cols.iter().map(|(_, w)| w + 1).sum::<usize>() - 1;
            assert!(used <= avail, "{avail}: {used}");
            if avail < 200 {
                assert_eq!(used, avail, "{avail}: the sparkline takes the rest");
            }
        }
    }

    #[test]
    fn the_first_row_follows_the_selection() {
        assert_eq!(first_row(0, Some(3), 10, 30), 0);
        assert_eq!(first_row(0, Some(12), 10, 30), 3);
        assert_eq!(first_row(20, Some(5), 10, 30), 5);
        assert_eq!(first_row(25, None, 10, 30), 20, "never past the end");
        assert_eq!(first_row(0, None, 10, 0), 0);
    }
}
