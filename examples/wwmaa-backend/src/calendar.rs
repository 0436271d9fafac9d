//! Dates as whole days since 1970-01-01 (how the database stores them, the same on SQLite and
//! PostgreSQL) and as `YYYY-MM-DD` text (how the API shows them).

use std::time::{SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 in UTC, today.
pub fn today() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(seconds / 86_400).unwrap_or(0)
}

/// Seconds since 1970-01-01, now.
pub fn now_seconds() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(seconds).unwrap_or(0)
}

/// `YYYY-MM-DD` for a day number (proleptic Gregorian calendar; H. Hinnant's algorithm).
pub fn format_day(day: i64) -> String {
    let (year, month, dom) = civil_from_days(day);
    format!("{year:04}-{month:02}-{dom:02}")
}

/// The day number of a `YYYY-MM-DD` date from year 1 to 9999, `None` for anything else.
pub fn parse_day(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, dom) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if year < 1 || !(1..=12).contains(&month) || !(1..=31).contains(&dom) {
        return None;
    }
    let day = days_from_civil(year, month, dom);
    // 2023-02-30 would land in March: only dates that come back unchanged are real.
    (civil_from_days(day) == (year, month, dom)).then_some(day)
}

fn days_from_civil(year: i64, month: i64, dom: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + dom - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(day: i64) -> (i64, i64, i64) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let dom = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, dom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(-1), "1969-12-31");
        assert_eq!(format_day(11_016), "2000-02-29");
        assert_eq!(format_day(20_454), "2026-01-01");
        assert_eq!(parse_day("2000-02-29"), Some(11_016));
        assert_eq!(parse_day("1970-01-01"), Some(0));
    }

    #[test]
    fn round_trips_and_rejects_non_dates() {
        for day in (-719_000..2_900_000).step_by(997) {
            assert_eq!(parse_day(&format_day(day)), Some(day), "{day}");
        }
        for bad in [
            "2023-02-29",
            "2023-13-01",
            "2023-00-10",
            "2023-1-01",
            "20230101",
            "+023-01-01",
            "0000-01-01",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }
}
