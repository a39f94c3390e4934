//! The sessions of one subscription or registration: in order, with membership, insertion and
//! removal by session id in constant time (order-preserving removal, which the dealer's
//! `first`/`last`/`roundrobin` policies need, costs a shift of the later members).

use std::sync::Arc;

use indexmap::IndexMap;
use wamp::Id;

use crate::session_handle::SessionHandle;

/// Sessions by id, in the order they joined (see the removals for how they reorder).
#[derive(Debug, Default)]
pub struct Members {
    by_id: IndexMap<Id, Arc<SessionHandle>>,
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
        self.by_id.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Whether session `id` is a member.
    pub fn contains(&self, id: Id) -> bool {
        self.by_id.contains_key(&id)
    }

    /// The member at position `at`.
    pub fn get(&self, at: usize) -> Option<&Arc<SessionHandle>> {
        self.by_id.get_index(at).map(|(_, s)| s)
    }

    /// The members in order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<SessionHandle>> {
        self.by_id.values()
    }

    /// Adds `session` last; `false` when it is already a member.
    pub fn push(&mut self, session: &Arc<SessionHandle>) -> bool {
        if self.contains(session.id) {
            return false;
        }
        self.by_id.insert(session.id, Arc::clone(session));
        true
    }

    /// Removes session `id`; the last member takes its place (as `Vec::swap_remove`).
    pub fn swap_remove(&mut self, id: Id) -> Option<Arc<SessionHandle>> {
        self.by_id.swap_remove(&id)
    }

    /// Removes session `id`, keeping the others in order (as `Vec::remove`).
    pub fn shift_remove(&mut self, id: Id) -> Option<Arc<SessionHandle>> {
        self.by_id.shift_remove(&id)
    }
}
