//! A radix tree of strings, for prefix patterns: every stored key that is a prefix of a string
//! is found in one walk along that string, in time proportional to its length, however many
//! keys are stored. A prefix is a string prefix (byte-wise), not a component-wise one: `com.a`
//! is a prefix of `com.ab`.
//!
//! Each node holds the bytes of its edge; a node without a value has at least two children
//! (the root excepted), so the tree has at most twice as many nodes as keys, and its edges hold
//! at most the keys' bytes.

/// Strings (keys) to values, searchable by "every key that is a prefix of this string".
#[derive(Debug)]
pub struct PrefixTrie<V> {
    root: Node<V>,
}

#[derive(Debug)]
struct Node<V> {
    /// The bytes from the parent to this node (empty for the root only).
    label: Box<[u8]>,
    value: Option<V>,
    /// Sorted by the first byte of their labels, which differ.
    children: Vec<Node<V>>,
}

impl<V> Default for PrefixTrie<V> {
    fn default() -> Self {
        PrefixTrie {
            root: Node {
                label: Box::default(),
                value: None,
                children: Vec::new(),
            },
        }
    }
}

impl<V> Node<V> {
    fn child(&self, first: u8) -> Result<usize, usize> {
        self.children
            .binary_search_by_key(&first, |c| c.label.first().copied().unwrap_or(0))
    }

    /// Splits this node's edge after `at` bytes: the rest becomes its only child.
    fn split(&mut self, at: usize) {
        let tail = Node {
            label: self.label[at..].into(),
            value: self.value.take(),
            children: std::mem::take(&mut self.children),
        };
        self.label = self.label[..at].into();
        self.children.push(tail);
    }

    /// Merges a valueless node with its only child.
    fn merge_only_child(&mut self) {
        if self.value.is_none()
            && self.children.len() == 1
            && let Some(child) = self.children.pop()
        {
            let mut label = std::mem::take(&mut self.label).into_vec();
            label.extend_from_slice(&child.label);
            self.label = label.into();
            self.value = child.value;
            self.children = child.children;
        }
    }
}

fn common_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl<V> PrefixTrie<V> {
    /// Stores `value` under `key`; returns the value it replaces.
    pub fn insert(&mut self, key: &str, value: V) -> Option<V> {
        let mut node = &mut self.root;
        let mut key = key.as_bytes();
        loop {
            let Some(&first) = key.first() else {
                return node.value.replace(value);
            };
            match node.child(first) {
                Err(at) => {
                    node.children.insert(
                        at,
                        Node {
                            label: key.into(),
                            value: Some(value),
                            children: Vec::new(),
                        },
                    );
                    return None;
                }
                Ok(at) => {
                    let child = &mut node.children[at];
                    let common = common_len(&child.label, key);
                    if common < child.label.len() {
                        child.split(common);
                    }
                    key = &key[common..];
                    node = child;
                }
            }
        }
    }

    /// The child indices from the root to the node of `key`, if it has one.
    fn path(&self, key: &str) -> Option<Vec<usize>> {
        let mut node = &self.root;
        let mut key = key.as_bytes();
        let mut path = Vec::new();
        while let Some(&first) = key.first() {
            let at = node.child(first).ok()?;
            node = &node.children[at];
            key = key.strip_prefix(&*node.label)?;
            path.push(at);
        }
        Some(path)
    }

    fn node_mut(&mut self, path: &[usize]) -> Option<&mut Node<V>> {
        let mut node = &mut self.root;
        for &at in path {
            node = node.children.get_mut(at)?;
        }
        Some(node)
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let path = self.path(key)?;
        let value = self.node_mut(&path)?.value.take()?;
        // Only the node and its parent can break the invariant.
        if let Some((&last, above)) = path.split_last()
            && let Some(parent) = self.node_mut(above)
        {
            if parent
                .children
                .get(last)
                .is_some_and(|c| c.children.is_empty())
            {
                parent.children.remove(last);
                if !above.is_empty() {
                    parent.merge_only_child();
                }
            } else if let Some(node) = parent.children.get_mut(last) {
                node.merge_only_child();
            }
        }
        Some(value)
    }

    /// The value stored under exactly `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        let path = self.path(key)?;
        let mut node = &self.root;
        for at in path {
            node = &node.children[at];
        }
        node.value.as_ref()
    }

    /// Calls `f` with the value of every key that is a prefix of `s`, shortest first.
    pub fn prefixes_of<'a>(&'a self, s: &str, mut f: impl FnMut(&'a V)) {
        let mut node = &self.root;
        let mut rest = s.as_bytes();
        loop {
            if let Some(v) = &node.value {
                f(v);
            }
            let Some(&first) = rest.first() else { return };
            let Ok(at) = node.child(first) else { return };
            node = &node.children[at];
            let Some(r) = rest.strip_prefix(&*node.label) else {
                return;
            };
            rest = r;
        }
    }

    /// The value of the longest key that is a prefix of `s`.
    pub fn longest_prefix_of(&self, s: &str) -> Option<&V> {
        let mut longest = None;
        self.prefixes_of(s, |v| longest = Some(v));
        longest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_splits_and_merges_back() {
        let mut t = PrefixTrie::default();
        assert_eq!(t.insert("com.a", 1), None);
        assert_eq!(t.insert("com.ab", 2), None);
        assert_eq!(t.insert("com.", 3), None);
        assert_eq!(t.insert("", 4), None);
        assert_eq!(t.insert("com.a", 5), Some(1));
        let mut seen = Vec::new();
        t.prefixes_of("com.abc", |v| seen.push(*v));
        assert_eq!(seen, [4, 3, 5, 2]);
        assert_eq!(t.longest_prefix_of("com.b"), Some(&3));
        assert_eq!(t.get("com"), None);
        assert_eq!(t.remove("com.a"), Some(5));
        assert_eq!(t.remove("com.a"), None);
        assert_eq!(t.get("com.ab"), Some(&2));
        assert_eq!(t.longest_prefix_of("com.abc"), Some(&2));
        assert_eq!(t.remove("com.ab"), Some(2));
        assert_eq!(t.remove("com."), Some(3));
        assert_eq!(t.remove(""), Some(4));
        assert!(t.root.children.is_empty());
    }

    #[test]
    fn unicode_keys_split_inside_characters() {
        let mut t = PrefixTrie::default();
        t.insert("é", 1);
        t.insert("è", 2);
        assert_eq!(t.longest_prefix_of("é.x"), Some(&1));
        assert_eq!(t.longest_prefix_of("è"), Some(&2));
        assert_eq!(t.longest_prefix_of("e"), None);
    }
}
