//! `wamp-monitor`: a live terminal dashboard of every WAMP session's traffic, fed by the
//! router's `wamp.session.*` meta events.
//!
//! [`feed`] follows the router, [`model`] is the pure model, [`view`] the UI state, [`keys`]
//! what keys do to it and [`ui`] the drawing; [`app`] runs the dashboard on them; [`headless`]
//! prints events for scripts; [`demo`] runs a router with traffic.

pub mod app;
pub mod demo;
pub mod feed;
pub mod format;
pub mod headless;
pub mod keys;
pub mod model;
pub mod ui;
pub mod view;
