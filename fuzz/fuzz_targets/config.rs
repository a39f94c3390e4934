//! The router's configuration loader (`Config::parse`) on arbitrary text: a configuration or
//! an error that names where (a line and column for bad JSON, a JSON path for a bad item),
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wamp_router::config::{Config, ConfigError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, "fuzz.json") {
        Ok(_) => {}
        Err(ConfigError::Syntax {
            file, line, column, ..
        }) => {
            assert_eq!(file, "fuzz.json");
            assert!(line >= 1 && column <= text.len() + 1, "{line}:{column}");
        }
        Err(ConfigError::Invalid {
            file,
            path,
            message,
        }) => {
            assert_eq!(file, "fuzz.json");
            assert!(
                !message.is_empty(),
                "an error without a message at {path:?}"
            );
        }
        Err(e @ ConfigError::Io { .. }) => panic!("parsing text read a file: {e}"),
    }
});
