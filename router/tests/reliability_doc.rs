//! RELIABILITY.md names, for each chaos case, defect and bad input, the test that asserts it
//! (`robustness::unknown_realm_is_refused_with_no_such_realm`, `session::tests::…`,
//! `codec::tests_lazy::…`): each named test must exist, so that the table cannot point at a
//! test that was renamed or removed.

use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("router/ has a parent")
        .to_path_buf()
}

/// The file that holds the tests of `module` (the first part of a reference), if it is one
/// RELIABILITY.md may name.
fn file_of(module: &str, rest: &[&str]) -> Option<PathBuf> {
    let root = root();
    let test_file = root.join("router/tests").join(format!("{module}.rs"));
    match (module, rest) {
        ("session", ["tests", ..]) => Some(root.join("router/src/session/tests.rs")),
        ("codec", [file, ..]) => Some(root.join("wamp/src/codec").join(format!("{file}.rs"))),
        ("config", ["tests", ..]) => Some(root.join("router/src/config/tests")),
        _ if test_file.is_file() => Some(test_file),
        _ => None,
    }
}

/// The `a::b::c` references in backticks of `text`.
fn references(text: &str) -> Vec<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.contains("::")
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_:*".contains(c))
        })
        .collect()
}

#[test]
fn every_test_reliability_md_names_exists() {
    let doc = std::fs::read_to_string(root().join("RELIABILITY.md")).expect("RELIABILITY.md");
    let mut checked = 0;
    let mut missing = Vec::new();
    for reference in references(&doc) {
        let parts: Vec<&str> = reference.split("::").collect();
        let Some(file) = file_of(parts[0], &parts[1..]) else {
            continue;
        };
        checked += 1;
        let name = parts[parts.len() - 1];
        let found = if name == "*" {
            file.exists()
        } else {
            std::fs::read_to_string(&file).is_ok_and(|src| src.contains(&format!("fn {name}(")))
        };
        if !found {
            missing.push(format!("{reference} (looked in {})", file.display()));
        }
    }
    assert!(
        missing.is_empty(),
        "RELIABILITY.md names tests that do not exist: {missing:#?}"
    );
    // The table names some fifty tests; far fewer means the references were not recognised.
    assert!(checked >= 40, "only {checked} test references recognised");
}

#[test]
fn references_are_read_from_backticks_only() {
    let text = "see `robustness::a_b` and `wamp::uri` but not robustness::c_d, nor `A::B`";
    assert_eq!(references(text), ["robustness::a_b", "wamp::uri"]);
}
