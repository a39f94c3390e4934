//! Session testaments (the WAMP spec's Testament meta API): events a session leaves with the
//! router, to be published on its behalf once it is gone, in the order added — the `detached`
//! bucket first, then `destroyed` (this router has no session resumption, so a session is
//! detached and destroyed at once, and both buckets are published when it ends).

use wamp::{Dict, Payload, Value};

use crate::limits::LIMIT_EXCEEDED;
use crate::refusal::Refusal;

/// The most testaments a session may leave in each bucket.
pub const MAX_PER_SCOPE: usize = 64;
/// The most bytes of arguments a session's testaments may hold in all.
pub const MAX_BYTES: usize = 256 << 10;

/// When a testament is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// When the session is detached from its transport.
    Detached,
    /// When the session is destroyed (the default).
    Destroyed,
}

impl Scope {
    /// The `scope` keyword argument: `detached`, `destroyed`, or absent (`destroyed`).
    pub fn parse(v: Option<&Value>) -> Result<Scope, Refusal> {
        match v {
            None | Some(Value::Null) => Ok(Scope::Destroyed),
            Some(Value::Str(s)) if s == "destroyed" => Ok(Scope::Destroyed),
            Some(Value::Str(s)) if s == "detached" => Ok(Scope::Detached),
            Some(other) => Err(Refusal::invalid_argument(format!(
                "scope must be \"detached\" or \"destroyed\", got {other:?}"
            ))),
        }
    }
}

/// One event to publish when the session is gone.
#[derive(Debug, Clone, PartialEq)]
pub struct Testament {
    /// The topic.
    pub topic: String,
    /// The event's arguments and keyword arguments.
    pub payload: Payload,
    /// The `PUBLISH.Options` it is published with.
    pub options: Dict,
    /// What it counts against [`MAX_BYTES`].
    pub size: usize,
}

/// A session's testaments, by scope, in the order added.
#[derive(Debug, Default)]
pub struct Testaments {
    detached: Vec<Testament>,
    destroyed: Vec<Testament>,
    bytes: usize,
}

impl Testaments {
    fn bucket(&mut self, scope: Scope) -> &mut Vec<Testament> {
        match scope {
            Scope::Detached => &mut self.detached,
            Scope::Destroyed => &mut self.destroyed,
        }
    }

    /// Adds `t` to `scope`'s bucket, unless that would pass a limit.
    pub fn add(&mut self, scope: Scope, t: Testament) -> Result<(), Refusal> {
        let bytes = self.bytes + t.size;
        if bytes > MAX_BYTES {
            return Err(Refusal::new(
                LIMIT_EXCEEDED,
                format!("a session's testaments may hold at most {MAX_BYTES} bytes of arguments"),
            ));
        }
        let bucket = self.bucket(scope);
        if bucket.len() >= MAX_PER_SCOPE {
            return Err(Refusal::new(
                LIMIT_EXCEEDED,
                format!("a session may leave at most {MAX_PER_SCOPE} testaments per scope"),
            ));
        }
        bucket.push(t);
        self.bytes = bytes;
        Ok(())
    }

    /// How many testaments it holds, in both buckets.
    pub fn len(&self) -> usize {
        self.detached.len() + self.destroyed.len()
    }

    /// Removes `scope`'s testaments; returns how many there were.
    pub fn flush(&mut self, scope: Scope) -> usize {
        let gone = std::mem::take(self.bucket(scope));
        self.bytes -= gone.iter().map(|t| t.size).sum::<usize>();
        gone.len()
    }

    /// Takes every testament, `detached` ones first, each in the order added; none is left
    /// (so none is ever published twice).
    pub fn take_all(&mut self) -> Vec<Testament> {
        let mut all = std::mem::take(&mut self.detached);
        all.append(&mut self.destroyed);
        self.bytes = 0;
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(topic: &str, size: usize) -> Testament {
        Testament {
            topic: topic.into(),
            payload: Payload::empty(),
            options: Dict::new(),
            size,
        }
    }

    #[test]
    fn detached_ones_come_first_each_in_order_and_only_once() {
        let mut ts = Testaments::default();
        ts.add(Scope::Destroyed, t("a", 1)).unwrap();
        ts.add(Scope::Detached, t("b", 1)).unwrap();
        ts.add(Scope::Destroyed, t("c", 1)).unwrap();
        ts.add(Scope::Detached, t("d", 1)).unwrap();
        let topics: Vec<_> = ts.take_all().into_iter().map(|t| t.topic).collect();
        assert_eq!(topics, ["b", "d", "a", "c"]);
        assert!(ts.take_all().is_empty());
    }

    #[test]
    fn flush_empties_one_scope_and_limits_hold() {
        let mut ts = Testaments::default();
        ts.add(Scope::Destroyed, t("a", 10)).unwrap();
        ts.add(Scope::Detached, t("b", 10)).unwrap();
        assert_eq!(ts.flush(Scope::Destroyed), 1);
        assert_eq!(ts.take_all().len(), 1);
        for i in 0..MAX_PER_SCOPE {
            ts.add(Scope::Detached, t(&i.to_string(), 1)).unwrap();
        }
        let e = ts.add(Scope::Detached, t("x", 1)).unwrap_err();
        assert_eq!(e.error, LIMIT_EXCEEDED);
        ts.add(Scope::Destroyed, t("y", 1)).unwrap();
        let e = ts.add(Scope::Destroyed, t("z", MAX_BYTES)).unwrap_err();
        assert_eq!(e.error, LIMIT_EXCEEDED);
        assert_eq!(
            Scope::parse(Some(&"nope".into())).unwrap_err().error,
            "wamp.error.invalid_argument"
        );
    }
}
