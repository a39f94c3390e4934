//! The meta API: the events the router publishes about sessions, subscriptions and
//! registrations ([`events`]), the procedures that answer questions about them
//! ([`procedures`]), and the dicts both return ([`details`]).

pub mod details;
pub mod events;
pub mod procedures;

pub use events::MetaEvents;
