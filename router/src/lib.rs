//! `wamp-router`: a WAMP v2 router (broker and dealer) configured like Crossbar.io, which counts
//! every session's traffic and publishes it as Crossbar's `wamp.session.*` meta events.
//!
//! # The public API
//! What `wamp-router` (the binary), `wamp-monitor --demo`, the load generator's tests and other
//! embedders use:
//! - [`config::Config`]: a Crossbar-shaped `config.json`, loaded and validated
//!   ([`config::Config::load`], [`config::Config::parse`], the embedded default);
//! - [`Router::start`] binds its transports with [`RouterOptions`] (queue sizes, per-session
//!   limits, timeouts) and returns a running [`Router`]: its [`Endpoint`]s and URLs, and
//!   [`Router::shutdown`], which says GOODBYE to every session;
//! - [`LIMIT_EXCEEDED`], the error URI of a request beyond a per-session limit.
//! - [`CALLEE_OVERLOADED`], the error URI of a call whose callee's queue is full.
//!
//! # The rooms inside, top to bottom
//! Each imports only rooms below it:
//! - `router`: starts a listener per transport and shuts down (the top: it wires the rest);
//! - `listener`: accepts connections and runs their transport handshakes;
//! - `session`: one task per connection — `handshake` (HELLO → WELCOME or ABORT), `dispatch`
//!   (one frame in, replies out), `pubsub` and `rpc` (one handler per message), the ending;
//! - `cluster` **[ours]**: with a `cluster` block only, the node's NATS connection,
//!   heartbeats and node table, behind the [`cluster::Cluster`] handle each realm holds;
//! - `meta_procedures`: the meta API's procedures, answered in-process;
//! - `context`: what every session shares (realms, options, the shutdown signal);
//! - `realm`: a realm's sessions, broker, dealer and meta events;
//! - `meta_events`: the meta events, published through the broker;
//! - `meta_details`: the dicts that meta events and procedures both return;
//! - `broker` and `dealer`: subscriptions and publications; registrations and calls;
//! - `authorize`: the one check of a URI for an action (valid, outside `wamp.`, permitted);
//! - `session_handle`: a joined session as the others see it (identity, queue, quota);
//! - `outbox`, `limits`, `refusal`, `stats`, `options`: its parts and the vocabulary shared by
//!   all;
//! - `uri_index` (over `prefix_trie` and `wildcard_index`) and `members`: how the broker and
//!   the dealer find subscriptions, registrations and their sessions without scanning.

#![deny(clippy::unwrap_used, clippy::expect_used)]

mod authorize;
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench;
mod broker;
pub mod cluster;
pub mod config;
mod context;
mod dealer;
mod history;
mod limits;
mod listener;
mod log_budget;
mod members;
mod meta_details;
mod meta_events;
mod meta_procedures;
mod metrics;
mod options;
mod outbox;
mod prefix_trie;
mod realm;
mod refusal;
mod retention;
mod router;
#[cfg(test)]
mod routing_proptest;
mod session;
mod session_handle;
mod stats;
mod testament;
mod uri_index;
mod wildcard_index;

pub use dealer::CALLEE_OVERLOADED;
pub use limits::LIMIT_EXCEEDED;
pub use options::RouterOptions;
/// What a realm holds, counted ([`Router::routing_counts`]), for tests; not part of the
/// router's API.
#[doc(hidden)]
pub use realm::RoutingCounts;
#[doc(hidden)]
pub use router::Census;
pub use router::{Endpoint, Router, StartError};

/// The broker's and dealer's URI index, public for the fuzz targets (`fuzz/`) that compare its
/// answers with a naive matcher; not part of the router's API.
#[doc(hidden)]
pub use uri_index::UriIndex;
