//! Small pure helpers that turn numbers into the short strings the screen shows.
//!
//! Every helper keeps its result narrow (at most six or seven characters) so that table columns
//! stay aligned: counts `1.2M`, bytes `142 MB` (SI units), durations `0.1s`, uptimes `00:12:41`.

/// SI prefixes for scaled values, from none to exa.
const PREFIXES: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];

/// `v`, or zero when it is negative or not a number: what every helper here shows for a value
/// that cannot be (a clock that went back, a rate over no time).
fn non_negative(v: f64) -> f64 {
    if v.is_finite() { v.max(0.0) } else { 0.0 }
}

/// Scales `v` by powers of 1000 and renders it with one decimal while the scaled value is below
/// `decimals_below` (counts: 10 → `4.5k` but `41k`; rates: 100 → `12.1k` but `988k`). Unscaled
/// values are whole, except that rates keep one decimal below 10 (`0.5`).
/// Returns the rendered number and the index of its prefix.
fn scale(v: f64, decimals_below: f64) -> (String, usize) {
    let mut v = non_negative(v);
    let mut unit = 0;
    while v >= 999.5 && unit + 1 < PREFIXES.len() {
        v /= 1000.0;
        unit += 1;
    }
    let decimals = match unit {
        0 => decimals_below > 10.0 && v > 0.0 && v < 9.95,
        _ => v < decimals_below - 0.05,
    };
    let text = if decimals {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    };
    (text, unit)
}

/// A count with an SI suffix: `86`, `4.5k`, `988k`, `1.2M`.
pub fn count(n: u64) -> String {
    with_prefix(scale(n as f64, 10.0))
}

/// A rate (per second), one digit more precise than [`count`]: `0.5`, `86`, `12.1k`, `988k`.
pub fn rate(per_s: f64) -> String {
    with_prefix(scale(per_s, 100.0))
}

fn with_prefix((text, unit): (String, usize)) -> String {
    format!("{text}{}", PREFIXES[unit])
}

/// A byte count in SI units: `0 B`, `999 B`, `10 kB`, `3.9 MB`, `142 MB`.
pub fn bytes(n: u64) -> String {
    with_byte_unit(scale(n as f64, 10.0))
}

/// A byte rate (per second), without the `/s`, one digit more precise than [`bytes`]:
/// `0 B`, `19.3 kB`, `1.4 MB`, `142 MB`.
pub fn byte_rate(per_s: f64) -> String {
    with_byte_unit(scale(per_s, 100.0))
}

fn with_byte_unit((text, unit): (String, usize)) -> String {
    format!("{text} {}B", PREFIXES[unit])
}

/// A short duration: `4ms`, `0.1s`, `4.5s`, `41s`, `12m`, `3h`, `2d`.
pub fn duration(secs: f64) -> String {
    let s = non_negative(secs);
    if s < 0.0995 {
        format!("{:.0}ms", s * 1000.0)
    } else if s < 9.95 {
        format!("{s:.1}s")
    } else if s < 59.5 {
        format!("{s:.0}s")
    } else if s < 3600.0 {
        format!("{}m", (s / 60.0).round().min(59.0))
    } else if s < 86_400.0 {
        format!("{}h", (s / 3600.0).round().min(23.0))
    } else {
        format!("{}d", (s / 86_400.0).round())
    }
}

/// A length of time as `HH:MM:SS`, with days in front past a day: `00:12:41`, `2d 03:00:00`.
pub fn uptime(secs: f64) -> String {
    let total = non_negative(secs) as u64;
    let (days, rest) = (total / 86_400, total % 86_400);
    let hms = format!(
        "{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if days > 0 {
        format!("{days}d {hms}")
    } else {
        hms
    }
}

/// A time of day, `HH:MM:SS`, from seconds since a midnight (any number of days later).
pub fn clock(secs: f64) -> String {
    let total = non_negative(secs) as u64;
    uptime((total % 86_400) as f64)
}

/// `part` as a whole percentage of `whole` (0 when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        0
    } else {
        ((part as f64 / whole as f64) * 100.0).round() as u64
    }
}

/// Cuts `s` to at most `width` characters, ending with `…` when it had to cut.
pub fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// The eight bar heights of a text sparkline, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line sparkline of the last `width` values, newest at the right, scaled to the largest
/// of them; zero is a blank, any positive value at least `▁`. Shorter input is padded on the left.
pub fn spark(values: &[f64], width: usize) -> String {
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail.iter().copied().fold(0.0_f64, f64::max);
    let mut out = " ".repeat(width - tail.len());
    out.extend(tail.iter().map(|&v| bar(v, max)));
    out
}

/// `values` squeezed into `width` values, each the mean of its share of them, so that a narrow
/// sparkline still spans all of the history (and is smoother for it). Fewer values stay as they are.
pub fn downsample(values: &[f64], width: usize) -> Vec<f64> {
    let len = values.len();
    if width == 0 || len <= width {
        return values.to_vec();
    }
    (0..width)
        .map(|i| {
            let run = &values[i * len / width..(i + 1) * len / width];
            run.iter().sum::<f64>() / run.len() as f64
        })
        .collect()
}

fn bar(v: f64, max: f64) -> char {
    if v <= 0.0 || max <= 0.0 || !v.is_finite() {
        return ' ';
    }
    let level = ((v / max) * 8.0).ceil() as usize;
    BARS[level.clamp(1, 8) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(count(0), "0");
        assert_eq!(count(86), "86");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1.0k");
        assert_eq!(count(4_500), "4.5k");
        assert_eq!(count(41_000), "41k");
        assert_eq!(count(124_000), "124k");
        assert_eq!(count(988_000), "988k");
        assert_eq!(count(999_600), "1.0M");
        assert_eq!(count(1_234_567), "1.2M");
        assert_eq!(count(u64::MAX), "18E");
    }

    #[test]
    fn rates() {
        assert_eq!(rate(0.0), "0");
        assert_eq!(rate(0.25), "0.2");
        assert_eq!(rate(3.0), "3.0");
        assert_eq!(rate(86.0), "86");
        assert_eq!(rate(210.4), "210");
        assert_eq!(rate(999.6), "1.0k");
        assert_eq!(rate(4_900.0), "4.9k");
        assert_eq!(rate(12_100.0), "12.1k");
        assert_eq!(rate(48_200.0), "48.2k");
        assert_eq!(rate(99_960.0), "100k");
        assert_eq!(rate(988_000.0), "988k");
        assert_eq!(rate(f64::NAN), "0");
        assert_eq!(rate(-5.0), "0");
    }

    #[test]
    fn byte_counts() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(10_000), "10 kB");
        assert_eq!(bytes(21_400), "21 kB");
        assert_eq!(bytes(3_900_000), "3.9 MB");
        assert_eq!(bytes(142_000_000), "142 MB");
        assert_eq!(bytes(999_999_999), "1.0 GB");
        assert_eq!(byte_rate(0.0), "0 B");
        assert_eq!(byte_rate(19_300.0), "19.3 kB");
        assert_eq!(byte_rate(1_400_000.0), "1.4 MB");
        assert_eq!(byte_rate(142_000_000.0), "142 MB");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0.0), "0ms");
        assert_eq!(duration(0.004), "4ms");
        assert_eq!(duration(0.12), "0.1s");
        assert_eq!(duration(9.96), "10s");
        assert_eq!(duration(41.0), "41s");
        assert_eq!(duration(59.6), "1m");
        assert_eq!(duration(720.0), "12m");
        assert_eq!(duration(3599.0), "59m");
        assert_eq!(duration(3.0 * 3600.0), "3h");
        assert_eq!(duration(2.0 * 86_400.0), "2d");
        assert_eq!(duration(-1.0), "0ms");
    }

    #[test]
    fn uptimes_and_clocks() {
        assert_eq!(uptime(0.0), "00:00:00");
        assert_eq!(uptime(761.9), "00:12:41");
        assert_eq!(uptime(86_400.0 * 2.0 + 3600.0 * 3.0), "2d 03:00:00");
        assert_eq!(clock(86_400.0 + 50_531.0), "14:02:11");
    }

    #[test]
    fn percents_and_truncation() {
        assert_eq!(percent(61, 100), 61);
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(5, 0), 0);
        assert_eq!(truncate("anonymous", 9), "anonymous");
        assert_eq!(truncate("anonymous", 5), "anon…");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn sparklines() {
        assert_eq!(spark(&[], 3), "   ");
        assert_eq!(spark(&[0.0, 1.0, 2.0, 4.0, 8.0], 5), " ▁▂▄█");
        assert_eq!(spark(&[8.0, 1.0, 8.0], 2), "▁█");
        assert_eq!(spark(&[5.0], 3), "  █");
    }

    #[test]
    fn downsampling_fills_the_width() {
        assert_eq!(downsample(&[1.0, 2.0], 3), [1.0, 2.0]);
        assert_eq!(downsample(&[1.0, 2.0, 3.0, 4.0, 5.0], 2), [1.5, 4.0]);
        assert_eq!(downsample(&[1.0, 2.0, 3.0, 4.0, 5.0], 3), [1.0, 2.5, 4.5]);
        assert_eq!(downsample(&[1.0; 240], 37).len(), 37);
        assert!(downsample(&[1.0], 0).len() == 1);
    }
}
