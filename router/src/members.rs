//! The sessions of one subscription or registration, in the order they joined: membership,
//! insertion and removal by session id in (amortized) constant time, and the dealer's picks
//! (`first`, `last`, `roundrobin`, `random`) without a scan.
//!
//! Members sit in slots; a removal empties its slot, and the slots are compacted once the
//! empty ones outnumber the members, so that removing `n` members costs O(n) in all, not the
//! O(n²) of shifting a list. The round-robin cursor is a slot, kept across compactions: a
//! removal never makes the round robin skip or repeat anyone.

use std::collections::HashMap;
use std::sync::Arc;

use wamp::Id;

use crate::session_handle::SessionHandle;

/// Sessions by id, in the order they joined.
#[derive(Debug, Default)]
pub struct Members {
    /// The slot of each member.
    slot_of: HashMap<Id, usize>,
    /// Members and emptied slots, in joining order; never ends with an empty slot.
    slots: Vec<Option<Arc<SessionHandle>>>,
    /// The first slot that may hold a member (all before it are empty).
    head: usize,
    /// The slot the round robin serves next (or the first after it that holds a member).
    cursor: usize,
}

impl Members {
    /// One member.
    pub fn one(session: &Arc<SessionHandle>) -> Self {
        let mut m = Members::default();
        m.push(session);
        m
    }

    /// How many sessions.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// Whether session `id` is a member.
    pub fn contains(&self, id: Id) -> bool {
        self.slot_of.contains_key(&id)
    }

    /// The members in joining order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<SessionHandle>> {
        self.slots[self.head..].iter().flatten()
    }

    /// Adds `session` last; `false` when it is already a member.
    pub fn push(&mut self, session: &Arc<SessionHandle>) -> bool {
        if self.contains(session.id) {
            return false;
        }
        self.slot_of.insert(session.id, self.slots.len());
        self.slots.push(Some(Arc::clone(session)));
        true
    }

    /// Removes session `id`, keeping the others in order.
    pub fn remove(&mut self, id: Id) -> Option<Arc<SessionHandle>> {
        let slot = self.slot_of.remove(&id)?;
        let gone = self.slots.get_mut(slot)?.take();
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
        }
        // The slots popped may be reused by the next members: a cursor past the end would
        // then point beyond them, and the round robin would wrap around before serving them.
        // Past the end means "whoever joins next, else the first": the end of the slots.
        self.cursor = self.cursor.min(self.slots.len());
        if self.slots.is_empty() {
            self.head = 0;
            self.cursor = 0;
        }
        while self.slots.get(self.head).is_some_and(Option::is_none) {
            self.head += 1;
        }
        if self.slots.len() - self.head > 2 * self.len() + 8 || self.head > self.len() + 8 {
            self.compact();
        }
        gone
    }

    /// Drops the empty slots, moving the round-robin cursor with its member.
    fn compact(&mut self) {
        let mut cursor = None;
        let mut kept = Vec::with_capacity(self.len());
        for (at, s) in self.slots.drain(..).enumerate() {
            if at >= self.cursor && cursor.is_none() {
                cursor = Some(kept.len());
            }
            if let Some(s) = s {
                self.slot_of.insert(s.id, kept.len());
                kept.push(Some(s));
            }
        }
        self.cursor = cursor.unwrap_or(kept.len());
        self.slots = kept;
        self.head = 0;
    }

    /// The member who joined first.
    pub fn first(&self) -> Option<&Arc<SessionHandle>> {
        self.slots.get(self.head)?.as_ref()
    }

    /// The member who joined last.
    pub fn last(&self) -> Option<&Arc<SessionHandle>> {
        self.slots.last()?.as_ref()
    }

    /// The next member in turn (after the one this returned last, wrapping around).
    pub fn round_robin(&mut self) -> Option<&Arc<SessionHandle>> {
        if self.is_empty() {
            return None;
        }
        let from = self.cursor.clamp(self.head, self.slots.len());
        let at = (from..self.slots.len())
            .find(|&at| self.slots[at].is_some())
            .or_else(|| (self.head..from).find(|&at| self.slots[at].is_some()))?;
        self.cursor = at + 1;
        self.slots[at].as_ref()
    }

    /// A member drawn at random (uniformly: empty slots are drawn again, and they are at most
    /// about half of them).
    pub fn random(&self) -> Option<&Arc<SessionHandle>> {
        if self.is_empty() {
            return None;
        }
        loop {
            let at = rand::random_range(self.head..self.slots.len());
            if let Some(s) = &self.slots[at] {
                return Some(s);
            }
        }
    }

    /// **[ours]** The members that are client sessions of this node, not proxies of other
    /// cluster nodes ([`SessionHandle::is_proxy`]).
    pub fn local(&self) -> impl Iterator<Item = &Arc<SessionHandle>> {
        self.iter().filter(|s| !s.is_proxy())
    }

    /// **[ours]** Like [`Members::round_robin`], among the local members only: the next local
    /// one in turn (the proxies' turns are skipped, and so not served).
    pub fn round_robin_local(&mut self) -> Option<&Arc<SessionHandle>> {
        let mut local = None;
        for _ in 0..self.len() {
            match self.round_robin() {
                Some(s) if !s.is_proxy() => {
                    local = Some(s.id);
                    break;
                }
                Some(_) => {}
                None => break,
            }
        }
        let at = *self.slot_of.get(&local?)?;
        self.slots.get(at)?.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_handle::testing::session;

    fn ids(m: &Members) -> Vec<Id> {
        m.iter().map(|s| s.id).collect()
    }

    #[test]
    fn removals_keep_the_order_and_compact_the_slots() {
        let handles: Vec<_> = (1..=100).map(session).collect();
        let mut m = Members::default();
        for h in &handles {
            assert!(m.push(h));
        }
        assert!(!m.push(&handles[0]));
        for id in (1..=100).filter(|id| id % 3 != 0) {
            assert_eq!(m.remove(id).map(|s| s.id), Some(id));
        }
        assert_eq!(m.remove(1).map(|s| s.id), None);
        let expected: Vec<Id> = (1..=100).filter(|id| id % 3 == 0).collect();
        assert_eq!(ids(&m), expected);
        assert_eq!(m.len(), expected.len());
        assert!(m.slots.len() <= 2 * m.len() + 9, "{} slots", m.slots.len());
        assert_eq!(m.first().map(|s| s.id), Some(3));
        assert_eq!(m.last().map(|s| s.id), Some(99));
        for id in expected {
            assert!(m.contains(id));
            m.remove(id);
        }
        assert!(m.is_empty() && m.first().is_none() && m.random().is_none());
    }

    #[test]
    fn the_round_robin_neither_skips_nor_repeats_across_removals() {
        let handles: Vec<_> = (1..=40).map(session).collect();
        let mut m = Members::default();
        for h in &handles {
            m.push(h);
        }
        let next = |m: &mut Members| m.round_robin().map(|s| s.id);
        assert_eq!((next(&mut m), next(&mut m)), (Some(1), Some(2)));
        // Removing members already served, and the one due, and enough to compact.
        for id in (1..=30).filter(|&id| id != 20) {
            m.remove(id);
        }
        let served: Vec<_> = (0..12).filter_map(|_| next(&mut m)).collect();
        assert_eq!(
            served,
            vec![20, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 20],
            "the round robin goes on from where it was"
        );
        let r = m.random().map(|s| s.id);
        assert!(r.is_some_and(|id| id == 20 || id > 30));
    }

    #[test]
    fn a_member_joining_after_the_last_served_left_is_served_next() {
        // Found by the model-based test (tests/model_routing.rs): A and B served, B leaves,
        // C joins; C's turn came before A's again only while B stayed.
        let (a, b, c, d) = (session(1), session(2), session(3), session(4));
        let mut m = Members::one(&a);
        m.push(&b);
        let next = |m: &mut Members| m.round_robin().map(|s| s.id);
        assert_eq!((next(&mut m), next(&mut m)), (Some(1), Some(2)));
        m.remove(2);
        m.push(&c);
        assert_eq!(
            next(&mut m),
            Some(3),
            "the newcomer's turn, as if B had stayed"
        );
        assert_eq!(next(&mut m), Some(1));
        // And with nobody joining, the round robin wraps around to the first.
        m.remove(3);
        m.push(&d);
        m.remove(4);
        assert_eq!((next(&mut m), next(&mut m)), (Some(1), Some(1)));
    }
}
