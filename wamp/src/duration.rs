//! Durations as people type them on a command line, for every binary of the workspace: a bare
//! number is seconds (`2`, `0.5`), otherwise a number with a unit (`500ms`, `2s`, `1m`, `1h`,
//! also combined: `1m30s`).

use std::time::Duration;

/// What the error of a bad duration says it accepts.
const ACCEPTED: &str = "give seconds (2, 0.5) or a number with a unit (500ms, 2s, 1m, 1h)";

/// Parses a command-line duration (a `clap` value parser).
pub fn parse(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if let Ok(seconds) = t.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("{s:?} is not a duration ≥ 0: {ACCEPTED}"));
    }
    humantime::parse_duration(t).map_err(|_| format!("{s:?} is not a duration: {ACCEPTED}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_people_type() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("2", ms(2000)),
            ("0.5", ms(500)),
            (" 3 ", ms(3000)),
            ("500ms", ms(500)),
            ("2s", ms(2000)),
            ("1m", ms(60_000)),
            ("1h", ms(3_600_000)),
            ("1m30s", ms(90_000)),
            ("0", ms(0)),
        ] {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn anything_else_names_the_accepted_forms() {
        for text in ["", "2x", "-1", "NaN", "inf", "s", "ten seconds"] {
            let e = parse(text).unwrap_err();
            assert!(e.contains("500ms, 2s, 1m"), "{text}: {e}");
            assert!(e.contains(&format!("{text:?}")), "{text}: {e}");
        }
    }
}
