//! Several routers as one over NATS (`../shared/cluster.md`): the subjects WAMP names map to.

pub mod subject;
