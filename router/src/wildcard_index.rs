//! Wildcard patterns indexed by component: `com..topic` matches `com.<anything>.topic` (an empty
//! component matches any one component; the number of components must be equal).
//!
//! Patterns are grouped by their number of components, and each group is a tree over the
//! components where an empty one is the "any" branch. Matching a URI walks only the branches
//! that agree with it: its cost grows with the patterns that share the URI's components (at
//! most all of them, as a scan), not with the number of patterns.

use std::collections::HashMap;

/// Wildcard patterns to values.
#[derive(Debug)]
pub struct WildcardIndex<V> {
    by_count: HashMap<usize, Node<V>>,
}

impl<V> Default for WildcardIndex<V> {
    fn default() -> Self {
        WildcardIndex {
            by_count: HashMap::new(),
        }
    }
}

#[derive(Debug)]
struct Node<V> {
    /// Set at the depth of the group's component count only.
    value: Option<V>,
    /// The branch of an empty component.
    any: Option<Box<Node<V>>>,
    literal: HashMap<Box<str>, Node<V>>,
}

impl<V> Default for Node<V> {
    fn default() -> Self {
        Node {
            value: None,
            any: None,
            literal: HashMap::new(),
        }
    }
}

impl<V> Node<V> {
    fn next(&self, component: &str) -> Option<&Node<V>> {
        if component.is_empty() {
            self.any.as_deref()
        } else {
            self.literal.get(component)
        }
    }

    fn next_mut(&mut self, component: &str) -> Option<&mut Node<V>> {
        if component.is_empty() {
            self.any.as_deref_mut()
        } else {
            self.literal.get_mut(component)
        }
    }

    fn branches(&self) -> usize {
        self.literal.len() + usize::from(self.any.is_some())
    }
}

fn count(uri: &str) -> usize {
    uri.bytes().filter(|&b| b == b'.').count() + 1
}

impl<V> WildcardIndex<V> {
    /// Stores `value` under `pattern`; returns the value it replaces.
    pub fn insert(&mut self, pattern: &str, value: V) -> Option<V> {
        let mut node = self.by_count.entry(count(pattern)).or_default();
        for c in pattern.split('.') {
            node = if c.is_empty() {
                node.any.get_or_insert_with(Box::default)
            } else {
                node.literal.entry(c.into()).or_default()
            };
        }
        node.value.replace(value)
    }

    /// The value stored under exactly `pattern`.
    pub fn get(&self, pattern: &str) -> Option<&V> {
        let mut node = self.by_count.get(&count(pattern))?;
        for c in pattern.split('.') {
            node = node.next(c)?;
        }
        node.value.as_ref()
    }

    /// Removes `pattern`; returns its value. The branches only it used go with it.
    pub fn remove(&mut self, pattern: &str) -> Option<V> {
        let n = count(pattern);
        // The deepest node on the path that other patterns need too, and how deep it is:
        // below it, the path is the removed pattern's alone.
        let mut keep: Option<usize> = None;
        let mut node = self.by_count.get(&n)?;
        for (depth, c) in pattern.split('.').enumerate() {
            if node.branches() > 1 {
                keep = Some(depth);
            }
            node = node.next(c)?;
        }
        node.value.as_ref()?;
        let Some(keep) = keep else {
            // The whole group was this pattern's.
            return self.by_count.remove(&n).and_then(|mut root| {
                let mut node = &mut root;
                for c in pattern.split('.') {
                    node = node.next_mut(c)?;
                }
                node.value.take()
            });
        };
        let mut node = self.by_count.get_mut(&n)?;
        let mut components = pattern.split('.');
        for c in components.by_ref().take(keep) {
            node = node.next_mut(c)?;
        }
        let c = components.next()?;
        let mut cut = if c.is_empty() {
            *node.any.take()?
        } else {
            node.literal.remove(c)?
        };
        let mut node = &mut cut;
        for c in components {
            node = node.next_mut(c)?;
        }
        node.value.take()
    }

    /// Calls `f` with the value of every pattern that matches `uri`.
    pub fn matching<'a>(&'a self, uri: &str, mut f: impl FnMut(&'a V)) {
        if self.by_count.is_empty() {
            return;
        }
        let Some(root) = self.by_count.get(&count(uri)) else {
            return;
        };
        let components: Vec<&str> = uri.split('.').collect();
        let mut stack = vec![(root, 0)];
        while let Some((node, depth)) = stack.pop() {
            let Some(c) = components.get(depth) else {
                if let Some(v) = &node.value {
                    f(v);
                }
                continue;
            };
            if let Some(next) = node.any.as_deref() {
                stack.push((next, depth + 1));
            }
            // An empty component of the URI matches only the "any" branch.
            if !c.is_empty()
                && let Some(next) = node.literal.get(*c)
            {
                stack.push((next, depth + 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(w: &WildcardIndex<u32>, uri: &str) -> Vec<u32> {
        let mut v = Vec::new();
        w.matching(uri, |x| v.push(*x));
        v.sort_unstable();
        v
    }

    #[test]
    fn matches_by_component_and_prunes_on_removal() {
        let mut w = WildcardIndex::default();
        assert_eq!(w.insert("com..c", 1), None);
        assert_eq!(w.insert("com.b.", 2), None);
        assert_eq!(w.insert("..", 3), None);
        assert_eq!(w.insert("", 4), None);
        assert_eq!(w.insert("com..c", 5), Some(1));
        assert_eq!(all(&w, "com.b.c"), [2, 3, 5]);
        assert_eq!(all(&w, "com.b.c.d"), Vec::<u32>::new());
        assert_eq!(all(&w, "x"), [4]);
        assert_eq!(
            all(&w, "com..c"),
            [3, 5],
            "an empty component matches only empty"
        );
        assert_eq!(w.get("com.b."), Some(&2));
        assert_eq!(w.remove("com.b."), Some(2));
        assert_eq!(w.remove("com.b."), None);
        assert_eq!(w.remove("com.b"), None);
        assert_eq!(all(&w, "com.b.c"), [3, 5]);
        assert_eq!(w.remove("com..c"), Some(5));
        assert_eq!(w.remove(".."), Some(3));
        assert_eq!(w.remove(""), Some(4));
        assert!(w.by_count.is_empty());
    }
}
