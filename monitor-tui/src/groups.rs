//! Grouping: the sessions folded into one row per authid, authrole, transport, peer host or
//! router node (`g` cycles through them), so "which application is sending all this?" is one key away.
//!
//! - [`GroupBy`]: what the sessions are grouped by ([`GroupBy::Sessions`]: not at all).
//! - [`Group`]: one group's live and left sessions, summed rates and totals, and its members
//!   (for the trend, summed only for the groups on screen: [`Group::trend`]).
//! - [`groups`]: the groups of a model's sessions that match a filter, built in one pass.
//! - [`GroupOrder`]: how the view's [`SortColumn`] sorts groups ([`GroupOrder::of`] documents
//!   the mapping).
//! - [`Grouping`]: the grouping's part of the [`View`] — the grouping, the group opened with
//!   Enter, the selected group — and [`Rows`], what the keys act on (sessions or groups).
//!
//! The filter (`/`) matches sessions as in the session table, so groups shrink to their
//! matching sessions and groups without any disappear; a group name is matched too whenever
//! it is a session's authid, role, transport or peer (every name is).

use std::cmp::Ordering;
use std::collections::HashMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use crate::keys::Action;
use crate::model::{Key, Model, SessionRow, short_transport};
use crate::series::{Channel, POINTS, Window};
use crate::view::{Focus, Mode, SortColumn, View, matches};

/// What a group's name is when the sessions do not say (no authid, no peer).
pub const UNKNOWN: &str = "–";

/// What the sessions are grouped by; `g` cycles through them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GroupBy {
    /// Not grouped: the session table.
    #[default]
    Sessions,
    /// By authid: one row per application or user.
    Authid,
    /// By authrole.
    Authrole,
    /// By transport and serializer, as the TRANSPORT column shows them (`ws/json`).
    Transport,
    /// By the host part of the peer address (`127.0.0.1`, `::1`, `unix`).
    PeerHost,
    /// By the router node the session is on (`authextra.x_cb_node`: a cluster's node name,
    /// Crossbar's node id, or the host name of a single router).
    Node,
}

impl GroupBy {
    /// Every grouping, in the order `g` cycles through them (and the title's tabs show them).
    pub const ALL: [GroupBy; 6] = [
        GroupBy::Sessions,
        GroupBy::Authid,
        GroupBy::Authrole,
        GroupBy::Transport,
        GroupBy::PeerHost,
        GroupBy::Node,
    ];

    /// The grouping after this one (wrapping around to the sessions).
    pub fn next(self) -> GroupBy {
        let i = Self::ALL.iter().position(|&g| g == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// Its tab label: `sessions`, `authid`, `role`, `transport`, `host`, `node`.
    pub fn label(self) -> &'static str {
        match self {
            GroupBy::Sessions => "sessions",
            GroupBy::Authid => "authid",
            GroupBy::Authrole => "role",
            GroupBy::Transport => "transport",
            GroupBy::PeerHost => "host",
            GroupBy::Node => "node",
        }
    }

    /// The title of the group table's name column: `AUTHID`, `ROLE`, `TRANSPORT`, `HOST`,
    /// `NODE`.
    pub fn column(self) -> &'static str {
        match self {
            GroupBy::Sessions => "SESSION",
            GroupBy::Authid => "AUTHID",
            GroupBy::Authrole => "ROLE",
            GroupBy::Transport => "TRANSPORT",
            GroupBy::PeerHost => "HOST",
            GroupBy::Node => "NODE",
        }
    }

    /// Whether sessions are grouped at all.
    pub fn is_grouped(self) -> bool {
        self != GroupBy::Sessions
    }

    /// The parts a session's group name is made of, borrowed from the session (so grouping
    /// allocates once per group, not once per session).
    fn parts(self, row: &SessionRow) -> (&str, &str) {
        match self {
            GroupBy::Sessions => ("", ""),
            GroupBy::Authid => (&row.authid, ""),
            GroupBy::Authrole => (&row.authrole, ""),
            GroupBy::Transport => (short_transport(&row.transport), &row.serializer),
            GroupBy::PeerHost => (peer_host(&row.peer), ""),
            GroupBy::Node => (&row.node, ""),
        }
    }

    /// The name of the group `row` belongs to (the session id when not grouped).
    pub fn name_of(self, row: &SessionRow) -> String {
        match self {
            GroupBy::Sessions => row.id.to_string(),
            _ => name(self.parts(row)),
        }
    }
}

/// A group name from its parts: `ws/json` for a transport and its serializer, the one part
/// otherwise, [`UNKNOWN`] when empty.
fn name((a, b): (&str, &str)) -> String {
    match (a, b) {
        ("", "") => UNKNOWN.to_owned(),
        (a, "") => a.to_owned(),
        ("", b) => b.to_owned(),
        (a, b) => format!("{a}/{b}"),
    }
}

/// The host part of a peer address, without its port: `tcp4:127.0.0.1:52700` → `127.0.0.1`,
/// `tcp6:[::1]:40112` (and Crossbar's `tcp6:::1:40112`) → `::1`, `unix` or `unix:/path` →
/// `unix`, `127.0.0.1:80` → `127.0.0.1`; empty when the peer is not known.
pub fn peer_host(peer: &str) -> &str {
    let peer = peer.trim();
    let (scheme, rest) = match peer.split_once(':') {
        Some((s, rest)) if is_scheme(s) => (s, rest),
        _ => ("", peer),
    };
    if scheme.starts_with("unix") || scheme == "pipe" || peer == "unix" {
        return "unix";
    }
    if let Some(inner) = rest.strip_prefix('[') {
        return inner.split_once(']').map_or(inner, |(host, _)| host);
    }
    // Without a scheme, more than one colon is an IPv6 address without a port.
    let one_colon = rest.matches(':').count() == 1;
    match rest.rsplit_once(':') {
        Some((host, port))
            if (!scheme.is_empty() || one_colon) && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        _ => rest,
    }
}

/// Whether the text before a peer's first colon names its kind (`tcp4`, `tls6`, `unix`…)
/// rather than starting an address.
fn is_scheme(s: &str) -> bool {
    matches!(
        s,
        "tcp" | "tcp4" | "tcp6" | "tls" | "tls4" | "tls6" | "unix" | "unix-abstract" | "pipe"
    )
}

/// One group: its sessions' counts, summed rates and totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Its name: the authid, role, transport (`ws/json`), host or node the sessions share.
    pub name: String,
    /// Sessions that have not left.
    pub live: usize,
    /// Sessions that left (shown until the retention passes): in the totals, not in `live`.
    pub left: usize,
    /// Summed messages/s of its sessions (sessions that left count 0).
    pub msgs_per_s: f64,
    /// Summed bytes/s of its sessions.
    pub bytes_per_s: f64,
    /// Summed messages since join, sessions that left included.
    pub messages: u64,
    /// Summed bytes since join, sessions that left included.
    pub bytes: u64,
    /// Whether any session has sent a stats event (else the totals are not known: `–`).
    pub has_stats: bool,
    /// Its sessions, in the model's order.
    pub members: Vec<Key>,
}

impl Group {
    fn new(name: String) -> Self {
        Group {
            name,
            live: 0,
            left: 0,
            msgs_per_s: 0.0,
            bytes_per_s: 0.0,
            messages: 0,
            bytes: 0,
            has_stats: false,
            members: Vec::new(),
        }
    }

    fn add(&mut self, row: &SessionRow, now: f64) {
        if row.left_at.is_some() {
            self.left += 1;
        } else {
            self.live += 1;
        }
        self.msgs_per_s += row.messages_per_s(now);
        self.bytes_per_s += row.bytes_per_s(now);
        self.messages += row.totals.messages;
        self.bytes += row.totals.bytes;
        self.has_stats |= !row.history.is_empty() || row.totals.messages > 0;
        self.members.push(row.key());
    }

    /// All its sessions, live and left.
    pub fn sessions(&self) -> usize {
        self.live + self.left
    }

    /// Its summed messages/s over `window`: [`POINTS`] per-second rates, oldest first, the
    /// sum of its members' series (see [`crate::series::Series::add_rates_into`]).
    pub fn trend(&self, model: &Model, window: Window, now: f64) -> Vec<f64> {
        let mut acc = vec![0.0; POINTS];
        for row in self.members.iter().filter_map(|k| model.sessions.get(k)) {
            row.series
                .add_rates_into(window, Channel::Msgs, now, &mut acc);
        }
        acc
    }
}

/// The groups (by `by`) of the model's sessions that match the lower-case filter `needle`
/// (see [`matches()`]), in the order their first session became known; empty when not grouped.
/// One pass over the sessions with a map from name parts to groups.
pub fn groups(model: &Model, by: GroupBy, needle: &str, now: f64) -> Vec<Group> {
    if !by.is_grouped() {
        return Vec::new();
    }
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    let mut out: Vec<Group> = Vec::new();
    for row in model.sessions.values() {
        if !matches(row, model.router_name(row.router), needle) {
            continue;
        }
        let parts = by.parts(row);
        let i = *index.entry(parts).or_insert_with(|| {
            out.push(Group::new(name(parts)));
            out.len() - 1
        });
        out[i].add(row, now);
    }
    out
}

/// What groups sort by; see [`GroupOrder::of`] for how the view's sort column maps to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupOrder {
    /// The group name, A to Z.
    Name,
    /// Live sessions (then all sessions), most first.
    Sessions,
    /// Messages since join, most first.
    Messages,
    /// Bytes since join, most first.
    Bytes,
    /// Messages per second, most first.
    MessagesPerS,
    /// Bytes per second, most first.
    BytesPerS,
}

impl GroupOrder {
    /// How the session table's sort column sorts groups:
    ///
    /// | sort column                                   | groups by        |
    /// |-----------------------------------------------|------------------|
    /// | router, node, authid, role, transport, serializer, age | name, A to Z |
    /// | session (the id column), cycle                | session count    |
    /// | msgs, rated                                   | messages         |
    /// | bytes                                         | bytes            |
    /// | msgs/s                                        | messages/s       |
    /// | bytes/s                                       | bytes/s          |
    pub fn of(sort: SortColumn) -> GroupOrder {
        match sort {
            SortColumn::Router
            | SortColumn::Node
            | SortColumn::Authid
            | SortColumn::Role
            | SortColumn::Transport
            | SortColumn::Serializer
            | SortColumn::Age => GroupOrder::Name,
            SortColumn::Session | SortColumn::Cycle => GroupOrder::Sessions,
            SortColumn::Messages | SortColumn::Rated => GroupOrder::Messages,
            SortColumn::Bytes => GroupOrder::Bytes,
            SortColumn::MessagesPerS => GroupOrder::MessagesPerS,
            SortColumn::BytesPerS => GroupOrder::BytesPerS,
        }
    }

    /// Compares two groups in this order's natural direction (names A to Z, numbers most
    /// first).
    fn compare(self, a: &Group, b: &Group) -> Ordering {
        match self {
            GroupOrder::Name => a.name.cmp(&b.name),
            GroupOrder::Sessions => b.live.cmp(&a.live).then(b.sessions().cmp(&a.sessions())),
            GroupOrder::Messages => b.messages.cmp(&a.messages),
            GroupOrder::Bytes => b.bytes.cmp(&a.bytes),
            GroupOrder::MessagesPerS => b.msgs_per_s.total_cmp(&a.msgs_per_s),
            GroupOrder::BytesPerS => b.bytes_per_s.total_cmp(&a.bytes_per_s),
        }
    }
}

/// Sorts groups by the view's sort column (see [`GroupOrder::of`]), `reversed` against its
/// natural direction; ties by name, so the order is stable.
pub fn sort(groups: &mut [Group], column: SortColumn, reversed: bool) {
    let order = GroupOrder::of(column);
    groups.sort_by(|a, b| {
        let by = order.compare(a, b);
        let by = if reversed { by.reverse() } else { by };
        by.then_with(|| a.name.cmp(&b.name))
    });
}

/// The grouping's part of the [`View`]: how sessions are grouped, which group is open (its
/// sessions shown after Enter) and which is selected in the group table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grouping {
    /// How sessions are grouped.
    pub by: GroupBy,
    /// The group whose sessions the session table shows (Enter on a group; Esc closes it).
    pub open: Option<String>,
    /// The selected group, by name (kept across re-sorting and updates).
    pub selected: Option<String>,
    /// Where the selection was in the group table (used when the selected group vanishes).
    pub cursor: usize,
    /// The first visible group row.
    pub scroll: usize,
    /// Whether the selection follows its group (after the user moved it or opened the group)
    /// rather than staying on its row (at first: the top row, whichever group is busiest).
    pub follow: bool,
}

impl Grouping {
    /// Whether the screen shows the group table (grouped, no group open).
    pub fn shows_groups(&self) -> bool {
        self.by.is_grouped() && self.open.is_none()
    }

    /// Whether the session table shows `row`: every session unless a group is open.
    pub fn admits(&self, row: &SessionRow) -> bool {
        match &self.open {
            Some(open) if self.by.is_grouped() => name(self.by.parts(row)) == *open,
            _ => true,
        }
    }

    /// The open group as the title says it: `authid = billing-service`.
    pub fn open_title(&self) -> Option<String> {
        let open = self.open.as_ref().filter(|_| self.by.is_grouped())?;
        Some(format!("{} = {open}", self.by.label()))
    }

    /// `g`: the next grouping, with nothing open and the top group selected.
    pub fn cycle(&mut self) {
        *self = Grouping {
            by: self.by.next(),
            ..Grouping::default()
        };
    }

    /// The index of the selected group in `names`: the selected group's, or the last cursor
    /// position (clamped) when it is gone; `None` when there are no groups.
    pub fn selected_index(&self, names: &[String]) -> Option<usize> {
        if names.is_empty() {
            return None;
        }
        let found = self
            .selected
            .as_ref()
            .and_then(|s| names.iter().position(|n| n == s));
        Some(found.unwrap_or(self.cursor.min(names.len() - 1)))
    }

    /// Selects group `i` of `names` and scrolls so that it is visible in `page` rows.
    pub fn select(&mut self, i: usize, names: &[String], page: usize) {
        self.cursor = i;
        self.selected = names.get(i).cloned();
        let page = page.max(1);
        if i < self.scroll {
            self.scroll = i;
        } else if i >= self.scroll + page {
            self.scroll = i + 1 - page;
        }
        self.scroll = self.scroll.min(names.len().saturating_sub(page));
    }

    /// Re-finds the selection in `names` (the top row until it follows a group) and scrolls
    /// to it.
    pub fn sync(&mut self, names: &[String], page: usize) {
        if !self.follow {
            self.selected = None;
        }
        match self.selected_index(names) {
            Some(i) => self.select(i, names, page),
            None => {
                self.cursor = 0;
                self.scroll = 0;
            }
        }
    }
}

/// The rows of the last frame, which the next key acts on: sessions, or groups (by name)
/// while the group table is shown.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    /// The session table's sessions, in screen order.
    Sessions(Vec<Key>),
    /// The group table's groups, in screen order.
    Groups(Vec<String>),
}

impl Default for Rows {
    fn default() -> Self {
        Rows::Sessions(Vec::new())
    }
}

impl Rows {
    /// The sessions (none while groups are shown).
    pub fn sessions(&self) -> &[Key] {
        match self {
            Rows::Sessions(keys) => keys,
            Rows::Groups(_) => &[],
        }
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        match self {
            Rows::Sessions(keys) => keys.len(),
            Rows::Groups(names) => names.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl View {
    /// The groups to show, filtered and sorted (empty when not grouped).
    pub fn visible_groups(&self, model: &Model, now: f64) -> Vec<Group> {
        let needle = self.filter.to_lowercase();
        let mut out = groups(model, self.grouping.by, &needle, now);
        sort(&mut out, self.sort, self.reversed);
        out
    }

    /// The rows the screen shows: the groups while the group table is up, else the sessions.
    pub fn visible(&self, model: &Model, now: f64) -> Rows {
        if self.grouping.shows_groups() {
            let names = self.visible_groups(model, now);
            Rows::Groups(names.into_iter().map(|g| g.name).collect())
        } else {
            Rows::Sessions(self.visible_rows(model, now))
        }
    }

    /// Handles one key press on the rows of the last frame: on groups, the movement keys move
    /// over groups, Enter opens one and `x` does nothing; everything else (and every key on
    /// sessions) as [`View::on_key`].
    pub fn on_key_rows(&mut self, key: KeyEvent, rows: &Rows) -> Action {
        match rows {
            Rows::Sessions(keys) => self.on_key(key, keys),
            Rows::Groups(names) => self.on_group_key(key, names),
        }
    }

    fn on_group_key(&mut self, key: KeyEvent, names: &[String]) -> Action {
        use KeyCode::{Char, Down, End, Enter, Home, PageDown, PageUp, Up};
        let on_table = self.mode == Mode::Normal && self.focus == Focus::Table;
        if key.kind == KeyEventKind::Release || !on_table {
            return self.on_key(key, &[]);
        }
        self.grouping.sync(names, self.page);
        let page = self.page.saturating_sub(1).max(1) as isize;
        match key.code {
            Up | Char('k') => self.move_group(-1, names),
            Down | Char('j') => self.move_group(1, names),
            PageUp => self.move_group(-page, names),
            PageDown => self.move_group(page, names),
            Home => self.move_group(isize::MIN / 2, names),
            End => self.move_group(isize::MAX / 2, names),
            Enter => self.open_group(names),
            Char('x') => Action::None,
            _ => self.on_key(key, &[]),
        }
    }

    pub(crate) fn move_group(&mut self, delta: isize, names: &[String]) -> Action {
        self.grouping.follow = true;
        if let Some(i) = self.grouping.selected_index(names) {
            let to = i.saturating_add_signed(delta).min(names.len() - 1);
            self.grouping.select(to, names, self.page);
        }
        Action::None
    }

    /// Enter on a group: the session table of its sessions, from the top.
    fn open_group(&mut self, names: &[String]) -> Action {
        if let Some(i) = self.grouping.selected_index(names) {
            self.grouping.selected = Some(names[i].clone());
            self.grouping.follow = true;
            self.grouping.open = Some(names[i].clone());
            self.selected = None;
            self.cursor = 0;
            self.scroll = 0;
            self.follow = false;
        }
        Action::None
    }

    /// `g`: the next grouping (from an open group too).
    pub(crate) fn cycle_grouping(&mut self) -> Action {
        self.grouping.cycle();
        self.selected = None;
        self.cursor = 0;
        self.scroll = 0;
        self.follow = false;
        Action::None
    }
}

#[cfg(test)]
mod tests;
