//! `wamp-monitor`: a live terminal dashboard of every WAMP session's traffic, fed by the
//! router's `wamp.session.*` meta events.
//!
//! The modules, from the router to the screen:
//!
//! - [`targets`]: which routers to follow (`--url`, `--targets FILE`), each with its realm,
//!   serializer and login.
//! - [`feed`]: the connection to the router — join, subscribe to `wamp.session.`, fetch the
//!   sessions already there, reconnect — delivering [`feed::FeedItem`]s.
//! - [`model`]: the pure data model (sessions, totals, rates, recent cycles, the event log),
//!   changed only by meta events and time.
//! - [`stats`]: the `on_stats` event typed, decoded straight from the bytes.
//! - [`series`]: per-second wall-clock time series of traffic over 1, 5 and 15 minutes, for charts.
//! - [`view`]: the UI state (selection, scrolling, sort, filter, panes, the open
//!   [`view::Mode`]) and which rows of a model it shows.
//! - [`groups`]: the sessions grouped by authid, role, transport, peer host or node (`g`), one row
//!   per group with summed rates, totals and trend.
//! - [`keys`]: what keys do to the view; a key that needs the outside world (quit, kill) comes
//!   back as a [`keys::Action`].
//! - [`ui`]: draws a model and a view, and knows how much fits ([`view::View::fit`]).
//! - [`app`]: the dashboard, an [`app::App`] that owns the model, the view and the feed's
//!   channels and runs the fixed-rate loop.
//! - [`headless`]: `--plain`, `--json` and `--once`, output for scripts.
//! - [`record`]: `--record` and `--replay`, the feeds written to an NDJSON file as they arrive,
//!   read back and played at any speed.
//! - [`replay`]: a recording played into the model (pause, seek, speed), the dashboard's
//!   source with `--replay`.
//! - [`format`](mod@format): numbers, sizes and times as the short strings the screen shows.
//! - [`demo`]: `--demo`, a router in-process with traffic from the load generator.
//!
//! Dependencies point one way: [`model`] uses only [`series`], [`stats`] and [`format`](mod@format), [`view`] reads the model,
//! [`groups`] folds the model's sessions into groups and keeps the grouping's part of the view,
//! [`ui`] draws model and view, [`keys`] changes the view, and only [`app`] puts the feed, the
//! model, the view, the keys and the ui together.

pub mod app;
pub mod demo;
pub mod feed;
pub mod format;
pub mod groups;
pub mod headless;
pub mod keys;
pub mod model;
pub mod record;
pub mod replay;
pub mod series;
pub mod stats;
pub mod targets;
pub mod ui;
pub mod view;
