//! What one session may make the router keep: subscriptions, registrations and calls in
//! progress, each bounded per session, with one error when a bound is reached.
//!
//! A session's [`Quota`] counts what it holds. The broker and the dealer take a unit of it
//! under their own lock, when a request would add to what the session holds, and give it back
//! when the subscription, registration or call goes.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::refusal::Refusal;

/// The error of a request that would take a session beyond one of its [`Limits`].
pub const LIMIT_EXCEEDED: &str = "wampstat.error.limit_exceeded";

/// What a payload counts against a byte budget: the bytes its parts came in (a payload built
/// by a program, which has none, counts 64 per part).
pub fn payload_bytes(payload: &wamp::Payload) -> usize {
    let part = |p: &Option<wamp::payload::Part>| match p {
        Some(wamp::payload::Part::Raw(_, b)) => b.len(),
        Some(wamp::payload::Part::Value(_)) => 64,
        None => 0,
    };
    part(&payload.args) + part(&payload.kwargs)
}

/// Something a session holds in the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Subscriptions (one per topic and match policy).
    Subscriptions,
    /// Registrations.
    Registrations,
    /// Calls in progress, as a caller.
    Calls,
}

impl Resource {
    /// The refusal of a session that already holds `held`, the most allowed.
    fn exceeded(self, held: usize) -> Refusal {
        let message = match self {
            Resource::Subscriptions => {
                format!("this session already holds {held} subscriptions, the most allowed")
            }
            Resource::Registrations => {
                format!("this session already holds {held} registrations, the most allowed")
            }
            Resource::Calls => {
                format!("this session already has {held} calls in progress, the most allowed")
            }
        };
        Refusal::new(LIMIT_EXCEEDED, message)
    }
}

/// How much of each [`Resource`] one session may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Subscriptions.
    pub subscriptions: usize,
    /// Registrations.
    pub registrations: usize,
    /// Calls in progress.
    pub calls: usize,
    /// The longest URI (topic, procedure or pattern) it may use, in bytes.
    pub uri_length: usize,
}

impl Limits {
    fn of(&self, r: Resource) -> usize {
        match r {
            Resource::Subscriptions => self.subscriptions,
            Resource::Registrations => self.registrations,
            Resource::Calls => self.calls,
        }
    }
}

/// One session's use of each [`Resource`], bounded by its [`Limits`].
#[derive(Debug)]
pub struct Quota {
    limits: Limits,
    held: [AtomicUsize; 3],
}

impl Quota {
    /// Nothing held yet.
    pub fn new(limits: Limits) -> Self {
        Quota {
            limits,
            held: Default::default(),
        }
    }

    /// The limits it counts against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn counter(&self, r: Resource) -> &AtomicUsize {
        &self.held[r as usize]
    }

    /// Takes one unit of `r`, or refuses with [`LIMIT_EXCEEDED`] at the limit. The unit goes
    /// back when the returned guard is dropped, unless it is [`Held::keep`]t.
    pub fn acquire(&self, r: Resource) -> Result<Held<'_>, Refusal> {
        let limit = self.limits.of(r);
        self.counter(r)
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .map(|_| Held {
                quota: self,
                resource: r,
            })
            .map_err(|held| r.exceeded(held))
    }

    /// How many units of `r` are taken now.
    pub fn held(&self, r: Resource) -> usize {
        self.counter(r).load(Ordering::Acquire)
    }

    /// Gives back one unit of `r` (a subscription, registration or call that went).
    pub fn release(&self, r: Resource) {
        let _ = self
            .counter(r)
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }
}

/// A unit of a [`Quota`] taken for a request that may still fail: it goes back on drop.
#[derive(Debug)]
#[must_use = "dropping it gives the unit back at once"]
pub struct Held<'a> {
    quota: &'a Quota,
    resource: Resource,
}

impl Held<'_> {
    /// The request succeeded: the unit stays taken until [`Quota::release`].
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.quota.release(self.resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_refuses_at_its_limit_and_gives_back_what_is_not_kept() {
        let q = Quota::new(Limits {
            subscriptions: 2,
            registrations: 1,
            calls: 0,
            uri_length: 100,
        });
        q.acquire(Resource::Subscriptions).unwrap().keep();
        drop(q.acquire(Resource::Subscriptions).unwrap());
        // The dropped unit went back: one more may be kept.
        q.acquire(Resource::Subscriptions).unwrap().keep();
        let refused = q.acquire(Resource::Subscriptions).unwrap_err();
        assert_eq!(refused.error, LIMIT_EXCEEDED);
        assert_eq!(
            refused.message,
            "this session already holds 2 subscriptions, the most allowed"
        );
        q.release(Resource::Subscriptions);
        assert!(q.acquire(Resource::Subscriptions).is_ok());
        assert_eq!(
            q.acquire(Resource::Calls).unwrap_err().message,
            "this session already has 0 calls in progress, the most allowed"
        );
        q.acquire(Resource::Registrations).unwrap().keep();
        assert!(
            q.acquire(Resource::Registrations).is_err(),
            "kinds are apart"
        );
        q.release(Resource::Calls);
        assert!(q.acquire(Resource::Calls).is_err(), "never below zero");
    }
}
