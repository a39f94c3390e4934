//! Several routers as one over NATS (`../shared/cluster.md`): the subjects WAMP names map
//! to, and the envelope a publication crosses in.

pub mod envelope;
pub mod interest;
pub mod names;
