//! `wamp-loadgen`: WAMP traffic with honest numbers.
//!
//! [`schedule`] lays requests on a fixed timeline (open loop) so that latency is measured from
//! the time a request was due, not from when a stalled sender got round to it (coordinated
//! omission); [`latency`] records and summarises; [`rpc`] is the call scenario.

pub mod latency;
pub mod rpc;
pub mod schedule;
