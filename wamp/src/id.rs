//! WAMP IDs: integers in [1, 2^53], random (global scope) or sequential (session scope).

use std::sync::atomic::{AtomicU64, Ordering};

/// A WAMP ID (session, publication, subscription, registration, request).
pub type Id = u64;

/// The largest valid ID, 2^53 (the largest integer a double represents exactly).
pub const MAX_ID: Id = 1 << 53;

/// Whether `id` is in the range the specification allows, [1, 2^53].
pub fn is_valid(id: u64) -> bool {
    (1..=MAX_ID).contains(&id)
}

/// A random ID in [1, 2^53], for IDs of global scope (sessions, publications).
pub fn random_id() -> Id {
    rand::random_range(1..=MAX_ID)
}

/// Sequential IDs in [1, 2^53] for IDs of session or router scope (requests, subscriptions).
#[derive(Debug)]
pub struct IdSequence(AtomicU64);

impl IdSequence {
    /// A sequence whose first ID is 1.
    pub const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// The next ID; wraps to 1 after 2^53.
    pub fn next_id(&self) -> Id {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        n % MAX_ID + 1
    }
}

impl Default for IdSequence {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_bounds() {
        assert!(!is_valid(0));
        assert!(is_valid(1));
        assert!(is_valid(MAX_ID));
        assert!(!is_valid(MAX_ID + 1));
    }

    #[test]
    fn random_ids_are_valid_and_differ() {
        let a: Vec<Id> = (0..100).map(|_| random_id()).collect();
        assert!(a.iter().all(|&id| is_valid(id)));
        let distinct: std::collections::HashSet<_> = a.iter().collect();
        assert!(distinct.len() > 95);
    }

    #[test]
    fn sequence_starts_at_one_and_wraps() {
        let s = IdSequence::new();
        assert_eq!(s.next_id(), 1);
        assert_eq!(s.next_id(), 2);
        let s = IdSequence(AtomicU64::new(MAX_ID - 1));
        assert_eq!(s.next_id(), MAX_ID);
        assert_eq!(s.next_id(), 1);
    }
}
