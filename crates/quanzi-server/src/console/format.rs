//! Numbers as operators read them: yuan with thousands separators, percentages, counts,
//! and times in the workspace's zone.

use quanzi_domain::calendar::TimeZone;
use quanzi_domain::time::Timestamp;

/// `1234567` → `"1,234,567"`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Fen as yuan: `123456` → `"¥1,234.56"`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}¥{}.{:02}", count((abs / 100) as i64), abs % 100)
}

/// Fractional fen (a mean) as yuan, rounded to the fen.
pub fn yuan_f(fen: f64) -> String {
    if fen.is_finite() {
        yuan(fen.round() as i64)
    } else {
        "—".into()
    }
}

/// `0.1234` → `"12.3%"`; unknown → `"—"`.
pub fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) if r.is_finite() => format!("{:.1}%", r * 100.0),
        _ => "—".into(),
    }
}

/// The change from `previous` to `current` as a signed percentage, if there was a
/// previous value.
pub fn change(current: f64, previous: f64) -> Option<f64> {
    (previous.is_finite() && previous != 0.0 && current.is_finite())
        .then(|| (current - previous) / previous.abs())
}

/// `2026-12-03 18:05` in the zone.
pub fn local_time(at: Timestamp, zone: &TimeZone) -> String {
    let shifted = Timestamp::from_millis(at.millis() + i64::from(zone.offset_seconds()) * 1000);
    let text = shifted.to_rfc3339();
    // `YYYY-MM-DDTHH:MM:SS…Z` → `YYYY-MM-DD HH:MM`.
    format!("{} {}", &text[..10], &text[11..16])
}

/// `2026-12-03` in the zone.
pub fn local_date(at: Timestamp, zone: &TimeZone) -> String {
    local_time(at, zone)[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_counts_read_like_a_ledger() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(-1_234_567), "-1,234,567");
        assert_eq!(yuan(123_456), "¥1,234.56");
        assert_eq!(yuan(-5), "-¥0.05");
        assert_eq!(percent(Some(0.1234)), "12.3%");
        assert_eq!(percent(None), "—");
        assert_eq!(change(110.0, 100.0), Some(0.1));
        assert_eq!(change(1.0, 0.0), None);
    }

    #[test]
    fn times_are_shown_in_the_workspace_zone() {
        let at = Timestamp::parse_rfc3339("2026-12-02T16:30:00Z").unwrap();
        assert_eq!(local_time(at, &TimeZone::shanghai()), "2026-12-03 00:30");
        assert_eq!(local_date(at, &TimeZone::utc()), "2026-12-02");
    }
}
