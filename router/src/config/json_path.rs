//! JSON paths: where in the file an item is, rendered like `workers[0].transports[0].paths["/"]`
//! for messages.

use std::fmt;

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// An object's key.
    Key(String),
    /// An array's index.
    Index(usize),
}

/// A path into the JSON document, rendered like `workers[0].transports[0].paths["/"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct JsonPath(Vec<Seg>);

impl JsonPath {
    /// `self` followed by the object key `key`.
    pub(super) fn key(&self, key: &str) -> JsonPath {
        self.child(Seg::Key(key.to_owned()))
    }

    /// `self` followed by the array index `index`.
    pub(super) fn index(&self, index: usize) -> JsonPath {
        self.child(Seg::Index(index))
    }

    /// `self` followed by `seg`.
    fn child(&self, seg: Seg) -> JsonPath {
        let mut segs = self.0.clone();
        segs.push(seg);
        JsonPath(segs)
    }

    /// Whether `self` is `prefix` or lies below it.
    pub(super) fn starts_with(&self, prefix: &JsonPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// `self` followed by the segments of a serde_path_to_error path.
    pub(super) fn join_tracked(&self, tail: &serde_path_to_error::Path) -> JsonPath {
        use serde_path_to_error::Segment;
        let mut segs = self.0.clone();
        for seg in tail.iter() {
            match seg {
                Segment::Seq { index } => segs.push(Seg::Index(*index)),
                Segment::Map { key } => segs.push(Seg::Key(key.clone())),
                Segment::Enum { variant } => segs.push(Seg::Key(variant.clone())),
                Segment::Unknown => {}
            }
        }
        JsonPath(segs)
    }

    /// `self` followed by the segments of a serde_ignored path.
    pub(super) fn join_ignored(&self, tail: &serde_ignored::Path<'_>) -> JsonPath {
        let mut segs = self.0.clone();
        ignored_segments(tail, &mut segs);
        JsonPath(segs)
    }
}

/// The segments of a serde_ignored path (appended to `out`).
fn ignored_segments(path: &serde_ignored::Path<'_>, out: &mut Vec<Seg>) {
    use serde_ignored::Path as P;
    match path {
        P::Root => {}
        P::Seq { parent, index } => {
            ignored_segments(parent, out);
            out.push(Seg::Index(*index));
        }
        P::Map { parent, key } => {
            ignored_segments(parent, out);
            out.push(Seg::Key(key.clone()));
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_segments(parent, out);
        }
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(n) => write!(f, "[{n}]")?,
                Seg::Key(k) if is_identifier(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Key(k) => write!(f, "[{k:?}]")?,
            }
        }
        Ok(())
    }
}

/// Whether a key can be written after a `.` (otherwise it is written as `["key"]`).
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
