//! Small text helpers shared by the bundle's files: UTC times and aligned columns.

use std::time::{Duration, SystemTime};

/// Unix milliseconds as `2024-05-01 12:00:00 UTC`; `(unknown)` when not set.
pub fn utc(unix_ms: i64) -> String {
    rfc3339(unix_ms).map_or_else(
        || "(unknown)".into(),
        |t| format!("{} UTC", t.trim_end_matches('Z').replace('T', " ")),
    )
}

/// Unix milliseconds as `20240501T120000Z`, for file names; `unknown-time` when not set.
pub fn compact_utc(unix_ms: i64) -> String {
    rfc3339(unix_ms).map_or_else(|| "unknown-time".into(), |t| t.replace(['-', ':'], ""))
}

fn rfc3339(unix_ms: i64) -> Option<String> {
    let ms = u64::try_from(unix_ms).ok().filter(|&ms| ms > 0)?;
    let time = SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms))?;
    Some(humantime::format_rfc3339_seconds(time).to_string())
}

/// A header and rows as left-aligned columns two spaces apart, no trailing blanks.
pub fn aligned(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = std::iter::once(header.iter().map(|h| h.to_string()).collect())
        .chain(rows)
        .collect();
    let mut widths = vec![0; header.len()];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_and_unknown_when_unset() {
        assert_eq!(utc(1_714_564_800_123), "2024-05-01 12:00:00 UTC");
        assert_eq!(compact_utc(1_714_564_800_123), "20240501T120000Z");
        assert_eq!(utc(0), "(unknown)");
        assert_eq!(compact_utc(-5), "unknown-time");
    }

    #[test]
    fn columns_line_up() {
        let text = aligned(&["A", "BB"], [vec!["long".into(), "x".into()]].into_iter());
        assert_eq!(text, "A     BB\nlong  x\n");
    }
}
