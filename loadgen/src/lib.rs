//! `wamp-loadgen`: WAMP traffic with honest numbers.
//!
//! [`schedule`] lays requests on a fixed timeline (open loop) so that latency is measured from
//! the time a request was due, not from when a stalled sender got round to it (coordinated
//! omission); [`latency`] records and summarises; [`rpc`] and [`pubsub`] are the scenarios.

pub mod latency;
pub mod pubsub;
pub mod rpc;
pub mod schedule;
