//! `wamp-router`: a WAMP v2 router (broker and dealer) configured like Crossbar.io.
//!
//! [`Router::start`] binds the transports of a [`config::Config`]; each connection runs in
//! [`session`]; realms ([`realm`]) own a [`broker`] and a [`dealer`]; [`auth`] applies the
//! roles' permissions.

pub mod auth;
pub mod broker;
pub mod config;
pub mod dealer;
pub mod handle;
pub mod listener;
pub mod meta;
pub mod meta_api;
pub mod realm;
pub mod router;
pub mod session;
pub mod stats;
mod sync;
pub mod uri_index;

pub use router::{Endpoint, Router, RouterOptions, StartError};
