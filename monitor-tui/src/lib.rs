//! `wamp-monitor`: a live terminal dashboard of every WAMP session's traffic, fed by the
//! router's `wamp.session.*` meta events.
//!
//! [`feed`] follows the router, [`model`] is the pure model, [`app`] the keys and [`ui`] the
//! drawing; [`headless`] prints events for scripts; [`demo`] runs a router with traffic.

pub mod app;
pub mod demo;
pub mod feed;
pub mod format;
pub mod headless;
pub mod model;
pub mod ui;
